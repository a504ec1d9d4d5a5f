#!/bin/sh
# SPDX-License-Identifier: MIT
# cli_lab_test.sh - `danesmtp lookup` and `danesmtp check` against the lab:
# exit codes, the posttls-finger style lines, and JSON that parses.
#   sh tests/lab/cli_lab_test.sh build/danesmtp LAB_STATE   (LD_LIBRARY_PATH set)
set -u
CLI=$1
LAB=$2
. "$LAB/lab.env"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/../testlib.sh"
STUBS=""
while read -r zone addr; do STUBS="$STUBS --stub $zone=$addr"; done < "$LAB/stubs"
# shellcheck disable=SC2086
run() { # WANT_EXIT NAME -- args...: stdout in $T/out
    want=$1; name=$2; shift 3
    "$CLI" "$@" --trust-anchor "$LAB/trust-anchor" --no-root-anchor $STUBS --timeout 3000 >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" = "$want" ]; then ok; else bad "$name: exit $got, wanted $want: $(cat "$T/out" "$T/err")"; fi
}
has() { if grep -qF -- "$1" "$T/out"; then ok; else bad "$2: output lacks '$1': $(cat "$T/out")"; fi; }
json() { if python3 -c 'import json,sys; json.load(sys.stdin)' < "$T/out"; then ok; else bad "$1: JSON does not parse"; fi; }

P="--port $LAB_SMTP_PORT"
# shellcheck disable=SC2086
{
run 0 "check verified" -- check ee.dane.test $P
has "mx.ee.dane.test[$LAB_HOST_mx_ee]:$LAB_SMTP_PORT Verified TLSv1." "check verified"
run 0 "check trusted" -- check insecmx.insecure.test $P
has " Trusted " "check trusted"
run 3 "check mismatch" -- check nomatch.dane.test $P
has "Untrusted" "check mismatch"
has "[FAIL]" "check mismatch"
run 1 "check bogus first MX" -- check prefbogus.dane.test $P
has "Unreachable: TLSA lookup" "check bogus first MX"
run 3 "check STARTTLS stripped" -- check nostarttls.dane.test $P
has "STARTTLS not offered" "check STARTTLS stripped"
run 4 "check null MX" -- check nullmx.dane.test $P
run 0 "check unusable" -- check unusable.dane.test $P
has "TLS without authentication" "check unusable"
run 0 "check json" -- check ee.dane.test $P --json
json "check json"
has '"result":"Verified"' "check json"
run 3 "lookup bogus MX" -- lookup bogus.test $P
has "defer (MX lookup bogus" "lookup bogus MX"
run 0 "lookup json" -- lookup cname.dane.test $P --json
json "lookup json"
has '"tlsa_base":"mx-real.cname.dane.test"' "lookup json"
run 0 "lookup one host" -- lookup "mx.ee.dane.test:$LAB_SMTP_PORT"
has "dane:" "lookup one host"
run 3 "lookup mandatory" -- lookup notlsa.dane.test $P --mandatory notlsa.dane.test
run 2 "lookup bad domain" -- lookup "bad..name" $P
run 2 "lookup bad stub" -- lookup ee.dane.test $P --stub nonsense
run 2 "lookup port twice" -- lookup "mx.ee.dane.test:25" --port 25
# The answer cache: lookup says which one it used; --no-cache and check do
# not use it (the file is never created by them).
mkdir -m 700 "$T/c1" "$T/c2"
printf 'cache = %s/c1/answers.mdb\n' "$T" > "$T/cache.conf"
run 0 "lookup with a cache" -- lookup ee.dane.test $P --conf "$T/cache.conf"
has "answer cache: $T/c1/answers.mdb" "lookup with a cache"
printf 'cache = %s/c2/answers.mdb\n' "$T" > "$T/cache2.conf"
run 0 "lookup --no-cache" -- lookup ee.dane.test $P --conf "$T/cache2.conf" --no-cache
if grep -q "answer cache" "$T/out" || [ -e "$T/c2/answers.mdb" ]; then bad "lookup --no-cache used the cache"; else ok; fi
run 0 "check without the cache" -- check ee.dane.test $P --conf "$T/cache2.conf"
if [ -e "$T/c2/answers.mdb" ]; then bad "check used the cache"; else ok; fi
chmod 777 "$T/c2"
run 0 "lookup, a cache others may write" -- lookup ee.dane.test $P --conf "$T/cache2.conf"
has "answer cache not used: $T/c2 is writable by group or others" "lookup, a cache others may write"
}
finish cli_lab_test
