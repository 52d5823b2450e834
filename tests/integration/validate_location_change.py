#!/usr/bin/python3
"""The digest chain across a change of the trail's S3 location (issue 12
defect 3; reference/cloudtrail-integrity.md section 5), against the fake AWS.

An organization trail (validation on, no prefix, bucket org-trail-logs) is
delivered for 2 hours; `verify --state` runs; then the trail's S3KeyPrefix is
set to "moved" for an hour and cleared again, its bucket changed to a second
bucket for an hour and back (UpdateTrail; the fake keeps one chain: the first
digest at the new location links to the last one at the old location).
Expected (README "Log file integrity"):
  - the fake links the first digest at the new location to the old location;
  - validate and verify over the window: no findings at all, every digest of
    every cell checked (7), wherever it is;
  - verify --state from before the changes: no findings;
  - --save DIR keeps the other bucket's digests under DIR/<bucket>/, and
    --local DIR gives the same result with no network;
  - the AWS CLI's own validator (tests/fakeaws/validate_ref.py) agrees;
  - then the bucket changes for an hour to one the verify principal cannot
    read: digest_link_unreadable on every cell (all are affected: an
    organization trail in every region), naming that bucket, and no other
    code; a principal that can read it sees nothing;
  - a link altered after signing (previousDigestSignature of the first
    digest back in the bucket, re-uploaded with its signature metadata) is
    digest_signature_invalid on exactly that digest.
Prints PASS:/FAIL: lines; exit 1 on any failure.
"""

import base64
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, TOP)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

from tests.fakeaws.control import FakeAWS  # noqa: E402
from tests.fakeaws.testing import Checks  # noqa: E402
import validate_fakeaws as vf  # noqa: E402

BUCKET = vf.BUCKET
OTHER = "org-trail-logs-b"          # the trail's bucket for an hour
SEALED = "org-trail-logs-sealed"    # ... and later one the verify principal cannot read
T0 = "2026-01-01T00:00:00Z"
T7 = "2026-01-01T07:00:00Z"
T10 = "2026-01-01T10:00:00Z"
check = Checks(limit=3000)


def policy(oid, mg, arn, readers, bucket):
    """CloudTrail may write under any prefix of bucket (the prefix changes
    here); readers may read it."""
    st = [{"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow",
           "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
           "Resource": "arn:aws:s3:::%s" % bucket,
           "Condition": {"StringEquals": {"aws:SourceArn": arn}}},
          {"Sid": "AWSCloudTrailWrite", "Effect": "Allow",
           "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
           "Resource": "arn:aws:s3:::%s/*" % bucket,
           "Condition": {"StringEquals": {"aws:SourceArn": arn,
                                          "s3:x-amz-acl": "bucket-owner-full-control"}}},
          {"Sid": "Readers", "Effect": "Allow", "Principal": {"AWS": readers},
           "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
           "Resource": ["arn:aws:s3:::%s" % bucket, "arn:aws:s3:::%s/*" % bucket]}]
    return json.dumps({"Version": "2012-10-17", "Statement": st})


def must(r):
    assert r.returncode == 0, r.stderr
    return r


def update_trail(fa, w, *args):
    must(vf.aws(fa, w["mg"], "cloudtrail", "update-trail", "--name", "org-trail", *args))


def advance_to(fa, t):
    fa.post("advance", until=t)


def get_digest(fa, bucket, key):
    o = fa.post("get_object", bucket=bucket, key=key)
    if not o.get("exists"):
        return None, None
    return json.loads(gzip.decompress(base64.b64decode(o["body_b64"]))), o["metadata"]


def digest_key(w, acct, region, hour, prefix=None):
    return ("%sAWSLogs/%s/%s/CloudTrail-Digest/%s/2026/01/01/%s_CloudTrail-Digest_%s_org-trail_"
            "us-east-1_20260101T%02d0000Z.json.gz"
            % (prefix + "/" if prefix else "", w["oid"], acct, region, acct, region, hour))


def fkey(f):
    return (f["code"], f["account"], f["region"], f["message"])


def codes(doc):
    return sorted(set(f["code"] for f in doc["findings"])) if doc else None


def ref_check(fa, w, acct, region, end):
    """awscli's validate-logs over [T0, end] for one cell: (rc, INVALID lines,
    valid digest count)"""
    r = subprocess.run([vf.PY, "-m", "tests.fakeaws.validate_ref", "--endpoint", fa.url,
                        "--trail-arn", w["arn"], "--start", T0, "--end", end,
                        "--account-id", acct, "--region", region],
                       cwd=TOP, env=vf.base_env(w["la"], region), capture_output=True,
                       text=True, timeout=300)
    out = r.stdout + r.stderr
    bad = [ln for ln in out.splitlines() if "INVALID" in ln]
    m = re.search(r"(\d+)/(\d+) digest files valid", out)
    return r.returncode, bad, (int(m.group(1)) if m else -1), out


def run(fa, tmp):
    w = vf.build_world(fa, members=2, hours=2)
    accts, mg, la = w["accounts"], w["mg"], w["la"]
    must(vf.aws(fa, la, "s3api", "put-bucket-policy", "--bucket", BUCKET, "--policy",
                policy(w["oid"], mg["id"], w["arn"], [la["id"], mg["id"]], BUCKET)))
    for b, readers in ((OTHER, [la["id"], mg["id"]]), (SEALED, [la["id"]])):
        must(vf.aws(fa, la, "s3api", "create-bucket", "--bucket", b))
        must(vf.aws(fa, la, "s3api", "put-bucket-policy", "--bucket", b, "--policy",
                    policy(w["oid"], mg["id"], w["arn"], readers, b)))
    cfg = os.path.join(tmp, "org.ini")
    vf.org_config(w, cfg)
    state = os.path.join(tmp, "state.json")

    # --- verify --state at 02:00, before any change ---------------------------------
    # The trail made with awscli differs from the config's plan in its KMS key
    # and event selectors: trail_config_drift on the management account's
    # home-region cell, before and after the location changes (never about
    # the bucket or prefix, which are back).  Nothing else may appear.
    p = vf.run_verify(fa, w, "2026-01-01T02:00:00Z", [cfg, "--state", state, "--json"])
    doc = vf.json_of(p)
    base = sorted(fkey(f) for f in doc["findings"]) if doc else None
    check(doc and all(f["code"] == "trail_config_drift" and "S3" not in f["message"]
                      for f in doc["findings"]) and os.path.exists(state),
          "verify --state at 02:00: only the trail's KMS/selector drift, state written",
          (p.returncode, p.stderr, doc))
    drift_cell = (mg["id"], "us-east-1")

    # --- the location changes and changes back ---------------------------------------
    advance_to(fa, "2026-01-01T02:30:00Z")
    update_trail(fa, w, "--s3-key-prefix", "moved")
    advance_to(fa, "2026-01-01T03:30:00Z")
    update_trail(fa, w, "--s3-key-prefix", "")
    advance_to(fa, "2026-01-01T04:30:00Z")
    update_trail(fa, w, "--s3-bucket-name", OTHER)
    advance_to(fa, "2026-01-01T05:30:00Z")
    update_trail(fa, w, "--s3-bucket-name", BUCKET)
    advance_to(fa, T7)

    # the fake models CloudTrail: one chain across the changes
    a, r = la["id"], "eu-west-1"
    d3, _ = get_digest(fa, BUCKET, digest_key(w, a, r, 3, "moved"))
    d4, _ = get_digest(fa, BUCKET, digest_key(w, a, r, 4))
    d5, _ = get_digest(fa, OTHER, digest_key(w, a, r, 5))
    d6, meta6 = get_digest(fa, BUCKET, digest_key(w, a, r, 6))
    check(d3 and d3["previousDigestS3Bucket"] == BUCKET
          and d3["previousDigestS3Object"] == digest_key(w, a, r, 2)
          and d4 and d4["previousDigestS3Object"] == digest_key(w, a, r, 3, "moved")
          and d5 and d5["previousDigestS3Bucket"] == BUCKET
          and d5["previousDigestS3Object"] == digest_key(w, a, r, 4)
          and d6 and d6["previousDigestS3Bucket"] == OTHER
          and d6["previousDigestS3Object"] == digest_key(w, a, r, 5),
          "fake: the first digest at each new location links to the last one at the old location",
          (d3 and d3["previousDigestS3Object"], d5 and d5["previousDigestS3Bucket"]))

    # --- validate and verify over the whole window: nothing wrong ---------------------
    rc, doc, err, _ = vf.validate(fa, w, accts, vf.REGIONS, end=T7, acct=mg)
    check(rc == 0 and doc and doc["findings"] == [],
          "validate across a prefix and a bucket change and back: exit 0, no findings",
          (rc, err, doc and doc["findings"][:4]))
    check(doc and len(doc["cells"]) == len(accts) * len(vf.REGIONS)
          and all(c["digests_checked"] == 7 and c["status"] == "ok" for c in doc["cells"]),
          "every cell: the 7 digests checked, wherever they are", doc and doc["cells"][:2])
    clean_cells = doc and doc["cells"]

    p = vf.run_verify(fa, w, T7, [cfg, "--start", T0, "--end", T7, "--json"])
    doc = vf.json_of(p)
    check(doc and sorted(fkey(f) for f in doc["findings"]) == base,
          "verify over the window: no digest_format_invalid, no finding but the drift of before",
          (p.returncode, p.stderr[-500:], doc and doc["findings"][:4]))

    p = vf.run_verify(fa, w, T7, [cfg, "--state", state, "--json"])
    doc = vf.json_of(p)
    check(doc and sorted(fkey(f) for f in doc["findings"]) == base
          and all(c["digests_checked"] == (7 if (c["account"], c["region"]) == drift_cell else 5)
                  for c in doc["cells"]),
          "verify --state across the changes: the chain arrives at the 02:00 anchors, "
          "5 new digests per cell (7 where the drift kept the old anchor), no new finding",
          (p.returncode, p.stderr[-500:], doc and (doc["findings"][:4], doc["cells"][:2])))

    # --- --save / --local ----------------------------------------------------------------
    save = os.path.join(tmp, "save")
    rc, doc, err, _ = vf.validate(fa, w, accts, vf.REGIONS, "--save", save, end=T7, acct=mg)
    k5 = digest_key(w, a, r, 5)
    check(rc == 0 and doc and doc["findings"] == []
          and os.path.isfile(os.path.join(save, OTHER, k5))
          and os.path.isfile(os.path.join(save, OTHER, k5 + ".meta.json")),
          "--save: the other bucket's digests are saved under DIR/%s/" % OTHER, (rc, err))
    rc, doc, err, _ = vf.validate(fa, w, accts, vf.REGIONS, "--local", save, end=T7, acct=mg)
    check(rc == 0 and doc and doc["findings"] == [] and doc["cells"] == clean_cells,
          "--local follows the links into DIR/%s/: same result, no findings" % OTHER,
          (rc, err, doc and doc["findings"][:4]))

    # --- the AWS CLI's validator agrees ---------------------------------------------------
    for acct, region in ((a, r), (mg["id"], "us-east-1")):
        rc, bad, valid, out = ref_check(fa, w, acct, region, T7)
        check(rc == 0 and not bad and valid == 7,
              "awscli validate-logs %s/%s: 7/7 digests valid across the changes" % (acct, region),
              out[-1500:])

    # --- a link into a bucket the verify principal cannot read ------------------------------
    advance_to(fa, "2026-01-01T07:30:00Z")
    update_trail(fa, w, "--s3-bucket-name", SEALED)
    advance_to(fa, "2026-01-01T08:30:00Z")
    update_trail(fa, w, "--s3-bucket-name", BUCKET)
    advance_to(fa, T10)
    rc, doc, err, _ = vf.validate(fa, w, accts, vf.REGIONS, end=T10, acct=mg)
    ok = rc == 1 and doc and codes(doc) == ["digest_link_unreadable"]
    per_cell = {}
    for f in (doc["findings"] if doc else []):
        per_cell.setdefault((f["account"], f["region"]), []).append(f)
    ok = ok and len(per_cell) == len(accts) * len(vf.REGIONS) and all(
        f["bucket"] == SEALED for f in doc["findings"]) and all(
        any(f["key"] == digest_key(w, ac, rg, 8) and "s3://%s/" % SEALED in f["message"]
            and "AccessDenied" in f["message"] for f in fs)
        for (ac, rg), fs in per_cell.items())
    check(ok, "a link into a bucket the verify principal cannot read: digest_link_unreadable "
          "on every cell, naming s3://%s/... and the S3 error, no other code" % SEALED,
          (rc, err, doc and doc["findings"][:3]))
    rc, doc, err, _ = vf.validate(fa, w, accts, vf.REGIONS, end=T10, acct=la)
    check(rc == 0 and doc and doc["findings"] == [],
          "the same window read by a principal that can read %s: no findings" % SEALED,
          (rc, err, doc and doc["findings"][:3]))

    # --- a link altered after signing ------------------------------------------------------
    k6 = digest_key(w, a, r, 6)
    d6["previousDigestSignature"] = "0" * len(d6["previousDigestSignature"])
    body = os.path.join(tmp, "d6.json.gz")
    with open(body, "wb") as f:
        f.write(gzip.compress(json.dumps(d6, separators=(",", ":")).encode(), mtime=0))
    must(vf.aws(fa, la, "s3api", "put-object", "--bucket", BUCKET, "--key", k6, "--body", body,
                "--metadata", "signature=%s,signature-algorithm=%s"
                % (meta6["signature"], meta6["signature-algorithm"])))
    rc, doc, err, _ = vf.validate(fa, w, accts, vf.REGIONS, end=T7, acct=mg)
    bad = [f for f in (doc["findings"] if doc else []) if f["code"] != "log_unreferenced"]
    check(rc == 1 and doc and [(f["code"], f["account"], f["region"], f["key"]) for f in bad]
          == [("digest_signature_invalid", a, r, k6)]
          and all((f["account"], f["region"]) == (a, r) for f in doc["findings"]),
          "a link altered after signing: digest_signature_invalid on exactly that digest "
          "(its cell only)", (rc, err, doc and doc["findings"][:4]))


def main():
    tmp = tempfile.mkdtemp(prefix="tk-location-")
    fa = FakeAWS(seed=43, stderr=subprocess.DEVNULL)
    try:
        run(fa, tmp)
    finally:
        fa.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
