// SPDX-License-Identifier: MIT
// bench.cpp - what verification costs against OpenSSL's own DANE API, what
// loading the library costs, and how much memory TLSA sets and chains hold.
//
//   make bench
//   (= DANESMTP_PKI=build/pki ./build/bench build/libdanesmtp.so.1)
//
// Prints figures only: nothing here asserts a time. Exits non-zero only when
// setup fails (a missing fixture, a library that does not load, a case that
// one side does not authenticate - timing a "no" would measure the wrong thing).
//
// 1. Verification. Every side starts from DER bytes as a TLS hook receives
//    them, so building our chain (C API danesmtp_chain_add_der, or
//    tls::Chain::add_der) is inside the timed loop, as d2i_X509 is inside the
//    oracle's. Per case the sides run alternately in 5 batches of ~0.1 s after
//    a ~0.1 s warm-up; the figure is the median of the 5 batch means.
// 2. Load. Forked children time dlopen + dlsym + the first context + the first
//    verification through the dlsym'd pointers, each a cold load in a fresh
//    process. One set is forked before this process makes any OpenSSL call,
//    one after the benchmarks (OpenSSL already initialised, as in an MTA that
//    has finished its handshake).
// 3. Memory. RSS (/proc/self/statm) and heap in use (mallinfo2) around the
//    creation of 1000 TLSA sets and 3-certificate chains.
#include <dlfcn.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "core/tlsa.hpp"
#include "core/verdict.hpp"
#include "danesmtp.h"
#include "oracle/openssl_dane.hpp"
#include "tls/chain.hpp"
#include "tls/verify.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kTime = 1800000000;  // 2027-01-15: inside the fixtures' normal validity
const char* const kName = "mx.example.net";
const char* const kNames[] = {kName};

constexpr double kWarmupSeconds = 0.1;
constexpr double kBatchSeconds = 0.1;
constexpr int kBatches = 5;
constexpr int kLoadChildren = 20;
constexpr int kMemoryObjects = 1000;

[[noreturn]] void die(const std::string& msg) {
    std::fflush(stdout);
    std::fprintf(stderr, "bench: setup failed: %s\n", msg.c_str());
    std::exit(1);
}

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

double us_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::micro>(b - a).count();
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

Bytes read_fixture(const std::string& dir, const std::string& file) {
    std::ifstream in(dir + "/" + file, std::ios::binary);
    if (!in) die("cannot read " + dir + "/" + file + " (run `make build/pki/.done`)");
    Bytes b{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (b.empty()) die(dir + "/" + file + " is empty");
    return b;
}

bool write_all(int fd, const void* data, std::size_t len) {
    const char* p = static_cast<const char*>(data);
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0) return false;
        p += n;
        len -= static_cast<std::size_t>(n);
    }
    return true;
}

bool read_all(int fd, void* data, std::size_t len) {
    char* p = static_cast<char*>(data);
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n <= 0) return false;
        p += n;
        len -= static_cast<std::size_t>(n);
    }
    return true;
}

// run_child - fork; the child runs `body`, which writes `size` bytes to the
// pipe, and leaves with _exit (no atexit handlers, no stdio flush). The
// parent reads them into `out`. False when the child failed.
bool run_child(const std::function<bool(int fd)>& body, void* out, std::size_t size) {
    int fds[2];
    if (pipe(fds) != 0) die("pipe failed");
    std::fflush(nullptr);
    pid_t pid = fork();
    if (pid < 0) die("fork failed");
    if (pid == 0) {
        close(fds[0]);
        bool ok = body(fds[1]);
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    bool got = read_all(fds[0], out, size);
    close(fds[0]);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return false;
    return got && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// sha256_in_child - SHA2-256 of `in`, computed in a child so that this
// process has made no OpenSSL call yet when the first set of load children is
// forked from it.
Bytes sha256_in_child(const Bytes& in) {
    Bytes out(32);
    bool ok = run_child(
        [&](int fd) {
            unsigned char md[EVP_MAX_MD_SIZE];
            unsigned int n = 0;
            if (!EVP_Digest(in.data(), in.size(), md, &n, EVP_sha256(), nullptr) || n != 32)
                return false;
            return write_all(fd, md, n);
        },
        out.data(), out.size());
    if (!ok) die("SHA2-256 in a child process failed");
    return out;
}

// ---- 1. verification ---------------------------------------------------

struct Timed {
    std::string label;
    std::function<bool()> once;  // one verification; true when authenticated
    long per_batch = 0;
    std::vector<double> batch_us;  // mean µs per call of each batch

    double med() const { return median(batch_us); }
    // spread - (slowest - fastest batch) / median, in percent.
    double spread() const {
        auto mm = std::minmax_element(batch_us.begin(), batch_us.end());
        return 100.0 * (*mm.second - *mm.first) / med();
    }
};

// measure - warm each up and size its batches, then run the batches of the
// group in turn, so slow drift of the machine hits every side alike.
void measure(const std::vector<Timed*>& group) {
    for (Timed* t : group) {
        long calls = 0;
        Clock::time_point t0 = Clock::now();
        do {
            if (!t->once()) die(t->label + ": not authenticated during warm-up");
            ++calls;
        } while (seconds_since(t0) < kWarmupSeconds);
        double per_call = seconds_since(t0) / static_cast<double>(calls);
        t->per_batch = std::max(1L, static_cast<long>(kBatchSeconds / per_call));
    }
    for (int b = 0; b < kBatches; ++b) {
        for (Timed* t : group) {
            long good = 0;
            Clock::time_point t0 = Clock::now();
            for (long i = 0; i < t->per_batch; ++i) good += t->once() ? 1 : 0;
            double s = seconds_since(t0);
            if (good != t->per_batch) die(t->label + ": a timed call was not authenticated");
            t->batch_us.push_back(s * 1e6 / static_cast<double>(t->per_batch));
        }
    }
}

// One case: a chain as DER, one TLSA record, and the three ways to verify it.
struct Case {
    std::string label;
    std::vector<Bytes> chain;  // DER, leaf first, as the peer sent it
    danesmtp::core::TlsaRecord record;

    // C API: the set and the chain object are made once; the loop clears and
    // refills the chain, as a host reusing one chain per connection would.
    danesmtp_tlsa* set = nullptr;
    danesmtp_chain* capi_chain = nullptr;
    // C++: the request is made once, the chain refilled per call.
    std::vector<danesmtp::core::TlsaRecord> records;
    danesmtp::tls::Chain cxx_chain;
    danesmtp::tls::VerifyRequest req;
    // OpenSSL: records and names as the oracle takes them.
    std::vector<oracle::Record> oracle_records;
    std::vector<std::string> oracle_names;

    Timed capi, cxx, ossl;

    ~Case() {
        danesmtp_chain_free(capi_chain);
        danesmtp_tlsa_free(set);
    }
};

bool capi_verify(const danesmtp_ctx* ctx, Case& c, std::string* why = nullptr) {
    if (danesmtp_chain_clear(c.capi_chain) != DANESMTP_OK) return false;
    for (const Bytes& d : c.chain)
        if (danesmtp_chain_add_der(c.capi_chain, d.data(), d.size()) != DANESMTP_OK) {
            if (why) *why = std::string("danesmtp_chain_add_der: ") + danesmtp_last_error();
            return false;
        }
    danesmtp_result* res = nullptr;
    int rc = danesmtp_verify(ctx, c.set, c.capi_chain, kNames, 1, kTime, &res);
    bool ok = rc == DANESMTP_OK && danesmtp_result_verdict(res) == DANESMTP_AUTHENTICATED;
    if (!ok && why)
        *why = rc != DANESMTP_OK ? std::string("danesmtp_verify: ") + danesmtp_last_error()
                                 : std::string(danesmtp_result_reason(res));
    danesmtp_result_free(res);
    return ok;
}

bool cxx_verify(Case& c, std::string* why = nullptr) {
    c.cxx_chain.clear();
    for (const Bytes& d : c.chain) c.cxx_chain.add_der(d.data(), d.size());
    danesmtp::core::Verdict v = danesmtp::tls::verify(c.req);
    if (why) *why = v.reason;
    return v.outcome == danesmtp::core::Outcome::authenticated;
}

void setup_case(Case& c, const danesmtp_ctx* ctx, const oracle::Verifier& ossl) {
    if (danesmtp_tlsa_new(&c.set) != DANESMTP_OK ||
        danesmtp_tlsa_add(c.set, c.record.usage, c.record.selector, c.record.mtype,
                          c.record.data.data(), c.record.data.size()) != DANESMTP_OK ||
        danesmtp_chain_new(&c.capi_chain) != DANESMTP_OK)
        die(c.label + ": " + danesmtp_last_error());
    c.records = {c.record};
    c.req.records = &c.records;
    c.req.chain = &c.cxx_chain;
    c.req.names = {kName};
    c.req.time = kTime;
    oracle::Record o;
    o.usage = c.record.usage;
    o.selector = c.record.selector;
    o.mtype = c.record.mtype;
    o.data = c.record.data;
    c.oracle_records = {o};
    c.oracle_names = {kName};

    // Both sides must say "authenticated" before anything is timed.
    std::string why;
    if (!capi_verify(ctx, c, &why)) die(c.label + ": C API does not authenticate: " + why);
    if (!cxx_verify(c, &why)) die(c.label + ": tls::verify does not authenticate: " + why);
    oracle::Result r = ossl.verify(c.chain, c.oracle_records, c.oracle_names, kTime);
    if (!r.authenticated)
        die(c.label + ": OpenSSL DANE does not authenticate: " + r.error_string);

    c.capi = {c.label + " (C API)", [ctx, &c] { return capi_verify(ctx, c); }, 0, {}};
    c.cxx = {c.label + " (C++)", [&c] { return cxx_verify(c); }, 0, {}};
    c.ossl = {c.label + " (OpenSSL)",
              [&ossl, &c] {
                  return ossl.verify(c.chain, c.oracle_records, c.oracle_names, kTime)
                      .authenticated;
              },
              0,
              {}};
}

// The yardstick's fixed cost: the SSL object and DANE state the oracle makes
// per call (SSL_new .. SSL_dane_tlsa_add .. SSL_free), without a chain.
struct SslSetup {
    SSL_CTX* ctx = nullptr;
    oracle::Record rec;

    bool once() const {
        SSL* ssl = SSL_new(ctx);
        if (!ssl) return false;
        bool ok = SSL_dane_enable(ssl, kName) > 0;
        SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = ok && SSL_dane_tlsa_add(ssl, rec.usage, rec.selector, rec.mtype, rec.data.data(),
                                     rec.data.size()) > 0;
        SSL_free(ssl);
        return ok;
    }
};

// ---- 2. load -----------------------------------------------------------

struct LoadSample {
    double dlopen_us = 0, dlsym_us = 0, ctx_us = 0, first_us = 0, second_us = 0;
    double ta_first_us = 0, ta_second_us = 0;  // 2 1 1: decoded-certificate cache cold, warm
    // minor page faults of each step: in a forked child every first write to
    // a page shared with the parent is one, as is every first touch of code
    double dlopen_flt = 0, dlsym_flt = 0, ctx_flt = 0, first_flt = 0, second_flt = 0;
    int symbols = 0;
    char error[256] = {0};
};

// The functions a host resolves to verify; types from the header.
struct Api {
    decltype(&danesmtp_ctx_new) ctx_new = nullptr;
    decltype(&danesmtp_ctx_free) ctx_free = nullptr;
    decltype(&danesmtp_tlsa_new) tlsa_new = nullptr;
    decltype(&danesmtp_tlsa_add) tlsa_add = nullptr;
    decltype(&danesmtp_tlsa_free) tlsa_free = nullptr;
    decltype(&danesmtp_chain_new) chain_new = nullptr;
    decltype(&danesmtp_chain_add_der) chain_add_der = nullptr;
    decltype(&danesmtp_chain_free) chain_free = nullptr;
    decltype(&danesmtp_verify) verify = nullptr;
    decltype(&danesmtp_result_verdict) result_verdict = nullptr;
    decltype(&danesmtp_result_free) result_free = nullptr;
    decltype(&danesmtp_last_error) last_error = nullptr;
};

template <class F>
bool resolve(void* handle, const char* name, F* out, int* count, LoadSample* s) {
    void* p = dlsym(handle, name);
    if (!p) {
        std::snprintf(s->error, sizeof s->error, "dlsym %s: %s", name, dlerror());
        return false;
    }
    *out = reinterpret_cast<F>(p);
    ++*count;
    return true;
}

long minor_faults() {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

// load_once - runs in a fresh child. Returns false with s->error on failure.
bool load_once(const char* path, const Bytes& spki_sha256, const Bytes& int_spki_sha256,
               const std::vector<Bytes>& chain, LoadSample* s) {
    long f[6];
    f[0] = minor_faults();
    Clock::time_point t0 = Clock::now();
    void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    Clock::time_point t1 = Clock::now();
    f[1] = minor_faults();
    if (!h) {
        std::snprintf(s->error, sizeof s->error, "dlopen: %s", dlerror());
        return false;
    }
    Api a;
    int n = 0;
    bool all = resolve(h, "danesmtp_ctx_new", &a.ctx_new, &n, s) &&
               resolve(h, "danesmtp_ctx_free", &a.ctx_free, &n, s) &&
               resolve(h, "danesmtp_tlsa_new", &a.tlsa_new, &n, s) &&
               resolve(h, "danesmtp_tlsa_add", &a.tlsa_add, &n, s) &&
               resolve(h, "danesmtp_tlsa_free", &a.tlsa_free, &n, s) &&
               resolve(h, "danesmtp_chain_new", &a.chain_new, &n, s) &&
               resolve(h, "danesmtp_chain_add_der", &a.chain_add_der, &n, s) &&
               resolve(h, "danesmtp_chain_free", &a.chain_free, &n, s) &&
               resolve(h, "danesmtp_verify", &a.verify, &n, s) &&
               resolve(h, "danesmtp_result_verdict", &a.result_verdict, &n, s) &&
               resolve(h, "danesmtp_result_free", &a.result_free, &n, s) &&
               resolve(h, "danesmtp_last_error", &a.last_error, &n, s);
    Clock::time_point t2 = Clock::now();
    f[2] = minor_faults();
    if (!all) return false;
    danesmtp_ctx* ctx = nullptr;
    int rc = a.ctx_new(&ctx, nullptr);
    Clock::time_point t3 = Clock::now();
    f[3] = minor_faults();
    if (rc != DANESMTP_OK) {
        std::snprintf(s->error, sizeof s->error, "danesmtp_ctx_new: %s", a.last_error());
        return false;
    }
    // One verification as a host makes it: a set, a chain, the verdict.
    auto verify_with = [&](std::uint8_t usage, const Bytes& data) -> bool {
        danesmtp_tlsa* set = nullptr;
        danesmtp_chain* ch = nullptr;
        danesmtp_result* res = nullptr;
        bool ok = a.tlsa_new(&set) == DANESMTP_OK &&
                  a.tlsa_add(set, usage, 1, 1, data.data(), data.size()) == DANESMTP_OK &&
                  a.chain_new(&ch) == DANESMTP_OK;
        for (const Bytes& d : chain)
            ok = ok && a.chain_add_der(ch, d.data(), d.size()) == DANESMTP_OK;
        ok = ok && a.verify(ctx, set, ch, kNames, 1, kTime, &res) == DANESMTP_OK &&
             a.result_verdict(res) == DANESMTP_AUTHENTICATED;
        if (!ok)
            std::snprintf(s->error, sizeof s->error, "%u 1 1 through dlsym: %s", usage,
                          res ? "not authenticated" : a.last_error());
        a.result_free(res);
        a.chain_free(ch);
        a.tlsa_free(set);
        return ok;
    };
    bool first = verify_with(3, spki_sha256);
    Clock::time_point t4 = Clock::now();
    f[4] = minor_faults();
    bool second = first && verify_with(3, spki_sha256);
    Clock::time_point t5 = Clock::now();
    f[5] = minor_faults();
    bool ta_first = second && verify_with(2, int_spki_sha256);
    Clock::time_point t6 = Clock::now();
    bool ta_second = ta_first && verify_with(2, int_spki_sha256);
    Clock::time_point t7 = Clock::now();
    a.ctx_free(ctx);
    if (!ta_second) return false;
    s->ta_first_us = us_between(t5, t6);
    s->ta_second_us = us_between(t6, t7);
    s->dlopen_us = us_between(t0, t1);
    s->dlsym_us = us_between(t1, t2);
    s->ctx_us = us_between(t2, t3);
    s->first_us = us_between(t3, t4);
    s->second_us = us_between(t4, t5);
    s->dlopen_flt = static_cast<double>(f[1] - f[0]);
    s->dlsym_flt = static_cast<double>(f[2] - f[1]);
    s->ctx_flt = static_cast<double>(f[3] - f[2]);
    s->first_flt = static_cast<double>(f[4] - f[3]);
    s->second_flt = static_cast<double>(f[5] - f[4]);
    s->symbols = n;
    return true;
}

std::vector<LoadSample> load_samples(const char* path, const Bytes& spki_sha256,
                                     const Bytes& int_spki_sha256, const std::vector<Bytes>& chain) {
    std::vector<LoadSample> out;
    for (int i = 0; i < kLoadChildren; ++i) {
        LoadSample s;
        bool ok = run_child(
            [&](int fd) {
                LoadSample mine;
                load_once(path, spki_sha256, int_spki_sha256, chain, &mine);
                return write_all(fd, &mine, sizeof mine);
            },
            &s, sizeof s);
        if (!ok) die("a load child died");
        if (s.error[0]) die(std::string("load child: ") + s.error);
        out.push_back(s);
    }
    return out;
}

double load_median(const std::vector<LoadSample>& v, double LoadSample::*field) {
    std::vector<double> x;
    for (const LoadSample& s : v) x.push_back(s.*field);
    return median(x);
}

// The total until the first verdict, per child: time or faults.
double load_total(const LoadSample& s, bool faults) {
    return faults ? s.dlopen_flt + s.dlsym_flt + s.ctx_flt + s.first_flt
                  : s.dlopen_us + s.dlsym_us + s.ctx_us + s.first_us;
}

std::vector<double> load_totals(const std::vector<LoadSample>& v, bool faults) {
    std::vector<double> x;
    for (const LoadSample& s : v) x.push_back(load_total(s, faults));
    return x;
}

// ---- 3. memory ---------------------------------------------------------

struct Mem {
    long rss = 0;            // bytes resident (/proc/self/statm)
    long heap = 0;           // bytes malloc has handed out (mallinfo2)
};

Mem mem_now() {
    Mem m;
    long size = 0, resident = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &size, &resident) != 2) resident = 0;
        std::fclose(f);
    }
    if (resident == 0) die("cannot read /proc/self/statm");
    m.rss = resident * sysconf(_SC_PAGESIZE);
    struct mallinfo2 mi = mallinfo2();
    m.heap = static_cast<long>(mi.uordblks + mi.hblkhd);
    return m;
}

struct MemRow {
    const char* label;
    Mem delta;
};

std::vector<MemRow> measure_memory(const danesmtp_ctx* ctx, const std::vector<Bytes>& chain,
                                   const Bytes& leaf_spki_sha256, const Bytes& int_spki_sha256) {
    auto fill_chain = [&](danesmtp_chain* ch) {
        for (const Bytes& d : chain)
            if (danesmtp_chain_add_der(ch, d.data(), d.size()) != DANESMTP_OK)
                die(std::string("memory: ") + danesmtp_last_error());
    };
    // One 2 1 1 set shared by every verification below.
    danesmtp_tlsa* ta_set = nullptr;
    if (danesmtp_tlsa_new(&ta_set) != DANESMTP_OK ||
        danesmtp_tlsa_add(ta_set, 2, 1, 1, int_spki_sha256.data(), int_spki_sha256.size()) !=
            DANESMTP_OK)
        die(std::string("memory: ") + danesmtp_last_error());
    auto verify_ta = [&](danesmtp_chain* ch) {
        danesmtp_result* res = nullptr;
        if (danesmtp_verify(ctx, ta_set, ch, kNames, 1, kTime, &res) != DANESMTP_OK ||
            danesmtp_result_verdict(res) != DANESMTP_AUTHENTICATED)
            die("memory: 2 1 1 not authenticated");
        danesmtp_result_free(res);
    };
    {  // first-use allocations (OpenSSL caches) stay out of the figures
        danesmtp_chain* ch = nullptr;
        if (danesmtp_chain_new(&ch) != DANESMTP_OK) die("memory: danesmtp_chain_new failed");
        fill_chain(ch);
        verify_ta(ch);
        danesmtp_chain_free(ch);
    }

    std::vector<danesmtp_tlsa*> sets(kMemoryObjects, nullptr);
    std::vector<danesmtp_chain*> chains(kMemoryObjects, nullptr);
    Mem m0 = mem_now();
    Mem after[2][3];  // [round][created, verified, freed]
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < kMemoryObjects; ++i) {
            if (danesmtp_tlsa_new(&sets[i]) != DANESMTP_OK ||
                danesmtp_tlsa_add(sets[i], 3, 1, 1, leaf_spki_sha256.data(),
                                  leaf_spki_sha256.size()) != DANESMTP_OK ||
                danesmtp_chain_new(&chains[i]) != DANESMTP_OK)
                die(std::string("memory: ") + danesmtp_last_error());
            fill_chain(chains[i]);
        }
        after[round][0] = mem_now();
        for (danesmtp_chain* ch : chains) verify_ta(ch);
        after[round][1] = mem_now();
        for (int i = 0; i < kMemoryObjects; ++i) {
            danesmtp_chain_free(chains[i]);
            danesmtp_tlsa_free(sets[i]);
        }
        after[round][2] = mem_now();
    }
    danesmtp_tlsa_free(ta_set);

    auto d = [&](const Mem& m) { return Mem{m.rss - m0.rss, m.heap - m0.heap}; };
    return {
        {"created (set: one 3 1 1 record; chain: 3 x add_der)", d(after[0][0])},
        {"+ each chain verified once by 2 1 1 (keeps its X509s)", d(after[0][1])},
        {"all freed", d(after[0][2])},
        {"the same again: created, verified, all freed", d(after[1][2])},
    };
}

// ---- output ------------------------------------------------------------

void rule() {
    std::printf("----------------------------------------------------------------------------"
                "----------\n");
}

int run(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: DANESMTP_PKI=DIR %s path/to/libdanesmtp.so.1\n", argv[0]);
        return 2;
    }
    const char* lib_path = argv[1];
    const char* pki_env = std::getenv("DANESMTP_PKI");
    if (!pki_env || !*pki_env) die("DANESMTP_PKI is not set (make bench sets it to build/pki)");
    const std::string pki = pki_env;

    const Bytes leaf = read_fixture(pki, "leaf-san.der");
    const Bytes inter = read_fixture(pki, "int.der");
    const Bytes root = read_fixture(pki, "root.der");
    const Bytes leaf_spki = read_fixture(pki, "leaf-san.spki.der");
    const Bytes int_spki = read_fixture(pki, "int.spki.der");
    const std::vector<Bytes> full_chain = {leaf, inter, root};

    // No OpenSSL call has been made in this process yet: digests come from a
    // child, and the first load set is forked now.
    const Bytes leaf_spki_sha256 = sha256_in_child(leaf_spki);
    const Bytes int_spki_sha256 = sha256_in_child(int_spki);
    const std::vector<LoadSample> cold =
        load_samples(lib_path, leaf_spki_sha256, int_spki_sha256, full_chain);

    // ---- verification
    danesmtp_ctx* ctx = nullptr;
    if (danesmtp_ctx_new(&ctx, nullptr) != DANESMTP_OK) die(danesmtp_last_error());
    oracle::Verifier ossl;

    auto make_case = [](const std::string& label, std::vector<Bytes> chain, std::uint8_t u,
                        std::uint8_t s, std::uint8_t m, Bytes data) {
        auto c = std::make_unique<Case>();
        c->label = label;
        c->chain = std::move(chain);
        c->record.usage = u;
        c->record.selector = s;
        c->record.mtype = m;
        c->record.data = std::move(data);
        return c;
    };
    std::vector<std::unique_ptr<Case>> cases;
    cases.push_back(make_case("3 1 1 leaf", full_chain, 3, 1, 1, leaf_spki_sha256));
    cases.push_back(make_case("2 1 1 int", full_chain, 2, 1, 1, int_spki_sha256));
    cases.push_back(make_case("2 0 0 root in DNS", {leaf, inter}, 2, 0, 0, root));
    for (auto& c : cases) setup_case(*c, ctx, ossl);

    SslSetup ssl_setup;
    ssl_setup.ctx = SSL_CTX_new(TLS_client_method());
    if (!ssl_setup.ctx || SSL_CTX_dane_enable(ssl_setup.ctx) <= 0) die("SSL_CTX_dane_enable");
    ssl_setup.rec = cases[0]->oracle_records[0];
    Timed ssl_only{"SSL setup", [&ssl_setup] { return ssl_setup.once(); }, 0, {}};
    if (!ssl_only.once()) die("SSL_new / SSL_dane_enable / SSL_dane_tlsa_add failed");

    // ---- memory (before the timing loops churn the heap)
    const std::vector<MemRow> mem =
        measure_memory(ctx, full_chain, leaf_spki_sha256, int_spki_sha256);

    Clock::time_point timing_start = Clock::now();
    for (auto& c : cases) measure({&c->capi, &c->cxx, &c->ossl});
    measure({&ssl_only});
    double timing_seconds = seconds_since(timing_start);

    // ---- load again, now that OpenSSL is initialised in this process
    const std::vector<LoadSample> warm =
        load_samples(lib_path, leaf_spki_sha256, int_spki_sha256, full_chain);

    // ---- print
    std::printf("danesmtp %s against %s; chain leaf-san (%zu B, EC P-256), int (%zu B, "
                "EC P-256), root (%zu B, RSA 2048)\n",
                danesmtp_version(), OpenSSL_version(OPENSSL_VERSION), leaf.size(), inter.size(),
                root.size());
    std::printf("names {%s}, time %lld\n\n", kName, static_cast<long long>(kTime));

    // (widths count bytes: a string holding "µ" gets one more)
    std::printf("%-45s %9s %14s %8s   %s\n", "verification (µs per call, median of 5)", "ours",
                "OpenSSL DANE", "ratio", "spread ours/OpenSSL");
    rule();
    for (auto& c : cases) {
        for (const Timed* t : {&c->capi, &c->cxx}) {
            std::string label = c->label + (t == &c->capi ? " (C API)" : " (C++ tls::verify)");
            std::printf("%-44s %9.2f %14.2f %8.3g   %4.1f%% / %4.1f%%\n", label.c_str(), t->med(),
                        c->ossl.med(), t->med() / c->ossl.med(), t->spread(), c->ossl.spread());
        }
    }
    std::printf("%-44s %9s %14.2f %8s   %11s%4.1f%%\n", "  OpenSSL side's SSL + DANE state alone",
                "", ssl_only.med(), "", "", ssl_only.spread());
    rule();
    std::printf(
        "ours (C API):  danesmtp_chain_clear + 3 (2 0 0: 2) x danesmtp_chain_add_der (copy, DER\n"
        "               outline) + danesmtp_verify (name normalised, records selected, match,\n"
        "               DANE-TA: d2i + path validation + name check; verdict and reason text)\n"
        "               + danesmtp_result_free. Context and TLSA set made once, outside the loop.\n"
        "ours (C++):    tls::Chain::clear + add_der per certificate + tls::verify; the\n"
        "               VerifyRequest (records, names) made once.\n"
        "OpenSSL DANE:  oracle::Verifier::verify, per call SSL_new + SSL_dane_enable +\n"
        "               SSL_dane_tlsa_add + d2i_X509 per certificate + X509_STORE_CTX with\n"
        "               set0_dane + X509_verify_cert + frees; SSL_CTX and X509_STORE made once.\n"
        "               The row \"SSL + DANE state alone\" is that per-call SSL_new ..\n"
        "               SSL_dane_tlsa_add (3 1 1) .. SSL_free without any certificate: a cost an\n"
        "               MTA pays per connection anyway.\n"
        "ratio = ours / OpenSSL (below 1: ours is faster). spread = (slowest - fastest batch) /\n"
        "median. Batches ~%.1f s each after a %.1f s warm-up; timing took %.1f s in all.\n\n",
        kBatchSeconds, kWarmupSeconds, timing_seconds);

    std::printf("%-50s %22s %22s\n", "load + first use in a fresh forked process",
                "OpenSSL not yet init.", "OpenSSL initialised");
    std::printf("%-50s %11s %11s %11s %11s\n", "(median of 20 children)", "µs", "page faults",
                "µs", "page faults");
    rule();
    struct Step {
        std::string label;
        double LoadSample::*us;
        double LoadSample::*faults;
    };
    const std::vector<Step> steps = {
        {std::string("dlopen(") + lib_path + ", RTLD_NOW|RTLD_LOCAL)", &LoadSample::dlopen_us,
         &LoadSample::dlopen_flt},
        {"dlsym x " + std::to_string(cold.front().symbols) + " (ctx, tlsa, chain, verify, ...)",
         &LoadSample::dlsym_us, &LoadSample::dlsym_flt},
        {"first danesmtp_ctx_new", &LoadSample::ctx_us, &LoadSample::ctx_flt},
        {"first 3 1 1 verification (set+chain+verify+frees)", &LoadSample::first_us,
         &LoadSample::first_flt},
    };
    for (const Step& st : steps)
        std::printf("%-50s %10.1f %11.0f %10.1f %11.0f\n", st.label.c_str(),
                    load_median(cold, st.us), load_median(cold, st.faults),
                    load_median(warm, st.us), load_median(warm, st.faults));
    std::printf("%-50s %10.1f %11.0f %10.1f %11.0f\n", "total until the first verdict",
                median(load_totals(cold, false)), median(load_totals(cold, true)),
                median(load_totals(warm, false)), median(load_totals(warm, true)));
    auto range = [](const std::vector<LoadSample>& v) {
        std::vector<double> x = load_totals(v, false);
        auto mm = std::minmax_element(x.begin(), x.end());
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.0f .. %.0f", *mm.first, *mm.second);
        return std::string(buf);
    };
    std::printf("%-51s %22s %22s\n", "  total µs, fastest .. slowest child", range(cold).c_str(),
                range(warm).c_str());
    std::printf("%-50s %10.1f %11.0f %10.1f %11.0f\n",
                "second 3 1 1 verification (for scale)", load_median(cold, &LoadSample::second_us),
                load_median(cold, &LoadSample::second_flt), load_median(warm, &LoadSample::second_us),
                load_median(warm, &LoadSample::second_flt));
    std::printf("%-50s %10.1f %11s %10.1f %11s\n", "then 2 1 1: first (d2i + path validation)",
                load_median(cold, &LoadSample::ta_first_us), "", load_median(warm, &LoadSample::ta_first_us), "");
    std::printf("%-50s %10.1f %11s %10.1f %11s\n", "then 2 1 1: second (decoded certificates cached)",
                load_median(cold, &LoadSample::ta_second_us), "", load_median(warm, &LoadSample::ta_second_us),
                "");
    rule();
    std::printf(
        "libssl, libcrypto, libstdc++ and libc are already mapped in this process (the bench links\n"
        "them), so dlopen maps and relocates libdanesmtp.so alone. \"OpenSSL not yet initialised\":\n"
        "children forked before this process made any OpenSSL call, so the first verification\n"
        "also pays OpenSSL's own start (config file, default provider, SHA2-256 fetch).\n"
        "\"OpenSSL initialised\": forked after the benchmarks, as in an MTA after its handshake;\n"
        "these children inherit the parent's decoded-certificate cache, so their first 2 1 1 skips\n"
        "d2i but pays copy-on-write faults on the shared objects (12-15 us each on this VM). The\n"
        "first column's first 2 1 1 is a chain never seen before, in a fresh process.\n"
        "Page faults are minor faults (getrusage): copy-on-write of pages shared with the parent\n"
        "and first touches of code and data.\n\n");

    std::printf("%-60s %12s %12s %10s\n",
                "memory, 1000 x (TLSA set + leaf-san/int/root chain)", "RSS growth",
                "heap in use", "heap each");
    rule();
    for (const MemRow& r : mem)
        std::printf("%-60s %8.0f KiB %8.0f KiB %8.0f B\n", r.label,
                    static_cast<double>(r.delta.rss) / 1024.0,
                    static_cast<double>(r.delta.heap) / 1024.0,
                    static_cast<double>(r.delta.heap) / kMemoryObjects);
    rule();
    std::printf("Growth over the state before the first creation. RSS from /proc/self/statm\n"
                "(malloc keeps freed pages), heap in use from mallinfo2() (bytes handed out,\n"
                "OpenSSL's included). \"heap each\" = heap in use / 1000. Chain DER: %zu B per\n"
                "chain. A chain keeps the certificates OpenSSL decoded for a DANE-TA check\n"
                "until it is cleared or freed.\n",
                leaf.size() + inter.size() + root.size());

    SSL_CTX_free(ssl_setup.ctx);
    cases.clear();
    danesmtp_ctx_free(ctx);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        die(e.what());
    }
}
