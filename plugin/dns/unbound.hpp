// unbound.hpp - core::Resolver on libunbound: DNSSEC validation in-process.
//
// Concurrency without threads: a batch of queries goes out at once with
// ub_resolve_async() and is collected with poll() on ub_fd(). libunbound runs
// them in a resolver process it forks on first use (ub_ctx_async(ctx, 0)), so
// the MTA's process never gains a thread and may fork at any time (Exim forks
// per delivery). That process holds the cache: warm lookups cost a pipe round
// trip (measured: 6 cached answers in 0.3 ms; a blocking ub_resolve() costs
// 2 ms each, for it sets up a worker per call).
//
// Fork: a child must not use its parent's context (the pipes lead to the
// parent's resolver process). The C layer notices the new pid and starts a
// new resolver; the parent's object is left untouched in the child, since
// deleting it would stop the parent's resolver process.
//
// Timeouts: a batch waits at most `timeout` ms; what has not answered by
// then is cancelled and counts as failed (never as "no TLSA": RFC 7672
// section 2.2). libunbound's own retries are bounded to match
// (infra-cache-max-rtt = timeout / 3).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/discovery.hpp"

struct ub_ctx;

namespace danesmtp::dns {

// Where the default trust anchor comes from, in order of preference.
constexpr const char* kAutoTrustAnchor = "/var/lib/unbound/root.key";  // unbound-anchor
constexpr const char* kDebianRootKey = "/usr/share/dns/root.key";      // dns-root-data
constexpr const char* kResolvConf = "/etc/resolv.conf";

class UnboundResolver : public core::Resolver {
public:
    // Throws Error(invalid_argument) with a clear message for a
    // configuration libunbound refuses, or when no trust anchor is found.
    explicit UnboundResolver(const core::ResolverConfig& config);
    ~UnboundResolver() override;
    UnboundResolver(const UnboundResolver&) = delete;
    UnboundResolver& operator=(const UnboundResolver&) = delete;

    std::vector<core::DnsResult> resolve(const std::vector<core::DnsQuery>& queries) override;

    // self_test - does validation actually work? Looks up the DNSKEY RRset
    // of the trust anchor's zone and expects it secure. Returns "" when it
    // does, else a sentence for the administrator (a resolver that strips
    // DNSSEC, a wrong trust anchor, no answer at all).
    std::string self_test();

    const std::string& anchor_zone() const { return anchor_zone_; }
    const std::string& source() const { return source_; }

private:
    std::vector<core::DnsResult> resolve_batch(const std::vector<core::DnsQuery>& queries);

    std::mutex mu_;  // one batch at a time drives the context
    ub_ctx* ctx_ = nullptr;
    unsigned timeout_ms_ = 10000;
    std::size_t parallel_ = 8;  // queries in flight at once (parallel-lookups)
    bool started_ = false;      // the resolver process has been forked
    std::string anchor_zone_;  // owner of the (first) trust anchor, "." by default
    std::string source_;       // where answers come from, for messages
};

}  // namespace danesmtp::dns
