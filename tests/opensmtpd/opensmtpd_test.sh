#!/bin/bash
# SPDX-License-Identifier: MIT
# opensmtpd_test.sh - the real smtpd of Debian's opensmtpd package (unpacked by
# get-smtpd.sh, not installed) with the danesmtp-opensmtpd filter, against a
# lab whose SMTP servers listen on port 25 (smtpd delivers to MX hosts on 25
# and nowhere else). Run by `make opensmtpd-test`:
#   bash tests/opensmtpd/opensmtpd_test.sh BUILD_DIR LAB_STATE SMTPD_ROOT
#
# smtpd's spool (/var/spool/smtpd), control socket (/run/smtpd.sock) and
# resolver (/etc/resolv.conf: the lab's resolver) are compiled in; the test
# runs in a mount namespace of its own where those paths are private
# (tmpfs, bind mounts), so nothing of the host is touched. Exim, for the
# relay cases, runs there too with exim-config/exim4.conf.standalone.
#
#   1. submission: RCPT answers from the filter (bogus -> 451, mandatory DANE
#      unmet -> 451, null MX -> 550, dead zone -> 451 at the deadline, good ->
#      250), 50 sessions waiting on a dead zone while others pass at once
#   2. outbound audit: smtpd delivering directly (MX on port 25) to a DANE
#      host without STARTTLS, to a spoofed host, to a bogus domain: each logged
#      with its code; with --probe, our own handshake's verdict
#   3. enforcement by relay: smtpd -> Exim with the plugin -> lab; a TLSA
#      mismatch stays in Exim's queue, a good domain is delivered verified, and
#      with the relay down the mail stays in smtpd's queue
set -u
if [ "$(id -u)" != 0 ]; then
    echo "opensmtpd test: SKIPPED: needs root (port 25, a mount namespace, smtpd's users)"
    exit 0
fi
if [ -z "${DANESMTP_OSD_NS:-}" ]; then
    DANESMTP_OSD_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/../testlib.sh"
B=$(cd "$1" && pwd)
LAB=$(cd "$2" && pwd)
ROOT=$(cd "$3" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$LAB/lab.env"
SMTPD="$ROOT/usr/sbin/smtpd"
SMTPCTL="$ROOT/usr/sbin/smtpctl"
FILTER="$B/danesmtp-opensmtpd"
W="$B/opensmtpd-test"
SUBMIT="timeout 300 python3 $SRC/tests/opensmtpd/submit.py"
EXIM=/usr/sbin/exim4
if [ "$LAB_SMTP_PORT" != 25 ]; then echo "opensmtpd test: the lab must serve SMTP on port 25" >&2; exit 1; fi
if [ -z "${LAB_RESOLVER:-}" ]; then echo "opensmtpd test: the lab has no resolver (root only)" >&2; exit 1; fi

# ---- the private paths smtpd and Exim insist on
rm -rf "$W"
mkdir -p "$W/smtpd-spool" "$W/exim-spool" "$W/exim-log"
chmod 755 "$W"
chmod 711 "$W/smtpd-spool"
chown Debian-exim:Debian-exim "$W/exim-spool"
chown Debian-exim:adm "$W/exim-log"
chmod 750 "$W/exim-spool" "$W/exim-log"
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=755 tmpfs /var/spool
mkdir /var/spool/smtpd /var/spool/exim4
mount --bind "$W/smtpd-spool" /var/spool/smtpd
mount --bind "$W/exim-spool" /var/spool/exim4
mkdir -p /var/log/exim4 && mount --bind "$W/exim-log" /var/log/exim4
mount --bind "$LAB/resolv.conf" /etc/resolv.conf
{
    echo "trust-anchor-file = $LAB/trust-anchor"; echo "root-anchor = no"
    echo "resolv-conf = $LAB/resolv.conf"; echo "timeout = 3000"
    echo "mandatory-dane = plain.insecure.test"
} > "$W/danesmtp.conf"
chmod 644 "$W/danesmtp.conf"

SMTPD_PID=""
N=0
start_smtpd() { # CONF: smtpd in the foreground (-d), its log in $W/smtpd-N.log
    N=$((N + 1))
    SMTPD_LOG="$W/smtpd-$N.log"
    "$SMTPD" -d -v -f "$1" > "$SMTPD_LOG" 2>&1 &
    SMTPD_PID=$!
    for _ in $(seq 100); do
        if python3 -c 'import socket; socket.create_connection(("127.0.0.1", 2587), 1).close()' 2>/dev/null; then
            return 0
        fi
        kill -0 "$SMTPD_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "smtpd did not start:" >&2; cat "$SMTPD_LOG" >&2
    return 1
}
stop_smtpd() {
    [ -n "$SMTPD_PID" ] || return 0
    kill "$SMTPD_PID" 2>/dev/null
    wait "$SMTPD_PID" 2>/dev/null
    SMTPD_PID=""
}
EXIM_PID=""
stop_exim() { # the daemon and its children: a session smtpd holds open would outlive it
    [ -n "$EXIM_PID" ] || return 0
    # shellcheck disable=SC2046
    kill "$EXIM_PID" $(pgrep -P "$EXIM_PID") 2>/dev/null
    wait "$EXIM_PID" 2>/dev/null
    EXIM_PID=""
}
trap 'stop_smtpd; stop_exim' EXIT

# wait_for FILE TEXT [SECONDS]: until FILE holds TEXT
wait_for() {
    for _ in $(seq $((${3:-15} * 10))); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
spool_file() { grep -rl -- "$1" "$LAB/spool/${2:-}" 2>/dev/null | head -1; }
header() { sed -n "s/^$2: //p" "$1" | head -1; }
# arrived TOKEN [IP]: wait up to 20 s for the lab spool file holding TOKEN; print it
arrived() {
    local f=""
    for _ in $(seq 200); do f=$(spool_file "$1" "${2:-}"); [ -n "$f" ] && break; sleep 0.1; done
    echo "$f"
}
tls_of() { local f; f=$(arrived "$@"); [ -n "$f" ] && header "$f" X-Lab-TLS; }

R="osd$(date +%s)"  # message tokens of this run: the lab's spools keep earlier runs' mail
# ---- 0. the documented configuration parses (smtpd -n), with this lab's
# certificate and interface in place of the example's
cp "$B/pki/ee-ec.pem" "$W/cert.pem"
install -m 600 "$B/pki/ee-ec.key" "$W/key.pem"
printf 'postmaster: root\n' > "$W/aliases"
sed -e "s|/etc/ssl/certs/mail.example.org.pem|$W/cert.pem|; s|/etc/ssl/private/mail.example.org.key|$W/key.pem|" \
    -e "s|file:/etc/aliases|file:$W/aliases|; s|listen on eth0|listen on lo|" \
    -e "s|/usr/libexec/danesmtp/danesmtp-opensmtpd|$FILTER|" \
    "$SRC/opensmtpd-config/smtpd.conf.example" > "$W/smtpd-example.conf"
check "opensmtpd-config/smtpd.conf.example parses (smtpd -n)" '"$SMTPD" -n -f "$W/smtpd-example.conf" >"$W/example-n.out" 2>&1'
# Its part 2 variant, uncommented in place of part 3
sed -e '/^action "dane-relay"/d; /^match .*action "dane-relay"/d' \
    -e 's/^#   //' "$W/smtpd-example.conf" > "$W/smtpd-example2.conf"
check "smtpd.conf.example, part 2 variant, parses" '"$SMTPD" -n -f "$W/smtpd-example2.conf" >"$W/example2-n.out" 2>&1'

FILTER_ARGS="--conf $W/danesmtp.conf --deadline 2000 --local client.test"

# ---- 1. submission: the filter on the listener; direct delivery, audited
cat > "$W/smtpd-direct.conf" <<EOF
filter "danesmtp" proc-exec "$FILTER $FILTER_ARGS --probe"
listen on 127.0.0.1 port 2587 filter "danesmtp"
listen on 127.0.0.1 port 2588
action "spoofed" relay host smtp://$LAB_HOST_mx_notlsa:25 filter "danesmtp"
action "direct" relay filter "danesmtp"
match from any for domain "ta.dane.test" action "spoofed"
match from any for any action "direct"
EOF
start_smtpd "$W/smtpd-direct.conf" || exit 1

# 50 sessions wait on a zone that never answers; others pass meanwhile.
burst=$($SUBMIT burst 2587 deadtlsa.dane.test 50 ee.dane.test 5)
echo "burst: $burst"
check "50 dead-zone sessions: each 451 within the deadline (2 s) and a margin" \
    'python3 -c "import json,sys; d=json.loads(sys.argv[1]); sys.exit(not all(c==451 and t<3.5 for c,t in d[\"slow\"]))" "$burst"'
check "50 dead-zone sessions: the others were answered 250 before the deadline" \
    'python3 -c "import json,sys; d=json.loads(sys.argv[1]); sys.exit(not all(c==250 and t<1.5 for c,t in d[\"fast\"]))" "$burst"'

out=$($SUBMIT rcpt 2587 a@ee.dane.test b@bogus.test c@nullmx.dane.test d@plain.insecure.test \
      e@deadtlsa.dane.test f@nostarttls.dane.test postmaster@client.test)
echo "$out"
check "good domain: 250" 'echo "$out" | grep -q "^a@ee.dane.test 250 "'
check "bogus DNSSEC: 451 4.7.5 with the reason" 'echo "$out" | grep -q "^b@bogus.test 451 4.7.5 DANE: bogus.test: MX lookup bogus"'
check "null MX: 550 5.1.10" 'echo "$out" | grep -q "^c@nullmx.dane.test 550 5.1.10 "'
check "mandatory DANE unmet: 451 4.7.5" 'echo "$out" | grep -q "^d@plain.insecure.test 451 4.7.5 DANE: plain.insecure.test: .*mandatory"'
check "dead zone: 451 4.7.5" 'echo "$out" | grep -q "^e@deadtlsa.dane.test 451 4.7.5 DANE: "'
check "DANE domain without STARTTLS: accepted (smtpd's delivery is audited)" 'echo "$out" | grep -q "^f@nostarttls.dane.test 250 "'
check "local domain: not looked up" 'echo "$out" | grep -q "^postmaster@client.test 250 "'
check "refusals logged through smtpd" 'grep -q "danesmtp: RCPT for bogus.test refused" "$SMTPD_LOG"'
check "smtpd still running after all of it" 'kill -0 $SMTPD_PID'

# Outbound: smtpd delivers on its own (MX, port 25); the filter can only tell.
$SUBMIT send 2587 $R-cleartext f@nostarttls.dane.test
check "no STARTTLS: smtpd delivered in clear text (what OpenSMTPD does)" \
    '[ "$(tls_of $R-cleartext "$LAB_HOST_mx_nostarttls")" = no ]'
check "no STARTTLS: out-cleartext logged" \
    'wait_for "$SMTPD_LOG" "danesmtp: out-cleartext: H=mx.nostarttls.dane.test [$LAB_HOST_mx_nostarttls] delivered in clear text although DANE requires authenticated TLS"'

$SUBMIT send 2587 $R-ee a@ee.dane.test
check "DANE host over TLS: out-unauthenticated (smtpd checks no TLSA)" \
    'wait_for "$SMTPD_LOG" "danesmtp: out-unauthenticated: H=mx.ee.dane.test [$LAB_HOST_mx_ee] TLS ("'
check "--probe: our handshake matched" \
    'wait_for "$SMTPD_LOG" "danesmtp: out-probe-verified: H=mx.ee.dane.test [$LAB_HOST_mx_ee]" 30'

$SUBMIT send 2587 $R-nomatch a@nomatch.dane.test
check "TLSA mismatch: smtpd delivered all the same" \
    '[ -n "$(arrived $R-nomatch)" ]'
check "--probe: the mismatch is logged" \
    'wait_for "$SMTPD_LOG" "danesmtp: out-probe-failed: H=mx.nomatch.dane.test [$LAB_HOST_mx_nomatch] tlsa-no-match" 30'

$SUBMIT send 2587 $R-spoofed a@ta.dane.test
check "delivered to a host outside the plan: out-not-in-plan" \
    'wait_for "$SMTPD_LOG" "danesmtp: out-not-in-plan: [$LAB_HOST_mx_notlsa] took mail for ta.dane.test"'

# A listener without the filter: nothing refuses the bogus domain at RCPT.
$SUBMIT send 2588 $R-bogus a@bogus.test
check "bogus domain through an unfiltered listener: out-despite-defer" \
    'wait_for "$SMTPD_LOG" "danesmtp: out-despite-defer: [$LAB_HOST_mx_bogus] took mail although bogus.test must wait"'
check "smtpd still running after the audit" 'kill -0 $SMTPD_PID'
stop_smtpd

# ---- 3. enforcement by relay: smtpd -> Exim with the plugin -> the lab
EXIM_CONF="$SRC/exim-config/exim4.conf.standalone"
EXIM_DEFS="-DDANESMTP_SNIPPETS=$SRC/exim-config/conf.d -DPRIMARY_HOSTNAME=relay.test -DDANESMTP_LIBRARY=$B/libdanesmtp.so.1 -DDANESMTP_CONFIG=$W/danesmtp.conf"
exim_run() { "$EXIM" -C "$EXIM_CONF" $EXIM_DEFS "$@"; }
port_open() { python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null; }
start_exim() {
    if port_open 2526; then echo "port 2526 is taken: not our Exim" >&2; return 1; fi
    # shellcheck disable=SC2086
    "$EXIM" -C "$EXIM_CONF" $EXIM_DEFS -bdf -oX 127.0.0.1.2526 -oP "$W/exim.pid" &
    EXIM_PID=$!
    for _ in $(seq 100); do
        port_open 2526 && return 0
        sleep 0.1
    done
    echo "exim did not start" >&2
    return 1
}
MAINLOG=$W/exim-log/mainlog
cat > "$W/smtpd-relay.conf" <<EOF
filter "danesmtp" proc-exec "$FILTER $FILTER_ARGS"
listen on 127.0.0.1 port 2587 filter "danesmtp"
action "dane-relay" relay host smtp://127.0.0.1:2526
match from any for any action "dane-relay"
EOF
if ! exim_run -bV > "$W/exim-bV.out" 2>&1; then
    bad "relay: the standalone Exim configuration does not load"; cat "$W/exim-bV.out" >&2
else
    start_exim || exit 1
    start_smtpd "$W/smtpd-relay.conf" || exit 1
    $SUBMIT send 2587 $R-relay-ee a@ee.dane.test
    $SUBMIT send 2587 $R-relay-nomatch a@nomatch.dane.test
    check "relay: good domain delivered over TLS" \
        '[ "$(tls_of $R-relay-ee "$LAB_HOST_mx_ee")" = yes ]'
    check "relay: Exim logged it DANE verified" \
        'wait_for $MAINLOG "danesmtp: H=mx.ee.dane.test [$LAB_HOST_mx_ee] DANE verified"'
    check "relay: the TLSA mismatch refused by Exim" \
        'wait_for $MAINLOG "danesmtp: H=mx.nomatch.dane.test [$LAB_HOST_mx_nomatch] DANE failed"'
    sleep 1
    check "relay: the mismatch never reached the lab" '[ -z "$(spool_file $R-relay-nomatch)" ]'
    check "relay: the mismatch waits in Exim's queue" 'exim_run -bp 2>/dev/null | grep -q "a@nomatch.dane.test"'
    check "relay: smtpd handed both to Exim (its queue is empty)" \
        '"$SMTPCTL" show queue > "$W/queue-empty.out" 2>&1 && [ ! -s "$W/queue-empty.out" ]'

    # The relay is down: smtpd keeps the message; nothing goes out directly.
    stop_exim
    $SUBMIT send 2587 $R-relay-down a@ee.dane.test
    sleep 3
    "$SMTPCTL" show queue > "$W/queue.out" 2>&1
    check "relay down: the message stays in smtpd's queue" 'grep -q "a@ee.dane.test" "$W/queue.out"'
    check "relay down: nothing went to the MX host directly" '[ -z "$(spool_file $R-relay-down)" ]'
    check "relay down: smtpd logged the temporary failure" \
        'grep "mta delivery .*to=<a@ee.dane.test>.*result=\"TempFail\"" "$SMTPD_LOG" | grep -q "relay=\"127.0.0.1"'
    # The relay is back: the queued message goes through it.
    start_exim || exit 1
    "$SMTPCTL" schedule all >/dev/null 2>&1
    check "relay back: the queued message is delivered, verified" \
        '[ "$(tls_of $R-relay-down "$LAB_HOST_mx_ee")" = yes ]'
    stop_smtpd
    stop_exim
fi

finish "opensmtpd test (smtpd $(cat "$ROOT/VERSION"))"
