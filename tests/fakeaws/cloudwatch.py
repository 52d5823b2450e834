"""CloudWatch (query protocol, signing name "monitoring"): metrics and metric alarms.

PutMetricAlarm, DescribeAlarms, DeleteAlarms, DescribeAlarmHistory,
SetAlarmState, PutMetricData, ListMetrics.
State: world.extra["cw_metrics"] = {(account, region, namespace, name): [(epoch, value)]}
(fed by logs.py's metric filters and PutMetricData);
world.extra["cw_alarms"] = {(account, region): {name: alarm dict}}.

Alarms are evaluated on the fake's clock at every delivery tick (evaluate(),
called by delivery.advance) over the last EvaluationPeriods periods of the
alarm's metric (no dimensions or the exact dimensions; statistics Sum,
Average, Minimum, Maximum, SampleCount).  A period without data points is
missing data, treated per TreatMissingData: "missing" (default: all periods
missing -> INSUFFICIENT_DATA), "notBreaching" (good), "breaching" (bad),
"ignore" (state kept).  DatapointsToAlarm (default EvaluationPeriods) bad
periods -> ALARM, else OK.  A state change runs the state's actions when
ActionsEnabled: an SNS topic ARN is published to as the service principal
cloudwatch.amazonaws.com with aws:SourceArn = the alarm ARN and
aws:SourceAccount (sns.service_publish: topic policy and the topic's KMS key
are checked); the outcome is an "Action" history item ("Successfully executed
action ..." / "Failed to execute action ...").
"""

import json

from . import control
from .errors import AwsError
from .world import PARTITION, iso8601

OPERATORS = ("GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold",
             "LessThanOrEqualToThreshold", "LessThanLowerOrGreaterThanUpperThreshold",
             "LessThanLowerThreshold", "GreaterThanUpperThreshold")
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
MISSING = ("breaching", "notBreaching", "ignore", "missing")
REGION_NAMES = {"us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)",
                "us-west-2": "US West (Oregon)", "eu-west-1": "EU (Ireland)",
                "eu-central-1": "EU (Frankfurt)", "ap-southeast-2": "Asia Pacific (Sydney)"}


def _alarms(world, account, region):
    return world.extra.setdefault("cw_alarms", {}).setdefault((account, region), {})


def _metrics(world):
    return world.extra.setdefault("cw_metrics", {})


def alarm_arn(region, account, name):
    return "arn:%s:cloudwatch:%s:%s:alarm:%s" % (PARTITION, region, account, name)


def put_datapoint(world, account, region, namespace, name, ts, value, dims=()):
    _metrics(world).setdefault((account, region, namespace, name, tuple(dims)), []).append(
        (float(ts), float(value)))


def _invalid(msg):
    return AwsError("ValidationError", msg, 400)


def _authorise(world, ctx, action, resource):
    from . import iam
    if not iam.caller_allowed(world, ctx, action, resource):
        raise AwsError("AccessDenied", "User: %s is not authorized to perform: %s"
                       % (ctx.identity.get("arn"), action), 403)


def put_metric_alarm(world, ctx, p):
    name = p["AlarmName"]
    if not 1 <= len(name) <= 255:
        raise _invalid("AlarmName must be 1 to 255 characters")
    arn = alarm_arn(ctx.region, ctx.account, name)
    _authorise(world, ctx, "cloudwatch:PutMetricAlarm", arn)
    if p.get("Metrics"):
        raise _invalid("metric math alarms are not served by the fake")
    for k in ("MetricName", "Namespace", "Period", "Threshold"):
        if k not in p:
            raise _invalid("The parameter %s is required." % k)
    if ("Statistic" in p) == ("ExtendedStatistic" in p):
        raise _invalid("Exactly one of Statistic and ExtendedStatistic is required.")
    if p.get("Statistic") not in STATISTICS:
        raise _invalid("Statistic must be one of %s" % ", ".join(STATISTICS))
    if p["ComparisonOperator"] not in OPERATORS[:4]:
        raise _invalid("Invalid ComparisonOperator for a metric alarm: %s" % p["ComparisonOperator"])
    period = p["Period"]
    if period < 10 or (period >= 60 and period % 60) or period not in (10, 30) and period < 60:
        raise _invalid("Period must be 10, 30 or a multiple of 60")
    n = p["EvaluationPeriods"]
    m = p.get("DatapointsToAlarm", n)
    if n < 1 or not 1 <= m <= n:
        raise _invalid("DatapointsToAlarm must be between 1 and EvaluationPeriods")
    if period * n > 7 * 86400:
        raise _invalid("The evaluation period for the alarm cannot exceed 7 days.")
    tmd = p.get("TreatMissingData", "missing")
    if tmd not in MISSING:
        raise _invalid("TreatMissingData must be one of %s" % ", ".join(MISSING))
    for k in ("AlarmActions", "OKActions", "InsufficientDataActions"):
        acts = p.get(k) or []
        if len(acts) > 5:
            raise _invalid("The maximum number of %s is 5." % k)
        for a in acts:
            if not (a.startswith("arn:aws") and (":sns:" in a or ":automate:" in a)):
                raise _invalid("Invalid arn syntax: %s" % a)
    alarms = _alarms(world, ctx.account, ctx.region)
    old = alarms.get(name)
    a = {"AlarmName": name, "AlarmArn": arn, "ActionsEnabled": p.get("ActionsEnabled", True),
         "OKActions": list(p.get("OKActions") or []), "AlarmActions": list(p.get("AlarmActions") or []),
         "InsufficientDataActions": list(p.get("InsufficientDataActions") or []),
         "MetricName": p["MetricName"], "Namespace": p["Namespace"], "Statistic": p["Statistic"],
         "Dimensions": list(p.get("Dimensions") or []), "Period": period, "EvaluationPeriods": n,
         "DatapointsToAlarm": m, "Threshold": float(p["Threshold"]),
         "ComparisonOperator": p["ComparisonOperator"], "TreatMissingData": tmd,
         "AlarmConfigurationUpdatedTimestamp": world.now}
    if p.get("AlarmDescription") is not None:
        a["AlarmDescription"] = p["AlarmDescription"]
    if p.get("Unit") is not None:
        a["Unit"] = p["Unit"]
    if old is None:
        a.update({"StateValue": "INSUFFICIENT_DATA", "StateReason": "Unchecked: Initial alarm creation",
                  "StateUpdatedTimestamp": world.now})
        _history(world, ctx.account, ctx.region, name, "ConfigurationUpdate",
                 'Alarm "%s" created' % name)
    else:
        for k in ("StateValue", "StateReason", "StateUpdatedTimestamp"):
            a[k] = old[k]
        _history(world, ctx.account, ctx.region, name, "ConfigurationUpdate",
                 'Alarm "%s" updated' % name)
    alarms[name] = a
    return None


def _public(a):
    return {k: v for k, v in a.items() if not k.startswith("_")}


def describe_alarms(world, ctx, p):
    _authorise(world, ctx, "cloudwatch:DescribeAlarms", "*")
    alarms = _alarms(world, ctx.account, ctx.region)
    names = p.get("AlarmNames")
    prefix = p.get("AlarmNamePrefix")
    if names is not None and prefix is not None:
        raise _invalid("AlarmNames and AlarmNamePrefix cannot be used together")
    items = []
    for n in sorted(alarms):
        a = alarms[n]
        if names is not None and n not in names:
            continue
        if prefix is not None and not n.startswith(prefix):
            continue
        if p.get("StateValue") and a["StateValue"] != p["StateValue"]:
            continue
        if p.get("ActionPrefix") and not any(x.startswith(p["ActionPrefix"]) for x in a["AlarmActions"]):
            continue
        items.append(_public(a))
    limit = p.get("MaxRecords", 50)
    if not 1 <= limit <= 100:
        raise _invalid("MaxRecords must be between 1 and 100")
    start = 0
    if p.get("NextToken"):
        tok = p["NextToken"]
        if not tok.startswith("nt-") or not tok[3:].isdigit():
            raise AwsError("InvalidNextToken", "The service couldn't process your request because "
                           "the NextToken is not valid.", 400)
        start = int(tok[3:])
    out = {"MetricAlarms": items[start:start + limit]}
    if start + limit < len(items):
        out["NextToken"] = "nt-%d" % (start + limit)
    return out


def delete_alarms(world, ctx, p):
    alarms = _alarms(world, ctx.account, ctx.region)
    names = p["AlarmNames"]
    for n in names:
        _authorise(world, ctx, "cloudwatch:DeleteAlarms", alarm_arn(ctx.region, ctx.account, n))
    missing = [n for n in names if n not in alarms]
    if missing:
        raise AwsError("ResourceNotFound", "%s not found" % missing[0], 404)
    for n in names:
        del alarms[n]
    return None


def _history(world, account, region, name, kind, summary, data=None):
    world.extra.setdefault("cw_history", []).append(
        {"account": account, "region": region, "AlarmName": name, "AlarmType": "MetricAlarm",
         "Timestamp": world.now, "HistoryItemType": kind, "HistorySummary": summary,
         "HistoryData": json.dumps(data or {})})


def describe_alarm_history(world, ctx, p):
    _authorise(world, ctx, "cloudwatch:DescribeAlarmHistory", "*")
    items = [h for h in world.extra.get("cw_history", [])
             if h["account"] == ctx.account and h["region"] == ctx.region
             and (not p.get("AlarmName") or h["AlarmName"] == p["AlarmName"])
             and (not p.get("HistoryItemType") or h["HistoryItemType"] == p["HistoryItemType"])]
    if p.get("ScanBy", "TimestampDescending") == "TimestampDescending":
        items = list(reversed(items))
    limit = p.get("MaxRecords", 100)
    return {"AlarmHistoryItems": [{k: v for k, v in h.items() if k not in ("account", "region")}
                                  for h in items[:limit]]}


def set_alarm_state(world, ctx, p):
    a = _alarms(world, ctx.account, ctx.region).get(p["AlarmName"])
    if a is None:
        raise AwsError("ResourceNotFound", "Alarm %s not found" % p["AlarmName"], 404)
    _authorise(world, ctx, "cloudwatch:SetAlarmState", a["AlarmArn"])
    if p["StateValue"] not in ("OK", "ALARM", "INSUFFICIENT_DATA"):
        raise _invalid("StateValue")
    _transition(world, ctx.account, ctx.region, a, p["StateValue"], p["StateReason"])
    return None


def put_metric_data(world, ctx, p):
    _authorise(world, ctx, "cloudwatch:PutMetricData", "*")
    ns = p["Namespace"]
    if ns.startswith("AWS/"):
        raise _invalid("The value AWS/ for parameter Namespace is invalid.")
    for d in p.get("MetricData") or []:
        ts = d.get("Timestamp")
        if isinstance(ts, str):
            from .world import parse_iso8601
            ts = parse_iso8601(ts)
        dims = tuple(sorted((x["Name"], x["Value"]) for x in d.get("Dimensions") or []))
        put_datapoint(world, ctx.account, ctx.region, ns, d["MetricName"],
                      ts if ts is not None else world.now, d.get("Value", 0.0), dims)
    return None


def list_metrics(world, ctx, p):
    out = []
    for (acct, reg, ns, name, dims) in sorted(_metrics(world)):
        if acct != ctx.account or reg != ctx.region:
            continue
        if p.get("Namespace") and ns != p["Namespace"]:
            continue
        if p.get("MetricName") and name != p["MetricName"]:
            continue
        out.append({"Namespace": ns, "MetricName": name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dims]})
    return {"Metrics": out}


OPS = {
    "PutMetricAlarm": put_metric_alarm, "DescribeAlarms": describe_alarms,
    "DeleteAlarms": delete_alarms, "DescribeAlarmHistory": describe_alarm_history,
    "SetAlarmState": set_alarm_state, "PutMetricData": put_metric_data, "ListMetrics": list_metrics,
}


def handle(world, ctx):
    from . import query
    if ctx.operation == "PutMetricData":
        ctx.record = False
    return query.handle(__import__(__name__, fromlist=["OPS"]), "cloudwatch", world, ctx)


# --- evaluation ----------------------------------------------------------------------

def _stat(stat, vals):
    if stat == "Sum":
        return sum(vals)
    if stat == "Average":
        return sum(vals) / len(vals)
    if stat == "Minimum":
        return min(vals)
    if stat == "Maximum":
        return max(vals)
    return float(len(vals))


def _breaches(op, v, thr):
    return {"GreaterThanOrEqualToThreshold": v >= thr, "GreaterThanThreshold": v > thr,
            "LessThanThreshold": v < thr, "LessThanOrEqualToThreshold": v <= thr}[op]


def _transition(world, account, region, a, new, reason, data=None):
    old = a["StateValue"]
    if old == new:
        return
    a["StateValue"], a["StateReason"], a["StateUpdatedTimestamp"] = new, reason, world.now
    a["StateReasonData"] = json.dumps(data or {})
    _history(world, account, region, a["AlarmName"], "StateUpdate",
             "Alarm updated from %s to %s" % (old, new),
             {"oldState": {"stateValue": old}, "newState": {"stateValue": new,
                                                             "stateReason": reason}})
    if not a["ActionsEnabled"]:
        return
    acts = {"ALARM": a["AlarmActions"], "OK": a["OKActions"],
            "INSUFFICIENT_DATA": a["InsufficientDataActions"]}[new]
    from . import sns
    for act in acts:
        if ":sns:" not in act:
            continue
        msg = {"AlarmName": a["AlarmName"], "AlarmDescription": a.get("AlarmDescription"),
               "AWSAccountId": account, "AlarmConfigurationUpdatedTimestamp":
               iso8601(a["AlarmConfigurationUpdatedTimestamp"], millis=True),
               "NewStateValue": new, "NewStateReason": reason,
               "StateChangeTime": iso8601(world.now, millis=True), "Region":
               REGION_NAMES.get(region, region), "AlarmArn": a["AlarmArn"], "OldStateValue": old,
               "OKActions": a["OKActions"], "AlarmActions": a["AlarmActions"],
               "InsufficientDataActions": a["InsufficientDataActions"],
               "Trigger": {"MetricName": a["MetricName"], "Namespace": a["Namespace"],
                           "StatisticType": "Statistic", "Statistic": a["Statistic"].upper(),
                           "Unit": a.get("Unit"), "Dimensions": a["Dimensions"],
                           "Period": a["Period"], "EvaluationPeriods": a["EvaluationPeriods"],
                           "DatapointsToAlarm": a["DatapointsToAlarm"],
                           "ComparisonOperator": a["ComparisonOperator"],
                           "Threshold": a["Threshold"], "TreatMissingData": a["TreatMissingData"],
                           "EvaluateLowSampleCountPercentile": ""}}
        subject = '%s: "%s" in %s' % (new, a["AlarmName"], REGION_NAMES.get(region, region))
        err = sns.service_publish(world, act, "cloudwatch.amazonaws.com", a["AlarmArn"], account,
                                  subject[:100], json.dumps(msg))
        if err is None:
            _history(world, account, region, a["AlarmName"], "Action",
                     "Successfully executed action %s" % act)
        else:
            _history(world, account, region, a["AlarmName"], "Action",
                     "Failed to execute action %s. Received error: \"%s\"" % (act, err),
                     {"actionState": "Failed", "error": err})


def evaluate(world):
    """Evaluate every alarm at world.now."""
    metrics = _metrics(world)
    now = world.now
    for (account, region), alarms in sorted(world.extra.get("cw_alarms", {}).items()):
        for name in sorted(alarms):
            a = alarms[name]
            period = a["Period"]
            end = int(now) // period * period
            dims = tuple(sorted((d["Name"], d["Value"]) for d in a["Dimensions"]))
            pts = metrics.get((account, region, a["Namespace"], a["MetricName"], dims), [])
            bad = good = missing = 0
            for i in range(a["EvaluationPeriods"]):
                lo, hi = end - (i + 1) * period, end - i * period
                vals = [v for ts, v in pts if lo <= ts < hi]
                if not vals:
                    missing += 1
                elif _breaches(a["ComparisonOperator"], _stat(a["Statistic"], vals), a["Threshold"]):
                    bad += 1
                else:
                    good += 1
            tmd = a["TreatMissingData"]
            if tmd == "breaching":
                bad += missing
            elif tmd == "notBreaching":
                good += missing
            elif missing == a["EvaluationPeriods"]:
                if tmd == "ignore":
                    continue
                _transition(world, account, region, a, "INSUFFICIENT_DATA",
                            "Insufficient Data: %d datapoints were unknown." % missing)
                continue
            thr = a["Threshold"]
            if bad >= a["DatapointsToAlarm"]:
                _transition(world, account, region, a, "ALARM",
                            "Threshold Crossed: %d out of the last %d datapoints were %s the "
                            "threshold (%s)." % (bad, a["EvaluationPeriods"],
                                                 a["ComparisonOperator"], thr))
            else:
                _transition(world, account, region, a, "OK",
                            "Threshold Crossed: no datapoints were %s the threshold (%s)."
                            % (a["ComparisonOperator"], thr))


def c_alarm_history(world, body):
    return {"history": [h for h in world.extra.get("cw_history", [])
                        if not body.get("alarm") or h["AlarmName"] == body["alarm"]]}


control.register("alarm_history", c_alarm_history)
