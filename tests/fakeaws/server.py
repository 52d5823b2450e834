#!/usr/bin/python3
"""The fake AWS HTTP server: one loopback port, every service.

    /usr/bin/python3 -m tests.fakeaws --port 0 [--state DIR] [--seed N]

prints "PORT=<n>" as its first stdout line, then serves until SIGTERM/SIGINT
(saving the world to --state DIR on the way out, and loading it at start).

Routing: the service comes from the SigV4 credential scope; S3 is REST-XML
path-style; KMS, CloudTrail and Organizations are JSON 1.1 by X-Amz-Target;
STS is the query protocol (form body).  POST /_fake/<name> (JSON body, no
signature, loopback only) runs control.CONTROL[name](world, body).
"""

import os
import sys

if __name__ == "__main__" and not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    from tests.fakeaws.server import main as _main
    sys.exit(_main(sys.argv[1:]))

import argparse
import importlib
import json
import signal
import socket
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote
from xml.sax.saxutils import escape

from . import auth, control, faults
from .errors import AwsError, ConnectionReset
from .world import World, http_date, parse_iso8601

MAX_BODY = 64 * 1024 * 1024

JSON_TARGETS = {
    "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.": ("cloudtrail", "cloudtrail"),
    "TrentService.": ("kms", "kms"),
    "AWSOrganizationsV20161128.": ("organizations", "orgs"),
    "Logs_20140328.": ("logs", "logs"),
}
# query-protocol services: signing name -> module (STS is hand-written, the others
# are driven by the botocore models in query.py)
QUERY_SERVICES = {"sts": "sts", "iam": "iam", "monitoring": "cloudwatch", "sns": "sns"}
EVENT_SOURCE = {
    "s3": "s3.amazonaws.com", "kms": "kms.amazonaws.com", "cloudtrail": "cloudtrail.amazonaws.com",
    "organizations": "organizations.amazonaws.com", "sts": "sts.amazonaws.com",
    "account": "account.amazonaws.com", "logs": "logs.amazonaws.com",
    "iam": "iam.amazonaws.com", "monitoring": "monitoring.amazonaws.com", "sns": "sns.amazonaws.com",
}
READ_PREFIXES = ("Get", "Describe", "List", "Lookup", "Head", "GenerateDataKey", "Decrypt",
                 "Encrypt", "Validate")
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"

# service modules loaded lazily (B's may appear while the tree is being built)
_modules = {}


def service_module(name):
    m = _modules.get(name)
    if m is None:
        m = importlib.import_module("." + name, __package__)
        _modules[name] = m
    return m


def is_read_only(service, op, method=None):
    if service == "s3":
        return method in ("GET", "HEAD")
    if service == "sts":
        return True
    return op.startswith(READ_PREFIXES)


class Ctx:
    """What a handler knows about the request."""

    def __init__(self):
        self.method = "GET"
        self.raw_path = "/"
        self.path = "/"                 # decoded
        self.query_pairs = []           # decoded [(name, value)]
        self.query = {}                 # decoded name -> first value
        self.headers = {}               # lower name -> [values]
        self.body = b""
        self.host = ""
        self.source_ip = "127.0.0.1"
        self.service = None
        self.proto = None               # "s3" | "json" | "query"
        self.operation = None
        self.region = "us-east-1"
        self.account = None             # caller's account id (None: anonymous)
        self.access_key = None          # world.AccessKey
        self.identity = None            # dict type/arn/accountId/principalId/accessKeyId
        self.principal = {"AWS": "*"}   # for policy.py
        self.request_id = ""
        self.event_params = None        # handler may override what record_event stores
        self.event_response = None
        self.record = True              # handler may set False (no management event)
        self.user_agent = ""

    def header(self, name, default=None):
        v = self.headers.get(name.lower())
        return v[0] if v else default


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: without TCP_NODELAY the
    # body waits for the client's delayed ACK (~40 ms per request)
    disable_nagle_algorithm = True
    server_version = "AmazonS3"
    sys_version = ""

    def log_message(self, fmt, *args):
        if self.server.verbose:
            # never the query string: presigned URLs carry credentials and tokens
            path = getattr(self, "path", "") or ""
            line = (fmt % args).replace(path, path.split("?", 1)[0]) if path else fmt % args
            sys.stderr.write("fakeaws: %s\n" % line)

    def do_GET(self):
        self.dispatch()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_GET

    # --- plumbing ---
    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                if len(out) + size > MAX_BODY:
                    raise AwsError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400)
                out += self.rfile.read(size)
                self.rfile.readline(16)
            return bytes(out)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise AwsError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, headers, body):
        self.send_response(status)
        hs = {k.lower(): (k, v) for k, v in headers.items()}
        for k, v in hs.values():
            if k.lower() == "content-length":
                continue
            self.send_header(k, str(v))
        if "date" not in hs:
            self.send_header("Date", http_date(time.time()))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _reset(self):
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # --- error envelopes ---
    def _error(self, ctx, e):
        rid = ctx.request_id
        headers = dict(e.headers)
        if ctx.proto == "json":
            key = "Message" if ctx.service == "cloudtrail" else "message"
            doc = {"__type": e.code, key: e.message}
            doc.update(e.extra)
            headers.update({"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": rid})
            return e.status, headers, json.dumps(doc).encode()
        if ctx.proto == "rest-json":
            # Account Management: the code in x-amzn-ErrorType, the body {"message"}
            doc = {"message": e.message}
            doc.update(e.extra)
            status = e.status
            if e.code in ("UnrecognizedClientException", "InvalidSignatureException",
                          "IncompleteSignatureException", "MissingAuthenticationTokenException",
                          "ExpiredTokenException"):
                status = 403
            headers.update({"Content-Type": "application/json", "x-amzn-RequestId": rid,
                            "x-amzn-ErrorType": e.code})
            return status, headers, json.dumps(doc).encode()
        if ctx.proto == "query":
            body = ('<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n    <Code>%s</Code>\n'
                    '    <Message>%s</Message>\n  </Error>\n  <RequestId>%s</RequestId>\n</ErrorResponse>\n'
                    % (STS_NS, "Sender" if e.sender else "Receiver", escape(e.code),
                       escape(e.message), rid))
            headers.update({"Content-Type": "text/xml", "x-amzn-RequestId": rid})
            return e.status, headers, body.encode()
        # S3
        extra = "".join("<%s>%s</%s>" % (k, escape(str(v)), k) for k, v in e.extra.items())
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
                '%s<RequestId>%s</RequestId><HostId>%s</HostId></Error>'
                % (escape(e.code), escape(e.message), extra, rid[:16].upper().replace("-", ""),
                   "fakeaws"))
        headers.update({"Content-Type": "application/xml",
                        "x-amz-request-id": rid[:16].upper().replace("-", ""),
                        "x-amz-id-2": "fakeaws"})
        return e.status, headers, body.encode()

    # --- the request ---
    def dispatch(self):
        world = self.server.world
        ctx = Ctx()
        ctx.method = self.command
        raw = self.path
        if raw.startswith("http://") or raw.startswith("https://"):
            raw = "/" + raw.split("/", 3)[3] if raw.count("/") >= 3 else "/"
        ctx.raw_path, _, rawq = raw.partition("?")
        ctx.path = unquote(ctx.raw_path)
        pairs = []
        if rawq:
            for part in rawq.split("&"):
                if not part:
                    continue
                k, _, v = part.partition("=")
                pairs.append((unquote(k), unquote(v)))
        ctx.query_pairs = pairs
        ctx.query = {}
        for k, v in pairs:
            ctx.query.setdefault(k, v)
        hd = {}
        for k, v in self.headers.items():
            hd.setdefault(k.lower(), []).append(v)
        ctx.headers = hd
        ctx.host = self.headers.get("Host", "")
        ctx.source_ip = self.client_address[0]
        ctx.user_agent = self.headers.get("User-Agent", "")
        ctx.request_id = world.new_request_id()
        try:
            try:
                ctx.body = self._read_body()
            except (ValueError, OSError):
                self.close_connection = True
                return
            if ctx.path.startswith("/_fake/"):
                return self._control(world, ctx)
            status, headers, body = self._serve(world, ctx)
        except ConnectionReset:
            self._reset()
            return
        except AwsError as e:
            status, headers, body = self._error(ctx, e)
            self._after(world, ctx, e)
        except Exception:
            traceback.print_exc()
            e = AwsError("InternalError" if ctx.proto == "s3" else "InternalFailure",
                         "We encountered an internal error. Please try again.", 500, sender=False)
            status, headers, body = self._error(ctx, e)
        try:
            self._send(status, headers, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _control(self, world, ctx):
        if not (ctx.source_ip.startswith("127.") or ctx.source_ip == "::1"):
            return self._send(403, {"Content-Type": "application/json"}, b'{"error":"loopback only"}')
        name = ctx.path[len("/_fake/"):]
        fn = control.CONTROL.get(name)
        if fn is None:
            return self._send(404, {"Content-Type": "application/json"},
                              json.dumps({"error": "unknown control operation '%s'" % name}).encode())
        try:
            body = json.loads(ctx.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            with world.lock:
                out = fn(world, body)
            status, doc = 200, out if out is not None else {}
        except (ValueError, KeyError, TypeError, AwsError) as e:
            status, doc = 400, {"error": "%s: %s" % (type(e).__name__, e)}
        except Exception as e:
            traceback.print_exc()
            status, doc = 500, {"error": "%s: %s" % (type(e).__name__, e)}
        self._send(status, {"Content-Type": "application/json"}, json.dumps(doc, default=str).encode())

    def _serve(self, world, ctx):
        # 1. protocol and service
        target = ctx.header("x-amz-target")
        scope = auth.scope_of(ctx)
        if target:
            ctx.proto = "json"
            for prefix, (svc, mod) in JSON_TARGETS.items():
                if target.startswith(prefix):
                    ctx.service, ctx.operation, modname = svc, target[len(prefix):], mod
                    break
            else:
                raise AwsError("UnknownOperationException", "", 400)
        elif scope and scope[3] == "s3":
            ctx.proto, ctx.service = "s3", "s3"
        elif scope and scope[3] == "account":
            ctx.proto, ctx.service = "rest-json", "account"
            ctx.operation = service_module("account").route(ctx)
            if ctx.operation is None:
                raise AwsError("UnknownOperationException", "", 404)
        elif scope and scope[3] in QUERY_SERVICES:
            ctx.proto, ctx.service = "query", scope[3]
        elif (not scope and ctx.method == "POST"
                                               and b"Action=" in ctx.body[:4096]
                                               and not ctx.raw_path.strip("/")):
            ctx.proto, ctx.service = "query", "sts"
        elif scope:
            ctx.proto = "json" if scope[3] in ("kms", "cloudtrail", "organizations", "logs") else "query"
            raise AwsError("UnknownOperationException" if ctx.proto == "json" else "InvalidAction",
                           "service '%s' is not served by the fake" % scope[3], 400)
        else:
            ctx.proto, ctx.service = "s3", "s3"
        if scope:
            ctx.region = scope[2]
            if scope[3] != ctx.service:
                raise auth._err_incomplete(ctx.proto, "Credential should be scoped to correct "
                                           "service: '%s'." % ctx.service)

        if ctx.proto == "query":
            params = {}
            ctype = ctx.header("content-type", "")
            src = ctx.body.decode("utf-8", "replace") if "form" in ctype or ctx.body else ""
            for part in src.split("&"):
                if part:
                    k, _, v = part.partition("=")
                    params[unquote(k.replace("+", " "))] = unquote(v.replace("+", " "))
            for k, v in ctx.query_pairs:
                params.setdefault(k, v)
            ctx.params = params
            ctx.operation = params.get("Action")
        elif ctx.proto == "s3":
            s3 = service_module("s3")
            ctx.operation = s3.route(ctx)

        # 2. signature (STS AssumeRoleWithWebIdentity is unsigned)
        if (ctx.proto == "query" and ctx.operation == "AssumeRoleWithWebIdentity"
                and not ctx.header("authorization")):
            key = None
        else:
            key = auth.verify(world, ctx, "json" if ctx.proto == "rest-json" else ctx.proto)
        if key is not None:
            ctx.access_key = key
            ctx.account = key.account
            ctx.identity = key.identity()
            ctx.principal = key.principal()
        else:
            ctx.identity = {"type": "AWSAccount", "principalId": "", "accountId": "anonymous",
                            "arn": "", "accessKeyId": ""}

        # 3. faults (may sleep, raise AwsError or ConnectionReset)
        faults.before(world, ctx)

        # 4. the service
        with world.lock:
            if ctx.proto == "json":
                try:
                    doc = json.loads(ctx.body or b"{}")
                except ValueError:
                    raise AwsError("SerializationException", "Start of structure or map found "
                                   "where not expected.", 400)
                if not isinstance(doc, dict):
                    raise AwsError("SerializationException", "body must be a JSON object", 400)
                ctx.event_params = doc
                mod = service_module(modname)
                if getattr(ctx, "drop", False):      # faults: a write that does not take
                    status, out = 200, {}
                else:
                    status, out = mod.handle(world, ctx, ctx.operation, doc)
                body = json.dumps(out if out is not None else {}).encode()
                headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": ctx.request_id}
                if ctx.event_response is None and not is_read_only(ctx.service, ctx.operation):
                    ctx.event_response = out or None
            elif ctx.proto == "rest-json":
                try:
                    doc = json.loads(ctx.body or b"{}")
                except ValueError:
                    raise AwsError("SerializationException", "body is not JSON", 400)
                ctx.event_params = doc
                status, out = service_module("account").handle(world, ctx, ctx.operation, doc)
                body = json.dumps(out).encode() if out is not None else b""
                headers = {"Content-Type": "application/json", "x-amzn-RequestId": ctx.request_id}
            elif ctx.proto == "query":
                if not ctx.operation:
                    raise AwsError("MissingAction", "Missing Action", 400)
                p = dict(ctx.params)
                p.pop("Action", None)
                p.pop("Version", None)
                ctx.event_params = p
                if ctx.service == "sts":
                    status, xml = service_module("sts").handle(world, ctx, ctx.operation, ctx.params)
                elif getattr(ctx, "drop", False):    # faults: a write that does not take
                    from . import query
                    status, xml = query.respond(QUERY_SERVICES[ctx.service], ctx.operation, None,
                                                ctx.request_id)
                else:
                    status, xml = service_module(QUERY_SERVICES[ctx.service]).handle(world, ctx)
                body = xml.encode() if isinstance(xml, str) else xml
                headers = {"Content-Type": "text/xml", "x-amzn-RequestId": ctx.request_id}
            else:
                s3 = service_module("s3")
                if getattr(ctx, "drop", False):      # faults: a write that does not take
                    status, headers, body = 200, {}, b""
                else:
                    status, headers, body = s3.handle(world, ctx)
                headers.setdefault("x-amz-request-id", ctx.request_id[:16].upper().replace("-", ""))
                headers.setdefault("x-amz-id-2", "fakeaws")
            self._after(world, ctx, None)
        if getattr(ctx, "lost_reply", False):       # faults: done, but the reply is lost
            raise ConnectionReset()
        return status, headers, body

    def _after(self, world, ctx, err):
        """Count the call and record the management event."""
        if ctx.service is None or ctx.operation is None:
            return
        acct = ctx.account or "anonymous"
        ro = is_read_only(ctx.service, ctx.operation, ctx.method)
        with world.lock:
            world.record_call(acct, ctx.service, ctx.operation, not ro)
            if ctx.service == "s3" and getattr(ctx, "bucket", None):
                from . import accesslog
                kind = "OBJECT" if getattr(ctx, "key", None) else "BUCKET"
                accesslog.note(world, ctx.bucket, "REST.%s.%s" % (ctx.method, kind),
                               getattr(ctx, "key", None),
                               ctx.identity.get("arn") or "-" if ctx.identity else "-",
                               status=err.status if err else 200, remote=ctx.source_ip,
                               method=ctx.method, user_agent=ctx.user_agent or "-")
            if ctx.account is None or not ctx.record:
                return
            if ctx.service == "s3" and not getattr(ctx, "management", False):
                return                      # object-level ops are data events
            if ro and ctx.operation not in ("AssumeRole", "AssumeRoleWithWebIdentity"):
                return
            params = ctx.event_params
            if ctx.service == "s3" and params is None:
                params = {"bucketName": getattr(ctx, "bucket", None), "Host": ctx.host}
            world.record_event(ctx.account, ctx.region, EVENT_SOURCE[ctx.service], ctx.operation,
                               ctx.identity, params, None if err else ctx.event_response,
                               ctx.source_ip, error_code=err.code if err else None,
                               error_message=err.message if err else None, read_only=ro,
                               user_agent=ctx.user_agent or "aws-cli", request_id=ctx.request_id)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, addr, world, verbose=False):
        super().__init__(addr, Handler)
        self.world = world
        self.verbose = verbose


def load_service_modules():
    """Import every service module that exists so they register control ops."""
    for name in ("s3", "sts", "orgs", "kms", "cloudtrail", "delivery", "tamper", "account", "breaks",
                 "logs", "iam", "sns", "cloudwatch", "accesslog"):
        try:
            service_module(name)
        except ModuleNotFoundError as e:
            if e.name != "%s.%s" % (__package__, name):
                raise


def make_world(args):
    w = None
    if args.state:
        w = World.load(args.state)
    if w is None:
        start = parse_iso8601(args.start) if args.start else None
        w = World(seed=args.seed, **({"start": start} if start is not None else {}))
    return w


def main(argv=None):
    ap = argparse.ArgumentParser(prog="fakeaws", description="local fake AWS for trailkeep's tests")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--state", help="directory to load the world from and save it to on exit")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", help="simulated start time (ISO 8601), default 2026-01-01T00:00:00Z")
    ap.add_argument("--auth-clock", help="clock for SigV4 skew and token expiry: 'real' (default), "
                    "'sim' (the simulated clock) or an ISO 8601 time")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.stderr.write("fakeaws: refusing to listen on '%s': loopback only\n" % args.host)
        return 2
    load_service_modules()
    world = make_world(args)
    world.state_dir = args.state
    if args.auth_clock:
        if args.auth_clock == "real":
            world.auth_clock = None
        elif args.auth_clock == "sim":
            world.auth_clock = "sim"
        else:
            try:
                world.auth_clock = parse_iso8601(args.auth_clock)
            except ValueError:
                sys.stderr.write("fakeaws: bad --auth-clock '%s'\n" % args.auth_clock)
                return 2
    srv = Server((args.host, args.port), world, args.verbose)
    sys.stdout.write("PORT=%d\n" % srv.server_address[1])
    sys.stdout.flush()

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
        if args.state:
            world.save(args.state)
    return 0
