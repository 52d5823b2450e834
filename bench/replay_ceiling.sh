#!/bin/sh
# bench/replay_ceiling.sh: the replay server's ceiling in requests/s on this
# machine (issue 17), measured with wrk (Debian package `wrk`; skipped with a
# note when it is missing) at 256 connections, no added latency, 5 s each:
# GetObject of a typical log file, ListObjectsV2 of one cell's digests, a
# canned JSON answer (POST with X-Amz-Target).  The reference is the rate a
# client needs from the server at 256 in flight and 20 ms of latency:
# 256 / 0.020 s = 12,800 requests/s; the ratio says how far the ceiling is
# above it (wrk and the server share this machine's cores, so the ceiling is
# a lower bound).  Environment: BUILD, CONNS (256), SECS (5), THREADS (2).
set -u
BUILD=${BUILD:-build/default}
PYTHON=${PYTHON:-/usr/bin/python3}
CONNS=${CONNS:-256}
SECS=${SECS:-5}
THREADS=${THREADS:-2}
SRV="$BUILD/bench/replay_server"
W="$BUILD/bench/worlds/ceiling"
echo "machine: $(nproc) cores (nproc), $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), load average $(cut -d' ' -f1 /proc/loadavg) at start"
if ! command -v wrk >/dev/null 2>&1; then
	echo "wrk is not installed (apt-get install wrk): the replay server's ceiling is not measured"
	exit 0
fi
[ -x "$SRV" ] || { echo "no $SRV (make bench builds it)"; exit 1; }
if [ ! -f "$W/world.json" ]; then
	"$PYTHON" bench/gen_world.py --out "$W" --accounts 10 --regions 3 --hours 24 >/dev/null || exit 1
fi
out=$(mktemp)
"$SRV" --world "$W" --threads "$THREADS" >"$out" 2>/dev/null &
pid=$!
i=0
while ! grep -q PORT= "$out" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
port=$(sed -n 's/PORT=//p' "$out")
url="http://127.0.0.1:$port"
log=$(awk -F'\t' '$1 ~ /\/CloudTrail\/us-east-1\// && $2 > 4000 {print $1 " " $2; exit}' "$W/objects.idx")
key=${log% *}
size=${log#* }
pfx=$(echo "$key" | sed 's,/CloudTrail/.*,/CloudTrail-Digest/us-east-1/,; s,/,%2F,g')
lua=$(mktemp --suffix=.lua)
cat >"$lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"Name":"arn:aws:cloudtrail:us-east-1:111111111111:trail/org-trail"}'
wrk.headers["X-Amz-Target"] = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.GetTrailStatus"
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
LUA
need=12800
rc=0
run() {
	label=$1
	shift
	r=$(wrk -t "$THREADS" -c "$CONNS" -d "${SECS}s" "$@" 2>&1 | awk '/Requests\/sec/ {print $2}
		/Non-2xx/ {print "ERR"}')
	case "$r" in
	*ERR*|"") echo "$label: FAILED ($r)"; rc=1 ;;
	*) awk -v l="$label" -v r="$r" -v n=$need 'BEGIN {printf "%-52s %8.0f requests/s  %.1fx the 12,800/s that 256 in flight at 20 ms need\n", l, r, r / n}' ;;
	esac
}
run "GetObject of a $size-byte log file" "$url/org-trail-logs/$key"
run "ListObjectsV2 of one cell's 24 digests" "$url/org-trail-logs?list-type=2&prefix=$pfx"
run "canned JSON (GetTrailStatus)" -s "$lua" "$url/"
echo "settings: wrk -t $THREADS -c $CONNS -d ${SECS}s, replay server --threads $THREADS, no added latency"
kill "$pid"
wait "$pid" 2>/dev/null
rm -f "$out" "$lua"
exit $rc
