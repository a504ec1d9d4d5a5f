// SPDX-License-Identifier: MIT
// rollover.cpp - see rollover.hpp.
#include "check/rollover.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "check/auth.hpp"
#include "check/gather.hpp"
#include "core/dname.hpp"
#include "core/error.hpp"
#include "core/names.hpp"
#include "core/tsigkey.hpp"
#include "dns/update.hpp"
#include "tls/chain.hpp"
#include "tls/make.hpp"
#include "tls/probe.hpp"
#include "tls/verify.hpp"

namespace danesmtp::check {

namespace {

using core::Bytes;

using core::kTypeDnskey;
using core::kTypeSoa;
constexpr std::size_t kMaxProbedAddresses = 16;
// Server addresses asked for the gate; more keep it closed.
constexpr std::size_t kMaxRolloverServers = 32;
constexpr std::size_t kMaxStateLine = 4096;

// ---- the files: PEM blocks sorted into certificates and keys

struct Material {
    std::string certs;  // PEM certificates, in file order; or DER of one certificate
    std::string key;    // PEM key block; or DER of one key
};

Material split(const std::string& text) {
    Material m;
    if (text.find("-----BEGIN ") == std::string::npos) {
        m.certs = text;  // DER: make_tlsa decides what it is
        return m;
    }
    std::size_t at = 0;
    while ((at = text.find("-----BEGIN ", at)) != std::string::npos) {
        std::size_t label_end = text.find("-----", at + 11);
        if (label_end == std::string::npos) break;
        std::string label = text.substr(at + 11, label_end - at - 11);
        std::string end_marker = "-----END " + label + "-----";
        std::size_t end = text.find(end_marker, label_end);
        if (end == std::string::npos) break;
        std::string block = text.substr(at, end + end_marker.size() - at) + "\n";
        if (label.find("KEY") != std::string::npos) m.key += block;
        else m.certs += block;
        at = end + end_marker.size();
    }
    return m;
}

std::string make(const std::string& input, std::uint8_t u, std::uint8_t s, std::uint8_t m, int depth) {
    return tls::make_tlsa(reinterpret_cast<const std::uint8_t*>(input.data()), input.size(), u, s, m, depth);
}

core::RolloverKeyFacts key_facts(const std::string& text, const std::string& name, const char* which,
                                 const std::vector<std::string>& combos) {
    core::RolloverKeyFacts k;
    k.given = true;
    k.file = name;
    Material m = split(text);
    try {
        std::string leaf_key;  // "3 1 1 hex" of the leaf's key
        if (!m.certs.empty()) leaf_key = make(m.certs, 3, 1, 1, 0);
        if (!m.key.empty()) {
            std::string of_key = make(m.key, 3, 1, 1, 0);
            if (!leaf_key.empty() && of_key != leaf_key) k.key_mismatch = true;
            if (leaf_key.empty()) leaf_key = of_key;
        }
        if (leaf_key.empty()) throw Error(ErrorCode::invalid_argument, "no certificate or key in the file");
        bool certs = !m.certs.empty();
        if (certs) {
            try {
                make(m.certs, 2, 1, 1, 1);
                k.has_issuer = true;
            } catch (const Error&) {
            }
        }
        for (const auto& c : combos) {
            unsigned u = 0, s = 0, mt = 0;
            std::istringstream in(c);
            in >> u >> s >> mt;
            try {
                if (u == 3 && s == 1) k.records[c] = certs ? make(m.certs, 3, 1, static_cast<std::uint8_t>(mt), 0)
                                                          : make(m.key, 3, 1, static_cast<std::uint8_t>(mt), 0);
                else if (u == 3 && certs) k.records[c] = make(m.certs, 3, static_cast<std::uint8_t>(s), static_cast<std::uint8_t>(mt), 0);
                else if (u == 2 && certs && k.has_issuer)
                    k.records[c] = make(m.certs, 2, static_cast<std::uint8_t>(s), static_cast<std::uint8_t>(mt), 1);
            } catch (const Error&) {
                // a combination this file cannot give (a key has no certificate)
            }
        }
    } catch (const Error& e) {
        throw Error(e.code(), std::string(which) + " (" + name + "): " + e.what());
    }
    return k;
}

// ---- DNS

std::vector<std::string> records_text(const core::DnsResult& r) {
    std::vector<std::string> out;
    for (const auto& rd : r.rdata) {
        try {
            out.push_back(core::to_text(core::parse_tlsa_rdata(rd.data(), rd.size())));
        } catch (const Error&) {
        }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::uint32_t u32(const Bytes& b, std::size_t at) {
    return static_cast<std::uint32_t>(b[at]) << 24 | static_cast<std::uint32_t>(b[at + 1]) << 16 |
           static_cast<std::uint32_t>(b[at + 2]) << 8 | b[at + 3];
}

// The zone holding `owner`: SOA asked at the owner, then each parent, up to
// the first name with an SOA RRset.
void find_zone(core::Resolver& r, const std::string& owner, core::RolloverFacts* f) {
    std::string name = owner;
    for (int i = 0; i < 64 && !name.empty(); ++i) {
        core::DnsResult soa = r.resolve({{name, kTypeSoa}})[0];
        if (soa.security == core::DnsSecurity::bogus || soa.security == core::DnsSecurity::failed) {
            f->zone = name;  // as far as we can tell; the TLSA lookup says the rest
            f->zone_security = soa.security;
            return;
        }
        if (!soa.rdata.empty() && soa.canonical.empty()) {
            f->zone = name;
            f->zone_security = soa.security;
            const Bytes& rd = soa.rdata[0];
            try {
                std::size_t pos = 0;
                f->primary = core::parse_wire_name(rd.data(), rd.size(), &pos).text;
                core::parse_wire_name(rd.data(), rd.size(), &pos);
                if (pos + 20 <= rd.size()) {
                    f->soa_refresh = u32(rd, pos + 4);
                    f->soa_minimum = u32(rd, pos + 16);
                }
            } catch (const Error&) {
            }
            if (soa.security == core::DnsSecurity::insecure)
                f->zone_has_dnskey = !r.resolve({{name, kTypeDnskey}})[0].rdata.empty();
            return;
        }
        auto dot = name.find('.');
        if (dot == std::string::npos) return;
        name = name.substr(dot + 1);
    }
}

// ---- the gate's state file: "danesmtp-rollover-state/1", then lines
// "FIRST_SEEN HOST PORT RECORD[,RECORD...]" (Unix seconds; the records of
// NEXT, sorted). Written whole to a temporary file, synced, renamed.

std::string state_key(const core::RolloverFacts& f, const std::vector<std::string>& next) {
    std::string s = f.host + " " + std::to_string(f.port) + " ";
    for (std::size_t i = 0; i < next.size(); ++i) {
        std::string r = next[i];
        std::replace(r.begin(), r.end(), ' ', '/');
        s += (i ? "," : "") + r;
    }
    return s;
}

constexpr std::size_t kMaxStateFile = 1u << 20;

// The file must be this user's (or root's), a regular file, and writable by
// no one else: a state that another user can backdate would open the gate.
bool read_state(const std::string& path, std::vector<std::pair<std::int64_t, std::string>>* out, std::string* error) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT) return true;
        *error = "cannot read the state file " + path + ": " + std::strerror(errno);
        return false;
    }
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 022) ||
        (st.st_uid != ::geteuid() && st.st_uid != 0)) {
        ::close(fd);
        *error = "the state file " + path + " is not a regular file of this user, closed to others";
        return false;
    }
    std::string text;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(buf, static_cast<std::size_t>(n));
        if (text.size() > kMaxStateFile) break;
    }
    ::close(fd);
    if (text.size() > kMaxStateFile) {
        *error = "the state file " + path + " is larger than 1 MiB";
        return false;
    }
    std::istringstream in(text);
    std::string line;
    if (!std::getline(in, line) || line != "danesmtp-rollover-state/1") {
        *error = "the state file " + path + " is not a danesmtp rollover state file";
        return false;
    }
    while (std::getline(in, line) && out->size() < kMaxStateEntries * 2) {
        if (line.size() > kMaxStateLine) continue;
        auto sp = line.find(' ');
        if (sp == std::string::npos) continue;
        char* end = nullptr;
        errno = 0;
        long long t = std::strtoll(line.c_str(), &end, 10);
        if (end != line.c_str() + sp || t <= 0 || errno == ERANGE) continue;
        out->emplace_back(static_cast<std::int64_t>(t), line.substr(sp + 1));
    }
    return true;
}

// Written whole to a fresh temporary file beside it (mkstemp: never one
// another user prepared), synced, renamed into place.
bool write_state(const std::string& path, const std::vector<std::pair<std::int64_t, std::string>>& entries, std::string* error) {
    std::string dir = path.substr(0, path.rfind('/') == std::string::npos ? 0 : path.rfind('/'));
    if (!dir.empty()) ::mkdir(dir.c_str(), 0755);  // the package makes it; a first run by hand may not have
    std::string tmp = path + ".XXXXXX";
    std::vector<char> name(tmp.begin(), tmp.end());
    name.push_back('\0');
    int fd = ::mkstemp(name.data());
    if (fd < 0) {
        *error = "cannot write the state file " + path + ": " + std::strerror(errno);
        return false;
    }
    tmp = name.data();
    ::fchmod(fd, 0644);
    std::string text = "danesmtp-rollover-state/1\n";
    std::size_t first = entries.size() > kMaxStateEntries ? entries.size() - kMaxStateEntries : 0;
    for (std::size_t i = first; i < entries.size(); ++i) text += std::to_string(entries[i].first) + " " + entries[i].second + "\n";
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    int saved = errno;
    ok = (::close(fd) == 0) && ok;
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        if (ok) saved = errno;
        ::unlink(tmp.c_str());
        *error = "cannot write the state file " + path + ": " + std::strerror(saved);
        return false;
    }
    return true;
}

// forget_state - an add that found NEXT's record missing on the primary
// (and sent it) makes any earlier sighting void: the wait starts anew.
void forget_state(const RolloverOptions& o, const core::RolloverFacts& f, const std::vector<std::string>& next_sorted,
                  std::string* error) {
    std::string path = o.state_file.empty() ? kRolloverStateDefault : o.state_file;
    std::vector<std::pair<std::int64_t, std::string>> entries;
    if (!read_state(path, &entries, error)) return;
    std::string key = state_key(f, next_sorted);
    auto it = std::remove_if(entries.begin(), entries.end(), [&](const auto& e) { return e.second == key; });
    if (it == entries.end()) return;
    entries.erase(it, entries.end());
    write_state(path, entries, error);
}

void gate_state(const RolloverOptions& o, core::RolloverFacts* f) {
    std::vector<std::string> next = core::rollover_records(f->next, f->published);
    std::sort(next.begin(), next.end());
    if (next.empty()) return;
    f->state_file = o.state_file.empty() ? kRolloverStateDefault : o.state_file;
    std::vector<std::pair<std::int64_t, std::string>> entries;
    if (!read_state(f->state_file, &entries, &f->state_error)) return;
    std::string key = state_key(*f, next);
    auto it = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.second == key; });
    bool everywhere = core::rollover_next_everywhere(*f);
    if (everywhere) {
        if (it != entries.end()) {
            f->first_seen = it->first;
            return;  // nothing changes
        }
        f->first_seen = f->now;
        entries.emplace_back(f->now, key);
    } else {
        if (it == entries.end()) return;
        entries.erase(it);  // seen everywhere once, not now: the wait starts again
    }
    write_state(f->state_file, entries, &f->state_error);
}

// ---- handshakes

std::vector<core::TlsaRecord> parse_all(const std::vector<std::string>& texts) {
    std::vector<core::TlsaRecord> out;
    for (const auto& t : texts) {
        try {
            out.push_back(core::parse_tlsa_text(t));
        } catch (const Error&) {
        }
    }
    return out;
}

bool matches(const std::vector<std::string>& records, const tls::Chain& chain, const std::string& host, const RolloverOptions& o) {
    std::vector<core::TlsaRecord> rs = parse_all(records);
    if (rs.empty()) return false;
    tls::VerifyRequest req;
    req.records = &rs;
    req.chain = &chain;
    req.names = {host};
    req.time = o.now;
    req.digests = o.digests;
    try {
        return tls::verify(req).outcome == core::Outcome::authenticated;
    } catch (const Error&) {
        return false;
    }
}

// One address: a handshake offering ECDSA signature algorithms and one
// offering RSA, so that a server holding both certificates shows both
// chains. Each chain presented must match for the address to match; a
// handshake refused for lack of that key type is not a chain.
core::RolloverProbeFacts probe_address(const std::string& addr, const RolloverOptions& o, const core::RolloverFacts& f,
                                       const std::vector<std::string>& next, const std::vector<std::string>& cur,
                                       const std::vector<std::string>& remaining) {
    core::RolloverProbeFacts p;
    p.address = addr;
    p.matches_published = p.matches_next = p.matches_current = p.matches_remaining = true;
    std::string errors;
    for (tls::Algorithms alg : {tls::Algorithms::ecdsa, tls::Algorithms::rsa}) {
        tls::Probe pr = tls::probe(addr, o.port, f.host, o.helo, o.timeout_ms, alg);
        std::string why;
        if (!pr.tls || pr.chain.empty()) why = pr.error.empty() ? "no TLS" : pr.error;
        else if (!pr.chain_error.empty()) why = "chain not kept whole: " + pr.chain_error;
        tls::Chain chain;
        std::string leaf;
        if (why.empty()) {
            try {
                for (const auto& der : pr.chain) chain.add_der(reinterpret_cast<const std::uint8_t*>(der.data()), der.size());
                leaf = make(pr.chain[0], 3, 1, 1, 0);
            } catch (const Error& e) {
                why = std::string("the chain does not parse: ") + e.what();
            }
        }
        if (!why.empty()) {
            if (!pr.chain_error.empty() || why.rfind("the chain", 0) == 0) {
                p.ok = false;  // a chain that was presented and cannot be judged: unsafe
                p.error = why;
                return p;
            }
            errors += std::string(errors.empty() ? "" : "; ") + tls::algorithms_name(alg) + ": " + why;
            continue;
        }
        if (p.ok && leaf == p.leaf) continue;  // the same chain again
        p.leaf = p.leaf.empty() ? leaf : p.leaf + " and " + leaf;
        p.ok = true;
        p.matches_published &= matches(f.published, chain, f.host, o);
        p.matches_next &= matches(next, chain, f.host, o);
        p.matches_current &= matches(cur, chain, f.host, o);
        p.matches_remaining &= matches(remaining, chain, f.host, o);
    }
    if (!p.ok) {
        p.error = errors;
        p.matches_published = p.matches_next = p.matches_current = p.matches_remaining = false;
    }
    return p;
}

// addresses_of - the A and AAAA addresses of `name`, at most `max`;
// *unknown says what was left out (a lookup that failed, the rest past max).
std::vector<std::string> addresses_of(core::Resolver& r, const std::string& name, std::size_t max,
                                      std::vector<std::string>* unknown) {
    std::vector<core::DnsQuery> q = {{name, core::kTypeA}, {name, core::kTypeAaaa}};
    std::vector<core::DnsResult> a = r.resolve(q);
    std::vector<std::string> out;
    bool past = false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].security == core::DnsSecurity::bogus || a[i].security == core::DnsSecurity::failed) {
            unknown->push_back(std::string(q[i].type == core::kTypeA ? "IPv4" : "IPv6") + " addresses of " + name +
                               " could not be looked up");
            continue;
        }
        for (const auto& rd : a[i].rdata) {
            std::string t = core::address_text(rd, q[i].type);
            if (t.empty()) continue;
            if (out.size() < max) out.push_back(t);
            else past = true;
        }
    }
    if (past) unknown->push_back("more than " + std::to_string(max) + " addresses: the rest left out");
    return out;
}

void probe_all(core::Resolver& r, const RolloverOptions& o, core::RolloverFacts* f) {
    f->probed = true;
    std::vector<std::string> unknown;  // what could not be probed: never "safe"
    std::vector<std::string> addresses = addresses_of(r, f->host, kMaxProbedAddresses, &unknown);
    std::vector<std::string> next = core::rollover_records(f->next, f->published);
    std::vector<std::string> cur = core::rollover_records(f->current, f->published);
    core::RolloverChange change = core::rollover_change(*f);
    std::vector<std::string> remaining;
    for (const auto& p : f->published)
        if (std::find(change.remove.begin(), change.remove.end(), p) == change.remove.end()) remaining.push_back(p);
    for (const auto& addr : addresses) f->probes.push_back(probe_address(addr, o, *f, next, cur, remaining));
    if (addresses.empty()) unknown.push_back("no address found");
    for (const auto& why : unknown) {
        core::RolloverProbeFacts p;
        p.address = f->host;
        p.error = why;
        f->probes.push_back(p);
    }
}

std::string primary_address(core::Resolver& r, const std::string& primary) {
    if (primary.empty()) return "";
    std::vector<std::string> ignored;
    std::vector<std::string> a = addresses_of(r, primary, 1, &ignored);
    return a.empty() ? "" : a[0];
}

}  // namespace

core::RolloverFacts rollover(core::Resolver& resolver, const std::string& host, const RolloverOptions& o) {
    core::RolloverFacts f;
    f.action = o.action;
    f.host = host;
    f.port = o.port;
    f.owner = "_" + std::to_string(o.port) + "._tcp." + host;
    f.now = o.now;
    f.dry_run = o.dry_run;
    core::TsigKey key;
    bool publish = o.action == core::RolloverAction::add || o.action == core::RolloverAction::remove;
    if (publish && !o.dry_run) key = core::parse_tsig_key(o.tsig);  // before anything is asked

    core::DnsResult t = resolver.resolve({{f.owner, core::kTypeTlsa}})[0];
    f.tlsa_security = t.security;
    f.tlsa_why = t.why;
    f.published = records_text(t);
    f.tlsa_ttl_left = t.ttl;
    find_zone(resolver, f.owner, &f);

    std::vector<std::string> combos = core::rollover_combos(f.published);
    if (std::find(combos.begin(), combos.end(), "3 1 1") == combos.end()) combos.push_back("3 1 1");
    if (!o.current.empty()) f.current = key_facts(o.current, o.current_name, "CURRENT", combos);
    if (!o.next.empty()) f.next = key_facts(o.next, o.next_name, "NEXT", combos);

    if (!f.zone.empty() && f.zone_security == core::DnsSecurity::secure) {
        GatherOptions g;
        g.stubs = o.stubs;
        std::vector<std::string> problems;
        for (const auto& [server, via] : servers_of(resolver, f.zone, g, &problems, kMaxRolloverServers)) {
            AuthAnswer a = ask_authoritative(server, f.zone, f.owner, std::min(o.timeout_ms, 5000u));
            core::RolloverServerFacts s;
            s.server = server;
            s.via = via;
            s.answered = a.answered;
            s.error = a.error;
            s.serial = a.serial;
            s.tlsa = a.tlsa;
            s.ttl = a.tlsa_ttl;
            s.tlsa_signed = a.tlsa_signed;
            f.servers.push_back(std::move(s));
        }
        // A server that could not be found or asked is one that may lag:
        // the gate stays closed (rollover_next_everywhere).
        for (const auto& p : problems) {
            core::RolloverServerFacts s;
            s.server = "?";
            s.via = "the zone's servers";
            s.error = p;
            f.servers.push_back(std::move(s));
        }
    }
    if (publish) {
        f.update_server = o.server.empty() ? primary_address(resolver, f.primary) : o.server;
        if (f.update_server.empty()) f.update_server = f.primary;
        // What to add or remove is decided on the RRset the update server
        // (the primary) has: a resolver may have asked a lagging secondary.
        AuthAnswer a = ask_authoritative(f.update_server, f.zone, f.owner, std::min(o.timeout_ms, 5000u));
        if (a.answered) {
            f.published = a.tlsa;
            f.published_from = f.update_server;
        }
    }
    if (o.probe && (o.action == core::RolloverAction::check || o.action == core::RolloverAction::remove)) probe_all(resolver, o, &f);
    if (o.action == core::RolloverAction::check) gate_state(o, &f);

    if (publish) {
        // The decision before sending: as a dry run (the update's own
        // findings come after it is sent).
        f.dry_run = true;
        core::RolloverOutcome before = core::rollover_evaluate(f);
        f.dry_run = o.dry_run;
        // Never below the TTL served now: a lower one would let the gate
        // measure a shorter wait than caches keep the old RRset.
        f.update_ttl = std::max<std::uint32_t>(o.ttl, before.ttl);
        if (f.update_ttl == 0) f.update_ttl = 300;
        bool refused = std::any_of(before.findings.begin(), before.findings.end(), [](const core::Finding& x) {
            return core::finding_severity(x.code) == core::Severity::error;
        });
        bool change = !before.change.add.empty() || !before.change.remove.empty();
        if (!o.dry_run && !refused && change) {
            dns::UpdateAnswer u = dns::send_update(f.update_server, f.zone, f.owner, before.change.add, before.change.remove,
                                                   f.update_ttl, key, o.timeout_ms,
                                                   f.published_from.empty() ? nullptr : &f.published);
            f.update_sent = u.answered;
            f.update_rcode = u.rcode;
            f.update_error = u.error;
            f.update_tsig_refused = u.tsig_refused;
            if (u.answered && u.rcode == "NOERROR" && u.error.empty() && !before.change.add.empty()) {
                std::vector<std::string> next = core::rollover_records(f.next, f.published);
                std::sort(next.begin(), next.end());
                std::string ignored;  // the gate fails closed on its own if the file is unusable
                forget_state(o, f, next, &ignored);
            }
        }
    }
    return f;
}

}  // namespace danesmtp::check
