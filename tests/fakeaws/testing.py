"""Helpers shared by the Python integration tests (tests/integration/*.py)
that drive trailkeep or the aws CLI against the fake AWS.

It lives here, not in tests/integration/, because tests/run.sh runs every
tests/integration/*.py as a test.  Import it as tests.fakeaws.testing (the
scripts put the checkout on sys.path first)."""

import json
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


def boto_client(fa, service, account, region="us-east-1"):
    """A botocore client of account (a seed_org dict) against the fake, no retries."""
    import botocore.session
    from botocore.config import Config
    return botocore.session.Session().create_client(
        service, region_name=region, endpoint_url=fa.url, aws_access_key_id=account["access_key_id"],
        aws_secret_access_key=account["secret_access_key"], config=Config(retries={"max_attempts": 0}))


def run_as(tk, fa, account, args, top, now=None):
    """trailkeep ARGS as account (a seed_org dict) against the fake: the clock
    pinned to now (ISO-8601; the fake's signature clock with it) or, when
    now is None, to the real time; a CompletedProcess."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    e.update(fa.env(account))
    e.update({"TRAILKEEP_NOW": now or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "TRAILKEEP_BACKOFF_SCALE": "0.01", "TRAILKEEP_SEED": "1",
              "TRAILKEEP_TEMPLATES": os.path.join(top, "templates")})
    if now:
        fa.post("set_auth_clock", time=now)
    try:
        return subprocess.run([tk] + list(args), env=e, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=300)
    finally:
        if now:
            fa.post("set_auth_clock", time=None)


def run_at_sim_clock(tk, fa, account, args, top):
    """trailkeep ARGS as account at the fake's simulated now (TRAILKEEP_NOW and
    the fake's signature clock both pinned to it); a CompletedProcess."""
    return run_as(tk, fa, account, args, top, fa.post("advance", seconds=0)["now"])


def make_install(top, build, stage, timeout=600):
    """`make install DESTDIR=stage PREFIX=/usr` with the development build's
    binary and man page taken as they are; the release build it compiles
    (build/release) is shared, so scripts running at once (tests/run.sh runs
    IJOBS at a time) take turns through a lock instead of compiling it over
    each other."""
    import fcntl
    os.makedirs(os.path.join(top, "build"), exist_ok=True)
    with open(os.path.join(top, "build", ".release.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return subprocess.run(["make", "--no-print-directory", "-o", "%s/trailkeep" % build, "-o",
                               "%s/trailkeep.1" % build, "BUILD=" + build, "install", "DESTDIR=" + stage,
                               "PREFIX=/usr"], cwd=top, capture_output=True, text=True, timeout=timeout)


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


def put_monitoring(fa, plan, acct_id, acct, check):
    """Put `trailkeep plan`'s monitoring files of acct_id (plan: the plan
    directory) in place with botocore exactly as written: log group and
    retention, the CloudWatch Logs role, the topic key, the topic with its
    policy and subscriptions (confirmed), metric filters and alarms, the
    trail's CloudWatch Logs ARNs.  Returns monitoring.json as a dict."""
    import botocore.session
    from botocore.config import Config

    def load(rel):
        with open(os.path.join(plan, rel)) as f:
            return f.read()

    def client(svc, acct, region="us-east-1"):
        return botocore.session.Session().create_client(
            svc, region_name=region, endpoint_url=fa.url, aws_access_key_id=acct["access_key_id"],
            aws_secret_access_key=acct["secret_access_key"], aws_session_token=acct.get("session_token"),
            config=Config(retries={"max_attempts": 0}, read_timeout=60))

    mon = json.loads(load("monitoring/%s/monitoring.json" % acct_id))
    iam, logs = client("iam", acct), client("logs", acct)
    kms, sns, cw = client("kms", acct), client("sns", acct), client("cloudwatch", acct)
    ct = client("cloudtrail", acct)
    lg = mon["LogGroup"]
    logs.create_log_group(logGroupName=lg["LogGroupName"])
    logs.put_retention_policy(logGroupName=lg["LogGroupName"], retentionInDays=lg["RetentionInDays"])
    r = mon["CloudWatchLogsRole"]
    iam.create_role(RoleName=r["RoleName"], AssumeRolePolicyDocument=load(r["AssumeRolePolicyDocument"]))
    iam.put_role_policy(RoleName=r["RoleName"], PolicyName=r["PolicyName"],
                        PolicyDocument=load(r["PolicyDocument"]))
    t = mon["Topic"]
    key = kms.create_key(Policy=load(t["KeyPolicy"]))["KeyMetadata"]
    kms.create_alias(AliasName=t["KmsMasterKeyId"], TargetKeyId=key["KeyId"])
    arn = sns.create_topic(Name=t["Name"], Attributes={"Policy": load(t["Policy"]),
                                                        "KmsMasterKeyId": t["KmsMasterKeyId"]})["TopicArn"]
    check(arn == t["TopicArn"], "%s: the planned topic ARN is the one SNS creates" % acct_id, (arn, t))
    for s in t["Subscriptions"]:
        sns.subscribe(TopicArn=arn, Protocol=s["Protocol"], Endpoint=s["Endpoint"])
        fa.post("confirm_subscription", topic=arn, endpoint=s["Endpoint"])
    st = mon["AlarmSettings"]
    for a in mon["Alarms"]:
        logs.put_metric_filter(logGroupName=lg["LogGroupName"], filterName=a["Name"],
                               filterPattern=a["FilterPattern"],
                               metricTransformations=[{"metricName": a["Name"],
                                                       "metricNamespace": mon["MetricNamespace"],
                                                       "metricValue": "1"}])
        cw.put_metric_alarm(AlarmName=a["Name"], AlarmDescription=a["Description"], MetricName=a["Name"],
                            Namespace=mon["MetricNamespace"], **st)
    tr = mon["Trail"]
    ct.update_trail(Name=tr["TrailARN"], CloudWatchLogsLogGroupArn=tr["CloudWatchLogsLogGroupArn"],
                    CloudWatchLogsRoleArn=tr["CloudWatchLogsRoleArn"])
    return mon
