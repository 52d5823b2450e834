#!/usr/bin/python3
"""Organization membership and CloudTrail's trusted access, end to end against
the fake AWS (README "verify", "doctor", "apply"; issue 12 "Organization
membership", issue 18 "Warnings").

Each scenario builds an organization with `trailkeep apply` in a fresh fake
(management, log archive, prod, staging), lets delivery run and changes the
organization the way people do (as a named principal, with botocore):

  leave       prod calls LeaveOrganization: verify account_not_in_org on
              prod's cells (exit 1), doctor account_left_org with the culprit
              and the fix; invited back -> green; or the config fixed -> green
  remove      the management account removes staging: culprit
              RemoveAccountFromOrganization
  suspended   ListAccounts reports staging SUSPENDED: the message says so
  unconfigured an ACTIVE member nobody configured: account_unconfigured, a
              warning, exit 0; listed in exclude_accounts: nothing
  trusted     DisableAWSServiceAccess cloudtrail.amazonaws.com: verify
              org_trusted_access_disabled, doctor cause + culprit, apply
              --dry-run shows the enable (exit 4), apply enables it, verify
              green, a second apply makes zero writes
  faults      ListAccounts / ListAWSServiceAccessForOrganization fail:
              cell_unchecked on the management account's home-region cell,
              exit 3, never "passed"

Expected codes come from the README tables.  Clocks as in doctor_fake.py: the
fake's simulated clock; apply and botocore sign with the real clock, verify
and doctor run with TRAILKEEP_NOW = the simulated now (set_auth_clock sim).

Prints PASS:/FAIL: lines; exits non-zero on any failure."""

import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, TOP)

import botocore.session  # noqa: E402

from tests.fakeaws.control import FakeAWS  # noqa: E402
from tests.fakeaws.testing import Checks, run_trailkeep, trailkeep_env, trailkeep_path  # noqa: E402

TK = trailkeep_path(TOP)
START = "2026-01-01T00:00:00Z"
MGMT, ARCHIVE, PROD, STAGING = "111111111111", "222222222222", "333333333333", "444444444444"
EXTRA = "555555555555"
CT = "cloudtrail.amazonaws.com"

check = Checks(lines=60)

ORG_INI = """[organization]
id = {org_id}
management_account = 111111111111
log_archive_account = 222222222222
home_region = us-east-1
regions = us-east-1, eu-west-1
{extra}
[central]
bucket = orgm-cloudtrail-logs
kms_alias = alias/acme-cloudtrail
max_delivery_age = 1h

[trail]
name = org-trail
mode = organization

[account management]
id = 111111111111

[account log-archive]
id = 222222222222
{prod}
[account staging]
id = 444444444444
regions = eu-west-1
"""

PROD_SECTION = """
[account prod]
id = 333333333333
"""


class World:
    def __init__(self, seed=1):
        self.fa = FakeAWS(seed=seed, start=START)
        self.dir = tempfile.mkdtemp(prefix="tk-orgm-")
        self.seed = self.fa.post("seed_org", members=2)
        self.fa.post("set_secure_transport", secure=True)
        self.accounts = {a["id"]: a for a in self.seed["accounts"]}
        self.org_id = self.seed["org_id"]
        self.config = os.path.join(self.dir, "org.ini")
        self.write_config()

    def write_config(self, prod=True, extra=""):
        with open(self.config, "w") as f:
            f.write(ORG_INI.format(org_id=self.org_id, prod=PROD_SECTION if prod else "", extra=extra))

    def env(self, now=None):
        return trailkeep_env(self.fa, self.accounts[MGMT], TOP, now=now)

    def now(self):
        return self.fa.post("stats", since=10 ** 9)["now"]

    def apply(self, *args):
        rc, out, err = run_trailkeep(TK, ["apply", self.config] + (list(args) or ["--yes"]), self.env())
        return rc, out, err

    def run(self, cmd, *args):
        self.fa.post("set_auth_clock", time="sim")
        try:
            return run_trailkeep(TK, [cmd, self.config] + list(args), self.env(now=self.now()))
        finally:
            self.fa.post("set_auth_clock", time=None)

    def verify(self, *args):
        rc, out, err = self.run("verify", "--json", "--no-integrity", *args)
        try:
            doc = json.loads(out)
        except ValueError:
            doc = None
        return rc, doc, out + err

    def doctor(self):
        rc, out, err = self.run("doctor", "--json")
        try:
            doc = json.loads(out)
        except ValueError:
            doc = None
        return rc, doc, out + err

    def user(self, account, name):
        return self.fa.post("create_access_key", account=account, user=name, admin=True)

    def client(self, service, key, region="us-east-1"):
        s = botocore.session.get_session()
        return s.create_client(service, region_name=region, endpoint_url=self.fa.url,
                               aws_access_key_id=key["access_key_id"],
                               aws_secret_access_key=key["secret_access_key"],
                               aws_session_token=key.get("session_token"))

    def advance(self, seconds):
        self.fa.post("advance", seconds=seconds)

    def writes(self):
        return self.fa.post("stats", since=0).get("writes")

    def close(self):
        self.fa.stop()


def build(name):
    w = World()
    rc, out, err = w.apply()
    if not check(rc == 0, "%s: apply builds the org" % name, out + err):
        w.close()
        return None
    w.advance(2 * 3600)
    return w


def codes(doc):
    return sorted((f["code"], f["account"], f["region"]) for f in (doc or {}).get("findings", []))


def by_code(doc, code):
    return [f for f in (doc or {}).get("findings", []) if f["code"] == code]


def cause_cells(doc, code=None):
    return [c for c in (doc or {}).get("cells", []) if c["status"] == "cause" and (code is None or c["cause"] == code)]


def red(doc):
    return sorted((c["account"], c["region"]) for c in (doc or {}).get("cells", []) if c["status"] != "ok")


PROD_CELLS = [(PROD, "eu-west-1"), (PROD, "us-east-1")]


def scenario_healthy_and_leave():
    w = build("leave")
    if not w:
        return
    try:
        rc, doc, out = w.verify()
        check(rc == 0 and doc and doc["findings"] == [], "healthy org: verify exit 0, no findings", out)

        mallory = w.user(PROD, "mallory")
        t = w.now()
        w.client("organizations", mallory).leave_organization()
        w.advance(2 * 3600)
        rc, doc, out = w.verify()
        nio = by_code(doc, "account_not_in_org")
        check(rc == 1 and sorted((f["account"], f["region"]) for f in nio) == PROD_CELLS and
              all(f["severity"] == "error" and "not a member of organization '%s'" % w.org_id in f["message"]
                  for f in nio),
              "leave: verify account_not_in_org (error) on each of prod's cells, exit 1", out)
        others = [f for f in doc["findings"] if f["account"] != PROD] if doc else ["?"]
        check(others == [], "leave: no finding on any other account", json.dumps(others))
        # shards: each reports its own cells' membership; together they are one run
        w.fa.post("create_account", id=EXTRA, name="sandbox", in_org=True)
        rc, whole, out = w.verify()
        paths = []
        for k in (1, 2, 3):
            rc_k, d, o = w.verify("--shard", "%d/3" % k)
            p = os.path.join(w.dir, "shard%d.json" % k)
            with open(p, "w") as f:
                json.dump(d or {}, f)
            paths.append(p)
            uc = [x for x in (d or {}).get("findings", []) if x["code"] == "account_unconfigured"]
            check(bool(uc) == (k == 1), "leave: shard %d/3: account_unconfigured only from shard 1" % k, o)
        rc_m, out_m, err_m = w.run("verify", "--merge", *paths, "--json")
        try:
            merged = json.loads(out_m)
        except ValueError:
            merged = None
        check(rc_m == rc == 1 and merged and codes(merged) == codes(whole) and
              ("account_unconfigured", EXTRA, None) in codes(whole),
              "leave: the merged shards give the unsharded run's findings and exit code", out_m + err_m)
        w.fa.post("org_membership", account=EXTRA, member=False)

        rc, ddoc, dout = w.doctor()
        cs = cause_cells(ddoc, "account_left_org")
        check(rc == 1 and sorted((c["account"], c["region"]) for c in cs) == PROD_CELLS and
              red(ddoc) == PROD_CELLS, "leave: doctor account_left_org on prod's cells only, exit 1", dout)
        c = cs[0] if cs else {}
        k = c.get("culprit") or {}
        check(k.get("event") == "LeaveOrganization" and k.get("who") == "arn:aws:iam::%s:user/mallory" % PROD
              and k.get("when") == t, "leave: culprit is mallory's LeaveOrganization, with its time",
              json.dumps(k))
        fix = c.get("fix") or ""
        check("invite %s back into %s" % (PROD, w.org_id) in fix and
              "remove [account prod] from %s" % w.config in fix, "leave: the fix invites it back or removes it "
              "from the config", fix)
        rc, out, err = w.run("doctor")
        check(rc == 1 and "account_left_org" in out and "culprit: LeaveOrganization by arn:aws:iam::%s:user/mallory"
              % PROD in out, "leave: doctor text names cause and culprit", out + err)

        # the config fixed: prod removed -> its old prefix is only a warning, exit 0
        w.write_config(prod=False)
        rc, doc, out = w.verify()
        check(rc == 0 and [c for c, a, r in codes(doc)] == ["prefix_unexpected"] and
              by_code(doc, "prefix_unexpected")[0]["account"] == PROD,
              "leave: prod removed from the config: only the prefix_unexpected warning, exit 0", out)
        w.write_config(prod=False, extra="exclude_accounts = %s" % PROD)
        rc, doc, out = w.verify()
        check(rc == 0 and doc and doc["findings"] == [],
              "leave: prod listed in exclude_accounts: no finding at all, exit 0", out)

        # invited back (the fake joins it without a handshake): green again
        w.write_config()
        w.fa.post("org_membership", account=PROD, member=True)
        w.advance(3600)
        rc, doc, out = w.verify()
        check(rc == 0 and doc and doc["findings"] == [], "leave: invited back, verify green (exit 0)", out)
        rc, ddoc, dout = w.doctor()
        check(rc == 0 and not red(ddoc), "leave: invited back, doctor green (exit 0)", dout)
    finally:
        w.close()


def scenario_remove_and_suspended():
    w = build("remove")
    if not w:
        return
    try:
        admin = w.user(MGMT, "orgadmin")
        t = w.now()
        w.client("organizations", admin).remove_account_from_organization(AccountId=STAGING)
        w.advance(2 * 3600)
        rc, doc, out = w.verify()
        check(rc == 1 and [(f["account"], f["region"]) for f in by_code(doc, "account_not_in_org")] ==
              [(STAGING, "eu-west-1")], "remove: verify account_not_in_org on staging's cell", out)
        rc, ddoc, dout = w.doctor()
        cs = cause_cells(ddoc, "account_left_org")
        k = (cs[0].get("culprit") if cs else None) or {}
        check(rc == 1 and len(cs) == 1 and k.get("event") == "RemoveAccountFromOrganization" and
              k.get("who") == "arn:aws:iam::%s:user/orgadmin" % MGMT and k.get("when") == t,
              "remove: doctor account_left_org, culprit the management account's RemoveAccountFromOrganization",
              dout)
        # back in, but SUSPENDED: the message says so
        w.fa.post("org_membership", account=STAGING, member=True, status="SUSPENDED")
        rc, doc, out = w.verify()
        nio = by_code(doc, "account_not_in_org")
        check(rc == 1 and len(nio) == 1 and "is SUSPENDED in organization" in nio[0]["message"],
              "suspended: account_not_in_org says SUSPENDED", out)
        rc, ddoc, dout = w.doctor()
        cs = cause_cells(ddoc, "account_left_org")
        check(rc == 1 and len(cs) == 1 and "SUSPENDED" in (cs[0].get("fix") or ""),
              "suspended: doctor account_left_org, the fix says SUSPENDED", dout)
        w.fa.post("org_membership", account=STAGING, status="ACTIVE")
        w.advance(3600)
        rc, doc, out = w.verify()
        check(rc == 0 and doc and doc["findings"] == [], "remove: ACTIVE again, verify green", out)
    finally:
        w.close()


def scenario_unconfigured():
    w = build("unconfigured")
    if not w:
        return
    try:
        w.fa.post("create_account", id=EXTRA, name="sandbox", in_org=True)
        w.advance(3600)
        rc, doc, out = w.verify()
        uc = by_code(doc, "account_unconfigured")
        check(rc == 0 and len(uc) == 1 and uc[0]["account"] == EXTRA and uc[0]["region"] is None and
              uc[0]["severity"] == "warning" and "(sandbox)" in uc[0]["message"],
              "unconfigured: an ACTIVE member nobody configured is account_unconfigured, a warning, exit 0", out)
        rest = [c for c, a, r in codes(doc) if c not in ("account_unconfigured", "prefix_unexpected")]
        check(rest == [], "unconfigured: no error finding", json.dumps(codes(doc)))
        rc, out, err = w.run("verify", "--no-integrity")
        check(rc == 0 and "warning account_unconfigured %s" % EXTRA in out and "(0 errors)" in out,
              "unconfigured: text output shows the warning, 0 errors", out + err)
        mpath = os.path.join(w.dir, "m.prom")
        rc, doc, out = w.verify("--metrics", mpath)
        prom = open(mpath).read() if os.path.exists(mpath) else ""
        check(rc == 0 and 'trailkeep_findings{code="account_unconfigured"} 1' in prom,
              "unconfigured: --metrics counts it", prom[-600:])
        rc, doc, out = w.verify("--account", PROD)
        check(rc == 0 and not by_code(doc, "account_unconfigured"),
              "unconfigured: not reported with an --account filter", out)
        w.write_config(extra="exclude_accounts = %s" % EXTRA)
        rc, doc, out = w.verify()
        check(rc == 0 and doc and doc["findings"] == [],
              "unconfigured: listed in exclude_accounts: nothing (no prefix_unexpected either)", out)
    finally:
        w.close()


def scenario_trusted_access():
    w = build("trusted")
    if not w:
        return
    try:
        admin = w.user(MGMT, "orgadmin")
        t = w.now()
        w.client("organizations", admin).disable_aws_service_access(ServicePrincipal=CT)
        w.advance(2 * 3600)
        rc, doc, out = w.verify()
        ta = by_code(doc, "org_trusted_access_disabled")
        check(rc == 1 and [(f["account"], f["region"], f["severity"]) for f in ta] == [(MGMT, "us-east-1", "error")],
              "trusted: verify org_trusted_access_disabled on the management account's home-region cell", out)
        stale = sorted((f["account"], f["region"]) for f in (doc or {}).get("findings", [])
                       if f["code"] in ("delivery_stale", "delivery_none"))
        check(stale and all(a != MGMT for a, r in stale),
              "trusted: member cells go stale, the management account still delivers", json.dumps(codes(doc)))

        rc, ddoc, dout = w.doctor()
        cs = cause_cells(ddoc)
        check(rc == 1 and cs and all(c["cause"] == "org_trusted_access_disabled" for c in cs) and
              (MGMT, "us-east-1") in [(c["account"], c["region"]) for c in cs] and
              (MGMT, "eu-west-1") not in red(ddoc),
              "trusted: doctor cause org_trusted_access_disabled on member cells and the owner's cell", dout)
        c = cs[0] if cs else {}
        k = c.get("culprit") or {}
        check(k.get("event") == "DisableAWSServiceAccess" and k.get("who") == "arn:aws:iam::%s:user/orgadmin" % MGMT
              and k.get("when") == t, "trusted: culprit is orgadmin's DisableAWSServiceAccess", json.dumps(k))
        check(c.get("fix") == "trailkeep apply %s" % w.config, "trusted: the fix is 'trailkeep apply CONFIG'",
              c.get("fix"))

        w0 = w.writes()
        rc, out, err = w.apply("--dry-run")
        check(rc == 4 and "enable organizations trusted access 'cloudtrail.amazonaws.com'" in out and
              '"TrustedAccess": false' in out and '"TrustedAccess": true' in out,
              "trusted: apply --dry-run shows the enable as a change, exit 4", out + err)
        check(w.writes() == w0, "trusted: the dry run wrote nothing", "%s -> %s" % (w0, w.writes()))
        rc, out, err = w.apply()
        check(rc == 0 and "enable organizations trusted access 'cloudtrail.amazonaws.com'" in out,
              "trusted: apply enables it", out + err)
        w.advance(3600)
        rc, doc, out = w.verify()
        check(rc == 0 and doc and doc["findings"] == [], "trusted: after apply verify green", out)
        w0 = w.writes()
        rc, out, err = w.apply()
        check(rc == 0 and "nothing to do" in out and w.writes() == w0,
              "trusted: a second apply makes zero writes", out + err)
    finally:
        w.close()


def scenario_faults():
    w = build("faults")
    if not w:
        return
    try:
        for op in ("ListAccounts", "ListAWSServiceAccessForOrganization"):
            w.fa.post("set_faults", forced=[{"service": "organizations", "operation": op,
                                             "code": "AccessDeniedException", "status": 400,
                                             "message": "no"}])
            rc, doc, out = w.verify()
            un = by_code(doc, "cell_unchecked")
            check(rc == 3 and [(f["account"], f["region"]) for f in un] == [(MGMT, "us-east-1")] and
                  "cannot check" in un[0]["message"] and "AccessDenied" in un[0]["message"],
                  "faults: %s fails: cell_unchecked on the management account's home-region cell, exit 3" % op,
                  out)
            cells = {"%s %s" % (c["account"], c["region"]): c["status"] for c in (doc or {}).get("cells", [])}
            check(cells.get("%s us-east-1" % MGMT) == "unchecked", "faults: %s: that cell is unchecked" % op,
                  json.dumps(cells))
            w.fa.post("set_faults")
        rc, doc, out = w.verify()
        check(rc == 0, "faults: without the fault verify is green again", out)
    finally:
        w.close()


def main():
    for s in (scenario_healthy_and_leave, scenario_remove_and_suspended, scenario_unconfigured,
              scenario_trusted_access, scenario_faults):
        s()
    print("%d failure(s)" % check.failures)
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
