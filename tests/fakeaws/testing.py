"""Helpers shared by the Python integration tests (tests/integration/*.py)
that drive trailkeep or the aws CLI against the fake AWS.

It lives here, not in tests/integration/, because tests/run.sh runs every
tests/integration/*.py as a test.  Import it as tests.fakeaws.testing (the
scripts put the checkout on sys.path first)."""

import os
import subprocess
import sys
import time

AWS = "/usr/bin/aws"


def trailkeep_path(top):
    """$TRAILKEEP, else TOP/$BUILD/trailkeep (BUILD defaults to build/default)."""
    build = os.environ.get("BUILD", "build/default")
    return os.environ.get("TRAILKEEP") or os.path.join(top, build, "trailkeep")


def trailkeep_env(fa, account, top, now=None):
    """The environment for one trailkeep run: ours without AWS_*, the fake's
    AWS_* for account (a dict as seed_org returns it), the clock pinned to now
    (default: the real clock, which the fake checks SigV4 times against),
    backoff scaled down, a fixed seed and the checkout's templates."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    e.update(fa.env(account))
    e["TRAILKEEP_NOW"] = now or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    e["TRAILKEEP_BACKOFF_SCALE"] = "0.01"
    e["TRAILKEEP_SEED"] = "1"
    e["TRAILKEEP_TEMPLATES"] = os.path.join(top, "templates")
    return e


def run_trailkeep(tk, args, env, stdin=None, timeout=300):
    """Run tk with args; stdin is /dev/null unless given.  (rc, stdout, stderr)."""
    p = subprocess.run([tk] + list(args), env=env,
                       stdin=subprocess.DEVNULL if stdin is None else stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def aws_cli_env(acct, region="us-east-1", pager=True):
    """A clean environment for the aws CLI (or botocore) with acct's keys: no
    config or credentials files, no instance metadata; pager: AWS_PAGER=""."""
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"),
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
           "AWS_ACCESS_KEY_ID": acct["access_key_id"],
           "AWS_SECRET_ACCESS_KEY": acct["secret_access_key"],
           "AWS_DEFAULT_REGION": region, "AWS_EC2_METADATA_DISABLED": "true"}
    if pager:
        env["AWS_PAGER"] = ""
    return env


def aws_cli(fa, acct, *args, region="us-east-1"):
    """/usr/bin/aws --endpoint-url <fake> --output json ARGS as acct: the
    CompletedProcess (text)."""
    return subprocess.run([AWS, "--endpoint-url", fa.url, "--output", "json"] + list(args),
                          env=aws_cli_env(acct, region), capture_output=True, text=True, timeout=120)


class Checks:
    """check(cond, what, detail=""): prints "PASS: what", or "FAIL: what" with
    ": detail" (cut to limit characters when limit is set; with lines=N, the
    last N lines of detail below it, indented), counts failures and returns
    cond."""

    def __init__(self, limit=None, lines=None):
        self.failures = 0
        self.limit = limit
        self.lines = lines

    def __call__(self, cond, what, detail=""):
        if cond:
            print("PASS: %s" % what)
        elif self.lines:
            self.failures += 1
            print("FAIL: %s" % what)
            for line in (str(detail).splitlines()[-self.lines:] if detail else []):
                print("    " + line)
        else:
            self.failures += 1
            if detail:
                detail = str(detail)[:self.limit] if self.limit else detail
            print("FAIL: %s%s" % (what, (": " + detail) if detail else ""))
        sys.stdout.flush()
        return cond
