#!/usr/bin/python3
"""`trailkeep doctor` with [monitoring] (issue 15) against the fake AWS, both
trail modes: the setup by `trailkeep apply --yes`, then one break at a time,
each made by the account's admin user; doctor names the cause (README
"doctor", docs/findings.md), the culprit (the admin user's ARN and the API
call) and the fix (trailkeep apply), and after `apply --yes` verify has no
monitoring finding again:
  cloudwatch_role_untrusted (UpdateAssumeRolePolicy), cloudwatch_role_denies
  (DeleteRolePolicy), log_group_missing (DeleteLogGroup), alarm_missing
  (DeleteAlarms), alarm_action_missing (PutMetricAlarm), topic_policy_denies
  (SetTopicAttributes), cloudwatch_settings_changed (UpdateTrail),
  access_log_policy_denies (DeleteBucketPolicy on the access-log bucket).
Prints PASS:/FAIL: lines."""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, TOP)


from tests.fakeaws.control import FakeAWS  # noqa: E402
from tests.fakeaws.testing import Checks, boto_client, run_as, trailkeep_path  # noqa: E402

check = Checks(limit=2500)
TK = trailkeep_path(TOP)
START = "2026-01-01T00:00:00Z"
REGIONS = ["us-east-1", "eu-west-1"]
MGMT, LOGA, M1, M2 = "111111111111", "222222222222", "333333333333", "444444444444"
IDS = [MGMT, LOGA, M1, M2]
ROLE = "trailkeep-cloudtrail-to-cloudwatch-logs"
GROUP = "/trailkeep/cloudtrail"
ACCESS = "acme-dmon-access-logs"
BUCKET = "acme-dmon-cloudtrail"
MON_CODES = ("cloudwatch_delivery_stale", "cloudwatch_delivery_error", "monitoring_drift",
             "access_log_stale", "access_log_none")


def ini(mode, org_id):
    s = "[organization]\n"
    if mode == "org":
        s += "id = %s\n" % org_id
    s += """management_account = %s
log_archive_account = %s
home_region = us-east-1
regions = %s

[central]
bucket = %s
kms_alias = alias/acme-dmon-logs
access_log_bucket = %s

[trail]
name = dmon-trail
mode = %s

[monitoring]
alarms = tampering
access_log_max_age = 2h
""" % (MGMT, LOGA, ", ".join(REGIONS), BUCKET, ACCESS, "organization" if mode == "org" else "per-account")
    for i, a in enumerate(IDS):
        s += "\n[account a%d]\nid = %s\n" % (i, a)
    return s


def tk(fa, acct, args, now=None):
    return run_as(TK, fa, acct, args, TOP, now)


def now_of(fa):
    return fa.post("advance", seconds=0)["now"]


def doctor(fa, accts, cfg, account):
    p = tk(fa, accts[MGMT], ["doctor", cfg, "--json", "--account", account], now=now_of(fa))
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        doc = None
    return p.returncode, doc, p.stdout + p.stderr


def scenario(mode):
    tag = "%s: " % mode
    tmp = tempfile.mkdtemp(prefix="tk-dmon-")
    with FakeAWS(seed=61, start=START, stderr=open(os.path.join(tmp, "fake.err"), "w")) as fa:
        seed = fa.post("seed_org", members=2)
        accts = {a["id"]: a for a in seed["accounts"]}
        fa.post("set_regions", regions=REGIONS)
        cfg = os.path.join(tmp, "dmon.ini")
        with open(cfg, "w") as f:
            f.write(ini(mode, seed["org_id"]))
        p = tk(fa, accts[MGMT], ["apply", cfg, "--yes"])
        if not check(p.returncode == 0, tag + "apply --yes", p.stdout[-1500:] + p.stderr[-1500:]):
            return
        fa.post("advance", seconds=3 * 3600)
        owner = MGMT if mode == "org" else M1
        o = accts[owner]
        iam, logs, cw, sns, ct = (boto_client(fa, s, o) for s in ("iam", "logs", "cloudwatch", "sns", "cloudtrail"))
        topic = "arn:aws:sns:us-east-1:%s:trailkeep-alarms" % owner
        trail = "arn:aws:cloudtrail:us-east-1:%s:trail/dmon-trail" % owner

        def cause_of(doc, account):
            cells = [c for c in (doc or {}).get("cells", []) if c["account"] == account and c["status"] == "cause"]
            return cells[0] if cells else None

        def expect(name, cause, event, account=owner, advance=0, before_fix=None):
            if advance:
                fa.post("advance", seconds=advance)
            rc, doc, out = doctor(fa, accts, cfg, account)
            c = cause_of(doc, account)
            who = (c or {}).get("culprit") or {}
            check(c is not None and c["cause"] == cause and (event is None or
                                                             (who.get("event") == event and
                                                              who.get("who", "").startswith(
                                                                  "arn:aws:iam::%s:user/admin" % (
                                                                      LOGA if account == LOGA else owner)))) and
                  "trailkeep apply" in (c.get("fix") or ""),
                  tag + "%s: doctor names %s%s" % (name, cause, " and the culprit's %s" % event if event else ""),
                  (rc, c, out[-1500:] if c is None else ""))
            if before_fix:
                before_fix()
            p = tk(fa, accts[MGMT], ["apply", cfg, "--yes"])
            fa.post("advance", seconds=900)
            p2 = tk(fa, accts[MGMT], ["verify", cfg, "--json", "--no-integrity", "--since", "1h"], now=now_of(fa))
            d2 = json.loads(p2.stdout) if p2.stdout.startswith("{") else {}
            left = [f for f in d2.get("findings", []) if f["code"] in MON_CODES and f["code"] != "access_log_stale"]
            check(p.returncode == 0 and not left, tag + "%s: apply fixes it, verify has no monitoring finding" % name,
                  (p.returncode, left[:3], p.stdout[-800:]))

        iam.update_assume_role_policy(RoleName=ROLE, PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}))
        expect("role trust changed", "cloudwatch_role_untrusted", "UpdateAssumeRolePolicy", advance=600)
        iam.delete_role_policy(RoleName=ROLE, PolicyName=ROLE)
        expect("role policy deleted", "cloudwatch_role_denies", "DeleteRolePolicy", advance=600)
        logs.delete_log_group(logGroupName=GROUP)
        expect("log group deleted", "log_group_missing", "DeleteLogGroup")
        cw.delete_alarms(AlarmNames=["trailkeep-log-key-changes"])
        expect("alarm deleted", "alarm_missing", "DeleteAlarms")
        a0 = cw.describe_alarms(AlarmNames=["trailkeep-cloudtrail-changes"])["MetricAlarms"][0]
        cw.put_metric_alarm(AlarmName=a0["AlarmName"], MetricName=a0["MetricName"], Namespace=a0["Namespace"],
                            Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=1,
                            ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching",
                            AlarmActions=[])
        expect("alarm action removed", "alarm_action_missing", "PutMetricAlarm")
        sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Sid": "TrailkeepTopicOwner", "Effect": "Allow",
                                                    "Principal": {"AWS": "arn:aws:iam::%s:root" % owner},
                                                    "Action": "SNS:Publish", "Resource": topic}]}))
        # the policy no longer lets CloudWatch in: nothing shows in verify until doctor
        # is asked about the cell, so make the alarm's action visible by a drift
        cw.delete_alarms(AlarmNames=["trailkeep-log-bucket-changes"])
        p = tk(fa, accts[MGMT], ["apply", cfg, "--dry-run"])
        check("sns topic '%s' policy" % topic in p.stdout, tag + "apply --dry-run would restore the topic policy",
              p.stdout[-1500:])
        # doctor on a drift cell walks the alarms first (alarm_missing); restore the
        # alarm by hand so that the topic policy is what is left
        p = tk(fa, accts[MGMT], ["apply", cfg, "--yes"])
        sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Sid": "TrailkeepTopicOwner", "Effect": "Allow",
                                                    "Principal": {"AWS": "arn:aws:iam::%s:root" % owner},
                                                    "Action": "SNS:Publish", "Resource": topic}]}))
        ct.update_trail(Name=trail, CloudWatchLogsLogGroupArn="", CloudWatchLogsRoleArn="")
        expect("trail CloudWatch Logs cleared", "cloudwatch_settings_changed", "UpdateTrail")
        # (apply restored the topic policy too: check the topic cause on its own)
        sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Sid": "TrailkeepTopicOwner", "Effect": "Allow",
                                                    "Principal": {"AWS": "arn:aws:iam::%s:root" % owner},
                                                    "Action": "SNS:Publish", "Resource": topic}]}))
        logs.put_retention_policy(logGroupName=GROUP, retentionInDays=1)
        # retention differs: no verify code; a topic that refuses CloudWatch is found by
        # doctor when the cell is red for another monitoring reason: make the delivery stale
        fa.post("set_delivery_fault", trail=trail, kind="cloudwatch", error="InternalError")
        expect("topic policy without CloudWatch", "topic_policy_denies", "SetTopicAttributes", advance=4000,
               before_fix=lambda: fa.post("set_delivery_fault", trail=trail, kind="cloudwatch", error=None))
        # access logs
        s3 = boto_client(fa, "s3", accts[LOGA])
        s3.delete_bucket_policy(Bucket=ACCESS)
        expect("access-log bucket policy deleted", "access_log_policy_denies", "DeleteBucketPolicy", account=LOGA,
               advance=3 * 3600)
    subprocess.run(["rm", "-rf", tmp])


for m in ("org", "per-account"):
    scenario(m)
sys.exit(1 if check.failures else 0)
