#!/bin/sh
# SPDX-License-Identifier: MIT
# cli_lab_test.sh - `danesmtp lookup` and `danesmtp check` against the lab:
# exit codes, the reports, JSON that parses, and per lab case the finding
# codes of `check --json`.
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
# check: the report a person reads, its exit status, and per lab case the
# finding codes `check --json` reports (danesmtp(1), FINDINGS). codes CASE
# EXIT "CODE..." ["CODE..."]: the check of lab case CASE exits EXIT, its
# findings include every code of the first list and none of the second.
codes() {
    id=$1; want=$2; has_codes=$3; not_codes=${4:-}
    eval "dom=\$LAB_DOMAIN_$id"
    # shellcheck disable=SC2154
    run "$want" "check $id" -- check "$dom" $P --json
    if python3 "$(dirname "$0")/check_schema.py" < "$T/out"; then ok; else bad "check $id: JSON schema"; fi
    got=$(python3 -c 'import json,sys; j=json.load(sys.stdin); assert j["schema"]=="danesmtp-check/1"; print(" ".join(sorted({f["code"] for f in j["findings"]})))' < "$T/out") \
        || { bad "check $id: JSON does not parse or has another schema"; return; }
    for c in $has_codes; do
        case " $got " in *" $c "*) ok ;; *) bad "check $id: no $c finding (got: $got)" ;; esac
    done
    for c in $not_codes; do
        case " $got " in *" $c "*) bad "check $id: unexpected $c finding (got: $got)" ;; *) ok ;; esac
    done
}
run 5 "check verified" -- check ee.dane.test $P
has "127.0.1.1: Verified TLSv1." "check verified"
has "matches TLSA [1]" "check verified"
has "WARNING single-key  mx.ee.dane.test" "check verified"
has "fix: generate the next key now" "check verified"
run 0 "check --nagios" -- check ta.dane.test $P --nagios
has "DANE OK - ta.dane.test: all 1 MX host checked, no problem | rrsig_days=" "check --nagios"
has " hosts=1 hosts_failing=0" "check --nagios"
run 2 "check --nagios mismatch" -- check nomatch.dane.test $P --nagios
has "DANE CRITICAL - nomatch.dane.test: 1 error, 1 warning (tlsa-no-match mx.nomatch.dane.test)" "check --nagios mismatch"
run 1 "check --nagios warning" -- check ee.dane.test $P --nagios --warn-days 100
has "DANE WARNING - ee.dane.test: 0 errors, 4 warnings (rrsig-expiring)" "check --nagios warning"
run 2 "check --warn-days bad" -- check ee.dane.test $P --warn-days 0
run 2 "check --json and --nagios" -- check ee.dane.test $P --json --nagios
codes ee 5 "single-key verified" "tlsa-no-match rrsig-expiring auth-failed auth-disagree"
codes ta 0 "verified" "single-key"
codes taname 1 "ta-chain-invalid tlsa-no-match"
codes nomatch 1 "tlsa-no-match" "verified"
codes unusable 5 "record-unusable no-usable-records"
codes plain 1 "host-zone-unsigned" "domain-unsigned"
codes insecmx 5 "mx-insecure verified"
codes notlsa 0 "no-tlsa"
codes bogustlsa 3 "tlsa-bogus all-hosts-unreachable" "mx-bogus mx-lookup-failed"
has 'does not verify' "check bogustlsa: the validator's reason for a person"
codes bogus 3 "mx-bogus"
has 'matches no DNSKEY of bogus.test' "check bogus: the validator's reason for a person"
codes expired 3 "mx-bogus"
has 'RRSIG of expired.test has expired' "check expired: the validator's reason for a person"
codes cname 5 "mx-cname verified"
codes prefbogus 1 "tlsa-bogus verified"
codes prefworse 5 "no-tlsa-partial verified"
codes implicit 5 "implicit-mx verified"
codes nullmx 4 "null-mx"
codes rollover 0 "next-key-published verified" "single-key"
codes agility 1 "digest-agility-trap tlsa-no-match"
codes nostarttls 1 "starttls-missing"
codes badtls 1 "handshake-failed"
codes oddcname 3 "host-name-unusable all-hosts-unreachable"
codes longmx 5 "tlsa-name-too-long" "tlsa-lookup-failed"
codes wrongowner 1 "tlsa-wrong-owner" "no-tlsa"
codes wrongport 1 "tlsa-wrong-port" "no-tlsa"
codes eeonca 1 "ee-matches-ca tlsa-no-match"
codes selswap 1 "selector-swapped tlsa-no-match" "chain-file-hashed"
codes dualkey 1 "algorithm-mismatch tlsa-no-match" "verified"
codes tanotsent 1 "ta-not-sent tlsa-no-match"
codes split 5 "auth-disagree verified" "auth-failed"
has '"via":"stub split.dane.test"' "check split"
if python3 -c 'import json,sys; j=json.load(sys.stdin); a=j["hosts"][0]["authoritative"]; assert len(a)==2 and a[0]["serial"]!=a[1]["serial"] and {len(x["records"]) for x in a}=={1,2}, a' < "$T/out"; then ok; else bad "check split: the two servers' answers: $(cat "$T/out")"; fi
codes mxliteral 3 "mx-address-literal all-hosts-unreachable"
codes plainnotls 5 "starttls-missing-may domain-unsigned" "starttls-missing"
codes pinning 5 "cert-pinning-only verified"
codes usageswap 1 "usage-swapped tlsa-no-match"
codes manytlsa 1 "too-many-records verified" "no-tlsa-partial"
codes flaky 1 "auth-failed verified" "auth-disagree"
has 'SERVFAIL' "check flaky"
if [ "${LAB_IPV6:-0}" = 1 ]; then
    codes v6 1 "family-mismatch tlsa-no-match" "verified"
    has '"address":"::1"' "check v6"
else
    echo "cli_lab_test: no IPv6 on this machine: the family-mismatch case is skipped"
fi
# check --from: many domains at once; JSON lines on stdout (one per domain,
# a check-error object for a name that cannot be checked), the summary on
# stderr; the lab's domains plus one bad name, 8 at a time.
grep '^case' "$(dirname "$0")/cases" | awk '$2 != "deadtlsa" {print $3}' > "$T/domains"
ndom=$(wc -l < "$T/domains")
printf '# a comment\n\nbad..name\n' >> "$T/domains"
run 1 "check --from" -- check --from "$T/domains" --jobs 8 --json $P
lines=$(wc -l < "$T/out")
if [ "$lines" = $((ndom + 1)) ]; then ok; else bad "check --from: $lines lines for $((ndom + 1)) domains"; fi
python3 - "$T/out" "$(dirname "$0")/check_schema.py" <<'PY' && ok || bad "check --from: JSON lines"
import json, subprocess, sys
errors = 0
for line in open(sys.argv[1]):
    j = json.loads(line)
    if j["schema"] == "danesmtp-check-error/1":
        assert j["domain"] == "bad..name" and j["error"], j
        errors += 1
        continue
    subprocess.run([sys.executable, sys.argv[2]], input=line.encode(), check=True)
assert errors == 1, errors
PY
if grep -q "^summary: $((ndom + 1)) domains, .*1 not checked" "$T/err"; then ok; else bad "check --from: summary: $(cat "$T/err")"; fi
if grep -q "tlsa-no-match=" "$T/err"; then ok; else bad "check --from: findings by code: $(cat "$T/err")"; fi
printf 'ee.dane.test\nta.dane.test\n' | "$CLI" check --from - $P --trust-anchor "$LAB/trust-anchor" --no-root-anchor $STUBS --timeout 3000 > "$T/out" 2>&1
got=$?
if [ $got = 5 ] && grep -q "^ee.dane.test: warnings: single-key" "$T/out" && grep -q "^ta.dane.test: ok" "$T/out" \
    && grep -q "^summary: 2 domains, 1 ok, 1 warnings" "$T/out"; then ok; else bad "check --from -: exit $got: $(cat "$T/out")"; fi
run 2 "check --from and a domain" -- check ee.dane.test --from "$T/domains"
run 2 "check --from --nagios" -- check --from "$T/domains" --nagios
run 2 "check --from missing" -- check --from "$T/nonexistent"
# --deadline: no new connection after it; the addresses left are reported.
run 5 "check --deadline" -- check manyaddr.dane.test $P --deadline 1 --json
has '"code":"not-probed"' "check --deadline"
has '"result":"Skipped"' "check --deadline"
run 5 "check --warn-days" -- check ee.dane.test $P --json --warn-days 100
has '"code":"rrsig-expiring"' "check --warn-days"
run 5 "check one host" -- check "mx.ee.dane.test:$LAB_SMTP_PORT"
has "host mx.ee.dane.test: dane" "check one host"
run 1 "check --brief" -- check dualkey.dane.test $P --brief
has "127.0.1.43 (RSA): Untrusted" "check --brief"
if grep -q "depth 0" "$T/out"; then bad "check --brief printed the certificate table"; else ok; fi
if grep -q "$(printf '\033')" "$T/out"; then bad "check: colour when stdout is not a terminal"; else ok; fi
run 1 "check --colour always" -- check nomatch.dane.test $P --colour always
if grep -q "$(printf '\033')\[31m" "$T/out"; then ok; else bad "check --colour always: no colour"; fi
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
run 5 "check without the cache" -- check ee.dane.test $P --conf "$T/cache2.conf"
if [ -e "$T/c2/answers.mdb" ]; then bad "check used the cache"; else ok; fi
chmod 777 "$T/c2"
run 0 "lookup, a cache others may write" -- lookup ee.dane.test $P --conf "$T/cache2.conf"
has "answer cache not used: $T/c2 is writable by group or others" "lookup, a cache others may write"
}
finish cli_lab_test
