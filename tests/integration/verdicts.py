#!/usr/bin/python3
"""Right verdicts on configurations that are not in examples/ (issue: right
verdicts).  Each scenario asserts what the README says, against the fake AWS:

- validation: an organization whose management and log-archive accounts
  have no [account] section; someone turns log file validation off on the
  organization trail.  verify: `validation_disabled` on the management
  account's home-region cell (where trail findings go), exit 1.  doctor must
  examine that cell: cause `validation_disabled`, culprit bob's UpdateTrail,
  fix `trailkeep apply`; apply converges; verify and doctor green again.
- stopped-long-ago: a trail whose delivery stopped 25 hours ago.  The README:
  the newest log file is looked for in the last day (or twice
  max_delivery_age): older than the window is `delivery_none`, never
  `delivery_stale` with an age beyond the window.
- read-only: event selectors changed to ReadOnly.  verify reports
  `trail_config_drift` (whatever apply would change on a trail is drift),
  doctor `selectors_exclude` citing that verify code, apply converges, a
  second apply makes zero writes, verify green.

Prints PASS:/FAIL: lines; exits non-zero on any failure."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, TOP)
sys.path.insert(0, HERE)

import doctor_fake as D  # noqa: E402
from tests.fakeaws.testing import Checks  # noqa: E402

check = Checks(lines=40)

# The organization of doctor_fake.py without the [account] sections of the
# management (111111111111) and log-archive (222222222222) accounts.
BARE_INI = "\n".join(l for l in D.ORG_INI.split("\n[account management]")[0].splitlines()) + """

[account prod]
id = 333333333333

[account staging]
id = 444444444444
regions = eu-west-1
"""


def build(name, ini=None):
    """doctor_fake's World (with its config, or ini), applied, 2 hours delivered;
    failures counted here."""
    w = D.World()
    if ini:
        with open(w.config, "w") as f:
            f.write(ini.format(org_id=w.org_id))
    rc, out = w.apply()
    if not check(rc == 0, "%s: apply builds the org" % name, out):
        w.close()
        return None
    w.advance(2 * 3600)
    return w


def verify_json(w, *args):
    rc, out, err = w.run("--json", "--no-integrity", *args, cmd="verify")
    try:
        doc = json.loads(out)
    except ValueError:
        doc = None
    return rc, doc, out + err


def codes_by_cell(doc):
    r = {}
    for f in (doc or {}).get("findings", []):
        r.setdefault((f["account"], f["region"]), set()).add(f["code"])
    return r


def writes_of(w, fn):
    since = w.fa.post("stats", since=10 ** 9)["next"]
    r = fn()
    return r, w.fa.post("stats", since=since)["writes"]


def scenario_validation():
    w = build("validation", BARE_INI)
    if not w:
        return
    try:
        rc, doc, out = verify_json(w)
        check(rc == 0, "validation: a healthy bare org is green", out)
        bob = w.user(D.MGMT, "bob")
        t = w.now()
        w.client("cloudtrail", bob).update_trail(Name=w.trail_arn, EnableLogFileValidation=False)
        w.advance(600)
        rc, doc, out = verify_json(w)
        cells = codes_by_cell(doc)
        check(rc == 1 and cells == {(D.MGMT, "us-east-1"): {"validation_disabled"}},
              "validation: verify reports validation_disabled on the management home cell only", out)
        rc, ddoc, dout = w.doctor_json()
        c = [x for x in (ddoc or {}).get("cells", []) if x["status"] != "ok"]
        check(rc == 1 and len(c) == 1 and (c[0]["account"], c[0]["region"]) == (D.MGMT, "us-east-1")
              and c[0]["cause"] == "validation_disabled",
              "validation: doctor examines that cell: cause validation_disabled", dout)
        if c:
            check(D.culprit_ok(c[0], "UpdateTrail", "arn:aws:iam::%s:user/bob" % D.MGMT, t),
                  "validation: culprit is bob's UpdateTrail", json.dumps(c[0].get("culprit")))
            check(c[0].get("fix") == "trailkeep apply %s" % w.config, "validation: the fix is apply",
                  c[0].get("fix"))
        rc, aout = w.apply()
        check(rc == 0, "validation: apply converges", aout)
        (rc2, aout2), writes = writes_of(w, w.apply)
        check(rc2 == 0 and writes == 0, "validation: a second apply makes zero writes (%d)" % writes, aout2)
        w.advance(600)
        rc, doc, out = verify_json(w)
        check(rc == 0, "validation: verify green after apply", out)
        rc, ddoc, dout = w.doctor_json()
        check(rc == 0, "validation: doctor green after apply", dout)
    finally:
        w.close()


def scenario_stopped_long_ago():
    w = build("stopped")
    if not w:
        return
    try:
        # delivery stops at 02:00 (every kind), 25 hours pass
        w.fa.post("set_delivery_fault", trail=w.trail_arn, error="InternalError", kind="both")
        w.advance(25 * 3600)
        rc, doc, out = verify_json(w)
        cells = codes_by_cell(doc)
        stale = [k for k, v in cells.items() if "delivery_stale" in v]
        none = [k for k, v in cells.items() if "delivery_none" in v]
        check(rc == 1 and not stale and sorted(none) == D.ALL_CELLS,
              "stopped: 25 hours after the last log, every cell is delivery_none, none delivery_stale", out)
        msgs = [f["message"] for f in (doc or {}).get("findings", []) if f["code"] == "delivery_none"]
        check(msgs and all("the newest is from 2026-01-01T02:00" in m for m in msgs),
              "stopped: delivery_none names the newest log file's time", "\n".join(msgs))
        # two hours later than max_delivery_age (1h) but inside the day: stale
        w.fa.post("set_delivery_fault", trail=w.trail_arn, error=None, kind="both")
        w.advance(3600)
        w.fa.post("set_delivery_fault", trail=w.trail_arn, error="InternalError", kind="both")
        w.advance(2 * 3600)
        rc, doc, out = verify_json(w)
        cells = codes_by_cell(doc)
        check(rc == 1 and all("delivery_stale" in v and "delivery_none" not in v for v in cells.values()) and
              sorted(cells) == D.ALL_CELLS, "stopped: 2 hours later than the last log: delivery_stale",
              out + "\n" + repr(cells))
    finally:
        w.close()


def scenario_read_only():
    w = build("read-only")
    if not w:
        return
    try:
        bob = w.user(D.MGMT, "bob")
        t = w.now()
        w.client("cloudtrail", bob).put_event_selectors(
            TrailName=w.trail_arn,
            EventSelectors=[{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}])
        w.advance(600)
        rc, doc, out = verify_json(w)
        cells = codes_by_cell(doc)
        check(rc == 1 and cells == {(D.MGMT, "us-east-1"): {"trail_config_drift"}},
              "read-only: verify reports trail_config_drift on the trail's cell", out)
        rc, ddoc, dout = w.doctor_json()
        c = [x for x in (ddoc or {}).get("cells", []) if x["status"] == "cause"]
        check(rc == 1 and c and all(x["cause"] == "selectors_exclude" for x in c),
              "read-only: doctor's cause is selectors_exclude", dout)
        if c:
            check(all("trail_config_drift" in (x.get("symptom") or "") for x in c),
                  "read-only: doctor cites the verify code verify emitted",
                  "\n".join(x.get("symptom") or "" for x in c))
            check(D.culprit_ok(c[0], "PutEventSelectors", "arn:aws:iam::%s:user/bob" % D.MGMT, t),
                  "read-only: culprit is bob's PutEventSelectors", json.dumps(c[0].get("culprit")))
        rc, aout = w.apply()
        check(rc == 0 and "event selectors" in aout, "read-only: apply converges the selectors", aout)
        (rc2, aout2), writes = writes_of(w, w.apply)
        check(rc2 == 0 and writes == 0, "read-only: a second apply makes zero writes (%d)" % writes, aout2)
        rc, doc, out = verify_json(w)
        check(rc == 0, "read-only: verify green after apply", out)
    finally:
        w.close()


def scenario_refused_write():
    """A write AWS refuses is never reported as made (issue: apply must never
    report success for a write that did not take)."""
    w = build("refused")
    if not w:
        return
    try:
        la = w.user(D.ARCHIVE, "la")
        s3 = w.client("s3", w.assume(la, "arn:aws:iam::%s:role/LogArchiveAdmin" % D.ARCHIVE, "la"))
        s3.put_bucket_versioning(Bucket=D.BUCKET, VersioningConfiguration={"Status": "Suspended"})
        w.fa.post("set_faults", forced=[{"service": "s3", "operation": "PutBucketVersioning",
                                         "code": "AccessDenied", "status": 403}])
        rc, out = w.apply()
        w.fa.post("set_faults")
        check(rc == 3 and "versioning (account %s): not made, the write failed" % D.ARCHIVE in out and
              "0 changes made (0 write calls), 1 not made" in out,
              "refused: a refused PutBucketVersioning is 'not made', exit 3, never counted as made", out)
        rc, out = w.apply()
        check(rc == 0 and "1 change made (1 write call)" in out, "refused: the next apply makes it", out)
    finally:
        w.close()


def main():
    only = sys.argv[1:]
    for name, fn in (("validation", scenario_validation), ("stopped", scenario_stopped_long_ago),
                     ("read-only", scenario_read_only),
                     ("refused", scenario_refused_write)):
        if only and name not in only:
            continue
        fn()
    print("verdicts: %d failure(s)" % check.failures)
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
