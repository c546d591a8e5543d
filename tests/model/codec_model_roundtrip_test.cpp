// CodecModel (codec/model/codec_model.cpp) and model-bound frames (docs/format.md §2.3): encode
// with a fitted model, decode with it, refuse the wrong one.
#include <doctest/doctest.h>

#include <cstring>
#include <numeric>

#include "bitstream/codec_model.hpp"
#include "bitstream/compact_frame.hpp"
#include "codec/entropy/context_rans.hpp"
#include "ftc/ftc.hpp"

using namespace ftc;

namespace {

constexpr int C = 6, H = 5, W = 7;

// ReLU-like features: channel c is zero on about half of the positions.
std::vector<float> features(unsigned seed) {
  std::vector<float> x(C * H * W);
  std::uint32_t s = seed * 2654435761u + 1;
  for (auto& v : x) {
    s = s * 1664525u + 1013904223u;
    const float u = static_cast<float>(s >> 8) / 16777216.0f;
    v = u < 0.5f ? 0.0f : (u - 0.5f) * 4.0f;
  }
  return x;
}

// Keeps channels 0, 2, 3, 5 (fill 0.25 and −1 for 1 and 4); 3 levels {0, 0.6, 1.5}, thresholds
// {0.3, 1.0}; context-rans tables with positions and 3 neighbour classes (uniform counts).
model::CodecModelFile make_model(std::uint64_t id, int rate_points) {
  model::CodecModelFile f;
  f.model_id = id;
  f.tensors.push_back({"feat", DType::f32, Layout::nchw, {1, C, H, W}});
  f.metadata["name"] = "test";
  for (int r = 0; r < rate_points; ++r) {
    model::TensorCodec tc;
    tc.transform.kind = model::TransformKind::channel_subset;
    tc.transform.axis = 1;
    tc.transform.kept = {0, 2, 3, 5};
    tc.transform.fill = {0.25f, -1.0f};
    tc.quantizer.kind = model::QuantKind::nonuniform;
    tc.quantizer.bits = 2;
    tc.quantizer.axis = 1;
    tc.quantizer.levels = 3;
    for (int g = 0; g < 4; ++g) {
      tc.quantizer.level.insert(tc.quantizer.level.end(), {0.0f, 0.6f, 1.5f + 0.1f * static_cast<float>(r)});
      tc.quantizer.threshold.insert(tc.quantizer.threshold.end(), {0.3f, 1.0f});
    }
    entropy::ContextRansModel m;
    m.groups = 4;
    m.positions = H * W;
    m.classes = 3;
    m.row = W;
    m.plane = H * W;
    m.alphabet = 3;
    m.base_tables = 2;
    m.table_of.resize(4 * H * W);
    for (std::size_t i = 0; i < m.table_of.size(); ++i) m.table_of[i] = static_cast<std::uint32_t>(i % 2);
    for (int t = 0; t < 2 * 3; ++t) {
      const std::uint64_t counts[3] = {static_cast<std::uint64_t>(50 + 10 * t), 30, 20};
      const auto fr = entropy::context_rans_frequencies(counts, 12);
      m.freq.insert(m.freq.end(), fr.begin(), fr.end());
    }
    tc.entropy.coder = CoderKind::context_rans;
    m.serialize(tc.entropy.params);
    f.rate_points.push_back({"r" + std::to_string(r), {tc}});
  }
  return f;
}

std::shared_ptr<const CodecModel> load(const model::CodecModelFile& f) {
  auto bytes = model::write_codec_model(f);
  REQUIRE_MESSAGE(bytes.ok(), bytes.status().to_string());
  auto m = CodecModel::from_bytes(*bytes);
  REQUIRE_MESSAGE(m.ok(), m.status().to_string());
  return *m;
}

Result<std::vector<std::uint8_t>> encode(const std::vector<float>& x, std::shared_ptr<const CodecModel> m, int r = 0) {
  EncoderOptions o;
  o.codec_model = std::move(m);
  o.rate_point = r;
  const std::int64_t shape[] = {1, C, H, W};
  return Encoder(o).encode(TensorView::contiguous(DType::f32, shape, x.data()));
}

}  // namespace

TEST_CASE("a model-bound frame is its payload plus 6 bytes and decodes to the model's levels and fills") {
  auto m = load(make_model(0x1234, 2));
  CHECK(m->rate_point_count() == 2);
  CHECK(m->coded_elements(0) == 4 * H * W);
  const auto x = features(1);
  for (int r = 0; r < 2; ++r) {
    auto frame = encode(x, m, r);
    REQUIRE_MESSAGE(frame.ok(), frame.status().to_string());
    CHECK((*frame)[0] == (0xA0 | r));
    CHECK((*frame)[1] == 0x34);
    Decoder d;
    REQUIRE(d.add_codec_model(m).ok());
    auto info = d.inspect(*frame);
    REQUIRE(info.ok());
    CHECK(info->header_bytes == 6);
    CHECK(info->frame_bytes == frame->size());
    CHECK(info->tensors[0].payload_bytes + 6 == frame->size());
    CHECK(*info->rate_point == r);
    auto out = d.decode(*frame);
    REQUIRE_MESSAGE(out.ok(), out.status().to_string());
    REQUIRE(out->size() == 1);
    const Tensor& y = (*out)[0].tensor;
    CHECK((*out)[0].name == "feat");
    CHECK(y.shape() == Shape{1, C, H, W});
    const float* yp = y.data_as<float>();
    const float top = 1.5f + 0.1f * static_cast<float>(r);
    int mismatches = 0;
    for (int c = 0; c < C; ++c)
      for (int i = 0; i < H * W; ++i) {
        const float v = x[static_cast<std::size_t>(c * H * W + i)];
        const float want = c == 1 ? 0.25f : c == 4 ? -1.0f : v < 0.3f ? 0.0f : v < 1.0f ? 0.6f : top;
        if (yp[c * H * W + i] != want) ++mismatches;
      }
    CHECK(mismatches == 0);
    // Deterministic: the same tensor gives the same bytes.
    CHECK(*encode(x, m, r) == *frame);
  }
}

TEST_CASE("model-bound frames name their model: missing, wrong or short frames are refused, never decoded wrongly") {
  auto m = load(make_model(0x1234, 1));
  auto other = load(make_model(0x5634, 1));  // same selector 0x34, other content
  auto frame = encode(features(2), m);
  REQUIRE(frame.ok());

  Decoder none;
  auto r = none.decode(*frame);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::model_mismatch);

  Decoder wrong;
  REQUIRE(wrong.add_codec_model(other).ok());
  r = wrong.decode(*frame);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::checksum_mismatch);
  CHECK(r.status().message().find("another model") != std::string::npos);
  // A second model with the selector of a registered one is refused at registration.
  CHECK(wrong.add_codec_model(m).code() == StatusCode::invalid_argument);

  Decoder d;
  REQUIRE(d.add_codec_model(m).ok());
  auto bad_point = *frame;
  bad_point[0] = 0xA5;
  CHECK(d.decode(bad_point).status().code() == StatusCode::model_mismatch);
  for (std::size_t n = 0; n < frame->size(); ++n)
    CHECK_FALSE(d.decode(std::span<const std::uint8_t>(frame->data(), n)).ok());
  int accepted = 0;
  for (std::size_t i = 0; i < frame->size() * 8; ++i) {
    auto flipped = *frame;
    flipped[i / 8] ^= static_cast<std::uint8_t>(1u << (i % 8));
    if (d.decode(flipped).ok()) ++accepted;
  }
  CHECK(accepted == 0);
}

TEST_CASE("the encoder refuses tensors that do not match the model, and rate points it lacks") {
  auto m = load(make_model(7, 1));
  std::vector<float> x = features(3);
  EncoderOptions o;
  o.codec_model = m;
  const std::int64_t other_shape[] = {1, C, W, H};
  CHECK(Encoder(o).encode(TensorView::contiguous(DType::f32, other_shape, x.data())).status().code() == StatusCode::invalid_argument);
  CHECK(encode(x, m, 1).status().code() == StatusCode::invalid_argument);
  x[5] = std::numeric_limits<float>::quiet_NaN();
  CHECK(encode(x, m, 0).status().code() == StatusCode::invalid_argument);
}

TEST_CASE("context-rans codes in-frame too, with tables fitted to the tensor") {
  const auto x = features(4);
  const std::int64_t shape[] = {1, C, H, W};
  EncoderOptions o;
  o.bits = 3;
  o.channel_axis = 1;
  o.coder = CoderKind::context_rans;
  auto frame = Encoder(o).encode(TensorView::contiguous(DType::f32, shape, x.data()));
  REQUIRE(frame.ok());
  CHECK(((*frame)[3] & 0x0F) == 3);  // format 1.3
  o.coder = CoderKind::raw;
  auto raw = Encoder(o).encode(TensorView::contiguous(DType::f32, shape, x.data()));
  REQUIRE(raw.ok());
  auto a = Decoder().decode(*frame);
  auto b = Decoder().decode(*raw);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(std::memcmp((*a)[0].tensor.data(), (*b)[0].tensor.data(), (*b)[0].tensor.byte_size()) == 0);
}
