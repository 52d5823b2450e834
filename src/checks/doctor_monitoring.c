/* doctor_monitoring.c: doctor's causes for [monitoring] (README "Monitoring",
 * "doctor"), for a cell whose symptom is one of verify's monitoring codes:
 *
 *   cloudwatch_delivery_stale / cloudwatch_delivery_error / monitoring_drift
 *   (the trail owner's cells):
 *     cloudwatch_settings_changed  the trail's CloudWatch Logs ARNs are not the
 *                                  planned ones (culprit: UpdateTrail)
 *     log_group_missing            DescribeLogGroups has no planned group
 *                                  (culprit: DeleteLogGroup)
 *     cloudwatch_role_missing      GetRole: NoSuchEntity (culprit: DeleteRole)
 *     cloudwatch_role_untrusted    the trust policy, evaluated with policy.h for
 *                                  cloudtrail.amazonaws.com sts:AssumeRole with the
 *                                  trail's aws:SourceArn / aws:SourceAccount, does
 *                                  not allow (culprit: UpdateAssumeRolePolicy)
 *     cloudwatch_role_denies       the role's inline policy does not allow
 *                                  logs:CreateLogStream + logs:PutLogEvents on the
 *                                  trail's stream in the group (culprit:
 *                                  PutRolePolicy / DeleteRolePolicy)
 *     metric_filter_missing        a planned metric filter is gone (culprit:
 *                                  DeleteMetricFilter) or has another pattern
 *                                  (culprit: PutMetricFilter)
 *     alarm_missing                a planned alarm is gone (culprit: DeleteAlarms)
 *     alarm_action_missing         an alarm does not notify the topic (culprit:
 *                                  PutMetricAlarm)
 *     alarm_topic_missing          the topic is gone (culprit: DeleteTopic)
 *     topic_policy_denies          the topic policy, evaluated for
 *                                  cloudwatch.amazonaws.com SNS:Publish with the
 *                                  alarm's aws:SourceArn, does not allow
 *                                  (culprit: SetTopicAttributes); also for
 *                                  notify_denied, for every planned alarm
 *   notify_denied (the trail owner's cells), after the topic policy:
 *     topic_key_denies             the topic's KmsMasterKeyId is alias/aws/sns or
 *                                  not the planned key (SetTopicAttributes), the
 *                                  key is not Enabled (DisableKey /
 *                                  ScheduleKeyDeletion: the fix enables it), or
 *                                  its policy does not allow cloudwatch
 *                                  kms:GenerateDataKey + kms:Decrypt (PutKeyPolicy)
 *   notify_unconfirmed (the trail owner's cells), after all of the above:
 *     subscription_unconfirmed     ListSubscriptionsByTopic: none confirmed (none
 *                                  at all: culprit Unsubscribe, fix apply; else
 *                                  the subscriber confirms)
 *   access_log_stale / access_log_none (the central account's cell):
 *     access_logging_off           the log bucket's logging does not target the
 *                                  access-log bucket (culprit: PutBucketLogging)
 *     access_log_policy_denies     the access-log bucket policy, evaluated for
 *                                  logging.s3.amazonaws.com s3:PutObject with the
 *                                  log bucket's aws:SourceArn / aws:SourceAccount,
 *                                  does not allow (culprit: PutBucketPolicy /
 *                                  DeleteBucketPolicy)
 * Each fix is trailkeep apply unless said otherwise.  A read that
 * fails leaves the cell incomplete (unexamined), never "unknown". */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor_int.h"
#include "endpoint.h"
#include "monitoring.h"
#include "s3.h"
#include "verify_monitoring.h"
#include "banned.h"

static const char *sv(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* evaluate a policy text for a service principal; 1 allowed, 0 not (with
 * evidence), -1 the policy cannot be evaluated (incomplete) */
static int service_allowed(struct cellctx *x, const char *what, const char *text, const char *service,
			   const char *action, const char *resource, const char *const *ctxkv, size_t nctx)
{
	struct policy_result res;
	struct errbuf e;
	int rc;

	err_clear(&e);
	rc = policy_eval_service(&res, text, service, action, resource, ctxkv, nctx, &e);
	if (rc) {
		dr_ev(x->c, "%s cannot be evaluated: %s", what, e.msg);
		dr_incomplete(x, e.msg);
		return -1;
	}
	if (res.decision == POLICY_ALLOW) {
		dr_ev(x->c, "%s allows %s %s%s%s (%s)", what, service, action, resource ? " on " : "",
		      resource ? resource : "", res.explain);
		return 1;
	}
	dr_ev(x->c, "%s %s %s %s%s%s: %s", what, res.decision == POLICY_DENY ? "explicitly denies" : "does not allow",
	      service, action, resource ? " on " : "", resource ? resource : "", res.explain);
	return 0;
}

static void found(struct cellctx *x, enum doctor_cause cause, const char *account, const char *region,
		  const char *event1, const char *event2, const char *match)
{
	const char *names[2] = { event1, event2 };
	const char *m[1] = { match };

	if (event1)
		dr_find_culprit(x->st, x->c, account, region, names, event2 ? 2 : 1, m, match ? 1 : 0);
	x->c->cause = cause;
	dr_fix_apply(x->st, x->c, NULL);
}

/* What check_cloudwatch's steps share: the plan's names for owner. */
struct cwplan {
	const char *owner, *part, *iam_region;
	const char *group, *group_arn, *role_arn, *role, *pname, *topic_arn;
	const char *topic_key;          /* the plan's topic key alias (NULL: none) */
	const json_t *alarms;           /* the plan's Alarms */
	struct trail_cache *t;
	struct aws_ctx *ctx;
};

/* step results: 1 a cause was found, 0 go on, -1 stop (incomplete) */
#define CW_FOUND 1
#define CW_NEXT 0
#define CW_STOP (-1)

/* the trail's two ARNs, then the log group */
static int cw_trail_and_group(struct cellctx *x, const struct cwplan *p)
{
	const struct tk_config *cfg = x->st->o->cfg;
	const struct ct_trail *tr = &p->t->trail;
	struct errbuf e;
	long retention;
	bool exists;

	if (!tr->cw_log_group_arn || !mon_group_arn_equal(tr->cw_log_group_arn, p->group_arn) || !tr->cw_role_arn ||
	    strcmp(tr->cw_role_arn, p->role_arn)) {
		dr_ev(x->c, "cloudtrail GetTrail '%s': CloudWatchLogsLogGroupArn '%s', CloudWatchLogsRoleArn '%s'; planned "
		      "'%s' with '%s'", p->t->arn, tr->cw_log_group_arn ? tr->cw_log_group_arn : "(none)",
		      tr->cw_role_arn ? tr->cw_role_arn : "(none)", p->group_arn, p->role_arn);
		found(x, DC_CLOUDWATCH_SETTINGS_CHANGED, p->owner, cfg->home_region, "UpdateTrail", NULL, NULL);
		return CW_FOUND;
	}
	dr_ev(x->c, "cloudtrail GetTrail '%s': delivers to log group '%s' with role '%s', as planned", p->t->arn,
	      p->group_arn, p->role_arn);
	err_clear(&e);
	if (mon_log_group(p->ctx, p->group, &exists, &retention, &e)) {
		dr_ev(x->c, "logs DescribeLogGroups '%s': not checked: %s", p->group, e.msg);
		dr_incomplete(x, e.msg);
		return CW_STOP;
	}
	if (!exists) {
		dr_ev(x->c, "logs DescribeLogGroups '%s': no such log group in account '%s'", p->group, p->owner);
		found(x, DC_LOG_GROUP_MISSING, p->owner, cfg->home_region, "DeleteLogGroup", NULL, p->group);
		return CW_FOUND;
	}
	dr_ev(x->c, "logs DescribeLogGroups '%s': exists", p->group);
	return CW_NEXT;
}

/* the role's inline policy lets it create and write the trail's stream */
static int cw_role_policy(struct cellctx *x, const struct cwplan *p)
{
	const struct tk_config *cfg = x->st->o->cfg;
	char *perm = NULL, *stream, *res;
	struct errbuf e;
	int rc, ok;

	if (cfg->mode == TK_MODE_ORGANIZATION && cfg->org_id)
		stream = xasprintf("%s_%s_CloudTrail_%s", cfg->org_id, p->owner, cfg->home_region);
	else
		stream = xasprintf("%s_CloudTrail_%s", p->owner, cfg->home_region);
	err_clear(&e);
	rc = mon_get_role_policy(p->ctx, p->role, p->pname, &perm, &e);
	if (rc && rc != TK_ENOTFOUND) {
		dr_ev(x->c, "iam GetRolePolicy '%s' '%s': not checked: %s", p->role, p->pname, e.msg);
		dr_incomplete(x, e.msg);
		free(stream);
		return CW_STOP;
	}
	if (rc == TK_ENOTFOUND) {
		dr_ev(x->c, "iam GetRolePolicy '%s' '%s': NoSuchEntity: the role may not write to CloudWatch Logs", p->role,
		      p->pname);
		found(x, DC_CLOUDWATCH_ROLE_DENIES, p->owner, p->iam_region, "DeleteRolePolicy", "PutRolePolicy", p->role);
		free(stream);
		return CW_FOUND;
	}
	res = xasprintf("arn:%s:logs:%s:%s:log-group:%s:log-stream:%s", p->part, cfg->home_region, p->owner, p->group,
			stream);
	/* an identity policy: no Principal, the role is who asks */
	ok = service_allowed(x, "the role's inline policy", perm, p->role_arn, "logs:PutLogEvents", res, NULL, 0);
	if (ok == 1)
		ok = service_allowed(x, "the role's inline policy", perm, p->role_arn, "logs:CreateLogStream", res, NULL, 0);
	free(res);
	free(perm);
	free(stream);
	if (ok < 0)
		return CW_STOP;
	if (!ok) {
		found(x, DC_CLOUDWATCH_ROLE_DENIES, p->owner, p->iam_region, "PutRolePolicy", NULL, p->role);
		return CW_FOUND;
	}
	return CW_NEXT;
}

/* the role: exists, trusts CloudTrail for this trail, may write the stream */
static int cw_role(struct cellctx *x, const struct cwplan *p)
{
	char *trust = NULL;
	struct errbuf e;
	int rc, ok;

	err_clear(&e);
	rc = mon_get_role(p->ctx, p->role, &trust, &e);
	if (rc == TK_ENOTFOUND) {
		dr_ev(x->c, "iam GetRole '%s': NoSuchEntity", p->role);
		found(x, DC_CLOUDWATCH_ROLE_MISSING, p->owner, p->iam_region, "DeleteRole", NULL, p->role);
		return CW_FOUND;
	}
	if (rc) {
		dr_ev(x->c, "iam GetRole '%s': not checked: %s", p->role, e.msg);
		dr_incomplete(x, e.msg);
		return CW_STOP;
	}
	{
		const char *kv[] = { "aws:SourceArn", p->t->arn, "aws:SourceAccount", p->owner };

		ok = service_allowed(x, "the role's trust policy", trust, "cloudtrail.amazonaws.com", "sts:AssumeRole",
				     NULL, kv, 4);
	}
	free(trust);
	if (ok < 0)
		return CW_STOP;
	if (!ok) {
		found(x, DC_CLOUDWATCH_ROLE_UNTRUSTED, p->owner, p->iam_region, "UpdateAssumeRolePolicy", NULL, p->role);
		return CW_FOUND;
	}
	return cw_role_policy(x, p);
}

/* every planned metric filter exists with the planned pattern */
static int cw_filters(struct cellctx *x, const struct cwplan *p)
{
	const struct tk_config *cfg = x->st->o->cfg;
	json_t *filters = NULL;
	const json_t *a, *f;
	struct errbuf e;
	size_t i, k;
	int rc = CW_NEXT;

	err_clear(&e);
	if (mon_metric_filters(p->ctx, p->group, &filters, &e)) {
		dr_ev(x->c, "logs DescribeMetricFilters '%s': not checked: %s", p->group, e.msg);
		dr_incomplete(x, e.msg);
		return CW_STOP;
	}
	json_array_foreach(p->alarms, i, a) {
		const char *name = sv(a, "Name"), *pattern = sv(a, "FilterPattern");
		const json_t *have = NULL;

		if (!name || !pattern)
			continue;
		json_array_foreach(filters, k, f)
			if (sv(f, "filterName") && !strcmp(sv(f, "filterName"), name))
				have = f;
		if (!have) {
			dr_ev(x->c, "logs DescribeMetricFilters '%s': no metric filter '%s'", p->group, name);
			found(x, DC_METRIC_FILTER_MISSING, p->owner, cfg->home_region, "DeleteMetricFilter", NULL, name);
			rc = CW_FOUND;
			break;
		}
		if (!sv(have, "filterPattern") || strcmp(sv(have, "filterPattern"), pattern)) {
			dr_ev(x->c, "logs DescribeMetricFilters '%s': metric filter '%s' has pattern '%s', planned '%s'",
			      p->group, name, sv(have, "filterPattern") ? sv(have, "filterPattern") : "(none)", pattern);
			found(x, DC_METRIC_FILTER_MISSING, p->owner, cfg->home_region, "PutMetricFilter", NULL, name);
			rc = CW_FOUND;
			break;
		}
	}
	if (rc == CW_NEXT)
		dr_ev(x->c, "logs DescribeMetricFilters '%s': every planned metric filter, with its pattern", p->group);
	json_decref(filters);
	return rc;
}

/* every planned alarm exists and notifies the topic */
static int cw_alarms(struct cellctx *x, const struct cwplan *p, const char *const *names)
{
	const struct tk_config *cfg = x->st->o->cfg;
	size_t n = json_array_size(p->alarms), i, k;
	json_t *alarms = NULL;
	const json_t *y;
	struct errbuf e;
	int rc = CW_NEXT;

	err_clear(&e);
	if (n && mon_alarms(p->ctx, names, n, &alarms, &e)) {
		dr_ev(x->c, "cloudwatch DescribeAlarms: not checked: %s", e.msg);
		dr_incomplete(x, e.msg);
		return CW_STOP;
	}
	for (i = 0; i < n && rc == CW_NEXT; i++) {
		const json_t *have = NULL;
		bool notifies = false;

		json_array_foreach(alarms, k, y)
			if (sv(y, "AlarmName") && names[i] && !strcmp(sv(y, "AlarmName"), names[i]))
				have = y;
		if (!have) {
			dr_ev(x->c, "cloudwatch DescribeAlarms: no alarm '%s'", names[i]);
			found(x, DC_ALARM_MISSING, p->owner, cfg->home_region, "DeleteAlarms", NULL, NULL);   /* AlarmNames is a list */
			rc = CW_FOUND;
			break;
		}
		json_array_foreach(json_object_get(have, "AlarmActions"), k, y)
			notifies = notifies || (json_string_value(y) && !strcmp(json_string_value(y), p->topic_arn));
		if (!notifies) {
			dr_ev(x->c, "cloudwatch DescribeAlarms: alarm '%s' does not notify '%s'", names[i], p->topic_arn);
			found(x, DC_ALARM_ACTION_MISSING, p->owner, cfg->home_region, "PutMetricAlarm", NULL, names[i]);
			rc = CW_FOUND;
		}
	}
	if (rc == CW_NEXT)
		dr_ev(x->c, "cloudwatch DescribeAlarms: every planned alarm exists and notifies '%s'", p->topic_arn);
	json_decref(alarms);
	return rc;
}

/* the topic's key lets CloudWatch encrypt the alarms' messages */
static int cw_topic_key(struct cellctx *x, const struct cwplan *p, const json_t *attrs, const char *alarm_arn)
{
	const struct tk_config *cfg = x->st->o->cfg;
	const char *ref = sv(attrs, "KmsMasterKeyId");
	struct vmon_key_verdict kv;
	struct errbuf e;
	const char *event;

	err_clear(&e);
	if (vmon_topic_key_check(p->ctx, ref, alarm_arn, p->owner, &kv, &e)) {
		dr_ev(x->c, "kms DescribeKey/GetKeyPolicy '%s': not checked: %s", ref, e.msg);
		dr_incomplete(x, e.msg);
		vmon_key_verdict_release(&kv);
		return CW_STOP;
	}
	if (kv.ok) {
		if (ref && *ref)
			dr_ev(x->c, "the topic's key '%s' lets cloudwatch.amazonaws.com use it", kv.key_arn ? kv.key_arn : ref);
		vmon_key_verdict_release(&kv);
		return CW_NEXT;
	}
	dr_ev(x->c, "sns GetTopicAttributes '%s': KmsMasterKeyId '%s'%s%s%s: %s", p->topic_arn, ref,
	      p->topic_key ? ", planned '" : "", p->topic_key ? p->topic_key : "", p->topic_key ? "'" : "", kv.reason);
	/* another key than planned: whoever set it; else the key's own change */
	event = p->topic_key && strcmp(ref, p->topic_key) ? "SetTopicAttributes" : kv.event;
	if (!strcmp(event, "SetTopicAttributes"))
		dr_find_culprit(x->st, x->c, p->owner, cfg->home_region, &event, 1, &p->topic_arn, 1);
	else
		dr_find_culprit(x->st, x->c, p->owner, cfg->home_region, &event, 1, NULL, 0);
	x->c->cause = DC_TOPIC_KEY_DENIES;
	if (!strcmp(event, "DisableKey"))
		dr_set_fix(x->c, "aws kms enable-key --key-id %s", kv.key_arn ? kv.key_arn : ref);
	else if (!strcmp(event, "ScheduleKeyDeletion"))
		dr_set_fix(x->c, "aws kms cancel-key-deletion --key-id %s, then aws kms enable-key --key-id %s",
			   kv.key_arn ? kv.key_arn : ref, kv.key_arn ? kv.key_arn : ref);
	else
		dr_fix_apply(x->st, x->c, NULL);
	vmon_key_verdict_release(&kv);
	return CW_FOUND;
}

/* somebody receives what the topic publishes (notify_unconfirmed only) */
static int cw_subscribers(struct cellctx *x, const struct cwplan *p)
{
	const struct tk_config *cfg = x->st->o->cfg;
	const char *event = "Unsubscribe";
	json_t *subs = NULL, *y;
	struct errbuf e;
	size_t i, confirmed = 0;

	err_clear(&e);
	if (mon_subscriptions(p->ctx, p->topic_arn, &subs, &e)) {
		dr_ev(x->c, "sns ListSubscriptionsByTopic '%s': not checked: %s", p->topic_arn, e.msg);
		dr_incomplete(x, e.msg);
		return CW_STOP;
	}
	json_array_foreach(subs, i, y) {
		const char *sa = sv(y, "SubscriptionArn");
		bool ok = sa && !strncmp(sa, "arn:", 4);

		confirmed += ok;
		dr_ev(x->c, "sns ListSubscriptionsByTopic '%s': %s '%s': %s", p->topic_arn, sv(y, "Protocol"),
		      sv(y, "Endpoint"), ok ? "confirmed" : (sa && *sa ? sa : "no subscription ARN"));
	}
	if (confirmed) {
		json_decref(subs);
		return CW_NEXT;
	}
	x->c->cause = DC_SUBSCRIPTION_UNCONFIRMED;
	if (!json_array_size(subs)) {
		dr_ev(x->c, "sns ListSubscriptionsByTopic '%s': no subscription at all", p->topic_arn);
		/* Unsubscribe names the subscription, not the topic */
		dr_find_culprit(x->st, x->c, p->owner, cfg->home_region, &event, 1, NULL, 0);
		dr_fix_apply(x->st, x->c, NULL);
		dr_set_fix_note(x->c, "subscribes the [monitoring] subscribe endpoints again; each confirms");
	} else {
		dr_set_fix(x->c, "the subscriber confirms: the link in SNS's \"Subscription Confirmation\" message to %s",
			   sv(json_array_get(subs, 0), "Endpoint"));
	}
	json_decref(subs);
	return CW_FOUND;
}

/* the topic exists, its policy lets CloudWatch publish for every planned
 * alarm, its key lets CloudWatch use it; someone receives it */
static int cw_topic(struct cellctx *x, const struct cwplan *p, const char *const *names)
{
	const struct tk_config *cfg = x->st->o->cfg;
	json_t *attrs = NULL;
	char *alarm_arn = NULL;
	struct errbuf e;
	size_t i;
	int rc, ok;

	err_clear(&e);
	rc = mon_topic_attributes(p->ctx, p->topic_arn, &attrs, &e);
	if (rc == TK_ENOTFOUND) {
		dr_ev(x->c, "sns GetTopicAttributes '%s': NotFound", p->topic_arn);
		found(x, DC_ALARM_TOPIC_MISSING, p->owner, cfg->home_region, "DeleteTopic", NULL, p->topic_arn);
		return CW_FOUND;
	}
	if (rc) {
		dr_ev(x->c, "sns GetTopicAttributes '%s': not checked: %s", p->topic_arn, e.msg);
		dr_incomplete(x, e.msg);
		return CW_STOP;
	}
	rc = CW_NEXT;
	for (i = 0; names && names[i] && rc == CW_NEXT; i++) {
		const char *kv[] = { "aws:SourceArn", NULL, "aws:SourceAccount", p->owner, "AWS:SourceOwner", p->owner,
				     "aws:SecureTransport", "true" };

		if (!sv(attrs, "Policy")) {
			dr_ev(x->c, "sns GetTopicAttributes '%s': no Policy", p->topic_arn);
			dr_incomplete(x, "GetTopicAttributes has no Policy");
			rc = CW_STOP;
			break;
		}
		free(alarm_arn);
		alarm_arn = xasprintf("arn:%s:cloudwatch:%s:%s:alarm:%s", p->part, cfg->home_region, p->owner, names[i]);
		kv[1] = alarm_arn;
		ok = service_allowed(x, "the topic policy", sv(attrs, "Policy"), "cloudwatch.amazonaws.com", "SNS:Publish",
				     p->topic_arn, kv, 8);
		if (ok < 0)
			rc = CW_STOP;
		else if (!ok) {
			found(x, DC_TOPIC_POLICY_DENIES, p->owner, cfg->home_region, "SetTopicAttributes", NULL,
			      p->topic_arn);
			rc = CW_FOUND;
		}
	}
	if (rc == CW_NEXT && alarm_arn)
		rc = cw_topic_key(x, p, attrs, alarm_arn);
	free(alarm_arn);
	json_decref(attrs);
	return rc;
}

static int check_cloudwatch(struct cellctx *x, const char *owner, bool subscribers_only)
{
	struct dstate *st = x->st;
	const struct tk_config *cfg = st->o->cfg;
	char *path = xasprintf("monitoring/%s/monitoring.json", owner);
	const json_t *mon = dr_plan_doc(st, path);
	const json_t *tr = json_object_get(mon, "Trail"), *ro = json_object_get(mon, "CloudWatchLogsRole"), *a;
	const char **names = NULL;
	struct cwplan p;
	struct errbuf e;
	size_t i;
	int rc;

	free(path);
	memset(&p, 0, sizeof(p));
	p.owner = owner;
	p.part = cfg->partition ? cfg->partition : "aws";
	p.iam_region = endpoint_global_region(p.part, "iam");
	p.group = sv(json_object_get(mon, "LogGroup"), "LogGroupName");
	p.group_arn = sv(tr, "CloudWatchLogsLogGroupArn");
	p.role_arn = sv(tr, "CloudWatchLogsRoleArn");
	p.role = sv(ro, "RoleName");
	p.pname = sv(ro, "PolicyName");
	p.topic_arn = sv(json_object_get(mon, "Topic"), "TopicArn");
	p.topic_key = sv(json_object_get(mon, "Topic"), "KmsMasterKeyId");
	p.alarms = json_object_get(mon, "Alarms");
	p.t = dr_trail_get(st, owner);
	if (!mon || !p.group || !p.group_arn || !p.role_arn || !p.role || !p.pname || !p.topic_arn || !p.t || p.t->rc)
		return 0;   /* no plan for it, or the trail's own check spoke */
	err_clear(&e);
	p.ctx = dr_ctx_for(st, owner, cfg->home_region, &e);
	if (!p.ctx) {
		dr_incomplete(x, e.msg);
		return 0;
	}
	names = xcalloc(json_array_size(p.alarms) + 1, sizeof(*names));
	json_array_foreach(p.alarms, i, a)
		names[i] = sv(a, "Name");
	if (subscribers_only) {
		/* notify_unconfirmed alone: verify saw the rest in order */
		rc = cw_subscribers(x, &p);
		free(names);
		return rc == CW_FOUND;
	}
	rc = cw_trail_and_group(x, &p);
	if (rc == CW_NEXT)
		rc = cw_role(x, &p);
	if (rc == CW_NEXT)
		rc = cw_filters(x, &p);
	if (rc == CW_NEXT)
		rc = cw_alarms(x, &p, names);
	if (rc == CW_NEXT)
		rc = cw_topic(x, &p, names);
	free(names);
	return rc == CW_FOUND;
}

static int check_access_logs(struct cellctx *x)
{
	struct dstate *st = x->st;
	const struct tk_config *cfg = st->o->cfg;
	const char *part = cfg->partition ? cfg->partition : "aws";
	const char *central = config_central_account(cfg);
	char *tb = NULL, *tp = NULL, *want = xasprintf("%s/", cfg->bucket), *res = NULL, *src = NULL;
	struct res_cache *r;
	struct aws_ctx *ctx;
	struct errbuf e;
	int rc, ok;

	err_clear(&e);
	ctx = dr_ctx_for(st, central, cfg->home_region, &e);
	if (!ctx) {
		dr_incomplete(x, e.msg);
		rc = 0;
		goto done;
	}
	if ((rc = s3_get_logging(ctx, cfg->bucket, &tb, &tp, &e))) {
		dr_ev(x->c, "s3 GetBucketLogging '%s': not checked: %s", cfg->bucket, e.msg);
		dr_incomplete(x, e.msg);
		rc = 0;
		goto done;
	}
	if (!tb || strcmp(tb, cfg->access_log_bucket) || !tp || strcmp(tp, want)) {
		dr_ev(x->c, "s3 GetBucketLogging '%s': target '%s%s%s', planned '%s/%s'", cfg->bucket, tb ? tb : "(none)",
		      tb ? "/" : "", tp ? tp : "", cfg->access_log_bucket, want);
		found(x, DC_ACCESS_LOGGING_OFF, central, cfg->home_region, "PutBucketLogging", NULL, cfg->bucket);
		rc = 1;
		goto done;
	}
	dr_ev(x->c, "s3 GetBucketLogging '%s': logs into '%s/%s', as planned", cfg->bucket, tb, tp);
	r = dr_bucket_policy(st, cfg->access_log_bucket);
	if (r->rc == TK_ENOTFOUND && r->region && !strcmp(r->region, "NoSuchBucketPolicy")) {
		dr_ev(x->c, "s3 GetBucketPolicy '%s': NoSuchBucketPolicy: the logging service may not write",
		      cfg->access_log_bucket);
		found(x, DC_ACCESS_LOG_POLICY_DENIES, central, cfg->home_region, "DeleteBucketPolicy", NULL,
		      cfg->access_log_bucket);
		rc = 1;
		goto done;
	}
	if (r->rc || !r->text) {
		dr_ev(x->c, "s3 GetBucketPolicy '%s': not checked: %s", cfg->access_log_bucket, r->msg);
		dr_incomplete(x, r->msg);
		rc = 0;
		goto done;
	}
	res = xasprintf("arn:%s:s3:::%s/%s2026-01-01-00-00-00-0000000000000000", part, cfg->access_log_bucket, want);
	src = xasprintf("arn:%s:s3:::%s", part, cfg->bucket);
	{
		const char *kv[] = { "aws:SourceArn", src, "aws:SourceAccount", central, "aws:SecureTransport", "true" };

		ok = service_allowed(x, "the access-log bucket policy", r->text, "logging.s3.amazonaws.com", "s3:PutObject",
				     res, kv, 6);
	}
	if (ok < 0) {
		rc = 0;
		goto done;
	}
	if (!ok) {
		found(x, DC_ACCESS_LOG_POLICY_DENIES, central, cfg->home_region, "PutBucketPolicy", NULL,
		      cfg->access_log_bucket);
		rc = 1;
		goto done;
	}
	rc = 0;
done:
	free(tb);
	free(tp);
	free(want);
	free(res);
	free(src);
	return rc;
}

int dr_check_monitoring(struct cellctx *x, const struct doctor_cell_in *in)
{
	const struct tk_config *cfg = x->st->o->cfg;
	const char *sym = in->symptom;
	const char *owner = dr_trail_owner(cfg, x->c->account);
	int rc;

	if (!cfg->monitoring || !sym)
		return 0;
	if ((strstr(sym, "cloudwatch_delivery_") || strstr(sym, "monitoring_drift") || strstr(sym, "notify_denied")) &&
	    (rc = check_cloudwatch(x, owner, false)))
		return rc;
	if (strstr(sym, "access_log_") && cfg->access_log_bucket &&
	    !strcmp(x->c->account, config_central_account(cfg)) && (rc = check_access_logs(x)))
		return rc;
	/* the warning last: a cell with a worse symptom gets that cause */
	if (strstr(sym, "notify_unconfirmed"))
		return check_cloudwatch(x, owner, true);
	return 0;
}
