/* SPDX-License-Identifier: MIT */
/* plan_file.h - the plans danesmtpd leaves for the service client to read
 * without asking it (issue 11; docs/decisions.md "Service mode for Exim").
 *
 * After answering a routing request with a plan, danesmtpd writes the answer
 * to a file in its socket's directory (which only its user may write, and
 * which both sides check); for the next 2 seconds, a delivery process that
 * asks for the same destination (domain, port, configuration file and mode)
 * under the same configuration file (device, inode, modification time and
 * size unchanged) takes the answer from the file, with no connection to the
 * service. The answers are shared by all deliveries anyway (the service's
 * resolver cache and the answer cache keep them for their TTL); a plan
 * reused for 2 seconds only adds those 2 seconds (4 when the service itself
 * answered from its 2-second plan memo).
 *
 * The same for a certificate chain's verdict (cert-XXX): the requests of
 * one handshake, from the tcp:connect that starts it (a fresh chain in the
 * service) to the leaf's tls:cert, byte for byte as the client sends them,
 * and the leaf's answer with its log line. A chain that the service verified
 * against the same TLSA records for the same host within 2 seconds is not
 * verified again; a DANE-TA chain's validity dates are then read up to 2
 * seconds late (DANE-EE ignores them, RFC 7672 section 3.1.1).
 *
 * One file per slot: plan-XXX or cert-XXX, XXX = FNV-1a of the request
 * modulo 1024, so there are never more than 2048 files; a collision replaces
 * the older answer (the reader compares the whole request, never a hash). Written to a temporary file and
 * renamed, so a reader sees a whole file or the one before; checksummed
 * against a damaged disk.
 *
 * Layout, integers little-endian:
 *   0  u32 magic "DSP1"    4  u32 file length
 *   8  i64 made, CLOCK_REALTIME nanoseconds, before the lookup began
 *  16  u64 st_dev  24 u64 st_ino  32 i64 st_mtim.tv_sec  40 i64 st_mtim.tv_nsec
 *  48  i64 st_size                         (of the configuration file)
 *  56  u32 request length  60 u32 reply length
 *  64  the request: the route call's arguments, each ended by a NUL (plan),
 *      or the handshake's request frames (cert)
 *      the reply: as the service sends it (i32 rc, yield, log lines)
 *      u64 FNV-1a of everything before
 * C, header-only: the client (C) and danesmtpd (C++) share it. */
#ifndef DANESMTP_PLAN_FILE_H
#define DANESMTP_PLAN_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define DANESMTP_PLAN_FILE_MAGIC 0x31505344u
#define DANESMTP_PLAN_FILE_SLOTS 1024u
#define DANESMTP_PLAN_FILE_LIFE_NS 2000000000LL
#define DANESMTP_PLAN_FILE_MAX (64u * 1024u)
#define DANESMTP_PLAN_FILE_HEADER 64u
#define DANESMTP_PLAN_FILE_REQUEST_MAX 4096u /* of a routing request */

struct danesmtp_plan_identity {
    uint64_t dev, ino;
    int64_t mtime_sec, mtime_nsec, size;
};

static inline void danesmtp_plan_identity_of(const struct stat *st, struct danesmtp_plan_identity *id) {
    id->dev = (uint64_t)st->st_dev;
    id->ino = (uint64_t)st->st_ino;
    id->mtime_sec = (int64_t)st->st_mtim.tv_sec;
    id->mtime_nsec = (int64_t)st->st_mtim.tv_nsec;
    id->size = (int64_t)st->st_size;
}

static inline int danesmtp_plan_identity_same(const struct danesmtp_plan_identity *a,
                                              const struct danesmtp_plan_identity *b) {
    return a->dev == b->dev && a->ino == b->ino && a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec &&
           a->size == b->size;
}

static inline uint64_t danesmtp_fnv1a64(const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static inline void danesmtp_put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint64_t danesmtp_get64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
    return v;
}
static inline void danesmtp_put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t danesmtp_get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* danesmtp_plan_file_name - "KIND-XXX" for the request (KIND "plan" or
 * "cert"; NAME: 16 bytes). */
static inline void danesmtp_plan_file_name(const char *kind, const char *request, size_t len, char name[16]) {
    snprintf(name, 16, "%.4s-%03x", kind, (unsigned)(danesmtp_fnv1a64(request, len) % DANESMTP_PLAN_FILE_SLOTS));
}

/* danesmtp_plan_file_header - the header of a file of REQUEST_LEN and
 * REPLY_LEN bytes; the caller appends request, reply and the checksum. */
static inline void danesmtp_plan_file_header(unsigned char h[DANESMTP_PLAN_FILE_HEADER], int64_t made_ns,
                                             const struct danesmtp_plan_identity *id, uint32_t request_len,
                                             uint32_t reply_len) {
    danesmtp_put32(h, DANESMTP_PLAN_FILE_MAGIC);
    danesmtp_put32(h + 4, DANESMTP_PLAN_FILE_HEADER + request_len + reply_len + 8);
    danesmtp_put64(h + 8, (uint64_t)made_ns);
    danesmtp_put64(h + 16, id->dev);
    danesmtp_put64(h + 24, id->ino);
    danesmtp_put64(h + 32, (uint64_t)id->mtime_sec);
    danesmtp_put64(h + 40, (uint64_t)id->mtime_nsec);
    danesmtp_put64(h + 48, (uint64_t)id->size);
    danesmtp_put32(h + 56, request_len);
    danesmtp_put32(h + 60, reply_len);
}

/* danesmtp_plan_file_reply - the reply kept in FILE (LEN bytes) for REQUEST
 * under configuration ID, if the file is whole, for that very request, made
 * at most DANESMTP_PLAN_FILE_LIFE_NS before NOW_NS (and not after it), and
 * its reply is an answer (rc 0); else NULL. */
static inline const unsigned char *danesmtp_plan_file_reply(const unsigned char *file, size_t len,
                                                            const char *request, size_t request_len,
                                                            const struct danesmtp_plan_identity *id,
                                                            int64_t now_ns, size_t *reply_len) {
    if (len < DANESMTP_PLAN_FILE_HEADER + 8 + 10 || len > DANESMTP_PLAN_FILE_MAX) return NULL;
    if (danesmtp_get32(file) != DANESMTP_PLAN_FILE_MAGIC || danesmtp_get32(file + 4) != len) return NULL;
    uint32_t qlen = danesmtp_get32(file + 56), rlen = danesmtp_get32(file + 60);
    if ((uint64_t)DANESMTP_PLAN_FILE_HEADER + qlen + rlen + 8 != len || rlen < 10) return NULL;
    if (danesmtp_get64(file + len - 8) != danesmtp_fnv1a64(file, len - 8)) return NULL;
    int64_t made = (int64_t)danesmtp_get64(file + 8);
    if (made > now_ns || made <= now_ns - DANESMTP_PLAN_FILE_LIFE_NS) return NULL;
    struct danesmtp_plan_identity made_under = {danesmtp_get64(file + 16), danesmtp_get64(file + 24),
                                                (int64_t)danesmtp_get64(file + 32),
                                                (int64_t)danesmtp_get64(file + 40),
                                                (int64_t)danesmtp_get64(file + 48)};
    if (!danesmtp_plan_identity_same(&made_under, id)) return NULL;
    if (qlen != request_len || memcmp(file + DANESMTP_PLAN_FILE_HEADER, request, qlen) != 0) return NULL;
    const unsigned char *reply = file + DANESMTP_PLAN_FILE_HEADER + qlen;
    if (danesmtp_get32(reply) != 0) return NULL;
    *reply_len = rlen;
    return reply;
}

#endif /* DANESMTP_PLAN_FILE_H */
