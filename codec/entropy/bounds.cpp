// Size bounds that encoders (buffer sizes) and decoders (limits on declared sizes) share.
#include "codec/entropy/adaptive.hpp"
#include "codec/entropy/adaptive_model.hpp"
#include "codec/entropy/coder.hpp"
#include "codec/entropy/rans.hpp"

namespace ftc::entropy {

std::size_t max_params_size(CoderKind kind, int bits, std::uint32_t groups) {
  if (kind == CoderKind::adaptive) return kAdaptiveMaxParamsSize;
  if (kind == CoderKind::rans_wide) return 1 + rans_max_params_size(bits, groups);
  if (kind == CoderKind::context_rans)  // one table a group of 2^bits entries of ≤ 3 bytes, plus the header
    return 32 + std::size_t{groups} * 3 * (std::size_t{1} << bits) + 5 * std::size_t{groups};
  return kind == CoderKind::rans ? rans_max_params_size(bits, groups) : 0;
}

std::uint64_t adaptive_max_payload(std::uint64_t count, int bits) {
  if (count == 0) return 0;
  const std::uint64_t bins = count * static_cast<std::uint64_t>(adaptive_detail::max_bins_per_symbol(bits));
  return 4 + 2 * ((bins * 12 + 15) / 16 + 2);
}

}  // namespace ftc::entropy
