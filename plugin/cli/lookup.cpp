// SPDX-License-Identifier: MIT
// lookup.cpp - `danesmtp lookup`: the pre-connect decision, as the MTA makes it.
#include "common.hpp"

#include <iostream>
#include <string>
#include <vector>

namespace cli {

namespace {

std::string host_json(const danesmtp_host* h) {
    std::vector<std::string> addrs, names, records;
    for (std::size_t i = 0; i < danesmtp_host_address_count(h); ++i) addrs.push_back(danesmtp_host_address(h, i));
    for (std::size_t i = 0; i < danesmtp_host_name_count(h); ++i) names.push_back(danesmtp_host_names(h)[i]);
    const danesmtp_tlsa* t = danesmtp_host_tlsa(h);
    std::string recs = "[";
    for (std::size_t i = 0; i < danesmtp_tlsa_count(t); ++i) {
        danesmtp_tlsa_record r{};
        danesmtp_tlsa_get(t, i, &r);
        recs += std::string(i ? "," : "") + "{\"record\":" + json_string(record_text(r).c_str()) +
                ",\"unusable\":" + json_string(r.unusable_reason) + "}";
    }
    recs += "]";
    return std::string("{\"name\":") + json_string(danesmtp_host_name(h)) +
           ",\"preference\":" + std::to_string(danesmtp_host_preference(h)) +
           ",\"verdict\":" + json_string(danesmtp_host_verdict_name(danesmtp_host_verdict(h))) +
           ",\"reason\":" + json_string(danesmtp_host_reason(h)) +
           ",\"addresses\":" + json_list(addrs) +
           ",\"tlsa_base\":" + json_string(danesmtp_host_tlsa_base(h)) +
           ",\"sni\":" + json_string(danesmtp_host_sni(h)) +
           ",\"names\":" + json_list(names) +
           ",\"verified_possible\":" + (danesmtp_host_verified_possible(h) ? "true" : "false") +
           ",\"tlsa\":" + recs + "}";
}

}  // namespace

// lookup answers as the MTA would: from the answer cache when one is
// configured (--no-cache: from DNS now), and says so on its last line.
int cmd_lookup(int argc, char** argv) {
    Args a = parse_args(argc, argv, 2, kResolverOptions,
                        {"--json", "--audit-only", "--no-root-anchor", "--no-cache"});
    Target t = target_of(a);
    CtxPtr ctx = make_ctx(a, has_flag(a, "--no-cache"));
    int cache = danesmtp_cache_status(ctx.get());
    std::string cache_line = cache == DANESMTP_CACHE_IN_USE   ? std::string("answer cache: ") + danesmtp_last_error()
                             : cache == DANESMTP_CACHE_UNUSABLE ? std::string("answer cache not used: ") + danesmtp_last_error()
                                                                : std::string();
    PlanPtr plan = plan_of(ctx.get(), t);
    int status = danesmtp_plan_status(plan.get());
    if (has_flag(a, "--json")) {
        std::cout << "{\"domain\":" << json_string(danesmtp_plan_domain(plan.get()))
                  << ",\"port\":" << t.port
                  << ",\"status\":" << json_string(danesmtp_domain_status_name(status))
                  << ",\"reason\":" << json_string(danesmtp_plan_reason(plan.get()))
                  << ",\"mx_secure\":" << (danesmtp_plan_mx_secure(plan.get()) ? "true" : "false")
                  << ",\"implicit_mx\":" << (danesmtp_plan_implicit_mx(plan.get()) ? "true" : "false")
                  << ",\"cache\":" << json_string(cache_line.c_str())
                  << ",\"hosts\":[";
        for (std::size_t i = 0; i < danesmtp_plan_host_count(plan.get()); ++i)
            std::cout << (i ? "," : "") << host_json(danesmtp_plan_host(plan.get(), i));
        std::cout << "]}\n";
        return exit_for_status(status);
    }
    std::cout << danesmtp_plan_domain(plan.get()) << " port " << t.port << ": "
              << danesmtp_domain_status_name(status);
    if (*danesmtp_plan_reason(plan.get())) std::cout << " (" << danesmtp_plan_reason(plan.get()) << ")";
    if (!t.single_host)
        std::cout << "; MX " << (danesmtp_plan_mx_secure(plan.get()) ? "secure" : "not secure")
                  << (danesmtp_plan_implicit_mx(plan.get()) ? " (implicit MX)" : "");
    std::cout << "\n";
    for (std::size_t i = 0; i < danesmtp_plan_host_count(plan.get()); ++i) {
        const danesmtp_host* h = danesmtp_plan_host(plan.get(), i);
        std::cout << "  " << danesmtp_host_preference(h) << " " << danesmtp_host_name(h) << " ["; 
        for (std::size_t k = 0; k < danesmtp_host_address_count(h); ++k)
            std::cout << (k ? " " : "") << danesmtp_host_address(h, k);
        std::cout << "] " << danesmtp_host_verdict_name(danesmtp_host_verdict(h)) << ": "
                  << danesmtp_host_reason(h) << "\n";
        if (*danesmtp_host_tlsa_base(h)) {
            std::cout << "    TLSA base " << danesmtp_host_tlsa_base(h) << ", SNI " << danesmtp_host_sni(h)
                      << ", names";
            for (std::size_t k = 0; k < danesmtp_host_name_count(h); ++k)
                std::cout << " " << danesmtp_host_names(h)[k];
            std::cout << "\n";
            const danesmtp_tlsa* tl = danesmtp_host_tlsa(h);
            for (std::size_t k = 0; k < danesmtp_tlsa_count(tl); ++k) {
                danesmtp_tlsa_record r{};
                danesmtp_tlsa_get(tl, k, &r);
                std::cout << "    " << record_text(r)
                          << (r.unusable_reason ? std::string("  (unusable: ") + r.unusable_reason + ")" : "")
                          << "\n";
            }
        }
    }
    if (!cache_line.empty()) std::cout << cache_line << "\n";
    return exit_for_status(status);
}

}  // namespace cli
