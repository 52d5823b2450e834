/* sts.h: typed STS client (query protocol, Version 2011-06-15, aws-wire.md
 * section 6.1).  Implemented in src/services/sts.c. */
#ifndef TK_STS_H
#define TK_STS_H

#include "aws.h"
#include "sigv4.h"

#define STS_VERSION "2011-06-15"

struct sts_identity {
	char *account;
	char *arn;
	char *user_id;
};
void sts_identity_release(struct sts_identity *id);

/* GetCallerIdentity */
int sts_get_caller_identity(struct aws_ctx *ctx, struct sts_identity *out, struct errbuf *err);
/* AssumeRole: session_name required; external_id may be NULL; duration_s 0:
 * server default.  *assumed_arn (may be NULL) gets AssumedRoleUser/Arn. */
int sts_assume_role(struct aws_ctx *ctx, const char *role_arn, const char *session_name,
		    const char *external_id, long duration_s, struct aws_creds *out, char **assumed_arn,
		    struct errbuf *err);
/* sts_assume_role, asynchronous (aws_async.h): *out is filled before done
 * is called with 0, or with the synchronous call's code and message; done
 * is called exactly once unless the submission fails (its error in err). */
struct aws_sched;
typedef void (*sts_done_fn)(void *ud, int rc, const char *errmsg);
int sts_assume_role_async(struct aws_sched *s, struct aws_ctx *ctx, const char *role_arn,
			  const char *session_name, const char *external_id, long duration_s,
			  struct aws_creds *out, sts_done_fn done, void *ud, struct errbuf *err);
/* AssumeRoleWithWebIdentity (unsigned): token is the OIDC token's content. */
int sts_assume_role_with_web_identity(struct aws_ctx *ctx, const char *role_arn, const char *session_name,
				      const char *token, long duration_s, struct aws_creds *out,
				      struct errbuf *err);
/* An AWS time (tk_time_parse, TK_TS_AWS: ISO-8601 with an optional
 * fraction, dropped, and "Z" or an offset).  0 or -1. */
int sts_parse_time(const char *s, time_t *out);

#endif
