// docs/format.md §2.3.
#include "bitstream/compact_frame.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace ftc::format {

std::uint32_t compact_check(std::uint64_t model_hash, std::uint8_t kind_byte, std::uint8_t selector,
                            std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> bytes;
  bytes.reserve(2 + payload.size());
  bytes.push_back(kind_byte);
  bytes.push_back(selector);
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  return static_cast<std::uint32_t>(XXH3_64bits_withSeed(bytes.data(), bytes.size(), model_hash));
}

Result<CompactFrame> parse_compact_frame(std::span<const std::uint8_t> bytes) {
  if (!is_compact_frame(bytes)) return Status{StatusCode::corrupt, "compact frame: kind byte is not 0xA0..0xAF"};
  if (bytes.size() < kCompactHeaderBytes)
    return Status{StatusCode::truncated, "compact frame: shorter than its 6-byte header"};
  CompactFrame f;
  f.rate_point = bytes[0] & 0x0F;
  f.model_selector = bytes[1];
  f.check = std::uint32_t{bytes[2]} | std::uint32_t{bytes[3]} << 8 | std::uint32_t{bytes[4]} << 16 |
            std::uint32_t{bytes[5]} << 24;
  f.payload = bytes.subspan(kCompactHeaderBytes);
  return f;
}

void write_compact_frame(int rate_point, std::uint64_t model_id, std::uint64_t model_hash,
                         std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out) {
  const auto kind = static_cast<std::uint8_t>(kCompactKind | (rate_point & 0x0F));
  const auto selector = static_cast<std::uint8_t>(model_id & 0xFF);
  const std::uint32_t check = compact_check(model_hash, kind, selector, payload);
  out.push_back(kind);
  out.push_back(selector);
  for (int b = 0; b < 4; ++b) out.push_back(static_cast<std::uint8_t>(check >> (8 * b)));
  out.insert(out.end(), payload.begin(), payload.end());
}

}  // namespace ftc::format
