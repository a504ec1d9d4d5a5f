// SPDX-License-Identifier: MIT
// tlsa.cpp - `danesmtp tlsa`: the TLSA record for a certificate or key file.
#include "common.hpp"

#include <strings.h>

#include <iostream>
#include <string>
#include <vector>

namespace cli {

struct Mnemonic {
    const char* name;
    int value;
};

int parse_field(const std::string& opt, const std::string& val, std::vector<Mnemonic> names,
                int max) {
    for (const auto& m : names)
        if (strcasecmp(val.c_str(), m.name) == 0) return m.value;
    bool digits = !val.empty() && val.size() <= 3;
    for (char c : val) digits &= (c >= '0' && c <= '9');
    int v = digits ? std::stoi(val) : -1;
    if (v < 0 || v > max) throw UsageError{opt + " '" + val + "' is not valid"};
    return v;
}

int cmd_tlsa(int argc, char** argv) {
    Args a = parse_args(argc, argv, 2, {"--usage", "--selector", "--mtype", "--host", "--port", "--depth"},
                        {});
    if (a.operands.size() != 1) throw UsageError{"tlsa takes exactly one FILE.pem"};
    int usage = 3, selector = 1, mtype = 1, depth = -1;
    std::string host, port = "25";
    bool have_port = false;
    for (const auto& [opt, val] : a.options) {
        if (opt == "--usage")
            usage = parse_field(opt, val, {{"PKIX-TA", 0}, {"PKIX-EE", 1}, {"DANE-TA", 2}, {"DANE-EE", 3}}, 3);
        else if (opt == "--selector")
            selector = parse_field(opt, val, {{"Cert", 0}, {"SPKI", 1}}, 1);
        else if (opt == "--mtype")
            mtype = parse_field(opt, val, {{"Full", 0}, {"SHA2-256", 1}, {"SHA2-512", 2}}, 2);
        else if (opt == "--depth")
            depth = parse_field(opt, val, {}, DANESMTP_MAX_CHAIN - 1);
        else if (opt == "--host")
            host = val;
        else if (opt == "--port") {
            bool digits = !val.empty() && val.size() <= 5;
            for (char c : val) digits &= (c >= '0' && c <= '9');
            if (!digits || std::stoi(val) == 0 || std::stoi(val) > 65535)
                throw UsageError{"--port '" + val + "' is not a port number (1-65535)"};
            port = std::to_string(std::stoi(val));
            have_port = true;
        }
    }
    if (have_port && host.empty()) throw UsageError{"--port needs --host"};
    std::string owner;
    if (!host.empty()) {
        char buf[DANESMTP_MAX_NAME + 1];
        int rc = danesmtp_name_normalize(host.c_str(), buf, sizeof buf);
        if (rc != DANESMTP_OK) throw UsageError{lib_error("--host '" + host + "'", rc)};
        owner = "_" + port + "._tcp." + buf + ".";
    }
    std::string input = read_file(a.operands[0]);
    char* text = nullptr;
    int rc = danesmtp_tlsa_make(reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                                static_cast<std::uint8_t>(usage), static_cast<std::uint8_t>(selector),
                                static_cast<std::uint8_t>(mtype), depth, &text);
    if (rc != DANESMTP_OK) throw UsageError{lib_error(a.operands[0], rc)};
    std::string record = text;
    danesmtp_free(text);
    if (!owner.empty())
        std::cout << owner << " IN TLSA " << record << "\n";
    else
        std::cout << record << "\n";
    return 0;
}

}  // namespace cli
