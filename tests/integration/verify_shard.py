#!/usr/bin/python3
"""`trailkeep verify --shard K/N` and `--merge` against the fake AWS.

An organization (validate_fakeaws.build_world) with some damage: a modified
log file and a deleted digest in two members, a configured account that never
delivered (prefix_missing), a member nobody configured (prefix_unexpected),
and a trail that drifted from the config (trail_config_drift, a trail-level
finding on the management account's home-region cell).  Then:
  - the shards of a run split the cells as documented (sorted by account and
    region, cell i to shard (i mod N) + 1), are disjoint and together cover
    every cell; "shard": {"index", "count"} in --json; text says
    "shard K/N: X of Y cells";
  - the shards' findings together are exactly the unsharded run's findings:
    trail-level ones from one shard only, prefix_unexpected from shard 1 only;
  - no object is fetched twice: the shards' S3 GetObject calls add up to the
    unsharded run's;
  - --merge of the shard documents prints what the unsharded run prints
    (--json: same document after sorting; text: byte for byte), same exit;
  - --merge refuses (exit 2, naming the file) a missing shard, a shard given
    twice, documents of different shard counts, a non-shard document.
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
NOW = "2026-01-01T03:00:00Z"
check = Checks(limit=3000)

def config(w, path, accounts, global_events=True):
    vf.org_config(w, path, accounts, global_events=global_events)


def tk(fa, w, *args):
    return vf.run_verify(fa, w, NOW, args)


jdoc = vf.json_of
fkey = vf.finding_key
ckey = vf.cell_key


def gets(fa, since):
    st = fa.post("stats", since=since)
    return st["per_op"].get("s3:GetObject", 0), st["next"]


def main():
    t0 = time.time()
    fa = FakeAWS(seed=21, stderr=subprocess.DEVNULL)
    tmp = tempfile.mkdtemp(prefix="tk-shard-")
    try:
        run(fa, tmp)
    finally:
        fa.stop()
        subprocess.run(["rm", "-rf", tmp])
    print("# verify_shard: %.1f s" % (time.time() - t0))
    return 1 if check.failures else 0


def run(fa, tmp):
    w = vf.build_world(fa, members=5, kms=True)
    m = w["members"]
    fa.post("tamper", kind="modify_log", trail=w["arn"], account=m[0]["id"], region="eu-west-1")
    fa.post("tamper", kind="delete_digest", trail=w["arn"], account=m[1]["id"], region="us-east-1")
    dropped = m[2]["id"]
    accounts = [a for a in w["accounts"] if a != dropped] + ["123456789012"]
    cfg = os.path.join(tmp, "org.ini")
    config(w, cfg, accounts, global_events=False)
    args = [cfg, "--since", "3h"]

    _, mark = gets(fa, 0)
    p = tk(fa, w, *args, "--json")
    whole = jdoc(p)
    whole_gets, mark = gets(fa, mark)
    codes = sorted(set(f["code"] for f in whole["findings"])) if whole else []
    check(p.returncode == 1 and whole is not None and
          {"log_hash_mismatch", "digest_missing", "prefix_missing", "prefix_unexpected",
           "trail_config_drift"} <= set(codes) and "shard" not in whole,
          "unsharded run: exit 1 with the damage found, no \"shard\" (%d findings, %d cells)"
          % (len(whole["findings"]) if whole else 0, len(whole["cells"]) if whole else 0),
          "rc=%d %s %s" % (p.returncode, codes, p.stderr[-800:]))
    if not whole:
        return
    p_text = tk(fa, w, *args)
    _, mark = gets(fa, mark)      # not counted

    for n in (3, 4):
        docs, files, shard_gets = [], [], 0
        for k in range(1, n + 1):
            p = tk(fa, w, *args, "--json", "--shard", "%d/%d" % (k, n))
            d = jdoc(p)
            g, mark = gets(fa, mark)
            shard_gets += g
            check(d is not None and d.get("shard") == {"index": k, "count": n} and
                  p.returncode in (0, 1),
                  "shard %d/%d: a --json document with \"shard\": {\"index\": %d, \"count\": %d}"
                  % (k, n, k, n), "rc=%d %s" % (p.returncode, p.stderr[-500:]))
            if d is None:
                return
            docs.append(d)
            path = os.path.join(tmp, "shard-%d-of-%d.json" % (k, n))
            with open(path, "w") as f:
                f.write(p.stdout)
            files.append(path)
        allcells = sorted((c["account"], c["region"]) for c in whole["cells"])
        want = [[c for i, c in enumerate(allcells) if i % n == k] for k in range(n)]
        got = [sorted((c["account"], c["region"]) for c in d["cells"]) for d in docs]
        check(got == want, "N=%d: shard k has the cells i with i mod N = k-1 of the cells sorted "
              "by (account, region)" % n, "got %r want %r" % (got, want))
        union_f = sorted(fkey(f) for d in docs for f in d["findings"])
        check(union_f == sorted(fkey(f) for f in whole["findings"]),
              "N=%d: the shards' findings together are exactly the unsharded run's" % n,
              "extra %r missing %r" % (sorted(set(union_f) - set(fkey(f) for f in whole["findings"])),
                                       sorted(set(fkey(f) for f in whole["findings"]) - set(union_f))))
        union_c = sorted(ckey(c) for d in docs for c in d["cells"])
        check(union_c == sorted(ckey(c) for c in whole["cells"]),
              "N=%d: the shards' cells (counts, status) together are the unsharded run's" % n)
        tl = [d["shard"]["index"] for d in docs for f in d["findings"]
              if f["code"] == "trail_config_drift"]
        owner = allcells.index((w["mg"]["id"], "us-east-1")) % n + 1
        check(tl and set(tl) == {owner},
              "N=%d: the trail-level finding only from the shard owning the management "
              "account's home-region cell (shard %d)" % (n, owner), tl)
        pu = [d["shard"]["index"] for d in docs for f in d["findings"]
              if f["code"] == "prefix_unexpected"]
        check(pu == [1], "N=%d: prefix_unexpected only from shard 1" % n, pu)
        check(shard_gets == whole_gets,
              "N=%d: no object fetched twice: %d GetObject in the shards, %d unsharded"
              % (n, shard_gets, whole_gets))

        # --- merge --------------------------------------------------------------------------
        before = fa.post("stats")["next"]
        p = tk(fa, w, cfg, "--merge", "--json", *reversed(files))
        merged = jdoc(p)
        calls = fa.post("stats", since=before)["calls"]
        # the two stats calls themselves are not counted: control ops are not AWS calls
        check(p.returncode == 1 and merged is not None and
              sorted(fkey(f) for f in merged["findings"]) ==
              sorted(fkey(f) for f in whole["findings"]) and
              sorted(ckey(c) for c in merged["cells"]) == sorted(ckey(c) for c in whole["cells"])
              and "shard" not in merged and calls == 0,
              "N=%d: --merge --json of the shards == the unsharded run's --json, exit 1, "
              "no AWS call (%d)" % (n, calls), "rc=%d %s" % (p.returncode, p.stderr[-500:]))
        if merged:
            check(merged == whole, "N=%d: --merge --json is identical to the unsharded "
                  "document, cell order and all" % n)
        p = tk(fa, w, cfg, "--merge", *files)
        check(p.returncode == 1 and p.stdout == p_text.stdout,
              "N=%d: --merge text output == the unsharded text output, byte for byte" % n,
              "%s\n----\n%s" % (p.stdout[:1500], p_text.stdout[:1500]))

    # --- text output of a shard --------------------------------------------------------------
    p = tk(fa, w, *args, "--shard", "2/4", "--no-integrity")
    total = len(whole["cells"])
    mine = len([i for i in range(total) if i % 4 == 1])
    check(p.stdout.startswith("shard 2/4: %d of %d cells\n" % (mine, total)),
          "text output starts with 'shard 2/4: %d of %d cells'" % (mine, total), p.stdout[:300])

    # --- --metrics of a shard: its cells only ---------------------------------------------
    prom = os.path.join(tmp, "shard.prom")
    p = tk(fa, w, *args, "--json", "--shard", "3/4", "--metrics", prom)
    d = jdoc(p)
    text = open(prom).read() if os.path.exists(prom) else ""
    ages = sorted(tuple(l.split('"')[1::2][:2]) for l in text.splitlines()
                  if l.startswith("trailkeep_delivery_age_seconds{"))
    check(d is not None and ages and
          ages == sorted((c["account"], c["region"]) for c in d["cells"]) and
          os.listdir(tmp).count("shard.prom") == 1 and
          not [f for f in os.listdir(tmp) if f.startswith(".shard.prom")],
          "--shard --json --metrics: the metrics cover exactly the shard's %d cells" % len(ages),
          "%s %s" % (ages, p.stderr[-300:]))

    # --- a shard with no cell -------------------------------------------------------------
    before = fa.post("stats")["next"]
    p = tk(fa, w, *args, "--json", "--shard", "1000/1000")
    d = jdoc(p)
    st = fa.post("stats", since=before)
    check(p.returncode == 0 and d is not None and d["cells"] == [] and d["findings"] == [] and
          "s3:GetObject" not in st["per_op"] and "cloudtrail:GetTrail" not in st["per_op"],
          "shard 1000/1000 of %d cells: no cell, no finding, no trail or object read, exit 0"
          % total, "rc=%d %s %s" % (p.returncode, st["per_op"], p.stderr[-300:]))

    # --- merge refusals -----------------------------------------------------------------
    three = [os.path.join(tmp, "shard-%d-of-3.json" % k) for k in (1, 2, 3)]
    four1 = os.path.join(tmp, "shard-1-of-4.json")
    notv = os.path.join(tmp, "not-verify.json")
    with open(notv, "w") as f:
        f.write('{"version": 1, "resources": []}\n')
    unsharded = os.path.join(tmp, "whole.json")
    with open(unsharded, "w") as f:
        json.dump(whole, f)
    for what, files, needle in [
            ("a shard missing", three[:2], "shard 3/3 is missing"),
            ("a shard given twice", [three[0], three[1], three[1]], three[1]),
            ("documents of different shard counts", [three[0], three[1], four1], four1),
            ("a document that is not a verify document", three[:2] + [notv], notv),
            ("an unsharded document", three[:2] + [unsharded], unsharded),
            ("a file that does not exist", three[:2] + [notv + ".nope"], notv + ".nope")]:
        p = tk(fa, w, cfg, "--merge", "--json", *files)
        check(p.returncode == 2 and needle in p.stderr and p.stdout == "",
              "--merge refuses %s: exit 2, naming it" % what,
              "rc=%d %s" % (p.returncode, p.stderr[-400:]))


if __name__ == "__main__":
    sys.exit(main())
