// ftc learn and ftc eval with learned codec models, run as a user runs them, on the fixture
// tests/data/learned (make_learned.py): --pack writes the committed codec.ftcm and refuses a
// hostile codec.json in one line; eval runs device graph → codec → server graph and reports real
// bytes beside the trainer's estimate, finds the reference model the codec model names, and refuses
// a changed graph naming both hashes; learn without a usable Python fails in one line naming
// scripts/install-deps.sh, and its arguments are checked before anything runs.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_harness.hpp"
#include "codec/io/npy.hpp"

namespace fs = std::filesystem;
using namespace ftc;
using ftc::test::read_bytes;
using ftc::test::slurp;
using ftc::test::TempDir;
using nlohmann::json;

namespace {

const std::string kSource = FTC_SOURCE_DIR;
const std::string kFixture = kSource + "/tests/data/learned";

test::Run ftc_run(const std::string& args) { return test::run_program(FTC_CLI, args); }
test::Run ftc_env(const std::string& env, const std::string& args) { return test::run_program(env + " " + FTC_CLI, args); }

bool one_line_error(const test::Run& r) {
  return r.status == 1 && r.err.rfind("ftc: ", 0) == 0 && r.err.find('\n') == r.err.size() - 1;
}

void copy_fixture(const TempDir& d, bool with_ftcm = false) {
  for (const char* f : {"device.onnx", "server.onnx", "codec.json", "report.json"})
    fs::copy_file(kFixture + "/" + f, d / f, fs::copy_options::overwrite_existing);
  if (with_ftcm) fs::copy_file(kFixture + "/codec.ftcm", d / "codec.ftcm", fs::copy_options::overwrite_existing);
}

// 24 images (24, 28, 28) u8 and labels as npy:X,Y.
std::string make_data(const TempDir& d) {
  Tensor x = Tensor::zeros(DType::u8, {24, 28, 28}).value();
  for (std::size_t i = 0; i < x.byte_size(); ++i) x.data()[i] = static_cast<std::uint8_t>((i * 131 + (i / 784) * 17 + (i * i) % 53) % 256);
  Tensor y = Tensor::zeros(DType::i32, {24}).value();
  for (int i = 0; i < 24; ++i) y.data_as<std::int32_t>()[i] = i % 10;
  REQUIRE(io::write_npy_file(d / "x.npy", x.view()).ok());
  REQUIRE(io::write_npy_file(d / "y.npy", y.view()).ok());
  return "npy:" + d / "x.npy" + "," + d / "y.npy";
}

}  // namespace

TEST_CASE("ftc learn --pack: the fixture's codec.ftcm; a hostile codec.json fails in one line and writes nothing") {
  TempDir d;
  copy_fixture(d);
  auto r = ftc_run("learn --pack " + d.path.string());
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(r.out.find("wrote " + d / "codec.ftcm") != std::string::npos);
  CHECK(r.out.find("xxh64:") != std::string::npos);
  CHECK(read_bytes(d / "codec.ftcm") == read_bytes(kFixture + "/codec.ftcm"));
  // ftc info-like check: the model loads as a codec model.
  CHECK(CodecModel::from_file(d / "codec.ftcm").ok());

  TempDir e;
  copy_fixture(e);
  json j = json::parse(slurp(e / "codec.json"));
  j["channels"][2]["pmf"][0] = 0;
  std::ofstream(e / "codec.json") << j.dump();
  auto bad = ftc_run("learn --pack " + e.path.string());
  CHECK(one_line_error(bad));
  CHECK(bad.err.find("codec.json") != std::string::npos);
  CHECK(bad.err.find("channels[2].pmf[0]") != std::string::npos);
  CHECK_FALSE(fs::exists(e / "codec.ftcm"));

  auto missing = ftc_run("learn --pack " + d / "nowhere");
  CHECK(one_line_error(missing));
  auto both = ftc_run("learn --pack " + d.path.string() + " --out " + d / "x");
  CHECK(one_line_error(both));
}

TEST_CASE("ftc eval --codec-model: a learned model's row with real bytes, its estimate, its reference model") {
  TempDir d;
  copy_fixture(d, true);
  const std::string data = make_data(d);
  const std::string model = kSource + "/models/fmnist_resnet.onnx";
  auto r = ftc_run("eval --codec-model " + d / "codec.ftcm" + " --model " + model + " --data " + data +
                   " --baselines raw --sweep bits=4 --no-progress --threads 1 --json " + d / "r.json");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(r.out.find("learned:") != std::string::npos);
  CHECK(r.out.find("trainer's estimate") != std::string::npos);
  const json j = json::parse(slurp(d / "r.json"));
  const json* learned = nullptr;
  for (const auto& row : j["rows"])
    if (row["stage"] == "learned") learned = &row;
  REQUIRE(learned != nullptr);
  CHECK((*learned)["curve"] == "ftc-learned");
  CHECK((*learned)["images"] == 24);
  CHECK((*learned)["failures"] == 0);
  CHECK((*learned)["elements"] == 196);
  CHECK((*learned)["bits_unit"] == "latent element");
  // Whole compact frames: at least the 6-byte header and the 4-byte rANS state.
  CHECK((*learned)["bytes_mean"].get<double>() >= 10.0);
  const json report = json::parse(slurp(kFixture + "/report.json"));
  CHECK((*learned)["estimated_bytes"].get<double>() ==
        doctest::Approx(report["estimated_bits_per_image"].get<double>() / 8 + 10));
  CHECK(j["split"] == "/stage2/block1/relu_2/Relu_output_0");  // the split codec.json names

  // Without --model: the reference model named in the codec model, found beside it.
  fs::copy_file(model, d / "fmnist_resnet.onnx");
  fs::copy_file(kSource + "/models/fmnist_resnet.json", d / "fmnist_resnet.json");
  auto found = ftc_run("eval --codec-model " + d / "codec.ftcm" + " --data " + data + " --baselines none --no-progress --threads 1");
  REQUIRE_MESSAGE(found.status == 0, found.err);
  CHECK(found.out.find("model " + d / "fmnist_resnet.onnx") != std::string::npos);

  // A changed server graph: refused before the run, naming both hashes.
  std::string srv = slurp(d / "server.onnx");
  srv[srv.size() / 3] ^= 0x20;
  std::ofstream(d / "server.onnx", std::ios::binary) << srv;
  auto bad = ftc_run("eval --codec-model " + d / "codec.ftcm" + " --data " + data + " --baselines none --no-progress");
  CHECK(one_line_error(bad));
  CHECK(bad.err.find("server graph") != std::string::npos);
  const auto first = bad.err.find("xxh64:");
  REQUIRE(first != std::string::npos);
  CHECK(bad.err.find("xxh64:", first + 1) != std::string::npos);
  // … unless the right graph is given explicitly.
  auto given = ftc_run("eval --codec-model " + d / "codec.ftcm" + " --server-graph " + kFixture + "/server.onnx --data " + data +
                       " --baselines none --no-progress --threads 1");
  CHECK_MESSAGE(given.status == 0, given.err);
}

TEST_CASE("ftc learn: no usable Python is one line naming scripts/install-deps.sh; arguments checked first") {
  TempDir d;
  const std::string model = kSource + "/models/fmnist_resnet.onnx";
  const std::string args = "learn --model " + model + " --at /stage2/block1/relu_2/Relu_output_0 --out " + d / "out";
  auto missing = ftc_env("FTC_PYTHON=" + d / "no-such-python", args);
  CHECK(one_line_error(missing));
  CHECK(missing.err.find("scripts/install-deps.sh") != std::string::npos);
  CHECK(missing.err.find("no-such-python") != std::string::npos);
  auto no_torch = ftc_env("FTC_PYTHON=/bin/false", args);
  CHECK(one_line_error(no_torch));
  CHECK(no_torch.err.find("torch") != std::string::npos);
  CHECK(no_torch.err.find("scripts/install-deps.sh") != std::string::npos);
  CHECK_FALSE(fs::exists(d / "out"));

  for (const std::string& bad : {"learn --model " + model + " --out " + d / "out",                       // no --at
                                 "learn --model " + d / "none.onnx" + " --at x --out " + d / "out",       // no model
                                 args + " --prune 1.5", args + " --rate-weight -1", args + " --epochs 0",
                                 args + " --tail-lr 0.5",                       // without --finetune-tail
                                 args + " --finetune-tail --tail-lr 0",
                                 "learn --model " + model + " --at x --out " + d / "no/such/dir/out"}) {
    CAPTURE(bad);
    auto r = ftc_env("FTC_PYTHON=/bin/false", bad);
    CHECK(one_line_error(r));
    CHECK(r.err.find("torch") == std::string::npos);  // refused before Python is asked
  }
  fs::create_directories(d / "exists");
  auto exists = ftc_env("FTC_PYTHON=/bin/false", "learn --model " + model + " --at x --out " + d / "exists");
  CHECK(one_line_error(exists));
  CHECK(exists.err.find("already exists") != std::string::npos);
}

// Slow (about 30 s of CPU): the real trainer, a few steps on 512 images. Run by the ctest entry
// learn_cli_train (label slow) with --no-skip; it says why and passes when the source tree has no
// train/learn.py, Python has no torch, or the Fashion-MNIST files are missing.
TEST_CASE("ftc learn trains through train/learn.py, packs codec.ftcm, and ftc eval runs it" * doctest::skip()) {
  const char* train_dir = std::getenv("FTC_TRAIN_DIR");  // ftc learn looks there first, too
  const std::string learn_py = (train_dir && *train_dir ? std::string(train_dir) : kSource + "/train") + "/learn.py";
  if (!fs::exists(learn_py) || std::system("/usr/bin/python3 -c 'import torch, onnx' >/dev/null 2>&1") != 0 ||
      !fs::exists("/usr/share/datasets/fashion-mnist")) {
    MESSAGE("skipped: needs train/learn.py, /usr/bin/python3 with torch and onnx, and /usr/share/datasets/fashion-mnist");
    return;
  }
  TempDir d;
  const std::string model = kSource + "/models/fmnist_resnet.onnx";
  auto r = ftc_run("learn --model " + model + " --at /stage2/block1/relu_2/Relu_output_0 --data fashion-mnist:train:512 --epochs 1 --out " +
                   d / "out");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(r.err.find("learn: ") != std::string::npos);  // the trainer's progress came through
  for (const char* f : {"device.onnx", "server.onnx", "codec.json", "report.json", "codec.ftcm"}) CHECK(fs::exists(d.path / "out" / f));
  std::size_t entries = 0;
  for (const auto& e : fs::directory_iterator(d.path)) entries += e.path().filename() != "out";
  CHECK(entries == 0);  // no temporary directory left beside it
  // Packing again gives the same bytes.
  const auto bytes = read_bytes(d / "out/codec.ftcm");
  REQUIRE(ftc_run("learn --pack " + d / "out").status == 0);
  CHECK(read_bytes(d / "out/codec.ftcm") == bytes);
  auto e = ftc_run("eval --codec-model " + d / "out/codec.ftcm" + " --model " + model +
                   " --data fashion-mnist:test:100 --baselines none --sweep bits=4 --no-progress --threads 2 --json " + d / "r.json");
  REQUIRE_MESSAGE(e.status == 0, e.err);
  const json j = json::parse(slurp(d / "r.json"));
  bool found = false;
  for (const auto& row : j["rows"])
    if (row["stage"] == "learned") {
      found = true;
      CHECK(row["failures"] == 0);
      // The trainer's estimate and the real frames agree closely (header and state included in both).
      CHECK(std::fabs(row["estimate_gap_percent"].get<double>()) < 10.0);
    }
  CHECK(found);
  // Without -f the directory is not replaced.
  auto again = ftc_run("learn --model " + model + " --at /stage2/block1/relu_2/Relu_output_0 --out " + d / "out");
  CHECK(one_line_error(again));
}
