/* test_plan.c: property tests of `plan` over the examples and over
 * generated configs of 1 to 1000 accounts, in both modes:
 *   - every output document parses back (and is deterministic),
 *   - evaluated with a small IAM evaluator (Allow/Deny, Principal, Action,
 *     Resource globs, StringEquals/StringLike/Bool/ArnLike/ArnNotLike),
 *     each configured account's trail can PutObject under its own prefix and
 *     under no other, and an unconfigured trail can write nothing,
 *   - every ARN is well formed,
 *   - the statement set matches the mode (Sids all "Trailkeep...", unique),
 *   - the size limit error happens exactly when a policy is too large. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"
#include <jansson.h>

#include "buf.h"
#include "config.h"
#include "plan.h"
#include "banned.h"

static char tmpdir[] = "/tmp/tk-test-plan.XXXXXX";

/* ---- a tiny IAM evaluator, enough for the policies plan writes ---- */

static bool glob(const char *pat, const char *s)
{
	if (!*pat)
		return !*s;
	if (*pat == '*')
		return glob(pat + 1, s) || (*s && glob(pat, s + 1));
	if (*s && (*pat == '?' || *pat == *s))
		return glob(pat + 1, s + 1);
	return false;
}

static bool any_match(json_t *v, const char *s, bool use_glob)
{
	size_t i;
	json_t *e;

	if (json_is_string(v))
		return use_glob ? glob(json_string_value(v), s) : !strcmp(json_string_value(v), s);
	json_array_foreach(v, i, e)
		if (json_is_string(e) && (use_glob ? glob(json_string_value(e), s) : !strcmp(json_string_value(e), s)))
			return true;
	return false;
}

struct request {
	const char *action, *resource, *service;
	const char *ctx_keys[4];
	const char *ctx_vals[4];
};

static const char *ctx_get(const struct request *r, const char *k)
{
	size_t i;

	for (i = 0; i < 4 && r->ctx_keys[i]; i++)
		if (!strcmp(r->ctx_keys[i], k))
			return r->ctx_vals[i];
	return NULL;
}

static bool conditions_hold(json_t *cond, const struct request *r)
{
	const char *op, *k;
	json_t *kv, *v;

	if (!cond)
		return true;
	json_object_foreach(cond, op, kv) {
		json_object_foreach(kv, k, v) {
			const char *have = ctx_get(r, k);
			bool neg = strstr(op, "Not") != NULL;
			bool m = false;

			if (!have) {
				if (!neg)
					return false;   /* absent key: positive operators fail */
				continue;            /* negated operators hold */
			}
			if (!strcmp(op, "StringEquals") || !strcmp(op, "Bool"))
				m = any_match(v, have, false);
			else if (!strcmp(op, "StringLike") || !strcmp(op, "ArnLike") || !strcmp(op, "ArnNotLike"))
				m = any_match(v, have, true);
			else
				fail_msg("evaluator does not know condition operator '%s'", op);
			if (m == neg)
				return false;
		}
	}
	return true;
}

static bool statement_applies(json_t *st, const struct request *r)
{
	json_t *p = json_object_get(st, "Principal");

	if (json_is_string(p)) {
		if (strcmp(json_string_value(p), "*"))
			return false;
	} else if (!any_match(json_object_get(p, "Service"), r->service, false)) {
		return false;
	}
	return any_match(json_object_get(st, "Action"), r->action, true) &&
	       any_match(json_object_get(st, "Resource"), r->resource, true) &&
	       conditions_hold(json_object_get(st, "Condition"), r);
}

static bool allowed(json_t *policy, const struct request *r)
{
	json_t *st;
	size_t i;
	bool allow = false;

	json_array_foreach(json_object_get(policy, "Statement"), i, st) {
		if (!statement_applies(st, r))
			continue;
		if (!strcmp(json_string_value(json_object_get(st, "Effect")), "Deny"))
			return false;
		allow = true;
	}
	return allow;
}

static bool can_write(json_t *policy, const char *bucket, const char *prefix, const char *key_part,
		      const char *trail_arn)
{
	char *res = xasprintf("arn:aws:s3:::%s/%sAWSLogs/%s/CloudTrail/us-east-1/2024/01/01/x.json.gz",
			      bucket, prefix, key_part);
	struct request r = { "s3:PutObject", res, "cloudtrail.amazonaws.com",
			     { "aws:SourceArn", "s3:x-amz-acl", "aws:SecureTransport", NULL },
			     { trail_arn, "bucket-owner-full-control", "true", NULL } };
	bool ok = allowed(policy, &r);

	free(res);
	return ok;
}

/* ---- checks ---- */

static void check_arns(json_t *v, const char *where)
{
	const char *k;
	json_t *e;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, k, e)
			check_arns(e, where);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			check_arns(e, where);
	} else if (json_is_string(v) && !strncmp(json_string_value(v), "arn:", 4)) {
		/* arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE */
		const char *s = json_string_value(v);
		char part[6][256];
		size_t n = 0, j = 0;
		const char *p;

		memset(part, 0, sizeof(part));
		for (p = s; *p && n < 6; p++) {
			if (*p == ':' && n < 5) {
				part[n][j] = '\0';
				n++;
				j = 0;
			} else if (j < 255) {
				part[n][j++] = *p;
			}
		}
		if (n != 5)
			fail_msg("%s: malformed ARN '%s'", where, s);
		if (strcmp(part[1], "aws") && strcmp(part[1], "aws-cn") && strcmp(part[1], "aws-us-gov"))
			fail_msg("%s: bad partition in '%s'", where, s);
		if (!*part[2] || !*part[5])
			fail_msg("%s: empty service or resource in '%s'", where, s);
		if (*part[3] && strcmp(part[3], "*") && !tk_region_known(part[3]))
			fail_msg("%s: bad region in '%s'", where, s);
		if (*part[4] && strcmp(part[4], "*")) {
			for (j = 0; part[4][j]; j++)
				if (!isdigit((unsigned char)part[4][j]))
					break;
			if (j != 12 || part[4][j])
				fail_msg("%s: bad account in '%s'", where, s);
		}
		if (!strcmp(part[2], "s3") && (*part[3] || *part[4]))
			fail_msg("%s: S3 ARNs have no region or account: '%s'", where, s);
		if (strstr(s, "${") || strstr(s, "//"))
			fail_msg("%s: unrendered or doubled part in '%s'", where, s);
	}
}

static void check_plan(const struct tk_config *c, const struct plan *p)
{
	json_t *bp = plan_find(p, "central/bucket-policy.json")->doc;
	json_t *kp = plan_find(p, "central/kms-key-policy.json")->doc;
	char *prefix = c->key_prefix ? xasprintf("%s/", c->key_prefix) : xstrdup("");
	const char *foreign = "arn:aws:cloudtrail:us-east-1:999999999999:trail/other";
	bool org = c->mode == TK_MODE_ORGANIZATION;
	json_t *st, *sids = json_object();
	size_t i, nwrite = 0;

	/* every file parses back to the same document (the athena SQL files
	 * are text: written as rendered, checked by monitoring_plan.py) */
	for (i = 0; i < p->nfiles; i++) {
		char *text;
		json_error_t e;
		json_t *back;

		if (!p->files[i].doc) {
			assert_non_null(p->files[i].text);
			assert_non_null(strstr(p->files[i].path, ".sql"));
			continue;
		}
		text = plan_dump(p->files[i].doc);
		back = json_loads(text, JSON_REJECT_DUPLICATES, &e);

		if (!back)
			fail_msg("%s does not parse: %s", p->files[i].path, e.text);
		assert_true(json_equal(back, p->files[i].doc));
		assert_true(text[strlen(text) - 1] == '\n');
		check_arns(back, p->files[i].path);
		json_decref(back);
		free(text);
	}

	/* statement set of the bucket policy */
	json_array_foreach(json_object_get(bp, "Statement"), i, st) {
		const char *sid = json_string_value(json_object_get(st, "Sid"));

		assert_non_null(sid);
		assert_true(!strncmp(sid, "Trailkeep", 9));
		assert_null(json_object_get(sids, sid));
		json_object_set_new(sids, sid, json_true());
		if (any_match(json_object_get(st, "Action"), "s3:PutObject", false))
			nwrite++;
	}
	assert_non_null(json_object_get(sids, "TrailkeepAclCheck"));
	assert_non_null(json_object_get(sids, "TrailkeepDenyInsecureTransport"));
	assert_non_null(json_object_get(sids, "TrailkeepDenyLogDeletion"));
	assert_non_null(json_object_get(sids, "TrailkeepDenyProtectionChanges"));
	if (org) {
		assert_int_equal(nwrite, 2);
		assert_non_null(json_object_get(sids, "TrailkeepOrgWrite"));
		assert_non_null(json_object_get(sids, "TrailkeepManagementWrite"));
		assert_int_equal(json_object_size(sids), 6);
		assert_int_equal(p->ntrails, 1);
	} else {
		assert_int_equal(nwrite, c->naccounts);
		assert_int_equal(json_object_size(sids), 4 + c->naccounts);
		assert_int_equal(p->ntrails, c->naccounts);
	}
	json_decref(sids);

	/* who can write where */
	if (org) {
		char *arn = config_trail_arn(c, c->management_account);
		char *part;

		part = xstrdup(c->management_account);
		assert_true(can_write(bp, c->bucket, prefix, part, arn));
		free(part);
		for (i = 0; i < c->naccounts; i++) {
			part = xasprintf("%s/%s", c->org_id, c->accounts[i].id);
			assert_true(can_write(bp, c->bucket, prefix, part, arn));
			assert_false(can_write(bp, c->bucket, prefix, part, foreign));
			free(part);
			if (strcmp(c->accounts[i].id, c->management_account))
				assert_false(can_write(bp, c->bucket, prefix, c->accounts[i].id, arn));
		}
		assert_false(can_write(bp, c->bucket, prefix, "o-zzzzzzzzzz/123456789012", arn));
		assert_false(can_write(bp, c->bucket, "", "999999999999", arn) && c->key_prefix);
		free(arn);
	} else {
		for (i = 0; i < c->naccounts; i++) {
			char *arn = config_trail_arn(c, c->accounts[i].id);
			const char *other = c->accounts[(i + 1) % c->naccounts].id;

			if (!can_write(bp, c->bucket, prefix, c->accounts[i].id, arn))
				fail_msg("account %s cannot write its own prefix", c->accounts[i].id);
			if (c->naccounts > 1 && can_write(bp, c->bucket, prefix, other, arn))
				fail_msg("account %s can write the prefix of %s", c->accounts[i].id, other);
			assert_false(can_write(bp, c->bucket, prefix, "999999999999", arn));
			assert_false(can_write(bp, c->bucket, prefix, c->accounts[i].id, foreign));
			free(arn);
		}
	}

	/* key policy: root kept, CloudTrail encrypt pinned, decrypt separate */
	{
		bool root = false, enc = false, dec = false;

		json_array_foreach(json_object_get(kp, "Statement"), i, st) {
			const char *sid = json_string_value(json_object_get(st, "Sid"));
			json_t *cond = json_object_get(st, "Condition");

			assert_true(!strncmp(sid, "Trailkeep", 9));
			if (!strcmp(sid, "TrailkeepEnableIAMUserPermissions"))
				root = true;
			if (json_object_get(json_object_get(st, "Principal"), "Service") &&
			    any_match(json_object_get(st, "Action"), "kms:GenerateDataKey", true)) {
				enc = true;
				assert_non_null(json_object_get(json_object_get(cond, "StringEquals"), "aws:SourceArn"));
				assert_non_null(json_object_get(json_object_get(cond, "StringLike"),
								"kms:EncryptionContext:aws:cloudtrail:arn"));
				assert_non_null(json_object_get(json_object_get(st, "Principal"), "Service"));
			}
			/* nobody but decrypt_principals (and the root statement) may decrypt */
			if (strcmp(sid, "TrailkeepEnableIAMUserPermissions") &&
			    any_match(json_object_get(st, "Action"), "kms:Decrypt", true)) {
				dec = true;
				assert_null(json_object_get(json_object_get(st, "Principal"), "Service"));
			}
		}
		assert_true(root && enc);
		assert_true(dec == (c->decrypt_principals.n > 0));
	}
	free(prefix);
}

static char *gen_config(size_t n, bool org, bool with_prefix)
{
	struct buf b;
	size_t i;

	buf_init(&b, 1 << 24);
	buf_addf(&b, "[organization]\n%smanagement_account = 100000000000\nhome_region = us-east-1\n"
		 "regions = us-east-1, eu-west-1\n[central]\nbucket = gen-logs\n%s"
		 "decrypt_principals = arn:aws:iam::100000000000:role/Audit\n"
		 "break_glass_principals = arn:aws:iam::100000000000:role/Admin\n"
		 "[trail]\nmode = %s\n",
		 org ? "id = o-abcdefghij\n" : "", with_prefix ? "key_prefix = ct/logs\n" : "",
		 org ? "organization" : "per-account");
	for (i = 0; i < n; i++)
		buf_addf(&b, "[account a%zu]\nid = %012zu\n", i, (size_t)100000000000 + i);
	return buf_detach(&b);
}

static void run_config_text(const char *text, size_t n_expect)
{
	char *path = xasprintf("%s/gen.ini", tmpdir);
	struct tk_config c;
	struct tk_diags d;
	struct errbuf err;
	struct plan p, p2;
	struct plan_opts o = { "templates", true };
	int rc;

	tu_write_file(path, text, strlen(text));
	if (config_load(&c, path, &d, &err) < 0)
		fail_msg("%s", d.n ? d.v[0] : err.msg);
	assert_int_equal(c.naccounts, n_expect);
	if (plan_build(&p, &c, &o, &err) < 0)
		fail_msg("%s", err.msg);
	check_plan(&c, &p);
	/* the limits: an error exactly when a policy is too large */
	o.no_limits = false;
	rc = plan_build(&p2, &c, &o, &err);
	if (p.bucket_policy_size > TK_BUCKET_POLICY_LIMIT || p.key_policy_size > TK_KEY_POLICY_LIMIT) {
		assert_int_equal(rc, TK_ELIMIT);
		assert_non_null(strstr(err.msg, "limit of"));
		assert_non_null(strstr(err.msg, c.mode == TK_MODE_PER_ACCOUNT ? "use mode = organization" : ":"));
	} else {
		assert_int_equal(rc, 0);
		assert_int_equal(p2.nfiles, p.nfiles);
		plan_release(&p2);
	}
	plan_release(&p);
	config_release(&c);
	free(path);
}

static void test_generated(void **state)
{
	static const size_t sizes[] = { 1, 2, 3, 7, 25, 40, 60, 100, 333, 1000 };
	size_t i;
	int org, pfx;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (org = 0; org < 2; org++)
			for (pfx = 0; pfx < 2; pfx++) {
				char *t = gen_config(sizes[i], org, pfx);

				run_config_text(t, sizes[i]);
				free(t);
			}
}

/* the per-account limit is crossed somewhere between 25 and 100 accounts:
 * both sides are covered above; check the crossing really happens */
static void test_limit_crossing(void **state)
{
	char *path = xasprintf("%s/big.ini", tmpdir);
	char *t = gen_config(1000, false, false);
	struct tk_config c;
	struct tk_diags d;
	struct errbuf err;
	struct plan p;
	struct plan_opts o = { "templates", false };

	(void)state;
	tu_write_file(path, t, strlen(t));
	assert_int_equal(config_load(&c, path, &d, &err), 0);
	assert_int_equal(plan_build(&p, &c, &o, &err), TK_ELIMIT);
	assert_non_null(strstr(err.msg, "over S3's limit of 20480 bytes (20 KB): use mode = organization"));
	config_release(&c);
	free(t);
	free(path);
}

static const json_t *statement(const json_t *policy, const char *sid)
{
	size_t i;
	const json_t *st;

	json_array_foreach(json_object_get(policy, "Statement"), i, st)
		if (!strcmp(json_string_value(json_object_get(st, "Sid")), sid))
			return st;
	fail_msg("no statement %s", sid);
	return NULL;
}

static bool arn_listed(const json_t *st, const char *arn)
{
	const json_t *v = json_object_get(json_object_get(json_object_get(st, "Condition"), "ArnNotLike"),
					  "aws:PrincipalArn");
	size_t i;
	const json_t *e;

	if (json_is_string(v))
		return !strcmp(json_string_value(v), arn);
	json_array_foreach(v, i, e)
		if (!strcmp(json_string_value(e), arn))
			return true;
	return false;
}

/* apply_principals may change the bucket's policy and protection settings
 * (so a later apply by them is not denied), but not delete logs. */
static void test_apply_principals(void **state)
{
	static const char text[] =
		"[organization]\nmanagement_account = 100000000000\nhome_region = us-east-1\n"
		"[central]\nbucket = gen-logs\n"
		"break_glass_principals = arn:aws:iam::100000000000:role/Admin\n"
		"apply_principals = arn:aws:iam::100000000000:role/Deployer, arn:aws:iam::100000000000:user/ci\n"
		"[account main]\nid = 100000000000\n";
	static const char bad[] =
		"[organization]\nmanagement_account = 100000000000\n[central]\nbucket = gen-logs\n"
		"apply_principals = Deployer\n[account main]\nid = 100000000000\n";
	char *path = xasprintf("%s/apply.ini", tmpdir);
	struct tk_config c;
	struct tk_diags d;
	struct errbuf err;
	struct plan p;
	struct plan_opts o = { "templates", false };
	const json_t *bp, *prot, *del;

	(void)state;
	tu_write_file(path, text, strlen(text));
	if (config_load(&c, path, &d, &err) < 0)
		fail_msg("%s", d.n ? d.v[0] : err.msg);
	assert_int_equal(c.apply_principals.n, 2);
	if (plan_build(&p, &c, &o, &err) < 0)
		fail_msg("%s", err.msg);
	bp = plan_find(&p, "central/bucket-policy.json")->doc;
	prot = statement(bp, "TrailkeepDenyProtectionChanges");
	del = statement(bp, "TrailkeepDenyLogDeletion");
	assert_true(arn_listed(prot, "arn:aws:iam::100000000000:role/Deployer"));
	assert_true(arn_listed(prot, "arn:aws:iam::100000000000:user/ci"));
	assert_true(arn_listed(prot, "arn:aws:iam::100000000000:role/Admin"));
	assert_true(arn_listed(prot, "arn:aws:iam::100000000000:role/OrganizationAccountAccessRole"));
	assert_false(arn_listed(del, "arn:aws:iam::100000000000:role/Deployer"));
	assert_true(arn_listed(del, "arn:aws:iam::100000000000:role/Admin"));
	plan_release(&p);
	config_release(&c);

	tu_write_file(path, bad, strlen(bad));
	assert_true(config_load(&c, path, &d, &err) < 0);
	assert_true(d.n >= 1);
	assert_non_null(strstr(d.v[0], "apply_principals"));
	assert_non_null(strstr(d.v[0], "apply.ini:5"));
	diags_release(&d);
	free(path);
}

static void test_examples(void **state)
{
	static const char *const ex[] = { "examples/org.ini", "examples/per-account.ini", "examples/minimal.ini" };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		struct tk_config c;
		struct tk_diags d;
		struct errbuf err;
		struct plan p;
		struct plan_opts o = { "templates", false };

		if (config_load(&c, ex[i], &d, &err) < 0)
			fail_msg("%s: %s", ex[i], d.n ? d.v[0] : err.msg);
		if (plan_build(&p, &c, &o, &err) < 0)
			fail_msg("%s", err.msg);
		check_plan(&c, &p);
		plan_release(&p);
		config_release(&c);
	}
}

static int setup(void **state)
{
	(void)state;
	return tu_mkdtemp(tmpdir);
}

static int teardown(void **state)
{
	(void)state;
	return tu_rmtree(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_generated),
		cmocka_unit_test(test_limit_crossing),
		cmocka_unit_test(test_apply_principals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
