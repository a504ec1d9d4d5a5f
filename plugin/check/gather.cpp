// SPDX-License-Identifier: MIT
// gather.cpp - see gather.hpp.
#include "check/gather.hpp"

#include <ldns/ldns.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <set>

#include "check/auth.hpp"
#include "core/dname.hpp"
#include "core/error.hpp"
#include "tls/chain.hpp"
#include "tls/openssl.hpp"
#include "tls/probe.hpp"
#include "tls/verify.hpp"

namespace danesmtp::check {

namespace {

using core::Bytes;

using core::kTypeDnskey;
using core::kTypeDs;
using core::kTypeNs;
// Zones listed per check, and DS/DNSKEY records shown per zone.
constexpr std::size_t kMaxZones = 16;
constexpr std::size_t kMaxZoneKeys = 16;

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};

std::string name_text(const X509_NAME* n) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    if (!bio || X509_NAME_print_ex(bio.get(), n, 0, XN_FLAG_RFC2253) < 0) return "?";
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return len > 0 ? std::string(data, static_cast<std::size_t>(std::min(len, 1024L))) : std::string();
}

std::int64_t time_of(const ASN1_TIME* t) {
    std::tm tm{};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
    return static_cast<std::int64_t>(timegm(&tm));
}

std::string key_text(X509* x) {
    EVP_PKEY* k = X509_get0_pubkey(x);
    if (!k) return "unknown key";
    int id = EVP_PKEY_get_base_id(k);
    int bits = EVP_PKEY_get_bits(k);
    if (id == EVP_PKEY_EC) {
        char group[64] = "";
        std::size_t len = 0;
        if (EVP_PKEY_get_group_name(k, group, sizeof group, &len) == 1 && len > 0) return "EC " + std::string(group);
        return "EC " + std::to_string(bits);
    }
    if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) return "RSA " + std::to_string(bits);
    if (id == EVP_PKEY_ED25519) return "Ed25519";
    if (id == EVP_PKEY_ED448) return "Ed448";
    const char* sn = OBJ_nid2sn(id);
    return std::string(sn ? sn : "unknown key") + " " + std::to_string(bits);
}

core::RrsetFacts rrset(const std::string& owner, const core::DnsResult& r) {
    core::RrsetFacts f;
    f.owner = owner;
    f.security = r.security;
    f.why = r.why;
    f.ttl = r.ttl;
    f.sig_expires = r.sig_expires;
    return f;
}

std::vector<core::TlsaRecord> tlsa_of(const core::DnsResult& r) {
    std::vector<core::TlsaRecord> out;
    for (const auto& rd : r.rdata) {
        if (out.size() > core::kMaxRecordsPerSet) break;  // enough to say "too many"; the count is rdata.size()
        try {
            out.push_back(core::parse_tlsa_rdata(rd.data(), rd.size()));
        } catch (const Error&) {
            // A malformed RDATA cannot be shown as a record; discovery
            // already treats the RRset as it must.
        }
    }
    return out;
}

// One handshake, judged when the host's verdict is "dane".
core::ProbeFacts handshake(const core::HostPlan& h, const std::string& address, const GatherOptions& o,
                           tls::Algorithms algorithms) {
    core::ProbeFacts p;
    p.address = address;
    p.algorithms = tls::algorithms_name(algorithms);
    std::string sni = h.sni.empty() ? h.name : h.sni;
    tls::Probe pr = tls::probe(address, o.port, sni, o.helo, o.timeout_ms, algorithms);
    p.connected = pr.connected;
    p.starttls = pr.starttls_offered;
    p.tls = pr.tls;
    p.tls_version = pr.tls_version;
    p.cipher = pr.cipher;
    p.error = pr.error;
    if (!pr.tls) return p;
    if (!pr.chain_error.empty()) p.error = "chain not kept whole: " + pr.chain_error;
    tls::Chain chain;
    std::string der_all, pem_all;
    for (const auto& der : pr.chain) {
        try {
            p.chain.push_back(cert_facts(der));
            chain.add_der(reinterpret_cast<const std::uint8_t*>(der.data()), der.size());
        } catch (const Error& e) {
            p.error = std::string("a certificate of the chain does not parse: ") + e.what();
            break;
        }
        der_all += der;
        tls::X509Ptr x = tls::decode_certificate(reinterpret_cast<const std::uint8_t*>(der.data()), der.size());
        std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
        if (x && bio && PEM_write_bio_X509(bio.get(), x.get()) == 1) {
            char* data = nullptr;
            long len = BIO_get_mem_data(bio.get(), &data);
            if (len > 0) pem_all.append(data, static_cast<std::size_t>(len));
        }
    }
    if (!der_all.empty())
        p.chain_sha256[0] = tls::digest(1, reinterpret_cast<const std::uint8_t*>(der_all.data()), der_all.size());
    if (!pem_all.empty())
        p.chain_sha256[1] = tls::digest(1, reinterpret_cast<const std::uint8_t*>(pem_all.data()), pem_all.size());
    // Judged only whole: a chain cut short would be judged on what is left.
    if (h.verdict == core::HostVerdict::dane && pr.chain_error.empty() && !chain.empty() &&
        chain.size() == p.chain.size() && p.chain.size() == pr.chain.size()) {
        tls::VerifyRequest req;
        req.records = &h.records;
        req.chain = &chain;
        req.names = h.names;
        req.time = o.now;
        req.digests = o.digests;
        try {
            p.verdict = tls::verify(req);
            p.judged = true;
        } catch (const Error& e) {
            p.error = std::string("cannot judge the chain: ") + e.what();
        }
    }
    return p;
}

}  // namespace

// The servers to ask for `zone`: a configured stub's addresses when a stub
// zone is at or above it (the operator said "ask these"), else the
// addresses of the zone's NS RRset, validated. At most kMaxAuthServers.
std::vector<std::pair<std::string, std::string>> servers_of(core::Resolver& resolver, const std::string& zone,
                                                            const GatherOptions& o, std::vector<std::string>* problems,
                                                            std::size_t max) {
    if (max == 0) max = kMaxAuthServers;
    auto problem = [&](const std::string& what) {
        if (problems) problems->push_back(what);
    };
    std::vector<std::pair<std::string, std::string>> out;
    std::string best;
    bool found = false;
    auto norm = [](std::string z) {
        while (z.size() > 1 && z.back() == '.') z.pop_back();
        for (auto& c : z) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return z;
    };
    for (const auto& [z, addr] : o.stubs) {
        std::string sz = norm(z);
        bool covers = sz == "." || sz == zone ||
                      (zone.size() > sz.size() && zone.compare(zone.size() - sz.size() - 1, std::string::npos, "." + sz) == 0);
        if (covers && (!found || sz.size() > best.size())) {
            best = sz;
            found = true;
        }
    }
    if (found) {
        for (const auto& [z, addr] : o.stubs)
            if (norm(z) == best) {
                if (out.size() < max) out.emplace_back(addr, "stub " + best);
                else problem("more than " + std::to_string(max) + " stub servers: the rest not asked");
            }
        return out;
    }
    std::vector<core::DnsResult> ns = resolver.resolve({{zone, kTypeNs}});
    if (ns.empty() || ns[0].security == core::DnsSecurity::bogus || ns[0].security == core::DnsSecurity::failed) {
        problem("the NS RRset of " + zone + " could not be looked up" +
                (ns.empty() || ns[0].why.empty() ? std::string() : " (" + ns[0].why + ")"));
        return out;
    }
    std::vector<core::DnsQuery> q;
    std::vector<std::string> names;
    for (const auto& rd : ns[0].rdata) {
        std::string name;
        try {
            std::size_t pos = 0;
            core::WireName w = core::parse_wire_name(rd.data(), rd.size(), &pos);
            if (!w.host) {  // a name we cannot carry exactly: not asked
                problem("name server " + w.text + " cannot be looked up exactly");
                continue;
            }
            name = w.text;
        } catch (const Error&) {
            problem("an NS record of " + zone + " does not parse");
            continue;
        }
        if (names.size() == max) {
            problem("more than " + std::to_string(max) + " name servers: the rest not asked");
            break;
        }
        names.push_back(name);
        q.push_back({name, core::kTypeA});
        q.push_back({name, core::kTypeAaaa});
    }
    std::vector<core::DnsResult> a = resolver.resolve(q);
    for (std::size_t i = 0; i < a.size() && i < q.size(); ++i) {
        if (a[i].security == core::DnsSecurity::bogus || a[i].security == core::DnsSecurity::failed) {
            problem(std::string(q[i].type == core::kTypeA ? "IPv4" : "IPv6") + " addresses of " + names[i / 2] +
                    " could not be looked up");
            continue;
        }
        for (const auto& rd : a[i].rdata) {
            std::string addr = core::address_text(rd, q[i].type);
            if (addr.empty()) continue;
            if (out.size() == max) {
                problem("more than " + std::to_string(max) + " server addresses: the rest not asked");
                return out;
            }
            out.emplace_back(addr, "NS " + names[i / 2]);
        }
    }
    return out;
}

core::CertFacts cert_facts(const std::string& der) {
    tls::Certificate cert(core::Bytes(der.begin(), der.end()));
    core::CertFacts c;
    for (std::uint8_t sel = 0; sel < 2; ++sel)
        for (std::uint8_t mt = 0; mt < 3; ++mt) c.association[sel][mt] = cert.association(sel, mt);
    X509* x = cert.x509();
    c.subject = name_text(X509_get_subject_name(x));
    c.issuer = name_text(X509_get_issuer_name(x));
    c.self_issued = X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0;
    c.not_before = time_of(X509_get0_notBefore(x));
    c.not_after = time_of(X509_get0_notAfter(x));
    c.key = key_text(x);
    return c;
}

core::CheckFacts gather(core::Resolver& resolver, const std::string& name, const core::Policy& policy,
                        const GatherOptions& o) {
    const auto start = std::chrono::steady_clock::now();
    auto past_deadline = [&] {
        return o.deadline_ms != 0 &&
               std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(o.deadline_ms);
    };
    core::CheckFacts f;
    f.single_host = o.single_host;
    f.now = o.now;
    f.warn_days = o.warn_days;
    f.plan = o.single_host ? core::plan_host(resolver, name, o.port, policy)
                           : core::plan_domain(resolver, name, o.port, policy);
    const core::Plan& plan = f.plan;
    const std::string port = "_" + std::to_string(o.port) + "._tcp.";

    // Second pass over DNS for what the plan does not keep: TTLs, RRSIG
    // expiry, why a lookup failed, and TLSA RRsets at names clients never
    // query. libunbound answers the repeated queries from its cache.
    std::vector<core::DnsQuery> q;
    if (!o.single_host) q.push_back({plan.domain, core::kTypeMx});
    struct HostQueries {
        std::size_t a = 0, aaaa = 0, tlsa = SIZE_MAX;
        std::vector<std::pair<std::size_t, std::string>> elsewhere;
    };
    std::vector<HostQueries> hq(plan.hosts.size());
    auto ask = [&](const std::string& n, std::uint16_t type) {
        q.push_back({n, type});
        return q.size() - 1;
    };
    for (std::size_t i = 0; i < plan.hosts.size(); ++i) {
        const core::HostPlan& h = plan.hosts[i];
        hq[i].a = ask(h.name, core::kTypeA);
        hq[i].aaaa = ask(h.name, core::kTypeAaaa);
        std::string base = h.tlsa_base.empty() ? h.name : h.tlsa_base;
        hq[i].tlsa = ask(port + base, core::kTypeTlsa);
        // TLSA RRsets at names clients never query: asked only when the
        // host has none where clients look (the diagnosis reads them only
        // then), so a well-published host costs no extra validation.
        if (!h.records.empty()) continue;
        std::set<std::string> other;
        if (!o.single_host && plan.domain != base) other.insert(port + plan.domain);
        for (const char* p : {"_465._tcp.", "_587._tcp.", "_25._tcp."})
            if (p != port) other.insert(p + base);
        if (!h.canonical.empty() && h.canonical != base) other.insert(port + h.canonical);
        if (h.name != base) other.insert(port + h.name);
        for (const auto& n : other) hq[i].elsewhere.emplace_back(ask(n, core::kTypeTlsa), n);
    }
    std::vector<core::DnsResult> r = resolver.resolve(q);
    if (r.size() != q.size()) throw Error(ErrorCode::internal, "resolver returned a short batch");
    if (!o.single_host) f.mx = rrset(plan.domain, r[0]);
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> auth_servers;  // per zone

    for (std::size_t i = 0; i < plan.hosts.size(); ++i) {
        const core::HostPlan& h = plan.hosts[i];
        core::HostFacts hf;
        hf.addresses.push_back(rrset(h.name, r[hq[i].a]));
        hf.addresses.push_back(rrset(h.name, r[hq[i].aaaa]));
        std::string base = h.tlsa_base.empty() ? h.name : h.tlsa_base;
        hf.tlsa = rrset(port + base, r[hq[i].tlsa]);
        // The records as discovery kept them (it parsed the same answer).
        // The records as discovery kept them (it parsed the same answer);
        // for a host whose TLSA RRset clients never query, none.
        hf.tlsa.tlsa = h.records;
        // An unreachable host's records are shown only when there are too
        // many of them (that is why it is unreachable: too-many-records).
        bool queried = (h.verdict != core::HostVerdict::unreachable ||
                        r[hq[i].tlsa].rdata.size() > core::kMaxRecordsPerSet) &&
                       (h.address_security == core::DnsSecurity::secure || !h.records.empty());
        if (hf.tlsa.tlsa.empty() && queried) hf.tlsa.tlsa = tlsa_of(r[hq[i].tlsa]);
        for (const auto& [k, n] : hq[i].elsewhere) {
            if (r[k].rdata.empty()) continue;
            core::RrsetFacts e = rrset(n, r[k]);
            e.tlsa = tlsa_of(r[k]);
            if (!e.tlsa.empty()) hf.elsewhere.push_back(std::move(e));
        }
        // An insecure host's TLSA RRset is never looked up by clients; show
        // it as published elsewhere so the diagnosis can say so.
        if (!queried && h.address_security == core::DnsSecurity::insecure && !r[hq[i].tlsa].rdata.empty()) {
            core::RrsetFacts e = rrset(port + base, r[hq[i].tlsa]);
            e.tlsa = tlsa_of(r[hq[i].tlsa]);
            hf.elsewhere.insert(hf.elsewhere.begin(), std::move(e));
        }
        // Every authoritative server of the zone holding a secure TLSA
        // RRset: the zone is the RRSIG's signer.
        // Not when the TLSA owner is a CNAME (RFC 7671 section 7): the
        // signer is then the target's zone, whose servers know nothing of
        // the owner's name.
        const std::string& signer = r[hq[i].tlsa].signer;
        if (o.authoritative && hf.tlsa.security == core::DnsSecurity::secure && !hf.tlsa.tlsa.empty() &&
            !signer.empty() && r[hq[i].tlsa].canonical.empty()) {
            hf.zone = signer;
            auto cached = auth_servers.find(signer);
            if (cached == auth_servers.end())
                cached = auth_servers.emplace(signer, servers_of(resolver, signer, o)).first;
            for (const auto& [server, via] : cached->second) {
                if (past_deadline()) break;  // the servers left are not listed
                AuthAnswer a = ask_authoritative(server, signer, hf.tlsa.owner, std::min(o.timeout_ms, 5000u));
                core::AuthFacts af;
                af.server = server;
                af.via = via;
                af.answered = a.answered;
                af.error = a.error;
                af.serial = a.serial;
                af.tlsa = a.tlsa;
                hf.auth.push_back(std::move(af));
            }
        }
        if (o.probe && h.verdict != core::HostVerdict::unreachable) {
            for (const auto& addr : h.addresses) {
                if (past_deadline()) {
                    core::ProbeFacts p;
                    p.skipped = true;
                    p.address = addr;
                    p.algorithms = tls::algorithms_name(tls::Algorithms::any);
                    p.error = "not probed: the check's deadline (" + std::to_string(o.deadline_ms) + " ms) passed";
                    hf.probes.push_back(std::move(p));
                    continue;
                }
                core::ProbeFacts p = handshake(h, addr, o, tls::Algorithms::any);
                std::string leaf_key = p.chain.empty() ? std::string() : p.chain[0].key;
                bool tls_ok = p.tls && !p.chain.empty();
                Bytes leaf = tls_ok ? p.chain[0].association[1][0] : Bytes();
                hf.probes.push_back(std::move(p));
                if (!tls_ok) continue;
                // The other algorithm: a server with an RSA and an ECDSA
                // certificate shows the second only to a client that
                // offers only its algorithm. A failed handshake here means
                // the server has no such key: not a finding.
                tls::Algorithms other = leaf_key.rfind("RSA", 0) == 0 ? tls::Algorithms::ecdsa : tls::Algorithms::rsa;
                if (past_deadline()) continue;
                core::ProbeFacts p2 = handshake(h, addr, o, other);
                if (p2.tls && !p2.chain.empty() && p2.chain[0].association[1][0] != leaf)
                    hf.probes.push_back(std::move(p2));
            }
        }
        f.hosts.push_back(std::move(hf));
    }
    // The zones the secure answers came from (their RRSIGs' signers), with
    // the DS -> DNSKEY link of each: libunbound answers from its cache.
    std::vector<std::string> zones;
    auto note_zone = [&](const core::DnsResult& res) {
        if (res.security == core::DnsSecurity::secure && !res.signer.empty() && zones.size() < kMaxZones &&
            std::find(zones.begin(), zones.end(), res.signer) == zones.end())
            zones.push_back(res.signer);
    };
    for (const auto& res : r) note_zone(res);
    std::vector<core::DnsQuery> zq;
    for (const auto& z : zones) {
        zq.push_back({z, kTypeDs});
        zq.push_back({z, kTypeDnskey});
    }
    std::vector<core::DnsResult> za = zq.empty() ? std::vector<core::DnsResult>() : resolver.resolve(zq);
    for (std::size_t i = 0; i < zones.size() && 2 * i + 1 < za.size(); ++i) {
        core::ZoneFacts z;
        z.name = zones[i];
        const core::DnsResult& ds = za[2 * i];
        const core::DnsResult& keys = za[2 * i + 1];
        z.security = keys.security;
        for (const auto& rd : ds.rdata) {
            if (rd.size() < 4 || z.ds.size() == kMaxZoneKeys) continue;  // RFC 4034 section 5.1
            core::DsFacts d;
            d.key_tag = static_cast<std::uint16_t>(rd[0] << 8 | rd[1]);
            d.algorithm = rd[2];
            d.digest_type = rd[3];
            z.ds.push_back(d);
        }
        for (const auto& rd : keys.rdata) {
            if (rd.size() < 4 || z.dnskeys.size() == kMaxZoneKeys) continue;  // RFC 4034 section 2.1
            core::DnskeyFacts k;
            k.flags = static_cast<std::uint16_t>(rd[0] << 8 | rd[1]);
            k.algorithm = rd[3];
            k.key_tag = ldns_calc_keytag_raw(rd.data(), rd.size());  // RFC 4034 appendix B
            z.dnskeys.push_back(k);
        }
        f.zones.push_back(std::move(z));
    }
    return f;
}

}  // namespace danesmtp::check
