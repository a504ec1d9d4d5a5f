// SPDX-License-Identifier: MIT
// Test oracle built on OpenSSL's DANE API (see openssl_dane.hpp).
//
// Mirrors what libssl does in ssl_verify_cert_chain() for a DANE-enabled
// client connection, minus the handshake: the SSL object only carries the
// DANE state (TLSA records, base domain, reference names, flags) and the
// verification is run by hand on an X509_STORE_CTX.
#include "openssl_dane.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>

namespace oracle {

namespace {

struct SslFree { void operator()(SSL* p) const { SSL_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct StoreCtxFree { void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); } };
struct X509StackFree {
    void operator()(STACK_OF(X509)* p) const { sk_X509_pop_free(p, X509_free); }
};

using SslPtr = std::unique_ptr<SSL, SslFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, StoreCtxFree>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;

// Keeps OpenSSL's per-thread error queue from accumulating across calls.
struct ErrGuard {
    ErrGuard() { ERR_clear_error(); }
    ~ErrGuard() { ERR_clear_error(); }
};

std::string last_openssl_error(const char* what) {
    std::string s(what);
    unsigned long e = ERR_peek_last_error();
    if (e != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        s += ": ";
        s += buf;
    }
    return s;
}

// Strict DER parse of exactly one certificate: d2i_X509 must succeed and
// consume the whole buffer.
X509Ptr parse_cert(const std::vector<uint8_t>& der) {
    if (der.empty() || der.size() > static_cast<size_t>(std::numeric_limits<long>::max()))
        return nullptr;
    const unsigned char* p = der.data();
    X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (cert && p != der.data() + der.size())
        return nullptr;  // trailing bytes
    return cert;
}

Result verify_impl(SSL_CTX* sslctx, X509_STORE* store,
                   const std::vector<std::vector<uint8_t>>& chain,
                   const std::vector<Record>& records,
                   const std::vector<std::string>& names, int64_t time) {
    Result r;

    auto setup_fail = [&r](const std::string& msg) {
        r.setup_error = true;
        r.x509_error = X509_V_ERR_UNSPECIFIED;
        r.error_string = msg;
        return r;
    };

    if (names.empty())
        return setup_fail("no reference names (names[0] is the TLSA base domain)");
    for (const std::string& n : names)
        if (n.find('\0') != std::string::npos)
            return setup_fail("reference name contains NUL");

    // --- DANE state on a fresh SSL object (as Postfix does per connection) ---
    SslPtr ssl(SSL_new(sslctx));
    if (!ssl)
        return setup_fail(last_openssl_error("SSL_new failed"));
    if (SSL_dane_enable(ssl.get(), names[0].c_str()) <= 0)
        return setup_fail(last_openssl_error("SSL_dane_enable failed"));
    SSL_dane_set_flags(ssl.get(), DANE_FLAG_NO_DANE_EE_NAMECHECKS);
    SSL_set_hostflags(ssl.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    for (size_t i = 1; i < names.size(); ++i)
        if (SSL_add1_host(ssl.get(), names[i].c_str()) != 1)
            return setup_fail(last_openssl_error("SSL_add1_host failed"));

    for (const Record& rec : records) {
        // OpenSSL rejects a NULL data pointer even for dlen == 0; any non-NULL
        // pointer is fine then since nothing is read.
        static const unsigned char empty = 0;
        const unsigned char* d = rec.data.empty() ? &empty : rec.data.data();
        if (SSL_dane_tlsa_add(ssl.get(), rec.usage, rec.selector, rec.mtype, d,
                              rec.data.size()) <= 0)
            ++r.rejected_records;
    }
    ERR_clear_error();  // rejected records leave errors behind

    // --- Parse the presented chain ---
    if (chain.empty()) {
        r.chain_parse_error = true;
        r.x509_error = X509_V_ERR_UNSPECIFIED;
        r.error_string = "empty certificate chain";
        return r;
    }
    X509Ptr leaf = parse_cert(chain[0]);
    X509StackPtr untrusted(sk_X509_new_null());
    if (!untrusted)
        return setup_fail("sk_X509_new_null failed");
    bool parse_ok = static_cast<bool>(leaf);
    size_t bad_index = 0;
    for (size_t i = 1; parse_ok && i < chain.size(); ++i) {
        X509Ptr c = parse_cert(chain[i]);
        if (!c) {
            parse_ok = false;
            bad_index = i;
            break;
        }
        if (!sk_X509_push(untrusted.get(), c.get()))
            return setup_fail("sk_X509_push failed");
        c.release();  // now owned by the stack
    }
    if (!parse_ok) {
        r.chain_parse_error = true;
        r.x509_error = X509_V_ERR_UNSPECIFIED;
        r.error_string = "certificate " + std::to_string(bad_index) +
                         " is not a single DER X.509 certificate";
        return r;
    }

    // --- Verify, the way ssl_verify_cert_chain() sets things up ---
    StoreCtxPtr xctx(X509_STORE_CTX_new());
    if (!xctx)
        return setup_fail("X509_STORE_CTX_new failed");
    if (!X509_STORE_CTX_init(xctx.get(), store, leaf.get(), untrusted.get()))
        return setup_fail(last_openssl_error("X509_STORE_CTX_init failed"));
    X509_STORE_CTX_set0_dane(xctx.get(), SSL_get0_dane(ssl.get()));
    if (!X509_STORE_CTX_set_default(xctx.get(), "ssl_server"))
        return setup_fail(last_openssl_error("X509_STORE_CTX_set_default failed"));
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(xctx.get());
    if (!X509_VERIFY_PARAM_set1(param, SSL_get0_param(ssl.get())))
        return setup_fail(last_openssl_error("X509_VERIFY_PARAM_set1 failed"));
    X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(time));

    int ret = X509_verify_cert(xctx.get());
    int err = X509_STORE_CTX_get_error(xctx.get());
    if (ret != 1 && err == X509_V_OK)
        err = X509_V_ERR_UNSPECIFIED;  // internal error without a verify code
    r.authenticated = (ret == 1);
    r.x509_error = err;
    r.error_string = X509_verify_cert_error_string(err);
    if (STACK_OF(X509)* built = X509_STORE_CTX_get0_chain(xctx.get()))
        r.chain_length = sk_X509_num(built);

    // SSL_get0_dane_authority()/SSL_get0_dane_tlsa() read ssl->dane, the very
    // object handed to the store context above, but they return -1 unless
    // ssl->verify_result == X509_V_OK; record the outcome as libssl would.
    SSL_set_verify_result(ssl.get(), r.authenticated ? X509_V_OK : err);
    if (r.authenticated) {
        X509* mcert = nullptr;
        EVP_PKEY* mspki = nullptr;
        r.match_depth = SSL_get0_dane_authority(ssl.get(), &mcert, &mspki);
        r.matched_bare_key = (mcert == nullptr && mspki != nullptr);
        uint8_t u = 0, s = 0, m = 0;
        const unsigned char* data = nullptr;
        size_t dlen = 0;
        if (SSL_get0_dane_tlsa(ssl.get(), &u, &s, &m, &data, &dlen) >= 0 && data != nullptr) {
            r.matched_usage = u;
            r.matched_selector = s;
            r.matched_mtype = m;
            r.matched_data.assign(data, data + dlen);
        }
    }

    // Destruction order: xctx (references ssl's DANE state and the certs),
    // then untrusted, leaf, ssl -- reverse of declaration, as required.
    return r;
}

}  // namespace

Verifier::Verifier() {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!ctx_)
        throw std::runtime_error("SSL_CTX_new failed");
    if (SSL_CTX_dane_enable(ctx_) <= 0) {
        SSL_CTX_free(ctx_);
        throw std::runtime_error("SSL_CTX_dane_enable failed");
    }
    store_ = X509_STORE_new();  // deliberately empty: no system trust anchors
    if (!store_) {
        SSL_CTX_free(ctx_);
        throw std::runtime_error("X509_STORE_new failed");
    }
    ERR_clear_error();
}

Verifier::~Verifier() {
    X509_STORE_free(store_);
    SSL_CTX_free(ctx_);
}

Result Verifier::verify(const std::vector<std::vector<uint8_t>>& chain,
                        const std::vector<Record>& records,
                        const std::vector<std::string>& names, int64_t time) const {
    ErrGuard guard;
    try {
        return verify_impl(ctx_, store_, chain, records, names, time);
    } catch (const std::exception& e) {  // std::bad_alloc and the like
        Result r;
        r.setup_error = true;
        r.x509_error = X509_V_ERR_UNSPECIFIED;
        r.error_string = std::string("exception: ") + e.what();
        return r;
    }
}

}  // namespace oracle
