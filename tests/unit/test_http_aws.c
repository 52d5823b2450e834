/* test_http_aws.c: the AWS client context (signing, retries, errors, limits,
 * streaming) against tests/integration/scriptserver.py on 127.0.0.1, which
 * re-checks every signature with botocore.  Clock and RNG seed are pinned;
 * backoff sleeps are recorded, not slept. */
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
#include "aws.h"
#include "cloudtrail.h"
#include "s3.h"
#include "sts.h"

#define SECRET TU_SECRET

static struct tu_server srv;
static struct http_pool *pool;
static long sleeps[16];
static int nsleeps;

static int start_server(void **state)
{
	struct errbuf err;

	(void)state;
	if (http_pool_new(&pool, NULL, &err))
		return -1;
	return tu_scriptserver_start(&srv, "aws");
}

static int stop_server(void **state)
{
	(void)state;
	http_pool_free(pool);
	tu_server_stop(&srv);
	return 0;
}

static time_t fixed_clock(void *ud)
{
	(void)ud;
	return 1700000000;
}

static void record_sleep(void *ud, long ms)
{
	(void)ud;
	if (nsleeps < 16)
		sleeps[nsleeps] = ms;
	nsleeps++;
}

#define fx tu_script_ctx

/* A context whose every request goes to /s/<uid>/<steps> */
static void fx_init(struct fx *f, const char *uid, const char *steps, int max_attempts)
{
	nsleeps = 0;
	tu_script_ctx_init(f, pool, &srv, uid, steps, max_attempts, fixed_clock, record_sleep);
}

#define fx_release tu_script_ctx_release

static char *server_get(const char *path)
{
	return tu_scriptserver_get(pool, &srv, path);
}

static long server_count(const char *uid)
{
	return tu_scriptserver_count(pool, &srv, uid);
}

static int s3_get(struct fx *f, struct buf *out, struct errbuf *err)
{
	return s3_get_object_buf(&f->ctx, "bkt", "key", out, NULL, err);
}

static void test_retry_503_then_ok(void **state)
{
	struct fx f;
	struct errbuf err;
	struct buf b;

	(void)state;
	fx_init(&f, "r1", "503,503,200", 0);
	buf_init(&b, 1000);
	assert_int_equal(s3_get(&f, &b, &err), 0);
	assert_string_equal(buf_cstr(&b), "ok");
	assert_int_equal(f.ctx.last_attempts, 3);
	assert_int_equal(server_count("r1"), 3);
	assert_int_equal(nsleeps, 2);
	/* full jitter: attempt 1 waits < 1 s, attempt 2 < 2 s */
	assert_true(sleeps[0] >= 0 && sleeps[0] < 1000);
	assert_true(sleeps[1] >= 0 && sleeps[1] < 2000);
	assert_true(sleeps[0] != sleeps[1]);
	buf_release(&b);
	fx_release(&f);
}

static void test_503_gives_up_after_3(void **state)
{
	struct fx f;
	struct errbuf err;
	struct buf b;

	(void)state;
	fx_init(&f, "r2", "503", 0);
	buf_init(&b, 1000);
	assert_int_equal(s3_get(&f, &b, &err), TK_EFAIL);
	assert_string_equal(err.msg, "s3 GetObject 'bkt/key': 503 ServiceUnavailable: Please reduce your "
			    "request rate. (request id REQ123) (3 attempts)");
	assert_int_equal(server_count("r2"), 3);
	assert_string_equal(f.ctx.last_error.code, "ServiceUnavailable");
	buf_release(&b);
	fx_release(&f);
}

static void test_403_not_retried(void **state)
{
	struct fx f;
	struct errbuf err;
	struct buf b;

	(void)state;
	fx_init(&f, "r3", "denied,200", 0);
	buf_init(&b, 1000);
	assert_int_equal(s3_get(&f, &b, &err), TK_EAUTH);
	assert_string_equal(err.msg, "s3 GetObject 'bkt/key': 403 AccessDenied: Access Denied (request id REQ123)");
	assert_int_equal(server_count("r3"), 1);
	assert_int_equal(nsleeps, 0);
	assert_string_equal(f.ctx.last_error.code, "AccessDenied");
	assert_int_equal(f.ctx.last_error.status, 403);
	assert_null(strstr(err.msg, SECRET));
	buf_release(&b);
	fx_release(&f);
}

static void test_slowdown_and_reset_retried(void **state)
{
	struct fx f;
	struct errbuf err;
	struct buf b;

	(void)state;
	fx_init(&f, "r4", "slowdown,reset,200", 0);
	buf_init(&b, 1000);
	assert_int_equal(s3_get(&f, &b, &err), 0);
	assert_int_equal(server_count("r4"), 3);
	buf_release(&b);
	fx_release(&f);
}

static void test_max_attempts_override(void **state)
{
	struct fx f;
	struct errbuf err;
	struct buf b;

	(void)state;
	fx_init(&f, "r5", "500", 5);
	buf_init(&b, 1000);
	assert_int_equal(s3_get(&f, &b, &err), TK_EFAIL);
	assert_int_equal(server_count("r5"), 5);
	assert_non_null(strstr(err.msg, "(5 attempts)"));
	/* backoff caps grow: < 1, 2, 4, 8 s */
	assert_int_equal(nsleeps, 4);
	assert_true(sleeps[3] < 8000);
	buf_release(&b);
	fx_release(&f);
}

static void test_retry_token_bucket(void **state)
{
	struct fx f;
	struct errbuf err;
	struct buf b;

	(void)state;
	fx_init(&f, "r6", "503", 0);
	f.ctx.retry_tokens = 7;   /* room for one retry (cost 5) */
	buf_init(&b, 1000);
	assert_int_equal(s3_get(&f, &b, &err), TK_EFAIL);
	assert_int_equal(server_count("r6"), 2);
	assert_int_equal(f.ctx.retry_tokens, 2);
	buf_release(&b);
	fx_release(&f);
}

static void test_clock_skew_not_looped(void **state)
{
	struct fx f;
	struct errbuf err;
	struct buf b;

	(void)state;
	fx_init(&f, "r7", "skew", 0);
	buf_init(&b, 1000);
	assert_int_equal(s3_get(&f, &b, &err), TK_EAUTH);
	assert_int_equal(server_count("r7"), 1);
	assert_non_null(strstr(err.msg, "403 RequestTimeTooSkewed"));
	assert_non_null(strstr(err.msg, "the local clock is off (server time Mon, 01 Jan 2024 00:00:00 GMT)"));
	buf_release(&b);
	fx_release(&f);
}

static void test_not_found_and_head(void **state)
{
	struct fx f;
	struct errbuf err;
	struct buf b;
	struct s3_meta m;

	(void)state;
	fx_init(&f, "r8", "notfound", 0);
	buf_init(&b, 1000);
	assert_int_equal(s3_get(&f, &b, &err), TK_ENOTFOUND);
	assert_string_equal(err.msg, "s3 GetObject 'bkt/key': 404 NoSuchKey: The specified key does not exist. "
			    "(request id REQ123)");
	assert_int_equal(s3_head_object(&f.ctx, "bkt", "key", &m, &err), TK_ENOTFOUND);
	assert_string_equal(err.msg, "s3 HeadObject 'bkt/key': 404 NotFound");
	buf_release(&b);
	fx_release(&f);
}

static void test_redirect_names_region(void **state)
{
	struct fx f;
	struct errbuf err;
	char *region = NULL;

	(void)state;
	fx_init(&f, "r9", "redirect", 0);
	assert_int_equal(s3_head_bucket(&f.ctx, "bkt", &region, &err), TK_EFAIL);
	assert_null(region);
	assert_string_equal(err.msg, "s3 HeadBucket 'bkt': 301 PermanentRedirect; the bucket is in region 'eu-west-1'");
	/* re-signed for eu-west-1 once (aws-wire.md section 5), then given up */
	assert_int_equal(server_count("r9"), 2);
	fx_release(&f);
}

/* 301 with x-amz-bucket-region, then 200: the retry is signed for the
 * bucket's region and succeeds. */
static void test_redirect_followed_once(void **state)
{
	struct fx f;
	struct errbuf err;
	struct buf out;
	char *last;

	(void)state;
	fx_init(&f, "r10", "redirect,200", 0);
	buf_init(&out, 1024);
	if (s3_get(&f, &out, &err))
		fail_msg("%s", err.msg);
	assert_string_equal(buf_cstr(&out), "ok");
	assert_int_equal(server_count("r10"), 2);
	assert_int_equal(f.ctx.last_attempts, 2);
	last = server_get("/last");
	assert_non_null(strstr(last, "/eu-west-1/s3/aws4_request"));
	free(last);
	buf_release(&out);
	fx_release(&f);
}

/* The endpoint of a (service, region) is resolved once for the run: the
 * environment (AWS_ENDPOINT_URL*) is read on the first request only, never
 * again for later requests, retries or contexts cloned from this one; a
 * wrong-region answer resolves the new region once. */
static int env_lookups;
static char *env_url;

static const char *counting_env(void *ud, const char *name)
{
	(void)ud;
	env_lookups++;
	return !strcmp(name, "AWS_ENDPOINT_URL") ? env_url : NULL;
}

static void test_endpoint_resolved_once(void **state)
{
	struct fx f;
	struct aws_ctx clone;
	struct errbuf err;
	struct buf b;
	int after_first;

	(void)state;
	fx_init(&f, "r20", "503,200", 0);
	env_lookups = 0;
	env_url = f.url;
	f.ep.cli_url = NULL;
	f.ep.env.get = counting_env;
	buf_init(&b, 1000);
	if (s3_get(&f, &b, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(f.ctx.last_attempts, 2);   /* a retry: not resolved again */
	assert_int_equal(endpoint_cache_resolutions(f.ctx.epcache), 1);
	after_first = env_lookups;
	assert_true(after_first > 0);
	buf_reset(&b);
	if (s3_get(&f, &b, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(aws_ctx_clone(&clone, &f.ctx, NULL, NULL, &err), 0);
	buf_reset(&b);
	if (s3_get_object_buf(&clone, "bkt", "key2", &b, NULL, &err))
		fail_msg("%s", err.msg);
	aws_ctx_release(&clone);
	assert_int_equal(env_lookups, after_first);
	assert_int_equal(endpoint_cache_resolutions(f.ctx.epcache), 1);
	assert_int_equal(server_count("r20"), 4);
	/* another service: one more resolution, then none */
	assert_int_equal(aws_json_call(&f.ctx, "cloudtrail", "X", "DescribeTrails", NULL, NULL, NULL, &err),
			 TK_EFAIL);   /* the script answers "ok", not JSON: the call still went out */
	assert_int_equal(endpoint_cache_resolutions(f.ctx.epcache), 2);
	aws_json_call(&f.ctx, "cloudtrail", "X", "DescribeTrails", NULL, NULL, NULL, &err);
	assert_int_equal(endpoint_cache_resolutions(f.ctx.epcache), 2);
	buf_release(&b);
	fx_release(&f);
}

/* A wrong-region answer: the bucket's region is resolved once, not per call */
static void test_redirect_region_resolved_once(void **state)
{
	struct fx f;
	struct errbuf err;
	char *region = NULL;
	int i;

	(void)state;
	fx_init(&f, "r21", "redirect", 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(s3_head_bucket(&f.ctx, "bkt", &region, &err), TK_EFAIL);
		assert_string_equal(err.msg, "s3 HeadBucket 'bkt': 301 PermanentRedirect; the bucket is in "
				    "region 'eu-west-1'");
	}
	/* us-east-1 and eu-west-1 */
	assert_int_equal(endpoint_cache_resolutions(f.ctx.epcache), 2);
	assert_int_equal(server_count("r21"), 6);
	fx_release(&f);
}

/* aws_query_add: a pair that does not fit is an error and leaves the query
 * as it was (never a truncated name=value); a query call whose parameters
 * do not fit fails before anything is sent. */
static void test_query_add_bounded(void **state)
{
	struct fx f;
	struct errbuf err;
	struct buf q;
	struct xml_doc d;
	struct aws_param big;
	char *v;

	(void)state;
	buf_init(&q, 16);
	assert_int_equal(aws_query_add(&q, "a", "b c"), 0);
	assert_int_equal(q.len, strlen("a=b%20c"));
	assert_int_equal(aws_query_add(&q, "name", "longer-value"), TK_ELIMIT);
	assert_int_equal(q.len, strlen("a=b%20c"));
	assert_memory_equal(q.data, "a=b%20c", q.len + 1);
	buf_release(&q);

	fx_init(&f, "r22", "200", 0);
	v = xmalloc(2 * 1024 * 1024);
	memset(v, 'x', 2 * 1024 * 1024 - 1);
	v[2 * 1024 * 1024 - 1] = '\0';
	big.name = "Policy";
	big.value = v;
	assert_int_equal(aws_query_call(&f.ctx, "sts", "2011-06-15", "AssumeRole", "r", &big, 1, &d, &err),
			 TK_ELIMIT);
	assert_string_equal(err.msg, "sts AssumeRole 'r': the request is larger than 1048576 bytes");
	assert_int_equal(server_count("r22"), 0);
	free(v);
	fx_release(&f);
}

static void test_json_throttle_retried(void **state)
{
	struct fx f;
	struct errbuf err;
	json_t *out = NULL;

	(void)state;
	fx_init(&f, "j1", "throttle,throttle,json", 0);
	assert_int_equal(aws_json_call(&f.ctx, "cloudtrail", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101",
				       "GetTrail", "t", NULL, &out, &err), 0);
	assert_true(json_is_true(json_object_get(out, "ok")));
	assert_int_equal(server_count("j1"), 3);
	json_decref(out);
	fx_release(&f);
}

static void test_json_errors(void **state)
{
	struct fx f;
	struct errbuf err;
	struct ct_trail t;

	(void)state;
	fx_init(&f, "j2", "throttle", 2);
	assert_int_equal(ct_get_trail(&f.ctx, "org-trail", &t, &err), TK_EFAIL);
	assert_string_equal(err.msg, "cloudtrail GetTrail 'org-trail': 400 ThrottlingException: Rate exceeded "
			    "(request id TR1) (2 attempts)");
	fx_release(&f);
	fx_init(&f, "j3", "jsondenied", 0);
	assert_int_equal(ct_get_trail(&f.ctx, "org-trail", &t, &err), TK_EAUTH);
	assert_string_equal(err.msg, "cloudtrail GetTrail 'org-trail': 400 AccessDeniedException: not allowed "
			    "(request id JD1)");
	fx_release(&f);
	fx_init(&f, "j4", "wrongjson", 0);
	assert_int_equal(ct_get_trail(&f.ctx, "org-trail", &t, &err), TK_EFAIL);
	assert_non_null(strstr(err.msg, "cloudtrail GetTrail 'org-trail': malformed JSON response"));
	fx_release(&f);
	fx_init(&f, "j5", "json", 0);
	/* a 200 without the Trail member */
	assert_int_equal(ct_get_trail(&f.ctx, "org-trail", &t, &err), TK_EFAIL);
	assert_string_equal(err.msg, "cloudtrail GetTrail 'org-trail': unexpected response: no Trail");
	fx_release(&f);
}

static void test_query_error(void **state)
{
	struct fx f;
	struct errbuf err;
	struct sts_identity id;

	(void)state;
	fx_init(&f, "q1", "queryerr", 0);
	assert_int_equal(sts_get_caller_identity(&f.ctx, &id, &err), TK_EAUTH);
	assert_string_equal(err.msg, "sts GetCallerIdentity: 403 InvalidClientTokenId: The security token included "
			    "in the request is invalid. (request id Q1)");
	fx_release(&f);
}

static void test_bad_error_bodies(void **state)
{
	struct fx f;
	struct errbuf err;
	struct buf b;

	(void)state;
	fx_init(&f, "e1", "badxml", 0);
	buf_init(&b, 1000);
	assert_int_equal(s3_get(&f, &b, &err), TK_EFAIL);
	assert_non_null(strstr(err.msg, "s3 GetObject 'bkt/key': 400 BadRequest: unreadable error body (malformed XML"));
	fx_release(&f);
	fx_init(&f, "e2", "hugeerr", 0);
	assert_int_equal(s3_get(&f, &b, &err), TK_ELIMIT);
	assert_string_equal(err.msg, "s3 GetObject 'bkt/key': response body larger than 8388608 bytes");
	assert_int_equal(server_count("e2"), 1);
	buf_release(&b);
	fx_release(&f);
}

struct count {
	size_t n;
};

static int count_sink(void *ud, const void *d, size_t n)
{
	(void)d;
	((struct count *)ud)->n += n;
	return 0;
}

static void test_streaming(void **state)
{
	struct fx f;
	struct errbuf err;
	struct count c = { 0 };
	struct s3_meta m;
	struct buf b;

	(void)state;
	fx_init(&f, "g1", "big2000000", 0);
	assert_int_equal(s3_get_object(&f.ctx, "bkt", "logs/a b+c.json.gz", count_sink, &c, &m, &err), 0);
	assert_int_equal(c.n, 2000000);
	assert_int_equal(m.content_length, 2000000);
	s3_meta_release(&m);
	fx_release(&f);
	/* a body that stops mid-way after bytes were delivered: not retried */
	c.n = 0;
	fx_init(&f, "g2", "trunc", 0);
	assert_int_equal(s3_get_object(&f.ctx, "bkt", "k", count_sink, &c, NULL, &err), TK_ENET);
	assert_int_equal(server_count("g2"), 1);
	assert_int_equal(c.n, 10);
	fx_release(&f);
	/* the buffered variant has a limit */
	fx_init(&f, "g3", "big5000", 0);
	buf_init(&b, 1000);
	assert_int_equal(s3_get(&f, &b, &err), TK_ELIMIT);
	/* s3_get_object_buf names the limit (0b076e8) */
	assert_string_equal(err.msg, "s3 GetObject 's3://bkt/key': larger than 1000 bytes");
	buf_release(&b);
	fx_release(&f);
}

static void test_put_has_content_md5(void **state)
{
	struct fx f;
	struct errbuf err;
	char *last;

	(void)state;
	fx_init(&f, "p1", "200", 0);
	assert_int_equal(s3_put_bucket_policy(&f.ctx, "bkt", "{\"Version\":\"2012-10-17\"}", &err), 0);
	last = server_get("/last");
	assert_non_null(strstr(last, "\"content-md5\": \""));
	assert_non_null(strstr(last, "\"method\": \"PUT\""));
	assert_non_null(strstr(last, "/bkt?policy="));
	free(last);
	assert_int_equal(s3_put_versioning(&f.ctx, "bkt", "Enabled", &err), 0);
	last = server_get("/last");
	assert_non_null(strstr(last, "<Status>Enabled</Status>"));
	free(last);
	fx_release(&f);
}

/* runs last: every signed request so far must have verified with botocore */
static void test_all_signatures_checked_by_botocore(void **state)
{
	char *stats;

	(void)state;
	stats = server_get("/stats");
	assert_non_null(strstr(stats, "\"sig_bad\": 0,"));
	assert_null(strstr(stats, "\"signed\": 0,"));
	free(stats);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_503_then_ok),
		cmocka_unit_test(test_503_gives_up_after_3),
		cmocka_unit_test(test_403_not_retried),
		cmocka_unit_test(test_slowdown_and_reset_retried),
		cmocka_unit_test(test_max_attempts_override),
		cmocka_unit_test(test_retry_token_bucket),
		cmocka_unit_test(test_clock_skew_not_looped),
		cmocka_unit_test(test_not_found_and_head),
		cmocka_unit_test(test_redirect_names_region),
		cmocka_unit_test(test_redirect_followed_once),
		cmocka_unit_test(test_endpoint_resolved_once),
		cmocka_unit_test(test_redirect_region_resolved_once),
		cmocka_unit_test(test_query_add_bounded),
		cmocka_unit_test(test_json_throttle_retried),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_query_error),
		cmocka_unit_test(test_bad_error_bodies),
		cmocka_unit_test(test_streaming),
		cmocka_unit_test(test_put_has_content_md5),
		cmocka_unit_test(test_all_signatures_checked_by_botocore),
	};

	return cmocka_run_group_tests(tests, start_server, stop_server);
}
