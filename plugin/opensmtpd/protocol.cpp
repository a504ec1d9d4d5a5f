// SPDX-License-Identifier: MIT
// protocol.cpp - OpenSMTPD's filter protocol (protocol.hpp).
#include "opensmtpd/protocol.hpp"

#include <arpa/inet.h>

#include <cstdlib>

namespace danesmtp_osd {

namespace {

// Events registered for smtp-out: enough to know where each accepted
// transaction went and whether it was encrypted.
const char* const kOutEvents[] = {"link-connect", "link-tls", "link-disconnect", "tx-begin", "tx-rcpt",
                                  "tx-commit",    "tx-rollback", "tx-reset"};

// version_before_0_5 - "0.4", "0.1": the token came before the session.
bool version_before_0_5(const std::string& v) {
    if (v.size() < 3 || v[0] != '0' || v[1] != '.') return false;
    char* end = nullptr;
    long minor = std::strtol(v.c_str() + 2, &end, 10);
    return end && *end == '\0' && minor < 5;
}

std::string printable(std::string_view s, std::size_t max) {
    std::string out;
    for (char c : s) {
        if (out.size() >= max) break;
        out += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    return out;
}

}  // namespace

bool is_hex_id(std::string_view s) {
    if (s.empty() || s.size() > 16) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
    return true;
}

std::vector<std::string_view> split(std::string_view line, std::size_t max) {
    std::vector<std::string_view> out;
    while (out.size() + 1 < max) {
        auto bar = line.find('|');
        if (bar == std::string_view::npos) break;
        out.push_back(line.substr(0, bar));
        line.remove_prefix(bar + 1);
    }
    out.push_back(line);
    return out;
}

std::string reply_text(std::string_view text) {
    std::string out = printable(text, kMaxReply);
    // smtpd takes the first three characters as the reply code; only 4xx and
    // 5xx make sense for a refusal. Anything else is a bug here: refuse
    // temporarily rather than send smtpd a reply it cannot use.
    bool coded = out.size() >= 4 && (out[0] == '4' || out[0] == '5') && out[1] >= '0' && out[1] <= '9' &&
                 out[2] >= '0' && out[2] <= '9' && out[3] == ' ';
    if (!coded) out = printable("451 4.3.0 " + out, kMaxReply);
    return out;
}

std::string result_line(const std::string& version, const std::string& session, const std::string& token,
                        const Decision& d) {
    std::string head = version_before_0_5(version) ? "filter-result|" + token + "|" + session
                                                   : "filter-result|" + session + "|" + token;
    return d.proceed ? head + "|proceed" : head + "|reject|" + reply_text(d.reply);
}

std::string domain_of(std::string_view address) {
    auto at = address.rfind('@');
    if (at == std::string_view::npos) return "";
    std::string d(address.substr(at + 1));
    while (!d.empty() && d.back() == '.') d.pop_back();
    if (d.empty() || d[0] == '[') return "";
    for (auto& c : d)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return d;
}

std::string address_of(std::string_view endpoint) {
    std::string host;
    if (!endpoint.empty() && endpoint[0] == '[') {
        auto close = endpoint.find(']');
        if (close == std::string_view::npos) return "";
        host = std::string(endpoint.substr(1, close - 1));
        if (host.compare(0, 5, "IPv6:") == 0) host = host.substr(5);
    } else {
        auto colon = endpoint.rfind(':');
        host = std::string(endpoint.substr(0, colon));
    }
    unsigned char buf[16];
    if (inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1) return host;
    return "";
}

void Protocol::feed(std::string_view line, Actions* out) {
    if (line.size() > kMaxLine) {
        out->log.push_back("danesmtp: protocol: a line of " + std::to_string(line.size()) + " bytes dropped");
        return;
    }
    if (line.compare(0, 7, "config|") == 0) {
        config(split(line, 3), out);
    } else if (line.compare(0, 7, "filter|") == 0) {
        filter(line, out);
    } else if (line.compare(0, 7, "report|") == 0) {
        report(line, out);
    } else if (unknown_logged_ < 100) {
        ++unknown_logged_;
        out->log.push_back("danesmtp: protocol: line not understood, ignored: " + printable(line, 200));
    }
}

void Protocol::config(const std::vector<std::string_view>& f, Actions* out) {
    if (ready_) {
        out->log.push_back("danesmtp: protocol: config line after config|ready ignored");
        return;
    }
    std::string_view key = f.size() > 1 ? f[1] : std::string_view();
    std::string_view value = f.size() > 2 ? f[2] : std::string_view();
    if (key == "ready" && f.size() == 2) {
        ready_ = true;
        // Register only for what smtpd announced: a filter for smtp-out, or
        // anything for a subsystem this process was not given, stops smtpd.
        if (smtp_in_) out->write.push_back("register|filter|smtp-in|rcpt-to");
        if (smtp_out_)
            for (const char* e : kOutEvents) out->write.push_back(std::string("register|report|smtp-out|") + e);
        out->write.push_back("register|ready");
        if (!smtp_in_ && !smtp_out_)
            out->log.push_back("danesmtp: protocol: smtpd gave this filter neither smtp-in nor smtp-out");
    } else if (key == "subsystem") {
        if (value == "smtp-in") smtp_in_ = true;
        else if (value == "smtp-out") smtp_out_ = true;
        else out->log.push_back("danesmtp: protocol: unknown subsystem '" + printable(value, 64) + "' ignored");
    } else if (key == "smtpd-version") {
        smtpd_version_ = printable(value, 64);
    } else if (key == "protocol") {
        protocol_ = printable(value, 16);
    }
    // Other keys (smtp-session-timeout, admd, later additions): not needed.
}

void Protocol::filter(std::string_view line, Actions* out) {
    // filter|VERSION|TIME|SUBSYSTEM|PHASE|SESSION|TOKEN|PARAMETERS
    auto f = split(line, 8);
    if (f.size() < 7 || !is_hex_id(f[5]) || !is_hex_id(f[6])) {
        // No session and token to answer with: nothing can be written that
        // smtpd would accept. The session waits for smtpd's own timeout.
        out->log.push_back("danesmtp: protocol: filter request without a usable session and token, not answered: " +
                           printable(line, 200));
        return;
    }
    std::string version(f[1]), session(f[5]), token(f[6]);
    if (!ready_) {
        // Anything but a registration before register|ready is fatal in
        // smtpd: smtpd sends no request before every filter is ready, so
        // this input is not smtpd's.
        out->log.push_back("danesmtp: protocol: filter request before config|ready, not answered: " +
                           printable(line, 200));
        return;
    }
    Decision d;
    if (f[3] != "smtp-in" || f[4] != "rcpt-to" || f.size() != 8) {
        out->log.push_back("danesmtp: protocol: unexpected filter request " + printable(line, 200) +
                           (fail_closed_ ? ": refused (fail closed)" : ": proceed"));
        if (fail_closed_) d = Decision{false, "451 4.3.0 DANE filter: unexpected request"};
        out->write.push_back(result_line(version, session, token, d));
        return;
    }
    RcptRequest r{version, session, token, std::string(f[7]), domain_of(f[7])};
    out->rcpt.push_back(std::move(r));
}

Protocol::OutSession* Protocol::session(const std::string& id, bool create, Actions* out) {
    auto it = sessions_.find(id);
    if (it != sessions_.end()) return &it->second;
    if (!create) return nullptr;
    if (sessions_.size() >= kMaxSessions) {
        // Forget the oldest: its audit is lost, nothing else.
        auto oldest = sessions_.begin();
        for (auto i = sessions_.begin(); i != sessions_.end(); ++i)
            if (i->second.age < oldest->second.age) oldest = i;
        out->log.push_back("danesmtp: audit: more than " + std::to_string(kMaxSessions) +
                           " smtp-out sessions open, the oldest is no longer followed");
        sessions_.erase(oldest);
    }
    auto& s = sessions_[id];
    s.age = ++clock_;
    return &s;
}

void Protocol::report(std::string_view line, Actions* out) {
    // report|VERSION|TIME|SUBSYSTEM|EVENT|SESSION|PARAMETERS
    auto f = split(line, 7);
    if (f.size() < 6 || f[3] != "smtp-out") return;  // only smtp-out is registered
    std::string id(f[5]);
    std::string_view event = f[4];
    std::vector<std::string_view> p = f.size() > 6 ? split(f[6], 5) : std::vector<std::string_view>();
    if (event == "link-connect") {
        // rdns|fcrdns|src|dest
        OutSession* s = session(id, true, out);
        *s = OutSession{p.size() >= 4 ? address_of(p[3]) : "", "", "", {}, s->age};
    } else if (event == "link-disconnect") {
        sessions_.erase(id);
    } else if (OutSession* s = session(id, false, out)) {
        if (event == "link-tls") {
            s->tls = printable(f.size() > 6 ? f[6] : std::string_view(), 200);
        } else if (event == "tx-begin" || event == "tx-reset" || event == "tx-rollback") {
            s->recipients.clear();
            s->message_id = p.empty() ? "" : printable(p[0], 16);
        } else if (event == "tx-rcpt") {
            // message-id|result|address
            if (p.size() >= 3 && p[1] == "ok" && s->recipients.size() < kMaxRecipients)
                s->recipients.push_back(printable(p[2], 512));
        } else if (event == "tx-commit") {
            if (!s->recipients.empty())
                out->delivered.push_back(Delivery{id, p.empty() ? "" : printable(p[0], 16), s->address, s->tls,
                                                  s->recipients});
            s->recipients.clear();
        }
    }
}

}  // namespace danesmtp_osd
