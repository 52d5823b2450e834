/* test_http_basic.c: the HTTP layer against tests/integration/scriptserver.py
 * on 127.0.0.1 (spawned here with $PYTHON from $TOP). */
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
#include "http.h"

static struct tu_server srv;

static int start_server(void **state)
{
	(void)state;
	return tu_scriptserver_start(&srv, "http");
}

static int stop_server(void **state)
{
	(void)state;
	tu_server_stop(&srv);
	return 0;
}

static char *url(const char *path)
{
	return xasprintf("http://127.0.0.1:%d%s", srv.port, path);
}

static struct http_pool *pool(void)
{
	struct http_pool *p;
	struct errbuf err;
	struct http_pool_options o = { .max_in_flight = 8, .low_speed_time_s = 5 };

	assert_int_equal(http_pool_new(&p, &o, &err), 0);
	return p;
}

static void test_get_collects_body_and_headers(void **state)
{
	struct http_pool *p = pool();
	struct http_response r;
	struct errbuf err;
	char *u = url("/s/basic1/200");
	struct http_request req = { .method = "GET", .url = u };

	(void)state;
	assert_int_equal(http_do(p, &req, &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(buf_cstr(&r.body), "ok");
	assert_non_null(http_header_get(&r, "Content-Type"));
	assert_string_equal(http_header_get(&r, "content-type"), "text/plain");
	assert_string_equal(r.headers[0].name, "content-length");
	http_response_release(&r);
	free(u);
	http_pool_free(p);
}

struct sum {
	size_t n;
	uint64_t check;
};

static int sum_sink(void *ud, const void *data, size_t n)
{
	struct sum *s = ud;
	const unsigned char *d = data;
	size_t i;

	for (i = 0; i < n; i++)
		s->check += (uint64_t)d[i] * (uint64_t)((s->n + i) % 7 + 1);
	s->n += n;
	return 0;
}

static void test_streaming_sink(void **state)
{
	struct http_pool *p = pool();
	struct http_response r;
	struct errbuf err;
	struct sum s = { 0, 0 };
	uint64_t want = 0;
	size_t i;
	char *u = url("/s/stream1/big300000");
	/* body_limit tiny: streaming must not buffer */
	struct http_request req = { .method = "GET", .url = u, .sink = sum_sink, .sink_ud = &s, .body_limit = 10 };

	(void)state;
	assert_int_equal(http_do(p, &req, &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(s.n, 300000);
	for (i = 0; i < 300000; i++)
		want += (uint64_t)(i % 251) * (uint64_t)(i % 7 + 1);
	assert_true(s.check == want);
	assert_int_equal(r.body.len, 0);
	assert_true(r.streamed);
	http_response_release(&r);
	free(u);
	http_pool_free(p);
}

/* One request on a pool of one slot, then what the server saw (/last). */
static char *reuse_step(struct http_pool *p, struct http_pool *q, const struct http_request *req,
			long want_status, const char *want_body)
{
	struct http_response r;
	struct errbuf err;

	assert_int_equal(http_do(p, req, &r, &err), 0);
	assert_int_equal(r.status, want_status);
	assert_string_equal(buf_cstr(&r.body), want_body);
	http_response_release(&r);
	return tu_scriptserver_get(q, &srv, "/last");
}

/* The pool keeps finished curl handles for the next requests (issue 17):
 * nothing of one request may leak into the next on the same handle (method,
 * body, headers, sink, timeout). */
static void test_handle_reuse_keeps_requests_apart(void **state)
{
	struct http_pool_options o = { .max_in_flight = 1, .low_speed_time_s = 5 };
	struct http_pool *p, *q = pool();
	struct errbuf err;
	char *u1 = url("/s/reuse1/200"), *u2 = url("/s/reuse2/200"), *u3 = url("/s/reuse3/200");
	char *u4 = url("/s/reuse4/200"), *u5 = url("/s/reuse5/200"), *u6 = url("/s/reuse6/200");
	char *u7 = url("/s/reuse7/200");
	const char *hdr[] = { "X-Reuse: one" };
	struct sum sm = { 0, 0 };
	struct http_request put = { .method = "PUT", .url = u1, .headers = hdr, .nheaders = 1,
				    .body = "put-body", .body_len = 8, .timeout_ms = 3000 };
	struct http_request head = { .method = "HEAD", .url = u2 };
	struct http_request get = { .method = "GET", .url = u3 };
	struct http_request del = { .method = "DELETE", .url = u4 };
	struct http_request sink = { .method = "GET", .url = u5, .sink = sum_sink, .sink_ud = &sm };
	struct http_request post = { .method = "POST", .url = u6, .body = "p", .body_len = 1 };
	struct http_request get2 = { .method = "GET", .url = u7 };
	char *last;

	(void)state;
	assert_int_equal(http_pool_new(&p, &o, &err), 0);
	last = reuse_step(p, q, &put, 200, "ok");
	assert_non_null(strstr(last, "\"method\": \"PUT\""));
	assert_non_null(strstr(last, "\"body\": \"put-body\""));
	assert_non_null(strstr(last, "\"x-reuse\": \"one\""));
	free(last);
	last = reuse_step(p, q, &head, 200, "");   /* HEAD: no body read */
	assert_non_null(strstr(last, "\"method\": \"HEAD\""));
	free(last);
	last = reuse_step(p, q, &get, 200, "ok");  /* after a HEAD and a PUT: a plain GET */
	assert_non_null(strstr(last, "\"method\": \"GET\""));
	assert_non_null(strstr(last, "\"body\": \"\""));
	assert_null(strstr(last, "x-reuse"));
	assert_null(strstr(last, "content-length"));
	free(last);
	last = reuse_step(p, q, &del, 200, "ok");
	assert_non_null(strstr(last, "\"method\": \"DELETE\""));
	free(last);
	last = reuse_step(p, q, &sink, 200, "");   /* streamed: nothing collected */
	assert_int_equal(sm.n, 2);
	free(last);
	last = reuse_step(p, q, &post, 200, "ok");
	assert_non_null(strstr(last, "\"method\": \"POST\""));
	assert_non_null(strstr(last, "\"body\": \"p\""));
	free(last);
	last = reuse_step(p, q, &get2, 200, "ok"); /* after a DELETE and a POST: a GET, collected */
	assert_non_null(strstr(last, "\"method\": \"GET\""));
	assert_non_null(strstr(last, "\"body\": \"\""));
	assert_int_equal(sm.n, 2);
	free(last);
	free(u1);
	free(u2);
	free(u3);
	free(u4);
	free(u5);
	free(u6);
	free(u7);
	http_pool_free(p);
	http_pool_free(q);
}

static void test_error_body_not_streamed(void **state)
{
	struct http_pool *p = pool();
	struct http_response r;
	struct errbuf err;
	struct sum s = { 0, 0 };
	char *u = url("/s/stream2/denied");
	struct http_request req = { .method = "GET", .url = u, .sink = sum_sink, .sink_ud = &s };

	(void)state;
	assert_int_equal(http_do(p, &req, &r, &err), 0);
	assert_int_equal(r.status, 403);
	assert_int_equal(s.n, 0);
	assert_non_null(strstr(buf_cstr(&r.body), "<Code>AccessDenied</Code>"));
	http_response_release(&r);
	free(u);
	http_pool_free(p);
}

static void test_body_limit(void **state)
{
	struct http_pool *p = pool();
	struct http_response r;
	struct errbuf err;
	char *u = url("/s/limit1/big20000");
	struct http_request req = { .method = "GET", .url = u, .body_limit = 1000 };

	(void)state;
	assert_int_equal(http_do(p, &req, &r, &err), TK_ELIMIT);
	assert_non_null(strstr(err.msg, "larger than 1000 bytes"));
	assert_non_null(strstr(err.msg, "GET 'http://127.0.0.1"));
	http_response_release(&r);
	free(u);
	http_pool_free(p);
}

static void test_truncated_and_reset(void **state)
{
	struct http_pool *p = pool();
	struct http_response r;
	struct errbuf err;
	char *u1 = url("/s/trunc1/trunc"), *u2 = url("/s/reset1/reset");
	struct http_request req = { .method = "GET", .url = u1 };

	(void)state;
	assert_int_equal(http_do(p, &req, &r, &err), TK_ENET);
	assert_true(r.retryable);
	http_response_release(&r);
	req.url = u2;
	assert_int_equal(http_do(p, &req, &r, &err), TK_ENET);
	assert_true(r.retryable);
	assert_int_equal(r.status, 0);
	http_response_release(&r);
	free(u1);
	free(u2);
	http_pool_free(p);
}

static void test_header_limit(void **state)
{
	struct http_pool *p = pool();
	struct http_response r;
	struct errbuf err;
	char *u = url("/s/hdrs1/hdrs");
	struct http_request req = { .method = "GET", .url = u };

	(void)state;
	assert_int_equal(http_do(p, &req, &r, &err), TK_ELIMIT);
	assert_non_null(strstr(err.msg, "headers"));
	http_response_release(&r);
	free(u);
	http_pool_free(p);
}

static void test_insecure_only_loopback(void **state)
{
	struct http_pool *p;
	struct errbuf err;
	struct http_pool_options o = { .insecure = true };
	struct http_response r;
	char *u = url("/s/insec/200");
	struct http_request req = { .method = "GET", .url = "https://example.com/x" };

	(void)state;
	assert_int_equal(http_pool_new(&p, &o, &err), 0);
	assert_int_equal(http_submit(p, &req, NULL, NULL, &err), TK_EUSAGE);
	assert_non_null(strstr(err.msg, "refusing to skip TLS verification for 'example.com'"));
	req.url = "https://10.0.0.1/";
	assert_int_equal(http_submit(p, &req, NULL, NULL, &err), TK_EUSAGE);
	req.url = u;
	assert_int_equal(http_do(p, &req, &r, &err), 0);
	assert_int_equal(r.status, 200);
	http_response_release(&r);
	free(u);
	http_pool_free(p);
	assert_true(http_url_is_loopback("http://127.0.0.1:9/"));
	assert_true(http_url_is_loopback("http://127.8.9.10/"));
	assert_true(http_url_is_loopback("http://[::1]:8080/"));
	assert_true(http_url_is_loopback("https://localhost/"));
	assert_false(http_url_is_loopback("https://128.0.0.1/"));
	assert_false(http_url_is_loopback("https://localhost.example.com/"));
	assert_false(http_url_is_loopback("ftp://127.0.0.1/"));
	assert_false(http_url_is_loopback("not a url"));
}

struct lines {
	struct buf all;
};

static void collect(void *ud, const char *line)
{
	struct lines *l = ud;

	buf_adds(&l->all, line);
	buf_addc(&l->all, '\n');
}

static void test_debug_redacts_secrets(void **state)
{
	struct http_pool *p;
	struct errbuf err;
	struct lines l;
	struct http_pool_options o = { .debug = collect, .debug_ud = &l };
	struct http_response r;
	char *u = url("/s/dbg/200");
	const char *h[] = { "Authorization: AWS4-HMAC-SHA256 Credential=AKID/x, Signature=SECRETSIG",
			    "X-Amz-Security-Token: TOKEN123", "X-Amz-Date: 20240101T000000Z" };
	struct http_request req = { .method = "PUT", .url = u, .headers = h, .nheaders = 3, .body = "b", .body_len = 1 };

	(void)state;
	buf_init(&l.all, 1 << 20);
	assert_int_equal(http_pool_new(&p, &o, &err), 0);
	assert_int_equal(http_do(p, &req, &r, &err), 0);
	assert_null(strstr(buf_cstr(&l.all), "SECRETSIG"));
	assert_null(strstr(buf_cstr(&l.all), "TOKEN123"));
	assert_non_null(strstr(buf_cstr(&l.all), "> Authorization: [redacted]"));
	assert_non_null(strstr(buf_cstr(&l.all), "> X-Amz-Security-Token: [redacted]"));
	assert_non_null(strstr(buf_cstr(&l.all), "> X-Amz-Date: 20240101T000000Z"));
	assert_non_null(strstr(buf_cstr(&l.all), "> PUT /s/dbg/200"));
	assert_non_null(strstr(buf_cstr(&l.all), "< HTTP/1.1 200"));
	buf_release(&l.all);
	http_response_release(&r);
	free(u);
	http_pool_free(p);
}

struct async_state {
	struct http_pool *p;
	int done;
	int ok;
	int chained;
	char *chain_url;
};

static void async_done(void *ud, struct http_response *resp)
{
	struct async_state *s = ud;

	s->done++;
	if (resp->result == 0 && resp->status == 200 && !strcmp(buf_cstr(&resp->body), "ok"))
		s->ok++;
	if (s->done == 1) {
		/* a callback may submit more */
		struct http_request req = { .method = "GET", .url = s->chain_url };
		struct errbuf err;
		if (http_submit(s->p, &req, async_done, s, &err) == 0)
			s->chained = 1;
	}
}

static void test_async_many(void **state)
{
	struct async_state s = { 0 };
	struct http_pool_options o = { .max_in_flight = 16 };
	struct errbuf err;
	char *u = url("/plain");
	int i;

	(void)state;
	s.chain_url = u;
	assert_int_equal(http_pool_new(&s.p, &o, &err), 0);
	for (i = 0; i < 200; i++) {
		struct http_request req = { .method = "GET", .url = u };
		assert_int_equal(http_submit(s.p, &req, async_done, &s, &err), 0);
	}
	assert_int_equal(http_pool_pending(s.p), 200);
	assert_int_equal(http_pool_run(s.p, &err), 0);
	assert_int_equal(s.chained, 1);
	assert_int_equal(s.done, 201);
	assert_int_equal(s.ok, 201);
	assert_int_equal(http_pool_pending(s.p), 0);
	http_pool_free(s.p);
	free(u);
}

static void test_connection_refused(void **state)
{
	struct http_pool *p = pool();
	struct http_response r;
	struct errbuf err;
	struct http_request req = { .method = "GET", .url = "http://127.0.0.1:1/x?X-Amz-Credential=AKID" };

	(void)state;
	assert_int_equal(http_do(p, &req, &r, &err), TK_ENET);
	assert_true(r.retryable);
	/* the query (possibly presigned) is not in the message */
	assert_null(strstr(err.msg, "AKID"));
	assert_non_null(strstr(err.msg, "GET 'http://127.0.0.1:1/x'"));
	http_response_release(&r);
	http_pool_free(p);
}

static void test_content_md5(void **state)
{
	char out[25];

	(void)state;
	http_content_md5("", 0, out);
	assert_string_equal(out, "1B2M2Y8AsgTpgAmY7PhCfg==");
	http_content_md5("hello", 5, out);
	assert_string_equal(out, "XUFAKrxLKna5cZ2REBfFkg==");
}

static void test_bad_url(void **state)
{
	struct http_pool *p = pool();
	struct errbuf err;
	struct http_request req = { .method = "GET", .url = "file:///etc/passwd" };

	(void)state;
	assert_int_equal(http_submit(p, &req, NULL, NULL, &err), TK_EUSAGE);
	assert_non_null(strstr(err.msg, "unsupported url scheme"));
	http_pool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_collects_body_and_headers),
		cmocka_unit_test(test_streaming_sink),
		cmocka_unit_test(test_handle_reuse_keeps_requests_apart),
		cmocka_unit_test(test_error_body_not_streamed),
		cmocka_unit_test(test_body_limit),
		cmocka_unit_test(test_truncated_and_reset),
		cmocka_unit_test(test_header_limit),
		cmocka_unit_test(test_insecure_only_loopback),
		cmocka_unit_test(test_debug_redacts_secrets),
		cmocka_unit_test(test_async_many),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_content_md5),
		cmocka_unit_test(test_bad_url),
	};

	return cmocka_run_group_tests(tests, start_server, stop_server);
}
