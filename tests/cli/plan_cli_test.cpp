// ftc plan as a user runs it: the bundled ResNet on 64 Fashion-MNIST test images (Debian's
// dataset-fashion-mnist, installed by scripts/install-deps.sh), the table, the JSON and its
// arithmetic; a learned-bottleneck directory built from the model's own split and codec model;
// bad flags as one line and exit status 1.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/cli/cli_harness.hpp"

namespace fs = std::filesystem;
using namespace ftc;
using test::Run;
using test::TempDir;

namespace {

Run run(const std::string& args) { return test::run_program(FTC_CLI, args); }

const std::string kModel = std::string(FTC_SOURCE_DIR) + "/models/fmnist_resnet.onnx";
const std::string kCodecModel = std::string(FTC_SOURCE_DIR) + "/models/fmnist_resnet.ftcm";
const std::string kAt = "/stage2/block1/relu_2/Relu_output_0";  // the codec model's tensor

nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  return nlohmann::json::parse(f);
}

std::size_t lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST_CASE("plan: the bundled ResNet, every candidate, the optimum, the floor and the sweep") {
  TempDir tmp;
  Run layers = run("layers --json " + kModel);
  REQUIRE_MESSAGE(layers.status == 0, layers.err);
  const auto lj = nlohmann::json::parse(layers.out);
  const std::size_t splits = lj["candidates"].size();
  REQUIRE(splits >= 10);

  const std::string json = tmp / "plan.json";
  Run r = run("plan --model " + kModel + " --data fashion-mnist:test --calibration 64 --uplink 1mbit --rtt 20ms "
              "--device-slowdown 8 --max-drop 0.5 --sweep-uplink 0.1mbit,1mbit,10mbit -q --json " + json);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  for (const char* row : {"device-only", "cloud-png", "cloud-jpeg q=90", "split 0 ", "optimum:", "optimum within 0.5 points:"})
    CHECK_MESSAGE(r.out.find(row) != std::string::npos, row);
  CHECK(r.out.find("split " + std::to_string(splits - 1) + " ") != std::string::npos);

  const auto j = read_json(json);
  CHECK(j["images"] == 64);
  const auto& cs = j["candidates"];
  REQUIRE(cs.size() == 3 + splits);
  CHECK(cs[0]["kind"] == "device");
  CHECK(cs[1]["kind"] == "cloud");
  CHECK(cs[2]["kind"] == "cloud");
  const double ref = j["reference_accuracy"];
  double best = INFINITY, best_floor = INFINITY;
  std::string best_name, floor_name;
  for (const auto& c : cs) {
    const auto& p = c["predicted_ms"];
    const auto& m = c["measured_ms"];
    const double total = p["total"];
    // The latency is the sum of its parts; device time is measured × 8; the transfer is bytes
    // at 1 Mbit/s; the RTT is paid by everything but device-only.
    CHECK(total == doctest::Approx(double(p["head"]) + double(p["encode"]) + double(p["rtt"]) + double(p["transfer"]) +
                                   double(p["decode"]) + double(p["tail"])));
    CHECK(double(p["head"]) == doctest::Approx(8 * double(m["head"])));
    CHECK(double(p["transfer"]) == doctest::Approx(double(c["bytes"]) * 8 / 1e6 * 1000));
    CHECK(double(p["rtt"]) == (c["kind"] == "device" ? 0.0 : 20.0));
    CHECK(double(c["energy_mj"]) > 0);
    if (c["kind"] != "device") CHECK(double(c["bytes"]) > 0);
    CHECK(double(c["drop_points"]) == doctest::Approx((ref - double(c["accuracy"])) * 100));
    if (total < best) best = total, best_name = c["name"];
    if (double(c["drop_points"]) <= 0.5 && total < best_floor) best_floor = total, floor_name = c["name"];
  }
  CHECK(j["optimum"] == best_name);
  CHECK(j["floor_optimum"] == floor_name);
  // PNG is lossless: the cloud-only PNG path classifies every image as the full model does.
  CHECK(double(cs[1]["accuracy"]) == ref);
  CHECK(double(cs[1]["drop_points"]) == 0);
  // The optimum is marked in the table.
  std::istringstream table(r.out);
  std::string line;
  bool marked = false;
  while (std::getline(table, line))
    if (line.rfind("*", 0) == 0 && line.find(best_name) != std::string::npos) marked = true;
  CHECK(marked);

  // The sweep: three uplinks, each optimum the fastest there, consistent with optimum_changes.
  const auto& sweep = j["sweep"];
  REQUIRE(sweep.size() == 3);
  for (const auto& s : sweep) {
    const auto& totals = s["total_ms"];
    REQUIRE(totals.size() == cs.size());
    std::size_t argmin = 0;
    for (std::size_t i = 1; i < totals.size(); ++i)
      if (double(totals[i]) < double(totals[argmin])) argmin = i;
    CHECK(s["optimum"] == cs[argmin]["name"]);
  }
  CHECK(double(sweep[0]["uplink_bps"]) == 1e5);
  CHECK(double(sweep[2]["uplink_bps"]) == 1e7);
  for (const auto& ch : j["optimum_changes"]) {
    // Within the floor: the sweep's floor optimum above the highest crossing below it is `above`.
    for (const auto& s : sweep) {
      const double u = s["uplink_bps"];
      bool nearest = u > double(ch["uplink_bps"]);
      for (const auto& other : j["optimum_changes"])
        if (double(other["uplink_bps"]) > double(ch["uplink_bps"]) && double(other["uplink_bps"]) < u) nearest = false;
      if (nearest) CHECK(s["floor_optimum"] == ch["above"]);
    }
  }
}

TEST_CASE("plan: a learned-bottleneck directory, measured or from its report") {
  TempDir tmp;
  // device.onnx/server.onnx: the model's own split at the codec model's tensor; codec.ftcm: that
  // codec model. Measured, it must send exactly the bytes of the same split with the same model.
  const std::string dir = tmp / "bottleneck";
  fs::create_directories(dir);
  Run split = run("split " + kModel + " --at " + kAt + " --head " + dir + "/device.onnx --tail " + dir + "/server.onnx");
  REQUIRE_MESSAGE(split.status == 0, split.err);
  fs::copy_file(kCodecModel, dir + "/codec.ftcm");
  std::ofstream(dir + "/report.json") << R"({"at": ")" << kAt
                                      << R"(", "estimated_bits_per_image": 9000, "heldout_top1": 0.9, "reference_top1": 0.91,
                                            "head_macs": 25915904, "encoder_macs": 0})";
  const std::string only = tmp / "only_report";
  fs::create_directories(only);
  fs::copy_file(dir + "/report.json", only + "/report.json");

  const std::string json = tmp / "plan.json";
  Run r = run("plan --model " + kModel + " --calibration 16 --at " + kAt + " --codec-model " + kCodecModel +
              " --learned " + dir + " --learned " + only + " -q --json " + json);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const auto j = read_json(json);
  std::map<std::string, nlohmann::json> by;
  for (const auto& c : j["candidates"]) by[c["name"]] = c;
  REQUIRE(by.count("split 12 model rp0"));
  REQUIRE(by.count("learned bottleneck rp0"));
  for (int p = 0; p < 8; ++p) {
    const auto& a = by["split 12 model rp" + std::to_string(p)];
    const auto& b = by["learned bottleneck rp" + std::to_string(p)];
    CHECK(double(a["bytes"]) == double(b["bytes"]));
    CHECK(double(a["accuracy"]) == double(b["accuracy"]));
    CHECK(b["kind"] == "learned");
  }
  // From the report alone: its bytes and accuracy, a note that says so.
  REQUIRE(by.count("learned only_report"));
  const auto& e = by["learned only_report"];
  CHECK(double(e["bytes"]) == 9000.0 / 8);
  CHECK(double(e["accuracy"]) == 0.9);
  CHECK(double(e["drop_points"]) == doctest::Approx(1.0));
  CHECK(std::string(e["note"]).find("report.json") != std::string::npos);
  CHECK(r.out.find("note: learned only_report") != std::string::npos);

  // The repository's learned-codec fixture (tests/data/learned: what train/learn.py and ftc learn
  // write, a report.json with only "at" and the rate estimate): measured, not estimated.
  const std::string fixture = std::string(FTC_SOURCE_DIR) + "/tests/data/learned";
  Run fx = run("plan --model " + kModel + " --calibration 8 --at " + kAt + " --learned " + fixture + " -q --json " +
               tmp / "fx.json");
  REQUIRE_MESSAGE(fx.status == 0, fx.err);
  bool found = false;
  const auto fj = read_json(tmp / "fx.json");
  for (const auto& c : fj["candidates"])
    if (c["name"] == "learned learned") {
      found = true;
      CHECK(c["kind"] == "learned");
      CHECK(c["images"] == 8);
      CHECK(double(c["bytes"]) > 6);  // a compact frame: 6 bytes of header and a payload
      CHECK(c["note"] == "");
    }
  CHECK(found);

  // A broken report: one line, exit 1.
  std::ofstream(only + "/report.json") << R"({"at": 3})";
  Run bad = run("plan --model " + kModel + " --calibration 2 --at " + kAt + " --learned " + only + " -q");
  CHECK(bad.status == 1);
  CHECK(lines(bad.err) == 1);
  CHECK(bad.err.find("report.json") != std::string::npos);
}

TEST_CASE("plan: bad flags are one line and exit status 1, before anything is measured") {
  TempDir tmp;
  const std::string base = "plan --model " + kModel + " --calibration 2 -q";
  std::ofstream(tmp / "exists.json") << "{}";
  struct Bad {
    std::string args, says;
  };
  for (const Bad& b : {Bad{" --uplink 1xyz", "--uplink"}, {" --uplink 1MB", "--uplink"}, {" --uplink -1mbit", "--uplink"},
                       {" --rtt 20", "--rtt"}, {" --rtt -1ms", "--rtt"}, {" --device-slowdown 0", "slowdown"},
                       {" --server-speedup -2", "server"}, {" --max-drop -1", "--max-drop"},
                       {" --sweep-uplink 1mbit,fast", "--sweep-uplink"}, {" --at /no/such/tensor", "/no/such/tensor"},
                       {" --bits 99", "bits"}, {" --json " + tmp / "exists.json", "exists.json"},
                       {" --json " + kModel, "fmnist_resnet.onnx"}, {" --codec-model " + tmp / "none.ftcm", "none.ftcm"},
                       {" --calibration 0", "calibration"}}) {
    Run r = run(base + b.args);
    CHECK_MESSAGE(r.status == 1, b.args);
    CHECK_MESSAGE(lines(r.err) == 1, b.args << ": " << r.err);
    CHECK_MESSAGE(r.err.rfind("ftc: ", 0) == 0, r.err);
    CHECK_MESSAGE(r.err.find(b.says) != std::string::npos, b.args << ": " << r.err);
    CHECK_MESSAGE(r.out.empty(), b.args);
  }
  CHECK(test::slurp(tmp / "exists.json") == "{}");
  Run missing = run("plan --model " + tmp / "none.onnx --calibration 2 -q");
  CHECK(missing.status == 1);
  CHECK(lines(missing.err) == 1);
  Run no_model = run("plan --uplink 1mbit");
  CHECK(no_model.status == 1);
  CHECK(lines(no_model.err) == 1);
}
