// SPDX-License-Identifier: MIT
// dname.cpp - see dname.hpp. ldns does the wire parsing and the escaping.
#include "core/dname.hpp"

#include <ldns/ldns.h>

#include <cstdlib>
#include <memory>

#include "core/error.hpp"
#include "core/names.hpp"

namespace danesmtp::core {

void RdfFree::operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }

std::string presentation(ldns_rdf* name) {
    ldns_dname2canonical(name);
    char* s = ldns_rdf2str(name);
    if (!s) throw std::bad_alloc();
    std::string out = s;
    std::free(s);
    if (out.size() > 1 && out.back() == '.') out.pop_back();
    return out;
}

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
    WireName out;
    out.text = presentation(rdf.get());
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
