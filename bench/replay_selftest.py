#!/usr/bin/python3
"""bench/replay_selftest.py: checks the replay server itself (not a
benchmark; make bench runs it first so a wrong server never produces
figures): listings page through common prefixes and keys without repeating
or losing any (ListObjectsV2 continuation tokens and v1 markers), pipelined
keep-alive requests and Connection: close, a request that never completes,
an oversized body and garbage, then trailkeep finds exactly the expected
findings on the tampered world.  Prints PASS:/FAIL: lines; exit 1 on a
failure.  Run the server under ASan with REPLAY_SERVER=path."""
import json
import os
import re
import socket
import sys
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import replaylib as rl  # noqa: E402

fails = 0


def check(cond, what, detail=""):
    global fails
    print("%s: %s%s" % ("PASS" if cond else "FAIL", what, "" if cond else " (%s)" % str(detail)[:500]))
    fails += 0 if cond else 1


def pages(url, query, token_param, max_keys):
    got, tok, n = [], None, 0
    while n < 1000:
        q = query + "&max-keys=%d" % max_keys
        if tok:
            q += "&%s=%s" % (token_param, urllib.parse.quote(tok, safe=""))
        x = urllib.request.urlopen("%s/org-trail-logs?%s" % (url, q)).read().decode()
        got += re.findall(r"<Key>(.*?)</Key>", x) + re.findall(r"<CommonPrefixes><Prefix>(.*?)</Prefix>", x)
        t = re.findall(r"<Next(?:ContinuationToken|Marker)>(.*?)</", x)
        tok = t[0] if t else None
        n += 1
        if not tok:
            return got
    return got


def main():
    if os.environ.get("REPLAY_SERVER"):
        rl.SERVER = os.environ["REPLAY_SERVER"]
    wdir, info = rl.world("integrity-10x3x24-tampered", "--accounts", "10", "--regions", "3", "--hours", "24",
                          "--tamper")
    org = "AWSLogs%2F" + info["org_id"] + "%2F"
    for lat in (0, 5):
        with rl.Server(wdir, lat) as srv:
            for v2, param in ((True, "continuation-token"), (False, "marker")):
                q = ("list-type=2&" if v2 else "") + "prefix=" + org + "&delimiter=%2F"
                got = pages(srv.url, q, param, 3)
                check(len(got) == len(set(got)) == len(info["accounts"]),
                      "latency %d: %s pages the %d account prefixes 3 at a time, each once"
                      % (lat, "ListObjectsV2" if v2 else "ListObjects", len(info["accounts"])), got)
            cell = org + info["accounts"][3] + "%2FCloudTrail-Digest%2Feu-west-1%2F"
            got = pages(srv.url, "list-type=2&prefix=" + cell, "continuation-token", 5)
            check(len(got) == len(set(got)) == info["hours"],
                  "latency %d: one cell's %d digests, 5 a page, each once" % (lat, info["hours"]), len(got))
            s = socket.create_connection(("127.0.0.1", srv.port))
            s.sendall(b"GET /org-trail-logs?location HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"GET /org-trail-logs?versioning HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            d = b""
            s.settimeout(10)
            while True:
                c = s.recv(65536)
                if not c:
                    break
                d += c
            check(d.count(b"HTTP/1.1 200") == 2 and b"Connection: close" in d,
                  "latency %d: two pipelined requests answered in order, then closed" % lat, d[:200])
            for junk in (b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\nabc",
                         b"GET /org-trail-logs?location HTTP/1.1\r\n", b"garbage\r\n\r\n"):
                s = socket.create_connection(("127.0.0.1", srv.port))
                s.sendall(junk)
                s.close()
            st = srv.ctl("stats")
            check(st["in_flight"] == 0 and srv.p.poll() is None,
                  "latency %d: oversized, unfinished and garbage requests leave it serving" % lat, st)
            r = rl.Run([rl.TK, "validate", "--bucket", info["bucket"], "--org-id", info["org_id"],
                        "--trail", info["trail"], "--home-region", "us-east-1", "--start", info["start"],
                        "--end", info["end"], "--json"] + sum((["--account", a] for a in info["accounts"]), [])
                       + sum((["--region", x] for x in info["regions"]), []), rl.env(srv, info["end"]), srv)
            doc = r.json()
            got = sorted((f["code"], f["key"]) for f in doc["findings"]) if doc else None
            want = sorted(tuple(x) for x in info["expect"])
            check(r.rc == 1 and got == want, "latency %d: validate of the tampered world finds exactly the "
                  "%d expected findings" % (lat, len(want)), json.dumps(got)[:300])
            check(srv.unknown() == 0, "latency %d: every call had an answer" % lat, srv.errors()[-300:])
        err = srv.errors()
        check("AddressSanitizer" not in err and "runtime error" not in err,
              "latency %d: no sanitizer report" % lat, err[-500:])
    return 1 if fails else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, ValueError) as e:
        print("FAIL: the replay server broke: %r" % e)
        sys.exit(1)
