// The first hour of a new user (issue 19), one case per item: contradictory encode flags are
// refused, ftc eval checks its output paths before the run and states its real default sweep,
// npy:X,Y takes NumPy's (N, H, W, C) images and int64 labels, the eval report carries a top-1
// confidence interval, per-pixel units on cloud rows, colours fixed per curve and no folders in
// plot titles, and a model-bound frame's summary names its codec model.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "codec/io/npy.hpp"
#include "ftc/ftc.hpp"
#ifdef FTC_WITH_PIPELINE
#include "runtime/dataset.hpp"
#include "runtime/study.hpp"
#endif

namespace fs = std::filesystem;
using namespace ftc;

namespace {

// The CLI harness of cli_test.cpp (to be shared through tests/cli/cli_harness.hpp).
struct Run {
  int status;
  std::string out, err;
};

Run run(const std::string& args, const std::string& env = "") {
  static int n = 0;
  const fs::path dir = fs::temp_directory_path();
  const auto o = dir / ("ftc_first_hour_out_" + std::to_string(getpid()) + "_" + std::to_string(n));
  const auto e = dir / ("ftc_first_hour_err_" + std::to_string(getpid()) + "_" + std::to_string(n++));
  const std::string cmd = env + std::string(FTC_CLI) + " " + args + " >" + o.string() + " 2>" + e.string();
  const int raw = std::system(cmd.c_str());
  auto slurp = [](const fs::path& p) {
    std::ifstream f(p);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  Run r{WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, slurp(o), slurp(e)};
  fs::remove(o);
  fs::remove(e);
  return r;
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("ftc_first_hour_" + std::to_string(getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& f) const { return (path / f).string(); }
};

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

Tensor features() {
  Tensor t = Tensor::zeros(DType::f32, {1, 8, 6, 6}).value();
  float* p = t.data_as<float>();
  for (std::size_t i = 0; i < t.element_count(); ++i) p[i] = static_cast<float>((i * 37) % 17) * 0.25f;
  return t;
}

// CSV rows by name: column name → value.
std::map<std::string, std::map<std::string, std::string>> read_csv(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  std::vector<std::string> header;
  std::stringstream hs(line);
  for (std::string c; std::getline(hs, c, ',');) header.push_back(c);
  std::map<std::string, std::map<std::string, std::string>> rows;
  while (std::getline(f, line)) {
    std::stringstream ls(line);
    std::map<std::string, std::string> row;
    std::size_t i = 0;
    for (std::string c; std::getline(ls, c, ',') && i < header.size(); ++i) row[header[i]] = c;
    rows[row["name"]] = row;
  }
  return rows;
}

}  // namespace

TEST_CASE("encode refuses flags that exclude each other, and writes nothing") {
  TempDir tmp;
  REQUIRE(io::write_npy_file(tmp / "x.npy", features().view()).ok());
  const std::string model = std::string(FTC_SOURCE_DIR) + "/models/fmnist_resnet.ftcm";
  const std::pair<const char*, const char*> refused[] = {
      {"--lossless --bits 4", "quantizer=lossless and bits=4 exclude each other"},
      {"--cast f16 --bits 4", "quantizer=f16 and bits=4 exclude each other"},
      {"--cast bf16 --clip 0,1", "quantizer=bf16 and clip=0,1 exclude each other"},
      {"--lossless --per-channel 1", "quantizer=lossless and per-channel=1 exclude each other"},
      {"--coder rans --level 9", "coder=rans and level=9 exclude each other"},
      {"--lanes 64", "coder=zstd (the default) and lanes=64 exclude each other"},
      {"--lossless --cast f16", "--lossless and --cast exclude each other"},
      {"--rate-point 2", "--rate-point needs --codec-model"},
  };
  for (const auto& [flags, message] : refused) {
    CAPTURE(flags);
    Run r = run("encode " + tmp / "x.npy -o " + tmp / "y.ftc " + flags);
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.err.find(message) != std::string::npos, r.err);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_FALSE(fs::exists(tmp / "y.ftc"));
  }
  Run with_model = run("encode " + tmp / "x.npy -o " + tmp / "y.ftc --codec-model " + model + " --coder rans");
  CHECK(with_model.status == 1);
  CHECK_MESSAGE(with_model.err.find("--codec-model and --coder rans exclude each other") != std::string::npos, with_model.err);
  CHECK_FALSE(fs::exists(tmp / "y.ftc"));
  // Their compatible neighbours are taken.
  for (const char* flags : {"--lossless --level 9", "--coder rans --lanes 64", "--lossless --per-channel none",
                            "--cast f16 --coder rans", "--bits 4 --clip 0,2"}) {
    CAPTURE(flags);
    Run r = run("encode -q -f " + tmp / "x.npy -o " + tmp / "y.ftc " + flags);
    CHECK_MESSAGE(r.status == 0, r.err);
  }
}

TEST_CASE("a model-bound frame's summary names the codec model and rate point") {
  TempDir tmp;
  auto model = CodecModel::from_file(std::string(FTC_SOURCE_DIR) + "/models/fmnist_resnet.ftcm");
  REQUIRE(model.ok());
  Tensor x = Tensor::zeros((*model)->tensor_dtype(), (*model)->tensor_shape()).value();
  for (std::size_t i = 0; i < x.element_count(); ++i) x.data_as<float>()[i] = static_cast<float>(i % 5);
  REQUIRE(io::write_npy_file(tmp / "x.npy", x.view()).ok());
  Run r = run("encode " + tmp / "x.npy -o " + tmp / "y.ftc --codec-model " + std::string(FTC_SOURCE_DIR) +
              "/models/fmnist_resnet.ftcm --rate-point 3");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const std::string want = "codec model " + std::to_string((*model)->id()) + " rate point 3 (" + (*model)->rate_point_label(3) + ")";
  CHECK_MESSAGE(r.err.find(want) != std::string::npos, r.err);
  CHECK(r.err.find("coder zstd") == std::string::npos);
  CHECK(r.err.find(" -> " + std::to_string(fs::file_size(tmp / "y.ftc")) + " bytes") != std::string::npos);
}

#ifdef FTC_WITH_PIPELINE
namespace {

const std::string kModel = std::string(FTC_SOURCE_DIR) + "/models/fmnist_resnet.onnx";

// n images of 28×28 in `layout` ("nchw": (N,1,28,28), "nhwc": (N,28,28,1)) with labels 0..9 as
// int32 or int64 (NumPy's default), written as numpy.save writes them.
std::string npy_data(const TempDir& tmp, const std::string& tag, std::size_t n, bool nhwc, bool int64_labels) {
  const Shape shape = nhwc ? Shape{static_cast<std::int64_t>(n), 28, 28, 1} : Shape{static_cast<std::int64_t>(n), 1, 28, 28};
  Tensor x = Tensor::zeros(DType::u8, shape).value();
  for (std::size_t i = 0; i < x.byte_size(); ++i) x.data()[i] = static_cast<std::uint8_t>((i * 131 + i / 97) % 256);
  REQUIRE(io::write_npy_file(tmp / ("x" + tag + ".npy"), x.view()).ok());
  // The labels' .npy byte for byte as numpy.save(np.arange(n) % 10) writes it (no int64 DType in ftc).
  std::string header = "{'descr': '" + std::string(int64_labels ? "<i8" : "<i4") + "', 'fortran_order': False, 'shape': (" +
                       std::to_string(n) + ",), }";
  header.resize(128 - 10 - 1, ' ');  // the data starts at a multiple of 64 bytes
  header += '\n';
  std::string file = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header;
  for (std::size_t i = 0; i < n; ++i)
    for (int b = 0; b < (int64_labels ? 8 : 4); ++b) file += static_cast<char>(b == 0 ? i % 10 : 0);
  std::ofstream(tmp / ("y" + tag + ".npy"), std::ios::binary) << file;
  return "npy:" + tmp / ("x" + tag + ".npy") + "," + tmp / ("y" + tag + ".npy");
}

}  // namespace

TEST_CASE("npy:X,Y takes (N,H,W,C) images and int64 labels; an ambiguous shape asks for :nhwc or :nchw") {
  TempDir tmp;
  const std::string nchw = npy_data(tmp, "a", 6, false, false), nhwc = npy_data(tmp, "b", 6, true, true);
  const std::string base = "eval --model " + kModel + " --baselines cloud-png --bits 4 --no-progress --threads 1";
  Run a = run(base + " --data " + nchw + " --csv " + tmp / "a.csv");
  REQUIRE_MESSAGE(a.status == 0, a.err);
  Run b = run(base + " --data " + nhwc + " --csv " + tmp / "b.csv");
  REQUIRE_MESSAGE(b.status == 0, b.err);
  // The same images and labels, held either way, give the same bytes and accuracy.
  const auto ra = read_csv(tmp / "a.csv"), rb = read_csv(tmp / "b.csv");
  REQUIRE(ra.size() == 2);
  for (const auto& [name, row] : ra) {
    CAPTURE(name);
    REQUIRE(rb.count(name) == 1);
    for (const char* col : {"bytes_mean", "top1", "images"}) CHECK(rb.at(name).at(col) == row.at(col));
  }
  // The suffix says which when the shape fits both ((N,3,5,3) is C=3 either way).
  Tensor amb = Tensor::zeros(DType::u8, {2, 3, 5, 3}).value();
  REQUIRE(io::write_npy_file(tmp / "amb.npy", amb.view()).ok());
  Run ambiguous = run(base + " --data npy:" + tmp / "amb.npy");
  CHECK(ambiguous.status == 1);
  CHECK_MESSAGE(ambiguous.err.find("add :nchw or :nhwc to the data spec") != std::string::npos, ambiguous.err);
  auto ds = runtime::open_dataset("npy:" + tmp / "amb.npy:nhwc");
  REQUIRE(ds.ok());
  CHECK((*ds)->get(0)->image.shape() == Shape{3, 3, 5});
  // Labels that are not integers are still refused, naming the dtype.
  Tensor yf = Tensor::zeros(DType::f32, {6}).value();
  REQUIRE(io::write_npy_file(tmp / "yf.npy", yf.view()).ok());
  Run floats = run(base + " --data npy:" + tmp / "xb.npy," + tmp / "yf.npy");
  CHECK(floats.status == 1);
  CHECK_MESSAGE(floats.err.find("'<f4' is not an integer type") != std::string::npos, floats.err);
}

TEST_CASE("eval checks its output paths before the run, makes missing folders, and its help states the default sweep") {
  TempDir tmp;
  const std::string data = npy_data(tmp, "", 4, false, true);
  const std::string base = "eval --model " + kModel + " --data " + data + " --baselines none --bits 4 --no-progress";
  std::ofstream(tmp / "a_file") << "x";
  Run under_file = run(base + " --json " + tmp / "new.json --csv " + tmp / "a_file/sub/r.csv");
  CHECK(under_file.status == 1);
  CHECK_MESSAGE(under_file.err.find("a_file is not a directory") != std::string::npos, under_file.err);
  CHECK(under_file.out.empty());  // refused before the run: no table
  CHECK(under_file.err.find("configurations x") == std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "new.json"));
  Run dir = run(base + " --plot " + tmp.path.string());
  CHECK(dir.status == 1);
  CHECK(dir.err.find("is a directory") != std::string::npos);
  CHECK(dir.out.empty());
  // Without gnuplot, --plot is refused before the run (not after it).
  Run no_gnuplot = run(base + " --plot " + tmp / "p.png", "PATH=" + tmp / "empty" + " ");
  CHECK(no_gnuplot.status == 1);
  CHECK_MESSAGE(no_gnuplot.err.find("gnuplot is not installed") != std::string::npos, no_gnuplot.err);
  CHECK(no_gnuplot.out.empty());
  CHECK_FALSE(fs::exists(tmp / "p.dat"));
  Run nested = run(base + " --csv " + tmp / "out/a/b/r.csv --json " + tmp / "out/r.json");
  REQUIRE_MESSAGE(nested.status == 0, nested.err);
  CHECK(fs::file_size(tmp / "out/a/b/r.csv") > 0);
  CHECK(fs::file_size(tmp / "out/r.json") > 0);

  // --help names the sweep the study really runs (runtime::default_sweep()).
  Run help = run("eval --help");
  REQUIRE(help.status == 0);
  std::string sweep;
  for (const auto& axis : runtime::default_sweep()) {
    sweep += (sweep.empty() ? "" : " x ") + axis.key + "=";
    for (std::size_t i = 0; i < axis.values.size(); ++i) sweep += (i ? "," : "") + axis.values[i];
  }
  CHECK_MESSAGE(help.out.find("default, without codec flags or --sweep: uniform quantization per channel along axis 1, " + sweep) !=
                    std::string::npos,
                help.out);
  // eval refuses contradictory flags as encode does, but a sweep frees what it varies.
  Run both = run(base.substr(0, base.find(" --bits")) + " --lossless --per-channel 1");
  CHECK(both.status == 1);
  CHECK(both.err.find("exclude each other") != std::string::npos);
  Run swept = run(base.substr(0, base.find(" --bits")) + " --lanes 64 --sweep coder=rans,rans-wide --csv " + tmp / "s.csv");
  CHECK_MESSAGE(swept.status == 0, swept.err);
}

TEST_CASE("the eval report: top-1 95% interval and noise note, bits per pixel on cloud rows, fixed colours, short titles") {
  TempDir tmp;
  const std::string data = npy_data(tmp, "", 8, true, true);
  const std::string base = "eval --model " + kModel + " --data " + data + " --bits 4 --no-progress";
  Run r = run(base + " --baselines f16,cloud-png --csv " + tmp / "r.csv --json " + tmp / "r.json --plot " + tmp / "p1.png");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const auto rows = read_csv(tmp / "r.csv");
  REQUIRE(rows.size() == 3);
  for (const auto& [name, row] : rows) {
    CAPTURE(name);
    const double p = std::stod(row.at("top1")), lo = std::stod(row.at("top1_ci95_lo")), hi = std::stod(row.at("top1_ci95_hi"));
    // Wilson at n = 8, z = 1.96.
    const double n = 8, z = 1.96, c = (p + z * z / (2 * n)) / (1 + z * z / n);
    const double h = z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n);
    CHECK(lo == doctest::Approx(std::max(0.0, c - h)).epsilon(1e-9));
    CHECK(hi == doctest::Approx(std::min(1.0, c + h)).epsilon(1e-9));
    CHECK(lo <= p);
    CHECK(hi >= p);
    CHECK(row.at("bits_unit") == (name == "cloud-png" ? "input pixel" : "element"));
  }
  CHECK(r.out.find("/px") != std::string::npos);
  CHECK(r.out.find("bits per input pixel") != std::string::npos);
  CHECK(r.out.find("top-1 differences smaller than that are noise of the image count") != std::string::npos);
  const auto j = nlohmann::json::parse(slurp(tmp / "r.json"));
  CHECK(j["top1_noise_points"].get<double>() > 10);  // 8 images: wide
  CHECK(j["rows"][0]["top1_ci95"].size() == 2);

  // The same curve keeps its colour when the other curves change; titles hold no folders.
  Run r2 = run(base + " --baselines cloud-png --plot " + tmp / "p2.png");
  REQUIRE_MESSAGE(r2.status == 0, r2.err);
  const std::regex entry("lc rgb '(#[0-9a-f]{6})' title '([^']*)'");
  auto colours = [&](const std::string& gp) {
    std::map<std::string, std::string> out;
    const std::string text = slurp(gp);
    for (std::sregex_iterator it(text.begin(), text.end(), entry), end; it != end; ++it) out[(*it)[2]] = (*it)[1];
    return out;
  };
  const auto c1 = colours(tmp / "p1.gp"), c2 = colours(tmp / "p2.gp");
  REQUIRE(c1.size() == 3);
  REQUIRE(c2.size() == 2);
  for (const auto& [title, colour] : c2) {
    CAPTURE(title);
    REQUIRE(c1.count(title) == 1);
    CHECK(c1.at(title) == colour);
  }
  CHECK(c1.at("f16") != c1.at("ftc-u-pc1-zstd"));
  const std::string gp = slurp(tmp / "p1.gp");
  const auto title = gp.find("set multiplot layout 2,1 title");
  REQUIRE(title != std::string::npos);
  const std::string title_line = gp.substr(title, gp.find('\n', title) - title);
  CHECK_MESSAGE(title_line.find(tmp.path.string()) == std::string::npos, title_line);
  CHECK(title_line.find("fmnist_resnet.onnx") != std::string::npos);
  CHECK(title_line.find(FTC_SOURCE_DIR) == std::string::npos);
}
#endif
