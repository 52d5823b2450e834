"""Organizations (JSON 1.1, AWSOrganizationsV20161128): DescribeOrganization,
ListAccounts, ListAWSServiceAccessForOrganization, ListDelegatedAdministrators,
EnableAWSServiceAccess, DisableAWSServiceAccess, LeaveOrganization,
RemoveAccountFromOrganization.

Membership decides what an organization trail logs (delivery.trail_accounts):
an account that leaves or is removed, or whose status is not ACTIVE, is no
longer delivered for; without trusted access for cloudtrail.amazonaws.com the
organization trail delivers only the management account's logs.  The write
calls are recorded as CloudTrail events (server.py) in the caller's account
and the signing region (us-east-1 in the aws partition), as AWS records
Organizations events.

Control op registered here: org_membership {"account", "member": bool?,
"status": "ACTIVE" | "SUSPENDED" | "PENDING_CLOSURE"?} (joins or leaves the
organization without a handshake; sets the status ListAccounts reports)."""

import base64

from . import control
from .errors import AwsError
from .world import PARTITION


def _not_in_use():
    return AwsError("AWSOrganizationsNotInUseException",
                    "Your account is not a member of an organization.", 400)


def _denied():
    return AwsError("AccessDeniedException", "You don't have permissions to access this resource.", 400)


def _require_member(world, ctx):
    if world.org is None or ctx.account not in world.org.members:
        raise _not_in_use()


def _require_admin(world, ctx, service=None):
    _require_member(world, ctx)
    if ctx.account == world.org.management_account:
        return
    for svc, accts in world.org.delegated_admins.items():
        if ctx.account in accts and (service is None or svc == service):
            return
    raise _denied()


def describe_organization(world, ctx, body):
    _require_member(world, ctx)
    o = world.org
    m = world.accounts.get(o.management_account)
    return {"Organization": {
        "Id": o.id, "Arn": o.arn, "FeatureSet": o.feature_set,
        "MasterAccountArn": "arn:%s:organizations::%s:account/%s/%s" % (
            PARTITION, o.management_account, o.id, o.management_account),
        "MasterAccountId": o.management_account,
        "MasterAccountEmail": m.email if m else "",
        "AvailablePolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]}}


def _page(body, items, maxmax=20):
    mr = body.get("MaxResults", maxmax)
    if not isinstance(mr, int) or not 1 <= mr <= maxmax:
        raise AwsError("InvalidInputException", "You provided a value that does not match the "
                       "required pattern.", 400, extra={"Reason": "INVALID_INPUT"})
    start = 0
    tok = body.get("NextToken")
    if tok is not None:
        try:
            start = int(base64.b64decode(tok).decode().split(":")[1])
        except (ValueError, IndexError):
            raise AwsError("InvalidInputException", "The NextToken is not valid.", 400,
                           extra={"Reason": "INVALID_NEXT_TOKEN"})
    page = items[start:start + mr]
    out = {}
    if start + mr < len(items):
        out["NextToken"] = base64.b64encode(b"fakeaws:%d" % (start + mr)).decode()
    return page, out


def list_accounts(world, ctx, body):
    _require_admin(world, ctx, "cloudtrail.amazonaws.com")
    o = world.org
    accts = []
    for aid in o.members:
        a = world.accounts[aid]
        accts.append({"Id": a.id, "Arn": "arn:%s:organizations::%s:account/%s/%s" % (
            PARTITION, o.management_account, o.id, a.id), "Email": a.email, "Name": a.name,
            "Status": a.status, "JoinedMethod": "CREATED" if a.id != o.management_account else "INVITED",
            "JoinedTimestamp": a.joined})
    page, out = _page(body, accts)
    out["Accounts"] = page
    return out


def list_service_access(world, ctx, body):
    _require_admin(world, ctx)
    items = [{"ServicePrincipal": s, "DateEnabled": world.now} for s in sorted(world.org.trusted_services)]
    page, out = _page(body, items)
    out["EnabledServicePrincipals"] = page
    return out


def enable_service_access(world, ctx, body):
    _require_member(world, ctx)
    if ctx.account != world.org.management_account:
        raise _denied()
    world.org.trusted_services.add(body.get("ServicePrincipal", ""))
    return {}


def _require_management(world, ctx):
    _require_member(world, ctx)
    if ctx.account != world.org.management_account:
        raise _denied()


def disable_service_access(world, ctx, body):
    _require_management(world, ctx)
    sp = body.get("ServicePrincipal")
    if not isinstance(sp, str) or not sp:
        raise AwsError("InvalidInputException", "You provided a value that does not match the "
                       "required pattern.", 400, extra={"Reason": "INVALID_INPUT"})
    world.org.trusted_services.discard(sp)
    return {}


def leave_organization(world, ctx, body):
    _require_member(world, ctx)
    if ctx.account == world.org.management_account:
        raise AwsError("ConstraintViolationException", "You cannot remove the management account "
                       "from its own organization.", 400,
                       extra={"Reason": "MASTER_ACCOUNT_MISSING_CONTACT_INFO"})
    world.org.members.remove(ctx.account)
    return {}


def remove_account(world, ctx, body):
    _require_management(world, ctx)
    aid = body.get("AccountId")
    if not isinstance(aid, str) or not aid.isdigit() or len(aid) != 12:
        raise AwsError("InvalidInputException", "You provided a value that does not match the "
                       "required pattern.", 400, extra={"Reason": "INVALID_INPUT"})
    if aid not in world.org.members:
        raise AwsError("AccountNotFoundException", "You specified an account that doesn't exist.", 400)
    if aid == world.org.management_account:
        raise AwsError("ConstraintViolationException", "You cannot remove the management account "
                       "from its own organization.", 400)
    world.org.members.remove(aid)
    return {}


def c_org_membership(world, body):
    """{"account", "member": bool?, "status": str?}: join/leave without a
    handshake, set the status ListAccounts reports."""
    aid = body["account"]
    a = world.accounts[aid]
    if world.org is None:
        raise ValueError("no organization")
    if "member" in body:
        if body["member"] and aid not in world.org.members:
            world.org.members.append(aid)
            a.joined = world.now
        elif not body["member"] and aid in world.org.members:
            if aid == world.org.management_account:
                raise ValueError("the management account cannot leave")
            world.org.members.remove(aid)
    if "status" in body:
        if body["status"] not in ("ACTIVE", "SUSPENDED", "PENDING_CLOSURE"):
            raise ValueError("bad status")
        a.status = body["status"]
    return {"members": list(world.org.members), "status": a.status}


control.register("org_membership", c_org_membership)


def list_delegated_admins(world, ctx, body):
    _require_admin(world, ctx)
    sp = body.get("ServicePrincipal")
    ids = set()
    for svc, accts in world.org.delegated_admins.items():
        if sp is None or svc == sp:
            ids |= set(accts)
    items = []
    for aid in sorted(ids):
        a = world.accounts[aid]
        items.append({"Id": a.id, "Name": a.name, "Email": a.email, "Status": a.status})
    page, out = _page(body, items)
    out["DelegatedAdministrators"] = page
    return out


OPS = {"DescribeOrganization": describe_organization, "ListAccounts": list_accounts,
       "ListAWSServiceAccessForOrganization": list_service_access,
       "EnableAWSServiceAccess": enable_service_access,
       "DisableAWSServiceAccess": disable_service_access,
       "LeaveOrganization": leave_organization,
       "RemoveAccountFromOrganization": remove_account,
       "ListDelegatedAdministrators": list_delegated_admins}


def handle(world, ctx, op, body):
    fn = OPS.get(op)
    if fn is None:
        raise AwsError("UnknownOperationException", "", 400)
    return 200, fn(world, ctx, body)
