// The benchmark tool as the benchmark scripts run it (bench/coders_table.sh, targets_table.sh):
// ftc_bench coders, its JSON report, --simd-target / --scalar, one-line errors with exit status 1.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "codec/io/npy.hpp"
#include "tests/cli/cli_harness.hpp"
#include "ftc/ftc.hpp"

namespace fs = std::filesystem;
using namespace ftc;

namespace {

using test::features;
using test::read_bytes;
using test::Run;
using test::TempDir;

Run run(const std::string& args) { return test::run_program(FTC_BENCH, args); }

}  // namespace

TEST_CASE("ftc_bench coders: --simd-target runs each target the CPU has, same bytes; an unknown one exits 1") {
  TempDir tmp;
  Tensor x = features();
  REQUIRE(io::write_npy_file(tmp / "x.npy", x.view()).ok());
  const std::string base = "coders " + tmp / "x.npy" + " --bits 8 --per-channel 1 --coders ftc-rans --repetitions 1 --json";
  Run best = run(base);
  REQUIRE_MESSAGE(best.status == 0, best.err);
  const auto best_json = nlohmann::json::parse(best.out);
  const std::string best_target = best_json["rans_kernels"];
  CHECK(!best_target.empty());
  Run bogus = run(base + " --simd-target NOPE");
  CHECK(bogus.status == 1);
  CHECK(bogus.err.find("NOPE") != std::string::npos);
  CHECK(std::count(bogus.err.begin(), bogus.err.end(), '\n') == 1);
  // The names the error lists are the targets this CPU runs: each codes the same bytes.
  const std::string list = bogus.err.substr(bogus.err.find('(') + 1, bogus.err.find(')') - bogus.err.find('(') - 1);
  std::size_t at = 0, tried = 0;
  while (at < list.size()) {
    const std::size_t comma = list.find(", ", at);
    const std::string name = list.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    at = comma == std::string::npos ? list.size() : comma + 2;
    Run r = run(base + " --simd-target " + name);
    INFO(name);
    REQUIRE(r.status == 0);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j["rans_kernels"] == name);
    CHECK(j["coders"][0]["bytes"] == best_json["coders"][0]["bytes"]);
    CHECK(j["coders"][0]["roundtrip_ok"] == true);
    ++tried;
  }
  CHECK(tried >= 1);
  Run scalar = run(base + " --scalar");
  REQUIRE(scalar.status == 0);
  CHECK(nlohmann::json::parse(scalar.out)["rans_kernels"] == "scalar");
}
