// runtime/report.cpp: BD-rate on curves with known answers, Pareto fronts, CSV/JSON shape.
#include "runtime/report.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

using namespace ftc;
using namespace ftc::runtime;

namespace {

std::vector<RatePoint> scaled(const std::vector<RatePoint>& c, double factor) {
  std::vector<RatePoint> out = c;
  for (auto& p : out) p.bytes *= factor;
  return out;
}

const std::vector<RatePoint> kAnchor = {{1000, 0.80}, {2000, 0.85}, {4000, 0.88}, {8000, 0.895}, {16000, 0.90}};

Report sample_report() {
  Report r;
  r.model = "m.onnx";
  r.split = "t";
  r.data = "fashion-mnist:test";
  r.images = 100;
  r.reference_top1 = 0.9;
  r.split_top1 = 0.9;
  auto row = [](std::string name, std::string curve, double bytes, double top1) {
    Row w;
    w.name = std::move(name);
    w.curve = std::move(curve);
    w.stage = "split";
    w.params = "x=1";
    w.images = 100;
    w.elements = 1000;
    w.bytes_mean = bytes;
    w.bytes_p95 = bytes * 1.1;
    w.bits_per_element = bytes * 8 / 1000;
    w.top1 = top1;
    w.agreement = 0.99;
    w.top1_drop = (0.9 - top1) * 100;
    return w;
  };
  for (const auto& p : kAnchor) r.rows.push_back(row("anchor b=" + std::to_string(int(p.bytes)), "anchor", p.bytes, p.accuracy));
  for (const auto& p : scaled(kAnchor, 0.5)) r.rows.push_back(row("half, b=" + std::to_string(int(p.bytes)), "half", p.bytes, p.accuracy));
  r.rows.push_back(row("single", "single", 50000, 0.9));
  r.rows.push_back(row("far1", "far", 10, 0.1));
  r.rows.push_back(row("far2", "far", 20, 0.2));
  return r;
}

}  // namespace

TEST_CASE("pareto_front keeps the points nothing beats, sorted by bytes") {
  auto f = pareto_front({{300, 0.7}, {100, 0.5}, {200, 0.45}, {400, 0.69}, {500, 0.8}, {0, 0.99}, {600, NAN}});
  REQUIRE(f.size() == 3);
  CHECK(f[0].bytes == 100);
  CHECK(f[1].bytes == 300);
  CHECK(f[2].bytes == 500);
}

TEST_CASE("PCHIP interpolates the knots, reproduces lines and stays monotone") {
  const std::vector<double> x = {0, 1, 2, 4, 8}, y = {1, 3, 5, 9, 17};  // y = 2x + 1
  for (double t : {0.0, 0.5, 1.7, 3.0, 6.5, 8.0}) CHECK(pchip_eval(x, y, t) == doctest::Approx(2 * t + 1));
  const std::vector<double> ys = {0, 0.1, 5, 5.1, 9};
  double prev = -1;
  for (double t = 0; t <= 8; t += 0.05) {
    const double v = pchip_eval(x, ys, t);
    CHECK(v >= prev - 1e-12);
    prev = v;
  }
  CHECK(pchip_eval(x, ys, -3) == doctest::Approx(0));
  CHECK(pchip_eval(x, ys, 99) == doctest::Approx(9));
}

TEST_CASE("BD-rate of a curve needing a constant factor of the anchor's bytes is that factor") {
  CHECK(*bd_rate(kAnchor, kAnchor) == doctest::Approx(0.0).epsilon(1e-9));
  CHECK(*bd_rate(kAnchor, scaled(kAnchor, 0.5)) == doctest::Approx(-50.0).epsilon(1e-6));
  CHECK(*bd_rate(kAnchor, scaled(kAnchor, 2.0)) == doctest::Approx(100.0).epsilon(1e-6));
  CHECK(*bd_rate(scaled(kAnchor, 2.0), kAnchor) == doctest::Approx(-50.0).epsilon(1e-6));
}

TEST_CASE("BD-rate over a partial overlap uses only the common accuracy interval") {
  // ln bytes linear in accuracy (so any subset of the points gives the same interpolant); the
  // test curve needs a quarter of the bytes and covers only [0.82, 0.86] of the anchor's [0.80, 0.90].
  std::vector<RatePoint> line, test;
  for (double acc : {0.80, 0.83, 0.85, 0.87, 0.90}) line.push_back({std::exp(5 + 20 * acc), acc});
  for (double acc : {0.82, 0.84, 0.86}) test.push_back({0.25 * std::exp(5 + 20 * acc), acc});
  CHECK(*bd_rate(line, test) == doctest::Approx(-75.0).epsilon(1e-6));
  // linear log-rate in accuracy on both: analytic mean over the overlap
  std::vector<RatePoint> a = {{std::exp(1.0), 0.0}, {std::exp(2.0), 1.0}};
  std::vector<RatePoint> b = {{std::exp(1.5), 0.5}, {std::exp(3.0), 1.5}};  // ln bytes = 1 + 1.5·(acc)… on [0.5, 1]
  // over [0.5, 1]: anchor ln = 1 + acc, test ln = 0.75 + 1.5·acc; mean diff = ∫(0.5·acc − 0.25)/0.5 = 0.125
  CHECK(*bd_rate(a, b) == doctest::Approx((std::exp(0.125) - 1) * 100).epsilon(1e-6));
}

TEST_CASE("BD-rate is n/a without overlap or with fewer than two Pareto points") {
  CHECK(!bd_rate(kAnchor, {{10, 0.1}, {20, 0.2}}).has_value());
  CHECK(!bd_rate(kAnchor, {{10, 0.85}}).has_value());
  CHECK(!bd_rate(kAnchor, {{10, 0.85}, {20, 0.80}}).has_value());  // second point is dominated
  CHECK(!bd_rate({}, kAnchor).has_value());
}

TEST_CASE("non-monotone curves are reduced to their Pareto front first") {
  auto noisy = scaled(kAnchor, 0.5);
  noisy.push_back({3000, 0.86});  // more bytes than (2000, 0.88)·0.5 for less accuracy: dominated
  CHECK(*bd_rate(kAnchor, noisy) == doctest::Approx(-50.0).epsilon(1e-6));
}

TEST_CASE("summarize_curves: anchor, BD-rates and reasons for n/a") {
  const Report r = sample_report();
  const auto cs = summarize_curves(r, "anchor");
  REQUIRE(cs.size() == 4);
  CHECK(cs[0].curve == "anchor");
  CHECK(cs[0].note == "anchor");
  CHECK(cs[1].curve == "half");
  REQUIRE(cs[1].bd_rate_percent.has_value());
  CHECK(*cs[1].bd_rate_percent == doctest::Approx(-50.0).epsilon(1e-6));
  CHECK(cs[2].curve == "single");
  CHECK(!cs[2].bd_rate_percent.has_value());
  CHECK(cs[2].note == "single point");
  CHECK(!cs[3].bd_rate_percent.has_value());
  CHECK(cs[3].note == "no accuracy overlap with the anchor");
  const auto none = summarize_curves(r, "nope");
  for (const auto& c : none) CHECK(!c.bd_rate_percent.has_value());
}

TEST_CASE("CSV has a header and one line per row; fields with commas are quoted") {
  const Report r = sample_report();
  const std::string csv = to_csv(r);
  std::istringstream in(csv);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  REQUIRE(lines.size() == r.rows.size() + 1);
  CHECK(lines[0].rfind("name,curve,stage,params,images,elements,bytes_mean,bytes_p95,bits_per_element,top1,agreement,top1_drop", 0) == 0);
  CHECK(lines[1].rfind("anchor b=1000,anchor,split,x=1,100,1000,1000,1100,8,0.8,", 0) == 0);
  CHECK(lines[6].rfind("\"half, b=500\",half,", 0) == 0);
}

TEST_CASE("JSON has images, reference_top1 and rows with the required fields") {
  const Report r = sample_report();
  const auto j = nlohmann::json::parse(to_json(r, summarize_curves(r, "anchor")));
  CHECK(j["images"] == 100);
  CHECK(j["reference_top1"].get<double>() == doctest::Approx(0.9));
  REQUIRE(j["rows"].size() == r.rows.size());
  for (const auto& row : j["rows"])
    for (const char* k : {"name", "bytes_mean", "bytes_p95", "bits_per_element", "top1", "agreement", "top1_drop"})
      CHECK(row.contains(k));
  CHECK(j["rows"][0]["name"] == "anchor b=1000");
  CHECK(j["curves"][1]["bd_rate_percent"].get<double>() == doctest::Approx(-50.0).epsilon(1e-6));
  CHECK(j["curves"][2]["bd_rate_percent"].is_null());
  CHECK(j["split_matches_full"] == true);
}

TEST_CASE("the table names every row and the BD-rates") {
  const Report r = sample_report();
  const std::string t = format_table(r, summarize_curves(r, "anchor"));
  for (const Row& w : r.rows) CHECK(t.find(w.name) != std::string::npos);
  CHECK(t.find("-50.0 %") != std::string::npos);
  CHECK(t.find("n/a") != std::string::npos);
}

TEST_CASE("plot_data and plot_script draw a PNG with gnuplot; run_gnuplot reports a failure in one line") {
  if (std::system("gnuplot --version > /dev/null 2>&1") != 0) {
    MESSAGE("gnuplot not installed: skipped");
    return;
  }
  const auto dir = std::filesystem::temp_directory_path() / "ftc_report_test";
  std::filesystem::create_directories(dir);
  const PlotPaths paths = plot_paths((dir / "plot.png").string());
  CHECK(paths.data == (dir / "plot.dat").string());
  CHECK(paths.script == (dir / "plot.gp").string());
  std::filesystem::remove(paths.png);
  Report r = sample_report();
  r.model = "it's a model";  // quotes in titles must not break the script
  std::ofstream(paths.data) << plot_data(r);
  std::ofstream(paths.script) << plot_script(r, paths, false);
  REQUIRE(run_gnuplot(paths.script).ok());
  REQUIRE(std::filesystem::exists(paths.png));
  std::ifstream f(paths.png, std::ios::binary);
  char sig[8] = {};
  f.read(sig, 8);
  CHECK(std::string(sig + 1, 3) == "PNG");
  std::ofstream(paths.script) << "plot 'no such file' using 1:2\n";
  const Status failed = run_gnuplot(paths.script);
  CHECK_FALSE(failed.ok());
  CHECK(failed.message().find("gnuplot failed") == 0);
  CHECK(failed.message().find('\n') == std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("top-1 95% Wilson interval: textbook values, bounds, n = 0") {
  const Interval half = top1_interval95(0.5, 100);
  CHECK(half.lo == doctest::Approx(0.40383).epsilon(1e-4));
  CHECK(half.hi == doctest::Approx(0.59617).epsilon(1e-4));
  const Interval none = top1_interval95(0.0, 10);  // 0 of 10: [0, 0.2775]
  CHECK(none.lo == 0.0);
  CHECK(none.hi == doctest::Approx(0.27754).epsilon(1e-4));
  const Interval all = top1_interval95(1.0, 10);
  CHECK(all.hi == 1.0);
  CHECK(all.lo == doctest::Approx(1 - 0.27754).epsilon(1e-4));
  const Interval empty = top1_interval95(0.3, 0);
  CHECK((empty.lo == 0.0 && empty.hi == 1.0));
  // Narrower with more images.
  CHECK(top1_interval95(0.9, 10000).hi - top1_interval95(0.9, 10000).lo < top1_interval95(0.9, 100).hi - top1_interval95(0.9, 100).lo);
}

TEST_CASE("curve colours depend on the curve alone; cloud rows count bits per input pixel") {
  const std::vector<std::string> curves = {"ftc-u-pc1-zstd", "ftc-u-pc1-rans", "ftc-u-pc1-adaptive", "f32-raw", "f16",
                                           "zstd-f32", "zfp", "mosaic-jpeg", "mosaic-png", "cloud-png", "cloud-jpeg"};
  std::set<std::string> seen;
  for (const auto& c : curves) {
    const std::string colour = curve_colour(c);
    CHECK(colour.size() == 7);
    CHECK(colour[0] == '#');
    CHECK(curve_colour(c) == colour);
    seen.insert(colour);
  }
  CHECK(seen.size() == curves.size());  // the default sweep and every baseline are told apart
  CHECK(curve_colour("ftc-fmnist-resnet") == curve_colour("ftc-fmnist-resnet"));
  Row split_row, input_row;
  split_row.stage = "split";
  input_row.stage = "input";
  CHECK(std::string(bits_unit(split_row)) == "element");
  CHECK(std::string(bits_unit(input_row)) == "input pixel");
}
