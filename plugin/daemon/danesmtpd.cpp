// SPDX-License-Identifier: MIT
// danesmtpd.cpp - the plugin's Exim entry points served over a Unix socket,
// from one long-lived process (issue 11; man danesmtpd(8)).
//
// Why: Exim forks a process per delivery, and loading libdanesmtp (with
// libstdc++ and ldns) into each costs about 4 ms of CPU, more than the whole
// DANE work. With the service, a delivery process loads a client of a few
// kilobytes (plugin/exim/client.c) that forwards each ${dlfunc} call here;
// the answers come from one warm resolver and the shared answer cache.
//
// Protocol (one connection per Exim process, requests answered in order):
//   request   u32 length, then: u16 count, count x (u32 length, bytes);
//             the first string is the entry point (danesmtp_exim_route,
//             _check, _connect, _tls_cert, _delivery), the rest its arguments
//   reply     u32 length, then: i32 rc, u32 length + yield, u16 count,
//             count x (u32 length, bytes): lines for Exim's main log
// All integers little-endian. A request over 1 MiB, a malformed frame or an
// unknown entry point ends the connection: the client then fails closed.
//
// Each connection is served by one thread, so the entry points' per-process
// state (the chain that tls:cert events collect) is per Exim process, as it
// is when Exim loads the library itself (plugin/exim/exim.cpp keeps it
// thread_local). Only the daemon's own user and root may connect (checked
// with SO_PEERCRED), and the socket's directory must belong to that user and
// be writable by no one else.
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "danesmtp.h"
#include "danesmtp_exim.h"
#include "exim/plan_file.h"
#include "exim/plan_hosts.h"

namespace {

constexpr std::uint32_t kMaxFrame = 1u << 20;
constexpr std::size_t kMaxArgs = 16;
unsigned g_max_clients = 1024;
const char* g_socket = nullptr;

// The workers: each waits in accept() on the listening socket, serves the
// connection it got until the client closes it, and waits again (threads
// and their malloc arenas are reused: making one per Exim process cost more
// than the work itself). A worker that takes a connection while no other is
// waiting starts another, up to g_max_clients; beyond that, connections wait
// in the listen queue until a worker is free (the client waits up to its
// reply timeout, then fails closed).
std::atomic<unsigned> g_idle{0}, g_workers{0};

// The lines a call wrote to "Exim's log", for the reply (log_write below).
thread_local std::vector<std::string>* t_logs = nullptr;

bool read_all(int fd, void* buf, std::size_t n) {
    auto* p = static_cast<char*>(buf);
    while (n > 0) {
        ssize_t got = read(fd, p, n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;
        p += got;
        n -= static_cast<std::size_t>(got);
    }
    return true;
}

bool write_all(int fd, const void* buf, std::size_t n) {
    const auto* p = static_cast<const char*>(buf);
    while (n > 0) {
        ssize_t put = write(fd, p, n);
        if (put < 0 && errno == EINTR) continue;
        if (put <= 0) return false;
        p += put;
        n -= static_cast<std::size_t>(put);
    }
    return true;
}

std::uint32_t get_u32(const unsigned char* p) {
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}
void put_u32(std::string* s, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u16(std::string* s, std::uint32_t v) {
    s->push_back(static_cast<char>(v & 0xff));
    s->push_back(static_cast<char>((v >> 8) & 0xff));
}

// parse - the strings of a request body; false when malformed.
bool parse(const std::string& body, std::vector<std::string>* out) {
    const auto* p = reinterpret_cast<const unsigned char*>(body.data());
    std::size_t n = body.size();
    if (n < 2) return false;
    std::size_t count = static_cast<std::size_t>(p[0]) | static_cast<std::size_t>(p[1]) << 8;
    p += 2;
    n -= 2;
    if (count == 0 || count > kMaxArgs) return false;
    for (std::size_t i = 0; i < count; ++i) {
        if (n < 4) return false;
        std::uint32_t len = get_u32(p);
        p += 4;
        n -= 4;
        if (len > n) return false;
        std::string s(reinterpret_cast<const char*>(p), len);
        if (s.find('\0') != std::string::npos) return false;  // Exim strings hold no NUL
        out->push_back(std::move(s));
        p += len;
        n -= len;
    }
    return n == 0;
}

// ---- plans left for the client (exim/plan_file.h): a routing answer is
// written to a file of the socket's directory, where delivery processes
// asking for the same destination in the next 2 seconds read it instead of
// connecting.
std::string g_dir;  // the socket's directory

struct Stamp {
    std::int64_t made_ns = 0;
    danesmtp_plan_identity config{};
};

// stamp - before a request whose answer may be kept: its time and the
// identity of the configuration file it is made under; false when it will
// not be kept (no absolute configuration file).
bool stamp(const std::string& config, Stamp* st) {
    struct stat cs;
    timespec now{};
    if (config.empty() || config[0] != '/' || stat(config.c_str(), &cs) != 0 ||
        clock_gettime(CLOCK_REALTIME, &now) != 0)
        return false;
    danesmtp_plan_identity_of(&cs, &st->config);
    st->made_ns = static_cast<std::int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
    return true;
}

// keep_answer - REPLY to REQUEST, to a file of KIND ("plan" or "cert");
// nothing when the configuration file changed while it was made, or the
// file would be too large. Any failure only means the next delivery asks.
void keep_answer(const char* kind, const std::string& request, const std::string& config, const std::string& reply,
                 const Stamp& st) {
    struct stat cs;
    danesmtp_plan_identity now{};
    if (stat(config.c_str(), &cs) != 0) return;
    danesmtp_plan_identity_of(&cs, &now);
    if (!danesmtp_plan_identity_same(&now, &st.config)) return;
    std::size_t total = DANESMTP_PLAN_FILE_HEADER + request.size() + reply.size() + 8;
    if (total > DANESMTP_PLAN_FILE_MAX) return;
    std::string file(DANESMTP_PLAN_FILE_HEADER, '\0');
    danesmtp_plan_file_header(reinterpret_cast<unsigned char*>(&file[0]), st.made_ns, &st.config,
                              static_cast<std::uint32_t>(request.size()), static_cast<std::uint32_t>(reply.size()));
    file += request;
    file += reply;
    unsigned char tail[8];
    danesmtp_put64(tail, danesmtp_fnv1a64(file.data(), file.size()));
    file.append(reinterpret_cast<const char*>(tail), 8);
    char name[16];
    danesmtp_plan_file_name(kind, request.data(), request.size(), name);
    std::string final_path = g_dir + "/" + name;
    std::string tmp = final_path + ".tmp." + std::to_string(static_cast<long>(syscall(SYS_gettid)));
    for (int attempt = 0; attempt < 2; ++attempt) {
        int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
            if (errno == EEXIST && attempt == 0 && unlink(tmp.c_str()) == 0) continue;  // a crash's leftover
            return;
        }
        bool ok = write_all(fd, file.data(), file.size());
        ok = close(fd) == 0 && ok;
        if (!ok || rename(tmp.c_str(), final_path.c_str()) != 0) unlink(tmp.c_str());
        return;
    }
}

// config_of - the "config" value of a plan (address_data), as the entry
// points read it.
std::string config_of(const std::string& plan) {
    danesmtp_pair p{};
    const char* s = plan.c_str();
    while (danesmtp_pair_next(&s, &p))
        if (danesmtp_pair_is(&p, "config")) {
            std::string v(p.value_len + 1, '\0');
            v.resize(danesmtp_pair_value(&p, &v[0]));
            return v;
        }
    return "";
}

// forget_answers - every answer file an earlier run left, and any
// temporary file a crash left (at start: a new version must not have its
// predecessor's answers reused, and the directory stays bounded).
void forget_answers() {
    DIR* d = opendir(g_dir.c_str());
    if (!d) return;
    while (dirent* e = readdir(d))
        if (std::strncmp(e->d_name, "plan-", 5) == 0 || std::strncmp(e->d_name, "cert-", 5) == 0)
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}

using EntryPoint = int (*)(unsigned char**, int, unsigned char**);

EntryPoint entry_point(const std::string& name) {
    if (name == "danesmtp_exim_route") return danesmtp_exim_route;
    if (name == "danesmtp_exim_check") return danesmtp_exim_check;
    if (name == "danesmtp_exim_connect") return danesmtp_exim_connect;
    if (name == "danesmtp_exim_tls_cert") return danesmtp_exim_tls_cert;
    if (name == "danesmtp_exim_delivery") return danesmtp_exim_delivery;
    return nullptr;
}

void serve_unguarded(int fd) {
    std::vector<std::string> logs;
    t_logs = &logs;
    // A fresh certificate chain for every connection: the connect entry
    // point drops what an earlier connection on this thread left (its
    // documented reset; with no arguments it only answers a refusal).
    unsigned char* ignored = nullptr;
    danesmtp_exim_connect(&ignored, 0, nullptr);
    std::string in;   // bytes read and not yet used: most requests come in one read
    std::string out;  // answers not yet written
    std::string handshake;  // the requests of the handshake under way, as sent
    bool in_handshake = false;
    for (;;) {
        while (in.size() < 4) {
            char buf[16384];
            ssize_t got = read(fd, buf, sizeof buf);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) goto done;
            in.append(buf, static_cast<std::size_t>(got));
        }
        std::uint32_t len = get_u32(reinterpret_cast<const unsigned char*>(in.data()));
        if (len > kMaxFrame) break;
        if (in.size() - 4 < len) {
            std::size_t have = in.size();
            in.resize(4 + static_cast<std::size_t>(len));
            if (!read_all(fd, &in[have], in.size() - have)) break;
        }
        std::string raw = in.substr(0, 4 + static_cast<std::size_t>(len));
        std::string body = raw.substr(4);
        in.erase(0, 4 + static_cast<std::size_t>(len));
        std::vector<std::string> args;
        if (!parse(body, &args)) break;
        EntryPoint fn = entry_point(args[0]);
        if (!fn) break;
        std::vector<unsigned char*> argv;
        for (std::size_t i = 1; i < args.size(); ++i)
            argv.push_back(reinterpret_cast<unsigned char*>(&args[i][0]));
        argv.push_back(nullptr);
        logs.clear();
        // Answers kept for the client (plan_file.h): a routing answer, and
        // the verdict on a handshake's chain, from its tcp:connect (the
        // chain starts afresh) to the leaf's tls:cert, every answer on the
        // way "" (a refusal on the way ends the handshake in Exim).
        bool leaf = fn == danesmtp_exim_tls_cert && args.size() == 5 && args[1] == "0";
        if (fn == danesmtp_exim_connect) {
            handshake = raw;
            in_handshake = true;
        } else if (fn == danesmtp_exim_tls_cert && in_handshake) {
            handshake += raw;
        } else {
            in_handshake = false;
        }
        Stamp st;
        std::string config, request;
        bool keep = false;
        if (fn == danesmtp_exim_route && (args.size() == 4 || args.size() == 5)) {
            config = args[3];
            for (std::size_t i = 1; i < args.size(); ++i) {
                request += args[i];
                request.push_back('\0');
            }
            keep = request.size() <= DANESMTP_PLAN_FILE_REQUEST_MAX && stamp(config, &st);
        } else if (leaf && in_handshake) {
            config = config_of(args[4]);
            keep = stamp(config, &st);
        }
        unsigned char* yield = nullptr;
        int rc = fn(&yield, static_cast<int>(args.size() - 1), argv.data());
        std::string y = yield ? reinterpret_cast<const char*>(yield) : "";
        std::string reply;
        put_u32(&reply, static_cast<std::uint32_t>(rc));
        put_u32(&reply, static_cast<std::uint32_t>(y.size()));
        reply += y;
        put_u16(&reply, static_cast<std::uint32_t>(std::min<std::size_t>(logs.size(), 64)));
        for (std::size_t i = 0; i < logs.size() && i < 64; ++i) {
            put_u32(&reply, static_cast<std::uint32_t>(logs[i].size()));
            reply += logs[i];
        }
        if (keep && rc == 0) keep_answer(leaf ? "cert" : "plan", leaf ? handshake : request, config, reply, st);
        if (leaf || rc != 0 || !y.empty() || handshake.size() > DANESMTP_PLAN_FILE_MAX) {
            in_handshake = false;
            handshake.clear();
        }
        put_u32(&out, static_cast<std::uint32_t>(reply.size()));
        out += reply;
        // Requests sent together (the client holds back the certificates
        // above the leaf until the leaf's, issue 11) are answered together,
        // in one write; otherwise each answer goes at once.
        bool next_here = in.size() >= 4 &&
                         in.size() - 4 >= get_u32(reinterpret_cast<const unsigned char*>(in.data())) &&
                         out.size() < kMaxFrame;
        if (next_here) continue;
        bool wrote = write_all(fd, out.data(), out.size());
        out.clear();
        if (!wrote) break;
    }
done:
    // What was answered before a malformed or cut-off request still goes.
    if (!out.empty()) write_all(fd, out.data(), out.size());
    t_logs = nullptr;
}

// serve - one connection until the client closes it. Any failure (out of
// memory on a large frame) ends this connection only: its client fails
// closed, the others go on.
void serve(int fd) {
    try {
        serve_unguarded(fd);
    } catch (...) {
        t_logs = nullptr;
    }
    close(fd);
}

void spawn_worker(int lfd);

void worker(int lfd) {
    for (;;) {
        ++g_idle;
        int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        --g_idle;
        if (fd < 0) {
            if (errno != EINTR && errno != ECONNABORTED) usleep(10000);  // never a busy loop
            continue;
        }
        if (g_idle == 0) spawn_worker(lfd);
        ucred cred{};
        socklen_t clen = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
            (cred.uid != geteuid() && cred.uid != 0)) {
            close(fd);  // another user: the client fails closed
            continue;
        }
        serve(fd);
    }
}

void* worker_main(void* arg) {
    worker(static_cast<int>(reinterpret_cast<intptr_t>(arg)));
    return nullptr;
}

void spawn_worker(int lfd) {
    if (++g_workers > g_max_clients) {
        --g_workers;
        return;
    }
    // 2 MiB stacks (glibc's default is 8): --max-clients may be thousands,
    // and a worker's deepest path (DANE-TA path validation in OpenSSL) is far
    // below this even under ThreadSanitizer, which 512 KiB was not.
    pthread_attr_t attr;
    pthread_t t;
    bool started = pthread_attr_init(&attr) == 0 && pthread_attr_setstacksize(&attr, 2 * 1024 * 1024) == 0 &&
                   pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
                   pthread_create(&t, &attr, worker_main, reinterpret_cast<void*>(static_cast<intptr_t>(lfd))) == 0;
    pthread_attr_destroy(&attr);
    if (!started) --g_workers;
}

void on_signal(int) {
    if (g_socket) unlink(g_socket);
    _exit(0);
}

int usage() {
    std::fprintf(stderr, "usage: danesmtpd --socket PATH [--max-clients N]\n");
    return 2;
}

}  // namespace

// Exim's log_write, as the entry points find it with dlsym(RTLD_DEFAULT):
// the line goes back to the client, which writes it to Exim's main log.
extern "C" __attribute__((visibility("default"))) void log_write(unsigned int, int, const char* format, ...) {
    if (!t_logs) return;
    char buf[4096];
    va_list ap;
    va_start(ap, format);
    std::vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    t_logs->push_back(buf);
}

int main(int argc, char** argv) {
    std::string path;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--socket" && i + 1 < argc) {
            path = argv[++i];
        } else if (a == "--max-clients" && i + 1 < argc) {
            char* end = nullptr;
            unsigned long n = std::strtoul(argv[++i], &end, 10);
            if (!end || *end || n < 1 || n > 4096) return usage();
            g_max_clients = static_cast<unsigned>(n);
        } else if (a == "--version") {
            std::printf("danesmtpd %s\n", danesmtp_version());
            return 0;
        } else {
            return usage();
        }
    }
    sockaddr_un addr{};
    if (path.empty() || path[0] != '/' || path.size() >= sizeof addr.sun_path) return usage();
    // The directory: ours (or root's), writable by no one else - else anyone
    // could put a socket of their own in our place.
    std::string dir = path.substr(0, path.rfind('/'));
    if (dir.empty()) dir = "/";
    struct stat ds;
    if (lstat(dir.c_str(), &ds) != 0 || !S_ISDIR(ds.st_mode) ||
        (ds.st_uid != geteuid() && ds.st_uid != 0) || (ds.st_mode & 022)) {
        std::fprintf(stderr, "danesmtpd: %s must be a directory of this user (or root), writable by no one else\n",
                     dir.c_str());
        return 1;
    }
    struct stat ss;
    if (lstat(path.c_str(), &ss) == 0) {
        if (!S_ISSOCK(ss.st_mode)) {
            std::fprintf(stderr, "danesmtpd: %s exists and is not a socket\n", path.c_str());
            return 1;
        }
        // A socket someone still listens on is another danesmtpd: leave it.
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un there{};
        there.sun_family = AF_UNIX;
        std::memcpy(there.sun_path, path.c_str(), path.size());
        bool live = probe >= 0 && connect(probe, reinterpret_cast<sockaddr*>(&there), sizeof there) == 0;
        if (probe >= 0) close(probe);
        if (live) {
            std::fprintf(stderr, "danesmtpd: %s: another danesmtpd is listening there\n", path.c_str());
            return 1;
        }
        unlink(path.c_str());  // a stale socket of an earlier run
    }
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    mode_t old = umask(077);
    bool bound = lfd >= 0 && bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    umask(old);
    if (!bound || listen(lfd, SOMAXCONN) != 0) {
        std::fprintf(stderr, "danesmtpd: %s: %s\n", path.c_str(), std::strerror(errno));
        return 1;
    }
    g_socket = path.c_str();
    g_dir = dir;
    forget_answers();
    signal(SIGPIPE, SIG_IGN);
    // Configuration changes apply by themselves (the file is checked on
    // every lookup): a reload signal has nothing to do, and must not kill.
    signal(SIGHUP, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    spawn_worker(lfd);
    for (;;) pause();
}
