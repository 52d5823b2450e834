#!/usr/bin/python3
"""bench/validate_local.py: offline throughput of `trailkeep validate --local`
against the inflate + SHA-256 floor, `zcat FILE | sha256sum` over the same
files on every core, with log files of realistic size (the fake AWS writes
tiny ones).  A signed digest chain (tests/fixtures/integrity/make.py, its
fixed keys) lists HOURS x 2 log files of about SIZE_MB MiB uncompressed each
(ratio about 10x, like CloudTrail's).  Also prints trailkeep's peak RSS,
which must stay far below 64 MiB whatever the object size.
Environment: BENCH_LOCAL_MB (default 64), BENCH_LOCAL_HOURS (5).
"""
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TK = os.path.join(TOP, "trailkeep")
SIZE_MB = int(os.environ.get("BENCH_LOCAL_MB", "64"))

spec = importlib.util.spec_from_file_location(
    "mk", os.path.join(TOP, "tests", "fixtures", "integrity", "make.py"))
mk = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mk)
mk.HOURS = int(os.environ.get("BENCH_LOCAL_HOURS", "5"))

_cache = {}


def big_body(h, m):
    """about SIZE_MB MiB of CloudTrail-like records (compresses ~10x)"""
    rnd = random.Random(h * 100 + m)
    recs = []
    size = 0
    while size < SIZE_MB << 20:
        r = {"eventVersion": "1.08", "eventTime": mk.iso(h, m), "eventSource": "s3.amazonaws.com",
             "eventName": rnd.choice(["GetObject", "PutObject", "ListBuckets", "AssumeRole"]),
             "awsRegion": mk.REGION, "sourceIPAddress": "198.51.100.%d" % rnd.randrange(256),
             "userIdentity": {"type": "AssumedRole", "accountId": mk.ACCT,
                              "principalId": "AROA%016X" % rnd.getrandbits(64)},
             "requestParameters": {"bucketName": "b%d" % rnd.randrange(50),
                                   "key": "%032x" % rnd.getrandbits(128)},
             "eventID": "%032x" % rnd.getrandbits(128), "eventType": "AwsApiCall",
             "readOnly": True, "recipientAccountId": mk.ACCT}
        recs.append(r)
        size += 420
    return json.dumps({"Records": recs}, separators=(",", ":")).encode()


def main():
    mk.log_body = big_body
    tmp = tempfile.mkdtemp(prefix="tk-bench-local-")
    try:
        t0 = time.time()
        mk.HERE = tmp      # World.write puts the scenario under HERE
        w = mk.World()
        w.write("copy", [])
        dst = os.path.join(tmp, "copy")
        print("data: %d log files of ~%d MiB uncompressed, written in %.1f s"
              % (2 * mk.HOURS, SIZE_MB, time.time() - t0))
        logs = [os.path.join(r, f) for r, _, fs in os.walk(dst) for f in fs
                if f.endswith(".json.gz") and "/CloudTrail/" in os.path.join(r, f)]
        gz = sum(os.path.getsize(p) for p in logs)
        args = [TK, "validate", "--local", dst, "--bucket", mk.BUCKET, "--prefix", mk.PREFIX,
                "--account", mk.ACCT, "--region", mk.REGION, "--trail", mk.TRAIL,
                "--start", "2024-03-01T00:00:00Z", "--end", "%sT%02d:00:00Z" % (mk.DAY, mk.HOURS),
                "--json"]
        del w
        rssf = os.path.join(tmp, "rss")
        t0 = time.time()
        # /usr/bin/time measures the exec'd program alone (a fork of this
        # Python process would count the Python heap in ru_maxrss)
        p = subprocess.run(["/usr/bin/time", "-o", rssf, "-f", "%M"] + args,
                           capture_output=True,
                           env={"PATH": "/usr/bin:/bin", "TRAILKEEP_NOW": "2024-03-02T00:00:00Z"})
        t_tk = time.time() - t0
        rc, out, err = p.returncode, p.stdout, p.stderr
        rss_kib = int(open(rssf).read().split()[-1])
        clean = rc == 0 and json.loads(out)["findings"] == []
        ncpu = os.cpu_count() or 2
        listf = os.path.join(tmp, "list")
        with open(listf, "w") as f:
            f.write("\n".join(logs) + "\n")
        t0 = time.time()
        subprocess.run("xargs -P %d -n 1 sh -c 'zcat \"$0\" | sha256sum' < %s >/dev/null"
                       % (ncpu, listf), shell=True, check=False)
        t_floor = time.time() - t0
        print("trailkeep validate --local: %.2f s (exit %d, %s), peak RSS %.1f MiB"
              % (t_tk, rc, "clean" if clean else "NOT CLEAN " + err.decode()[-200:],
                 rss_kib / 1024.0))
        print("zcat | sha256sum on %d cores: %.2f s over %d files (%.0f MiB gzip)"
              % (ncpu, t_floor, len(logs), gz / 1048576.0))
        print("ratio: --local reaches %.0f%% of the floor's throughput (goal >= 70%%)"
              % (100.0 * t_floor / t_tk))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
