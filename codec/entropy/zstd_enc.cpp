// Coder 1 zstd, encoder side (docs/format.md §6.2).
#include <zstd.h>

#include "codec/entropy/zstd_coder.hpp"

namespace ftc::entropy {
namespace {

// One compression context per thread, reused across chunks and calls: creating a context
// allocates and clears zstd's match tables and window (hundreds of KiB), which otherwise dominates
// the cost of coding small tensors. Freed when the thread exits.
struct CompressionContext {
  ZSTD_CCtx* c = nullptr;
  ~CompressionContext() { ZSTD_freeCCtx(c); }
};
thread_local CompressionContext tls_cctx;

ZSTD_CCtx* thread_cctx() {
  if (!tls_cctx.c) tls_cctx.c = ZSTD_createCCtx();
  return tls_cctx.c;
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
      shuffle_planes(static_cast<const std::uint8_t*>(s.data), s.count, 2, planes.data());
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

}  // namespace

std::unique_ptr<ChunkEncoder> make_zstd_encoder(int bits, int level) { return std::make_unique<ZstdEncoder>(bits, level); }

}  // namespace ftc::entropy
