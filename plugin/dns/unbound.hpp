// SPDX-License-Identifier: MIT
// unbound.hpp - core::Resolver on libunbound: DNSSEC validation in-process.
//
// Concurrency without threads of our own: queries go out with
// ub_resolve_async() and libunbound answers them from a resolver *process* it
// forks on first use (ub_ctx_async(ctx, 0)), so the MTA's process never
// gains a thread and may fork at any time (Exim forks per delivery). That
// process holds the cache: warm lookups cost a pipe round trip.
//
// Threads: any number of threads may resolve at once. Each batch registers
// its queries and waits for its own answers; one waiting thread at a time
// (the "pump") reads answers off the pipe with ub_process() and hands each
// to the batch that asked, whoever that is. A thread whose answers are cached
// is not held up by another thread's query to a zone that never answers
// (issue 7 item 9; tests/lab: sixteen threads, fast, slow and dead zones).
//
// The resolver process can die (OOM killer, kill -9). libunbound then writes
// to a pipe nobody reads: SIGPIPE is blocked in the calling thread around
// every call that writes, and a pending SIGPIPE is consumed before it is
// unblocked, so the host process never sees it (Exim ignores it; other hosts
// would die). A broken pipe makes this object start a new libunbound context
// (and so a new resolver process) and ask the batch again, once.
//
// libunbound logs its errors to stderr ("tube msg write failed: Broken
// pipe" when a host process exits without stopping its resolver process).
// Its log goes to /dev/null instead: the library writes nothing to the host's
// stderr (issue 7 item 12). Failures reach the caller as results.
//
// Fork: a child must not use its parent's object (the pipes lead to the
// parent's resolver process). The C layer notices the new pid and makes a
// new resolver; the parent's object is left untouched in the child.
//
// Timeouts: a batch waits at most `timeout` ms; what has not answered by
// then is cancelled and counts as failed (never as "no TLSA": RFC 7672
// section 2.2). libunbound's own retries are bounded to match
// (infra-cache-max-rtt = timeout / 3).
//
// Trust: the root key (unbound-anchor's file, else dns-root-data's) plus
// every configured anchor, unless the configuration says root-anchor = no.
// An answer that is neither secure nor bogus is insecure only when a trust
// anchor covers its name (unbound proved the insecurity from there); under no
// anchor it is indeterminate (RFC 4035 section 4.3), which RFC 7672 section
// 2.1.1 treats as bogus.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/discovery.hpp"

namespace danesmtp::dns {

// Where the default trust anchor comes from, in order of preference.
constexpr const char* kAutoTrustAnchor = "/var/lib/unbound/root.key";  // unbound-anchor
constexpr const char* kDebianRootKey = "/usr/share/dns/root.key";      // dns-root-data
constexpr const char* kResolvConf = "/etc/resolv.conf";

class Engine;

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
    // of every trust anchor's zone (the root included, when it is trusted)
    // and expects each secure. Returns "" when they are, else a sentence for
    // the administrator (a resolver that strips DNSSEC, a wrong trust anchor,
    // no answer at all).
    std::string self_test();

    const std::vector<std::string>& anchor_zones() const { return anchor_zones_; }
    const std::string& source() const { return source_; }
    // How many times a dead resolver process was replaced (for tests).
    unsigned restarts() const;

private:
    std::shared_ptr<Engine> engine();
    void replace(const std::shared_ptr<Engine>& broken);

    core::ResolverConfig config_;
    std::vector<std::string> anchor_zones_;  // "." when the root key is trusted
    std::string source_;                     // where answers come from, for messages
    mutable std::mutex mu_;                  // guards engine_ and restarts_
    std::shared_ptr<Engine> engine_;
    unsigned restarts_ = 0;
};

}  // namespace danesmtp::dns
