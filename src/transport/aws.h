/* aws.h: the AWS client context: credentials, region, endpoints
 * (endpoint.h), SigV4 signing (sigv4.h) with the time from a clock function
 * (library code never reads the clock), retries in the AWS "standard" mode,
 * error parsing (awserr.h), and one helper per protocol.
 *
 * Retries: at most max_attempts (default 3) attempts; full-jitter backoff
 * rand(0,1) * min(2^(attempt-1), 20) s, times backoff_scale, from a seeded
 * RNG in the context; a retry-token bucket (500 tokens, a retry costs 5, 10
 * after a timeout, a success without retry returns 1, a success after a
 * retry refunds its cost; empty bucket: no more retries).  Retried:
 * throttling codes, 429, 5xx, transient codes, connection resets and
 * timeouts.  Never: other 4xx.  RequestTimeTooSkewed is reported as a clock
 * problem and not retried.  Every attempt is signed again with a fresh
 * clock reading.  A streamed body that has started is never retried.
 *
 * Errors: the message in err reads
 *   s3 GetObject 'bucket/key': 403 AccessDenied: Access Denied (request id X)
 * and the parsed error stays in ctx->last_error (code for doctor).
 * Return codes: TK_ENOTFOUND, TK_EAUTH, TK_ENET (transport failure after
 * retries), TK_ELIMIT (body over its limit), TK_EFAIL.
 * Implemented in src/transport/aws.c. */
#ifndef TK_AWS_H
#define TK_AWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "awserr.h"
#include "endpoint.h"
#include "err.h"
#include "http.h"
#include "sigv4.h"
#include "xml.h"

#define AWS_MAX_JSON_BODY (8u * 1024 * 1024)
#define AWS_MAX_XML_BODY (8u * 1024 * 1024)
#define AWS_RETRY_TOKENS 500

struct aws_ctx_options {
	struct http_pool *http;              /* borrowed; required */
	const struct aws_creds *creds;       /* copied */
	const char *region;                  /* required */
	const struct endpoint_config *endpoints;  /* borrowed (NULL: AWS defaults) */
	/* the run's resolved endpoints (endpoint.h), shared: the context takes
	 * a reference.  NULL: a cache of its own over endpoints */
	struct endpoint_cache *endpoint_cache;
	time_t (*clock)(void *ud);           /* required: the command layer passes cli_now */
	void *clock_ud;
	void (*sleep_ms)(void *ud, long ms); /* NULL: nanosleep */
	void *sleep_ud;
	uint64_t seed;                       /* backoff RNG seed */
	int max_attempts;                    /* 0: 3 */
	double backoff_scale;                /* 0: 1.0; tests use a small value */
	/* optional: new credentials when the current ones expire within 5 minutes */
	int (*refresh)(void *ud, struct aws_creds *out, struct errbuf *err);
	void *refresh_ud;
};

struct aws_ctx {
	struct http_pool *http;
	struct aws_creds creds;
	char *region;
	const struct endpoint_config *endpoints;
	struct endpoint_cache *epcache;      /* one reference; shared with clones */
	time_t (*clock)(void *ud);
	void *clock_ud;
	void (*sleep_ms)(void *ud, long ms);
	void *sleep_ud;
	uint64_t rng;
	int max_attempts;
	double backoff_scale;
	int retry_tokens;
	int (*refresh)(void *ud, struct aws_creds *out, struct errbuf *err);
	void *refresh_ud;
	struct aws_error last_error;         /* the last AWS error (status 0 for transport errors) */
	int last_attempts;                   /* attempts made by the last call */
	long total_retries;                  /* retries made through this context */
};

int aws_ctx_init(struct aws_ctx *ctx, const struct aws_ctx_options *o, struct errbuf *err);
void aws_ctx_release(struct aws_ctx *ctx);
/* The same settings with another region and/or credentials (NULL: keep). */
int aws_ctx_clone(struct aws_ctx *out, const struct aws_ctx *src, const char *region,
		  const struct aws_creds *creds, struct errbuf *err);

/* A context for another thread: the settings of src, its credentials as
 * they are now (no refresh: src's refresh state is not shared across
 * threads; calls after they expire fail, never pass), a new HTTP pool made
 * with http_opts (*pool, the caller frees it after aws_ctx_release), an
 * endpoint cache of its own, the backoff RNG seeded from src and seq.
 * Returns 0 or an error (nothing to release). */
int aws_ctx_fork(struct aws_ctx *out, struct http_pool **pool, const struct aws_ctx *src,
		 const struct http_pool_options *http_opts, unsigned seq, struct errbuf *err);

/* One request with signing, retries and error parsing (all protocols). */
struct aws_request {
	const char *service;        /* endpoint service: "s3", "cloudtrail", "kms", "sts", "organizations" */
	const char *operation;      /* for messages: "GetObject" */
	const char *subject;        /* for messages: "bucket/key" (NULL: none) */
	enum aws_proto proto;
	const char *region;         /* NULL: the context's */
	const char *method;
	const char *bucket;         /* S3: addressed via endpoint_s3_target (NULL: service root) */
	const char *key;            /* S3 object key (raw, encoded here) */
	const char *path;           /* non-S3: path ("/" when NULL) */
	const char *query;          /* encoded query without '?' (NULL: none) */
	const struct sigv4_header *headers;
	size_t nheaders;
	const void *body;
	size_t body_len;
	bool unsigned_payload;      /* S3: UNSIGNED-PAYLOAD */
	bool anonymous;             /* not signed (STS AssumeRoleWithWebIdentity) */
	size_t body_limit;          /* 0: 8 MiB */
	http_sink_fn sink;          /* S3 GetObject streaming */
	void *sink_ud;
};

/* 0 with *resp holding the 2xx response (caller releases), or an error
 * (resp released/empty).  A thin wrapper over aws_call_async
 * (aws_async.h): the call runs on a scheduler of its own over ctx->http
 * until it is done, so sync and async calls share one retry engine.  Not to
 * be called from an HTTP or async completion callback (TK_EFAIL). */
int aws_call(struct aws_ctx *ctx, const struct aws_request *req, struct http_response *resp,
	     struct errbuf *err);

/* awsJson1_1: POST / with X-Amz-Target: <target_prefix>.<op>; in NULL sends
 * {}; *out gets the parsed response object (caller decrefs).  out may be NULL. */
int aws_json_call(struct aws_ctx *ctx, const char *service, const char *target_prefix,
		  const char *op, const char *subject, json_t *in, json_t **out, struct errbuf *err);

/* REST-JSON with a POST body (Account Management): POST path with
 * Content-Type application/json; in NULL sends {}; *out as aws_json_call. */
int aws_rest_json_call(struct aws_ctx *ctx, const char *service, const char *path, const char *op,
		       const char *subject, json_t *in, json_t **out, struct errbuf *err);
/* Query protocol (STS): Action=op&Version=version&k=v...; params are
 * name/value pairs (raw; encoded here), nparams pairs.  *out is the parsed
 * XML response (caller releases). */
struct aws_param {
	const char *name;
	const char *value;
};
int aws_query_call(struct aws_ctx *ctx, const char *service, const char *version, const char *op,
		   const char *subject, const struct aws_param *params, size_t nparams,
		   struct xml_doc *out, struct errbuf *err);
/* The same, unsigned (no credentials needed). */
int aws_query_call_anonymous(struct aws_ctx *ctx, const char *service, const char *version,
			     const char *op, const char *subject, const struct aws_param *params,
			     size_t nparams, struct xml_doc *out, struct errbuf *err);

/* Asynchronous forms (aws_async.h: queued on s, completed in its run) of
 * aws_json_call and aws_query_call, with the same requests, errors and
 * messages.  done is called exactly once unless this returns an error:
 * rc 0 with out (JSON: the caller's, decref it; XML: valid during the
 * callback only: the callback wipes what is secret in it) or rc with
 * errmsg. */
struct aws_sched;
typedef void (*aws_json_done_fn)(void *ud, int rc, json_t *out, const char *errmsg);
typedef void (*aws_xml_done_fn)(void *ud, int rc, const struct xml_doc *out, const char *errmsg);
int aws_json_call_async(struct aws_sched *s, struct aws_ctx *ctx, const char *service,
			const char *target_prefix, const char *op, const char *subject, json_t *in,
			aws_json_done_fn done, void *ud, struct errbuf *err);
int aws_query_call_async(struct aws_sched *s, struct aws_ctx *ctx, const char *service,
			 const char *version, const char *op, const char *subject,
			 const struct aws_param *params, size_t nparams, aws_xml_done_fn done, void *ud,
			 struct errbuf *err);

/* S3 REST-XML: method on bucket (and key), query (encoded), headers, body;
 * with sink the 2xx body streams there, else it is collected into *resp. */
struct aws_s3_request {
	const char *method;
	const char *operation;
	const char *bucket;
	const char *key;
	const char *query;
	const struct sigv4_header *headers;
	size_t nheaders;
	const void *body;
	size_t body_len;
	bool content_md5;           /* add Content-MD5 of the body */
	const char *region;         /* NULL: the context's */
	http_sink_fn sink;
	void *sink_ud;
	size_t body_limit;
};
int aws_s3_call(struct aws_ctx *ctx, const struct aws_s3_request *r, struct http_response *resp,
		struct errbuf *err);
/* aws_s3_call, then parse the body as XML into *out. */
int aws_s3_call_xml(struct aws_ctx *ctx, const struct aws_s3_request *r, struct xml_doc *out,
		    struct errbuf *err);

/* The retry policy's pieces, shared with the asynchronous path
 * (aws_async.h) so both use one RNG, one token bucket and one refresh rule:
 * the full-jitter backoff of attempt (ms, times backoff_scale); taking the
 * tokens of one retry (false: bucket empty); the bucket's refund after a
 * success (attempt: the attempts it took; cost: what its retries took);
 * refreshing credentials that expire within 5 minutes. */
long aws_retry_backoff_ms(struct aws_ctx *ctx, int attempt);
bool aws_retry_take(struct aws_ctx *ctx, bool timeout, int *cost);
void aws_retry_success(struct aws_ctx *ctx, int attempt, int cost);
int aws_refresh_creds(struct aws_ctx *ctx, time_t now, struct errbuf *err);

/* The endpoint of service in region (NULL: the context's), from the
 * run's endpoint cache: resolved once per (service, region). */
int aws_endpoint(struct aws_ctx *ctx, const char *service, const char *region,
		 const struct endpoint **out, struct errbuf *err);

/* Typed reads of JSON response members (wrong types read as absent). */
char *aws_json_strdup(const json_t *o, const char *key);   /* NULL when absent */
int aws_json_bool(const json_t *o, const char *key);       /* 1, 0, -1 absent */
time_t aws_json_time(const json_t *o, const char *key);    /* epoch seconds (int or real); 0 absent */

/* Append name=value to a query string being built (strict SigV4 encoding;
 * value NULL gives "name=").  0, or TK_ELIMIT when q's limit is reached
 * (q is then left as it was: never a truncated pair). */
int aws_query_add(struct buf *q, const char *name, const char *value);

#endif
