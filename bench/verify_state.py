#!/usr/bin/python3
"""bench/verify_state.py: an hourly `trailkeep verify --state FILE` run vs the
same check without the state file, on the fake AWS.

Data: an organization trail, ACCOUNTS accounts x 3 regions x HOURS hours of
delivery, 20 ms added latency per request.  Then:
  1. verify --start START --state FILE: the whole window, FILE written
     (what the first run of a scheduled job does);
  2. one more hour is delivered;
  3. verify --start START (no state): the whole window again (what a job
     without state does every hour);
  4. verify --state FILE: only what is new since each cell's anchor digest.
Prints the times, the S3 GetObject calls of 3 and 4 and the ratio 3 / 4;
checks that both runs are clean (exit 0, no findings).
Environment: BENCH_ACCOUNTS (default 10), BENCH_HOURS (24), BENCH_LATENCY_MS (20).
"""
import json
import os
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
START = "2026-01-01T00:00:00Z"


def at(hours):
    return "2026-01-%02dT%02d:00:00Z" % (1 + hours // 24, hours % 24)


def timed(fa, w, now, args):
    """(seconds, exit, findings, GetObject calls) of one verify run"""
    mark = fa.post("stats")["next"]
    t0 = time.time()
    p = vf.run_verify(fa, w, now, args + ["--json"])
    secs = time.time() - t0
    st = fa.post("stats", since=mark)
    doc = vf.json_of(p)
    nf = len(doc["findings"]) if doc else -1
    if nf:
        sys.stderr.write(p.stderr[-500:] + (json.dumps(doc["findings"][:3]) if doc else "") + "\n")
    return secs, p.returncode, nf, st["per_op"].get("s3:GetObject", 0)


def main():
    print("data: %d accounts x %d regions x %d h, %d ms latency per request"
          % (ACCOUNTS, len(vf.REGIONS), HOURS, LATENCY))
    fa = FakeAWS(seed=4, stderr=subprocess.DEVNULL)
    tmp = tempfile.mkdtemp(prefix="tk-bench-state-")
    ok = True
    try:
        t0 = time.time()
        w = vf.build_world(fa, members=max(ACCOUNTS - 2, 1), hours=HOURS, kms=True)
        print("world built in %.1f s" % (time.time() - t0))
        cfg = os.path.join(tmp, "org.ini")
        vf.org_config(w, cfg)
        state = os.path.join(tmp, "verify.state")
        fa.post("set_faults", latency_ms=LATENCY)

        s1, rc1, f1, g1 = timed(fa, w, at(HOURS), [cfg, "--start", START, "--state", state])
        print("1. first run, %d h, writes the state: %.2f s, exit %d, %d findings, %d GetObject"
              % (HOURS, s1, rc1, f1, g1))
        fa.post("set_faults")
        fa.post("advance", seconds=3600)
        fa.post("set_faults", latency_ms=LATENCY)
        now = at(HOURS + 1)
        s3, rc3, f3, g3 = timed(fa, w, now, [cfg, "--start", START])
        print("3. one hour later, whole window again (no state): %.2f s, exit %d, %d findings, %d GetObject"
              % (s3, rc3, f3, g3))
        s4, rc4, f4, g4 = timed(fa, w, now, [cfg, "--state", state])
        print("4. one hour later, --state (only what is new): %.2f s, exit %d, %d findings, %d GetObject"
              % (s4, rc4, f4, g4))
        ok = rc1 == rc3 == rc4 == 0 and f1 == f3 == f4 == 0
        print("ratio: the incremental run is %.1fx faster (%.1fx fewer GetObject calls); both clean: %s"
              % (s3 / s4 if s4 else 0, g3 / g4 if g4 else 0, "yes" if ok else "NO"))
    finally:
        fa.stop()
        subprocess.run(["rm", "-rf", tmp])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
