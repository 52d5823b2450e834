#!/usr/bin/python3
"""IAM policy evaluator for S3 bucket policies, KMS key policies and role trust
policies.

evaluate(policy, principal, action, resource, context)
    -> ("Allow" | "Deny" | "Implicit", sid_of_deciding_statement_or_None)

principal: {"AWS": "<principal ARN>", "Account": "<id>", "RoleArn": "<role ARN>"}
           {"Service": "cloudtrail.amazonaws.com"}, {"Federated": "..."},
           {"AWS": "*"} (anonymous).
resource:  an ARN, or None (trust policies: statements without Resource match).
context:   {"aws:SourceArn": "...", "s3:x-amz-acl": "...", "kms:EncryptionContext:k": "..."};
           a value may be a list (multi-valued key).  Keys are case-insensitive.

CLI: /usr/bin/python3 -m tests.fakeaws.policy CASES.json
    CASES.json is a list of {policy, principal, action, resource, context};
    prints one decision (Allow|Deny|Implicit) per line.
"""

import ipaddress
import json
import re
import sys
from functools import lru_cache


class PolicyError(Exception):
    pass


def _as_list(v):
    if v is None:
        return []
    if isinstance(v, list):
        return v
    return [v]


@lru_cache(maxsize=4096)
def _glob_re(pattern, ignore_case):
    out = []
    for ch in pattern:
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out) + r"\Z", re.S | (re.I if ignore_case else 0))


def glob_match(pattern, value, ignore_case=False):
    if not isinstance(pattern, str) or not isinstance(value, str):
        return False
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return _glob_re(pattern, ignore_case).match(value) is not None


def arn_match(pattern, value):
    """ArnLike/ArnEquals: the first five colon-separated components compared
    one by one (wildcards stay within a component), the rest as a glob."""
    if not isinstance(pattern, str) or not isinstance(value, str):
        return False
    if pattern == "*":
        return True
    p = pattern.split(":", 5)
    v = value.split(":", 5)
    if len(p) != 6 or len(v) != 6:
        return glob_match(pattern, value)
    return all(glob_match(a, b) for a, b in zip(p, v))


# --- principals --------------------------------------------------------------

def _account_of(arn):
    if arn.isdigit() and len(arn) == 12:
        return arn
    parts = arn.split(":")
    if len(parts) >= 6 and parts[0] == "arn":
        return parts[4]
    return None


def _aws_principal_matches(spec, principal):
    """One Principal.AWS value against the request principal."""
    if spec == "*":
        return True
    req = principal.get("AWS")
    if req is None or req == "*":
        return False
    acct = principal.get("Account") or _account_of(req)
    if spec.isdigit() or spec.endswith(":root"):
        return _account_of(spec) == acct
    if spec == req:
        return True
    if principal.get("RoleArn") and spec == principal["RoleArn"]:
        return True
    return False


def principal_matches(stmt_principal, principal):
    if stmt_principal == "*":
        return True
    if not isinstance(stmt_principal, dict):
        return False
    for kind, vals in stmt_principal.items():
        for spec in _as_list(vals):
            if not isinstance(spec, str):
                continue
            if kind == "AWS":
                if _aws_principal_matches(spec, principal):
                    return True
            elif kind in ("Service", "Federated", "CanonicalUser"):
                if spec == "*" or spec.lower() == str(principal.get(kind, "")).lower():
                    return True
    return False


# --- conditions --------------------------------------------------------------

def _str_eq(a, b):
    return a == b


def _str_eq_ic(a, b):
    return a.lower() == b.lower()


def _str_like(pv, cv):
    return glob_match(pv, cv)


def _num(x):
    return float(x)


def _date(x):
    from .world import parse_iso8601
    if isinstance(x, (int, float)) or (isinstance(x, str) and re.fullmatch(r"\d+(\.\d+)?", x)):
        return float(x)
    return parse_iso8601(x)


def _ip(pv, cv):
    try:
        return ipaddress.ip_address(cv) in ipaddress.ip_network(pv, strict=False)
    except ValueError:
        return False


def _bool(pv, cv):
    return str(pv).lower() == str(cv).lower()


def _cmp(conv, fn):
    def f(pv, cv):
        try:
            return fn(conv(cv), conv(pv))
        except (ValueError, TypeError):
            return False
    return f


# name -> (match(policy_value, context_value), negated)
OPERATORS = {
    "StringEquals": (lambda p, c: _str_eq(p, c), False),
    "StringNotEquals": (lambda p, c: _str_eq(p, c), True),
    "StringEqualsIgnoreCase": (lambda p, c: _str_eq_ic(p, c), False),
    "StringNotEqualsIgnoreCase": (lambda p, c: _str_eq_ic(p, c), True),
    "StringLike": (_str_like, False),
    "StringNotLike": (_str_like, True),
    "ArnEquals": (arn_match, False),
    "ArnLike": (arn_match, False),
    "ArnNotEquals": (arn_match, True),
    "ArnNotLike": (arn_match, True),
    "Bool": (_bool, False),
    "NumericEquals": (_cmp(_num, lambda c, p: c == p), False),
    "NumericNotEquals": (_cmp(_num, lambda c, p: c == p), True),
    "NumericLessThan": (_cmp(_num, lambda c, p: c < p), False),
    "NumericLessThanEquals": (_cmp(_num, lambda c, p: c <= p), False),
    "NumericGreaterThan": (_cmp(_num, lambda c, p: c > p), False),
    "NumericGreaterThanEquals": (_cmp(_num, lambda c, p: c >= p), False),
    "DateEquals": (_cmp(_date, lambda c, p: c == p), False),
    "DateNotEquals": (_cmp(_date, lambda c, p: c == p), True),
    "DateLessThan": (_cmp(_date, lambda c, p: c < p), False),
    "DateLessThanEquals": (_cmp(_date, lambda c, p: c <= p), False),
    "DateGreaterThan": (_cmp(_date, lambda c, p: c > p), False),
    "DateGreaterThanEquals": (_cmp(_date, lambda c, p: c >= p), False),
    "IpAddress": (_ip, False),
    "NotIpAddress": (_ip, True),
    "BinaryEquals": (lambda p, c: p == c, False),
}


def _ctx_lookup(context, key):
    if key in context:
        return True, context[key]
    lk = key.lower()
    for k, v in context.items():
        if k.lower() == lk:
            return True, v
    return False, None


def _scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v) if isinstance(v, (int, float)) else v


def _op_parse(name):
    qual = None
    if name.startswith("ForAnyValue:"):
        qual, name = "any", name[len("ForAnyValue:"):]
    elif name.startswith("ForAllValues:"):
        qual, name = "all", name[len("ForAllValues:"):]
    if_exists = False
    if name.endswith("IfExists"):
        if_exists, name = True, name[:-len("IfExists")]
    return qual, name, if_exists


def condition_op_known(name):
    qual, base, _ = _op_parse(name)
    return base == "Null" or base in OPERATORS


def _eval_one(op_name, key, pvals, context):
    qual, base, if_exists = _op_parse(op_name)
    present, cval = _ctx_lookup(context, key)
    pvals = [_scalar(p) for p in _as_list(pvals)]
    if base == "Null":
        want_null = str(pvals[0]).lower() == "true" if pvals else True
        is_null = (not present) or cval is None or cval == []
        return want_null == is_null
    if base not in OPERATORS:
        raise PolicyError("unknown condition operator '%s'" % op_name)
    match, negated = OPERATORS[base]
    cvals = [_scalar(c) for c in _as_list(cval)] if present else []

    def sat(cv):
        hit = any(match(pv, cv) for pv in pvals)
        return (not hit) if negated else hit

    if qual == "all":
        return all(sat(cv) for cv in cvals)     # vacuously true when missing/empty
    if not present or not cvals:
        if if_exists:
            return True
        return negated and qual is None
    return any(sat(cv) for cv in cvals) if qual == "any" or not negated else all(sat(cv) for cv in cvals)


def conditions_match(cond, context):
    if not cond:
        return True
    if not isinstance(cond, dict):
        raise PolicyError("Condition must be an object")
    for op_name, kv in cond.items():
        if not isinstance(kv, dict):
            raise PolicyError("condition '%s' must be an object" % op_name)
        for key, pvals in kv.items():
            if not _eval_one(op_name, key, pvals, context):
                return False
    return True


# --- statements --------------------------------------------------------------

def _action_match(patterns, action):
    return any(glob_match(p, action, ignore_case=True) for p in _as_list(patterns))


def _resource_match(patterns, resource):
    return any(p == "*" or arn_match(p, resource) if p.startswith("arn:") or p == "*"
               else glob_match(p, resource) for p in _as_list(patterns) if isinstance(p, str))


def statement_applies(st, principal, action, resource, context):
    if "Principal" in st:
        if not principal_matches(st["Principal"], principal):
            return False
    elif "NotPrincipal" in st:
        if principal_matches(st["NotPrincipal"], principal):
            return False
    if "Action" in st:
        if not _action_match(st["Action"], action):
            return False
    elif "NotAction" in st:
        if _action_match(st["NotAction"], action):
            return False
    else:
        return False
    if resource is not None:
        if "Resource" in st:
            if not _resource_match(st["Resource"], resource):
                return False
        elif "NotResource" in st:
            if _resource_match(st["NotResource"], resource):
                return False
    return conditions_match(st.get("Condition"), context)


@lru_cache(maxsize=1024)
def _parse_cached(text):
    return parse(text)


def parse(policy):
    if isinstance(policy, (bytes, bytearray)):
        policy = policy.decode("utf-8")
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError as e:
            raise PolicyError("policy is not valid JSON: %s" % e)
    if not isinstance(policy, dict):
        raise PolicyError("policy must be a JSON object")
    sts = policy.get("Statement")
    if sts is None:
        raise PolicyError("missing required field Statement")
    sts = _as_list(sts)
    for st in sts:
        if not isinstance(st, dict):
            raise PolicyError("Statement must be an object")
        if st.get("Effect") not in ("Allow", "Deny"):
            raise PolicyError("invalid Effect")
    return policy


def evaluate(policy, principal, action, resource, context=None):
    """("Allow"|"Deny"|"Implicit", sid).  Explicit deny wins."""
    if isinstance(policy, str):
        doc = _parse_cached(policy)
    else:
        doc = parse(policy)
    context = context or {}
    allow_sid = None
    allowed = False
    for st in _as_list(doc.get("Statement")):
        try:
            applies = statement_applies(st, principal or {}, action, resource, context)
        except PolicyError:
            applies = False
        if not applies:
            continue
        if st["Effect"] == "Deny":
            return "Deny", st.get("Sid")
        if not allowed:
            allowed, allow_sid = True, st.get("Sid")
    return ("Allow", allow_sid) if allowed else ("Implicit", None)


def validate(policy_text, kind="s3", bucket=None):
    """An error message for a malformed resource/trust policy, or None.
    kind: "s3" (needs Principal and Resource inside the bucket), "kms", "trust"."""
    try:
        doc = parse(policy_text)
    except PolicyError as e:
        return str(e)
    for st in _as_list(doc["Statement"]):
        if "Action" not in st and "NotAction" not in st:
            return "Missing required field Action"
        if kind in ("s3", "trust", "kms") and "Principal" not in st and "NotPrincipal" not in st:
            return "Missing required field Principal"
        if kind == "s3":
            res = st.get("Resource", st.get("NotResource"))
            if res is None:
                return "Missing required field Resource"
            for r in _as_list(res):
                if not isinstance(r, str):
                    return "Policy has invalid resource"
                if bucket and r != "*" and not (r == "arn:aws:s3:::" + bucket or
                                               r.startswith("arn:aws:s3:::" + bucket + "/")):
                    if not glob_match(r, "arn:aws:s3:::" + bucket) and \
                            not r.startswith("arn:aws:s3:::" + bucket + "*"):
                        return "Policy has invalid resource"
            for a in _as_list(st.get("Action", st.get("NotAction"))):
                if not isinstance(a, str) or not (a == "*" or a.lower().startswith("s3:")):
                    return "Policy has invalid action"
        cond = st.get("Condition")
        if cond is not None:
            if not isinstance(cond, dict):
                return "Invalid Condition"
            for op in cond:
                if not condition_op_known(op):
                    return "Invalid Condition type : %s" % op
    return None


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: python3 -m tests.fakeaws.policy CASES.json\n")
        return 2
    with open(argv[1], "rb") as f:
        cases = json.load(f)
    for c in cases:
        try:
            d, _ = evaluate(c["policy"], c.get("principal") or {}, c["action"],
                            c.get("resource"), c.get("context") or {})
        except PolicyError as e:
            d = "Error"
            sys.stderr.write("policy error: %s\n" % e)
        print(d)
    return 0


if __name__ == "__main__":
    if not __package__:
        import os
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
        from tests.fakeaws.policy import main as _m
        sys.exit(_m(sys.argv))
    sys.exit(main(sys.argv))
