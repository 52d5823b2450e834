#!/bin/sh
# `make demo` must keep telling its story: run scripts/demo.sh and check each
# step's outcome (exit codes, finding and cause codes, culprits).
TOP=${TOP:-$(pwd)}
cd "$TOP" || exit 1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout 500 sh scripts/demo.sh >"$out" 2>&1
rc=$?
check() { # description, then a grep -E pattern that must occur in the step's text
	if grep -qE -- "$2" "$out"; then echo "PASS: demo: $1"; else echo "FAIL: demo: $1 (no '$2')"; fi
}
step() { sed -n "/== $1\./,/== $(( $1 + 1 ))\./p" "$out"; }
[ $rc -eq 0 ] && echo "PASS: demo: script exits 0" || { echo "FAIL: demo: script exit $rc"; tail -n 30 "$out"; }
s() { step "$1" | grep -qE -- "$2" && echo "PASS: demo step $1: $3" || { echo "FAIL: demo step $1: $3"; step "$1" | tail -n 15; }; }
s 1 '^\(exit 0\)' "plan exits 0"
s 3 'exit 4\)' "apply --dry-run exits 4"
s 4 '^\(exit 0\)' "apply --yes exits 0"
s 6 '^no findings' "verify is green after apply"
s 7 '^nothing to do' "second apply has nothing to do"
s 8 'alarm message: trailkeep-log-bucket-changes ALARM -> secops@example.com' "the bucket policy alarm's message reaches the subscriber"
s 9 'error log_missing 333333333333 us-east-1' "deleted log found"
s 9 'error digest_signature_invalid 333333333333 eu-west-1' "edited digest found"
s 9 'error delivery_stale 444444444444 eu-west-1' "silently denied member account found"
s 10 '444444444444 eu-west-1: bucket_policy_denies' "doctor names the bucket policy"
s 10 'culprit: PutBucketPolicy by arn:aws:sts::222222222222:assumed-role/LogArchiveAdmin/demo' "doctor names who changed it"
s 11 '^no findings' "verify is green again after apply"
s 12 'alarm message: trailkeep-cloudtrail-changes ALARM -> secops@example.com' "the stopped trail's own StopLogging fires the alarm; secops gets the message"
s 12 'trail_not_logging' "doctor names the stopped trail"
s 12 'culprit: StopLogging by arn:aws:iam::111111111111:user/admin' "doctor names who stopped it"
s 13 '^no findings' "verify is green after apply restarts logging"
s 14 'error delivery_stale 333333333333 us-east-1' "verify is red after the key is disabled"
s 14 'alarm message: trailkeep-log-key-changes ALARM -> secops@example.com' "the key alarm's message reaches the subscriber"
s 14 '333333333333 us-east-1: kms_key_disabled' "doctor names the disabled key"
s 14 'culprit: DisableKey by arn:aws:iam::222222222222:user/admin' "doctor names who disabled it"
s 15 "^~ enable kms key 'alias/acme-cloudtrail' \(account 222222222222\)" "apply enables the key"
s 15 '^no findings' "verify is green after apply enables the key"
last=$(step 15 | grep -E '^\(exit [0-9]+\)' | tail -n 1)
[ "$last" = "(exit 0)" ] && echo "PASS: demo step 15: the final verify exits 0" ||
	{ echo "FAIL: demo step 15: the final verify exits 0 (got '$last')"; step 15 | tail -n 15; }
check "finishes" '^demo finished'
