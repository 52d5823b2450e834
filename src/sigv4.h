/* sigv4.h: AWS Signature Version 4, pure library code (the time is a
 * parameter; nothing here reads the clock or the environment).
 * Implemented in src/sigv4.c.  See aws-wire.md section 7.1. */
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
	struct { char *name; char *value; } add[4];  /* X-Amz-Date, x-amz-content-sha256,
	                                               X-Amz-Security-Token, Authorization */
	size_t nadd;
};

int sigv4_sign(struct sigv4_result *out, const struct sigv4_request *req,
	       const struct sigv4_params *p, struct errbuf *err);
void sigv4_result_release(struct sigv4_result *r);

/* Percent-encoding helpers shared with the HTTP clients.
 * uri_encode: RFC 3986 unreserved kept; keep_slash keeps '/'.  Returns malloc'd. */
char *sigv4_uri_encode(const char *s, size_t n, bool keep_slash);

#endif
