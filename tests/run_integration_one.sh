#!/bin/sh
# tests/run_integration_one.sh RESULTDIR SCRIPT: run one integration script for
# tests/run.sh (which runs IJOBS of these at once) and leave its outcome in
# RESULTDIR/NAME.{out,rc,secs}; prints its one progress line when it ends.
set -u
dir=$1 s=$2
name=$(basename "$s")
out="$dir/$name.out"
t0=$(date +%s.%N)
case "$s" in
*.py) timeout "${ITIMEOUT:-1200}" "$PYTHON" "$s" >"$out" 2>&1 ;;
*) timeout "${ITIMEOUT:-1200}" sh "$s" >"$out" 2>&1 ;;
esac
rc=$?
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "$rc" >"$dir/$name.rc"
echo "$secs" >"$dir/$name.secs"
p=$(grep -c '^PASS: ' "$out"); f=$(grep -c '^FAIL: ' "$out")
if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ] || [ "$p" -eq 0 ]; then
	# the FAIL lines first (a long summary must not push them out of view),
	# then the last lines of everything else
	{ echo "FAIL integration/$name (exit $rc, $secs s)"
	  grep -A6 '^FAIL: ' "$out" | head -n 60 | sed 's/^/    /'
	  echo "    ... last lines:"
	  grep -v '^PASS: ' "$out" | tail -n 20 | sed 's/^/    /'; } >"$dir/$name.line"
else
	echo "ok   integration/$name ($p checks, $secs s)" >"$dir/$name.line"
fi
cat "$dir/$name.line"
