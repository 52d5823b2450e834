#!/usr/bin/python3
"""`trailkeep doctor` against the fake AWS (tests/fakeaws).

Each scenario builds an organization with `trailkeep apply` in a fresh fake,
lets delivery run, breaks it the way users break it (as a named principal,
with botocore), lets the logs go stale, and asserts doctor's exact cause
code, the culprit (principal ARN, event time, source IP, statement Sid or
key) and the suggested fix, in text and --json.  A healthy org gives no
cause and exit 0; the full story ends with apply fixing it and doctor green.

Clocks: the fake's simulated clock starts at START; apply and botocore sign
with the real clock (the fake checks SigV4 against the real clock then);
doctor runs with TRAILKEEP_NOW = the simulated now, and the fake checks its
signatures against the simulated clock for that run (set_auth_clock sim).

Prints PASS:/FAIL: lines; exits non-zero on any failure."""

import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, TOP)

import botocore.session  # noqa: E402

from tests.fakeaws.control import FakeAWS  # noqa: E402
from tests.fakeaws.testing import Checks, run_trailkeep, trailkeep_env, trailkeep_path  # noqa: E402

TK = trailkeep_path(TOP)
START = "2026-01-01T00:00:00Z"
BUCKET = "acme-org-cloudtrail"
MGMT, ARCHIVE, PROD, STAGING = "111111111111", "222222222222", "333333333333", "444444444444"

check = Checks(lines=60)


ORG_INI = """[organization]
id = {org_id}
management_account = 111111111111
log_archive_account = 222222222222
home_region = us-east-1
regions = us-east-1, eu-west-1
assume_role = OrganizationAccountAccessRole

[central]
bucket = acme-org-cloudtrail
kms_alias = alias/acme-cloudtrail
break_glass_principals = arn:aws:iam::222222222222:role/LogArchiveAdmin
retention_days = 2555
max_delivery_age = 1h

[trail]
name = org-trail
mode = organization

[account management]
id = 111111111111

[account log-archive]
id = 222222222222

[account prod]
id = 333333333333

[account staging]
id = 444444444444
regions = eu-west-1
"""


class World:
    def __init__(self, seed=1):
        self.fa = FakeAWS(seed=seed, start=START)
        self.dir = tempfile.mkdtemp(prefix="tk-doctor-")
        self.seed = self.fa.post("seed_org", members=2)
        self.fa.post("set_secure_transport", secure=True)
        self.fa.post("create_role", account=ARCHIVE, name="LogArchiveAdmin",
                     trust_policy={"Version": "2012-10-17", "Statement": [{
                         "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % ARCHIVE},
                         "Action": "sts:AssumeRole"}]})
        self.accounts = {a["id"]: a for a in self.seed["accounts"]}
        self.org_id = self.seed["org_id"]
        self.config = os.path.join(self.dir, "org.ini")
        with open(self.config, "w") as f:
            f.write(ORG_INI.format(org_id=self.org_id))
        self.trail_arn = "arn:aws:cloudtrail:us-east-1:%s:trail/org-trail" % MGMT

    def env(self, account=MGMT, now=None):
        return trailkeep_env(self.fa, self.accounts[account], TOP, now=now)

    def now(self):
        return self.fa.post("stats", since=10 ** 9)["now"]

    def apply(self):
        rc, out, err = run_trailkeep(TK, ["apply", self.config, "--yes"], self.env())
        return rc, out + err

    def run(self, *args, cmd="doctor", extra_env=None):
        """trailkeep CMD on the simulated clock."""
        self.fa.post("set_auth_clock", time="sim")
        e = self.env(now=self.now())
        e.update(extra_env or {})
        try:
            return run_trailkeep(TK, [cmd, self.config] + list(args), e)
        finally:
            self.fa.post("set_auth_clock", time=None)

    def doctor_json(self, *args, extra_env=None):
        rc, out, err = self.run("--json", *args, extra_env=extra_env)
        try:
            doc = json.loads(out)
        except ValueError:
            doc = None
        return rc, doc, out + err

    def user(self, account, name):
        """Access keys of a named IAM user (admin) in account."""
        return self.fa.post("create_access_key", account=account, user=name, admin=True)

    def client(self, service, key, region="us-east-1"):
        s = botocore.session.get_session()
        return s.create_client(service, region_name=region, endpoint_url=self.fa.url,
                               aws_access_key_id=key["access_key_id"],
                               aws_secret_access_key=key["secret_access_key"],
                               aws_session_token=key.get("session_token"))

    def assume(self, key, role_arn, session):
        c = self.client("sts", key).assume_role(RoleArn=role_arn, RoleSessionName=session)["Credentials"]
        return {"access_key_id": c["AccessKeyId"], "secret_access_key": c["SecretAccessKey"],
                "session_token": c["SessionToken"]}

    def advance(self, seconds):
        self.fa.post("advance", seconds=seconds)

    def close(self):
        self.fa.stop()


def build(name):
    w = World()
    rc, out = w.apply()
    if not check(rc == 0, "%s: apply builds the org" % name, out):
        w.close()
        return None
    w.advance(2 * 3600)
    return w


def cells_by(doc, status=None):
    return [c for c in (doc or {}).get("cells", []) if status is None or c["status"] == status]


def red_of(doc):
    return sorted((c["account"], c["region"]) for c in (doc or {}).get("cells", []) if c["status"] != "ok")


ALL_CELLS = sorted([(MGMT, "us-east-1"), (MGMT, "eu-west-1"), (ARCHIVE, "us-east-1"), (ARCHIVE, "eu-west-1"),
                    (PROD, "us-east-1"), (PROD, "eu-west-1"), (STAGING, "eu-west-1")])


def one_cause(doc, code):
    cs = cells_by(doc, "cause")
    return bool(cs) and all(c["cause"] == code for c in cs)


def scenario_healthy_then_stop_then_apply():
    w = build("healthy")
    if not w:
        return
    try:
        rc, doc, out = w.doctor_json()
        check(rc == 0 and doc and not red_of(doc) and len(doc["cells"]) == len(ALL_CELLS),
              "healthy: no causes, every cell ok, exit 0", out)
        rc, out, err = w.run()
        check(rc == 0 and "0 red, 0 causes found" in out, "healthy: text summary says 0 red", out + err)

        # mallory stops the org trail
        mallory = w.user(MGMT, "mallory")
        t_stop = w.now()
        w.client("cloudtrail", mallory).stop_logging(Name=w.trail_arn)
        w.advance(2 * 3600)
        rc, doc, out = w.doctor_json()
        check(rc == 1, "stop: doctor exits 1", out)
        check(red_of(doc) == ALL_CELLS, "stop: every cell is red", out)
        check(one_cause(doc, "trail_not_logging"), "stop: cause trail_not_logging in every cell", out)
        c = cells_by(doc, "cause")[0] if cells_by(doc, "cause") else {}
        k = c.get("culprit") or {}
        check(k.get("who") == "arn:aws:iam::%s:user/mallory" % MGMT and k.get("event") == "StopLogging"
              and k.get("when") == t_stop and k.get("source_ip") == "127.0.0.1",
              "stop: culprit is mallory's StopLogging, with its time and source IP", json.dumps(k))
        check(c.get("fix") == "trailkeep apply %s" % w.config, "stop: the fix is 'trailkeep apply CONFIG'",
              c.get("fix"))
        check(any("IsLogging false" in e for e in c.get("evidence", [])), "stop: evidence shows IsLogging false",
              json.dumps(c.get("evidence")))
        rc, out, err = w.run()
        check(rc == 1 and "trail_not_logging" in out and "culprit: StopLogging by arn:aws:iam::%s:user/mallory"
              % MGMT in out and "fix: trailkeep apply" in out, "stop: text output names cause, culprit, fix",
              out + err)
        # apply fixes it, doctor is green again
        rc, aout = w.apply()
        check(rc == 0, "stop: apply fixes it", aout)
        w.advance(3600)
        rc, doc, out = w.doctor_json()
        check(rc == 0 and not red_of(doc), "stop: after apply doctor finds nothing (exit 0)", out)
    finally:
        w.close()


def scenario_bucket_policy_deny():
    w = build("bucket-policy")
    if not w:
        return
    try:
        mallory = w.user(ARCHIVE, "mallory")
        sess = w.assume(mallory, "arn:aws:iam::%s:role/LogArchiveAdmin" % ARCHIVE, "mallory")
        s3 = w.client("s3", sess)
        pol = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
        pol["Statement"].append({"Sid": "TemporaryDenyProd", "Effect": "Deny",
                                 "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
                                 "Resource": "arn:aws:s3:::%s/AWSLogs/%s/%s/*" % (BUCKET, w.org_id, PROD)})
        t_edit = w.now()
        s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(pol))
        w.advance(2 * 3600)
        rc, doc, out = w.doctor_json()
        check(rc == 1, "bucket-policy: doctor exits 1", out)
        # verify shows prod's cells stale and the org trail's delivery error on the
        # management account's home-region cell
        check(red_of(doc) == [(MGMT, "us-east-1"), (PROD, "eu-west-1"), (PROD, "us-east-1")],
              "bucket-policy: prod's cells and the trail owner's cell are red", json.dumps(red_of(doc)))
        prod = [c for c in cells_by(doc, "cause") if c["account"] == PROD]
        check(len(prod) == 2 and all(c["cause"] == "bucket_policy_denies" for c in prod),
              "bucket-policy: prod's cause is bucket_policy_denies", out)
        m = [c for c in cells_by(doc, "cause") if c["account"] == MGMT]
        m = m[0] if m else {}
        check(m.get("cause") == "delivery_error" and
              any(e.startswith("the trail's delivery error comes from %s " % PROD) for e in m.get("evidence", []))
              and (m.get("fix") or "").startswith("fix %s " % PROD),
              "bucket-policy: the owner's delivery_error points at prod's cells", json.dumps(m, indent=1))
        c = prod[0] if prod else {}
        ev = "\n".join(c.get("evidence", []))
        check("denying statement: 'TemporaryDenyProd'" in ev, "bucket-policy: evidence names the denying statement",
              ev)
        check("AccessDenied" in ev, "bucket-policy: evidence shows CloudTrail's LatestDeliveryError AccessDenied", ev)
        k = c.get("culprit") or {}
        check(k.get("event") == "PutBucketPolicy" and k.get("when") == t_edit and
              k.get("who", "").startswith("arn:aws:sts::%s:assumed-role/LogArchiveAdmin/mallory" % ARCHIVE),
              "bucket-policy: culprit is the LogArchiveAdmin session 'mallory' and the time of the edit",
              json.dumps(k))
        check("remove statement 'TemporaryDenyProd'" in (c.get("fix") or "") and
              '-      "Sid": "TemporaryDenyProd"' in (c.get("fix_diff") or ""),
              "bucket-policy: the fix removes that statement (diff shown)", (c.get("fix") or "") + "\n" +
              (c.get("fix_diff") or ""))
        rc, doc, out = w.doctor_json("--account", PROD, "--region", "eu-west-1")
        check(rc == 1 and [(x["account"], x["region"]) for x in doc["cells"]] == [(PROD, "eu-west-1")],
              "bucket-policy: --account/--region limit the cells", out)
    finally:
        w.close()


def scenario_bucket_policy_deleted():
    """The break-glass role deletes the whole bucket policy: CloudTrail may not
    write at all; the culprit is the DeleteBucketPolicy."""
    w = build("policy-deleted")
    if not w:
        return
    try:
        mallory = w.user(ARCHIVE, "mallory")
        sess = w.assume(mallory, "arn:aws:iam::%s:role/LogArchiveAdmin" % ARCHIVE, "mallory")
        t = w.now()
        w.client("s3", sess).delete_bucket_policy(Bucket=BUCKET)
        w.advance(2 * 3600)
        rc, doc, out = w.doctor_json()
        causes = sorted(set(c["cause"] for c in cells_by(doc, "cause")))
        check(rc == 1 and red_of(doc) == ALL_CELLS and "bucket_policy_denies" in causes and
              set(causes) <= {"bucket_policy_denies", "delivery_error"},
              "policy-deleted: every cell red, cause bucket_policy_denies", out)
        c = ([x for x in cells_by(doc, "cause") if x["cause"] == "bucket_policy_denies"] or [{}])[0]
        ev = "\n".join(c.get("evidence", []))
        check("NoSuchBucketPolicy" in ev, "policy-deleted: evidence shows GetBucketPolicy's NoSuchBucketPolicy", ev)
        k = c.get("culprit") or {}
        check(k.get("event") == "DeleteBucketPolicy" and k.get("when") == t and
              k.get("who", "").startswith("arn:aws:sts::%s:assumed-role/LogArchiveAdmin/mallory" % ARCHIVE),
              "policy-deleted: culprit is the LogArchiveAdmin session's DeleteBucketPolicy", json.dumps(k))
        check(c.get("fix") == "trailkeep apply %s" % w.config and
              '+      "Sid": "TrailkeepOrgWrite"' in (c.get("fix_diff") or ""),
              "policy-deleted: the fix is apply, its diff adds the planned policy",
              (c.get("fix") or "") + "\n" + (c.get("fix_diff") or "")[:2000])
        rc, aout = w.apply()
        w.advance(3600)
        rc2, doc, out = w.doctor_json()
        check(rc == 0 and rc2 == 0 and not red_of(doc), "policy-deleted: after apply doctor finds nothing",
              aout + out)
    finally:
        w.close()


def scenario_kms_wrong_region():
    """The trail's key is in eu-west-1, the bucket in us-east-1.  CloudTrail's API
    refuses to build this (KmsKeyNotFoundException at UpdateTrail), so the fake's
    force_trail_key control op builds the state; doctor must still judge it."""
    w = build("kms-wrong-region")
    if not w:
        return
    try:
        mallory = w.user(ARCHIVE, "mallory")
        eu = w.client("kms", mallory, region="eu-west-1").create_key(Description="eu key")["KeyMetadata"]["Arn"]
        w.fa.post("force_trail_key", trail=w.trail_arn, key_arn=eu)
        w.advance(2 * 3600)
        rc, doc, out = w.doctor_json()
        check(rc == 1 and red_of(doc) == ALL_CELLS and one_cause(doc, "kms_key_wrong_region"),
              "kms-wrong-region: every cell red, cause kms_key_wrong_region", out)
        c = (cells_by(doc, "cause") or [{}])[0]
        ev = "\n".join(c.get("evidence", []))
        check("the key '%s' is in eu-west-1 but the bucket '%s' is in us-east-1" % (eu, BUCKET) in ev,
              "kms-wrong-region: evidence names the key's and the bucket's regions", ev)
        check((c.get("fix") or "").startswith("trailkeep apply %s" % w.config) and
              "alias/acme-cloudtrail" in (c.get("fix") or ""), "kms-wrong-region: the fix is apply (the key in "
              "home_region)", c.get("fix"))
        rc, aout = w.apply()
        w.advance(3600)
        rc2, doc, out = w.doctor_json()
        check(rc == 0 and rc2 == 0 and not red_of(doc), "kms-wrong-region: after apply doctor finds nothing",
              aout + out)
    finally:
        w.close()


def scenario_kms_key_changed():
    """bob points the org trail at another key (same region, a policy that lets
    CloudTrail encrypt): logs keep arriving, but whoever may decrypt the
    configured key cannot read them."""
    w = build("key-changed")
    if not w:
        return
    try:
        mallory = w.user(ARCHIVE, "mallory")
        kms = w.client("kms", mallory)
        old = kms.describe_key(KeyId="alias/acme-cloudtrail")["KeyMetadata"]["Arn"]
        pol = kms.get_key_policy(KeyId=old, PolicyName="default")["Policy"]
        other = kms.create_key(Policy=pol, Description="another team's key")["KeyMetadata"]["Arn"]
        bob = w.user(MGMT, "bob")
        t = w.now()
        w.client("cloudtrail", bob).update_trail(Name=w.trail_arn, KmsKeyId=other)
        w.advance(2 * 3600)
        rc, doc, out = w.doctor_json()
        # the trail owner's home cell (verify's place for trail findings) is red; doctor's
        # own selection marks every cell the trail covers
        check(rc == 1 and red_of(doc) == ALL_CELLS and one_cause(doc, "kms_key_changed"),
              "key-changed: every cell of the trail has cause kms_key_changed", out)
        rc2, doc2, out2 = w.doctor_json(extra_env={"TRAILKEEP_DOCTOR_SELECT": "internal"})
        check(rc2 == 1 and red_of(doc2) == ALL_CELLS and one_cause(doc2, "kms_key_changed"),
              "key-changed: the same with doctor's own selection", out2)
        rc3, vout, verr = w.run("--no-integrity", "--since", "1h", cmd="verify")
        check(rc3 == 1 and "trail_config_drift" in vout and "encrypts with key '%s', planned 'alias/acme-cloudtrail'"
              % other in vout, "key-changed: verify reports the changed key as trail_config_drift", vout + verr)
        c = ([x for x in cells_by(doc, "cause") if (x["account"], x["region"]) == (MGMT, "us-east-1")] or [{}])[0]
        check("trail_config_drift" in (c.get("symptom") or ""), "key-changed: the symptom is the drift",
              c.get("symptom"))
        ev = "\n".join(c.get("evidence", []))
        check("the trail encrypts with key '%s', but the config's alias/acme-cloudtrail is key '%s'" % (other, old)
              in ev, "key-changed: evidence names both keys", ev)
        k = c.get("culprit") or {}
        check(culprit_ok(c, "UpdateTrail", "arn:aws:iam::%s:user/bob" % MGMT, t),
              "key-changed: culprit is bob's UpdateTrail", json.dumps(k))
        check(c.get("fix") == "trailkeep apply %s" % w.config and old in (c.get("fix_diff") or ""),
              "key-changed: the fix is apply, its diff points the trail back at the configured key",
              (c.get("fix") or "") + "\n" + (c.get("fix_diff") or ""))
        rc, aout = w.apply()
        w.advance(3600)
        rc2, doc, out = w.doctor_json()
        check(rc == 0 and rc2 == 0 and not red_of(doc), "key-changed: after apply doctor finds nothing", aout + out)
    finally:
        w.close()


def scenario_kms(kind):
    w = build("kms-" + kind)
    if not w:
        return
    try:
        mallory = w.user(ARCHIVE, "mallory")
        kms = w.client("kms", mallory)
        key = kms.describe_key(KeyId="alias/acme-cloudtrail")["KeyMetadata"]
        t = w.now()
        if kind == "disabled":
            kms.disable_key(KeyId=key["KeyId"])
        else:
            kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
        w.advance(2 * 3600)
        rc, doc, out = w.doctor_json()
        code = "kms_key_disabled" if kind == "disabled" else "kms_key_pending_deletion"
        check(rc == 1 and red_of(doc) == ALL_CELLS, "kms-%s: every cell is red, exit 1" % kind, out)
        check(one_cause(doc, code), "kms-%s: cause %s" % (kind, code), out)
        c = (cells_by(doc, "cause") or [{}])[0]
        k = c.get("culprit") or {}
        ename = "DisableKey" if kind == "disabled" else "ScheduleKeyDeletion"
        check(k.get("event") == ename and k.get("who") == "arn:aws:iam::%s:user/mallory" % ARCHIVE and
              k.get("when") == t, "kms-%s: culprit is mallory's %s at its time" % (kind, ename), json.dumps(k))
        ev = "\n".join(c.get("evidence", []))
        check(key["Arn"] in ev and ("KMS.DisabledException" in ev if kind == "disabled" else "PendingDeletion" in ev),
              "kms-%s: evidence names the key and its state" % kind, ev)
        # apply repairs the key itself (src/apply/apply.c enables it / cancels the deletion)
        fix = c.get("fix") or ""
        note = "enables the key" if kind == "disabled" else "cancels the deletion and enables the key"
        check(fix.startswith("trailkeep apply %s" % w.config) and note in fix,
              "kms-%s: the fix is 'trailkeep apply CONFIG (%s)'" % (kind, note), fix)
        rc, aout = w.apply()
        st = kms.describe_key(KeyId=key["Arn"])["KeyMetadata"]["KeyState"]
        w.advance(3600)
        rc2, doc, out = w.doctor_json()
        check(rc == 0 and st == "Enabled" and rc2 == 0 and not red_of(doc),
              "kms-%s: apply makes the same key usable again, doctor finds nothing" % kind,
              "key state %s\n%s\n%s" % (st, aout, out))
    finally:
        w.close()


def scenario_selectors():
    w = build("selectors")
    if not w:
        return
    try:
        mallory = w.user(MGMT, "mallory")
        t = w.now()
        w.client("cloudtrail", mallory).put_event_selectors(
            TrailName=w.trail_arn, AdvancedEventSelectors=[{"Name": "only data", "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::some-bucket/"]}]}])
        w.advance(600)
        rc, doc, out = w.doctor_json()
        check(rc == 1 and red_of(doc) == ALL_CELLS and one_cause(doc, "selectors_exclude"),
              "selectors: every cell red with cause selectors_exclude", out)
        c = (cells_by(doc, "cause") or [{}])[0]
        k = c.get("culprit") or {}
        check(k.get("event") == "PutEventSelectors" and k.get("who") == "arn:aws:iam::%s:user/mallory" % MGMT
              and k.get("when") == t, "selectors: culprit is mallory's PutEventSelectors", json.dumps(k))
        d = c.get("fix_diff") or ""
        check('+            "Management"' in d and c.get("fix") == "trailkeep apply %s" % w.config,
              "selectors: the fix is apply, with the selector diff adding management events", d)
    finally:
        w.close()


def scenario_prefix():
    w = build("prefix")
    if not w:
        return
    try:
        # widen the bucket policy for a new prefix (as the break-glass role), then move the trail
        mallory = w.user(ARCHIVE, "mallory")
        s3 = w.client("s3", w.assume(mallory, "arn:aws:iam::%s:role/LogArchiveAdmin" % ARCHIVE, "mallory"))
        pol = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
        pol["Statement"].append({"Sid": "MovedLogs", "Effect": "Allow",
                                 "Principal": {"Service": "cloudtrail.amazonaws.com"},
                                 "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::%s/moved/*" % BUCKET})
        s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(pol))
        bob = w.user(MGMT, "bob")
        t = w.now()
        w.client("cloudtrail", bob).update_trail(Name=w.trail_arn, S3KeyPrefix="moved")
        w.advance(600)
        rc, doc, out = w.doctor_json()
        check(rc == 1 and red_of(doc) == ALL_CELLS and one_cause(doc, "prefix_changed"),
              "prefix: every cell red with cause prefix_changed", out)
        c = (cells_by(doc, "cause") or [{}])[0]
        k = c.get("culprit") or {}
        check(culprit_ok(c, "UpdateTrail", "arn:aws:iam::%s:user/bob" % MGMT, t),
              "prefix: culprit is bob's UpdateTrail", json.dumps(k))
        check('-  "S3KeyPrefix": "moved"' in (c.get("fix_diff") or "") and
              c.get("fix") == "trailkeep apply %s" % w.config,
              "prefix: the fix is apply, the diff removes S3KeyPrefix 'moved'", c.get("fix_diff"))
    finally:
        w.close()


def scenario_deleted():
    w = build("deleted")
    if not w:
        return
    try:
        mallory = w.user(MGMT, "mallory")
        t = w.now()
        w.client("cloudtrail", mallory).delete_trail(Name=w.trail_arn)
        w.advance(600)
        rc, doc, out = w.doctor_json()
        check(rc == 1 and red_of(doc) == ALL_CELLS and one_cause(doc, "trail_deleted"),
              "deleted: every cell red with cause trail_deleted", out)
        c = (cells_by(doc, "cause") or [{}])[0]
        k = c.get("culprit") or {}
        check(culprit_ok(c, "DeleteTrail", "arn:aws:iam::%s:user/mallory" % MGMT, t),
              "deleted: culprit is mallory's DeleteTrail", json.dumps(k))
        check(c.get("fix") == "trailkeep apply %s" % w.config and
              '+  "Name": "org-trail"' in (c.get("fix_diff") or ""),
              "deleted: the fix is apply, the diff shows the trail it creates", json.dumps(c))
    finally:
        w.close()


def scenario_kms_policy():
    w = build("kms-policy")
    if not w:
        return
    try:
        mallory = w.user(ARCHIVE, "mallory")
        kms = w.client("kms", mallory)
        key = kms.describe_key(KeyId="alias/acme-cloudtrail")["KeyMetadata"]
        pol = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
        dropped = [st.get("Sid") for st in pol["Statement"] if "GenerateDataKey" in json.dumps(st.get("Action"))]
        pol["Statement"] = [st for st in pol["Statement"] if "GenerateDataKey" not in json.dumps(st.get("Action"))]
        t = w.now()
        kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(pol))
        w.advance(2 * 3600)
        rc, doc, out = w.doctor_json()
        check(rc == 1 and red_of(doc) == ALL_CELLS and one_cause(doc, "kms_policy_denies"),
              "kms-policy: every cell red with cause kms_policy_denies", out)
        c = (cells_by(doc, "cause") or [{}])[0]
        ev = "\n".join(c.get("evidence", []))
        check("does not allow cloudtrail.amazonaws.com kms:GenerateDataKey" in ev and
              "InsufficientEncryptionPolicy" in ev, "kms-policy: evidence shows the missing allow and the delivery error",
              ev)
        k = c.get("culprit") or {}
        check(culprit_ok(c, "PutKeyPolicy", "arn:aws:iam::%s:user/mallory" % ARCHIVE, t),
              "kms-policy: culprit is mallory's PutKeyPolicy", json.dumps(k))
        d = c.get("fix_diff") or ""
        check(dropped and all(('+      "Sid": "%s"' % sid) in d for sid in dropped) and
              c.get("fix") == "trailkeep apply %s" % w.config,
              "kms-policy: the fix is apply; its diff restores %s" % dropped, d)
        rc, aout = w.apply()
        w.advance(3600)
        rc2, doc, out = w.doctor_json()
        check(rc == 0 and rc2 == 0 and not red_of(doc), "kms-policy: after apply doctor finds nothing", aout + out)
    finally:
        w.close()


def scenario_unknown():
    w = build("unknown")
    if not w:
        return
    try:
        # the break-glass role removes today's log files of prod us-east-1: the cell
        # is red (no logs) while every setting is right
        mallory = w.user(ARCHIVE, "mallory")
        s3 = w.client("s3", w.assume(mallory, "arn:aws:iam::%s:role/LogArchiveAdmin" % ARCHIVE, "mallory"))
        pre = "AWSLogs/%s/%s/CloudTrail/us-east-1/" % (w.org_id, PROD)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=pre).get("Contents", [])]
        for k in keys:
            s3.delete_object(Bucket=BUCKET, Key=k)
        rc, doc, out = w.doctor_json()
        check(bool(keys) and rc == 1 and red_of(doc) == [(PROD, "us-east-1")] and one_cause(doc, "unknown"),
              "unknown: the emptied cell is red with cause unknown", out)
        c = (cells_by(doc, "cause") or [{}])[0]
        ev = "\n".join(c.get("evidence", []))
        want = ["GetTrail", "IsLogging true", "no LatestDeliveryError", "bucket policy of '%s' allows" % BUCKET,
                "key policy allows", "HeadBucket", "S3KeyPrefix are as configured", "GetEventSelectors",
                "DescribeTrails"]
        check(all(x in ev for x in want), "unknown: the evidence lists every check made", ev)
        check((c.get("symptom") or "").startswith("delivery_none"), "unknown: the symptom is delivery_none",
              c.get("symptom"))
    finally:
        w.close()


def scenario_global_duplicated():
    w = build("global-dup")
    if not w:
        return
    try:
        dave = w.user(PROD, "dave")
        s3 = w.client("s3", dave)
        s3.create_bucket(Bucket="prod-own-trail")
        s3.put_bucket_policy(Bucket="prod-own-trail", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": ["s3:GetBucketAcl", "s3:PutObject"],
             "Resource": ["arn:aws:s3:::prod-own-trail", "arn:aws:s3:::prod-own-trail/*"]}]}))
        t = w.now()
        w.client("cloudtrail", dave).create_trail(Name="prod-extra", S3BucketName="prod-own-trail",
                                                  IncludeGlobalServiceEvents=True)
        # a duplicate does not silence a cell, so verify does not make it red; doctor's
        # own selection (TRAILKEEP_DOCTOR_SELECT=internal) checks DescribeTrails per account
        rc, doc, out = w.doctor_json()
        check(rc == 0 and not red_of(doc), "global-dup: with verify's selection the cell is not red", out)
        rc, doc, out = w.doctor_json(extra_env={"TRAILKEEP_DOCTOR_SELECT": "internal"})
        check(rc == 1 and red_of(doc) == [(PROD, "us-east-1")] and one_cause(doc, "global_events_duplicated"),
              "global-dup: prod's home-region cell has cause global_events_duplicated", out)
        c = (cells_by(doc, "cause") or [{}])[0]
        k = c.get("culprit") or {}
        other = "arn:aws:cloudtrail:us-east-1:%s:trail/prod-extra" % PROD
        check(k.get("event") == "CreateTrail" and k.get("who") == "arn:aws:iam::%s:user/dave" % PROD and
              k.get("when") == t and other in (c.get("fix") or ""),
              "global-dup: culprit is dave's CreateTrail; the fix names the other trail", json.dumps(c))
    finally:
        w.close()


PER_ACCOUNT_INI = """[organization]
management_account = 111111111111
log_archive_account = 222222222222
home_region = us-east-1
regions = us-east-1, eu-west-1
assume_role = OrganizationAccountAccessRole

[central]
bucket = acme-cloudtrail-logs
key_prefix = cloudtrail
kms_alias = alias/acme-trails
break_glass_principals = arn:aws:iam::222222222222:role/LogArchiveAdmin
max_delivery_age = 1h

[trail]
name = acme-trail
mode = per-account

[account prod]
id = 333333333333

[account staging]
id = 444444444444
"""


def scenario_per_account_drop():
    w = World()
    with open(w.config, "w") as f:
        f.write(PER_ACCOUNT_INI)
    try:
        rc, out = w.apply()
        if not check(rc == 0, "per-account: apply builds the trails", out):
            return
        w.advance(2 * 3600)
        rc, doc, out = w.doctor_json()
        check(rc == 0 and not red_of(doc) and len(doc["cells"]) == 4, "per-account: healthy, exit 0", out)
        mallory = w.user(ARCHIVE, "mallory")
        s3 = w.client("s3", w.assume(mallory, "arn:aws:iam::%s:role/LogArchiveAdmin" % ARCHIVE, "mallory"))
        pol = json.loads(s3.get_bucket_policy(Bucket="acme-cloudtrail-logs")["Policy"])
        pol["Statement"] = [st for st in pol["Statement"] if st.get("Sid") != "TrailkeepWrite%s" % PROD]
        t = w.now()
        s3.put_bucket_policy(Bucket="acme-cloudtrail-logs", Policy=json.dumps(pol))
        w.advance(2 * 3600)
        rc, doc, out = w.doctor_json()
        check(rc == 1 and red_of(doc) == [(PROD, "eu-west-1"), (PROD, "us-east-1")] and
              one_cause(doc, "bucket_policy_denies"),
              "per-account: dropping prod's statement makes only prod red, bucket_policy_denies", out)
        c = (cells_by(doc, "cause") or [{}])[0]
        ev = "\n".join(c.get("evidence", []))
        check("missing allow" in ev and "does not allow" in ev, "per-account: evidence says which allow is missing", ev)
        k = c.get("culprit") or {}
        check(k.get("event") == "PutBucketPolicy" and k.get("when") == t and
              "assumed-role/LogArchiveAdmin/mallory" in (k.get("who") or ""),
              "per-account: culprit is the mallory session's PutBucketPolicy", json.dumps(k))
        check(c.get("fix") == "trailkeep apply %s --account %s" % (w.config, PROD) and
              '+      "Sid": "TrailkeepWrite%s"' % PROD in (c.get("fix_diff") or ""),
              "per-account: the fix is apply --account, its diff restores TrailkeepWrite%s" % PROD,
              (c.get("fix") or "") + "\n" + (c.get("fix_diff") or ""))
        # staging's role now trusts nobody we have: its cells cannot be examined -> exit 3
        w.fa.post("create_role", account=STAGING, name="OrganizationAccountAccessRole",
                  trust_policy={"Version": "2012-10-17", "Statement": [{
                      "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                      "Action": "sts:AssumeRole"}]})
        rc, doc, out = w.doctor_json()
        st = [c for c in (doc or {}).get("cells", []) if c["account"] == STAGING]
        check(rc == 3 and len(st) == 2 and all(c["status"] == "unexamined" and "cannot assume" in (c["error"] or "")
                                               for c in st) and doc["summary"]["unexamined"] == 2,
              "per-account: cells whose role cannot be assumed are 'unexamined', exit 3", out)
        check(one_cause({"cells": [c for c in doc["cells"] if c["account"] == PROD]}, "bucket_policy_denies"),
              "per-account: the other account's cause is still found", out)
    finally:
        w.close()


def scenario_org_flag():
    w = build("org-flag")
    if not w:
        return
    try:
        # the org trail becomes a single-account trail: it still delivers the management
        # account, now under AWSLogs/<mgmt>/ (the management-account path), members get nothing
        bob = w.user(MGMT, "bob")
        t = w.now()
        w.client("cloudtrail", bob).update_trail(Name=w.trail_arn, IsOrganizationTrail=False)
        w.advance(600)
        rc, doc, out = w.doctor_json()
        check(rc == 1 and red_of(doc) == ALL_CELLS and one_cause(doc, "org_path_layout"),
              "org-flag: every cell red with cause org_path_layout", out)
        c = (cells_by(doc, "cause") or [{}])[0]
        k = c.get("culprit") or {}
        ev = "\n".join(c.get("evidence", []))
        check("not an organization trail" in ev and "'AWSLogs/%s/'" % MGMT in ev,
              "org-flag: evidence names the management-account path the logs now use", ev)
        check(culprit_ok(c, "UpdateTrail", "arn:aws:iam::%s:user/bob" % MGMT, t),
              "org-flag: culprit is bob's UpdateTrail", json.dumps(k))
        check('+  "IsOrganizationTrail": true' in (c.get("fix_diff") or "") and
              c.get("fix") == "trailkeep apply %s" % w.config,
              "org-flag: the fix is apply, the diff sets IsOrganizationTrail back", c.get("fix_diff"))
    finally:
        w.close()


def scenario_per_account_to_org():
    """Per-account config; the management account's own trail is turned into an
    organization trail: its logs move to AWSLogs/ORG-ID/ACCOUNT/, where nobody
    reading AWSLogs/ACCOUNT/ looks (the org id once too often)."""
    w = World()
    with open(w.config, "w") as f:
        f.write(PER_ACCOUNT_INI + "\n[account management]\nid = %s\n" % MGMT)
    try:
        rc, out = w.apply()
        if not check(rc == 0, "to-org: apply builds the per-account trails", out):
            return
        w.advance(2 * 3600)
        bob = w.user(MGMT, "bob")
        arn = "arn:aws:cloudtrail:us-east-1:%s:trail/acme-trail" % MGMT
        # CloudTrail checks the bucket policy at UpdateTrail: the log archive's
        # admin first lets the trail write the organization's path
        mallory = w.user(ARCHIVE, "mallory")
        s3 = w.client("s3", w.assume(mallory, "arn:aws:iam::%s:role/LogArchiveAdmin" % ARCHIVE, "mallory"))
        pol = json.loads(s3.get_bucket_policy(Bucket="acme-cloudtrail-logs")["Policy"])
        pol["Statement"].append({"Sid": "OrgTrialRun", "Effect": "Allow",
                                 "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
                                 "Resource": "arn:aws:s3:::acme-cloudtrail-logs/cloudtrail/AWSLogs/%s/*" % w.org_id,
                                 "Condition": {"StringEquals": {"aws:SourceArn": arn}}})
        s3.put_bucket_policy(Bucket="acme-cloudtrail-logs", Policy=json.dumps(pol))
        t = w.now()
        w.client("cloudtrail", bob).update_trail(Name=arn, IsOrganizationTrail=True)
        w.advance(2 * 3600)
        rc, doc, out = w.doctor_json("--account", MGMT)
        check(rc == 1 and red_of(doc) == [(MGMT, "eu-west-1"), (MGMT, "us-east-1")] and
              one_cause(doc, "org_path_layout"), "to-org: the management account's cells: org_path_layout", out)
        c = (cells_by(doc, "cause") or [{}])[0]
        ev = "\n".join(c.get("evidence", []))
        check("the trail is an organization trail: logs land under 'AWSLogs/ORG-ID/%s/'" % MGMT in ev,
              "to-org: evidence names the path the logs moved to", ev)
        k = c.get("culprit") or {}
        check(culprit_ok(c, "UpdateTrail", "arn:aws:iam::%s:user/bob" % MGMT, t),
              "to-org: culprit is bob's UpdateTrail", json.dumps(k))
        check('+  "IsOrganizationTrail": false' in (c.get("fix_diff") or "") and
              c.get("fix") == "trailkeep apply %s --account %s" % (w.config, MGMT),
              "to-org: the fix is apply --account, the diff sets IsOrganizationTrail back",
              (c.get("fix") or "") + "\n" + (c.get("fix_diff") or ""))
    finally:
        w.close()


def scenario_region_not_covered():
    w = build("single-region")
    if not w:
        return
    try:
        bob = w.user(MGMT, "bob")
        t = w.now()
        w.client("cloudtrail", bob).update_trail(Name=w.trail_arn, IsMultiRegionTrail=False)
        w.advance(600)
        rc, doc, out = w.doctor_json()
        # eu-west-1 is not logged at all; verify also flags the drift on the owner's home cell
        eu = sorted(x for x in ALL_CELLS if x[1] == "eu-west-1" or x == (MGMT, "us-east-1"))
        check(rc == 1 and red_of(doc) == eu and one_cause(doc, "trail_region_not_covered"),
              "single-region: the eu-west-1 cells and the owner's cell have cause trail_region_not_covered", out)
        c = [x for x in cells_by(doc, "cause") if x["region"] == "eu-west-1"]
        c = c[0] if c else {}
        k = c.get("culprit") or {}
        check(k.get("event") == "UpdateTrail" and k.get("who") == "arn:aws:iam::%s:user/bob" % MGMT and
              k.get("when") == t and c.get("fix") == "trailkeep apply %s" % w.config,
              "single-region: culprit is bob's UpdateTrail, the fix is apply", json.dumps(c))
    finally:
        w.close()


def scenario_bucket_changed():
    w = build("bucket-changed")
    if not w:
        return
    try:
        # bob points the trail at a bucket of the management account that lets CloudTrail write
        bob = w.user(MGMT, "bob")
        s3 = w.client("s3", bob)
        s3.create_bucket(Bucket="bob-trail-logs")
        s3.put_bucket_policy(Bucket="bob-trail-logs", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": ["s3:GetBucketAcl", "s3:PutObject"],
             "Resource": ["arn:aws:s3:::bob-trail-logs", "arn:aws:s3:::bob-trail-logs/*"]}]}))
        t = w.now()
        w.client("cloudtrail", bob).update_trail(Name=w.trail_arn, S3BucketName="bob-trail-logs")
        w.advance(600)
        rc, doc, out = w.doctor_json()
        check(rc == 1 and red_of(doc) == ALL_CELLS and one_cause(doc, "bucket_changed"),
              "bucket-changed: every cell red with cause bucket_changed", out)
        c = (cells_by(doc, "cause") or [{}])[0]
        k = c.get("culprit") or {}
        check(culprit_ok(c, "UpdateTrail", "arn:aws:iam::%s:user/bob" % MGMT, t),
              "bucket-changed: culprit is bob's UpdateTrail", json.dumps(k))
        check('-  "S3BucketName": "bob-trail-logs"' in (c.get("fix_diff") or "") and
              '+  "S3BucketName": "%s"' % BUCKET in (c.get("fix_diff") or ""),
              "bucket-changed: the diff points the trail back at the configured bucket", c.get("fix_diff"))
    finally:
        w.close()


# --- causes added for issue #8 ---------------------------------------------------------

def account_call(w, key, path, body, region="us-east-1"):
    """A signed Account Management (REST-JSON) call, as botocore's "account" client
    makes it; Debian's botocore 1.29 has no region opt-in operations in its model,
    so the request is built and signed here with botocore's own SigV4Auth."""
    import urllib.error
    import urllib.request
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest(method="POST", url=w.fa.url + path, data=json.dumps(body).encode(),
                     headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(key["access_key_id"], key["secret_access_key"], key.get("session_token")),
              "account", region).add_auth(req)
    r = urllib.request.Request(req.url, data=req.body, headers=dict(req.headers.items()), method="POST")
    try:
        with urllib.request.urlopen(r, timeout=60) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as e:
        return e.code, {"error": e.headers.get("x-amzn-ErrorType"), "body": e.read().decode()}


def culprit_ok(c, event, who, when, contains=False):
    k = (c or {}).get("culprit") or {}
    w = k.get("who") or ""
    return k.get("event") == event and (who in w if contains else w == who) and k.get("when") == when


def text_has(w, code, *args):
    rc, out, err = w.run(*args)
    return code in out, out + err


def scenario_trail_missing():
    w = World()
    with open(w.config, "w") as f:
        f.write(PER_ACCOUNT_INI)
    try:
        rc, out, err = run_trailkeep(TK, ["apply", w.config, "--yes", "--account", PROD], w.env())
        if not check(rc == 0, "trail-missing: apply --account %s (staging left out)" % PROD, out + err):
            return
        w.advance(2 * 3600)
        rc, doc, out = w.doctor_json("--account", STAGING)
        cs = cells_by(doc, "cause")
        check(rc == 1 and len(cs) == 2 and one_cause(doc, "trail_missing"),
              "trail-missing: staging's cells have cause trail_missing", out)
        c = cs[0] if cs else {}
        check(c.get("culprit") is None and "trailkeep apply" in (c.get("fix") or ""),
              "trail-missing: no culprit, the fix is trailkeep apply", json.dumps(c))
        ok, t = text_has(w, "trail_missing", "--account", STAGING)
        check(ok, "trail-missing: text output names the cause", t)
        rc, doc, out = w.doctor_json("--account", PROD)
        check(rc == 0 and not red_of(doc), "trail-missing: the applied account is healthy", out)
    finally:
        w.close()


def scenario_kms_key_missing():
    w = build("kms-missing")
    if not w:
        return
    try:
        w.fa.post("set_delivery", background=[0, 1])
        mallory = w.user(ARCHIVE, "mallory")
        kms = w.client("kms", mallory)
        key = kms.describe_key(KeyId="alias/acme-cloudtrail")["KeyMetadata"]
        t = w.now()
        kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
        w.advance(7 * 86400 + 3600)
        # deletion completed: the key and its alias are gone
        try:
            kms.describe_key(KeyId=key["Arn"])
            gone = False
        except kms.exceptions.NotFoundException:
            gone = True
        aliases = [a["AliasName"] for a in kms.list_aliases()["Aliases"]]
        check(gone and "alias/acme-cloudtrail" not in aliases,
              "kms-missing: after the waiting period the key and its alias are deleted", aliases)
        st = w.client("cloudtrail", w.accounts[MGMT]).get_trail_status(Name=w.trail_arn)
        check(st.get("LatestDeliveryError") == "KMS.NotFoundException",
              "kms-missing: the trail's LatestDeliveryError is KMS.NotFoundException", st)
        rc, doc, out = w.doctor_json()
        check(rc == 1 and red_of(doc) == ALL_CELLS and one_cause(doc, "kms_key_missing"),
              "kms-missing: every cell red with cause kms_key_missing", out)
        c = (cells_by(doc, "cause") or [{}])[0]
        check(culprit_ok(c, "ScheduleKeyDeletion", "arn:aws:iam::%s:user/mallory" % ARCHIVE, t),
              "kms-missing: culprit is mallory's ScheduleKeyDeletion at its time", json.dumps(c.get("culprit")))
        check("trailkeep apply" in (c.get("fix") or ""), "kms-missing: the fix mentions trailkeep apply",
              c.get("fix"))
        ok, txt = text_has(w, "kms_key_missing")
        check(ok, "kms-missing: text output names the cause", txt)
        # the fix: apply creates a new key and alias and points the trail at it
        rc, aout = w.apply()
        if check(rc == 0, "kms-missing: apply recovers (new key)", aout):
            nk = kms.describe_key(KeyId="alias/acme-cloudtrail")["KeyMetadata"]
            tr = w.client("cloudtrail", w.accounts[MGMT]).get_trail(Name=w.trail_arn)["Trail"]
            check(nk["Arn"] != key["Arn"] and tr.get("KmsKeyId") == nk["Arn"],
                  "kms-missing: apply made a new key, the alias and the trail point to it",
                  json.dumps([nk["Arn"], tr.get("KmsKeyId")]))
            w.advance(3600)
            rc, doc, out = w.doctor_json()
            check(rc == 0 and not red_of(doc), "kms-missing: after apply doctor finds nothing", out)
    finally:
        w.close()


def _empty_and_delete_bucket(w, s3, bucket):
    """What a person does to delete a versioned bucket: every version and delete
    marker away (DeleteObjects, 1000 at a time), then DeleteBucket."""
    n = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        objs = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        for i in range(0, len(objs), 1000):
            r = s3.delete_objects(Bucket=bucket, Delete={"Objects": objs[i:i + 1000], "Quiet": True})
            if r.get("Errors"):
                raise RuntimeError("DeleteObjects: %s" % r["Errors"][:3])
            n += len(objs[i:i + 1000])
    t = w.now()
    s3.delete_bucket(Bucket=bucket)
    return n, t


def scenario_bucket_gone(then):
    w = build("bucket-" + then)
    if not w:
        return
    try:
        w.fa.post("set_delivery", background=[0, 1])
        mallory = w.user(ARCHIVE, "mallory")
        sess = w.assume(mallory, "arn:aws:iam::%s:role/LogArchiveAdmin" % ARCHIVE, "mallory")
        s3 = w.client("s3", sess)
        old_policy = s3.get_bucket_policy(Bucket=BUCKET)["Policy"]
        n, t_del = _empty_and_delete_bucket(w, s3, BUCKET)
        who = "arn:aws:sts::%s:assumed-role/LogArchiveAdmin/mallory" % ARCHIVE
        w.advance(2 * 3600)
        if then == "missing":
            check(n > 0, "bucket-missing: the break-glass role deleted %d versions and the bucket" % n)
            rc, doc, out = w.doctor_json()
            check(rc == 1 and red_of(doc) == ALL_CELLS and one_cause(doc, "bucket_missing"),
                  "bucket-missing: every cell red with cause bucket_missing", out)
            c = (cells_by(doc, "cause") or [{}])[0]
            check(culprit_ok(c, "DeleteBucket", who, t_del, contains=True),
                  "bucket-missing: culprit is the LogArchiveAdmin/mallory session's DeleteBucket",
                  json.dumps(c.get("culprit")))
            check("trailkeep apply" in (c.get("fix") or ""), "bucket-missing: the fix mentions trailkeep apply",
                  c.get("fix"))
            ok, txt = text_has(w, "bucket_missing")
            check(ok, "bucket-missing: text output names the cause", txt)
            # d. someone outside the organization takes the name
            eve = w.fa.post("create_account", id="888888888888", name="Outsider", in_org=False)
            s3x = w.client("s3", eve)
            s3x.create_bucket(Bucket=BUCKET)
            w.advance(2 * 3600)
            try:
                w.client("s3", w.accounts[MGMT]).head_bucket(Bucket=BUCKET)
                head = 200
            except Exception as e:
                head = getattr(e, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            check(head == 403, "bucket-foreign: HeadBucket from the organization answers 403", head)
            rc, doc, out = w.doctor_json()
            check(rc == 1 and red_of(doc) == ALL_CELLS and one_cause(doc, "bucket_foreign_owner"),
                  "bucket-foreign: every cell red with cause bucket_foreign_owner", out)
            ok, txt = text_has(w, "bucket_foreign_owner")
            check(ok, "bucket-foreign: text output names the cause", txt)
        else:
            # e. the break-glass role recreates it in eu-west-1 with the old policy
            s3eu = w.client("s3", sess, region="eu-west-1")
            t_create = w.now()
            s3eu.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
            s3eu.put_bucket_policy(Bucket=BUCKET, Policy=old_policy)
            w.advance(2 * 3600)
            st = w.client("cloudtrail", w.accounts[MGMT]).get_trail_status(Name=w.trail_arn)
            check(st.get("LatestDeliveryError") == "KMS.NotFoundException",
                  "bucket-moved: delivery fails with KMS.NotFoundException (key not in the bucket's region)", st)
            rc, doc, out = w.doctor_json()
            check(rc == 1 and red_of(doc) == ALL_CELLS and one_cause(doc, "bucket_wrong_region"),
                  "bucket-moved: every cell red with cause bucket_wrong_region", out)
            c = (cells_by(doc, "cause") or [{}])[0]
            check(culprit_ok(c, "CreateBucket", who, t_create, contains=True),
                  "bucket-moved: culprit is the LogArchiveAdmin/mallory session's CreateBucket (eu-west-1)",
                  json.dumps(c.get("culprit")))
            ok, txt = text_has(w, "bucket_wrong_region")
            check(ok, "bucket-moved: text output names the cause", txt)
    finally:
        w.close()


def scenario_delivery_fault():
    w = build("delivery-error")
    if not w:
        return
    try:
        w.fa.post("set_delivery_fault", trail="org-trail", error="KMS.ThrottlingException", kind="both")
        w.advance(2 * 3600)
        st = w.client("cloudtrail", w.accounts[MGMT]).get_trail_status(Name=w.trail_arn)
        check(st.get("LatestDeliveryError") == "KMS.ThrottlingException" and
              st.get("LatestDigestDeliveryError") == "KMS.ThrottlingException",
              "delivery-error: the injected fault shows in GetTrailStatus", st)
        rc, doc, out = w.doctor_json()
        cs = cells_by(doc, "cause")
        check(rc == 1 and cs and one_cause(doc, "delivery_error"),
              "delivery-error: red cells have cause delivery_error", out)
        c = cs[0] if cs else {}
        ev = "\n".join(c.get("evidence", []))
        rest = ev.replace("KMS.ThrottlingException", "")
        check("KMS.ThrottlingException" in ev and any(x in rest.lower() for x in ("quota", "throttl", "rate")),
              "delivery-error: the evidence names the value and what it means", ev)
        ok, txt = text_has(w, "delivery_error")
        check(ok, "delivery-error: text output names the cause", txt)
        w.fa.post("set_delivery_fault", trail="org-trail", error=None, kind="both")
        w.advance(3600)
        rc, doc, out = w.doctor_json()
        check(rc == 0 and not red_of(doc), "delivery-error: once the fault clears doctor finds nothing", out)
    finally:
        w.close()


REGION_INI = ORG_INI.replace("regions = us-east-1, eu-west-1", "regions = us-east-1, af-south-1") \
    .replace("id = 444444444444\nregions = eu-west-1\n", "id = 444444444444\n")


def scenario_region_not_enabled():
    w = World()
    try:
        with open(w.config, "w") as f:
            f.write(REGION_INI.format(org_id=w.org_id))
        w.fa.post("set_regions", regions=["us-east-1", "af-south-1"])
        for a in (MGMT, ARCHIVE, PROD, STAGING):
            w.fa.post("set_region_opt", account=a, region="af-south-1", status="ENABLED")
        rc, out = w.apply()
        if not check(rc == 0, "region-not-enabled: apply builds the org (us-east-1, af-south-1)", out):
            return
        w.advance(2 * 3600)
        rc, doc, out = w.doctor_json("--account", PROD)
        check(rc == 0 and not red_of(doc), "region-not-enabled: healthy before", out)
        carol = w.user(PROD, "carol")
        t = w.now()
        st, r = account_call(w, carol, "/disableRegion", {"RegionName": "af-south-1"})
        check(st == 200, "region-not-enabled: carol's DisableRegion af-south-1 succeeds", r)
        w.advance(2 * 3600)
        st, r = account_call(w, carol, "/getRegionOptStatus", {"RegionName": "af-south-1"})
        check(r.get("RegionOptStatus") == "DISABLED", "region-not-enabled: the region is DISABLED", r)
        rc, doc, out = w.doctor_json("--account", PROD, "--region", "af-south-1")
        check(rc == 1 and red_of(doc) == [(PROD, "af-south-1")] and one_cause(doc, "region_not_enabled"),
              "region-not-enabled: prod af-south-1 has cause region_not_enabled", out)
        c = (cells_by(doc, "cause") or [{}])[0]
        check(culprit_ok(c, "DisableRegion", "arn:aws:iam::%s:user/carol" % PROD, t),
              "region-not-enabled: culprit is carol's DisableRegion", json.dumps(c.get("culprit")))
        check("enable-region" in (c.get("fix") or ""), "region-not-enabled: the fix mentions enable-region",
              c.get("fix"))
        ok, txt = text_has(w, "region_not_enabled", "--account", PROD, "--region", "af-south-1")
        check(ok, "region-not-enabled: text output names the cause", txt)
    finally:
        w.close()


SINGLE_INI = ORG_INI.replace("regions = us-east-1, eu-west-1", "regions = us-east-1") \
    .replace("mode = organization\n", "mode = organization\nmulti_region = false\ninclude_global_events = true\n") \
    .replace("id = 444444444444\nregions = eu-west-1\n", "id = 444444444444\n")


def scenario_global_events_off():
    w = World()
    try:
        with open(w.config, "w") as f:
            f.write(SINGLE_INI.format(org_id=w.org_id))
        rc, out = w.apply()
        if not check(rc == 0, "global-off: apply builds a single-region org trail", out):
            return
        w.advance(2 * 3600)
        rc, doc, out = w.doctor_json()
        check(rc == 0 and not red_of(doc), "global-off: healthy before", out)
        bob = w.user(MGMT, "bob")
        t = w.now()
        w.client("cloudtrail", bob).update_trail(Name=w.trail_arn, IncludeGlobalServiceEvents=False)
        w.advance(2 * 3600)
        rc, doc, out = w.doctor_json()
        cs = cells_by(doc, "cause")
        check(rc == 1 and cs and one_cause(doc, "global_events_off"),
              "global-off: red cells have cause global_events_off", out)
        c = cs[0] if cs else {}
        check(culprit_ok(c, "UpdateTrail", "arn:aws:iam::%s:user/bob" % MGMT, t),
              "global-off: culprit is bob's UpdateTrail", json.dumps(c.get("culprit")))
        ok, txt = text_has(w, "global_events_off")
        check(ok, "global-off: text output names the cause", txt)
    finally:
        w.close()


def scenario_fake_account_api():
    """The fake's Account Management API and region-aware delivery, without trailkeep."""
    w = World()
    try:
        prod, mgmt = w.accounts[PROD], w.accounts[MGMT]
        q = lambda key, op, **b: account_call(w, key, "/" + op, b)  # noqa: E731
        check(q(prod, "getRegionOptStatus", RegionName="af-south-1") ==
              (200, {"RegionName": "af-south-1", "RegionOptStatus": "DISABLED"}) and
              q(prod, "getRegionOptStatus", RegionName="eu-west-1")[1].get("RegionOptStatus") ==
              "ENABLED_BY_DEFAULT", "fake-account: opt-in regions start DISABLED, others ENABLED_BY_DEFAULT")
        st, r = q(prod, "enableRegion", RegionName="af-south-1")
        s1 = q(prod, "getRegionOptStatus", RegionName="af-south-1")[1].get("RegionOptStatus")
        w.advance(300)
        s2 = q(prod, "getRegionOptStatus", RegionName="af-south-1")[1].get("RegionOptStatus")
        check(st == 200 and r == {} and s1 == "ENABLING" and s2 == "ENABLED",
              "fake-account: EnableRegion -> ENABLING, ENABLED after the next advance", (st, r, s1, s2))
        q(prod, "disableRegion", RegionName="af-south-1")
        st, r = q(prod, "enableRegion", RegionName="af-south-1")
        check(st == 409 and r.get("error") == "ConflictException",
              "fake-account: EnableRegion while DISABLING is a ConflictException", r)
        pages, tok = [], None
        while True:
            b = {"MaxResults": 7}
            if tok:
                b["NextToken"] = tok
            st, r = q(prod, "listRegions", **b)
            pages.append(r.get("Regions", []))
            tok = r.get("NextToken")
            if st != 200 or not tok:
                break
        names = [x["RegionName"] for p in pages for x in p]
        st, r = q(prod, "listRegions", MaxResults=50, RegionOptStatusContains=["DISABLING"])
        check(len(names) == 29 and len(set(names)) == 29 and len(pages) == 5 and
              r.get("Regions") == [{"RegionName": "af-south-1", "RegionOptStatus": "DISABLING"}],
              "fake-account: ListRegions pages with NextToken and filters by status", (names, r))
        errs = [q(prod, "disableRegion", RegionName="us-east-1"), q(prod, "getRegionOptStatus", RegionName="xx-1"),
                q(mgmt, "getRegionOptStatus", RegionName="af-south-1", AccountId="12"),
                q(prod, "getRegionOptStatus", RegionName="af-south-1", AccountId=STAGING),
                q(mgmt, "getRegionOptStatus", RegionName="af-south-1", AccountId=STAGING),
                q(w.fa.post("create_access_key", account=PROD, user="ro", admin=False), "listRegions"),
                account_call(w, prod, "/listRegions", {}, region="eu-west-1")]
        want = [(400, "ValidationException")] * 3 + [(403, "AccessDeniedException")] * 3 + \
            [(403, "InvalidSignatureException")]
        check([(e[0], e[1].get("error")) for e in errs] == want,
              "fake-account: validation, access and signing-region errors (x-amzn-ErrorType)", errs)
        ev = [e for e in w.fa.post("list_events")["events"]
              if e["eventSource"] == "account.amazonaws.com" and not e.get("errorCode")]
        check([(e["eventName"], e["awsRegion"], e["recipientAccountId"], e["requestParameters"]) for e in ev] ==
              [("EnableRegion", "us-east-1", PROD, {"regionName": "af-south-1"}),
               ("DisableRegion", "us-east-1", PROD, {"regionName": "af-south-1"})],
              "fake-account: Enable/DisableRegion are management events in us-east-1", ev)
        # delivery: a trail does not run where the region is not enabled
        w.fa.post("set_regions", regions=["us-east-1", "af-south-1"])
        w.fa.post("set_region_opt", account=STAGING, region="af-south-1", status="ENABLED")
        s3 = w.client("s3", prod)
        s3.create_bucket(Bucket="prod-logs")
        s3.put_bucket_policy(Bucket="prod-logs", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": ["s3:GetBucketAcl", "s3:PutObject"],
             "Resource": ["arn:aws:s3:::prod-logs", "arn:aws:s3:::prod-logs/*"]}]}))
        ct = w.client("cloudtrail", prod)
        ct.create_trail(Name="prod", S3BucketName="prod-logs", IsMultiRegionTrail=True,
                        EnableLogFileValidation=True)
        ct.start_logging(Name="prod")
        w.advance(3600)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="prod-logs").get("Contents", [])]
        check(any("/us-east-1/" in k for k in keys) and not any("/af-south-1/" in k for k in keys),
              "fake-account: no log files for a DISABLED region", keys[:5])
        # set_delivery_fault: digests only
        w.fa.post("set_delivery_fault", trail="prod", error="InternalError", kind="digest")
        w.advance(3600)
        st = ct.get_trail_status(Name="prod")
        check(st.get("LatestDigestDeliveryError") == "InternalError" and not st.get("LatestDeliveryError"),
              "fake-account: set_delivery_fault kind digest fails digests only", st)
    finally:
        w.close()


def main():
    if not os.path.exists(TK):
        print("FAIL: %s not built" % TK)
        return 1
    only = sys.argv[1:]
    for name, fn in (("healthy", scenario_healthy_then_stop_then_apply),
                     ("bucket-policy", scenario_bucket_policy_deny),
                     ("kms-disabled", lambda: scenario_kms("disabled")),
                     ("kms-deletion", lambda: scenario_kms("deletion")),
                     ("selectors", scenario_selectors),
                     ("prefix", scenario_prefix),
                     ("deleted", scenario_deleted),
                     ("kms-policy", scenario_kms_policy),
                     ("unknown", scenario_unknown),
                     ("global-dup", scenario_global_duplicated),
                     ("per-account", scenario_per_account_drop),
                     ("org-flag", scenario_org_flag),
                     ("single-region", scenario_region_not_covered),
                     ("bucket-changed", scenario_bucket_changed),
                     ("trail-missing", scenario_trail_missing),
                     ("kms-missing", scenario_kms_key_missing),
                     ("bucket-missing", lambda: scenario_bucket_gone("missing")),
                     ("bucket-moved", lambda: scenario_bucket_gone("moved")),
                     ("delivery-error", scenario_delivery_fault),
                     ("region-not-enabled", scenario_region_not_enabled),
                     ("global-off", scenario_global_events_off),
                     ("fake-account", scenario_fake_account_api),
                     ("policy-deleted", scenario_bucket_policy_deleted),
                     ("kms-wrong-region", scenario_kms_wrong_region),
                     ("to-org", scenario_per_account_to_org),
                     ("key-changed", scenario_kms_key_changed)):
        if only and name not in only:
            continue
        t0 = time.time()
        fn()
        sys.stderr.write("doctor_fake: %s took %.1fs\n" % (name, time.time() - t0))
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
