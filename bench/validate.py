#!/usr/bin/python3
"""bench/validate.py: `trailkeep validate` over a whole org vs the AWS CLI's
own validator (tests/fakeaws/validate_ref.py), on the fake AWS.

Data (issue 6): an organization trail, ACCOUNTS accounts x 3 regions x HOURS
hours of delivery at the fake's default event rate, 20 ms added latency per
request.  Measured:
  1. trailkeep validate, all cells in one run (one HTTP pool, --jobs 64);
  2. validate_ref.py once per cell, one after another (what users do today);
  3. the same 10 at a time;
  4. trailkeep validate --local on a --save copy vs `zcat FILE | sha256sum`
     over the same log files on every core (the inflate + SHA-256 floor);
  5. peak RSS of trailkeep.
Prints times and ratios; checks both sides found nothing wrong.
Environment: BENCH_ACCOUNTS (default 10), BENCH_HOURS (24), BENCH_LATENCY_MS (20).
"""
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import time

TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOP)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

from tests.fakeaws.control import FakeAWS  # noqa: E402
import validate_fakeaws as vf  # noqa: E402

ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "10"))
HOURS = int(os.environ.get("BENCH_HOURS", "24"))
LATENCY = int(os.environ.get("BENCH_LATENCY_MS", "20"))
TK = os.path.join(TOP, "trailkeep")
START = "2026-01-01T00:00:00Z"


def end_time():
    return "2026-01-%02dT%02d:00:00Z" % (1 + HOURS // 24, HOURS % 24)


def run_rss(args, env):
    """run, return (rc, stdout, stderr, seconds, peak RSS KiB of the program
    alone: /usr/bin/time, since a fork of this process counts its heap)"""
    fd, rssf = tempfile.mkstemp(prefix="tk-rss-")
    os.close(fd)
    t0 = time.time()
    p = subprocess.run(["/usr/bin/time", "-o", rssf, "-f", "%M"] + args, env=env,
                       capture_output=True)
    secs = time.time() - t0
    try:
        rss = int(open(rssf).read().split()[-1])
    except (ValueError, IndexError):
        rss = 0
    os.unlink(rssf)
    return p.returncode, p.stdout, p.stderr, secs, rss


def ref_one(fa, w, acct, region, end):
    env = vf.base_env(w["la"], region)
    t0 = time.time()
    r = subprocess.run([vf.PY, "-m", "tests.fakeaws.validate_ref", "--endpoint", fa.url,
                        "--trail-arn", w["arn"], "--start", START, "--end", end,
                        "--account-id", acct, "--region", region],
                       cwd=TOP, env=env, capture_output=True, text=True, timeout=3600)
    return r.returncode, "INVALID" in r.stdout + r.stderr, time.time() - t0


def main():
    end = end_time()
    print("data: %d accounts x %d regions x %d h, %d ms latency per request"
          % (ACCOUNTS, len(vf.REGIONS), HOURS, LATENCY))
    fa = FakeAWS(seed=3, stderr=subprocess.DEVNULL)
    tmp = tempfile.mkdtemp(prefix="tk-bench-validate-")
    try:
        t0 = time.time()
        w = vf.build_world(fa, members=max(ACCOUNTS - 2, 1), hours=HOURS)
        print("world built in %.1f s" % (time.time() - t0))
        accts = w["accounts"]
        cells = [(a, r) for a in accts for r in vf.REGIONS]
        fa.post("set_faults", latency_ms=LATENCY)

        # 1. trailkeep, one run
        args = [TK, "validate", "--bucket", vf.BUCKET, "--org-id", w["oid"], "--trail", "org-trail",
                "--home-region", "us-east-1", "--start", START, "--end", end, "--json"]
        for a in accts:
            args += ["--account", a]
        for r in vf.REGIONS:
            args += ["--region", r]
        env = vf.tk_env(fa, w["la"], end)
        fa.post("set_auth_clock", time=end)
        rc, out, err, t_tk, rss = run_rss(args, env)
        fa.post("set_auth_clock", time=None)
        clean = rc == 0 and b'"findings": []' in out
        print("trailkeep validate, %d cells in one run: %.2f s, peak RSS %.1f MiB, exit %d%s"
              % (len(cells), t_tk, rss / 1024.0, rc, "" if clean else " (NOT CLEAN: %s)" % err[-300:]))

        # 2. reference, sequential
        t0 = time.time()
        seq = [ref_one(fa, w, a, r, end) for a, r in cells]
        t_seq = time.time() - t0
        ref_clean = all(rc == 0 and not bad for rc, bad, _ in seq)
        print("awscli validate-logs x %d, sequential: %.2f s (%s)"
              % (len(cells), t_seq, "all valid" if ref_clean else "SOME INVALID"))

        # 3. reference, 10 at a time
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(10) as ex:
            par = list(ex.map(lambda c: ref_one(fa, w, c[0], c[1], end), cells))
        t_par = time.time() - t0
        print("awscli validate-logs x %d, 10 at a time: %.2f s" % (len(cells), t_par))
        print("ratio: trailkeep is %.1fx faster than sequential awscli (goal >= 20x), "
              "%.1fx faster than 10 parallel (goal >= 3x); same findings: %s"
              % (t_seq / t_tk, t_par / t_tk, "yes" if clean and ref_clean else "NO"))

        # 4. offline: --local vs zcat | sha256sum
        fa.post("set_faults")
        save = os.path.join(tmp, "copy")
        fa.post("set_auth_clock", time=end)
        rc, _, err, _, _ = run_rss(args + ["--save", save], env)
        fa.post("set_auth_clock", time=None)
        largs = [a for a in args] + ["--local", save]
        rc2, out2, err2, t_local, rss2 = run_rss(largs, {"PATH": "/usr/bin:/bin",
                                                         "TRAILKEEP_NOW": end})
        logs = []
        for root, _, files in os.walk(save):
            for f in files:
                if "/CloudTrail/" in os.path.join(root, f) + "/" and f.endswith(".json.gz") \
                        and "CloudTrail-Digest" not in root:
                    logs.append(os.path.join(root, f))
        size = sum(os.path.getsize(p) for p in logs)
        listf = os.path.join(tmp, "logs.txt")
        with open(listf, "w") as f:
            f.write("\n".join(logs) + "\n")
        ncpu = os.cpu_count() or 2
        t0 = time.time()
        subprocess.run("xargs -P %d -n 64 sh -c 'for f; do zcat \"$f\" | sha256sum; done' sh < %s "
                       ">/dev/null" % (ncpu, listf), shell=True, check=False)
        t_zcat = time.time() - t0
        print("offline: --local %.2f s (exit %d, peak RSS %.1f MiB) vs zcat|sha256sum on %d cores "
              "%.2f s over %d log files (%.1f MiB gzip): %.0f%% of the floor's throughput (goal >= 70%%)"
              % (t_local, rc2, rss2 / 1024.0, ncpu, t_zcat, len(logs), size / 1048576.0,
                 100.0 * t_zcat / t_local if t_local else 0))
    finally:
        fa.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
