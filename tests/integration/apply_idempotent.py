#!/usr/bin/python3
"""`trailkeep apply`'s creates are safe to retry and two applies do not
race (README, `trailkeep apply`: idempotent creates, the apply lock).
Against the fake AWS (tests/fakeaws), with its "lost_reply" fault (the call
is performed, then the connection is closed without an answer):

- a lost CreateKey reply: exactly one key with trailkeep's tag and
  description, the alias names it, exit 0 (no orphan, no second key);
- a lost CreateAlias reply (the retry gets AlreadyExistsException): adopted,
  exit 0, one alias, one key;
- a lost CreateTrail reply (the retry gets TrailAlreadyExistsException):
  adopted, exit 0, one trail, logging;
- a lost CreateBucket reply with home_region eu-west-1 (the retry gets
  BucketAlreadyOwnedByYou): adopted, exit 0;
- each run is followed by a second apply with zero writes;
- two concurrent `apply --yes` on the same organization and bucket: the
  second is refused at once (exit 3) naming the first one's pid, the first
  ends with exit 0, one key; a dry run takes no lock.

Prints PASS:/FAIL: lines; exits non-zero on any failure."""

import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from apply_fake import World, check  # noqa: E402

import apply_fake  # noqa: E402

ALIAS = "alias/acme-cloudtrail"
DESC = "trailkeep: CloudTrail logs (%s)" % ALIAS
ARN = "arn:aws:cloudtrail:us-east-1:111111111111:trail/org-trail"


def our_keys(w, region="us-east-1"):
    """Keys in the central account with trailkeep's description or tag."""
    out = []
    for k in w.aws("kms", "list-keys", region=region)["Keys"]:
        m = w.aws("kms", "describe-key", "--key-id", k["KeyId"], region=region)["KeyMetadata"]
        tags = w.aws("kms", "list-resource-tags", "--key-id", k["KeyId"], region=region).get("Tags", [])
        if m.get("Description") == DESC or {"TagKey": "trailkeep:alias", "TagValue": ALIAS} in tags:
            out.append((m, tags))
    return out


def trails(w, region="us-east-1"):
    return w.aws("cloudtrail", "describe-trails", account="111111111111", region=region).get("trailList", [])


def zero_writes(w, what):
    mark = w.stats()["next"]
    rc, out, err = w.run("--yes")
    s = w.writes_since(mark)
    check(rc == 0 and "nothing to do" in out and s["writes"] == 0, "%s: a second apply makes zero writes" % what,
          out + err + json.dumps(s.get("per_op")))


def lost(service, op, home="us-east-1"):
    """op's reply is lost once; home: the home region (a CreateBucket retried
    outside us-east-1 gets BucketAlreadyOwnedByYou)."""
    ini = None
    if home != "us-east-1":
        ini = apply_fake.ORG_INI.replace("home_region = us-east-1\nregions = us-east-1, eu-west-1",
                                         "home_region = %s\nregions = %s, us-east-1" % (home, home))
    w = World(members=1)
    if ini:
        with open(w.config, "w") as f:
            f.write(ini.format(org_id=w.org_id))
    arn = ARN.replace("us-east-1", home)
    what = op + ("" if home == "us-east-1" else " (%s)" % home)
    try:
        w.fa.post("set_faults", forced=[{"service": service, "operation": op, "code": "lost_reply", "count": 1}])
        rc, out, err = w.run("--yes")
        inj = w.fa.post("set_faults")
        check(rc == 0, "lost %s reply: apply exits 0" % what, out + err)
        keys = our_keys(w, home)
        check(len(keys) == 1, "lost %s reply: exactly one trailkeep key" % what,
              json.dumps([k[0]["KeyId"] for k in keys]))
        alias = w.aws("kms", "describe-key", "--key-id", ALIAS, region=home)["KeyMetadata"]
        check(keys and alias["KeyId"] == keys[0][0]["KeyId"], "lost %s reply: the alias names that key" % what)
        check(keys and {"TagKey": "trailkeep:alias", "TagValue": ALIAS} in keys[0][1],
              "lost %s reply: the key carries the trailkeep:alias tag" % what, json.dumps(keys and keys[0][1]))
        ts = [t for t in trails(w, home) if t.get("Name") == "org-trail"]
        check(len(ts) == 1, "lost %s reply: exactly one trail" % what, json.dumps(ts))
        st = w.aws("cloudtrail", "get-trail-status", "--name", arn, account="111111111111", region=home)
        b = w.aws("s3api", "get-bucket-location", "--bucket", "acme-org-cloudtrail", region=home)
        check((b.get("LocationConstraint") or "us-east-1") == home, "lost %s reply: the bucket is in %s" % (what, home),
              json.dumps(b))
        check(st.get("IsLogging") is True, "lost %s reply: the trail is logging" % what)
        calls = w.stats()["per_op"]
        check(calls.get("%s:%s" % (service, op), 0) >= 1, "lost %s reply: the fault hit the call" % what,
              json.dumps(inj))
        zero_writes(w, "lost %s reply" % what)
    finally:
        w.close()


def concurrent():
    w = World(members=1)
    rundir = tempfile.mkdtemp(prefix="tk-lock-")
    try:
        # every request takes a while, so the first apply is still running
        w.fa.post("set_faults", latency_ms=150)
        e = w.env()
        e["XDG_RUNTIME_DIR"] = rundir
        first = subprocess.Popen([apply_fake.TK, "apply", w.config, "--yes"], env=e, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 30
        locks = []
        while time.time() < deadline and not locks:
            locks = [f for f in os.listdir(rundir) if f.startswith("trailkeep-apply-222222222222-")]
            time.sleep(0.1)
        time.sleep(0.5)
        p = subprocess.run([apply_fake.TK, "apply", w.config, "--yes"], env=e, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        err2 = p.stderr.decode()
        check(p.returncode == 3 and ("another apply (pid %d)" % first.pid) in err2,
              "lock: a second apply is refused naming the first one's pid", err2)
        check(locks and oct(os.stat(os.path.join(rundir, locks[0])).st_mode & 0o777) == "0o600",
              "lock: the lock file is under XDG_RUNTIME_DIR, mode 0600", repr(locks))
        d = subprocess.run([apply_fake.TK, "apply", w.config, "--dry-run"], env=e, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        check(d.returncode in (0, 4) and "another apply" not in d.stderr.decode(),
              "lock: a dry run takes no lock", d.stderr.decode())
        out1, errb = first.communicate(timeout=300)
        check(first.returncode == 0, "lock: the first apply ends with exit 0", (out1 + errb).decode())
        w.fa.post("set_faults")
        check(len(our_keys(w)) == 1, "lock: one key")
        rc, out, err = w.run("--yes")
        check(rc == 0 and "nothing to do" in out, "lock: afterwards apply runs again", out + err)
        # a symbolic link where the lock goes is refused, not followed
        e2 = dict(e)
        d2 = tempfile.mkdtemp(prefix="tk-lock2-")
        e2["XDG_RUNTIME_DIR"] = d2
        os.symlink(os.path.join(d2, "elsewhere"), os.path.join(d2, locks[0] if locks else "x"))
        p = subprocess.run([apply_fake.TK, "apply", w.config, "--yes"], env=e2, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        check(p.returncode == 3 and "symbolic link" in p.stderr.decode() and
              not os.path.exists(os.path.join(d2, "elsewhere")),
              "lock: a symbolic link as the lock file is refused", p.stderr.decode())
    finally:
        w.close()


def main():
    only = sys.argv[1:]
    for service, op, home in (("kms", "CreateKey", "us-east-1"), ("kms", "CreateAlias", "us-east-1"),
                              ("cloudtrail", "CreateTrail", "us-east-1"), ("s3", "CreateBucket", "eu-west-1")):
        if not only or op in only:
            lost(service, op, home)
    if not only or "lock" in only:
        concurrent()
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
