#!/bin/bash
# SPDX-License-Identifier: MIT
# soak.sh - the real exim4 with the plugin delivering many messages to the lab
# while faults are injected; afterwards every message must have arrived exactly
# once, none in clear text or unverified at a DANE host, none bounced.
#   bash tests/soak/soak.sh BUILD_DIR LAB_STATE     (make soak brings the lab up)
# Environment: SOAK_MESSAGES (default 1000), SOAK_FAULT_SECONDS (how long
# faults go on, default 90), SOAK_TIMEOUT (seconds to wait for an empty queue
# afterwards, default 300), SOAK_RUNNERS (parallel queue-runner loops, 3).
#
# Faults, in turn, every few seconds while they go on:
#   nsd        the lab's NSD killed and started again
#   resolver   the lab's recursive resolver (the plugin's source of answers,
#              through resolv.conf) killed and started again
#   tlsa       nomatch.dane.test's TLSA RRset switched to a record that does
#              not match its server's key, and back (re-signed, NSD reloaded)
#   die        the server of ee.dane.test dies in the middle of a session
#              (exits when DATA arrives, before accepting), started again
#   stall      the server of ta.dane.test says nothing for 20 s after STARTTLS
#   libunbound the plugin's resolver processes (children of exim4 processes
#              that are themselves exim4) killed with SIGKILL
# Every process this script starts it stops, by PID.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/testlib.sh"
EXIM_WORK="$1/soak-exim"
. "$SRC/tests/exim/env.sh" "$1" "$2" || exit 1
N=${SOAK_MESSAGES:-1000}
FAULT_SECONDS=${SOAK_FAULT_SECONDS:-90}
TIMEOUT=${SOAK_TIMEOUT:-300}
RUNNERS=${SOAK_RUNNERS:-3}
CONF="$W/exim.conf"
LABSH="$SRC/tests/lab/lab.sh"

# Destinations: DANE ones (must arrive verified, over TLS, at the listed
# addresses) and the others (encrypt: TLS; may: anything).
DANE_DOMAINS="ee ta cname cnameorig tlsacname threemx mismatchfirst prefbogus rollover implicit nomatch"
OTHER_DOMAINS="unusable:encrypt plain:may"
declare -A WANT_IPS KIND
for d in $DANE_DOMAINS; do KIND[$d.dane.test]=dane; done
KIND[unusable.dane.test]=encrypt
KIND[plain.insecure.test]=may
WANT_IPS[ee.dane.test]=$LAB_HOST_mx_ee
WANT_IPS[ta.dane.test]=$LAB_HOST_mx_ta
WANT_IPS[cname.dane.test]=$LAB_HOST_mx_real_cname
WANT_IPS[cnameorig.dane.test]=$LAB_HOST_mx_real_cnameorig
WANT_IPS[tlsacname.dane.test]=$LAB_HOST_mx_tlsacname
WANT_IPS[threemx.dane.test]="$LAB_HOST_mx1_threemx $LAB_HOST_mx2_threemx $LAB_HOST_mx3_threemx"
WANT_IPS[mismatchfirst.dane.test]=$LAB_HOST_mx2_mismatchfirst
WANT_IPS[prefbogus.dane.test]=$LAB_HOST_mx2_prefbogus
WANT_IPS[rollover.dane.test]=$LAB_HOST_mx_rollover
WANT_IPS[implicit.dane.test]=$LAB_HOST_implicit_implicit
WANT_IPS[nomatch.dane.test]=$LAB_HOST_mx_nomatch
WANT_IPS[unusable.dane.test]=$LAB_HOST_mx_unusable
WANT_IPS[plain.insecure.test]=$LAB_HOST_mx_plain
DOMAINS=()
for d in $DANE_DOMAINS; do DOMAINS+=("$d.dane.test"); done
DOMAINS+=(unusable.dane.test plain.insecure.test)

pids=()
cleanup() {
    touch "$W/stop"
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -f "$LAB"/faults/*/stall "$LAB"/faults/*/die
}
trap cleanup EXIT

# nomatch starts matching (the lab's case has a mismatching record).
bash "$LABSH" set-tlsa "$LAB" '_{port}._tcp.mx.nomatch.dane.test' "3 1 1 pki:ee-ec" >/dev/null

# ---- messages: batched SMTP (-bS: local, no ACLs), queued only (-odq), in
# 20 batches spread over the fault period so that deliveries meet faults.
submit() { # FIRST LAST
    {
        for i in $(seq "$1" "$2"); do
            d=${DOMAINS[$(( (i - 1) % ${#DOMAINS[@]} ))]}
            printf 'MAIL FROM:<soak@exim-test.invalid>\r\nRCPT TO:<user@%s>\r\nDATA\r\n' "$d"
            printf 'From: soak@exim-test.invalid\r\nTo: user@%s\r\nSubject: soak-%d\r\n\r\nsoak message %d\r\n.\r\n' "$d" "$i" "$i"
        done
        echo "QUIT"
    } | "$EXIM" -C "$CONF" -odq -bS >>"$W/submit.out" 2>&1
}
start=$(date +%s)
BATCHES=20
(
    per=$(( (N + BATCHES - 1) / BATCHES ))
    for b in $(seq 0 $((BATCHES - 1))); do
        first=$(( b * per + 1 )); last=$(( (b + 1) * per ))
        [ "$first" -le "$N" ] || break
        [ "$last" -le "$N" ] || last=$N
        submit "$first" "$last"
        sleep "$(( FAULT_SECONDS / BATCHES ))"
    done
) &
submitter=$!
pids+=($submitter)

# ---- queue runners: forced runs, in parallel, until told to stop
for r in $(seq 1 "$RUNNERS"); do
    (
        while [ ! -f "$W/stop" ]; do
            "$EXIM" -C "$CONF" -qff >>"$W/runner.out" 2>&1
            sleep 1
        done
    ) &
    pids+=($!)
done

# ---- faults, for FAULT_SECONDS
declare -A FAULTS
fault() { FAULTS[$1]=$(( ${FAULTS[$1]:-0} + 1 )); }
# libunbound's resolver processes: forked (not exec'd) by an Exim delivery
# process, so exim4 children of exim4, and the only ones with an epoll
# descriptor (libunbound's event loop; Exim itself uses poll/select).
kill_libunbound() {
    local n=0 pid ppid comm pcomm
    for f in /proc/[0-9]*/stat; do
        read -r stat 2>/dev/null <"$f" || continue
        pid=${f#/proc/}; pid=${pid%/stat}
        comm=${stat#*(}; comm=${comm%%)*}
        [ "$comm" = exim4 ] || continue
        read -r _ ppid _ <<<"${stat##*) }"
        read -r pstat 2>/dev/null <"/proc/$ppid/stat" || continue
        pcomm=${pstat#*(}; pcomm=${pcomm%%)*}
        [ "$pcomm" = exim4 ] || continue
        ls -l "/proc/$pid/fd" 2>/dev/null | grep -q 'anon_inode:\[eventpoll\]' || continue
        kill -KILL "$pid" 2>/dev/null && n=$((n + 1))
    done
    echo "$n"
}
t_end=$(( $(date +%s) + FAULT_SECONDS ))
step=0
while [ "$(date +%s)" -lt "$t_end" ]; do
    case $(( step % 6 )) in
        0) bash "$LABSH" restart "$LAB" nsd >/dev/null 2>&1 && fault nsd ;;
        1) [ -n "${LAB_RESOLVER:-}" ] && bash "$LABSH" restart "$LAB" unbound >/dev/null 2>&1 && fault resolver ;;
        2) bash "$LABSH" set-tlsa "$LAB" '_{port}._tcp.mx.nomatch.dane.test' "3 1 1 pki:ee-rsa" >/dev/null 2>&1 && fault tlsa
           sleep 3
           bash "$LABSH" set-tlsa "$LAB" '_{port}._tcp.mx.nomatch.dane.test' "3 1 1 pki:ee-ec" >/dev/null 2>&1 ;;
        3) touch "$LAB/faults/$LAB_HOST_mx_ee/die"; fault die
           sleep 3
           # started again when the fault killed it (or killed now if not)
           bash "$LABSH" restart "$LAB" "$LAB_HOST_mx_ee" >/dev/null 2>&1
           rm -f "$LAB/faults/$LAB_HOST_mx_ee/die" ;;
        4) echo 20 > "$LAB/faults/$LAB_HOST_mx_ta/stall"; fault stall
           sleep 4
           rm -f "$LAB/faults/$LAB_HOST_mx_ta/stall" ;;
        5) # they live as long as one delivery: look for a while
           for _ in $(seq 30); do
               k=$(kill_libunbound); FAULTS[libunbound]=$(( ${FAULTS[libunbound]:-0} + k ))
               sleep 0.1
           done ;;
    esac
    step=$((step + 1))
    sleep 2
done
wait "$submitter"
echo "soak: $N messages submitted in $(( $(date +%s) - start )) s"
# Everything back as it should be.
bash "$LABSH" set-tlsa "$LAB" '_{port}._tcp.mx.nomatch.dane.test' "3 1 1 pki:ee-ec" >/dev/null 2>&1
rm -f "$LAB"/faults/*/stall "$LAB"/faults/*/die
bash "$LABSH" status "$LAB" >/dev/null 2>&1 || {
    bash "$LABSH" restart "$LAB" "$LAB_HOST_mx_ee" >/dev/null 2>&1
}
echo "soak: faults injected: $(for k in "${!FAULTS[@]}"; do printf '%s=%s ' "$k" "${FAULTS[$k]}"; done)"

# ---- wait for the queue to empty
deadline=$(( $(date +%s) + TIMEOUT ))
while [ "$("$EXIM" -C "$CONF" -bpc)" != 0 ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 2; done
touch "$W/stop"
for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
pids=()
left=$("$EXIM" -C "$CONF" -bpc)
elapsed=$(( $(date +%s) - start ))

# ---- what arrived
# token -> "count ip tls"
declare -A COUNT WHERE TLS
while IFS= read -r f; do
    tok=$(sed -n 's/^Subject: soak-\([0-9]*\)\r\{0,1\}$/\1/p' "$f" | head -1)
    [ -n "$tok" ] || continue
    COUNT[$tok]=$(( ${COUNT[$tok]:-0} + 1 ))
    ip=${f#"$LAB/spool/"}; ip=${ip%%/*}
    WHERE[$tok]=$ip
    TLS[$tok]=$(sed -n 's/^X-Lab-TLS: //p' "$f" | head -1)
done < <(grep -rl '^Subject: soak-' "$LAB/spool" 2>/dev/null)

once=0 missing=0 dup=0 clear=0 wrong=0 unverified=0
for i in $(seq 1 "$N"); do
    d=${DOMAINS[$(( (i - 1) % ${#DOMAINS[@]} ))]}
    c=${COUNT[$i]:-0}
    if [ "$c" = 0 ]; then missing=$((missing + 1)); continue; fi
    if [ "$c" -gt 1 ]; then dup=$((dup + 1)); else once=$((once + 1)); fi
    if [ "${KIND[$d]}" != may ] && [ "${TLS[$i]}" != yes ]; then clear=$((clear + 1)); fi
    case " ${WANT_IPS[$d]} " in *" ${WHERE[$i]} "*) ;; *) wrong=$((wrong + 1)) ;; esac
done
# Every delivery to a DANE destination follows a "DANE verified" line of the
# same message (the plugin's tls:cert verdict), in Exim's main log.
declare -A VERIFIED
while read -r _ _ id _; do VERIFIED[$id]=1; done < <(grep ' danesmtp: H=.* DANE verified ' "$MAINLOG")
dane_deliveries=0
while read -r _ _ id _ rcpt _; do
    d=${rcpt#*@}
    [ "${KIND[$d]:-}" = dane ] || continue
    dane_deliveries=$((dane_deliveries + 1))
    [ -n "${VERIFIED[$id]:-}" ] || unverified=$((unverified + 1))
done < <(grep ' => user@' "$MAINLOG")
bounced=$(grep -c ' \*\* user@' "$MAINLOG")
deferrals=$(grep -c ' == user@' "$MAINLOG")
refusals=$(grep -c 'danesmtp: H=.* DANE failed' "$MAINLOG")

echo "soak: $N messages in $elapsed s: delivered once $once, twice or more $dup, missing $missing, still queued $left"
echo "soak: clear text where TLS was required $clear, delivered to a host outside the plan $wrong, DANE deliveries without a verified verdict $unverified of $dane_deliveries, bounced $bounced"
echo "soak: on the way: $deferrals deferrals, $refusals DANE refusals (the first MX host of mismatchfirst.dane.test on each attempt, nomatch.dane.test while its TLSA record mismatches)"
check "every message delivered" '[ "$missing" = 0 ] && [ "$left" = 0 ]'
check "no message delivered twice" '[ "$dup" = 0 ]'
check "no clear text where TLS was required" '[ "$clear" = 0 ]'
check "only hosts the plan allows" '[ "$wrong" = 0 ]'
check "every DANE delivery verified" '[ "$unverified" = 0 ] && [ "$dane_deliveries" -gt 0 ]'
check "nothing bounced" '[ "$bounced" = 0 ]'
check "faults were injected" '[ "${#FAULTS[@]}" -ge 5 ]'
check "no stray output on stderr" '! grep -q "libunbound\|tube msg" "$W/runner.out" "$W/submit.out"'
finish soak
