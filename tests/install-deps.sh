#!/bin/sh
# install-deps.sh - install the Debian packages the build and the tests need,
# when they are missing and we are root. Says what it installs.
set -eu
PACKAGES="g++ make binutils pkg-config openssl libssl-dev libboost-test-dev valgrind libunbound-dev dns-root-data nsd ldnsutils python3 iproute2"
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
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: installed$missing"
