/* SPDX-License-Identifier: MIT */
/*
 * capi_test.c - the C interface, compiled as C99 (-Wstrict-prototypes
 * -pedantic -Werror), so that a C++-ism in danesmtp.h fails the build.
 *
 * Covers NULL arguments, every status string, options-version handling,
 * verdicts on the generated PKI (DANESMTP_PKI), and frees every allocation
 * (the ASan build of this test runs with leak detection).
 */
#define _POSIX_C_SOURCE 200809L
#include <danesmtp.h>

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                              \
    do {                                                                         \
        ++checks;                                                                \
        if (!(cond)) {                                                           \
            ++failures;                                                          \
            fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n",        \
                    __FILE__, __LINE__, #cond, danesmtp_last_error());           \
        }                                                                        \
    } while (0)

static unsigned char *read_file(const char *name, size_t *len) {
    char path[1024];
    const char *dir = getenv("DANESMTP_PKI");
    FILE *f;
    unsigned char *buf;
    long n;
    if (!dir) {
        fprintf(stderr, "DANESMTP_PKI is not set\n");
        exit(2);
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void test_versions_and_strings(void) {
    int codes[] = {DANESMTP_OK, DANESMTP_E_INVALID, DANESMTP_E_NOMEM, DANESMTP_E_PARSE,
                   DANESMTP_E_LIMIT, DANESMTP_E_UNSUPPORTED, DANESMTP_E_VERSION,
                   DANESMTP_E_INTERNAL, DANESMTP_E_RESOLVER};
    int statuses[] = {DANESMTP_DOMAIN_OK, DANESMTP_DOMAIN_DEFER, DANESMTP_DOMAIN_NULL_MX,
                      DANESMTP_DOMAIN_NXDOMAIN};
    int verdicts[] = {DANESMTP_HOST_DANE, DANESMTP_HOST_ENCRYPT, DANESMTP_HOST_MAY,
                      DANESMTP_HOST_UNREACHABLE};
    size_t i, j;
    CHECK(strcmp(danesmtp_version(), DANESMTP_VERSION_STRING) == 0);
    CHECK(danesmtp_version_number() == ((unsigned long)DANESMTP_VERSION_MAJOR << 16 |
                                        (unsigned long)DANESMTP_VERSION_MINOR << 8 |
                                        (unsigned long)DANESMTP_VERSION_PATCH));
    for (i = 0; i < sizeof codes / sizeof codes[0]; ++i) {
        const char *s = danesmtp_strerror(codes[i]);
        CHECK(s != NULL && s[0] != '\0');
        CHECK(strcmp(s, "unknown status code") != 0);
        for (j = 0; j < i; ++j) CHECK(strcmp(s, danesmtp_strerror(codes[j])) != 0);
    }
    for (i = 0; i < 4; ++i) {
        CHECK(strcmp(danesmtp_domain_status_name(statuses[i]), "invalid") != 0);
        CHECK(strcmp(danesmtp_host_verdict_name(verdicts[i]), "invalid") != 0);
        for (j = 0; j < i; ++j) {
            CHECK(strcmp(danesmtp_domain_status_name(statuses[i]),
                         danesmtp_domain_status_name(statuses[j])) != 0);
            CHECK(strcmp(danesmtp_host_verdict_name(verdicts[i]),
                         danesmtp_host_verdict_name(verdicts[j])) != 0);
        }
    }
    CHECK(strcmp(danesmtp_domain_status_name(99), "invalid") == 0);
    CHECK(strcmp(danesmtp_host_verdict_name(0), "invalid") == 0);
    CHECK(strcmp(danesmtp_strerror(-99), "unknown status code") == 0);
    CHECK(strcmp(danesmtp_strerror(42), "unknown status code") == 0);
    CHECK(strcmp(danesmtp_verdict_name(DANESMTP_AUTHENTICATED), "authenticated") == 0);
    CHECK(strcmp(danesmtp_verdict_name(DANESMTP_NOT_AUTHENTICATED), "not authenticated") == 0);
    CHECK(strcmp(danesmtp_verdict_name(DANESMTP_NO_USABLE_RECORDS), "no usable records") == 0);
    CHECK(strcmp(danesmtp_verdict_name(0), "invalid") == 0);
}

static void test_options(void) {
    danesmtp_options opts = DANESMTP_OPTIONS_INIT;
    danesmtp_options filled;
    danesmtp_ctx *ctx = NULL;
    CHECK(opts.version == DANESMTP_OPTIONS_VERSION);
    CHECK(danesmtp_options_init(NULL, DANESMTP_OPTIONS_VERSION) == DANESMTP_E_INVALID);
    CHECK(danesmtp_options_init(&filled, 0) == DANESMTP_E_VERSION);
    CHECK(danesmtp_options_init(&filled, DANESMTP_OPTIONS_VERSION + 1) == DANESMTP_E_VERSION);
    CHECK(danesmtp_options_init(&filled, DANESMTP_OPTIONS_VERSION) == DANESMTP_OK);
    CHECK(filled.version == DANESMTP_OPTIONS_VERSION);
    CHECK(filled.digest_preference == DANESMTP_DIGESTS_SHA512_FIRST);

    CHECK(danesmtp_ctx_new(NULL, NULL) == DANESMTP_E_INVALID);
    CHECK(danesmtp_ctx_new(&ctx, NULL) == DANESMTP_OK && ctx != NULL);
    danesmtp_ctx_free(ctx);
    ctx = NULL;
    CHECK(danesmtp_ctx_new(&ctx, &opts) == DANESMTP_OK && ctx != NULL);
    danesmtp_ctx_free(ctx);

    opts.version = DANESMTP_OPTIONS_VERSION + 1; /* from a newer header */
    ctx = (danesmtp_ctx *)&opts;                 /* must be reset to NULL on failure */
    CHECK(danesmtp_ctx_new(&ctx, &opts) == DANESMTP_E_VERSION);
    CHECK(ctx == NULL);
    CHECK(strstr(danesmtp_last_error(), "version") != NULL);
    opts.version = 0;
    CHECK(danesmtp_ctx_new(&ctx, &opts) == DANESMTP_E_INVALID && ctx == NULL);
    opts.version = DANESMTP_OPTIONS_VERSION;
    opts.digest_preference = 7;
    CHECK(danesmtp_ctx_new(&ctx, &opts) == DANESMTP_E_INVALID && ctx == NULL);

    /* Configuration text: parsed when the context is made, errors with the line. */
    opts.digest_preference = DANESMTP_DIGESTS_SHA512_FIRST;
    opts.config_text = "timeout = 2500\ninsecure-mx = encrypt\n";
    CHECK(danesmtp_ctx_new(&ctx, &opts) == DANESMTP_OK && ctx != NULL);
    danesmtp_ctx_free(ctx);
    ctx = NULL;
    /* digest_preference survives a configuration that does not mention it. */
    {
        danesmtp_ctx *c2 = NULL;
        danesmtp_tlsa *set = NULL;
        danesmtp_chain *chain = NULL;
        danesmtp_result *res = NULL;
        size_t len = 0;
        unsigned char *der = read_file("ee-ec.der", &len);
        char *good = NULL;
        char wrong512[6 + 128 + 1];
        memset(wrong512, '0', sizeof wrong512 - 1);
        memcpy(wrong512, "3 1 2 ", 6);
        wrong512[sizeof wrong512 - 1] = '\0';
        opts.digest_preference = DANESMTP_DIGESTS_SHA256_FIRST;
        CHECK(danesmtp_ctx_new(&c2, &opts) == DANESMTP_OK);
        CHECK(danesmtp_tlsa_new(&set) == DANESMTP_OK && danesmtp_chain_new(&chain) == DANESMTP_OK);
        CHECK(danesmtp_tlsa_make(der, len, 3, 1, 1, -1, &good) == DANESMTP_OK);
        CHECK(good && danesmtp_tlsa_add_text(set, good) == DANESMTP_OK);
        CHECK(danesmtp_tlsa_add_text(set, wrong512) == DANESMTP_OK);
        CHECK(danesmtp_chain_add_der(chain, der, len) == DANESMTP_OK);
        CHECK(danesmtp_verify(c2, set, chain, NULL, 0, DANESMTP_TIME_NOW, &res) == DANESMTP_OK);
        CHECK(danesmtp_result_verdict(res) == DANESMTP_AUTHENTICATED); /* SHA2-256 preferred */
        danesmtp_result_free(res);
        danesmtp_ctx_free(c2);
        opts.digest_preference = DANESMTP_DIGESTS_SHA512_FIRST;
        c2 = NULL;
        CHECK(danesmtp_ctx_new(&c2, &opts) == DANESMTP_OK);
        res = NULL;
        CHECK(danesmtp_verify(c2, set, chain, NULL, 0, DANESMTP_TIME_NOW, &res) == DANESMTP_OK);
        CHECK(danesmtp_result_verdict(res) == DANESMTP_NOT_AUTHENTICATED); /* SHA2-512 wins */
        danesmtp_result_free(res);
        danesmtp_ctx_free(c2);
        danesmtp_free(good);
        danesmtp_chain_free(chain);
        danesmtp_tlsa_free(set);
        free(der);
    }
    opts.config_text = "timeout = 2500\nfrobnicate = yes\n";
    CHECK(danesmtp_ctx_new(&ctx, &opts) == DANESMTP_E_PARSE && ctx == NULL);
    CHECK(strstr(danesmtp_last_error(), "config_text:2") != NULL);
    opts.config_text = NULL;
    opts.config_file = "/nonexistent/danesmtp.conf";
    CHECK(danesmtp_ctx_new(&ctx, &opts) == DANESMTP_E_INVALID && ctx == NULL);
    CHECK(strstr(danesmtp_last_error(), "/nonexistent/danesmtp.conf") != NULL);
    opts.config_file = NULL;

    danesmtp_ctx_free(NULL); /* NULL is fine for every free */
    danesmtp_tlsa_free(NULL);
    danesmtp_chain_free(NULL);
    danesmtp_result_free(NULL);
    danesmtp_free(NULL);
}

static void test_null_arguments(void) {
    danesmtp_tlsa *set = NULL;
    danesmtp_chain *chain = NULL;
    danesmtp_result *res = NULL;
    danesmtp_ctx *ctx = NULL;
    danesmtp_tlsa_record rec;
    unsigned char byte = 0;
    char buf[8];
    char *text = NULL;

    CHECK(danesmtp_tlsa_new(NULL) == DANESMTP_E_INVALID);
    CHECK(danesmtp_chain_new(NULL) == DANESMTP_E_INVALID);
    CHECK(danesmtp_tlsa_add(NULL, 3, 1, 1, &byte, 1) == DANESMTP_E_INVALID);
    CHECK(danesmtp_tlsa_add_text(NULL, "3 1 1 00") == DANESMTP_E_INVALID);
    CHECK(danesmtp_tlsa_add_rdata(NULL, &byte, 1) == DANESMTP_E_INVALID);
    CHECK(danesmtp_tlsa_count(NULL) == 0);
    CHECK(danesmtp_tlsa_get(NULL, 0, &rec) == DANESMTP_E_INVALID);
    CHECK(danesmtp_chain_add_der(NULL, &byte, 1) == DANESMTP_E_INVALID);
    CHECK(danesmtp_chain_add_pem(NULL, "x", 1) == DANESMTP_E_INVALID);
    CHECK(danesmtp_chain_clear(NULL) == DANESMTP_E_INVALID);
    CHECK(danesmtp_chain_count(NULL) == 0);
    CHECK(danesmtp_verify(NULL, NULL, NULL, NULL, 0, 0, &res) == DANESMTP_E_INVALID);
    CHECK(res == NULL);
    CHECK(danesmtp_result_verdict(NULL) == 0);
    CHECK(danesmtp_result_reason(NULL) != NULL);
    CHECK(danesmtp_result_depth(NULL) == -1);
    CHECK(danesmtp_result_name(NULL) == NULL);
    CHECK(danesmtp_result_record(NULL, &rec) == DANESMTP_E_INVALID);
    CHECK(danesmtp_tlsa_make(NULL, 0, 3, 1, 1, -1, &text) == DANESMTP_E_INVALID);
    CHECK(text == NULL);
    CHECK(danesmtp_name_normalize(NULL, buf, sizeof buf) == DANESMTP_E_INVALID);

    /* Discovery: NULLs and accessors of a NULL plan or host. */
    {
        danesmtp_plan *plan = (danesmtp_plan *)&byte;
        CHECK(danesmtp_lookup_domain(NULL, "example.net", 25, &plan) == DANESMTP_E_INVALID);
        CHECK(plan == NULL);
        CHECK(danesmtp_lookup_host(NULL, "mx.example.net", 25, NULL) == DANESMTP_E_INVALID);
        CHECK(danesmtp_selftest(NULL) == DANESMTP_E_INVALID);
        CHECK(danesmtp_plan_status(NULL) == DANESMTP_DOMAIN_DEFER);
        CHECK(danesmtp_plan_host_count(NULL) == 0);
        CHECK(danesmtp_plan_host(NULL, 0) == NULL);
        CHECK(danesmtp_plan_mx_secure(NULL) == 0);
        CHECK(danesmtp_host_verdict(NULL) == DANESMTP_HOST_UNREACHABLE);
        CHECK(danesmtp_host_address(NULL, 0) == NULL);
        CHECK(danesmtp_host_name_count(NULL) == 0);
        CHECK(danesmtp_host_tlsa(NULL) == NULL);
        danesmtp_plan_free(NULL);
    }

    CHECK(danesmtp_tlsa_new(&set) == DANESMTP_OK);
    CHECK(danesmtp_chain_new(&chain) == DANESMTP_OK);
    CHECK(danesmtp_ctx_new(&ctx, NULL) == DANESMTP_OK);
    CHECK(danesmtp_tlsa_add_text(set, NULL) == DANESMTP_E_INVALID);
    CHECK(danesmtp_tlsa_add(set, 3, 1, 1, NULL, 5) == DANESMTP_E_INVALID);
    CHECK(danesmtp_tlsa_add_rdata(set, NULL, 4) == DANESMTP_E_INVALID);
    CHECK(danesmtp_chain_add_der(chain, NULL, 5) == DANESMTP_E_INVALID);
    CHECK(danesmtp_chain_add_pem(chain, NULL, 5) == DANESMTP_E_INVALID);
    /* An empty chain cannot be verified. */
    CHECK(danesmtp_verify(ctx, set, chain, NULL, 0, DANESMTP_TIME_NOW, &res) == DANESMTP_E_INVALID);
    CHECK(strstr(danesmtp_last_error(), "empty") != NULL);
    {
        /* With a chain: a NULL out pointer and NULL names with a count are
         * refused for themselves, not because of the chain. */
        size_t len = 0;
        unsigned char *der = read_file("ee-ec.der", &len);
        CHECK(danesmtp_chain_add_der(chain, der, len) == DANESMTP_OK);
        CHECK(danesmtp_verify(ctx, set, chain, NULL, 0, DANESMTP_TIME_NOW, NULL) == DANESMTP_E_INVALID);
        CHECK(strstr(danesmtp_last_error(), "NULL argument") != NULL);
        CHECK(danesmtp_verify(ctx, set, chain, NULL, 2, DANESMTP_TIME_NOW, &res) == DANESMTP_E_INVALID);
        CHECK(strstr(danesmtp_last_error(), "names is NULL") != NULL);
        CHECK(res == NULL);
        free(der);
    }
    danesmtp_ctx_free(ctx);
    danesmtp_chain_free(chain);
    danesmtp_tlsa_free(set);
}

static void test_records(void) {
    danesmtp_tlsa *set = NULL;
    danesmtp_tlsa_record rec;
    unsigned char digest[32];
    unsigned char rdata[4] = {3, 1, 1, 0xab};
    memset(digest, 0x11, sizeof digest);
    CHECK(danesmtp_tlsa_new(&set) == DANESMTP_OK);
    CHECK(danesmtp_tlsa_add(set, 3, 1, 1, digest, sizeof digest) == DANESMTP_OK);
    CHECK(danesmtp_tlsa_add_text(set, "_25._tcp.mx.example. IN TLSA 0 0 1 ( 1111 )") == DANESMTP_OK);
    CHECK(danesmtp_tlsa_add_rdata(set, rdata, sizeof rdata) == DANESMTP_OK);
    CHECK(danesmtp_tlsa_add_text(set, "3 1 1 xyz") == DANESMTP_E_PARSE);
    CHECK(strstr(danesmtp_last_error(), "hex") != NULL);
    CHECK(danesmtp_tlsa_add_text(set, "3 1 1 abc") == DANESMTP_E_PARSE);
    CHECK(strstr(danesmtp_last_error(), "odd") != NULL);
    CHECK(danesmtp_tlsa_add_rdata(set, rdata, 2) == DANESMTP_E_PARSE);
    CHECK(danesmtp_tlsa_count(set) == 3);

    CHECK(danesmtp_tlsa_get(set, 0, &rec) == DANESMTP_OK);
    CHECK(rec.usage == 3 && rec.selector == 1 && rec.mtype == 1 && rec.data_len == 32);
    CHECK(rec.unusable_reason == NULL);
    CHECK(danesmtp_tlsa_get(set, 1, &rec) == DANESMTP_OK);
    CHECK(rec.usage == 0 && rec.unusable_reason != NULL);
    CHECK(rec.unusable_reason && strstr(rec.unusable_reason, "PKIX-TA") != NULL);
    CHECK(danesmtp_tlsa_get(set, 2, &rec) == DANESMTP_OK);
    CHECK(rec.unusable_reason && strstr(rec.unusable_reason, "must be 32") != NULL);
    CHECK(danesmtp_tlsa_get(set, 3, &rec) == DANESMTP_E_INVALID);
    danesmtp_tlsa_free(set);
}

static void test_names(void) {
    char out[DANESMTP_MAX_NAME + 1];
    char small[4];
    char longname[300];
    CHECK(danesmtp_name_normalize("MX.Example.NET.", out, sizeof out) == DANESMTP_OK);
    CHECK(strcmp(out, "mx.example.net") == 0);
    CHECK(danesmtp_name_normalize("", out, sizeof out) == DANESMTP_E_PARSE);
    CHECK(danesmtp_name_normalize("b\xc3\xbc" "cher.example", out, sizeof out) == DANESMTP_E_PARSE);
    CHECK(danesmtp_name_normalize("mx.example.net", small, sizeof small) == DANESMTP_E_INVALID);
    memset(longname, 'a', sizeof longname);
    longname[100] = '.';
    longname[200] = '.';
    longname[299] = '\0';
    CHECK(danesmtp_name_normalize(longname, out, sizeof out) == DANESMTP_E_LIMIT);
}

static void test_verify(void) {
    danesmtp_ctx *ctx = NULL;
    danesmtp_tlsa *set = NULL;
    danesmtp_chain *chain = NULL;
    danesmtp_result *res = NULL;
    danesmtp_tlsa_record rec;
    const char *names[] = {"mx.example.net", "example.net"};
    const char *bad_names[] = {"mx..example.net"};
    size_t pem_len = 0, key_len = 0, int_len = 0;
    unsigned char *pem = read_file("leaf-san.full.pem", &pem_len);
    unsigned char *key = read_file("leaf-san.key", &key_len);
    unsigned char *intder = read_file("int.der", &int_len);
    char *text = NULL;
    char *leaf_text = NULL;
    int i;

    CHECK(danesmtp_ctx_new(&ctx, NULL) == DANESMTP_OK);
    CHECK(danesmtp_tlsa_new(&set) == DANESMTP_OK);
    CHECK(danesmtp_chain_new(&chain) == DANESMTP_OK);

    /* The record for the intermediate (depth 1 of the full chain). */
    CHECK(danesmtp_tlsa_make(pem, pem_len, 2, 1, 1, 1, &text) == DANESMTP_OK);
    CHECK(text != NULL && strncmp(text, "2 1 1 ", 6) == 0 && strlen(text) == 6 + 64);
    CHECK(danesmtp_tlsa_add_text(set, text) == DANESMTP_OK);
    /* The same record from the intermediate alone. */
    CHECK(danesmtp_tlsa_make(intder, int_len, 2, 1, 1, -1, &leaf_text) == DANESMTP_OK);
    CHECK(text && leaf_text && strcmp(text, leaf_text) == 0);
    danesmtp_free(text);
    danesmtp_free(leaf_text);
    text = NULL;
    leaf_text = NULL;

    /* Refusals: a key with selector 0, a depth beyond the chain, DANE-TA on the leaf. */
    CHECK(danesmtp_tlsa_make(key, key_len, 3, 0, 1, -1, &text) == DANESMTP_E_INVALID);
    CHECK(danesmtp_tlsa_make(pem, pem_len, 2, 1, 1, 3, &text) == DANESMTP_E_INVALID);
    CHECK(danesmtp_tlsa_make(pem, pem_len, 2, 1, 1, 0, &text) == DANESMTP_E_INVALID);
    CHECK(danesmtp_tlsa_make((const unsigned char *)"junk", 4, 3, 1, 1, -1, &text) != DANESMTP_OK);
    CHECK(text == NULL);
    /* A private key gives the same 3 1 1 as the leaf certificate. */
    CHECK(danesmtp_tlsa_make(key, key_len, 3, 1, 1, -1, &text) == DANESMTP_OK);
    CHECK(danesmtp_tlsa_make(pem, pem_len, 3, 1, 1, -1, &leaf_text) == DANESMTP_OK);
    CHECK(text && leaf_text && strcmp(text, leaf_text) == 0);
    danesmtp_free(text);
    danesmtp_free(leaf_text);

    CHECK(danesmtp_chain_add_pem(chain, (const char *)pem, pem_len) == DANESMTP_OK);
    CHECK(danesmtp_chain_count(chain) == 3);
    CHECK(danesmtp_verify(ctx, set, chain, names, 2, 1800000000, &res) == DANESMTP_OK);
    CHECK(danesmtp_result_verdict(res) == DANESMTP_AUTHENTICATED);
    CHECK(danesmtp_result_depth(res) == 1);
    CHECK(danesmtp_result_name(res) && strcmp(danesmtp_result_name(res), "mx.example.net") == 0);
    CHECK(danesmtp_result_presented_name(res) != NULL);
    CHECK(danesmtp_result_record(res, &rec) == DANESMTP_OK);
    CHECK(rec.usage == 2 && rec.selector == 1 && rec.mtype == 1 && rec.unusable_reason == NULL);
    danesmtp_result_free(res);
    res = NULL;

    /* Wrong name: a verdict, not an error. */
    CHECK(danesmtp_verify(ctx, set, chain, names + 1, 1, 1800000000, &res) == DANESMTP_OK);
    CHECK(danesmtp_result_verdict(res) == DANESMTP_NOT_AUTHENTICATED);
    CHECK(danesmtp_result_depth(res) == -1);
    CHECK(danesmtp_result_record(res, &rec) == DANESMTP_E_INVALID);
    CHECK(strstr(danesmtp_result_reason(res), "example.net") != NULL);
    danesmtp_result_free(res);
    res = NULL;

    /* A malformed reference identifier is an error, not a verdict. */
    CHECK(danesmtp_verify(ctx, set, chain, bad_names, 1, 1800000000, &res) == DANESMTP_E_PARSE);
    CHECK(res == NULL);

    /* Objects made before fork() work in the child (the header's fork rule).
     * The child reports its verdict through a pipe, not its exit status, so
     * that a leak checker's exit code in the child cannot blur the answer. */
    {
        int fds[2];
        pid_t pid;
        char got = 0;
        CHECK(pipe(fds) == 0);
        pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            danesmtp_result *child = NULL;
            char verdict = 'e';
            if (danesmtp_verify(ctx, set, chain, names, 2, 1800000000, &child) == DANESMTP_OK)
                verdict = (char)('0' + danesmtp_result_verdict(child));
            danesmtp_result_free(child);
            if (write(fds[1], &verdict, 1) != 1) _exit(3);
            _exit(0);
        }
        close(fds[1]);
        CHECK(read(fds[0], &got, 1) == 1);
        CHECK(got == '0' + DANESMTP_AUTHENTICATED);
        close(fds[0]);
        CHECK(waitpid(pid, NULL, 0) == pid);
    }

    /* Clear and reuse the chain for another handshake: only the intermediate
     * now, which DANE-TA never accepts as a leaf of its own. */
    CHECK(danesmtp_chain_clear(chain) == DANESMTP_OK && danesmtp_chain_count(chain) == 0);
    CHECK(danesmtp_chain_add_pem(chain, (const char *)pem, 900) != DANESMTP_OK); /* cut */
    CHECK(danesmtp_chain_count(chain) == 0); /* all or nothing */
    CHECK(danesmtp_chain_add_pem(chain, "junk", 4) == DANESMTP_E_PARSE);
    CHECK(danesmtp_chain_add_der(chain, (const unsigned char *)"\x30\x03\x02\x01", 4) == DANESMTP_E_PARSE);
    CHECK(danesmtp_chain_add_der(chain, intder, int_len) == DANESMTP_OK);
    CHECK(danesmtp_verify(ctx, set, chain, names, 2, DANESMTP_TIME_NOW, &res) == DANESMTP_OK);
    CHECK(danesmtp_result_verdict(res) == DANESMTP_NOT_AUTHENTICATED);
    danesmtp_result_free(res);
    res = NULL;

    /* The chain limit. */
    for (i = 1; i < DANESMTP_MAX_CHAIN; ++i)
        CHECK(danesmtp_chain_add_der(chain, intder, int_len) == DANESMTP_OK);
    CHECK(danesmtp_chain_add_der(chain, intder, int_len) == DANESMTP_E_LIMIT);
    CHECK(danesmtp_chain_count(chain) == DANESMTP_MAX_CHAIN);

    danesmtp_chain_free(chain);
    danesmtp_tlsa_free(set);
    danesmtp_ctx_free(ctx);
    free(pem);
    free(key);
    free(intder);
}

/* danesmtp_rollover_run (1.3): every argument error is refused before any
 * DNS is asked; accessors of NULL are harmless. */
static void test_rollover_arguments(void) {
    danesmtp_ctx *ctx = NULL;
    danesmtp_rollover *r = (danesmtp_rollover *)&ctx;
    danesmtp_rollover_options o = DANESMTP_ROLLOVER_OPTIONS_INIT;
    const unsigned char pem[] = "-----BEGIN CERTIFICATE-----\n";
    CHECK(danesmtp_ctx_new(&ctx, NULL) == DANESMTP_OK);
    CHECK(danesmtp_rollover_run(NULL, "mx.example.net", &o, &r) == DANESMTP_E_INVALID);
    CHECK(r == NULL);
    CHECK(danesmtp_rollover_run(ctx, NULL, &o, &r) == DANESMTP_E_INVALID);
    CHECK(danesmtp_rollover_run(ctx, "mx.example.net", NULL, &r) == DANESMTP_E_INVALID);
    CHECK(danesmtp_rollover_run(ctx, "mx.example.net", &o, NULL) == DANESMTP_E_INVALID);
    /* PLAN needs CURRENT and NEXT. */
    CHECK(danesmtp_rollover_run(ctx, "mx.example.net", &o, &r) == DANESMTP_E_INVALID);
    CHECK(strstr(danesmtp_last_error(), "needs CURRENT") != NULL);
    o.version = 99;
    CHECK(danesmtp_rollover_run(ctx, "mx.example.net", &o, &r) == DANESMTP_E_INVALID);
    CHECK(strstr(danesmtp_last_error(), "version") != NULL);
    o.version = DANESMTP_ROLLOVER_OPTIONS_VERSION;
    o.action = 7;
    CHECK(danesmtp_rollover_run(ctx, "mx.example.net", &o, &r) == DANESMTP_E_INVALID);
    o.action = DANESMTP_ROLLOVER_ADD;
    o.next = pem;
    o.next_len = sizeof pem - 1;
    /* An update needs a TSIG key, unless it is a dry run. */
    CHECK(danesmtp_rollover_run(ctx, "mx.example.net", &o, &r) == DANESMTP_E_INVALID);
    CHECK(strstr(danesmtp_last_error(), "TSIG") != NULL);
    o.next = NULL;
    CHECK(danesmtp_rollover_run(ctx, "mx.example.net", &o, &r) == DANESMTP_E_INVALID);
    o.next = pem;
    o.port = 70000;
    CHECK(danesmtp_rollover_run(ctx, "mx.example.net", &o, &r) == DANESMTP_E_INVALID);
    CHECK(r == NULL);
    CHECK(danesmtp_rollover_status(NULL) == DANESMTP_E_INVALID);
    CHECK(danesmtp_rollover_wait(NULL) == 0);
    CHECK(danesmtp_rollover_render(NULL, DANESMTP_ROLLOVER_TEXT) == NULL);
    CHECK(danesmtp_rollover_finding_count(NULL) == 0);
    CHECK(danesmtp_rollover_finding_code(NULL, 0) == NULL);
    danesmtp_rollover_free(NULL);
    danesmtp_ctx_free(ctx);
}

int main(void) {
    test_versions_and_strings();
    test_options();
    test_null_arguments();
    test_records();
    test_names();
    test_verify();
    test_rollover_arguments();
    printf("capi_test: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
