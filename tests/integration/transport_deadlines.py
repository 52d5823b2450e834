#!/usr/bin/python3
"""Deadlines and bounds (issue 13 items 3 and 4, issue 18 "Deadlines").

A healthy organization in the fake AWS (built by `trailkeep apply`, as
doctor_fake.py does) is reached through a hostile loopback proxy that
forwards everything to the fake, byte for byte (the Host header too, so
signatures still verify), except what the mode changes:

- pages: every ListObjectsV2 of a cell's CloudTrail prefix answers an empty
  page that is truncated with a NEW continuation token, forever.  verify,
  doctor and validate must end on their own, quickly, with the cells
  unchecked (exit 3) and "listing does not end": a listing is bounded by
  what the window can hold, and hitting the bound is never "complete".
- stall: every request hangs.  With --timeout 4s, verify, doctor, validate
  and apply must end within seconds, exit 3, naming the time limit.
- trickle: the answer to GetCallerIdentity comes one byte every 0.9 s (a
  402-byte answer once held verify for 6 minutes).  The call must fail in
  bounded time (the minimum-throughput rule: under 1024 B/s for 30 s),
  exit 3, with a clear message.

Prints PASS:/FAIL: lines; exits non-zero on any failure."""

import http.client
import http.server
import itertools
import os
import sys
import threading
import time
from urllib.parse import unquote, urlparse

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, TOP)
sys.path.insert(0, HERE)

import doctor_fake as D  # noqa: E402
from tests.fakeaws.testing import Checks, run_trailkeep  # noqa: E402

check = Checks(lines=30)
MODE = {"mode": "forward", "upstream": None}
STOP = threading.Event()
TOKENS = itertools.count(1)
STATS = {"lists": 0, "trickled": 0}


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _reply(self, status, headers, body, head=False):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _endless_page(self):
        STATS["lists"] += 1
        tok = "fresh-%d" % next(TOKENS)
        body = ('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult '
                'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>%s</Name><KeyCount>0</KeyCount>'
                '<MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>'
                '<NextContinuationToken>%s</NextContinuationToken></ListBucketResult>'
                % (D.BUCKET, tok)).encode()
        self._reply(200, [("Content-Type", "application/xml")], body)

    def _trickle(self, raw):
        STATS["trickled"] += 1
        try:
            for i in range(len(raw)):
                if STOP.wait(0.9):
                    return
                self.wfile.write(raw[i:i + 1])
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def _any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        mode = MODE["mode"]
        if mode == "stall":
            STOP.wait(600)
            self.close_connection = True
            return
        if mode == "pages" and self.command == "GET" and "list-type=2" in self.path and \
                "/CloudTrail" in unquote(self.path):
            self._endless_page()
            return
        up = MODE["upstream"]
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=120)
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():
            if k.lower() not in ("connection", "content-length", "expect"):
                conn.putheader(k, v)
        if "Content-Length" in self.headers:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body if body else None)
        r = conn.getresponse()
        data = r.read()
        hdrs = [(k, v) for k, v in r.getheaders()
                if k.lower() not in ("connection", "content-length", "transfer-encoding", "date", "server")]
        conn.close()
        if mode == "trickle" and b"Action=GetCallerIdentity" in body:
            raw = ("HTTP/1.1 %d %s\r\n" % (r.status, r.reason)).encode()
            raw += b"".join(("%s: %s\r\n" % h).encode() for h in hdrs)
            raw += ("Content-Length: %d\r\n\r\n" % len(data)).encode() + data
            self._trickle(raw)
            return
        self._reply(r.status, hdrs, data, head=self.command == "HEAD")

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any


def start_proxy(upstream):
    MODE["upstream"] = urlparse(upstream)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, "http://127.0.0.1:%d" % srv.server_address[1]


def run(w, purl, cmd, args, extra=None):
    """trailkeep CMD through the proxy on the simulated clock: (rc, out, err, seconds)."""
    w.fa.post("set_auth_clock", time="sim")
    e = w.env(now=w.now())
    e["AWS_ENDPOINT_URL"] = purl
    e["TRAILKEEP_BACKOFF_SCALE"] = "0.001"
    e.update(extra or {})
    t0 = time.monotonic()
    try:
        if cmd == "validate":
            rc, out, err = run_trailkeep(D.TK, [cmd] + list(args), e, timeout=400)
        else:
            rc, out, err = run_trailkeep(D.TK, [cmd, w.config] + list(args), e, timeout=400)
    finally:
        w.fa.post("set_auth_clock", time=None)
    return rc, out, err, time.monotonic() - t0


def validate_args(w):
    return ["--bucket", D.BUCKET, "--org-id", w.org_id, "--trail", w.trail_arn, "--account", D.PROD,
            "--region", "us-east-1", "--start", "2026-01-01T01:00:00Z"]


def main():
    w = D.build("deadlines")
    if not w:
        return 1
    srv, purl = start_proxy(w.fa.url)
    try:
        MODE["mode"] = "forward"
        rc, out, err, _ = run(w, purl, "verify", ["--since", "1h"])
        check(rc == 0, "through the forwarding proxy, verify is green", out[-1500:] + err[-1500:])

        # 1. endless paging with fresh tokens
        MODE["mode"] = "pages"
        for cmd, args in (("verify", ["--since", "1h"]), ("verify", ["--no-integrity"]),
                          ("doctor", []), ("validate", validate_args(w))):
            STATS["lists"] = 0
            rc, out, err, secs = run(w, purl, cmd, args, {"AWS_MAX_ATTEMPTS": "1"})
            both = out + err
            check(rc == 3 and "listing does not end" in both and secs < 120,
                  "pages: %s %s ends by itself (%.1f s, %d pages served), exit 3, 'listing does not end'"
                  % (cmd, " ".join(args[:1]), secs, STATS["lists"]), both[-1500:])
            check(" ok\n" not in out and "\"status\": \"ok\"" not in out,
                  "pages: %s reports no cell as ok" % cmd, out[-1500:])
            # 7 cells x 2 listings, each bounded by its window (a few hundred pages)
            check(STATS["lists"] < 14 * 1000, "pages: %s stops at the window's bound (%d pages in all)"
                  % (cmd, STATS["lists"]))

        # 2. --timeout: every request hangs
        MODE["mode"] = "stall"
        for cmd, args in (("verify", ["--since", "1h"]), ("doctor", []), ("validate", validate_args(w)),
                          ("apply", ["--yes"])):
            rc, out, err, secs = run(w, purl, cmd, args + ["--timeout", "4s"])
            check(rc == 3 and secs < 30 and "--timeout" in err,
                  "stall: %s --timeout 4s ends in %.1f s, exit %d, names the time limit" % (cmd, secs, rc),
                  out[-1500:] + err[-1500:])
        rc, out, err, secs = run(w, purl, "verify", ["--timeout", "nope"])
        check(rc == 2 and "--timeout 'nope'" in err and secs < 10, "--timeout nope: usage error (exit 2)", err)

        # 3. a trickling answer (one byte every 0.9 s) to GetCallerIdentity
        MODE["mode"] = "trickle"
        STATS["trickled"] = 0
        rc, out, err, secs = run(w, purl, "verify", ["--no-integrity"], {"AWS_MAX_ATTEMPTS": "1"})
        check(STATS["trickled"] >= 1, "trickle: the proxy trickled GetCallerIdentity (%d)" % STATS["trickled"])
        check(rc == 3 and secs < 90 and "GetCallerIdentity" in out + err and "stalled" in out + err and
              "AssumeRole" not in out + err,
              "trickle: verify fails in bounded time (%.1f s), exit %d, with GetCallerIdentity's error "
              "('connection stalled'), not a fallback's" % (secs, rc),
              out[-1500:] + err[-1500:])
    finally:
        STOP.set()
        srv.shutdown()
        w.close()
    print("transport_deadlines: %d failure(s)" % check.failures)
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
