// unbound.hpp - core::Resolver on libunbound: DNSSEC validation in-process.
//
// Threads: libunbound lets several threads use one ub_ctx with blocking
// ub_resolve() calls, sharing its cache. A batch of queries runs on short-
// lived worker threads that are joined before resolve() returns, so no
// thread of ours outlives a call: an MTA may fork at any time between calls
// (Exim forks per delivery). libunbound in blocking mode keeps no sockets
// open between queries.
//
// Timeouts: a blocking ub_resolve cannot be cancelled; libunbound's own retry
// schedule is bounded instead (infra-cache-max-rtt = timeout / 3, measured to
// give up on a silent server after about 2.5 x that). Answers that arrive
// after the deadline are still used: a late answer is not a downgrade.
#pragma once

#include <memory>
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
    core::DnsResult resolve_one(const core::DnsQuery& q);

    ub_ctx* ctx_ = nullptr;
    unsigned max_threads_ = 8;
    std::string anchor_zone_;  // owner of the (first) trust anchor, "." by default
    std::string source_;       // where answers come from, for messages
};

}  // namespace danesmtp::dns
