#!/bin/sh
# Conformance of the fake AWS core (STS, Organizations, signatures, KMS; S3 is in fakeaws_awscli_s3.sh) with Debian's
# awscli: every call goes through botocore's real serializers, signers and
# parsers.  Prints PASS:/FAIL: lines; exits non-zero on any failure.
set -u
TOP=${TOP:-$(pwd)}
. "$TOP/tests/fakeaws/fakeaws.sh"
fakeaws_cli_setup fakeaws-cli

# --- STS / Organizations ---
check "sts get-caller-identity" A sts get-caller-identity
[ "$(jq_py 'd["Account"]')" = 111111111111 ] && pass "caller is the management account" || fail "caller is the management account"
check "organizations describe-organization" A organizations describe-organization
[ "$(jq_py 'd["Organization"]["MasterAccountId"]')" = 111111111111 ] && pass "org management id" || fail "org management id"
check "organizations list-accounts paginated (page size 1)" A organizations list-accounts --page-size 1
[ "$(jq_py 'len(d["Accounts"])')" = 4 ] && pass "list-accounts returns all 4 accounts" || fail "list-accounts returns all 4 accounts"
check "sts assume-role into a member" A sts assume-role --role-arn arn:aws:iam::333333333333:role/OrganizationAccountAccessRole --role-session-name trailkeep-test
AK=$(jq_py 'd["Credentials"]["AccessKeyId"]'); SK=$(jq_py 'd["Credentials"]["SecretAccessKey"]'); ST=$(jq_py 'd["Credentials"]["SessionToken"]')
check "assumed-role credentials work" env AWS_ACCESS_KEY_ID="$AK" AWS_SECRET_ACCESS_KEY="$SK" AWS_SESSION_TOKEN="$ST" aws --endpoint-url "$FAKEAWS_URL" sts get-caller-identity
grep -q 'assumed-role/OrganizationAccountAccessRole/trailkeep-test' "$W/out" && pass "assumed-role ARN" || fail "assumed-role ARN"

# --- signature and credential errors ---
expect_err "wrong secret -> SignatureDoesNotMatch (query)" SignatureDoesNotMatch env AWS_SECRET_ACCESS_KEY=wrongwrongwrong aws --endpoint-url "$FAKEAWS_URL" sts get-caller-identity
expect_err "wrong secret -> SignatureDoesNotMatch (S3)" SignatureDoesNotMatch env AWS_SECRET_ACCESS_KEY=wrongwrongwrong aws --endpoint-url "$FAKEAWS_URL" s3api list-buckets
expect_err "wrong secret -> InvalidSignatureException (JSON)" InvalidSignatureException env AWS_SECRET_ACCESS_KEY=wrongwrongwrong aws --endpoint-url "$FAKEAWS_URL" kms list-keys
expect_err "unknown key -> InvalidAccessKeyId (S3)" InvalidAccessKeyId env AWS_ACCESS_KEY_ID=AKIAUNKNOWNUNKNOWN00 aws --endpoint-url "$FAKEAWS_URL" s3api list-buckets
expect_err "unknown key -> UnrecognizedClientException (JSON)" UnrecognizedClientException env AWS_ACCESS_KEY_ID=AKIAUNKNOWNUNKNOWN00 aws --endpoint-url "$FAKEAWS_URL" organizations describe-organization
expect_err "unknown key -> InvalidClientTokenId (STS)" InvalidClientTokenId env AWS_ACCESS_KEY_ID=AKIAUNKNOWNUNKNOWN00 aws --endpoint-url "$FAKEAWS_URL" sts get-caller-identity
fakeaws_post create_access_key '{"account":"111111111111","expires_in":-60}' >"$W/exp.json"
EAK=$("$PYTHON" -c "import json; print(json.load(open('$W/exp.json'))['access_key_id'])")
ESK=$("$PYTHON" -c "import json; print(json.load(open('$W/exp.json'))['secret_access_key'])")
EST=$("$PYTHON" -c "import json; print(json.load(open('$W/exp.json'))['session_token'])")
expect_err "expired token -> ExpiredToken (S3)" ExpiredToken env AWS_ACCESS_KEY_ID="$EAK" AWS_SECRET_ACCESS_KEY="$ESK" AWS_SESSION_TOKEN="$EST" aws --endpoint-url "$FAKEAWS_URL" s3api list-buckets
expect_err "expired token -> ExpiredTokenException (JSON)" ExpiredTokenException env AWS_ACCESS_KEY_ID="$EAK" AWS_SECRET_ACCESS_KEY="$ESK" AWS_SESSION_TOKEN="$EST" aws --endpoint-url "$FAKEAWS_URL" kms list-keys
fakeaws_post set_auth_clock '{"time":"2020-01-01T00:00:00Z"}' >/dev/null
expect_err "clock skew -> RequestTimeTooSkewed (S3)" RequestTimeTooSkewed A s3api list-buckets
fakeaws_post set_auth_clock '{"time":null}' >/dev/null

M3=$(fakeaws_env 333333333333 | sed -n 's/^export //p')
# --- KMS ---
check "kms create-key" A kms create-key --description "trailkeep test"
KID=$(jq_py 'd["KeyMetadata"]["KeyId"]'); KARN=$(jq_py 'd["KeyMetadata"]["Arn"]')
check "kms describe-key" A kms describe-key --key-id "$KID"
[ "$(jq_py 'd["KeyMetadata"]["KeyState"]')" = Enabled ] && pass "key is Enabled" || fail "key is Enabled"
cat >"$W/kp.json" <<EOF
{"Version":"2012-10-17","Statement":[
 {"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*"},
 {"Sid":"CT","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"kms:GenerateDataKey*","Resource":"*",
  "Condition":{"StringLike":{"kms:EncryptionContext:aws:cloudtrail:arn":"arn:aws:cloudtrail:*:111111111111:trail/*"}}}]}
EOF
check "kms put-key-policy" A kms put-key-policy --key-id "$KID" --policy-name default --policy "file://$W/kp.json"
check "kms get-key-policy" A kms get-key-policy --key-id "$KID" --policy-name default
jq_py 'json.loads(d["Policy"])["Statement"][1]["Sid"]' | grep -q CT && pass "key policy round-trips" || fail "key policy round-trips"

# --- bookkeeping ---
fakeaws_post stats '{}' >"$W/out"
[ "$(jq_py 'd["per_op"].get("kms:PutKeyPolicy", 0)')" -ge 1 ] && pass "stats counts calls" || fail "stats counts calls"
fakeaws_post list_events '{}' >"$W/out"
jq_py '[e["eventName"] for e in d["events"]]' | grep -q "'PutKeyPolicy'" && pass "management events recorded" || fail "management events recorded"
grep -qF -- "$SK" "$W/out" && fail "no secret in recorded events" || pass "no secret in recorded events"
grep -q "Traceback" "$FAKEAWS_DIR/stderr" && { fail "server raised no exception"; sed 's/^/    /' "$FAKEAWS_DIR/stderr" | tail -20; } || pass "server raised no exception"
exit $failed
