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

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
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

// ---- output: whole lines, one writer at a time.
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

void log_line(const std::string& line) {
    std::lock_guard<std::mutex> lock(g_err_mu);
    std::string clean;
    for (char c : line) clean += (c == '\n' || c == '\r') ? ' ' : c;
    write_all(2, clean + "\n");
}

struct Settings {
    unsigned port = 25;
    std::set<std::string> local;  // domains never looked up (delivered here)
    std::chrono::milliseconds deadline{20000};
    std::size_t workers = 32;
    bool fail_closed = false;
    bool audit_flag = false;
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

struct Job {
    std::string domain;                      // rcpt: look up and answer the waiting requests
    std::shared_ptr<danesmtp_osd::Delivery> delivery;  // or: audit this delivery
};

constexpr std::size_t kMaxPending = 20000;

class Filter {
public:
    Filter(danesmtp_ctx* ctx, Settings s) : ctx_(ctx), s_(std::move(s)) {}

    void rcpt(danesmtp_osd::RcptRequest r) {
        std::string domain = r.domain;
        if (domain.empty() || s_.local.count(domain)) {
            send_line(danesmtp_osd::result_line(r.version, r.session, r.token, Decision{}));
            return;
        }
        std::lock_guard<std::mutex> lock(mu_);
        if (pending_.size() >= kMaxPending) {
            log_line("danesmtp: more than " + std::to_string(kMaxPending) + " recipients waiting, " + domain +
                     " refused for now");
            send_line(danesmtp_osd::result_line(r.version, r.session, r.token,
                                                Decision{false, "451 4.3.2 DANE filter busy, try again later"}));
            return;
        }
        auto p = std::make_shared<Pending>();
        p->req = std::move(r);
        p->deadline = Clock::now() + s_.deadline;
        pending_.push_back(p);
        auto& list = waiting_[domain];
        list.push_back(p);
        if (list.size() == 1) enqueue_locked(Job{domain, nullptr});
    }

    void audit(danesmtp_osd::Delivery d) {
        std::lock_guard<std::mutex> lock(mu_);
        if (jobs_.size() >= kMaxPending) {
            log_line("danesmtp: audit queue full, delivery of message " + d.message_id + " not audited");
            return;
        }
        enqueue_locked(Job{"", std::make_shared<danesmtp_osd::Delivery>(std::move(d))});
    }

    // expire - answer what is past its deadline; returns the time until the
    // next deadline (or -1: none).
    int expire() {
        std::lock_guard<std::mutex> lock(mu_);
        auto now = Clock::now();
        int next = -1;
        std::vector<PendingPtr> keep;
        for (auto& p : pending_) {
            if (p->answered) continue;
            if (p->deadline <= now) {
                answer_locked(p, timeout_decision(p->req.domain));
                continue;
            }
            auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(p->deadline - now).count() + 1;
            if (next < 0 || ms < next) next = static_cast<int>(ms);
            keep.push_back(p);
        }
        pending_.swap(keep);
        return next;
    }

private:
    void enqueue_locked(Job j) {
        jobs_.push_back(std::move(j));
        if (idle_ > 0) {
            cv_.notify_one();
        } else if (threads_ < s_.workers) {
            ++threads_;
            std::thread(&Filter::worker, this).detach();
        }
    }

    Decision timeout_decision(const std::string& domain) {
        bool audit = s_.audit_flag || audit_seen_;
        std::string msg = "DNS lookups for " + domain + " did not finish within " +
                          std::to_string(s_.deadline.count()) + " ms";
        if (audit) {
            log_line("danesmtp: audit-only: RCPT for " + domain + " would be refused: " + msg);
            return Decision{};
        }
        log_line("danesmtp: RCPT for " + domain + " refused: " + msg);
        return Decision{false, "451 4.7.5 DANE: " + msg};
    }

    void answer_locked(const PendingPtr& p, const Decision& d) {
        if (p->answered) return;
        p->answered = true;
        send_line(danesmtp_osd::result_line(p->req.version, p->req.session, p->req.token, d));
    }

    void worker() {
        std::unique_lock<std::mutex> lock(mu_);
        for (;;) {
            while (jobs_.empty()) {
                ++idle_;
                cv_.wait(lock);
                --idle_;
            }
            Job j = std::move(jobs_.front());
            jobs_.pop_front();
            lock.unlock();
            if (j.delivery)
                do_audit(*j.delivery);
            else
                do_rcpt(j.domain);
            lock.lock();
        }
    }

    void do_rcpt(const std::string& domain) {
        Decision d;
        std::string log;
        danesmtp_plan* plan = nullptr;
        int rc = danesmtp_lookup_domain(ctx_, domain.c_str(), s_.port, &plan);
        if (rc == DANESMTP_OK) {
            if (danesmtp_plan_audit_only(plan)) audit_seen_ = true;
            d = danesmtp_osd::rcpt_decision(plan, &log);
            danesmtp_plan_free(plan);
        } else if (rc == DANESMTP_E_PARSE || rc == DANESMTP_E_LIMIT) {
            // Not a host name DNS can carry (UTF-8, an odd byte): there is no
            // DANE lookup to make; smtpd will fail to route it on its own.
            log = "danesmtp: RCPT for " + domain + ": not looked up: " + danesmtp_last_error();
        } else {
            log = "danesmtp: RCPT for " + domain + ": lookup error: " + danesmtp_last_error();
            if (s_.fail_closed) d = Decision{false, "451 4.3.0 DANE filter: lookup error"};
        }
        if (!log.empty()) log_line(log);
        std::lock_guard<std::mutex> lock(mu_);
        auto it = waiting_.find(domain);
        if (it == waiting_.end()) return;
        for (auto& p : it->second) answer_locked(p, d);
        waiting_.erase(it);
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
    std::deque<Job> jobs_;
    std::vector<PendingPtr> pending_;
    std::map<std::string, std::vector<PendingPtr>> waiting_;
    std::map<std::string, Clock::time_point> probed_;
    std::size_t threads_ = 0, idle_ = 0;
    std::atomic<bool> audit_seen_{false};  // a plan said audit-only (the configuration file)
};

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
        else if (opt == "--workers") s.workers = number(opt, val, 1, 256);
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
    s.audit_flag = cli::has_flag(a, "--audit-only");
    s.probe = cli::has_flag(a, "--probe");
    cli::CtxPtr ctx = cli::make_ctx(a);
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
        if (r < 0 && errno != EINTR) return 1;
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
