// SPDX-License-Identifier: MIT
// chain.hpp - a certificate chain as the peer presented it, leaf first.
//
// Certificates are held as DER with their outline (core/der.hpp) checked on
// the way in; OpenSSL decodes one only when DANE-TA path validation or a name
// check needs it. A Chain is used by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/der.hpp"
#include "core/hex.hpp"
#include "tls/openssl.hpp"

namespace danesmtp::tls {

// A TLS server chain is a handful of certificates; anything longer than this
// is refused rather than walked (OpenSSL's default verify depth is 100).
constexpr std::size_t kMaxChainLength = 32;
constexpr std::size_t kMaxCertificateSize = 64 * 1024;

class Certificate {
public:
    // Throws Error(parse) when the DER does not have a Certificate outline.
    explicit Certificate(core::Bytes der);

    const core::Bytes& der() const { return der_; }
    const std::uint8_t* spki() const { return der_.data() + outline_.spki.offset; }
    std::size_t spki_size() const { return outline_.spki.length; }
    // selected - the bytes a TLSA selector covers: the whole certificate
    // (Cert(0)) or its SubjectPublicKeyInfo (SPKI(1)), RFC 6698 section 2.1.2.
    const std::uint8_t* selected(std::uint8_t selector) const;
    std::size_t selected_size(std::uint8_t selector) const;
    // matches - does this certificate match the (usable) record's data?
    // Digests are computed once per certificate and kept.
    bool matches(std::uint8_t selector, std::uint8_t mtype, const core::Bytes& data) const;
    // association - the data a record with this selector and mtype would carry.
    core::Bytes association(std::uint8_t selector, std::uint8_t mtype) const;
    // x509 - OpenSSL's decoding, made on first use. Throws Error(parse).
    X509* x509() const;

private:
    core::Bytes der_;
    core::CertificateOutline outline_;
    mutable core::Bytes digests_[2][2];  // [selector][mtype-1], empty until computed
    mutable X509Ptr x509_;
};

class Chain {
public:
    void add_der(const std::uint8_t* der, std::size_t len);
    // add_pem - every CERTIFICATE block in the text, in order. Text outside
    // blocks is skipped (as `openssl s_client -showcerts` prints it); a block
    // of another type, bad base64, or no block at all is an Error(parse).
    void add_pem(std::string_view pem);
    const std::vector<Certificate>& certs() const { return certs_; }
    std::size_t size() const { return certs_.size(); }
    bool empty() const { return certs_.empty(); }
    void clear() { certs_.clear(); }

private:
    std::vector<Certificate> certs_;
};

// One object read from a PEM (or DER) file, for `danesmtp tlsa`.
struct PemObject {
    enum Kind { certificate, public_key, private_key } kind;
    core::Bytes der;  // certificate DER, or SubjectPublicKeyInfo DER for keys
};

// read_objects - every certificate and key in a PEM text, or one DER
// certificate or key when the input is not PEM. Private keys are reduced to
// their public key at once. Throws Error(parse) for encrypted keys, unknown
// block types, junk inside a block, or input holding nothing usable.
std::vector<PemObject> read_objects(const std::uint8_t* data, std::size_t len);

// names_of - the DNS-ID subjectAltNames and the Common Names of a certificate.
void names_of(X509* cert, std::vector<std::string>* dns_sans, std::vector<std::string>* cns);

}  // namespace danesmtp::tls
