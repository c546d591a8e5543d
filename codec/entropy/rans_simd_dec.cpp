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
#if HWY_ARCH_X86
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their _mm512_undefined_* operands.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#endif

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

// Fused tables (bits ≤ 8, P ≤ 12): one gather a vector, then the words of the lanes below 2^16
// in lane order.
std::size_t DecodeFusedT(const DecKernelArgs& a) {
  constexpr std::size_t N = kRansLanes;
  const std::uint8_t* in = *a.in;
  const int P = a.precision;
  const auto* fused = reinterpret_cast<const std::int32_t*>(a.table.fused);
  std::size_t done = 0;
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  // AVX-512: 2 vectors of 16 lanes; renormalization by vpexpandd of the next 16 words.
  static_assert(N == 32, "two 16-lane vectors a round");
  const __m512i vmask = _mm512_set1_epi32(static_cast<int>((1u << P) - 1));
  const __m128i vP = _mm_cvtsi32_si128(P);
  const __m512i vL = _mm512_set1_epi32(static_cast<int>(kL));
  const __m512i v12 = _mm512_set1_epi32(0xFFF);
  const __m512i vff = _mm512_set1_epi32(0xFF);
  const __m512i vone = _mm512_set1_epi32(1);
  const __m512i vesc = _mm512_set1_epi32(static_cast<int>(a.table.esc));
  __m512i x0 = _mm512_loadu_si512(a.x);
  __m512i x1 = _mm512_loadu_si512(a.x + 16);
  __m512i off0 = _mm512_setzero_si512(), off1 = _mm512_setzero_si512();
  __m512i vesc0 = vesc, vesc1 = vesc;
  if (a.lane_off) {
    off0 = _mm512_loadu_si512(a.lane_off);
    off1 = _mm512_loadu_si512(a.lane_off + 16);
    vesc0 = _mm512_loadu_si512(a.lane_esc);
    vesc1 = _mm512_loadu_si512(a.lane_esc + 16);
  }
  auto* out = static_cast<std::uint8_t*>(a.out);
  for (std::size_t r = 0; r < a.rounds; ++r) {
    if (a.end - in < static_cast<std::ptrdiff_t>(2 * (N + 2))) break;
    const __m512i e0 = _mm512_i32gather_epi32(_mm512_add_epi32(_mm512_and_si512(x0, vmask), off0), fused, 4);
    const __m512i e1 = _mm512_i32gather_epi32(_mm512_add_epi32(_mm512_and_si512(x1, vmask), off1), fused, 4);
    x0 = _mm512_add_epi32(_mm512_mullo_epi32(_mm512_add_epi32(_mm512_srli_epi32(e0, 20), vone), _mm512_srl_epi32(x0, vP)),
                          _mm512_and_si512(_mm512_srli_epi32(e0, 8), v12));
    x1 = _mm512_add_epi32(_mm512_mullo_epi32(_mm512_add_epi32(_mm512_srli_epi32(e1, 20), vone), _mm512_srl_epi32(x1, vP)),
                          _mm512_and_si512(_mm512_srli_epi32(e1, 8), v12));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + r * N), _mm512_cvtepi32_epi8(e0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + r * N + 16), _mm512_cvtepi32_epi8(e1));
    const __mmask16 esc = static_cast<__mmask16>(_mm512_cmpeq_epi32_mask(_mm512_and_si512(e0, vff), vesc0) |
                                                 _mm512_cmpeq_epi32_mask(_mm512_and_si512(e1, vff), vesc1));
    const __mmask16 m0 = _mm512_cmplt_epu32_mask(x0, vL);
    const __mmask16 m1 = _mm512_cmplt_epu32_mask(x1, vL);
    const std::uint8_t* in1 = in + 2 * static_cast<std::size_t>(__builtin_popcount(m0));
    const __m512i w0 = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in)));
    const __m512i w1 = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in1)));
    x0 = _mm512_mask_or_epi32(x0, m0, _mm512_slli_epi32(x0, 16), _mm512_maskz_expand_epi32(m0, w0));
    x1 = _mm512_mask_or_epi32(x1, m1, _mm512_slli_epi32(x1, 16), _mm512_maskz_expand_epi32(m1, w1));
    in = in1 + 2 * static_cast<std::size_t>(__builtin_popcount(m1));
    ++done;
    if (esc) break;
  }
  _mm512_storeu_si512(a.x, x0);
  _mm512_storeu_si512(a.x + 16, x1);
#else
  const hn::ScalableTag<std::uint32_t> du;
  const hn::RebindToSigned<decltype(du)> di;
  const hn::Rebind<std::uint8_t, decltype(du)> dout;
  const std::size_t V = hn::Lanes(du);
  const auto vmask = hn::Set(du, (1u << P) - 1);
  const auto v12 = hn::Set(du, 0xFFFu);
  const auto vff = hn::Set(du, 0xFFu);
  const auto v16 = hn::Set(du, 0xFFFFu);
  const auto vL = hn::Set(du, kL);
  const auto vone = hn::Set(du, 1u);
  const auto vesc = hn::Set(du, a.table.esc);
  HWY_ALIGN std::uint32_t below_arr[hn::MaxLanes(du) > 0 ? hn::MaxLanes(du) : 1];
  for (std::size_t i = 0; i < V; ++i) below_arr[i] = (1u << i) - 1;
  const auto below = hn::Load(du, below_arr);
  for (std::size_t r = 0; r < a.rounds; ++r) {
    if (a.end - in < static_cast<std::ptrdiff_t>(2 * (N + 2))) break;
    auto any = hn::Zero(du);
    std::uint8_t* out = static_cast<std::uint8_t*>(a.out) + r * N;
    for (std::size_t v = 0; v < N; v += V) {
      auto x = hn::LoadU(du, a.x + v);
      const auto off = a.lane_off ? hn::LoadU(du, a.lane_off + v) : hn::Zero(du);
      const auto lesc = a.lane_esc ? hn::LoadU(du, a.lane_esc + v) : vesc;
      const auto e = hn::BitCast(du, hn::GatherIndex(di, fused, hn::BitCast(di, hn::Add(hn::And(x, vmask), off))));
      const auto idx = hn::And(e, vff);
      x = hn::Add(hn::Mul(hn::Add(hn::ShiftRight<20>(e), vone), hn::ShiftRightSame(x, P)),
                  hn::And(hn::ShiftRight<8>(e), v12));
      any = hn::Or(any, hn::VecFromMask(du, hn::Eq(idx, lesc)));
      hn::StoreU(hn::TruncateTo(dout, idx), dout, out + v);
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
#endif
  *a.in = in;
  return done;
}

std::size_t DecodeRounds(const DecKernelArgs& a) {
  if (a.table.fused) return DecodeFusedT(a);
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
