// Reading and writing tensor elements of any dtype as binary64 (C-contiguous buffers).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "codec/quant/float_cast.hpp"
#include "ftc/ftc.hpp"

namespace ftc::quant {

template <class T>
inline T load_as(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Element i of a C-contiguous buffer of `dtype`, exactly as binary64.
inline double load_element(DType dtype, const std::uint8_t* base, std::uint64_t i) {
  switch (dtype) {
    case DType::f32: return load_as<float>(base + 4 * i);
    case DType::f64: return load_as<double>(base + 8 * i);
    case DType::f16: return f16_to_double(load_as<std::uint16_t>(base + 2 * i));
    case DType::bf16: return bf16_to_double(load_as<std::uint16_t>(base + 2 * i));
    case DType::i8: return load_as<std::int8_t>(base + i);
    case DType::u8: return base[i];
    case DType::i16: return load_as<std::int16_t>(base + 2 * i);
    case DType::u16: return load_as<std::uint16_t>(base + 2 * i);
    case DType::i32: return load_as<std::int32_t>(base + 4 * i);
  }
  return 0.0;
}

template <class T>
inline void store_int(std::uint8_t* p, double v) {
  const double lo = static_cast<double>(std::numeric_limits<T>::min());
  const double hi = static_cast<double>(std::numeric_limits<T>::max());
  const double r = std::nearbyint(v < lo ? lo : (v > hi ? hi : v));
  const T t = static_cast<T>(r);
  std::memcpy(p, &t, sizeof(T));
}

// Stores v rounded once (to nearest, ties to even) into element i; integers saturate.
inline void store_element(DType dtype, std::uint8_t* base, std::uint64_t i, double v) {
  switch (dtype) {
    case DType::f32: { const float f = static_cast<float>(v); std::memcpy(base + 4 * i, &f, 4); return; }
    case DType::f64: std::memcpy(base + 8 * i, &v, 8); return;
    case DType::f16: { const auto b = f16_from_double(v); std::memcpy(base + 2 * i, &b, 2); return; }
    case DType::bf16: { const auto b = bf16_from_double(v); std::memcpy(base + 2 * i, &b, 2); return; }
    case DType::i8: store_int<std::int8_t>(base + i, v); return;
    case DType::u8: store_int<std::uint8_t>(base + i, v); return;
    case DType::i16: store_int<std::int16_t>(base + 2 * i, v); return;
    case DType::u16: store_int<std::uint16_t>(base + 2 * i, v); return;
    case DType::i32: store_int<std::int32_t>(base + 4 * i, v); return;
  }
}

}  // namespace ftc::quant
