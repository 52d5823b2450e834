#!/bin/sh
# bench/doctor.sh: `trailkeep doctor` vs `trailkeep verify --no-integrity` on a
# 50-account x 3-region organization (one org trail, built by `trailkeep
# apply` in the fake AWS) with ONE broken account (a bucket policy Deny for
# its prefix).  doctor runs verify's checks and then digs only into the red
# cells, so the target is doctor <= 2x verify.  Prints both times (median of
# RUNS runs, default 3) and the ratio; exits 1 when the target is missed.
set -u
TOP=${TOP:-$(pwd)}
BUILD=${BUILD:-build/default}
PYTHON=${PYTHON:-/usr/bin/python3}
export TOP BUILD
exec "$PYTHON" - "$@" <<'PYEOF'
import json, os, statistics, subprocess, sys, time
TOP = os.environ["TOP"]
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.path.insert(0, TOP)
import doctor_fake as d  # noqa: E402

ACCOUNTS = 50
RUNS = int(os.environ.get("RUNS", "3"))
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]

t0 = time.time()
w = d.World()
members = ACCOUNTS - 2
w.fa.post("reset", seed=1)
w.seed = w.fa.post("seed_org", members=members)
w.fa.post("set_secure_transport", secure=True)
w.fa.post("create_role", account=d.ARCHIVE, name="LogArchiveAdmin",
          trust_policy={"Version": "2012-10-17", "Statement": [{
              "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % d.ARCHIVE},
              "Action": "sts:AssumeRole"}]})
w.accounts = {a["id"]: a for a in w.seed["accounts"]}
w.org_id = w.seed["org_id"]
ids = [a["id"] for a in w.seed["accounts"]]
ini = d.ORG_INI.format(org_id=w.org_id).split("[account management]")[0]
ini = ini.replace("regions = us-east-1, eu-west-1", "regions = " + ", ".join(REGIONS))
for i, a in enumerate(ids):
    ini += "[account a%02d]\nid = %s\n\n" % (i, a)
with open(w.config, "w") as f:
    f.write(ini)
rc, out = w.apply()
if rc:
    sys.exit("bench: apply failed:\n" + out)
w.advance(2 * 3600)
broken = ids[10]
mallory = w.user(d.ARCHIVE, "mallory")
s3 = w.client("s3", w.assume(mallory, "arn:aws:iam::%s:role/LogArchiveAdmin" % d.ARCHIVE, "mallory"))
pol = json.loads(s3.get_bucket_policy(Bucket=d.BUCKET)["Policy"])
pol["Statement"].append({"Sid": "BenchDeny", "Effect": "Deny", "Principal": {"Service": "cloudtrail.amazonaws.com"},
                         "Action": "s3:PutObject",
                         "Resource": "arn:aws:s3:::%s/AWSLogs/%s/%s/*" % (d.BUCKET, w.org_id, broken)})
s3.put_bucket_policy(Bucket=d.BUCKET, Policy=json.dumps(pol))
w.advance(2 * 3600)
print("setup: %d accounts x %d regions, account %s broken, %.1fs" % (len(ids), len(REGIONS), broken, time.time() - t0))


def timed(cmd, *args):
    ts, last = [], None
    for _ in range(RUNS):
        t = time.time()
        last = w.run(*args, cmd=cmd)
        ts.append(time.time() - t)
    return statistics.median(ts), last


tv, (rcv, outv, errv) = timed("verify", "--no-integrity", "--json")
td, (rcd, outd, errd) = timed("doctor", "--json")
w.close()
try:
    doc = json.loads(outd)
    s = doc["summary"]
    causes = ", ".join("%s %d" % kv for kv in sorted(s["causes"].items()))
except ValueError:
    sys.exit("bench: doctor output is not JSON (exit %d):\n%s" % (rcd, errd))
ok_exit = rcv == 1 and rcd == 1
print("verify --no-integrity: %.3fs (exit %d)" % (tv, rcv))
print("doctor:                %.3fs (exit %d; %d cells, %d red: %s)" % (td, rcd, s["cells"], s["red"], causes))
ratio = td / tv if tv > 0 else float("inf")
print("doctor / verify = %.2f (target <= 2.00)%s" % (ratio, "" if ratio <= 2.0 else "  MISSED"))
sys.exit(0 if ratio <= 2.0 and ok_exit else 1)
PYEOF
