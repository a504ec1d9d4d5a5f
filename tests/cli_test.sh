#!/bin/sh
# SPDX-License-Identifier: MIT
# cli_test.sh - the `danesmtp` tool against the generated PKI.
#   sh tests/cli_test.sh build/danesmtp      (DANESMTP_PKI set, LD_LIBRARY_PATH=build)
# Known answers come from the openssl command line, independent of our code.
set -u
CLI=$1
P=${DANESMTP_PKI:?DANESMTP_PKI is not set}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/testlib.sh"

# expect CODE DESCRIPTION -- command...: exit status CODE, stdout in $T/out, stderr in $T/err
expect() {
    want=$1; what=$2; shift 3
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" = "$want" ]; then ok; else bad "$what: exit $got, wanted $want; stderr: $(cat "$T/err")"; fi
}
# output_has TEXT DESCRIPTION
output_has() { if grep -qF -- "$1" "$T/out"; then ok; else bad "$2: stdout lacks '$1': $(cat "$T/out")"; fi; }
error_has() { if grep -qF -- "$1" "$T/err"; then ok; else bad "$2: stderr lacks '$1': $(cat "$T/err")"; fi; }

# Known answers from the openssl command line. An empty or short digest
# (openssl missing or failing) stops the test: it would match anything.
checked_digest() {
    case ${#1} in 64|128) echo "$1" ;; *) echo "cli_test: openssl gave no digest" >&2; kill $$ ;; esac
}
spki_digest() { # FILE ALGO
    checked_digest "$(openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER |
        openssl dgst -"$2" -r | cut -d' ' -f1)"
}
cert_digest() { checked_digest "$(openssl x509 -in "$1" -outform DER | openssl dgst -"$2" -r | cut -d' ' -f1)"; }

# ---- known answers: danesmtp tlsa == openssl pipelines
for c in ee-rsa ee-ec leaf-san; do
    expect 0 "tlsa $c" -- "$CLI" tlsa "$P/$c.pem"
    output_has "3 1 1 $(spki_digest "$P/$c.pem" sha256)" "3 1 1 $c"
    expect 0 "tlsa 3 1 2 $c" -- "$CLI" tlsa --mtype 2 "$P/$c.pem"
    output_has "3 1 2 $(spki_digest "$P/$c.pem" sha512)" "3 1 2 $c"
    expect 0 "tlsa 3 0 1 $c" -- "$CLI" tlsa --selector 0 "$P/$c.pem"
    output_has "3 0 1 $(cert_digest "$P/$c.pem" sha256)" "3 0 1 $c"
    expect 0 "tlsa 3 0 0 $c" -- "$CLI" tlsa --selector Cert --mtype Full "$P/$c.pem"
        full=$(od -An -v -tx1 "$P/$c.der" | tr -d ' \n')
    [ ${#full} -gt 500 ] && ok || bad "od produced no hex for $c"
    output_has "3 0 0 $full" "3 0 0 $c"
done
# From a chain: usage 3 takes the leaf, usage 2 the top, --depth picks.
expect 0 "chain leaf" -- "$CLI" tlsa "$P/leaf-san.full.pem"
output_has "3 1 1 $(spki_digest "$P/leaf-san.pem" sha256)" "chain leaf"
expect 0 "chain top" -- "$CLI" tlsa --usage 2 --selector 0 "$P/leaf-san.full.pem"
output_has "2 0 1 $(cert_digest "$P/root.pem" sha256)" "chain top"
expect 0 "chain depth 1" -- "$CLI" tlsa --usage DANE-TA --depth 1 "$P/leaf-san.full.pem"
output_has "2 1 1 $(spki_digest "$P/int.pem" sha256)" "chain depth 1"
# From keys: private and public give the leaf's SPKI digest.
expect 0 "private key" -- "$CLI" tlsa "$P/ee-ec.key"
output_has "3 1 1 $(spki_digest "$P/ee-ec.pem" sha256)" "private key"
openssl pkey -in "$P/ee-rsa.key" -pubout -out "$T/pub.pem" 2>/dev/null
expect 0 "public key" -- "$CLI" tlsa "$T/pub.pem"
output_has "3 1 1 $(spki_digest "$P/ee-rsa.pem" sha256)" "public key"
expect 0 "DER certificate" -- "$CLI" tlsa "$P/ee-rsa.der"
output_has "3 1 1 $(spki_digest "$P/ee-rsa.pem" sha256)" "DER certificate"
# Zone-file line.
expect 0 "zone line" -- "$CLI" tlsa --host MX.Example.NET. --port 587 "$P/ee-ec.pem"
output_has "_587._tcp.mx.example.net. IN TLSA 3 1 1 $(spki_digest "$P/ee-ec.pem" sha256)" "zone line"

# ---- tlsa refuses to guess
cat "$P/leaf-san.pem" "$P/leaf-san.key" > "$T/mixed.pem"
expect 2 "cert+key" -- "$CLI" tlsa "$T/mixed.pem"; error_has "both certificates and a key" "cert+key"
cat "$P/ee-ec.key" "$P/ee-rsa.key" > "$T/keys.pem"
expect 2 "two keys" -- "$CLI" tlsa "$T/keys.pem"; error_has "2 keys" "two keys"
expect 2 "key selector 0" -- "$CLI" tlsa --selector 0 "$P/ee-ec.key"; error_has "selector 0" "key sel 0"
expect 2 "depth beyond" -- "$CLI" tlsa --usage 2 --depth 5 "$P/leaf-san.full.pem"; error_has "beyond the chain" "depth"
expect 2 "TA on leaf" -- "$CLI" tlsa --usage 2 --depth 0 "$P/leaf-san.full.pem"; error_has "never matches the leaf" "TA leaf"
expect 2 "EE not leaf" -- "$CLI" tlsa --usage 3 --depth 1 "$P/leaf-san.full.pem"; error_has "depth 0" "EE depth"
expect 2 "bad usage" -- "$CLI" tlsa --usage 9 "$P/ee-ec.pem"
expect 2 "bad port" -- "$CLI" tlsa --host mx.example --port 70000 "$P/ee-ec.pem"
expect 2 "port no host" -- "$CLI" tlsa --port 25 "$P/ee-ec.pem"
expect 2 "bad host" -- "$CLI" tlsa --host "mx..example" "$P/ee-ec.pem"; error_has "empty label" "bad host"
printf 'not a certificate\n' > "$T/junk.pem"
expect 2 "junk" -- "$CLI" tlsa "$T/junk.pem"
printf -- '-----BEGIN CERTIFICATE-----\nAAAA====\n-----END CERTIFICATE-----\n' > "$T/badb64.pem"
expect 2 "bad base64" -- "$CLI" tlsa "$T/badb64.pem"
: > "$T/empty.pem"
expect 2 "empty file" -- "$CLI" tlsa "$T/empty.pem"
expect 2 "missing file" -- "$CLI" tlsa "$T/nope.pem"; error_has "No such file" "missing"
head -c 300 "$P/ee-rsa.der" > "$T/trunc.der"
expect 2 "truncated DER" -- "$CLI" tlsa "$T/trunc.der"

# ---- verify: exit codes 0 / 1 / 3 / 2
EE="3 1 1 $(spki_digest "$P/ee-rsa.pem" sha256)"
expect 0 "verify EE" -- "$CLI" verify --tlsa "$EE" "$P/ee-rsa.pem"
output_has "authenticated: DANE-EE(3) SPKI(1) SHA2-256(1)" "verify EE"
expect 1 "verify EE mismatch" -- "$CLI" verify --tlsa "$EE" "$P/ee-ec.pem"
output_has "leaf SPKI SHA2-256 is $(spki_digest "$P/ee-ec.pem" sha256 | cut -c1-8)" "EE mismatch reason"
expect 3 "no usable" -- "$CLI" verify --tlsa "1 1 1 $(spki_digest "$P/ee-rsa.pem" sha256)" "$P/ee-rsa.pem"
output_has "no usable records" "no usable"
TA="2 1 1 $(spki_digest "$P/int.pem" sha256)"
expect 0 "verify TA" -- "$CLI" verify --tlsa "$TA" --name mx.example.net --time 2027-01-15T00:00:00Z "$P/leaf-san.full.pem"
output_has "name mx.example.net matches mx.example.net" "verify TA"
expect 1 "verify TA name" -- "$CLI" verify --tlsa "$TA" --name mx2.example.net --time 1800000000 "$P/leaf-san.full.pem"
expect 1 "verify TA expired" -- "$CLI" verify --tlsa "$TA" --name mx.example.net --time 2027-01-15 "$P/leaf-expired.full.pem"
output_has "expired" "expired reason"
# Zone offsets, across leaf-notyet's notBefore (2030-01-01T00:00:00Z):
expect 1 "time +02:00 is before" -- "$CLI" verify --tlsa "$TA" --name mx.example.net --time "2030-01-01T01:00:00+02:00" "$P/leaf-notyet.full.pem"
expect 0 "time -01:00 is after" -- "$CLI" verify --tlsa "$TA" --name mx.example.net --time "2030-01-01T00:30:00-01:00" "$P/leaf-notyet.full.pem"
expect 1 "time Z before" -- "$CLI" verify --tlsa "$TA" --name mx.example.net --time "2029-12-31T23:59:59Z" "$P/leaf-notyet.full.pem"
expect 0 "time unix after" -- "$CLI" verify --tlsa "$TA" --name mx.example.net --time 1893456000 "$P/leaf-notyet.full.pem"
# --json
expect 0 "json" -- "$CLI" verify --json --tlsa "$TA" --name mx.example.net --time 1800000000 "$P/leaf-san.full.pem"
output_has '"verdict":"authenticated","authenticated":true,"depth":1,"record":"2 1 1 ' "json"
output_has '"name":"mx.example.net"' "json name"
if python3 -c 'import json,sys; json.load(sys.stdin)' < "$T/out"; then ok; else bad "json does not parse"; fi
# --tlsa-file with comments, zone lines and a record split over lines
{
    echo "; records for mx.example.net"
    echo "_25._tcp.mx.example.net. 3600 IN TLSA 3 1 1 ( $(spki_digest "$P/ee-ec.pem" sha256 | cut -c1-20)"
    echo "    $(spki_digest "$P/ee-ec.pem" sha256 | cut -c21-) )"
    echo "# a comment"
    echo ""
} > "$T/records.zone"
expect 0 "tlsa-file" -- "$CLI" verify --tlsa-file "$T/records.zone" "$P/ee-ec.pem"
echo "3 1 1 nothex" > "$T/bad.zone"
expect 2 "bad tlsa-file" -- "$CLI" verify --tlsa-file "$T/bad.zone" "$P/ee-ec.pem"; error_has "bad.zone:1" "bad zone line"
# bad input to verify
expect 2 "no records" -- "$CLI" verify "$P/ee-ec.pem"; error_has "no TLSA records" "no records"
expect 2 "bad hex" -- "$CLI" verify --tlsa "3 1 1 zz" "$P/ee-ec.pem"; error_has "not a hex digit" "bad hex"
expect 2 "odd hex" -- "$CLI" verify --tlsa "3 1 1 abc" "$P/ee-ec.pem"; error_has "odd number" "odd hex"
expect 2 "unknown field" -- "$CLI" verify --tlsa "x 1 1 00" "$P/ee-ec.pem"; error_has "bad usage" "field"
expect 2 "bad time" -- "$CLI" verify --tlsa "$EE" --time yesterday "$P/ee-ec.pem"
expect 2 "empty name" -- "$CLI" verify --tlsa "$EE" --name "" "$P/ee-ec.pem"; error_has "empty host name" "empty name"
expect 2 "long name" -- "$CLI" verify --tlsa "$EE" --name "$(printf 'a%.0s' $(seq 1 60)).$(printf 'b%.0s' $(seq 1 60)).$(printf 'c%.0s' $(seq 1 60)).$(printf 'd%.0s' $(seq 1 60)).abcdefghijklmnop" "$P/ee-ec.pem"
error_has "longer than 253" "long name"
expect 2 "non-ascii name" -- "$CLI" verify --tlsa "$EE" --name "bücher.example" "$P/ee-ec.pem"; error_has "A-label" "idn"
expect 2 "junk chain" -- "$CLI" verify --tlsa "$EE" "$T/junk.pem"
expect 2 "key as chain" -- "$CLI" verify --tlsa "$EE" "$P/ee-ec.key"; error_has "unexpected PEM block" "key chain"
i=0; : > "$T/long.pem"; while [ $i -lt 100 ]; do cat "$P/int.pem" >> "$T/long.pem"; i=$((i + 1)); done
expect 2 "100 certs" -- "$CLI" verify --tlsa "$EE" "$T/long.pem"; error_has "longer than 32" "100 certs"
expect 2 "no chain" -- "$CLI" verify --tlsa "$EE"
expect 2 "two chains" -- "$CLI" verify --tlsa "$EE" "$P/ee-ec.pem" "$P/ee-rsa.pem"
expect 2 "unknown option" -- "$CLI" verify --frobnicate "$P/ee-ec.pem"
expect 2 "unknown command" -- "$CLI" frobnicate
expect 2 "no command" -- "$CLI"
expect 0 "version" -- "$CLI" --version

# Every finding code of the catalogue (plugin/core/findings.def, the one
# place that defines them) is documented in danesmtp(1), FINDINGS.
SRC=$(dirname "$0")/..
for code in $(sed -n 's/^FINDING([a-z_0-9]*, "\([a-z0-9-]*\)".*/\1/p' "$SRC/plugin/core/findings.def"); do
    roff=$(printf '%s' "$code" | sed 's/-/\\\\-/g')
    if grep -q "^\.BR $roff " "$SRC/man/danesmtp.1"; then ok; else bad "finding $code is not in danesmtp(1)"; fi
done
expect 2 "check --warn-days 0" -- "$CLI" check example.test --warn-days 0
expect 2 "check --colour bad" -- "$CLI" check example.test --colour sometimes

finish cli_test
