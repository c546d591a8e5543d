// rANS chunk encoder (docs/format-rans.md §Payload). Encoder-only.
#include <algorithm>
#include <cstring>

#include "codec/entropy/rans.hpp"
#include "codec/entropy/rans_internal.hpp"

namespace ftc::entropy {
namespace rans_detail {

EncModel build_enc_model(const RansTables& t) {
  EncModel m;
  m.bits = t.bits;
  m.precision = t.precision;
  const std::uint32_t total = 1u << t.precision;
  // Entries 0..n−1 for the values, n.. for the escape; at ≤ 8 bits every value up to
  // kernel_symbol_clamp(bits) has one, so that the AVX-512 kernels index by the symbol itself.
  const std::size_t min_entries = t.bits <= 8 ? std::size_t{kernel_symbol_clamp(t.bits)} + 1 : 0;
  auto entries = [&](const RansTable& tab) { return std::max(tab.freq.size() + 1, min_entries); };
  std::size_t size = 0;
  for (const RansTable& tab : t.tables) size += entries(tab);
  m.storage.resize(size);
  m.tables.resize(t.tables.size());
  std::size_t off = 0;
  for (std::size_t i = 0; i < t.tables.size(); ++i) {
    const RansTable& tab = t.tables[i];
    const std::size_t n = tab.freq.size();
    EncSym* out = m.storage.data() + off;
    auto make = [&](std::uint32_t start, std::uint32_t f, std::uint32_t flags) {
      EncSym e;
      e.xmax_m1 = static_cast<std::uint32_t>(((std::uint64_t{1} << (32 - t.precision)) * f) - 1);
      std::uint32_t shift = 0;
      if (f == 1) {
        e.rcp = 0xFFFFFFFFu;
        e.bias = start + total - 1;
      } else {
        // Division by f ≥ 2: t = mulhi(x, rcp), q = (t + ((x − t) >> 1)) >> (l − 1), with
        // l = ceil(log2 f) and rcp = floor(2^32·(2^l − f)/f) + 1, exact for every 32-bit x.
        const int l = 32 - __builtin_clz(f - 1);
        e.rcp = static_cast<std::uint32_t>(((std::uint64_t{1} << 32) * ((std::uint64_t{1} << l) - f)) / f + 1);
        shift = static_cast<std::uint32_t>(l - 1);
        e.bias = start;
      }
      e.fs = f | shift << 24 | flags << 29;
      return e;
    };
    std::uint32_t start = 0;
    for (std::size_t v = 0; v < n; ++v) {
      if (tab.freq[v]) out[v] = make(start, tab.freq[v], 0);
      start += tab.freq[v];
    }
    EncSym esc;
    esc.fs = kInvalidFlag << 29;
    if (tab.escape) esc = make(start, tab.escape, kEscapeFlag);
    for (std::size_t v = 0; v < n; ++v)
      if (!tab.freq[v]) out[v] = esc;
    const std::size_t count = entries(tab);
    std::fill(out + n, out + count, esc);
    m.tables[i].n = static_cast<std::uint32_t>(n);
    m.tables[i].sym = out;
    off += count;
  }
  m.context_table = t.context_table;
  return m;
}

namespace {

inline void put_word(std::uint8_t*& p, std::uint32_t x) {
  p -= 2;
  p[0] = static_cast<std::uint8_t>(x);
  p[1] = static_cast<std::uint8_t>(x >> 8);
}

inline std::uint32_t enc_step(std::uint32_t x, const EncSym& e, std::uint32_t cmpl, std::uint8_t*& p) {
  if (x > e.xmax_m1) {
    put_word(p, x);
    x >>= 16;
  }
  const std::uint32_t t = static_cast<std::uint32_t>((static_cast<std::uint64_t>(x) * e.rcp) >> 32);
  const std::uint32_t q = (t + ((x - t) >> 1)) >> e.shift();
  return x + e.bias + q * cmpl;
}

inline std::uint32_t enc_bypass(std::uint32_t x, std::uint32_t v, int w, std::uint8_t*& p) {
  if (x >= (std::uint64_t{1} << (32 - w))) {
    put_word(p, x);
    x >>= 16;
  }
  return (x << w) | v;
}

inline std::uint32_t sym_at(const void* s, bool wide, std::size_t i) {
  return wide ? static_cast<const std::uint16_t*>(s)[i] : static_cast<const std::uint8_t*>(s)[i];
}

}  // namespace

std::size_t encode_rounds_scalar(const EncKernelArgs& a) {
  const std::size_t N = a.lanes;
  std::uint8_t* p = *a.out;
  const EncSym* tab = a.table.sym;
  const std::uint32_t n = a.table.n;
  const std::uint32_t total = 1u << a.precision;
  std::uint32_t xs[kRansMaxLanes];  // local copy: the byte stores of put_word may alias a.x
  std::memcpy(xs, a.x, N * sizeof xs[0]);
  std::size_t done = 0;
  for (std::size_t r = a.rounds; r-- > 0;) {
    const std::size_t base = r * N;
    const EncSym* es[kRansMaxLanes];
    std::uint32_t flags = 0;
    for (std::size_t j = 0; j < N; ++j) {
      const std::uint32_t v = sym_at(a.syms, a.wide, base + j);
      es[j] = &tab[v < n ? v : n];
      flags |= es[j]->flags();
    }
    if (flags & (a.stop_flags >> 29)) break;
    for (std::size_t j = N; j-- > 0;) {
      // Branchless: the word is always stored below p (the buffer keeps ≥ 16 bytes of slack
      // there) and p moves only when it is emitted.
      const EncSym& e = *es[j];
      std::uint32_t x = xs[j];
      p[-2] = static_cast<std::uint8_t>(x);
      p[-1] = static_cast<std::uint8_t>(x >> 8);
      // emit as 0/1 arithmetic: GCC turns the conditional form into a branch, which
      // mispredicts on every other symbol of a spread distribution.
      const std::uint32_t emit = x > e.xmax_m1 ? 1u : 0u;
      p -= 2 * emit;
      x >>= 16 * emit;
      const std::uint32_t t = static_cast<std::uint32_t>((static_cast<std::uint64_t>(x) * e.rcp) >> 32);
      const std::uint32_t q = (t + ((x - t) >> 1)) >> e.shift();
      xs[j] = x + e.bias + q * (total - e.freq());
    }
    ++done;
  }
  std::memcpy(a.x, xs, N * sizeof xs[0]);
  *a.out = p;
  return done;
}

namespace {

class RansChunkEncoder final : public ChunkEncoder {
 public:
  RansChunkEncoder(std::shared_ptr<const RansTables> tables, std::uint32_t lanes)
      : tables_(std::move(tables)), model_(build_enc_model(*tables_)), lanes_(lanes) {
    // Per context: where its table's entries start in the model, and its n.
    for (std::uint32_t t : model_.context_table) {
      ctx_base_.push_back(static_cast<std::uint32_t>(model_.tables[t].sym - model_.storage.data()));
      ctx_n_.push_back(model_.tables[t].n);
    }
  }

  std::size_t max_payload(std::size_t count) const override {
    // 4 bytes of final state a lane, at most one 16-bit word for the symbol and one for its
    // escape value.
    return 4 * static_cast<std::size_t>(lanes_) + 4 * count;
  }

  Status encode(const SymbolSpan& chunk, std::vector<std::uint8_t>& out) const override {
    if (chunk.bits != model_.bits) return {StatusCode::invalid_argument, "rans: symbol width differs from the tables'"};
    const std::size_t count = chunk.count;
    if (count == 0) return {};
    if (!model_.context_table.empty() && model_.context_table.size() != chunk.ctx.groups)
      return {StatusCode::invalid_argument, "rans: context count differs from the tables'"};
    const bool wide = chunk.bits > 8;
    const std::uint32_t lanes = lanes_for(count, lanes_);
    const std::size_t N = lanes;
    // Words are written downward from the end of a scratch buffer: a chunk needs ≤ 4 bytes a
    // symbol (a word for the symbol, one for an escape's value) plus the kernels' 16 bytes of
    // slack; it is kept per thread (rans_detail::scratch) rather than zero-filled and faulted in
    // on every call.
    thread_local std::vector<std::uint8_t> kept;
    std::vector<std::uint8_t> local;
    std::uint8_t* const buf_end = scratch(kept, local, 4 * count + 16) + 4 * count + 16;
    std::uint8_t* p = buf_end;
    std::uint32_t x[kRansMaxLanes];
    for (auto& s : x) s = kL;
    const std::size_t rounds = (count + N - 1) / N;
    // One table: the whole chunk is one run, whatever the contexts.
    const ContextMap cm = model_.tables.size() == 1
                              ? ContextMap{std::uint64_t{1} << 62, 1}
                              : ContextMap{chunk.ctx.inner == 0 ? 1 : chunk.ctx.inner, chunk.ctx.groups == 0 ? 1 : chunk.ctx.groups};
    const bool simd = use_simd();
    const int w = chunk.bits;
    // Runs of at least a round, 8-bit symbols: all full rounds in one kernel call.
    const bool periodic = simd && !wide && N == lanes_ && !ctx_base_.empty() && cm.inner >= N && cm.groups == ctx_base_.size();
    std::size_t r = rounds;
    while (r-- > 0) {
      bool general = false;
      if (periodic && count - r * N >= N) {
        EncKernelArgs a{lanes, x, &p, chunk.data, r + 1, EncTable{0, model_.storage.data()}, false, model_.precision,
                        ctx_base_.data(), ctx_n_.data(), chunk.first_index, cm.inner, cm.groups,
                        kernel_symbol_clamp(w)};
        const std::size_t done = encode_rounds_periodic(a);
        if (done != kNoPeriodicKernel) {
          if (done == r + 1) break;
          r -= done;        // round r has an escape: the general path below codes it
          general = true;
        }
      }
      // Fast path: full rounds in one context run.
      if (!general && N == lanes_ && count - r * N >= N) {
        const std::uint64_t first = chunk.first_index + r * N;
        const std::uint64_t last = first + N - 1;
        const std::uint64_t run_start = last - last % cm.inner;
        if (first >= run_start) {
          const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>((first - run_start) / N + 1, r + 1));
          const std::uint32_t ctx = cm.at(first);
          EncKernelArgs a{lanes, x, &p, static_cast<const std::uint8_t*>(chunk.data) + (r + 1 - k) * N * (wide ? 2 : 1), k,
                          model_.tables[model_.table_of(ctx)], wide, model_.precision};
          a.symbol_clamp = kernel_symbol_clamp(w);
          const std::size_t done = simd ? encode_rounds_simd(a) : encode_rounds_scalar(a);
          if (done == k) { r -= k - 1; continue; }
          r -= done;  // round r has an escape: the general path below codes it
        }
      }
      // General path: any contexts, escapes, partial round.
      const std::size_t base = r * N;
      const std::size_t L = std::min<std::size_t>(N, count - base);
      const std::uint64_t first = chunk.first_index + base;
      const EncSym* es[kRansMaxLanes];
      std::uint32_t vals[kRansMaxLanes];
      CtxCursor cur(cm, first);
      for (std::size_t j = 0; j < L; ++j) {
        const EncTable& t = model_.tables[model_.table_of(cur.ctx)];
        const std::uint32_t v = sym_at(chunk.data, wide, base + j);
        if (v >> w) return {StatusCode::invalid_argument, "rans: symbol wider than its bit width"};
        vals[j] = v;
        es[j] = &t.sym[v < t.n ? v : t.n];
        if (es[j]->flags() & kInvalidFlag)
          return {StatusCode::invalid_argument, "rans: symbol " + std::to_string(v) + " has no frequency and its table no escape"};
        cur.step();
      }
      for (std::size_t j = L; j-- > 0;)
        if (es[j]->flags() & kEscapeFlag) x[j] = enc_bypass(x[j], vals[j], w, p);
      // A full round in one context run (the kernels' rounds) that stopped them only for its
      // escapes: with the bypasses written, its symbols, escapes included, go through the
      // kernel (escaped tails keep ~1 round in 30 like this at 128 lanes).
      if (L == N && N == lanes_ && (cm.groups <= 1 || first / cm.inner == (first + N - 1) / cm.inner)) {
        EncKernelArgs a{lanes, x, &p, static_cast<const std::uint8_t*>(chunk.data) + base * (wide ? 2 : 1), 1,
                        model_.tables[model_.table_of(cm.at(first))], wide, model_.precision};
        a.symbol_clamp = kernel_symbol_clamp(w);
        a.stop_flags = kInvalidFlag << 29;
        if ((simd ? encode_rounds_simd(a) : encode_rounds_scalar(a)) == 1) continue;
      }
      const std::uint32_t total = 1u << model_.precision;
      for (std::size_t j = L; j-- > 0;) x[j] = enc_step(x[j], *es[j], total - es[j]->freq(), p);
    }
    const std::size_t words = static_cast<std::size_t>(buf_end - p);
    const std::size_t at = out.size();
    out.resize(at + 4 * N + words);
    std::uint8_t* o = out.data() + at;
    for (std::size_t j = 0; j < N; ++j) {
      o[4 * j] = static_cast<std::uint8_t>(x[j]);
      o[4 * j + 1] = static_cast<std::uint8_t>(x[j] >> 8);
      o[4 * j + 2] = static_cast<std::uint8_t>(x[j] >> 16);
      o[4 * j + 3] = static_cast<std::uint8_t>(x[j] >> 24);
    }
    if (words) std::memcpy(o + 4 * N, p, words);
    return {};
  }

 private:
  std::shared_ptr<const RansTables> tables_;
  EncModel model_;
  std::uint32_t lanes_;
  std::vector<std::uint32_t> ctx_base_, ctx_n_;
};

std::uint8_t lane_code(std::uint32_t lanes) { return lanes == 128 ? 2 : lanes == 64 ? 1 : 0; }

}  // namespace
}  // namespace rans_detail

std::uint32_t rans_auto_lanes(std::uint64_t chunk_symbols) {
  if (chunk_symbols >= (std::uint64_t{1} << 18)) return 128;
  if (chunk_symbols >= (std::uint64_t{1} << 16)) return 64;
  return kRansLanes;
}

Result<EncoderSetup> make_rans_encoder_with_tables(std::shared_ptr<const RansTables> tables, std::uint32_t lanes) {
  if (!tables) return Status{StatusCode::invalid_argument, "rans: no tables"};
  if (lanes != 32 && lanes != 64 && lanes != 128) return Status{StatusCode::invalid_argument, "rans: lanes must be 32, 64 or 128"};
  FTC_RETURN_IF_ERROR(tables->validate());
  EncoderSetup s;
  s.encoder = std::make_unique<rans_detail::RansChunkEncoder>(std::move(tables), lanes);
  return s;
}

namespace {

Result<EncoderSetup> make_encoder_with_params(const SymbolSpan& all, std::uint32_t lanes, bool lane_byte) {
  if (all.bits < 1 || all.bits > 16) return Status{StatusCode::invalid_argument, "rans: bits out of range"};
  if (lanes != 32 && lanes != 64 && lanes != 128) return Status{StatusCode::invalid_argument, "rans: lanes must be 32, 64 or 128"};
  // Per-thread histograms up to the scratch limit: a setup per small tensor then allocates
  // (and, with glibc, returns to the kernel: an munmap and a TLB flush) no rows.
  thread_local RansHistograms kept;
  RansHistograms local;
  RansHistograms& h = rans_detail::scratch_object(
      kept, local, (sizeof(std::uint64_t) << all.bits) * std::max<std::uint64_t>(all.ctx.groups, 1));
  h.count(all);
  FTC_ASSIGN_OR_RETURN(RansTables t, build_rans_tables(h));
  auto tables = std::make_shared<const RansTables>(std::move(t));
  EncoderSetup s;
  if (lane_byte) s.params.push_back(rans_detail::lane_code(lanes));
  tables->serialize(s.params);
  s.encoder = std::make_unique<rans_detail::RansChunkEncoder>(std::move(tables), lanes);
  return s;
}

}  // namespace

Result<EncoderSetup> make_rans_encoder(const SymbolSpan& all, const CoderConfig& /*config*/) {
  return make_encoder_with_params(all, kRansLanes, false);
}

Result<EncoderSetup> make_rans_wide_encoder(const SymbolSpan& all, const CoderConfig& config) {
  return make_encoder_with_params(all, config.rans_lanes, true);
}

}  // namespace ftc::entropy
