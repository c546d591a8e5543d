// Container syntax (docs/format.md §2–§7): field checks, limits before allocation, corruption.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "bitstream/byte_io.hpp"
#include "bitstream/frame.hpp"
#include "ftc/ftc.hpp"

using namespace ftc;

namespace {

std::vector<std::uint8_t> sample_frame(CoderKind coder = CoderKind::zstd, bool checksums = true) {
  std::vector<float> x(4 * 64);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.1f * static_cast<float>(i)) * 3.0f;
  const std::int64_t shape[] = {1, 4, 8, 8};
  EncoderOptions o;
  o.channel_axis = 1;
  o.coder = coder;
  o.chunk_elements = 100;
  o.chunk_checksums = checksums;
  return Encoder(o).encode(TensorView::contiguous(DType::f32, shape, x.data())).value();
}

format::TensorDesc uniform_desc(Shape shape, int bits) {
  format::TensorDesc d;
  d.dtype = DType::f32;
  d.shape = std::move(shape);
  d.quantizer = QuantizerKind::uniform;
  d.uniform = format::UniformParams{bits, std::nullopt, {0.0f}, {0.5f}};
  d.coder = CoderKind::raw;
  return d;
}

}  // namespace

TEST_CASE("varints are minimal, bounded and round-trip") {
  for (std::uint64_t v : {0ull, 1ull, 127ull, 128ull, 16383ull, 16384ull, (1ull << 63), ~0ull}) {
    std::vector<std::uint8_t> b;
    ByteWriter(b).varint(v);
    CHECK(b.size() == varint_size(v));
    ByteReader r(b);
    std::uint64_t out;
    REQUIRE(r.varint(out).ok());
    CHECK(out == v);
    CHECK(r.at_end());
  }
  std::uint64_t out;
  const std::uint8_t non_minimal[] = {0x80, 0x00};
  CHECK(ByteReader(non_minimal).varint(out).code() == StatusCode::corrupt);
  const std::uint8_t overflow[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02};
  CHECK(ByteReader(overflow).varint(out).code() == StatusCode::corrupt);
  const std::uint8_t cut[] = {0x80, 0x80};
  CHECK(ByteReader(cut).varint(out).code() == StatusCode::truncated);
}

TEST_CASE("every truncation of a valid frame is an error, never a crash") {
  for (CoderKind c : {CoderKind::raw, CoderKind::zstd, CoderKind::rans, CoderKind::adaptive, CoderKind::rans_wide}) {
    const auto frame = sample_frame(c);
    REQUIRE(Decoder().decode(frame).ok());
    for (std::size_t n = 0; n < frame.size(); ++n) {
      auto r = Decoder().decode(std::span(frame.data(), n));
      REQUIRE_FALSE(r.ok());
      const auto code = r.status().code();
      CHECK((code == StatusCode::truncated || code == StatusCode::corrupt || code == StatusCode::checksum_mismatch));
    }
  }
}

TEST_CASE("every single-bit flip in the header is detected") {
  const auto frame = sample_frame();
  const auto info = Decoder().inspect(frame).value();
  for (std::size_t byte = 0; byte < info.header_bytes; ++byte)
    for (int bit = 0; bit < 8; ++bit) {
      auto bad = frame;
      bad[byte] ^= static_cast<std::uint8_t>(1 << bit);
      auto r = Decoder().decode(bad);
      CHECK_FALSE(r.ok());
    }
}

TEST_CASE("payload bit flips: checksummed chunks fail; unchecksummed ones fail or stay in bounds") {
  std::mt19937 rng(42);
  for (bool sums : {true, false})
    for (CoderKind c : {CoderKind::raw, CoderKind::zstd, CoderKind::rans, CoderKind::adaptive, CoderKind::rans_wide}) {
      const auto frame = sample_frame(c, sums);
      const auto info = Decoder().inspect(frame).value();
      for (int trial = 0; trial < 300; ++trial) {
        auto bad = frame;
        const std::size_t pos = info.header_bytes + rng() % (frame.size() - info.header_bytes);
        bad[pos] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        auto r = Decoder().decode(bad);
        if (sums) {
          CHECK_FALSE(r.ok());
          continue;
        }
        if (!r.ok()) continue;
        // In bounds: every value is a reconstruction level of its channel.
        const Tensor& t = (*r)[0].tensor;
        for (std::uint64_t i = 0; i < t.element_count(); ++i) {
          const float v = t.data_as<float>()[i];
          CHECK(std::isfinite(v));
          CHECK(std::fabs(v) <= 3.0f + 1e-3f);
        }
      }
    }
}

TEST_CASE("a header declaring 2^40 elements is refused before any allocation") {
  format::FrameHeader h;
  h.tensors.push_back(uniform_desc({1 << 20, 1 << 20}, 8));
  std::vector<std::uint8_t> frame;
  REQUIRE(format::write_header(h, frame).ok());
  auto r = Decoder().decode(frame);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::limit_exceeded);
  // A caller's tighter limit applies too.
  auto small = sample_frame();
  DecoderLimits tight;
  tight.max_elements = 100;
  CHECK(Decoder(tight).decode(small).status().code() == StatusCode::limit_exceeded);
  tight = {};
  tight.max_output_bytes = 255;
  CHECK(Decoder(tight).decode(small).status().code() == StatusCode::limit_exceeded);
}

TEST_CASE("version, flags, sections and trailing bytes") {
  auto frame = sample_frame();
  SUBCASE("unknown major version") {
    frame[3] = 0x20;
    CHECK(Decoder().decode(frame).status().code() == StatusCode::unsupported_version);
  }
  SUBCASE("bad magic") {
    frame[0] = 'X';
    CHECK(Decoder().decode(frame).status().code() == StatusCode::corrupt);
  }
  SUBCASE("trailing bytes") {
    frame.push_back(0);
    CHECK(Decoder().decode(frame).status().code() == StatusCode::corrupt);
  }
  SUBCASE("a non-critical extension section is skipped; a critical one is refused") {
    format::FrameHeader h;
    h.tensors.push_back(uniform_desc({2}, 8));
    h.sections.push_back({2, {1, 2, 3}});
    std::vector<std::uint8_t> f;
    REQUIRE(format::write_header(h, f).ok());
    format::write_chunk(std::vector<std::uint8_t>{5, 6}, true, f);
    auto r = Decoder().decode(f);
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    CHECK((*r)[0].tensor.data_as<float>()[1] == 3.0f);
    h.sections[0].tag = 3;
    f.clear();
    REQUIRE(format::write_header(h, f).ok());
    format::write_chunk(std::vector<std::uint8_t>{5, 6}, true, f);
    CHECK(Decoder().decode(f).status().code() == StatusCode::unsupported_feature);
  }
}

TEST_CASE("a frame whose tensors come from a codec model costs at most 24 bytes beyond its payload") {
  format::FrameHeader h;
  h.flags = format::kFlagModel | format::kFlagModelTensors;
  h.model_id = 7;
  h.model_hash = 0x0123456789ABCDEFull;
  h.tensors.push_back(uniform_desc({1, 8, 7, 7}, 2));  // 392 elements × 2 bits = 98 bytes
  std::vector<std::uint8_t> frame;
  REQUIRE(format::write_header(h, frame).ok());
  std::vector<std::uint8_t> payload(98, 0x1B);
  format::write_chunk(payload, true, frame);
  CHECK(frame.size() - payload.size() <= 24);
  auto parsed = format::parse_frame(frame, DecoderLimits{}, true, &h.tensors);
  REQUIRE(parsed.ok());
  CHECK(parsed->header.model_id == 7);
  CHECK(parsed->header.model_hash == 0x0123456789ABCDEFull);
  // Without the model the decoder says which model it needs.
  auto r = Decoder().decode(frame);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::model_mismatch);
  CHECK(r.status().message().find("model id 7") != std::string::npos);
}

TEST_CASE("inspect reports what the header declares") {
  const auto frame = sample_frame(CoderKind::raw);
  auto info = Decoder().inspect(frame);
  REQUIRE(info.ok());
  CHECK(info->format_major == 1);
  CHECK(info->frame_bytes == frame.size());
  REQUIRE(info->tensors.size() == 1);
  const auto& t = info->tensors[0];
  CHECK(t.shape == Shape{1, 4, 8, 8});
  CHECK(t.bits == 8);
  CHECK(t.channel_axis == 1);
  CHECK(t.chunk_count == 3);
  CHECK(t.payload_bytes == 256);
}
