#!/usr/bin/python3
"""ops_generated.py's checks (Kubernetes shards and merge, Prometheus rules,
the HTML report in Chromium, the systemd unit's command line) on generated
configurations in per-account mode; see ops_generated.py.
Prints PASS:/FAIL: lines; exit 1 on any failure."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ops_generated  # noqa: E402

if __name__ == "__main__":
    sys.exit(ops_generated.main("per-account", False))
