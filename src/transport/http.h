/* http.h: HTTP on libcurl.  One pool = one CURLM multi handle with
 * connection reuse and a bounded number of requests in flight; an async API
 * (submit with a completion callback, http_pool_run drives everything; a
 * callback may submit more) and a synchronous wrapper (http_do).
 *
 * TLS verification is always on.  `insecure` (--no-verify-ssl) is refused
 * for every host that is not loopback (127.0.0.0/8, ::1, localhost): the
 * check is made here, per request.  Proxies: curl's own environment handling
 * (http_proxy, https_proxy, no_proxy) is left alone.  Redirects are not
 * followed (AWS redirects are errors the caller handles).
 *
 * Response bodies are either streamed to a sink callback (2xx only: error
 * bodies are always collected, for parsing) or collected into a struct buf
 * with a per-request limit (HTTP_MAX_BODY by default; more -> TK_ELIMIT).
 * Response headers are captured with lower-cased names, at most
 * HTTP_MAX_HEADERS headers and HTTP_MAX_HEADER_BYTES bytes.
 *
 * The debug callback (for -v) sees request and response header lines with
 * the values of Authorization and X-Amz-Security-Token replaced by
 * "[redacted]"; bodies are never shown.
 *
 * Library code: nothing here prints, exits or reads the environment.
 * Implemented in src/transport/http.c. */
#ifndef TK_HTTP_H
#define TK_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "buf.h"

#define HTTP_MAX_BODY (8u * 1024 * 1024)     /* default limit of a collected body */
#define HTTP_MAX_HEADERS 128                 /* response header lines */
#define HTTP_MAX_HEADER_BYTES (64 * 1024)    /* all response header bytes */
#define HTTP_DEFAULT_IN_FLIGHT 64
#define HTTP_LOW_SPEED_LIMIT 1024            /* bytes/s ... */
#define HTTP_LOW_SPEED_TIME_S 30             /* ... for this long: stalled */
#define HTTP_COLLECT_TIMEOUT_MS 120000       /* a collected (small) answer, whole */

struct http_pool;

struct http_pool_options {
	int max_in_flight;          /* requests in flight (and connections); 0: 64 */
	const char *ca_bundle;      /* CURLOPT_CAINFO (--ca-bundle / AWS_CA_BUNDLE); NULL: system */
	bool insecure;              /* skip TLS verification: loopback hosts only */
	long connect_timeout_ms;    /* 0: 10000 */
	/* a stalled transfer: aborted when it moves less than low_speed_limit
	 * bytes/s (up or down, curl's 5-second average) for low_speed_time_s
	 * seconds; this also bounds the wait for the first byte.  A trickle of
	 * a byte a second fails it; a large log file at a sane rate never does */
	long low_speed_time_s;      /* 0: HTTP_LOW_SPEED_TIME_S */
	long low_speed_limit;       /* 0: HTTP_LOW_SPEED_LIMIT */
	long timeout_ms;            /* whole request; 0: none */
	long collect_timeout_ms;    /* whole request when the body is collected (not
	                               streamed to a sink: answers up to 8 MiB, never a
	                               log file); 0: HTTP_COLLECT_TIMEOUT_MS; -1: none */
	/* The run's deadline (--timeout): no request starts at or after it and
	 * running ones are aborted at it (resp->deadline, not retryable).
	 * now_ms is a monotonic clock in ms given by the command layer (library
	 * code reads no clock); deadline_ms is in that clock; 0: none. */
	long long (*now_ms)(void);
	long long deadline_ms;
	const char *user_agent;     /* NULL: "trailkeep" */
	/* -v: called with one line (no newline) per header line sent/received
	 * and curl's informational text; secrets redacted */
	void (*debug)(void *ud, const char *line);
	void *debug_ud;
};

/* Streaming sink: called with each chunk of a 2xx body.  Return 0, or a
 * negative tk_err to abort the transfer (the response then carries that
 * code). */
typedef int (*http_sink_fn)(void *ud, const void *data, size_t n);

struct http_request {
	const char *method;          /* "GET", "PUT", "POST", "DELETE", "HEAD" */
	const char *url;             /* full URL, already percent-encoded */
	const char *const *headers;  /* "Name: value" lines (copied at submit) */
	size_t nheaders;
	const void *body;            /* borrowed: must stay valid until done */
	size_t body_len;
	size_t body_limit;           /* collected-body limit; 0: HTTP_MAX_BODY */
	http_sink_fn sink;           /* NULL: collect the body into resp->body */
	void *sink_ud;
	long timeout_ms;             /* 0: the pool's */
};

struct http_header {
	char *name;                  /* lower case */
	char *value;                 /* trimmed */
};

struct http_response {
	int result;                  /* 0, or TK_ENET (transport), TK_ELIMIT, a sink's code */
	long status;                 /* HTTP status; 0 when no response arrived */
	bool timed_out;              /* the transport error was a timeout */
	bool deadline;               /* stopped by the run's deadline (not retryable) */
	bool retryable;              /* transport error worth a retry (reset, timeout, ...) */
	bool streamed;               /* at least one byte went to the sink */
	char errmsg[256];            /* for result != 0: what went wrong (no secrets) */
	struct http_header *headers;
	size_t nheaders;
	size_t aheaders;             /* allocated elements of headers */
	size_t header_bytes;
	struct buf body;             /* collected body (or the error body when streaming) */
};

/* The pool.  *out is NULL on failure. */
int http_pool_new(struct http_pool **out, const struct http_pool_options *opt, struct errbuf *err);
void http_pool_free(struct http_pool *p);

/* Completion callback: resp belongs to the pool and is released after the
 * callback returns; move what you keep (e.g. http_response_move). */
typedef void (*http_done_fn)(void *ud, struct http_response *resp);

/* Queue a request (it starts when a slot is free).  Errors here (bad URL,
 * insecure for a non-loopback host) are returned at once and done is not
 * called. */
int http_submit(struct http_pool *p, const struct http_request *req, http_done_fn done,
		void *ud, struct errbuf *err);
/* Drive every queued and running request to completion (callbacks may
 * submit more).  Returns 0, or TK_EFAIL when curl itself fails. */
int http_pool_run(struct http_pool *p, struct errbuf *err);
/* The same, until *flag is true or nothing is pending (aws_call's run).
 * Not to be called from a done callback (TK_EFAIL). */
int http_pool_run_until(struct http_pool *p, const bool *flag, struct errbuf *err);
/* Is the pool being driven (are we inside a done callback)? */
bool http_pool_in_run(const struct http_pool *p);
/* Number of requests queued or running. */
size_t http_pool_pending(const struct http_pool *p);

/* Synchronous: submit and run until this request is done (other queued
 * requests make progress too).  Not to be called from a done callback.
 * Returns 0 when a response (any status) arrived, else resp->result with
 * the message in err; *resp is filled in both cases. */
int http_do(struct http_pool *p, const struct http_request *req, struct http_response *resp,
	    struct errbuf *err);

void http_response_init(struct http_response *r);
void http_response_release(struct http_response *r);
/* *dst = *src; src left empty (released state). */
void http_response_move(struct http_response *dst, struct http_response *src);
/* Value of a response header (name case-insensitive), NULL when absent. */
const char *http_header_get(const struct http_response *r, const char *name);

/* base64 of the binary MD5 of data (S3 Content-MD5): out must hold 25 bytes. */
void http_content_md5(const void *data, size_t n, char out[25]);

/* The one URL parser (libcurl's URL API, CURLU): used for request URLs
 * here, endpoint URLs (endpoint.c) and `trailkeep sign --url`.  Parts are
 * malloc'd copies, NULL when absent (a scheme is always there); scheme
 * lower case; host as curl gives
 * it (an IPv6 literal in brackets); path "/" when empty; has_userinfo when
 * the URL names a user or password (never copied).  as_is: keep the path
 * as written (no "." / ".." removal) and accept spaces (sign signs what it
 * is given).  0, or TK_EUSAGE with "'URL' is not a valid URL (curl's
 * reason)" (the URL shown without user information, query or fragment). */
struct http_url {
	char *scheme, *host, *port, *path, *query, *fragment;
	bool has_userinfo;
};
int http_url_parse(struct http_url *out, const char *url, bool as_is, struct errbuf *err);
void http_url_release(struct http_url *u);

/* Is the host of url a loopback address or "localhost"? */
bool http_url_is_loopback(const char *url);
/* Does url send in the clear to another machine?  1 for plain http to a
 * host that is neither loopback nor one of hosts (a NULL-terminated list of
 * names or IP addresses; NULL: none), with *host_out (malloc'd, when
 * host_out is not NULL) naming it; 0 for https or an allowed host; -1 when
 * url does not parse.  Never reads the user information. */
int http_url_cleartext(const char *url, const char *const *hosts, char **host_out);

/* Milliseconds left before the pool's deadline: -1 when it has none, 0
 * when it has passed. */
long long http_pool_time_left_ms(const struct http_pool *p);

/* The message of a request stopped by the deadline. */
#define HTTP_DEADLINE_MSG "stopped: the run's time limit (--timeout) is up"

#endif
