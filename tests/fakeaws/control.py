"""Control endpoint operations (POST /_fake/<name>, JSON body) and the
pytest-free client FakeAWS.

Modules add their own operations with register(name, fn); fn(world, body) -> dict
runs with world.lock held.

Client use:
    from tests.fakeaws.control import FakeAWS
    with FakeAWS(seed=1) as fa:
        org = fa.post("seed_org", members=3)
        env = fa.env(org["accounts"][0])        # AWS_* variables for that account
        ...
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

from .world import PARTITION, World, iso8601, parse_iso8601

CONTROL = {}

MANAGEMENT = "111111111111"
LOG_ARCHIVE = "222222222222"


def register(name, fn):
    CONTROL[name] = fn
    return fn


def member_id(i):
    """Deterministic member account ids: 333333333333 .. 999999999999, then 100000000007 ..."""
    if i < 7:
        return str(3 + i) * 12
    return "%012d" % (100000000000 + i)


def _trust_root(account):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:%s:iam::%s:root" % (PARTITION, account)},
        "Action": "sts:AssumeRole"}]})


def _key_json(k):
    return {"access_key_id": k.access_key_id, "secret_access_key": k.secret,
            "session_token": k.session_token, "arn": k.arn, "account": k.account}


def seed_org(world, body):
    """Create an organization.  body: {"members": 2, "region": "us-east-1",
    "management": "111111111111", "log_archive": "222222222222", "org_id": "o-..." (default: random),
    "feature_set": "ALL", "trusted_services": ["cloudtrail.amazonaws.com"]}.
    Returns {"org_id", "org_arn", "management", "log_archive", "accounts": [...]},
    each account with an admin access key (user 'admin')."""
    n = int(body.get("members", 2))
    mgmt = body.get("management", MANAGEMENT)
    arch = body.get("log_archive", LOG_ARCHIVE)
    ids = [(mgmt, "management", "Management"), (arch, "log-archive", "Log Archive")]
    ids += [(member_id(i), "member", "Member %d" % (i + 1)) for i in range(n)]
    from .world import Org
    if world.org is None:
        oid = body.get("org_id") or "o-" + world.rand_chars(10, "abcdefghijklmnopqrstuvwxyz0123456789")
        world.org = Org(oid, mgmt, feature_set=body.get("feature_set", "ALL"),
                        trusted_services=set(body.get("trusted_services", ["cloudtrail.amazonaws.com"])),
                        root_id="r-" + world.rand_chars(4, "abcdefghijklmnopqrstuvwxyz0123456789"))
    accounts = []
    for acct, kind, name in ids:
        a = world.add_account(acct, name, "%s@example.com" % name.lower().replace(" ", "-"))
        if acct not in world.org.members:
            world.org.members.append(acct)
        if kind != "management" and "OrganizationAccountAccessRole" not in a.roles:
            world.add_role(acct, "OrganizationAccountAccessRole", _trust_root(mgmt))
        k = next((x for x in world.access_keys.values()
                  if x.account == acct and x.kind == "user" and x.arn.endswith(":user/admin")), None)
        if k is None:
            k = world.create_access_key(acct)
        d = {"id": acct, "name": name, "email": a.email, "kind": kind,
             "role_arn": "arn:%s:iam::%s:role/OrganizationAccountAccessRole" % (PARTITION, acct)
             if kind != "management" else None}
        d.update(_key_json(k))
        accounts.append(d)
    return {"org_id": world.org.id, "org_arn": world.org.arn, "management": accounts[0],
            "log_archive": accounts[1], "accounts": accounts,
            "region": body.get("region", "us-east-1")}


def create_account(world, body):
    """{"id": "...", "name": "...", "in_org": true}: an account with an admin key."""
    acct = body["id"]
    a = world.add_account(acct, body.get("name", "Account %s" % acct), body.get("email"))
    if body.get("in_org", True) and world.org and acct not in world.org.members:
        world.org.members.append(acct)
    if body.get("in_org", True) and world.org and "OrganizationAccountAccessRole" not in a.roles:
        world.add_role(acct, "OrganizationAccountAccessRole", _trust_root(world.org.management_account))
    k = world.create_access_key(acct)
    d = {"id": acct, "name": a.name, "email": a.email}
    d.update(_key_json(k))
    return d


def create_access_key(world, body):
    """{"account": id, "user": "admin", "admin": true, "expires_in": secs?}.
    With expires_in: a temporary key with a session token that expires
    expires_in seconds after the auth clock's now (negative: already expired)."""
    acct = body["account"]
    if acct not in world.accounts:
        raise KeyError("no account '%s'" % acct)
    user = body.get("user", "admin")
    arn = "arn:%s:iam::%s:user/%s" % (PARTITION, acct, user)
    if body.get("root"):
        arn = "arn:%s:iam::%s:root" % (PARTITION, acct)
    if "expires_in" in body:
        token = "FQoGZXIvYXdzE" + world.rand_chars(120, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        k = world.create_access_key(acct, arn=arn, session_token=token,
                                    expiration=world.auth_now() + float(body["expires_in"]),
                                    prefix="ASIA")
    else:
        k = world.create_access_key(acct, arn=arn, kind="root" if body.get("root") else "user")
    k.admin = bool(body.get("admin", True))
    return _key_json(k)


def create_role(world, body):
    """{"account", "name", "trust_policy": {...}|"...", "max_session_duration": 3600, "admin": true}"""
    r = world.add_role(body["account"], body["name"], body["trust_policy"],
                       int(body.get("max_session_duration", 3600)), bool(body.get("admin", True)))
    return {"arn": r.arn, "role_id": r.role_id}


def set_faults(world, body):
    from .faults import Faults
    world.faults = Faults(body) if body else None
    return {"ok": True}


def set_auth_clock(world, body):
    """{"time": "2026-01-01T00:00:00Z" | epoch | "sim" | null}: the clock SigV4
    skew and token expiry are checked against (null = real time, "sim" = the
    simulated clock)."""
    t = body.get("time")
    if t is None or t == "sim":
        world.auth_clock = t
    elif isinstance(t, (int, float)):
        world.auth_clock = float(t)
    else:
        world.auth_clock = parse_iso8601(t)
    return {"auth_clock": world.auth_clock}


def set_secure_transport(world, body):
    """{"secure": true}: the value of aws:SecureTransport in policy evaluation."""
    world.secure_transport = bool(body.get("secure", True))
    return {"secure": world.secure_transport}


def reset(world, body):
    """Forget everything: a fresh world (body: {"seed": N} optional)."""
    lock = world.lock
    fresh = World(seed=int(body.get("seed", world.seed)))
    state_dir = getattr(world, "state_dir", None)
    world.__dict__.clear()
    world.__dict__.update(fresh.__dict__)
    world.lock = lock
    world.state_dir = state_dir
    return {"ok": True}


def stats(world, body):
    """Counts of served calls: per "service:Operation", writes in total and per
    account, injected faults.  body {"since": i} counts calls[i:] only;
    "next" is the index to pass next time."""
    since = int(body.get("since", 0))
    calls = world.calls[since:]
    per_op = {}
    writes = 0
    per_acct = {}
    for acct, svc, op, w in calls:
        k = "%s:%s" % (svc, op)
        per_op[k] = per_op.get(k, 0) + 1
        if w:
            writes += 1
            per_acct[acct] = per_acct.get(acct, 0) + 1
    return {"calls": len(calls), "per_op": per_op, "writes": writes,
            "writes_per_account": per_acct, "next": len(world.calls),
            "faults_injected": dict(world.faults.injected) if world.faults else {},
            "max_in_flight": dict(world.faults.max_in_flight) if world.faults else {},
            "in_flight_with": ({k: sorted(v) for k, v in world.faults.in_flight_with.items()}
                               if world.faults else {}),
            "events": len(world.events), "now": iso8601(world.now)}


def save(world, body):
    d = body.get("dir") or getattr(world, "state_dir", None)
    if not d:
        raise ValueError("no state directory (give 'dir' or start with --state)")
    world.save(d)
    return {"saved": d}


def get_object(world, body):
    """{"bucket", "key"} -> {"exists", "size", "etag", "body_b64"} (for tests)."""
    import base64
    v = world.get_object(body["bucket"], body["key"])
    if v is None:
        return {"exists": False}
    return {"exists": True, "size": v.size, "etag": v.etag, "metadata": v.metadata,
            "body_b64": base64.b64encode(v.body).decode()}


def list_events(world, body):
    """The recorded management events (without the fake's private fields)."""
    return {"events": [{k: v for k, v in e.items() if not k.startswith("_")}
                       for e in world.events[int(body.get("since", 0)):]]}


for _n, _f in list(globals().items()):
    if _n in ("seed_org", "create_account", "create_access_key", "create_role", "set_faults",
              "set_auth_clock", "set_secure_transport", "reset", "stats", "save", "get_object",
              "list_events"):
        register(_n, _f)


# --- client ----------------------------------------------------------------------

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = "/usr/bin/python3"


class FakeAWS:
    """Start a fake AWS server on a free loopback port (subprocess)."""

    def __init__(self, seed=0, state=None, start=None, extra_args=(), stderr=None):
        args = [PYTHON, "-m", "tests.fakeaws", "--port", "0", "--seed", str(seed)]
        if state:
            args += ["--state", state]
        if start:
            args += ["--start", start]
        args += list(extra_args)
        self.proc = subprocess.Popen(args, cwd=TOP, stdout=subprocess.PIPE, stderr=stderr,
                                     stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("PORT="):
            self.proc.kill()
            raise RuntimeError("fake AWS did not start: %r" % line)
        self.port = int(line[5:])
        self.url = "http://127.0.0.1:%d" % self.port

    def post(self, name, /, **body):
        req = urllib.request.Request(self.url + "/_fake/" + name, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise RuntimeError("control %s: %s" % (name, e.read().decode(errors="replace")))

    def env(self, account, region="us-east-1"):
        """AWS_* environment for an account dict as seed_org returns it."""
        e = {"AWS_ACCESS_KEY_ID": account["access_key_id"],
             "AWS_SECRET_ACCESS_KEY": account["secret_access_key"],
             "AWS_DEFAULT_REGION": region, "AWS_REGION": region,
             "AWS_ENDPOINT_URL": self.url, "AWS_EC2_METADATA_DISABLED": "true"}
        if account.get("session_token"):
            e["AWS_SESSION_TOKEN"] = account["session_token"]
        return e

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()
