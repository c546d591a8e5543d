// Private to codec/entropy/rans*: expanded coding tables and the kernels' signatures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec/entropy/rans.hpp"

namespace ftc::entropy::rans_detail {

inline constexpr std::uint32_t kL = 1u << 16;  // lower bound of a normalized state

// Number of interleaved states for a chunk of `count` symbols (docs/format-rans.md §Payload).
inline std::uint32_t lanes_for(std::size_t count) {
  return count >= static_cast<std::size_t>(kRansLanes) ? static_cast<std::uint32_t>(kRansLanes)
                                                        : static_cast<std::uint32_t>(count);
}

inline std::uint32_t read_u16le(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8);
}

// Walks the contexts of consecutive flat indices without a division per symbol.
struct CtxCursor {
  std::uint64_t inner = 1;
  std::uint32_t groups = 1;
  std::uint64_t rem = 0;     // position inside the current run of `inner` equal contexts
  std::uint32_t ctx = 0;

  CtxCursor(ContextMap m, std::uint64_t index) : inner(m.inner == 0 ? 1 : m.inner), groups(m.groups == 0 ? 1 : m.groups) {
    rem = index % inner;
    ctx = static_cast<std::uint32_t>((index / inner) % groups);
  }
  // Symbols left in the current run (≥ 1).
  std::uint64_t run_left() const { return inner - rem; }
  void step() {
    if (++rem == inner) {
      rem = 0;
      if (++ctx == groups) ctx = 0;
    }
  }
  void advance(std::uint64_t n) {  // n < run_left() keeps the context
    if (n < run_left()) { rem += n; return; }
    n -= run_left();
    rem = 0;
    if (++ctx == groups) ctx = 0;
    std::uint64_t runs = n / inner;
    rem = n % inner;
    ctx = static_cast<std::uint32_t>((ctx + runs % groups) % groups);
  }
};

// ---- Decoder tables -------------------------------------------------------------------------

// One table expanded for decoding. slots: 2^P entries (uint8 if bits ≤ 8 else uint16) giving the
// table index of each slot; info[idx] = start | (freq − 1) << 16. The escape has index n.
struct DecTable {
  const std::uint8_t* slots = nullptr;
  const std::uint32_t* info = nullptr;
  std::uint32_t esc = 0xFFFFFFFFu;   // escape index, or none
};

struct DecModel {
  int bits = 8;
  int precision = 12;
  bool wide = false;                        // bits > 8
  std::vector<std::uint8_t> slot_storage;   // all tables' slot arrays, padded for 4-byte gathers
  std::vector<std::uint32_t> info_storage;  // all tables' info arrays, padded
  std::vector<DecTable> tables;
  std::vector<std::uint32_t> context_table;  // empty: all contexts use table 0

  std::uint32_t table_of(std::uint32_t ctx) const { return context_table.empty() ? 0 : context_table[ctx]; }
};

Result<DecModel> build_dec_model(const RansTables& t);

// ---- Encoder tables -------------------------------------------------------------------------

// Per coded value: division by freq through a reciprocal (exact for all 32-bit states):
// t = mulhi(x, rcp); q = (t + ((x − t) >> 1)) >> shift; x' = x + bias + q·cmpl.
struct EncSym {
  std::uint32_t rcp = 0;
  std::uint32_t bias = 0;
  std::uint32_t cmpl = 0;
  std::uint32_t xmax_m1 = 0;   // renormalize (emit 16 bits) when x > xmax_m1
  std::uint32_t shift = 0;
  std::uint32_t flags = 0;     // kEscapeFlag: value goes through the escape; kInvalid: not codable
};
inline constexpr std::uint32_t kEscapeFlag = 1;
inline constexpr std::uint32_t kInvalidFlag = 2;

struct EncTable {
  std::uint32_t n = 0;                 // entries 0..n-1 for values, entry n for ≥ n
  const EncSym* sym = nullptr;
};

struct EncModel {
  int bits = 8;
  int precision = 12;
  std::vector<EncSym> storage;
  std::vector<EncTable> tables;
  std::vector<std::uint32_t> context_table;
  std::uint32_t table_of(std::uint32_t ctx) const { return context_table.empty() ? 0 : context_table[ctx]; }
};

EncModel build_enc_model(const RansTables& t);

// ---- Kernels ----------------------------------------------------------------------------------

// Decodes `rounds` rounds of kRansLanes symbols with one table. State x[kRansLanes]; `*in` points
// at the next 16-bit word. Stops early after a round that decoded an escape (the escape indices
// are left in `out`; the caller decodes their bypass values) or before a round when fewer than
// kRansLanes + 2 words remain before `end`. Returns the rounds completed.
struct DecKernelArgs {
  std::uint32_t* x;
  const std::uint8_t** in;
  const std::uint8_t* end;
  void* out;                 // uint8_t or uint16_t symbols
  std::size_t rounds;
  DecTable table;
  int precision;
  bool wide;
};
std::size_t decode_rounds_scalar(const DecKernelArgs& a);
std::size_t decode_rounds_simd(const DecKernelArgs& a);   // Highway dynamic dispatch

// Encodes `rounds` rounds (in reverse: last round first) whose symbols all use `table` and none
// needs the escape; words are written downward from *out. `syms` points at the first symbol of
// the first round. Returns rounds completed (stops before a round with an escape).
struct EncKernelArgs {
  std::uint32_t* x;
  std::uint8_t** out;        // moves downward; caller guarantees room for 2 bytes per symbol
  const void* syms;
  std::size_t rounds;
  EncTable table;
  bool wide;
};
std::size_t encode_rounds_scalar(const EncKernelArgs& a);
std::size_t encode_rounds_simd(const EncKernelArgs& a);

bool use_simd();

}  // namespace ftc::entropy::rans_detail
