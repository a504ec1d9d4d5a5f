# SPDX-License-Identifier: MIT
# testlib.sh - the counters and verdict helpers of the shell test scripts,
# sourced by tests/cli_test.sh, tests/deb_test.sh, tests/lab/cli_lab_test.sh
# and tests/exim/exim_test.sh.
#   ok / bad MESSAGE      count a passed or failed check
#   check NAME 'EXPR'     eval EXPR; ok when it succeeds, bad NAME otherwise
#   finish NAME           print "NAME: N checks, M failed"; status 0 when none failed
fail=0
count=0
ok() { count=$((count + 1)); }
bad() { count=$((count + 1)); fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$2"; then ok; else bad "$1"; fi; }
finish() {
    echo "$1: $count checks, $fail failed"
    [ "$fail" = 0 ]
}
