// Round trips through Encoder/Decoder over dtype × rank × quantizer × coder, with the bounds the
// quantizers promise (docs/algorithms.md): uniform |x − x̂| ≤ step/2 (+ one rounding of the
// output dtype) inside the clip range; lossless bit-exact.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "bitstream/frame.hpp"
#include "codec/quant/elements.hpp"
#include "codec/quant/quantize.hpp"
#include "ftc/ftc.hpp"

using namespace ftc;

namespace {

Tensor random_tensor(DType dtype, Shape shape, std::uint32_t seed, bool specials = false) {
  Tensor t = Tensor::zeros(dtype, std::move(shape)).value();
  std::mt19937 rng(seed);
  std::normal_distribution<double> nd(0.5, 2.0);
  const auto n = t.element_count();
  if (!specials) {
    for (std::uint64_t i = 0; i < n; ++i) {
      double v = nd(rng);
      if (!dtype_is_float(dtype)) v *= 20;
      if (dtype == DType::u8 || dtype == DType::u16) v = std::fabs(v);
      quant::store_element(dtype, t.data(), i, v);
    }
  } else {
    for (std::size_t b = 0; b < t.byte_size(); ++b) t.data()[b] = static_cast<std::uint8_t>(rng());
  }
  return t;
}

double output_rounding(DType dtype, double v) {
  switch (dtype) {
    case DType::f32: return std::fabs(v) * 6e-8 + 1e-45;
    case DType::f16: return std::fabs(v) * 4.9e-4 + 6e-8;
    case DType::bf16: return std::fabs(v) * 3.9e-3 + 1e-38;
    case DType::f64: return std::fabs(v) * 1.2e-16;
    default: return 0.5;  // integers round to nearest
  }
}

const DType kAll[] = {DType::f32, DType::f64, DType::f16, DType::bf16, DType::i8, DType::u8, DType::i16, DType::u16, DType::i32};
const Shape kShapes[] = {{}, {17}, {3, 5}, {2, 4, 3, 5}, {1, 2, 1, 3, 1, 2, 2, 3}};
const CoderKind kCoders[] = {CoderKind::raw, CoderKind::zstd, CoderKind::rans, CoderKind::adaptive, CoderKind::rans_wide};

}  // namespace

TEST_CASE("lossless is bit-exact for every dtype, rank and coder, NaN payloads and signed zeros included") {
  for (DType dt : kAll)
    for (const auto& shape : kShapes)
      for (CoderKind coder : kCoders) {
        CAPTURE(dtype_name(dt));
        CAPTURE(shape.size());
        CAPTURE(coder_name(coder));
        Tensor t = random_tensor(dt, shape, 7, /*specials=*/true);
        EncoderOptions o;
        o.quantizer = QuantizerKind::lossless;
        o.coder = coder;
        auto frame = Encoder(o).encode(t.view());
        REQUIRE(frame.ok());
        auto out = Decoder().decode(*frame);
        REQUIRE_MESSAGE(out.ok(), out.status().to_string());
        REQUIRE(out->size() == 1);
        const Tensor& r = (*out)[0].tensor;
        CHECK(r.dtype() == dt);
        CHECK(r.shape() == shape);
        CHECK(std::memcmp(r.data(), t.data(), t.byte_size()) == 0);
      }
}

TEST_CASE("uniform quantization stays within half a step, per tensor and per channel") {
  for (DType dt : kAll)
    for (const auto& shape : kShapes)
      for (int bits : {1, 3, 8, 12, 16})
        for (CoderKind coder : kCoders)
          for (bool per_channel : {false, true}) {
            if (per_channel && shape.empty()) continue;
            CAPTURE(dtype_name(dt));
            CAPTURE(shape.size());
            CAPTURE(bits);
            CAPTURE(coder_name(coder));
            CAPTURE(per_channel);
            Tensor t = random_tensor(dt, shape, 11);
            EncoderOptions o;
            o.bits = bits;
            o.coder = coder;
            if (per_channel) o.channel_axis = shape.size() > 1 ? 1 : 0;
            auto frame = Encoder(o).encode(t.view());
            REQUIRE_MESSAGE(frame.ok(), frame.status().to_string());
            auto info = Decoder().inspect(*frame);
            REQUIRE(info.ok());
            auto out = Decoder().decode(*frame);
            REQUIRE_MESSAGE(out.ok(), out.status().to_string());
            const Tensor& r = (*out)[0].tensor;
            REQUIRE(r.shape() == shape);
            // Recompute each group's step from the data to check the bound independently.
            const std::uint64_t n = t.element_count();
            std::uint64_t inner = 1, groups = 1;
            if (per_channel) {
              const int ax = shape.size() > 1 ? 1 : 0;
              for (std::size_t d = ax + 1; d < shape.size(); ++d) inner *= shape[d];
              groups = shape[ax];
            }
            std::vector<double> lo(groups, INFINITY), hi(groups, -INFINITY);
            for (std::uint64_t i = 0; i < n; ++i) {
              const auto g = (i / inner) % groups;
              const double v = quant::load_element(dt, t.data(), i);
              lo[g] = std::min(lo[g], v);
              hi[g] = std::max(hi[g], v);
            }
            for (std::uint64_t i = 0; i < n; ++i) {
              const auto g = (i / inner) % groups;
              const double step = (hi[g] - lo[g]) / (std::ldexp(1.0, bits) - 1);
              const double x = quant::load_element(dt, t.data(), i);
              const double y = quant::load_element(dt, r.data(), i);
              // step/2 from quantization, plus binary32 rounding of lo and step (a few ulps of the
              // range), plus one rounding to the output dtype.
              const double range_ulps = (std::fabs(lo[g]) + std::fabs(hi[g])) * 2.4e-7;
              const double bound = step / 2 + range_ulps + output_rounding(dt, x);
              REQUIRE_MESSAGE(std::fabs(x - y) <= bound, "element " << i << ": " << x << " -> " << y << " bound " << bound);
            }
          }
}

TEST_CASE("the uniform quantizer rounds half-steps to even and clamps, for f32 and f64, per tensor and per channel") {
  // lo = 0 and hi = 255 (f32 and f64 alike) give step 1 at 8 bits, so k + 0.5 lies on a tie.
  const std::vector<double> values{0.0, 255.0, 0.5, 1.5, 2.5, 3.49, 3.51, 253.5, 254.5, 127.5};
  const std::vector<std::uint8_t> expect{0, 255, 0, 2, 2, 3, 4, 254, 254, 128};
  for (DType dtype : {DType::f32, DType::f64}) {
    for (bool per_channel : {false, true}) {
      std::vector<std::uint8_t> bytes(values.size() * dtype_size(dtype));
      for (std::size_t i = 0; i < values.size(); ++i) {
        if (dtype == DType::f32) { const float f = static_cast<float>(values[i]); std::memcpy(&bytes[4 * i], &f, 4); }
        else std::memcpy(&bytes[8 * i], &values[i], 8);
      }
      // Per channel: one channel of all ten values (axis 0 of shape {1, 10}).
      const std::int64_t shape[2] = {1, static_cast<std::int64_t>(values.size())};
      EncoderOptions o;
      o.bits = 8;
      if (per_channel) o.channel_axis = 0;
      format::TensorDesc d;
      d.dtype = dtype;
      d.shape = {shape[0], shape[1]};
      auto q = quant::quantize(TensorView::contiguous(dtype, shape, bytes.data()), o, d);
      REQUIRE(q.ok());
      REQUIRE(d.uniform->step[0] == 1.0f);
      CHECK(q->storage == expect);
    }
  }
  // A clip range below every value clamps to 0, above every value to 2^bits − 1.
  const float low[3] = {-5.0f, -4.0f, -3.0f};
  const std::int64_t n3[1] = {3};
  EncoderOptions clip;
  clip.bits = 4;
  clip.clip_lo = 10.0;
  clip.clip_hi = 20.0;
  format::TensorDesc d3;
  d3.shape = {3};
  auto below = quant::quantize(TensorView::contiguous(DType::f32, n3, low), clip, d3);
  REQUIRE(below.ok());
  CHECK(below->storage == std::vector<std::uint8_t>{0, 0, 0});
  clip.clip_lo = -100.0;
  clip.clip_hi = -50.0;
  auto above = quant::quantize(TensorView::contiguous(DType::f32, n3, low), clip, d3);
  REQUIRE(above.ok());
  CHECK(above->storage == std::vector<std::uint8_t>{15, 15, 15});
}

TEST_CASE("a caller's clip range clamps values outside it and keeps the half-step bound inside") {
  std::vector<float> x(1000);
  for (int i = 0; i < 1000; ++i) x[i] = -5.0f + 0.01f * static_cast<float>(i);
  const std::int64_t shape[] = {1000};
  EncoderOptions o;
  o.bits = 6;
  o.clip_lo = -1.0;
  o.clip_hi = 2.0;
  auto frame = Encoder(o).encode(TensorView::contiguous(DType::f32, shape, x.data()));
  REQUIRE(frame.ok());
  auto out = Decoder().decode(*frame);
  REQUIRE(out.ok());
  const float* y = (*out)[0].tensor.data_as<float>();
  const double step = 3.0 / 63;
  for (int i = 0; i < 1000; ++i) {
    const double clamped = std::clamp<double>(x[i], -1.0, 2.0);
    CHECK(std::fabs(clamped - y[i]) <= step / 2 + 1e-6);
  }
}

TEST_CASE("cast modes round to nearest and keep infinities and NaN") {
  std::vector<float> x = {0.0f, -0.0f, 1.0f, 65504.0f, 65520.0f, 1e-8f, INFINITY, -INFINITY, NAN, 3.14159f};
  const std::int64_t shape[] = {static_cast<std::int64_t>(x.size())};
  for (QuantizerKind q : {QuantizerKind::cast_f16, QuantizerKind::cast_bf16})
    for (CoderKind c : kCoders) {
      EncoderOptions o;
      o.quantizer = q;
      o.coder = c;
      auto frame = Encoder(o).encode(TensorView::contiguous(DType::f32, shape, x.data()));
      REQUIRE(frame.ok());
      auto out = Decoder().decode(*frame);
      REQUIRE(out.ok());
      const float* y = (*out)[0].tensor.data_as<float>();
      CHECK(y[0] == 0.0f);
      CHECK(std::signbit(y[1]));
      CHECK(y[2] == 1.0f);
      CHECK(std::isinf(y[6]));
      CHECK(std::isinf(y[7]));
      CHECK(y[7] < 0);
      CHECK(std::isnan(y[8]));
      if (q == QuantizerKind::cast_f16) {
        CHECK(y[3] == 65504.0f);
        CHECK(std::isinf(y[4]));  // halfway to 65536 rounds to even: overflow
        CHECK(std::fabs(y[9] - 3.140625f) < 1e-7f);
      } else {
        CHECK(y[9] == 3.140625f);
      }
    }
}

TEST_CASE("lossy modes refuse NaN and infinity with invalid_argument") {
  std::vector<float> x = {1.0f, NAN, 2.0f};
  const std::int64_t shape[] = {3};
  auto r = Encoder().encode(TensorView::contiguous(DType::f32, shape, x.data()));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::invalid_argument);
  CHECK(r.status().message().find("NaN") != std::string::npos);
}

TEST_CASE("several named tensors travel in one frame") {
  Tensor a = random_tensor(DType::f32, {1, 8, 4, 4}, 1);
  Tensor b = random_tensor(DType::f16, {1, 16, 2, 2}, 2);
  std::vector<NamedTensorView> views = {{"skip", a.view()}, {"main", b.view()}};
  EncoderOptions o;
  o.channel_axis = 1;
  auto frame = Encoder(o).encode(views);
  REQUIRE(frame.ok());
  auto out = Decoder().decode(*frame);
  REQUIRE(out.ok());
  REQUIRE(out->size() == 2);
  CHECK((*out)[0].name == "skip");
  CHECK((*out)[1].name == "main");
  CHECK((*out)[1].tensor.dtype() == DType::f16);
  CHECK((*out)[1].tensor.shape() == Shape{1, 16, 2, 2});
}

TEST_CASE("strided views encode the same frame as their contiguous copy") {
  Tensor t = random_tensor(DType::f32, {4, 6}, 3);
  // The transpose as a strided view, and the same values materialized.
  TensorView tv = t.view();
  tv.shape = {6, 4};
  tv.strides = {1, 6};
  Tensor copy = Tensor::copy_of(tv).value();
  auto f1 = Encoder().encode(tv);
  auto f2 = Encoder().encode(copy.view());
  REQUIRE(f1.ok());
  REQUIRE(f2.ok());
  CHECK(*f1 == *f2);
}

TEST_CASE("chunked and multi-threaded encoding gives the same bytes as single-threaded; decode agrees") {
  Tensor t = random_tensor(DType::f32, {3, 1000}, 5);
  for (CoderKind c : kCoders) {
    EncoderOptions o;
    o.coder = c;
    o.chunk_elements = 256;
    o.channel_axis = 0;
    auto one = Encoder(o).encode(t.view());
    o.threads = 4;
    auto four = Encoder(o).encode(t.view());
    REQUIRE(one.ok());
    REQUIRE(four.ok());
    CHECK(*one == *four);
    auto info = Decoder().inspect(*one);
    REQUIRE(info.ok());
    CHECK(info->tensors[0].chunk_count == 12);
    Decoder d;
    d.threads = 3;
    auto a = d.decode(*one);
    auto b = Decoder().decode(*one);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(std::memcmp((*a)[0].tensor.data(), (*b)[0].tensor.data(), (*a)[0].tensor.byte_size()) == 0);
  }
}

TEST_CASE("the encode bound holds for every coder, including incompressible data") {
  for (CoderKind c : kCoders)
    for (int bits : {1, 7, 16}) {
      Tensor t = random_tensor(DType::f32, {2, 3, 77}, 9);
      EncoderOptions o;
      o.coder = c;
      o.bits = bits;
      o.chunk_elements = 50;
      o.channel_axis = 2;
      Encoder e(o);
      NamedTensorView v{"x", t.view()};
      auto frame = e.encode(std::span(&v, 1));
      REQUIRE(frame.ok());
      CHECK(frame->size() <= e.bound(std::span(&v, 1)));
    }
}

TEST_CASE("empty tensors and scalars round-trip") {
  Tensor empty = Tensor::zeros(DType::f32, {3, 0, 2}).value();
  auto f = Encoder().encode(empty.view());
  REQUIRE(f.ok());
  auto out = Decoder().decode(*f);
  REQUIRE(out.ok());
  CHECK((*out)[0].tensor.shape() == Shape{3, 0, 2});
  CHECK((*out)[0].tensor.element_count() == 0);
}

TEST_CASE("rans: chunks of 64 Ki symbols or more are written as coder 4 (format 1.2), smaller ones as coder 2 (1.0)") {
  // 65,536 elements, 8-bit per channel: one chunk at the automatic 64-lane threshold.
  Tensor t = random_tensor(DType::f32, {1, 16, 64, 64}, 11);
  auto encode = [&](int lanes, CoderKind coder, std::uint64_t chunk = 0) {
    EncoderOptions o;
    o.coder = coder;
    o.rans_lanes = lanes;
    o.bits = 8;
    o.channel_axis = 1;
    o.chunk_elements = chunk;
    auto f = Encoder(o).encode(t.view());
    REQUIRE_MESSAGE(f.ok(), f.status().to_string());
    return std::move(f).value();
  };
  // What each frame declares: header minor, coder id, lane byte (coder 4).
  auto check = [](const std::vector<std::uint8_t>& f, int minor, CoderKind coder, int lane_byte) {
    CHECK(f[3] == (0x10 | minor));
    auto parsed = format::parse_frame(f, DecoderLimits{});
    REQUIRE(parsed.ok());
    CHECK(parsed->header.minor == minor);
    const auto& d = parsed->header.tensors[0];
    CHECK(d.coder == coder);
    if (lane_byte >= 0) {
      REQUIRE(!d.coder_params.empty());
      CHECK(d.coder_params[0] == lane_byte);
    }
    auto info = Decoder().inspect(f);
    REQUIRE(info.ok());
    CHECK(info->format_minor == minor);
    CHECK(info->tensors[0].coder == coder);
  };
  const auto automatic = encode(0, CoderKind::rans);
  check(automatic, 2, CoderKind::rans_wide, 1);
  const auto narrow = encode(32, CoderKind::rans);
  check(narrow, 0, CoderKind::rans, -1);
  const auto wide128 = encode(128, CoderKind::rans);
  check(wide128, 2, CoderKind::rans_wide, 2);
  check(encode(0, CoderKind::rans_wide), 2, CoderKind::rans_wide, 1);
  // Chunks of 1000 elements: 32 lanes (coder 2) under the automatic choice; rans-wide still 64.
  check(encode(0, CoderKind::rans, 1000), 0, CoderKind::rans, -1);
  check(encode(0, CoderKind::rans_wide, 1000), 2, CoderKind::rans_wide, 1);
  // 64 more states cost bytes but decode to the same tensor.
  CHECK(narrow.size() < automatic.size());
  CHECK(automatic.size() < wide128.size());
  auto ref = Decoder().decode(narrow);
  REQUIRE(ref.ok());
  for (const auto* f : {&automatic, &wide128}) {
    auto out = Decoder().decode(*f);
    REQUIRE_MESSAGE(out.ok(), out.status().to_string());
    const Tensor& a = (*out)[0].tensor;
    const Tensor& b = (*ref)[0].tensor;
    REQUIRE(a.byte_size() == b.byte_size());
    CHECK(std::memcmp(a.data(), b.data(), a.byte_size()) == 0);
    Decoder d;
    d.threads = 2;
    auto out2 = d.decode(*f);
    REQUIRE(out2.ok());
    CHECK(std::memcmp((*out2)[0].tensor.data(), b.data(), b.byte_size()) == 0);
  }
  // Within half a step of each channel.
  for (int c = 0; c < 16; ++c) {
    const float* x = t.data_as<float>() + c * 4096;
    const float* y = (*ref)[0].tensor.data_as<float>() + c * 4096;
    float lo = x[0], hi = x[0];
    for (int i = 0; i < 4096; ++i) { lo = std::min(lo, x[i]); hi = std::max(hi, x[i]); }
    const double half = (static_cast<double>(hi) - lo) / 255.0 / 2.0;
    for (int i = 0; i < 4096; ++i) REQUIRE(std::fabs(static_cast<double>(x[i]) - y[i]) <= half * (1 + 1e-5) + 1e-6);
  }
}

TEST_CASE("rans: 256 Ki symbols a chunk get 128 lanes, one fewer 64; bad lane options are the caller's error") {
  Tensor t = random_tensor(DType::f32, {1 << 18}, 12);
  EncoderOptions o;
  o.coder = CoderKind::rans;
  o.bits = 2;
  auto f = Encoder(o).encode(t.view());
  REQUIRE(f.ok());
  auto parsed = format::parse_frame(*f, DecoderLimits{});
  REQUIRE(parsed.ok());
  CHECK(parsed->header.tensors[0].coder == CoderKind::rans_wide);
  CHECK(parsed->header.tensors[0].coder_params[0] == 2);
  REQUIRE(Decoder().decode(*f).ok());
  Tensor below = random_tensor(DType::f32, {(1 << 18) - 1}, 12);
  auto fb = Encoder(o).encode(below.view());
  REQUIRE(fb.ok());
  auto pb = format::parse_frame(*fb, DecoderLimits{});
  REQUIRE(pb.ok());
  CHECK(pb->header.tensors[0].coder_params[0] == 1);
  Tensor small = random_tensor(DType::f32, {100}, 13);
  for (int lanes : {-1, 1, 16, 48, 96, 256}) {
    o.rans_lanes = lanes;
    CHECK(Encoder(o).encode(small.view()).status().code() == StatusCode::invalid_argument);
  }
  o.coder = CoderKind::rans_wide;
  o.rans_lanes = 32;
  CHECK(Encoder(o).encode(small.view()).status().code() == StatusCode::invalid_argument);
  // Other coders ignore the lanes: zstd stays format 1.0.
  o.coder = CoderKind::zstd;
  o.rans_lanes = 128;
  auto z = Encoder(o).encode(small.view());
  REQUIRE(z.ok());
  CHECK((*z)[3] == 0x10);
}
