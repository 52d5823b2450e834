"""S3 server access log delivery (best effort, hourly on the fake's clock).

For every bucket with logging enabled (PutBucketLogging), the requests made to
it are noted (note(): S3 API calls through the server, and CloudTrail's own
log and digest writes from delivery.py) and, at every full hour of `advance`,
written as one object per source bucket into the target bucket:
    <TargetPrefix>YYYY-mm-DD-HH-MM-SS-<16 hex upper>
one line per request in the S3 server access log format (bucket owner, bucket,
[time], remote IP, requester, request id, operation such as REST.PUT.OBJECT,
key, "request-URI", status, error code, bytes sent, object size, total time,
turnaround, "referrer", "user agent", version id, host id, SigV4, cipher suite,
AuthHeader, host header, TLSv1.2, access point ARN, ACL required).

The write is authorised as the logging service's: the target bucket must
exist and its policy must let {"Service": "logging.s3.amazonaws.com"}
s3:PutObject the key with aws:SourceArn = the source bucket's ARN and
aws:SourceAccount = its owner; a target bucket whose default encryption is
SSE-KMS is refused (S3 cannot deliver access logs there).  A refused delivery
is silent (no object); the control op access_log_failures lists them.  Requests
of an hour whose delivery was refused are dropped.
"""

import hashlib

from . import control
from .world import PARTITION

SERVICE = {"Service": "logging.s3.amazonaws.com"}
MAX_PENDING = 20000


def _pending(world):
    return world.extra.setdefault("accesslog_pending", {})


def note(world, bucket, operation, key, requester, status=200, size=0, remote="127.0.0.1",
         method="PUT", request_id=None, user_agent="aws-internal/3"):
    b = world.buckets.get(bucket)
    if b is None or not b.logging:
        return
    lst = _pending(world).setdefault(bucket, [])
    if len(lst) < MAX_PENDING:
        lst.append({"time": world.now, "op": operation, "key": key, "requester": requester,
                    "status": status, "size": size, "remote": remote, "method": method,
                    "rid": request_id or world.rand_hex(16).upper(), "ua": user_agent})


def _stamp(t):
    import time
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(t))


def _line(b, r):
    key = r["key"] or "-"
    uri = "%s /%s%s HTTP/1.1" % (r["method"], b.name, ("/" + r["key"]) if r["key"] else "")
    owner = hashlib.sha256(b.owner.encode()).hexdigest()
    return ('%s %s [%s] %s %s %s %s %s "%s" %d - %s %s 12 10 "-" "%s" - fakeawsHostId= SigV4 '
            'ECDHE-RSA-AES128-GCM-SHA256 AuthHeader %s.s3.%s.amazonaws.com TLSv1.2 - -'
            % (owner, b.name, _stamp(r["time"]), r["remote"], r["requester"], r["rid"], r["op"],
               key, uri, r["status"], r["size"] or "-", r["size"] or "-", r["ua"], b.name, b.region))


def refusal(world, src, target, key):
    """None if the logging service may write key into target for src, else why."""
    tb = world.buckets.get(target)
    if tb is None:
        return "NoSuchBucket"
    if tb.encryption and tb.encryption.get("SSEAlgorithm") == "aws:kms":
        return "KMSEncryptedTargetNotSupported"
    ok, why = world.bucket_policy_allows(
        target, SERVICE, "s3:PutObject", "arn:%s:s3:::%s/%s" % (PARTITION, target, key),
        {"aws:SourceArn": "arn:%s:s3:::%s" % (PARTITION, src.name), "aws:SourceAccount": src.owner})
    return None if ok else "AccessDenied: %s" % why


def deliver(world, t):
    """At a full hour t: write the pending records of every logged bucket."""
    pend = _pending(world)
    for name in sorted(pend):
        recs = [r for r in pend[name] if r["time"] < t]
        if not recs:
            continue
        pend[name] = [r for r in pend[name] if r["time"] >= t]
        b = world.buckets.get(name)
        if b is None or not b.logging:
            continue
        import time
        key = "%s%s-%s" % (b.logging["TargetPrefix"], time.strftime("%Y-%m-%d-%H-%M-%S",
                                                                   time.gmtime(t)),
                           world.rand_hex(16).upper())
        err = refusal(world, b, b.logging["TargetBucket"], key)
        if err is not None:
            world.extra.setdefault("accesslog_failures", []).append(
                {"bucket": name, "target": b.logging["TargetBucket"], "key": key, "time": t,
                 "error": err})
            continue
        body = "".join(_line(b, r) + "\n" for r in recs).encode()
        world.put_object(b.logging["TargetBucket"], key, body, content_type="text/plain",
                         owner=world.buckets[b.logging["TargetBucket"]].owner)


def c_access_log_failures(world, body):
    return {"failures": list(world.extra.get("accesslog_failures", []))}


control.register("access_log_failures", c_access_log_failures)
