#!/bin/bash
# SPDX-License-Identifier: MIT
# rollover_exim_test.sh - a key rollover while the real exim4 with the plugin
# keeps delivering to the host (issue 9): one message every half second to
# roll.dane.test, whose MX host mx.roll.dane.test is the lab's "reloadable"
# SMTP server and whose zone is BIND 9's, dynamic, with TTLs of 5 s, a
# lagging NSD secondary, and the plugin's answer cache in use.
#   1. the gated rollover: publish B beside A, wait for `danesmtp rollover
#      check`, switch the server to B, remove A. Every message is delivered,
#      DANE-verified; none is deferred.
#   2. the switch done too early: the server presents B while DNS has only
#      A. Messages defer (never delivered unverified); once B is published
#      and the gate opens, a queue run delivers every one of them.
# Prints the counts. Leaves the zone and the server as it found them.
#   bash tests/exim/rollover_exim_test.sh BUILD_DIR LAB_STATE   (the lab up)
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
EXIM_WORK="$1/exim-rollover"
. "$SRC/tests/exim/env.sh" "$1" "$2" || exit 1
. "$SRC/tests/testlib.sh"
# The plugin asks the lab's name servers directly (stub zones, as the CLI
# does) and keeps answers in its cache for their TTL, as packaged.
# dane.test. too: the DS of roll.dane.test is asked of its parent's name
# server, which the lab's delegation names at 127.0.0.1 port 53, where nothing
# listens; without this stub every lookup after the 5 s TTL stalled 2.3 s on
# those timeouts, and the rollover window saw too few messages.
{ cat "$W/danesmtp-stub.conf"; echo "stub = dane.test. $LAB_DNS_ADDR@$LAB_DNS_PORT"
  echo "cache = $W/cache/answers.mdb"; } > "$W/danesmtp-roll.conf"
make_conf "$W/exim-roll.conf" "$B/libdanesmtp.so.1" "$W/danesmtp-roll.conf"
CONF=$W/exim-roll.conf
HOST=mx.roll.dane.test
DOMAIN=roll.dane.test
KEY_A=$LAB_CERTS/mx-roll-a.chain.pem
KEY_B=$LAB_CERTS/mx-roll-b.chain.pem
STUBS=()
while read -r zone addr; do STUBS+=(--stub "$zone=$addr"); done < "$LAB/stubs"
ro() { # STEP ARGS...: danesmtp rollover for the host, against the lab
    local step=$1
    shift
    LD_LIBRARY_PATH=$B "$B/danesmtp" rollover "$step" --host "$HOST" --port "$LAB_SMTP_PORT" "$@" \
        --trust-anchor "$LAB/trust-anchor" --no-root-anchor "${STUBS[@]}" --timeout 3000
}
switch_to() { # a|b
    cp "$LAB_CERTS/mx-roll-$1.chain.pem" "$LAB_CERTS/mx_roll.served.pem"
    cp "$LAB_CERTS/mx-roll-$1.key" "$LAB_CERTS/mx_roll.served.key"
    bash "$SRC/tests/lab/lab.sh" reload "$LAB" "$LAB_HOST_mx_roll"
}
gate() { # NEXT STATE: wait (up to 40 s) until the gate opens
    for _ in $(seq 40); do
        ro check "$1" --no-probe --state "$2" >/dev/null 2>&1 && return 0
        sleep 1
    done
    return 1
}
back_to_a() { # A's record only, the server on A, the secondary in step
    ro publish --add "$KEY_A" -k "$LAB_TSIG_KEY" --server "$LAB_BIND" >/dev/null &&
        switch_to a &&
        ro publish --remove "$KEY_B" -k "$LAB_TSIG_KEY" --server "$LAB_BIND" >/dev/null &&
        bash "$SRC/tests/lab/lab.sh" sync-secondary "$LAB"
}
MAIL_PID=""
mail_start() { # RUN: a message every half second until mail_stop
    rm -f "$W/stop-mail"
    (
        i=0
        while [ ! -e "$W/stop-mail" ]; do
            i=$((i + 1))
            send "$CONF" "$DOMAIN" "rollover-$1-$i"
            echo "$i" > "$W/sent-$1"
            sleep 0.5
        done
    ) &
    MAIL_PID=$!
}
mail_stop() {
    touch "$W/stop-mail"
    wait "$MAIL_PID"
    MAIL_PID=""
}
trap '[ -n "$MAIL_PID" ] && { touch "$W/stop-mail"; wait "$MAIL_PID"; }' EXIT
spool_count() { grep -rl -- "Subject: rollover-$1-" "$LAB/spool/$LAB_HOST_mx_roll" 2>/dev/null | wc -l; }
verified() { cat "$MAINLOG" 2>/dev/null | grep -c "danesmtp: H=$HOST .*DANE verified"; }
deferred() { cat "$MAINLOG" 2>/dev/null | grep -c " == user@$DOMAIN "; }
queued() { "$EXIM" -C "$CONF" -bp 2>/dev/null | grep -c "user@$1"; }

check "nothing queued at the start" '[ "$(queued "$DOMAIN")" = 0 ]'
check "the server starts on key A" 'cmp -s "$LAB_CERTS/mx_roll.served.pem" "$KEY_A"'

# ---- 1. the gated rollover
v0=$(verified)
d0=$(deferred)
mail_start gated
sleep 2
ro publish --add "$KEY_B" -k "$LAB_TSIG_KEY" --server "$LAB_BIND" >/dev/null; rc=$?
check "gated: B published" '[ $rc = 0 ]'
bash "$SRC/tests/lab/lab.sh" sync-secondary "$LAB"
gate "$KEY_B" "$W/gated.state"; rc=$?
check "gated: the gate opened" '[ $rc = 0 ]'
switch_to b
sleep 2
ro check "$KEY_B" --state "$W/gated.state" > "$W/after-switch.txt" 2>&1
check "gated: every address presents B" 'grep -q roll-switched "$W/after-switch.txt"'
ro publish --remove "$KEY_A" -k "$LAB_TSIG_KEY" --server "$LAB_BIND" >/dev/null; rc=$?
check "gated: A removed" '[ $rc = 0 ]'
bash "$SRC/tests/lab/lab.sh" sync-secondary "$LAB"
sleep 7   # past the TTL: deliveries that see B's record alone
mail_stop
sent=$(cat "$W/sent-gated")
got=$(spool_count gated)
ver=$(( $(verified) - v0 ))
def=$(( $(deferred) - d0 ))
echo "rollover_exim_test: gated rollover: $sent messages sent, $got delivered, $ver DANE-verified, $def deferred"
check "gated: at least 20 messages" '[ "$sent" -ge 20 ]'
check "gated: every message delivered ($got of $sent)" '[ "$got" = "$sent" ]'
check "gated: every delivery DANE-verified ($ver of $sent)" '[ "$ver" = "$sent" ]'
check "gated: none deferred ($def)" '[ "$def" = 0 ]'

# ---- 2. the switch done too early: back to A (DNS and server), then B
# presented before its record is published.
check "back to A" back_to_a
sleep 6   # caches forget B's record
v0=$(verified)
d0=$(deferred)
mail_start early
sleep 2
switch_to b
sleep 4
ro publish --add "$KEY_B" -k "$LAB_TSIG_KEY" --server "$LAB_BIND" >/dev/null
bash "$SRC/tests/lab/lab.sh" sync-secondary "$LAB"
gate "$KEY_B" "$W/early.state"; rc=$?
check "early: the gate opened" '[ $rc = 0 ]'
sleep 1
mail_stop
sent=$(cat "$W/sent-early")
before_flush=$(spool_count early)
def=$(( $(deferred) - d0 ))
queued_now=$(queued "$DOMAIN")
rm -f "$W"/spool/db/* 2>/dev/null
"$EXIM" -C "$CONF" -qff >/dev/null 2>&1
got=$(spool_count early)
ver=$(( $(verified) - v0 ))
echo "rollover_exim_test: early switch: $sent messages sent, $def deferrals ($queued_now queued), $before_flush delivered before the queue run, $got after it, $ver DANE-verified"
check "early: deliveries deferred while the server presented an unpublished key ($def)" '[ "$def" -ge 1 ]'
check "early: every message delivered after the gate and a queue run ($got of $sent)" '[ "$got" = "$sent" ]'
check "early: every delivery DANE-verified ($ver of $sent)" '[ "$ver" = "$sent" ]'
check "early: nothing left in the queue" '[ "$(queued "$DOMAIN")" = 0 ]'

# ---- back as it was
check "back to A" back_to_a
finish rollover_exim_test
