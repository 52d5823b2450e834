"""Tamper operations on delivered CloudTrail objects (control op `tamper`) - Engineer B.

POST /_fake/tamper {"kind": K, "trail": ARN|name, "account": id, "region": r,
                    "index": i | "key": k, ...}
Picks the i-th (default: the middle one, so it sits inside a digest chain) log
file or digest of that trail x account x region in key order, or the exact
"key", changes it, and returns {"kind", "bucket", "keys": [affected keys], ...}
so tests can assert exactly which objects a validator must flag.

Kinds: modify_log, truncate_log, delete_log, append_after_gzip, inject_log,
       delete_digest, modify_digest, move_digest, strip_signature,
       stop_logging_hour, rotate_signing_key, deny_account.
"""

import gzip
import json

from . import control, delivery
from .world import PARTITION, iso8601


def _target(world, body):
    tr = delivery.find_trail(world, body["trail"])
    acct = body.get("account", tr.account)
    region = body.get("region", tr.home_region)
    return tr, acct, region


def _objects(world, tr, acct, region, what):
    pre = delivery.base_prefix(world, tr, acct) + "%s/%s/" % (what, region)
    return [(k, v) for k, v in world.list_current(tr.bucket, pre)
            if k.endswith(".json.gz")]


def _pick(world, body, what):
    tr, acct, region = _target(world, body)
    objs = _objects(world, tr, acct, region, what)
    if body.get("key"):
        for k, v in objs:
            if k == body["key"]:
                return tr, k, v
        raise KeyError("no object '%s'" % body["key"])
    if not objs:
        raise ValueError("no %s objects for %s / %s / %s" % (what, tr.name, acct, region))
    i = int(body.get("index", len(objs) // 2))
    if i < 0:
        i += len(objs)
    if not 0 <= i < len(objs):
        raise ValueError("index %d out of range (0..%d)" % (i, len(objs) - 1))
    k, v = objs[i]
    return tr, k, v


def _rewrite(world, bucket, v, body, metadata=None):
    world.put_object(bucket, v.key, body, metadata=v.metadata if metadata is None else metadata,
                     sse=v.sse, content_type=v.content_type, owner=v.owner)


def _flip(raw):
    """Change one character of the JSON text so it stays valid JSON."""
    i = raw.find(b'"eventName":"')
    if i < 0:
        i = raw.find(b'"digestStartTime":"')
        j = raw.index(b'T', i) - 1          # the last digit of the date
        c = raw[j:j + 1]
        return raw[:j] + (b"1" if c != b"1" else b"2") + raw[j + 1:]
    j = i + len(b'"eventName":"')
    c = raw[j:j + 1]
    return raw[:j] + (c.lower() if c.isupper() else c.upper() if c.islower() else b"X") + raw[j + 1:]


def modify_log(world, body):
    tr, k, v = _pick(world, body, "CloudTrail")
    raw = gzip.decompress(v.body)
    _rewrite(world, tr.bucket, v, gzip.compress(_flip(raw), mtime=0))
    return {"bucket": tr.bucket, "keys": [k]}


def truncate_log(world, body):
    tr, k, v = _pick(world, body, "CloudTrail")
    _rewrite(world, tr.bucket, v, v.body[:max(1, len(v.body) // 2)])
    return {"bucket": tr.bucket, "keys": [k]}


def delete_log(world, body):
    tr, k, v = _pick(world, body, "CloudTrail")
    world.delete_object(tr.bucket, k)
    return {"bucket": tr.bucket, "keys": [k]}


def append_after_gzip(world, body):
    tr, k, v = _pick(world, body, "CloudTrail")
    _rewrite(world, tr.bucket, v, v.body + body.get("data", "trailing garbage\n").encode())
    return {"bucket": tr.bucket, "keys": [k]}


def inject_log(world, body):
    """An extra, well-formed log file that no digest lists (after the picked one)."""
    tr, acct, region = _target(world, body)
    objs = _objects(world, tr, acct, region, "CloudTrail")
    t = world.now - 1800
    if objs:
        t = (delivery.log_key_time(objs[len(objs) // 2][0]) or t) + 60
    key = delivery.log_key(world, tr, acct, region, t)
    ev = delivery._bg_events(world, acct, region, t - 60, 1, delivery.state(world))
    raw = json.dumps({"Records": [delivery._public_event(e) for e in ev]},
                     separators=(",", ":")).encode()
    world.put_object(tr.bucket, key, gzip.compress(raw, mtime=0), sse=delivery._sse(tr),
                     content_type="application/json", owner=tr.account)
    return {"bucket": tr.bucket, "keys": [key]}


def delete_digest(world, body):
    tr, k, v = _pick(world, body, "CloudTrail-Digest")
    world.delete_object(tr.bucket, k)
    return {"bucket": tr.bucket, "keys": [k]}


def modify_digest(world, body):
    tr, k, v = _pick(world, body, "CloudTrail-Digest")
    raw = gzip.decompress(v.body)
    d = json.loads(raw)
    if d.get("logFiles"):
        h = d["logFiles"][0]["hashValue"]
        d["logFiles"][0]["hashValue"] = ("0" if h[0] != "0" else "1") + h[1:]
    else:
        d["newestEventTime"] = iso8601(world.now)
    _rewrite(world, tr.bucket, v, gzip.compress(json.dumps(d, separators=(",", ":")).encode(),
                                                mtime=0))
    return {"bucket": tr.bucket, "keys": [k]}


def move_digest(world, body):
    """Copy the digest one second earlier in the same folder (so a validator
    lists and reads it) and delete the original."""
    import datetime
    tr, k, v = _pick(world, body, "CloudTrail-Digest")
    backfill = k.endswith("_backfill.json.gz")
    end = -len("_backfill.json.gz") if backfill else -len(".json.gz")
    stamp = k[end - 16:end]
    t = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(
        tzinfo=datetime.timezone.utc) - datetime.timedelta(seconds=1)
    new = k[:end - 16] + t.strftime("%Y%m%dT%H%M%SZ") + k[end:]
    world.put_object(tr.bucket, new, v.body, metadata=dict(v.metadata), sse=v.sse,
                     content_type=v.content_type, owner=v.owner)
    world.delete_object(tr.bucket, k)
    return {"bucket": tr.bucket, "keys": [k, new], "from": k, "to": new}


def strip_signature(world, body):
    tr, k, v = _pick(world, body, "CloudTrail-Digest")
    meta = {mk: mv for mk, mv in v.metadata.items() if mk != "signature"}
    _rewrite(world, tr.bucket, v, v.body, metadata=meta)
    return {"bucket": tr.bucket, "keys": [k]}


def stop_logging_hour(world, body):
    """StopLogging now, run delivery for `seconds` (default 3600), StartLogging:
    the digest chains restart (a gap)."""
    from . import cloudtrail
    tr = delivery.find_trail(world, body["trail"])
    t0 = world.now
    cloudtrail.stop_logging(world, tr)
    delivery.advance(world, {"seconds": float(body.get("seconds", 3600))})
    cloudtrail.start_logging(world, tr)
    return {"bucket": tr.bucket, "keys": [], "stopped": iso8601(t0), "started": iso8601(world.now)}


def rotate_signing_key(world, body):
    out = delivery.c_rotate_signing_key(world, body)
    out["keys"] = []
    return out


def deny_account(world, body):
    """Edit the trail bucket's policy so CloudTrail can no longer write one
    account's folder: drop a Resource naming exactly that prefix, or, when the
    account is covered by a wider resource (AWSLogs/<org-id>/*), add an explicit
    Deny for it.  Delivery for that account then fails silently."""
    tr = delivery.find_trail(world, body["trail"])
    acct = body["account"]
    b = world.buckets[tr.bucket]
    pol = json.loads(b.policy) if b.policy else {"Version": "2012-10-17", "Statement": []}
    stmts = pol.get("Statement", [])
    if isinstance(stmts, dict):
        stmts = [stmts]
    target = "arn:%s:s3:::%s/%s*" % (PARTITION, tr.bucket, delivery.base_prefix(world, tr, acct))
    dropped = False
    keep = []
    for st in stmts:
        res = st.get("Resource")
        lst = res if isinstance(res, list) else [res]
        if st.get("Effect") == "Allow" and target in lst:
            lst = [r for r in lst if r != target]
            dropped = True
            if not lst:
                continue
            st["Resource"] = lst if isinstance(res, list) else lst[0]
        keep.append(st)
    if not dropped:
        keep.append({"Sid": "FakeAwsDenyAccount%s" % acct, "Effect": "Deny",
                     "Principal": {"Service": "cloudtrail.amazonaws.com"},
                     "Action": "s3:PutObject", "Resource": target})
    pol["Statement"] = keep
    b.policy = json.dumps(pol, indent=2)
    return {"bucket": tr.bucket, "keys": [], "account": acct,
            "method": "dropped resource" if dropped else "added deny"}


KINDS = {f.__name__: f for f in (modify_log, truncate_log, delete_log, append_after_gzip,
                                 inject_log, delete_digest, modify_digest, move_digest,
                                 strip_signature, stop_logging_hour, rotate_signing_key,
                                 deny_account)}


def tamper(world, body):
    kind = body.get("kind")
    fn = KINDS.get(kind)
    if fn is None:
        raise ValueError("unknown tamper kind '%s' (one of: %s)" % (kind, ", ".join(sorted(KINDS))))
    out = fn(world, body)
    out["kind"] = kind
    return out


control.register("tamper", tamper)
