"""How each break of catalogue.EXPECT is made, the way people make it: a named
IAM principal with botocore (its signing clock pinned to the simulated one),
the Account Management API signed by hand (Debian's botocore has no region
opt-in operations), or a fake control op where the API cannot build the state
(set_delivery_fault, force_trail_key, age_events).

make(w, name, rng) -> Ctx: who did it (ARN, or the part it must contain),
when (the simulated time of the call), the victim account / cell, the trail
owner, an optional config override and an optional revert()."""

import json
import urllib.error
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .gen import MGMT, OPT_IN, REGION_POOL

UNKNOWN_ACCOUNT = "123456789012"        # in no config and no organization
NO_LOGS_REGION = "sa-east-1"            # the fake delivers nothing there


class Ctx:
    def __init__(self, owner, victim=None, cell=None):
        self.owner = owner          # the account whose trail is broken / concerned
        self.victim = victim        # the account whose cells suffer (victim kinds)
        self.cell = cell            # one cell (cell kind)
        self.who = None             # the culprit principal ARN
        self.who_contains = False
        self.when = None            # simulated time of the culprit call
        self.config_text = None     # a changed config for verify/doctor
        self.revert = None          # fn() that undoes the break (non-apply fixes)
        self.fix_contains = []      # more strings the fix must contain
        self.note = ""
        self.labels = {}            # account id -> label in catalogue "extra"


def _err_code(e):
    return getattr(e, "response", {}).get("Error", {}).get("Code")


def account_call(w, key, path, body):
    """A signed Account Management call (REST-JSON, signed for us-east-1)."""
    req = AWSRequest(method="POST", url=w.fa.url + path, data=json.dumps(body).encode(),
                     headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(key["access_key_id"], key["secret_access_key"], key.get("session_token")),
              "account", "us-east-1").add_auth(req)
    r = urllib.request.Request(req.url, data=req.body, headers=dict(req.headers.items()), method="POST")
    try:
        with urllib.request.urlopen(r, timeout=60) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as e:
        return e.code, {"error": e.headers.get("x-amzn-ErrorType"), "body": e.read().decode()}


# --- victims --------------------------------------------------------------------------

def pick_owner(w, rng):
    """The trail the break is made on: the organization trail, or one
    per-account trail."""
    c = w.cfg
    if c.mode == "organization":
        return MGMT
    return rng.choice(c.trail_owners())


def pick_victim(w, rng, need_region=None):
    """An account with cells other than the management account (organization
    mode: a member with its own section, so the trail cell stays apart)."""
    c = w.cfg
    cands = [a for a in c.sections() if a in c.members or c.mode == "per-account"]
    if not cands and c.mode == "organization":
        # no member: the log archive account (organization mode expects it)
        cands = [a for a in c.expected_accounts() if a != MGMT]
    if need_region:
        cands = [a for a in cands if need_region in c.account_regions(a)]
    return rng.choice(cands) if cands else None


def _ct(w, who_acct, name):
    key = w.user(who_acct, name)
    return w.client("cloudtrail", key), "arn:aws:iam::%s:user/%s" % (who_acct, name)


def _trail_person(w, ctx, name="bob"):
    ct, arn = _ct(w, ctx.owner, name)
    ctx.who = arn
    return ct


def _policy_add(w, statement):
    """The break-glass role adds a statement to the central bucket policy."""
    s3 = w.client("s3", w.break_glass("mallory")[0])
    pol = json.loads(s3.get_bucket_policy(Bucket=w.cfg.bucket)["Policy"])
    pol["Statement"].append(statement)
    s3.put_bucket_policy(Bucket=w.cfg.bucket, Policy=json.dumps(pol))


def _trail_arn(w, ctx):
    return w.cfg.trail_arn(ctx.owner)


# --- the breaks -----------------------------------------------------------------------------

def b_trail_deleted(w, ctx, rng):
    ct = _trail_person(w, ctx, "mallory")
    ctx.when = w.now
    ct.delete_trail(Name=_trail_arn(w, ctx))


def b_trail_missing(w, ctx, rng):
    b_trail_deleted(w, ctx, rng)
    w.fa.post("age_events", account=ctx.owner, event_name="DeleteTrail", days=100)
    ctx.who = None


def b_trail_not_logging(w, ctx, rng):
    ct = _trail_person(w, ctx, "mallory")
    ctx.when = w.now
    ct.stop_logging(Name=_trail_arn(w, ctx))


b_trail_stopped_25h = b_trail_not_logging


def b_trail_region_not_covered(w, ctx, rng):
    ct = _trail_person(w, ctx)
    ctx.when = w.now
    ct.update_trail(Name=_trail_arn(w, ctx), IsMultiRegionTrail=False)


def b_delivery_error(w, ctx, rng):
    arn = _trail_arn(w, ctx)
    w.fa.post("set_delivery_fault", trail=arn, error="KMS.ThrottlingException", kind="both")
    ctx.fix_contains = []
    ctx.revert = lambda: w.fa.post("set_delivery_fault", trail=arn, error=None, kind="both")


def _empty_and_delete_bucket(w, s3, bucket):
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        objs = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        for i in range(0, len(objs), 1000):
            r = s3.delete_objects(Bucket=bucket, Delete={"Objects": objs[i:i + 1000], "Quiet": True})
            if r.get("Errors"):
                raise RuntimeError("DeleteObjects: %s" % r["Errors"][:3])
    when = w.now
    s3.delete_bucket(Bucket=bucket)
    return when


def b_bucket_missing(w, ctx, rng):
    sess, who = w.break_glass("mallory")
    ctx.when = _empty_and_delete_bucket(w, w.client("s3", sess), w.cfg.bucket)
    ctx.who, ctx.who_contains = who, True


def b_bucket_foreign_owner(w, ctx, rng):
    b_bucket_missing(w, ctx, rng)
    eve = w.fa.post("create_account", id="888888888888", name="Outsider", in_org=False)
    kw = {} if w.cfg.home == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": w.cfg.home}}
    w.client("s3", eve).create_bucket(Bucket=w.cfg.bucket, **kw)
    ctx.who = None


def b_bucket_wrong_region(w, ctx, rng):
    c = w.cfg
    sess, who = w.break_glass("mallory")
    s3 = w.client("s3", sess)
    policy = s3.get_bucket_policy(Bucket=c.bucket)["Policy"]
    _empty_and_delete_bucket(w, s3, c.bucket)
    other = rng.choice([r for r in REGION_POOL if r != c.home and r != "us-east-1"])
    s3o = w.client("s3", sess, region=other)
    ctx.when = w.now
    s3o.create_bucket(Bucket=c.bucket, CreateBucketConfiguration={"LocationConstraint": other})
    s3o.put_bucket_policy(Bucket=c.bucket, Policy=policy)
    ctx.who, ctx.who_contains = who, True
    ctx.note = "bucket recreated in %s" % other


def b_bucket_policy_deny_statement(w, ctx, rng):
    c = w.cfg
    sess, who = w.break_glass("mallory")
    s3 = w.client("s3", sess)
    pol = json.loads(s3.get_bucket_policy(Bucket=c.bucket)["Policy"])
    sid = "TemporaryDeny%s" % ctx.victim
    pol["Statement"].append({"Sid": sid, "Effect": "Deny",
                             "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
                             "Resource": "arn:aws:s3:::%s/%s*" % (c.bucket, c.log_prefix(ctx.victim))})
    ctx.when = w.now
    s3.put_bucket_policy(Bucket=c.bucket, Policy=json.dumps(pol))
    ctx.who, ctx.who_contains = who, True
    ctx.fix_contains = ["'%s'" % sid]

    def revert():
        s3 = w.client("s3", w.break_glass("mallory")[0])        # a new session: hours went by
        p = json.loads(s3.get_bucket_policy(Bucket=c.bucket)["Policy"])
        p["Statement"] = [s for s in p["Statement"] if s.get("Sid") != sid]
        s3.put_bucket_policy(Bucket=c.bucket, Policy=json.dumps(p))
    ctx.revert = revert


def b_bucket_policy_deleted(w, ctx, rng):
    sess, who = w.break_glass("mallory")
    ctx.when = w.now
    w.client("s3", sess).delete_bucket_policy(Bucket=w.cfg.bucket)
    ctx.who, ctx.who_contains = who, True


def _kms_person(w, ctx, name="mallory"):
    key = w.user(w.cfg.central, name)
    ctx.who = "arn:aws:iam::%s:user/%s" % (w.cfg.central, name)
    kms = w.client("kms", key)
    return kms, kms.describe_key(KeyId=w.cfg.kms_alias)["KeyMetadata"]


def b_kms_key_disabled(w, ctx, rng):
    kms, key = _kms_person(w, ctx)
    ctx.when = w.now
    kms.disable_key(KeyId=key["KeyId"])


def b_kms_key_pending_deletion(w, ctx, rng):
    kms, key = _kms_person(w, ctx)
    ctx.when = w.now
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)


b_kms_key_missing = b_kms_key_pending_deletion


def b_kms_key_wrong_region(w, ctx, rng):
    c = w.cfg
    kms, key = _kms_person(w, ctx)
    other = rng.choice([r for r in REGION_POOL if r != c.home])
    kms_o = w.client("kms", w.user(c.central, "mallory2"), region=other)
    pol = kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]
    arn = kms_o.create_key(Policy=pol, Description="a key in %s" % other)["KeyMetadata"]["Arn"]
    w.fa.post("force_trail_key", trail=_trail_arn(w, ctx), key_arn=arn)
    ctx.who = None
    ctx.note = "trail key forced to %s" % arn


def b_kms_key_changed(w, ctx, rng):
    kms, key = _kms_person(w, ctx)
    pol = kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]
    other = kms.create_key(Policy=pol, Description="another team's key")["KeyMetadata"]["Arn"]
    ct = _trail_person(w, ctx)
    ctx.when = w.now
    ct.update_trail(Name=_trail_arn(w, ctx), KmsKeyId=other)


def b_kms_policy_denies(w, ctx, rng):
    kms, key = _kms_person(w, ctx)
    pol = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    pol["Statement"] = [s for s in pol["Statement"] if "GenerateDataKey" not in json.dumps(s.get("Action"))]
    ctx.when = w.now
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(pol))


def b_bucket_changed(w, ctx, rng, readable=True):
    c = w.cfg
    key = w.user(ctx.owner, "bob")
    s3 = w.client("s3", key)
    b = "bob-%d-trail-logs" % c.seed
    kw = {} if c.home == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": c.home}}
    s3.create_bucket(Bucket=b, **kw)
    st = [{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
           "Action": ["s3:GetBucketAcl", "s3:PutObject"],
           "Resource": ["arn:aws:s3:::%s" % b, "arn:aws:s3:::%s/*" % b]}]
    if readable and c.central != ctx.owner:
        # the central account (which reads the logs) may read this bucket too
        st.append({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % c.central},
                   "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
                   "Resource": ["arn:aws:s3:::%s" % b, "arn:aws:s3:::%s/*" % b]})
    s3.put_bucket_policy(Bucket=b, Policy=json.dumps({"Version": "2012-10-17", "Statement": st}))
    # the trail's KMS key must let CloudTrail encrypt for any bucket: it does
    ct = _trail_person(w, ctx)
    ctx.when = w.now
    ct.update_trail(Name=_trail_arn(w, ctx), S3BucketName=b)


def b_bucket_changed_unreadable(w, ctx, rng):
    b_bucket_changed(w, ctx, rng, readable=False)


def _bg_s3(w):
    return w.client("s3", w.break_glass("mallory")[0])


def b_lifecycle_removed(w, ctx, rng):
    _bg_s3(w).delete_bucket_lifecycle(Bucket=w.cfg.bucket)


def b_versioning_suspended(w, ctx, rng):
    _bg_s3(w).put_bucket_versioning(Bucket=w.cfg.bucket, VersioningConfiguration={"Status": "Suspended"})


def b_public_access_block_removed(w, ctx, rng):
    _bg_s3(w).delete_public_access_block(Bucket=w.cfg.bucket)


def b_key_rotation_disabled(w, ctx, rng):
    kms, key = _kms_person(w, ctx)
    kms.disable_key_rotation(KeyId=key["KeyId"])


def b_prefix_changed(w, ctx, rng):
    c = w.cfg
    # a location change: no prefix -> "moved"; a prefix -> "moved" or none
    new = "moved" if not c.key_prefix or rng.random() < 0.5 else ""
    where = (new + "/") if new else ""
    _policy_add(w, {"Sid": "MovedLogs", "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
                    "Resource": "arn:aws:s3:::%s/%sAWSLogs/*" % (c.bucket, where)})
    ct = _trail_person(w, ctx)
    ctx.when = w.now
    ct.update_trail(Name=_trail_arn(w, ctx), S3KeyPrefix=new)
    ctx.note = "S3KeyPrefix %r -> %r" % (c.key_prefix, new)


def b_org_flag_off(w, ctx, rng):
    ct = _trail_person(w, ctx)
    ctx.when = w.now
    ct.update_trail(Name=_trail_arn(w, ctx), IsOrganizationTrail=False)


def b_org_flag_on(w, ctx, rng):
    c = w.cfg
    ctx.owner = ctx.victim = MGMT
    p = (c.key_prefix + "/") if c.key_prefix else ""
    _policy_add(w, {"Sid": "OrgTrialRun", "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
                    "Resource": "arn:aws:s3:::%s/%sAWSLogs/%s/*" % (c.bucket, p, c.org_id),
                    "Condition": {"StringEquals": {"aws:SourceArn": c.trail_arn(MGMT)}}})
    ct = _trail_person(w, ctx)
    ctx.when = w.now
    ct.update_trail(Name=c.trail_arn(MGMT), IsOrganizationTrail=True)


def _data_selector(c):
    return [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::%s/" % c.data_bucket]}] if c.data_bucket else []


def b_selectors_read_only(w, ctx, rng, rw="ReadOnly"):
    c = w.cfg
    ct = _trail_person(w, ctx, "mallory")
    ctx.when = w.now
    ct.put_event_selectors(TrailName=_trail_arn(w, ctx), EventSelectors=[
        {"ReadWriteType": rw, "IncludeManagementEvents": True, "DataResources": _data_selector(c)}])


def b_selectors_write_only(w, ctx, rng):
    b_selectors_read_only(w, ctx, rng, rw="WriteOnly")


def b_selectors_no_management(w, ctx, rng):
    c = w.cfg
    ct = _trail_person(w, ctx, "mallory")
    ctx.when = w.now
    target = c.data_bucket or "some-bucket"
    ct.put_event_selectors(TrailName=_trail_arn(w, ctx), AdvancedEventSelectors=[
        {"Name": "only data", "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
            {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::%s/" % target]}]}])


def b_selectors_data_removed(w, ctx, rng):
    ct = _trail_person(w, ctx, "mallory")
    ctx.when = w.now
    ct.put_event_selectors(TrailName=_trail_arn(w, ctx), AdvancedEventSelectors=[
        {"Name": "Management events", "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Management"]}]}])


def b_validation_off(w, ctx, rng):
    ct = _trail_person(w, ctx)
    ctx.when = w.now
    ct.update_trail(Name=_trail_arn(w, ctx), EnableLogFileValidation=False)


def b_global_events_off(w, ctx, rng):
    ct = _trail_person(w, ctx)
    ctx.when = w.now
    ct.update_trail(Name=_trail_arn(w, ctx), IncludeGlobalServiceEvents=False)


def b_global_events_duplicated(w, ctx, rng):
    c = w.cfg
    key = w.user(ctx.owner, "dave")
    s3 = w.client("s3", key)
    b = "dave-%d-own-trail" % c.seed
    kw = {} if c.home == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": c.home}}
    s3.create_bucket(Bucket=b, **kw)
    s3.put_bucket_policy(Bucket=b, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": ["s3:GetBucketAcl", "s3:PutObject"],
         "Resource": ["arn:aws:s3:::%s" % b, "arn:aws:s3:::%s/*" % b]}]}))
    ct = w.client("cloudtrail", key)
    ctx.who = "arn:aws:iam::%s:user/dave" % ctx.owner
    ctx.when = w.now
    ct.create_trail(Name="dave-extra", S3BucketName=b, IncludeGlobalServiceEvents=True)
    other = "arn:aws:cloudtrail:%s:%s:trail/dave-extra" % (c.home, ctx.owner)
    ctx.fix_contains = [other]
    ctx.revert = lambda: ct.delete_trail(Name=other)


def b_logs_deleted(w, ctx, rng):
    c = w.cfg
    acct, region = ctx.cell
    sess, who = w.break_glass("mallory")
    s3 = w.client("s3", sess)
    pre = "%sCloudTrail/%s/" % (c.log_prefix(acct), region)
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=c.bucket, Prefix=pre):
        keys += [o["Key"] for o in page.get("Contents", [])]
    for k in keys:
        s3.delete_object(Bucket=c.bucket, Key=k)
    ctx.note = "%d log files deleted under %s" % (len(keys), pre)
    if not keys:
        raise RuntimeError("no log files under %s" % pre)


def b_account_prefix_deleted(w, ctx, rng):
    c = w.cfg
    sess, who = w.break_glass("mallory")
    s3 = w.client("s3", sess)
    pre = c.log_prefix(ctx.victim)
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=c.bucket, Prefix=pre):
        keys += [o["Key"] for o in page.get("Contents", [])]
    for i in range(0, len(keys), 1000):
        r = s3.delete_objects(Bucket=c.bucket, Delete={"Objects": [{"Key": k} for k in keys[i:i + 1000]],
                                                       "Quiet": True})
        if r.get("Errors"):
            raise RuntimeError("DeleteObjects: %s" % r["Errors"][:3])
    ctx.note = "%d objects deleted under %s" % (len(keys), pre)
    if not keys:
        raise RuntimeError("no objects under %s" % pre)


def b_region_no_logs(w, ctx, rng):
    c = w.cfg
    ctx.cell = (ctx.victim, NO_LOGS_REGION)
    ctx.config_text = c.ini(extra_regions={ctx.victim: [NO_LOGS_REGION]})
    ctx.revert = lambda: w.write_config()


def b_region_not_enabled(w, ctx, rng):
    carol = w.user(ctx.victim, "carol")
    ctx.who = "arn:aws:iam::%s:user/carol" % ctx.victim
    ctx.when = w.now
    st, r = account_call(w, carol, "/disableRegion", {"RegionName": OPT_IN})
    if st != 200:
        raise RuntimeError("DisableRegion: %s %s" % (st, r))

    def revert():
        st, r = account_call(w, carol, "/enableRegion", {"RegionName": OPT_IN})
        if st != 200:
            raise RuntimeError("EnableRegion: %s %s" % (st, r))
        w.advance(300)          # ENABLING -> ENABLED at the next advance
    ctx.revert = revert


def b_unknown_account_logs(w, ctx, rng):
    c = w.cfg
    p = (c.key_prefix + "/") if c.key_prefix else ""
    org = (c.org_id + "/") if c.mode == "organization" else ""
    d = w.now[:10].replace("-", "/")
    stamp = w.now.replace("-", "").replace(":", "")[:13] + "Z"
    key = "%sAWSLogs/%s%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_abcdefghijklmnop.json.gz" % (
        p, org, UNKNOWN_ACCOUNT, c.home, d, UNKNOWN_ACCOUNT, c.home, stamp)
    import gzip
    body = gzip.compress(json.dumps({"Records": []}).encode(), mtime=0)
    sess, who = w.break_glass("mallory")
    s3 = w.client("s3", sess)
    s3.put_object(Bucket=c.bucket, Key=key, Body=body)
    ctx.note = "s3://%s/%s" % (c.bucket, key)
    ctx.revert = lambda: w.client("s3", w.break_glass("mallory")[0]).delete_object(Bucket=c.bucket, Key=key)


def _orgs(w, key):
    return w.client("organizations", key, region="us-east-1")


def _rejoin(w, acct):
    """The account is invited back and accepts (the fake's org_membership:
    no handshake)."""
    return lambda: w.fa.post("org_membership", account=acct, member=True, status="ACTIVE")


def b_account_left_org(w, ctx, rng):
    key = w.user(ctx.victim, "erin")
    ctx.who = "arn:aws:iam::%s:user/erin" % ctx.victim
    ctx.when = w.now
    _orgs(w, key).leave_organization()
    ctx.revert = _rejoin(w, ctx.victim)


def b_account_removed_from_org(w, ctx, rng):
    key = w.user(MGMT, "frank")
    ctx.who = "arn:aws:iam::%s:user/frank" % MGMT
    ctx.when = w.now
    _orgs(w, key).remove_account_from_organization(AccountId=ctx.victim)
    ctx.revert = _rejoin(w, ctx.victim)


def b_account_suspended(w, ctx, rng):
    w.fa.post("org_membership", account=ctx.victim, status="SUSPENDED")
    ctx.revert = _rejoin(w, ctx.victim)


NEW_MEMBER = "100000000099"


def b_member_unconfigured(w, ctx, rng):
    """A new account joins the organization; nobody adds it to the config.
    The fix: [organization] exclude_accounts (README "Configuration")."""
    w.fa.post("create_account", id=NEW_MEMBER, name="New Member", in_org=True)
    ctx.labels = {NEW_MEMBER: "new-member"}
    text = w.cfg.ini().replace("[central]", "exclude_accounts = %s\n\n[central]" % NEW_MEMBER, 1)
    ctx.revert = lambda: w.write_config(text)


def b_trusted_access_off(w, ctx, rng):
    key = w.user(MGMT, "frank")
    ctx.who = "arn:aws:iam::%s:user/frank" % MGMT
    ctx.when = w.now
    _orgs(w, key).disable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")


# --- [monitoring] (README "Monitoring" and doctor's monitoring causes) ------------------------
# Made in the monitoring account (organization: the management account;
# per-account: the broken trail's owner) by its user mallory, in home_region.

CW_ROLE = "trailkeep-cloudtrail-to-cloudwatch-logs"
ALARMS = {"tampering": "trailkeep-cloudtrail-changes", "unauthorized": "trailkeep-unauthorized-calls",
          "root": "trailkeep-root-activity"}


def _mon_person(w, ctx, service):
    key = w.user(ctx.owner, "mallory")
    ctx.who = "arn:aws:iam::%s:user/mallory" % ctx.owner
    ctx.when = w.now
    # IAM is global: signed for us-east-1 whatever the home region
    return w.client(service, key, region="us-east-1" if service == "iam" else None)


def b_mon_cloudwatch_cleared(w, ctx, rng):
    _mon_person(w, ctx, "cloudtrail").update_trail(
        Name=_trail_arn(w, ctx), CloudWatchLogsLogGroupArn="", CloudWatchLogsRoleArn="")


def b_mon_log_group_deleted(w, ctx, rng):
    _mon_person(w, ctx, "logs").delete_log_group(logGroupName=w.cfg.log_group())


def b_mon_role_untrusted(w, ctx, rng):
    _mon_person(w, ctx, "iam").update_assume_role_policy(RoleName=CW_ROLE, PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))


def b_mon_role_policy_deleted(w, ctx, rng):
    iam = _mon_person(w, ctx, "iam")
    for name in iam.list_role_policies(RoleName=CW_ROLE)["PolicyNames"]:
        iam.delete_role_policy(RoleName=CW_ROLE, PolicyName=name)


def b_mon_role_deleted(w, ctx, rng):
    iam = _mon_person(w, ctx, "iam")
    for name in iam.list_role_policies(RoleName=CW_ROLE)["PolicyNames"]:
        iam.delete_role_policy(RoleName=CW_ROLE, PolicyName=name)
    ctx.when = w.now
    iam.delete_role(RoleName=CW_ROLE)


def _an_alarm(w, rng):
    return ALARMS[rng.choice(sorted(a for a in w.cfg.alarm_sets() if a in ALARMS))]


def b_mon_alarm_deleted(w, ctx, rng):
    name = _an_alarm(w, rng)
    ctx.note = name
    _mon_person(w, ctx, "cloudwatch").delete_alarms(AlarmNames=[name])


def b_mon_alarm_action_removed(w, ctx, rng):
    name = _an_alarm(w, rng)
    ctx.note = name
    cw = _mon_person(w, ctx, "cloudwatch")
    a = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    cw.put_metric_alarm(AlarmName=name, MetricName=a["MetricName"], Namespace=a["Namespace"],
                        Statistic=a["Statistic"], Period=a["Period"], EvaluationPeriods=a["EvaluationPeriods"],
                        Threshold=a["Threshold"], ComparisonOperator=a["ComparisonOperator"],
                        TreatMissingData=a.get("TreatMissingData", "notBreaching"), AlarmActions=[])


def b_mon_metric_filter_deleted(w, ctx, rng):
    name = _an_alarm(w, rng)
    ctx.note = name
    _mon_person(w, ctx, "logs").delete_metric_filter(logGroupName=w.cfg.log_group(), filterName=name)


def b_mon_metric_filter_changed(w, ctx, rng):
    """The filter of one alarm with another pattern (the alarm then watches other events)."""
    name = _an_alarm(w, rng)
    ctx.note = name
    logs = _mon_person(w, ctx, "logs")
    f = [x for x in logs.describe_metric_filters(logGroupName=w.cfg.log_group())["metricFilters"]
         if x["filterName"] == name][0]
    logs.put_metric_filter(logGroupName=w.cfg.log_group(), filterName=name,
                           filterPattern='{ $.eventName = "NothingEverHappens" }',
                           metricTransformations=f["metricTransformations"])


def b_mon_topic_deleted(w, ctx, rng):
    _mon_person(w, ctx, "sns").delete_topic(TopicArn=w.cfg.topic_arn(ctx.owner))


def b_mon_topic_policy_denies(w, ctx, rng):
    """The topic policy without CloudWatch's statement: alarms fire into nothing."""
    topic = w.cfg.topic_arn(ctx.owner)
    sns = _mon_person(w, ctx, "sns")
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Sid": "OwnerOnly", "Effect": "Allow",
                                                "Principal": {"AWS": "arn:aws:iam::%s:root" % ctx.owner},
                                                "Action": "SNS:Publish", "Resource": topic}]}))


def _topic_key(w, ctx, kms):
    return kms.describe_key(KeyId=w.cfg.mon("topic_key", "alias/trailkeep-alarms"))["KeyMetadata"]["KeyId"]


def b_mon_topic_key_disabled(w, ctx, rng):
    kms = _mon_person(w, ctx, "kms")
    kid = _topic_key(w, ctx, kms)
    ctx.when = w.now
    kms.disable_key(KeyId=kid)
    ctx.revert = lambda: w.client("kms", w.user(ctx.owner, "carol")).enable_key(KeyId=kid)


def b_mon_topic_key_policy(w, ctx, rng):
    """The topic key's policy without the statement for CloudWatch."""
    kms = _mon_person(w, ctx, "kms")
    kid = _topic_key(w, ctx, kms)
    pol = json.loads(kms.get_key_policy(KeyId=kid, PolicyName="default")["Policy"])
    pol["Statement"] = [st for st in pol["Statement"]
                        if "cloudwatch.amazonaws.com" not in json.dumps(st.get("Principal", {}))]
    ctx.when = w.now
    kms.put_key_policy(KeyId=kid, PolicyName="default", Policy=json.dumps(pol))


def b_mon_unsubscribed(w, ctx, rng):
    """The configured subscriber's subscription is removed."""
    sns = _mon_person(w, ctx, "sns")
    subs = sns.list_subscriptions_by_topic(TopicArn=w.cfg.topic_arn(ctx.owner))["Subscriptions"]
    ctx.when = w.now
    for sub in subs:
        sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])


def b_mon_access_logging_off(w, ctx, rng):
    sess, who = w.break_glass("mallory")
    ctx.when = w.now
    w.client("s3", sess).put_bucket_logging(Bucket=w.cfg.bucket, BucketLoggingStatus={})
    ctx.who, ctx.who_contains = who, True


def b_mon_access_log_policy_deleted(w, ctx, rng):
    key = w.user(w.cfg.central, "mallory")
    ctx.who = "arn:aws:iam::%s:user/mallory" % w.cfg.central
    ctx.when = w.now
    w.client("s3", key).delete_bucket_policy(Bucket=w.cfg.access_bucket)


def pending_reason(w, name):
    """Why a break cannot be built in this fake yet (None: it can)."""
    need = {"account_left_org": "LeaveOrganization", "account_removed_from_org":
            "RemoveAccountFromOrganization", "trusted_access_off": "DisableAWSServiceAccess"}
    import importlib
    orgs = importlib.import_module("tests.fakeaws.orgs")
    if name in need and need[name] not in getattr(orgs, "OPS", {}):
        return "the fake AWS has no Organizations %s yet (helper h5org is adding it)" % need[name]
    if name in ("account_suspended", "member_unconfigured") and not hasattr(orgs, "c_org_membership"):
        return "the fake AWS has no org_membership control op yet (helper h5org is adding it)"
    return None


def make(w, name, rng):
    """Make break name in world w; returns its Ctx."""
    c = w.cfg
    owner = pick_owner(w, rng)
    ctx = Ctx(owner)
    if name in ("bucket_policy_deny_statement", "account_left_org", "account_removed_from_org",
                "account_suspended"):
        ctx.victim = pick_victim(w, rng) if c.mode == "organization" else rng.choice(c.sections())
        if name.startswith("account_") and ctx.victim not in c.members:
            ctx.victim = rng.choice(c.members)
    elif name in ("region_no_logs", "account_prefix_deleted"):
        ctx.victim = pick_victim(w, rng) or rng.choice(c.sections())
    elif name == "region_not_enabled":
        ctx.victim = pick_victim(w, rng, need_region=OPT_IN) or \
            rng.choice([a for a in c.expected_accounts() if OPT_IN in c.account_regions(a)])
        ctx.cell = (ctx.victim, OPT_IN)
    elif name == "logs_deleted":
        v = pick_victim(w, rng) or rng.choice(c.expected_accounts())
        ctx.victim = v
        ctx.cell = (v, rng.choice(c.account_regions(v)))
    if name == "bucket_changed_unreadable" and c.mode == "per-account":
        ctx.owner = rng.choice([a for a in c.trail_owners() if a != c.central])
    if c.mode == "per-account" and ctx.victim and name in ("bucket_policy_deny_statement",):
        ctx.owner = ctx.victim
    globals()["b_" + name](w, ctx, rng)
    return ctx
