// Histograms → quantized rANS tables (docs/format-rans.md §Building tables, informative).
//
// Costs are fixed point (1/2^24 bit) from an integer log2 table, so table construction is the
// same on every machine and compiler: no floating point, no libm.
#include <algorithm>
#include <array>
#include <queue>
#include <span>

#include "codec/entropy/rans.hpp"
#include "codec/entropy/rans_internal.hpp"

namespace ftc::entropy {
namespace {

constexpr int kFrac = 24;
constexpr std::uint32_t kMaxF = 1u << kRansMaxPrecision;

// lg[f] = floor(log2(f) · 2^24) for f in [1, 2^16], by repeated squaring (exact integer steps).
const std::vector<std::uint32_t>& lg_table() {
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

std::uint64_t sat_add(std::uint64_t a, std::uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }
std::uint64_t sat_mul(std::uint64_t a, std::uint64_t b) {
  unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  return p > UINT64_MAX ? UINT64_MAX : static_cast<std::uint64_t>(p);
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
  unsigned __int128 sum = 0;
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
  // Proportional start, every item ≥ 1.
  std::int64_t used = 0;
  for (Item& it : items) {
    unsigned __int128 f = static_cast<unsigned __int128>(it.count) * total / sum;
    it.f = f < 1 ? 1u : static_cast<std::uint32_t>(f);
    used += it.f;
  }
  auto gain = [&](const Item& it) -> std::uint64_t {  // bits saved by f + 1
    return it.f >= total ? 0 : sat_mul(it.count, lg[it.f + 1] - lg[it.f]);
  };
  auto loss = [&](const Item& it) -> std::uint64_t {  // bits lost by f − 1
    return it.f <= 1 ? UINT64_MAX : sat_mul(it.count, lg[it.f] - lg[it.f - 1]);
  };
  using Key = std::pair<std::uint64_t, std::uint32_t>;  // (key, position)
  if (used < static_cast<std::int64_t>(total)) {
    // Max gain first; ties: lowest position.
    auto cmp = [](const Key& a, const Key& b) { return a.first < b.first || (a.first == b.first && a.second > b.second); };
    std::priority_queue<Key, std::vector<Key>, decltype(cmp)> q(cmp);
    for (std::uint32_t i = 0; i < items.size(); ++i) q.push({gain(items[i]), i});
    while (used < static_cast<std::int64_t>(total)) {
      auto [g, i] = q.top();
      q.pop();
      ++items[i].f;
      ++used;
      q.push({gain(items[i]), i});
    }
  } else if (used > static_cast<std::int64_t>(total)) {
    auto cmp = [](const Key& a, const Key& b) { return a.first > b.first || (a.first == b.first && a.second > b.second); };
    std::priority_queue<Key, std::vector<Key>, decltype(cmp)> q(cmp);
    for (std::uint32_t i = 0; i < items.size(); ++i) q.push({loss(items[i]), i});
    while (used > static_cast<std::int64_t>(total)) {
      auto [l, i] = q.top();
      q.pop();
      --items[i].f;
      --used;
      q.push({loss(items[i]), i});
    }
  }
  // Exchange pass: move one slot from the cheapest donor to the best taker while that helps.
  for (int iter = 0; iter < 32 && items.size() > 1; ++iter) {
    std::size_t bi = 0, bj = SIZE_MAX;
    std::uint64_t bg = 0, bl = UINT64_MAX;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::uint64_t g = gain(items[i]);
      if (g > bg) { bg = g; bi = i; }
    }
    for (std::size_t j = 0; j < items.size(); ++j) {
      if (j == bi) continue;
      const std::uint64_t l = loss(items[j]);
      if (l < bl) { bl = l; bj = j; }
    }
    if (bj == SIZE_MAX || bg <= bl) break;
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
  h.bits = all.bits;
  h.counts.assign(all.ctx.groups == 0 ? 1 : all.ctx.groups, {});
  h.add(all);
  return h;
}

void RansHistograms::add(const SymbolSpan& span) {
  const std::size_t alphabet = std::size_t{1} << bits;
  rans_detail::CtxCursor cur(span.ctx, span.first_index);
  if (counts.size() < cur.groups) counts.resize(cur.groups);
  std::size_t i = 0;
  while (i < span.count) {
    const std::size_t run = static_cast<std::size_t>(std::min<std::uint64_t>(cur.run_left(), span.count - i));
    auto& row = counts[cur.ctx];
    if (row.size() < alphabet) row.resize(alphabet, 0);
    if (span.bits <= 8 && run < 1024) {
      // Short runs (per-channel along an inner axis): clearing and folding four partial
      // histograms would cost more than counting straight into the row.
      const auto* s = static_cast<const std::uint8_t*>(span.data) + i;
      for (std::size_t j = 0; j < run; ++j) ++row[s[j]];
    } else if (span.bits <= 8) {
      const auto* s = static_cast<const std::uint8_t*>(span.data) + i;
      // Four partial histograms hide the store-to-load dependency of repeated values.
      std::array<std::array<std::uint32_t, 256>, 4> part{};
      std::size_t j = 0;
      for (; j + 4 <= run; j += 4) {
        ++part[0][s[j]]; ++part[1][s[j + 1]]; ++part[2][s[j + 2]]; ++part[3][s[j + 3]];
        if ((j & 0xFFFFFF) == 0xFFFFFC) {  // flush before 32-bit counters could wrap
          for (int p = 0; p < 4; ++p) for (std::size_t v = 0; v < alphabet && v < 256; ++v) { row[v] += part[p][v]; part[p][v] = 0; }
        }
      }
      for (; j < run; ++j) ++part[0][s[j]];
      for (int p = 0; p < 4; ++p)
        for (std::size_t v = 0; v < 256; ++v)
          if (part[p][v]) row[v] += part[p][v];
    } else {
      const auto* s = static_cast<const std::uint16_t*>(span.data) + i;
      for (std::size_t j = 0; j < run; ++j) ++row[s[j]];
    }
    i += run;
    cur.advance(run);
  }
}

namespace {

Result<RansTables> tables_at(const RansHistograms& h, int precision, bool shared, const std::vector<std::uint64_t>& merged,
                             const RansModelOptions& o) {
  RansTables t;
  t.bits = h.bits;
  t.precision = precision;
  if (shared) {
    FTC_ASSIGN_OR_RETURN(RansTable tab, quantize_histogram(merged, precision, o.escape_count));
    t.tables.push_back(std::move(tab));
  } else {
    for (const auto& row : h.counts) {
      FTC_ASSIGN_OR_RETURN(RansTable tab, quantize_histogram(row, precision, o.escape_count));
      t.tables.push_back(std::move(tab));
    }
    t.context_table.resize(h.counts.size());
    for (std::uint32_t c = 0; c < t.context_table.size(); ++c) t.context_table[c] = c;
  }
  return t;
}

// Estimated cost (1/2^24 bit) of one context's counts coded at precision P with frequencies
// proportional to `ref` (its own counts, or the merged histogram), without quantizing:
// f = max(1, ref·2^P / ref_total), renormalized by Σf when that exceeds 2^P. With `table_bits`,
// adds an estimate of the serialized body of such a table (Rice code of the f's).
struct Estimate {
  std::uint64_t payload = 0;
  std::uint64_t table_bits = 0;
};

std::uint64_t lg_any(std::uint64_t v) {  // floor-ish log2(v)·2^24 for v ≥ 1
  const auto& lg = lg_table();
  int e = 0;
  while (v > kMaxF) { v >>= 1; ++e; }
  return lg[v] + (static_cast<std::uint64_t>(e) << kFrac);
}

void estimate_freqs(std::span<const std::uint64_t> ref, std::uint64_t ref_total, int P, std::uint64_t esc_count,
                    std::vector<std::uint32_t>& f, std::uint64_t& sumf) {
  f.assign(ref.size() + 1, 0);
  sumf = 0;
  // f ≈ ref·2^P / total through a 2^-40 fixed-point reciprocal (an estimate: no division a value).
  const unsigned __int128 tot = static_cast<unsigned __int128>(ref_total) + esc_count;
  if (tot == 0) return;
  const unsigned __int128 scale = (static_cast<unsigned __int128>(1) << (P + 40)) / tot;
  auto q_of = [&](std::uint64_t c) -> std::uint32_t {
    const unsigned __int128 q = (static_cast<unsigned __int128>(c) * scale) >> 40;
    return q < 1 ? 1u : q > kMaxF ? kMaxF : static_cast<std::uint32_t>(q);
  };
  for (std::size_t v = 0; v < ref.size(); ++v) {
    if (!ref[v]) continue;
    f[v] = q_of(ref[v]);
    sumf += f[v];
  }
  if (esc_count) {
    f[ref.size()] = q_of(esc_count);
    sumf += f[ref.size()];
  }
}

std::uint64_t estimate_payload(std::span<const std::uint64_t> counts, const std::vector<std::uint32_t>& f,
                               std::uint64_t sumf, int P, int bits) {
  const auto& lg = lg_table();
  // log2 of the normalizer: max(Σf, 2^P).
  const std::uint64_t norm = sumf > (std::uint64_t{1} << P) ? lg_any(sumf) : static_cast<std::uint64_t>(P) << kFrac;
  const std::uint64_t esc_cost = f.back() ? norm - lg[f.back()] + (static_cast<std::uint64_t>(bits) << kFrac) : UINT64_MAX;
  std::uint64_t cost = 0;
  for (std::size_t v = 0; v < counts.size(); ++v) {
    if (!counts[v]) continue;
    const std::uint32_t fv = v + 1 < f.size() ? f[v] : 0;
    cost = sat_add(cost, sat_mul(counts[v], fv ? norm - lg[fv] : esc_cost));
  }
  return cost;
}

std::uint64_t estimate_table_bits(const std::vector<std::uint32_t>& f, int P) {
  std::uint64_t nz = 0;
  std::size_t n = f.size() - 1;  // last entry: escape
  while (n > 0 && f[n - 1] == 0) --n;
  for (std::size_t v = 0; v < n; ++v) nz += f[v] ? 1 : 0;
  int k = 0;
  if (nz) while ((std::uint64_t{2} << k) * nz <= (std::uint64_t{1} << P) && k < 15) ++k;
  std::uint64_t b = 8 * 4;  // n, escape, k varints (approximately)
  for (std::size_t v = 0; v < n;) {
    b += (f[v] >> k) + 1 + static_cast<std::uint64_t>(k);
    ++v;
    if (f[v - 1] == 0) {
      std::size_t run = 0;
      while (v + run < n && f[v + run] == 0) ++run;
      b += 2 * static_cast<std::uint64_t>(63 - __builtin_clzll(run + 1)) + 1;
      v += run;
    }
  }
  return b + 7;  // byte padding, on average
}

}  // namespace

Result<RansTables> build_rans_tables(const RansHistograms& hist, const RansModelOptions& options) {
  if (hist.bits < 1 || hist.bits > 16) return Status{StatusCode::invalid_argument, "rans: bits out of range"};
  if (hist.counts.empty()) return Status{StatusCode::invalid_argument, "rans: no contexts"};
  const std::size_t groups = hist.counts.size();
  std::vector<std::uint64_t> merged(std::size_t{1} << hist.bits, 0);
  std::vector<std::uint64_t> totals(groups, 0);
  std::size_t kmax = 1;
  for (std::size_t c = 0; c < groups; ++c) {
    const auto& row = hist.counts[c];
    std::size_t k = 0;
    for (std::size_t v = 0; v < row.size() && v < merged.size(); ++v)
      if (row[v]) { merged[v] += row[v]; totals[c] += row[v]; ++k; }
    kmax = std::max(kmax, k);
  }
  std::size_t kall = 0;
  std::uint64_t grand = 0;
  for (auto c : merged) { kall += c ? 1 : 0; grand += c; }
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

  // Choose (shared, P) from histogram estimates (O(groups · alphabet) a candidate, no
  // quantization), then quantize once. Automatic precision for bits ≤ 8 stays within the fused
  // decoder tables' range (P ≤ 12): a larger P buys < 0.1% on these alphabets and halves decoding
  // speed.
  const int pcap = options.precision ? options.precision
                                     : (hist.bits <= 8 ? rans_detail::kFusedMaxPrecision : kRansMaxPrecision);
  const int plo = options.precision ? options.precision : std::min(8, pcap);
  bool best_shared = false;
  int best_p = 0;
  std::uint64_t best_est = UINT64_MAX;
  std::vector<std::uint32_t> f;
  std::uint64_t sumf = 0;
  for (int shared = 0; shared < 2; ++shared) {
    if (shared && groups == 1) break;
    const int phi = options.precision ? pcap : std::max(pcap, shared ? pmin_all : pmin_ctx);
    for (int p = std::max(plo, shared ? pmin_all : pmin_ctx); p <= phi; ++p) {
      if (!feasible(shared != 0, p)) continue;
      std::uint64_t cost = 0, tbits = 0;
      if (shared) {
        estimate_freqs(merged, grand, p, options.escape_count, f, sumf);
        for (std::size_t c = 0; c < groups; ++c)
          if (totals[c]) cost = sat_add(cost, estimate_payload(hist.counts[c], f, sumf, p, hist.bits));
        tbits = estimate_table_bits(f, p);
      } else {
        for (std::size_t c = 0; c < groups; ++c) {
          if (!totals[c]) { tbits += 40; continue; }
          estimate_freqs(hist.counts[c], totals[c], p, options.escape_count, f, sumf);
          cost = sat_add(cost, estimate_payload(hist.counts[c], f, sumf, p, hist.bits));
          tbits += estimate_table_bits(f, p);
        }
      }
      if (options.count_table_cost) cost = sat_add(cost, tbits << kFrac);
      if (cost < best_est) { best_est = cost; best_shared = shared != 0; best_p = p; }
    }
    if (options.precision == 0 && best_p == 0 && !shared) {
      // No per-context candidate within the cap (too many distinct values): allow up to 16.
      for (int p = std::max(pcap + 1, pmin_ctx); p <= kRansMaxPrecision && best_p == 0; ++p)
        if (feasible(false, p)) { best_p = p; best_shared = false; best_est = UINT64_MAX - 1; }
    }
  }
  if (best_p == 0 && options.precision == 0) {
    for (int p = pmin_all; p <= kRansMaxPrecision && best_p == 0; ++p)
      if (feasible(true, p)) { best_p = p; best_shared = true; }
  }
  if (best_p == 0) return Status{StatusCode::invalid_argument, "rans: no table set fits the precision and size limits"};
  FTC_ASSIGN_OR_RETURN(RansTables best, tables_at(hist, best_p, best_shared, merged, options));
  if (best.tables.size() == 1) best.context_table.clear();
  return best;
}

}  // namespace ftc::entropy
