#!/bin/sh
# SPDX-License-Identifier: MIT
# make-seeds.sh PKI OUT - fuzz seeds made from the PKI that tests/pki/make-pki.sh
# generates at test time (no key or certificate is committed), in one
# directory per target: OUT/<name>/ (see fuzz_<name>.cpp for each input format).
set -eu
pki=$1
out=$2
rm -rf "$out"
mkdir -p "$out/der" "$out/keyfile" "$out/pem" "$out/tlsa_rdata" "$out/exim"
for f in ee-ec ee-rsa leaf-san root; do
    cp "$pki/$f.der" "$out/der/$f"
    cp "$pki/$f.key" "$out/keyfile/$f.key"
    { printf '\003\000\000'; cat "$pki/$f.der"; } > "$out/tlsa_rdata/3-0-0-$f"
done
cp "$pki/ee-rsa.spki.der" "$out/der/ee-rsa.spki"
cp "$pki/leaf-san.chain.pem" "$out/keyfile/leaf-san.chain.pem"
cp "$pki/ee-ec.pem" "$out/keyfile/ee-ec.pem"
cp "$pki/leaf-san.full.pem" "$out/pem/leaf-san.full"
cp "$pki/leaf-deep.chain.pem" "$out/pem/leaf-deep.chain"
{ printf '\002\001\000'; cat "$pki/int.spki.der"; } > "$out/tlsa_rdata/2-1-0-int"

# Exim: address, TLS cipher, certificates (base64, top first), address_data
# as danesmtp_exim_route writes it, for a DANE-EE and a DANE-TA host.
sha() { sha256sum < "$1" | cut -c1-64; }
b64() { base64 -w0 < "$1"; }
host='hosts="<;127.0.1.1" require_tls="<;127.0.1.1" audit=0 host@127.0.1.1=0 name.0=mx.example.net sni.0=mx.example.net verified.0=1 verdict.0=dane names.0=mx.example.net base.0=mx.example.net'
printf '127.0.1.1\n\n%s\n%s tlsa.0=3:1:1:%s\n' "$(b64 "$pki/ee-rsa.der")" "$host" \
    "$(sha "$pki/ee-rsa.spki.der")" > "$out/exim/dane-ee"
printf '127.0.1.1\n\n%s,%s\n%s tlsa.0=2:0:1:%s\n' "$(b64 "$pki/int.der")" "$(b64 "$pki/leaf-san.der")" \
    "$host" "$(sha "$pki/int.der")" > "$out/exim/dane-ta"
