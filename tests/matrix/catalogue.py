"""THE expectation table of the scenario matrix: one entry per break.

Written from README.md, never from running the tool:
  - verify's codes: section "`verify` and `validate`" (steps 1 Control plane
    and 2 Delivery, the per-account paragraph: a trail problem is reported on
    every selected cell of that account; organization mode once, on the
    management account's home-region cell; exit codes 0/1/3);
  - doctor's causes, culprits and fixes: section "`doctor`", the causes table
    ("cause | what doctor saw | fix") and the paragraph above it ("a missing,
    stopped or drifted trail breaks every cell it covers");
  - issue 12 / issue 18 where the README does not say yet (marked ISSUE12).

Cell kinds (computed per generated config and break, see run.py):
  trail    where verify puts the broken trail's trail-level findings
           (organization: the management account's home-region cell;
           per-account: every cell of the trail's account)
  covered  every cell whose logs the broken trail writes
  nonhome  covered cells outside the home region
  victim   every cell of the victim account
  cell     one victim cell
  all      every declared cell

Fields:
  modes         the modes the break applies to
  needs         config features it needs (run.py applicable())
  verify        {kind: codes every such cell must have}
  verify_any    {kind: codes of which every such cell must have at least one}
  verify_may    {kind: codes such a cell may also have}
  extra         findings on no declared cell: [(code, "unknown-account")]
  extra_may     findings on no declared cell that may also be there
  extra_any     [set of (code, account)]: one of each set must be there
  verify_exit   verify's exit status (README: 1 findings, 3 a cell unchecked)
  red           kinds whose cells doctor must report with a cause
  red_may       kinds whose cells doctor may also report
  cause         [(kind, {causes})]: the first kind holding a red cell gives
                its allowed causes
  culprit       the event doctor names as the culprit on cells whose cause is
                `main` (None: the README names none); who is the person who
                made the break (run.py)
  main          the cause the break is about (culprit and fix are checked on
                its cells)
  fix           "apply": the fix is `trailkeep apply CONFIG` (README fix
                column), then apply must converge: verify green again and a
                further apply makes zero writes; otherwise a string the fix
                must contain, or a list of them (the words of the README's fix
                text that carry its meaning), or None (README names no fix);
                `fix_note` another string it must contain
  scope         "central": the break is on the central bucket or key, so in
                per-account mode every trail (every account) is broken;
                otherwise one trail (organization: the organization trail)
  advance       seconds of delivery after the break (default max_delivery_age
                + 15 min, so a stopped delivery is stale; 0: none)
  integrity     after the fix, verify WITH integrity must be green too, or
                report exactly `integrity_after` {kind: codes}
  pending       why the break cannot run yet (printed, counted as PENDING)
  mon_may       with [monitoring]: codes the trail cells (or {kind: codes})
                may also have: a trail that logs fewer events or none
                delivers less or nothing to CloudWatch Logs
                (cloudwatch_delivery_stale), and a trail whose stream names
                change (the organization flag) is refused by the role, whose
                policy names the planned streams (README "Monitoring", Role:
                cloudwatch_delivery_error).
                With access logs, a break whose delivery lasts longer than
                access_log_max_age may leave the log bucket without requests,
                so without S3 server access logs: access_log_stale/_none on
                the central cell, or without a region when the config
                declares no such cell (run.py)
  alarm         with [monitoring] alarms `tampering`: the alarm whose message must
                reach the topic's confirmed subscriber after the break (README
                "Monitoring": StopLogging/UpdateTrail -> trailkeep-cloudtrail-
                changes, DisableKey in the log archive account ->
                trailkeep-log-key-changes), in the monitoring account that
                records the culprit's call (organization: the management
                account; per-account: the culprit's account, if it owns a trail)
  advance_cw    the delivery after the break outlasts the larger of
                max_delivery_age and max_cloudwatch_delivery_age (+15 min)
  advance_access  the delivery after the break outlasts access_log_max_age
                (+1 h)

Cell kind `central` (monitoring breaks on access logs): the central
account's home-region cell (README access_log_stale: "on the central
account's home-region cell").

Monitoring breaks (README "Monitoring", verify's table, doctor's monitoring
causes) are trail-level: verify puts them where it puts the trail's findings
(README "verify": `[monitoring]` findings are reported on the trail cells);
they apply to configs with [monitoring] (`needs` "monitoring").
"""

APPLY = "apply"
BOTH = ("organization", "per-account")
ORG = ("organization",)
PER = ("per-account",)

# what a stopped delivery looks like: README verify step 2 "Older than
# max_delivery_age: delivery_stale" (the logs of the first two hours are
# still within the last day)
STALE = {"covered": {"delivery_stale"}}

EXPECT = {
    # README doctor table: trail_missing | GetTrail: TrailNotFoundException |
    # trailkeep apply CONFIG; verify step 1 `trail_missing`.  Built as a trail
    # deleted more than LookupEvents' 90 days ago (fake op age_events).
    "trail_missing": dict(
        mon_may={"cloudwatch_delivery_stale"},
        modes=BOTH, verify={"trail": {"trail_missing"}, **STALE}, verify_exit=1,
        red=["covered"], cause=[("covered", {"trail_missing"})], main="trail_missing",
        culprit=None, fix=APPLY),
    # trail_deleted | the same, and a DeleteTrail event names the trail | apply
    "trail_deleted": dict(
        mon_may={"cloudwatch_delivery_stale"},
        modes=BOTH, verify={"trail": {"trail_missing"}, **STALE}, verify_exit=1,
        red=["covered"], cause=[("covered", {"trail_deleted"})], main="trail_deleted",
        culprit="DeleteTrail", fix=APPLY),
    # trail_not_logging | IsLogging false (culprit: StopLogging) | apply
    "trail_not_logging": dict(
        alarm="trailkeep-cloudtrail-changes",
        mon_may={"cloudwatch_delivery_stale"},
        modes=BOTH, verify={"trail": {"trail_not_logging"}, **STALE}, verify_exit=1,
        red=["covered"], cause=[("covered", {"trail_not_logging"})], main="trail_not_logging",
        culprit="StopLogging", fix=APPLY),
    # the same, stopped 25 hours ago: README verify step 2 "the newest log file
    # under each account's region prefix in the last day ... none:
    # delivery_none" (issue 12 defect 6)
    "trail_stopped_25h": dict(
        mon_may={"cloudwatch_delivery_stale"},
        modes=BOTH, verify={"trail": {"trail_not_logging"}, "covered": {"delivery_none"}},
        verify_exit=1, red=["covered"], cause=[("covered", {"trail_not_logging"})],
        main="trail_not_logging", culprit="StopLogging", fix=APPLY, advance=25 * 3600),
    # trail_region_not_covered | a single-region trail: the cell is in another
    # region, or the config asks for multi-region (culprit: UpdateTrail) |
    # apply; verify step 1 trail_config_drift (multi-region)
    "trail_region_not_covered": dict(
        alarm="trailkeep-cloudtrail-changes",
        mon_may={"cloudwatch_delivery_stale", "cloudwatch_delivery_error"},
        modes=BOTH, needs=["multi_region"],
        verify={"trail": {"trail_config_drift"}, "nonhome": {"delivery_stale"}}, verify_exit=1,
        red=["trail", "nonhome"], red_may=["covered"],
        cause=[("covered", {"trail_region_not_covered"})], main="trail_region_not_covered",
        culprit="UpdateTrail", fix=APPLY),
    # delivery_error | LatestDeliveryError that nothing below explains | per
    # value (README names no fix for KMS.ThrottlingException); verify step 1
    # trail_delivery_error.  Built with the fake's set_delivery_fault.
    "delivery_error": dict(
        modes=BOTH, verify={"trail": {"trail_delivery_error"}, **STALE}, verify_exit=1,
        red=["covered"], cause=[("covered", {"delivery_error"})], main="delivery_error",
        culprit=None, fix=None, revert=True),
    # bucket_missing | HeadBucket: 404 (culprit: DeleteBucket) | apply.
    # verify: README does not say what a missing bucket's listing gives; every
    # cell must be red with one of the delivery codes or cell_unchecked.
    "bucket_missing": dict(
        scope="central", modes=BOTH, needs=["no_lock"],
        verify={"trail": {"trail_delivery_error"}},
        verify_any={"all": {"cell_unchecked", "prefix_missing", "delivery_none", "delivery_stale"}},
        verify_may={"all": {"cell_unchecked", "prefix_missing", "delivery_none", "delivery_stale"}},
        verify_exit=(1, 3), red=["all"], cause=[("all", {"bucket_missing"})], main="bucket_missing",
        culprit="DeleteBucket", fix=APPLY),
    # bucket_foreign_owner | HeadBucket from the central account: 403 | another
    # bucket name.  verify: "listing denied" is cell_unchecked, exit 3.
    "bucket_foreign_owner": dict(
        scope="central", modes=BOTH, needs=["no_lock"],
        verify={"all": {"cell_unchecked"}}, verify_may={"trail": {"trail_delivery_error"}},
        verify_exit=3, red=["all"], cause=[("all", {"bucket_foreign_owner"})],
        main="bucket_foreign_owner", culprit=None, fix=["bucket name"]),
    # bucket_policy_denies, a foreign Deny statement | culprit PutBucketPolicy
    # | "a foreign Deny statement (apply keeps those): remove it"; the trail
    # owner's cell of an organization trail: delivery_error naming the cells
    # that cause it.
    "bucket_policy_deny_statement": dict(
        modes=BOTH, verify={"victim": {"delivery_stale"}, "trail": {"trail_delivery_error"}},
        verify_exit=1, red=["victim", "trail"],
        cause=[("victim", {"bucket_policy_denies"}), ("trail", {"delivery_error"})],
        main="bucket_policy_denies", culprit="PutBucketPolicy", fix="remove statement", revert=True),
    # bucket_policy_denies, the policy deleted | culprit DeleteBucketPolicy | apply
    "bucket_policy_deleted": dict(
        scope="central", modes=BOTH, verify={"trail": {"trail_delivery_error"}, **STALE}, verify_exit=1,
        red=["covered"], cause=[("trail", {"bucket_policy_denies", "delivery_error"}),
                                ("covered", {"bucket_policy_denies"})],
        main="bucket_policy_denies", culprit="DeleteBucketPolicy", fix=APPLY),
    # kms_key_missing | deleted after its waiting period (culprit:
    # ScheduleKeyDeletion) | apply (a new key and alias).  Seven days later
    # nothing was delivered in the freshness window: delivery_none.  The
    # alias went with the key: README step 1 "an alias that does not exist is
    # drift".
    "kms_key_missing": dict(
        scope="central", modes=BOTH,
        verify={"trail": {"trail_delivery_error", "trail_config_drift"}, "covered": {"delivery_none"}},
        verify_exit=1,
        red=["covered"], cause=[("covered", {"kms_key_missing"})], main="kms_key_missing",
        culprit="ScheduleKeyDeletion", fix=APPLY, advance=7 * 86400 + 3600, slow=True),
    # kms_key_disabled | KeyState Disabled (culprit: DisableKey) | apply (enables the key)
    "kms_key_disabled": dict(
        alarm="trailkeep-log-key-changes",
        scope="central", modes=BOTH, verify={"trail": {"trail_delivery_error"}, **STALE}, verify_exit=1,
        red=["covered"], cause=[("covered", {"kms_key_disabled"})], main="kms_key_disabled",
        culprit="DisableKey", fix=APPLY, fix_note="enables the key"),
    # kms_key_pending_deletion | (culprit: ScheduleKeyDeletion) | apply
    # (cancels the deletion, enables the key)
    "kms_key_pending_deletion": dict(
        scope="central", modes=BOTH, verify={"trail": {"trail_delivery_error"}, **STALE}, verify_exit=1,
        red=["covered"], cause=[("covered", {"kms_key_pending_deletion"})],
        main="kms_key_pending_deletion", culprit="ScheduleKeyDeletion", fix=APPLY,
        fix_note="cancels the deletion"),
    # bucket_wrong_region | the bucket deleted and created again elsewhere
    # (culprit: CreateBucket) | move it back ... or change home_region.  The
    # new bucket is empty: every cell red (prefix_missing / delivery_none).
    "bucket_wrong_region": dict(
        scope="central", modes=BOTH, needs=["no_lock"],
        verify={"trail": {"trail_delivery_error"}},
        verify_any={"all": {"prefix_missing", "delivery_none", "delivery_stale", "cell_unchecked"}},
        verify_may={"all": {"prefix_missing", "delivery_none", "delivery_stale", "cell_unchecked"}},
        verify_exit=(1, 3), red=["all"], cause=[("all", {"bucket_wrong_region"})],
        main="bucket_wrong_region", culprit="CreateBucket", fix="home_region"),
    # kms_key_wrong_region | the key in another region than the bucket | apply
    # (the key in home_region); README names no culprit (built with the fake's
    # force_trail_key, which the API refuses).  Drift: another key.
    "kms_key_wrong_region": dict(
        modes=BOTH, verify={"trail": {"trail_config_drift", "trail_delivery_error"}, **STALE},
        verify_exit=1, red=["covered"], cause=[("covered", {"kms_key_wrong_region"})],
        main="kms_key_wrong_region", culprit=None, fix=APPLY),
    # kms_key_changed | logs still arrive (culprit: UpdateTrail) | apply;
    # verify step 1 drift "KMS key: ... another key than the one kms_alias names"
    "kms_key_changed": dict(
        modes=BOTH, verify={"trail": {"trail_config_drift"}}, verify_exit=1,
        red=["covered"], cause=[("covered", {"kms_key_changed"})], main="kms_key_changed",
        culprit="UpdateTrail", fix=APPLY),
    # kms_policy_denies | (culprit: PutKeyPolicy) | apply
    "kms_policy_denies": dict(
        scope="central", modes=BOTH, verify={"trail": {"trail_delivery_error"}, **STALE}, verify_exit=1,
        red=["covered"], cause=[("trail", {"kms_policy_denies", "delivery_error"}),
                                ("covered", {"kms_policy_denies"})],
        main="kms_policy_denies", culprit="PutKeyPolicy", fix=APPLY),
    # bucket_changed | S3BucketName differs (culprit: UpdateTrail) | apply; drift
    # "bucket".  After the revert (apply), README "Log file integrity",
    # Location changes: "a prefix or bucket change, and its revert, is no
    # finding at all" when the other bucket can be read (its owner lets the
    # central account read it) ...
    "bucket_changed": dict(
        modes=BOTH, verify={"trail": {"trail_config_drift"}, **STALE}, verify_exit=1,
        red=["covered"], cause=[("covered", {"bucket_changed"})], main="bucket_changed",
        culprit="UpdateTrail", fix=APPLY, integrity=True),
    # ... and when it cannot: "A linked digest ... at the other location that
    # cannot be read (access denied ...) is digest_link_unreadable" (error)
    "bucket_changed_unreadable": dict(
        modes=BOTH, verify={"trail": {"trail_config_drift"}, **STALE}, verify_exit=1,
        red=["covered"], cause=[("covered", {"bucket_changed"})], main="bucket_changed",
        culprit="UpdateTrail", fix=APPLY, integrity=True,
        integrity_after={"covered": {"digest_link_unreadable"}}),
    # prefix_changed | S3KeyPrefix differs (culprit: UpdateTrail) | apply; drift
    # "prefix".  The location change and its revert (by apply): issue 12
    # defect 2 (converge to no prefix) and defect 3 (the digest chain across
    # locations is valid: verify WITH integrity green afterwards).
    "prefix_changed": dict(
        modes=BOTH, verify={"trail": {"trail_config_drift"}, **STALE}, verify_exit=1,
        red=["covered"], cause=[("covered", {"prefix_changed"})], main="prefix_changed",
        culprit="UpdateTrail", fix=APPLY, integrity=True),
    # org_path_layout, the organization flag turned off: verify drift
    # "organization flag"; the logs move to AWSLogs/MGMT/.  README's fix column
    # for org_path_layout only covers a key_prefix ending in the org id; for
    # the flag the fix is the drift's: apply (README: "whatever apply would
    # change on a trail").
    "org_flag_off": dict(
        mon_may={"cloudwatch_delivery_stale", "cloudwatch_delivery_error"},
        modes=ORG, verify={"trail": {"trail_config_drift"}, **STALE}, verify_exit=1,
        red=["covered"], cause=[("covered", {"org_path_layout"})], main="org_path_layout",
        culprit="UpdateTrail", fix=APPLY),
    # org_path_layout, per-account: the management account's own trail made an
    # organization trail (logs under AWSLogs/ORG-ID/MGMT/).  Its members now
    # see an organization trail with global events besides their own:
    # global_events_duplicated (verify step 1, DescribeTrails) on their cells.
    "org_flag_on": dict(
        mon_may={"victim": {"cloudwatch_delivery_stale", "cloudwatch_delivery_error"}},
        modes=PER, needs=["mgmt_trail"],
        verify={"victim": {"trail_config_drift", "delivery_stale"},
                "others": {"global_events_duplicated"}},
        verify_exit=1, red=["victim", "others"],
        cause=[("victim", {"org_path_layout"}), ("others", {"global_events_duplicated"})],
        main="org_path_layout", culprit="UpdateTrail", fix=APPLY),
    # selectors_exclude | event selectors without all management events or
    # without a configured data-event bucket (culprit: PutEventSelectors) |
    # apply.  verify: issue 12 defect 4 (whatever apply would change on a
    # trail is trail_config_drift; README step 1 lists data-event buckets).
    # Fewer events may also leave cells stale.
    "selectors_read_only": dict(
        mon_may={"cloudwatch_delivery_stale", "cloudwatch_delivery_error"},
        modes=BOTH, verify={"trail": {"trail_config_drift"}},
        verify_may={"covered": {"delivery_stale"}}, verify_exit=1,
        red=["covered"], cause=[("covered", {"selectors_exclude"})], main="selectors_exclude",
        culprit="PutEventSelectors", fix=APPLY),
    "selectors_write_only": dict(
        mon_may={"cloudwatch_delivery_stale", "cloudwatch_delivery_error"},
        modes=BOTH, verify={"trail": {"trail_config_drift"}},
        verify_may={"covered": {"delivery_stale"}}, verify_exit=1,
        red=["covered"], cause=[("covered", {"selectors_exclude"})], main="selectors_exclude",
        culprit="PutEventSelectors", fix=APPLY),
    "selectors_no_management": dict(
        mon_may={"cloudwatch_delivery_stale", "cloudwatch_delivery_error"},
        modes=BOTH, verify={"trail": {"trail_config_drift"}},
        verify_may={"covered": {"delivery_stale"}}, verify_exit=1,
        red=["covered"], cause=[("covered", {"selectors_exclude"})], main="selectors_exclude",
        culprit="PutEventSelectors", fix=APPLY),
    "selectors_data_removed": dict(
        mon_may={"cloudwatch_delivery_stale", "cloudwatch_delivery_error"},
        modes=BOTH, needs=["data_events"], verify={"trail": {"trail_config_drift"}},
        verify_may={"covered": {"delivery_stale"}}, verify_exit=1,
        red=["covered"], cause=[("covered", {"selectors_exclude"})], main="selectors_exclude",
        culprit="PutEventSelectors", fix=APPLY),
    # validation off: verify step 1 `validation_disabled` (error); doctor
    # validation_disabled | LogFileValidationEnabled false (culprit:
    # UpdateTrail) | apply.  Logs still arrive: doctor must report the cell
    # verify reported (the trail cell), and may fan out to the covered cells.
    "validation_off": dict(
        alarm="trailkeep-cloudtrail-changes",
        modes=BOTH, verify={"trail": {"validation_disabled"}}, verify_exit=1,
        red=["trail"], red_may=["covered"], cause=[("covered", {"validation_disabled"})],
        main="validation_disabled", culprit="UpdateTrail", fix=APPLY),
    # global_events_off | (culprit: UpdateTrail) | apply; drift "global
    # events".  A multi-region trail cannot leave them out (CloudTrail's
    # InvalidParameterCombinationException), so multi_region = false only.
    "global_events_off": dict(
        mon_may={"cloudwatch_delivery_stale", "cloudwatch_delivery_error"},
        modes=BOTH, needs=["single_region"], verify={"trail": {"trail_config_drift"}},
        verify_exit=1, red=["covered"], cause=[("covered", {"global_events_off"})],
        main="global_events_off", culprit="UpdateTrail", fix=APPLY),
    # global_events_duplicated | DescribeTrails in the account: another trail
    # also records them (culprit: its CreateTrail) | aws cloudtrail
    # update-trail --no-include-global-service-events on the other trail.
    # Built in the trail owner's account, where verify reads DescribeTrails.
    # Severity warning: alone, verify exits 0.
    "global_events_duplicated": dict(
        modes=BOTH, verify={"trail": {"global_events_duplicated"}}, verify_exit=0,
        red=[], red_may=["trail"], cause=[("covered", {"global_events_duplicated"})],
        main="global_events_duplicated", culprit="CreateTrail",
        fix=["update-trail", "--no-include-global-service-events"], revert=True),
    # unknown | red, but every check passed: the evidence lists each check.
    # Built by deleting one cell's log files (break-glass role): verify step 2
    # "none: delivery_none".
    "logs_deleted": dict(
        modes=BOTH, verify={"cell": {"delivery_none"}}, verify_exit=1,
        red=["cell"], cause=[("cell", {"unknown"})], main="unknown", culprit=None, fix=None,
        advance=0),
    # every object of one account deleted (break-glass role): README verify
    # step 2 "a configured account without a prefix is prefix_missing" (per
    # cell; delivery_none alongside is not excluded); doctor: every check
    # passes -> unknown
    "account_prefix_deleted": dict(
        modes=BOTH, verify={"victim": {"prefix_missing"}}, verify_may={"victim": {"delivery_none"}},
        verify_exit=1, red=["victim"], cause=[("victim", {"unknown"})], main="unknown", culprit=None,
        fix=None, advance=0),
    # a declared region with no logs (the config declares a region CloudTrail
    # never delivered for): verify step 2 delivery_none; doctor: every check
    # passes -> unknown.
    "region_no_logs": dict(
        modes=BOTH, needs=["multi_region"], verify={"cell": {"delivery_none"}}, verify_exit=1,
        red=["cell"], cause=[("cell", {"unknown"})], main="unknown", culprit=None, fix=None,
        revert=True),
    # region_not_enabled | GetRegionOptStatus DISABLED (culprit: DisableRegion,
    # recorded in us-east-1) | aws account enable-region --region-name R
    "region_not_enabled": dict(
        modes=BOTH, needs=["opt_in"], verify={"cell": {"delivery_stale"}}, verify_exit=1,
        red=["cell"], cause=[("cell", {"region_not_enabled"})], main="region_not_enabled",
        culprit="DisableRegion", fix="enable-region", revert=True),
    # logs under an unknown account's prefix: verify step 2 "a prefix of an
    # account nobody configured is prefix_unexpected" (severity warning: exit
    # 0); on no declared cell.  README "doctor", account-level causes: an
    # account that is not an ACTIVE member -> prefix_foreign (warning: exit 0).
    "unknown_account_logs": dict(
        modes=BOTH, verify={}, extra=[("prefix_unexpected", "unknown-account")], verify_exit=0,
        red=[], accounts={"unknown-account": "prefix_foreign"}, main=None, culprit=None, fix=None,
        revert=True, advance=0),
    # --- settings verify does not check, which apply converges (README
    # "apply": every step reads first and writes what differs; "a second run
    # makes zero write calls"): verify and doctor stay green, apply writes,
    # a further apply writes nothing.  Made by the break-glass role (the
    # bucket policy denies these changes to everyone else) or a key admin.
    "lifecycle_removed": dict(
        scope="central", modes=BOTH, needs=["retention"], verify={}, verify_exit=0, red=[],
        main=None, culprit=None, fix=APPLY),
    "versioning_suspended": dict(
        scope="central", modes=BOTH, needs=["no_lock"], verify={}, verify_exit=0, red=[],
        main=None, culprit=None, fix=APPLY),
    "public_access_block_removed": dict(
        scope="central", modes=BOTH, verify={}, verify_exit=0, red=[], main=None, culprit=None,
        fix=APPLY),
    "key_rotation_disabled": dict(
        scope="central", modes=BOTH, verify={}, verify_exit=0, red=[], main=None, culprit=None,
        fix=APPLY),
    # --- organization membership: README "`verify` and `validate`",
    # "Organization membership" and the severity table; doctor causes
    # account_left_org and org_trusted_access_disabled ----------------------
    # a configured account that is not an ACTIVE member: account_not_in_org
    # (error) on each of its cells; the organization trail no longer logs it
    "account_left_org": dict(
        modes=ORG, verify={"victim": {"account_not_in_org", "delivery_stale"}}, verify_exit=1,
        red=["victim"], cause=[("victim", {"account_left_org"})], main="account_left_org",
        culprit="LeaveOrganization", fix=["invite", "back", "remove"], revert=True),
    "account_removed_from_org": dict(
        modes=ORG, verify={"victim": {"account_not_in_org", "delivery_stale"}}, verify_exit=1,
        red=["victim"], cause=[("victim", {"account_left_org"})], main="account_left_org",
        culprit="RemoveAccountFromOrganization", fix=["invite", "back", "remove"], revert=True),
    # SUSPENDED (AWS suspends; built with the fake's org_membership): "a
    # SUSPENDED / PENDING_CLOSURE account: remove it from the config"
    "account_suspended": dict(
        modes=ORG, verify={"victim": {"account_not_in_org", "delivery_stale"}}, verify_exit=1,
        red=["victim"], cause=[("victim", {"account_left_org"})], main="account_left_org",
        culprit=None, fix=["remove"], revert=True),
    # an ACTIVE member nobody configured: account_unconfigured (warning, no
    # region) and its logs under a prefix that is not expected:
    # prefix_unexpected (warning); warnings alone exit 0.  The fix the README
    # gives: [organization] exclude_accounts (then neither is reported).
    "member_unconfigured": dict(
        modes=ORG, verify={}, extra=[("account_unconfigured", "new-member"),
                                    ("prefix_unexpected", "new-member")],
        verify_exit=0, red=[], accounts={"new-member": "account_unconfigured"}, main=None, culprit=None,
        fix=None, revert=True),
    # trusted access off: "the organization trail logs only the management
    # account": org_trusted_access_disabled (error) on the management
    # account's home-region cell, the members' cells go stale; doctor: a
    # member's cell or the management account's cell; apply enables it
    "trusted_access_off": dict(
        modes=ORG, verify={"trail": {"org_trusted_access_disabled"}, "members": {"delivery_stale"}},
        verify_exit=1, red=["trail", "members"],
        cause=[("covered", {"org_trusted_access_disabled"})], main="org_trusted_access_disabled",
        culprit="DisableAWSServiceAccess", fix=APPLY),

    # --- [monitoring] -----------------------------------------------------------------
    # verify monitoring_drift: "the trail sends no events to CloudWatch Logs";
    # doctor cloudwatch_settings_changed (culprit UpdateTrail) | apply.  The
    # last delivery to CloudWatch Logs then ages: cloudwatch_delivery_stale may
    # show too.
    "mon_cloudwatch_cleared": dict(
        modes=BOTH, needs=["monitoring"], verify={"trail": {"monitoring_drift"}},
        verify_may={"trail": {"cloudwatch_delivery_stale"}}, verify_exit=1, red=["trail"],
        cause=[("trail", {"cloudwatch_settings_changed"})], main="cloudwatch_settings_changed",
        culprit="UpdateTrail", fix=APPLY, advance_cw=True),
    # monitoring_drift "the log group ... is missing"; log_group_missing
    # (culprit DeleteLogGroup) | apply (re-creates it and its metric filters).
    # CloudTrail cannot deliver into a missing group: the CloudWatch Logs
    # delivery codes may show too.
    "mon_log_group_deleted": dict(
        modes=BOTH, needs=["monitoring"], verify={"trail": {"monitoring_drift"}},
        verify_may={"trail": {"cloudwatch_delivery_stale", "cloudwatch_delivery_error"}}, verify_exit=1,
        red=["trail"], cause=[("trail", {"log_group_missing"})], main="log_group_missing",
        culprit="DeleteLogGroup", fix=APPLY, advance_cw=True),
    # CloudTrail cannot assume the role / write with it: its last delivery to
    # CloudWatch Logs is old or it reports an error (cloudwatch_delivery_*);
    # doctor cloudwatch_role_untrusted (UpdateAssumeRolePolicy),
    # cloudwatch_role_denies (DeleteRolePolicy), cloudwatch_role_missing
    # (DeleteRole) | apply
    "mon_role_untrusted": dict(
        modes=BOTH, needs=["monitoring"],
        verify_any={"trail": {"cloudwatch_delivery_stale", "cloudwatch_delivery_error"}},
        verify_may={"trail": {"cloudwatch_delivery_stale", "cloudwatch_delivery_error"}}, verify_exit=1,
        red=["trail"], cause=[("trail", {"cloudwatch_role_untrusted"})], main="cloudwatch_role_untrusted",
        culprit="UpdateAssumeRolePolicy", fix=APPLY, advance_cw=True),
    "mon_role_policy_deleted": dict(
        modes=BOTH, needs=["monitoring"],
        verify_any={"trail": {"cloudwatch_delivery_stale", "cloudwatch_delivery_error"}},
        verify_may={"trail": {"cloudwatch_delivery_stale", "cloudwatch_delivery_error"}}, verify_exit=1,
        red=["trail"], cause=[("trail", {"cloudwatch_role_denies"})], main="cloudwatch_role_denies",
        culprit="DeleteRolePolicy", fix=APPLY, advance_cw=True),
    "mon_role_deleted": dict(
        modes=BOTH, needs=["monitoring"],
        verify_any={"trail": {"cloudwatch_delivery_stale", "cloudwatch_delivery_error"}},
        verify_may={"trail": {"cloudwatch_delivery_stale", "cloudwatch_delivery_error"}}, verify_exit=1,
        red=["trail"], cause=[("trail", {"cloudwatch_role_missing"})], main="cloudwatch_role_missing",
        culprit="DeleteRole", fix=APPLY, advance_cw=True),
    # monitoring_drift "an alarm ... is missing" / "an alarm's topic action";
    # alarm_missing (DeleteAlarms), alarm_action_missing (PutMetricAlarm) | apply
    "mon_alarm_deleted": dict(
        modes=BOTH, needs=["alarms"], verify={"trail": {"monitoring_drift"}}, verify_exit=1,
        red=["trail"], cause=[("trail", {"alarm_missing"})], main="alarm_missing",
        culprit="DeleteAlarms", fix=APPLY, advance=0),
    "mon_alarm_action_removed": dict(
        modes=BOTH, needs=["alarms"], verify={"trail": {"monitoring_drift"}}, verify_exit=1,
        red=["trail"], cause=[("trail", {"alarm_action_missing"})], main="alarm_action_missing",
        culprit="PutMetricAlarm", fix=APPLY, advance=0),
    # monitoring_drift "a planned metric filter (or its pattern)"; doctor
    # metric_filter_missing (DeleteMetricFilter / PutMetricFilter) | apply
    "mon_metric_filter_deleted": dict(
        modes=BOTH, needs=["alarms"], verify={"trail": {"monitoring_drift"}}, verify_exit=1,
        red=["trail"], cause=[("trail", {"metric_filter_missing"})], main="metric_filter_missing",
        culprit="DeleteMetricFilter", fix=APPLY, advance=0),
    "mon_metric_filter_changed": dict(
        modes=BOTH, needs=["alarms"], verify={"trail": {"monitoring_drift"}}, verify_exit=1,
        red=["trail"], cause=[("trail", {"metric_filter_missing"})], main="metric_filter_missing",
        culprit="PutMetricFilter", fix=APPLY, advance=0),
    # monitoring_drift "the topic is missing"; alarm_topic_missing
    # (DeleteTopic) | apply (subscribers confirm again: the world's subscriber does)
    "mon_topic_deleted": dict(
        modes=BOTH, needs=["alarms"], verify={"trail": {"monitoring_drift"}}, verify_exit=1,
        red=["trail"], cause=[("trail", {"alarm_topic_missing"})], main="alarm_topic_missing",
        culprit="DeleteTopic", fix=APPLY, advance=0),
    # verify notify_denied (error): the topic policy or its key refuses
    # CloudWatch, "as monitoring_drift, on the trail owner's cells"; doctor
    # topic_policy_denies (SetTopicAttributes) | apply; topic_key_denies:
    # disabled (DisableKey) | `aws kms enable-key`, key policy (PutKeyPolicy) | apply
    "mon_topic_policy_denies": dict(
        modes=BOTH, needs=["alarms"], verify={"trail": {"notify_denied"}}, verify_exit=1,
        red=["trail"], cause=[("trail", {"topic_policy_denies"})], main="topic_policy_denies",
        culprit="SetTopicAttributes", fix=APPLY, advance=0),
    "mon_topic_key_disabled": dict(
        modes=BOTH, needs=["alarms", "topic_key"], verify={"trail": {"notify_denied"}}, verify_exit=1,
        red=["trail"], cause=[("trail", {"topic_key_denies"})], main="topic_key_denies",
        culprit="DisableKey", fix="aws kms enable-key", advance=0, revert=True),
    "mon_topic_key_policy": dict(
        modes=BOTH, needs=["alarms", "topic_key"], verify={"trail": {"notify_denied"}}, verify_exit=1,
        red=["trail"], cause=[("trail", {"topic_key_denies"})], main="topic_key_denies",
        culprit="PutKeyPolicy", fix=APPLY, advance=0),
    # notify_unconfirmed (warning): no confirmed subscription; doctor
    # subscription_unconfirmed (culprit Unsubscribe when there is none at all)
    # | a removed `subscribe` endpoint: apply subscribes it again (and the
    # subscriber confirms).  Warnings alone: exit 0.
    "mon_unsubscribed": dict(
        modes=BOTH, needs=["alarms", "subscribe"], verify={"trail": {"notify_unconfirmed"}}, verify_exit=0,
        red=["trail"], cause=[("trail", {"subscription_unconfirmed"})], main="subscription_unconfirmed",
        culprit="Unsubscribe", fix=APPLY, advance=0),
    # access logs: README access_log_stale (warning) "on the central account's
    # home-region cell"; none in twice access_log_max_age may be
    # access_log_none.  doctor access_logging_off (PutBucketLogging) /
    # access_log_policy_denies (DeleteBucketPolicy) | apply; warnings alone:
    # verify and doctor exit 0, doctor's cause severity warning.
    "mon_access_logging_off": dict(
        scope="central", modes=BOTH, needs=["monitoring", "access_log"],
        verify_any={"central": {"access_log_stale", "access_log_none"}},
        verify_may={"central": {"access_log_stale", "access_log_none"}}, verify_exit=0,
        red=["central"], cause=[("central", {"access_logging_off"})], main="access_logging_off",
        culprit="PutBucketLogging", fix=APPLY, advance_access=True),
    "mon_access_log_policy_deleted": dict(
        scope="central", modes=BOTH, needs=["monitoring", "access_log"],
        verify_any={"central": {"access_log_stale", "access_log_none"}},
        verify_may={"central": {"access_log_stale", "access_log_none"}}, verify_exit=0,
        red=["central"], cause=[("central", {"access_log_policy_denies"})], main="access_log_policy_denies",
        culprit="DeleteBucketPolicy", fix=APPLY, advance_access=True),
}
