#!/usr/bin/python3
"""`trailkeep apply` when CreateTrail answers TrailAlreadyExistsException
but DescribeTrails finds no such trail (README "apply": creates are safe to
retry): the account's outcome is an error naming the trail, never success;
a rerun without the fault creates the trail.
Prints PASS:/FAIL: lines; exits non-zero on any failure."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import apply_fake as af  # noqa: E402

ARN = "arn:aws:cloudtrail:us-east-1:111111111111:trail/org-trail"


def main():
    w = af.World(members=2, seed=11)
    try:
        w.fa.post("set_faults", forced=[{"service": "cloudtrail", "operation": "CreateTrail", "count": 1,
                                         "code": "TrailAlreadyExistsException", "status": 400,
                                         "message": "Trail org-trail already exists for customer: 111111111111"}])
        rc, out, err = w.run("--yes")
        w.fa.post("set_faults")
        af.check(rc == 3, "exists-not-found: apply fails (exit 3)", "rc=%d\n%s%s" % (rc, out, err))
        af.check("trail '%s': CreateTrail answered TrailAlreadyExistsException, yet DescribeTrails does not "
                 "find it" % ARN in err, "exists-not-found: the error names the trail", out + err)
        t = w.aws("cloudtrail", "describe-trails", "--trail-name-list", "org-trail",
                  account="111111111111")["trailList"]
        af.check(t == [], "exists-not-found: no trail was made", repr(t))
        rc, out, err = w.run("--yes")
        t = w.aws("cloudtrail", "describe-trails", "--trail-name-list", "org-trail",
                  account="111111111111")["trailList"]
        af.check(rc == 0 and len(t) == 1, "exists-not-found: a rerun without the fault creates the trail",
                 out + err)
    finally:
        w.close()
    return 1 if af.check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
