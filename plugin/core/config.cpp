// config.cpp - see config.hpp.
#include "core/config.hpp"

#include "core/error.hpp"
#include "core/names.hpp"

namespace danesmtp::core {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

bool yes_no(std::string_view v, const std::string& where) {
    if (v == "yes" || v == "true" || v == "1") return true;
    if (v == "no" || v == "false" || v == "0") return false;
    throw Error(ErrorCode::parse, where + ": expected yes or no, not '" + std::string(v) + "'");
}

// ADDR[@PORT] with ADDR an IPv4 or IPv6 literal: what libunbound accepts.
void check_address(std::string_view v, const std::string& where) {
    std::string_view addr = v.substr(0, v.find('@'));
    bool ok = !addr.empty();
    for (char c : addr)
        ok &= (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
              c == '.' || c == ':';
    if (v.find('@') != std::string_view::npos) {
        std::string_view port = v.substr(v.find('@') + 1);
        ok &= !port.empty() && port.size() <= 5 &&
              port.find_first_not_of("0123456789") == std::string_view::npos;
    }
    if (!ok)
        throw Error(ErrorCode::parse,
                    where + ": '" + std::string(v) + "' is not an IP address[@port]");
}

}  // namespace

void apply_config_text(std::string_view text, const std::string& origin, Config* c) {
    if (text.find('\0') != std::string_view::npos)
        throw Error(ErrorCode::parse, origin + ": contains a NUL byte");
    std::size_t lineno = 0;
    while (!text.empty()) {
        std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        ++lineno;
        std::string where = origin + ":" + std::to_string(lineno);
        if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        line = trim(line);
        if (line.empty()) continue;
        std::size_t eq = line.find('=');
        if (eq == std::string_view::npos)
            throw Error(ErrorCode::parse, where + ": expected 'key = value'");
        std::string key(trim(line.substr(0, eq)));
        std::string_view value = trim(line.substr(eq + 1));
        if (value.empty()) throw Error(ErrorCode::parse, where + ": " + key + " has no value");
        std::string v(value);
        auto& r = c->resolver;
        if (key == "trust-anchor-file") {
            r.trust_anchor_file = v;
        } else if (key == "auto-trust-anchor-file") {
            r.auto_trust_anchor_file = v;
        } else if (key == "trust-anchor") {
            r.trust_anchors.push_back(v);
        } else if (key == "resolv-conf") {
            r.resolv_conf = v;
        } else if (key == "forward") {
            check_address(value, where);
            r.forwarders.push_back(v);
        } else if (key == "recursion") {
            r.recursion = yes_no(value, where);
        } else if (key == "stub") {
            std::size_t sp = value.find_first_of(" \t");
            if (sp == std::string_view::npos)
                throw Error(ErrorCode::parse, where + ": stub needs 'ZONE ADDR[@PORT]'");
            std::string zone(value.substr(0, sp));
            std::string_view addr = trim(value.substr(sp));
            check_address(addr, where);
            zone = zone == "." ? zone : normalize_name(zone);
            r.stubs.emplace_back(zone, std::string(addr));
        } else if (key == "timeout") {
            if (value.size() > 7 || value.find_first_not_of("0123456789") != std::string_view::npos)
                throw Error(ErrorCode::parse, where + ": timeout is milliseconds (1-9999999)");
            r.timeout_ms = static_cast<unsigned>(std::stoul(v));
            if (r.timeout_ms < 100)
                throw Error(ErrorCode::parse, where + ": timeout below 100 ms");
        } else if (key == "parallel-lookups") {
            if (value.size() > 2 || value.find_first_not_of("0123456789") != std::string_view::npos ||
                std::stoul(v) < 1 || std::stoul(v) > 64)
                throw Error(ErrorCode::parse, where + ": parallel-lookups is 1-64");
            r.parallel = static_cast<unsigned>(std::stoul(v));
        } else if (key == "insecure-mx") {
            if (v == "dane")
                c->policy.insecure_mx = InsecureMx::dane;
            else if (v == "encrypt")
                c->policy.insecure_mx = InsecureMx::encrypt;
            else if (v == "ignore")
                c->policy.insecure_mx = InsecureMx::ignore;
            else
                throw Error(ErrorCode::parse, where + ": insecure-mx is dane, encrypt or ignore");
        } else if (key == "mandatory-dane") {
            c->policy.mandatory.push_back(normalize_name(v));
        } else if (key == "audit-only") {
            c->policy.audit_only = yes_no(value, where);
        } else if (key == "digest-preference") {
            if (v == "sha512")
                c->digests = DigestPreference::sha512_first;
            else if (v == "sha256")
                c->digests = DigestPreference::sha256_first;
            else
                throw Error(ErrorCode::parse, where + ": digest-preference is sha512 or sha256");
            c->digests_set = true;
        } else {
            throw Error(ErrorCode::parse, where + ": unknown key '" + key + "'");
        }
    }
}

}  // namespace danesmtp::core
