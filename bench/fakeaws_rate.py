#!/usr/bin/python3
"""Rate of small signed S3 GETs the fake AWS serves.

    /usr/bin/python3 bench/fakeaws_rate.py [--connections 64] [--seconds 5] [--objects 100]

Starts a fake (port 0), seeds an org, creates a bucket with small objects,
signs one GET per object with botocore (header SigV4, signed once: the
X-Amz-Date stays within the 15-minute skew window), then replays them over N
keep-alive connections (asyncio, one process) and prints requests/s.  Every
response must be 200 with the right body length, or the run fails.
"""

import argparse
import asyncio
import os
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOP)

from botocore.auth import S3SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

from tests.fakeaws.control import FakeAWS  # noqa: E402


def signed(method, url, creds, body=b"", headers=None):
    r = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    S3SigV4Auth(creds, "s3", "us-east-1").add_auth(r)
    return r.prepare()


def raw_request(prep, host):
    path = prep.url.split(host, 1)[1]
    lines = ["%s %s HTTP/1.1" % (prep.method, path), "Host: %s" % host]
    for k, v in prep.headers.items():
        if k.lower() != "host":
            lines.append("%s: %s" % (k, v.decode() if isinstance(v, bytes) else v))
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def worker(host, port, reqs, sizes, deadline, counts, idx):
    reader, writer = await asyncio.open_connection(host, port)
    n = 0
    i = idx
    try:
        while time.monotonic() < deadline:
            j = i % len(reqs)
            writer.write(reqs[j])
            status = await reader.readline()
            if not status.startswith(b"HTTP/1.1 200"):
                raise RuntimeError("unexpected status %r" % status)
            length = None
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length or 0)
            if len(body) != sizes[j]:
                raise RuntimeError("short body")
            n += 1
            i += 7
    finally:
        writer.close()
    counts[idx] = n


async def run(host, port, reqs, sizes, conns, seconds):
    counts = [0] * conns
    t0 = time.monotonic()
    deadline = t0 + seconds
    await asyncio.gather(*[worker(host, port, reqs, sizes, deadline, counts, i) for i in range(conns)])
    return sum(counts), time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--objects", type=int, default=100)
    args = ap.parse_args()
    with FakeAWS(seed=1) as fa:
        org = fa.post("seed_org", members=1)
        m = org["management"]
        creds = Credentials(m["access_key_id"], m["secret_access_key"])
        host = "127.0.0.1:%d" % fa.port
        base = "http://%s/bench-bucket" % host
        import urllib.request
        for prep in [signed("PUT", base, creds)] + [
                signed("PUT", "%s/obj/%04d" % (base, i), creds, body=b"x" * (100 + i))
                for i in range(args.objects)]:
            req = urllib.request.Request(prep.url, data=prep.body or b"", method=prep.method,
                                         headers={k: v for k, v in prep.headers.items()})
            urllib.request.urlopen(req).read()
        reqs = [raw_request(signed("GET", "%s/obj/%04d" % (base, i), creds), host) for i in range(args.objects)]
        sizes = [100 + i for i in range(args.objects)]
        n, dt = asyncio.run(run("127.0.0.1", fa.port, reqs, sizes, args.connections, args.seconds))
        print("fakeaws: %d signed S3 GETs in %.2f s over %d keep-alive connections: %.0f requests/s"
              % (n, dt, args.connections, n / dt))


if __name__ == "__main__":
    main()
