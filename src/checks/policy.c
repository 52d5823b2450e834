/* policy.c: the built-in IAM policy evaluator (see policy.h for the
 * semantics).  No recursion over the document: the shape of a policy is
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
#include "timeutil.h"
#include "banned.h"

/* --- small helpers ----------------------------------------------------- */

/* jansson's iteration macros take a non-const json_t *; we only read */
static json_t *unconst(const json_t *v)
{
	union { const json_t *c; json_t *m; } u;

	u.c = v;
	return u.m;
}

static int is_strlist(const json_t *v)
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

static size_t list_len(const json_t *v)
{
	if (json_is_array(v))
		return json_array_size(v);
	return v ? 1 : 0;
}

static const json_t *list_get(const json_t *v, size_t i)
{
	if (json_is_array(v))
		return json_array_get(v, i);
	return v;
}

/* A JSON scalar as the string IAM compares: strings as they are, booleans
 * "true"/"false", numbers as their shortest decimal text (Python's str()). */
static const char *scalar_text(const json_t *v, char *tmp, size_t n)
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

static int is_scalar(const json_t *v)
{
	return json_is_string(v) || json_is_boolean(v) || json_is_number(v);
}

/* Printable-ASCII quoting for messages: 'value', other bytes as \xNN. */
static void add_quoted(struct buf *b, const char *s)
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
static const char *esc(char *tmp, size_t n, const char *s)
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

#define LIST_SHOW 8

/* 'a' for a single string, ['a', 'b'] for a list (shortened past LIST_SHOW) */
static void add_list(struct buf *b, const json_t *v, int force_brackets)
{
	size_t i, n = list_len(v);
	char tmp[64];

	if (!json_is_array(v) && !force_brackets) {
		add_quoted(b, scalar_text(v, tmp, sizeof(tmp)));
		return;
	}
	buf_addc(b, '[');
	for (i = 0; i < n && i < LIST_SHOW; i++) {
		const char *s = scalar_text(list_get(v, i), tmp, sizeof(tmp));

		if (i)
			buf_adds(b, ", ");
		add_quoted(b, s ? s : "?");
	}
	if (n > LIST_SHOW)
		buf_addf(b, ", ... (%zu more)", n - LIST_SHOW);
	buf_addc(b, ']');
}

static void add_json(struct buf *b, const json_t *v)
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

static int resource_match(const char *pattern, const char *res)
{
	if (strcmp(pattern, "*") == 0)
		return 1;
	if (strncmp(pattern, "arn:", 4) == 0)
		return policy_arn_match(pattern, res);
	return policy_glob(pattern, res, 0);
}

/* --- the condition context --------------------------------------------- */

struct ctx_entry {
	char *key;
	char **vals;
	size_t n, alloc;
};

struct policy_context {
	struct ctx_entry *e;
	size_t n, alloc;
};

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

static const struct ctx_entry *ctx_find(const struct policy_context *ctx, const char *key)
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
	if (ctx->n == ctx->alloc) {
		ctx->alloc = ctx->alloc ? 2 * ctx->alloc : 8;
		ctx->e = xrealloc(ctx->e, ctx->alloc * sizeof(*ctx->e));
	}
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
		               esc(ek, sizeof(ek), key), POLICY_MAX_STRING);
	if (e->n >= POLICY_CTX_MAX_VALUES)
		return err_set(err, TK_ELIMIT, "more than %d values for condition key '%s'",
		               POLICY_CTX_MAX_VALUES, esc(ek, sizeof(ek), key));
	if (e->n == e->alloc) {
		e->alloc = e->alloc ? 2 * e->alloc : 4;
		e->vals = xrealloc(e->vals, e->alloc * sizeof(*e->vals));
	}
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
	json_object_foreach(unconst(obj), key, v) {
		if (json_is_null(v)) {
			rc = policy_context_touch(ctx, key, err);
		} else if (is_scalar(v)) {
			rc = policy_context_add(ctx, key, scalar_text(v, tmp, sizeof(tmp)), err);
		} else if (json_is_array(v)) {
			rc = policy_context_touch(ctx, key, err);
			json_array_foreach(v, i, e) {
				if (rc)
					break;
				if (!is_scalar(e)) {
					rc = err_set(err, TK_EUSAGE,
					             "context key '%s': values must be strings, numbers or booleans", esc(ek, sizeof(ek), key));
					break;
				}
				rc = policy_context_add(ctx, key, scalar_text(e, tmp, sizeof(tmp)), err);
			}
		} else {
			rc = err_set(err, TK_EUSAGE,
			             "context key '%s' must be a string, a list of strings or null", esc(ek, sizeof(ek), key));
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
	json_object_foreach(unconst(obj), k, v) {
		if (!json_is_string(v))
			return err_set(err, TK_EUSAGE, "principal field '%s' must be a string", esc(ek, sizeof(ek), k));
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
			               "unknown principal field '%s' (want AWS, Service, Account, RoleArn)", esc(ek, sizeof(ek), k));
		}
	}
	if (json_object_get(obj, "AWS") && json_object_get(obj, "Service"))
		return err_set(err, TK_EUSAGE, "principal has both 'AWS' and 'Service'");
	return 0;
}

/* --- structure check ---------------------------------------------------- */

enum family { F_STR_EQ, F_STR_EQ_IC, F_STR_LIKE, F_ARN, F_BOOL, F_NUM, F_DATE, F_IP, F_BIN, F_NULL };
enum cmp { C_EQ, C_LT, C_LE, C_GT, C_GE };

static const struct opdef {
	const char *name;
	enum family fam;
	enum cmp cmp;
	int negated;
} ops[] = {
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

enum qual { Q_NONE, Q_ANY, Q_ALL };

struct op {
	const struct opdef *def;
	enum qual qual;
	int if_exists;
};

static int op_parse(struct op *out, const char *name)
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

static const char *stmt_label(const json_t *st, size_t idx, char *tmp, size_t n)
{
	const json_t *sid = json_object_get(st, "Sid");

	char e[POLICY_SID_LEN];

	if (json_is_string(sid) && json_string_length(sid) > 0)
		snprintf(tmp, n, "'%s'", esc(e, sizeof(e), json_string_value(sid)));
	else
		snprintf(tmp, n, "#%zu", idx + 1);
	return tmp;
}

static int check_strings(const json_t *v, int scalars_ok, const char *what, const char *lbl,
                         struct errbuf *err)
{
	size_t i, n = list_len(v);

	if (json_is_array(v) && n > POLICY_MAX_VALUES)
		return err_set(err, TK_ELIMIT, "policy statement %s: '%s' has more than %d values",
		               lbl, what, POLICY_MAX_VALUES);
	if (json_is_array(v) && n == 0 && !scalars_ok)
		return err_set(err, TK_EUSAGE, "policy statement %s: '%s' is an empty list", lbl, what);
	for (i = 0; i < n; i++) {
		const json_t *e = list_get(v, i);

		if (!(json_is_string(e) || (scalars_ok && is_scalar(e))))
			return err_set(err, TK_EUSAGE, "policy statement %s: '%s' must be %s", lbl, what,
			               scalars_ok ? "a string, number, boolean or a list of them"
			                          : "a string or a list of strings");
		if (json_is_string(e) && json_string_length(e) > POLICY_MAX_STRING)
			return err_set(err, TK_ELIMIT, "policy statement %s: a value of '%s' is longer than %d bytes",
			               lbl, what, POLICY_MAX_STRING);
		if (json_is_string(e) && strlen(json_string_value(e)) != json_string_length(e))
			return err_set(err, TK_EUSAGE, "policy statement %s: a value of '%s' contains a NUL byte",
			               lbl, what);
	}
	return 0;
}

static int check_principal(const json_t *p, const char *field, const char *lbl, struct errbuf *err)
{
	char ek[128];
	const char *k;
	json_t *v;
	int rc;

	if (json_is_string(p)) {
		if (strcmp(json_string_value(p), "*") == 0)
			return 0;
		return err_set(err, TK_EUSAGE, "policy statement %s: '%s' must be \"*\" or an object",
		               lbl, field);
	}
	if (!json_is_object(p))
		return err_set(err, TK_EUSAGE, "policy statement %s: '%s' must be \"*\" or an object",
		               lbl, field);
	json_object_foreach(unconst(p), k, v) {
		if (strcmp(k, "AWS") && strcmp(k, "Service") && strcmp(k, "Federated") &&
		    strcmp(k, "CanonicalUser"))
			return err_set(err, TK_EUSAGE, "policy statement %s: unknown principal type '%s' in '%s'",
			               lbl, esc(ek, sizeof(ek), k), field);
		if (!is_strlist(v))
			return err_set(err, TK_EUSAGE, "policy statement %s: '%s' %s must be a string or a list of strings",
			               lbl, field, k);
		if ((rc = check_strings(v, 0, field, lbl, err)))
			return rc;
	}
	return 0;
}

static int check_condition(const json_t *c, const char *lbl, struct errbuf *err)
{
	char ek[128];
	const char *opname, *key;
	json_t *kv, *vals;
	struct op op;
	int rc;

	if (!json_is_object(c))
		return err_set(err, TK_EUSAGE, "policy statement %s: 'Condition' must be an object", lbl);
	json_object_foreach(unconst(c), opname, kv) {
		if (op_parse(&op, opname))
			return err_set(err, TK_EUSAGE, "policy statement %s: unknown condition operator '%s'",
			               lbl, esc(ek, sizeof(ek), opname));
		if (!json_is_object(kv))
			return err_set(err, TK_EUSAGE, "policy statement %s: condition '%s' must be an object",
			               lbl, opname);
		json_object_foreach(kv, key, vals) {
			if (strlen(key) > POLICY_MAX_STRING)
				return err_set(err, TK_ELIMIT, "policy statement %s: condition key too long", lbl);
			if ((rc = check_strings(vals, 1, opname, lbl, err)))
				return rc;
		}
	}
	return 0;
}

static int check_statement(const json_t *st, size_t idx, struct errbuf *err)
{
	char ek[128];
	static const char *known[] = { "Sid", "Effect", "Principal", "NotPrincipal", "Action",
		"NotAction", "Resource", "NotResource", "Condition" };
	char lbl[POLICY_SID_LEN + 8];
	const char *k, *eff;
	json_t *v;
	size_t i;
	int rc;

	if (!json_is_object(st))
		return err_set(err, TK_EUSAGE, "policy statement #%zu must be an object", idx + 1);
	v = json_object_get(st, "Sid");
	if (v && !json_is_string(v))
		return err_set(err, TK_EUSAGE, "policy statement #%zu: 'Sid' must be a string", idx + 1);
	if (v && json_string_length(v) >= POLICY_SID_LEN)
		return err_set(err, TK_ELIMIT, "policy statement #%zu: 'Sid' longer than %d bytes",
		               idx + 1, POLICY_SID_LEN - 1);
	stmt_label(st, idx, lbl, sizeof(lbl));
	json_object_foreach(unconst(st), k, v) {
		for (i = 0; i < sizeof(known) / sizeof(*known); i++)
			if (strcmp(k, known[i]) == 0)
				break;
		if (i == sizeof(known) / sizeof(*known))
			return err_set(err, TK_EUSAGE, "policy statement %s: unknown field '%s'", lbl, esc(ek, sizeof(ek), k));
	}
	v = json_object_get(st, "Effect");
	eff = json_string_value(v);
	if (!eff || (strcmp(eff, "Allow") && strcmp(eff, "Deny")))
		return err_set(err, TK_EUSAGE, "policy statement %s: 'Effect' must be \"Allow\" or \"Deny\"", lbl);
	if (json_object_get(st, "Principal") && json_object_get(st, "NotPrincipal"))
		return err_set(err, TK_EUSAGE, "policy statement %s: both 'Principal' and 'NotPrincipal'", lbl);
	if ((v = json_object_get(st, "Principal")) && (rc = check_principal(v, "Principal", lbl, err)))
		return rc;
	if ((v = json_object_get(st, "NotPrincipal")) && (rc = check_principal(v, "NotPrincipal", lbl, err)))
		return rc;
	if (!!json_object_get(st, "Action") == !!json_object_get(st, "NotAction"))
		return err_set(err, TK_EUSAGE, "policy statement %s: needs exactly one of 'Action' and 'NotAction'",
		               lbl);
	if (json_object_get(st, "Resource") && json_object_get(st, "NotResource"))
		return err_set(err, TK_EUSAGE, "policy statement %s: both 'Resource' and 'NotResource'", lbl);
	for (i = 4; i < 8; i++) {
		v = json_object_get(st, known[i]);
		if (!v)
			continue;
		if (!is_strlist(v))
			return err_set(err, TK_EUSAGE, "policy statement %s: '%s' must be a string or a list of strings",
			               lbl, known[i]);
		if ((rc = check_strings(v, 0, known[i], lbl, err)))
			return rc;
	}
	if ((v = json_object_get(st, "Condition")) && (rc = check_condition(v, lbl, err)))
		return rc;
	return 0;
}

int policy_check(const json_t *policy, struct errbuf *err)
{
	char ek[128];
	const json_t *sts;
	const char *k;
	json_t *v;
	size_t i, n;
	int rc;

	if (!json_is_object(policy))
		return err_set(err, TK_EUSAGE, "policy must be a JSON object");
	json_object_foreach(unconst(policy), k, v) {
		if (strcmp(k, "Version") && strcmp(k, "Id") && strcmp(k, "Statement"))
			return err_set(err, TK_EUSAGE, "policy has an unknown field '%s'", esc(ek, sizeof(ek), k));
		if (strcmp(k, "Statement") && !json_is_string(v))
			return err_set(err, TK_EUSAGE, "policy field '%s' must be a string", k);
	}
	sts = json_object_get(policy, "Statement");
	if (!sts)
		return err_set(err, TK_EUSAGE, "policy has no 'Statement'");
	if (!json_is_array(sts) && !json_is_object(sts))
		return err_set(err, TK_EUSAGE, "policy 'Statement' must be an object or a list of objects");
	n = list_len(sts);
	if (n > POLICY_MAX_STATEMENTS)
		return err_set(err, TK_ELIMIT, "policy has more than %d statements", POLICY_MAX_STATEMENTS);
	for (i = 0; i < n; i++)
		if ((rc = check_statement(list_get(sts, i), i, err)))
			return rc;
	return 0;
}

int policy_parse(json_t **out, const char *text, size_t len, struct errbuf *err)
{
	json_error_t je;

	*out = NULL;
	if (len > POLICY_MAX_TEXT)
		return err_set(err, TK_ELIMIT, "policy is larger than %d bytes", POLICY_MAX_TEXT);
	*out = json_loadb(text, len, 0, &je);
	if (!*out)
		return err_set(err, TK_EUSAGE, "policy is not valid JSON: line %d column %d: %s",
		               je.line, je.column, je.text);
	return 0;
}

/* --- principals ---------------------------------------------------------- */

/* account of "123456789012" or "arn:P:S:R:ACCT:..." into out[13]; 0 or -1 */
static int account_of(const char *s, char *out, size_t n)
{
	size_t i, l = strlen(s);
	const char *p;

	for (i = 0; i < l && isdigit((unsigned char)s[i]); i++)
		;
	if (l == 12 && i == 12) {
		snprintf(out, n, "%s", s);
		return 0;
	}
	if (strncmp(s, "arn:", 4) != 0)
		return -1;
	p = s;
	for (i = 0; i < 4; i++) {
		p = strchr(p, ':');
		if (!p)
			return -1;
		p++;
	}
	l = strcspn(p, ":");
	if (p[l] != ':' || l >= n)   /* need a sixth part */
		return -1;
	memcpy(out, p, l);
	out[l] = '\0';
	return 0;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

static int aws_spec_match(const char *spec, const struct policy_principal *pr)
{
	char a[64], b[64];
	size_t l = strlen(spec);

	if (strcmp(spec, "*") == 0)
		return 1;
	if (pr->kind != PRINCIPAL_AWS || !pr->arn || strcmp(pr->arn, "*") == 0)
		return 0;
	if (all_digits(spec) || (l >= 5 && strcmp(spec + l - 5, ":root") == 0)) {
		if (account_of(spec, a, sizeof(a)))
			return 0;
		if (pr->account)
			snprintf(b, sizeof(b), "%s", pr->account);
		else if (account_of(pr->arn, b, sizeof(b)))
			return 0;
		return strcmp(a, b) == 0;
	}
	if (strcmp(spec, pr->arn) == 0)
		return 1;
	return pr->role_arn && strcmp(spec, pr->role_arn) == 0;
}

static int principal_match(const json_t *p, const struct policy_principal *pr)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_string(p))
		return strcmp(json_string_value(p), "*") == 0;
	json_object_foreach(unconst(p), k, v) {
		for (i = 0; i < list_len(v); i++) {
			const char *s = json_string_value(list_get(v, i));

			if (!s)
				continue;
			if (strcmp(k, "AWS") == 0) {
				if (aws_spec_match(s, pr))
					return 1;
			} else if (strcmp(s, "*") == 0) {
				return 1;
			} else if (strcmp(k, "Service") == 0 && pr->kind == PRINCIPAL_SERVICE && pr->arn &&
			           strcasecmp(s, pr->arn) == 0) {
				return 1;
			}
		}
	}
	return 0;
}

static const char *principal_name(const struct policy_principal *pr)
{
	if (pr->kind == PRINCIPAL_ANONYMOUS || !pr->arn)
		return "anonymous";
	return pr->arn;
}

/* --- conditions ----------------------------------------------------------- */

static int parse_num(const char *s, double *out)
{
	char *end;

	if (strpbrk(s, "xX"))
		return -1;
	errno = 0;
	*out = strtod(s, &end);
	if (end == s)
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	return *end ? -1 : 0;
}

/* epoch seconds ("1700000000", "1700000000.5") or ISO-8601
 * "YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|(+|-)HH[:]MM]" */
static int parse_date(const char *s, double *out)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, se = 0, oh, om, sign;
	double frac = 0;
	const char *p = s;
	size_t i;

	while (isspace((unsigned char)*p))
		p++;
	for (i = 0; isdigit((unsigned char)p[i]); i++)
		;
	if (i > 0 && (p[i] == '\0' || (p[i] == '.' && isdigit((unsigned char)p[i + 1]))))
		return parse_num(p, out);
	if (tk_digits(p, 4, &y) || p[4] != '-' || tk_digits(p + 5, 2, &mo) || p[7] != '-' ||
	    tk_digits(p + 8, 2, &d))
		return -1;
	p += 10;
	if (*p == 'T' || *p == ' ') {
		if (tk_digits(p + 1, 2, &h) || p[3] != ':' || tk_digits(p + 4, 2, &mi))
			return -1;
		p += 6;
		if (*p == ':') {
			if (tk_digits(p + 1, 2, &se))
				return -1;
			p += 3;
			if (*p == '.' && isdigit((unsigned char)p[1])) {
				double scale = 0.1;

				for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
					frac += (*p - '0') * scale;
			}
		}
	}
	oh = om = 0;
	sign = 1;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (tk_digits(p + 1, 2, &oh))
			return -1;
		p += 3;
		if (*p == ':')
			p++;
		if (tk_digits(p, 2, &om))
			return -1;
		p += 2;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59 ||
	    oh > 23 || om > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = (double)tk_timegm(&tm) + frac - sign * (oh * 3600.0 + om * 60.0);
	return 0;
}

/* dotted quad, no leading zeros (as Python's ipaddress) */
static int parse_ip4(const char *s, const char **end, uint32_t *out)
{
	uint32_t v = 0;
	int part, i, n;

	for (part = 0; part < 4; part++) {
		int x = 0;

		for (n = 0; isdigit((unsigned char)s[n]) && n < 4; n++)
			x = x * 10 + (s[n] - '0');
		if (n == 0 || n > 3 || x > 255 || (n > 1 && s[0] == '0'))
			return -1;
		v = (v << 8) | (uint32_t)x;
		s += n;
		if (part < 3) {
			if (*s != '.')
				return -1;
			s++;
		}
	}
	(void)i;
	*end = s;
	*out = v;
	return 0;
}

static int ip_match(const char *cidr, const char *addr)
{
	uint32_t net, a, mask;
	const char *e;
	int bits = 32;

	if (parse_ip4(addr, &e, &a) || *e)
		return 0;
	if (parse_ip4(cidr, &e, &net))
		return 0;
	if (*e == '/') {
		size_t nb = strlen(e + 1);

		/* 1 or 2 digits, no leading zero, at most 32 (length first: a
		 * long digit string must never reach tk_digits) */
		if (nb < 1 || nb > 2 || tk_digits(e + 1, (int)nb, &bits) || bits > 32 ||
		    (nb > 1 && e[1] == '0'))
			return 0;
	} else if (*e) {
		return 0;
	}
	mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
	return (a & mask) == (net & mask);
}

static int cmp_ok(enum cmp c, double cv, double pv)
{
	switch (c) {
	case C_EQ: return cv == pv;
	case C_LT: return cv < pv;
	case C_LE: return cv <= pv;
	case C_GT: return cv > pv;
	case C_GE: return cv >= pv;
	}
	return 0;
}

/* one policy value against one context value, before negation */
static int value_match(const struct opdef *d, const char *pv, const char *cv)
{
	double a, b;

	switch (d->fam) {
	case F_STR_EQ:
	case F_BIN:
		return strcmp(pv, cv) == 0;
	case F_STR_EQ_IC:
	case F_BOOL:
		return strcasecmp(pv, cv) == 0;
	case F_STR_LIKE:
		return policy_glob(pv, cv, 0);
	case F_ARN:
		return policy_arn_match(pv, cv);
	case F_NUM:
		return !parse_num(cv, &a) && !parse_num(pv, &b) && cmp_ok(d->cmp, a, b);
	case F_DATE:
		return !parse_date(cv, &a) && !parse_date(pv, &b) && cmp_ok(d->cmp, a, b);
	case F_IP:
		return ip_match(pv, cv);
	case F_NULL:
		break;
	}
	return 0;
}

static int hit_any(const struct opdef *d, const json_t *pvals, const char *cv)
{
	size_t i;
	char tmp[64];

	for (i = 0; i < list_len(pvals); i++) {
		const char *pv = scalar_text(list_get(pvals, i), tmp, sizeof(tmp));

		if (pv && value_match(d, pv, cv))
			return 1;
	}
	return 0;
}

static const char *phrase(const struct opdef *d, int hit)
{
	switch (d->fam) {
	case F_STR_LIKE:
	case F_ARN:
		return hit ? "matches one of" : "matches none of";
	case F_NUM:
	case F_DATE:
		return hit ? "satisfies" : "does not satisfy";
	case F_IP:
		return hit ? "is in one of the ranges" : "is in none of the ranges";
	default:
		return hit ? "is in" : "not in";
	}
}

static void add_phrase(struct buf *b, const struct opdef *d, int hit, const json_t *pvals)
{
	buf_adds(b, phrase(d, hit));
	if (d->fam == F_NUM || d->fam == F_DATE)
		buf_addf(b, " %s %s", d->name, hit ? "for one of" : "for any of");
	buf_addc(b, ' ');
	add_list(b, pvals, 1);
}

static void add_cvals(struct buf *b, const struct ctx_entry *e)
{
	size_t i;

	buf_addc(b, '[');
	for (i = 0; i < e->n && i < LIST_SHOW; i++) {
		if (i)
			buf_adds(b, ", ");
		add_quoted(b, e->vals[i]);
	}
	if (e->n > LIST_SHOW)
		buf_addf(b, ", ... (%zu more)", e->n - LIST_SHOW);
	buf_addc(b, ']');
}

/* Evaluate one operator/key pair.  1 = satisfied.  When why is given and the
 * result is 0, append "condition OP KEY: reason". */
static int cond_one(const char *opname, const char *key, const json_t *pvals,
                    const struct policy_context *ctx, struct buf *why)
{
	const struct ctx_entry *e = ctx_find(ctx, key);
	size_t i, n = e ? e->n : 0;
	struct op op;
	const struct opdef *d;
	int neg, r = 0;
	char tmp[64], ek[256];

	if (op_parse(&op, opname))
		return 0;   /* policy_check rejects these */
	d = op.def;
	if (why)
		esc(ek, sizeof(ek), key);
	neg = d->negated;
	if (d->fam == F_NULL) {
		const char *first = list_len(pvals) ? scalar_text(list_get(pvals, 0), tmp, sizeof(tmp)) : "true";
		int want_null = first && strcasecmp(first, "true") == 0;

		r = want_null == (n == 0);
		if (!r && why) {
			buf_addf(why, "condition %s ", opname);
			buf_adds(why, ek);
			if (n == 0) {
				buf_adds(why, ": key is absent but the policy requires it to be present");
			} else {
				buf_adds(why, ": key is present (");
				add_cvals(why, e);
				buf_adds(why, ") but the policy requires it to be absent");
			}
		}
		return r;
	}
	if (op.qual == Q_ALL) {
		for (i = 0; i < n; i++) {
			int h = hit_any(d, pvals, e->vals[i]);

			if (neg ? h : !h)
				break;
		}
		r = i == n;
		if (!r && why) {
			buf_addf(why, "condition %s %s: context value ", opname, ek);
			add_quoted(why, e->vals[i]);
			buf_addc(why, ' ');
			add_phrase(why, d, neg, pvals);
		}
		return r;
	}
	if (n == 0) {
		r = op.if_exists || (neg && op.qual == Q_NONE);
		if (!r && why)
			buf_addf(why, "condition %s %s: key is absent from the request context", opname, ek);
		return r;
	}
	if (op.qual == Q_ANY || !neg) {
		/* some value must satisfy */
		for (i = 0; i < n; i++) {
			int h = hit_any(d, pvals, e->vals[i]);

			if (neg ? !h : h)
				return 1;
		}
		if (why) {
			buf_addf(why, "condition %s %s: ", opname, ek);
			if (n == 1) {
				buf_adds(why, "context value ");
				add_quoted(why, e->vals[0]);
				buf_addc(why, ' ');
				add_phrase(why, d, neg, pvals);
			} else {
				buf_adds(why, neg ? "every context value of " : "no context value of ");
				add_cvals(why, e);
				buf_addc(why, ' ');
				add_phrase(why, d, 1, pvals);
			}
		}
		return 0;
	}
	/* unqualified negated operator: every value must miss */
	for (i = 0; i < n; i++) {
		if (hit_any(d, pvals, e->vals[i])) {
			if (why) {
				buf_addf(why, "condition %s %s: context value ", opname, ek);
				add_quoted(why, e->vals[i]);
				buf_addc(why, ' ');
				add_phrase(why, d, 1, pvals);
			}
			return 0;
		}
	}
	return 1;
}

/* --- statements ----------------------------------------------------------- */

struct score {
	int p, a, r;          /* principal, action, resource match */
	int conds, conds_ok;  /* evaluated only when p && a && r */
	int applies;
};

static int list_any(const json_t *pats, const char *s, int kind)
{
	size_t i;

	for (i = 0; i < list_len(pats); i++) {
		const char *p = json_string_value(list_get(pats, i));

		if (!p)
			continue;
		if (kind == 'a' ? policy_glob(p, s, 1) : resource_match(p, s))
			return 1;
	}
	return 0;
}

static void score_stmt(struct score *sc, const json_t *st, const struct policy_request *req)
{
	const json_t *v, *cond = json_object_get(st, "Condition");
	const char *opname, *key;
	json_t *kv, *vals;

	memset(sc, 0, sizeof(*sc));
	if ((v = json_object_get(st, "Principal")))
		sc->p = principal_match(v, &req->principal);
	else if ((v = json_object_get(st, "NotPrincipal")))
		sc->p = !principal_match(v, &req->principal);
	else
		sc->p = 1;
	if ((v = json_object_get(st, "Action")))
		sc->a = list_any(v, req->action, 'a');
	else
		sc->a = !list_any(json_object_get(st, "NotAction"), req->action, 'a');
	if (!req->resource)
		sc->r = 1;
	else if ((v = json_object_get(st, "Resource")))
		sc->r = list_any(v, req->resource, 'r');
	else if ((v = json_object_get(st, "NotResource")))
		sc->r = !list_any(v, req->resource, 'r');
	else
		sc->r = 1;
	if (!(sc->p && sc->a && sc->r))
		return;
	if (cond) {
		json_object_foreach(unconst(cond), opname, kv) {
			json_object_foreach(kv, key, vals) {
				sc->conds++;
				sc->conds_ok += cond_one(opname, key, vals, req->context, NULL);
			}
		}
	}
	sc->applies = sc->conds_ok == sc->conds;
}

/* "statement 'X' matches principal and action but Resource ... does not match ..." */
static void explain_miss(struct buf *b, const json_t *st, size_t idx, const struct score *sc,
                         const struct policy_request *req)
{
	const char *names[3] = { "principal", "action", "resource" };
	int ok[3] = { sc->p, sc->a, sc->r }, i, nok = 0, k = 0, first = 1;
	char lbl[POLICY_SID_LEN + 8];
	const json_t *v, *cond;
	const char *opname, *key;
	json_t *kv, *vals;

	buf_addf(b, "statement %s ", stmt_label(st, idx, lbl, sizeof(lbl)));
	for (i = 0; i < 3; i++)
		nok += ok[i];
	if (nok == 0) {
		buf_adds(b, "matches nothing: ");
	} else {
		buf_adds(b, "matches ");
		for (i = 0; i < 3; i++) {
			if (!ok[i])
				continue;
			k++;
			if (k > 1)
				buf_adds(b, k == nok ? " and " : ", ");
			buf_adds(b, names[i]);
		}
		buf_adds(b, " but ");
	}
	if (!sc->p) {
		first = 0;
		if ((v = json_object_get(st, "Principal"))) {
			buf_adds(b, "Principal ");
			add_json(b, v);
			buf_adds(b, " does not match ");
		} else {
			buf_adds(b, "NotPrincipal ");
			add_json(b, json_object_get(st, "NotPrincipal"));
			buf_adds(b, " excludes ");
		}
		add_quoted(b, principal_name(&req->principal));
	}
	if (!sc->a) {
		if (!first)
			buf_adds(b, "; ");
		first = 0;
		if ((v = json_object_get(st, "Action"))) {
			buf_adds(b, "Action ");
			add_list(b, v, 0);
			buf_adds(b, " does not match ");
		} else {
			buf_adds(b, "NotAction ");
			add_list(b, json_object_get(st, "NotAction"), 0);
			buf_adds(b, " excludes ");
		}
		add_quoted(b, req->action);
	}
	if (!sc->r) {
		if (!first)
			buf_adds(b, "; ");
		first = 0;
		if ((v = json_object_get(st, "Resource"))) {
			buf_adds(b, "Resource ");
			add_list(b, v, 0);
			buf_adds(b, " does not match ");
		} else {
			buf_adds(b, "NotResource ");
			add_list(b, json_object_get(st, "NotResource"), 0);
			buf_adds(b, " excludes ");
		}
		add_quoted(b, req->resource);
	}
	if (!first)
		return;
	/* principal, action and resource match: the first failing condition */
	cond = json_object_get(st, "Condition");
	json_object_foreach(unconst(cond), opname, kv) {
		json_object_foreach(kv, key, vals) {
			size_t before = b->len;

			if (!cond_one(opname, key, vals, req->context, b)) {
				if (b->len == before)
					buf_addf(b, "condition %s %s is not satisfied", opname, esc(lbl, sizeof(lbl), key));
				if (sc->conds - sc->conds_ok > 1)
					buf_addf(b, " (and %d more failing condition%s)",
					         sc->conds - sc->conds_ok - 1,
					         sc->conds - sc->conds_ok > 2 ? "s" : "");
				return;
			}
		}
	}
}

static void set_explain(struct policy_result *out, const struct buf *b)
{
	const char *s = buf_cstr(b);
	size_t n = strlen(s);

	if (n < sizeof(out->explain)) {
		memcpy(out->explain, s, n + 1);
		return;
	}
	memcpy(out->explain, s, sizeof(out->explain) - 4);
	memcpy(out->explain + sizeof(out->explain) - 4, "...", 4);
}

static void set_sid(struct policy_result *out, const json_t *st)
{
	const char *sid = json_string_value(json_object_get(st, "Sid"));

	snprintf(out->sid, sizeof(out->sid), "%s", sid ? sid : "");
}

int policy_eval(struct policy_result *out, const json_t *policy,
                const struct policy_request *req, struct errbuf *err)
{
	const json_t *sts, *st;
	struct buf b = BUF_INIT_LIMIT(64 * 1024);
	struct score sc, best_sc;
	char lbl[POLICY_SID_LEN + 8];
	long best = -1, best_score = -1, allow = -1, deny = -1, nallow = 0;
	size_t i, n;
	int rc;

	memset(out, 0, sizeof(*out));
	out->decision = POLICY_IMPLICIT_DENY;
	out->statement = -1;
	memset(&best_sc, 0, sizeof(best_sc));
	if (!req || !req->action)
		return err_set(err, TK_EUSAGE, "policy request has no action");
	if ((rc = policy_check(policy, err)))
		return rc;
	sts = json_object_get(policy, "Statement");
	n = list_len(sts);
	for (i = 0; i < n && deny < 0; i++) {
		int is_allow;
		long s;

		st = list_get(sts, i);
		is_allow = strcmp(json_string_value(json_object_get(st, "Effect")), "Allow") == 0;
		score_stmt(&sc, st, req);
		if (sc.applies) {
			if (!is_allow)
				deny = (long)i;
			else if (allow < 0)
				allow = (long)i;
			continue;
		}
		if (!is_allow)
			continue;
		nallow++;
		s = 100L * (sc.p + sc.a + sc.r) + (sc.p && sc.a && sc.r ? 1 + sc.conds_ok : 0);
		if (s > best_score) {
			best_score = s;
			best = (long)i;
			best_sc = sc;
		}
	}
	if (deny >= 0) {
		st = list_get(sts, (size_t)deny);
		out->decision = POLICY_DENY;
		out->statement = (int)deny;
		set_sid(out, st);
		buf_addf(&b, "explicitly denied by statement %s", stmt_label(st, (size_t)deny, lbl, sizeof(lbl)));
	} else if (allow >= 0) {
		st = list_get(sts, (size_t)allow);
		out->decision = POLICY_ALLOW;
		out->statement = (int)allow;
		set_sid(out, st);
		buf_addf(&b, "allowed by statement %s", stmt_label(st, (size_t)allow, lbl, sizeof(lbl)));
	} else if (best >= 0) {
		st = list_get(sts, (size_t)best);
		out->statement = (int)best;
		set_sid(out, st);
		explain_miss(&b, st, (size_t)best, &best_sc, req);
	} else {
		buf_adds(&b, n ? "policy has no Allow statement" : "policy has no statements");
	}
	set_explain(out, &b);
	buf_release(&b);
	return 0;
}

int policy_eval_text(struct policy_result *out, const char *text, size_t len,
                     const struct policy_request *req, struct errbuf *err)
{
	json_t *doc = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	out->statement = -1;
	if ((rc = policy_parse(&doc, text, len, err)))
		goto done;
	rc = policy_eval(out, doc, req, err);
done:
	json_decref(doc);
	return rc;
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
