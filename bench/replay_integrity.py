#!/usr/bin/python3
"""bench/replay_integrity.py: digest-chain integrity of an organization on
the replay server (issue 17, benchmark a).

World (bench/gen_world.py): ACCOUNTS x REGIONS x HOURS (default 10 x 3 x 24),
20 ms added latency per request (LATENCY_MS).  Measured:
  1. trailkeep verify --start T0 --jobs N (integrity on, whole window) for
     N = 16, 64, 256: wall time, requests, CPU, peak RSS, and the ratio to
     the latency floor = requests / N x RTT;
  2. trailkeep validate, every cell in one run;
  3. awscli's own `aws cloudtrail validate-logs` (tests/fakeaws/validate_ref.py:
     Debian's awscli with its S3 clients pointed at the endpoint) once per
     cell, one after another (REF_CELLS cells, default all; with fewer, the
     sequential time is extrapolated from their mean, and says so);
  4. correctness: the same world with one tamper kind per member account
     (--tamper): trailkeep validate must report exactly the findings the
     generator expects (world.json "expect"), and the clean world none.
Targets (issue 17): >= 100x validate-logs per cell at 256 in flight, within
1.2x of the floor at 64 and 256.  Exit 1 when a finding is wrong (a missed
target is printed, not an error: the README records it).
Environment: ACCOUNTS, REGIONS, HOURS, LATENCY_MS, REF_CELLS, JOBS (list),
BENCH_PERF=1 (a perf profile of the no-latency run).  `make bench`
(BENCH_SMALL=1): REF_CELLS=3.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import replaylib as rl  # noqa: E402

ACCOUNTS = rl.knob("ACCOUNTS", 10)
REGIONS = rl.knob("REGIONS", 3)
HOURS = rl.knob("HOURS", 24)
LATENCY = rl.knob("LATENCY_MS", 20)
REF_CELLS = rl.knob("REF_CELLS", 0, 3)
JOBS = [int(j) for j in os.environ.get("JOBS", "16 64 256").split()]


def validate_args(info, *extra):
    a = [rl.TK, "validate", "--bucket", info["bucket"], "--org-id", info["org_id"], "--trail",
         info["trail"], "--home-region", "us-east-1", "--start", info["start"], "--end", info["end"],
         "--json"] + list(extra)
    for acct in info["accounts"]:
        a += ["--account", acct]
    for r in info["regions"]:
        a += ["--region", r]
    return a


def flagged(doc):
    return sorted((f["code"], f["key"]) for f in doc["findings"]) if doc else None


def main():
    print(rl.machine())
    shape = ["--accounts", str(ACCOUNTS), "--regions", str(REGIONS), "--hours", str(HOURS)]
    wdir, info = rl.world("integrity-%dx%dx%d" % (ACCOUNTS, REGIONS, HOURS), *shape)
    tdir, tinfo = rl.world("integrity-%dx%dx%d-tampered" % (ACCOUNTS, REGIONS, HOURS), *(shape + ["--tamper"]))
    cfg = os.path.join(wdir, "org.ini")
    ok = True
    print("settings: %d accounts x %d regions x %d h (%d objects), %g ms added latency per request, "
          "replay server 2 threads" % (ACCOUNTS, REGIONS, HOURS, info["objects"], LATENCY))
    rtt = LATENCY / 1000.0
    results = {}
    with rl.Server(wdir, LATENCY) as srv:
        e = rl.env(srv, info["end"])
        for n in JOBS:
            r = rl.Run([rl.TK, "verify", cfg, "--start", info["start"], "--jobs", str(n), "--json"], e, srv,
                       sample=True)
            doc = r.json()
            clean = r.rc == 0 and doc is not None and not doc["findings"]
            ok = ok and clean
            floor = r.requests / float(n) * rtt
            results[n] = r
            print(r.line("verify --jobs %d (integrity, %d h)" % (n, HOURS)) +
                  "\n    " + r.profile(n) + "\n    floor %.2f s (requests / %d x %g ms): %.2fx the floor (target <= 1.2x at 64 and 256)%s"
                  % (floor, n, LATENCY, r.wall / floor if floor else 0, "" if clean else
                     "  NOT CLEAN: " + (r.err[-300:] or r.out[-300:])) +
                  "\n    CPU: trailkeep %.2f s + replay server %.2f s; %d cores give %.2f s in 1.2x the floor"
                  % (r.cpu, r.srv_cpu, os.cpu_count() or 1, (os.cpu_count() or 1) * 1.2 * floor))
        v = rl.Run(validate_args(info), e, srv)
        vdoc = v.json()
        ok = ok and v.rc == 0 and vdoc is not None and not vdoc["findings"]
        print(v.line("validate (every cell, one run)"))
        # awscli validate-logs, one cell after another
        cells = [(a, r) for a in info["accounts"] for r in info["regions"]]
        # a sample takes every region in turn (cells are account-major: every
        # k-th cell alone would sample one region, the busy home region)
        sample = cells if not REF_CELLS or REF_CELLS >= len(cells) else \
            [cells[min(i * len(cells) // REF_CELLS + i % len(info["regions"]), len(cells) - 1)]
             for i in range(REF_CELLS)]
        t_ref, bad = 0.0, 0
        for acct, region in sample:
            re = dict(e)
            re["AWS_DEFAULT_REGION"] = region
            del re["AWS_ENDPOINT_URL"]
            r = rl.Run([rl.PY, "-m", "tests.fakeaws.validate_ref", "--endpoint", srv.url,
                        "--trail-arn", info["trail_arn"], "--start", info["start"], "--end", info["end"],
                        "--account-id", acct, "--region", region], re)
            t_ref += r.wall
            if r.rc != 0 or "INVALID" in r.out + r.err:
                bad += 1
        seq = t_ref * len(cells) / len(sample)
        print("awscli validate-logs, %d cells one after another: %.1f s%s (%.2f s per cell)%s"
              % (len(cells), seq, "" if len(sample) == len(cells) else
                 " (extrapolated from %d sampled cells)" % len(sample), t_ref / len(sample),
                 "" if not bad else ", %d cells NOT valid" % bad))
        ok = ok and not bad
        good = [n for n in results if results[n].rc == 0]
        if good:
            n = 256 if 256 in good else max(good)
            print("ratio: trailkeep verify --jobs %d is %.0fx faster than awscli per cell (target >= 100x); "
                  "validate %.0fx" % (n, seq / results[n].wall, seq / v.wall))
        if srv.unknown():
            print("replay server: unanswered calls:\n" + srv.errors()[-1500:])
    # where the time goes: the same run with no added latency (what is left is
    # trailkeep's CPU and this machine), and optionally a perf profile
    n = max(JOBS)
    with rl.Server(wdir, 0) as srv:
        e = rl.env(srv, info["end"])
        args = [rl.TK, "verify", cfg, "--start", info["start"], "--jobs", str(n), "--json"]
        z = rl.Run(args, e, srv)
        print(z.line("verify --jobs %d, no added latency" % n) +
              "\n    %.0f us CPU per request; at %d in flight x %g ms the floor needs <= %.0f us per request"
              % (1e6 * z.cpu / max(z.requests, 1), n, LATENCY, 1e6 * rtt / n))
        if os.environ.get("BENCH_PERF") == "1" and os.path.exists("/usr/bin/perf"):
            import subprocess
            import tempfile
            pd = tempfile.mktemp(prefix="tk-perf-")
            subprocess.run(["perf", "record", "-q", "--call-graph", "dwarf,16384", "-F", "400", "-o", pd, "--"]
                           + args, env=e, capture_output=True)
            rep = subprocess.run(["perf", "report", "-i", pd, "--children", "--stdio", "-g", "none",
                                  "--percent-limit", "3"], capture_output=True, text=True).stdout
            # the split between the event loop (the main thread, "trailkeep")
            # and the hash workers ("tk-hash"): the loop's share is what
            # limits requests per second
            byth = subprocess.run(["perf", "report", "-i", pd, "--no-children", "--stdio", "-g", "none",
                                   "--sort", "comm"], capture_output=True, text=True).stdout
            os.unlink(pd)
            share = {}
            for line in byth.splitlines():
                f = line.split()
                if len(f) == 2 and f[0].endswith("%"):
                    share[f[1]] = float(f[0][:-1]) / 100
            tot = sum(share.values()) or 1.0
            loop = share.get("trailkeep", 0.0) / tot
            print("    perf by thread: event loop %.0f%%, hash workers %.0f%% of the CPU samples: the loop "
                  "spends about %.0f us per request (of %.0f us in all)"
                  % (100 * loop, 100 * share.get("tk-hash", 0.0) / tot, 1e6 * z.cpu * loop / max(z.requests, 1),
                     1e6 * z.cpu / max(z.requests, 1)))
            keep = ("on_write", "loghash", "hashpool", "xcalloc", "memset", "inflate", "SHA256", "page_fault",
                    "malloc", "sigv4", "xml", "json", "digest", "curl_multi_perform", "writev", "send", "recv",
                    "epoll", "poll")
            print("    perf (children, share of trailkeep's CPU samples):")
            for line in rep.splitlines():
                f = line.split()
                if len(f) >= 6 and f[0].endswith("%") and any(k in f[-1] for k in keep):
                    print("      %7s  %s" % (f[0], f[-1]))
    # correctness on the tampered world
    with rl.Server(tdir, 0) as srv:
        r = rl.Run(validate_args(tinfo), rl.env(srv, tinfo["end"]), srv)
        got = flagged(r.json())
        want = sorted(tuple(x) for x in tinfo["expect"])
        right = r.rc == 1 and got == want
        ok = ok and right
        print("tampered world (9 tamper kinds, one per member account): validate found %s findings, "
              "expected %d: %s" % (len(got) if got is not None else "no", len(want),
                                   "exactly right" if right else "WRONG"))
        if not right and got is not None:
            print("  missing: %s\n  extra: %s" % (sorted(set(want) - set(got))[:10],
                                                 sorted(set(got) - set(want))[:10]))
    return 0 if ok else 1


if __name__ == "__main__":
    t0 = time.time()
    rc = main()
    print("(%.0f s)" % (time.time() - t0))
    sys.exit(rc)
