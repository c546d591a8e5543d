#include "codec/entropy/coder.hpp"
#include "codec/entropy/adaptive.hpp"
#include "codec/entropy/context_rans.hpp"
#include "codec/entropy/rans.hpp"
#include "codec/entropy/raw.hpp"
#include "codec/entropy/zstd_coder.hpp"

namespace ftc::entropy {

Result<std::unique_ptr<ChunkDecoder>> make_decoder(CoderKind kind, std::span<const std::uint8_t> params, int bits,
                                                   ContextMap ctx) {
  switch (kind) {
    case CoderKind::raw:
    case CoderKind::zstd:
      if (!params.empty())
        return Status{StatusCode::corrupt, std::string(coder_name(kind)) + " coder takes no parameters, the stream has " + std::to_string(params.size()) + " bytes"};
      if (kind == CoderKind::raw) return make_raw_decoder(bits);
      return make_zstd_decoder(bits);
    case CoderKind::rans: return make_rans_decoder(params, bits, ctx);
    case CoderKind::adaptive: return make_adaptive_decoder(params, bits);
    case CoderKind::rans_wide: return make_rans_wide_decoder(params, bits, ctx);
    case CoderKind::context_rans: return make_context_rans_decoder(params, bits, ctx);
  }
  return Status{StatusCode::unsupported_feature, "unknown coder"};
}

std::size_t max_params_size(CoderKind kind, int bits, std::uint32_t groups) {
  if (kind == CoderKind::adaptive) return kAdaptiveMaxParamsSize;
  if (kind == CoderKind::rans_wide) return 1 + rans_max_params_size(bits, groups);
  if (kind == CoderKind::context_rans)  // one table a group of 2^bits entries of ≤ 3 bytes, plus the header
    return 32 + std::size_t{groups} * 3 * (std::size_t{1} << bits) + 5 * std::size_t{groups};
  return kind == CoderKind::rans ? rans_max_params_size(bits, groups) : 0;
}

}  // namespace ftc::entropy
