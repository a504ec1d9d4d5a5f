// SPDX-License-Identifier: MIT
// verify.cpp - see verify.hpp.
//
// The decision, RFC 7672 section 3 and RFC 7671 section 5, in the order the
// code follows:
//  1. Keep the usable records (DANE-TA(2)/DANE-EE(3), known selector and
//     matching type, exact lengths) and apply digest agility (RFC 7671
//     section 9). No usable record: TLS without authentication.
//  2. DANE-EE(3): the leaf's certificate or SPKI matches. Nothing else is
//     checked - no names, no validity dates, no chain (RFC 7672 section 3.1.1,
//     RFC 7671 section 5.1). This needs no X.509 decoding at all.
//  3. DANE-TA(2): a certificate at depth >= 1 matches, or a TA is published in
//     full (2 0 0 certificate, 2 1 0 key). The leaf must then chain to it with
//     X.509 path validation at the given time, and carry a name matching one
//     of the reference identifiers (RFC 7672 sections 3.1.2, 3.2.2, 3.2.3).
//  4. Any one usable record suffices (RFC 7672 section 3.2); if none does, the
//     peer is not authenticated.
#include "tls/verify.hpp"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "core/error.hpp"
#include "core/names.hpp"

namespace danesmtp::tls {

namespace {

using core::Outcome;
using core::TlsaRecord;
using core::Verdict;

struct StoreFree {
    void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct StoreCtxFree {
    void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct StackFree {
    void operator()(STACK_OF(X509)* s) const { sk_X509_free(s); }
};

// Trust anchor candidates for DANE-TA(2).
struct Anchor {
    std::size_t record;   // index into the record set
    X509* cert = nullptr; // the TA certificate (in the chain, or decoded from DNS)
    bool from_dns = false;
    bool bare_key = false;  // 2 1 0: `cert` is the chain certificate the key signed
};

struct PathResult {
    bool ok = false;
    int depth = -1;  // depth of the anchor in the validated path
    std::string why;
};

// Trust anchor dates (RFC 5280 section 6.1.1 d): a trust anchor is a name and
// a key; path validation does not check its validity period. OpenSSL's DANE
// code (and so Postfix) agrees for an anchor that is not self-issued, but
// checks the dates of a self-signed one. We follow OpenSSL in both cases so
// that a domain's records get the same verdict from us and from Postfix. The
// certificate a bare DNS key (2 1 0) signed is not the anchor: its dates are
// checked like any other certificate's.
struct AnchorDates {
    bool check_anchor_dates = false;
};

int anchor_dates_cb(int ok, X509_STORE_CTX* ctx) {
    if (ok) return 1;
    // From here on OpenSSL reports a failure: keep it (0) unless it is the
    // date of a trust anchor that is not self-issued.
    int err = X509_STORE_CTX_get_error(ctx);
    if (err != X509_V_ERR_CERT_HAS_EXPIRED && err != X509_V_ERR_CERT_NOT_YET_VALID) return 0;
    auto* policy = static_cast<const AnchorDates*>(X509_STORE_CTX_get_app_data(ctx));
    STACK_OF(X509)* path = X509_STORE_CTX_get0_chain(ctx);
    X509* cert = X509_STORE_CTX_get_current_cert(ctx);
    if (!policy || policy->check_anchor_dates || !path || !cert) return 0;
    bool is_top = X509_STORE_CTX_get_error_depth(ctx) == sk_X509_num(path) - 1;
    bool self_issued = X509_check_issued(cert, cert) == X509_V_OK;
    if (is_top && !self_issued) {
        X509_STORE_CTX_set_error(ctx, X509_V_OK);
        return 1;
    }
    return 0;
}

// validate_path - X.509 path validation (RFC 5280 section 6) from the leaf to
// `anchor`, with the presented certificates as untrusted intermediates.
// X509_V_FLAG_PARTIAL_CHAIN makes a non-self-signed anchor acceptable, as
// DANE-TA requires (RFC 7671 section 5.2). The purpose is "ssl_server", as in
// a TLS client. `min_length` 2 keeps a DANE-TA anchor off depth 0: the leaf
// itself is never a trust anchor (RFC 7672 section 3.1.2), except when a TA
// key from DNS signed it (then the anchor sits above the chain).
PathResult validate_path(const Chain& chain, X509* anchor, std::int64_t time, int min_length) {
    PathResult res;
    std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
    std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
    std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
    if (!store || !ctx || !untrusted || !X509_STORE_add_cert(store.get(), anchor))
        throw Error(ErrorCode::internal, "cannot set up path validation: " + openssl_error());
    for (std::size_t i = 1; i < chain.size(); ++i)
        if (!sk_X509_push(untrusted.get(), chain.certs()[i].x509()))
            throw Error(ErrorCode::internal, "out of memory");
    if (!X509_STORE_CTX_init(ctx.get(), store.get(), chain.certs()[0].x509(), untrusted.get()) ||
        !X509_STORE_CTX_set_default(ctx.get(), "ssl_server"))
        throw Error(ErrorCode::internal, "cannot set up path validation: " + openssl_error());
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(time));
    AnchorDates policy;
    policy.check_anchor_dates = min_length == 1;  // bare key: the top is not the anchor
    X509_STORE_CTX_set_app_data(ctx.get(), &policy);
    X509_STORE_CTX_set_verify_cb(ctx.get(), anchor_dates_cb);
    int rc = X509_verify_cert(ctx.get());
    if (rc != 1) {
        int err = X509_STORE_CTX_get_error(ctx.get());
        res.why = std::string(X509_verify_cert_error_string(err)) + " at depth " +
                  std::to_string(X509_STORE_CTX_get_error_depth(ctx.get()));
        ERR_clear_error();
        return res;
    }
    STACK_OF(X509)* path = X509_STORE_CTX_get0_chain(ctx.get());
    int n = path ? sk_X509_num(path) : 0;
    if (n < min_length || X509_cmp(sk_X509_value(path, n - 1), anchor) != 0) {
        res.why = "the trust anchor would be the leaf itself";
        return res;
    }
    res.ok = true;
    res.depth = n - 1;
    return res;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string s;
    for (const auto& x : v) {
        if (!s.empty()) s += sep;
        s += x;
    }
    return s;
}

std::string what_leaf_has(const Certificate& leaf, const TlsaRecord& r) {
    std::string sel = r.selector == core::kSelectorSpki ? "SPKI" : "certificate";
    if (r.mtype == core::kMatchFull)
        return "leaf " + sel + " is " + std::to_string(leaf.selected_size(r.selector)) +
               " bytes starting " + core::hex_abbrev(leaf.association(r.selector, r.mtype));
    return "leaf " + sel + " " + (r.mtype == core::kMatchSha256 ? "SHA2-256" : "SHA2-512") +
           " is " + core::hex_abbrev(leaf.association(r.selector, r.mtype));
}

}  // namespace

core::Verdict verify(const VerifyRequest& req) {
    if (!req.records || !req.chain || req.chain->empty())
        throw Error(ErrorCode::invalid_argument, "no certificate chain to verify");
    const auto& records = *req.records;
    const Chain& chain = *req.chain;
    const Certificate& leaf = chain.certs()[0];
    Verdict v;

    // 1. Usable records and digest agility.
    std::vector<std::size_t> selected = core::select_records(records, req.digests);
    if (selected.empty()) {
        v.outcome = Outcome::no_usable_records;
        std::vector<std::string> why;
        for (const auto& r : records)
            why.push_back(core::to_text(r).substr(0, 5) + ": " + *core::unusable_reason(r));
        v.reason = records.empty() ? "the TLSA record set is empty"
                                   : "no usable TLSA record (" + join(why, "; ") + ")";
        return v;
    }

    std::vector<std::string> failures;

    // 2. DANE-EE(3): the leaf alone (RFC 7672 section 3.1.1).
    for (std::size_t i : selected) {
        const TlsaRecord& r = records[i];
        if (r.usage != core::kUsageDaneEe) continue;
        if (leaf.matches(r.selector, r.mtype, r.data)) {
            v.outcome = Outcome::authenticated;
            v.record_index = static_cast<int>(i);
            v.record = r;
            v.depth = 0;
            v.reason = core::describe(r) + " matches the leaf";
            return v;
        }
        failures.push_back(core::describe(r) + " does not match: " + what_leaf_has(leaf, r));
    }

    // 3. DANE-TA(2): anchors in the chain at depth >= 1, then anchors from DNS.
    std::vector<Anchor> anchors;
    std::vector<X509Ptr> dns_certs;
    std::vector<PkeyPtr> dns_keys;
    for (std::size_t i : selected) {
        const TlsaRecord& r = records[i];
        if (r.usage != core::kUsageDaneTa) continue;
        bool found = false;
        for (std::size_t d = 1; d < chain.size(); ++d) {
            // A copy of the leaf above itself is never part of a path.
            if (chain.certs()[d].der() == leaf.der()) continue;
            if (chain.certs()[d].matches(r.selector, r.mtype, r.data)) {
                anchors.push_back({i, chain.certs()[d].x509(), false, false});
                found = true;
            }
        }
        if (!found && r.mtype == core::kMatchFull && r.selector == core::kSelectorCert) {
            // 2 0 0: the whole TA certificate is in DNS (RFC 7671 section 5.2.2).
            X509Ptr x = shared_certificate(r.data.data(), r.data.size());
            if (x) {
                anchors.push_back({i, x.get(), true, false});
                dns_certs.push_back(std::move(x));
                found = true;
            } else {
                failures.push_back(core::describe(r) + ": OpenSSL cannot decode the certificate");
                continue;
            }
        }
        if (!found && r.mtype == core::kMatchFull && r.selector == core::kSelectorSpki) {
            // 2 1 0: a bare TA key in DNS; the anchor is whichever presented
            // certificate it signed (RFC 7671 section 5.2.3). When a
            // certificate with that key is in the chain, it is the anchor
            // instead, with its constraints (as in OpenSSL).
            PkeyPtr key = decode_spki(r.data.data(), r.data.size());
            if (!key) {
                failures.push_back(core::describe(r) + ": OpenSSL cannot decode the key");
                continue;
            }
            for (std::size_t d = 0; d < chain.size(); ++d) {
                X509* c = chain.certs()[d].x509();
                if (X509_verify(c, key.get()) == 1) {
                    anchors.push_back({i, c, true, true});
                    found = true;
                }
                ERR_clear_error();
            }
            dns_keys.push_back(std::move(key));
            if (!found) {
                failures.push_back(core::describe(r) + ": no presented certificate is signed by "
                                                       "this key");
                continue;
            }
            found = true;
        }
        if (!found) {
            std::string msg = core::describe(r) + ": no certificate at depth >= 1 matches";
            if (chain.size() > 1)
                msg += " (depth 1 " +
                       std::string(r.selector == core::kSelectorSpki ? "SPKI" : "certificate") +
                       (r.mtype == core::kMatchFull
                            ? std::string(" differs")
                            : std::string(r.mtype == core::kMatchSha256 ? " SHA2-256 is "
                                                                         : " SHA2-512 is ") +
                                  core::hex_abbrev(chain.certs()[1].association(r.selector,
                                                                                r.mtype))) +
                       ")";
            else
                msg += " (the peer sent only its leaf)";
            failures.push_back(msg);
        }
    }

    if (!anchors.empty()) {
        // The name check does not depend on the anchor: do it once.
        std::vector<std::string> sans, cns;
        names_of(leaf.x509(), &sans, &cns);
        auto name = core::match_names(sans, cns, req.names);
        for (const Anchor& a : anchors) {
            PathResult p = validate_path(chain, a.cert, req.time, a.bare_key ? 1 : 2);
            const TlsaRecord& r = records[a.record];
            if (!p.ok) {
                failures.push_back(core::describe(r) + " names a trust anchor, but the leaf " +
                                   "does not chain to it: " + p.why);
                continue;
            }
            if (!name) {
                std::vector<std::string> shown = sans.empty() ? cns : sans;
                failures.push_back(
                    core::describe(r) + " validates the chain, but no certificate name (" +
                    (sans.empty() ? "CN " : "DNS SAN ") +
                    (shown.empty() ? std::string("none") : join(shown, ", ")) +
                    ") matches the reference identifiers (" +
                    (req.names.empty() ? std::string("none given") : join(req.names, ", ")) + ")");
                break;  // every other anchor would fail the same way
            }
            v.outcome = Outcome::authenticated;
            v.record_index = static_cast<int>(a.record);
            v.record = r;
            v.depth = a.bare_key ? p.depth + 1 : p.depth;
            v.ta_from_dns = a.from_dns;
            v.name = name->reference;
            v.presented = name->presented;
            v.reason = core::describe(r) + " trust anchor at depth " + std::to_string(v.depth) +
                       (a.from_dns ? " (from DNS)" : "") + ", name " + name->presented +
                       " matches " + name->reference;
            return v;
        }
    }
    // 4. Usable records, none matched.
    v.outcome = Outcome::not_authenticated;
    v.reason = "no TLSA record matches: " + join(failures, "; ");
    return v;
}

}  // namespace danesmtp::tls
