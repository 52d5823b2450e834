"""S3 (REST-XML, path-style only).

route(ctx) -> operation name (before auth); handle(world, ctx) -> (status, headers, body).
Access: the bucket owner's admin principals may do everything unless the bucket
policy explicitly denies; other principals need a bucket policy Allow.  The
owner account's root may always Get/Put/DeleteBucketPolicy.
"""

import base64
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from urllib.parse import quote
from xml.sax.saxutils import escape

from . import policy
from .errors import AwsError
from .world import Bucket, PARTITION, http_date, iso8601

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_POLICY = 20 * 1024
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

SUB_OPS = {
    # subresource: (PUT op, GET op, DELETE op, PUT action, GET action, DELETE action)
    "policy": ("PutBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy",
               "s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy"),
    "versioning": ("PutBucketVersioning", "GetBucketVersioning", None,
                   "s3:PutBucketVersioning", "s3:GetBucketVersioning", None),
    "encryption": ("PutBucketEncryption", "GetBucketEncryption", "DeleteBucketEncryption",
                   "s3:PutEncryptionConfiguration", "s3:GetEncryptionConfiguration",
                   "s3:PutEncryptionConfiguration"),
    "publicAccessBlock": ("PutPublicAccessBlock", "GetPublicAccessBlock", "DeletePublicAccessBlock",
                          "s3:PutBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock",
                          "s3:PutBucketPublicAccessBlock"),
    "ownershipControls": ("PutBucketOwnershipControls", "GetBucketOwnershipControls",
                          "DeleteBucketOwnershipControls", "s3:PutBucketOwnershipControls",
                          "s3:GetBucketOwnershipControls", "s3:PutBucketOwnershipControls"),
    "lifecycle": ("PutBucketLifecycleConfiguration", "GetBucketLifecycleConfiguration",
                  "DeleteBucketLifecycle", "s3:PutLifecycleConfiguration",
                  "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration"),
    "logging": ("PutBucketLogging", "GetBucketLogging", None,
                "s3:PutBucketLogging", "s3:GetBucketLogging", None),
    "object-lock": ("PutObjectLockConfiguration", "GetObjectLockConfiguration", None,
                    "s3:PutBucketObjectLockConfiguration", "s3:GetBucketObjectLockConfiguration", None),
    "tagging": ("PutBucketTagging", "GetBucketTagging", "DeleteBucketTagging",
                "s3:PutBucketTagging", "s3:GetBucketTagging", "s3:PutBucketTagging"),
    "location": (None, "GetBucketLocation", None, None, "s3:GetBucketLocation", None),
    "acl": ("PutBucketAcl", "GetBucketAcl", None, "s3:PutBucketAcl", "s3:GetBucketAcl", None),
    "versions": (None, "ListObjectVersions", None, None, "s3:ListBucketVersions", None),
}
CHECKSUM_REQUIRED = {"PutBucketPolicy", "PutBucketVersioning", "PutBucketEncryption",
                     "PutPublicAccessBlock", "PutBucketOwnershipControls",
                     "PutBucketLifecycleConfiguration", "PutBucketLogging",
                     "PutObjectLockConfiguration", "PutBucketTagging", "DeleteObjects"}
OBJECT_ACTIONS = {"PutObject": "s3:PutObject", "GetObject": "s3:GetObject",
                  "HeadObject": "s3:GetObject", "DeleteObject": "s3:DeleteObject"}
BUCKET_ACTIONS = {"CreateBucket": "s3:CreateBucket", "DeleteBucket": "s3:DeleteBucket",
                  "HeadBucket": "s3:ListBucket", "ListObjects": "s3:ListBucket",
                  "ListObjectsV2": "s3:ListBucket", "DeleteObjects": "s3:DeleteObject"}


def split_path(ctx):
    p = ctx.path
    if not p.startswith("/"):
        p = "/" + p
    rest = p[1:]
    bucket, sep, key = rest.partition("/")
    return bucket, (key if sep else None)


def route(ctx):
    bucket, key = split_path(ctx)
    ctx.bucket = bucket or None
    ctx.key = key if key else None
    m = ctx.method
    q = ctx.query
    if not bucket:
        return "ListBuckets"
    if ctx.key is None:
        for sub, ops in SUB_OPS.items():
            if sub in q:
                op = {"PUT": ops[0], "GET": ops[1], "DELETE": ops[2]}.get(m)
                if op:
                    ctx.s3_action = {"PUT": ops[3], "GET": ops[4], "DELETE": ops[5]}[m]
                    ctx.management = True
                    return op
        if m == "PUT":
            op = "CreateBucket"
        elif m == "GET":
            op = "ListObjectsV2" if q.get("list-type") == "2" else "ListObjects"
        elif m == "HEAD":
            op = "HeadBucket"
        elif m == "DELETE":
            op = "DeleteBucket"
        elif m == "POST" and "delete" in q:
            op = "DeleteObjects"
        else:
            op = "Unknown"
        ctx.s3_action = BUCKET_ACTIONS.get(op, "s3:Unknown")
        ctx.management = op in ("CreateBucket", "DeleteBucket")
        return op
    op = {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject",
          "DELETE": "DeleteObject"}.get(m, "Unknown")
    ctx.s3_action = OBJECT_ACTIONS.get(op, "s3:Unknown")
    ctx.management = False
    return op


# --- helpers ---------------------------------------------------------------------

def _xml(root_tag, inner):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<%s xmlns="%s">%s</%s>'
            % (root_tag, NS, inner, root_tag)).encode()


def _ok_xml(body, status=200, headers=None):
    h = {"Content-Type": "application/xml"}
    h.update(headers or {})
    return status, h, body


def _el(tag, val):
    return "<%s>%s</%s>" % (tag, escape(str(val)), tag)


def _bool(v):
    return "true" if v else "false"


def _parse_xml(body, root):
    if not body:
        raise AwsError("MalformedXML", "The XML you provided was not well-formed or did not "
                       "validate against our published schema", 400)
    try:
        el = ET.fromstring(body)
    except ET.ParseError:
        raise AwsError("MalformedXML", "The XML you provided was not well-formed or did not "
                       "validate against our published schema", 400)
    if _local(el.tag) != root:
        raise AwsError("MalformedXML", "The XML you provided was not well-formed or did not "
                       "validate against our published schema", 400)
    return el


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _child(el, name):
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _children(el, name):
    return [c for c in el if _local(c.tag) == name]


def _text(el, name, default=None):
    c = _child(el, name)
    return c.text.strip() if c is not None and c.text is not None else default


def _malformed():
    return AwsError("MalformedXML", "The XML you provided was not well-formed or did not "
                    "validate against our published schema", 400)


def _check_md5(ctx, op):
    md5 = ctx.header("content-md5")
    if md5 is not None:
        try:
            raw = base64.b64decode(md5, validate=True)
        except ValueError:
            raw = b""
        if len(raw) != 16:
            raise AwsError("InvalidDigest", "The Content-MD5 you specified was invalid.", 400)
        if raw != hashlib.md5(ctx.body).digest():
            raise AwsError("BadDigest", "The Content-MD5 you specified did not match what we received.", 400)
        return
    has_flexible = any(h.startswith("x-amz-checksum-") for h in ctx.headers)
    if op in CHECKSUM_REQUIRED and not has_flexible:
        raise AwsError("InvalidRequest", "Missing required header for this request: Content-MD5", 400)


def _context(world, ctx, extra=None):
    c = {"aws:SourceIp": ctx.source_ip,
         "s3:signatureversion": "AWS4-HMAC-SHA256",
         "s3:authType": "REST-HEADER" if ctx.header("authorization") else "REST-QUERY-STRING"}
    if ctx.account:
        c["aws:PrincipalAccount"] = ctx.account
        c["aws:PrincipalArn"] = ctx.access_key.role_arn or ctx.access_key.arn
        if world.org and ctx.account in world.org.members:
            c["aws:PrincipalOrgID"] = world.org.id
    for h, k in (("x-amz-acl", "s3:x-amz-acl"),
                 ("x-amz-server-side-encryption", "s3:x-amz-server-side-encryption"),
                 ("x-amz-server-side-encryption-aws-kms-key-id",
                  "s3:x-amz-server-side-encryption-aws-kms-key-id")):
        v = ctx.header(h)
        if v is not None:
            c[k] = v
    c.update(extra or {})
    return c


def _is_root(ctx):
    return ctx.access_key is not None and ctx.access_key.arn.endswith(":root")


def authorize(world, ctx, b, action, resource, extra=None):
    allowed, _ = world.bucket_policy_allows(b.name, ctx.principal, action, resource,
                                            _context(world, ctx, extra))
    if not allowed:
        if (action in ("s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy")
                and _is_root(ctx) and ctx.account == b.owner):
            return
        raise AwsError("AccessDenied", "Access Denied", 403)


def _bucket(world, ctx, op):
    b = world.buckets.get(ctx.bucket)
    if b is None:
        raise AwsError("NoSuchBucket", "The specified bucket does not exist", 404,
                       extra={"BucketName": ctx.bucket})
    if ctx.region != b.region and op not in ("GetBucketLocation",):
        if op == "HeadBucket":
            raise AwsError("PermanentRedirect", "", 301, headers={"x-amz-bucket-region": b.region})
        raise AwsError("AuthorizationHeaderMalformed",
                       "The authorization header is malformed; the region '%s' is wrong; "
                       "expecting '%s'" % (ctx.region, b.region), 400,
                       extra={"Region": b.region}, headers={"x-amz-bucket-region": b.region})
    return b


# --- bucket operations ----------------------------------------------------------------

def list_buckets(world, ctx):
    if ctx.account is None:
        raise AwsError("AccessDenied", "Access Denied", 403)
    items = "".join("<Bucket>%s%s</Bucket>" % (_el("Name", b.name), _el("CreationDate", iso8601(b.created, True)))
                    for b in sorted(world.buckets.values(), key=lambda x: x.name) if b.owner == ctx.account)
    return _ok_xml(_xml("ListAllMyBucketsResult", "<Owner>%s</Owner><Buckets>%s</Buckets>"
                        % (_el("ID", ctx.account), items)))


def create_bucket(world, ctx):
    if ctx.account is None:
        raise AwsError("AccessDenied", "Access Denied", 403)
    name = ctx.bucket
    if not BUCKET_RE.match(name) or ".." in name or re.match(r"^\d+\.\d+\.\d+\.\d+$", name):
        raise AwsError("InvalidBucketName", "The specified bucket is not valid.", 400,
                       extra={"BucketName": name})
    lc = None
    if ctx.body.strip():
        el = _parse_xml(ctx.body, "CreateBucketConfiguration")
        lc = _text(el, "LocationConstraint")
    if lc == "us-east-1":
        raise AwsError("InvalidLocationConstraint", "The specified location-constraint is not valid", 400,
                       extra={"LocationConstraint": lc})
    if lc == "EU":
        lc = "eu-west-1"
    if lc is None and ctx.region != "us-east-1":
        raise AwsError("IllegalLocationConstraintException",
                       "The unspecified location constraint is incompatible for the region "
                       "specific endpoint this request was sent to.", 400)
    if lc is not None and lc != ctx.region:
        raise AwsError("IllegalLocationConstraintException",
                       "The %s location constraint is incompatible for the region specific "
                       "endpoint this request was sent to." % lc, 400)
    region = lc or "us-east-1"
    b = world.buckets.get(name)
    if b is not None:
        if b.owner == ctx.account:
            if b.region == "us-east-1" and region == "us-east-1":
                return 200, {"Location": "/" + name}, b""
            raise AwsError("BucketAlreadyOwnedByYou", "Your previous request to create the named "
                           "bucket succeeded and you already own it.", 409, extra={"BucketName": name})
        raise AwsError("BucketAlreadyExists", "The requested bucket name is not available. The "
                       "bucket namespace is shared by all users of the system. Please select a "
                       "different name and try again.", 409, extra={"BucketName": name})
    acl = ctx.header("x-amz-acl")
    ownership = ctx.header("x-amz-object-ownership", "BucketOwnerEnforced")
    if ownership not in ("BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"):
        raise AwsError("InvalidArgument", "Invalid x-amz-object-ownership header", 400)
    if acl and acl != "private" and ownership == "BucketOwnerEnforced":
        raise AwsError("InvalidBucketAclWithObjectOwnership", "Bucket cannot have ACLs set with "
                       "ObjectOwnership's BucketOwnerEnforced setting", 400)
    b = Bucket(name=name, owner=ctx.account, region=region, created=world.now)
    b.ownership = ownership
    b.public_access_block = {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                             "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    b.encryption = {"SSEAlgorithm": "AES256", "BucketKeyEnabled": False}
    if (ctx.header("x-amz-bucket-object-lock-enabled") or "").lower() == "true":
        b.object_lock = {"ObjectLockEnabled": "Enabled"}
        b.versioning = "Enabled"
    world.buckets[name] = b
    ctx.event_params = {"bucketName": name, "Host": ctx.host}
    if lc:
        ctx.event_params["CreateBucketConfiguration"] = {"LocationConstraint": lc}
    return 200, {"Location": "/" + name}, b""


def delete_bucket(world, ctx, b):
    if b.objects:
        raise AwsError("BucketNotEmpty", "The bucket you tried to delete is not empty", 409,
                       extra={"BucketName": b.name})
    del world.buckets[b.name]
    return 204, {}, b""


def _is_public(doc):
    for st in policy._as_list(doc.get("Statement")):
        if st.get("Effect") != "Allow" or st.get("Condition"):
            continue
        p = st.get("Principal")
        if p == "*" or (isinstance(p, dict) and "*" in policy._as_list(p.get("AWS"))):
            return True
    return False


def put_bucket_policy(world, ctx, b):
    text = ctx.body.decode("utf-8", "replace")
    if len(ctx.body) > MAX_POLICY:
        raise AwsError("PolicyTooLarge", "Policy exceeds the maximum allowed document size.", 400)
    if not text.lstrip().startswith("{"):
        raise AwsError("MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'", 400)
    err = policy.validate(text, "s3", b.name)
    if err:
        raise AwsError("MalformedPolicy", err, 400)
    doc = json.loads(text)
    for st in policy._as_list(doc["Statement"]):
        p = st.get("Principal", st.get("NotPrincipal"))
        if isinstance(p, dict):
            for arn in policy._as_list(p.get("AWS")):
                if ":role/" in arn and world.find_role(arn) is None:
                    raise AwsError("MalformedPolicy", "Invalid principal in policy", 400)
        elif p != "*":
            raise AwsError("MalformedPolicy", "Invalid principal in policy", 400)
    if (b.public_access_block or {}).get("BlockPublicPolicy") and _is_public(doc):
        raise AwsError("AccessDenied", "Access Denied", 403)
    b.policy = text
    ctx.event_params = {"bucketName": b.name, "Host": ctx.host, "bucketPolicy": doc, "policy": ""}
    return 204, {}, b""


def get_bucket_policy(world, ctx, b):
    if b.policy is None:
        raise AwsError("NoSuchBucketPolicy", "The bucket policy does not exist", 404,
                       extra={"BucketName": b.name})
    return 200, {"Content-Type": "application/json"}, b.policy.encode()


def delete_bucket_policy(world, ctx, b):
    b.policy = None
    return 204, {}, b""


def put_versioning(world, ctx, b):
    el = _parse_xml(ctx.body, "VersioningConfiguration")
    st = _text(el, "Status")
    if st not in (None, "Enabled", "Suspended"):
        raise _malformed()
    mfa = _text(el, "MfaDelete")
    if mfa is not None:
        if ctx.header("x-amz-mfa") is None:
            raise AwsError("InvalidRequest", "DevPay and MFA Delete are not supported in the fake", 400)
        b.mfa_delete = mfa
    if st == "Suspended" and b.object_lock:
        raise AwsError("InvalidBucketState", "An Object Lock configuration is present on this "
                       "bucket, so the versioning state cannot be changed.", 409)
    if st:
        b.versioning = st
    return 200, {}, b""


def get_versioning(world, ctx, b):
    inner = ""
    if b.versioning:
        inner += _el("Status", b.versioning)
    if b.mfa_delete:
        inner += _el("MfaDelete", b.mfa_delete)
    return _ok_xml(_xml("VersioningConfiguration", inner))


def put_encryption(world, ctx, b):
    el = _parse_xml(ctx.body, "ServerSideEncryptionConfiguration")
    rules = _children(el, "Rule")
    if len(rules) != 1:
        raise _malformed()
    d = _child(rules[0], "ApplyServerSideEncryptionByDefault")
    if d is None:
        raise _malformed()
    alg = _text(d, "SSEAlgorithm")
    kid = _text(d, "KMSMasterKeyID")
    if alg not in ("AES256", "aws:kms", "aws:kms:dsse"):
        raise _malformed()
    if kid and alg == "AES256":
        raise AwsError("InvalidArgument", "a KMSMasterKeyID is not applicable if the default "
                       "sse algorithm is not aws:kms or aws:kms:dsse", 400)
    enc = {"SSEAlgorithm": alg, "BucketKeyEnabled": _text(rules[0], "BucketKeyEnabled") == "true"}
    if kid:
        enc["KMSMasterKeyID"] = kid
    b.encryption = enc
    return 200, {}, b""


def get_encryption(world, ctx, b):
    if not b.encryption:
        raise AwsError("ServerSideEncryptionConfigurationNotFoundError",
                       "The server side encryption configuration was not found", 404,
                       extra={"BucketName": b.name})
    e = b.encryption
    d = _el("SSEAlgorithm", e["SSEAlgorithm"])
    if e.get("KMSMasterKeyID"):
        d += _el("KMSMasterKeyID", e["KMSMasterKeyID"])
    inner = "<Rule><ApplyServerSideEncryptionByDefault>%s</ApplyServerSideEncryptionByDefault>%s</Rule>" % (
        d, _el("BucketKeyEnabled", _bool(e.get("BucketKeyEnabled"))))
    return _ok_xml(_xml("ServerSideEncryptionConfiguration", inner))


def delete_encryption(world, ctx, b):
    b.encryption = {"SSEAlgorithm": "AES256", "BucketKeyEnabled": False}   # AWS resets to SSE-S3
    return 204, {}, b""


PAB_FIELDS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def put_pab(world, ctx, b):
    el = _parse_xml(ctx.body, "PublicAccessBlockConfiguration")
    cfg = {}
    for f in PAB_FIELDS:
        v = _text(el, f, "false").lower()
        if v not in ("true", "false"):
            raise _malformed()
        cfg[f] = v == "true"
    b.public_access_block = cfg
    return 200, {}, b""


def get_pab(world, ctx, b):
    if b.public_access_block is None:
        raise AwsError("NoSuchPublicAccessBlockConfiguration", "The public access block "
                       "configuration was not found", 404, extra={"BucketName": b.name})
    inner = "".join(_el(f, _bool(b.public_access_block.get(f))) for f in PAB_FIELDS)
    return _ok_xml(_xml("PublicAccessBlockConfiguration", inner))


def delete_pab(world, ctx, b):
    b.public_access_block = None
    return 204, {}, b""


def put_ownership(world, ctx, b):
    el = _parse_xml(ctx.body, "OwnershipControls")
    r = _child(el, "Rule")
    v = _text(r, "ObjectOwnership") if r is not None else None
    if v not in ("BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"):
        raise _malformed()
    b.ownership = v
    return 200, {}, b""


def get_ownership(world, ctx, b):
    if not b.ownership:
        raise AwsError("OwnershipControlsNotFoundError", "The bucket ownership controls were not "
                       "found", 404, extra={"BucketName": b.name})
    return _ok_xml(_xml("OwnershipControls", "<Rule>%s</Rule>" % _el("ObjectOwnership", b.ownership)))


def delete_ownership(world, ctx, b):
    b.ownership = None
    return 204, {}, b""


def put_lifecycle(world, ctx, b):
    el = _parse_xml(ctx.body, "LifecycleConfiguration")
    rules = _children(el, "Rule")
    if not rules or len(rules) > 1000:
        raise _malformed()
    ids = set()
    for r in rules:
        if _text(r, "Status") not in ("Enabled", "Disabled"):
            raise _malformed()
        if _child(r, "Filter") is None and _child(r, "Prefix") is None:
            raise _malformed()
        rid = _text(r, "ID")
        if rid is not None:
            if len(rid) > 255:
                raise AwsError("InvalidArgument", "ID length should not exceed allowed limit of 255", 400)
            if rid in ids:
                raise AwsError("InvalidArgument", "Rule ID must be unique. Found same ID for more "
                               "than one rule", 400)
            ids.add(rid)
        exp = _child(r, "Expiration")
        if exp is not None:
            days = _text(exp, "Days")
            if days is not None and (not days.isdigit() or int(days) < 1):
                raise AwsError("InvalidArgument", "'Days' for Expiration action must be a positive integer", 400)
    b.lifecycle = ctx.body.decode("utf-8")
    return 200, {}, b""


def get_lifecycle(world, ctx, b):
    if not b.lifecycle:
        raise AwsError("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist",
                       404, extra={"BucketName": b.name})
    return _ok_xml(b.lifecycle.encode())


def delete_lifecycle(world, ctx, b):
    b.lifecycle = None
    return 204, {}, b""


def put_logging(world, ctx, b):
    el = _parse_xml(ctx.body, "BucketLoggingStatus")
    le = _child(el, "LoggingEnabled")
    if le is None:
        b.logging = None
        return 200, {}, b""
    tb, tp = _text(le, "TargetBucket"), _text(le, "TargetPrefix", "")
    if not tb:
        raise _malformed()
    t = world.buckets.get(tb)
    if t is None:
        raise AwsError("InvalidTargetBucketForLogging", "The target bucket for logging does not exist",
                       400, extra={"TargetBucket": tb})
    if t.region != b.region or t.owner != b.owner:
        raise AwsError("InvalidTargetBucketForLogging", "The owner for the bucket to be logged "
                       "and the target bucket must be the same.", 400, extra={"TargetBucket": tb})
    if _child(le, "TargetGrants") is not None and t.ownership == "BucketOwnerEnforced":
        raise AwsError("InvalidTargetBucketForLogging", "Target grants are not supported for target "
                       "buckets with the BucketOwnerEnforced setting", 400)
    b.logging = {"TargetBucket": tb, "TargetPrefix": tp or ""}
    return 200, {}, b""


def get_logging(world, ctx, b):
    inner = ""
    if b.logging:
        inner = "<LoggingEnabled>%s%s</LoggingEnabled>" % (
            _el("TargetBucket", b.logging["TargetBucket"]), _el("TargetPrefix", b.logging["TargetPrefix"]))
    return _ok_xml(_xml("BucketLoggingStatus", inner))


def put_object_lock(world, ctx, b):
    el = _parse_xml(ctx.body, "ObjectLockConfiguration")
    if _text(el, "ObjectLockEnabled") != "Enabled":
        raise _malformed()
    if b.object_lock is None and b.versioning != "Enabled":
        raise AwsError("InvalidBucketState", "Versioning must be 'Enabled' on the bucket to apply "
                       "a Object Lock configuration", 409)
    cfg = {"ObjectLockEnabled": "Enabled"}
    r = _child(el, "Rule")
    if r is not None:
        dr = _child(r, "DefaultRetention")
        if dr is None:
            raise _malformed()
        mode, days, years = _text(dr, "Mode"), _text(dr, "Days"), _text(dr, "Years")
        if mode not in ("GOVERNANCE", "COMPLIANCE") or (days is None) == (years is None):
            raise _malformed()
        n = days or years
        if not n.isdigit() or int(n) < 1:
            raise AwsError("InvalidArgument", "Default retention period must be a positive integer value", 400)
        cfg["Rule"] = {"Mode": mode, ("Days" if days else "Years"): int(n)}
    b.object_lock = cfg
    return 200, {}, b""


def get_object_lock(world, ctx, b):
    if not b.object_lock:
        raise AwsError("ObjectLockConfigurationNotFoundError", "Object Lock configuration does not "
                       "exist for this bucket", 404, extra={"BucketName": b.name})
    inner = _el("ObjectLockEnabled", "Enabled")
    r = b.object_lock.get("Rule")
    if r:
        per = "".join(_el(k, r[k]) for k in ("Days", "Years") if k in r)
        inner += "<Rule><DefaultRetention>%s%s</DefaultRetention></Rule>" % (_el("Mode", r["Mode"]), per)
    return _ok_xml(_xml("ObjectLockConfiguration", inner))


def put_tagging(world, ctx, b):
    el = _parse_xml(ctx.body, "Tagging")
    ts = _child(el, "TagSet")
    if ts is None:
        raise _malformed()
    b.tags = {_text(t, "Key"): _text(t, "Value", "") for t in _children(ts, "Tag")}
    return 204, {}, b""


def get_tagging(world, ctx, b):
    if not b.tags:
        raise AwsError("NoSuchTagSet", "The TagSet does not exist", 404, extra={"BucketName": b.name})
    inner = "".join("<Tag>%s%s</Tag>" % (_el("Key", k), _el("Value", v)) for k, v in b.tags.items())
    return _ok_xml(_xml("Tagging", "<TagSet>%s</TagSet>" % inner))


def delete_tagging(world, ctx, b):
    b.tags = None
    return 204, {}, b""


def get_location(world, ctx, b):
    if ctx.account != b.owner:
        raise AwsError("AccessDenied", "Access Denied", 403)
    v = "" if b.region == "us-east-1" else escape(b.region)
    return _ok_xml(('<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="%s">%s'
                    '</LocationConstraint>' % (NS, v)).encode())


def get_acl(world, ctx, b):
    inner = ("<Owner>%s</Owner><AccessControlList><Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/"
             "XMLSchema-instance\" xsi:type=\"CanonicalUser\">%s</Grantee>%s</Grant></AccessControlList>"
             % (_el("ID", b.owner), _el("ID", b.owner), _el("Permission", "FULL_CONTROL")))
    return _ok_xml(_xml("AccessControlPolicy", inner))


def put_acl(world, ctx, b):
    acl = ctx.header("x-amz-acl")
    if b.ownership == "BucketOwnerEnforced" and (acl not in (None, "private") or ctx.body):
        raise AwsError("AccessControlListNotSupported", "The bucket does not allow ACLs", 400)
    return 200, {}, b""


def head_bucket(world, ctx, b):
    return 200, {"x-amz-bucket-region": b.region}, b""


# --- listing ----------------------------------------------------------------------------

def _int_arg(q, name, default, lo=0):
    v = q.get(name)
    if v is None:
        return default
    try:
        n = int(v)
    except ValueError:
        raise AwsError("InvalidArgument", "Provided %s not an integer or within integer range" % name, 400,
                       extra={"ArgumentName": name, "ArgumentValue": v})
    if n < lo:
        raise AwsError("InvalidArgument", "Argument %s must be an integer between 0 and 2147483647" % name,
                       400, extra={"ArgumentName": name, "ArgumentValue": v})
    return n


def _walk(world, b, prefix, delimiter, after, max_keys):
    """Keys (ObjectVersion list) and common prefixes after `after`, up to max_keys
    entries; returns (contents, prefixes, truncated, last_entry)."""
    items = world.list_current(b.name, prefix)
    contents, cps = [], []
    last = None
    seen_cp = set()
    truncated = False
    for k, v in items:
        if after is not None and k.encode() <= after.encode():
            continue
        if delimiter:
            rest = k[len(prefix):]
            i = rest.find(delimiter)
            if i >= 0:
                cp = prefix + rest[:i + len(delimiter)]
                if cp in seen_cp or (after is not None and after.startswith(cp)):
                    continue
                if len(contents) + len(cps) >= max_keys:
                    truncated = True
                    break
                seen_cp.add(cp)
                cps.append(cp)
                last = cp
                continue
        if len(contents) + len(cps) >= max_keys:
            truncated = True
            break
        contents.append(v)
        last = k
    if truncated and last is not None and last in seen_cp:
        # skip past every key under that prefix on the next page
        pass
    return contents, cps, truncated, last


def _enc(s, url):
    return quote(s, safe="/") if url else s


def _contents_xml(vs, url, owner=None):
    out = []
    for v in vs:
        o = "<Owner>%s</Owner>" % _el("ID", owner) if owner else ""
        out.append("<Contents>%s%s%s%s%s<StorageClass>STANDARD</StorageClass></Contents>" % (
            _el("Key", _enc(v.key, url)), _el("LastModified", iso8601(v.last_modified, True)),
            _el("ETag", v.etag), _el("Size", v.size), o))
    return "".join(out)


def list_objects(world, ctx, b, v2):
    q = ctx.query
    url = q.get("encoding-type") == "url"
    if "encoding-type" in q and not url:
        raise AwsError("InvalidArgument", "Invalid Encoding Method specified in Request", 400)
    prefix = q.get("prefix", "")
    delim = q.get("delimiter", "")
    max_keys = min(_int_arg(q, "max-keys", 1000), 1000)
    head = _el("Name", b.name) + _el("Prefix", _enc(prefix, url))
    if v2:
        tok = q.get("continuation-token")
        after = q.get("start-after")
        if tok is not None:
            try:
                d = base64.b64decode(tok.encode(), validate=True).decode()
                if not d.startswith("fk1:"):
                    raise ValueError
                after = d[4:]
            except ValueError:
                raise AwsError("InvalidArgument", "The continuation token provided is incorrect", 400,
                               extra={"ArgumentName": "continuation-token"})
        contents, cps, trunc, last = _walk(world, b, prefix, delim, after, max_keys)
        if tok is not None:
            head += _el("ContinuationToken", tok)
        if q.get("start-after") is not None:
            head += _el("StartAfter", _enc(q["start-after"], url))
        head += _el("KeyCount", len(contents) + len(cps))
        head += _el("MaxKeys", max_keys)
        if delim:
            head += _el("Delimiter", _enc(delim, url))
        head += _el("IsTruncated", _bool(trunc))
        if trunc:
            head += _el("NextContinuationToken", base64.b64encode(("fk1:" + last).encode()).decode())
        owner = b.owner if q.get("fetch-owner") == "true" else None
    else:
        marker = q.get("marker", "")
        contents, cps, trunc, last = _walk(world, b, prefix, delim, marker or None, max_keys)
        head += _el("Marker", _enc(marker, url))
        if trunc and delim:
            head += _el("NextMarker", _enc(last, url))
        head += _el("MaxKeys", max_keys)
        if delim:
            head += _el("Delimiter", _enc(delim, url))
        head += _el("IsTruncated", _bool(trunc))
        owner = b.owner
    if url:
        head += _el("EncodingType", "url")
    body = head + _contents_xml(contents, url, owner) + "".join(
        "<CommonPrefixes>%s</CommonPrefixes>" % _el("Prefix", _enc(p, url)) for p in cps)
    return _ok_xml(_xml("ListBucketResult", body))


def list_versions(world, ctx, b):
    q = ctx.query
    prefix = q.get("prefix", "")
    max_keys = min(_int_arg(q, "max-keys", 1000), 1000)
    key_marker = q.get("key-marker")
    vid_marker = q.get("version-id-marker")
    entries = []
    for k in sorted(b.objects, key=lambda s: s.encode()):
        if not k.startswith(prefix):
            continue
        vs = b.objects[k]
        for i, v in enumerate(reversed(vs)):
            entries.append((k, v, i == 0))
    start = 0
    if key_marker is not None:
        for i, (k, v, _) in enumerate(entries):
            if k.encode() > key_marker.encode():
                start = i
                break
            if k == key_marker and vid_marker and v.version_id == vid_marker:
                start = i + 1
                break
        else:
            start = len(entries)
    page = entries[start:start + max_keys]
    trunc = start + max_keys < len(entries)
    out = _el("Name", b.name) + _el("Prefix", prefix) + _el("KeyMarker", key_marker or "") + \
        _el("VersionIdMarker", vid_marker or "") + _el("MaxKeys", max_keys) + _el("IsTruncated", _bool(trunc))
    if trunc:
        k, v, _ = page[-1]
        out += _el("NextKeyMarker", k) + _el("NextVersionIdMarker", v.version_id)
    for k, v, latest in page:
        common = _el("Key", k) + _el("VersionId", v.version_id) + _el("IsLatest", _bool(latest)) + \
            _el("LastModified", iso8601(v.last_modified, True))
        if v.delete_marker:
            out += "<DeleteMarker>%s<Owner>%s</Owner></DeleteMarker>" % (common, _el("ID", b.owner))
        else:
            out += "<Version>%s%s%s<StorageClass>STANDARD</StorageClass><Owner>%s</Owner></Version>" % (
                common, _el("ETag", v.etag), _el("Size", v.size), _el("ID", b.owner))
    return _ok_xml(_xml("ListVersionsResult", out))


# --- objects ------------------------------------------------------------------------------

def _kms_check(world, ctx, b, key_ref, action, obj_arn):
    """SSE-KMS: the caller must be allowed `action` on the key (S3 calls KMS as the caller)."""
    acct = ctx.account or b.owner
    k = world.resolve_key(acct, b.region, key_ref)
    if k is None:
        raise AwsError("KMS.NotFoundException", "Invalid keyId %s" % key_ref, 400)
    if k.state == "Disabled":
        raise AwsError("KMS.DisabledException", "%s is disabled." % k.arn, 400)
    if k.state != "Enabled":
        raise AwsError("KMS.KMSInvalidStateException", "%s is pending deletion." % k.arn, 400)
    ok, _ = world.key_policy_allows(k.id, ctx.principal, action,
                                    {"kms:EncryptionContext:aws:s3:arn": obj_arn,
                                     "kms:ViaService": "s3.%s.amazonaws.com" % b.region,
                                     "kms:CallerAccount": ctx.account or ""})
    if not ok:
        raise AwsError("AccessDenied", "User: %s is not authorized to perform: %s on resource: %s "
                       "because no resource-based policy allows the %s action" % (
                           ctx.principal.get("AWS"), action, k.arn, action), 403)
    return k


def _obj_arn(b, key):
    return "arn:%s:s3:::%s/%s" % (PARTITION, b.name, key)


def put_object(world, ctx, b):
    _check_md5(ctx, "PutObject")
    acl = ctx.header("x-amz-acl")
    if acl and b.ownership == "BucketOwnerEnforced" and acl != "bucket-owner-full-control":
        raise AwsError("AccessControlListNotSupported", "The bucket does not allow ACLs", 400)
    meta = {}
    for h, vals in ctx.headers.items():
        if h.startswith("x-amz-meta-"):
            meta[h[len("x-amz-meta-"):]] = vals[0]
    sse = {}
    alg = ctx.header("x-amz-server-side-encryption")
    kid = ctx.header("x-amz-server-side-encryption-aws-kms-key-id")
    if alg is None and b.encryption:
        alg = b.encryption.get("SSEAlgorithm")
        if kid is None:
            kid = b.encryption.get("KMSMasterKeyID")
    if alg not in (None, "AES256", "aws:kms", "aws:kms:dsse"):
        raise AwsError("InvalidArgument", "The encryption method specified is not supported", 400)
    if alg:
        sse["ServerSideEncryption"] = alg
    if alg and alg.startswith("aws:kms"):
        k = _kms_check(world, ctx, b, kid or "alias/aws/s3", "kms:GenerateDataKey", _obj_arn(b, ctx.key)) \
            if kid else None
        if k is not None:
            sse["SSEKMSKeyId"] = k.arn
    owner = b.owner if (b.ownership in ("BucketOwnerEnforced", None) or
                        (b.ownership == "BucketOwnerPreferred" and acl == "bucket-owner-full-control")) \
        else (ctx.account or b.owner)
    v = world.put_object(b.name, ctx.key, ctx.body, meta, sse,
                         content_type=ctx.header("content-type"), owner=owner, acl=acl,
                         content_encoding=ctx.header("content-encoding"))
    h = {"ETag": v.etag}
    h.update(_sse_headers(v))
    if b.versioning:
        h["x-amz-version-id"] = v.version_id
    return 200, h, b""


def _sse_headers(v):
    h = {}
    if v.sse.get("ServerSideEncryption"):
        h["x-amz-server-side-encryption"] = v.sse["ServerSideEncryption"]
    if v.sse.get("SSEKMSKeyId"):
        h["x-amz-server-side-encryption-aws-kms-key-id"] = v.sse["SSEKMSKeyId"]
    if v.sse.get("BucketKeyEnabled"):
        h["x-amz-server-side-encryption-bucket-key-enabled"] = "true"
    return h


def _parse_range(r, size):
    m = re.match(r"^bytes=(\d*)-(\d*)$", r.strip())
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None
    if m.group(1) == "":
        n = int(m.group(2))
        if n == 0:
            raise AwsError("InvalidRange", "The requested range is not satisfiable", 416,
                           extra={"ActualObjectSize": size})
        return max(0, size - n), size - 1
    a = int(m.group(1))
    e = int(m.group(2)) if m.group(2) else size - 1
    if a >= size or e < a:
        raise AwsError("InvalidRange", "The requested range is not satisfiable", 416,
                       extra={"RangeRequested": r, "ActualObjectSize": size})
    return a, min(e, size - 1)


def get_object(world, ctx, b, head=False):
    if ctx.header("x-amz-server-side-encryption"):
        raise AwsError("InvalidArgument", "x-amz-server-side-encryption header is not supported "
                       "for this operation.", 400)
    vid = ctx.query.get("versionId")
    v = world.get_object(b.name, ctx.key, vid)
    if v is None or v.delete_marker:
        # without s3:ListBucket a missing key is 403
        allowed, _ = world.bucket_policy_allows(b.name, ctx.principal, "s3:ListBucket", b.arn,
                                                _context(world, ctx))
        if not allowed:
            raise AwsError("AccessDenied", "Access Denied", 403)
        hdr = {}
        if v is not None and v.delete_marker:
            hdr = {"x-amz-delete-marker": "true", "x-amz-version-id": v.version_id}
            if vid:
                raise AwsError("MethodNotAllowed", "The specified method is not allowed against this "
                               "resource.", 405, headers=hdr)
        vs = b.objects.get(ctx.key)
        if vs and vs[-1].delete_marker and not vid:
            hdr = {"x-amz-delete-marker": "true", "x-amz-version-id": vs[-1].version_id}
        if vid:
            raise AwsError("NoSuchVersion", "The specified version does not exist.", 404,
                           extra={"Key": ctx.key, "VersionId": vid}, headers=hdr)
        raise AwsError("NoSuchKey", "The specified key does not exist.", 404, extra={"Key": ctx.key},
                       headers=hdr)
    if v.sse.get("SSEKMSKeyId"):
        _kms_check(world, ctx, b, v.sse["SSEKMSKeyId"], "kms:Decrypt", _obj_arn(b, ctx.key))
    h = {"Last-Modified": http_date(v.last_modified), "ETag": v.etag, "Accept-Ranges": "bytes",
         "Content-Type": v.content_type}
    if v.content_encoding:
        h["Content-Encoding"] = v.content_encoding
    for mk, mv in v.metadata.items():
        h["x-amz-meta-" + mk] = mv
    h.update(_sse_headers(v))
    if b.versioning:
        h["x-amz-version-id"] = v.version_id
    inm = ctx.header("if-none-match")
    if inm is not None and inm.strip() in (v.etag, "*"):
        return 304, {"ETag": v.etag, "Last-Modified": h["Last-Modified"]}, b""
    im = ctx.header("if-match")
    if im is not None and im.strip() not in (v.etag, "*"):
        raise AwsError("PreconditionFailed", "At least one of the pre-conditions you specified did not hold",
                       412, extra={"Condition": "If-Match"})
    body = v.body
    status = 200
    rng = ctx.header("range")
    if rng is not None and v.size > 0:
        r = _parse_range(rng, v.size)
        if r is not None:
            a, e = r
            body = body[a:e + 1]
            h["Content-Range"] = "bytes %d-%d/%d" % (a, e, v.size)
            status = 206
    if head:
        # HEAD: same headers; the server sends no body but Content-Length must match
        h["Content-Length"] = str(len(body))
        return status, h, body
    return status, h, body


def delete_object(world, ctx, b):
    vid = ctx.query.get("versionId")
    if vid and b.object_lock and b.object_lock.get("Rule"):
        v = world.get_object(b.name, ctx.key, vid)
        r = b.object_lock["Rule"]
        days = r.get("Days", r.get("Years", 0) * 365)
        if v is not None and not v.delete_marker and world.now < v.last_modified + days * 86400:
            raise AwsError("AccessDenied", "Access Denied because object protected by object lock.", 403)
    m = world.delete_object(b.name, ctx.key, vid)
    h = {}
    if m is not None:
        h = {"x-amz-delete-marker": "true", "x-amz-version-id": m.version_id}
    elif vid:
        h = {"x-amz-version-id": vid}
    return 204, h, b""


def delete_objects(world, ctx, b):
    _check_md5(ctx, "DeleteObjects")
    el = _parse_xml(ctx.body, "Delete")
    quiet = _text(el, "Quiet") == "true"
    out = []
    for o in _children(el, "Object"):
        key = _text(o, "Key")
        try:
            authorize(world, ctx, b, "s3:DeleteObject", _obj_arn(b, key))
            world.delete_object(b.name, key, _text(o, "VersionId"))
            if not quiet:
                out.append("<Deleted>%s</Deleted>" % _el("Key", key))
        except AwsError as e:
            out.append("<Error>%s%s%s</Error>" % (_el("Key", key), _el("Code", e.code), _el("Message", e.message)))
    return _ok_xml(_xml("DeleteResult", "".join(out)))


BUCKET_HANDLERS = {
    "PutBucketPolicy": put_bucket_policy, "GetBucketPolicy": get_bucket_policy,
    "DeleteBucketPolicy": delete_bucket_policy,
    "PutBucketVersioning": put_versioning, "GetBucketVersioning": get_versioning,
    "PutBucketEncryption": put_encryption, "GetBucketEncryption": get_encryption,
    "DeleteBucketEncryption": delete_encryption,
    "PutPublicAccessBlock": put_pab, "GetPublicAccessBlock": get_pab, "DeletePublicAccessBlock": delete_pab,
    "PutBucketOwnershipControls": put_ownership, "GetBucketOwnershipControls": get_ownership,
    "DeleteBucketOwnershipControls": delete_ownership,
    "PutBucketLifecycleConfiguration": put_lifecycle, "GetBucketLifecycleConfiguration": get_lifecycle,
    "DeleteBucketLifecycle": delete_lifecycle,
    "PutBucketLogging": put_logging, "GetBucketLogging": get_logging,
    "PutObjectLockConfiguration": put_object_lock, "GetObjectLockConfiguration": get_object_lock,
    "PutBucketTagging": put_tagging, "GetBucketTagging": get_tagging, "DeleteBucketTagging": delete_tagging,
    "GetBucketLocation": get_location, "GetBucketAcl": get_acl, "PutBucketAcl": put_acl,
    "ListObjectVersions": list_versions,
    "HeadBucket": head_bucket, "DeleteBucket": delete_bucket,
    "ListObjects": lambda w, c, b: list_objects(w, c, b, False),
    "ListObjectsV2": lambda w, c, b: list_objects(w, c, b, True),
    "DeleteObjects": delete_objects,
}
OBJECT_HANDLERS = {"PutObject": put_object, "GetObject": get_object,
                   "HeadObject": lambda w, c, b: get_object(w, c, b, head=True),
                   "DeleteObject": delete_object}


def handle(world, ctx):
    op = ctx.operation
    if op == "ListBuckets":
        return list_buckets(world, ctx)
    if op == "CreateBucket":
        return create_bucket(world, ctx)
    if op == "Unknown":
        raise AwsError("NotImplemented", "A header or query you provided implies functionality that "
                       "is not implemented", 501)
    b = _bucket(world, ctx, op)
    if op in CHECKSUM_REQUIRED:
        _check_md5(ctx, op)
    if op in OBJECT_HANDLERS:
        extra = {}
        authorize(world, ctx, b, ctx.s3_action, _obj_arn(b, ctx.key), extra)
        return OBJECT_HANDLERS[op](world, ctx, b)
    extra = {}
    if op in ("ListObjects", "ListObjectsV2", "ListObjectVersions"):
        for qn, kn in (("prefix", "s3:prefix"), ("delimiter", "s3:delimiter"), ("max-keys", "s3:max-keys")):
            if qn in ctx.query:
                extra[kn] = ctx.query[qn]
    if op != "GetBucketLocation":
        authorize(world, ctx, b, ctx.s3_action, b.arn, extra)
    return BUCKET_HANDLERS[op](world, ctx, b)
