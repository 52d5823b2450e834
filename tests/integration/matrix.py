#!/usr/bin/python3
"""The generated scenario matrix (issue 12 "The test system", issue 18
"Doctor coverage"): configurations generated from a seed x the breaks of one
catalogue (tests/matrix/catalogue.py, written from README.md's tables).

  matrix.py                          the fixed sample `make test` runs: every
                                     break of the catalogue at least once in
                                     each mode it applies to (about 4 minutes)
  matrix.py --seed N --count M       M configs from seed N, each in both modes
                                     (or --mode), every applicable break
            [--only b1,b2] [--mode organization|per-account]
            [--force '{"multi_region": false}'] [-v]

(`make matrix SEED=N COUNT=M ONLY=... MODE=... FORCE=...` runs the second
form.)  Prints PASS:/FAIL: lines (tests/run.sh counts them); a FAIL prints the
seed, mode, break, the generated config and the command that replays it.
Breaks the fake AWS cannot build yet print "# PENDING" with the reason.
Exits non-zero on any failure."""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, TOP)

from tests.matrix.catalogue import EXPECT  # noqa: E402
from tests.matrix.gen import gen  # noqa: E402
from tests.matrix.run import Runner  # noqa: E402
from tests.matrix.world import TK  # noqa: E402

# The fixed sample: (seed, mode, forced fields, breaks).  Every break of
# EXPECT appears at least once in each mode it applies to (checked below);
# forced fields make the configs reach the breaks that need a feature
# (single-region, an opt-in region, data events, no object lock) while the
# seed varies everything else.
ORG_A = dict(multi_region=True, opt_in=True, data_events=True, retention=(30, "none"),
             home="eu-west-1", n_accounts=4)
ORG_B = dict(multi_region=False, retention=(400, "governance:30"), key_prefix_raw="/org/logs/ct/",
             home="us-east-1", n_accounts=3, mgmt_section=True, archive_section=True,
             role=("TrailkeepAdmin", "ext-102"))
# the management and log-archive accounts without [account] sections (issue 12
# defect 1: they are expected accounts all the same)
ORG_C = dict(multi_region=True, retention=(0, "none"), home="us-west-2", n_accounts=3,
             mgmt_section=False, archive_section=False, key_prefix_raw=None,
             role=("OrganizationAccountAccessRole", None),
             # an unencrypted alarm topic nobody in the config subscribes to
             # (the team subscribes its pager by hand: tests/matrix/world.py)
             monitoring={"alarms": "unauthorized", "topic_key": "none"})
PER_A = dict(multi_region=True, opt_in=True, data_events=True, retention=(0, "none"),
             home="ap-southeast-2", n_accounts=4, mgmt_section=True, key_prefix_raw="cloudtrail")
PER_B = dict(multi_region=False, retention=(2555, "compliance:365"), home="eu-central-1",
             n_accounts=3, access_log=True, role=("TrailkeepAdmin", "ext-202"), key_prefix_raw=None,
             archive_is_mgmt=True)
# [monitoring] (README "Monitoring"): the monitoring breaks, and a few others
# with monitoring on (a stopped trail also stops CloudWatch Logs delivery)
MON_ALL = ["mon_cloudwatch_cleared", "mon_log_group_deleted", "mon_role_untrusted",
           "mon_role_policy_deleted", "mon_role_deleted", "mon_alarm_deleted", "mon_alarm_action_removed",
           "mon_topic_deleted", "mon_access_logging_off", "mon_access_log_policy_deleted",
           "mon_topic_policy_denies", "mon_topic_key_disabled", "mon_topic_key_policy", "mon_unsubscribed",
           "mon_metric_filter_deleted", "mon_metric_filter_changed"]
ORG_M = dict(monitoring={"alarms": "tampering, unauthorized, root", "subscribe": "mailto:secops@example.com",
                         "cw_max_age": ("2h", 7200), "access_max_age": ("3h", 10800)},
             access_log=True, archive_section=True, home="eu-central-1", n_accounts=3, multi_region=True,
             retention=(30, "none"))
PER_M = dict(monitoring={"alarms": "tampering", "notify": "mx-alerts", "log_group": "/mx/ct",
                         "topic_key": "alias/mx-topic", "retention": 30,
                         "subscribe": "https://hooks.example.com/mx"},
             access_log=True, archive_section=False, mgmt_section=True, home="us-west-2", n_accounts=3,
             retention=(0, "none"))     # the central account declares no cell: access-log findings
                                        # have no region (README access_log_stale)

SAMPLE = [
    (101, "organization", ORG_A, [
        "trail_missing", "trail_region_not_covered", "bucket_missing",
        "bucket_foreign_owner", "bucket_policy_deny_statement", "kms_key_disabled",
        "bucket_wrong_region", "kms_key_changed", "bucket_changed",
        "selectors_read_only", "selectors_no_management", "selectors_data_removed",
        "global_events_duplicated", "region_no_logs", "region_not_enabled", "account_left_org",
        "trusted_access_off", "kms_key_missing", "lifecycle_removed", "versioning_suspended"]),
    (102, "organization", ORG_B, [
        "trail_deleted", "trail_stopped_25h", "delivery_error", "bucket_policy_deleted",
        "kms_key_pending_deletion", "kms_key_wrong_region", "kms_policy_denies", "org_flag_off",
        "selectors_write_only", "global_events_off", "logs_deleted",
        "unknown_account_logs", "account_removed_from_org", "account_suspended", "member_unconfigured",
        "bucket_changed_unreadable", "public_access_block_removed", "key_rotation_disabled",
        "account_prefix_deleted"]),
    (103, "organization", ORG_C, ["trail_not_logging", "validation_off", "prefix_changed",
                                  "mon_alarm_deleted", "mon_topic_policy_denies"]),
    (201, "per-account", PER_A, [
        "trail_deleted", "trail_stopped_25h", "trail_region_not_covered", "bucket_missing",
        "bucket_foreign_owner", "bucket_policy_deleted", "kms_key_pending_deletion",
        "bucket_wrong_region", "kms_key_changed", "kms_policy_denies",
        "org_flag_on", "selectors_read_only", "selectors_data_removed", "selectors_no_management",
        "region_no_logs", "region_not_enabled", "unknown_account_logs", "bucket_changed_unreadable",
        "versioning_suspended", "public_access_block_removed"]),
    (202, "per-account", PER_B, [
        "trail_missing", "trail_not_logging", "delivery_error", "bucket_policy_deny_statement",
        "kms_key_disabled", "kms_key_wrong_region", "bucket_changed", "selectors_write_only",
        "validation_off", "global_events_off", "global_events_duplicated", "logs_deleted",
        "kms_key_missing", "prefix_changed", "lifecycle_removed", "key_rotation_disabled",
        "account_prefix_deleted"]),
    (104, "organization", ORG_M, MON_ALL + ["trail_not_logging", "kms_key_disabled", "validation_off"]),
    (203, "per-account", PER_M, MON_ALL + ["trail_deleted", "bucket_policy_deleted", "trail_not_logging"]),
]


# The fail-closed sample (issue 13): in these generated worlds every call
# verify and doctor make is failed in turn (403; `make matrix FAILCLOSED=403,500`
# runs more): `logs_deleted` is the world where doctor walks every check
# (cause `unknown`), so each of its calls is reached; `mon_role_untrusted`
# makes doctor walk the monitoring checks.
FC_SAMPLE = [
    (103, "organization", ORG_C, ["logs_deleted"]),
    (104, "organization", ORG_M, ["mon_role_untrusted"]),
    (202, "per-account", PER_B, ["logs_deleted"]),
]


def sample_coverage_errors():
    """Every break in every mode it applies to appears in SAMPLE (and is
    applicable there)."""
    r = Runner(tempfile.gettempdir())
    have = set()
    errs = []
    for seed, mode, force, names in SAMPLE:
        cfg = gen(seed, mode, **force)
        for n in names:
            why = r.applicable(cfg, n)
            if why:
                errs.append("sample: %s is not applicable to seed %d %s: %s" % (n, seed, mode, why))
            have.add((n, mode))
    for n, exp in EXPECT.items():
        for m in exp["modes"]:
            if (n, m) not in have:
                errs.append("sample: break %s never runs in %s mode" % (n, m))
    return errs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--only", default="")
    ap.add_argument("--mode", default="")
    ap.add_argument("--force", default="")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--fail-closed", default="",
                    help="after each world's checks, fail each call verify and doctor make in turn "
                         "(403, 500 or 403,500) and assert the result is never green")
    a = ap.parse_args()
    if not os.path.exists(TK):
        print("FAIL: %s not built" % TK)
        return 1
    only = [x for x in a.only.replace(" ", ",").split(",") if x]
    for n in only:
        if n not in EXPECT:
            print("FAIL: unknown break %r (known: %s)" % (n, ", ".join(sorted(EXPECT))))
            return 2
    modes = [m for m in (a.mode.split(",") if a.mode else ["organization", "per-account"]) if m]
    force = json.loads(a.force) if a.force else {}
    tmp = tempfile.mkdtemp(prefix="tk-matrix-")
    t0 = time.time()
    fc = None
    if a.fail_closed:
        kinds = {"403": ("AccessDenied", 403), "500": ("InternalError", 500)}
        fc = [kinds[k] for k in a.fail_closed.split(",") if k]
    runner = Runner(tmp, verbose=a.verbose, fail_closed=fc)
    try:
        if a.seed is None:
            errs = sample_coverage_errors()
            for e in errs:
                print("FAIL: %s" % e)
            if not errs:
                print("PASS: the fixed sample runs every break in each mode it applies to")
            plan = [(s, m, f, [n for n in names if not only or n in only])
                    for s, m, f, names in SAMPLE if not a.mode or m in modes]
            if not only and not a.mode:
                plan += [(s, m, f, names, "fail-closed") for s, m, f, names in FC_SAMPLE]
        else:
            plan = []
            for s in range(a.seed, a.seed + a.count):
                for m in modes:
                    plan.append((s, m, force, [n for n in EXPECT if (not only or n in only)]))
        fc_runner = Runner(tmp, verbose=a.verbose, timings=runner.timings,
                           fail_closed=[("AccessDenied", 403)])
        for seed, mode, f, names, *fc in plan:
            cfg = gen(seed, mode, **f)
            print("# config seed=%d %s%s: %s" % (seed, mode, " (fail-closed sweep)" if fc else "",
                                                cfg.summary()), flush=True)
            (fc_runner if fc else runner).run_config(cfg, names)
        runner.results += fc_runner.results
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("# summary per break and mode:")
    for line in runner.summary():
        print(line)
    slow = sorted(runner.timings.items(), key=lambda kv: -kv[1])[:5]
    print("# slowest: %s" % ", ".join("%s/%s/%d %.1fs" % (k[2], k[1], k[0], v) for k, v in slow))
    print("# matrix: %.1f s" % (time.time() - t0))
    return 1 if any(r.status == "FAIL" for r in runner.results) else 0


if __name__ == "__main__":
    sys.exit(main())
