"""AWS Account Management (REST-JSON, signing name "account", global endpoint).

Region opt-in only: POST /getRegionOptStatus, /listRegions, /enableRegion,
/disableRegion.  The global endpoint is signed for us-east-1; another signing
region gets 403 InvalidSignatureException as AWS's global endpoints answer.

State: world.extra["region_opt"] = {"<account>/<region>": status} for opt-in
regions (absent = DISABLED).  Every other region is ENABLED_BY_DEFAULT and never
changes.  EnableRegion / DisableRegion go through ENABLING / DISABLING; the
transition completes at the next `advance` (delivery.advance calls
complete_transitions before its first tick).  A trail runs in (account, region)
only when the status is ENABLED or ENABLED_BY_DEFAULT (region_runs).

Control op: set_region_opt {"account", "region", "status"} (any status, for setup).
"""

import base64
import re

from . import control
from .errors import AwsError

OPT_IN = frozenset(["af-south-1", "ap-east-1", "ap-south-2", "ap-southeast-3", "ap-southeast-4",
                    "ca-west-1", "eu-central-2", "eu-south-1", "eu-south-2", "il-central-1",
                    "me-central-1", "me-south-1"])
DEFAULT = frozenset(["us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
                     "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
                     "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1",
                     "ap-southeast-2", "ap-south-1"])
ALL_REGIONS = sorted(OPT_IN | DEFAULT)
STATUSES = ("ENABLED", "ENABLING", "DISABLING", "DISABLED", "ENABLED_BY_DEFAULT")
RUNNING = ("ENABLED", "ENABLED_BY_DEFAULT")
ACTIONS = {"GetRegionOptStatus": "account:GetRegionOptStatus", "ListRegions": "account:ListRegions",
           "EnableRegion": "account:EnableRegion", "DisableRegion": "account:DisableRegion"}
ROUTES = {"/getRegionOptStatus": "GetRegionOptStatus", "/listRegions": "ListRegions",
          "/enableRegion": "EnableRegion", "/disableRegion": "DisableRegion"}


def _opt(world):
    return world.extra.setdefault("region_opt", {})


def region_status(world, account, region):
    if region in OPT_IN:
        return _opt(world).get("%s/%s" % (account, region), "DISABLED")
    return "ENABLED_BY_DEFAULT"


def region_runs(world, account, region):
    """Does AWS (and so CloudTrail) operate in region for account?  Regions the
    fake does not know are treated as enabled."""
    if region not in OPT_IN:
        return True
    return region_status(world, account, region) in RUNNING


def complete_transitions(world):
    o = _opt(world)
    for k, v in list(o.items()):
        if v == "ENABLING":
            o[k] = "ENABLED"
        elif v == "DISABLING":
            o[k] = "DISABLED"


# --- requests ----------------------------------------------------------------------

def route(ctx):
    if ctx.method != "POST":
        return None
    return ROUTES.get(ctx.path.rstrip("/") or "/")


def _validation(msg):
    return AwsError("ValidationException", msg, 400)


def _target_account(world, ctx, body):
    acct = body.get("AccountId")
    if acct is None:
        return ctx.account
    if not isinstance(acct, str) or not re.fullmatch(r"\d{12}", acct):
        raise _validation("1 validation error detected: Value at 'accountId' failed to satisfy "
                          "constraint: Member must satisfy regular expression pattern: ^\\d{12}$")
    if acct == ctx.account:
        if world.org is not None and world.org.management_account == acct:
            raise _validation("The management account can't specify its own AccountId; call the "
                              "operation without AccountId")
        return acct
    org = world.org
    if (org is None or acct not in org.members or ctx.account not in org.members or
            (ctx.account != org.management_account and
             ctx.account not in org.delegated_admins.get("account.amazonaws.com", set()))):
        raise AwsError("AccessDeniedException", "User: %s is not authorized to access account %s"
                       % (ctx.identity.get("arn"), acct), 403)
    if "account.amazonaws.com" not in org.trusted_services:
        raise AwsError("AccessDeniedException", "Trusted access is not enabled for the Account "
                       "Management service in your organization", 403)
    return acct


def _region(body):
    r = body.get("RegionName")
    if not isinstance(r, str) or not r:
        raise _validation("1 validation error detected: Value null at 'regionName' failed to "
                          "satisfy constraint: Member must not be null")
    if r not in OPT_IN and r not in DEFAULT:
        raise _validation("%s is not a valid Region name" % r)
    return r


def get_region_opt_status(world, ctx, body):
    acct = _target_account(world, ctx, body)
    r = _region(body)
    return {"RegionName": r, "RegionOptStatus": region_status(world, acct, r)}


def list_regions(world, ctx, body):
    acct = _target_account(world, ctx, body)
    n = body.get("MaxResults", 20)
    if not isinstance(n, int) or not 1 <= n <= 50:
        raise _validation("1 validation error detected: Value at 'maxResults' failed to satisfy "
                          "constraint: Member must have value between 1 and 50")
    want = body.get("RegionOptStatusContains")
    if want is not None:
        if not isinstance(want, list) or not all(x in STATUSES for x in want):
            raise _validation("RegionOptStatusContains must be a list of %s" % ", ".join(STATUSES))
    items = [{"RegionName": r, "RegionOptStatus": region_status(world, acct, r)} for r in ALL_REGIONS]
    if want:
        items = [x for x in items if x["RegionOptStatus"] in want]
    start = 0
    tok = body.get("NextToken")
    if tok is not None:
        try:
            kind, pos = base64.b64decode(tok).decode().split(":")
            if kind != "fakeacct":
                raise ValueError
            start = int(pos)
        except ValueError:
            raise _validation("The NextToken is not valid")
    out = {"Regions": items[start:start + n]}
    if start + n < len(items):
        out["NextToken"] = base64.b64encode(b"fakeacct:%d" % (start + n)).decode()
    return out


def _change(world, ctx, body, enable):
    acct = _target_account(world, ctx, body)
    r = _region(body)
    if r not in OPT_IN:
        raise _validation("%s is enabled by default and cannot be %s" % (r, "enabled" if enable
                                                                          else "disabled"))
    cur = region_status(world, acct, r)
    if enable and cur == "DISABLING" or not enable and cur == "ENABLING":
        raise AwsError("ConflictException", "The Region %s is %s; wait until it is done"
                       % (r, cur.lower()), 409)
    key = "%s/%s" % (acct, r)
    if enable and cur not in ("ENABLED", "ENABLING"):
        _opt(world)[key] = "ENABLING"
    elif not enable and cur not in ("DISABLED", "DISABLING"):
        _opt(world)[key] = "DISABLING"
    ctx.event_response = None
    return None


OPS = {"GetRegionOptStatus": get_region_opt_status, "ListRegions": list_regions,
       "EnableRegion": lambda w, c, b: _change(w, c, b, True),
       "DisableRegion": lambda w, c, b: _change(w, c, b, False)}


def handle(world, ctx, op, body):
    """-> (status, body dict or None); None means an empty 200 body."""
    if ctx.region != "us-east-1":
        raise AwsError("InvalidSignatureException", "Credential should be scoped to a valid region, "
                       "not '%s'. " % ctx.region, 403)
    fn = OPS.get(op)
    if fn is None:
        raise AwsError("UnknownOperationException", "", 404)
    if ctx.access_key is not None and not ctx.access_key.admin:
        raise AwsError("AccessDeniedException", "User: %s is not authorized to perform: %s"
                       % (ctx.identity.get("arn"), ACTIONS[op]), 403)
    if not isinstance(body, dict):
        raise AwsError("SerializationException", "body must be a JSON object", 400)
    # requestParameters as CloudTrail records them (also for a failed call)
    ctx.event_params = {"regionName": body.get("RegionName")}
    if body.get("AccountId") is not None:
        ctx.event_params["accountId"] = body.get("AccountId")
    return 200, fn(world, ctx, body)


# --- control -------------------------------------------------------------------------

def c_set_region_opt(world, body):
    """{"account", "region", "status"}: set an opt-in region's status directly."""
    acct, r, st = body["account"], body["region"], body["status"]
    if acct not in world.accounts:
        raise KeyError("no account '%s'" % acct)
    if r not in OPT_IN:
        raise ValueError("'%s' is not an opt-in region (its status is ENABLED_BY_DEFAULT)" % r)
    if st not in STATUSES or st == "ENABLED_BY_DEFAULT":
        raise ValueError("status must be ENABLED, ENABLING, DISABLING or DISABLED")
    _opt(world)["%s/%s" % (acct, r)] = st
    return {"account": acct, "region": r, "status": st}


control.register("set_region_opt", c_set_region_opt)
