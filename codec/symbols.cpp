#include "codec/symbols.hpp"

#include <bit>
#include <new>
#include <string>

namespace ftc {

static_assert(std::endian::native == std::endian::little,
              "ftc reads element bytes in memory order as little-endian significance");

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
    for (std::uint64_t i = 0; i < n; ++i) plane[i] = elements[i * elem_size + b];
  }
}

void unshuffle_planes(const std::uint8_t* planes, std::uint64_t n, std::size_t elem_size, std::uint8_t* elements) {
  for (std::size_t b = 0; b < elem_size; ++b) {
    const std::uint8_t* plane = planes + b * n;
    for (std::uint64_t i = 0; i < n; ++i) elements[i * elem_size + b] = plane[i];
  }
}

}  // namespace ftc
