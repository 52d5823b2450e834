"""Fault injection, configured with the control op `set_faults`.

set_faults body (every field optional; a new call replaces the whole config):
  {"latency_ms": 0,                  added delay per request
   "seed": 0,                        seeds the fault RNG (reproducible)
   "slowdown_rate": 0.0,             S3: 503 SlowDown
   "throttle_rate": 0.0,             JSON: 400 ThrottlingException (Organizations: TooManyRequestsException;
                                     STS: 400 Throttling)
   "error_rate": 0.0,                500 InternalError / InternalFailure
   "reset_rate": 0.0,                close the socket without a response
   "services": ["s3", ...],          rates apply only to these services (default all)
   "forced": [{"account": "222222222222"?, "service": "kms"?, "operation": "CreateKey"?,
               "code": "AccessDenied", "message": "...", "status": 403, "count": N?}],
                                     code "reset": close the socket without a response;
                                     "lost_reply": perform the call, then close the socket (the
                                     write happened, the reply is lost);
                                     "drop": answer 200 without performing the call (a write
                                     that does not take)
   "fail_after": N,                  every call after the N-th signed call (from now) fails
   "fail_after_code": "InternalError" (default; "reset" closes the socket)}
Rates are probabilities per request, drawn from the seeded RNG in arrival order.
"""

import random
import time

from .errors import AwsError, ConnectionReset


class Faults:
    def __init__(self, cfg=None):
        cfg = dict(cfg or {})
        self.cfg = cfg
        self.latency = float(cfg.get("latency_ms", 0)) / 1000.0
        self.rng = random.Random(cfg.get("seed", 0))
        self.rates = {k: float(cfg.get(k, 0.0)) for k in
                      ("slowdown_rate", "throttle_rate", "error_rate", "reset_rate")}
        self.services = set(cfg.get("services") or [])
        self.forced = [dict(f) for f in cfg.get("forced") or []]
        self.fail_after = cfg.get("fail_after")
        self.fail_after_code = cfg.get("fail_after_code", "InternalError")
        self.served = 0
        self.injected = {}
        # during the added latency: requests in flight at once, per
        # "service:Operation", and the most seen (stats "max_in_flight")
        self.in_flight = {}
        self.max_in_flight = {}
        # per "service:Operation", the other operations seen in their added
        # latency at the same time (stats "in_flight_with")
        self.in_flight_with = {}

    def active(self):
        return (self.latency or any(self.rates.values()) or self.forced
                or self.fail_after is not None)


def _throttle(ctx):
    if ctx.proto == "s3":
        return AwsError("SlowDown", "Please reduce your request rate.", 503, sender=False)
    if ctx.service == "organizations":
        return AwsError("TooManyRequestsException", "AWS Organizations can't complete your "
                        "request because it received too many requests.", 400)
    if ctx.proto == "query":
        return AwsError("Throttling", "Rate exceeded", 400)
    return AwsError("ThrottlingException", "Rate exceeded", 400)


def _internal(ctx):
    if ctx.proto == "s3":
        return AwsError("InternalError", "We encountered an internal error. Please try again.",
                        500, sender=False)
    if ctx.service == "kms":
        return AwsError("KMSInternalException", "An internal error occurred.", 500, sender=False)
    if ctx.service == "cloudtrail":
        return AwsError("InternalFailure", "An internal error occurred.", 500, sender=False)
    return AwsError("ServiceException" if ctx.service == "organizations" else "InternalFailure",
                    "An internal error occurred.", 500, sender=False)


def before(world, ctx):
    f = world.faults
    if f is None or not f.active():
        return
    with world.lock:
        f.served += 1
        n = f.served
        kind = None
        err = None
        if f.fail_after is not None and n > int(f.fail_after):
            kind = "fail_after"
            if f.fail_after_code == "reset":
                err = "reset"
            else:
                err = _internal(ctx) if f.fail_after_code in ("InternalError", "InternalFailure") \
                    else AwsError(f.fail_after_code, "forced failure (fail_after)", 500)
        if err is None:
            for fo in f.forced:
                if fo.get("account") and fo["account"] != ctx.account:
                    continue
                if fo.get("service") and fo["service"] != ctx.service:
                    continue
                if fo.get("operation") and fo["operation"] != ctx.operation:
                    continue
                if fo.get("count") is not None:
                    if fo["count"] <= 0:
                        continue
                    fo["count"] -= 1
                kind = "forced"
                if fo.get("code") in ("reset", "lost_reply", "drop"):
                    err = fo["code"]
                else:
                    err = AwsError(fo.get("code", "AccessDenied"), fo.get("message", "forced error"),
                                   int(fo.get("status", 400)))
                break
        if err is None and (not f.services or ctx.service in f.services):
            r = f.rng.random()
            acc = 0.0
            for name in ("reset_rate", "slowdown_rate", "throttle_rate", "error_rate"):
                acc += f.rates[name]
                if r < acc:
                    kind = name
                    if name == "reset_rate":
                        err = "reset"
                    elif name == "slowdown_rate":
                        err = _throttle(ctx) if ctx.proto == "s3" else _internal(ctx)
                        if ctx.proto == "s3":
                            err = AwsError("SlowDown", "Please reduce your request rate.", 503,
                                           sender=False)
                        else:
                            err = AwsError("ServiceUnavailable" if ctx.proto == "query"
                                           else "ServiceUnavailableException",
                                           "Service unavailable", 503, sender=False)
                    elif name == "throttle_rate":
                        err = _throttle(ctx)
                    else:
                        err = _internal(ctx)
                    break
        if kind:
            f.injected[kind] = f.injected.get(kind, 0) + 1
        latency = f.latency
    if latency:
        key = "%s:%s" % (ctx.service, ctx.operation)
        with world.lock:
            n = f.in_flight[key] = f.in_flight.get(key, 0) + 1
            f.max_in_flight[key] = max(f.max_in_flight.get(key, 0), n)
            for other, m in f.in_flight.items():
                if m and other != key:
                    f.in_flight_with.setdefault(key, set()).add(other)
                    f.in_flight_with.setdefault(other, set()).add(key)
        try:
            time.sleep(latency)
        finally:
            with world.lock:
                f.in_flight[key] -= 1
    if err in ("lost_reply", "drop"):
        setattr(ctx, err, True)     # server.py: performs the call then resets / skips it
        return
    if err == "reset":
        raise ConnectionReset()
    if err is not None:
        raise err
