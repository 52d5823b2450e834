#!/usr/bin/python3
"""bench/replay_doctor.py: doctor on a large organization with a few broken
accounts vs `verify --no-integrity` on the replay server (issue 17,
benchmark c).

World (bench/gen_world.py --broken BROKEN): ACCOUNTS x REGIONS (default
1000 x 17) x HOURS (3) in organization mode; the last BROKEN (10) member
accounts left the organization during the window (delivery stopped,
ListAccounts no longer lists them).  20 ms added latency per request.
Measured: verify --no-integrity (the reference), then doctor: wall time,
requests, CPU, peak RSS.  Checks: verify is red exactly for the broken
accounts and doctor names account_left_org for each of them.
Target (issue 17): doctor within 2x verify --no-integrity.
Environment: ACCOUNTS, REGIONS, HOURS, BROKEN, LATENCY_MS.  `make bench`
(BENCH_SMALL=1): 200 accounts.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_world  # noqa: E402
import replaylib as rl  # noqa: E402

ACCOUNTS = rl.knob("ACCOUNTS", 1000, 200)
REGIONS = rl.knob("REGIONS", 17)
HOURS = rl.knob("HOURS", 3)
BROKEN = rl.knob("BROKEN", 10)
LATENCY = rl.knob("LATENCY_MS", 20)


def main():
    print(rl.machine())
    wdir, info = rl.world("doctor-%dx%dx%d-broken%d" % (ACCOUNTS, REGIONS, HOURS, BROKEN),
                          "--accounts", str(ACCOUNTS), "--regions", str(REGIONS), "--hours", str(HOURS),
                          "--broken", str(BROKEN))
    broken = set(info["broken"])
    # (idempotent) the broken accounts are not in ListAccounts
    gen_world.write_list_accounts(wdir, [a for a in info["accounts"] if a not in broken])
    cfg = os.path.join(wdir, "org.ini")
    print("settings: %d accounts x %d regions (%d cells), organization mode, %d accounts broken "
          "(left the organization), %g ms added latency per request, replay server 2 threads"
          % (ACCOUNTS, REGIONS, ACCOUNTS * REGIONS, BROKEN, LATENCY))
    ok = True
    with rl.Server(wdir, LATENCY) as srv:
        e = rl.env(srv, info["end"])
        v = rl.Run([rl.TK, "verify", cfg, "--no-integrity", "--json"], e, srv)
        vdoc = v.json()
        red = {f.get("account") for f in vdoc["findings"]} if vdoc else None
        vok = v.rc == 1 and red == broken
        print(v.line("verify --no-integrity") + ("" if vok else "\n    UNEXPECTED: red accounts %s"
                                                   % (sorted(red)[:12] if red else (v.err or v.out)[-300:])))
        d = rl.Run([rl.TK, "doctor", cfg, "--json"], e, srv)
        ddoc = d.json()
        named = set()
        if ddoc:
            for x in ddoc.get("cells", ddoc.get("diagnoses", [])):
                causes = x.get("causes") or ([x["cause"]] if x.get("cause") else [])
                for c in causes:
                    code = c.get("code") if isinstance(c, dict) else c
                    if code == "account_left_org":
                        named.add(x.get("account"))
        dok = ddoc is not None and named == broken
        print(d.line("doctor") + ("" if dok else "\n    UNEXPECTED: account_left_org named for %s; %s"
                                  % (sorted(named)[:12], (d.err or d.out)[-600:])))
        ok = vok and dok
        print("ratio: doctor takes %.2fx verify --no-integrity (target <= 2x): %s; %.1fx the requests"
              % (d.wall / v.wall, "met" if d.wall <= 2 * v.wall else "NOT met",
                 d.requests / float(v.requests or 1)))
        if srv.unknown():
            print("replay server: unanswered calls:\n" + srv.errors()[-1500:])
    return 0 if ok else 1


if __name__ == "__main__":
    t0 = time.time()
    rc = main()
    print("(%.0f s)" % (time.time() - t0))
    sys.exit(rc)
