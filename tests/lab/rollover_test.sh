#!/bin/bash
# SPDX-License-Identifier: MIT
# rollover_test.sh - `danesmtp rollover plan|check|publish` against the lab's
# dynamic zone roll.dane.test: BIND 9 (inline signing, RFC 2136 updates with
# TSIG) and its NSD secondary, which catches up only when told (lab.sh
# sync-secondary), and the lab SMTP server mx_roll, which presents key A
# until the test switches it to B (lab.sh reload). TTLs are 5 s: the gate
# waits for real. Runs last in `make lab-test`; puts the zone and the server
# back as it found them.
#   bash tests/lab/rollover_test.sh build/danesmtp LAB_STATE   (LD_LIBRARY_PATH set)
set -u
CLI=$1
LAB=$(cd "$2" && pwd)
. "$LAB/lab.env"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$SRC/tests/testlib.sh"
STUBS=()
while read -r zone addr; do STUBS+=(--stub "$zone=$addr"); done < "$LAB/stubs"
HOST=mx.roll.dane.test
A=$LAB_CERTS/mx-roll-a.chain.pem
B=$LAB_CERTS/mx-roll-b.chain.pem
P=(--host "$HOST" --port "$LAB_SMTP_PORT")
STATE=$T/rollover.state
OWNER=_$LAB_SMTP_PORT._tcp.$HOST

# run WANT NAME -- ARGS...: the tool's exit status, stdout in $T/out.
run() {
    local want=$1 name=$2
    shift 3
    "$CLI" rollover "$@" --trust-anchor "$LAB/trust-anchor" --no-root-anchor "${STUBS[@]}" --timeout 3000 \
        >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" = "$want" ]; then ok; else bad "$name: exit $got, wanted $want: $(cat "$T/out" "$T/err")"; fi
}
has() { if grep -qF -- "$1" "$T/out" "$T/err"; then ok; else bad "$2: output lacks '$1': $(cat "$T/out" "$T/err")"; fi; }
# codes NAME CODE...: the JSON result in $T/out has these finding codes.
codes() {
    local name=$1 got
    shift
    got=$(python3 -c 'import json,sys; j=json.load(sys.stdin); assert j["schema"]=="danesmtp-rollover/1"; print(" ".join(f["code"] for f in j["findings"]))' <"$T/out") ||
        { bad "$name: JSON does not parse: $(head -c 300 "$T/out")"; return; }
    for c in "$@"; do
        case " $got " in *" $c "*) ok ;; *) bad "$name: findings '$got' lack $c" ;; esac
    done
}
served() { # the TLSA RRset BIND (primary) serves, one "3 1 1 hex" per line
    drill -p "${LAB_BIND#*@}" @"${LAB_BIND%@*}" "$OWNER" TLSA 2>/dev/null |
        awk '!/^;/ && $4 == "TLSA" { print $5, $6, $7, tolower($8) }' | sort
}
# settle FUNC WANT: FUNC prints WANT within 5 s (BIND's inline signing
# publishes an update's result a moment after it answered the update).
settle() {
    for _ in $(seq 50); do
        [ "$("$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
# still FUNC WANT: after a second, FUNC prints WANT (nothing was changed).
still() {
    sleep 1
    [ "$("$1")" = "$2" ]
}
switch_to() { # KEY (a or b): the server presents that chain from now on
    cp "$LAB_CERTS/mx-roll-$1.chain.pem" "$LAB_CERTS/mx_roll.served.pem"
    cp "$LAB_CERTS/mx-roll-$1.key" "$LAB_CERTS/mx_roll.served.key"
    bash "$SRC/tests/lab/lab.sh" reload "$LAB" "$LAB_HOST_mx_roll"
}
rec_a=$("$CLI" tlsa --usage 3 --selector 1 --mtype 1 "$A" | awk '{print $1, $2, $3, tolower($4)}')
rec_b=$("$CLI" tlsa --usage 3 --selector 1 --mtype 1 "$B" | awk '{print $1, $2, $3, tolower($4)}')
check "the lab serves A's record" 'settle served "$rec_a"'

# ---- files and keys a person can get wrong
run 5 "plan, NEXT = CURRENT" -- plan "${P[@]}" --json "$A" "$A"
codes "plan, NEXT = CURRENT" roll-same-key
cat "$A" "$LAB_CERTS/mx-roll-b.key" > "$T/a-with-b-key.pem"
run 5 "plan, a key of another certificate" -- plan "${P[@]}" --json "$A" "$T/a-with-b-key.pem"
codes "plan, a key of another certificate" roll-key-mismatch
printf 'not a certificate\n' > "$T/garbage.pem"
run 5 "plan, a file of no key" -- plan "${P[@]}" "$A" "$T/garbage.pem"
has "NEXT ($T/garbage.pem)" "plan, a file of no key"
run 2 "plan without --host" -- plan "$A" "$B"
run 2 "check, two files" -- check "${P[@]}" "$A" "$B"
run 2 "publish without a key" -- publish "${P[@]}" --add "$B"
run 2 "publish, --add and --remove" -- publish "${P[@]}" --add "$B" --remove "$A" --dry-run
printf 'key "x" { algorithm hmac-sha999; secret "AAAA"; };\n' > "$T/badalg.key"
run 5 "publish, an unknown TSIG algorithm" -- publish "${P[@]}" --add "$B" -k "$T/badalg.key" --server "$LAB_BIND"
has "unknown algorithm" "publish, an unknown TSIG algorithm"
run 5 "publish, a secret not base64" -- publish "${P[@]}" --add "$B" -y "hmac-sha256:roll-key:not*base64" --server "$LAB_BIND"
run 4 "check, an unsigned zone" -- check --host mx.plainnotls.insecure.test --port "$LAB_SMTP_PORT" --json --state "$STATE" "$B"
codes "check, an unsigned zone" roll-zone-unsigned
run 4 "check, a signed zone without a DS" -- check --host mx.nods.test --port "$LAB_SMTP_PORT" --json --state "$STATE" --no-probe "$B"
codes "check, a signed zone without a DS" roll-no-ds
run 4 "check, a bogus zone" -- check --host mx.bogus.test --port "$LAB_SMTP_PORT" --json --state "$STATE" --no-probe "$B"
codes "check, a bogus zone" roll-not-secure

# ---- hostile signed zones: bounded, answered, never a crash
run 3 "check, 300 TLSA records" -- check --host mx1.manytlsa.dane.test --port "$LAB_SMTP_PORT" --json --state "$STATE" "$B"
codes "check, 300 TLSA records" roll-next-missing
check "300 TLSA records read through the resolver" "python3 -c 'import json; assert len(json.load(open(\"$T/out\"))[\"tlsa\"][\"records\"]) == 300'"
run 3 "check, 1500 addresses" -- check --host mx1.manyaddr.dane.test --port "$LAB_SMTP_PORT" --json --state "$STATE" "$B"
has "more than 16 addresses: the rest left out" "check, 1500 addresses"
longmx=$(awk '$1 == "server" && $2 == "mx_longmx" {print $3}' "$SRC/tests/lab/cases")
run 4 "check, a host whose TLSA owner would exceed 255 octets" -- check --host "$longmx" --port "$LAB_SMTP_PORT" --json --state "$STATE" "$B"
codes "check, a host whose TLSA owner would exceed 255 octets" roll-not-secure

# ---- plan: what to publish, what is missing, how long to wait
run 0 "plan" -- plan "${P[@]}" --json "$A" "$B"
check "plan: publish A and B, B missing, keep B" "python3 -c '
import json,sys; j=json.load(open(\"$T/out\"))
assert sorted(j[\"publish_now\"]) == sorted([\"$rec_a\", \"$rec_b\"]), j[\"publish_now\"]
assert j[\"missing\"] == [\"$rec_b\"] and j[\"keep_after\"] == [\"$rec_b\"] and j[\"remove_after\"] == [\"$rec_a\"]
assert j[\"wait\"][\"ttl\"] == 5 and j[\"wait\"][\"refresh\"] == 3600 and len(j[\"zone\"][\"servers\"]) == 2'"
run 0 "plan, text" -- plan "${P[@]}" "$A" "$B"
has "Step 2: wait until every authoritative server serves it (2 server(s), in sync now" "plan, text"

# ---- the switch done too early: the server presents B, DNS has only A
switch_to b
run 3 "check, switched before publishing" -- check "${P[@]}" --json --state "$STATE" "$B"
codes "check, switched before publishing" roll-early-switch roll-next-missing
switch_to a

# ---- publish NEXT, the gate
run 3 "check before publishing" -- check "${P[@]}" --json --state "$STATE" "$B"
codes "check before publishing" roll-next-missing
run 0 "publish --dry-run" -- publish "${P[@]}" --add "$B" --dry-run --server "$LAB_BIND"
has "update add $OWNER. 5 IN TLSA $rec_b" "publish --dry-run"
check "--dry-run changed nothing" 'still served "$rec_a"'
run 6 "publish with a key the policy does not allow" -- publish "${P[@]}" --add "$B" -k "$LAB_TSIG_OTHER_KEY" --server "$LAB_BIND" --json
codes "publish with a key the policy does not allow" roll-update-refused
run 6 "publish with a wrong secret" -- publish "${P[@]}" --add "$B" --server "$LAB_BIND" --json \
    -y "hmac-sha256:roll-key:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="
codes "publish with a wrong secret" roll-tsig-refused
has "BADSIG" "publish with a wrong secret"
run 6 "publish to the secondary" -- publish "${P[@]}" --add "$B" -k "$LAB_TSIG_KEY" --server "$LAB_SECONDARY" --json
codes "publish to the secondary" roll-update-refused
check "refused updates changed nothing" 'still served "$rec_a"'
run 0 "publish --add" -- publish "${P[@]}" --add "$B" -k "$LAB_TSIG_KEY" --server "$LAB_BIND" --json
codes "publish --add" roll-updated
check "BIND serves A and B" 'settle served "$(printf "%s\n%s\n" "$rec_a" "$rec_b" | sort)"'
run 0 "publish --add again" -- publish "${P[@]}" --add "$B" -k "$LAB_TSIG_KEY" --server "$LAB_BIND" --json
codes "publish --add again" roll-nothing-to-do
# The secondary has not transferred the change: the gate stays closed.
run 3 "check, the secondary lags" -- check "${P[@]}" --json --state "$STATE" "$B"
codes "check, the secondary lags" roll-server-lagging
check "no state while a server lags" '! grep -q "$HOST" "$STATE" 2>/dev/null'
bash "$SRC/tests/lab/lab.sh" sync-secondary "$LAB"
run 4 "check, a state file that cannot be written" -- check "${P[@]}" --json --state /nonexistent-dir/sub/state "$B"
codes "check, a state file that cannot be written" roll-state-error
printf 'danesmtp-rollover-state/1\n' > "$T/open.state"
chmod 666 "$T/open.state"
run 4 "check, a state file others may write" -- check "${P[@]}" --json --state "$T/open.state" "$B"
codes "check, a state file others may write" roll-state-error
t0=$(date +%s.%N)
run 1 "check, served everywhere, TTL not passed" -- check "${P[@]}" --json --state "$STATE" "$B"
codes "check, served everywhere, TTL not passed" roll-wait
check "the state file holds NEXT's record" 'grep -q "^[0-9]* $HOST $LAB_SMTP_PORT ${rec_b// //}\$" "$STATE"'
run 3 "remove A before the switch" -- publish "${P[@]}" --remove "$A" -k "$LAB_TSIG_KEY" --server "$LAB_BIND" --json
codes "remove A before the switch" roll-remove-unsafe
check "the unsafe removal sent nothing" 'still served "$(printf "%s\n%s\n" "$rec_a" "$rec_b" | sort)"'
# Wait for the gate, asking once a second; it must open no sooner than
# the TTL (5 s) after the first check that saw the record everywhere.
opened=""
for _ in $(seq 20); do
    if "$CLI" rollover check "${P[@]}" --state "$STATE" "$B" --trust-anchor "$LAB/trust-anchor" --no-root-anchor \
        "${STUBS[@]}" --timeout 3000 >"$T/out" 2>&1; then
        opened=$(date +%s.%N)
        break
    fi
    sleep 1
done
check "the gate opens" '[ -n "$opened" ]'
waited=$(echo "${opened:-0} - $t0" | bc)
check "the gate opened after the TTL (waited $waited s)" '[ "$(echo "$waited >= 4" | bc)" = 1 ] && [ "$(echo "$waited <= 12" | bc)" = 1 ]'
has "gate open" "the gate opens"
echo "rollover_test: the gate opened ${waited} s after NEXT's record was seen on both servers (TTL 5 s)"

# ---- the switch, then the old record goes
switch_to b
run 0 "check after the switch" -- check "${P[@]}" --json --state "$STATE" "$B"
codes "check after the switch" roll-gate-open roll-switched roll-old-removable
run 0 "publish --remove" -- publish "${P[@]}" --remove "$A" -k "$LAB_TSIG_KEY" --server "$LAB_BIND" --json
codes "publish --remove" roll-updated
check "BIND serves B only" 'settle served "$rec_b"'

# ---- back as it was: A's record, the server on A, the secondary in step
run 0 "restore: add A" -- publish "${P[@]}" --add "$A" -k "$LAB_TSIG_KEY" --server "$LAB_BIND"
switch_to a
run 0 "restore: remove B" -- publish "${P[@]}" --remove "$B" -k "$LAB_TSIG_KEY" --server "$LAB_BIND"
bash "$SRC/tests/lab/lab.sh" sync-secondary "$LAB"
# ---- the renewal hook (docs/hooks), as certbot runs it
mkdir -p "$T/lineage"
cp "$B" "$T/lineage/fullchain.pem"
cp "$LAB_CERTS/mx-roll-b.key" "$T/lineage/privkey.pem"
hook() {
    env MX_HOST="$HOST" MX_PORT="$LAB_SMTP_PORT" LIVE_CHAIN="$LAB_CERTS/mx_roll.served.pem" \
        LIVE_KEY="$LAB_CERTS/mx_roll.served.key" STAGE_DIR="$T/staged" TSIG_KEY="$LAB_TSIG_KEY" \
        DNS_SERVER="$LAB_BIND" DANESMTP="$CLI" RELOAD="bash $SRC/tests/lab/lab.sh reload $LAB $LAB_HOST_mx_roll" \
        DANESMTP_OPTS="--trust-anchor $LAB/trust-anchor --no-root-anchor ${STUBS[*]} --timeout 3000 --state $T/hook.state" \
        "$@" sh "$SRC/docs/hooks/danesmtp-renewal-hook" >"$T/out" 2>&1
}
mkdir -p "$T/other-lineage"
cp "$LAB_CERTS/mx2-roll-b.chain.pem" "$T/other-lineage/fullchain.pem"
cp "$LAB_CERTS/mx2-roll-b.key" "$T/other-lineage/privkey.pem"
hook RENEWED_LINEAGE="$T/other-lineage"; rc=$?
check "hook, another host's certificate: exit 0" '[ $rc = 0 ]'
has "is not a certificate for $HOST: not staged" "hook, another host's certificate"
check "hook, another host's certificate: nothing staged or published" '[ ! -e "$T/staged/chain.pem" ] && still served "$rec_a"'
hook RENEWED_LINEAGE="$T/lineage"; rc=$?
check "hook, renewal: exit 0" '[ $rc = 0 ]'
has "gate closed, $HOST keeps its current key" "hook, renewal"
check "hook, renewal: the record is published" 'settle served "$(printf "%s\n%s\n" "$rec_a" "$rec_b" | sort)"'
check "hook, renewal: the server keeps key A" 'cmp -s "$LAB_CERTS/mx_roll.served.pem" "$A"'
bash "$SRC/tests/lab/lab.sh" sync-secondary "$LAB"
hook
has "gate closed" "hook, second run within the TTL"
check "hook, second run: still key A" 'cmp -s "$LAB_CERTS/mx_roll.served.pem" "$A"'
sleep 6
hook; rc=$?
check "hook, after the TTL: exit 0" '[ $rc = 0 ]'
has "installed the new certificate for $HOST" "hook, after the TTL"
has "removed the old key's record" "hook, after the TTL"
check "hook: the server's files are key B" 'cmp -s "$LAB_CERTS/mx_roll.served.pem" "$B" && cmp -s "$LAB_CERTS/mx_roll.served.key" "$LAB_CERTS/mx-roll-b.key"'
check "hook: BIND serves B only" 'settle served "$rec_b"'
run 0 "check after the hook" -- check "${P[@]}" --json --state "$T/hook.state" "$B"
codes "check after the hook" roll-switched
hook; rc=$?
check "hook, nothing staged: exit 0" '[ $rc = 0 ]'
check "hook, nothing staged: nothing changed" 'still served "$rec_b" && [ ! -e "$T/staged/chain.pem" ]'

# ---- back as it was, again
run 0 "restore: add A" -- publish "${P[@]}" --add "$A" -k "$LAB_TSIG_KEY" --server "$LAB_BIND"
switch_to a
run 0 "restore: remove B" -- publish "${P[@]}" --remove "$B" -k "$LAB_TSIG_KEY" --server "$LAB_BIND"
bash "$SRC/tests/lab/lab.sh" sync-secondary "$LAB"

# ---- a DANE-TA(2) rollover to a new issuing intermediate: "2 1 1" of the
# PKI's int now, a leaf of the lab CA int-b next (RFC 7671 section 8.4)
HOST2=mx2.roll.dane.test
A2=$LAB_CERTS/mx2-roll-a.chain.pem
B2=$LAB_CERTS/mx2-roll-b.chain.pem
P2=(--host "$HOST2" --port "$LAB_SMTP_PORT")
served2() {
    drill -p "${LAB_BIND#*@}" @"${LAB_BIND%@*}" "_$LAB_SMTP_PORT._tcp.$HOST2" TLSA 2>/dev/null |
        awk '!/^;/ && $4 == "TLSA" { print $5, $6, $7, tolower($8) }' | sort
}
switch2_to() { # a|b
    cp "$LAB_CERTS/mx2-roll-$1.chain.pem" "$LAB_CERTS/mx_roll2.served.pem"
    cp "$LAB_CERTS/mx2-roll-$1.key" "$LAB_CERTS/mx_roll2.served.key"
    bash "$SRC/tests/lab/lab.sh" reload "$LAB" "$LAB_HOST_mx_roll2"
}
ta_a=$("$CLI" tlsa --usage 2 --selector 1 --mtype 1 --depth 1 "$A2" | awk '{print $1, $2, $3, tolower($4)}')
ta_b=$("$CLI" tlsa --usage 2 --selector 1 --mtype 1 --depth 1 "$B2" | awk '{print $1, $2, $3, tolower($4)}')
check "TA: the lab serves int's 2 1 1" 'settle served2 "$ta_a" && [ "$ta_a" != "$ta_b" ]'
run 0 "TA: plan" -- plan "${P2[@]}" --json "$A2" "$B2"
check "TA: plan publishes both CAs' 2 1 1, keeps the new one" "python3 -c '
import json; j=json.load(open(\"$T/out\"))
assert sorted(j[\"publish_now\"]) == sorted([\"$ta_a\", \"$ta_b\"]), j
assert j[\"missing\"] == [\"$ta_b\"] and j[\"keep_after\"] == [\"$ta_b\"] and j[\"remove_after\"] == [\"$ta_a\"], j'"
run 5 "TA: NEXT without its issuer" -- plan "${P2[@]}" --json "$A2" "$LAB_CERTS/mx2-roll-b.pem"
codes "TA: NEXT without its issuer" roll-no-issuer
run 0 "TA: publish --add" -- publish "${P2[@]}" --add "$B2" -k "$LAB_TSIG_KEY" --server "$LAB_BIND" --json
check "TA: BIND serves both" 'settle served2 "$(printf "%s\n%s\n" "$ta_a" "$ta_b" | sort)"'
bash "$SRC/tests/lab/lab.sh" sync-secondary "$LAB"
run 1 "TA: check within the TTL" -- check "${P2[@]}" --json --state "$STATE" "$B2"
codes "TA: check within the TTL" roll-wait
sleep 6
run 0 "TA: check after the TTL" -- check "${P2[@]}" --json --state "$STATE" "$B2"
codes "TA: check after the TTL" roll-gate-open
switch2_to b
run 0 "TA: check after the switch" -- check "${P2[@]}" --json --state "$STATE" "$B2"
codes "TA: check after the switch" roll-switched roll-old-removable
run 0 "TA: publish --remove" -- publish "${P2[@]}" --remove "$A2" -k "$LAB_TSIG_KEY" --server "$LAB_BIND" --json
check "TA: BIND serves int-b's 2 1 1 only" 'settle served2 "$ta_b"'
run 0 "TA restore: add" -- publish "${P2[@]}" --add "$A2" -k "$LAB_TSIG_KEY" --server "$LAB_BIND"
switch2_to a
run 0 "TA restore: remove" -- publish "${P2[@]}" --remove "$B2" -k "$LAB_TSIG_KEY" --server "$LAB_BIND"
bash "$SRC/tests/lab/lab.sh" sync-secondary "$LAB"
check "TA: the zone is back to int's record" 'settle served2 "$ta_a"'

check "the zone is back to A's record" 'settle served "$rec_a"'
finish rollover_test
