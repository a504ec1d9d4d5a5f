#!/bin/sh
# deb_test.sh - what `make deb` produced is what a distribution expects.
#   sh tests/deb_test.sh DEB_DIR VERSION
set -u
D=$1
V=$2
. "$(dirname "$0")/testlib.sh"
has() { # DEB PATH
    if dpkg -c "$D/$1_${V}_amd64.deb" | awk '{print $6}' | grep -qx "./$2"; then ok; else bad "$1 lacks $2"; fi
}
has libdanesmtp1 "usr/lib/x86_64-linux-gnu/libdanesmtp.so.$V"
has libdanesmtp1 "usr/lib/x86_64-linux-gnu/libdanesmtp.so.1"
has libdanesmtp-dev usr/include/danesmtp.h
has libdanesmtp-dev usr/include/danesmtp_exim.h
has libdanesmtp-dev usr/lib/x86_64-linux-gnu/libdanesmtp.so
has libdanesmtp-dev usr/lib/x86_64-linux-gnu/pkgconfig/danesmtp.pc
has danesmtp usr/bin/danesmtp
has danesmtp usr/share/man/man1/danesmtp.1.gz
has danesmtp usr/share/man/man5/danesmtp.conf.5.gz
has danesmtp usr/share/danesmtp/exim-config/conf.d/router/190_danesmtp
has danesmtp usr/share/danesmtp/exim-config/exim4.conf.standalone
# The runtime package holds no unversioned .so, no header (Debian policy 8.2, 8.4).
if dpkg -c "$D/libdanesmtp1_${V}_amd64.deb" | awk '{print $6}' | grep -q -e '/libdanesmtp\.so$' -e '\.h$'; then
    bad "libdanesmtp1 contains development files"
else ok; fi
# The library as packaged: SONAME, root-owned, not writable by others, the
# symbols file checked by dpkg-gensymbols during the build.
X=$(mktemp -d)
trap 'rm -rf "$X"' EXIT
dpkg -x "$D/libdanesmtp1_${V}_amd64.deb" "$X"
dpkg -x "$D/danesmtp_${V}_amd64.deb" "$X"
so="$X/usr/lib/x86_64-linux-gnu/libdanesmtp.so.$V"
if readelf -d "$so" | grep -q 'SONAME.*\[libdanesmtp.so.1\]'; then ok; else bad "SONAME"; fi
if dpkg -c "$D/libdanesmtp1_${V}_amd64.deb" | grep "libdanesmtp.so.$V" | grep -q '^-rw-r--r-- root/root'; then
    ok; else bad "library not root-owned 0644"; fi
if [ -s "$D/build.log" ] && ! grep -q "dpkg-gensymbols: warning" "$D/build.log"; then ok; else
    bad "no build log, or the symbols file is out of date"; fi
if LD_LIBRARY_PATH="$X/usr/lib/x86_64-linux-gnu" "$X/usr/bin/danesmtp" --version | grep -qx "danesmtp $V"; then
    ok; else bad "packaged tool does not run"; fi
finish deb_test
