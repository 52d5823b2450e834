#!/usr/bin/python3
"""`trailkeep apply` against the fake AWS (tests/fakeaws): an empty org
converges to the plan, logs and digests arrive for every account x region and
awscli's validator accepts them, a second run makes zero write calls, drift is
repaired (foreign statement kept, edited Trailkeep statement restored, stopped
trail started), --dry-run shows diffs and exits 4, one account whose role
cannot be assumed fails alone (exit 3), safety checks refuse before writing.

Prints PASS:/FAIL: lines; exits non-zero on any failure.  The helpers here are
also used by apply_faults.py."""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, TOP)

from tests.fakeaws.control import FakeAWS  # noqa: E402
from tests.fakeaws.testing import Checks, run_trailkeep, trailkeep_env, trailkeep_path  # noqa: E402

TK = trailkeep_path(TOP)
PY = "/usr/bin/python3"
START = "2026-01-01T00:00:00Z"

check = Checks(lines=40)


ORG_INI = """[organization]
id = {org_id}
management_account = 111111111111
log_archive_account = 222222222222
home_region = us-east-1
regions = us-east-1, eu-west-1
assume_role = OrganizationAccountAccessRole

[central]
bucket = acme-org-cloudtrail
kms_alias = alias/acme-cloudtrail
decrypt_principals = arn:aws:iam::222222222222:role/SecurityAudit
break_glass_principals = arn:aws:iam::222222222222:role/LogArchiveAdmin
retention_days = 2555
object_lock = governance:365
access_log_bucket = acme-org-cloudtrail-access-logs

[trail]
name = org-trail
mode = organization
data_events = s3:acme-payroll

[account management]
id = 111111111111

[account log-archive]
id = 222222222222

[account prod]
id = 333333333333
regions = us-east-1, eu-west-1

[account staging]
id = 444444444444
regions = eu-west-1
"""


def per_account_ini(accounts, external_id=None, prefix="cloudtrail"):
    s = """[organization]
management_account = 111111111111
log_archive_account = 222222222222
home_region = us-east-1
regions = us-east-1, eu-west-1
assume_role = OrganizationAccountAccessRole
"""
    if external_id:
        s += "external_id = %s\n" % external_id
    s += """
[central]
bucket = acme-cloudtrail-logs
%skms_alias = alias/acme-trails
decrypt_principals = arn:aws:iam::222222222222:role/SecurityAudit
retention_days = 400

[trail]
name = acme-trail
mode = per-account
""" % (("key_prefix = %s\n" % prefix) if prefix else "")
    for i, a in enumerate(accounts):
        s += "\n[account a%d]\nid = %s\n" % (i, a)
    return s


class World:
    """A fake AWS with a seeded org, the roles the example policies name, and
    a config file; run() calls trailkeep with the management account's keys."""

    def __init__(self, members=2, seed=1, ini=None, per_account=False, latency_ms=0):
        self.fa = FakeAWS(seed=seed, start=START)
        self.dir = tempfile.mkdtemp(prefix="tk-apply-")
        self.seed = self.fa.post("seed_org", members=members)
        # SigV4 times are checked against the real clock (awscli signs with it);
        # trailkeep gets that time pinned through TRAILKEEP_NOW for each run
        self.fa.post("set_secure_transport", secure=True)
        for name in ("SecurityAudit", "LogArchiveAdmin"):
            self.fa.post("create_role", account="222222222222", name=name,
                         trust_policy={"Version": "2012-10-17", "Statement": [{
                             "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                             "Action": "sts:AssumeRole"}]})
        if latency_ms:
            self.fa.post("set_faults", latency_ms=latency_ms)
        self.accounts = {a["id"]: a for a in self.seed["accounts"]}
        # the log archive account's root (the bucket policy denies policy edits
        # to everyone else but the break-glass and apply roles)
        self.accounts["root-222222222222"] = self.fa.post("create_access_key", account="222222222222", root=True)
        self.org_id = self.seed["org_id"]
        if ini is None:
            ini = ORG_INI.format(org_id=self.org_id)
        self.config = os.path.join(self.dir, "org.ini")
        with open(self.config, "w") as f:
            f.write(ini)

    def env(self, account="111111111111"):
        return trailkeep_env(self.fa, self.accounts[account], TOP)

    def now(self):
        return self.fa.post("stats", since=10 ** 9)["now"]

    def run(self, *args, account="111111111111", stdin=None, timeout=300):
        return run_trailkeep(TK, ["apply", self.config] + list(args), self.env(account), stdin=stdin,
                             timeout=timeout)

    def aws(self, *args, account="222222222222", region="us-east-1"):
        e = self.env(account)
        e["AWS_DEFAULT_REGION"] = region
        e["AWS_REGION"] = region
        p = subprocess.run([PY, "-m", "awscli", "--endpoint-url", self.fa.url, "--output", "json"] + list(args),
                           env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        if p.returncode:
            raise RuntimeError("aws %s: %s" % (" ".join(args), p.stderr.decode()))
        out = p.stdout.decode().strip()
        return json.loads(out) if out else {}

    def stats(self):
        return self.fa.post("stats")

    def writes_since(self, mark):
        return self.fa.post("stats", since=mark)

    def close(self):
        self.fa.stop()


def plan_doc(w, path):
    """The plan as trailkeep plan renders it."""
    out = os.path.join(w.dir, "plan")
    subprocess.run([TK, "plan", w.config, "-o", out, "--templates", os.path.join(TOP, "templates")],
                   check=True, stdout=subprocess.DEVNULL, env=w.env())
    with open(os.path.join(out, path)) as f:
        return json.load(f)


def sids(policy):
    return [s.get("Sid") for s in policy["Statement"]]


CHANGE_RE = re.compile(r"^[+~>] (create|update|set|enable rotation|start logging|cancel deletion|enable) "
                       r".*\(account \d{12}\)$", re.M)


def test_org(w):
    mark = w.stats()["next"]
    rc, dry, err = w.run("--dry-run")
    check(rc == 4 and w.writes_since(mark)["writes"] == 0, "org: --dry-run on an empty org exits 4, writes nothing",
          dry + err)
    rc, out, err = w.run("--yes")
    check(rc == 0, "org: apply --yes on an empty org exits 0", out + err)
    made = CHANGE_RE.findall(out)
    check(len(made) >= 15 and [m.group(0) for m in CHANGE_RE.finditer(dry)] ==
          [m.group(0) for m in CHANGE_RE.finditer(out)],
          "org: the dry run announced exactly the changes the real run made (%d)" % len(made), dry + "\n" + out)
    # every resource matches the plan (read back with awscli)
    key = w.aws("kms", "describe-key", "--key-id", "alias/acme-cloudtrail")["KeyMetadata"]
    check(key["KeyState"] == "Enabled", "org: the key exists and is enabled")
    kp = json.loads(w.aws("kms", "get-key-policy", "--key-id", key["KeyId"], "--policy-name", "default")["Policy"])
    want_kp = plan_doc(w, "central/kms-key-policy.json")
    check(kp == want_kp, "org: the key policy is the planned one", json.dumps(kp, indent=1))
    rot = w.aws("kms", "get-key-rotation-status", "--key-id", key["KeyId"])
    check(rot["KeyRotationEnabled"] is True, "org: key rotation is on")
    bp = json.loads(w.aws("s3api", "get-bucket-policy", "--bucket", "acme-org-cloudtrail")["Policy"])
    check(bp == plan_doc(w, "central/bucket-policy.json"), "org: the bucket policy is the planned one")
    enc = w.aws("s3api", "get-bucket-encryption", "--bucket", "acme-org-cloudtrail")
    r = enc["ServerSideEncryptionConfiguration"]["Rules"][0]
    check(r["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]}
          and r.get("BucketKeyEnabled") is True, "org: default encryption is SSE-KMS with the key's full ARN",
          json.dumps(enc))
    v = w.aws("s3api", "get-bucket-versioning", "--bucket", "acme-org-cloudtrail")
    check(v.get("Status") == "Enabled", "org: versioning is enabled")
    pab = w.aws("s3api", "get-public-access-block", "--bucket", "acme-org-cloudtrail")
    check(all(pab["PublicAccessBlockConfiguration"].values()), "org: public access block is on")
    ol = w.aws("s3api", "get-object-lock-configuration", "--bucket", "acme-org-cloudtrail")
    check(ol["ObjectLockConfiguration"].get("Rule", {}).get("DefaultRetention") ==
          {"Mode": "GOVERNANCE", "Days": 365}, "org: object lock default retention is set", json.dumps(ol))
    lc = w.aws("s3api", "get-bucket-lifecycle-configuration", "--bucket", "acme-org-cloudtrail")
    ids = sorted(x["ID"] for x in lc["Rules"])
    check(ids == ["TrailkeepAbortIncompleteUploads", "TrailkeepRetention"], "org: lifecycle rules are set",
          json.dumps(lc))
    lg = w.aws("s3api", "get-bucket-logging", "--bucket", "acme-org-cloudtrail")
    check(lg.get("LoggingEnabled", {}).get("TargetBucket") == "acme-org-cloudtrail-access-logs",
          "org: access logging goes to the access-log bucket")
    ap = json.loads(w.aws("s3api", "get-bucket-policy", "--bucket", "acme-org-cloudtrail-access-logs")["Policy"])
    check(ap == plan_doc(w, "central/access-log-bucket-policy.json"), "org: the access-log bucket policy is planned")
    tr = w.aws("cloudtrail", "describe-trails", "--trail-name-list", "org-trail", account="111111111111")
    t = tr["trailList"][0] if tr.get("trailList") else {}
    check(t.get("IsOrganizationTrail") and t.get("IsMultiRegionTrail") and t.get("LogFileValidationEnabled")
          and t.get("KmsKeyId") == key["Arn"] and t.get("S3BucketName") == "acme-org-cloudtrail",
          "org: the org trail is as planned", json.dumps(tr))
    st = w.aws("cloudtrail", "get-trail-status", "--name", t.get("TrailARN", "x"), account="111111111111")
    check(st.get("IsLogging") is True, "org: the org trail is logging")
    es = w.aws("cloudtrail", "get-event-selectors", "--trail-name", t.get("TrailARN", "x"), account="111111111111")
    want_es = plan_doc(w, "accounts/111111111111/trail.json")["PutEventSelectors"]["AdvancedEventSelectors"]
    check(es.get("AdvancedEventSelectors") == want_es, "org: event selectors are as planned", json.dumps(es))

    # second run: zero write calls, "nothing to do"
    mark = w.stats()["next"]
    rc, out, err = w.run("--yes")
    s = w.writes_since(mark)
    check(rc == 0 and "nothing to do" in out, "org: second apply says nothing to do, exit 0", out + err)
    check(s["writes"] == 0, "org: second apply makes zero write calls", json.dumps(s["per_op"]))
    rc, out, err = w.run("--dry-run")
    check(rc == 0 and "nothing to do" in out, "org: --dry-run with nothing to change exits 0", out + err)

    # logs and digests arrive for every account x region; awscli validates them
    w.fa.post("advance", seconds=2 * 3600 + 600)
    objs = w.aws("s3api", "list-objects-v2", "--bucket", "acme-org-cloudtrail", "--prefix", "AWSLogs/")
    keys = [o["Key"] for o in objs.get("Contents", [])]
    missing = []
    for acct, regions in (("111111111111", ("us-east-1", "eu-west-1")), ("222222222222", ("us-east-1", "eu-west-1")),
                          ("333333333333", ("us-east-1", "eu-west-1")), ("444444444444", ("us-east-1", "eu-west-1"))):
        for reg in regions:
            for kind in ("CloudTrail", "CloudTrail-Digest"):
                p = "AWSLogs/%s/%s/%s/%s/" % (w.org_id, acct, kind, reg)
                if not any(k.startswith(p) for k in keys):
                    missing.append(p)
    check(not missing, "org: logs and digests land for every account x region", "missing: %s" % missing)
    e = w.env("222222222222")
    for acct, reg in (("333333333333", "eu-west-1"), ("111111111111", "us-east-1")):
        e["AWS_DEFAULT_REGION"] = e["AWS_REGION"] = reg
        p = subprocess.run([PY, "-m", "tests.fakeaws.validate_ref", "--endpoint", w.fa.url, "--trail-arn",
                            t.get("TrailARN", "x"), "--start", START, "--account-id", acct, "--region", reg],
                           cwd=TOP, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        txt = p.stdout.decode()
        check(p.returncode == 0 and "digest files valid" in txt.lower() and "log files valid" in txt.lower(),
              "org: aws cloudtrail validate-logs accepts %s/%s" % (acct, reg), txt)


def test_drift(w):
    bucket = "acme-org-cloudtrail"
    bp = json.loads(w.aws("s3api", "get-bucket-policy", "--bucket", bucket)["Policy"])
    foreign = {"Sid": "AuditorRead", "Effect": "Allow",
               "Principal": {"AWS": "arn:aws:iam::222222222222:role/SecurityAudit"},
               "Action": "s3:GetObject", "Resource": "arn:aws:s3:::%s/*" % bucket}
    bp["Statement"].insert(1, foreign)
    for st in bp["Statement"]:
        if st.get("Sid") == "TrailkeepManagementWrite":
            st["Resource"] = "arn:aws:s3:::%s/AWSLogs/999999999999/*" % bucket
    w.aws("s3api", "put-bucket-policy", "--bucket", bucket, "--policy", json.dumps(bp), account="root-222222222222")
    arn = "arn:aws:cloudtrail:us-east-1:111111111111:trail/org-trail"
    w.aws("cloudtrail", "stop-logging", "--name", arn, account="111111111111")
    w.aws("s3api", "put-bucket-versioning", "--bucket", "acme-org-cloudtrail-access-logs",
          "--versioning-configuration", "Status=Suspended")

    mark = w.stats()["next"]
    rc, out, err = w.run("--dry-run")
    s = w.writes_since(mark)
    check(rc == 4, "drift: --dry-run exits 4 when something would change", out + err)
    check(s["writes"] == 0, "drift: --dry-run makes no write call", json.dumps(s["per_op"]))
    check("-      \"Resource\": \"arn:aws:s3:::acme-org-cloudtrail/AWSLogs/999999999999/*\"," in out and
          "+      \"Resource\": \"arn:aws:s3:::acme-org-cloudtrail/AWSLogs/111111111111/*\"," in out,
          "drift: --dry-run shows the edited statement as a unified diff", out)
    check("~ update bucket 'acme-org-cloudtrail' policy" in out, "drift: --dry-run names the bucket policy", out)
    check("> start logging trail '%s' logging" % arn in out, "drift: --dry-run shows the stopped trail", out)
    check("bucket 'acme-org-cloudtrail-access-logs' versioning" in out and '-  "Status": "Suspended"' in out,
          "drift: --dry-run shows a setting diff", out)
    check("AuditorRead" not in out.split("@@")[-1] or True, "drift: foreign statement not in the diff as removed")
    check("-      \"Sid\": \"AuditorRead\"" not in out, "drift: --dry-run does not remove the foreign statement", out)

    rc, out, err = w.run("--yes")
    check(rc == 0, "drift: apply --yes repairs the drift", out + err)
    now = json.loads(w.aws("s3api", "get-bucket-policy", "--bucket", bucket)["Policy"])
    check(foreign in now["Statement"] and sids(now).index("AuditorRead") == 1,
          "drift: the foreign statement survives in its place", json.dumps(sids(now)))
    owned = [x for x in now["Statement"] if x.get("Sid", "").startswith("Trailkeep")]
    check(owned == plan_doc(w, "central/bucket-policy.json")["Statement"],
          "drift: the edited Trailkeep statement is restored", json.dumps(owned, indent=1))
    st = w.aws("cloudtrail", "get-trail-status", "--name", arn, account="111111111111")
    check(st.get("IsLogging") is True, "drift: the stopped trail is logging again")
    mark = w.stats()["next"]
    rc, out, err = w.run("--yes")
    check(rc == 0 and w.writes_since(mark)["writes"] == 0 and "nothing to do" in out,
          "drift: after the repair a rerun has nothing to do", out + err)


def test_key_state():
    """A disabled key or a scheduled deletion silently stops every delivery:
    apply converges the key's state like any other setting."""
    w = World(members=1)
    alias = "alias/acme-cloudtrail"
    subject = "kms key '%s' (account 222222222222)" % alias
    try:
        rc, out, err = w.run("--yes")
        check(rc == 0, "key state: the org converges", out + err)
        key = w.aws("kms", "describe-key", "--key-id", alias)["KeyMetadata"]

        # the log-archive admin disables the key
        w.aws("kms", "disable-key", "--key-id", key["KeyId"])
        check(w.aws("kms", "describe-key", "--key-id", alias)["KeyMetadata"]["KeyState"] == "Disabled",
              "key state: the key is disabled")
        mark = w.stats()["next"]
        rc, dry, err = w.run("--dry-run")
        s = w.writes_since(mark)
        check(rc == 4 and s["writes"] == 0, "key state: disabled key -> --dry-run exits 4, writes nothing",
              dry + err + json.dumps(s["per_op"]))
        check(("~ enable %s" % subject) in dry and '-  "KeyState": "Disabled"' in dry and
              '+  "KeyState": "Enabled"' in dry and "1 change pending" in dry,
              "key state: --dry-run shows the enable as a setting diff, one change pending", dry)
        mark = w.stats()["next"]
        rc, out, err = w.run("--yes")
        s = w.writes_since(mark)
        check(rc == 0 and ("~ enable %s" % subject) in out, "key state: apply enables the disabled key", out + err)
        check(s["writes"] == 1 and s["per_op"].get("kms:EnableKey") == 1,
              "key state: exactly one write, EnableKey", json.dumps(s["per_op"]))
        k = w.aws("kms", "describe-key", "--key-id", alias)["KeyMetadata"]
        check(k["KeyState"] == "Enabled" and k["KeyId"] == key["KeyId"],
              "key state: the same key is Enabled again", json.dumps(k))
        check(CHANGE_RE.findall(dry) == CHANGE_RE.findall(out),
              "key state: the dry run announced exactly what apply did", dry + "\n" + out)
        mark = w.stats()["next"]
        rc, out, err = w.run("--yes")
        check(rc == 0 and "nothing to do" in out and w.writes_since(mark)["writes"] == 0,
              "key state: a rerun after enabling makes zero writes", out + err)

        # someone schedules the key's deletion
        w.aws("kms", "schedule-key-deletion", "--key-id", key["KeyId"], "--pending-window-in-days", "7")
        k = w.aws("kms", "describe-key", "--key-id", alias)["KeyMetadata"]
        check(k["KeyState"] == "PendingDeletion", "key state: the key is pending deletion")
        mark = w.stats()["next"]
        rc, dry, err = w.run("--dry-run")
        s = w.writes_since(mark)
        check(rc == 4 and s["writes"] == 0, "key state: pending deletion -> --dry-run exits 4, writes nothing",
              dry + err + json.dumps(s["per_op"]))
        i_cancel = dry.find("~ cancel deletion %s" % subject)
        i_enable = dry.find("~ enable %s" % subject)
        check(0 <= i_cancel < i_enable and '-  "KeyState": "PendingDeletion"' in dry and
              '-  "DeletionDate": "' in dry and "2 changes pending" in dry,
              "key state: --dry-run shows cancel deletion, then enable", dry + err)
        check("pending deletion: its rotation status cannot be read" in err,
              "key state: --dry-run warns that rotation is checked after the cancel", err)
        mark = w.stats()["next"]
        rc, out, err = w.run("--yes")
        s = w.writes_since(mark)
        check(rc == 0 and s["writes"] == 2 and s["per_op"].get("kms:CancelKeyDeletion") == 1 and
              s["per_op"].get("kms:EnableKey") == 1,
              "key state: apply cancels the deletion and enables the key (two writes)", out + err +
              json.dumps(s["per_op"]))
        k = w.aws("kms", "describe-key", "--key-id", alias)["KeyMetadata"]
        check(k["KeyState"] == "Enabled" and "DeletionDate" not in k,
              "key state: the key is Enabled, no deletion scheduled", json.dumps(k))
        rot = w.aws("kms", "get-key-rotation-status", "--key-id", key["KeyId"])
        check(rot["KeyRotationEnabled"] is True, "key state: rotation is still on")
        mark = w.stats()["next"]
        rc, out, err = w.run("--yes")
        check(rc == 0 and "nothing to do" in out and w.writes_since(mark)["writes"] == 0,
              "key state: a rerun after the cancel makes zero writes", out + err)

        # deletion scheduled and rotation turned off: the rotation is repaired
        # after the key is enabled again (EnableKeyRotation needs an enabled key)
        w.aws("kms", "disable-key-rotation", "--key-id", key["KeyId"])
        w.aws("kms", "schedule-key-deletion", "--key-id", key["KeyId"], "--pending-window-in-days", "30")
        mark = w.stats()["next"]
        rc, out, err = w.run("--yes")
        s = w.writes_since(mark)
        check(rc == 0 and out.find("~ cancel deletion %s" % subject) < out.find("~ enable %s" % subject) <
              out.find("~ enable rotation %s" % subject) and s["writes"] == 3,
              "key state: cancel, enable, then rotation", out + err + json.dumps(s["per_op"]))
        rot = w.aws("kms", "get-key-rotation-status", "--key-id", key["KeyId"])
        check(rot["KeyRotationEnabled"] is True, "key state: rotation is on again")
        events = w.fa.post("list_events")["events"]
        names = [e.get("eventName") for e in events]
        check("DisableKey" not in names[names.index("CancelKeyDeletion"):] if "CancelKeyDeletion" in names
              else False, "key state: apply never disables the key", json.dumps(names[-20:]))
    finally:
        w.close()


class KeyStateProxy:
    """A loopback proxy in front of the fake that reports state as the KeyState
    of every DescribeKey answer (the fake's keys are only ever Enabled,
    Disabled or PendingDeletion).  Requests pass unchanged, so their
    signatures still check out at the fake."""

    def __init__(self, fa, state):
        import http.client
        import http.server
        import threading
        import urllib.parse
        target = urllib.parse.urlsplit(fa.url)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                c = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                c.request(self.command, self.path, body=body, headers=dict(self.headers.items()))
                r = c.getresponse()
                data = r.read()
                if r.status == 200 and self.headers.get("X-Amz-Target") == "TrentService.DescribeKey":
                    d = json.loads(data)
                    d["KeyMetadata"]["KeyState"] = state
                    d["KeyMetadata"]["Enabled"] = False
                    data = json.dumps(d).encode()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                c.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def test_key_state_refused():
    """States apply does not converge are refused before any write, with the
    key, the alias and the state named."""
    w = World(members=1)
    try:
        rc, out, err = w.run("--yes")
        check(rc == 0, "key state refused: the org converges", out + err)
        arn = w.aws("kms", "describe-key", "--key-id", "alias/acme-cloudtrail")["KeyMetadata"]["Arn"]
        for state in ("PendingImport", "Unavailable", "PendingReplicaDeletion"):
            px = KeyStateProxy(w.fa, state)
            try:
                e = w.env()
                e["AWS_ENDPOINT_URL"] = px.url
                mark = w.stats()["next"]
                for args in (["--dry-run"], ["--yes"]):
                    rc, out, err = run_trailkeep(TK, ["apply", w.config] + args, e)
                    check(rc == 3 and ("kms key 'alias/acme-cloudtrail' (%s) is in state '%s'" % (arn, state))
                          in err and "~ enable" not in out,
                          "key state refused: %s is an error naming key, alias and state (%s, exit 3)" %
                          (state, args[0]), out + err)
                s = w.writes_since(mark)
                check(s["calls"] > 0 and s["writes"] == 0,
                      "key state refused: %s: nothing written" % state, json.dumps(s["per_op"]))
            finally:
                px.close()
    finally:
        w.close()


def test_per_account(members=3):
    ids = ["111111111111", "222222222222"] + ["%s" % (str(3 + i) * 12) for i in range(members)]
    w = World(members=members, ini=per_account_ini(ids))
    try:
        # account 555555555555 cannot be assumed: its role wants an external id
        # the config does not give (yet)
        w.fa.post("create_role", account="555555555555", name="OrganizationAccountAccessRole",
                  trust_policy={"Version": "2012-10-17", "Statement": [{
                      "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                      "Action": "sts:AssumeRole",
                      "Condition": {"StringEquals": {"sts:ExternalId": "acme-x1"}}}]})
        rc, out, err = w.run("--yes")
        check(rc == 3, "per-account: one account whose role cannot be assumed -> exit 3", out + err)
        check("account 555555555555 (a4) trail: failed" in out and
              "account 555555555555: cannot assume role 'arn:aws:iam::555555555555:role/"
              "OrganizationAccountAccessRole'" in err, "per-account: the summary names the failed account", out + err)
        ok = [a for a in ids if a != "555555555555"]
        good = all("account %s (a%d) trail: ok" % (a, ids.index(a)) in out for a in ok)
        check(good, "per-account: every other account converged", out)
        for a in ok:
            t = w.aws("cloudtrail", "get-trail-status", "--name",
                      "arn:aws:cloudtrail:us-east-1:%s:trail/acme-trail" % a, account=a)
            if not t.get("IsLogging"):
                check(False, "per-account: trail of %s logging" % a)
                break
        else:
            check(True, "per-account: every reachable account's trail is logging")
        # with external_id in the config the role can be assumed: the rerun
        # converges that account only
        with open(w.config, "w") as f:
            f.write(per_account_ini(ids, external_id="acme-x1"))
        rc, out, err = w.run("--yes")
        check(rc == 0 and "account 555555555555 (a4) trail: ok, 3 changes" in out,
              "per-account: with external_id in the config the rerun converges that account", out + err)
        mark = w.stats()["next"]
        rc, out, err = w.run("--yes")
        check(rc == 0 and w.writes_since(mark)["writes"] == 0, "per-account: third run writes nothing", out + err)
        # --account limits the trails
        rc, out, err = w.run("--dry-run", "--account", "333333333333")
        check(rc == 0 and "333333333333" in out and "444444444444" not in out,
              "per-account: --account limits the trails", out + err)
    finally:
        w.close()


def test_safety():
    # the bucket exists in another account
    w = World(members=1)
    try:
        e = w.env("333333333333")
        subprocess.run([PY, "-m", "awscli", "--endpoint-url", w.fa.url, "s3api", "create-bucket", "--bucket",
                        "acme-org-cloudtrail"], env=e, check=True, stdout=subprocess.DEVNULL)
        mark = w.stats()["next"]
        rc, out, err = w.run("--yes")
        check(rc == 3 and "bucket 'acme-org-cloudtrail' exists but is not owned by the central account" in err,
              "safety: a bucket owned by another account is refused", out + err)
        check(w.writes_since(mark)["writes"] == 0, "safety: nothing was written before the refusal")
    finally:
        w.close()
    # the bucket is in another region
    w = World(members=1)
    try:
        w.aws("s3api", "create-bucket", "--bucket", "acme-org-cloudtrail", "--create-bucket-configuration",
              "LocationConstraint=eu-west-1", region="eu-west-1")
        rc, out, err = w.run("--yes")
        check(rc == 3 and "is in region 'eu-west-1', not in the home region 'us-east-1'" in err,
              "safety: a bucket in another region is refused", out + err)
    finally:
        w.close()
    # the access-log bucket has SSE-KMS default / object lock
    w = World(members=1)
    try:
        w.aws("s3api", "create-bucket", "--bucket", "acme-org-cloudtrail-access-logs",
              "--object-lock-enabled-for-bucket")
        rc, out, err = w.run("--yes")
        check(rc == 3 and "access-log bucket 'acme-org-cloudtrail-access-logs' has object lock enabled" in err,
              "safety: an access-log bucket with object lock is refused", out + err)
    finally:
        w.close()
    w = World(members=1)
    try:
        w.aws("s3api", "create-bucket", "--bucket", "acme-org-cloudtrail-access-logs")
        w.aws("s3api", "put-bucket-encryption", "--bucket", "acme-org-cloudtrail-access-logs",
              "--server-side-encryption-configuration",
              '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms"}}]}')
        rc, out, err = w.run("--yes")
        check(rc == 3 and "has default encryption SSE-KMS" in err,
              "safety: an access-log bucket with SSE-KMS default is refused", out + err)
        # a key policy template without the root statement: refused before any call (exit 2)
        tdir = os.path.join(w.dir, "templates")
        subprocess.run(["cp", "-r", os.path.join(TOP, "templates"), tdir], check=True)
        kp = json.load(open(os.path.join(tdir, "kms-key-policy.json")))
        kp["Statement"] = [s for s in kp["Statement"] if s.get("Sid") != "TrailkeepEnableIAMUserPermissions"]
        json.dump(kp, open(os.path.join(tdir, "kms-key-policy.json"), "w"))
        mark = w.stats()["next"]
        rc, out, err = w.run("--yes", "--templates", tdir)
        check(rc == 2 and "would lock out the account root" in err and w.writes_since(mark)["calls"] == 0,
              "safety: a key policy that locks out the root is refused before any call (exit 2)", out + err)
    finally:
        w.close()
    # non-interactive without --yes refuses before contacting anything
    w = World(members=1)
    try:
        mark = w.stats()["next"]
        rc, out, err = w.run()
        check(rc == 2 and "pass --yes" in err and w.writes_since(mark)["calls"] == 0,
              "safety: no --yes without a terminal refuses (exit 2), nothing contacted", out + err)
    finally:
        w.close()


def run_pty(w, answer, *args):
    """Run apply with stdin and stdout on a pseudo-terminal; type answer when
    the question appears.  Returns (exit code, everything printed)."""
    import pty
    import select
    master, slave = pty.openpty()
    p = subprocess.Popen([TK, "apply", w.config] + list(args), env=w.env(), stdin=slave, stdout=slave,
                         stderr=subprocess.PIPE, close_fds=True)
    os.close(slave)
    out = b""
    sent = False
    deadline = time.time() + 120
    while time.time() < deadline:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if not sent and b"apply these changes? [y/N]" in out:
                os.write(master, answer.encode() + b"\n")
                sent = True
        elif p.poll() is not None:
            break
    rc = p.wait(60)
    err = p.stderr.read().decode()
    p.stderr.close()
    os.close(master)
    return rc, out.decode(errors="replace").replace("\r\n", "\n") + err


def test_interactive():
    w = World(members=1)
    try:
        mark = w.stats()["next"]
        rc, out = run_pty(w, "n")
        check(rc == 0 and "apply these changes? [y/N]" in out and "+++ bucket 'acme-org-cloudtrail' policy (planned)"
              in out and "nothing changed" in out, "interactive: shows the diff, asks, 'n' changes nothing", out)
        check(w.writes_since(mark)["writes"] == 0, "interactive: answering 'n' makes no write call")
        rc, out = run_pty(w, "y")
        check(rc == 0 and "changes made" in out, "interactive: answering 'y' applies", out)
        mark = w.stats()["next"]
        rc, out, err = w.run("--yes")
        check(rc == 0 and "nothing to do" in out and w.writes_since(mark)["writes"] == 0,
              "interactive: what 'y' applied is complete (rerun has nothing to do)", out + err)
    finally:
        w.close()


MINI_INI = """[organization]
management_account = 111111111111
home_region = us-east-1

[central]
bucket = acme-mini-cloudtrail
kms_alias = alias/acme-mini
retention_days = {days}
{extra}
[account main]
id = 111111111111
"""


def test_apply_principals():
    """The central bucket in the caller's own account, apply as its admin
    user (not role/ASSUME_ROLE): apply warns that the policy it puts would
    deny its own next policy change; the change does fail then; with the
    user in apply_principals there is no warning and the change goes through."""
    me = "arn:aws:iam::111111111111:user/"
    for listed in (False, True):
        w = World(members=1, ini=MINI_INI.format(days=400, extra=""))
        try:
            who = w.aws("sts", "get-caller-identity", account="111111111111")["Arn"]
            check(who.startswith(me), "apply-principals: the caller is an IAM user of the central account", who)
            extra = "apply_principals = %s\n" % who if listed else ""
            with open(w.config, "w") as f:
                f.write(MINI_INI.format(days=400, extra=extra))
            rc, out, err = w.run("--yes")
            warned = "add it to [central] apply_principals" in err and "'%s'" % who in err
            if listed:
                check(rc == 0 and not warned, "apply-principals: listed: no warning", out + err)
            else:
                check(rc == 0 and warned and "TrailkeepDenyProtectionChanges" in err,
                      "apply-principals: not listed: apply warns, naming the statement and the user", out + err)
            # a config change that changes the bucket policy (a new account's prefix)
            with open(w.config, "a") as f:
                f.write("\n[account other]\nid = 333333333333\n")
            rc, out, err = w.run("--yes")
            if listed:
                check(rc == 0, "apply-principals: listed: the next policy change is applied", out + err)
            else:
                check(rc == 3 and "AccessDenied" in err,
                      "apply-principals: not listed: the next policy change is denied, as warned", out + err)
        finally:
            w.close()


def main():
    only = sys.argv[1:]
    if not only or "org" in only:
        w = World(members=2)
        try:
            test_org(w)
            test_drift(w)
        finally:
            w.close()
    if not only or "key-state" in only:
        test_key_state()
        test_key_state_refused()
    if not only or "per-account" in only:
        test_per_account()
    if not only or "safety" in only:
        test_safety()
    if not only or "interactive" in only:
        test_interactive()
    if not only or "apply-principals" in only:
        test_apply_principals()
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
