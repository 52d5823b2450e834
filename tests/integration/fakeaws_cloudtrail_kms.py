#!/usr/bin/python3
"""The fake's CloudTrail with a KMS key, event selectors and backfill (Engineer B).

A single-account trail encrypted with a KMS key: the key-policy pre-flight,
SSE-KMS log objects, S3 data events from advanced selectors, a disabled key
failing delivery silently (KMS.DisabledException) and recovering, backfill
digests, and awscli's validator on the result.  PASS:/FAIL: lines.
"""

import base64
import gzip
import hashlib
import json
import os
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, TOP)

from tests.fakeaws.control import FakeAWS  # noqa: E402
from tests.fakeaws.testing import Checks, aws_cli, aws_cli_env  # noqa: E402

PY = "/usr/bin/python3"
check = Checks(limit=1500)


aws = aws_cli


def jout(r):
    try:
        return json.loads(r.stdout or "{}")
    except ValueError:
        return {}


def main():
    fa = FakeAWS(seed=11, stderr=subprocess.DEVNULL)
    try:
        run(fa)
    finally:
        fa.stop()
    return 1 if check.failures else 0


def run(fa):
    org = fa.post("seed_org", members=1)
    m = [a for a in org["accounts"] if a["kind"] == "member"][0]
    acct = m["id"]
    trail_arn = "arn:aws:cloudtrail:us-east-1:%s:trail/trail-one" % acct
    fa.post("set_regions", regions=["us-east-1"])
    for b in ("m-logs", "m-data", "m-other"):
        aws(fa, m, "s3api", "create-bucket", "--bucket", b)
    pol = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:GetBucketAcl", "Resource": "arn:aws:s3:::m-logs"},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": "arn:aws:s3:::m-logs/ct/AWSLogs/%s/*" % acct,
         "Condition": {"StringEquals": {"aws:SourceArn": trail_arn,
                                        "s3:x-amz-acl": "bucket-owner-full-control"}}}]}
    r = aws(fa, m, "s3api", "put-bucket-policy", "--bucket", "m-logs", "--policy", json.dumps(pol))
    check(r.returncode == 0, "put-bucket-policy for a prefixed per-account trail", r.stderr)
    r = aws(fa, m, "kms", "create-key", "--description", "trail key")
    key_arn = jout(r).get("KeyMetadata", {}).get("Arn", "")
    key_id = key_arn.rsplit("/", 1)[-1]
    check(r.returncode == 0 and key_arn, "kms create-key", r.stderr)
    create = ["cloudtrail", "create-trail", "--name", "trail-one", "--s3-bucket-name", "m-logs",
              "--s3-key-prefix", "ct", "--enable-log-file-validation", "--kms-key-id", key_id]
    r = aws(fa, m, *create)
    check(r.returncode != 0 and "InsufficientEncryptionPolicyException" in r.stderr,
          "create-trail with a key policy lacking CloudTrail -> "
          "InsufficientEncryptionPolicyException", r.stderr)
    r = aws(fa, m, "cloudtrail", "create-trail", "--name", "trail-one", "--s3-bucket-name", "m-logs",
            "--kms-key-id", "alias/nope")
    check(r.returncode != 0 and "KmsKeyNotFoundException" in r.stderr,
          "create-trail with an unknown alias -> KmsKeyNotFoundException", r.stderr)
    r = aws(fa, m, "cloudtrail", "create-trail", "--name", "trail-one", "--s3-bucket-name", "m-logs")
    check(r.returncode != 0 and "InsufficientS3BucketPolicyException" in r.stderr,
          "create-trail without the policy's S3KeyPrefix -> InsufficientS3BucketPolicyException",
          r.stderr)
    kpol = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::%s:root" % acct}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Allow CloudTrail to encrypt logs", "Effect": "Allow",
         "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*",
         "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceArn": trail_arn},
                       "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn":
                                      "arn:aws:cloudtrail:*:%s:trail/*" % acct}}}]}
    r = aws(fa, m, "kms", "put-key-policy", "--key-id", key_id, "--policy-name", "default",
            "--policy", json.dumps(kpol))
    check(r.returncode == 0, "kms put-key-policy with the CloudTrail statement", r.stderr)
    r = aws(fa, m, *create)
    check(r.returncode == 0 and jout(r).get("KmsKeyId") == key_arn
          and jout(r).get("S3KeyPrefix") == "ct", "create-trail with KMS key and prefix",
          r.stdout + r.stderr)
    sels = [{"Name": "mgmt", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]},
            {"Name": "data", "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::m-data/"]}]}]
    r = aws(fa, m, "cloudtrail", "put-event-selectors", "--trail-name", "trail-one",
            "--advanced-event-selectors", json.dumps(sels))
    check(r.returncode == 0, "put-event-selectors (advanced)", r.stderr)
    r = aws(fa, m, "cloudtrail", "put-event-selectors", "--trail-name", "trail-one",
            "--advanced-event-selectors", json.dumps([{"FieldSelectors": [
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]}]))
    check(r.returncode != 0 and "InvalidEventSelectorsException" in r.stderr,
          "advanced selector without eventCategory -> InvalidEventSelectorsException", r.stderr)
    g = jout(aws(fa, m, "cloudtrail", "get-event-selectors", "--trail-name", "trail-one"))
    check(g.get("AdvancedEventSelectors") == sels and "EventSelectors" not in g,
          "get-event-selectors returns the advanced selectors", g)
    r = aws(fa, m, "cloudtrail", "start-logging", "--name", "trail-one")
    fa.post("advance", seconds=3600)

    # log objects: SSE-KMS, data events for m-data only
    r = aws(fa, m, "s3api", "list-objects-v2", "--bucket", "m-logs", "--prefix",
            "ct/AWSLogs/%s/CloudTrail/us-east-1/" % acct)
    logs = [o["Key"] for o in jout(r).get("Contents", [])]
    check(len(logs) >= 6, "log files delivered under the S3KeyPrefix", len(logs))
    h = jout(aws(fa, m, "s3api", "head-object", "--bucket", "m-logs", "--key", logs[0])) if logs else {}
    check(h.get("ServerSideEncryption") == "aws:kms" and h.get("SSEKMSKeyId") == key_arn,
          "log objects are SSE-KMS with the trail's key", h)
    recs = []
    for k in logs:
        o = fa.post("get_object", bucket="m-logs", key=k)
        recs += json.loads(gzip.decompress(base64.b64decode(o["body_b64"])))["Records"]
    data = [x for x in recs if x.get("eventCategory") == "Data"]
    check(data and all(x["resources"][0]["ARN"].startswith("arn:aws:s3:::m-data/") for x in data)
          and any(x["eventName"] == "StartLogging" for x in recs),
          "records hold S3 data events for the selected bucket only, and management events",
          "%d data of %d" % (len(data), len(recs)))

    # key management takes a key id or ARN, never an alias (as AWS)
    aws(fa, m, "kms", "create-alias", "--alias-name", "alias/m-trail", "--target-key-id", key_id)
    r = aws(fa, m, "kms", "disable-key", "--key-id", "alias/m-trail")
    check(r.returncode != 0 and "NotFoundException" in r.stderr and "Invalid keyId alias/m-trail" in r.stderr,
          "DisableKey refuses an alias: NotFoundException Invalid keyId", r.stderr)
    # a disabled key: silent failure, then recovery
    aws(fa, m, "kms", "disable-key", "--key-id", key_id)
    fa.post("advance", seconds=3600)
    st = jout(aws(fa, m, "cloudtrail", "get-trail-status", "--name", "trail-one"))
    r = aws(fa, m, "s3api", "list-objects-v2", "--bucket", "m-logs", "--prefix", "ct/")
    n_disabled = len(jout(r).get("Contents", []))
    check(st.get("LatestDeliveryError") == "KMS.DisabledException"
          and st.get("LatestDigestDeliveryError") == "KMS.DisabledException"
          and st.get("IsLogging") is True,
          "disabled key: LatestDeliveryError = KMS.DisabledException, still logging", st)
    aws(fa, m, "kms", "enable-key", "--key-id", key_id)
    fa.post("advance", seconds=3600)
    st = jout(aws(fa, m, "cloudtrail", "get-trail-status", "--name", "trail-one"))
    r = aws(fa, m, "s3api", "list-objects-v2", "--bucket", "m-logs", "--prefix", "ct/")
    n_after = len(jout(r).get("Contents", []))
    check("LatestDeliveryError" not in st and "LatestDigestDeliveryError" not in st
          and n_after > n_disabled, "re-enabled key: delivery resumes, errors cleared", st)

    # validator over the three hours: the chain restarted after the refused digest
    v = subprocess.run([PY, "-m", "tests.fakeaws.validate_ref", "--endpoint", fa.url,
                        "--trail-arn", trail_arn, "--start", "2026-01-01T00:00:00Z",
                        "--end", "2026-01-01T03:00:00Z", "--region", "us-east-1"],
                       cwd=TOP, env=aws_cli_env(m), capture_output=True, text=True, timeout=120)
    check(v.returncode == 0 and "2/2 digest files valid" in v.stdout and "INVALID" not in v.stderr
          and "No log files were delivered by CloudTrail between 2026-01-01T01:00:00Z and "
          "2026-01-01T02:00:00Z" in v.stderr,
          "awscli validator: KMS-encrypted digests valid, the refused hour is a gap",
          v.stdout + v.stderr)

    # backfill the missing hour
    b = fa.post("backfill", trail=trail_arn, account=acct, region="us-east-1",
                start="2026-01-01T00:00:00Z", end="2026-01-01T03:00:00Z")
    check(len(b["keys"]) == 1 and b["keys"][0].endswith(
        "_CloudTrail-Digest_us-east-1_trail-one_us-east-1_20260101T020000Z_backfill.json.gz"),
        "backfill writes one backfill digest for the hour without a digest", b)
    if b["keys"]:
        o = fa.post("get_object", bucket="m-logs", key=b["keys"][0])
        raw = gzip.decompress(base64.b64decode(o["body_b64"]))
        d = json.loads(raw)
        keys = fa.post("delivery_state")["keys"]["us-east-1"]
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        from cryptography.hazmat.primitives.serialization import load_der_public_key
        import botocore.session
        ct = botocore.session.Session().create_client(
            "cloudtrail", region_name="us-east-1", endpoint_url=fa.url,
            aws_access_key_id=m["access_key_id"], aws_secret_access_key=m["secret_access_key"])
        import datetime
        pk = ct.list_public_keys(StartTime=datetime.datetime(2026, 1, 1),
                                 EndTime=datetime.datetime(2026, 1, 2))["PublicKeyList"]
        pub = {p["Fingerprint"]: p["Value"] for p in pk}
        s2s = ("%s\n%s/%s\n%s\n%s" % (d["digestEndTime"], d["digestS3Bucket"], d["digestS3Object"],
                                      hashlib.sha256(raw).hexdigest(),
                                      d["previousDigestSignature"] or "null")).encode()
        ok = True
        try:
            load_der_public_key(pub[d["digestPublicKeyFingerprint"]]).verify(
                bytes.fromhex(o["metadata"]["signature"]), s2s, padding.PKCS1v15(), hashes.SHA256())
        except Exception as e:  # noqa: BLE001  any failure is a FAIL line
            ok = False
            print("# verify: %r" % e)
        check(ok and "backfill-generation-timestamp" in o["metadata"] and len(keys) == 1
              and d["digestStartTime"] == "2026-01-01T01:00:00Z",
              "backfill digest: metadata timestamp, signature verifies with ListPublicKeys' DER",
              o["metadata"])

    # StopLogging mid-hour: a final digest ending at the stop time
    fa.post("advance", seconds=1800)
    aws(fa, m, "cloudtrail", "stop-logging", "--name", "trail-one")
    r = aws(fa, m, "s3api", "list-objects-v2", "--bucket", "m-logs", "--prefix",
            "ct/AWSLogs/%s/CloudTrail-Digest/" % acct)
    dk = [o["Key"] for o in jout(r).get("Contents", [])]
    check(any(k.endswith("_20260101T033000Z.json.gz") for k in dk),
          "stop-logging writes a final digest for the partial hour", dk[-3:])
    st = jout(aws(fa, m, "cloudtrail", "get-trail-status", "--name", "trail-one"))
    check(st.get("IsLogging") is False and st.get("StopLoggingTime") is not None,
          "get-trail-status after stop-logging", st)


if __name__ == "__main__":
    sys.exit(main())
