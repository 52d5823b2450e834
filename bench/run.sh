#!/bin/sh
# bench/run.sh: every benchmark under bench/, printing measured numbers and
# ratios against the reference each one names.  Not part of `make test`.
# BENCH=pattern runs a subset.  Generated replay worlds are cached in
# $BUILD/bench/worlds (remove it after changing bench/gen_world.py).
set -u
BUILD=${BUILD:-build/default}
PYTHON=${PYTHON:-/usr/bin/python3}
TOP=$(pwd)
# the replay benchmarks (bench/replay_*) run scaled down here; BENCH_SMALL=0
# gives their full figures (the README's Performance section)
BENCH_SMALL=${BENCH_SMALL:-1}
export TOP BUILD PYTHON BENCH_SMALL
export PATH="$TOP/$BUILD:$PATH"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m), $(date -u +%Y-%m-%d)"
rc=0
for b in bench/replay_selftest.py bench/*.sh bench/*.py "$BUILD"/bench/*; do
	[ -f "$b" ] || continue
	# not benchmarks: the replay server, the world generator, helper modules
	case "$b" in bench/run.sh|*.o|*.d|*/replay_server|bench/gen_world.py|*lib.py) continue;; esac
	# the replay server's self-check runs first, once
	case "$b" in bench/replay_selftest.py) [ -n "${selftest_done:-}" ] && continue; selftest_done=1;; esac
	[ -n "${BENCH:-}" ] && case "$b" in *$BENCH*) ;; *) continue;; esac
	# the earlier benchmarks of integrity, --state and doctor run against the
	# Python fake AWS, which is their ceiling (issue 17): the replay_* ones
	# replace them; BENCH_FAKEAWS=1 (or naming one in BENCH) runs them too
	if [ -z "${BENCH:-}" ] && [ "${BENCH_FAKEAWS:-0}" != 1 ]; then
		case "$b" in bench/validate.py|bench/verify_state.py|bench/doctor.sh|bench/fakeaws_*) continue;; esac
	fi
	echo "== $b"
	case "$b" in
	*.sh) sh "$b" || rc=1 ;;
	*.py) "$PYTHON" "$b" || rc=1 ;;
	*) "$b" || rc=1 ;;
	esac
done
exit $rc
