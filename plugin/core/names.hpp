// SPDX-License-Identifier: MIT
// names.hpp - reference identifiers and their match against certificate names.
//
//   normalize_name   - validate and canonicalise a reference identifier
//   name_matches     - one presented name (maybe a wildcard) against one reference
//   match_names      - the DANE-TA name check (RFC 7672 section 3.2.3)
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace danesmtp::core {

constexpr std::size_t kMaxNameLength = 253;  // RFC 1035 section 2.3.4, without the root dot
constexpr std::size_t kMaxLabelLength = 63;

// normalize_name - lower-cases a host name and drops one trailing dot. Throws
// Error(parse) for an empty name, a NUL byte, non-ASCII bytes (an IDN must be
// given in its A-label "xn--" form), an empty label, a label over 63 octets or
// a character outside letters, digits, '-' and '_'; Error(limit) for a name
// over 253 octets.
std::string normalize_name(std::string_view name);

// name_matches - does the certificate name `presented` match the normalized
// reference identifier `ref`? Case-insensitive. A wildcard counts only as the
// whole left-most label of a name with at least two further labels
// ("*.example.com"), and stands for exactly one non-empty label (RFC 7672
// section 3.2.3, RFC 6125 section 6.4.3). Anything else with a '*' (a partial
// label such as "m*.example.com") matches only literally, which no valid
// reference identifier does.
bool name_matches(std::string_view presented, std::string_view ref);

struct NameMatch {
    std::string reference;  // the reference identifier that matched
    std::string presented;  // the certificate name that matched it
};

// match_names - RFC 7672 section 3.2.3: the DNS-ID subjectAltNames when the
// certificate has any, otherwise its Common Names. References are tried in
// order, so the first one (the TLSA base domain) is reported when several match.
std::optional<NameMatch> match_names(const std::vector<std::string>& dns_sans,
                                     const std::vector<std::string>& common_names,
                                     const std::vector<std::string>& refs);

}  // namespace danesmtp::core
