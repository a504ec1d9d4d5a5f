#!/bin/bash
# SPDX-License-Identifier: MIT
# exim_test.sh - the real Debian exim4 delivering through the plugin to the
# lab. Run by `make exim-test`, which brings the lab up first:
#   bash tests/exim/exim_test.sh BUILD_DIR LAB_STATE
# Each case sends a message with `exim4 -odi` and asserts, from the lab
# servers' spools (what really arrived, over TLS or not, with which SNI) and
# from Exim's main log, what happened. Exim runs with a private -C
# configuration, spool and log; no Exim daemon is started.
set -u
. "$(dirname "$0")/../testlib.sh"

. "$(dirname "$0")/env.sh" "$1" "$2" || exit 1

# spool_file TOKEN [IP]: the lab spool file that holds TOKEN (on IP), if any.
spool_file() { grep -rl -- "$1" "$LAB/spool/${2:-}" 2>/dev/null | head -1; }
header() { sed -n "s/^$2: //p" "$1" | head -1; }
log_has() { grep -qF -- "$1" "$MAINLOG"; }
log_lines() { grep -F -- "$1" "$MAINLOG"; }
queued() { "$EXIM" -C "$W/exim.conf" -bp 2>/dev/null | grep -c "user@$1"; }

delivered_tls() { # NAME DOMAIN IP SNI TOKEN: delivered to IP over TLS with SNI
    local name=$1 ip=$3 sni=$4 token=$5 f
    f=$(spool_file "$token" "$ip")
    if [ -z "$f" ]; then bad "$name: not delivered to $ip"; return; fi
    ok
    check "$name: TLS" '[ "$(header "$f" X-Lab-TLS)" = yes ]'
    if [ -n "$sni" ]; then check "$name: SNI $sni" '[ "$(header "$f" X-Lab-SNI)" = "$sni" ]'; fi
}
not_delivered() { # NAME TOKEN
    local f
    f=$(spool_file "$2")
    if [ -n "$f" ]; then bad "$1: delivered although it must not be: $f"; else ok; fi
}

# ---- 1. matching 3 1 1: delivered over TLS, logged as verified
send "$W/exim.conf" ee.dane.test t-ee
delivered_tls "3 1 1 match" ee.dane.test "$LAB_HOST_mx_ee" mx.ee.dane.test t-ee
check "3 1 1 log verified" 'log_has "danesmtp: H=mx.ee.dane.test [$LAB_HOST_mx_ee] DANE verified base=mx.ee.dane.test: DANE-EE(3) SPKI(1) SHA2-256(1)"'
check "3 1 1 Exim delivery line" 'log_lines "user@ee.dane.test" | grep -q "=> user@ee.dane.test .*X=TLS"'

# the same with the plugin asking NSD directly (stub zones) instead of a resolver
send "$W/exim-stub.conf" ee.dane.test t-ee-stub
delivered_tls "3 1 1 match, stub zones" ee.dane.test "$LAB_HOST_mx_ee" mx.ee.dane.test t-ee-stub
check "plugin resolver for these tests" 'if [ -n "${LAB_RESOLVER:-}" ]; then grep -q resolv-conf "$W/danesmtp.conf"; else true; fi'

# ---- 2. DANE-TA 2 1 1 with a good name: delivered
send "$W/exim.conf" ta.dane.test t-ta
delivered_tls "DANE-TA" ta.dane.test "$LAB_HOST_mx_ta" mx.ta.dane.test t-ta
check "DANE-TA log verified" 'log_has "H=mx.ta.dane.test [$LAB_HOST_mx_ta] DANE verified"'

# a CNAME'd MX host: the SNI sent is the TLSA base domain, the expanded name
send "$W/exim.conf" cname.dane.test t-cname
delivered_tls "CNAME'd MX" cname.dane.test "$LAB_HOST_mx_real_cname" mx-real.cname.dane.test t-cname

# ---- 3. DANE-TA name mismatch: deferred, never delivered
send "$W/exim.conf" taname.dane.test t-taname
not_delivered "DANE-TA name mismatch" t-taname
check "name mismatch deferred" '[ "$(queued taname.dane.test)" = 1 ]'
check "name mismatch logged" 'log_has "H=mx.taname.dane.test [$LAB_HOST_mx_taname] DANE failed"'

# ---- 4. TLSA mismatch on the only MX: deferred, never sent; the domain's
# operator fixes the TLSA record (re-signed zone, NSD reloaded), and the next
# queue run delivers: nothing lost, nothing sent in clear text. The plugin
# asks NSD directly here (no resolver cache holding the old record).
send "$W/exim-stub.conf" nomatch.dane.test t-nomatch
not_delivered "mismatch only MX" t-nomatch
check "mismatch deferred" '[ "$(queued nomatch.dane.test)" = 1 ]'
check "mismatch: Exim defer line" 'log_lines "user@nomatch.dane.test" | grep -q "== user@nomatch.dane.test"'
"$EXIM" -C "$W/exim-stub.conf" -qff >>"$W/send.out" 2>&1
not_delivered "mismatch still refused on a queue run" t-nomatch
bash "$SRC/tests/lab/lab.sh" set-tlsa "$LAB" '_{port}._tcp.mx.nomatch.dane.test' "3 1 1 pki:ee-ec"
rm -f "$W"/spool/db/*
"$EXIM" -C "$W/exim-stub.conf" -qff >>"$W/send.out" 2>&1
delivered_tls "TLSA fixed, queue run" nomatch.dane.test "$LAB_HOST_mx_nomatch" mx.nomatch.dane.test t-nomatch
check "queue empty after the fix" '[ "$(queued nomatch.dane.test)" = 0 ]'
check "fixed record logged as verified" 'log_has "H=mx.nomatch.dane.test [$LAB_HOST_mx_nomatch] DANE verified"'

# ---- 5. mismatch on the best MX, good second MX: delivered to the second
send "$W/exim.conf" mismatchfirst.dane.test t-mmfirst
delivered_tls "second MX" mismatchfirst.dane.test "$LAB_HOST_mx2_mismatchfirst" mx2.mismatchfirst.dane.test t-mmfirst
check "not on the first MX" '[ -z "$(spool_file t-mmfirst "$LAB_HOST_mx1_mismatchfirst")" ]'
check "first MX refused in log" 'log_has "H=mx1.mismatchfirst.dane.test [$LAB_HOST_mx1_mismatchfirst] DANE failed"'

# ---- 6. all records unusable: unauthenticated TLS, never clear text
send "$W/exim.conf" unusable.dane.test t-unusable
delivered_tls "unusable records" unusable.dane.test "$LAB_HOST_mx_unusable" mx.unusable.dane.test t-unusable

# ---- 7. STARTTLS stripped by a DANE host: deferred
send "$W/exim.conf" nostarttls.dane.test t-nostarttls
not_delivered "STARTTLS stripped" t-nostarttls
check "STARTTLS stripped deferred" '[ "$(queued nostarttls.dane.test)" = 1 ]'

# ---- 8. a handshake that fails: deferred
send "$W/exim.conf" badtls.dane.test t-badtls
not_delivered "broken handshake" t-badtls
check "broken handshake deferred" '[ "$(queued badtls.dane.test)" = 1 ]'

# ---- 9. bogus TLSA on the first MX: never connected to, the next MX used
# (the lab's start-up probe did connect once: count only what comes after)
bogus_log="$LAB/log/smtpd-$LAB_HOST_mx1_prefbogus.log"
before=$(grep -c ": connected" "$bogus_log")
send "$W/exim.conf" prefbogus.dane.test t-prefbogus
delivered_tls "bogus first MX" prefbogus.dane.test "$LAB_HOST_mx2_prefbogus" mx2.prefbogus.dane.test t-prefbogus
check "bogus MX host never contacted" '! grep -q "$LAB_HOST_mx1_prefbogus" "$MAINLOG" && [ "$(grep -c ": connected" "$bogus_log")" = "$before" ] && [ "$before" -ge 1 ]'

# ---- 10. bogus MX: deferred
send "$W/exim.conf" bogus.test t-bogusmx
not_delivered "bogus MX" t-bogusmx
check "bogus MX deferred" '[ "$(queued bogus.test)" = 1 ]'
check "bogus MX reason logged" 'log_lines "user@bogus.test" | grep -q "DANE: MX lookup bogus"'

# ---- 11. no DANE (insecure zone): opportunistic TLS
send "$W/exim.conf" plain.insecure.test t-plain
delivered_tls "insecure zone" plain.insecure.test "$LAB_HOST_mx_plain" "" t-plain

# ---- 12. null MX: bounced at once, not deferred
send "$W/exim.conf" nullmx.dane.test t-nullmx
check "null MX fails" 'log_lines "user@nullmx.dane.test" | grep -q "\*\* user@nullmx.dane.test"'

# ---- 13. the plugin file missing: deferred, nothing delivered unverified
send "$W/exim-missing.conf" ee.dane.test t-missing
not_delivered "plugin missing" t-missing
check "plugin missing deferred" '[ "$(queued ee.dane.test)" = 1 ]'
check "plugin missing logged" 'log_lines "user@ee.dane.test" | grep -q "== user@ee.dane.test.*no-such-dir"'

send "$W/exim-garbage.conf" ee.dane.test t-garbage
not_delivered "plugin unloadable" t-garbage
check "plugin unloadable deferred" 'log_lines "user@ee.dane.test" | grep -q "== user@ee.dane.test.*garbage.so"'

# ---- 14. audit-only: delivered, the failed verdict logged
send "$W/exim-audit.conf" agility.dane.test t-audit
delivered_tls "audit-only" agility.dane.test "$LAB_HOST_mx_agility" mx.agility.dane.test t-audit
check "audit-only logged" 'log_has "H=mx.agility.dane.test [$LAB_HOST_mx_agility] DANE failed (audit-only, not enforced)"'
# audit-only, the only MX host has a bogus TLSA RRset: tried all the same
# (issue 7 item 10), what would have deferred it logged
send "$W/exim-audit.conf" bogustlsa.dane.test t-audit-bogus
delivered_tls "audit-only, bogus TLSA on the only MX" bogustlsa.dane.test "$LAB_HOST_mx_bogustlsa" "" t-audit-bogus
check "audit-only: would be skipped, logged" 'log_has "danesmtp: audit-only: mx.bogustlsa.dane.test would be skipped: TLSA lookup"'
check "audit-only: would be deferred, logged" 'log_has "danesmtp: audit-only: bogustlsa.dane.test would be deferred"'
# audit-only, a DANE host that does not offer STARTTLS: delivered in clear
# text (audit-only does not block) and that downgrade is logged (item 11)
send "$W/exim-audit.conf" nostarttls.dane.test t-audit-clear
f=$(spool_file t-audit-clear "$LAB_HOST_mx_nostarttls")
check "audit-only, STARTTLS stripped: delivered" '[ -n "$f" ] && [ "$(header "$f" X-Lab-TLS)" = no ]'
check "audit-only, STARTTLS stripped: logged" 'log_has "danesmtp: H=mx.nostarttls.dane.test [$LAB_HOST_mx_nostarttls] delivered in clear text although DANE requires authenticated TLS (audit-only, not enforced)"'
send "$W/exim.conf" agility.dane.test t-agility
not_delivered "digest agility enforced" t-agility
check "digest agility: queued" '[ "$(queued agility.dane.test)" = 1 ]'
check "digest agility: refusal logged" 'log_lines "mx.agility.dane.test" | grep -q "DANE failed base="'

# ---- 14b. names and volume from hostile zones (issue 7 items 1, 4, 5)
# a secure CNAME to a target with a space in a label: the TLSA RRset there
# does not match the server's key; the host is unreachable, the message waits
send "$W/exim.conf" oddcname.dane.test t-oddcname
not_delivered "CNAME target with odd bytes" t-oddcname
check "CNAME target with odd bytes: deferred" '[ "$(queued oddcname.dane.test)" = 1 ]'
# the best MX host has 300 TLSA records: skipped, the second MX host used
send "$W/exim.conf" manytlsa.dane.test t-manytlsa
delivered_tls "300 TLSA records on the best MX" manytlsa.dane.test "$LAB_HOST_mx2_manytlsa" mx2.manytlsa.dane.test t-manytlsa
# 1500 addresses and 256 TLSA records on the best MX host: the plan stays
# small (8 addresses, one copy of the records), the message is delivered
out=$(printf '%s\n' "\${dlfunc{$B/libdanesmtp.so.1}{danesmtp_exim_route}{manyaddr.dane.test}{$LAB_SMTP_PORT}{$W/danesmtp.conf}}" |
      "$EXIM" -C "$W/exim.conf" -be 2>&1)
size=${#out}
check "1500 addresses: address_data of $size bytes, under 64 KiB" '[ "$size" -gt 1000 ] && [ "$size" -lt 65536 ]'
# and the message: the first MX host's 8 addresses refuse connections, the
# second MX host takes it (Exim's default hosts_max_try of 5 stopped before it)
send "$W/exim.conf" manyaddr.dane.test t-manyaddr
delivered_tls "8 dead addresses on the best MX" manyaddr.dane.test "$LAB_HOST_mx2_manyaddr" mx2.manyaddr.dane.test t-manyaddr
check "1500 addresses: one copy of the TLSA RRset" '[ "$(printf "%s" "$out" | grep -o "tlsa\.[0-9]*=" | wc -l)" = 2 ]'

# ---- 15. the -be one-liners an administrator uses to check the install
be() { printf '%s\n' "$1" | "$EXIM" -C "$W/exim.conf" -be 2>&1 | head -1; }
lib="$B/libdanesmtp.so.1"
out=$(be "\${dlfunc{$lib}{danesmtp_exim_check}{ee.dane.test}{$LAB_SMTP_PORT}{$W/danesmtp.conf}}")
check "-be check ok" '[ "$out" = "> ok" ]'
out=$(be "\${dlfunc{$lib}{danesmtp_exim_check}{bogus.test}{$LAB_SMTP_PORT}{$W/danesmtp.conf}}")
check "-be check defer" 'case "$out" in "> defer MX lookup bogus"*) true ;; *) false ;; esac'
out=$(be "\${dlfunc{$lib}{danesmtp_exim_route}}")
check "-be wrong argument count" 'case "$out" in *"takes DOMAIN [PORT [CONFIG [MODE]]], got 0"*) true ;; *) false ;; esac'
# The first router's mode: a destination that takes no mail is an answer
# (status=fail, for that router to bounce), a DNS failure still fails.
route_like() { # NAME DOMAIN MODE GLOB: the route entry's -be output matches GLOB
    local mode=""; [ -n "$3" ] && mode="{$3}"
    out=$(be "\${dlfunc{$lib}{danesmtp_exim_route}{$2}{$LAB_SMTP_PORT}{$W/danesmtp.conf}$mode}")
    check "$1" "case \"\$out\" in $4) true ;; *) false ;; esac"
}
route_like "-be route refuse: null MX is status=fail" nullmx.dane.test refuse '"> status=fail reason=\"null MX"*"domain=\"nullmx.dane.test\""*'
route_like "-be route without the mode: null MX fails the expansion" nullmx.dane.test "" '*"DANE: null MX"*'
route_like "-be route refuse: bogus still fails the expansion" bogus.test refuse '*"DANE: MX lookup bogus"*'
route_like "-be route: an unknown mode is an error" ee.dane.test other '*"unknown mode"*'
# One lookup per routing: danesmtp_route takes danesmtp_refuse's plan (Exim's
# expansion trace shows a ${dlfunc} whose result is used once, the other
# skipped).
calls=$("$EXIM" -C "$W/exim.conf" -d+expand -bt user@ee.dane.test 2>&1 | grep -A1 'expanding: ${dlfunc' | grep -c '╰─────result: status=ok')
skipped=$("$EXIM" -C "$W/exim.conf" -d+expand -bt user@ee.dane.test 2>&1 | grep -A2 'expanding: ${dlfunc' | grep -c 'skipping: result is not used')
check "routing makes one lookup for both routers" '[ "$calls" = 1 ] && [ "$skipped" = 1 ]'
out=$(be "\${dlfunc{$lib}{danesmtp_exim_route}{}}")
check "-be empty domain" 'case "$out" in *"empty domain"*) true ;; *) false ;; esac'
out=$(be "\${dlfunc{$lib}{danesmtp_exim_connect}{127.0.0.9}}")
check "-be event arguments refused, not failed" 'case "$out" in "> danesmtp_exim_connect takes"*) true ;; *) false ;; esac'

# ---- 16. one message to an unsigned domain and a DANE domain on the same
# MX address: the DANE domain's policy holds (multi_domain = false)
rm -f "$W"/spool/db/*
printf 'From: test@exim-test.invalid\nSubject: t-shared\n\nbody\n' |
    "$EXIM" -C "$W/exim.conf" -odi -f test@exim-test.invalid user@sharedattacker.insecure.test \
    user@sharedvictim.dane.test >>"$W/send.out" 2>&1
f=$(spool_file t-shared "$LAB_HOST_mx_sharedvictim")
check "shared MX: the unsigned domain delivered" '[ -n "$f" ] && grep -q "^X-Lab-Rcpt-To:.*user@sharedattacker.insecure.test" "$f"'
check "shared MX: the DANE domain not delivered" '! grep -rq "^X-Lab-Rcpt-To:.*user@sharedvictim.dane.test" "$LAB/spool/$LAB_HOST_mx_sharedvictim"'
check "shared MX: the DANE domain deferred" '[ "$(queued sharedvictim.dane.test)" = 1 ]'

# ---- 17. the standalone example configuration loads and routes through the plugin
SA="-DDANESMTP_SNIPPETS=$SRC/exim-config/conf.d -DDANESMTP_LIBRARY=$B/libdanesmtp.so.1 -DDANESMTP_CONFIG=$W/danesmtp.conf -DDANESMTP_PORT=$LAB_SMTP_PORT"
# shellcheck disable=SC2086
check "standalone config loads" '"$EXIM" -C "$SRC/exim-config/exim4.conf.standalone" $SA -bV >"$W/sa.out" 2>&1'
# shellcheck disable=SC2086
"$EXIM" -C "$SRC/exim-config/exim4.conf.standalone" $SA -bt user@ee.dane.test >"$W/sa-bt.out" 2>&1
check "standalone routes by the plugin" 'grep -q "router = danesmtp_route, transport = danesmtp_smtp" "$W/sa-bt.out" && grep -q "host $LAB_HOST_mx_ee" "$W/sa-bt.out"'
# shellcheck disable=SC2086
"$EXIM" -C "$SRC/exim-config/exim4.conf.standalone" $SA -bt user@nullmx.dane.test >"$W/sa-null.out" 2>&1
check "standalone refuses null MX" 'grep -q "null MX" "$W/sa-null.out"'

# ---- 18. RCPT-time check (the standalone configuration's RCPT ACL): a
# recipient domain with broken DNSSEC gets 451 4.7.5, a DANE domain is taken
printf 'EHLO client.invalid\r\nMAIL FROM:<>\r\nRCPT TO:<user@bogus.test>\r\nRCPT TO:<user@ee.dane.test>\r\nQUIT\r\n' |
    # shellcheck disable=SC2086
    "$EXIM" -C "$SRC/exim-config/exim4.conf.standalone" $SA -bh 127.0.0.1 >"$W/bh.out" 2>&1
check "RCPT check defers a bogus domain" 'grep -q "^451.4.7.5 DANE: MX lookup bogus" "$W/bh.out"'
check "RCPT check accepts a DANE domain" '[ "$(grep -c "^250 Accepted" "$W/bh.out")" = 1 ]'

# ---- 19. the answer cache (issue 11): Exim's processes share it, it
# belongs to Exim's user, and one that cannot be used is logged while mail
# flows without it.
check "cache file of Debian-exim, mode 600" '[ "$(stat -c %U:%a "$W/cache/answers.mdb")" = Debian-exim:600 ]'
check "cache lock file of Debian-exim" '[ "$(stat -c %U "$W/cache/answers.mdb-lock")" = Debian-exim ]'
check "cache holds the TLSA RRset of a delivered host" 'mdb_dump -n -p "$W/cache/answers.mdb" | grep -q "/52/_${LAB_SMTP_PORT}._tcp.mx.ee.dane.test"'
check "cache holds no bogus answer" '! mdb_dump -n -p "$W/cache/answers.mdb" | grep -q "/15/bogus.test"'
mkdir -p "$W/opencache" && chmod 777 "$W/opencache"
sed "s|^cache = .*|cache = $W/opencache/answers.mdb|" "$W/danesmtp.conf" > "$W/danesmtp-opencache.conf"
make_conf "$W/exim-opencache.conf" "$B/libdanesmtp.so.1" "$W/danesmtp-opencache.conf"
send "$W/exim-opencache.conf" ee.dane.test t-opencache
delivered_tls "cache others may write: delivered without it" ee.dane.test "$LAB_HOST_mx_ee" mx.ee.dane.test t-opencache
check "cache others may write: logged" 'log_has "danesmtp: answer cache not used: $W/opencache is writable by group or others"'
check "cache others may write: not created" '[ ! -e "$W/opencache/answers.mdb" ]'

# ---- 20. service mode (issue 11): Exim loads only the C client and danesmtpd
# (as Debian-exim) does the work; the same verdicts, and a service that is
# down keeps mail queued, never lets it out unverified.
trap stop_service EXIT
start_service
verified_before=$(grep -c "DANE verified" "$MAINLOG")
send "$W/exim-service.conf" ee.dane.test t-svc-ee
delivered_tls "service: 3 1 1 match" ee.dane.test "$LAB_HOST_mx_ee" mx.ee.dane.test t-svc-ee
send "$W/exim-service.conf" ta.dane.test t-svc-ta
delivered_tls "service: DANE-TA chain" ta.dane.test "$LAB_HOST_mx_ta" mx.ta.dane.test t-svc-ta
check "service: both logged verified in Exim's log" '[ "$(grep -c "DANE verified" "$MAINLOG")" = $((verified_before + 2)) ]'
send "$W/exim-service.conf" taname.dane.test t-svc-taname
not_delivered "service: DANE-TA name mismatch" t-svc-taname
check "service: name mismatch logged" '[ "$(grep -c "H=mx.taname.dane.test \[$LAB_HOST_mx_taname\] DANE failed" "$MAINLOG")" -ge 2 ]'
send "$W/exim-service.conf" bogus.test t-svc-bogus
not_delivered "service: bogus MX" t-svc-bogus
# Hostile zones (14b) through the service, twice each, the second time from
# the answer files where they apply: the same outcomes as in direct mode.
for round in 1 2; do
    send "$W/exim-service.conf" oddcname.dane.test "t-svc-oddcname-$round"
    not_delivered "service: CNAME target with odd bytes ($round)" "t-svc-oddcname-$round"
    send "$W/exim-service.conf" manytlsa.dane.test "t-svc-manytlsa-$round"
    delivered_tls "service: 300 TLSA records on the best MX ($round)" manytlsa.dane.test "$LAB_HOST_mx2_manytlsa" mx2.manytlsa.dane.test "t-svc-manytlsa-$round"
    send "$W/exim-service.conf" manyaddr.dane.test "t-svc-manyaddr-$round"
    delivered_tls "service: 8 dead addresses on the best MX ($round)" manyaddr.dane.test "$LAB_HOST_mx2_manyaddr" mx2.manyaddr.dane.test "t-svc-manyaddr-$round"
done
# The plans danesmtpd leaves for routing without a connection
# (plugin/exim/plan_file.h): files of its user, closed to others; routing
# reads one for 2 seconds, then asks the service again.
plans=$(find "$W/service" -name 'plan-*' -user Debian-exim -perm 600 -type f | wc -l)
check "service: plans left in its directory, of its user, mode 600" '[ "$plans" -ge 2 ] && [ -z "$(find "$W/service" -name "plan-*" ! -perm 600)" ]'
certs=$(find "$W/service" -name 'cert-*' -user Debian-exim -perm 600 -type f | wc -l)
check "service: handshake verdicts left there too" '[ "$certs" -ge 2 ] && [ -z "$(find "$W/service" -name "cert-*" ! -perm 600)" ]'
send "$W/exim-service.conf" taname.dane.test t-svc-taname2
not_delivered "service: DANE-TA name mismatch again" t-svc-taname2
"$EXIM" -C "$W/exim-service.conf" -bt user@ee.dane.test >/dev/null 2>&1
send "$W/exim-service.conf" ta.dane.test t-svc-ta2
delivered_tls "service: DANE-TA chain again" ta.dane.test "$LAB_HOST_mx_ta" mx.ta.dane.test t-svc-ta2
stop_service
# The same destination and chain at once, the service gone: routed and
# verified from the files it left (under 2 s old), and Exim's log still says
# how the chain was verified.
verified_before=$(grep -c "H=mx.ta.dane.test .* DANE verified" "$MAINLOG")
send "$W/exim-service.conf" ta.dane.test t-svc-ta3
delivered_tls "service just stopped: delivered from its answer files" ta.dane.test "$LAB_HOST_mx_ta" mx.ta.dane.test t-svc-ta3
check "service just stopped: logged verified" '[ "$(grep -c "H=mx.ta.dane.test .* DANE verified" "$MAINLOG")" = $((verified_before + 1)) ]' 
bt=$("$EXIM" -C "$W/exim-service.conf" -bt user@ee.dane.test 2>&1)
check "service down: a plan under 2 s old still routes" 'printf "%s" "$bt" | grep -q "router = danesmtp_route"'
sleep 2.2
bt=$("$EXIM" -C "$W/exim-service.conf" -bt user@ee.dane.test 2>&1)
check "service down: an older plan does not" 'printf "%s" "$bt" | grep -q "cannot be resolved at this time: .*service unreachable"' 
queued_before=$(queued ee.dane.test)
send "$W/exim-service.conf" ee.dane.test t-svc-down
not_delivered "service down: not delivered" t-svc-down
check "service down: queued" '[ "$(queued ee.dane.test)" = $((queued_before + 1)) ]'
check "service down: logged" 'log_has "danesmtp: service unreachable: $SOCKET"'
# The connect event is decided without the service (the library's rule, in
# the client); the certificate event needs it, and refuses.
ev=$("$EXIM" -C "$W/exim-service.conf" -be "\${dlfunc{$B/danesmtp-exim-client.so}{danesmtp_client}{$SOCKET}{danesmtp_exim_connect}{$LAB_HOST_mx_ee}{hosts=<;$LAB_HOST_mx_ee}}" 2>/dev/null)
check "service down: the connect event still applies the plan" '[ -z "$ev" ]'
ev=$("$EXIM" -C "$W/exim-service.conf" -be "\${dlfunc{$B/danesmtp-exim-client.so}{danesmtp_client}{$SOCKET}{danesmtp_exim_tls_cert}{0}{AAAA}{$LAB_HOST_mx_ee}{hosts=<;$LAB_HOST_mx_ee}}" 2>/dev/null)
check "service down: the certificate event refuses" 'case "$ev" in "danesmtp: service unreachable"*) true ;; *) false ;; esac'
start_service
rm -f "$W"/spool/db/*
"$EXIM" -C "$W/exim-service.conf" -qff >>"$W/send.out" 2>&1
delivered_tls "service back: queue run delivers" ee.dane.test "$LAB_HOST_mx_ee" mx.ee.dane.test t-svc-down
stop_service

# ---- 21. nothing from the plugin or libunbound on Exim's stderr (item 12)
check "no stray output on stderr" '! grep -q "libunbound\|tube msg" "$W/send.out"'

if [ "$fail" != 0 ]; then
    echo "---- Exim main log" >&2; tail -60 "$MAINLOG" >&2
    echo "---- Exim panic log" >&2; cat "$W/log/paniclog" >&2 2>/dev/null
fi
finish exim_test
