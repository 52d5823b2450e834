/* creds_net.h: the network credential providers behind struct
 * creds_net_ops (creds.h): STS AssumeRole (sts.h), web identity, container
 * credentials, EC2 IMDSv2; and a per-account AssumeRole cache for a run.
 * Library code: the command layer passes the HTTP pool, endpoint
 * configuration, clock and metadata endpoints (from the environment).
 * Implemented in src/transport/creds_net.c. */
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
	struct endpoint_cache *endpoint_cache;    /* shared (a reference is taken);
	                                             NULL: one of its own over endpoints */
	time_t (*clock)(void *ud);                /* required */
	void *clock_ud;
	uint64_t seed;                            /* retry jitter */
	const char *imds_endpoint;                /* NULL: http://169.254.169.254
	                                             (AWS_EC2_METADATA_SERVICE_ENDPOINT) */
	long metadata_timeout_ms;                 /* IMDS/container; 0: 1000 */
	double backoff_scale;                     /* STS retries; 0: 1.0 */
	long process_timeout_ms;                  /* credential_process; 0: 60000 */
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
#define CREDS_NET_MAX_PROCESS_OUTPUT (64 * 1024)   /* credential_process stdout */

/* credential_process (ops->process): the command line is split shell-style
 * without a shell (blanks separate words; '...' literal; "..." with \" \\
 * \$ \` escapes; backslash escapes outside quotes; no expansions), run with
 * stdin /dev/null and stderr inherited, its stdout read up to
 * CREDS_NET_MAX_PROCESS_OUTPUT and parsed as {"Version": 1, "AccessKeyId",
 * "SecretAccessKey", "SessionToken"?, "Expiration"? (ISO 8601)}.  A non-zero
 * exit, a signal, a timeout or bad JSON is TK_EAUTH (TK_ELIMIT for too much
 * output) naming only the program, never its output.  Exposed for tests: */
int creds_split_command(const char *cmd, char ***argv, struct errbuf *err);
void creds_free_argv(char **argv);
int creds_parse_process_output(struct aws_creds *out, const char *body, size_t len, const char *prog,
			       struct errbuf *err);

#endif
