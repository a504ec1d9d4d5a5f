// SPDX-License-Identifier: MIT
// protocol.hpp - OpenSMTPD's filter protocol (smtpd-filters(7)), as the
// danesmtp-opensmtpd filter speaks it: pure code, no I/O.
//
// What smtpd allows (../shared/DESIGN.md section 6, proven with Debian 12's
// 6.8.0p2): filter requests exist only for smtp-in phases; smtp-out gives
// report events alone (no certificate, no veto). A filter line smtpd does not
// like (a bad token, "proceed" with a parameter, a filter registered for
// smtp-out, anything before "register|ready") is fatalx() in smtpd: the whole
// MTA stops. So this module writes only lines of a fixed shape, from fields
// it checked (session and token: 1-16 hex digits, as smtpd's strtoull reads
// them), and never registers what smtpd did not announce.
//
// Protocol versions: 6.8 speaks "0.6" and sends no config|protocol line;
// 7.4 and later speak "0.7" and send it. Both answer a filter request as
//   filter-result|SESSION|TOKEN|proceed
//   filter-result|SESSION|TOKEN|reject|451 4.7.5 text
// Before 0.5 (OpenSMTPD 6.6) the token came first; a request that says its
// version is older is answered in that order. The version of each request is
// the one its own line gives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace danesmtp_osd {

// Bounds: smtpd's lines are at most LINE_MAX (2048) plus an address; a line
// longer than kMaxLine is not smtpd's and is dropped. Sessions tracked from
// smtp-out reports at most kMaxSessions (a session forgotten early loses only
// its audit, never mail).
constexpr std::size_t kMaxLine = 65536;
constexpr std::size_t kMaxSessions = 4096;
constexpr std::size_t kMaxRecipients = 1000;  // per smtp-out transaction
// The longest reply text written: smtpd copies a result into LINE_MAX bytes.
constexpr std::size_t kMaxReply = 400;

// A recipient domain to decide for one rcpt-to request.
struct RcptRequest {
    std::string version;  // of the request line ("0.6")
    std::string session;
    std::string token;
    std::string address;  // as smtpd gave it ("user@example.org")
    std::string domain;   // lower case, no trailing dot; "" when none
};

// An smtp-out transaction the remote server accepted (tx-commit): where it
// went and how.
struct Delivery {
    std::string session;
    std::string message_id;
    std::string address;  // the server's IP address, no brackets or port
    std::string tls;      // link-tls text ("version=TLSv1.3, ..."), "" without TLS
    std::vector<std::string> recipients;  // accepted (tx-rcpt ok)
};

// What one input line asks of the filter.
struct Actions {
    std::vector<std::string> write;    // protocol lines to send, without "\n"
    std::vector<std::string> log;      // lines for stderr (smtpd logs them)
    std::vector<RcptRequest> rcpt;     // lookups to start
    std::vector<Delivery> delivered;   // transactions to audit
};

// How a filter request ends.
struct Decision {
    bool proceed = true;
    std::string reply;  // "451 4.7.5 ..." when !proceed
};

bool is_hex_id(std::string_view s);
// split - fields of a line on '|', at most `max` of them (the last one keeps
// any further '|', as smtpd-filters(7) allows for the last field).
std::vector<std::string_view> split(std::string_view line, std::size_t max);
// reply_text - a reply smtpd accepts: "4xx" or "5xx", a space, then
// printable ASCII only, at most kMaxReply bytes. Anything else becomes '?'.
std::string reply_text(std::string_view text);
// result_line - the answer to one request.
std::string result_line(const std::string& version, const std::string& session, const std::string& token,
                        const Decision& d);
// domain_of - the domain of a recipient address for DANE: lower case, no
// trailing dot; "" for a local part alone, an address literal ("[192.0.2.1]")
// or an empty domain.
std::string domain_of(std::string_view address);
// address_of - the IP address of link-connect's "ADDR:PORT" or
// "[IPV6]:PORT", "" for anything else (unix:..., garbage).
std::string address_of(std::string_view endpoint);

class Protocol {
public:
    // fail_closed: a filter request the filter cannot read (but can answer:
    // its session and token are good) is refused with 451 instead of let
    // through.
    explicit Protocol(bool fail_closed) : fail_closed_(fail_closed) {}

    // feed - one line from smtpd, without its newline.
    void feed(std::string_view line, Actions* out);

    bool ready() const { return ready_; }
    const std::string& smtpd_version() const { return smtpd_version_; }
    const std::string& protocol_version() const { return protocol_; }

private:
    struct OutSession {
        std::string address;
        std::string tls;
        std::string message_id;
        std::vector<std::string> recipients;
        std::uint64_t age = 0;
    };
    void config(const std::vector<std::string_view>& f, Actions* out);
    void filter(std::string_view line, Actions* out);
    void report(std::string_view line, Actions* out);
    OutSession* session(const std::string& id, bool create, Actions* out);

    bool fail_closed_;
    bool ready_ = false;
    bool smtp_in_ = false, smtp_out_ = false;
    std::string smtpd_version_, protocol_;
    std::map<std::string, OutSession> sessions_;
    std::uint64_t clock_ = 0;
    std::size_t unknown_logged_ = 0;
};

}  // namespace danesmtp_osd
