"""CloudWatch Logs (JSON 1.1, target prefix Logs_20140328).

State: world.extra["logs"] = {(account, region): {group name: group dict}}; a
group dict has "name", "created" (epoch ms), "retention" (days or None),
"streams" {name: stream dict}, "filters" {name: filter dict}.  Streams keep their
events as [(timestamp ms, message, ingestion ms)].

Who may call: the caller's own account only (Logs has no resource policies for
these operations); an identity that is not an administrator of its account (a
role created through IAM) needs an Allow in its inline policies (iam.py).

CloudTrail delivery (deliver(), called by delivery.py at every tick for a trail
with CloudWatchLogsLogGroupArn and CloudWatchLogsRoleArn) acts as CloudTrail
does: it assumes the role (the trust policy must let the service principal
cloudtrail.amazonaws.com sts:AssumeRole with aws:SourceArn = the trail ARN and
aws:SourceAccount = the trail owner), creates the stream
<acct>_CloudTrail_<region> (organization trails: <org-id>_<acct>_CloudTrail_<region>)
with logs:CreateLogStream and writes with logs:PutLogEvents, both evaluated
against the role's inline policies on the stream ARN
arn:aws:logs:<home>:<owner>:log-group:<group>:log-stream:<stream>.  Every event
is one CloudTrail record (JSON).  Refusals are silent, as in AWS: the trail's
LatestCloudWatchLogsDeliveryError is set (AccessDeniedException: role missing,
trust or permissions refuse; ResourceNotFoundException: log group missing) and
the events are dropped.  Metric filters run on every event written (by
CloudTrail or PutLogEvents) and feed cloudwatch.py's metrics.
"""

import re

from . import control, filterpattern
from .errors import AwsError
from .world import PARTITION

RETENTION = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
             2557, 2922, 3288, 3653)
GROUP_RE = re.compile(r"^[.\-_/#A-Za-z0-9]{1,512}$")
STREAM_RE = re.compile(r"^[^:*]{1,512}$")
FILTER_RE = re.compile(r"^[^:*]{1,512}$")
MAX_FILTERS = 100
SERVICE = {"Service": "cloudtrail.amazonaws.com"}


def _groups(world, account, region):
    return world.extra.setdefault("logs", {}).setdefault((account, region), {})


def group_arn(region, account, name):
    return "arn:%s:logs:%s:%s:log-group:%s:*" % (PARTITION, region, account, name)


def stream_arn(region, account, group, stream):
    return "arn:%s:logs:%s:%s:log-group:%s:log-stream:%s" % (PARTITION, region, account, group,
                                                            stream)


def find_group(world, account, region, name):
    return world.extra.get("logs", {}).get((account, region), {}).get(name)


def _invalid(msg):
    return AwsError("InvalidParameterException", msg, 400)


def _not_found(what="log group"):
    return AwsError("ResourceNotFoundException", "The specified %s does not exist." % what, 400)


def _authorise(world, ctx, action, resource):
    from . import iam
    if not iam.caller_allowed(world, ctx, action, resource):
        raise AwsError("AccessDeniedException", "User: %s is not authorized to perform: %s on "
                       "resource: %s" % (ctx.identity.get("arn"), action, resource), 400)


def _name(body, key="logGroupName", rx=GROUP_RE):
    v = body.get(key)
    if not isinstance(v, str) or not rx.match(v):
        raise _invalid("1 validation error detected: Value '%s' at '%s' failed to satisfy "
                       "constraint" % (v, key))
    return v


def _group(world, ctx, body, action):
    name = _name(body)
    _authorise(world, ctx, action, group_arn(ctx.region, ctx.account, name))
    g = find_group(world, ctx.account, ctx.region, name)
    if g is None:
        raise _not_found()
    return g


def _ms(world):
    return int(world.now * 1000)


def create_log_group(world, ctx, body):
    name = _name(body)
    _authorise(world, ctx, "logs:CreateLogGroup", group_arn(ctx.region, ctx.account, name))
    gs = _groups(world, ctx.account, ctx.region)
    if name in gs:
        raise AwsError("ResourceAlreadyExistsException", "The specified log group already exists", 400)
    gs[name] = {"name": name, "created": _ms(world), "retention": None, "streams": {},
                "filters": {}, "tags": dict(body.get("tags") or {})}
    return {}


def delete_log_group(world, ctx, body):
    g = _group(world, ctx, body, "logs:DeleteLogGroup")
    del _groups(world, ctx.account, ctx.region)[g["name"]]
    return {}


def _group_json(ctx, g):
    d = {"logGroupName": g["name"], "creationTime": g["created"],
         "metricFilterCount": len(g["filters"]),
         "arn": group_arn(ctx.region, ctx.account, g["name"]),
         "storedBytes": sum(len(m) for s in g["streams"].values() for _t, m, _i in s["events"])}
    if g["retention"] is not None:
        d["retentionInDays"] = g["retention"]
    return d


def _page(body, items, limit_max=50):
    limit = body.get("limit", limit_max)
    if not isinstance(limit, int) or not 1 <= limit <= limit_max:
        raise _invalid("limit must be between 1 and %d" % limit_max)
    start = 0
    tok = body.get("nextToken")
    if tok is not None:
        if not isinstance(tok, str) or not tok.startswith("tk-") or not tok[3:].isdigit():
            raise _invalid("The specified nextToken is invalid.")
        start = int(tok[3:])
    out = items[start:start + limit]
    nxt = "tk-%d" % (start + limit) if start + limit < len(items) else None
    return out, nxt


def describe_log_groups(world, ctx, body):
    _authorise(world, ctx, "logs:DescribeLogGroups",
               "arn:%s:logs:%s:%s:log-group:*" % (PARTITION, ctx.region, ctx.account))
    prefix = body.get("logGroupNamePrefix") or ""
    gs = _groups(world, ctx.account, ctx.region)
    items = [gs[n] for n in sorted(gs) if n.startswith(prefix)]
    page, nxt = _page(body, items)
    out = {"logGroups": [_group_json(ctx, g) for g in page]}
    if nxt:
        out["nextToken"] = nxt
    return out


def put_retention_policy(world, ctx, body):
    g = _group(world, ctx, body, "logs:PutRetentionPolicy")
    days = body.get("retentionInDays")
    if days not in RETENTION or isinstance(days, bool):
        raise _invalid("1 validation error detected: Value '%s' at 'retentionInDays' failed to "
                       "satisfy constraint: Member must satisfy enum value set: %s"
                       % (days, list(RETENTION)))
    g["retention"] = days
    return {}


def delete_retention_policy(world, ctx, body):
    g = _group(world, ctx, body, "logs:DeleteRetentionPolicy")
    g["retention"] = None
    return {}


def _new_stream(world, g, name):
    g["streams"][name] = {"name": name, "created": _ms(world), "events": [], "ingestion": None}
    return g["streams"][name]


def create_log_stream(world, ctx, body):
    gname = _name(body)
    sname = _name(body, "logStreamName", STREAM_RE)
    _authorise(world, ctx, "logs:CreateLogStream", stream_arn(ctx.region, ctx.account, gname, sname))
    g = find_group(world, ctx.account, ctx.region, gname)
    if g is None:
        raise _not_found()
    if sname in g["streams"]:
        raise AwsError("ResourceAlreadyExistsException", "The specified log stream already exists", 400)
    _new_stream(world, g, sname)
    return {}


def describe_log_streams(world, ctx, body):
    g = _group(world, ctx, body, "logs:DescribeLogStreams")
    prefix = body.get("logStreamNamePrefix") or ""
    order = body.get("orderBy", "LogStreamName")
    streams = [s for n, s in sorted(g["streams"].items()) if n.startswith(prefix)]
    if order == "LastEventTime":
        if prefix:
            raise _invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        streams.sort(key=lambda s: s["events"][-1][0] if s["events"] else 0)
    if body.get("descending"):
        streams.reverse()
    page, nxt = _page(body, streams)
    out = []
    for s in page:
        d = {"logStreamName": s["name"], "creationTime": s["created"],
             "arn": stream_arn(ctx.region, ctx.account, g["name"], s["name"]), "storedBytes": 0}
        if s["events"]:
            d["firstEventTimestamp"] = min(e[0] for e in s["events"])
            d["lastEventTimestamp"] = max(e[0] for e in s["events"])
            d["lastIngestionTime"] = s["ingestion"]
        out.append(d)
    r = {"logStreams": out}
    if nxt:
        r["nextToken"] = nxt
    return r


def write_events(world, account, region, g, stream, events):
    """Append [(timestamp ms, message)] to stream and run the group's metric filters."""
    from . import cloudwatch
    now = _ms(world)
    for ts, msg in events:
        stream["events"].append((ts, msg, now))
    stream["ingestion"] = now
    for f in g["filters"].values():
        node = f["node"]
        tr = f["transformations"][0]
        hits = []
        for ts, msg in events:
            if filterpattern.matches(node, msg):
                v = tr["metricValue"]
                if v.startswith("$"):
                    val = filterpattern.field_value(msg, v)
                    if val is None:
                        continue
                else:
                    val = float(v)
                hits.append((ts / 1000.0, val))
        if not hits and tr.get("defaultValue") is not None and events:
            hits.append((events[-1][0] / 1000.0, float(tr["defaultValue"])))
        for ts, val in hits:
            cloudwatch.put_datapoint(world, account, region, tr["metricNamespace"],
                                     tr["metricName"], ts, val)


def put_log_events(world, ctx, body):
    gname = _name(body)
    sname = _name(body, "logStreamName", STREAM_RE)
    _authorise(world, ctx, "logs:PutLogEvents", stream_arn(ctx.region, ctx.account, gname, sname))
    g = find_group(world, ctx.account, ctx.region, gname)
    if g is None:
        raise _not_found()
    s = g["streams"].get(sname)
    if s is None:
        raise _not_found("log stream")
    evs = body.get("logEvents")
    if not isinstance(evs, list) or not 1 <= len(evs) <= 10000:
        raise _invalid("logEvents must have 1 to 10000 entries")
    out = []
    for e in evs:
        if not isinstance(e, dict) or not isinstance(e.get("timestamp"), int) \
                or not isinstance(e.get("message"), str):
            raise _invalid("each log event needs an integer timestamp and a message")
        out.append((e["timestamp"], e["message"]))
    if any(b[0] < a[0] for a, b in zip(out, out[1:])):
        raise _invalid("Log events in a single PutLogEvents request must be in chronological order.")
    write_events(world, ctx.account, ctx.region, g, s, out)
    return {"nextSequenceToken": "%056d" % len(s["events"])}


def get_log_events(world, ctx, body):
    g = _group(world, ctx, body, "logs:GetLogEvents")
    s = g["streams"].get(_name(body, "logStreamName", STREAM_RE))
    if s is None:
        raise _not_found("log stream")
    st, en = body.get("startTime"), body.get("endTime")
    evs = [e for e in s["events"] if (st is None or e[0] >= st) and (en is None or e[0] < en)]
    limit = body.get("limit", 10000)
    evs = evs[:limit] if body.get("startFromHead") else evs[-limit:]
    return {"events": [{"timestamp": t, "message": m, "ingestionTime": i} for t, m, i in evs],
            "nextForwardToken": "f/%056d" % len(s["events"]),
            "nextBackwardToken": "b/%056d" % 0}


def _transformations(body):
    trs = body.get("metricTransformations")
    if not isinstance(trs, list) or len(trs) != 1 or not isinstance(trs[0], dict):
        raise _invalid("metricTransformations must have exactly 1 member")
    t = trs[0]
    for k in ("metricName", "metricNamespace", "metricValue"):
        if not isinstance(t.get(k), str) or not t[k] or len(t[k]) > 255:
            raise _invalid("1 validation error detected: Value at 'metricTransformations.1.member.%s' "
                           "failed to satisfy constraint: Member must not be null" % k)
    v = t["metricValue"]
    if not v.startswith("$"):
        try:
            float(v)
        except ValueError:
            raise _invalid("Invalid metric value: %s" % v)
    if "defaultValue" in t and not isinstance(t["defaultValue"], (int, float)):
        raise _invalid("defaultValue must be a number")
    keep = ("metricName", "metricNamespace", "metricValue", "defaultValue", "unit")
    return [{k: t[k] for k in keep if k in t}]


def put_metric_filter(world, ctx, body):
    g = _group(world, ctx, body, "logs:PutMetricFilter")
    fname = _name(body, "filterName", FILTER_RE)
    pattern = body.get("filterPattern")
    if not isinstance(pattern, str) or len(pattern) > 1024:
        raise _invalid("filterPattern is required (at most 1024 characters)")
    try:
        node = filterpattern.parse(pattern)
    except ValueError as e:
        raise _invalid("Invalid metric filter pattern: %s" % e)
    trs = _transformations(body)
    if fname not in g["filters"] and len(g["filters"]) >= MAX_FILTERS:
        raise AwsError("LimitExceededException", "Resource limit exceeded.", 400)
    old = g["filters"].get(fname)
    g["filters"][fname] = {"name": fname, "pattern": pattern, "node": node, "transformations": trs,
                           "created": old["created"] if old else _ms(world)}
    return {}


def delete_metric_filter(world, ctx, body):
    g = _group(world, ctx, body, "logs:DeleteMetricFilter")
    fname = _name(body, "filterName", FILTER_RE)
    if fname not in g["filters"]:
        raise _not_found("filter")
    del g["filters"][fname]
    return {}


def describe_metric_filters(world, ctx, body):
    _authorise(world, ctx, "logs:DescribeMetricFilters",
               "arn:%s:logs:%s:%s:log-group:*" % (PARTITION, ctx.region, ctx.account))
    gs = _groups(world, ctx.account, ctx.region)
    if body.get("logGroupName") is not None:
        g = gs.get(_name(body))
        if g is None:
            raise _not_found()
        groups = [g]
    else:
        groups = [gs[n] for n in sorted(gs)]
    prefix = body.get("filterNamePrefix") or ""
    if prefix and body.get("logGroupName") is None:
        raise _invalid("filterNamePrefix needs logGroupName")
    mn, ns = body.get("metricName"), body.get("metricNamespace")
    if (mn is None) != (ns is None):
        raise _invalid("metricName and metricNamespace go together")
    items = []
    for g in groups:
        for n in sorted(g["filters"]):
            f = g["filters"][n]
            if not n.startswith(prefix):
                continue
            tr = f["transformations"][0]
            if mn is not None and (tr["metricName"] != mn or tr["metricNamespace"] != ns):
                continue
            items.append({"filterName": n, "filterPattern": f["pattern"],
                          "metricTransformations": [dict(tr)], "creationTime": f["created"],
                          "logGroupName": g["name"]})
    page, nxt = _page(body, items)
    out = {"metricFilters": page}
    if nxt:
        out["nextToken"] = nxt
    return out


def list_tags_log_group(world, ctx, body):
    g = _group(world, ctx, body, "logs:ListTagsLogGroup")
    return {"tags": dict(g.get("tags") or {})}


OPS = {
    "CreateLogGroup": create_log_group, "DeleteLogGroup": delete_log_group,
    "DescribeLogGroups": describe_log_groups, "PutRetentionPolicy": put_retention_policy,
    "DeleteRetentionPolicy": delete_retention_policy, "CreateLogStream": create_log_stream,
    "DescribeLogStreams": describe_log_streams, "PutLogEvents": put_log_events,
    "GetLogEvents": get_log_events, "PutMetricFilter": put_metric_filter,
    "DeleteMetricFilter": delete_metric_filter, "DescribeMetricFilters": describe_metric_filters,
    "ListTagsLogGroup": list_tags_log_group,
}


def handle(world, ctx, op, body):
    fn = OPS.get(op)
    if fn is None:
        raise AwsError("UnknownOperationException", "", 400)
    if ctx.account is None:
        raise AwsError("MissingAuthenticationTokenException", "Missing Authentication Token", 400)
    if op in ("PutLogEvents", "GetLogEvents"):
        ctx.record = False          # data plane: no management event
    return 200, fn(world, ctx, body)


# --- CloudTrail -> CloudWatch Logs ---------------------------------------------------

def parse_group_arn(arn):
    """arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*] -> (region, account, name) or None."""
    if not isinstance(arn, str):
        return None
    parts = arn.split(":", 6)
    if len(parts) != 7 or parts[0] != "arn" or parts[2] != "logs" or parts[5] != "log-group":
        return None
    name = parts[6]
    if name.endswith(":*"):
        name = name[:-2]
    if not GROUP_RE.match(name):
        return None
    return parts[3], parts[4], name


def stream_name(world, trail, acct, region):
    if trail.org and world.org is not None:
        return "%s_%s_CloudTrail_%s" % (world.org.id, acct, region)
    return "%s_CloudTrail_%s" % (acct, region)


def cloudtrail_access(world, trail, stream):
    """None if CloudTrail may write stream of the trail's log group with its
    role, else the LatestCloudWatchLogsDeliveryError value."""
    from . import iam, policy
    loc = parse_group_arn(trail.cw_log_group)
    if loc is None:
        return "ResourceNotFoundException"
    region, account, name = loc
    role = world.find_role(trail.cw_role or "")
    if role is None:
        return "AccessDeniedException"
    ctx = world.base_context()
    ctx.update({"aws:SourceArn": trail.arn, "aws:SourceAccount": trail.account})
    decision, _ = policy.evaluate(role.trust_policy, SERVICE, "sts:AssumeRole", None, ctx)
    if decision != "Allow":
        return "AccessDeniedException"
    if role.account != account:
        return "AccessDeniedException"      # a role writes to its own account's groups only
    res = stream_arn(region, account, name, stream)
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        if not iam.role_allows(world, role, action, res):
            return "AccessDeniedException"
    if find_group(world, account, region, name) is None:
        return "ResourceNotFoundException"
    return None


def deliver(world, trail, acct, region, records, t):
    """CloudTrail writes records (public event dicts) of (acct, region) to the
    trail's log group.  Sets the trail's CloudWatch Logs delivery status."""
    import json
    if not trail.cw_log_group or not trail.cw_role or not records:
        return
    fault = world.extra.get("delivery_faults", {}).get(trail.arn, {}).get("cloudwatch")
    sname = stream_name(world, trail, acct, region)
    err = fault or cloudtrail_access(world, trail, sname)
    errs = trail.dest_errors.setdefault("cloudwatch", {})
    if err is not None:
        errs[(acct, region)] = (err, float(t))
        trail.cw_delivery_error = err
        return
    # a success clears this destination and every failure of an earlier tick
    # (the error is CloudTrail's latest attempt, not a per-stream history)
    for k in [k for k, v in errs.items() if k == (acct, region) or v[1] < float(t)]:
        del errs[k]
    region_, account, name = parse_group_arn(trail.cw_log_group)
    g = find_group(world, account, region_, name)
    s = g["streams"].get(sname) or _new_stream(world, g, sname)
    from .world import parse_iso8601
    evs = [(int(parse_iso8601(r["eventTime"]) * 1000), json.dumps(r, separators=(",", ":")))
           for r in records]
    evs.sort(key=lambda e: e[0])
    write_events(world, account, region_, g, s, evs)
    trail.cw_delivery_time = float(t)
    trail.cw_delivery_error = next(iter(errs.values()))[0] if errs else None


# --- control -----------------------------------------------------------------------

def c_log_events(world, body):
    """{"account", "region", "group", "stream" (optional)}: the events of that
    group (every stream, or one), oldest first: [{"stream", "timestamp", "message"}]."""
    g = find_group(world, body["account"], body.get("region", "us-east-1"), body["group"])
    if g is None:
        raise KeyError("no log group %s" % body["group"])
    out = []
    for n in sorted(g["streams"]):
        if body.get("stream") and n != body["stream"]:
            continue
        for ts, msg, _i in g["streams"][n]["events"]:
            out.append({"stream": n, "timestamp": ts, "message": msg})
    out.sort(key=lambda e: (e["timestamp"], e["stream"]))
    return {"events": out}


control.register("log_events", c_log_events)
