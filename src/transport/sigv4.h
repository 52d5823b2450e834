/* sigv4.h: AWS Signature Version 4, pure library code (the time is a
 * parameter; nothing here reads the clock or the environment).
 * Implemented in src/transport/sigv4.c.  See aws-wire.md section 7.1. */
#ifndef TK_SIGV4_H
#define TK_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "err.h"

/* Credentials.  Secrets are wiped (OPENSSL_cleanse) by aws_creds_release. */
struct aws_creds {
	char *access_key_id;
	char *secret_access_key;
	char *session_token;     /* NULL for long-term keys */
	time_t expiration;       /* 0 = does not expire */
	char *source;            /* where they came from, for -v: "environment", "profile 'x'", ... */
};
void aws_creds_release(struct aws_creds *c);
int aws_creds_copy(struct aws_creds *out, const struct aws_creds *in);

struct sigv4_header {
	const char *name;
	const char *value;
};

/* A request as it will be sent.  path and query are exactly what goes on the
 * wire (already percent-encoded once); the signer re-encodes/normalises as
 * the rules of the service require. */
struct sigv4_request {
	const char *method;                 /* "GET", "POST", ... */
	const char *host;                   /* host[:port] as in the Host header */
	const char *path;                   /* "/bucket/key%20x" */
	const char *query;                  /* "list-type=2&prefix=AWSLogs%2F" or NULL */
	const struct sigv4_header *headers; /* extra headers to send and sign (not host/x-amz-date) */
	size_t nheaders;
	const void *body;                   /* NULL with body_len 0 for none */
	size_t body_len;
	const char *payload_hash;           /* NULL: SHA-256 of body; or "UNSIGNED-PAYLOAD" */
};

struct sigv4_params {
	const char *region;
	const char *service;                /* signing name: "s3", "cloudtrail", ... */
	time_t when;
	const struct aws_creds *creds;
	bool s3_rules;                      /* S3: path as sent, x-amz-content-sha256 */
	bool presign;                       /* query-string form (X-Amz-* in the query) */
	long presign_expires;               /* seconds, with presign */
};

/* The result: headers to add to the request (in order), and the stages for
 * debugging (`trailkeep sign`) and tests.  Everything owned by the result. */
struct sigv4_result {
	char *canonical_request;
	char *string_to_sign;
	char *signature;                    /* lower-case hex */
	char *signed_headers;               /* "host;x-amz-date" */
	char *authorization;                /* header value; NULL with presign */
	char *presigned_query;              /* with presign: the full new query string */
	struct { char *name; char *value; } add[4];  /* in this order, each when used:
	                                               X-Amz-Security-Token, X-Amz-Date,
	                                               x-amz-content-sha256, Authorization */
	size_t nadd;
};

int sigv4_sign(struct sigv4_result *out, const struct sigv4_request *req,
	       const struct sigv4_params *p, struct errbuf *err);
void sigv4_result_release(struct sigv4_result *r);

/* The canonicalisation choices behind s3_rules, for callers (and the test
 * vectors) that need them separately.  sigv4_sign() uses
 *   s3_rules:  { .normalize_path = false, .encode_path = false, .content_sha256_header = true }
 *   otherwise: { .normalize_path = true,  .encode_path = true,  .content_sha256_header = false } */
struct sigv4_options {
	bool normalize_path;          /* remove "." / ".." segments and empty segments */
	bool encode_path;             /* percent-encode the (already encoded) path again */
	bool content_sha256_header;   /* header form: add and sign x-amz-content-sha256 */
	bool omit_session_token;      /* send X-Amz-Security-Token but do not sign it */
};
int sigv4_sign_ex(struct sigv4_result *out, const struct sigv4_request *req,
		  const struct sigv4_params *p, const struct sigv4_options *opt,
		  struct errbuf *err);

/* The signing key is cached per (secret, day, region, service) in a small
 * process-wide cache guarded by a mutex (signing from several threads is
 * safe, though the HTTP layer signs from one).  The cache identifies a
 * secret by its SHA-256, never stores the secret, and is wiped with
 * OPENSSL_cleanse by sigv4_cache_clear() (call it before exit). */
void sigv4_cache_clear(void);

/* Canonicalisation steps, exposed for unit tests.  Each returns 0 or a
 * negative tk_err; outputs are malloc'd. */
/* path (as sent) -> canonical URI */
int sigv4_canonical_uri(char **out, const char *path, bool normalize, bool encode,
			struct errbuf *err);
/* query (as sent, without '?', may be NULL) -> canonical query: each name and
 * value percent-decoded then strictly re-encoded, pairs sorted by name then
 * value, "name=" for valueless names, empty "&&" segments dropped. */
int sigv4_canonical_query(char **out, const char *query, struct errbuf *err);
/* headers -> "name:value\n"... (names lower-case, values trimmed, internal
 * whitespace collapsed, repeated names joined with ',' in order, sorted) and
 * "name;name".  user-agent, expect and x-amzn-trace-id are not signed. */
int sigv4_canonical_headers(char **canon, char **signed_list, const struct sigv4_header *h,
			    size_t n, struct errbuf *err);
/* lower-case hex SHA-256 of data into hex[65] */
void sigv4_sha256_hex(const void *data, size_t len, char hex[65]);

/* Percent-encoding helpers shared with the HTTP clients.
 * uri_encode: RFC 3986 unreserved kept; keep_slash keeps '/'.  Returns malloc'd. */
char *sigv4_uri_encode(const char *s, size_t n, bool keep_slash);
/* The value of hex digit c (either case), or -1. */
int sigv4_hexval(int c);
/* Decode %XX in s[0..n) into out (room for n + 1 bytes; NUL-terminated);
 * a '%' not followed by two hex digits stays as is; plus_space turns '+'
 * into ' ' (form/S3 encoding-type=url), else '+' stays.  Returns the length. */
size_t sigv4_pct_decode(char *out, const char *s, size_t n, bool plus_space);

#endif
