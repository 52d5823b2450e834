#!/usr/bin/python3
"""Issue 12 defect 1: in organization mode the management and log-archive
accounts are always expected accounts (README "Configuration"), also without
an [account] section: verify checks their cells in [organization] regions and
never reports their prefixes as prefix_unexpected; an [account] section for
the same id narrows their regions.

The world of validate_fakeaws.py (an organization trail created with awscli,
3 simulated hours delivered) with a config whose [account] sections name
only the members.  Prints PASS:/FAIL: lines; exit 1 on any failure.
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
NOW = "2026-01-01T03:00:00Z"


def verify(fa, w, cfg, *extra):
    p = vf.run_verify(fa, w, NOW, [cfg, "--json", "--since", "3h"] + list(extra))
    return p.returncode, vf.json_of(p), p.stderr


def main():
    t0 = time.time()
    fa = FakeAWS(seed=31, stderr=subprocess.DEVNULL)
    tmp = tempfile.mkdtemp(prefix="tk-implicit-")
    try:
        run(fa, tmp)
    finally:
        fa.stop()
        subprocess.run(["rm", "-rf", tmp])
    print("# verify_implicit_accounts: %.1f s" % (time.time() - t0))
    return 1 if check.failures else 0


def run(fa, tmp):
    w = vf.build_world(fa, members=2, kms=True)
    # the trail as the plan wants it (advanced selectors: management events)
    r = vf.aws(fa, w["mg"], "cloudtrail", "put-event-selectors", "--trail-name", "org-trail",
               "--advanced-event-selectors", json.dumps([{
                   "Name": "Management events",
                   "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]))
    check(r.returncode == 0, "world: advanced event selectors as planned", r.stderr)
    mg, la = w["mg"]["id"], w["la"]["id"]
    members = [a["id"] for a in w["members"]]
    check(mg != la and mg not in members and la not in members,
          "world: management, log archive and 2 members are 4 accounts", str(w["accounts"]))
    cfg = os.path.join(tmp, "org.ini")
    vf.org_config(w, cfg, accounts=members)       # [account] sections: members only
    text = open(cfg).read()
    check(("id = %s\n" % mg) not in text.split("[trail]")[1] and
          ("id = %s\n" % la) not in text.split("[trail]")[1],
          "config: no [account] section for the management or log-archive account", text)

    rc, doc, err = verify(fa, w, cfg)
    findings = doc["findings"] if doc else []
    unexpected = [f for f in findings if f["code"] == "prefix_unexpected"]
    check(doc is not None and not [f for f in unexpected if f["account"] in (mg, la)],
          "no prefix_unexpected for the management or log-archive account",
          "rc=%d %s %s" % (rc, json.dumps(unexpected)[:800], err[-400:]))
    check(rc == 0 and findings == [], "healthy organization: exit 0, no findings",
          "rc=%d %s %s" % (rc, json.dumps(findings)[:800], err[-400:]))
    cells = doc["cells"] if doc else []
    for acct, what in ((mg, "management"), (la, "log-archive")):
        mine = sorted(c["region"] for c in cells if c["account"] == acct)
        check(mine == sorted(vf.REGIONS) and
              all(c["status"] == "ok" and c["newest_delivery"] and c["digests_checked"] > 0
                  for c in cells if c["account"] == acct),
              "the %s account's cells are checked in every [organization] region" % what,
              json.dumps([c for c in cells if c["account"] == acct]))
    check(len(cells) == 4 * len(vf.REGIONS), "4 accounts x 3 regions = 12 cells", str(len(cells)))

    # an [account] section for the management account narrows its regions
    with open(cfg, "a") as f:
        f.write("\n[account mgmt]\nid = %s\nregions = us-east-1\n" % mg)
    rc, doc, err = verify(fa, w, cfg)
    cells = doc["cells"] if doc else []
    check(rc == 0 and doc is not None and doc["findings"] == [] and
          sorted(c["region"] for c in cells if c["account"] == mg) == ["us-east-1"] and
          len(cells) == 3 * len(vf.REGIONS) + 1,
          "an [account] section for the management account narrows it to its regions, still green",
          "rc=%d %s %s" % (rc, doc and json.dumps(doc["findings"])[:600], err[-400:]))

    # plan lists them as accounts (implicit) in plan.json
    out = os.path.join(tmp, "plan")
    vf.org_config(w, cfg, accounts=members)
    p = subprocess.run([TK, "plan", cfg, "-o", out], capture_output=True, text=True)
    plan = json.load(open(os.path.join(out, "plan.json"))) if p.returncode == 0 else {}
    implicit = sorted(a["id"] for a in plan.get("accounts", []) if a.get("implicit"))
    check(p.returncode == 0 and implicit == sorted([mg, la]) and "4 accounts" in p.stdout,
          "plan: 4 accounts, the management and log-archive accounts marked implicit in plan.json",
          "rc=%d %s %s %s" % (p.returncode, implicit, p.stdout, p.stderr))


if __name__ == "__main__":
    sys.exit(main())
