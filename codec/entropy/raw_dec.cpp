// Coder 0 raw, decoder side (docs/format.md §6.1).
#include "codec/entropy/raw.hpp"

#include <bit>
#include <cstring>

namespace ftc::entropy {
namespace {

class RawDecoder final : public ChunkDecoder {
 public:
  explicit RawDecoder(int bits) : bits_(bits) {}
  Status check_size(std::span<const std::uint8_t> in, std::size_t count) const override {
    const std::size_t size = raw_payload_size(count, bits_);
    if (in.size() != size)
      return {in.size() < size ? StatusCode::truncated : StatusCode::corrupt,
              "raw chunk has " + std::to_string(in.size()) + " bytes, its " + std::to_string(count) + " symbols need " + std::to_string(size)};
    return {};
  }
  Status decode(std::span<const std::uint8_t> in, const MutableSymbolSpan& out) const override {
    FTC_RETURN_IF_ERROR(check_size(in, out.count));
    const std::size_t size = raw_payload_size(out.count, bits_);
    if (size == 0) return {};
    // 8 bits, or 16 on a little-endian host: the symbols' bytes in memory are the payload.
    if (bits_ == 8 || (bits_ == 16 && std::endian::native == std::endian::little)) {
      std::memcpy(out.data, in.data(), size);
      return {};
    }
    auto* o8 = static_cast<std::uint8_t*>(out.data);
    auto* o16 = static_cast<std::uint16_t*>(out.data);
    const std::uint64_t mask = (std::uint64_t{1} << bits_) - 1;
    std::uint64_t acc = 0;
    int filled = 0;
    std::size_t pos = 0;
    for (std::size_t i = 0; i < out.count; ++i) {
      while (filled < bits_) {
        acc |= static_cast<std::uint64_t>(in[pos++]) << filled;
        filled += 8;
      }
      const auto v = acc & mask;
      if (bits_ <= 8) o8[i] = static_cast<std::uint8_t>(v);
      else o16[i] = static_cast<std::uint16_t>(v);
      acc >>= bits_;
      filled -= bits_;
    }
    if (acc != 0) return {StatusCode::corrupt, "raw chunk: padding bits are not zero"};
    return {};
  }

 private:
  int bits_;
};

}  // namespace

std::unique_ptr<ChunkDecoder> make_raw_decoder(int bits) { return std::make_unique<RawDecoder>(bits); }

}  // namespace ftc::entropy
