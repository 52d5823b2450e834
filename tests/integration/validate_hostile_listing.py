#!/usr/bin/python3
"""Hostile S3 listings: a ListObjectsV2 that never ends (always truncated,
same continuation token) and one truncated without a token must each end the
cell as unchecked with a clear message (exit 3), quickly, never loop.  A
continuation token too long for the next request's query is the same (issue
14: was a query with its prefix cut off, or a crash)."""
import http.server
import json
import os
import subprocess
import sys
import threading

TOP = os.environ.get("TOP", os.getcwd())
TK = os.environ.get("TRAILKEEP") or os.path.join(TOP, "trailkeep")
MODE = {"token": "same"}


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _send(self, body, ctype):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        tok = MODE["token"]
        nxt = "<NextContinuationToken>%s</NextContinuationToken>" % tok if tok else ""
        body = ('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult '
                'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>hostile-bucket</Name><KeyCount>0</KeyCount>'
                '<IsTruncated>true</IsTruncated>%s</ListBucketResult>' % nxt).encode()
        self._send(body, "application/xml")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        self._send(json.dumps({"PublicKeyList": []}).encode(), "application/x-amz-json-1.1")


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d" % srv.server_address[1]
    env = {"PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x" * 40,
           "AWS_EC2_METADATA_DISABLED": "true", "TRAILKEEP_NOW": "2026-01-01T06:00:00Z",
           "AWS_MAX_ATTEMPTS": "1", "HOME": "/nonexistent"}
    failed = 0
    for tok, want in (("same", "listing does not end"), ("", "truncated without a continuation token"),
                      ("T" * 9000, "query would be longer than 8192 bytes")):
        MODE["token"] = tok
        try:
            p = subprocess.run([TK, "validate", "--endpoint-url", url, "--bucket", "hostile-bucket", "--account",
                                "111111111111", "--region", "us-east-1", "--trail", "t",
                                "--start", "2026-01-01T00:00:00Z"],
                               env=env, capture_output=True, text=True, timeout=60)
            out = p.stdout + p.stderr
            ok = p.returncode == 3 and want in out
        except subprocess.TimeoutExpired:
            ok, out = False, "timed out"
        what = "never-ending listing (token %r) -> exit 3, '%s'" % (tok[:16], want)
        print(("PASS: " if ok else "FAIL: ") + what)
        if not ok:
            failed += 1
            print(out[-2000:])
    srv.shutdown()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
