/* SPDX-License-Identifier: MIT */
/*
 * danesmtp_exim.h - Exim ${dlfunc} entry points of libdanesmtp.so.1.
 *
 * Exim calls these by name from its configuration (exim-config/), with the
 * signature of exim_dlfunc_t in Exim's local_scan.h:
 *     int fn(uschar **yield, int argc, uschar *argv[]);
 * They return 0 (OK) with *yield set to the result. The router function
 * returns 2 (FAIL: the expansion fails quietly, the router defers) when DNS
 * cannot decide or the domain is not a host name, and 3 (ERROR: the
 * expansion fails and Exim logs a configuration error) for wrong arguments
 * or an unreadable configuration. The library has no link-time dependency
 * on Exim: Exim's log_write() is found at run time.
 *
 * Exim fails open on expansion failures in events (exim-config/README.md),
 * so the event functions (connect, tls_cert) never fail: a refusal is OK
 * with a non-empty result, an acceptance is OK with an empty one.
 *
 *   danesmtp_exim_route{DOMAIN}{PORT}{CONFIG}[{MODE}]  router: the
 *       destination's policy for address_data, as key=value pairs for ${extract}:
 *         status     ok (any other state fails the expansion: the router defers)
 *         domain     DOMAIN as given (quoted), since 1.4
 *         reason     why (quoted)
 *         hosts      the addresses to try, in order ("<;a;b", for route_data)
 *         require_tls  addresses where TLS is mandatory (dane and encrypt)
 *         host@ADDR  N, the entry of the MX host that address belongs to
 *         sni.N      the SNI name for the addresses of host N
 *       plus per-host keys the event functions read (name.N, verdict.N,
 *       verified.N, and for DANE hosts names.N, tlsa.N, base.N), written
 *       once per host, never per address. The whole is at most 256 KiB
 *       and 50 addresses: less preferred hosts past that are left out, with
 *       a log line.
 *       PORT defaults to 25, CONFIG to /etc/danesmtp.conf when it exists.
 *       With audit-only, a destination that would defer while its hosts
 *       have addresses is routed to them instead (logged).
 *       MODE "refuse" (since 1.4), for the first of two routers: a
 *       destination that takes no mail (null MX, no such domain) is then
 *       OK with "status=fail domain=... reason=...", for that router to
 *       bounce; every other state is as without it. Any other MODE is ERROR.
 *   danesmtp_exim_connect{ADDR}{ADDRESS_DATA}     tcp:connect event: "" when
 *       ADDR is in the plan's host list, else a refusal (the host is skipped).
 *       Each call also starts a fresh certificate chain for tls_cert.
 *   danesmtp_exim_tls_cert{DEPTH}{CERT_BASE64}{ADDR}{ADDRESS_DATA}  tls:cert
 *       event: collects the chain from the top down; at depth 0 verifies it
 *       and returns "" (authenticated, or not a DANE host) or a refusal. Logs
 *       one line per verified or failed session in Exim's main log.
 *   danesmtp_exim_delivery{ADDR}{TLS_CIPHER}{ADDRESS_DATA}  msg:delivery
 *       event (since 1.1): logs a delivery in clear text to a host whose
 *       plan required TLS (audit-only lets that happen; it is the downgrade
 *       the audit log exists to show). Always returns "".
 *   danesmtp_exim_check{DOMAIN}{PORT}{CONFIG}     ACL helper: "ok",
 *       "defer REASON" or "fail REASON" (null MX, no such domain), for a
 *       RCPT-time check; ERROR only for wrong arguments.
 */
#ifndef DANESMTP_EXIM_H
#define DANESMTP_EXIM_H

#include "danesmtp.h"

#ifdef __cplusplus
extern "C" {
#endif

DANESMTP_API int danesmtp_exim_route(unsigned char **yield, int argc, unsigned char *argv[]);
DANESMTP_API int danesmtp_exim_connect(unsigned char **yield, int argc, unsigned char *argv[]);
DANESMTP_API int danesmtp_exim_tls_cert(unsigned char **yield, int argc, unsigned char *argv[]);
DANESMTP_API int danesmtp_exim_check(unsigned char **yield, int argc, unsigned char *argv[]);
/* Since 1.1 (symbol version DANESMTP_1.1). */
DANESMTP_API int danesmtp_exim_delivery(unsigned char **yield, int argc, unsigned char *argv[]);

#ifdef __cplusplus
}
#endif

#endif /* DANESMTP_EXIM_H */
