#!/usr/bin/python3
"""Time one simulated day of CloudTrail delivery in the fake AWS:
an organization trail (multi-region, log file validation) over 50 accounts x
3 regions.  Prints the seconds `advance` took and the objects written.
Target: under 60 s.

    /usr/bin/python3 bench/fakeaws_day.py [--accounts 50] [--hours 24]
"""

import argparse
import json
import os
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOP)

import botocore.config  # noqa: E402
import botocore.session  # noqa: E402

from tests.fakeaws.control import FakeAWS  # noqa: E402


def client(fa, acct, svc, region="us-east-1"):
    return botocore.session.Session().create_client(
        svc, region_name=region, endpoint_url=fa.url,
        aws_access_key_id=acct["access_key_id"], aws_secret_access_key=acct["secret_access_key"],
        config=botocore.config.Config(s3={"addressing_style": "path"}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=50)
    ap.add_argument("--hours", type=float, default=24)
    a = ap.parse_args()
    fa = FakeAWS(seed=3)
    try:
        org = fa.post("seed_org", members=max(0, a.accounts - 2))
        mg, la = org["management"], org["log_archive"]
        arn = "arn:aws:cloudtrail:us-east-1:%s:trail/org-trail" % mg["id"]
        s3 = client(fa, la, "s3")
        s3.create_bucket(Bucket="bench-logs")
        pol = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "s3:GetBucketAcl", "Resource": "arn:aws:s3:::bench-logs",
             "Condition": {"StringEquals": {"aws:SourceArn": arn}}},
            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "s3:PutObject",
             "Resource": ["arn:aws:s3:::bench-logs/AWSLogs/%s/*" % mg["id"],
                          "arn:aws:s3:::bench-logs/AWSLogs/%s/*" % org["org_id"]],
             "Condition": {"StringEquals": {"aws:SourceArn": arn,
                                            "s3:x-amz-acl": "bucket-owner-full-control"}}}]}
        s3.put_bucket_policy(Bucket="bench-logs", Policy=json.dumps(pol))
        ct = client(fa, mg, "cloudtrail")
        ct.create_trail(Name="org-trail", S3BucketName="bench-logs", IsMultiRegionTrail=True,
                        IsOrganizationTrail=True, EnableLogFileValidation=True)
        ct.start_logging(Name="org-trail")
        t0 = time.time()
        out = fa.post("advance", seconds=int(a.hours * 3600))
        dt = time.time() - t0
        print("fakeaws_day: %d accounts x 3 regions, %g hours: %d objects in %.1f s"
              % (len(org["accounts"]), a.hours, out["objects_written"], dt))
        print("seconds=%.1f" % dt)
    finally:
        fa.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
