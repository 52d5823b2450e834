/* endpoint.c: partitions, service hostnames, custom endpoints and S3
 * addressing (aws-wire.md sections 0 and 5).  See endpoint.h for the order
 * in which custom endpoints are looked up. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "endpoint.h"
#include "profile.h"
#include "sigv4.h"
#include "http.h"
#include "buf.h"
#include "banned.h"

#define MAX_URL 2048

struct service_info {
	const char *name;       /* our name and signing name */
	const char *env;        /* AWS_ENDPOINT_URL_<env> */
	const char *svc_key;    /* key in a [services x] section */
};

static const struct service_info services[] = {
	{ "s3", "S3", "s3" },
	{ "cloudtrail", "CLOUDTRAIL", "cloudtrail" },
	{ "kms", "KMS", "kms" },
	{ "sts", "STS", "sts" },
	{ "organizations", "ORGANIZATIONS", "organizations" },
	{ "account", "ACCOUNT", "account" },
	{ "iam", "IAM", "iam" },
	{ "logs", "CLOUDWATCH_LOGS", "cloudwatch_logs" },
	{ "monitoring", "CLOUDWATCH", "cloudwatch" },   /* CloudWatch (alarms), signing name */
	{ "sns", "SNS", "sns" },
};

const char *endpoint_partition(const char *region)
{
	if (region && !strncmp(region, "cn-", 3))
		return "aws-cn";
	if (region && !strncmp(region, "us-gov-", 7))
		return "aws-us-gov";
	return "aws";
}

static const char *dns_suffix(const char *partition)
{
	return !strcmp(partition, "aws-cn") ? "amazonaws.com.cn" : "amazonaws.com";
}

/* the one region of a partition's global services */
const char *endpoint_global_region(const char *partition, const char *service)
{
	if (!strcmp(partition, "aws-cn"))
		return !strcmp(service, "organizations") || !strcmp(service, "account") ? "cn-northwest-1"
											 : "cn-north-1";
	if (!strcmp(partition, "aws-us-gov"))
		return "us-gov-west-1";
	return "us-east-1";
}

static bool is_global(const char *service)
{
	return !strcmp(service, "iam") || !strcmp(service, "organizations") || !strcmp(service, "account");
}

static bool region_ok(const char *r)
{
	size_t i, n = r ? strlen(r) : 0;

	if (!n || n > 64 || r[0] == '-' || r[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
			return false;
	return true;
}

void endpoint_release(struct endpoint *e)
{
	if (!e)
		return;
	free(e->scheme);
	free(e->host);
	free(e->hostname);
	free(e->base_path);
	free(e->signing_region);
	free(e->signing_name);
	free(e->partition);
	memset(e, 0, sizeof(*e));
}

static bool is_ip_literal(const char *host)
{
	size_t i, dots = 0;

	if (host[0] == '[')
		return true;
	for (i = 0; host[i]; i++) {
		if (host[i] == '.')
			dots++;
		else if (host[i] < '0' || host[i] > '9')
			return false;
	}
	return dots == 3;
}

/* scheme://host[:port][/path] -> out fields.  No user info, query or
 * fragment.  Parsed by the one URL parser (http_url_parse: libcurl's URL
 * API); the checks before it only keep secrets and junk out of messages. */
static int parse_url(struct endpoint *out, const char *url, const char *what, struct errbuf *err)
{
	struct http_url pu;
	struct errbuf perr;
	size_t n = strlen(url), i;
	long pn = 0;
	int rc = 0;

	if (n > MAX_URL)
		return err_set(err, TK_EUSAGE, "%s is longer than %d characters", what, MAX_URL);
	/* user:password@ anywhere (a password may even hold a '/'): refused
	 * before any message could echo the URL */
	if (strchr(url, '@'))
		return err_set(err, TK_EUSAGE, "%s must not contain a user name or password (user:password@); "
			       "the URL is not shown", what);
	for (i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 32 || (unsigned char)url[i] == 127)
			return err_set(err, TK_EUSAGE, "%s '%s' contains a space or control character", what, url);
	if (strncasecmp(url, "https://", 8) && strncasecmp(url, "http://", 7))
		return err_set(err, TK_EUSAGE, "%s '%s' is not an http:// or https:// URL", what, url);
	if (http_url_parse(&pu, url, false, &perr))
		return err_set(err, TK_EUSAGE, "%s: %s", what, perr.msg);
	if (pu.has_userinfo) {
		rc = err_set(err, TK_EUSAGE, "%s must not contain a user name or password (user:password@); "
			     "the URL is not shown", what);
		goto done;
	}
	if (strcmp(pu.scheme, "https") && strcmp(pu.scheme, "http")) {
		rc = err_set(err, TK_EUSAGE, "%s '%s' is not an http:// or https:// URL", what, url);
		goto done;
	}
	if (pu.query || pu.fragment || strpbrk(url, "?#")) {
		rc = err_set(err, TK_EUSAGE, "%s '%s' must not have a query or fragment", what, url);
		goto done;
	}
	for (i = 0; pu.host && pu.host[i]; i++) {
		char c = pu.host[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_' || c == '[' || c == ']' || c == ':')) {
			rc = err_set(err, TK_EUSAGE, "%s '%s' has a bad host", what, url);
			goto done;
		}
	}
	if (!pu.host || !*pu.host) {
		rc = err_set(err, TK_EUSAGE, "%s '%s' has no host", what, url);
		goto done;
	}
	if (pu.port) {
		char *end;

		errno = 0;
		pn = strtol(pu.port, &end, 10);
		if (*end || errno || pn < 1 || pn > 65535) {
			rc = err_set(err, TK_EUSAGE, "%s '%s' has a bad port", what, url);
			goto done;
		}
	}
	out->scheme = xstrdup(pu.scheme);
	out->hostname = xstrdup(pu.host);
	if (!pn)
		pn = !strcmp(out->scheme, "https") ? 443 : 80;
	out->port = (int)pn;
	if ((pn == 443 && !strcmp(out->scheme, "https")) || (pn == 80 && !strcmp(out->scheme, "http")))
		out->host = xstrdup(out->hostname);
	else
		out->host = xasprintf("%s:%ld", out->hostname, pn);
	/* base path without trailing slashes ("/" is none) */
	n = strlen(pu.path);
	while (n && pu.path[n - 1] == '/')
		n--;
	out->base_path = xstrndup(pu.path, n);
done:
	http_url_release(&pu);
	return rc;
}

bool endpoint_is_loopback(const struct endpoint *ep)
{
	static const unsigned char lo6[16] = { [15] = 1 };
	const char *h = ep->hostname;
	unsigned char a[16];
	char tmp[64];
	size_t n;

	if (!h)
		return false;
	if (!strcasecmp(h, "localhost"))
		return true;
	n = strlen(h);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']' && n - 2 < sizeof(tmp)) {
		memcpy(tmp, h + 1, n - 2);
		tmp[n - 2] = '\0';
		return inet_pton(AF_INET6, tmp, a) == 1 && !memcmp(a, lo6, 16);
	}
	return inet_pton(AF_INET, h, a) == 1 && a[0] == 127;
}

static bool truthy(const char *v)
{
	return v && !strcasecmp(v, "true");
}

int endpoint_resolve(struct endpoint *out, const char *service, const char *region,
		     const struct endpoint_config *cfg, struct errbuf *err)
{
	const struct service_info *si = NULL;
	const char *url = NULL, *what = "--endpoint-url", *profile;
	const struct tk_env *env = cfg ? &cfg->env : NULL;
	const struct profile_set *ps = cfg ? cfg->profiles : NULL;
	const char *style;
	char envname[64];
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	for (i = 0; service && i < sizeof(services) / sizeof(services[0]); i++)
		if (!strcmp(services[i].name, service))
			si = &services[i];
	if (!si)
		return err_set(err, TK_EUSAGE, "unknown service '%s'", service ? service : "");
	if (!region_ok(region))
		return err_set(err, TK_EUSAGE, "region '%s' is not a region name", region ? region : "");
	profile = cfg && cfg->profile ? cfg->profile : "default";

	if (cfg && cfg->cli_url && *cfg->cli_url) {
		url = cfg->cli_url;
	} else if (!truthy(tk_env_get(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) &&
		   !truthy(profile_get(ps, profile, "ignore_configured_endpoint_urls"))) {
		snprintf(envname, sizeof(envname), "AWS_ENDPOINT_URL_%s", si->env);
		if ((url = tk_env_get(env, envname)))
			what = envname;
		else if ((url = tk_env_get(env, "AWS_ENDPOINT_URL")))
			what = "AWS_ENDPOINT_URL";
		else if ((url = profile_service_get(ps, profile, si->svc_key, "endpoint_url")))
			what = "endpoint_url of the services section";
		else if ((url = profile_get(ps, profile, "endpoint_url")))
			what = "endpoint_url of the profile";
	}

	out->partition = xstrdup(endpoint_partition(region));
	out->signing_name = xstrdup(si->name);
	if (url) {
		rc = parse_url(out, url, what, err);
		if (rc) {
			endpoint_release(out);
			return rc;
		}
		out->custom = true;
		/* a custom endpoint changes where a request goes, not its credential
		 * scope: IAM, Organizations and Account Management answer only
		 * requests signed for their partition's global region
		 * ("Credential should be scoped to a valid region") */
		out->signing_region = xstrdup(is_global(service) ? endpoint_global_region(out->partition, service)
								 : region);
		/* credentials and session tokens in the clear to another machine:
		 * only on request (http MinIO, LocalStack), and warned about */
		if (!strcmp(out->scheme, "http") && !endpoint_is_loopback(out) && !(cfg && cfg->allow_http)) {
			rc = err_set(err, TK_EUSAGE,
				     "%s '%s' is plain http to '%s', not a loopback address: requests and "
				     "credentials would cross the network in the clear; use https, or "
				     "--allow-http to accept that", what, url, out->hostname);
			endpoint_release(out);
			return rc;
		}
	} else {
		const char *dns = dns_suffix(out->partition);

		out->scheme = xstrdup("https");
		out->port = 443;
		out->base_path = xstrdup("");
		if (!strcmp(service, "organizations") || !strcmp(service, "account")) {
			out->signing_region = xstrdup(endpoint_global_region(out->partition, service));
			out->hostname = xasprintf("%s.%s.%s", service, out->signing_region, dns);
		} else if (!strcmp(service, "iam")) {
			out->signing_region = xstrdup(endpoint_global_region(out->partition, service));
			if (!strcmp(out->partition, "aws"))
				out->hostname = xstrdup("iam.amazonaws.com");
			else if (!strcmp(out->partition, "aws-us-gov"))
				out->hostname = xstrdup("iam.us-gov.amazonaws.com");
			else
				out->hostname = xasprintf("iam.%s.%s", out->signing_region, dns);
		} else {
			out->signing_region = xstrdup(region);
			out->hostname = xasprintf("%s.%s.%s", service, region, dns);
		}
		out->host = xstrdup(out->hostname);
	}
	if (!strcmp(service, "s3")) {
		style = profile_get(ps, profile, "s3.addressing_style");
		if (style && !strcmp(style, "path"))
			out->path_style = true;
		else if (style && !strcmp(style, "virtual"))
			out->path_style = false;
		else
			out->path_style = out->custom;
	}
	return 0;
}

bool endpoint_bucket_virtual_ok(const char *b, bool https)
{
	size_t i, n = b ? strlen(b) : 0;

	if (n < 3 || n > 63)
		return false;
	if (!((b[0] >= 'a' && b[0] <= 'z') || (b[0] >= '0' && b[0] <= '9')) ||
	    !((b[n - 1] >= 'a' && b[n - 1] <= 'z') || (b[n - 1] >= '0' && b[n - 1] <= '9')))
		return false;
	for (i = 0; i < n; i++) {
		char c = b[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
		if (c == '.' && (https || b[i + 1] == '.' || b[i + 1] == '-' || (i && b[i - 1] == '-')))
			return false;
	}
	return !is_ip_literal(b);
}

int endpoint_s3_target(const struct endpoint *ep, const char *bucket, const char *key,
		       char **host, char **path, struct errbuf *err)
{
	bool https = ep->scheme && !strcmp(ep->scheme, "https");
	bool virt;
	char *eb, *ek = NULL;

	*host = *path = NULL;
	if (!bucket || !*bucket || strlen(bucket) > 255)
		return err_set(err, TK_EUSAGE, "bucket name '%s' is not valid", bucket ? bucket : "");
	if (key && strlen(key) > 1024)
		return err_set(err, TK_EUSAGE, "object key is longer than 1024 bytes");
	virt = !ep->path_style && !is_ip_literal(ep->hostname) && endpoint_bucket_virtual_ok(bucket, https);
	if (key) {
		ek = sigv4_uri_encode(key, strlen(key), true);
		if (!ek)
			return err_set(err, TK_ELIMIT, "object key is too long");
	}
	if (virt) {
		*host = xasprintf("%s.%s", bucket, ep->host);
		*path = xasprintf("%s/%s", ep->base_path, ek ? ek : "");
	} else {
		eb = sigv4_uri_encode(bucket, strlen(bucket), false);
		*host = xstrdup(ep->host);
		if (ek)
			*path = xasprintf("%s/%s/%s", ep->base_path, eb ? eb : "", ek);
		else
			*path = xasprintf("%s/%s", ep->base_path, eb ? eb : "");
		free(eb);
	}
	free(ek);
	return 0;
}

struct endpoint_cache_entry {
	char *service, *region;
	struct endpoint ep;
};

struct endpoint_cache {
	const struct endpoint_config *cfg;
	struct endpoint_cache_entry **v;   /* pointers: entries never move */
	size_t n, cap;
	unsigned long resolutions;
	unsigned refs;
};

struct endpoint_cache *endpoint_cache_new(const struct endpoint_config *cfg)
{
	struct endpoint_cache *c = xcalloc(1, sizeof(*c));

	c->cfg = cfg;
	c->refs = 1;
	return c;
}

struct endpoint_cache *endpoint_cache_ref(struct endpoint_cache *c)
{
	if (c)
		c->refs++;
	return c;
}

void endpoint_cache_unref(struct endpoint_cache *c)
{
	size_t i;

	if (!c || --c->refs)
		return;
	for (i = 0; i < c->n; i++) {
		endpoint_release(&c->v[i]->ep);
		free(c->v[i]->service);
		free(c->v[i]->region);
		free(c->v[i]);
	}
	free(c->v);
	free(c);
}

int endpoint_cache_get(struct endpoint_cache *c, const char *service, const char *region,
		       const struct endpoint **out, struct errbuf *err)
{
	static const struct endpoint_config no_config;
	struct endpoint_cache_entry *e;
	struct endpoint ep;
	size_t i;
	int rc;

	*out = NULL;
	for (i = 0; service && region && i < c->n; i++) {
		if (!strcmp(c->v[i]->service, service) && !strcmp(c->v[i]->region, region)) {
			*out = &c->v[i]->ep;
			return 0;
		}
	}
	c->resolutions++;
	rc = endpoint_resolve(&ep, service, region, c->cfg ? c->cfg : &no_config, err);
	if (rc)
		return rc;
	ALLOC_GROW(c->v, c->n + 1, c->cap);
	e = xcalloc(1, sizeof(*e));
	e->service = xstrdup(service);
	e->region = xstrdup(region);
	e->ep = ep;
	c->v[c->n++] = e;
	*out = &e->ep;
	return 0;
}

unsigned long endpoint_cache_resolutions(const struct endpoint_cache *c)
{
	return c ? c->resolutions : 0;
}
