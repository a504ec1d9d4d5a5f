#!/bin/sh
# SPDX-License-Identifier: MIT
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
# The Exim snippets and /etc/danesmtp.conf are conffiles of danesmtp.
conffiles=$(dpkg-deb -f "$D/danesmtp_${V}_amd64.deb" Conffiles 2>/dev/null; dpkg-deb -I "$D/danesmtp_${V}_amd64.deb" conffiles 2>/dev/null)
for f in /etc/exim4/conf.d/main/05_danesmtp-macros /etc/exim4/conf.d/router/190_danesmtp \
         /etc/exim4/conf.d/transport/30_danesmtp /etc/danesmtp.conf; do
    check "conffile $f" 'printf "%s\n" "$conffiles" | grep -qx "$f"'
done
check "snippets name the multiarch library" 'grep -q "^DANESMTP_LIBRARY = /usr/lib/x86_64-linux-gnu/libdanesmtp.so.1$" "$X/etc/exim4/conf.d/main/05_danesmtp-macros"'
has danesmtp usr/share/doc/danesmtp/README.Debian
has danesmtp usr/share/doc/danesmtp/README.exim.md.gz
has danesmtp usr/share/doc/danesmtp/README.opensmtpd.md.gz
has danesmtp usr/libexec/danesmtp/danesmtp-opensmtpd
has danesmtp usr/share/man/man8/danesmtp-opensmtpd.8.gz
if LD_LIBRARY_PATH="$X/usr/lib/x86_64-linux-gnu" "$X/usr/libexec/danesmtp/danesmtp-opensmtpd" --version | grep -qx "danesmtp-opensmtpd $V"; then
    ok; else bad "packaged OpenSMTPD filter does not run"; fi

# lintian: no error, warning, info or pedantic tag.
if command -v lintian >/dev/null 2>&1; then
    lintian -I --pedantic "$D"/*.changes >"$D/lintian.out" 2>&1
    check "lintian clean" '! grep -q "^[EWIP]: " "$D/lintian.out"'
    [ "$fail" = 0 ] || cat "$D/lintian.out" >&2
else
    bad "lintian is not installed"
fi

# Install, enable, roll back and purge on this machine, with Debian's own
# exim4 configuration tools (root only; the packages must not be installed
# already). Exim's daemon is not started: -bV and -bP read the configuration.
if [ "$(id -u)" = 0 ] && command -v update-exim4.conf >/dev/null 2>&1 &&
   ! dpkg-query -W -f='${Status}' libdanesmtp1 2>/dev/null | grep -q installed; then
    LM=/etc/exim4/conf.d/main/000_localmacros
    UC=/etc/exim4/update-exim4.conf.conf
    saved=""
    [ -e "$LM" ] && saved=$(mktemp) && cp -p "$LM" "$saved"
    saved_uc=$(mktemp) && cp -p "$UC" "$saved_uc"
    # The snippets are for Debian's split configuration (README.Debian).
    sed -i "s/^dc_use_split_config=.*/dc_use_split_config='true'/" "$UC"
    restore() {
        if [ -n "$saved" ]; then cp -p "$saved" "$LM"; rm -f "$saved"; else rm -f "$LM"; fi
        cp -p "$saved_uc" "$UC"; rm -f "$saved_uc"
        dpkg --purge danesmtp libdanesmtp1 >/dev/null 2>&1
        update-exim4.conf >/dev/null 2>&1
        rm -rf "$X"
    }
    trap restore EXIT
    check "packages install" 'dpkg -i "$D/libdanesmtp1_${V}_amd64.deb" "$D/danesmtp_${V}_amd64.deb" >"$X/dpkg.out" 2>&1'
    check "installed: the cache directory belongs to Debian-exim, mode 700" \
        '[ "$(stat -c %U:%a /var/cache/danesmtp)" = Debian-exim:700 ]'
    check "installed: /var/lib/danesmtp for the rollover state" '[ "$(stat -c %U:%a /var/lib/danesmtp)" = root:755 ]'
    check "installed: /etc/danesmtp.conf names the cache" 'grep -q "^cache = /var/cache/danesmtp/answers.mdb" /etc/danesmtp.conf'
    check "installed: danesmtpd and its unit (as Debian-exim, not enabled)" \
        '/usr/sbin/danesmtpd --version >/dev/null && grep -q "^User=Debian-exim" /lib/systemd/system/danesmtpd.service && ! ls /etc/systemd/system/*/danesmtpd.service >/dev/null 2>&1'
    check "installed: the Exim client needs only libc" \
        '[ "$(readelf -d /usr/lib/x86_64-linux-gnu/danesmtp/danesmtp-exim-client.so | grep -c NEEDED)" = 1 ]'
    check "installed: update-exim4.conf and exim4 -bV" 'update-exim4.conf && exim4 -bV >/dev/null'
    check "inert until enabled" '! exim4 -bP transport danesmtp_smtp >/dev/null 2>&1'
    echo "DANESMTP_ENABLE = 1" >>"$LM"
    check "enabled: update-exim4.conf and exim4 -bV" 'update-exim4.conf && exim4 -bV >/dev/null'
    check "enabled: the DANE transport exists" 'exim4 -bP transport danesmtp_smtp | grep -q "driver = smtp"'
    out=$(printf '%s\n' '${dlfunc{/usr/lib/x86_64-linux-gnu/libdanesmtp.so.1}{danesmtp_exim_connect}{x}}' | exim4 -be 2>&1 | head -1)
    check "enabled: Exim loads the packaged plugin" 'case "$out" in "> danesmtp_exim_connect takes"*) true ;; *) false ;; esac'
    if [ -n "$saved" ]; then cp -p "$saved" "$LM"; else rm -f "$LM"; fi
    check "rolled back: inert again" 'update-exim4.conf && exim4 -bV >/dev/null && ! exim4 -bP transport danesmtp_smtp >/dev/null 2>&1'
    check "purge" 'dpkg --purge danesmtp libdanesmtp1 >/dev/null 2>&1'
    check "purged: no snippet, no /etc/danesmtp.conf, no cache" '! ls -d /etc/exim4/conf.d/*/*danesmtp* /etc/danesmtp.conf /var/cache/danesmtp /var/lib/danesmtp >/dev/null 2>&1'
    check "purged: exim4 -bV" 'update-exim4.conf && exim4 -bV >/dev/null'
fi
finish deb_test
