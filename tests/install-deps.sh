#!/bin/sh
# SPDX-License-Identifier: MIT
# install-deps.sh - install the Debian packages the build and the tests need,
# when they are missing and we are root. Says what it installs.
set -u
PACKAGES="g++ make binutils pkg-config openssl libssl-dev libboost-test-dev valgrind libunbound-dev libldns-dev liblmdb-dev dns-root-data nsd ldnsutils lmdb-utils python3 iproute2 exim4-daemon-heavy exim4-dev unbound bind9 bind9-utils libevent-2.1-7 libdb5.3 debhelper dpkg-dev fakeroot lintian bc"
missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    echo "deps: all build and test packages present"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "deps: missing packages:$missing" >&2
    echo "deps: run as root, or: sudo apt-get install$missing" >&2
    exit 1
fi
echo "deps: installing with apt-get:$missing"
export DEBIAN_FRONTEND=noninteractive
# The tests run exim4 and nsd with private configurations; their packages
# must not start system daemons. policy-rc.d (exit 101) forbids that for the
# duration of the install, unless the machine already has its own policy.
own_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
fi
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
rc=$?
[ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
[ "$rc" = 0 ] || exit "$rc"
echo "deps: installed$missing"
