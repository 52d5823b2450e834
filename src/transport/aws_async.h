/* aws_async.h: asynchronous AWS calls over one HTTP pool (http.h
 * http_submit / http_pool_run), with the same signing, retry policy and
 * error parsing as the synchronous aws_call (aws.h): every attempt signed
 * with a fresh clock reading, retries in the "standard" mode (the context's
 * max_attempts, full-jitter backoff from its seeded RNG, its retry-token
 * bucket), throttling / 429 / 5xx / transient codes / resets / timeouts
 * retried, other 4xx never, RequestTimeTooSkewed reported as a clock problem.
 * As aws_call, once per call each: ExpiredToken / ExpiredTokenException
 * refreshes the credentials (ctx->refresh; one refresh for all the calls in
 * flight that fail together) and sends again; an S3 answer naming another
 * region (301/302/307, HEAD 400, AuthorizationHeaderMalformed,
 * PermanentRedirect with the region) is re-addressed and re-signed for that
 * region.  Neither costs a retry token or a backoff.
 *
 * A retry is a resubmission after its backoff delay.  http.h has no timers,
 * so delayed retries wait in the scheduler: aws_sched_run() drives the pool
 * until it is idle, then sleeps (ctx->sleep_ms) until the earliest retry is
 * due and resubmits what is due, and so on.  Delays are counted in slept
 * time only (library code reads no clock), so a retry never goes out
 * earlier than its backoff; it may go out later, when other work keeps the
 * pool busy.
 *
 * Streaming: a request with a sink and a sink_reset callback may be retried
 * after part of its body went to the sink (reset is called first, then the
 * request is sent again from the start); without sink_reset a streamed body
 * that has started is never retried (as aws_call).
 *
 * Single-threaded, like http.h.  Implemented in src/transport/aws_async.c.
 */
#ifndef TK_AWS_ASYNC_H
#define TK_AWS_ASYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "aws.h"
#include "awserr.h"
#include "err.h"
#include "http.h"

struct aws_sched;

/* One scheduler per HTTP pool.  *out NULL on failure (never fails today). */
int aws_sched_new(struct aws_sched **out, struct http_pool *http);
void aws_sched_free(struct aws_sched *s);

struct aws_async_result {
	int rc;                         /* 0 (2xx) or TK_ENOTFOUND, TK_EAUTH, TK_ENET, TK_ELIMIT, TK_EFAIL,
	                                   or a sink's own negative code (not retried) */
	struct http_response *resp;     /* the final response (2xx, or the error); owned by the
	                                   scheduler until the callback returns: move what you keep */
	const struct aws_error *error;  /* parsed AWS error (status 0, code NULL for transport errors) */
	const char *errmsg;             /* for rc != 0: "s3 GetObject 'b/k': 403 AccessDenied: ..." */
	int attempts;
};

typedef void (*aws_async_done_fn)(void *ud, struct aws_async_result *r);

/* Queue req (all strings and headers are copied; body is borrowed and must
 * stay valid until done).  done is called exactly once, from inside
 * aws_sched_run (never from here), unless this returns an error. */
int aws_call_async(struct aws_sched *s, struct aws_ctx *ctx, const struct aws_request *req,
		   int (*sink_reset)(void *ud), aws_async_done_fn done, void *ud,
		   struct errbuf *err);

/* Run until every call (and every call the callbacks add) is done. */
int aws_sched_run(struct aws_sched *s, struct errbuf *err);

/* The same, until *flag is true (aws_call: until its one call is done). */
int aws_sched_run_until(struct aws_sched *s, const bool *flag, struct errbuf *err);

/* Calls not yet completed. */
size_t aws_sched_pending(const struct aws_sched *s);

#endif
