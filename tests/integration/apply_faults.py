#!/usr/bin/python3
"""`trailkeep apply` under faults, against the fake AWS:
  - 10% throttling + 2% 5xx injected: apply converges to the same state as a
    clean run (state compared field by field, key ids masked);
  - interrupted apply: the fake fails every call after the N-th, for several
    N across the whole run; after each interruption no logging trail has a
    delivery error (logs are never silently dropped while a trail logs), and
    a rerun without faults converges to the same state.
Prints PASS:/FAIL: lines; exits non-zero on any failure."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import apply_fake as af  # noqa: E402

import botocore.config  # noqa: E402
import botocore.session  # noqa: E402

_session = botocore.session.get_session()


def client(w, svc, account="222222222222", region="us-east-1"):
    a = w.accounts[account]
    return _session.create_client(svc, region_name=region, endpoint_url=w.fa.url,
                                  aws_access_key_id=a["access_key_id"],
                                  aws_secret_access_key=a["secret_access_key"],
                                  aws_session_token=a.get("session_token"),
                                  config=botocore.config.Config(s3={"addressing_style": "path"},
                                                                retries={"max_attempts": 1}))


def state(w, bucket="acme-org-cloudtrail", alog="acme-org-cloudtrail-access-logs", alias="alias/acme-cloudtrail",
          trails=(("111111111111", "org-trail"),)):
    """Everything apply manages, as one JSON-able dict (the key ARN masked)."""
    kms = client(w, "kms")
    s3 = client(w, "s3")
    st = {}
    key = kms.describe_key(KeyId=alias)["KeyMetadata"]
    mask = lambda s: s.replace(key["Arn"], "KEY") if isinstance(s, str) else s  # noqa: E731
    st["key_state"] = key["KeyState"]
    st["keys_in_account"] = len(kms.list_keys()["Keys"])
    st["key_policy"] = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    st["rotation"] = kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"]
    for b in (bucket, alog):
        if not b:
            continue
        d = {}
        d["policy"] = json.loads(s3.get_bucket_policy(Bucket=b)["Policy"])
        d["versioning"] = s3.get_bucket_versioning(Bucket=b).get("Status")
        enc = s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]
        d["encryption"] = json.loads(mask(json.dumps(enc)))
        d["pab"] = s3.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"]
        d["ownership"] = s3.get_bucket_ownership_controls(Bucket=b)["OwnershipControls"]
        try:
            d["lifecycle"] = sorted(json.dumps(r, sort_keys=True) for r in
                                    s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"])
        except Exception as e:  # noqa: BLE001
            d["lifecycle"] = str(e)
        d["logging"] = s3.get_bucket_logging(Bucket=b).get("LoggingEnabled")
        try:
            d["object_lock"] = s3.get_object_lock_configuration(Bucket=b)["ObjectLockConfiguration"]
        except Exception:  # noqa: BLE001
            d["object_lock"] = None
        st["bucket " + b] = d
    for acct, name in trails:
        ct = client(w, "cloudtrail", account=acct)
        arn = "arn:aws:cloudtrail:us-east-1:%s:trail/%s" % (acct, name)
        t = ct.describe_trails(trailNameList=[name], includeShadowTrails=False)["trailList"]
        t = [json.loads(mask(json.dumps(x))) for x in t]
        for x in t:   # the selectors are compared below, by what they log
            x.pop("HasCustomEventSelectors", None)
        st["trail " + arn] = t
        if t:
            es = ct.get_event_selectors(TrailName=arn)
            sel = es.get("AdvancedEventSelectors")
            if sel is None and es.get("EventSelectors") == AWS_DEFAULT_SELECTORS:
                # AWS's default (never put): apply puts the plan's, so this
                # stays a difference from the reference run
                sel = "AWS default"
            st["selectors " + arn] = sel
            st["logging " + arn] = ct.get_trail_status(Name=arn)["IsLogging"]
    return st


AWS_DEFAULT_SELECTORS = [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
                          "ExcludeManagementEventSources": []}]


def diff_states(a, b):
    out = []
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            out.append("%s:\n  want %s\n  got  %s" % (k, json.dumps(a.get(k), sort_keys=True)[:600],
                                                    json.dumps(b.get(k), sort_keys=True)[:600]))
    return "\n".join(out)


def no_silent_drop(w, trails=(("111111111111", "org-trail"),)):
    """Advance simulated time; every trail that is logging must deliver
    (no LatestDeliveryError): a logging trail never loses logs silently."""
    w.fa.post("advance", seconds=600)
    bad = []
    for acct, name in trails:
        ct = client(w, "cloudtrail", account=acct)
        arn = "arn:aws:cloudtrail:us-east-1:%s:trail/%s" % (acct, name)
        try:
            s = ct.get_trail_status(Name=arn)
        except ct.exceptions.TrailNotFoundException:
            continue
        if s.get("IsLogging") and (s.get("LatestDeliveryError") or s.get("LatestDigestDeliveryError")):
            bad.append("%s: %s %s" % (arn, s.get("LatestDeliveryError"), s.get("LatestDigestDeliveryError")))
    return bad


def main():
    # the reference: a clean run
    w = af.World(members=2, seed=3)
    try:
        rc, out, err = w.run("--yes")
        calls = w.stats()["calls"]
        af.check(rc == 0, "faults: clean reference run (%d calls)" % calls, out + err)
        ref = state(w)
    finally:
        w.close()

    # 10% throttling + 2% 5xx
    w = af.World(members=2, seed=3)
    try:
        w.fa.post("set_faults", seed=7, throttle_rate=0.10, slowdown_rate=0.10, error_rate=0.02)
        rc, out, err = w.run("--yes")
        inj = w.stats()["faults_injected"]
        w.fa.post("set_faults")
        af.check(rc == 0, "faults: apply under 10%% throttling + 2%% 5xx exits 0 (injected %s)" % inj, out + err)
        af.check(sum(inj.values()) > 0, "faults: faults were really injected")
        got = state(w)
        af.check(got == ref, "faults: the state equals the clean run's", diff_states(ref, got))
        mark = w.stats()["next"]
        rc, out, err = w.run("--yes")
        af.check(rc == 0 and w.writes_since(mark)["writes"] == 0, "faults: a rerun has nothing to do", out + err)
    finally:
        w.close()

    # InsufficientS3BucketPolicyException right after the bucket policy
    # changed: retried with backoff; without a policy change in this run: not
    w = af.World(members=2, seed=3)
    try:
        w.fa.post("set_faults", forced=[{"service": "cloudtrail", "operation": "CreateTrail", "count": 2,
                                         "code": "InsufficientS3BucketPolicyException", "status": 400,
                                         "message": "Incorrect S3 bucket policy is detected for bucket: x"}])
        rc, out, err = w.run("--yes")
        per_op = w.stats()["per_op"]
        af.check(rc == 0 and per_op.get("cloudtrail:CreateTrail") == 3,
                 "policy retry: InsufficientS3BucketPolicyException after a policy change is retried",
                 out + err + json.dumps(per_op))
        w.aws("cloudtrail", "delete-trail", "--name", "org-trail", account="111111111111")
        w.fa.post("set_faults", forced=[{"service": "cloudtrail", "operation": "CreateTrail", "count": 1,
                                         "code": "InsufficientS3BucketPolicyException", "status": 400,
                                         "message": "Incorrect S3 bucket policy is detected for bucket: x"}])
        mark = w.stats()["next"]
        rc, out, err = w.run("--yes")
        n = w.writes_since(mark)["per_op"].get("cloudtrail:CreateTrail")
        w.fa.post("set_faults")
        af.check(rc == 3 and n == 1 and "InsufficientS3BucketPolicyException" in err,
                 "policy retry: not retried when this run did not change the bucket policy", out + err)
    finally:
        w.close()

    # interrupted between CreateKey and CreateAlias: the rerun adopts the key
    # it created (no second key)
    w = af.World(members=2, seed=3)
    try:
        w.fa.post("set_faults", forced=[{"service": "kms", "operation": "CreateAlias", "count": 100,
                                         "code": "KMSInternalException", "status": 500}])
        rc, out, err = w.run("--yes")
        w.fa.post("set_faults")
        af.check(rc == 3 and "CreateAlias" in err, "key adoption: apply fails at CreateAlias", out + err)
        rc, out, err = w.run("--yes")
        af.check(rc == 0 and "+ create kms alias 'alias/acme-cloudtrail'" in out and
                 "+ create kms key" not in out, "key adoption: the rerun only creates the alias", out + err)
        got = state(w)
        af.check(got == ref, "key adoption: one key, converged to the planned state", diff_states(ref, got))
    finally:
        w.close()

    # interrupted runs: every call after the N-th fails
    points = sorted(set(max(1, calls * k // 8) for k in range(1, 8)))
    for n in points:
        w = af.World(members=2, seed=3)
        try:
            w.fa.post("set_faults", fail_after=n)
            rc, out, err = w.run("--yes")
            w.fa.post("set_faults")
            af.check(rc == 3, "interrupted after call %d: apply exits 3" % n, out + err)
            bad = no_silent_drop(w)
            af.check(not bad, "interrupted after call %d: no logging trail drops logs" % n, "\n".join(bad))
            rc, out, err = w.run("--yes")
            af.check(rc == 0, "interrupted after call %d: the rerun exits 0" % n, out + err)
            got = state(w)
            af.check(got == ref, "interrupted after call %d: the rerun converges to the planned state" % n,
                     diff_states(ref, got))
        finally:
            w.close()

    # per-account mode, interrupted in the middle of the parallel trail phase
    ids = ["111111111111", "222222222222", "333333333333", "444444444444", "555555555555"]
    trails = tuple((a, "acme-trail") for a in ids)
    pstate = dict(bucket="acme-cloudtrail-logs", alog=None, alias="alias/acme-trails", trails=trails)
    w = af.World(members=3, seed=5, ini=af.per_account_ini(ids))
    try:
        rc, out, err = w.run("--yes")
        calls = w.stats()["calls"]
        pref = state(w, **pstate)
    finally:
        w.close()
    for n in (calls // 2, calls * 3 // 4):
        w = af.World(members=3, seed=5, ini=af.per_account_ini(ids))
        try:
            w.fa.post("set_faults", fail_after=n)
            rc, out, err = w.run("--yes")
            w.fa.post("set_faults")
            af.check(rc == 3, "per-account interrupted after call %d: apply exits 3" % n, out + err)
            bad = no_silent_drop(w, trails)
            af.check(not bad, "per-account interrupted after call %d: no logging trail drops logs" % n,
                     "\n".join(bad))
            rc, out, err = w.run("--yes")
            got = state(w, **pstate)
            af.check(rc == 0 and got == pref, "per-account interrupted after call %d: the rerun converges" % n,
                     out + err + diff_states(pref, got))
        finally:
            w.close()
    return 1 if af.check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
