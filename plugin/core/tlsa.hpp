// SPDX-License-Identifier: MIT
// tlsa.hpp - TLSA records (RFC 6698 section 2) and which of them SMTP may use.
//
//   parse_tlsa_text   - "3 1 1 <hex>" or a whole zone-file line
//   parse_tlsa_rdata  - the wire-format RDATA
//   unusable_reason   - why a record cannot be used for SMTP (RFC 7672 section 3.1)
//   select_records    - the usable records after digest agility (RFC 7671 section 9)
//   usage_name ...    - RFC 7218 acronyms for logs
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/hex.hpp"

namespace danesmtp::core {

// RFC 6698 section 7.2-7.4 registry values, RFC 7218 names.
enum : std::uint8_t {
    kUsagePkixTa = 0,
    kUsagePkixEe = 1,
    kUsageDaneTa = 2,
    kUsageDaneEe = 3,
    kSelectorCert = 0,
    kSelectorSpki = 1,
    kMatchFull = 0,
    kMatchSha256 = 1,
    kMatchSha512 = 2,
};

struct TlsaRecord {
    std::uint8_t usage = 0;
    std::uint8_t selector = 0;
    std::uint8_t mtype = 0;
    Bytes data;

    bool operator==(const TlsaRecord& o) const {
        return usage == o.usage && selector == o.selector && mtype == o.mtype && data == o.data;
    }
};

// Limits that keep hostile input cheap. A Full(0) certificate in DNS is a few
// KiB; 65535 is the largest RDATA DNS can carry.
constexpr std::size_t kMaxRdata = 65535;
constexpr std::size_t kMaxRecordsPerSet = 256;

// parse_tlsa_text - accepts, case-insensitively:
//   "3 1 1 0123abcd..."                       (the four fields)
//   "3 1 1 ( 0123 abcd\n ... )"                (hex split as in zone files)
//   "_25._tcp.mx.example. 3600 IN TLSA 3 1 1 0123..."  (a zone-file line: owner,
//       optional TTL and class, then TLSA)
// Mnemonics from RFC 7218 (DANE-EE, SPKI, SHA2-256 ...) are accepted for the
// three numeric fields. Throws Error(parse) with what was wrong and where.
TlsaRecord parse_tlsa_text(std::string_view text);

// parse_tlsa_rdata - usage(1) selector(1) mtype(1) data(rest), RFC 6698 2.1.
TlsaRecord parse_tlsa_rdata(const std::uint8_t* rdata, std::size_t len);

// unusable_reason - nullopt when the record is usable for SMTP, else a
// sentence saying why not (RFC 7672 section 3.1.3 for PKIX-TA/PKIX-EE,
// RFC 6698 section 2.1 and RFC 7671 section 5 for lengths and Full(0) data).
std::optional<std::string> unusable_reason(const TlsaRecord& r);

// Digest preference for agility (RFC 7671 section 9): which of SHA2-512 and
// SHA2-256 counts as stronger. The default follows the RFC's example.
enum class DigestPreference { sha512_first, sha256_first };

// select_records - indexes (into `records`) of the records the matcher uses:
// usable ones only; per (usage, selector) every Full(0) record plus only the
// records of the most preferred digest present among the usable ones (RFC 7671
// section 9: a client MUST NOT use a weaker digest when a stronger one is
// published for the same usage and selector). Order is preserved.
std::vector<std::size_t> select_records(const std::vector<TlsaRecord>& records,
                                        DigestPreference pref);

// to_text - "3 1 1 <lower-case hex>".
std::string to_text(const TlsaRecord& r);
// describe - "DANE-EE(3) SPKI(1) SHA2-256(1) 0123abcd..." for logs.
std::string describe(const TlsaRecord& r);

std::string usage_name(std::uint8_t usage);        // "DANE-EE(3)", "usage 7"
std::string selector_name(std::uint8_t selector);  // "SPKI(1)"
std::string mtype_name(std::uint8_t mtype);        // "SHA2-256(1)"

}  // namespace danesmtp::core
