// rANS decode kernel, Highway SIMD with runtime dispatch (docs/format-rans.md §Decoding).
// Writes exactly what decode_rounds_scalar writes: same symbols, same words consumed in the
// same lane order.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "codec/entropy/rans_internal.hpp"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "codec/entropy/rans_simd_dec.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace ftc::entropy::rans_detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <bool kWide>
std::size_t DecodeRoundsT(const DecKernelArgs& a) {
  constexpr std::size_t N = kRansLanes;
  const hn::ScalableTag<std::uint32_t> du;
  const hn::RebindToSigned<decltype(du)> di;
  using OutT = std::conditional_t<kWide, std::uint16_t, std::uint8_t>;
  const hn::Rebind<OutT, decltype(du)> dout;
  const std::size_t V = hn::Lanes(du);
  const int P = a.precision;
  const auto vmask = hn::Set(du, (1u << P) - 1);
  const auto vsym = hn::Set(du, kWide ? 0xFFFFu : 0xFFu);
  const auto v16 = hn::Set(du, 0xFFFFu);
  const auto vL = hn::Set(du, kL);
  const auto vone = hn::Set(du, 1u);
  const auto vesc = hn::Set(du, a.table.esc);
  // below[i] = (1 << i) − 1: lanes whose mask bits count before lane i.
  HWY_ALIGN std::uint32_t below_arr[hn::MaxLanes(du) > 0 ? hn::MaxLanes(du) : 1];
  for (std::size_t i = 0; i < V; ++i) below_arr[i] = (1u << i) - 1;
  const auto below = hn::Load(du, below_arr);
  const auto* slots = reinterpret_cast<const std::int32_t*>(a.table.slots);
  const auto* info = reinterpret_cast<const std::int32_t*>(a.table.info);
  const std::uint8_t* in = *a.in;
  std::size_t done = 0;
  for (std::size_t r = 0; r < a.rounds; ++r) {
    if (a.end - in < static_cast<std::ptrdiff_t>(2 * (N + 2))) break;
    auto any = hn::Zero(du);
    OutT* out = static_cast<OutT*>(a.out) + r * N;
    for (std::size_t v = 0; v < N; v += V) {
      auto x = hn::LoadU(du, a.x + v);
      const auto slot = hn::And(x, vmask);
      const auto off = kWide ? hn::Add(slot, slot) : slot;
      const auto idx = hn::And(hn::BitCast(du, hn::GatherOffset(di, slots, hn::BitCast(di, off))), vsym);
      const auto e = hn::BitCast(du, hn::GatherIndex(di, info, hn::BitCast(di, idx)));
      const auto freq = hn::Add(hn::ShiftRight<16>(e), vone);
      const auto start = hn::And(e, v16);
      x = hn::Sub(hn::Add(hn::Mul(freq, hn::ShiftRightSame(x, P)), slot), start);
      any = hn::Or(any, hn::VecFromMask(du, hn::Eq(idx, vesc)));
      hn::StoreU(hn::TruncateTo(dout, idx), dout, out + v);
      // Renormalize the lanes below 2^16 with the next words, in lane order.
      const auto m = hn::Lt(x, vL);
      std::uint8_t mbits[8] = {};
      hn::StoreMaskBits(du, m, mbits);
      std::uint32_t bits = 0;
      std::memcpy(&bits, mbits, (V + 7) / 8 < 4 ? (V + 7) / 8 : 4);
      const auto prefix = hn::PopulationCount(hn::And(hn::Set(du, bits), below));
      const auto words = hn::And(
          hn::BitCast(du, hn::GatherOffset(di, reinterpret_cast<const std::int32_t*>(in), hn::BitCast(di, hn::Add(prefix, prefix)))),
          v16);
      x = hn::IfThenElse(m, hn::Or(hn::ShiftLeft<16>(x), words), x);
      in += 2 * static_cast<std::size_t>(__builtin_popcount(bits));
      hn::StoreU(x, du, a.x + v);
    }
    ++done;
    if (!hn::AllFalse(du, hn::Ne(any, hn::Zero(du)))) break;
  }
  *a.in = in;
  return done;
}

std::size_t DecodeRounds(const DecKernelArgs& a) {
  return a.wide ? DecodeRoundsT<true>(a) : DecodeRoundsT<false>(a);
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace ftc::entropy::rans_detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace ftc::entropy::rans_detail {
HWY_EXPORT(DecodeRounds);
std::size_t decode_rounds_simd(const DecKernelArgs& a) { return HWY_DYNAMIC_DISPATCH(DecodeRounds)(a); }
}  // namespace ftc::entropy::rans_detail
#endif
