#!/usr/bin/python3
"""Issue 13 item 10: doctor's text output shows text from outside (here the
Sid of a denying bucket-policy statement, written by someone with control
characters and a right-to-left override in it) with visible escapes; --json
keeps the exact string.  The world and scenario of doctor_fake.py
(bucket_policy_denies).  Prints PASS:/FAIL: lines; exit 1 on any failure."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import doctor_fake as d  # noqa: E402

check = d.check
SID = "Temp\x1b[2J\r\u202eDeny\x07"
SHOWN = "Temp\\x1b[2J\\r\\u202eDeny\\x07"


def main():
    w = d.build("escapes")
    if not w:
        return 1
    try:
        mallory = w.user(d.ARCHIVE, "mallory")
        sess = w.assume(mallory, "arn:aws:iam::%s:role/LogArchiveAdmin" % d.ARCHIVE, "mallory")
        s3 = w.client("s3", sess)
        pol = json.loads(s3.get_bucket_policy(Bucket=d.BUCKET)["Policy"])
        pol["Statement"].append({"Sid": SID, "Effect": "Deny",
                                 "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
                                 "Resource": "arn:aws:s3:::%s/AWSLogs/%s/%s/*" % (d.BUCKET, w.org_id, d.PROD)})
        s3.put_bucket_policy(Bucket=d.BUCKET, Policy=json.dumps(pol))
        w.advance(2 * 3600)
        rc, doc, out = w.doctor_json("--account", d.PROD, "--region", "eu-west-1")
        ev = "\n".join(((doc or {}).get("cells") or [{}])[0].get("evidence", []))
        check(rc == 1 and ("denying statement: '%s'" % SID) in ev,
              "--json: the evidence has the exact Sid", out[-2000:])
        rc, text, err = w.run("--account", d.PROD, "--region", "eu-west-1")
        check(rc == 1 and ("denying statement: '%s'" % SHOWN) in text,
              "text: the Sid is shown with visible escapes", text[-2000:])
        bad = [ch for ch in text if (ord(ch) < 0x20 and ch != "\n") or ord(ch) == 0x7f or
               0x80 <= ord(ch) <= 0x9f or ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"]
        check(not bad, "text: no control character or bidi override reaches the terminal", repr(bad[:10]))
    finally:
        w.close()
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
