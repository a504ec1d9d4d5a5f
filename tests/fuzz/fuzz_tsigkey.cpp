// SPDX-License-Identifier: MIT
// fuzz_tsigkey.cpp - TSIG key text (core::parse_tsig_key): BIND key clauses
// and nsupdate -y strings, as `danesmtp rollover publish` reads them.
//
// Property: a key that parses has an absolute lower-case name of at most 254
// octets, a known algorithm and a base64 secret.
#include <cctype>

#include "core/tsigkey.hpp"
#include "fuzz/fuzz_common.hpp"

using namespace danesmtp;

FUZZ_TARGET(tsigkey) {
    core::TsigKey k = core::parse_tsig_key(fuzz::whole(data, size).text());
    fuzz::require(!k.name.empty() && k.name.back() == '.' && k.name.size() <= 254, "key name not absolute or too long");
    for (char c : k.name) fuzz::require(!std::isupper(static_cast<unsigned char>(c)), "key name not lower case");
    fuzz::require(k.algorithm.rfind("hmac-", 0) == 0 && k.algorithm.back() == '.', "unknown algorithm accepted");
    fuzz::require(!k.secret.empty() && k.secret.size() % 4 == 0, "secret not base64");
    for (char c : k.secret)
        fuzz::require(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=', "secret not base64");
}
