#!/usr/bin/python3
"""`trailkeep verify` with [monitoring] (issue 15) against the fake AWS, both
trail modes.  The setup is made by `trailkeep apply --yes` (trail, buckets,
access logging, and the monitoring resources of README "Monitoring").  Then, with the clock pinned:
  - right after apply no S3 server access log has arrived: access_log_none
    (a warning: exit 0 unless something else is wrong);
  - 3 simulated hours later: no monitoring finding at all;
  - the CloudWatch Logs role no longer trusts CloudTrail: CloudTrail's
    LatestCloudWatchLogsDeliveryError -> cloudwatch_delivery_error and, after
    more than max_cloudwatch_delivery_age, cloudwatch_delivery_stale;
  - both CloudWatch Logs ARNs cleared on the trail: monitoring_drift;
  - the access-log bucket's policy no longer lets logging.s3.amazonaws.com
    write: after more than access_log_max_age, access_log_stale;
  - a failing listing of the access-log bucket is cell_unchecked, never ok.
Per-account mode: only the broken account's cells carry the findings.
Expected codes and where they land: README "verify and validate", docs/findings.md.
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
BUCKET = "acme-vmon-cloudtrail"
ACCESS = "acme-vmon-access-logs"
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
kms_alias = alias/acme-vmon-logs
access_log_bucket = %s

[trail]
name = vmon-trail
mode = %s

[monitoring]
alarms = tampering
max_cloudwatch_delivery_age = 1h
access_log_max_age = 3h
""" % (MGMT, LOGA, ", ".join(REGIONS), BUCKET, ACCESS, "organization" if mode == "org" else "per-account")
    for i, a in enumerate(IDS):
        s += "\n[account a%d]\nid = %s\n" % (i, a)
    return s


def tk(fa, acct, args, now=None):
    return run_as(TK, fa, acct, args, TOP, now)


def verify(fa, accts, cfg):
    now = fa.post("advance", seconds=0)["now"]
    p = tk(fa, accts[MGMT], ["verify", cfg, "--json", "--no-integrity", "--since", "2h"], now=now)
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        doc = None
    return p.returncode, doc, p.stderr


def mon_findings(doc):
    return sorted((f["code"], f["account"], f.get("region") or "") for f in (doc or {}).get("findings", [])
                  if f["code"] in MON_CODES)


def scenario(mode):
    tag = "%s: " % mode
    tmp = tempfile.mkdtemp(prefix="tk-vmon-")
    with FakeAWS(seed=41, start=START, stderr=open(os.path.join(tmp, "fake.err"), "w")) as fa:
        seed = fa.post("seed_org", members=2)
        accts = {a["id"]: a for a in seed["accounts"]}
        fa.post("set_regions", regions=REGIONS)
        cfg = os.path.join(tmp, "vmon.ini")
        with open(cfg, "w") as f:
            f.write(ini(mode, seed["org_id"]))
        p = tk(fa, accts[MGMT], ["apply", cfg, "--yes"])
        if not check(p.returncode == 0, tag + "apply --yes", p.stdout[-1500:] + p.stderr[-1500:]):
            return
        plan = os.path.join(tmp, "plan")
        p = tk(fa, accts[MGMT], ["plan", cfg, "-o", plan])
        owners = [MGMT] if mode == "org" else IDS
        mons = {}
        for o in owners:
            with open(os.path.join(plan, "monitoring", o, "monitoring.json")) as f:
                mons[o] = json.load(f)
        home = "us-east-1"
        broken = MGMT if mode == "org" else M1

        # 1. nothing delivered yet: no access log
        rc, doc, err = verify(fa, accts, cfg)
        got = mon_findings(doc)
        check(("access_log_none", LOGA, home) in got,
              tag + "right after apply: access_log_none on the central account's home-region cell", got)
        check(not [g for g in got if g[0] != "access_log_none"] or all(g[0] == "cloudwatch_delivery_stale"
                                                                      for g in got if g[0] != "access_log_none"),
              tag + "right after apply: nothing but missing deliveries", got)

        # 2. healthy
        fa.post("advance", seconds=3 * 3600)
        rc, doc, err = verify(fa, accts, cfg)
        check(doc is not None and mon_findings(doc) == [], tag + "3 hours later: no monitoring finding",
              (rc, mon_findings(doc), err[-500:]))
        check(rc == 0, tag + "3 hours later: exit 0", (rc, doc and doc["findings"][:3], err[-500:]))
        if mode != "org":
            # the owners' [monitoring] reads (about seven calls each, one
            # after the other) run for several accounts at once (README
            # "verify and validate"): with 300 ms a call, two accounts'
            # reads of the same kind are in flight together; same verdict
            fa.post("set_faults", latency_ms=300)
            since = fa.post("stats")["next"]
            rc2, doc2, err2 = verify(fa, accts, cfg)
            mif = fa.post("stats", since=since).get("max_in_flight", {})
            fa.post("set_faults")
            mon_ops = {k: n for k, n in mif.items() if k.split(":")[0] in ("logs", "sns", "cloudwatch")}
            check(mon_ops and all(n >= 2 for n in mon_ops.values()),
                  tag + "the accounts' monitoring reads are in flight together", json.dumps(mif))
            check(rc2 == 0 and doc2 is not None and doc2["findings"] == doc["findings"],
                  tag + "with 300 ms a call: the same findings, exit 0", (rc2, err2[-500:]))

        # 3. the role no longer trusts CloudTrail
        iam = boto_client(fa, "iam", accts[broken])
        role = mons[broken]["CloudWatchLogsRole"]["RoleName"]
        good_trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
        iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                                                    "Principal": {"Service": "ec2.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}))
        fa.post("advance", seconds=600)
        rc, doc, err = verify(fa, accts, cfg)
        got = mon_findings(doc)
        want_cells = [(broken, home)] if mode == "org" else [(broken, r) for r in REGIONS]
        check([g for g in got if g[0] == "cloudwatch_delivery_error"] ==
              sorted(("cloudwatch_delivery_error", a, r) for a, r in want_cells) and rc == 1,
              tag + "role not trusting CloudTrail: cloudwatch_delivery_error on the trail's cells, exit 1",
              (rc, got))
        msgs = [f["message"] for f in doc["findings"] if f["code"] == "cloudwatch_delivery_error"]
        check(msgs and "AccessDeniedException" in msgs[0], tag + "the message carries CloudTrail's error", msgs)
        check(not [g for g in got if g[0] == "cloudwatch_delivery_stale"],
              tag + "10 minutes: not stale yet", got)
        fa.post("advance", seconds=3600)
        rc, doc, err = verify(fa, accts, cfg)
        got = mon_findings(doc)
        check(sorted(g for g in got if g[0] == "cloudwatch_delivery_stale") ==
              sorted(("cloudwatch_delivery_stale", a, r) for a, r in want_cells),
              tag + "more than max_cloudwatch_delivery_age later: cloudwatch_delivery_stale", got)
        if mode != "org":
            check(all(g[1] == broken for g in got if g[0].startswith("cloudwatch")),
                  tag + "only the broken account's cells", got)
        iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(good_trust)
                                      if isinstance(good_trust, dict) else good_trust)
        fa.post("advance", seconds=600)
        rc, doc, err = verify(fa, accts, cfg)
        check(not [g for g in mon_findings(doc) if g[0].startswith("cloudwatch")],
              tag + "trust restored: no cloudwatch finding", mon_findings(doc))

        # 4. the trail's CloudWatch Logs ARNs cleared
        ct = boto_client(fa, "cloudtrail", accts[broken])
        trail_arn = mons[broken]["Trail"]["TrailARN"]
        ct.update_trail(Name=trail_arn, CloudWatchLogsLogGroupArn="", CloudWatchLogsRoleArn="")
        rc, doc, err = verify(fa, accts, cfg)
        got = mon_findings(doc)
        check(sorted(g for g in got if g[0] == "monitoring_drift") ==
              sorted(("monitoring_drift", a, r) for a, r in want_cells) and rc == 1,
              tag + "CloudWatch Logs ARNs cleared: monitoring_drift", (rc, got))
        tr = mons[broken]["Trail"]
        ct.update_trail(Name=trail_arn, CloudWatchLogsLogGroupArn=tr["CloudWatchLogsLogGroupArn"],
                        CloudWatchLogsRoleArn=tr["CloudWatchLogsRoleArn"])

        # 4b. resources the alarms need: an alarm deleted, one without its action,
        #     a metric filter deleted -> monitoring_drift naming each
        cw = boto_client(fa, "cloudwatch", accts[broken])
        logs = boto_client(fa, "logs", accts[broken])
        cw.delete_alarms(AlarmNames=["trailkeep-log-key-changes"])
        a0 = cw.describe_alarms(AlarmNames=["trailkeep-log-bucket-changes"])["MetricAlarms"][0]
        cw.put_metric_alarm(AlarmName=a0["AlarmName"], MetricName=a0["MetricName"], Namespace=a0["Namespace"],
                            Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=1,
                            ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching",
                            AlarmActions=[])
        group = mons[broken]["LogGroup"]["LogGroupName"]
        logs.delete_metric_filter(logGroupName=group, filterName="trailkeep-cloudtrail-changes")
        rc, doc, err = verify(fa, accts, cfg)
        msgs = sorted(f["message"] for f in doc["findings"] if f["code"] == "monitoring_drift"
                      and f["account"] == broken)
        check(rc == 1 and any("alarm 'trailkeep-log-key-changes' does not exist" in m for m in msgs)
              and any("alarm 'trailkeep-log-bucket-changes' does not notify topic" in m for m in msgs)
              and any("no metric filter 'trailkeep-cloudtrail-changes'" in m for m in msgs),
              tag + "alarm deleted, alarm without its action, metric filter deleted: monitoring_drift each",
              (rc, msgs))
        p = tk(fa, accts[MGMT], ["apply", cfg, "--yes"])
        rc, doc, err = verify(fa, accts, cfg)
        check(p.returncode == 0 and not [g for g in mon_findings(doc) if g[0] == "monitoring_drift"],
              tag + "apply converges them: no monitoring_drift", (p.returncode, mon_findings(doc)))
        logs.delete_log_group(logGroupName=group)
        rc, doc, err = verify(fa, accts, cfg)
        msgs = [f["message"] for f in doc["findings"] if f["code"] == "monitoring_drift"]
        check(any("log group '%s' does not exist" % group in m for m in msgs),
              tag + "log group deleted: monitoring_drift", msgs)
        p = tk(fa, accts[MGMT], ["apply", cfg, "--yes"])
        check(p.returncode == 0, tag + "apply re-creates the log group", p.stdout[-1500:])

        # 5. the access-log bucket refuses the logging service
        s3 = boto_client(fa, "s3", accts[LOGA])
        s3.delete_bucket_policy(Bucket=ACCESS)
        fa.post("advance", seconds=4 * 3600)
        rc, doc, err = verify(fa, accts, cfg)
        got = mon_findings(doc)
        check(("access_log_stale", LOGA, home) in got and not [g for g in got if g[0] != "access_log_stale"],
              tag + "access-log bucket policy gone, 4 hours: access_log_stale only", got)
        # 6. the access-log bucket cannot be listed: unchecked, never ok
        s3.put_bucket_policy(Bucket=ACCESS, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": "TestDenyList", "Effect": "Deny", "Principal": "*", "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::%s" % ACCESS}]}))
        rc, doc, err = verify(fa, accts, cfg)
        un = [f for f in (doc or {}).get("findings", []) if f["code"] == "cell_unchecked"]
        check(rc == 3 and un and "access logs" in un[0]["message"] and
              not [g for g in mon_findings(doc) if g[0].startswith("access_log")],
              tag + "access logs that cannot be listed: cell_unchecked, exit 3, no access_log verdict",
              (rc, un[:2], mon_findings(doc), err[-300:]))
    subprocess.run(["rm", "-rf", tmp])


for m in ("org", "per-account"):
    scenario(m)
sys.exit(1 if check.failures else 0)
