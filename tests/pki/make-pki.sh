#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make-pki.sh -- generate the danesmtp test PKI fixtures with the openssl CLI.
#
# Usage: tests/pki/make-pki.sh OUTDIR
#
# Creates OUTDIR (overwriting earlier output) and fills it with fixed-date
# certificates so tests can pin the verification time.  Needs only openssl
# (3.0+) and coreutils.  Keys are freshly generated on every run, so
# certificate bytes, digests and SPKI hashes differ between runs: tests must
# compute TLSA data from the generated files, never hard-code it.
#
# Validity: "normal" = 20200101000000Z .. 20400101000000Z.
#           "expired" = 20200101000000Z .. 20210101000000Z.
#           "not yet valid" = 20300101000000Z .. 20400101000000Z.
# A convenient pinned time is 1800000000 (2027-01-15): normal certs are valid,
# expired ones have expired and not-yet-valid ones are not valid yet.
#
# For every certificate NAME below, OUTDIR holds:
#   NAME.pem       the certificate, PEM (exactly one certificate)
#   NAME.der       the certificate, DER (for DANE selector 0 / Cert)
#   NAME.key       its private key, PEM PKCS#8 ("BEGIN PRIVATE KEY")
#   NAME.spki.der  DER SubjectPublicKeyInfo of its public key
#                  (for DANE selector 1 / SPKI)
# All certificates have distinct keys and unique serial numbers; all are
# signed with SHA-256.
#
# Self-signed end-entity certificates (DANE-EE 3 x x tests):
#   ee-rsa        RSA 2048, CN=mx.example.net, SAN DNS:mx.example.net,
#                 CA:FALSE, normal validity.
#   ee-ec         ECDSA P-256, CN=mx.example.net, SAN DNS:mx.example.net,
#                 CA:FALSE, normal validity.
#   ee-expired    ECDSA P-256, CN=mx.example.net, SAN DNS:mx.example.net,
#                 CA:FALSE, expired validity (DANE-EE ignores validity dates).
#
# Certification authorities:
#   root          self-signed RSA 2048, CN=Lab Root CA, basicConstraints
#                 critical CA:TRUE, keyUsage keyCertSign,cRLSign, normal.
#   int           EC P-256 intermediate signed by root, CN=Lab Intermediate
#                 CA, basicConstraints critical CA:TRUE,pathlen:0, normal.
#   int-expired   EC P-256 intermediate signed by root, CN=Lab Expired
#                 Intermediate CA, CA:TRUE, expired validity.
#   int2          EC P-256 CA signed by int, CN=Lab Sub-Intermediate CA,
#                 CA:TRUE; being below int it violates int's pathlen:0.
#   other-root    unrelated self-signed EC P-256 CA, CN=Other Root CA, normal.
#
# Leaves: EC P-256, CA:FALSE, keyUsage digitalSignature, extendedKeyUsage
# serverAuth, signed by int, normal validity, unless stated otherwise:
#   leaf-san      CN=not-the-name, SAN DNS:mx.example.net (SAN must win over
#                 the CN; a CN fallback would wrongly reject or accept).
#   leaf-cn       CN=mx.example.net and NO subjectAltName extension at all
#                 (RFC 6125/7672: with no DNS SAN, only a CN fallback matches).
#   leaf-wild     CN=wild, SAN DNS:*.example.net (full-label wildcard).
#   leaf-partial  CN=partial, SAN DNS:m*.example.net (partial-label wildcard).
#   leaf-other    CN=other, SAN DNS:other.example.org (name mismatch).
#   leaf-multi    CN=multi, SAN DNS:mx1.example.com, DNS:example.com.
#   leaf-expired  CN=expired, SAN DNS:mx.example.net, expired validity.
#   leaf-notyet   CN=notyet, SAN DNS:mx.example.net, not-yet-valid validity.
#   leaf-under-expired-int
#                 CN=under-expired-int, SAN DNS:mx.example.net, signed by
#                 int-expired (the leaf itself has normal validity).
#   leaf-deep     CN=deep, SAN DNS:mx.example.net, signed by int2
#                 (chain fails with "path length constraint exceeded").
#   leaf-other-ca CN=other-ca, SAN DNS:mx.example.net, signed by other-root
#                 (fails PKIX against root; matches a DANE-TA on other-root).
#
# Chain files (concatenated PEM certificates, leaf first):
#   NAME.chain.pem  what a server would send: leaf + issuing CA(s), no root
#   NAME.full.pem   leaf + issuing CA(s) + root
#   For the leaves signed by int (leaf-san, leaf-cn, leaf-wild, leaf-partial,
#   leaf-other, leaf-multi, leaf-expired, leaf-notyet):
#                   chain = leaf + int;          full = leaf + int + root
#   leaf-under-expired-int:
#                   chain = leaf + int-expired;  full = chain + root
#   leaf-deep:      chain = leaf + int2 + int;   full = chain + root
#   leaf-other-ca:  chain = leaf + other-root    (no .full.pem)
#
# OUTDIR/work is a scratch directory (CA database, CSRs, config).  It is
# removed on success and left behind on failure for debugging.
#
# Example checks (time 1800000000 = 2027-01-15):
#   openssl verify -attime 1800000000 -CAfile root.pem -untrusted int.pem \
#       leaf-san.pem                                  # OK
#   openssl verify -attime 1800000000 -CAfile root.pem \
#       -untrusted leaf-deep.chain.pem leaf-deep.pem  # path length exceeded
set -euo pipefail

prog=${0##*/}

if [ "$#" -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $prog OUTDIR" >&2
    exit 2
fi

mkdir -p -- "$1"
PKI_SRC=$(cd -- "$(dirname -- "$0")" && pwd)
OUT=$(cd -- "$1" && pwd)
WORK=$OUT/work

rm -rf -- "$WORK"
mkdir -p -- "$WORK/newcerts"
cd -- "$WORK"

# Ignore any site openssl.cnf: req and ca also get -config explicitly, and
# the other subcommands pick this file up through OPENSSL_CONF.
export OPENSSL_CONF=$WORK/openssl.cnf

NORMAL_START=20200101000000Z
NORMAL_END=20400101000000Z
EXPIRED_START=20200101000000Z
EXPIRED_END=20210101000000Z
NOTYET_START=20300101000000Z
NOTYET_END=20400101000000Z

LOG=$WORK/last.log

# Run a command quietly; on failure show its output and stop.
run() {
    if ! "$@" >"$LOG" 2>&1; then
        echo "$prog: command failed: $*" >&2
        cat "$LOG" >&2
        echo "$prog: scratch files left in $WORK" >&2
        exit 1
    fi
}

# One shared CA database for every issuer; serials come from one counter so
# they are unique across the whole PKI.
: >index.txt
echo "unique_subject = no" >index.txt.attr
echo 1000 >serial

cp "$PKI_SRC/ca.cnf" openssl.cnf

# Extension profiles.  Each writes ext/NAME.cnf with an [ ext ] section;
# openssl ca gets it with -extfile/-extensions, and copy_extensions = none,
# so nothing else (in particular no SAN) can end up in a certificate.
mkdir -p ext

# ext_root NAME
ext_root() {
    cat >"ext/$1.cnf" <<X
[ ext ]
basicConstraints     = critical, CA:TRUE
keyUsage             = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
X
}

# ext_ca NAME BASICCONSTRAINTS  (CA signed by another CA)
ext_ca() {
    cat >"ext/$1.cnf" <<X
[ ext ]
basicConstraints       = critical, $2
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
X
}

# ext_ee NAME KEYUSAGE SAN  (self-signed end entity)
ext_ee() {
    cat >"ext/$1.cnf" <<X
[ ext ]
basicConstraints     = critical, CA:FALSE
keyUsage             = critical, $2
extendedKeyUsage     = serverAuth
subjectKeyIdentifier = hash
subjectAltName       = $3
X
}

# ext_leaf NAME [SAN]  (CA-issued leaf; no SAN argument = no SAN extension)
ext_leaf() {
    {
        echo "[ ext ]"
        echo "basicConstraints       = critical, CA:FALSE"
        echo "keyUsage               = critical, digitalSignature"
        echo "extendedKeyUsage       = serverAuth"
        echo "subjectKeyIdentifier   = hash"
        echo "authorityKeyIdentifier = keyid:always"
        if [ "$#" -ge 2 ]; then
            echo "subjectAltName         = $2"
        fi
    } >"ext/$1.cnf"
}

# issue NAME rsa|ec CN ISSUER START END
#   Generates a fresh key (RSA 2048 or ECDSA P-256, written unencrypted as
#   PKCS#8 PEM by openssl req) and a CSR, then has ISSUER sign it: ISSUER
#   "self" = self-signed with NAME.key, otherwise the issuing CA's NAME.
#   Uses ext/NAME.cnf.  Writes all per-certificate outputs.
issue() {
    local name=$1 type=$2 cn=$3 issuer=$4 start=$5 end=$6
    local keyopt=() sign=()

    case $type in
        rsa) keyopt=(-newkey RSA -pkeyopt rsa_keygen_bits:2048) ;;
        ec)  keyopt=(-newkey EC -pkeyopt ec_paramgen_curve:P-256
                     -pkeyopt ec_param_enc:named_curve) ;;
        *)   echo "$prog: bad key type $type" >&2; exit 1 ;;
    esac

    rm -f -- "$OUT/$name.key"
    run openssl req -config openssl.cnf -new -utf8 "${keyopt[@]}" -noenc \
        -keyout "$OUT/$name.key" -subj "/CN=$cn" -out "$name.csr"

    if [ "$issuer" = self ]; then
        sign=(-selfsign -keyfile "$OUT/$name.key")
    else
        sign=(-cert "$OUT/$issuer.pem" -keyfile "$OUT/$issuer.key")
    fi

    run openssl ca -config openssl.cnf -batch -notext -utf8 -md sha256 \
        "${sign[@]}" -startdate "$start" -enddate "$end" \
        -extfile "ext/$name.cnf" -extensions ext \
        -in "$name.csr" -out "$name.ca.pem"

    # With -notext, openssl ca writes nothing but the PEM certificate.
    cp -f -- "$name.ca.pem" "$OUT/$name.pem"
    run openssl x509 -in "$name.ca.pem" -outform DER -out "$OUT/$name.der"
    # The public key comes from the key file; openssl ca has already
    # checked the CSR signature, so it is the key inside the certificate.
    run openssl pkey -in "$OUT/$name.key" -pubout -outform DER \
        -out "$OUT/$name.spki.der"
}

# chain OUTFILE CERTNAME...
chain() {
    local out=$1 n
    shift
    : >"$out.tmp"
    for n in "$@"; do
        cat "$OUT/$n.pem" >>"$out.tmp"
    done
    mv -f "$out.tmp" "$OUT/$out"
}

# --- self-signed end entities -------------------------------------------
ext_ee ee-rsa "digitalSignature, keyEncipherment" "DNS:mx.example.net"
issue ee-rsa rsa mx.example.net self "$NORMAL_START" "$NORMAL_END"

ext_ee ee-ec "digitalSignature" "DNS:mx.example.net"
issue ee-ec ec mx.example.net self "$NORMAL_START" "$NORMAL_END"

ext_ee ee-expired "digitalSignature" "DNS:mx.example.net"
issue ee-expired ec mx.example.net self "$EXPIRED_START" "$EXPIRED_END"

# --- certification authorities ------------------------------------------
ext_root root
issue root rsa "Lab Root CA" self "$NORMAL_START" "$NORMAL_END"

ext_ca int "CA:TRUE, pathlen:0"
issue int ec "Lab Intermediate CA" root "$NORMAL_START" "$NORMAL_END"

ext_ca int-expired "CA:TRUE"
issue int-expired ec "Lab Expired Intermediate CA" root \
    "$EXPIRED_START" "$EXPIRED_END"

ext_ca int2 "CA:TRUE"
issue int2 ec "Lab Sub-Intermediate CA" int "$NORMAL_START" "$NORMAL_END"

ext_root other-root
issue other-root ec "Other Root CA" self "$NORMAL_START" "$NORMAL_END"

# --- leaves ----------------------------------------------------------------
# leaf NAME CN ISSUER START END [SAN]
leaf() {
    local name=$1 cn=$2 issuer=$3 start=$4 end=$5
    shift 5
    ext_leaf "$name" "$@"
    issue "$name" ec "$cn" "$issuer" "$start" "$end"
}

leaf leaf-san      not-the-name   int "$NORMAL_START" "$NORMAL_END" \
    "DNS:mx.example.net"
leaf leaf-cn       mx.example.net int "$NORMAL_START" "$NORMAL_END"
leaf leaf-wild     wild           int "$NORMAL_START" "$NORMAL_END" \
    "DNS:*.example.net"
leaf leaf-partial  partial        int "$NORMAL_START" "$NORMAL_END" \
    "DNS:m*.example.net"
leaf leaf-other    other          int "$NORMAL_START" "$NORMAL_END" \
    "DNS:other.example.org"
leaf leaf-multi    multi          int "$NORMAL_START" "$NORMAL_END" \
    "DNS:mx1.example.com, DNS:example.com"
leaf leaf-expired  expired        int "$EXPIRED_START" "$EXPIRED_END" \
    "DNS:mx.example.net"
leaf leaf-notyet   notyet         int "$NOTYET_START" "$NOTYET_END" \
    "DNS:mx.example.net"
leaf leaf-under-expired-int under-expired-int int-expired \
    "$NORMAL_START" "$NORMAL_END" "DNS:mx.example.net"
leaf leaf-deep     deep           int2 "$NORMAL_START" "$NORMAL_END" \
    "DNS:mx.example.net"
leaf leaf-other-ca other-ca       other-root "$NORMAL_START" "$NORMAL_END" \
    "DNS:mx.example.net"

# Guard against a SAN sneaking into leaf-cn.
run openssl x509 -in "$OUT/leaf-cn.pem" -noout -text
if [[ $(<"$LOG") == *"Subject Alternative Name"* ]]; then
    echo "$prog: leaf-cn unexpectedly has a subjectAltName extension" >&2
    exit 1
fi

# --- chain files ---------------------------------------------------------
for n in leaf-san leaf-cn leaf-wild leaf-partial leaf-other leaf-multi \
         leaf-expired leaf-notyet; do
    chain "$n.chain.pem" "$n" int
    chain "$n.full.pem"  "$n" int root
done
chain leaf-under-expired-int.chain.pem leaf-under-expired-int int-expired
chain leaf-under-expired-int.full.pem  leaf-under-expired-int int-expired root
chain leaf-deep.chain.pem leaf-deep int2 int
chain leaf-deep.full.pem  leaf-deep int2 int root
chain leaf-other-ca.chain.pem leaf-other-ca other-root

cd -- "$OUT"
rm -rf -- "$WORK"
exit 0
