/* awsenv.h: command-layer glue shared by validate, verify, apply and doctor:
 * from the global options (g_cli) and the environment, build the tk_env,
 * resolve the region, the endpoint configuration, the HTTP pool (CA bundle,
 * --no-verify-ssl only for loopback endpoints (enforced by http.c per
 * request), -v header trace with secrets redacted), the credentials
 * (creds_resolve, with assume-role profiles through STS), an aws_ctx whose
 * clock is cli_now, and an async scheduler (aws_async.h) on the same pool.
 * Errors are printed here, once.
 *
 * Environment read here (besides what creds/endpoint read through tk_env):
 *   AWS_MAX_ATTEMPTS          attempts per request (default: opts.max_attempts or 3)
 *   TRAILKEEP_BACKOFF_SCALE   multiply retry backoff delays (tests use 0.01)
 *   TRAILKEEP_SEED            backoff RNG seed (default 0: deterministic)
 */
#ifndef TK_CMD_AWSENV_H
#define TK_CMD_AWSENV_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "aws.h"
#include "aws_async.h"
#include "creds.h"
#include "endpoint.h"
#include "http.h"

struct awsenv_options {
	const char *region;          /* region to use when none is configured (NULL: required) */
	int jobs;                    /* requests in flight (0: 64) */
	int max_attempts;            /* 0: 3 (AWS_MAX_ATTEMPTS wins) */
	bool need_creds;             /* fail when no credentials resolve */
};

struct awsenv {
	struct tk_env env;
	char *region;
	struct endpoint_config endpoints;
	struct endpoint_cache *epcache; /* the run's endpoints, resolved once per (service, region) */
	struct http_pool *http;
	struct aws_creds creds;
	struct aws_ctx ctx;
	struct aws_sched *sched;
	bool ctx_ready;
	struct creds_net *net;       /* network credential providers (creds_net.h) */
	const char *cmd;             /* for messages */
};

/* The options of every pool a command makes (awsenv_open's, and the own
 * pools of apply's and doctor's workers and verify's control plane): the CA
 * bundle, --no-verify-ssl, --timeout, the -v trace, in_flight requests at
 * once (0: the default). */
void awsenv_pool_options(struct http_pool_options *po, int in_flight);

/* Set everything up.  Returns 0, or the exit code after printing the error
 * as "trailkeep: CMD: ...". */
int awsenv_open(struct awsenv *e, const char *cmd, const struct awsenv_options *o);
void awsenv_close(struct awsenv *e);

/* Credentials only, through the same chain and providers as awsenv_open
 * (used by sign): nothing is contacted unless a provider that applies needs
 * it (container, web identity, assume role, credential_process, IMDS).
 * region: for STS (NULL: resolved).  0 or a tk_err (message in err, no
 * secrets); *out released by the caller. */
int awsenv_creds(struct aws_creds *out, const char *region, struct errbuf *err);

/* getenv as a tk_env (for library calls that take one). */
const char *awsenv_getenv(void *ud, const char *name);

/* Credentials of a role in another account (STS AssumeRole with the base
 * credentials): used for per-account access.  0 or a tk_err (message in err). */
int awsenv_assume(struct awsenv *e, const char *role_arn, const char *external_id,
		  struct aws_creds *out, struct errbuf *err);

/* ---- the findings report shared by validate and verify (in validate.c) ----
 * Sort, tally, print the text table + findings with hints (or the --json
 * document), write --metrics FILE atomically (FILE.tmp.PID + rename).
 * Returns the exit code: 3 when a cell is unchecked, 1 with findings, else 0. */
struct findings;
struct cell_stats;
/* Write the Prometheus text exposition of the findings and cells to path
 * atomically (fileutil.h); 0, or the exit status after the message. */
int report_metrics(const char *cmd, const char *path, const struct findings *f,
		   const struct cell_stats *cells, size_t ncells, time_t now);
int report_findings(const char *cmd, struct findings *f, struct cell_stats *cells, size_t ncells,
		    bool json, const char *metrics, time_t now);
int report_exit_code(const struct cell_stats *cells, size_t ncells, const struct findings *f);

/* The progress line on stderr (only set it when cli_progress_enabled()):
 * at most once a second, "\rtrailkeep: CMD: n/m cells, ..."; print "\n"
 * afterwards when shown. */
struct validate_progress;
struct report_progress {
	const char *cmd;
	time_t last;
	bool shown;
};
void report_progress(void *ud, const struct validate_progress *p);

#endif
