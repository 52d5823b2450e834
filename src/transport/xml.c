/* xml.c: see xml.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>
#include <openssl/crypto.h>

#include "xml.h"
#include "banned.h"

struct pstate {
	XML_Parser parser;
	struct xml_doc *doc;
	struct xml_node *cur;
	int depth;
	int rc;                 /* first error */
	char why[128];
	struct buf text;        /* text of cur being collected */
};

/* The nodes, names and texts of a document are carved from a few blocks
 * freed together (issue 17: a listing of 1000 keys was ~18,000 malloc/free
 * calls on the event loop, one node, name and text at a time). */
#define BLOCK_FIRST 4096
#define BLOCK_MAX (64 * 1024)

struct xml_block {
	struct xml_block *next;
	size_t used, cap;
	_Alignas(16) char data[];
};

static void *doc_alloc(struct xml_doc *d, size_t n)
{
	struct xml_block *b = d->blocks;
	void *p;

	n = (n + 15) & ~(size_t)15;   /* n <= XML_MAX_TEXT + 1 or a node: no overflow */
	if (!b || b->cap - b->used < n) {
		size_t cap = b ? 2 * b->cap : BLOCK_FIRST;

		if (cap > BLOCK_MAX)
			cap = BLOCK_MAX;
		if (cap < n)
			cap = n;
		b = xmalloc(sizeof(*b) + cap);
		b->used = 0;
		b->cap = cap;
		b->next = d->blocks;
		d->blocks = b;
	}
	p = b->data + b->used;
	b->used += n;
	return p;
}

static char *doc_strndup(struct xml_doc *d, const char *s, size_t n)
{
	char *p = doc_alloc(d, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void xml_doc_release(struct xml_doc *d)
{
	struct xml_block *b, *next;

	if (!d)
		return;
	for (b = d->blocks; b; b = next) {
		next = b->next;
		free(b);
	}
	d->blocks = NULL;
	d->root = NULL;
	d->nodes = 0;
}

static void fail(struct pstate *s, int rc, const char *why)
{
	if (!s->rc) {
		s->rc = rc;
		snprintf(s->why, sizeof(s->why), "%s", why);
	}
	XML_StopParser(s->parser, XML_FALSE);
}

static void flush_text(struct pstate *s)
{
	if (s->cur && !s->cur->text && s->text.len) {
		s->cur->text_len = s->text.len;
		s->cur->text = doc_strndup(s->doc, s->text.data, s->text.len);
	}
	buf_reset(&s->text);
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct pstate *s = ud;
	struct xml_node *n;
	const char *local = strrchr(name, '|');

	(void)attrs;
	if (s->rc)
		return;
	if (++s->depth > XML_MAX_DEPTH) {
		fail(s, TK_ELIMIT, "elements nested too deeply");
		return;
	}
	if (s->doc->nodes >= XML_MAX_NODES) {
		fail(s, TK_ELIMIT, "too many elements");
		return;
	}
	/* text before a child element is not the parent's value */
	buf_reset(&s->text);
	n = doc_alloc(s->doc, sizeof(*n));
	memset(n, 0, sizeof(*n));
	local = local ? local + 1 : name;
	n->name = doc_strndup(s->doc, local, strlen(local));
	n->parent = s->cur;
	if (s->cur) {
		if (s->cur->last)
			s->cur->last->next = n;
		else
			s->cur->child = n;
		s->cur->last = n;
	} else {
		s->doc->root = n;
	}
	s->doc->nodes++;
	s->cur = n;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct pstate *s = ud;

	(void)name;
	if (s->rc)
		return;
	if (!s->cur->child)
		flush_text(s);
	else
		buf_reset(&s->text);
	s->cur = s->cur->parent;
	s->depth--;
}

static void XMLCALL on_text(void *ud, const XML_Char *t, int len)
{
	struct pstate *s = ud;

	if (s->rc || !s->cur || len <= 0)
		return;
	if (s->cur->child)
		return;   /* mixed content: ignored */
	if (buf_add(&s->text, t, (size_t)len))
		fail(s, TK_ELIMIT, "element text too large");
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
			       const XML_Char *pubid, int has_internal)
{
	(void)name; (void)sysid; (void)pubid; (void)has_internal;
	fail(ud, TK_EFAIL, "DOCTYPE not allowed");
}

int xml_parse(struct xml_doc *out, const char *data, size_t len, struct errbuf *err)
{
	struct pstate s;
	enum XML_Status st;
	int rc = 0;
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	s.doc = out;
	buf_init(&s.text, XML_MAX_TEXT);
	s.parser = XML_ParserCreateNS("UTF-8", '|');
	if (!s.parser)
		tk_oom();
	XML_SetUserData(s.parser, &s);
	XML_SetElementHandler(s.parser, on_start, on_end);
	XML_SetCharacterDataHandler(s.parser, on_text);
	XML_SetStartDoctypeDeclHandler(s.parser, on_doctype);
	/* feed in chunks so an int length never overflows */
	do {
		size_t n = len - off > (1u << 30) ? (1u << 30) : len - off;
		st = XML_Parse(s.parser, data + off, (int)n, off + n == len);
		off += n;
	} while (st == XML_STATUS_OK && off < len);
	if (len == 0)
		st = XML_Parse(s.parser, "", 0, 1);
	if (st != XML_STATUS_OK && XML_GetErrorCode(s.parser) == XML_ERROR_NO_MEMORY)
		tk_oom();   /* the one out-of-memory policy (buf.h) */
	if (s.rc) {
		rc = err_set(err, s.rc, "%s XML at line %lu: %s", s.rc == TK_ELIMIT ? "oversized" : "malformed",
			     (unsigned long)XML_GetCurrentLineNumber(s.parser), s.why);
	} else if (st != XML_STATUS_OK) {
		rc = err_set(err, TK_EFAIL, "malformed XML at line %lu: %s",
			     (unsigned long)XML_GetCurrentLineNumber(s.parser),
			     XML_ErrorString(XML_GetErrorCode(s.parser)));
	} else if (!out->root) {
		rc = err_set(err, TK_EFAIL, "malformed XML: no root element");
	}
	XML_ParserFree(s.parser);
	/* the last text collected (an STS secret, say) is not left behind in
	 * freed memory: callers wipe what is in the document (sts.c) */
	if (s.text.data)
		OPENSSL_cleanse(s.text.data, s.text.cap);
	buf_release(&s.text);
	if (rc)
		xml_doc_release(out);
	return rc;
}

const struct xml_node *xml_child(const struct xml_node *n, const char *name)
{
	const struct xml_node *c;

	if (!n)
		return NULL;
	for (c = n->child; c; c = c->next)
		if (!name || !strcmp(c->name, name))
			return c;
	return NULL;
}

const struct xml_node *xml_next(const struct xml_node *n)
{
	const struct xml_node *c;

	if (!n)
		return NULL;
	for (c = n->next; c; c = c->next)
		if (!strcmp(c->name, n->name))
			return c;
	return NULL;
}

const struct xml_node *xml_path(const struct xml_node *n, const char *path)
{
	char part[128];
	const char *p = path, *slash;
	size_t l;

	while (n && *p) {
		slash = strchr(p, '/');
		l = slash ? (size_t)(slash - p) : strlen(p);
		if (l >= sizeof(part))
			return NULL;
		memcpy(part, p, l);
		part[l] = '\0';
		n = xml_child(n, part);
		p += l;
		if (*p == '/')
			p++;
	}
	return n;
}

const char *xml_path_text(const struct xml_node *n, const char *path)
{
	n = xml_path(n, path);
	if (!n)
		return NULL;
	return n->text ? n->text : "";
}

int xml_path_bool(const struct xml_node *n, const char *path)
{
	const char *t = xml_path_text(n, path);

	if (!t)
		return -1;
	if (!strcmp(t, "true"))
		return 1;
	if (!strcmp(t, "false"))
		return 0;
	return -1;
}

int xml_path_u64(const struct xml_node *n, const char *path, unsigned long long *out)
{
	const char *t = xml_path_text(n, path);
	char *end;
	unsigned long long v;

	if (!t || !*t || *t < '0' || *t > '9')
		return -1;
	errno = 0;
	v = strtoull(t, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int xml_escape(struct buf *b, const char *text)
{
	const char *p;
	int rc = 0;

	for (p = text; *p && !rc; p++) {
		switch (*p) {
		case '&': rc = buf_adds(b, "&amp;"); break;
		case '<': rc = buf_adds(b, "&lt;"); break;
		case '>': rc = buf_adds(b, "&gt;"); break;
		case '"': rc = buf_adds(b, "&quot;"); break;
		case '\'': rc = buf_adds(b, "&apos;"); break;
		case '\r': rc = buf_adds(b, "&#13;"); break;
		default: rc = buf_addc(b, *p); break;
		}
	}
	return rc;
}

int xml_open(struct buf *b, const char *name, const char *xmlns)
{
	if (xmlns)
		return buf_addf(b, "<%s xmlns=\"%s\">", name, xmlns);
	return buf_addf(b, "<%s>", name);
}

int xml_close(struct buf *b, const char *name)
{
	return buf_addf(b, "</%s>", name);
}

int xml_elem(struct buf *b, const char *name, const char *text)
{
	int rc = xml_open(b, name, NULL);

	if (!rc)
		rc = xml_escape(b, text);
	if (!rc)
		rc = xml_close(b, name);
	return rc;
}
