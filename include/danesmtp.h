/* SPDX-License-Identifier: MIT */
/*
 * danesmtp.h - DANE for SMTP (RFC 6698, RFC 7671, RFC 7672): the C interface
 * of libdanesmtp.so.1.
 *
 * What it does
 *   After the TLS handshake with an MX host, an SMTP client hands this library
 *   the certificate chain the server presented and the host's TLSA RRset; the
 *   library says whether the chain is authenticated by those records, with
 *   the matched record, its depth, the name that matched, or a reason a
 *   person can act on.
 *
 * Conventions
 *   - Every object is opaque and has a new/free pair. Every *_free accepts
 *     NULL. Strings the library returns are owned by the object they came
 *     from and live until it is freed or changed, unless a function says the
 *     caller must release them with danesmtp_free().
 *   - Functions that can fail return an int status: DANESMTP_OK (0) or a
 *     negative DANESMTP_E_* code. danesmtp_strerror() names a code;
 *     danesmtp_last_error() gives the detail of the last failure in the
 *     calling thread ("odd number of hex digits (63)").
 *   - A status says whether the operation could be done. Whether the peer is
 *     authenticated is a separate answer, the danesmtp_verdict: "not
 *     authenticated" is a successful verification with a negative result.
 *   - No C++ exception, abort() or exit() ever leaves this library.
 *   - Only fields are ever appended to public structs. Options structs carry
 *     their version first; initialise them with DANESMTP_OPTIONS_INIT or
 *     danesmtp_options_init().
 *
 * Threads and fork
 *   - Any number of threads may use one danesmtp_ctx at the same time
 *     (verification reads it; lookups share its resolver and DNS cache).
 *     Lookups from several threads proceed independently: one waiting for
 *     a server that never answers does not hold up another whose answers
 *     are cached.
 *   - A danesmtp_tlsa set may be read by several threads at once (verify does
 *     not change it); adding records needs exclusive use.
 *   - A danesmtp_chain and a danesmtp_result belong to one thread at a time
 *     (a chain caches digests and decoded certificates as it is verified).
 *   - The library starts no thread. Lookups are answered by a resolver
 *     process that libunbound forks on a context's first lookup; it keeps
 *     the DNS cache and a pipe to this process, and exits when the context
 *     is freed or this process exits. Objects created before fork() can be
 *     used in the child: the child starts a resolver process of its own on
 *     its first lookup (the parent's is left alone, never touched), also
 *     when another thread was starting or using the parent's at the time of
 *     fork(). stdio buffers are flushed before that fork, so nothing is
 *     written twice.
 *   - If the resolver process dies (killed, out of memory) the next lookup
 *     starts a new one; SIGPIPE is never raised in the calling process.
 *     A resolver that cannot start or fails its self-test is tried again
 *     after 1 s, doubling up to 60 s; lookups meanwhile defer at once.
 *   - The library writes nothing to stdout or stderr (libunbound's own log
 *     is sent to /dev/null).
 *
 * Example
 *   danesmtp_ctx *ctx; danesmtp_tlsa *tlsa; danesmtp_chain *chain;
 *   danesmtp_result *res;
 *   const char *names[] = { "mx.example.net", "example.net" };
 *   danesmtp_ctx_new(&ctx, NULL);
 *   danesmtp_tlsa_new(&tlsa);
 *   danesmtp_tlsa_add_text(tlsa, "3 1 1 8cb0...");
 *   danesmtp_chain_new(&chain);
 *   danesmtp_chain_add_der(chain, leaf_der, leaf_len);
 *   if (danesmtp_verify(ctx, tlsa, chain, names, 2, DANESMTP_TIME_NOW, &res) == DANESMTP_OK
 *       && danesmtp_result_verdict(res) == DANESMTP_AUTHENTICATED)
 *       ... deliver ...
 *   else
 *       ... next MX or defer: never clear text (RFC 7672 section 2.2) ...
 *   danesmtp_result_free(res); danesmtp_chain_free(chain);
 *   danesmtp_tlsa_free(tlsa); danesmtp_ctx_free(ctx);
 */
#ifndef DANESMTP_H
#define DANESMTP_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define DANESMTP_API __attribute__((visibility("default")))
#else
#define DANESMTP_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this header. The SONAME major is DANESMTP_VERSION_MAJOR. */
#define DANESMTP_VERSION_MAJOR 1
#define DANESMTP_VERSION_MINOR 4
#define DANESMTP_VERSION_PATCH 0
#define DANESMTP_VERSION_STRING "1.4.0"

/* The library's version string, "1.1.0". */
DANESMTP_API const char *danesmtp_version(void);
/* The library's version as 0xMMmmpp (major, minor, patch). */
DANESMTP_API unsigned long danesmtp_version_number(void);

/* ---- Status codes ------------------------------------------------------ */

#define DANESMTP_OK 0
#define DANESMTP_E_INVALID (-1)     /* NULL, empty or out-of-range argument */
#define DANESMTP_E_NOMEM (-2)       /* out of memory */
#define DANESMTP_E_PARSE (-3)       /* malformed input: TLSA text, hex, DER, PEM, a name */
#define DANESMTP_E_LIMIT (-4)       /* input over a documented limit */
#define DANESMTP_E_UNSUPPORTED (-5) /* well-formed input this library does not handle */
#define DANESMTP_E_VERSION (-6)     /* an options struct of an unknown version */
#define DANESMTP_E_INTERNAL (-7)    /* an OpenSSL failure or a bug */
#define DANESMTP_E_RESOLVER (-8)    /* the resolver cannot start or cannot validate DNSSEC */

/* A static English string for a status code; never NULL. */
DANESMTP_API const char *danesmtp_strerror(int status);

/* Detail of the most recent failed call made by this thread, or "" when
 * none failed yet. Valid until this thread's next call into the library. */
DANESMTP_API const char *danesmtp_last_error(void);

/* Release memory the library handed over (danesmtp_tlsa_make). NULL is fine. */
DANESMTP_API void danesmtp_free(void *p);

/* Validate a host name and write its canonical form (lower case, no trailing
 * dot) to out, which has room for outlen bytes including the NUL
 * (DANESMTP_MAX_NAME + 1 is always enough). DANESMTP_E_PARSE for an empty
 * name, an empty or over-long label, a character outside letters, digits,
 * '-' and '_', or non-ASCII bytes (give an IDN as its xn-- A-label);
 * DANESMTP_E_LIMIT for a name over DANESMTP_MAX_NAME octets. */
DANESMTP_API int danesmtp_name_normalize(const char *name, char *out, size_t outlen);

/* ---- Limits ------------------------------------------------------------ */

#define DANESMTP_MAX_CHAIN 32      /* certificates in one chain */
#define DANESMTP_MAX_NAME 253      /* octets in a host name, without the root dot */
#define DANESMTP_MAX_NAMES 16      /* reference identifiers per verification */
#define DANESMTP_MAX_RECORDS 256   /* records in one TLSA set */

/* ---- Context ----------------------------------------------------------- */

/* Digest agility (RFC 7671 section 9): which digest counts as stronger when
 * both SHA2-256 and SHA2-512 records are published for the same usage and
 * selector. Only records of the stronger one are then used. */
#define DANESMTP_DIGESTS_SHA512_FIRST 0 /* default */
#define DANESMTP_DIGESTS_SHA256_FIRST 1

#define DANESMTP_OPTIONS_VERSION 1

typedef struct danesmtp_options {
    unsigned int version;           /* DANESMTP_OPTIONS_VERSION */
    unsigned int digest_preference; /* DANESMTP_DIGESTS_*; version 1 */
    /* Resolver and policy settings, in the format of /etc/danesmtp.conf
     * (man danesmtp.conf): `key = value` lines. The file is read first,
     * then the text; later scalar values replace earlier ones, lists add up.
     * Either may be NULL. The library never reads /etc/danesmtp.conf unless
     * it is named here. Read when the context is created. Version 1. */
    const char *config_file;
    const char *config_text;
} danesmtp_options;

#define DANESMTP_OPTIONS_INIT { DANESMTP_OPTIONS_VERSION, DANESMTP_DIGESTS_SHA512_FIRST, NULL, NULL }

/* The configuration file the danesmtp tool and the MTA adapters read. */
#define DANESMTP_CONFIG_FILE "/etc/danesmtp.conf"

/* Fill *opts with the defaults of options version `version`.
 * DANESMTP_E_VERSION when this library does not know that version. */
DANESMTP_API int danesmtp_options_init(danesmtp_options *opts, unsigned int version);

typedef struct danesmtp_ctx danesmtp_ctx;

/* Create a context. opts may be NULL for the defaults. A configuration that
 * does not parse is DANESMTP_E_PARSE, with the file and line in
 * danesmtp_last_error(); one over 64 KiB, a line over 4096 bytes or a list
 * over 64 entries is DANESMTP_E_LIMIT; a config_file that cannot be read or
 * is not a regular file is DANESMTP_E_INVALID. Files the configuration names (trust anchors,
 * resolv.conf) are read when the resolver starts: danesmtp_selftest() reports
 * a problem at once, and lookups defer with it. The resolver itself starts on first lookup, in the
 * process that looks up (a context made before fork() is fine in the child). The library reads only
 * the fields that opts->version defines; a version newer than the library
 * knows is DANESMTP_E_VERSION, 0 is DANESMTP_E_INVALID. */
DANESMTP_API int danesmtp_ctx_new(danesmtp_ctx **out, const danesmtp_options *opts);
DANESMTP_API void danesmtp_ctx_free(danesmtp_ctx *ctx);

/* ---- TLSA record sets (RFC 6698 section 2) ---------------------------- */

typedef struct danesmtp_tlsa danesmtp_tlsa;

/* One record as the set holds it. */
typedef struct danesmtp_tlsa_record {
    uint8_t usage;               /* 2 DANE-TA, 3 DANE-EE, ... */
    uint8_t selector;            /* 0 Cert, 1 SPKI */
    uint8_t mtype;               /* 0 Full, 1 SHA2-256, 2 SHA2-512 */
    const unsigned char *data;   /* certificate association data */
    size_t data_len;
    const char *unusable_reason; /* NULL when usable for SMTP, else why not
                                    (RFC 7672 section 3.1.3, RFC 7671 section 5) */
} danesmtp_tlsa_record;

DANESMTP_API int danesmtp_tlsa_new(danesmtp_tlsa **out);
DANESMTP_API void danesmtp_tlsa_free(danesmtp_tlsa *set);

/* Add one record. Records that SMTP cannot use (PKIX-TA, a SHA2-256 digest of
 * the wrong length, ...) are still added: verification ignores them and
 * danesmtp_tlsa_get() says why. Errors are for input that is not a record. */
DANESMTP_API int danesmtp_tlsa_add(danesmtp_tlsa *set, uint8_t usage, uint8_t selector,
                                   uint8_t mtype, const unsigned char *data, size_t len);
/* "3 1 1 <hex>", hex split by white space or zone-file parentheses, RFC 7218
 * mnemonics, or a whole zone-file line "_25._tcp.mx.example. 3600 IN TLSA 3 1 1 ...". */
DANESMTP_API int danesmtp_tlsa_add_text(danesmtp_tlsa *set, const char *text);
/* Wire-format RDATA as a resolver returns it. */
DANESMTP_API int danesmtp_tlsa_add_rdata(danesmtp_tlsa *set, const unsigned char *rdata,
                                         size_t len);
/* Number of records; 0 for NULL. */
DANESMTP_API size_t danesmtp_tlsa_count(const danesmtp_tlsa *set);
/* Record `index`; pointers stay valid until the set is changed or freed. */
DANESMTP_API int danesmtp_tlsa_get(const danesmtp_tlsa *set, size_t index,
                                   danesmtp_tlsa_record *out);

/* ---- Certificate chains ----------------------------------------------- */

typedef struct danesmtp_chain danesmtp_chain;

DANESMTP_API int danesmtp_chain_new(danesmtp_chain **out);
DANESMTP_API void danesmtp_chain_free(danesmtp_chain *chain);
/* Append one DER certificate. Add them as the peer presented them, leaf first.
 * A certificate whose DER outline is broken is DANESMTP_E_PARSE; more than
 * DANESMTP_MAX_CHAIN certificates is DANESMTP_E_LIMIT. */
DANESMTP_API int danesmtp_chain_add_der(danesmtp_chain *chain, const unsigned char *der,
                                        size_t len);
/* Append every CERTIFICATE block of a PEM text, in order. Text between blocks
 * is ignored; another block type, bad base64 or no block is DANESMTP_E_PARSE,
 * and then nothing is appended. */
DANESMTP_API int danesmtp_chain_add_pem(danesmtp_chain *chain, const char *pem, size_t len);
/* Remove every certificate: start a new handshake with the same object. */
DANESMTP_API int danesmtp_chain_clear(danesmtp_chain *chain);
DANESMTP_API size_t danesmtp_chain_count(const danesmtp_chain *chain);

/* ---- Verification (RFC 7672 section 3) -------------------------------- */

typedef enum danesmtp_verdict {
    /* A usable record matched: deliver. */
    DANESMTP_AUTHENTICATED = 1,
    /* Usable records exist and none matched: try the next MX host or defer;
     * never send in clear text, never bounce (RFC 7672 section 2.2). */
    DANESMTP_NOT_AUTHENTICATED = 2,
    /* The set holds no usable record: TLS is still required, without
     * authentication (RFC 7672 section 2.2). */
    DANESMTP_NO_USABLE_RECORDS = 3
} danesmtp_verdict;

/* "authenticated", "not authenticated", "no usable records"; "invalid" else. */
DANESMTP_API const char *danesmtp_verdict_name(int verdict);

typedef struct danesmtp_result danesmtp_result;

/* Pass as `time` to check validity dates against the system clock. */
#define DANESMTP_TIME_NOW INT64_MIN

/* Verify `chain` (leaf first, not empty) against `tlsa`.
 *   names: reference identifiers for DANE-TA name checks (RFC 7672 section
 *          3.2.3): names[0] is the TLSA base domain, then for a secure MX
 *          lookup the next-hop domain and its CNAME expansion. Host names in
 *          ASCII (A-labels), at most DANESMTP_MAX_NAMES; may be NULL with
 *          name_count 0 (then only DANE-EE records can authenticate).
 *   time:  Unix seconds at which DANE-TA validity dates are checked, or
 *          DANESMTP_TIME_NOW. DANE-EE ignores dates (RFC 7672 section 3.1.1).
 * On DANESMTP_OK *out holds a result to free with danesmtp_result_free().
 * A malformed name is DANESMTP_E_PARSE (no verdict is given). */
DANESMTP_API int danesmtp_verify(const danesmtp_ctx *ctx, const danesmtp_tlsa *tlsa,
                                 danesmtp_chain *chain, const char *const *names,
                                 size_t name_count, int64_t time, danesmtp_result **out);
DANESMTP_API void danesmtp_result_free(danesmtp_result *res);

/* The verdict; 0 for NULL. */
DANESMTP_API int danesmtp_result_verdict(const danesmtp_result *res);
/* One sentence: what matched, or why nothing did. Never NULL. */
DANESMTP_API const char *danesmtp_result_reason(const danesmtp_result *res);
/* Depth of the matched certificate (0 = leaf); for a trust anchor published
 * in DNS and absent from the chain, the depth it takes above the chain.
 * -1 when not authenticated. */
DANESMTP_API int danesmtp_result_depth(const danesmtp_result *res);
/* DANE-TA: the reference identifier that matched, and the certificate name
 * that matched it. NULL for DANE-EE or when not authenticated. */
DANESMTP_API const char *danesmtp_result_name(const danesmtp_result *res);
DANESMTP_API const char *danesmtp_result_presented_name(const danesmtp_result *res);
/* The matched record (unusable_reason is NULL). DANESMTP_E_INVALID when the
 * result is not authenticated. Pointers live as long as the result. */
DANESMTP_API int danesmtp_result_record(const danesmtp_result *res, danesmtp_tlsa_record *out);

/* ---- Discovery before connecting (RFC 7672 section 2) ----------------- */

/* Domain status: can mail for the destination go out now? */
#define DANESMTP_DOMAIN_OK 0       /* try the hosts in order, each as its verdict says */
#define DANESMTP_DOMAIN_DEFER 1    /* temporary failure: send nothing now (bogus or
                                      failed MX lookup, no host reachable, mandatory
                                      DANE unmet, resolver not validating) */
#define DANESMTP_DOMAIN_NULL_MX 2  /* the domain accepts no mail (RFC 7505) */
#define DANESMTP_DOMAIN_NXDOMAIN 3 /* the domain does not exist */

/* Host verdict: what the connection to this MX host requires. */
#define DANESMTP_HOST_DANE 1        /* TLS required, authenticated with the host's TLSA set */
#define DANESMTP_HOST_ENCRYPT 2     /* TLS required, no authentication possible */
#define DANESMTP_HOST_MAY 3         /* opportunistic TLS, as without DANE */
#define DANESMTP_HOST_UNREACHABLE 4 /* do not connect: a lookup failed or was bogus */

typedef struct danesmtp_plan danesmtp_plan;
typedef struct danesmtp_host danesmtp_host;

/* Look up `domain` (the next-hop domain of a recipient) for `port` (25 for
 * MX delivery): MX hosts in preference order, their addresses, TLSA records,
 * TLSA base domain, SNI name, reference identifiers and verdicts. A DNS or
 * DNSSEC failure is not an error of this call: it is a plan whose status is
 * DANESMTP_DOMAIN_DEFER, or a host marked unreachable, with the reason.
 * Errors are for a malformed domain (DANESMTP_E_PARSE) or a port of 0. */
DANESMTP_API int danesmtp_lookup_domain(danesmtp_ctx *ctx, const char *domain,
                                        unsigned int port, danesmtp_plan **out);
/* The same for one host an MTA chose itself (it resolved the MX records).
 * The TLSA base domain is the only reference identifier (no next-hop domain
 * is known), and a match is never reported as "Verified" (we did not see the
 * MX lookup). */
DANESMTP_API int danesmtp_lookup_host(danesmtp_ctx *ctx, const char *host, unsigned int port,
                                      danesmtp_plan **out);
/* Start the resolver now and check that DNSSEC validation works: the zone
 * of every trust anchor (the root's included, unless the configuration says
 * root-anchor = no) must validate as secure. DANESMTP_E_RESOLVER, with a
 * sentence in danesmtp_last_error(), when it does not; lookups then defer.
 * Within the retry back-off (see "Threads and fork") the last failure is
 * returned at once. */
DANESMTP_API int danesmtp_selftest(danesmtp_ctx *ctx);

/* The answer cache shared by this host's processes (danesmtp.conf(5):
 * cache, cache-max-ttl, cache-size), opened in the calling process if it was
 * not yet. DANESMTP_CACHE_IN_USE (the path in danesmtp_last_error()),
 * DANESMTP_CACHE_OFF when not configured, DANESMTP_CACHE_UNUSABLE when
 * configured but not used in this process (why in danesmtp_last_error():
 * a wrong owner or mode, a damaged file, a full disk). Lookups work the same
 * without it, only slower: answers come from the resolver. Since 1.1. */
#define DANESMTP_CACHE_OFF 0
#define DANESMTP_CACHE_IN_USE 1
#define DANESMTP_CACHE_UNUSABLE 2
DANESMTP_API int danesmtp_cache_status(danesmtp_ctx *ctx);

DANESMTP_API void danesmtp_plan_free(danesmtp_plan *plan);
DANESMTP_API int danesmtp_plan_status(const danesmtp_plan *plan);
DANESMTP_API const char *danesmtp_plan_reason(const danesmtp_plan *plan); /* "" when none */
DANESMTP_API const char *danesmtp_plan_domain(const danesmtp_plan *plan);
/* 1 when the MX RRset was DNSSEC-secure (matches may be called "Verified"). */
DANESMTP_API int danesmtp_plan_mx_secure(const danesmtp_plan *plan);
DANESMTP_API int danesmtp_plan_implicit_mx(const danesmtp_plan *plan);
/* 1 when audit-only mode is configured: report verdicts, never block. */
DANESMTP_API int danesmtp_plan_audit_only(const danesmtp_plan *plan);
DANESMTP_API size_t danesmtp_plan_host_count(const danesmtp_plan *plan);
/* Host `index` in the order to try, or NULL. Lives as long as the plan. */
DANESMTP_API const danesmtp_host *danesmtp_plan_host(const danesmtp_plan *plan, size_t index);

DANESMTP_API const char *danesmtp_host_name(const danesmtp_host *host);
DANESMTP_API unsigned int danesmtp_host_preference(const danesmtp_host *host);
DANESMTP_API int danesmtp_host_verdict(const danesmtp_host *host);
DANESMTP_API const char *danesmtp_host_reason(const danesmtp_host *host);
/* Where the TLSA RRset was found, and the SNI name to send; "" when none. */
DANESMTP_API const char *danesmtp_host_tlsa_base(const danesmtp_host *host);
DANESMTP_API const char *danesmtp_host_sni(const danesmtp_host *host);
/* 1 when an authenticated session may be reported as "Verified" (secure MX
 * RRset); 0 means "Trusted" at best (RFC 7672 section 2.2.1). */
DANESMTP_API int danesmtp_host_verified_possible(const danesmtp_host *host);
DANESMTP_API size_t danesmtp_host_address_count(const danesmtp_host *host);
DANESMTP_API const char *danesmtp_host_address(const danesmtp_host *host, size_t index);
/* Reference identifiers to pass to danesmtp_verify(), in order. */
DANESMTP_API size_t danesmtp_host_name_count(const danesmtp_host *host);
DANESMTP_API const char *const *danesmtp_host_names(const danesmtp_host *host);
/* The host's TLSA RRset (possibly empty), ready for danesmtp_verify(). */
DANESMTP_API const danesmtp_tlsa *danesmtp_host_tlsa(const danesmtp_host *host);

/* "ok", "defer", "null MX", "no such domain" / "dane", "encrypt", "may",
 * "unreachable"; "invalid" for other values. */
DANESMTP_API const char *danesmtp_domain_status_name(int status);
DANESMTP_API const char *danesmtp_host_verdict_name(int verdict);

/* ---- Checking a deployment (danesmtp check) ---------------------------- */

/* A publisher's deep check of one destination domain (or one host:port):
 * the DANE decision as a client makes it, then every address of every MX
 * host probed over STARTTLS (once with any signature algorithm, once more
 * with the other key type to see a second certificate), each chain judged,
 * and a diagnosis: findings with stable codes (danesmtp(1), FINDINGS), each
 * with evidence and a fix. It connects to the hosts but never sends mail.
 * Answers come from DNS now when the context has no answer cache (the tool
 * makes its check contexts with "cache = none"). Blocks for as long as the
 * lookups and handshakes take; safe to call from several threads on one
 * context. Since 1.2. */
#define DANESMTP_CHECK_OPTIONS_VERSION 1
#define DANESMTP_CHECK_HOST 0x1     /* `name` is a host, not a domain */
#define DANESMTP_CHECK_NO_PROBE 0x2 /* DNS only: connect to nothing */
typedef struct danesmtp_check_options {
    unsigned int version;    /* DANESMTP_CHECK_OPTIONS_VERSION */
    unsigned int port;       /* 0: 25 */
    unsigned int flags;      /* DANESMTP_CHECK_* */
    const char *helo;        /* NULL: "danesmtp-check.invalid" */
    unsigned int timeout_ms; /* per connection step; 0: 10000 */
    unsigned int warn_days;  /* RRSIG and certificate expiry warnings; 0: 7 */
    int64_t time;            /* DANESMTP_TIME_NOW or Unix seconds */
    unsigned int deadline_ms; /* no new connection after this long; the
                                 addresses left are reported as not probed.
                                 0: none */
} danesmtp_check_options;
#define DANESMTP_CHECK_OPTIONS_INIT { DANESMTP_CHECK_OPTIONS_VERSION, 25, 0, NULL, 10000, 7, DANESMTP_TIME_NOW, 0 }

typedef struct danesmtp_report danesmtp_report;
DANESMTP_API int danesmtp_check(danesmtp_ctx *ctx, const char *name, const danesmtp_check_options *options,
                                danesmtp_report **out);
DANESMTP_API void danesmtp_report_free(danesmtp_report *report);

/* The report as text. Owned by the report, valid until it is freed.
 *   DANESMTP_REPORT_TEXT    for a person; flag DANESMTP_REPORT_COLOUR adds
 *                           ANSI colours, DANESMTP_REPORT_BRIEF drops the
 *                           per-certificate table
 *   DANESMTP_REPORT_JSON    one object, schema "danesmtp-check/1"
 *                           (danesmtp(1), JSON OUTPUT), no newline
 *   DANESMTP_REPORT_NAGIOS  one status line with perfdata, monitoring-plugins
 *                           style; its status is danesmtp_report_nagios() */
#define DANESMTP_REPORT_TEXT 0
#define DANESMTP_REPORT_JSON 1
#define DANESMTP_REPORT_NAGIOS 2
#define DANESMTP_REPORT_COLOUR 0x1
#define DANESMTP_REPORT_BRIEF 0x2
DANESMTP_API const char *danesmtp_report_render(danesmtp_report *report, int format, unsigned int flags);
/* The check's exit status (danesmtp(1), check): 0 no error or warning, 1 an
 * error, 3 the domain defers, 4 it receives no mail, 5 warnings only. */
DANESMTP_API int danesmtp_report_status(const danesmtp_report *report);
/* 0 OK, 1 WARNING, 2 CRITICAL (monitoring-plugins conventions). */
DANESMTP_API int danesmtp_report_nagios(const danesmtp_report *report);
/* The findings, errors first: code ("tlsa-no-match"), severity, host ("" for
 * the domain). NULL / -1 for an index out of range. */
#define DANESMTP_SEVERITY_ERROR 0
#define DANESMTP_SEVERITY_WARNING 1
#define DANESMTP_SEVERITY_NOTE 2
DANESMTP_API size_t danesmtp_report_finding_count(const danesmtp_report *report);
DANESMTP_API const char *danesmtp_report_finding_code(const danesmtp_report *report, size_t index);
DANESMTP_API int danesmtp_report_finding_severity(const danesmtp_report *report, size_t index);
DANESMTP_API const char *danesmtp_report_finding_host(const danesmtp_report *report, size_t index);

/* ---- Key rollover (RFC 7671 sections 8.1, 8.4) --------------------------- */

/* `danesmtp rollover` as a library call. One host's TLSA RRset at
 * _PORT._tcp.HOST, through the context's resolver, every authoritative
 * server of its zone asked directly, and (check, remove) a STARTTLS
 * handshake with each address of the host:
 *   PLAN    the RRset to publish now (CURRENT's and NEXT's records, for the
 *           usages and selectors in use; "3 1 1" when none), how long to
 *           wait (the TLSA TTL as served, the zone's refresh), what to keep
 *           after the switch, what is missing now
 *   CHECK   the gate: status 0 only when NEXT's record is served, secure, by
 *           every authoritative server and has been for at least the TTL
 *           (the first time it was seen so is kept in state_file); after the
 *           switch, confirms every address presents NEXT
 *   ADD     a dynamic update (RFC 2136, TSIG) adding NEXT's missing records
 *   REMOVE  one removing CURRENT's records; refused while an address
 *           presents a chain only they match
 * ADD and REMOVE send nothing with DANESMTP_ROLLOVER_DRY_RUN (the update is
 * then rendered as an nsupdate script). Files are PEM (a certificate, a
 * chain leaf first, a key, or a certificate with its key) or DER. Returns
 * DANESMTP_E_PARSE or DANESMTP_E_INVALID for a file or TSIG key that cannot
 * be used (danesmtp_last_error says which and why); every DNS, server or
 * update failure is a finding of the result instead. Since 1.3. */
#define DANESMTP_ROLLOVER_OPTIONS_VERSION 1
#define DANESMTP_ROLLOVER_PLAN 0
#define DANESMTP_ROLLOVER_CHECK 1
#define DANESMTP_ROLLOVER_ADD 2
#define DANESMTP_ROLLOVER_REMOVE 3
#define DANESMTP_ROLLOVER_NO_PROBE 0x1 /* no handshakes (REMOVE: no safety check) */
#define DANESMTP_ROLLOVER_DRY_RUN 0x2  /* ADD, REMOVE: send nothing */
typedef struct danesmtp_rollover_options {
    unsigned int version;         /* DANESMTP_ROLLOVER_OPTIONS_VERSION */
    int action;                   /* DANESMTP_ROLLOVER_* */
    unsigned int port;            /* 0: 25 */
    unsigned int flags;           /* DANESMTP_ROLLOVER_NO_PROBE, _DRY_RUN */
    const unsigned char *current; /* PLAN, REMOVE: the key in service now */
    size_t current_len;
    const char *current_name;     /* for messages ("CURRENT" when NULL) */
    const unsigned char *next;    /* PLAN, CHECK, ADD: the key to come */
    size_t next_len;
    const char *next_name;
    const char *state_file;       /* CHECK; NULL: /var/lib/danesmtp/rollover.state */
    const char *server;           /* ADD, REMOVE: "ADDR[@PORT]"; NULL: the zone's
                                     primary (its SOA MNAME) on port 53 */
    const char *tsig_key;         /* ADD, REMOVE: a BIND key clause or
                                     "[ALG:]NAME:SECRET" (nsupdate -k / -y) */
    unsigned int ttl;             /* ADD: 0 = the RRset's TTL as served */
    unsigned int timeout_ms;      /* per query or connection step; 0: 10000 */
    int64_t time;                 /* DANESMTP_TIME_NOW or Unix seconds */
} danesmtp_rollover_options;
#define DANESMTP_ROLLOVER_OPTIONS_INIT { DANESMTP_ROLLOVER_OPTIONS_VERSION, DANESMTP_ROLLOVER_PLAN, 25, 0, \
    NULL, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL, 0, 10000, DANESMTP_TIME_NOW }

typedef struct danesmtp_rollover danesmtp_rollover;
DANESMTP_API int danesmtp_rollover_run(danesmtp_ctx *ctx, const char *host,
                                       const danesmtp_rollover_options *options,
                                       danesmtp_rollover **out);
DANESMTP_API void danesmtp_rollover_free(danesmtp_rollover *result);
/* The result as text, owned by it:
 *   DANESMTP_ROLLOVER_TEXT      for a person
 *   DANESMTP_ROLLOVER_JSON      one object, schema "danesmtp-rollover/1"
 *   DANESMTP_ROLLOVER_NSUPDATE  ADD, REMOVE: the update as an nsupdate(1)
 *                               script ("" when nothing changes) */
#define DANESMTP_ROLLOVER_TEXT 0
#define DANESMTP_ROLLOVER_JSON 1
#define DANESMTP_ROLLOVER_NSUPDATE 2
DANESMTP_API const char *danesmtp_rollover_render(danesmtp_rollover *result, int format);
/* The exit status of `danesmtp rollover` (danesmtp(1)): 0 done / gate open,
 * 1 wait, 3 not ready (NEXT missing or lagging, an early switch, an unsafe
 * removal), 4 DNS (not secure, unsigned, no DS, state file), 5 the files
 * (same key, a key of no certificate given, no issuer for DANE-TA),
 * 6 the update failed or was refused. */
DANESMTP_API int danesmtp_rollover_status(const danesmtp_rollover *result);
/* Seconds until the gate opens (CHECK with status 1), else 0. */
DANESMTP_API long long danesmtp_rollover_wait(const danesmtp_rollover *result);
DANESMTP_API size_t danesmtp_rollover_finding_count(const danesmtp_rollover *result);
DANESMTP_API const char *danesmtp_rollover_finding_code(const danesmtp_rollover *result, size_t index);

/* ---- Publishing records ----------------------------------------------- */

/* The TLSA record a server operator publishes for a certificate or key.
 *   input: a PEM text (one certificate, a chain leaf first, a public key or
 *          an unencrypted private key) or one DER certificate or key.
 *   depth: which certificate of a chain; -1 chooses by usage: the leaf for
 *          DANE-EE(3)/PKIX-EE(1), the last (top) certificate for
 *          DANE-TA(2)/PKIX-TA(0). A key gives only selector SPKI(1).
 * Input holding both certificates and keys, several keys, or a depth beyond
 * the chain is refused (DANESMTP_E_INVALID): the library never guesses
 * which object to hash.
 * *text receives "U S M <hex>" to release with danesmtp_free(). */
DANESMTP_API int danesmtp_tlsa_make(const unsigned char *input, size_t len, uint8_t usage,
                                    uint8_t selector, uint8_t mtype, int depth, char **text);

#ifdef __cplusplus
}
#endif

#endif /* DANESMTP_H */
