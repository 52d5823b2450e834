/* apply.h: converge AWS to a plan (README "trailkeep apply").  Library code: it
 * reads the current state, compares it with the plan and writes only what
 * differs; it never prints, exits or reads the clock/environment.
 *
 * Order (what AWS requires):
 *   preflight (reads only, before ANY write): the plan's key policy keeps
 *     the account root (lock-out check), the central bucket and the
 *     access-log bucket are either missing or owned by the central account
 *     and in home_region, the access-log bucket has no object lock and no
 *     SSE-KMS default, the KMS key (if it exists) is in a state apply can
 *     use or converge (apply_key_state_step: Enabled, Disabled,
 *     PendingDeletion; any other state is an error naming key, alias and
 *     state);
 *   central account (log_archive_account, else management_account), home region:
 *     KMS key found by kms_alias (created with the plan's key policy and the
 *     description "trailkeep: CloudTrail logs (ALIAS)", then the alias; a key
 *     with that description and no alias, left by a run interrupted between
 *     CreateKey and CreateAlias, is adopted instead of creating another),
 *     key state (a Disabled key is enabled; a key pending deletion has its
 *     deletion cancelled and is then enabled: a disabled key or a scheduled
 *     deletion silently stops every CloudTrail delivery), key policy,
 *     rotation;
 *     bucket (created in home_region; object lock only at creation),
 *     versioning, default encryption SSE-KMS with the key's full ARN, public
 *     access block, ownership controls, lifecycle, object lock (reported
 *     when it differs: it cannot be changed after creation);
 *     access-log bucket (versioning, SSE-S3, public access block, ownership,
 *     its policy), logging of the central bucket into it;
 *     bucket policy;
 *   trails (after the central part succeeded), one worker per account in
 *     parallel: organization mode -> the org trail in the management
 *     account; per-account mode -> one trail per [account] (filtered by
 *     --account) through STS AssumeRole into [organization] assume_role
 *     (with external_id):  trail (create/update), event selectors,
 *     StartLogging last.
 *
 * Credentials: the caller's own account (STS GetCallerIdentity) is used
 * with the caller's credentials; every other account through AssumeRole of
 * arn:PARTITION:iam::ACCOUNT:role/ASSUME_ROLE, cached per account.
 *
 * Policy statements: a statement whose Sid starts with "Trailkeep" is owned
 * by trailkeep (every planned statement must have such a Sid).  apply
 * replaces the owned set with the plan's and keeps every other ("foreign")
 * statement unchanged and in its place: an owned statement is replaced in
 * place by the planned statement with the same Sid (or dropped when the plan
 * has none), planned statements not present yet go right after the last
 * owned statement, or at the end when the current policy has none.  The
 * comparison is semantic (diff.h): statement order is kept as it is when the
 * content is equal.  It never removes a foreign statement, never
 * deletes a bucket, key, trail or object, never disables or schedules the
 * deletion of a key, never stops logging and never disables versioning.
 *
 * InsufficientS3BucketPolicyException from CreateTrail/UpdateTrail after this
 * run changed the bucket policy is retried with backoff (1, 2, 4, 8, ... s,
 * at most policy_retry_ms in total).
 *
 * Unset converges to unset: what the plan leaves out is cleared with the call
 * that clears it (UpdateTrail S3KeyPrefix/KmsKeyId "", PutEventSelectors
 * with the planned set, PutBucketLogging without a target, lifecycle
 * without trailkeep's rules the plan no longer has (apply_lifecycle_merge),
 * PutObjectLockConfiguration without a default retention).  A trail's SNS
 * and CloudWatch Logs settings are left alone.  What differs on a trail is
 * trail_drift.h's answer.
 *
 * Read-back: after an account's writes, what decides "nothing to do" next
 * time is read again (the central part compared again in full; the trail
 * with trail_drift and, after StartLogging, GetTrailStatus), with a grace of
 * 1, 2, 4, 8 s (times the context's backoff_scale); a difference left is an
 * error naming the resource and setting.
 *
 * Creates are safe to retry: CreateKey one attempt at a time on a fresh
 * connection, tagged APPLY_KEY_TAG, a lost reply adopted by tag/description;
 * AlreadyExists after a lost CreateAlias (the alias names our key),
 * CreateTrail (read and compared like any trail) or BucketAlreadyOwnedByYou
 * after a lost CreateBucket is adopted.  Concurrent applies are the
 * command's business (the apply lock in src/cmd/apply.c).
 * Implemented in src/apply/apply*.c (the parts: apply_int.h). */
#ifndef TK_APPLY_H
#define TK_APPLY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "aws.h"
#include "config.h"
#include "err.h"
#include "http.h"
#include "plan.h"

#define APPLY_SID_PREFIX "Trailkeep"
#define APPLY_MAX_JOBS 64             /* = TK_MAX_WORKERS (workers.h) */
#define APPLY_POLICY_RETRY_MS 60000L
/* the tag a key gets at creation (value: kms_alias), so a key whose
 * CreateKey reply was lost is found and adopted instead of made twice */
#define APPLY_KEY_TAG "trailkeep:alias"

/* Is this statement Sid trailkeep's? */
bool apply_sid_owned(const char *sid);

/* Merge a desired policy into the current one (see above).  current may be
 * NULL (no policy yet): the result is a copy of desired.  TK_EUSAGE when
 * current is not a policy document (no Statement list) with err naming what;
 * subject names the policy in messages.  Caller decrefs *out. */
int apply_merge_policy(json_t **out, const json_t *current, const json_t *desired, const char *subject,
		       struct errbuf *err);

/* Lifecycle rules: a rule whose ID starts with "Trailkeep" is trailkeep's.
 * cur_canon: the current LifecycleConfiguration in its canonical JSON form
 * (each element's text, repeated elements as a list: "Rule" is one object or
 * a list; NULL: none).  Returns {"Rules": [every current rule that is not
 * trailkeep's, as it is, then planned_rules]}: what apply puts (a rule the
 * plan no longer has, such as TrailkeepRetention with retention_days = 0,
 * is dropped; foreign rules are never dropped).  Caller decrefs. */
json_t *apply_lifecycle_merge(const json_t *cur_canon, const json_t *planned_rules);

/* The KMS lock-out check: does policy still allow the account root
 * (arn:PARTITION:iam::ACCOUNT:root) kms:PutKeyPolicy on the key?  Checked
 * with the policy evaluator (policy.h: Allow, no explicit Deny, with an
 * empty request context) and structurally (an Allow statement without
 * Condition whose Principal names the root ARN or the account id and whose
 * Action covers kms:PutKeyPolicy).  TK_EUSAGE with a message naming subject
 * otherwise (also for a malformed policy). */
int apply_check_key_policy(const json_t *policy, const char *partition, const char *account,
			   const char *subject, struct errbuf *err);

/* What apply does with the existing key's KeyState (DescribeKey). */
enum apply_key_step {
	APPLY_KEY_READY,          /* "Enabled": nothing */
	APPLY_KEY_ENABLE,         /* "Disabled": EnableKey */
	APPLY_KEY_CANCEL_ENABLE,  /* "PendingDeletion": CancelKeyDeletion (it leaves the key
				   * Disabled), then EnableKey */
	APPLY_KEY_REFUSE          /* any other state (PendingImport, Unavailable, Creating,
				   * Updating, PendingReplicaDeletion, ...) or none: preflight
				   * fails before any write */
};
enum apply_key_step apply_key_state_step(const char *state);

/* One change apply made (or, in a dry run, would make). */
struct apply_change {
	char *account;
	char *subject;      /* "kms key 'alias/x' policy", "bucket 'b' versioning", "trail 'arn'" */
	char *verb;         /* "create", "update", "set", "enable rotation", "start logging",
			     * "cancel deletion", "enable" (the last two: key state) */
	char *before;       /* pretty JSON text of the current state, NULL when absent */
	char *after;        /* pretty JSON text of the desired state */
	bool done;          /* the write succeeded (false in a dry run) */
};

enum apply_scope { APPLY_SCOPE_CENTRAL, APPLY_SCOPE_TRAIL };

/* The outcome of one account's part. */
struct apply_outcome {
	char account[TK_ACCOUNT_ID_LEN + 1];
	enum apply_scope scope;
	int rc;                 /* 0 or the error */
	char msg[ERRBUF_LEN];   /* the error message when rc < 0 */
	size_t nchanges;
	bool skipped;           /* not attempted (the central part failed) */
};

struct apply_result {
	struct apply_change *changes;   /* central first, then trails in config order */
	size_t nchanges, alloc_changes;
	struct apply_outcome *outcomes; /* central first, then one per trail account */
	size_t noutcomes, alloc_outcomes;
	char **warnings;                /* things apply cannot or will not change */
	size_t nwarnings, alloc_warnings;
	size_t writes;                  /* write calls that succeeded */
	bool failed;                    /* some outcome has rc < 0 */
};
void apply_result_release(struct apply_result *r);

struct apply_options {
	const struct tk_config *cfg;
	const struct plan *plan;
	bool dry_run;
	const char *const *accounts;   /* trails only for these accounts (NULL: all) */
	size_t naccounts;
	/* a template for every AWS context apply makes: creds are the caller's;
	 * http and region are ignored (each worker makes its own pool from
	 * http_opts and uses home_region) */
	const struct aws_ctx_options *aws;
	const struct http_pool_options *http_opts;
	int jobs;                      /* accounts in parallel; 0: 16, at most APPLY_MAX_JOBS */
	long policy_retry_ms;          /* 0: APPLY_POLICY_RETRY_MS */
	const char *session_name;      /* AssumeRole session name; NULL: "trailkeep-apply" */
	/* optional: credentials for another account (the command passes the
	 * per-account AssumeRole cache of creds_net.h, aws_account_creds); it
	 * is called under a lock, so it need not be thread-safe.  NULL: STS
	 * AssumeRole from here (cached per account for the run). */
	int (*account_creds)(void *ud, const char *account, struct aws_creds *out, struct errbuf *err);
	void *account_creds_ud;
};

/* Run.  Returns 0 when the run could be attempted (per-account failures
 * are in out->outcomes and out->failed), TK_EUSAGE for a plan that fails a
 * safety check that needs no AWS call (key policy lock-out), or the error
 * of a preflight check / the caller's identity (nothing was written then).
 * *out is filled in every case (release it). */
int apply_run(struct apply_result *out, const struct apply_options *o, struct errbuf *err);

#endif
