// SPDX-License-Identifier: MIT
// check.cpp - `danesmtp check`: a live probe of every MX host and address.
#include "common.hpp"

#include <iostream>
#include <string>

#include "smtp.hpp"

namespace cli {

// One line per host and address, in the spirit of `posttls-finger -l dane`:
//   Verified   DANE authenticated, MX lookup secure
//   Trusted    DANE authenticated, MX lookup insecure (RFC 7672 section 2.2.1)
//   Untrusted  TLS, not authenticated (fine for "encrypt" and "may" hosts,
//              a failure for "dane" hosts)
//   Cleartext  no TLS (fine only for "may" hosts)
//   Unreachable  not connected, with why
// check is a diagnosis: its answers come from DNS now, never from the
// answer cache (a publisher who just fixed a record must see the fix).
int cmd_check(int argc, char** argv) {
    Args a = parse_args(argc, argv, 2, kResolverOptions, {"--json", "--audit-only", "--no-root-anchor"});
    Target t = target_of(a);
    std::string helo = "danesmtp-check.invalid";
    unsigned timeout_ms = 10000;
    for (const auto& [opt, val] : a.options) {
        if (opt == "--helo") helo = val;
        if (opt == "--timeout") timeout_ms = static_cast<unsigned>(std::stoul(val));
    }
    CtxPtr ctx = make_ctx(a, true);
    PlanPtr plan = plan_of(ctx.get(), t);
    int status = danesmtp_plan_status(plan.get());
    bool json = has_flag(a, "--json");
    std::size_t passed = 0, failed = 0;
    std::string rows;
    auto emit = [&](const danesmtp_host* h, const std::string& addr, const std::string& level,
                    bool pass, const std::string& why, const std::string& tls) {
        (pass ? passed : failed)++;
        if (json) {
            rows += std::string(rows.empty() ? "" : ",") + "{\"host\":" + json_string(danesmtp_host_name(h)) +
                    ",\"address\":" + json_string(addr.c_str()) +
                    ",\"verdict\":" + json_string(danesmtp_host_verdict_name(danesmtp_host_verdict(h))) +
                    ",\"result\":" + json_string(level.c_str()) + ",\"pass\":" + (pass ? "true" : "false") +
                    ",\"tls\":" + json_string(tls.c_str()) + ",\"reason\":" + json_string(why.c_str()) + "}";
        } else {
            std::cout << danesmtp_host_name(h) << "[" << addr << "]:" << t.port << " " << level
                      << (tls.empty() ? "" : " " + tls) << ": " << why << (pass ? "" : "  [FAIL]") << "\n";
        }
    };
    if (!json) {
        std::cout << danesmtp_plan_domain(plan.get()) << ": " << danesmtp_domain_status_name(status);
        if (*danesmtp_plan_reason(plan.get())) std::cout << " (" << danesmtp_plan_reason(plan.get()) << ")";
        std::cout << "\n";
    }
    for (std::size_t i = 0; i < danesmtp_plan_host_count(plan.get()); ++i) {
        const danesmtp_host* h = danesmtp_plan_host(plan.get(), i);
        int verdict = danesmtp_host_verdict(h);
        if (verdict == DANESMTP_HOST_UNREACHABLE || danesmtp_host_address_count(h) == 0) {
            emit(h, "-", "Unreachable", false, danesmtp_host_reason(h), "");
            continue;
        }
        for (std::size_t k = 0; k < danesmtp_host_address_count(h); ++k) {
            std::string addr = danesmtp_host_address(h, k);
            std::string sni = *danesmtp_host_sni(h) ? danesmtp_host_sni(h) : danesmtp_host_name(h);
            cli::Probe p = cli::probe(addr, t.port, sni, helo, timeout_ms);
            bool tls_required = verdict == DANESMTP_HOST_DANE || verdict == DANESMTP_HOST_ENCRYPT;
            if (!p.connected) {
                emit(h, addr, "Unreachable", false, p.error, "");
                continue;
            }
            if (!p.tls) {
                if (tls_required)
                    emit(h, addr, "Untrusted", false,
                         p.error + ": TLS is required for this host (RFC 7672 section 2.2); "
                                   "no mail would be sent",
                         "");
                else
                    emit(h, addr, "Cleartext", p.starttls_offered ? false : true,
                         p.error + " (opportunistic TLS: mail would go in clear text)", "");
                continue;
            }
            std::string tls = p.tls_version + " " + p.cipher;
            if (verdict != DANESMTP_HOST_DANE) {
                emit(h, addr, "Untrusted", true,
                     verdict == DANESMTP_HOST_ENCRYPT ? "TLS without authentication: no usable TLSA record"
                                                      : "opportunistic TLS (no DANE for this host)",
                     tls);
                continue;
            }
            danesmtp_chain* chain = nullptr;
            danesmtp_chain_new(&chain);
            int rc = DANESMTP_OK;
            for (const auto& der : p.chain)
                if (rc == DANESMTP_OK)
                    rc = danesmtp_chain_add_der(chain, reinterpret_cast<const unsigned char*>(der.data()),
                                                der.size());
            danesmtp_result* res = nullptr;
            if (rc == DANESMTP_OK && !p.chain.empty())
                rc = danesmtp_verify(ctx.get(), danesmtp_host_tlsa(h), chain, danesmtp_host_names(h),
                                     danesmtp_host_name_count(h), DANESMTP_TIME_NOW, &res);
            if (rc != DANESMTP_OK || p.chain.empty()) {
                emit(h, addr, "Untrusted", false,
                     p.chain.empty() ? std::string("no certificate presented") : lib_error("chain", rc), tls);
            } else if (danesmtp_result_verdict(res) == DANESMTP_AUTHENTICATED) {
                emit(h, addr, danesmtp_host_verified_possible(h) ? "Verified" : "Trusted", true,
                     danesmtp_result_reason(res), tls);
            } else {
                emit(h, addr, "Untrusted", false, danesmtp_result_reason(res), tls);
            }
            danesmtp_result_free(res);
            danesmtp_chain_free(chain);
        }
    }
    int code = exit_for_status(status);
    if (code == 0) code = passed == 0 ? kExitDefer : failed ? 1 : 0;
    if (json)
        std::cout << "{\"domain\":" << json_string(danesmtp_plan_domain(plan.get()))
                  << ",\"status\":" << json_string(danesmtp_domain_status_name(status))
                  << ",\"reason\":" << json_string(danesmtp_plan_reason(plan.get()))
                  << ",\"exit\":" << code << ",\"results\":[" << rows << "]}\n";
    return code;
}

}  // namespace cli
