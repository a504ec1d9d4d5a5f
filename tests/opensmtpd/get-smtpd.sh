#!/bin/sh
# SPDX-License-Identifier: MIT
# get-smtpd.sh DIR - Debian's opensmtpd, unpacked under DIR (DIR/usr/sbin/smtpd),
# not installed: the package conflicts with exim4, which the Exim tests need.
# The tests run this smtpd with a private configuration, spool and socket
# (tests/opensmtpd/opensmtpd_test.sh). Also makes, as root, what the package's
# postinst makes and smtpd insists on: the users opensmtpd and opensmtpq and
# the empty chroot directory /var/lib/opensmtpd/empty, and smtpctl setgid
# opensmtpq.
set -eu
DIR=$1
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
if [ ! -x "$DIR/usr/sbin/smtpd" ]; then
    tmp=$(mktemp -d)
    chmod 755 "$tmp"   # apt's _apt user writes the download there
    ( cd "$tmp" && { apt-get download opensmtpd 2>/dev/null || { apt-get update -qq && apt-get download opensmtpd; }; } )
    deb=$(ls "$tmp"/opensmtpd_*.deb)
    dpkg-deb -x "$deb" "$DIR"
    dpkg-deb -f "$deb" Version > "$DIR/VERSION"
    rm -rf "$tmp"
fi
if [ "$(id -u)" = 0 ]; then
    # groupadd/useradd (package passwd, essential): adduser may be absent.
    for u in opensmtpd opensmtpq; do
        getent group "$u" >/dev/null || groupadd --system "$u"
        id "$u" >/dev/null 2>&1 || useradd --system --gid "$u" --home-dir /var/lib/opensmtpd/empty \
            --no-create-home --shell /usr/sbin/nologin "$u"
    done
    mkdir -p /var/lib/opensmtpd/empty
    chmod 755 /var/lib/opensmtpd/empty
    # smtpctl refuses to run unless setgid opensmtpq (the package's
    # dpkg-statoverride).
    chgrp opensmtpq "$DIR/usr/sbin/smtpctl"
    chmod 2755 "$DIR/usr/sbin/smtpctl"
fi
echo "opensmtpd $(cat "$DIR/VERSION") in $DIR"
