#!/usr/bin/python3
"""Issue 14: doctor's evidence lines longer than their 4096-byte buffer keep
what fits and end with ' [truncated]' (they were empty strings).  The trail's
S3KeyPrefix is set out of band to 6000 characters (AWS allows 200; an answer
from outside is not trusted to respect that), so doctor's GetTrail evidence
line for the cell is longer than the buffer.  The world of doctor_fake.py.
Prints PASS:/FAIL: lines; exit 1 on any failure."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import doctor_fake as d  # noqa: E402

check = d.check
MARK = " [truncated]"
LINE_LIMIT = 4096


def main():
    w = d.build("long-lines")
    if not w:
        return 1
    try:
        w.fa.post("set_trail", trail=w.trail_arn, S3KeyPrefix="p" * 6000)
        w.advance(600)
        rc, doc, out = w.doctor_json("--account", d.PROD, "--region", "eu-west-1")
        cells = (doc or {}).get("cells") or []
        ev = [line for c in cells for line in c.get("evidence", [])]
        check(rc in (1, 3) and cells and ev, "doctor --json runs and reports evidence", out[-2000:])
        check(ev and all(line for line in ev), "no evidence line is empty", repr([line[:80] for line in ev]))
        got = [line for line in ev if line.startswith("cloudtrail GetTrail '%s': bucket" % w.trail_arn)]
        check(len(got) == 1 and got[0].endswith(MARK) and "prefix 'pppppppp" in got[0] and
              len(got[0].encode()) <= LINE_LIMIT and len(got[0].encode()) > LINE_LIMIT - 64,
              "the GetTrail line keeps what fits (about 4 KiB) and ends with '%s'" % MARK,
              repr([line[:120] + "..." + line[-40:] for line in got]))
        rc, text, err = w.run("--account", d.PROD, "--region", "eu-west-1")
        check(MARK + "\n" in text and "prefix 'pppppppp" in text,
              "text: the cut line is shown with its marker", text[-1500:] + err[-500:])
    finally:
        w.close()
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
