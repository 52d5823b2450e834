#!/usr/bin/python3
"""bench/gen_world.py: writes an organization's CloudTrail world to disk for
bench/replay_server.c (issue 17).

    gen_world.py --out DIR [--accounts N] [--regions N] [--hours H] [--jobs J]
                 [--tamper] [--broken K] [--seed S]

Organization mode: one organization trail (multi-region, log file validation
on, SSE-KMS) in the management account 111111111111, logs in the bucket
org-trail-logs of the log-archive account 222222222222, members
300000000000 + i.  Time starts 2026-01-01T00:00:00Z; H hours are delivered.

Objects (DIR/objects.idx + DIR/blob.bin), per account x region x hour:
  - log files, key and layout as CloudTrail writes them:
    AWSLogs/<org>/<acct>/CloudTrail/<region>/Y/M/D/<acct>_CloudTrail_<region>_<stamp>_<rand>.json.gz
    "busy" cells (the home region us-east-1 and one more region per account)
    get 12 files an hour (every 5 minutes), "quiet" cells 2 an hour;
  - one digest file per hour (previous-digest chain, SHA256withRSA over the
    CloudTrail string to sign, signature in x-amz-meta-signature), signed
    with a per-region RSA-2048 test key that ListPublicKeys returns.
Log bodies (the stated size distribution, issue 18 allows synthesized
bodies): a pool of 96 gzip'd bodies, each a {"Records": [...]} document of
records with the full CloudTrail field set (userIdentity with
sessionContext, tlsDetails, requestParameters/responseElements, resources,
...).  Busy-cell files draw from 64 bodies whose record count is
log-normal (median 40, 5..400 records, about 1.1 KiB of JSON per record);
quiet-cell files from 32 bodies of 1..8 records.  A log object's body is
pool[hash(key) % n]; its digest lists that body's SHA-256, so the
integrity chain is exact.  Records do not name the object's own account and
region (they are shared); trailkeep does not read record fields.
The generator prints the gzip ratio and the size distribution it wrote.

--tamper: one tamper kind per member account 1..9, region eu-west-1, in the
middle of the window (what tests/fakeaws/tamper.py does):
modify_log, truncate_log, delete_log, append_after_gzip, inject_log,
delete_digest, modify_digest, strip_signature, move_digest.
DIR/expect.json lists the (code, key) findings validate must report.
--broken K: the last K member accounts left the organization 6 hours before
the end (at least 2 h into the window): their delivery stopped and
ListAccounts no longer lists them (doctor: account_left_org).

Canned answers (DIR/canned/) for every other call trailkeep's verify,
doctor, plan/apply --dry-run and awscli's validate-logs make in organization
mode (found by running them against tests/fakeaws and its `stats`).
DIR/world.json: ids, end time, config path; DIR/org.ini: the config.
"""
import argparse
import base64
import datetime
import gzip
import hashlib
import json
import math
import multiprocessing
import os
import random
import shutil
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

REGIONS17 = ["us-east-1", "eu-west-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1",
             "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "ap-south-1",
             "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1",
             "ap-southeast-2", "sa-east-1"]
MGMT, LA = "111111111111", "222222222222"
ORG = "o-benchreplay1"
BUCKET = "org-trail-logs"
TRAIL = "org-trail"
HOME = "us-east-1"
T0 = 1767225600  # 2026-01-01T00:00:00Z
TRAIL_ARN = "arn:aws:cloudtrail:us-east-1:%s:trail/%s" % (MGMT, TRAIL)
KEY_ID = "5e1ec7ed-0000-4000-8000-00000000b0b0"
KEY_ARN = "arn:aws:kms:us-east-1:%s:key/%s" % (LA, KEY_ID)
TAMPER_KINDS = ["modify_log", "truncate_log", "delete_log", "append_after_gzip", "inject_log",
                "delete_digest", "modify_digest", "strip_signature", "move_digest"]
TAMPER_REGION = "eu-west-1"
ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def iso(t):
    d = datetime.datetime.fromtimestamp(t, tz=datetime.timezone.utc)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (d.year, d.month, d.day, d.hour, d.minute, d.second)


def member(i):
    return "%012d" % (300000000000 + i)


def accounts(n):
    return [MGMT, LA] + [member(i) for i in range(max(n - 2, 0))]


# --- log bodies ----------------------------------------------------------------------

EVENTS = [("ec2.amazonaws.com", "DescribeInstances", True), ("s3.amazonaws.com", "ListBuckets", True),
          ("sts.amazonaws.com", "AssumeRole", False), ("iam.amazonaws.com", "GetRole", True),
          ("kms.amazonaws.com", "Decrypt", True), ("lambda.amazonaws.com", "ListFunctions20150331", True),
          ("ec2.amazonaws.com", "RunInstances", False), ("ssm.amazonaws.com", "GetParameters", True),
          ("config.amazonaws.com", "PutEvaluations", False), ("logs.amazonaws.com", "CreateLogStream", False),
          ("dynamodb.amazonaws.com", "DescribeTable", True), ("ecr.amazonaws.com", "GetAuthorizationToken", True)]
ROLES = ["app", "deploy", "ci-runner", "AWSServiceRoleForConfig", "OrganizationAccountAccessRole",
         "SecurityAudit", "eks-node", "lambda-exec"]
AGENTS = ["aws-sdk-go/1.44.298 (go1.20.6; linux; amd64)", "Boto3/1.28.40 md/Botocore#1.31.40 ua/2.0 "
          "os/linux#5.10 md/arch#x86_64 lang/python#3.11.4 exec-env/AWS_Lambda_python3.11",
          "config.amazonaws.com", "aws-cli/2.13.5 Python/3.11.4 Linux/5.15 exe/x86_64.amzn.2023",
          "AWS Internal", "aws-sdk-java/2.20.100 Linux/5.10 OpenJDK_64-Bit_Server_VM/17.0.8"]


def record(rng, acct, region, t, sessions):
    """one record; sessions: the few (role, session, principal, access key,
    source IP) a log file's callers share, as in real files"""
    src, name, ro = EVENTS[rng.randrange(len(EVENTS))]
    role, sess, principal, akid, ip = sessions[rng.randrange(len(sessions))]
    h = "%032x" % rng.getrandbits(128)
    rid = "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:32])
    h2 = "%032x" % rng.getrandbits(128)
    eid = "%s-%s-4%s-%s-%s" % (h2[:8], h2[8:12], h2[13:16], h2[16:20], h2[20:32])
    rec = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "%s:%s" % (principal, sess),
            "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (acct, role, sess),
            "accountId": acct,
            "accessKeyId": akid,
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": principal,
                                  "arn": "arn:aws:iam::%s:role/%s" % (acct, role),
                                  "accountId": acct, "userName": role},
                "webIdFederationData": {},
                "attributes": {"creationDate": iso(t - t % 3600), "mfaAuthenticated": "false"}},
            "invokedBy": src if rng.random() < 0.3 else None},
        "eventTime": iso(t),
        "eventSource": src,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": AGENTS[rng.randrange(len(AGENTS))],
        "requestParameters": {"maxResults": 1000, "filterSet": {}, "instancesSet": {},
                              "roleArn": "arn:aws:iam::%s:role/%s" % (acct, role)} if not ro or rng.random() < 0.5
        else None,
        "responseElements": {"requestId": rid, "credentials": {"accessKeyId": "ASIAEXAMPLE",
                                                               "expiration": iso(t + 3600)}}
        if not ro else None,
        "requestID": rid,
        "eventID": eid,
        "readOnly": ro,
        "resources": [{"accountId": acct, "type": "AWS::IAM::Role",
                       "ARN": "arn:aws:iam::%s:role/%s" % (acct, role)}] if rng.random() < 0.4 else None,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": acct,
        "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                       "clientProvidedHostHeader": "%s.%s.amazonaws.com" % (src.split(".")[0], region)},
    }
    if rec["userIdentity"]["invokedBy"] is None:
        del rec["userIdentity"]["invokedBy"]
    for k in ("requestParameters", "responseElements", "resources"):
        if rec[k] is None and k == "resources":
            del rec[k]
    return rec


def make_pool(rng, n, lo, hi, median):
    """n bodies: (gz bytes, sha256 of the JSON, md5 of gz, records, raw size)"""
    out = []
    for i in range(n):
        if median:
            k = int(min(hi, max(lo, round(math.exp(rng.gauss(math.log(median), 0.8))))))
        else:
            k = rng.randint(lo, hi)
        acct = member(rng.randrange(1000))
        region = REGIONS17[rng.randrange(len(REGIONS17))]
        t = T0 + rng.randrange(3600)
        sessions = []
        for _ in range(rng.randint(2, 6)):
            role = ROLES[rng.randrange(len(ROLES))]
            sessions.append((role, "%s-%d" % (role, rng.randrange(1000)),
                             "AROA" + "".join(rng.choice(ALNUM[26:]) for _ in range(17)).upper(),
                             "ASIA" + "".join(rng.choice(ALNUM[26:]) for _ in range(16)).upper(),
                             "10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(256))))
        recs = [record(rng, acct, region, t + j * 7, sessions) for j in range(k)]
        raw = json.dumps({"Records": recs}, separators=(",", ":")).encode()
        gz = gzip.compress(raw, compresslevel=6, mtime=0)
        out.append((gz, hashlib.sha256(raw).hexdigest(), hashlib.md5(gz).hexdigest(), k, len(raw)))
    return out


# --- per cell ----------------------------------------------------------------------

def log_key(acct, region, t, tag):
    d = datetime.datetime.fromtimestamp(t, tz=datetime.timezone.utc)
    return "AWSLogs/%s/%s/CloudTrail/%s/%04d/%02d/%02d/%s_CloudTrail_%s_%04d%02d%02dT%02d%02dZ_%s.json.gz" % (
        ORG, acct, region, d.year, d.month, d.day, acct, region, d.year, d.month, d.day, d.hour,
        d.minute, tag)


def digest_key(acct, region, t):
    d = datetime.datetime.fromtimestamp(t, tz=datetime.timezone.utc)
    return "AWSLogs/%s/%s/CloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_%s_%s_%s.json.gz" % (
        ORG, acct, region, d.strftime("%Y/%m/%d"), acct, region, TRAIL, HOME,
        d.strftime("%Y%m%dT%H%M%SZ"))


def string_to_sign(end_time, key, raw, prev_sig):
    return ("%s\n%s/%s\n%s\n%s" % (end_time, BUCKET, key, hashlib.sha256(raw).hexdigest(),
                                   prev_sig if prev_sig is not None else "null")).encode()


_G = {}


def _init(pools, keys_pem, hours, stop):
    _G["pools"] = pools
    _G["keys"] = {r: serialization.load_pem_private_key(p, password=None) for r, p in keys_pem.items()}
    _G["fp"] = {r: hashlib.md5(k.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1)).hexdigest()
        for r, k in _G["keys"].items()}
    _G["hours"] = hours
    _G["stop"] = stop


def busy(acct, region):
    if region == HOME:
        return True
    h = int(hashlib.md5(acct.encode()).hexdigest()[:8], 16)
    return region == REGIONS17[1 + h % (len(REGIONS17) - 1)]


def gen_cell(args):
    """Objects of one account x region: list of (key, kind, payload) where
    kind 'L' payload = pool index, 'D' payload = (gz bytes, signature)"""
    acct, region = args
    pools = _G["pools"]
    hours, stop = _G["hours"], _G["stop"].get(acct, _G["hours"])
    priv, fp = _G["keys"][region], _G["fp"][region]
    seed = int(hashlib.md5(("%s/%s" % (acct, region)).encode()).hexdigest()[:12], 16)
    rng = random.Random(seed)
    b = busy(acct, region)
    pool = pools["busy" if b else "quiet"]
    poff = 0 if b else len(pools["busy"])
    mins = list(range(2, 60, 5)) if b else [17, 47]
    out = []
    prev = None
    for h in range(hours):
        if h >= stop:
            break
        start, end = T0 + h * 3600, T0 + (h + 1) * 3600
        files = []
        for m in mins:
            t = start + m * 60
            tag = base64.b64encode(rng.getrandbits(96).to_bytes(12, "big"), b"Zz")[:16].decode()
            key = log_key(acct, region, t, tag)
            pi = rng.randrange(len(pool))
            gz, sha, _md5, nrec, _ = pool[pi]
            out.append((key, "L", poff + pi, t))
            files.append({"s3Bucket": BUCKET, "s3Object": key, "hashValue": sha,
                          "hashAlgorithm": "SHA-256",
                          "newestEventTime": iso(t - 30 + nrec % 30), "oldestEventTime": iso(t - 290)})
        dkey = digest_key(acct, region, end)
        d = {"awsAccountId": acct, "digestStartTime": iso(start), "digestEndTime": iso(end),
             "digestS3Bucket": BUCKET, "digestS3Object": dkey,
             "digestPublicKeyFingerprint": fp, "digestSignatureAlgorithm": "SHA256withRSA",
             "newestEventTime": max((f["newestEventTime"] for f in files), default=None),
             "oldestEventTime": min((f["oldestEventTime"] for f in files), default=None),
             "previousDigestS3Bucket": prev["bucket"] if prev else None,
             "previousDigestS3Object": prev["key"] if prev else None,
             "previousDigestHashValue": prev["hash"] if prev else None,
             "previousDigestHashAlgorithm": "SHA-256" if prev else None,
             "previousDigestSignature": prev["sig"] if prev else None,
             "logFiles": files}
        raw = json.dumps(d, separators=(",", ":")).encode()
        sig = priv.sign(string_to_sign(d["digestEndTime"], dkey, raw, d["previousDigestSignature"]),
                        padding.PKCS1v15(), hashes.SHA256()).hex()
        out.append((dkey, "D", (gzip.compress(raw, compresslevel=6, mtime=0), sig, raw), end + 60))
        prev = {"bucket": BUCKET, "key": dkey, "hash": hashlib.sha256(raw).hexdigest(), "sig": sig}
    return acct, region, out


# --- canned answers ------------------------------------------------------------------

def canned(out, name, body, status=200, ctype=None):
    if ctype is None:
        ctype = "application/x-amz-json-1.1" if not isinstance(body, str) or not body.startswith("<") \
            else "text/xml"
    if not isinstance(body, str):
        body = json.dumps(body)
    with open(os.path.join(out, "canned", name), "w") as f:
        f.write("%d %s\n%s" % (status, ctype, body))


def write_list_accounts(out, accts):
    """ListAccounts pages of 20 (NextToken pageN) for accts"""
    for f in os.listdir(os.path.join(out, "canned")):
        if f.startswith("ListAccounts"):
            os.unlink(os.path.join(out, "canned", f))
    page = 20
    for p in range(0, len(accts), page):
        chunk = accts[p:p + page]
        body = {"Accounts": [{"Id": a, "Arn": "arn:aws:organizations::%s:account/%s/%s" % (MGMT, ORG, a),
                              "Email": "acct-%s@example.com" % a, "Name": "Account %s" % a,
                              "Status": "ACTIVE", "JoinedMethod": "CREATED",
                              "JoinedTimestamp": float(T0 - 86400)} for a in chunk]}
        if p + page < len(accts):
            body["NextToken"] = "page%d" % (p // page + 1)
        canned(out, "ListAccounts" + ("" if p == 0 else "#page%d" % (p // page)), body)


def write_canned(out, accts, regions, keys_pub, end):
    os.makedirs(os.path.join(out, "canned"), exist_ok=True)
    x = '<?xml version="1.0" encoding="UTF-8"?>\n'
    sts = "https://sts.amazonaws.com/doc/2011-06-15/"
    canned(out, "GetCallerIdentity",
           '<GetCallerIdentityResponse xmlns="%s"><GetCallerIdentityResult><Arn>arn:aws:iam::%s:user/admin'
           '</Arn><UserId>AIDAREPLAYADMIN00001</UserId><Account>%s</Account></GetCallerIdentityResult>'
           '<ResponseMetadata><RequestId>replay</RequestId></ResponseMetadata></GetCallerIdentityResponse>'
           % (sts, MGMT, MGMT))
    canned(out, "AssumeRole",
           '<AssumeRoleResponse xmlns="%s"><AssumeRoleResult><Credentials><AccessKeyId>ASIAREPLAY0000000001'
           '</AccessKeyId><SecretAccessKey>replayreplayreplayreplayreplayreplay0000</SecretAccessKey>'
           '<SessionToken>IQoJreplaysessiontoken</SessionToken><Expiration>2027-01-01T00:00:00Z</Expiration>'
           '</Credentials><AssumedRoleUser><AssumedRoleId>AROAREPLAY:trailkeep</AssumedRoleId>'
           '<Arn>arn:aws:sts::%s:assumed-role/OrganizationAccountAccessRole/trailkeep</Arn></AssumedRoleUser>'
           '</AssumeRoleResult><ResponseMetadata><RequestId>replay</RequestId></ResponseMetadata>'
           '</AssumeRoleResponse>' % (sts, LA))
    trail = {"Name": TRAIL, "S3BucketName": BUCKET, "IncludeGlobalServiceEvents": True,
             "IsMultiRegionTrail": True, "HomeRegion": HOME, "TrailARN": TRAIL_ARN,
             "LogFileValidationEnabled": True, "KmsKeyId": KEY_ARN, "HasCustomEventSelectors": True,
             "HasInsightSelectors": False, "IsOrganizationTrail": True}
    canned(out, "GetTrail", {"Trail": trail})
    canned(out, "DescribeTrails", {"trailList": [trail]})
    canned(out, "GetTrailStatus", {"IsLogging": True, "LatestDeliveryTime": end - 180,
                                   "StartLoggingTime": T0, "LatestDigestDeliveryTime": end,
                                   "TimeLoggingStarted": iso(T0),
                                   "LatestDeliveryAttemptSucceeded": iso(end - 180),
                                   "LatestDigestDeliveryAttemptSucceeded": iso(end)})
    canned(out, "GetEventSelectors", {"TrailARN": TRAIL_ARN, "EventSelectors": [
        {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
         "ExcludeManagementEventSources": []}]})
    canned(out, "GetInsightSelectors", {"TrailARN": TRAIL_ARN, "InsightSelectors": []})
    canned(out, "LookupEvents", {"Events": []})
    for r in regions:
        canned(out, "ListPublicKeys@" + r, {"PublicKeyList": [
            {"Value": keys_pub[r][0], "ValidityStartTime": T0 - 3600,
             "ValidityEndTime": T0 + 365 * 86400, "Fingerprint": keys_pub[r][1]}]})
    canned(out, "ListPublicKeys", {"PublicKeyList": []})
    write_list_accounts(out, accts)
    canned(out, "ListAWSServiceAccessForOrganization", {"EnabledServicePrincipals": [
        {"ServicePrincipal": "cloudtrail.amazonaws.com", "DateEnabled": float(T0 - 86400)}]})
    canned(out, "DescribeOrganization", {"Organization": {
        "Id": ORG, "Arn": "arn:aws:organizations::%s:organization/%s" % (MGMT, ORG),
        "FeatureSet": "ALL", "MasterAccountArn": "arn:aws:organizations::%s:account/%s/%s" % (MGMT, ORG, MGMT),
        "MasterAccountId": MGMT, "MasterAccountEmail": "management@example.com"}})
    canned(out, "ListDelegatedAdministrators", {"DelegatedAdministrators": []})
    canned(out, "DescribeKey", {"KeyMetadata": {
        "AWSAccountId": LA, "KeyId": KEY_ID, "Arn": KEY_ARN, "CreationDate": float(T0 - 86400),
        "Enabled": True, "Description": "trail key", "KeyUsage": "ENCRYPT_DECRYPT", "KeyState": "Enabled",
        "Origin": "AWS_KMS", "KeyManager": "CUSTOMER", "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
        "KeySpec": "SYMMETRIC_DEFAULT", "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"], "MultiRegion": False}})
    kpol = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % LA},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "CloudTrailEncrypt", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "kms:GenerateDataKey*", "Resource": "*",
         "Condition": {"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn":
                                      "arn:aws:cloudtrail:*:%s:trail/*" % MGMT}}}]}
    canned(out, "GetKeyPolicy", {"Policy": json.dumps(kpol), "PolicyName": "default"})
    canned(out, "GetKeyRotationStatus", {"KeyRotationEnabled": True, "KeyId": KEY_ARN})
    s3 = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
    canned(out, "s3-location", x + '<LocationConstraint %s></LocationConstraint>' % s3, ctype="application/xml")
    canned(out, "s3-versioning", x + '<VersioningConfiguration %s><Status>Enabled</Status>'
           '</VersioningConfiguration>' % s3, ctype="application/xml")
    canned(out, "s3-encryption", x + '<ServerSideEncryptionConfiguration %s><Rule>'
           '<ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>%s'
           '</KMSMasterKeyID></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled>'
           '</Rule></ServerSideEncryptionConfiguration>' % (s3, KEY_ARN), ctype="application/xml")
    canned(out, "s3-publicAccessBlock", x + '<PublicAccessBlockConfiguration %s><BlockPublicAcls>true'
           '</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls><BlockPublicPolicy>true'
           '</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets>'
           '</PublicAccessBlockConfiguration>' % s3, ctype="application/xml")
    canned(out, "s3-ownershipControls", x + '<OwnershipControls %s><Rule><ObjectOwnership>BucketOwnerEnforced'
           '</ObjectOwnership></Rule></OwnershipControls>' % s3, ctype="application/xml")
    canned(out, "s3-lifecycle", x + '<Error><Code>NoSuchLifecycleConfiguration</Code><Message>The lifecycle '
           'configuration does not exist</Message><BucketName>%s</BucketName></Error>' % BUCKET,
           status=404, ctype="application/xml")
    canned(out, "s3-object-lock", x + '<Error><Code>ObjectLockConfigurationNotFoundError</Code><Message>Object '
           'Lock configuration does not exist for this bucket</Message><BucketName>%s</BucketName></Error>'
           % BUCKET, status=404, ctype="application/xml")
    canned(out, "s3-logging", x + '<BucketLoggingStatus %s></BucketLoggingStatus>' % s3, ctype="application/xml")
    w = "arn:aws:s3:::%s/AWSLogs/%%s/*" % BUCKET
    pol = {"Version": "2012-10-17", "Statement": [
        {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:GetBucketAcl", "Resource": "arn:aws:s3:::%s" % BUCKET,
         "Condition": {"StringEquals": {"aws:SourceArn": TRAIL_ARN}}},
        {"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": w % MGMT,
         "Condition": {"StringEquals": {"aws:SourceArn": TRAIL_ARN, "s3:x-amz-acl": "bucket-owner-full-control"}}},
        {"Sid": "AWSCloudTrailOrganizationWrite", "Effect": "Allow",
         "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject", "Resource": w % ORG,
         "Condition": {"StringEquals": {"aws:SourceArn": TRAIL_ARN, "s3:x-amz-acl": "bucket-owner-full-control"}}}]}
    canned(out, "s3-policy", json.dumps(pol), ctype="application/json")
    canned(out, "s3-head", "", ctype="application/xml")


def write_config(path, accts, regions):
    lines = ["[organization]", "id = %s" % ORG, "management_account = %s" % MGMT,
             "log_archive_account = %s" % LA, "home_region = %s" % HOME,
             "regions = %s" % ", ".join(regions), "assume_role = OrganizationAccountAccessRole", "",
             "[central]", "bucket = %s" % BUCKET, "max_delivery_age = 1h", "",
             "[trail]", "name = %s" % TRAIL, "mode = organization", "multi_region = true",
             "include_global_events = true", "log_file_validation = true", ""]
    for i, a in enumerate(accts):
        lines += ["[account a%d]" % i, "id = %s" % a, ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


# --- tampering -------------------------------------------------------------------------

def tamper(cells, accts, hours):
    """Apply one tamper kind per member account in TAMPER_REGION; returns
    the expected (code, key) findings.  cells[(acct, region)] is the object
    list of gen_cell (mutated)."""
    expect = []
    members = accts[2:2 + len(TAMPER_KINDS)]
    for kind, acct in zip(TAMPER_KINDS, members):
        objs = cells[(acct, TAMPER_REGION)]
        logs = [i for i, o in enumerate(objs) if o[1] == "L"]
        digs = [i for i, o in enumerate(objs) if o[1] == "D"]
        li, di = logs[len(logs) // 2], digs[len(digs) // 2]
        key, k, payload, t = objs[li]
        dkey, _, (dgz, dsig, draw), dt = objs[di]
        if kind in ("modify_log", "truncate_log", "append_after_gzip"):
            # the body becomes a private copy: ("X", bytes)
            raw = gzip.decompress(POOLS_FLAT[payload][0])
            if kind == "modify_log":
                i = raw.index(b'"eventName":"') + 13
                raw = raw[:i] + (b"X" if raw[i:i + 1] != b"X" else b"Y") + raw[i + 1:]
                body = gzip.compress(raw, mtime=0)
                code = "log_hash_mismatch"
            elif kind == "truncate_log":
                body = gzip.compress(raw[: len(raw) // 2], mtime=0)
                code = "log_hash_mismatch"
            else:
                body = POOLS_FLAT[payload][0] + b"garbage after the gzip member"
                code = "log_format_invalid"
            objs[li] = (key, "X", body, t)
            expect.append((code, key))
        elif kind == "delete_log":
            del objs[li]
            expect.append(("log_missing", key))
        elif kind == "inject_log":
            nk = key[:-24] + "INJECTEDinjected.json.gz"
            objs.append((nk, "L", payload, t + 1))
            expect.append(("log_unreferenced", nk))
        elif kind == "delete_digest":
            del objs[di]
            expect.append(("digest_missing", dkey))
            # the log files only it listed are unreferenced
            d = json.loads(draw)
            for f in d["logFiles"]:
                expect.append(("log_unreferenced", f["s3Object"]))
        elif kind == "modify_digest":
            d = json.loads(draw)
            h = d["logFiles"][0]["hashValue"]
            d["logFiles"][0]["hashValue"] = ("0" if h[0] != "0" else "1") + h[1:]
            raw2 = json.dumps(d, separators=(",", ":")).encode()
            objs[di] = (dkey, "D", (gzip.compress(raw2, mtime=0), dsig, raw2), dt)
            expect.append(("digest_signature_invalid", dkey))
        elif kind == "strip_signature":
            objs[di] = (dkey, "D", (dgz, None, draw), dt)
            expect.append(("digest_signature_invalid", dkey))
        elif kind == "move_digest":
            # copied one second earlier in the same folder, the original deleted
            stamp = dkey[-len("20260101T000000Z.json.gz"):-len(".json.gz")]
            t1 = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ") - datetime.timedelta(seconds=1)
            nk = dkey[:-len("20260101T000000Z.json.gz")] + t1.strftime("%Y%m%dT%H%M%SZ") + ".json.gz"
            del objs[di]
            objs.append((nk, "D", (dgz, dsig, draw), dt))
            expect.append(("digest_missing", dkey))
            expect.append(("digest_moved", nk))
    return sorted(expect)


POOLS_FLAT = []


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--accounts", type=int, default=10)
    ap.add_argument("--regions", type=int, default=3)
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--tamper", action="store_true")
    ap.add_argument("--broken", type=int, default=0)
    ap.add_argument("--seed", type=int, default=17)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    accts = accounts(a.accounts)
    regions = REGIONS17[:a.regions] if a.regions != 3 else ["us-east-1", "eu-west-1", "ap-southeast-2"]
    if os.path.exists(a.out):
        shutil.rmtree(a.out)
    os.makedirs(a.out)
    pools = {"busy": make_pool(rng, 64, 5, 400, 40), "quiet": make_pool(rng, 32, 1, 8, 0)}
    POOLS_FLAT[:] = pools["busy"] + pools["quiet"]
    raw_total = sum(p[4] for p in POOLS_FLAT)
    gz_total = sum(len(p[0]) for p in POOLS_FLAT)
    keys_pem, keys_pub = {}, {}
    for r in regions:
        k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        der = k.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
        keys_pem[r] = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
        keys_pub[r] = (base64.b64encode(der).decode(), hashlib.md5(der).hexdigest())
    stop = {}
    if a.broken:
        for acct in accts[-a.broken:]:
            stop[acct] = max(a.hours - 6, 1)
    work = [(acct, r) for acct in accts for r in regions]
    # bodies: the pool first, then every digest / private body as its cell arrives
    idx = []
    counts = {"L": 0, "D": 0}
    blob = open(os.path.join(a.out, "blob.bin"), "wb")
    off = 0
    pool_at = []
    for gz, sha, md5, _, _ in POOLS_FLAT:
        pool_at.append((off, len(gz), md5))
        blob.write(gz)
        off += len(gz)

    def emit(objs):
        nonlocal off
        for key, kind, payload, t in objs:
            if kind == "L":
                o, n, md5 = pool_at[payload]
                idx.append("%s\t%d\t%d\t%s\t%d\t-" % (key, n, t, md5, o))
                counts["L"] += 1
                continue
            if kind == "X":
                gz, sig = payload, None
                counts["L"] += 1
            else:
                gz, sig, _raw = payload
                counts["D"] += 1
            blob.write(gz)
            idx.append("%s\t%d\t%d\t%s\t%d\t%s" % (key, len(gz), t, hashlib.md5(gz).hexdigest(), off,
                                                   sig or "-"))
            off += len(gz)

    cells = {}
    with multiprocessing.Pool(a.jobs, _init, (pools, keys_pem, a.hours, stop)) as p:
        for acct, r, objs in p.imap_unordered(gen_cell, work, chunksize=4):
            if a.tamper:
                cells[(acct, r)] = objs
            else:
                emit(objs)
    expect = tamper(cells, accts, a.hours) if a.tamper else []
    for objs in cells.values():
        emit(objs)
    blob.close()
    nlogs, ndig = counts["L"], counts["D"]
    idx.sort()
    with open(os.path.join(a.out, "objects.idx"), "w") as f:
        f.write("\n".join(idx) + "\n")
    end = T0 + a.hours * 3600
    write_canned(a.out, accts, regions, keys_pub, end)
    if a.broken:
        # the broken accounts left the organization when their delivery stopped
        write_list_accounts(a.out, accts[:-a.broken])
    write_config(os.path.join(a.out, "org.ini"), accts, regions)
    busy_sizes = sorted(len(p[0]) for p in pools["busy"])
    info = {"org_id": ORG, "management": MGMT, "log_archive": LA, "bucket": BUCKET, "trail": TRAIL,
            "trail_arn": TRAIL_ARN, "accounts": accts, "regions": regions, "hours": a.hours,
            "start": iso(T0), "end": iso(end), "logs": nlogs, "digests": ndig,
            "objects": nlogs + ndig, "broken": accts[-a.broken:] if a.broken else [],
            "expect": expect,
            "pool": {"bodies": len(POOLS_FLAT), "raw_bytes": raw_total, "gzip_bytes": gz_total,
                     "gzip_ratio": round(raw_total / gz_total, 1),
                     "busy_gz_p10_p50_p90": [busy_sizes[len(busy_sizes) // 10], busy_sizes[len(busy_sizes) // 2],
                                             busy_sizes[9 * len(busy_sizes) // 10]]}}
    with open(os.path.join(a.out, "world.json"), "w") as f:
        json.dump(info, f, indent=1)
    print("world: %d accounts x %d regions x %d h: %d log files, %d digests; log bodies: %d, gzip ratio "
          "%.1fx, busy-cell gzip sizes p10/p50/p90 %s bytes%s"
          % (len(accts), len(regions), a.hours, nlogs, ndig, len(POOLS_FLAT), raw_total / gz_total,
             "/".join(str(s) for s in info["pool"]["busy_gz_p10_p50_p90"]),
             "; %d tampered objects" % len(expect) if expect else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
