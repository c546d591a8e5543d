// rANS encode kernel, Highway runtime dispatch (docs/format-rans.md §Encoding). AVX-512 targets
// run 2, 4 or 8 × 16 lanes with per-symbol constants gathered or loaded (lookups_by_loads()), a
// 32×32→64 multiply for the reciprocal division and a compress-store of the emitted words; the
// other vector targets (AVX2, SSE4, NEON, SVE) run the same steps through portable Highway ops,
// and HWY_SCALAR/EMU128 the scalar kernel. Every one writes exactly what encode_rounds_scalar
// writes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "codec/entropy/rans_internal.hpp"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "codec/entropy/rans_simd_enc.cpp"
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

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
namespace {
struct Lanes16 {
  __m512i rcp, bias, cmpl, xmax, shift;
};

inline __m512i mulhi_u32(__m512i x, __m512i r) {
  const __m512i even = _mm512_srli_epi64(_mm512_mul_epu32(x, r), 32);
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), _mm512_srli_epi64(r, 32));
  return _mm512_mask_blend_epi32(static_cast<__mmask16>(0xAAAA), even, odd);
}

// Emits the words of the lanes above xmax (lane order ascending in memory, below *p) and codes.
inline __m512i step16(__m512i x, const Lanes16& l, std::uint8_t*& p) {
  const __mmask16 m = _mm512_cmpgt_epu32_mask(x, l.xmax);
  const unsigned c = static_cast<unsigned>(__builtin_popcount(m));
  p -= 2 * c;
  const __m256i words = _mm512_cvtepi32_epi16(_mm512_maskz_compress_epi32(m, x));
  _mm256_mask_storeu_epi16(p, static_cast<__mmask16>((1u << c) - 1), words);
  x = _mm512_mask_srli_epi32(x, m, x, 16);
  const __m512i t = mulhi_u32(x, l.rcp);
  const __m512i q = _mm512_srlv_epi32(_mm512_add_epi32(t, _mm512_srli_epi32(_mm512_sub_epi32(x, t), 1)), l.shift);
  return _mm512_add_epi32(_mm512_add_epi32(x, l.bias), _mm512_mullo_epi32(q, l.cmpl));
}
}  // namespace
#endif

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
// The first 16 bytes (rcp, bias, fs, xmax_m1: EncSym) of the entries of 16 symbols as four
// vectors of 16 lanes, with 16 loads and a 4×4 transpose inside each 128-bit block: block b of
// z[k] holds lane 4b + k, so that after the transpose lane 4b + k of field j is that lane's
// field j. Lane l's entry is (l < split ? ta : tb)[min(s[l], clamp)] (kernel_symbol_clamp).
// kClamp: clamp < 255; kSplit: the lanes use two tables.
template <bool kClamp, bool kSplit>
inline void load_entries16(const std::uint8_t* s, std::uint32_t clamp, const EncSym* ta, const EncSym* tb, int split,
                           __m512i& rcp, __m512i& bias, __m512i& fs, __m512i& xmax) {
  auto row = [&](int l) {
    const std::uint32_t v = kClamp ? std::min<std::uint32_t>(s[l], clamp) : s[l];
    const EncSym* e = (kSplit && l >= split ? tb : ta) + v;
    return _mm_load_si128(reinterpret_cast<const __m128i*>(e));
  };
  __m512i z[4];
  for (int k = 0; k < 4; ++k) {
    z[k] = _mm512_castsi128_si512(row(k));
    z[k] = _mm512_mask_broadcast_i32x4(z[k], 0x00F0, row(4 + k));
    z[k] = _mm512_mask_broadcast_i32x4(z[k], 0x0F00, row(8 + k));
    z[k] = _mm512_mask_broadcast_i32x4(z[k], 0xF000, row(12 + k));
  }
  const __m512i a = _mm512_unpacklo_epi32(z[0], z[1]), b = _mm512_unpackhi_epi32(z[0], z[1]);
  const __m512i c = _mm512_unpacklo_epi32(z[2], z[3]), d = _mm512_unpackhi_epi32(z[2], z[3]);
  rcp = _mm512_unpacklo_epi64(a, c);
  bias = _mm512_unpackhi_epi64(a, c);
  fs = _mm512_unpacklo_epi64(b, d);
  xmax = _mm512_unpackhi_epi64(b, d);
}

// NV vectors of 16 lanes a round; vectors are coded last first so that the words land below p
// in lane order. kLoads: the per-lane entries through load_entries16 instead of three gathers
// (lookups_by_loads()).
template <int NV, bool kPeriodic, bool kLoads>
std::size_t EncodeRoundsAvx512(const EncKernelArgs& a) {
  constexpr std::size_t N = 16 * NV;
  const auto* syms = static_cast<const std::uint8_t*>(a.syms);
  const EncSym* tab = a.table.sym;
  const int* f_rcp = reinterpret_cast<const int*>(&tab[0].rcp);
  const int* f_bias = reinterpret_cast<const int*>(&tab[0].bias);
  const int* f_fs = reinterpret_cast<const int*>(&tab[0].fs);
  const __m512i vn = _mm512_set1_epi32(static_cast<int>(a.table.n));
  const __m512i vflags = _mm512_set1_epi32(static_cast<int>(a.stop_flags));
  const __m512i vfmask = _mm512_set1_epi32(0x1FFFF);
  const __m512i vshmask = _mm512_set1_epi32(0x1F);
  const __m512i vtotal = _mm512_set1_epi32(static_cast<int>(1u << a.precision));
  const __m512i vone = _mm512_set1_epi32(1);
  const __m128i vsh = _mm_cvtsi32_si128(32 - a.precision);
  std::uint8_t* p = *a.out;
  __m512i x[NV];
  for (int v = 0; v < NV; ++v) x[v] = _mm512_loadu_si512(a.x + 16 * v);
  std::size_t done = 0;
  [[maybe_unused]] const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  for (std::size_t r = a.rounds; r-- > 0;) {
    const std::uint8_t* s = syms + r * N;
    Lanes16 l[NV];
    __m512i idx[NV], fs[NV];
    __m512i any = _mm512_setzero_si512();
    [[maybe_unused]] __m512i na = vn, nb = vn, ba = _mm512_setzero_si512(), bb = ba;
    [[maybe_unused]] std::uint32_t b = 0, ca = 0, cb = 0;
    if constexpr (kPeriodic) {
      // Lanes [0, b) in the run of context ca, [b, N) in the next one.
      const std::uint64_t first = a.first_index + r * N;
      const std::uint64_t rem = first % a.inner;
      ca = static_cast<std::uint32_t>((first / a.inner) % a.groups);
      cb = ca + 1 == a.groups ? 0 : ca + 1;
      b = static_cast<std::uint32_t>(std::min<std::uint64_t>(a.inner - rem, N));
      if constexpr (!kLoads) {
        na = _mm512_set1_epi32(static_cast<int>(a.ctx_n[ca]));
        nb = _mm512_set1_epi32(static_cast<int>(a.ctx_n[cb]));
        ba = _mm512_set1_epi32(static_cast<int>(a.ctx_base[ca]));
        bb = _mm512_set1_epi32(static_cast<int>(a.ctx_base[cb]));
      }
    }
    for (int v = 0; v < NV; ++v) {
      if constexpr (kLoads) {
        const EncSym* ta = tab;
        const EncSym* tb = tab;
        if constexpr (kPeriodic) {
          ta += a.ctx_base[ca];
          tb += a.ctx_base[cb];
        }
        const int split = kPeriodic ? static_cast<int>(b) - 16 * v : 16;  // lanes below it: table a
        if (split <= 0) ta = tb;
        auto load = [&](auto clamp, auto two_tables) {
          load_entries16<decltype(clamp)::value, decltype(two_tables)::value>(s + 16 * v, a.symbol_clamp, ta, tb, split,
                                                                             l[v].rcp, l[v].bias, fs[v], l[v].xmax);
        };
        using Yes = std::true_type;
        using No = std::false_type;
        const bool two = split > 0 && split < 16;
        if (a.symbol_clamp < 255) two ? load(Yes{}, Yes{}) : load(Yes{}, No{});
        else two ? load(No{}, Yes{}) : load(No{}, No{});
      } else {
        const __m512i sv = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 16 * v)));
        if constexpr (kPeriodic) {
          const __mmask16 in_a = _mm512_cmplt_epu32_mask(_mm512_add_epi32(iota, _mm512_set1_epi32(16 * v)), _mm512_set1_epi32(static_cast<int>(b)));
          idx[v] = _mm512_add_epi32(_mm512_min_epu32(sv, _mm512_mask_blend_epi32(in_a, nb, na)), _mm512_mask_blend_epi32(in_a, bb, ba));
        } else {
          idx[v] = _mm512_min_epu32(sv, vn);
        }
        idx[v] = _mm512_slli_epi32(idx[v], 2);  // EncSym: 4 words
        fs[v] = _mm512_i32gather_epi32(idx[v], f_fs, 4);
      }
      any = _mm512_or_si512(any, fs[v]);
    }
    if (_mm512_test_epi32_mask(any, vflags)) break;
    for (int v = NV; v-- > 0;) {
      const __m512i f = _mm512_and_si512(fs[v], vfmask);
      if constexpr (!kLoads) {
        l[v].rcp = _mm512_i32gather_epi32(idx[v], f_rcp, 4);
        l[v].bias = _mm512_i32gather_epi32(idx[v], f_bias, 4);
        l[v].xmax = _mm512_sub_epi32(_mm512_sll_epi32(f, vsh), vone);
      }
      l[v].cmpl = _mm512_sub_epi32(vtotal, f);
      l[v].shift = _mm512_and_si512(_mm512_srli_epi32(fs[v], 24), vshmask);
      x[v] = step16(x[v], l[v], p);
    }
    ++done;
  }
  for (int v = 0; v < NV; ++v) _mm512_storeu_si512(a.x + 16 * v, x[v]);
  *a.out = p;
  return done;
}

template <bool kPeriodic>
std::size_t EncodeRoundsLanes(const EncKernelArgs& a) {
  const bool loads = lookups_by_loads();
  switch (a.lanes) {
    case 32: return loads ? EncodeRoundsAvx512<2, kPeriodic, true>(a) : EncodeRoundsAvx512<2, kPeriodic, false>(a);
    case 64: return loads ? EncodeRoundsAvx512<4, kPeriodic, true>(a) : EncodeRoundsAvx512<4, kPeriodic, false>(a);
    default: return loads ? EncodeRoundsAvx512<8, kPeriodic, true>(a) : EncodeRoundsAvx512<8, kPeriodic, false>(a);
  }
}
#endif

#if !(HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3) && HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128
#define FTC_RANS_PORTABLE_ENCODER 1
namespace hn = hwy::HWY_NAMESPACE;

// Lookups by loads need whole 128-bit blocks of 4 lanes and block-wise interleaves: x86 and NEON.
#if HWY_ARCH_X86 || HWY_TARGET == HWY_NEON
#define FTC_RANS_PORTABLE_LOADS 1
constexpr bool kPortableLoads = true;
#else
// (Sizeless vectors, SVE's, cannot be array elements: the loads path is not compiled at all.)
#define FTC_RANS_PORTABLE_LOADS 0
constexpr bool kPortableLoads = false;
#endif

// The portable kernel (AVX2, SSE4, NEON, SVE, …): the lanes' states in memory, one vector of
// L ≤ 16 states at a time, the same steps and bytes as encode_rounds_scalar — the lanes of a
// round from the last vector to the first, each lane's word below p. The table fields of a
// vector come either from gathers (kLoads false: GatherIndex, vpgatherdd on AVX2, lane loads
// where the target has no gather) or, as in the AVX-512 kernel, from one 128-bit load of each
// lane's 16-byte entry and a 4×4 transpose inside each block (L = 4 or 8; the symbol indexes
// its table directly, kernel_symbol_clamp).
template <bool kPeriodic, bool kLoads>
std::size_t EncodeRoundsPortable(const EncKernelArgs& a) {
  const hn::CappedTag<std::uint32_t, 16> d;  // ≤ 16 lanes: a vector's emit bits fit one word
  const hn::RebindToSigned<decltype(d)> di;
  const hn::Repartition<std::uint64_t, decltype(d)> d64;
  const hn::Rebind<std::uint8_t, decltype(d)> d8;
  const std::size_t L = hn::Lanes(d);
  const std::size_t N = a.lanes;
  if (N % L != 0 || N > kRansMaxLanes || (kLoads && L != 4 && L != 8))
    return kPeriodic ? kNoPeriodicKernel : encode_rounds_scalar(a);
  const std::size_t NV = N / L;
  const auto* syms = static_cast<const std::uint8_t*>(a.syms);
  const EncSym* tab = a.table.sym;
  const auto* fields = reinterpret_cast<const std::int32_t*>(tab);  // EncSym: rcp, bias, fs, xmax_m1
  HWY_ALIGN std::uint32_t xs[kRansMaxLanes];
  // This round's per-lane entry: its index · 4 (gathers) or its four fields (loads).
  HWY_ALIGN std::int32_t idx[kRansMaxLanes];
  HWY_ALIGN std::uint32_t f_rcp[kLoads ? kRansMaxLanes : 1], f_bias[kLoads ? kRansMaxLanes : 1],
      f_fs[kLoads ? kRansMaxLanes : 1], f_xmax[kLoads ? kRansMaxLanes : 1];
  HWY_ALIGN std::uint32_t words[hn::MaxLanes(d)];
  for (std::size_t v = 0; v < NV; ++v) hn::Store(hn::LoadU(d, a.x + v * L), d, xs + v * L);
  const auto vflags = hn::Set(d, a.stop_flags);
  const auto vfmask = hn::Set(d, 0x1FFFFu);
  const auto vshmask = hn::Set(d, 0x1Fu);
  const auto vtotal = hn::Set(d, 1u << a.precision);
  const auto iota = hn::Iota(d, 0);
  std::uint8_t* p = *a.out;
  std::size_t done = 0;
  for (std::size_t r = a.rounds; r-- > 0;) {
    const std::uint8_t* s = syms + r * N;
    auto n_a = hn::Set(d, a.table.n), n_b = n_a;
    auto base_a = hn::Zero(d), base_b = base_a;
    const EncSym* ta = tab;
    const EncSym* tb = tab;
    std::uint32_t b = static_cast<std::uint32_t>(N);
    if constexpr (kPeriodic) {
      // Lanes [0, b) in the run of context ca, [b, N) in the next one.
      const std::uint64_t first = a.first_index + r * N;
      const std::uint64_t rem = first % a.inner;
      const auto ca = static_cast<std::uint32_t>((first / a.inner) % a.groups);
      const std::uint32_t cb = ca + 1 == a.groups ? 0 : ca + 1;
      b = static_cast<std::uint32_t>(std::min<std::uint64_t>(a.inner - rem, N));
      n_a = hn::Set(d, a.ctx_n[ca]);
      n_b = hn::Set(d, a.ctx_n[cb]);
      base_a = hn::Set(d, a.ctx_base[ca]);
      base_b = hn::Set(d, a.ctx_base[cb]);
      ta = tab + a.ctx_base[ca];
      tb = tab + a.ctx_base[cb];
    }
    auto any = hn::Zero(d);
    for (std::size_t v = 0; v < NV; ++v) {
#if FTC_RANS_PORTABLE_LOADS
      if constexpr (kLoads) {
        const hn::FixedTag<std::uint32_t, 4> d4;
        auto row = [&](std::size_t l) {
          const std::uint32_t sym = std::min<std::uint32_t>(s[v * L + l], a.symbol_clamp);
          const EncSym* e = (v * L + l < b ? ta : tb) + sym;
          return hn::LoadU(d4, reinterpret_cast<const std::uint32_t*>(e));
        };
        hn::Vec<decltype(d)> z[4];
        for (std::size_t k = 0; k < 4; ++k) {
          if constexpr (hn::MaxLanes(d) == 4) z[k] = row(k);
          else z[k] = hn::Combine(d, row(4 + k), row(k));
        }
        const auto ab = hn::InterleaveLower(d, z[0], z[1]), cd = hn::InterleaveLower(d, z[2], z[3]);
        const auto ab2 = hn::InterleaveUpper(d, z[0], z[1]), cd2 = hn::InterleaveUpper(d, z[2], z[3]);
        const auto fs = hn::BitCast(d, hn::InterleaveLower(d64, hn::BitCast(d64, ab2), hn::BitCast(d64, cd2)));
        hn::Store(hn::BitCast(d, hn::InterleaveLower(d64, hn::BitCast(d64, ab), hn::BitCast(d64, cd))), d, f_rcp + v * L);
        hn::Store(hn::BitCast(d, hn::InterleaveUpper(d64, hn::BitCast(d64, ab), hn::BitCast(d64, cd))), d, f_bias + v * L);
        hn::Store(fs, d, f_fs + v * L);
        hn::Store(hn::BitCast(d, hn::InterleaveUpper(d64, hn::BitCast(d64, ab2), hn::BitCast(d64, cd2))), d, f_xmax + v * L);
        any = hn::Or(any, fs);
      } else
#endif
      {
        auto sv = hn::PromoteTo(d, hn::LoadU(d8, s + v * L));
        if constexpr (kPeriodic) {
          const auto in_a = hn::Lt(hn::Add(iota, hn::Set(d, static_cast<std::uint32_t>(v * L))), hn::Set(d, b));
          sv = hn::Add(hn::Min(sv, hn::IfThenElse(in_a, n_a, n_b)), hn::IfThenElse(in_a, base_a, base_b));
        } else {
          sv = hn::Min(sv, n_a);
        }
        const auto i4 = hn::BitCast(di, hn::ShiftLeft<2>(sv));
        hn::Store(i4, di, idx + v * L);
        any = hn::Or(any, hn::BitCast(d, hn::GatherIndex(di, fields + 2, i4)));
      }
    }
    if (!hn::AllTrue(d, hn::Eq(hn::And(any, vflags), hn::Zero(d)))) break;  // a stop flag: the general path
    for (std::size_t v = NV; v-- > 0;) {
      hn::Vec<decltype(d)> fs, rcp, bias, xmax;
      if constexpr (kLoads) {
        fs = hn::Load(d, f_fs + v * L);
        rcp = hn::Load(d, f_rcp + v * L);
        bias = hn::Load(d, f_bias + v * L);
        xmax = hn::Load(d, f_xmax + v * L);
      } else {
        const auto i4 = hn::Load(di, idx + v * L);
        fs = hn::BitCast(d, hn::GatherIndex(di, fields + 2, i4));
        rcp = hn::BitCast(d, hn::GatherIndex(di, fields, i4));
        bias = hn::BitCast(d, hn::GatherIndex(di, fields + 1, i4));
        xmax = hn::BitCast(d, hn::GatherIndex(di, fields + 3, i4));
      }
      auto x = hn::Load(d, xs + v * L);
      const auto emit = hn::Gt(x, xmax);
      // Words as the scalar kernel writes them, lane by lane from the last: always stored below
      // p (the buffer's slack), p moving only for the lanes that emit — no branch on the data
      // (a compress and a loop over its count mispredicts about once a vector).
      std::uint8_t emit_bits[8] = {};
      hn::StoreMaskBits(d, emit, emit_bits);
      const std::uint64_t bits = mask_bits_word(emit_bits);
      hn::Store(x, d, words);
      for (std::size_t k = L; k-- > 0;) {
        p[-2] = static_cast<std::uint8_t>(words[k]);
        p[-1] = static_cast<std::uint8_t>(words[k] >> 8);
        p -= 2 * ((bits >> k) & 1);
      }
      x = hn::IfThenElse(emit, hn::ShiftRight<16>(x), x);
      // t = (x · rcp) >> 32 lane by lane: even lanes' products from MulEven, odd lanes' from
      // MulEven of both shifted down a lane.
      const auto even = hn::BitCast(d, hn::ShiftRight<32>(hn::MulEven(x, rcp)));
      const auto odd = hn::BitCast(d, hn::MulEven(hn::BitCast(d, hn::ShiftRight<32>(hn::BitCast(d64, x))),
                                                  hn::BitCast(d, hn::ShiftRight<32>(hn::BitCast(d64, rcp)))));
      const auto t = hn::OddEven(odd, even);
      const auto shift = hn::And(hn::ShiftRight<24>(fs), vshmask);
      const auto q = hn::Shr(hn::Add(t, hn::ShiftRight<1>(hn::Sub(x, t))), shift);
      const auto cmpl = hn::Sub(vtotal, hn::And(fs, vfmask));
      hn::Store(hn::Add(hn::Add(x, bias), hn::Mul(q, cmpl)), d, xs + v * L);
    }
    ++done;
  }
  for (std::size_t v = 0; v < NV; ++v) hn::StoreU(hn::Load(d, xs + v * L), d, a.x + v * L);
  *a.out = p;
  return done;
}

template <bool kPeriodic>
std::size_t EncodePortable(const EncKernelArgs& a) {
  if (kPortableLoads && lookups_by_loads()) return EncodeRoundsPortable<kPeriodic, kPortableLoads>(a);
  return EncodeRoundsPortable<kPeriodic, false>(a);
}
#endif

std::size_t EncodeRounds(const EncKernelArgs& a) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  if (a.wide) return encode_rounds_scalar(a);
  return EncodeRoundsLanes<false>(a);
#elif defined(FTC_RANS_PORTABLE_ENCODER)
  if (a.wide) return encode_rounds_scalar(a);
  return EncodePortable<false>(a);
#else
  return encode_rounds_scalar(a);
#endif
}

std::size_t EncodePeriodic(const EncKernelArgs& a) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  if (a.wide) return kNoPeriodicKernel;
  return EncodeRoundsLanes<true>(a);
#elif defined(FTC_RANS_PORTABLE_ENCODER)
  if (a.wide) return kNoPeriodicKernel;
  return EncodePortable<true>(a);
#else
  (void)a;
  return kNoPeriodicKernel;
#endif
}
#undef FTC_RANS_PORTABLE_ENCODER
#undef FTC_RANS_PORTABLE_LOADS

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace ftc::entropy::rans_detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace ftc::entropy::rans_detail {
HWY_EXPORT(EncodeRounds);
HWY_EXPORT(EncodePeriodic);
std::size_t encode_rounds_periodic(const EncKernelArgs& a) { return HWY_DYNAMIC_DISPATCH(EncodePeriodic)(a); }
std::size_t encode_rounds_simd(const EncKernelArgs& a) { return HWY_DYNAMIC_DISPATCH(EncodeRounds)(a); }
}  // namespace ftc::entropy::rans_detail
#endif
