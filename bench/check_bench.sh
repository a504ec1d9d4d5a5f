#!/bin/bash
# SPDX-License-Identifier: MIT
# check_bench.sh - `danesmtp check --from` over the lab's many domains
# (tests/lab/cases, "many": 250 good DANE domains, each its own MX host)
# against Postfix's posttls-finger run one domain after another, the way an
# administrator checks a list today, on the same domains in the same run.
#   bash bench/check_bench.sh BUILD_DIR LAB_STATE     (make bench brings the lab up)
# Environment: BENCH_CHECK_JOBS (default 16), BENCH_CHECK_ROUNDS (default 2).
#
# posttls-finger comes from Debian's postfix package, unpacked (apt-get
# download + dpkg -x into BUILD_DIR/postfix; never installed: it conflicts
# with exim4). It trusts the AD bit of its system resolver, so, as for
# native Exim (exim_bench.sh), the lab's validating unbound answers it
# through a resolv.conf bind-mounted in a private mount namespace; that
# resolver's CPU is not counted, danesmtp validates in-process and its CPU
# is. Prints figures and the wall-clock ratio; asserts only that both found
# every domain verified.
set -u
B=$1
LAB=$2
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$LAB/lab.env"
JOBS=${BENCH_CHECK_JOBS:-16}
ROUNDS=${BENCH_CHECK_ROUNDS:-2}
W="$B/bench-check"
PF="$B/postfix"
mkdir -p "$W"
DOMAINS="$LAB/many-domains"
N=$(wc -l < "$DOMAINS")

# ---- posttls-finger from the postfix .deb, unpacked once
if [ ! -x "$PF/root/usr/sbin/posttls-finger" ]; then
    rm -rf "$PF" && mkdir -p "$PF"
    (cd "$PF" && apt-get download postfix >/dev/null 2>&1) || { echo "check-bench: apt-get download postfix failed" >&2; exit 1; }
    dpkg -x "$PF"/postfix_*.deb "$PF/root"
fi
mkdir -p "$PF/conf"
# The least posttls-finger needs of a main.cf; no DNSSEC probe of the root
# (the lab has no root zone).
printf 'mail_owner = daemon\nsetgid_group = adm\nmyhostname = danesmtp-bench.invalid\nmydomain = invalid\ndnssec_probe =\n' \
    > "$PF/conf/main.cf"
VR=${LAB_VALIDATING_RESOLVER:?the lab has no validating resolver (root and unbound are needed)}
printf 'nameserver %s\noptions trust-ad\n' "$VR" > "$W/resolv.conf"
for _ in $(seq 50); do
    drill -D @"$VR" ee.dane.test MX 2>/dev/null | grep -q "flags:.* ad" && break
    sleep 0.1
done

STUBS=()
while read -r zone addr; do STUBS+=(--stub "$zone=$addr"); done < "$LAB/stubs"

now_ms() { date +%s%3N; }

run_pf() {  # posttls-finger, one domain after another; CPU in pf.cpu
    "$B/cputime" unshare -m bash -c '
        mount --bind "$1" /etc/resolv.conf || exit 1
        export MAIL_CONFIG=$2 LD_LIBRARY_PATH=$3/usr/lib/postfix
        while read -r d; do
            "$3/usr/sbin/posttls-finger" -c -l dane -t 10 -T 10 "$d:$4" 2>&1
        done < "$5"' sh "$W/resolv.conf" "$PF/conf" "$PF/root" "$LAB_SMTP_PORT" "$DOMAINS" > "$W/pf.out" 2> "$W/pf.cpu"
    grep -c "Verified TLS connection established" "$W/pf.out"
}

run_ds() {  # danesmtp check --from
    LD_LIBRARY_PATH=$B "$B/cputime" "$B/danesmtp" check --from "$DOMAINS" --jobs "$JOBS" --json \
        --port "$LAB_SMTP_PORT" --trust-anchor "$LAB/trust-anchor" --no-root-anchor "${STUBS[@]}" \
        --timeout 5000 > "$W/ds.out" 2> "$W/ds.err"
    grep -c '"result":"Verified"' "$W/ds.out"
}

echo "== danesmtp check --from against posttls-finger: $N lab domains, $ROUNDS rounds, --jobs $JOBS"
best_pf=0 best_ds=0 fail=0
for r in $(seq "$ROUNDS"); do
    t0=$(now_ms); v=$(run_pf); t1=$(now_ms)
    pf_ms=$((t1 - t0)); pf_cpu=$(sed -n 's/.*cpu_ms=\([0-9]*\).*/\1/p' "$W/pf.cpu" | tail -1)
    [ "$v" = "$N" ] || { echo "check-bench: posttls-finger verified $v of $N domains" >&2; fail=1; }
    t0=$(now_ms); d=$(run_ds); t1=$(now_ms)
    ds_ms=$((t1 - t0)); ds_cpu=$(sed -n 's/.*cpu_ms=\([0-9]*\).*/\1/p' "$W/ds.err" | tail -1)
    [ "$d" = "$N" ] || { echo "check-bench: danesmtp check found $d of $N domains Verified" >&2; fail=1; }
    printf 'round %d: posttls-finger %6d ms wall (%d ms CPU, %d verified); danesmtp check --from %5d ms wall (%d ms CPU, %d verified); ratio %s\n' \
        "$r" "$pf_ms" "${pf_cpu:-0}" "$v" "$ds_ms" "${ds_cpu:-0}" "$d" "$(awk -v a="$pf_ms" -v b="$ds_ms" 'BEGIN { printf "%.1fx", a / b }')"
    best_pf=$((best_pf == 0 || pf_ms < best_pf ? pf_ms : best_pf))
    best_ds=$((best_ds == 0 || ds_ms < best_ds ? ds_ms : best_ds))
done
printf 'best: posttls-finger %d ms (%.1f ms per domain), danesmtp check --from %d ms (%.1f ms per domain): %s faster\n' \
    "$best_pf" "$(awk -v a="$best_pf" -v n="$N" 'BEGIN { print a / n }')" "$best_ds" \
    "$(awk -v a="$best_ds" -v n="$N" 'BEGIN { print a / n }')" "$(awk -v a="$best_pf" -v b="$best_ds" 'BEGIN { printf "%.1fx", a / b }')"
exit $fail
