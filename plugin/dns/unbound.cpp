// SPDX-License-Identifier: MIT
// unbound.cpp - see unbound.hpp.
#include "dns/unbound.hpp"

#include <ldns/ldns.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unbound.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "core/dname.hpp"
#include "core/sigpipe.hpp"
#include "core/error.hpp"
#include "core/names.hpp"

namespace danesmtp::dns {

namespace {

using Clock = std::chrono::steady_clock;
using core::SigpipeBlock;

bool readable(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

void check(int err, const std::string& what) {
    if (err != 0) throw Error(ErrorCode::invalid_argument, what + ": " + ub_strerror(err));
}

std::string zone_of(std::string owner) {
    if (owner.empty() || owner == "." || owner == "@") return ".";
    try {
        return core::normalize_name(owner);
    } catch (const Error&) {
        return ".";  // an owner we cannot read: count it as the root (covers all)
    }
}

// owners_of - the zones a trust anchor text (one RR, or a file of them)
// names: the owner of every record line. Lines that start with a blank
// continue the previous owner; comments and $ directives are skipped.
std::set<std::string> owners_of(const std::string& text) {
    std::set<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == ';' || line[0] == '$' || line[0] == ' ' || line[0] == '\t') continue;
        // A record line: OWNER [TTL] [CLASS] DS|DNSKEY ... (continuation
        // lines of a multi-line record, base64 and ')' are not owners).
        std::istringstream words(line.substr(0, line.find(';')));
        std::string owner, w;
        words >> owner;
        bool record = false;
        for (int i = 0; i < 3 && words >> w; ++i) {
            for (auto& c : w) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            if (w == "DS" || w == "DNSKEY") record = true;
        }
        if (record) out.insert(zone_of(owner));
    }
    return out;
}

std::string file_text(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

bool covers(const std::string& zone, const std::string& name) {
    if (zone == ".") return true;
    return name == zone ||
           (name.size() > zone.size() && name.compare(name.size() - zone.size(), zone.size(), zone) == 0 &&
            name[name.size() - zone.size() - 1] == '.');
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

// libunbound's log, process-wide: /dev/null (unbound.hpp). Opened once and
// never closed; a child process inherits it.
FILE* quiet_log() {
    static FILE* f = std::fopen("/dev/null", "w");
    return f;
}

struct PktFree {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
// cname_target - the end of the CNAME chain that starts at `qname` in the
// answer section of the reply packet, in presentation form (escaped, lower
// case, no trailing dot); "" when qname has no CNAME. libunbound's own
// `canonname` cannot be used: it replaces every byte outside [A-Za-z0-9-_*]
// with '?', so a target "a\\032b.zone" would come back as "a?b.zone", a
// different name (core/dname.hpp). Throws Error(parse) for a packet that
// does not parse or a chain longer than kMaxCnames.
constexpr int kMaxCnames = 16;
// *chain receives every name the chain passes through after qname, in order
// (its last element is the target); *min_ttl the smallest TTL of the answer
// section (UINT32_MAX when it is empty), so that an answer is not kept
// longer than a CNAME that led to it (dns/cache.hpp).
std::string cname_target(const std::string& qname, const ub_result* r, std::vector<std::string>* chain,
                         std::uint32_t* min_ttl, std::int64_t* sig_expires, std::string* signer) {
    if (!r->answer_packet || r->answer_len <= 0) throw Error(ErrorCode::parse, "no reply packet");
    ldns_pkt* raw = nullptr;
    if (ldns_wire2pkt(&raw, static_cast<const uint8_t*>(r->answer_packet),
                      static_cast<size_t>(r->answer_len)) != LDNS_STATUS_OK)
        throw Error(ErrorCode::parse, "reply packet does not parse");
    std::unique_ptr<ldns_pkt, PktFree> pkt(raw);
    ldns_rdf* qraw = nullptr;
    if (ldns_str2rdf_dname(&qraw, qname.c_str()) != LDNS_STATUS_OK)
        throw Error(ErrorCode::parse, "query name does not parse");
    std::unique_ptr<ldns_rdf, core::RdfFree> current(qraw);
    ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
    *min_ttl = UINT32_MAX;
    for (size_t i = 0; answer && i < ldns_rr_list_rr_count(answer); ++i)
        *min_ttl = std::min(*min_ttl, ldns_rr_ttl(ldns_rr_list_rr(answer, i)));
    // The earliest RRSIG expiration of the answer section (RFC 4034 section
    // 3.1.5), for `danesmtp check`: a 32-bit time in serial number
    // arithmetic (RFC 1982), read relative to now.
    *sig_expires = 0;
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    ldns_rdf* last_signer = nullptr;
    for (size_t i = 0; answer && i < ldns_rr_list_rr_count(answer); ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(answer, i);
        // RDATA fields: type covered, algorithm, labels, original TTL,
        // expiration (index 4), inception, key tag, signer, signature.
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG || ldns_rr_rd_count(rr) < 5) continue;
        const ldns_rdf* exp = ldns_rr_rdf(rr, 4);
        if (!exp || ldns_rdf_size(exp) != 4) continue;
        std::uint32_t e = ldns_rdf2native_int32(exp);
        std::int64_t t = now + static_cast<std::int32_t>(e - static_cast<std::uint32_t>(now));
        if (*sig_expires == 0 || t < *sig_expires) *sig_expires = t;
        // The signer's name (index 7) is the apex of the zone that signed
        // the last RRset of the answer: where its authoritative servers are.
        if (ldns_rr_rd_count(rr) >= 8 && ldns_rr_rdf(rr, 7) && ldns_rdf_get_type(ldns_rr_rdf(rr, 7)) == LDNS_RDF_TYPE_DNAME)
            last_signer = ldns_rr_rdf(rr, 7);
    }
    // Printed once, not per RRSIG: this runs for every answer an MTA gets.
    if (last_signer) *signer = core::presentation(last_signer);
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
        chain->push_back(core::presentation(current.get()));
    }
    return chain->empty() ? std::string() : chain->back();
}

// covered - is `name` (presentation form) at or below a trust anchor's
// zone? A name with escapes is compared as text by no one: it counts as not
// covered (so an answer reaching it is indeterminate, never insecure); host
// names never hold escapes (core/dname.hpp), so nothing usable is lost.
bool covered(const std::vector<std::string>& zones, const std::string& name) {
    if (name.find('\\') != std::string::npos) return false;
    for (const auto& z : zones)
        if (covers(z, name)) return true;
    return false;
}

// fill - a libunbound result as a core::DnsResult (RFC 7672 section 2.1.1).
core::DnsResult fill(const core::DnsQuery& q, int err, ub_result* r,
                     const std::vector<std::string>& anchors) {
    core::DnsResult out;
    if (err != 0 || !r) {
        out.security = core::DnsSecurity::failed;
        out.why = std::string("resolver error: ") + ub_strerror(err);
        return out;
    }
    if (r->bogus) {
        out.security = core::DnsSecurity::bogus;
        out.why = r->why_bogus ? r->why_bogus : "validation failed";
        return out;
    }
    if (r->rcode != 0 && r->rcode != 3) {
        out.security = core::DnsSecurity::failed;
        out.why = std::string("rcode ") + rcode_name(r->rcode);
        return out;
    }
    std::vector<std::string> chain;
    std::uint32_t answer_ttl = 0;
    try {
        std::string canon = cname_target(q.name, r, &chain, &answer_ttl, &out.sig_expires, &out.signer);
        if (canon != q.name) out.canonical = canon;
    } catch (const Error& e) {
        // A CNAME we cannot read exactly: no answer at all, never a guess
        // (RFC 7672 section 2.2.2).
        out.security = core::DnsSecurity::failed;
        out.why = std::string("CNAME chain unreadable: ") + e.what();
        return out;
    }
    if (r->secure) {
        out.security = core::DnsSecurity::secure;
    } else {
        // Neither secure nor bogus. libunbound says "insecure" only after
        // proving it from a trust anchor; an answer under no anchor is
        // indeterminate (RFC 4035 section 4.3), and RFC 7672 section 2.1.1
        // treats indeterminate as bogus. Both names are checked: the chain
        // may lead out of every anchored tree.
        // Every name the CNAME chain passes through, not only its ends: a
        // link through an unanchored tree is indeterminate even when the
        // chain comes back under an anchor.
        std::string outside;
        if (!covered(anchors, q.name)) outside = q.name;
        for (const auto& n : chain)
            if (outside.empty() && !covered(anchors, n)) outside = n;
        if (!outside.empty()) {
            out.security = core::DnsSecurity::bogus;
            out.why = "indeterminate: no trust anchor covers " + outside +
                      " (RFC 4035 section 4.3), treated as bogus (RFC 7672 section 2.1.1)";
            out.canonical.clear();
            return out;
        }
        out.security = core::DnsSecurity::insecure;
    }
    out.nxdomain = r->nxdomain != 0;
    // How long the answer may be kept: libunbound's TTL (already capped at
    // the RRSIG expiry by its validator), and no longer than any record of
    // the answer section. 0 (not kept) when libunbound has none.
    out.ttl = r->ttl > 0 ? std::min(static_cast<std::uint32_t>(r->ttl), answer_ttl) : 0;
    for (int i = 0; r->havedata && r->data[i]; ++i)
        out.rdata.emplace_back(reinterpret_cast<const std::uint8_t*>(r->data[i]),
                               reinterpret_cast<const std::uint8_t*>(r->data[i]) + r->len[i]);
    return out;
}

struct Setup {
    std::vector<std::string> anchor_zones;
    std::string source;
};

// make_context - a libunbound context set up from the configuration.
ub_ctx* make_context(const core::ResolverConfig& cfg, Setup* setup) {
    ub_ctx* ctx = ub_ctx_create();
    if (!ctx) throw Error(ErrorCode::internal, "ub_ctx_create failed");
    try {
        // Nothing on the host's stderr (unbound.hpp).
        if (FILE* log = quiet_log()) ub_ctx_debugout(ctx, log);
        // Asynchronous lookups are answered by a resolver *process* that
        // libunbound forks on first use (ub_ctx_async 0): no thread is ever
        // started in the MTA's process, so it may fork at any time.
        check(ub_ctx_async(ctx, 0), "async mode");
        // Answers from loopback are how a local validating resolver and the
        // test lab are reached.
        check(ub_ctx_set_option(ctx, "do-not-query-localhost:", "no"), "do-not-query-localhost");
        unsigned rtt = cfg.timeout_ms / 3 < 100 ? 100 : cfg.timeout_ms / 3;
        check(ub_ctx_set_option(ctx, "infra-cache-max-rtt:", std::to_string(rtt).c_str()),
              "infra-cache-max-rtt");

        // Trust anchors: the configured ones, plus the root key unless the
        // configuration says root-anchor = no (issue 7 item 3: an internal
        // anchor must not make every other domain insecure).
        std::set<std::string> zones;
        if (!cfg.auto_trust_anchor_file.empty()) {
            check(ub_ctx_add_ta_autr(ctx, cfg.auto_trust_anchor_file.c_str()),
                  "auto-trust-anchor-file " + cfg.auto_trust_anchor_file);
            for (const auto& z : owners_of(file_text(cfg.auto_trust_anchor_file))) zones.insert(z);
        }
        if (!cfg.trust_anchor_file.empty()) {
            if (!readable(cfg.trust_anchor_file))
                throw Error(ErrorCode::invalid_argument,
                            "trust-anchor-file " + cfg.trust_anchor_file + " is not readable");
            check(ub_ctx_add_ta_file(ctx, cfg.trust_anchor_file.c_str()),
                  "trust-anchor-file " + cfg.trust_anchor_file);
            for (const auto& z : owners_of(file_text(cfg.trust_anchor_file))) zones.insert(z);
        }
        for (const auto& ta : cfg.trust_anchors) {
            check(ub_ctx_add_ta(ctx, ta.c_str()), "trust-anchor '" + ta + "'");
            for (const auto& z : owners_of(ta)) zones.insert(z);
        }
        if (cfg.root_anchor && !zones.count(".")) {
            if (readable(kAutoTrustAnchor)) {
                check(ub_ctx_add_ta_autr(ctx, kAutoTrustAnchor), kAutoTrustAnchor);
            } else if (readable(kDebianRootKey)) {
                check(ub_ctx_add_ta_file(ctx, kDebianRootKey), kDebianRootKey);
            } else {
                throw Error(ErrorCode::invalid_argument,
                            std::string("no root trust anchor: install the dns-root-data package (") +
                                kDebianRootKey + "), or set root-anchor = no and configure anchors");
            }
            zones.insert(".");
        }
        if (zones.empty())
            throw Error(ErrorCode::invalid_argument,
                        "no DNSSEC trust anchor: root-anchor = no and no trust-anchor configured");
        setup->anchor_zones.assign(zones.begin(), zones.end());

        // A zone the configuration names (a trust anchor below the root, a
        // stub) must be resolved, even when libunbound has a built-in local
        // zone for it (RFC 6761 names such as test. are answered NXDOMAIN
        // otherwise, whatever the source of answers).
        std::set<std::string> transparent;
        auto make_transparent = [&](const std::string& zone) {
            if (zone.empty() || zone == "." || !transparent.insert(zone).second) return;
            check(ub_ctx_set_option(ctx, "local-zone:", (zone + " transparent").c_str()),
                  "local-zone for " + zone);
        };
        for (const auto& z : zones) make_transparent(z);

        // Where answers come from.
        std::vector<std::string> src;
        for (const auto& [zone, addr] : cfg.stubs) {
            make_transparent(zone);
            check(ub_ctx_set_stub(ctx, zone.c_str(), addr.c_str(), 0), "stub " + zone + " " + addr);
            src.push_back("stub " + zone + " at " + addr);
        }
        for (const auto& f : cfg.forwarders) {
            check(ub_ctx_set_fwd(ctx, f.c_str()), "forward " + f);
            src.push_back("forwarder " + f);
        }
        if (!cfg.resolv_conf.empty()) {
            check(ub_ctx_resolvconf(ctx, cfg.resolv_conf.c_str()), "resolv-conf " + cfg.resolv_conf);
            src.push_back("resolvers in " + cfg.resolv_conf);
        }
        if (cfg.recursion) src.push_back("full recursion");
        if (!cfg.has_source()) {
            check(ub_ctx_resolvconf(ctx, kResolvConf), kResolvConf);
            src.push_back(std::string("resolvers in ") + kResolvConf);
        }
        setup->source.clear();
        for (const auto& s : src) setup->source += (setup->source.empty() ? "" : ", ") + s;
    } catch (...) {
        SigpipeBlock quiet;
        ub_ctx_delete(ctx);
        throw;
    }
    return ctx;
}

}  // namespace

// Engine - one libunbound context and its resolver process, shared by every
// thread that resolves through it (unbound.hpp: the pump).
class Engine {
public:
    Engine(ub_ctx* ctx, std::vector<std::string> anchors, unsigned timeout_ms)
        : ctx_(ctx), anchors_(std::move(anchors)), timeout_ms_(timeout_ms) {}
    ~Engine() {
        SigpipeBlock quiet;
        ub_ctx_delete(ctx_);
    }
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // run - the answers to `queries` in *out. false when the resolver process
    // is gone (a broken pipe): *out is then meaningless.
    bool run(const std::vector<core::DnsQuery>& queries, std::vector<core::DnsResult>* out);

private:
    struct Pending {
        Engine* engine = nullptr;
        const core::DnsQuery* query = nullptr;
        core::DnsResult* result = nullptr;
        bool done = false;  // guarded by engine->mu_
        int async_id = 0;
    };
    static void on_result(void* arg, int err, ub_result* r);

    ub_ctx* ctx_;
    std::vector<std::string> anchors_;
    unsigned timeout_ms_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool pumping_ = false;  // a thread is reading answers off the pipe
    bool broken_ = false;   // the resolver process is gone
    bool started_ = false;  // the resolver process has been forked
};

void Engine::on_result(void* arg, int err, ub_result* r) {
    auto* p = static_cast<Pending*>(arg);
    core::DnsResult res;
    try {
        res = fill(*p->query, err, r, p->engine->anchors_);
    } catch (...) {
        res = core::DnsResult();
        res.why = "out of memory reading the answer";
    }
    ub_resolve_free(r);
    std::lock_guard<std::mutex> lock(p->engine->mu_);
    *p->result = std::move(res);
    p->done = true;
}

bool Engine::run(const std::vector<core::DnsQuery>& queries, std::vector<core::DnsResult>* out) {
    out->assign(queries.size(), core::DnsResult());
    if (queries.empty()) return true;
    std::vector<Pending> pending(queries.size());
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (broken_) return false;
        if (!started_) {
            // libunbound forks its resolver process on the first async
            // query. Flush stdio first, or that process would write the
            // host's pending buffered output a second time when it exits.
            std::fflush(nullptr);
            started_ = true;
        }
    }
    bool pipe_failed = false;
    {
        SigpipeBlock quiet;
        for (std::size_t i = 0; i < queries.size(); ++i) {
            pending[i].engine = this;
            pending[i].query = &queries[i];
            pending[i].result = &(*out)[i];
            int err = ub_resolve_async(ctx_, queries[i].name.c_str(), queries[i].type, 1 /* IN */,
                                       &pending[i], on_result, &pending[i].async_id);
            if (err != 0) {
                // After UB_PIPE the query may still be registered in
                // libunbound with `pending[i]` as its argument: take it out,
                // so that no late answer can reach this stack frame.
                if (err == UB_PIPE && pending[i].async_id != 0) ub_cancel(ctx_, pending[i].async_id);
                (*out)[i] = fill(queries[i], err, nullptr, anchors_);
                std::lock_guard<std::mutex> lock(mu_);
                pending[i].done = true;
                if (err == UB_PIPE) pipe_failed = true;
            }
        }
    }
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms_);
    std::unique_lock<std::mutex> lock(mu_);
    if (pipe_failed) broken_ = true;
    auto all_done = [&] {
        return std::all_of(pending.begin(), pending.end(), [](const Pending& p) { return p.done; });
    };
    while (!all_done() && !broken_) {
        auto now = Clock::now();
        if (now >= deadline) break;
        if (pumping_) {
            cv_.wait_until(lock, deadline);
            continue;
        }
        // This thread reads answers for everyone until its own are in, its
        // time is up, or the pipe breaks; then another waiting thread takes
        // over (notify_all below).
        pumping_ = true;
        lock.unlock();
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
        pollfd pfd{ub_fd(ctx_), POLLIN, 0};
        int rc = poll(&pfd, 1, static_cast<int>(std::max<long long>(1, left)));
        bool gone = rc < 0 && errno != EINTR && errno != EAGAIN;
        if (rc > 0) {
            SigpipeBlock quiet;
            gone = ub_process(ctx_) != 0;  // the resolver process is gone
        }
        lock.lock();
        pumping_ = false;
        if (gone) broken_ = true;
        cv_.notify_all();
    }
    // Cancel what is still open, so that no callback can reach `pending`
    // once this function has returned. ub_cancel() says UB_NOID when the
    // answer was taken off libunbound's list already: its callback has run
    // or is running in the pump, which notifies when it is done.
    bool broken = broken_;
    for (auto& p : pending) {
        if (p.done) continue;
        lock.unlock();
        int rc;
        {
            SigpipeBlock quiet;
            rc = ub_cancel(ctx_, p.async_id);
        }
        lock.lock();
        if (rc == UB_NOID) {
            while (!p.done) cv_.wait_for(lock, std::chrono::milliseconds(10));
            continue;
        }
        p.done = true;
        // Not answered in time (RFC 7672 section 2.2: an error, never a "may").
        p.result->security = core::DnsSecurity::failed;
        p.result->why = "no answer within " + std::to_string(timeout_ms_) + " ms";
    }
    cv_.notify_all();
    // With the resolver process gone every answer of this batch is lost,
    // including those that "failed" on the way: the caller asks again.
    return !broken;
}

UnboundResolver::UnboundResolver(const core::ResolverConfig& cfg) : config_(cfg) {
    Setup setup;
    ub_ctx* ctx = make_context(config_, &setup);
    anchor_zones_ = setup.anchor_zones;
    source_ = setup.source;
    engine_ = std::make_shared<Engine>(ctx, anchor_zones_, config_.timeout_ms);
}

UnboundResolver::~UnboundResolver() = default;

unsigned UnboundResolver::restarts() const {
    std::lock_guard<std::mutex> lock(mu_);
    return restarts_;
}

std::shared_ptr<Engine> UnboundResolver::engine() {
    std::lock_guard<std::mutex> lock(mu_);
    return engine_;
}

void UnboundResolver::replace(const std::shared_ptr<Engine>& broken) {
    std::lock_guard<std::mutex> lock(mu_);
    if (engine_ != broken) return;  // another thread replaced it already
    Setup setup;
    ub_ctx* ctx = make_context(config_, &setup);  // same configuration: same anchors
    engine_ = std::make_shared<Engine>(ctx, anchor_zones_, config_.timeout_ms);
    ++restarts_;
}

std::vector<core::DnsResult> UnboundResolver::resolve(const std::vector<core::DnsQuery>& queries) {
    std::vector<core::DnsResult> out;
    std::size_t step = std::max<std::size_t>(1, config_.parallel);
    for (std::size_t i = 0; i < queries.size(); i += step) {
        std::vector<core::DnsQuery> part(queries.begin() + static_cast<long>(i),
                                         queries.begin() + static_cast<long>(std::min(queries.size(), i + step)));
        std::vector<core::DnsResult> got;
        bool ok = false;
        // A dead resolver process: a new one, and the batch asked again once.
        for (int attempt = 0; attempt < 2 && !ok; ++attempt) {
            std::shared_ptr<Engine> e = engine();
            ok = e->run(part, &got);
            if (!ok) {
                try {
                    replace(e);
                } catch (const Error&) {
                    break;
                }
            }
        }
        if (!ok) {
            got.assign(part.size(), core::DnsResult());
            for (auto& r : got) r.why = "the resolver process died and could not be restarted";
        }
        for (auto& r : got) out.push_back(std::move(r));
    }
    return out;
}

std::string UnboundResolver::self_test() {
    std::vector<core::DnsQuery> q;
    for (const auto& z : anchor_zones_) q.push_back({z, 48 /* DNSKEY */});
    std::vector<core::DnsResult> r = resolve(q);
    for (std::size_t i = 0; i < q.size(); ++i) {
        const std::string& zone = q[i].name;
        switch (r[i].security) {
            case core::DnsSecurity::secure:
                continue;
            case core::DnsSecurity::insecure:
                return "DNSSEC validation does not work: the DNSKEY RRset of '" + zone +
                       "' is not secure (is the trust anchor for that zone?)";
            case core::DnsSecurity::bogus:
                return "DNSSEC validation fails for '" + zone + "' (" + r[i].why +
                       "): a resolver on the path strips DNSSEC records, or the trust anchor is wrong";
            case core::DnsSecurity::failed:
                return "no DNS answer for '" + zone + "' from " + source_ + " (" + r[i].why + ")";
        }
    }
    return "";
}

}  // namespace danesmtp::dns
