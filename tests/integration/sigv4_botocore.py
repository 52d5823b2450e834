#!/usr/bin/python3
"""sigv4_botocore.py: trailkeep's signer against botocore's, on random requests.

Generates a few thousand S3 (S3SigV4Auth), JSON (cloudtrail/kms, SigV4Auth)
and STS query (SigV4Auth) requests with odd keys and values (unicode, spaces,
+, =, ~, %, &, empty values, valueless parameters, repeated query keys,
repeated and mixed-case headers, dot segments in non-S3 paths), signs them
with Debian's botocore at a fixed time, runs `trailkeep sign --batch` on the
same requests and compares the canonical request and the signature.  Some
queries are handed to trailkeep in an equivalent but non-canonical encoding
(lower-case hex, %7E) and some S3 keys unencoded, to exercise its own
encoding.  Seeded RNG (SIGV4_SEED, default 20240501).  Prints PASS:/FAIL:.
"""
import datetime
import json
import os
import random
import subprocess
import sys
import tempfile
from unittest import mock
from urllib.parse import quote

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

TOP = os.environ.get("TOP", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TRAILKEEP = os.environ.get("TRAILKEEP", os.path.join(TOP, "trailkeep"))
SEED = int(os.environ.get("SIGV4_SEED", "20240501"))
N = int(os.environ.get("SIGV4_N", "2000"))   # per credential set (two sets)

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEBYaDH/token+with/odd=chars=="

ALPHA = "abcXYZ019-_.~ +=%&/*!$'()[]:@,;?" + "\u1234\u00e9\u00df" + "\U0001F600"
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1"]

NOW = [datetime.datetime(2024, 5, 1)]


def rstr(rng, lo=0, hi=12):
    return "".join(rng.choice(ALPHA) for _ in range(rng.randint(lo, hi)))


def enc(s):
    return quote(s, safe="-_.~")


def uglify(q, rng):
    """An equivalent query string that is not in canonical form."""
    out = []
    i = 0
    while i < len(q):
        if q[i] == "%" and rng.random() < 0.5:
            out.append(q[i:i + 3].lower())
            i += 3
            continue
        if q[i] == "~" and rng.random() < 0.5:
            out.append("%7E")
        else:
            out.append(q[i])
        i += 1
    return "".join(out)


def rquery(rng):
    pairs = []
    for _ in range(rng.randint(0, 6)):
        k = rstr(rng, 1, 8)
        kind = rng.random()
        if kind < 0.15:
            pairs.append(enc(k))                       # valueless
        elif kind < 0.3:
            pairs.append(enc(k) + "=")                 # empty value
        else:
            pairs.append(enc(k) + "=" + enc(rstr(rng)))
        if rng.random() < 0.2:                         # repeated key
            pairs.append(enc(k) + "=" + enc(rstr(rng)))
    return "&".join(pairs)


def rheaders(rng):
    hs = []
    names = ["X-Amz-Meta-Odd", "x-amz-meta-odd", "X-Custom", "Accept", "User-Agent", "X-Amz-Meta-" + "Z" * 3,
             "Content-Type", "x-amz-acl", "Cache-Control"]
    for _ in range(rng.randint(0, 5)):
        v = "".join(rng.choice("ab c  d\tEF=+/~%&:;,\"'") for _ in range(rng.randint(0, 14)))
        hs.append([rng.choice(names), v])
    # Content-Type at most once (JSON services set it themselves)
    seen = False
    out = []
    for n, v in hs:
        if n == "Content-Type":
            if seen:
                continue
            seen = True
        out.append([n, v])
    return out


class CapS3(S3SigV4Auth):
    def canonical_request(self, request):
        self.last = super().canonical_request(request)
        return self.last


class CapV4(SigV4Auth):
    def canonical_request(self, request):
        self.last = super().canonical_request(request)
        return self.last


def gen(rng):
    kind = rng.choice(["s3", "s3", "json", "sts"])
    region = rng.choice(REGIONS)
    dom = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    headers = rheaders(rng)
    body = ""
    given_path = None
    if kind == "s3":
        service = "s3"
        method = rng.choice(["GET", "PUT", "HEAD", "DELETE"])
        bucket = "bucket-" + str(rng.randint(0, 999))
        key = rstr(rng, 1, 20)
        if rng.random() < 0.5:
            host = "%s.s3.%s.%s" % (bucket, region, dom)
            raw_path = "/" + key
        else:
            host = rng.choice(["s3.%s.%s" % (region, dom), "127.0.0.1:9000", "localhost:4566"])
            raw_path = "/%s/%s" % (bucket, key)
        path = quote(raw_path, safe="/~")
        if not set("%?#") & set(raw_path) and rng.random() < 0.3:
            given_path = raw_path                      # trailkeep encodes it
        if method == "PUT":
            body = rstr(rng, 0, 40)
        query = rquery(rng)
    elif kind == "json":
        service = rng.choice(["cloudtrail", "kms"])
        method = "POST"
        host = "%s.%s.%s" % (service, region, dom)
        path = "/"
        if rng.random() < 0.3:
            path = quote("/" + "/".join(rng.choice(["a", ".", "..", "", "b c", "d%e"]) for _ in range(4)),
                         safe="/~")
        target = ("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails"
                  if service == "cloudtrail" else "TrentService.ListKeys")
        headers = [h for h in headers if h[0] != "Content-Type"]
        headers += [["Content-Type", "application/x-amz-json-1.1"], ["X-Amz-Target", target]]
        body = json.dumps({"Name": rstr(rng)}, ensure_ascii=rng.random() < 0.5)
        query = ""
    else:
        service = "sts"
        host = "sts.%s.%s" % (region, dom)
        path = "/"
        if rng.random() < 0.5:
            method = "POST"
            headers = [h for h in headers if h[0] != "Content-Type"]
            headers.append(["Content-Type", "application/x-www-form-urlencoded; charset=utf-8"])
            body = "Action=GetCallerIdentity&Version=2011-06-15&X=" + enc(rstr(rng))
            query = ""
        else:
            method = "GET"
            query = "Action=GetCallerIdentity&Version=2011-06-15&" + rquery(rng)
            query = query.rstrip("&")
    date = datetime.datetime(2024, 1, 1) + datetime.timedelta(seconds=rng.randint(0, 3 * 365 * 86400))
    url = "https://%s%s" % (host, path) + ("?" + query if query else "")
    tk_query = uglify(query, rng) if query and rng.random() < 0.3 else query
    tk_url = "https://%s%s" % (host, given_path or path) + ("?" + tk_query if tk_query else "")
    return dict(kind=kind, service=service, region=region, method=method, url=url, tk_url=tk_url,
                headers=headers, body=body, date=date)


def botocore_sign(r, creds):
    req = AWSRequest(method=r["method"], url=r["url"], data=r["body"].encode("utf-8"))
    for n, v in r["headers"]:
        req.headers[n] = v                             # appends: repeated headers stay
    auth = (CapS3 if r["service"] == "s3" else CapV4)(creds, r["service"], r["region"])
    NOW[0] = r["date"]
    auth.add_auth(req)
    sig = req.headers["Authorization"].rsplit("Signature=", 1)[1]
    return auth.last, sig


def run(token, rng, failures):
    creds = Credentials(AKID, SECRET, token)
    reqs = [gen(rng) for _ in range(N)]
    lines = []
    for r in reqs:
        lines.append(json.dumps({"service": r["service"], "region": r["region"], "method": r["method"],
                                 "url": r["tk_url"], "headers": r["headers"], "body": r["body"],
                                 "date": r["date"].strftime("%Y%m%dT%H%M%SZ")}))
    env = dict(os.environ, AWS_ACCESS_KEY_ID=AKID, AWS_SECRET_ACCESS_KEY=SECRET,
               HOME=tempfile.mkdtemp(prefix="tk-sigv4-"), AWS_EC2_METADATA_DISABLED="true")
    env.pop("AWS_PROFILE", None)
    if token:
        env["AWS_SESSION_TOKEN"] = token
    else:
        env.pop("AWS_SESSION_TOKEN", None)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    p = subprocess.run([TRAILKEEP, "sign", "--batch", path], env=env, capture_output=True, text=True)
    os.unlink(path)
    if p.returncode != 0:
        failures.append("trailkeep sign --batch exited %d: %s" % (p.returncode, p.stderr.strip()))
        return 0
    outs = p.stdout.splitlines()
    if len(outs) != len(reqs):
        failures.append("%d answers for %d requests" % (len(outs), len(reqs)))
        return 0
    if token and (token in p.stdout or SECRET in p.stdout or SECRET in p.stderr):
        failures.append("a secret appears in the output of trailkeep sign")
    ok = 0
    for r, line in zip(reqs, outs):
        got = json.loads(line)
        creq, sig = botocore_sign(r, creds)
        if token:
            creq = creq.replace(token, "<redacted>")
        if "error" in got:
            failures.append("%s %s %s: trailkeep error %s" % (r["service"], r["method"], r["url"], got["error"]))
        elif got["canonical_request"] != creq:
            failures.append("%s %s %s: canonical request differs\n--- botocore\n%s\n--- trailkeep\n%s"
                            % (r["service"], r["method"], r["url"], creq, got["canonical_request"]))
        elif got["signature"] != sig:
            failures.append("%s %s: signature differs" % (r["service"], r["url"]))
        else:
            ok += 1
    return ok


def main():
    rng = random.Random(SEED)
    if not os.path.exists(TRAILKEEP):
        print("FAIL: sigv4_botocore: no trailkeep at %s" % TRAILKEEP)
        return 1
    fake = mock.MagicMock()
    fake.datetime.utcnow.side_effect = lambda: NOW[0]
    fake.datetime.now.side_effect = lambda *a: NOW[0]
    rc = 0
    with mock.patch("botocore.auth.datetime", fake):
        for label, token in (("long-term keys", None), ("session token", TOKEN)):
            failures = []
            ok = run(token, rng, failures)
            if failures or ok != N:
                rc = 1
                print("FAIL: sigv4 vs botocore, %s: %d of %d agree (seed %d)" % (label, ok, N, SEED))
                for f in failures[:5]:
                    print("  " + f.replace("\n", "\n  "))
            else:
                print("PASS: sigv4 vs botocore, %s: %d random S3/JSON/query requests agree" % (label, N))
    return rc


if __name__ == "__main__":
    sys.exit(main())
