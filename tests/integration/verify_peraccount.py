#!/usr/bin/python3
"""`trailkeep verify CONFIG` in per-account mode against the fake AWS.

Four accounts (management, log archive, two members), two regions, one trail
per account created by `trailkeep apply --yes` (KMS key, key prefix), 3
simulated hours delivered, then:
  - healthy: exit 0, no findings, every account x region cell "ok" with its
    newest delivery and its digests;
  - one member's trail stopped with awscli as that member: trail_not_logging
    on exactly that account's cells, nobody else's;
  - deny_account on the other member, 2 more hours: delivery_stale/none in
    its regions only, its cells "findings", the others "ok";
  - a member whose role cannot be assumed (external id required): its cells
    cell_unchecked, exit 3, every other cell still checked;
  - --json parses and names every configured cell, text output names them;
  - with 300 ms added per call, the accounts' AssumeRole and trail reads
    are in flight together (the fake's max_in_flight), not one by one, in
    verify and in doctor.
Verify runs as the management account: each trail is read in its own account
via AssumeRole, the bucket from the log archive account.
Prints PASS:/FAIL: lines; exit 1 on any failure.
"""

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

TK = os.environ.get("TRAILKEEP_BIN") or os.environ.get("TRAILKEEP") or os.path.join(TOP, "trailkeep")
AWS = "/usr/bin/aws"
START = "2026-01-01T00:00:00Z"
REGIONS = ["us-east-1", "eu-west-1"]
BUCKET = "acme-cloudtrail-logs"
TRAIL = "acme-trail"
MGMT, LOGA, M1, M2 = "111111111111", "222222222222", "333333333333", "444444444444"
IDS = [MGMT, LOGA, M1, M2]
ROLE = "OrganizationAccountAccessRole"

failures = 0


def check(cond, what, detail=""):
    global failures
    if cond:
        print("PASS: %s" % what)
    else:
        failures += 1
        print("FAIL: %s%s" % (what, (": " + str(detail)[:3000]) if detail else ""))
    sys.stdout.flush()
    return cond


def ini():
    s = """[organization]
management_account = %s
log_archive_account = %s
home_region = us-east-1
regions = %s
assume_role = %s

[central]
bucket = %s
key_prefix = cloudtrail
kms_alias = alias/acme-trails
decrypt_principals = arn:aws:iam::%s:role/SecurityAudit
retention_days = 400
max_delivery_age = 1h

[trail]
name = %s
mode = per-account
""" % (MGMT, LOGA, ", ".join(REGIONS), ROLE, BUCKET, LOGA, TRAIL)
    for i, a in enumerate(IDS):
        s += "\n[account a%d]\nid = %s\n" % (i, a)
    return s


def arn(acct):
    return "arn:aws:cloudtrail:us-east-1:%s:trail/%s" % (acct, TRAIL)


def tk_env(fa, acct, now):
    e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    e.update(fa.env(acct))
    e.update({"TRAILKEEP_NOW": now, "TRAILKEEP_BACKOFF_SCALE": "0.01", "TRAILKEEP_SEED": "1",
              "TRAILKEEP_TEMPLATES": os.path.join(TOP, "templates")})
    return e


def aws(fa, acct, *args):
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"),
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
           "AWS_ACCESS_KEY_ID": acct["access_key_id"],
           "AWS_SECRET_ACCESS_KEY": acct["secret_access_key"],
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": ""}
    return subprocess.run([AWS, "--endpoint-url", fa.url, "--output", "json"] + list(args),
                          env=env, capture_output=True, text=True, timeout=120)


def verify(fa, accts, cfg, *extra, now, json_out=True):
    """trailkeep verify as the management account with the clock pinned to
    now (and the fake's auth clock with it): (rc, doc or None, stdout, stderr)."""
    fa.post("set_auth_clock", time=now)
    try:
        p = subprocess.run([TK, "verify", cfg] + (["--json"] if json_out else []) + list(extra),
                           env=tk_env(fa, accts[MGMT], now), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=300)
    finally:
        fa.post("set_auth_clock", time=None)
    doc = None
    if json_out:
        try:
            doc = json.loads(p.stdout)
        except ValueError:
            doc = None
    return p.returncode, doc, p.stdout, p.stderr


def cells_of(doc):
    return {(c["account"], c["region"]): c for c in (doc or {}).get("cells", [])}


ALL_CELLS = sorted((a, r) for a in IDS for r in REGIONS)


def main():
    t0 = time.time()
    fa = FakeAWS(seed=21, start=START, stderr=subprocess.DEVNULL)
    tmp = tempfile.mkdtemp(prefix="tk-verify-pa-")
    try:
        run(fa, tmp)
    finally:
        fa.stop()
        subprocess.run(["rm", "-rf", tmp])
    print("# verify_peraccount: %.1f s" % (time.time() - t0))
    return 1 if failures else 0


def run(fa, tmp):
    seed = fa.post("seed_org", members=2)
    accts = {a["id"]: a for a in seed["accounts"]}
    check(sorted(accts) == IDS, "fake: seeded accounts", sorted(accts))
    fa.post("set_secure_transport", secure=True)
    fa.post("set_regions", regions=REGIONS)
    fa.post("create_role", account=LOGA, name="SecurityAudit", trust_policy={
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % LOGA},
            "Action": "sts:AssumeRole"}]})
    cfg = os.path.join(tmp, "per-account.ini")
    with open(cfg, "w") as f:
        f.write(ini())

    # --- apply: one trail per account ----------------------------------------------
    real_now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    p = subprocess.run([TK, "apply", cfg, "--yes"], env=tk_env(fa, accts[MGMT], real_now),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    if not check(p.returncode == 0, "apply --yes creates the per-account trails",
                 p.stdout[-1500:] + p.stderr[-1500:]):
        return
    fa.post("advance", seconds=3 * 3600)
    now = "2026-01-01T03:00:00Z"

    # --- healthy ----------------------------------------------------------------------
    rc, doc, out, err = verify(fa, accts, cfg, "--since", "3h", now=now)
    check(rc == 0 and doc is not None and doc["findings"] == [],
          "healthy per-account org: exit 0, no findings",
          "rc=%d %s %s" % (rc, err[-800:], doc and json.dumps(doc["findings"][:4])))
    cells = cells_of(doc)
    check(sorted(cells) == ALL_CELLS, "--json names every configured account x region cell",
          sorted(cells))
    check(cells and all(c["status"] == "ok" and c["newest_delivery"] and c["digests_checked"] >= 3
                        and c["logs_checked"] > 0 for c in cells.values()),
          "every cell ok, with its newest delivery, its digests and log files checked",
          json.dumps(list(cells.values())[:3]))
    rc, _, out, err = verify(fa, accts, cfg, "--since", "3h", now=now, json_out=False)
    check(rc == 0 and all(a in out for a in IDS) and all(r in out for r in REGIONS),
          "text output: exit 0 and names every account and region", out[-1500:] + err[-300:])

    # --- the trails are read together (README "Performance": verify reads
    # every account's trail on the async scheduler, not one after another) ---
    fa.post("set_faults", latency_ms=300)
    since = fa.post("stats")["next"]
    rc, doc, out, err = verify(fa, accts, cfg, "--since", "3h", now=now)
    st = fa.post("stats", since=since)
    fa.post("set_faults")
    mif = st.get("max_in_flight", {})
    check(rc == 0 and doc is not None and doc["findings"] == [],
          "with 300 ms per call: still exit 0, no findings", "rc=%d %s" % (rc, err[-500:]))
    # three members' roles assumed at once, then their trails read at once
    # (one after another would never have two in flight)
    check(mif.get("sts:AssumeRole", 0) >= 2 and mif.get("cloudtrail:GetTrail", 0) >= 2
          and mif.get("cloudtrail:GetTrailStatus", 0) >= 2,
          "the accounts' AssumeRole and trail reads are in flight together", json.dumps(mif))
    # and beside the bucket's reads: the control plane runs on its own thread
    # while the central bucket is listed (one after the other, no trail read
    # would ever be in flight with a listing)
    wth = st.get("in_flight_with", {})
    check("s3:ListObjectsV2" in wth.get("cloudtrail:GetTrail", []),
          "the trail reads are in flight while the central bucket is listed", json.dumps(wth))
    # the integrity's public keys are asked for with the cells' first
    # listings, not before them
    check("s3:ListObjectsV2" in wth.get("cloudtrail:ListPublicKeys", []),
          "ListPublicKeys is in flight with the cells' listings", json.dumps(wth))

    # doctor (its own cell selection, so that only doctor_run reads the
    # trails concurrently): every examined account's trail, with the role
    # assumed first, read together before the cells are examined
    fa.post("set_faults", latency_ms=300)
    fa.post("set_auth_clock", time=now)
    since = fa.post("stats")["next"]
    env = tk_env(fa, accts[MGMT], now)
    env["TRAILKEEP_DOCTOR_SELECT"] = "internal"
    try:
        p = subprocess.run([TK, "doctor", cfg, "--json"], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=300)
    finally:
        fa.post("set_auth_clock", time=None)
    st = fa.post("stats", since=since)
    fa.post("set_faults")
    mif = st.get("max_in_flight", {})
    check(p.returncode == 0, "doctor with 300 ms per call: exit 0 (nothing to explain)",
          "rc=%d %s" % (p.returncode, p.stderr[-500:]))
    check(mif.get("sts:AssumeRole", 0) >= 2 and mif.get("cloudtrail:GetTrail", 0) >= 2
          and mif.get("cloudtrail:GetEventSelectors", 0) >= 2,
          "doctor: the accounts' AssumeRole and trail reads are in flight together", json.dumps(mif))

    # --- one member's trail stopped (by that member) -------------------------------------
    r = aws(fa, accts[M1], "cloudtrail", "stop-logging", "--name", TRAIL)
    check(r.returncode == 0, "aws cloudtrail stop-logging as %s" % M1, r.stderr)
    rc, doc, out, err = verify(fa, accts, cfg, "--since", "3h", now=now)
    fs = doc["findings"] if doc else []
    nl = sorted((f["account"], f["region"]) for f in fs if f["code"] == "trail_not_logging")
    check(rc == 1 and nl == sorted((M1, r) for r in REGIONS),
          "stopped trail: trail_not_logging on exactly that account's cells",
          "rc=%d %s %s" % (rc, json.dumps(fs)[:1500], err[-300:]))
    others = [f for f in fs if f["account"] != M1]
    check(not others, "stopped trail: no finding for any other account", json.dumps(others)[:1500])
    cells = cells_of(doc)
    check(cells and all(c["status"] == ("findings" if a == M1 else "ok")
                        for (a, _), c in cells.items()),
          "stopped trail: its account's cells are findings, every other cell ok",
          json.dumps(list(cells.values()))[:1500])
    r = aws(fa, accts[M1], "cloudtrail", "start-logging", "--name", TRAIL)
    check(r.returncode == 0, "aws cloudtrail start-logging as %s" % M1, r.stderr)

    # --- one member silently denied by the bucket policy ------------------------------------
    fa.post("tamper", kind="deny_account", trail=arn(M2), account=M2)
    fa.post("advance", seconds=2 * 3600)
    now2 = "2026-01-01T05:00:00Z"
    rc, doc, out, err = verify(fa, accts, cfg, "--since", "5h", now=now2)
    fs = doc["findings"] if doc else []
    stale = sorted(f["region"] for f in fs
                   if f["code"] in ("delivery_stale", "delivery_none") and f["account"] == M2)
    check(rc == 1 and stale == sorted(REGIONS),
          "denied account: delivery_stale/none in each of its regions",
          "rc=%d %s %s" % (rc, json.dumps(fs)[:1500], err[-300:]))
    bad = [f for f in fs if f["account"] == M2 and
           f["code"] not in ("delivery_stale", "delivery_none", "trail_delivery_error")]
    check(not bad, "denied account: nothing but delivery findings for it", json.dumps(bad)[:1500])
    # the stopped-and-restarted trail of M1 restarted its digest chains: each
    # of its regions has exactly that gap, and nobody else has anything
    gaps = sorted(f["region"] for f in fs if f["account"] == M1 and f["code"] == "digest_chain_gap")
    check(gaps == sorted(REGIONS), "restarted trail: digest_chain_gap in each of its regions",
          json.dumps([f for f in fs if f["account"] == M1])[:1500])
    others = [f for f in fs if f["account"] not in (M1, M2) or
              (f["account"] == M1 and f["code"] != "digest_chain_gap")]
    check(not others, "denied account: no finding for any other account", json.dumps(others)[:1500])
    cells = cells_of(doc)
    check(sorted(cells) == ALL_CELLS and all(c["status"] == ("findings" if a in (M1, M2) else "ok")
                                             for (a, _), c in cells.items()),
          "denied account: its cells (and the restarted trail's) are findings, every other cell ok",
          json.dumps(list(cells.values()))[:1500])

    # --- --account / --region filters ----------------------------------------------------------
    rc, doc, out, err = verify(fa, accts, cfg, "--since", "5h", "--account", M2, "--region", "eu-west-1",
                               now=now2)
    fs = doc["findings"] if doc else []
    check(rc == 1 and sorted(cells_of(doc)) == [(M2, "eu-west-1")] and fs and
          all((f["account"], f["region"]) == (M2, "eu-west-1") for f in fs)
          and "delivery_stale" in set(f["code"] for f in fs),
          "--account/--region: only that cell, and its trail-level findings land on it",
          "rc=%d %s %s" % (rc, json.dumps(fs)[:800], err[-300:]))
    rc, doc, out, err = verify(fa, accts, cfg, "--since", "5h", "--account", MGMT, "--region", "eu-west-1",
                               now=now2)
    check(rc == 0 and doc is not None and sorted(cells_of(doc)) == [(MGMT, "eu-west-1")]
          and doc["findings"] == [],
          "--account/--region on a healthy account: exit 0, one ok cell", "rc=%d %s" % (rc, err[-300:]))

    # --- a member whose role cannot be assumed ----------------------------------------------------
    fa.post("create_role", account=M1, name=ROLE, trust_policy={
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % MGMT},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "not-in-the-config"}}}]})
    rc, doc, out, err = verify(fa, accts, cfg, "--since", "5h", now=now2)
    cells = cells_of(doc)
    fs = doc["findings"] if doc else []
    check(rc == 3 and doc is not None, "unassumable role: exit 3 with a JSON document",
          "rc=%d %s" % (rc, err[-500:]))
    check(sorted(cells) == ALL_CELLS and all(c["status"] == "unchecked" for (a, _), c in cells.items()
                                             if a == M1),
          "unassumable role: that account's cells are unchecked", json.dumps(list(cells.values()))[:1500])
    unch = sorted((f["account"], f["region"]) for f in fs if f["code"] == "cell_unchecked")
    check(unch == sorted((M1, r) for r in REGIONS),
          "unassumable role: cell_unchecked for exactly that account's cells", json.dumps(fs)[:1500])
    check(all(c["status"] == ("findings" if a == M2 else "ok") for (a, _), c in cells.items() if a != M1)
          and all(c["digests_checked"] > 0 for (a, _), c in cells.items() if a != M1),
          "unassumable role: every other cell still checked (denied one still red)",
          json.dumps(list(cells.values()))[:1500])
    role_arn = "arn:aws:iam::%s:role/%s" % (M1, ROLE)
    um = [f["message"] for f in fs if f["code"] == "cell_unchecked"]
    check(um and all(role_arn in m and "AccessDenied" in m for m in um),
          "unassumable role: the cell_unchecked message names the role and the error", json.dumps(um)[:800])
    check("AKIA" not in err and accts[MGMT]["secret_access_key"] not in out + err,
          "no key id or secret in the output")


if __name__ == "__main__":
    sys.exit(main())
