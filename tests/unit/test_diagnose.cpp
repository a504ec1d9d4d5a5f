// SPDX-License-Identifier: MIT
// test_diagnose.cpp - `danesmtp check`'s diagnosis (core/diagnose.hpp) on
// canned facts: which findings each publisher's mistake gives, the exit
// status, and the text and monitoring renderings against golden files
// (tests/unit/golden/; DANESMTP_UPDATE_GOLDEN=1 rewrites them). The lab
// test (tests/lab/cli_lab_test.sh) asserts the same codes from real DNS
// and real handshakes.
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "core/diagnose.hpp"

using namespace danesmtp::core;

namespace {

constexpr std::int64_t kNow = 1796256000;  // 2026-12-03T00:00:00Z

Bytes fill(std::uint8_t v, std::size_t n) { return Bytes(n, v); }

// A certificate whose associations are recognisable bytes: selector s,
// mtype m of certificate `tag` is fill(tag*16 + s*4 + m).
CertFacts cert(std::uint8_t tag, const std::string& subject, const std::string& issuer, const std::string& key) {
    CertFacts c;
    c.subject = subject;
    c.issuer = issuer;
    c.key = key;
    c.self_issued = subject == issuer;
    c.not_before = kNow - 86400 * 100;
    c.not_after = kNow + 86400 * 300;
    for (std::uint8_t s = 0; s < 2; ++s) {
        c.association[s][0] = fill(static_cast<std::uint8_t>(tag * 16 + s * 4), 40);
        c.association[s][1] = fill(static_cast<std::uint8_t>(tag * 16 + s * 4 + 1), 32);
        c.association[s][2] = fill(static_cast<std::uint8_t>(tag * 16 + s * 4 + 2), 64);
    }
    return c;
}

TlsaRecord rec(std::uint8_t u, std::uint8_t s, std::uint8_t m, const Bytes& data) {
    TlsaRecord r;
    r.usage = u;
    r.selector = s;
    r.mtype = m;
    r.data = data;
    return r;
}

// One domain, one MX host "mx.example.test" with address 192.0.2.1, DANE.
CheckFacts one_host(const std::vector<TlsaRecord>& records) {
    CheckFacts f;
    f.now = kNow;
    f.plan.domain = "example.test";
    f.plan.port = 25;
    f.plan.status = DomainStatus::ok;
    f.plan.mx_security = DnsSecurity::secure;
    HostPlan h;
    h.name = "mx.example.test";
    h.preference = 10;
    h.addresses = {"192.0.2.1"};
    h.address_security = DnsSecurity::secure;
    h.verdict = HostVerdict::dane;
    h.reason = "1 usable TLSA record(s)";
    h.tlsa_base = "mx.example.test";
    h.records = records;
    h.verified_possible = true;
    f.plan.hosts.push_back(h);
    f.mx.owner = "example.test";
    f.mx.security = DnsSecurity::secure;
    f.mx.ttl = 3600;
    f.mx.sig_expires = kNow + 86400 * 30;
    HostFacts hf;
    RrsetFacts a;
    a.owner = "mx.example.test";
    a.security = DnsSecurity::secure;
    a.sig_expires = kNow + 86400 * 30;
    hf.addresses.push_back(a);
    hf.tlsa.owner = "_25._tcp.mx.example.test";
    hf.tlsa.security = DnsSecurity::secure;
    hf.tlsa.ttl = 300;
    hf.tlsa.sig_expires = kNow + 86400 * 30;
    hf.tlsa.tlsa = records;
    f.hosts.push_back(hf);
    return f;
}

// A handshake that presented leaf (tag 1) + intermediate (tag 2).
ProbeFacts handshake(const std::string& address, bool authenticated, const std::string& reason,
                     std::uint8_t leaf_tag = 1, const std::string& key = "EC prime256v1") {
    ProbeFacts p;
    p.address = address;
    p.algorithms = "any";
    p.connected = p.starttls = p.tls = true;
    p.tls_version = "TLSv1.3";
    p.cipher = "TLS_AES_256_GCM_SHA384";
    p.chain.push_back(cert(leaf_tag, "CN=mx.example.test", "CN=Example CA", key));
    p.chain.push_back(cert(2, "CN=Example CA", "CN=Example Root", "EC prime256v1"));
    p.judged = true;
    p.verdict.outcome = authenticated ? Outcome::authenticated : Outcome::not_authenticated;
    p.verdict.reason = reason;
    if (authenticated) {
        p.verdict.depth = 0;
        p.verdict.record = rec(3, 1, 1, p.chain[0].association[1][1]);
    }
    return p;
}

std::set<std::string> codes(const std::vector<Finding>& v) {
    std::set<std::string> s;
    for (const auto& f : v) s.insert(finding_code(f.code));
    return s;
}

bool has(const std::vector<Finding>& v, const char* code) { return codes(v).count(code) != 0; }

void golden(const std::string& name, const std::string& text) {
    const char* dir = std::getenv("DANESMTP_SOURCE");
    std::string path = std::string(dir ? dir : ".") + "/tests/unit/golden/" + name;
    if (std::getenv("DANESMTP_UPDATE_GOLDEN")) {
        std::ofstream(path) << text;
        return;
    }
    std::ifstream in(path);
    BOOST_REQUIRE_MESSAGE(in, "golden file " << path << " missing (DANESMTP_UPDATE_GOLDEN=1 writes it)");
    std::stringstream ss;
    ss << in.rdbuf();
    BOOST_CHECK_EQUAL(text, ss.str());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(check_diagnosis)

BOOST_AUTO_TEST_CASE(catalogue_codes_are_unique_and_well_formed) {
    std::set<std::string> seen;
    BOOST_REQUIRE_GT(finding_catalogue_size(), 40u);
    for (std::size_t i = 0; i < finding_catalogue_size(); ++i) {
        std::string c = finding_code(finding_at(i));
        BOOST_CHECK_MESSAGE(seen.insert(c).second, c << " twice");
        BOOST_CHECK_MESSAGE(c.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos, c);
        BOOST_CHECK(*finding_title(finding_at(i)) != '\0');
    }
}

BOOST_AUTO_TEST_CASE(verified_with_next_key) {
    CertFacts leaf = cert(1, "CN=mx.example.test", "CN=Example CA", "EC prime256v1");
    CheckFacts f = one_host({rec(3, 1, 1, leaf.association[1][1]), rec(3, 1, 1, fill(0xEE, 32))});
    f.hosts[0].probes.push_back(handshake("192.0.2.1", true, "matches the leaf"));
    auto v = diagnose(f);
    BOOST_CHECK((codes(v) == std::set<std::string>{"next-key-published", "verified"}));
    BOOST_CHECK_EQUAL(check_exit_status(f, v), 0);
    int st = -1;
    std::string line = render_nagios(f, v, &st);
    BOOST_CHECK_EQUAL(st, 0);
    golden("verified.nagios", line);
}

BOOST_AUTO_TEST_CASE(one_key_only_is_a_warning) {
    CertFacts leaf = cert(1, "CN=mx.example.test", "CN=Example CA", "EC prime256v1");
    CheckFacts f = one_host({rec(3, 1, 1, leaf.association[1][1]), rec(3, 0, 1, leaf.association[0][1])});
    f.hosts[0].probes.push_back(handshake("192.0.2.1", true, "matches the leaf"));
    auto v = diagnose(f);
    BOOST_CHECK(has(v, "single-key"));  // two records, one key
    BOOST_CHECK_EQUAL(check_exit_status(f, v), 5);
}

BOOST_AUTO_TEST_CASE(dane_ee_of_the_ca) {
    CertFacts inter = cert(2, "CN=Example CA", "CN=Example Root", "EC prime256v1");
    CheckFacts f = one_host({rec(3, 1, 1, inter.association[1][1])});
    f.hosts[0].probes.push_back(handshake("192.0.2.1", false, "no TLSA record matches"));
    auto v = diagnose(f);
    BOOST_CHECK(has(v, "ee-matches-ca"));
    BOOST_CHECK(has(v, "tlsa-no-match"));
    BOOST_CHECK(!has(v, "verified"));
    BOOST_CHECK_EQUAL(check_exit_status(f, v), 1);
    // The fix names the record to publish for the key presented.
    bool fix_found = false;
    for (const auto& x : v)
        if (x.code == FindingCode::tlsa_no_match)
            fix_found = x.fix.find("_25._tcp.mx.example.test. IN TLSA 3 1 1 " +
                                   hex_encode(cert(1, "", "", "").association[1][1])) != std::string::npos;
    BOOST_CHECK(fix_found);
    RenderOptions o;
    golden("eeonca.txt", render_text(f, v, o));
    int st = -1;
    golden("eeonca.nagios", render_nagios(f, v, &st));
    BOOST_CHECK_EQUAL(st, 2);
    golden("eeonca.json", render_json(f, v) + "\n");
}

BOOST_AUTO_TEST_CASE(selector_swapped_and_chain_file_hashed) {
    CertFacts leaf = cert(1, "CN=mx.example.test", "CN=Example CA", "EC prime256v1");
    ProbeFacts p = handshake("192.0.2.1", false, "no TLSA record matches");
    p.chain_sha256[1] = fill(0x77, 32);  // the PEM file's digest
    CheckFacts f = one_host({rec(3, 1, 1, leaf.association[0][1]), rec(3, 1, 1, fill(0x77, 32))});
    f.hosts[0].probes.push_back(p);
    auto v = diagnose(f);
    BOOST_CHECK(has(v, "selector-swapped"));
    BOOST_CHECK(has(v, "chain-file-hashed"));
    BOOST_CHECK(has(v, "tlsa-no-match"));
}

BOOST_AUTO_TEST_CASE(digest_agility_trap) {
    CertFacts leaf = cert(1, "CN=mx.example.test", "CN=Example CA", "EC prime256v1");
    CheckFacts f = one_host({rec(3, 1, 1, leaf.association[1][1]), rec(3, 1, 2, fill(0x55, 64))});
    f.hosts[0].probes.push_back(handshake("192.0.2.1", false, "no TLSA record matches"));
    auto v = diagnose(f);
    BOOST_CHECK(has(v, "digest-agility-trap"));
    // Both digests matching: no trap.
    CheckFacts g = one_host({rec(3, 1, 1, leaf.association[1][1]), rec(3, 1, 2, leaf.association[1][2])});
    g.hosts[0].probes.push_back(handshake("192.0.2.1", true, "matches"));
    BOOST_CHECK(!has(diagnose(g), "digest-agility-trap"));
}

BOOST_AUTO_TEST_CASE(family_and_algorithm_mismatch) {
    CertFacts leaf = cert(1, "CN=mx.example.test", "CN=Example CA", "EC prime256v1");
    CheckFacts f = one_host({rec(3, 1, 1, leaf.association[1][1])});
    f.plan.hosts[0].addresses = {"192.0.2.1", "2001:db8::1"};
    f.hosts[0].probes.push_back(handshake("192.0.2.1", true, "matches"));
    f.hosts[0].probes.push_back(handshake("2001:db8::1", false, "no match", 3));
    auto v = diagnose(f);
    BOOST_CHECK(has(v, "family-mismatch"));
    BOOST_CHECK(!has(v, "algorithm-mismatch"));
    CheckFacts g = one_host({rec(3, 1, 1, leaf.association[1][1])});
    g.hosts[0].probes.push_back(handshake("192.0.2.1", true, "matches"));
    ProbeFacts rsa = handshake("192.0.2.1", false, "no match", 4, "RSA 2048");
    rsa.algorithms = "RSA";
    g.hosts[0].probes.push_back(rsa);
    auto w = diagnose(g);
    BOOST_CHECK(has(w, "algorithm-mismatch"));
    BOOST_CHECK(!has(w, "family-mismatch"));
}

BOOST_AUTO_TEST_CASE(dane_ta_not_sent_and_expiring) {
    CertFacts inter = cert(2, "CN=Example CA", "CN=Example Root", "EC prime256v1");
    CheckFacts f = one_host({rec(2, 1, 1, inter.association[1][1])});
    ProbeFacts p = handshake("192.0.2.1", false, "no TLSA record matches");
    p.chain.pop_back();  // the leaf alone
    f.hosts[0].probes.push_back(p);
    BOOST_CHECK(has(diagnose(f), "ta-not-sent"));
    // Sent, authenticated, but the CA certificate expires in 3 days.
    CheckFacts g = one_host({rec(2, 1, 1, inter.association[1][1])});
    ProbeFacts q = handshake("192.0.2.1", true, "matches the CA");
    q.verdict.record = rec(2, 1, 1, inter.association[1][1]);
    q.verdict.depth = 1;
    q.chain[1].not_after = kNow + 3 * 86400;
    g.hosts[0].probes.push_back(q);
    auto v = diagnose(g);
    BOOST_CHECK(has(v, "cert-expiring"));
    BOOST_CHECK(has(v, "verified"));
    BOOST_CHECK(!has(v, "single-key"));  // DANE-TA survives key changes
}

BOOST_AUTO_TEST_CASE(rrsig_expiring_within_the_window) {
    CertFacts leaf = cert(1, "CN=mx.example.test", "CN=Example CA", "EC prime256v1");
    CheckFacts f = one_host({rec(3, 1, 1, leaf.association[1][1]), rec(3, 1, 1, fill(0xEE, 32))});
    f.hosts[0].probes.push_back(handshake("192.0.2.1", true, "matches"));
    f.hosts[0].tlsa.sig_expires = kNow + 2 * 86400;
    auto v = diagnose(f);
    BOOST_CHECK(has(v, "rrsig-expiring"));
    f.warn_days = 1;
    BOOST_CHECK(!has(diagnose(f), "rrsig-expiring"));
}

BOOST_AUTO_TEST_CASE(tlsa_at_the_wrong_names) {
    CheckFacts f = one_host({});
    f.plan.hosts[0].verdict = HostVerdict::may;
    RrsetFacts e;
    e.owner = "_25._tcp.example.test";
    e.security = DnsSecurity::secure;
    e.tlsa = {rec(3, 1, 1, fill(1, 32))};
    f.hosts[0].elsewhere.push_back(e);
    e.owner = "_587._tcp.mx.example.test";
    f.hosts[0].elsewhere.push_back(e);
    auto v = diagnose(f);
    BOOST_CHECK(has(v, "tlsa-wrong-owner"));
    BOOST_CHECK(has(v, "tlsa-wrong-port"));
    BOOST_CHECK(!has(v, "no-tlsa"));
}

BOOST_AUTO_TEST_CASE(authoritative_servers) {
    CertFacts leaf = cert(1, "CN=mx.example.test", "CN=Example CA", "EC prime256v1");
    TlsaRecord now = rec(3, 1, 1, leaf.association[1][1]), next = rec(3, 1, 1, fill(0xEE, 32));
    CheckFacts f = one_host({now, next});
    f.hosts[0].probes.push_back(handshake("192.0.2.1", true, "matches"));
    f.hosts[0].zone = "example.test";
    AuthFacts a;
    a.server = "192.0.2.53";
    a.via = "NS ns1.example.test";
    a.answered = true;
    a.serial = 7;
    a.tlsa = {to_text(now), to_text(next)};
    f.hosts[0].auth = {a, a};
    f.hosts[0].auth[1].server = "192.0.2.54";
    auto v = diagnose(f);
    BOOST_CHECK(!has(v, "auth-disagree"));
    BOOST_CHECK(!has(v, "auth-failed"));
    // The second server lags: older serial, without the next key.
    f.hosts[0].auth[1].serial = 6;
    f.hosts[0].auth[1].tlsa = {to_text(now)};
    v = diagnose(f);
    BOOST_CHECK(has(v, "auth-disagree"));
    for (const auto& x : v)
        if (x.code == FindingCode::auth_disagree) BOOST_CHECK_EQUAL(x.evidence.size(), 2u);
    // Same records, only the serial differs: normal for a while after any
    // change (and for ever with several signers): not a finding.
    f.hosts[0].auth[1].tlsa = f.hosts[0].auth[0].tlsa;
    BOOST_CHECK(!has(diagnose(f), "auth-disagree"));
    // A server that answers SERVFAIL.
    f.hosts[0].auth[1] = a;
    f.hosts[0].auth[1].answered = false;
    f.hosts[0].auth[1].error = "TLSA: SERVFAIL for _25._tcp.mx.example.test";
    v = diagnose(f);
    BOOST_CHECK(has(v, "auth-failed"));
    BOOST_CHECK(!has(v, "auth-disagree"));
    BOOST_CHECK_EQUAL(check_exit_status(f, v), 1);
}

BOOST_AUTO_TEST_CASE(validator_reasons_for_a_person) {
    // Texts as libunbound 1.17 gives them for the lab's bogus cases.
    BogusReason ds = explain_bogus(
        "validation failure <bogus.test. MX IN>: no keys have a DS with algorithm ECDSAP256SHA256 from "
        "127.0.0.1 and 127.0.0.1 for key bogus.test. while building chain of trust");
    BOOST_CHECK(ds.known);
    BOOST_CHECK_EQUAL(ds.zone, "bogus.test");
    BOOST_CHECK(ds.what.find("DS record in the parent zone matches no DNSKEY of bogus.test") != std::string::npos);
    BogusReason sig = explain_bogus(
        "validation failure <_2525._tcp.mx.bogustlsa.dane.test. TLSA IN>: ECDSA signature verification failed "
        "from 127.0.0.1 and 127.0.0.1 and 127.0.0.1");
    BOOST_CHECK(sig.known);
    BOOST_CHECK_EQUAL(sig.zone, "_2525._tcp.mx.bogustlsa.dane.test");
    BOOST_CHECK(sig.what.find("does not verify") != std::string::npos);
    BogusReason exp = explain_bogus("validation failure <expired.test. MX IN>: signature expired from 127.0.0.1 "
                                    "for key expired.test. while building chain of trust");
    BOOST_CHECK(exp.known);
    BOOST_CHECK_EQUAL(exp.zone, "expired.test");
    BOOST_CHECK(exp.what.find("has expired") != std::string::npos);
    BogusReason other = explain_bogus("something new");
    BOOST_CHECK(!other.known);
    BOOST_CHECK(!other.fix.empty());
}

BOOST_AUTO_TEST_CASE(weak_zone_algorithms) {
    CheckFacts f = one_host({rec(3, 1, 1, fill(1, 32))});
    ZoneFacts z;
    z.name = "example.test";
    z.security = DnsSecurity::secure;
    z.ds.push_back({12345, 13, 2});
    z.dnskeys.push_back({12345, 257, 13});
    f.zones.push_back(z);
    BOOST_CHECK(!has(diagnose(f), "zone-algorithm-weak"));
    f.zones[0].dnskeys.push_back({54321, 256, 5});  // RSASHA1
    f.zones[0].ds.push_back({12345, 13, 1});        // SHA-1 digest
    auto v = diagnose(f);
    BOOST_CHECK(has(v, "zone-algorithm-weak"));
    for (const auto& x : v)
        if (x.code == FindingCode::zone_algorithm_weak) BOOST_CHECK_EQUAL(x.evidence.size(), 2u);
    BOOST_CHECK_EQUAL(algorithm_name(13), "ECDSAP256SHA256(13)");
    BOOST_CHECK_EQUAL(algorithm_name(200), "algorithm(200)");
}

BOOST_AUTO_TEST_CASE(domain_level_outcomes) {
    CheckFacts f = one_host({});
    f.plan.status = DomainStatus::defer;
    f.plan.hosts.clear();
    f.hosts.clear();
    f.mx.security = DnsSecurity::bogus;
    f.mx.why = "signature expired";
    auto v = diagnose(f);
    BOOST_CHECK((codes(v) == std::set<std::string>{"mx-bogus"}));
    BOOST_CHECK_EQUAL(check_exit_status(f, v), 3);
    f.mx.security = DnsSecurity::failed;
    BOOST_CHECK((codes(diagnose(f)) == std::set<std::string>{"mx-lookup-failed"}));
    f.plan.status = DomainStatus::null_mx;
    f.mx.security = DnsSecurity::secure;
    v = diagnose(f);
    BOOST_CHECK((codes(v) == std::set<std::string>{"null-mx"}));
    BOOST_CHECK_EQUAL(check_exit_status(f, v), 4);
}

BOOST_AUTO_TEST_CASE(a_chain_not_judged_is_never_verified) {
    CertFacts leaf = cert(1, "CN=mx.example.test", "CN=Example CA", "EC prime256v1");
    CheckFacts f = one_host({rec(3, 1, 1, leaf.association[1][1])});
    f.plan.hosts[0].addresses = {"192.0.2.1", "192.0.2.2"};
    f.hosts[0].probes.push_back(handshake("192.0.2.1", true, "matches"));
    ProbeFacts cut = handshake("192.0.2.2", false, "");
    cut.judged = false;  // a certificate over the size bound: the chain was not kept whole
    cut.error = "chain not kept whole: certificate 1 is over 65536 bytes";
    f.hosts[0].probes.push_back(cut);
    auto v = diagnose(f);
    BOOST_CHECK(has(v, "chain-not-judged"));
    BOOST_CHECK(!has(v, "verified"));
    BOOST_CHECK_EQUAL(check_exit_status(f, v), 1);
}

BOOST_AUTO_TEST_CASE(hostile_text_is_escaped) {
    CertFacts leaf = cert(1, "CN=mx\x1b[31m.example.test", "CN=Example CA", "EC prime256v1");
    CheckFacts f = one_host({rec(3, 1, 1, fill(0xEE, 32))});
    ProbeFacts p = handshake("192.0.2.1", false, "no match");
    p.chain[0] = leaf;
    f.hosts[0].probes.push_back(p);
    auto v = diagnose(f);
    RenderOptions o;
    std::string text = render_text(f, v, o);
    BOOST_CHECK(text.find('\x1b') == std::string::npos);
    std::string json = render_json(f, v);
    BOOST_CHECK(json.find('\x1b') == std::string::npos);
    BOOST_CHECK(json.find("\\u001b") != std::string::npos);
    // Bytes past ASCII (C1 controls, Latin-1, broken UTF-8) never reach the
    // output raw: JSON stays valid, terminals see no escape sequences.
    f.hosts[0].probes[0].chain[0].subject = "CN=\x9b\xe9\xc2\x9b";
    v = diagnose(f);
    for (const std::string& out : {render_json(f, v), render_text(f, v, o)})
        for (unsigned char c : out) BOOST_CHECK(c < 0x80);
}

BOOST_AUTO_TEST_SUITE_END()
