#!/bin/sh
# tests/fuzz/run.sh: behind `make fuzz`.  Runs each libFuzzer binary in
# $BUILD/lf/ for $FUZZ_TIME seconds (default 60).  The working corpus lives in
# $BUILD/lf-corpus/NAME/ (kept between runs, seeded from
# tests/fuzz/corpus/NAME/, which it never floods); a finding (a crash, leak,
# timeout or out-of-memory input) is copied into tests/fuzz/corpus/NAME/ as
# crash-*/leak-*/timeout-*/oom-*, so the corpus replay of `make test` fails
# until it is fixed, and this run fails.
set -u
BUILD=${BUILD:-build/libfuzzer}
FUZZ_TIME=${FUZZ_TIME:-60}
fail=0
for t in "$BUILD"/lf/fuzz_*; do
	[ -x "$t" ] || continue
	case "$t" in *.d|*.o) continue;; esac
	n=$(basename "$t"); name=${n#fuzz_}
	seeds="tests/fuzz/corpus/$name"
	work="$BUILD/lf-corpus/$name"; art="$BUILD/lf-artifacts/$name/"
	rm -rf "$art"; mkdir -p "$work" "$art" "$seeds"
	before=$(ls "$work" | wc -l)
	echo "fuzz $name: ${FUZZ_TIME}s, corpus $work ($before inputs) + seeds $seeds"
	"$t" -max_total_time="$FUZZ_TIME" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$art" "$work" "$seeds" >"$BUILD/lf-$name.log" 2>&1
	rc=$?
	grep -E '^stat::(number_of_executed_units|new_units_added)' "$BUILD/lf-$name.log" | sed 's/^/    /'
	found=""
	for a in "$art"*; do
		[ -f "$a" ] || continue
		cp "$a" "$seeds/" && found="$found $seeds/$(basename "$a")"
	done
	echo "    corpus: $before -> $(ls "$work" | wc -l) inputs"
	if [ $rc -ne 0 ] || [ -n "$found" ]; then
		fail=1
		echo "FAIL fuzz $name (exit $rc), kept:$found"
		grep -E 'ERROR: |runtime error:|SUMMARY:' "$BUILD/lf-$name.log" | head -n 10 | sed 's/^/    /'
		echo "    log: $BUILD/lf-$name.log"
	fi
	rm -rf "$art"
done
[ $fail -eq 0 ] && echo "fuzz: no finding"
exit $fail
