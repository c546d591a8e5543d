// Coder 1 zstd, decoder side (docs/format.md §6.2).
#include <zstd.h>

#include "codec/entropy/zstd_coder.hpp"

namespace ftc::entropy {
namespace {

// One decompression context per thread, reused across chunks and calls (the encoder side keeps its compression context the same way).
struct DecompressionContext {
  ZSTD_DCtx* d = nullptr;
  ~DecompressionContext() { ZSTD_freeDCtx(d); }
};
thread_local DecompressionContext tls_dctx;

ZSTD_DCtx* thread_dctx() {
  if (!tls_dctx.d) tls_dctx.d = ZSTD_createDCtx();
  return tls_dctx.d;
}

class ZstdDecoder final : public ChunkDecoder {
 public:
  explicit ZstdDecoder(int bits) : bits_(bits) {}
  Status check_size(std::span<const std::uint8_t> in, std::size_t count) const override {
    const std::size_t bytes = count * (bits_ <= 8 ? 1 : 2);
    const unsigned long long declared = ZSTD_getFrameContentSize(in.data(), in.size());
    if (declared == ZSTD_CONTENTSIZE_ERROR) return {StatusCode::corrupt, "zstd chunk: not a zstd frame"};
    if (declared == ZSTD_CONTENTSIZE_UNKNOWN) return {StatusCode::corrupt, "zstd chunk: frame does not declare its size"};
    if (declared != bytes)
      return {StatusCode::corrupt, "zstd chunk declares " + std::to_string(declared) + " bytes, expected " + std::to_string(bytes)};
    return {};
  }
  Status decode(std::span<const std::uint8_t> in, const MutableSymbolSpan& out) const override {
    FTC_RETURN_IF_ERROR(check_size(in, out.count));
    const std::size_t bytes = out.count * (bits_ <= 8 ? 1 : 2);
    const std::size_t frame = ZSTD_findFrameCompressedSize(in.data(), in.size());
    if (ZSTD_isError(frame)) return {StatusCode::truncated, std::string("zstd chunk: ") + ZSTD_getErrorName(frame)};
    if (frame != in.size()) return {StatusCode::corrupt, "zstd chunk: bytes after the zstd frame"};
    std::vector<std::uint8_t> planes;
    void* dst = out.data;
    if (bits_ > 8) {
      planes.resize(bytes);
      dst = planes.data();
    }
    ZSTD_DCtx* dctx = thread_dctx();
    if (!dctx) return {StatusCode::out_of_memory, "zstd: cannot create a decompression context"};
    const std::size_t n = ZSTD_decompressDCtx(dctx, dst, bytes, in.data(), in.size());
    if (ZSTD_isError(n)) return {StatusCode::corrupt, std::string("zstd chunk: ") + ZSTD_getErrorName(n)};
    if (n != bytes) return {StatusCode::corrupt, "zstd chunk: short content"};
    if (bits_ > 8) unshuffle_planes(planes.data(), out.count, 2, static_cast<std::uint8_t*>(out.data));
    // Symbols wider than the declared width would reconstruct silently wrong values.
    if (bits_ < 8) {
      const auto* s = static_cast<const std::uint8_t*>(out.data);
      std::uint8_t any = 0;
      for (std::size_t i = 0; i < out.count; ++i) any |= s[i];
      if (any >> bits_) return {StatusCode::corrupt, "zstd chunk: symbol wider than " + std::to_string(bits_) + " bits"};
    } else if (bits_ > 8 && bits_ < 16) {
      const auto* s = static_cast<const std::uint16_t*>(out.data);
      std::uint16_t any = 0;
      for (std::size_t i = 0; i < out.count; ++i) any |= s[i];
      if (any >> bits_) return {StatusCode::corrupt, "zstd chunk: symbol wider than " + std::to_string(bits_) + " bits"};
    }
    return {};
  }

 private:
  int bits_;
};

}  // namespace

std::unique_ptr<ChunkDecoder> make_zstd_decoder(int bits) { return std::make_unique<ZstdDecoder>(bits); }

}  // namespace ftc::entropy
