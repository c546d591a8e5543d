// A command-line tool run as a user runs it, for the tests of the ftc command (tests/cli) and of
// the benchmark tool (tests/bench): exit status, stdout and stderr of `PROGRAM ARGS` run by the
// shell; a temporary directory removed with its contents; a feature-like tensor.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "ftc/ftc.hpp"

namespace ftc::test {

struct Run {
  int status;  // the exit status; -1 when the process did not exit (a signal, a crash)
  std::string out, err;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

inline std::vector<std::uint8_t> read_bytes(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

// `args` is shell text: redirections and quoting work as typed.
inline Run run_program(const std::string& program, const std::string& args) {
  static int n = 0;
  const std::filesystem::path dir = std::filesystem::temp_directory_path();
  const std::string stem = "ftc_run_" + std::to_string(::getpid()) + "_" + std::to_string(n++);
  const auto o = dir / (stem + ".out"), e = dir / (stem + ".err");
  const std::string cmd = program + " " + args + " >" + o.string() + " 2>" + e.string();
  const int raw = std::system(cmd.c_str());
  Run r{WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, slurp(o), slurp(e)};
  std::filesystem::remove(o);
  std::filesystem::remove(e);
  return r;
}

// A fresh directory under the system's temporary directory, unique per process and instance.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static int n = 0;
    path = std::filesystem::temp_directory_path() / ("ftc_test_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& f) const { return (path / f).string(); }
};

// Post-ReLU-like features, 64 channels of different scales (NCHW, 1×64×28×28 f32, seeded).
inline Tensor features() {
  Tensor t = Tensor::zeros(DType::f32, {1, 64, 28, 28}).value();
  std::mt19937 rng(3);
  std::exponential_distribution<float> ex(1.0f);
  float* p = t.data_as<float>();
  for (int c = 0; c < 64; ++c)
    for (int i = 0; i < 784; ++i) p[c * 784 + i] = (rng() % 2 ? 0.0f : ex(rng)) * static_cast<float>(c + 1) * 0.1f;
  return t;
}

// One line, ending in '\n', with no other control byte: what every CLI error must be.
inline bool one_clean_line(const std::string& s) {
  if (std::count(s.begin(), s.end(), '\n') != 1 || s.back() != '\n') return false;
  return std::none_of(s.begin(), s.end() - 1, [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
}

}  // namespace ftc::test
