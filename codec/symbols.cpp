#include "codec/symbols.hpp"

#include <bit>
#include <new>
#include <string>

namespace ftc {

namespace {
// Memory offset, inside an element of elem_size bytes, of its byte of little-endian significance
// b: b on a little-endian host, elem_size − 1 − b on a big-endian one.
std::size_t byte_offset(std::size_t b, std::size_t elem_size) {
  static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big);
  return std::endian::native == std::endian::little ? b : elem_size - 1 - b;
}
}  // namespace

Result<Symbols> Symbols::allocate(std::uint64_t count, int bits, ContextMap ctx) {
  Symbols s;
  s.count = count;
  s.bits = bits;
  s.ctx = ctx;
  try {
    s.storage.resize(static_cast<std::size_t>(count) * s.symbol_bytes());
  } catch (const std::bad_alloc&) {
    return Status{StatusCode::out_of_memory, "symbol buffer of " + std::to_string(count) + " symbols"};
  }
  return s;
}

void shuffle_planes(const std::uint8_t* elements, std::uint64_t n, std::size_t elem_size, std::uint8_t* planes) {
  for (std::size_t b = 0; b < elem_size; ++b) {
    std::uint8_t* plane = planes + b * n;
    const std::uint8_t* src = elements + byte_offset(b, elem_size);
    for (std::uint64_t i = 0; i < n; ++i) plane[i] = src[i * elem_size];
  }
}

void unshuffle_planes(const std::uint8_t* planes, std::uint64_t n, std::size_t elem_size, std::uint8_t* elements) {
  for (std::size_t b = 0; b < elem_size; ++b) {
    const std::uint8_t* plane = planes + b * n;
    std::uint8_t* dst = elements + byte_offset(b, elem_size);
    for (std::uint64_t i = 0; i < n; ++i) dst[i * elem_size] = plane[i];
  }
}

}  // namespace ftc
