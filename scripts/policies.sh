#!/bin/sh
# policies.sh: render every examples/NAME.ini into policies/NAME/ with `plan`.
# usage: sh scripts/policies.sh [TRAILKEEP-BINARY] [OUTPUT-ROOT]
# (run from the checkout; `make policies` calls it).  Tests call it with a
# temporary OUTPUT-ROOT and compare with policies/ to catch a stale copy.
set -eu
bin=${1:-./trailkeep}
out=${2:-policies}
mkdir -p "$out"
for ini in examples/*.ini; do
	name=$(basename "$ini" .ini)
	"$bin" -q plan "$ini" -o "$out/$name" --templates templates >/dev/null
done
# drop renderings of examples that no longer exist
for d in "$out"/*/; do
	[ -d "$d" ] || continue
	name=$(basename "$d")
	[ -f "examples/$name.ini" ] || rm -rf "$d"
done
