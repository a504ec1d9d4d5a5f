// SPDX-License-Identifier: MIT
// openssl.cpp - see openssl.hpp.
#include "tls/openssl.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <pthread.h>

#include <list>
#include <mutex>
#include <unordered_map>

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
    const unsigned char* p = der;
    PkeyPtr k(d2i_PUBKEY(nullptr, &p, static_cast<long>(len)));
    if (!k || p != der + len) {
        ERR_clear_error();
        return nullptr;
    }
    return k;
}

}  // namespace danesmtp::tls
