#!/usr/bin/python3
"""`trailkeep verify CONFIG` against the fake AWS (tests/fakeaws).

The world of validate_fakeaws.py (an organization trail created with awscli,
3 simulated hours delivered), then:
  - a healthy org: exit 0, no findings, every cell "ok" with its newest
    delivery, --metrics written;
  - deny_account on one member, 2 more hours: that member is delivery_stale
    in every region although the org trail is logging; nobody else has a
    delivery finding;
  - a role that cannot be assumed: the cells are cell_unchecked, exit 3;
  - a stopped trail: trail_not_logging;
  - usage errors exit 2 before anything is contacted.
Prints PASS:/FAIL: lines; exit 1 on any failure.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, TOP)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tests.fakeaws.control import FakeAWS  # noqa: E402
from tests.fakeaws.testing import Checks  # noqa: E402
import validate_fakeaws as vf  # noqa: E402

TK = os.environ.get("TRAILKEEP_BIN") or os.path.join(TOP, "trailkeep")
check = Checks(limit=3000)

def config(w, path, assume_role="OrganizationAccountAccessRole", accounts=None):
    vf.org_config(w, path, accounts, assume_role=assume_role)


def verify(fa, w, cfg, *extra, now, acct=None):
    p = vf.run_verify(fa, w, now, [cfg, "--json"] + list(extra), acct=acct)
    return p.returncode, vf.json_of(p), p.stderr


def main():
    t0 = time.time()
    fa = FakeAWS(seed=12, stderr=subprocess.DEVNULL)
    tmp = tempfile.mkdtemp(prefix="tk-verify-")
    try:
        run(fa, tmp)
    finally:
        fa.stop()
        subprocess.run(["rm", "-rf", tmp])
    print("# verify_fakeaws: %.1f s" % (time.time() - t0))
    return 1 if check.failures else 0


def run(fa, tmp):
    w = vf.build_world(fa, members=4, kms=True)
    cfg = os.path.join(tmp, "org.ini")
    config(w, cfg)
    now = "2026-01-01T03:00:00Z"
    metrics = os.path.join(tmp, "metrics.prom")

    # --- healthy ----------------------------------------------------------------------
    rc, doc, err = verify(fa, w, cfg, "--since", "3h", "--metrics", metrics, now=now)
    check(rc == 0 and doc is not None and doc["findings"] == [],
          "healthy org: exit 0, no findings", "rc=%d %s %s" % (rc, err[-800:],
                                                             doc and doc["findings"][:4]))
    if doc:
        cells = doc["cells"]
        check(len(cells) == len(w["accounts"]) * 3 and
              all(c["status"] == "ok" and c["newest_delivery"] and c["digests_checked"] == 3
                  for c in cells),
              "every account x region cell ok, with its newest delivery and 3 digests",
              json.dumps(cells[:2]))
    text = open(metrics).read() if os.path.exists(metrics) else ""
    check("trailkeep_delivery_age_seconds{" in text and "trailkeep_findings{" in text
          and not os.path.exists(metrics + ".tmp"),
          "--metrics: Prometheus text written", text[:300])

    # --- prefixes: an account nobody configured, a configured one that never delivered ------
    cfg3 = os.path.join(tmp, "prefixes.ini")
    dropped = w["members"][0]["id"]
    config(w, cfg3, accounts=[a for a in w["accounts"] if a != dropped] + ["123456789012"])
    rc, doc, err = verify(fa, w, cfg3, "--since", "3h", "--no-integrity", now=now)
    fs = doc["findings"] if doc else []
    unexpected = [f["account"] for f in fs if f["code"] == "prefix_unexpected"]
    missing = sorted(f["region"] for f in fs if f["code"] == "prefix_missing"
                     and f["account"] == "123456789012")
    # the organization says the same (README "Organization membership"): the
    # dropped member is an unconfigured ACTIVE member, 123456789012 no member
    unconfigured = [f["account"] for f in fs if f["code"] == "account_unconfigured"]
    not_in_org = sorted(f["region"] for f in fs if f["code"] == "account_not_in_org"
                        and f["account"] == "123456789012")
    rest = [f for f in fs if f["code"] not in ("prefix_unexpected", "prefix_missing",
                                               "account_unconfigured", "account_not_in_org")]
    check(rc == 1 and unexpected == [dropped] and missing == sorted(vf.REGIONS) and not rest and
          unconfigured == [dropped] and not_in_org == sorted(vf.REGIONS),
          "prefix_unexpected and account_unconfigured for the unconfigured member, prefix_missing "
          "and account_not_in_org for the silent account",
          "rc=%d %s %s" % (rc, json.dumps(fs)[:1500], err[-300:]))

    # --- a member account silently denied ------------------------------------------------
    victim = w["members"][1]["id"]
    fa.post("tamper", kind="deny_account", trail=w["arn"], account=victim)
    fa.post("advance", seconds=2 * 3600)
    now2 = "2026-01-01T05:00:00Z"
    rc, doc, err = verify(fa, w, cfg, "--since", "5h", now=now2)
    check(rc == 1 and doc is not None, "denied member: exit 1", err[-500:])
    if doc:
        fs = doc["findings"]
        stale = sorted(f["region"] for f in fs
                       if f["code"] in ("delivery_stale", "delivery_none") and f["account"] == victim)
        others = [f for f in fs if f["code"] in ("delivery_stale", "delivery_none", "prefix_missing")
                  and f["account"] != victim]
        check(stale == sorted(vf.REGIONS) and not others,
              "denied member: delivery_stale in each of its regions, nobody else stale",
              json.dumps(fs)[:1500])
        not_logging = [f for f in fs if f["code"] == "trail_not_logging"]
        check(not not_logging, "denied member: the org trail itself is logging (IsLogging true)")
        bad = [f for f in fs if f["code"] not in ("delivery_stale", "delivery_none",
                                                 "trail_delivery_error")]
        check(not bad, "denied member: no other findings (integrity of what was delivered is intact)",
              json.dumps(bad)[:1500])
        vc = [c for c in doc["cells"] if c["account"] == victim]
        check(vc and all(c["status"] == "findings" for c in vc),
              "denied member: its cells are reported as findings")

    # --- freshness only ------------------------------------------------------------------
    rc, doc, err = verify(fa, w, cfg, "--no-integrity", "--account", victim, now=now2)
    check(rc == 1 and doc is not None and all(c["digests_checked"] == 0 for c in doc["cells"])
          and set(f["code"] for f in doc["findings"] if f["account"] == victim) == {"delivery_stale"},
          "--no-integrity --account: freshness only, the victim is still stale",
          "rc=%d %s" % (rc, err[-300:]))

    # --- a role that cannot be assumed: unchecked, exit 3 -----------------------------------
    cfg2 = os.path.join(tmp, "norole.ini")
    config(w, cfg2, assume_role="NoSuchRole")
    rc, doc, err = verify(fa, w, cfg2, "--since", "5h", now=now2)
    check(rc == 3 and doc is not None and doc["cells"] and
          all(c["status"] == "unchecked" for c in doc["cells"]),
          "central bucket unreachable (role cannot be assumed): every cell unchecked, exit 3",
          "rc=%d %s %s" % (rc, err[-300:], doc and json.dumps(doc["cells"][:2])))

    # --- usage ------------------------------------------------------------------------------
    rc, doc, err = verify(fa, w, cfg, "--account", "999999999990", now=now2)
    check(rc == 2 and "is not in" in err, "--account not in the config: exit 2", err)

    # --- the trail stopped -------------------------------------------------------------------
    r = vf.aws(fa, w["mg"], "cloudtrail", "stop-logging", "--name", "org-trail")
    check(r.returncode == 0, "aws cloudtrail stop-logging", r.stderr)
    rc, doc, err = verify(fa, w, cfg, "--since", "5h", "--no-integrity", now=now2)
    codes = doc and set(f["code"] for f in doc["findings"])
    check(rc == 1 and codes and "trail_not_logging" in codes,
          "stopped trail: trail_not_logging", "rc=%d %s %s" % (rc, codes, err[-300:]))


if __name__ == "__main__":
    sys.exit(main())
