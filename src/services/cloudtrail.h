/* cloudtrail.h: typed CloudTrail client (awsJson1_1, X-Amz-Target
 * com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Op>, aws-wire.md
 * section 3).  Calls go to the context's region (the trail's home region
 * for Update/Delete/Start/Stop/PutEventSelectors).
 * Implemented in src/services/cloudtrail.c. */
#ifndef TK_CLOUDTRAIL_H
#define TK_CLOUDTRAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "aws.h"

struct ct_trail {
	char *name;
	char *arn;
	char *home_region;
	char *s3_bucket;
	char *s3_prefix;
	char *kms_key_id;
	char *cw_log_group_arn;     /* CloudWatchLogsLogGroupArn, NULL when unset */
	char *cw_role_arn;          /* CloudWatchLogsRoleArn */
	int multi_region;           /* 1/0/-1 absent */
	int global_events;
	int log_file_validation;
	int organization;
	int custom_event_selectors;
};
void ct_trail_release(struct ct_trail *t);
void ct_trail_copy(struct ct_trail *out, const struct ct_trail *in);   /* a deep copy */
void ct_trails_free(struct ct_trail *t, size_t n);

struct ct_trail_params {
	const char *name;           /* required */
	const char *s3_bucket;      /* required for create */
	const char *s3_prefix;      /* NULL: none */
	const char *kms_key_id;     /* NULL: none */
	bool multi_region;
	bool global_events;
	bool log_file_validation;
	bool organization;
};
/* CreateTrail / UpdateTrail; out may be NULL. */
int ct_create_trail(struct aws_ctx *ctx, const struct ct_trail_params *p, struct ct_trail *out,
		    struct errbuf *err);
int ct_update_trail(struct aws_ctx *ctx, const struct ct_trail_params *p, struct ct_trail *out,
		    struct errbuf *err);
/* DescribeTrails (names may be NULL/0 for all; include_shadow as the API). */
int ct_describe_trails(struct aws_ctx *ctx, const char *const *names, size_t nnames, bool include_shadow,
		       struct ct_trail **out, size_t *n, struct errbuf *err);
/* GetTrail: TK_ENOTFOUND for TrailNotFoundException. */
int ct_get_trail(struct aws_ctx *ctx, const char *name, struct ct_trail *out, struct errbuf *err);

struct ct_status {
	int is_logging;             /* 1/0 */
	time_t latest_delivery;     /* 0 when never */
	time_t latest_digest_delivery;
	time_t start_logging;
	time_t stop_logging;
	char *latest_delivery_error;        /* NULL when none */
	char *latest_digest_delivery_error;
	time_t latest_cw_delivery;          /* LatestCloudWatchLogsDeliveryTime, 0 when never */
	char *latest_cw_delivery_error;     /* LatestCloudWatchLogsDeliveryError */
};
void ct_status_release(struct ct_status *s);
void ct_status_copy(struct ct_status *out, const struct ct_status *in);   /* a deep copy */
/* GetTrailStatus */
int ct_get_trail_status(struct aws_ctx *ctx, const char *name, struct ct_status *out, struct errbuf *err);
/* StartLogging / StopLogging / DeleteTrail */
int ct_start_logging(struct aws_ctx *ctx, const char *name, struct errbuf *err);
int ct_stop_logging(struct aws_ctx *ctx, const char *name, struct errbuf *err);
int ct_delete_trail(struct aws_ctx *ctx, const char *name, struct errbuf *err);

/* PutEventSelectors: selectors is {"EventSelectors": [...]} or
 * {"AdvancedEventSelectors": [...]} (borrowed; TrailName is added to a copy).
 * GetEventSelectors: *out the whole response object (caller decrefs). */
int ct_put_event_selectors(struct aws_ctx *ctx, const char *trail, const json_t *selectors,
			   json_t **out, struct errbuf *err);
int ct_get_event_selectors(struct aws_ctx *ctx, const char *trail, json_t **out, struct errbuf *err);

/* The reads above, asynchronous (aws_async.h): queued on s and completed
 * in its run, with the same requests, results and messages.  *out (and *n)
 * is filled before done is called; done gets 0, or the code and message the
 * synchronous call would return.  done is called exactly once unless the
 * submission itself fails (its error in err).  DescribeTrails: every trail
 * of the account (no name list). */
struct aws_sched;
typedef void (*ct_done_fn)(void *ud, int rc, const char *errmsg);
int ct_get_trail_async(struct aws_sched *s, struct aws_ctx *ctx, const char *name, struct ct_trail *out,
		       ct_done_fn done, void *ud, struct errbuf *err);
int ct_get_trail_status_async(struct aws_sched *s, struct aws_ctx *ctx, const char *name,
			      struct ct_status *out, ct_done_fn done, void *ud, struct errbuf *err);
int ct_get_event_selectors_async(struct aws_sched *s, struct aws_ctx *ctx, const char *trail, json_t **out,
				 ct_done_fn done, void *ud, struct errbuf *err);
int ct_describe_trails_async(struct aws_sched *s, struct aws_ctx *ctx, bool include_shadow,
			     struct ct_trail **out, size_t *n, ct_done_fn done, void *ud, struct errbuf *err);

/* ListPublicKeys (all pages) between start and end (0: server default).
 * Value (a base64 blob in JSON) is decoded to DER; when the decoded bytes
 * are base64 text of DER again (double encoding), they are decoded twice. */
struct ct_public_key {
	unsigned char *der;         /* DER PKCS#1 RSAPublicKey */
	size_t der_len;
	time_t valid_from;
	time_t valid_to;
	char *fingerprint;          /* hex as sent */
};
int ct_list_public_keys(struct aws_ctx *ctx, time_t start, time_t end, struct ct_public_key **out,
			size_t *n, struct errbuf *err);
void ct_public_keys_free(struct ct_public_key *k, size_t n);

/* LookupEvents (pages until NextToken is absent, at most max_pages; 0: no
 * limit).  attrs: NULL or a LookupAttributes array (borrowed).  fn gets
 * each event object (borrowed); returns 0 to go on, > 0 to stop, < 0 error. */
int ct_lookup_events(struct aws_ctx *ctx, const json_t *attrs, time_t start, time_t end, size_t max_pages,
		     int (*fn)(void *ud, json_t *event), void *ud, struct errbuf *err);

/* base64 (standard alphabet, padding required) -> bytes; -1 when invalid. */
int ct_base64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);

#endif
