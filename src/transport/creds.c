/* creds.c: the credential chain and the region resolver (see creds.h for
 * the order).  Network providers are called through ctx->net; this file
 * only reads the environment (through ctx->env), the shared files and a
 * token file.  Secrets are never put into an errbuf. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "creds.h"
#include "profile.h"
#include "buf.h"
#include "timeutil.h"
#include "http.h"
#include "fileutil.h"
#include "banned.h"

#define MAX_CHAIN 8                 /* source_profile hops */
#define MAX_TOKEN_FILE (64 * 1024)  /* container authorization token file */

const char *tk_env_get(const struct tk_env *env, const char *name)
{
	const char *v;

	if (!env || !env->get)
		return NULL;
	v = env->get(env->ud, name);
	return v && *v ? v : NULL;
}

const char *creds_profile_name(const struct creds_ctx *ctx)
{
	const char *p = ctx->profile;

	if (!p || !*p)
		p = tk_env_get(&ctx->env, "AWS_DEFAULT_PROFILE");
	if (!p)
		p = tk_env_get(&ctx->env, "AWS_PROFILE");
	return p ? p : "default";
}

bool creds_expiring(const struct aws_creds *c, time_t now, long margin_s)
{
	return c && c->expiration != 0 && c->expiration - now <= margin_s;
}

static bool is_true(const char *v)
{
	return v && !strcasecmp(v, "true");
}

static const char *show(const char *path)
{
	return path ? path : "(HOME is not set)";
}

/* ---- environment ------------------------------------------------------- */

static int from_env(struct aws_creds *out, const struct tk_env *env, struct errbuf *err)
{
	const char *id = tk_env_get(env, "AWS_ACCESS_KEY_ID");
	const char *secret = tk_env_get(env, "AWS_SECRET_ACCESS_KEY");
	const char *token = tk_env_get(env, "AWS_SESSION_TOKEN");
	const char *exp = tk_env_get(env, "AWS_CREDENTIAL_EXPIRATION");
	time_t t = 0;

	if (!token)
		token = tk_env_get(env, "AWS_SECURITY_TOKEN");
	if (!id && !secret)
		return TK_ENOTFOUND;
	if (!id || !secret)
		return err_set(err, TK_EAUTH, "the environment has %s but not %s",
			       id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
			       id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
	if (exp && tk_parse_time(exp, &t))
		return err_set(err, TK_EUSAGE, "AWS_CREDENTIAL_EXPIRATION '%.64s' is not a time", exp);
	memset(out, 0, sizeof(*out));
	out->access_key_id = xstrdup(id);
	out->secret_access_key = xstrdup(secret);
	out->session_token = token ? xstrdup(token) : NULL;
	out->expiration = t;
	out->source = xstrdup("environment");
	return 0;
}

/* ---- static keys in a file --------------------------------------------- */

static int from_file(struct aws_creds *out, const struct profile_set *ps, enum profile_file file,
		     const char *profile, struct errbuf *err)
{
	const char *id = profile_get_in(ps, file, profile, "aws_access_key_id");
	const char *secret = profile_get_in(ps, file, profile, "aws_secret_access_key");
	const char *token = profile_get_in(ps, file, profile, "aws_session_token");
	const char *path = file == PROFILE_CONFIG ? ps->config_path : ps->credentials_path;

	if (!token)
		token = profile_get_in(ps, file, profile, "aws_security_token");
	if (!id && !secret)
		return TK_ENOTFOUND;
	if (!id || !*id || !secret || !*secret)
		return err_set(err, TK_EUSAGE, "profile '%s' in '%s' has %s but no %s", profile, show(path),
			       id && *id ? "aws_access_key_id" : "aws_secret_access_key",
			       id && *id ? "aws_secret_access_key" : "aws_access_key_id");
	memset(out, 0, sizeof(*out));
	out->access_key_id = xstrdup(id);
	out->secret_access_key = xstrdup(secret);
	out->session_token = token && *token ? xstrdup(token) : NULL;
	out->source = xasprintf("profile '%s' in '%s'", profile, show(path));
	return 0;
}

/* ---- container / IMDS -------------------------------------------------- */

/* The container authorization token file, with the input-file rules
 * (tk_read_file: a regular file, symlinks followed, a FIFO or device
 * refused unopened); never TK_ENOTFOUND (the chain must not move on). */
static int read_token_file(char **out, const char *path, struct errbuf *err)
{
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = tk_read_file(path, MAX_TOKEN_FILE, out, &len, err);
	if (rc)
		return err_prefix(err, rc == TK_EUSAGE || rc == TK_ELIMIT ? rc : TK_EAUTH,
				  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	while (len && ((*out)[len - 1] == '\n' || (*out)[len - 1] == '\r' || (*out)[len - 1] == ' '))
		(*out)[--len] = '\0';
	return 0;
}

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* TK_ENOTFOUND when no container variables are set. */
static int from_container(struct aws_creds *out, const struct creds_ctx *ctx, struct errbuf *err)
{
	const char *rel = tk_env_get(&ctx->env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = tk_env_get(&ctx->env, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *tfile = tk_env_get(&ctx->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *tok = tk_env_get(&ctx->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
	char *uri = NULL, *ftok = NULL;
	int rc;

	if (!rel && !full)
		return TK_ENOTFOUND;
	if (!ctx->net || !ctx->net->container)
		return err_set(err, TK_EAUTH, "container credentials are configured but cannot be fetched here");
	if (rel) {
		uri = xasprintf("http://169.254.170.2%s%s", rel[0] == '/' ? "" : "/", rel);
	} else {
		/* plain http only to this machine or the addresses the AWS SDKs
		 * allow (ECS, EKS Pod Identity): never credentials in the clear */
		static const char *const allowed[] = { "169.254.170.2", "169.254.170.23", "fd00:ec2::23", NULL };
		char *host = NULL;
		int c = http_url_cleartext(full, allowed, &host);

		if (c) {
			rc = c < 0 ? err_set(err, TK_EUSAGE, "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL") :
				err_set(err, TK_EUSAGE,
					"AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http to '%.200s', which is not "
					"loopback or a container credentials address (169.254.170.2, 169.254.170.23, "
					"fd00:ec2::23): credentials would cross the network in the clear; use https",
					host);
			free(host);
			return rc;
		}
		uri = xstrdup(full);
	}
	if (tfile) {
		rc = read_token_file(&ftok, tfile, err);
		if (rc)
			goto done;
		tok = ftok;
	}
	rc = ctx->net->container(ctx->net->ud, out, uri, tok, err);
	if (rc == 0 && !out->source)
		out->source = xstrdup("container credentials");
done:
	free(uri);
	free_secret(ftok);
	return rc;
}

static int from_imds(struct aws_creds *out, const struct creds_ctx *ctx, struct errbuf *err)
{
	int rc;

	if (is_true(tk_env_get(&ctx->env, "AWS_EC2_METADATA_DISABLED")))
		return TK_ENOTFOUND;
	if (!ctx->net || !ctx->net->imds)
		return TK_ENOTFOUND;
	rc = ctx->net->imds(ctx->net->ud, out, err);
	if (rc == 0 && !out->source)
		out->source = xstrdup("instance metadata");
	return rc;
}

/* ---- profiles ---------------------------------------------------------- */

struct resolver {
	const struct creds_ctx *ctx;
	const struct profile_set *ps;
	const char *region;   /* for STS */
};

static int sts_region(char **out, const struct resolver *r, const char *profile)
{
	struct errbuf ignore;

	if (r->ctx->region) {
		*out = xstrdup(r->ctx->region);
		return 0;
	}
	if (region_resolve(out, NULL, &r->ctx->env, r->ps, profile, &ignore) == 0)
		return 0;
	*out = xstrdup("us-east-1");
	return 0;
}

static int web_identity(struct aws_creds *out, const struct resolver *r, const char *profile,
			const char *role_arn, const char *token_file, const char *session,
			struct errbuf *err)
{
	char *region = NULL, *sess = NULL;
	int rc;

	if (!r->ctx->net || !r->ctx->net->web_identity)
		return err_set(err, TK_EAUTH, "web identity credentials (role '%s') cannot be fetched here",
			       role_arn);
	sts_region(&region, r, profile);
	sess = session ? xstrdup(session) : xasprintf("trailkeep-%lld", (long long)r->ctx->now);
	rc = r->ctx->net->web_identity(r->ctx->net->ud, out, role_arn, token_file, sess, region, err);
	if (rc == 0 && !out->source)
		out->source = xasprintf("web identity '%s'", role_arn);
	free(region);
	free(sess);
	return rc;
}

static int resolve_profile(struct aws_creds *out, const struct resolver *r, const char *profile,
			   int depth, bool as_source, struct errbuf *err);

static int credential_source(struct aws_creds *out, const struct resolver *r, const char *profile,
			     const char *src, struct errbuf *err)
{
	int rc;

	if (!strcmp(src, "Environment")) {
		rc = from_env(out, &r->ctx->env, err);
		if (rc == TK_ENOTFOUND)
			rc = err_set(err, TK_EAUTH, "profile '%s': credential_source Environment, but "
				     "AWS_ACCESS_KEY_ID is not set", profile);
		return rc;
	}
	if (!strcmp(src, "Ec2InstanceMetadata")) {
		if (!r->ctx->net || !r->ctx->net->imds)
			return err_set(err, TK_EAUTH, "profile '%s': instance metadata cannot be used here", profile);
		rc = r->ctx->net->imds(r->ctx->net->ud, out, err);
		if (rc == TK_ENOTFOUND)
			rc = err_set(err, TK_EAUTH, "profile '%s': no credentials from instance metadata", profile);
		return rc;
	}
	if (!strcmp(src, "EcsContainer")) {
		rc = from_container(out, r->ctx, err);
		if (rc == TK_ENOTFOUND)
			rc = err_set(err, TK_EAUTH, "profile '%s': credential_source EcsContainer, but "
				     "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/_FULL_URI is not set", profile);
		return rc;
	}
	return err_set(err, TK_EUSAGE, "profile '%s': credential_source '%.64s' is not one of "
		       "Environment, Ec2InstanceMetadata, EcsContainer", profile, src);
}

static int assume_role(struct aws_creds *out, const struct resolver *r, const char *profile,
		       const char *role_arn, int depth, struct errbuf *err)
{
	const struct profile_set *ps = r->ps;
	const char *src_profile = profile_get(ps, profile, "source_profile");
	const char *src = profile_get(ps, profile, "credential_source");
	const char *ext = profile_get(ps, profile, "external_id");
	const char *sess = profile_get(ps, profile, "role_session_name");
	const char *dur = profile_get(ps, profile, "duration_seconds");
	const char *wif = profile_get(ps, profile, "web_identity_token_file");
	struct aws_creds source;
	char *region = NULL, *session = NULL, *end;
	long duration = 0;
	int rc;

	memset(&source, 0, sizeof(source));
	if (src_profile && src)
		return err_set(err, TK_EUSAGE, "profile '%s' has both source_profile and credential_source",
			       profile);
	if (!src_profile && !src) {
		if (wif)
			return web_identity(out, r, profile, role_arn, wif, sess, err);
		return err_set(err, TK_EUSAGE, "profile '%s' has role_arn but no source_profile, "
			       "credential_source or web_identity_token_file", profile);
	}
	if (dur) {
		errno = 0;
		duration = strtol(dur, &end, 10);
		if (errno || *end || duration < 900 || duration > 43200)
			return err_set(err, TK_EUSAGE, "profile '%s': duration_seconds '%.32s' is not 900..43200",
				       profile, dur);
	}
	if (src_profile) {
		if (!profile_exists(ps, src_profile))
			return err_set(err, TK_EUSAGE, "profile '%s': source_profile '%s' not found in '%s' or '%s'",
				       profile, src_profile, show(ps->config_path), show(ps->credentials_path));
		if (!strcmp(src_profile, profile))   /* a role profile that also holds the keys */
			rc = from_file(&source, ps, PROFILE_CREDENTIALS, profile, err);
		else
			rc = resolve_profile(&source, r, src_profile, depth + 1, true, err);
		if (rc == TK_ENOTFOUND)
			rc = err_set(err, TK_EAUTH, "profile '%s': source_profile '%s' has no credentials",
				     profile, src_profile);
	} else {
		rc = credential_source(&source, r, profile, src, err);
	}
	if (rc)
		goto done;
	if (!r->ctx->net || !r->ctx->net->assume_role) {
		rc = err_set(err, TK_EAUTH, "profile '%s' needs STS AssumeRole, which cannot be used here",
			     profile);
		goto done;
	}
	sts_region(&region, r, profile);
	session = sess ? xstrdup(sess) : xasprintf("trailkeep-%lld", (long long)r->ctx->now);
	rc = r->ctx->net->assume_role(r->ctx->net->ud, out, &source, role_arn, session, ext, duration,
				      region, err);
	if (rc == 0 && !out->source)
		out->source = xasprintf("assume role '%s' (profile '%s')", role_arn, profile);
done:
	aws_creds_release(&source);
	free(region);
	free(session);
	return rc;
}

/* The profile's own providers: assume role, web identity, credentials file,
 * credential_process, config file.  TK_ENOTFOUND when it has none. */
static int resolve_profile(struct aws_creds *out, const struct resolver *r, const char *profile,
			   int depth, bool as_source, struct errbuf *err)
{
	const struct profile_set *ps = r->ps;
	const char *role_arn = profile_get(ps, profile, "role_arn");
	const char *proc = profile_get(ps, profile, "credential_process");
	int rc;

	if (depth > MAX_CHAIN)
		return err_set(err, TK_EUSAGE, "profile '%s': source_profile chain is longer than %d "
			       "(a loop?)", profile, MAX_CHAIN);
	if (role_arn)
		return assume_role(out, r, profile, role_arn, depth, err);
	if (!as_source) {
		/* web identity from the environment (EKS); the profile form needs role_arn */
		const char *wf = tk_env_get(&r->ctx->env, "AWS_WEB_IDENTITY_TOKEN_FILE");
		const char *wr = tk_env_get(&r->ctx->env, "AWS_ROLE_ARN");

		if (wf && wr)
			return web_identity(out, r, profile, wr, wf,
					    tk_env_get(&r->ctx->env, "AWS_ROLE_SESSION_NAME"), err);
	}
	rc = from_file(out, ps, PROFILE_CREDENTIALS, profile, err);
	if (rc != TK_ENOTFOUND)
		return rc;
	if (proc) {
		if (!r->ctx->net || !r->ctx->net->process)
			return err_set(err, TK_EAUTH, "profile '%s': credential_process is not supported", profile);
		rc = r->ctx->net->process(r->ctx->net->ud, out, proc, err);
		if (rc == 0 && !out->source)
			out->source = xasprintf("credential_process of profile '%s'", profile);
		if (rc != TK_ENOTFOUND)
			return rc;
	}
	return from_file(out, ps, PROFILE_CONFIG, profile, err);
}

int creds_resolve(struct aws_creds *out, const struct creds_ctx *ctx, struct errbuf *err)
{
	struct profile_set own;
	const struct profile_set *ps = ctx->profiles;
	const char *profile = creds_profile_name(ctx);
	bool named = (ctx->profile && *ctx->profile) || tk_env_get(&ctx->env, "AWS_DEFAULT_PROFILE") ||
		     tk_env_get(&ctx->env, "AWS_PROFILE");
	struct resolver r;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&own, 0, sizeof(own));
	if (!ps) {
		rc = profile_load(&own, &ctx->env, err);
		if (rc)
			return rc;
		ps = &own;
	}
	if (named && strcmp(profile, "default") && !profile_exists(ps, profile)) {
		rc = err_set(err, TK_EUSAGE, "profile '%s' not found in '%s' or '%s'", profile,
			     show(ps->config_path), show(ps->credentials_path));
		goto done;
	}
	r.ctx = ctx;
	r.ps = ps;
	r.region = ctx->region;

	if (!ctx->profile_from_cli) {
		rc = from_env(out, &ctx->env, err);
		if (rc != TK_ENOTFOUND)
			goto done;
	}
	rc = resolve_profile(out, &r, profile, 0, false, err);
	if (rc != TK_ENOTFOUND)
		goto done;
	rc = from_container(out, ctx, err);
	if (rc != TK_ENOTFOUND)
		goto done;
	/* instance metadata is the last place: when it fails too (no metadata
	 * service, 403 for the token, no role attached), the answer is "no
	 * credentials", saying why each place gave none (as the AWS CLI's
	 * "Unable to locate credentials"); a usage error stays one */
	{
		char imds_why[ERRBUF_LEN];

		err_clear(err);
		rc = from_imds(out, ctx, err);
		if (rc == 0 || rc == TK_EUSAGE)
			goto done;
		if (is_true(tk_env_get(&ctx->env, "AWS_EC2_METADATA_DISABLED")))
			snprintf(imds_why, sizeof(imds_why), "disabled by AWS_EC2_METADATA_DISABLED");
		else if (!ctx->net || !ctx->net->imds)
			snprintf(imds_why, sizeof(imds_why), "not available here");
		else if (rc == TK_ENOTFOUND)
			snprintf(imds_why, sizeof(imds_why), "no answer%s%.200s", err->msg[0] ? ": " : "", err->msg);
		else   /* "instance metadata: HTTP 403 for an IMDSv2 token" -> the reason */
			snprintf(imds_why, sizeof(imds_why), "%.300s",
				 !strncmp(err->msg, "instance metadata: ", 19) ? err->msg + 19 : err->msg);
		rc = err_set(err, TK_EAUTH, "no AWS credentials found (tried: environment: %s; profile '%s' "
			     "in '%s' and '%s': no credentials; web identity: %s; container: %s; instance "
			     "metadata (IMDS): %s)",
			     ctx->profile_from_cli ? "skipped (--profile)" : "AWS_ACCESS_KEY_ID not set",
			     profile, show(ps->config_path), show(ps->credentials_path),
			     !tk_env_get(&ctx->env, "AWS_WEB_IDENTITY_TOKEN_FILE") ?
			     "AWS_WEB_IDENTITY_TOKEN_FILE not set" : "AWS_ROLE_ARN not set",
			     "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set", imds_why);
	}
done:
	if (rc)
		aws_creds_release(out);
	profile_release(&own);
	return rc;
}

/* ---- region ------------------------------------------------------------ */

int region_resolve(char **out, const char *cli_region, const struct tk_env *env,
		   const struct profile_set *profiles, const char *profile, struct errbuf *err)
{
	struct profile_set own;
	const char *v = cli_region && *cli_region ? cli_region : NULL;
	int rc = 0;

	*out = NULL;
	memset(&own, 0, sizeof(own));
	if (!v)
		v = tk_env_get(env, "AWS_REGION");
	if (!v)
		v = tk_env_get(env, "AWS_DEFAULT_REGION");
	if (!v) {
		if (!profile)
			profile = tk_env_get(env, "AWS_DEFAULT_PROFILE");
		if (!profile)
			profile = tk_env_get(env, "AWS_PROFILE");
		if (!profile)
			profile = "default";
		if (!profiles) {
			rc = profile_load(&own, env, err);
			if (rc)
				return rc;
			profiles = &own;
		}
		v = profile_get(profiles, profile, "region");
	}
	if (v && *v)
		*out = xstrdup(v);
	else
		rc = err_set(err, TK_ENOTFOUND, "no region: use --region, AWS_REGION or 'region' in "
			     "the profile");
	profile_release(&own);
	return rc;
}
