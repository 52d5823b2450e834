/* test_validate_async.c: aws_call_async (aws_async.h) against
 * tests/integration/scriptserver.py on 127.0.0.1 (which re-checks every
 * signature with botocore): retries after backoff through the scheduler's
 * timer list, no retry for 4xx, many calls in flight at once, a streamed
 * body restarted after a mid-body reset (sink_reset) and not retried without
 * it.  Clock and RNG seed pinned; backoff sleeps are recorded, not slept. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "aws.h"
#include "aws_async.h"
#include "testutil.h"
#include "banned.h"

#define SECRET TU_SECRET

static struct tu_server srv;
static struct http_pool *pool;
static struct aws_sched *sched;
static long sleeps[64];
static int nsleeps;

static int start_server(void **state)
{
	struct errbuf err;

	(void)state;
	if (http_pool_new(&pool, NULL, &err))
		return -1;
	aws_sched_new(&sched, pool);
	return tu_scriptserver_start(&srv, "async");
}

static int stop_server(void **state)
{
	(void)state;
	aws_sched_free(sched);
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
	if (nsleeps < 64)
		sleeps[nsleeps] = ms;
	nsleeps++;
}

#define fx tu_script_ctx

/* A context whose every request goes to /s/<uid>/<steps> (the endpoint's
 * base path; path-style bucket and key follow it). */
static void fx_init(struct fx *f, const char *uid, const char *steps, int max_attempts)
{
	tu_script_ctx_init(f, pool, &srv, uid, steps, max_attempts, fixed_clock, record_sleep);
}

#define fx_release tu_script_ctx_release

static long server_count(const char *uid)
{
	return tu_scriptserver_count(pool, &srv, uid);
}

struct result {
	int done;
	int rc;
	int attempts;
	long status;
	char body[256];
	char errmsg[512];
	/* streaming */
	struct buf streamed;
	int resets;
};

static void on_done(void *ud, struct aws_async_result *r)
{
	struct result *x = ud;

	x->done++;
	x->rc = r->rc;
	x->attempts = r->attempts;
	x->status = r->resp->status;
	snprintf(x->body, sizeof(x->body), "%s", buf_cstr(&r->resp->body));
	snprintf(x->errmsg, sizeof(x->errmsg), "%s", r->errmsg);
}

static int sink(void *ud, const void *p, size_t n)
{
	struct result *x = ud;

	return buf_add(&x->streamed, p, n);
}

static int sink_reset(void *ud)
{
	struct result *x = ud;

	x->resets++;
	buf_reset(&x->streamed);
	return 0;
}

static void get(struct fx *f, struct result *x, bool stream, bool restartable)
{
	struct aws_request q;
	struct errbuf err;

	memset(&q, 0, sizeof(q));
	q.service = "s3";
	q.operation = "GetObject";
	q.subject = "bkt/key";
	q.proto = AWS_PROTO_RESTXML;
	q.method = "GET";
	q.path = "/";
	q.query = NULL;
	q.bucket = "bkt";
	q.key = "key";
	if (stream) {
		q.sink = sink;
		q.sink_ud = x;
	}
	assert_int_equal(aws_call_async(sched, &f->ctx, &q, restartable ? sink_reset : NULL, on_done, x,
					&err), 0);
}

static void test_retry_after_backoff(void **state)
{
	struct fx f;
	struct result x;
	struct errbuf err;

	(void)state;
	memset(&x, 0, sizeof(x));
	nsleeps = 0;
	fx_init(&f, "a1", "503,slowdown,200", 0);
	get(&f, &x, false, false);
	assert_int_equal(x.done, 0);           /* never called from aws_call_async */
	assert_int_equal(aws_sched_pending(sched), 1);
	assert_int_equal(aws_sched_run(sched, &err), 0);
	assert_int_equal(x.done, 1);
	assert_int_equal(x.rc, 0);
	assert_int_equal(x.attempts, 3);
	assert_string_equal(x.body, "ok");
	assert_int_equal(server_count("a1"), 3);
	/* two backoff waits through the timer list: full jitter < 1 s, < 2 s */
	assert_int_equal(nsleeps, 2);
	assert_true(sleeps[0] >= 0 && sleeps[0] < 1000);
	assert_true(sleeps[1] >= 0 && sleeps[1] < 2000);
	assert_int_equal(f.ctx.total_retries, 2);
	assert_int_equal(aws_sched_pending(sched), 0);
	fx_release(&f);
}

static void test_gives_up_after_max_attempts(void **state)
{
	struct fx f;
	struct result x;
	struct errbuf err;

	(void)state;
	memset(&x, 0, sizeof(x));
	fx_init(&f, "a2", "500", 4);
	get(&f, &x, false, false);
	assert_int_equal(aws_sched_run(sched, &err), 0);
	assert_int_equal(x.done, 1);
	assert_int_equal(x.rc, TK_EFAIL);
	assert_int_equal(x.attempts, 4);
	assert_int_equal(server_count("a2"), 4);
	assert_non_null(strstr(x.errmsg, "s3 GetObject 'bkt/key': 500"));
	assert_non_null(strstr(x.errmsg, "(4 attempts)"));
	fx_release(&f);
}

static void test_no_retry_for_denied(void **state)
{
	struct fx f;
	struct result x;
	struct errbuf err;

	(void)state;
	memset(&x, 0, sizeof(x));
	nsleeps = 0;
	fx_init(&f, "a3", "denied,200", 0);
	get(&f, &x, false, false);
	assert_int_equal(aws_sched_run(sched, &err), 0);
	assert_int_equal(x.rc, TK_EAUTH);
	assert_int_equal(x.attempts, 1);
	assert_int_equal(x.status, 403);
	assert_int_equal(server_count("a3"), 1);
	assert_int_equal(nsleeps, 0);
	fx_release(&f);
}

static void test_not_found(void **state)
{
	struct fx f;
	struct result x;
	struct errbuf err;

	(void)state;
	memset(&x, 0, sizeof(x));
	fx_init(&f, "a4", "notfound", 0);
	get(&f, &x, false, false);
	assert_int_equal(aws_sched_run(sched, &err), 0);
	assert_int_equal(x.rc, TK_ENOTFOUND);
	assert_int_equal(x.attempts, 1);
	fx_release(&f);
}

/* many calls at once, each with its own script, some retried */
static void test_many_in_flight(void **state)
{
	struct fx f[40];
	struct result x[40];
	struct errbuf err;
	long retries = 0;
	int i;

	(void)state;
	memset(x, 0, sizeof(x));
	nsleeps = 0;
	for (i = 0; i < 40; i++) {
		char uid[16];

		snprintf(uid, sizeof(uid), "m%d", i);
		fx_init(&f[i], uid, i % 4 == 0 ? "slowdown,200" : i % 4 == 1 ? "reset,200" : "200", 0);
		get(&f[i], &x[i], false, false);
	}
	assert_int_equal(aws_sched_pending(sched), 40);
	assert_int_equal(aws_sched_run(sched, &err), 0);
	for (i = 0; i < 40; i++) {
		char uid[16];

		assert_int_equal(x[i].done, 1);
		assert_int_equal(x[i].rc, 0);
		assert_string_equal(x[i].body, "ok");
		/* a reset on a reused connection may be retried by curl itself
		 * (it resends on a connection that died before any response) */
		if (i % 4 == 1)
			assert_true(x[i].attempts == 1 || x[i].attempts == 2);
		else
			assert_int_equal(x[i].attempts, i % 4 == 0 ? 2 : 1);
		snprintf(uid, sizeof(uid), "m%d", i);
		assert_int_equal(server_count(uid), i % 4 <= 1 ? 2 : 1);
	}
	/* the retries waited in the timer list; one sleep covers all that are due */
	assert_true(nsleeps >= 1 && nsleeps <= 20);
	for (i = 0; i < 40; i++) {
		retries += f[i].ctx.total_retries;
		fx_release(&f[i]);
	}
	assert_true(retries >= 10 && retries <= 20);
}

/* a streamed body cut in the middle: restarted from zero with sink_reset */
static void test_stream_restart(void **state)
{
	struct fx f;
	struct result x;
	struct errbuf err;

	(void)state;
	memset(&x, 0, sizeof(x));
	buf_init(&x.streamed, 1 << 20);
	fx_init(&f, "s1", "trunc,big3000", 0);
	get(&f, &x, true, true);
	assert_int_equal(aws_sched_run(sched, &err), 0);
	assert_int_equal(x.rc, 0);
	assert_int_equal(x.attempts, 2);
	assert_int_equal(x.resets, 1);
	assert_int_equal(x.streamed.len, 3000);   /* no byte of the cut attempt left */
	buf_release(&x.streamed);
	fx_release(&f);
}

/* ... and without sink_reset a started stream is never retried */
static void test_stream_no_restart(void **state)
{
	struct fx f;
	struct result x;
	struct errbuf err;

	(void)state;
	memset(&x, 0, sizeof(x));
	buf_init(&x.streamed, 1 << 20);
	fx_init(&f, "s2", "trunc,big3000", 0);
	get(&f, &x, true, false);
	assert_int_equal(aws_sched_run(sched, &err), 0);
	assert_int_equal(x.rc, TK_ENET);
	assert_int_equal(x.attempts, 1);
	assert_int_equal(server_count("s2"), 1);
	buf_release(&x.streamed);
	fx_release(&f);
}

/* a callback may queue more calls: they run in the same aws_sched_run */
struct chain_ud {
	struct fx *f2;
	struct result second;
	int first_done;
};

static void chain_first(void *ud, struct aws_async_result *r)
{
	struct chain_ud *c = ud;

	assert_int_equal(r->rc, 0);
	c->first_done = 1;
	get(c->f2, &c->second, false, false);
}

static void test_callback_submits(void **state)
{
	struct fx f, f2;
	struct chain_ud c;
	struct aws_request q;
	struct errbuf err;

	(void)state;
	memset(&c, 0, sizeof(c));
	fx_init(&f, "c1", "200", 0);
	fx_init(&f2, "c2", "503,200", 0);
	c.f2 = &f2;
	memset(&q, 0, sizeof(q));
	q.service = "s3";
	q.operation = "GetObject";
	q.proto = AWS_PROTO_RESTXML;
	q.method = "GET";
	q.bucket = "bkt";
	q.key = "key";
	assert_int_equal(aws_call_async(sched, &f.ctx, &q, NULL, chain_first, &c, &err), 0);
	assert_int_equal(aws_sched_run(sched, &err), 0);
	assert_int_equal(c.first_done, 1);
	assert_int_equal(c.second.done, 1);
	assert_int_equal(c.second.rc, 0);
	assert_int_equal(c.second.attempts, 2);
	fx_release(&f);
	fx_release(&f2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_after_backoff),
		cmocka_unit_test(test_gives_up_after_max_attempts),
		cmocka_unit_test(test_no_retry_for_denied),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_many_in_flight),
		cmocka_unit_test(test_stream_restart),
		cmocka_unit_test(test_stream_no_restart),
		cmocka_unit_test(test_callback_submits),
	};

	return cmocka_run_group_tests(tests, start_server, stop_server);
}
