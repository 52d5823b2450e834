/* verify_monitoring.c: verify's [monitoring] checks (README "Monitoring",
 * codes in docs/findings.md): the trail's CloudWatch Logs settings and
 * delivery status, the log group, metric filters, alarms and topic in the
 * trail owner's account, whether the topic lets CloudWatch publish the
 * alarms (policy and key: notify_denied) and whether anybody confirmed a
 * subscription (notify_unconfirmed), and the central bucket's S3 server
 * access logs.
 * Called from verify.c (verify_int.h).  Library code: no printing, no clock. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "verify_int.h"
#include "verify_monitoring.h"
#include "buf.h"
#include "kms.h"
#include "monitoring.h"
#include "plan.h"
#include "s3.h"
#include "timeutil.h"
#include "banned.h"

/* ---------------------------------------------------------------- the alarm topic */

int vmon_topic_policy_eval(const char *policy, const char *topic_arn, const char *alarm_arn, const char *account,
			   struct policy_result *res, struct errbuf *err)
{
	const char *kv[] = { "aws:SourceArn", alarm_arn, "aws:SourceAccount", account, "AWS:SourceOwner", account,
			     "aws:SecureTransport", "true" };

	return policy_eval_service(res, policy, "cloudwatch.amazonaws.com", "SNS:Publish", topic_arn, kv, 8, err);
}

void vmon_key_verdict_release(struct vmon_key_verdict *v)
{
	free(v->key_arn);
	v->key_arn = NULL;
}

static bool is_managed_topic_key(const char *ref)
{
	size_t n = strlen(ref), m = strlen(VMON_MANAGED_TOPIC_KEY);

	return !strcmp(ref, VMON_MANAGED_TOPIC_KEY) || (n > m && ref[n - m - 1] == ':' &&
							 !strcmp(ref + n - m, VMON_MANAGED_TOPIC_KEY));
}

int vmon_topic_key_check(struct aws_ctx *ctx, const char *key_ref, const char *alarm_arn, const char *account,
			 struct vmon_key_verdict *out, struct errbuf *err)
{
	static const char *const actions[] = { "kms:GenerateDataKey", "kms:Decrypt" };
	const char *kv[] = { "aws:SourceArn", alarm_arn, "aws:SourceAccount", account };
	struct kms_key key;
	struct policy_result res;
	char *policy = NULL;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	out->ok = true;
	if (!key_ref || !*key_ref)
		return 0;
	out->ok = false;
	if (is_managed_topic_key(key_ref)) {
		out->event = "SetTopicAttributes";
		snprintf(out->reason, sizeof(out->reason), "the topic is encrypted with the AWS managed key '%s', whose "
			 "policy never lets cloudwatch.amazonaws.com use it", key_ref);
		return 0;
	}
	memset(&key, 0, sizeof(key));
	rc = kms_describe_key(ctx, key_ref, &key, err);
	if (rc == TK_ENOTFOUND) {
		out->event = "SetTopicAttributes";
		snprintf(out->reason, sizeof(out->reason), "the topic's key '%s' does not exist", key_ref);
		return 0;
	}
	if (rc)
		return rc;
	out->key_arn = xstrdup(key.arn ? key.arn : key_ref);
	if (!key.state || strcmp(key.state, "Enabled")) {
		out->event = key.state && !strcmp(key.state, "PendingDeletion") ? "ScheduleKeyDeletion" : "DisableKey";
		snprintf(out->reason, sizeof(out->reason), "the topic's key '%s' is %s, not Enabled", out->key_arn,
			 key.state ? key.state : "in no state");
		goto done;
	}
	if ((rc = kms_get_key_policy(ctx, key.key_id ? key.key_id : key_ref, &policy, err)))
		goto done;
	for (i = 0; i < sizeof(actions) / sizeof(*actions); i++) {
		if ((rc = policy_eval_service(&res, policy, "cloudwatch.amazonaws.com", actions[i], out->key_arn, kv, 4, err)))
			goto done;
		if (res.decision != POLICY_ALLOW) {
			out->event = "PutKeyPolicy";
			snprintf(out->reason, sizeof(out->reason), "the policy of the topic's key '%s' %s "
				 "cloudwatch.amazonaws.com %s: %s", out->key_arn,
				 res.decision == POLICY_DENY ? "explicitly denies" : "does not allow", actions[i], res.explain);
			goto done;
		}
	}
	out->ok = true;
done:
	free(policy);
	kms_key_release(&key);
	return rc;
}

static char *alarm_arn(const struct tk_config *cfg, const char *owner, const char *name)
{
	return xasprintf("arn:%s:cloudwatch:%s:%s:alarm:%s", cfg->partition ? cfg->partition : "aws",
			 cfg->home_region, owner, name);
}

/* notify_denied: the topic policy must let CloudWatch publish for every
 * planned alarm, the topic's key (if any) must let CloudWatch use it.  A
 * read or an evaluation that fails: unchecked.  Returns 0, or -1 when the
 * cells were made unchecked. */
static int check_notify(struct vstate *v, struct aws_ctx *ctx, const char *owner, const char *topic,
			const json_t *attrs, const char *const *names, size_t n)
{
	const struct tk_config *cfg = v->cfg;
	const char *unit = cfg->mode == TK_MODE_ORGANIZATION ? NULL : owner;
	const char *policy = json_string_value(json_object_get(attrs, "Policy"));
	const char *first = NULL;
	char *arn, why[POLICY_EXPLAIN_LEN + 32] = "", more[48] = "";
	struct policy_result res;
	struct vmon_key_verdict kv;
	struct errbuf err;
	size_t i, denied = 0;

	if (!n)
		return 0;
	if (!policy) {
		verify_unchecked(v, unit, "cannot read the alarm topic's policy", "GetTopicAttributes has no Policy");
		return -1;
	}
	err_clear(&err);
	for (i = 0; i < n; i++) {
		if (!names[i])
			continue;
		arn = alarm_arn(cfg, owner, names[i]);
		if (vmon_topic_policy_eval(policy, topic, arn, owner, &res, &err)) {
			free(arn);
			verify_unchecked(v, unit, "cannot evaluate the alarm topic's policy", err.msg);
			return -1;
		}
		free(arn);
		if (res.decision != POLICY_ALLOW && !denied++) {
			first = names[i];
			snprintf(why, sizeof(why), "%s%s", res.decision == POLICY_DENY ? "explicitly denied: " : "", res.explain);
		}
	}
	if (denied > 1)
		snprintf(more, sizeof(more), " and %zu more", denied - 1);
	if (denied)
		verify_trail_finding(v, owner, F_NOTIFY_DENIED, NULL, "the policy of topic '%s' does not let "
				     "cloudwatch.amazonaws.com publish for alarm '%s'%s: %s", topic, first, more, why);
	arn = alarm_arn(cfg, owner, names[0] ? names[0] : "");
	if (vmon_topic_key_check(ctx, json_string_value(json_object_get(attrs, "KmsMasterKeyId")), arn, owner, &kv,
				 &err)) {
		free(arn);
		vmon_key_verdict_release(&kv);
		verify_unchecked(v, unit, "cannot check the alarm topic's key", err.msg);
		return -1;
	}
	free(arn);
	if (!kv.ok)
		verify_trail_finding(v, owner, F_NOTIFY_DENIED, NULL, "topic '%s': CloudWatch cannot publish the alarms: %s",
				     topic, kv.reason);
	vmon_key_verdict_release(&kv);
	return 0;
}

/* notify_unconfirmed: nobody receives what the topic publishes */
static int check_subscribers(struct vstate *v, struct aws_ctx *ctx, const char *owner, const char *topic)
{
	const char *unit = v->cfg->mode == TK_MODE_ORGANIZATION ? NULL : owner;
	json_t *subs = NULL, *x;
	struct errbuf err;
	size_t i, confirmed = 0;

	err_clear(&err);
	if (mon_subscriptions(ctx, topic, &subs, &err)) {
		verify_unchecked(v, unit, "cannot list the alarm topic's subscriptions", err.msg);
		return -1;
	}
	json_array_foreach(subs, i, x) {
		const char *sa = json_string_value(json_object_get(x, "SubscriptionArn"));

		if (sa && !strncmp(sa, "arn:", 4))
			confirmed++;
	}
	if (!json_array_size(subs))
		verify_trail_finding(v, owner, F_NOTIFY_UNCONFIRMED, NULL, "topic '%s' has no subscription: the alarms "
				     "reach nobody", topic);
	else if (!confirmed)
		verify_trail_finding(v, owner, F_NOTIFY_UNCONFIRMED, NULL, "topic '%s' has no confirmed subscription "
				     "(%zu pending confirmation, e.g. %s '%s'): the alarms reach nobody", topic,
				     json_array_size(subs), json_string_value(json_object_get(json_array_get(subs, 0), "Protocol")),
				     json_string_value(json_object_get(json_array_get(subs, 0), "Endpoint")));
	json_decref(subs);
	return 0;
}

/* ---------------------------------------------------------------- trail and alarms */

/* The monitoring resources the alarms need, in the trail owner's account:
 * the log group, one metric filter (the planned pattern) and one alarm (the
 * topic among its actions) per event class, the topic; an alarm in
 * INSUFFICIENT_DATA for more than a day.  Missing or different ->
 * monitoring_drift; a call that fails makes the trail's cells unchecked. */
#define INSUFFICIENT_DATA_MAX_S 86400

/* one planned alarm (al: its plan object): its metric filter on the group
 * with the planned pattern, the alarm itself notifying topic, and how long it
 * has been in INSUFFICIENT_DATA */
static void check_alarm(struct vstate *v, const char *owner, const char *group, const char *topic,
			const json_t *al, const json_t *filters, const json_t *alarms)
{
	const char *name = json_string_value(json_object_get(al, "Name"));
	const char *pattern = json_string_value(json_object_get(al, "FilterPattern"));
	const json_t *have = NULL, *acts, *f, *x;
	bool has_topic = false;
	size_t k;

	json_array_foreach(filters, k, f)
		if (json_string_value(json_object_get(f, "filterName")) &&
		    !strcmp(json_string_value(json_object_get(f, "filterName")), name))
			have = f;
	if (!have)
		verify_trail_finding(v, owner, F_MONITORING_DRIFT, NULL, "log group '%s' has no metric filter '%s'",
				     group, name);
	else if (!json_string_value(json_object_get(have, "filterPattern")) ||
		 strcmp(json_string_value(json_object_get(have, "filterPattern")), pattern))
		verify_trail_finding(v, owner, F_MONITORING_DRIFT, NULL, "metric filter '%s' of log group '%s' has "
				     "another pattern than planned", name, group);
	have = NULL;
	json_array_foreach(alarms, k, x)
		if (json_string_value(json_object_get(x, "AlarmName")) &&
		    !strcmp(json_string_value(json_object_get(x, "AlarmName")), name))
			have = x;
	if (!have) {
		verify_trail_finding(v, owner, F_MONITORING_DRIFT, NULL, "alarm '%s' does not exist", name);
		return;
	}
	acts = json_object_get(have, "AlarmActions");
	json_array_foreach(acts, k, x)
		has_topic = has_topic || (json_string_value(x) && !strcmp(json_string_value(x), topic));
	if (!has_topic)
		verify_trail_finding(v, owner, F_MONITORING_DRIFT, NULL, "alarm '%s' does not notify topic '%s'",
				     name, topic);
	if (json_string_value(json_object_get(have, "StateValue")) &&
	    !strcmp(json_string_value(json_object_get(have, "StateValue")), "INSUFFICIENT_DATA")) {
		const char *ts = json_string_value(json_object_get(have, "StateUpdatedTimestamp"));
		struct tk_time since;

		if (ts && !tk_time_parse(ts, strlen(ts), TK_TS_AWS, &since) &&
		    v->o->now - since.sec > INSUFFICIENT_DATA_MAX_S)
			verify_trail_finding(v, owner, F_MONITORING_DRIFT, NULL, "alarm '%s' has been in "
					     "INSUFFICIENT_DATA since %s: it sees no data", name, ts);
	}
}

static void monitoring_resources(struct vstate *v, const char *owner, const json_t *mon)
{
	const struct tk_config *cfg = v->cfg;
	const char *unit = cfg->mode == TK_MODE_ORGANIZATION ? NULL : owner;
	struct acct_ctx *a = verify_ctx_for(v, owner);
	const char *group = json_string_value(json_object_get(json_object_get(mon, "LogGroup"), "LogGroupName"));
	const char *topic = json_string_value(json_object_get(json_object_get(mon, "Topic"), "TopicArn"));
	const json_t *list = json_object_get(mon, "Alarms"), *al;
	const char **names = NULL;
	json_t *filters = NULL, *alarms = NULL, *attrs = NULL;
	struct errbuf err;
	long retention;
	bool exists;
	size_t i;
	int rc;

	if (a->rc || !group || !topic)
		return;   /* reported by check_trail, or the plan is not usable (checked there) */
	err_clear(&err);
	if ((rc = mon_log_group(&a->ctx, group, &exists, &retention, &err))) {
		verify_unchecked(v, unit, "cannot read the log group", err.msg);
		return;
	}
	if (!exists) {
		verify_trail_finding(v, owner, F_MONITORING_DRIFT, NULL, "log group '%s' does not exist in account '%s'",
				     group, owner);
		return;
	}
	names = xcalloc(json_array_size(list) + 1, sizeof(*names));
	json_array_foreach(list, i, al)
		names[i] = json_string_value(json_object_get(al, "Name"));
	rc = mon_topic_attributes(&a->ctx, topic, &attrs, &err);
	if (rc == TK_ENOTFOUND) {
		verify_trail_finding(v, owner, F_MONITORING_DRIFT, NULL, "the alarm topic '%s' does not exist", topic);
	} else if (rc) {
		verify_unchecked(v, unit, "cannot read the alarm topic", err.msg);
		goto done;
	} else if (check_notify(v, &a->ctx, owner, topic, attrs, names, json_array_size(list)) ||
		   check_subscribers(v, &a->ctx, owner, topic)) {
		goto done;
	}
	if ((rc = mon_metric_filters(&a->ctx, group, &filters, &err))) {
		verify_unchecked(v, unit, "cannot read the metric filters", err.msg);
		goto done;
	}
	if (json_array_size(list) && (rc = mon_alarms(&a->ctx, names, json_array_size(list), &alarms, &err))) {
		verify_unchecked(v, unit, "cannot read the alarms", err.msg);
		goto done;
	}
	json_array_foreach(list, i, al)
		if (names[i] && json_string_value(json_object_get(al, "FilterPattern")))
			check_alarm(v, owner, group, topic, al, filters, alarms);
done:
	free(names);
	json_decref(attrs);
	json_decref(filters);
	json_decref(alarms);
}

/* [monitoring] on the trail (README "Monitoring"): the trail delivers to
 * the planned log group with the planned role, else monitoring_drift (and
 * its delivery status says nothing about the plan); CloudTrail's
 * LatestCloudWatchLogsDeliveryError -> cloudwatch_delivery_error; a logging
 * trail whose LatestCloudWatchLogsDeliveryTime is missing or older than
 * max_cloudwatch_delivery_age -> cloudwatch_delivery_stale. */
void verify_monitoring_trail(struct vstate *v, const char *owner, const struct ct_trail *t,
			     const struct ct_status *st)
{
	const struct tk_config *cfg = v->cfg;
	const char *unit = cfg->mode == TK_MODE_ORGANIZATION ? NULL : owner;
	char *path = xasprintf("monitoring/%s/monitoring.json", owner);
	const struct plan_file *pf = plan_find(v->o->plan, path);
	const json_t *tr = pf ? json_object_get(pf->doc, "Trail") : NULL;
	const char *group = json_string_value(json_object_get(tr, "CloudWatchLogsLogGroupArn"));
	const char *role = json_string_value(json_object_get(tr, "CloudWatchLogsRoleArn"));
	char when[32], age[32];

	free(path);
	if (!group || !role) {
		verify_unchecked(v, unit, "cannot compare the trail's CloudWatch Logs settings",
				 "the plan has no monitoring for this account");
		return;
	}
	if (!t->cw_log_group_arn || !*t->cw_log_group_arn) {
		verify_trail_finding(v, owner, F_MONITORING_DRIFT, NULL,
				     "trail '%s' sends no events to CloudWatch Logs, planned log group '%s' with role '%s'",
				     cfg->trail_name, group, role);
		return;
	}
	if (!mon_group_arn_equal(t->cw_log_group_arn, group) || !t->cw_role_arn || strcmp(t->cw_role_arn, role)) {
		verify_trail_finding(v, owner, F_MONITORING_DRIFT, NULL,
				     "trail '%s' delivers to log group '%s' with role '%s', planned '%s' with role '%s'",
				     cfg->trail_name, t->cw_log_group_arn, t->cw_role_arn ? t->cw_role_arn : "(none)",
				     group, role);
		return;
	}
	monitoring_resources(v, owner, pf->doc);
	if (st->latest_cw_delivery_error)
		verify_trail_finding(v, owner, F_CLOUDWATCH_DELIVERY_ERROR, NULL,
				     "CloudTrail reports a CloudWatch Logs delivery error for log group '%s': %s", group,
				     st->latest_cw_delivery_error);
	if (st->is_logging != 1)
		return;   /* trail_not_logging says it */
	if (!st->latest_cw_delivery)
		verify_trail_finding(v, owner, F_CLOUDWATCH_DELIVERY_STALE, NULL,
				     "CloudTrail never delivered to log group '%s'", group);
	else if (v->o->now - st->latest_cw_delivery > cfg->max_cw_delivery_age)
		verify_trail_finding(v, owner, F_CLOUDWATCH_DELIVERY_STALE, NULL,
				     "CloudTrail's last delivery to log group '%s' was at %s (%s ago, more than %lds)",
				     group, tk_format_iso(st->latest_cw_delivery, when, sizeof(when)),
				     tk_format_age(v->o->now, st->latest_cw_delivery, age, sizeof(age)),
				     cfg->max_cw_delivery_age);
}

/* ---------------------------------------------------------------- access logs */

struct access_newest {
	const char *prefix;
	char *key;                  /* the newest access-log object's key */
};

static int on_access_object(void *ud, const struct s3_object *o)
{
	struct access_newest *a = ud;

	/* keys are PREFIX + YYYY-mm-DD-HH-MM-SS-ID: the last one is the newest */
	if (strlen(o->key) >= strlen(a->prefix) + 20) {
		free(a->key);
		a->key = xstrdup(o->key);
	}
	return 0;
}

/* "YYYY-mm-DD-HH-MM-SS" at s: 0 and *t, or -1 (timeutil's one parser) */
static int access_key_time(const char *s, time_t *t)
{
	struct tk_time tt;

	if (strlen(s) < 19 || tk_time_parse(s, 19, TK_TS_DASHED, &tt))
		return -1;
	*t = tt.sec;
	return 0;
}

#define MAX_ACCESS_LOG_PAGES 100

static bool in_list(const char *const *list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

const char *verify_access_log_region(const struct vstate *v)
{
	const struct tk_config *cfg = v->cfg;
	const char *acct = config_central_account(cfg);
	size_t i;

	if ((v->o->naccounts && !in_list(v->o->accounts, v->o->naccounts, acct)) ||
	    (v->o->nregions && !in_list(v->o->regions, v->o->nregions, cfg->home_region)))
		return NULL;
	for (i = 0; i < cfg->naccounts; i++)
		if (!strcmp(cfg->accounts[i].id, acct))
			return in_list((const char *const *)cfg->accounts[i].regions.v, cfg->accounts[i].regions.n,
				       cfg->home_region) ? cfg->home_region : NULL;
	return NULL;
}

/* [monitoring] with [central] access_log_bucket: the newest S3 server access
 * log of the log bucket (ACCESS-LOG-BUCKET/BUCKET/YYYY-mm-DD-HH-MM-SS-ID),
 * listed from twice access_log_max_age (at least a day) back: none ->
 * access_log_none, older than access_log_max_age -> access_log_stale.  Once
 * per run (shard 1), on the central account's home-region cell (without a
 * region when the config declares no such cell: verify_access_log_region). */
int verify_access_logs(struct vstate *v, struct aws_ctx *central, struct errbuf *err)
{
	const struct tk_config *cfg = v->cfg;
	const char *acct = config_central_account(cfg), *region = verify_access_log_region(v);
	char *prefix = xasprintf("%s/", cfg->bucket), *after;
	long window = 2 * cfg->access_log_max_age > 86400 ? 2 * cfg->access_log_max_age : 86400;
	struct access_newest a = { prefix, NULL };
	struct s3_list_params p;
	char iso[32], age[32];
	time_t t;
	size_t i;
	int rc;

	tk_format_iso(v->o->now - window, iso, sizeof(iso));
	for (i = 0; iso[i]; i++)
		if (iso[i] == 'T' || iso[i] == ':')
			iso[i] = '-';
	if (i && iso[i - 1] == 'Z')
		iso[i - 1] = '\0';
	after = xasprintf("%s%s", prefix, iso);
	memset(&p, 0, sizeof(p));
	p.prefix = prefix;
	p.start_after = after;
	p.max_pages = MAX_ACCESS_LOG_PAGES;
	p.on_object = on_access_object;
	p.ud = &a;
	rc = s3_list_objects(central, cfg->access_log_bucket, &p, err);
	if (rc)
		goto done;
	if (!a.key)
		findings_add(v->out, F_ACCESS_LOG_NONE, acct, region, cfg->access_log_bucket, prefix,
			     "no S3 server access log of bucket '%s' under 's3://%s/%s' in the last %lds",
			     cfg->bucket, cfg->access_log_bucket, prefix, window);
	else if (access_key_time(a.key + strlen(prefix), &t) < 0)
		findings_add(v->out, F_ACCESS_LOG_STALE, acct, region, cfg->access_log_bucket, a.key,
			     "the newest access log '%s' does not carry S3's time stamp in its name", a.key);
	else if (v->o->now - t > cfg->access_log_max_age)
		findings_add(v->out, F_ACCESS_LOG_STALE, acct, region, cfg->access_log_bucket, a.key,
			     "the newest S3 server access log of bucket '%s' is from %s (%s ago, more than %lds)",
			     cfg->bucket, tk_format_iso(t, iso, sizeof(iso)), tk_format_age(v->o->now, t, age, sizeof(age)),
			     cfg->access_log_max_age);
done:
	free(a.key);
	free(after);
	free(prefix);
	return rc;
}
