#include "codec/entropy/zstd_coder.hpp"

#include <zstd.h>

#include "codec/quant/quantize.hpp"

namespace ftc::entropy {
namespace {

// One compression and one decompression context per thread, reused across chunks and calls:
// creating a context allocates and clears zstd's match tables and window (hundreds of KiB), which
// otherwise dominates the cost of coding small tensors. Freed when the thread exits.
struct ZstdContexts {
  ZSTD_CCtx* c = nullptr;
  ZSTD_DCtx* d = nullptr;
  ~ZstdContexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};
thread_local ZstdContexts tls_contexts;

ZSTD_CCtx* thread_cctx() {
  if (!tls_contexts.c) tls_contexts.c = ZSTD_createCCtx();
  return tls_contexts.c;
}
ZSTD_DCtx* thread_dctx() {
  if (!tls_contexts.d) tls_contexts.d = ZSTD_createDCtx();
  return tls_contexts.d;
}

class ZstdEncoder final : public ChunkEncoder {
 public:
  ZstdEncoder(int bits, int level) : bits_(bits), level_(level) {}
  Status encode(const SymbolSpan& s, std::vector<std::uint8_t>& out) const override {
    const std::size_t bytes = s.count * s.symbol_bytes();
    std::vector<std::uint8_t> planes;
    const void* src = s.data;
    if (bits_ > 8) {
      planes.resize(bytes);
      quant::shuffle_planes(static_cast<const std::uint8_t*>(s.data), s.count, 2, planes.data());
      src = planes.data();
    }
    const std::size_t start = out.size();
    out.resize(start + ZSTD_compressBound(bytes));
    ZSTD_CCtx* cctx = thread_cctx();
    if (!cctx) return {StatusCode::out_of_memory, "zstd: cannot create a compression context"};
    const std::size_t n = ZSTD_compressCCtx(cctx, out.data() + start, out.size() - start, src, bytes, level_);
    if (ZSTD_isError(n)) return {StatusCode::internal, std::string("zstd: ") + ZSTD_getErrorName(n)};
    out.resize(start + n);
    return {};
  }
  std::size_t max_payload(std::size_t count) const override {
    return ZSTD_compressBound(count * (bits_ <= 8 ? 1 : 2));
  }

 private:
  int bits_;
  int level_;
};

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
    if (bits_ > 8) quant::unshuffle_planes(planes.data(), out.count, 2, static_cast<std::uint8_t*>(out.data));
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

std::unique_ptr<ChunkEncoder> make_zstd_encoder(int bits, int level) { return std::make_unique<ZstdEncoder>(bits, level); }
std::unique_ptr<ChunkDecoder> make_zstd_decoder(int bits) { return std::make_unique<ZstdDecoder>(bits); }

}  // namespace ftc::entropy
