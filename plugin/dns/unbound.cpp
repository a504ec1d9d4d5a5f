// unbound.cpp - see unbound.hpp.
#include "dns/unbound.hpp"

#include <unbound.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/error.hpp"
#include "core/names.hpp"

namespace danesmtp::dns {

namespace {

bool readable(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

void check(int err, const std::string& what) {
    if (err != 0) throw Error(ErrorCode::invalid_argument, what + ": " + ub_strerror(err));
}

// The owner name of the first record of a trust anchor text ("." or "test.").
std::string owner_of(const std::string& rr_text) {
    std::istringstream in(rr_text);
    std::string line;
    while (std::getline(in, line)) {
        std::size_t i = line.find_first_not_of(" \t");
        if (i == std::string::npos || line[i] == ';' || line[i] == '$') continue;
        std::string owner = line.substr(i, line.find_first_of(" \t", i) - i);
        if (owner == ".") return ".";
        try {
            return core::normalize_name(owner);
        } catch (const Error&) {
            return ".";
        }
    }
    return ".";
}

std::string file_text(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string normalized_or_empty(const char* name) {
    if (!name) return {};
    std::string n = name;
    if (!n.empty() && n.back() == '.') n.pop_back();
    for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return n;
}

const char* rcode_name(int rcode) {
    switch (rcode) {
        case 1: return "FORMERR";
        case 2: return "SERVFAIL";
        case 4: return "NOTIMP";
        case 5: return "REFUSED";
        default: return "error";
    }
}

}  // namespace

UnboundResolver::UnboundResolver(const core::ResolverConfig& cfg) {
    ctx_ = ub_ctx_create();
    if (!ctx_) throw Error(ErrorCode::internal, "ub_ctx_create failed");
    try {
        // Answers from loopback are how a local validating resolver and the
        // test lab are reached.
        check(ub_ctx_set_option(ctx_, "do-not-query-localhost:", "no"), "do-not-query-localhost");
        unsigned rtt = cfg.timeout_ms / 3 < 100 ? 100 : cfg.timeout_ms / 3;
        check(ub_ctx_set_option(ctx_, "infra-cache-max-rtt:", std::to_string(rtt).c_str()),
              "infra-cache-max-rtt");

        // Trust anchors: explicit ones, else the system's root key.
        if (!cfg.auto_trust_anchor_file.empty()) {
            check(ub_ctx_add_ta_autr(ctx_, cfg.auto_trust_anchor_file.c_str()),
                  "auto-trust-anchor-file " + cfg.auto_trust_anchor_file);
            anchor_zone_ = owner_of(file_text(cfg.auto_trust_anchor_file));
        }
        if (!cfg.trust_anchor_file.empty()) {
            if (!readable(cfg.trust_anchor_file))
                throw Error(ErrorCode::invalid_argument,
                            "trust-anchor-file " + cfg.trust_anchor_file + " is not readable");
            check(ub_ctx_add_ta_file(ctx_, cfg.trust_anchor_file.c_str()),
                  "trust-anchor-file " + cfg.trust_anchor_file);
            if (anchor_zone_.empty()) anchor_zone_ = owner_of(file_text(cfg.trust_anchor_file));
        }
        for (const auto& ta : cfg.trust_anchors) {
            check(ub_ctx_add_ta(ctx_, ta.c_str()), "trust-anchor '" + ta + "'");
            if (anchor_zone_.empty()) anchor_zone_ = owner_of(ta);
        }
        if (!cfg.has_anchor()) {
            if (readable(kAutoTrustAnchor)) {
                check(ub_ctx_add_ta_autr(ctx_, kAutoTrustAnchor), kAutoTrustAnchor);
            } else if (readable(kDebianRootKey)) {
                check(ub_ctx_add_ta_file(ctx_, kDebianRootKey), kDebianRootKey);
            } else {
                throw Error(ErrorCode::invalid_argument,
                            std::string("no DNSSEC trust anchor: install the dns-root-data "
                                        "package (") + kDebianRootKey +
                                ") or set trust-anchor-file");
            }
            anchor_zone_ = ".";
        }

        // Where answers come from.
        std::vector<std::string> src;
        for (const auto& [zone, addr] : cfg.stubs) {
            // A configured stub must win over unbound's built-in local zones
            // (RFC 6761 names such as test. are answered NXDOMAIN otherwise).
            check(ub_ctx_set_option(ctx_, "local-zone:", (zone + " transparent").c_str()),
                  "local-zone for stub " + zone);
            check(ub_ctx_set_stub(ctx_, zone.c_str(), addr.c_str(), 0), "stub " + zone + " " + addr);
            src.push_back("stub " + zone + " at " + addr);
        }
        for (const auto& f : cfg.forwarders) {
            check(ub_ctx_set_fwd(ctx_, f.c_str()), "forward " + f);
            src.push_back("forwarder " + f);
        }
        if (!cfg.resolv_conf.empty()) {
            check(ub_ctx_resolvconf(ctx_, cfg.resolv_conf.c_str()), "resolv-conf " + cfg.resolv_conf);
            src.push_back("resolvers in " + cfg.resolv_conf);
        }
        if (cfg.recursion) src.push_back("full recursion");
        if (!cfg.has_source()) {
            check(ub_ctx_resolvconf(ctx_, kResolvConf), kResolvConf);
            src.push_back(std::string("resolvers in ") + kResolvConf);
        }
        for (const auto& s : src) source_ += (source_.empty() ? "" : ", ") + s;
    } catch (...) {
        ub_ctx_delete(ctx_);
        throw;
    }
}

UnboundResolver::~UnboundResolver() { ub_ctx_delete(ctx_); }

core::DnsResult UnboundResolver::resolve_one(const core::DnsQuery& q) {
    core::DnsResult out;
    ub_result* r = nullptr;
    int err = ub_resolve(ctx_, q.name.c_str(), q.type, 1 /* IN */, &r);
    if (err != 0 || !r) {
        out.security = core::DnsSecurity::failed;
        out.why = std::string("resolver error: ") + ub_strerror(err);
        ub_resolve_free(r);
        return out;
    }
    if (r->bogus) {
        out.security = core::DnsSecurity::bogus;
        out.why = r->why_bogus ? r->why_bogus : "validation failed";
    } else if (r->rcode != 0 && r->rcode != 3) {
        out.security = core::DnsSecurity::failed;
        out.why = std::string("rcode ") + rcode_name(r->rcode);
    } else {
        out.security = r->secure ? core::DnsSecurity::secure : core::DnsSecurity::insecure;
        out.nxdomain = r->nxdomain != 0;
        for (int i = 0; r->havedata && r->data[i]; ++i)
            out.rdata.emplace_back(reinterpret_cast<const std::uint8_t*>(r->data[i]),
                                   reinterpret_cast<const std::uint8_t*>(r->data[i]) + r->len[i]);
        std::string canon = normalized_or_empty(r->canonname);
        if (!canon.empty() && canon != q.name) out.canonical = canon;
        out.ttl = r->ttl > 0 ? static_cast<std::uint32_t>(r->ttl) : 0;
    }
    ub_resolve_free(r);
    return out;
}

std::vector<core::DnsResult> UnboundResolver::resolve(const std::vector<core::DnsQuery>& queries) {
    std::vector<core::DnsResult> out(queries.size());
    if (queries.size() <= 1) {
        for (std::size_t i = 0; i < queries.size(); ++i) out[i] = resolve_one(queries[i]);
        return out;
    }
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
        for (std::size_t i; (i = next.fetch_add(1)) < queries.size();) out[i] = resolve_one(queries[i]);
    };
    std::size_t n = std::min<std::size_t>(queries.size(), max_threads_);
    std::vector<std::thread> pool;
    pool.reserve(n - 1);
    try {
        for (std::size_t t = 1; t < n; ++t) pool.emplace_back(worker);
    } catch (...) {
        // Could not start a thread: the calling thread does the rest.
    }
    worker();
    for (auto& th : pool) th.join();
    return out;
}

std::string UnboundResolver::self_test() {
    std::string zone = anchor_zone_.empty() ? "." : anchor_zone_;
    core::DnsResult r = resolve_one({zone, 48 /* DNSKEY */});
    switch (r.security) {
        case core::DnsSecurity::secure:
            return "";
        case core::DnsSecurity::insecure:
            return "DNSSEC validation does not work: the DNSKEY RRset of '" + zone +
                   "' is not secure (is the trust anchor for that zone?)";
        case core::DnsSecurity::bogus:
            return "DNSSEC validation fails for '" + zone + "' (" + r.why +
                   "): a resolver on the path strips DNSSEC records, or the trust anchor is wrong";
        case core::DnsSecurity::failed:
            return "no DNS answer for '" + zone + "' from " + source_ + " (" + r.why + ")";
    }
    return "unknown resolver state";
}

}  // namespace danesmtp::dns
