/* apply_monitoring.c: [monitoring] in one monitoring account (README
 * "Monitoring"; the trail owner: organization mode the management account,
 * per-account each account), after its trail: read, compare, write what
 * differs, in this order (each needs the one before):
 *   log group + retention; the CloudWatch Logs role (trust, inline policy);
 *   the topic key (created with its policy + alias; then its Trailkeep
 *   statements converge) and the topic (policy, KmsMasterKeyId) when
 *   trailkeep creates it; subscriptions (missing ones subscribed, nobody
 *   else's removed); metric filters and alarms (one per event class);
 *   last the trail's CloudWatchLogsLogGroupArn + CloudWatchLogsRoleArn.
 * Without [monitoring], a trail whose CloudWatch Logs role is trailkeep's
 * own role converges back to unset (both ARNs "" in one call); anybody
 * else's CloudWatch Logs integration is left alone. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_int.h"
#include "cloudtrail.h"
#include "kms.h"
#include "monitoring.h"
#include "plan.h"
#include "banned.h"

#define MON_ROLE_SUFFIX ":role/trailkeep-cloudtrail-to-cloudwatch-logs"

struct mjob {
	struct run *r;
	struct aws_ctx *ctx;
	struct changes *ch;
	const char *account;
	const json_t *mon;           /* monitoring.json */
};

/* record a change; true when it is to be written now */
static bool change(struct mjob *m, struct apply_change **chg, char *subject, const char *verb,
		   const json_t *before, const json_t *after, bool policy)
{
	*chg = ap_add_change(m->ch, m->account, subject, verb, before, after, policy);
	free(subject);
	return !DRY(m->r, m->ch);
}

/* After a write change() allowed: rc < 0 is its error, 0 a write done
 * (counted), 1 a dry run's "not written".  0 or the error. */
static int wrote(struct mjob *m, struct apply_change *chg, int rc)
{
	if (rc == 0)
		ap_write_done(m->r, chg);
	return rc < 0 ? rc : 0;
}

static const char *str(const json_t *o, const char *path1, const char *path2)
{
	const json_t *v = json_object_get(o, path1);

	return json_string_value(path2 ? json_object_get(v, path2) : v);
}

static int plan_text(struct mjob *m, const char *rel, json_t **doc, char **text, struct errbuf *err)
{
	const json_t *d = ap_plan_doc(m->r->o->plan, rel);

	if (!d)
		return err_set(err, TK_EUSAGE, "the plan has no '%s'", rel);
	if (doc)
		*doc = json_incref((json_t *)(uintptr_t)d);
	if (text)
		*text = ap_dump_compact(d);
	return 0;
}

static int log_group(struct mjob *m, struct errbuf *err)
{
	const json_t *lg = json_object_get(m->mon, "LogGroup");
	const char *name = str(lg, "LogGroupName", NULL);
	long want = (long)json_integer_value(json_object_get(lg, "RetentionInDays")), have = 0;
	struct apply_change *chg;
	bool exists;
	json_t *a, *b;
	int rc;

	if (!name)
		return err_set(err, TK_EUSAGE, "the plan's monitoring.json has no log group");
	if ((rc = mon_log_group(m->ctx, name, &exists, &have, err)))
		return rc;
	if (!exists) {
		a = json_pack("{s:s, s:I}", "logGroupName", name, "retentionInDays", (json_int_t)want);
		rc = change(m, &chg, xasprintf("log group '%s'", name), "create", NULL, a, false) ?
		     mon_create_log_group(m->ctx, name, err) : 1;
		json_decref(a);
		rc = wrote(m, chg, rc);
		if (rc)
			return rc;
	}
	if (have != want) {
		b = exists ? (have ? json_pack("{s:I}", "retentionInDays", (json_int_t)have) :
			      json_pack("{s:s}", "retentionInDays", "never expire")) : NULL;
		a = json_pack("{s:I}", "retentionInDays", (json_int_t)want);
		rc = change(m, &chg, xasprintf("log group '%s' retention", name), "set", b, a, false) ?
		     mon_put_retention(m->ctx, name, want, err) : 1;
		json_decref(a);
		json_decref(b);
		rc = wrote(m, chg, rc);
		if (rc)
			return rc;
	}
	return 0;
}

/* a JSON policy text as a canonical tree (NULL when not JSON) */
static json_t *as_json(const char *text)
{
	return text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
}

static int role(struct mjob *m, struct errbuf *err)
{
	const json_t *ro = json_object_get(m->mon, "CloudWatchLogsRole");
	const char *name = str(ro, "RoleName", NULL), *pname = str(ro, "PolicyName", NULL);
	char *trust_text = NULL, *perm_text = NULL, *cur = NULL, *subject;
	json_t *trust = NULL, *perm = NULL, *curj = NULL;
	struct apply_change *chg;
	bool exists;
	int rc;

	if (!name || !pname || !str(ro, "AssumeRolePolicyDocument", NULL) || !str(ro, "PolicyDocument", NULL))
		return err_set(err, TK_EUSAGE, "the plan's monitoring.json has no CloudWatch Logs role");
	if ((rc = plan_text(m, str(ro, "AssumeRolePolicyDocument", NULL), &trust, &trust_text, err)) ||
	    (rc = plan_text(m, str(ro, "PolicyDocument", NULL), &perm, &perm_text, err)))
		goto done;
	rc = mon_get_role(m->ctx, name, &cur, err);
	if (rc && rc != TK_ENOTFOUND)
		goto done;
	exists = rc == 0;
	curj = as_json(cur);
	subject = xasprintf("iam role '%s' trust policy", name);
	if (!exists) {
		rc = change(m, &chg, xasprintf("iam role '%s'", name), "create", NULL, trust, true) ?
		     mon_create_role(m->ctx, name, trust_text, err) : 1;
		rc = wrote(m, chg, rc);
		if (rc)
			goto done_subject;
	} else if (!curj || !json_equal(curj, trust)) {
		rc = change(m, &chg, xstrdup(subject), "update", curj, trust, true) ?
		     mon_update_trust(m->ctx, name, trust_text, err) : 1;
		rc = wrote(m, chg, rc);
		if (rc)
			goto done_subject;
	}
	free(cur);
	cur = NULL;
	json_decref(curj);
	curj = NULL;
	if (exists) {
		rc = mon_get_role_policy(m->ctx, name, pname, &cur, err);
		if (rc && rc != TK_ENOTFOUND)
			goto done_subject;
		curj = as_json(cur);
	}
	if (!curj || !json_equal(curj, perm)) {
		rc = change(m, &chg, xasprintf("iam role '%s' policy '%s'", name, pname), curj ? "update" : "set",
			    curj, perm, true) ? mon_put_role_policy(m->ctx, name, pname, perm_text, err) : 1;
		rc = wrote(m, chg, rc);
		if (rc)
			goto done_subject;
	}
	rc = 0;
done_subject:
	free(subject);
done:
	free(cur);
	free(trust_text);
	free(perm_text);
	json_decref(curj);
	json_decref(trust);
	json_decref(perm);
	return rc;
}

/* The topic key: the alias's key, created with the planned policy when the
 * alias does not exist; an existing key's Trailkeep statements converge. */
static int topic_key(struct mjob *m, const json_t *topic, struct errbuf *err)
{
	const char *alias = str(topic, "KmsMasterKeyId", NULL), *prel = str(topic, "KeyPolicy", NULL);
	char *text = NULL;
	json_t *want = NULL;
	struct kms_key key;
	struct apply_change *chg;
	int rc;

	memset(&key, 0, sizeof(key));
	if (!alias)
		return 0;
	if (!prel)
		return err_set(err, TK_EUSAGE, "the plan's monitoring.json names no topic key policy");
	if ((rc = plan_text(m, prel, &want, &text, err)))
		return rc;
	rc = kms_describe_key(m->ctx, alias, &key, err);
	if (rc == TK_ENOTFOUND) {
		rc = change(m, &chg, xasprintf("kms key '%s'", alias), "create", NULL, want, true) ? 0 : 1;
		if (!rc) {
			if ((rc = kms_create_key(m->ctx, text, "trailkeep: the alarm topic's key", &key, err)))
				goto done;
			ap_write_done(m->r, chg);
			if ((rc = kms_create_alias(m->ctx, alias, key.key_id, err)))
				goto done;
			ap_write_done(m->r, NULL);
		}
		rc = 0;
		goto done;
	}
	if (rc)
		goto done;
	rc = ap_converge_policy(m->r, m->ctx, m->ch, m->account, key.key_id, true, want,
				alias, kms_get_key_policy, kms_put_key_policy, true, NULL, err);
done:
	kms_key_release(&key);
	json_decref(want);
	free(text);
	return rc;
}

/* The planned topic does not exist: create it with its policy and key,
 * then read its attributes into *attrs (a dry run: an empty object).
 * 0 or an error. */
static int topic_create(struct mjob *m, const char *arn, const char *name, const char *alias,
			const json_t *want, const char *text, json_t **attrs, struct errbuf *err)
{
	struct apply_change *chg;
	json_t *a = json_pack("{s:s}", "Policy", text);
	char *made = NULL;
	int rc;

	if (alias)
		json_object_set_new(a, "KmsMasterKeyId", json_string(alias));
	rc = change(m, &chg, xasprintf("sns topic '%s'", arn), "create", NULL, want, true) ?
	     mon_create_topic(m->ctx, name, a, &made, err) : 1;
	json_decref(a);
	if (rc < 0)
		goto done;
	if (!rc)
		ap_write_done(m->r, chg);
	if (!rc && strcmp(made, arn)) {
		rc = err_set(err, TK_EFAIL, "sns CreateTopic '%s' made '%s', planned '%s'", name, made, arn);
		goto done;
	}
	json_decref(*attrs);
	*attrs = NULL;
	if (rc) {   /* a dry run: nothing more can be read */
		rc = 0;
		*attrs = json_object();
	} else {
		rc = mon_topic_attributes(m->ctx, arn, attrs, err);
	}
done:
	free(made);
	return rc;
}

/* The topic exists with attrs: its policy and key as planned.  *curj: its
 * policy as JSON (NULL if none).  0 or an error. */
static int topic_update(struct mjob *m, const char *arn, const char *alias, const json_t *want,
			const char *text, const json_t *attrs, json_t **curj, struct errbuf *err)
{
	const char *have = str(attrs, "KmsMasterKeyId", NULL);
	struct apply_change *chg;
	int rc;

	*curj = as_json(str(attrs, "Policy", NULL));
	if (!*curj || !json_equal(*curj, want)) {
		rc = change(m, &chg, xasprintf("sns topic '%s' policy", arn), "update", *curj, want, true) ?
		     mon_set_topic_attribute(m->ctx, arn, "Policy", text, err) : 1;
		rc = wrote(m, chg, rc);
		if (rc)
			return rc;
	}
	if (alias && (!have || strcmp(have, alias))) {
		json_t *b = json_pack("{s:s}", "KmsMasterKeyId", have ? have : "(none)");
		json_t *a = json_pack("{s:s}", "KmsMasterKeyId", alias);

		rc = change(m, &chg, xasprintf("sns topic '%s' encryption", arn), "set", b, a, false) ?
		     mon_set_topic_attribute(m->ctx, arn, "KmsMasterKeyId", alias, err) : 1;
		json_decref(a);
		json_decref(b);
		rc = wrote(m, chg, rc);
		if (rc)
			return rc;
	}
	return 0;
}

/* subscriptions: the planned ones that are missing (confirmation is the
 * subscriber's: a pending one is listed and not asked again).  exists:
 * false in a dry run of a topic that does not exist yet.  0 or an error. */
static int topic_subscriptions(struct mjob *m, const json_t *t, const char *arn, bool exists,
			       struct errbuf *err)
{
	const json_t *planned = json_object_get(t, "Subscriptions"), *s;
	struct apply_change *chg;
	json_t *subs = NULL;
	size_t i;
	int rc = 0;

	if (!json_array_size(planned))
		return 0;
	if (!exists)
		subs = json_array();
	else if ((rc = mon_subscriptions(m->ctx, arn, &subs, err)))
		return rc;
	json_array_foreach(planned, i, s) {
		const char *pr = str(s, "Protocol", NULL), *ep = str(s, "Endpoint", NULL);
		const json_t *x;
		size_t k;
		bool have = false;

		json_array_foreach(subs, k, x)
			have = have || (!strcmp(str(x, "Protocol", NULL), pr) && !strcmp(str(x, "Endpoint", NULL), ep));
		if (have)
			continue;
		rc = change(m, &chg, xasprintf("sns topic '%s' subscription", arn), "subscribe", NULL, s, false) ?
		     mon_subscribe(m->ctx, arn, pr, ep, err) : 1;
		rc = wrote(m, chg, rc);
		if (rc)
			break;
	}
	json_decref(subs);
	return rc;
}

static int topic(struct mjob *m, struct errbuf *err)
{
	const json_t *t = json_object_get(m->mon, "Topic");
	const char *arn = str(t, "TopicArn", NULL), *name = str(t, "Name", NULL);
	const char *alias = str(t, "KmsMasterKeyId", NULL), *prel = str(t, "Policy", NULL);
	json_t *attrs = NULL, *want = NULL, *curj = NULL;
	char *text = NULL;
	int rc;

	if (!arn || !name)
		return err_set(err, TK_EUSAGE, "the plan's monitoring.json has no topic");
	if (!json_is_true(json_object_get(t, "Create"))) {
		/* an existing topic (notify = ARN): it must exist; its policy is its owner's */
		rc = mon_topic_attributes(m->ctx, arn, &attrs, err);
		json_decref(attrs);
		return rc;
	}
	if ((rc = topic_key(m, t, err)))
		return rc;
	if (!prel)
		return err_set(err, TK_EUSAGE, "the plan's monitoring.json names no topic policy");
	if ((rc = plan_text(m, prel, &want, &text, err)))
		return rc;
	rc = mon_topic_attributes(m->ctx, arn, &attrs, err);
	if (rc == TK_ENOTFOUND)
		rc = topic_create(m, arn, name, alias, want, text, &attrs, err);
	else if (rc == 0)
		rc = topic_update(m, arn, alias, want, text, attrs, &curj, err);
	if (rc == 0)
		rc = topic_subscriptions(m, t, arn, !(DRY(m->r, m->ch) && !json_object_size(attrs) && !curj), err);
	json_decref(curj);
	json_decref(attrs);
	json_decref(want);
	free(text);
	return rc;
}

static int alarms(struct mjob *m, struct errbuf *err)
{
	const json_t *list = json_object_get(m->mon, "Alarms"), *a, *settings = json_object_get(m->mon, "AlarmSettings");
	const char *group = str(m->mon, "LogGroup", "LogGroupName"), *ns = str(m->mon, "MetricNamespace", NULL);
	const char **names = xcalloc(json_array_size(list) + 1, sizeof(*names));
	json_t *filters = NULL, *cur = NULL;
	bool group_missing = false;
	size_t i, k;
	int rc = 0;

	if (!group || !ns || !settings) {
		free(names);
		return err_set(err, TK_EUSAGE, "the plan's monitoring.json has no alarm settings");
	}
	rc = mon_metric_filters(m->ctx, group, &filters, err);
	if (rc == TK_ENOTFOUND && DRY(m->r, m->ch)) {   /* a dry run before the group exists */
		group_missing = true;
		filters = json_array();
		rc = 0;
	}
	if (rc)
		goto done;
	json_array_foreach(list, i, a)
		names[i] = str(a, "Name", NULL);
	if (json_array_size(list) && (rc = mon_alarms(m->ctx, names, json_array_size(list), &cur, err)))
		goto done;
	json_array_foreach(list, i, a) {
		const char *name = str(a, "Name", NULL), *pattern = str(a, "FilterPattern", NULL);
		const json_t *f, *have = NULL, *x;
		json_t *wantf, *wanta, *hadf = NULL, *hada = NULL;
		struct apply_change *chg;
		bool same;

		if (!name || !pattern) {
			rc = err_set(err, TK_EUSAGE, "the plan's monitoring.json has an alarm without name or pattern");
			goto done;
		}
		json_array_foreach(filters, k, f)
			if (str(f, "filterName", NULL) && !strcmp(str(f, "filterName", NULL), name))
				have = f;
		wantf = json_pack("{s:s, s:s, s:s}", "filterPattern", pattern, "metricNamespace", ns, "metricName", name);
		if (have) {
			const json_t *tr = json_array_get(json_object_get(have, "metricTransformations"), 0);

			hadf = json_pack("{s:s, s:s, s:s}", "filterPattern", str(have, "filterPattern", NULL) ?
					 str(have, "filterPattern", NULL) : "", "metricNamespace",
					 str(tr, "metricNamespace", NULL) ? str(tr, "metricNamespace", NULL) : "",
					 "metricName", str(tr, "metricName", NULL) ? str(tr, "metricName", NULL) : "");
		}
		same = hadf && json_equal(hadf, wantf);
		if (!same) {
			rc = change(m, &chg, xasprintf("log group '%s' metric filter '%s'", group, name),
				    hadf ? "update" : "create", hadf, wantf, false) ?
			     mon_put_metric_filter(m->ctx, group, name, pattern, ns, name, err) : 1;
			rc = wrote(m, chg, rc);
		}
		json_decref(hadf);
		json_decref(wantf);
		if (rc < 0)
			goto done;
		/* the alarm */
		wanta = json_deep_copy(settings);
		json_object_set_new(wanta, "AlarmName", json_string(name));
		json_object_set_new(wanta, "AlarmDescription", json_string(str(a, "Description", NULL) ?
									    str(a, "Description", NULL) : ""));
		json_object_set_new(wanta, "MetricName", json_string(name));
		json_object_set_new(wanta, "Namespace", json_string(ns));
		json_object_set_new(wanta, "Threshold",
				    json_real(json_number_value(json_object_get(settings, "Threshold"))));
		json_object_set_new(wanta, "ActionsEnabled", json_true());
		json_array_foreach(cur, k, x)
			if (str(x, "AlarmName", NULL) && !strcmp(str(x, "AlarmName", NULL), name)) {
				hada = json_deep_copy(x);
				json_object_del(hada, "StateValue");
				json_object_del(hada, "StateUpdatedTimestamp");
			}
		if (!hada || !json_equal(hada, wanta)) {
			rc = change(m, &chg, xasprintf("cloudwatch alarm '%s'", name), hada ? "update" : "create", hada,
				    wanta, false) ? mon_put_alarm(m->ctx, wanta, err) : 1;
			rc = wrote(m, chg, rc);
		}
		json_decref(hada);
		json_decref(wanta);
		if (rc < 0)
			goto done;
	}
	rc = 0;
	(void)group_missing;
done:
	json_decref(filters);
	json_decref(cur);
	free(names);
	return rc;
}

/* The trail's two ARNs (both in one call).  Right after the role is made,
 * IAM may not have it everywhere yet: CloudTrail's check of the role is
 * retried a few times. */
static int trail_logs(struct mjob *m, const char *trail, const char *group, const char *role_arn,
		      const struct ct_trail *cur, struct errbuf *err)
{
	json_t *b = json_pack("{s:s, s:s}", "CloudWatchLogsLogGroupArn",
			      cur->cw_log_group_arn ? cur->cw_log_group_arn : "", "CloudWatchLogsRoleArn",
			      cur->cw_role_arn ? cur->cw_role_arn : "");
	json_t *a = json_pack("{s:s, s:s}", "CloudWatchLogsLogGroupArn", group, "CloudWatchLogsRoleArn", role_arn);
	struct apply_change *chg;
	size_t i;
	int rc = 0;

	if (change(m, &chg, xasprintf("trail '%s' CloudWatch Logs", trail), *group ? "set" : "unset", b, a,
		   false)) {
		for (i = 0; i < READBACK_TRIES; i++) {
			if (i)
				ap_readback_sleep(m->ctx, i - 1);
			rc = mon_set_trail_logs(m->ctx, trail, group, role_arn, err);
			if (!rc || !strstr(err->msg, "InvalidCloudWatchLogs") || !*group)
				break;
		}
		if (!rc)
			ap_write_done(m->r, chg);
	}
	json_decref(a);
	json_decref(b);
	return rc;
}

int ap_run_monitoring(struct run *r, struct aws_ctx *ctx, const char *account, const char *trail,
		      struct changes *ch, struct errbuf *err)
{
	char *path = xasprintf("monitoring/%s/monitoring.json", account);
	const json_t *mon = ap_plan_doc(r->o->plan, path);
	struct mjob m = { r, ctx, ch, account, mon };
	struct ct_trail cur;
	const char *group, *role_arn;
	int rc;

	memset(&cur, 0, sizeof(cur));
	if ((rc = ct_get_trail(ctx, trail, &cur, err))) {
		if (rc == TK_ENOTFOUND && DRY(r, ch))
			rc = 0;   /* a dry run before the trail exists */
		if (rc || !r->cfg->monitoring)
			goto done;
	}
	if (!r->cfg->monitoring) {
		/* converge to unset only what trailkeep set: its own role */
		size_t n = cur.cw_role_arn ? strlen(cur.cw_role_arn) : 0;

		if (n > strlen(MON_ROLE_SUFFIX) && !strcmp(cur.cw_role_arn + n - strlen(MON_ROLE_SUFFIX), MON_ROLE_SUFFIX))
			rc = trail_logs(&m, trail, "", "", &cur, err);
		goto done;
	}
	if (!mon) {
		rc = err_set(err, TK_EUSAGE, "the plan has no usable %s", path);
		goto done;
	}
	if ((rc = log_group(&m, err)) || (rc = role(&m, err)) || (rc = topic(&m, err)) || (rc = alarms(&m, err)))
		goto done;
	group = str(mon, "Trail", "CloudWatchLogsLogGroupArn");
	role_arn = str(mon, "Trail", "CloudWatchLogsRoleArn");
	if (!group || !role_arn) {
		rc = err_set(err, TK_EUSAGE, "the plan's monitoring.json has no trail settings");
		goto done;
	}
	if (!cur.cw_log_group_arn || !mon_group_arn_equal(cur.cw_log_group_arn, group) || !cur.cw_role_arn ||
	    strcmp(cur.cw_role_arn, role_arn))
		rc = trail_logs(&m, trail, group, role_arn, &cur, err);
done:
	ct_trail_release(&cur);
	free(path);
	return rc;
}
