#!/usr/bin/python3
"""An organization with more than 10,000 service principals that have trusted
access (issue 14, "silent loss"): trailkeep reads every page of
ListAWSServiceAccessForOrganization and keeps every principal, however many.

An organization is built with `trailkeep apply` in a fake AWS started with
--state; the fake is stopped, 10,050 extra principals that sort before
cloudtrail.amazonaws.com are added to its saved world, and it is started again.
Expected (README "verify": org_trusted_access_disabled only when CloudTrail's
trusted access is off; "apply": a converged organization makes no change):

  verify --json --no-integrity   exit 0, no finding (cloudtrail.amazonaws.com
                                 is the 10,051st principal: it must be seen)
  apply --dry-run                exit 0, nothing to enable

(Before the fix the list stopped at 10,000 entries without a word, so verify
reported org_trusted_access_disabled and apply wanted to enable it.)

Prints PASS:/FAIL: lines; exits non-zero on any failure."""

import json
import os
import pickle
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, TOP)

from tests.fakeaws.control import FakeAWS  # noqa: E402
from tests.fakeaws.testing import Checks, run_trailkeep, trailkeep_env, trailkeep_path  # noqa: E402

TK = trailkeep_path(TOP)
START = "2026-01-01T00:00:00Z"
MGMT = "111111111111"
EXTRA = 10050

check = Checks(lines=40)

ORG_INI = """[organization]
id = {org_id}
management_account = 111111111111
log_archive_account = 222222222222
home_region = us-east-1
regions = us-east-1

[central]
bucket = orgp-cloudtrail-logs
kms_alias = alias/orgp-cloudtrail
max_delivery_age = 1h

[trail]
name = org-trail
mode = organization

[account management]
id = 111111111111

[account log-archive]
id = 222222222222
"""


def run(fa, mgmt, config, args, sim=True):
    if not sim:
        return run_trailkeep(TK, args[:1] + [config] + args[1:], trailkeep_env(fa, mgmt, TOP))
    fa.post("set_auth_clock", time="sim")
    try:
        now = fa.post("stats", since=10 ** 9)["now"]
        return run_trailkeep(TK, args[:1] + [config] + args[1:], trailkeep_env(fa, mgmt, TOP, now=now))
    finally:
        fa.post("set_auth_clock", time=None)


def verify(fa, mgmt, config):
    rc, out, err = run(fa, mgmt, config, ["verify", "--json", "--no-integrity"])
    try:
        doc = json.loads(out)
    except ValueError:
        doc = None
    return rc, doc, out + err


def main():
    tmp = tempfile.mkdtemp(prefix="tk-orgp-")
    state = os.path.join(tmp, "state")
    config = os.path.join(tmp, "org.ini")
    try:
        fa = FakeAWS(seed=1, start=START, state=state)
        try:
            seed = fa.post("seed_org", members=0)
            fa.post("set_secure_transport", secure=True)
            mgmt = [a for a in seed["accounts"] if a["id"] == MGMT][0]
            with open(config, "w") as f:
                f.write(ORG_INI.format(org_id=seed["org_id"]))
            rc, out, err = run(fa, mgmt, config, ["apply", "--yes"], sim=False)
            if not check(rc == 0, "apply builds the organization (exit 0)", out + err):
                return
            fa.post("advance", seconds=2 * 3600)
            rc, doc, out = verify(fa, mgmt, config)
            if not check(rc == 0 and doc is not None and doc["findings"] == [],
                         "baseline: verify exit 0, no findings", out):
                return
        finally:
            fa.stop()   # saves the world to state/

        path = os.path.join(state, "world.pickle")
        with open(path, "rb") as f:
            world = pickle.load(f)
        ts = world.org.trusted_services
        check("cloudtrail.amazonaws.com" in ts, "the saved world has CloudTrail's trusted access", repr(ts))
        for i in range(EXTRA):
            ts.add("aaa-%05d.amazonaws.com" % i)   # sorts before cloudtrail.amazonaws.com
        with open(path, "wb") as f:
            pickle.dump(world, f, protocol=pickle.HIGHEST_PROTOCOL)

        fa = FakeAWS(seed=1, state=state)
        try:
            rc, doc, out = verify(fa, mgmt, config)
            codes = sorted(x["code"] for x in (doc or {}).get("findings", []))
            check(rc == 0 and doc is not None and codes == [],
                  "%d principals with trusted access: verify still sees cloudtrail.amazonaws.com "
                  "(exit 0, no org_trusted_access_disabled)" % len(ts), out)
            rc, out, err = run(fa, mgmt, config, ["apply", "--dry-run"], sim=False)
            check(rc == 0, "apply --dry-run: nothing to change (exit 0; 4 would mean it wants to enable "
                  "trusted access again)", out + err)
        finally:
            fa.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
    print("%d failure(s)" % check.failures)
    sys.exit(1 if check.failures else 0)
