/* apply_merge.c: apply's pure functions on documents (apply.h, apply_int.h):
 * statement ownership and the policy merge, the key policy lock-out check,
 * the lifecycle merge, the plan's JSON as S3 XML and the canonical form of
 * S3's XML answers.  No I/O. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "apply_int.h"
#include "buf.h"
#include "policy.h"
#include "s3.h"
#include "xml.h"
#include "banned.h"

/* ---- statement ownership ---- */

bool apply_sid_owned(const char *sid)
{
	return sid && !strncmp(sid, APPLY_SID_PREFIX, strlen(APPLY_SID_PREFIX));
}

static bool statement_owned(const json_t *st)
{
	return json_is_object(st) && apply_sid_owned(json_string_value(json_object_get(st, "Sid")));
}

int apply_merge_policy(json_t **out, const json_t *current, const json_t *desired, const char *subject,
		       struct errbuf *err)
{
	json_t *res, *sts, *cur, *want, *st, *d;
	size_t i, j, n, nwant, insert_at = SIZE_MAX;
	bool *placed = NULL;
	int rc = 0;

	*out = NULL;
	want = json_object_get(desired, "Statement");
	if (!json_is_object(desired) || !json_is_array(want))
		return err_set(err, TK_EUSAGE, "the planned %s has no Statement list", subject);
	nwant = json_array_size(want);
	for (j = 0; j < nwant; j++)
		if (!statement_owned(json_array_get(want, j)))
			return err_set(err, TK_EUSAGE, "statement %zu of the planned %s has no Sid starting with "
				       "'%s': apply could not recognise it as its own", j + 1, subject,
				       APPLY_SID_PREFIX);
	if (!current) {
		*out = json_deep_copy(desired);
		return 0;
	}
	cur = json_object_get(current, "Statement");
	if (!json_is_object(current) || !(json_is_array(cur) || json_is_object(cur)))
		return err_set(err, TK_EUSAGE, "the current %s is not a policy document (no Statement): "
			       "not changing it", subject);
	placed = xcalloc(nwant ? nwant : 1, sizeof(*placed));
	res = json_deep_copy(current);
	json_object_set_new(res, "Version", json_deep_copy(json_object_get(desired, "Version")));   /* a copy: desired may be the plan's, shared by threads */
	sts = json_array();
	n = json_is_array(cur) ? json_array_size(cur) : 1;
	for (i = 0; i < n; i++) {
		const char *sid;

		st = json_is_array(cur) ? json_array_get(cur, i) : cur;
		if (!statement_owned(st)) {
			json_array_append(sts, st);   /* adds a reference: the foreign statement as it is */
			continue;
		}
		/* an owned statement: the planned one with the same Sid takes its
		 * place; one the plan no longer has is dropped */
		sid = json_string_value(json_object_get(st, "Sid"));
		for (j = 0; j < nwant; j++) {
			d = json_array_get(want, j);
			if (!placed[j] && !strcmp(sid, json_string_value(json_object_get(d, "Sid"))))
				break;
		}
		if (j < nwant) {
			json_array_append_new(sts, json_deep_copy(json_array_get(want, j)));   /* a copy */
			placed[j] = true;
		}
		insert_at = json_array_size(sts);
	}
	/* planned statements not placed yet: after the last owned statement,
	 * or at the end */
	if (insert_at == SIZE_MAX)
		insert_at = json_array_size(sts);
	for (j = 0; j < nwant; j++)
		if (!placed[j])
			json_array_insert_new(sts, insert_at++, json_deep_copy(json_array_get(want, j)));   /* a copy */
	json_object_set_new(res, "Statement", sts);   /* steals */
	*out = res;
	free(placed);
	return rc;
}

/* ---- the lock-out check ---- */

static int glob_ci(const char *p, const char *s)
{
	const char *star = NULL, *ss = NULL;

	while (*s) {
		if (*p == '*') {
			star = p++;
			ss = s;
		} else if (*p == '?' || tolower((unsigned char)*p) == tolower((unsigned char)*s)) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++ss;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* Does a string-or-list value contain a pattern matching s? */
static bool list_matches(const json_t *v, const char *s)
{
	size_t i;

	if (json_is_string(v))
		return glob_ci(json_string_value(v), s);
	if (json_is_array(v))
		for (i = 0; i < json_array_size(v); i++)
			if (json_is_string(json_array_get(v, i)) && glob_ci(json_string_value(json_array_get(v, i)), s))
				return true;
	return false;
}

static bool names_root(const json_t *principal, const char *root_arn, const char *account, bool any)
{
	const json_t *aws;
	size_t i, n;

	if (json_is_string(principal))
		return any && !strcmp(json_string_value(principal), "*");
	aws = json_object_get(principal, "AWS");
	n = json_is_array(aws) ? json_array_size(aws) : 1;
	for (i = 0; i < n; i++) {
		const char *s = json_string_value(json_is_array(aws) ? json_array_get(aws, i) : aws);

		if (!s)
			continue;
		if (!strcmp(s, root_arn) || !strcmp(s, account) || (any && !strcmp(s, "*")))
			return true;
	}
	return false;
}

int apply_check_key_policy(const json_t *policy, const char *partition, const char *account,
			   const char *subject, struct errbuf *err)
{
	const json_t *sts = json_object_get(policy, "Statement"), *st;
	char *root = xasprintf("arn:%s:iam::%s:root", partition ? partition : "aws", account);
	size_t i, n = json_is_array(sts) ? json_array_size(sts) : 1;
	struct policy_request req;
	struct policy_result res;
	struct errbuf perr;
	bool allowed = false;
	int rc = 0;

	/* 1. the policy evaluator (policy.h): may the root call PutKeyPolicy
	 * with no request context at all? */
	memset(&req, 0, sizeof(req));
	req.principal.kind = PRINCIPAL_AWS;
	req.principal.arn = root;
	req.principal.account = account;
	req.action = "kms:PutKeyPolicy";
	req.resource = NULL;
	if (policy_eval(&res, policy, &req, &perr) < 0) {
		rc = err_set(err, TK_EUSAGE, "%s is not a valid policy: %s", subject, perr.msg);
		goto done;
	}
	if (res.decision != POLICY_ALLOW) {
		rc = err_set(err, TK_EUSAGE, "%s would lock out the account root '%s' (kms:PutKeyPolicy: %s)", subject,
			     root, res.explain);
		goto done;
	}
	/* 2. structurally: an unconditional Allow naming the root (an Allow that
	 * only works with some request context is not enough) */
	for (i = 0; i < n; i++) {
		const char *effect;

		st = json_is_array(sts) ? json_array_get(sts, i) : sts;
		if (!json_is_object(st))
			continue;
		effect = json_string_value(json_object_get(st, "Effect"));
		if (effect && !strcmp(effect, "Allow") && !json_object_get(st, "Condition") &&
		    list_matches(json_object_get(st, "Action"), "kms:PutKeyPolicy") &&
		    names_root(json_object_get(st, "Principal"), root, account, false))
			allowed = true;
	}
	if (!allowed)
		rc = err_set(err, TK_EUSAGE, "%s would lock out the account root: no statement without a "
			     "condition allows '%s' kms:PutKeyPolicy (keep the root statement)", subject, root);
done:
	free(root);
	return rc;
}

static bool rule_owned(const json_t *rule)
{
	const json_t *id = json_object_get(rule, "ID");

	return json_is_string(id) && apply_sid_owned(json_string_value(id));
}

/* The rules of a canonical (xml_canon) LifecycleConfiguration: "Rule" is one
 * object or a list. */
size_t ap_lifecycle_rules_of(const json_t *canon)
{
	const json_t *r = json_object_get(canon, "Rule");

	return json_is_array(r) ? json_array_size(r) : r ? 1 : 0;
}

json_t *apply_lifecycle_merge(const json_t *cur_canon, const json_t *planned_rules)
{
	json_t *out = json_object(), *rules = json_array(), *x;
	const json_t *cr = json_object_get(cur_canon, "Rule");
	size_t i, n = ap_lifecycle_rules_of(cur_canon);

	for (i = 0; i < n; i++) {
		const json_t *rule = json_is_array(cr) ? json_array_get(cr, i) : cr;

		if (!rule_owned(rule))
			json_array_append(rules, (json_t *)(uintptr_t)rule);   /* adds a reference */
	}
	json_array_foreach(planned_rules, i, x)
		json_array_append(rules, x);   /* adds a reference */
	json_object_set_new(out, "Rules", rules);   /* steals */
	return out;
}

/* ---- documents ---- */

const json_t *ap_plan_doc(const struct plan *p, const char *path)
{
	const struct plan_file *f = plan_find(p, path);

	return f ? f->doc : NULL;
}

int ap_parse_json_text(json_t **out, const char *text, const char *subject, struct errbuf *err)
{
	json_error_t je;
	size_t n = strlen(text);

	if (n > MAX_POLICY_TEXT)
		return err_set(err, TK_ELIMIT, "%s is %zu bytes, over the limit of %u", subject, n, MAX_POLICY_TEXT);
	*out = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
	if (!*out)
		return err_set(err, TK_EFAIL, "cannot parse %s: %s at line %d", subject, je.text, je.line);
	return 0;
}

char *ap_dump_compact(const json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);

	return s ? s : xstrdup("{}");
}

/* JSON (the plan's form of an S3 configuration) -> XML elements: "Rules"
 * lists become repeated "Rule" elements; object keys in sorted order. */
static int json_xml(struct buf *b, const char *name, const json_t *v)
{
	const char *el = !strcmp(name, "Rules") ? "Rule" : name;
	char num[32];
	size_t i, n;
	int rc = 0;

	if (json_is_array(v)) {
		for (i = 0; i < json_array_size(v) && !rc; i++)
			rc = json_xml(b, name, json_array_get(v, i));
		return rc;
	}
	if (json_is_object(v)) {
		const char **keys;
		const char *k;
		json_t *x;

		n = json_object_size(v);
		keys = xcalloc(n ? n : 1, sizeof(*keys));
		i = 0;
		json_object_foreach((json_t *)(uintptr_t)v, k, x)
			keys[i++] = k;
		for (i = 1; i < n; i++) {   /* insertion sort: a handful of keys */
			const char *t = keys[i];
			size_t j = i;

			while (j > 0 && strcmp(keys[j - 1], t) > 0) {
				keys[j] = keys[j - 1];
				j--;
			}
			keys[j] = t;
		}
		rc |= xml_open(b, el, NULL);
		for (i = 0; i < n && !rc; i++)
			rc |= json_xml(b, keys[i], json_object_get(v, keys[i]));
		rc |= xml_close(b, el);
		free(keys);
		return rc ? TK_ELIMIT : 0;
	}
	if (json_is_string(v))
		return xml_elem(b, el, json_string_value(v)) ? TK_ELIMIT : 0;
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return xml_elem(b, el, num) ? TK_ELIMIT : 0;
	}
	if (json_is_boolean(v))
		return xml_elem(b, el, json_is_true(v) ? "true" : "false") ? TK_ELIMIT : 0;
	return 0;
}

int ap_config_xml(struct buf *b, const char *root, const json_t *cfg)
{
	const char *k;
	json_t *v;
	int rc = 0;

	rc |= buf_adds(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
	rc |= xml_open(b, root, S3_XMLNS);
	json_object_foreach((json_t *)(uintptr_t)cfg, k, v)
		if (!rc)
			rc |= json_xml(b, k, v);
	rc |= xml_close(b, root);
	return rc ? TK_ELIMIT : 0;
}

static int cmp_json_text(const void *x, const void *y)
{
	char *a = ap_dump_compact(*(json_t *const *)x), *b = ap_dump_compact(*(json_t *const *)y);
	int c = strcmp(a, b);

	free(a);
	free(b);
	return c;
}

/* The canonical JSON form of an XML element tree: leaves are their text,
 * repeated children become a sorted list; order of elements never matters. */
json_t *ap_xml_canon(const struct xml_node *n)
{
	const struct xml_node *c;
	json_t *o, *v, *prev, *a, *lists;
	const char *k;

	if (!n->child)
		return json_string(n->text ? n->text : "");
	o = json_object();
	lists = json_object();   /* names whose values became lists here */
	for (c = n->child; c; c = c->next) {
		v = ap_xml_canon(c);
		prev = json_object_get(o, c->name);
		if (!prev) {
			json_object_set_new(o, c->name, v);   /* steals */
		} else if (json_object_get(lists, c->name)) {
			json_array_append_new(prev, v);       /* steals */
		} else {
			a = json_array();
			json_array_append(a, prev);            /* adds a reference */
			json_array_append_new(a, v);           /* steals */
			json_object_set_new(o, c->name, a);    /* steals a; prev lives on in a */
			json_object_set_new(lists, c->name, json_true());
		}
	}
	/* sort every list made above: element order never matters here */
	json_object_foreach(lists, k, v) {
		json_t *l = json_object_get(o, k), **items, *sorted;
		size_t i, m = json_array_size(l);

		items = xcalloc(m ? m : 1, sizeof(*items));
		for (i = 0; i < m; i++)
			items[i] = json_array_get(l, i);
		qsort(items, m, sizeof(*items), cmp_json_text);
		sorted = json_array();
		for (i = 0; i < m; i++)
			json_array_append(sorted, items[i]);   /* adds a reference */
		free(items);
		json_object_set_new(o, k, sorted);         /* steals */
	}
	json_decref(lists);
	return o;
}

json_t *ap_xml_text_canon(const char *xml, struct errbuf *err)
{
	struct xml_doc d;
	json_t *j;

	if (xml_parse(&d, xml, strlen(xml), err) < 0)
		return NULL;
	j = ap_xml_canon(d.root);
	xml_doc_release(&d);
	return j;
}
