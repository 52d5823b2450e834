/* template.c: render JSON templates on the jansson tree; see template.h. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fileutil.h"
#include "template.h"
#include "banned.h"

#define MAX_DEPTH 64
#define MAX_NAME 128

struct scope {
	const char *name;
	json_t *value;
	const struct scope *up;
};

struct rctx {
	const struct tmpl *t;
	json_t *vars;
	struct errbuf *err;
	int depth;
	size_t *bytes;     /* estimated size of everything rendered so far */
};

/* A rough size of a rendered value (bytes of text plus a per-node cost),
 * to bound what a template can produce ("$repeat" inside "$repeat" over
 * thousands of accounts) before memory runs out. */
static size_t size_estimate(json_t *v)
{
	const char *k;
	json_t *e;
	size_t i, n = 16;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return n + json_string_length(v);
	case JSON_ARRAY:
		json_array_foreach(v, i, e)
			n += size_estimate(e);
		return n;
	case JSON_OBJECT:
		json_object_foreach(v, k, e)
			n += strlen(k) + size_estimate(e);
		return n;
	default:
		return n;
	}
}

/* Count n more bytes of output; TK_EUSAGE over TK_TEMPLATE_MAX_OUTPUT. */
static int count_output(const struct rctx *r, size_t n)
{
	*r->bytes += n;
	if (*r->bytes > TK_TEMPLATE_MAX_OUTPUT)
		return err_set(r->err, TK_EUSAGE, "%s: renders to more than %u bytes (a \"$repeat\" inside "
			       "another over many accounts?): refusing to build it", r->t->path,
			       TK_TEMPLATE_MAX_OUTPUT);
	return 0;
}

static int line_of_offset(const char *text, size_t off)
{
	int line = 1;
	size_t i;

	for (i = 0; i < off && text[i]; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

/* Line of the first occurrence of needle in the template text (1 if none). */
static int line_of(const struct tmpl *t, const char *needle)
{
	const char *p = t->text ? strstr(t->text, needle) : NULL;

	return p ? line_of_offset(t->text, (size_t)(p - t->text)) : 1;
}

/* Line of a directive "KEY": "VALUE" (whitespace may vary). */
static int line_of_directive(const struct tmpl *t, const char *key, const char *value)
{
	char k[MAX_NAME + 8];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\"", key);
	for (p = t->text ? strstr(t->text, k) : NULL; p; p = strstr(p + 1, k)) {
		const char *q = p + strlen(k);

		while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r' || *q == ':')
			q++;
		if (*q == '"' && !strncmp(q + 1, value, strlen(value)) && q[1 + strlen(value)] == '"')
			return line_of_offset(t->text, (size_t)(p - t->text));
	}
	return line_of(t, k);
}

static json_t *lookup(const struct rctx *r, const struct scope *sc, const char *name)
{
	char seg[MAX_NAME + 1];
	const char *dot;
	size_t n;
	json_t *v = NULL;

	if (strlen(name) > MAX_NAME)
		return NULL;
	dot = strchr(name, '.');
	n = dot ? (size_t)(dot - name) : strlen(name);
	memcpy(seg, name, n);
	seg[n] = '\0';
	for (; sc; sc = sc->up)
		if (!strcmp(sc->name, seg)) {
			v = sc->value;
			break;
		}
	if (!v)
		v = json_object_get(r->vars, seg);
	while (v && dot) {
		name = dot + 1;
		dot = strchr(name, '.');
		n = dot ? (size_t)(dot - name) : strlen(name);
		memcpy(seg, name, n);
		seg[n] = '\0';
		v = json_is_object(v) ? json_object_get(v, seg) : NULL;
	}
	return v;
}

static int unknown(const struct rctx *r, const char *name)
{
	char needle[MAX_NAME + 4];

	snprintf(needle, sizeof(needle), "${%s}", name);
	return err_set(r->err, TK_EUSAGE, "%s:%d: unknown placeholder '${%s}'", r->t->path,
		       line_of(r->t, needle), name);
}

static bool truthy(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: return json_string_length(v) > 0;
	case JSON_ARRAY: return json_array_size(v) > 0;
	case JSON_OBJECT: return json_object_size(v) > 0;
	case JSON_INTEGER: return json_integer_value(v) != 0;
	case JSON_REAL: return json_real_value(v) != 0;
	case JSON_TRUE: return true;
	default: return false;
	}
}

/* Expand a string.  *out new reference. */
static int render_string(const struct rctx *r, const struct scope *sc, const char *s, json_t **out)
{
	struct buf b;
	const char *p = s;
	int rc = TK_EUSAGE;
	size_t n = strlen(s);

	*out = NULL;
	/* exactly one placeholder: the value itself */
	if (n > 3 && !strncmp(s, "${", 2) && s[n - 1] == '}' && !memchr(s + 2, '}', n - 3)) {
		char name[MAX_NAME + 1];
		json_t *v;

		if (n - 3 > MAX_NAME)
			return err_set(r->err, TK_EUSAGE, "%s:%d: placeholder name too long", r->t->path, line_of(r->t, s));
		memcpy(name, s + 2, n - 3);
		name[n - 3] = '\0';
		v = lookup(r, sc, name);
		if (!v)
			return unknown(r, name);
		*out = json_deep_copy(v);
		return 0;
	}
	buf_init(&b, TK_TEMPLATE_MAX_BYTES);
	while (*p) {
		const char *st = strstr(p, "${"), *e;
		char name[MAX_NAME + 1];
		json_t *v;

		if (!st) {
			buf_adds(&b, p);
			break;
		}
		if (st > p && st[-1] == '$') {   /* "$${" is a literal "${" */
			buf_add(&b, p, (size_t)(st - p - 1));
			buf_adds(&b, "${");
			p = st + 2;
			continue;
		}
		buf_add(&b, p, (size_t)(st - p));
		e = strchr(st + 2, '}');
		if (!e || (size_t)(e - st - 2) > MAX_NAME || e == st + 2) {
			err_set(r->err, TK_EUSAGE, "%s:%d: unterminated or empty placeholder in '%s'", r->t->path,
				line_of(r->t, s), s);
			goto done;
		}
		memcpy(name, st + 2, (size_t)(e - st - 2));
		name[e - st - 2] = '\0';
		v = lookup(r, sc, name);
		if (!v) {
			unknown(r, name);
			goto done;
		}
		if (json_is_string(v))
			buf_add(&b, json_string_value(v), json_string_length(v));
		else if (json_is_integer(v))
			buf_addf(&b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		else {
			char needle[MAX_NAME + 4];

			snprintf(needle, sizeof(needle), "${%s}", name);
			err_set(r->err, TK_EUSAGE, "%s:%d: placeholder '${%s}' is not a string and cannot be part of '%s'",
				r->t->path, line_of(r->t, needle), name, s);
			goto done;
		}
		p = e + 1;
	}
	/* the adds above are checked here, at once (the error is sticky) */
	if (buf_error(&b)) {
		err_set(r->err, TK_EUSAGE, "%s:%d: rendered string is longer than %u bytes", r->t->path,
			line_of(r->t, s), TK_TEMPLATE_MAX_BYTES);
		goto done;
	}
	*out = json_stringn(buf_cstr(&b), b.len);
	if (!*out) {
		err_set(r->err, TK_EUSAGE, "%s:%d: rendered string is not valid UTF-8", r->t->path, line_of(r->t, s));
		goto done;
	}
	rc = 0;
done:
	buf_release(&b);
	return rc;
}

static int render(const struct rctx *r, const struct scope *sc, json_t *node, json_t **out);

/* Evaluate "$if" of a directive object: 1 true, 0 false, <0 error. */
static int eval_if(const struct rctx *r, const struct scope *sc, json_t *obj)
{
	json_t *c = json_object_get(obj, "$if");
	const char *name;
	bool neg = false;
	json_t *v;

	if (!c)
		return 1;
	if (!json_is_string(c))
		return err_set(r->err, TK_EUSAGE, "%s:%d: \"$if\" needs a variable name", r->t->path, line_of(r->t, "\"$if\""));
	name = json_string_value(c);
	if (*name == '!') {
		neg = true;
		name++;
	}
	v = lookup(r, sc, name);
	if (!v)
		return err_set(r->err, TK_EUSAGE, "%s:%d: \"$if\" names an unknown variable '%s'", r->t->path,
			       line_of_directive(r->t, "$if", json_string_value(c)), name);
	return truthy(v) != neg;
}

/* Check the keys of a directive object. */
static int check_directive(const struct rctx *r, json_t *obj, bool repeat)
{
	const char *k;
	json_t *v;

	json_object_foreach(obj, k, v) {
		if (!strcmp(k, "$if") || !strcmp(k, "$value"))
			continue;
		if (repeat && (!strcmp(k, "$repeat") || !strcmp(k, "$as")))
			continue;
		return err_set(r->err, TK_EUSAGE, "%s:%d: unexpected key '%s' in a %s directive", r->t->path,
			       line_of(r->t, k), k, repeat ? "\"$repeat\"" : "\"$if\"");
	}
	if (!json_object_get(obj, "$value"))
		return err_set(r->err, TK_EUSAGE, "%s:%d: directive without \"$value\"", r->t->path,
			       line_of(r->t, repeat ? "\"$repeat\"" : "\"$if\""));
	return 0;
}

/* Expand a "$repeat" object, appending each result to arr. */
static int render_repeat(const struct rctx *r, const struct scope *sc, json_t *obj, json_t *arr)
{
	json_t *list_name = json_object_get(obj, "$repeat"), *as = json_object_get(obj, "$as");
	json_t *list, *item;
	struct scope inner;
	size_t i;
	int rc;

	if ((rc = check_directive(r, obj, true)) < 0)
		return rc;
	if (!json_is_string(list_name) || (as && !json_is_string(as)))
		return err_set(r->err, TK_EUSAGE, "%s:%d: \"$repeat\" and \"$as\" need names", r->t->path,
			       line_of(r->t, "\"$repeat\""));
	rc = eval_if(r, sc, obj);
	if (rc <= 0)
		return rc;
	list = lookup(r, sc, json_string_value(list_name));
	if (!list || !json_is_array(list))
		return err_set(r->err, TK_EUSAGE, "%s:%d: \"$repeat\" over %s '%s'", r->t->path,
			       line_of_directive(r->t, "$repeat", json_string_value(list_name)),
			       list ? "a value that is not a list" : "an unknown list", json_string_value(list_name));
	inner.name = as ? json_string_value(as) : "item";
	inner.up = sc;
	json_array_foreach(list, i, item) {
		json_t *v = NULL;

		inner.value = item;
		rc = render(r, &inner, json_object_get(obj, "$value"), &v);
		if (rc < 0)
			return rc;
		if (v)
			json_array_append_new(arr, v);   /* steals v */
	}
	return 0;
}

/* Render node; *out NULL (rc 0) means "left out" by a false "$if". */
static int render(const struct rctx *r, const struct scope *sc, json_t *node, json_t **out)
{
	struct rctx rr = *r;
	json_t *res = NULL, *v;
	const char *k;
	size_t i;
	int rc = 0;

	*out = NULL;
	if (++rr.depth > MAX_DEPTH)
		return err_set(r->err, TK_EUSAGE, "%s: nested deeper than %d levels", r->t->path, MAX_DEPTH);
	switch (json_typeof(node)) {
	case JSON_STRING:
		rc = render_string(&rr, sc, json_string_value(node), out);
		if (rc == 0 && *out && (rc = count_output(r, size_estimate(*out))) < 0) {
			json_decref(*out);
			*out = NULL;
		}
		return rc;
	case JSON_ARRAY:
		res = json_array();
		json_array_foreach(node, i, v) {
			json_t *e = NULL;

			if (json_is_object(v) && json_object_get(v, "$repeat")) {
				rc = render_repeat(&rr, sc, v, res);
			} else {
				rc = render(&rr, sc, v, &e);
				if (rc == 0 && e)
					json_array_append_new(res, e);   /* steals e */
			}
			if (rc < 0)
				goto fail;
		}
		break;
	case JSON_OBJECT:
		if (json_object_get(node, "$repeat")) {
			res = json_array();
			rc = render_repeat(&rr, sc, node, res);
			if (rc < 0)
				goto fail;
			break;
		}
		if (json_object_get(node, "$if")) {
			if ((rc = check_directive(&rr, node, false)) < 0)
				return rc;
			rc = eval_if(&rr, sc, node);
			if (rc <= 0)
				return rc;
			return render(&rr, sc, json_object_get(node, "$value"), out);
		}
		res = json_object();
		json_object_foreach(node, k, v) {
			json_t *e = NULL;

			if (k[0] == '$') {
				rc = err_set(r->err, TK_EUSAGE, "%s:%d: unknown directive '%s'", r->t->path,
					     line_of(r->t, k), k);
				goto fail;
			}
			rc = render(&rr, sc, v, &e);
			if (rc < 0)
				goto fail;
			if (e)
				json_object_set_new(res, k, e);   /* steals e */
		}
		break;
	default:
		res = json_deep_copy(node);
		break;
	}
	if ((rc = count_output(r, 16)) < 0)   /* the node; its members counted as rendered */
		goto fail;
	*out = res;
	return 0;
fail:
	json_decref(res);
	return rc;
}

int tmpl_render(json_t **out, const struct tmpl *t, json_t *vars, struct errbuf *err)
{
	size_t bytes = 0;
	struct rctx r = { t, vars, err, 0, &bytes };
	int rc;

	*out = NULL;
	rc = render(&r, NULL, t->root, out);
	if (rc == 0 && !*out)
		rc = err_set(err, TK_EUSAGE, "%s:1: the whole template was left out by \"$if\"", t->path);
	return rc;
}

int tmpl_load(struct tmpl *out, const char *path, struct errbuf *err)
{
	json_error_t jerr;
	char *text = NULL;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	/* an input: links followed to a regular file, a FIFO refused unopened */
	rc = tk_read_file(path, TK_TEMPLATE_MAX_BYTES, &text, &len, err);
	if (rc < 0) {
		struct errbuf e2;

		err_clear(&e2);
		if (rc == TK_ELIMIT)
			err_set(&e2, TK_EUSAGE, "template '%s' is larger than %u bytes", path, TK_TEMPLATE_MAX_BYTES);
		else if (!strncmp(err->msg, "cannot open ", 12))
			err_set(&e2, TK_EUSAGE, "cannot open template %s", err->msg + 12);
		else if (!strncmp(err->msg, "cannot read ", 12))
			err_set(&e2, TK_EUSAGE, "cannot read template %s", err->msg + 12);
		else
			err_set(&e2, TK_EUSAGE, "%s", err->msg);
		*err = e2;
		return TK_EUSAGE;
	}
	out->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!out->root) {
		rc = err_set(err, TK_EUSAGE, "%s:%d: bad JSON: %s", path, jerr.line > 0 ? jerr.line : 1, jerr.text);
		free(text);
		tmpl_release(out);
		return rc;
	}
	out->path = xstrdup(path);
	out->text = text;
	return 0;
}

void tmpl_release(struct tmpl *t)
{
	if (!t)
		return;
	free(t->path);
	free(t->text);
	json_decref(t->root);
	memset(t, 0, sizeof(*t));
}

int tmpl_render_file(json_t **out, const char *dir, const char *name, json_t *vars, struct errbuf *err)
{
	struct tmpl t;
	char *path = xasprintf("%s/%s", dir, name);
	int rc;

	*out = NULL;
	rc = tmpl_load(&t, path, err);
	free(path);
	if (rc < 0)
		return rc;
	rc = tmpl_render(out, &t, vars, err);
	tmpl_release(&t);
	return rc;
}
