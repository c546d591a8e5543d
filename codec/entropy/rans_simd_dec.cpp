// rANS decode kernel, Highway SIMD with runtime dispatch (docs/format-rans.md §Decoding).
// Writes exactly what decode_rounds_scalar writes: same symbols, same words consumed in the
// same lane order.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <algorithm>
#include <bit>
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

// kPrefix8[m][i] = the number of set bits of m below bit i: a vector's word index for each lane
// that renormalizes (mask m), for vectors of at most 8 lanes — one 8-byte load instead of a
// per-lane population count (emulated on AVX2, SSE4 and NEON).
struct PrefixTable {
  std::uint8_t v[256][8];
  constexpr PrefixTable() : v{} {
    for (int m = 0; m < 256; ++m)
      for (int i = 0, c = 0; i < 8; ++i) {
        v[m][i] = static_cast<std::uint8_t>(c);
        c += (m >> i) & 1;
      }
  }
};
inline constexpr PrefixTable kPrefix8{};

// The words a vector of states takes when the lanes of mask `bits` (bit i: lane i) renormalize:
// lane i gets word p(i) of the next V at `in`, p(i) = the set bits below i — from kPrefix8 for
// V ≤ 8, else a per-lane population count — through a lane permutation of the next V words
// (2V bytes; `in` need not be aligned). The caller guarantees 2V readable bytes.
template <class D>
HWY_INLINE hn::Vec<D> NextWords(D du, std::uint32_t bits, const std::uint8_t* in) {
#if HWY_TARGET == HWY_SCALAR
  (void)bits;
  return hn::Set(du, read_u16le(in));  // one lane: word 0
#else
  const hn::Rebind<std::uint8_t, D> d8;
  const hn::Rebind<std::uint16_t, D> d16;
  const hn::Repartition<std::uint8_t, decltype(d16)> d8w;
  hn::Vec<D> prefix;
  if (hn::Lanes(du) <= 8) {
    prefix = hn::PromoteTo(du, hn::LoadU(d8, kPrefix8.v[bits & 0xFF]));
  } else {
    const auto below = hn::Sub(hn::Shl(hn::Set(du, 1u), hn::Iota(du, 0)), hn::Set(du, 1u));  // (1 << i) − 1
    prefix = hn::PopulationCount(hn::And(hn::Set(du, bits), below));
  }
  auto next16 = hn::BitCast(d16, hn::LoadU(d8w, in));
  if constexpr (std::endian::native == std::endian::big)  // the words are little-endian
    next16 = hn::Or(hn::ShiftLeft<8>(next16), hn::ShiftRight<8>(next16));
  const auto next = hn::PromoteTo(du, next16);
  return hn::TableLookupLanes(next, hn::IndicesFromVec(du, prefix));
#endif
}

template <bool kWide>
std::size_t DecodeRoundsT(const DecKernelArgs& a) {
  const std::size_t N = a.lanes;
  // ≤ 8 lanes (256-bit vectors on AVX-512 too): a lane's word index from kPrefix8, one load,
  // instead of a population count that AVX-512 without VPOPCNTDQ, AVX2, SSE4 and NEON emulate.
  const hn::CappedTag<std::uint32_t, 8> du;
  const hn::RebindToSigned<decltype(du)> di;
  using OutT = std::conditional_t<kWide, std::uint16_t, std::uint8_t>;
  const hn::Rebind<OutT, decltype(du)> dout;
  const std::size_t V = hn::Lanes(du);
  if (N % V != 0) return 0;  // (an SVE length that does not divide the lanes: the general path)
  const int P = a.precision;
  const auto vmask = hn::Set(du, (1u << P) - 1);
  [[maybe_unused]] const auto vsym = hn::Set(du, kWide ? 0xFFFFu : 0xFFu);
  const auto v16 = hn::Set(du, 0xFFFFu);
  const auto vL = hn::Set(du, kL);
  const auto vone = hn::Set(du, 1u);
  const auto vesc = hn::Set(du, a.table.esc);
  const auto* slots = reinterpret_cast<const std::int32_t*>(a.table.slots);
  const auto* info = reinterpret_cast<const std::int32_t*>(a.table.info);
  const std::uint8_t* slot_bytes = a.table.slots;
  const bool loads = lookups_by_loads();
  HWY_ALIGN std::uint32_t slot_arr[hn::MaxLanes(du)], idx_arr[hn::MaxLanes(du)], entry_arr[hn::MaxLanes(du)];
  const std::uint8_t* in = *a.in;
  std::size_t done = 0;
  for (std::size_t r = 0; r < a.rounds; ++r) {
    if (a.end - in < static_cast<std::ptrdiff_t>(2 * (N + 2))) break;
    auto any = hn::Zero(du);
    OutT* out = static_cast<OutT*>(a.out) + r * N;
    for (std::size_t v = 0; v < N; v += V) {
      auto x = hn::LoadU(du, a.x + v);
      const auto slot = hn::And(x, vmask);
      hn::Vec<decltype(du)> idx, e;
      if (loads) {  // where gathers are microcoded (AMD): scalar loads, two a lane
        hn::Store(slot, du, slot_arr);
        for (std::size_t i = 0; i < V; ++i) {
          std::uint32_t id;
          if constexpr (kWide) {
            std::uint16_t w;
            std::memcpy(&w, slot_bytes + 2 * slot_arr[i], 2);
            id = w;
          } else {
            id = slot_bytes[slot_arr[i]];
          }
          idx_arr[i] = id;
          entry_arr[i] = a.table.info[id];
        }
        idx = hn::Load(du, idx_arr);
        e = hn::Load(du, entry_arr);
      } else {
        // The 4 bytes at the slot's entry; the entry is their first 1 or 2 (host-order uint16).
        const auto off = kWide ? hn::Add(slot, slot) : slot;
        const auto word = hn::BitCast(du, hn::GatherOffset(di, slots, hn::BitCast(di, off)));
        if constexpr (std::endian::native == std::endian::little) idx = hn::And(word, vsym);
        else idx = hn::ShiftRight<kWide ? 16 : 24>(word);
        e = hn::BitCast(du, hn::GatherIndex(di, info, hn::BitCast(di, idx)));
      }
      const auto freq = hn::Add(hn::ShiftRight<16>(e), vone);
      const auto start = hn::And(e, v16);
      x = hn::Sub(hn::Add(hn::Mul(freq, hn::ShiftRightSame(x, P)), slot), start);
      any = hn::Or(any, hn::VecFromMask(du, hn::Eq(idx, vesc)));
      hn::StoreU(hn::TruncateTo(dout, idx), dout, out + v);
      // Renormalize the lanes below 2^16 with the next words, in lane order.
      const auto m = hn::Lt(x, vL);
      std::uint8_t mbits[8] = {};
      hn::StoreMaskBits(du, m, mbits);
      const auto bits = static_cast<std::uint32_t>(mask_bits_word(mbits));
      x = hn::IfThenElse(m, hn::Or(hn::ShiftLeft<16>(x), NextWords(du, bits, in)), x);
      in += 2 * static_cast<std::size_t>(__builtin_popcount(bits));
      hn::StoreU(x, du, a.x + v);
    }
    ++done;
    if (!hn::AllFalse(du, hn::Ne(any, hn::Zero(du)))) break;
  }
  *a.in = in;
  return done;
}

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
// AVX-512, fused tables, NV vectors of 16 lanes a round. All lookups and state updates of a round
// first, then the renormalizations in lane order (vpexpandd of the next 16 words per vector):
// the NV lookup chains are independent, only the word pointer runs through them in order.
// kEmulated: the lookups as 16 scalar loads through memory instead of vpgatherdd — faster where
// gathers are microcoded at about one element a cycle (AMD Zen 4/5), see lookups_by_loads().
template <int NV, bool kEmulated, bool kPeriodic>
std::size_t DecodeFusedAvx512(const DecKernelArgs& a) {
  constexpr std::size_t N = 16 * NV;
  const std::uint8_t* in = *a.in;
  const int P = a.precision;
  const auto* fused = reinterpret_cast<const std::int32_t*>(a.table.fused);
  const __m512i vmask = _mm512_set1_epi32(static_cast<int>((1u << P) - 1));
  const __m128i vP = _mm_cvtsi32_si128(P);
  const __m512i vL = _mm512_set1_epi32(static_cast<int>(kL));
  const __m512i v12 = _mm512_set1_epi32(0xFFF);
  const __m512i vff = _mm512_set1_epi32(0xFF);
  const __m512i vone = _mm512_set1_epi32(1);
  __m512i x[NV], off[NV], vesc[NV];
  for (int v = 0; v < NV; ++v) {
    x[v] = _mm512_loadu_si512(a.x + 16 * v);
    off[v] = a.lane_off ? _mm512_loadu_si512(a.lane_off + 16 * v) : _mm512_setzero_si512();
    vesc[v] = a.lane_esc ? _mm512_loadu_si512(a.lane_esc + 16 * v) : _mm512_set1_epi32(static_cast<int>(a.table.esc));
  }
  auto* out = static_cast<std::uint8_t*>(a.out);
  std::size_t done = 0;
  [[maybe_unused]] CtxCursor cur = kPeriodic ? *a.cursor : CtxCursor(ContextMap{}, 0);
  [[maybe_unused]] const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  for (std::size_t r = 0; r < a.rounds; ++r) {
    if (a.end - in < static_cast<std::ptrdiff_t>(2 * (N + 2))) break;
    if constexpr (kPeriodic) {
      // Lanes [0, b) in the current run, [b, N) in the next.
      const std::uint32_t b = static_cast<std::uint32_t>(std::min<std::uint64_t>(cur.run_left(), N));
      const std::uint32_t ca = cur.ctx;
      cur.advance(N);
      const std::uint32_t cb = b < N ? cur.ctx : ca;
      const __m512i oa = _mm512_set1_epi32(static_cast<int>(a.ctx_off[ca]));
      const __m512i ob = _mm512_set1_epi32(static_cast<int>(a.ctx_off[cb]));
      const __m512i ea = _mm512_set1_epi32(static_cast<int>(a.ctx_esc[ca]));
      const __m512i eb = _mm512_set1_epi32(static_cast<int>(a.ctx_esc[cb]));
      for (int v = 0; v < NV; ++v) {
        const __mmask16 in_a = _mm512_cmplt_epu32_mask(_mm512_add_epi32(iota, _mm512_set1_epi32(16 * v)), _mm512_set1_epi32(static_cast<int>(b)));
        off[v] = _mm512_mask_blend_epi32(in_a, ob, oa);
        vesc[v] = _mm512_mask_blend_epi32(in_a, eb, ea);
      }
    }
    __mmask16 esc = 0, m[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      const __m512i slot = _mm512_add_epi32(_mm512_and_si512(x[v], vmask), off[v]);
      __m512i e;
      if constexpr (kEmulated) {
        alignas(64) std::uint32_t idx[16], ent[16];
        _mm512_store_si512(idx, slot);
        for (int k = 0; k < 16; ++k) ent[k] = static_cast<std::uint32_t>(fused[idx[k]]);
        e = _mm512_load_si512(ent);
      } else {
        e = _mm512_i32gather_epi32(slot, fused, 4);
      }
      x[v] = _mm512_add_epi32(_mm512_mullo_epi32(_mm512_add_epi32(_mm512_srli_epi32(e, 20), vone), _mm512_srl_epi32(x[v], vP)),
                              _mm512_and_si512(_mm512_srli_epi32(e, 8), v12));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + r * N + 16 * v), _mm512_cvtepi32_epi8(e));
      esc = static_cast<__mmask16>(esc | _mm512_cmpeq_epi32_mask(_mm512_and_si512(e, vff), vesc[v]));
      m[v] = _mm512_cmplt_epu32_mask(x[v], vL);
    }
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in)));
      x[v] = _mm512_mask_or_epi32(x[v], m[v], _mm512_slli_epi32(x[v], 16), _mm512_maskz_expand_epi32(m[v], w));
      in += 2 * static_cast<std::size_t>(__builtin_popcount(m[v]));
    }
    ++done;
    if (esc) break;
  }
  for (int v = 0; v < NV; ++v) _mm512_storeu_si512(a.x + 16 * v, x[v]);
  *a.in = in;
  if constexpr (kPeriodic) *a.cursor = cur;  // advanced once per round decoded
  return done;
}

template <int NV, bool kPeriodic>
std::size_t DecodeFusedNV(const DecKernelArgs& a) {
  return lookups_by_loads() ? DecodeFusedAvx512<NV, true, kPeriodic>(a) : DecodeFusedAvx512<NV, false, kPeriodic>(a);
}
#endif

#if !(HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3)
// Fused tables (bits ≤ 8, P ≤ 12), portable Highway ops: a round's lookups and state updates
// first, then the renormalizations in lane order. kPeriodic: the lanes' tables follow
// a.cursor (lanes [0, b) in the current run, [b, N) in the next), as in the AVX-512 kernel;
// otherwise a.lane_off / a.lane_esc, or table.esc with no offsets.
template <bool kPeriodic>
std::size_t DecodeFusedPortable(const DecKernelArgs& a) {
  const std::size_t N = a.lanes;
  const std::uint8_t* in = *a.in;
  const int P = a.precision;
  const auto* fused = reinterpret_cast<const std::int32_t*>(a.table.fused);
  std::size_t done = 0;
  const hn::CappedTag<std::uint32_t, 16> du;  // ≤ 16 lanes: a vector's mask bits fit a word
  const hn::RebindToSigned<decltype(du)> di;
  const hn::Rebind<std::uint8_t, decltype(du)> dout;
  const std::size_t V = hn::Lanes(du);
  if (N % V != 0) return 0;  // (an SVE length that does not divide the lanes: the general path)
  const auto vmask = hn::Set(du, (1u << P) - 1);
  const auto v12 = hn::Set(du, 0xFFFu);
  const auto vff = hn::Set(du, 0xFFu);
  const auto vL = hn::Set(du, kL);
  const auto vone = hn::Set(du, 1u);
  const auto vesc = hn::Set(du, a.table.esc);
  const bool loads = lookups_by_loads();
  HWY_ALIGN std::uint32_t slot_arr[hn::MaxLanes(du) > 0 ? hn::MaxLanes(du) : 1];
  HWY_ALIGN std::uint32_t entry_arr[hn::MaxLanes(du) > 0 ? hn::MaxLanes(du) : 1];
  const auto* fused_u = a.table.fused;
  [[maybe_unused]] CtxCursor cur = kPeriodic ? *a.cursor : CtxCursor(ContextMap{}, 0);
  [[maybe_unused]] const auto iota = hn::Iota(du, 0);
  std::uint32_t mask_bits[kRansMaxLanes];  // a round's renormalizing lanes, a word a vector
  for (std::size_t r = 0; r < a.rounds; ++r) {
    if (a.end - in < static_cast<std::ptrdiff_t>(2 * (N + 2))) break;
    [[maybe_unused]] std::uint32_t b = 0;
    [[maybe_unused]] hn::Vec<decltype(du)> off_a, off_b, esc_a, esc_b;
    if constexpr (kPeriodic) {
      b = static_cast<std::uint32_t>(std::min<std::uint64_t>(cur.run_left(), N));
      const std::uint32_t ca = cur.ctx;
      cur.advance(N);
      const std::uint32_t cb = b < N ? cur.ctx : ca;
      off_a = hn::Set(du, a.ctx_off[ca]);
      off_b = hn::Set(du, a.ctx_off[cb]);
      esc_a = hn::Set(du, a.ctx_esc[ca]);
      esc_b = hn::Set(du, a.ctx_esc[cb]);
    }
    auto any = hn::Zero(du);
    std::uint8_t* out = static_cast<std::uint8_t*>(a.out) + r * N;
    // Pass 1: every lane's lookup and state update (independent chains); pass 2: the
    // renormalizations in lane order, the only part that runs through `in` serially.
    for (std::size_t v = 0, k = 0; v < N; v += V, ++k) {
      auto x = hn::LoadU(du, a.x + v);
      hn::Vec<decltype(du)> off, lesc;
      if constexpr (kPeriodic) {
        const auto in_a = hn::Lt(hn::Add(iota, hn::Set(du, static_cast<std::uint32_t>(v))), hn::Set(du, b));
        off = hn::IfThenElse(in_a, off_a, off_b);
        lesc = hn::IfThenElse(in_a, esc_a, esc_b);
      } else {
        off = a.lane_off ? hn::LoadU(du, a.lane_off + v) : hn::Zero(du);
        lesc = a.lane_esc ? hn::LoadU(du, a.lane_esc + v) : vesc;
      }
      const auto slot = hn::Add(hn::And(x, vmask), off);
      hn::Vec<decltype(du)> e;
      if (loads) {  // where gathers are microcoded (AMD): one scalar load a lane
        hn::Store(slot, du, slot_arr);
        for (std::size_t i = 0; i < V; ++i) entry_arr[i] = fused_u[slot_arr[i]];
        e = hn::Load(du, entry_arr);
      } else {
        e = hn::BitCast(du, hn::GatherIndex(di, fused, hn::BitCast(di, slot)));
      }
      const auto idx = hn::And(e, vff);
      x = hn::Add(hn::Mul(hn::Add(hn::ShiftRight<20>(e), vone), hn::ShiftRightSame(x, P)),
                  hn::And(hn::ShiftRight<8>(e), v12));
      any = hn::Or(any, hn::VecFromMask(du, hn::Eq(idx, lesc)));
      hn::StoreU(hn::TruncateTo(dout, idx), dout, out + v);
      std::uint8_t mbits[8] = {};
      hn::StoreMaskBits(du, hn::Lt(x, vL), mbits);
      const auto bits = static_cast<std::uint32_t>(mask_bits_word(mbits));
      mask_bits[k] = bits;
      hn::StoreU(x, du, a.x + v);
    }
    for (std::size_t v = 0, k = 0; v < N; v += V, ++k) {
      const std::uint32_t bits = mask_bits[k];
      auto x = hn::LoadU(du, a.x + v);
      x = hn::IfThenElse(hn::Lt(x, vL), hn::Or(hn::ShiftLeft<16>(x), NextWords(du, bits, in)), x);
      in += 2 * static_cast<std::size_t>(__builtin_popcount(bits));
      hn::StoreU(x, du, a.x + v);
    }
    ++done;
    if (!hn::AllFalse(du, hn::Ne(any, hn::Zero(du)))) break;
  }
  *a.in = in;
  if constexpr (kPeriodic) *a.cursor = cur;  // advanced once per round decoded
  return done;
}

#endif

// Fused tables (bits ≤ 8, P ≤ 12): one lookup a lane, then the words of the lanes below 2^16 in
// lane order; kPeriodic: the lanes' tables follow a.cursor.
template <bool kPeriodic>
std::size_t DecodeFused(const DecKernelArgs& a) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  switch (a.lanes) {
    case 32: return DecodeFusedNV<2, kPeriodic>(a);
    case 64: return DecodeFusedNV<4, kPeriodic>(a);
    default: return DecodeFusedNV<8, kPeriodic>(a);
  }
#else
  return DecodeFusedPortable<kPeriodic>(a);
#endif
}

std::size_t DecodePeriodic(const DecKernelArgs& a) { return DecodeFused<true>(a); }

// expand_fused, a vector of slots at a time: a symbol's run of f entries is written in whole
// vectors, the last one spilling up to V − 1 entries into the next symbol's run (rewritten after)
// or the buffer's 16 entries of padding.
void ExpandFused(const RansTable& tab, std::uint32_t* dst) {
  const hn::CappedTag<std::uint32_t, 16> du;  // the spill stays within the 16 padding entries
  const std::size_t V = hn::Lanes(du);
  const auto step = hn::Set(du, static_cast<std::uint32_t>(V << 8));
  const auto iota8 = hn::ShiftLeft<8>(hn::Iota(du, 0));
  std::uint32_t start = 0;
  const std::size_t n = tab.freq.size();
  for (std::size_t v = 0; v <= n; ++v) {
    const std::uint32_t f = v < n ? tab.freq[v] : tab.escape;
    if (f == 0) continue;
    auto e = hn::Add(hn::Set(du, static_cast<std::uint32_t>(v) | ((f - 1) << 20)), iota8);
    std::uint32_t* d = dst + start;
    for (std::uint32_t j = 0; j < f; j += static_cast<std::uint32_t>(V)) {
      hn::StoreU(e, du, d + j);
      e = hn::Add(e, step);
    }
    start += f;
  }
}

std::size_t DecodeRounds(const DecKernelArgs& a) {
  if (a.table.fused) return DecodeFused<false>(a);
  return a.wide ? DecodeRoundsT<true>(a) : DecodeRoundsT<false>(a);
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace ftc::entropy::rans_detail
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace ftc::entropy::rans_detail {
HWY_EXPORT(DecodeRounds);
HWY_EXPORT(ExpandFused);
HWY_EXPORT(DecodePeriodic);
std::size_t decode_rounds_periodic(const DecKernelArgs& a) { return HWY_DYNAMIC_DISPATCH(DecodePeriodic)(a); }
void expand_fused(const RansTable& t, std::uint32_t* dst) { HWY_DYNAMIC_DISPATCH(ExpandFused)(t, dst); }
std::size_t decode_rounds_simd(const DecKernelArgs& a) { return HWY_DYNAMIC_DISPATCH(DecodeRounds)(a); }
}  // namespace ftc::entropy::rans_detail
#endif
