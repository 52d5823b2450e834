/* monitoring.h: the typed clients [monitoring] needs (README "Monitoring"):
 * CloudWatch Logs (awsJson1_1, X-Amz-Target Logs_20140328.<Op>), IAM roles
 * and inline policies (query, 2010-05-08, global), SNS topics and
 * subscriptions (query, 2010-03-31), CloudWatch alarms (query, 2010-08-01,
 * signing name "monitoring"), and CloudTrail's CloudWatch Logs settings.
 * TK_ENOTFOUND for a missing resource (NoSuchEntity, NotFound,
 * ResourceNotFoundException).  Implemented in src/services/monitoring.c. */
#ifndef TK_MONITORING_H
#define TK_MONITORING_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "aws.h"

/* DescribeLogGroups (prefix = name, all pages): *exists, *retention (0: none). */
/* Two log group ARNs name the same group (CloudTrail stores the group's ARN
 * with ":*" at the end; the plan's has none). */
bool mon_group_arn_equal(const char *a, const char *b);
int mon_log_group(struct aws_ctx *ctx, const char *name, bool *exists, long *retention, struct errbuf *err);
int mon_create_log_group(struct aws_ctx *ctx, const char *name, struct errbuf *err);
int mon_put_retention(struct aws_ctx *ctx, const char *name, long days, struct errbuf *err);
/* DescribeMetricFilters of a group (all pages): *out an array of the filter
 * objects as sent (caller decrefs). */
int mon_metric_filters(struct aws_ctx *ctx, const char *group, json_t **out, struct errbuf *err);
int mon_put_metric_filter(struct aws_ctx *ctx, const char *group, const char *name, const char *pattern,
			  const char *metric_ns, const char *metric_name, struct errbuf *err);

/* IAM GetRole: *trust the trust policy (URL-decoded JSON text, caller frees). */
int mon_get_role(struct aws_ctx *ctx, const char *name, char **trust, struct errbuf *err);
int mon_create_role(struct aws_ctx *ctx, const char *name, const char *trust, struct errbuf *err);
int mon_update_trust(struct aws_ctx *ctx, const char *name, const char *trust, struct errbuf *err);
/* GetRolePolicy: *doc the inline policy (URL-decoded, caller frees). */
int mon_get_role_policy(struct aws_ctx *ctx, const char *role, const char *policy, char **doc,
			struct errbuf *err);
int mon_put_role_policy(struct aws_ctx *ctx, const char *role, const char *policy, const char *doc,
			struct errbuf *err);

/* SNS GetTopicAttributes: *attrs an object name -> value (caller decrefs). */
int mon_topic_attributes(struct aws_ctx *ctx, const char *arn, json_t **attrs, struct errbuf *err);
/* CreateTopic with attributes (an object name -> string; may be NULL). */
int mon_create_topic(struct aws_ctx *ctx, const char *name, json_t *attrs, char **arn, struct errbuf *err);
int mon_set_topic_attribute(struct aws_ctx *ctx, const char *arn, const char *name, const char *value,
			    struct errbuf *err);
/* ListSubscriptionsByTopic (all pages): *out an array of {"Protocol",
 * "Endpoint", "SubscriptionArn"} ("PendingConfirmation" until the subscriber
 * confirms; "" when the answer had none). */
int mon_subscriptions(struct aws_ctx *ctx, const char *arn, json_t **out, struct errbuf *err);
int mon_subscribe(struct aws_ctx *ctx, const char *arn, const char *protocol, const char *endpoint,
		  struct errbuf *err);

/* CloudWatch DescribeAlarms of these names: *out an array of alarm objects
 * (AlarmName, AlarmDescription, AlarmActions [], MetricName, Namespace,
 * Statistic, Period, EvaluationPeriods, Threshold, ComparisonOperator,
 * TreatMissingData, ActionsEnabled, StateValue, StateUpdatedTimestamp as
 * sent), caller decrefs. */
int mon_alarms(struct aws_ctx *ctx, const char *const *names, size_t n, json_t **out, struct errbuf *err);
/* PutMetricAlarm from such an object. */
int mon_put_alarm(struct aws_ctx *ctx, const json_t *alarm, struct errbuf *err);

/* CloudTrail UpdateTrail with only the CloudWatch Logs ARNs ("" both: clear). */
int mon_set_trail_logs(struct aws_ctx *ctx, const char *trail, const char *group_arn, const char *role_arn,
		       struct errbuf *err);

#endif
