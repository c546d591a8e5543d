#include "codec/entropy/coder.hpp"
#include "codec/entropy/adaptive.hpp"
#include "codec/entropy/context_rans.hpp"
#include "codec/entropy/rans.hpp"
#include "codec/entropy/raw.hpp"
#include "codec/entropy/zstd_coder.hpp"

namespace ftc::entropy {

Result<std::unique_ptr<ChunkDecoder>> make_decoder(CoderKind kind, std::span<const std::uint8_t> params, int bits,
                                                   ContextMap ctx, TableBudget* budget) {
  switch (kind) {
    case CoderKind::raw:
    case CoderKind::zstd:
      if (!params.empty())
        return Status{StatusCode::corrupt, std::string(coder_name(kind)) + " coder takes no parameters, the stream has " + std::to_string(params.size()) + " bytes"};
      if (kind == CoderKind::raw) return make_raw_decoder(bits);
      return make_zstd_decoder(bits);
    case CoderKind::rans: return make_rans_decoder(params, bits, ctx, budget);
    case CoderKind::adaptive:
      if (budget) FTC_RETURN_IF_ERROR(budget->charge(kAdaptiveTableEntries));
      return make_adaptive_decoder(params, bits);
    case CoderKind::rans_wide: return make_rans_wide_decoder(params, bits, ctx, budget);
    case CoderKind::context_rans: return make_context_rans_decoder(params, bits, ctx, budget);
  }
  return Status{StatusCode::unsupported_feature, "unknown coder"};
}

}  // namespace ftc::entropy
