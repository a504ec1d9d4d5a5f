// SPDX-License-Identifier: MIT
// auth.hpp - ask one authoritative server directly (no recursion, DNSSEC
// records requested) for a zone's SOA serial and a TLSA RRset, so `danesmtp
// check` can say whether every server of the zone serves the same records:
// a secondary that missed an update breaks a key rollover for the part of
// the world that asks it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace danesmtp::check {

struct AuthAnswer {
    bool answered = false;           // both queries got an authoritative answer
    std::string error;               // what went wrong, when not answered
    std::int64_t serial = -1;        // the zone's SOA serial
    std::vector<std::string> tlsa;   // the TLSA RRset as "U S M hex", sorted
    std::uint32_t tlsa_ttl = 0;      // its TTL as served (the largest of its records')
    bool tlsa_signed = false;        // an RRSIG covering TLSA came in the answer
};

// Bounds: one server's answer is read only up to kMaxAuthRecords TLSA
// records; a zone's servers are asked up to kMaxAuthServers addresses.
constexpr std::size_t kMaxAuthRecords = 256;
constexpr std::size_t kMaxAuthServers = 8;

// ask_authoritative - `server` is "ADDR" or "ADDR@PORT" (port 53 by default).
// Never throws for a DNS failure: that is an answer with `error`.
AuthAnswer ask_authoritative(const std::string& server, const std::string& zone, const std::string& owner,
                             unsigned timeout_ms);

}  // namespace danesmtp::check
