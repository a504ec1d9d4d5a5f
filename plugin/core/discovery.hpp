// SPDX-License-Identifier: MIT
// discovery.hpp - RFC 7672 section 2: which MX hosts to try, in which order,
// and what each one requires, decided from DNSSEC-validated answers.
//
//   Resolver      - the interface the DNS adapter (plugin/dns) implements and
//                   tests drive with canned answers
//   plan_domain   - a destination domain -> ordered MX hosts with verdicts
//   plan_host     - one host:port an MTA resolved itself
//
// The decision table, in the order the code applies it:
//   MX lookup bogus or failed           -> the domain defers (section 2.2.1)
//   null MX (RFC 7505)                  -> the domain refuses mail
//   no MX                               -> the domain is its own MX (implicit)
//   host address lookup bogus/failed    -> host unreachable (section 2.2.2)
//   no address                          -> host unreachable
//   insecure address records            -> "may", no TLSA lookup (section 2.2.2);
//     but a secure CNAME to an insecure target: TLSA at the original name only
//   TLSA lookup bogus/failed            -> host unreachable (section 2.2.3)
//   TLSA insecure, or secure denial     -> "may" (pre-DANE opportunistic TLS)
//   secure TLSA, some record usable     -> "dane": TLS, authenticated
//   secure TLSA, none usable            -> "encrypt": TLS, unauthenticated
// then the policy: insecure MX RRsets (section 2.2.1), mandatory DANE per
// destination (section 6), audit-only mode (section 9.1).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/hex.hpp"
#include "core/tlsa.hpp"

namespace danesmtp::core {

// DNSSEC status of one answer (RFC 7672 section 2.1.1). Indeterminate
// answers count as bogus; SERVFAIL, timeouts and malformed replies are
// `failed`. A secure or insecure NXDOMAIN/NODATA is an answer, not a failure.
enum class DnsSecurity { secure, insecure, bogus, failed };
const char* security_name(DnsSecurity s);

constexpr std::uint16_t kTypeA = 1;
constexpr std::uint16_t kTypeNs = 2;
constexpr std::uint16_t kTypeCname = 5;
constexpr std::uint16_t kTypeSoa = 6;
constexpr std::uint16_t kTypeMx = 15;
constexpr std::uint16_t kTypeAaaa = 28;
constexpr std::uint16_t kTypeDs = 43;
constexpr std::uint16_t kTypeDnskey = 48;
constexpr std::uint16_t kTypeTlsa = 52;

struct DnsQuery {
    std::string name;  // normalized, no trailing dot
    std::uint16_t type = 0;
};

struct DnsResult {
    DnsSecurity security = DnsSecurity::failed;
    bool nxdomain = false;           // with no rdata: the name does not exist
    std::vector<Bytes> rdata;        // uncompressed wire RDATA; empty: NXDOMAIN or NODATA
    std::string canonical;           // the name after CNAMEs, in presentation form with
                                     // RFC 1035 section 5.1 escapes, exactly as in the
                                     // answer; empty when there were none
    std::string why;                 // why bogus, or what failed
    std::uint32_t ttl = 0;           // seconds the answer may be kept (0: not at all);
                                     // the smallest TTL of the answer and its CNAMEs
    std::int64_t sig_expires = 0;    // earliest RRSIG expiration in the answer (Unix
                                     // seconds); 0 when unknown. Not kept in the answer
                                     // cache: only `danesmtp check` reads it, uncached
    std::string signer;              // an RRSIG's signer in the answer: the zone apex
                                     // of a signed answer (not cached either)
};

// Resolver - answers a batch of queries; the adapter may run them
// concurrently. One result per query, same order. Never throws for a DNS
// failure: that is a result with security `failed`.
class Resolver {
public:
    virtual ~Resolver() = default;
    virtual std::vector<DnsResult> resolve(const std::vector<DnsQuery>& queries) = 0;
};

enum class HostVerdict {
    dane,         // TLS required and authenticated by TLSA
    encrypt,      // TLS required, not authenticated (TLSA present, none usable)
    may,          // opportunistic TLS, as without DANE
    unreachable,  // skip this host: a lookup on the way failed or was bogus
};
const char* verdict_name(HostVerdict v);

enum class DomainStatus {
    ok,        // hosts[] says what to do
    defer,     // temporary failure: nothing may be sent now
    null_mx,   // the domain accepts no mail (RFC 7505)
    nxdomain,  // the domain does not exist (securely or not)
};
const char* domain_status_name(DomainStatus s);

// What to do when the MX RRset is insecure but an MX host has secure TLSA
// records (RFC 7672 section 2.2.1 allows DANE then).
enum class InsecureMx {
    dane,     // default: enforce DANE, but never report "Verified" (only "Trusted")
    encrypt,  // require TLS without authentication
    ignore,   // no TLSA lookups: opportunistic TLS
};

// Bounds on what one destination can make us hold (a signed zone is not a
// trusted input: DESIGN.md section 6b). Past each bound the outcome is
// defined and never defers the destination's other hosts:
//   MX hosts per domain         the most preferred kMaxHosts are used, the rest
//                               ignored (Plan::notes says so)
//   addresses per host          the first kMaxAddressesPerFamily IPv4 and as
//                               many IPv6 addresses are used, the rest ignored
//   TLSA records per host       over kMaxRecordsPerSet (256) records, or over
//                               kMaxTlsaBytes of RDATA: that host is unreachable
//                               (next MX), since dropping records could drop
//                               the stronger digest that digest agility needs
constexpr std::size_t kMaxHosts = 16;
constexpr std::size_t kMaxAddressesPerFamily = 8;
constexpr std::size_t kMaxTlsaBytes = 65536;

struct Policy {
    InsecureMx insecure_mx = InsecureMx::dane;
    std::vector<std::string> mandatory;  // destinations where DANE is mandatory (section 6)
    bool audit_only = false;             // section 9.1: report, never block
    std::size_t max_hosts = kMaxHosts;   // MX hosts examined per domain
};

struct HostPlan {
    std::string name;                 // MX host name, normalized
    std::uint16_t preference = 0;
    std::vector<std::string> addresses;  // textual IPv4/IPv6
    DnsSecurity address_security = DnsSecurity::failed;
    std::string canonical;            // CNAME expansion of the host name, if any
    HostVerdict verdict = HostVerdict::unreachable;
    std::string reason;
    std::string tlsa_base;            // where the TLSA RRset was found (RFC 7671 section 7)
    std::string sni;                  // server name to send (section 8.1)
    std::vector<std::string> names;   // reference identifiers (section 3.2.3)
    std::vector<TlsaRecord> records;  // the RRset, usable or not
    bool verified_possible = false;   // a match may be reported as "Verified" (secure MX)
};

struct Plan {
    std::string domain;               // normalized next-hop domain
    std::uint16_t port = 25;
    DomainStatus status = DomainStatus::defer;
    std::string reason;
    DnsSecurity mx_security = DnsSecurity::failed;
    bool implicit_mx = false;
    bool mandatory = false;           // DANE mandatory for this destination
    bool audit_only = false;
    std::vector<HostPlan> hosts;      // in the order to try
    std::vector<std::string> notes;   // what a bound made us ignore, for the log
};

Plan plan_domain(Resolver& resolver, const std::string& domain, std::uint16_t port,
                 const Policy& policy);
// plan_host - one host the MTA chose itself: only the host name (and its
// CNAME expansion) are reference identifiers, since we did not see the MX
// lookup; a match is never "Verified".
Plan plan_host(Resolver& resolver, const std::string& host, std::uint16_t port,
               const Policy& policy);

// address_text - A or AAAA RDATA as text.
std::string address_text(const Bytes& rdata, std::uint16_t type);

}  // namespace danesmtp::core
