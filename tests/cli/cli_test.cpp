// The ftc command as a user runs it (issue acceptance): encode/decode/info, overwrite rule,
// stdin/stdout, one-line errors with exit status 1 on damaged frames.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
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

Run run(const std::string& args) { return test::run_program(FTC_CLI, args); }

// Writes tmp/x.npy (u8 images of `shape`, byte i = pixel(i)) and tmp/y.npy (one 0 label per
// image) and returns the --data value that names them: "npy:X,Y".
template <class Pixel>
std::string write_npy_dataset(const TempDir& tmp, const Shape& shape, Pixel pixel) {
  Tensor images = Tensor::zeros(DType::u8, shape).value();
  for (std::size_t i = 0; i < images.byte_size(); ++i) images.data()[i] = static_cast<std::uint8_t>(pixel(i));
  Tensor labels = Tensor::zeros(DType::i32, {shape.at(0)}).value();
  REQUIRE(io::write_npy_file(tmp / "x.npy", images.view()).ok());
  REQUIRE(io::write_npy_file(tmp / "y.npy", labels.view()).ok());
  return "npy:" + tmp / "x.npy" + "," + tmp / "y.npy";
}

}  // namespace

TEST_CASE("8-bit per-channel round trip stays within half a step of each channel; lossless is exact") {
  TempDir tmp;
  Tensor x = features();
  REQUIRE(io::write_npy_file(tmp / "x.npy", x.view()).ok());
  Run e = run("encode " + tmp / "x.npy" + " -o " + tmp / "x.ftc" + " --bits 8 --per-channel 1");
  REQUIRE_MESSAGE(e.status == 0, e.err);
  Run d = run("decode " + tmp / "x.ftc" + " -o " + tmp / "y.npy");
  REQUIRE_MESSAGE(d.status == 0, d.err);
  Tensor y = io::read_npy_file(tmp / "y.npy").value();
  REQUIRE(y.shape() == x.shape());
  for (int c = 0; c < 64; ++c) {
    const float* a = x.data_as<float>() + c * 784;
    const float* b = y.data_as<float>() + c * 784;
    float lo = a[0], hi = a[0];
    for (int i = 0; i < 784; ++i) { lo = std::min(lo, a[i]); hi = std::max(hi, a[i]); }
    const double half_step = (hi - lo) / 255.0 / 2.0;
    for (int i = 0; i < 784; ++i) REQUIRE(std::fabs(a[i] - b[i]) <= half_step * (1 + 1e-5) + 1e-7);
  }
  Run info = run("info --json " + tmp / "x.ftc");
  REQUIRE(info.status == 0);
  auto j = nlohmann::json::parse(info.out);
  CHECK(j["shape"] == nlohmann::json::array({1, 64, 28, 28}));
  CHECK(j["dtype"] == "f32");
  CHECK(j["format_version"] == "1.0");
  CHECK(j["bytes"] == fs::file_size(tmp / "x.ftc"));

  REQUIRE(run("encode " + tmp / "x.npy" + " -o " + tmp / "l.ftc --lossless --coder rans").status == 0);
  REQUIRE(run("decode " + tmp / "l.ftc" + " -o " + tmp / "l.npy").status == 0);
  Tensor l = io::read_npy_file(tmp / "l.npy").value();
  CHECK(std::equal(l.data(), l.data() + l.byte_size(), x.data()));
  Run text = run("info " + tmp / "l.ftc");
  CHECK(text.status == 0);
  CHECK(text.out.find("lossless") != std::string::npos);
}

TEST_CASE("--coder rans-wide writes coder 4 in a format 1.2 frame that decodes like --coder rans") {
  TempDir tmp;
  Tensor x = features();   // 50,176 elements: under 64 Ki, so --coder rans stays coder 2 (1.0)
  REQUIRE(io::write_npy_file(tmp / "x.npy", x.view()).ok());
  Run w = run("encode " + tmp / "x.npy" + " -o " + tmp / "w.ftc --bits 8 --per-channel 1 --coder rans-wide");
  REQUIRE_MESSAGE(w.status == 0, w.err);
  REQUIRE(run("encode " + tmp / "x.npy" + " -o " + tmp / "r.ftc --bits 8 --per-channel 1 --coder rans").status == 0);
  auto wj = nlohmann::json::parse(run("info --json " + tmp / "w.ftc").out);
  CHECK(wj["format_version"] == "1.2");
  CHECK(wj["tensors"][0]["coder"] == "rans-wide");
  auto rj = nlohmann::json::parse(run("info --json " + tmp / "r.ftc").out);
  CHECK(rj["format_version"] == "1.0");
  CHECK(rj["tensors"][0]["coder"] == "rans");
  Run text = run("info " + tmp / "w.ftc");
  CHECK(text.out.find("format 1.2") != std::string::npos);
  CHECK(text.out.find("coder rans-wide") != std::string::npos);
  REQUIRE(run("decode " + tmp / "w.ftc" + " -o " + tmp / "w.npy").status == 0);
  REQUIRE(run("decode " + tmp / "r.ftc" + " -o " + tmp / "r.npy").status == 0);
  CHECK(read_bytes(tmp / "w.npy") == read_bytes(tmp / "r.npy"));
  Run bad = run("encode " + tmp / "x.npy" + " -o " + tmp / "b.ftc --coder rans-narrow");
  CHECK(bad.status != 0);
}

TEST_CASE("damaged frames exit 1 with one line naming the file and the reason") {
  TempDir tmp;
  Tensor x = features();
  REQUIRE(io::write_npy_file(tmp / "x.npy", x.view()).ok());
  REQUIRE(run("encode " + tmp / "x.npy" + " -o " + tmp / "x.ftc --bits 6 --per-channel 1 --coder rans").status == 0);
  auto frame = read_bytes(tmp / "x.ftc");
  for (std::size_t cut : {std::size_t{0}, std::size_t{5}, frame.size() / 2, frame.size() - 1}) {
    std::ofstream(tmp / "bad.ftc", std::ios::binary).write(reinterpret_cast<const char*>(frame.data()), static_cast<std::streamsize>(cut));
    Run r = run("decode " + tmp / "bad.ftc" + " -o " + tmp / "bad.npy -f");
    CHECK(r.status == 1);
    CHECK(r.err.find(tmp / "bad.ftc") != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  for (std::size_t pos : {std::size_t{4}, std::size_t{20}, frame.size() / 2, frame.size() - 2}) {
    auto bad = frame;
    bad[pos] ^= 0x04;
    std::ofstream(tmp / "flip.ftc", std::ios::binary).write(reinterpret_cast<const char*>(bad.data()), static_cast<std::streamsize>(bad.size()));
    Run r = run("decode " + tmp / "flip.ftc" + " -o " + tmp / "flip.npy -f");
    CHECK(r.status == 1);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_FALSE(fs::exists(tmp / "flip.npy"));
  }
  Run missing = run("decode " + tmp / "nope.ftc" + " -o " + tmp / "n.npy");
  CHECK(missing.status == 1);
  Run not_npy = run("encode " + tmp / "x.ftc" + " -o " + tmp / "z.ftc");
  CHECK(not_npy.status == 1);
  CHECK(not_npy.err.find("x.ftc") != std::string::npos);
}

TEST_CASE("outputs are not overwritten without -f; '-' reads stdin and writes stdout; --help works") {
  TempDir tmp;
  Tensor x = features();
  REQUIRE(io::write_npy_file(tmp / "x.npy", x.view()).ok());
  REQUIRE(run("encode " + tmp / "x.npy" + " -o " + tmp / "x.ftc").status == 0);
  const auto before = read_bytes(tmp / "x.ftc");
  Run again = run("encode " + tmp / "x.npy" + " -o " + tmp / "x.ftc --bits 2");
  CHECK(again.status == 1);
  CHECK(again.err.find("already exists") != std::string::npos);
  CHECK(read_bytes(tmp / "x.ftc") == before);
  CHECK(run("encode " + tmp / "x.npy" + " -o " + tmp / "x.ftc --bits 2 -f").status == 0);
  CHECK(read_bytes(tmp / "x.ftc") != before);

  // run() captures stdout: the frame and the .npy come back through it.
  Run enc = run("encode - -o - --lossless < " + tmp / "x.npy");
  REQUIRE(enc.status == 0);
  std::ofstream(tmp / "pipe.ftc", std::ios::binary) << enc.out;
  Run dec = run("decode - -o - < " + tmp / "pipe.ftc");
  REQUIRE(dec.status == 0);
  const auto npy = read_bytes(tmp / "x.npy");
  CHECK(std::string(npy.begin(), npy.end()) == dec.out);

  for (const char* sub : {"encode", "decode", "info", "bench"}) {
    Run h = run(std::string(sub) + " --help");
    CHECK(h.status == 0);
    CHECK(h.out.find("Usage") != std::string::npos);
  }
  CHECK(run("encode " + tmp / "x.npy" + " -o " + tmp / "q.ftc --bits 17").status == 1);
}

TEST_CASE("several inputs go into one frame and decode into a directory") {
  TempDir tmp;
  Tensor x = features();
  REQUIRE(io::write_npy_file(tmp / "skip.npy", x.view()).ok());
  REQUIRE(io::write_npy_file(tmp / "main.npy", x.view()).ok());
  REQUIRE(run("encode " + tmp / "skip.npy " + tmp / "main.npy -o " + tmp / "cut.ftc --bits 4").status == 0);
  Run info = run("info --json " + tmp / "cut.ftc");
  auto j = nlohmann::json::parse(info.out);
  REQUIRE(j["tensors"].size() == 2);
  CHECK(j["tensors"][0]["name"] == "skip");
  REQUIRE(run("decode " + tmp / "cut.ftc -o " + tmp / "out").status == 0);
  CHECK(fs::exists(tmp / "out/skip.npy"));
  CHECK(fs::exists(tmp / "out/main.npy"));
}

TEST_CASE("codec flags take their ranges from the encoder's option table; a bad value names the option") {
  TempDir tmp;
  Tensor x = features();
  REQUIRE(io::write_npy_file(tmp / "x.npy", x.view()).ok());
  Run bits = run("encode " + tmp / "x.npy" + " -o " + tmp / "b.ftc --bits 17");
  CHECK(bits.status == 1);
  CHECK_MESSAGE(bits.err.find("--bits: bits must be 1..16, got '17'") != std::string::npos, bits.err);
  CHECK_FALSE(fs::exists(tmp / "b.ftc"));
  Run lanes = run("encode " + tmp / "x.npy" + " -o " + tmp / "b.ftc --lanes 48");
  CHECK(lanes.status == 1);
  CHECK_MESSAGE(lanes.err.find("lanes must be 0, 32, 64, 128, got '48'") != std::string::npos, lanes.err);
  Run both = run("encode " + tmp / "x.npy" + " -o " + tmp / "b.ftc --lossless --cast f16");
  CHECK(both.status == 1);
  CHECK(both.err.find("--lossless and --cast exclude each other") != std::string::npos);
  // --per-channel none, --clip, --no-checksums, --lanes and --cast go through the same table.
  REQUIRE(run("encode " + tmp / "x.npy" + " -o " + tmp / "n.ftc --per-channel none --clip 0,2 --no-checksums "
              "--coder rans --lanes 64").status == 0);
  auto nj = nlohmann::json::parse(run("info --json " + tmp / "n.ftc").out);
  CHECK(nj["chunk_checksums"] == false);
  CHECK(nj["tensors"][0]["coder"] == "rans-wide");  // 64 lanes are coder 4
  CHECK_FALSE(nj["tensors"][0].contains("channel_axis"));
  REQUIRE(run("decode " + tmp / "n.ftc" + " -o " + tmp / "n.npy").status == 0);
  Tensor n = io::read_npy_file(tmp / "n.npy").value();
  const float* np = n.data_as<float>();
  CHECK(*std::max_element(np, np + n.element_count()) <= 2.0f);
  REQUIRE(run("encode " + tmp / "x.npy" + " -o " + tmp / "c.ftc --cast bf16").status == 0);
  CHECK(nlohmann::json::parse(run("info --json " + tmp / "c.ftc").out)["tensors"][0]["quantizer"] == "cast-bf16");
}

TEST_CASE("info on a codec model file describes the model; a damaged one is one line and exit 1") {
  TempDir tmp;
  const std::string path = std::string(FTC_SOURCE_DIR) + "/models/fmnist_resnet.ftcm";
  auto model = CodecModel::from_file(path);
  REQUIRE(model.ok());
  Run text = run("info " + path);
  REQUIRE_MESSAGE(text.status == 0, text.err);
  CHECK(text.out.rfind("ftc codec model, id " + std::to_string((*model)->id()), 0) == 0);
  CHECK(text.out.find(std::to_string((*model)->rate_point_count()) + " rate point(s)") != std::string::npos);
  Run json = run("info --json " + path);
  REQUIRE(json.status == 0);
  auto j = nlohmann::json::parse(json.out);
  CHECK(j["rate_points"].size() == (*model)->rate_point_count());
  CHECK(j["codec_model"]["tensor"] == (*model)->tensor_name());
  auto bytes = read_bytes(path);
  bytes.resize(bytes.size() / 2);
  {
    std::ofstream f(tmp / "half.ftcm", std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  Run half = run("info " + tmp / "half.ftcm");
  CHECK(half.status == 1);
  CHECK(std::count(half.err.begin(), half.err.end(), '\n') == 1);
  CHECK(half.err.find("codec model") != std::string::npos);
}

#ifdef FTC_WITH_PIPELINE
TEST_CASE("eval: --coder rans-wide runs; bad --bits and --sweep values name the option and its range") {
  TempDir tmp;
  const std::string data = write_npy_dataset(tmp, {3, 28, 28}, [](std::size_t i) { return (i * 7) % 251; });
  const std::string base = "eval --model " + std::string(FTC_SOURCE_DIR) + "/models/fmnist_resnet.onnx --data " +
                           data + " --baselines none --no-progress";
  Run wide = run(base + " --coder rans-wide --csv " + tmp / "r.csv");
  REQUIRE_MESSAGE(wide.status == 0, wide.err);
  std::ifstream csv(tmp / "r.csv");
  std::string header, row, extra;
  std::getline(csv, header);
  std::getline(csv, row);
  CHECK_FALSE(std::getline(csv, extra));  // codec flags given: one configuration, no default sweep
  CHECK(row.rfind("ftc-u-pc1-rans-wide b=8,ftc-u-pc1-rans-wide,split,", 0) == 0);
  CHECK(row.find("coder=rans-wide") != std::string::npos);
  CHECK(row.find(",3,") != std::string::npos);  // images

  Run bits = run(base + " --bits 17");
  CHECK(bits.status == 1);
  CHECK_MESSAGE(bits.err.find("--bits: bits must be 1..16, got '17'") != std::string::npos, bits.err);
  Run sweep = run(base + " --sweep bits=0");
  CHECK(sweep.status == 1);
  CHECK_MESSAGE(sweep.err.find("bits must be 1..16, got '0'") != std::string::npos, sweep.err);
  CHECK(std::count(sweep.err.begin(), sweep.err.end(), '\n') == 1);
  Run key = run(base + " --sweep threads=1,2");
  CHECK(key.status == 1);
  CHECK(key.err.find("unknown key 'threads'") != std::string::npos);
}

TEST_CASE("eval: --sweep none runs the codec models' configurations only, and says when that is nothing") {
  TempDir tmp;
  const std::string data = write_npy_dataset(tmp, {2, 28, 28}, [](std::size_t i) { return (i * 11) % 253; });
  const std::string src = FTC_SOURCE_DIR;
  const std::string base = "eval --model " + src + "/models/fmnist_resnet.onnx --data " + data +
                           " --baselines none --no-progress";
  const std::string model = " --codec-model " + src + "/models/fmnist_resnet.ftcm";
  Run only = run(base + model + " --sweep none --csv " + tmp / "r.csv");
  REQUIRE_MESSAGE(only.status == 0, only.err);
  std::ifstream csv(tmp / "r.csv");
  std::string line;
  std::getline(csv, line);  // header
  std::size_t rows = 0;
  while (std::getline(csv, line)) {
    ++rows;
    CHECK_MESSAGE(line.rfind("ftc-model", 0) == 0, line);  // no default-sweep row
  }
  auto fitted = CodecModel::from_file(src + "/models/fmnist_resnet.ftcm");
  REQUIRE(fitted.ok());
  CHECK(rows == (*fitted)->rate_point_count());
  CHECK(rows >= 2);

  Run none = run(base + " --sweep none");
  CHECK(none.status == 1);
  CHECK(none.err.find("'none' leaves only the --codec-model configurations") != std::string::npos);
  Run flags = run(base + model + " --sweep none --bits 4");
  CHECK(flags.status == 1);
  CHECK(flags.err.find("codec flags do not apply") != std::string::npos);
  Run mixed = run(base + model + " --sweep none --sweep bits=2,4");
  CHECK(mixed.status == 1);
  CHECK(mixed.err.find("cannot be combined") != std::string::npos);
}

TEST_CASE("fit: writes a model file the reader accepts, prints each rate point, refuses to overwrite without -f") {
  TempDir tmp;
  const std::string data =
      write_npy_dataset(tmp, {20, 1, 8, 8}, [](std::size_t i) { return (i * 37 + (i * i) % 29) % 256; });
  const std::string base = "fit --model " + std::string(FTC_SOURCE_DIR) +
                           "/tests/data/onnx/skipnet.onnx --at block_out --mean 0.5 --std 0.25 --data " + data +
                           " --rate-points 2 -o " + tmp / "m.ftcm";
  Run first = run(base);
  REQUIRE_MESSAGE(first.status == 0, first.err);
  CHECK(first.out.find("wrote " + tmp / "m.ftcm") != std::string::npos);
  CHECK(first.out.find("bits/elem") != std::string::npos);
  const auto bytes = read_bytes(tmp / "m.ftcm");
  REQUIRE(bytes.size() > 4);
  CHECK(std::string(bytes.begin(), bytes.begin() + 4) == "FTCM");
  CHECK_FALSE(fs::exists(tmp / "m.ftcm.tmp." + std::to_string(getpid())));

  Run again = run(base);
  CHECK(again.status == 1);
  CHECK_MESSAGE(again.err.find("already exists (use -f to overwrite)") != std::string::npos, again.err);
  CHECK(read_bytes(tmp / "m.ftcm") == bytes);
  Run forced = run(base + " -f");
  CHECK(forced.status == 0);
  CHECK(read_bytes(tmp / "m.ftcm") == bytes);  // deterministic: the same file again

  Run bad = run("fit --model " + std::string(FTC_SOURCE_DIR) + "/tests/data/onnx/skipnet.onnx --at block_c2 --mean 0.5 --std 0.25 --data npy:" +
                tmp / "x.npy" + "," + tmp / "y.npy" + " -o " + tmp / "n.ftcm");
  CHECK(bad.status == 1);
  CHECK(bad.err.find("the fitter fits one cut tensor") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "n.ftcm"));
}
#endif

TEST_CASE("ftc alone prints the help and succeeds; -V is --version") {
  Run bare = run("");
  CHECK(bare.status == 0);
  CHECK_MESSAGE(bare.out.find("Usage: ftc") != std::string::npos, bare.out);
  CHECK(bare.out.find("encode") != std::string::npos);
  Run v = run("-V"), version = run("--version");
  CHECK(v.status == 0);
  CHECK(v.out.rfind("ftc ", 0) == 0);
  CHECK(v.out == version.out);
}

TEST_CASE("encode prints one summary line on stderr unless -q") {
  TempDir tmp;
  Tensor x = features();
  REQUIRE(io::write_npy_file(tmp / "x.npy", x.view()).ok());
  Run loud = run("encode " + tmp / "x.npy -o " + tmp / "x.ftc --bits 4 --per-channel 1");
  REQUIRE(loud.status == 0);
  const auto size = fs::file_size(tmp / "x.ftc");
  CHECK(std::count(loud.err.begin(), loud.err.end(), '\n') == 1);
  CHECK_MESSAGE(loud.err.find("encoded 1 tensor, 200704 -> " + std::to_string(size) + " bytes (") == 0, loud.err);
  CHECK(loud.err.find("uniform 4-bit per channel, coder zstd") != std::string::npos);
  CHECK(loud.out.empty());
  Run quiet = run("encode " + tmp / "x.npy -o " + tmp / "y.ftc --bits 4 --per-channel 1 -q");
  REQUIRE(quiet.status == 0);
  CHECK(quiet.err.empty());
  CHECK(read_bytes(tmp / "x.ftc") == read_bytes(tmp / "y.ftc"));
}

TEST_CASE("decode of a multi-tensor frame: .npz written, .npy and stdout refused with the way out") {
  TempDir tmp;
  Tensor x = features();
  Tensor small = Tensor::zeros(DType::i16, {5}).value();
  REQUIRE(io::write_npy_file(tmp / "a.npy", x.view()).ok());
  REQUIRE(io::write_npy_file(tmp / "b.npy", small.view()).ok());
  REQUIRE(run("encode -q " + tmp / "a.npy " + tmp / "b.npy -o " + tmp / "ab.ftc --lossless").status == 0);
  Run npy = run("decode " + tmp / "ab.ftc -o " + tmp / "out.npy");
  CHECK(npy.status == 1);
  CHECK_MESSAGE(npy.err.find("frame holds 2 tensors, one .npy holds one: give -o OUT.npz") != std::string::npos, npy.err);
  CHECK_FALSE(fs::exists(tmp / "out.npy"));
  CHECK(run("decode " + tmp / "ab.ftc -o -").status == 1);
  REQUIRE(run("decode " + tmp / "ab.ftc -o " + tmp / "out.npz").status == 0);
  const auto z = read_bytes(tmp / "out.npz");
  REQUIRE(z.size() > 4);
  CHECK(std::equal(z.begin(), z.begin() + 4, std::begin({'P', 'K', '\3', '\4'})));
  // Stored members: each tensor's .npy bytes appear whole, after its member name.
  for (const auto& [name, t] : {std::pair{std::string("a.npy"), &x}, std::pair{std::string("b.npy"), &small}}) {
    const auto npy_bytes = io::write_npy(t->view());
    auto at = std::search(z.begin(), z.end(), name.begin(), name.end());
    REQUIRE(at != z.end());
    CHECK(std::search(at, z.end(), npy_bytes.begin(), npy_bytes.end()) == at + static_cast<std::ptrdiff_t>(name.size()));
  }
  CHECK(run("decode " + tmp / "ab.ftc -o " + tmp / "out.npz").status == 1);  // no overwrite without -f
}

#ifdef FTC_WITH_PIPELINE
TEST_CASE("layers marks the model card's recommended split") {
  const std::string model = std::string(FTC_SOURCE_DIR) + "/models/fmnist_resnet.onnx";
  Run table = run("layers " + model);
  REQUIRE(table.status == 0);
  CHECK(std::count(table.out.begin(), table.out.end(), '<') == 1);
  const auto line_at = table.out.find("<- recommended (model card)");
  REQUIRE(line_at != std::string::npos);
  const auto line_start = table.out.rfind('\n', line_at);
  CHECK(table.out.substr(line_start, line_at - line_start).find("/stage2/block1/relu_2/Relu_output_0") != std::string::npos);
  auto j = nlohmann::json::parse(run("layers --json " + model).out);
  int marked = 0;
  for (const auto& c : j["candidates"])
    if (c["recommended"] == true) {
      ++marked;
      CHECK(c["tensor"] == "/stage2/block1/relu_2/Relu_output_0");
    }
  CHECK(marked == 1);
}

TEST_CASE("features: the head's cut tensor for the first N images as one float32 .npy") {
  TempDir tmp;
  Tensor images = Tensor::zeros(DType::u8, {3, 28, 28}).value();
  for (std::size_t i = 0; i < 784; ++i) {
    images.data()[i] = static_cast<std::uint8_t>((i * 7) % 251);
    images.data()[784 + i] = static_cast<std::uint8_t>((i * 13) % 256);
    images.data()[1568 + i] = images.data()[i];  // image 2 = image 0
  }
  Tensor labels = Tensor::zeros(DType::i32, {3}).value();
  REQUIRE(io::write_npy_file(tmp / "x.npy", images.view()).ok());
  REQUIRE(io::write_npy_file(tmp / "y.npy", labels.view()).ok());
  const std::string base = "features --model " + std::string(FTC_SOURCE_DIR) + "/models/fmnist_resnet.onnx --data npy:" +
                           tmp / "x.npy" + "," + tmp / "y.npy";
  Run r = run(base + " -o " + tmp / "f.npy");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  Tensor f = io::read_npy_file(tmp / "f.npy").value();
  REQUIRE(f.dtype() == DType::f32);
  REQUIRE(f.shape() == Shape{3, 64, 14, 14});  // the card's recommended split, one row an image
  const float* p = f.data_as<float>();
  const std::size_t row = 64 * 14 * 14;
  CHECK(std::all_of(p, p + 3 * row, [](float v) { return v >= 0; }));  // a ReLU's output
  CHECK(std::any_of(p, p + row, [](float v) { return v > 0; }));
  CHECK(std::equal(p, p + row, p + 2 * row));        // same image, same features
  CHECK_FALSE(std::equal(p, p + row, p + row));      // another image, other features
  // -n takes the first N: the same rows, bit for bit.
  REQUIRE(run(base + " -n 2 -o " + tmp / "f2.npy").status == 0);
  Tensor f2 = io::read_npy_file(tmp / "f2.npy").value();
  REQUIRE(f2.shape() == Shape{2, 64, 14, 14});
  CHECK(std::equal(p, p + 2 * row, f2.data_as<float>()));
  // An explicit --at, and a normalization over the card's, change what comes out.
  REQUIRE(run(base + " --at /stage1/block1/relu_2/Relu_output_0 -n 1 -o " + tmp / "s1.npy").status == 0);
  CHECK(io::read_npy_file(tmp / "s1.npy").value().shape() == Shape{1, 32, 28, 28});
  REQUIRE(run(base + " -n 1 --mean 0 --std 1 -o " + tmp / "m.npy").status == 0);
  CHECK_FALSE(std::equal(p, p + row, io::read_npy_file(tmp / "m.npy").value().data_as<float>()));
  Run bad = run(base + " --at nope -o " + tmp / "bad.npy");
  CHECK(bad.status == 1);
  CHECK(bad.err.find("nope") != std::string::npos);
  CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 1);
  Run many = run(base + " -n 4 -o " + tmp / "bad.npy");
  CHECK(many.status == 1);
  CHECK_MESSAGE(many.err.find("holds 3 images, asked for 4") != std::string::npos, many.err);
}
#endif

TEST_CASE("benchmarks are not an ftc subcommand: they live in bench/ftc_bench, which is not installed") {
  TempDir tmp;
  REQUIRE(io::write_npy_file(tmp / "x.npy", features().view()).ok());
  Run r = run("bench coders " + tmp / "x.npy" + " --coders ftc-rans --repetitions 1 --json");
  CHECK(r.status == 1);
  CHECK(r.out.empty());
}

TEST_CASE("a tensor name that is not UTF-8 prints as JSON with replacement characters, never an abort") {
  TempDir tmp;
  Tensor x = features();
  const std::string bad = tmp / "bad\xff\xfename.npy";
  REQUIRE(io::write_npy_file(bad, x.view()).ok());
  REQUIRE(run("encode '" + bad + "' -o " + tmp / "b.ftc").status == 0);
  Run info = run("info --json " + tmp / "b.ftc");
  REQUIRE(info.status == 0);
  const auto j = nlohmann::json::parse(info.out);
  CHECK(j["tensors"][0]["name"] == "bad\xEF\xBF\xBD\xEF\xBF\xBDname");
}
