// SPDX-License-Identifier: MIT
// dname.hpp - DNS names from the wire, parsed and printed by ldns.
//
//   WireName        - a name as DNS carries it: presentation text with RFC 1035
//                     section 5.1 escapes, and whether it is a host name we can
//                     carry exactly
//   parse_wire_name - an uncompressed name at the start of RDATA (MX exchange)
//   host_name_of    - presentation text -> a host name, or why it cannot be one
//   presentation    - an ldns name as text (for the resolver adapter)
//
// Why "carry exactly" matters (RFC 7672 section 2.2.2): the MX host name, or
// the target of its CNAME chain, becomes the TLSA base domain, an SNI name and
// a reference identifier. A name with a byte that a host name cannot hold (a
// space, a '.' inside a label, a '*' label, anything outside letters, digits,
// '-' and '_') would be looked up as a different name, whose secure denial
// would turn "TLSA required" into "no TLSA". Such a host is unreachable, never
// a host without TLSA records.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

struct ldns_struct_rdf;  // ldns_rdf of <ldns/ldns.h>

namespace danesmtp::core {

// presentation - an ldns name as WireName::text spells it (lower-cased in
// place, escaped, no trailing dot; "." for the root). Shared with the
// resolver adapter, which reads names out of reply packets.
std::string presentation(ldns_struct_rdf* name);

// RdfFree - deleter for a std::unique_ptr holding an ldns name.
struct RdfFree {
    void operator()(ldns_struct_rdf* r) const;
};

struct WireName {
    std::string text;   // presentation form, lower case, escaped, no trailing dot; "." for the root
    bool host = false;  // a host name: `text` is exact and normalize_name() accepts it
};

// parse_wire_name - the uncompressed wire-format name at data[*pos..len),
// advancing *pos past it. Throws Error(parse) for a truncated or over-long
// name or a compression pointer (RDATA handed over by the resolver is
// uncompressed; a pointer there points into nothing we have).
WireName parse_wire_name(const std::uint8_t* data, std::size_t len, std::size_t* pos);

// host_name_of - `text` (presentation form, as WireName::text or from a
// resolver) as a normalized host name, or nullopt with *why set when it is
// not one that can be carried exactly: escapes, characters outside LDH and
// '_', empty labels, a name over 253 octets, the root.
std::optional<std::string> host_name_of(const std::string& text, std::string* why);

}  // namespace danesmtp::core
