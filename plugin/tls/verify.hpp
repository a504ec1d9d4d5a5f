// SPDX-License-Identifier: MIT
// verify.hpp - does a presented chain match a TLSA RRset (RFC 7671, RFC 7672)?
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tlsa.hpp"
#include "core/verdict.hpp"
#include "tls/chain.hpp"

namespace danesmtp::tls {

struct VerifyRequest {
    const std::vector<core::TlsaRecord>* records = nullptr;  // the whole RRset, usable or not
    const Chain* chain = nullptr;                            // leaf first, not empty
    std::vector<std::string> names;  // reference identifiers, normalized; [0] = TLSA base domain
    std::int64_t time = 0;           // Unix seconds for validity checks (DANE-TA only)
    core::DigestPreference digests = core::DigestPreference::sha512_first;
};

// verify - the verdict for one handshake. Throws Error only when the
// operation cannot be done (an empty chain, an OpenSSL failure); every "no"
// is a Verdict with its reason.
core::Verdict verify(const VerifyRequest& req);

}  // namespace danesmtp::tls
