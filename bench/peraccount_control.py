#!/usr/bin/python3
"""bench/peraccount_control.py: the control plane of a per-account-mode
organization (issues 14 and 17): every account's own trail, read in its own
account after AssumeRole, by `verify --no-integrity` and by `doctor`.

World: the fake AWS (tests/fakeaws) with ACCOUNTS accounts x 2 regions in
per-account mode, made by `trailkeep apply --yes`, 2 simulated hours
delivered, then LATENCY_MS added to every call.  The fake is not the limit
here (a few hundred calls; its ceiling is about 2,000 calls/s, README
"Performance"): the run is bound by round trips.
Measured, each with its calls (the fake's stats), wall time, and the ratio
to the reference "the same calls one after another" (calls x latency):
  1. verify --no-integrity (exit 0, no findings expected; with [monitoring]
     only the notify_unconfirmed warning: nobody subscribed),
  2. doctor (exit 0, nothing to explain expected),
and the most calls of one operation in flight at once (max_in_flight).
Exit 1 when a verdict is wrong.  Environment: ACCOUNTS (default 100, 40
under `make bench`), LATENCY_MS (default 50), MONITORING=1 (a [monitoring]
section: its reads of each account's log group, topic and alarms, one after
another within an account, several accounts at once), TRAILKEEP_BIN.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP") or os.path.dirname(HERE)
sys.path.insert(0, TOP)
sys.path.insert(0, HERE)

import replaylib as rl  # noqa: E402
from tests.fakeaws.control import FakeAWS  # noqa: E402
from tests.fakeaws.testing import run_as  # noqa: E402

ACCOUNTS = rl.knob("ACCOUNTS", 100, 40)
LATENCY = rl.knob("LATENCY_MS", 50)
MONITORING = rl.knob("MONITORING", 0)
TK = os.environ.get("TRAILKEEP_BIN") or rl.TK


def config(mgmt, loga, ids):
    s = """[organization]
management_account = %s
log_archive_account = %s
home_region = us-east-1
regions = us-east-1, eu-west-1
assume_role = OrganizationAccountAccessRole

[central]
bucket = bench-pa-logs
kms_alias = alias/bench-pa-logs
max_delivery_age = 1h

[trail]
name = bench-pa-trail
mode = per-account
""" % (mgmt, loga)
    if MONITORING:
        s += "\n[monitoring]\nalarms = tampering\n"
    for i, a in enumerate(ids):
        s += "\n[account a%d]\nid = %s\n" % (i, a)
    return s


def main():
    print(rl.machine())
    print("settings: %d accounts x 2 regions, per-account mode%s, %d ms added per call, the fake AWS"
          % (ACCOUNTS, " with [monitoring]" if MONITORING else "", LATENCY))
    ok = True
    fa = FakeAWS(seed=17, start="2026-01-01T00:00:00Z", stderr=subprocess.DEVNULL)
    tmp = tempfile.mkdtemp(prefix="tk-bench-pa-")
    try:
        seed = fa.post("seed_org", members=ACCOUNTS - 2)
        accts = {a["id"]: a for a in seed["accounts"]}
        mgmt = seed["management"]["id"] if isinstance(seed["management"], dict) else seed["management"]
        loga = seed["log_archive"]["id"] if isinstance(seed["log_archive"], dict) else seed["log_archive"]
        fa.post("set_regions", regions=["us-east-1", "eu-west-1"])
        cfg = os.path.join(tmp, "per-account.ini")
        with open(cfg, "w") as f:
            f.write(config(mgmt, loga, sorted(accts)))
        p = run_as(TK, fa, accts[mgmt], ["apply", cfg, "--yes"], TOP)
        if p.returncode:
            print("apply --yes failed: %s" % p.stderr[-800:])
            return 1
        fa.post("advance", seconds=2 * 3600)
        now = fa.post("advance", seconds=0)["now"]
        fa.post("set_faults", latency_ms=LATENCY)
        for name, args in (("verify --no-integrity", ["verify", cfg, "--json", "--since", "2h", "--no-integrity"]),
                           ("doctor", ["doctor", cfg, "--json"])):
            since = fa.post("stats")["next"]
            t0 = time.time()
            p = run_as(TK, fa, accts[mgmt], args, TOP, now)
            wall = time.time() - t0
            st = fa.post("stats", since=since)
            try:
                doc = json.loads(p.stdout)
            except ValueError:
                doc = None
            # exit 0: nothing wrong (with [monitoring], nobody subscribed to
            # the alarm topic is a warning: notify_unconfirmed, exit 0)
            right = p.returncode == 0 and doc is not None and all(
                f.get("code") == "notify_unconfirmed" for f in doc.get("findings", []))
            ok = ok and right
            seq = st["calls"] * LATENCY / 1000.0
            mif = st.get("max_in_flight", {})
            print("%-22s %7.2f s wall  %5d calls  one after another %7.1f s: %5.1fx faster  exit %d%s"
                  % (name, wall, st["calls"], seq, seq / wall if wall else 0, p.returncode,
                     "" if right else "  WRONG: " + p.stderr[-300:]))
            print("    most in flight at once: " + ", ".join(
                "%s %d" % (k, v) for k, v in sorted(mif.items()) if k.startswith(("sts:", "cloudtrail:"))))
    finally:
        fa.stop()
        subprocess.run(["rm", "-rf", tmp])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
