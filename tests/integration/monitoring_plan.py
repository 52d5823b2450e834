#!/usr/bin/python3
"""[monitoring] as `trailkeep plan` renders it (issue 15), checked against the
fake AWS in both trail modes:
  - the org (or per-account) setup is created by `trailkeep apply --yes`
    from the same config without [monitoring];
  - the monitoring files of the plan are put in place with botocore exactly as
    written (log group + retention, the CloudWatch Logs role's trust and
    permissions, the topic key and topic with their policies, subscriptions,
    metric filters and alarms, the trail's CloudWatch Logs ARNs): the fake
    enforces every policy, so a wrong ARN pattern or condition fails here;
  - CloudTrail delivers to the log group (organization trail: one stream per
    member account), someone stops the trail and the alarm's message arrives on
    the topic through the customer managed key; a refused AssumeRole fires the
    unauthorized alarm;
  - athena/cloudtrail.sql parses with Debian's SQL parser (python3-sqlglot,
    Hive dialect) and its projection + storage.location.template match every
    log file key the fake wrote; athena/s3-access-logs.sql's regex parses every
    access log line the fake delivered; the ready queries parse (Presto dialect).
Expected values come from the README ("Monitoring", "Athena") and AWS's
documented formats.  Prints PASS:/FAIL: lines."""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, TOP)

import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from tests.fakeaws.control import FakeAWS  # noqa: E402
from tests.fakeaws.testing import Checks, put_monitoring, trailkeep_path  # noqa: E402

check = Checks(limit=1500)
TK = trailkeep_path(TOP)
START = "2026-01-01T00:00:00Z"
REGIONS = ["us-east-1", "eu-west-1"]
MGMT, LOGA, M1, M2 = "111111111111", "222222222222", "333333333333", "444444444444"
BUCKET = "acme-mon-cloudtrail"
ACCESS = "acme-mon-access-logs"


def ini(mode, org_id, monitoring=True):
    s = "[organization]\n"
    if mode == "org":
        s += "id = %s\n" % org_id
    s += """management_account = %s
log_archive_account = %s
home_region = us-east-1
regions = %s

[central]
bucket = %s
kms_alias = alias/acme-mon-logs
access_log_bucket = %s

[trail]
name = mon-trail
mode = %s

""" % (MGMT, LOGA, ", ".join(REGIONS), BUCKET, ACCESS, "organization" if mode == "org" else "per-account")
    if monitoring:
        s += """
[monitoring]
alarms = tampering, unauthorized, root
subscribe = mailto:secops@example.com
"""
    for i, a in enumerate([MGMT, LOGA, M1, M2]):
        s += "\n[account a%d]\nid = %s\n" % (i, a)
    return s


def client(fa, svc, acct, region="us-east-1"):
    return botocore.session.Session().create_client(
        svc, region_name=region, endpoint_url=fa.url, aws_access_key_id=acct["access_key_id"],
        aws_secret_access_key=acct["secret_access_key"], aws_session_token=acct.get("session_token"),
        config=Config(retries={"max_attempts": 0}, read_timeout=60))


def tk(fa, acct, *args):
    e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    e.update(fa.env(acct))
    e.update({"TRAILKEEP_NOW": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "TRAILKEEP_BACKOFF_SCALE": "0.01", "TRAILKEEP_SEED": "1",
              "TRAILKEEP_TEMPLATES": os.path.join(TOP, "templates")})
    return subprocess.run([TK] + list(args), env=e, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=300)


def load(plan, rel):
    with open(os.path.join(plan, rel)) as f:
        return f.read()


def alarm_state(fa, acct, name):
    return client(fa, "cloudwatch", acct).describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]


def athena(fa, plan, accts, tag, mode, org_id):
    try:
        import sqlglot
    except ImportError:
        check(False, tag + "python3-sqlglot is installed (scripts/deps.sh)")
        return
    text = load(plan, "athena/cloudtrail.sql")
    stmts = [s.strip() for s in text.split(";") if s.strip() and not all(
        ln.startswith("--") or not ln.strip() for ln in s.strip().splitlines())]
    ddl = stmts[0]
    fmt = re.search(r"STORED AS INPUTFORMAT '([^']*)'\s+OUTPUTFORMAT '([^']*)'", ddl)
    check(fmt and fmt.group(1) == "com.amazon.emr.cloudtrail.CloudTrailInputFormat",
          tag + "cloudtrail.sql reads with the CloudTrail input format")
    check("ROW FORMAT SERDE 'com.amazon.emr.hive.serde.CloudTrailSerde'" in ddl,
          tag + "cloudtrail.sql uses the CloudTrail SerDe")
    # python3-sqlglot 10.6 (Debian 12) lacks Hive's STORED AS INPUTFORMAT ... OUTPUTFORMAT
    # clause: that one clause (checked above) is replaced by STORED AS TEXTFILE before parsing
    try:
        tree = sqlglot.parse_one(ddl[:fmt.start()] + "STORED AS TEXTFILE" + ddl[fmt.end():], read="hive")
        ok = tree is not None and tree.key == "create"
    except Exception as e:      # noqa: BLE001
        ok, tree = False, str(e)
    check(ok, tag + "cloudtrail.sql's CREATE EXTERNAL TABLE parses (sqlglot, Hive)", tree)
    for q in stmts[1:]:
        try:
            sqlglot.parse_one(q, read="presto")
            good = True
        except Exception as e:  # noqa: BLE001
            good = str(e)
        check(good is True, tag + "ready query parses (sqlglot, Presto): %s" % q.splitlines()[0][:60], good)
    props = dict(re.findall(r"'([a-z.]+)' = '([^']*)'", ddl[ddl.index("TBLPROPERTIES"):]))
    check(props.get("projection.enabled") == "true", tag + "partition projection enabled")
    tmpl = props.get("storage.location.template", "")
    loc = re.search(r"LOCATION '([^']*)'", ddl).group(1)
    check(tmpl.startswith(loc), tag + "storage.location.template is under LOCATION", (loc, tmpl))
    accts_enum = props.get("projection.account.values", "").split(",")
    regs_enum = props.get("projection.region.values", "").split(",")
    check(sorted(accts_enum) == sorted(accts) and sorted(regs_enum) == sorted(REGIONS),
          tag + "projection lists the configured accounts and regions", (accts_enum, regs_enum))
    check(props.get("projection.day.format") == "yyyy/MM/dd" and props.get("projection.day.type") == "date",
          tag + "day projection is a yyyy/MM/dd date")
    rx = re.escape("s3://%s/" % BUCKET)
    path_rx = re.escape(tmpl).replace(re.escape("${account}"), "(?P<a>[0-9]{12})") \
        .replace(re.escape("${region}"), "(?P<r>[a-z0-9-]+)") \
        .replace(re.escape("${day}"), r"(?P<d>\d{4}/\d\d/\d\d)")
    s3 = client(fa, "s3", accts_obj[LOGA])
    keys = []
    tok = None
    while True:
        kw = {"Bucket": BUCKET, "Prefix": "AWSLogs/"}
        if tok:
            kw["ContinuationToken"] = tok
        r = s3.list_objects_v2(**kw)
        keys += [o["Key"] for o in r.get("Contents", [])]
        if not r.get("IsTruncated"):
            break
        tok = r["NextContinuationToken"]
    logs = [k for k in keys if "/CloudTrail/" in k]
    bad = []
    for k in logs:
        m = re.match(path_rx + r"/[^/]+\.json\.gz$", "s3://%s/%s" % (BUCKET, k))
        if not m or m.group("a") not in accts_enum or m.group("r") not in regs_enum or \
                m.group("d") < props["projection.day.range"].split(",")[0]:
            bad.append(k)
    check(logs and not bad, tag + "every log file key (%d) lies in a projected partition" % len(logs), bad[:5])
    del rx
    # access logs
    text = load(plan, "athena/s3-access-logs.sql")
    ddl = text[text.index("CREATE"):text.index(";", text.index("CREATE"))]
    m = re.search(r"'input.regex' = '((?:[^'\\]|\\.)*)'", ddl)
    regex = m.group(1).replace('\\"', '"').replace("\\\\", "\\") if m else ""
    fmt = re.search(r"STORED AS INPUTFORMAT '([^']*)'\s+OUTPUTFORMAT '([^']*)'", ddl)
    try:
        tree = sqlglot.parse_one(ddl[:fmt.start()] + "STORED AS TEXTFILE" + ddl[fmt.end():], read="hive")
        ok = tree is not None and tree.key == "create"
    except Exception as e:      # noqa: BLE001
        ok, tree = False, str(e)
    check(ok, tag + "s3-access-logs.sql's CREATE EXTERNAL TABLE parses (sqlglot, Hive)", tree)
    loc = re.search(r"LOCATION '([^']*)'", ddl).group(1)
    check(loc == "s3://%s/%s/" % (ACCESS, BUCKET), tag + "access-log table LOCATION is the target prefix", loc)
    ks = [o["Key"] for o in s3.list_objects_v2(Bucket=ACCESS, Prefix=BUCKET + "/").get("Contents", [])]
    lines = []
    for k in ks:
        lines += s3.get_object(Bucket=ACCESS, Key=k)["Body"].read().decode().splitlines()
    ncols = ddl[:ddl.index("COMMENT")].count(" STRING") + ddl[:ddl.index("COMMENT")].count(" BIGINT")
    bad = [ln for ln in lines if not re.match(regex, ln) or re.match(regex, ln).group(2) != BUCKET]
    check(lines and not bad and re.compile(regex).groups == ncols,
          tag + "every access log line (%d) parses with the table's regex, one group per column" % len(lines),
          (bad[:2], re.compile(regex).groups if regex else None, ncols))


accts_obj = {}


def scenario(mode):
    tag = "%s: " % mode
    tmp = tempfile.mkdtemp(prefix="tk-mon-plan-")
    with FakeAWS(seed=31, start=START, stderr=open(os.path.join(tmp, "fake.err"), "w")) as fa:
        seed = fa.post("seed_org", members=2)
        accts_obj.clear()
        accts_obj.update({a["id"]: a for a in seed["accounts"]})
        fa.post("set_regions", regions=REGIONS)
        # the trail(s) by apply without [monitoring]; the monitoring files of the
        # plan are then put in place by hand, as written (apply's own monitoring
        # is tests/integration/apply_monitoring.py)
        base = os.path.join(tmp, "base.ini")
        with open(base, "w") as f:
            f.write(ini(mode, seed["org_id"], monitoring=False))
        cfg = os.path.join(tmp, "mon.ini")
        with open(cfg, "w") as f:
            f.write(ini(mode, seed["org_id"]))
        p = tk(fa, accts_obj[MGMT], "apply", base, "--yes")
        if not check(p.returncode == 0, tag + "apply --yes sets up the trail(s)", p.stdout[-1500:] + p.stderr[-1500:]):
            return
        plan = os.path.join(tmp, "plan")
        p = tk(fa, accts_obj[MGMT], "plan", cfg, "-o", plan)
        check(p.returncode == 0, tag + "plan renders the monitoring files", p.stderr[-800:])
        mon_accts = [MGMT] if mode == "org" else [MGMT, LOGA, M1, M2]
        check(sorted(os.listdir(os.path.join(plan, "monitoring"))) == sorted(mon_accts),
              tag + "one monitoring folder per trail owner", os.listdir(os.path.join(plan, "monitoring")))
        owner = MGMT if mode == "org" else M1
        mon = put_monitoring(fa, plan, owner, accts_obj[owner], check)
        names = [a["Name"] for a in mon["Alarms"]]
        want = ["trailkeep-cloudtrail-changes", "trailkeep-log-bucket-changes", "trailkeep-log-key-changes"] + \
            (["trailkeep-organizations-changes"] if mode == "org" else []) + \
            ["trailkeep-unauthorized-calls", "trailkeep-root-activity"]
        check(names == want, tag + "alarms of the configured sets", names)
        check(mon["AlarmSettings"]["TreatMissingData"] == "notBreaching",
              tag + "rare-event alarms treat missing data as not breaching")
        fa.post("advance", seconds=1800)
        ct = client(fa, "cloudtrail", accts_obj[owner])
        trail_arn = mon["Trail"]["TrailARN"]
        st = ct.get_trail_status(Name=trail_arn)
        check("LatestCloudWatchLogsDeliveryTime" in st and "LatestCloudWatchLogsDeliveryError" not in st,
              tag + "CloudTrail delivers to the planned log group with the planned role", st)
        streams = [s["logStreamName"] for s in client(fa, "logs", accts_obj[owner]).describe_log_streams(
            logGroupName=mon["LogGroup"]["LogGroupName"])["logStreams"]]
        if mode == "org":
            want_streams = ["%s_%s_CloudTrail_%s" % (seed["org_id"], a, r) for a in (MGMT, LOGA, M1, M2)
                            for r in REGIONS]
        else:
            want_streams = ["%s_CloudTrail_%s" % (M1, r) for r in REGIONS]
        check(sorted(streams) == sorted(want_streams),
              tag + "streams: %s" % ("one per member account and region" if mode == "org" else "one per region"),
              streams)
        states = {a: alarm_state(fa, accts_obj[owner], a) for a in names}
        # the UpdateTrail that set CloudWatch Logs is itself a CloudTrail change: one ALARM then OK
        msgs0 = fa.post("sns_messages", topic=mon["Topic"]["TopicArn"])["messages"]
        check(all(v == "OK" for v in states.values()), tag + "quiet: every alarm OK", states)
        ct.stop_logging(Name=trail_arn)
        ct.start_logging(Name=trail_arn)
        fa.post("advance", seconds=300)
        check(alarm_state(fa, accts_obj[owner], "trailkeep-cloudtrail-changes") == "ALARM",
              tag + "someone stops the trail: the CloudTrail alarm fires")
        msgs = fa.post("sns_messages", topic=mon["Topic"]["TopicArn"])["messages"][len(msgs0):]
        got = [json.loads(m["message"]) for m in msgs]
        check(any(g["AlarmName"] == "trailkeep-cloudtrail-changes" and g["NewStateValue"] == "ALARM" for g in got)
              and all(m["endpoints"] == ["secops@example.com"] for m in msgs),
              tag + "the alarm's message reaches the subscriber through the encrypted topic", msgs)
        check(fa.post("sns_failures")["failures"] == [],
              tag + "no refused publish (topic policy and topic key let CloudWatch in)",
              fa.post("sns_failures")["failures"])
        # a refused AssumeRole in the trail owner's account: unauthorized alarm
        sts = client(fa, "sts", accts_obj[owner])
        try:
            sts.assume_role(RoleArn="arn:aws:iam::%s:role/%s" % (owner, mon["CloudWatchLogsRole"]["RoleName"]),
                            RoleSessionName="probe")
        except ClientError:
            pass
        fa.post("advance", seconds=300)
        check(alarm_state(fa, accts_obj[owner], "trailkeep-unauthorized-calls") == "ALARM",
              tag + "an AccessDenied call fires the unauthorized alarm")
        fa.post("advance", seconds=4 * 3600)
        accts = [MGMT, LOGA, M1, M2]
        athena(fa, plan, accts, tag, mode, seed["org_id"])
    subprocess.run(["rm", "-rf", tmp])


for m in ("org", "per-account"):
    scenario(m)
sys.exit(1 if check.failures else 0)
