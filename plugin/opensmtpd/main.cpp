// SPDX-License-Identifier: MIT
// main.cpp - danesmtp-opensmtpd, a filter for OpenSMTPD's proc-exec
// (danesmtp-opensmtpd(8); opensmtpd-config/README.md tells the administrator).
//
//   smtp-in rcpt-to  the recipient domain's DANE state decides: 451 4.7.5 when
//                    its lookups say to wait, 550 5.1.10 for a null MX, else
//                    proceed (decide.cpp).
//   smtp-out reports where each accepted transaction went and whether it was
//                    encrypted; a delivery the plan forbids is logged (it cannot
//                    be stopped: smtpd gives smtp-out no filter phase).
//
// Threads: the main thread reads smtpd's lines and keeps the deadlines;
// workers (at most --workers) do the lookups through one library context,
// which several threads may use at once (include/danesmtp.h). Requests for a
// domain already being looked up wait for that lookup instead of starting
// another, so many sessions to one dead zone hold one worker. Every request
// is answered exactly once: by its lookup, or at its deadline, whichever
// comes first; the other finds it answered.
//
// It uses only the library's C interface, like any MTA adapter, and the
// danesmtp tool's option parsing (plugin/cli/common.hpp) for the resolver
// options, so both take them alike.
#include <danesmtp.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <system_error>
#include <string>
#include <thread>
#include <vector>

#include "cli/common.hpp"
#include "opensmtpd/decide.hpp"
#include "opensmtpd/protocol.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using danesmtp_osd::Decision;

const char kFilterUsage[] =
    "usage: danesmtp-opensmtpd [--conf FILE] [--trust-anchor FILE] [--stub ZONE=IP@PORT]...\n"
    "                          [--forward IP[@PORT]]... [--timeout MS] [--insecure-mx dane|encrypt|ignore]\n"
    "                          [--mandatory DOMAIN]... [--audit-only] [--no-root-anchor] [--port PORT]\n"
    "                          [--local DOMAIN]... [--deadline MS] [--workers N] [--fail-closed]\n"
    "                          [--probe] [--probe-interval SECONDS]\n"
    "A filter for OpenSMTPD (smtpd.conf: filter \"danesmtp\" proc-exec \"...\"); it speaks\n"
    "smtpd's filter protocol on stdin/stdout and logs to stderr. See danesmtp-opensmtpd(8).\n";

// ---- output: whole lines, one writer at a time, never under Filter's mutex
// (a slow reader on smtpd's side must not stall the lookups).
std::mutex g_out_mu, g_err_mu;

void write_all(int fd, const std::string& s) {
    std::size_t done = 0;
    while (done < s.size()) {
        ssize_t n = ::write(fd, s.data() + done, s.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) _exit(fd == 1 ? 0 : 1);  // smtpd is gone: nothing left to filter
        done += static_cast<std::size_t>(n);
    }
}

void send_line(const std::string& line) {
    std::lock_guard<std::mutex> lock(g_out_mu);
    write_all(1, line + "\n");
}

// log_line - one line for smtpd's log: printable ASCII only (a domain or a
// reason may carry any byte).
void log_line(const std::string& line) {
    std::string clean;
    for (char c : line) clean += (c >= 0x20 && c < 0x7f) ? c : '?';
    std::lock_guard<std::mutex> lock(g_err_mu);
    write_all(2, clean + "\n");
}

// What to write once the mutex is released.
struct Out {
    std::vector<std::string> send, log;
    void flush() {
        for (const auto& l : log) log_line(l);
        for (const auto& l : send) send_line(l);
        send.clear();
        log.clear();
    }
};

struct Settings {
    unsigned port = 25;
    std::set<std::string> local;  // domains never looked up (delivered here)
    std::chrono::milliseconds deadline{20000};
    std::size_t workers = 64;
    bool fail_closed = false;
    bool audit = false;  // --audit-only, or audit-only = yes in the configuration file
    bool probe = false;
    std::chrono::seconds probe_interval{600};
};

// ---- the requests in flight.
struct Pending {
    danesmtp_osd::RcptRequest req;
    Clock::time_point deadline;
    bool answered = false;
};
using PendingPtr = std::shared_ptr<Pending>;

constexpr std::size_t kMaxPending = 20000;

class Filter {
public:
    Filter(danesmtp_ctx* ctx, Settings s)
        : ctx_(ctx), s_(std::move(s)), max_audit_(std::max<std::size_t>(1, s_.workers / 4)) {}

    void rcpt(danesmtp_osd::RcptRequest r) {
        std::string domain = r.domain;
        Out out;
        if (domain.empty() || s_.local.count(domain)) {
            send_line(danesmtp_osd::result_line(r.version, r.session, r.token, Decision{}));
            return;
        }
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (pending_.size() >= kMaxPending) {
                Decision d = refusal(domain,
                                     "more than " + std::to_string(kMaxPending) + " recipients waiting for lookups",
                                     "451 4.3.2 DANE filter busy, try again later", &out);
                out.send.push_back(danesmtp_osd::result_line(r.version, r.session, r.token, d));
            } else {
                auto p = std::make_shared<Pending>();
                p->req = std::move(r);
                p->deadline = Clock::now() + s_.deadline;
                pending_.push_back(p);  // deadlines are arrival + a constant: in order
                auto& list = waiting_[domain];
                list.push_back(p);
                // One lookup per domain at a time: later requests join it.
                if (list.size() == 1) {
                    rcpt_jobs_.push_back(domain);
                    wake_locked(&out);
                }
            }
        }
        out.flush();
    }

    void audit(danesmtp_osd::Delivery d) {
        Out out;
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (audit_jobs_.size() >= kMaxPending) {
                out.log.push_back("danesmtp: audit queue full, delivery of message " + d.message_id + " not audited");
            } else {
                audit_jobs_.push_back(std::make_shared<danesmtp_osd::Delivery>(std::move(d)));
                wake_locked(&out);
            }
        }
        out.flush();
    }

    // expire - answer what is past its deadline; returns the milliseconds
    // until the next deadline (-1: none).
    int expire() {
        Out out;
        int next = -1;
        {
            std::lock_guard<std::mutex> lock(mu_);
            auto now = Clock::now();
            while (!pending_.empty()) {
                PendingPtr p = pending_.front();
                if (!p->answered && p->deadline > now) {
                    next = static_cast<int>(
                        std::chrono::duration_cast<std::chrono::milliseconds>(p->deadline - now).count() + 1);
                    break;
                }
                pending_.pop_front();
                if (!p->answered) {
                    std::string why = "DNS lookups for " + p->req.domain + " did not finish within " +
                                      std::to_string(s_.deadline.count()) + " ms";
                    answer_locked(p, refusal(p->req.domain, why, "451 4.7.5 DANE: " + why, &out), &out);
                }
            }
        }
        out.flush();
        return next;
    }

private:
    bool audit_mode() const { return s_.audit || audit_seen_; }

    // refusal - a temporary refusal, or proceed in audit-only mode (which
    // never blocks: RFC 7672 section 9.1's "report, do not enforce").
    Decision refusal(const std::string& domain, const std::string& why, const std::string& reply, Out* out) {
        if (audit_mode()) {
            out->log.push_back("danesmtp: audit-only: RCPT for " + domain + " would be refused: " + why);
            return Decision{};
        }
        out->log.push_back("danesmtp: RCPT for " + domain + " refused: " + why);
        return Decision{false, reply};
    }

    // wake_locked - get a worker for the jobs queued: wake an idle one, and
    // start another (up to --workers) when more jobs can run than threads
    // wait. A woken thread counts as idle until it runs, so both are needed
    // when jobs arrive faster than threads wake.
    void wake_locked(Out* out) {
        std::size_t runnable = rcpt_jobs_.size() +
                               std::min(audit_jobs_.size(), max_audit_ > auditing_ ? max_audit_ - auditing_ : 0);
        if (idle_ > 0) cv_.notify_one();
        if (runnable > idle_ && threads_ < s_.workers) {
            try {
                std::thread(&Filter::worker, this).detach();
                ++threads_;
            } catch (const std::system_error& e) {
                // The queued jobs wait for a thread; their deadline answers
                // them if none frees up.
                out->log.push_back(std::string("danesmtp: cannot start a lookup thread: ") + e.what());
            }
        }
    }

    void answer_locked(const PendingPtr& p, const Decision& d, Out* out) {
        if (p->answered) return;
        p->answered = true;
        out->send.push_back(danesmtp_osd::result_line(p->req.version, p->req.session, p->req.token, d));
    }

    void worker() {
        std::unique_lock<std::mutex> lock(mu_);
        for (;;) {
            std::string domain;
            std::shared_ptr<danesmtp_osd::Delivery> delivery;
            if (!rcpt_jobs_.empty()) {
                // RCPT answers first: a person waits for them.
                domain = std::move(rcpt_jobs_.front());
                rcpt_jobs_.pop_front();
                auto it = waiting_.find(domain);
                bool wanted = false;
                if (it != waiting_.end())
                    for (const auto& p : it->second) wanted |= !p->answered;
                if (!wanted) {
                    // Every request for it got its answer at the deadline:
                    // a lookup now would only hold a thread others need.
                    if (it != waiting_.end()) waiting_.erase(it);
                    continue;
                }
            } else if (!audit_jobs_.empty() && auditing_ < max_audit_) {
                // Audits and probes take at most a quarter of the threads.
                delivery = std::move(audit_jobs_.front());
                audit_jobs_.pop_front();
                ++auditing_;
            } else {
                ++idle_;
                cv_.wait(lock);
                --idle_;
                continue;
            }
            lock.unlock();
            if (delivery)
                do_audit(*delivery);
            else
                do_rcpt(domain);
            lock.lock();
            if (delivery) {
                --auditing_;
                if (!audit_jobs_.empty()) cv_.notify_one();
            }
        }
    }

    void do_rcpt(const std::string& domain) {
        Out out;
        Decision d;
        std::string log;
        danesmtp_plan* plan = nullptr;
        int rc = danesmtp_lookup_domain(ctx_, domain.c_str(), s_.port, &plan);
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (rc == DANESMTP_OK) {
                if (danesmtp_plan_audit_only(plan)) audit_seen_ = true;
                d = danesmtp_osd::rcpt_decision(plan, &log);
                danesmtp_plan_free(plan);
                if (!log.empty()) out.log.push_back(log);
            } else if ((rc == DANESMTP_E_PARSE || rc == DANESMTP_E_LIMIT) && !s_.fail_closed) {
                // Not a name DNS can carry (smtpd checked its characters,
                // so: too long): no DANE lookup can be made, and smtpd
                // cannot route it either.
                out.log.push_back("danesmtp: RCPT for " + domain + ": not looked up: " + danesmtp_last_error());
            } else {
                // The library failed (memory, an internal error): DANE's
                // answer is unknown, so the recipient waits, as for a
                // failed lookup.
                std::string why = std::string("lookup error: ") + danesmtp_last_error();
                d = refusal(domain, why, "451 4.3.0 DANE filter: lookup error", &out);
            }
            auto it = waiting_.find(domain);
            bool answered_any = false;
            if (it != waiting_.end()) {
                for (auto& p : it->second) {
                    answered_any |= !p->answered;
                    answer_locked(p, d, &out);
                }
                waiting_.erase(it);
            }
            // A lookup that ended after every deadline: its verdict went out
            // as 451 already; say nothing more.
            if (!answered_any) out.log.clear();
        }
        out.flush();
    }

    void do_audit(const danesmtp_osd::Delivery& d) {
        std::set<std::string> domains;
        for (const auto& r : d.recipients) {
            std::string dom = danesmtp_osd::domain_of(r);
            if (!dom.empty() && !s_.local.count(dom)) domains.insert(dom);
        }
        if (d.address.empty()) {
            log_line("danesmtp: audit: message " + d.message_id + " went to an address smtpd did not report");
            return;
        }
        for (const auto& domain : domains) {
            danesmtp_plan* plan = nullptr;
            if (danesmtp_lookup_domain(ctx_, domain.c_str(), s_.port, &plan) != DANESMTP_OK) {
                log_line("danesmtp: audit: " + domain + ": " + danesmtp_last_error());
                continue;
            }
            for (const auto& line : danesmtp_osd::audit_delivery(plan, d, domain)) {
                log_line(line.text);
                if (s_.probe && line.needs_dane) probe(line.host, d.address);
            }
            danesmtp_plan_free(plan);
        }
    }
    // probe - our own STARTTLS handshakes with the host smtpd just used
    // (danesmtp_check of that one host), at most once per host per
    // probe-interval: the verdict smtpd could not reach.
    void probe(const std::string& host, const std::string& address) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            auto now = Clock::now();
            auto it = probed_.find(host);
            if (it != probed_.end() && now - it->second < s_.probe_interval) return;
            if (probed_.size() > 10000) probed_.clear();
            probed_[host] = now;
        }
        danesmtp_check_options o = DANESMTP_CHECK_OPTIONS_INIT;
        o.port = s_.port;
        o.flags = DANESMTP_CHECK_HOST;
        o.deadline_ms = 30000;
        danesmtp_report* report = nullptr;
        if (danesmtp_check(ctx_, host.c_str(), &o, &report) != DANESMTP_OK) {
            log_line("danesmtp: out-probe-failed: H=" + host + " [" + address + "] probe not made: " +
                     danesmtp_last_error());
            return;
        }
        // The verdict on the chains is the check's "verified" finding (every
        // address and key type matched). Its other errors say why not; those
        // about the zone's authoritative servers ("auth-*") are left out: the
        // probe is about the certificate, and those servers may not be
        // reachable from a host that uses a resolver.
        std::string errors;
        bool verified = false;
        for (std::size_t i = 0; i < danesmtp_report_finding_count(report); ++i) {
            std::string code = danesmtp_report_finding_code(report, i);
            if (code == "verified") verified = true;
            if (danesmtp_report_finding_severity(report, i) == DANESMTP_SEVERITY_ERROR && code.compare(0, 5, "auth-") != 0)
                errors += (errors.empty() ? "" : ", ") + code;
        }
        if (verified)
            log_line("danesmtp: out-probe-verified: H=" + host + " [" + address +
                     "] presents a certificate its TLSA records match");
        else
            log_line("danesmtp: out-probe-failed: H=" + host + " [" + address + "] " +
                     (errors.empty() ? std::string("no address presented a matching chain") : errors) +
                     " (danesmtp check " + host + ":" + std::to_string(s_.port) + " explains)");
        danesmtp_report_free(report);
    }

    danesmtp_ctx* ctx_;
    Settings s_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::size_t max_audit_;
    std::deque<std::string> rcpt_jobs_;  // domains to look up
    std::deque<std::shared_ptr<danesmtp_osd::Delivery>> audit_jobs_;
    std::deque<PendingPtr> pending_;  // every request, in deadline order
    std::map<std::string, std::vector<PendingPtr>> waiting_;
    std::map<std::string, Clock::time_point> probed_;
    std::size_t threads_ = 0, idle_ = 0, auditing_ = 0;
    // A plan said audit-only: the configuration as the library read it
    // (Settings::audit is what the filter read of it at start).
    std::atomic<bool> audit_seen_{false};
};

// config_audit_only - what the configuration file says of audit-only (the
// last `audit-only = yes|no` line, as the library reads it: '#' starts a
// comment, blanks around key and value). The library applies it to every
// plan; the filter needs it also for answers no plan made (the deadline, a
// full queue), and the C interface has no accessor for it. The file was
// parsed by the library already (make_ctx): nothing here can be malformed
// in a way that matters.
bool config_audit_only(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    bool audit = false;
    auto trim = [](std::string v) {
        auto b = v.find_first_not_of(" \t\r");
        auto e = v.find_last_not_of(" \t\r");
        return b == std::string::npos ? std::string() : v.substr(b, e - b + 1);
    };
    while (std::getline(in, line)) {
        auto hash = line.find('#');
        if (hash != std::string::npos) line.resize(hash);
        auto eq = line.find('=');
        if (eq == std::string::npos || trim(line.substr(0, eq)) != "audit-only") continue;
        std::string v = trim(line.substr(eq + 1));
        if (v == "yes") audit = true;
        if (v == "no") audit = false;
    }
    return audit;
}

unsigned number(const std::string& opt, const std::string& v, unsigned lo, unsigned hi) {
    bool digits = !v.empty() && v.size() <= 9;
    for (char c : v) digits &= c >= '0' && c <= '9';
    unsigned n = digits ? static_cast<unsigned>(std::stoul(v)) : 0;
    if (!digits || n < lo || n > hi)
        throw cli::UsageError{opt + " wants a number from " + std::to_string(lo) + " to " + std::to_string(hi) +
                              ", not '" + v + "'"};
    return n;
}

int run(int argc, char** argv) {
    std::vector<std::string> with_value = cli::kResolverOptions;
    for (const char* o : {"--local", "--deadline", "--workers", "--probe-interval"}) with_value.push_back(o);
    auto a = cli::parse_args(argc, argv, 1, with_value,
                             {"--audit-only", "--no-root-anchor", "--fail-closed", "--probe", "--help", "--version"});
    if (cli::has_flag(a, "--help")) {
        std::cout << kFilterUsage;
        return 0;
    }
    if (cli::has_flag(a, "--version")) {
        std::cout << "danesmtp-opensmtpd " << danesmtp_version() << "\n";
        return 0;
    }
    if (!a.operands.empty()) throw cli::UsageError{"no operands expected, got '" + a.operands[0] + "'"};
    Settings s;
    for (const auto& [opt, val] : a.options) {
        if (opt == "--port") s.port = cli::parse_port(val);
        else if (opt == "--deadline") s.deadline = std::chrono::milliseconds(number(opt, val, 100, 600000));
        else if (opt == "--workers") s.workers = number(opt, val, 1, 1024);
        else if (opt == "--probe-interval") s.probe_interval = std::chrono::seconds(number(opt, val, 1, 86400));
        else if (opt == "--local") {
            std::string d = danesmtp_osd::domain_of("@" + val);
            if (d.empty()) throw cli::UsageError{"--local wants a domain, not '" + val + "'"};
            s.local.insert(d);
        } else if (opt == "--helo") {
            throw cli::UsageError{"--helo is not an option of the filter"};
        }
    }
    s.fail_closed = cli::has_flag(a, "--fail-closed");
    s.probe = cli::has_flag(a, "--probe");
    cli::CtxPtr ctx = cli::make_ctx(a);
    // The file make_ctx read (its rule: --conf, else DANESMTP_CONFIG_FILE
    // when readable); --audit-only comes after the file, as there.
    std::string conf;
    for (const auto& [opt, val] : a.options)
        if (opt == "--conf") conf = val;
    if (conf.empty() && access(DANESMTP_CONFIG_FILE, R_OK) == 0) conf = DANESMTP_CONFIG_FILE;
    s.audit = (!conf.empty() && config_audit_only(conf)) || cli::has_flag(a, "--audit-only");
    // The resolver is checked now so that a broken trust anchor shows in
    // smtpd's log at start; lookups defer (451) until it works.
    if (danesmtp_selftest(ctx.get()) != DANESMTP_OK)
        log_line(std::string("danesmtp: resolver self-test failed, recipients will get 451 until it works: ") +
                 danesmtp_last_error());

    Filter filter(ctx.get(), s);
    danesmtp_osd::Protocol protocol(s.fail_closed);
    std::string buf;
    bool dropping = false;  // inside a line longer than kMaxLine
    char chunk[65536];
    for (;;) {
        int wait = filter.expire();
        pollfd pfd{0, POLLIN, 0};
        int r = poll(&pfd, 1, wait);
        if (r < 0 && errno != EINTR) _exit(1);  // workers still use the context: no destructors
        if (r <= 0) continue;
        ssize_t n = ::read(0, chunk, sizeof chunk);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) _exit(0);  // smtpd closed the pipe: it is stopping
        buf.append(chunk, static_cast<std::size_t>(n));
        std::size_t start = 0;
        for (;;) {
            auto nl = buf.find('\n', start);
            if (nl == std::string::npos) break;
            std::string_view line(buf.data() + start, nl - start);
            start = nl + 1;
            if (dropping) {
                dropping = false;
                continue;
            }
            danesmtp_osd::Actions act;
            protocol.feed(line, &act);
            for (const auto& l : act.log) log_line(l);
            for (const auto& l : act.write) send_line(l);
            for (auto& q : act.rcpt) filter.rcpt(std::move(q));
            for (auto& d : act.delivered) filter.audit(std::move(d));
        }
        buf.erase(0, start);
        if (buf.size() > danesmtp_osd::kMaxLine) {
            log_line("danesmtp: protocol: a line longer than " + std::to_string(danesmtp_osd::kMaxLine) +
                     " bytes dropped");
            buf.clear();
            dropping = true;
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    signal(SIGPIPE, SIG_IGN);
    try {
        return run(argc, argv);
    } catch (const cli::UsageError& e) {
        // smtpd logs this line and stops: a filter that cannot start must
        // not leave smtpd accepting mail it would send without DANE.
        log_line("danesmtp-opensmtpd: " + e.message);
        return 2;
    } catch (const std::exception& e) {
        log_line(std::string("danesmtp-opensmtpd: ") + e.what());
        return 1;
    }
}
