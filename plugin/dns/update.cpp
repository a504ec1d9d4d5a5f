// SPDX-License-Identifier: MIT
// update.cpp - see update.hpp.
#include "dns/update.hpp"

#include <ldns/ldns.h>
#include <sys/time.h>

#include <cstdlib>
#include <memory>

namespace danesmtp::dns {

namespace {

struct PktFree {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct RdfFree {
    void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
struct BufferFree {
    void operator()(ldns_buffer* b) const { ldns_buffer_free(b); }
};
struct FreeC {
    void operator()(void* p) const { std::free(p); }
};
struct ListFree {
    void operator()(ldns_rr_list* l) const { ldns_rr_list_deep_free(l); }
};

std::string rcode_name(ldns_pkt_rcode rc) {
    ldns_lookup_table* t = ldns_lookup_by_id(ldns_rcodes, static_cast<int>(rc));
    return t && t->name ? t->name : "RCODE " + std::to_string(static_cast<int>(rc));
}

// The TSIG error of an answer's TSIG RR (RFC 8945 section 4.2: BADSIG 16,
// BADKEY 17, BADTIME 18, BADTRUNC 22), 0 when none.
unsigned tsig_error(const ldns_pkt* p) {
    const ldns_rr* t = ldns_pkt_tsig(p);
    if (!t || ldns_rr_rd_count(t) < 6 || !ldns_rr_rdf(t, 5)) return 0;
    return ldns_rdf2native_int16(ldns_rr_rdf(t, 5));
}

}  // namespace

UpdateAnswer send_update(const std::string& server, const std::string& zone, const std::string& owner,
                         const std::vector<std::string>& add, const std::vector<std::string>& remove, unsigned ttl,
                         const core::TsigKey& key, unsigned timeout_ms, const std::vector<std::string>* expect) {
    UpdateAnswer out;
    std::string addr = server;
    std::uint16_t port = 53;
    auto at = server.rfind('@');
    if (at != std::string::npos) {
        addr = server.substr(0, at);
        char* end = nullptr;
        unsigned long p = std::strtoul(server.c_str() + at + 1, &end, 10);
        if (p == 0 || p > 65535 || *end) {
            out.error = "bad server address " + server;
            return out;
        }
        port = static_cast<std::uint16_t>(p);
    }
    std::unique_ptr<ldns_rdf, RdfFree> ns(ldns_rdf_new_frm_str(
        addr.find(':') != std::string::npos ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, addr.c_str()));
    if (!ns) {
        out.error = "bad server address " + server + " (an IPv4 or IPv6 address, optionally @PORT)";
        return out;
    }
    timeval tv{static_cast<time_t>(timeout_ms / 1000), static_cast<suseconds_t>((timeout_ms % 1000) * 1000)};

    std::unique_ptr<ldns_rr_list, ListFree> up(ldns_rr_list_new());
    auto push = [&](const std::string& rec, bool adding) {
        std::string text = owner + ". " + std::to_string(adding ? ttl : 0) + " IN TLSA " + rec;
        ldns_rr* rr = nullptr;
        if (ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK || !rr) return false;
        if (!adding) ldns_rr_set_class(rr, LDNS_RR_CLASS_NONE);  // RFC 2136 section 2.5.4
        if (!ldns_rr_list_push_rr(up.get(), rr)) {
            ldns_rr_free(rr);
            return false;
        }
        return true;
    };
    for (const auto& r : remove)
        if (!push(r, false)) {
            out.error = "cannot encode the record " + r;
            return out;
        }
    for (const auto& r : add)
        if (!push(r, true)) {
            out.error = "cannot encode the record " + r;
            return out;
        }
    std::unique_ptr<ldns_rr_list, ListFree> pre(ldns_rr_list_new());
    if (!pre) {
        out.error = "out of memory";
        return out;
    }
    if (expect && !expect->empty()) {
        for (const auto& r : *expect) {  // RRset exists, value dependent: class IN, TTL 0
            std::string text = owner + ". 0 IN TLSA " + r;
            ldns_rr* rr = nullptr;
            if (ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK || !rr ||
                !ldns_rr_list_push_rr(pre.get(), rr)) {
                if (rr) ldns_rr_free(rr);
                out.error = "cannot encode the prerequisite " + r;
                return out;
            }
        }
    } else if (expect) {  // RRset does not exist: class NONE, type TLSA, no RDATA
        ldns_rr* rr = ldns_rr_new();
        ldns_rdf* name = ldns_dname_new_frm_str((owner + ".").c_str());
        if (!rr || !name) {
            if (rr) ldns_rr_free(rr);
            if (name) ldns_rdf_deep_free(name);
            out.error = "cannot encode the prerequisite";
            return out;
        }
        ldns_rr_set_owner(rr, name);
        ldns_rr_set_type(rr, LDNS_RR_TYPE_TLSA);
        ldns_rr_set_class(rr, LDNS_RR_CLASS_NONE);
        ldns_rr_set_ttl(rr, 0);
        ldns_rr_set_question(rr, false);
        if (!ldns_rr_list_push_rr(pre.get(), rr)) {
            ldns_rr_free(rr);
            out.error = "cannot encode the prerequisite";
            return out;
        }
    }
    ldns_rdf* zone_rdf = ldns_dname_new_frm_str((zone + ".").c_str());
    if (!zone_rdf) {
        out.error = "cannot encode the zone name " + zone;
        return out;
    }
    // ldns_update_pkt_new takes zone_rdf (it becomes the packet's question).
    std::unique_ptr<ldns_pkt, PktFree> pkt(ldns_update_pkt_new(zone_rdf, LDNS_RR_CLASS_IN, pre.get(), up.get(), nullptr));
    if (!pkt) {
        ldns_rdf_deep_free(zone_rdf);
        out.error = "cannot build the update";
        return out;
    }
    ldns_pkt_set_rd(pkt.get(), false);
    ldns_pkt_set_random_id(pkt.get());
    if (ldns_pkt_tsig_sign(pkt.get(), key.name.c_str(), key.secret.c_str(), 300, key.algorithm.c_str(), nullptr) !=
            LDNS_STATUS_OK ||
        !ldns_pkt_tsig(pkt.get())) {
        out.error = "cannot sign the update with the TSIG key (algorithm or secret unusable)";
        return out;
    }
    // Sent and read here, not through ldns_resolver_send_pkt: that drops an
    // answer whose TSIG does not verify, and a refused key's answer (BADKEY,
    // BADSIG) is unsigned by design (RFC 8945 section 5.2) - its error is
    // what the person needs to see.
    std::unique_ptr<ldns_buffer, BufferFree> qb(ldns_buffer_new(LDNS_MAX_PACKETLEN));
    if (!qb || ldns_pkt2buffer_wire(qb.get(), pkt.get()) != LDNS_STATUS_OK) {
        out.error = "cannot encode the update";
        return out;
    }
    size_t sslen = 0;
    std::unique_ptr<sockaddr_storage, FreeC> to(ldns_rdf2native_sockaddr_storage(ns.get(), port, &sslen));
    if (!to) {
        out.error = "bad server address " + server;
        return out;
    }
    uint8_t* raw_reply = nullptr;
    size_t reply_size = 0;
    ldns_status st = ldns_tcp_send(&raw_reply, qb.get(), to.get(), static_cast<socklen_t>(sslen), tv, &reply_size);
    std::unique_ptr<uint8_t, FreeC> reply(raw_reply);
    if (st != LDNS_STATUS_OK || !reply) {
        const char* why = ldns_get_errorstr_by_id(st);
        out.error = std::string("no answer over TCP (") + (why ? why : "error") + ")";
        return out;
    }
    ldns_pkt* ans_raw = nullptr;
    if (ldns_wire2pkt(&ans_raw, reply.get(), reply_size) != LDNS_STATUS_OK || !ans_raw) {
        out.error = "the answer does not parse";
        return out;
    }
    std::unique_ptr<ldns_pkt, PktFree> answer(ans_raw);
    if (ldns_pkt_id(answer.get()) != ldns_pkt_id(pkt.get())) {
        out.error = "the answer is not to this update (another ID)";
        return out;
    }
    out.answered = true;
    out.rcode = rcode_name(ldns_pkt_get_rcode(answer.get()));
    unsigned terr = tsig_error(answer.get());
    const ldns_rdf* mac = ldns_rr_rdf(ldns_pkt_tsig(pkt.get()), 3);
    bool verified = ldns_pkt_tsig(answer.get()) &&
                    ldns_pkt_tsig_verify(answer.get(), reply.get(), reply_size, key.name.c_str(), key.secret.c_str(), mac);
    if (terr || (ldns_pkt_get_rcode(answer.get()) == LDNS_RCODE_NOTAUTH && !verified)) {
        out.tsig_refused = true;
        out.error = terr == 16   ? "BADSIG: the secret differs from the server's"
                    : terr == 17 ? "BADKEY: the server knows no key of this name and algorithm"
                    : terr == 18 ? "BADTIME: the clocks differ by more than 300 s"
                                 : out.rcode + " without a verifiable TSIG: the server does not accept this key";
        return out;
    }
    if (ldns_pkt_get_rcode(answer.get()) == LDNS_RCODE_NOERROR && !verified) {
        out.error = "the answer's TSIG does not verify: it cannot be told whether the update was applied";
        out.rcode = "NOERROR (unverified)";
        return out;
    }
    if (ldns_pkt_get_rcode(answer.get()) != LDNS_RCODE_NOERROR) {
        switch (ldns_pkt_get_rcode(answer.get())) {
            case LDNS_RCODE_REFUSED: out.error = "the server's policy does not let this key change this name"; break;
            case LDNS_RCODE_NOTIMPL: out.error = "the server does not take updates (a secondary?)"; break;
            case LDNS_RCODE_NOTZONE: out.error = "the owner is not in the zone named"; break;
            case LDNS_RCODE_NOTAUTH: out.error = "the server is not authoritative for the zone"; break;
            case LDNS_RCODE_SERVFAIL: out.error = "the server failed to apply it"; break;
            case LDNS_RCODE_NXRRSET:
            case LDNS_RCODE_YXRRSET:
                out.error = "the RRset is not the one read a moment ago (changed meanwhile, or only a wildcard answered for the "
                            "name): nothing changed; run it again";
                break;
            default: break;
        }
    }
    return out;
}

}  // namespace danesmtp::dns
