// Compact model-bound frame, format 1.3 (docs/format.md §2.3): 6 bytes beyond the payload of one
// tensor in one chunk, for a receiver configured with the codec model.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ftc/ftc.hpp"

namespace ftc::format {

inline constexpr std::uint8_t kCompactKind = 0xA0;       // high nibble of byte 0
inline constexpr std::size_t kCompactHeaderBytes = 6;
inline constexpr int kCompactMaxRatePoints = 16;

struct CompactFrame {
  int rate_point = 0;               // 0..15
  std::uint8_t model_selector = 0;  // model_id mod 256
  std::uint32_t check = 0;
  std::span<const std::uint8_t> payload;
};

inline bool is_compact_frame(std::span<const std::uint8_t> bytes) {
  return !bytes.empty() && (bytes[0] & 0xF0) == kCompactKind;
}
// Low 32 bits of XXH3-64 seeded with the model's content hash, over bytes 0–1 then the payload.
std::uint32_t compact_check(std::uint64_t model_hash, std::uint8_t kind_byte, std::uint8_t selector,
                            std::span<const std::uint8_t> payload);
// Splits the fields; checks nothing that needs the model (truncated under 6 bytes).
Result<CompactFrame> parse_compact_frame(std::span<const std::uint8_t> bytes);
// Appends a whole compact frame.
void write_compact_frame(int rate_point, std::uint64_t model_id, std::uint64_t model_hash,
                         std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out);

}  // namespace ftc::format
