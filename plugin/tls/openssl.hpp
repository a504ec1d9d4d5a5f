// SPDX-License-Identifier: MIT
// openssl.hpp - small RAII and digest helpers over OpenSSL 3.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/hex.hpp"

namespace danesmtp::tls {

struct X509Free {
    void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// digest - SHA2-256 (mtype 1) or SHA2-512 (mtype 2) of a buffer, without
// starting OpenSSL (see openssl.cpp). Throws Error(internal) for another
// mtype, Error(limit) beyond kMaxDigestInput bytes.
constexpr std::size_t kMaxDigestInput = 16u << 20;
core::Bytes digest(std::uint8_t mtype, const std::uint8_t* data, std::size_t len);

// init_openssl - OpenSSL's initialisation without exit-time clean-up;
// called before the library's first OpenSSL object. Idempotent.
void init_openssl();

// openssl_error - the text of OpenSSL's most recent error, and clears the queue.
std::string openssl_error();

// decode_certificate / decode_spki - full OpenSSL decoding, nullptr on failure.
X509Ptr decode_certificate(const std::uint8_t* der, std::size_t len);

// shared_certificate - the same, through a small process-wide cache keyed by
// the DER bytes: decoding costs 150-180 us with OpenSSL 3 (measured on Debian
// 12, docs/decisions.md), and an MTA sees the same intermediates and trust anchors again and
// again. Returns a new reference (X509_up_ref) to a decoded certificate that
// callers must treat as read-only; OpenSSL lets threads share such objects,
// as its X509_STORE does. Bounded: the least recently used entry goes first.
X509Ptr shared_certificate(const std::uint8_t* der, std::size_t len);
PkeyPtr decode_spki(const std::uint8_t* der, std::size_t len);

}  // namespace danesmtp::tls
