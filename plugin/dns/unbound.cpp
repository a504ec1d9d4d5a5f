// unbound.cpp - see unbound.hpp.
#include "dns/unbound.hpp"

#include <ldns/ldns.h>
#include <unbound.h>
#include <unistd.h>

#include <poll.h>

#include <cerrno>
#include <cstdio>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>

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

struct PktFree {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct RdfFree {
    void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};

// cname_target - the end of the CNAME chain that starts at `qname` in the
// answer section of the reply packet, in presentation form (escaped, lower
// case, no trailing dot); "" when qname has no CNAME. libunbound's own
// `canonname` cannot be used: it replaces every byte outside [A-Za-z0-9-_*]
// with '?', so a target "a\032b.zone" would come back as "a?b.zone", a
// different name (dname.hpp). Throws Error(parse) for a packet that does
// not parse or a chain longer than kMaxCnames.
constexpr int kMaxCnames = 16;
std::string cname_target(const std::string& qname, const ub_result* r) {
    if (!r->answer_packet || r->answer_len <= 0)
        throw Error(ErrorCode::parse, "no reply packet");
    ldns_pkt* raw = nullptr;
    if (ldns_wire2pkt(&raw, static_cast<const uint8_t*>(r->answer_packet),
                      static_cast<size_t>(r->answer_len)) != LDNS_STATUS_OK)
        throw Error(ErrorCode::parse, "reply packet does not parse");
    std::unique_ptr<ldns_pkt, PktFree> pkt(raw);
    ldns_rdf* qraw = nullptr;
    if (ldns_str2rdf_dname(&qraw, qname.c_str()) != LDNS_STATUS_OK)
        throw Error(ErrorCode::parse, "query name does not parse");
    std::unique_ptr<ldns_rdf, RdfFree> current(qraw);
    ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
    bool moved = false;
    for (int step = 0;; ++step) {
        const ldns_rdf* next = nullptr;
        for (size_t i = 0; answer && i < ldns_rr_list_rr_count(answer); ++i) {
            const ldns_rr* rr = ldns_rr_list_rr(answer, i);
            if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && ldns_rr_rd_count(rr) == 1 &&
                ldns_dname_compare(ldns_rr_owner(rr), current.get()) == 0) {
                next = ldns_rr_rdf(rr, 0);
                break;
            }
        }
        if (!next) break;
        if (step == kMaxCnames) throw Error(ErrorCode::parse, "CNAME chain longer than 16");
        current.reset(ldns_rdf_clone(next));
        if (!current) throw std::bad_alloc();
        moved = true;
    }
    if (!moved) return {};
    ldns_dname2canonical(current.get());
    char* s = ldns_rdf2str(current.get());
    if (!s) throw std::bad_alloc();
    std::string out = s;
    std::free(s);
    if (out.size() > 1 && out.back() == '.') out.pop_back();
    return out;
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

UnboundResolver::UnboundResolver(const core::ResolverConfig& cfg) : timeout_ms_(cfg.timeout_ms), parallel_(cfg.parallel) {
    ctx_ = ub_ctx_create();
    if (!ctx_) throw Error(ErrorCode::internal, "ub_ctx_create failed");
    try {
        // Asynchronous lookups are answered by a resolver *process* that
        // libunbound forks on first use (ub_ctx_async 0): no thread is ever
        // started in the MTA's process, so it may fork at any time. The
        // process keeps the cache warm between lookups and exits with us.
        check(ub_ctx_async(ctx_, 0), "async mode");
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

        // A zone the configuration names (a trust anchor below the root, a
        // stub) must be resolved, even when libunbound has a built-in local
        // zone for it (RFC 6761 names such as test. are answered NXDOMAIN
        // otherwise, whatever the source of answers).
        std::set<std::string> transparent;
        auto make_transparent = [&](const std::string& zone) {
            if (zone.empty() || zone == "." || !transparent.insert(zone).second) return;
            check(ub_ctx_set_option(ctx_, "local-zone:", (zone + " transparent").c_str()),
                  "local-zone for " + zone);
        };
        make_transparent(anchor_zone_);

        // Where answers come from.
        std::vector<std::string> src;
        for (const auto& [zone, addr] : cfg.stubs) {
            make_transparent(zone);
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

namespace {

// fill - a libunbound result as a core::DnsResult (RFC 7672 section 2.1.1).
core::DnsResult fill(const core::DnsQuery& q, int err, ub_result* r) {
    core::DnsResult out;
    if (err != 0 || !r) {
        out.security = core::DnsSecurity::failed;
        out.why = std::string("resolver error: ") + ub_strerror(err);
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
        {
            try {
                std::string canon = cname_target(q.name, r);
                if (canon != q.name) out.canonical = canon;
            } catch (const Error& e) {
                // A CNAME we cannot read exactly: no answer at all, never a
                // guess (RFC 7672 section 2.2.2).
                out = core::DnsResult();
                out.security = core::DnsSecurity::failed;
                out.why = std::string("CNAME chain unreadable: ") + e.what();
            }
        }
    }
    return out;
}

struct Pending {
    const core::DnsQuery* query;
    core::DnsResult* result;
    bool done = false;
    int async_id = 0;
};

void on_result(void* arg, int err, ub_result* r) {
    auto* p = static_cast<Pending*>(arg);
    *p->result = fill(*p->query, err, r);
    p->done = true;
    ub_resolve_free(r);
}

}  // namespace

std::vector<core::DnsResult> UnboundResolver::resolve(const std::vector<core::DnsQuery>& queries) {
    // One batch at a time per context: callbacks run in whichever thread
    // calls ub_process, so a batch owns the context while it runs.
    std::lock_guard<std::mutex> lock(mu_);
    if (queries.size() <= parallel_) return resolve_batch(queries);
    std::vector<core::DnsResult> out;
    for (std::size_t i = 0; i < queries.size(); i += parallel_) {
        std::vector<core::DnsQuery> part(queries.begin() + static_cast<long>(i),
                                         queries.begin() + static_cast<long>(std::min(queries.size(), i + parallel_)));
        for (auto& r : resolve_batch(part)) out.push_back(std::move(r));
    }
    return out;
}

std::vector<core::DnsResult> UnboundResolver::resolve_batch(const std::vector<core::DnsQuery>& queries) {
    std::vector<core::DnsResult> out(queries.size());
    if (queries.empty()) return out;
    if (!started_) {
        // libunbound forks its resolver process on the first async query.
        // Flush stdio first, or that process would write the host's pending
        // buffered output a second time when it exits.
        std::fflush(nullptr);
        started_ = true;
    }
    std::vector<Pending> pending(queries.size());
    std::size_t outstanding = 0;
    for (std::size_t i = 0; i < queries.size(); ++i) {
        pending[i].query = &queries[i];
        pending[i].result = &out[i];
        int err = ub_resolve_async(ctx_, queries[i].name.c_str(), queries[i].type, 1 /* IN */,
                                   &pending[i], on_result, &pending[i].async_id);
        if (err != 0) {
            out[i] = fill(queries[i], err, nullptr);
            pending[i].done = true;
        } else {
            ++outstanding;
        }
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
    auto remaining = [&] {
        std::size_t n = 0;
        for (const auto& p : pending) n += !p.done;
        return n;
    };
    while (outstanding && (outstanding = remaining()) > 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) break;
        pollfd pfd{ub_fd(ctx_), POLLIN, 0};
        int rc = poll(&pfd, 1, static_cast<int>(left));
        if (rc < 0 && errno != EINTR) break;
        if (rc > 0 && ub_process(ctx_) != 0) break;  // the resolver process is gone
    }
    // Whatever is still open has timed out (RFC 7672 section 2.2: an error,
    // never a "may").
    for (auto& p : pending) {
        if (p.done) continue;
        ub_cancel(ctx_, p.async_id);
        p.result->security = core::DnsSecurity::failed;
        p.result->why = "no answer within " + std::to_string(timeout_ms_) + " ms";
    }
    return out;
}

std::string UnboundResolver::self_test() {
    std::string zone = anchor_zone_.empty() ? "." : anchor_zone_;
    core::DnsResult r = resolve({{zone, 48 /* DNSKEY */}}).at(0);
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
