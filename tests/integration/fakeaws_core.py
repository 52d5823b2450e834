#!/usr/bin/python3
"""The fake AWS core through botocore clients: fault injection, presigned URLs,
web identity, state save/load, control ops.  Prints PASS:/FAIL: lines."""

import json
import os
import shutil
import socket
import sys
import tempfile
import urllib.error
import urllib.request

TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, TOP)

import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError, EndpointConnectionError  # noqa: E402

from tests.fakeaws.control import FakeAWS  # noqa: E402

failed = 0


def check(name, ok, detail=""):
    global failed
    print("%s: core: %s%s" % ("PASS" if ok else "FAIL", name, "" if ok else " (%s)" % detail))
    if not ok:
        failed = 1


def client(fa, svc, acct, region="us-east-1", token=None, retries=0):
    s = botocore.session.Session()
    return s.create_client(svc, region_name=region, endpoint_url=fa.url,
                           aws_access_key_id=acct["access_key_id"],
                           aws_secret_access_key=acct["secret_access_key"],
                           aws_session_token=token or acct.get("session_token"),
                           config=Config(retries={"max_attempts": retries, "mode": "standard"},
                                         signature_version="s3v4" if svc == "s3" else None,
                                         connect_timeout=5, read_timeout=10))


def code_of(fn):
    try:
        fn()
        return None
    except ClientError as e:
        return e.response["Error"]["Code"]
    except Exception as e:
        return type(e).__name__


tmp = tempfile.mkdtemp(prefix="fakeaws-core.")
try:
    state = os.path.join(tmp, "state")
    with FakeAWS(seed=3, state=state, stderr=open(os.path.join(tmp, "stderr"), "w")) as fa:
        org = fa.post("seed_org", members=2)
        m = org["management"]
        check("seed ids are deterministic", [a["id"] for a in org["accounts"]] ==
              ["111111111111", "222222222222", "333333333333", "444444444444"])
        s3 = client(fa, "s3", m)
        s3.create_bucket(Bucket="core-bucket")
        s3.put_object(Bucket="core-bucket", Key="a/b.txt", Body=b"hello world", Metadata={"k": "v"})

        # presigned URL
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "core-bucket", "Key": "a/b.txt"},
                                        ExpiresIn=300)
        with urllib.request.urlopen(url) as r:
            check("presigned GET works", r.read() == b"hello world")
        try:
            urllib.request.urlopen(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"))
            check("tampered presigned URL is refused", False, "accepted")
        except urllib.error.HTTPError as e:
            check("tampered presigned URL is refused", e.code == 403 and b"SignatureDoesNotMatch" in e.read())

        h = s3.get_object(Bucket="core-bucket", Key="a/b.txt", Range="bytes=-5")
        check("suffix Range", h["Body"].read() == b"world" and h["ContentRange"] == "bytes 6-10/11")
        check("unsatisfiable Range -> InvalidRange",
              code_of(lambda: s3.get_object(Bucket="core-bucket", Key="a/b.txt", Range="bytes=50-60")) == "InvalidRange")
        check("PutObject with a wrong Content-MD5 -> BadDigest",
              code_of(lambda: s3.put_object(Bucket="core-bucket", Key="x", Body=b"abc",
                                            ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg==")) == "BadDigest")

        # faults
        fa.post("set_faults", slowdown_rate=1.0, services=["s3"])
        check("slowdown_rate 1 -> 503 SlowDown",
              code_of(lambda: s3.head_bucket(Bucket="core-bucket")) in ("SlowDown", "503"))
        fa.post("set_faults", throttle_rate=1.0)
        kms = client(fa, "kms", m)
        check("throttle_rate 1 -> ThrottlingException", code_of(lambda: kms.list_keys()) == "ThrottlingException")
        fa.post("set_faults", throttle_rate=0.5, seed=42)
        seq1 = [code_of(lambda: kms.list_keys()) for _ in range(12)]
        fa.post("set_faults", throttle_rate=0.5, seed=42)
        seq2 = [code_of(lambda: kms.list_keys()) for _ in range(12)]
        check("seeded faults are reproducible", seq1 == seq2 and None in seq1 and "ThrottlingException" in seq1,
              "%s vs %s" % (seq1, seq2))
        fa.post("set_faults", reset_rate=1.0)
        c = code_of(lambda: kms.list_keys())
        check("reset_rate 1 closes the connection", c not in (None,) and "Throttling" not in str(c), c)
        fa.post("set_faults", forced=[{"account": "111111111111", "service": "kms", "operation": "CreateKey",
                                       "code": "LimitExceededException", "status": 400, "count": 1}])
        check("forced error on one operation", code_of(lambda: kms.create_key()) == "LimitExceededException")
        check("forced error count runs out", code_of(lambda: kms.create_key()) is None)
        fa.post("set_faults", fail_after=2)
        r = [code_of(lambda: kms.list_keys()) for _ in range(4)]
        check("fail_after 2: calls 3.. fail", r[:2] == [None, None] and r[2] == "KMSInternalException", r)
        fa.post("set_faults", latency_ms=150)
        import time
        t0 = time.monotonic()
        kms.list_keys()
        check("latency_ms adds delay", time.monotonic() - t0 >= 0.15)
        fa.post("set_faults")
        st = fa.post("stats")
        check("stats counts injected faults", st["faults_injected"] == {} and st["per_op"].get("kms:ListKeys", 0) >= 20,
              st)

        # web identity
        fa.post("create_role", account="333333333333", name="Web",
                trust_policy={"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                    "Principal": {"Federated": "arn:aws:iam::333333333333:oidc-provider/oidc.fakeaws.local"},
                    "Condition": {"StringEquals": {"oidc.fakeaws.local:sub": "ci-job"}}}]})
        tok = fa.post("issue_web_identity_token", sub="ci-job")["token"]
        sts = botocore.session.Session().create_client(
            "sts", region_name="us-east-1", endpoint_url=fa.url,
            config=Config(signature_version=botocore.UNSIGNED))
        out = sts.assume_role_with_web_identity(RoleArn="arn:aws:iam::333333333333:role/Web",
                                                RoleSessionName="ci", WebIdentityToken=tok)
        check("AssumeRoleWithWebIdentity", out["AssumedRoleUser"]["Arn"].endswith(":assumed-role/Web/ci"))
        tok2 = fa.post("issue_web_identity_token", sub="other")["token"]
        check("web identity with the wrong sub is denied", code_of(lambda: sts.assume_role_with_web_identity(
            RoleArn="arn:aws:iam::333333333333:role/Web", RoleSessionName="ci", WebIdentityToken=tok2)) == "AccessDenied")
        check("forged web identity token", code_of(lambda: sts.assume_role_with_web_identity(
            RoleArn="arn:aws:iam::333333333333:role/Web", RoleSessionName="ci",
            WebIdentityToken=tok[:-4] + "0000")) == "InvalidIdentityToken")

        # SecureTransport switch
        s3.put_bucket_policy(Bucket="core-bucket", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::core-bucket/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
        check("requests count as TLS by default", code_of(lambda: s3.get_object(Bucket="core-bucket", Key="a/b.txt")) is None)
        fa.post("set_secure_transport", secure=False)
        check("set_secure_transport false triggers the deny",
              code_of(lambda: s3.get_object(Bucket="core-bucket", Key="a/b.txt")) == "AccessDenied")
        fa.post("set_secure_transport", secure=True)

        # --- S3 bucket cases ---
        m3 = next(a for a in org["accounts"] if a["id"] == "333333333333")
        s3m3 = client(fa, "s3", m3)
        s3eu = client(fa, "s3", m, region="eu-west-1")
        s3eu.create_bucket(Bucket="core-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        check("re-create own eu bucket -> BucketAlreadyOwnedByYou", code_of(lambda: s3eu.create_bucket(
            Bucket="core-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})) == "BucketAlreadyOwnedByYou")
        check("re-create own us-east-1 bucket -> 200 (legacy)", code_of(lambda: s3.create_bucket(Bucket="core-bucket")) is None)
        check("someone else's name -> BucketAlreadyExists",
              code_of(lambda: s3m3.create_bucket(Bucket="core-bucket")) == "BucketAlreadyExists")
        check("regional endpoint without LocationConstraint -> IllegalLocationConstraintException",
              code_of(lambda: s3eu.create_bucket(Bucket="core-eu-2")) == "IllegalLocationConstraintException")
        check("get-bucket-location", s3.get_bucket_location(Bucket="core-eu")["LocationConstraint"] == "eu-west-1")
        check("get-bucket-location us-east-1 is empty", s3.get_bucket_location(Bucket="core-bucket")["LocationConstraint"] is None)
        check("wrong-region request is redirected by botocore",
              code_of(lambda: s3.list_objects_v2(Bucket="core-eu")) is None)
        check("MalformedPolicy", code_of(lambda: s3.put_bucket_policy(Bucket="core-eu", Policy="{not json")) == "MalformedPolicy")
        check("policy resource outside the bucket -> MalformedPolicy", code_of(lambda: s3eu.put_bucket_policy(
            Bucket="core-eu", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::other/*"}]}))) == "MalformedPolicy")
        check("policy over 20 KB -> PolicyTooLarge", code_of(lambda: s3eu.put_bucket_policy(
            Bucket="core-eu", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Sid": "x" * 21000, "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::core-eu/*"}]}))) == "PolicyTooLarge")
        check("public policy under BlockPublicPolicy -> AccessDenied", code_of(lambda: s3eu.put_bucket_policy(
            Bucket="core-eu", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::core-eu/*"}]}))) == "AccessDenied")
        check("NoSuchBucketPolicy", code_of(lambda: s3eu.get_bucket_policy(Bucket="core-eu")) == "NoSuchBucketPolicy")
        check("NoSuchBucket", code_of(lambda: s3.get_bucket_policy(Bucket="no-such-bucket-x")) == "NoSuchBucket")
        pab = s3eu.get_public_access_block(Bucket="core-eu")["PublicAccessBlockConfiguration"]
        check("new buckets block public access", all(pab.values()) and len(pab) == 4)
        s3eu.put_public_access_block(Bucket="core-eu", PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": False, "RestrictPublicBuckets": True})
        pab = s3eu.get_public_access_block(Bucket="core-eu")["PublicAccessBlockConfiguration"]
        check("put/get public access block", pab["IgnorePublicAcls"] is False and pab["RestrictPublicBuckets"] is True)
        s3eu.delete_public_access_block(Bucket="core-eu")
        check("NoSuchPublicAccessBlockConfiguration", code_of(
            lambda: s3eu.get_public_access_block(Bucket="core-eu")) == "NoSuchPublicAccessBlockConfiguration")
        check("ownership default BucketOwnerEnforced", s3eu.get_bucket_ownership_controls(Bucket="core-eu")
              ["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == "BucketOwnerEnforced")
        s3eu.delete_bucket_ownership_controls(Bucket="core-eu")
        check("OwnershipControlsNotFoundError", code_of(
            lambda: s3eu.get_bucket_ownership_controls(Bucket="core-eu")) == "OwnershipControlsNotFoundError")
        check("ObjectLockConfigurationNotFoundError", code_of(
            lambda: s3eu.get_object_lock_configuration(Bucket="core-eu")) == "ObjectLockConfigurationNotFoundError")
        check("object lock needs versioning -> InvalidBucketState", code_of(lambda: s3eu.put_object_lock_configuration(
            Bucket="core-eu", ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})) == "InvalidBucketState")
        s3eu.put_bucket_versioning(Bucket="core-eu", VersioningConfiguration={"Status": "Enabled"})
        s3eu.put_object_lock_configuration(Bucket="core-eu", ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 30}}})
        ol = s3eu.get_object_lock_configuration(Bucket="core-eu")["ObjectLockConfiguration"]
        check("object lock round-trips", ol["Rule"]["DefaultRetention"] == {"Mode": "COMPLIANCE", "Days": 30})
        check("versioning cannot be suspended under object lock", code_of(lambda: s3eu.put_bucket_versioning(
            Bucket="core-eu", VersioningConfiguration={"Status": "Suspended"})) == "InvalidBucketState")
        v1 = s3eu.put_object(Bucket="core-eu", Key="locked", Body=b"1")["VersionId"]
        s3eu.delete_object(Bucket="core-eu", Key="locked")
        check("delete in a versioned bucket leaves a delete marker",
              code_of(lambda: s3eu.get_object(Bucket="core-eu", Key="locked")) == "NoSuchKey" and
              s3eu.get_object(Bucket="core-eu", Key="locked", VersionId=v1)["Body"].read() == b"1")
        check("locked version cannot be deleted", code_of(
            lambda: s3eu.delete_object(Bucket="core-eu", Key="locked", VersionId=v1)) == "AccessDenied")
        check("NoSuchLifecycleConfiguration", code_of(
            lambda: s3eu.get_bucket_lifecycle_configuration(Bucket="core-eu")) == "NoSuchLifecycleConfiguration")
        s3eu.put_bucket_lifecycle_configuration(Bucket="core-eu", LifecycleConfiguration={"Rules": [{
            "ID": "expire", "Status": "Enabled", "Filter": {"Prefix": "AWSLogs/"}, "Expiration": {"Days": 365}}]})
        lc = s3eu.get_bucket_lifecycle_configuration(Bucket="core-eu")["Rules"][0]
        check("lifecycle round-trips", lc["ID"] == "expire" and lc["Expiration"]["Days"] == 365)
        check("bad lifecycle Days -> InvalidArgument", code_of(lambda: s3eu.put_bucket_lifecycle_configuration(
            Bucket="core-eu", LifecycleConfiguration={"Rules": [{"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""},
                                                                 "Expiration": {"Days": 0}}]})) == "InvalidArgument")
        s3eu.create_bucket(Bucket="core-eu-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3eu.put_bucket_logging(Bucket="core-eu", BucketLoggingStatus={"LoggingEnabled": {
            "TargetBucket": "core-eu-logs", "TargetPrefix": "access/"}})
        check("logging round-trips", s3eu.get_bucket_logging(Bucket="core-eu")["LoggingEnabled"]["TargetPrefix"] == "access/")
        check("logging to a bucket in another region -> InvalidTargetBucketForLogging", code_of(
            lambda: s3eu.put_bucket_logging(Bucket="core-eu", BucketLoggingStatus={"LoggingEnabled": {
                "TargetBucket": "core-bucket", "TargetPrefix": "x/"}})) == "InvalidTargetBucketForLogging")
        s3eu.put_bucket_encryption(Bucket="core-eu", ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "arn:aws:kms:eu-west-1:111111111111:key/x"},
            "BucketKeyEnabled": True}]})
        enc = s3eu.get_bucket_encryption(Bucket="core-eu")["ServerSideEncryptionConfiguration"]["Rules"][0]
        check("encryption round-trips", enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
              and enc["BucketKeyEnabled"] is True)
        check("SSE-KMS write with a missing key -> KMS.NotFoundException",
              code_of(lambda: s3eu.put_object(Bucket="core-eu", Key="k", Body=b"x")) == "KMS.NotFoundException")
        s3.put_bucket_policy(Bucket="core-bucket", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::core-bucket/*"}]}))
        check("explicit Deny applies to the owner too",
              code_of(lambda: s3.delete_object(Bucket="core-bucket", Key="a/b.txt")) == "AccessDenied")
        check("the owner can still replace the policy", code_of(lambda: s3.delete_bucket_policy(Bucket="core-bucket")) is None)
        check("DeleteBucket on a non-empty bucket -> BucketNotEmpty",
              code_of(lambda: s3.delete_bucket(Bucket="core-bucket")) == "BucketNotEmpty")

        # --- STS / Organizations cases ---
        sts3 = client(fa, "sts", m3)
        check("assume-role without trust is denied", code_of(lambda: sts3.assume_role(
            RoleArn="arn:aws:iam::444444444444:role/OrganizationAccountAccessRole", RoleSessionName="xx")) == "AccessDenied")
        fa.post("create_role", account="222222222222", name="ExtRole", trust_policy={"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "111111111111"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "secret-ext"}}}]})
        stsm = client(fa, "sts", m)
        ext = "arn:aws:iam::222222222222:role/ExtRole"
        check("wrong ExternalId is denied", code_of(lambda: stsm.assume_role(
            RoleArn=ext, RoleSessionName="sess", ExternalId="wrong-ext")) == "AccessDenied")
        check("missing ExternalId is denied", code_of(lambda: stsm.assume_role(RoleArn=ext, RoleSessionName="sess")) == "AccessDenied")
        cr = stsm.assume_role(RoleArn=ext, RoleSessionName="sess", ExternalId="secret-ext")["Credentials"]
        check("right ExternalId", cr["AccessKeyId"].startswith("ASIA"))
        check("DurationSeconds above the role maximum -> ValidationError", code_of(lambda: stsm.assume_role(
            RoleArn=ext, RoleSessionName="sess", ExternalId="secret-ext", DurationSeconds=7200)) == "ValidationError")
        chained = client(fa, "sts", {"access_key_id": cr["AccessKeyId"], "secret_access_key": cr["SecretAccessKey"],
                                     "session_token": cr["SessionToken"]})
        check("wrong session token -> InvalidClientTokenId", code_of(lambda: client(fa, "sts", {
            "access_key_id": cr["AccessKeyId"], "secret_access_key": cr["SecretAccessKey"],
            "session_token": cr["SessionToken"][:-3] + "AAA"}).get_caller_identity()) == "InvalidClientTokenId")
        check("role session identity", chained.get_caller_identity()["Arn"] ==
              "arn:aws:sts::222222222222:assumed-role/ExtRole/sess")
        check("member cannot list accounts", code_of(lambda: client(fa, "organizations", m3).list_accounts())
              == "AccessDeniedException")
        fa.post("create_account", id="555500000000", name="Outsider", in_org=False)
        accts = [a["Id"] for a in client(fa, "organizations", m).list_accounts()["Accounts"]]
        check("accounts outside the organization are not listed", "555500000000" not in accts and len(accts) == 4)

        # --- KMS cases ---
        kms = client(fa, "kms", m)
        kid = kms.create_key(Description="core")["KeyMetadata"]["KeyId"]
        karn = kms.describe_key(KeyId=kid)["KeyMetadata"]["Arn"]
        lock = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
            "Service": "cloudtrail.amazonaws.com"}, "Action": "kms:*", "Resource": "*"}]})
        check("lock-out safety check (PutKeyPolicy)", code_of(lambda: kms.put_key_policy(
            KeyId=kid, PolicyName="default", Policy=lock)) == "MalformedPolicyDocumentException")
        check("lock-out safety check (CreateKey)", code_of(lambda: kms.create_key(Policy=lock)) == "MalformedPolicyDocumentException")
        check("bypass the lock-out check", code_of(lambda: kms.create_key(Policy=lock, BypassPolicyLockoutSafetyCheck=True)) is None)
        check("key policy over 32 KB -> LimitExceededException", code_of(lambda: kms.put_key_policy(
            KeyId=kid, PolicyName="default", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Sid": "x" * 33000, "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                "Action": "kms:*", "Resource": "*"}]}))) == "LimitExceededException")
        check("unknown role principal -> MalformedPolicyDocumentException", code_of(lambda: kms.put_key_policy(
            KeyId=kid, PolicyName="default", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*", "Resource": "*"},
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/Nope"}, "Action": "kms:Decrypt",
                 "Resource": "*"}]}))) == "MalformedPolicyDocumentException")
        kms.create_alias(AliasName="alias/core", TargetKeyId=kid)
        check("duplicate alias -> AlreadyExistsException",
              code_of(lambda: kms.create_alias(AliasName="alias/core", TargetKeyId=kid)) == "AlreadyExistsException")
        check("alias/aws/ is reserved", code_of(lambda: kms.create_alias(AliasName="alias/aws/x", TargetKeyId=kid))
              == "InvalidAliasNameException")
        check("describe-key by alias", kms.describe_key(KeyId="alias/core")["KeyMetadata"]["KeyId"] == kid)
        check("list-aliases", [a["AliasName"] for a in kms.list_aliases(KeyId=kid)["Aliases"]] == ["alias/core"])
        kms.enable_key_rotation(KeyId=kid)
        check("rotation enabled", kms.get_key_rotation_status(KeyId=kid)["KeyRotationEnabled"] is True)
        dk = kms.generate_data_key(KeyId=kid, KeySpec="AES_256", EncryptionContext={"a": "b"})
        check("generate-data-key and decrypt", kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext={"a": "b"})
              ["Plaintext"] == dk["Plaintext"])
        check("decrypt with the wrong encryption context -> InvalidCiphertextException", code_of(
            lambda: kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext={"a": "c"})) == "InvalidCiphertextException")
        kms3 = client(fa, "kms", m3)
        check("other account without a grant in the key policy -> AccessDeniedException",
              code_of(lambda: kms3.generate_data_key(KeyId=karn, KeySpec="AES_256")) == "AccessDeniedException")
        check("other account cannot read the key policy", code_of(
            lambda: kms3.get_key_policy(KeyId=karn, PolicyName="default")) == "AccessDeniedException")
        kms.disable_key(KeyId=kid)
        check("disabled key -> DisabledException",
              code_of(lambda: kms.generate_data_key(KeyId=kid, KeySpec="AES_256")) == "DisabledException")
        check("pending window outside 7..30 -> ValidationException", code_of(
            lambda: kms.schedule_key_deletion(KeyId=karn, PendingWindowInDays=3)) == "ValidationException")
        kms.schedule_key_deletion(KeyId=kid, PendingWindowInDays=7)
        check("pending deletion -> KMSInvalidStateException", code_of(lambda: kms.enable_key(KeyId=kid)) == "KMSInvalidStateException")
        kms.cancel_key_deletion(KeyId=kid)
        check("cancel deletion leaves the key Disabled", kms.describe_key(KeyId=kid)["KeyMetadata"]["KeyState"] == "Disabled")
        check("unknown key -> NotFoundException", code_of(
            lambda: kms.describe_key(KeyId="00000000-0000-0000-0000-000000000000")) == "NotFoundException")

        # loopback-only, unknown control op
        try:
            urllib.request.urlopen(urllib.request.Request(fa.url + "/_fake/nope", data=b"{}", method="POST"))
            check("unknown control op -> 404", False)
        except urllib.error.HTTPError as e:
            check("unknown control op -> 404", e.code == 404)
    # state survives a restart
    with FakeAWS(seed=3, state=state) as fa2:
        s3b = client(fa2, "s3", m)
        got = code_of(lambda: s3b.head_object(Bucket="core-bucket", Key="a/b.txt"))
        check("--state DIR keeps the world across restarts", got is None, got)
        fa2.post("reset")
        check("reset forgets everything", code_of(lambda: s3b.list_buckets()) == "InvalidAccessKeyId")
    err = open(os.path.join(tmp, "stderr")).read()
    check("server printed no traceback", "Traceback" not in err, err[-500:])
finally:
    shutil.rmtree(tmp, ignore_errors=True)
sys.exit(failed)
