#!/usr/bin/python3
"""Someone stops the trail -> the alarm fires -> the subscriber is told
(issue 15; README "Monitoring", tests/fakeaws/README.md "Monitoring
services").  AWS delivers the StopLogging event of the trail being stopped
(logging stops after it); the fake does too, to CloudWatch Logs, at the next
tick.  Both trail modes, against the fake AWS, the setup by `trailkeep apply
--yes`, secops confirms its subscription, then the trail owner's admin user
(botocore):
  - StopLogging: 10 minutes later the log group holds that StopLogging event
    (once), trailkeep-cloudtrail-changes went to ALARM and its message reached
    secops@example.com, the trail is still stopped, and no S3 log file was
    written after the stop (the final digest ends the chain);
  - StopLogging then StartLogging at once: the StopLogging event reaches the
    log group exactly once (not again with the restarted trail's events);
  - doctor names the admin user's StopLogging as the culprit.
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
from tests.fakeaws.testing import Checks, boto_client, run_at_sim_clock, trailkeep_path  # noqa: E402

check = Checks(limit=2500)
TK = trailkeep_path(TOP)
START = "2026-01-01T00:00:00Z"
REGIONS = ["us-east-1", "eu-west-1"]
HOME = "us-east-1"
MGMT, LOGA, M1, M2 = "111111111111", "222222222222", "333333333333", "444444444444"
IDS = [MGMT, LOGA, M1, M2]
BUCKET = "acme-stp-cloudtrail"
SECOPS = "secops@example.com"
GROUP = "/trailkeep/cloudtrail"
ALARM = "trailkeep-cloudtrail-changes"


def ini(mode, org_id):
    s = "[organization]\n"
    if mode == "org":
        s += "id = %s\n" % org_id
    s += """management_account = %s
log_archive_account = %s
home_region = %s
regions = %s

[central]
bucket = %s
kms_alias = alias/acme-stp-logs

[trail]
name = stp-trail
mode = %s

[monitoring]
alarms = tampering
subscribe = mailto:%s
""" % (MGMT, LOGA, HOME, ", ".join(REGIONS), BUCKET, "organization" if mode == "org" else "per-account", SECOPS)
    for i, a in enumerate(IDS):
        s += "\n[account a%d]\nid = %s\n" % (i, a)
    return s


def client(fa, svc, acct):
    return boto_client(fa, svc, acct, HOME)


def tk(fa, acct, args):
    return run_at_sim_clock(TK, fa, acct, args, TOP)


def scenario(mode):
    tag = "%s: " % mode
    tmp = tempfile.mkdtemp(prefix="tk-stp-")
    with FakeAWS(seed=53, start=START, stderr=open(os.path.join(tmp, "fake.err"), "w")) as fa:
        seed = fa.post("seed_org", members=2)
        accts = {a["id"]: a for a in seed["accounts"]}
        fa.post("set_regions", regions=REGIONS)
        cfg = os.path.join(tmp, "stp.ini")
        with open(cfg, "w") as f:
            f.write(ini(mode, seed["org_id"]))
        p = tk(fa, accts[MGMT], ["apply", cfg, "--yes"])
        if not check(p.returncode == 0, tag + "apply --yes", p.stdout[-1500:] + p.stderr[-1500:]):
            return
        owner = MGMT if mode == "org" else M1
        topic = "arn:aws:sns:%s:%s:trailkeep-alarms" % (HOME, owner)
        trail = "arn:aws:cloudtrail:%s:%s:trail/stp-trail" % (HOME, owner)
        fa.post("confirm_subscription", topic=topic, endpoint=SECOPS)
        fa.post("advance", seconds=3600)
        ct = client(fa, "cloudtrail", accts[owner])

        def stop_events():
            evs = fa.post("log_events", account=owner, region=HOME, group=GROUP)["events"]
            return [json.loads(e["message"]) for e in evs
                    if json.loads(e["message"]).get("eventName") == "StopLogging"]

        n0 = len(fa.post("sns_messages", topic=topic)["messages"])
        s3 = client(fa, "s3", accts[LOGA])

        def log_keys():
            out, tok = [], None
            while True:
                kw = {"Bucket": BUCKET}
                if tok:
                    kw["ContinuationToken"] = tok
                r = s3.list_objects_v2(**kw)
                out += [o["Key"] for o in r.get("Contents", []) if "/%s/CloudTrail/" % owner in o["Key"]]
                if not r.get("IsTruncated"):
                    return set(out)
                tok = r["NextContinuationToken"]

        before = log_keys()
        ct.stop_logging(Name=trail)
        fa.post("advance", seconds=600)
        evs = stop_events()
        rp = (evs or [{}])[0].get("requestParameters") or {}
        check(len(evs) == 1 and (rp.get("name") or rp.get("Name")) == trail
              and evs[0]["userIdentity"]["arn"] == "arn:aws:iam::%s:user/admin" % owner,
              tag + "the stopped trail delivered its own StopLogging event to CloudWatch Logs, once",
              evs)
        msgs = fa.post("sns_messages", topic=topic)["messages"][n0:]
        check(any(json.loads(m["message"])["AlarmName"] == ALARM and json.loads(m["message"])["NewStateValue"] ==
                  "ALARM" and SECOPS in m["endpoints"] for m in msgs),
              tag + "%s fired and its message reached %s" % (ALARM, SECOPS), msgs)
        check(not ct.get_trail_status(Name=trail)["IsLogging"], tag + "the trail is still stopped")
        check(log_keys() == before, tag + "no S3 log file of the stopped trail's account after the stop (the final digest ended the chain)")
        fa.post("advance", seconds=1800)
        check(len(stop_events()) == 1, tag + "later ticks deliver nothing more of the stopped trail",
              len(stop_events()))
        p = tk(fa, accts[MGMT], ["doctor", cfg, "--json", "--account", owner, "--region", HOME])
        try:
            doc = json.loads(p.stdout)
        except ValueError:
            doc = {}
        cs = [c for c in doc.get("cells", []) if c["account"] == owner and c["status"] == "cause"]
        who = (cs[0].get("culprit") or {}) if cs else {}
        check(cs and who.get("event") == "StopLogging" and
              who.get("who", "").startswith("arn:aws:iam::%s:user/admin" % owner),
              tag + "doctor names the admin's StopLogging", (cs[:1], p.stdout[-1500:] + p.stderr[-500:]))

        # stopped and started again at once: the StopLogging event once
        ct.start_logging(Name=trail)
        fa.post("advance", seconds=600)
        k = len(stop_events())
        ct.stop_logging(Name=trail)
        ct.start_logging(Name=trail)
        fa.post("advance", seconds=900)
        check(len(stop_events()) == k + 1, tag + "stop + start at once: the StopLogging event reaches the log "
              "group exactly once", (k, len(stop_events())))
    subprocess.run(["rm", "-rf", tmp])


for m in ("org", "per-account"):
    scenario(m)
sys.exit(1 if check.failures else 0)
