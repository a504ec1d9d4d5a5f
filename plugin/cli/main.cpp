// SPDX-License-Identifier: MIT
// main.cpp - the `danesmtp` command-line tool for mail administrators:
// dispatches to one file per sub-command (common.hpp says which).
#include <csignal>
#include <iostream>
#include <string>

#include "common.hpp"

using namespace cli;

int main(int argc, char** argv) {
    // A peer that resets a connection must not kill the tool (the library
    // also blocks SIGPIPE around its own writes).
    std::signal(SIGPIPE, SIG_IGN);
    try {
        if (argc < 2) throw UsageError{"no command given"};
        std::string cmd = argv[1];
        if (cmd == "verify") return cmd_verify(argc, argv);
        if (cmd == "tlsa") return cmd_tlsa(argc, argv);
        if (cmd == "lookup") return cmd_lookup(argc, argv);
        if (cmd == "check") return cmd_check(argc, argv);
        if (cmd == "rollover") return cmd_rollover(argc, argv);
        if (cmd == "--version" || cmd == "version") {
            std::cout << "danesmtp " << danesmtp_version() << "\n";
            return 0;
        }
        if (cmd == "--help" || cmd == "help" || cmd == "-h") {
            std::cout << kUsage;
            return 0;
        }
        throw UsageError{"unknown command '" + cmd + "'"};
    } catch (const UsageError& e) {
        std::cerr << "danesmtp: " << e.message << "\n";
        if (e.message.find("usage") == std::string::npos &&
            (e.message.find("unknown") == 0 || e.message.find("no command") == 0 ||
             e.message.find("takes exactly") != std::string::npos))
            std::cerr << kUsage;
        return kExitUsage;
    } catch (const std::exception& e) {
        std::cerr << "danesmtp: " << e.what() << "\n";
        return kExitUsage;
    }
}
