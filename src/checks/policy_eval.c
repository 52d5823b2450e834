/* policy_eval.c: evaluate a checked policy for one request (policy_eval; see
 * policy.h): principals, conditions, statements, and the explanation of the
 * decision.  No recursion over the document: the shape of a policy is fixed
 * (document -> statements -> fields -> lists of scalars), so every loop is
 * bounded by the POLICY_MAX_* limits checked in policy_check(). */
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
	json_object_foreach(pol_unconst(p), k, v) {
		for (i = 0; i < pol_list_len(v); i++) {
			const char *s = json_string_value(pol_list_get(v, i));

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
 * "YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|(+|-)HH[:]MM]" (timeutil's parser) */
static int parse_date(const char *s, double *out)
{
	const unsigned syntax = TK_TS_DATE | TK_TS_ISO | TK_TS_FRAC | TK_TS_OFFSET | TK_TS_SPACES;
	const char *p = s;
	struct tk_time t;
	size_t i;

	while (isspace((unsigned char)*p))
		p++;
	for (i = 0; isdigit((unsigned char)p[i]); i++)
		;
	if (i > 0 && (p[i] == '\0' || (p[i] == '.' && isdigit((unsigned char)p[i + 1]))))
		return parse_num(p, out);
	if (tk_time_parse(p, strlen(p), syntax, &t))
		return -1;
	*out = (double)t.sec + t.frac;
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

	for (i = 0; i < pol_list_len(pvals); i++) {
		const char *pv = pol_scalar_text(pol_list_get(pvals, i), tmp, sizeof(tmp));

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
	pol_add_list(b, pvals, 1);
}

static void add_cvals(struct buf *b, const struct ctx_entry *e)
{
	size_t i;

	buf_addc(b, '[');
	for (i = 0; i < e->n && i < LIST_SHOW; i++) {
		if (i)
			buf_adds(b, ", ");
		pol_add_quoted(b, e->vals[i]);
	}
	if (e->n > LIST_SHOW)
		buf_addf(b, ", ... (%zu more)", e->n - LIST_SHOW);
	buf_addc(b, ']');
}

/* The Null operator: is the key absent ("true") or present ("false")? */
static int cond_null(const char *opname, const char *ek, const json_t *pvals, const struct ctx_entry *e,
		     struct buf *why)
{
	size_t n = e ? e->n : 0;
	char tmp[64];
	const char *first = pol_list_len(pvals) ? pol_scalar_text(pol_list_get(pvals, 0), tmp, sizeof(tmp)) : "true";
	int want_null = first && strcasecmp(first, "true") == 0;
	int r = want_null == (n == 0);

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

/* Evaluate one operator/key pair.  1 = satisfied.  When why is given and the
 * result is 0, append "condition OP KEY: reason". */
static int cond_one(const char *opname, const char *key, const json_t *pvals,
                    const struct policy_context *ctx, struct buf *why)
{
	const struct ctx_entry *e = pol_ctx_find(ctx, key);
	size_t i, n = e ? e->n : 0;
	struct op op;
	const struct opdef *d;
	int neg, r = 0;
	char ek[256];

	if (pol_op_parse(&op, opname))
		return 0;   /* policy_check rejects these */
	d = op.def;
	if (why)
		pol_esc(ek, sizeof(ek), key);
	neg = d->negated;
	if (d->fam == F_NULL)
		return cond_null(opname, ek, pvals, e, why);
	if (op.qual == Q_ALL) {
		for (i = 0; i < n; i++) {
			int h = hit_any(d, pvals, e->vals[i]);

			if (neg ? h : !h)
				break;
		}
		r = i == n;
		if (!r && why) {
			buf_addf(why, "condition %s %s: context value ", opname, ek);
			pol_add_quoted(why, e->vals[i]);
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
				pol_add_quoted(why, e->vals[0]);
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
				pol_add_quoted(why, e->vals[i]);
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

	for (i = 0; i < pol_list_len(pats); i++) {
		const char *p = json_string_value(pol_list_get(pats, i));

		if (!p)
			continue;
		if (kind == 'a' ? policy_glob(p, s, 1) : pol_resource_match(p, s))
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
		json_object_foreach(pol_unconst(cond), opname, kv) {
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

	buf_addf(b, "statement %s ", pol_stmt_label(st, idx, lbl, sizeof(lbl)));
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
			pol_add_json(b, v);
			buf_adds(b, " does not match ");
		} else {
			buf_adds(b, "NotPrincipal ");
			pol_add_json(b, json_object_get(st, "NotPrincipal"));
			buf_adds(b, " excludes ");
		}
		pol_add_quoted(b, principal_name(&req->principal));
	}
	if (!sc->a) {
		if (!first)
			buf_adds(b, "; ");
		first = 0;
		if ((v = json_object_get(st, "Action"))) {
			buf_adds(b, "Action ");
			pol_add_list(b, v, 0);
			buf_adds(b, " does not match ");
		} else {
			buf_adds(b, "NotAction ");
			pol_add_list(b, json_object_get(st, "NotAction"), 0);
			buf_adds(b, " excludes ");
		}
		pol_add_quoted(b, req->action);
	}
	if (!sc->r) {
		if (!first)
			buf_adds(b, "; ");
		first = 0;
		if ((v = json_object_get(st, "Resource"))) {
			buf_adds(b, "Resource ");
			pol_add_list(b, v, 0);
			buf_adds(b, " does not match ");
		} else {
			buf_adds(b, "NotResource ");
			pol_add_list(b, json_object_get(st, "NotResource"), 0);
			buf_adds(b, " excludes ");
		}
		pol_add_quoted(b, req->resource);
	}
	if (!first)
		return;
	/* principal, action and resource match: the first failing condition */
	cond = json_object_get(st, "Condition");
	json_object_foreach(pol_unconst(cond), opname, kv) {
		json_object_foreach(kv, key, vals) {
			size_t before = b->len;

			if (!cond_one(opname, key, vals, req->context, b)) {
				if (b->len == before)
					buf_addf(b, "condition %s %s is not satisfied", opname, pol_esc(lbl, sizeof(lbl), key));
				if (sc->conds - sc->conds_ok > 1)
					buf_addf(b, " (and %d more failing condition%s)",
					         sc->conds - sc->conds_ok - 1,
					         sc->conds - sc->conds_ok > 2 ? "s" : "");
				return;
			}
		}
	}
}

/* the explanation, cut to out->explain with a visible "..." (a text longer
 * than b's limit is cut there first, marked too) */
static void set_explain(struct policy_result *out, struct buf *b)
{
	char *s = buf_detach_marked(b);
	size_t n = strlen(s);

	if (n < sizeof(out->explain)) {
		memcpy(out->explain, s, n + 1);
	} else {
		memcpy(out->explain, s, sizeof(out->explain) - 4);
		memcpy(out->explain + sizeof(out->explain) - 4, "...", 4);
	}
	free(s);
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
	n = pol_list_len(sts);
	for (i = 0; i < n && deny < 0; i++) {
		int is_allow;
		long s;

		st = pol_list_get(sts, i);
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
		st = pol_list_get(sts, (size_t)deny);
		out->decision = POLICY_DENY;
		out->statement = (int)deny;
		set_sid(out, st);
		buf_addf(&b, "explicitly denied by statement %s", pol_stmt_label(st, (size_t)deny, lbl, sizeof(lbl)));
	} else if (allow >= 0) {
		st = pol_list_get(sts, (size_t)allow);
		out->decision = POLICY_ALLOW;
		out->statement = (int)allow;
		set_sid(out, st);
		buf_addf(&b, "allowed by statement %s", pol_stmt_label(st, (size_t)allow, lbl, sizeof(lbl)));
	} else if (best >= 0) {
		st = pol_list_get(sts, (size_t)best);
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

int policy_eval_service(struct policy_result *out, const char *text, const char *service, const char *action,
			const char *resource, const char *const *kv, size_t nkv, struct errbuf *err)
{
	struct policy_context *pc = policy_context_new();
	struct policy_request req;
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->statement = -1;
	for (i = 0; i + 1 < nkv && !rc; i += 2)
		rc = policy_context_add(pc, kv[i], kv[i + 1], err);
	if (!rc) {
		memset(&req, 0, sizeof(req));
		req.principal.kind = PRINCIPAL_SERVICE;
		req.principal.arn = service;
		req.action = action;
		req.resource = resource;
		req.context = pc;
		rc = policy_eval_text(out, text, strlen(text), &req, err);
	}
	policy_context_free(pc);
	return rc;
}
