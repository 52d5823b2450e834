/* aws_async.c: see aws_async.h.  The retry policy's pieces (backoff from
 * the context's RNG, the token bucket, credential refresh) come from aws.c
 * (aws_retry_*), so sync and async calls share one budget. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_async.h"
#include "banned.h"


struct acall {
	struct aws_sched *s;
	struct aws_ctx *ctx;
	/* copies of the request */
	char *service, *operation, *subject, *method, *query;
	enum aws_proto proto;
	struct sigv4_header *headers;   /* pointing into hstore */
	char **hstore;                  /* owned names and values, 2 per header */
	size_t nheaders;
	const void *body;
	size_t body_len;
	bool unsigned_payload, anonymous;
	size_t body_limit;
	http_sink_fn sink;
	void *sink_ud;
	int (*sink_reset)(void *ud);
	aws_async_done_fn done;
	void *ud;
	/* target: the endpoint from the run's cache (aws_endpoint), resolved
	 * once per (service, region) for the whole run, never per attempt */
	const struct endpoint *ep;
	char *host, *path, *url;
	bool s3;
	char *bucket, *key;             /* S3: to re-address after a wrong-region answer */
	char *signed_akid;              /* the access key id the last attempt was signed with */
	bool refreshed, redirected;     /* each done at most once per call (as aws_call) */
	int attempt;
	int cost;
	/* timer: remaining delay in ms (while waiting) */
	long wait_ms;
	struct acall *next;             /* timer list */
};

struct aws_sched {
	struct http_pool *http;
	struct acall *timers;
	size_t pending;
};

static void acall_free(struct acall *c);

int aws_sched_new(struct aws_sched **out, struct http_pool *http)
{
	struct aws_sched *s = xcalloc(1, sizeof(*s));

	s->http = http;
	*out = s;
	return 0;
}

void aws_sched_free(struct aws_sched *s)
{
	if (!s)
		return;
	/* calls still waiting are dropped (only after a failed run) */
	while (s->timers) {
		struct acall *c = s->timers;

		s->timers = c->next;
		acall_free(c);
	}
	free(s);
}

size_t aws_sched_pending(const struct aws_sched *s)
{
	return s->pending;
}

static void acall_free(struct acall *c)
{
	size_t i;

	if (!c)
		return;
	free(c->service);
	free(c->operation);
	free(c->subject);
	free(c->method);
	free(c->query);
	for (i = 0; i < 2 * c->nheaders; i++)
		free(c->hstore[i]);
	free(c->hstore);
	free(c->headers);
	free(c->host);
	free(c->path);
	free(c->url);
	free(c->bucket);
	free(c->key);
	free(c->signed_akid);
	free(c);
}

static const char *resp_header(void *ud, const char *name)
{
	return http_header_get(ud, name);
}

static void http_done(void *ud, struct http_response *resp);

/* scheme://host/path?query of the call's current target */
static char *make_url(const struct acall *c)
{
	return xasprintf("%s://%s%s%s%s", c->ep->scheme, c->host, c->path, c->query ? "?" : "",
			 c->query ? c->query : "");
}

/* Finish a call: the callback, then free.  resp may be NULL (submit error). */
static void finish(struct acall *c, int rc, struct http_response *resp, const struct aws_error *ae,
		   const char *msg)
{
	struct aws_async_result r;
	struct http_response empty;
	struct aws_error none;

	memset(&none, 0, sizeof(none));
	if (!resp) {
		http_response_init(&empty);
		resp = &empty;
	}
	r.rc = rc;
	r.resp = resp;
	r.error = ae ? ae : &none;
	r.errmsg = msg ? msg : "";
	r.attempts = c->attempt;
	c->ctx->last_attempts = c->attempt;
	c->s->pending--;
	c->done(c->ud, &r);
	if (resp == &empty)
		http_response_release(&empty);
	acall_free(c);
}

/* "name: value" and its NUL (header names and values are short: a sum
 * of a few of them cannot overflow) */
static size_t line_size(const char *name, const char *value)
{
	return strlen(name) + 2 + strlen(value) + 1;
}

static const char *put_line(char *blk, size_t *pos, const char *name, const char *value)
{
	char *line = blk + *pos;
	size_t n = strlen(name), v = strlen(value);

	memcpy(line, name, n);
	memcpy(line + n, ": ", 2);
	memcpy(line + n + 2, value, v + 1);
	*pos += n + 2 + v + 1;
	return line;
}

/* Sign and submit one attempt.  0, or an error (message in err). */
static int submit_attempt(struct acall *c, struct errbuf *err)
{
	struct aws_ctx *ctx = c->ctx;
	time_t now = ctx->clock(ctx->clock_ud);
	struct sigv4_request sr;
	struct sigv4_params sp;
	struct sigv4_result res;
	const char **lines = NULL;
	size_t nlines = 0, i, total, pos = 0;
	char *blk;
	int rc;

	c->attempt++;
	memset(&res, 0, sizeof(res));
	rc = aws_refresh_creds(ctx, now, err);
	if (rc)
		return rc;
	if (!c->anonymous && !ctx->creds.access_key_id)
		return err_set(err, TK_EAUTH, "%s %s: no credentials", c->service, c->operation);
	if (!c->anonymous) {
		memset(&sr, 0, sizeof(sr));
		sr.method = c->method;
		sr.host = c->host;
		sr.path = c->path;
		sr.query = c->query;
		sr.headers = c->headers;
		sr.nheaders = c->nheaders;
		sr.body = c->body;
		sr.body_len = c->body_len;
		sr.payload_hash = c->unsigned_payload ? "UNSIGNED-PAYLOAD" : NULL;
		memset(&sp, 0, sizeof(sp));
		sp.region = c->ep->signing_region;
		sp.service = c->ep->signing_name;
		sp.when = now;
		sp.creds = &ctx->creds;
		sp.s3_rules = c->s3;
		rc = sigv4_sign(&res, &sr, &sp, err);
		if (rc)
			return rc;
		free(c->signed_akid);
		c->signed_akid = xstrdup(ctx->creds.access_key_id);
	}
	/* the header lines in one block, sized first (issue 17: were an
	 * allocation each) */
	lines = xcalloc(c->nheaders + 8, sizeof(*lines));
	total = line_size("Host", c->host);
	for (i = 0; i < c->nheaders; i++)
		total += line_size(c->headers[i].name, c->headers[i].value);
	for (i = 0; i < res.nadd; i++)
		total += line_size(res.add[i].name, res.add[i].value);
	blk = xmalloc(total);
	lines[nlines++] = put_line(blk, &pos, "Host", c->host);
	for (i = 0; i < c->nheaders; i++)
		lines[nlines++] = put_line(blk, &pos, c->headers[i].name, c->headers[i].value);
	for (i = 0; i < res.nadd; i++)
		lines[nlines++] = put_line(blk, &pos, res.add[i].name, res.add[i].value);
	sigv4_result_release(&res);
	{
		struct http_request hr = {
			.method = c->method, .url = c->url, .headers = lines,
			.nheaders = nlines, .body = c->body, .body_len = c->body_len,
			.body_limit = c->body_limit ? c->body_limit : AWS_MAX_XML_BODY,
			.sink = c->sink, .sink_ud = c->sink_ud,
		};
		rc = http_submit(c->s->http, &hr, http_done, c, err);
	}
	/* the Authorization line: wipe before free (http copied it) */
	memset(blk, 0, total);
	free(blk);
	free(lines);
	return rc;
}

static void schedule_retry(struct acall *c)
{
	struct aws_sched *s = c->s;

	c->ctx->total_retries++;
	c->wait_ms = aws_retry_backoff_ms(c->ctx, c->attempt);
	c->next = s->timers;
	s->timers = c;
}

/* Send again at once (after the pool is idle: never from inside http.h's
 * completion callback), without a backoff and without a retry token: the
 * request changed (new credentials, another region), it is not a retry of
 * the same failure. */
static void schedule_now(struct acall *c)
{
	c->wait_ms = 0;
	c->next = c->s->timers;
	c->s->timers = c;
}

/* ExpiredToken / ExpiredTokenException: new credentials once per call (as
 * aws_call).  Many calls in flight fail together: only the first refreshes,
 * the others see that the context's key changed since they were signed. */
static bool refresh_and_resend(struct acall *c, const struct aws_error *ae, const struct http_response *resp)
{
	struct aws_ctx *ctx = c->ctx;
	struct aws_creds fresh = { 0 };
	struct errbuf rerr;

	if (c->refreshed || !ctx->refresh || resp->streamed ||
	    !(aws_error_is(ae, "ExpiredToken") || aws_error_is(ae, "ExpiredTokenException")))
		return false;
	c->refreshed = true;
	if (!(c->signed_akid && ctx->creds.access_key_id && strcmp(c->signed_akid, ctx->creds.access_key_id))) {
		if (ctx->refresh(ctx->refresh_ud, &fresh, &rerr))
			return false;   /* the refresh failed: report the original error */
		aws_creds_release(&ctx->creds);
		ctx->creds = fresh;
	}
	schedule_now(c);
	return true;
}

/* S3 bucket in another region (aws-wire.md section 5): re-address and
 * re-sign for the region the error names, once per call (as aws_call). */
static bool redirect_and_resend(struct acall *c, const struct aws_error *ae, const struct http_response *resp)
{
	const struct endpoint *nep;
	char *nhost = NULL, *npath = NULL;
	struct errbuf rerr;

	if (!c->s3 || !c->bucket || c->redirected || resp->streamed || !ae->region || !*ae->region ||
	    !(ae->status == 301 || ae->status == 302 || ae->status == 307 ||
	      (ae->status == 400 && !strcmp(c->method, "HEAD")) ||
	      aws_error_is(ae, "AuthorizationHeaderMalformed") || aws_error_is(ae, "PermanentRedirect")) ||
	    !strcmp(ae->region, c->ep->signing_region))
		return false;
	c->redirected = true;
	if (aws_endpoint(c->ctx, c->service, ae->region, &nep, &rerr))
		return false;
	if (endpoint_s3_target(nep, c->bucket, c->key, &nhost, &npath, &rerr))
		return false;
	c->ep = nep;
	free(c->host);
	free(c->path);
	free(c->url);
	c->host = nhost;
	c->path = npath;
	c->url = make_url(c);
	schedule_now(c);
	return true;
}

static void http_done(void *ud, struct http_response *resp)
{
	struct acall *c = ud;
	struct aws_ctx *ctx = c->ctx;
	struct aws_error ae;
	char msg[2 * ERRBUF_LEN];
	bool retry = false;
	int rc;

	memset(&ae, 0, sizeof(ae));
	if (resp->result) {
		bool timeout = resp->timed_out;
		bool restartable = !resp->streamed || c->sink_reset;

		if (resp->result == TK_ENET && resp->retryable && restartable &&
		    c->attempt < ctx->max_attempts && aws_retry_take(ctx, timeout, &c->cost))
			retry = true;
		if (!retry) {
			char att[32] = "";

			if (c->attempt > 1)
				snprintf(att, sizeof(att), " (%d attempts)", c->attempt);
			aws_error_set_context(&ae, c->service, c->operation, c->subject);
			snprintf(msg, sizeof(msg), "%s %s%s%s%s: %s%s", c->service, c->operation,
				 c->subject ? " '" : "", c->subject ? c->subject : "",
				 c->subject ? "'" : "", resp->errmsg, att);
			finish(c, resp->result, resp, &ae, msg);
			aws_error_release(&ae);
			return;
		}
	} else if (resp->status >= 200 && resp->status < 300) {
		aws_retry_success(ctx, c->attempt, c->cost);
		finish(c, 0, resp, NULL, NULL);
		return;
	} else {
		aws_error_parse(&ae, c->proto, resp->status, resp->body.data, resp->body.len,
				resp_header, resp);
		aws_error_set_context(&ae, c->service, c->operation, c->subject);
		if (refresh_and_resend(c, &ae, resp) || redirect_and_resend(c, &ae, resp)) {
			aws_error_release(&ae);
			return;
		}
		if (!aws_error_is_clock_skew(&ae) && aws_error_retryable(&ae) &&
		    c->attempt < ctx->max_attempts && aws_retry_take(ctx, false, &c->cost))
			retry = true;
		if (!retry) {
			char base[ERRBUF_LEN];

			aws_error_format(&ae, base, sizeof(base));
			rc = aws_error_tk(&ae);
			if (aws_error_is_clock_skew(&ae)) {
				const char *d = http_header_get(resp, "date");

				snprintf(msg, sizeof(msg),
					 "%s; the local clock is off (server time %.64s): fix the system clock",
					 base, d ? d : "unknown");
			} else if (ae.region && (ae.status == 301 || ae.status == 307 ||
						 aws_error_is(&ae, "AuthorizationHeaderMalformed") ||
						 aws_error_is(&ae, "IllegalLocationConstraintException"))) {
				snprintf(msg, sizeof(msg), "%s; the bucket is in region '%s'", base, ae.region);
			} else if (c->attempt > 1) {
				snprintf(msg, sizeof(msg), "%s (%d attempts)", base, c->attempt);
			} else {
				snprintf(msg, sizeof(msg), "%s", base);
			}
			finish(c, rc, resp, &ae, msg);
			aws_error_release(&ae);
			return;
		}
	}
	aws_error_release(&ae);
	/* retry: a streamed body starts again from zero */
	if (resp->streamed && c->sink_reset && c->sink_reset(c->sink_ud)) {
		snprintf(msg, sizeof(msg), "%s %s%s%s%s: cannot restart the download", c->service,
			 c->operation, c->subject ? " '" : "", c->subject ? c->subject : "",
			 c->subject ? "'" : "");
		finish(c, TK_EFAIL, resp, NULL, msg);
		return;
	}
	schedule_retry(c);
}

int aws_call_async(struct aws_sched *s, struct aws_ctx *ctx, const struct aws_request *req,
		   int (*sink_reset)(void *ud), aws_async_done_fn done, void *ud,
		   struct errbuf *err)
{
	struct acall *c = xcalloc(1, sizeof(*c));
	const char *p;
	size_t i;
	int rc;

	c->s = s;
	c->ctx = ctx;
	c->service = xstrdup(req->service);
	c->operation = xstrdup(req->operation ? req->operation : "request");
	c->subject = req->subject ? xstrdup(req->subject) : NULL;
	c->method = xstrdup(req->method);
	c->query = req->query ? xstrdup(req->query) : NULL;
	c->proto = req->proto;
	c->headers = xcalloc(req->nheaders + 1, sizeof(*c->headers));
	c->hstore = xcalloc(2 * req->nheaders + 1, sizeof(*c->hstore));
	for (i = 0; i < req->nheaders; i++) {
		c->hstore[2 * i] = xstrdup(req->headers[i].name);
		c->hstore[2 * i + 1] = xstrdup(req->headers[i].value);
		c->headers[i].name = c->hstore[2 * i];
		c->headers[i].value = c->hstore[2 * i + 1];
	}
	c->nheaders = req->nheaders;
	c->body = req->body;
	c->body_len = req->body_len;
	c->unsigned_payload = req->unsigned_payload;
	c->anonymous = req->anonymous;
	c->body_limit = req->body_limit;
	c->sink = req->sink;
	c->sink_ud = req->sink_ud;
	c->sink_reset = sink_reset;
	c->done = done;
	c->ud = ud;
	c->s3 = !strcmp(req->service, "s3");
	c->bucket = req->bucket ? xstrdup(req->bucket) : NULL;
	c->key = req->key ? xstrdup(req->key) : NULL;
	rc = aws_endpoint(ctx, req->service, req->region, &c->ep, err);
	if (rc)
		goto done;
	if (c->s3 && req->bucket) {
		rc = endpoint_s3_target(c->ep, req->bucket, req->key, &c->host, &c->path, err);
		if (rc)
			goto done;
	} else {
		c->host = xstrdup(c->ep->host);
		p = req->path ? req->path : "/";
		c->path = xasprintf("%s%s", c->ep->base_path ? c->ep->base_path : "", p);
	}
	c->url = make_url(c);
	rc = submit_attempt(c, err);
	if (rc)
		goto done;
	s->pending++;
done:
	if (rc)
		acall_free(c);
	return rc;
}

/* Drive the pool and the retry timers until *flag is true (flag NULL:
 * until every call is done). */
static int sched_run(struct aws_sched *s, const bool *flag, struct errbuf *err)
{
	int rc;

	for (;;) {
		struct acall **pp, *c, *due = NULL;
		long min = -1;
		bool expired;

		rc = flag ? http_pool_run_until(s->http, flag, err) : http_pool_run(s->http, err);
		if (rc)
			return rc;
		if ((flag && *flag) || !s->timers)
			break;
		for (c = s->timers; c; c = c->next)
			if (min < 0 || c->wait_ms < min)
				min = c->wait_ms;
		{
			/* never sleep past the run's deadline: what is resubmitted
			 * after it fails at once with the deadline's message */
			long long left = http_pool_time_left_ms(s->http);

			if (left >= 0 && min > left)
				min = (long)left;
			expired = left == 0;
		}
		if (min > 0)
			s->timers->ctx->sleep_ms(s->timers->ctx->sleep_ud, min);
		pp = &s->timers;
		while ((c = *pp)) {
			c->wait_ms -= min;
			if (c->wait_ms <= 0 || expired) {
				*pp = c->next;
				c->next = due;
				due = c;
			} else {
				pp = &c->next;
			}
		}
		while (due) {
			struct errbuf e;

			c = due;
			due = c->next;
			c->next = NULL;
			rc = submit_attempt(c, &e);
			if (rc)   /* e.g. the credential refresh failed: its code (as a first attempt) */
				finish(c, rc, NULL, NULL, e.msg);
		}
	}
	return 0;
}

int aws_sched_run(struct aws_sched *s, struct errbuf *err)
{
	return sched_run(s, NULL, err);
}

int aws_sched_run_until(struct aws_sched *s, const bool *flag, struct errbuf *err)
{
	return sched_run(s, flag, err);
}
