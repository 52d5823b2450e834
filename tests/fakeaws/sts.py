"""STS (query protocol): GetCallerIdentity, AssumeRole, AssumeRoleWithWebIdentity.

Web identity tokens are issued by the control op `issue_web_identity_token`
({"sub", "aud", "iss": "https://oidc.fakeaws.local", "expires_in": 3600}) as
"fakeoidc.<base64url(JSON claims)>.<hex HMAC-SHA256 over the middle part with
the world's OIDC secret>".  The role's trust policy must name the principal
{"Federated": "arn:aws:iam::<role account>:oidc-provider/<iss without https://>"}
and may test "<iss host/path>:sub" / ":aud" with String conditions.
"""

import base64
import hashlib
import hmac
import json
import re
from xml.sax.saxutils import escape

from . import control, policy
from .errors import AwsError
from .world import PARTITION, iso8601

NS = "https://sts.amazonaws.com/doc/2011-06-15/"
SESSION_RE = re.compile(r"^[\w+=,.@-]{2,64}$")


def _resp(op, inner, rid):
    return 200, ('<%sResponse xmlns="%s">\n  <%sResult>\n%s  </%sResult>\n'
                 '  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n  </ResponseMetadata>\n'
                 '</%sResponse>\n' % (op, NS, op, inner, op, rid, op))


def _creds_xml(k):
    return ("    <Credentials>\n      <AccessKeyId>%s</AccessKeyId>\n"
            "      <SecretAccessKey>%s</SecretAccessKey>\n      <SessionToken>%s</SessionToken>\n"
            "      <Expiration>%s</Expiration>\n    </Credentials>\n"
            % (k.access_key_id, escape(k.secret), escape(k.session_token), iso8601(k.expiration)))


def _duration(params, role, chained):
    try:
        d = int(params.get("DurationSeconds", "3600"))
    except ValueError:
        raise AwsError("ValidationError", "DurationSeconds must be an integer", 400)
    if d < 900 or d > 43200:
        raise AwsError("ValidationError", "1 validation error detected: Value '%d' at "
                       "'durationSeconds' failed to satisfy constraint: Member must have value "
                       "between 900 and 43200" % d, 400)
    if chained and d > 3600:
        raise AwsError("ValidationError", "The requested DurationSeconds exceeds the 1 hour "
                       "session limit for roles assumed by role chaining.", 400)
    if d > role.max_session_duration:
        raise AwsError("ValidationError", "The requested DurationSeconds exceeds the "
                       "MaxSessionDuration set for this role.", 400)
    return d


def _session_name(params):
    n = params.get("RoleSessionName")
    if n is None:
        raise AwsError("ValidationError", "1 validation error detected: Value null at "
                       "'roleSessionName' failed to satisfy constraint: Member must not be null", 400)
    if not SESSION_RE.match(n):
        raise AwsError("ValidationError", "1 validation error detected: Value '%s' at "
                       "'roleSessionName' failed to satisfy constraint: Member must satisfy regular "
                       "expression pattern: [\\w+=,.@-]*" % n, 400)
    return n


def _issue(world, role, session, duration, kind):
    token = "IQoJb3JpZ2luX2VjE" + world.rand_chars(
        160, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    arn = "arn:%s:sts::%s:assumed-role/%s/%s" % (PARTITION, role.account, role.name, session)
    k = world.create_access_key(role.account, arn=arn, kind=kind, session_token=token,
                                expiration=world.auth_now() + duration, role_arn=role.arn,
                                principal_id="%s:%s" % (role.role_id, session), prefix="ASIA")
    k.admin = role.admin
    return k


def _assumed_xml(k, role, session):
    return ("    <AssumedRoleUser>\n      <AssumedRoleId>%s</AssumedRoleId>\n"
            "      <Arn>%s</Arn>\n    </AssumedRoleUser>\n" % (escape(k.principal_id), escape(k.arn)))


def _event_resp(k):
    return {"credentials": {"accessKeyId": k.access_key_id, "expiration": iso8601(k.expiration)},
            "assumedRoleUser": {"assumedRoleId": k.principal_id, "arn": k.arn}}


def get_caller_identity(world, ctx, params):
    k = ctx.access_key
    return _resp("GetCallerIdentity", "    <Arn>%s</Arn>\n    <UserId>%s</UserId>\n"
                 "    <Account>%s</Account>\n" % (escape(k.arn), escape(k.principal_id), k.account),
                 ctx.request_id)


def assume_role(world, ctx, params):
    role_arn = params.get("RoleArn")
    if not role_arn:
        raise AwsError("ValidationError", "1 validation error detected: Value null at 'roleArn' "
                       "failed to satisfy constraint: Member must not be null", 400)
    session = _session_name(params)
    caller = ctx.access_key
    denied = AwsError("AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on "
                      "resource: %s" % (caller.arn, role_arn), 403)
    role = world.find_role(role_arn)
    if role is None or not caller.admin:
        raise denied
    context = world.base_context()
    if "ExternalId" in params:
        ext = params["ExternalId"]
        if not 2 <= len(ext) <= 1224:
            raise AwsError("ValidationError", "ExternalId must be 2 to 1224 characters", 400)
        context["sts:ExternalId"] = ext
    context["aws:PrincipalAccount"] = caller.account
    context["aws:PrincipalArn"] = caller.role_arn or caller.arn
    context["sts:RoleSessionName"] = session
    decision, _ = policy.evaluate(role.trust_policy, caller.principal(), "sts:AssumeRole",
                                  None, context)
    if decision != "Allow":
        raise denied
    d = _duration(params, role, caller.kind == "assumed-role")
    k = _issue(world, role, session, d, "assumed-role")
    ctx.event_response = _event_resp(k)
    ctx.account_event_target = role.account
    return _resp("AssumeRole", _creds_xml(k) + _assumed_xml(k, role, session), ctx.request_id)


def _oidc_secret(world):
    s = world.extra.get("oidc_secret")
    if s is None:
        s = world.rand_hex(64)
        world.extra["oidc_secret"] = s
    return s


def issue_web_identity_token(world, body):
    claims = {"iss": body.get("iss", "https://oidc.fakeaws.local"), "sub": body.get("sub", "test"),
              "aud": body.get("aud", "sts.amazonaws.com"),
              "iat": int(world.auth_now()), "exp": int(world.auth_now() + float(body.get("expires_in", 3600)))}
    mid = base64.urlsafe_b64encode(json.dumps(claims, sort_keys=True).encode()).decode().rstrip("=")
    sig = hmac.new(_oidc_secret(world).encode(), mid.encode(), hashlib.sha256).hexdigest()
    return {"token": "fakeoidc.%s.%s" % (mid, sig), "claims": claims}


control.register("issue_web_identity_token", issue_web_identity_token)


def assume_role_with_web_identity(world, ctx, params):
    role_arn = params.get("RoleArn", "")
    session = _session_name(params)
    tok = params.get("WebIdentityToken", "")
    parts = tok.split(".")
    bad = AwsError("InvalidIdentityToken", "The ID Token provided is not a valid JWT. (You may "
                   "see this error if you sent an Access Token)", 400)
    if len(parts) != 3 or parts[0] != "fakeoidc":
        raise bad
    sig = hmac.new(_oidc_secret(world).encode(), parts[1].encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(sig, parts[2]):
        raise AwsError("InvalidIdentityToken", "Couldn't verify the token signature", 400)
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        raise bad
    if world.auth_now() >= claims.get("exp", 0):
        raise AwsError("ExpiredTokenException", "Token expired: current date/time %d must be "
                       "before the expiration date/time %d" % (world.auth_now(), claims["exp"]), 400)
    role = world.find_role(role_arn)
    provider = claims["iss"].split("://", 1)[-1]
    denied = AwsError("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403)
    if role is None:
        raise denied
    context = world.base_context()
    context[provider + ":sub"] = claims["sub"]
    context[provider + ":aud"] = claims["aud"]
    principal = {"Federated": "arn:%s:iam::%s:oidc-provider/%s" % (PARTITION, role.account, provider)}
    decision, _ = policy.evaluate(role.trust_policy, principal, "sts:AssumeRoleWithWebIdentity",
                                  None, context)
    if decision != "Allow":
        raise denied
    d = _duration(params, role, False)
    k = _issue(world, role, session, d, "assumed-role")
    inner = (_creds_xml(k) + "    <SubjectFromWebIdentityToken>%s</SubjectFromWebIdentityToken>\n"
             % escape(claims["sub"]) + _assumed_xml(k, role, session) +
             "    <Provider>%s</Provider>\n    <Audience>%s</Audience>\n"
             % (escape(provider), escape(claims["aud"])))
    return _resp("AssumeRoleWithWebIdentity", inner, ctx.request_id)


OPS = {"GetCallerIdentity": get_caller_identity, "AssumeRole": assume_role,
       "AssumeRoleWithWebIdentity": assume_role_with_web_identity}
UNSIGNED = {"AssumeRoleWithWebIdentity"}


def handle(world, ctx, op, params):
    fn = OPS.get(op)
    if fn is None:
        raise AwsError("InvalidAction", "Could not find operation %s for version 2011-06-15" % op, 400)
    if ctx.access_key is None and op not in UNSIGNED:
        raise AwsError("MissingAuthenticationToken", "Request is missing Authentication Token", 403)
    return fn(world, ctx, params)
