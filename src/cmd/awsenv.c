/* awsenv.c: see awsenv.h. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "awsenv.h"
#include "creds_net.h"
#include "sts.h"
#include "banned.h"

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

/* Every HTTP pool of a command (awsenv_open's, and its workers' own): CA
 * bundle, --no-verify-ssl (refused by http.c for non-loopback hosts),
 * --timeout, -v trace with secrets redacted. */
void awsenv_pool_options(struct http_pool_options *po, int in_flight)
{
	memset(po, 0, sizeof(*po));
	po->max_in_flight = in_flight > 0 ? in_flight : HTTP_DEFAULT_IN_FLIGHT;
	po->ca_bundle = g_cli.ca_bundle ? g_cli.ca_bundle : getenv("AWS_CA_BUNDLE");
	if (po->ca_bundle && !*po->ca_bundle)
		po->ca_bundle = NULL;
	po->insecure = g_cli.no_verify_ssl;
	po->now_ms = cli_mono_ms;   /* --timeout */
	po->deadline_ms = cli_deadline_ms();
	if (g_cli.verbose > 0)
		po->debug = debug_line;   /* one fprintf a line: whole lines from any thread */
}

static int open_pool(struct http_pool **out, const char *cmd, int jobs, struct errbuf *err)
{
	struct http_pool_options po;

	awsenv_pool_options(&po, jobs);
	debug_cmd = cmd;
	return http_pool_new(out, &po, err);
}

static void set_endpoints(struct endpoint_config *ec, const struct tk_env *env)
{
	memset(ec, 0, sizeof(*ec));
	ec->cli_url = g_cli.endpoint_url;
	ec->env = *env;
	ec->profiles = NULL;
	ec->profile = g_cli.profile;
	ec->allow_http = g_cli.allow_http;
}

/* Every service's endpoint must be usable before anything is contacted (a
 * bad URL, plain http to another machine without --allow-http: exit 2);
 * with --allow-http, say so for each custom endpoint that is plain http to
 * another machine (once per URL).  0, or the exit status after the message. */
static int check_endpoints(const char *cmd, struct endpoint_cache *cache, const char *region)
{
	static const char *const services[] = { "s3", "cloudtrail", "kms", "sts", "organizations", "account" };
	char *seen[sizeof(services) / sizeof(services[0])];
	size_t i, k, nseen = 0;

	for (i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		const struct endpoint *ep;
		struct errbuf err;
		char *u;
		bool dup = false;

		/* resolved into the run's cache: requests reuse these */
		if (endpoint_cache_get(cache, services[i], region, &ep, &err)) {
			for (k = 0; k < nseen; k++)
				free(seen[k]);
			return cli_error(cmd, TK_EXIT_USAGE, "%s", err.msg);
		}
		if (ep->custom && !strcmp(ep->scheme, "http") && !endpoint_is_loopback(ep)) {
			u = xasprintf("%s%s", ep->host, ep->base_path);
			for (k = 0; k < nseen; k++)
				dup = dup || !strcmp(seen[k], u);
			if (!dup) {
				cli_warn(cmd, "warning: plain http to 'http://%s' (--allow-http): requests and "
					 "credentials cross the network in the clear", u);
				seen[nseen++] = u;
			} else {
				free(u);
			}
		}
	}
	for (k = 0; k < nseen; k++)
		free(seen[k]);
	return 0;
}

static double env_backoff_scale(void)
{
	const char *s = cli_test_knob("TRAILKEEP_BACKOFF_SCALE");

	return s && *s ? strtod(s, NULL) : 0;
}

static uint64_t env_seed(void)
{
	const char *s = cli_test_knob("TRAILKEEP_SEED");

	return s && *s ? strtoull(s, NULL, 10) : 0;
}

/* The network credential providers (STS assume role, web identity,
 * container, IMDSv2, credential_process) on pool http. */
static struct creds_net *open_net(struct http_pool *http, const struct endpoint_config *ec,
				  struct endpoint_cache *cache)
{
	struct creds_net_config nc;

	memset(&nc, 0, sizeof(nc));
	nc.http = http;
	nc.endpoints = ec;
	nc.endpoint_cache = cache;
	nc.clock = env_clock;
	nc.seed = env_seed();
	nc.backoff_scale = env_backoff_scale();
	nc.imds_endpoint = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	return creds_net_new(&nc);
}

/* The one credential resolution of every command (the AWS CLI's chain,
 * never from argv).  region: for STS (NULL: resolved by creds.c). */
static int resolve_creds(struct aws_creds *out, const struct tk_env *env, const char *region,
			 struct creds_net *net, struct errbuf *err)
{
	struct creds_ctx cc;

	memset(&cc, 0, sizeof(cc));
	cc.env = *env;
	cc.profile = g_cli.profile;
	cc.profile_from_cli = g_cli.profile != NULL;
	cc.now = cli_now();
	cc.net = net ? creds_net_ops(net) : NULL;
	cc.region = region;
	return creds_resolve(out, &cc, err);
}

/* aws_ctx_options.refresh: run the chain again (temporary credentials). */
static int refresh_creds(void *ud, struct aws_creds *out, struct errbuf *err)
{
	struct awsenv *e = ud;

	return resolve_creds(out, &e->env, e->region, e->net, err);
}

int awsenv_creds(struct aws_creds *out, const char *region, struct errbuf *err)
{
	struct tk_env env = { awsenv_getenv, NULL };
	struct endpoint_config ec;
	struct http_pool *http = NULL;
	struct creds_net *net = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	set_endpoints(&ec, &env);
	/* creating the pool and the providers contacts nothing: only a
	 * provider that applies (container, web identity, ...) does */
	rc = open_pool(&http, "sign", 1, err);
	if (rc)
		return rc;
	net = open_net(http, &ec, NULL);
	rc = resolve_creds(out, &env, region, net, err);
	creds_net_free(net);
	http_pool_free(http);
	return rc;
}

int awsenv_open(struct awsenv *e, const char *cmd, const struct awsenv_options *o)
{
	struct aws_ctx_options ao;
	struct errbuf err;
	const char *s;
	int rc;

	memset(e, 0, sizeof(*e));
	e->cmd = cmd;
	e->env.get = awsenv_getenv;
	/* region: --region, AWS_REGION, AWS_DEFAULT_REGION, the profile's */
	err_clear(&err);
	rc = region_resolve(&e->region, g_cli.region, &e->env, NULL, g_cli.profile, &err);
	if (rc == TK_ENOTFOUND && o->region) {
		e->region = xstrdup(o->region);
	} else if (rc) {
		return cli_error(cmd, cli_exit_for(rc), "%s", err.msg);
	}
	set_endpoints(&e->endpoints, &e->env);
	e->epcache = endpoint_cache_new(&e->endpoints);
	/* the endpoints must be usable before anything is contacted
	 * (--no-verify-ssl for a non-loopback host is refused by http.c) */
	rc = check_endpoints(cmd, e->epcache, e->region);
	if (rc) {
		endpoint_cache_unref(e->epcache);
		e->epcache = NULL;
		free(e->region);
		e->region = NULL;
		return rc;
	}
	rc = open_pool(&e->http, cmd, o->jobs, &err);
	if (rc) {
		awsenv_close(e);
		return cli_error(cmd, cli_exit_for(rc), "%s", err.msg);
	}
	/* credentials: the AWS CLI's chain (never from argv), with every
	 * network provider */
	e->net = open_net(e->http, &e->endpoints, e->epcache);
	rc = resolve_creds(&e->creds, &e->env, e->region, e->net, &err);
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
	ao.endpoint_cache = e->epcache;
	ao.clock = env_clock;
	if (e->creds.access_key_id) {
		ao.refresh = refresh_creds;
		ao.refresh_ud = e;
	}
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
	ao.backoff_scale = env_backoff_scale();
	ao.seed = env_seed();
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
	if (e->http && e->cmd && http_pool_time_left_ms(e->http) == 0)
		cli_warn(e->cmd, "the run's time limit (--timeout) was reached: what was not done is "
			 "reported as unchecked or failed");
	aws_sched_free(e->sched);
	if (e->ctx_ready)
		aws_ctx_release(&e->ctx);
	aws_creds_release(&e->creds);
	creds_net_free(e->net);
	endpoint_cache_unref(e->epcache);
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
