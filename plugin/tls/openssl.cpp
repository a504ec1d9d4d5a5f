// SPDX-License-Identifier: MIT
// openssl.cpp - see openssl.hpp.
#include "tls/openssl.hpp"

#include <ldns/sha2.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <pthread.h>

#include <list>
#include <mutex>
#include <unordered_map>

#include "core/error.hpp"
#include "core/tlsa.hpp"

namespace danesmtp::tls {

// RFC 6698 section 2.1.3: SHA2-256 and SHA2-512. Computed with ldns's own
// implementation (ldns/sha2.h), not OpenSSL's: the first OpenSSL digest in a
// process initialises OpenSSL (configuration file, default provider, method
// fetch), 1.7 ms measured per Exim delivery process, and registers exit-time
// clean-up - for hashing one certificate of 1-2 KiB. A DANE-EE check thus
// never starts OpenSSL (issue 11). tests/unit checks both against OpenSSL.
core::Bytes digest(std::uint8_t mtype, const std::uint8_t* data, std::size_t len) {
    if (len > kMaxDigestInput) throw Error(ErrorCode::limit, "digest input over 16 MiB");
    // ldns takes a non-const pointer but only reads it.
    auto* in = const_cast<unsigned char*>(data);
    auto n = static_cast<unsigned int>(len);
    if (mtype == core::kMatchSha256) {
        core::Bytes out(LDNS_SHA256_DIGEST_LENGTH);
        ldns_sha256(in, n, out.data());
        return out;
    }
    if (mtype == core::kMatchSha512) {
        core::Bytes out(LDNS_SHA512_DIGEST_LENGTH);
        ldns_sha512(in, n, out.data());
        return out;
    }
    throw Error(ErrorCode::internal, "no digest for matching type " + std::to_string(mtype));
}

void init_openssl() {
    // No exit-time clean-up in the host process (the MTA exits right after a
    // delivery: freeing OpenSSL's tables then costs about 1 ms for nothing).
    // Other settings as OpenSSL's implicit initialisation would make them.
    static std::once_flag once;
    std::call_once(once, [] { OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT | OPENSSL_INIT_LOAD_CONFIG, nullptr); });
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
    init_openssl();
    const unsigned char* p = der;
    X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(len)));
    if (!x || p != der + len) {
        ERR_clear_error();
        return nullptr;
    }
    return x;
}

namespace {

constexpr std::size_t kCacheEntries = 128;

struct CertCache {
    std::mutex mu;
    std::list<std::string> order;  // most recently used first
    struct Entry {
        X509Ptr cert;
        std::list<std::string>::iterator pos;
    };
    std::unordered_map<std::string, Entry> map;
};

CertCache& cert_cache() {
    // Never destroyed: safe at exit. Across fork() the lock is held by the
    // forking thread, so a child never inherits it locked by another thread.
    static CertCache* cache = [] {
        auto* c = new CertCache();
        pthread_atfork([] { cert_cache().mu.lock(); }, [] { cert_cache().mu.unlock(); },
                       [] { cert_cache().mu.unlock(); });
        return c;
    }();
    return *cache;
}

}  // namespace

X509Ptr shared_certificate(const std::uint8_t* der, std::size_t len) {
    init_openssl();
    CertCache& c = cert_cache();
    std::string key(reinterpret_cast<const char*>(der), len);
    {
        std::lock_guard<std::mutex> lock(c.mu);
        auto it = c.map.find(key);
        if (it != c.map.end()) {
            c.order.splice(c.order.begin(), c.order, it->second.pos);
            X509_up_ref(it->second.cert.get());
            return X509Ptr(it->second.cert.get());
        }
    }
    X509Ptr fresh = decode_certificate(der, len);
    if (!fresh) return nullptr;
    // Fill OpenSSL's lazily computed extension cache now, while the object
    // is still ours alone.
    X509_check_purpose(fresh.get(), -1, 0);
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.map.find(key);
    if (it == c.map.end()) {
        if (c.map.size() >= kCacheEntries) {
            c.map.erase(c.order.back());
            c.order.pop_back();
        }
        c.order.push_front(key);
        X509_up_ref(fresh.get());
        c.map.emplace(std::move(key), CertCache::Entry{X509Ptr(fresh.get()), c.order.begin()});
    }
    return fresh;
}

PkeyPtr decode_spki(const std::uint8_t* der, std::size_t len) {
    init_openssl();
    const unsigned char* p = der;
    PkeyPtr k(d2i_PUBKEY(nullptr, &p, static_cast<long>(len)));
    if (!k || p != der + len) {
        ERR_clear_error();
        return nullptr;
    }
    return k;
}

}  // namespace danesmtp::tls
