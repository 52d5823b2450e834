#!/usr/bin/python3
"""`trailkeep verify --shard K/N` and `--merge` in per-account mode.

The world of verify_peraccount.py (one trail per account made by `trailkeep
apply --yes`, 3 simulated hours), one member's trail stopped: its
trail_not_logging lands on every cell of that account, so shards that split
the account's cells must each report it on their own cells.  The shards'
findings and cells together, and --merge of their documents, must equal the
unsharded run.
Prints PASS:/FAIL: lines; exit 1 on any failure.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, TOP)
sys.path.insert(0, HERE)

from tests.fakeaws.control import FakeAWS  # noqa: E402
from tests.fakeaws.testing import Checks  # noqa: E402
import validate_fakeaws as vf  # noqa: E402
import verify_peraccount as vp  # noqa: E402

TK = vp.TK
check = Checks(limit=3000)

fkey = vf.finding_key
ckey = vf.cell_key


def main():
    t0 = time.time()
    fa = FakeAWS(seed=31, start=vp.START, stderr=subprocess.DEVNULL)
    tmp = tempfile.mkdtemp(prefix="tk-shard-pa-")
    try:
        run(fa, tmp)
    finally:
        fa.stop()
        subprocess.run(["rm", "-rf", tmp])
    print("# verify_shard_peraccount: %.1f s" % (time.time() - t0))
    return 1 if check.failures else 0


def run(fa, tmp):
    seed = fa.post("seed_org", members=2)
    accts = {a["id"]: a for a in seed["accounts"]}
    fa.post("set_secure_transport", secure=True)
    fa.post("set_regions", regions=vp.REGIONS)
    fa.post("create_role", account=vp.LOGA, name="SecurityAudit", trust_policy={
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % vp.LOGA},
            "Action": "sts:AssumeRole"}]})
    cfg = os.path.join(tmp, "per-account.ini")
    with open(cfg, "w") as f:
        f.write(vp.ini())
    real_now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    p = subprocess.run([TK, "apply", cfg, "--yes"], env=vp.tk_env(fa, accts[vp.MGMT], real_now),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    if not check(p.returncode == 0, "apply --yes creates the per-account trails",
                 p.stdout[-1500:] + p.stderr[-1500:]):
        return
    fa.post("advance", seconds=3 * 3600)
    now = "2026-01-01T03:00:00Z"
    r = vp.aws(fa, accts[vp.M1], "cloudtrail", "stop-logging", "--name", vp.TRAIL)
    check(r.returncode == 0, "aws cloudtrail stop-logging as %s" % vp.M1, r.stderr)

    rc, whole, _, err = vp.verify(fa, accts, cfg, "--since", "3h", now=now)
    nl = sorted((f["account"], f["region"]) for f in (whole or {}).get("findings", [])
                if f["code"] == "trail_not_logging")
    check(rc == 1 and nl == sorted((vp.M1, r) for r in vp.REGIONS),
          "unsharded: trail_not_logging on every cell of the stopped account", err[-500:])
    if not whole:
        return
    n = 3
    docs, files = [], []
    for k in range(1, n + 1):
        rc, d, out, err = vp.verify(fa, accts, cfg, "--since", "3h", "--shard", "%d/%d" % (k, n),
                                    now=now)
        check(d is not None and d.get("shard") == {"index": k, "count": n},
              "shard %d/%d: a --json document" % (k, n), err[-500:])
        if d is None:
            return
        docs.append(d)
        path = os.path.join(tmp, "s%d.json" % k)
        with open(path, "w") as f:
            f.write(out)
        files.append(path)
    cells = sorted((c["account"], c["region"]) for c in whole["cells"])
    split = [[c for i, c in enumerate(cells) if i % n == k] for k in range(n)]
    owners = [k for k in range(n) if any(a == vp.M1 for a, _ in split[k])]
    check(len(owners) > 1, "the stopped account's cells are split over %d shards" % len(owners))
    for k, d in enumerate(docs):
        mine = sorted((f["account"], f["region"]) for f in d["findings"]
                      if f["code"] == "trail_not_logging")
        check(mine == sorted(c for c in split[k] if c[0] == vp.M1),
              "shard %d reports trail_not_logging on its own cells of the stopped account only"
              % (k + 1), mine)
    check(sorted(fkey(f) for d in docs for f in d["findings"]) ==
          sorted(fkey(f) for f in whole["findings"]) and
          sorted(ckey(c) for d in docs for c in d["cells"]) ==
          sorted(ckey(c) for c in whole["cells"]),
          "the shards' findings and cells together are the unsharded run's")
    fa.post("set_auth_clock", time=now)
    try:
        p = subprocess.run([TK, "verify", cfg, "--merge", "--json"] + files,
                           env=vp.tk_env(fa, accts[vp.MGMT], now), capture_output=True,
                           text=True, timeout=300)
    finally:
        fa.post("set_auth_clock", time=None)
    try:
        merged = json.loads(p.stdout)
    except ValueError:
        merged = None
    check(p.returncode == 1 and merged == whole,
          "--merge --json of the shards is the unsharded document", p.stderr[-500:])


if __name__ == "__main__":
    sys.exit(main())
