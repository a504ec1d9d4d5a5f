// SPDX-License-Identifier: MIT
// dname.cpp - see dname.hpp. ldns does the wire parsing and the escaping.
#include "core/dname.hpp"

#include <ldns/ldns.h>

#include <cstdlib>
#include <memory>

#include "core/error.hpp"
#include "core/names.hpp"

namespace danesmtp::core {

namespace {

struct RdfFree {
    void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};

}  // namespace

WireName parse_wire_name(const std::uint8_t* data, std::size_t len, std::size_t* pos) {
    if (!data || *pos >= len) throw Error(ErrorCode::parse, "truncated domain name");
    ldns_rdf* raw = nullptr;
    std::size_t start = *pos;
    std::size_t p = *pos;
    ldns_status st = ldns_wire2dname(&raw, data, len, &p);
    std::unique_ptr<ldns_rdf, RdfFree> rdf(raw);
    if (st != LDNS_STATUS_OK || !rdf)
        throw Error(ErrorCode::parse, std::string("malformed domain name: ") + ldns_get_errorstr_by_id(st));
    // Without compression the bytes read are the name itself; a pointer
    // makes them differ (ldns follows it within the buffer).
    if (p - start != ldns_rdf_size(rdf.get()))
        throw Error(ErrorCode::parse, "compressed domain name in RDATA");
    *pos = p;
    ldns_dname2canonical(rdf.get());
    char* s = ldns_rdf2str(rdf.get());
    if (!s) throw std::bad_alloc();
    WireName out;
    out.text = s;
    std::free(s);
    if (out.text.size() > 1 && out.text.back() == '.') out.text.pop_back();
    std::string why;
    out.host = host_name_of(out.text, &why).has_value();
    return out;
}

std::optional<std::string> host_name_of(const std::string& text, std::string* why) {
    if (text.find('\\') != std::string::npos) {
        *why = "name '" + text + "' holds bytes a host name cannot carry exactly";
        return std::nullopt;
    }
    if (text.empty() || text == ".") {
        *why = "the root is not a host name";
        return std::nullopt;
    }
    try {
        return normalize_name(text);
    } catch (const Error& e) {
        *why = "name '" + text + "' is not a host name: " + e.what();
        return std::nullopt;
    }
}

}  // namespace danesmtp::core
