// SPDX-License-Identifier: MIT
// test_cache.cpp - the shared answer cache (plugin/dns/cache.hpp) on real
// LMDB files in temporary directories: what is kept and for how long, and
// each failure mode ending in "no cache", never in a wrong answer (issue 11).
// The lab test (tests/lab) shows a second process answered from the cache
// with its resolver unreachable.
#include <boost/test/unit_test.hpp>

#include <lmdb.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>

#include "core/config.hpp"
#include "dns/cache.hpp"
#include "tls/openssl.hpp"

using namespace danesmtp;
using core::DnsQuery;
using core::DnsResult;
using core::DnsSecurity;

namespace {

constexpr uid_t kNobody = 65534;

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/danesmtp-cache-XXXXXX";
        BOOST_REQUIRE(mkdtemp(tmpl));
        path = tmpl;
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
    std::string file(const std::string& name = "answers.mdb") const { return path + "/" + name; }
};

core::CacheConfig config_for(const std::string& path, unsigned size_mb = 1) {
    core::CacheConfig c;
    c.path = path;
    c.max_ttl = 3600;
    c.size_mb = size_mb;
    return c;
}

DnsResult answer(DnsSecurity sec, std::uint32_t ttl, std::vector<core::Bytes> rdata = {{127, 0, 0, 1}}) {
    DnsResult r;
    r.security = sec;
    r.ttl = ttl;
    r.rdata = std::move(rdata);
    return r;
}

// A resolver that answers from a table and counts what it was asked.
class Table : public core::Resolver {
public:
    std::map<std::string, DnsResult> answers;
    unsigned asked = 0;
    std::vector<DnsResult> resolve(const std::vector<DnsQuery>& qs) override {
        std::vector<DnsResult> out;
        for (const auto& q : qs) {
            ++asked;
            auto it = answers.find(q.name + "/" + std::to_string(q.type));
            DnsResult r;
            r.why = "no such test answer";
            out.push_back(it == answers.end() ? r : it->second);
        }
        return out;
    }
};

}  // namespace

namespace danesmtp::core {
inline std::ostream& operator<<(std::ostream& os, DnsSecurity s) { return os << security_name(s); }
}  // namespace danesmtp::core

BOOST_AUTO_TEST_SUITE(cache)

BOOST_AUTO_TEST_CASE(entry_round_trip_and_checks) {
    DnsQuery q{"mx.example.net", core::kTypeTlsa};
    DnsResult r = answer(DnsSecurity::secure, 300, {{3, 1, 1, 0xaa}, {3, 1, 1, 0xbb}});
    r.canonical = "other.example.net";
    std::string v = dns::AnswerCache::encode("scope1", q, r, 1000, 300);

    auto back = dns::AnswerCache::decode(v, "scope1", q, 1100, 3600);
    BOOST_REQUIRE(back);
    BOOST_TEST(back->rdata == r.rdata);
    BOOST_TEST(back->canonical == "other.example.net");
    BOOST_TEST(back->security == DnsSecurity::secure);
    BOOST_TEST(back->ttl == 200u);  // what is left of it

    // Another scope, name or type: not this entry.
    BOOST_TEST(!dns::AnswerCache::decode(v, "scope2", q, 1100, 3600));
    BOOST_TEST(!dns::AnswerCache::decode(v, "scope1", DnsQuery{"mx.example.org", core::kTypeTlsa}, 1100, 3600));
    BOOST_TEST(!dns::AnswerCache::decode(v, "scope1", DnsQuery{"mx.example.net", core::kTypeA}, 1100, 3600));
    // Stale at TTL, at a lower cache-max-ttl, and when the clock went back.
    BOOST_TEST(!dns::AnswerCache::decode(v, "scope1", q, 1300, 3600));
    BOOST_TEST(!dns::AnswerCache::decode(v, "scope1", q, 1100, 60));
    BOOST_TEST(!dns::AnswerCache::decode(v, "scope1", q, 999, 3600));
    // Every single damaged byte, and every truncation, is refused.
    for (std::size_t i = 0; i < v.size(); ++i) {
        std::string bad = v;
        bad[i] = static_cast<char>(bad[i] ^ 0x20);
        BOOST_TEST(!dns::AnswerCache::decode(bad, "scope1", q, 1100, 3600), "byte " << i);
        BOOST_TEST(!dns::AnswerCache::decode(v.substr(0, i), "scope1", q, 1100, 3600), "length " << i);
    }
}

BOOST_AUTO_TEST_CASE(fingerprint_changes_with_every_source_of_answers) {
    core::Config a;
    core::apply_config_text("trust-anchor-file = /a\nforward = 127.0.0.1\n", "t", &a);
    std::string base = dns::fingerprint(a.resolver);
    BOOST_TEST(base.size() == 16u);
    for (const char* extra : {"forward = 127.0.0.2\n", "root-anchor = no\n", "stub = x 127.0.0.3\n",
                              "recursion = yes\n", "resolv-conf = /r\n", "trust-anchor-file = /b\n"}) {
        core::Config b = a;
        core::apply_config_text(extra, "t", &b);
        BOOST_TEST(dns::fingerprint(b.resolver) != base, extra);
    }
    core::Config same;
    core::apply_config_text("trust-anchor-file = /a\nforward = 127.0.0.1\ntimeout = 500\n", "t", &same);
    BOOST_TEST(dns::fingerprint(same.resolver) == base);  // a timeout changes no answer
}

BOOST_AUTO_TEST_CASE(keeps_answers_not_failures) {
    TempDir d;
    chmod(d.path.c_str(), 0700);
    std::string why;
    auto c = dns::AnswerCache::open(config_for(d.file()), &why);
    BOOST_REQUIRE_MESSAGE(c, why);
    DnsQuery secure{"a.test", core::kTypeA}, insecure{"b.test", core::kTypeA}, bogus{"c.test", core::kTypeA},
        failed{"d.test", core::kTypeA}, zero{"e.test", core::kTypeA};
    c->put("s", {{secure, answer(DnsSecurity::secure, 60)},
                 {insecure, answer(DnsSecurity::insecure, 60)},
                 {bogus, answer(DnsSecurity::bogus, 60)},
                 {failed, answer(DnsSecurity::failed, 60)},
                 {zero, answer(DnsSecurity::secure, 0)}},
           5000);
    BOOST_TEST(c->get("s", secure, 5001).has_value());
    BOOST_TEST(c->get("s", insecure, 5001).has_value());
    BOOST_TEST(!c->get("s", bogus, 5001).has_value());
    BOOST_TEST(!c->get("s", failed, 5001).has_value());
    BOOST_TEST(!c->get("s", zero, 5001).has_value());
    BOOST_TEST(!c->get("s", secure, 5060).has_value());  // past its TTL
    BOOST_TEST(c->stats().stored == 2u);
    BOOST_TEST(c->broken().empty());

    // A second object (as another process would open it) sees the same.
    auto c2 = dns::AnswerCache::open(config_for(d.file()), &why);
    BOOST_REQUIRE_MESSAGE(c2, why);
    BOOST_TEST(c2->get("s", secure, 5001).has_value());
}

BOOST_AUTO_TEST_CASE(refuses_files_others_could_write) {
    std::string why;
    {
        TempDir d;
        chmod(d.path.c_str(), 0777);
        BOOST_TEST(!dns::AnswerCache::open(config_for(d.file()), &why));
        BOOST_TEST(why.find("writable by group or others") != std::string::npos, why);
    }
    {
        TempDir d;
        chmod(d.path.c_str(), 0700);
        BOOST_REQUIRE(symlink("/tmp/elsewhere.mdb", d.file().c_str()) == 0);
        BOOST_TEST(!dns::AnswerCache::open(config_for(d.file()), &why));
        BOOST_TEST(why.find("not a regular file") != std::string::npos, why);
    }
    {
        TempDir d;
        chmod(d.path.c_str(), 0700);
        std::ofstream(d.file()) << "";
        chmod(d.file().c_str(), 0666);
        BOOST_TEST(!dns::AnswerCache::open(config_for(d.file()), &why));
        BOOST_TEST(why.find("writable by group or others") != std::string::npos, why);
    }
    {
        TempDir d;
        BOOST_TEST(!dns::AnswerCache::open(config_for(d.path + "/missing/answers.mdb"), &why));
        BOOST_TEST(why.find("No such file") != std::string::npos, why);
    }
    if (geteuid() == 0) {
        // A file owned by another user in root's directory.
        TempDir d;
        chmod(d.path.c_str(), 0700);
        std::ofstream(d.file()) << "";
        BOOST_REQUIRE(chown(d.file().c_str(), kNobody, kNobody) == 0);
        BOOST_TEST(!dns::AnswerCache::open(config_for(d.file()), &why));
        BOOST_TEST(why.find("owned by uid 65534") != std::string::npos, why);

        // A directory owned by a user who is neither this one nor root.
        TempDir e;
        chmod(e.path.c_str(), 0700);
        BOOST_REQUIRE(chown(e.path.c_str(), kNobody, kNobody) == 0);
        pid_t pid = fork();
        if (pid == 0) {
            if (setgid(1) != 0 || setuid(1) != 0) _exit(3);  // daemon
            std::string w;
            auto c = dns::AnswerCache::open(config_for(e.file()), &w);
            _exit(!c && w.find("not by this process's user") != std::string::npos ? 0 : 1);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
}

// Root writing into the MTA user's directory gives the files to that user,
// who can then use the same cache.
BOOST_AUTO_TEST_CASE(root_shares_the_mta_users_cache) {
    if (geteuid() != 0) return;
    TempDir d;
    chmod(d.path.c_str(), 0700);
    BOOST_REQUIRE(chown(d.path.c_str(), kNobody, kNobody) == 0);
    std::string why;
    {
        auto c = dns::AnswerCache::open(config_for(d.file()), &why);
        BOOST_REQUIRE_MESSAGE(c, why);
        c->put("s", {{DnsQuery{"a.test", core::kTypeA}, answer(DnsSecurity::secure, 600)}},
               static_cast<std::int64_t>(time(nullptr)));
    }
    struct stat st;
    BOOST_REQUIRE(stat(d.file().c_str(), &st) == 0);
    BOOST_TEST(st.st_uid == kNobody);
    BOOST_REQUIRE(stat(d.file("answers.mdb-lock").c_str(), &st) == 0);
    BOOST_TEST(st.st_uid == kNobody);
    pid_t pid = fork();
    if (pid == 0) {
        if (setgid(kNobody) != 0 || setuid(kNobody) != 0) _exit(3);
        std::string w;
        auto c = dns::AnswerCache::open(config_for(d.file()), &w);
        if (!c) _exit(1);
        _exit(c->get("s", DnsQuery{"a.test", core::kTypeA}, static_cast<std::int64_t>(time(nullptr))) ? 0 : 2);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0), "child status " << status);
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_lmdb_is_made_anew) {
    TempDir d;
    chmod(d.path.c_str(), 0700);
    {
        std::ofstream f(d.file(), std::ios::binary);
        std::mt19937 rng(7);
        for (int i = 0; i < 65536; ++i) f.put(static_cast<char>(rng()));
    }
    chmod(d.file().c_str(), 0600);
    std::string why;
    auto c = dns::AnswerCache::open(config_for(d.file()), &why);
    BOOST_REQUIRE_MESSAGE(c, why);
    DnsQuery q{"a.test", core::kTypeA};
    c->put("s", {{q, answer(DnsSecurity::secure, 60)}}, 100);
    BOOST_TEST(c->get("s", q, 101).has_value());
}

// A damaged value (bits flipped on disk) is a miss, counted, never an answer.
BOOST_AUTO_TEST_CASE(a_damaged_entry_is_a_miss) {
    TempDir d;
    chmod(d.path.c_str(), 0700);
    std::string why;
    auto c = dns::AnswerCache::open(config_for(d.file()), &why);
    BOOST_REQUIRE_MESSAGE(c, why);
    DnsQuery q{"a.test", core::kTypeA};
    c->put("s", {{q, answer(DnsSecurity::secure, 60)}}, 100);
    // Rewrite the value with one byte changed, through LMDB itself.
    c.reset();
    MDB_env* env = nullptr;
    BOOST_REQUIRE(mdb_env_create(&env) == 0);
    BOOST_REQUIRE(mdb_env_open(env, d.file().c_str(), MDB_NOSUBDIR, 0600) == 0);
    MDB_txn* txn = nullptr;
    MDB_dbi dbi;
    BOOST_REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
    BOOST_REQUIRE(mdb_dbi_open(txn, nullptr, 0, &dbi) == 0);
    std::string key = "s/1/a.test";
    MDB_val k{key.size(), key.data()}, v;
    BOOST_REQUIRE(mdb_get(txn, dbi, &k, &v) == 0);
    std::string value(static_cast<char*>(v.mv_data), v.mv_size);
    value[value.size() / 2] ^= 1;
    MDB_val nv{value.size(), value.data()};
    BOOST_REQUIRE(mdb_put(txn, dbi, &k, &nv, 0) == 0);
    BOOST_REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);

    c = dns::AnswerCache::open(config_for(d.file()), &why);
    BOOST_REQUIRE_MESSAGE(c, why);
    BOOST_TEST(!c->get("s", q, 101).has_value());
    BOOST_TEST(c->stats().damaged == 1u);
}

// A full cache makes room (expired entries first, then everything) and
// keeps working; it never fails a lookup.
BOOST_AUTO_TEST_CASE(a_full_cache_makes_room) {
    TempDir d;
    chmod(d.path.c_str(), 0700);
    std::string why;
    auto c = dns::AnswerCache::open(config_for(d.file(), 1), &why);
    BOOST_REQUIRE_MESSAGE(c, why);
    core::Bytes big(2000, 0x42);
    for (int i = 0; i < 2000; ++i) {
        DnsQuery q{"host" + std::to_string(i) + ".test", core::kTypeTlsa};
        c->put("s", {{q, answer(DnsSecurity::secure, 60, {big})}}, 1000 + i / 100);
    }
    BOOST_TEST(c->broken().empty(), c->broken());
    BOOST_TEST(c->stats().purges > 0u);
    DnsQuery last{"host1999.test", core::kTypeTlsa};
    BOOST_TEST(c->get("s", last, 1020).has_value());
}

// A full disk: writes fail (here EFBIG under RLIMIT_FSIZE, as ENOSPC would),
// the process stops using the cache and every lookup still gets an answer.
BOOST_AUTO_TEST_CASE(a_full_disk_turns_the_cache_off) {
    TempDir d;
    chmod(d.path.c_str(), 0700);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        std::string w;
        auto c = dns::AnswerCache::open(config_for(d.file(), 64), &w);
        if (!c) _exit(10);
        struct stat st;
        if (stat(d.file().c_str(), &st) != 0) _exit(11);
        struct rlimit lim = {static_cast<rlim_t>(st.st_size), static_cast<rlim_t>(st.st_size)};
        setrlimit(RLIMIT_FSIZE, &lim);
        Table live;
        core::Bytes big(4000, 1);
        for (int i = 0; i < 50; ++i)
            live.answers["h" + std::to_string(i) + ".test/52"] = answer(DnsSecurity::secure, 60, {big});
        dns::CachingResolver r(c.get(), "s", [&](std::string*) -> core::Resolver* { return &live; },
                               [] { return std::int64_t{100}; });
        for (int i = 0; i < 50; ++i) {
            auto res = r.resolve({DnsQuery{"h" + std::to_string(i) + ".test", core::kTypeTlsa}});
            if (res.size() != 1 || res[0].security != DnsSecurity::secure) _exit(12);
        }
        _exit(c->broken().empty() ? 13 : 0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0), "child status " << status);
}

BOOST_AUTO_TEST_CASE(caching_resolver_asks_only_for_what_it_lacks) {
    TempDir d;
    chmod(d.path.c_str(), 0700);
    std::string why;
    auto c = dns::AnswerCache::open(config_for(d.file()), &why);
    BOOST_REQUIRE_MESSAGE(c, why);
    Table live;
    live.answers["a.test/1"] = answer(DnsSecurity::secure, 60);
    live.answers["b.test/1"] = answer(DnsSecurity::bogus, 60);
    std::int64_t now = 1000;
    unsigned starts = 0;
    dns::CachingResolver r(c.get(), "s", [&](std::string*) -> core::Resolver* { ++starts; return &live; },
                           [&] { return now; });
    std::vector<DnsQuery> qs = {{"a.test", core::kTypeA}, {"b.test", core::kTypeA}};
    auto first = r.resolve(qs);
    BOOST_TEST(live.asked == 2u);
    auto second = r.resolve(qs);
    BOOST_TEST(live.asked == 3u);  // the bogus one again, never from the cache
    BOOST_TEST(second[0].security == DnsSecurity::secure);
    BOOST_TEST(second[1].security == DnsSecurity::bogus);

    // All answers cached: the resolver is not even started.
    dns::CachingResolver cached(c.get(), "s", [&](std::string*) -> core::Resolver* { ++starts; return nullptr; },
                                [&] { return now; });
    starts = 0;
    auto third = cached.resolve({{"a.test", core::kTypeA}});
    BOOST_TEST(starts == 0u);
    BOOST_TEST(third[0].security == DnsSecurity::secure);
    // Expired, with no resolver: a failure that says why, never a stale answer.
    now += 61;
    auto fourth = cached.resolve({{"a.test", core::kTypeA}});
    BOOST_TEST(starts == 1u);
    BOOST_TEST(fourth[0].security == DnsSecurity::failed);
    BOOST_TEST(fourth[0].why.find("resolver unusable") != std::string::npos);
}

// The digests come from ldns (no OpenSSL start-up); they must equal OpenSSL's.
BOOST_AUTO_TEST_CASE(digests_equal_openssls) {
    std::mt19937 rng(11);
    for (std::size_t len : {0u, 1u, 55u, 56u, 63u, 64u, 111u, 112u, 127u, 128u, 1000u, 70000u}) {
        core::Bytes data(len);
        for (auto& b : data) b = static_cast<std::uint8_t>(rng());
        for (auto [mtype, md] : {std::pair<std::uint8_t, const EVP_MD*>{1, EVP_sha256()}, {2, EVP_sha512()}}) {
            unsigned char ref[EVP_MAX_MD_SIZE];
            unsigned int n = 0;
            BOOST_REQUIRE(EVP_Digest(data.data(), data.size(), ref, &n, md, nullptr));
            core::Bytes ours = tls::digest(mtype, data.data(), data.size());
            BOOST_TEST(ours == core::Bytes(ref, ref + n), "length " << len << " mtype " << int(mtype));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
