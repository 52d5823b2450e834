/* aws.c: see aws.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws.h"
#include "aws_async.h"
#include "banned.h"

#define AWS_MAX_ATTEMPTS_DEFAULT 3
#define AWS_BACKOFF_CAP_S 20.0
#define AWS_RETRY_COST 5
#define AWS_RETRY_COST_TIMEOUT 10
#define AWS_REFRESH_MARGIN_S 300

static void default_sleep(void *ud, long ms)
{
	struct timespec ts;

	(void)ud;
	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static uint64_t rng_next(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int aws_ctx_init(struct aws_ctx *ctx, const struct aws_ctx_options *o, struct errbuf *err)
{
	memset(ctx, 0, sizeof(*ctx));
	if (!o->http || !o->region || !o->clock)
		return err_set(err, TK_EFAIL, "aws context needs an http pool, a region and a clock");
	ctx->http = o->http;
	ctx->region = xstrdup(o->region);
	ctx->endpoints = o->endpoints;
	ctx->epcache = o->endpoint_cache ? endpoint_cache_ref(o->endpoint_cache)
					 : endpoint_cache_new(o->endpoints);
	ctx->clock = o->clock;
	ctx->clock_ud = o->clock_ud;
	ctx->sleep_ms = o->sleep_ms ? o->sleep_ms : default_sleep;
	ctx->sleep_ud = o->sleep_ud;
	ctx->rng = o->seed;
	ctx->max_attempts = o->max_attempts > 0 ? o->max_attempts : AWS_MAX_ATTEMPTS_DEFAULT;
	ctx->backoff_scale = o->backoff_scale > 0 ? o->backoff_scale : 1.0;
	ctx->retry_tokens = AWS_RETRY_TOKENS;
	ctx->refresh = o->refresh;
	ctx->refresh_ud = o->refresh_ud;
	if (o->creds && o->creds->access_key_id && aws_creds_copy(&ctx->creds, o->creds)) {
		aws_ctx_release(ctx);
		return err_set(err, TK_EFAIL, "cannot copy credentials");
	}
	return 0;
}

void aws_ctx_release(struct aws_ctx *ctx)
{
	if (!ctx)
		return;
	aws_creds_release(&ctx->creds);
	free(ctx->region);
	endpoint_cache_unref(ctx->epcache);
	aws_error_release(&ctx->last_error);
	memset(ctx, 0, sizeof(*ctx));
}

int aws_ctx_clone(struct aws_ctx *out, const struct aws_ctx *src, const char *region,
		  const struct aws_creds *creds, struct errbuf *err)
{
	struct aws_ctx_options o = {
		.http = src->http,
		.creds = creds ? creds : &src->creds,
		.region = region ? region : src->region,
		.endpoints = src->endpoints,
		.endpoint_cache = src->epcache,
		.clock = src->clock,
		.clock_ud = src->clock_ud,
		.sleep_ms = src->sleep_ms,
		.sleep_ud = src->sleep_ud,
		.seed = src->rng ^ 0x5bd1e995u,
		.max_attempts = src->max_attempts,
		.backoff_scale = src->backoff_scale,
		.refresh = creds ? NULL : src->refresh,
		.refresh_ud = creds ? NULL : src->refresh_ud,
	};
	return aws_ctx_init(out, &o, err);
}

int aws_ctx_fork(struct aws_ctx *out, struct http_pool **pool, const struct aws_ctx *src,
		 const struct http_pool_options *http_opts, unsigned seq, struct errbuf *err)
{
	struct aws_ctx_options o;
	int rc;

	*pool = NULL;
	rc = http_pool_new(pool, http_opts, err);
	if (rc)
		return rc;
	memset(&o, 0, sizeof(o));
	o.http = *pool;
	o.creds = &src->creds;
	o.region = src->region;
	o.endpoints = src->endpoints;
	o.clock = src->clock;
	o.clock_ud = src->clock_ud;
	o.sleep_ms = src->sleep_ms;
	o.sleep_ud = src->sleep_ud;
	o.seed = src->rng + (uint64_t)seq * 7919u;
	o.max_attempts = src->max_attempts;
	o.backoff_scale = src->backoff_scale;
	rc = aws_ctx_init(out, &o, err);
	if (rc) {
		http_pool_free(*pool);
		*pool = NULL;
	}
	return rc;
}

int aws_query_add(struct buf *q, const char *name, const char *value)
{
	char *n = sigv4_uri_encode(name, strlen(name), false);
	char *v = value ? sigv4_uri_encode(value, strlen(value), false) : NULL;
	size_t was = q->len;
	int rc = 0;

	if (!n || (value && !v))
		rc = TK_ELIMIT;
	if (!rc && q->len)
		rc = buf_addc(q, '&');
	if (!rc)
		rc = buf_adds(q, n);
	if (!rc)
		rc = buf_addc(q, '=');
	if (!rc && v)
		rc = buf_adds(q, v);
	if (rc) {
		/* never a truncated pair: the query is left as it was */
		q->len = was;
		if (q->data)
			q->data[was] = '\0';
		rc = TK_ELIMIT;
	}
	free(n);
	free(v);
	return rc;
}

int aws_endpoint(struct aws_ctx *ctx, const char *service, const char *region,
		 const struct endpoint **out, struct errbuf *err)
{
	return endpoint_cache_get(ctx->epcache, service, region ? region : ctx->region, out, err);
}

int aws_refresh_creds(struct aws_ctx *ctx, time_t now, struct errbuf *err)
{
	struct aws_creds fresh = { 0 };
	int rc;

	if (!ctx->refresh || !ctx->creds.expiration || ctx->creds.expiration - now > AWS_REFRESH_MARGIN_S)
		return 0;
	rc = ctx->refresh(ctx->refresh_ud, &fresh, err);
	if (rc)
		return rc;
	aws_creds_release(&ctx->creds);
	ctx->creds = fresh;
	return 0;
}

long aws_retry_backoff_ms(struct aws_ctx *ctx, int attempt)
{
	double cap = 1.0, r;
	int i;

	for (i = 1; i < attempt && cap < AWS_BACKOFF_CAP_S; i++)
		cap *= 2;
	if (cap > AWS_BACKOFF_CAP_S)
		cap = AWS_BACKOFF_CAP_S;
	r = (double)(rng_next(&ctx->rng) >> 11) / (double)(1ULL << 53);
	return (long)(r * cap * 1000.0 * ctx->backoff_scale);
}

/* Take the tokens for one retry; false when the bucket is empty. */
bool aws_retry_take(struct aws_ctx *ctx, bool timeout, int *cost)
{
	int c = timeout ? AWS_RETRY_COST_TIMEOUT : AWS_RETRY_COST;

	if (ctx->retry_tokens < c || http_pool_time_left_ms(ctx->http) == 0)
		return false;   /* no tokens, or the run's deadline has passed */
	ctx->retry_tokens -= c;
	*cost = c;
	return true;
}

void aws_retry_success(struct aws_ctx *ctx, int attempt, int cost)
{
	if (attempt == 1) {
		if (ctx->retry_tokens < AWS_RETRY_TOKENS)
			ctx->retry_tokens++;
	} else {
		ctx->retry_tokens += cost;
		if (ctx->retry_tokens > AWS_RETRY_TOKENS)
			ctx->retry_tokens = AWS_RETRY_TOKENS;
	}
}

/* aws_call: one aws_call_async on a scheduler of its own, run until done. */
struct sync_call {
	struct aws_ctx *ctx;
	struct http_response *resp;
	int rc;
	bool done;
	char msg[ERRBUF_LEN];
};

static void sync_done(void *ud, struct aws_async_result *r)
{
	struct sync_call *sc = ud;

	sc->done = true;
	sc->rc = r->rc;
	http_response_move(sc->resp, r->resp);
	if (r->rc) {
		snprintf(sc->msg, sizeof(sc->msg), "%s", r->errmsg);
		aws_error_copy(&sc->ctx->last_error, r->error);
	}
}

int aws_call(struct aws_ctx *ctx, const struct aws_request *req, struct http_response *resp,
	     struct errbuf *err)
{
	struct sync_call sc;
	struct aws_sched *s = NULL;
	int rc;

	http_response_init(resp);
	ctx->last_attempts = 0;
	aws_error_release(&ctx->last_error);
	if (http_pool_in_run(ctx->http))
		return err_set(err, TK_EFAIL, "%s %s: aws_call called from a completion callback",
			       req->service, req->operation ? req->operation : "request");
	memset(&sc, 0, sizeof(sc));
	sc.ctx = ctx;
	sc.resp = resp;
	aws_sched_new(&s, ctx->http);
	rc = aws_call_async(s, ctx, req, NULL, sync_done, &sc, err);
	if (!rc)
		rc = aws_sched_run_until(s, &sc.done, err);
	if (!rc && !sc.done)
		rc = err_set(err, TK_EFAIL, "%s %s: the request did not complete", req->service,
			     req->operation ? req->operation : "request");
	if (!rc && sc.rc)
		rc = err_set(err, sc.rc, "%s", sc.msg);
	aws_sched_free(s);
	if (rc)
		http_response_release(resp);
	return rc;
}

/* One JSON request's parts (awsJson1_1 with a target: POST / with
 * X-Amz-Target; REST-JSON without: POST path).  r points into the struct:
 * it must not move while the request is in use. */
struct json_req {
	char *target;
	char *body;
	char *subject;
	struct sigv4_header h[2];
	struct aws_request r;
};

static int json_req_init(struct json_req *q, const char *service, const char *target_prefix,
			 const char *path, const char *op, const char *subject, json_t *in,
			 struct errbuf *err)
{
	json_t *empty = NULL;

	memset(q, 0, sizeof(*q));
	if (!in)
		in = empty = json_object();
	q->body = json_dumps(in, JSON_COMPACT);
	json_decref(empty);
	if (!q->body)
		return err_set(err, TK_EFAIL, "%s %s: cannot encode the request", service, op);
	q->target = target_prefix ? xasprintf("%s.%s", target_prefix, op) : NULL;
	q->subject = subject ? xstrdup(subject) : NULL;
	q->h[0].name = "Content-Type";
	q->h[0].value = q->target ? "application/x-amz-json-1.1" : "application/json";
	q->h[1].name = "X-Amz-Target";
	q->h[1].value = q->target;
	q->r.service = service;
	q->r.operation = op;
	q->r.subject = q->subject;
	q->r.proto = AWS_PROTO_JSON;
	q->r.method = "POST";
	q->r.path = path;
	q->r.headers = q->h;
	q->r.nheaders = q->target ? 2 : 1;
	q->r.body = q->body;
	q->r.body_len = strlen(q->body);
	q->r.body_limit = AWS_MAX_JSON_BODY;
	return 0;
}

static void json_req_release(struct json_req *q)
{
	free(q->target);
	free(q->body);
	free(q->subject);
}

/* A 2xx response's body as a JSON object (an empty body: {}) */
static int json_resp_parse(const struct json_req *q, const struct http_response *resp, json_t **out,
			   struct errbuf *err)
{
	json_t *parsed;
	json_error_t je;

	*out = NULL;
	if (resp->body.len == 0) {
		*out = json_object();
		return 0;
	}
	parsed = json_loadb(resp->body.data, resp->body.len, 0, &je);
	if (!parsed || !json_is_object(parsed)) {
		int rc = err_set(err, TK_EFAIL, "%s %s%s%s%s: malformed JSON response%s%.100s", q->r.service,
				 q->r.operation, q->subject ? " '" : "", q->subject ? q->subject : "",
				 q->subject ? "'" : "", parsed ? " (not an object)" : ": ", parsed ? "" : je.text);

		json_decref(parsed);
		return rc;
	}
	*out = parsed;
	return 0;
}

static int json_call(struct aws_ctx *ctx, const char *service, const char *target_prefix,
		     const char *path, const char *op, const char *subject, json_t *in, json_t **out,
		     struct errbuf *err)
{
	struct http_response resp;
	struct json_req q;
	json_t *parsed = NULL;
	int rc;

	if (out)
		*out = NULL;
	rc = json_req_init(&q, service, target_prefix, path, op, subject, in, err);
	if (!rc)
		rc = aws_call(ctx, &q.r, &resp, err);
	if (!rc) {
		rc = json_resp_parse(&q, &resp, &parsed, err);
		http_response_release(&resp);
	}
	if (!rc && out)
		*out = parsed;
	else
		json_decref(parsed);
	json_req_release(&q);
	return rc;
}

int aws_json_call(struct aws_ctx *ctx, const char *service, const char *target_prefix,
		  const char *op, const char *subject, json_t *in, json_t **out, struct errbuf *err)
{
	return json_call(ctx, service, target_prefix, "/", op, subject, in, out, err);
}

int aws_rest_json_call(struct aws_ctx *ctx, const char *service, const char *path, const char *op,
		       const char *subject, json_t *in, json_t **out, struct errbuf *err)
{
	return json_call(ctx, service, NULL, path, op, subject, in, out, err);
}

struct json_async {
	struct json_req q;
	aws_json_done_fn done;
	void *ud;
};

static void json_async_done(void *ud, struct aws_async_result *r)
{
	struct json_async *a = ud;
	struct errbuf e;
	json_t *out = NULL;
	int rc = r->rc;

	err_clear(&e);
	if (rc)
		err_set(&e, rc, "%s", r->errmsg);
	else
		rc = json_resp_parse(&a->q, r->resp, &out, &e);
	a->done(a->ud, rc, out, rc ? e.msg : NULL);
	json_req_release(&a->q);
	free(a);
}

int aws_json_call_async(struct aws_sched *s, struct aws_ctx *ctx, const char *service,
			const char *target_prefix, const char *op, const char *subject, json_t *in,
			aws_json_done_fn done, void *ud, struct errbuf *err)
{
	struct json_async *a = xcalloc(1, sizeof(*a));
	int rc = json_req_init(&a->q, service, target_prefix, "/", op, subject, in, err);

	a->done = done;
	a->ud = ud;
	if (!rc)
		rc = aws_call_async(s, ctx, &a->q.r, NULL, json_async_done, a, err);
	if (rc) {
		json_req_release(&a->q);
		free(a);
	}
	return rc;
}

/* One query-protocol request's parts (the body may hold a secret: wiped) */
struct query_req {
	struct buf body;
	char *subject;
	struct sigv4_header h[1];
	struct aws_request r;
};

static void query_req_release(struct query_req *q)
{
	if (q->body.data)
		memset(q->body.data, 0, q->body.len);
	buf_release(&q->body);
	free(q->subject);
}

static int query_req_init(struct query_req *q, const char *service, const char *version, const char *op,
			  const char *subject, const struct aws_param *params, size_t nparams,
			  bool anonymous, struct errbuf *err)
{
	size_t i;
	int rc;

	memset(q, 0, sizeof(*q));
	buf_init(&q->body, 1024 * 1024);
	rc = aws_query_add(&q->body, "Action", op);
	if (!rc)
		rc = aws_query_add(&q->body, "Version", version);
	for (i = 0; !rc && i < nparams; i++)
		rc = aws_query_add(&q->body, params[i].name, params[i].value);
	if (rc)
		return err_set(err, TK_ELIMIT, "%s %s%s%s%s: the request is larger than %zu bytes", service, op,
			       subject ? " '" : "", subject ? subject : "", subject ? "'" : "", q->body.limit);
	q->subject = subject ? xstrdup(subject) : NULL;
	q->h[0].name = "Content-Type";
	q->h[0].value = "application/x-www-form-urlencoded; charset=utf-8";
	q->r.service = service;
	q->r.operation = op;
	q->r.subject = q->subject;
	q->r.proto = AWS_PROTO_QUERY;
	q->r.method = "POST";
	q->r.path = "/";
	q->r.headers = q->h;
	q->r.nheaders = 1;
	q->r.body = q->body.data;
	q->r.body_len = q->body.len;
	q->r.body_limit = AWS_MAX_XML_BODY;
	q->r.anonymous = anonymous;
	return 0;
}

/* A 2xx response's body as XML; the body is wiped (it may hold credentials) */
static int query_resp_parse(const struct query_req *q, struct http_response *resp, struct xml_doc *out,
			    struct errbuf *err)
{
	struct errbuf xe;
	int rc = xml_parse(out, resp->body.data ? resp->body.data : "", resp->body.len, &xe);

	if (rc)
		rc = err_set(err, rc, "%s %s%s%s%s: %s", q->r.service, q->r.operation, q->subject ? " '" : "",
			     q->subject ? q->subject : "", q->subject ? "'" : "", xe.msg);
	if (resp->body.data)
		memset(resp->body.data, 0, resp->body.len);
	return rc;
}

static int query_call(struct aws_ctx *ctx, const char *service, const char *version, const char *op,
		      const char *subject, const struct aws_param *params, size_t nparams,
		      bool anonymous, struct xml_doc *out, struct errbuf *err)
{
	struct http_response resp;
	struct query_req q;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = query_req_init(&q, service, version, op, subject, params, nparams, anonymous, err);
	if (!rc)
		rc = aws_call(ctx, &q.r, &resp, err);
	if (!rc) {
		rc = query_resp_parse(&q, &resp, out, err);
		http_response_release(&resp);
	}
	query_req_release(&q);
	return rc;
}

int aws_query_call(struct aws_ctx *ctx, const char *service, const char *version, const char *op,
		   const char *subject, const struct aws_param *params, size_t nparams,
		   struct xml_doc *out, struct errbuf *err)
{
	return query_call(ctx, service, version, op, subject, params, nparams, false, out, err);
}

int aws_query_call_anonymous(struct aws_ctx *ctx, const char *service, const char *version,
			     const char *op, const char *subject, const struct aws_param *params,
			     size_t nparams, struct xml_doc *out, struct errbuf *err)
{
	return query_call(ctx, service, version, op, subject, params, nparams, true, out, err);
}

struct query_async {
	struct query_req q;
	aws_xml_done_fn done;
	void *ud;
};

static void query_async_done(void *ud, struct aws_async_result *r)
{
	struct query_async *a = ud;
	struct xml_doc doc;
	struct errbuf e;
	int rc = r->rc;

	memset(&doc, 0, sizeof(doc));
	err_clear(&e);
	if (rc)
		err_set(&e, rc, "%s", r->errmsg);
	else
		rc = query_resp_parse(&a->q, r->resp, &doc, &e);
	a->done(a->ud, rc, rc ? NULL : &doc, rc ? e.msg : NULL);
	xml_doc_release(&doc);
	query_req_release(&a->q);
	free(a);
}

int aws_query_call_async(struct aws_sched *s, struct aws_ctx *ctx, const char *service,
			 const char *version, const char *op, const char *subject,
			 const struct aws_param *params, size_t nparams, aws_xml_done_fn done, void *ud,
			 struct errbuf *err)
{
	struct query_async *a = xcalloc(1, sizeof(*a));
	int rc = query_req_init(&a->q, service, version, op, subject, params, nparams, false, err);

	a->done = done;
	a->ud = ud;
	if (!rc)
		rc = aws_call_async(s, ctx, &a->q.r, NULL, query_async_done, a, err);
	if (rc) {
		query_req_release(&a->q);
		free(a);
	}
	return rc;
}

int aws_s3_call(struct aws_ctx *ctx, const struct aws_s3_request *r, struct http_response *resp,
		struct errbuf *err)
{
	struct sigv4_header *h = xcalloc(r->nheaders + 1, sizeof(*h));
	char md5[25];
	char *subject = NULL;
	size_t n = 0, i;
	int rc;

	for (i = 0; i < r->nheaders; i++)
		h[n++] = r->headers[i];
	if (r->content_md5) {
		http_content_md5(r->body ? r->body : "", r->body_len, md5);
		h[n].name = "Content-MD5";
		h[n].value = md5;
		n++;
	}
	if (r->bucket)
		subject = r->key ? xasprintf("%s/%s", r->bucket, r->key) : xstrdup(r->bucket);
	{
		struct aws_request a = {
			.service = "s3", .operation = r->operation, .subject = subject,
			.proto = AWS_PROTO_RESTXML, .region = r->region, .method = r->method,
			.bucket = r->bucket, .key = r->key, .query = r->query, .headers = h, .nheaders = n,
			.body = r->body, .body_len = r->body_len, .body_limit = r->body_limit,
			.sink = r->sink, .sink_ud = r->sink_ud,
		};
		rc = aws_call(ctx, &a, resp, err);
	}
	free(subject);
	free(h);
	return rc;
}

int aws_s3_call_xml(struct aws_ctx *ctx, const struct aws_s3_request *r, struct xml_doc *out,
		    struct errbuf *err)
{
	struct http_response resp;
	struct errbuf xe;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = aws_s3_call(ctx, r, &resp, err);
	if (rc)
		return rc;
	rc = xml_parse(out, resp.body.data ? resp.body.data : "", resp.body.len, &xe);
	if (rc) {
		if (r->key)
			err_set(err, rc, "s3 %s '%s/%s': %s", r->operation, r->bucket, r->key, xe.msg);
		else
			err_set(err, rc, "s3 %s '%s': %s", r->operation, r->bucket ? r->bucket : "", xe.msg);
	}
	http_response_release(&resp);
	return rc;
}

char *aws_json_strdup(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? xstrndup(json_string_value(v), json_string_length(v)) : NULL;
}

int aws_json_bool(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_boolean(v) ? json_is_true(v) : -1;
}

time_t aws_json_time(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	double d;

	if (!json_is_number(v))
		return 0;
	d = json_number_value(v);
	if (!(d > 0) || d > 1e11)
		return 0;
	return (time_t)d;
}
