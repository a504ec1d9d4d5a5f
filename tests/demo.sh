#!/bin/sh
# SPDX-License-Identifier: MIT
# demo.sh - what `make demo` shows: a small PKI, the TLSA records an operator
# would publish for it, and verdicts on matching and mismatching chains.
#   sh tests/demo.sh BUILD_DIR
set -eu
B=${1:-build}
CLI="$B/danesmtp"
export LD_LIBRARY_PATH="$B${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
P="$B/demo-pki"
echo "== Generating a lab PKI in $P (tests/pki/make-pki.sh)"
bash tests/pki/make-pki.sh "$P"
NOW=2027-01-15T00:00:00Z

run() { # show the command, run it, show the exit status
    echo "\$ $*" | sed "s|$P/||g; s|$B/danesmtp|danesmtp|"
    set +e
    "$@"
    rc=$?
    set -e
    echo "  (exit $rc)"
    echo
}

echo
echo "== 1. Records an operator publishes"
echo "DANE-EE for a self-signed server key, as a zone-file line:"
run "$CLI" tlsa --host mx.example.net "$P/ee-ec.pem"
echo "DANE-TA for the issuing CA of a CA-signed chain (depth 1 = intermediate):"
run "$CLI" tlsa --usage 2 --depth 1 --host mx.example.net "$P/leaf-san.full.pem"
echo "The same DANE-EE record from the private key, before any certificate exists:"
run "$CLI" tlsa "$P/ee-ec.key"

EE=$("$CLI" tlsa "$P/ee-ec.pem")
TA=$("$CLI" tlsa --usage 2 --depth 1 "$P/leaf-san.full.pem")

echo "== 2. Verdicts after a handshake"
echo "The server presents the key the record names:"
run "$CLI" verify --tlsa "$EE" "$P/ee-ec.pem"
echo "A different server key (a MITM, or a key rolled without updating DNS):"
run "$CLI" verify --tlsa "$EE" "$P/ee-rsa.pem"
echo "A CA-issued chain against the DANE-TA record, names checked:"
run "$CLI" verify --tlsa "$TA" --name mx.example.net --name example.net --time "$NOW" "$P/leaf-san.full.pem"
echo "The same CA, but a certificate for another host:"
run "$CLI" verify --tlsa "$TA" --name mx.example.net --time "$NOW" "$P/leaf-other.full.pem"
echo "An expired leaf under DANE-TA (DANE-EE would ignore dates, DANE-TA does not):"
run "$CLI" verify --tlsa "$TA" --name mx.example.net --time "$NOW" "$P/leaf-expired.full.pem"
echo "Digest agility: a stronger SHA2-512 record that does not match outweighs a matching SHA2-256:"
run "$CLI" verify --tlsa "3 1 2 $(printf '00%.0s' $(seq 1 64))" --tlsa "$EE" "$P/ee-ec.pem"
echo "Only records SMTP cannot use (PKIX-EE): TLS is required, but cannot be authenticated:"
run "$CLI" verify --tlsa "1${EE#3}" "$P/ee-ec.pem"
echo "The verdict as JSON, for scripts:"
run "$CLI" verify --json --tlsa "$TA" --name mx.example.net --time "$NOW" "$P/leaf-san.full.pem"
echo "Exit codes: 0 authenticated, 1 not authenticated, 3 no usable records, 2 bad input."

echo
echo "== 3. The lab: DNSSEC-signed zones on NSD, STARTTLS servers on 127.0.1.x"
LAB="$B/demo-lab"
trap 'bash tests/lab/lab.sh down "$LAB" >/dev/null 2>&1 || true' EXIT INT TERM
bash tests/lab/lab.sh up "$LAB" "$B/pki"
. "$LAB/lab.env"
STUBS=""
while read -r zone addr; do STUBS="$STUBS --stub $zone=$addr"; done < "$LAB/stubs"
OPTS="--trust-anchor $LAB/trust-anchor --no-root-anchor $STUBS --port $LAB_SMTP_PORT --timeout 3000"
echo "Resolver: libunbound in-process, trust anchor $LAB/trust-anchor, stub zones from $LAB/stubs"
echo
echo "The pre-connect decision for one domain (danesmtp lookup):"
# shellcheck disable=SC2086
run "$CLI" lookup ta.dane.test $OPTS
echo "A publisher's deep check of one domain (danesmtp check): the server's record hashes"
echo "the whole certificate under selector 1 (SPKI):"
set +e
# shellcheck disable=SC2086
"$CLI" check selswap.dane.test $OPTS
echo "  (exit $?)"
set -e
echo "Every lab domain, connected to and checked, one status line each (danesmtp check --nagios):"
for d in ee.dane.test ta.dane.test taname.dane.test nomatch.dane.test unusable.dane.test \
         plain.insecure.test insecmx.insecure.test notlsa.dane.test insecaddr.dane.test \
         bogustlsa.dane.test bogus.test expired.test deadtlsa.dane.test cname.dane.test \
         cnameorig.dane.test cnameinsec.dane.test tlsacname.dane.test prefbogus.dane.test \
         prefworse.dane.test implicit.dane.test nullmx.dane.test rollover.dane.test \
         agility.dane.test nostarttls.dane.test badtls.dane.test wrongowner.dane.test \
         eeonca.dane.test dualkey.dane.test tanotsent.dane.test wrongport.dane.test; do
    set +e
    # shellcheck disable=SC2086
    "$CLI" check "$d" $OPTS --nagios
    set -e
done
echo
echo "Mandatory DANE for a domain without TLSA records (RFC 7672 section 6):"
# shellcheck disable=SC2086
run "$CLI" lookup notlsa.dane.test $OPTS --mandatory notlsa.dane.test
echo "A key change for mx.roll.dane.test (danesmtp rollover, BIND 9 zone with TTLs of 5 s):"
echo "the plan from key A to key B, then the gate, closed while B's record is not published:"
# shellcheck disable=SC2086
run "$CLI" rollover plan --host mx.roll.dane.test $OPTS "$LAB_CERTS/mx-roll-a.chain.pem" "$LAB_CERTS/mx-roll-b.chain.pem"
# shellcheck disable=SC2086
run "$CLI" rollover check --host mx.roll.dane.test $OPTS --state "$B/demo-rollover.state" "$LAB_CERTS/mx-roll-b.chain.pem"
echo "== 4. The real exim4 delivering through the plugin (exim-config/ snippets)"
if command -v exim4 >/dev/null 2>&1; then
    EXIM_WORK="$B/exim-demo" bash -c '
        . tests/exim/env.sh "$1" "$2"
        for d in ee.dane.test nomatch.dane.test; do
            echo "\$ exim4 -C exim-demo/exim.conf -odi -f test@exim-test.invalid user@$d"
            send "$W/exim.conf" "$d" "demo-$d"
            grep -F "user@$d" "$MAINLOG" | grep -F -e "=>" -e "==" | sed "s/^/    /"
            grep -F "danesmtp: " "$MAINLOG" | grep -F "$d" | tail -1 | sed "s/^/    /"
            f=$(grep -rl "demo-$d" "$LAB/spool" | head -1)
            if [ -n "$f" ]; then
                echo "    arrived at the lab server: $(sed -n "s/^X-Lab-TLS-Version: //p" "$f") SNI $(sed -n "s/^X-Lab-SNI: //p" "$f")"
            else
                echo "    nothing arrived at the lab server: the message waits in the queue"
            fi
            echo
        done' demo "$B" "$LAB"
else
    echo "(exim4 is not installed: make demo installs it as root)"
fi
bash tests/lab/lab.sh down "$LAB"
trap - EXIT INT TERM
echo "Lab down. check exits 0 when every host passed, 1 when some failed but mail can go,"
echo "3 when mail would be deferred, 4 when the domain takes no mail."
