// SPDX-License-Identifier: MIT
// config.cpp - see config.hpp.
#include "core/config.hpp"

#include <arpa/inet.h>
#include <ldns/ldns.h>

#include <cstdio>
#include <memory>

#include "core/error.hpp"
#include "core/names.hpp"

namespace danesmtp::core {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

std::string byte_text(char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", static_cast<unsigned char>(c));
    return buf;
}

bool yes_no(std::string_view v, const std::string& where) {
    if (v == "yes" || v == "true" || v == "1") return true;
    if (v == "no" || v == "false" || v == "0") return false;
    throw Error(ErrorCode::parse, where + ": expected yes or no, not '" + std::string(v) + "'");
}

// ADDR[@PORT]: ADDR an IPv4 or IPv6 literal (what libunbound accepts), PORT
// 1-65535.
void check_address(std::string_view key, std::string_view v, const std::string& where) {
    std::size_t at = v.find('@');
    std::string addr(v.substr(0, at));
    unsigned char buf[16];
    if (inet_pton(AF_INET, addr.c_str(), buf) != 1 && inet_pton(AF_INET6, addr.c_str(), buf) != 1)
        throw Error(ErrorCode::parse, where + ": " + std::string(key) + " '" + addr +
                                          "' is not an IPv4 or IPv6 address (ADDR[@PORT])");
    if (at != std::string_view::npos) {
        std::string_view port = v.substr(at + 1);
        bool ok = !port.empty() && port.size() <= 5 &&
                  port.find_first_not_of("0123456789") == std::string_view::npos;
        unsigned long n = ok ? std::stoul(std::string(port)) : 0;
        if (!ok || n < 1 || n > 65535)
            throw Error(ErrorCode::parse, where + ": " + std::string(key) + " '" + std::string(v) +
                                              "': the port is 1-65535, not '" + std::string(port) + "'");
    }
}

// One DS or DNSKEY record of class IN in zone-file presentation format, as
// ub_ctx_add_ta takes it; a DS with a known digest type has its length.
void check_anchor(const std::string& v, const std::string& where) {
    ldns_rr* raw = nullptr;
    ldns_status st = ldns_rr_new_frm_str(&raw, v.c_str(), 0, nullptr, nullptr);
    std::unique_ptr<ldns_rr, void (*)(ldns_rr*)> rr(raw, ldns_rr_free);
    const std::string want =
        where + ": trust-anchor wants one DS or DNSKEY record (OWNER [TTL] [IN] DS|DNSKEY RDATA)";
    if (st != LDNS_STATUS_OK || !rr) {
        const char* why = ldns_get_errorstr_by_id(st);
        throw Error(ErrorCode::parse, want + ": " + (why ? why : "does not parse"));
    }
    ldns_rr_type type = ldns_rr_get_type(rr.get());
    if (type != LDNS_RR_TYPE_DS && type != LDNS_RR_TYPE_DNSKEY)
        throw Error(ErrorCode::parse, want + ", not another type");
    if (ldns_rr_get_class(rr.get()) != LDNS_RR_CLASS_IN)
        throw Error(ErrorCode::parse, want + ", of class IN");
    if (type == LDNS_RR_TYPE_DS && ldns_rr_rd_count(rr.get()) == 4) {
        unsigned digest_type = ldns_rdf2native_int8(ldns_rr_rdf(rr.get(), 2));
        std::size_t digest_len = ldns_rdf_size(ldns_rr_rdf(rr.get(), 3));
        std::size_t want_len = 0;
        switch (digest_type) {
            case 1: want_len = 20; break;  // SHA-1
            case 2: want_len = 32; break;  // SHA-256
            case 4: want_len = 48; break;  // SHA-384
            default: break;
        }
        if (want_len != 0 && digest_len != want_len)
            throw Error(ErrorCode::parse, where + ": trust-anchor: a DS of digest type " +
                                              std::to_string(digest_type) + " has a digest of " +
                                              std::to_string(want_len) + " bytes, this one has " +
                                              std::to_string(digest_len));
    }
}

void check_path(std::string_view key, std::string_view v, const std::string& where) {
    if (v.front() != '/')
        throw Error(ErrorCode::parse, where + ": " + std::string(key) + " must be an absolute path, not '" +
                                          std::string(v) + "'");
}

// A domain name through normalize_name, its message prefixed with the line.
std::string domain(std::string_view key, std::string_view v, const std::string& where) {
    try {
        return normalize_name(v);
    } catch (const Error& e) {
        throw Error(e.code(), where + ": " + std::string(key) + " '" + std::string(v) + "': " + e.what());
    }
}

template <typename List>
void check_room(const List& list, std::string_view key, const std::string& where) {
    if (list.size() >= kMaxConfigList)
        throw Error(ErrorCode::limit, where + ": more than " + std::to_string(kMaxConfigList) + " " +
                                          std::string(key) + " entries (the limit of a list key)");
}

}  // namespace

void apply_config_text(std::string_view text, const std::string& origin, Config* c) {
    if (text.size() > kMaxConfigBytes)
        throw Error(ErrorCode::limit,
                    origin + ": configuration longer than " + std::to_string(kMaxConfigBytes) + " bytes");
    std::size_t lineno = 0;
    while (!text.empty()) {
        std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        ++lineno;
        std::string where = origin + ":" + std::to_string(lineno);
        if (line.size() > kMaxConfigLine)
            throw Error(ErrorCode::limit,
                        where + ": line longer than " + std::to_string(kMaxConfigLine) + " bytes");
        if (line.find('\0') != std::string_view::npos)
            throw Error(ErrorCode::parse, where + ": contains a NUL byte");
        if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        line = trim(line);
        if (line.empty()) continue;
        // Keys and values are printable ASCII (tabs separate); comments may be UTF-8.
        for (char ch : line)
            if (ch != '\t' && (ch < 0x20 || ch > 0x7e))
                throw Error(ErrorCode::parse,
                            where + ": byte " + byte_text(ch) +
                                " is not printable ASCII (only comments may hold other text)");
        std::size_t eq = line.find('=');
        if (eq == std::string_view::npos)
            throw Error(ErrorCode::parse, where + ": expected 'key = value'");
        std::string key(trim(line.substr(0, eq)));
        std::string_view value = trim(line.substr(eq + 1));
        if (value.empty()) throw Error(ErrorCode::parse, where + ": " + key + " has no value");
        std::string v(value);
        auto& r = c->resolver;
        if (key == "trust-anchor-file") {
            check_path(key, value, where);
            r.trust_anchor_file = v;
        } else if (key == "auto-trust-anchor-file") {
            check_path(key, value, where);
            r.auto_trust_anchor_file = v;
        } else if (key == "trust-anchor") {
            check_room(r.trust_anchors, key, where);
            check_anchor(v, where);
            r.trust_anchors.push_back(v);
        } else if (key == "root-anchor") {
            r.root_anchor = yes_no(value, where);
        } else if (key == "resolv-conf") {
            check_path(key, value, where);
            r.resolv_conf = v;
        } else if (key == "forward") {
            check_room(r.forwarders, key, where);
            check_address(key, value, where);
            r.forwarders.push_back(v);
        } else if (key == "recursion") {
            r.recursion = yes_no(value, where);
        } else if (key == "stub") {
            check_room(r.stubs, key, where);
            std::size_t sp = value.find_first_of(" \t");
            if (sp == std::string_view::npos)
                throw Error(ErrorCode::parse, where + ": stub needs 'ZONE ADDR[@PORT]'");
            std::string_view zone = value.substr(0, sp);
            std::string_view addr = trim(value.substr(sp));
            check_address(key, addr, where);
            r.stubs.emplace_back(zone == "." ? std::string(zone) : domain("stub zone", zone, where),
                                 std::string(addr));
        } else if (key == "timeout") {
            if (value.size() > 7 || value.find_first_not_of("0123456789") != std::string_view::npos ||
                std::stoul(v) < 100)
                throw Error(ErrorCode::parse,
                            where + ": timeout is milliseconds, 100-9999999, not '" + v + "'");
            r.timeout_ms = static_cast<unsigned>(std::stoul(v));
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
            check_room(c->policy.mandatory, key, where);
            c->policy.mandatory.push_back(domain(key, value, where));
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
        } else if (key == "cache") {
            if (v == "none") {
                c->cache.path.clear();
            } else {
                check_path(key, value, where);
                c->cache.path = v;
            }
        } else if (key == "cache-max-ttl") {
            if (value.size() > 5 || value.find_first_not_of("0123456789") != std::string_view::npos ||
                std::stoul(v) < 1 || std::stoul(v) > 86400)
                throw Error(ErrorCode::parse, where + ": cache-max-ttl is seconds, 1-86400, not '" + v + "'");
            c->cache.max_ttl = static_cast<unsigned>(std::stoul(v));
        } else if (key == "cache-size") {
            if (value.size() > 4 || value.find_first_not_of("0123456789") != std::string_view::npos ||
                std::stoul(v) < 1 || std::stoul(v) > 4096)
                throw Error(ErrorCode::parse, where + ": cache-size is megabytes, 1-4096, not '" + v + "'");
            c->cache.size_mb = static_cast<unsigned>(std::stoul(v));
        } else {
            throw Error(ErrorCode::parse, where + ": unknown key '" + key + "'");
        }
    }
}

}  // namespace danesmtp::core
