// Tests for codec/entropy/rans_group_enc.cpp: contexts grouped onto shared rANS tables (context
// map mode 2) by build_rans_tables, and what that does to coded sizes, round trips and bytes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>

#include "codec/entropy/rans.hpp"
#include "codec/entropy/rans_model_enc.hpp"

using namespace ftc;
using namespace ftc::entropy;

namespace {

// Value v with probability weight[v] / Σ weight (integer arithmetic only: the same symbols on
// every standard library).
struct Sampler {
  std::vector<std::uint64_t> cdf;
  explicit Sampler(const std::vector<std::uint64_t>& weight) {
    std::uint64_t s = 0;
    for (std::uint64_t w : weight) cdf.push_back(s += w);
  }
  std::uint8_t operator()(std::mt19937_64& rng) const {
    const std::uint64_t x = rng() % cdf.back();
    return static_cast<std::uint8_t>(std::upper_bound(cdf.begin(), cdf.end(), x) - cdf.begin());
  }
};

// A bell over all 256 values (every value has a non-zero weight: tables are large).
std::vector<std::uint64_t> bell(int center, int spread) {
  std::vector<std::uint64_t> w(256);
  for (int v = 0; v < 256; ++v) {
    const std::uint64_t d = static_cast<std::uint64_t>((v - center) * (v - center));
    w[v] = 1 + 1000000 / (1 + d / static_cast<std::uint64_t>(spread));
  }
  return w;
}

// `groups` contexts in runs of `inner` symbols; context c draws from dists[c % dists.size()].
struct Syms {
  std::vector<std::uint8_t> sym;
  ContextMap ctx;
  SymbolSpan span() const { return {sym.data(), sym.size(), 8, 0, ctx}; }
  SymbolSpan span(std::size_t first, std::size_t n) const { return {sym.data() + first, n, 8, first, ctx}; }
};

Syms mixture(std::uint32_t groups, std::uint64_t inner, std::size_t per_context, const std::vector<Sampler>& dists,
               std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Syms t;
  t.ctx = {inner, groups};
  t.sym.resize(groups * per_context);
  for (std::size_t i = 0; i < t.sym.size(); ++i) t.sym[i] = dists[t.ctx.at(i) % dists.size()](rng);
  return t;
}

std::vector<Sampler> three_dists() { return {Sampler(bell(30, 40)), Sampler(bell(128, 400)), Sampler(bell(220, 8))}; }

// Params and payload bytes of the whole tensor in one chunk, checking the round trip on the way.
struct Sizes {
  std::size_t params = 0, payload = 0;
  std::size_t total() const { return params + payload; }
};
Sizes coded_size(const std::shared_ptr<const RansTables>& tables, const Syms& t) {
  auto enc = make_rans_encoder_with_tables(tables);
  REQUIRE(enc.ok());
  std::vector<std::uint8_t> payload;
  REQUIRE(enc->encoder->encode(t.span(), payload).ok());
  auto dec = make_rans_decoder(tables->serialized(), 8, t.ctx);
  REQUIRE_MESSAGE(dec.ok(), dec.status().to_string());
  std::vector<std::uint8_t> out(t.sym.size());
  REQUIRE((*dec)->decode(payload, {out.data(), out.size(), 8, 0, t.ctx}).ok());
  CHECK(out == t.sym);
  return {tables->serialized_size(), payload.size()};
}

}  // namespace

TEST_CASE("rans grouping: contexts from three distributions share three tables") {
  const Syms t = mixture(48, 100, 4000, three_dists(), 11);
  auto built = build_rans_tables(RansHistograms::of(t.span()));
  REQUIRE(built.ok());
  REQUIRE(built->tables.size() == 3);
  REQUIRE(built->context_table.size() == 48);
  for (std::uint32_t a = 0; a < 48; ++a)
    for (std::uint32_t b = 0; b < 48; ++b) {
      CAPTURE(a); CAPTURE(b);
      CHECK((built->context_table[a] == built->context_table[b]) == (a % 3 == b % 3));
    }
  // Serialized with an explicit map (mode 2): precision, T = 3, mode 2, 48 entries of 2 bits.
  const auto params = built->serialized();
  REQUIRE(params.size() > 3 + 12);
  CHECK(params[1] == 3);
  CHECK(params[2] == 2);
  CHECK(built->validate(48).ok());
}

TEST_CASE("rans grouping: coded size below one table per context and one shared table") {
  const Syms t = mixture(48, 100, 4000, three_dists(), 12);
  const RansHistograms h = RansHistograms::of(t.span());
  auto grouped = build_rans_tables(h);
  RansModelOptions per_context_only;
  per_context_only.allow_sharing = false;
  auto per_context = build_rans_tables(h, per_context_only);
  RansHistograms all_in_one;
  all_in_one.bits = 8;
  all_in_one.counts.assign(1, std::vector<std::uint64_t>(256, 0));
  for (const auto& row : h.counts)
    for (std::size_t v = 0; v < row.size(); ++v) all_in_one.counts[0][v] += row[v];
  auto shared = build_rans_tables(all_in_one);
  REQUIRE(grouped.ok());
  REQUIRE(per_context.ok());
  REQUIRE(shared.ok());
  CHECK(grouped->tables.size() == 3);
  CHECK(per_context->tables.size() == 48);
  REQUIRE(shared->tables.size() == 1);
  CHECK(shared->context_table.empty());  // every context uses table 0
  const Sizes g = coded_size(std::make_shared<const RansTables>(std::move(*grouped)), t);
  const Sizes p = coded_size(std::make_shared<const RansTables>(std::move(*per_context)), t);
  const Sizes s = coded_size(std::make_shared<const RansTables>(std::move(*shared)), t);
  CAPTURE(g.params); CAPTURE(g.payload); CAPTURE(p.params); CAPTURE(p.payload); CAPTURE(s.params); CAPTURE(s.payload);
  CHECK(g.total() < p.total());
  CHECK(g.total() < s.total());
  // Why: 3 tables instead of 48, for almost the per-context payload (each table serves contexts
  // of one distribution), while one table for all mixes three distributions.
  CHECK(g.params * 8 < p.params);
  CHECK(g.payload < p.payload + p.payload / 200);
  CHECK(g.total() * 10 < s.total() * 9);
}

TEST_CASE("rans grouping: in-stream round trip through the encoder API, coders 2 and 4, chunked") {
  const Syms t = mixture(48, 37, 3000, three_dists(), 13);  // runs of 37: rounds straddle contexts
  for (int wide = 0; wide < 2; ++wide) {
    CoderConfig config;
    config.rans_lanes = 64;
    auto setup = wide ? make_rans_wide_encoder(t.span(), config) : make_rans_encoder(t.span(), config);
    REQUIRE(setup.ok());
    // The params carry the explicit map (after coder 4's lane byte).
    const std::size_t off = wide ? 1 : 0;
    REQUIRE(setup->params.size() > off + 3);
    CHECK(setup->params[off + 2] == 2);
    auto dec = wide ? make_rans_wide_decoder(setup->params, 8, t.ctx) : make_rans_decoder(setup->params, 8, t.ctx);
    REQUIRE_MESSAGE(dec.ok(), dec.status().to_string());
    const std::size_t chunk = 40000 + 17;
    for (std::size_t first = 0; first < t.sym.size(); first += chunk) {
      const std::size_t n = std::min(chunk, t.sym.size() - first);
      std::vector<std::uint8_t> payload;
      REQUIRE(setup->encoder->encode(t.span(first, n), payload).ok());
      std::vector<std::uint8_t> out(n);
      REQUIRE((*dec)->decode(payload, {out.data(), n, 8, first, t.ctx}).ok());
      CHECK(std::equal(out.begin(), out.end(), t.sym.begin() + static_cast<std::ptrdiff_t>(first)));
    }
  }
}

TEST_CASE("rans grouping: identical histograms share one table, not groups") {
  std::mt19937_64 rng(14);
  const Sampler d(bell(100, 60));
  std::vector<std::uint8_t> one(3000);
  for (auto& s : one) s = d(rng);
  Syms t;
  t.ctx = {3000, 16};
  for (int c = 0; c < 16; ++c) t.sym.insert(t.sym.end(), one.begin(), one.end());
  auto built = build_rans_tables(RansHistograms::of(t.span()));
  REQUIRE(built.ok());
  CHECK(built->tables.size() == 1);
  CHECK(built->context_table.empty());
  CHECK(built->serialized()[2] == 1);  // map mode 1: shared
}

TEST_CASE("rans grouping: options that rule it out") {
  const Syms t = mixture(48, 100, 4000, three_dists(), 15);
  const RansHistograms h = RansHistograms::of(t.span());
  RansModelOptions o;
  o.allow_sharing = false;  // one table per context, identity map
  auto a = build_rans_tables(h, o);
  REQUIRE(a.ok());
  CHECK(a->tables.size() == 48);
  CHECK(a->serialized()[2] == 0);
  o = {};
  o.count_table_cost = false;  // tables cost nothing (model files): groups cannot pay
  auto b = build_rans_tables(h, o);
  REQUIRE(b.ok());
  CHECK(b->tables.size() == 48);
  o = {};
  o.precision = 10;  // a fixed precision still groups
  auto c = build_rans_tables(h, o);
  REQUIRE(c.ok());
  CHECK(c->precision == 10);
  CHECK(c->tables.size() == 3);
  // Two contexts: no room for 2 ≤ T < groups.
  const Syms two = mixture(2, 100, 4000, three_dists(), 16);
  auto d = build_rans_tables(RansHistograms::of(two.span()));
  REQUIRE(d.ok());
  CHECK(d->tables.size() != 3);
}

TEST_CASE("rans grouping: the same input gives the same bytes, on every SIMD target") {
  // Five distributions over 40 contexts, and three contexts that never occur.
  std::vector<Sampler> dists = three_dists();
  dists.emplace_back(bell(60, 150));
  dists.emplace_back(bell(180, 30));
  Syms t = mixture(43, 2500, 2500, dists, 17);
  t.sym.resize(40 * 2500);  // contexts 40..42 never occur
  auto first = make_rans_encoder(t.span(), {});
  REQUIRE(first.ok());
  std::vector<std::uint8_t> payload;
  REQUIRE(first->encoder->encode(t.span(), payload).ok());
  auto again = make_rans_encoder(t.span(), {});
  REQUIRE(again.ok());
  std::vector<std::uint8_t> payload2;
  REQUIRE(again->encoder->encode(t.span(), payload2).ok());
  CHECK(first->params == again->params);
  CHECK(payload == payload2);
  auto parsed = RansTables::parse(first->params, 8, t.ctx.groups);
  REQUIRE(parsed.ok());
  CHECK(parsed->tables.size() >= 2);
  CHECK(parsed->tables.size() < t.ctx.groups);
  for (std::int64_t target : rans_simd_targets()) {
    INFO("target " << std::string(rans_target_name(target)));
    rans_force_simd_target(target);
    auto other = make_rans_encoder(t.span(), {});
    REQUIRE(other.ok());
    CHECK(other->params == first->params);
  }
  rans_force_simd_target(0);
}

TEST_CASE("rans grouping: group_contexts directly") {
  using namespace rans_detail;
  CHECK(context_map_cost(48, 1) == 0);
  CHECK(context_map_cost(48, 3) == std::uint64_t{96} << kLgFrac);   // 48 · 2 bits
  CHECK(context_map_cost(5, 3) == std::uint64_t{16} << kLgFrac);    // 10 bits → 2 bytes
  const Syms t = mixture(12, 50, 3000, three_dists(), 18);
  const RansHistograms h = RansHistograms::of(t.span());
  SparseRows rows;
  std::vector<std::uint64_t> merged(256, 0), self(12, 0);
  for (std::size_t c = 0; c < 12; ++c) {
    rows.add_row(h.counts[c]);
    for (std::size_t v = 0; v < 256; ++v) merged[v] += h.counts[c][v];
  }
  for (std::size_t c = 0; c < 12; ++c) (void)estimate_row(rows, c, 12, 0, false, &self[c]);
  const ContextGrouping g = group_contexts(rows, 12, merged, 12, 0, self);
  REQUIRE(g.context_table.size() == 12);
  REQUIRE(g.rows.size() == 3);
  // The reported cost is the estimate of its own tables plus the map.
  SparseRows grows;
  for (const auto& r : g.rows) grows.add_row(r);
  std::uint64_t cost = context_map_cost(12, 3);
  for (std::size_t k = 0; k < 3; ++k) cost += estimate_row(grows, k, 12, 0, true);
  CHECK(g.cost == cost);
  // Each table's histogram is the sum of its contexts'.
  for (std::size_t k = 0; k < 3; ++k)
    for (std::size_t v = 0; v < g.rows[k].size(); ++v) {
      std::uint64_t s = 0;
      for (std::size_t c = 0; c < 12; ++c) if (g.context_table[c] == k) s += h.counts[c][v];
      REQUIRE(g.rows[k][v] == s);
    }
  // Values of 1024 and up: not grouped.
  SparseRows wide;
  std::vector<std::uint64_t> wmerged(2048, 0);
  for (std::size_t c = 0; c < 12; ++c) {
    std::vector<std::uint64_t> row(2048, 0);
    row[c * 100] = 5;
    row[2047] = 1;
    wide.add_row(row);
    for (std::size_t v = 0; v < row.size(); ++v) wmerged[v] += row[v];
  }
  CHECK(group_contexts(wide, 12, wmerged, 12, 0, std::vector<std::uint64_t>(12, 0)).context_table.empty());
}

TEST_CASE("rans tables: the per-context lower bound never exceeds the per-context estimates") {
  // build_rans_tables skips a precision for one table per context when this bound reaches the
  // best estimate so far: it must hold for every row shape, count size, escape and precision.
  std::mt19937_64 rng(20261127);
  for (int trial = 0; trial < 400; ++trial) {
    const std::size_t groups = 1 + rng() % 40;
    const std::size_t V = std::size_t{2} << (rng() % 10);
    const int shape = static_cast<int>(rng() % 4);
    rans_detail::SparseRows rows;
    for (std::size_t c = 0; c < groups; ++c) {
      std::vector<std::uint64_t> row(V, 0);
      if (rng() % 8 != 0) {  // else a context without symbols
        const std::size_t nz = 1 + rng() % V;
        for (std::size_t j = 0; j < nz; ++j) {
          const std::uint64_t big = shape == 3 ? (std::uint64_t{1} << (16 + rng() % 24)) : 0;  // counts past 2^16
          row[rng() % V] += shape == 0 ? 1 : shape == 1 ? 1 + rng() % 50 : 1 + rng() % 100000 + big;
        }
        if (shape == 2) row[rng() % V] += 1 + rng() % 10000000;  // one value holds most of the mass
      }
      rows.add_row(row);
    }
    const rans_detail::PerContextBound bound(rows, groups);
    const std::uint64_t esc = rng() % 3 == 0 ? 1 + rng() % 1000 : 0;
    for (int P = 1; P <= kRansMaxPrecision; ++P) {
      // Each part alone: the table bits' bound against the estimates' table bits.
      u128 est_bits = 0;
      bool saturated = false;
      for (std::size_t c = 0; c < groups; ++c) {
        if (!rows.total[c]) { est_bits += static_cast<u128>(40) << rans_detail::kLgFrac; continue; }
        const std::uint64_t with = rans_detail::estimate_row(rows, c, P, esc, true);
        saturated |= with == UINT64_MAX;
        est_bits += with - rans_detail::estimate_row(rows, c, P, esc, false);
      }
      if (!saturated) CHECK(bound.at(P, esc, true) - bound.at(P, esc, false) <= est_bits);
      for (bool table_bits : {false, true}) {
        u128 sum = 0;
        for (std::size_t c = 0; c < groups; ++c)
          sum += rows.total[c] ? rans_detail::estimate_row(rows, c, P, esc, table_bits)
                               : (table_bits ? static_cast<u128>(40) << rans_detail::kLgFrac : 0);
        const u128 lb = bound.at(P, esc, table_bits);
        INFO("trial " << trial << " P " << P << " table bits " << table_bits << " shape " << shape << " esc " << esc << " V " << V << " lb " << static_cast<double>(lb) / (1 << 24) << " sum " << static_cast<double>(sum) / (1 << 24));
        // estimate_row saturates at UINT64_MAX (huge counts): the bound holds up to that.
        CHECK(std::min<u128>(lb, UINT64_MAX) <= sum);
        // Not vacuous (counts below 2^17, where the quantization loss at P ≥ 12 is small): within
        // a factor 2 of the sum.
        if (!table_bits && P >= 12 && esc == 0 && shape != 3) CHECK(static_cast<double>(lb) >= 0.5 * static_cast<double>(sum));
      }
    }
  }
}
