// SPDX-License-Identifier: MIT
// fuzz_names.cpp - host names: wire-format names from DNS (core::parse_wire_name,
// core::host_name_of) and reference identifiers against certificate names
// (core::normalize_name, core::name_matches, core::match_names).
//
// Input: a length byte N, then N bytes of wire-format names parsed one after
// another (as RDATA holding several), then the text "PRESENTED\nREFERENCE".
// Properties:
//   - a wire name said to be a host name prints as a normalized host name, and
//     that text spelled back in wire format gives the bytes read (lower-cased):
//     the name is carried exactly (dname.hpp);
//   - host_name_of() yields only normalized names without escapes;
//   - normalize_name() is idempotent, and a normalized name matches itself.
#include <string>
#include <vector>

#include "core/dname.hpp"
#include "core/names.hpp"
#include "fuzz/fuzz_common.hpp"

using namespace danesmtp;

namespace {

void check_host_name(const std::string& text) {
    std::string why;
    auto host = core::host_name_of(text, &why);
    if (!host) return;
    fuzz::require(host->find('\\') == std::string::npos, "host_name_of kept an escape: " + *host);
    fuzz::require(core::normalize_name(*host) == *host, "host_name_of result is not normalized: " + *host);
    fuzz::require(core::name_matches(*host, *host), "a host name does not match itself: " + *host);
}

}  // namespace

FUZZ_TARGET(names) {
    fuzz::Reader in(data, size);
    std::vector<std::uint8_t> wire = in.take(in.byte()).bytes();
    std::size_t pos = 0;
    for (int i = 0; i < 8 && pos < wire.size(); ++i) {
        std::size_t start = pos;
        core::WireName w;
        try {
            w = core::parse_wire_name(wire.data(), wire.size(), &pos);
        } catch (const Error&) {
            break;
        }
        fuzz::require(pos > start && pos <= wire.size(), "parse_wire_name moved wrongly");
        std::string why;
        fuzz::require(w.host == core::host_name_of(w.text, &why).has_value(), "WireName::host disagrees");
        check_host_name(w.text);
        if (w.host) {
            fuzz::require(core::normalize_name(w.text) == w.text, "wire host name not normalized: " + w.text);
            // (length bytes are below 64, so lower-casing leaves them alone)
            std::string read = fuzz::ascii_lower(
                std::string(wire.begin() + static_cast<long>(start), wire.begin() + static_cast<long>(pos)));
            fuzz::require(fuzz::wire_of(w.text) == std::vector<std::uint8_t>(read.begin(), read.end()),
                          "wire host name not carried exactly: " + w.text);
        }
    }

    std::string_view presented = in.until('\n').text();
    std::string_view reference = in.empty() ? presented : in.rest().text();
    check_host_name(std::string(presented));
    std::string ref = "mx.example.net";
    try {
        ref = core::normalize_name(reference);
        fuzz::require(core::normalize_name(ref) == ref, "normalize_name is not idempotent: " + ref);
        fuzz::require(core::name_matches(ref, ref), "a normalized name does not match itself: " + ref);
    } catch (const Error&) {
    }
    (void)core::name_matches(presented, ref);
    (void)core::match_names({std::string(presented)}, {std::string(reference)}, {ref});
    (void)core::match_names({}, {std::string(presented)}, {ref, "mx.example.net"});
}
