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
 * message) unless an answer file under 2 seconds old applies (plan_file.h),
 * tls_cert refuses (a non-empty result: Exim skips the host; it never
 * delivers unverified), delivery logs that it could not check. connect
 * needs no service: its rule is applied here (plan_hosts.h). One connection per process: a forked child (Exim's transport
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

#include "plan_file.h"
#include "plan_hosts.h"

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
/* tls:cert requests for depth > 0, not sent yet: they go with the next
 * request, in one write, and their answers come back with its answer
 * (issue 11: one round trip per handshake, not one per certificate). */
static unsigned char *g_pending = NULL;
static size_t g_pending_len = 0, g_pending_cap = 0;
static unsigned g_pending_count = 0;
static int g_pending_connect_first = 0; /* the pending requests start with a tcp:connect */
static char g_pending_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
#define MAX_PENDING 8
#define MAX_PENDING_BYTES (256u * 1024)

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
static void forget_pending(void) {
    free(g_pending);
    g_pending = NULL;
    g_pending_len = g_pending_cap = 0;
    g_pending_count = 0;
    g_pending_connect_first = 0;
}

static void forget_in_child(void) {
    if (g_fd >= 0) close(g_fd);
    g_fd = -1;
    forget_pending(); /* the parent's handshake, not the child's */
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

/* closed_dir - the directory of PATH (DIR, at least sizeof sun_path bytes)
 * if it belongs to this user or root (any owner when this is root) and is
 * writable by no one else, with its owner in *owner; 0 otherwise. */
static int closed_dir(const char *path, char *dir, uid_t *owner) {
    struct stat ds;
    dir[0] = '\0';
    const char *slash = strrchr(path, '/');
    uid_t me = geteuid();
    if (!slash || path[0] != '/' || (size_t)(slash - path) >= sizeof g_path) return 0;
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash == path ? 1 : (size_t)(slash - path)] = '\0';
    if (slash == path) dir[0] = '/';
    if (lstat(dir, &ds) != 0 || !S_ISDIR(ds.st_mode) || (ds.st_mode & 022) ||
        (ds.st_uid != me && ds.st_uid != 0 && me != 0))
        return 0;
    *owner = ds.st_uid;
    return 1;
}

/* connect_service - the connection of this process; NULL-terminated why. */
static int connect_service(const char *path, char *why, size_t whylen) {
    struct sockaddr_un addr;
    char dir[sizeof addr.sun_path];
    uid_t me = geteuid(), owner = 0;
    if (g_fd >= 0 && g_pid == getpid() && path && !strcmp(path, g_path)) return g_fd;
    if (g_fd >= 0 && g_pid == getpid()) close(g_fd); /* another socket */
    g_fd = -1; /* a parent's connection is left to the parent */
    if (!path || path[0] != '/' || strlen(path) >= sizeof addr.sun_path) {
        snprintf(why, whylen, "bad socket path '%s'", path ? path : "");
        return -1;
    }
    if (!closed_dir(path, dir, &owner)) {
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
    int connected;
    while (!(connected = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) && errno != EINPROGRESS) {
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
    if (!connected &&
        (!wait_for(fd, POLLOUT, &deadline) || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err)) {
        snprintf(why, whylen, "%s: %s", path, err ? strerror(err) : "no answer");
        close(fd);
        return -1;
    }
    struct ucred cred;
    socklen_t clen = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
        (cred.uid != me && cred.uid != 0 && cred.uid != owner)) {
        snprintf(why, whylen, "%s: the service runs as another user", path);
        close(fd);
        return -1;
    }
    /* From here on blocking calls bounded by socket timeouts: one system
     * call per send or receive, no poll() before each. */
    struct timeval tv = {REPLY_TIMEOUT_MS / 1000, 0};
    if (fcntl(fd, F_SETFL, 0) != 0 || /* blocking again (the socket has no other status flag) */
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

/* encode - the request frame for ARGV (u32 length, u16 count, strings),
 * appended to *buf; 0 when it is over MAX_FRAME or memory ran out. */
static int encode(int argc, unsigned char *argv[], unsigned char **buf, size_t *len, size_t *cap, char *why,
                  size_t whylen) {
    size_t total = 2, i;
    for (i = 0; i < (size_t)argc; ++i) total += 4 + strlen((const char *)argv[i]);
    if (total > MAX_FRAME) {
        snprintf(why, whylen, "request over %u bytes", MAX_FRAME);
        return 0;
    }
    if (*len + 4 + total > *cap) {
        size_t want = *len + 4 + total;
        unsigned char *grown = realloc(*buf, want);
        if (!grown) {
            snprintf(why, whylen, "out of memory");
            return 0;
        }
        *buf = grown;
        *cap = want;
    }
    unsigned char *p = *buf + *len;
    put32(p, (uint32_t)total);
    p[4] = (unsigned char)argc;
    p[5] = (unsigned char)(argc >> 8);
    p += 6;
    for (i = 0; i < (size_t)argc; ++i) {
        size_t l = strlen((const char *)argv[i]);
        put32(p, (uint32_t)l);
        memcpy(p + 4, argv[i], l);
        p += 4 + l;
    }
    *len += 4 + total;
    return 1;
}

/* The replies of one exchange, read from the socket through a buffer: most
 * arrive whole in the first receive, several together when requests were
 * sent together. */
struct reader {
    int fd;
    size_t have, at;
    unsigned char buf[8192];
};

/* next_reply - the body of the next reply (malloc'd): 1; 0 when the service
 * closed the connection before sending any of it; -1 on a timeout or a
 * receive error; -2 when malformed or cut short; -3 out of memory. */
static int next_reply(struct reader *r, unsigned char **body, uint32_t *blen) {
    while (r->have - r->at < 4) {
        if (r->at > 0) {
            memmove(r->buf, r->buf + r->at, r->have - r->at);
            r->have -= r->at;
            r->at = 0;
        }
        ssize_t k = recv(r->fd, r->buf + r->have, sizeof r->buf - r->have, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k == 0) return r->have == 0 ? 0 : -2;
        if (k < 0) return -1;
        r->have += (size_t)k;
    }
    uint32_t len = get32(r->buf + r->at);
    if (len > MAX_FRAME || len < 10) return -2;
    unsigned char *b = malloc(len);
    if (!b) return -3;
    size_t avail = r->have - r->at - 4, take = avail < len ? avail : len;
    memcpy(b, r->buf + r->at + 4, take);
    r->at += 4 + take;
    if (take < len && !io_all(r->fd, b + take, len - take, 0)) {
        free(b);
        return -2;
    }
    *body = b;
    *blen = len;
    return 1;
}

/* take_reply - check a reply body and write its log lines: 1 with *rc and
 * the yield at body + *yat (*ylen bytes, no NUL), 0 when malformed. */
static int take_reply(const unsigned char *body, uint32_t len, int *rc, size_t *yat, uint32_t *ylen) {
    uint32_t yl = get32(body + 4);
    size_t at = 8;
    if (yl > len - at - 2) return 0;
    if (memchr(body + at, '\0', yl)) return 0; /* Exim would read a shorter string */
    *rc = (int)get32(body);
    *yat = at;
    *ylen = yl;
    at += yl;
    unsigned nlogs = (unsigned)body[at] | (unsigned)body[at + 1] << 8;
    at += 2;
    for (unsigned k = 0; k < nlogs && at + 4 <= len; ++k) {
        uint32_t l = get32(body + at);
        at += 4;
        if (l > len - at) break;
        log_main("%.*s", (int)l, (const char *)body + at);
        at += l;
    }
    return 1;
}

/* call - the pending requests and this one, in one write, and their replies;
 * 1 with *rc and yield set, and *refused set to the first pending request's
 * refusal (a non-empty answer or a code other than OK), if any. */
static int call(const char *socket_path, int argc, unsigned char *argv[], unsigned char **yield, int *rc,
                char **refused, char *why, size_t whylen) {
    if (g_pending_count && strcmp(g_pending_path, socket_path)) forget_pending(); /* another service */
    /* The pending requests first, then this one: the buffer is taken over. */
    unsigned pending = g_pending_count;
    unsigned char *out = g_pending;
    size_t out_len = g_pending_len, out_cap = g_pending_cap;
    g_pending = NULL;
    forget_pending();
    if (!encode(argc, argv, &out, &out_len, &out_cap, why, whylen)) {
        free(out);
        return 0;
    }
    int ok = 0;
    *refused = NULL;
    /* A connection the service closed meanwhile (restarted) is made anew,
     * once, before anything was answered. */
    for (int attempt = 0; attempt < 2 && !ok; ++attempt) {
        int fd = connect_service(socket_path, why, whylen);
        if (fd < 0) break;
        struct reader rd, *r = &rd;
        r->fd = fd;
        r->have = r->at = 0;
        int retry = 0, failed = 0;
        /* A request that could not be sent counts as closed. */
        int sent = io_all(fd, out, out_len, 1);
        for (unsigned i = 0; i <= pending && !failed; ++i) {
            unsigned char *body = NULL;
            uint32_t len = 0;
            int got = sent ? next_reply(r, &body, &len) : 0;
            if (got != 1) {
                if (got == 0 && i == 0) {
                    snprintf(why, whylen, "%s: connection closed", socket_path);
                    retry = 1; /* closed (a restarted service): once more */
                } else if (got == -1) {
                    snprintf(why, whylen, "%s: no answer in time", socket_path);
                } else if (got == -3) {
                    snprintf(why, whylen, "out of memory");
                } else {
                    snprintf(why, whylen, "%s: malformed or missing reply", socket_path);
                }
                failed = 1; /* the request may have been acted on: no second try */
                break;
            }
            int code = kError;
            size_t yat = 0;
            uint32_t ylen = 0;
            if (!take_reply(body, len, &code, &yat, &ylen)) {
                snprintf(why, whylen, "%s: malformed reply", socket_path);
                free(body);
                failed = 1;
                break;
            }
            if (i < pending) {
                if (!*refused && (code != kOk || ylen)) {
                    *refused = malloc(ylen + 64);
                    if (!*refused) { /* a refusal must never be lost: the whole call fails */
                        snprintf(why, whylen, "out of memory");
                        free(body);
                        failed = 1;
                        break;
                    }
                    if (ylen) {
                        memcpy(*refused, body + yat, ylen);
                        (*refused)[ylen] = '\0';
                    } else {
                        snprintf(*refused, ylen + 64, "danesmtp: the service answered code %d: refused", code);
                    }
                }
            } else if (!set_yield(yield, (const char *)body + yat, ylen)) {
                snprintf(why, whylen, "out of memory");
                free(body);
                failed = 1;
                break;
            } else {
                *rc = code;
            }
            free(body);
        }
        /* Anything after the last reply: the service does not speak this
         * protocol. */
        if (!failed && r->have > r->at) {
            snprintf(why, whylen, "%s: malformed reply", socket_path);
            failed = 1;
        }
        if (failed) {
            drop();
            free(*refused);
            *refused = NULL;
            if (retry) continue;
            break;
        }
        ok = 1;
    }
    free(out);
    return ok;
}

/* answer_from_file - the answer the service left for REQUEST (QLEN bytes)
 * in its directory (plan_file.h, KIND "plan" or "cert"), made under the
 * configuration file CONFIG as it is now: 1 with the yield set and its log
 * lines written; 0 when there is none to use, and the service is asked.
 * Only the service's user may write the directory and the file (both
 * checked); the file must be whole, for this very request, and recent. */
static int answer_from_file(const char *socket_path, const char *kind, const char *request, size_t qlen,
                            const char *config, unsigned char **yield) {
    char dir[sizeof g_path], path[sizeof g_path + 16], name[16];
    uid_t owner;
    struct stat fs, cs;
    if (config[0] != '/') return 0;
    if (!closed_dir(socket_path, dir, &owner)) return 0; /* the service's own check says why */
    danesmtp_plan_file_name(kind, request, qlen, name);
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) return 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return 0;
    unsigned char *file = NULL;
    size_t len = 0;
    if (fstat(fd, &fs) == 0 && S_ISREG(fs.st_mode) && fs.st_uid == owner && !(fs.st_mode & 022) &&
        fs.st_nlink == 1 && fs.st_size > 0 && (size_t)fs.st_size <= DANESMTP_PLAN_FILE_MAX &&
        (file = malloc((size_t)fs.st_size)) != NULL) {
        ssize_t got;
        while (len < (size_t)fs.st_size && ((got = read(fd, file + len, (size_t)fs.st_size - len)) > 0 ||
                                            (got < 0 && errno == EINTR)))
            if (got > 0) len += (size_t)got;
        if (len != (size_t)fs.st_size) len = 0;
    }
    close(fd);
    struct danesmtp_plan_identity id;
    struct timespec now;
    const unsigned char *reply = NULL;
    size_t rlen = 0;
    if (len && stat(config, &cs) == 0 && clock_gettime(CLOCK_REALTIME, &now) == 0) {
        danesmtp_plan_identity_of(&cs, &id);
        reply = danesmtp_plan_file_reply(file, len, request, qlen, &id, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec,
                                         &rlen);
    }
    int code = kError;
    size_t yat = 0;
    uint32_t ylen = 0;
    int ok = reply && take_reply(reply, (uint32_t)rlen, &code, &yat, &ylen) && code == kOk &&
             set_yield(yield, (const char *)reply + yat, ylen);
    free(file);
    return ok;
}

/* plan_from_file - a routing request (ARGS: DOMAIN PORT CONFIG [MODE])
 * answered from the plan the service left for it. */
static int plan_from_file(const char *socket_path, int n, unsigned char *args[], unsigned char **yield) {
    char request[DANESMTP_PLAN_FILE_REQUEST_MAX];
    size_t qlen = 0;
    for (int i = 0; i < n; ++i) {
        size_t l = strlen((const char *)args[i]);
        if (qlen + l + 1 > sizeof request) return 0;
        memcpy(request + qlen, args[i], l + 1);
        qlen += l + 1;
    }
    return answer_from_file(socket_path, "plan", request, qlen, (const char *)args[2], yield);
}

/* verdict_from_file - the leaf's tls:cert request (ARGV as Exim gives it)
 * answered from the verdict the service left for this very handshake: the
 * pending requests, which must start with its tcp:connect, and this one,
 * byte for byte. The configuration is the plan's ("config" in
 * ADDRESS_DATA). */
static int verdict_from_file(int argc, unsigned char *argv[], unsigned char **yield) {
    if (!g_pending_count || !g_pending_connect_first || strcmp(g_pending_path, (const char *)argv[0])) return 0;
    unsigned char *req = malloc(g_pending_len);
    size_t len = g_pending_len, cap = g_pending_len;
    char why[64], *config = NULL;
    int ok = 0;
    if (!req) return 0;
    memcpy(req, g_pending, g_pending_len);
    if (encode(argc - 1, argv + 1, &req, &len, &cap, why, sizeof why) && len <= DANESMTP_PLAN_FILE_MAX) {
        struct danesmtp_pair p;
        const char *s = (const char *)argv[5];
        while (danesmtp_pair_next(&s, &p))
            if (danesmtp_pair_is(&p, "config")) {
                if ((config = malloc(p.value_len + 1)) != NULL) danesmtp_pair_value(&p, config);
                break;
            }
        ok = config && answer_from_file((const char *)argv[0], "cert", (const char *)req, len, config, yield);
    }
    free(config);
    free(req);
    if (ok) forget_pending(); /* the handshake is answered: nothing to send */
    return ok;
}

/* deferrable - a tls:cert request for a certificate above the leaf
 * ("danesmtp_exim_tls_cert", DEPTH > 0, CERT, ADDR, ADDRESS_DATA): the
 * library answers it with "" and only collects the certificate, so it can
 * wait for the leaf's request (depth 0), which verifies the whole chain. */
static int deferrable(int argc, unsigned char *argv[]) {
    if (argc != 6 || strcmp((const char *)argv[1], "danesmtp_exim_tls_cert")) return 0;
    const char *d = (const char *)argv[2];
    size_t n = strlen(d);
    if (n == 0 || n > 3 || strspn(d, "0123456789") != n) return 0;
    return atoi(d) > 0;
}

EXPORT int danesmtp_client(unsigned char **yield, int argc, unsigned char *argv[]) {
    char why[512];
    int rc = kError;
    char *refused = NULL;
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
    /* Routing: the plan the service left for this request, if recent. */
    if (!strcmp(entry, "danesmtp_exim_route") && (argc == 5 || argc == 6) &&
        plan_from_file((const char *)argv[0], argc - 2, argv + 2, yield))
        return kOk;
    /* The leaf's certificate: the verdict the service gave this very
     * handshake moments ago, if any. */
    if (!strcmp(entry, "danesmtp_exim_tls_cert") && argc == 6 && !strcmp((const char *)argv[2], "0") &&
        verdict_from_file(argc, argv, yield))
        return kOk;
    /* tcp:connect: decided here, by the library's own rule (plan_hosts.h),
     * without a round trip; the request still goes to the service with the
     * next one (a new connection starts a new chain there). */
    if (!strcmp(entry, "danesmtp_exim_connect") && argc == 4 &&
        strlen((const char *)argv[0]) < sizeof g_pending_path) {
        int verdict = danesmtp_connect_rule((const char *)argv[3], (const char *)argv[2], g_static, sizeof g_static);
        if (verdict == 0) {
            *yield = (unsigned char *)g_static;
            return kOk;
        }
        forget_pending(); /* an earlier handshake's certificates: of no use now */
        if (verdict == 1 && encode(argc - 1, argv + 1, &g_pending, &g_pending_len, &g_pending_cap, why, sizeof why) &&
            g_pending_len <= MAX_PENDING_BYTES) {
            snprintf(g_pending_path, sizeof g_pending_path, "%s", (const char *)argv[0]);
            g_pending_count = 1;
            g_pending_connect_first = 1;
            g_static[0] = '\0';
            *yield = (unsigned char *)g_static;
            return kOk;
        }
        forget_pending(); /* out of memory: the service decides, below */
    }
    /* A certificate above the leaf waits for the next request (bounded:
     * past MAX_PENDING requests or MAX_PENDING_BYTES, this one goes now with
     * those before it). Whatever the service answers for it is seen then:
     * a refusal of any of them refuses the next event. */
    if (deferrable(argc, argv) && g_pending_count < MAX_PENDING &&
        strlen((const char *)argv[0]) < sizeof g_pending_path &&
        (!g_pending_count || !strcmp(g_pending_path, (const char *)argv[0]))) {
        size_t before = g_pending_len;
        if (encode(argc - 1, argv + 1, &g_pending, &g_pending_len, &g_pending_cap, why, sizeof why) &&
            g_pending_len <= MAX_PENDING_BYTES) {
            if (!g_pending_count) snprintf(g_pending_path, sizeof g_pending_path, "%s", (const char *)argv[0]);
            ++g_pending_count;
            g_static[0] = '\0';
            *yield = (unsigned char *)g_static;
            return kOk;
        }
        g_pending_len = before; /* too large to wait: sent now, below */
    }
    if (call((const char *)argv[0], argc - 1, argv + 1, yield, &rc, &refused, why, sizeof why)) {
        if (refused) {
            /* A certificate request sent late was refused: this event
             * refuses in its place (the handshake fails all the same). */
            snprintf(g_static, sizeof g_static, "%.250s", refused);
            free(refused);
            log_main("%s", g_static);
            if (event) {
                *yield = (unsigned char *)g_static;
                return kOk;
            }
        }
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
