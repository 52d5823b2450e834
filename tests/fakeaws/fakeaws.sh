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
