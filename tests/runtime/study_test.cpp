// runtime/study.cpp: a whole study of tests/data/onnx/skipnet.onnx over a small .npy data set —
// codec settings over the defaults, sweeps, baselines with calibration, notes, progress events —
// and option errors that name the option before any file is read.
#include "runtime/study.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "codec/io/npy.hpp"

namespace fs = std::filesystem;
using namespace ftc;
using namespace ftc::runtime;

namespace {

constexpr std::int64_t kImages = 6;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("ftc_study_test_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& f) const { return (path / f).string(); }
};

// kImages u8 images (N, 1, 8, 8) and labels (N,) as npy:X,Y.
std::string make_data(const TempDir& dir) {
  Tensor x = Tensor::zeros(DType::u8, {kImages, 1, 8, 8}).value();
  for (std::size_t i = 0; i < x.byte_size(); ++i) x.data()[i] = static_cast<std::uint8_t>((i * 37 + i / 64 * 11) % 256);
  Tensor y = Tensor::zeros(DType::i32, {kImages}).value();
  for (std::int64_t i = 0; i < kImages; ++i) y.data_as<std::int32_t>()[i] = static_cast<std::int32_t>(i % 3);
  REQUIRE(io::write_npy_file(dir / "x.npy", x.view()).ok());
  REQUIRE(io::write_npy_file(dir / "y.npy", y.view()).ok());
  return "npy:" + dir / "x.npy" + "," + dir / "y.npy";
}

// skipnet has no model card: the normalization and the split are given.
StudyOptions skipnet_options(const std::string& data) {
  StudyOptions o;
  o.model = std::string(FTC_SOURCE_DIR) + "/tests/data/onnx/skipnet.onnx";
  o.at = {"block_c2"};
  o.data = data;
  o.mean = {0.5};
  o.std = {0.25};
  o.threads = 2;
  return o;
}

std::vector<std::string> row_names(const Report& r) {
  std::vector<std::string> names;
  for (const auto& row : r.rows) names.push_back(row.name);
  return names;
}

bool contains(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("run_study: codec settings over the defaults, baselines with calibration, notes, events") {
  TempDir dir;
  StudyOptions o = skipnet_options(make_data(dir));
  o.codec = {{"bits", "4"}, {"coder", "rans-wide"}};
  o.baselines = "raw,mosaic-png";
  o.calibration_images = 4;
  std::vector<StudyEvent> events;
  auto r = run_study(o, [&](const StudyEvent& e) { events.push_back(e); });
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  const Report& rep = r->report;
  // Codec settings given: one ftc configuration, per channel along axis 1 by default.
  CHECK(row_names(rep) == std::vector<std::string>{"ftc-u-pc1-rans-wide b=4", "f32-raw", "mosaic-png"});
  CHECK(contains(rep.rows[0].params, "bits=4 per-channel=1 coder=rans-wide"));
  CHECK(rep.images == kImages);
  CHECK(rep.split == "block_c2,stem_relu");
  CHECK(rep.data == "npy:" + dir / "x.npy" + "," + dir / "y.npy");
  CHECK(rep.model == o.model);
  CHECK(rep.command.empty());
  CHECK(rep.split_mismatches == 0);
  for (const auto& row : rep.rows) CHECK_MESSAGE(row.failures == 0, row.name << ": " << row.first_error);
  // Two (1, 4, 8, 8) f32 tensors sent raw, and the raw split agrees with itself everywhere.
  CHECK(rep.rows[1].bytes_mean == 2 * 256 * 4);
  CHECK(rep.rows[1].agreement == 1.0);
  CHECK(rep.rows[0].bytes_mean < rep.rows[1].bytes_mean / 2);  // 4 of 32 bits, plus header and tables
  // No mosaic-jpeg measured: the first row's curve anchors the BD-rates.
  CHECK(rep.anchor == "ftc-u-pc1-rans-wide");
  REQUIRE(r->curves.size() == 3);
  CHECK(r->curves[0].curve == "ftc-u-pc1-rans-wide");
  CHECK(r->at == std::vector<std::string>{"block_c2"});
  REQUIRE(rep.notes.size() == 3);
  CHECK(rep.notes[0] == "the cut also carries stem_relu (needed by the tail)");
  CHECK(contains(rep.notes[1], "mosaic/zfp range of block_c2: ["));
  CHECK(contains(rep.notes[2], "mosaic/zfp range of stem_relu: ["));
  CHECK(contains(rep.notes[2], "first 4 images of npy:"));
  // One plan before the run, then image counts up to the total; no warnings.
  REQUIRE(!events.empty());
  CHECK(events[0].kind == StudyEvent::Kind::plan);
  CHECK(contains(events[0].text, "split at block_c2,stem_relu: 3 configurations x 6 images on 2 threads"));
  for (std::size_t i = 1; i < events.size(); ++i) CHECK(events[i].kind == StudyEvent::Kind::images);
  CHECK(events.back().done == static_cast<std::size_t>(kImages));
  CHECK(events.back().total == static_cast<std::size_t>(kImages));
}

TEST_CASE("run_study: the default sweep, sweeps over settings, limit") {
  TempDir dir;
  StudyOptions o = skipnet_options(make_data(dir));
  o.baselines = "none";
  o.limit = 2;
  auto all = run_study(o);
  REQUIRE_MESSAGE(all.ok(), all.status().to_string());
  CHECK(all->report.images == 2);
  const auto names = row_names(all->report);
  REQUIRE(names.size() == 21);  // coder zstd, rans, adaptive × bits 1..6, 8
  CHECK(names.front() == "ftc-u-pc1-zstd b=1");
  CHECK(names[7] == "ftc-u-pc1-rans b=1");
  CHECK(names.back() == "ftc-u-pc1-adaptive b=8");

  // A setting turns the default sweep off; a sweep axis varies over the settings.
  o.codec = {{"coder", "rans"}, {"per-channel", "none"}};
  o.sweep = {{"lanes", {"64", "128"}}};
  auto lanes = run_study(o);
  REQUIRE_MESSAGE(lanes.ok(), lanes.status().to_string());
  CHECK(row_names(lanes->report) == std::vector<std::string>{"ftc-u-pt-rans-x64 b=8", "ftc-u-pt-rans-x128 b=8"});
  CHECK(contains(lanes->report.rows[1].params, "lanes=128"));
}

TEST_CASE("bad study options fail before any file is read, naming the option and its range") {
  StudyOptions o;
  o.model = "/nonexistent/model.onnx";
  auto fails_with = [&](const std::string& needle) {
    const Status checked = check_study_options(o);
    CHECK(checked.code() == StatusCode::invalid_argument);
    CHECK_MESSAGE(contains(checked.message(), needle), checked.message());
    auto r = run_study(o);
    REQUIRE_FALSE(r.ok());
    CHECK_MESSAGE(contains(r.status().message(), needle), r.status().message());
  };
  CHECK(check_study_options(o).ok());
  o.codec = {{"bits", "17"}};
  fails_with("bits must be 1..16, got '17'");
  o.codec = {{"colour", "red"}};
  fails_with("unknown encoder option 'colour'");
  o.codec = {};
  o.sweep = {{"bits", {"4", "0"}}};
  fails_with("bits must be 1..16, got '0'");
  o.sweep = {{"threads", {"2"}}};
  fails_with("unknown key 'threads'");
  o.sweep = {};
  o.baselines = "raw,bogus";
  fails_with("unknown baseline 'bogus'");
  o.baselines = "all";
  o.baseline_settings.mosaic_jpeg_quality = {50, 0};
  fails_with("JPEG quality must be 1..100, got 0");
  o.baseline_settings = {};
  o.std = {0};
  fails_with("std must be non-zero");
}

TEST_CASE("study errors name the file or tensor at fault") {
  TempDir dir;
  const std::string data = make_data(dir);
  StudyOptions o = skipnet_options(data);
  o.model = dir / "missing.onnx";
  auto r = run_study(o);
  REQUIRE_FALSE(r.ok());
  CHECK_MESSAGE(r.status().message().rfind(o.model + ": ", 0) == 0, r.status().message());

  o = skipnet_options(data);
  o.mean = {};
  r = run_study(o);
  REQUIRE_FALSE(r.ok());
  CHECK_MESSAGE(contains(r.status().message(), "no model card"), r.status().message());

  o = skipnet_options(data);
  o.at = {"nope"};
  r = run_study(o);
  REQUIRE_FALSE(r.ok());
  CHECK_MESSAGE(contains(r.status().message(), "no tensor named 'nope'"), r.status().message());

  o = skipnet_options("npy:" + dir / "absent.npy");
  r = run_study(o);
  REQUIRE_FALSE(r.ok());
  CHECK_MESSAGE(contains(r.status().message(), "absent.npy"), r.status().message());
}
