/* endpoint.h: where a request to an AWS service goes, and how it is signed.
 * Partitions aws (amazonaws.com), aws-cn (amazonaws.com.cn), aws-us-gov
 * (amazonaws.com).  Custom endpoints, in this order (aws-wire.md section 5):
 *   cfg->cli_url (--endpoint-url, always wins)
 *   then, unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true or the profile's
 *   ignore_configured_endpoint_urls = true:
 *   AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the [services NAME] section
 *   named by the profile's `services` (key "<service>.endpoint_url"), the
 *   profile's endpoint_url.
 * A custom endpoint keeps the configured region as signing region and makes
 * S3 path-style (unless the profile's s3.addressing_style = virtual).
 * Organizations has one endpoint per partition: us-east-1 (aws),
 * us-gov-west-1 (aws-us-gov), cn-northwest-1 (aws-cn).
 * Implemented in src/transport/endpoint.c. */
#ifndef TK_ENDPOINT_H
#define TK_ENDPOINT_H

#include <stdbool.h>

#include "err.h"
#include "creds.h"

struct profile_set;

struct endpoint_config {
	const char *cli_url;               /* --endpoint-url or NULL */
	struct tk_env env;                 /* AWS_ENDPOINT_URL*, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS */
	const struct profile_set *profiles;/* NULL: no profile settings */
	const char *profile;               /* profile name (NULL: "default") */
	bool allow_http;                   /* --allow-http: plain http to a non-loopback host */
};

struct endpoint {
	char *scheme;         /* "https" or "http" */
	char *host;           /* host[:port] for the Host header and the URL (port
	                         only when not the scheme's default) */
	char *hostname;       /* without port; IPv6 literal keeps its brackets */
	int port;             /* effective port (443/80 when not given) */
	char *base_path;      /* "" or "/prefix" (no trailing '/') to put before request paths */
	char *signing_region;
	char *signing_name;   /* "s3", "cloudtrail", "kms", "sts", "organizations" */
	char *partition;      /* "aws", "aws-cn", "aws-us-gov" */
	bool custom;          /* from --endpoint-url or configuration */
	bool path_style;      /* S3: bucket in the path, not the host */
};

/* The region of a partition's global services ("organizations", "iam",
 * "account"): where they sign and where CloudTrail records their events. */
const char *endpoint_global_region(const char *partition, const char *service);

/* service: "s3", "cloudtrail", "kms", "sts", "organizations" (also "iam",
 * "logs", and "account": Account Management, global like organizations).  region must be a region name (lower-case letters, digits, '-').
 * TK_EUSAGE for a bad URL, unknown service or malformed region. */
int endpoint_resolve(struct endpoint *out, const char *service, const char *region,
		     const struct endpoint_config *cfg, struct errbuf *err);
void endpoint_release(struct endpoint *e);

/* Is the endpoint's host loopback (127.0.0.0/8, ::1, localhost)?  A custom
 * URL that is plain http to any other host is refused by endpoint_resolve
 * (TK_EUSAGE) unless cfg->allow_http; with it, the caller warns. */
bool endpoint_is_loopback(const struct endpoint *ep);

/* Partition of a region name ("cn-*" -> aws-cn, "us-gov-*" -> aws-us-gov, else aws). */
const char *endpoint_partition(const char *region);

/* Can this bucket be a DNS label in a virtual-hosted URL?  (3-63 chars of
 * a-z 0-9 '-' '.', starts/ends alphanumeric, not an IP; with https no dots.) */
bool endpoint_bucket_virtual_ok(const char *bucket, bool https);

/* The Host header and path (percent-encoded once, base_path included) of an
 * S3 request on bucket (and key, or NULL for bucket operations), choosing
 * virtual-hosted or path-style addressing: path-style when ep->path_style,
 * when the host is an IP literal or the bucket name is not virtual-hostable.
 * *host and *path are malloc'd. */
int endpoint_s3_target(const struct endpoint *ep, const char *bucket, const char *key,
		       char **host, char **path, struct errbuf *err);

/* The endpoints of a run, resolved once per (service, region): the
 * environment, the profile's [services] section and the URL are read on
 * the first request to a service in a region only; every later request
 * (and every retry) gets the same struct endpoint.  Shared by reference
 * count between the contexts of a run (aws_ctx_clone, the STS contexts of
 * creds_net); cfg is borrowed and must outlive the cache.  A failed
 * resolution is not kept (it is an error each time).  Not thread-safe:
 * one cache per thread (apply's workers each make their own). */
struct endpoint_cache;
struct endpoint_cache *endpoint_cache_new(const struct endpoint_config *cfg);
struct endpoint_cache *endpoint_cache_ref(struct endpoint_cache *c);
void endpoint_cache_unref(struct endpoint_cache *c);
/* *out points into the cache (valid while it lives).  Errors as endpoint_resolve. */
int endpoint_cache_get(struct endpoint_cache *c, const char *service, const char *region,
		       const struct endpoint **out, struct errbuf *err);
/* How many times endpoint_resolve ran for this cache (tests). */
unsigned long endpoint_cache_resolutions(const struct endpoint_cache *c);

#endif
