#!/usr/bin/python3
"""Fail closed: a call that fails never turns verify or doctor green.

For each AWS operation that `verify` (control plane, delivery and integrity)
and `doctor` make against an organization, found by recording what they call
(the fake's `stats`), the fake is told to fail every call of that operation
(`set_faults` forced errors), and verify and doctor run again:

- on a healthy organization, the result must not be green: the cells the
  failed call was needed for are `cell_unchecked` / `unexamined` (exit 3), or
  a finding (exit 1); never exit 0;
- on a broken organization (the trail moved to another KMS key: verify's
  `trail_config_drift`, doctor's `kms_key_changed`), the same: a failed
  `DescribeKey` (denied or 500) must not hide the drift behind "no findings".

Each operation is failed once with 403 AccessDenied (not retried) and once with
500 InternalError on every attempt (retried, then given up).  The list of
operations is taken from the runs themselves, so a call added later is covered
without editing this test.

Prints PASS:/FAIL: lines; exits non-zero on any failure."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, TOP)
sys.path.insert(0, HERE)

import doctor_fake as D  # noqa: E402
from tests.fakeaws.testing import Checks  # noqa: E402

check = Checks(lines=30)

# Fast retries: the 500 variant fails every attempt of every retry.
FAST = {"TRAILKEEP_BACKOFF_SCALE": "0.001", "AWS_MAX_ATTEMPTS": "2"}

VERIFY_ARGS = ["--since", "2h"]


def ops_of(w, fn):
    """The service:Operation names the fake served while fn() ran."""
    since = w.fa.post("stats", since=10 ** 9)["next"]
    fn()
    per_op = w.fa.post("stats", since=since)["per_op"]
    return sorted(per_op)


def run_verify(w):
    return w.run(*VERIFY_ARGS, "--json", cmd="verify", extra_env=FAST)


def run_doctor(w):
    return w.run("--json", extra_env=FAST)


def statuses(out, key):
    try:
        doc = json.loads(out)
    except ValueError:
        return None
    return sorted(set(c.get("status") for c in doc.get(key, [])))


def sweep(w, label, vops, dops, broken):
    """Fail each op in turn; verify and doctor must never be green (each
    command is checked against the operations it makes)."""
    for op in sorted(set(vops) | set(dops)):
        svc, _, name = op.partition(":")
        if svc == "control":
            continue
        for code, status in (("AccessDenied", 403), ("InternalError", 500)):
            w.fa.post("set_faults", forced=[{"service": svc, "operation": name, "code": code,
                                             "status": status, "message": "injected by fail_closed"}])
            try:
                if op not in vops:
                    rc, out, err = 3, "", ""
                else:
                    rc, out, err = run_verify(w)
                st = statuses(out, "cells")
                check(rc in (1, 3) and st != ["ok"],
                      "%s: verify with %s failing (%d %s) is not green (exit %d, cells %s)"
                      % (label, op, status, code, rc, st), err[-1500:])
                if broken:
                    check(rc in (1, 3), "%s: verify with %s failing still reports the break or unchecked"
                          % (label, op), out[-1500:] + err[-1500:])
                if op not in dops:
                    continue
                rc, out, err = run_doctor(w)
                st = statuses(out, "cells")
                check(rc in (1, 3) and st != ["ok"],
                      "%s: doctor with %s failing (%d %s) is not green (exit %d, cells %s)"
                      % (label, op, status, code, rc, st), err[-1500:])
            finally:
                w.fa.post("set_faults")


def main():
    only = sys.argv[1:]
    # a healthy organization
    if not only or "healthy" in only:
        w = D.build("fail-closed-healthy")
        if check(w is not None, "healthy: the organization is built (apply)"):
            try:
                rc, out, err = run_verify(w)
                check(rc == 0, "healthy: verify is green without faults", out[-2000:] + err[-2000:])
                rc, out, err = run_doctor(w)
                check(rc == 0, "healthy: doctor is green without faults", out[-2000:] + err[-2000:])
                vops, dops = ops_of(w, lambda: run_verify(w)), ops_of(w, lambda: run_doctor(w))
                check(len(vops) >= 6 and len(dops) >= 6, "healthy: verify and doctor make calls (%s; %s)"
                      % (", ".join(vops), ", ".join(dops)))
                sweep(w, "healthy", vops, dops, broken=False)
            finally:
                w.close()
    # the trail moved to another KMS key (issue: DescribeKey denied -> green)
    if not only or "key-changed" in only:
        w = D.build("fail-closed-key")
        if check(w is not None, "key-changed: the organization is built (apply)"):
            try:
                mallory = w.user(D.ARCHIVE, "mallory")
                kms = w.client("kms", mallory)
                old = kms.describe_key(KeyId="alias/acme-cloudtrail")["KeyMetadata"]["Arn"]
                pol = kms.get_key_policy(KeyId=old, PolicyName="default")["Policy"]
                other = kms.create_key(Policy=pol, Description="another team's key")["KeyMetadata"]["Arn"]
                bob = w.user(D.MGMT, "bob")
                w.client("cloudtrail", bob).update_trail(Name=w.trail_arn, KmsKeyId=other)
                w.advance(3600)
                rc, out, err = run_verify(w)
                check(rc == 1 and "trail_config_drift" in out, "key-changed: verify reports the drift",
                      out[-2000:] + err[-2000:])
                vops, dops = ops_of(w, lambda: run_verify(w)), ops_of(w, lambda: run_doctor(w))
                check("kms:DescribeKey" in vops and "kms:DescribeKey" in dops,
                      "key-changed: verify and doctor call DescribeKey", ", ".join(vops + dops))
                sweep(w, "key-changed", vops, dops, broken=True)
            finally:
                w.close()
    # per-account trails: every account's own trail, read through AssumeRole
    if not only or "per-account" in only:
        w = D.World()
        with open(w.config, "w") as f:
            f.write(D.PER_ACCOUNT_INI)
        try:
            rc, out = w.apply()
            if check(rc == 0, "per-account: apply builds the trails", out):
                w.advance(2 * 3600)
                rc, out, err = run_verify(w)
                check(rc == 0, "per-account: verify is green without faults", out[-2000:] + err[-2000:])
                vops, dops = ops_of(w, lambda: run_verify(w)), ops_of(w, lambda: run_doctor(w))
                check("sts:AssumeRole" in vops, "per-account: verify assumes roles", ", ".join(vops))
                sweep(w, "per-account", vops, dops, broken=False)
        finally:
            w.close()
    print("fail_closed: %d failure(s)" % check.failures)
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
