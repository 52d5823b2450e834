#!/usr/bin/python3
"""scriptserver.py: a loopback HTTP/1.1 server that answers by script, for the
transport tests (retries, errors, limits, streaming) and the HTTP benchmark.

    scriptserver.py --port-file F [--latency-ms N]   serve until killed
    scriptserver.py                                  self-test (PASS:/FAIL: lines)

Requests:
  ANY /s/<uid>/<step>[,<step>...][/anything]   attempt n of <uid> runs step n
                                               (the last step repeats)
  GET /count/<uid>       -> number of requests seen for <uid>
  GET /stats             -> {"requests": N, "signed": N, "sig_bad": N, "bad": [...]}
  GET /last              -> the last /s/ request: {"method", "path", "headers", "body"}
  anything else          -> 200 "ok"
Steps: 200 | json | 503 | 500 | slowdown | throttle | denied | skew | notfound |
       redirect | reset | trunc | big<N> | badxml | hugeerr | hdrs | sleep<ms> |
       queryerr | jsondenied | wrongjson

Every request that carries a SigV4 Authorization header is re-signed with
botocore (Debian python3-botocore) using the test secret and compared; the
count of mismatches is in /stats.
"""
import argparse
import asyncio
import json
import os
import socket
import struct
import sys
import threading
import urllib.request

SECRET = {"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
          "ASIATEMP": "tempsecret"}

STATE = {"count": {}, "requests": 0, "signed": 0, "sig_bad": 0, "bad": [], "last": None}


def check_sig(method, target, headers, body):
    auth = headers.get("authorization")
    if not auth or not auth.startswith("AWS4-HMAC-SHA256 "):
        return
    STATE["signed"] += 1
    try:
        from botocore.auth import SigV4Auth, S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        akid, date, region, service, _ = parts["Credential"].split("/")
        signed = parts["SignedHeaders"].split(";")
        creds = Credentials(akid, SECRET.get(akid, "unknown"), headers.get("x-amz-security-token"))
        cls = S3SigV4Auth if service == "s3" else SigV4Auth
        signer = cls(creds, service, region)
        hdrs = {h: headers[h] for h in signed if h in headers}
        req = AWSRequest(method=method, url="http://%s%s" % (headers.get("host", ""), target),
                         headers=hdrs, data=body)
        req.context["timestamp"] = headers.get("x-amz-date", "")
        cr = signer.canonical_request(req)
        sts = signer.string_to_sign(req, cr)
        sig = signer.signature(sts, req)
        if sig != parts["Signature"]:
            STATE["sig_bad"] += 1
            STATE["bad"].append({"target": target, "canonical_request": cr})
    except Exception as e:  # a malformed header is a failure too
        STATE["sig_bad"] += 1
        STATE["bad"].append({"target": target, "error": repr(e)})


def s3err(status, code, msg, extra=""):
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message>%s"
            "<RequestId>REQ123</RequestId><HostId>host</HostId></Error>" % (code, msg, extra)).encode()
    return status, [("Content-Type", "application/xml")], body


def step_response(step):
    if step == "200":
        return 200, [("Content-Type", "text/plain")], b"ok"
    if step == "json":
        return 200, [("Content-Type", "application/x-amz-json-1.1")], b'{"ok":true}'
    if step == "wrongjson":
        return 200, [("Content-Type", "application/x-amz-json-1.1")], b'[1,2'
    if step == "503":
        return s3err(503, "ServiceUnavailable", "Please reduce your request rate.")
    if step == "500":
        return s3err(500, "InternalError", "We encountered an internal error.")
    if step == "slowdown":
        return s3err(503, "SlowDown", "Please reduce your request rate.")
    if step == "throttle":
        return 400, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", "TR1")], \
            b'{"__type":"com.amazonaws#ThrottlingException:extra","message":"Rate exceeded"}'
    if step == "jsondenied":
        return 400, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", "JD1")], \
            b'{"__type":"AccessDeniedException","Message":"not allowed"}'
    if step == "queryerr":
        return 403, [("Content-Type", "text/xml")], (
            b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            b'<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.'
            b'</Message></Error><RequestId>Q1</RequestId></ErrorResponse>')
    if step == "denied":
        return s3err(403, "AccessDenied", "Access Denied")
    if step == "notfound":
        return s3err(404, "NoSuchKey", "The specified key does not exist.")
    if step == "skew":
        return s3err(403, "RequestTimeTooSkewed",
                     "The difference between the request time and the current time is too large.")
    if step == "redirect":
        st, h, b = s3err(301, "PermanentRedirect", "The bucket you are attempting to access must be addressed "
                         "using the specified endpoint.")
        return st, h + [("x-amz-bucket-region", "eu-west-1"), ("Location", "https://example.invalid/")], b
    if step == "badxml":
        return 400, [("Content-Type", "application/xml")], b"<Error><Code>Oops</Co"
    if step == "hugeerr":
        return 400, [("Content-Type", "application/xml")], b"<Error><Code>" + b"A" * (9 << 20) + b"</Code></Error>"
    if step.startswith("big"):
        n = int(step[3:])
        return 200, [("Content-Type", "application/octet-stream")], bytes(i % 251 for i in range(n))
    if step == "hdrs":
        return 200, [("X-Many-%d" % i, "v") for i in range(300)], b"ok"
    return 200, [], b"ok"


STS_CREDS = ("<Credentials><AccessKeyId>ASIATEMP</AccessKeyId><SecretAccessKey>tempsecret</SecretAccessKey>"
             "<SessionToken>tok-%d</SessionToken><Expiration>2023-11-14T23:13:20.000Z</Expiration></Credentials>")


def metadata(method, path, headers, body):
    """fake IMDSv2, container credentials and STS (AssumeRole, web identity, GetCallerIdentity)"""
    creds = {"Code": "Success", "AccessKeyId": "ASIAIMDS", "SecretAccessKey": "imdssecret",
             "Token": "imdstoken", "Expiration": "2023-11-14T23:13:20Z"}
    if path == "/latest/api/token":
        if method != "PUT" or "x-aws-ec2-metadata-token-ttl-seconds" not in headers:
            return 400, [], b"bad token request"
        return 200, [], b"IMDSTOKEN"
    if path.startswith("/latest/meta-data/iam/security-credentials/"):
        if headers.get("x-aws-ec2-metadata-token") != "IMDSTOKEN":
            return 401, [], b""
        role = path[len("/latest/meta-data/iam/security-credentials/"):]
        if role == "":
            return 200, [], b"role1\n"
        if role == "role1":
            return 200, [], json.dumps(creds).encode()
        return 404, [], b""
    if path == "/container/creds-numexp":
        # Expiration as a number: not a time, so not "never expires"
        creds.update(AccessKeyId="ASIANUM", Expiration=1700000000)
        return 200, [], json.dumps(creds).encode()
    if path == "/container/creds":
        if headers.get("authorization") != "ctok":
            return 403, [], b'{"message":"denied"}'
        creds["AccessKeyId"] = "ASIACONT"
        return 200, [], json.dumps(creds).encode()
    if path.startswith("/sts"):
        from urllib.parse import parse_qs
        form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        STATE["last"] = {"method": method, "path": path, "headers": headers, "body": body.decode()}
        act = form.get("Action")
        n = STATE["count"].get("sts-" + str(act), 0) + 1
        STATE["count"]["sts-" + str(act)] = n
        ns = ' xmlns="https://sts.amazonaws.com/doc/2011-06-15/"'
        if act == "AssumeRole" and "authorization" in headers:
            x = ("<AssumeRoleResponse%s><AssumeRoleResult>%s<AssumedRoleUser><Arn>%s/s</Arn>"
                 "<AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser></AssumeRoleResult>"
                 "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>"
                 % (ns, STS_CREDS % n, form.get("RoleArn", "")))
            return 200, [("Content-Type", "text/xml")], x.encode()
        if act == "AssumeRoleWithWebIdentity" and "authorization" not in headers \
                and form.get("WebIdentityToken") == "webtoken":
            x = ("<AssumeRoleWithWebIdentityResponse%s><AssumeRoleWithWebIdentityResult>%s"
                 "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>" % (ns, STS_CREDS % n))
            return 200, [("Content-Type", "text/xml")], x.encode()
        if act == "GetCallerIdentity" and "authorization" in headers:
            x = ("<GetCallerIdentityResponse%s><GetCallerIdentityResult><Arn>arn:aws:iam::111111111111:user/t</Arn>"
                 "<UserId>AIDA</UserId><Account>111111111111</Account></GetCallerIdentityResult>"
                 "</GetCallerIdentityResponse>" % ns)
            return 200, [("Content-Type", "text/xml")], x.encode()
        return step_response("queryerr")
    return 404, [], b""


async def handle(reader, writer, latency):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for l in lines[1:]:
                if not l:
                    continue
                k, _, v = l.partition(":")
                k = k.strip().lower()
                v = v.strip()
                headers[k] = headers[k] + "," + v if k in headers else v
            n = int(headers.get("content-length", "0"))
            body = await reader.readexactly(n) if n else b""
            STATE["requests"] += 1
            check_sig(method, target, headers, body)
            if latency:
                await asyncio.sleep(latency / 1000.0)
            path = target.split("?", 1)[0]
            parts = path.split("/")
            close = False
            if len(parts) >= 4 and parts[1] == "s":
                uid = parts[2]
                steps = parts[3].split(",")
                i = STATE["count"].get(uid, 0)
                STATE["count"][uid] = i + 1
                STATE["last"] = {"method": method, "path": target, "headers": headers,
                                 "body": body.decode("utf-8", "replace")}
                step = steps[min(i, len(steps) - 1)]
                if step == "reset":
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    return
                if step.startswith("sleep"):
                    await asyncio.sleep(int(step[5:]) / 1000.0)
                    step = "200"
                if step == "trunc":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
                    await writer.drain()
                    writer.transport.abort()
                    return
                status, hdrs, out = step_response(step)
            elif path.startswith("/latest/") or path.startswith("/container/") or path.startswith("/sts"):
                status, hdrs, out = metadata(method, path, headers, body)
            elif len(parts) >= 3 and parts[1] == "count":
                status, hdrs, out = 200, [], str(STATE["count"].get(parts[2], 0)).encode()
            elif path == "/stats":
                status, hdrs, out = 200, [], json.dumps({k: STATE[k] for k in
                                                         ("requests", "signed", "sig_bad", "bad")}).encode()
            elif path == "/last":
                status, hdrs, out = 200, [], json.dumps(STATE["last"]).encode()
            else:
                status, hdrs, out = 200, [], b"ok"
            resp = ["HTTP/1.1 %d X" % status, "Content-Length: %d" % len(out),
                    "Date: Mon, 01 Jan 2024 00:00:00 GMT"]
            resp += ["%s: %s" % h for h in hdrs]
            writer.write(("\r\n".join(resp) + "\r\n\r\n").encode())
            if method != "HEAD":
                writer.write(out)
            await writer.drain()
            if close:
                break
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def serve(port_file, latency, ready=None):
    srv = await asyncio.start_server(lambda r, w: handle(r, w, latency), "127.0.0.1", 0, backlog=512)
    port = srv.sockets[0].getsockname()[1]
    if port_file:
        tmp = port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, port_file)
    if ready:
        ready(port)
    async with srv:
        await srv.serve_forever()


def selftest():
    box = {}
    ev = threading.Event()

    def ready(p):
        box["port"] = p
        ev.set()
    threading.Thread(target=lambda: asyncio.run(serve(None, 0, ready)), daemon=True).start()
    ev.wait(10)
    base = "http://127.0.0.1:%d" % box["port"]
    fails = 0

    def get(path):
        try:
            with urllib.request.urlopen(base + path, timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def check(what, cond):
        nonlocal fails
        print(("PASS: " if cond else "FAIL: ") + what)
        fails += 0 if cond else 1
    check("scriptserver: steps advance per uid", [get("/s/a/503,200")[0] for _ in range(3)] == [503, 200, 200])
    check("scriptserver: count", get("/count/a") == (200, b"3"))
    st, body = get("/s/b/denied")
    check("scriptserver: S3 error body", st == 403 and b"<Code>AccessDenied</Code>" in body)
    check("scriptserver: big body", len(get("/s/c/big5000")[1]) == 5000)
    return 1 if fails else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file")
    ap.add_argument("--latency-ms", type=int, default=0)
    a = ap.parse_args()
    if not a.port_file:
        sys.exit(selftest())
    try:
        asyncio.run(serve(a.port_file, a.latency_ms))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
