// Coder 5, context rANS (docs/format-context-rans.md): one 32-bit rANS state a chunk with static
// integer frequency tables, each symbol coded with the table its context names. The context of a
// symbol combines three things the decoder knows before decoding it: its group (the quantizer's
// channel, ContextMap::at), its position inside the group's run (optional), and a class of its
// already decoded left and upper neighbours (optional). Built for small tensors coded with fitted
// codec models: 4 bytes of final state, no lanes, tables in the model file rather than the frame.
// Integer arithmetic only; decoding is bit-exact everywhere.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "codec/entropy/coder.hpp"
#include "ftc/ftc.hpp"

namespace ftc::entropy {

inline constexpr int kContextRansMaxPrecision = 15;
inline constexpr std::uint32_t kContextRansMaxClasses = 4;
inline constexpr std::uint64_t kContextRansMaxEntries = std::uint64_t{1} << 24;  // Σ table sizes

// The params blob, parsed (docs/format-context-rans.md §1).
struct ContextRansModel {
  int precision = 12;                   // frequencies of a table sum to 2^precision
  std::uint32_t groups = 1;             // must equal the tensor's ContextMap groups
  std::uint64_t positions = 1;          // 1, or the run length of a group (ContextMap inner)
  std::uint32_t classes = 1;            // neighbour classes K, 1..4
  std::uint64_t row = 1;                // neighbour geometry (as coder 3): upper neighbour distance
  std::uint64_t plane = 1;              // neighbours never reach across a multiple of plane
  std::uint32_t alphabet = 2;           // L: symbols 0..L−1 (L ≤ 2^bits)
  std::uint32_t base_tables = 1;        // B
  std::vector<std::uint32_t> table_of;  // groups·positions entries < B; empty when B = 1
  std::vector<std::uint32_t> freq;      // B·K tables of L frequencies, each ≥ 1, table t·K + k

  // Base table of the symbol at flat index i of group g.
  std::uint32_t base(std::uint32_t g, std::uint64_t i) const {
    if (table_of.empty()) return 0;
    const std::uint64_t p = positions == 1 ? 0 : i % positions;
    return table_of[static_cast<std::size_t>(g * positions + p)];
  }
  // Checks every rule of §1 for a tensor of this symbol width and context map.
  Status validate(int bits, const ContextMap& ctx) const;
  void serialize(std::vector<std::uint8_t>& out) const;
  // `budget` (may be null) is charged map entries + B·K·(L + 1) before anything is allocated.
  static Result<ContextRansModel> parse(std::span<const std::uint8_t> params, int bits, const ContextMap& ctx,
                                        TableBudget* budget = nullptr);
};

// Table of symbol j of a chunk whose first flat index is `first` (§2): base table of its group
// and position, times K, plus its neighbour class min(K − 1, left + up) (a missing neighbour
// counts 0). `s` holds the chunk's symbols; only s[0..j) are read.
template <class Sym>
inline std::uint32_t context_rans_table(const ContextRansModel& m, const ContextMap& ctx, std::uint64_t first,
                                        std::size_t j, const Sym* s) {
  const std::uint64_t i = first + j;
  const std::uint32_t base = m.base(ctx.at(i), i);
  if (m.classes == 1) return base;
  std::uint32_t n = 0;
  if (j >= 1 && i % m.row != 0) n += s[j - 1];
  if (j >= m.row && i % m.plane >= m.row) n += s[j - m.row];
  return base * m.classes + (n < m.classes - 1 ? n : m.classes - 1);
}

// Encoder side. `model` null: tables fitted to this tensor's own symbols (one per group, no
// positions, no neighbour classes), written into the params.
Result<EncoderSetup> make_context_rans_encoder(const SymbolSpan& all, std::shared_ptr<const ContextRansModel> model);
// Fits frequency tables of `precision` from counts: every entry gets ≥ 1, the rest in proportion
// (largest remainders), deterministic. counts.size() = L.
std::vector<std::uint32_t> context_rans_frequencies(std::span<const std::uint64_t> counts, int precision);
Result<std::unique_ptr<ChunkDecoder>> make_context_rans_decoder(std::span<const std::uint8_t> params, int bits,
                                                               ContextMap ctx, TableBudget* budget = nullptr);
inline std::size_t context_rans_max_payload(std::uint64_t count, int precision = kContextRansMaxPrecision) {
  return static_cast<std::size_t>((count * static_cast<std::uint64_t>(precision) + 7) / 8 + 16);
}

}  // namespace ftc::entropy
