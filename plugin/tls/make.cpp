// SPDX-License-Identifier: MIT
// make.cpp - see make.hpp.
#include "tls/make.hpp"

#include "core/error.hpp"
#include "core/tlsa.hpp"
#include "tls/chain.hpp"

namespace danesmtp::tls {

std::string make_tlsa(const std::uint8_t* input, std::size_t len, std::uint8_t usage,
                      std::uint8_t selector, std::uint8_t mtype, int depth) {
    if (usage > core::kUsageDaneEe)
        throw Error(ErrorCode::invalid_argument, "usage must be 0-3");
    if (selector > core::kSelectorSpki)
        throw Error(ErrorCode::invalid_argument, "selector must be 0 (Cert) or 1 (SPKI)");
    if (mtype > core::kMatchSha512)
        throw Error(ErrorCode::invalid_argument, "matching type must be 0, 1 or 2");
    std::vector<PemObject> objects = read_objects(input, len);
    std::size_t certs = 0, keys = 0;
    for (const auto& o : objects) (o.kind == PemObject::certificate ? certs : keys)++;
    if (certs && keys)
        throw Error(ErrorCode::invalid_argument,
                    "the input holds both certificates and a key; give only one of them");
    if (keys > 1)
        throw Error(ErrorCode::invalid_argument, "the input holds " + std::to_string(keys) +
                                                     " keys; give exactly one");
    core::TlsaRecord r;
    r.usage = usage;
    r.selector = selector;
    r.mtype = mtype;
    if (keys) {
        if (selector != core::kSelectorSpki)
            throw Error(ErrorCode::invalid_argument,
                        "a key has no certificate: selector 0 (Cert) needs a certificate");
        if (depth > 0)
            throw Error(ErrorCode::invalid_argument, "a depth applies to a chain, not a key");
        const auto& spki = objects[0].der;
        r.data = mtype == core::kMatchFull ? spki : digest(mtype, spki.data(), spki.size());
        return core::to_text(r);
    }
    bool ta = usage == core::kUsageDaneTa || usage == core::kUsagePkixTa;
    if (depth < 0) depth = ta ? static_cast<int>(certs) - 1 : 0;
    if (static_cast<std::size_t>(depth) >= certs)
        throw Error(ErrorCode::invalid_argument,
                    "depth " + std::to_string(depth) + " is beyond the chain of " +
                        std::to_string(certs) + " certificate(s)");
    if (!ta && depth != 0)
        throw Error(ErrorCode::invalid_argument,
                    "an end-entity usage (1 or 3) describes the leaf at depth 0");
    if (ta && depth == 0 && certs > 1)
        throw Error(ErrorCode::invalid_argument,
                    "a trust-anchor usage (0 or 2) never matches the leaf of a chain "
                    "(RFC 7672 section 3.1.2); pick depth 1 or more");
    Certificate cert(objects[static_cast<std::size_t>(depth)].der);
    r.data = cert.association(selector, mtype);
    return core::to_text(r);
}

}  // namespace danesmtp::tls
