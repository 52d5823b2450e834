#!/bin/sh
# tests/run.sh: the one test runner behind `make test`.
#   1. unit tests (cmocka binaries in $BUILD/tests/)
#   2. CLI cases (tests/cases/NNNN-name/)
#   3. fuzz corpus replay ($BUILD/fuzz/ over tests/fuzz/corpus/NAME/)
#   4. integration tests against the local fake AWS (tests/integration/*.sh|*.py)
# Every test counts once; a crash, a sanitizer report or a wrong exit code is a
# failure.  Ends with "N passed, N failed" and exits non-zero on any failure.
# TESTS=pattern limits what runs (matched against the test name).
# Progress: each group prints "== GROUP" when its first test starts and
# "== GROUP: N run, N passed, N failed, S s" at its end; each integration
# script prints one line with its checks and seconds when it ends.
# VERBOSE=1 also lists every passing unit test and case.
set -u
BUILD=${BUILD:-build/default}
PYTHON=${PYTHON:-/usr/bin/python3}
TOP=$(pwd)
export TOP BUILD PYTHON
export TRAILKEEP="$TOP/$BUILD/trailkeep"
export TRAILKEEP_BIN="$TRAILKEEP"
export PATH="$TOP/$BUILD:$PATH"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=98}
# never let a developer's real AWS setup leak into a test
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN \
      AWS_ENDPOINT_URL AWS_REGION AWS_DEFAULT_REGION AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
export AWS_EC2_METADATA_DISABLED=true
TMPROOT=$(mktemp -d "${TMPDIR:-/tmp}/trailkeep-test.XXXXXX")
trap 'rm -rf "$TMPROOT"' EXIT INT TERM
export TMPROOT
pass=0
fail=0
failed_names=""
want() { [ -z "${TESTS:-}" ] && return 0; case "$1" in *$TESTS*) return 0;; esac; return 1; }
ok() { pass=$((pass + 1)); [ -n "${VERBOSE:-}" ] && echo "ok   $1"; return 0; }
bad() { fail=$((fail + 1)); failed_names="$failed_names $1"; echo "FAIL $1"; }
sanitizer_report() { grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$1"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# group progress: a header when the group's first selected test starts, a
# summary with the group's counts and seconds when it ends
g_t0=""
group_test() {
	if [ -z "$g_t0" ]; then
		g_t0=$(now); g_pass0=$pass; g_fail0=$fail; g_n=0
		echo "== $1"
	fi
	g_n=$((g_n + 1))
}
group_end() {
	[ -n "$g_t0" ] && echo "== $1: $g_n run, $((pass - g_pass0)) passed, $((fail - g_fail0)) failed, $(secs "$g_t0") s"
	g_t0=""
}
t_all=$(now)

# 1. unit tests: cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)"
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *.o|*.d) continue;; esac
	name="unit/$(basename "$t")"
	want "$name" || continue
	group_test "unit tests"
	out="$TMPROOT/unit.out"
	(cd "$TOP" && CMOCKA_MESSAGE_OUTPUT=stdout "$t") >"$out" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n1)
	p=${p:-0}; f=${f:-0}
	pass=$((pass + p))
	if [ "$f" -gt 0 ] || [ $rc -ne 0 ] || sanitizer_report "$out"; then
		[ "$f" -eq 0 ] && f=1
		fail=$((fail + f)); failed_names="$failed_names $name"
		echo "FAIL $name (exit $rc)"; sed 's/^/    /' "$out" | grep -v '^    \[ *\(RUN\|OK\) ' | tail -n 40
	elif [ -n "${VERBOSE:-}" ]; then
		echo "ok   $name ($p)"
	fi
done
group_end "unit tests"

# 2. CLI cases: tests/cases/NAME/cmd is run by sh in a copy of the case
#    directory; expect.exit (default 0), expect.stdout, expect.stderr compared
#    exactly when present; expect.stdout.grep / expect.stderr.grep: each line a
#    fixed string that must occur.  A case with neither expect.stdout nor
#    expect.stdout.grep fails when it writes anything to stdout (an echoed
#    complaint cannot pass).  @TOP@ in cmd is the checkout.
for d in tests/cases/*/; do
	[ -f "$d/cmd" ] || continue
	name="case/$(basename "$d")"
	want "$name" || continue
	group_test "CLI cases"
	w="$TMPROOT/case"; rm -rf "$w"; mkdir -p "$w"; cp -R "$d". "$w/"
	(cd "$w" && TOP="$TOP" sh ./cmd >actual.stdout 2>actual.stderr); rc=$?
	exp=0; [ -f "$d/expect.exit" ] && exp=$(cat "$d/expect.exit")
	why=""
	[ "$rc" = "$exp" ] || why="exit $rc, expected $exp"
	for s in stdout stderr; do
		if [ -f "$d/expect.$s" ] && ! cmp -s "$d/expect.$s" "$w/actual.$s"; then
			why="$why; $s differs"; diff -u "$d/expect.$s" "$w/actual.$s" | head -n 30 | sed 's/^/    /'
		fi
		if [ -f "$d/expect.$s.grep" ]; then
			while IFS= read -r line; do
				[ -z "$line" ] && continue
				grep -qF -- "$line" "$w/actual.$s" || why="$why; $s lacks '$line'"
			done < "$d/expect.$s.grep"
		fi
	done
	# a case with no expectation on stdout must print nothing there: an
	# echoed complaint ("not deterministic") can never pass silently
	if [ ! -f "$d/expect.stdout" ] && [ ! -f "$d/expect.stdout.grep" ] && [ -s "$w/actual.stdout" ]; then
		why="$why; unexpected stdout (the case has no expect.stdout)"
		sed 's/^/    stdout: /' "$w/actual.stdout" | head -n 10
	fi
	sanitizer_report "$w/actual.stderr" && why="$why; sanitizer report"
	if [ -z "$why" ]; then ok "$name"; else
		bad "$name"; echo "    $why"; sed 's/^/    stderr: /' "$w/actual.stderr" | head -n 10
	fi
done
group_end "CLI cases"

# 3. fuzz corpus replay
for t in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t"); name="fuzz/$n"
	want "$name" || continue
	group_test "fuzz corpus replay"
	c="tests/fuzz/corpus/${n#fuzz_}"
	[ -d "$c" ] || { bad "$name"; echo "    no corpus $c"; continue; }
	if "$t" "$c"/* >"$TMPROOT/fuzz.out" 2>&1 && ! sanitizer_report "$TMPROOT/fuzz.out"; then ok "$name"
	else bad "$name"; tail -n 20 "$TMPROOT/fuzz.out" | sed 's/^/    /'; fi
done
group_end "fuzz corpus replay"

# 4. integration tests: each script prints "PASS: what" / "FAIL: what" lines;
#    a non-zero exit with no FAIL line counts as one failure.  They are
#    independent (each starts its own fake AWS on a free port, its own
#    temporary directories), so IJOBS of them run at once (default 2; the
#    longest first); each prints its line when it ends, and the counts are
#    added up in name order afterwards.
IJOBS=${IJOBS:-2}
HERE=$(cd "$(dirname "$0")" && pwd)
: >"$TMPROOT/integ.list"
for s in tests/integration/matrix.py tests/integration/doctor_fake.py tests/integration/fail_closed.py \
	 tests/integration/*.sh tests/integration/*.py; do
	[ -f "$s" ] || continue
	want "integration/$(basename "$s")" || continue
	grep -qxF "$s" "$TMPROOT/integ.list" || echo "$s" >>"$TMPROOT/integ.list"
done
n_int=$(grep -c . "$TMPROOT/integ.list")
if [ "$n_int" -gt 0 ]; then
	group_test "integration tests ($n_int scripts against the local fake AWS, $IJOBS at a time)"
	g_n=$n_int
	mkdir -p "$TMPROOT/integ"
	xargs -P "$IJOBS" -n 1 sh "$HERE/run_integration_one.sh" "$TMPROOT/integ" <"$TMPROOT/integ.list" ||
		true
	for s in $(sort "$TMPROOT/integ.list"); do
		name=$(basename "$s")
		out="$TMPROOT/integ/$name.out"
		rc=$(cat "$TMPROOT/integ/$name.rc" 2>/dev/null || echo 99)
		p=$(grep -c '^PASS: ' "$out" 2>/dev/null); f=$(grep -c '^FAIL: ' "$out" 2>/dev/null)
		p=${p:-0}; f=${f:-0}
		pass=$((pass + p))
		if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ] || [ "$p" -eq 0 ]; then
			[ "$f" -eq 0 ] && f=1
			fail=$((fail + f)); failed_names="$failed_names integration/$name"
		fi
	done
fi
group_end "integration tests"

[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "total: $(secs "$t_all") s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
