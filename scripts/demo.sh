#!/bin/sh
# scripts/demo.sh: the end-to-end story behind `make demo`, against the
# local fake AWS (tests/fakeaws/) on 127.0.0.1.  Nothing reaches AWS.
#
# The fake runs a simulated clock (starting 2026-01-01T00:00:00Z) and checks
# signatures against it; trailkeep follows it through TRAILKEEP_NOW and the
# "people" in the story use Debian's aws CLI pinned to it (aws_at.py).
set -u
BUILD=${BUILD:-build/default}
PYTHON=${PYTHON:-/usr/bin/python3}
TOP=$(pwd)
export TOP PYTHON
TK="$TOP/$BUILD/trailkeep"
CONFIG=examples/org.ini
ORG=o-a1b2c3d4e5
WORK=$(mktemp -d "${TMPDIR:-/tmp}/trailkeep-demo.XXXXXX")
. "$TOP/tests/fakeaws/fakeaws.sh"
cleanup() { fakeaws_stop; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

if [ -t 1 ]; then B=$(printf '\033[1m'); N=$(printf '\033[0m'); else B=; N=; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
run() { printf '$ trailkeep %s\n' "$*"; "$TK" "$@"; printf '(exit %s)\n' "$?"; return 0; }
# advance simulated time and follow it
advance() {
	TRAILKEEP_NOW=$(fakeaws_post advance "{\"seconds\": $1}" |
		"$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["now"])') || exit 3
	export TRAILKEEP_NOW
	echo "simulated time is now $TRAILKEEP_NOW"
}
# a person's aws CLI call as account $1 (its admin user; with ROLE=name, as
# that role of the account), signed at the simulated time
aws_as() {
	acct=$1; shift
	printf '$ aws %s   (as %s of %s)\n' "$*" "${ROLE:-the admin}" "$acct" >&2
	(
		eval "$(fakeaws_env "$acct")"
		cd "$TOP" || exit 1
		if [ -n "${ROLE:-}" ]; then
			eval "$("$PYTHON" -m tests.fakeaws.aws_at "$TRAILKEEP_NOW" -- --endpoint-url "$FAKEAWS_URL" \
				sts assume-role --role-arn "arn:aws:iam::$acct:role/$ROLE" --role-session-name demo \
				--query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text |
				awk '{printf "export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_SESSION_TOKEN=%s\n", $1, $2, $3}')"
		fi
		"$PYTHON" -m tests.fakeaws.aws_at "$TRAILKEEP_NOW" -- --endpoint-url "$FAKEAWS_URL" "$@"
	)
}
# the messages CloudWatch alarms published to the [monitoring] topic, oldest first
ALARM_TOPIC=arn:aws:sns:us-east-1:111111111111:acme-cloudtrail-alarms
alarm_messages() {
	fakeaws_post sns_messages "{\"topic\": \"$ALARM_TOPIC\"}" | "$PYTHON" -c 'import json,sys
for m in json.load(sys.stdin)["messages"]:
    d = json.loads(m["message"])
    print("alarm message: %s %s -> %s" % (d["AlarmName"], d["NewStateValue"],
          ", ".join(m["endpoints"]) or "(no confirmed subscriber)"))'
}
tamper() {
	printf 'tamper: %s\n' "$1"
	fakeaws_post tamper "$1" | "$PYTHON" -c 'import json,sys
d=json.load(sys.stdin); [print("  changed s3://%s/%s" % (d["bucket"], k)) for k in d.get("keys", [])]'
}

step "1. plan: render every policy and trail from $CONFIG (no credentials, no network)"
run plan "$CONFIG" -o "$WORK/plan"
printf '\nrendered files:\n'; (cd "$WORK/plan" && find . -type f | sort | sed 's/^\.\//  /')

step "2. start the local fake AWS and seed an organization (management, log archive, 2 members)"
FAKEAWS_NO_SEED=1 fakeaws_start --start 2026-01-01T00:00:00Z --auth-clock sim || exit 3
TRAILKEEP_NOW=2026-01-01T00:00:00Z; export TRAILKEEP_NOW
echo "fake AWS on $FAKEAWS_URL"
FAKEAWS_SEED="$WORK/seed.json"; export FAKEAWS_SEED
fakeaws_post seed_org "{\"members\": 2, \"org_id\": \"$ORG\"}" >"$FAKEAWS_SEED" || exit 3
eval "$(fakeaws_env 111111111111)"
# the roles examples/org.ini names as decrypt and break-glass principals must
# exist, or KMS refuses the key policy (as AWS does)
trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"sts:AssumeRole"}]}'
for r in SecurityAudit LogArchiveAdmin; do
	fakeaws_post create_role "{\"account\": \"222222222222\", \"name\": \"$r\", \"trust_policy\": $trust}" >/dev/null || exit 3
done
"$PYTHON" -c 'import json,sys
d=json.load(open(sys.argv[1]))
print("organization", d["org_id"]); [print("  account", a["id"], a["name"]) for a in d["accounts"]]' "$FAKEAWS_SEED"

step "3. apply --dry-run: what would change (exit 4 = changes pending; diffs shortened here)"
printf '$ trailkeep apply %s --dry-run\n' "$CONFIG"
"$TK" apply "$CONFIG" --dry-run >"$WORK/dry.txt"; rc=$?
grep -E '^[-+~>] |^[a-z0-9].*changes|^account ' "$WORK/dry.txt" | grep -v '^[-+][-+]' | grep -v '^[-+] *[{}"\[]' | head -n 30
printf '(%s lines of diff; exit %s)\n' "$(wc -l <"$WORK/dry.txt")" "$rc"

step "4. apply --yes: create the key, bucket, policies and the organization trail"
run apply "$CONFIG" --yes
# [monitoring] in $CONFIG: apply also made the alarm topic; secops confirms the
# e-mail subscription (the link in SNS's confirmation mail)
fakeaws_post confirm_subscription "{\"topic\": \"$ALARM_TOPIC\", \"endpoint\": \"secops@example.com\"}" >/dev/null

step "5. three hours pass: CloudTrail delivers logs and hourly digests"
advance 10800

step "6. verify: every account x region fresh and intact"
run verify "$CONFIG" --since 3h

step "7. apply again: nothing to do"
run apply "$CONFIG" --yes

step "8. break things the way people do"
echo "(a) the log-archive admin 'cleans up' the bucket policy: the org write now lists three accounts, not the org"
ROLE=LogArchiveAdmin aws_as 222222222222 s3api get-bucket-policy --bucket acme-org-cloudtrail --query Policy --output text >"$WORK/policy.json"
"$PYTHON" - "$WORK/policy.json" "$ORG" <<'PYEOF'
import json, sys
p = json.load(open(sys.argv[1]))
for s in p["Statement"]:
    if s.get("Sid") == "TrailkeepOrgWrite":
        base = s["Resource"].rsplit("/*", 1)[0]
        s["Resource"] = [base + "/%s/*" % a for a in ("111111111111", "222222222222", "333333333333")]
json.dump(p, open(sys.argv[1], "w"), indent=2)
PYEOF
ROLE=LogArchiveAdmin aws_as 222222222222 s3api put-bucket-policy --bucket acme-org-cloudtrail --policy "file://$WORK/policy.json"
echo "(b) a log file and a digest of account 333333333333 are deleted and edited"
tamper '{"kind": "delete_log", "trail": "org-trail", "account": "333333333333", "region": "us-east-1"}'
tamper '{"kind": "modify_digest", "trail": "org-trail", "account": "333333333333", "region": "eu-west-1"}'
seen=$(alarm_messages | grep -c '^alarm message' || true)
advance 7200
echo "([monitoring]) the bucket policy change reached CloudWatch Logs: the alarm fired, secops got the message"
alarm_messages | tail -n +$((seen + 1))

step "9. verify: red, each problem with its finding code"
run verify "$CONFIG" --since 5h

step "10. doctor: why is 444444444444 silent, who did it, what fixes it"
run doctor "$CONFIG" --account 444444444444

step "11. apply restores the bucket policy; an hour later verify is green for new deliveries"
run apply "$CONFIG" --yes
advance 3600
run verify "$CONFIG" --since 1h --account 444444444444

step "12. someone stops the organization trail: the alarm fires, secops is told, doctor names who"
seen=$(alarm_messages | grep -c '^alarm message' || true)
aws_as 111111111111 cloudtrail stop-logging --name org-trail
advance 3600
echo "([monitoring]) CloudTrail delivered the StopLogging call itself to CloudWatch Logs (logging stops after it):"
echo "the alarm fired and secops got the message"
alarm_messages | tail -n +$((seen + 1))
run doctor "$CONFIG" --account 333333333333 --region us-east-1

step "13. apply starts logging again (it never turns logging off)"
run apply "$CONFIG" --yes
advance 3600
run verify "$CONFIG" --since 1h --no-integrity

step "14. the log-archive admin disables the KMS key: every delivery stops, silently"
# (DisableKey takes a key id or key ARN, not an alias: look the id up first)
KEY_ID=$(aws_as 222222222222 kms describe-key --key-id alias/acme-cloudtrail --query KeyMetadata.KeyId --output text) || exit 3
aws_as 222222222222 kms disable-key --key-id "$KEY_ID"
seen=$(alarm_messages | grep -c '^alarm message' || true)
# a little more than max_delivery_age (1h): a log file delivered at the very
# moment of the disable is exactly an hour old then, not yet stale
advance 3900
alarm_messages | tail -n +$((seen + 1))
run verify "$CONFIG" --since 1h --no-integrity --account 333333333333
run doctor "$CONFIG" --account 333333333333 --region us-east-1

step "15. apply enables the key again (it converges key states, never disables or deletes a key)"
run apply "$CONFIG" --yes
advance 3600
run verify "$CONFIG" --since 1h --no-integrity
echo
echo "demo finished"
