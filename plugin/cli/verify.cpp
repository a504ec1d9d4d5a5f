// SPDX-License-Identifier: MIT
// verify.cpp - `danesmtp verify`: a chain file against TLSA records, offline.
#include "common.hpp"

#include <iostream>
#include <string>

namespace cli {

int cmd_verify(int argc, char** argv) {
    Args a = parse_args(argc, argv, 2, {"--tlsa", "--tlsa-file", "--name", "--time", "--conf"}, {"--json"});
    if (a.operands.size() != 1) throw UsageError{"verify takes exactly one CHAIN.pem"};
    bool json = has_flag(a, "--json");

    danesmtp_tlsa* tlsa = nullptr;
    danesmtp_chain* chain = nullptr;
    danesmtp_result* res = nullptr;
    struct Cleanup {
        danesmtp_tlsa*& t;
        danesmtp_chain*& c;
        danesmtp_result*& r;
        ~Cleanup() {
            danesmtp_result_free(r);
            danesmtp_chain_free(c);
            danesmtp_tlsa_free(t);
        }
    } cleanup{tlsa, chain, res};

    // The configuration (digest-preference) applies to verify too.
    CtxPtr owned = make_ctx(a);
    danesmtp_ctx* ctx = owned.get();
    int rc = danesmtp_tlsa_new(&tlsa);
    if (rc == DANESMTP_OK) rc = danesmtp_chain_new(&chain);
    if (rc != DANESMTP_OK) throw UsageError{lib_error("cannot start", rc)};

    std::vector<std::string> names;
    std::int64_t when = DANESMTP_TIME_NOW;
    for (const auto& [opt, val] : a.options) {
        if (opt == "--tlsa") {
            rc = danesmtp_tlsa_add_text(tlsa, val.c_str());
            if (rc != DANESMTP_OK) throw UsageError{lib_error("--tlsa \"" + val + "\"", rc)};
        } else if (opt == "--tlsa-file") {
            add_tlsa_file(tlsa, val);
        } else if (opt == "--name") {
            if (val.find('\0') != std::string::npos) throw UsageError{"--name contains NUL"};
            char buf[DANESMTP_MAX_NAME + 1];
            rc = danesmtp_name_normalize(val.c_str(), buf, sizeof buf);
            if (rc != DANESMTP_OK) throw UsageError{lib_error("--name '" + val + "'", rc)};
            names.push_back(buf);
        } else if (opt == "--time") {
            when = parse_time(val);
        }  // --conf: read by make_ctx
    }
    if (danesmtp_tlsa_count(tlsa) == 0)
        throw UsageError{"no TLSA records: give --tlsa or --tlsa-file"};

    std::string pem = read_file(a.operands[0]);
    rc = danesmtp_chain_add_pem(chain, pem.data(), pem.size());
    if (rc == DANESMTP_E_PARSE && !pem.empty() && static_cast<unsigned char>(pem[0]) == 0x30 &&
        pem.find("-----BEGIN") == std::string::npos)
        rc = danesmtp_chain_add_der(chain, reinterpret_cast<const unsigned char*>(pem.data()),
                                    pem.size());
    if (rc != DANESMTP_OK) throw UsageError{lib_error(a.operands[0], rc)};

    std::vector<const char*> cnames;
    for (const auto& n : names) cnames.push_back(n.c_str());
    rc = danesmtp_verify(ctx, tlsa, chain, cnames.data(), cnames.size(), when, &res);
    if (rc != DANESMTP_OK) throw UsageError{lib_error("verify", rc)};

    int verdict = danesmtp_result_verdict(res);
    danesmtp_tlsa_record rec{};
    bool matched = danesmtp_result_record(res, &rec) == DANESMTP_OK;
    std::string record = matched ? std::to_string(rec.usage) + " " + std::to_string(rec.selector) +
                                       " " + std::to_string(rec.mtype) + " " +
                                       hex(rec.data, rec.data_len)
                                 : std::string();
    if (json) {
        std::cout << "{\"verdict\":" << json_string(danesmtp_verdict_name(verdict))
                  << ",\"authenticated\":" << (verdict == DANESMTP_AUTHENTICATED ? "true" : "false")
                  << ",\"depth\":" << danesmtp_result_depth(res)
                  << ",\"record\":" << (matched ? json_string(record.c_str()) : "null")
                  << ",\"name\":" << json_string(danesmtp_result_name(res))
                  << ",\"presented_name\":" << json_string(danesmtp_result_presented_name(res))
                  << ",\"reason\":" << json_string(danesmtp_result_reason(res)) << "}\n";
    } else {
        std::cout << danesmtp_verdict_name(verdict) << ": " << danesmtp_result_reason(res) << "\n";
    }
    switch (verdict) {
        case DANESMTP_AUTHENTICATED: return kExitAuthenticated;
        case DANESMTP_NO_USABLE_RECORDS: return kExitNoUsable;
        default: return kExitNotAuthenticated;
    }
}

}  // namespace cli
