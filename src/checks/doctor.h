/* doctor.h: the engine behind `trailkeep doctor` (docs/findings.md):
 * for each red account x region cell, find WHY it does not deliver, with
 * evidence (the AWS call and its answer, the policy statement, the
 * CloudTrail event: who, when, from where) and the fix.
 *
 * Causes are checked in this order per red cell; the first that explains
 * the cell wins (stable codes, each with a one-line hint, see
 * doctor_cause_name / doctor_cause_hint and README "trailkeep doctor"):
 *
 *   trail_missing, trail_deleted      GetTrail says TrailNotFound (deleted:
 *                                     a DeleteTrail event names it)
 *   trail_not_logging                 GetTrailStatus IsLogging false
 *                                     (culprit: StopLogging event)
 *   trail_region_not_covered          single-region trail, cell in another region
 *   delivery_error                    LatestDeliveryError / LatestDigestDeliveryError.
 *                                     An error value that names a bucket or
 *                                     key problem (AccessDenied, NoSuchBucket,
 *                                     KMS.*, InsufficientEncryptionPolicy) is
 *                                     only evidence: the checks below find the
 *                                     precise cause, and delivery_error is the
 *                                     cause only when none of them does
 *   bucket_missing, bucket_foreign_owner
 *                                     HeadBucket of the trail's (configured)
 *                                     bucket: 404 (culprit: DeleteBucket), 403
 *                                     from the central account
 *   bucket_policy_denies              the CURRENT bucket policy, evaluated with
 *                                     policy.h for cloudtrail.amazonaws.com
 *                                     s3:PutObject on this cell's log (and digest)
 *                                     key with aws:SourceArn, aws:SourceAccount,
 *                                     s3:x-amz-acl and aws:SecureTransport
 *                                     (culprit: PutBucketPolicy/DeleteBucketPolicy)
 *   kms_key_missing, kms_key_disabled, kms_key_pending_deletion,
 *   bucket_wrong_region, kms_key_wrong_region, kms_policy_denies
 *                                     the trail's KmsKeyId (culprit: DisableKey,
 *                                     ScheduleKeyDeletion, PutKeyPolicy); key and
 *                                     bucket in different regions: the bucket
 *                                     left home_region (culprit: CreateBucket in
 *                                     its region) or the key did
 *   kms_key_changed                   the trail encrypts with another key than
 *                                     the config's kms_alias names (or with
 *                                     none): readers with Decrypt on the
 *                                     configured key cannot read what it writes
 *                                     (culprit: UpdateTrail)
 *   bucket_changed, prefix_changed    trail S3BucketName / S3KeyPrefix differ
 *                                     from the config (culprit: UpdateTrail)
 *   org_path_layout                   the key prefix repeats the organization id
 *   region_not_enabled                account GetRegionOptStatus of the cell's
 *                                     region in the cell's account: DISABLED,
 *                                     DISABLING or ENABLING (culprit:
 *                                     DisableRegion, recorded in the partition's
 *                                     global region); a failed call is evidence,
 *                                     not a stop
 *   selectors_exclude                 event selectors without management events
 *                                     or without a configured data-event bucket
 *                                     (culprit: PutEventSelectors)
 *   global_events_off, global_events_duplicated
 *   account_left_org                  organization mode, checked right after the
 *                                     trail: ListAccounts (management account) does
 *                                     not list the cell's account as ACTIVE
 *                                     (culprit: RemoveAccountFromOrganization in
 *                                     the management account, else
 *                                     LeaveOrganization in the account; both in
 *                                     the partition's global region)
 *   org_trusted_access_disabled       ListAWSServiceAccessForOrganization has no
 *                                     cloudtrail.amazonaws.com: a member's cell, or
 *                                     the management account's cell verify
 *                                     reported it on (culprit: DisableAWSServiceAccess)
 *   cloudwatch_settings_changed, log_group_missing, cloudwatch_role_missing,
 *   cloudwatch_role_untrusted, cloudwatch_role_denies, metric_filter_missing,
 *   alarm_missing, alarm_action_missing, alarm_topic_missing, topic_policy_denies,
 *   topic_key_denies, subscription_unconfirmed, access_logging_off,
 *   access_log_policy_denies
 *                                     [monitoring], a cell whose symptom is a
 *                                     monitoring code (doctor_monitoring.c)
 *   unknown                           red, but nothing above explains it: the
 *                                     evidence lists everything checked
 *
 * Events are looked up with CloudTrail LookupEvents (EventName attribute) in
 * the account and region where the change was made: trail changes in the
 * trail owner's home region, bucket and key changes in the central account
 * and the key's/bucket's region.  Per-run caches: trail, trail status, event
 * selectors, bucket policy, bucket location, key description and key policy
 * are fetched once and shared by every cell.
 *
 * Accounts: calls in the caller's own account use the caller's credentials;
 * other accounts through STS AssumeRole of
 * arn:PARTITION:iam::ACCOUNT:role/ASSUME_ROLE (cached per account).
 *
 * Library code: never prints, never reads the clock (now comes in opts).
 * Implemented in src/checks/doctor*.c (the parts: doctor_int.h). */
#ifndef TK_DOCTOR_H
#define TK_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "config.h"
#include "err.h"
#include "plan.h"

struct aws_ctx;

#define DOCTOR_LOOKBACK_S (90L * 86400)   /* LookupEvents keeps 90 days */
#define DOCTOR_MAX_EVENT_PAGES 20         /* LookupEvents pages per question */
#define DOCTOR_MAX_EVIDENCE 64            /* evidence lines per cell */

enum doctor_cause {
	DC_NONE = 0,
	DC_TRAIL_MISSING,
	DC_TRAIL_DELETED,
	DC_TRAIL_NOT_LOGGING,
	DC_TRAIL_REGION_NOT_COVERED,
	DC_DELIVERY_ERROR,
	DC_BUCKET_POLICY_DENIES,
	DC_KMS_KEY_MISSING,
	DC_KMS_KEY_DISABLED,
	DC_KMS_KEY_PENDING_DELETION,
	DC_KMS_KEY_WRONG_REGION,
	DC_KMS_POLICY_DENIES,
	DC_KMS_KEY_CHANGED,
	DC_BUCKET_MISSING,
	DC_BUCKET_WRONG_REGION,
	DC_BUCKET_FOREIGN_OWNER,
	DC_BUCKET_CHANGED,
	DC_PREFIX_CHANGED,
	DC_ORG_PATH_LAYOUT,
	DC_REGION_NOT_ENABLED,
	DC_SELECTORS_EXCLUDE,
	DC_GLOBAL_EVENTS_OFF,
	DC_GLOBAL_EVENTS_DUPLICATED,
	DC_VALIDATION_DISABLED,
	DC_ACCOUNT_LEFT_ORG,
	DC_ORG_TRUSTED_ACCESS_DISABLED,
	DC_CLOUDWATCH_SETTINGS_CHANGED,   /* [monitoring] (doctor_monitoring.c) */
	DC_LOG_GROUP_MISSING,
	DC_CLOUDWATCH_ROLE_MISSING,
	DC_CLOUDWATCH_ROLE_UNTRUSTED,
	DC_CLOUDWATCH_ROLE_DENIES,
	DC_METRIC_FILTER_MISSING,
	DC_ALARM_MISSING,
	DC_ALARM_ACTION_MISSING,
	DC_ALARM_TOPIC_MISSING,
	DC_TOPIC_POLICY_DENIES,
	DC_TOPIC_KEY_DENIES,
	DC_SUBSCRIPTION_UNCONFIRMED,
	DC_ACCESS_LOGGING_OFF,
	DC_ACCESS_LOG_POLICY_DENIES,
	DC_ACCOUNT_UNCONFIGURED,  /* account-level (doctor_accounts.h) */
	DC_PREFIX_FOREIGN,        /* account-level (doctor_accounts.h) */
	DC_UNKNOWN,
	DC__COUNT
};

const char *doctor_cause_name(enum doctor_cause c);   /* "trail_not_logging"; "" for DC_NONE */
const char *doctor_cause_hint(enum doctor_cause c);   /* one line */
int doctor_cause_from_name(const char *name);          /* code or -1 */

/* A cell to look at, as verify (or doctor_select) judged it. */
struct doctor_cell_in {
	const char *account;
	const char *region;
	bool red;                 /* not healthy: doctor digs into it */
	const char *symptom;      /* what verify saw ("delivery_stale ..."), may be NULL */
	bool warning_only;        /* every finding verify placed here is a warning: a cause
	                             found here is severity warning (README "doctor": alone,
	                             doctor exits 0, as verify does) */
	bool delivery_error_only; /* verify saw nothing but the trail's delivery error: when
	                             another cell of the trail explains that error, this cell
	                             points there instead of repeating every check */
};

enum doctor_status {
	DOCTOR_HEALTHY,           /* not red: nothing to explain */
	DOCTOR_CAUSE,             /* red, cause found (or "unknown") */
	DOCTOR_UNEXAMINED         /* red, but a call needed to examine it failed */
};
const char *doctor_status_name(enum doctor_status s);  /* "ok", "cause", "unexamined" */

struct doctor_culprit {       /* all NULL when no event was found */
	char *who;                /* userIdentity.arn (session issuer role in parentheses) */
	char *when;               /* eventTime, ISO-8601 */
	char *source_ip;          /* sourceIPAddress */
	char *event;              /* eventName */
	char *event_id;
};

struct doctor_cell {
	char *account, *region;
	enum doctor_status status;
	enum doctor_cause cause;
	char *symptom;            /* copied from the input, may be NULL */
	char **evidence;          /* lines: "cloudtrail GetTrailStatus 'arn': IsLogging false" */
	size_t nevidence, alloc_evidence;
	char *fix;                /* one line: the command that fixes it */
	char *fix_diff;           /* NULL, or a unified diff of what apply would change */
	struct doctor_culprit culprit;
	char *error;              /* DOCTOR_UNEXAMINED: why */
	bool warning;             /* DOCTOR_CAUSE of a warning-only cell (doctor_cell_in) */
};

struct doctor_report {
	struct doctor_cell *cells;
	size_t ncells;
	size_t ncauses;           /* cells with status DOCTOR_CAUSE */
	size_t nwarnings;         /* of those, the warning-only cells' (exit 0 alone) */
	size_t nunexamined;
	size_t aws_calls;         /* AWS calls doctor made (for the benchmark) */
};
void doctor_report_release(struct doctor_report *r);

struct http_pool_options;

struct doctor_opts {
	const struct tk_config *cfg;
	const struct plan *plan;          /* desired state, for fix diffs (may be NULL) */
	const char *config_path;          /* for the fix command line */
	struct aws_ctx *aws;              /* the caller's context (template for the others) */
	time_t now;                       /* the command layer's clock */
	long lookback_s;                  /* 0: DOCTOR_LOOKBACK_S */
	const char *session_name;         /* AssumeRole session; NULL: "trailkeep-doctor" */
	const struct doctor_cell_in *cells;
	size_t ncells;
	/* also treat a cell as red when its trail is missing, stopped, does not
	 * cover the region, or drifted in a way that stops or hides delivery
	 * (bucket, prefix, event selectors, global events): verify reports those
	 * once per trail, and a fresh-looking cell can already be broken.  Costs
	 * the per-trail calls (GetTrail, GetTrailStatus, GetEventSelectors). */
	bool trail_checks;
	/* accounts examined at once (a worker per account, each with its own
	 * HTTP pool made with http_opts, its own credentials and run cache);
	 * 0 or 1, or http_opts NULL: one cell after another on aws's pool */
	int jobs;
	const struct http_pool_options *http_opts;
};

/* Examine every red cell.  Returns 0 when the run could be made (cells that
 * could not be examined are DOCTOR_UNEXAMINED in *out), or an error that
 * stopped everything (the caller's identity).  *out is filled in every case
 * (release it). */
int doctor_run(struct doctor_report *out, const struct doctor_opts *o, struct errbuf *err);

/* Which cells are red, without the verify engine: the trail's control
 * plane (exists, logging, covers the region) and freshness (the newest log
 * object under the cell's prefix, today's and yesterday's date folders, is
 * younger than max_delivery_age).  The cells come from the config
 * (filtered by accounts/regions when given, NULL = all).  *out (caller
 * frees with doctor_cells_free) gets one entry per cell. */
int doctor_select(struct doctor_cell_in **out, size_t *n, const struct doctor_opts *o,
		  const char *const *accounts, size_t naccounts, const char *const *regions,
		  size_t nregions, struct errbuf *err);
void doctor_cells_free(struct doctor_cell_in *c, size_t n);

/* The --json document:
 *   {"version": 1, "cells": [{"account", "region", "status": "ok"|"cause"|"unexamined",
 *     "cause": code|null, "hint": text|null, "symptom": text|null, "evidence": [lines],
 *     "fix": text|null, "fix_diff": text|null, "error": text|null,
 *     "culprit": {"who", "when", "source_ip", "event", "event_id"} | null}],
 *    "summary": {"cells", "red", "causes": {code: n}, "unexamined"}}
 * Caller decrefs. */
json_t *doctor_report_json(const struct doctor_report *r);

/* Does an event selectors document (GetEventSelectors' answer: EventSelectors
 * or AdvancedEventSelectors; NULL or neither = the default) log every
 * management event (bucket NULL), or the S3 data events of bucket? */
bool doctor_selectors_cover(const json_t *doc, const char *bucket);

/* What a LatestDeliveryError / LatestDigestDeliveryError value means (one
 * line; a generic sentence for values nobody documented). */
const char *doctor_delivery_error_meaning(const char *value);

/* The log object key prefix of a cell: [prefix/]AWSLogs/[org/]ACCT/CloudTrail/REGION/
 * (org part in organization mode).  Caller frees. */
char *doctor_cell_prefix(const struct tk_config *c, const char *account, const char *region);

#endif
