// SPDX-License-Identifier: MIT
// chain.cpp - see chain.hpp.
#include "tls/chain.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "core/error.hpp"
#include "core/tlsa.hpp"

namespace danesmtp::tls {

Certificate::Certificate(core::Bytes der) : der_(std::move(der)) {
    if (der_.size() > kMaxCertificateSize)
        throw Error(ErrorCode::limit, "certificate larger than 64 KiB");
    std::string why;
    auto outline = core::outline_certificate(der_.data(), der_.size(), &why);
    if (!outline) throw Error(ErrorCode::parse, "not a DER certificate: " + why);
    outline_ = *outline;
}

const std::uint8_t* Certificate::selected(std::uint8_t selector) const {
    return selector == core::kSelectorSpki ? spki() : der_.data();
}

std::size_t Certificate::selected_size(std::uint8_t selector) const {
    return selector == core::kSelectorSpki ? spki_size() : der_.size();
}

bool Certificate::matches(std::uint8_t selector, std::uint8_t mtype,
                          const core::Bytes& data) const {
    if (selector > core::kSelectorSpki || mtype > core::kMatchSha512) return false;
    const std::uint8_t* p = selected(selector);
    std::size_t n = selected_size(selector);
    if (mtype == core::kMatchFull) return n == data.size() && std::memcmp(p, data.data(), n) == 0;
    core::Bytes& d = digests_[selector][mtype - 1];
    if (d.empty()) d = digest(mtype, p, n);
    return d == data;
}

core::Bytes Certificate::association(std::uint8_t selector, std::uint8_t mtype) const {
    if (selector > core::kSelectorSpki || mtype > core::kMatchSha512)
        throw Error(ErrorCode::invalid_argument, "selector or matching type out of range");
    const std::uint8_t* p = selected(selector);
    std::size_t n = selected_size(selector);
    if (mtype == core::kMatchFull) return core::Bytes(p, p + n);
    core::Bytes& d = digests_[selector][mtype - 1];
    if (d.empty()) d = digest(mtype, p, n);
    return d;
}

X509* Certificate::x509() const {
    if (!x509_) {
        x509_ = shared_certificate(der_.data(), der_.size());
        if (!x509_) throw Error(ErrorCode::parse, "OpenSSL cannot decode the certificate");
    }
    return x509_.get();
}

void Chain::add_der(const std::uint8_t* der, std::size_t len) {
    if (!der || len == 0) throw Error(ErrorCode::parse, "empty certificate");
    if (certs_.size() >= kMaxChainLength)
        throw Error(ErrorCode::limit, "chain longer than " + std::to_string(kMaxChainLength) +
                                          " certificates");
    certs_.emplace_back(core::Bytes(der, der + len));
}

namespace {

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};

struct PemBlock {
    std::string name;
    core::Bytes der;
};

// Every PEM block in the text. Returns false when the text holds no block.
bool pem_blocks(const std::uint8_t* data, std::size_t len, std::vector<PemBlock>* out) {
    if (len > static_cast<std::size_t>(INT32_MAX)) throw Error(ErrorCode::limit, "input too large");
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(data, static_cast<int>(len)));
    if (!bio) throw Error(ErrorCode::internal, "BIO_new_mem_buf failed");
    for (;;) {
        char* name = nullptr;
        char* header = nullptr;
        unsigned char* body = nullptr;
        long n = 0;
        if (!PEM_read_bio(bio.get(), &name, &header, &body, &n)) {
            unsigned long e = ERR_peek_last_error();
            bool at_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
            std::string msg = at_end ? std::string() : openssl_error();
            ERR_clear_error();
            if (!at_end) throw Error(ErrorCode::parse, "malformed PEM block: " + msg);
            return !out->empty();
        }
        PemBlock b;
        b.name = name;
        bool encrypted = header && std::strstr(header, "ENCRYPTED") != nullptr;
        b.der.assign(body, body + n);
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(body);
        if (encrypted) throw Error(ErrorCode::unsupported, "encrypted PEM block: decrypt it first");
        out->push_back(std::move(b));
    }
}

core::Bytes spki_of(EVP_PKEY* key) {
    unsigned char* der = nullptr;
    int n = i2d_PUBKEY(key, &der);
    if (n <= 0) throw Error(ErrorCode::internal, "cannot encode public key: " + openssl_error());
    core::Bytes out(der, der + n);
    OPENSSL_free(der);
    return out;
}

PemObject private_key_object(const core::Bytes& der, const char* what) {
    const unsigned char* p = der.data();
    PkeyPtr key(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size())));
    if (!key) {
        ERR_clear_error();
        throw Error(ErrorCode::parse, std::string(what) + " does not decode");
    }
    return {PemObject::private_key, spki_of(key.get())};
}

}  // namespace

void Chain::add_pem(std::string_view pem) {
    std::vector<PemBlock> blocks;
    if (!pem_blocks(reinterpret_cast<const std::uint8_t*>(pem.data()), pem.size(), &blocks))
        throw Error(ErrorCode::parse, "no PEM certificate found");
    for (auto& b : blocks) {
        if (b.name != "CERTIFICATE")
            throw Error(ErrorCode::parse, "unexpected PEM block '" + b.name +
                                              "' in a certificate chain");
    }
    for (auto& b : blocks) add_der(b.der.data(), b.der.size());
}

std::vector<PemObject> read_objects(const std::uint8_t* data, std::size_t len) {
    init_openssl();
    if (!data || len == 0) throw Error(ErrorCode::parse, "empty input");
    std::vector<PemBlock> blocks;
    std::vector<PemObject> out;
    if (!pem_blocks(data, len, &blocks)) {
        // Not PEM: one DER certificate, public key or private key.
        std::string why;
        if (core::outline_certificate(data, len, &why)) {
            if (!decode_certificate(data, len))
                throw Error(ErrorCode::parse, "DER certificate does not decode");
            out.push_back({PemObject::certificate, core::Bytes(data, data + len)});
        } else if (auto key = decode_spki(data, len)) {
            out.push_back({PemObject::public_key, core::Bytes(data, data + len)});
        } else {
            out.push_back(private_key_object(core::Bytes(data, data + len),
                                             "input (neither PEM nor a DER certificate or key)"));
        }
        return out;
    }
    for (auto& b : blocks) {
        if (b.name == "CERTIFICATE") {
            std::string why;
            if (!core::outline_certificate(b.der.data(), b.der.size(), &why) ||
                !decode_certificate(b.der.data(), b.der.size()))
                throw Error(ErrorCode::parse, "PEM certificate does not decode" +
                                                  (why.empty() ? std::string() : ": " + why));
            out.push_back({PemObject::certificate, std::move(b.der)});
        } else if (b.name == "PUBLIC KEY") {
            if (!decode_spki(b.der.data(), b.der.size()))
                throw Error(ErrorCode::parse, "PEM public key does not decode");
            out.push_back({PemObject::public_key, std::move(b.der)});
        } else if (b.name == "PRIVATE KEY" || b.name == "RSA PRIVATE KEY" ||
                   b.name == "EC PRIVATE KEY") {
            out.push_back(private_key_object(b.der, "PEM private key"));
        } else if (b.name == "ENCRYPTED PRIVATE KEY") {
            throw Error(ErrorCode::unsupported, "encrypted private key: give the certificate "
                                                "or the public key instead");
        } else if (b.name == "EC PARAMETERS") {
            continue;  // `openssl ecparam -genkey` writes these before the key
        } else {
            throw Error(ErrorCode::parse, "unsupported PEM block '" + b.name + "'");
        }
    }
    return out;
}

void names_of(X509* cert, std::vector<std::string>* dns_sans, std::vector<std::string>* cns) {
    auto* gens = static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (gens) {
        for (int i = 0; i < sk_GENERAL_NAME_num(gens); ++i) {
            const GENERAL_NAME* g = sk_GENERAL_NAME_value(gens, i);
            if (g->type != GEN_DNS) continue;
            const ASN1_IA5STRING* s = g->d.dNSName;
            // Kept with any embedded NUL: name_matches() refuses such names.
            dns_sans->emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                   static_cast<std::size_t>(ASN1_STRING_length(s)));
        }
        GENERAL_NAMES_free(gens);
    }
    ERR_clear_error();
    X509_NAME* subject = X509_get_subject_name(cert);
    for (int i = -1; (i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) >= 0;) {
        ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
        unsigned char* utf8 = nullptr;
        int n = ASN1_STRING_to_UTF8(&utf8, s);
        if (n < 0) continue;
        cns->emplace_back(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
        OPENSSL_free(utf8);
    }
}

}  // namespace danesmtp::tls
