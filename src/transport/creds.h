/* creds.h: the credential chain (AWS CLI order) and the region resolver.
 * Pure library code: the environment is passed in as a struct tk_env, the
 * time as ctx->now; network providers (STS, container, IMDS) are called
 * through struct creds_net_ops (implemented in creds_net.c).
 * Implemented in src/transport/creds.c.  See aws-wire.md section 7.2 and README
 * "Credentials, regions and endpoints".
 *
 * Chain order (first that applies wins):
 *   1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN,
 *      legacy AWS_SECURITY_TOKEN, AWS_CREDENTIAL_EXPIRATION); skipped only
 *      when the profile was given explicitly (--profile, profile_from_cli)
 *   2. assume-role profile: role_arn + source_profile (chained) or
 *      credential_source (Environment | Ec2InstanceMetadata | EcsContainer)
 *      -> net->assume_role
 *   3. web identity: profile role_arn + web_identity_token_file, or
 *      AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME)
 *      -> net->web_identity
 *   4. static keys of the profile in the credentials file
 *   5. credential_process of the profile (run through net->process, optional)
 *   6. static keys of the profile in the config file
 *   7. container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on
 *      http://169.254.170.2) or _FULL_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN
 *      or _TOKEN_FILE -> net->container
 *   8. EC2 IMDS (unless AWS_EC2_METADATA_DISABLED=true) -> net->imds
 * A profile named explicitly (--profile / AWS_PROFILE / AWS_DEFAULT_PROFILE)
 * that exists in neither file is an error (TK_EUSAGE), except "default".
 */
#ifndef TK_CREDS_H
#define TK_CREDS_H

#include <stdbool.h>
#include <time.h>

#include "err.h"
#include "sigv4.h"

struct profile_set;

/* The environment, as the command layer sees it (it wraps getenv). */
struct tk_env {
	const char *(*get)(void *ud, const char *name);
	void *ud;
};
/* env->get(name), NULL-safe (env or env->get NULL -> NULL); an empty value is
 * returned as NULL, like botocore treats unset/empty. */
const char *tk_env_get(const struct tk_env *env, const char *name);

struct creds_net;   /* network providers, implemented in creds_net.c */

struct creds_net_ops {
	/* each returns 0, TK_ENOTFOUND when not applicable, or an error */
	int (*assume_role)(void *ud, struct aws_creds *out, const struct aws_creds *source, const char *role_arn,
			   const char *session_name, const char *external_id, long duration_s, const char *region,
			   struct errbuf *err);
	int (*web_identity)(void *ud, struct aws_creds *out, const char *role_arn, const char *token_file,
			    const char *session_name, const char *region, struct errbuf *err);
	int (*container)(void *ud, struct aws_creds *out, const char *full_uri, const char *auth_token, struct errbuf *err);
	int (*imds)(void *ud, struct aws_creds *out, struct errbuf *err);
	void *ud;
	/* optional (may be NULL, last so positional initialisers still work):
	 * run a credential_process command line and parse its JSON output */
	int (*process)(void *ud, struct aws_creds *out, const char *command, struct errbuf *err);
};

struct creds_ctx {
	struct tk_env env;
	const char *profile;           /* --profile, or NULL (then AWS_PROFILE, ...) */
	bool profile_from_cli;         /* true when profile came from --profile */
	time_t now;                    /* for session names and expiry checks */
	const struct creds_net_ops *net;   /* NULL: no network providers */
	const struct profile_set *profiles; /* NULL: creds_resolve loads the files
	                                       itself (AWS_CONFIG_FILE, ...) */
	const char *region;            /* region for STS calls (NULL: resolved
	                                  like region_resolve, else us-east-1) */
};

/* Resolve credentials through the chain above.  On success out->source says
 * where they came from ("environment", "profile 'x'", "assume role 'arn'
 * (profile 'x')", "web identity", "container", "imds", ...).  Errors:
 * TK_EUSAGE for a missing profile or a bad file (file:line), TK_EAUTH when no
 * provider has credentials, or what a network provider returned.  Secrets
 * never appear in err. */
int creds_resolve(struct aws_creds *out, const struct creds_ctx *ctx, struct errbuf *err);

/* The profile name in effect: ctx->profile, AWS_DEFAULT_PROFILE, AWS_PROFILE,
 * or "default".  Never NULL. */
const char *creds_profile_name(const struct creds_ctx *ctx);

/* True when c expires within margin_s seconds of now (never for expiration 0).
 * Callers refresh temporary credentials with creds_resolve when true. */
bool creds_expiring(const struct aws_creds *c, time_t now, long margin_s);

/* Region: cli_region (--region), AWS_REGION, AWS_DEFAULT_REGION, then the
 * profile's `region` (profiles may be NULL: then they are loaded through env).
 * *out is malloc'd; TK_ENOTFOUND (with a message) when none is set. */
int region_resolve(char **out, const char *cli_region, const struct tk_env *env,
		   const struct profile_set *profiles, const char *profile, struct errbuf *err);

#endif
