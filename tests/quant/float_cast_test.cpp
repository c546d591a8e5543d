#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "codec/quant/float_cast.hpp"

using namespace ftc::quant;

TEST_CASE("every binary16 and bfloat16 value survives a round trip through binary64") {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    const double h = f16_to_double(bits);
    const double bf = bf16_to_double(bits);
    if (std::isnan(h)) CHECK(std::isnan(f16_to_double(f16_from_double(h))));
    else CHECK(f16_from_double(h) == bits);
    if (std::isnan(bf)) CHECK(std::isnan(bf16_to_double(bf16_from_double(bf))));
    else CHECK(bf16_from_double(bf) == bits);
  }
}

TEST_CASE("bfloat16 of a binary32 equals rounding its top half to nearest even") {
  for (std::uint32_t i = 0; i < 200000; ++i) {
    const std::uint32_t u = i * 21473u + 12345u * (i >> 3);
    float f;
    std::memcpy(&f, &u, 4);
    if (std::isnan(f)) continue;
    const std::uint32_t rounded = u + 0x7FFFu + ((u >> 16) & 1u);
    auto expect = static_cast<std::uint16_t>(rounded >> 16);
    CHECK(bf16_from_double(f) == expect);
  }
}

TEST_CASE("binary16 rounding at the edges") {
  CHECK(f16_from_double(65504.0) == 0x7BFF);
  CHECK(f16_from_double(65519.99) == 0x7BFF);
  CHECK(f16_from_double(65520.0) == 0x7C00);
  CHECK(f16_from_double(std::ldexp(1.0, -24)) == 0x0001);
  CHECK(f16_from_double(std::ldexp(1.0, -25)) == 0x0000);              // tie to even: 0
  CHECK(f16_from_double(std::ldexp(3.0, -26)) == 0x0001);              // above the tie
  CHECK(f16_from_double(-0.0) == 0x8000);
  CHECK(f16_from_double(1.0 + std::ldexp(1.0, -11)) == 0x3C00);         // tie to even
  CHECK(f16_from_double(1.0 + std::ldexp(3.0, -11)) == 0x3C02);
  CHECK(f16_from_double(std::ldexp(1023.5, -24)) == 0x0400);            // subnormal rounds up to min normal
}
