/* SPDX-License-Identifier: MIT */
/* plan_hosts.h - reading the plan that danesmtp_exim_route writes to Exim's
 * address_data ("key=value ..." pairs, values quoted when they hold white
 * space or quotes), and the tcp:connect rule: a host address Exim connects
 * to must be one of the plan's addresses.
 *
 * One definition for both places that decide it: the library's
 * danesmtp_exim_connect (plugin/exim/exim.cpp) and the service client
 * (plugin/exim/client.c), which decides it without asking danesmtpd
 * (issue 11). C, header-only, no allocation but one buffer for the list. */
#ifndef DANESMTP_PLAN_HOSTS_H
#define DANESMTP_PLAN_HOSTS_H

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One pair: the key's bytes, and the value's bytes as written (a quoted
 * value without its quotes, backslash escapes still in). */
struct danesmtp_pair {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
    int quoted;
};

/* danesmtp_pair_next - the next pair of the plan at *s, which it moves past
 * it; 0 at the end. A key runs to the next '='; a value is quoted ("...",
 * a backslash takes the next byte as it is) or runs to white space. As
 * Exim's ${extract}, the reader takes the first pair of a key. */
static inline int danesmtp_pair_next(const char **s, struct danesmtp_pair *p) {
    const char *c = *s;
    while (*c == ' ' || *c == '\t' || *c == '\n') ++c;
    const char *eq = strchr(c, '=');
    if (!*c || !eq) {
        *s = c + strlen(c);
        return 0;
    }
    p->key = c;
    p->key_len = (size_t)(eq - c);
    c = eq + 1;
    if (*c == '"') {
        p->quoted = 1;
        p->value = ++c;
        while (*c && *c != '"') {
            if (*c == '\\' && c[1]) ++c;
            ++c;
        }
        p->value_len = (size_t)(c - p->value);
        if (*c == '"') ++c;
    } else {
        p->quoted = 0;
        p->value = c;
        while (*c && *c != ' ' && *c != '\t' && *c != '\n') ++c;
        p->value_len = (size_t)(c - p->value);
    }
    *s = c;
    return 1;
}

/* danesmtp_pair_is - the pair's key is KEY, compared as Exim does (case
 * does not matter). */
static inline int danesmtp_pair_is(const struct danesmtp_pair *p, const char *key) {
    size_t n = strlen(key);
    if (p->key_len != n) return 0;
    for (size_t i = 0; i < n; ++i)
        if (tolower((unsigned char)p->key[i]) != tolower((unsigned char)key[i])) return 0;
    return 1;
}

/* danesmtp_pair_value - the value with its escapes undone, into OUT (at
 * least value_len + 1 bytes); its length. */
static inline size_t danesmtp_pair_value(const struct danesmtp_pair *p, char *out) {
    size_t n = 0;
    for (size_t i = 0; i < p->value_len; ++i) {
        if (p->quoted && p->value[i] == '\\' && i + 1 < p->value_len) ++i;
        out[n++] = p->value[i];
    }
    out[n] = '\0';
    return n;
}

/* danesmtp_plan_has_host - 1 when ADDRESS is one of the addresses of the
 * plan's "hosts" list ("<;a;b"), 0 when not (or the address is empty),
 * -1 when out of memory. This is the whole tcp:connect rule. */
static inline int danesmtp_plan_has_host(const char *plan, const char *address) {
    struct danesmtp_pair p;
    const char *s = plan;
    size_t alen = strlen(address);
    if (alen == 0) return 0;
    while (danesmtp_pair_next(&s, &p)) {
        if (!danesmtp_pair_is(&p, "hosts")) continue;
        char *list = (char *)malloc(p.value_len + 1);
        if (!list) return -1;
        size_t n = danesmtp_pair_value(&p, list);
        const char *at = list, *end = list + n;
        if (n >= 2 && list[0] == '<' && list[1] == ';') at += 2;
        int found = 0;
        while (at < end && !found) {
            const char *semi = (const char *)memchr(at, ';', (size_t)(end - at));
            const char *stop = semi ? semi : end;
            found = (size_t)(stop - at) == alen && memcmp(at, address, alen) == 0;
            at = stop + 1;
        }
        free(list);
        return found;
    }
    return 0;
}

/* danesmtp_connect_rule - the tcp:connect decision for ADDRESS under PLAN:
 * 1 to accept; 0 to refuse, with the reason in WHY; -1 when out of memory. */
static inline int danesmtp_connect_rule(const char *plan, const char *address, char *why, size_t whylen) {
    if (!*address) {
        snprintf(why, whylen, "danesmtp: empty host address");
        return 0;
    }
    int r = danesmtp_plan_has_host(plan, address);
    if (r == 0) snprintf(why, whylen, "danesmtp: %s is not in the DANE plan for this destination", address);
    return r;
}

#endif /* DANESMTP_PLAN_HOSTS_H */
