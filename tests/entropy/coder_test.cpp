// Raw and zstd coders (docs/format.md §6.1, §6.2).
#include <doctest/doctest.h>

#include <random>

#include "codec/entropy/raw.hpp"
#include "codec/entropy/zstd_coder.hpp"

using namespace ftc;
using namespace ftc::entropy;

namespace {

std::vector<std::uint8_t> random_symbols(std::size_t n, int bits, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> s(n * (bits <= 8 ? 1 : 2));
  const std::uint32_t mask = (1u << bits) - 1;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t v = rng() & mask;
    if (bits <= 8) s[i] = static_cast<std::uint8_t>(v);
    else reinterpret_cast<std::uint16_t*>(s.data())[i] = static_cast<std::uint16_t>(v);
  }
  return s;
}

}  // namespace

TEST_CASE("raw and zstd round-trip every width and reject wrong sizes") {
  for (int bits = 1; bits <= 16; ++bits)
    for (std::size_t n : {0u, 1u, 7u, 1000u}) {
      CAPTURE(bits);
      CAPTURE(n);
      auto sym = random_symbols(n, bits, static_cast<std::uint32_t>(bits * 1000 + n));
      SymbolSpan in{sym.data(), n, bits, 0, {}};
      for (int which = 0; which < 2; ++which) {
        auto enc = which == 0 ? make_raw_encoder(bits) : make_zstd_encoder(bits, 3);
        auto dec = which == 0 ? make_raw_decoder(bits) : make_zstd_decoder(bits);
        std::vector<std::uint8_t> payload;
        REQUIRE(enc->encode(in, payload).ok());
        CHECK(payload.size() <= enc->max_payload(n));
        if (which == 0) CHECK(payload.size() == raw_payload_size(n, bits));
        std::vector<std::uint8_t> out(sym.size() + 1, 0xEE);
        MutableSymbolSpan o{out.data(), n, bits, 0, {}};
        REQUIRE(dec->decode(payload, o).ok());
        CHECK(std::equal(sym.begin(), sym.end(), out.begin()));
        CHECK(out.back() == 0xEE);
        if (!payload.empty()) {
          auto shorter = std::span(payload).first(payload.size() - 1);
          CHECK_FALSE(dec->decode(shorter, o).ok());
        }
        payload.push_back(0);
        CHECK_FALSE(dec->decode(payload, o).ok());
      }
    }
}

TEST_CASE("raw padding bits must be zero") {
  std::vector<std::uint8_t> payload = {0xFF};  // 3 symbols of 2 bits use 6 bits
  std::vector<std::uint8_t> out(3);
  MutableSymbolSpan o{out.data(), 3, 2, 0, {}};
  CHECK(make_raw_decoder(2)->decode(payload, o).code() == StatusCode::corrupt);
}

TEST_CASE("zstd symbols wider than the declared width are corrupt") {
  std::vector<std::uint8_t> sym = {1, 2, 200};
  std::vector<std::uint8_t> payload;
  REQUIRE(make_zstd_encoder(8, 1)->encode(SymbolSpan{sym.data(), 3, 8, 0, {}}, payload).ok());
  std::vector<std::uint8_t> out(3);
  MutableSymbolSpan o{out.data(), 3, 4, 0, {}};
  CHECK(make_zstd_decoder(4)->decode(payload, o).code() == StatusCode::corrupt);
}
