#!/usr/bin/python3
"""`trailkeep verify --state FILE` (incremental integrity) against the fake AWS.

An organization trail (validate_fakeaws.build_world), 3 hours delivered:
  1. first run: exit 0; FILE written atomically (0600, no temp file left) with
     every cell's newest verified digest (key, signature, digestEndTime);
  2. 2 more hours, an old (already verified) digest tampered with: a run
     without --state sees it; the run with --state does not fetch it again
     (exit 0, 2 digests per cell instead of 5, fewer GetObject calls) and
     moves every anchor forward;
  3. the newest verified digest of one cell deleted: found (digest_missing
     naming it), that cell keeps its old anchor, and the next run reports it
     again; a rewritten digest after an anchor (modify_digest) is found;
  4. a stored signature that the chain does not carry (a chain rewritten
     after the anchor): digest_chain_gap naming the stored digest;
  5. a state of another configuration, a corrupt state: exit 2 naming the
     file, nothing contacted, the file left as it was.
Prints PASS:/FAIL: lines; exit 1 on any failure.
"""

import json
import os
import stat
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
import verify_shard as vs  # noqa: E402

TK = os.environ.get("TRAILKEEP_BIN") or os.path.join(TOP, "trailkeep")
check = Checks(limit=3000)

def tk(fa, w, now, *args):
    """run verify; returns (rc, doc, stderr, GetObject calls, AWS calls)"""
    before = fa.post("stats")["next"]
    p = vf.run_verify(fa, w, now, list(args) + ["--json"])
    st = fa.post("stats", since=before)
    return p.returncode, vf.json_of(p), p.stderr, st["per_op"].get("s3:GetObject", 0), st["calls"]


def load(path):
    with open(path) as f:
        return json.load(f)


def anchors(state):
    return {(c["account"], c["region"]): c for c in state["cells"]}


def dcount(doc):
    return {(c["account"], c["region"]): c["digests_checked"] for c in doc["cells"]}


def main():
    t0 = time.time()
    fa = FakeAWS(seed=23, stderr=subprocess.DEVNULL)
    tmp = tempfile.mkdtemp(prefix="tk-state-")
    try:
        run(fa, tmp)
    finally:
        fa.stop()
        subprocess.run(["rm", "-rf", tmp])
    print("# verify_state: %.1f s" % (time.time() - t0))
    return 1 if check.failures else 0


def run(fa, tmp):
    w = vf.build_world(fa, members=3, kms=True)
    m = w["members"]
    cfg = os.path.join(tmp, "org.ini")
    vs.config(w, cfg, w["accounts"])
    sdir = os.path.join(tmp, "state")
    os.mkdir(sdir)
    state = os.path.join(sdir, "verify.state")
    ncells = len(w["accounts"]) * len(vf.REGIONS)

    # --- 1. first run ---------------------------------------------------------------------
    rc, doc, err, gets1, _ = tk(fa, w, "2026-01-01T03:00:00Z", cfg, "--state", state)
    doc1 = doc
    check(rc == 0 and doc and doc["findings"] == [], "first run with --state: exit 0, no findings",
          "rc=%d %s" % (rc, err[-500:]))
    s1 = load(state) if os.path.exists(state) else {"cells": []}
    a1 = anchors(s1)
    check(len(a1) == ncells and s1.get("bucket") == vf.BUCKET and s1.get("trail") == "org-trail"
          and s1.get("org") == w["oid"] and "prefix" in s1 and
          all(c["digest_end"] == "2026-01-01T03:00:00Z" and c["digest"].endswith(
              "_20260101T030000Z.json.gz") and len(c["signature"]) >= 256 for c in a1.values()),
          "the state names bucket, prefix, trail and org, and per cell the newest verified "
          "digest (key, signature, digestEndTime 03:00)", json.dumps(s1)[:800])
    check(stat.S_IMODE(os.stat(state).st_mode) == 0o600 and os.listdir(sdir) == ["verify.state"],
          "the state file is 0600 and no temporary file is left", os.listdir(sdir))

    # --- 2. two more hours; tamper with an already verified digest --------------------------
    fa.post("advance", seconds=2 * 3600)
    now2 = "2026-01-01T05:00:00Z"
    victim = (m[0]["id"], "eu-west-1")
    o = fa.post("tamper", kind="modify_digest", trail=w["arn"], account=victim[0],
                region=victim[1], index=0)
    rc, doc, err, gets_full, _ = tk(fa, w, now2, cfg, "--since", "5h")
    check(rc == 1 and doc and [(f["code"], f["key"]) for f in doc["findings"]] ==
          [("digest_signature_invalid", o["keys"][0])],
          "without --state the old tampered digest is found (the window covers it)",
          "rc=%d %s" % (rc, doc and doc["findings"]))
    rc, doc, err, gets2, _ = tk(fa, w, now2, cfg, "--since", "5h", "--state", state)
    check(rc == 0 and doc and doc["findings"] == [],
          "with --state the already verified digest is not fetched again: exit 0",
          "rc=%d %s %s" % (rc, doc and doc["findings"], err[-300:]))
    if doc:
        dc = dcount(doc)
        check(set(dc.values()) == {2}, "with --state each cell validated only the 2 new digests",
              dc)
    check(gets2 < gets_full, "with --state fewer objects fetched: %d GetObject vs %d without "
          "(first run: %d)" % (gets2, gets_full, gets1))
    if doc and doc1:
        want1 = sum(c["digests_checked"] + c["logs_checked"] for c in doc1["cells"])
        want2 = sum(c["digests_checked"] + 1 + c["logs_checked"] for c in doc["cells"])
        check(gets1 == want1 and gets2 == want2,
              "objects fetched: first run %d = its digests + logs; incremental run %d = the new "
              "digests + logs + 1 anchor digest per cell (%d cells)" % (gets1, gets2, ncells),
              "want %d and %d" % (want1, want2))
    s2 = load(state)
    a2 = anchors(s2)
    check(all(c["digest_end"] == "2026-01-01T05:00:00Z" for c in a2.values()) and len(a2) == ncells,
          "every anchor moved to the digest ending at 05:00", json.dumps(s2)[:500])

    # --- 3. the newest verified digest deleted; a digest after an anchor rewritten ------------
    fa.post("advance", seconds=3600)
    now3 = "2026-01-01T06:00:00Z"
    gone = (m[1]["id"], "us-east-1")
    o = fa.post("tamper", kind="delete_digest", trail=w["arn"], account=gone[0], region=gone[1],
                key=a2[gone]["digest"])
    rewritten = (m[2]["id"], "ap-southeast-2")
    o2 = fa.post("tamper", kind="modify_digest", trail=w["arn"], account=rewritten[0],
                 region=rewritten[1], index=-1)
    rc, doc, err, _, _ = tk(fa, w, now3, cfg, "--state", state)
    fs = [(f["code"], f["account"], f["region"], f["key"]) for f in doc["findings"]] if doc else []
    check(rc == 1 and ("digest_missing", gone[0], gone[1], a2[gone]["digest"]) in fs and
          any("previous run verified" in f["message"] for f in doc["findings"]),
          "deleted newest verified digest: digest_missing naming it (\"a previous run "
          "verified\")", "rc=%d %s %s" % (rc, fs, err[-300:]))
    check(("digest_signature_invalid", rewritten[0], rewritten[1], o2["keys"][0]) in fs,
          "a digest rewritten after the anchor: digest_signature_invalid", fs)
    check(set((a, r) for _, a, r, _ in fs) <= {gone, rewritten},
          "no finding in the other cells", fs)
    s3 = load(state)
    a3 = anchors(s3)
    check(a3[gone] == a2[gone] and a3[rewritten] == a2[rewritten] and
          all(c["digest_end"] == "2026-01-01T06:00:00Z" for k, c in a3.items()
              if k not in (gone, rewritten)),
          "the cells with findings keep their old anchor; the others move to 06:00")
    rc, doc, err, _, _ = tk(fa, w, now3, cfg, "--state", state)
    fs2 = [(f["code"], f["account"], f["region"], f["key"]) for f in doc["findings"]] if doc else []
    check(rc == 1 and ("digest_missing", gone[0], gone[1], a2[gone]["digest"]) in fs2 and
          ("digest_signature_invalid", rewritten[0], rewritten[1], o2["keys"][0]) in fs2,
          "the next run reports both problems again", fs2)

    # --- 4. the chain does not continue from the stored digest ---------------------------
    s4 = load(state)
    cut = (w["la"]["id"], "eu-west-1")
    for c in s4["cells"]:
        if (c["account"], c["region"]) == cut:
            c["signature"] = "ab" * 256
    with open(state, "w") as f:
        json.dump(s4, f)
    fa.post("advance", seconds=3600)
    rc, doc, err, _, _ = tk(fa, w, "2026-01-01T07:00:00Z", cfg, "--state", state)
    gaps = [f for f in (doc["findings"] if doc else []) if (f["account"], f["region"]) == cut]
    stored = anchors(s4)[cut]["digest"]
    check(rc == 1 and gaps and all(f["code"] == "digest_chain_gap" for f in gaps) and
          any(stored in f["message"] and "previousDigestSignature" in f["message"] for f in gaps),
          "a chain that does not carry the stored signature: digest_chain_gap naming the "
          "stored digest", "rc=%d %s" % (rc, gaps))

    # --- 5. refusals --------------------------------------------------------------------
    other = os.path.join(tmp, "other.ini")
    with open(cfg) as f:
        text = f.read()
    with open(other, "w") as f:
        f.write(text.replace("name = org-trail", "name = other-trail"))
    before = open(state, "rb").read()
    rc, doc, err, _, calls = tk(fa, w, "2026-01-01T07:00:00Z", other, "--state", state)
    check(rc == 2 and state in err and "another configuration" in err and calls == 0 and
          open(state, "rb").read() == before,
          "a state of another configuration: exit 2 naming the file, nothing contacted, "
          "file unchanged", "rc=%d %s calls=%d" % (rc, err[-400:], calls))
    for what, body in [("not JSON", b"garbage\n"), ("truncated", before[:len(before) // 2]),
                       ("a bad signature", before.replace(b'"signature": "', b'"signature": "zz')),
                       ("another document", b'{"version": 1, "findings": [], "cells": []}\n')]:
        bad = os.path.join(tmp, "bad.state")
        with open(bad, "wb") as f:
            f.write(body)
        rc, doc, err, _, calls = tk(fa, w, "2026-01-01T07:00:00Z", cfg, "--state", bad)
        check(rc == 2 and bad in err and calls == 0 and open(bad, "rb").read() == body,
              "a corrupt state (%s): exit 2 naming the file, nothing contacted" % what,
              "rc=%d %s calls=%d" % (rc, err[-400:], calls))


if __name__ == "__main__":
    sys.exit(main())
