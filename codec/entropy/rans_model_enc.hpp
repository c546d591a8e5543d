// Private to the encoder's rANS table builder (rans_model_enc.cpp, rans_group_enc.cpp):
// fixed-point log2, sparse histogram rows, the histogram cost estimate and context grouping
// (docs/format-rans.md §4.1, informative). Integer arithmetic only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "codec/entropy/int128.hpp"

namespace ftc::entropy::rans_detail {

inline constexpr int kLgFrac = 24;  // costs are in 1/2^24 bit

// lg[f] = floor(log2(f) · 2^24) for f in [1, 2^16] (lg[0] = 0), by repeated squaring.
const std::vector<std::uint32_t>& lg_table();
// log2(v) · 2^24 for v ≥ 1 (floor-ish: v halved to ≤ 2^16 first).
std::uint64_t lg_any(std::uint64_t v);

// The non-zero counts of histogram rows, in value order: the estimates touch only these.
struct SparseRows {
  std::vector<std::uint32_t> value;
  std::vector<std::uint64_t> count;
  std::vector<std::size_t> begin;    // row r: [begin[r], begin[r + 1])
  std::vector<std::uint64_t> total;  // row r: Σ count
  std::size_t rows() const { return total.size(); }

  void add_row(std::span<const std::uint64_t> counts) {
    if (begin.empty()) begin.push_back(0);
    std::uint64_t sum = 0;
    for (std::size_t v = 0; v < counts.size(); ++v)
      if (counts[v]) { value.push_back(static_cast<std::uint32_t>(v)); count.push_back(counts[v]); sum += counts[v]; }
    begin.push_back(value.size());
    total.push_back(sum);
  }
  void clear() { value.clear(); count.clear(); begin.clear(); total.clear(); }
};

// Estimated cost (1/2^24 bit) of row r coded at precision P with a table proportional to the row
// (payload), plus, with `table_bits`, that table's serialized bits; `payload`, when given,
// receives the payload part alone. Saturates at UINT64_MAX.
std::uint64_t estimate_row(const SparseRows& s, std::size_t r, int P, std::uint64_t esc_count, bool table_bits,
                           std::uint64_t* payload = nullptr);

// Lower bounds of estimate_row for one table per context, from statistics of the rows that do
// not depend on P (one pass over them), so that precisions where that candidate cannot win are
// skipped without estimating every row:
// - payload ≥ the row's empirical entropy: the estimate's f / max(Σf, 2^P) sum to ≤ 1, so
//   Σ count·log2(max(Σf, 2^P)/f) ≥ Σ count·log2(total/count) (Gibbs). The fixed-point log2
//   floors (lg_any loses < 371 units once it halves its argument) cost < 742 units a symbol:
//   the bound subtracts 1024.
// - table bits ≥ 39 + Σ_v ((f_v >> k) + 1 + k) + the gaps' bits, with Σf ≥ max(nz,
//   total·scale/2^40 − nz) (each f ≥ 1 and ≥ its unfloored value less one) and
//   f >> k ≥ (f − 2^k + 1) / 2^k.
class PerContextBound {
 public:
  PerContextBound(const SparseRows& rows, std::size_t groups);  // rows 0..groups−1
  // min(this, UINT64_MAX) ≤ Σ_c estimate_row(rows, c, P, esc, table_bits) over the contexts
  // with symbols (each saturating at UINT64_MAX), plus 40 bits a context without symbols when
  // table_bits (as build_rans_tables counts them).
  u128 at(int P, std::uint64_t esc, bool table_bits) const;

 private:
  struct Stats {
    std::uint64_t total = 0, nz = 0, gaps = 0, gap_bits = 0;
  };
  std::vector<Stats> stats_;
  std::uint64_t empty_ = 0;
  u128 payload_ = 0;
};

// Map bits of `tables` tables over `groups` contexts (mode 2, docs/format-rans.md §1.2), in 1/2^24
// bit: ceil(groups · ceil(log2 tables) / 8) bytes; 0 for one table.
std::uint64_t context_map_cost(std::size_t groups, std::size_t tables);

// Grouping's assignment step (rans_group_simd_enc.cpp, Highway dispatch): for i < n, with
// row = w + ctx[i]·stride, da[i] = Σ_{v<len} row[v]·ca[v] and, when cb is given, db[i] likewise
// with cb. Exact int32 arithmetic: the same results on every target; the caller keeps each sum
// below 2^31.
void group_dots(const std::int16_t* w, std::size_t stride, const std::uint32_t* ctx, std::size_t n,
                const std::int16_t* ca, const std::int16_t* cb, std::size_t len, std::int32_t* da, std::int32_t* db);

// A context → table map with 2 ≤ tables < groups (rans_group_enc.cpp).
struct ContextGrouping {
  std::vector<std::uint32_t> context_table;      // empty: none (grouping did not apply)
  std::vector<std::vector<std::uint64_t>> rows;  // merged histogram of each table's contexts
  std::uint64_t cost = UINT64_MAX;               // Σ estimate_row(rows, with table bits) + map
};

// Groups the contexts of `rows` (rows 0..groups−1; a further row, if any, is ignored; `merged`:
// their sum by value, dense) so that the estimated total at precision P — Σ over tables of
// estimate_row of the merged histogram with table bits, plus context_map_cost — is low, by
// divisive 2-means (docs/format-rans.md §4.1); returns the grouping with 2 ≤ T < groups of
// lowest such total found. `self[c]`: estimate_row(rows, c, P, esc_count, false, …), the
// payload of context c with a table of its own. Returns an empty map when grouping does not
// apply: fewer than 2 contexts with symbols or 3 in all, values ≥ 1024, contexts · values over
// 2^22, 2^34 symbols or more, or no split that lowers the estimate. Deterministic: integer
// arithmetic, ties to the lowest index, a work budget counted in operations (not time).
ContextGrouping group_contexts(const SparseRows& rows, std::size_t groups, std::span<const std::uint64_t> merged,
                               int P, std::uint64_t esc_count, std::span<const std::uint64_t> self);

}  // namespace ftc::entropy::rans_detail
