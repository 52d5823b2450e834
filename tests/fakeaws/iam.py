"""IAM (query protocol, global: signed for us-east-1): the roles and inline
policies the monitoring setup needs.

CreateRole, GetRole, DeleteRole, UpdateAssumeRolePolicy, PutRolePolicy,
GetRolePolicy, DeleteRolePolicy, ListRolePolicies, ListRoles.  Roles live in
world.accounts[acct].roles (world.Role); inline policies in the role's
`inline` dict (name -> JSON text).  A role created here is NOT an administrator
(Role.admin False): what its sessions and the services that assume it may do is
exactly what its inline policies allow (role_allows).  Roles seeded by
seed_org stay administrators.  Policy documents come back URL-encoded, as IAM
sends them.  Errors: NoSuchEntity (404), EntityAlreadyExists (409),
MalformedPolicyDocument (400), ValidationError (400), DeleteConflict (409).
"""

import json
import re
import urllib.parse

from . import policy
from .errors import AwsError
from .world import PARTITION

NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$")
POLICY_NAME_RE = re.compile(r"^[\w+=,.@-]{1,128}$")
MAX_TRUST = 2048
MAX_INLINE_TOTAL = 10240


def inline(role):
    d = getattr(role, "inline", None)
    if d is None:
        d = {}
        role.inline = d
    return d


def role_allows(world, role, action, resource, context=None):
    """Identity-policy decision for role: an admin role may do anything in its
    account; otherwise an Allow in an inline policy and no Deny."""
    if role.admin:
        return True
    ctx = world.base_context()
    ctx.update(context or {})
    allowed = False
    for text in inline(role).values():
        d, _ = policy.evaluate(text, {"AWS": role.arn, "Account": role.account}, action, resource, ctx)
        if d == "Deny":
            return False
        if d == "Allow":
            allowed = True
    return allowed


def caller_allowed(world, ctx, action, resource, context=None):
    """May the caller (in its own account) do action on resource by its identity policy?"""
    k = ctx.access_key
    if k is None:
        return False
    if k.admin:
        return True
    if k.role_arn:
        role = world.find_role(k.role_arn)
        return role is not None and role_allows(world, role, action, resource, context)
    return False


def _no_role(name):
    return AwsError("NoSuchEntity", "The role with name %s cannot be found." % name, 404)


def _role(world, ctx, p):
    name = p.get("RoleName", "")
    if not NAME_RE.match(name):
        raise AwsError("ValidationError", "The specified value for roleName is invalid.", 400)
    r = world.accounts[ctx.account].roles.get(name)
    if r is None:
        raise _no_role(name)
    return r


def _check_policy(text, kind, limit):
    if len(text) > limit:
        raise AwsError("LimitExceeded", "Cannot exceed quota for %s: %d."
                       % ("ACLSizePerRole" if kind == "trust" else "PolicySize", limit), 409)
    try:
        doc = json.loads(text)
    except ValueError:
        raise AwsError("MalformedPolicyDocument", "This policy contains invalid Json", 400)
    if not isinstance(doc, dict) or not isinstance(doc.get("Statement"), (list, dict)):
        raise AwsError("MalformedPolicyDocument", "Syntax errors in policy.", 400)
    sts = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
    for st in sts:
        if not isinstance(st, dict) or st.get("Effect") not in ("Allow", "Deny"):
            raise AwsError("MalformedPolicyDocument", "Syntax errors in policy.", 400)
        if kind == "trust":
            if "Principal" not in st:
                raise AwsError("MalformedPolicyDocument", "Has prohibited field Resource."
                               if "Resource" in st else "Missing required field Principal", 400)
        else:
            if "Principal" in st or "NotPrincipal" in st:
                raise AwsError("MalformedPolicyDocument", "Policy document should not specify a "
                               "principal.", 400)
            if "Resource" not in st and "NotResource" not in st:
                raise AwsError("MalformedPolicyDocument", "Policy statement must contain resources.",
                               400)
        for k, v in (st.get("Condition") or {}).items():
            if not policy.condition_op_known(k):
                raise AwsError("MalformedPolicyDocument", "Unknown condition operator %s" % k, 400)


def _enc(text):
    return urllib.parse.quote(text, safe="")


def _role_json(r, with_policy=True):
    d = {"Path": r.path, "RoleName": r.name, "RoleId": r.role_id, "Arn": r.arn,
         "CreateDate": getattr(r, "created", 0.0) or 0.0,
         "MaxSessionDuration": r.max_session_duration}
    if with_policy:
        d["AssumeRolePolicyDocument"] = _enc(r.trust_policy)
    if getattr(r, "description", None):
        d["Description"] = r.description
    return d


def create_role(world, ctx, p):
    name = p["RoleName"]
    if not NAME_RE.match(name):
        raise AwsError("ValidationError", "The specified value for roleName is invalid.", 400)
    path = p.get("Path", "/")
    if not re.match(r"^/([\x21-\x7e]{0,510}/)?$", path):
        raise AwsError("ValidationError", "The specified value for path is invalid.", 400)
    acct = world.accounts[ctx.account]
    if name in acct.roles:
        raise AwsError("EntityAlreadyExists", "Role with name %s already exists." % name, 409)
    text = p["AssumeRolePolicyDocument"]
    _check_policy(text, "trust", MAX_TRUST)
    r = world.add_role(ctx.account, name, text, int(p.get("MaxSessionDuration", 3600)), admin=False)
    r.path = path
    r.created = world.now
    r.description = p.get("Description")
    r.inline = {}
    return {"Role": _role_json(r)}


def get_role(world, ctx, p):
    return {"Role": _role_json(_role(world, ctx, p))}


def list_roles(world, ctx, p):
    acct = world.accounts[ctx.account]
    prefix = p.get("PathPrefix", "/")
    rs = [_role_json(acct.roles[n]) for n in sorted(acct.roles) if acct.roles[n].path.startswith(prefix)]
    return {"Roles": rs, "IsTruncated": False}


def delete_role(world, ctx, p):
    r = _role(world, ctx, p)
    if inline(r):
        raise AwsError("DeleteConflict", "Cannot delete entity, must delete policies first.", 409)
    del world.accounts[ctx.account].roles[r.name]
    return None


def update_assume_role_policy(world, ctx, p):
    r = _role(world, ctx, p)
    _check_policy(p["PolicyDocument"], "trust", MAX_TRUST)
    r.trust_policy = p["PolicyDocument"]
    return None


def put_role_policy(world, ctx, p):
    r = _role(world, ctx, p)
    name = p["PolicyName"]
    if not POLICY_NAME_RE.match(name):
        raise AwsError("ValidationError", "The specified value for policyName is invalid.", 400)
    text = p["PolicyDocument"]
    _check_policy(text, "identity", MAX_INLINE_TOTAL)
    others = sum(len(re.sub(r"\s", "", v)) for k, v in inline(r).items() if k != name)
    if others + len(re.sub(r"\s", "", text)) > MAX_INLINE_TOTAL:
        raise AwsError("LimitExceeded", "Maximum policy size of %d bytes exceeded for role %s"
                       % (MAX_INLINE_TOTAL, r.name), 409)
    inline(r)[name] = text
    return None


def get_role_policy(world, ctx, p):
    r = _role(world, ctx, p)
    name = p["PolicyName"]
    text = inline(r).get(name)
    if text is None:
        raise AwsError("NoSuchEntity", "The role policy with name %s cannot be found." % name, 404)
    return {"RoleName": r.name, "PolicyName": name, "PolicyDocument": _enc(text)}


def delete_role_policy(world, ctx, p):
    r = _role(world, ctx, p)
    name = p["PolicyName"]
    if name not in inline(r):
        raise AwsError("NoSuchEntity", "The role policy with name %s cannot be found." % name, 404)
    del inline(r)[name]
    return None


def list_role_policies(world, ctx, p):
    r = _role(world, ctx, p)
    return {"PolicyNames": sorted(inline(r)), "IsTruncated": False}


OPS = {
    "CreateRole": create_role, "GetRole": get_role, "ListRoles": list_roles,
    "DeleteRole": delete_role, "UpdateAssumeRolePolicy": update_assume_role_policy,
    "PutRolePolicy": put_role_policy, "GetRolePolicy": get_role_policy,
    "DeleteRolePolicy": delete_role_policy, "ListRolePolicies": list_role_policies,
}


def handle(world, ctx):
    from . import query
    if ctx.region != "us-east-1":
        raise AwsError("SignatureDoesNotMatch", "Credential should be scoped to a valid region.", 403)
    res = "arn:%s:iam::%s:role/%s" % (PARTITION, ctx.account, ctx.params.get("RoleName", "*"))
    if ctx.access_key is not None and not caller_allowed(world, ctx, "iam:" + ctx.operation, res):
        raise AwsError("AccessDenied", "User: %s is not authorized to perform: iam:%s on resource: %s"
                       % (ctx.access_key.arn, ctx.operation, res), 403)
    return query.handle(__import__(__name__, fromlist=["OPS"]), "iam", world, ctx)
