/* verify_monitoring.h: the alarm topic checks verify (notify_denied) and
 * doctor (topic_policy_denies, topic_key_denies) share (README
 * "Monitoring"): can CloudWatch publish the planned alarms to the topic?
 * Library code: no printing, no clock. */
#ifndef TK_VERIFY_MONITORING_H
#define TK_VERIFY_MONITORING_H

#include <stdbool.h>
#include <stddef.h>

#include "aws.h"
#include "err.h"
#include "policy.h"

#define VMON_MANAGED_TOPIC_KEY "alias/aws/sns"

/* The topic policy (text) evaluated for cloudwatch.amazonaws.com SNS:Publish
 * on topic_arn, as the alarm alarm_arn of account publishes it (aws:SourceArn,
 * aws:SourceAccount, AWS:SourceOwner, over TLS).  0 with *res filled, or an
 * error (the policy cannot be evaluated: the check is unchecked). */
int vmon_topic_policy_eval(const char *policy, const char *topic_arn, const char *alarm_arn, const char *account,
			   struct policy_result *res, struct errbuf *err);

/* The verdict on a topic's KmsMasterKeyId. */
struct vmon_key_verdict {
	bool ok;                /* CloudWatch may use the key (or the topic is not encrypted) */
	char *key_arn;          /* the key, when DescribeKey found it (owned) */
	const char *event;      /* !ok: the CloudTrail event that makes it so (culprit search):
	                           "SetTopicAttributes", "DisableKey", "ScheduleKeyDeletion",
	                           "PutKeyPolicy" */
	char reason[POLICY_EXPLAIN_LEN + 256];   /* !ok: one line, why */
};
void vmon_key_verdict_release(struct vmon_key_verdict *v);

/* key_ref: the topic's KmsMasterKeyId (NULL or "": not encrypted, ok).
 * alias/aws/sns never grants a service principal; otherwise DescribeKey
 * (must exist and be Enabled) and GetKeyPolicy, evaluated for
 * cloudwatch.amazonaws.com kms:GenerateDataKey and kms:Decrypt with the
 * alarm's aws:SourceArn / aws:SourceAccount.  0 with *out set, or an error
 * (a read failed: unchecked, never ok). */
int vmon_topic_key_check(struct aws_ctx *ctx, const char *key_ref, const char *alarm_arn, const char *account,
			 struct vmon_key_verdict *out, struct errbuf *err);

#endif
