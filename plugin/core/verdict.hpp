// SPDX-License-Identifier: MIT
// verdict.hpp - the answer of a DANE verification (not an error: see error.hpp).
#pragma once

#include <cstdint>
#include <string>

#include "core/tlsa.hpp"

namespace danesmtp::core {

enum class Outcome {
    authenticated,      // a usable record matched (RFC 7672 section 3.2)
    not_authenticated,  // usable records exist, none matched: next MX or defer, never clear text
    no_usable_records,  // TLS is required but cannot be authenticated (RFC 7672 section 2.2)
};

const char* outcome_name(Outcome o);  // "authenticated", ...

struct Verdict {
    Outcome outcome = Outcome::not_authenticated;
    // For authenticated: the matched record and where it matched.
    int record_index = -1;   // index into the record set given to the verifier
    TlsaRecord record;
    int depth = -1;          // depth of the matched certificate; for a trust anchor
                             // published in DNS and absent from the chain: chain length
    bool ta_from_dns = false;
    std::string name;        // DANE-TA: the reference identifier that matched
    std::string presented;   // DANE-TA: the certificate name that matched it
    // For every outcome: a sentence a person can act on.
    std::string reason;
};

}  // namespace danesmtp::core
