#!/usr/bin/python3
"""creds_sources.py: where credentials are not (issue 16) and files that
must not hang the chain (issue 13).

1. No credentials anywhere and an instance metadata service that answers
   403 to the IMDSv2 token request (as one does when IMDS is reachable but
   hop-limited or blocked): `verify` must say "no AWS credentials found
   (tried: ...)" naming every place and why it gave nothing, IMDS included
   with its 403, exit 3 (README "Credentials, regions and endpoints") - not
   end with the bare IMDS error.
2. A token file that is a FIFO (AWS_WEB_IDENTITY_TOKEN_FILE,
   AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) with no writer: an error naming
   the file, at once, never a hang (README: token files are read with the
   input-file rules: a regular file, symlinks followed).
3. A credential_process that hangs is bounded by the run's --timeout, not
   only by its own 60 s (issue 13).
Prints PASS:/FAIL: lines; exits non-zero on a failure."""
import http.server
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, TOP)

from tests.fakeaws.testing import Checks, trailkeep_path  # noqa: E402

TK = trailkeep_path(TOP)
check = Checks(limit=3000)


class Deny(http.server.BaseHTTPRequestHandler):
    """An instance metadata service that refuses everything with 403."""
    seen = []

    def _deny(self):
        Deny.seen.append((self.command, self.path))
        body = b"Forbidden"
        self.send_response(403)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_PUT = do_GET = _deny

    def log_message(self, *a):
        pass


def clean_env(home, **kw):
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home,
         "AWS_CONFIG_FILE": os.path.join(home, "none"),
         "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "none"),
         "TRAILKEEP_NOW": "2026-01-01T03:00:00Z", "TRAILKEEP_BACKOFF_SCALE": "0.01",
         "TRAILKEEP_SEED": "1"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            e[k] = os.environ[k]
    e.update(kw)
    return e


def run(args, env, timeout=60):
    t0 = time.monotonic()
    try:
        p = subprocess.run([TK] + args, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "", "timed out after %d s" % timeout, time.monotonic() - t0
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def imds_403(tmp):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Deny)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        env = clean_env(tmp, AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:%d" % srv.server_port)
        rc, out, err, _ = run(["--endpoint-url", "http://127.0.0.1:9", "verify",
                               os.path.join(TOP, "examples", "org.ini")], env)
    finally:
        srv.shutdown()
        srv.server_close()
    check(rc == 3, "no credentials, IMDS answers 403: exit 3", "rc=%r %s" % (rc, err))
    check(("PUT", "/latest/api/token") in Deny.seen, "the IMDSv2 token was asked for", repr(Deny.seen))
    line = err.strip().splitlines()[-1] if err.strip() else ""
    check(line.startswith("trailkeep: verify: no AWS credentials found (tried: "),
          "the last line says no AWS credentials were found", err)
    for place in ("environment: AWS_ACCESS_KEY_ID not set",
                  "profile 'default' in '%s' and '%s': no credentials" % (
                      os.path.join(tmp, "none"), os.path.join(tmp, "none")),
                  "web identity: AWS_WEB_IDENTITY_TOKEN_FILE not set",
                  "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set",
                  "instance metadata (IMDS): HTTP 403 for an IMDSv2 token)"):
        check(place in line, "the message names '%s'" % place, err)
    check(not line.startswith("trailkeep: verify: instance metadata"),
          "it is not the bare IMDS error", err)
    # IMDS disabled: said so
    env = clean_env(tmp, AWS_EC2_METADATA_DISABLED="true")
    rc, out, err, _ = run(["--endpoint-url", "http://127.0.0.1:9", "verify",
                           os.path.join(TOP, "examples", "org.ini")], env)
    check(rc == 3 and "instance metadata (IMDS): disabled by AWS_EC2_METADATA_DISABLED)" in err,
          "IMDS disabled: named as disabled", "rc=%r %s" % (rc, err))


def fifo_tokens(tmp):
    fifo = os.path.join(tmp, "token.fifo")
    os.mkfifo(fifo)
    base = dict(AWS_EC2_METADATA_DISABLED="true")
    sign = ["sign", "--service", "s3", "--region", "us-east-1", "--method", "GET",
            "--url", "https://examplebucket.s3.amazonaws.com/k", "--date", "20260101T000000Z"]
    cases = [
        ("web identity token file", dict(base, AWS_WEB_IDENTITY_TOKEN_FILE=fifo,
                                         AWS_ROLE_ARN="arn:aws:iam::111111111111:role/r",
                                         AWS_ENDPOINT_URL="http://127.0.0.1:9")),
        ("container authorization token file", dict(base,
                                                    AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:9/c",
                                                    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=fifo)),
    ]
    for what, kw in cases:
        rc, out, err, secs = run(sign, clean_env(tmp, **kw), timeout=20)
        check(rc is not None and secs < 10, "%s is a FIFO: no hang" % what, "%r %.1f s %s" % (rc, secs, err))
        check(rc in (2, 3) and fifo in err and "not a regular file" in err,
              "%s is a FIFO: an error naming the file" % what, "rc=%r %s" % (rc, err))


def process_deadline(tmp):
    """credential_process has its own 60 s limit; the run's --timeout bounds it too."""
    cfg = os.path.join(tmp, "config")
    with open(cfg, "w") as f:
        f.write("[default]\ncredential_process = sleep 30\n")
    env = clean_env(tmp, AWS_CONFIG_FILE=cfg, AWS_EC2_METADATA_DISABLED="true")
    rc, out, err, secs = run(["--timeout", "2s", "--endpoint-url", "http://127.0.0.1:9", "verify",
                              os.path.join(TOP, "examples", "org.ini")], env, timeout=40)
    check(rc == 3 and secs < 10, "credential_process that hangs: ends with --timeout 2s, exit 3",
          "rc=%r %.1f s %s" % (rc, secs, err))
    check("credential_process 'sleep': stopped: the run's time limit (--timeout) is up" in err,
          "credential_process past the deadline: the deadline's message", err)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        imds_403(tmp)
        fifo_tokens(tmp)
        process_deadline(tmp)
    print("%s" % ("FAILED: %d" % check.failures if check.failures else "all passed"))
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
