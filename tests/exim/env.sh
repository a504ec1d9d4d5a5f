# SPDX-License-Identifier: MIT
# env.sh - sourced by exim_test.sh and the demo: a private Exim set-up
# (spool, log, -C configurations) delivering through the plugin to the lab.
#   . tests/exim/env.sh BUILD_DIR LAB_STATE
# Defines B LAB SRC W EXIM MAINLOG, the configurations $W/exim.conf,
# exim-audit.conf, exim-missing.conf and exim-stub.conf, and send CONF DOMAIN TOKEN.
B=$(cd "$1" && pwd)
LAB=$(cd "$2" && pwd)
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$LAB/lab.env"
W=${EXIM_WORK:-$B/exim-test}
EXIM=${EXIM:-/usr/sbin/exim4}
rm -rf "$W"
mkdir -p "$W/spool" "$W/log"
W=$(cd "$W" && pwd)
chown -R Debian-exim:Debian-exim "$W/spool" "$W/log"

# The plugin's configuration for the lab: its trust anchor, and answers
# from the lab's recursive resolver through a resolv.conf, as on a real host
# (validation in the plugin); danesmtp-stub.conf asks NSD directly instead.
{
    echo "trust-anchor-file = $LAB/trust-anchor"; echo "root-anchor = no"
    while read -r zone addr; do echo "stub = $zone $addr"; done < "$LAB/stubs"
    echo "timeout = 3000"
} > "$W/danesmtp-stub.conf"
if [ -n "${LAB_RESOLVER:-}" ]; then
    printf 'trust-anchor-file = %s\nroot-anchor = no\nresolv-conf = %s\ntimeout = 3000\n' \
        "$LAB/trust-anchor" "$LAB/resolv.conf" > "$W/danesmtp.conf"
else
    cp "$W/danesmtp-stub.conf" "$W/danesmtp.conf"
fi
# The answer cache as packaged (debian/danesmtp.postinst): a directory of
# Exim's user, mode 700. The stub configuration has none: its tests change
# TLSA records and expect the next delivery to see the change at once.
mkdir -p "$W/cache"
chown Debian-exim:Debian-exim "$W/cache"
chmod 700 "$W/cache"
echo "cache = $W/cache/answers.mdb" >> "$W/danesmtp.conf"
{ cat "$W/danesmtp.conf"; echo "audit-only = yes"; } > "$W/danesmtp-audit.conf"

make_conf() { # OUT LIBRARY CONFIG
    sed -e "s|@SPOOL@|$W/spool|; s|@LOG@|$W/log|; s|@LIBRARY@|$2|; s|@CONFIG@|$3|" \
        -e "s|@PORT@|$LAB_SMTP_PORT|; s|@SRC@|$SRC|g" "$SRC/tests/exim/test.conf.in" > "$1"
}
make_conf "$W/exim.conf" "$B/libdanesmtp.so.1" "$W/danesmtp.conf"
make_conf "$W/exim-audit.conf" "$B/libdanesmtp.so.1" "$W/danesmtp-audit.conf"
make_conf "$W/exim-missing.conf" "$W/no-such-dir/libdanesmtp.so.1" "$W/danesmtp.conf"
make_conf "$W/exim-stub.conf" "$B/libdanesmtp.so.1" "$W/danesmtp-stub.conf"
printf 'not a shared object\n' > "$W/garbage.so"
make_conf "$W/exim-garbage.conf" "$W/garbage.so" "$W/danesmtp.conf"
# Service mode: the same, with Exim loading only the C client, which asks
# danesmtpd on $W/service/exim.sock (started by the test that needs it:
# start_service / stop_service).
mkdir -p "$W/service"
chown Debian-exim:Debian-exim "$W/service"
chmod 700 "$W/service"
SOCKET="$W/service/exim.sock"
make_conf "$W/exim-service.conf" "$B/libdanesmtp.so.1" "$W/danesmtp.conf"
sed -i "s|^DANESMTP_PORT = .*|&\nDANESMTP_SOCKET = $SOCKET\nDANESMTP_CLIENT = $B/danesmtp-exim-client.so|" "$W/exim-service.conf"
SERVICE_PID=""
start_service() { # as Exim's user, as the package's unit runs it
    setpriv --reuid Debian-exim --regid Debian-exim --clear-groups "$B/danesmtpd" --socket "$SOCKET" &
    SERVICE_PID=$!
    for _ in $(seq 50); do [ -S "$SOCKET" ] && return 0; sleep 0.1; done
    echo "danesmtpd did not start" >&2
    return 1
}
stop_service() {
    [ -n "$SERVICE_PID" ] || return 0
    kill "$SERVICE_PID" 2>/dev/null
    wait "$SERVICE_PID" 2>/dev/null
    SERVICE_PID=""
}
MAINLOG="$W/log/mainlog"

if ! "$EXIM" -C "$W/exim.conf" -bV >"$W/bV.out" 2>&1; then
    echo "exim: the test configuration does not load:" >&2
    cat "$W/bV.out" >&2
    exit 1
fi

# send CONF DOMAIN TOKEN: one message with TOKEN in its subject, delivered now.
send() {
    rm -f "$W"/spool/db/* 2>/dev/null
    printf 'From: test@exim-test.invalid\nTo: user@%s\nSubject: %s\n\nbody %s\n' "$2" "$3" "$3" |
        "$EXIM" -C "$1" -odi -f test@exim-test.invalid "user@$2" >>"$W/send.out" 2>&1
}
