// Side-by-side measurement of symbol coders on one tensor's quantized symbols: ftc's rANS,
// zstd at three levels, htscodecs' rANS (order 0 and 1, 32-way SIMD), and the ideal per-context
// static entropy. Used by `ftc_bench coders` (bench/ftc_bench.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codec/entropy/coder.hpp"
#include "ftc/ftc.hpp"

namespace ftc::bench {

struct CodersOptions {
  int threads = 1;                  // ftc-rans: chunks coded on this many threads
  int repetitions = 7;              // timings: median of this many runs …
  double min_seconds = 0.05;        // … each repeating the operation at least this long
  std::uint64_t chunk_elements = 0; // ftc-rans chunking; 0: ftc encode's default (1 Mi symbols)
  bool scalar_kernels = false;      // ftc-rans: force the portable scalar kernels
  // ftc-rans: run the SIMD kernels of this Highway target (its hwy::TargetName: AVX3_ZEN4, AVX3,
  // AVX2, SSE4, SSSE3, NEON, SVE, …; one the CPU supports); empty: the best the CPU has.
  std::string simd_target;
  int rans_lanes = 0;               // ftc-rans: interleaved states (32, 64, 128); 0: as ftc encode
  entropy::CoderConfig coder_config; // ftc-rans, ftc-adaptive (adaptive: the neighbour geometry)
  // Rows to run, by name (ftc-rans, ftc-adaptive, zstd-1, zstd-3, zstd-19, htscodecs-rans-o0,
  // htscodecs-rans-o1); empty: all. The entropy row is always reported.
  std::vector<std::string> only;
  bool wants(const std::string& row) const;
};

struct CoderRow {
  std::string name;
  double encode_MBps = 0;           // symbol bytes per second / 1e6
  double decode_MBps = 0;
  double bits_per_symbol = 0;       // all bytes the coder outputs, tables included
  std::uint64_t bytes = 0;
  std::uint64_t table_bytes = 0;    // of `bytes`, the part that is tables (ftc-rans params)
  bool roundtrip_ok = true;
  std::string note;
};

struct CodersReport {
  std::uint64_t symbols = 0;
  int bits = 8;
  std::uint32_t contexts = 1;
  std::uint64_t symbol_bytes = 0;
  int threads = 1;
  // Ideal per-context static entropy: payload lower bound of any static per-context model, in
  // bits/symbol, and the ftc-rans table cost beside it (bytes), reported apart.
  double entropy_bits_per_symbol = 0;
  std::uint64_t entropy_table_bytes = 0;
  // ftc-rans apart from its model choice: the ideal payload of the symbols under the stream's own
  // tables (Σ count·log2(2^P / f); payload ÷ this is the coder's own overhead), and the whole
  // stream (tables + payloads) with one table per context forced (RansModelOptions::allow_sharing
  // off), the model the entropy row is the bound of.
  double rans_model_bytes = 0;
  std::uint64_t rans_per_context_bytes = 0;
  std::uint64_t rans_per_context_table_bytes = 0;  // of rans_per_context_bytes, the params (tables)
  std::string rans_kernels;         // what ftc-rans ran: "scalar" or a Highway target's name
  std::vector<CoderRow> rows;       // ftc-rans, zstd-1, zstd-3, zstd-19, htscodecs-rans-o0, -o1, entropy
};

// `all` spans every symbol of a tensor (first_index 0), as ftc::quant::quantize produces them.
Result<CodersReport> bench_coders(const SymbolSpan& all, const CodersOptions& options = {});

// Names of every timed row, in report order.
const std::vector<std::string>& coder_row_names();

// One JSON object: {"symbols":…, "bits":…, …, "coders":[{"name":…, "encode_MBps":…, …}, …]}.
std::string to_json(const CodersReport& report);
// A fixed-width text table.
std::string to_text(const CodersReport& report);

}  // namespace ftc::bench
