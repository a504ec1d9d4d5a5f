#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lab.sh -- the danesmtp test lab: NSD serving DNSSEC-signed zones and small
# SMTP servers with STARTTLS, all on loopback.
#
#   tests/lab/lab.sh up STATE PKI    build everything into STATE and start it
#   tests/lab/lab.sh down STATE      stop what `up` started (safe to repeat)
#   tests/lab/lab.sh status STATE    show what is running (exit 1 if not all)
#   tests/lab/lab.sh set-tlsa STATE OWNER "U S M REF"   change a TLSA RRset
#   tests/lab/lab.sh restart STATE nsd|unbound|IP       kill one process, start it again
#   tests/lab/lab.sh sync-secondary STATE   NOTIFY the dynamic zones' NSD secondary
#                                           and wait until it serves BIND's serial
#   tests/lab/lab.sh reload STATE IP        SIGHUP the SMTP server on IP (a
#                                           "reloadable" one reads its chain again)
#   (faults: a file STATE/faults/IP/die or .../stall, see tests/lab/smtpd.py)
#
# PKI is a directory made by tests/pki/make-pki.sh.  The zones, hosts and
# TLSA records come from tests/lab/cases (its format is documented there);
# tests/lab/labgen.py turns them into certificates, keys and signed zones.
# Environment: LAB_DNS_PORT (default 5300), LAB_SMTP_PORT (default 2525),
# LAB_WAIT_TIMEOUT (seconds `up` waits for the servers, default 10),
# LAB_PYTHON (the Python 3 interpreter, default python3).
#
# `up` first stops a lab already running from STATE, wipes STATE's generated
# files and spool, then starts NSD on 127.0.0.1:$LAB_DNS_PORT and one
# tests/lab/smtpd.py per MX host on 127.0.1.N:$LAB_SMTP_PORT, and returns
# once each answers (on failure it stops what it started and exits 1).
#
# STATE afterwards (paths absolute):
#   trust-anchor   DS and DNSKEY RRs of the test. KSK, one per line, in
#                  presentation format (for ub_ctx_add_ta)
#   stubs          "ZONE ADDR@PORT" lines (for ub_ctx_set_stub): test. at the
#                  lab NSD, each never-answering ("dead") zone at
#                  127.0.0.254@$LAB_DNS_PORT where nothing answers, each
#                  "split" zone at its two NSDs, each "flaky" zone at the lab
#                  NSD and at 127.0.0.253@$LAB_DNS_PORT (SERVFAIL to all)
#   unbound.conf   the same trust anchor and stubs as a libunbound config
#                  file (ub_ctx_config, unbound-host -C), with
#                  local-zone: "test." nodefault -- libunbound answers test.
#                  itself (NXDOMAIN, RFC 6761) unless told not to.  With
#                  ub_ctx_set_option use ("local-zone:", "test. transparent");
#                  "test. nodefault" is accepted there but has no effect in
#                  libunbound 1.17.
#   resolv.conf    "nameserver 127.0.2.53": the lab's recursive resolver
#                  (unbound, no validation), as a host's resolver; a second
#                  one on 127.0.2.54 validates with the lab's trust anchor
#                  (LAB_RESOLVER, LAB_VALIDATING_RESOLVER in lab.env; both
#                  only as root, port 53)
#   lab.env        KEY=value lines, see below
#   pids           PIDs of every process started, one per line
#   procs          "PID KIND WHAT LOGFILE" per process (KIND nsd or smtpd)
#   servers        "LABEL IP HOSTNAME CHAIN KEY FLAGS" per SMTP server
#   many-domains   the domains of the "many" directives, one per line
#   extra-nsd      "KIND CONF ADDR:PORT" per NSD of the split zones, and the
#                  NSD secondary of the dynamic zones
#   bind/          the dynamic zones' BIND 9: named.conf, the unsigned zone
#                  files, roll-key.conf (TSIG key granted TLSA updates) and
#                  other-key.conf (a key granted nothing)
#   spool/IP/      messages received by the SMTP server on IP (*.eml)
#   log/           nsd.log and smtpd-IP.log
#   zones/ keys/ certs/ nsd/ run/   generated data and runtime files
#
# lab.env: values never contain blanks (they are shell-quoted if they do),
# so it can be sourced by sh or read line by line.  Lists are comma-separated.
#   LAB_DNS_PORT LAB_SMTP_PORT LAB_STATE LAB_PKI LAB_DIR LAB_DNS_ADDR
#   LAB_DEAD_ADDR LAB_TLD LAB_TRUST_ANCHOR LAB_STUBS LAB_UNBOUND_CONF
#   LAB_CERTS LAB_SPOOL
#   with dynamic zones: LAB_BIND (ADDR@PORT of BIND), LAB_SECONDARY (of its
#   NSD secondary), LAB_TSIG_KEY, LAB_TSIG_OTHER_KEY (BIND key files),
#   LAB_DYNAMIC_ZONES
#   LAB_ZONES LAB_CASES (case ids) LAB_SERVERS (server labels)
#   per case ID:  LAB_DOMAIN_ID LAB_EXPECT_ID LAB_HOSTS_ID (server labels)
#   per server LABEL (e.g. mx_ee, mx1_prefbogus):  LAB_HOST_LABEL (IP)
#                 LAB_NAME_LABEL LAB_CHAIN_LABEL LAB_SPOOL_LABEL
#                 LAB_FLAGS_LABEL (none, no-starttls or broken-tls)
#   per lab leaf: LAB_LEAF_NAME (its leaf+int+root chain; dots become _)
#
# Needs nsd, bind9 (named, dnssec-keygen, tsig-keygen), ldnsutils, openssl, python3 (standard library), coreutils.
# Only loopback addresses are used.  Processes are stopped by PID only.
set -eu

prog=${0##*/}
LAB_DIR=$(cd -- "$(dirname -- "$0")" && pwd)
DNS_PORT=${LAB_DNS_PORT:-5300}
SMTP_PORT=${LAB_SMTP_PORT:-2525}
STRIPPED_PORT=${LAB_STRIPPED_PORT:-5301}
RESOLVER_ADDR=${LAB_RESOLVER_ADDR:-127.0.2.53}
VALIDATING_ADDR=${LAB_VALIDATING_ADDR:-127.0.2.54}
WAIT_TIMEOUT=${LAB_WAIT_TIMEOUT:-10}
PYTHON=${LAB_PYTHON:-python3}

usage() {
    cat >&2 <<EOF
usage: $prog up STATE PKI
       $prog set-tlsa STATE OWNER "U S M pki:NAME|lab:NAME|hex:HEX"
       $prog restart STATE nsd|unbound|IP
       $prog sync-secondary STATE
       $prog reload STATE IP
       $prog down STATE
       $prog status STATE
EOF
    exit 2
}

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
fail() { say "$*"; exit 1; }

# alive PID: the process exists and is not a zombie.  (No forks: down
# polls this for every process.)
alive() {
    local stat st
    read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
    read -r st _ <<<"${stat##*) }"
    case $st in Z|X) return 1 ;; esac
    return 0
}

# is_ours PID STATE: alive, and its command line mentions a path in STATE
# (guards against a PID reused by an unrelated process).
is_ours() {
    local -a argv=()
    alive "$1" || return 1
    mapfile -d '' argv 2>/dev/null <"/proc/$1/cmdline" || return 1
    case " ${argv[*]} " in *"$2/"*) return 0 ;; esac
    return 1
}

# descendants PID...: the PIDs' children, recursively (NSD forks its
# server and xfrd processes).  Reads /proc once.
descendants() {
    local f stat pid ppid parents=" $* " found=1 list=""
    local -a table=()
    for f in /proc/[0-9]*/stat; do
        read -r stat 2>/dev/null <"$f" || continue
        pid=${f#/proc/}; pid=${pid%/stat}
        read -r _ ppid _ <<<"${stat##*) }"
        table+=("$pid:$ppid")
    done
    while [ "$found" = 1 ]; do
        found=0
        for f in "${table[@]}"; do
            pid=${f%%:*}; ppid=${f#*:}
            case $parents in *" $ppid "*) ;; *) continue ;; esac
            case $parents in *" $pid "*) continue ;; esac
            parents="$parents$pid "
            list="$list $pid"
            found=1
        done
    done
    echo $list
}

do_down() {
    local state=$1 pidfile=$1/pids pid mine=() all=() left i
    if [ ! -f "$pidfile" ]; then
        rm -f -- "$state/procs"
        return 0
    fi
    while read -r pid _; do
        case $pid in ''|*[!0-9]*) continue ;; esac
        if is_ours "$pid" "$state"; then
            mine+=("$pid")
        fi
    done <"$pidfile"
    if [ "${#mine[@]}" -gt 0 ]; then
        all=("${mine[@]}")
        for pid in $(descendants "${mine[@]}"); do all+=("$pid"); done
        kill -TERM "${mine[@]}" 2>/dev/null || true
        for i in $(seq 50); do
            left=0
            for pid in "${all[@]}"; do
                if alive "$pid"; then left=1; break; fi
            done
            [ "$left" = 0 ] && break
            sleep 0.1
        done
        for pid in "${all[@]}"; do
            if alive "$pid"; then
                say "pid $pid did not stop on TERM, killing it"
                kill -KILL "$pid" 2>/dev/null || true
            fi
        done
    fi
    rm -f -- "$pidfile" "$state/procs"
}

# start KIND WHAT LOG COMMAND...: start a background process, record it.
start() {
    local kind=$1 what=$2 logf=$3
    shift 3
    "$@" </dev/null >>"$logf" 2>&1 &
    echo "$!" >>"$STATE/pids"
    echo "$! $kind $what $logf" >>"$STATE/procs"
}

# unbound_conf DIR ADDR MODULES EXTRA: a recursive unbound on ADDR:53 that
# asks the lab NSD for test. (STATE/DIR/unbound.conf).
unbound_conf() {
    mkdir -p "$STATE/$1"
    cat > "$STATE/$1/unbound.conf" <<UNB
server:
    interface: $2
    port: 53
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$STATE/$1"
    pidfile: "$STATE/$1/unbound.pid"
    use-syslog: no
    logfile: ""
    module-config: "$3"
$4
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    local-zone: "test." nodefault
    root-hints: ""
    verbosity: 0
stub-zone:
    name: "test."
    stub-addr: ${DNS_ADDR_PORT/:/@}
UNB
    # The split zones' two servers, as STATE/stubs lists them (the dead
    # zones are left to fail as delegated: nothing answers there either).
    local zone addr last=""
    while read -r zone addr; do
        case $zone:$addr in test.:*|*:127.0.0.254@*) continue ;; esac
        [ "$zone" = "$last" ] || printf 'stub-zone:\n    name: "%s"\n' "$zone"
        printf '    stub-addr: %s\n' "$addr"
        last=$zone
    done < "$STATE/stubs" >> "$STATE/$1/unbound.conf"
    # Every other zone of the main NSD too: the zones' NS records name
    # 127.0.0.1 port 53, where nothing listens. Once a client has asked for
    # such an NS RRset (danesmtp check does), unbound would follow the cached
    # delegation there and answer SERVFAIL for the zone's uncached names.
    for zone in $(sed -n 's/^ *name: "\(.*\)"$/\1/p' "$STATE/nsd/nsd.conf"); do
        [ "$zone" = test. ] && continue
        grep -q "^$zone " "$STATE/stubs" && continue
        printf 'stub-zone:\n    name: "%s"\n    stub-addr: %s\n' "$zone" "${DNS_ADDR_PORT/:/@}"
    done >> "$STATE/$1/unbound.conf"
    printf 'remote-control:\n    control-enable: no\n' >> "$STATE/$1/unbound.conf"
}

# start_smtpd IP HOST CHAIN KEY FLAGS: one lab SMTP server (STATE and PY set).
start_smtpd() {
    local ip=$1 host=$2 chain=$3 key=$4 flags=$5
    local -a args=(--listen "$ip:$SMTP_PORT" --cert "$chain" --key "$key"
          --spool "$STATE/spool/$ip" --hostname "$host"
          --pidfile "$STATE/run/smtpd-$ip.pid" --fault-dir "$STATE/faults/$ip")
    mkdir -p "$STATE/faults/$ip"
    case ,$flags, in *,no-starttls,*) args+=(--no-starttls) ;; esac
    case ,$flags, in *,broken-tls,*) args+=(--broken-tls) ;; esac
    local second
    second=$(printf '%s\n' "$flags" | tr ',' '\n' | sed -n 's/^second=//p')
    [ -n "$second" ] && args+=(--cert2 "${second%%|*}" --key2 "${second#*|}")
    start smtpd "$ip:$SMTP_PORT" "$STATE/log/smtpd-$ip.log" \
        "$PY" -S "$LAB_DIR/smtpd.py" "${args[@]}"
}

# restart STATE nsd|unbound|IP: stop that process of the lab (by its PID,
# with SIGKILL for an SMTP server, as a crash would) and start it again;
# for an SMTP server, only when it is not running (it may have died of a
# fault already). The soak test's fault injection.
do_restart() {
    STATE=$1
    local what=$2 pid kind w logf label ip host chain key flags old=""
    PY=$("$PYTHON" -c 'import sys; print(sys.executable)')
    while read -r pid kind w logf; do
        case $what in
            nsd) [ "$kind" = nsd ] || continue ;;
            unbound) [ "$kind" = unbound ] || continue ;;
            *) [ "$kind" = smtpd ] && [ "$w" = "$what:$SMTP_PORT" ] || continue ;;
        esac
        old=$pid
        break
    done <"$STATE/procs"
    if [ -n "$old" ] && is_ours "$old" "$STATE"; then
        local -a all=("$old")
        for pid in $(descendants "$old"); do all+=("$pid"); done
        if [ "$what" = nsd ] || [ "$what" = unbound ]; then
            kill -TERM "$old" 2>/dev/null || true
        else
            kill -KILL "$old" 2>/dev/null || true
        fi
        for _ in $(seq 50); do
            local left=0
            for pid in "${all[@]}"; do alive "$pid" && left=1; done
            [ "$left" = 0 ] && break
            sleep 0.1
        done
        for pid in "${all[@]}"; do alive "$pid" && kill -KILL "$pid" 2>/dev/null; done
    fi
    if [ -n "$old" ]; then
        sed -i "/^$old\$/d" "$STATE/pids"
        sed -i "/^$old /d" "$STATE/procs"
    fi
    case $what in
        nsd)
            start nsd "$DNS_ADDR_PORT" "$STATE/log/nsd.log" nsd -d -c "$STATE/nsd/nsd.conf" ;;
        unbound)
            start unbound "$RESOLVER_ADDR:53" "$STATE/log/unbound.log" \
                unbound -d -c "$STATE/unbound-fwd/unbound.conf" ;;
        *)
            while read -r label ip host chain key flags; do
                [ "$ip" = "$what" ] && start_smtpd "$ip" "$host" "$chain" "$key" "$flags"
            done <"$STATE/servers" ;;
    esac
}

do_up() {
    STATE=$1
    local pki=$2 label ip host chain key flags args
    case $DNS_PORT$SMTP_PORT in *[!0-9]*) fail "ports must be numbers" ;; esac
    [ -d "$pki" ] || fail "PKI directory $pki not found (make it with tests/pki/make-pki.sh)"
    for f in root.pem int.pem int.key ee-ec.pem ee-ec.key ee-rsa.pem; do
        [ -f "$pki/$f" ] || fail "$pki/$f missing: not a make-pki.sh directory"
    done
    for c in nsd nsd-checkconf ldns-keygen ldns-signzone ldns-key2ds ldns-notify \
             named dnssec-keygen dnssec-dsfromkey tsig-keygen openssl \
             "$PYTHON"; do
        command -v "$c" >/dev/null 2>&1 || fail "$c not found"
    done
    # Resolve the interpreter once: a wrapper such as a pyenv shim costs
    # a few tenths of a second per start, times one start per server.  The
    # lab's scripts need only the standard library, hence -S.
    PY=$("$PYTHON" -c 'import sys; print(sys.executable)') && [ -x "$PY" ] ||
        fail "cannot find the Python interpreter behind $PYTHON"
    mkdir -p -- "$STATE"
    STATE=$(cd -- "$STATE" && pwd)
    pki=$(cd -- "$pki" && pwd)
    case $STATE$pki in *[[:space:]]*) fail "paths with blanks are not supported" ;; esac

    do_down "$STATE"
    rm -rf -- "$STATE/certs" "$STATE/keys" "$STATE/zones" "$STATE/nsd" \
        "$STATE/log" "$STATE/spool" "$STATE/run" "$STATE/bind" "$STATE/nsd-secondary"
    rm -f -- "$STATE/trust-anchor" "$STATE/stubs" "$STATE/lab.env" \
        "$STATE/servers" "$STATE/unbound.conf" "$STATE/extra-nsd"

    "$PY" -S "$LAB_DIR/labgen.py" generate --cases "$LAB_DIR/cases" \
        --state "$STATE" --pki "$pki" \
        --dns-port "$DNS_PORT" --smtp-port "$SMTP_PORT"

    nsd-checkconf "$STATE/nsd/nsd.conf" >/dev/null 2>"$STATE/log/nsd-checkconf.log" ||
        fail "nsd-checkconf failed: $(cat "$STATE/log/nsd-checkconf.log")"

    : >"$STATE/pids"
    : >"$STATE/procs"
    started=1
    trap 'if [ "${started:-}" = 1 ]; then say "up failed; stopping the lab"; do_down "$STATE"; fi' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    start nsd "$DNS_ADDR_PORT" "$STATE/log/nsd.log" \
        nsd -d -c "$STATE/nsd/nsd.conf"
    # A second NSD serving the zones with every DNSSEC record stripped (the
    # unsigned zone files), as a resolver that drops DNSSEC would answer.
    # A validating client must report it, not treat everything as unsigned.
    mkdir -p "$STATE/nsd-stripped"
    sed -e "s|@$DNS_PORT|@$STRIPPED_PORT|; s|^    port: .*|    port: $STRIPPED_PORT|" \
        -e "s|/nsd/|/nsd-stripped/|g; s|/log/nsd.log|/log/nsd-stripped.log|" \
        -e 's|\.signed"|.zone"|' "$STATE/nsd/nsd.conf" > "$STATE/nsd-stripped/nsd.conf"
    start nsd-stripped "127.0.0.1:$STRIPPED_PORT" "$STATE/log/nsd-stripped.log" \
        nsd -d -c "$STATE/nsd-stripped/nsd.conf"
    echo "LAB_STRIPPED_DNS=127.0.0.1@$STRIPPED_PORT" >> "$STATE/lab.env"
    # BIND 9 for the dynamic zones; their NSD secondary (in extra-nsd) asks
    # it for the zone once at start, so BIND must answer first.
    if [ -f "$STATE/bind/named.conf" ]; then
        start named "127.0.0.1:$BIND_PORT" "$STATE/log/named.out" \
            named -f -c "$STATE/bind/named.conf"
        for zone in $(sed -n 's/^zone "\([^"]*\)".*/\1/p' "$STATE/bind/named.conf"); do
            "$PY" -S "$LAB_DIR/labgen.py" probe --port "$BIND_PORT" --zone "$zone" \
                --signed --timeout "$WAIT_TIMEOUT" ||
                fail "named does not serve $zone signed: $(tail -n 5 "$STATE/log/named.log" 2>/dev/null)"
        done
        {
            echo "LAB_BIND=127.0.0.1@$BIND_PORT"
            echo "LAB_SECONDARY=127.0.0.1@$((BIND_PORT + 1))"
            echo "LAB_TSIG_KEY=$STATE/bind/roll-key.conf"
            echo "LAB_TSIG_OTHER_KEY=$STATE/bind/other-key.conf"
            echo "LAB_DYNAMIC_ZONES=$(sed -n 's/^zone "\([^"]*\)".*/\1/p' "$STATE/bind/named.conf" | paste -sd, -)"
        } >> "$STATE/lab.env"
    fi
    # The two servers of each "split" zone (STATE/extra-nsd): one with the
    # zone as published, one lagging behind (older serial, records missing).
    while read -r kind conf addr; do
        [ -n "$kind" ] || continue
        start "$kind" "$addr" "$STATE/log/$kind.log" nsd -d -c "$conf"
    done < "$STATE/extra-nsd"
    # A recursive resolver on 127.0.2.53 port 53, as a host's local resolver
    # would be: it asks the lab NSD and passes DNSSEC records through without
    # validating (the library validates). Clients reach it through a
    # resolv.conf of the lab's own (STATE/resolv.conf) or a forwarder line.
    # (Port 53 needs root; without root the lab has no recursive resolver.)
    if command -v unbound >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        unbound_conf unbound-fwd "$RESOLVER_ADDR" "iterator" ""
        printf 'nameserver %s\n' "$RESOLVER_ADDR" > "$STATE/resolv.conf"
        start unbound "$RESOLVER_ADDR:53" "$STATE/log/unbound.log" \
            unbound -d -c "$STATE/unbound-fwd/unbound.conf"
        # A validating one too (the lab's trust anchor), for clients that
        # trust a resolver's AD bit: Exim's native DANE in make bench.
        unbound_conf unbound-val "$VALIDATING_ADDR" "validator iterator" \
            "    trust-anchor-file: \"$STATE/trust-anchor\""
        start unbound-val "$VALIDATING_ADDR:53" "$STATE/log/unbound-val.log" \
            unbound -d -c "$STATE/unbound-val/unbound.conf"
        echo "LAB_VALIDATING_RESOLVER=$VALIDATING_ADDR" >> "$STATE/lab.env"
        echo "LAB_RESOLVER=$RESOLVER_ADDR" >> "$STATE/lab.env"
    fi
    # The name server of the "dead" zones: it reads queries, never answers.
    start blackhole "127.0.0.254:$DNS_PORT" "$STATE/log/blackhole.log" \
        "$PY" -S "$LAB_DIR/blackhole.py" --listen "127.0.0.254:$DNS_PORT" --tag "$STATE/blackhole"
    # The broken second server of the "flaky" zones: SERVFAIL to everything.
    start servfail "127.0.0.253:$DNS_PORT" "$STATE/log/servfail.log" \
        "$PY" -S "$LAB_DIR/blackhole.py" --listen "127.0.0.253:$DNS_PORT" --servfail --tag "$STATE/servfail"

    while read -r label ip host chain key flags; do
        [ -n "$label" ] || continue
        start_smtpd "$ip" "$host" "$chain" "$key" "$flags"
    done <"$STATE/servers"

    "$PY" -S "$LAB_DIR/labgen.py" wait --state "$STATE" \
        --timeout "$WAIT_TIMEOUT"
    started=0
    trap - EXIT INT TERM
    echo "lab up in $STATE: NSD on $DNS_ADDR_PORT, $(wc -l <"$STATE/servers") SMTP servers on port $SMTP_PORT"
}

do_status() {
    local state=$1 pid kind what logf n=0 bad=0
    if [ ! -f "$state/procs" ]; then
        echo "lab in $state: not running"
        return 1
    fi
    state=$(cd -- "$state" && pwd)
    while read -r pid kind what logf; do
        [ -n "$pid" ] || continue
        n=$((n + 1))
        if is_ours "$pid" "$state"; then
            printf 'running  %-7s %-8s %s\n' "$pid" "$kind" "$what"
        else
            printf 'STOPPED  %-7s %-8s %s (log: %s)\n' "$pid" "$kind" "$what" "$logf"
            bad=$((bad + 1))
        fi
    done <"$state/procs"
    echo "lab in $state: $((n - bad)) of $n processes running"
    [ "$bad" = 0 ]
}

# set-tlsa STATE OWNER "U S M REF": a changed TLSA RRset, signed, and NSD
# told to reload (SIGHUP reads changed zone files).
do_set_tlsa() {
    local state=$1 owner=$2 record=$3 pid kind
    state=$(cd -- "$state" && pwd)
    # shellcheck disable=SC1091
    . "$state/lab.env"
    PY=$("$PYTHON" -c 'import sys; print(sys.executable)')
    "$PY" -S "$LAB_DIR/labgen.py" retlsa --cases "$LAB_DIR/cases" --state "$state" \
        --pki "$LAB_PKI" --smtp-port "$LAB_SMTP_PORT" --owner "$owner" --record "$record"
    while read -r pid kind _; do
        [ "$kind" = nsd ] && is_ours "$pid" "$state" && kill -HUP "$pid"
    done <"$state/procs"
    sleep 1
}

# sync-secondary STATE: NOTIFY the NSD secondary of each dynamic zone and
# wait (up to 10 s) until it serves the serial BIND serves.
do_sync_secondary() {
    local state=$1 zone
    # shellcheck disable=SC1091
    . "$state/lab.env"
    [ -n "${LAB_BIND:-}" ] || fail "this lab has no dynamic zone"
    PY=$("$PYTHON" -c 'import sys; print(sys.executable)')
    # BIND answers an update before its inline signing has published the
    # result (a new serial a moment later): NOTIFY again until the serials
    # agree and still agree a second later.
    local round settled
    for zone in ${LAB_DYNAMIC_ZONES//,/ }; do
        settled=""
        for round in 1 2 3 4 5; do
            ldns-notify -z "$zone" -p "${LAB_SECONDARY#*@}" "${LAB_SECONDARY%@*}" >/dev/null ||
                fail "ldns-notify failed for $zone"
            "$PY" -S "$LAB_DIR/labgen.py" probe --port "${LAB_SECONDARY#*@}" --zone "$zone" \
                --serial-of "${LAB_BIND#*@}" --timeout 10 2>/dev/null || continue
            sleep 1
            if "$PY" -S "$LAB_DIR/labgen.py" probe --port "${LAB_SECONDARY#*@}" --zone "$zone" \
                --serial-of "${LAB_BIND#*@}" --timeout 0.2 2>/dev/null; then
                settled=1
                break
            fi
        done
        [ -n "$settled" ] || fail "the secondary did not catch up on $zone"
    done
}

# reload STATE IP: SIGHUP the lab SMTP server on IP.
do_reload() {
    local state=$1 ip=$2 pid kind w
    while read -r pid kind w _; do
        if [ "$kind" = smtpd ] && [ "$w" = "$ip:$SMTP_PORT" ] && is_ours "$pid" "$state"; then
            kill -HUP "$pid"
            sleep 0.2
            return 0
        fi
    done <"$state/procs"
    fail "no SMTP server of this lab on $ip"
}

DNS_ADDR_PORT=127.0.0.1:$DNS_PORT
BIND_PORT=$((DNS_PORT + 4))

[ "$#" -ge 1 ] || usage
cmd=$1
shift
case $cmd in
    up)
        [ "$#" -eq 2 ] || usage
        do_up "$1" "$2"
        ;;
    set-tlsa)
        [ "$#" -eq 3 ] || usage
        do_set_tlsa "$1" "$2" "$3"
        ;;
    sync-secondary)
        [ "$#" -eq 1 ] || usage
        do_sync_secondary "$(cd -- "$1" && pwd)"
        ;;
    reload)
        [ "$#" -eq 2 ] || usage
        do_reload "$(cd -- "$1" && pwd)" "$2"
        ;;
    restart)
        [ "$#" -eq 2 ] || usage
        do_restart "$(cd -- "$1" && pwd)" "$2"
        ;;
    down)
        [ "$#" -eq 1 ] || usage
        [ -d "$1" ] || exit 0
        do_down "$(cd -- "$1" && pwd)"
        ;;
    status)
        [ "$#" -eq 1 ] || usage
        do_status "$1"
        ;;
    *)
        usage
        ;;
esac
