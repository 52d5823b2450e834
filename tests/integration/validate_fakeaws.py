#!/usr/bin/python3
"""`trailkeep validate` against the fake AWS (tests/fakeaws).

An organization trail (multi-region, validation on) is created with Debian's
awscli, the fake delivers 3 simulated hours, then:
  - every account x region is clean (one run, all cells in parallel);
  - each tamper kind gives exactly its finding codes on exactly the tampered
    objects, and nothing anywhere else;
  - --save DIR then --local DIR gives the same findings as online;
  - with 10% throttling, 2% 5xx and 1% connection resets the findings are
    identical to the fault-free run;
  - agreement with the reference (awscli's own validate-logs code,
    tests/fakeaws/validate_ref.py): for every tamper kind awscli detects, the
    same objects are flagged.
Prints PASS:/FAIL: lines; exit 1 on any failure.
"""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, TOP)

from tests.fakeaws.control import FakeAWS  # noqa: E402

AWS = "/usr/bin/aws"
PY = "/usr/bin/python3"
TK = os.environ.get("TRAILKEEP_BIN") or os.path.join(TOP, "trailkeep")
BUCKET = "org-trail-logs"
START = "2026-01-01T00:00:00Z"
END = "2026-01-01T03:00:00Z"
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
failures = 0


def check(cond, what, detail=""):
    global failures
    if cond:
        print("PASS: %s" % what)
    else:
        failures += 1
        print("FAIL: %s%s" % (what, (": " + str(detail)[:3000]) if detail else ""))
    sys.stdout.flush()


def base_env(acct, region="us-east-1"):
    return {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"),
            "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_ACCESS_KEY_ID": acct["access_key_id"],
            "AWS_SECRET_ACCESS_KEY": acct["secret_access_key"],
            "AWS_DEFAULT_REGION": region, "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": ""}


def aws(fa, acct, *args, region="us-east-1"):
    return subprocess.run([AWS, "--endpoint-url", fa.url, "--output", "json"] + list(args),
                          env=base_env(acct, region), capture_output=True, text=True, timeout=120)


def policy(org_id, mgmt, trail_arn, readers, bucket=BUCKET):
    w = "arn:aws:s3:::%s/AWSLogs/%%s/*" % bucket
    st = [{"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow",
           "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
           "Resource": "arn:aws:s3:::%s" % bucket,
           "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}}},
          {"Sid": "AWSCloudTrailWrite", "Effect": "Allow",
           "Principal": {"Service": "cloudtrail.amazonaws.com"},
           "Action": "s3:PutObject", "Resource": w % mgmt,
           "Condition": {"StringEquals": {"aws:SourceArn": trail_arn,
                                          "s3:x-amz-acl": "bucket-owner-full-control"}}},
          {"Sid": "AWSCloudTrailOrganizationWrite", "Effect": "Allow",
           "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
           "Resource": w % org_id,
           "Condition": {"StringEquals": {"aws:SourceArn": trail_arn,
                                          "s3:x-amz-acl": "bucket-owner-full-control"}}},
          {"Sid": "Readers", "Effect": "Allow", "Principal": {"AWS": readers},
           "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
           "Resource": ["arn:aws:s3:::%s" % bucket, "arn:aws:s3:::%s/*" % bucket]}]
    return json.dumps({"Version": "2012-10-17", "Statement": st})


def build_world(fa, members, hours=3, kms=False):
    """Org + central bucket (+ KMS key alias/trailkeep-cloudtrail in the log
    archive account) + org trail; deliver `hours` hours.  Returns a dict."""
    org = fa.post("seed_org", members=members)
    mg, la = org["management"], org["log_archive"]
    oid = org["org_id"]
    arn = "arn:aws:cloudtrail:us-east-1:%s:trail/org-trail" % mg["id"]
    r = aws(fa, la, "s3api", "create-bucket", "--bucket", BUCKET)
    assert r.returncode == 0, r.stderr
    r = aws(fa, la, "s3api", "put-bucket-policy", "--bucket", BUCKET, "--policy",
            policy(oid, mg["id"], arn, [la["id"], mg["id"]]))
    assert r.returncode == 0, r.stderr
    extra = []
    if kms:
        r = aws(fa, la, "kms", "create-key", "--description", "trail key")
        assert r.returncode == 0, r.stderr
        key_arn = json.loads(r.stdout)["KeyMetadata"]["Arn"]
        kpol = {"Version": "2012-10-17", "Statement": [
            {"Sid": "Root", "Effect": "Allow",
             "Principal": {"AWS": "arn:aws:iam::%s:root" % la["id"]}, "Action": "kms:*",
             "Resource": "*"},
            {"Sid": "CloudTrailEncrypt", "Effect": "Allow",
             "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*",
             "Resource": "*",
             "Condition": {"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn":
                                          "arn:aws:cloudtrail:*:%s:trail/*" % mg["id"]}}}]}
        r = aws(fa, la, "kms", "put-key-policy", "--key-id", key_arn, "--policy-name", "default",
                "--policy", json.dumps(kpol))
        assert r.returncode == 0, r.stderr
        r = aws(fa, la, "kms", "create-alias", "--alias-name", "alias/trailkeep-cloudtrail",
                "--target-key-id", key_arn)
        assert r.returncode == 0, r.stderr
        extra = ["--kms-key-id", key_arn]
    r = aws(fa, mg, "cloudtrail", "create-trail", "--name", "org-trail", "--s3-bucket-name",
            BUCKET, "--is-organization-trail", "--is-multi-region-trail",
            "--enable-log-file-validation", *extra)
    assert r.returncode == 0, r.stderr
    # the management-events selector trailkeep plans (a trail whose selectors
    # were never put is drift: apply would put them)
    r = aws(fa, mg, "cloudtrail", "put-event-selectors", "--trail-name", "org-trail",
            "--event-selectors", '[{"ReadWriteType": "All", "IncludeManagementEvents": true}]')
    assert r.returncode == 0, r.stderr
    r = aws(fa, mg, "cloudtrail", "start-logging", "--name", "org-trail")
    assert r.returncode == 0, r.stderr
    fa.post("advance", seconds=hours * 3600)
    return {"org": org, "mg": mg, "la": la, "oid": oid, "arn": arn,
            "accounts": [a["id"] for a in org["accounts"]],
            "members": [a for a in org["accounts"] if a["kind"] == "member"]}


def tk_env(fa, acct, now=END, extra=None):
    e = base_env(acct)
    e.update({"AWS_ENDPOINT_URL": fa.url, "TRAILKEEP_NOW": now,
              "TRAILKEEP_BACKOFF_SCALE": "0.01", "TRAILKEEP_SEED": "1"})
    if extra:
        e.update(extra)
    return e


def org_config(w, path, accounts=None, assume_role="OrganizationAccountAccessRole", global_events=True):
    """An organization-mode config for the world build_world made (every
    account of it unless accounts is given)."""
    lines = ["[organization]", "id = %s" % w["oid"],
             "management_account = %s" % w["mg"]["id"],
             "log_archive_account = %s" % w["la"]["id"],
             "home_region = us-east-1",
             "regions = %s" % ", ".join(REGIONS),
             "assume_role = %s" % assume_role, "",
             "[central]", "bucket = %s" % BUCKET, "max_delivery_age = 1h", "",
             "[trail]", "name = org-trail", "mode = organization",
             # include_global_events = false needs a single-region trail (config check)
             "multi_region = %s" % ("true" if global_events else "false"),
             "include_global_events = %s" % ("true" if global_events else "false"),
             "log_file_validation = true", ""]
    for i, a in enumerate(accounts or w["accounts"]):
        lines += ["[account a%d]" % i, "id = %s" % a, ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def run_verify(fa, w, now, args, acct=None):
    """trailkeep verify ARGS as acct (default: the management account) at the
    simulated time now (the fake checks signatures against it meanwhile):
    the CompletedProcess (text)."""
    fa.post("set_auth_clock", time=now)
    try:
        return subprocess.run([TK, "verify"] + list(args), env=tk_env(fa, acct or w["mg"], now),
                              capture_output=True, text=True, timeout=600)
    finally:
        fa.post("set_auth_clock", time=None)


def json_of(p):
    try:
        return json.loads(p.stdout)
    except ValueError:
        return None


def finding_key(f):
    return tuple(f[k] or "" for k in ("code", "account", "region", "bucket", "key", "message"))


def cell_key(c):
    return tuple(c[k] for k in ("account", "region", "newest_delivery", "digests_checked",
                                "logs_checked", "findings", "status"))


def validate(fa, w, accounts, regions, *extra, start=START, end=END, acct=None, env_extra=None):
    args = [TK, "validate", "--bucket", BUCKET, "--org-id", w["oid"], "--trail", "org-trail",
            "--home-region", "us-east-1", "--start", start, "--end", end, "--json"]
    for a in accounts:
        args += ["--account", a]
    for r in regions:
        args += ["--region", r]
    args += list(extra)
    t0 = time.time()
    # trailkeep's clock is pinned (TRAILKEEP_NOW): pin the fake's auth clock to it
    fa.post("set_auth_clock", time=end)
    try:
        p = subprocess.run(args, env=tk_env(fa, acct or w["la"], end, env_extra),
                           capture_output=True, text=True, timeout=600)
    finally:
        fa.post("set_auth_clock", time=None)
    doc = None
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        pass
    return p.returncode, doc, p.stderr, time.time() - t0


def flagged(doc):
    """sorted (code, account, region, key) of every finding"""
    return sorted((f["code"], f["account"] or "", f["region"] or "", f["key"] or "")
                  for f in doc["findings"])


def main():
    t0 = time.time()
    fa = FakeAWS(seed=11, stderr=subprocess.DEVNULL)
    try:
        run(fa)
    finally:
        fa.stop()
    print("# validate_fakeaws: %.1f s" % (time.time() - t0))
    return 1 if failures else 0


def ref_flagged(fa, w, account, region):
    """objects awscli's validate-logs reports INVALID (tests/fakeaws/validate_ref.py)"""
    r = subprocess.run([PY, "-m", "tests.fakeaws.validate_ref", "--endpoint", fa.url,
                        "--trail-arn", w["arn"], "--start", START, "--end", END,
                        "--account-id", account, "--region", region],
                       cwd=TOP, env=base_env(w["la"], region), capture_output=True, text=True,
                       timeout=300)
    out = set()
    for line in (r.stdout + r.stderr).splitlines():
        m = re.match(r"^(Log|Digest) file\ts3://[^/]+/(\S+)\tINVALID", line)
        if m:
            out.add(m.group(2))
    return r.returncode, out


def run(fa):
    w = build_world(fa, members=10)
    accts = w["accounts"]
    members = w["members"]

    # --- clean ------------------------------------------------------------------------
    rc, doc, err, secs = validate(fa, w, accts, REGIONS)
    ok = rc == 0 and doc is not None and doc["findings"] == []
    check(ok, "clean org: %d accounts x %d regions, exit 0, no findings (%.1f s)"
          % (len(accts), len(REGIONS), secs), "rc=%d %s %s" % (rc, err, doc and doc["findings"][:5]))
    if doc:
        cells = doc["cells"]
        check(len(cells) == len(accts) * len(REGIONS)
              and all(c["status"] == "ok" and c["digests_checked"] == 3 and c["logs_checked"] > 0
                      for c in cells),
              "every cell checked 3 digests and its log files", json.dumps(cells[:3]))

    # --- one tamper kind per member account, in eu-west-1 --------------------------------
    R = "eu-west-1"
    expect = {}     # account -> (kind, tamper answer)
    kinds = ["modify_log", "truncate_log", "delete_log", "append_after_gzip", "inject_log",
             "delete_digest", "modify_digest", "strip_signature", "move_digest"]
    for kind, m in zip(kinds, members):
        o = fa.post("tamper", kind=kind, trail=w["arn"], account=m["id"], region=R)
        expect[m["id"]] = (kind, o)
    rc, doc, err, secs = validate(fa, w, accts, REGIONS)
    check(rc == 1 and doc is not None, "tampered org: exit 1 (%.1f s)" % secs, err)
    if doc is None:
        return
    tampered = doc
    by_acct = {}
    for code, a, r, k in flagged(doc):
        by_acct.setdefault(a, []).append((code, r, k))
    check(set(by_acct) == set(expect),
          "findings only in the tampered accounts", sorted(set(by_acct) ^ set(expect)))

    def codes_keys(a):
        return sorted((c, k) for c, r, k in by_acct.get(a, []))

    for a, (kind, o) in expect.items():
        got = by_acct.get(a, [])
        regions_ok = all(r == R for c, r, k in got)
        keys = o["keys"]
        ck = codes_keys(a)
        if kind in ("modify_log", "truncate_log"):
            want = [("log_hash_mismatch", keys[0])]
        elif kind == "delete_log":
            want = [("log_missing", keys[0])]
        elif kind == "append_after_gzip":
            want = [("log_format_invalid", keys[0])]
        elif kind == "inject_log":
            want = [("log_unreferenced", keys[0])]
        elif kind in ("modify_digest", "strip_signature"):
            want = [("digest_signature_invalid", keys[0])]
        elif kind == "delete_digest":
            # the deleted digest, and the log files only it listed
            want = [("digest_missing", keys[0])] + [c for c in ck if c[0] == "log_unreferenced"]
        elif kind == "move_digest":
            want = sorted([("digest_missing", o["from"]), ("digest_moved", o["to"])])
        check(regions_ok and ck == sorted(want),
              "tamper %s: exactly %s" % (kind, ", ".join(sorted(set(c for c, k in want)))),
              "got %r want %r" % (ck, want))
        if kind == "delete_digest":
            un = [k for c, k in ck if c == "log_unreferenced"]
            check(len(un) > 0, "tamper delete_digest: the deleted digest's log files are "
                  "reported as log_unreferenced (%d)" % len(un))

    # --- --save then --local: same findings -------------------------------------------------
    tmp = tempfile.mkdtemp(prefix="tk-validate-")
    try:
        save = os.path.join(tmp, "copy")
        rc2, doc2, err2, _ = validate(fa, w, accts, REGIONS, "--save", save)
        check(rc2 == 1 and doc2 is not None and flagged(doc2) == flagged(tampered),
              "--save: same findings as without", err2)
        bad = []
        for root, dirs, files in os.walk(save):
            for d in dirs:
                if stat.S_IMODE(os.lstat(os.path.join(root, d)).st_mode) != 0o700:
                    bad.append(os.path.join(root, d))
            for f in files:
                if stat.S_IMODE(os.lstat(os.path.join(root, f)).st_mode) != 0o600:
                    bad.append(os.path.join(root, f))
        check(not bad and os.path.exists(os.path.join(save, "public-keys.json")),
              "--save: public-keys.json present, directories 0700, files 0600", bad[:5])
        p = subprocess.run([TK, "validate", "--local", save, "--bucket", BUCKET, "--org-id",
                            w["oid"], "--trail", "org-trail", "--home-region", "us-east-1",
                            "--start", START, "--end", END, "--json"]
                           + sum((["--account", a] for a in accts), [])
                           + sum((["--region", r] for r in REGIONS), []),
                           env={"PATH": "/usr/bin:/bin", "TRAILKEEP_NOW": END},
                           capture_output=True, text=True, timeout=300)
        try:
            doc3 = json.loads(p.stdout)
        except ValueError:
            doc3 = None
        check(p.returncode == 1 and doc3 is not None and flagged(doc3) == flagged(tampered),
              "--local on the saved copy: the same findings as online, no network",
              "rc=%d %s %s" % (p.returncode, p.stderr[-500:],
                               doc3 and sorted(set(flagged(doc3)) ^ set(flagged(tampered)))))
        if doc3:
            same_stats = [(c["account"], c["region"], c["digests_checked"], c["logs_checked"])
                          for c in doc3["cells"]] == \
                [(c["account"], c["region"], c["digests_checked"], c["logs_checked"])
                 for c in tampered["cells"]]
            check(same_stats, "--local: same per-cell digest and log counts as online")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # --- faults: identical findings ---------------------------------------------------------
    fa.post("set_faults", seed=5, throttle_rate=0.10, error_rate=0.02, reset_rate=0.01)
    rc4, doc4, err4, secs4 = validate(fa, w, accts, REGIONS)
    st = fa.post("stats")
    fa.post("set_faults")
    injected = st.get("faults_injected", 0)
    if isinstance(injected, dict):
        injected = sum(injected.values())
    check(rc4 == 1 and doc4 is not None and flagged(doc4) == flagged(tampered) and injected > 0,
          "10%% throttling + 2%% 5xx + 1%% resets (%s faults injected): identical findings "
          "(%.1f s)" % (injected, secs4),
          "rc=%d %s %s" % (rc4, err4[-500:], doc4 and sorted(set(flagged(doc4)) ^ set(flagged(tampered)))))

    # --- agreement with awscli's validator ----------------------------------------------------
    # awscli 2.9.19 sees every kind above except append_after_gzip and inject_log
    for a, (kind, o) in sorted(expect.items()):
        if kind in ("append_after_gzip", "inject_log"):
            continue
        rrc, ref = ref_flagged(fa, w, a, R)
        ours = set(k for c, r, k in by_acct.get(a, []) if c != "log_unreferenced")
        check(ref == ours, "agreement with awscli validate-logs on %s: %s" % (kind, sorted(ref)),
              "awscli %r, trailkeep %r" % (sorted(ref), sorted(ours)))

    # --- a chain gap: logging stopped for an hour -------------------------------------------
    fa.post("tamper", kind="stop_logging_hour", trail=w["arn"])
    fa.post("advance", seconds=2 * 3600)
    end2 = "2026-01-01T06:00:00Z"
    rc5, doc5, err5, _ = validate(fa, w, [w["mg"]["id"]], ["us-east-1"], start=END, end=end2)
    got = doc5 and sorted(set(c for c, a, r, k in flagged(doc5)))
    check(rc5 == 1 and got == ["digest_chain_gap"],
          "stop_logging_hour: digest_chain_gap (awscli exits 0 here)", "%r %s" % (got, err5[-300:]))


if __name__ == "__main__":
    sys.exit(main())
