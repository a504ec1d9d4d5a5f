// SPDX-License-Identifier: MIT
// capi.cpp - the extern "C" layer of libdanesmtp (include/danesmtp.h).
//
// Each handle is a small struct around a C++ value; every function runs its
// body through guard(), which turns any exception into a status code and
// keeps the message for danesmtp_last_error(). Nothing else in the library is
// extern "C", and nothing but the DANESMTP_API declarations is exported
// (-fvisibility=hidden plus the version script in plugin/danesmtp.map).
#include "danesmtp.h"

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <new>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>

#include "check/gather.hpp"
#include "check/rollover.hpp"
#include "core/rollover.hpp"
#include "core/config.hpp"
#include "core/diagnose.hpp"
#include "core/discovery.hpp"
#include "core/error.hpp"
#include "core/names.hpp"
#include "dns/cache.hpp"
#include "dns/unbound.hpp"
#include "core/tlsa.hpp"
#include "tls/chain.hpp"
#include "tls/make.hpp"
#include "tls/verify.hpp"

namespace {

// ResolverState - a context's resolver in one process. After fork() the child
// sees another pid and makes a state of its own; the parent's is never
// touched there (its mutex may have been held by another thread at fork
// time) and is deliberately leaked. No lock is held while a resolver starts
// or runs its self-test, so a fork() from another thread meanwhile leaves the
// child nothing to wait for (issue 7 item 9).
struct ResolverState {
    explicit ResolverState(pid_t p) : pid(p) {}
    const pid_t pid;
    std::mutex mu;  // guards the fields below
    std::condition_variable cv;
    std::shared_ptr<danesmtp::dns::UnboundResolver> resolver;
    bool starting = false;   // a thread is starting the resolver
    std::string error;       // why the last start failed
    unsigned failures = 0;   // starts failed in a row
    std::chrono::steady_clock::time_point retry_at;  // no new start before
    // The shared answer cache (dns/cache.hpp), opened on first lookup in
    // this process; LMDB forbids using the parent's after fork().
    bool cache_opened = false;
    std::unique_ptr<danesmtp::dns::AnswerCache> cache;
    std::string cache_why;  // why there is none ("off" when not configured)
};

}  // namespace

struct danesmtp_ctx {
    danesmtp::core::DigestPreference digests = danesmtp::core::DigestPreference::sha512_first;
    danesmtp::core::Config config;
    std::string scope;  // dns::fingerprint(config.resolver): the cache entries it may use

    // The resolver starts on first use, in the process that uses it.
    std::atomic<ResolverState*> state{nullptr};

    ~danesmtp_ctx() {
        ResolverState* s = state.load();
        if (s && s->pid == getpid()) delete s;
    }
};

struct danesmtp_tlsa {
    std::vector<danesmtp::core::TlsaRecord> records;
    std::vector<std::string> reasons;  // "" when usable; parallel to records
};

struct danesmtp_host {
    const danesmtp::core::HostPlan* host = nullptr;
    danesmtp_tlsa tlsa;
    std::vector<const char*> names;  // into host->names
};

struct danesmtp_plan {
    danesmtp::core::Plan plan;
    std::vector<danesmtp_host> hosts;
};

struct danesmtp_chain {
    danesmtp::tls::Chain chain;
};

struct danesmtp_result {
    danesmtp::core::Verdict verdict;
};

struct danesmtp_report {
    danesmtp::core::CheckFacts facts;
    std::vector<danesmtp::core::Finding> findings;
    std::mutex mu;               // guards rendered
    std::string rendered[3][4];  // [format][flags & 3], made on first use
    int nagios = 3;
};

struct danesmtp_rollover {
    danesmtp::core::RolloverFacts facts;
    danesmtp::core::RolloverOutcome outcome;
    std::mutex mu;               // guards rendered
    std::string rendered[3];     // made on first use
};

namespace {

using danesmtp::Error;
using danesmtp::ErrorCode;

thread_local std::string t_last_error;

void set_last_error(const char* msg) noexcept {
    try {
        t_last_error = msg;
    } catch (...) {
        t_last_error.clear();  // cannot allocate: leave it empty rather than fail
    }
}

int status_of(ErrorCode c) {
    switch (c) {
        case ErrorCode::invalid_argument: return DANESMTP_E_INVALID;
        case ErrorCode::parse: return DANESMTP_E_PARSE;
        case ErrorCode::limit: return DANESMTP_E_LIMIT;
        case ErrorCode::unsupported: return DANESMTP_E_UNSUPPORTED;
        case ErrorCode::internal: return DANESMTP_E_INTERNAL;
    }
    return DANESMTP_E_INTERNAL;
}

// guard - the one place where exceptions stop. Every extern "C" function
// that can fail is `return guard([&] { ... });`.
template <class F>
int guard(F&& body) noexcept {
    try {
        body();
        return DANESMTP_OK;
    } catch (const Error& e) {
        set_last_error(e.what());
        return status_of(e.code());
    } catch (const std::bad_alloc&) {
        set_last_error("out of memory");
        return DANESMTP_E_NOMEM;
    } catch (const std::exception& e) {
        set_last_error(e.what());
        return DANESMTP_E_INTERNAL;
    } catch (...) {
        set_last_error("unknown internal error");
        return DANESMTP_E_INTERNAL;
    }
}

void require(bool ok, const char* what) {
    if (!ok) throw Error(ErrorCode::invalid_argument, what);
}

void fill(const danesmtp::core::TlsaRecord& r, const std::string& reason,
          danesmtp_tlsa_record* out) {
    out->usage = r.usage;
    out->selector = r.selector;
    out->mtype = r.mtype;
    out->data = r.data.data();
    out->data_len = r.data.size();
    out->unusable_reason = reason.empty() ? nullptr : reason.c_str();
}

void add_record(danesmtp_tlsa* set, danesmtp::core::TlsaRecord r) {
    if (set->records.size() >= danesmtp::core::kMaxRecordsPerSet)
        throw Error(ErrorCode::limit, "more than 256 records in one TLSA set");
    auto why = danesmtp::core::unusable_reason(r);
    set->reasons.push_back(why ? *why : std::string());
    try {
        set->records.push_back(std::move(r));
    } catch (...) {
        set->reasons.pop_back();
        throw;
    }
}

// read_config_file - the text of a regular file, read up to one byte past
// the configuration limit (apply_config_text then refuses it as too long).
// A directory, FIFO or device is refused before anything is read: opened
// without blocking, so that a FIFO is not waited on, and checked again on the
// open descriptor.
std::string read_config_file(const char* path) {
    auto fail = [path](const std::string& why) {
        throw Error(ErrorCode::invalid_argument, std::string("cannot read ") + path + ": " + why);
    };
    struct stat st;
    if (stat(path, &st) != 0) fail(std::strerror(errno));
    if (!S_ISREG(st.st_mode)) fail("not a regular file");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) fail(std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() { close(fd); }
    } closer{fd};
    if (fstat(fd, &st) != 0) fail(std::strerror(errno));
    if (!S_ISREG(st.st_mode)) fail("not a regular file");
    std::string text(danesmtp::core::kMaxConfigBytes + 1, '\0');
    std::size_t got = 0;
    while (got < text.size()) {
        ssize_t n = read(fd, &text[got], text.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail(std::strerror(errno));
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    text.resize(got);
    return text;
}

// Back-off between attempts to start a resolver that failed (no DNS, a
// resolver that strips DNSSEC): 1 s, doubling up to 60 s, so that a
// long-lived MTA recovers when DNS comes back without hammering it
// meanwhile (issue 7 item 8). Lookups in between defer at once.
std::chrono::milliseconds retry_delay(unsigned failures) {
    unsigned shift = failures > 7 ? 6 : failures - 1;
    return std::chrono::milliseconds(std::min<unsigned>(60000, 1000u << shift));
}

// resolver_of - the context's resolver for this process, started on first
// use and checked (DNSSEC must validate). nullptr with *why set when it
// cannot be used now.
ResolverState* state_of(danesmtp_ctx* ctx) {
    pid_t pid = getpid();
    ResolverState* s = ctx->state.load();
    if (!s || s->pid != pid) {
        auto fresh = std::make_unique<ResolverState>(pid);
        // The parent's state (if any) is leaked on purpose: see ResolverState.
        if (ctx->state.compare_exchange_strong(s, fresh.get()))
            s = fresh.release();
        // else: another thread of this process installed one; s holds it.
    }
    return s;
}

// cache_of - this process's answer cache, opened on first use; nullptr
// (with the reason in *why) when off or unusable. Lookups then go to the
// resolver alone: a cache problem never makes a lookup fail.
danesmtp::dns::AnswerCache* cache_of(danesmtp_ctx* ctx, std::string* why) {
    ResolverState* s = state_of(ctx);
    std::lock_guard<std::mutex> lock(s->mu);
    if (!s->cache_opened) {
        s->cache_opened = true;
        try {
            s->cache = danesmtp::dns::AnswerCache::open(ctx->config.cache, &s->cache_why);
        } catch (const std::exception& e) {
            s->cache_why = e.what();
        }
    }
    if (s->cache && !s->cache->broken().empty()) *why = s->cache->broken();
    else if (!s->cache) *why = s->cache_why;
    return s->cache.get();
}

std::shared_ptr<danesmtp::dns::UnboundResolver> resolver_of(danesmtp_ctx* ctx, std::string* why) {
    ResolverState* s = state_of(ctx);
    std::unique_lock<std::mutex> lock(s->mu);
    for (;;) {
        if (s->resolver) return s->resolver;
        if (s->starting) {
            s->cv.wait(lock);
            continue;
        }
        if (s->failures && std::chrono::steady_clock::now() < s->retry_at) {
            *why = s->error;
            return nullptr;
        }
        s->starting = true;
        lock.unlock();
        std::shared_ptr<danesmtp::dns::UnboundResolver> r;
        std::string err;
        try {
            r = std::make_shared<danesmtp::dns::UnboundResolver>(ctx->config.resolver);
            err = r->self_test();
        } catch (const Error& e) {
            err = e.what();
        } catch (const std::bad_alloc&) {
            err = "out of memory";
        } catch (...) {
            err = "internal error while starting the resolver";
        }
        // A failed resolver is destroyed here, without the lock: stopping its
        // resolver process may take a while.
        if (!err.empty()) r.reset();
        lock.lock();
        s->starting = false;
        s->cv.notify_all();
        if (err.empty()) {
            s->resolver = std::move(r);
            s->failures = 0;
            s->error.clear();
            return s->resolver;
        }
        ++s->failures;
        s->error = err;
        s->retry_at = std::chrono::steady_clock::now() + retry_delay(s->failures);
        *why = err;
        return nullptr;
    }
}

danesmtp_plan* make_plan(danesmtp::core::Plan p) {
    auto out = std::make_unique<danesmtp_plan>();
    out->plan = std::move(p);
    out->hosts.resize(out->plan.hosts.size());
    for (std::size_t i = 0; i < out->plan.hosts.size(); ++i) {
        danesmtp_host& h = out->hosts[i];
        h.host = &out->plan.hosts[i];
        for (const auto& r : h.host->records) add_record(&h.tlsa, r);
        for (const auto& n : h.host->names) h.names.push_back(n.c_str());
        h.names.push_back(nullptr);
    }
    return out.release();
}

// ContextResolver - where a call's answers come from: the shared cache when
// it holds them, else this process's resolver, started (and self-tested)
// only then: a delivery process whose answers are all cached forks no
// resolver. One per call; not copied or moved (the callback points at it).
class ContextResolver {
public:
    explicit ContextResolver(danesmtp_ctx* ctx)
        : ctx_(ctx),
          caching_(cache_of(ctx, &cache_why_), ctx->scope, [this](std::string* why) -> danesmtp::core::Resolver* {
              if (!resolver_) resolver_ = resolver_of(ctx_, why);
              return resolver_.get();
          }) {}
    ContextResolver(const ContextResolver&) = delete;
    ContextResolver& operator=(const ContextResolver&) = delete;
    danesmtp::core::Resolver& get() { return caching_; }

private:
    danesmtp_ctx* ctx_;
    std::string cache_why_;
    std::shared_ptr<danesmtp::dns::UnboundResolver> resolver_;
    danesmtp::dns::CachingResolver caching_;
};

int lookup(danesmtp_ctx* ctx, const char* name, unsigned int port, danesmtp_plan** out,
           bool domain) {
    if (out) *out = nullptr;
    return guard([&] {
        require(ctx && name && out, "lookup: NULL argument");
        require(port > 0 && port <= 65535, "lookup: port must be 1-65535");
        std::string normalized = danesmtp::core::normalize_name(name);
        ContextResolver r(ctx);
        danesmtp::core::Plan p;
        if (domain) {
            p = danesmtp::core::plan_domain(r.get(), normalized, static_cast<std::uint16_t>(port), ctx->config.policy);
        } else {
            p = danesmtp::core::plan_host(r.get(), normalized, static_cast<std::uint16_t>(port), ctx->config.policy);
        }
        *out = make_plan(std::move(p));
    });
}

}  // namespace

extern "C" {

const char* danesmtp_version(void) { return DANESMTP_VERSION_STRING; }

unsigned long danesmtp_version_number(void) {
    return (DANESMTP_VERSION_MAJOR << 16) | (DANESMTP_VERSION_MINOR << 8) | DANESMTP_VERSION_PATCH;
}

const char* danesmtp_strerror(int status) {
    switch (status) {
        case DANESMTP_OK: return "success";
        case DANESMTP_E_INVALID: return "invalid argument";
        case DANESMTP_E_NOMEM: return "out of memory";
        case DANESMTP_E_PARSE: return "malformed input";
        case DANESMTP_E_LIMIT: return "input exceeds a limit";
        case DANESMTP_E_UNSUPPORTED: return "unsupported input";
        case DANESMTP_E_VERSION: return "unknown options version";
        case DANESMTP_E_INTERNAL: return "internal error";
        case DANESMTP_E_RESOLVER: return "resolver cannot validate DNSSEC";
        default: return "unknown status code";
    }
}

const char* danesmtp_last_error(void) { return t_last_error.c_str(); }

void danesmtp_free(void* p) { std::free(p); }

int danesmtp_name_normalize(const char* name, char* out, size_t outlen) {
    return guard([&] {
        require(name != nullptr && out != nullptr, "danesmtp_name_normalize: NULL argument");
        std::string n = danesmtp::core::normalize_name(name);
        require(n.size() < outlen, "danesmtp_name_normalize: output buffer too small");
        std::memcpy(out, n.c_str(), n.size() + 1);
    });
}

int danesmtp_options_init(danesmtp_options* opts, unsigned int version) {
    if (!opts) {
        set_last_error("danesmtp_options_init: opts is NULL");
        return DANESMTP_E_INVALID;
    }
    if (version == 0 || version > DANESMTP_OPTIONS_VERSION) {
        set_last_error("danesmtp_options_init: unknown options version");
        return DANESMTP_E_VERSION;
    }
    danesmtp_options defaults = DANESMTP_OPTIONS_INIT;
    defaults.version = version;
    *opts = defaults;
    return DANESMTP_OK;
}

int danesmtp_ctx_new(danesmtp_ctx** out, const danesmtp_options* opts) {
    if (out) *out = nullptr;
    if (opts && opts->version > DANESMTP_OPTIONS_VERSION) {
        set_last_error("danesmtp_ctx_new: options version newer than this library");
        return DANESMTP_E_VERSION;
    }
    return guard([&] {
        require(out != nullptr, "danesmtp_ctx_new: out is NULL");
        require(!opts || opts->version != 0, "danesmtp_ctx_new: options version is 0");
        auto ctx = std::make_unique<danesmtp_ctx>();
        if (opts) {  // version 1 fields
            if (opts->config_file)
                danesmtp::core::apply_config_text(read_config_file(opts->config_file),
                                                  opts->config_file, &ctx->config);
            if (opts->config_text)
                danesmtp::core::apply_config_text(opts->config_text, "config_text", &ctx->config);
            switch (opts->digest_preference) {
                case DANESMTP_DIGESTS_SHA512_FIRST:
                    ctx->digests = danesmtp::core::DigestPreference::sha512_first;
                    break;
                case DANESMTP_DIGESTS_SHA256_FIRST:
                    ctx->digests = danesmtp::core::DigestPreference::sha256_first;
                    break;
                default:
                    throw Error(ErrorCode::invalid_argument, "unknown digest_preference " +
                                                                 std::to_string(opts->digest_preference));
            }
        }
        if (ctx->config.digests_set)
            ctx->digests = ctx->config.digests;  // the configuration has the last word
        ctx->scope = danesmtp::dns::fingerprint(ctx->config.resolver);
        *out = ctx.release();
    });
}

void danesmtp_ctx_free(danesmtp_ctx* ctx) { delete ctx; }

int danesmtp_tlsa_new(danesmtp_tlsa** out) {
    if (out) *out = nullptr;
    return guard([&] {
        require(out != nullptr, "danesmtp_tlsa_new: out is NULL");
        *out = new danesmtp_tlsa();
    });
}

void danesmtp_tlsa_free(danesmtp_tlsa* set) { delete set; }

int danesmtp_tlsa_add(danesmtp_tlsa* set, uint8_t usage, uint8_t selector, uint8_t mtype,
                      const unsigned char* data, size_t len) {
    return guard([&] {
        require(set != nullptr, "danesmtp_tlsa_add: set is NULL");
        require(data != nullptr || len == 0, "danesmtp_tlsa_add: data is NULL");
        if (len > danesmtp::core::kMaxRdata - 3)
            throw Error(ErrorCode::limit, "certificate association data longer than DNS allows");
        danesmtp::core::TlsaRecord r;
        r.usage = usage;
        r.selector = selector;
        r.mtype = mtype;
        if (len) r.data.assign(data, data + len);
        add_record(set, std::move(r));
    });
}

int danesmtp_tlsa_add_text(danesmtp_tlsa* set, const char* text) {
    return guard([&] {
        require(set != nullptr, "danesmtp_tlsa_add_text: set is NULL");
        require(text != nullptr, "danesmtp_tlsa_add_text: text is NULL");
        add_record(set, danesmtp::core::parse_tlsa_text(text));
    });
}

int danesmtp_tlsa_add_rdata(danesmtp_tlsa* set, const unsigned char* rdata, size_t len) {
    return guard([&] {
        require(set != nullptr, "danesmtp_tlsa_add_rdata: set is NULL");
        require(rdata != nullptr, "danesmtp_tlsa_add_rdata: rdata is NULL");
        add_record(set, danesmtp::core::parse_tlsa_rdata(rdata, len));
    });
}

size_t danesmtp_tlsa_count(const danesmtp_tlsa* set) { return set ? set->records.size() : 0; }

int danesmtp_tlsa_get(const danesmtp_tlsa* set, size_t index, danesmtp_tlsa_record* out) {
    return guard([&] {
        require(set != nullptr && out != nullptr, "danesmtp_tlsa_get: NULL argument");
        require(index < set->records.size(), "danesmtp_tlsa_get: index out of range");
        fill(set->records[index], set->reasons[index], out);
    });
}

int danesmtp_chain_new(danesmtp_chain** out) {
    if (out) *out = nullptr;
    return guard([&] {
        require(out != nullptr, "danesmtp_chain_new: out is NULL");
        *out = new danesmtp_chain();
    });
}

void danesmtp_chain_free(danesmtp_chain* chain) { delete chain; }

int danesmtp_chain_add_der(danesmtp_chain* chain, const unsigned char* der, size_t len) {
    return guard([&] {
        require(chain != nullptr, "danesmtp_chain_add_der: chain is NULL");
        require(der != nullptr, "danesmtp_chain_add_der: der is NULL");
        chain->chain.add_der(der, len);
    });
}

int danesmtp_chain_add_pem(danesmtp_chain* chain, const char* pem, size_t len) {
    return guard([&] {
        require(chain != nullptr, "danesmtp_chain_add_pem: chain is NULL");
        require(pem != nullptr, "danesmtp_chain_add_pem: pem is NULL");
        // All or nothing: parse into a scratch chain, then append.
        danesmtp::tls::Chain scratch;
        scratch.add_pem(std::string_view(pem, len));
        if (chain->chain.size() + scratch.size() > danesmtp::tls::kMaxChainLength)
            throw Error(ErrorCode::limit, "chain longer than 32 certificates");
        for (const auto& c : scratch.certs()) chain->chain.add_der(c.der().data(), c.der().size());
    });
}

int danesmtp_chain_clear(danesmtp_chain* chain) {
    return guard([&] {
        require(chain != nullptr, "danesmtp_chain_clear: chain is NULL");
        chain->chain.clear();
    });
}

size_t danesmtp_chain_count(const danesmtp_chain* chain) {
    return chain ? chain->chain.size() : 0;
}

int danesmtp_verify(const danesmtp_ctx* ctx, const danesmtp_tlsa* tlsa, danesmtp_chain* chain,
                    const char* const* names, size_t name_count, int64_t time,
                    danesmtp_result** out) {
    if (out) *out = nullptr;
    return guard([&] {
        require(ctx && tlsa && chain && out, "danesmtp_verify: NULL argument");
        require(names != nullptr || name_count == 0, "danesmtp_verify: names is NULL");
        require(!chain->chain.empty(), "danesmtp_verify: the chain is empty");
        if (name_count > DANESMTP_MAX_NAMES)
            throw Error(ErrorCode::limit, "more than 16 reference identifiers");
        danesmtp::tls::VerifyRequest req;
        for (size_t i = 0; i < name_count; ++i) {
            require(names[i] != nullptr, "danesmtp_verify: a name is NULL");
            req.names.push_back(danesmtp::core::normalize_name(names[i]));
        }
        req.records = &tlsa->records;
        req.chain = &chain->chain;
        req.time = time == DANESMTP_TIME_NOW ? static_cast<int64_t>(std::time(nullptr)) : time;
        req.digests = ctx->digests;
        auto res = std::make_unique<danesmtp_result>();
        res->verdict = danesmtp::tls::verify(req);
        *out = res.release();
    });
}

void danesmtp_result_free(danesmtp_result* res) { delete res; }

const char* danesmtp_verdict_name(int verdict) {
    switch (verdict) {
        case DANESMTP_AUTHENTICATED: return "authenticated";
        case DANESMTP_NOT_AUTHENTICATED: return "not authenticated";
        case DANESMTP_NO_USABLE_RECORDS: return "no usable records";
        default: return "invalid";
    }
}

int danesmtp_result_verdict(const danesmtp_result* res) {
    if (!res) return 0;
    switch (res->verdict.outcome) {
        case danesmtp::core::Outcome::authenticated: return DANESMTP_AUTHENTICATED;
        case danesmtp::core::Outcome::not_authenticated: return DANESMTP_NOT_AUTHENTICATED;
        case danesmtp::core::Outcome::no_usable_records: return DANESMTP_NO_USABLE_RECORDS;
    }
    return 0;
}

const char* danesmtp_result_reason(const danesmtp_result* res) {
    return res ? res->verdict.reason.c_str() : "no result";
}

int danesmtp_result_depth(const danesmtp_result* res) {
    return res && res->verdict.outcome == danesmtp::core::Outcome::authenticated ? res->verdict.depth
                                                                                 : -1;
}

const char* danesmtp_result_name(const danesmtp_result* res) {
    return res && !res->verdict.name.empty() ? res->verdict.name.c_str() : nullptr;
}

const char* danesmtp_result_presented_name(const danesmtp_result* res) {
    return res && !res->verdict.presented.empty() ? res->verdict.presented.c_str() : nullptr;
}

int danesmtp_result_record(const danesmtp_result* res, danesmtp_tlsa_record* out) {
    return guard([&] {
        require(res && out, "danesmtp_result_record: NULL argument");
        require(res->verdict.outcome == danesmtp::core::Outcome::authenticated,
                "danesmtp_result_record: the result is not authenticated");
        static const std::string usable;
        fill(res->verdict.record, usable, out);
    });
}

int danesmtp_lookup_domain(danesmtp_ctx* ctx, const char* domain, unsigned int port,
                           danesmtp_plan** out) {
    return lookup(ctx, domain, port, out, true);
}

int danesmtp_lookup_host(danesmtp_ctx* ctx, const char* host, unsigned int port,
                         danesmtp_plan** out) {
    return lookup(ctx, host, port, out, false);
}

int danesmtp_selftest(danesmtp_ctx* ctx) {
    std::string why;
    int rc = guard([&] {
        require(ctx != nullptr, "danesmtp_selftest: ctx is NULL");
        resolver_of(ctx, &why);
    });
    if (rc != DANESMTP_OK) return rc;
    if (!why.empty()) {
        set_last_error(why.c_str());
        return DANESMTP_E_RESOLVER;
    }
    return DANESMTP_OK;
}

int danesmtp_cache_status(danesmtp_ctx* ctx) {
    std::string why;
    int in_use = 0;
    int rc = guard([&] {
        require(ctx != nullptr, "danesmtp_cache_status: ctx is NULL");
        in_use = cache_of(ctx, &why) && why.empty();
    });
    if (rc != DANESMTP_OK) return rc;
    if (in_use) {
        set_last_error(ctx->config.cache.path.c_str());
        return DANESMTP_CACHE_IN_USE;
    }
    set_last_error(why.c_str());
    return ctx->config.cache.path.empty() ? DANESMTP_CACHE_OFF : DANESMTP_CACHE_UNUSABLE;
}

void danesmtp_plan_free(danesmtp_plan* plan) { delete plan; }

int danesmtp_plan_status(const danesmtp_plan* plan) {
    if (!plan) return DANESMTP_DOMAIN_DEFER;
    switch (plan->plan.status) {
        case danesmtp::core::DomainStatus::ok: return DANESMTP_DOMAIN_OK;
        case danesmtp::core::DomainStatus::defer: return DANESMTP_DOMAIN_DEFER;
        case danesmtp::core::DomainStatus::null_mx: return DANESMTP_DOMAIN_NULL_MX;
        case danesmtp::core::DomainStatus::nxdomain: return DANESMTP_DOMAIN_NXDOMAIN;
    }
    return DANESMTP_DOMAIN_DEFER;
}

const char* danesmtp_plan_reason(const danesmtp_plan* plan) {
    return plan ? plan->plan.reason.c_str() : "no plan";
}

const char* danesmtp_plan_domain(const danesmtp_plan* plan) {
    return plan ? plan->plan.domain.c_str() : "";
}

int danesmtp_plan_mx_secure(const danesmtp_plan* plan) {
    return plan && plan->plan.mx_security == danesmtp::core::DnsSecurity::secure;
}

int danesmtp_plan_implicit_mx(const danesmtp_plan* plan) { return plan && plan->plan.implicit_mx; }

int danesmtp_plan_audit_only(const danesmtp_plan* plan) { return plan && plan->plan.audit_only; }

size_t danesmtp_plan_host_count(const danesmtp_plan* plan) { return plan ? plan->hosts.size() : 0; }

const danesmtp_host* danesmtp_plan_host(const danesmtp_plan* plan, size_t index) {
    return plan && index < plan->hosts.size() ? &plan->hosts[index] : nullptr;
}

const char* danesmtp_host_name(const danesmtp_host* h) { return h ? h->host->name.c_str() : ""; }

unsigned int danesmtp_host_preference(const danesmtp_host* h) { return h ? h->host->preference : 0; }

int danesmtp_host_verdict(const danesmtp_host* h) {
    if (!h) return DANESMTP_HOST_UNREACHABLE;
    switch (h->host->verdict) {
        case danesmtp::core::HostVerdict::dane: return DANESMTP_HOST_DANE;
        case danesmtp::core::HostVerdict::encrypt: return DANESMTP_HOST_ENCRYPT;
        case danesmtp::core::HostVerdict::may: return DANESMTP_HOST_MAY;
        case danesmtp::core::HostVerdict::unreachable: return DANESMTP_HOST_UNREACHABLE;
    }
    return DANESMTP_HOST_UNREACHABLE;
}

const char* danesmtp_host_reason(const danesmtp_host* h) { return h ? h->host->reason.c_str() : ""; }
const char* danesmtp_host_tlsa_base(const danesmtp_host* h) { return h ? h->host->tlsa_base.c_str() : ""; }
const char* danesmtp_host_sni(const danesmtp_host* h) { return h ? h->host->sni.c_str() : ""; }
int danesmtp_host_verified_possible(const danesmtp_host* h) { return h && h->host->verified_possible; }
size_t danesmtp_host_address_count(const danesmtp_host* h) { return h ? h->host->addresses.size() : 0; }

const char* danesmtp_host_address(const danesmtp_host* h, size_t index) {
    return h && index < h->host->addresses.size() ? h->host->addresses[index].c_str() : nullptr;
}

size_t danesmtp_host_name_count(const danesmtp_host* h) { return h ? h->host->names.size() : 0; }

const char* const* danesmtp_host_names(const danesmtp_host* h) { return h ? h->names.data() : nullptr; }

const danesmtp_tlsa* danesmtp_host_tlsa(const danesmtp_host* h) { return h ? &h->tlsa : nullptr; }

const char* danesmtp_domain_status_name(int status) {
    switch (status) {
        case DANESMTP_DOMAIN_OK: return "ok";
        case DANESMTP_DOMAIN_DEFER: return "defer";
        case DANESMTP_DOMAIN_NULL_MX: return "null MX";
        case DANESMTP_DOMAIN_NXDOMAIN: return "no such domain";
        default: return "invalid";
    }
}

const char* danesmtp_host_verdict_name(int verdict) {
    switch (verdict) {
        case DANESMTP_HOST_DANE: return "dane";
        case DANESMTP_HOST_ENCRYPT: return "encrypt";
        case DANESMTP_HOST_MAY: return "may";
        case DANESMTP_HOST_UNREACHABLE: return "unreachable";
        default: return "invalid";
    }
}

int danesmtp_tlsa_make(const unsigned char* input, size_t len, uint8_t usage, uint8_t selector,
                       uint8_t mtype, int depth, char** text) {
    if (text) *text = nullptr;
    return guard([&] {
        require(input != nullptr && text != nullptr, "danesmtp_tlsa_make: NULL argument");
        std::string s = danesmtp::tls::make_tlsa(input, len, usage, selector, mtype, depth);
        char* p = static_cast<char*>(std::malloc(s.size() + 1));
        if (!p) throw std::bad_alloc();
        std::memcpy(p, s.c_str(), s.size() + 1);
        *text = p;
    });
}

int danesmtp_check(danesmtp_ctx* ctx, const char* name, const danesmtp_check_options* options,
                   danesmtp_report** out) {
    if (out) *out = nullptr;
    return guard([&] {
        require(ctx && name && out, "danesmtp_check: NULL argument");
        danesmtp_check_options defaults = DANESMTP_CHECK_OPTIONS_INIT;
        const danesmtp_check_options* o = options ? options : &defaults;
        if (o->version != DANESMTP_CHECK_OPTIONS_VERSION)
            throw Error(ErrorCode::invalid_argument, "danesmtp_check: unknown options version");
        require(o->port <= 65535, "danesmtp_check: port must be 1-65535");
        require(o->warn_days <= 3650, "danesmtp_check: warn_days must be at most 3650");
        require(o->timeout_ms <= 600000, "danesmtp_check: timeout_ms must be at most 600000");
        danesmtp::check::GatherOptions g;
        g.port = static_cast<std::uint16_t>(o->port ? o->port : 25);
        g.single_host = (o->flags & DANESMTP_CHECK_HOST) != 0;
        g.probe = (o->flags & DANESMTP_CHECK_NO_PROBE) == 0;
        if (o->helo && *o->helo) g.helo = o->helo;
        require(g.helo.size() <= 255 && g.helo.find_first_of("\r\n ") == std::string::npos,
                "danesmtp_check: helo must be one word of at most 255 characters");
        g.timeout_ms = o->timeout_ms ? o->timeout_ms : 10000;
        g.warn_days = o->warn_days ? o->warn_days : 7;
        require(o->time == DANESMTP_TIME_NOW || (o->time >= 0 && o->time <= 253402300799),
                "danesmtp_check: time must be DANESMTP_TIME_NOW or Unix seconds up to the year 9999");
        g.now = o->time == DANESMTP_TIME_NOW ? static_cast<std::int64_t>(std::time(nullptr)) : o->time;
        g.digests = ctx->digests;
        g.deadline_ms = o->deadline_ms;
        g.stubs = ctx->config.resolver.stubs;
        std::string normalized = danesmtp::core::normalize_name(name);
        ContextResolver r(ctx);
        auto rep = std::make_unique<danesmtp_report>();
        rep->facts = danesmtp::check::gather(r.get(), normalized, ctx->config.policy, g);
        rep->findings = danesmtp::core::diagnose(rep->facts);
        danesmtp::core::render_nagios(rep->facts, rep->findings, &rep->nagios);
        *out = rep.release();
    });
}

void danesmtp_report_free(danesmtp_report* report) { delete report; }

const char* danesmtp_report_render(danesmtp_report* report, int format, unsigned int flags) {
    if (!report || format < 0 || format > 2) return nullptr;
    const char* result = nullptr;
    int rc = guard([&] {
        std::lock_guard<std::mutex> lock(report->mu);
        std::string& slot = report->rendered[format][flags & 3u];
        if (slot.empty()) {
            danesmtp::core::RenderOptions ro;
            ro.colour = (flags & DANESMTP_REPORT_COLOUR) != 0;
            ro.details = (flags & DANESMTP_REPORT_BRIEF) == 0;
            int st = 0;
            if (format == DANESMTP_REPORT_TEXT) slot = danesmtp::core::render_text(report->facts, report->findings, ro);
            else if (format == DANESMTP_REPORT_JSON) slot = danesmtp::core::render_json(report->facts, report->findings);
            else slot = danesmtp::core::render_nagios(report->facts, report->findings, &st);
        }
        result = slot.c_str();
    });
    return rc == DANESMTP_OK ? result : nullptr;
}

int danesmtp_report_status(const danesmtp_report* report) {
    if (!report) return DANESMTP_E_INVALID;
    return danesmtp::core::check_exit_status(report->facts, report->findings);
}

int danesmtp_report_nagios(const danesmtp_report* report) { return report ? report->nagios : 3; }

size_t danesmtp_report_finding_count(const danesmtp_report* report) {
    return report ? report->findings.size() : 0;
}

const char* danesmtp_report_finding_code(const danesmtp_report* report, size_t index) {
    if (!report || index >= report->findings.size()) return nullptr;
    return danesmtp::core::finding_code(report->findings[index].code);
}

int danesmtp_report_finding_severity(const danesmtp_report* report, size_t index) {
    if (!report || index >= report->findings.size()) return -1;
    return static_cast<int>(danesmtp::core::finding_severity(report->findings[index].code));
}

const char* danesmtp_report_finding_host(const danesmtp_report* report, size_t index) {
    if (!report || index >= report->findings.size()) return nullptr;
    return report->findings[index].host.c_str();
}

int danesmtp_rollover_run(danesmtp_ctx* ctx, const char* host, const danesmtp_rollover_options* options,
                          danesmtp_rollover** out) {
    if (out) *out = nullptr;
    return guard([&] {
        require(ctx && host && options && out, "danesmtp_rollover_run: NULL argument");
        const danesmtp_rollover_options* o = options;
        if (o->version != DANESMTP_ROLLOVER_OPTIONS_VERSION)
            throw Error(ErrorCode::invalid_argument, "danesmtp_rollover_run: unknown options version");
        require(o->action >= DANESMTP_ROLLOVER_PLAN && o->action <= DANESMTP_ROLLOVER_REMOVE,
                "danesmtp_rollover_run: unknown action");
        require(o->port <= 65535, "danesmtp_rollover_run: port must be 1-65535");
        require(o->timeout_ms <= 600000, "danesmtp_rollover_run: timeout_ms must be at most 600000");
        require(o->ttl <= 2147483647u, "danesmtp_rollover_run: ttl must be at most 2147483647");
        require(o->time == DANESMTP_TIME_NOW || (o->time >= 0 && o->time <= 253402300799),
                "danesmtp_rollover_run: time must be DANESMTP_TIME_NOW or Unix seconds up to the year 9999");
        constexpr std::size_t kMaxFile = 1u << 20;
        require((o->current || !o->current_len) && (o->next || !o->next_len), "danesmtp_rollover_run: NULL file with a length");
        require(o->current_len <= kMaxFile && o->next_len <= kMaxFile, "danesmtp_rollover_run: a file over 1 MiB");
        using danesmtp::core::RolloverAction;
        danesmtp::check::RolloverOptions r;
        r.action = static_cast<RolloverAction>(o->action);
        bool needs_current = r.action == RolloverAction::plan || r.action == RolloverAction::remove;
        bool needs_next = r.action != RolloverAction::remove;
        require(!needs_current || o->current_len, "danesmtp_rollover_run: this action needs CURRENT");
        require(!needs_next || o->next_len, "danesmtp_rollover_run: this action needs NEXT");
        bool publish = r.action == RolloverAction::add || r.action == RolloverAction::remove;
        require(!publish || (o->flags & DANESMTP_ROLLOVER_DRY_RUN) || (o->tsig_key && *o->tsig_key),
                "danesmtp_rollover_run: an update needs a TSIG key (or DANESMTP_ROLLOVER_DRY_RUN)");
        r.port = static_cast<std::uint16_t>(o->port ? o->port : 25);
        if (o->current_len) r.current.assign(reinterpret_cast<const char*>(o->current), o->current_len);
        if (o->next_len) r.next.assign(reinterpret_cast<const char*>(o->next), o->next_len);
        r.current_name = o->current_name ? o->current_name : "CURRENT";
        r.next_name = o->next_name ? o->next_name : "NEXT";
        if (o->state_file) r.state_file = o->state_file;
        r.probe = (o->flags & DANESMTP_ROLLOVER_NO_PROBE) == 0;
        r.dry_run = (o->flags & DANESMTP_ROLLOVER_DRY_RUN) != 0;
        if (o->server) r.server = o->server;
        if (o->tsig_key) r.tsig = o->tsig_key;
        r.ttl = o->ttl;
        r.timeout_ms = o->timeout_ms ? o->timeout_ms : 10000;
        r.now = o->time == DANESMTP_TIME_NOW ? static_cast<std::int64_t>(std::time(nullptr)) : o->time;
        r.digests = ctx->digests;
        r.stubs = ctx->config.resolver.stubs;
        std::string normalized = danesmtp::core::normalize_name(host);
        ContextResolver resolver(ctx);
        auto res = std::make_unique<danesmtp_rollover>();
        res->facts = danesmtp::check::rollover(resolver.get(), normalized, r);
        res->outcome = danesmtp::core::rollover_evaluate(res->facts);
        *out = res.release();
    });
}

void danesmtp_rollover_free(danesmtp_rollover* result) { delete result; }

const char* danesmtp_rollover_render(danesmtp_rollover* result, int format) {
    if (!result || format < 0 || format > 2) return nullptr;
    const char* text = nullptr;
    int rc = guard([&] {
        std::lock_guard<std::mutex> lock(result->mu);
        std::string& slot = result->rendered[format];
        if (slot.empty()) {
            if (format == DANESMTP_ROLLOVER_TEXT) slot = danesmtp::core::render_rollover_text(result->facts, result->outcome);
            else if (format == DANESMTP_ROLLOVER_JSON) slot = danesmtp::core::render_rollover_json(result->facts, result->outcome);
            else slot = danesmtp::core::render_nsupdate(result->facts, result->outcome);
        }
        text = slot.c_str();
    });
    return rc == DANESMTP_OK ? text : nullptr;
}

int danesmtp_rollover_status(const danesmtp_rollover* result) {
    return result ? result->outcome.status : DANESMTP_E_INVALID;
}

long long danesmtp_rollover_wait(const danesmtp_rollover* result) {
    return result ? static_cast<long long>(result->outcome.wait_left) : 0;
}

size_t danesmtp_rollover_finding_count(const danesmtp_rollover* result) {
    return result ? result->outcome.findings.size() : 0;
}

const char* danesmtp_rollover_finding_code(const danesmtp_rollover* result, size_t index) {
    if (!result || index >= result->outcome.findings.size()) return nullptr;
    return danesmtp::core::finding_code(result->outcome.findings[index].code);
}

}  // extern "C"
