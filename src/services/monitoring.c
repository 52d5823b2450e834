/* monitoring.c: CloudWatch Logs, IAM, SNS and CloudWatch clients for
 * [monitoring]; see monitoring.h. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "monitoring.h"
#include "xml.h"
#include "sigv4.h"
#include "banned.h"

#define LOGS_TARGET "Logs_20140328"
#define IAM_VERSION "2010-05-08"
#define SNS_VERSION "2010-03-31"
#define CW_VERSION "2010-08-01"
#define MAX_PAGES 100

/* ---------------------------------------------------------------- helpers */

struct params {
	struct aws_param *v;
	char **own;              /* strings to free */
	size_t n, alloc, nown, alloc_own;
};

static const char *keep(struct params *p, char *s)
{
	ALLOC_GROW(p->own, p->nown + 1, p->alloc_own);
	p->own[p->nown++] = s;
	return s;
}

static void add(struct params *p, const char *name, const char *value)
{
	ALLOC_GROW(p->v, p->n + 1, p->alloc);
	p->v[p->n].name = name;
	p->v[p->n].value = value;
	p->n++;
}

static void addf(struct params *p, char *name, const char *value)
{
	add(p, keep(p, name), value);
}

static void params_release(struct params *p)
{
	size_t i;

	for (i = 0; i < p->nown; i++)
		free(p->own[i]);
	free(p->own);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* IAM sends policy documents URL-encoded (RFC 3986); NULL when malformed */
static char *url_decode(const char *s)
{
	size_t n = strlen(s), i, j = 0;
	char *out = xmalloc(n + 1);

	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			int h, l;

			if (i + 2 >= n)
				goto bad;
			h = sigv4_hexval((unsigned char)s[i + 1]);
			l = sigv4_hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				goto bad;
			out[j++] = (char)(h * 16 + l);
			i += 2;
		} else if (s[i] == '+') {
			out[j++] = ' ';
		} else {
			out[j++] = s[i];
		}
	}
	out[j] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

static int logs_call(struct aws_ctx *ctx, const char *op, const char *subject, json_t *in, json_t **out,
		     struct errbuf *err)
{
	int rc = aws_json_call(ctx, "logs", LOGS_TARGET, op, subject, in, out, err);

	json_decref(in);
	return rc;
}

/* ---------------------------------------------------------------- CloudWatch Logs */

int mon_log_group(struct aws_ctx *ctx, const char *name, bool *exists, long *retention, struct errbuf *err)
{
	char *token = NULL;
	size_t page;
	int rc = 0;

	*exists = false;
	*retention = 0;
	for (page = 0; page < MAX_PAGES; page++) {
		json_t *in = json_pack("{s:s}", "logGroupNamePrefix", name), *resp = NULL, *g;
		const json_t *groups;
		size_t i;

		if (token)
			json_object_set_new(in, "nextToken", json_string(token));
		free(token);
		token = NULL;
		if ((rc = logs_call(ctx, "DescribeLogGroups", name, in, &resp, err)))
			return rc;
		groups = json_object_get(resp, "logGroups");
		if (groups && !json_is_array(groups)) {
			json_decref(resp);
			return err_set(err, TK_EFAIL, "logs DescribeLogGroups '%s': unexpected response: logGroups is "
				       "not a list", name);
		}
		json_array_foreach(groups, i, g) {
			const char *n = json_string_value(json_object_get(g, "logGroupName"));

			if (n && !strcmp(n, name)) {
				*exists = true;
				if (json_is_integer(json_object_get(g, "retentionInDays")))
					*retention = (long)json_integer_value(json_object_get(g, "retentionInDays"));
			}
		}
		token = aws_json_strdup(resp, "nextToken");
		json_decref(resp);
		if (*exists || !token)
			break;
	}
	if (token && !*exists) {
		free(token);
		return err_set(err, TK_ELIMIT, "logs DescribeLogGroups '%s': more than %d pages", name, MAX_PAGES);
	}
	free(token);
	return 0;
}

int mon_create_log_group(struct aws_ctx *ctx, const char *name, struct errbuf *err)
{
	return logs_call(ctx, "CreateLogGroup", name, json_pack("{s:s}", "logGroupName", name), NULL, err);
}

int mon_put_retention(struct aws_ctx *ctx, const char *name, long days, struct errbuf *err)
{
	return logs_call(ctx, "PutRetentionPolicy", name,
			 json_pack("{s:s, s:I}", "logGroupName", name, "retentionInDays", (json_int_t)days), NULL, err);
}

int mon_metric_filters(struct aws_ctx *ctx, const char *group, json_t **out, struct errbuf *err)
{
	json_t *all = json_array();
	char *token = NULL;
	size_t page;
	int rc = 0;

	*out = NULL;
	for (page = 0; page < MAX_PAGES; page++) {
		json_t *in = json_pack("{s:s}", "logGroupName", group), *resp = NULL, *f;
		const json_t *list;
		size_t i;

		if (token)
			json_object_set_new(in, "nextToken", json_string(token));
		free(token);
		token = NULL;
		if ((rc = logs_call(ctx, "DescribeMetricFilters", group, in, &resp, err))) {
			json_decref(all);
			return rc;
		}
		list = json_object_get(resp, "metricFilters");
		if (list && !json_is_array(list)) {
			json_decref(resp);
			json_decref(all);
			return err_set(err, TK_EFAIL, "logs DescribeMetricFilters '%s': unexpected response", group);
		}
		json_array_foreach(list, i, f)
			if (json_is_object(f))
				json_array_append(all, f);
		token = aws_json_strdup(resp, "nextToken");
		json_decref(resp);
		if (!token)
			break;
	}
	if (token) {
		free(token);
		json_decref(all);
		return err_set(err, TK_ELIMIT, "logs DescribeMetricFilters '%s': more than %d pages", group, MAX_PAGES);
	}
	*out = all;
	return 0;
}

int mon_put_metric_filter(struct aws_ctx *ctx, const char *group, const char *name, const char *pattern,
			  const char *metric_ns, const char *metric_name, struct errbuf *err)
{
	return logs_call(ctx, "PutMetricFilter", name,
			 json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s}]}", "logGroupName", group, "filterName", name,
				   "filterPattern", pattern, "metricTransformations", "metricName", metric_name,
				   "metricNamespace", metric_ns, "metricValue", "1"), NULL, err);
}

/* ---------------------------------------------------------------- IAM */

static int iam_call(struct aws_ctx *ctx, const char *op, const char *subject, struct params *p,
		    struct xml_doc *out, struct errbuf *err)
{
	struct xml_doc d;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = aws_query_call(ctx, "iam", IAM_VERSION, op, subject, p->v, p->n, out ? out : &d, err);
	if (!out)
		xml_doc_release(&d);
	return rc;
}

static int decoded(const char *text, const char *what, const char *subject, char **out, struct errbuf *err)
{
	*out = text ? url_decode(text) : NULL;
	if (!*out)
		return err_set(err, TK_EFAIL, "iam %s '%s': unexpected response: no readable policy document", what,
			       subject);
	return 0;
}

int mon_get_role(struct aws_ctx *ctx, const char *name, char **trust, struct errbuf *err)
{
	struct params p = { 0 };
	struct xml_doc d;
	int rc;

	*trust = NULL;
	add(&p, "RoleName", name);
	rc = iam_call(ctx, "GetRole", name, &p, &d, err);
	params_release(&p);
	if (rc)
		return rc;
	rc = decoded(xml_path_text(d.root, "GetRoleResult/Role/AssumeRolePolicyDocument"), "GetRole", name,
		     trust, err);
	xml_doc_release(&d);
	return rc;
}

int mon_create_role(struct aws_ctx *ctx, const char *name, const char *trust, struct errbuf *err)
{
	struct params p = { 0 };
	int rc;

	add(&p, "RoleName", name);
	add(&p, "AssumeRolePolicyDocument", trust);
	add(&p, "Description", "CloudTrail writes the trail's events to CloudWatch Logs (trailkeep)");
	rc = iam_call(ctx, "CreateRole", name, &p, NULL, err);
	params_release(&p);
	return rc;
}

int mon_update_trust(struct aws_ctx *ctx, const char *name, const char *trust, struct errbuf *err)
{
	struct params p = { 0 };
	int rc;

	add(&p, "RoleName", name);
	add(&p, "PolicyDocument", trust);
	rc = iam_call(ctx, "UpdateAssumeRolePolicy", name, &p, NULL, err);
	params_release(&p);
	return rc;
}

int mon_get_role_policy(struct aws_ctx *ctx, const char *role, const char *policy, char **doc,
			struct errbuf *err)
{
	struct params p = { 0 };
	struct xml_doc d;
	int rc;

	*doc = NULL;
	add(&p, "RoleName", role);
	add(&p, "PolicyName", policy);
	rc = iam_call(ctx, "GetRolePolicy", role, &p, &d, err);
	params_release(&p);
	if (rc)
		return rc;
	rc = decoded(xml_path_text(d.root, "GetRolePolicyResult/PolicyDocument"), "GetRolePolicy", role, doc, err);
	xml_doc_release(&d);
	return rc;
}

int mon_put_role_policy(struct aws_ctx *ctx, const char *role, const char *policy, const char *doc,
			struct errbuf *err)
{
	struct params p = { 0 };
	int rc;

	add(&p, "RoleName", role);
	add(&p, "PolicyName", policy);
	add(&p, "PolicyDocument", doc);
	rc = iam_call(ctx, "PutRolePolicy", role, &p, NULL, err);
	params_release(&p);
	return rc;
}

/* ---------------------------------------------------------------- SNS */

static int sns_call(struct aws_ctx *ctx, const char *op, const char *subject, struct params *p,
		    struct xml_doc *out, struct errbuf *err)
{
	struct xml_doc d;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = aws_query_call(ctx, "sns", SNS_VERSION, op, subject, p->v, p->n, out ? out : &d, err);
	if (!out)
		xml_doc_release(&d);
	return rc;
}

int mon_topic_attributes(struct aws_ctx *ctx, const char *arn, json_t **attrs, struct errbuf *err)
{
	struct params p = { 0 };
	const struct xml_node *e;
	struct xml_doc d;
	int rc;

	*attrs = NULL;
	add(&p, "TopicArn", arn);
	rc = sns_call(ctx, "GetTopicAttributes", arn, &p, &d, err);
	params_release(&p);
	if (rc)
		return rc;
	e = xml_path(d.root, "GetTopicAttributesResult/Attributes");
	if (!e) {
		xml_doc_release(&d);
		return err_set(err, TK_EFAIL, "sns GetTopicAttributes '%s': unexpected response: no Attributes", arn);
	}
	*attrs = json_object();
	for (e = xml_child(e, "entry"); e; e = xml_next(e)) {
		const char *k = xml_path_text(e, "key"), *v = xml_path_text(e, "value");

		if (k)
			json_object_set_new(*attrs, k, json_string(v ? v : ""));
	}
	xml_doc_release(&d);
	return 0;
}

int mon_create_topic(struct aws_ctx *ctx, const char *name, json_t *attrs, char **arn, struct errbuf *err)
{
	struct params p = { 0 };
	struct xml_doc d;
	const char *k;
	json_t *v;
	size_t i = 0;
	int rc;

	*arn = NULL;
	add(&p, "Name", name);
	json_object_foreach(attrs, k, v) {
		i++;
		addf(&p, xasprintf("Attributes.entry.%zu.key", i), k);
		addf(&p, xasprintf("Attributes.entry.%zu.value", i), json_string_value(v) ? json_string_value(v) : "");
	}
	rc = sns_call(ctx, "CreateTopic", name, &p, &d, err);
	params_release(&p);
	if (rc)
		return rc;
	k = xml_path_text(d.root, "CreateTopicResult/TopicArn");
	if (!k)
		rc = err_set(err, TK_EFAIL, "sns CreateTopic '%s': unexpected response: no TopicArn", name);
	else
		*arn = xstrdup(k);
	xml_doc_release(&d);
	return rc;
}

int mon_set_topic_attribute(struct aws_ctx *ctx, const char *arn, const char *name, const char *value,
			    struct errbuf *err)
{
	struct params p = { 0 };
	int rc;

	add(&p, "TopicArn", arn);
	add(&p, "AttributeName", name);
	add(&p, "AttributeValue", value);
	rc = sns_call(ctx, "SetTopicAttributes", arn, &p, NULL, err);
	params_release(&p);
	return rc;
}

int mon_subscriptions(struct aws_ctx *ctx, const char *arn, json_t **out, struct errbuf *err)
{
	json_t *all = json_array();
	char *token = NULL;
	size_t page;
	int rc = 0;

	*out = NULL;
	for (page = 0; page < MAX_PAGES; page++) {
		struct params p = { 0 };
		const struct xml_node *m;
		struct xml_doc d;
		const char *t;

		add(&p, "TopicArn", arn);
		if (token)
			add(&p, "NextToken", token);
		rc = sns_call(ctx, "ListSubscriptionsByTopic", arn, &p, &d, err);
		params_release(&p);
		free(token);
		token = NULL;
		if (rc) {
			json_decref(all);
			return rc;
		}
		for (m = xml_child(xml_path(d.root, "ListSubscriptionsByTopicResult/Subscriptions"), "member"); m;
		     m = xml_next(m)) {
			const char *pr = xml_path_text(m, "Protocol"), *ep = xml_path_text(m, "Endpoint");
			const char *sa = xml_path_text(m, "SubscriptionArn");

			if (pr && ep)
				json_array_append_new(all, json_pack("{s:s, s:s, s:s}", "Protocol", pr, "Endpoint", ep,
								     "SubscriptionArn", sa ? sa : ""));
		}
		t = xml_path_text(d.root, "ListSubscriptionsByTopicResult/NextToken");
		token = t && *t ? xstrdup(t) : NULL;
		xml_doc_release(&d);
		if (!token)
			break;
	}
	if (token) {
		free(token);
		json_decref(all);
		return err_set(err, TK_ELIMIT, "sns ListSubscriptionsByTopic '%s': more than %d pages", arn, MAX_PAGES);
	}
	*out = all;
	return 0;
}

int mon_subscribe(struct aws_ctx *ctx, const char *arn, const char *protocol, const char *endpoint,
		  struct errbuf *err)
{
	struct params p = { 0 };
	int rc;

	add(&p, "TopicArn", arn);
	add(&p, "Protocol", protocol);
	add(&p, "Endpoint", endpoint);
	rc = sns_call(ctx, "Subscribe", arn, &p, NULL, err);
	params_release(&p);
	return rc;
}

/* ---------------------------------------------------------------- CloudWatch */

static int cw_call(struct aws_ctx *ctx, const char *op, const char *subject, struct params *p,
		   struct xml_doc *out, struct errbuf *err)
{
	struct xml_doc d;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = aws_query_call(ctx, "monitoring", CW_VERSION, op, subject, p->v, p->n, out ? out : &d, err);
	if (!out)
		xml_doc_release(&d);
	return rc;
}

static json_t *alarm_from(const struct xml_node *m)
{
	static const char *const strs[] = { "AlarmName", "AlarmDescription", "MetricName", "Namespace",
		"Statistic", "ComparisonOperator", "TreatMissingData", "StateValue", "StateUpdatedTimestamp", NULL };
	static const char *const ints[] = { "Period", "EvaluationPeriods", NULL };
	json_t *a = json_object(), *acts = json_array();
	const struct xml_node *x;
	unsigned long long u;
	size_t i;

	for (i = 0; strs[i]; i++)
		if (xml_path_text(m, strs[i]))
			json_object_set_new(a, strs[i], json_string(xml_path_text(m, strs[i])));
	for (i = 0; ints[i]; i++)
		if (xml_path_u64(m, ints[i], &u) == 0)
			json_object_set_new(a, ints[i], json_integer((json_int_t)u));
	if (xml_path_text(m, "Threshold"))
		json_object_set_new(a, "Threshold", json_real(strtod(xml_path_text(m, "Threshold"), NULL)));
	if (xml_path_bool(m, "ActionsEnabled") >= 0)
		json_object_set_new(a, "ActionsEnabled", json_boolean(xml_path_bool(m, "ActionsEnabled")));
	for (x = xml_child(xml_child(m, "AlarmActions"), "member"); x; x = xml_next(x))
		json_array_append_new(acts, json_string(x->text));
	json_object_set_new(a, "AlarmActions", acts);
	return a;
}

int mon_alarms(struct aws_ctx *ctx, const char *const *names, size_t n, json_t **out, struct errbuf *err)
{
	json_t *all = json_array();
	size_t at = 0;
	int rc = 0;

	*out = NULL;
	while (at < n) {
		struct params p = { 0 };
		const struct xml_node *m;
		struct xml_doc d;
		size_t i;

		/* AlarmNames takes at most 100 names a call */
		for (i = 0; i < 100 && at + i < n; i++)
			addf(&p, xasprintf("AlarmNames.member.%zu", i + 1), names[at + i]);
		add(&p, "MaxRecords", "100");
		at += i;
		rc = cw_call(ctx, "DescribeAlarms", names[0], &p, &d, err);
		params_release(&p);
		if (rc) {
			json_decref(all);
			return rc;
		}
		for (m = xml_child(xml_path(d.root, "DescribeAlarmsResult/MetricAlarms"), "member"); m; m = xml_next(m))
			json_array_append_new(all, alarm_from(m));
		xml_doc_release(&d);
	}
	*out = all;
	return 0;
}

int mon_put_alarm(struct aws_ctx *ctx, const json_t *alarm, struct errbuf *err)
{
	static const char *const strs[] = { "AlarmName", "AlarmDescription", "MetricName", "Namespace",
		"Statistic", "ComparisonOperator", "TreatMissingData", NULL };
	struct params p = { 0 };
	const json_t *v;
	size_t i;
	int rc;

	for (i = 0; strs[i]; i++)
		if (json_string_value(json_object_get(alarm, strs[i])))
			add(&p, strs[i], json_string_value(json_object_get(alarm, strs[i])));
	addf(&p, xstrdup("Period"), keep(&p, xasprintf("%lld",
		(long long)json_integer_value(json_object_get(alarm, "Period")))));
	addf(&p, xstrdup("EvaluationPeriods"), keep(&p, xasprintf("%lld",
		(long long)json_integer_value(json_object_get(alarm, "EvaluationPeriods")))));
	addf(&p, xstrdup("Threshold"), keep(&p, xasprintf("%g", json_number_value(json_object_get(alarm, "Threshold")))));
	add(&p, "ActionsEnabled", "true");
	json_array_foreach(json_object_get(alarm, "AlarmActions"), i, v)
		if (json_string_value(v))
			addf(&p, xasprintf("AlarmActions.member.%zu", i + 1), json_string_value(v));
	rc = cw_call(ctx, "PutMetricAlarm", json_string_value(json_object_get(alarm, "AlarmName")), &p, NULL, err);
	params_release(&p);
	return rc;
}

/* ---------------------------------------------------------------- CloudTrail */

int mon_set_trail_logs(struct aws_ctx *ctx, const char *trail, const char *group_arn, const char *role_arn,
		       struct errbuf *err)
{
	json_t *in = json_pack("{s:s, s:s, s:s}", "Name", trail, "CloudWatchLogsLogGroupArn", group_arn,
			       "CloudWatchLogsRoleArn", role_arn);
	int rc = aws_json_call(ctx, "cloudtrail", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101",
			       "UpdateTrail", trail, in, NULL, err);

	json_decref(in);
	return rc;
}

bool mon_group_arn_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la >= 2 && !strcmp(a + la - 2, ":*"))
		la -= 2;
	if (lb >= 2 && !strcmp(b + lb - 2, ":*"))
		lb -= 2;
	return la == lb && !strncmp(a, b, la);
}
