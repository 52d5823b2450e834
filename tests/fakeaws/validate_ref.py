#!/usr/bin/python3
"""Run Debian awscli's own `aws cloudtrail validate-logs` against the fake.

    /usr/bin/python3 -m tests.fakeaws.validate_ref --endpoint URL --trail-arn ARN \
        --start T [--end T] [--account-id ID] [--s3-bucket B] [--s3-prefix P] \
        [--region R] [--verbose]

Credentials come from the environment (AWS_ACCESS_KEY_ID, ...), as for aws.
The region (default: AWS_DEFAULT_REGION, else us-east-1) is the region whose
digests are validated (awscli's "source region").

awscli 2.9.19 builds the validator's S3 clients itself, per bucket region, with
no endpoint, and asks the real Organizations for the org id of an org trail.
So, as reference/cloudtrail-integrity.md section 8 describes, we run the real
CLI driver (same argument parsing, output and exit codes as `aws`) but replace
the validate-logs command by a subclass whose only change is client
construction: every S3 client and the Organizations client get the local
endpoint (S3 path-style).  Traversal, signature and hash checks are awscli's.
"""

import os
import sys

# awscli 2.x aliases its own bundled botocore as the top-level "botocore"
# (awscli/__init__.py installs an import finder): import awscli first so that
# "botocore" below is the copy awscli was built with.
import awscli  # noqa: F401  isort:skip
import botocore.config  # noqa: E402
from awscli.customizations.cloudtrail import validation  # noqa: E402


class LocalS3ClientProvider(validation.S3ClientProvider):
    def __init__(self, session, get_bucket_location_region, endpoint_url):
        super().__init__(session, get_bucket_location_region)
        self._endpoint_url = endpoint_url

    def _create_client(self, region_name):
        if region_name not in self._client_cache:
            cfg = botocore.config.Config(s3={"addressing_style": "path"})
            self._client_cache[region_name] = self._session.create_client(
                "s3", region_name, endpoint_url=self._endpoint_url, config=cfg)
        return self._client_cache[region_name]


class LocalValidateLogs(validation.CloudTrailValidateLogs):
    def setup_services(self, parsed_globals):
        super().setup_services(parsed_globals)
        ep = parsed_globals.endpoint_url
        self.s3_client_provider = LocalS3ClientProvider(self._session, self._source_region, ep)
        self.organization_client = self._session.create_client(
            "organizations", region_name=parsed_globals.region or "us-east-1",
            endpoint_url=ep, verify=parsed_globals.verify_ssl)


def _inject(command_table, session, **kwargs):
    command_table["validate-logs"] = LocalValidateLogs(session)


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(prog="validate_ref",
                                 description="awscli's validate-logs against the fake AWS")
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--trail-arn", required=True)
    ap.add_argument("--start", required=True)
    ap.add_argument("--end")
    ap.add_argument("--account-id")
    ap.add_argument("--s3-bucket")
    ap.add_argument("--s3-prefix")
    ap.add_argument("--region")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)
    region = a.region or os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") \
        or "us-east-1"
    args = ["--endpoint-url", a.endpoint, "--region", region,
            "cloudtrail", "validate-logs", "--trail-arn", a.trail_arn, "--start-time", a.start]
    if a.end:
        args += ["--end-time", a.end]
    for opt, v in (("--account-id", a.account_id), ("--s3-bucket", a.s3_bucket),
                   ("--s3-prefix", a.s3_prefix)):
        if v is not None:
            args += [opt, v]
    if a.verbose:
        args.append("--verbose")
    from awscli import clidriver
    driver = clidriver.create_clidriver(args)
    # after the cloudtrail customization has injected its command, replace it
    driver.session.register("building-command-table.cloudtrail", _inject)
    return driver.main(args)


if __name__ == "__main__":
    sys.exit(main())
