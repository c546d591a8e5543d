// Coder 0 raw, encoder side (docs/format.md §6.1).
#include "codec/entropy/raw.hpp"

#include <bit>
#include <cstring>

namespace ftc::entropy {
namespace {

std::uint32_t symbol_at(const SymbolSpan& s, std::size_t i) {
  return s.bits <= 8 ? static_cast<const std::uint8_t*>(s.data)[i] : static_cast<const std::uint16_t*>(s.data)[i];
}

class RawEncoder final : public ChunkEncoder {
 public:
  explicit RawEncoder(int bits) : bits_(bits) {}
  Status encode(const SymbolSpan& s, std::vector<std::uint8_t>& out) const override {
    const std::size_t start = out.size();
    const std::size_t size = raw_payload_size(s.count, bits_);
    out.resize(start + size);
    std::uint8_t* dst = out.data() + start;
    if (size == 0) return {};  // memcpy must not see the null data of an empty span
    // 8 bits, or 16 on a little-endian host: the payload is the symbols' bytes in memory.
    if (bits_ == 8 || (bits_ == 16 && std::endian::native == std::endian::little)) {
      std::memcpy(dst, s.data, size);
      return {};
    }
    std::uint64_t acc = 0;
    int filled = 0;
    std::size_t o = 0;
    for (std::size_t i = 0; i < s.count; ++i) {
      acc |= static_cast<std::uint64_t>(symbol_at(s, i)) << filled;
      filled += bits_;
      while (filled >= 8) {
        dst[o++] = static_cast<std::uint8_t>(acc);
        acc >>= 8;
        filled -= 8;
      }
    }
    if (filled > 0) dst[o++] = static_cast<std::uint8_t>(acc);
    return {};
  }
  std::size_t max_payload(std::size_t count) const override { return raw_payload_size(count, bits_); }

 private:
  int bits_;
};

}  // namespace

std::unique_ptr<ChunkEncoder> make_raw_encoder(int bits) { return std::make_unique<RawEncoder>(bits); }

}  // namespace ftc::entropy
