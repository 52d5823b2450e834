#!/usr/bin/python3
"""transport_gaps.py: the credential providers wired into the commands
(issue 5): `trailkeep sign` resolves credentials through the same chain as
every AWS command, with container credentials served by a loopback script
server (AWS_CONTAINER_CREDENTIALS_FULL_URI), web identity against the fake
AWS (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN) and credential_process.
Prints PASS:/FAIL: lines; exits non-zero on a failure."""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, TOP)

from tests.fakeaws.control import FakeAWS  # noqa: E402
from tests.fakeaws.testing import run_trailkeep, trailkeep_path  # noqa: E402

TK = trailkeep_path(TOP)
PY = "/usr/bin/python3"
FAILED = []
SIGN = ["sign", "--service", "s3", "--region", "us-east-1", "--method", "GET",
        "--url", "https://examplebucket.s3.amazonaws.com/k", "--date", "20260101T000000Z", "--json"]


def check(cond, what, detail=""):
    if cond:
        print("PASS: " + what)
    else:
        FAILED.append(what)
        print("FAIL: %s %s" % (what, detail[:2000]))


def base_env(tmp, **kw):
    e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    e.update({"HOME": tmp, "AWS_CONFIG_FILE": os.path.join(tmp, "none"),
              "AWS_SHARED_CREDENTIALS_FILE": os.path.join(tmp, "none"),
              "AWS_EC2_METADATA_DISABLED": "true", "TRAILKEEP_NOW": "2026-01-01T00:00:00Z",
              "TRAILKEEP_BACKOFF_SCALE": "0.01", "TRAILKEEP_SEED": "1"})
    e.update(kw)
    return e


def auth_of(out):
    try:
        return json.loads(out)["headers"].get("Authorization", "")
    except (ValueError, KeyError, AttributeError):
        return ""


def start_scriptserver(tmp):
    pf = os.path.join(tmp, "port")
    p = subprocess.Popen([PY, os.path.join(HERE, "scriptserver.py"), "--port-file", pf],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(pf) and open(pf).read().strip():
            return p, int(open(pf).read().strip())
        time.sleep(0.05)
    p.kill()
    raise SystemExit("FAIL: scriptserver did not start")


def test_container(tmp):
    p, port = start_scriptserver(tmp)
    try:
        uri = "http://127.0.0.1:%d/container/creds" % port
        env = base_env(tmp, AWS_CONTAINER_CREDENTIALS_FULL_URI=uri, AWS_CONTAINER_AUTHORIZATION_TOKEN="ctok")
        rc, out, err = run_trailkeep(TK, ["-v"] + SIGN, env)
        check(rc == 0 and "Credential=ASIACONT/20260101/us-east-1/s3/aws4_request" in auth_of(out),
              "sign: container credentials from AWS_CONTAINER_CREDENTIALS_FULL_URI", out + err)
        check("credentials from container" in err, "sign -v: names the container provider", err)
        check("imdssecret" not in out + err and "ctok" not in out + err and "imdstoken" not in out + err,
              "sign: no container secret, token or authorization token in the output")
        # a wrong authorization token: a clear error, no secret echoed
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "wrongtok"
        rc, out, err = run_trailkeep(TK, SIGN, env)
        check(rc != 0 and err.startswith("trailkeep: sign: ") and "container" in err and "403" in err
              and "wrongtok" not in err, "sign: container endpoint refusing the token is a clear error", err)
        # the token from a file (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)
        tf = os.path.join(tmp, "ctok")
        with open(tf, "w") as f:
            f.write("ctok\n")
        env.pop("AWS_CONTAINER_AUTHORIZATION_TOKEN")
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = tf
        rc, out, err = run_trailkeep(TK, SIGN, env)
        check(rc == 0 and "Credential=ASIACONT/" in auth_of(out),
              "sign: container credentials with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", out + err)
        # an Expiration that is not a time string is malformed (it was read as
        # "never expires": credentials cached forever)
        env2 = base_env(tmp, AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:%d/container/creds-numexp" % port)
        rc, out, err = run_trailkeep(TK, SIGN, env2)
        check(rc != 0 and "malformed Expiration" in err and "ASIANUM" not in auth_of(out),
              "sign: container credentials with a numeric Expiration are refused", (rc, err[-400:]))
        # environment keys come first: the endpoint is not contacted
        env.update(AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                   AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:%d/s/envfirst/200" % port)
        rc, out, err = run_trailkeep(TK, SIGN, env)
        import urllib.request
        n = urllib.request.urlopen("http://127.0.0.1:%d/count/envfirst" % port, timeout=10).read().decode()
        check(rc == 0 and "Credential=AKIDEXAMPLE/" in auth_of(out) and n.strip() == "0",
              "sign: environment keys win and nothing is contacted", out + err + " count=" + n)
    finally:
        p.kill()
        p.wait()


def test_web_identity(tmp):
    with FakeAWS(seed=7) as fa:
        fa.post("seed_org", members=0)
        acct = "222222222222"
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
            "Principal": {"Federated": "arn:aws:iam::%s:oidc-provider/oidc.fakeaws.local" % acct},
            "Condition": {"StringEquals": {"oidc.fakeaws.local:aud": "sts.amazonaws.com"}}}]}
        role = fa.post("create_role", account=acct, name="EksPod", trust_policy=trust)["arn"]
        fa.post("set_auth_clock", time="2026-01-01T00:00:00Z")
        tok = fa.post("issue_web_identity_token", sub="system:serviceaccount:a:b")["token"]
        tf = os.path.join(tmp, "webtoken")
        with open(tf, "w") as f:
            f.write(tok + "\n")
        env = base_env(tmp, AWS_ENDPOINT_URL=fa.url, AWS_WEB_IDENTITY_TOKEN_FILE=tf, AWS_ROLE_ARN=role,
                       AWS_ROLE_SESSION_NAME="pod1")
        rc, out, err = run_trailkeep(TK, ["-v"] + SIGN, env)
        a = auth_of(out)
        check(rc == 0 and "Credential=ASIA" in a and "/20260101/us-east-1/s3/aws4_request" in a,
              "sign: web identity credentials from the fake STS", out + err)
        check("credentials from web identity" in err, "sign -v: names the web identity provider", err)
        check(tok not in out + err, "sign: the web identity token is never printed")
        # the role does not trust this token: the STS error, no token
        env["AWS_ROLE_ARN"] = "arn:aws:iam::%s:role/Nope" % acct
        rc, out, err = run_trailkeep(TK, SIGN, env)
        check(rc != 0 and err.startswith("trailkeep: sign: ") and "AccessDenied" in err and tok not in err,
              "sign: web identity refused by STS is a clear error", err)
        # an expired token
        old = fa.post("issue_web_identity_token", expires_in=-10)["token"]
        with open(tf, "w") as f:
            f.write(old)
        env["AWS_ROLE_ARN"] = role
        rc, out, err = run_trailkeep(TK, SIGN, env)
        check(rc != 0 and "ExpiredTokenException" in err and old not in err,
              "sign: an expired web identity token is a clear error", err)


PROC = r"""import json, sys
mode = sys.argv[1]
if mode == "ok":
    assert sys.argv[2] == "two words" and sys.argv[3] == "it's", sys.argv
    print(json.dumps({"Version": 1, "AccessKeyId": "ASIAPROC", "SecretAccessKey": "procsecret",
                      "SessionToken": "proctoken", "Expiration": "2026-01-01T01:00:00Z"}))
elif mode == "fail":
    print('{"Version": 1, "AccessKeyId": "ASIAPROC", "SecretAccessKey": "procsecret"}')
    sys.exit(3)
elif mode == "badjson":
    print('{"Version": 1, "AccessKeyId": "ASIAPROC", "SecretAccessKey": "procsecret"')
elif mode == "v2":
    print(json.dumps({"Version": 2, "AccessKeyId": "ASIAPROC", "SecretAccessKey": "procsecret"}))
elif mode == "big":
    sys.stdout.write("{" + " " * 200000 + "}")
"""


def test_process(tmp):
    script = os.path.join(tmp, "credproc.py")
    with open(script, "w") as f:
        f.write(PROC)
    cfg = os.path.join(tmp, "config")

    def run(mode_args):
        with open(cfg, "w") as f:
            f.write("[profile p]\ncredential_process = %s %s %s\n" % (PY, script, mode_args))
        env = base_env(tmp, AWS_CONFIG_FILE=cfg, AWS_PROFILE="p")
        return run_trailkeep(TK, ["-v"] + SIGN, env)

    rc, out, err = run("ok \"two words\" 'it'\\''s'")
    check(rc == 0 and "Credential=ASIAPROC/" in auth_of(out),
          "sign: credential_process with quoted arguments, run without a shell", out + err)
    check("credential_process" in err and "procsecret" not in out + err and "proctoken" not in out + err,
          "sign -v: names credential_process, prints no secret", err)
    for mode, want in (("fail", "exited with status 3"), ("badjson", "not a JSON object"),
                       ("v2", "Version"), ("big", "larger than")):
        rc, out, err = run(mode)
        check(rc != 0 and err.startswith("trailkeep: sign: ") and want in err and "procsecret" not in err,
              "sign: credential_process %s is a clear error without secrets" % mode, err)
    with open(cfg, "w") as f:
        f.write("[profile p]\ncredential_process = /nonexistent/credproc --x\n")
    rc, out, err = run_trailkeep(TK, SIGN, base_env(tmp, AWS_CONFIG_FILE=cfg, AWS_PROFILE="p"))
    check(rc != 0 and "cannot run '/nonexistent/credproc'" in err, "sign: a missing credential_process program", err)
    with open(cfg, "w") as f:
        f.write("[profile p]\ncredential_process = %s 'unterminated\n" % PY)
    rc, out, err = run_trailkeep(TK, SIGN, base_env(tmp, AWS_CONFIG_FILE=cfg, AWS_PROFILE="p"))
    check(rc != 0 and "unterminated single quote" in err, "sign: a credential_process with a bad quote", err)


def main():
    with tempfile.TemporaryDirectory(prefix="tk-transport-") as tmp:
        test_container(tmp)
        test_web_identity(tmp)
        test_process(tmp)
    if FAILED:
        print("%d failed" % len(FAILED))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
