#include "codec/entropy/coder.hpp"
#include "codec/entropy/adaptive.hpp"
#include "codec/entropy/context_rans.hpp"
#include "codec/entropy/rans.hpp"
#include "codec/entropy/raw.hpp"
#include "codec/entropy/zstd_coder.hpp"

namespace ftc::entropy {

Result<EncoderSetup> make_encoder(CoderKind kind, const SymbolSpan& all, const CoderConfig& config) {
  if (!config.fixed_params.empty() && kind == CoderKind::rans) {
    FTC_ASSIGN_OR_RETURN(RansTables t, RansTables::parse(config.fixed_params, all.bits, all.ctx.groups));
    FTC_ASSIGN_OR_RETURN(EncoderSetup setup, make_rans_encoder_with_tables(std::make_shared<const RansTables>(std::move(t)), kRansLanes));
    setup.params.assign(config.fixed_params.begin(), config.fixed_params.end());
    return setup;
  }
  if (!config.fixed_params.empty() && kind != CoderKind::context_rans)
    return Status{StatusCode::unsupported_option, std::string("coder ") + coder_name(kind) + " with tables fixed by a codec model"};
  switch (kind) {
    case CoderKind::raw: return EncoderSetup{{}, make_raw_encoder(all.bits)};
    case CoderKind::zstd: return EncoderSetup{{}, make_zstd_encoder(all.bits, config.zstd_level)};
    case CoderKind::rans: return make_rans_encoder(all, config);
    case CoderKind::adaptive: return make_adaptive_encoder(all, config);
    case CoderKind::rans_wide: return make_rans_wide_encoder(all, config);
    case CoderKind::context_rans: {
      if (config.fixed_params.empty()) return make_context_rans_encoder(all, nullptr);
      FTC_ASSIGN_OR_RETURN(ContextRansModel m, ContextRansModel::parse(config.fixed_params, all.bits, all.ctx));
      FTC_ASSIGN_OR_RETURN(EncoderSetup setup, make_context_rans_encoder(all, std::make_shared<const ContextRansModel>(std::move(m))));
      setup.params.assign(config.fixed_params.begin(), config.fixed_params.end());
      return setup;
    }
  }
  return Status{StatusCode::invalid_argument, "unknown coder"};
}

}  // namespace ftc::entropy
