// Histograms → quantized rANS tables (docs/format-rans.md §Building tables, informative).
//
// Costs are fixed point (1/2^24 bit) from an integer log2 table, so table construction is the
// same on every machine and compiler: no floating point, no libm.
#include <algorithm>
#include <span>

#include "codec/entropy/rans.hpp"
#include "codec/entropy/rans_internal.hpp"
#include "codec/entropy/rans_model_enc.hpp"

namespace ftc::entropy {
namespace {

constexpr int kFrac = rans_detail::kLgFrac;
constexpr std::uint32_t kMaxF = 1u << kRansMaxPrecision;
using rans_detail::lg_table;

std::uint64_t sat_add(std::uint64_t a, std::uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }
std::uint64_t sat_mul(std::uint64_t a, std::uint64_t b) {
  u128 p = static_cast<u128>(a) * b;
  return p > UINT64_MAX ? UINT64_MAX : static_cast<std::uint64_t>(p);
}

// n / d, through the 64-bit divide when both fit (much faster than the generic 128-bit one).
u128 div128(u128 n, u128 d) {
  if ((n >> 64) == 0 && (d >> 64) == 0) return static_cast<std::uint64_t>(n) / static_cast<std::uint64_t>(d);
  return n / d;
}

struct Item {
  std::uint64_t count;
  std::uint32_t f;
  std::uint32_t index;  // value, or n for the escape
};

}  // namespace

Result<RansTable> quantize_histogram(std::span<const std::uint64_t> counts, int precision,
                                     std::uint64_t escape_count) {
  if (precision < 1 || precision > kRansMaxPrecision)
    return Status{StatusCode::invalid_argument, "rans: precision out of range"};
  const std::uint32_t total = 1u << precision;
  const auto& lg = lg_table();
  std::size_t n = counts.size();
  while (n > 0 && counts[n - 1] == 0) --n;
  std::vector<Item> items;
  items.reserve(n + 1);
  u128 sum = 0;
  for (std::size_t v = 0; v < n; ++v)
    if (counts[v]) { items.push_back({counts[v], 0, static_cast<std::uint32_t>(v)}); sum += counts[v]; }
  if (escape_count) { items.push_back({escape_count, 0, static_cast<std::uint32_t>(n)}); sum += escape_count; }
  RansTable t;
  if (items.empty()) {  // a context that never occurs: any valid table
    t.freq.assign(1, total);
    return t;
  }
  if (items.size() > total)
    return Status{StatusCode::invalid_argument, "rans: more distinct symbols than 2^precision"};
  // Start near the optimum. Real-valued, f = count·λ for the values that get ≥ 1 slot, the
  // others pinned at 1, with λ = free/rest (free: slots left once the pinned values have theirs,
  // rest: the unpinned count). Pinning lowers λ and may pin more values; a few rounds reach the
  // fixed point or come close. Rounding x = count·λ: floor(x), plus one when that slot's gain
  // count·log2((f+1)/f) exceeds the optimum's price per slot 1/(λ·ln 2), i.e. when
  // x·(lg[f+1] − lg[f]) > 2^24/ln 2. Σf then lands within a few slots of 2^P.
  std::uint64_t free = total;
  u128 rest = sum;
  for (int round = 0; round < 4; ++round) {
    // Pinned: count·free < rest, i.e. count ≤ (rest − 1) / free (every count when free = 0).
    const std::uint64_t below = rest == 0 ? 0 : free == 0 ? UINT64_MAX : static_cast<std::uint64_t>(std::min<u128>(div128(rest - 1, free), UINT64_MAX));
    std::uint64_t pinned = 0;
    u128 pinned_count = 0;
    if (rest != 0)
      for (const Item& it : items)
        if (it.count <= below) { ++pinned; pinned_count += it.count; }
    if (pinned == total - free || pinned_count == sum) break;  // fixed point, or nothing left to scale
    free = total - pinned;
    rest = sum - pinned_count;
  }
  constexpr std::uint64_t kInvLn2 = 1586259972606;  // floor(2^40/ln 2): 2^24/ln 2 with x in 16.16
  std::int64_t used = 0;
  for (Item& it : items) {
    const u128 xw = div128(static_cast<u128>(it.count) * free << 16, rest);
    const std::uint64_t x = xw > (std::uint64_t{total} << 16) ? std::uint64_t{total} << 16 : static_cast<std::uint64_t>(xw);
    const std::uint32_t f0 = static_cast<std::uint32_t>(x >> 16);
    it.f = f0 < 1 ? 1u : f0 >= total ? total : f0 + (x * (lg[f0 + 1] - lg[f0]) > kInvLn2 ? 1u : 0u);
    used += it.f;
  }
  // count · (lg difference < 2^25) cannot overflow 64 bits when every count is below 2^38.
  const bool narrow = sum < (std::uint64_t{1} << 38);
  auto times = [narrow](std::uint64_t count, std::uint32_t d) { return narrow ? count * d : sat_mul(count, d); };
  auto gain = [&](const Item& it) -> std::uint64_t {  // bits saved by f + 1
    return it.f >= total ? 0 : times(it.count, lg[it.f + 1] - lg[it.f]);
  };
  auto loss = [&](const Item& it) -> std::uint64_t {  // bits lost by f − 1
    return it.f <= 1 ? UINT64_MAX : times(it.count, lg[it.f] - lg[it.f - 1]);
  };
  // Moves single slots (step +1: greatest gain first; −1: least loss first; ties: lowest
  // position) until Σf = 2^P. Gains fall and losses rise with each move (log is concave).
  auto settle = [&](int step, auto&& key) {
    using Key = std::pair<std::uint64_t, std::uint32_t>;  // (key, position)
    auto before = [step](const Key& a, const Key& b) {   // heap order: a below b
      const bool worse = step > 0 ? a.first < b.first : a.first > b.first;
      return worse || (a.first == b.first && a.second > b.second);
    };
    std::vector<Key> heap(items.size());
    for (std::uint32_t i = 0; i < items.size(); ++i) heap[i] = {key(items[i]), i};
    std::make_heap(heap.begin(), heap.end(), before);
    while (used != static_cast<std::int64_t>(total)) {
      std::pop_heap(heap.begin(), heap.end(), before);
      Item& it = items[heap.back().second];
      it.f = static_cast<std::uint32_t>(static_cast<std::int64_t>(it.f) + step);
      used += step;
      heap.back().first = key(it);
      std::push_heap(heap.begin(), heap.end(), before);
    }
  };
  if (used < static_cast<std::int64_t>(total)) settle(+1, gain);
  else if (used > static_cast<std::int64_t>(total)) settle(-1, loss);
  // Exchange pass: move one slot from the cheapest donor to the best taker while that helps
  // (separable convex: no improving single move means optimal).
  for (int iter = 0; iter < 32 && items.size() > 1; ++iter) {
    // Best taker bi; the two least losses (first positions) so that the donor is not bi.
    std::size_t bi = 0, l1i = SIZE_MAX, l2i = SIZE_MAX;
    std::uint64_t bg = 0, l1 = UINT64_MAX, l2 = UINT64_MAX;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::uint64_t g = gain(items[i]);
      if (g > bg) { bg = g; bi = i; }
      const std::uint64_t l = loss(items[i]);
      if (l < l1) { l2 = l1; l2i = l1i; l1 = l; l1i = i; }
      else if (l < l2) { l2 = l; l2i = i; }
    }
    const std::size_t bj = l1i != bi ? l1i : l2i;
    if (bj == SIZE_MAX || bg <= (l1i != bi ? l1 : l2)) break;
    ++items[bi].f;
    --items[bj].f;
  }
  t.freq.assign(n, 0);
  for (const Item& it : items) {
    if (it.index == n) t.escape = it.f;
    else t.freq[it.index] = it.f;
  }
  return t;
}

std::uint64_t rans_cost_fixed(std::span<const std::uint64_t> counts, const RansTable& table, int precision,
                              int bits) {
  const auto& lg = lg_table();
  const std::uint64_t full = static_cast<std::uint64_t>(precision) << kFrac;
  std::uint64_t cost = 0;
  const std::uint64_t esc_cost = table.escape ? full - lg[table.escape] + (static_cast<std::uint64_t>(bits) << kFrac) : UINT64_MAX;
  for (std::size_t v = 0; v < counts.size(); ++v) {
    if (!counts[v]) continue;
    const std::uint32_t f = v < table.freq.size() ? table.freq[v] : 0;
    if (f) cost = sat_add(cost, sat_mul(counts[v], full - lg[f]));
    else cost = sat_add(cost, sat_mul(counts[v], esc_cost));
  }
  return cost;
}

RansHistograms RansHistograms::of(const SymbolSpan& all) {
  RansHistograms h;
  h.count(all);
  return h;
}

void RansHistograms::count(const SymbolSpan& all) {
  bits = all.bits;
  counts.resize(all.ctx.groups == 0 ? 1 : all.ctx.groups);
  for (auto& row : counts) row.assign(std::size_t{1} << bits, 0);
  add(all);
}

namespace {

// Counts 8-bit symbols into four partial histograms p[0..255], p[256..511], ... (symbol j into
// partial j mod 4): repeated values then do not wait on one counter's store-to-load latency.
// Each counter gets ≤ n/4 + 1 increments.
void count4(const std::uint8_t* s, std::size_t n, std::uint32_t* p) {
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) { ++p[s[j]]; ++p[256 + s[j + 1]]; ++p[512 + s[j + 2]]; ++p[768 + s[j + 3]]; }
  for (; j < n; ++j) ++p[s[j]];
}

// row[v] += Σ of the four partials at v, for v < row.size() (≤ 256); clears the partials.
void fold4(std::vector<std::uint64_t>& row, std::uint32_t* __restrict p) {
  std::uint64_t* __restrict r = row.data();
  const std::size_t n = std::min<std::size_t>(row.size(), 256);
  // A loop the compiler vectorizes (no aliasing, known bound); the four partials of a context
  // hold ≤ 2^30 counts in all (the callers' blocks), so their sum fits 32 bits before widening.
  for (std::size_t v = 0; v < n; ++v) r[v] += p[v] + p[256 + v] + p[512 + v] + p[768 + v];
  std::fill(p, p + 1024, 0u);
}

}  // namespace

void RansHistograms::add(const SymbolSpan& span) {
  const std::size_t alphabet = std::size_t{1} << bits;
  rans_detail::CtxCursor cur(span.ctx, span.first_index);
  if (counts.size() < cur.groups) counts.resize(cur.groups);
  for (std::uint32_t c = 0; c < cur.groups; ++c)
    if (counts[c].size() < alphabet) counts[c].resize(alphabet, 0);
  constexpr std::size_t kBlock = std::size_t{1} << 30;  // partial counters stay below 2^32
  if (span.bits <= 8 && span.count >= std::size_t{64} * cur.groups && span.count <= kBlock) {
    // 4 KiB of partials a context, which also serve short runs. From 64 symbols a context on,
    // folding and clearing them costs less than the repeated-value stalls of counting straight
    // into the rows (docs/benchmarks.md, rANS histograms). They are scratch memory
    // (rans_detail::scratch), all zero between calls: fold4 clears them.
    thread_local std::vector<std::uint32_t> kept;
    std::vector<std::uint32_t> local;
    std::uint32_t* const part = rans_detail::scratch(kept, local, std::size_t{1024} * cur.groups);
    for (std::size_t i = 0; i < span.count;) {
      const std::size_t run = static_cast<std::size_t>(std::min<std::uint64_t>(cur.run_left(), span.count - i));
      count4(static_cast<const std::uint8_t*>(span.data) + i, run, part + std::size_t{1024} * cur.ctx);
      i += run;
      cur.advance(run);
    }
    for (std::uint32_t c = 0; c < cur.groups; ++c) fold4(counts[c], part + std::size_t{1024} * c);
    return;
  }
  std::vector<std::uint32_t> part;
  for (std::size_t i = 0; i < span.count;) {
    const std::size_t run = static_cast<std::size_t>(std::min<std::uint64_t>(cur.run_left(), span.count - i));
    auto& row = counts[cur.ctx];
    if (span.bits <= 8 && run >= 1024) {
      part.resize(1024);
      const auto* s = static_cast<const std::uint8_t*>(span.data) + i;
      for (std::size_t j = 0; j < run; j += kBlock) {
        count4(s + j, std::min(kBlock, run - j), part.data());
        fold4(row, part.data());
      }
    } else if (span.bits <= 8) {
      // Short runs (per-channel along an inner axis): clearing and folding partials would cost
      // more than counting straight into the row.
      const auto* s = static_cast<const std::uint8_t*>(span.data) + i;
      for (std::size_t j = 0; j < run; ++j) ++row[s[j]];
    } else {
      const auto* s = static_cast<const std::uint16_t*>(span.data) + i;
      for (std::size_t j = 0; j < run; ++j) ++row[s[j]];
    }
    i += run;
    cur.advance(run);
  }
}

namespace rans_detail {

const std::vector<std::uint32_t>& lg_table() {  // exact integer steps: the same table everywhere
  static const std::vector<std::uint32_t> table = [] {
    std::vector<std::uint32_t> t(kMaxF + 1, 0);
    for (std::uint32_t f = 1; f <= kMaxF; ++f) {
      const int ip = 31 - __builtin_clz(f);
      std::uint64_t m = static_cast<std::uint64_t>(f) << (31 - ip);  // Q1.31 in [1, 2)
      std::uint32_t frac = 0;
      for (int i = 0; i < kFrac; ++i) {
        m = (m * m) >> 31;
        frac <<= 1;
        if (m >= (std::uint64_t{1} << 32)) { frac |= 1; m >>= 1; }
      }
      t[f] = (static_cast<std::uint32_t>(ip) << kFrac) | frac;
    }
    return t;
  }();
  return table;
}

std::uint64_t lg_any(std::uint64_t v) {
  const auto& lg = lg_table();
  int e = 0;
  while (v > kMaxF) { v >>= 1; ++e; }
  return lg[v] + (static_cast<std::uint64_t>(e) << kFrac);
}

// Without quantizing: f = clamp(count·2^P / (total + esc_count), 1, 2^16) through a 2^-40
// fixed-point reciprocal, costed as log2(max(Σf, 2^P) / f) a symbol (Σf includes the escape's
// f). Payload: Σ count·(norm − lg f) = total·norm − Σ count·lg f. Table bits: the Rice-coded
// body of such a table (docs/format-rans.md §1.3: per value (f >> k) + 1 + k bits; a run of
// g ≥ 1 zeros costs the first zero's 1 + k bits plus 2·floor(log2 g) + 1 for its Elias-gamma
// length), the varints (≈ 32 bits) and the byte padding (≈ 7), with k the largest with
// 2^(k+1)·nz ≤ 2^P (≤ 15).
std::uint64_t estimate_row(const SparseRows& s, std::size_t r, int P, std::uint64_t esc_count, bool table_bits,
                           std::uint64_t* payload) {
  const auto& lg = lg_table();
  const std::size_t b = s.begin[r], e = s.begin[r + 1];
  const u128 tot = static_cast<u128>(s.total[r]) + esc_count;
  if (payload) *payload = 0;
  if (tot == 0) return 0;
  // scale ≤ 2^(P+40) / tot and every count ≤ tot: count·scale < 2^57.
  const std::uint64_t scale = static_cast<std::uint64_t>((static_cast<u128>(1) << (P + 40)) / tot);
  auto f_of = [scale](std::uint64_t c) -> std::uint32_t {
    const std::uint64_t q = (c * scale) >> 40;
    return q < 1 ? 1u : q > kMaxF ? kMaxF : static_cast<std::uint32_t>(q);
  };
  const int k = [&] {
    const std::uint64_t nz = e - b;
    int kk = 0;
    if (nz) while ((std::uint64_t{2} << kk) * nz <= (std::uint64_t{1} << P) && kk < 15) ++kk;
    return kk;
  }();
  std::uint64_t sumf = esc_count ? f_of(esc_count) : 0;
  std::uint64_t bits = 8 * 4 + 7;
  const std::uint32_t* value = s.value.data();
  const std::uint64_t* count = s.count.data();
  auto pass = [&](auto zero) -> u128 {  // Σ count·lg f, in the accumulator type of zero
    decltype(zero) clg = zero;
    std::uint32_t next = 0;  // first value after the previous non-zero one
    for (std::size_t i = b; i < e; ++i) {
      const std::uint32_t f = f_of(count[i]);
      sumf += f;
      clg += static_cast<decltype(zero)>(count[i]) * lg[f];
      const std::uint32_t gap = value[i] - next;
      if (gap) bits += static_cast<std::uint64_t>(k) + 2 * static_cast<std::uint64_t>(31 - __builtin_clz(gap)) + 2;
      bits += (f >> k) + 1 + static_cast<std::uint64_t>(k);
      next = value[i] + 1;
    }
    return clg;
  };
  // lg f < 2^28: below 2^35 symbols the sum fits 64 bits.
  const u128 clg = s.total[r] < (std::uint64_t{1} << 35) ? pass(std::uint64_t{0}) : pass(static_cast<u128>(0));
  const std::uint64_t norm = sumf > (std::uint64_t{1} << P) ? lg_any(sumf) : static_cast<std::uint64_t>(P) << kFrac;
  u128 cost = static_cast<u128>(s.total[r]) * norm - clg;  // exact; saturates once
  if (payload) *payload = cost > UINT64_MAX ? UINT64_MAX : static_cast<std::uint64_t>(cost);
  if (table_bits) cost += static_cast<u128>(bits) << kFrac;
  return cost > UINT64_MAX ? UINT64_MAX : static_cast<std::uint64_t>(cost);
}


PerContextBound::PerContextBound(const SparseRows& rows, std::size_t groups) : stats_(groups) {
  const std::uint32_t* value = rows.value.data();
  const std::uint64_t* count = rows.count.data();
  const std::uint32_t* lg = lg_table().data();
  for (std::size_t c = 0; c < groups; ++c) {
    Stats& st = stats_[c];
    const std::size_t b = rows.begin[c], e = rows.begin[c + 1];
    st.total = rows.total[c];
    st.nz = e - b;
    if (st.total == 0) { ++empty_; continue; }
    u128 clg = 0;
    std::uint32_t next = 0;
    std::uint64_t gaps = 0, gap_bits = 0;
    auto gap_of = [&](std::uint32_t v) {  // without a branch: zero runs are data
      const std::uint32_t gap = v - next;
      const std::uint64_t has = gap != 0;
      gaps += has;
      gap_bits += (2 * static_cast<std::uint64_t>(31 - __builtin_clz(gap | 1)) + 2) & (0 - has);
      next = v + 1;
    };
    if (st.total <= kMaxF) {  // every count ≤ 2^16: lg[count] directly, Σ count·lg < 2^45
      std::uint64_t sum = 0;
      for (std::size_t i = b; i < e; ++i) { sum += count[i] * lg[count[i]]; gap_of(value[i]); }
      clg = sum;
    } else {
      for (std::size_t i = b; i < e; ++i) { clg += static_cast<u128>(count[i]) * lg_any(count[i]); gap_of(value[i]); }
    }
    st.gaps = gaps;
    st.gap_bits = gap_bits;
    const u128 whole = static_cast<u128>(st.total) * lg_any(st.total);
    const u128 margin = static_cast<u128>(st.total) * 1024 + clg;
    if (whole > margin) payload_ += whole - margin;
  }
}

u128 PerContextBound::at(int P, std::uint64_t esc, bool table_bits) const {
  if (!table_bits) return payload_;
  std::uint64_t bits = 40 * empty_;
  for (const Stats& st : stats_) {
    if (st.total == 0) continue;
    int k = 0;
    if (st.nz) while ((std::uint64_t{2} << k) * st.nz <= (std::uint64_t{1} << P) && k < 15) ++k;
    const u128 tot = static_cast<u128>(st.total) + esc;
    const std::uint64_t scale = static_cast<std::uint64_t>((static_cast<u128>(1) << (P + 40)) / tot);
    const std::uint64_t unfloored = static_cast<std::uint64_t>((static_cast<u128>(st.total) * scale) >> 40);
    const std::uint64_t sumf = std::max(st.nz, unfloored > st.nz ? unfloored - st.nz : 0);
    const std::uint64_t rounding = st.nz * ((std::uint64_t{1} << k) - 1);
    const std::uint64_t shifted = sumf > rounding ? (sumf - rounding) >> k : 0;
    bits += 39 + shifted + st.nz * (1 + static_cast<std::uint64_t>(k)) + st.gaps * static_cast<std::uint64_t>(k) + st.gap_bits;
  }
  return payload_ + (static_cast<u128>(bits) << kFrac);
}

}  // namespace rans_detail

namespace {

using rans_detail::estimate_row;
using rans_detail::SparseRows;
using rans_detail::PerContextBound;

// Escaped values a table may have: at most 1 in kEscapeShare of the symbols it codes. A round
// with an escape has its bypasses written outside the encode kernels and is finished by the
// decoders' general path, so the share trades coding speed for bytes (docs/format-rans.md §4.1
// step 5; figures in docs/benchmarks.md).
constexpr std::uint64_t kEscapeShare = 4096;

// In-stream table for `row` at `precision` whose rare values may go through the escape (f = 0:
// coded as the escape plus a `bits`-bit bypass, docs/format-rans.md §3). Each value kept in a
// table takes f ≥ 1 slot of 2^P and table bits; on long thin tails (ReLU and Laplacian tensors
// at 8 bits: ~100 values under 0.1 %) that mass, taken from the frequent values, costs more
// than the bypasses. Values with count ≤ t are escaped for t = 1, 2, 4, ... while the escaped
// count stays within the kEscapeShare budget, and the smallest exact total (payload by
// rans_cost_fixed plus serialized table bytes) is kept. With an escape its index n must fit a
// symbol (n + 1 ≤ 2^bits), so the largest value 2^bits − 1 is escaped too when it occurs.
Result<RansTable> quantize_escaping_tail(std::span<const std::uint64_t> row, int precision, int bits) {
  FTC_ASSIGN_OR_RETURN(RansTable best, quantize_histogram(row, precision, 0));
  std::uint64_t total = 0;
  for (std::uint64_t c : row) total += c;
  // Below 16 escapable symbols (64 Ki a table) the search is not tried: the few bypasses it
  // could save do not pay for it (docs/benchmarks.md, escaped tails).
  const std::uint64_t budget = total / kEscapeShare;
  if (budget < 16) return best;
  const auto cost_of = [&](const RansTable& t) {
    RansTables one;
    one.bits = bits;
    one.precision = precision;
    one.tables.push_back(t);
    return sat_add(rans_cost_fixed(row, t, precision, bits), static_cast<std::uint64_t>(8 * one.serialized_size()) << kFrac);
  };
  std::uint64_t best_cost = cost_of(best);
  const std::size_t top = (std::size_t{1} << bits) - 1;
  std::vector<std::uint64_t> direct;
  std::uint64_t last_escaped = 0;
  for (std::uint64_t t = 1; t <= budget; t *= 2) {
    direct.assign(row.begin(), row.end());
    std::uint64_t escaped = 0;
    for (std::uint64_t& c : direct)
      if (c && c <= t) { escaped += c; c = 0; }
    if (direct.size() > top && direct[top]) { escaped += direct[top]; direct[top] = 0; }
    while (!direct.empty() && direct.back() == 0) direct.pop_back();
    if (escaped > budget || direct.empty()) break;
    if (escaped == last_escaped) continue;  // no value has a count in (t/2, t]
    last_escaped = escaped;
    Result<RansTable> tab = quantize_histogram(direct, precision, escaped);
    if (!tab.ok()) break;
    // Not unimodal in t: the first escape (and the forced one of 2^bits − 1) costs its slot
    // before the values behind it pay back. So every t up to the budget, ≤ log2(total) + 1.
    const std::uint64_t cost = cost_of(*tab);
    if (cost < best_cost) {
      best_cost = cost;
      best = std::move(*tab);
    }
  }
  return best;
}

// Table t quantizes rows[t] at `precision`; context_table as in RansTables (empty: one table).
// In-stream tables without a caller's escape may escape their rare tail (quantize_escaping_tail).
Result<RansTables> tables_at(int bits, int precision, std::span<const std::vector<std::uint64_t>> rows,
                             std::vector<std::uint32_t> context_table, const RansModelOptions& o) {
  RansTables t;
  t.bits = bits;
  t.precision = precision;
  const bool escape_tail = o.count_table_cost && o.escape_count == 0;
  for (const auto& row : rows) {
    FTC_ASSIGN_OR_RETURN(RansTable tab, escape_tail ? quantize_escaping_tail(row, precision, bits)
                                                    : quantize_histogram(row, precision, o.escape_count));
    t.tables.push_back(std::move(tab));
  }
  t.context_table = std::move(context_table);
  return t;
}

}  // namespace

Result<RansTables> build_rans_tables(const RansHistograms& hist, const RansModelOptions& options) {
  if (hist.bits < 1 || hist.bits > 16) return Status{StatusCode::invalid_argument, "rans: bits out of range"};
  if (hist.counts.empty()) return Status{StatusCode::invalid_argument, "rans: no contexts"};
  const std::size_t groups = hist.counts.size();
  const std::size_t alphabet = std::size_t{1} << hist.bits;
  std::vector<std::uint64_t> merged(alphabet, 0);
  // Per-thread rows up to the scratch limit (a row entry takes 12 bytes): no allocation a call.
  thread_local SparseRows kept_rows;
  SparseRows local_rows;
  SparseRows& rows = rans_detail::scratch_object(kept_rows, local_rows, std::uint64_t{12} * (groups + 1) * alphabet);
  rows.clear();
  std::size_t kmax = 1;
  for (std::size_t c = 0; c < groups; ++c) {
    const auto& row = hist.counts[c];
    rows.add_row(std::span(row).first(std::min(row.size(), alphabet)));
    kmax = std::max(kmax, rows.begin[c + 1] - rows.begin[c]);
    for (std::size_t i = rows.begin[c]; i < rows.begin[c + 1]; ++i) merged[rows.value[i]] += rows.count[i];
  }
  rows.add_row(merged);
  const std::size_t kall = rows.begin[groups + 1] - rows.begin[groups];
  const std::size_t esc = options.escape_count ? 1 : 0;
  auto min_precision = [](std::size_t k) { int p = 1; while ((std::size_t{1} << p) < k) ++p; return p; };
  const int pmin_ctx = min_precision(kmax + esc), pmin_all = min_precision(kall + esc);
  if (pmin_all > kRansMaxPrecision && pmin_ctx > kRansMaxPrecision)
    return Status{StatusCode::invalid_argument, "rans: alphabet too large for 16-bit precision with an escape"};

  auto feasible = [&](bool shared, int p) {
    const int pmin = shared ? pmin_all : pmin_ctx;
    const std::uint64_t ntab = shared ? 1 : groups;
    return p >= pmin && p <= kRansMaxPrecision && ntab * (std::uint64_t{1} << p) <= kRansMaxTableSlots &&
           (shared ? (groups > 1 && options.allow_sharing) : groups <= kRansMaxTables);
  };

  // Choose (shared, P) from histogram estimates (O(non-zero counts) a candidate, no
  // quantization), then quantize once. The shared table's payload is estimated on the merged
  // histogram: Σ_c Σ_v count_c[v]·cost(v) = Σ_v merged[v]·cost(v). Automatic precision for
  // bits ≤ 8 stays within the fused decoder tables' range (P ≤ 12), where decoding takes one
  // lookup a symbol; a larger P would need the two-lookup path.
  const int pcap = options.precision ? options.precision
                                     : (hist.bits <= 8 ? rans_detail::kFusedMaxPrecision : kRansMaxPrecision);
  const int plo = options.precision ? options.precision : std::min(8, pcap);
  bool best_shared = false;
  int best_p = 0, shared_p = 0;
  std::uint64_t best_est = UINT64_MAX, shared_est = UINT64_MAX;
  const bool tcost = options.count_table_cost;
  // Groups of contexts sharing a table (a third candidate, below) pay only through the table
  // and map bits they save, so only when tables cost stream bytes and may be shared. They need
  // each context's payload alone: self[p][c], kept from the per-context estimates.
  const bool try_groups = tcost && options.allow_sharing && groups >= 3 && groups <= kRansMaxTables;
  std::vector<std::vector<std::uint64_t>> self(kRansMaxPrecision + 1);
  const PerContextBound bound(rows, groups);
  // Shared first: its estimate bounds the per-context sums, which stop as soon as they pass the
  // best so far (on small tensors the per-context tables cost far more than they save).
  for (int shared = 1; shared >= 0; --shared) {
    if (shared && groups == 1) continue;
    const int phi = options.precision ? pcap : std::max(pcap, shared ? pmin_all : pmin_ctx);
    // The estimate is about unimodal in P (the payload falls, the tables grow): from the top,
    // step down while it falls.
    std::uint64_t prev = UINT64_MAX;
    for (int p = phi; p >= std::max(plo, shared ? pmin_all : pmin_ctx); --p) {
      if (!feasible(shared != 0, p)) continue;
      std::uint64_t cost = 0;
      if (shared) {
        cost = estimate_row(rows, groups, p, options.escape_count, tcost);
      } else {
        if (best_est != UINT64_MAX && bound.at(p, options.escape_count, tcost) >= best_est) continue;
        if (try_groups) self[p].assign(groups, 0);
        std::size_t c = 0;
        for (; c < groups && cost < best_est; ++c) {
          const std::uint64_t e = rows.total[c] ? estimate_row(rows, c, p, options.escape_count, tcost,
                                                               try_groups ? &self[p][c] : nullptr)
                                                : (tcost ? std::uint64_t{40} << kFrac : 0);
          cost = sat_add(cost, e);
        }
        if (c < groups) {  // stopped above the best so far; a lower P may still beat it (fewer table bits)
          self[p].clear();
          continue;
        }
      }
      if (cost >= prev) break;
      prev = cost;
      if (cost < best_est) { best_est = cost; best_shared = shared != 0; best_p = p; }
      if (shared && cost < shared_est) { shared_est = cost; shared_p = p; }
    }
    if (options.precision == 0 && best_p == 0 && !shared) {
      // No per-context candidate within the cap (too many distinct values): allow up to 16.
      for (int p = std::max(pcap + 1, pmin_ctx); p <= kRansMaxPrecision && best_p == 0; ++p)
        if (feasible(false, p)) { best_p = p; best_shared = false; best_est = UINT64_MAX - 1; }
    }
  }

  // Third candidate: groups of similar contexts sharing a table (context map mode 2), formed by
  // rans_group_enc.cpp at the shared table's best precision (group tables, like it, merge many
  // contexts; else at the best one), then priced at neighbouring precisions while that lowers
  // the estimate. Skipped when the best candidate is within 1/128 (or two tables and the map)
  // of the per-context payload without tables: no grouping undercuts it by more, and groupings
  // recover a fraction of that.
  rans_detail::ContextGrouping grouping;
  const int p0 = shared_p ? shared_p : best_p;
  if (try_groups && best_p != 0 && best_est < UINT64_MAX - 1) {
    if (self[p0].empty()) {
      self[p0].assign(groups, 0);
      for (std::size_t c = 0; c < groups; ++c)
        if (rows.total[c]) (void)estimate_row(rows, c, p0, options.escape_count, false, &self[p0][c]);
    }
    std::uint64_t self_sum = 0;
    for (std::uint64_t s : self[p0]) self_sum = sat_add(self_sum, s);
    const std::uint64_t floor = sat_add(self_sum, sat_add(rans_detail::context_map_cost(groups, 2),
                                                          std::uint64_t{2 * 39} << kFrac));
    if (best_est > floor && best_est - self_sum > self_sum / 128)
      grouping = rans_detail::group_contexts(rows, groups, merged, p0, options.escape_count, self[p0]);
  }
  bool best_grouped = false;
  if (!grouping.context_table.empty()) {
    SparseRows grows;
    std::size_t kg = 1;
    for (const auto& row : grouping.rows) {
      grows.add_row(row);
      kg = std::max(kg, grows.begin.back() - grows.begin[grows.begin.size() - 2]);
    }
    const std::uint64_t ntab = grouping.rows.size();
    const std::uint64_t map_cost = rans_detail::context_map_cost(groups, ntab);
    const int lo = std::max(plo, min_precision(kg + esc));
    const int hi = std::min(options.precision ? pcap : std::max(pcap, lo), kRansMaxPrecision);
    auto cost_at = [&](int p) {
      if (p < lo || p > hi || (ntab << p) > kRansMaxTableSlots) return UINT64_MAX;
      std::uint64_t cost = map_cost;
      for (std::size_t t = 0; t < ntab; ++t) cost = sat_add(cost, estimate_row(grows, t, p, options.escape_count, true));
      return cost;
    };
    // The total is about unimodal in P: from the grouping's precision, step down while it
    // falls, else up while it falls.
    int gp = std::clamp(p0, lo, std::max(lo, hi));
    std::uint64_t gcost = cost_at(gp);
    for (int step : {-1, +1}) {
      bool moved = false;
      for (std::uint64_t c; (c = cost_at(gp + step)) < gcost; gp += step) { gcost = c; moved = true; }
      if (moved) break;
    }
    if (gcost < best_est) { best_est = gcost; best_grouped = true; best_p = gp; }
  }
  if (best_p == 0 && options.precision == 0) {
    for (int p = pmin_all; p <= kRansMaxPrecision && best_p == 0; ++p)
      if (feasible(true, p)) { best_p = p; best_shared = true; }
  }
  if (best_p == 0) return Status{StatusCode::invalid_argument, "rans: no table set fits the precision and size limits"};
  auto build = [&]() -> Result<RansTables> {
    if (best_grouped) return tables_at(hist.bits, best_p, grouping.rows, std::move(grouping.context_table), options);
    if (best_shared) return tables_at(hist.bits, best_p, std::span(&merged, 1), {}, options);
    std::vector<std::uint32_t> identity(groups);
    for (std::uint32_t c = 0; c < groups; ++c) identity[c] = c;
    return tables_at(hist.bits, best_p, hist.counts, std::move(identity), options);
  };
  FTC_ASSIGN_OR_RETURN(RansTables best, build());
  if (best.tables.size() == 1) best.context_table.clear();
  return best;
}

}  // namespace ftc::entropy
