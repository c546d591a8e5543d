// Tests for codec/entropy/adaptive*: round trips over widths, geometries, predictors and chunk
// splits; determinism; the encoder's predictor choice; hostile params and payloads.
#include <doctest/doctest.h>

#include <cstring>
#include <random>

#include "codec/entropy/adaptive.hpp"

using namespace ftc;
using namespace ftc::entropy;
using adaptive_detail::AdaptiveParams;
using adaptive_detail::Predictor;

namespace {

// Symbols stored at their width (uint8 up to 8 bits, else uint16).
struct Syms {
  std::vector<std::uint8_t> bytes;
  std::size_t count = 0;
  int bits = 8;
  std::size_t width() const { return bits > 8 ? 2 : 1; }
  std::uint32_t at(std::size_t i) const {
    if (bits <= 8) return bytes[i];
    std::uint16_t v;
    std::memcpy(&v, bytes.data() + 2 * i, 2);
    return v;
  }
  void set(std::size_t i, std::uint32_t v) {
    if (bits <= 8) { bytes[i] = static_cast<std::uint8_t>(v); return; }
    const auto w = static_cast<std::uint16_t>(v);
    std::memcpy(bytes.data() + 2 * i, &w, 2);
  }
  SymbolSpan span(std::size_t first, std::size_t n) const { return {bytes.data() + first * width(), n, bits, first, {}}; }
};

// Feature-like symbols on a row × plane grid: zero background with blobs of a per-plane level,
// plus noise; `sparse` mixes in uniformly random values (escapes the model's expectations).
Syms make_syms(std::size_t count, int bits, std::uint64_t row, std::uint32_t seed) {
  Syms s;
  s.bits = bits;
  s.count = count;
  s.bytes.assign(count * s.width(), 0);
  std::mt19937 g(seed);
  const std::uint32_t max = (1u << bits) - 1;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t x = i % row, y = i / row;
    const bool blob = ((x / 3 + y / 2) % 3) == 0;
    std::uint32_t v = blob ? std::min<std::uint32_t>(max, (g() % (max / 4 + 1)) + max / 2) : (g() % 8 == 0 ? g() % 3 : 0);
    if (g() % 50 == 0) v = g() & max;
    s.set(i, std::min(v, max));
  }
  return s;
}

std::vector<std::uint8_t> encode_chunk(const ChunkEncoder& e, const SymbolSpan& s) {
  std::vector<std::uint8_t> out;
  REQUIRE(e.encode(s, out).ok());
  CHECK(out.size() <= e.max_payload(s.count));
  return out;
}

std::vector<std::uint8_t> params_of(const AdaptiveParams& p) {
  std::vector<std::uint8_t> v;
  serialize_adaptive_params(p, v);
  return v;
}

}  // namespace

TEST_CASE("adaptive: round trip for every width, both predictors, several geometries and chunk splits") {
  for (int bits : {1, 2, 5, 8, 9, 12, 16})
    for (Predictor pred : {Predictor::none, Predictor::med})
      for (std::uint64_t row : {1, 7, 32})
        for (std::size_t chunk : {std::size_t{1}, std::size_t{37}, std::size_t{5000}}) {
          CAPTURE(bits);
          CAPTURE(static_cast<int>(pred));
          CAPTURE(row);
          CAPTURE(chunk);
          const std::size_t n = 3000;
          const Syms s = make_syms(n, bits, row, static_cast<std::uint32_t>(bits * 100 + row));
          AdaptiveParams p;
          p.predictor = pred;
          p.row = row;
          p.plane = row * 5;
          auto enc = make_adaptive_chunk_encoder(p, bits);
          REQUIRE(enc.ok());
          auto dec = make_adaptive_decoder(params_of(p), bits);
          REQUIRE(dec.ok());
          Syms back = s;
          std::fill(back.bytes.begin(), back.bytes.end(), 0xEE);
          for (std::size_t first = 0; first < n; first += chunk) {
            const std::size_t c = std::min(chunk, n - first);
            const auto payload = encode_chunk(**enc, s.span(first, c));
            MutableSymbolSpan out{back.bytes.data() + first * back.width(), c, bits, first, {}};
            REQUIRE((*dec)->decode(payload, out).ok());
          }
          CHECK(back.bytes == s.bytes);
        }
}

TEST_CASE("adaptive: contexts and prediction make structured data cheaper than its order-0 entropy") {
  // A smooth ramp: med predicts it exactly but for the first row and column.
  Syms ramp;
  ramp.bits = 8;
  ramp.count = 64 * 64;
  ramp.bytes.resize(ramp.count);
  for (std::size_t i = 0; i < ramp.count; ++i) ramp.set(i, static_cast<std::uint32_t>((i % 64 + i / 64) % 256));
  CoderConfig cfg;
  cfg.row = 64;
  cfg.plane = 64 * 64;
  auto setup = make_adaptive_encoder(ramp.span(0, ramp.count), cfg);
  REQUIRE(setup.ok());
  auto p = parse_adaptive_params(setup->params, 8);
  REQUIRE(p.ok());
  CHECK(p->predictor == Predictor::med);
  CHECK(p->row == 64);
  std::vector<std::uint8_t> out;
  REQUIRE(setup->encoder->encode(ramp.span(0, ramp.count), out).ok());
  // Order-0 entropy of the ramp is ~6.9 bits a symbol (127 values); med leaves first row/column.
  CHECK(out.size() < ramp.count / 8);

  // Zero background with sparse blobs: predictor none, well under the raw 8 bits.
  const Syms blobs = make_syms(64 * 64, 8, 64, 5);
  auto s2 = make_adaptive_encoder(blobs.span(0, blobs.count), cfg);
  REQUIRE(s2.ok());
  std::vector<std::uint8_t> out2;
  REQUIRE(s2->encoder->encode(blobs.span(0, blobs.count), out2).ok());
  CHECK(out2.size() < blobs.count * 5 / 8);
}

TEST_CASE("adaptive: encoding is deterministic and chunk-local") {
  const Syms s = make_syms(10000, 8, 28, 11);
  AdaptiveParams p;
  p.row = 28;
  p.plane = 28 * 28;
  auto enc = make_adaptive_chunk_encoder(p, 8);
  REQUIRE(enc.ok());
  const auto a = encode_chunk(**enc, s.span(100, 2000));
  const auto b = encode_chunk(**enc, s.span(100, 2000));
  CHECK(a == b);
  // The same symbols at another flat index see other neighbours (row and plane positions).
  SymbolSpan shifted = s.span(100, 2000);
  shifted.first_index = 101;
  CHECK(encode_chunk(**enc, shifted) != a);
}

TEST_CASE("adaptive: hostile params are refused") {
  CHECK(parse_adaptive_params({}, 8).status().code() == StatusCode::truncated);
  const std::vector<std::vector<std::uint8_t>> bad = {
      {2, 6, 1, 1},        // predictor 2
      {0, 3, 1, 1},        // rate below 4
      {0, 9, 1, 1},        // rate above 8
      {0, 6, 0, 1},        // row 0
      {0, 6, 3, 4},        // plane not a multiple of row
      {0, 6, 1, 1, 0},     // trailing byte
      {0, 6, 0x81, 0x00, 1},  // non-minimal varint
  };
  for (const auto& b : bad) {
    CAPTURE(b.size());
    CHECK_FALSE(parse_adaptive_params(b, 8).ok());
  }
  CHECK_FALSE(parse_adaptive_params(std::vector<std::uint8_t>{0, 6, 1, 1}, 17).ok());
  CHECK(parse_adaptive_params(std::vector<std::uint8_t>{1, 8, 5, 10}, 16).ok());
}

TEST_CASE("adaptive: corrupted and truncated payloads give an error or in-range symbols") {
  for (int bits : {3, 8, 12}) {
    CAPTURE(bits);
    const Syms s = make_syms(2000, bits, 20, 3);
    AdaptiveParams p;
    p.predictor = Predictor::med;
    p.row = 20;
    p.plane = 400;
    auto enc = make_adaptive_chunk_encoder(p, bits);
    auto dec = make_adaptive_decoder(params_of(p), bits);
    REQUIRE(enc.ok());
    REQUIRE(dec.ok());
    const auto payload = encode_chunk(**enc, s.span(0, s.count));
    Syms out = s;
    MutableSymbolSpan o{out.bytes.data(), s.count, bits, 0, {}};
    // Every truncation fails.
    for (std::size_t cut = 0; cut < payload.size(); ++cut) {
      std::vector<std::uint8_t> t(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(cut));
      CHECK_FALSE((*dec)->decode(t, o).ok());
    }
    // Random byte flips: an error, or symbols all < 2^bits.
    std::mt19937 g(bits);
    int detected = 0;
    for (int k = 0; k < 500; ++k) {
      auto c = payload;
      c[g() % c.size()] ^= static_cast<std::uint8_t>(1u << (g() % 8));
      std::fill(out.bytes.begin(), out.bytes.end(), 0);
      if (!(*dec)->decode(c, o).ok()) { ++detected; continue; }
      for (std::size_t i = 0; i < s.count; ++i) REQUIRE(out.at(i) < (1u << bits));
    }
    // The end-of-chunk rules (all words read, state back at 2^16) catch nearly every flip.
    CHECK(detected > 450);
    // An empty chunk has an empty payload; a payload cannot claim more symbols than its words
    // can pay for.
    MutableSymbolSpan none{out.bytes.data(), 0, bits, 0, {}};
    CHECK((*dec)->decode({}, none).ok());
    CHECK_FALSE((*dec)->decode(payload, none).ok());
    const std::vector<std::uint8_t> tiny = {0, 0, 1, 0, 0, 0};
    CHECK((*dec)->check_size(tiny, 2 * adaptive_detail::kMaxBinsPerWord).ok());
    CHECK((*dec)->check_size(tiny, 2 * adaptive_detail::kMaxBinsPerWord + 1).code() == StatusCode::corrupt);
  }
}
