#!/bin/sh
# policy_agree.sh: the fake AWS's policy evaluator (tests/fakeaws/policy.py)
# decides every case of tests/policy_cases.json as the table expects.  The C
# evaluator is held to the same expectations by tests/unit/test_policy.c, so
# the two evaluators agree on every case.
#
# Agreed interface: `python3 -m tests.fakeaws.policy CASES.json` prints one
# decision (Allow|Deny|Implicit) per case, in order.
# Prints "PASS: ..." once, or "FAIL: ..." per disagreeing case; exits non-zero
# on any failure.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
PYTHON=${PYTHON:-/usr/bin/python3}
cases="$TOP/tests/policy_cases.json"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/policy-agree.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ ! -f "$TOP/tests/fakeaws/policy.py" ]; then
	echo "FAIL: policy agreement: tests/fakeaws/policy.py does not exist (the fake AWS evaluator is not written yet)"
	exit 1
fi
if [ ! -f "$cases" ]; then
	echo "FAIL: policy agreement: '$cases' does not exist"
	exit 1
fi

(cd "$TOP" && "$PYTHON" -m tests.fakeaws.policy "$cases") >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -ne 0 ]; then
	echo "FAIL: policy agreement: '$PYTHON -m tests.fakeaws.policy' exited $rc"
	sed 's/^/    /' "$tmp/err" | tail -n 20
	exit 1
fi

"$PYTHON" - "$cases" "$tmp/out" <<'EOF'
import json
import sys

cases = json.load(open(sys.argv[1]))
got = open(sys.argv[2]).read().split("\n")
if got and got[-1] == "":
    got.pop()
bad = 0
if len(got) != len(cases):
    print("FAIL: policy agreement: the fake AWS printed %d decisions for %d cases "
          "(expected one line per case: Allow|Deny|Implicit)" % (len(got), len(cases)))
    sys.exit(1)
for case, line in zip(cases, got):
    line = line.strip()
    if line not in ("Allow", "Deny", "Implicit"):
        print("FAIL: policy agreement: case '%s': fake AWS printed %r, not Allow|Deny|Implicit"
              % (case["name"], line))
        bad += 1
    elif line != case["expect"]:
        print("FAIL: policy agreement: case '%s': fake AWS says %s, the table (and the C "
              "evaluator) says %s" % (case["name"], line, case["expect"]))
        bad += 1
if bad:
    sys.exit(1)
print("PASS: fake AWS policy evaluator agrees with all %d cases of tests/policy_cases.json"
      % len(cases))
EOF
