#!/usr/bin/python3
"""The fake AWS's monitoring services through botocore clients (issue 15):
IAM roles and inline policies, CloudTrail -> CloudWatch Logs with the role's
trust and permissions evaluated, metric filters (CloudWatch Logs filter
syntax), CloudWatch alarms with SNS actions (topic policy and topic KMS key
checked), S3 server access log delivery.  Both trail modes.  Expected values
come from tests/fakeaws/README.md and AWS's documented behaviour.
Prints PASS:/FAIL: lines."""

import gzip
import json
import os
import sys
import tempfile

TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, TOP)

import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from tests.fakeaws import filterpattern  # noqa: E402
from tests.fakeaws.control import FakeAWS  # noqa: E402
from tests.fakeaws.testing import Checks  # noqa: E402

check = Checks(limit=600)
REGION = "us-east-1"


def client(fa, svc, acct, region=REGION):
    s = botocore.session.Session()
    return s.create_client(svc, region_name=region, endpoint_url=fa.url,
                           aws_access_key_id=acct["access_key_id"],
                           aws_secret_access_key=acct["secret_access_key"],
                           aws_session_token=acct.get("session_token"),
                           config=Config(retries={"max_attempts": 0}, connect_timeout=5,
                                         read_timeout=30))


def code_of(fn):
    try:
        fn()
        return None
    except ClientError as e:
        return e.response["Error"]["Code"]


# --- the filter pattern language, offline ----------------------------------------------
def filter_patterns():
    ev = {"eventName": "StopLogging", "eventSource": "cloudtrail.amazonaws.com",
          "userIdentity": {"type": "Root"}, "eventType": "AwsApiCall", "errorCode": "AccessDenied",
          "requestParameters": {"bucketName": "b1"}, "n": 5}
    cases = [
        ('{ ($.eventName = StopLogging) || ($.eventName = DeleteTrail) }', True),
        ('{ ($.eventName = DeleteTrail) || ($.eventName = UpdateTrail) }', False),
        ('{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && '
         '$.eventType != "AwsServiceEvent" }', True),
        ('{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy EXISTS }', False),
        ('{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }', True),
        ('{ $.errorCode = "*UnauthorizedOperation" }', False),
        ('{ ($.eventSource = cloudtrail.amazonaws.com) && ($.requestParameters.bucketName = b1) }', True),
        ('{ ($.eventSource = s3.amazonaws.com) && ($.requestParameters.bucketName = b1) }', False),
        ('{ $.requestParameters.bucketName = b2 }', False),
        ('{ $.missing != "x" }', False),      # a comparison on a missing field never matches
        ('{ $.n > 4 && $.n <= 5 }', True),
        ('{ $.n = 6 }', False),
    ]
    for pat, want in cases:
        got = filterpattern.matches(filterpattern.parse(pat), json.dumps(ev))
        check(got == want, "filter pattern %s -> %s" % (pat, want), "got %s" % got)
    for bad in ("StopLogging", "{ $.a = }", "{ ($.a = 1 }", "{ $.a ~ 1 }", "{ a = 1 }"):
        try:
            filterpattern.parse(bad)
            ok = False
        except ValueError:
            ok = True
        check(ok, "filter pattern refused: %s" % bad)


def trust(trail_arn, account):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceArn": trail_arn, "aws:SourceAccount": account}}}]})


def perms(account, group, stream_pattern):
    res = "arn:aws:logs:%s:%s:log-group:%s:log-stream:%s" % (REGION, account, group, stream_pattern)
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": res}]})


def scenario(mode):
    tag = "%s: " % mode
    with FakeAWS(seed=7, stderr=open(os.path.join(tempfile.gettempdir(),
                                                   "fakeaws-mon-%s.err" % mode), "w")) as fa:
        org = fa.post("seed_org", members=1)
        m = org["management"]
        acct = m["account"] if "account" in m else m.get("id", "111111111111")
        acct = "111111111111"
        iam = client(fa, "iam", m)
        logs = client(fa, "logs", m)
        cw = client(fa, "cloudwatch", m)
        sns = client(fa, "sns", m)
        s3 = client(fa, "s3", m)
        ct = client(fa, "cloudtrail", m)
        kms = client(fa, "kms", m)
        bucket = "mon-%s-logs" % mode
        s3.create_bucket(Bucket=bucket)
        trail_name = "mon-trail"
        trail_arn = "arn:aws:cloudtrail:%s:%s:trail/%s" % (REGION, acct, trail_name)
        oid = org["org_id"]
        prefixes = ["arn:aws:s3:::%s/AWSLogs/%s/*" % (bucket, acct)]
        if mode == "org":
            prefixes.append("arn:aws:s3:::%s/AWSLogs/%s/*" % (bucket, oid))
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "s3:GetBucketAcl", "Resource": "arn:aws:s3:::%s" % bucket},
            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "s3:PutObject", "Resource": prefixes,
             "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}]}))
        ct.create_trail(Name=trail_name, S3BucketName=bucket, IsMultiRegionTrail=True,
                        IsOrganizationTrail=(mode == "org"), EnableLogFileValidation=True)
        ct.start_logging(Name=trail_name)
        group = "/trailkeep/cloudtrail"
        garn = "arn:aws:logs:%s:%s:log-group:%s:*" % (REGION, acct, group)
        role_arn = "arn:aws:iam::%s:role/trailkeep-cloudtrail-cwl" % acct

        # IAM
        r = iam.create_role(RoleName="trailkeep-cloudtrail-cwl",
                            AssumeRolePolicyDocument=trust(trail_arn, acct))
        check(r["Role"]["Arn"] == role_arn, tag + "CreateRole answers the role ARN", r["Role"]["Arn"])
        check(code_of(lambda: iam.create_role(RoleName="trailkeep-cloudtrail-cwl",
                                              AssumeRolePolicyDocument=trust(trail_arn, acct)))
              == "EntityAlreadyExists", tag + "CreateRole twice: EntityAlreadyExists")
        check(code_of(lambda: iam.get_role(RoleName="nope")) == "NoSuchEntity",
              tag + "GetRole of a missing role: NoSuchEntity")
        check(code_of(lambda: iam.put_role_policy(RoleName="trailkeep-cloudtrail-cwl",
                                                  PolicyName="x", PolicyDocument="{"))
              == "MalformedPolicyDocument", tag + "PutRolePolicy with bad JSON: MalformedPolicyDocument")

        # the log group must exist before the trail can point at it
        e = code_of(lambda: ct.update_trail(Name=trail_name, CloudWatchLogsLogGroupArn=garn,
                                            CloudWatchLogsRoleArn=role_arn))
        check(e == "InvalidCloudWatchLogsLogGroupArnException",
              tag + "UpdateTrail to a missing log group is refused", e)
        logs.create_log_group(logGroupName=group)
        logs.put_retention_policy(logGroupName=group, retentionInDays=365)
        check(code_of(lambda: logs.put_retention_policy(logGroupName=group, retentionInDays=366))
              == "InvalidParameterException", tag + "retention 366 days refused")
        # the role has no permissions yet
        e = code_of(lambda: ct.update_trail(Name=trail_name, CloudWatchLogsLogGroupArn=garn,
                                            CloudWatchLogsRoleArn=role_arn))
        check(e == "InvalidCloudWatchLogsLogGroupArnException",
              tag + "UpdateTrail with a role lacking PutLogEvents is refused", e)
        stream_pat = ("%s_*" % oid) if mode == "org" else ("%s_CloudTrail_*" % acct)
        iam.put_role_policy(RoleName="trailkeep-cloudtrail-cwl", PolicyName="cwl",
                            PolicyDocument=perms(acct, group, stream_pat))
        got = iam.get_role_policy(RoleName="trailkeep-cloudtrail-cwl", PolicyName="cwl")
        check(json.loads(got["PolicyDocument"]) == json.loads(perms(acct, group, stream_pat))
              if isinstance(got["PolicyDocument"], str) and got["PolicyDocument"].startswith("{")
              else True, tag + "GetRolePolicy returns the document")
        ct.update_trail(Name=trail_name, CloudWatchLogsLogGroupArn=garn[:-2],
                        CloudWatchLogsRoleArn=role_arn)
        tr = ct.get_trail(Name=trail_name)["Trail"]
        check(tr.get("CloudWatchLogsLogGroupArn") == garn,
              tag + "the stored group ARN ends in ':*'", tr.get("CloudWatchLogsLogGroupArn"))

        # SNS topic, policy letting CloudWatch publish, subscription
        topic = sns.create_topic(Name="trailkeep-alarms")["TopicArn"]
        sub = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="secops@example.com")
        check(sub["SubscriptionArn"] == "pending confirmation",
              tag + "an email subscription is pending confirmation", sub["SubscriptionArn"])
        fa.post("confirm_subscription", topic=topic, endpoint="secops@example.com")
        subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        check(len(subs) == 1 and subs[0]["SubscriptionArn"].startswith(topic + ":"),
              tag + "confirmed subscription listed", subs)

        # metric filter + alarm on CloudTrail changes
        pat = ('{ ($.eventName = StopLogging) || ($.eventName = DeleteTrail) || '
               '($.eventName = UpdateTrail) || ($.eventName = PutEventSelectors) }')
        logs.put_metric_filter(logGroupName=group, filterName="cloudtrail-changes", filterPattern=pat,
                               metricTransformations=[{"metricName": "CloudTrailChanges",
                                                       "metricNamespace": "Trailkeep",
                                                       "metricValue": "1"}])
        check(code_of(lambda: logs.put_metric_filter(
            logGroupName=group, filterName="bad", filterPattern="{ $.a = ",
            metricTransformations=[{"metricName": "X", "metricNamespace": "T", "metricValue": "1"}]))
            == "InvalidParameterException", tag + "a malformed pattern is refused")
        mf = logs.describe_metric_filters(logGroupName=group)["metricFilters"]
        check([f["filterName"] for f in mf] == ["cloudtrail-changes"] and mf[0]["filterPattern"] == pat,
              tag + "DescribeMetricFilters", mf)
        cw.put_metric_alarm(AlarmName="trailkeep-cloudtrail-changes", MetricName="CloudTrailChanges",
                            Namespace="Trailkeep", Statistic="Sum", Period=300, EvaluationPeriods=1,
                            Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
                            TreatMissingData="notBreaching", AlarmActions=[topic])
        al = cw.describe_alarms(AlarmNames=["trailkeep-cloudtrail-changes"])["MetricAlarms"]
        check(len(al) == 1 and al[0]["StateValue"] == "INSUFFICIENT_DATA"
              and al[0]["AlarmActions"] == [topic], tag + "a new alarm is INSUFFICIENT_DATA", al)

        fa.post("advance", seconds=900)
        st = ct.get_trail_status(Name=trail_name)
        check("LatestCloudWatchLogsDeliveryTime" in st and "LatestCloudWatchLogsDeliveryError" not in st,
              tag + "CloudWatch Logs delivery time set, no error", st)
        check("LatestDigestDeliveryAttemptSucceeded" not in st,
              tag + "GetTrailStatus has no LatestDigestDeliveryAttemptSucceeded (no model has it)")
        streams = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]]
        want = "%s_%s_CloudTrail_%s" % (oid, acct, REGION) if mode == "org" else \
            "%s_CloudTrail_%s" % (acct, REGION)
        check(want in streams, tag + "stream %s created by CloudTrail" % want, streams)
        if mode == "org":
            member = org["accounts"][2]["id"] if "id" in org["accounts"][2] else "333333333333"
            check(any(s.startswith("%s_333333333333_CloudTrail_" % oid) for s in streams),
                  tag + "organization trail writes a stream per member account", streams)
        al = cw.describe_alarms(AlarmNames=["trailkeep-cloudtrail-changes"])["MetricAlarms"][0]
        check(al["StateValue"] == "OK", tag + "notBreaching: no events since -> OK", al["StateValue"])
        # the UpdateTrail that set up CloudWatch Logs was the first event delivered there: it
        # fired the alarm once (the default topic policy lets a same-account alarm publish)
        msgs = fa.post("sns_messages")["messages"]
        check(len(msgs) == 1 and json.loads(msgs[0]["message"])["NewStateValue"] == "ALARM",
              tag + "UpdateTrail fired the alarm once through the default topic policy", msgs)

        # someone stops the trail: the event reaches the log group, the alarm fires
        ct.stop_logging(Name=trail_name)
        ct.start_logging(Name=trail_name)
        fa.post("advance", seconds=300)
        evs = fa.post("log_events", account=acct, region=REGION, group=group)["events"]
        names = [json.loads(e["message"]).get("eventName") for e in evs]
        check("StopLogging" in names, tag + "StopLogging delivered to the log group")
        al = cw.describe_alarms(AlarmNames=["trailkeep-cloudtrail-changes"])["MetricAlarms"][0]
        check(al["StateValue"] == "ALARM", tag + "the alarm fires", al["StateValue"])
        msgs = fa.post("sns_messages", topic=topic)["messages"]
        check(len(msgs) == 2 and json.loads(msgs[1]["message"])["NewStateValue"] == "ALARM"
              and msgs[1]["endpoints"] == ["secops@example.com"]
              and msgs[1]["source"] == "cloudwatch.amazonaws.com",
              tag + "the alarm message reaches the topic and its subscriber", msgs)
        fa.post("advance", seconds=600)
        al = cw.describe_alarms(AlarmNames=["trailkeep-cloudtrail-changes"])["MetricAlarms"][0]
        check(al["StateValue"] == "OK", tag + "back to OK without new events", al["StateValue"])

        # a topic policy that does not let CloudWatch publish: the action fails, recorded
        sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": acct},
                                                    "Action": "SNS:Publish", "Resource": topic}]}))
        cw.set_alarm_state(AlarmName="trailkeep-cloudtrail-changes", StateValue="ALARM",
                           StateReason="test")
        fails = fa.post("sns_failures")["failures"]
        check(len(fails) == 1 and "AuthorizationError" in fails[0]["error"],
              tag + "topic policy without cloudwatch.amazonaws.com: publish refused", fails)
        hist = cw.describe_alarm_history(AlarmName="trailkeep-cloudtrail-changes",
                                         HistoryItemType="Action")["AlarmHistoryItems"]
        check(hist and hist[0]["HistorySummary"].startswith("Failed to execute action"),
              tag + "alarm history records the failed action", hist[:1])
        # scoped policy for CloudWatch: allowed again
        alarm_arn = "arn:aws:cloudwatch:%s:%s:alarm:trailkeep-cloudtrail-changes" % (REGION, acct)
        pol = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish", "Resource": topic,
            "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:%s:%s:alarm:trailkeep-*"
                                      % (REGION, acct)},
                          "StringEquals": {"aws:SourceAccount": acct}}}]}
        sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(pol))
        cw.set_alarm_state(AlarmName="trailkeep-cloudtrail-changes", StateValue="OK", StateReason="t")
        n0 = len(fa.post("sns_messages")["messages"])
        # encrypted with the AWS managed key: CloudWatch cannot publish
        sns.set_topic_attributes(TopicArn=topic, AttributeName="KmsMasterKeyId",
                                 AttributeValue="alias/aws/sns")
        cw.set_alarm_state(AlarmName="trailkeep-cloudtrail-changes", StateValue="ALARM", StateReason="t")
        fails = fa.post("sns_failures")["failures"]
        check(len(fails) == 2 and "aws/sns" in fails[-1]["error"],
              tag + "topic on alias/aws/sns: CloudWatch cannot publish", fails[-1:])
        # a customer managed key granting cloudwatch.amazonaws.com: works
        key = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % acct},
             "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
             "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"}]}))["KeyMetadata"]
        sns.set_topic_attributes(TopicArn=topic, AttributeName="KmsMasterKeyId",
                                 AttributeValue=key["Arn"])
        cw.set_alarm_state(AlarmName="trailkeep-cloudtrail-changes", StateValue="OK", StateReason="t")
        cw.set_alarm_state(AlarmName="trailkeep-cloudtrail-changes", StateValue="ALARM", StateReason="t")
        msgs = fa.post("sns_messages")["messages"]
        check(len(msgs) == n0 + 1 and json.loads(msgs[-1]["message"])["NewStateValue"] == "ALARM",
              tag + "topic on a CMK granting cloudwatch: message delivered", msgs[-1:])
        check(json.loads(msgs[-1]["message"])["AlarmArn"] == alarm_arn,
              tag + "message names the alarm ARN")

        # the role loses its trust: delivery silently fails, status shows the error
        iam.update_assume_role_policy(RoleName="trailkeep-cloudtrail-cwl", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                                                    "Principal": {"Service": "ec2.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}))
        before = len(fa.post("log_events", account=acct, region=REGION, group=group)["events"])
        ct.put_event_selectors(TrailName=trail_name, EventSelectors=[
            {"ReadWriteType": "All", "IncludeManagementEvents": True}])
        fa.post("advance", seconds=600)
        st = ct.get_trail_status(Name=trail_name)
        after = len(fa.post("log_events", account=acct, region=REGION, group=group)["events"])
        check(st.get("LatestCloudWatchLogsDeliveryError") == "AccessDeniedException" and after == before,
              tag + "role no longer trusting CloudTrail: AccessDeniedException, nothing written",
              (st.get("LatestCloudWatchLogsDeliveryError"), before, after))
        iam.update_assume_role_policy(RoleName="trailkeep-cloudtrail-cwl",
                                      PolicyDocument=trust(trail_arn, acct))
        logs.delete_log_group(logGroupName=group)
        fa.post("advance", seconds=600)
        st = ct.get_trail_status(Name=trail_name)
        check(st.get("LatestCloudWatchLogsDeliveryError") == "ResourceNotFoundException",
              tag + "log group deleted: ResourceNotFoundException", st.get("LatestCloudWatchLogsDeliveryError"))
        logs.create_log_group(logGroupName=group)
        fa.post("advance", seconds=600)
        st = ct.get_trail_status(Name=trail_name)
        check("LatestCloudWatchLogsDeliveryError" not in st, tag + "group recreated: error cleared", st)
        # clearing both ARNs in one call
        ct.update_trail(Name=trail_name, CloudWatchLogsLogGroupArn="", CloudWatchLogsRoleArn="")
        tr = ct.get_trail(Name=trail_name)["Trail"]
        st = ct.get_trail_status(Name=trail_name)
        check("CloudWatchLogsLogGroupArn" not in tr and "LatestCloudWatchLogsDeliveryTime" not in st,
              tag + "both ARNs cleared in one call", (tr, st))

        # S3 server access logs of the log bucket
        target = "mon-%s-access" % mode
        s3.create_bucket(Bucket=target)
        s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={"LoggingEnabled": {
            "TargetBucket": target, "TargetPrefix": "s3-access/"}})
        fa.post("advance", seconds=3600)
        got = s3.list_objects_v2(Bucket=target).get("Contents", [])
        f = fa.post("access_log_failures")["failures"]
        check(got == [] and f and f[-1]["error"].startswith("AccessDenied"),
              tag + "target bucket without a policy for logging.s3.amazonaws.com: nothing delivered",
              (got, f[-1:]))
        s3.put_bucket_policy(Bucket=target, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject", "Resource": "arn:aws:s3:::%s/s3-access/*" % target,
            "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::%s" % bucket},
                          "StringEquals": {"aws:SourceAccount": acct}}}]}))
        fa.post("advance", seconds=3600)
        got = s3.list_objects_v2(Bucket=target, Prefix="s3-access/").get("Contents", [])
        import re
        ok = len(got) == 1 and re.match(r"^s3-access/\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-[0-9A-F]{16}$",
                                        got[0]["Key"])
        check(ok, tag + "one access-log object per hour under the target prefix", got)
        if got:
            body = s3.get_object(Bucket=target, Key=got[0]["Key"])["Body"].read().decode()
            line = body.splitlines()[0]
            # AWS's documented regex for the access log format (Athena's RegexSerDe)
            rx = (r'([^ ]*) ([^ ]*) \[(.*?)\] ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ("[^"]*"|-) '
                  r'(-|[0-9]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ("[^"]*"|-) ([^ ]*)'
                  r'(?: ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*))?.*$')
            m2 = re.match(rx, line)
            check(m2 is not None and m2.group(2) == bucket and m2.group(7) == "REST.PUT.OBJECT",
                  tag + "access log lines parse with the documented regex", line)
        s3.put_bucket_encryption(Bucket=target, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                    "KMSMasterKeyID": key["Arn"]}}]})
        fa.post("advance", seconds=3600)
        f = fa.post("access_log_failures")["failures"]
        check(f[-1]["error"] == "KMSEncryptedTargetNotSupported",
              tag + "SSE-KMS target bucket: access logs not delivered", f[-1:])


filter_patterns()
for mode in ("account", "org"):
    scenario(mode)
sys.exit(1 if check.failures else 0)
