// IEEE binary16 and bfloat16 conversions, exact and deterministic: from binary64 with one
// rounding (to nearest, ties to even), to binary64 exactly. Bit manipulation and power-of-two
// scaling only, so the result does not depend on the FPU's mode or on FMA contraction.
#pragma once

#include <cstdint>

namespace ftc::quant {

std::uint16_t f16_from_double(double x) noexcept;
std::uint16_t bf16_from_double(double x) noexcept;
double f16_to_double(std::uint16_t bits) noexcept;
double bf16_to_double(std::uint16_t bits) noexcept;

}  // namespace ftc::quant
