#!/bin/sh
# bench/run.sh: every benchmark under bench/, printing measured numbers and
# ratios against the reference each one names.  Not part of `make test`.
# BENCH=pattern runs a subset.
set -u
BUILD=${BUILD:-build/default}
PYTHON=${PYTHON:-/usr/bin/python3}
TOP=$(pwd)
export TOP BUILD PYTHON
export PATH="$TOP/$BUILD:$PATH"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m), $(date -u +%Y-%m-%d)"
rc=0
for b in bench/*.sh bench/*.py "$BUILD"/bench/*; do
	[ -f "$b" ] || continue
	# not benchmarks: the replay server, the world generator, helper modules
	case "$b" in bench/run.sh|*.o|*.d|*/replay_server|bench/gen_world.py|*lib.py) continue;; esac
	[ -n "${BENCH:-}" ] && case "$b" in *$BENCH*) ;; *) continue;; esac
	echo "== $b"
	case "$b" in
	*.sh) sh "$b" || rc=1 ;;
	*.py) "$PYTHON" "$b" || rc=1 ;;
	*) "$b" || rc=1 ;;
	esac
done
exit $rc
