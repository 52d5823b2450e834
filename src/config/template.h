/* template.h: JSON templates rendered on the jansson tree (README "Templates").
 *
 * A template is a JSON file (object or array at the top).  Rendering walks
 * the parsed tree with a variable context (a JSON object: name -> value):
 *
 *   "${name}"              a string that is exactly one placeholder becomes
 *                          the value itself (string, number, boolean, array,
 *                          object): "${accounts}" renders as a JSON array
 *   "a-${x.y}-b"           placeholders inside a longer string must name a
 *                          string or an integer; dotted names walk objects
 *   "$${"                  a literal "${"
 *   {"$repeat": "LIST", "$as": "item", "$value": V}
 *                          one rendering of V per element of LIST, with the
 *                          element bound to "item" (default name "item");
 *                          inside an array the results are spliced in, as an
 *                          object member value it becomes an array
 *   {"$if": "NAME", "$value": V}   ("!NAME" negates)
 *                          V when NAME is truthy (not false/null/""/0/[]/{}),
 *                          else the element or member is left out
 *                          ("$if" may also be added to a "$repeat" object)
 *
 * Any other key starting with '$' is an error.  Errors name the template
 * file and line: "FILE:LINE: unknown placeholder '${x}'". */
#ifndef TK_TEMPLATE_H
#define TK_TEMPLATE_H

#include <jansson.h>

#include "err.h"

#define TK_TEMPLATE_MAX_BYTES (1u << 20)
/* Most a template may render to (estimated: text plus 16 bytes a node);
 * the largest real plan (1000 accounts x 17 regions) is far below. */
#define TK_TEMPLATE_MAX_OUTPUT (16u << 20)

struct tmpl {
	char *path;
	char *text;     /* the file text, to find the line of a problem */
	json_t *root;
};

/* Read and parse path (JSON, duplicate keys rejected).  TK_EUSAGE on a
 * missing/unreadable file or bad JSON ("FILE:LINE: bad JSON: ..."). */
int tmpl_load(struct tmpl *out, const char *path, struct errbuf *err);
void tmpl_release(struct tmpl *t);

/* Render t with vars; *out is a new reference.  TK_EUSAGE on an unknown
 * placeholder, a repeat over an unknown list, a bad directive. */
int tmpl_render(json_t **out, const struct tmpl *t, json_t *vars, struct errbuf *err);

/* Load DIR/NAME and render it. */
int tmpl_render_file(json_t **out, const char *dir, const char *name, json_t *vars,
		     struct errbuf *err);

#endif
