// SPDX-License-Identifier: MIT
// rollover.hpp - the facts `danesmtp rollover` decides on (core/rollover.hpp):
// the TLSA RRset through the validating resolver, the zone and every one of
// its authoritative servers asked directly, handshakes with the host's
// addresses, the gate's state file, and (publish) the dynamic update itself.
//
// Layering: check -> core, tls, dns; the resolver is passed in.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/rollover.hpp"
#include "core/tlsa.hpp"

namespace danesmtp::check {

// The gate's state file when none is named (danesmtp(1), rollover).
constexpr const char* kRolloverStateDefault = "/var/lib/danesmtp/rollover.state";
// Entries kept in it (the oldest go first).
constexpr std::size_t kMaxStateEntries = 1000;

struct RolloverOptions {
    core::RolloverAction action = core::RolloverAction::plan;
    std::uint16_t port = 25;
    std::string current, next;           // file contents (PEM or DER), empty when not given
    std::string current_name, next_name; // how the person named them
    std::string state_file;              // check; empty: kRolloverStateDefault
    bool probe = true;                   // check, remove: handshake with each address
    bool dry_run = false;                // add, remove: do not send the update
    std::string server;                  // add, remove: ADDR[@PORT]; empty: the SOA MNAME's address
    std::string tsig;                    // add, remove: key text (core/tsigkey.hpp)
    unsigned ttl = 0;                    // add: 0 = the RRset's TTL as served (else 300)
    unsigned timeout_ms = 10000;
    std::int64_t now = 0;
    std::string helo = "danesmtp-rollover.invalid";
    core::DigestPreference digests = core::DigestPreference::sha512_first;
    std::vector<std::pair<std::string, std::string>> stubs;
};

// rollover - gathers the facts (and sends the update for add/remove, unless
// dry_run or the decision refuses it). Throws Error(parse/invalid_argument)
// for a file that is neither a certificate, a chain nor a key ("NEXT
// (FILE): ..."), and for a TSIG key that does not parse.
core::RolloverFacts rollover(core::Resolver& resolver, const std::string& host, const RolloverOptions& options);

}  // namespace danesmtp::check
