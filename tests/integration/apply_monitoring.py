#!/usr/bin/python3
"""`trailkeep apply` with [monitoring] (issue 15) against the fake AWS, both
trail modes (README "Monitoring", "trailkeep apply"):
  - --dry-run lists the monitoring changes and writes nothing (exit 4);
  - --yes creates them: the log group with its retention, the CloudWatch Logs
    role (trust + permissions), the topic's customer managed key and the topic
    (policy, encryption, subscriptions), one metric filter + alarm per event
    class, then the trail's CloudWatch Logs ARNs; a second apply has nothing to
    do; once secops confirms its subscription, verify is green (no finding);
  - someone stops the trail: the alarm's message arrives on the topic;
  - broken pieces converge: the role's trust, a deleted alarm, an alarm without
    its action, the trail's ARNs cleared;
  - the section removed: apply sets the trail's CloudWatch Logs back to unset
    (both ARNs in one call), but leaves somebody else's integration alone.
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
GROUP = "/acme/cloudtrail"
ALARMS = ["trailkeep-cloudtrail-changes", "trailkeep-log-bucket-changes", "trailkeep-log-key-changes"]


def ini(mode, org_id, monitoring=True):
    s = "[organization]\n"
    if mode == "org":
        s += "id = %s\n" % org_id
    s += """management_account = %s
log_archive_account = %s
home_region = us-east-1
regions = %s

[central]
bucket = acme-amon-cloudtrail
kms_alias = alias/acme-amon-logs

[trail]
name = amon-trail
mode = %s
""" % (MGMT, LOGA, ", ".join(REGIONS), "organization" if mode == "org" else "per-account")
    if monitoring:
        s += """
[monitoring]
cloudwatch_log_group = %s
cloudwatch_retention_days = 400
alarms = tampering
notify = acme-alarms
subscribe = mailto:secops@example.com, https://hooks.example.com/ct
""" % GROUP
    for i, a in enumerate(IDS):
        s += "\n[account a%d]\nid = %s\n" % (i, a)
    return s


def tk(fa, acct, args, now=None):
    return run_as(TK, fa, acct, args, TOP, now)


def scenario(mode):
    tag = "%s: " % mode
    tmp = tempfile.mkdtemp(prefix="tk-amon-")
    with FakeAWS(seed=51, start=START, stderr=open(os.path.join(tmp, "fake.err"), "w")) as fa:
        seed = fa.post("seed_org", members=2)
        accts = {a["id"]: a for a in seed["accounts"]}
        fa.post("set_regions", regions=REGIONS)
        cfg = os.path.join(tmp, "amon.ini")
        with open(cfg, "w") as f:
            f.write(ini(mode, seed["org_id"]))
        owner = MGMT if mode == "org" else M1
        owners = [MGMT] if mode == "org" else IDS
        topic = "arn:aws:sns:us-east-1:%s:acme-alarms" % owner
        trail = "arn:aws:cloudtrail:us-east-1:%s:trail/amon-trail" % owner

        p = tk(fa, accts[MGMT], ["apply", cfg, "--dry-run"])
        out = p.stdout + p.stderr
        check(p.returncode == 4 and "log group '%s'" % GROUP in out and "cloudwatch alarm 'trailkeep-cloudtrail-changes'" in out
              and "iam role '%s'" % ROLE in out and "sns topic '%s'" % topic in out,
              tag + "--dry-run lists the monitoring changes (exit 4)", (p.returncode, out[-3000:]))
        logs = boto_client(fa, "logs", accts[owner])
        check(logs.describe_log_groups()["logGroups"] == [], tag + "--dry-run wrote nothing")

        p = tk(fa, accts[MGMT], ["apply", cfg, "--yes"])
        if not check(p.returncode == 0, tag + "apply --yes", (p.returncode, p.stdout[-3000:] + p.stderr[-2000:])):
            return
        for o in owners:
            lg = boto_client(fa, "logs", accts[o]).describe_log_groups()["logGroups"]
            check([(g["logGroupName"], g.get("retentionInDays")) for g in lg] == [(GROUP, 400)],
                  tag + "%s: the log group with its retention" % o, lg)
            al = boto_client(fa, "cloudwatch", accts[o]).describe_alarms()["MetricAlarms"]
            check(sorted(a["AlarmName"] for a in al) == sorted(ALARMS + (["trailkeep-organizations-changes"]
                                                                          if mode == "org" else []))
                  and all(a["AlarmActions"] == ["arn:aws:sns:us-east-1:%s:acme-alarms" % o] and
                          a["TreatMissingData"] == "notBreaching" for a in al),
                  tag + "%s: one alarm per event class, the topic as action" % o, al)
            sns = boto_client(fa, "sns", accts[o])
            at = sns.get_topic_attributes(TopicArn="arn:aws:sns:us-east-1:%s:acme-alarms" % o)["Attributes"]
            check(at.get("KmsMasterKeyId") == "alias/trailkeep-alarms" and "cloudwatch.amazonaws.com" in at["Policy"],
                  tag + "%s: the topic, encrypted with its key, CloudWatch may publish" % o, at)
            subs = sns.list_subscriptions_by_topic(TopicArn=at["TopicArn"])["Subscriptions"]
            check(sorted(s["Endpoint"] for s in subs) == ["https://hooks.example.com/ct", "secops@example.com"],
                  tag + "%s: the subscriptions" % o, subs)
            t = boto_client(fa, "cloudtrail", accts[o]).get_trail(Name="arn:aws:cloudtrail:us-east-1:%s:trail/amon-trail"
                                                            % o)["Trail"]
            check(t.get("CloudWatchLogsLogGroupArn") == "arn:aws:logs:us-east-1:%s:log-group:%s:*" % (o, GROUP) and
                  t.get("CloudWatchLogsRoleArn") == "arn:aws:iam::%s:role/%s" % (o, ROLE),
                  tag + "%s: the trail delivers to the log group with the role" % o, t)
        p = tk(fa, accts[MGMT], ["apply", cfg, "--dry-run"])
        check(p.returncode == 0, tag + "a second apply has nothing to do", (p.returncode, p.stdout[-2500:]))

        # secops confirms its subscription (else verify warns notify_unconfirmed:
        # README "Monitoring")
        for o in owners:
            fa.post("confirm_subscription", topic="arn:aws:sns:us-east-1:%s:acme-alarms" % o,
                    endpoint="secops@example.com")
        fa.post("advance", seconds=3 * 3600)
        now = fa.post("advance", seconds=0)["now"]
        p = tk(fa, accts[MGMT], ["verify", cfg, "--json", "--no-integrity", "--since", "2h"], now=now)
        doc = json.loads(p.stdout) if p.stdout.startswith("{") else {}
        check(p.returncode == 0 and doc.get("findings") == [], tag + "verify is green",
              (p.returncode, doc.get("findings", [])[:4], p.stderr[-500:]))
        ct = boto_client(fa, "cloudtrail", accts[owner])
        n0 = len(fa.post("sns_messages", topic=topic)["messages"])
        ct.stop_logging(Name=trail)
        ct.start_logging(Name=trail)
        fa.post("advance", seconds=300)
        msgs = fa.post("sns_messages", topic=topic)["messages"][n0:]
        check(any(json.loads(m["message"])["AlarmName"] == "trailkeep-cloudtrail-changes" and
                  json.loads(m["message"])["NewStateValue"] == "ALARM" and "secops@example.com" in m["endpoints"]
                  for m in msgs) and fa.post("sns_failures")["failures"] == [],
              tag + "someone stops the trail: the alarm's message reaches the subscriber", msgs)

        # breaks that apply converges
        iam, cw = boto_client(fa, "iam", accts[owner]), boto_client(fa, "cloudwatch", accts[owner])
        iam.update_assume_role_policy(RoleName=ROLE, PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}))
        cw.delete_alarms(AlarmNames=["trailkeep-log-key-changes"])
        a = [x for x in cw.describe_alarms(AlarmNames=["trailkeep-log-bucket-changes"])["MetricAlarms"]][0]
        cw.put_metric_alarm(AlarmName=a["AlarmName"], MetricName=a["MetricName"], Namespace=a["Namespace"],
                            Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=1,
                            ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching",
                            AlarmActions=[])
        p = tk(fa, accts[MGMT], ["apply", cfg, "--dry-run"])
        out = p.stdout
        check(p.returncode == 4 and "iam role '%s' trust policy" % ROLE in out and
              "cloudwatch alarm 'trailkeep-log-key-changes'" in out and
              "cloudwatch alarm 'trailkeep-log-bucket-changes'" in out,
              tag + "broken trust, deleted alarm, alarm without action: apply would converge them",
              (p.returncode, out[-2500:]))
        p = tk(fa, accts[MGMT], ["apply", cfg, "--yes"])
        check(p.returncode == 0, tag + "apply converges them", (p.returncode, p.stdout[-2000:], p.stderr[-800:]))
        p = tk(fa, accts[MGMT], ["apply", cfg, "--dry-run"])
        check(p.returncode == 0, tag + "then nothing to do", (p.returncode, p.stdout[-2000:]))

        # the section removed: back to unset, both ARNs in one call
        with open(cfg, "w") as f:
            f.write(ini(mode, seed["org_id"], monitoring=False))
        p = tk(fa, accts[MGMT], ["apply", cfg, "--yes"])
        t = ct.get_trail(Name=trail)["Trail"]
        check(p.returncode == 0 and "CloudWatchLogsLogGroupArn" not in t and "CloudWatchLogsRoleArn" not in t,
              tag + "[monitoring] removed: the trail's CloudWatch Logs settings converge to unset",
              (p.returncode, t, p.stdout[-1500:], p.stderr[-500:]))
        # somebody else's integration stays
        other_role = "arn:aws:iam::%s:role/SiemIngest" % owner
        fa.post("set_trail", trail=trail, CloudWatchLogsLogGroupArn="arn:aws:logs:us-east-1:%s:log-group:siem:*"
                % owner, CloudWatchLogsRoleArn=other_role)
        p = tk(fa, accts[MGMT], ["apply", cfg, "--yes"])
        t = ct.get_trail(Name=trail)["Trail"]
        check(p.returncode == 0 and t.get("CloudWatchLogsRoleArn") == other_role,
              tag + "without [monitoring], another CloudWatch Logs integration is left alone", (p.returncode, t))
    subprocess.run(["rm", "-rf", tmp])


for m in ("org", "per-account"):
    scenario(m)
sys.exit(1 if check.failures else 0)
