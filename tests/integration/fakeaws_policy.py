#!/usr/bin/python3
"""Unit tests of tests/fakeaws/policy.py (the fake's IAM policy evaluator) and
its CLI mode.  Prints PASS:/FAIL: lines; exits non-zero on failure."""

import json
import os
import subprocess
import sys
import tempfile

TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, TOP)

from tests.fakeaws import policy  # noqa: E402

failed = 0


def check(name, got, want):
    global failed
    if got == want:
        print("PASS: policy: %s" % name)
    else:
        failed = 1
        print("FAIL: policy: %s: got %r, want %r" % (name, got, want))


BUCKET = "arn:aws:s3:::logs"
CT = {"Service": "cloudtrail.amazonaws.com"}
ROLE = "arn:aws:iam::333333333333:role/Reader"
P333 = {"AWS": "arn:aws:sts::333333333333:assumed-role/Reader/s", "Account": "333333333333",
        "RoleArn": ROLE}
P444 = {"AWS": "arn:aws:iam::444444444444:user/admin", "Account": "444444444444"}
ANON = {"AWS": "*"}


def pol(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def d(p, principal, action, resource, context=None):
    return policy.evaluate(p, principal, action, resource, context or {})[0]


# --- the CloudTrail bucket policy shape (aws-wire.md 1.1) ---
ct_policy = pol(
    {"Sid": "AclCheck", "Effect": "Allow", "Principal": CT, "Action": "s3:GetBucketAcl",
     "Resource": BUCKET, "Condition": {"StringEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111111111111:trail/org"}}},
    {"Sid": "Write", "Effect": "Allow", "Principal": CT, "Action": "s3:PutObject",
     "Resource": [BUCKET + "/AWSLogs/111111111111/*", BUCKET + "/AWSLogs/o-abc/*"],
     "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control",
                                    "aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111111111111:trail/org"}}},
    {"Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
     "Resource": [BUCKET, BUCKET + "/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
good = {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SecureTransport": "true",
        "aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111111111111:trail/org"}
check("cloudtrail write to its prefix is allowed",
      policy.evaluate(ct_policy, CT, "s3:PutObject", BUCKET + "/AWSLogs/111111111111/CloudTrail/x.gz", good),
      ("Allow", "Write"))
check("cloudtrail write to an omitted account prefix is implicit deny",
      d(ct_policy, CT, "s3:PutObject", BUCKET + "/AWSLogs/222222222222/CloudTrail/x.gz", good), "Implicit")
check("wrong SourceArn", d(ct_policy, CT, "s3:PutObject", BUCKET + "/AWSLogs/111111111111/x",
                           dict(good, **{"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111111111111:trail/other"})), "Implicit")
check("missing acl condition key", d(ct_policy, CT, "s3:PutObject", BUCKET + "/AWSLogs/111111111111/x",
                                     {k: v for k, v in good.items() if k != "s3:x-amz-acl"}), "Implicit")
check("explicit deny wins over allow (insecure transport)",
      policy.evaluate(ct_policy, CT, "s3:PutObject", BUCKET + "/AWSLogs/111111111111/x",
                      dict(good, **{"aws:SecureTransport": "false"})), ("Deny", "DenyInsecure"))
check("action match is case-insensitive", d(ct_policy, CT, "S3:getbucketacl", BUCKET,
                                            {"aws:SourceArn": good["aws:SourceArn"]}), "Allow")
check("resource match is case-sensitive", d(ct_policy, CT, "s3:PutObject", BUCKET + "/awslogs/111111111111/x", good),
      "Implicit")
check("service principal does not match another service",
      d(ct_policy, {"Service": "config.amazonaws.com"}, "s3:PutObject", BUCKET + "/AWSLogs/111111111111/x", good), "Implicit")

# --- principals ---
p = pol({"Effect": "Allow", "Principal": {"AWS": "333333333333"}, "Action": "s3:GetObject", "Resource": BUCKET + "/*"})
check("account id principal matches a role session of that account", d(p, P333, "s3:GetObject", BUCKET + "/k"), "Allow")
check("account id principal does not match another account", d(p, P444, "s3:GetObject", BUCKET + "/k"), "Implicit")
p = pol({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444444444444:root"}, "Action": "s3:*", "Resource": "*"})
check("root ARN principal matches a user of the account", d(p, P444, "s3:ListBucket", BUCKET), "Allow")
p = pol({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:GetObject", "Resource": "*"})
check("role ARN principal matches its sessions", d(p, P333, "s3:GetObject", BUCKET + "/k"), "Allow")
check("role ARN principal does not match another principal", d(p, P444, "s3:GetObject", BUCKET + "/k"), "Implicit")
p = pol({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"})
check("Principal * matches anonymous", d(p, ANON, "s3:GetObject", BUCKET + "/k"), "Allow")
p = pol({"Effect": "Allow", "Principal": {"AWS": "333333333333"}, "Action": "s3:GetObject", "Resource": "*"})
check("account principal does not match anonymous", d(p, ANON, "s3:GetObject", BUCKET + "/k"), "Implicit")
p = pol({"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::444444444444:root"}, "Action": "s3:*", "Resource": "*"})
check("NotPrincipal: others denied", d(p, P333, "s3:GetObject", BUCKET + "/k"), "Deny")
check("NotPrincipal: named account not denied", d(p, P444, "s3:GetObject", BUCKET + "/k"), "Implicit")

# --- actions and resources ---
p = pol({"Effect": "Allow", "Principal": "*", "NotAction": "s3:Delete*", "Resource": "*"})
check("NotAction excludes", d(p, P444, "s3:DeleteObject", BUCKET + "/k"), "Implicit")
check("NotAction includes others", d(p, P444, "s3:GetObject", BUCKET + "/k"), "Allow")
p = pol({"Effect": "Allow", "Principal": "*", "Action": "s3:Get?bject", "NotResource": BUCKET + "/secret/*"})
check("? wildcard in action", d(p, P444, "s3:GetObject", BUCKET + "/k"), "Allow")
check("NotResource excludes", d(p, P444, "s3:GetObject", BUCKET + "/secret/k"), "Implicit")
p = pol({"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "arn:aws:kms:*:111111111111:key/*"})
check("ARN wildcard per component", d(p, P444, "kms:Decrypt", "arn:aws:kms:eu-west-1:111111111111:key/abc"), "Allow")
check("ARN wildcard does not cross account", d(p, P444, "kms:Decrypt", "arn:aws:kms:eu-west-1:222222222222:key/abc"), "Implicit")
p = pol({"Effect": "Allow", "Principal": {"AWS": "111111111111"}, "Action": "sts:AssumeRole"})
check("trust policy without Resource", d(p, {"AWS": "arn:aws:iam::111111111111:user/admin", "Account": "111111111111"},
                                         "sts:AssumeRole", None), "Allow")

# --- condition operators ---
def cond(c, ctx, action="s3:GetObject"):
    return d(pol({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": c}),
             P444, action, BUCKET + "/k", ctx)


check("StringEquals multi-value is OR", cond({"StringEquals": {"k": ["a", "b"]}}, {"k": "b"}), "Allow")
check("StringEquals is case-sensitive", cond({"StringEquals": {"k": "a"}}, {"k": "A"}), "Implicit")
check("StringEqualsIgnoreCase", cond({"StringEqualsIgnoreCase": {"k": "a"}}, {"k": "A"}), "Allow")
check("StringNotEquals", cond({"StringNotEquals": {"k": ["a", "b"]}}, {"k": "c"}), "Allow")
check("StringNotEquals with a listed value", cond({"StringNotEquals": {"k": ["a", "b"]}}, {"k": "a"}), "Implicit")
check("StringNotEquals with the key missing is true", cond({"StringNotEquals": {"k": "a"}}, {}), "Allow")
check("StringLike", cond({"StringLike": {"k": "AWSLogs/*/x?"}}, {"k": "AWSLogs/1/xy"}), "Allow")
check("StringNotLike", cond({"StringNotLike": {"k": "a*"}}, {"k": "abc"}), "Implicit")
check("condition keys are case-insensitive", cond({"StringEquals": {"AWS:SourceAccount": "1"}}, {"aws:sourceaccount": "1"}), "Allow")
check("missing key fails a positive operator", cond({"StringEquals": {"k": "a"}}, {}), "Implicit")
check("...IfExists with the key missing", cond({"StringEqualsIfExists": {"k": "a"}}, {}), "Allow")
check("...IfExists with the key present", cond({"StringEqualsIfExists": {"k": "a"}}, {"k": "b"}), "Implicit")
check("ArnLike", cond({"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:111111111111:trail/*"}},
                      {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111111111111:trail/t"}), "Allow")
check("ArnEquals exact", cond({"ArnEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:1:trail/t"}},
                              {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:1:trail/u"}), "Implicit")
check("ArnNotLike", cond({"ArnNotLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:1:trail/*"}},
                         {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:2:trail/t"}), "Allow")
check("Bool true", cond({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "true"}), "Allow")
check("Bool false vs true", cond({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}), "Implicit")
check("Bool with JSON boolean", cond({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "true"}), "Allow")
check("Null true when missing", cond({"Null": {"k": "true"}}, {}), "Allow")
check("Null false when present", cond({"Null": {"k": "false"}}, {"k": "x"}), "Allow")
check("Null true when present", cond({"Null": {"k": "true"}}, {"k": "x"}), "Implicit")
check("NumericLessThan", cond({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "5"}), "Allow")
check("NumericGreaterThanEquals false", cond({"NumericGreaterThanEquals": {"n": 10}}, {"n": "9"}), "Implicit")
check("NumericEquals non-number", cond({"NumericEquals": {"n": "1"}}, {"n": "x"}), "Implicit")
check("DateLessThan", cond({"DateLessThan": {"aws:CurrentTime": "2026-06-01T00:00:00Z"}},
                           {"aws:CurrentTime": "2026-01-01T00:00:00Z"}), "Allow")
check("DateGreaterThan false", cond({"DateGreaterThan": {"aws:CurrentTime": "2026-06-01T00:00:00Z"}},
                                    {"aws:CurrentTime": "2026-01-01T00:00:00Z"}), "Implicit")
check("IpAddress in CIDR", cond({"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}, {"aws:SourceIp": "127.0.0.1"}), "Allow")
check("NotIpAddress", cond({"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "127.0.0.0/8"]}},
                           {"aws:SourceIp": "127.0.0.1"}), "Implicit")
check("ForAnyValue: one matches", cond({"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["a", "b"]}},
                                        {"kms:EncryptionContextKeys": ["x", "b"]}), "Allow")
check("ForAnyValue: none match", cond({"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["a"]}},
                                       {"kms:EncryptionContextKeys": ["x", "y"]}), "Implicit")
check("ForAnyValue: missing key", cond({"ForAnyValue:StringEquals": {"k": ["a"]}}, {}), "Implicit")
check("ForAllValues: all listed", cond({"ForAllValues:StringEquals": {"k": ["a", "b", "c"]}}, {"k": ["a", "c"]}), "Allow")
check("ForAllValues: one not listed", cond({"ForAllValues:StringEquals": {"k": ["a"]}}, {"k": ["a", "z"]}), "Implicit")
check("ForAllValues: missing key is vacuously true", cond({"ForAllValues:StringEquals": {"k": ["a"]}}, {}), "Allow")
check("several operators are ANDed",
      cond({"StringEquals": {"a": "1"}, "Bool": {"b": "true"}}, {"a": "1", "b": "false"}), "Implicit")
check("several keys are ANDed", cond({"StringEquals": {"a": "1", "b": "2"}}, {"a": "1", "b": "2"}), "Allow")
check("kms:EncryptionContext key", d(pol({"Effect": "Allow", "Principal": CT, "Action": "kms:GenerateDataKey*",
                                          "Resource": "*", "Condition": {"StringLike": {
                                              "kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111111111111:trail/*"}}}),
                                     CT, "kms:GenerateDataKey", "arn:aws:kms:us-east-1:1:key/k",
                                     {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:us-east-1:111111111111:trail/t"}),
      "Allow")
check("unknown operator makes the statement not apply",
      cond({"StringFrobnicate": {"k": "a"}}, {"k": "a"}), "Implicit")

# --- validation ---
check("validate: bad JSON", policy.validate("{", "s3", "logs") is not None, True)
check("validate: missing Principal", policy.validate(pol({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}), "s3", "logs")
      is not None, True)
check("validate: resource outside the bucket", policy.validate(pol({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                                     "Resource": "arn:aws:s3:::other/*"}), "s3", "logs"),
      "Policy has invalid resource")
check("validate: good policy", policy.validate(ct_policy, "s3", "logs"), None)

# --- CLI mode ---
cases = [
    {"policy": json.loads(ct_policy), "principal": CT, "action": "s3:PutObject",
     "resource": BUCKET + "/AWSLogs/111111111111/x", "context": good},
    {"policy": json.loads(ct_policy), "principal": CT, "action": "s3:PutObject",
     "resource": BUCKET + "/AWSLogs/222222222222/x", "context": good},
    {"policy": json.loads(ct_policy), "principal": CT, "action": "s3:PutObject",
     "resource": BUCKET + "/AWSLogs/111111111111/x", "context": dict(good, **{"aws:SecureTransport": "false"})},
]
with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    json.dump(cases, f)
try:
    out = subprocess.run([sys.executable, "-m", "tests.fakeaws.policy", f.name], cwd=TOP,
                         capture_output=True, text=True, timeout=30)
    check("CLI prints one decision per case", out.stdout.split(), ["Allow", "Implicit", "Deny"])
    out2 = subprocess.run([sys.executable, os.path.join(TOP, "tests/fakeaws/policy.py"), f.name],
                          capture_output=True, text=True, timeout=30)
    check("CLI also runs as a script", out2.stdout.split(), ["Allow", "Implicit", "Deny"])
finally:
    os.unlink(f.name)

sys.exit(failed)
