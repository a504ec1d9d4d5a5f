// SPDX-License-Identifier: MIT
// test_config.cpp - the configuration parser (man danesmtp.conf): every form
// it takes, every bad value refused at parse time with ORIGIN:LINE, the size
// bounds, and the C interface refusing a configuration file that is not a
// regular file.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "core/config.hpp"
#include "core/error.hpp"
#include "danesmtp.h"

using namespace danesmtp;
using namespace danesmtp::core;
using namespace std::string_literals;

namespace {

const std::string kDigest = "2bb183af5f22588179a53b0a98631fad1a292118d8d9f4c6e1c6b4f9e3f1f4b0";  // 64 hex digits
const std::string kDs = "test. 3600 IN DS 12345 13 2 " + kDigest;
// The root KSK-2017, as /usr/share/dns/root.key has it.
const std::string kDnskey =
    ". IN DNSKEY 257 3 8 AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN"
    "7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb"
    "9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+"
    "2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU=";

Config parse(const std::string& text) {
    Config c;
    apply_config_text(text, "f", &c);
    return c;
}

// The error apply_config_text throws for `text`; fails the test when it
// accepts it.
Error rejection(const std::string& text) {
    try {
        parse(text);
    } catch (const Error& e) {
        return e;
    }
    BOOST_ERROR("accepted: " << text);
    return Error(ErrorCode::internal, "accepted");
}

// `n` lines of `key = value(i)`.
std::string lines(std::size_t n, const std::string& key, std::string (*value)(std::size_t)) {
    std::string text;
    for (std::size_t i = 0; i < n; ++i) text += key + " = " + value(i) + "\n";
    return text;
}
std::string forwarder(std::size_t i) { return "192.0.2." + std::to_string(i % 250 + 1) + "@" + std::to_string(i + 1); }
std::string stub_entry(std::size_t i) { return "z" + std::to_string(i) + ".test. 127.0.0.1@5300"; }
std::string domain_entry(std::size_t i) { return "d" + std::to_string(i) + ".example"; }
std::string anchor_entry(std::size_t i) { return "z" + std::to_string(i) + ".test. IN DS 1 13 2 " + kDigest; }

// A scratch directory under $TMPDIR (or /tmp), removed with its files.
struct Scratch {
    std::string dir;
    std::vector<std::string> files;
    Scratch() {
        const char* t = std::getenv("TMPDIR");
        std::string tmpl = std::string(t && *t ? t : "/tmp") + "/danesmtp-config-XXXXXX";
        BOOST_REQUIRE(mkdtemp(&tmpl[0]) != nullptr);
        dir = tmpl;
    }
    ~Scratch() {
        for (const auto& f : files) std::remove(f.c_str());
        rmdir(dir.c_str());
    }
    std::string file(const std::string& name, const std::string& text) {
        std::string path = dir + "/" + name;
        std::ofstream(path, std::ios::binary) << text;
        files.push_back(path);
        return path;
    }
};

struct CtxResult {
    int rc;
    std::string error;
    double seconds;
};

CtxResult ctx_from_file(const std::string& path) {
    danesmtp_options o = DANESMTP_OPTIONS_INIT;
    o.config_file = path.c_str();
    danesmtp_ctx* ctx = nullptr;
    auto start = std::chrono::steady_clock::now();
    int rc = danesmtp_ctx_new(&ctx, &o);
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::string error = rc == DANESMTP_OK ? "" : danesmtp_last_error();
    danesmtp_ctx_free(ctx);
    return {rc, error, took.count()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(config_text) {
    Config c = parse(
        "# lab\n"
        "trust-anchor = " +
        kDs +
        "\n"
        "stub = test. 127.0.0.1@5300\n"
        "forward = ::1@53\n"
        "timeout = 2500\n"
        "insecure-mx = encrypt\n"
        "mandatory-dane = Example.NET\n"
        "audit-only = yes\n"
        "digest-preference = sha256\n");
    BOOST_TEST(c.resolver.trust_anchors.size() == 1u);
    BOOST_TEST(c.resolver.stubs.at(0).first == "test");
    BOOST_TEST(c.resolver.stubs.at(0).second == "127.0.0.1@5300");
    BOOST_TEST(c.resolver.timeout_ms == 2500u);
    BOOST_TEST((c.policy.insecure_mx == InsecureMx::encrypt));
    BOOST_TEST(c.policy.mandatory.at(0) == "example.net");
    BOOST_TEST(c.policy.audit_only);
    BOOST_TEST((c.digests == DigestPreference::sha256_first));
    BOOST_TEST(c.digests_set);
}

// Each bad line comes second, after a good one: the message names line 2.
BOOST_AUTO_TEST_CASE(bad_values_name_their_line) {
    struct Bad {
        std::string line;
        ErrorCode code;
    };
    const ErrorCode P = ErrorCode::parse;
    const std::vector<Bad> table = {
        // addresses and ports
        {"stub = . 1.2.3.4@99999", P},
        {"forward = 1.2.3.4@0", P},
        {"forward = 1.2.3.4@65536", P},
        {"forward = 1.2.3.4@", P},
        {"forward = 1.2.3.4@+53", P},
        {"forward = 1.2.3.4@53@53", P},
        {"forward = ::::::::@1", P},
        {"forward = 1.2.3", P},
        {"forward = 1.2.3.4.5", P},
        {"forward = 256.1.1.1", P},
        {"forward = @53", P},
        {"forward = host.example", P},
        {"forward = fe80::1%eth0", P},
        {"forward = 1.2.3.4 5.6.7.8", P},
        {"stub = x 999.1.1.1", P},
        {"stub = test.", P},
        {"stub = . 127.0.0.1 127.0.0.2", P},
        {"stub = bad..zone 127.0.0.1", P},
        // trust anchors
        {"trust-anchor = garbage", P},
        {"trust-anchor = test.", P},
        {"trust-anchor = test. DS", P},
        {"trust-anchor = test. DNSKEY 257 3 13", P},
        {"trust-anchor = test. 3600 IN A 192.0.2.1", P},
        {"trust-anchor = test. 3600 CH DS 12345 13 2 " + kDigest, P},
        {"trust-anchor = test. 3600 IN DS 12345 13 2 abcd", P},
        {"trust-anchor = test. 3600 IN DS 12345 13 1 " + kDigest, P},
        {"trust-anchor = test. 3600 IN DS 12345 13 2 " + kDigest + "zz", P},
        {"trust-anchor = " + kDs + " " + kDs, P},
        {"trust-anchor = $ORIGIN test.", P},
        {"root-anchor = maybe", P},
        // paths
        {"trust-anchor-file = build/lab/trust-anchor", P},
        {"auto-trust-anchor-file = root.key", P},
        {"resolv-conf = ./resolv.conf", P},
        // numbers and words
        {"timeout = 99", P},
        {"timeout = 5", P},
        {"timeout = 10000000", P},
        {"timeout = -1", P},
        {"timeout = soon", P},
        {"parallel-lookups = 0", P},
        {"parallel-lookups = 65", P},
        {"insecure-mx = never", P},
        {"audit-only = maybe", P},
        {"recursion = sometimes", P},
        {"digest-preference = md5", P},
        // names
        {"mandatory-dane = bad..name", P},
        {"mandatory-dane = exa mple.net", P},
        {"mandatory-dane = .", P},
        {"mandatory-dane = under_score!.example", P},
        {"mandatory-dane = " + std::string(64, 'a') + ".example", P},
        {"mandatory-dane = " + std::string(60, 'a') + "." + std::string(60, 'b') + "." + std::string(60, 'c') +
             "." + std::string(60, 'd') + "." + std::string(60, 'e'),
         ErrorCode::limit},
        // bytes
        {"forward = 127.0.0.1\x01", P},
        {"audit-only = y\x1b" "es", P},
        {"mandatory-dane = caf\xc3\xa9.example", P},
        {"mandatory-dane = ex\x7f" "ample.net", P},
        {"forward = 127.0.0.1\0"s, P},
        {"# a comment with a NUL\0 byte"s, P},
        {"forward = 127.0.0.1\r@53", P},
        // syntax
        {"frobnicate = 1", P},
        {"no equals sign", P},
        {"forward =", P},
        {"= 127.0.0.1", P},
    };
    for (const auto& bad : table) {
        Error e = rejection("timeout = 2500\n" + bad.line + "\n");
        std::string what = e.what();
        BOOST_TEST(what.rfind("f:2: ", 0) == 0u, "'" << bad.line << "' -> " << what);
        BOOST_TEST((e.code() == bad.code), "'" << bad.line << "' -> " << what);
    }
}

BOOST_AUTO_TEST_CASE(messages_say_what_is_wrong) {
    auto what = [](const std::string& line) { return std::string(rejection(line).what()); };
    BOOST_TEST(what("forward = 1.2.3.4@0").find("1-65535") != std::string::npos);
    BOOST_TEST(what("forward = 1.2.3").find("not an IPv4 or IPv6 address") != std::string::npos);
    BOOST_TEST(what("trust-anchor = garbage").find("DS or DNSKEY") != std::string::npos);
    BOOST_TEST(what("trust-anchor-file = ta").find("absolute path") != std::string::npos);
    BOOST_TEST(what("mandatory-dane = bad..name").find("empty label") != std::string::npos);
    BOOST_TEST(what("forward = 1.2.3.4\x01").find("0x01") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(addresses) {
    Config c = parse(
        "forward = ::1@5353\n"
        "forward = 2001:db8::53\n"
        "forward = 192.0.2.1\n"
        "forward = 192.0.2.2@65535\n"
        "forward = ::ffff:192.0.2.3@1\n"
        "stub = . 127.0.0.1@5300\n"
        "stub\t=\tExample.TEST.\t2001:db8::1\n");
    BOOST_TEST(c.resolver.forwarders ==
                   (std::vector<std::string>{"::1@5353", "2001:db8::53", "192.0.2.1", "192.0.2.2@65535",
                                             "::ffff:192.0.2.3@1"}),
               boost::test_tools::per_element());
    BOOST_REQUIRE(c.resolver.stubs.size() == 2u);
    BOOST_TEST(c.resolver.stubs[0].first == ".");
    BOOST_TEST(c.resolver.stubs[0].second == "127.0.0.1@5300");
    BOOST_TEST(c.resolver.stubs[1].first == "example.test");
    BOOST_TEST(c.resolver.stubs[1].second == "2001:db8::1");
}

BOOST_AUTO_TEST_CASE(trust_anchors) {
    Config c = parse("trust-anchor = " + kDs + "\n" +                 // owner, TTL, class, type
                     "trust-anchor = test DS 12345 13 2 " + kDigest + "\n" +  // relative owner, no TTL or class
                     "trust-anchor = test. IN DS 1 8 1 " + kDigest.substr(0, 40) + "\n" +
                     "trust-anchor = " + kDnskey + "\n" +
                     "trust-anchor = test. 60 IN DS 1 13 253 abcd ; a private digest type\n");
    BOOST_TEST(c.resolver.trust_anchors.size() == 5u);
    BOOST_TEST(c.resolver.trust_anchors[0] == kDs);
    BOOST_TEST(c.resolver.trust_anchors[3] == kDnskey);
    BOOST_TEST(c.resolver.root_anchor);
}

BOOST_AUTO_TEST_CASE(root_anchor) {
    BOOST_TEST(Config().resolver.root_anchor);
    BOOST_TEST(!parse("root-anchor = no\n").resolver.root_anchor);
    BOOST_TEST(parse("root-anchor = no\nroot-anchor = yes\n").resolver.root_anchor);
    Config c = parse("trust-anchor = " + kDs + "\nroot-anchor = no\n");
    BOOST_TEST(!c.resolver.root_anchor);
    BOOST_TEST(c.resolver.trust_anchors.size() == 1u);
}

BOOST_AUTO_TEST_CASE(paths_and_text) {
    Config c = parse(
        "# r\xc3\xa9solveur: comments may be UTF-8\r\n"
        "trust-anchor-file = /var/lib/danesmtp/ta\r\n"
        "auto-trust-anchor-file = /var/lib/unbound/root.key   # kept by unbound-anchor\n"
        "resolv-conf = /etc/resolv.conf\n"
        "\n"
        "   \t\n"
        "timeout = 100\n"
        "parallel-lookups = 64");
    BOOST_TEST(c.resolver.trust_anchor_file == "/var/lib/danesmtp/ta");
    BOOST_TEST(c.resolver.auto_trust_anchor_file == "/var/lib/unbound/root.key");
    BOOST_TEST(c.resolver.resolv_conf == "/etc/resolv.conf");
    BOOST_TEST(c.resolver.timeout_ms == 100u);
    BOOST_TEST(c.resolver.parallel == 64u);
    BOOST_TEST(parse("timeout = 9999999").resolver.timeout_ms == 9999999u);
}

BOOST_AUTO_TEST_CASE(size_limits) {
    // The whole text: 65536 bytes pass, one more is refused before any line.
    std::string comment = "#" + std::string(1022, 'x') + "\n";  // 1024 bytes
    std::string full;
    while (full.size() < kMaxConfigBytes) full += comment;
    BOOST_REQUIRE(full.size() == kMaxConfigBytes);
    BOOST_CHECK_NO_THROW(parse(full));
    Error e = rejection(full + "\n");
    BOOST_TEST(std::string(e.what()) == "f: configuration longer than 65536 bytes");
    BOOST_TEST((e.code() == ErrorCode::limit));

    // One line: 4096 bytes pass, 4097 are refused with the line number.
    BOOST_CHECK_NO_THROW(parse("timeout = 2500\n#" + std::string(4095, 'x') + "\n"));
    e = rejection("timeout = 2500\n#" + std::string(4096, 'x') + "\n");
    BOOST_TEST(std::string(e.what()) == "f:2: line longer than 4096 bytes");
    BOOST_TEST((e.code() == ErrorCode::limit));
    e = rejection("timeout = 2500\nforward = 127.0.0.1" + std::string(4096, ' ') + "\n");
    BOOST_TEST(std::string(e.what()).rfind("f:2: ", 0) == 0u);

    // List keys: 64 entries pass, the 65th is refused on its line.
    struct List {
        std::string key;
        std::string (*value)(std::size_t);
    };
    for (const List& l : {List{"forward", forwarder}, List{"stub", stub_entry},
                          List{"mandatory-dane", domain_entry}, List{"trust-anchor", anchor_entry}}) {
        BOOST_CHECK_NO_THROW(parse(lines(64, l.key, l.value)));
        e = rejection(lines(65, l.key, l.value));
        std::string what = e.what();
        BOOST_TEST(what.rfind("f:65: ", 0) == 0u, what);
        BOOST_TEST(what.find("more than 64 " + l.key + " entries") != std::string::npos, what);
        BOOST_TEST((e.code() == ErrorCode::limit));
    }
    // The bound is on the total: a file and a text add up.
    Config c;
    apply_config_text(lines(40, "forward", forwarder), "file", &c);
    BOOST_CHECK_THROW(apply_config_text(lines(25, "forward", forwarder), "text", &c), Error);
}

BOOST_AUTO_TEST_CASE(capi_config_file) {
    // /dev/zero: refused at once, without reading.
    CtxResult r = ctx_from_file("/dev/zero");
    BOOST_TEST(r.rc == DANESMTP_E_INVALID);
    BOOST_TEST(r.error.find("regular file") != std::string::npos, r.error);
    BOOST_TEST(r.seconds < 1.0);

    Scratch s;
    r = ctx_from_file(s.dir);  // a directory
    BOOST_TEST(r.rc == DANESMTP_E_INVALID);
    BOOST_TEST(r.error.find("not a regular file") != std::string::npos, r.error);

    std::string fifo = s.dir + "/fifo";  // a FIFO with no writer: not waited on
    BOOST_REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    s.files.push_back(fifo);
    r = ctx_from_file(fifo);
    BOOST_TEST(r.rc == DANESMTP_E_INVALID);
    BOOST_TEST(r.error.find("not a regular file") != std::string::npos, r.error);
    BOOST_TEST(r.seconds < 1.0);

    r = ctx_from_file(s.dir + "/missing");
    BOOST_TEST(r.rc == DANESMTP_E_INVALID);
    BOOST_TEST(r.error.find("No such file") != std::string::npos, r.error);

    std::string big = s.file("big.conf", std::string(kMaxConfigBytes + 100, '\n'));
    r = ctx_from_file(big);
    BOOST_TEST(r.rc == DANESMTP_E_LIMIT);
    BOOST_TEST(r.error == big + ": configuration longer than 65536 bytes");

    std::string bad = s.file("bad.conf", "timeout = 2500\nforward = 1.2.3.4@0\n");
    r = ctx_from_file(bad);
    BOOST_TEST(r.rc == DANESMTP_E_PARSE);
    BOOST_TEST(r.error.rfind(bad + ":2: ", 0) == 0u, r.error);

    std::string good = s.file("good.conf", "forward = ::1@5353\nroot-anchor = no\n");
    r = ctx_from_file(good);
    BOOST_TEST(r.rc == DANESMTP_OK, r.error);
}

BOOST_AUTO_TEST_SUITE_END()
