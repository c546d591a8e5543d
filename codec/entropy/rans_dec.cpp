// rANS chunk decoder (docs/format-rans.md §Payload, §Decoding). Decoder-only.
//
// Hostile input: initial states are checked to be normalized, every table lookup is in range by
// construction (validated tables fill all 2^precision slots), every word read is bounds-checked
// (the kernels only run while a full round's words are known to be available), and the decoder
// ends with all words consumed and all states back at 2^16.
#include <algorithm>
#include <cstring>

#include "codec/entropy/rans.hpp"
#include "codec/entropy/rans_internal.hpp"

namespace ftc::entropy {
namespace rans_detail {

namespace {

// Steps 1–2 of docs/format-rans.md §3 after the slot lookup: x ← freq·(x >> P) + offset, then one
// 16-bit word if x fell below 2^16. Branchless: the caller guarantees a full round of words.
inline std::uint32_t advance(std::uint32_t x, std::uint32_t freq, std::uint32_t P, std::uint32_t offset,
                             const std::uint8_t*& in) {
  x = freq * (x >> P) + offset;
  const std::uint32_t w = read_u16le(in);
  const bool need = x < kL;
  in += need ? 2 : 0;
  return need ? (x << 16) | w : x;
}

// One round of N lanes through a slot → symbol-index table of `Slot` entries; info[idx] packs
// (freq − 1) << 16 | cumulative start. Returns nonzero if a lane decoded the escape.
template <class Slot, class Sym>
std::uint32_t slot_round(const std::uint8_t* slot_bytes, const std::uint32_t* info, std::uint32_t esc,
                         std::uint32_t P, std::uint32_t mask, std::uint32_t* xs, Sym* out, const std::uint8_t*& in) {
  std::uint32_t any = 0;
  for (std::size_t j = 0; j < kRansLanes; ++j) {
    const std::uint32_t slot = xs[j] & mask;
    Slot idx_raw;
    std::memcpy(&idx_raw, slot_bytes + slot * sizeof(Slot), sizeof(Slot));  // tables need not be aligned
    const std::uint32_t idx = idx_raw;
    const std::uint32_t e = info[idx];
    xs[j] = advance(xs[j], (e >> 16) + 1, P, slot - (e & 0xFFFF), in);
    out[j] = static_cast<Sym>(idx);
    any |= idx == esc;
  }
  return any;
}

}  // namespace

std::size_t decode_rounds_scalar(const DecKernelArgs& a) {
  constexpr std::size_t N = kRansLanes;
  const std::uint8_t* in = *a.in;
  const std::uint32_t P = static_cast<std::uint32_t>(a.precision);
  const std::uint32_t mask = (1u << P) - 1;
  const std::uint32_t* info = a.table.info;
  const std::uint32_t esc = a.table.esc;
  std::uint32_t xs[N];  // local copy: the byte stores below may alias a.x
  std::memcpy(xs, a.x, sizeof xs);
  std::size_t done = 0;
  for (std::size_t r = 0; r < a.rounds; ++r) {
    if (a.end - in < static_cast<std::ptrdiff_t>(2 * (N + 2))) break;
    std::uint32_t any = 0;
    if (a.table.fused) {
      // Fused entry: (freq − 1) << 20 | (slot − start) << 8 | symbol, for 8-bit symbols.
      const std::uint32_t* fused = a.table.fused;
      auto* out = static_cast<std::uint8_t*>(a.out) + r * N;
      for (std::size_t j = 0; j < N; ++j) {
        const std::uint32_t e = fused[xs[j] & mask];
        const std::uint32_t idx = e & 0xFFu;
        xs[j] = advance(xs[j], (e >> 20) + 1, P, (e >> 8) & 0xFFFu, in);
        out[j] = static_cast<std::uint8_t>(idx);
        any |= idx == esc;
      }
    } else if (a.wide) {
      any = slot_round<std::uint16_t>(a.table.slots, info, esc, P, mask, xs,
                                      static_cast<std::uint16_t*>(a.out) + r * N, in);
    } else {
      any = slot_round<std::uint8_t>(a.table.slots, info, esc, P, mask, xs,
                                     static_cast<std::uint8_t*>(a.out) + r * N, in);
    }
  ++done;
    if (any) break;
  }
  std::memcpy(a.x, xs, sizeof xs);
  *a.in = in;
  return done;
}

namespace {

Status truncated() { return {StatusCode::truncated, "rans: payload ends before its last symbol"}; }
Status corrupt(const char* m) { return {StatusCode::corrupt, std::string("rans: ") + m}; }

class RansChunkDecoder final : public ChunkDecoder {
 public:
  RansChunkDecoder(std::shared_ptr<const RansTables> tables, DecModel model, ContextMap ctx)
      : tables_(std::move(tables)), m_(std::move(model)), ctx_{ctx.inner == 0 ? 1 : ctx.inner, ctx.groups == 0 ? 1 : ctx.groups} {}

  Status decode(std::span<const std::uint8_t> payload, const MutableSymbolSpan& out) const override {
    if (out.bits != m_.bits) return {StatusCode::invalid_argument, "rans: symbol width differs from the tables'"};
    const std::size_t count = out.count;
    if (count == 0) return payload.empty() ? Status{} : corrupt("payload for an empty chunk");
    const bool wide = m_.wide;
    const std::size_t N = lanes_for(count);
    if (payload.size() < 4 * N) return truncated();
    if ((payload.size() - 4 * N) % 2 != 0) return corrupt("odd number of payload bytes after the states");
    std::uint32_t x[kRansLanes];
    const std::uint8_t* p = payload.data();
    for (std::size_t j = 0; j < N; ++j) {
      x[j] = static_cast<std::uint32_t>(p[4 * j]) | (static_cast<std::uint32_t>(p[4 * j + 1]) << 8) |
             (static_cast<std::uint32_t>(p[4 * j + 2]) << 16) | (static_cast<std::uint32_t>(p[4 * j + 3]) << 24);
      if (x[j] < kL) return corrupt("initial state below 2^16");
    }
    const std::uint8_t* in = p + 4 * N;
    const std::uint8_t* const end = p + payload.size();
    const std::uint32_t P = static_cast<std::uint32_t>(m_.precision);
    const int w = m_.bits;
    const std::uint32_t wmask = (1u << w) - 1;
    const bool simd = use_simd();
    const bool fused = !m_.tables.empty() && m_.tables[0].fused != nullptr;
    auto put = [&](std::size_t i, std::uint32_t v) {
      if (wide) static_cast<std::uint16_t*>(out.data)[i] = static_cast<std::uint16_t>(v);
      else static_cast<std::uint8_t*>(out.data)[i] = static_cast<std::uint8_t>(v);
    };
    auto get = [&](std::size_t i) -> std::uint32_t {
      return wide ? static_cast<const std::uint16_t*>(out.data)[i] : static_cast<const std::uint8_t*>(out.data)[i];
    };
    // Bypass values of the escapes of one round, lanes in order (§Decoding step 3).
    auto bypass = [&](std::size_t base, std::size_t L, const DecTable* const* lane_tab) -> Status {
      for (std::size_t j = 0; j < L; ++j) {
        if (get(base + j) != lane_tab[j]->esc) continue;
        const std::uint32_t v = x[j] & wmask;
        x[j] >>= w;
        if (x[j] < kL) {
          if (end - in < 2) return truncated();
          x[j] = (x[j] << 16) | read_u16le(in);
          in += 2;
        }
        put(base + j, v);
      }
      return {};
    };
    CtxCursor cur(ctx_, out.first_index);
    const std::size_t rounds = (count + N - 1) / N;
    const std::size_t full_rounds = count / N;
    const DecTable* lane_tab[kRansLanes];
    std::size_t r = 0;
    while (r < rounds) {
      const std::size_t base = r * N;
      if (N == kRansLanes && r < full_rounds && cur.run_left() >= N) {
        const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(cur.run_left() / N, full_rounds - r));
        const DecTable& t = m_.tables[m_.table_of(cur.ctx)];
        DecKernelArgs a{x, &in, end, static_cast<std::uint8_t*>(out.data) + base * (wide ? 2 : 1), k, t, m_.precision, wide};
        const std::size_t done = simd ? decode_rounds_simd(a) : decode_rounds_scalar(a);
        if (done > 0) {
          r += done;
          cur.advance(done * N);
          if (t.esc != 0xFFFFFFFFu) {
            for (std::size_t j = 0; j < N; ++j) lane_tab[j] = &t;
            FTC_RETURN_IF_ERROR(bypass((r - 1) * N, N, lane_tab));
          }
          continue;
        }
      }
      // A full round whose contexts change inside it: the SIMD kernel with per-lane tables.
      if (simd && fused && N == kRansLanes && r < full_rounds) {
        std::uint32_t lane_off[kRansLanes], lane_esc[kRansLanes];
        CtxCursor c2 = cur;
        for (std::size_t j = 0; j < N; ++j) {
          const std::uint32_t ti = m_.table_of(c2.ctx);
          lane_tab[j] = &m_.tables[ti];
          lane_off[j] = static_cast<std::uint32_t>(lane_tab[j]->fused - m_.tables[0].fused);
          lane_esc[j] = lane_tab[j]->esc;
          c2.step();
        }
        DecTable base_t = m_.tables[0];
        DecKernelArgs a{x, &in, end, static_cast<std::uint8_t*>(out.data) + base, 1, base_t, m_.precision, false,
                        lane_off, lane_esc};
        if (decode_rounds_simd(a) == 1) {
          cur = c2;
          FTC_RETURN_IF_ERROR(bypass(base, N, lane_tab));
          ++r;
          continue;
        }
      }
      // General path: bounds-checked, per-lane tables, partial last round.
      const std::size_t L = std::min<std::size_t>(N, count - base);
      for (std::size_t j = 0; j < L; ++j) {
        const DecTable& t = m_.tables[m_.table_of(cur.ctx)];
        cur.step();
        lane_tab[j] = &t;
        std::uint32_t xj = x[j];
        const std::uint32_t idx = dec_lookup(t, xj, P, wide);
        if (xj < kL) {
          if (end - in < 2) return truncated();
          xj = (xj << 16) | read_u16le(in);
          in += 2;
        }
        x[j] = xj;
        put(base + j, idx);
      }
      FTC_RETURN_IF_ERROR(bypass(base, L, lane_tab));
      ++r;
    }
    if (in != end) return corrupt("bytes left over after the last symbol");
    for (std::size_t j = 0; j < N; ++j)
      if (x[j] != kL) return corrupt("final state is not 2^16");
    return {};
  }

 private:
  std::shared_ptr<const RansTables> tables_;
  DecModel m_;
  ContextMap ctx_;
};

Result<std::unique_ptr<ChunkDecoder>> make_decoder_from(std::shared_ptr<const RansTables> tables, ContextMap ctx) {
  const std::uint32_t groups = ctx.groups == 0 ? 1 : ctx.groups;
  FTC_RETURN_IF_ERROR(tables->validate(groups));
  FTC_ASSIGN_OR_RETURN(DecModel m, build_dec_model(*tables));
  std::unique_ptr<ChunkDecoder> d = std::make_unique<RansChunkDecoder>(std::move(tables), std::move(m), ctx);
  return d;
}

}  // namespace
}  // namespace rans_detail

Result<std::unique_ptr<ChunkDecoder>> make_rans_decoder(std::span<const std::uint8_t> params, int bits, ContextMap ctx) {
  FTC_ASSIGN_OR_RETURN(RansTables t, RansTables::parse(params, bits, ctx.groups == 0 ? 1 : ctx.groups));
  return rans_detail::make_decoder_from(std::make_shared<const RansTables>(std::move(t)), ctx);
}

Result<std::unique_ptr<ChunkDecoder>> make_rans_decoder_with_tables(std::shared_ptr<const RansTables> tables,
                                                                    ContextMap ctx) {
  if (!tables) return Status{StatusCode::invalid_argument, "rans: no tables"};
  return rans_detail::make_decoder_from(std::move(tables), ctx);
}

}  // namespace ftc::entropy
