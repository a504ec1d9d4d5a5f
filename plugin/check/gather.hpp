// SPDX-License-Identifier: MIT
// gather.hpp - the facts `danesmtp check` diagnoses (core/diagnose.hpp):
// DNS answers through a core::Resolver, handshakes with every address of
// every MX host (tls/probe.hpp), the chains judged as a DANE client would.
//
// Layering: check -> core, tls; the resolver is passed in (the C ABI gives
// the context's, tests may give canned answers).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/diagnose.hpp"
#include "core/discovery.hpp"
#include "core/tlsa.hpp"

namespace danesmtp::check {

struct GatherOptions {
    std::uint16_t port = 25;
    bool single_host = false;     // `name` is a host, not a destination domain
    std::string helo = "danesmtp-check.invalid";
    unsigned timeout_ms = 10000;  // per connection step
    unsigned warn_days = 7;
    std::int64_t now = 0;         // Unix seconds: validity and expiry checks
    core::DigestPreference digests = core::DigestPreference::sha512_first;
    bool probe = true;            // false: DNS only (no connections)
    unsigned deadline_ms = 0;     // no new connection after this long (0: none)
    bool authoritative = true;    // ask the TLSA zones' servers directly
    // Configured stub zones (zone, "ADDR[@PORT]"): the servers to ask for a
    // zone at or below one of them, instead of its NS RRset.
    std::vector<std::pair<std::string, std::string>> stubs;
};

core::CheckFacts gather(core::Resolver& resolver, const std::string& name, const core::Policy& policy,
                        const GatherOptions& options);

// servers_of - the servers to ask for `zone`: a configured stub's addresses
// when a stub zone is at or above it, else the addresses of the zone's NS
// RRset, validated; at most kMaxAuthServers (auth.hpp), or `max`. Pairs of
// ("ADDR[@PORT]", "stub ZONE" or "NS NAME").
// With `problems`, what kept the list from being complete is said there (an
// NS RRset or a server's addresses that could not be looked up, more
// servers than `max`): `rollover check` keeps its gate closed then.
std::vector<std::pair<std::string, std::string>> servers_of(core::Resolver& resolver, const std::string& zone,
                                                            const GatherOptions& o, std::vector<std::string>* problems = nullptr,
                                                            std::size_t max = 0);

// cert_facts - what diagnose needs of one DER certificate. Throws Error(parse)
// for DER that is not a certificate.
core::CertFacts cert_facts(const std::string& der);

}  // namespace danesmtp::check
