"""CloudWatch Logs filter patterns, the JSON form (metric filters on CloudTrail logs).

    { ($.eventName = StopLogging) || ($.eventName = DeleteTrail) }
    { $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS
      && $.eventType != "AwsServiceEvent" }
    { ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }

Grammar (what AWS documents for JSON patterns):
    pattern  := '{' expr '}'
    expr     := and ( '||' and )*
    and      := term ( '&&' term )*
    term     := '(' expr ')' | selector cmp value | selector 'NOT' 'EXISTS' | selector 'EXISTS'
              | selector 'IS' ('NULL' | 'TRUE' | 'FALSE')
    selector := '$' ( '.' name | '[' digits ']' )+
    cmp      := '=' | '!=' | '<' | '>' | '<=' | '>='
    value    := '"' chars '"' | bare word (no blanks, parentheses, '&', '|', '}')
String comparisons (= and !=) take '*' as a wildcard anywhere; a number compares
numerically with <, >, <=, >=, = and !=.  A comparison on a field that does not
exist (or is an object or list) never matches, != included.  parse() raises
ValueError for anything else (text and space-delimited patterns are not served:
PutMetricFilter answers InvalidParameterException for them).
"""

import json
import re

_TOKEN = re.compile(r'\s*(\|\||&&|!=|<=|>=|=|<|>|\(|\)|\{|\}|"(?:[^"\\]|\\.)*"|[^\s()&|{}"=!<>]+)')


def _tokens(s):
    out = []
    i = 0
    s = s.rstrip()
    while i < len(s):
        m = _TOKEN.match(s, i)
        if not m:
            raise ValueError("invalid character at %d" % i)
        out.append(m.group(1))
        i = m.end()
    return out


def _selector(tok):
    if not tok.startswith("$"):
        raise ValueError("expected a selector, got '%s'" % tok)
    path = []
    rest = tok[1:]
    if not rest:
        raise ValueError("empty selector")
    for m in re.finditer(r"\.([A-Za-z0-9_@:-]+)|\[(\d+)\]|(.)", rest):
        if m.group(3) is not None:
            raise ValueError("bad selector '%s'" % tok)
        path.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
    return tuple(path)


class _P:
    def __init__(self, toks):
        self.t = toks
        self.i = 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self, want=None):
        tok = self.peek()
        if tok is None or (want is not None and tok != want):
            raise ValueError("expected %s, got %s" % (want or "a token", tok))
        self.i += 1
        return tok

    def expr(self):
        node = self.conj()
        while self.peek() == "||":
            self.take()
            node = ("or", node, self.conj())
        return node

    def conj(self):
        node = self.term()
        while self.peek() == "&&":
            self.take()
            node = ("and", node, self.term())
        return node

    def term(self):
        if self.peek() == "(":
            self.take()
            node = self.expr()
            self.take(")")
            return node
        sel = _selector(self.take())
        tok = self.take()
        up = tok.upper()
        if up == "NOT":
            self.take_word("EXISTS")
            return ("notexists", sel)
        if up == "EXISTS":
            return ("exists", sel)
        if up == "IS":
            w = self.take().upper()
            if w not in ("NULL", "TRUE", "FALSE"):
                raise ValueError("IS %s" % w)
            return ("is", sel, w)
        if tok not in ("=", "!=", "<", ">", "<=", ">="):
            raise ValueError("expected a comparison, got '%s'" % tok)
        v = self.take()
        if v in ("(", ")", "&&", "||", "{", "}"):
            raise ValueError("expected a value, got '%s'" % v)
        if v.startswith('"'):
            value = json.loads(v)
            quoted = True
        else:
            value = v
            quoted = False
        if tok in ("<", ">", "<=", ">="):
            try:
                value = float(value)
            except ValueError:
                raise ValueError("'%s' needs a number" % tok)
        return ("cmp", sel, tok, value, quoted)

    def take_word(self, w):
        tok = self.take()
        if tok.upper() != w:
            raise ValueError("expected %s" % w)


def parse(pattern):
    """The parsed JSON filter pattern, or ValueError."""
    if not isinstance(pattern, str):
        raise ValueError("pattern is not a string")
    toks = _tokens(pattern.strip())
    if not toks or toks[0] != "{" or toks[-1] != "}":
        raise ValueError("only JSON filter patterns '{ ... }' are served")
    p = _P(toks[1:-1])
    node = p.expr()
    if p.peek() is not None:
        raise ValueError("unexpected '%s'" % p.peek())
    return node


_MISSING = object()


def _get(doc, path):
    cur = doc
    for k in path:
        if isinstance(k, int):
            if not isinstance(cur, list) or k >= len(cur):
                return _MISSING
            cur = cur[k]
        else:
            if not isinstance(cur, dict) or k not in cur:
                return _MISSING
            cur = cur[k]
    return cur


def _wild(pat, s):
    rx = "^" + ".*".join(re.escape(x) for x in pat.split("*")) + "$"
    return re.match(rx, s, re.S) is not None


def _eval(node, doc):
    kind = node[0]
    if kind == "or":
        return _eval(node[1], doc) or _eval(node[2], doc)
    if kind == "and":
        return _eval(node[1], doc) and _eval(node[2], doc)
    if kind == "exists":
        return _get(doc, node[1]) is not _MISSING
    if kind == "notexists":
        return _get(doc, node[1]) is _MISSING
    if kind == "is":
        v = _get(doc, node[1])
        return {"NULL": v is None, "TRUE": v is True, "FALSE": v is False}[node[2]]
    _, sel, op, value, quoted = node
    v = _get(doc, sel)
    if v is _MISSING or v is None or isinstance(v, (dict, list)):
        return False
    if isinstance(value, float):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return False
        return {"<": v < value, ">": v > value, "<=": v <= value, ">=": v >= value}[op]
    if isinstance(v, bool):
        s = "true" if v else "false"
    elif isinstance(v, (int, float)):
        if not quoted:
            try:
                num = float(value)
                return (float(v) == num) == (op == "=")
            except ValueError:
                pass
        s = json.dumps(v)
    else:
        s = v
    hit = _wild(value, s) if "*" in value else s == value
    return hit if op == "=" else not hit


def matches(node, message):
    """Does the log event message (JSON text) match the parsed pattern?"""
    try:
        doc = json.loads(message)
    except ValueError:
        return False
    if not isinstance(doc, dict):
        return False
    return _eval(node, doc)


def field_value(message, selector):
    """metricValue '$.x': the number at that selector, or None."""
    try:
        doc = json.loads(message)
        v = _get(doc, _selector(selector))
    except ValueError:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)
