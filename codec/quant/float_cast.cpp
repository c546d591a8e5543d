#include "codec/quant/float_cast.hpp"

#include <cmath>

namespace ftc::quant {
namespace {

// A 16-bit float with `mant` mantissa bits, 15 − mant exponent bits and exponent bias `bias`.
// NaN becomes the quiet NaN of the target (sign kept); ±inf and ±0 map to themselves.
std::uint16_t round_to_small_float(double x, int mant, int bias) noexcept {
  const std::uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  const std::uint16_t exp_ones = static_cast<std::uint16_t>((0x7FFF >> mant) << mant);
  if (std::isnan(x)) return static_cast<std::uint16_t>(sign | exp_ones | (1u << (mant - 1)));
  const double a = std::fabs(x);
  if (std::isinf(a)) return static_cast<std::uint16_t>(sign | exp_ones);
  const int emin = 1 - bias;
  if (a < std::ldexp(1.0, emin)) {
    // Subnormal: units of 2^(emin − mant); q == 2^mant is the smallest normal, same bits.
    const double q = std::nearbyint(std::ldexp(a, mant - emin));
    return static_cast<std::uint16_t>(sign | static_cast<std::uint16_t>(q));
  }
  int e2;
  std::frexp(a, &e2);
  int e = e2 - 1;  // a ∈ [2^e, 2^(e+1))
  if (e > bias) return static_cast<std::uint16_t>(sign | exp_ones);
  double q = std::nearbyint(std::ldexp(a, mant - e));  // ∈ [2^mant, 2^(mant+1)]
  if (q == std::ldexp(1.0, mant + 1)) {
    q = std::ldexp(1.0, mant);
    ++e;
  }
  if (e > bias) return static_cast<std::uint16_t>(sign | exp_ones);
  const auto frac = static_cast<std::uint16_t>(q - std::ldexp(1.0, mant));
  return static_cast<std::uint16_t>(sign | ((e + bias) << mant) | frac);
}

double small_float_to_double(std::uint16_t b, int mant, int bias) noexcept {
  const bool neg = (b & 0x8000) != 0;
  const int exp_mask = 0x7FFF >> mant;
  const int e = (b >> mant) & exp_mask;
  const int m = b & ((1 << mant) - 1);
  double v;
  if (e == exp_mask) v = m ? std::nan("") : INFINITY;
  else if (e == 0) v = std::ldexp(static_cast<double>(m), 1 - bias - mant);
  else v = std::ldexp(static_cast<double>(m + (1 << mant)), e - bias - mant);
  return neg ? -v : v;
}

}  // namespace

std::uint16_t f16_from_double(double x) noexcept { return round_to_small_float(x, 10, 15); }
std::uint16_t bf16_from_double(double x) noexcept { return round_to_small_float(x, 7, 127); }
double f16_to_double(std::uint16_t b) noexcept { return small_float_to_double(b, 10, 15); }
double bf16_to_double(std::uint16_t b) noexcept { return small_float_to_double(b, 7, 127); }

}  // namespace ftc::quant
