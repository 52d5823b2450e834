#!/usr/bin/python3
"""Run Debian's `aws` CLI with its SigV4 clock pinned to a given time.

    /usr/bin/python3 -m tests.fakeaws.aws_at 2026-01-01T03:00:00Z -- s3api get-bucket-policy ...

The fake AWS can check signatures against its *simulated* clock (`--auth-clock
sim`), which is what trailkeep uses under TRAILKEEP_NOW; a plain `aws` call
would then look hours off.  This wrapper changes nothing but the time botocore
signs with, so a person's command in the demo is signed as if made at the
simulated time (and the fake records it in LookupEvents at that time)."""

import datetime
import sys


def main(argv):
    if len(argv) < 3 or argv[1] != "--":
        sys.stderr.write("usage: aws_at.py ISO-TIME -- AWS-CLI-ARGS...\n")
        return 2
    when = datetime.datetime.strptime(argv[0], "%Y-%m-%dT%H:%M:%SZ")

    class _Pinned(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return when

        @classmethod
        def now(cls, tz=None):
            return when if tz is None else when.replace(tzinfo=datetime.timezone.utc).astimezone(tz)

    # awscli first: Debian's awscli sets up botocore.vendored when imported
    from awscli.clidriver import main as aws_main
    import botocore.auth
    botocore.auth.datetime = type(sys)("datetime")
    botocore.auth.datetime.datetime = _Pinned
    botocore.auth.datetime.timezone = datetime.timezone
    sys.argv = ["aws"] + argv[2:]
    return aws_main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
