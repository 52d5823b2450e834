"""Simulated CloudTrail delivery on the fake's clock (Engineer B).

advance(world, seconds) moves world.now forward in 5-minute ticks.  At every
tick, for every logging trail x covered account x trail region:
  * the management events the server recorded since the last tick (world.events)
    plus seeded synthetic background events (and S3 data events when the trail's
    event selectors ask for them) are written as one gzip'd log file
    P/AWSLogs/[<org-id>/]<acct>/CloudTrail/<region>/YYYY/MM/DD/
        <acct>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 chars>.json.gz
    (no file when there are no events);
  * at every full hour, for trails with log file validation on, a signed digest
    P/AWSLogs/[<org-id>/]<acct>/CloudTrail-Digest/<region>/YYYY/MM/DD/
        <acct>_CloudTrail-Digest_<region>_<trail>_<home-region>_<YYYYMMDDTHHmmssZ>.json.gz
    even when the hour had no log files.

Every write is authorised as the real service does it: the bucket policy must
let {"Service": "cloudtrail.amazonaws.com"} s3:PutObject the key (with
aws:SourceArn / aws:SourceAccount / s3:x-amz-acl), and with a KMS key on the
trail the key must exist, be Enabled and its policy must allow
kms:GenerateDataKey with the trail's encryption context.  A denied write is
silent: no object; the trail's LatestDeliveryError / LatestDigestDeliveryError
is set while any destination is failing.

Signing keys: one RSA-2048 key per region, created on first use and kept in the
world state (world.extra["cloudtrail"]["keys"]); rotate_signing_key retires the
current one.  Fingerprint = hex MD5 of the DER PKCS#1 public key.  ListPublicKeys
Value on the wire (a JSON blob) = base64 of the DER PKCS#1 RSAPublicKey, ONCE:
the AWS CLI (v1 and v2) registers an identity blob parser, so validate-logs gets
the wire string and base64-decodes it once before load_der_public_key.  (A plain
botocore client decodes the blob itself and gets the DER bytes.)  Note that
reference/cloudtrail-integrity.md section 4 says "decode twice"; that is wrong
for the wire format: the awscli validator passes only with single encoding.

Control operations registered here: advance, set_regions, set_delivery,
rotate_signing_key, backfill, delivery_state.
"""

import base64
import datetime
import gzip
import hashlib
import json

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from . import accesslog, cloudwatch, control, logs
from .world import PARTITION, iso8601, parse_iso8601

TICK = 300
HOUR = 3600
DEFAULT_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
GLOBAL_SOURCES = frozenset(["iam.amazonaws.com", "sts.amazonaws.com", "cloudfront.amazonaws.com",
                            "organizations.amazonaws.com", "signin.amazonaws.com"])
SERVICE = {"Service": "cloudtrail.amazonaws.com"}
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
MAX_PENDING = 100000           # events kept for one destination between ticks

_key_objs = {}                 # fingerprint -> loaded private key (not pickled)

# synthetic background activity: (eventSource, eventName, readOnly)
BACKGROUND = [
    ("ec2.amazonaws.com", "DescribeInstances", True),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", True),
    ("s3.amazonaws.com", "ListBuckets", True),
    ("kms.amazonaws.com", "Decrypt", True),
    ("iam.amazonaws.com", "GetRole", True),
    ("sts.amazonaws.com", "GetCallerIdentity", True),
    ("logs.amazonaws.com", "CreateLogStream", False),
    ("lambda.amazonaws.com", "ListFunctions20150331", True),
    ("ssm.amazonaws.com", "GetParameter", True),
    ("ec2.amazonaws.com", "CreateTags", False),
]


# --- state -----------------------------------------------------------------------

def state(world):
    st = world.extra.get("cloudtrail")
    if st is None:
        st = {"regions": list(DEFAULT_REGIONS), "keys": {}, "cursor": 0,
              "clock": None, "bg": [0, 3], "data_bg": [0, 2]}
        world.extra["cloudtrail"] = st
    return st


def regions(world):
    return list(state(world)["regions"])


def trail_regions(world, trail):
    if trail.multi_region:
        rs = regions(world)
        if trail.home_region not in rs:
            rs.append(trail.home_region)
        return rs
    return [trail.home_region]


def trail_accounts(world, trail):
    """Accounts a trail delivers for: the owner, or every ACTIVE org account
    (only the owner while cloudtrail.amazonaws.com has no trusted access)."""
    if trail.org and world.org is not None and world.org.management_account == trail.account:
        if "cloudtrail.amazonaws.com" not in world.org.trusted_services:
            return [trail.account]
        out = []
        for a in world.org.members:
            acc = world.accounts.get(a)
            if acc is not None and acc.status == "ACTIVE":
                out.append(a)
        if trail.account not in out:
            out.insert(0, trail.account)
        return out
    return [trail.account]


def org_id_for(world, trail):
    if trail.org and world.org is not None:
        return world.org.id
    return None


# --- keys and paths --------------------------------------------------------------

def _ymd(t):
    d = datetime.datetime.fromtimestamp(t, tz=datetime.timezone.utc)
    return d


def base_prefix(world, trail, acct):
    p = (trail.prefix + "/") if trail.prefix else ""
    oid = org_id_for(world, trail)
    if oid:
        return "%sAWSLogs/%s/%s/" % (p, oid, acct)
    return "%sAWSLogs/%s/" % (p, acct)


def log_key(world, trail, acct, region, t):
    d = _ymd(t)
    return "%sCloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz" % (
        base_prefix(world, trail, acct), region, d.strftime("%Y/%m/%d"), acct, region,
        d.strftime("%Y%m%dT%H%MZ"), world.rand_chars(16, ALNUM))


def log_key_time(key):
    """Epoch seconds of a log file key's YYYYMMDDTHHmmZ stamp, or None."""
    parts = key.rsplit("/", 1)[-1].rsplit("_", 2)
    if len(parts) != 3:
        return None
    try:
        return datetime.datetime.strptime(parts[1], "%Y%m%dT%H%MZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        return None


def digest_key(world, trail, acct, region, t, backfill=False):
    d = _ymd(t)
    return "%sCloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_%s_%s_%s%s.json.gz" % (
        base_prefix(world, trail, acct), region, d.strftime("%Y/%m/%d"), acct, region,
        trail.name, trail.home_region, d.strftime("%Y%m%dT%H%M%SZ"),
        "_backfill" if backfill else "")


# --- signing keys ----------------------------------------------------------------

def _new_key(world, region, start):
    priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = priv.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.PKCS1)
    pem = priv.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    fp = hashlib.md5(der).hexdigest()
    k = {"fingerprint": fp, "der": der, "pem": pem, "start": float(start), "end": None,
         "region": region}
    state(world)["keys"].setdefault(region, []).append(k)
    _key_objs[fp] = priv
    return k


def current_key(world, region):
    ks = state(world)["keys"].get(region)
    if not ks or ks[-1]["end"] is not None:
        return _new_key(world, region, world.now)
    return ks[-1]


def rotate_key(world, region):
    ks = state(world)["keys"].get(region)
    if ks and ks[-1]["end"] is None:
        ks[-1]["end"] = float(world.now)
    return _new_key(world, region, world.now)


def _priv(k):
    p = _key_objs.get(k["fingerprint"])
    if p is None:
        p = serialization.load_pem_private_key(k["pem"], password=None)
        _key_objs[k["fingerprint"]] = p
    return p


def sign(k, data):
    return _priv(k).sign(data, padding.PKCS1v15(), hashes.SHA256()).hex()


def public_keys(world, region, start, end):
    """Keys of region whose validity overlaps [start, end], oldest first, as
    ListPublicKeys returns them."""
    out = []
    for k in state(world)["keys"].get(region, []):
        kend = k["end"] if k["end"] is not None else k["start"] + 365 * 86400
        if k["start"] <= end and kend >= start:
            out.append({"Value": base64.b64encode(k["der"]).decode(),
                        "ValidityStartTime": int(k["start"]),
                        "ValidityEndTime": int(kend),
                        "Fingerprint": k["fingerprint"]})
    return out


def string_to_sign(end_time, bucket, key, digest_bytes, prev_sig):
    return ("%s\n%s/%s\n%s\n%s" % (end_time, bucket, key, hashlib.sha256(digest_bytes).hexdigest(),
                                   prev_sig if prev_sig is not None else "null")).encode()


# --- authorisation ---------------------------------------------------------------

def authorise(world, trail, bucket, key, cache=None):
    """None if CloudTrail may write bucket/key for trail, else the
    LatestDeliveryError value."""
    b = world.buckets.get(bucket)
    if b is None:
        return "NoSuchBucket"
    ck = None
    if cache is not None:
        # decisions depend on the policy texts, the trail and the key's folder
        kpol = None
        if trail.kms_key_arn:
            kk = world.keys.get(trail.kms_key_arn.rsplit("/", 1)[-1])
            kpol = (kk.policy, kk.state) if kk else None
        ck = (bucket, b.owner, b.region, b.created, b.policy, trail.arn, key.rsplit("/", 4)[0], kpol)
        if ck in cache:
            return cache[ck]
    err = None
    ctx = {"aws:SourceArn": trail.arn, "aws:SourceAccount": trail.account,
           "s3:x-amz-acl": "bucket-owner-full-control", "aws:SecureTransport": "true"}
    ok, _why = world.bucket_policy_allows(bucket, SERVICE, "s3:PutObject",
                                          "arn:%s:s3:::%s/%s" % (PARTITION, bucket, key), ctx)
    if not ok:
        err = "AccessDenied"
    if err is None and trail.kms_key_arn:
        err = kms_error(world, trail, b)
    if cache is not None:
        cache[ck] = err
    return err


def kms_error(world, trail, bucket=None):
    kid = trail.kms_key_arn.rsplit("/", 1)[-1]
    k = world.keys.get(kid)
    if k is None:
        return "KMS.NotFoundException"          # deleted (deletion completed)
    if bucket is not None and k.region != bucket.region:
        # CloudTrail asks KMS in the bucket's region, where the key does not exist
        return "KMS.NotFoundException"
    if k.state == "Disabled":
        return "KMS.DisabledException"
    if k.state != "Enabled":
        return "KMS.KMSInvalidStateException"
    ok, _why = world.key_policy_allows(kid, SERVICE, "kms:GenerateDataKey",
                                       {"kms:EncryptionContext:aws:cloudtrail:arn": trail.arn,
                                        "aws:SourceArn": trail.arn,
                                        "aws:SourceAccount": trail.account})
    if not ok:
        return "InsufficientEncryptionPolicy"
    return None


def _sse(trail):
    if trail.kms_key_arn:
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": trail.kms_key_arn}
    return None


def _set_error(trail, kind, dest, err):
    """Record a destination's last result; the trail shows an error while any
    destination is failing (the most recent failure)."""
    errs = trail.dest_errors.setdefault(kind, {})
    if err is None:
        errs.pop(dest, None)
    else:
        errs[dest] = err
    cur = None
    if errs:
        cur = errs[dest] if dest in errs else errs[sorted(errs)[-1]]
    if kind == "log":
        trail.latest_delivery_error = cur
    else:
        trail.latest_digest_delivery_error = cur


# --- events ------------------------------------------------------------------------

def _public_event(ev):
    return {k: v for k, v in ev.items() if not k.startswith("_")}


def _bg_events(world, acct, region, t0, n, st):
    out = []
    rng = world.rng
    for _ in range(n):
        src, name, ro = BACKGROUND[rng.randrange(len(BACKGROUND))]
        t = t0 + rng.randrange(TICK)
        h = "%032x" % rng.getrandbits(128)
        out.append({
            "eventVersion": "1.08",
            "userIdentity": {"type": "AssumedRole",
                             "principalId": "AROAFAKEBACKGROUND00:app",
                             "arn": "arn:%s:sts::%s:assumed-role/app/app" % (PARTITION, acct),
                             "accountId": acct},
            "eventTime": iso8601(t),
            "eventSource": src,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": "203.0.113.%d" % (1 + rng.randrange(254)),
            "userAgent": "aws-sdk-go/1.44.0",
            "requestParameters": None,
            "responseElements": None,
            "requestID": "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:32]),
            "eventID": "%s-%s-4%s-%s-%s" % (h[1:9], h[9:13], h[13:16], h[17:21], h[20:32]),
            "readOnly": ro,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": acct,
            "eventCategory": "Management",
            "_time": float(t),
        })
    return out


def _data_events(world, trail, acct, region, t0, st):
    """Synthetic S3 data events for buckets the trail's selectors name."""
    sel = data_selectors(trail)
    if not sel:
        return []
    out = []
    rng = world.rng
    lo, hi = st["data_bg"]
    for bname in sorted(world.buckets):
        b = world.buckets[bname]
        if b.owner != acct or b.region != region:
            continue
        for name, ro in (("GetObject", True), ("PutObject", False)):
            arn = "arn:%s:s3:::%s/object-%d" % (PARTITION, bname, rng.randrange(100))
            if not data_event_selected(sel, arn, name, ro):
                continue
            for _ in range(rng.randint(lo, hi)):
                t = t0 + rng.randrange(TICK)
                h = "%032x" % rng.getrandbits(128)
                out.append({
                    "eventVersion": "1.08",
                    "userIdentity": {"type": "AssumedRole", "principalId": "AROAFAKEDATA0000:app",
                                     "arn": "arn:%s:sts::%s:assumed-role/app/app" % (PARTITION, acct),
                                     "accountId": acct},
                    "eventTime": iso8601(t), "eventSource": "s3.amazonaws.com",
                    "eventName": name, "awsRegion": region,
                    "sourceIPAddress": "203.0.113.7", "userAgent": "aws-sdk-java",
                    "requestParameters": {"bucketName": bname, "key": arn.split("/", 1)[1]},
                    "responseElements": None,
                    "requestID": h[:16].upper(),
                    "eventID": "%s-%s-4%s-%s-%s" % (h[:8], h[8:12], h[13:16], h[16:20], h[20:32]),
                    "readOnly": ro,
                    "resources": [{"type": "AWS::S3::Object", "ARN": arn},
                                  {"accountId": acct, "type": "AWS::S3::Bucket",
                                   "ARN": "arn:%s:s3:::%s" % (PARTITION, bname)}],
                    "eventType": "AwsApiCall", "managementEvent": False,
                    "recipientAccountId": acct, "eventCategory": "Data",
                    "_time": float(t),
                })
    return out


# --- selectors ---------------------------------------------------------------------

def data_selectors(trail):
    """[(kind, values, readonly_filter)] for S3 object data events."""
    out = []
    if trail.advanced_selectors:
        for s in trail.advanced_selectors:
            fs = {f.get("Field"): f for f in s.get("FieldSelectors", [])}
            cat = fs.get("eventCategory", {}).get("Equals", [])
            rt = fs.get("resources.type", {}).get("Equals", [])
            if "Data" in cat and "AWS::S3::Object" in rt:
                out.append(("adv", fs, None))
    elif trail.event_selectors:
        for s in trail.event_selectors:
            for dr in s.get("DataResources", []) or []:
                if dr.get("Type") == "AWS::S3::Object":
                    out.append(("basic", dr.get("Values", []), s.get("ReadWriteType", "All")))
    return out


def _rw_ok(rw, ro):
    return rw in (None, "All") or (rw == "ReadOnly" and ro) or (rw == "WriteOnly" and not ro)


def _field_ok(f, value):
    if f is None:
        return True
    if "Equals" in f and value not in f["Equals"]:
        return False
    if "NotEquals" in f and value in f["NotEquals"]:
        return False
    if "StartsWith" in f and not any(value.startswith(p) for p in f["StartsWith"]):
        return False
    if "NotStartsWith" in f and any(value.startswith(p) for p in f["NotStartsWith"]):
        return False
    if "EndsWith" in f and not any(value.endswith(p) for p in f["EndsWith"]):
        return False
    if "NotEndsWith" in f and any(value.endswith(p) for p in f["NotEndsWith"]):
        return False
    return True


def data_event_selected(sel, arn, name, ro):
    for kind, v, rw in sel:
        if kind == "basic":
            if not _rw_ok(rw, ro):
                continue
            for val in v:
                if val in ("arn:aws:s3", "arn:aws:s3:::") or arn.startswith(val):
                    return True
        else:
            if (_field_ok(v.get("resources.ARN"), arn) and _field_ok(v.get("eventName"), name)
                    and _field_ok(v.get("readOnly"), "true" if ro else "false")):
                return True
    return False


def management_selected(trail, ev):
    """Does the trail log this management event?"""
    ro = bool(ev.get("readOnly"))
    src = ev.get("eventSource", "")
    if trail.advanced_selectors:
        for s in trail.advanced_selectors:
            fs = {f.get("Field"): f for f in s.get("FieldSelectors", [])}
            if "Management" not in fs.get("eventCategory", {}).get("Equals", []):
                continue
            if not _field_ok(fs.get("readOnly"), "true" if ro else "false"):
                continue
            if not _field_ok(fs.get("eventSource"), src):
                continue
            return True
        return False
    sels = trail.event_selectors
    if sels is None:
        return True
    for s in sels:
        if not s.get("IncludeManagementEvents", True):
            continue
        if src in (s.get("ExcludeManagementEventSources") or []):
            continue
        if _rw_ok(s.get("ReadWriteType", "All"), ro):
            return True
    return False


# --- delivery ----------------------------------------------------------------------

def _chain(trail, dest, t):
    # One chain per (account, region), kept across UpdateTrail of S3BucketName
    # or S3KeyPrefix, as CloudTrail does: the next digest goes to the new
    # location (trail.bucket, trail.prefix) and its previousDigestS3Bucket /
    # previousDigestS3Object name the last digest at the old location; the log
    # files written there before the change are listed in it where they are
    # (reference/cloudtrail-integrity.md section 5;
    # tests/integration/validate_location_change.py).
    c = trail.chains.get(dest)
    if c is None:
        hour = (int(t) - 1) // HOUR * HOUR
        c = {"prev": None, "files": [], "start": float(max(trail.chain_epoch or t, hour))}
        trail.chains[dest] = c
    return c


def delivery_fault(world, trail, kind):
    """The injected LatestDeliveryError (kind "log") / LatestDigestDeliveryError
    (kind "digest") of trail, or None (control op set_delivery_fault)."""
    f = world.extra.get("delivery_faults", {}).get(trail.arn)
    return f.get(kind) if f else None


def _write_log(world, trail, acct, region, evs, t, cache):
    evs.sort(key=lambda e: e["_time"])
    key = log_key(world, trail, acct, region, t)
    err = delivery_fault(world, trail, "log") or authorise(world, trail, trail.bucket, key, cache)
    _set_error(trail, "log", (acct, region), err)
    if err is not None:
        return None
    raw = json.dumps({"Records": [_public_event(e) for e in evs]},
                     separators=(",", ":")).encode()
    body = gzip.compress(raw, compresslevel=6, mtime=0)
    world.put_object(trail.bucket, key, body, sse=_sse(trail),
                     content_type="application/json", owner=trail.account)
    accesslog.note(world, trail.bucket, "REST.PUT.OBJECT", key, "svc:cloudtrail.amazonaws.com",
                   size=len(body))
    trail.latest_delivery_time = float(t)
    trail.latest_notification_time = float(t)
    if trail.validation and trail.chain_epoch is not None:
        c = _chain(trail, (acct, region), t)
        c["files"].append({"s3Bucket": trail.bucket, "s3Object": key,
                           "hashValue": hashlib.sha256(raw).hexdigest(),
                           "hashAlgorithm": "SHA-256",
                           "newestEventTime": iso8601(evs[-1]["_time"]),
                           "oldestEventTime": iso8601(evs[0]["_time"])})
    return key


def write_digest(world, trail, acct, region, t, cache=None, backfill=None):
    """Write the digest for (acct, region) ending at t; returns its key or None."""
    dest = (acct, region)
    if backfill is None:
        c = _chain(trail, dest, t)
        files, prev, start = c["files"], c["prev"], c["start"]
    else:
        files, prev, start = backfill["files"], backfill["prev"], backfill["start"]
    key = digest_key(world, trail, acct, region, t, backfill is not None)
    bucket = trail.bucket
    err = (delivery_fault(world, trail, "digest") if backfill is None else None) or \
        authorise(world, trail, bucket, key, cache)
    if backfill is None:
        _set_error(trail, "digest", dest, err)
    if err is not None:
        if backfill is None:
            # the chain restarts after an undelivered digest
            c["prev"], c["files"], c["start"] = None, [], float(t)
        return None
    newest = max((f["newestEventTime"] for f in files), default=None)
    oldest = min((f["oldestEventTime"] for f in files), default=None)
    k = current_key(world, region)
    d = {"awsAccountId": acct,
         "digestStartTime": iso8601(start),
         "digestEndTime": iso8601(t),
         "digestS3Bucket": bucket,
         "digestS3Object": key,
         "digestPublicKeyFingerprint": k["fingerprint"],
         "digestSignatureAlgorithm": "SHA256withRSA",
         "newestEventTime": newest,
         "oldestEventTime": oldest,
         "previousDigestS3Bucket": prev["bucket"] if prev else None,
         "previousDigestS3Object": prev["key"] if prev else None,
         "previousDigestHashValue": prev["hash"] if prev else None,
         "previousDigestHashAlgorithm": "SHA-256" if prev else None,
         "previousDigestSignature": prev["sig"] if prev else None,
         "logFiles": files}
    raw = json.dumps(d, separators=(",", ":")).encode()
    sig = sign(k, string_to_sign(d["digestEndTime"], bucket, key, raw, d["previousDigestSignature"]))
    meta = {"signature": sig, "signature-algorithm": "SHA256withRSA"}
    if backfill is not None:
        meta["backfill-generation-timestamp"] = iso8601(world.now)
    world.put_object(bucket, key, gzip.compress(raw, compresslevel=6, mtime=0), metadata=meta,
                     sse=_sse(trail), content_type="application/json", owner=trail.account)
    accesslog.note(world, bucket, "REST.PUT.OBJECT", key, "svc:cloudtrail.amazonaws.com")
    link = {"bucket": bucket, "key": key, "hash": hashlib.sha256(raw).hexdigest(), "sig": sig}
    if backfill is None:
        trail.latest_digest_delivery_time = float(t)
        c["prev"], c["files"], c["start"] = link, [], float(t)
    else:
        backfill["prev"] = link
    return key


def _trails(world):
    # cloudtrail.Trail objects, in ARN order (deterministic delivery order)
    return [t for _arn, t in sorted(world.trails.items())]


def _tick(world, t, cache):
    from . import account as acctmod
    st = state(world)
    world.expire_keys()
    trails = [tr for tr in _trails(world) if tr.logging]
    # destinations: a trail does not run in a region the account has not
    # enabled (opt-in regions DISABLED / ENABLING / DISABLING)
    routes = {}     # (acct, region) -> [trail]
    plan = []
    for tr in trails:
        regs = trail_regions(world, tr)
        accts = trail_accounts(world, tr)
        cells = [(a, r) for a in accts for r in regs if acctmod.region_runs(world, a, r)]
        for c in cells:
            routes.setdefault(c, []).append(tr)
        plan.append((tr, cells))
    # trails stopped since the last tick: their recorded events until the stop
    # (their own StopLogging call included) still go to CloudWatch Logs
    finals, final_routes = [], {}
    for tr in _trails(world):
        if tr.logging or tr.final_cw_until is None:
            continue
        regs = trail_regions(world, tr)
        cells = [(a, r) for a in trail_accounts(world, tr) for r in regs if acctmod.region_runs(world, a, r)]
        for c in cells:
            final_routes.setdefault(c, []).append(tr)
        finals.append((tr, cells))
    pending = {}    # (trail arn, acct, region) -> [events]

    def add(tr, a, r, ev):
        lst = pending.setdefault((tr.arn, a, r), [])
        if len(lst) < MAX_PENDING:
            lst.append(ev)

    # recorded management events
    evs = world.events
    i = st["cursor"]
    n = len(evs)
    while i < n and evs[i].get("_time", 0) <= t:
        ev = evs[i]
        i += 1
        a = ev.get("recipientAccountId")
        r = ev.get("awsRegion")
        glob = ev.get("eventSource") in GLOBAL_SOURCES
        for tr in routes.get((a, r), ()):
            if glob and not tr.include_global:
                continue
            if management_selected(tr, ev):
                add(tr, a, r, ev)
        for tr in final_routes.get((a, r), ()):
            if ev.get("_time", 0) <= tr.final_cw_until and (not glob or tr.include_global) \
                    and management_selected(tr, ev):
                add(tr, a, r, ev)
    st["cursor"] = i
    # background activity (once per account x region, routed to every trail)
    lo, hi = st["bg"]
    t0 = t - TICK
    for dest in sorted(routes):
        a, r = dest
        cnt = world.rng.randint(lo, hi) if hi > 0 else 0
        if cnt:
            bg = _bg_events(world, a, r, t0, cnt, st)
            for tr in routes[dest]:
                for ev in bg:
                    glob = ev["eventSource"] in GLOBAL_SOURCES
                    if glob and not tr.include_global:
                        continue
                    if management_selected(tr, ev):
                        add(tr, a, r, ev)
        for tr in routes[dest]:
            if tr.event_selectors or tr.advanced_selectors:
                for ev in _data_events(world, tr, a, r, t0, st):
                    add(tr, a, r, ev)
    # log files
    for tr, cells in plan:
        for a, r in cells:
            p = pending.get((tr.arn, a, r))
            if p:
                _write_log(world, tr, a, r, p, t, cache)
                if tr.cw_log_group:
                    logs.deliver(world, tr, a, r, [_public_event(e) for e in p], t)
    for tr, cells in finals:
        for a, r in cells:
            p = pending.get((tr.arn, a, r))
            if p and tr.cw_log_group:
                p.sort(key=lambda e: e["_time"])
                logs.deliver(world, tr, a, r, [_public_event(e) for e in p], t)
        tr.final_cw_until = None
    # digests
    if int(t) % HOUR == 0:
        for tr, cells in plan:
            if not tr.validation or tr.chain_epoch is None or tr.chain_epoch >= t:
                continue
            for a, r in cells:
                write_digest(world, tr, a, r, t, cache)
        accesslog.deliver(world, t)
    cloudwatch.evaluate(world)


def advance(world, body):
    """{"seconds": N} or {"until": iso}: run delivery for the elapsed time."""
    st = state(world)
    if "until" in body:
        target = parse_iso8601(body["until"]) if isinstance(body["until"], str) else float(body["until"])
    else:
        target = world.now + float(body.get("seconds", TICK))
    if target < world.now:
        raise ValueError("cannot go back in time (now %s)" % iso8601(world.now))
    from . import account as acctmod
    acctmod.complete_transitions(world)     # ENABLING / DISABLING finish now
    clock = st["clock"]
    if clock is None or clock > world.now:
        clock = world.now
    t = (int(clock) // TICK + 1) * TICK
    cache = {}
    ticks = 0
    before = sum(len(b.objects) for b in world.buckets.values())
    while t <= target:
        world.now = float(t)
        _tick(world, t, cache)
        st["clock"] = float(t)
        ticks += 1
        t += TICK
    world.now = float(target)
    after = sum(len(b.objects) for b in world.buckets.values())
    return {"now": iso8601(world.now), "ticks": ticks, "objects_written": after - before}


def stop_chains(world, trail):
    """Logging stopped or validation turned off: write the digest for the part
    of the hour that was logged (if any) and restart every chain."""
    t = float(world.now)
    if trail.validation and trail.chain_epoch is not None:
        for dest in sorted(trail.chains):
            c = trail.chains[dest]
            if c["start"] < t or c["files"]:
                if c["start"] >= t:
                    continue
                write_digest(world, trail, dest[0], dest[1], t)
    trail.chains = {}
    trail.chain_epoch = None


def start_chains(world, trail):
    trail.chains = {}
    trail.chain_epoch = float(world.now)


# --- control operations ----------------------------------------------------------

def c_set_regions(world, body):
    rs = body.get("regions")
    if not isinstance(rs, list) or not rs or not all(isinstance(r, str) for r in rs):
        raise ValueError("'regions' must be a non-empty list of region names")
    state(world)["regions"] = list(rs)
    return {"regions": rs}


def c_set_delivery(world, body):
    """{"background": [min, max], "data": [min, max]}: synthetic events per
    account x region x 5-minute tick."""
    st = state(world)
    if "background" in body:
        lo, hi = body["background"]
        st["bg"] = [int(lo), int(hi)]
    if "data" in body:
        lo, hi = body["data"]
        st["data_bg"] = [int(lo), int(hi)]
    return {"background": st["bg"], "data": st["data_bg"]}


def c_rotate_signing_key(world, body):
    rs = [body["region"]] if body.get("region") else regions(world)
    out = {}
    for r in rs:
        out[r] = rotate_key(world, r)["fingerprint"]
    return {"fingerprints": out}


def find_trail(world, ref):
    if ref in world.trails:
        return world.trails[ref]
    for t in world.trails.values():
        if t.name == ref:
            return t
    raise KeyError("no trail '%s'" % ref)


def c_backfill(world, body):
    """{"trail": arn|name, "account": id, "region": r, "start": iso, "end": iso}:
    write backfill digests (key suffix _backfill, metadata
    backfill-generation-timestamp) for every hour in [start, end) that has no
    regular digest, listing the log files found in S3 for that hour; the
    backfill digests form their own chain."""
    tr = find_trail(world, body["trail"])
    acct = body.get("account", tr.account)
    region = body.get("region", tr.home_region)
    start = parse_iso8601(body["start"])
    end = parse_iso8601(body["end"])
    start = int(start) // HOUR * HOUR
    logs_prefix = base_prefix(world, tr, acct) + "CloudTrail/%s/" % region
    existing = set(k for k, _v in world.list_current(
        tr.bucket, base_prefix(world, tr, acct) + "CloudTrail-Digest/%s/" % region))
    bf = {"prev": None, "files": [], "start": float(start)}
    written = []
    h = start
    while h + HOUR <= end:
        t = h + HOUR
        if digest_key(world, tr, acct, region, t) in existing:
            bf["prev"] = None
            h = t
            continue
        files = []
        for k, v in world.list_current(tr.bucket, logs_prefix + _ymd(h).strftime("%Y/%m/%d/")):
            ts = log_key_time(k)
            if ts is None:
                continue
            if h < ts <= t:
                try:
                    raw = gzip.decompress(v.body)
                    recs = json.loads(raw)["Records"]
                    times = sorted(r["eventTime"] for r in recs)
                except (OSError, ValueError, KeyError, TypeError, EOFError):
                    continue
                files.append({"s3Bucket": tr.bucket, "s3Object": k,
                              "hashValue": hashlib.sha256(raw).hexdigest(),
                              "hashAlgorithm": "SHA-256",
                              "newestEventTime": times[-1] if times else None,
                              "oldestEventTime": times[0] if times else None})
        bf["files"], bf["start"] = files, float(h)
        key = write_digest(world, tr, acct, region, t, backfill=bf)
        if key:
            written.append(key)
        h = t
    return {"bucket": tr.bucket, "keys": written}


def c_delivery_state(world, body):
    st = state(world)
    return {"regions": st["regions"], "clock": iso8601(st["clock"]) if st["clock"] else None,
            "keys": {r: [{"fingerprint": k["fingerprint"], "start": iso8601(k["start"]),
                          "end": iso8601(k["end"]) if k["end"] else None} for k in ks]
                     for r, ks in st["keys"].items()},
            "background": st["bg"], "data": st["data_bg"]}


def c_set_delivery_fault(world, body):
    """{"trail": name|ARN, "error": "KMS.ThrottlingException" | "InternalError" | ... | null,
    "kind": "log" | "digest" | "both" | "cloudwatch"}: while set, that trail's deliveries of that
    kind fail with that LatestDeliveryError / LatestDigestDeliveryError value and
    write nothing (AWS-side problems: the key's request quota used up by other
    callers, S3 internal errors).  error null clears the fault for that kind."""
    tr = find_trail(world, body["trail"])
    kind = body.get("kind", "log")
    if kind not in ("log", "digest", "both", "cloudwatch"):
        raise ValueError("'kind' must be log, digest, both or cloudwatch")
    err = body.get("error")
    if err is not None and (not isinstance(err, str) or not err):
        raise ValueError("'error' must be a non-empty string or null")
    faults = world.extra.setdefault("delivery_faults", {})
    f = faults.setdefault(tr.arn, {})
    for k in (("log", "digest") if kind == "both" else (kind,)):
        if err is None:
            f.pop(k, None)
        else:
            f[k] = err
    if not f:
        faults.pop(tr.arn, None)
    return {"trail": tr.arn, "faults": dict(f)}


def c_force_trail_key(world, body):
    """{"trail": name|ARN, "key_arn": ARN}: set the trail's KMS key without
    CloudTrail's checks.  AWS refuses a key in another region than the bucket
    at CreateTrail/UpdateTrail (KmsKeyNotFoundException), so no API call can
    build that state; this op builds it so that doctor's judgement of it
    (kms_key_wrong_region) can be tested.  Delivery then fails as it would."""
    tr = find_trail(world, body["trail"])
    arn = body.get("key_arn")
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        raise ValueError("'key_arn' must be a key ARN")
    tr.kms_key_id = arn
    tr.kms_key_arn = arn
    return {"trail": tr.arn, "KmsKeyId": arn}


control.register("force_trail_key", c_force_trail_key)
control.register("set_delivery_fault", c_set_delivery_fault)
control.register("advance", advance)
control.register("set_regions", c_set_regions)
control.register("set_delivery", c_set_delivery)
control.register("rotate_signing_key", c_rotate_signing_key)
control.register("backfill", c_backfill)
control.register("delivery_state", c_delivery_state)
