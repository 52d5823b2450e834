# Shell helpers for the fake AWS.  Source it:  . "$TOP/tests/fakeaws/fakeaws.sh"
#   fakeaws_start [server args...]  starts the server (port 0), exports FAKEAWS_URL,
#                                   FAKEAWS_PORT, FAKEAWS_PID; seeds an organization
#                                   unless FAKEAWS_NO_SEED=1 (FAKEAWS_MEMBERS members,
#                                   default 2), saves the seed JSON in $FAKEAWS_SEED
#                                   and exports AWS_* credentials of the management
#                                   account (AWS_ENDPOINT_URL too).
#   fakeaws_post NAME [JSON]        POST /_fake/NAME, prints the JSON answer
#   fakeaws_env ACCOUNT_ID          prints `export AWS_...` lines for that account
#   fakeaws_stop                    stops the server
#   fakeaws_cli_setup TAG           the prologue of the awscli conformance scripts:
#                                   needs aws, makes a work dir $W (mktemp TAG), starts
#                                   the fake (seed 7, stopped and $W removed at exit),
#                                   points awscli at it and defines A (aws on the fake),
#                                   pass/fail/check/expect_err/jq_py and failed=0;
#                                   exits 1 (with a FAIL: line) when it cannot
# Needs TOP (the checkout) or runs from it; PYTHON defaults to /usr/bin/python3.

fakeaws_start() {
	_fa_top=${TOP:-$(pwd)}
	_fa_py=${PYTHON:-/usr/bin/python3}
	_fa_dir=$(mktemp -d "${TMPDIR:-/tmp}/fakeaws.XXXXXX") || return 1
	FAKEAWS_DIR=$_fa_dir
	(cd "$_fa_top" && exec "$_fa_py" -m tests.fakeaws --port 0 "$@" >"$_fa_dir/stdout" 2>"$_fa_dir/stderr") &
	FAKEAWS_PID=$!
	_fa_i=0
	FAKEAWS_PORT=
	while [ $_fa_i -lt 200 ]; do
		FAKEAWS_PORT=$(sed -n 's/^PORT=//p' "$_fa_dir/stdout" 2>/dev/null)
		[ -n "$FAKEAWS_PORT" ] && break
		kill -0 "$FAKEAWS_PID" 2>/dev/null || break
		sleep 0.05; _fa_i=$((_fa_i + 1))
	done
	if [ -z "$FAKEAWS_PORT" ]; then
		echo "fakeaws: server did not start" >&2; cat "$_fa_dir/stderr" >&2; return 1
	fi
	FAKEAWS_URL="http://127.0.0.1:$FAKEAWS_PORT"
	export FAKEAWS_URL FAKEAWS_PORT FAKEAWS_PID FAKEAWS_DIR
	if [ "${FAKEAWS_NO_SEED:-0}" != 1 ]; then
		FAKEAWS_SEED="$_fa_dir/seed.json"
		fakeaws_post seed_org "{\"members\": ${FAKEAWS_MEMBERS:-2}}" >"$FAKEAWS_SEED" || return 1
		export FAKEAWS_SEED
		eval "$(fakeaws_env 111111111111)"
	fi
}

fakeaws_post() {
	_fa_body=${2:-}
	[ -n "$_fa_body" ] || _fa_body='{}'
	curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' \
		--data "$_fa_body" "$FAKEAWS_URL/_fake/$1"
}

fakeaws_env() {
	"${PYTHON:-/usr/bin/python3}" - "$FAKEAWS_SEED" "$1" "$FAKEAWS_URL" <<'PYEOF'
import json, os, shlex, sys
seed, acct, url = sys.argv[1], sys.argv[2], sys.argv[3]
for a in json.load(open(seed))["accounts"]:
    if a["id"] == acct:
        print("export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_ENDPOINT_URL=%s "
              "AWS_DEFAULT_REGION=%s AWS_EC2_METADATA_DISABLED=true"
              % (shlex.quote(a["access_key_id"]), shlex.quote(a["secret_access_key"]), shlex.quote(url),
                 shlex.quote(os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")))
        print("unset AWS_SESSION_TOKEN")
        break
else:
    sys.exit("fakeaws_env: no account %s" % acct)
PYEOF
}

fakeaws_stop() {
	if [ -n "${FAKEAWS_PID:-}" ]; then
		kill "$FAKEAWS_PID" 2>/dev/null
		wait "$FAKEAWS_PID" 2>/dev/null
	fi
	[ -n "${FAKEAWS_DIR:-}" ] && rm -rf "$FAKEAWS_DIR"
	FAKEAWS_PID=
}

fakeaws_cli_setup() {
	PYTHON=${PYTHON:-/usr/bin/python3}
	export TOP PYTHON
	command -v aws >/dev/null 2>&1 || { echo "FAIL: awscli (aws) not installed"; exit 1; }
	W=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	trap 'fakeaws_stop; rm -rf "$W"' EXIT INT TERM
	export HOME="$W" AWS_CONFIG_FILE="$W/config" AWS_SHARED_CREDENTIALS_FILE="$W/credentials"
	export AWS_DEFAULT_REGION=us-east-1 AWS_PAGER="" AWS_MAX_ATTEMPTS=1 AWS_RETRY_MODE=standard
	fakeaws_start --seed 7 || { echo "FAIL: fake AWS starts"; exit 1; }
	failed=0
	A() { aws --endpoint-url "$FAKEAWS_URL" --output json "$@"; }
	pass() { echo "PASS: $1"; }
	fail() { echo "FAIL: $1"; failed=1; }
	# check NAME CMD...: command succeeds
	check() { n=$1; shift; if "$@" >"$W/out" 2>"$W/err"; then pass "$n"; else fail "$n"; sed 's/^/    /' "$W/err" | head -5; fi; }
	# expect_err NAME CODE CMD...: command fails with error CODE
	expect_err() {
		n=$1; c=$2; shift 2
		if "$@" >"$W/out" 2>"$W/err"; then fail "$n (succeeded)"; return; fi
		if grep -q "($c)" "$W/err"; then pass "$n"; else fail "$n (wanted $c)"; sed 's/^/    /' "$W/err" | head -3; fi
	}
	jq_py() { "$PYTHON" -c "import json,sys; d=json.load(open('$W/out')); print($1)"; }
}
