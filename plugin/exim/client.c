/* SPDX-License-Identifier: MIT */
/* client.c - danesmtp-exim-client.so: Exim's ${dlfunc} entry point that
 * forwards each call to danesmtpd (plugin/daemon/danesmtpd.cpp) over a Unix
 * socket, so that a delivery process loads a few kilobytes of C instead of
 * libdanesmtp, libstdc++ and ldns (issue 11; exim-config/README.md).
 *
 *   ${dlfunc{CLIENT}{danesmtp_client}{SOCKET}{ENTRY}{ARG}...}
 *
 * ENTRY is one of libdanesmtp's Exim entry points (danesmtp_exim_route,
 * _check, _connect, _tls_cert, _delivery), with its arguments; the result
 * and return code are the library's, and the lines it logs are written to
 * Exim's main log here.
 *
 * Fail closed: when the service cannot be reached or answers nothing
 * usable, route and check fail the expansion (the router defers the
 * message), connect and tls_cert refuse (a non-empty result: Exim skips the
 * host; it never delivers unverified), delivery logs that it could not
 * check. One connection per process: a forked child (Exim's transport
 * process) opens its own, so each process's certificate chain is collected
 * apart, as when Exim loads the library itself.
 *
 * The socket's directory must belong to this user or root and be writable by
 * no one else, and the peer must run as this user or root (SO_PEERCRED):
 * no other user can stand in for the service. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

enum { kOk = 0, kFail = 2, kError = 3, kLogMain = 1 };
/* The longest a lookup may take (danesmtp.conf: timeout) plus margin. */
#define REPLY_TIMEOUT_MS 120000
#define CONNECT_TIMEOUT_MS 2000
#define MAX_FRAME (1u << 20)
#define MAX_ARGS 16

static int g_fd = -1;
static pid_t g_pid = 0;
static char g_path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* of g_fd */
static char *g_yield = NULL; /* what *yield points to until the next call */
static char g_static[256];

typedef void (*log_write_fn)(unsigned int, int, const char *, ...);

static void log_main(const char *fmt, ...) {
    static log_write_fn fn = NULL;
    static int looked = 0;
    char line[4096];
    va_list ap;
    if (!looked) {
        fn = (log_write_fn)dlsym(RTLD_DEFAULT, "log_write");
        looked = 1;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (fn)
        fn(0, kLogMain, "%s", line);
    else if (getenv("DANESMTP_EXIM_LOG_STDERR"))
        fprintf(stderr, "%s\n", line);
}

static int set_yield(unsigned char **yield, const char *text, size_t len) {
    char *copy = malloc(len + 1);
    if (!copy) return 0;
    memcpy(copy, text, len);
    copy[len] = '\0';
    free(g_yield);
    g_yield = copy;
    *yield = (unsigned char *)g_yield;
    return 1;
}

/* A forked child (Exim's transport process) must not use or keep its
 * parent's connection: its copy is closed at fork, and the child connects
 * on its first call. The pid check in connect_service() stays as a second
 * guard. */
static void forget_in_child(void) {
    if (g_fd >= 0) close(g_fd);
    g_fd = -1;
}

__attribute__((constructor)) static void register_fork_handler(void) {
    pthread_atfork(NULL, NULL, forget_in_child);
}

static void drop(void) {
    if (g_fd >= 0 && g_pid == getpid()) close(g_fd);
    g_fd = -1;
}

static long ms_left(const struct timespec *deadline) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

static int wait_for(int fd, short events, const struct timespec *deadline) {
    for (;;) {
        long left = ms_left(deadline);
        struct pollfd p = {fd, events, 0};
        if (left <= 0) return 0;
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR) continue;
        return n > 0;
    }
}

/* io_all - send or receive exactly n bytes; 0 on error, EOF or timeout
 * (SO_RCVTIMEO/SO_SNDTIMEO: EAGAIN). */
static int io_all(int fd, void *buf, size_t n, int writing) {
    char *p = buf;
    while (n > 0) {
        ssize_t k = writing ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return 0;
        p += k;
        n -= (size_t)k;
    }
    return 1;
}

/* connect_service - the connection of this process; NULL-terminated why. */
static int connect_service(const char *path, char *why, size_t whylen) {
    struct stat ds;
    struct sockaddr_un addr;
    char dir[sizeof addr.sun_path];
    const char *slash;
    uid_t me = geteuid();
    if (g_fd >= 0 && g_pid == getpid() && path && !strcmp(path, g_path)) return g_fd;
    if (g_fd >= 0 && g_pid == getpid()) close(g_fd); /* another socket */
    g_fd = -1; /* a parent's connection is left to the parent */
    if (!path || path[0] != '/' || strlen(path) >= sizeof addr.sun_path) {
        snprintf(why, whylen, "bad socket path '%s'", path ? path : "");
        return -1;
    }
    slash = strrchr(path, '/');
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash == path ? 1 : (size_t)(slash - path)] = '\0';
    if (slash == path) dir[0] = '/';
    if (lstat(dir, &ds) != 0 || !S_ISDIR(ds.st_mode) || (ds.st_mode & 022) ||
        (ds.st_uid != me && ds.st_uid != 0 && me != 0)) {
        snprintf(why, whylen, "%s is not a directory of this user or root, closed to others", dir);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(why, whylen, "socket: %s", strerror(errno));
        return -1;
    }
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, path, strlen(path));
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += CONNECT_TIMEOUT_MS / 1000;
    /* A full listen queue answers EAGAIN at once (Unix sockets): try again
     * until the deadline. */
    while (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0 && errno != EINPROGRESS) {
        if ((errno == EAGAIN || errno == EINTR) && ms_left(&deadline) > 0) {
            usleep(10000);
            continue;
        }
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    int err = 0;
    socklen_t elen = sizeof err;
    if (!wait_for(fd, POLLOUT, &deadline) || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err) {
        snprintf(why, whylen, "%s: %s", path, err ? strerror(err) : "no answer");
        close(fd);
        return -1;
    }
    struct ucred cred;
    socklen_t clen = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
        (cred.uid != me && cred.uid != 0 && cred.uid != ds.st_uid)) {
        snprintf(why, whylen, "%s: the service runs as another user", path);
        close(fd);
        return -1;
    }
    /* From here on blocking calls bounded by socket timeouts: one system
     * call per send or receive, no poll() before each. */
    struct timeval tv = {REPLY_TIMEOUT_MS / 1000, 0};
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    g_fd = fd;
    g_pid = getpid();
    snprintf(g_path, sizeof g_path, "%s", path);
    return fd;
}

static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}
static uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* call - one request and its reply; 1 with *rc, yield and logs done. */
static int call(const char *socket_path, int argc, unsigned char *argv[], unsigned char **yield, int *rc,
                char *why, size_t whylen) {
    size_t total = 2, i;
    for (i = 0; i < (size_t)argc; ++i) total += 4 + strlen((const char *)argv[i]);
    if (total > MAX_FRAME) {
        snprintf(why, whylen, "request over %u bytes", MAX_FRAME);
        return 0;
    }
    unsigned char *req = malloc(4 + total);
    if (!req) {
        snprintf(why, whylen, "out of memory");
        return 0;
    }
    put32(req, (uint32_t)total);
    req[4] = (unsigned char)argc;
    req[5] = (unsigned char)(argc >> 8);
    unsigned char *p = req + 6;
    for (i = 0; i < (size_t)argc; ++i) {
        size_t len = strlen((const char *)argv[i]);
        put32(p, (uint32_t)len);
        memcpy(p + 4, argv[i], len);
        p += 4 + len;
    }
    int ok = 0;
    /* A connection the service closed meanwhile (restarted) is made anew,
     * once, before anything was answered. */
    for (int attempt = 0; attempt < 2 && !ok; ++attempt) {
        int fd = connect_service(socket_path, why, whylen);
        if (fd < 0) break;
        /* Most replies arrive whole in the first receive. */
        unsigned char first[8192];
        ssize_t got = 0; /* a request that could not be sent counts as closed */
        if (io_all(fd, req, 4 + total, 1)) {
            for (;;) {
                ssize_t k = recv(fd, first + got, sizeof first - (size_t)got, 0);
                if (k < 0 && errno == EINTR) continue;
                if (k <= 0) {
                    if (got == 0) got = k;
                    break;
                }
                got += k;
                if (got >= 4) break;
            }
        }
        if (got < 4) {
            snprintf(why, whylen, "%s: %s", socket_path, got < 0 ? "no answer in time" : "connection closed");
            drop();
            if (got == 0) continue; /* closed (a restarted service): once more */
            break;
        }
        uint32_t len = get32(first);
        unsigned char *body = len <= MAX_FRAME && len >= 10 ? malloc(len) : NULL;
        size_t have = (size_t)got - 4 < len ? (size_t)got - 4 : len;
        if (body) memcpy(body, first + 4, have);
        if (!body || (size_t)got - 4 > len || !io_all(fd, body + have, len - have, 0)) {
            snprintf(why, whylen, "%s: malformed or missing reply", socket_path);
            free(body);
            drop();
            break; /* the request may have been acted on: no second try */
        }
        uint32_t ylen = get32(body + 4);
        size_t at = 8;
        if (ylen > len - at - 2) {
            snprintf(why, whylen, "%s: malformed reply", socket_path);
            free(body);
            drop();
            break;
        }
        if (memchr(body + at, '\0', ylen)) { /* Exim would read a shorter string */
            snprintf(why, whylen, "%s: malformed reply", socket_path);
            free(body);
            drop();
            break;
        }
        if (!set_yield(yield, (const char *)body + at, ylen)) {
            snprintf(why, whylen, "out of memory");
            free(body);
            break;
        }
        *rc = (int)get32(body);
        at += ylen;
        unsigned nlogs = (unsigned)body[at] | (unsigned)body[at + 1] << 8;
        at += 2;
        for (unsigned k = 0; k < nlogs && at + 4 <= len; ++k) {
            uint32_t l = get32(body + at);
            at += 4;
            if (l > len - at) break;
            log_main("%.*s", (int)l, (const char *)body + at);
            at += l;
        }
        free(body);
        ok = 1;
    }
    free(req);
    return ok;
}

EXPORT int danesmtp_client(unsigned char **yield, int argc, unsigned char *argv[]) {
    char why[512];
    int rc = kError;
    if (argc < 2 || argc - 1 > MAX_ARGS) {
        snprintf(g_static, sizeof g_static, "danesmtp_client takes SOCKET, ENTRY and its arguments");
        *yield = (unsigned char *)g_static;
        return kError;
    }
    const char *entry = (const char *)argv[1];
    int event = !strcmp(entry, "danesmtp_exim_connect") || !strcmp(entry, "danesmtp_exim_tls_cert");
    int delivery = !strcmp(entry, "danesmtp_exim_delivery");
    if (!event && !delivery && strcmp(entry, "danesmtp_exim_route") && strcmp(entry, "danesmtp_exim_check")) {
        snprintf(g_static, sizeof g_static, "danesmtp_client: unknown entry point '%.100s'", entry);
        *yield = (unsigned char *)g_static;
        return kError;
    }
    if (call((const char *)argv[0], argc - 1, argv + 1, yield, &rc, why, sizeof why)) {
        /* Only the answers the entry points give pass: an event's is OK
         * (anything else would count as "no objection" in Exim), a lookup's
         * OK, FAIL or ERROR. */
        if (event && rc != kOk) {
            snprintf(g_static, sizeof g_static, "danesmtp: the service answered code %d: refused", rc);
            *yield = (unsigned char *)g_static;
            return kOk;
        }
        if (!event && rc != kOk && rc != kFail && rc != kError) {
            snprintf(g_static, sizeof g_static, "danesmtp: the service answered code %d", rc);
            *yield = (unsigned char *)g_static;
            return delivery ? kOk : kError;
        }
        return rc;
    }
    /* The service is unreachable: fail closed, say so. */
    snprintf(g_static, sizeof g_static, "danesmtp: service unreachable: %.200s", why);
    *yield = (unsigned char *)g_static;
    if (event) {
        log_main("%s", g_static);
        return kOk; /* a non-empty result refuses the host */
    }
    if (delivery) {
        log_main("%s (delivery not checked)", g_static);
        g_static[0] = '\0';
        return kOk;
    }
    return kError; /* the expansion fails: the router defers the message */
}
