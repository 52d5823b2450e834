/* policy.c: the built-in IAM policy evaluator (see policy.h for the
 * semantics; the parts: policy_int.h).  This file: value helpers, message
 * formatting, wildcard and ARN matching, the condition context, the
 * operator table.  No recursion over the document: the shape of a policy is
 * fixed (document -> statements -> fields -> lists of scalars), so every loop
 * is bounded by the POLICY_MAX_* limits checked in policy_check(). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "policy.h"
#include "policy_int.h"
#include "timeutil.h"
#include "banned.h"


/* --- small helpers ----------------------------------------------------- */

/* jansson's iteration macros take a non-const json_t *; we only read */
json_t *pol_unconst(const json_t *v)
{
	union { const json_t *c; json_t *m; } u;

	u.c = v;
	return u.m;
}

int pol_is_strlist(const json_t *v)
{
	size_t i;
	json_t *e;

	if (json_is_string(v))
		return 1;
	if (!json_is_array(v))
		return 0;
	json_array_foreach(v, i, e)
		if (!json_is_string(e))
			return 0;
	return 1;
}

size_t pol_list_len(const json_t *v)
{
	if (json_is_array(v))
		return json_array_size(v);
	return v ? 1 : 0;
}

const json_t *pol_list_get(const json_t *v, size_t i)
{
	if (json_is_array(v))
		return json_array_get(v, i);
	return v;
}

/* A JSON scalar as the string IAM compares: strings as they are, booleans
 * "true"/"false", numbers as their shortest decimal text (Python's str()). */
const char *pol_scalar_text(const json_t *v, char *tmp, size_t n)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_true(v))
		return "true";
	if (json_is_false(v))
		return "false";
	if (json_is_integer(v)) {
		snprintf(tmp, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return tmp;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		int prec;

		for (prec = 15; prec <= 17; prec++) {
			snprintf(tmp, n, "%.*g", prec, d);
			if (strtod(tmp, NULL) == d)
				break;
		}
		if (!strpbrk(tmp, ".eni") && strlen(tmp) + 2 < n) {
			size_t l = strlen(tmp);
			memcpy(tmp + l, ".0", 3);
		}
		return tmp;
	}
	return NULL;
}

int pol_is_scalar(const json_t *v)
{
	return json_is_string(v) || json_is_boolean(v) || json_is_number(v);
}

/* Printable-ASCII quoting for messages: 'value', other bytes as \xNN. */
void pol_add_quoted(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	buf_addc(b, '\'');
	for (; p && *p; p++) {
		if (*p < 0x20 || *p >= 0x7f || *p == '\'' || *p == '\\')
			buf_addf(b, "\\x%02x", *p);
		else
			buf_addc(b, (char)*p);
	}
	buf_addc(b, '\'');
}

/* the same escaping without quotes, into a fixed buffer (truncated) */
const char *pol_esc(char *tmp, size_t n, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	for (; p && *p && o + 5 < n; p++) {
		if (*p < 0x20 || *p >= 0x7f || *p == '\'' || *p == '\\')
			o += (size_t)snprintf(tmp + o, n - o, "\\x%02x", *p);
		else
			tmp[o++] = (char)*p;
	}
	tmp[o] = '\0';
	return tmp;
}


/* 'a' for a single string, ['a', 'b'] for a list (shortened past LIST_SHOW) */
void pol_add_list(struct buf *b, const json_t *v, int force_brackets)
{
	size_t i, n = pol_list_len(v);
	char tmp[64];

	if (!json_is_array(v) && !force_brackets) {
		pol_add_quoted(b, pol_scalar_text(v, tmp, sizeof(tmp)));
		return;
	}
	buf_addc(b, '[');
	for (i = 0; i < n && i < LIST_SHOW; i++) {
		const char *s = pol_scalar_text(pol_list_get(v, i), tmp, sizeof(tmp));

		if (i)
			buf_adds(b, ", ");
		pol_add_quoted(b, s ? s : "?");
	}
	if (n > LIST_SHOW)
		buf_addf(b, ", ... (%zu more)", n - LIST_SHOW);
	buf_addc(b, ']');
}

void pol_add_json(struct buf *b, const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
	const unsigned char *p;

	if (!s) {
		buf_adds(b, "?");
		return;
	}
	if (strlen(s) > 200)
		memcpy(s + 196, "...", 4);
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p >= 0x7f)   /* DEL is not escaped by jansson */
			buf_addf(b, "\\x%02x", *p);
		else
			buf_addc(b, (char)*p);
	}
	free(s);
}

/* --- wildcard and ARN matching ----------------------------------------- */

static const char *utf8_next(const char *s)
{
	if (!*s)
		return s;
	s++;
	while ((*(const unsigned char *)s & 0xc0) == 0x80)
		s++;
	return s;
}

static int ch_eq(char a, char b, int ic)
{
	if (ic)
		return tolower((unsigned char)a) == tolower((unsigned char)b);
	return a == b;
}

int policy_glob(const char *p, const char *v, int ic)
{
	const char *star = NULL, *mark = NULL;

	while (*v) {
		if (*p == '*') {
			star = p++;
			mark = v;
		} else if (*p == '?') {
			p++;
			v = utf8_next(v);
		} else if (*p && ch_eq(*p, *v, ic)) {
			p++;
			v++;
		} else if (star) {
			p = star + 1;
			mark = utf8_next(mark);
			v = mark;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* split s at the first five colons into 6 parts (in place); 0 or -1 */
static int split6(char *s, char *part[6])
{
	int i;

	part[0] = s;
	for (i = 1; i < 6; i++) {
		char *c = strchr(part[i - 1], ':');

		if (!c)
			return -1;
		*c = '\0';
		part[i] = c + 1;
	}
	return 0;
}

int policy_arn_match(const char *pattern, const char *value)
{
	char *pc, *vc, *pp[6], *vp[6];
	int i, ok = 1;

	if (strcmp(pattern, "*") == 0)
		return 1;
	pc = xstrdup(pattern);
	vc = xstrdup(value);
	if (split6(pc, pp) || split6(vc, vp)) {
		ok = policy_glob(pattern, value, 0);
		goto done;
	}
	for (i = 0; i < 6 && ok; i++)
		ok = policy_glob(pp[i], vp[i], 0);
done:
	free(pc);
	free(vc);
	return ok;
}

int pol_resource_match(const char *pattern, const char *res)
{
	if (strcmp(pattern, "*") == 0)
		return 1;
	if (strncmp(pattern, "arn:", 4) == 0)
		return policy_arn_match(pattern, res);
	return policy_glob(pattern, res, 0);
}

/* --- the condition context --------------------------------------------- */


struct policy_context *policy_context_new(void)
{
	return xcalloc(1, sizeof(struct policy_context));
}

void policy_context_free(struct policy_context *ctx)
{
	size_t i, j;

	if (!ctx)
		return;
	for (i = 0; i < ctx->n; i++) {
		for (j = 0; j < ctx->e[i].n; j++)
			free(ctx->e[i].vals[j]);
		free(ctx->e[i].vals);
		free(ctx->e[i].key);
	}
	free(ctx->e);
	free(ctx);
}

const struct ctx_entry *pol_ctx_find(const struct policy_context *ctx, const char *key)
{
	size_t i;

	if (!ctx)
		return NULL;
	for (i = 0; i < ctx->n; i++)
		if (strcasecmp(ctx->e[i].key, key) == 0)
			return &ctx->e[i];
	return NULL;
}

static int ctx_entry_get(struct ctx_entry **out, struct policy_context *ctx, const char *key,
                         struct errbuf *err)
{
	struct ctx_entry *e = NULL;
	size_t i;

	for (i = 0; i < ctx->n && !e; i++)
		if (strcasecmp(ctx->e[i].key, key) == 0)
			e = &ctx->e[i];

	if (e) {
		*out = e;
		return 0;
	}
	if (strlen(key) > POLICY_MAX_STRING)
		return err_set(err, TK_ELIMIT, "condition key longer than %d bytes", POLICY_MAX_STRING);
	if (ctx->n >= POLICY_CTX_MAX_KEYS)
		return err_set(err, TK_ELIMIT, "more than %d condition keys", POLICY_CTX_MAX_KEYS);
	ALLOC_GROW(ctx->e, ctx->n + 1, ctx->alloc);
	e = &ctx->e[ctx->n++];
	memset(e, 0, sizeof(*e));
	e->key = xstrdup(key);
	*out = e;
	return 0;
}

int policy_context_touch(struct policy_context *ctx, const char *key, struct errbuf *err)
{
	struct ctx_entry *e;

	return ctx_entry_get(&e, ctx, key, err);
}

int policy_context_add(struct policy_context *ctx, const char *key, const char *value,
                       struct errbuf *err)
{
	char ek[128];
	struct ctx_entry *e;
	int rc = ctx_entry_get(&e, ctx, key, err);

	if (rc)
		return rc;
	if (strlen(value) > POLICY_MAX_STRING)
		return err_set(err, TK_ELIMIT, "value of condition key '%s' longer than %d bytes",
		               pol_esc(ek, sizeof(ek), key), POLICY_MAX_STRING);
	if (e->n >= POLICY_CTX_MAX_VALUES)
		return err_set(err, TK_ELIMIT, "more than %d values for condition key '%s'",
		               POLICY_CTX_MAX_VALUES, pol_esc(ek, sizeof(ek), key));
	ALLOC_GROW(e->vals, e->n + 1, e->alloc);
	e->vals[e->n++] = xstrdup(value);
	return 0;
}

int policy_context_from_json(struct policy_context **out, const json_t *obj, struct errbuf *err)
{
	char ek[128];
	struct policy_context *ctx = NULL;
	const char *key;
	json_t *v, *e;
	size_t i;
	char tmp[64];
	int rc = 0;

	*out = NULL;
	if (obj && !json_is_object(obj))
		return err_set(err, TK_EUSAGE, "context must be a JSON object");
	ctx = policy_context_new();
	if (!obj)
		goto done;
	json_object_foreach(pol_unconst(obj), key, v) {
		if (json_is_null(v)) {
			rc = policy_context_touch(ctx, key, err);
		} else if (pol_is_scalar(v)) {
			rc = policy_context_add(ctx, key, pol_scalar_text(v, tmp, sizeof(tmp)), err);
		} else if (json_is_array(v)) {
			rc = policy_context_touch(ctx, key, err);
			json_array_foreach(v, i, e) {
				if (rc)
					break;
				if (!pol_is_scalar(e)) {
					rc = err_set(err, TK_EUSAGE,
					             "context key '%s': values must be strings, numbers or booleans", pol_esc(ek, sizeof(ek), key));
					break;
				}
				rc = policy_context_add(ctx, key, pol_scalar_text(e, tmp, sizeof(tmp)), err);
			}
		} else {
			rc = err_set(err, TK_EUSAGE,
			             "context key '%s' must be a string, a list of strings or null", pol_esc(ek, sizeof(ek), key));
		}
		if (rc)
			goto done;
	}
done:
	if (rc) {
		policy_context_free(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}

int policy_principal_from_json(struct policy_principal *out, const json_t *obj, struct errbuf *err)
{
	char ek[128];
	const char *k;
	json_t *v;

	memset(out, 0, sizeof(*out));
	out->kind = PRINCIPAL_ANONYMOUS;
	if (!obj || json_is_null(obj))
		return 0;
	if (!json_is_object(obj))
		return err_set(err, TK_EUSAGE, "principal must be a JSON object");
	json_object_foreach(pol_unconst(obj), k, v) {
		if (!json_is_string(v))
			return err_set(err, TK_EUSAGE, "principal field '%s' must be a string", pol_esc(ek, sizeof(ek), k));
		if (strcmp(k, "AWS") == 0) {
			if (strcmp(json_string_value(v), "*") != 0) {
				out->kind = PRINCIPAL_AWS;
				out->arn = json_string_value(v);
			}
		} else if (strcmp(k, "Service") == 0) {
			out->kind = PRINCIPAL_SERVICE;
			out->arn = json_string_value(v);
		} else if (strcmp(k, "Account") == 0) {
			out->account = json_string_value(v);
		} else if (strcmp(k, "RoleArn") == 0) {
			out->role_arn = json_string_value(v);
		} else {
			return err_set(err, TK_EUSAGE,
			               "unknown principal field '%s' (want AWS, Service, Account, RoleArn)", pol_esc(ek, sizeof(ek), k));
		}
	}
	if (json_object_get(obj, "AWS") && json_object_get(obj, "Service"))
		return err_set(err, TK_EUSAGE, "principal has both 'AWS' and 'Service'");
	return 0;
}

/* --- structure check ---------------------------------------------------- */

static const struct opdef ops[] = {
	{ "StringEquals", F_STR_EQ, C_EQ, 0 },
	{ "StringNotEquals", F_STR_EQ, C_EQ, 1 },
	{ "StringEqualsIgnoreCase", F_STR_EQ_IC, C_EQ, 0 },
	{ "StringNotEqualsIgnoreCase", F_STR_EQ_IC, C_EQ, 1 },
	{ "StringLike", F_STR_LIKE, C_EQ, 0 },
	{ "StringNotLike", F_STR_LIKE, C_EQ, 1 },
	{ "ArnEquals", F_ARN, C_EQ, 0 },
	{ "ArnLike", F_ARN, C_EQ, 0 },
	{ "ArnNotEquals", F_ARN, C_EQ, 1 },
	{ "ArnNotLike", F_ARN, C_EQ, 1 },
	{ "Bool", F_BOOL, C_EQ, 0 },
	{ "NumericEquals", F_NUM, C_EQ, 0 },
	{ "NumericNotEquals", F_NUM, C_EQ, 1 },
	{ "NumericLessThan", F_NUM, C_LT, 0 },
	{ "NumericLessThanEquals", F_NUM, C_LE, 0 },
	{ "NumericGreaterThan", F_NUM, C_GT, 0 },
	{ "NumericGreaterThanEquals", F_NUM, C_GE, 0 },
	{ "DateEquals", F_DATE, C_EQ, 0 },
	{ "DateNotEquals", F_DATE, C_EQ, 1 },
	{ "DateLessThan", F_DATE, C_LT, 0 },
	{ "DateLessThanEquals", F_DATE, C_LE, 0 },
	{ "DateGreaterThan", F_DATE, C_GT, 0 },
	{ "DateGreaterThanEquals", F_DATE, C_GE, 0 },
	{ "IpAddress", F_IP, C_EQ, 0 },
	{ "NotIpAddress", F_IP, C_EQ, 1 },
	{ "BinaryEquals", F_BIN, C_EQ, 0 },
	{ "Null", F_NULL, C_EQ, 0 },
};

int pol_op_parse(struct op *out, const char *name)
{
	size_t i, n;

	out->qual = Q_NONE;
	out->if_exists = 0;
	if (strncmp(name, "ForAnyValue:", 12) == 0) {
		out->qual = Q_ANY;
		name += 12;
	} else if (strncmp(name, "ForAllValues:", 13) == 0) {
		out->qual = Q_ALL;
		name += 13;
	}
	n = strlen(name);
	if (n > 8 && strcmp(name + n - 8, "IfExists") == 0) {
		out->if_exists = 1;
		n -= 8;
	}
	for (i = 0; i < sizeof(ops) / sizeof(*ops); i++) {
		if (strlen(ops[i].name) == n && strncmp(ops[i].name, name, n) == 0) {
			out->def = &ops[i];
			return 0;
		}
	}
	return -1;
}

const char *policy_decision_name(enum policy_decision d)
{
	switch (d) {
	case POLICY_ALLOW: return "Allow";
	case POLICY_DENY: return "Deny";
	case POLICY_IMPLICIT_DENY: return "Implicit";
	}
	return "Implicit";
}

int policy_decision_from_name(const char *name)
{
	if (!name)
		return -1;
	if (strcmp(name, "Allow") == 0)
		return POLICY_ALLOW;
	if (strcmp(name, "Deny") == 0)
		return POLICY_DENY;
	if (strcmp(name, "Implicit") == 0)
		return POLICY_IMPLICIT_DENY;
	return -1;
}
