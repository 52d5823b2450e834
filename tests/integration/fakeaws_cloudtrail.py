#!/usr/bin/python3
"""Conformance of the fake's CloudTrail and simulated delivery (Engineer B).

Debian's awscli (/usr/bin/aws --endpoint-url) creates the bucket, policy and an
organization trail against the fake; after simulated delivery awscli's own
validate-logs code (tests/fakeaws/validate_ref.py) must call every digest and
log valid, and after each tamper kind it must report exactly the damaged
objects, as it would on AWS.  Prints PASS:/FAIL: lines; exit 1 on any failure.
"""

import json
import os
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, TOP)

from tests.fakeaws.control import FakeAWS  # noqa: E402
from tests.fakeaws.testing import Checks, aws_cli, aws_cli_env  # noqa: E402

PY = "/usr/bin/python3"
BUCKET = "org-trail-logs"
START = "2026-01-01T00:00:00Z"
check = Checks()


aws = aws_cli


def validate(fa, acct, trail_arn, account_id, region, end, start=START):
    env = aws_cli_env(acct, region, pager=False)
    r = subprocess.run([PY, "-m", "tests.fakeaws.validate_ref", "--endpoint", fa.url,
                        "--trail-arn", trail_arn, "--start", start, "--end", end,
                        "--account-id", account_id, "--region", region, "--verbose"],
                       cwd=TOP, env=env, capture_output=True, text=True, timeout=120)
    return r


def policy(org_id, mgmt, trail_arn, readers, bucket=BUCKET, with_mgmt=True):
    w = "arn:aws:s3:::%s/AWSLogs/%%s/*" % bucket
    st = [{"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow",
           "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
           "Resource": "arn:aws:s3:::%s" % bucket,
           "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}}},
          {"Sid": "AWSCloudTrailOrganizationWrite", "Effect": "Allow",
           "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
           "Resource": w % org_id,
           "Condition": {"StringEquals": {"aws:SourceArn": trail_arn,
                                          "s3:x-amz-acl": "bucket-owner-full-control"}}},
          {"Sid": "Readers", "Effect": "Allow", "Principal": {"AWS": readers},
           "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
           "Resource": ["arn:aws:s3:::%s" % bucket, "arn:aws:s3:::%s/*" % bucket]}]
    if with_mgmt:
        st.insert(1, {"Sid": "AWSCloudTrailWrite", "Effect": "Allow",
                      "Principal": {"Service": "cloudtrail.amazonaws.com"},
                      "Action": "s3:PutObject", "Resource": w % mgmt,
                      "Condition": {"StringEquals": {"aws:SourceArn": trail_arn,
                                                     "s3:x-amz-acl": "bucket-owner-full-control"}}})
    return json.dumps({"Version": "2012-10-17", "Statement": st})


def main():
    t_start = time.time()
    fa = FakeAWS(seed=7, stderr=subprocess.DEVNULL)
    try:
        run(fa)
    finally:
        fa.stop()
    print("# fakeaws_cloudtrail: %.1f s" % (time.time() - t_start))
    return 1 if check.failures else 0


def run(fa):
    org = fa.post("seed_org", members=10)
    mg, la = org["management"], org["log_archive"]
    members = [a for a in org["accounts"] if a["kind"] == "member"]
    oid = org["org_id"]
    arn = "arn:aws:cloudtrail:us-east-1:%s:trail/org-trail" % mg["id"]

    # --- setup with Debian's awscli ------------------------------------------------
    r = aws(fa, la, "s3api", "create-bucket", "--bucket", BUCKET)
    check(r.returncode == 0, "aws s3api create-bucket (log archive account)", r.stderr)
    r = aws(fa, la, "s3api", "create-bucket", "--bucket", "bad-" + BUCKET)
    bad = policy(oid, mg["id"], arn, [la["id"]], bucket="bad-" + BUCKET, with_mgmt=False)
    r = aws(fa, la, "s3api", "put-bucket-policy", "--bucket", "bad-" + BUCKET, "--policy", bad)
    r = aws(fa, mg, "cloudtrail", "create-trail", "--name", "org-trail", "--s3-bucket-name",
            "bad-" + BUCKET, "--is-organization-trail", "--is-multi-region-trail",
            "--enable-log-file-validation")
    check(r.returncode != 0 and "InsufficientS3BucketPolicyException" in r.stderr
          and "Incorrect S3 bucket policy is detected for bucket: bad-%s" % BUCKET in r.stderr,
          "create-trail with a policy missing the AWSLogs/<mgmt>/ prefix -> "
          "InsufficientS3BucketPolicyException", r.stderr.strip())
    r = aws(fa, mg, "cloudtrail", "create-trail", "--name", "org-trail", "--s3-bucket-name",
            "no-such-bucket-x", "--is-multi-region-trail")
    check(r.returncode != 0 and "S3BucketDoesNotExistException" in r.stderr,
          "create-trail on a missing bucket -> S3BucketDoesNotExistException", r.stderr.strip())
    r = aws(fa, mg, "cloudtrail", "create-trail", "--name", "org-trail", "--s3-bucket-name",
            BUCKET, "--is-multi-region-trail", "--no-include-global-service-events")
    check(r.returncode != 0 and "InvalidParameterCombinationException" in r.stderr,
          "multi-region trail without global events -> InvalidParameterCombinationException")
    r = aws(fa, members[0], "cloudtrail", "create-trail", "--name", "org-trail",
            "--s3-bucket-name", BUCKET, "--is-organization-trail", "--is-multi-region-trail")
    check(r.returncode != 0 and "NotOrganizationMasterAccountException" in r.stderr,
          "org trail from a member account -> NotOrganizationMasterAccountException")

    readers = [la["id"], mg["id"]]
    r = aws(fa, la, "s3api", "put-bucket-policy", "--bucket", BUCKET, "--policy",
            policy(oid, mg["id"], arn, readers))
    check(r.returncode == 0, "aws s3api put-bucket-policy", r.stderr)
    r = aws(fa, mg, "cloudtrail", "create-trail", "--name", "org-trail", "--s3-bucket-name",
            BUCKET, "--is-organization-trail", "--is-multi-region-trail",
            "--enable-log-file-validation")
    ok = r.returncode == 0 and json.loads(r.stdout or "{}").get("TrailARN") == arn
    check(ok, "aws cloudtrail create-trail (organization, multi-region, validation)", r.stderr)
    r = aws(fa, mg, "cloudtrail", "create-trail", "--name", "org-trail", "--s3-bucket-name", BUCKET)
    check(r.returncode != 0 and "TrailAlreadyExistsException" in r.stderr,
          "second create-trail -> TrailAlreadyExistsException")
    r = aws(fa, mg, "cloudtrail", "start-logging", "--name", "org-trail", region="eu-west-1")
    check(r.returncode != 0 and "InvalidHomeRegionException" in r.stderr,
          "start-logging outside the home region -> InvalidHomeRegionException")
    r = aws(fa, mg, "cloudtrail", "start-logging", "--name", "org-trail")
    check(r.returncode == 0, "aws cloudtrail start-logging", r.stderr)
    r = aws(fa, mg, "cloudtrail", "get-trail-status", "--name", "org-trail")
    st = json.loads(r.stdout or "{}")
    check(r.returncode == 0 and st.get("IsLogging") is True, "get-trail-status IsLogging", r.stdout)
    r = aws(fa, members[1], "cloudtrail", "describe-trails", region="ap-southeast-2")
    tl = json.loads(r.stdout or "{}").get("trailList", [])
    check(len(tl) == 1 and tl[0]["TrailARN"] == arn and tl[0]["HomeRegion"] == "us-east-1"
          and tl[0]["IsOrganizationTrail"] is True,
          "member account sees the org trail as a shadow trail in another region", r.stdout)
    r = aws(fa, mg, "cloudtrail", "lookup-events", "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=StartLogging")
    evs = json.loads(r.stdout or "{}").get("Events", [])
    check(len(evs) == 1 and evs[0]["Username"] == "admin"
          and json.loads(evs[0]["CloudTrailEvent"])["requestParameters"]["Name"] == "org-trail",
          "lookup-events finds the StartLogging call", r.stdout[:300])

    # --- delivery and an untampered validation -------------------------------------
    out = fa.post("advance", seconds=3 * 3600)
    check(out["now"] == "2026-01-01T03:00:00Z" and out["objects_written"] > 0,
          "advance 3 hours writes log files and digests", json.dumps(out))
    end = "2026-01-01T03:00:00Z"
    r = validate(fa, la, arn, mg["id"], "us-east-1", end)
    check(r.returncode == 0 and "3/3 digest files valid" in r.stdout and "INVALID" not in
          r.stdout + r.stderr and "log files valid" in r.stdout,
          "awscli validate-logs: management account, us-east-1, every digest and log valid",
          r.stdout + r.stderr)
    r = validate(fa, la, arn, members[0]["id"], "ap-southeast-2", end)
    check(r.returncode == 0 and "3/3 digest files valid" in r.stdout and "INVALID" not in
          r.stdout + r.stderr, "awscli validate-logs: member account, ap-southeast-2, all valid",
          r.stdout + r.stderr)
    st = aws(fa, mg, "cloudtrail", "get-trail-status", "--name", "org-trail")
    st = json.loads(st.stdout or "{}")
    check(st.get("LatestDeliveryTime") is not None and st.get("LatestDigestDeliveryTime")
          is not None and "LatestDeliveryError" not in st,
          "get-trail-status shows deliveries and no error", json.dumps(st))

    # --- one tamper kind per member account -------------------------------------------
    R = "eu-west-1"

    def tamper(kind, m, **kw):
        return fa.post("tamper", kind=kind, trail=arn, account=m["id"], region=R, **kw)

    def s3url(k):
        return "s3://%s/%s" % (BUCKET, k)

    cases = [
        ("modify_log", members[0], 1, lambda o: ["Log file\t%s\tINVALID: hash value doesn't match"
                                                 % s3url(o["keys"][0])]),
        ("truncate_log", members[1], 1, lambda o: ["Log file\t%s\tINVALID: hash value doesn't match"
                                                   % s3url(o["keys"][0])]),
        ("delete_log", members[2], 1, lambda o: ["Log file\t%s\tINVALID: not found"
                                                 % s3url(o["keys"][0])]),
        ("delete_digest", members[3], 1, lambda o: ["Digest file\t%s\tINVALID: not found"
                                                    % s3url(o["keys"][0])]),
        ("modify_digest", members[4], 1, lambda o: ["Digest file\t%s\tINVALID: signature "
                                                    "verification failed" % s3url(o["keys"][0])]),
        ("strip_signature", members[5], 1, lambda o: ["Digest file\t%s\tINVALID: signature "
                                                      "verification failed" % s3url(o["keys"][0])]),
        ("move_digest", members[6], 1, lambda o: [
            "Digest file\t%s\tINVALID: not found" % s3url(o["from"]),
            "Digest file\t%s\tINVALID: has been moved from its original location" % s3url(o["to"])]),
    ]
    for kind, m, rc, expect in cases:
        o = tamper(kind, m)
        r = validate(fa, la, arn, m["id"], R, end)
        lines = expect(o)
        missing = [ln for ln in lines if ln not in r.stderr]
        n_invalid = r.stderr.count("INVALID")
        check(r.returncode == rc and not missing and n_invalid == len(lines),
              "tamper %s: awscli reports exactly the damaged object(s), exit %d" % (kind, rc),
              "rc=%d missing=%r stderr=%r" % (r.returncode, missing, r.stderr[-600:]))

    # data after the gzip member: this awscli version (2.9.19) still calls it valid
    o = tamper("append_after_gzip", members[7])
    r = validate(fa, la, arn, members[7]["id"], R, end)
    check(r.returncode == 0 and ("Log file\t%s\tvalid" % s3url(o["keys"][0])) in r.stdout,
          "tamper append_after_gzip: awscli 2.9.19 accepts trailing data (newer CLIs reject it)",
          r.stdout[-400:] + r.stderr[-400:])
    # an injected log file is invisible to awscli
    o = tamper("inject_log", members[8])
    r = validate(fa, la, arn, members[8]["id"], R, end)
    check(r.returncode == 0 and o["keys"][0] not in r.stdout + r.stderr
          and "INVALID" not in r.stdout + r.stderr,
          "tamper inject_log: awscli does not notice an unlisted log file", r.stderr[-400:])

    # --- key rotation: digests signed by both keys validate --------------------------
    fa.post("tamper", kind="rotate_signing_key", trail=arn, region="us-east-1")
    fa.post("advance", seconds=2 * 3600)
    r = validate(fa, la, arn, mg["id"], "us-east-1", "2026-01-01T05:00:00Z")
    check(r.returncode == 0 and "5/5 digest files valid" in r.stdout and "INVALID" not in r.stderr,
          "after rotate_signing_key digests of both keys validate", r.stdout + r.stderr)

    # --- a denied member account: silent failure --------------------------------------
    victim = members[9]
    o = fa.post("tamper", kind="deny_account", trail=arn, account=victim["id"])
    before = fa.post("stats")["now"]
    fa.post("advance", seconds=3600)
    s3 = aws(fa, la, "s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix",
             "AWSLogs/%s/%s/" % (oid, victim["id"]))
    objs = json.loads(s3.stdout or "{}").get("Contents", [])
    newer = [x for x in objs if x["LastModified"] > "2026-01-01T05:00:00+00:00"]
    s3b = aws(fa, la, "s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix",
              "AWSLogs/%s/%s/" % (oid, members[0]["id"]))
    others = [x for x in json.loads(s3b.stdout or "{}").get("Contents", [])
              if x["LastModified"] > "2026-01-01T05:00:00+00:00"]
    check(before == "2026-01-01T05:00:00Z" and objs and not newer and others,
          "deny_account: no new objects for the denied account, others still delivered",
          "%d old, %d new, %d others" % (len(objs), len(newer), len(others)))
    st = json.loads(aws(fa, mg, "cloudtrail", "get-trail-status", "--name", "org-trail").stdout
                    or "{}")
    check(st.get("LatestDeliveryError") == "AccessDenied"
          and st.get("LatestDigestDeliveryError") == "AccessDenied" and st.get("IsLogging"),
          "deny_account: LatestDeliveryError/LatestDigestDeliveryError = AccessDenied",
          json.dumps(st))

    # --- logging stopped for an hour: a gap, exit 0 ---------------------------------
    fa.post("tamper", kind="stop_logging_hour", trail=arn)
    fa.post("advance", seconds=2 * 3600)
    r = validate(fa, la, arn, mg["id"], "us-east-1", "2026-01-01T09:00:00Z",
                 start="2026-01-01T05:00:00Z")
    check(r.returncode == 0 and "No log files were delivered by CloudTrail between "
          "2026-01-01T06:00:00Z and 2026-01-01T07:00:00Z" in r.stderr
          and "INVALID" not in r.stderr,
          "stop_logging_hour: awscli reports the gap and exits 0", r.stdout + r.stderr)


if __name__ == "__main__":
    sys.exit(main())
