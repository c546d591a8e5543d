// Context-adaptive binary rANS (coder id 3, `adaptive`; docs/format-adaptive.md).
//
// For tensors too small to pay for in-stream tables: no model in the stream, only a few bytes of
// parameters. Each value is predicted from its left and upper neighbours (the tensor's last two
// axes), binarized, and every bin is coded with a 16-bit probability that adapts as the chunk is
// coded. One rANS state; decoding is serial (about a tenth of the static coder's speed), so the
// encoder picks it only when asked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "codec/entropy/adaptive_model.hpp"
#include "codec/entropy/coder.hpp"

namespace ftc::entropy {

// Parses hostile params (§1) for symbols of `bits` bits.
Result<adaptive_detail::AdaptiveParams> parse_adaptive_params(std::span<const std::uint8_t> params, int bits);
void serialize_adaptive_params(const adaptive_detail::AdaptiveParams& p, std::vector<std::uint8_t>& out);
inline constexpr std::size_t kAdaptiveMaxParamsSize = 2 + 10 + 10;
// Table entries (docs/format.md §7.1) of an adaptive tensor: its bin models, a fixed set
// (2·(16 + 3) context classes · 16 unary bins + 17·38 first mantissa bins + 2·17 others).
inline constexpr std::uint64_t kAdaptiveTableEntries = 1288;
static_assert(sizeof(adaptive_detail::Models) == kAdaptiveTableEntries * sizeof(adaptive_detail::BinModel));

// Largest payload of a chunk of `count` symbols: 12 bits a bin at most, plus the state.
std::uint64_t adaptive_max_payload(std::uint64_t count, int bits);

// Chooses the predictor by coding a prefix of the tensor both ways (encoder-only).
Result<EncoderSetup> make_adaptive_encoder(const SymbolSpan& all, const CoderConfig& config);
Result<std::unique_ptr<ChunkEncoder>> make_adaptive_chunk_encoder(const adaptive_detail::AdaptiveParams& p, int bits);
Result<std::unique_ptr<ChunkDecoder>> make_adaptive_decoder(std::span<const std::uint8_t> params, int bits);

}  // namespace ftc::entropy
