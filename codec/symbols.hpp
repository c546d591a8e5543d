// Symbols: the interface between the quantizer stage (codec/quant) and the entropy-coder stage
// (codec/entropy). Neither stage includes the other; both include this.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ftc/ftc.hpp"

namespace ftc {

// Which context (CDF table / model group) codes a symbol: for the symbol at flat element index i
// of its tensor (C order), ctx(i) = (i / inner) % groups (docs/format.md §4.2). Per-channel along
// axis a of shape s: inner = s[a+1]·…·s[r-1], groups = s[a]. groups = 1: one context.
struct ContextMap {
  std::uint64_t inner = 1;
  std::uint32_t groups = 1;
  std::uint32_t at(std::uint64_t i) const { return static_cast<std::uint32_t>((i / inner) % groups); }

  // The map of per-channel parameters along `axis` of `shape` (axis < 0: one context). A zero
  // extent gives inner or groups 1, so the map stays total.
  static ContextMap along(std::span<const std::int64_t> shape, int axis) {
    ContextMap m;
    if (axis < 0 || static_cast<std::size_t>(axis) >= shape.size()) return m;
    std::uint64_t inner = 1;
    for (std::size_t d = static_cast<std::size_t>(axis) + 1; d < shape.size(); ++d) inner *= static_cast<std::uint64_t>(shape[d]);
    m.inner = inner == 0 ? 1 : inner;
    m.groups = static_cast<std::uint32_t>(shape[static_cast<std::size_t>(axis)] == 0 ? 1 : shape[static_cast<std::size_t>(axis)]);
    return m;
  }
};

// A read-only run of symbols. bits ≤ 8: `data` is uint8_t[count]; else uint16_t[count].
// Every symbol is < 2^bits. first_index is the flat index of the first symbol in its tensor.
struct SymbolSpan {
  const void* data = nullptr;
  std::size_t count = 0;
  int bits = 8;
  std::uint64_t first_index = 0;
  ContextMap ctx;
  std::size_t symbol_bytes() const { return bits <= 8 ? 1 : 2; }
};

// Output run for decoding; same representation rules as SymbolSpan.
struct MutableSymbolSpan {
  void* data = nullptr;
  std::size_t count = 0;
  int bits = 8;
  std::uint64_t first_index = 0;
  ContextMap ctx;
};

// All of a tensor's symbols in C order. bits ≤ 8: one byte a symbol; else a native uint16_t
// array. ctx names the context of each symbol (per-channel: the channel).
struct Symbols {
  std::vector<std::uint8_t> storage;
  std::uint64_t count = 0;
  int bits = 8;
  ContextMap ctx;

  std::size_t symbol_bytes() const { return bits <= 8 ? 1 : 2; }
  SymbolSpan span(std::uint64_t first, std::uint64_t n) const {
    return {storage.data() + first * symbol_bytes(), static_cast<std::size_t>(n), bits, first, ctx};
  }
  SymbolSpan all() const { return span(0, count); }
  MutableSymbolSpan mutable_span(std::uint64_t first, std::uint64_t n) {
    return {storage.data() + first * symbol_bytes(), static_cast<std::size_t>(n), bits, first, ctx};
  }
  // Sized for `count` symbols of `bits`; out_of_memory instead of throwing.
  static Result<Symbols> allocate(std::uint64_t count, int bits, ContextMap ctx);
};

// Byte planes (docs/format.md §4.1): plane b holds byte b (little-endian significance) of each of
// n elements of elem_size bytes, the elements in host byte order (either endianness). The lossless
// quantizer and the zstd coder's 16-bit symbols use them.
void shuffle_planes(const std::uint8_t* elements, std::uint64_t n, std::size_t elem_size, std::uint8_t* planes);
void unshuffle_planes(const std::uint8_t* planes, std::uint64_t n, std::size_t elem_size, std::uint8_t* elements);

// Calls f(begin, end, group) for the runs of equal context that tile [0, n) (one run when
// there is one group): the quantizer's and dequantizer's per-context loops.
template <class F>
void for_each_run(std::uint64_t n, const ContextMap& ctx, F&& f) {
  const std::uint64_t run = ctx.groups <= 1 ? n : ctx.inner;
  std::uint32_t g = 0;
  for (std::uint64_t i = 0; i < n;) {
    const std::uint64_t end = std::min(n, i + std::max<std::uint64_t>(run, 1));
    f(i, end, g);
    i = end;
    if (++g == ctx.groups) g = 0;
  }
}

}  // namespace ftc
