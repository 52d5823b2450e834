/* awserr.h: one error value for every AWS protocol, parsed from
 *   S3 REST-XML   <Error><Code/><Message/><RequestId/>[<Region/>]</Error>
 *   query (STS)   <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>
 *   JSON          {"__type": "ns#Code:extra", "message"|"Message": "..."}
 *                 (code after the last '#', before any ':'; x-amzn-query-error
 *                 "Code;Sender" wins when present)
 *   HEAD / empty  from the status only (404 NotFound, 403 Forbidden, ...)
 * Malformed, truncated, oversized or wrongly typed bodies never fail: the
 * error then carries the status and a note saying the body was unreadable.
 * Server text is cleaned (control characters replaced, length capped).
 * Implemented in src/transport/awserr.c. */
#ifndef TK_AWSERR_H
#define TK_AWSERR_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

enum aws_proto { AWS_PROTO_RESTXML, AWS_PROTO_QUERY, AWS_PROTO_JSON };

struct aws_error {
	char *service;      /* "s3", "cloudtrail", ... */
	char *operation;    /* "GetObject" */
	char *subject;      /* "bucket/key", trail name, ... or NULL */
	long status;        /* HTTP status (0: no response) */
	char *code;         /* "AccessDenied", or NULL when unknown */
	char *message;      /* server message, or a note; NULL when none */
	char *request_id;   /* NULL when none */
	char *region;       /* S3: <Region> of AuthorizationHeaderMalformed / x-amz-bucket-region */
};

/* Fill e (code, message, request_id, region; status) from a response.
 * headers: a lookup function for response headers (may be NULL). */
void aws_error_parse(struct aws_error *e, enum aws_proto proto, long status, const char *body,
		     size_t len, const char *(*header)(void *ud, const char *name), void *hud);
/* Set service/operation/subject (copied; NULL allowed). */
void aws_error_set_context(struct aws_error *e, const char *service, const char *operation,
			   const char *subject);
void aws_error_release(struct aws_error *e);
void aws_error_move(struct aws_error *dst, struct aws_error *src);
/* *dst = a deep copy of src (dst released first). */
void aws_error_copy(struct aws_error *dst, const struct aws_error *src);

/* "s3 GetObject 'bucket/key': 403 AccessDenied: Access Denied (request id X)" */
void aws_error_format(const struct aws_error *e, char *out, size_t n);
/* The tk_err for this error: TK_ENOTFOUND (404, NoSuch*, *NotFound*),
 * TK_EAUTH (403, AccessDenied*, InvalidClientTokenId, SignatureDoesNotMatch,
 * ExpiredToken*, UnrecognizedClient*), else TK_EFAIL. */
int aws_error_tk(const struct aws_error *e);
/* Throttling codes (and 429). */
bool aws_error_is_throttle(const struct aws_error *e);
/* Worth a retry in standard mode: throttling, transient codes, 5xx. */
bool aws_error_retryable(const struct aws_error *e);
/* RequestTimeTooSkewed / signature expired: the local clock is off. */
bool aws_error_is_clock_skew(const struct aws_error *e);
/* Code equal to c (false when the code is unknown). */
bool aws_error_is(const struct aws_error *e, const char *c);

#endif
