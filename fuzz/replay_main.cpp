// Replay driver: runs LLVMFuzzerTestOneInput once on every file named on the command line or
// found (recursively) under a directory named there, without libFuzzer. Built with any compiler
// (the gcc ctest build uses it); a crash or a failed fuzz invariant aborts the process, so ctest
// reports it. Exit status 0 when every input ran.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace fs = std::filesystem;

static int run_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "replay: cannot read %s\n", p.c_str());
    return 1;
  }
  std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(f), {}};
  // A heap copy of exactly the input's size, as libFuzzer does, so overreads are visible.
  std::vector<std::uint8_t> exact(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(exact.empty() ? nullptr : exact.data(), exact.size());
  return 0;
}

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  std::size_t ran = 0;
  int errors = 0;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    if (fs::is_directory(arg)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::recursive_directory_iterator(arg))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.' &&
            e.path().filename().string().rfind("README", 0) != 0)
          files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) { errors += run_file(f); ++ran; }
    } else if (fs::exists(arg)) {
      errors += run_file(arg);
      ++ran;
    } else {
      std::fprintf(stderr, "replay: %s does not exist\n", argv[i]);
      ++errors;
    }
  }
  std::printf("replay: %zu inputs, %d unreadable\n", ran, errors);
  return errors == 0 ? 0 : 1;
}
