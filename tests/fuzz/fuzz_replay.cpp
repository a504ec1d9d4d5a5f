// fuzz_replay.cpp - feeds every file named on the command line (or found in
// the directories named) to LLVMFuzzerTestOneInput, for builds without
// libFuzzer: `make check` replays tests/fuzz/corpus under ASan+UBSan.
#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

static int run_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    return 1;
}

int main(int argc, char** argv) {
    int n = 0;
    for (int i = 1; i < argc; ++i) {
        struct stat st;
        if (stat(argv[i], &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            DIR* d = opendir(argv[i]);
            for (dirent* e; d && (e = readdir(d));)
                if (e->d_name[0] != '.') n += run_file(std::string(argv[i]) + "/" + e->d_name);
            if (d) closedir(d);
        } else {
            n += run_file(argv[i]);
        }
    }
    std::printf("fuzz_replay: %d inputs, no crash\n", n);
    return 0;
}
