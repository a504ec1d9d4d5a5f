// SPDX-License-Identifier: MIT
// fuzz_replay.cpp - runs the fuzz targets without libFuzzer: `make check`
// replays every corpus under ASan+UBSan (g++), so every input that once
// crashed stays a test.
//
//   fuzz-replay [--require-all] PATH...
//
// The targets (fuzz_<name>.cpp, compiled with -DFUZZ_REPLAY) register
// themselves by name (fuzz_common.hpp). A file is fed to the target named
// by the nearest directory above it (tests/fuzz/corpus/dns/x -> dns);
// directories are walked recursively. A file under no target's directory is
// an error, and so, with --require-all, is a target that got no input.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fuzz/fuzz_common.hpp"

namespace danesmtp::fuzz {
std::vector<Target>& targets() {
    static std::vector<Target> all;
    return all;
}
}  // namespace danesmtp::fuzz

namespace {

using danesmtp::fuzz::Target;

std::map<std::string, int> g_count;
int g_errors = 0;

const Target* target_named(const std::string& name) {
    for (const auto& t : danesmtp::fuzz::targets())
        if (name == t.name) return &t;
    return nullptr;
}

std::string base_name(std::string path) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    std::size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string parent(const std::string& path) {
    std::size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

void run_file(const std::string& path, const Target* t) {
    if (!t) t = target_named(base_name(parent(path)));  // a file named on the command line
    if (!t) {
        std::fprintf(stderr, "fuzz_replay: %s is under no target's directory\n", path.c_str());
        ++g_errors;
        return;
    }
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // An exact-size copy, as libFuzzer passes it, so that ASan sees overreads.
    std::unique_ptr<std::uint8_t[]> data(new std::uint8_t[bytes.size()]);
    std::copy(bytes.begin(), bytes.end(), data.get());
    danesmtp::fuzz::run(t->body, data.get(), bytes.size());
    ++g_count[t->name];
}

void walk(const std::string& path, const Target* t) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
        std::fprintf(stderr, "fuzz_replay: %s: %s\n", path.c_str(), std::strerror(errno));
        ++g_errors;
        return;
    }
    if (!S_ISDIR(st.st_mode)) return run_file(path, t);
    if (const Target* named = target_named(base_name(path))) t = named;
    std::vector<std::string> entries;
    if (DIR* d = opendir(path.c_str())) {
        for (dirent* e; (e = readdir(d));)
            if (e->d_name[0] != '.') entries.push_back(e->d_name);
        closedir(d);
    }
    std::sort(entries.begin(), entries.end());
    for (const auto& e : entries) walk(path + "/" + e, t);
}

}  // namespace

int main(int argc, char** argv) {
    bool require_all = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--require-all") == 0)
            require_all = true;
        else
            walk(argv[i], nullptr);
    }
    int total = 0;
    std::string counts;
    std::vector<Target> all = danesmtp::fuzz::targets();
    std::sort(all.begin(), all.end(), [](const Target& a, const Target& b) { return std::strcmp(a.name, b.name) < 0; });
    for (const auto& t : all) {
        int n = g_count[t.name];
        total += n;
        counts += std::string(counts.empty() ? "" : ", ") + t.name + " " + std::to_string(n);
        if (require_all && n == 0) {
            std::fprintf(stderr, "fuzz_replay: no input for target %s\n", t.name);
            ++g_errors;
        }
    }
    std::printf("fuzz_replay: %d inputs (%s), %s\n", total, counts.c_str(), g_errors ? "ERRORS" : "no crash");
    return g_errors ? 1 : 0;
}
