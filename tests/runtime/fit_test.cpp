// runtime/fit.cpp: the codec-model fitter on tests/data/onnx/skipnet.onnx split at its residual
// block's output (4 ReLU channels of 8×8) over a small synthetic .npy data set — deterministic
// bytes, a file the model reader accepts with entropy params coder 5 accepts, quantizers that
// keep exact zeros at 0.0 — and the entropy-constrained quantizer on its own.
#include "runtime/fit.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "codec/entropy/context_rans.hpp"
#include "codec/io/npy.hpp"
#include "codec/symbols.hpp"

namespace fs = std::filesystem;
using namespace ftc;
using namespace ftc::runtime;

namespace {

constexpr std::int64_t kImages = 40;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("ftc_fit_test_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& f) const { return (path / f).string(); }
};

// kImages u8 images (N, 1, 8, 8) and labels (N,) as npy:X,Y.
std::string make_data(const TempDir& dir) {
  Tensor x = Tensor::zeros(DType::u8, {kImages, 1, 8, 8}).value();
  for (std::size_t i = 0; i < x.byte_size(); ++i) x.data()[i] = static_cast<std::uint8_t>((i * 37 + i / 64 * 11 + (i * i) % 29) % 256);
  Tensor y = Tensor::zeros(DType::i32, {kImages}).value();
  for (std::int64_t i = 0; i < kImages; ++i) y.data_as<std::int32_t>()[i] = static_cast<std::int32_t>(i % 3);
  REQUIRE(io::write_npy_file(dir / "x.npy", x.view()).ok());
  REQUIRE(io::write_npy_file(dir / "y.npy", y.view()).ok());
  return "npy:" + dir / "x.npy" + "," + dir / "y.npy";
}

FitOptions skipnet_options(const std::string& data) {
  FitOptions o;
  o.model = std::string(FTC_SOURCE_DIR) + "/tests/data/onnx/skipnet.onnx";
  o.at = "block_out";
  o.data = data;
  o.mean = {0.5};
  o.std = {0.25};
  o.rate_points = 3;
  return o;
}

}  // namespace

TEST_CASE("fit_codec_model: deterministic bytes, a valid file, coder-5 params, zeros reconstruct to 0.0") {
  TempDir dir;
  const FitOptions o = skipnet_options(make_data(dir));
  std::vector<FitEvent> events;
  auto a = fit_codec_model(o, [&](const FitEvent& e) { events.push_back(e); });
  REQUIRE_MESSAGE(a.ok(), a.status().to_string());
  auto b = fit_codec_model(o);
  REQUIRE(b.ok());
  CHECK(a->bytes == b->bytes);
  CHECK(!events.empty());
  CHECK(events.front().kind == FitEvent::Kind::plan);

  CHECK(a->tensor == "block_out");
  CHECK(a->shape == Shape{1, 4, 8, 8});
  CHECK(a->heldout_images == 10);  // the default holdout, 0.25 of 40 images
  CHECK(a->calibration_images == 30);
  REQUIRE(a->points.size() == 3);

  auto parsed = model::parse_codec_model(a->bytes);
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().to_string());
  CHECK(*parsed == a->file);
  CHECK(parsed->model_id != 0);
  REQUIRE(parsed->tensors.size() == 1);
  REQUIRE(parsed->rate_points.size() == 3);

  std::size_t pinned_groups = 0;
  for (std::size_t r = 0; r < parsed->rate_points.size(); ++r) {
    const auto& tc = parsed->rate_points[r].tensors.at(0);
    const Shape coded = model::coded_shape(parsed->tensors[0], tc.transform);
    const std::uint64_t groups = model::quantizer_groups(tc.quantizer, coded);
    CHECK(groups == a->points[r].kept_channels);
    REQUIRE(tc.quantizer.kind == model::QuantKind::nonuniform);
    REQUIRE(tc.entropy.coder == CoderKind::context_rans);
    ContextMap ctx = ContextMap::along(coded, 1);
    auto cr = entropy::ContextRansModel::parse(tc.entropy.params, tc.quantizer.bits, ctx);
    CHECK_MESSAGE(cr.ok(), cr.status().to_string());
    CHECK(cr->alphabet == tc.quantizer.levels);
    // Every group: x = 0 falls in a level that is exactly 0.0 (each kept channel of a ReLU output
    // has zeros on these images) — the encoder's symbol is the count of thresholds ≤ x.
    const std::uint32_t L = tc.quantizer.levels;
    for (std::uint64_t g = 0; g < groups; ++g) {
      std::uint32_t q = 0;
      for (std::uint32_t j = 0; j + 1 < L; ++j) q += tc.quantizer.threshold[g * (L - 1) + j] <= 0.0f ? 1 : 0;
      if (tc.quantizer.level[g * L + q] == 0.0f) ++pinned_groups;
      CHECK(tc.quantizer.level[g * L + q] == 0.0f);
      CHECK(tc.quantizer.level[g * L] >= 0.0f);  // no level below the data of a ReLU channel
    }
    // Estimates are internally consistent: frame = payload + 6, payload = bits/8 + 4.
    const auto& p = a->points[r];
    CHECK(p.frame_bytes == doctest::Approx(p.payload_bytes + 6));
    CHECK(p.payload_bytes == doctest::Approx(p.bits_per_element * 256 / 8 + 4));
    CHECK(p.agreement >= 0.0);
    CHECK(p.agreement <= 1.0);
  }
  CHECK(pinned_groups > 0);
  // Rates fall from the first rate point to the last.
  CHECK(a->points.front().zeroth_order_bpe > a->points.back().zeroth_order_bpe);
}

TEST_CASE("fit_codec_model: errors name the fault") {
  TempDir dir;
  FitOptions o = skipnet_options(make_data(dir));
  o.at = "block_c2";  // the cut also needs stem_relu: two tensors
  auto r = fit_codec_model(o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("needs 2 tensors") != std::string::npos);
  o = skipnet_options("npy:/nonexistent/x.npy,/nonexistent/y.npy");
  CHECK_FALSE(fit_codec_model(o).ok());
  o = skipnet_options(make_data(dir));
  o.rate_points = 0;
  CHECK(check_fit_options(o).code() == StatusCode::invalid_argument);
  CHECK(fit_codec_model(o).status().code() == StatusCode::invalid_argument);
}

TEST_CASE("fit_ecsq: a pinned zero level, strictly increasing levels, fewer levels at a higher multiplier") {
  // Half exact zeros, the rest spread over (0, 4].
  ChannelHistogram h;
  h.lo = 0.01, h.hi = 4.0;
  h.zeros = 1000;
  const std::size_t B = 64;
  h.n.assign(B, 0), h.s.assign(B, 0), h.s2.assign(B, 0);
  for (std::size_t b = 0; b < B; ++b) {
    const double x = h.lo + (h.hi - h.lo) * (double(b) + 0.5) / double(B);
    const double n = double(B - b);  // decreasing density
    h.n[b] = n, h.s[b] = n * x, h.s2[b] = n * x * x;
  }
  const ChannelQuantizer fine = fit_ecsq(h, 1e-4, 16);
  const ChannelQuantizer coarse = fit_ecsq(h, 0.5, 16);
  for (const auto* q : {&fine, &coarse}) {
    CHECK(q->zero_pinned);
    REQUIRE(q->level.size() >= 2);
    REQUIRE(q->threshold.size() == q->level.size() - 1);
    CHECK(q->level[quantize(*q, 0.0)] == 0.0);
    CHECK(quantize(*q, 0.0) == 0);
    CHECK(q->threshold[0] > 0.0);
    for (std::size_t j = 0; j + 1 < q->level.size(); ++j) {
      CHECK(q->level[j] < q->level[j + 1]);
      CHECK(q->threshold[j] >= q->level[j]);
      CHECK(q->threshold[j] <= q->level[j + 1]);
    }
    CHECK(q->level.size() <= 16);
  }
  CHECK(coarse.level.size() < fine.level.size());
  CHECK(coarse.bits < fine.bits);
  CHECK(coarse.distortion > fine.distortion);
  // The coarse quantizer's dead zone reaches past the midpoint between 0 and the next level.
  CHECK(coarse.threshold[0] > 0.5 * coarse.level[1]);
}
