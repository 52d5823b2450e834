/* doctor_causes.c: the cause table (names and hints; tests/docs_codes.sh
 * reads the codes here), status names, delivery error meanings, and the
 * report as JSON (see doctor.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"
#include "doctor_int.h"
#include "account.h"
#include "apply.h"
#include "aws.h"
#include "buf.h"
#include "cloudtrail.h"
#include "diff.h"
#include "endpoint.h"
#include "kms.h"
#include "org_check.h"
#include "policy.h"
#include "s3.h"
#include "sts.h"
#include "timeutil.h"
#include "trail_drift.h"
#include "digest.h"
#include "banned.h"

/* ---- cause table ---------------------------------------------------------- */

static const struct {
	const char *name;
	const char *hint;
} causes[DC__COUNT] = {
	[DC_NONE] = { "", "" },
	[DC_TRAIL_MISSING] = { "trail_missing", "the trail does not exist: trailkeep apply creates it and starts logging" },
	[DC_TRAIL_DELETED] = { "trail_deleted", "someone deleted the trail: trailkeep apply re-creates it; ask the culprit why" },
	[DC_TRAIL_NOT_LOGGING] = { "trail_not_logging", "the trail exists but logging is stopped: trailkeep apply starts it" },
	[DC_TRAIL_REGION_NOT_COVERED] = { "trail_region_not_covered", "the trail is single-region and this region is not its home: make it multi-region (trailkeep apply)" },
	[DC_DELIVERY_ERROR] = { "delivery_error", "the trail reports a delivery error nothing else explains: its value says which permission or resource is wrong" },
	[DC_BUCKET_POLICY_DENIES] = { "bucket_policy_denies", "the bucket policy does not let this trail write this account's prefix: trailkeep apply restores its statements" },
	[DC_KMS_KEY_MISSING] = { "kms_key_missing", "the trail's KMS key does not exist: trailkeep apply creates the key and points the trail at it" },
	[DC_KMS_KEY_DISABLED] = { "kms_key_disabled", "the trail's KMS key is disabled: trailkeep apply enables it" },
	[DC_KMS_KEY_PENDING_DELETION] = { "kms_key_pending_deletion", "the trail's KMS key is scheduled for deletion: trailkeep apply cancels the deletion and enables it, now" },
	[DC_KMS_KEY_WRONG_REGION] = { "kms_key_wrong_region", "the trail's KMS key is in another region than the bucket: trailkeep apply points the trail at the key in home_region" },
	[DC_KMS_KEY_CHANGED] = { "kms_key_changed", "the trail encrypts with another key than the config's kms_alias: whoever may decrypt the configured key cannot read new logs; trailkeep apply points it back" },
	[DC_KMS_POLICY_DENIES] = { "kms_policy_denies", "the key policy does not let CloudTrail GenerateDataKey for this trail: trailkeep apply restores its statements" },
	[DC_BUCKET_MISSING] = { "bucket_missing", "the trail's bucket does not exist: trailkeep apply creates it" },
	[DC_BUCKET_WRONG_REGION] = { "bucket_wrong_region", "the bucket was created again in another region than home_region, away from the trail's KMS key: move it back or change home_region" },
	[DC_BUCKET_FOREIGN_OWNER] = { "bucket_foreign_owner", "the bucket belongs to another account: choose another bucket name in the config" },
	[DC_BUCKET_CHANGED] = { "bucket_changed", "the trail writes to another bucket than the config says: trailkeep apply points it back" },
	[DC_PREFIX_CHANGED] = { "prefix_changed", "the trail's S3KeyPrefix differs from the config: trailkeep apply sets it back" },
	[DC_ORG_PATH_LAYOUT] = { "org_path_layout", "the key prefix repeats the organization id: logs land under ORG/AWSLogs/ORG/...; drop it from key_prefix" },
	[DC_REGION_NOT_ENABLED] = { "region_not_enabled", "the region is not enabled for the account: enable it or remove it from the config" },
	[DC_SELECTORS_EXCLUDE] = { "selectors_exclude", "the event selectors leave out management events or a configured data-event bucket: trailkeep apply restores them" },
	[DC_GLOBAL_EVENTS_OFF] = { "global_events_off", "the trail does not include global service events: trailkeep apply turns them on" },
	[DC_GLOBAL_EVENTS_DUPLICATED] = { "global_events_duplicated", "more than one trail in the account records global service events: turn them off on the other trail" },
	[DC_VALIDATION_DISABLED] = { "validation_disabled", "log file validation is off: no digest proves the logs unaltered; trailkeep apply turns it on" },
	[DC_ACCOUNT_LEFT_ORG] = { "account_left_org", "the account is no longer an ACTIVE member of the organization, so the organization trail does not log it: invite it back or remove it from the config" },
	[DC_ORG_TRUSTED_ACCESS_DISABLED] = { "org_trusted_access_disabled", "cloudtrail.amazonaws.com has no trusted access in Organizations: the organization trail logs only the management account; trailkeep apply enables it" },
	[DC_ACCOUNT_UNCONFIGURED] = { "account_unconfigured", "an ACTIVE member of the organization that the config neither declares nor excludes: the organization trail logs it, nobody checks it; declare it or exclude it" },
	[DC_CLOUDWATCH_SETTINGS_CHANGED] = { "cloudwatch_settings_changed", "the trail does not deliver to the planned log group with the planned role: trailkeep apply sets both back" },
	[DC_LOG_GROUP_MISSING] = { "log_group_missing", "the log group CloudTrail delivers to was deleted: trailkeep apply creates it with its metric filters" },
	[DC_CLOUDWATCH_ROLE_MISSING] = { "cloudwatch_role_missing", "the role CloudTrail uses to write to CloudWatch Logs is gone: trailkeep apply creates it" },
	[DC_CLOUDWATCH_ROLE_UNTRUSTED] = { "cloudwatch_role_untrusted", "the CloudWatch Logs role does not trust CloudTrail for this trail: trailkeep apply restores its trust policy" },
	[DC_CLOUDWATCH_ROLE_DENIES] = { "cloudwatch_role_denies", "the CloudWatch Logs role may not create the trail's log stream or put events into it: trailkeep apply restores its policy" },
	[DC_METRIC_FILTER_MISSING] = { "metric_filter_missing", "a metric filter of the plan was deleted or its pattern changed: its alarm never sees those events; trailkeep apply restores it" },
	[DC_ALARM_MISSING] = { "alarm_missing", "an alarm of the plan was deleted: nobody is told about that event class; trailkeep apply re-creates it" },
	[DC_ALARM_ACTION_MISSING] = { "alarm_action_missing", "an alarm no longer notifies the topic: it changes state silently; trailkeep apply restores its action" },
	[DC_ALARM_TOPIC_MISSING] = { "alarm_topic_missing", "the alarm topic was deleted: alarms fire into nothing; trailkeep apply re-creates it (subscribers confirm again)" },
	[DC_TOPIC_POLICY_DENIES] = { "topic_policy_denies", "the topic policy does not let CloudWatch publish the alarms: trailkeep apply restores its statements" },
	[DC_TOPIC_KEY_DENIES] = { "topic_key_denies", "the alarm topic's KMS key does not let CloudWatch encrypt the alarms' messages (alias/aws/sns, another key, disabled, pending deletion or its key policy): trailkeep apply restores the topic's key and its policy; enable a disabled key" },
	[DC_SUBSCRIPTION_UNCONFIRMED] = { "subscription_unconfirmed", "nobody has confirmed a subscription to the alarm topic, so the alarms reach nobody: the subscriber confirms the link in SNS's confirmation message; trailkeep apply subscribes a removed endpoint again" },
	[DC_ACCESS_LOGGING_OFF] = { "access_logging_off", "the log bucket's S3 server access logging is off or points elsewhere: trailkeep apply sets it back" },
	[DC_ACCESS_LOG_POLICY_DENIES] = { "access_log_policy_denies", "the access-log bucket policy does not let logging.s3.amazonaws.com write the log bucket's access logs: trailkeep apply restores it" },
	[DC_PREFIX_FOREIGN] = { "prefix_foreign", "logs under the prefix of an account that is neither configured nor an ACTIVE member: logs kept from before it was removed, or another trail writing into the bucket" },
	[DC_UNKNOWN] = { "unknown", "no known cause explains this cell: read the evidence (everything doctor checked is dr_listed)" },
};

const char *doctor_cause_name(enum doctor_cause c)
{
	return (unsigned)c < DC__COUNT ? causes[c].name : "";
}

const char *doctor_cause_hint(enum doctor_cause c)
{
	return (unsigned)c < DC__COUNT ? causes[c].hint : "";
}

int doctor_cause_from_name(const char *name)
{
	int i;

	for (i = 1; i < DC__COUNT; i++)
		if (!strcmp(causes[i].name, name))
			return i;
	return -1;
}

const char *doctor_status_name(enum doctor_status s)
{
	switch (s) {
	case DOCTOR_HEALTHY: return "ok";
	case DOCTOR_CAUSE: return "cause";
	case DOCTOR_UNEXAMINED: return "unexamined";
	}
	return "?";
}

/* What each LatestDeliveryError value means (AWS documents few of them;
 * these are the ones CloudTrail and the fake report). */
const char *doctor_delivery_error_meaning(const char *v)
{
	static const struct { const char *code, *meaning; } m[] = {
		{ "AccessDenied", "S3 refused the PutObject: the bucket policy (or an SCP / object ownership setting) does not let CloudTrail write this prefix" },
		{ "NoSuchBucket", "the trail's S3 bucket does not exist" },
		{ "KMS.DisabledException", "the trail's KMS key is disabled" },
		{ "KMS.NotFoundException", "the trail's KMS key does not exist (deleted, or in another region)" },
		{ "KMS.KMSInvalidStateException", "the trail's KMS key is not usable (pending deletion or import)" },
		{ "KMS.AccessDeniedException", "the key policy does not let CloudTrail use the KMS key" },
		{ "InsufficientEncryptionPolicy", "the key policy does not let CloudTrail GenerateDataKey with this trail's encryption context" },
		{ "InsufficientS3BucketPolicy", "the bucket policy does not let CloudTrail write" },
		{ "PermanentRedirect", "the bucket is in another region than the endpoint CloudTrail used" },
		{ "AllAccessDisabled", "all access to the bucket is disabled (suspended account)" },
		{ "KMS.ThrottlingException", "KMS throttled CloudTrail's GenerateDataKey: other callers of the key (or of "
		  "the account's KMS quota) use up its request rate; CloudTrail retries, logs arrive late or not at all" },
		{ "KMS.KMSInternalException", "KMS failed internally; usually transient" },
		{ "InternalError", "S3 failed internally; usually transient" },
		{ "SlowDown", "S3 throttled the PutObject (request rate on the prefix)" },
	};
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (!strcmp(m[i].code, v))
			return m[i].meaning;
	return "an error CloudTrail reported without a documented meaning";
}

/* Does a delivery error point at a resource that a later check examines? */
bool dr_delivery_error_deferred(const char *v)
{
	return !strcmp(v, "AccessDenied") || !strcmp(v, "NoSuchBucket") || !strncmp(v, "KMS.", 4) ||
	       !strcmp(v, "InsufficientEncryptionPolicy") || !strcmp(v, "InsufficientS3BucketPolicy") ||
	       !strcmp(v, "PermanentRedirect");
}

/* ---- JSON ----------------------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *doctor_report_json(const struct doctor_report *r)
{
	json_t *doc = json_object(), *cells = json_array(), *counts = json_object(), *sum;
	size_t i, j, red = 0;

	for (i = 0; i < r->ncells; i++) {
		const struct doctor_cell *c = &r->cells[i];
		json_t *o = json_object(), *evs = json_array();

		json_object_set_new(o, "account", json_string(c->account));
		json_object_set_new(o, "region", json_string(c->region));
		json_object_set_new(o, "status", json_string(doctor_status_name(c->status)));
		json_object_set_new(o, "cause", c->status == DOCTOR_CAUSE ? json_string(doctor_cause_name(c->cause))
				    : json_null());
		json_object_set_new(o, "hint", c->status == DOCTOR_CAUSE ? json_string(doctor_cause_hint(c->cause))
				    : json_null());
		json_object_set_new(o, "severity", c->status == DOCTOR_CAUSE ?
				    json_string(c->warning ? "warning" : "error") : json_null());
		json_object_set_new(o, "symptom", str_or_null(c->symptom));
		for (j = 0; j < c->nevidence; j++)
			json_array_append_new(evs, json_string(c->evidence[j]));
		json_object_set_new(o, "evidence", evs);
		json_object_set_new(o, "fix", str_or_null(c->fix));
		json_object_set_new(o, "fix_diff", str_or_null(c->fix_diff));
		json_object_set_new(o, "error", str_or_null(c->error));
		if (c->culprit.who)
			json_object_set_new(o, "culprit", json_pack("{s:o, s:o, s:o, s:o, s:o}",
				"who", str_or_null(c->culprit.who), "when", str_or_null(c->culprit.when),
				"source_ip", str_or_null(c->culprit.source_ip), "event", str_or_null(c->culprit.event),
				"event_id", str_or_null(c->culprit.event_id)));
		else
			json_object_set_new(o, "culprit", json_null());
		json_array_append_new(cells, o);
		if (c->status != DOCTOR_HEALTHY)
			red++;
		if (c->status == DOCTOR_CAUSE) {
			const char *k = doctor_cause_name(c->cause);
			json_int_t v = json_integer_value(json_object_get(counts, k));

			json_object_set_new(counts, k, json_integer(v + 1));
		}
	}
	sum = json_pack("{s:I, s:I, s:o, s:I, s:I}", "cells", (json_int_t)r->ncells, "red", (json_int_t)red,
			"causes", counts, "warnings", (json_int_t)r->nwarnings, "unexamined",
			(json_int_t)r->nunexamined);
	json_object_set_new(doc, "version", json_integer(1));
	json_object_set_new(doc, "cells", cells);
	json_object_set_new(doc, "summary", sum);
	return doc;
}
