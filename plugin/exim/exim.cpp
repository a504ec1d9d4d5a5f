// SPDX-License-Identifier: MIT
// exim.cpp - Exim ${dlfunc} entry points (include/danesmtp_exim.h).
//
// How the pieces fit (exim-config/README.md tells the administrator):
//   router    address_data = ${dlfunc{LIB}{danesmtp_exim_route}{$domain}{25}}
//             A failed expansion defers the message: the only place where
//             Exim fails closed on an expansion error (measured with Debian's
//             exim4 4.96; exim-config/README.md lists where it fails open).
//             The plan lists MX host *addresses*, so the manualroute router
//             sends Exim exactly where our DNSSEC-validated lookup said, and
//             Exim's own (unvalidated) DNS never picks a host.
//   transport hosts_require_tls, tls_sni from ${extract} on $address_data;
//             events tcp:connect and tls:cert call the two event functions,
//             which never fail (a failing event expansion counts as "no
//             objection" in Exim): they refuse with a non-empty string.
//
// State: Exim is single-threaded per process and dlopens this file once per
// process. Contexts (one per configuration file) live for the process. The
// chain being collected by tls:cert is reset on every tcp:connect event, and
// when a handshake starts over (a depth not below the previous one, or
// another host address).
#include "danesmtp_exim.h"
#include "exim/plan_hosts.h"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdarg>
#include <set>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

// Exim's return codes for ${dlfunc} (local_scan.h); tests/exim checks them.
constexpr int kOk = 0;
constexpr int kFail = 2;   // a failed expansion, without a panic-log entry
constexpr int kError = 3;  // a failed expansion, logged as a configuration error
constexpr int kLogMain = 1;

// Per thread: Exim calls from one thread, and danesmtpd (plugin/daemon)
// serves each Exim process from a thread of its own.
thread_local std::string g_yield;  // the string *yield points to until the next call

// The largest address_data the router writes (issue 7 item 4): 16 hosts
// with a full TLSA RRset of SHA-256 records each fit many times over.
constexpr std::size_t kMaxAddressData = 256 * 1024;
// The most addresses the plan lists: the transport tries them all
// (hosts_max_try = hosts_max_try_hardlimit = 50 in exim-config), so that
// no set of dead addresses keeps a message from a good host after them.
constexpr std::size_t kMaxAddresses = 50;

int reply(unsigned char** yield, int code, std::string text) {
    g_yield = std::move(text);
    if (yield) *yield = reinterpret_cast<unsigned char*>(&g_yield[0]);
    return code;
}

// For catch blocks: no allocation (the failure may have been bad_alloc).
int reply_static(unsigned char** yield, int code, const char* text) noexcept {
    thread_local char buf[128];
    std::strncpy(buf, text, sizeof buf - 1);
    if (yield) *yield = reinterpret_cast<unsigned char*>(buf);
    return code;
}

// log_main - a line in Exim's main log, through Exim's own log_write()
// found at run time (danesmtpd defines a log_write of its own that hands the
// line back to its Exim client); outside Exim (tests, other MTAs) it goes to
// stderr only when DANESMTP_EXIM_LOG_STDERR is set.
void log_main(const std::string& line) {
    using log_write_fn = void (*)(unsigned int, int, const char*, ...);
    static auto fn = reinterpret_cast<log_write_fn>(dlsym(RTLD_DEFAULT, "log_write"));
    if (fn)
        fn(0, kLogMain, "%s", line.c_str());
    else if (getenv("DANESMTP_EXIM_LOG_STDERR"))
        fprintf(stderr, "%s\n", line.c_str());
}

std::string arg(int argc, unsigned char* argv[], int i) {
    return i < argc && argv[i] ? reinterpret_cast<const char*>(argv[i]) : "";
}

// ---- the address_data format: key=value pairs, values quoted when they
// hold white space or quotes, as Exim's ${extract{key}{...}} reads them.

std::string quote(const std::string& v) {
    std::string out = "\"";
    for (char c : v) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n' || c == '\r') c = ' ';
        out += c;
    }
    return out + "\"";
}

std::map<std::string, std::string> parse_pairs(const std::string& s) {
    std::map<std::string, std::string> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
        std::size_t eq = s.find('=', i);
        if (eq == std::string::npos) break;
        std::string key = s.substr(i, eq - i);
        i = eq + 1;
        std::string value;
        if (i < s.size() && s[i] == '"') {
            for (++i; i < s.size() && s[i] != '"'; ++i) {
                if (s[i] == '\\' && i + 1 < s.size()) ++i;
                value += s[i];
            }
            ++i;
        } else {
            while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') value += s[i++];
        }
        // As Exim's ${extract}: keys compare case-insensitively and the
        // first occurrence wins, so both read the same value.
        for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.emplace(key, value);
    }
    return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        std::size_t end = s.find(sep, start);
        if (end == std::string::npos) end = s.size();
        if (end > start) out.push_back(s.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::vector<unsigned char> base64_decode(const std::string& in, bool* ok) {
    static const std::string abc =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::vector<unsigned char> out;
    unsigned buf = 0;
    int bits = 0;
    *ok = true;
    for (char c : in) {
        if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
        std::size_t v = abc.find(c);
        if (v == std::string::npos) {
            *ok = false;
            return {};
        }
        buf = (buf << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<unsigned char>(buf >> bits));
        }
    }
    return out;
}

// host_index - N of the host entry that ADDRESS belongs to ("host@ADDR=N"),
// "" when the address is not in the plan or N is not a number.
std::string host_index(std::map<std::string, std::string>& pairs, const std::string& address) {
    std::string n = pairs["host@" + address];
    if (n.empty() || n.size() > 3 || n.find_first_not_of("0123456789") != std::string::npos) return "";
    return n;
}

// ---- contexts, one per configuration file, for the life of the process.

// Freed at exit, so that libunbound's resolver process is told to stop
// instead of finding a broken pipe. A forked child frees only what it
// created: danesmtp_ctx_free leaves a parent's resolver alone.
struct Contexts {
    struct Entry {
        std::string identity;  // of the file when the context was made
        danesmtp_ctx* ctx = nullptr;
    };
    std::map<std::string, Entry> map;
    // Contexts of a file that changed since: another thread may still be
    // using one (danesmtpd), so they live until exit.
    std::vector<danesmtp_ctx*> retired;
    ~Contexts() {
        for (auto& [path, e] : map) danesmtp_ctx_free(e.ctx);
        for (auto* c : retired) danesmtp_ctx_free(c);
    }
};

// identity_of - what changes when the file is edited or replaced: device,
// inode, modification time and size ("" when there is no file).
std::string identity_of(const std::string& path) {
    struct stat st;
    if (path.empty() || stat(path.c_str(), &st) != 0) return "";
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_mtim.tv_sec) +
           "." + std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_size);
}

// context_for - the context of a configuration file, made again when the
// file has changed since: an edit (audit-only off, a new trust anchor)
// applies to the next lookup, also in danesmtpd, which lives for weeks.
// *identity receives the file's identity (for the plan memo).
danesmtp_ctx* context_for(const std::string& config, std::string* err, std::string* identity = nullptr) {
    static Contexts all;
    static std::mutex mu;  // danesmtpd's threads share the contexts
    // The default file is optional: without it the defaults apply (the root
    // key, the resolvers of /etc/resolv.conf). Any other file must exist.
    std::string path = config;
    if ((path.empty() || path == DANESMTP_CONFIG_FILE) && access(DANESMTP_CONFIG_FILE, F_OK) != 0)
        path.clear();
    else if (path.empty())
        path = DANESMTP_CONFIG_FILE;
    std::string id = identity_of(path);
    if (identity) *identity = id;
    std::lock_guard<std::mutex> lock(mu);
    auto& contexts = all.map;
    auto it = contexts.find(path);
    if (it != contexts.end() && it->second.identity == id) return it->second.ctx;
    danesmtp_options o = DANESMTP_OPTIONS_INIT;
    o.config_file = path.empty() ? nullptr : path.c_str();
    danesmtp_ctx* ctx = nullptr;
    if (danesmtp_ctx_new(&ctx, &o) != DANESMTP_OK) {
        *err = std::string("danesmtp: configuration ") + (path.empty() ? "(defaults)" : path) + ": " +
               danesmtp_last_error();
        return nullptr;
    }
    if (it != contexts.end()) all.retired.push_back(it->second.ctx);
    contexts[path] = Contexts::Entry{id, ctx};
    return ctx;
}

// report_cache - once per context and process: an answer cache that is
// configured but cannot be used (wrong owner, full disk) is logged for the
// administrator; mail flows without it, only at a higher cost per delivery.
// Returns the cache's status (DANESMTP_CACHE_*), asked once per context
// and process.
int report_cache(danesmtp_ctx* ctx) {
    static std::map<std::pair<pid_t, danesmtp_ctx*>, int> done;
    static std::mutex mu;
    {
        std::lock_guard<std::mutex> lock(mu);
        auto it = done.find({getpid(), ctx});
        if (it != done.end()) return it->second;
    }
    int status = danesmtp_cache_status(ctx);
    if (status == DANESMTP_CACHE_UNUSABLE)
        log_main(std::string("danesmtp: answer cache not used: ") + danesmtp_last_error());
    std::lock_guard<std::mutex> lock(mu);
    done.emplace(std::make_pair(getpid(), ctx), status);
    return status;
}

bool parse_port(const std::string& s, unsigned* port) {
    if (s.empty()) {
        *port = 25;
        return true;
    }
    if (s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    *port = static_cast<unsigned>(std::stoul(s));
    return *port > 0 && *port <= 65535;
}

using PlanPtr = std::shared_ptr<danesmtp_plan>;

// The last plan of this thread, for 2 seconds: Exim's refuse router (check)
// and route router ask for the same destination moments apart, and so does
// the RCPT check of each recipient of one domain. A plan is data computed
// from answers already validated; 2 seconds is far below any TTL.
struct Memo {
    std::string key;
    std::chrono::steady_clock::time_point at;
    PlanPtr plan;
};
thread_local Memo t_memo;
constexpr std::chrono::seconds kMemoLife{2};

// With an answer cache, the answers are shared by all deliveries for their
// TTL already; then the plans made from them are shared too, by all threads
// of the process (danesmtpd serves many Exim processes), for the same 2
// seconds. Bounded: the most recent kSharedMemos destinations.
constexpr std::size_t kSharedMemos = 64;
struct SharedMemo {
    std::mutex mu;
    std::vector<Memo> slots;  // most recent last
};
SharedMemo& shared_memo() {
    static SharedMemo m;
    return m;
}

// lookup - the plan for DOMAIN, or an Exim error text.
// MAX_ARGS: 3 (DOMAIN PORT CONFIG), or 4 for the route entry (its MODE).
bool lookup(int argc, unsigned char* argv[], const char* fn, PlanPtr* plan, std::string* err,
            int* code, int max_args = 3) {
    *code = kError;
    if (argc < 1 || argc > max_args) {
        *err = std::string("danesmtp: ") + fn + " takes DOMAIN [PORT [CONFIG" + (max_args > 3 ? " [MODE]" : "") +
               "]], got " + std::to_string(argc) + " argument(s)";
        return false;
    }
    std::string domain = arg(argc, argv, 0);
    unsigned port = 25;
    if (domain.empty()) {
        *err = std::string("danesmtp: ") + fn + ": empty domain";
        return false;
    }
    if (!parse_port(arg(argc, argv, 1), &port)) {
        *err = std::string("danesmtp: ") + fn + ": bad port '" + arg(argc, argv, 1) + "'";
        return false;
    }
    std::string identity;
    danesmtp_ctx* ctx = context_for(arg(argc, argv, 2), err, &identity);
    if (!ctx) return false;
    // The key holds the configuration file's identity: an edit is never
    // answered from a plan made under the old file.
    std::string key = domain + '\0' + std::to_string(port) + '\0' + arg(argc, argv, 2) + '\0' + identity;
    auto now = std::chrono::steady_clock::now();
    if (t_memo.plan && t_memo.key == key && now - t_memo.at < kMemoLife) {
        *plan = t_memo.plan;
        return true;
    }
    bool share = report_cache(ctx) == DANESMTP_CACHE_IN_USE;
    if (share) {
        auto& m = shared_memo();
        std::lock_guard<std::mutex> lock(m.mu);
        for (auto it = m.slots.rbegin(); it != m.slots.rend(); ++it)
            if (it->key == key && now - it->at < kMemoLife) {
                *plan = it->plan;
                t_memo = *it;
                return true;
            }
    }
    danesmtp_plan* raw = nullptr;
    int rc = danesmtp_lookup_domain(ctx, domain.c_str(), port, &raw);
    if (rc == DANESMTP_OK) {
        *plan = PlanPtr(raw, danesmtp_plan_free);
        t_memo = Memo{key, now, *plan};
        if (share) {
            auto& m = shared_memo();
            std::lock_guard<std::mutex> lock(m.mu);
            auto& v = m.slots;
            v.erase(std::remove_if(v.begin(), v.end(),
                                   [&](const Memo& e) { return e.key == key || now - e.at >= kMemoLife; }),
                    v.end());
            if (v.size() >= kSharedMemos) v.erase(v.begin());
            v.push_back(t_memo);
        }
    }
    if (rc != DANESMTP_OK) {
        *err = std::string("danesmtp: ") + fn + ": " + domain + ": " + danesmtp_last_error();
        // Not a host name (a UTF-8 domain, a domain literal): the message
        // waits, quietly; it is not a configuration error.
        if (rc == DANESMTP_E_PARSE || rc == DANESMTP_E_LIMIT) *code = kFail;
        return false;
    }
    return true;
}

const char* status_word(int status) {
    switch (status) {
        case DANESMTP_DOMAIN_OK: return "ok";
        case DANESMTP_DOMAIN_NULL_MX:
        case DANESMTP_DOMAIN_NXDOMAIN: return "fail";
        default: return "defer";
    }
}

// ---- the chain the tls:cert events deliver, top of the chain first.
struct Collected {
    std::string address;
    int last_depth = -1;
    std::vector<std::vector<unsigned char>> top_down;
    bool broken = false;
};
thread_local Collected g_chain;

}  // namespace

extern "C" {

int danesmtp_exim_route(unsigned char** yield, int argc, unsigned char* argv[]) {
    try {
        PlanPtr plan;
        std::string err;
        int code = kError;
        // MODE "refuse" (since 1.4): the first router's one lookup for both
        // routers (exim-config/conf.d/router/190_danesmtp). A destination
        // that takes no mail (null MX, no such domain) is then an answer,
        // "status=fail reason=...", for that router to bounce; without it,
        // as before, it fails the expansion like any state that is not ok.
        std::string mode = arg(argc, argv, 3);
        if (argc == 4 && mode != "refuse")
            return reply(yield, kError, "danesmtp: danesmtp_exim_route: unknown mode '" + mode + "'");
        if (!lookup(argc, argv, "danesmtp_exim_route", &plan, &err, &code, 4)) return reply(yield, code, err);
        danesmtp_plan* raw = plan.get();
        int status = danesmtp_plan_status(raw);
        bool audit = danesmtp_plan_audit_only(raw);
        std::string domain = danesmtp_plan_domain(raw);
        std::string hosts, require_tls, per_address, per_host;
        std::set<std::string> seen;
        std::size_t index = 0;  // of the hosts written to address_data
        std::size_t address_count = 0;
        std::vector<std::string> dropped;
        for (std::size_t i = 0; i < danesmtp_plan_host_count(raw); ++i) {
            const danesmtp_host* h = danesmtp_plan_host(raw, i);
            int verdict = danesmtp_host_verdict(h);
            // Audit-only (RFC 7672 section 9.1): a host is skipped only when it
            // has no address; otherwise it is tried, and what would have
            // blocked it is logged.
            if (verdict == DANESMTP_HOST_UNREACHABLE) {
                if (!audit || danesmtp_host_address_count(h) == 0) continue;
                log_main(std::string("danesmtp: audit-only: ") + danesmtp_host_name(h) +
                         " would be skipped: " + danesmtp_host_reason(h));
                verdict = DANESMTP_HOST_MAY;
            }
            std::string names, tlsa;
            for (std::size_t k = 0; k < danesmtp_host_name_count(h); ++k)
                names += std::string(k ? "," : "") + danesmtp_host_names(h)[k];
            const danesmtp_tlsa* set = danesmtp_host_tlsa(h);
            for (std::size_t k = 0; verdict == DANESMTP_HOST_DANE && k < danesmtp_tlsa_count(set); ++k) {
                danesmtp_tlsa_record r{};
                danesmtp_tlsa_get(set, k, &r);
                static const char hex[] = "0123456789abcdef";
                std::string data;
                data.reserve(2 * r.data_len);
                for (std::size_t b = 0; b < r.data_len; ++b) {
                    data += hex[r.data[b] >> 4];
                    data += hex[r.data[b] & 15];
                }
                tlsa += (k ? "," : "") + std::to_string(r.usage) + ":" + std::to_string(r.selector) + ":" +
                        std::to_string(r.mtype) + ":" + data;
            }
            // Per host, once: its name, verdict, SNI, and for DANE hosts the
            // reference identifiers and the TLSA RRset. Addresses point at it
            // (host@ADDR=N), so nothing repeats per address (issue 7 item 4).
            std::string n = std::to_string(index);
            std::string entry = " name." + n + "=" + danesmtp_host_name(h) + " verdict." + n + "=" +
                                danesmtp_host_verdict_name(verdict) + " sni." + n + "=" +
                                (*danesmtp_host_sni(h) ? danesmtp_host_sni(h) : danesmtp_host_name(h)) +
                                " verified." + n + "=" + (danesmtp_host_verified_possible(h) ? "1" : "0");
            if (verdict == DANESMTP_HOST_DANE)
                entry += " names." + n + "=" + names + " tlsa." + n + "=" + tlsa + " base." + n + "=" +
                         danesmtp_host_tlsa_base(h);
            std::string addrs, addr_keys, tls_addrs;
            std::size_t addr_count = 0;
            for (std::size_t k = 0; k < danesmtp_host_address_count(h); ++k) {
                std::string a = danesmtp_host_address(h, k);
                // An address listed under several MX hosts gets the policy of
                // the most preferred one, once: the transport and the events
                // must read one verdict per address.
                if (!seen.insert(a).second) continue;
                addrs += ";" + a;
                ++addr_count;
                addr_keys += " host@" + a + "=" + n;
                if (!audit && (verdict == DANESMTP_HOST_DANE || verdict == DANESMTP_HOST_ENCRYPT))
                    tls_addrs += ";" + a;
            }
            if (addrs.empty()) continue;
            if (address_count + addr_count > kMaxAddresses) {
                dropped.push_back(danesmtp_host_name(h));
                continue;
            }
            // The whole of address_data stays under kMaxAddressData: hosts
            // past it (the least preferred) are left out, with a log line.
            if (hosts.size() + require_tls.size() + per_address.size() + per_host.size() + addrs.size() +
                    tls_addrs.size() + addr_keys.size() + entry.size() > kMaxAddressData) {
                dropped.push_back(danesmtp_host_name(h));
                continue;
            }
            hosts += addrs;
            address_count += addr_count;
            require_tls += tls_addrs;
            per_address += addr_keys;
            per_host += entry;
            ++index;
        }
        if (!dropped.empty())
            log_main("danesmtp: " + domain + ": " + std::to_string(dropped.size()) +
                     " MX host(s) left out, the plan would exceed " + std::to_string(kMaxAddresses) +
                     " addresses or " + std::to_string(kMaxAddressData) + " bytes (first: " + dropped.front() + ")");
        std::string reason = danesmtp_plan_reason(raw);
        if (status == DANESMTP_DOMAIN_OK && !reason.empty()) log_main("danesmtp: " + domain + ": " + reason);
        const char* word = status_word(status);
        // The plan says for which destination it was made: the second router
        // uses the first one's only when it is for its own domain.
        std::string made_for = " domain=" + quote(arg(argc, argv, 0));
        if (mode == "refuse" && std::string(word) == "fail")
            return reply(yield, kOk, "status=fail reason=" + quote(reason.empty() ? "no mail" : reason) + made_for);
        if (status == DANESMTP_DOMAIN_OK && hosts.empty()) word = "defer";
        // Audit-only (issue 7 item 10): the hosts are known, only their
        // DNSSEC or TLSA state would have deferred the message; it goes to
        // them, and the log says it would have waited. Without any address
        // (bogus MX, nothing resolved) there is nowhere to go: defer.
        if (audit && std::string(word) == "defer" && !hosts.empty()) {
            log_main("danesmtp: audit-only: " + domain + " would be deferred: " +
                     (reason.empty() ? std::string("no MX host can be used") : reason));
            word = "ok";
        }
        // Cannot decide (bogus or failed DNS, nothing reachable): fail the
        // expansion, which defers the message in the router (RFC 7672
        // section 2.2.1). FAIL, not ERROR: this is DNS, not a config error.
        // "fail" (null MX, no such domain) reaches this router only when DNS
        // changed since danesmtp_refuse looked: defer, and the next attempt
        // bounces it there.
        if (std::string(word) != "ok")
            return reply(yield, kFail, std::string("DANE: ") + (reason.empty() ? "no MX host can be used" : reason));
        // Lists use Exim's "<;" syntax (';' as separator): IPv6 addresses
        // hold colons.
        auto list = [](const std::string& items) { return "<;" + (items.empty() ? items : items.substr(1)); };
        std::string out = std::string("status=") + word + made_for + " reason=" + quote(reason) +
                          " audit=" + (audit ? "1" : "0") + " config=" + quote(arg(argc, argv, 2)) +
                          " hosts=" + quote(list(hosts)) + " require_tls=" + quote(list(require_tls)) +
                          per_address + per_host;
        return reply(yield, kOk, out);
    } catch (...) {
        return reply_static(yield, kError, "danesmtp: internal error in danesmtp_exim_route");
    }
}

int danesmtp_exim_check(unsigned char** yield, int argc, unsigned char* argv[]) {
    try {
        PlanPtr plan;
        std::string err;
        int code = kError;
        if (!lookup(argc, argv, "danesmtp_exim_check", &plan, &err, &code)) {
            if (code == kFail) return reply(yield, kOk, "defer " + err);
            return reply(yield, kError, err);
        }
        danesmtp_plan* raw = plan.get();
        int status = danesmtp_plan_status(raw);
        if (status == DANESMTP_DOMAIN_OK) return reply(yield, kOk, "ok");
        return reply(yield, kOk, std::string(status_word(status)) + " " + danesmtp_plan_reason(raw));
    } catch (...) {
        return reply_static(yield, kError, "danesmtp: internal error in danesmtp_exim_check");
    }
}

int danesmtp_exim_connect(unsigned char** yield, int argc, unsigned char* argv[]) {
    // An event: never fail; refuse with a non-empty string.
    try {
        // A new connection: whatever an earlier handshake left is dropped.
        g_chain = Collected();
        if (argc != 2)
            return reply(yield, kOk, "danesmtp_exim_connect takes ADDRESS and ADDRESS_DATA, got " +
                                         std::to_string(argc) + " argument(s)");
        // A host our validated lookup did not name (a fallback host, or
        // Exim's own MX lookup): the strictest treatment is not to use it.
        // The rule is in plan_hosts.h, shared with the service client, which
        // applies it itself (issue 11).
        char why[512];
        std::string plan = arg(argc, argv, 1), address = arg(argc, argv, 0);
        int verdict = danesmtp_connect_rule(plan.c_str(), address.c_str(), why, sizeof why);
        if (verdict == 1) return reply(yield, kOk, "");
        if (verdict == 0) return reply(yield, kOk, why);
        return reply_static(yield, kOk, "danesmtp: out of memory in danesmtp_exim_connect");
    } catch (...) {
        return reply_static(yield, kOk, "danesmtp: internal error in danesmtp_exim_connect");
    }
}

int danesmtp_exim_tls_cert(unsigned char** yield, int argc, unsigned char* argv[]) {
    // An event: never fail; refuse with a non-empty string.
    try {
        if (argc != 4)
            return reply(yield, kOk, "danesmtp_exim_tls_cert takes DEPTH, CERT, ADDRESS and ADDRESS_DATA, got " +
                                         std::to_string(argc) + " argument(s)");
        std::string depth_s = arg(argc, argv, 0), address = arg(argc, argv, 2);
        if (depth_s.empty() || depth_s.size() > 3 || depth_s.find_first_not_of("0123456789") != std::string::npos)
            return reply(yield, kOk, "danesmtp: bad certificate depth '" + depth_s + "'");
        int depth = std::stoi(depth_s);
        auto pairs = parse_pairs(arg(argc, argv, 3));
        // A new handshake: another host, or a depth not below the last one.
        if (address != g_chain.address || g_chain.last_depth < 0 || depth >= g_chain.last_depth) {
            g_chain = Collected();
            g_chain.address = address;
        } else if (depth != g_chain.last_depth - 1) {
            g_chain.broken = true;  // a certificate event went missing: refuse
        }
        g_chain.last_depth = depth;
        bool ok = false;
        auto der = base64_decode(arg(argc, argv, 1), &ok);
        if (!ok || der.empty()) g_chain.broken = true;
        g_chain.top_down.push_back(std::move(der));
        if (depth > 0) return reply(yield, kOk, "");

        // Depth 0: the whole chain is here.
        Collected chain = std::move(g_chain);
        g_chain = Collected();
        std::string n = host_index(pairs, address);
        std::string verdict = n.empty() ? "" : pairs["verdict." + n];
        std::string name = n.empty() ? "" : pairs["name." + n];
        std::string who = "H=" + (name.empty() ? std::string("?") : name) + " [" + address + "]";
        if (verdict.empty()) {
            std::string why = "danesmtp: " + who + " is not in the DANE plan for this destination";
            log_main(why);
            return reply(yield, kOk, why);
        }
        if (verdict != "dane") return reply(yield, kOk, "");  // TLS without DANE authentication
        bool audit = pairs["audit"] == "1";

        std::string result;  // "" authenticated, else why not
        std::string detail;
        danesmtp_tlsa* set = nullptr;
        danesmtp_chain* c = nullptr;
        danesmtp_result* res = nullptr;
        danesmtp_tlsa_new(&set);
        danesmtp_chain_new(&c);
        for (const auto& rec : split(pairs["tlsa." + n], ',')) {
            auto f = split(rec, ':');
            std::string text = f.size() == 4 ? f[0] + " " + f[1] + " " + f[2] + " " + f[3] : rec;
            if (danesmtp_tlsa_add_text(set, text.c_str()) != DANESMTP_OK)
                result = std::string("bad TLSA record in address_data: ") + danesmtp_last_error();
        }
        if (chain.broken) result = "the chain arrived incomplete or did not decode from base64";
        for (auto it = chain.top_down.rbegin(); result.empty() && it != chain.top_down.rend(); ++it)
            if (danesmtp_chain_add_der(c, it->data(), it->size()) != DANESMTP_OK)
                result = std::string("certificate rejected: ") + danesmtp_last_error();
        std::vector<std::string> names = split(pairs["names." + n], ',');
        std::vector<const char*> cnames;
        for (const auto& ref : names) cnames.push_back(ref.c_str());
        danesmtp_ctx* ctx = nullptr;
        std::string err;
        if (result.empty()) {
            ctx = context_for(pairs["config"], &err);
            if (!ctx) {
                // Verification needs no resolver: a plain context will do.
                static danesmtp_ctx* plain = [] {
                    danesmtp_ctx* fresh = nullptr;
                    danesmtp_ctx_new(&fresh, nullptr);
                    return fresh;
                }();
                ctx = plain;
            }
            if (danesmtp_verify(ctx, set, c, cnames.data(), cnames.size(), DANESMTP_TIME_NOW, &res) != DANESMTP_OK)
                result = std::string("verification error: ") + danesmtp_last_error();
            else if (danesmtp_result_verdict(res) != DANESMTP_AUTHENTICATED)
                result = danesmtp_result_reason(res);
            else {
                danesmtp_tlsa_record r{};
                danesmtp_result_record(res, &r);
                detail = danesmtp_result_reason(res);
            }
        }
        danesmtp_result_free(res);
        danesmtp_chain_free(c);
        danesmtp_tlsa_free(set);

        std::string base = pairs["base." + n];
        if (result.empty()) {
            log_main("danesmtp: " + who + " DANE " + (pairs["verified." + n] == "1" ? "verified" : "trusted") +
                     " base=" + base + ": " + detail);
            return reply(yield, kOk, "");
        }
        if (audit) {
            log_main("danesmtp: " + who + " DANE failed (audit-only, not enforced) base=" + base + ": " + result);
            return reply(yield, kOk, "");
        }
        log_main("danesmtp: " + who + " DANE failed base=" + base + ": " + result);
        return reply(yield, kOk, "DANE verification failed for " + who + ": " + result);
    } catch (...) {
        g_chain = Collected();
        return reply_static(yield, kOk, "danesmtp: internal error in danesmtp_exim_tls_cert");
    }
}

int danesmtp_exim_delivery(unsigned char** yield, int argc, unsigned char* argv[]) {
    // msg:delivery event: Exim ignores its result; this only logs. A DANE
    // or encrypt host that took the message without TLS is the downgrade
    // audit-only mode exists to show (issue 7 item 11): tls:cert never fires
    // then, so this is the only place that sees it. Without audit-only,
    // hosts_require_tls makes it impossible; if it ever happened it is
    // logged all the same.
    try {
        if (argc != 3)
            return reply(yield, kOk, "danesmtp_exim_delivery takes ADDRESS, TLS_CIPHER and ADDRESS_DATA, got " +
                                         std::to_string(argc) + " argument(s)");
        std::string address = arg(argc, argv, 0), cipher = arg(argc, argv, 1);
        auto pairs = parse_pairs(arg(argc, argv, 2));
        std::string n = host_index(pairs, address);
        if (n.empty()) return reply(yield, kOk, "");
        std::string verdict = pairs["verdict." + n];
        if (!cipher.empty() || (verdict != "dane" && verdict != "encrypt")) return reply(yield, kOk, "");
        std::string who = "H=" + pairs["name." + n] + " [" + address + "]";
        log_main("danesmtp: " + who + " delivered in clear text although " +
                 (verdict == "dane" ? "DANE requires authenticated TLS" : "its TLSA records require TLS") +
                 (pairs["audit"] == "1" ? " (audit-only, not enforced)" : " (policy violated)"));
        return reply(yield, kOk, "");
    } catch (...) {
        return reply_static(yield, kOk, "");
    }
}

}  // extern "C"
