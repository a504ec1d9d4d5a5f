// openssl.cpp - see openssl.hpp.
#include "tls/openssl.hpp"

#include <openssl/err.h>

#include "core/error.hpp"
#include "core/tlsa.hpp"

namespace danesmtp::tls {

namespace {

// Fetched once, never freed: they live as long as the process, as OpenSSL's
// own default provider does. Function-local statics are initialised once even
// under concurrent first use (C++11).
const EVP_MD* fetched(std::uint8_t mtype) {
    static EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    static EVP_MD* sha512 = EVP_MD_fetch(nullptr, "SHA2-512", nullptr);
    return mtype == core::kMatchSha256 ? sha256 : mtype == core::kMatchSha512 ? sha512 : nullptr;
}

}  // namespace

core::Bytes digest(std::uint8_t mtype, const std::uint8_t* data, std::size_t len) {
    const EVP_MD* md = fetched(mtype);
    if (!md) throw Error(ErrorCode::internal, "no digest for matching type " + std::to_string(mtype));
    core::Bytes out(static_cast<std::size_t>(EVP_MD_get_size(md)));
    unsigned int n = 0;
    if (!EVP_Digest(data, len, out.data(), &n, md, nullptr) || n != out.size())
        throw Error(ErrorCode::internal, "digest failed: " + openssl_error());
    return out;
}

std::string openssl_error() {
    unsigned long e = ERR_get_error();
    std::string s;
    if (e) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        s = buf;
    } else {
        s = "unknown OpenSSL error";
    }
    ERR_clear_error();
    return s;
}

X509Ptr decode_certificate(const std::uint8_t* der, std::size_t len) {
    const unsigned char* p = der;
    X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(len)));
    if (!x || p != der + len) {
        ERR_clear_error();
        return nullptr;
    }
    return x;
}

PkeyPtr decode_spki(const std::uint8_t* der, std::size_t len) {
    const unsigned char* p = der;
    PkeyPtr k(d2i_PUBKEY(nullptr, &p, static_cast<long>(len)));
    if (!k || p != der + len) {
        ERR_clear_error();
        return nullptr;
    }
    return k;
}

}  // namespace danesmtp::tls
