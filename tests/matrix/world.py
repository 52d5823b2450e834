"""One fake AWS world for a generated config, on a pinned simulated clock.

Clocks (README "The local fake AWS"): the fake runs with --auth-clock sim, so
SigV4 times and token expiry are checked against the simulated clock; every
trailkeep run gets TRAILKEEP_NOW = the simulated now, and the people who break
things use botocore with its signing clock pinned to the same time (what
tests/fakeaws/aws_at.py does for the aws CLI).  Nothing reads the real clock,
so a run is replayable from its seed."""

import datetime
import json
import os
import shutil
import subprocess
import sys

import botocore.auth
import botocore.session

from tests.fakeaws.control import FakeAWS, TOP
from tests.fakeaws.testing import run_trailkeep, trailkeep_env, trailkeep_path

from .gen import ARCHIVE, BREAK_GLASS, CUSTOM_ROLE, MGMT, OPT_IN

START = "2026-01-01T00:00:00Z"
TK = trailkeep_path(TOP)

# --- botocore's signing clock, pinned --------------------------------------------------
_NOW = [datetime.datetime(2026, 1, 1)]


class _Pinned(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return _NOW[0]

    @classmethod
    def now(cls, tz=None):
        return _NOW[0] if tz is None else _NOW[0].replace(tzinfo=datetime.timezone.utc).astimezone(tz)


_mod = type(sys)("datetime")
_mod.datetime = _Pinned
_mod.timezone = datetime.timezone
_mod.timedelta = datetime.timedelta
botocore.auth.datetime = _mod
try:                                    # with awscrt installed, S3 signs through botocore.crt
    import botocore.crt.auth
    botocore.crt.auth.datetime = _mod
except ImportError:
    pass


def _pin(iso):
    _NOW[0] = datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")


def _trust(account, external_id=None):
    st = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % account},
          "Action": "sts:AssumeRole"}
    if external_id:
        st["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return {"Version": "2012-10-17", "Statement": [st]}


class World:
    """A running fake for cfg.  Either built from nothing (setup()) or
    started from a saved healthy world (state=dir, copied first)."""

    def __init__(self, cfg, tmp, state=None, log=None):
        self.cfg = cfg
        self.tmp = tmp
        self.log = log or (lambda s: None)
        self.state_dir = None
        if state:
            self.state_dir = os.path.join(tmp, "state")
            shutil.rmtree(self.state_dir, ignore_errors=True)
            shutil.copytree(state, self.state_dir)
        self.fa = FakeAWS(seed=cfg.seed, start=START, state=self.state_dir,
                          extra_args=["--auth-clock", "sim"], stderr=subprocess.DEVNULL)
        self.config = os.path.join(tmp, "config.ini")
        self.keys = {}
        self.now = START
        self.sanitizer = []         # sanitizer reports seen in trailkeep's stderr
        if state:
            self._meta(state)
        _pin(self.now)

    def _meta(self, state):
        with open(os.path.join(state, "meta.json")) as f:
            meta = json.load(f)
        self.keys = meta["keys"]
        self.cfg.org_id = meta["org_id"]
        self.now = meta["now"]
        self.write_config()
        _pin(self.now)

    def reload(self, state):
        """Back to the world saved in state (the fake's load_world: no restart;
        a fake that died is started again from a copy)."""
        if self.fa.proc.poll() is not None:
            self.fa.stop()
            self.__init__(self.cfg, self.tmp, state=state, log=self.log)
            return
        self.fa.post("load_world", dir=state)
        self._meta(state)

    # --- building -------------------------------------------------------------------
    def setup(self):
        c = self.cfg
        org = self.fa.post("seed_org", members=len(c.members), region=c.home,
                           log_archive=c.central)
        for a in org["accounts"]:
            self.keys.setdefault(a["id"], a)
        c.org_id = org["org_id"]
        self.fa.post("set_regions", regions=c.fake_regions())
        self.fa.post("set_delivery", background=[1, 2], data=[0, 1])
        if OPT_IN in c.fake_regions():
            for a in c.all_accounts():
                self.fa.post("set_region_opt", account=a, region=OPT_IN, status="ENABLED")
        self.fa.post("create_role", account=c.central, name=BREAK_GLASS, trust_policy=_trust(c.central))
        if c.assume_role != "OrganizationAccountAccessRole":
            for a in c.all_accounts():
                if a != MGMT:
                    self.fa.post("create_role", account=a, name=CUSTOM_ROLE,
                                 trust_policy=_trust(MGMT, c.external_id))
        if c.data_bucket:
            owner = c.members[0] if c.members else MGMT
            kw = {} if c.home == "us-east-1" else {
                "CreateBucketConfiguration": {"LocationConstraint": c.home}}
            self.client("s3", self.keys[owner], region=c.home).create_bucket(Bucket=c.data_bucket, **kw)
        self.write_config()

    def write_config(self, text=None):
        with open(self.config, "w") as f:
            f.write(text if text is not None else self.cfg.ini())

    def save(self, d):
        os.makedirs(d, exist_ok=True)
        self.fa.post("save", dir=d)
        with open(os.path.join(d, "meta.json"), "w") as f:
            json.dump({"keys": self.keys, "org_id": self.cfg.org_id, "now": self.now}, f)

    # --- clock ------------------------------------------------------------------------
    def advance(self, seconds):
        r = self.fa.post("advance", seconds=seconds)
        self.now = r["now"]
        _pin(self.now)
        return r

    # --- trailkeep ----------------------------------------------------------------------
    def tk(self, *args, config=None, timeout=120, env=None):
        e = trailkeep_env(self.fa, self.keys[MGMT], TOP, now=self.now)
        e["AWS_REGION"] = e["AWS_DEFAULT_REGION"] = self.cfg.home
        e.update(env or {})
        rc, out, err = run_trailkeep(TK, [args[0], config or self.config] + list(args[1:]), e,
                                     timeout=timeout)
        self.log("$ trailkeep %s -> %d" % (" ".join(args), rc))
        if "ERROR: AddressSanitizer" in err or "ERROR: LeakSanitizer" in err or "runtime error:" in err:
            self.sanitizer.append("trailkeep %s: %s" % (" ".join(args), err[-3000:]))
        return rc, out, err

    def tk_json(self, *args, config=None, env=None):
        rc, out, err = self.tk(*(list(args) + ["--json"]), config=config, env=env)
        try:
            doc = json.loads(out)
        except ValueError:
            doc = None
        return rc, doc, out + err

    def writes_since(self, mark):
        return self.fa.post("stats", since=mark)["writes"]

    def mark(self):
        return self.fa.post("stats", since=10 ** 9)["next"]

    def apply(self, *extra):
        """apply --yes; (rc, output, write calls it made)."""
        m = self.mark()
        rc, out, err = self.tk("apply", "--yes", *extra)
        writes = self.writes_since(m)
        self.confirm_subscriptions()
        return rc, out + err, writes

    def monitoring_owners(self):
        """README "Monitoring": the accounts with a log group, alarms and a
        topic (organization: the management account; per-account: every
        trail owner)."""
        return self.cfg.trail_owners() if self.cfg.monitoring else []

    def confirm_subscriptions(self):
        """The subscriber follows the link in SNS's confirmation mail (a new
        topic made by apply asks again: README "doctor", alarm_topic_missing).
        Without `subscribe` in the config the team subscribes its pager by
        hand, as README "Monitoring" leaves it to them (else verify's
        notify_unconfirmed warning: nobody receives the alarms)."""
        if not self.cfg.monitoring:
            return
        sub = self.cfg.mon("subscribe")
        for o in self.monitoring_owners():
            topic = self.cfg.topic_arn(o)
            if sub:
                endpoint = sub[len("mailto:"):] if sub.startswith("mailto:") else sub
            else:
                endpoint = "https://pager.example.com/%s" % o
                try:
                    self.client("sns", self.keys[o]).subscribe(
                        TopicArn=topic, Protocol="https", Endpoint=endpoint)
                except Exception:   # no topic (a break deleted it): nothing to subscribe to
                    continue
            try:
                self.fa.post("confirm_subscription", topic=topic, endpoint=endpoint)
            except RuntimeError:    # no topic (yet): nothing to confirm
                pass

    # --- people ---------------------------------------------------------------------------
    def user(self, account, name):
        return self.fa.post("create_access_key", account=account, user=name, admin=True)

    def client(self, service, key, region=None):
        s = botocore.session.get_session()
        return s.create_client(service, region_name=region or self.cfg.home, endpoint_url=self.fa.url,
                               aws_access_key_id=key["access_key_id"],
                               aws_secret_access_key=key["secret_access_key"],
                               aws_session_token=key.get("session_token"))

    def assume(self, key, role_arn, session):
        c = self.client("sts", key).assume_role(RoleArn=role_arn, RoleSessionName=session)["Credentials"]
        return {"access_key_id": c["AccessKeyId"], "secret_access_key": c["SecretAccessKey"],
                "session_token": c["SessionToken"]}

    def break_glass(self, name="mallory"):
        """A session of the central account's break-glass role (the only one the
        bucket policy lets change the policy or delete objects)."""
        u = self.user(self.cfg.central, name)
        return self.assume(u, "arn:aws:iam::%s:role/%s" % (self.cfg.central, BREAK_GLASS), name), \
            "arn:aws:sts::%s:assumed-role/%s/%s" % (self.cfg.central, BREAK_GLASS, name)

    def close(self):
        self.fa.stop()


__all__ = ["World", "START", "TK", "MGMT", "ARCHIVE"]
