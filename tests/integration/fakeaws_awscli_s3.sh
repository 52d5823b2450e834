#!/bin/sh
# Conformance of the fake AWS core (S3 part; more cases through botocore in
# fakeaws_core.py) with Debian's
# awscli: every call goes through botocore's real serializers, signers and
# parsers.  Prints PASS:/FAIL: lines; exits non-zero on any failure.
set -u
TOP=${TOP:-$(pwd)}
. "$TOP/tests/fakeaws/fakeaws.sh"
fakeaws_cli_setup fakeaws-s3

# --- S3 ---
B=trailkeep-logs-111111111111
check "s3api create-bucket (us-east-1, no body)" A s3api create-bucket --bucket "$B"
expect_err "create-bucket with LocationConstraint=us-east-1" InvalidLocationConstraint A s3api create-bucket --bucket other-bucket-x --create-bucket-configuration LocationConstraint=us-east-1
check "create-bucket in eu-west-1" A s3api create-bucket --bucket eu-bucket-111 --region eu-west-1 --create-bucket-configuration LocationConstraint=eu-west-1
cat >"$W/policy.json" <<EOF
{"Version":"2012-10-17","Statement":[
 {"Sid":"AclCheck","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::$B"},
 {"Sid":"Write333","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:root"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::$B/AWSLogs/333333333333/*","Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}},
 {"Sid":"DenyDelete","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::$B/*"}]}
EOF
check "put-bucket-policy" A s3api put-bucket-policy --bucket "$B" --policy "file://$W/policy.json"
check "get-bucket-policy" A s3api get-bucket-policy --bucket "$B"
jq_py 'json.loads(d["Policy"])["Statement"][0]["Sid"]' | grep -q AclCheck && pass "policy round-trips" || fail "policy round-trips"
check "put-bucket-versioning" A s3api put-bucket-versioning --bucket "$B" --versioning-configuration Status=Enabled
check "get-bucket-versioning" A s3api get-bucket-versioning --bucket "$B"
[ "$(jq_py 'd["Status"]')" = Enabled ] && pass "versioning is Enabled" || fail "versioning is Enabled"
for i in 01 02 03 04 05; do
	printf 'object %s\n' "$i" >"$W/obj"
	A s3api put-object --bucket "$B" --key "AWSLogs/111111111111/f$i.json" --body "$W/obj" --metadata "n=$i" >/dev/null 2>"$W/err" || fail "put-object f$i"
done
A s3api put-object --bucket "$B" --key "other/x" --body "$W/obj" >/dev/null
check "list-objects-v2 with --page-size 2 walks every page" A s3api list-objects-v2 --bucket "$B" --page-size 2 --prefix AWSLogs/
[ "$(jq_py 'len(d["Contents"])')" = 5 ] && pass "5 keys over 3 pages" || fail "5 keys over 3 pages"
check "list-objects-v2 --max-items 3 gives a NextToken" A s3api list-objects-v2 --bucket "$B" --max-items 3 --page-size 2
[ "$(jq_py 'len(d["Contents"])')" = 3 ] && [ -n "$(jq_py 'd.get("NextToken","")')" ] && pass "max-items 3" || fail "max-items 3"
check "list-objects-v2 delimiter" A s3api list-objects-v2 --bucket "$B" --delimiter /
[ "$(jq_py 'sorted(p["Prefix"] for p in d["CommonPrefixes"])')" = "['AWSLogs/', 'other/']" ] && pass "CommonPrefixes" || fail "CommonPrefixes"
check "list-objects v1 (Marker) pages" A s3api list-objects --bucket "$B" --page-size 3
[ "$(jq_py 'len(d["Contents"])')" = 6 ] && pass "v1 lists all 6" || fail "v1 lists all 6"
check "get-object with Range" A s3api get-object --bucket "$B" --key AWSLogs/111111111111/f03.json --range bytes=0-5 "$W/got"
[ "$(cat "$W/got")" = "object" ] && [ "$(jq_py 'd["Metadata"]["n"]')" = 03 ] && pass "range body and metadata" || fail "range body and metadata"
# cross-account
M3=$(fakeaws_env 333333333333 | sed -n 's/^export //p')
M4=$(fakeaws_env 444444444444 | sed -n 's/^export //p')
check "member 3333 writes its prefix (policy Allow)" env $M3 aws --endpoint-url "$FAKEAWS_URL" s3api put-object --bucket "$B" --key AWSLogs/333333333333/x.json --body "$W/obj" --acl bucket-owner-full-control
expect_err "member 3333 without the ACL condition is denied" AccessDenied env $M3 aws --endpoint-url "$FAKEAWS_URL" s3api put-object --bucket "$B" --key AWSLogs/333333333333/y.json --body "$W/obj"
expect_err "member 4444 (prefix omitted from the policy) is denied" AccessDenied env $M4 aws --endpoint-url "$FAKEAWS_URL" s3api put-object --bucket "$B" --key AWSLogs/444444444444/x.json --body "$W/obj" --acl bucket-owner-full-control
expect_err "cross-account read without policy -> AccessDenied" AccessDenied env $M3 aws --endpoint-url "$FAKEAWS_URL" s3api get-object --bucket "$B" --key AWSLogs/111111111111/f01.json "$W/x"
expect_err "missing key -> NoSuchKey" NoSuchKey A s3api get-object --bucket "$B" --key nope "$W/x"

# --- bookkeeping ---
fakeaws_post stats '{}' >"$W/out"
[ "$(jq_py 'd["per_op"].get("s3:PutBucketPolicy", 0)')" -ge 1 ] && pass "stats counts calls" || fail "stats counts calls"
fakeaws_post list_events '{}' >"$W/out"
jq_py '[e["eventName"] for e in d["events"]]' | grep -q "'PutBucketPolicy'" && pass "management events recorded" || fail "management events recorded"
jq_py '[e["eventName"] for e in d["events"]]' | grep -q "'PutObject'" && fail "object writes are data events, not recorded" || pass "object writes are data events, not recorded"
grep -q "Traceback" "$FAKEAWS_DIR/stderr" && { fail "server raised no exception"; sed 's/^/    /' "$FAKEAWS_DIR/stderr" | tail -20; } || pass "server raised no exception"
exit $failed
