/* xml.h: a small bounded DOM built with expat, for every XML response we
 * read (S3 ListBucketResult, bucket configurations, errors, STS results),
 * and a tiny writer that escapes text (for S3 Put* bodies).
 *
 * Limits: depth XML_MAX_DEPTH, XML_MAX_NODES elements, XML_MAX_TEXT bytes
 * of text per element; a DOCTYPE (and so any entity declaration) is
 * rejected.  Namespaces are dropped: a node's name is its local name.
 * Only element text is kept (attributes are ignored: no response we read
 * needs them).  Implemented in src/transport/xml.c. */
#ifndef TK_XML_H
#define TK_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

#define XML_MAX_DEPTH 32
#define XML_MAX_NODES 100000
#define XML_MAX_TEXT (256 * 1024)

struct xml_node {
	char *name;                 /* local name */
	char *text;                 /* the element's own character data ("" when none) */
	size_t text_len;
	struct xml_node *parent;
	struct xml_node *child;     /* first child */
	struct xml_node *last;      /* last child */
	struct xml_node *next;      /* next sibling */
};

struct xml_block;

struct xml_doc {
	struct xml_node *root;
	size_t nodes;
	struct xml_block *blocks;   /* the nodes and their strings live here (xml.c) */
};

/* Parse data into *out.  TK_EFAIL with "malformed XML at line N: why",
 * TK_ELIMIT when a limit is hit.  *out is empty on failure. */
int xml_parse(struct xml_doc *out, const char *data, size_t len, struct errbuf *err);
void xml_doc_release(struct xml_doc *d);

/* First child named name (NULL name: first child), or NULL. */
const struct xml_node *xml_child(const struct xml_node *n, const char *name);
/* Next sibling after n with the same name as n, or NULL.  Iterate:
 *   for (c = xml_child(root, "Contents"); c; c = xml_next(c)) */
const struct xml_node *xml_next(const struct xml_node *n);
/* Descend by "A/B/C" (child names) from n; NULL when any step is missing. */
const struct xml_node *xml_path(const struct xml_node *n, const char *path);
/* Text at path, or NULL when the element is absent. */
const char *xml_path_text(const struct xml_node *n, const char *path);
/* "true"/"false" at path -> 1/0; -1 when absent or anything else. */
int xml_path_bool(const struct xml_node *n, const char *path);
/* Non-negative integer at path -> 0 and *out; -1 when absent or malformed. */
int xml_path_u64(const struct xml_node *n, const char *path, unsigned long long *out);

/* The writer: appends to b (whose limit bounds the document). */
int xml_escape(struct buf *b, const char *text);                  /* & < > " ' escaped */
int xml_open(struct buf *b, const char *name, const char *xmlns);  /* xmlns may be NULL */
int xml_close(struct buf *b, const char *name);
int xml_elem(struct buf *b, const char *name, const char *text);  /* <name>text</name> */

#define S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"

#endif
