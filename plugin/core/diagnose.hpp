// SPDX-License-Identifier: MIT
// diagnose.hpp - `danesmtp check`'s diagnosis: pure code over facts gathered
// elsewhere (plugin/check/gather.hpp asks DNS and the servers), so the tool,
// the plugins and the tests share it and unit tests feed it canned facts.
//
//   CheckFacts  - what was seen: the plan (discovery.hpp), DNS details, and
//                 per address and signature algorithm the chain presented
//   diagnose    - facts -> findings, each with a stable code (findings.def),
//                 a severity, the evidence and a fix written for a person
//   render_*    - the report as text, JSON (schema "danesmtp-check/1") or
//                 one monitoring-plugins status line
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/discovery.hpp"
#include "core/hex.hpp"
#include "core/tlsa.hpp"
#include "core/verdict.hpp"

namespace danesmtp::core {

enum class Severity { error, warning, note };
const char* severity_name(Severity s);  // "error", "warning", "note"

enum class FindingCode {
#define FINDING(ident, code, severity, title) ident,
#include "core/findings.def"
#undef FINDING
};
const char* finding_code(FindingCode c);      // "tlsa-no-match"
Severity finding_severity(FindingCode c);
const char* finding_title(FindingCode c);
std::size_t finding_catalogue_size();
FindingCode finding_at(std::size_t i);

// One certificate as presented, with what a TLSA record could carry for it.
struct CertFacts {
    std::string subject, issuer;    // RFC 2253 text
    std::string key;                // "EC P-256", "RSA 2048"
    std::int64_t not_before = 0, not_after = 0;  // Unix seconds
    bool self_issued = false;       // subject == issuer
    Bytes association[2][3];        // [selector][mtype]: data a record would carry
};

// One handshake with one address, offering some signature algorithms.
struct ProbeFacts {
    std::string address;
    std::string algorithms;         // "any", "ECDSA", "RSA"
    bool skipped = false;           // not probed: the check's deadline had passed
    bool connected = false, starttls = false, tls = false;
    std::string tls_version, cipher, error;
    std::vector<CertFacts> chain;   // leaf first
    Bytes chain_sha256[2];          // SHA2-256 of the concatenated DER chain, and of its PEM text
    bool judged = false;            // the DANE verifier ran (TLSA usable, chain not empty)
    Verdict verdict;                // its answer, when judged
};

// An RRset's DNS details, from the validated answer.
struct RrsetFacts {
    std::string owner;
    DnsSecurity security = DnsSecurity::failed;
    std::string why;                // why bogus or failed
    std::uint32_t ttl = 0;
    std::int64_t sig_expires = 0;   // earliest RRSIG expiration over it; 0 unknown
    std::vector<TlsaRecord> tlsa;   // for TLSA RRsets
};

// One authoritative server of the TLSA owner's zone, asked directly.
struct AuthFacts {
    std::string server;             // "ADDR" or "ADDR@PORT"
    std::string via;                // "NS ns1.example.net", or "stub" (configured)
    bool answered = false;          // authoritative answers to SOA and TLSA
    std::string error;              // why not
    std::int64_t serial = -1;
    std::vector<std::string> tlsa;  // its TLSA RRset, "U S M hex", sorted
};

struct HostFacts {
    std::vector<RrsetFacts> addresses;  // A, AAAA answers
    RrsetFacts tlsa;                    // at the host's TLSA base (plan's tlsa_base)
    std::vector<RrsetFacts> elsewhere;  // TLSA RRsets at names clients do not query
    std::vector<ProbeFacts> probes;
    std::string zone;                   // the zone holding the TLSA RRset (its signer)
    std::vector<AuthFacts> auth;        // that zone's servers, asked directly
};

// A zone on the way (the destination's, an MX host's, a TLSA owner's): its
// DNSSEC state and the DS -> DNSKEY link, from validated answers.
struct DsFacts {
    std::uint16_t key_tag = 0;
    std::uint8_t algorithm = 0, digest_type = 0;
};
struct DnskeyFacts {
    std::uint16_t key_tag = 0, flags = 0;
    std::uint8_t algorithm = 0;
};
struct ZoneFacts {
    std::string name;
    DnsSecurity security = DnsSecurity::failed;  // of its DNSKEY RRset
    std::vector<DsFacts> ds;                     // in the parent
    std::vector<DnskeyFacts> dnskeys;
};
std::string algorithm_name(std::uint8_t algorithm);  // "ECDSAP256SHA256(13)"

struct CheckFacts {
    Plan plan;                     // as a DANE client decides it
    std::vector<ZoneFacts> zones;  // the signed zones the answers came from
    bool single_host = false;      // HOST:PORT, not a domain
    std::int64_t now = 0;          // Unix seconds of the check
    unsigned warn_days = 7;        // RRSIG and certificate expiry warnings
    RrsetFacts mx;
    std::vector<HostFacts> hosts;  // parallel to plan.hosts
};

struct Finding {
    FindingCode code;
    std::string host;              // MX host name, or empty for the domain
    std::string address;           // address, "address (algorithm)", or empty
    std::string summary;           // one line: what is wrong here
    std::vector<std::string> evidence;  // records, digests, answers
    std::string fix;               // what to do, for a person
};

std::vector<Finding> diagnose(const CheckFacts& facts);

// A validator's "why bogus" (libunbound's text) for a person: what is wrong,
// in which zone, and the usual fix. `known` is false when the text matches
// none of the usual causes; `what` and `fix` are then generic.
struct BogusReason {
    bool known = false;
    std::string zone;  // the zone named in the text, or ""
    std::string what;  // "the DS record in the parent matches no DNSKEY of bogus.test"
    std::string fix;
};
BogusReason explain_bogus(const std::string& why);

// The outcome of a check as an exit status (danesmtp(1), check):
//   0 no error or warning; 1 an error; 3 the domain defers (MX lookup bogus
//   or failed); 4 the domain receives no mail (null MX, NXDOMAIN); 5 warnings
//   only. (2 is the tool's bad-usage status.)
int check_exit_status(const CheckFacts& facts, const std::vector<Finding>& findings);

// A handshake's result in posttls-finger's words: "Verified", "Trusted",
// "Untrusted", "Cleartext", "Unreachable"; "Skipped" when not probed.
std::string probe_level(const CheckFacts& facts, const HostPlan& host, const ProbeFacts& p);

struct RenderOptions {
    bool colour = false;           // ANSI colours (the CLI: only on a terminal)
    bool details = true;           // text: the per-certificate table
};
std::string render_text(const CheckFacts& facts, const std::vector<Finding>& findings,
                        const RenderOptions& opts);
std::string render_json(const CheckFacts& facts, const std::vector<Finding>& findings);
// render_nagios - one line, monitoring-plugins style, with perfdata; *status
// receives 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
std::string render_nagios(const CheckFacts& facts, const std::vector<Finding>& findings, int* status);

}  // namespace danesmtp::core
