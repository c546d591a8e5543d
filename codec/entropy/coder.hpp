// Symbol coders: the stage between quantized symbols and chunk payload bytes
// (docs/format.md §Coders). A coder is set up once per tensor — the encoder side may derive
// parameters from all of the tensor's symbols (e.g. rANS CDF tables) and writes them into the
// tensor descriptor as an opaque blob — and then codes each chunk independently, so chunks can
// be coded on several threads and a damaged chunk stays local.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "codec/symbols.hpp"
#include "ftc/ftc.hpp"

namespace ftc::entropy {

class ChunkEncoder {
 public:
  virtual ~ChunkEncoder() = default;
  // Appends the chunk payload to `out`. Must be deterministic: equal inputs give equal bytes on
  // every machine and thread count.
  virtual Status encode(const SymbolSpan& chunk, std::vector<std::uint8_t>& out) const = 0;
  // Upper bound of the payload size of a chunk of `count` symbols.
  virtual std::size_t max_payload(std::size_t count) const = 0;
};

class ChunkDecoder {
 public:
  virtual ~ChunkDecoder() = default;
  // Fills exactly out.count symbols, each < 2^out.bits, or fails. Must not read outside
  // `payload`, write outside `out`, or do work beyond linear in payload.size() + out.count.
  // A payload with bytes left over after the last symbol is corrupt.
  virtual Status decode(std::span<const std::uint8_t> payload, const MutableSymbolSpan& out) const = 0;
  // A cheap check, before the decoder allocates anything for the chunk, that `payload` can hold
  // `count` symbols: a coder whose payload size follows from the count (raw) or is declared in it
  // (zstd) refuses a mismatch here, so a short frame cannot buy a large allocation.
  virtual Status check_size(std::span<const std::uint8_t> payload, std::size_t count) const {
    (void)payload;
    (void)count;
    return {};
  }
};

struct EncoderSetup {
  std::vector<std::uint8_t> params;  // written to the tensor descriptor; empty for raw and zstd
  std::unique_ptr<ChunkEncoder> encoder;
};

struct CoderConfig {
  int zstd_level = 3;
  std::uint32_t rans_lanes = 128;  // rans-wide: interleaved states, 32, 64 or 128
  // Neighbour geometry for the adaptive coder, in flat symbol indices: the length of the tensor's
  // last axis (row) and of its last two axes (plane); 0: none.
  std::uint64_t row = 0;
  std::uint64_t plane = 0;
  // Tables fixed in advance (a codec model's entropy model, as the descriptor's params blob would
  // carry them): the coder is built from them instead of from the symbols. Empty: fitted here.
  std::span<const std::uint8_t> fixed_params;

  // row and plane of a tensor of this shape (rank 0: 1 and 1).
  void set_grid(std::span<const std::int64_t> shape) {
    const std::size_t r = shape.size();
    row = r >= 1 ? static_cast<std::uint64_t>(shape[r - 1]) : 1;
    plane = r >= 2 ? row * static_cast<std::uint64_t>(shape[r - 2]) : row;
  }
};

// A frame's table budget as it is spent (docs/format.md §7.1). Every coder's parser charges the
// entries, slots and symbols a table declares (its "table entries": table_entries() below) before
// it allocates anything for them; one budget is shared by all tensors of a frame. Invariant:
// used only grows (saturating), and a charge that takes used past limit fails.
struct TableBudget {
  std::uint64_t limit = UINT64_MAX;
  std::uint64_t used = 0;
  Status charge(std::uint64_t entries);
  bool exceeded() const { return used > limit; }
};

// `all` spans every symbol of the tensor (first_index 0).
Result<EncoderSetup> make_encoder(CoderKind kind, const SymbolSpan& all, const CoderConfig& config);
// `params` comes from the stream: hostile. `budget` (null: only the coders' own caps) is charged
// the tables' entries before they are built; limit_exceeded when they do not fit.
Result<std::unique_ptr<ChunkDecoder>> make_decoder(CoderKind kind, std::span<const std::uint8_t> params,
                                                   int bits, ContextMap ctx, TableBudget* budget = nullptr);

// The table entries a tensor's coder params declare — exactly what make_decoder charges to its
// budget (docs/format.md §7.1): raw, zstd 0; adaptive kAdaptiveTableEntries; rans and rans-wide
// T·2^P + Σ(n_t + 1) + the context map's entries; context-rans its map entries + B·K·(L + 1).
// Parses `params` (errors as make_decoder's).
Result<std::uint64_t> table_entries(CoderKind kind, std::span<const std::uint8_t> params, int bits, ContextMap ctx);

// Largest params blob any coder writes for a tensor with this many contexts and symbol width.
std::size_t max_params_size(CoderKind kind, int bits, std::uint32_t groups);

}  // namespace ftc::entropy
