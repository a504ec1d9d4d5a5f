// SPDX-License-Identifier: MIT
// fuzz_config.cpp - /etc/danesmtp.conf and the options text of the C interface
// (core::apply_config_text).
//
// Property: what parses stays within the documented bounds (config.hpp).
#include "core/config.hpp"
#include "fuzz/fuzz_common.hpp"

using namespace danesmtp;

FUZZ_TARGET(config) {
    core::Config c;
    core::apply_config_text(fuzz::whole(data, size).text(), "fuzz", &c);
    const core::ResolverConfig& r = c.resolver;
    fuzz::require(r.timeout_ms >= 100 && r.timeout_ms <= 9999999, "timeout out of bounds");
    fuzz::require(r.parallel >= 1 && r.parallel <= 64, "parallel-lookups out of bounds");
    fuzz::require(r.trust_anchors.size() <= core::kMaxConfigList && r.forwarders.size() <= core::kMaxConfigList &&
                      r.stubs.size() <= core::kMaxConfigList && c.policy.mandatory.size() <= core::kMaxConfigList,
                  "a list key over its bound");
}
