// SPDX-License-Identifier: MIT
// decide.cpp - RCPT answers and delivery audits from a plan (decide.hpp).
#include "opensmtpd/decide.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace danesmtp_osd {

const AuditCode kAuditCodes[] = {
    {"out-cleartext", "error",
     "mail went without TLS to an MX host whose TLSA RRset requires TLS (RFC 7672 section 2.2)"},
    {"out-not-in-plan", "error",
     "mail went to an address that is not one of the domain's MX hosts as DNSSEC-validated lookups give them"},
    {"out-despite-defer", "error",
     "mail went to a domain whose lookups say to wait (bogus or failed DNSSEC, mandatory DANE unmet)"},
    {"out-unauthenticated", "note",
     "TLS to a DANE host, but smtpd cannot check the certificate against the TLSA records"},
    {"out-probe-verified", "note", "probe: our own STARTTLS handshake with that address matched its TLSA RRset"},
    {"out-probe-failed", "error",
     "probe: our own STARTTLS handshake with that address did not match its TLSA RRset, or failed"},
};
const std::size_t kAuditCodeCount = sizeof kAuditCodes / sizeof kAuditCodes[0];

bool same_address(const std::string& a, const std::string& b) {
    unsigned char x[16], y[16];
    if (inet_pton(AF_INET, a.c_str(), x) == 1) return inet_pton(AF_INET, b.c_str(), y) == 1 && !std::memcmp(x, y, 4);
    if (inet_pton(AF_INET6, a.c_str(), x) == 1)
        return inet_pton(AF_INET6, b.c_str(), y) == 1 && !std::memcmp(x, y, 16);
    return false;
}

Decision rcpt_decision(const danesmtp_plan* plan, std::string* log) {
    std::string domain = danesmtp_plan_domain(plan);
    std::string reason = danesmtp_plan_reason(plan);
    bool audit = danesmtp_plan_audit_only(plan);
    switch (danesmtp_plan_status(plan)) {
        case DANESMTP_DOMAIN_DEFER: {
            // RFC 7672 section 2.2.1: a bogus or failed MX lookup, or no
            // usable host, means no delivery now. Accepting the message would
            // hand it to smtpd, which would send it without DANE.
            std::string why = reason.empty() ? "no MX host can be used" : reason;
            if (audit) {
                *log = "danesmtp: audit-only: RCPT for " + domain + " would be refused: " + why;
                return Decision{};
            }
            *log = "danesmtp: RCPT for " + domain + " refused: " + why;
            return Decision{false, "451 4.7.5 DANE: " + domain + ": " + why};
        }
        case DANESMTP_DOMAIN_NULL_MX:
            *log = "danesmtp: RCPT for " + domain + " refused: null MX";
            return Decision{false, "550 5.1.10 " + domain + " accepts no mail (null MX, RFC 7505)"};
        default:
            return Decision{};
    }
}

std::vector<AuditLine> audit_delivery(const danesmtp_plan* plan, const Delivery& d, const std::string& domain) {
    std::vector<AuditLine> out;
    std::string tail = " (domain " + domain + ", message " + (d.message_id.empty() ? "?" : d.message_id) +
                       "; OpenSMTPD cannot enforce DANE: see danesmtp-opensmtpd(8))";
    int status = danesmtp_plan_status(plan);
    if (status == DANESMTP_DOMAIN_DEFER) {
        std::string reason = danesmtp_plan_reason(plan);
        out.push_back({"out-despite-defer",
                       "danesmtp: out-despite-defer: [" + d.address + "] took mail although " + domain +
                           " must wait: " + (reason.empty() ? "no MX host can be used" : reason) + tail,
                       "", false});
        return out;
    }
    if (status != DANESMTP_DOMAIN_OK) return out;  // null MX, NXDOMAIN: nothing DANE asked
    // The most preferred host the address belongs to, as the Exim plugin
    // reads its plan: an address under several hosts gets the first one's
    // policy.
    const danesmtp_host* host = nullptr;
    for (std::size_t i = 0; !host && i < danesmtp_plan_host_count(plan); ++i) {
        const danesmtp_host* h = danesmtp_plan_host(plan, i);
        for (std::size_t k = 0; k < danesmtp_host_address_count(h); ++k)
            if (same_address(danesmtp_host_address(h, k), d.address)) {
                host = h;
                break;
            }
    }
    if (!host) {
        out.push_back({"out-not-in-plan",
                       "danesmtp: out-not-in-plan: [" + d.address + "] took mail for " + domain +
                           " but is not among its MX hosts' addresses" + tail,
                       "", false});
        return out;
    }
    std::string name = danesmtp_host_name(host);
    std::string who = "H=" + name + " [" + d.address + "]";
    switch (danesmtp_host_verdict(host)) {
        case DANESMTP_HOST_UNREACHABLE:
            out.push_back({"out-not-in-plan",
                           "danesmtp: out-not-in-plan: " + who + " took mail although the host must not be used: " +
                               danesmtp_host_reason(host) + tail,
                           name, false});
            break;
        case DANESMTP_HOST_DANE:
            if (d.tls.empty())
                out.push_back({"out-cleartext",
                               "danesmtp: out-cleartext: " + who +
                                   " delivered in clear text although DANE requires authenticated TLS" + tail,
                               name, true});
            else
                out.push_back({"out-unauthenticated",
                               "danesmtp: out-unauthenticated: " + who + " TLS (" + d.tls +
                                   ") to a DANE host, certificate not checked against its TLSA records" + tail,
                               name, true});
            break;
        case DANESMTP_HOST_ENCRYPT:
            if (d.tls.empty())
                out.push_back({"out-cleartext",
                               "danesmtp: out-cleartext: " + who +
                                   " delivered in clear text although its TLSA records require TLS" + tail,
                               name, false});
            break;
        default:
            break;
    }
    return out;
}

}  // namespace danesmtp_osd
