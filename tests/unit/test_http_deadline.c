/* test_http_deadline.c: the run's deadline (--timeout) and the bound on a
 * collected answer in the HTTP layer, against
 * tests/integration/scriptserver.py (sleep<ms> steps) on 127.0.0.1.
 * The deadline's clock is a test clock: real monotonic time. */
#define _POSIX_C_SOURCE 200809L
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
#include "http.h"

static struct tu_server srv;

static int start_server(void **state)
{
	(void)state;
	return tu_scriptserver_start(&srv, "deadline");
}

static int stop_server(void **state)
{
	(void)state;
	tu_server_stop(&srv);
	return 0;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *url(const char *path)
{
	return xasprintf("http://127.0.0.1:%d%s", srv.port, path);
}

static struct http_pool *pool(long long deadline_in_ms, long collect_ms)
{
	struct http_pool *p;
	struct errbuf err;
	struct http_pool_options o = { .max_in_flight = 1, .collect_timeout_ms = collect_ms,
				       .now_ms = mono_ms };

	o.deadline_ms = deadline_in_ms ? mono_ms() + deadline_in_ms : 0;
	assert_int_equal(http_pool_new(&p, &o, &err), 0);
	return p;
}

struct got {
	int n;
	struct http_response r[4];
};

static void keep(void *ud, struct http_response *resp)
{
	struct got *g = ud;

	http_response_move(&g->r[g->n++], resp);
}

static int discard(void *ud, const void *data, size_t n)
{
	(void)ud;
	(void)data;
	(void)n;
	return 0;
}

/* a request running at the deadline is aborted; one queued behind it (one
 * slot) never starts; neither is retryable; the message names --timeout */
static void test_deadline_aborts_and_stops(void **state)
{
	struct http_pool *p = pool(700, -1);
	struct got g = { 0 };
	struct errbuf err;
	char *u1 = url("/s/dl1/sleep5000"), *u2 = url("/s/dl2/200");
	struct http_request a = { .method = "GET", .url = u1 }, b = { .method = "GET", .url = u2 };
	long long t0 = mono_ms();
	int i;

	(void)state;
	assert_true(http_pool_time_left_ms(p) > 0);
	assert_int_equal(http_submit(p, &a, keep, &g, &err), 0);
	assert_int_equal(http_submit(p, &b, keep, &g, &err), 0);
	assert_int_equal(http_pool_run(p, &err), 0);
	assert_true(mono_ms() - t0 < 3000);
	assert_int_equal(g.n, 2);
	for (i = 0; i < 2; i++) {
		assert_int_equal(g.r[i].result, TK_ENET);
		assert_true(g.r[i].deadline);
		assert_false(g.r[i].retryable);
		assert_string_equal(g.r[i].errmsg, HTTP_DEADLINE_MSG);
		http_response_release(&g.r[i]);
	}
	assert_int_equal(http_pool_time_left_ms(p), 0);
	free(u1);
	free(u2);
	http_pool_free(p);
}

/* without a deadline the pool says so */
static void test_no_deadline(void **state)
{
	struct http_pool *p = pool(0, 0);

	(void)state;
	assert_true(http_pool_time_left_ms(p) == -1);
	http_pool_free(p);
}

/* a collected answer is bounded whole; a streamed one is not */
static void test_collect_timeout(void **state)
{
	struct http_pool *p = pool(0, 500);
	struct http_response r;
	struct errbuf err;
	char *u = url("/s/ct1/sleep2000"), *v = url("/s/ct2/sleep1500");
	struct http_request a = { .method = "GET", .url = u };
	struct http_request b = { .method = "GET", .url = v, .sink = discard };

	(void)state;
	assert_int_not_equal(http_do(p, &a, &r, &err), 0);
	assert_int_equal(r.result, TK_ENET);
	assert_true(r.timed_out);
	assert_false(r.deadline);
	http_response_release(&r);
	assert_int_equal(http_do(p, &b, &r, &err), 0);
	assert_int_equal(r.status, 200);
	http_response_release(&r);
	free(u);
	free(v);
	http_pool_free(p);
}

static void no_sleep(void *ud, long ms)
{
	(void)ud;
	(void)ms;
}

static time_t fixed_clock(void *ud)
{
	(void)ud;
	return 1700000000;
}

/* aws_call: past the deadline no retry is made (503s would be retried) */
static void test_no_retry_after_deadline(void **state)
{
	struct http_pool *p = pool(300, -1);
	struct tu_script_ctx f;
	struct http_response r;
	struct errbuf err;
	struct aws_request q = { .service = "s3", .operation = "GetObject", .proto = AWS_PROTO_RESTXML,
				 .method = "GET" };
	long long t0;

	(void)state;
	tu_script_ctx_init(&f, p, &srv, "dl3", "sleep1000", 5, fixed_clock, no_sleep);
	t0 = mono_ms();
	assert_int_not_equal(aws_call(&f.ctx, &q, &r, &err), 0);
	assert_true(mono_ms() - t0 < 2500);
	assert_non_null(strstr(err.msg, "--timeout"));
	assert_int_equal(f.ctx.last_attempts, 1);
	tu_script_ctx_release(&f);
	http_pool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deadline_aborts_and_stops),
		cmocka_unit_test(test_no_deadline),
		cmocka_unit_test(test_collect_timeout),
		cmocka_unit_test(test_no_retry_after_deadline),
	};

	return cmocka_run_group_tests(tests, start_server, stop_server);
}
