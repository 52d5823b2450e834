#!/bin/sh
# tests/docs_codes.sh FINDINGS_C DOCTOR_C DOC...: every finding code of
# src/checks/findings.c and every doctor cause of src/checks/doctor_causes.c must appear as `code`
# in each DOC (docs/findings.md, README.md); and in each DOC but README.md
# (whose tables also list config keys), every `code` in the first column of a
# table row must be one of them (no stale code).  Prints what is wrong on stderr, exits 1 then.
set -u
[ $# -ge 3 ] || { echo "usage: $0 FINDINGS_C DOCTOR_C DOC..." >&2; exit 2; }
fc=$1 dc=$2; shift 2
codes=$( { sed -n 's/^[[:space:]]*\[F_[A-Z_]*\] = { "\([a-z_]*\)".*/\1/p' "$fc"
	   sed -n 's/^[[:space:]]*\[DC_[A-Z_]*\] = { "\([a-z_][a-z_]*\)".*/\1/p' "$dc"; } | sort -u)
n=$(printf '%s\n' "$codes" | grep -c .)
# the tables must not have shrunk to nothing (a changed table layout would)
[ "$n" -ge 40 ] || { echo "docs_codes: only $n codes extracted from $fc and $dc" >&2; exit 1; }
rc=0
for doc in "$@"; do
	for c in $codes; do
		grep -q "\`$c\`" "$doc" || { echo "docs_codes: $doc does not name \`$c\`" >&2; rc=1; }
	done
	case $doc in
	*README.md) ;;
	*)
		for c in $(sed -n 's/^| `\([a-z_]*\)` |.*/\1/p' "$doc"); do
			printf '%s\n' "$codes" | grep -qx "$c" ||
				{ echo "docs_codes: $doc names \`$c\`, which is no code" >&2; rc=1; }
		done ;;
	esac
done
exit $rc
