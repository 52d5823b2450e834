"""SNS (query protocol): topics, topic policies, subscriptions and a record of
published messages.

CreateTopic, DeleteTopic, ListTopics, GetTopicAttributes, SetTopicAttributes,
Subscribe, Unsubscribe, ListSubscriptionsByTopic, Publish.
State: world.extra["sns"] = {topic ARN: topic dict}; every message published
(by Publish or by a CloudWatch alarm action) is appended to
world.extra["sns_messages"]; refused alarm publishes to
world.extra["sns_failures"].

Authorisation: the topic policy (default: the account's principals, as AWS's
__default_policy_ID) is evaluated for every call; the owner's administrators
are allowed unless the policy denies explicitly, anyone else (other accounts,
service principals such as cloudwatch.amazonaws.com with aws:SourceArn =
the alarm ARN, aws:SourceAccount and AWS:SourceOwner = the alarm's account, so
the default policy lets a same-account alarm publish) needs an Allow.  An encrypted topic
(KmsMasterKeyId) also needs the key: a service publishing to it must be granted
kms:GenerateDataKey* and kms:Decrypt by the key policy; the AWS managed key
alias/aws/sns never grants a service principal (its policy only lets the
account's principals use it through SNS), so CloudWatch cannot publish to a
topic encrypted with it.

Subscriptions: email, email-json, http and https start "PendingConfirmation"
(the control op confirm_subscription confirms them); sqs and lambda ARNs are
confirmed at once.  Control ops: sns_messages {"topic": ARN (optional)},
sns_failures {}, confirm_subscription {"topic", "endpoint"}.
"""

import json
import re

from . import control
from .errors import AwsError
from .world import PARTITION

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
MANAGED_KEY = "alias/aws/sns"
ATTRS_SETTABLE = ("Policy", "DisplayName", "DeliveryPolicy", "KmsMasterKeyId", "TracingConfig",
                  "SignatureVersion")


def _topics(world):
    return world.extra.setdefault("sns", {})


def messages(world):
    return world.extra.setdefault("sns_messages", [])


def default_policy(arn, account):
    return json.dumps({"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": [{
        "Sid": "__default_statement_ID", "Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                   "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                   "SNS:ListSubscriptionsByTopic", "SNS:Publish"],
        "Resource": arn, "Condition": {"StringEquals": {"AWS:SourceOwner": account}}}]})


def _not_found():
    return AwsError("NotFound", "Topic does not exist", 404)


def _parse_arn(arn):
    parts = (arn or "").split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns":
        raise AwsError("InvalidParameter", "Invalid parameter: TopicArn", 400)
    return parts[3], parts[4], parts[5]


def allowed(world, t, principal, action, context=None):
    """(allowed, reason) for principal doing action on topic t."""
    from . import policy
    ctx = world.base_context()
    ctx.update(context or {})
    acct = world._principal_account(principal)
    if acct:
        ctx.setdefault("AWS:SourceOwner", acct)
    d, sid = policy.evaluate(t["attrs"]["Policy"], principal, action, t["arn"], ctx)
    if d == "Deny":
        return False, "explicit deny in topic policy"
    if d == "Allow":
        return True, "allowed by topic policy"
    if world._is_owner_principal(principal, t["account"]):
        return True, "topic owner"
    return False, "no statement in the topic policy allows %s" % action


def _topic(world, ctx, arn, action):
    region, acct, _name = _parse_arn(arn)
    t = _topics(world).get(arn)
    if t is None or region != ctx.region:
        raise _not_found()
    ok, _ = allowed(world, t, ctx.principal, action)
    if not ok:
        raise AwsError("AuthorizationError", "User: %s is not authorized to perform: %s on "
                       "resource: %s" % (ctx.identity.get("arn"), action, arn), 403)
    return t


def _check_policy_text(text):
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or not isinstance(doc.get("Statement"), (list, dict)):
            raise ValueError
    except ValueError:
        raise AwsError("InvalidParameter", "Invalid parameter: Policy Error: null", 400)


def _set_attr(world, t, name, value):
    if name not in ATTRS_SETTABLE:
        raise AwsError("InvalidParameter", "Invalid parameter: AttributeName", 400)
    if name == "Policy":
        _check_policy_text(value)
    if name == "KmsMasterKeyId" and value == "":
        t["attrs"].pop(name, None)
        return
    t["attrs"][name] = value


def create_topic(world, ctx, p):
    name = p["Name"]
    if not NAME_RE.match(name):
        raise AwsError("InvalidParameter", "Invalid parameter: Topic Name", 400)
    arn = "arn:%s:sns:%s:%s:%s" % (PARTITION, ctx.region, ctx.account, name)
    topics = _topics(world)
    attrs = p.get("Attributes") or {}
    if arn in topics:
        t = topics[arn]
        for k, v in attrs.items():
            if t["attrs"].get(k) != v:
                raise AwsError("InvalidParameter", "Invalid parameter: Attributes Reason: Topic "
                               "already exists with different attributes", 400)
        return {"TopicArn": arn}
    t = {"arn": arn, "name": name, "account": ctx.account, "region": ctx.region,
         "attrs": {"Policy": default_policy(arn, ctx.account), "DisplayName": ""}, "subs": {},
         "tags": {x["Key"]: x["Value"] for x in p.get("Tags") or []}}
    for k, v in attrs.items():
        _set_attr(world, t, k, v)
    topics[arn] = t
    return {"TopicArn": arn}


def delete_topic(world, ctx, p):
    arn = p["TopicArn"]
    if arn not in _topics(world):
        return None                 # idempotent, as SNS
    _topic(world, ctx, arn, "SNS:DeleteTopic")
    del _topics(world)[arn]
    return None


def list_topics(world, ctx, p):
    arns = [a for a, t in sorted(_topics(world).items())
            if t["account"] == ctx.account and t["region"] == ctx.region]
    return {"Topics": [{"TopicArn": a} for a in arns]}


def get_topic_attributes(world, ctx, p):
    t = _topic(world, ctx, p["TopicArn"], "SNS:GetTopicAttributes")
    subs = t["subs"].values()
    a = dict(t["attrs"])
    a.update({"TopicArn": t["arn"], "Owner": t["account"],
              "SubscriptionsConfirmed": str(sum(1 for s in subs if s["confirmed"])),
              "SubscriptionsPending": str(sum(1 for s in subs if not s["confirmed"])),
              "SubscriptionsDeleted": "0",
              "EffectiveDeliveryPolicy": json.dumps({"http": {"defaultHealthyRetryPolicy": {
                  "minDelayTarget": 20, "maxDelayTarget": 20, "numRetries": 3}}})})
    return {"Attributes": a}


def set_topic_attributes(world, ctx, p):
    t = _topic(world, ctx, p["TopicArn"], "SNS:SetTopicAttributes")
    _set_attr(world, t, p["AttributeName"], p.get("AttributeValue", ""))
    return None


PROTOCOLS = {"email": r"^[^@\s]+@[^@\s]+$", "email-json": r"^[^@\s]+@[^@\s]+$",
             "http": r"^http://\S+$", "https": r"^https://\S+$",
             "sqs": r"^arn:aws[a-z-]*:sqs:\S+$", "lambda": r"^arn:aws[a-z-]*:lambda:\S+$"}


def subscribe(world, ctx, p):
    t = _topic(world, ctx, p["TopicArn"], "SNS:Subscribe")
    proto = p["Protocol"]
    ep = p.get("Endpoint", "")
    if proto not in PROTOCOLS:
        raise AwsError("InvalidParameter", "Invalid parameter: Amazon SNS does not support this "
                       "protocol string: %s" % proto, 400)
    if not re.match(PROTOCOLS[proto], ep):
        raise AwsError("InvalidParameter", "Invalid parameter: Endpoint", 400)
    for arn, s in t["subs"].items():
        if s["protocol"] == proto and s["endpoint"] == ep:
            return {"SubscriptionArn": arn if s["confirmed"] or p.get("ReturnSubscriptionArn")
                    else "pending confirmation"}
    arn = "%s:%s" % (t["arn"], world.uuid())
    confirmed = proto in ("sqs", "lambda")
    t["subs"][arn] = {"protocol": proto, "endpoint": ep, "confirmed": confirmed,
                      "owner": ctx.account}
    return {"SubscriptionArn": arn if confirmed or p.get("ReturnSubscriptionArn")
            else "pending confirmation"}


def unsubscribe(world, ctx, p):
    arn = p["SubscriptionArn"]
    for t in _topics(world).values():
        if arn in t["subs"]:
            if t["subs"][arn]["owner"] != ctx.account and t["account"] != ctx.account:
                raise AwsError("AuthorizationError", "not authorized to unsubscribe", 403)
            del t["subs"][arn]
            return None
    raise AwsError("NotFound", "Subscription does not exist", 404)


def list_subscriptions_by_topic(world, ctx, p):
    t = _topic(world, ctx, p["TopicArn"], "SNS:ListSubscriptionsByTopic")
    out = []
    for arn in sorted(t["subs"]):
        s = t["subs"][arn]
        out.append({"SubscriptionArn": arn if s["confirmed"] else "PendingConfirmation",
                    "Owner": s["owner"], "Protocol": s["protocol"], "Endpoint": s["endpoint"],
                    "TopicArn": t["arn"]})
    return {"Subscriptions": out}


def key_allows_service(world, t, service):
    """None if the topic's key (if any) lets the service principal publish,
    else the reason."""
    ref = t["attrs"].get("KmsMasterKeyId")
    if not ref:
        return None
    if ref == MANAGED_KEY or ref.endswith(":" + MANAGED_KEY):
        return "KMS.AccessDeniedException: the AWS managed key alias/aws/sns does not grant %s" % service
    k = world.resolve_key(t["account"], t["region"], ref)
    if k is None:
        return "KMS.NotFoundException"
    if k.state != "Enabled":
        return "KMS.DisabledException" if k.state == "Disabled" else "KMS.KMSInvalidStateException"
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        ok, _ = world.key_policy_allows(k.id, {"Service": service}, action, {})
        if not ok:
            return "KMS.AccessDeniedException: key policy does not allow %s %s" % (service, action)
    return None


def deliver(world, t, subject, message, source):
    rec = {"topic": t["arn"], "time": world.now, "subject": subject, "message": message,
           "source": source,
           "endpoints": sorted(s["endpoint"] for s in t["subs"].values() if s["confirmed"])}
    messages(world).append(rec)
    return "%s" % world.uuid()


def publish(world, ctx, p):
    arn = p.get("TopicArn") or p.get("TargetArn")
    if not arn:
        raise AwsError("InvalidParameter", "Invalid parameter: TopicArn or TargetArn Reason: no "
                       "value for required parameter", 400)
    t = _topic(world, ctx, arn, "SNS:Publish")
    msg = p["Message"]
    if len(msg.encode()) > 262144:
        raise AwsError("InvalidParameter", "Invalid parameter: Message too long", 400)
    return {"MessageId": deliver(world, t, p.get("Subject"), msg, ctx.identity.get("arn"))}


def service_publish(world, topic_arn, service, source_arn, source_account, subject, message):
    """A service (CloudWatch) publishes: None on success, else the error text."""
    t = _topics(world).get(topic_arn)
    if t is None:
        err = "NotFound: topic %s does not exist" % topic_arn
    else:
        ok, why = allowed(world, t, {"Service": service}, "SNS:Publish",
                          {"aws:SourceArn": source_arn, "aws:SourceAccount": source_account,
                           "AWS:SourceOwner": source_account})
        err = None if ok else "AuthorizationError: %s" % why
        if err is None:
            err = key_allows_service(world, t, service)
    if err is None:
        deliver(world, t, subject, message, service)
        return None
    world.extra.setdefault("sns_failures", []).append(
        {"topic": topic_arn, "time": world.now, "source": source_arn, "error": err})
    return err


OPS = {
    "CreateTopic": create_topic, "DeleteTopic": delete_topic, "ListTopics": list_topics,
    "GetTopicAttributes": get_topic_attributes, "SetTopicAttributes": set_topic_attributes,
    "Subscribe": subscribe, "Unsubscribe": unsubscribe,
    "ListSubscriptionsByTopic": list_subscriptions_by_topic, "Publish": publish,
}


def handle(world, ctx):
    from . import query
    if ctx.operation == "Publish":
        ctx.record = False
    return query.handle(__import__(__name__, fromlist=["OPS"]), "sns", world, ctx)


def c_sns_messages(world, body):
    ms = [m for m in messages(world) if not body.get("topic") or m["topic"] == body["topic"]]
    return {"messages": ms}


def c_sns_failures(world, body):
    return {"failures": list(world.extra.get("sns_failures", []))}


def c_confirm_subscription(world, body):
    t = _topics(world).get(body["topic"])
    if t is None:
        raise KeyError("no topic %s" % body["topic"])
    n = 0
    for s in t["subs"].values():
        if s["endpoint"] == body["endpoint"]:
            s["confirmed"] = True
            n += 1
    return {"confirmed": n}


control.register("sns_messages", c_sns_messages)
control.register("sns_failures", c_sns_failures)
control.register("confirm_subscription", c_confirm_subscription)
