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
  // 0/1 arithmetic: GCC turns the conditional form into a branch, which mispredicts on every
  // other symbol of a spread distribution.
  const std::uint32_t need = x < kL ? 1u : 0u;
  in += 2 * need;
  return (x << (16 * need)) | (w & (0u - need));
}

// One round of N lanes through a slot → symbol-index table of `Slot` entries; info[idx] packs
// (freq − 1) << 16 | cumulative start. Returns nonzero if a lane decoded the escape.
template <class Slot, class Sym>
std::uint32_t slot_round(std::size_t N, const std::uint8_t* slot_bytes, const std::uint32_t* info, std::uint32_t esc,
                         std::uint32_t P, std::uint32_t mask, std::uint32_t* xs, Sym* out, const std::uint8_t*& in) {
  std::uint32_t any = 0;
  for (std::size_t j = 0; j < N; ++j) {
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
  const std::size_t N = a.lanes;
  const std::uint8_t* in = *a.in;
  const std::uint32_t P = static_cast<std::uint32_t>(a.precision);
  const std::uint32_t mask = (1u << P) - 1;
  const std::uint32_t* info = a.table.info;
  const std::uint32_t esc = a.table.esc;
  std::uint32_t xs[kRansMaxLanes];  // local copy: the byte stores below may alias a.x
  std::memcpy(xs, a.x, N * sizeof xs[0]);
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
      any = slot_round<std::uint16_t>(N, a.table.slots, info, esc, P, mask, xs,
                                      static_cast<std::uint16_t*>(a.out) + r * N, in);
    } else {
      any = slot_round<std::uint8_t>(N, a.table.slots, info, esc, P, mask, xs,
                                     static_cast<std::uint8_t*>(a.out) + r * N, in);
    }
    ++done;
    if (any) break;
  }
  std::memcpy(a.x, xs, N * sizeof xs[0]);
  *a.in = in;
  return done;
}

namespace {

Status truncated() { return {StatusCode::truncated, "rans: payload ends before its last symbol"}; }

// The decode tables of one decode call. Eager models hand out their expanded tables; lazy ones
// (DecModel::lazy) expand a table into one of two L1-sized buffers when a run needs it, least
// recently used buffer first. Two buffers suffice: a lazy model's context runs hold at least one
// round, so a round touches at most two tables.
class TableCache {
 public:
  explicit TableCache(const DecModel& m) : m_(m) {}
  const DecTable& get(std::uint32_t ti) {
    if (!m_.lazy) return m_.tables[ti];
    int b = held_[0] == ti ? 0 : held_[1] == ti ? 1 : -1;
    if (b < 0) {
      b = mru_ == 0 ? 1 : 0;
      expand_fused(m_.source[ti], buf_[b]);
      held_[b] = ti;
      view_[b] = DecTable{nullptr, nullptr, buf_[b], m_.tables[ti].esc};
    }
    mru_ = b;
    return view_[b];
  }
  // Base of the fused entries that per-lane offsets count from.
  const std::uint32_t* fused_base() const { return m_.lazy ? buf_[0] : m_.tables[0].fused; }

 private:
  const DecModel& m_;
  std::uint32_t held_[2] = {0xFFFFFFFFu, 0xFFFFFFFFu};
  int mru_ = 1;
  DecTable view_[2];
  // 2^kFusedMaxPrecision entries + 16 of padding each (SIMD kernels may read a full vector).
  alignas(64) std::uint32_t buf_[2][(1u << kFusedMaxPrecision) + 16];
};
Status corrupt(const char* m) { return {StatusCode::corrupt, std::string("rans: ") + m}; }

class RansChunkDecoder final : public ChunkDecoder {
 public:
  RansChunkDecoder(std::shared_ptr<const RansTables> tables, DecModel model, ContextMap ctx, std::uint32_t lanes)
      : tables_(std::move(tables)), m_(std::move(model)), ctx_{ctx.inner == 0 ? 1 : ctx.inner, ctx.groups == 0 ? 1 : ctx.groups},
        lanes_(lanes) {
    // One table: the whole chunk is one run, whatever the contexts.
    if (m_.tables.size() == 1) ctx_ = ContextMap{std::uint64_t{1} << 62, 1};
    // Per context: its table's offset into the eager fused tables and its escape index.
    if (!m_.lazy && !m_.tables.empty() && m_.tables[0].fused && ctx_.groups > 1) {
      ctx_off_.resize(ctx_.groups);
      ctx_esc_.resize(ctx_.groups);
      for (std::uint32_t c = 0; c < ctx_.groups; ++c) {
        const DecTable& t = m_.tables[m_.table_of(c)];
        ctx_off_[c] = static_cast<std::uint32_t>(t.fused - m_.tables[0].fused);
        ctx_esc_[c] = t.esc;
      }
    }
  }

  Status decode(std::span<const std::uint8_t> payload, const MutableSymbolSpan& out) const override {
    if (out.bits != m_.bits) return {StatusCode::invalid_argument, "rans: symbol width differs from the tables'"};
    const std::size_t count = out.count;
    if (count == 0) return payload.empty() ? Status{} : corrupt("payload for an empty chunk");
    const bool wide = m_.wide;
    const std::size_t N = lanes_for(count, lanes_);
    if (payload.size() < 4 * N) return truncated();
    if ((payload.size() - 4 * N) % 2 != 0) return corrupt("odd number of payload bytes after the states");
    std::uint32_t x[kRansMaxLanes];
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
    const bool fused = m_.lazy || (!m_.tables.empty() && m_.tables[0].fused != nullptr);
    TableCache tabs(m_);  // 32 KiB of buffers on the stack, written only when a lazy model needs them
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
    const DecTable* lane_tab[kRansMaxLanes];
    const std::uint32_t lanes = static_cast<std::uint32_t>(N);
    std::size_t r = 0;
    while (r < rounds) {
      const std::size_t base = r * N;
      if (N == lanes_ && r < full_rounds && cur.run_left() >= N) {
        const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(cur.run_left() / N, full_rounds - r));
        const DecTable& t = tabs.get(m_.table_of(cur.ctx));
        DecKernelArgs a{lanes, x, &in, end, static_cast<std::uint8_t*>(out.data) + base * (wide ? 2 : 1), k, t, m_.precision, wide};
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
      // Runs of at least a round: all full rounds in one kernel call, contexts followed inside.
      if (simd && fused && !m_.lazy && N == lanes_ && r < full_rounds && ctx_.inner >= N && ctx_.groups > 1) {
        const CtxCursor before = cur;
        DecKernelArgs a{lanes, x, &in, end, static_cast<std::uint8_t*>(out.data) + base, full_rounds - r,
                        DecTable{nullptr, nullptr, m_.tables[0].fused, 0xFFFFFFFFu}, m_.precision, false};
        a.ctx_off = ctx_off_.data();
        a.ctx_esc = ctx_esc_.data();
        a.cursor = &cur;
        const std::size_t done = decode_rounds_periodic(a);
        if (done != kNoPeriodicKernel && done > 0) {
          r += done;
          // Only the last round can hold escapes: its lanes' tables, then its bypass values.
          CtxCursor c = before;
          c.advance((done - 1) * N);
          const std::size_t b = static_cast<std::size_t>(std::min<std::uint64_t>(c.run_left(), N));
          const DecTable* ta = &m_.tables[m_.table_of(c.ctx)];
          c.advance(b);
          const DecTable* tb = b < N ? &m_.tables[m_.table_of(c.ctx)] : ta;
          for (std::size_t j = 0; j < N; ++j) lane_tab[j] = j < b ? ta : tb;
          FTC_RETURN_IF_ERROR(bypass((r - 1) * N, N, lane_tab));
          continue;
        }
      }
      // A full round whose contexts change inside it: the SIMD kernel with per-lane tables.
      if (simd && fused && N == lanes_ && r < full_rounds) {
        std::uint32_t lane_off[kRansMaxLanes], lane_esc[kRansMaxLanes];
        CtxCursor c2 = cur;
        if (ctx_.inner >= N) {
          // Two runs: lanes [0, b) in the current one, [b, N) in the next.
          const std::size_t b = static_cast<std::size_t>(std::min<std::uint64_t>(c2.run_left(), N));
          const DecTable* ta = &tabs.get(m_.table_of(c2.ctx));
          c2.advance(b);
          const DecTable* tb = b < N ? &tabs.get(m_.table_of(c2.ctx)) : ta;
          c2.advance(N - b);
          const std::uint32_t oa = static_cast<std::uint32_t>(ta->fused - tabs.fused_base());
          const std::uint32_t ob = static_cast<std::uint32_t>(tb->fused - tabs.fused_base());
          for (std::size_t j = 0; j < N; ++j) {
            const bool in_a = j < b;
            lane_tab[j] = in_a ? ta : tb;
            lane_off[j] = in_a ? oa : ob;
            lane_esc[j] = in_a ? ta->esc : tb->esc;
          }
        } else {
          for (std::size_t j = 0; j < N; ++j) {
            lane_tab[j] = &tabs.get(m_.table_of(c2.ctx));
            lane_off[j] = static_cast<std::uint32_t>(lane_tab[j]->fused - tabs.fused_base());
            lane_esc[j] = lane_tab[j]->esc;
            c2.step();
          }
        }
        DecTable base_t{nullptr, nullptr, tabs.fused_base(), 0xFFFFFFFFu};
        DecKernelArgs a{lanes, x, &in, end, static_cast<std::uint8_t*>(out.data) + base, 1, base_t, m_.precision, false,
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
        const DecTable& t = tabs.get(m_.table_of(cur.ctx));
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
  std::uint32_t lanes_;
  std::vector<std::uint32_t> ctx_off_, ctx_esc_;
};

Result<std::unique_ptr<ChunkDecoder>> make_decoder_from(std::shared_ptr<const RansTables> tables, ContextMap ctx,
                                                        std::uint32_t lanes) {
  const std::uint32_t groups = ctx.groups == 0 ? 1 : ctx.groups;
  FTC_RETURN_IF_ERROR(tables->validate(groups));
  // Lazy expansion: every context run holds a full round and at least a table's slots, and either
  // the tables would not stay in cache or a run holds four tables' worth of symbols.
  const std::uint64_t inner = ctx.inner == 0 ? 1 : ctx.inner;
  const std::uint64_t slots = std::uint64_t{1} << tables->precision;
  const bool lazy_ok = inner >= lanes && inner >= slots &&
                       (4 * slots * tables->tables.size() > kLazyFusedBytes || inner >= 4 * slots);
  FTC_ASSIGN_OR_RETURN(DecModel m, build_dec_model(*tables, lazy_ok));
  std::unique_ptr<ChunkDecoder> d = std::make_unique<RansChunkDecoder>(std::move(tables), std::move(m), ctx, lanes);
  return d;
}

}  // namespace
}  // namespace rans_detail

Result<std::unique_ptr<ChunkDecoder>> make_rans_decoder(std::span<const std::uint8_t> params, int bits, ContextMap ctx,
                                                        TableBudget* budget) {
  FTC_ASSIGN_OR_RETURN(RansTables t, RansTables::parse(params, bits, ctx.groups == 0 ? 1 : ctx.groups, budget));
  return rans_detail::make_decoder_from(std::make_shared<const RansTables>(std::move(t)), ctx, kRansLanes);
}

Result<std::uint32_t> parse_rans_lanes(std::uint8_t code) {
  if (code > 2) return Status{StatusCode::corrupt, "rans: lane exponent " + std::to_string(code) + " out of range (0..2)"};
  return static_cast<std::uint32_t>(kRansLanes) << code;
}

Result<std::unique_ptr<ChunkDecoder>> make_rans_wide_decoder(std::span<const std::uint8_t> params, int bits,
                                                             ContextMap ctx, TableBudget* budget) {
  if (params.empty()) return Status{StatusCode::truncated, "rans: params end before the lane exponent"};
  FTC_ASSIGN_OR_RETURN(std::uint32_t lanes, parse_rans_lanes(params[0]));
  FTC_ASSIGN_OR_RETURN(RansTables t, RansTables::parse(params.subspan(1), bits, ctx.groups == 0 ? 1 : ctx.groups, budget));
  return rans_detail::make_decoder_from(std::make_shared<const RansTables>(std::move(t)), ctx, lanes);
}

Result<std::unique_ptr<ChunkDecoder>> make_rans_decoder_with_tables(std::shared_ptr<const RansTables> tables,
                                                                    ContextMap ctx, std::uint32_t lanes) {
  if (!tables) return Status{StatusCode::invalid_argument, "rans: no tables"};
  if (lanes != 32 && lanes != 64 && lanes != 128) return Status{StatusCode::invalid_argument, "rans: lanes must be 32, 64 or 128"};
  return rans_detail::make_decoder_from(std::move(tables), ctx, lanes);
}

}  // namespace ftc::entropy
