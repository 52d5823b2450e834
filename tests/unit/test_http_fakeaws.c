/* test_http_fakeaws.c: every typed client (S3, KMS, CloudTrail, STS,
 * Organizations, Account Management, the per-account AssumeRole cache) against the local fake
 * AWS (tests/fakeaws, spawned here on 127.0.0.1), which checks each
 * request's SigV4 signature with botocore and rejects bad ones.  The fake's
 * auth clock and ours are pinned to 2026-01-01T00:00:00Z. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"
#include "account.h"
#include "aws.h"
#include "cloudtrail.h"
#include "creds_net.h"
#include "kms.h"
#include "orgs.h"
#include "s3.h"
#include "sts.h"
#include "trail_reads.h"

#define NOW 1767225600   /* 2026-01-01T00:00:00Z */
#define MGMT "111111111111"
#define BUCKET "tk-transport-test"

static struct tu_server fake;
static char *fake_url;
static struct http_pool *pool;
static struct endpoint_config epcfg;
static struct aws_ctx ctx;          /* management account, us-east-1 */
static struct aws_creds mgmt;
static char *org_id;

static time_t clock_fn(void *ud)
{
	(void)ud;
	return NOW;
}

static void no_sleep(void *ud, long ms)
{
	(void)ud;
	(void)ms;
}

/* POST /_fake/NAME on the fake AWS of this test */
static json_t *control(const char *name, const char *body)
{
	return tu_fakeaws_control(pool, fake_url, name, body);
}

static int setup(void **state)
{
	struct aws_ctx_options o;
	struct errbuf err;
	json_t *org, *accts, *a;
	size_t i;

	(void)state;
	if (tu_fakeaws_start(&fake, "5"))
		return -1;
	fake_url = xasprintf("http://127.0.0.1:%d", fake.port);
	if (http_pool_new(&pool, NULL, &err))
		return -1;
	json_decref(control("set_auth_clock", "{\"time\": 1767225600}"));
	org = control("seed_org", "{\"members\": 2}");
	if (!org)
		return -1;
	org_id = aws_json_strdup(org, "org_id");
	accts = json_object_get(org, "accounts");
	json_array_foreach(accts, i, a) {
		const char *id = json_string_value(json_object_get(a, "account"));
		if (!id)
			id = json_string_value(json_object_get(a, "id"));
		if (id && !strcmp(id, MGMT)) {
			mgmt.access_key_id = aws_json_strdup(a, "access_key_id");
			mgmt.secret_access_key = aws_json_strdup(a, "secret_access_key");
			mgmt.session_token = aws_json_strdup(a, "session_token");
		}
	}
	json_decref(org);
	if (!mgmt.access_key_id)
		return -1;
	epcfg.cli_url = fake_url;
	memset(&o, 0, sizeof(o));
	o.http = pool;
	o.creds = &mgmt;
	o.region = "us-east-1";
	o.endpoints = &epcfg;
	o.clock = clock_fn;
	o.sleep_ms = no_sleep;
	o.seed = 3;
	return aws_ctx_init(&ctx, &o, &err) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	aws_ctx_release(&ctx);
	aws_creds_release(&mgmt);
	http_pool_free(pool);
	tu_server_stop(&fake);
	free(fake_url);
	free(org_id);
	return 0;
}

#define OK(call)                                                        \
	do {                                                            \
		struct errbuf e_;                                       \
		int rc_ = (call);                                       \
		(void)e_;                                               \
		if (rc_)                                                \
			fail_msg("%s: %d: %s", #call, rc_, err.msg);    \
	} while (0)

static void test_sts_and_orgs(void **state)
{
	struct errbuf err;
	struct sts_identity id;
	struct org_info oi;
	struct org_account *acc;
	size_t n, i;
	int found = 0;

	(void)state;
	OK(sts_get_caller_identity(&ctx, &id, &err));
	assert_string_equal(id.account, MGMT);
	sts_identity_release(&id);
	OK(orgs_describe_organization(&ctx, &oi, &err));
	assert_string_equal(oi.id, org_id);
	assert_string_equal(oi.master_account_id, MGMT);
	assert_string_equal(oi.feature_set, "ALL");
	org_info_release(&oi);
	OK(orgs_list_accounts(&ctx, &acc, &n, &err));
	assert_int_equal(n, 4);
	for (i = 0; i < n; i++)
		found += !strcmp(acc[i].id, "222222222222") && !strcmp(acc[i].status, "ACTIVE");
	assert_int_equal(found, 1);
	org_accounts_free(acc, n);
}

static void test_account_role(void **state)
{
	struct errbuf err;
	struct creds_net_config c = { .http = pool, .endpoints = &epcfg, .clock = clock_fn, .seed = 1 };
	struct creds_net *net = creds_net_new(&c);
	struct aws_creds ac;
	struct aws_ctx other;
	struct sts_identity id;

	(void)state;
	OK(aws_account_creds(net, &mgmt, "aws", "222222222222", "OrganizationAccountAccessRole", NULL, "us-east-1",
			     &ac, &err));
	assert_non_null(ac.session_token);
	assert_true(ac.expiration > NOW);
	OK(aws_ctx_clone(&other, &ctx, NULL, &ac, &err));
	OK(sts_get_caller_identity(&other, &id, &err));
	assert_string_equal(id.account, "222222222222");
	sts_identity_release(&id);
	aws_ctx_release(&other);
	aws_creds_release(&ac);
	/* a role that does not exist: AccessDenied from STS */
	assert_int_equal(aws_account_creds(net, &mgmt, "aws", "222222222222", "NoSuchRole", NULL, "us-east-1", &ac,
					   &err), TK_EAUTH);
	assert_non_null(strstr(err.msg, "sts AssumeRole 'arn:aws:iam::222222222222:role/NoSuchRole': 403 AccessDenied"));
	assert_null(strstr(err.msg, mgmt.secret_access_key));
	creds_net_free(net);
}

static void test_s3_bucket_settings(void **state)
{
	struct errbuf err;
	char *s = NULL, *s2 = NULL;
	struct s3_encryption enc;
	struct s3_pab pab = { 1, 1, 1, 1 }, got;
	struct s3_object_lock lock;
	struct xml_doc lc;
	struct buf lx;
	char *policy;

	(void)state;
	OK(s3_create_bucket(&ctx, BUCKET, "us-east-1", false, &err));
	OK(s3_create_bucket(&ctx, BUCKET "-logs", "us-east-1", false, &err));
	OK(s3_head_bucket(&ctx, BUCKET, &s, &err));
	free(s);
	OK(s3_get_bucket_location(&ctx, BUCKET, &s, &err));
	assert_string_equal(s, "us-east-1");
	free(s);
	assert_int_equal(s3_head_bucket(&ctx, "tk-no-such-bucket", NULL, &err), TK_ENOTFOUND);
	assert_int_equal(s3_get_bucket_policy(&ctx, BUCKET, &s, &err), TK_ENOTFOUND);
	assert_string_equal(ctx.last_error.code, "NoSuchBucketPolicy");
	policy = xasprintf("{\"Version\":\"2012-10-17\",\"Statement\":["
			   "{\"Sid\":\"AWSCloudTrailAclCheck\",\"Effect\":\"Allow\",\"Principal\":{\"Service\":"
			   "\"cloudtrail.amazonaws.com\"},\"Action\":\"s3:GetBucketAcl\",\"Resource\":\"arn:aws:s3:::%s\"},"
			   "{\"Sid\":\"AWSCloudTrailWrite\",\"Effect\":\"Allow\",\"Principal\":{\"Service\":"
			   "\"cloudtrail.amazonaws.com\"},\"Action\":\"s3:PutObject\",\"Resource\":"
			   "\"arn:aws:s3:::%s/AWSLogs/%s/*\",\"Condition\":{\"StringEquals\":"
			   "{\"s3:x-amz-acl\":\"bucket-owner-full-control\"}}}]}", BUCKET, BUCKET, MGMT);
	OK(s3_put_bucket_policy(&ctx, BUCKET, policy, &err));
	OK(s3_get_bucket_policy(&ctx, BUCKET, &s, &err));
	assert_non_null(strstr(s, "AWSCloudTrailWrite"));
	free(s);
	free(policy);
	OK(s3_get_versioning(&ctx, BUCKET, &s, &s2, &err));
	assert_string_equal(s, "");
	free(s);
	free(s2);
	OK(s3_put_versioning(&ctx, BUCKET, "Enabled", &err));
	OK(s3_get_versioning(&ctx, BUCKET, &s, NULL, &err));
	assert_string_equal(s, "Enabled");
	free(s);
	OK(s3_put_encryption(&ctx, BUCKET, "AES256", NULL, false, &err));
	OK(s3_get_encryption(&ctx, BUCKET, &enc, &err));
	assert_string_equal(enc.algorithm, "AES256");
	assert_null(enc.kms_key_id);
	s3_encryption_release(&enc);
	OK(s3_put_public_access_block(&ctx, BUCKET, &pab, &err));
	OK(s3_get_public_access_block(&ctx, BUCKET, &got, &err));
	assert_int_equal(got.block_public_acls, 1);
	assert_int_equal(got.restrict_public_buckets, 1);
	OK(s3_put_ownership_controls(&ctx, BUCKET, "BucketOwnerEnforced", &err));
	OK(s3_get_ownership_controls(&ctx, BUCKET, &s, &err));
	assert_string_equal(s, "BucketOwnerEnforced");
	free(s);
	buf_init(&lx, 1 << 16);
	OK(s3_lifecycle_xml(&lx, "trailkeep-retention", 2555, 90));
	OK(s3_put_lifecycle(&ctx, BUCKET, buf_cstr(&lx), &err));
	buf_release(&lx);
	OK(s3_get_lifecycle(&ctx, BUCKET, &lc, &err));
	assert_string_equal(xml_path_text(lc.root, "Rule/Expiration/Days"), "2555");
	assert_string_equal(xml_path_text(lc.root, "Rule/ID"), "trailkeep-retention");
	xml_doc_release(&lc);
	OK(s3_get_logging(&ctx, BUCKET, &s, NULL, &err));
	assert_null(s);
	OK(s3_put_logging(&ctx, BUCKET, BUCKET "-logs", "access/", &err));
	OK(s3_get_logging(&ctx, BUCKET, &s, &s2, &err));
	assert_string_equal(s, BUCKET "-logs");
	assert_string_equal(s2, "access/");
	free(s);
	free(s2);
	assert_int_equal(s3_get_object_lock(&ctx, BUCKET, &lock, &err), TK_ENOTFOUND);
	s3_object_lock_release(&lock);
}

struct names {
	int n;
	int prefixes;
	char last[256];
};

static int on_obj(void *ud, const struct s3_object *o)
{
	struct names *nm = ud;

	/* keys ascending */
	if (nm->n && strcmp(nm->last, o->key) >= 0)
		return TK_EFAIL;
	snprintf(nm->last, sizeof(nm->last), "%s", o->key);
	nm->n++;
	return 0;
}

static int stop_after_two(void *ud, const struct s3_object *o)
{
	(void)o;
	return ++((struct names *)ud)->n >= 2 ? 1 : 0;
}

static int on_prefix(void *ud, const char *p)
{
	(void)p;
	((struct names *)ud)->prefixes++;
	return 0;
}

static int sink(void *ud, const void *d, size_t n)
{
	return buf_add(ud, d, n);
}

static void test_s3_objects(void **state)
{
	static const char *const keys[] = { "AWSLogs/a.json", "AWSLogs/b c+d=e~f.json", "AWSLogs/x/\xc3\xbc.json",
					    "AWSLogs/x/y.json", "other/z", "top" };
	struct errbuf err;
	struct s3_meta m;
	struct buf b;
	struct names nm;
	struct s3_list_params lp;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		OK(s3_put_object(&ctx, BUCKET, keys[i], keys[i], strlen(keys[i]), "application/json", &err));
	OK(s3_head_object(&ctx, BUCKET, keys[1], &m, &err));
	assert_int_equal(m.content_length, (long long)strlen(keys[1]));
	assert_non_null(m.etag);
	s3_meta_release(&m);
	buf_init(&b, 4096);
	OK(s3_get_object(&ctx, BUCKET, keys[2], sink, &b, &m, &err));
	assert_string_equal(buf_cstr(&b), keys[2]);
	s3_meta_release(&m);
	buf_release(&b);
	buf_init(&b, 4096);
	assert_int_equal(s3_get_object_buf(&ctx, BUCKET, "AWSLogs/missing", &b, NULL, &err), TK_ENOTFOUND);
	assert_string_equal(ctx.last_error.code, "NoSuchKey");
	buf_release(&b);
	/* v2, two keys a page: every key once, ascending */
	memset(&nm, 0, sizeof(nm));
	memset(&lp, 0, sizeof(lp));
	lp.max_keys = 2;
	lp.on_object = on_obj;
	lp.ud = &nm;
	OK(s3_list_objects(&ctx, BUCKET, &lp, &err));
	assert_int_equal(nm.n, 6);
	/* v1 with a prefix */
	memset(&nm, 0, sizeof(nm));
	lp.v1 = true;
	lp.prefix = "AWSLogs/";
	OK(s3_list_objects(&ctx, BUCKET, &lp, &err));
	assert_int_equal(nm.n, 4);
	/* delimiter: two keys and one common prefix under AWSLogs/ */
	memset(&nm, 0, sizeof(nm));
	lp.v1 = false;
	lp.delimiter = "/";
	lp.max_keys = 1;
	lp.on_prefix = on_prefix;
	OK(s3_list_objects(&ctx, BUCKET, &lp, &err));
	assert_int_equal(nm.n, 2);
	assert_int_equal(nm.prefixes, 1);
	/* start-after */
	memset(&nm, 0, sizeof(nm));
	memset(&lp, 0, sizeof(lp));
	lp.start_after = "AWSLogs/x/y.json";   /* then x/\xc3\xbc (bytes sort after 'y'), other/z, top */
	lp.on_object = on_obj;
	lp.ud = &nm;
	OK(s3_list_objects(&ctx, BUCKET, &lp, &err));
	assert_int_equal(nm.n, 3);
	/* a callback can stop the listing early */
	memset(&nm, 0, sizeof(nm));
	lp.start_after = NULL;
	lp.max_keys = 1;
	lp.on_object = stop_after_two;
	OK(s3_list_objects(&ctx, BUCKET, &lp, &err));
	assert_int_equal(nm.n, 2);
	/* bounded writes (issue 14): an object over the buffer's limit is an
	 * error naming it, never a shorter body */
	buf_init(&b, 8);
	assert_int_equal(s3_get_object_buf(&ctx, BUCKET, keys[1], &b, NULL, &err), TK_ELIMIT);
	assert_non_null(strstr(err.msg, "larger than 8 bytes"));
	buf_release(&b);
	/* a prefix whose query does not fit is an error, not a listing of a
	 * shorter prefix (or of the whole bucket) */
	{
		char *longp = xmalloc(70001);

		memset(longp, 'p', 70000);
		longp[70000] = '\0';
		memset(&nm, 0, sizeof(nm));
		memset(&lp, 0, sizeof(lp));
		lp.prefix = longp;
		lp.on_object = on_obj;
		lp.ud = &nm;
		assert_int_equal(s3_list_objects(&ctx, BUCKET, &lp, &err), TK_ELIMIT);
		assert_non_null(strstr(err.msg, "query string too long"));
		assert_int_equal(nm.n, 0);
		free(longp);
	}
}

static void test_kms(void **state)
{
	struct errbuf err;
	struct kms_key k, d;
	struct kms_alias *al;
	size_t n, i;
	char *pol;
	bool rot;
	int found = 0;

	(void)state;
	OK(kms_create_key(&ctx, NULL, "trailkeep test", &k, &err));
	assert_string_equal(k.state, "Enabled");
	OK(kms_create_alias(&ctx, "alias/tk-test", k.key_id, &err));
	OK(kms_describe_key(&ctx, "alias/tk-test", &d, &err));
	assert_string_equal(d.key_id, k.key_id);
	assert_string_equal(d.account, MGMT);
	kms_key_release(&d);
	OK(kms_list_aliases(&ctx, NULL, &al, &n, &err));
	for (i = 0; i < n; i++)
		found += !strcmp(al[i].name, "alias/tk-test") && al[i].target_key_id &&
			 !strcmp(al[i].target_key_id, k.key_id);
	assert_int_equal(found, 1);
	kms_aliases_free(al, n);
	OK(kms_get_key_policy(&ctx, k.key_id, &pol, &err));
	assert_non_null(strstr(pol, "kms:*"));
	OK(kms_put_key_policy(&ctx, k.key_id, pol, &err));
	free(pol);
	OK(kms_get_key_rotation(&ctx, k.key_id, &rot, &err));
	assert_false(rot);
	OK(kms_enable_key_rotation(&ctx, k.key_id, &err));
	OK(kms_get_key_rotation(&ctx, k.key_id, &rot, &err));
	assert_true(rot);
	assert_int_equal(kms_describe_key(&ctx, "alias/tk-nope", &d, &err), TK_ENOTFOUND);
	assert_non_null(strstr(err.msg, "kms DescribeKey 'alias/tk-nope': 400 NotFoundException"));
	OK(kms_schedule_key_deletion(&ctx, k.key_id, 7, &err));
	OK(kms_describe_key(&ctx, k.key_id, &d, &err));
	assert_string_equal(d.state, "PendingDeletion");
	assert_true(d.deletion_date > 0);
	kms_key_release(&d);
	kms_key_release(&k);
}

static int on_event(void *ud, json_t *e)
{
	(*(int *)ud)++;
	return json_is_object(e) ? 0 : TK_EFAIL;
}

static void test_cloudtrail(void **state)
{
	struct errbuf err;
	struct ct_trail_params p = { .name = "tk-trail", .s3_bucket = BUCKET, .multi_region = true,
				     .global_events = true, .log_file_validation = true };
	struct ct_trail t, *list;
	struct ct_status st;
	struct ct_public_key *keys;
	json_t *sel, *got;
	size_t n;
	int events = 0;

	(void)state;
	OK(ct_create_trail(&ctx, &p, &t, &err));
	assert_string_equal(t.arn, "arn:aws:cloudtrail:us-east-1:" MGMT ":trail/tk-trail");
	ct_trail_release(&t);
	assert_int_equal(ct_create_trail(&ctx, &p, NULL, &err), TK_EFAIL);
	assert_string_equal(ctx.last_error.code, "TrailAlreadyExistsException");
	OK(ct_get_trail(&ctx, "tk-trail", &t, &err));
	assert_int_equal(t.log_file_validation, 1);
	assert_int_equal(t.multi_region, 1);
	assert_string_equal(t.home_region, "us-east-1");
	ct_trail_release(&t);
	OK(ct_describe_trails(&ctx, NULL, 0, true, &list, &n, &err));
	assert_int_equal(n, 1);
	ct_trails_free(list, n);
	assert_int_equal(ct_get_trail(&ctx, "tk-none", &t, &err), TK_ENOTFOUND);
	assert_non_null(strstr(err.msg, "cloudtrail GetTrail 'tk-none': 400 TrailNotFoundException"));
	OK(ct_get_trail_status(&ctx, "tk-trail", &st, &err));
	assert_int_equal(st.is_logging, 0);
	ct_status_release(&st);
	OK(ct_start_logging(&ctx, "tk-trail", &err));
	OK(ct_get_trail_status(&ctx, "tk-trail", &st, &err));
	assert_int_equal(st.is_logging, 1);
	ct_status_release(&st);
	p.log_file_validation = false;
	OK(ct_update_trail(&ctx, &p, &t, &err));
	assert_int_equal(t.log_file_validation, 0);
	ct_trail_release(&t);
	sel = json_pack("{s:[{s:s, s:b, s:[{s:s, s:[s]}]}]}", "EventSelectors", "ReadWriteType", "All",
			"IncludeManagementEvents", 1, "DataResources", "Type", "AWS::S3::Object", "Values",
			"arn:aws:s3:::acme-payroll/");
	OK(ct_put_event_selectors(&ctx, "tk-trail", sel, NULL, &err));
	json_decref(sel);
	OK(ct_get_event_selectors(&ctx, "tk-trail", &got, &err));
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(json_array_get(
		json_object_get(got, "EventSelectors"), 0), "DataResources"), 0), "Type")), "AWS::S3::Object");
	json_decref(got);
	OK(ct_list_public_keys(&ctx, NOW - 86400, NOW + 86400, &keys, &n, &err));
	assert_true(n >= 1);
	assert_true(keys[0].der_len > 100);
	assert_int_equal(keys[0].der[0], 0x30);   /* DER SEQUENCE */
	ct_public_keys_free(keys, n);
	OK(ct_lookup_events(&ctx, NULL, NOW - 86400, NOW + 86400, 0, on_event, &events, &err));
	assert_true(events >= 1);   /* CreateTrail itself is an event */
	OK(ct_stop_logging(&ctx, "tk-trail", &err));
	OK(ct_delete_trail(&ctx, "tk-trail", &err));
	assert_int_equal(ct_get_trail(&ctx, "tk-trail", &t, &err), TK_ENOTFOUND);
}

/* two error messages equal up to their " (request id ...)" */
static bool same_but_request_id(const char *a, const char *b)
{
	const char *x = strstr(a, " (request id "), *y = strstr(b, " (request id ");
	size_t la = x ? (size_t)(x - a) : strlen(a), lb = y ? (size_t)(y - b) : strlen(b);

	if (la != lb || strncmp(a, b, la))
		fail_msg("'%s' != '%s'", a, b);
	return true;
}

/* trail_reads.h: the reads made together on the async scheduler give what
 * the synchronous calls give, results and messages alike: the caller's own
 * account, an assumed account whose trail does not exist, and an account
 * whose role cannot be assumed (its reads not made, each an error). */
static void test_trail_reads(void **state)
{
	struct errbuf err;
	struct ct_trail_params p = { .name = "tk-reads", .s3_bucket = BUCKET, .multi_region = true,
				     .global_events = true, .log_file_validation = true };
	struct trail_read v[3];
	struct trail_reads_opts o;
	struct aws_sched *s = NULL;
	struct ct_trail t;
	struct ct_status st;
	struct aws_creds ac;
	struct aws_ctx other;
	json_t *sel;
	size_t i;

	(void)state;
	OK(ct_create_trail(&ctx, &p, NULL, &err));
	OK(ct_start_logging(&ctx, "tk-reads", &err));
	memset(v, 0, sizeof(v));
	v[0].account = MGMT;
	v[0].arn = "arn:aws:cloudtrail:us-east-1:" MGMT ":trail/tk-reads";
	v[1].account = "222222222222";
	v[1].arn = "arn:aws:cloudtrail:us-east-1:222222222222:trail/tk-none";
	v[1].role_arn = "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole";
	v[2].account = "333333333333";
	v[2].arn = "arn:aws:cloudtrail:us-east-1:333333333333:trail/tk-reads";
	v[2].role_arn = "arn:aws:iam::333333333333:role/NoSuchRole";
	memset(&o, 0, sizeof(o));
	aws_sched_new(&s, pool);
	o.sched = s;
	o.base = &ctx;
	o.region = "us-east-1";
	o.session_name = "tk-test";
	o.describe = true;
	OK(trail_reads_run(&o, v, 3, &err));
	assert_int_equal(o.calls, 4 + 1 + 4 + 1);
	/* the caller's own account: as ct_get_trail / _status / _event_selectors / describe */
	assert_int_equal(v[0].ctx_r.rc, 0);
	assert_true(v[0].has_ctx);
	OK(ct_get_trail(&ctx, v[0].arn, &t, &err));
	assert_int_equal(v[0].trail_r.rc, 0);
	assert_string_equal(v[0].trail.arn, t.arn);
	assert_string_equal(v[0].trail.s3_bucket, t.s3_bucket);
	assert_int_equal(v[0].trail.multi_region, t.multi_region);
	ct_trail_release(&t);
	OK(ct_get_trail_status(&ctx, v[0].arn, &st, &err));
	assert_int_equal(v[0].status_r.rc, 0);
	assert_int_equal(v[0].status.is_logging, 1);
	assert_int_equal(v[0].status.start_logging, st.start_logging);
	ct_status_release(&st);
	OK(ct_get_event_selectors(&ctx, v[0].arn, &sel, &err));
	assert_int_equal(v[0].sel_r.rc, 0);
	assert_true(json_equal(v[0].selectors, sel));
	json_decref(sel);
	assert_int_equal(v[0].list_r.rc, 0);
	for (i = 0; i < v[0].nall && strcmp(v[0].all[i].name, "tk-reads"); i++)
		;
	assert_true(i < v[0].nall);
	/* the assumed account: its own credentials, and the synchronous error */
	assert_int_equal(v[1].ctx_r.rc, 0);
	assert_non_null(v[1].creds.session_token);
	OK(aws_ctx_clone(&other, &ctx, NULL, &v[1].creds, &err));
	assert_int_equal(ct_get_trail(&other, v[1].arn, &t, &err), TK_ENOTFOUND);
	assert_int_equal(v[1].trail_r.rc, TK_ENOTFOUND);
	assert_true(same_but_request_id(v[1].trail_r.msg, err.msg));
	assert_int_equal(ct_get_trail_status(&other, v[1].arn, &st, &err), v[1].status_r.rc);
	assert_true(same_but_request_id(v[1].status_r.msg, err.msg));
	aws_ctx_release(&other);
	/* no way in: AssumeRole's own error, and no read counted as made */
	memset(&ac, 0, sizeof(ac));
	assert_int_equal(sts_assume_role(&ctx, v[2].role_arn, "tk-test", NULL, 0, &ac, NULL, &err), TK_EAUTH);
	assert_int_equal(v[2].ctx_r.rc, TK_EAUTH);
	assert_true(same_but_request_id(v[2].ctx_r.msg, err.msg));
	assert_false(v[2].has_ctx);
	assert_int_equal(v[2].trail_r.rc, TK_EAUTH);
	assert_int_equal(v[2].sel_r.rc, TK_EAUTH);
	assert_int_equal(v[2].status_r.rc, TK_EAUTH);
	assert_int_equal(v[2].list_r.rc, TK_EAUTH);
	for (i = 0; i < 3; i++)
		trail_read_release(&v[i]);
	aws_sched_free(s);
	OK(ct_delete_trail(&ctx, "tk-reads", &err));
}

static void test_account_regions(void **state)
{
	struct errbuf err;
	char *st = NULL;
	json_t *r;

	(void)state;
	assert_int_equal(account_region_opt_status(&ctx, "eu-west-1", &st, &err), 0);
	assert_string_equal(st, "ENABLED_BY_DEFAULT");
	assert_true(account_region_usable(st));
	free(st);
	/* an opt-in region starts disabled */
	assert_int_equal(account_region_opt_status(&ctx, "af-south-1", &st, &err), 0);
	assert_string_equal(st, "DISABLED");
	assert_false(account_region_usable(st));
	free(st);
	r = control("set_region_opt", "{\"account\": \"" MGMT "\", \"region\": \"af-south-1\", "
		    "\"status\": \"ENABLED\"}");
	assert_non_null(r);
	json_decref(r);
	assert_int_equal(account_region_opt_status(&ctx, "af-south-1", &st, &err), 0);
	assert_string_equal(st, "ENABLED");
	free(st);
	/* a region that does not exist: ValidationException, named */
	assert_int_not_equal(account_region_opt_status(&ctx, "xx-nowhere-9", &st, &err), 0);
	assert_null(st);
	assert_non_null(strstr(err.msg, "account GetRegionOptStatus"));
	assert_non_null(strstr(err.msg, "ValidationException"));
	assert_string_equal(ctx.last_error.code, "ValidationException");
	assert_false(account_region_usable(NULL));
}

static void test_bad_signature_rejected(void **state)
{
	struct errbuf err;
	struct aws_ctx bad;
	struct aws_creds c = { 0 };
	struct sts_identity id;
	char wrong[] = "not-the-secret";

	(void)state;
	c.access_key_id = mgmt.access_key_id;
	c.secret_access_key = wrong;
	c.session_token = mgmt.session_token;
	OK(aws_ctx_clone(&bad, &ctx, NULL, &c, &err));
	assert_int_equal(sts_get_caller_identity(&bad, &id, &err), TK_EAUTH);
	assert_non_null(strstr(err.msg, "sts GetCallerIdentity: 403 SignatureDoesNotMatch"));
	assert_int_equal(bad.last_attempts, 1);
	aws_ctx_release(&bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sts_and_orgs),
		cmocka_unit_test(test_account_role),
		cmocka_unit_test(test_s3_bucket_settings),
		cmocka_unit_test(test_s3_objects),
		cmocka_unit_test(test_kms),
		cmocka_unit_test(test_cloudtrail),
		cmocka_unit_test(test_trail_reads),
		cmocka_unit_test(test_account_regions),
		cmocka_unit_test(test_bad_signature_rejected),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
