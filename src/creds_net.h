/* creds_net.h: the network credential providers behind struct
 * creds_net_ops (creds.h): STS AssumeRole (sts.h), web identity, container
 * credentials, EC2 IMDSv2; and a per-account AssumeRole cache for a run.
 * Library code: the command layer passes the HTTP pool, endpoint
 * configuration, clock and metadata endpoints (from the environment).
 * Implemented in src/creds_net.c. */
#ifndef TK_CREDS_NET_H
#define TK_CREDS_NET_H

#include <stdint.h>
#include <time.h>

#include "creds.h"
#include "endpoint.h"
#include "http.h"
#include "sigv4.h"

struct creds_net_config {
	struct http_pool *http;                   /* borrowed; required */
	const struct endpoint_config *endpoints;  /* for STS (NULL: AWS defaults) */
	time_t (*clock)(void *ud);                /* required */
	void *clock_ud;
	uint64_t seed;                            /* retry jitter */
	const char *imds_endpoint;                /* NULL: http://169.254.169.254
	                                             (AWS_EC2_METADATA_SERVICE_ENDPOINT) */
	long metadata_timeout_ms;                 /* IMDS/container; 0: 1000 */
	double backoff_scale;                     /* STS retries; 0: 1.0 */
};

struct creds_net *creds_net_new(const struct creds_net_config *cfg);
void creds_net_free(struct creds_net *net);
/* The ops table for creds_ctx.net (ud = net); valid while net lives. */
const struct creds_net_ops *creds_net_ops(struct creds_net *net);

/* Credentials for role_name in account_id (arn:<partition>:iam::<account>:role/<role_name>),
 * assumed with source through STS in region, with external_id (may be NULL).
 * Cached per role ARN + external id for the life of net and assumed again
 * when within 5 minutes of expiry.  *out is a copy (caller releases). */
int aws_account_creds(struct creds_net *net, const struct aws_creds *source, const char *partition,
		      const char *account_id, const char *role_name, const char *external_id,
		      const char *region, struct aws_creds *out, struct errbuf *err);

#define CREDS_NET_MAX_TOKEN (64 * 1024)   /* web identity token file / IMDS token */

#endif
