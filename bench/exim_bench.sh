#!/bin/bash
# SPDX-License-Identifier: MIT
# exim_bench.sh - the plugin against Exim's native DANE, as a mail server runs
# it: the real exim4 delivering the same messages to the same DANE domains of
# the lab in one queue run (-qff: a delivery process per message), native and
# plugin configurations alternating, CPU of every process counted (bench/cputime
# is a child subreaper: libunbound's resolver processes included).
#   bash bench/exim_bench.sh BUILD_DIR LAB_STATE     (make bench brings the lab up)
# Environment: BENCH_MESSAGES (per run, default 100), BENCH_ROUNDS (default 6).
#
# Native Exim trusts the AD bit of its system resolver, so for its runs a
# validating unbound of the lab (its trust anchor) answers on 127.0.2.54 and a
# private mount namespace puts a resolv.conf naming it (with "options
# trust-ad") over /etc/resolv.conf for that Exim only. Its validation CPU is
# in that daemon, not in Exim's processes; the plugin validates in-process,
# so its figures include validation. That is the comparison an administrator
# makes (issue 11). Prints figures; asserts only that every message arrived.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
EXIM_WORK="$1/bench-exim"
. "$SRC/tests/exim/env.sh" "$1" "$2" || exit 1
N=${BENCH_MESSAGES:-100}
ROUNDS=${BENCH_ROUNDS:-6}
CPUTIME="$B/cputime"
DOMAINS=(ee.dane.test ta.dane.test cname.dane.test threemx.dane.test rollover.dane.test)

check_cache() { grep -q "^cache = " "$W/danesmtp.conf"; }  # env.sh sets it up as packaged
check_cache || { echo "exim-bench: the plugin configuration has no answer cache" >&2; exit 1; }

# ---- the lab's validating resolver, for native Exim
VR=${LAB_VALIDATING_RESOLVER:?the lab has no validating resolver (root and unbound are needed)}
for _ in $(seq 50); do
    drill -D @"$VR" ee.dane.test MX 2>/dev/null | grep -q "flags:.* ad" && break
    sleep 0.1
done
printf 'nameserver %s\noptions trust-ad\n' "$VR" > "$W/resolv-native.conf"

# ---- native Exim: dnslookup + hosts_require_dane, its own spool and log
mkdir -p "$W/native/spool" "$W/native/log"
chown -R Debian-exim:Debian-exim "$W/native"
cat > "$W/native.conf" <<EOF
primary_hostname = exim-test.invalid
spool_directory = $W/native/spool
log_file_path = $W/native/log/%slog
exim_user = Debian-exim
exim_group = Debian-exim
deliver_drop_privilege = true
never_users =
keep_environment =
domainlist local_domains = exim-test.invalid
qualify_domain = exim-test.invalid
log_selector = +tls_certificate_verified +tls_peerdn +tls_sni
dns_dnssec_ok = 1
begin routers
dnslookup:
  driver = dnslookup
  domains = ! +local_domains
  dnssec_request_domains = *
  self = send
  transport = native_smtp
  no_more
begin transports
native_smtp:
  driver = smtp
  port = $LAB_SMTP_PORT
  dnssec_request_domains = *
  hosts_require_dane = *
  tls_tempfail_tryclear = false
begin retry
*   *   F,1h,1m
EOF

submit() { # CONF
    {
        for i in $(seq 1 "$N"); do
            d=${DOMAINS[$(( (i - 1) % ${#DOMAINS[@]} ))]}
            printf 'MAIL FROM:<bench@exim-test.invalid>\r\nRCPT TO:<user@%s>\r\nDATA\r\n' "$d"
            printf 'From: bench@exim-test.invalid\r\nTo: user@%s\r\nSubject: bench-%d\r\n\r\nbench\r\n.\r\n' "$d" "$i"
        done
        echo QUIT
    } | "$EXIM" -C "$1" -odq -bS >/dev/null 2>&1
}
# tree_cpu PID: CPU ms used so far by PID and every process below it
# (/proc: utime stime cutime cstime, in clock ticks): danesmtpd's threads,
# its libunbound resolver process, and children it has reaped.
TICK_MS=$((1000 / $(getconf CLK_TCK)))
tree_cpu() {
    local pid=$1 total=0 kid t
    [ -r "/proc/$pid/stat" ] || { echo 0; return; }
    t=$(sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13 + $14 + $15}')
    total=$((t * TICK_MS))
    for kid in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
        total=$((total + $(tree_cpu "$kid")))
    done
    echo "$total"
}

run() { # MODE -> "cpu_ms wall_ms delivered"
    local conf log out svc_before=0 svc_after=0
    case "$1" in
        native) conf="$W/native.conf"; log="$W/native/log/mainlog" ;;
        plugin) conf="$W/exim.conf"; log="$MAINLOG" ;;
        service) conf="$W/exim-service.conf"; log="$MAINLOG"; svc_before=$(tree_cpu "$SERVICE_PID") ;;
    esac
    submit "$conf"
    local before
    before=$(grep -c " => " "$log" 2>/dev/null)
    if [ "$1" = native ]; then
        out=$(unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && exec "$2" "$3" -C "$4" -qff' \
              sh "$W/resolv-native.conf" "$CPUTIME" "$EXIM" "$conf" 2>&1 >/dev/null | tail -1)
    else
        out=$("$CPUTIME" "$EXIM" -C "$conf" -qff 2>&1 >/dev/null | tail -1)
    fi
    local after cpu wall
    after=$(grep -c " => " "$log")
    [ "$1" = service ] && svc_after=$(tree_cpu "$SERVICE_PID")
    cpu=$(sed -n 's/.*cpu_ms=\([0-9.]*\).*/\1/p' <<<"$out")
    [ "$1" = service ] && echo $((svc_after - svc_before)) > "$W/svc_cpu"
    cpu=$(echo "$cpu + $svc_after - $svc_before" | bc)
    wall=$(sed -n 's/.*wall_ms=\([0-9.]*\).*/\1/p' <<<"$out")
    echo "$cpu $wall $((after - before))"
}

MODES="native plugin service"
trap stop_service EXIT
start_service || exit 1
declare -A CPU WALL DELIV
SVC=0  # danesmtpd's part of the service runs
for m in $MODES; do CPU[$m]=0; WALL[$m]=0; DELIV[$m]=0; done
for m in $MODES; do run "$m" >/dev/null; done  # warm-up: caches, page cache
for r in $(seq 1 "$ROUNDS"); do
    for m in $MODES; do
        read -r c w d < <(run "$m")
        svc=""
        if [ "$m" = service ]; then
            svc=" (danesmtpd $(cat "$W/svc_cpu") ms)"
            SVC=$((SVC + $(cat "$W/svc_cpu")))
        fi
        printf 'exim-bench: round %d %-7s %d messages: cpu %.0f ms%s, wall %.0f ms, %d delivered\n' "$r" "$m" "$N" "$c" "$svc" "$w" "$d"
        CPU[$m]=$(echo "${CPU[$m]} + $c" | bc); WALL[$m]=$(echo "${WALL[$m]} + $w" | bc)
        DELIV[$m]=$(( ${DELIV[$m]} + d ))
    done
done
stop_service
total=$(( N * ROUNDS ))
for m in $MODES; do
    printf 'exim-bench: %-7s per message: cpu %.2f ms, wall %.2f ms (%d of %d delivered)\n' "$m" \
        "$(echo "${CPU[$m]} / $total" | bc -l)" "$(echo "${WALL[$m]} / $total" | bc -l)" "${DELIV[$m]}" "$total"
done
printf 'exim-bench: service breakdown per message: Exim processes %.2f ms, danesmtpd %.2f ms (its threads and resolver)\n' \
    "$(echo "(${CPU[service]} - $SVC) / $total" | bc -l)" "$(echo "$SVC / $total" | bc -l)"
for m in plugin service; do
    printf 'exim-bench: %-7s / native: cpu %.2fx, wall %.2fx\n' "$m" \
        "$(echo "${CPU[$m]} / ${CPU[native]}" | bc -l)" "$(echo "${WALL[$m]} / ${WALL[native]}" | bc -l)"
done
echo "exim-bench: DANE-verified deliveries: native $(grep -c ' => .* CV=dane ' "$W/native/log/mainlog"), plugin and service $(grep -c 'danesmtp: H=.* DANE verified' "$MAINLOG") (warm-up runs included)"
[ "${DELIV[native]}" = "$total" ] && [ "${DELIV[plugin]}" = "$total" ] && [ "${DELIV[service]}" = "$total" ]
