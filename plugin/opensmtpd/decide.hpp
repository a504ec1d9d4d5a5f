// SPDX-License-Identifier: MIT
// decide.hpp - what the danesmtp-opensmtpd filter makes of a plan (the
// library's DNSSEC-validated answer for a destination, include/danesmtp.h):
// the answer to a submission's RCPT TO, and the audit of an outbound
// delivery smtpd reported. Pure code over the plan; the words a person reads
// and the codes they match on are defined here, once (danesmtp-opensmtpd(8),
// LOG LINES, lists them; a test checks that it names every code).
#pragma once

#include <danesmtp.h>

#include <string>
#include <vector>

#include "opensmtpd/protocol.hpp"

namespace danesmtp_osd {

// Audit codes, stable: log watchers match on them.
//   out-cleartext      mail went without TLS to a host whose TLSA RRset
//                      requires TLS (RFC 7672 section 2.2: dane or encrypt)
//   out-not-in-plan    mail went to an address that is not one of the
//                      domain's MX hosts as DNSSEC-validated lookups give them
//   out-despite-defer  mail went to a domain whose lookups say to wait
//                      (bogus or failed DNSSEC, mandatory DANE unmet)
//   out-unauthenticated  TLS to a DANE host, but smtpd cannot check its
//                      certificate against the TLSA records (a note)
//   out-probe-verified / out-probe-failed  probe = yes: our own STARTTLS
//                      handshake with that address, judged by its TLSA RRset
struct AuditCode {
    const char* code;
    const char* severity;  // "error", "warning", "note"
    const char* meaning;
};
extern const AuditCode kAuditCodes[];
extern const std::size_t kAuditCodeCount;

// rcpt_decision - the answer to RCPT TO for a recipient whose domain has
// this plan. audit-only plans never refuse (the log says what would have).
//   DEFER    451 4.7.5 (bogus, failed, mandatory DANE unmet, no usable host)
//   NULL_MX  550 5.1.10 (RFC 7505: the domain accepts no mail; 5.1.10 is
//            the enhanced status code it registers)
//   OK, NXDOMAIN  proceed (a domain that does not exist is smtpd's bounce,
//            not a DANE matter)
Decision rcpt_decision(const danesmtp_plan* plan, std::string* log);

// audit_delivery - log lines for one accepted transaction to one recipient
// domain: what the plan required of the connection and what smtpd did.
// Empty when the delivery met the plan (or the plan asked nothing).
struct AuditLine {
    std::string code;
    std::string text;  // the whole log line, "danesmtp: CODE: ..."
    std::string host;  // the MX host the address belongs to, "" if none
    bool needs_dane = false;  // the host has a usable TLSA RRset (probe it)
};
std::vector<AuditLine> audit_delivery(const danesmtp_plan* plan, const Delivery& d, const std::string& domain);

// same_address - two textual IP addresses denote the same address.
bool same_address(const std::string& a, const std::string& b);

}  // namespace danesmtp_osd
