"""CloudTrail API of the fake AWS (JSON 1.1, CloudTrail_20131101) - Engineer B.

server.py calls handle(world, ctx, operation, body) with world.lock held; it
returns (status, dict) or raises AwsError.  Trails live in world.trails keyed by
trail ARN; delivery.py simulates what a logging trail writes to S3.

Differences from AWS are listed in README.md ("CloudTrail").
"""

import json
import re
from dataclasses import dataclass, field
from typing import Optional

from . import delivery
from .errors import AwsError
from .world import PARTITION, iso8601

MAX_TRAILS_PER_REGION = 5
MAX_BASIC_SELECTORS = 5
MAX_DATA_RESOURCES = 250
MAX_LOOKUP_RESULTS = 50
ADV_FIELDS = {"eventCategory", "eventSource", "eventName", "eventType", "readOnly",
              "resources.type", "resources.ARN", "errorCode", "userIdentity.arn",
              "sessionCredentialFromConsole", "vpcEndpointId"}
ADV_OPS = {"Equals", "NotEquals", "StartsWith", "NotStartsWith", "EndsWith", "NotEndsWith"}


@dataclass
class Trail:
    name: str
    account: str
    home_region: str
    bucket: str
    prefix: Optional[str] = None
    sns_topic: Optional[str] = None
    include_global: bool = True
    multi_region: bool = False
    validation: bool = False
    kms_key_id: Optional[str] = None        # as the caller gave it
    kms_key_arn: Optional[str] = None       # resolved key ARN
    org: bool = False
    cw_log_group: Optional[str] = None
    cw_role: Optional[str] = None
    cw_delivery_time: Optional[float] = None     # LatestCloudWatchLogsDeliveryTime (logs.py)
    cw_delivery_error: Optional[str] = None      # LatestCloudWatchLogsDeliveryError
    tags: dict = field(default_factory=dict)
    created: float = 0.0
    logging: bool = False
    start_logging_time: Optional[float] = None
    stop_logging_time: Optional[float] = None
    latest_delivery_time: Optional[float] = None
    latest_delivery_error: Optional[str] = None
    latest_digest_delivery_time: Optional[float] = None
    latest_digest_delivery_error: Optional[str] = None
    latest_notification_time: Optional[float] = None
    event_selectors: Optional[list] = None       # None: default (all management events)
    advanced_selectors: Optional[list] = None
    # delivery state (delivery.py)
    chains: dict = field(default_factory=dict)    # (acct, region) -> chain state
    chain_epoch: Optional[float] = None           # when the current digest chains started
    dest_errors: dict = field(default_factory=dict)
    # stopped: the events recorded up to this time (its own StopLogging call
    # included) still go to CloudWatch Logs at the next tick (delivery.py)
    final_cw_until: Optional[float] = None

    @property
    def arn(self):
        return "arn:%s:cloudtrail:%s:%s:trail/%s" % (PARTITION, self.home_region, self.account,
                                                     self.name)


def _err(code, msg):
    return AwsError(code, msg, 400)


# --- validation --------------------------------------------------------------------

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$")
_IP_RE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_ARN_RE = re.compile(r"^arn:[^:]+:cloudtrail:([^:]+):(\d{12}):trail/(.+)$")


def check_name(name):
    if not isinstance(name, str) or not name:
        raise _err("InvalidTrailNameException", "Trail name cannot be blank.")
    if len(name) < 3:
        raise _err("InvalidTrailNameException", "Trail name too short. Minimum allowed length: 3 characters. Specified name length: %d characters." % len(name))
    if len(name) > 128:
        raise _err("InvalidTrailNameException", "Trail name too long. Maximum allowed length: 128 characters. Specified name length: %d characters." % len(name))
    if not _NAME_RE.match(name) or re.search(r"[._-]{2}", name) or _IP_RE.match(name):
        raise _err("InvalidTrailNameException",
                   "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, "
                   "periods (.), hyphens (-), and underscores (_).")


def _bool(body, key, default):
    v = body.get(key)
    if v is None:
        return default
    if not isinstance(v, bool):
        raise _err("InvalidParameterException", "%s must be a boolean" % key)
    return v


def _not_found(ctx, ref):
    return _err("TrailNotFoundException", "Unknown trail: %s for the user: %s" % (
        ref if ref.startswith("arn:") else "arn:%s:cloudtrail:%s:%s:trail/%s" % (
            PARTITION, ctx.region, ctx.account, ref), ctx.account))


def visible(world, ctx, t):
    """May the caller see trail t (its own, or an org trail of its organization)?"""
    if t.account == ctx.account:
        return True
    if t.org and world.org is not None and world.org.management_account == t.account:
        return ctx.account in world.org.members
    return False


def in_region(t, region):
    return t.home_region == region or t.multi_region


def find(world, ctx, ref, modify=False):
    """The trail named by ref (name: the caller's trail in this region; ARN: any
    trail the caller can see).  modify: the caller must own it and be in its home
    region."""
    if not isinstance(ref, str) or not ref:
        raise _err("InvalidTrailNameException", "Trail name cannot be blank.")
    if ref.startswith("arn:"):
        m = _ARN_RE.match(ref)
        if not m:
            raise _err("CloudTrailARNInvalidException",
                       "Invalid ARN: %s" % ref)
        t = world.trails.get(ref)
        if t is None or not visible(world, ctx, t):
            raise _not_found(ctx, ref)
        if not modify and not in_region(t, ctx.region):
            raise _not_found(ctx, ref)
    else:
        check_name(ref)
        t = None
        for x in world.trails.values():
            if x.name == ref and x.account == ctx.account and x.home_region == ctx.region:
                t = x
                break
        if t is None:
            # a name never finds a shadow trail (AWS wants its ARN); a
            # modifying call by name in a region where the caller's
            # multi-region trail is a shadow is told to use the home region
            if modify:
                for x in world.trails.values():
                    if x.name == ref and x.account == ctx.account and in_region(x, ctx.region):
                        raise _err("InvalidHomeRegionException",
                                   "This operation must be called from the trail's home region (%s)."
                                   % x.home_region)
            raise _not_found(ctx, ref)
    if modify:
        if t.account != ctx.account:
            if t.org:
                raise _err("NotOrganizationMasterAccountException",
                           "The request was rejected because the current account is not the "
                           "management account of the organization that owns the trail.")
            raise _not_found(ctx, ref)
        if t.home_region != ctx.region:
            raise _err("InvalidHomeRegionException",
                       "This operation must be called from the trail's home region (%s)."
                       % t.home_region)
    return t


def trail_doc(t):
    d = {"Name": t.name, "S3BucketName": t.bucket}
    if t.prefix:
        d["S3KeyPrefix"] = t.prefix
    if t.sns_topic:
        d["SnsTopicName"] = t.sns_topic
        d["SnsTopicARN"] = "arn:%s:sns:%s:%s:%s" % (PARTITION, t.home_region, t.account, t.sns_topic)
    d.update({"IncludeGlobalServiceEvents": t.include_global,
              "IsMultiRegionTrail": t.multi_region,
              "HomeRegion": t.home_region,
              "TrailARN": t.arn,
              "LogFileValidationEnabled": t.validation})
    if t.cw_log_group:
        d["CloudWatchLogsLogGroupArn"] = t.cw_log_group
    if t.cw_role:
        d["CloudWatchLogsRoleArn"] = t.cw_role
    if t.kms_key_arn:
        d["KmsKeyId"] = t.kms_key_arn
    d.update({"HasCustomEventSelectors": bool(t.event_selectors or t.advanced_selectors),
              "HasInsightSelectors": False,
              "IsOrganizationTrail": t.org})
    return d


def create_doc(t):
    d = trail_doc(t)
    d.pop("HomeRegion", None)
    d.pop("HasCustomEventSelectors", None)
    d.pop("HasInsightSelectors", None)
    return d


# --- pre-flight checks -------------------------------------------------------------

def _org_checks(world, ctx):
    o = world.org
    if o is None or ctx.account not in o.members:
        raise _err("OrganizationsNotInUseException",
                   "This account is not a member of an organization.")
    admins = o.delegated_admins.get("cloudtrail.amazonaws.com", set())
    if ctx.account != o.management_account and ctx.account not in admins:
        raise _err("NotOrganizationMasterAccountException",
                   "The request was rejected because the current account is not the management "
                   "account or a delegated administrator of the organization.")
    if o.feature_set != "ALL":
        raise _err("OrganizationNotInAllFeaturesModeException",
                   "This operation requires that all features are enabled in the organization.")
    if "cloudtrail.amazonaws.com" not in o.trusted_services:
        raise _err("CloudTrailAccessNotEnabledException",
                   "Trusted access for CloudTrail is not enabled in AWS Organizations.")


def preflight(world, ctx, t):
    """What CloudTrail checks at CreateTrail/UpdateTrail time."""
    b = world.buckets.get(t.bucket)
    if b is None:
        raise _err("S3BucketDoesNotExistException", "S3 bucket %s does not exist." % t.bucket)
    # the test write: the folders this trail will write
    tests = [delivery.base_prefix(world, t, t.account)]
    if t.org and world.org is not None:
        p = (t.prefix + "/") if t.prefix else ""
        tests.append("%sAWSLogs/%s/" % (p, t.account))
    ctxd = {"aws:SourceArn": t.arn, "aws:SourceAccount": t.account}
    ok, _why = world.bucket_policy_allows(t.bucket, delivery.SERVICE, "s3:GetBucketAcl",
                                          "arn:%s:s3:::%s" % (PARTITION, t.bucket), ctxd)
    if ok:
        for pre in tests:
            ok, _why = world.bucket_policy_allows(
                t.bucket, delivery.SERVICE, "s3:PutObject",
                "arn:%s:s3:::%s/%sCloudTrail/%s/cloudtrail-write-check" % (
                    PARTITION, t.bucket, pre, t.home_region),
                dict(ctxd, **{"s3:x-amz-acl": "bucket-owner-full-control"}))
            if not ok:
                break
    if not ok:
        raise _err("InsufficientS3BucketPolicyException",
                   "Incorrect S3 bucket policy is detected for bucket: %s" % t.bucket)
    if t.kms_key_arn:
        kid = t.kms_key_arn.rsplit("/", 1)[-1]
        k = world.keys.get(kid)
        if k is None:
            raise _err("KmsKeyNotFoundException", "KMS key does not exist: %s" % t.kms_key_id)
        if k.region != t.home_region or k.region != b.region:
            raise _err("KmsKeyNotFoundException",
                       "KMS key %s is not in the same region as the trail and the bucket."
                       % t.kms_key_id)
        if k.state != "Enabled":
            raise _err("KmsException", "KMS key %s is %s." % (
                k.arn, "disabled" if k.state == "Disabled" else "pending deletion"))
        err = delivery.kms_error(world, t)
        if err:
            raise _err("InsufficientEncryptionPolicyException",
                       "Insufficient permissions to access S3 bucket %s or KMS key %s."
                       % (t.bucket, k.arn))


def cloudwatch_preflight(world, t):
    """What CloudTrail checks when CloudWatchLogsLogGroupArn/RoleArn are set:
    the group (home region, owner account) exists, the role exists and trusts
    CloudTrail (aws:SourceArn/aws:SourceAccount of the trail), and the role may
    create and write the owner's home-region stream."""
    from . import logs
    if not t.cw_log_group:
        return
    loc = logs.parse_group_arn(t.cw_log_group)
    if loc is None or loc[0] != t.home_region or loc[1] != t.account \
            or logs.find_group(world, loc[1], loc[0], loc[2]) is None:
        raise _err("InvalidCloudWatchLogsLogGroupArnException",
                   "Invalid CloudWatch Logs log group ARN: %s" % t.cw_log_group)
    role = world.find_role(t.cw_role)
    if role is None:
        raise _err("InvalidCloudWatchLogsRoleArnException",
                   "Invalid CloudWatch Logs role ARN: %s" % t.cw_role)
    err = logs.cloudtrail_access(world, t, logs.stream_name(world, t, t.account, t.home_region))
    if err is not None:
        raise _err("InvalidCloudWatchLogsLogGroupArnException",
                   "Access denied. Verify in IAM that the role has adequate permissions.")


def _resolve_kms(world, ctx, ref):
    if ref is None:
        return None
    if not isinstance(ref, str):
        raise _err("InvalidKmsKeyIdException", "KMS key id must be a string.")
    if ref == "":
        return ""
    if not (ref.startswith("arn:") or ref.startswith("alias/") or re.match(r"^[0-9a-fA-F-]{36}$", ref)
            or re.match(r"^mrk-[0-9a-f]{32}$", ref)):
        raise _err("InvalidKmsKeyIdException", "Invalid KmsKeyId: %s" % ref)
    k = world.resolve_key(ctx.account, ctx.region, ref)
    if k is None:
        raise _err("KmsKeyNotFoundException", "KMS key does not exist: %s" % ref)
    return k.arn


def _apply_settings(world, ctx, t, body, creating):
    if "S3BucketName" in body:
        bname = body["S3BucketName"]
        if not isinstance(bname, str) or not re.match(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", bname):
            raise _err("InvalidS3BucketNameException", "Bucket name is not valid: %s" % bname)
        t.bucket = bname
    if "S3KeyPrefix" in body:
        p = body["S3KeyPrefix"]
        if p is not None and (not isinstance(p, str) or len(p) > 200):
            raise _err("InvalidS3PrefixException", "Prefix is too long (maximum 200 characters).")
        t.prefix = p or None
    if "SnsTopicName" in body:
        t.sns_topic = body["SnsTopicName"] or None
    t.include_global = _bool(body, "IncludeGlobalServiceEvents", t.include_global)
    t.multi_region = _bool(body, "IsMultiRegionTrail", t.multi_region)
    was_validating = t.validation
    t.validation = _bool(body, "EnableLogFileValidation", t.validation)
    t.org = _bool(body, "IsOrganizationTrail", t.org)
    if "CloudWatchLogsLogGroupArn" in body:
        g = body["CloudWatchLogsLogGroupArn"] or None
        if g is not None and not g.endswith(":*"):
            g += ":*"                   # CloudTrail stores the group ARN with ':*'
        t.cw_log_group = g
    if "CloudWatchLogsRoleArn" in body:
        t.cw_role = body["CloudWatchLogsRoleArn"] or None
    if not t.cw_log_group:
        t.cw_delivery_time = t.cw_delivery_error = None
    if bool(t.cw_log_group) != bool(t.cw_role):
        raise _err("InvalidCloudWatchLogsLogGroupArnException" if not t.cw_log_group
                   else "InvalidCloudWatchLogsRoleArnException",
                   "You must specify both a CloudWatch Logs log group ARN and a role ARN.")
    if "KmsKeyId" in body:
        arn = _resolve_kms(world, ctx, body["KmsKeyId"])
        t.kms_key_id = body["KmsKeyId"] or None
        t.kms_key_arn = arn or None
    if t.multi_region and not t.include_global:
        raise _err("InvalidParameterCombinationException",
                   "Multi-Region trail must include global service events.")
    if t.org:
        _org_checks(world, ctx)
    return was_validating


def _count_in_region(world, account, region):
    return sum(1 for x in world.trails.values() if x.account == account and in_region(x, region))


# --- operations --------------------------------------------------------------------

def op_create_trail(world, ctx, body):
    name = body.get("Name")
    check_name(name)
    if not body.get("S3BucketName"):
        raise _err("InvalidParameterException", "S3BucketName is required.")
    for x in world.trails.values():
        if x.name == name and x.account == ctx.account and x.home_region == ctx.region:
            raise _err("TrailAlreadyExistsException",
                       "Trail %s already exists for customer: %s" % (name, ctx.account))
    t = Trail(name=name, account=ctx.account, home_region=ctx.region, bucket="", created=world.now)
    _apply_settings(world, ctx, t, body, True)
    if _count_in_region(world, ctx.account, ctx.region) >= MAX_TRAILS_PER_REGION or (
            t.multi_region and any(_count_in_region(world, ctx.account, r) >= MAX_TRAILS_PER_REGION
                                   for r in delivery.regions(world))):
        raise _err("MaximumNumberOfTrailsExceededException",
                   "User: %s already has %d trails in %s." % (ctx.account, MAX_TRAILS_PER_REGION,
                                                               ctx.region))
    tags = body.get("TagsList") or []
    if len(tags) > 50:
        raise _err("TagsLimitExceededException", "The number of tags is limited to 50.")
    for tg in tags:
        if not isinstance(tg, dict) or not tg.get("Key"):
            raise _err("InvalidTagParameterException", "Tag keys must not be empty.")
        t.tags[tg["Key"]] = tg.get("Value", "")
    preflight(world, ctx, t)
    cloudwatch_preflight(world, t)
    world.trails[t.arn] = t
    return create_doc(t)


def op_update_trail(world, ctx, body):
    t = find(world, ctx, body.get("Name"), modify=True)
    import copy
    new = copy.copy(t)
    new.tags = dict(t.tags)
    was_validating = _apply_settings(world, ctx, new, body, False)
    if any(k in body for k in ("S3BucketName", "S3KeyPrefix", "KmsKeyId", "IsOrganizationTrail")):
        preflight(world, ctx, new)
    if body.get("CloudWatchLogsLogGroupArn") or body.get("CloudWatchLogsRoleArn"):
        cloudwatch_preflight(world, new)
    # validation toggled while logging: the chains restart
    if t.logging and was_validating and not new.validation:
        delivery.stop_chains(world, t)
        new.chains, new.chain_epoch = t.chains, t.chain_epoch
    elif t.logging and not was_validating and new.validation:
        delivery.start_chains(world, new)
    t.__dict__.update(new.__dict__)
    return create_doc(t)


def op_describe_trails(world, ctx, body):
    names = body.get("trailNameList") or []
    shadow = body.get("includeShadowTrails", True)
    out = []
    if names:
        for ref in names:
            if not isinstance(ref, str):
                continue
            if ref.startswith("arn:"):
                if not _ARN_RE.match(ref):
                    raise _err("CloudTrailARNInvalidException", "Invalid ARN: %s" % ref)
                t = world.trails.get(ref)
                if t is not None and visible(world, ctx, t):
                    out.append(t)
            else:
                check_name(ref)
                for t in world.trails.values():
                    if t.name == ref and t.account == ctx.account and t.home_region == ctx.region:
                        out.append(t)
    else:
        for arn in sorted(world.trails):
            t = world.trails[arn]
            if not visible(world, ctx, t) or not in_region(t, ctx.region):
                continue
            home = t.account == ctx.account and t.home_region == ctx.region
            if home or shadow:
                out.append(t)
    return {"trailList": [trail_doc(t) for t in out]}


def op_get_trail(world, ctx, body):
    return {"Trail": trail_doc(find(world, ctx, body.get("Name")))}


def op_list_trails(world, ctx, body):
    out = []
    for arn in sorted(world.trails):
        t = world.trails[arn]
        if visible(world, ctx, t) and in_region(t, ctx.region):
            out.append({"TrailARN": t.arn, "Name": t.name, "HomeRegion": t.home_region})
    return {"Trails": out}


def op_get_trail_status(world, ctx, body):
    t = find(world, ctx, body.get("Name"))
    d = {"IsLogging": t.logging}
    for k, v in (("LatestDeliveryError", t.latest_delivery_error),
                 ("LatestDeliveryTime", t.latest_delivery_time),
                 ("LatestNotificationTime", t.latest_notification_time if t.sns_topic else None),
                 ("StartLoggingTime", t.start_logging_time),
                 ("StopLoggingTime", t.stop_logging_time),
                 ("LatestDigestDeliveryTime", t.latest_digest_delivery_time),
                 ("LatestDigestDeliveryError", t.latest_digest_delivery_error)):
        if v is not None:
            d[k] = int(v) if isinstance(v, float) else v
    if t.start_logging_time is not None:
        d["TimeLoggingStarted"] = iso8601(t.start_logging_time)
    if t.stop_logging_time is not None:
        d["TimeLoggingStopped"] = iso8601(t.stop_logging_time)
    if t.latest_delivery_time is not None:
        d["LatestDeliveryAttemptSucceeded"] = iso8601(t.latest_delivery_time)
    if t.cw_log_group:
        if getattr(t, "cw_delivery_time", None) is not None:
            d["LatestCloudWatchLogsDeliveryTime"] = int(t.cw_delivery_time)
        if getattr(t, "cw_delivery_error", None):
            d["LatestCloudWatchLogsDeliveryError"] = t.cw_delivery_error
    return d


def start_logging(world, t):
    if t.logging:
        return
    t.logging = True
    t.start_logging_time = float(world.now)
    t.final_cw_until = None          # the next tick delivers everything anyway
    if t.validation:
        delivery.start_chains(world, t)


def stop_logging(world, t):
    if not t.logging:
        return
    delivery.stop_chains(world, t)
    t.logging = False
    t.stop_logging_time = float(world.now)
    # AWS delivers the stopped trail's own StopLogging event (logging stops
    # after it): the next tick sends what was recorded until now to CloudWatch
    # Logs, so an alarm on StopLogging fires.  (Not to S3: the final digest
    # was just written; see README "Monitoring services".)
    t.final_cw_until = float(world.now) if t.cw_log_group else None


def op_start_logging(world, ctx, body):
    start_logging(world, find(world, ctx, body.get("Name"), modify=True))
    return {}


def op_stop_logging(world, ctx, body):
    stop_logging(world, find(world, ctx, body.get("Name"), modify=True))
    return {}


def op_delete_trail(world, ctx, body):
    t = find(world, ctx, body.get("Name"), modify=True)
    stop_logging(world, t)
    del world.trails[t.arn]
    return {}


def _check_basic(sels):
    if not isinstance(sels, list) or len(sels) > MAX_BASIC_SELECTORS or not sels:
        raise _err("InvalidEventSelectorsException",
                   "You can specify between 1 and 5 event selectors.")
    n = 0
    out = []
    for s in sels:
        if not isinstance(s, dict):
            raise _err("InvalidEventSelectorsException", "An event selector must be an object.")
        rw = s.get("ReadWriteType", "All")
        if rw not in ("All", "ReadOnly", "WriteOnly"):
            raise _err("InvalidEventSelectorsException", "Invalid ReadWriteType: %s" % rw)
        drs = s.get("DataResources") or []
        for dr in drs:
            if dr.get("Type") not in ("AWS::S3::Object", "AWS::Lambda::Function",
                                      "AWS::DynamoDB::Table"):
                raise _err("InvalidEventSelectorsException",
                           "Invalid data resource type: %s" % dr.get("Type"))
            vals = dr.get("Values") or []
            for v in vals:
                if dr["Type"] == "AWS::S3::Object" and not (
                        v in ("arn:aws:s3", "arn:aws:s3:::") or v.startswith("arn:aws:s3:::")):
                    raise _err("InvalidEventSelectorsException", "Invalid S3 ARN: %s" % v)
            n += len(vals)
        out.append({"ReadWriteType": rw,
                    "IncludeManagementEvents": s.get("IncludeManagementEvents", True),
                    "DataResources": drs,
                    "ExcludeManagementEventSources": s.get("ExcludeManagementEventSources") or []})
    if n > MAX_DATA_RESOURCES:
        raise _err("InvalidEventSelectorsException",
                   "You can specify up to 250 data resources for a trail.")
    return out


def _check_advanced(sels):
    if not isinstance(sels, list) or not sels:
        raise _err("InvalidEventSelectorsException", "AdvancedEventSelectors must not be empty.")
    total = 0
    for s in sels:
        fss = s.get("FieldSelectors") if isinstance(s, dict) else None
        if not fss:
            raise _err("InvalidEventSelectorsException", "FieldSelectors must not be empty.")
        fields = {}
        for f in fss:
            fn = f.get("Field")
            if fn not in ADV_FIELDS:
                raise _err("InvalidEventSelectorsException", "Invalid field: %s" % fn)
            ops = [k for k in f if k != "Field"]
            if not ops or any(k not in ADV_OPS for k in ops):
                raise _err("InvalidEventSelectorsException",
                           "Invalid operator for field %s." % fn)
            for k in ops:
                total += len(f[k])
            fields[fn] = f
        cat = fields.get("eventCategory", {}).get("Equals")
        if not cat:
            raise _err("InvalidEventSelectorsException",
                       "eventCategory is a required field and must use Equals.")
        if "Data" in cat and not fields.get("resources.type", {}).get("Equals"):
            raise _err("InvalidEventSelectorsException",
                       "resources.type is required for data event selectors.")
        if "Management" in cat:
            for fn in fields:
                if fn not in ("eventCategory", "readOnly", "eventSource"):
                    raise _err("InvalidEventSelectorsException",
                               "Field %s is not allowed for management events." % fn)
    if total > 500:
        raise _err("InvalidEventSelectorsException", "Too many condition values (maximum 500).")
    return sels


def op_put_event_selectors(world, ctx, body):
    t = find(world, ctx, body.get("TrailName"), modify=True)
    es, adv = body.get("EventSelectors"), body.get("AdvancedEventSelectors")
    if (es is None) == (adv is None):
        raise _err("InvalidParameterCombinationException",
                   "Specify either EventSelectors or AdvancedEventSelectors, not both.")
    if es is not None:
        t.event_selectors, t.advanced_selectors = _check_basic(es), None
        return {"TrailARN": t.arn, "EventSelectors": t.event_selectors}
    t.advanced_selectors, t.event_selectors = _check_advanced(adv), None
    return {"TrailARN": t.arn, "AdvancedEventSelectors": t.advanced_selectors}


def op_get_event_selectors(world, ctx, body):
    t = find(world, ctx, body.get("TrailName"))
    if t.advanced_selectors:
        return {"TrailARN": t.arn, "AdvancedEventSelectors": t.advanced_selectors}
    sels = t.event_selectors
    if sels is None:
        sels = [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
                 "ExcludeManagementEventSources": []}]
    return {"TrailARN": t.arn, "EventSelectors": sels}


def _epoch(v, what):
    if v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    raise _err("InvalidParameterException" if what != "range" else "InvalidTimeRangeException",
               "%s must be a timestamp" % what)


def op_list_public_keys(world, ctx, body):
    end = _epoch(body.get("EndTime"), "EndTime")
    start = _epoch(body.get("StartTime"), "StartTime")
    if end is None:
        end = world.now
    if start is None:
        start = end
    if start > end:
        raise _err("InvalidTimeRangeException",
                   "Start time must be before end time.")
    if not delivery.state(world)["keys"].get(ctx.region):
        delivery.current_key(world, ctx.region)
    return {"PublicKeyList": delivery.public_keys(world, ctx.region, start, end)}


LOOKUP_KEYS = {"EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName",
               "EventSource", "AccessKeyId"}
_RESOURCE_PARAMS = (("bucketName", "AWS::S3::Bucket"), ("name", "AWS::CloudTrail::Trail"),
                    ("Name", "AWS::CloudTrail::Trail"), ("TrailName", "AWS::CloudTrail::Trail"),
                    ("KeyId", "AWS::KMS::Key"), ("keyId", "AWS::KMS::Key"),
                    ("RoleArn", "AWS::IAM::Role"), ("roleArn", "AWS::IAM::Role"))


def _username(ev):
    ui = ev.get("userIdentity") or {}
    if ui.get("userName"):
        return ui["userName"]
    if ui.get("type") == "Root":
        return "root"
    arn = ui.get("arn") or ""
    return arn.rsplit("/", 1)[-1] if "/" in arn else None


def _resources(ev):
    out = []
    rp = ev.get("requestParameters")
    if isinstance(rp, dict):
        for k, typ in _RESOURCE_PARAMS:
            v = rp.get(k)
            if isinstance(v, str) and v:
                out.append({"ResourceType": typ, "ResourceName": v})
    return out


def _lookup_match(ev, key, val):
    if key == "EventId":
        return ev.get("eventID") == val
    if key == "EventName":
        return ev.get("eventName") == val
    if key == "EventSource":
        return ev.get("eventSource") == val
    if key == "ReadOnly":
        return ("true" if ev.get("readOnly") else "false") == val
    if key == "Username":
        return _username(ev) == val
    if key == "AccessKeyId":
        return (ev.get("userIdentity") or {}).get("accessKeyId") == val
    if key == "ResourceType":
        return any(r["ResourceType"] == val for r in _resources(ev))
    if key == "ResourceName":
        return any(r["ResourceName"] == val for r in _resources(ev))
    return False


def op_lookup_events(world, ctx, body):
    attrs = body.get("LookupAttributes") or []
    if len(attrs) > 1:
        raise _err("InvalidLookupAttributesException",
                   "You cannot specify more than one lookup attribute.")
    for a in attrs:
        if a.get("AttributeKey") not in LOOKUP_KEYS:
            raise _err("InvalidLookupAttributesException",
                       "Invalid attribute key: %s" % a.get("AttributeKey"))
    mx = body.get("MaxResults", MAX_LOOKUP_RESULTS)
    if not isinstance(mx, int) or mx < 1 or mx > MAX_LOOKUP_RESULTS:
        raise _err("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
    start = _epoch(body.get("StartTime"), "range")
    end = _epoch(body.get("EndTime"), "range")
    if start is not None and end is not None and start > end:
        raise _err("InvalidTimeRangeException", "Start time must be before end time.")
    if body.get("EventCategory") not in (None, "insight"):
        raise _err("InvalidEventCategoryException", "Invalid EventCategory.")
    tok = body.get("NextToken")
    skip = 0
    if tok is not None:
        try:
            skip = int(str(tok).split("-", 1)[1])
        except (IndexError, ValueError):
            raise _err("InvalidNextTokenException", "Invalid NextToken.")
    matched = []
    for ev in reversed(world.events):
        if ev.get("recipientAccountId") != ctx.account or ev.get("awsRegion") != ctx.region:
            continue
        t = ev.get("_time", 0)
        if (start is not None and t < start) or (end is not None and t > end):
            continue
        if attrs and not _lookup_match(ev, attrs[0]["AttributeKey"], attrs[0].get("AttributeValue")):
            continue
        matched.append(ev)
        if len(matched) > skip + mx:
            break
    page = matched[skip:skip + mx]
    out = []
    for ev in page:
        pub = {k: v for k, v in ev.items() if not k.startswith("_")}
        d = {"EventId": ev.get("eventID"), "EventName": ev.get("eventName"),
             "ReadOnly": "true" if ev.get("readOnly") else "false",
             "EventTime": int(ev.get("_time", 0)), "EventSource": ev.get("eventSource"),
             "Resources": _resources(ev), "CloudTrailEvent": json.dumps(pub)}
        ak = (ev.get("userIdentity") or {}).get("accessKeyId")
        if ak:
            d["AccessKeyId"] = ak
        u = _username(ev)
        if u:
            d["Username"] = u
        out.append(d)
    doc = {"Events": out}
    if len(matched) > skip + mx:
        doc["NextToken"] = "lookup-%d" % (skip + mx)
    return doc


def _tag_trail(world, ctx, rid):
    return find(world, ctx, rid, modify=False)


def op_add_tags(world, ctx, body):
    t = find(world, ctx, body.get("ResourceId"), modify=True)
    tags = body.get("TagsList") or []
    for tg in tags:
        if not isinstance(tg, dict) or not tg.get("Key"):
            raise _err("InvalidTagParameterException", "Tag keys must not be empty.")
    merged = dict(t.tags)
    for tg in tags:
        merged[tg["Key"]] = tg.get("Value", "")
    if len(merged) > 50:
        raise _err("TagsLimitExceededException", "The number of tags is limited to 50.")
    t.tags = merged
    return {}


def op_remove_tags(world, ctx, body):
    t = find(world, ctx, body.get("ResourceId"), modify=True)
    for tg in body.get("TagsList") or []:
        t.tags.pop(tg.get("Key"), None)
    return {}


def op_list_tags(world, ctx, body):
    out = []
    for rid in body.get("ResourceIdList") or []:
        t = _tag_trail(world, ctx, rid)
        out.append({"ResourceId": t.arn,
                    "TagsList": [{"Key": k, "Value": v} for k, v in sorted(t.tags.items())]})
    return {"ResourceTagList": out}


def op_get_insight_selectors(world, ctx, body):
    t = find(world, ctx, body.get("TrailName"))
    raise _err("InsightNotEnabledException",
               "Trail %s does not have Insights enabled. Edit the trail settings to enable Insights, "
               "and then try the operation again." % t.arn)


HANDLERS = {
    "CreateTrail": op_create_trail,
    "UpdateTrail": op_update_trail,
    "DescribeTrails": op_describe_trails,
    "GetTrail": op_get_trail,
    "ListTrails": op_list_trails,
    "GetTrailStatus": op_get_trail_status,
    "StartLogging": op_start_logging,
    "StopLogging": op_stop_logging,
    "DeleteTrail": op_delete_trail,
    "PutEventSelectors": op_put_event_selectors,
    "GetEventSelectors": op_get_event_selectors,
    "ListPublicKeys": op_list_public_keys,
    "LookupEvents": op_lookup_events,
    "AddTags": op_add_tags,
    "RemoveTags": op_remove_tags,
    "ListTags": op_list_tags,
    "GetInsightSelectors": op_get_insight_selectors,
}


def handle(world, ctx, operation, body):
    fn = HANDLERS.get(operation)
    if fn is None:
        raise AwsError("UnknownOperationException",
                       "Operation %s is not supported by the fake CloudTrail." % operation, 400)
    if ctx.account is None:
        raise AwsError("MissingAuthenticationTokenException", "Missing Authentication Token", 400)
    with world.lock:
        return 200, fn(world, ctx, body)


# --- control ------------------------------------------------------------------------

def c_set_trail(world, body):
    """{"trail": name|ARN, "S3KeyPrefix": "x"|null, "SnsTopicName": ..., "CloudWatchLogsLogGroupArn": ...,
    "CloudWatchLogsRoleArn": ...}: change a trail's settings out of band, without CloudTrail's
    bucket-policy test write (someone who loosened the bucket policy for a moment, or an
    integration set up elsewhere), so a test can start from a trail that has settings the plan
    leaves unset.  Only the fields given change; null or "" clears."""
    tr = delivery.find_trail(world, body["trail"])
    for k, attr in (("S3KeyPrefix", "prefix"), ("SnsTopicName", "sns_topic"),
                    ("CloudWatchLogsLogGroupArn", "cw_log_group"), ("CloudWatchLogsRoleArn", "cw_role")):
        if k in body:
            v = body[k]
            if v is not None and not isinstance(v, str):
                raise ValueError("'%s' must be a string or null" % k)
            setattr(tr, attr, v or None)
    return {"trail": trail_doc(tr)}


def _register():
    from . import control
    control.register("set_trail", c_set_trail)


_register()
