// Size bounds that encoders (buffer sizes) and decoders (limits on declared sizes) share.
#include <string>

#include "codec/entropy/adaptive.hpp"
#include "codec/entropy/adaptive_model.hpp"
#include "codec/entropy/coder.hpp"
#include "codec/entropy/context_rans.hpp"
#include "codec/entropy/rans.hpp"

namespace ftc {

// docs/format.md §7.1: min(max_table_entries, 16·frame_bytes + output_elements + 2^20), each sum
// and product saturating at 2^64 − 1.
std::uint64_t frame_table_budget(const DecoderLimits& limits, std::uint64_t frame_bytes,
                                 std::uint64_t output_elements) noexcept {
  constexpr std::uint64_t kMax = UINT64_MAX;
  std::uint64_t b = frame_bytes > kMax / 16 ? kMax : 16 * frame_bytes;
  b = output_elements > kMax - b ? kMax : b + output_elements;
  b = b > kMax - (std::uint64_t{1} << 20) ? kMax : b + (std::uint64_t{1} << 20);
  return b < limits.max_table_entries ? b : limits.max_table_entries;
}

}  // namespace ftc

namespace ftc::entropy {

Status TableBudget::charge(std::uint64_t entries) {
  used = entries > UINT64_MAX - used ? UINT64_MAX : used + entries;
  if (used <= limit) return {};
  return {StatusCode::limit_exceeded, "coder tables declare more than the table budget of " + std::to_string(limit) + " entries"};
}

Result<std::uint64_t> table_entries(CoderKind kind, std::span<const std::uint8_t> params, int bits, ContextMap ctx) {
  TableBudget count;  // unlimited: only counts
  const std::uint32_t groups = ctx.groups == 0 ? 1 : ctx.groups;
  switch (kind) {
    case CoderKind::raw:
    case CoderKind::zstd: return std::uint64_t{0};
    case CoderKind::adaptive: return kAdaptiveTableEntries;
    case CoderKind::rans: {
      const auto t = RansTables::parse(params, bits, groups, &count);
      if (!t.ok()) return t.status();
      return count.used;
    }
    case CoderKind::rans_wide: {
      if (params.empty()) return Status{StatusCode::truncated, "rans: params end before the lane exponent"};
      const auto t = RansTables::parse(params.subspan(1), bits, groups, &count);
      if (!t.ok()) return t.status();
      return count.used;
    }
    case CoderKind::context_rans: {
      const auto m = ContextRansModel::parse(params, bits, ctx, &count);
      if (!m.ok()) return m.status();
      return count.used;
    }
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

std::uint64_t adaptive_max_payload(std::uint64_t count, int bits) {
  if (count == 0) return 0;
  const std::uint64_t bins = count * static_cast<std::uint64_t>(adaptive_detail::max_bins_per_symbol(bits));
  return 4 + 2 * ((bins * 12 + 15) / 16 + 2);
}

}  // namespace ftc::entropy
