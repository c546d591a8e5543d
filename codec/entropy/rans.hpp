// CDF-driven rANS coder (docs/format-rans.md; algorithm notes in the same file).
//
// Every symbol is coded with the integer frequency table that its context names (CompressAI's
// contract): the context of the symbol at flat index i is ContextMap::at(i) (per-channel, say),
// and RansTables::context_table maps each context to one of the tables. A table covers the
// symbol values [0, n) and optionally an escape; a value with no frequency of its own is coded as
// the escape followed by its raw `bits`-bit value (a bypass step).
//
// Tables come either from the stream (make_rans_encoder writes them into EncoderSetup::params,
// make_rans_decoder parses them back) or from a codec model file (make_rans_*_with_tables, params
// empty: zero in-stream cost).
//
// Chunks: 32, 64 or 128 interleaved rANS states (fewer for shorter chunks), 32-bit states in
// [2^16, 2^32), 16-bit renormalization. The stream is defined by the format, not by the kernel:
// the portable scalar kernel and every Highway SIMD target write byte-identical payloads.
// Nothing between bytes and symbols uses floating point.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "codec/entropy/coder.hpp"
#include "ftc/ftc.hpp"

namespace ftc::entropy {

inline constexpr int kRansMaxPrecision = 16;          // frequencies sum to 2^precision
inline constexpr int kRansLanes = 32;                  // interleaved states per chunk, coder 2
inline constexpr int kRansMaxLanes = 128;              // coder 4: 32 · 2^e states, e ≤ 2
inline constexpr std::uint64_t kRansMaxTableSlots = std::uint64_t{1} << 26;  // tables · 2^precision
inline constexpr std::uint32_t kRansMaxTables = 65536;

// One static model: freq[s] for the symbol values s in [0, n = freq.size()), plus the escape's
// frequency (0: no escape). Σ freq + escape = 2^precision. A value ≥ n, or one with freq 0, can
// only be coded through the escape.
struct RansTable {
  std::vector<std::uint32_t> freq;
  std::uint32_t escape = 0;
};

// A complete entropy model for one tensor's symbols: what the params blob carries, or what a
// codec model file stores (serialize()/parse() are the same bytes in both places).
struct RansTables {
  int bits = 8;                                // symbol width 1..16
  int precision = 12;                          // 1..16
  std::vector<RansTable> tables;               // 1..kRansMaxTables
  // One entry per context: index into tables. Empty: every context uses tables[0] (then
  // tables.size() must be 1).
  std::vector<std::uint32_t> context_table;

  std::uint32_t table_of(std::uint32_t ctx) const { return context_table.empty() ? 0 : context_table[ctx]; }

  // Checks every rule of docs/format-rans.md §Tables (the decoder's checks); groups = 0 skips
  // the context-count check.
  Status validate(std::uint32_t groups = 0) const;
  // Compact serialization (docs/format-rans.md §Tables). Requires validate().ok().
  void serialize(std::vector<std::uint8_t>& out) const;
  std::vector<std::uint8_t> serialized() const {
    std::vector<std::uint8_t> v;
    serialize(v);
    return v;
  }
  // Parses hostile bytes; `groups` is the number of contexts the tensor has. Every byte of
  // `in` must be used.
  // `budget` (may be null) is charged T·2^P when the table count is read, the context map's
  // entries when its mode is read, and n + 1 at each table's alphabet size n — each before
  // anything is allocated for it (docs/format.md §7.1).
  static Result<RansTables> parse(std::span<const std::uint8_t> in, int bits, std::uint32_t groups,
                                  TableBudget* budget = nullptr);
  // Bits the serialized form takes (exactly 8·serialized().size()).
  std::size_t serialized_size() const;
};

// Per-context symbol counts: counts[c][s] = occurrences of value s in context c.
struct RansHistograms {
  int bits = 8;
  std::vector<std::vector<std::uint64_t>> counts;   // groups × 2^bits (shorter rows allowed)

  static RansHistograms of(const SymbolSpan& all);
  // counts = the histograms of `all` alone, reusing the rows' memory (no allocation when the
  // shape is unchanged).
  void count(const SymbolSpan& all);
  void add(const SymbolSpan& span);
};

struct RansModelOptions {
  int precision = 0;             // 0: choose 8..16 minimizing payload + table bytes; else fixed
  // Escape mass for tables that must code values never seen (codec model files): the escape
  // is given the frequency a value with this many occurrences would get; 0: no escape
  // (every value that can occur must be in the histogram).
  std::uint64_t escape_count = 0;
  // Tables: true lets the builder share tables between contexts (one for all, or one per group
  // of similar contexts) when it pays (the table cost is counted); false keeps one table per
  // context.
  bool allow_sharing = true;
  bool count_table_cost = true;  // false for model files: tables cost nothing in the stream
};

// Histogram → quantized tables minimizing Σ count·log2(2^P/freq) (+ the serialized table bits)
// under the precision limit: one table per context, one shared table, or groups of similar
// contexts sharing a table each (an explicit context map; rans_group_enc.cpp). Integer
// fixed-point arithmetic only: the same histograms give the same tables on every machine.
// Encoder-only (rans_model_enc.cpp).
Result<RansTables> build_rans_tables(const RansHistograms& hist, const RansModelOptions& options = {});

// Quantizes one histogram to frequencies summing to 2^precision with freq ≥ 1 wherever
// count > 0 (and for the escape when escape_count > 0), minimizing the coded size. Fails when
// more symbols occur than 2^precision slots.
Result<RansTable> quantize_histogram(std::span<const std::uint64_t> counts, int precision,
                                     std::uint64_t escape_count = 0);

// Ideal cost of coding `counts` with `table`, in 1/2^24 bits (fixed point); values with no
// frequency are costed as escape + bits.
std::uint64_t rans_cost_fixed(std::span<const std::uint64_t> counts, const RansTable& table, int precision,
                              int bits);

// --- Container integration (docs/format.md §Coders/rans, §Coders/rans-wide) ----------------------

// Coder 2 (rans) runs 32 states a chunk; coder 4 (rans-wide) runs 32 · 2^e (e in its params'
// first byte), for more instruction-level parallelism in the decoder on large chunks.
// The states the encoder gives a tensor whose chunks hold up to `chunk_symbols` symbols: 32
// (coder 2) below 64 Ki, 64 below 256 Ki, else 128 — each state costs ~2 bytes of stream.
std::uint32_t rans_auto_lanes(std::uint64_t chunk_symbols);
// Lane count of coder 4's first params byte; `corrupt` outside 0..2.
Result<std::uint32_t> parse_rans_lanes(std::uint8_t code);

// Builds per-context tables from the symbols' histograms (ctx from all.ctx), serializes them into
// EncoderSetup::params (in-stream tables), and returns a chunk encoder. Coder 2 (32 states), and
// coder 4 with config.rans_lanes states (its params: the lane exponent, then the tables).
Result<EncoderSetup> make_rans_encoder(const SymbolSpan& all, const CoderConfig& config);
Result<EncoderSetup> make_rans_wide_encoder(const SymbolSpan& all, const CoderConfig& config);
// Parses hostile `params` (tables), validates them, returns a chunk decoder. Coder 2 / coder 4.
Result<std::unique_ptr<ChunkDecoder>> make_rans_decoder(std::span<const std::uint8_t> params, int bits,
                                                        ContextMap ctx, TableBudget* budget = nullptr);
Result<std::unique_ptr<ChunkDecoder>> make_rans_wide_decoder(std::span<const std::uint8_t> params, int bits,
                                                             ContextMap ctx, TableBudget* budget = nullptr);
std::size_t rans_max_params_size(int bits, std::uint32_t groups);

// Tables from a codec model file: nothing goes into the stream (EncoderSetup::params empty).
// tables.context_table.size() must equal ctx.groups. lanes: 32, 64 or 128.
Result<EncoderSetup> make_rans_encoder_with_tables(std::shared_ptr<const RansTables> tables,
                                                   std::uint32_t lanes = kRansLanes);
Result<std::unique_ptr<ChunkDecoder>> make_rans_decoder_with_tables(std::shared_ptr<const RansTables> tables,
                                                                    ContextMap ctx, std::uint32_t lanes = kRansLanes);

// --- Kernel selection (tests and benchmarks) ---------------------------------------------------

enum class RansKernel { automatic, scalar };
// Process-wide; not meant to be flipped while coding runs on other threads.
void rans_set_kernel(RansKernel kernel);
RansKernel rans_kernel();
// Highway targets compiled in and supported by this CPU, best first, e.g. {AVX3, AVX2, SSE4}.
std::vector<std::int64_t> rans_simd_targets();
const char* rans_target_name(std::int64_t target);
// Restricts Highway dispatch to `target` (0: undo). Tests only.
void rans_force_simd_target(std::int64_t target);
// How the AVX-512 kernels fetch one table entry per lane: vpgatherdd, or scalar loads through
// memory (faster where gathers are microcoded: AMD Zen 4/5). `automatic` picks by CPU; the bytes
// and symbols never depend on the choice. Process-wide, like rans_set_kernel.
enum class RansLookup { automatic, gather, loads };
void rans_set_lookup(RansLookup lookup);

}  // namespace ftc::entropy
