// SPDX-License-Identifier: MIT
// cache.hpp - validated DNS answers shared by the short-lived processes of
// an MTA (issue 11), in an LMDB file owned by the MTA's user.
//
// Why: Exim forks a process per delivery, and each would start a libunbound
// context, fork its resolver process and validate the DNSSEC chain from the
// trust anchor again (about 15 ms of CPU per delivery, measured). Answers
// that libunbound validated in one process are kept here, with their TTL, so
// that the next process for the same domain needs no resolver at all.
//
// What is kept: only answers that count as answers - secure, or insecure
// proven from a trust anchor (RFC 7672 section 2.1.1) - with a TTL above
// zero, for min(TTL, cache-max-ttl) seconds. Bogus answers, SERVFAIL,
// timeouts and indeterminate answers are never kept: the next lookup asks
// again and fails closed again. The TTL libunbound reports is already capped
// at the RRSIG expiry of the answer; we also cap it at the smallest TTL of
// the CNAME chain in the reply.
//
// Trust model: an entry is believed because only the MTA's user (or root)
// can write the file. The file's directory must be owned by the process's
// effective user or by root (root itself may use any user's directory) and
// be writable by no one else; the data and
// lock files must be regular files owned by the directory's owner (or root),
// writable by no one else, and not symbolic links. Anything else: the cache
// is not used (lookups go to the resolver as without a cache) and
// `status()` says why. When root writes into a directory owned by the MTA's
// user, the files it creates are given to that user (as Exim does with its
// hints databases), so that root and the MTA user share one cache.
//
// Failure modes, each ending in "no cache", never in a wrong answer:
//   corrupt file     LMDB refuses it at open: it is removed and made anew
//                    (once); a damaged entry fails its checksum: a miss
//   torn write       LMDB commits are atomic (copy-on-write pages)
//   full disk/map    the write fails: expired entries are purged and the
//                    write retried once, then the database emptied once;
//                    lookups go on from the resolver
//   stale entry      past min(TTL, cache-max-ttl) it is a miss; a clock
//                    that went back makes every entry written "later" a miss
//   another config   entries carry a fingerprint of the resolver
//                    configuration (trust anchors, sources); a different
//                    configuration never sees them
//
// Processes and threads: an AnswerCache belongs to the process that opened
// it (LMDB forbids using an environment across fork); the C layer opens one
// per process (capi). Any number of threads may use one object.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/discovery.hpp"

namespace danesmtp::dns {

class AnswerCache {
public:
    // open - nullptr with *why set when the cache cannot be used.
    static std::unique_ptr<AnswerCache> open(const core::CacheConfig& config, std::string* why);
    ~AnswerCache();
    AnswerCache(const AnswerCache&) = delete;
    AnswerCache& operator=(const AnswerCache&) = delete;

    // get - the entry for (scope, q) if it is intact and fresh at `now`
    // (seconds since the epoch), else nullopt.
    std::optional<core::DnsResult> get(const std::string& scope, const core::DnsQuery& q,
                                       std::int64_t now);
    // put - keep the results that may be kept (see above), in one
    // transaction. Errors make the cache unusable for this process, never
    // an exception.
    void put(const std::string& scope,
             const std::vector<std::pair<core::DnsQuery, core::DnsResult>>& entries,
             std::int64_t now);

    // Counters, for tests and the tool.
    struct Stats {
        unsigned long hits = 0, misses = 0, stored = 0, damaged = 0, purges = 0;
    };
    Stats stats() const;
    // "" while usable; else why it stopped being used in this process.
    std::string broken() const;
    const std::string& path() const;

    // Encoding of one entry (exposed for the unit tests).
    static std::string encode(const std::string& scope, const core::DnsQuery& q,
                              const core::DnsResult& r, std::int64_t now, std::uint32_t ttl);
    static std::optional<core::DnsResult> decode(const std::string& value, const std::string& scope,
                                                 const core::DnsQuery& q, std::int64_t now,
                                                 std::uint32_t max_ttl);

    struct Impl;

private:
    explicit AnswerCache(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// fingerprint - the scope of a resolver configuration: 16 hex digits that
// change when anything that decides the answers changes.
std::string fingerprint(const core::ResolverConfig& config);

// CachingResolver - answers from the cache, the rest from the resolver that
// `live` starts on first need (nullptr and *why when it cannot start: the
// missing answers then fail with "resolver unusable: WHY").
class CachingResolver : public core::Resolver {
public:
    using Live = std::function<core::Resolver*(std::string* why)>;
    using Clock = std::function<std::int64_t()>;
    CachingResolver(AnswerCache* cache, std::string scope, Live live, Clock clock = nullptr);
    std::vector<core::DnsResult> resolve(const std::vector<core::DnsQuery>& queries) override;
    unsigned hits() const { return hits_; }
    unsigned asked() const { return asked_; }

private:
    AnswerCache* cache_;  // may be null: no cache
    std::string scope_;
    Live live_;
    Clock clock_;
    unsigned hits_ = 0, asked_ = 0;
};

}  // namespace danesmtp::dns
