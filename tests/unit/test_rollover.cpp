// SPDX-License-Identifier: MIT
// test_rollover.cpp - `danesmtp rollover`'s decisions (core/rollover.hpp) on
// canned facts: the gate's states and exit statuses, the update computed for
// publish, the refusals; and TSIG key parsing (core/tsigkey.hpp). The lab
// test (tests/lab/rollover_test.sh) runs the same steps against BIND 9, its
// NSD secondary and a lab SMTP server.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>

#include "core/error.hpp"
#include "core/rollover.hpp"
#include "core/tsigkey.hpp"

using namespace danesmtp::core;

namespace {

constexpr std::int64_t kNow = 1796400000;
const std::string kA = "3 1 1 " + std::string(64, 'a');
const std::string kB = "3 1 1 " + std::string(64, 'b');
const std::string kTa = "2 1 1 " + std::string(64, 'c');
const std::string kTa2 = "2 1 1 " + std::string(64, 'd');

RolloverKeyFacts key(const std::string& file, const std::string& ee, const std::string& ta = "") {
    RolloverKeyFacts k;
    k.given = true;
    k.file = file;
    k.records["3 1 1"] = ee;
    if (!ta.empty()) {
        k.records["2 1 1"] = ta;
        k.has_issuer = true;
    }
    return k;
}

RolloverServerFacts server(const std::string& addr, std::vector<std::string> tlsa, std::int64_t serial = 7) {
    RolloverServerFacts s;
    s.server = addr;
    s.via = "NS ns.example.org";
    s.answered = true;
    s.serial = serial;
    std::sort(tlsa.begin(), tlsa.end());
    s.tlsa = tlsa;
    s.ttl = 300;
    s.tlsa_signed = true;
    return s;
}

// A secure zone, A published everywhere, the gate's facts for NEXT = B.
RolloverFacts base(RolloverAction action) {
    RolloverFacts f;
    f.action = action;
    f.host = "mx.example.org";
    f.owner = "_25._tcp.mx.example.org";
    f.now = kNow;
    f.tlsa_security = DnsSecurity::secure;
    f.published = {kA};
    f.zone = "example.org";
    f.zone_security = DnsSecurity::secure;
    f.primary = "ns1.example.org";
    f.soa_refresh = 3600;
    f.servers = {server("192.0.2.1", {kA}), server("192.0.2.2", {kA})};
    f.current = key("a.pem", kA);
    f.next = key("b.pem", kB);
    return f;
}

std::vector<std::string> codes(const RolloverOutcome& o) {
    std::vector<std::string> v;
    for (const auto& x : o.findings) v.push_back(finding_code(x.code));
    return v;
}

bool has(const RolloverOutcome& o, const char* code) {
    auto c = codes(o);
    return std::find(c.begin(), c.end(), code) != c.end();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(rollover)

BOOST_AUTO_TEST_CASE(combos_follow_what_is_published) {
    BOOST_TEST(rollover_combos({}) == std::vector<std::string>{"3 1 1"});
    BOOST_TEST(rollover_combos({kA, kTa}) == (std::vector<std::string>{"2 1 1", "3 1 1"}));
    // PKIX usages and malformed records do not count: SMTP ignores them.
    BOOST_TEST(rollover_combos({"1 1 1 " + std::string(64, 'e'), "3 1 1 abcd"}) == std::vector<std::string>{"3 1 1"});
}

BOOST_AUTO_TEST_CASE(plan_publishes_both_then_keeps_next) {
    RolloverFacts f = base(RolloverAction::plan);
    f.published = {kA, "3 1 2 " + std::string(128, 'f')};  // a SHA2-512 record beside: another combination
    f.current.records["3 1 2"] = "3 1 2 " + std::string(128, 'f');
    f.next.records["3 1 2"] = "3 1 2 " + std::string(128, '9');
    RolloverOutcome o = rollover_evaluate(f);
    BOOST_TEST(o.status == 0);
    BOOST_TEST(o.publish_now.size() == 4u);
    BOOST_TEST(o.missing == (std::vector<std::string>{kB, "3 1 2 " + std::string(128, '9')}));
    BOOST_TEST(o.keep_after == (std::vector<std::string>{kB, "3 1 2 " + std::string(128, '9')}));
    BOOST_TEST(o.remove_after.size() == 2u);
    BOOST_TEST(o.ttl == 300u);
    std::string text = render_rollover_text(f, o);
    BOOST_TEST(text.find("Step 1, now") != std::string::npos);
    BOOST_TEST(text.find("in sync now at serial 7") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(plan_refuses_the_same_key_and_a_key_of_no_certificate) {
    RolloverFacts f = base(RolloverAction::plan);
    f.next = key("a2.pem", kA);
    RolloverOutcome o = rollover_evaluate(f);
    BOOST_TEST(has(o, "roll-same-key"));
    BOOST_TEST(o.status == 5);
    f = base(RolloverAction::plan);
    f.next.key_mismatch = true;
    BOOST_TEST(rollover_evaluate(f).status == 5);
    BOOST_TEST(has(rollover_evaluate(f), "roll-key-mismatch"));
}

BOOST_AUTO_TEST_CASE(dane_ta_in_use_needs_the_issuer) {
    RolloverFacts f = base(RolloverAction::plan);
    f.published = {kTa};
    f.current = key("a.pem", kA, kTa);
    f.next = key("b.pem", kB);  // a leaf alone: no issuer to make "2 1 1" of
    RolloverOutcome o = rollover_evaluate(f);
    BOOST_TEST(has(o, "roll-no-issuer"));
    BOOST_TEST(o.status == 5);
    // A new issuing CA: both "2 1 1" records now, the new one after.
    f.next = key("b.pem", kB, kTa2);
    o = rollover_evaluate(f);
    BOOST_TEST(o.status == 0);
    BOOST_TEST(o.missing == std::vector<std::string>{kTa2});
    BOOST_TEST(o.keep_after == std::vector<std::string>{kTa2});
}

BOOST_AUTO_TEST_CASE(dns_that_is_not_secure) {
    RolloverFacts f = base(RolloverAction::check);
    f.tlsa_security = DnsSecurity::bogus;
    f.tlsa_why = "signature expired";
    RolloverOutcome o = rollover_evaluate(f);
    BOOST_TEST(has(o, "roll-not-secure"));
    BOOST_TEST(o.status == 4);
    f = base(RolloverAction::check);
    f.zone_security = f.tlsa_security = DnsSecurity::insecure;
    BOOST_TEST(has(rollover_evaluate(f), "roll-zone-unsigned"));
    f.zone_has_dnskey = true;
    BOOST_TEST(has(rollover_evaluate(f), "roll-no-ds"));
    BOOST_TEST(rollover_evaluate(f).status == 4);
}

BOOST_AUTO_TEST_CASE(the_gate) {
    // Not published.
    RolloverFacts f = base(RolloverAction::check);
    BOOST_TEST(!rollover_next_everywhere(f));
    RolloverOutcome o = rollover_evaluate(f);
    BOOST_TEST(has(o, "roll-next-missing"));
    BOOST_TEST(o.status == 3);
    // On the primary only: a secondary lags (whatever the resolver saw).
    f.servers[0].tlsa = {kA, kB};
    o = rollover_evaluate(f);
    BOOST_TEST(has(o, "roll-server-lagging"));
    BOOST_TEST(!has(o, "roll-next-missing"));
    BOOST_TEST(o.status == 3);
    // A server that does not answer keeps the gate closed too.
    f.published = {kA, kB};
    f.servers[1] = server("192.0.2.2", {kA, kB});
    f.servers[1].answered = false;
    f.servers[1].error = "timeout";
    BOOST_TEST(!rollover_next_everywhere(f));
    BOOST_TEST(rollover_evaluate(f).status == 3);
    // Everywhere, first seen now: wait the TTL.
    f.servers[1] = server("192.0.2.2", {kA, kB});
    BOOST_TEST(rollover_next_everywhere(f));
    o = rollover_evaluate(f);
    BOOST_TEST(has(o, "roll-wait"));
    BOOST_TEST(o.status == 1);
    BOOST_TEST(o.wait_left == 300);
    // Seen 299 s ago: one second left; 300 s ago: open.
    f.first_seen = kNow - 299;
    BOOST_TEST(rollover_evaluate(f).wait_left == 1);
    f.first_seen = kNow - 300;
    o = rollover_evaluate(f);
    BOOST_TEST(has(o, "roll-gate-open"));
    BOOST_TEST(o.status == 0);
    // The TTL is the largest any server serves.
    f.servers[1].ttl = 3600;
    BOOST_TEST(rollover_evaluate(f).status == 1);
    // A server that serves it without the RRSIG does not count.
    f.servers[1].ttl = 300;
    f.servers[1].tlsa_signed = false;
    BOOST_TEST(!rollover_next_everywhere(f));
    BOOST_TEST(rollover_evaluate(f).status == 3);
    f.servers[1].tlsa_signed = true;
    // A server that could not even be found (its NS address lookup failed).
    RolloverServerFacts unknown;
    unknown.server = "?";
    unknown.error = "IPv6 addresses of ns2.example.org could not be looked up";
    f.servers.push_back(unknown);
    BOOST_TEST(rollover_evaluate(f).status == 3);
    f.servers.pop_back();
    // A first sighting in the future counts as now.
    f.first_seen = kNow + 1000000;
    BOOST_TEST(rollover_evaluate(f).wait_left == 300);
    f.first_seen = kNow - 300;
    // No state file: closed, whatever else holds.
    f.servers[1].ttl = 300;
    f.state_error = "cannot write the state file";
    o = rollover_evaluate(f);
    BOOST_TEST(has(o, "roll-state-error"));
    BOOST_TEST(o.status == 4);
}

BOOST_AUTO_TEST_CASE(no_record_of_next_keeps_the_gate_closed) {
    // "3 0 1" published, NEXT a bare key: no record can be made of it.
    RolloverFacts f = base(RolloverAction::check);
    f.published = {"3 0 1 " + std::string(64, 'a')};
    f.servers = {server("192.0.2.1", f.published)};
    f.next = RolloverKeyFacts{};
    f.next.given = true;
    f.next.file = "key.pem";
    f.next.records["3 1 1"] = kB;
    RolloverOutcome o = rollover_evaluate(f);
    BOOST_TEST(has(o, "roll-no-record"));
    BOOST_TEST(o.status == 5);
    // Whatever the path, check never says 0 without opening the gate.
    f.next.given = false;
    BOOST_TEST(rollover_evaluate(f).status != 0);
}

BOOST_AUTO_TEST_CASE(after_the_switch_and_too_early) {
    RolloverFacts f = base(RolloverAction::check);
    f.published = {kA, kB};
    f.servers = {server("192.0.2.1", {kA, kB}), server("192.0.2.2", {kA, kB})};
    f.first_seen = kNow - 1000;
    f.probed = true;
    RolloverProbeFacts p;
    p.address = "192.0.2.25";
    p.ok = true;
    p.leaf = kB;
    p.matches_published = p.matches_next = true;
    f.probes = {p};
    RolloverOutcome o = rollover_evaluate(f);
    BOOST_TEST(has(o, "roll-switched"));
    BOOST_TEST(has(o, "roll-old-removable"));
    BOOST_TEST(o.status == 0);
    // Switched before B was published: DANE senders defer now.
    f = base(RolloverAction::check);
    f.probed = true;
    p.matches_published = false;
    f.probes = {p};
    o = rollover_evaluate(f);
    BOOST_TEST(has(o, "roll-early-switch"));
    BOOST_TEST(o.status == 3);
}

BOOST_AUTO_TEST_CASE(publish_add_and_remove) {
    RolloverFacts f = base(RolloverAction::add);
    f.current = RolloverKeyFacts{};
    f.published_from = "192.0.2.1";
    f.dry_run = true;
    RolloverOutcome o = rollover_evaluate(f);
    BOOST_TEST(o.change.add == std::vector<std::string>{kB});
    BOOST_TEST(o.change.remove.empty());
    BOOST_TEST(o.status == 0);
    f.update_server = "192.0.2.1@5353";
    f.update_ttl = 300;
    std::string script = render_nsupdate(f, o);
    BOOST_TEST(script == "server 192.0.2.1 5353\nzone example.org.\nupdate add _25._tcp.mx.example.org. 300 IN TLSA " + kB + "\nsend\n");
    // Already there: nothing to send.
    f.published = {kA, kB};
    o = rollover_evaluate(f);
    BOOST_TEST(o.change.add.empty());
    BOOST_TEST(has(o, "roll-nothing-to-do"));
    BOOST_TEST(render_nsupdate(f, o).empty());
    // The update server's own RRset unknown: everything is sent (harmless).
    f.published_from.clear();
    BOOST_TEST(rollover_change(f).add == std::vector<std::string>{kB});
    // The answers of a real update.
    f.published = {kA};
    f.published_from = "192.0.2.1";
    f.dry_run = false;
    f.update_sent = true;
    f.update_rcode = "NOERROR";
    BOOST_TEST(has(rollover_evaluate(f), "roll-updated"));
    f.update_rcode = "REFUSED";
    BOOST_TEST(has(rollover_evaluate(f), "roll-update-refused"));
    BOOST_TEST(rollover_evaluate(f).status == 6);
    f.update_tsig_refused = true;
    f.update_error = "BADSIG";
    BOOST_TEST(has(rollover_evaluate(f), "roll-tsig-refused"));
    f.update_tsig_refused = false;
    f.update_sent = false;
    f.update_error = "connection refused";
    BOOST_TEST(has(rollover_evaluate(f), "roll-update-failed"));
    BOOST_TEST(rollover_evaluate(f).status == 6);
}

BOOST_AUTO_TEST_CASE(remove_only_when_every_address_stays_matched) {
    RolloverFacts f = base(RolloverAction::remove);
    f.next = RolloverKeyFacts{};
    f.published = {kA, kB};
    f.published_from = "192.0.2.1";
    f.dry_run = true;
    f.probed = true;
    RolloverProbeFacts p;
    p.address = "192.0.2.25";
    p.ok = true;
    p.leaf = kA;
    p.matches_published = true;
    p.matches_remaining = false;  // still on A
    f.probes = {p};
    RolloverOutcome o = rollover_evaluate(f);
    BOOST_TEST(has(o, "roll-remove-unsafe"));
    BOOST_TEST(o.status == 3);
    f.probes[0].matches_remaining = true;  // switched to B
    o = rollover_evaluate(f);
    BOOST_TEST(o.change.remove == std::vector<std::string>{kA});
    BOOST_TEST(o.status == 0);
    // An address that could not be probed: not proven safe.
    f.probes.push_back(RolloverProbeFacts{});
    f.probes.back().address = "192.0.2.26";
    f.probes.back().error = "connection refused";
    BOOST_TEST(has(rollover_evaluate(f), "roll-remove-unsafe"));
    // Removing the last record.
    f = base(RolloverAction::remove);
    f.published_from = "192.0.2.1";
    f.dry_run = true;
    BOOST_TEST(has(rollover_evaluate(f), "roll-remove-unsafe"));
}

BOOST_AUTO_TEST_CASE(json_is_one_object_with_the_schema) {
    RolloverFacts f = base(RolloverAction::check);
    f.tlsa_why = "odd \x01 bytes \xff";
    f.tlsa_security = DnsSecurity::bogus;
    std::string j = render_rollover_json(f, rollover_evaluate(f));
    BOOST_TEST(j.rfind("{\"schema\":\"danesmtp-rollover/1\"", 0) == 0u);
    BOOST_TEST(j.find("\\u0001") != std::string::npos);
    for (unsigned char c : j) BOOST_TEST((c >= 0x20 && c < 0x7f));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tsig_key)

BOOST_AUTO_TEST_CASE(bind_key_clause) {
    TsigKey k = parse_tsig_key(
        "# made by tsig-keygen\nkey \"Roll-Key\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0c2VjcmV0\";\n};\n");
    BOOST_TEST(k.name == "roll-key.");
    BOOST_TEST(k.algorithm == "hmac-sha256.");
    BOOST_TEST(k.secret == "c2VjcmV0c2VjcmV0");
    k = parse_tsig_key("/* c */ key k.example. { secret \"AAAA\"; algorithm HMAC-SHA512; }; // more\nkey other { };");
    BOOST_TEST(k.name == "k.example.");
    BOOST_TEST(k.algorithm == "hmac-sha512.");
}

BOOST_AUTO_TEST_CASE(nsupdate_y_text) {
    TsigKey k = parse_tsig_key("hmac-sha1:name:AAAA");
    BOOST_TEST(k.name == "name.");
    BOOST_TEST(k.algorithm == "hmac-sha1.");
    k = parse_tsig_key("name:AAAA\n");
    BOOST_TEST(k.algorithm == "hmac-md5.");  // nsupdate -y's default
}

BOOST_AUTO_TEST_CASE(bad_keys_are_clear_errors) {
    for (const char* bad : {"", "garbage", "key \"x\" { algorithm hmac-sha999; secret \"AAAA\"; };",
                            "key \"x\" { algorithm hmac-sha256; };", "key \"x\" { secret \"AAAA\"; };",
                            "key \"x\" { algorithm hmac-sha256; secret \"AA*A\"; };", "key \"x\" { algorithm hmac-sha256",
                            "key \"x\" { algorithm hmac-sha256 secret \"AAAA\"; };", "key { };", "key \"a..b\" { };",
                            "hmac-sha256:name:not base64", "hmac-sha256::AAAA", "key \"x\" { algorithm \"hmac-sha256\"; secret \"AAAA\"; ",
                            "/* never closed", "key \"x"}) {
        BOOST_CHECK_THROW(parse_tsig_key(bad), danesmtp::Error);
    }
    try {
        parse_tsig_key("key \"x\" { algorithm hmac-sha256; secret \"SECRET*\"; };");
        BOOST_FAIL("no error");
    } catch (const danesmtp::Error& e) {
        BOOST_TEST(std::string(e.what()).find("SECRET") == std::string::npos);  // never echoed
    }
    BOOST_CHECK_THROW(parse_tsig_key(std::string(70000, 'a')), danesmtp::Error);
    BOOST_CHECK_THROW(parse_tsig_key(std::string("key \"x\" {\0", 10)), danesmtp::Error);
}

BOOST_AUTO_TEST_SUITE_END()
