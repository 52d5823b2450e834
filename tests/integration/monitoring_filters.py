#!/usr/bin/python3
"""A metric filter of the plan deleted or its pattern changed (issue 15;
README verify's monitoring_drift, doctor's metric_filter_missing): the
alarm never sees those events.  Both trail modes, against the fake AWS, the
setup by `trailkeep apply --yes`, the break by the trail owner's admin user
(botocore):
  - DeleteMetricFilter: verify monitoring_drift naming the filter (exit 1);
    doctor metric_filter_missing, culprit the admin's DeleteMetricFilter, fix
    trailkeep apply; after apply no monitoring_drift;
  - PutMetricFilter with another pattern: verify monitoring_drift ("another
    pattern"); doctor metric_filter_missing, culprit PutMetricFilter; apply
    restores the planned pattern.
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
BUCKET = "acme-flt-cloudtrail"
SECOPS = "secops@example.com"
GROUP = "/trailkeep/cloudtrail"
FILTER = "trailkeep-log-key-changes"


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
kms_alias = alias/acme-flt-logs

[trail]
name = flt-trail
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
    tmp = tempfile.mkdtemp(prefix="tk-flt-")
    with FakeAWS(seed=59, start=START, stderr=open(os.path.join(tmp, "fake.err"), "w")) as fa:
        seed = fa.post("seed_org", members=2)
        accts = {a["id"]: a for a in seed["accounts"]}
        fa.post("set_regions", regions=REGIONS)
        cfg = os.path.join(tmp, "flt.ini")
        with open(cfg, "w") as f:
            f.write(ini(mode, seed["org_id"]))
        p = tk(fa, accts[MGMT], ["apply", cfg, "--yes"])
        if not check(p.returncode == 0, tag + "apply --yes", p.stdout[-1500:] + p.stderr[-1500:]):
            return
        owner = MGMT if mode == "org" else M1
        fa.post("confirm_subscription", topic="arn:aws:sns:%s:%s:trailkeep-alarms" % (HOME, owner), endpoint=SECOPS)
        fa.post("advance", seconds=3600)
        logs = client(fa, "logs", accts[owner])
        good = [f for f in logs.describe_metric_filters(logGroupName=GROUP)["metricFilters"]
                if f["filterName"] == FILTER][0]

        def drift():
            p = tk(fa, accts[MGMT], ["verify", cfg, "--json", "--no-integrity", "--since", "1h"])
            try:
                doc = json.loads(p.stdout)
            except ValueError:
                doc = {}
            return p.returncode, [f["message"] for f in doc.get("findings", []) if f["code"] == "monitoring_drift"
                                  and f["account"] == owner]

        def doctor():
            p = tk(fa, accts[MGMT], ["doctor", cfg, "--json", "--account", owner, "--region", HOME])
            try:
                doc = json.loads(p.stdout)
            except ValueError:
                doc = {}
            cs = [c for c in doc.get("cells", []) if c["account"] == owner and c["status"] == "cause"]
            return (cs[0] if cs else None), p.stdout[-2000:] + p.stderr[-500:]

        for name, make, event, text in (
                ("metric filter deleted", lambda: logs.delete_metric_filter(logGroupName=GROUP, filterName=FILTER),
                 "DeleteMetricFilter", "no metric filter '%s'" % FILTER),
                ("metric filter pattern changed",
                 lambda: logs.put_metric_filter(logGroupName=GROUP, filterName=FILTER,
                                                filterPattern='{ $.eventName = "NothingEverHappens" }',
                                                metricTransformations=good["metricTransformations"]),
                 "PutMetricFilter", "another pattern")):
            make()
            rc, msgs = drift()
            check(rc == 1 and msgs and all(text in m for m in msgs),
                  tag + "%s: verify monitoring_drift ('%s'), exit 1" % (name, text), (rc, msgs))
            c, out = doctor()
            who = (c or {}).get("culprit") or {}
            check(c is not None and c["cause"] == "metric_filter_missing" and who.get("event") == event
                  and who.get("who", "").startswith("arn:aws:iam::%s:user/admin" % owner)
                  and "trailkeep apply" in (c.get("fix") or ""),
                  tag + "%s: doctor metric_filter_missing, the admin's %s, fix apply" % (name, event), (c, out))
            p = tk(fa, accts[MGMT], ["apply", cfg, "--yes"])
            rc, msgs = drift()
            now = [f for f in logs.describe_metric_filters(logGroupName=GROUP)["metricFilters"]
                   if f["filterName"] == FILTER]
            check(p.returncode == 0 and not msgs and now and now[0]["filterPattern"] == good["filterPattern"],
                  tag + "%s: apply restores the planned filter, no monitoring_drift" % name, (p.returncode, msgs))
    subprocess.run(["rm", "-rf", tmp])


for m in ("org", "per-account"):
    scenario(m)
sys.exit(1 if check.failures else 0)
