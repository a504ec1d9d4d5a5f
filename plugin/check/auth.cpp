// SPDX-License-Identifier: MIT
// auth.cpp - see auth.hpp. ldns does the wire work: a resolver object per
// call, with one name server, recursion desired off, the DO bit on.
#include "check/auth.hpp"

#include <ldns/ldns.h>
#include <sys/time.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "core/error.hpp"
#include "core/tlsa.hpp"

namespace danesmtp::check {

namespace {

struct ResolverFree {
    void operator()(ldns_resolver* r) const { ldns_resolver_deep_free(r); }
};
struct PktFree {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct RdfFree {
    void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};

const char* rcode_text(ldns_pkt_rcode rc) {
    switch (rc) {
        case LDNS_RCODE_NOERROR: return "NOERROR";
        case LDNS_RCODE_FORMERR: return "FORMERR";
        case LDNS_RCODE_SERVFAIL: return "SERVFAIL";
        case LDNS_RCODE_NXDOMAIN: return "NXDOMAIN";
        case LDNS_RCODE_NOTIMPL: return "NOTIMP";
        case LDNS_RCODE_REFUSED: return "REFUSED";
        default: return "another error";
    }
}

// One query; *error says why there is no usable answer.
std::unique_ptr<ldns_pkt, PktFree> query(ldns_resolver* res, const std::string& name, ldns_rr_type type,
                                         std::string* error) {
    std::unique_ptr<ldns_rdf, RdfFree> qname(ldns_dname_new_frm_str(name.c_str()));
    if (!qname) {
        *error = "cannot ask for " + name;
        return nullptr;
    }
    ldns_pkt* raw = nullptr;
    ldns_status st = ldns_resolver_query_status(&raw, res, qname.get(), type, LDNS_RR_CLASS_IN, 0);
    std::unique_ptr<ldns_pkt, PktFree> pkt(raw);
    if (st != LDNS_STATUS_OK || !pkt) {
        const char* why = ldns_get_errorstr_by_id(st);
        *error = std::string("no answer (") + (why ? why : "error " + std::to_string(static_cast<int>(st))) + ")";
        return nullptr;
    }
    ldns_pkt_rcode rc = ldns_pkt_get_rcode(pkt.get());
    if (rc != LDNS_RCODE_NOERROR && rc != LDNS_RCODE_NXDOMAIN) {
        *error = std::string(rcode_text(rc)) + " for " + name;
        return nullptr;
    }
    if (!ldns_pkt_aa(pkt.get())) {
        *error = "not authoritative for " + name + " (no AA flag)";
        return nullptr;
    }
    return pkt;
}

}  // namespace

AuthAnswer ask_authoritative(const std::string& server, const std::string& zone, const std::string& owner,
                             unsigned timeout_ms) {
    AuthAnswer out;
    std::string addr = server;
    std::uint16_t port = 53;
    auto at = server.rfind('@');
    if (at != std::string::npos) {
        addr = server.substr(0, at);
        unsigned long p = std::strtoul(server.c_str() + at + 1, nullptr, 10);
        if (p == 0 || p > 65535) {
            out.error = "bad server address " + server;
            return out;
        }
        port = static_cast<std::uint16_t>(p);
    }
    std::unique_ptr<ldns_resolver, ResolverFree> res(ldns_resolver_new());
    std::unique_ptr<ldns_rdf, RdfFree> ns(ldns_rdf_new_frm_str(
        addr.find(':') != std::string::npos ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, addr.c_str()));
    if (!res || !ns || ldns_resolver_push_nameserver(res.get(), ns.get()) != LDNS_STATUS_OK) {
        out.error = "bad server address " + server;
        return out;
    }
    ldns_resolver_set_port(res.get(), port);
    ldns_resolver_set_recursive(res.get(), false);
    ldns_resolver_set_dnssec(res.get(), true);
    ldns_resolver_set_retry(res.get(), 1);
    ldns_resolver_set_retrans(res.get(), 1);
    timeval tv{static_cast<time_t>(timeout_ms / 1000), static_cast<suseconds_t>((timeout_ms % 1000) * 1000)};
    ldns_resolver_set_timeout(res.get(), tv);
    ldns_resolver_set_fallback(res.get(), true);  // TCP when truncated

    std::string err;
    auto soa = query(res.get(), zone, LDNS_RR_TYPE_SOA, &err);
    if (!soa) {
        out.error = "SOA: " + err;
        return out;
    }
    ldns_rr_list* ans = ldns_pkt_answer(soa.get());
    for (size_t i = 0; ans && i < ldns_rr_list_rr_count(ans); ++i) {
        ldns_rr* rr = ldns_rr_list_rr(ans, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) >= 3 && ldns_rr_rdf(rr, 2))
            out.serial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
    }
    if (out.serial < 0) {
        out.error = "no SOA record for " + zone;
        return out;
    }
    auto tlsa = query(res.get(), owner, LDNS_RR_TYPE_TLSA, &err);
    if (!tlsa) {
        out.error = "TLSA: " + err;
        return out;
    }
    std::unique_ptr<ldns_rdf, RdfFree> oname(ldns_dname_new_frm_str(owner.c_str()));
    ans = ldns_pkt_answer(tlsa.get());
    for (size_t i = 0; ans && i < ldns_rr_list_rr_count(ans) && out.tlsa.size() < kMaxAuthRecords; ++i) {
        ldns_rr* rr = ldns_rr_list_rr(ans, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG && oname && ldns_dname_compare(ldns_rr_owner(rr), oname.get()) == 0 &&
            ldns_rr_rrsig_typecovered(rr) && ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == LDNS_RR_TYPE_TLSA)
            out.tlsa_signed = true;
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TLSA || !oname || ldns_dname_compare(ldns_rr_owner(rr), oname.get()) != 0)
            continue;
        out.tlsa_ttl = std::max(out.tlsa_ttl, ldns_rr_ttl(rr));
        // The RDATA fields back to back are the wire RDATA (RFC 6698 section 2.1).
        core::Bytes wire;
        for (size_t k = 0; k < ldns_rr_rd_count(rr); ++k) {
            const ldns_rdf* f = ldns_rr_rdf(rr, k);
            wire.insert(wire.end(), ldns_rdf_data(f), ldns_rdf_data(f) + ldns_rdf_size(f));
        }
        try {
            out.tlsa.push_back(core::to_text(core::parse_tlsa_rdata(wire.data(), wire.size())));
        } catch (const Error&) {
            out.tlsa.push_back("malformed TLSA RDATA");
        }
    }
    std::sort(out.tlsa.begin(), out.tlsa.end());
    out.answered = true;
    return out;
}

}  // namespace danesmtp::check
