// SPDX-License-Identifier: MIT
// test_opensmtpd.cpp - the OpenSMTPD filter's protocol module on canned lines
// (plugin/opensmtpd/protocol.cpp): the handshake of 6.8 (protocol 0.6, no
// config|protocol line) and of 7.x (0.7), what is registered for which
// subsystem, the answer lines, hostile lines, and the smtp-out session state
// that feeds the audit. The filter binary against the real smtpd and the lab
// is tests/opensmtpd/opensmtpd_test.sh.
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "opensmtpd/decide.hpp"
#include "opensmtpd/protocol.hpp"

using namespace danesmtp_osd;

namespace {

Actions feed_all(Protocol& p, const std::vector<std::string>& lines) {
    Actions all;
    for (const auto& l : lines) {
        Actions a;
        p.feed(l, &a);
        all.write.insert(all.write.end(), a.write.begin(), a.write.end());
        all.log.insert(all.log.end(), a.log.begin(), a.log.end());
        all.rcpt.insert(all.rcpt.end(), a.rcpt.begin(), a.rcpt.end());
        all.delivered.insert(all.delivered.end(), a.delivered.begin(), a.delivered.end());
    }
    return all;
}

const std::vector<std::string> kHandshake68 = {
    "config|smtpd-version|6.8.0p2", "config|smtp-session-timeout|300", "config|subsystem|smtp-in",
    "config|admd|mail.example.org", "config|ready"};

const std::vector<std::string> kHandshake78 = {
    "config|smtpd-version|7.8.0",   "config|protocol|0.7",      "config|smtp-session-timeout|300",
    "config|subsystem|smtp-in",     "config|subsystem|smtp-out", "config|admd|mail.example.org",
    "config|ready"};

}  // namespace

BOOST_AUTO_TEST_SUITE(opensmtpd)

BOOST_AUTO_TEST_CASE(handshake_6_8_registers_rcpt_to_only) {
    Protocol p(false);
    Actions a = feed_all(p, kHandshake68);
    BOOST_TEST(p.ready());
    BOOST_TEST(p.smtpd_version() == "6.8.0p2");
    BOOST_TEST(p.protocol_version() == "");
    std::vector<std::string> want = {"register|filter|smtp-in|rcpt-to", "register|ready"};
    BOOST_TEST(a.write == want, boost::test_tools::per_element());
    BOOST_TEST(a.log.empty());
}

BOOST_AUTO_TEST_CASE(handshake_7_8_registers_smtp_out_reports_never_filters) {
    Protocol p(false);
    Actions a = feed_all(p, kHandshake78);
    BOOST_TEST(p.protocol_version() == "0.7");
    BOOST_TEST(a.write.front() == "register|filter|smtp-in|rcpt-to");
    BOOST_TEST(a.write.back() == "register|ready");
    for (const auto& l : a.write) {
        // A filter registered for smtp-out stops smtpd (fatalx).
        BOOST_TEST(l.find("register|filter|smtp-out") == std::string::npos);
        BOOST_TEST((l.compare(0, 9, "register|") == 0));
    }
    BOOST_TEST(a.write.size() == 10u);  // rcpt-to, 8 smtp-out reports, ready
}

BOOST_AUTO_TEST_CASE(smtp_out_only_registers_no_filter) {
    Protocol p(false);
    Actions a = feed_all(p, {"config|smtpd-version|6.8.0p2", "config|subsystem|smtp-out", "config|ready"});
    for (const auto& l : a.write) BOOST_TEST(l.find("register|filter|") == std::string::npos);
    BOOST_TEST(a.write.back() == "register|ready");
}

BOOST_AUTO_TEST_CASE(nothing_is_written_before_config_ready) {
    Protocol p(false);
    Actions a = feed_all(p, {"config|smtpd-version|6.8.0p2", "config|subsystem|smtp-in", "garbage",
                             "report|0.6|1.0|smtp-in|link-connect|1|a|pass|1.2.3.4:1|5.6.7.8:25",
                             "filter|0.6|1.0|smtp-in|rcpt-to|aa|bb|a@example.org",
                             "filter|0.6|1.0|smtp-in|helo|aa|bc|client.example.org"});
    // smtpd stops on anything but a registration before register|ready.
    BOOST_TEST(a.write.empty());
    BOOST_TEST(a.rcpt.empty());
    BOOST_TEST(!p.ready());
}

BOOST_AUTO_TEST_CASE(rcpt_to_becomes_a_request_with_its_domain) {
    Protocol p(false);
    feed_all(p, kHandshake68);
    Actions a = feed_all(p, {"filter|0.6|1576146008.006099|smtp-in|rcpt-to|7641df9771b4ed00|1ef1c203cc576e5d|"
                             "Someone@Example.ORG."});
    BOOST_REQUIRE(a.rcpt.size() == 1u);
    BOOST_TEST(a.rcpt[0].session == "7641df9771b4ed00");
    BOOST_TEST(a.rcpt[0].token == "1ef1c203cc576e5d");
    BOOST_TEST(a.rcpt[0].domain == "example.org");
    BOOST_TEST(a.rcpt[0].version == "0.6");
    BOOST_TEST(a.write.empty());  // answered when the lookup ends
}

BOOST_AUTO_TEST_CASE(answer_lines_per_version) {
    Decision ok;
    Decision no{false, "451 4.7.5 DANE: x"};
    BOOST_TEST(result_line("0.6", "aa", "bb", ok) == "filter-result|aa|bb|proceed");
    BOOST_TEST(result_line("0.7", "aa", "bb", no) == "filter-result|aa|bb|reject|451 4.7.5 DANE: x");
    // Protocol 0.4 (OpenSMTPD 6.6): the token came first.
    BOOST_TEST(result_line("0.4", "aa", "bb", ok) == "filter-result|bb|aa|proceed");
}

BOOST_AUTO_TEST_CASE(reply_text_is_always_a_refusal_smtpd_accepts) {
    BOOST_TEST(reply_text("451 4.7.5 ok") == "451 4.7.5 ok");
    BOOST_TEST(reply_text("550 5.1.10 x\ny|z") == "550 5.1.10 x?y|z");
    BOOST_TEST(reply_text("250 fine").compare(0, 4, "451 ") == 0);
    BOOST_TEST(reply_text("").compare(0, 4, "451 ") == 0);
    BOOST_TEST(reply_text(std::string(5000, 'x')).size() <= kMaxReply);
    BOOST_TEST(reply_text("451 \xff\x01").find_first_of("\xff\x01") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(requests_that_cannot_be_answered_are_logged_not_answered) {
    Protocol p(false);
    feed_all(p, kHandshake68);
    // Session or token not hex, or missing: smtpd would stop on any answer.
    Actions a = feed_all(p, {"filter|0.6|1|smtp-in|rcpt-to|zz|bb|a@b.c", "filter|0.6|1|smtp-in|rcpt-to|aa",
                             "filter|0.6|1|smtp-in|rcpt-to||bb|a@b.c",
                             "filter|0.6|1|smtp-in|rcpt-to|11112222333344445|bb|a@b.c"});
    BOOST_TEST(a.write.empty());
    BOOST_TEST(a.rcpt.empty());
    BOOST_TEST(a.log.size() == 4u);
}

BOOST_AUTO_TEST_CASE(unexpected_requests_proceed_or_fail_closed) {
    for (bool closed : {false, true}) {
        Protocol p(closed);
        feed_all(p, kHandshake68);
        Actions a = feed_all(p, {"filter|0.6|1|smtp-in|connect|aa|bb|host|1.2.3.4",
                                 "filter|0.6|1|smtp-in|rcpt-to|aa|cc"});  // rcpt-to without its address
        BOOST_REQUIRE(a.write.size() == 2u);
        std::string tail = closed ? "|reject|451 4.3.0 DANE filter: unexpected request" : "|proceed";
        BOOST_TEST(a.write[0] == "filter-result|aa|bb" + tail);
        BOOST_TEST(a.write[1] == "filter-result|aa|cc" + tail);
        BOOST_TEST(a.rcpt.empty());
    }
}

BOOST_AUTO_TEST_CASE(garbage_unknown_events_and_long_lines_change_nothing) {
    Protocol p(false);
    feed_all(p, kHandshake78);
    Actions a = feed_all(p, {"", "|", "||||||||", "report|0.7|1|smtp-out|no-such-event|aa|x",
                             "report|0.7|1|smtp-in|link-connect|aa", "config|ready", "filter",
                             std::string(kMaxLine + 1, 'x'), "report|0.7|1|smtp-out|tx-commit|ffff|1|2",
                             std::string("\xff\xfe|\x00|\r", 6)});
    BOOST_TEST(a.write.empty());
    BOOST_TEST(a.delivered.empty());
    BOOST_TEST(a.rcpt.empty());
}

BOOST_AUTO_TEST_CASE(smtp_out_transaction_is_delivered_with_address_and_tls) {
    Protocol p(false);
    feed_all(p, kHandshake78);
    Actions a = feed_all(p, {
        "report|0.7|1|smtp-out|link-connect|s1|mx.example.org|pass|192.0.2.9:41000|192.0.2.25:25",
        "report|0.7|1|smtp-out|link-tls|s1|TLSv1.3:TLS_AES_256_GCM_SHA384:256",
        "report|0.7|1|smtp-out|tx-begin|s1|0badcafe",
        "report|0.7|1|smtp-out|tx-rcpt|s1|0badcafe|ok|a@example.org",
        "report|0.7|1|smtp-out|tx-rcpt|s1|0badcafe|permfail|b@example.org",
        "report|0.7|1|smtp-out|tx-rcpt|s1|0badcafe|ok|c@example.net",
        "report|0.7|1|smtp-out|tx-commit|s1|0badcafe|266",
        "report|0.7|1|smtp-out|tx-reset|s1|0badcafe",
        // A second transaction on the same session, rolled back: nothing.
        "report|0.7|1|smtp-out|tx-begin|s1|0badcaff",
        "report|0.7|1|smtp-out|tx-rcpt|s1|0badcaff|ok|d@example.org",
        "report|0.7|1|smtp-out|tx-rollback|s1|0badcaff",
        "report|0.7|1|smtp-out|tx-commit|s1|0badcaff|1",
        "report|0.7|1|smtp-out|link-disconnect|s1",
        // After the disconnect the session is gone.
        "report|0.7|1|smtp-out|tx-rcpt|s1|1|ok|e@example.org", "report|0.7|1|smtp-out|tx-commit|s1|1|1",
    });
    BOOST_REQUIRE(a.delivered.size() == 1u);
    const Delivery& d = a.delivered[0];
    BOOST_TEST(d.address == "192.0.2.25");
    BOOST_TEST(d.tls == "TLSv1.3:TLS_AES_256_GCM_SHA384:256");
    BOOST_TEST(d.message_id == "0badcafe");
    std::vector<std::string> want = {"a@example.org", "c@example.net"};
    BOOST_TEST(d.recipients == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(smtp_out_without_tls_and_over_ipv6) {
    Protocol p(false);
    feed_all(p, {"config|subsystem|smtp-out", "config|ready"});
    Actions a = feed_all(p, {
        "report|0.6|1|smtp-out|link-connect|s2|mx|pass|[2001:db8::9]:41000|[2001:db8::25]:25",
        "report|0.6|1|smtp-out|tx-begin|s2|1", "report|0.6|1|smtp-out|tx-rcpt|s2|1|ok|x@example.org",
        "report|0.6|1|smtp-out|tx-commit|s2|1|10"});
    BOOST_REQUIRE(a.delivered.size() == 1u);
    BOOST_TEST(a.delivered[0].address == "2001:db8::25");
    BOOST_TEST(a.delivered[0].tls == "");
}

BOOST_AUTO_TEST_CASE(session_table_is_bounded) {
    Protocol p(false);
    feed_all(p, {"config|subsystem|smtp-out", "config|ready"});
    Actions a;
    for (std::size_t i = 0; i < kMaxSessions + 10; ++i)
        p.feed("report|0.6|1|smtp-out|link-connect|" + std::to_string(i) + "|mx|pass|1.2.3.4:1|5.6.7.8:25", &a);
    BOOST_TEST(a.log.size() == 10u);
    // The newest session is still followed.
    Actions b = feed_all(p, {"report|0.6|1|smtp-out|tx-rcpt|" + std::to_string(kMaxSessions + 9) + "|1|ok|x@y.z",
                             "report|0.6|1|smtp-out|tx-commit|" + std::to_string(kMaxSessions + 9) + "|1|1"});
    BOOST_TEST(b.delivered.size() == 1u);
}

BOOST_AUTO_TEST_CASE(domains_and_addresses) {
    BOOST_TEST(domain_of("postmaster") == "");
    BOOST_TEST(domain_of("a@[192.0.2.1]") == "");
    BOOST_TEST(domain_of("a@") == "");
    BOOST_TEST(domain_of("\"a@b\"@Example.Org") == "example.org");
    BOOST_TEST(address_of("192.0.2.1:25") == "192.0.2.1");
    BOOST_TEST(address_of("[2001:db8::1]:25") == "2001:db8::1");
    BOOST_TEST(address_of("unix:/var/run/smtpd.sock") == "");
    BOOST_TEST(address_of("[2001:db8::1") == "");
    BOOST_TEST(address_of("not-an-address:25") == "");
    BOOST_TEST(same_address("2001:db8::1", "2001:0db8:0:0::1"));
    BOOST_TEST(!same_address("192.0.2.1", "192.0.2.10"));
    BOOST_TEST(!same_address("x", "x"));
}

BOOST_AUTO_TEST_CASE(audit_codes_are_unique_and_in_the_man_page) {
    for (std::size_t i = 0; i < kAuditCodeCount; ++i)
        for (std::size_t k = i + 1; k < kAuditCodeCount; ++k)
            BOOST_TEST(std::string(kAuditCodes[i].code) != kAuditCodes[k].code);
    // The tests run from the source tree's top (make test).
    std::ifstream man("man/danesmtp-opensmtpd.8");
    BOOST_REQUIRE(man.good());
    std::stringstream text;
    text << man.rdbuf();
    for (std::size_t i = 0; i < kAuditCodeCount; ++i) {
        std::string roff;
        for (const char* c = kAuditCodes[i].code; *c; ++c) roff += *c == '-' ? std::string("\\-") : std::string(1, *c);
        BOOST_TEST(text.str().find(".B " + roff + "\n") != std::string::npos, kAuditCodes[i].code);
    }
}

BOOST_AUTO_TEST_SUITE_END()
