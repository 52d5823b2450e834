#!/usr/bin/python3
"""`trailkeep apply` converges every optional setting the plan leaves empty
back to empty, never reports a write that did not take as done, and keeps
what is not trailkeep's (README, `trailkeep apply`: unset settings, read-back
check).  Against the fake AWS (tests/fakeaws):

- someone sets S3KeyPrefix on the organization trail (the config has no
  key_prefix): verify reports trail_config_drift, apply --dry-run shows the
  prefix going away, apply clears it with UpdateTrail S3KeyPrefix "", verify
  no longer reports drift, a second apply makes zero writes; the trail's SNS
  topic and CloudWatch Logs settings (not trailkeep's yet) are left alone;
- event selectors changed to read-only / without a data-event bucket are
  replaced wholly by the planned set;
- a fake that drops UpdateTrail (answers 200, changes nothing) makes apply
  fail (exit 3) naming the trail and S3KeyPrefix, never "1 change made";
  the same for a dropped PutBucketLogging (bucket and setting named);
- retention_days = 0, object_lock = none and no access_log_bucket: apply
  removes trailkeep's TrailkeepRetention lifecycle rule but keeps a foreign
  rule, removes the object-lock default retention, turns bucket logging off;
  a second apply makes zero writes.

Prints PASS:/FAIL: lines; exits non-zero on any failure."""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from apply_fake import ORG_INI, World, check  # noqa: E402
from tests.fakeaws.testing import run_trailkeep  # noqa: E402

import apply_fake  # noqa: E402

ARN = "arn:aws:cloudtrail:us-east-1:111111111111:trail/org-trail"
BUCKET = "acme-org-cloudtrail"


def verify_codes(w):
    """verify --json's finding codes (the trail part: --no-integrity)."""
    rc, out, err = run_trailkeep(apply_fake.TK, ["verify", w.config, "--json", "--no-integrity", "--since", "1h"],
                                 w.env())
    try:
        doc = json.loads(out)
    except ValueError:
        return None, out + err
    codes = [(f.get("code"), f.get("message", "")) for f in doc.get("findings", [])]
    return codes, out + err


def aws_break_glass(w, *args):
    """awscli as the break-glass role LogArchiveAdmin (the bucket policy
    denies lifecycle changes to everyone else)."""
    c = w.aws("sts", "assume-role", "--role-arn", "arn:aws:iam::222222222222:role/LogArchiveAdmin",
              "--role-session-name", "test")["Credentials"]
    e = w.env("222222222222")
    e.update({"AWS_ACCESS_KEY_ID": c["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": c["SecretAccessKey"],
              "AWS_SESSION_TOKEN": c["SessionToken"], "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"})
    p = subprocess.run([apply_fake.PY, "-m", "awscli", "--endpoint-url", w.fa.url, "--output", "json"] + list(args),
                       env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if p.returncode:
        raise RuntimeError("aws %s: %s" % (" ".join(args), p.stderr.decode()))


def trail(w):
    tr = w.aws("cloudtrail", "describe-trails", "--trail-name-list", "org-trail", account="111111111111")
    return tr["trailList"][0] if tr.get("trailList") else {}


def selectors(w):
    return w.aws("cloudtrail", "get-event-selectors", "--trail-name", ARN, account="111111111111")


def zero_writes(w, what):
    mark = w.stats()["next"]
    rc, out, err = w.run("--yes")
    s = w.writes_since(mark)
    check(rc == 0 and "nothing to do" in out and s["writes"] == 0, "%s: a second apply makes zero writes" % what,
          out + err + json.dumps(s.get("per_op")))


def test_prefix_unset(w):
    rc, out, err = w.run("--yes")
    check(rc == 0, "prefix: the org converges", out + err)
    w.fa.post("set_trail", trail=ARN, S3KeyPrefix="someone/else", SnsTopicName="their-topic",
              CloudWatchLogsLogGroupArn="arn:aws:logs:us-east-1:111111111111:log-group:theirs:*",
              CloudWatchLogsRoleArn="arn:aws:iam::111111111111:role/their-cw-role")
    check(trail(w).get("S3KeyPrefix") == "someone/else", "prefix: someone set S3KeyPrefix on the trail")
    codes, txt = verify_codes(w)
    check(codes is not None and any(c == "trail_config_drift" and "prefix" in m.lower() for c, m in codes),
          "prefix: verify reports trail_config_drift for the prefix", txt)

    mark = w.stats()["next"]
    rc, dry, err = w.run("--dry-run")
    check(rc == 4 and w.writes_since(mark)["writes"] == 0, "prefix: --dry-run exits 4 and writes nothing", dry + err)
    check(("~ update trail '%s'" % ARN) in dry and '-  "S3KeyPrefix": "someone/else"' in dry,
          "prefix: --dry-run shows the prefix going away", dry)

    mark = w.stats()["next"]
    rc, out, err = w.run("--yes")
    s = w.writes_since(mark)
    check(rc == 0 and "1 change made" in out, "prefix: apply clears the prefix (1 change)", out + err)
    check(s["per_op"].get("cloudtrail:UpdateTrail") == 1, "prefix: with one UpdateTrail", json.dumps(s["per_op"]))
    t = trail(w)
    check("S3KeyPrefix" not in t, "prefix: the trail has no S3KeyPrefix any more", json.dumps(t))
    check(t.get("SnsTopicName") == "their-topic" and t.get("CloudWatchLogsLogGroupArn", "").endswith(":theirs:*")
          and t.get("CloudWatchLogsRoleArn", "").endswith("role/their-cw-role"),
          "prefix: the SNS topic and CloudWatch Logs settings are left alone", json.dumps(t))
    codes, txt = verify_codes(w)
    check(codes is not None and not any(c == "trail_config_drift" for c, m in codes),
          "prefix: verify reports no trail_config_drift after apply", txt)
    zero_writes(w, "prefix")


def test_selectors(w):
    want = apply_fake.plan_doc(w, "accounts/111111111111/trail.json")["PutEventSelectors"]["AdvancedEventSelectors"]
    variants = {
        "read-only": [{"Name": "Management events", "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["true"]}]}],
        "basic write-only": None,
    }
    for name, adv in variants.items():
        if adv is None:
            w.aws("cloudtrail", "put-event-selectors", "--trail-name", ARN, "--event-selectors",
                  json.dumps([{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]),
                  account="111111111111")
        else:
            w.aws("cloudtrail", "put-event-selectors", "--trail-name", ARN, "--advanced-event-selectors",
                  json.dumps(adv), account="111111111111")
        mark = w.stats()["next"]
        rc, out, err = w.run("--yes")
        s = w.writes_since(mark)
        check(rc == 0 and s["per_op"].get("cloudtrail:PutEventSelectors") == 1 and s["writes"] == 1,
              "selectors (%s): apply puts the planned selectors back, one write" % name,
              out + err + json.dumps(s["per_op"]))
        check(selectors(w).get("AdvancedEventSelectors") == want,
              "selectors (%s): the selectors are the planned set" % name, json.dumps(selectors(w)))
    zero_writes(w, "selectors")


def test_dropped_write(w):
    w.fa.post("set_trail", trail=ARN, S3KeyPrefix="again")
    w.fa.post("set_faults", forced=[{"service": "cloudtrail", "operation": "UpdateTrail", "code": "drop",
                                     "count": 100}])
    rc, out, err = w.run("--yes")
    check(rc == 3, "dropped write: apply exits 3 when UpdateTrail did not take", out + err)
    check("S3KeyPrefix is 'again', planned unset" in err and ARN in err and "did not take" in err,
          "dropped write: the error names the trail and S3KeyPrefix", err)
    check("change made" not in out or "some accounts failed" in out,
          "dropped write: apply does not report plain success", out)
    w.fa.post("set_faults")
    rc, out, err = w.run("--yes")
    check(rc == 0 and "S3KeyPrefix" not in trail(w), "dropped write: without the fault apply converges", out + err)

    # an S3 setting: bucket logging turned off out of band, PutBucketLogging dropped
    w.aws("s3api", "put-bucket-logging", "--bucket", BUCKET, "--bucket-logging-status", "{}",
          account="root-222222222222")
    w.fa.post("set_faults", forced=[{"service": "s3", "operation": "PutBucketLogging", "code": "drop",
                                     "count": 100}])
    rc, out, err = w.run("--yes")
    check(rc == 3 and ("bucket '%s' access logging" % BUCKET) in err and "did not take" in err,
          "dropped write: a dropped PutBucketLogging fails naming the bucket and setting", out + err)
    w.fa.post("set_faults")
    rc, out, err = w.run("--yes")
    check(rc == 0, "dropped write: without the fault the logging is back", out + err)
    zero_writes(w, "dropped write")


def test_unset_central(w):
    # a foreign lifecycle rule next to trailkeep's
    lc = w.aws("s3api", "get-bucket-lifecycle-configuration", "--bucket", BUCKET)
    rules = lc["Rules"] + [{"ID": "TeamArchive", "Status": "Enabled", "Filter": {"Prefix": "team/"},
                            "Expiration": {"Days": 30}}]
    aws_break_glass(w, "s3api", "put-bucket-lifecycle-configuration", "--bucket", BUCKET,
                    "--lifecycle-configuration", json.dumps({"Rules": rules}))
    rc, out, err = w.run("--yes")
    check(rc == 0 and "nothing to do" in out, "central: a foreign lifecycle rule is not a change", out + err)

    ini = ORG_INI.format(org_id=w.org_id)
    ini = ini.replace("retention_days = 2555\n", "retention_days = 0\n").replace(
        "object_lock = governance:365\n", "object_lock = none\n").replace(
        "access_log_bucket = acme-org-cloudtrail-access-logs\n", "")
    with open(w.config, "w") as f:
        f.write(ini)
    rc, dry, err = w.run("--dry-run")
    check(rc == 4 and ("~ remove bucket '%s' access logging" % BUCKET) in dry and
          ("~ remove bucket '%s' object lock retention" % BUCKET) in dry and
          ("~ set bucket '%s' lifecycle" % BUCKET) in dry,
          "central: --dry-run shows logging, retention and the lifecycle rule going away", dry + err)
    rc, out, err = w.run("--yes")
    check(rc == 0, "central: apply converges the unset settings", out + err)
    ids = sorted(x["ID"] for x in w.aws("s3api", "get-bucket-lifecycle-configuration", "--bucket", BUCKET)["Rules"])
    check(ids == ["TeamArchive", "TrailkeepAbortIncompleteUploads"],
          "central: TrailkeepRetention is gone, the foreign rule stays", json.dumps(ids))
    ol = w.aws("s3api", "get-object-lock-configuration", "--bucket", BUCKET)["ObjectLockConfiguration"]
    check(ol.get("ObjectLockEnabled") == "Enabled" and "Rule" not in ol,
          "central: the object-lock default retention is removed (the lock itself cannot be)", json.dumps(ol))
    lg = w.aws("s3api", "get-bucket-logging", "--bucket", BUCKET)
    check("LoggingEnabled" not in lg, "central: bucket logging is off", json.dumps(lg))
    check("object lock cannot be turned off" in err, "central: apply warns that the lock stays", err)
    zero_writes(w, "central")


def main():
    w = World(members=1)
    try:
        test_prefix_unset(w)
        test_selectors(w)
        test_dropped_write(w)
        test_unset_central(w)
    finally:
        w.close()
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
