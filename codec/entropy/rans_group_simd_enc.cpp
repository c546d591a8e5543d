// Context grouping's assignment step (rans_group_enc.cpp): 16-bit dot products of context weight
// vectors with table cost vectors, Highway SIMD with runtime dispatch. Exact int32 sums (the
// caller keeps each below 2^31), so every target returns the same numbers.
#include <cstddef>
#include <cstdint>

#include "codec/entropy/rans_model_enc.hpp"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "codec/entropy/rans_group_simd_enc.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace ftc::entropy::rans_detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <bool kTwo>
void GroupDotsT(const std::int16_t* HWY_RESTRICT w, std::size_t stride, const std::uint32_t* HWY_RESTRICT ctx,
                std::size_t n, const std::int16_t* HWY_RESTRICT ca, const std::int16_t* HWY_RESTRICT cb,
                std::size_t len, std::int32_t* HWY_RESTRICT da, std::int32_t* HWY_RESTRICT db) {
  const hn::ScalableTag<std::int16_t> d16;
  const hn::Repartition<std::int32_t, decltype(d16)> d32;
  const std::size_t N = hn::Lanes(d16);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int16_t* HWY_RESTRICT row = w + ctx[i] * stride;
    auto a0 = hn::Zero(d32), a1 = hn::Zero(d32), b0 = hn::Zero(d32), b1 = hn::Zero(d32);
    std::size_t v = 0;
    for (; v + N <= len; v += N) {
      const auto x = hn::LoadU(d16, row + v);
      a0 = hn::ReorderWidenMulAccumulate(d32, x, hn::LoadU(d16, ca + v), a0, a1);
      if constexpr (kTwo) b0 = hn::ReorderWidenMulAccumulate(d32, x, hn::LoadU(d16, cb + v), b0, b1);
    }
    std::int32_t sa = hn::GetLane(hn::SumOfLanes(d32, hn::Add(a0, a1)));
    std::int32_t sb = kTwo ? hn::GetLane(hn::SumOfLanes(d32, hn::Add(b0, b1))) : 0;
    for (; v < len; ++v) {
      sa += static_cast<std::int32_t>(row[v]) * ca[v];
      if constexpr (kTwo) sb += static_cast<std::int32_t>(row[v]) * cb[v];
    }
    da[i] = sa;
    if constexpr (kTwo) db[i] = sb;
  }
}

void GroupDots(const std::int16_t* w, std::size_t stride, const std::uint32_t* ctx, std::size_t n,
               const std::int16_t* ca, const std::int16_t* cb, std::size_t len, std::int32_t* da, std::int32_t* db) {
  if (cb) GroupDotsT<true>(w, stride, ctx, n, ca, cb, len, da, db);
  else GroupDotsT<false>(w, stride, ctx, n, ca, nullptr, len, da, nullptr);
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace ftc::entropy::rans_detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace ftc::entropy::rans_detail {
HWY_EXPORT(GroupDots);
void group_dots(const std::int16_t* w, std::size_t stride, const std::uint32_t* ctx, std::size_t n,
                const std::int16_t* ca, const std::int16_t* cb, std::size_t len, std::int32_t* da, std::int32_t* db) {
  HWY_DYNAMIC_DISPATCH(GroupDots)(w, stride, ctx, n, ca, cb, len, da, db);
}
}  // namespace ftc::entropy::rans_detail
#endif
