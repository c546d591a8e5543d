// Private to codec/entropy/rans*: expanded coding tables and the kernels' signatures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "codec/entropy/rans.hpp"

namespace ftc::entropy::rans_detail {

inline constexpr std::uint32_t kL = 1u << 16;  // lower bound of a normalized state

// Number of interleaved states for a chunk of `count` symbols when the tensor's coder runs
// `lanes` states (docs/format-rans.md §2): min(lanes, count).
inline std::uint32_t lanes_for(std::size_t count, std::uint32_t lanes) {
  return count >= lanes ? lanes : static_cast<std::uint32_t>(count);
}

inline std::uint32_t read_u16le(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8);
}

// The bits of Highway's StoreMaskBits output (bit i of byte i / 8: lane i) as one number, lane i
// at bit i, whatever the host's byte order.
inline std::uint64_t mask_bits_word(const std::uint8_t (&bytes)[8]) {
  std::uint64_t w = 0;
  for (int i = 0; i < 8; ++i) w |= static_cast<std::uint64_t>(bytes[i]) << (8 * i);
  return w;
}

// Scratch memory for one call, n elements: `kept` (a caller's thread_local vector) when that is
// at most kScratchKeepBytes, so that usual sizes are neither allocated nor zero-filled per call;
// else `local` (the caller's), so that one huge call does not pin its memory for the thread's
// life. Elements added by growth are value-initialized; kept ones keep their contents.
inline constexpr std::size_t kScratchKeepBytes = std::size_t{8} << 20;
// The same choice for any object: `kept` when the call needs at most kScratchKeepBytes of it.
template <class T>
T& scratch_object(T& kept, T& local, std::uint64_t bytes) {
  return bytes <= kScratchKeepBytes ? kept : local;
}
template <class T>
T* scratch(std::vector<T>& kept, std::vector<T>& local, std::size_t n) {
  std::vector<T>& v = scratch_object(kept, local, static_cast<std::uint64_t>(n) * sizeof(T));
  if (v.size() < n) v.resize(n);
  return v.data();
}

// Walks the contexts of consecutive flat indices without a division per symbol.
struct CtxCursor {
  static constexpr std::uint64_t kOneRun = std::uint64_t{1} << 63;
  std::uint64_t inner = 1;
  std::uint32_t groups = 1;
  std::uint64_t rem = 0;     // position inside the current run of `inner` equal contexts
  std::uint32_t ctx = 0;

  // One group: a single run holds every index (inner = 2^63), so that callers walking runs take
  // one step, not one per symbol (ContextMap{1, 1} is the per-tensor map).
  CtxCursor(ContextMap m, std::uint64_t index)
      : inner(m.groups <= 1 ? kOneRun : m.inner == 0 ? 1 : m.inner), groups(m.groups == 0 ? 1 : m.groups) {
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

// One table expanded for decoding. slots: 2^P entries (uint8 if bits ≤ 8 else uint16 in host byte
// order) giving the table index of each slot; info[idx] = start | (freq − 1) << 16. The escape has index n.
//
// Fused form (bits ≤ 8 and P ≤ kFusedMaxPrecision): one u32 a slot, so that a decode step is a
// single lookup: fused[slot] = index | (slot − start) << 8 | (freq − 1) << 20. When `fused` is
// set, `slots` and `info` are null.
inline constexpr int kFusedMaxPrecision = 12;
inline constexpr std::uint64_t kFusedMaxSlots = std::uint64_t{1} << 22;  // 16 MiB of fused tables
struct DecTable {
  const std::uint8_t* slots = nullptr;
  const std::uint32_t* info = nullptr;
  const std::uint32_t* fused = nullptr;
  std::uint32_t esc = 0xFFFFFFFFu;   // escape index, or none
};

// One decode step through either form: returns the index, updates x (before renormalization).
inline std::uint32_t dec_lookup(const DecTable& t, std::uint32_t& x, std::uint32_t P, bool wide) {
  const std::uint32_t slot = x & ((1u << P) - 1);
  if (t.fused) {
    const std::uint32_t e = t.fused[slot];
    x = ((e >> 20) + 1) * (x >> P) + ((e >> 8) & 0xFFFu);
    return e & 0xFFu;
  }
  std::uint32_t idx;
  if (wide) {
    std::uint16_t w;
    std::memcpy(&w, t.slots + 2 * slot, 2);
    idx = w;
  } else {
    idx = t.slots[slot];
  }
  const std::uint32_t e = t.info[idx];
  x = ((e >> 16) + 1) * (x >> P) + slot - (e & 0xFFFF);
  return idx;
}

// Writes table t's fused slots: 2^precision entries (bits ≤ 8, precision ≤ kFusedMaxPrecision),
// each index | (slot − start) << 8 | (freq − 1) << 20, and may overwrite the 16 entries after
// them. Highway-dispatched (rans_simd_dec.cpp).
void expand_fused(const RansTable& t, std::uint32_t* dst);

// Above this many bytes of fused tables (or when runs are long: rans_dec.cpp), and when every
// context run holds at least a table's worth of symbols and a full round, the decoder expands
// each table when its run starts into a small buffer that stays in L1 (DecModel::lazy), instead
// of all tables up front.
inline constexpr std::uint64_t kLazyFusedBytes = std::uint64_t{1} << 18;

struct DecModel {
  int bits = 8;
  int precision = 12;
  bool wide = false;                        // bits > 8
  // Fused form without the tables expanded: tables[i].fused is null and source[i] is expanded
  // on use (the decoder keeps the buffers).
  bool lazy = false;
  const RansTable* source = nullptr;
  std::vector<std::uint8_t> slot_storage;   // all tables' slot arrays, padded for 4-byte gathers
  std::vector<std::uint32_t> info_storage;  // all tables' info arrays, padded
  std::vector<std::uint32_t> fused_storage; // all tables' fused arrays (or empty)
  std::vector<DecTable> tables;
  std::vector<std::uint32_t> context_table;  // empty: all contexts use table 0

  std::uint32_t table_of(std::uint32_t ctx) const { return context_table.empty() ? 0 : context_table[ctx]; }
};

// `t` must be valid (RansTables::validate) and outlive the model. `lazy_ok`: expand on use when
// the fused form applies and there are several tables (see kLazyFusedBytes).
Result<DecModel> build_dec_model(const RansTables& t, bool lazy_ok = false);

// ---- Encoder tables -------------------------------------------------------------------------

// Per coded value: division by freq through a reciprocal (exact for all 32-bit states):
// t = mulhi(x, rcp); q = (t + ((x − t) >> 1)) >> shift; x' = x + bias + q·(2^P − freq).
// 16 bytes, so that the AVX-512 kernels fetch an entry with one 128-bit load, or gather its
// fields at index·16 + offset.
struct alignas(16) EncSym {
  std::uint32_t rcp = 0;
  std::uint32_t bias = 0;
  std::uint32_t fs = 0;        // freq | shift << 24 | flags << 29 (freq ≤ 2^16; 0 when not codable)
  std::uint32_t xmax_m1 = 0;   // renormalize (emit 16 bits) when x > xmax_m1
  std::uint32_t freq() const { return fs & 0x1FFFFu; }
  std::uint32_t shift() const { return (fs >> 24) & 0x1Fu; }
  std::uint32_t flags() const { return fs >> 29; }   // kEscapeFlag, kInvalidFlag
};
static_assert(sizeof(EncSym) == 16);
inline constexpr std::uint32_t kEscapeFlag = 1;
inline constexpr std::uint32_t kInvalidFlag = 2;

struct EncTable {
  std::uint32_t n = 0;                 // entries 0..n-1 for values, entry n for ≥ n
  const EncSym* sym = nullptr;         // at ≤ 8 bits: entries up to kernel_symbol_clamp(bits)
};

// At ≤ 8 bits the SIMD kernels index a table with min(symbol, kernel_symbol_clamp(bits)): 255,
// or 2^bits below 8 bits (a symbol too wide for its width lands on an escape entry, and the
// general path reports it).
inline constexpr std::uint32_t kernel_symbol_clamp(int bits) { return bits < 8 ? 1u << bits : 255u; }

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

// Decodes `rounds` rounds of `lanes` symbols with one table. State x[kRansLanes]; `*in` points
// at the next 16-bit word. Stops early after a round that decoded an escape (the escape indices
// are left in `out`; the caller decodes their bypass values) or before a round when fewer than
// lanes + 2 words remain before `end`. Returns the rounds completed.
struct DecKernelArgs {
  std::uint32_t lanes;       // states a round: 32, 64 or 128
  std::uint32_t* x;
  const std::uint8_t** in;
  const std::uint8_t* end;
  void* out;                 // uint8_t or uint16_t symbols
  std::size_t rounds;
  DecTable table;
  int precision;
  bool wide;
  // Fused tables only (SIMD kernel): per-lane slot offsets into table.fused and per-lane escape
  // indices, for a round whose lanes use different tables (contexts change inside the round).
  const std::uint32_t* lane_off = nullptr;
  const std::uint32_t* lane_esc = nullptr;
  // Periodic contexts (decode_rounds_periodic): the rounds' contexts follow a CtxCursor whose run
  // length `inner` is ≥ lanes, so a round spans at most two runs; ctx_off[c] / ctx_esc[c]: the
  // fused offset and escape index of context c's table. The cursor is advanced past the rounds
  // decoded.
  const std::uint32_t* ctx_off = nullptr;
  const std::uint32_t* ctx_esc = nullptr;
  CtxCursor* cursor = nullptr;
};
std::size_t decode_rounds_scalar(const DecKernelArgs& a);
std::size_t decode_rounds_simd(const DecKernelArgs& a);   // Highway dynamic dispatch
// Fused tables, periodic contexts (DecKernelArgs::cursor): same stopping rules as above. Returns
// kNoPeriodicKernel where the dispatched target has no such kernel (then nothing was decoded).
inline constexpr std::size_t kNoPeriodicKernel = ~std::size_t{0};
std::size_t decode_rounds_periodic(const DecKernelArgs& a);

// Encodes `rounds` rounds (in reverse: last round first) whose symbols all use `table`; words
// are written downward from *out. `syms` points at the first symbol of the first round. Returns
// rounds completed: stops before a round with an entry flagged in `stop_flags` (by default an
// escape, whose bypass the kernels do not write, or a value the table cannot code). With
// kInvalidFlag alone, an escape is coded by its entry like any symbol: the caller has written
// the round's bypasses first (§4 of docs/format-rans.md: a round's bypasses, then its symbols).
struct EncKernelArgs {
  std::uint32_t lanes;       // states a round: 32, 64 or 128
  std::uint32_t* x;
  std::uint8_t** out;        // moves downward; caller guarantees room for 2 bytes per symbol
  const void* syms;
  std::size_t rounds;
  EncTable table;
  bool wide;
  int precision;
  // Periodic contexts (encode_rounds_periodic; 8-bit symbols): symbol j of round r has flat index
  // first_index + r·lanes + j and context (index / inner) mod groups, inner ≥ lanes; table.sym is
  // the model's first entry and context c's entries start at ctx_base[c], its n is ctx_n[c].
  const std::uint32_t* ctx_base = nullptr;
  const std::uint32_t* ctx_n = nullptr;
  std::uint64_t first_index = 0;
  std::uint64_t inner = 1;
  std::uint32_t groups = 1;
  std::uint32_t symbol_clamp = 255;   // kernel_symbol_clamp(bits), 8-bit symbol storage
  std::uint32_t stop_flags = (kEscapeFlag | kInvalidFlag) << 29;   // as EncSym::fs
};
std::size_t encode_rounds_scalar(const EncKernelArgs& a);
std::size_t encode_rounds_simd(const EncKernelArgs& a);
// Returns kNoPeriodicKernel where the dispatched target has no such kernel (nothing was coded).
std::size_t encode_rounds_periodic(const EncKernelArgs& a);

bool use_simd();
// AVX-512 kernels: per-lane table entries through scalar loads instead of vpgatherdd
// (rans_set_lookup; automatic: on AMD CPUs).
bool lookups_by_loads();

}  // namespace ftc::entropy::rans_detail
