// SPDX-License-Identifier: MIT
// rollover.hpp - `danesmtp rollover`'s decisions: pure code over facts that
// plugin/check/rollover.cpp gathers (DNS through the validating resolver,
// every authoritative server asked directly, handshakes, the gate's state
// file, the dynamic update's answer), so the tool and the tests share it.
//
// The procedure is RFC 7671 section 8.1 (and 8.4 for DANE-TA): publish the
// next key's record beside the current one; wait until every authoritative
// server serves it and the TTL has passed, so no cache holds the RRset
// without it; switch the server to the next key; then remove the old record.
//
//   plan    what to publish now, how long to wait, what to keep after
//   check   the gate: open (exit 0) only when NEXT's record has been served,
//           DNSSEC-secure, by every authoritative server for at least the
//           TTL; after the switch it confirms every address presents NEXT
//   add / remove   the RFC 2136 update that adds NEXT's records or removes
//           CURRENT's (refused when an address would be left unmatched)
//
// Records travel as text, "U S M <lower-case hex>" (core/tlsa.hpp to_text).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/diagnose.hpp"
#include "core/discovery.hpp"

namespace danesmtp::core {

enum class RolloverAction { plan, check, add, remove };
const char* rollover_action_name(RolloverAction a);  // "plan", "check", "add", "remove"

// CURRENT or NEXT as the person gave it: its records for each
// "U S M" combination the rollover needs (rollover_combos), made by the
// gather layer. A combination missing from `records` cannot be made of the
// file (a bare key has no certificate; a leaf alone has no issuer).
struct RolloverKeyFacts {
    bool given = false;
    std::string file;                           // as named by the person
    bool has_issuer = false;                    // an issuing CA certificate is in the file
    bool key_mismatch = false;                  // a private key in the file matches no certificate
    std::map<std::string, std::string> records; // "3 1 1" -> "3 1 1 <hex>"
};

// One authoritative server of the TLSA owner's zone, asked directly.
struct RolloverServerFacts {
    std::string server;                // "ADDR" or "ADDR@PORT"
    std::string via;                   // "NS ns1.example.org", "stub example.org"
    bool answered = false;
    std::string error;
    std::int64_t serial = -1;
    std::vector<std::string> tlsa;     // the RRset it serves, sorted
    std::uint32_t ttl = 0;             // the RRset's TTL as it serves it (the original TTL)
    bool tlsa_signed = false;          // an RRSIG over the TLSA RRset came with it
};

// One address of the host, over STARTTLS; the gather layer judges the
// chain against each record set named here (tls/verify.hpp).
struct RolloverProbeFacts {
    std::string address;
    bool ok = false;                   // a chain was presented and kept whole
    std::string error;
    std::string leaf;                  // "3 1 1 <hex>" of the presented leaf's key
    bool matches_published = false;    // the published (usable) RRset authenticates it
    bool matches_next = false;         // NEXT's records do
    bool matches_current = false;      // CURRENT's records do (when CURRENT was given)
    bool matches_remaining = false;    // remove: the RRset left after the removal does
};

struct RolloverFacts {
    RolloverAction action = RolloverAction::plan;
    std::string host;
    std::uint16_t port = 25;
    std::string owner;                 // "_25._tcp.HOST"
    std::int64_t now = 0;
    RolloverKeyFacts current, next;

    // The TLSA RRset through the validating resolver.
    DnsSecurity tlsa_security = DnsSecurity::failed;
    std::string tlsa_why;
    std::vector<std::string> published;   // sorted; unparseable RDATA left out
    std::uint32_t tlsa_ttl_left = 0;      // as the resolver has it (may be lower than the TTL)
    std::string published_from;           // add, remove: the update server whose RRset
                                          // `published` is (a resolver may see a lagging
                                          // secondary's); "" when the resolver's

    // The zone holding the owner.
    std::string zone;                     // "" when not found
    DnsSecurity zone_security = DnsSecurity::failed;
    bool zone_has_dnskey = false;
    std::string primary;                  // SOA MNAME
    std::uint32_t soa_refresh = 0, soa_minimum = 0;
    std::vector<RolloverServerFacts> servers;

    bool probed = false;
    std::vector<RolloverProbeFacts> probes;

    // check: the gate's memory.
    std::string state_file;
    std::string state_error;
    std::int64_t first_seen = 0;          // NEXT's record first seen on every server; 0: not (now)

    // add / remove
    bool dry_run = false;
    std::string update_server;            // "ADDR@PORT" the update goes (or would go) to
    std::uint32_t update_ttl = 0;         // TTL of added records
    bool update_sent = false;             // an answer came back
    bool update_tsig_refused = false;
    std::string update_rcode;             // "NOERROR", "REFUSED", ...
    std::string update_error;             // why not sent or not accepted
};

// rollover_combos - the "U S M" combinations in use: those of the published
// records with usage DANE-TA(2) or DANE-EE(3), sorted; "3 1 1" when none.
std::vector<std::string> rollover_combos(const std::vector<std::string>& published);

// rollover_records - the records of a key for the combinations in use
// (rollover_combos of `published`), in that order, without repeats.
std::vector<std::string> rollover_records(const RolloverKeyFacts& key, const std::vector<std::string>& published);

// rollover_next_everywhere - every authoritative server answered, each
// serves a record of NEXT, and the resolver's answer is secure and has one.
bool rollover_next_everywhere(const RolloverFacts& f);

// The dynamic update: records to add (add: NEXT's not yet published) and
// to remove (remove: CURRENT's published ones that are not NEXT's).
struct RolloverChange {
    std::vector<std::string> add, remove;
};
RolloverChange rollover_change(const RolloverFacts& f);

struct RolloverOutcome {
    std::vector<Finding> findings;        // errors first
    std::vector<std::string> publish_now; // plan: the RRset to publish (current + next + others)
    std::vector<std::string> missing;     // plan: of those, not published now
    std::vector<std::string> keep_after;  // plan: the RRset after the switch
    std::vector<std::string> remove_after;
    RolloverChange change;                // add / remove
    std::uint32_t ttl = 0;                // the TTL the wait is measured by
    std::int64_t wait_left = 0;           // check: seconds until the gate opens (0: open)
    int status = 0;                       // the tool's exit status (rollover_exit_status)
};

// rollover_evaluate - the findings and the outcome. Exit statuses
// (danesmtp(1), rollover): 0 done / gate open; 1 wait (time left); 3 not
// ready: NEXT's record missing or lagging, an early switch, an unsafe
// removal; 4 DNS: not secure, zone unsigned, no DS, state file; 5 input:
// same key, a key matching no certificate, no issuer for DANE-TA;
// 6 the update failed or was refused.
RolloverOutcome rollover_evaluate(const RolloverFacts& f);

std::string render_rollover_text(const RolloverFacts& f, const RolloverOutcome& o);
// JSON, schema "danesmtp-rollover/1" (danesmtp(1), rollover).
std::string render_rollover_json(const RolloverFacts& f, const RolloverOutcome& o);
// The update as an nsupdate(1) script ("" when there is nothing to change).
std::string render_nsupdate(const RolloverFacts& f, const RolloverOutcome& o);

}  // namespace danesmtp::core
