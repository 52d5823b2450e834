/* test_transport_gaps.c: issue 5 gaps against the local fake AWS
 * (tests/fakeaws on 127.0.0.1, signatures checked with botocore):
 * refreshing credentials once when a call fails with ExpiredToken /
 * ExpiredTokenException, S3 wrong-region retries (400
 * AuthorizationHeaderMalformed with <Region>, HEAD 301 with
 * x-amz-bucket-region), the same two on the asynchronous path (aws_async.h:
 * many calls in flight, one refresh), and the credential_process parser and
 * splitter.
 * Clocks are pinned to 2026-01-01T00:00:00Z (ours and the fake's). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <jansson.h>

#include "testutil.h"
#include "aws.h"
#include "aws_async.h"
#include "creds_net.h"
#include "kms.h"
#include "s3.h"
#include "sts.h"

#define NOW 1767225600   /* 2026-01-01T00:00:00Z */
#define MGMT "111111111111"

static struct tu_server fake;
static char *fake_url;
static struct http_pool *pool;
static struct endpoint_config epcfg;

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

/* a new key of the management account; expires_in: NULL for a long-term key */
static void new_key(struct aws_creds *c, const char *expires_in)
{
	char body[128];
	json_t *k;

	if (expires_in)
		snprintf(body, sizeof(body), "{\"account\": \"%s\", \"expires_in\": %s}", MGMT, expires_in);
	else
		snprintf(body, sizeof(body), "{\"account\": \"%s\"}", MGMT);
	k = control("create_access_key", body);
	assert_non_null(k);
	memset(c, 0, sizeof(*c));
	c->access_key_id = aws_json_strdup(k, "access_key_id");
	c->secret_access_key = aws_json_strdup(k, "secret_access_key");
	c->session_token = aws_json_strdup(k, "session_token");
	assert_non_null(c->access_key_id);
	json_decref(k);
}

static int setup(void **state)
{
	struct errbuf err;
	json_t *org;

	(void)state;
	if (tu_fakeaws_start(&fake, "11"))
		return -1;
	fake_url = xasprintf("http://127.0.0.1:%d", fake.port);
	if (http_pool_new(&pool, NULL, &err))
		return -1;
	json_decref(control("set_auth_clock", "{\"time\": 1767225600}"));
	org = control("seed_org", "{\"members\": 0}");
	if (!org)
		return -1;
	json_decref(org);
	epcfg.cli_url = fake_url;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	http_pool_free(pool);
	tu_server_stop(&fake);
	free(fake_url);
	return 0;
}

/* the refresh hook: hands out *fresh (a copy), counting calls */
struct refresher {
	const struct aws_creds *fresh;
	int calls;
};

static int refresh_fn(void *ud, struct aws_creds *out, struct errbuf *err)
{
	struct refresher *r = ud;

	r->calls++;
	if (!r->fresh)
		return err_set(err, TK_EAUTH, "no fresh credentials");
	return aws_creds_copy(out, r->fresh) ? err_set(err, TK_EFAIL, "copy") : 0;
}

static void ctx_open(struct aws_ctx *ctx, const struct aws_creds *c, const char *region, struct refresher *r)
{
	struct aws_ctx_options o;
	struct errbuf err;

	memset(&o, 0, sizeof(o));
	o.http = pool;
	o.creds = c;
	o.region = region;
	o.endpoints = &epcfg;
	o.clock = clock_fn;
	o.sleep_ms = no_sleep;
	o.seed = 5;
	if (r) {
		o.refresh = refresh_fn;
		o.refresh_ud = r;
	}
	assert_int_equal(aws_ctx_init(ctx, &o, &err), 0);
}

/* STS (query XML ExpiredToken), KMS (JSON ExpiredTokenException) and S3
 * (XML ExpiredToken): each refreshes once and succeeds with the new key. */
static void test_expired_token_refreshed(void **state)
{
	struct aws_creds expired, good;
	struct refresher r = { 0 };
	struct aws_ctx ctx;
	struct sts_identity id;
	struct kms_alias *al = NULL;
	size_t nal = 0;
	char *region = NULL;
	struct errbuf err;

	(void)state;
	new_key(&expired, "-10");
	new_key(&good, NULL);
	/* expiry unknown to us (0): only the server's answer says so */
	r.fresh = &good;

	ctx_open(&ctx, &expired, "us-east-1", &r);
	memset(&id, 0, sizeof(id));
	if (sts_get_caller_identity(&ctx, &id, &err))
		fail_msg("sts: %s", err.msg);
	assert_string_equal(id.account, MGMT);
	assert_int_equal(r.calls, 1);
	assert_string_equal(ctx.creds.access_key_id, good.access_key_id);
	sts_identity_release(&id);
	aws_ctx_release(&ctx);

	r.calls = 0;
	ctx_open(&ctx, &expired, "us-east-1", &r);
	if (kms_list_aliases(&ctx, NULL, &al, &nal, &err))
		fail_msg("kms: %s", err.msg);
	assert_int_equal(r.calls, 1);
	kms_aliases_free(al, nal);
	aws_ctx_release(&ctx);

	r.calls = 0;
	ctx_open(&ctx, &expired, "us-east-1", &r);
	if (s3_create_bucket(&ctx, "tk-gaps-refresh", "us-east-1", false, &err))
		fail_msg("s3: %s", err.msg);
	assert_int_equal(r.calls, 1);
	assert_int_equal(s3_head_bucket(&ctx, "tk-gaps-refresh", &region, &err), 0);
	assert_int_equal(r.calls, 1);   /* the new key is kept */
	free(region);
	aws_ctx_release(&ctx);

	aws_creds_release(&expired);
	aws_creds_release(&good);
}

/* A refresh that gives expired credentials again, or fails: one refresh,
 * then the server's error; no loop. */
static void test_expired_token_refresh_once(void **state)
{
	struct aws_creds expired;
	struct refresher r = { 0 };
	struct aws_ctx ctx;
	struct sts_identity id;
	struct errbuf err;

	(void)state;
	new_key(&expired, "-10");
	r.fresh = &expired;
	ctx_open(&ctx, &expired, "us-east-1", &r);
	memset(&id, 0, sizeof(id));
	assert_int_equal(sts_get_caller_identity(&ctx, &id, &err), TK_EAUTH);
	assert_non_null(strstr(err.msg, "ExpiredToken"));
	assert_null(strstr(err.msg, expired.secret_access_key));
	assert_int_equal(r.calls, 1);
	aws_ctx_release(&ctx);

	r.fresh = NULL;   /* the refresh itself fails */
	r.calls = 0;
	ctx_open(&ctx, &expired, "us-east-1", &r);
	assert_int_equal(sts_get_caller_identity(&ctx, &id, &err), TK_EAUTH);
	assert_non_null(strstr(err.msg, "ExpiredToken"));
	assert_int_equal(r.calls, 1);
	aws_ctx_release(&ctx);

	/* without a hook: the error at once */
	ctx_open(&ctx, &expired, "us-east-1", NULL);
	assert_int_equal(sts_get_caller_identity(&ctx, &id, &err), TK_EAUTH);
	assert_non_null(strstr(err.msg, "ExpiredToken"));
	aws_ctx_release(&ctx);
	aws_creds_release(&expired);
}

/* A bucket in eu-west-1 used through a us-east-1 context: the fake answers
 * 400 AuthorizationHeaderMalformed with <Region> (HEAD: 301 with
 * x-amz-bucket-region); the call is re-signed for eu-west-1 and retried once. */
static void test_s3_wrong_region(void **state)
{
	struct aws_creds key;
	struct aws_ctx eu, us;
	struct buf got;
	char *region = NULL;
	struct errbuf err;

	(void)state;
	new_key(&key, NULL);
	ctx_open(&eu, &key, "eu-west-1", NULL);
	if (s3_create_bucket(&eu, "tk-gaps-eu", "eu-west-1", false, &err))
		fail_msg("create: %s", err.msg);
	aws_ctx_release(&eu);

	ctx_open(&us, &key, "us-east-1", NULL);
	if (s3_put_object(&us, "tk-gaps-eu", "a/b.txt", "hello", 5, "text/plain", &err))
		fail_msg("put: %s", err.msg);
	buf_init(&got, 1024);
	if (s3_get_object_buf(&us, "tk-gaps-eu", "a/b.txt", &got, NULL, &err))
		fail_msg("get: %s", err.msg);
	assert_int_equal(got.len, 5);
	assert_memory_equal(got.data, "hello", 5);
	buf_release(&got);
	assert_int_equal(us.last_attempts, 2);
	if (s3_head_bucket(&us, "tk-gaps-eu", &region, &err))
		fail_msg("head: %s", err.msg);
	assert_string_equal(region, "eu-west-1");
	free(region);
	/* an unknown bucket is not redirected: NoSuchBucket at once */
	buf_init(&got, 1024);
	assert_int_not_equal(s3_get_object_buf(&us, "tk-gaps-none", "k", &got, NULL, &err), 0);
	assert_non_null(strstr(err.msg, "NoSuchBucket"));
	assert_int_equal(us.last_attempts, 1);
	buf_release(&got);
	aws_ctx_release(&us);
	aws_creds_release(&key);
}

struct async_out {
	int rc, attempts;
	char body[16];
};

static void async_done(void *ud, struct aws_async_result *r)
{
	struct async_out *o = ud;

	o->rc = r->rc;
	o->attempts = r->attempts;
	if (!r->rc && r->resp->body.len < sizeof(o->body))
		memcpy(o->body, r->resp->body.data, r->resp->body.len);
}

/* GETs of an object in an eu-west-1 bucket through a us-east-1 context:
 * with expired credentials (one refresh for all calls in flight, then the
 * wrong-region answer re-addressed) and with good ones (re-addressed once). */
static void test_async_refresh_and_region(void **state)
{
	struct aws_creds expired, good;
	struct refresher r = { 0 };
	struct aws_ctx eu, us;
	struct aws_sched *s = NULL;
	struct async_out out[6];
	struct errbuf err;
	int i, pass;

	(void)state;
	new_key(&expired, "-10");
	new_key(&good, NULL);
	ctx_open(&eu, &good, "eu-west-1", NULL);
	if (s3_create_bucket(&eu, "tk-gaps-async", "eu-west-1", false, &err) ||
	    s3_put_object(&eu, "tk-gaps-async", "k.txt", "hello", 5, "text/plain", &err))
		fail_msg("setup: %s", err.msg);
	aws_ctx_release(&eu);
	for (pass = 0; pass < 2; pass++) {
		r.fresh = &good;
		r.calls = 0;
		ctx_open(&us, pass == 0 ? &expired : &good, "us-east-1", &r);
		assert_int_equal(aws_sched_new(&s, pool), 0);
		memset(out, 0, sizeof(out));
		for (i = 0; i < 6; i++) {
			struct aws_request req = {
				.service = "s3", .operation = "GetObject", .subject = "tk-gaps-async/k.txt",
				.proto = AWS_PROTO_RESTXML, .method = "GET", .bucket = "tk-gaps-async",
				.key = "k.txt", .body_limit = 1024,
			};

			out[i].rc = 99;
			if (aws_call_async(s, &us, &req, NULL, async_done, &out[i], &err))
				fail_msg("queue: %s", err.msg);
		}
		if (aws_sched_run(s, &err))
			fail_msg("run: %s", err.msg);
		for (i = 0; i < 6; i++) {
			if (out[i].rc)
				fail_msg("pass %d call %d: rc %d", pass, i, out[i].rc);
			assert_string_equal(out[i].body, "hello");
			/* expired: the refresh and the region each add one attempt */
			assert_int_equal(out[i].attempts, pass == 0 ? 3 : 2);
		}
		assert_int_equal(r.calls, pass == 0 ? 1 : 0);
		assert_string_equal(us.creds.access_key_id, good.access_key_id);
		aws_sched_free(s);
		aws_ctx_release(&us);
	}
	/* a refresh that fails: the original error, no loop */
	r.fresh = NULL;
	r.calls = 0;
	ctx_open(&us, &expired, "us-east-1", &r);
	assert_int_equal(aws_sched_new(&s, pool), 0);
	{
		struct aws_request req = {
			.service = "s3", .operation = "GetObject", .subject = "tk-gaps-async/k.txt",
			.proto = AWS_PROTO_RESTXML, .method = "GET", .bucket = "tk-gaps-async",
			.key = "k.txt", .body_limit = 1024,
		};

		out[0].rc = 99;
		if (aws_call_async(s, &us, &req, NULL, async_done, &out[0], &err))
			fail_msg("queue: %s", err.msg);
	}
	if (aws_sched_run(s, &err))
		fail_msg("run: %s", err.msg);
	assert_int_equal(out[0].rc, TK_EAUTH);
	assert_int_equal(r.calls, 1);
	aws_sched_free(s);
	aws_ctx_release(&us);
	aws_creds_release(&expired);
	aws_creds_release(&good);
}

static void split_ok(const char *cmd, const char *const *want)
{
	char **argv = NULL;
	struct errbuf err;
	size_t i;

	if (creds_split_command(cmd, &argv, &err))
		fail_msg("split '%s': %s", cmd, err.msg);
	for (i = 0; want[i]; i++) {
		assert_non_null(argv[i]);
		assert_string_equal(argv[i], want[i]);
	}
	assert_null(argv[i]);
	creds_free_argv(argv);
}

static void test_process_split(void **state)
{
	static const char *const w1[] = { "/bin/tool", "--a", "b c", "it's", "x\"y", "$HOME", NULL };
	static const char *const w2[] = { "a b", "", "c", NULL };
	char **argv = NULL;
	struct errbuf err;

	(void)state;
	split_ok("  /bin/tool\t--a 'b c' \"it's\" \"x\\\"y\" '$HOME'  ", w1);
	split_ok("a\\ b '' c", w2);
	assert_int_equal(creds_split_command("tool 'open", &argv, &err), TK_EUSAGE);
	assert_non_null(strstr(err.msg, "unterminated single quote"));
	assert_int_equal(creds_split_command("tool \"open", &argv, &err), TK_EUSAGE);
	assert_int_equal(creds_split_command("   ", &argv, &err), TK_EUSAGE);
	assert_null(argv);
}

static void test_process_output(void **state)
{
	struct aws_creds c;
	struct errbuf err;
	const char *ok = "{\"Version\": 1, \"AccessKeyId\": \"AKIDP\", \"SecretAccessKey\": \"s3cr3t\","
			 " \"SessionToken\": \"tok\", \"Expiration\": \"2026-01-01T01:00:00Z\"}";
	static const char *const bad[] = {
		"", "[]", "{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s3cr3t\"}",
		"{\"Version\": \"1\", \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s3cr3t\"}",
		"{\"Version\": 1, \"AccessKeyId\": \"A\"}",
		"{\"Version\": 1, \"AccessKeyId\": 5, \"SecretAccessKey\": \"s3cr3t\"}",
		"{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s3cr3t\", \"Expiration\": \"soon\"}",
		"{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s3cr3t\", \"SessionToken\": 1}",
		"{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s3cr3t\"",
	};
	size_t i;

	(void)state;
	assert_int_equal(creds_parse_process_output(&c, ok, strlen(ok), "tool", &err), 0);
	assert_string_equal(c.access_key_id, "AKIDP");
	assert_string_equal(c.secret_access_key, "s3cr3t");
	assert_string_equal(c.session_token, "tok");
	assert_int_equal(c.expiration, NOW + 3600);
	aws_creds_release(&c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(creds_parse_process_output(&c, bad[i], strlen(bad[i]), "tool", &err), TK_EAUTH);
		assert_non_null(strstr(err.msg, "credential_process 'tool'"));
		assert_null(strstr(err.msg, "s3cr3t"));
		assert_null(c.access_key_id);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_process_split),
		cmocka_unit_test(test_process_output),
		cmocka_unit_test(test_expired_token_refreshed),
		cmocka_unit_test(test_expired_token_refresh_once),
		cmocka_unit_test(test_s3_wrong_region),
		cmocka_unit_test(test_async_refresh_and_region),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
