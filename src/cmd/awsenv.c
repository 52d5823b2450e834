/* awsenv.c: see awsenv.h. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "awsenv.h"
#include "../sts.h"
#include "../banned.h"

const char *awsenv_getenv(void *ud, const char *name)
{
	(void)ud;
	return getenv(name);
}

static time_t env_clock(void *ud)
{
	(void)ud;
	return cli_now();
}

static const char *debug_cmd = "aws";

static void debug_line(void *ud, const char *line)
{
	(void)ud;
	fprintf(stderr, "trailkeep: %s: %s\n", debug_cmd, line);
}

struct net_ud {
	struct http_pool *http;
	const struct endpoint_config *endpoints;
};

/* creds_net_ops.assume_role: STS AssumeRole with the source credentials. */
static int net_assume_role(void *ud, struct aws_creds *out, const struct aws_creds *source,
			   const char *role_arn, const char *session_name, const char *external_id,
			   long duration_s, const char *region, struct errbuf *err)
{
	struct net_ud *n = ud;
	struct aws_ctx ctx;
	struct aws_ctx_options o;
	int rc;

	memset(&o, 0, sizeof(o));
	o.http = n->http;
	o.creds = source;
	o.region = region ? region : "us-east-1";
	o.endpoints = n->endpoints;
	o.clock = env_clock;
	rc = aws_ctx_init(&ctx, &o, err);
	if (rc)
		return rc;
	rc = sts_assume_role(&ctx, role_arn, session_name, external_id, duration_s, out, NULL, err);
	aws_ctx_release(&ctx);
	return rc;
}

int awsenv_open(struct awsenv *e, const char *cmd, const struct awsenv_options *o)
{
	struct http_pool_options po;
	struct creds_ctx cc;
	struct aws_ctx_options ao;
	struct errbuf err;
	struct creds_net_ops ops;
	struct net_ud nud;
	const char *s;
	int rc;

	memset(e, 0, sizeof(*e));
	e->env.get = awsenv_getenv;
	/* region: --region, AWS_REGION, AWS_DEFAULT_REGION, the profile's */
	err_clear(&err);
	rc = region_resolve(&e->region, g_cli.region, &e->env, NULL, g_cli.profile, &err);
	if (rc == TK_ENOTFOUND && o->region) {
		e->region = xstrdup(o->region);
	} else if (rc) {
		return cli_error(cmd, cli_exit_for(rc), "%s", err.msg);
	}
	e->endpoints.cli_url = g_cli.endpoint_url;
	e->endpoints.env = e->env;
	e->endpoints.profiles = NULL;
	e->endpoints.profile = g_cli.profile;
	/* the endpoint must be usable before anything is contacted */
	{
		struct endpoint ep;

		rc = endpoint_resolve(&ep, "s3", e->region, &e->endpoints, &err);
		if (rc)
			return cli_error(cmd, TK_EXIT_USAGE, "%s", err.msg);
		/* --no-verify-ssl for a non-loopback host is refused by http.c */
		endpoint_release(&ep);
	}
	memset(&po, 0, sizeof(po));
	po.max_in_flight = o->jobs > 0 ? o->jobs : HTTP_DEFAULT_IN_FLIGHT;
	po.ca_bundle = g_cli.ca_bundle ? g_cli.ca_bundle : getenv("AWS_CA_BUNDLE");
	if (po.ca_bundle && !*po.ca_bundle)
		po.ca_bundle = NULL;
	po.insecure = g_cli.no_verify_ssl;
	if (g_cli.verbose > 0) {
		po.debug = debug_line;
		po.debug_ud = NULL;
		debug_cmd = cmd;
	}
	rc = http_pool_new(&e->http, &po, &err);
	if (rc)
		return cli_error(cmd, cli_exit_for(rc), "%s", err.msg);
	/* credentials: the AWS CLI's chain (never from argv) */
	memset(&nud, 0, sizeof(nud));
	nud.http = e->http;
	nud.endpoints = &e->endpoints;
	memset(&ops, 0, sizeof(ops));
	ops.assume_role = net_assume_role;
	ops.ud = &nud;
	memset(&cc, 0, sizeof(cc));
	cc.env = e->env;
	cc.profile = g_cli.profile;
	cc.profile_from_cli = g_cli.profile != NULL;
	cc.now = cli_now();
	cc.net = &ops;
	cc.region = e->region;
	rc = creds_resolve(&e->creds, &cc, &err);
	if (rc && (o->need_creds || rc == TK_EUSAGE)) {
		awsenv_close(e);
		return cli_error(cmd, cli_exit_for(rc), "%s", err.msg);
	}
	if (g_cli.verbose > 0 && e->creds.access_key_id)
		fprintf(stderr, "trailkeep: %s: credentials from %s\n", cmd,
			e->creds.source ? e->creds.source : "?");
	memset(&ao, 0, sizeof(ao));
	ao.http = e->http;
	ao.creds = e->creds.access_key_id ? &e->creds : NULL;
	ao.region = e->region;
	ao.endpoints = &e->endpoints;
	ao.clock = env_clock;
	ao.max_attempts = o->max_attempts > 0 ? o->max_attempts : 3;
	s = getenv("AWS_MAX_ATTEMPTS");
	if (s && *s) {
		char *end;
		long v = strtol(s, &end, 10);

		if (*end || v < 1 || v > 100) {
			awsenv_close(e);
			return cli_error(cmd, TK_EXIT_USAGE, "AWS_MAX_ATTEMPTS '%s' is not 1..100", s);
		}
		ao.max_attempts = (int)v;
	}
	s = getenv("TRAILKEEP_BACKOFF_SCALE");
	if (s && *s)
		ao.backoff_scale = strtod(s, NULL);
	s = getenv("TRAILKEEP_SEED");
	if (s && *s)
		ao.seed = strtoull(s, NULL, 10);
	rc = aws_ctx_init(&e->ctx, &ao, &err);
	if (rc) {
		awsenv_close(e);
		return cli_error(cmd, cli_exit_for(rc), "%s", err.msg);
	}
	e->ctx_ready = true;
	aws_sched_new(&e->sched, e->http);
	return 0;
}

void awsenv_close(struct awsenv *e)
{
	aws_sched_free(e->sched);
	if (e->ctx_ready)
		aws_ctx_release(&e->ctx);
	aws_creds_release(&e->creds);
	http_pool_free(e->http);
	free(e->region);
	memset(e, 0, sizeof(*e));
}

int awsenv_assume(struct awsenv *e, const char *role_arn, const char *external_id,
		  struct aws_creds *out, struct errbuf *err)
{
	char session[64];

	snprintf(session, sizeof(session), "trailkeep-%lld", (long long)cli_now());
	return sts_assume_role(&e->ctx, role_arn, session, external_id, 0, out, NULL, err);
}
