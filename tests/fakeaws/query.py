"""The AWS query protocol for IAM, CloudWatch and SNS, driven by Debian's
botocore service models: params() turns the form body into the operation's
input structure, respond() serialises a result dict as the XML the model
describes (and raises on a member the model does not have, so the fake cannot
invent fields).  STS keeps its hand-written sts.py.
"""

import base64
import datetime
from xml.sax.saxutils import escape

import botocore.loaders
import botocore.model

from .errors import AwsError

SERVICES = {"iam": "iam", "monitoring": "cloudwatch", "sns": "sns"}   # signing name -> model
NS = {"iam": "https://iam.amazonaws.com/doc/2010-05-08/",
      "cloudwatch": "http://monitoring.amazonaws.com/doc/2010-08-01/",
      "sns": "http://sns.amazonaws.com/doc/2010-03-31/"}

_models = {}


def model(name):
    m = _models.get(name)
    if m is None:
        data = botocore.loaders.Loader().load_service_model(name, "service-2")
        m = botocore.model.ServiceModel(data, name)
        _models[name] = m
    return m


def operation(name, op):
    try:
        return model(name).operation_model(op)
    except botocore.model.OperationNotFoundError:
        return None


# --- input ---------------------------------------------------------------------------

def _in(shape, params, prefix):
    """The value of shape found under prefix in the flat params, or None."""
    t = shape.type_name
    if t == "structure":
        out = {}
        for name, m in shape.members.items():
            v = _in(m, params, prefix + name if not prefix else prefix + "." + name)
            if v is not None:
                out[name] = v
        return out if out or any(k == prefix or k.startswith(prefix + ".") for k in params) else None
    if t == "list":
        flat = shape.serialization.get("flattened")
        base = prefix if flat else prefix + ".member"
        out = []
        i = 1
        while True:
            v = _in(shape.member, params, "%s.%d" % (base, i))
            if v is None:
                break
            out.append(v)
            i += 1
        if not out and params.get(prefix) == "":
            return []
        return out if out else None
    if t == "map":
        flat = shape.serialization.get("flattened")
        base = prefix if flat else prefix + ".entry"
        kn = shape.key.serialization.get("name", "key")
        vn = shape.value.serialization.get("name", "value")
        out = {}
        i = 1
        while True:
            k = params.get("%s.%d.%s" % (base, i, kn))
            if k is None:
                break
            out[k] = _in(shape.value, params, "%s.%d.%s" % (base, i, vn))
            i += 1
        return out if out else None
    v = params.get(prefix)
    if v is None:
        return None
    try:
        if t in ("integer", "long"):
            return int(v)
        if t in ("double", "float"):
            return float(v)
        if t == "boolean":
            if v not in ("true", "false"):
                raise ValueError(v)
            return v == "true"
        if t == "blob":
            return base64.b64decode(v)
    except ValueError:
        raise AwsError("ValidationError", "Invalid value '%s' for %s" % (v, prefix), 400)
    return v


def params(service, op, flat):
    """The operation's input as a dict (by member name), checking required members."""
    om = operation(service, op)
    if om is None or om.input_shape is None:
        return {}
    shape = om.input_shape
    out = {}
    for name, m in shape.members.items():
        v = _in(m, flat, name)
        if v is not None:
            out[name] = v
    for r in shape.required_members:
        if r not in out:
            raise AwsError("ValidationError", "1 validation error detected: Value null at '%s' "
                           "failed to satisfy constraint: Member must not be null"
                           % (r[0].lower() + r[1:]), 400)
    return out


# --- output --------------------------------------------------------------------------

def _ts(v):
    if isinstance(v, (int, float)):
        d = datetime.datetime.fromtimestamp(float(v), tz=datetime.timezone.utc)
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)
    return str(v)


def _out(shape, value, tag, ind):
    pad = "  " * ind
    t = shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            raise TypeError("%s: expected a structure" % tag)
        inner = []
        for k, v in value.items():
            if v is None:
                continue
            m = shape.members.get(k)
            if m is None:
                raise KeyError("member '%s' is not in %s" % (k, shape.name))
            inner.append(_out(m, v, m.serialization.get("name", k), ind + 1))
        return "%s<%s>\n%s%s</%s>\n" % (pad, tag, "".join(inner), pad, tag)
    if t == "list":
        if not isinstance(value, (list, tuple)):
            raise TypeError("%s: expected a list" % tag)
        mname = shape.member.serialization.get("name", "member")
        if shape.serialization.get("flattened"):
            return "".join(_out(shape.member, v, tag, ind) for v in value)
        inner = "".join(_out(shape.member, v, mname, ind + 1) for v in value)
        return "%s<%s>\n%s%s</%s>\n" % (pad, tag, inner, pad, tag)
    if t == "map":
        if not isinstance(value, dict):
            raise TypeError("%s: expected a map" % tag)
        kn = shape.key.serialization.get("name", "key")
        vn = shape.value.serialization.get("name", "value")
        entries = []
        for k in sorted(value):
            entries.append("%s  <entry>\n%s%s%s  </entry>\n" % (
                pad, _out(shape.key, k, kn, ind + 2), _out(shape.value, value[k], vn, ind + 2), pad))
        if shape.serialization.get("flattened"):
            raise TypeError("flattened maps are not served")
        return "%s<%s>\n%s%s</%s>\n" % (pad, tag, "".join(entries), pad, tag)
    if t == "timestamp":
        s = _ts(value)
    elif t == "boolean":
        s = "true" if value else "false"
    elif t in ("double", "float"):
        s = repr(float(value))
    elif t in ("integer", "long"):
        s = str(int(value))
    elif t == "blob":
        s = base64.b64encode(value).decode()
    else:
        s = str(value)
    return "%s<%s>%s</%s>\n" % (pad, tag, escape(s), tag)


def respond(service, op, result, request_id):
    """(200, XML bytes) of result (a dict by member name, or None) for op."""
    om = operation(service, op)
    body = ""
    if om.output_shape is not None:
        wrapper = om._operation_model.get("output", {}).get("resultWrapper", op + "Result")
        body = _out(om.output_shape, result or {}, wrapper, 1)
    xml = ('<%sResponse xmlns="%s">\n%s  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n'
           '  </ResponseMetadata>\n</%sResponse>\n' % (op, NS[service], body, request_id, op))
    return 200, xml.encode()


def handle(module, service, world, ctx):
    """Dispatch a query request of service (model name) to module.OPS."""
    op = ctx.operation
    fn = module.OPS.get(op)
    if fn is None:
        raise AwsError("InvalidAction", "The action %s is not valid for this web service." % op, 400)
    if ctx.access_key is None:
        raise AwsError("MissingAuthenticationToken", "Request is missing Authentication Token", 403)
    p = params(service, op, ctx.params)
    ctx.event_params = p
    result = fn(world, ctx, p)
    if result is not None and not op.startswith(("Get", "List", "Describe")):
        ctx.event_response = result
    return respond(service, op, result, ctx.request_id)
