#!/usr/bin/python3
"""bench/replay_apply.py: plan and apply --dry-run of a large organization
(issue 17, benchmark d).

Config: the organization-mode config of the doctor world (bench/gen_world.py;
ACCOUNTS x REGIONS, default 1000 x 17).  Measured:
  1. trailkeep plan CONFIG -o DIR (no network);
  2. trailkeep apply CONFIG --dry-run against the replay server (20 ms added
     latency per request): every read apply makes (STS, Organizations,
     CloudTrail, KMS, the bucket's settings) is a canned answer; the bucket
     policy, key policy and lifecycle answers are taken from the plan of
     step 1, so the organization is converged and the dry run must find
     nothing to do (exit 0): the figure is apply's read-and-compare path.
Wall time, requests, CPU, peak RSS for each.  Reference for apply: its
reads one after another = requests x RTT (in organization mode apply reads
the management trail and the central bucket and key, not every account, so
the count does not grow with ACCOUNTS); plan has no network reference.
The world has no objects (--hours 0): apply reads none.
Environment: ACCOUNTS, REGIONS, LATENCY_MS.
"""
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import replaylib as rl  # noqa: E402

ACCOUNTS = rl.knob("ACCOUNTS", 1000)
REGIONS = rl.knob("REGIONS", 17)
LATENCY = rl.knob("LATENCY_MS", 20)


def converge(wdir, plan):
    """canned answers = what the plan renders (bucket policy, key policy, lifecycle)"""
    def put(name, body, ctype):
        with open(os.path.join(wdir, "canned", name), "w") as f:
            f.write("200 %s\n%s" % (ctype, body))
    put("s3-policy", open(os.path.join(plan, "central", "bucket-policy.json")).read(), "application/json")
    kp = open(os.path.join(plan, "central", "kms-key-policy.json")).read()
    put("GetKeyPolicy", json.dumps({"Policy": kp, "PolicyName": "default"}), "application/x-amz-json-1.1")
    st = json.load(open(os.path.join(plan, "central", "bucket-settings.json")))
    rules = ""
    for r in st["LifecycleConfiguration"]["Rules"]:
        x = "<Rule><ID>%s</ID><Filter><Prefix>%s</Prefix></Filter><Status>%s</Status>" % (
            r["ID"], r.get("Filter", {}).get("Prefix", ""), r["Status"])
        if "AbortIncompleteMultipartUpload" in r:
            x += "<AbortIncompleteMultipartUpload><DaysAfterInitiation>%d</DaysAfterInitiation>" \
                 "</AbortIncompleteMultipartUpload>" % r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
        if "Expiration" in r:
            x += "<Expiration><Days>%d</Days></Expiration>" % r["Expiration"]["Days"]
        rules += x + "</Rule>"
    put("s3-lifecycle", '<?xml version="1.0" encoding="UTF-8"?>\n<LifecycleConfiguration '
        'xmlns="http://s3.amazonaws.com/doc/2006-03-01/">%s</LifecycleConfiguration>' % rules, "application/xml")


def main():
    print(rl.machine())
    wdir, info = rl.world("apply-%dx%d" % (ACCOUNTS, REGIONS), "--accounts", str(ACCOUNTS),
                          "--regions", str(REGIONS), "--hours", "0")
    cfg = os.path.join(wdir, "org.ini")
    print("settings: %d accounts x %d regions, organization mode, %g ms added latency per request"
          % (ACCOUNTS, REGIONS, LATENCY))
    tmp = tempfile.mkdtemp(prefix="tk-bench-plan-")
    ok = True
    try:
        p = rl.Run([rl.TK, "plan", cfg, "-o", os.path.join(tmp, "plan"), "--templates",
                    os.path.join(rl.TOP, "templates")], {"PATH": "/usr/bin:/bin"})
        ok = ok and p.rc == 0
        print(p.line("plan (%d accounts)" % ACCOUNTS) + ("" if p.rc == 0 else "\n    " + p.err[-400:]))
        converge(wdir, os.path.join(tmp, "plan"))
        with rl.Server(wdir, LATENCY) as srv:
            a = rl.Run([rl.TK, "apply", cfg, "--dry-run"], rl.env(srv, info["end"]), srv)
            # exit 0: converged, nothing to do
            good = a.rc == 0
            ok = ok and good
            print(a.line("apply --dry-run") + ("" if good else "\n    " + (a.err or a.out)[-400:]))
            seq = a.requests * LATENCY / 1000.0
            print("    apply's reads one after another: %.2f s (requests x %g ms); apply took %.2fx that; "
                  "summary: %s" % (seq, LATENCY, a.wall / seq if seq else 0,
                                   (a.out.strip().splitlines() or ["?"])[-1]))
            if srv.unknown():
                print("replay server: unanswered calls:\n" + srv.errors()[-1500:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    t0 = time.time()
    rc = main()
    print("(%.0f s)" % (time.time() - t0))
    sys.exit(rc)
