// Tests for codec/entropy/rans*: tables, model building, round trips, kernel identity, hostile
// payloads and params.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <thread>

#include "codec/entropy/rans.hpp"
#include "codec/entropy/rans_internal.hpp"

using namespace ftc;
using namespace ftc::entropy;

namespace {

struct Syms {
  std::vector<std::uint8_t> storage;
  std::size_t count = 0;
  int bits = 8;
  bool wide() const { return bits > 8; }
  std::uint32_t at(std::size_t i) const {
    if (wide()) { std::uint16_t v; std::memcpy(&v, storage.data() + 2 * i, 2); return v; }
    return storage[i];
  }
  void set(std::size_t i, std::uint32_t v) {
    if (wide()) { auto s = static_cast<std::uint16_t>(v); std::memcpy(storage.data() + 2 * i, &s, 2); }
    else storage[i] = static_cast<std::uint8_t>(v);
  }
  SymbolSpan span(std::size_t first, std::size_t n, ContextMap ctx, std::uint64_t base = 0) const {
    return {storage.data() + first * (wide() ? 2 : 1), n, bits, base + first, ctx};
  }
};

Syms make_syms(std::size_t count, int bits) {
  Syms s;
  s.bits = bits;
  s.count = count;
  s.storage.assign(count * (bits > 8 ? 2 : 1), 0);
  return s;
}

// Random per-context distributions: geometric-ish, degenerate, uniform.
Syms random_symbols(std::mt19937_64& rng, std::size_t count, int bits, ContextMap ctx, std::uint64_t first_index,
                    int kind) {
  Syms s = make_syms(count, bits);
  const std::uint32_t alphabet = 1u << bits;
  std::vector<std::uint32_t> center(ctx.groups), spread(ctx.groups);
  for (auto& c : center) c = static_cast<std::uint32_t>(rng() % alphabet);
  for (auto& c : spread) c = 1 + static_cast<std::uint32_t>(rng() % std::max<std::uint32_t>(1, alphabet / 8));
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint32_t c = ctx.at(first_index + i);
    std::uint32_t v;
    switch (kind) {
      case 0: v = static_cast<std::uint32_t>(rng() % alphabet); break;  // uniform
      case 1: v = (rng() % 10000 == 0) ? static_cast<std::uint32_t>(rng() % alphabet) : center[c]; break;  // degenerate
      default: {
        std::geometric_distribution<std::uint32_t> g(1.0 / (1.0 + spread[c]));
        std::uint32_t d = g(rng);
        v = (rng() & 1) ? center[c] + d : center[c] - d;
        v &= alphabet - 1;
      }
    }
    s.set(i, v);
  }
  return s;
}

Status roundtrip_chunks(const ChunkEncoder& enc, const ChunkDecoder& dec, const Syms& s, ContextMap ctx,
                        std::size_t chunk, std::vector<std::uint8_t>* all_bytes = nullptr) {
  for (std::size_t first = 0; first < s.count || first == 0; first += chunk) {
    const std::size_t n = std::min(chunk, s.count - first);
    std::vector<std::uint8_t> payload;
    FTC_RETURN_IF_ERROR(enc.encode(s.span(first, n, ctx), payload));
    REQUIRE(payload.size() <= enc.max_payload(n));
    if (all_bytes) all_bytes->insert(all_bytes->end(), payload.begin(), payload.end());
    Syms out = make_syms(n, s.bits);
    MutableSymbolSpan o{out.storage.data(), n, s.bits, first, ctx};
    FTC_RETURN_IF_ERROR(dec.decode(payload, o));
    for (std::size_t i = 0; i < n; ++i)
      if (out.at(i) != s.at(first + i)) return {StatusCode::internal, "mismatch at " + std::to_string(first + i)};
    if (s.count == 0) break;
  }
  return {};
}

RansTables random_tables(std::mt19937_64& rng, int bits, int precision, std::uint32_t groups, bool escape) {
  RansTables t;
  t.bits = bits;
  t.precision = precision;
  const std::uint32_t ntab = 1 + static_cast<std::uint32_t>(rng() % std::min<std::uint32_t>(groups, 4));
  for (std::uint32_t k = 0; k < ntab; ++k) {
    const std::uint64_t alphabet = std::uint64_t{1} << bits;
    const std::uint64_t total = std::uint64_t{1} << precision;
    std::uint64_t n = 1 + rng() % std::min<std::uint64_t>(alphabet - (escape ? 1 : 0), total - (escape ? 1 : 0));
    std::vector<std::uint64_t> counts(n, 0);
    for (auto& c : counts) c = (rng() % 3 == 0) ? 0 : 1 + rng() % 1000;
    counts.back() = 1 + rng() % 50;
    auto tab = quantize_histogram(counts, precision, escape ? 1 + rng() % 100 : 0);
    REQUIRE(tab.ok());
    t.tables.push_back(*tab);
  }
  if (ntab > 1 || groups > 1) {
    t.context_table.resize(groups);
    for (auto& c : t.context_table) c = static_cast<std::uint32_t>(rng() % ntab);
  }
  if (ntab == 1) t.context_table.clear();
  return t;
}

}  // namespace

// Truncations, bit flips and byte noise of `payload`, `iterations` of them, with the SIMD and the
// scalar kernels: each decodes to in-range symbols or fails as corrupt/truncated.
void check_damaged_payloads(const ChunkDecoder& dec, const std::vector<std::uint8_t>& payload, int iterations,
                            std::size_t count, int bits, ContextMap ctx, std::mt19937_64& rng) {
  for (int k = 0; k < iterations; ++k) {
    std::vector<std::uint8_t> bad = payload;
    const int mode = k % 3;
    if (mode == 0) bad.resize(rng() % bad.size());
    else if (mode == 1) for (int f = 0; f < 1 + k % 4; ++f) bad[rng() % bad.size()] ^= static_cast<std::uint8_t>(1 + rng() % 255);
    else { bad.resize(rng() % (bad.size() + 8)); for (auto& b : bad) if (rng() % 8 == 0) b = static_cast<std::uint8_t>(rng()); }
    for (int kernel = 0; kernel < 2; ++kernel) {
      rans_set_kernel(kernel ? RansKernel::scalar : RansKernel::automatic);
      Syms out = make_syms(count, bits);
      Status st = dec.decode(bad, {out.storage.data(), count, bits, 0, ctx});
      if (st.ok())
        for (std::size_t i = 0; i < count; ++i) REQUIRE(out.at(i) < (1u << bits));
      else
        CHECK((st.code() == StatusCode::corrupt || st.code() == StatusCode::truncated));
    }
    rans_set_kernel(RansKernel::automatic);
  }
}

TEST_CASE("rans: the context cursor's runs match index / inner mod groups; one group is one run") {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 2000; ++trial) {
    const ContextMap m{1 + rng() % 50, static_cast<std::uint32_t>(1 + rng() % 6)};
    const std::uint64_t first = rng() % 100000;
    rans_detail::CtxCursor cur(m, first);
    std::uint64_t at = first;
    for (int hop = 0; hop < 8; ++hop) {
      const std::uint32_t expect = static_cast<std::uint32_t>((at / m.inner) % m.groups);
      REQUIRE(cur.ctx == expect);
      // The run ends where the context may change: at the next multiple of inner, or never.
      if (m.groups == 1) REQUIRE(cur.run_left() >= (std::uint64_t{1} << 62));
      else REQUIRE(cur.run_left() == m.inner - at % m.inner);
      const std::uint64_t n = rng() % 3 == 0 ? cur.run_left() : rng() % (3 * m.inner + 1);
      if (n >= (std::uint64_t{1} << 62)) break;
      cur.advance(n);
      at += n;
    }
  }
  // The per-tensor map through the histogram's run walk counts exactly.
  std::vector<std::uint8_t> sym(1 << 20);
  for (std::size_t i = 0; i < sym.size(); ++i) sym[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 24);
  const RansHistograms h = RansHistograms::of(SymbolSpan{sym.data(), sym.size(), 8, 0, ContextMap{1, 1}});
  REQUIRE(h.counts.size() == 1);
  std::vector<std::uint64_t> naive(256, 0);
  for (std::uint8_t v : sym) ++naive[v];
  CHECK(h.counts[0] == naive);
}

TEST_CASE("rans: in-stream tables escape a thin tail when that is smaller, within 1 in 4096 symbols") {
  // A ReLU-like histogram: a large mass at 0, a geometric body, and 120 values seen once or
  // twice (among them 255, which an escaped table must escape: its index would be n).
  std::vector<std::uint64_t> row(256, 0);
  for (int v = 0; v < 100; ++v) row[v] = static_cast<std::uint64_t>(200000.0 * std::pow(0.93, v)) + 1;
  for (int v = 100; v < 256; ++v) row[v] = v % 4 == 0 ? 0 : 1 + v % 2;
  std::uint64_t total = 0, tail = 0;
  for (std::size_t v = 0; v < row.size(); ++v) {
    total += row[v];
    if (v >= 100) tail += row[v];
  }
  REQUIRE(tail <= total / 4096);
  RansHistograms h;
  h.bits = 8;
  h.counts = {row};
  RansModelOptions fixed;
  fixed.precision = 12;
  auto with = build_rans_tables(h, fixed);
  REQUIRE(with.ok());
  REQUIRE(with->validate().ok());
  const RansTable& t = with->tables[0];
  CHECK(t.escape > 0);
  CHECK(t.freq.size() < 256);  // 255 is escaped
  std::uint64_t escaped = 0;
  for (std::size_t v = 0; v < row.size(); ++v)
    if (row[v] && (v >= t.freq.size() || t.freq[v] == 0)) escaped += row[v];
  CHECK(escaped > 0);
  CHECK(escaped <= total / 4096);
  // Exact size (payload at its ideal plus table bytes) below the table that keeps every value.
  auto plain = quantize_histogram(row, 12);
  REQUIRE(plain.ok());
  RansTables all_kept = *with;
  all_kept.tables[0] = *plain;
  const auto bytes = [&](const RansTables& ts) {
    return static_cast<double>(rans_cost_fixed(row, ts.tables[0], 12, 8)) / (8.0 * (1 << 24)) + static_cast<double>(ts.serialized().size());
  };
  CHECK(bytes(*with) < bytes(all_kept) - 20);
  // A tail whose escaping would pay more but exceed the budget (coding speed) stays coded.
  std::vector<std::uint64_t> heavy = row;
  for (int v = 100; v < 256; ++v) heavy[v] = 8;
  std::uint64_t heavy_total = 0;
  for (std::uint64_t c : heavy) heavy_total += c;
  REQUIRE(156 * 8 > heavy_total / 4096);
  RansHistograms hh;
  hh.bits = 8;
  hh.counts = {heavy};
  auto capped = build_rans_tables(hh, fixed);
  REQUIRE(capped.ok());
  std::uint64_t heavy_escaped = 0;
  for (std::size_t v = 0; v < heavy.size(); ++v)
    if (v >= capped->tables[0].freq.size() || capped->tables[0].freq[v] == 0) heavy_escaped += heavy[v];
  CHECK(heavy_escaped <= heavy_total / 4096);
  // Model files name their own escape mass: no tail escaping there.
  RansModelOptions model_file = fixed;
  model_file.count_table_cost = false;
  auto kept = build_rans_tables(h, model_file);
  REQUIRE(kept.ok());
  CHECK(kept->tables[0].escape == 0);
  // A table of under 64 Ki symbols (16 escapable) keeps every value: not searched.
  RansHistograms small;
  small.bits = 8;
  small.counts = {std::vector<std::uint64_t>(256, 0)};
  for (int v = 0; v < 256; ++v) small.counts[0][v] = v < 8 ? 400 : 1;
  auto small_tables = build_rans_tables(small, fixed);
  REQUIRE(small_tables.ok());
  CHECK(small_tables->tables[0].escape == 0);
}

TEST_CASE("rans: quantize_histogram keeps every seen symbol and sums to 2^P") {
  std::mt19937_64 rng(1);
  for (int iter = 0; iter < 200; ++iter) {
    const int p = 1 + static_cast<int>(rng() % 16);
    const std::size_t n = 1 + rng() % 300;
    std::vector<std::uint64_t> c(n);
    for (auto& v : c) v = rng() % 4 == 0 ? 0 : rng() % (iter % 2 ? 5 : 1000000);
    std::size_t k = 0;
    for (auto v : c) k += v != 0;
    auto t = quantize_histogram(c, p);
    if (k > (std::size_t{1} << p)) { CHECK(!t.ok()); continue; }
    REQUIRE(t.ok());
    std::uint64_t sum = t->escape;
    for (std::size_t i = 0; i < t->freq.size(); ++i) {
      sum += t->freq[i];
      CHECK((c[i] == 0) == (t->freq[i] == 0));
    }
    CHECK(sum == (std::uint64_t{1} << p));
  }
}

TEST_CASE("rans: quantized tables come close to the entropy") {
  // Laplacian-ish counts over 256 values: cost at 12..16 bits precision within 0.5% of H.
  std::vector<std::uint64_t> c(256);
  for (int v = 0; v < 256; ++v) c[v] = static_cast<std::uint64_t>(1e6 * std::exp(-std::abs(v - 128) / 6.0)) + (v % 7 == 0);
  double total = 0, h = 0;
  for (auto v : c) total += static_cast<double>(v);
  for (auto v : c) if (v) h -= static_cast<double>(v) * std::log2(static_cast<double>(v) / total);
  auto t = quantize_histogram(c, 14);
  REQUIRE(t.ok());
  const double cost = static_cast<double>(rans_cost_fixed(c, *t, 14, 8)) / 16777216.0;
  CHECK(cost <= h * 1.005);
  CHECK(cost >= h * 0.9999);
}

TEST_CASE("rans: table serialization round-trips") {
  std::mt19937_64 rng(2);
  for (int iter = 0; iter < 300; ++iter) {
    const int bits = 1 + static_cast<int>(rng() % 16);
    const int p = 1 + static_cast<int>(rng() % 16);
    const std::uint32_t groups = 1 + static_cast<std::uint32_t>(rng() % 9);
    const bool esc = (rng() & 1) && (bits > 1 || true);
    if (esc && ((1u << bits) < 2 || (1u << p) < 2)) continue;
    RansTables t = random_tables(rng, bits, p, groups, esc);
    REQUIRE(t.validate(groups).ok());
    auto bytes = t.serialized();
    CHECK(bytes.size() == t.serialized_size());
    CHECK(bytes.size() <= rans_max_params_size(bits, groups));
    auto back = RansTables::parse(bytes, bits, groups);
    REQUIRE_MESSAGE(back.ok(), back.status().to_string());
    CHECK(back->precision == t.precision);
    REQUIRE(back->tables.size() == t.tables.size());
    for (std::size_t k = 0; k < t.tables.size(); ++k) {
      CHECK(back->tables[k].freq == t.tables[k].freq);
      CHECK(back->tables[k].escape == t.tables[k].escape);
    }
    for (std::uint32_t c = 0; c < groups; ++c) CHECK(back->table_of(c) == t.table_of(c));
    // Every strict prefix is rejected; no extension is accepted.
    for (std::size_t cut = 0; cut < bytes.size(); cut += 1 + bytes.size() / 17)
      CHECK(!RansTables::parse(std::span(bytes).first(cut), bits, groups).ok());
    auto longer = bytes;
    longer.push_back(0);
    CHECK(!RansTables::parse(longer, bits, groups).ok());
  }
}

TEST_CASE("rans: in-stream tables round-trip over widths, contexts and chunkings") {
  std::mt19937_64 rng(3);
  for (int iter = 0; iter < 120; ++iter) {
    const int bits = 1 + static_cast<int>(rng() % 16);
    const std::uint32_t groups = 1 + static_cast<std::uint32_t>(rng() % 12);
    const std::uint64_t inner = 1 + rng() % (iter % 3 == 0 ? 3 : 700);
    const ContextMap ctx{inner, groups};
    const std::size_t count = static_cast<std::size_t>(rng() % (iter % 4 == 0 ? 70 : 40000));
    const int kind = static_cast<int>(rng() % 3);
    Syms s = random_symbols(rng, count, bits, ctx, 0, kind);
    CAPTURE(bits); CAPTURE(groups); CAPTURE(inner); CAPTURE(count); CAPTURE(kind);
    auto setup = make_rans_encoder(s.span(0, count, ctx), {});
    REQUIRE_MESSAGE(setup.ok(), setup.status().to_string());
    CHECK(setup->params.size() <= rans_max_params_size(bits, groups));
    auto dec = make_rans_decoder(setup->params, bits, ctx);
    REQUIRE_MESSAGE(dec.ok(), dec.status().to_string());
    const std::size_t chunk = 1 + static_cast<std::size_t>(rng() % (count + 1));
    Status st = roundtrip_chunks(*setup->encoder, **dec, s, ctx, chunk);
    CHECK_MESSAGE(st.ok(), st.to_string());
  }
}

TEST_CASE("rans: alphabets 2 .. 65536, degenerate and frequency-1 tables") {
  std::mt19937_64 rng(4);
  for (int bits = 1; bits <= 16; ++bits) {
    for (int kind = 0; kind < 3; ++kind) {
      const ContextMap ctx{1, 1};
      const std::size_t count = 5000 + static_cast<std::size_t>(rng() % 3000);
      Syms s = random_symbols(rng, count, bits, ctx, 0, kind);
      for (int p : {bits < 16 ? bits + 0 : 16, 16}) {
        RansHistograms h = RansHistograms::of(s.span(0, count, ctx));
        RansModelOptions o;
        o.precision = p;
        auto t = build_rans_tables(h, o);
        if (!t.ok()) continue;  // more distinct symbols than slots
        auto tables = std::make_shared<const RansTables>(std::move(*t));
        auto enc = make_rans_encoder_with_tables(tables);
        auto dec = make_rans_decoder_with_tables(tables, ctx);
        REQUIRE(enc.ok());
        REQUIRE(dec.ok());
        CHECK(enc->params.empty());
        Status st = roundtrip_chunks(*enc->encoder, **dec, s, ctx, count);
        CHECK_MESSAGE(st.ok(), st.to_string());
      }
    }
  }
  // All 65536 values, each frequency 1 at 16-bit precision.
  Syms s = make_syms(65536 * 2, 16);
  for (std::size_t i = 0; i < s.count; ++i) s.set(i, static_cast<std::uint32_t>((i * 40503u) & 0xFFFF));
  auto setup = make_rans_encoder(s.span(0, s.count, {}), {});
  REQUIRE(setup.ok());
  auto dec = make_rans_decoder(setup->params, 16, {});
  REQUIRE(dec.ok());
  CHECK(roundtrip_chunks(*setup->encoder, **dec, s, {}, s.count).ok());
}

TEST_CASE("rans: escapes code values outside a model's tables") {
  std::mt19937_64 rng(5);
  for (int iter = 0; iter < 80; ++iter) {
    const int bits = 2 + static_cast<int>(rng() % 15);
    const int p = 2 + static_cast<int>(rng() % 15);
    const std::uint32_t groups = 1 + static_cast<std::uint32_t>(rng() % 5);
    const ContextMap ctx{1 + rng() % 100, groups};
    RansTables t = random_tables(rng, bits, p, groups, true);
    // Symbols: mostly in-table, some anywhere in [0, 2^bits).
    const std::size_t count = static_cast<std::size_t>(rng() % 20000);
    Syms s = make_syms(count, bits);
    for (std::size_t i = 0; i < count; ++i) {
      const RansTable& tab = t.tables[t.table_of(ctx.at(i))];
      std::uint32_t v = static_cast<std::uint32_t>(rng() % (1u << bits));
      if (rng() % 8 && !tab.freq.empty()) v = static_cast<std::uint32_t>(rng() % tab.freq.size());
      s.set(i, v);
    }
    auto tables = std::make_shared<const RansTables>(t);
    auto enc = make_rans_encoder_with_tables(tables);
    auto dec = make_rans_decoder_with_tables(tables, ctx);
    REQUIRE(enc.ok());
    REQUIRE(dec.ok());
    const std::size_t chunk = 1 + rng() % 5000;
    CAPTURE(bits); CAPTURE(p); CAPTURE(groups); CAPTURE(ctx.inner); CAPTURE(chunk); CAPTURE(count);
    Status st = roundtrip_chunks(*enc->encoder, **dec, s, ctx, chunk);
    CHECK_MESSAGE(st.ok(), st.to_string());
  }
  // Without an escape, a value with no frequency is the caller's error.
  RansTables t;
  t.bits = 8;
  t.precision = 4;
  t.tables.push_back({{8, 8}, 0});
  auto enc = make_rans_encoder_with_tables(std::make_shared<const RansTables>(t));
  REQUIRE(enc.ok());
  std::uint8_t sym[3] = {0, 1, 2};
  std::vector<std::uint8_t> out;
  CHECK(enc->encoder->encode({sym, 3, 8, 0, {}}, out).code() == StatusCode::invalid_argument);
}

TEST_CASE("rans: a symbol wider than its bit width is refused by every kernel and lookup") {
  // 4-bit tables with an escape; one symbol of 200 in 8-bit storage, in a long run (the
  // one-table and periodic SIMD kernels) and at the end of a partial round (the general path).
  std::mt19937_64 rng(41);
  for (std::uint32_t lanes : {32u, 64u, 128u}) {
    for (std::uint32_t groups : {1u, 3u}) {
      const ContextMap ctx{1024, groups};
      auto tables = std::make_shared<const RansTables>(random_tables(rng, 4, 10, groups, true));
      auto enc = make_rans_encoder_with_tables(tables, lanes);
      REQUIRE(enc.ok());
      for (std::size_t at : {std::size_t{700}, std::size_t{2500}, std::size_t{4099}}) {
        std::vector<std::uint8_t> sym(4100);
        for (auto& v : sym) v = static_cast<std::uint8_t>(rng() % 16);
        sym[at] = 200;
        for (RansKernel kernel : {RansKernel::scalar, RansKernel::automatic}) {
          for (RansLookup lookup : {RansLookup::gather, RansLookup::loads}) {
            CAPTURE(lanes); CAPTURE(groups); CAPTURE(at); CAPTURE(static_cast<int>(kernel)); CAPTURE(static_cast<int>(lookup));
            rans_set_kernel(kernel);
            rans_set_lookup(lookup);
            std::vector<std::uint8_t> out;
            CHECK(enc->encoder->encode({sym.data(), sym.size(), 4, 0, ctx}, out).code() == StatusCode::invalid_argument);
          }
        }
      }
    }
  }
  rans_set_kernel(RansKernel::automatic);
  rans_set_lookup(RansLookup::automatic);
}

TEST_CASE("rans: scalar and every SIMD target write and read identical bytes") {
  std::mt19937_64 rng(6);
  const auto targets = rans_simd_targets();
  REQUIRE(!targets.empty());
  for (int iter = 0; iter < 24; ++iter) {
    const int bits = iter % 2 ? 8 : 1 + static_cast<int>(rng() % 16);
    const std::uint32_t groups = 1 + static_cast<std::uint32_t>(rng() % 6);
    const ContextMap ctx{iter % 3 ? 4096 : 1 + rng() % 50, groups};
    const std::size_t count = 1000 + static_cast<std::size_t>(rng() % 100000);
    Syms s = random_symbols(rng, count, bits, ctx, 0, static_cast<int>(rng() % 3));
    std::shared_ptr<const RansTables> tables;
    if (iter % 4 == 3 && bits > 1) {
      tables = std::make_shared<const RansTables>(random_tables(rng, bits, 1 + static_cast<int>(rng() % 16), groups, true));
    } else {
      auto t = build_rans_tables(RansHistograms::of(s.span(0, count, ctx)));
      REQUIRE(t.ok());
      tables = std::make_shared<const RansTables>(std::move(*t));
    }
    auto enc = make_rans_encoder_with_tables(tables);
    auto dec = make_rans_decoder_with_tables(tables, ctx);
    REQUIRE(enc.ok());
    REQUIRE(dec.ok());
    rans_set_kernel(RansKernel::scalar);
    std::vector<std::uint8_t> ref;
    REQUIRE(roundtrip_chunks(*enc->encoder, **dec, s, ctx, count / 2 + 1, &ref).ok());
    rans_set_kernel(RansKernel::automatic);
    for (std::int64_t target : targets) {
      for (RansLookup lookup : {RansLookup::gather, RansLookup::loads}) {
        INFO("target " << std::string(rans_target_name(target))); CAPTURE(static_cast<int>(lookup));
        rans_force_simd_target(target);
        rans_set_lookup(lookup);
        std::vector<std::uint8_t> got;
        Status st = roundtrip_chunks(*enc->encoder, **dec, s, ctx, count / 2 + 1, &got);
        CHECK_MESSAGE(st.ok(), st.to_string());
        CHECK(got == ref);
      }
    }
    rans_force_simd_target(0);
    rans_set_lookup(RansLookup::automatic);
  }
}

TEST_CASE("rans: multi-threaded chunk encoding equals single-threaded") {
  std::mt19937_64 rng(7);
  const ContextMap ctx{1000, 16};
  const std::size_t count = 400000, chunk = 30000;
  Syms s = random_symbols(rng, count, 8, ctx, 0, 2);
  auto setup = make_rans_encoder(s.span(0, count, ctx), {});
  REQUIRE(setup.ok());
  const std::size_t nchunks = (count + chunk - 1) / chunk;
  std::vector<std::vector<std::uint8_t>> single(nchunks), multi(nchunks);
  for (std::size_t c = 0; c < nchunks; ++c)
    REQUIRE(setup->encoder->encode(s.span(c * chunk, std::min(chunk, count - c * chunk), ctx), single[c]).ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (std::size_t c = static_cast<std::size_t>(t); c < nchunks; c += 4)
        (void)setup->encoder->encode(s.span(c * chunk, std::min(chunk, count - c * chunk), ctx), multi[c]);
    });
  for (auto& th : threads) th.join();
  CHECK(single == multi);
}

TEST_CASE("rans: corrupted and truncated payloads fail or decode in-range symbols") {
  std::mt19937_64 rng(8);
  for (int iter = 0; iter < 40; ++iter) {
    const int bits = 1 + static_cast<int>(rng() % 16);
    const ContextMap ctx{1 + rng() % 64, 1 + static_cast<std::uint32_t>(rng() % 4)};
    const std::size_t count = 1 + static_cast<std::size_t>(rng() % 5000);
    Syms s = random_symbols(rng, count, bits, ctx, 0, static_cast<int>(rng() % 3));
    std::shared_ptr<const RansTables> tables;
    if (iter % 2 && bits > 1) {
      tables = std::make_shared<const RansTables>(random_tables(rng, bits, 1 + static_cast<int>(rng() % 16), ctx.groups, true));
    } else {
      auto t = build_rans_tables(RansHistograms::of(s.span(0, count, ctx)));
      REQUIRE(t.ok());
      tables = std::make_shared<const RansTables>(std::move(*t));
    }
    for (std::size_t i = 0; i < count; ++i) {  // keep the symbols codable
      const RansTable& tab = tables->tables[tables->table_of(ctx.at(i))];
      if (!tab.escape && (s.at(i) >= tab.freq.size() || !tab.freq[s.at(i)])) {
        std::uint32_t v = 0;
        while (!tab.freq[v]) ++v;
        s.set(i, v);
      }
    }
    auto enc = make_rans_encoder_with_tables(tables);
    auto dec = make_rans_decoder_with_tables(tables, ctx);
    std::vector<std::uint8_t> payload;
    REQUIRE(enc->encoder->encode(s.span(0, count, ctx), payload).ok());
    check_damaged_payloads(**dec, payload, 60, count, bits, ctx, rng);
  }
}

TEST_CASE("rans: hostile params never crash the table parser") {
  std::mt19937_64 rng(9);
  std::vector<std::uint8_t> good = RansTables{8, 12, {{{4096}, 0}}, {}}.serialized();
  for (int iter = 0; iter < 20000; ++iter) {
    const int bits = 1 + static_cast<int>(rng() % 16);
    const std::uint32_t groups = 1 + static_cast<std::uint32_t>(rng() % 3);
    std::vector<std::uint8_t> b(rng() % 40);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    if (!b.empty() && iter % 2) b[0] = static_cast<std::uint8_t>(1 + rng() % 16);
    auto d = make_rans_decoder(b, bits, {1, groups});
    if (d.ok()) {
      std::vector<std::uint8_t> payload(rng() % 200);
      for (auto& x : payload) x = static_cast<std::uint8_t>(rng());
      std::vector<std::uint16_t> out(100);
      (void)(*d)->decode(payload, {out.data(), 100, bits, 0, {1, groups}});
    }
  }
  // Over the table-size limit: refused before allocating.
  std::vector<std::uint8_t> huge = {16, 0x80, 0x10, 0};  // 2^11 tables at 16-bit precision
  CHECK(make_rans_decoder(huge, 8, {1, 2048}).status().code() == StatusCode::limit_exceeded);
}

// ---- rans-wide (coder 4, format 1.2): 64 and 128 interleaved states ----------------------------

namespace {

std::uint8_t lane_code(std::uint32_t lanes) { return lanes == 128 ? 2 : lanes == 64 ? 1 : 0; }

// Symbols codable by `t` (values without a frequency are moved to one that has one, unless the
// context's table has an escape).
void make_codable(Syms& s, const RansTables& t, ContextMap ctx) {
  for (std::size_t i = 0; i < s.count; ++i) {
    const RansTable& tab = t.tables[t.table_of(ctx.at(i))];
    if (!tab.escape && (s.at(i) >= tab.freq.size() || !tab.freq[s.at(i)])) {
      std::uint32_t v = 0;
      while (!tab.freq[v]) ++v;
      s.set(i, v);
    }
  }
}

}  // namespace

TEST_CASE("rans-wide: lane exponent 0..2 gives 32, 64, 128 lanes; anything else is corrupt") {
  CHECK(*parse_rans_lanes(0) == 32);
  CHECK(*parse_rans_lanes(1) == 64);
  CHECK(*parse_rans_lanes(2) == 128);
  for (int e : {3, 4, 7, 128, 255}) CHECK(parse_rans_lanes(static_cast<std::uint8_t>(e)).status().code() == StatusCode::corrupt);
  const std::vector<std::uint8_t> tables = RansTables{8, 12, {{{4096}, 0}}, {}}.serialized();
  auto with_lane = [&](std::uint8_t e) {
    std::vector<std::uint8_t> p{e};
    p.insert(p.end(), tables.begin(), tables.end());
    return p;
  };
  for (std::uint8_t e : {0, 1, 2}) CHECK(make_rans_wide_decoder(with_lane(e), 8, {}).ok());
  CHECK(make_rans_wide_decoder(with_lane(3), 8, {}).status().code() == StatusCode::corrupt);
  CHECK(make_rans_wide_decoder(with_lane(255), 8, {}).status().code() == StatusCode::corrupt);
  CHECK(make_rans_wide_decoder({}, 8, {}).status().code() == StatusCode::truncated);
  CHECK(make_rans_wide_decoder(std::vector<std::uint8_t>{1}, 8, {}).status().code() == StatusCode::truncated);
  // Coder 2 has no lane byte: its tables start with the precision (12 here), never a lane code.
  CHECK(make_rans_wide_decoder(tables, 8, {}).status().code() == StatusCode::corrupt);
  // The tables behind the lane byte obey every rule of format-rans.md §1.
  auto trailing = with_lane(1);
  trailing.push_back(0);
  CHECK(make_rans_wide_decoder(trailing, 8, {}).status().code() == StatusCode::corrupt);
  // Model-file tables: only 32, 64 or 128 lanes.
  auto shared = std::make_shared<const RansTables>(RansTables{8, 12, {{{4096}, 0}}, {}});
  for (std::uint32_t lanes : {0u, 16u, 48u, 96u, 256u}) {
    CHECK(make_rans_encoder_with_tables(shared, lanes).status().code() == StatusCode::invalid_argument);
    CHECK(make_rans_decoder_with_tables(shared, {}, lanes).status().code() == StatusCode::invalid_argument);
  }
}

TEST_CASE("rans-wide: automatic lanes are 32 below 64 Ki symbols a chunk, 64 below 256 Ki, else 128") {
  CHECK(rans_auto_lanes(0) == 32);
  CHECK(rans_auto_lanes(1000) == 32);
  CHECK(rans_auto_lanes(65535) == 32);
  CHECK(rans_auto_lanes(65536) == 64);
  CHECK(rans_auto_lanes(262143) == 64);
  CHECK(rans_auto_lanes(262144) == 128);
  CHECK(rans_auto_lanes(524288) == 128);
  CHECK(rans_auto_lanes(std::uint64_t{1} << 40) == 128);
}

TEST_CASE("rans-wide: in-stream tables round-trip at 64 and 128 lanes over widths, contexts and chunkings") {
  std::mt19937_64 rng(31);
  for (int iter = 0; iter < 120; ++iter) {
    const std::uint32_t lanes = iter % 2 ? 128 : 64;
    const int bits = 1 + static_cast<int>(rng() % 16);
    const std::uint32_t groups = 1 + static_cast<std::uint32_t>(rng() % 12);
    // Context runs shorter than, around and longer than a round (never a multiple by design).
    const std::uint64_t inner = 1 + rng() % (iter % 3 == 0 ? 3 : iter % 3 == 1 ? 200 : 700);
    const ContextMap ctx{inner, groups};
    const std::size_t count = static_cast<std::size_t>(rng() % (iter % 4 == 0 ? 300 : 40000));
    const int kind = static_cast<int>(rng() % 3);
    Syms s = random_symbols(rng, count, bits, ctx, 0, kind);
    CAPTURE(lanes); CAPTURE(bits); CAPTURE(groups); CAPTURE(inner); CAPTURE(count); CAPTURE(kind);
    CoderConfig cfg;
    cfg.rans_lanes = lanes;
    auto setup = make_rans_wide_encoder(s.span(0, count, ctx), cfg);
    REQUIRE_MESSAGE(setup.ok(), setup.status().to_string());
    // Params: the lane byte, then exactly coder 2's tables for the same symbols.
    auto narrow = make_rans_encoder(s.span(0, count, ctx), {});
    REQUIRE(narrow.ok());
    REQUIRE(setup->params.size() == narrow->params.size() + 1);
    CHECK(setup->params[0] == lane_code(lanes));
    CHECK(std::equal(narrow->params.begin(), narrow->params.end(), setup->params.begin() + 1));
    CHECK(setup->params.size() <= max_params_size(CoderKind::rans_wide, bits, groups));
    auto dec = make_rans_wide_decoder(setup->params, bits, ctx);
    REQUIRE_MESSAGE(dec.ok(), dec.status().to_string());
    // Chunks shorter than the lanes, not multiples of them, and whole.
    const std::size_t chunk = iter % 5 == 0 ? 1 + rng() % lanes : 1 + static_cast<std::size_t>(rng() % (count + 1));
    CAPTURE(chunk);
    Status st = roundtrip_chunks(*setup->encoder, **dec, s, ctx, chunk);
    CHECK_MESSAGE(st.ok(), st.to_string());
    // The payload has min(lanes, count) states: 4 bytes each, then whole words; and it is not
    // a coder-2 payload (32 states) once the chunk is longer than 32 symbols.
    if (count > 32) {
      const std::size_t n = std::min<std::size_t>(count, 4 * lanes + 3);
      std::vector<std::uint8_t> payload;
      REQUIRE(setup->encoder->encode(s.span(0, n, ctx), payload).ok());
      CHECK(payload.size() >= 4 * std::min<std::size_t>(lanes, n));
      CHECK((payload.size() - 4 * std::min<std::size_t>(lanes, n)) % 2 == 0);
      std::vector<std::uint8_t> narrow_payload;
      REQUIRE(narrow->encoder->encode(s.span(0, n, ctx), narrow_payload).ok());
      CHECK(payload != narrow_payload);
      auto dec32 = make_rans_decoder(narrow->params, bits, ctx);
      REQUIRE(dec32.ok());
      Syms out = make_syms(n, bits);
      Status st32 = (*dec32)->decode(payload, {out.storage.data(), n, bits, 0, ctx});
      bool same = st32.ok();
      for (std::size_t i = 0; same && i < n; ++i) same = out.at(i) == s.at(i);
      CHECK_FALSE(same);
    }
  }
}

TEST_CASE("rans-wide: 32 lanes through coder 4 write exactly coder 2's payload") {
  std::mt19937_64 rng(32);
  const ContextMap ctx{37, 3};
  Syms s = random_symbols(rng, 20000, 8, ctx, 0, 2);
  CoderConfig cfg;
  cfg.rans_lanes = 32;
  auto wide = make_rans_wide_encoder(s.span(0, s.count, ctx), cfg);
  auto narrow = make_rans_encoder(s.span(0, s.count, ctx), {});
  REQUIRE(wide.ok());
  REQUIRE(narrow.ok());
  CHECK(wide->params[0] == 0);
  for (std::size_t first : {std::size_t{0}, std::size_t{5000}}) {
    std::vector<std::uint8_t> a, b;
    REQUIRE(wide->encoder->encode(s.span(first, 7001, ctx), a).ok());
    REQUIRE(narrow->encoder->encode(s.span(first, 7001, ctx), b).ok());
    CHECK(a == b);
  }
}

TEST_CASE("rans-wide: model-file tables with escapes at 64 and 128 lanes") {
  std::mt19937_64 rng(33);
  for (int iter = 0; iter < 60; ++iter) {
    const std::uint32_t lanes = iter % 2 ? 128 : 64;
    const int bits = 2 + static_cast<int>(rng() % 15);
    const int p = 2 + static_cast<int>(rng() % 15);
    const std::uint32_t groups = 1 + static_cast<std::uint32_t>(rng() % 5);
    const ContextMap ctx{1 + rng() % 300, groups};
    RansTables t = random_tables(rng, bits, p, groups, true);
    const std::size_t count = static_cast<std::size_t>(rng() % 20000);
    Syms s = make_syms(count, bits);
    for (std::size_t i = 0; i < count; ++i) {
      const RansTable& tab = t.tables[t.table_of(ctx.at(i))];
      std::uint32_t v = static_cast<std::uint32_t>(rng() % (1u << bits));
      if (rng() % 8 && !tab.freq.empty()) v = static_cast<std::uint32_t>(rng() % tab.freq.size());
      s.set(i, v);
    }
    auto tables = std::make_shared<const RansTables>(t);
    auto enc = make_rans_encoder_with_tables(tables, lanes);
    auto dec = make_rans_decoder_with_tables(tables, ctx, lanes);
    REQUIRE(enc.ok());
    REQUIRE(dec.ok());
    CHECK(enc->params.empty());
    const std::size_t chunk = iter % 3 == 0 ? 1 + rng() % lanes : 1 + rng() % 5000;
    CAPTURE(lanes); CAPTURE(bits); CAPTURE(p); CAPTURE(groups); CAPTURE(ctx.inner); CAPTURE(chunk); CAPTURE(count);
    Status st = roundtrip_chunks(*enc->encoder, **dec, s, ctx, chunk);
    CHECK_MESSAGE(st.ok(), st.to_string());
    // A decoder for another lane count does not accept the payload as these symbols.
    if (count > lanes) {
      auto other = make_rans_decoder_with_tables(tables, ctx, lanes == 64 ? 128 : 64);
      REQUIRE(other.ok());
      std::vector<std::uint8_t> payload;
      REQUIRE(enc->encoder->encode(s.span(0, count, ctx), payload).ok());
      Syms out = make_syms(count, bits);
      Status so = (*other)->decode(payload, {out.storage.data(), count, bits, 0, ctx});
      bool same = so.ok();
      for (std::size_t i = 0; same && i < count; ++i) same = out.at(i) == s.at(i);
      CHECK_FALSE(same);
    }
  }
}

TEST_CASE("rans-wide: scalar and every SIMD target write and read identical bytes at 64 and 128 lanes") {
  std::mt19937_64 rng(34);
  const auto targets = rans_simd_targets();
  REQUIRE(!targets.empty());
  for (int iter = 0; iter < 32; ++iter) {
    const std::uint32_t lanes = iter % 2 ? 128 : 64;
    const int bits = iter % 4 < 2 ? 8 : 1 + static_cast<int>(rng() % 16);
    const std::uint32_t groups = 1 + static_cast<std::uint32_t>(rng() % 6);
    // Long runs (the one-table kernel) and runs that straddle rounds (per-lane tables).
    const ContextMap ctx{iter % 3 ? 4096 + rng() % 100 : 1 + rng() % 200, groups};
    const std::size_t count = 1000 + static_cast<std::size_t>(rng() % 100000);
    Syms s = random_symbols(rng, count, bits, ctx, 0, static_cast<int>(rng() % 3));
    std::shared_ptr<const RansTables> tables;
    if (iter % 4 == 3 && bits > 1) {
      // Escapes; precision ≤ 12 at 8 bits keeps the fused tables of the SIMD kernel.
      const int p = bits <= 8 && iter % 8 == 3 ? 8 + static_cast<int>(rng() % 5) : 1 + static_cast<int>(rng() % 16);
      tables = std::make_shared<const RansTables>(random_tables(rng, bits, p, groups, true));
    } else {
      auto t = build_rans_tables(RansHistograms::of(s.span(0, count, ctx)));
      REQUIRE(t.ok());
      tables = std::make_shared<const RansTables>(std::move(*t));
    }
    auto enc = make_rans_encoder_with_tables(tables, lanes);
    auto dec = make_rans_decoder_with_tables(tables, ctx, lanes);
    REQUIRE(enc.ok());
    REQUIRE(dec.ok());
    CAPTURE(lanes); CAPTURE(bits); CAPTURE(groups); CAPTURE(ctx.inner); CAPTURE(count);
    // Chunks: about half the tensor (not a multiple of the lanes), and a remainder.
    const std::size_t chunk = count / 2 + 1 + (iter % 3);
    rans_set_kernel(RansKernel::scalar);
    std::vector<std::uint8_t> ref;
    REQUIRE(roundtrip_chunks(*enc->encoder, **dec, s, ctx, chunk, &ref).ok());
    rans_set_kernel(RansKernel::automatic);
    for (std::int64_t target : targets) {
      for (RansLookup lookup : {RansLookup::gather, RansLookup::loads}) {
        INFO("target " << std::string(rans_target_name(target))); CAPTURE(static_cast<int>(lookup));
        rans_force_simd_target(target);
        rans_set_lookup(lookup);
        std::vector<std::uint8_t> got;
        Status st = roundtrip_chunks(*enc->encoder, **dec, s, ctx, chunk, &got);
        CHECK_MESSAGE(st.ok(), st.to_string());
        CHECK(got == ref);
      }
    }
    rans_force_simd_target(0);
    rans_set_lookup(RansLookup::automatic);
  }
}

TEST_CASE("rans-wide: corrupted and truncated payloads fail or decode in-range symbols") {
  std::mt19937_64 rng(35);
  for (int iter = 0; iter < 30; ++iter) {
    const std::uint32_t lanes = iter % 2 ? 128 : 64;
    const int bits = 1 + static_cast<int>(rng() % 16);
    const ContextMap ctx{1 + rng() % 150, 1 + static_cast<std::uint32_t>(rng() % 4)};
    const std::size_t count = 1 + static_cast<std::size_t>(rng() % 6000);
    Syms s = random_symbols(rng, count, bits, ctx, 0, static_cast<int>(rng() % 3));
    std::shared_ptr<const RansTables> tables;
    if (iter % 3 == 0 && bits > 1) {
      tables = std::make_shared<const RansTables>(random_tables(rng, bits, 1 + static_cast<int>(rng() % 16), ctx.groups, true));
    } else {
      auto t = build_rans_tables(RansHistograms::of(s.span(0, count, ctx)));
      REQUIRE(t.ok());
      tables = std::make_shared<const RansTables>(std::move(*t));
    }
    make_codable(s, *tables, ctx);
    auto enc = make_rans_encoder_with_tables(tables, lanes);
    auto dec = make_rans_decoder_with_tables(tables, ctx, lanes);
    REQUIRE(enc.ok());
    REQUIRE(dec.ok());
    std::vector<std::uint8_t> payload;
    REQUIRE(enc->encoder->encode(s.span(0, count, ctx), payload).ok());
    // Cutting the payload inside the states is `truncated`.
    const std::size_t states = std::min<std::size_t>(lanes, count);
    CHECK((*dec)->decode(std::span(payload).first(4 * states - 1), {make_syms(count, bits).storage.data(), count, bits, 0, ctx}).code() ==
          StatusCode::truncated);
    check_damaged_payloads(**dec, payload, 45, count, bits, ctx, rng);
  }
}

TEST_CASE("rans-wide: hostile params never crash the parser") {
  std::mt19937_64 rng(36);
  for (int iter = 0; iter < 10000; ++iter) {
    const int bits = 1 + static_cast<int>(rng() % 16);
    const std::uint32_t groups = 1 + static_cast<std::uint32_t>(rng() % 3);
    std::vector<std::uint8_t> b(rng() % 40);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    if (b.size() > 1 && iter % 2) { b[0] = static_cast<std::uint8_t>(rng() % 3); b[1] = static_cast<std::uint8_t>(1 + rng() % 16); }
    auto d = make_rans_wide_decoder(b, bits, {1, groups});
    if (!b.empty() && b[0] > 2) CHECK(d.status().code() == StatusCode::corrupt);
    if (d.ok()) {
      std::vector<std::uint8_t> payload(rng() % 700);
      for (auto& x : payload) x = static_cast<std::uint8_t>(rng());
      std::vector<std::uint16_t> out(300);
      const Status st = (*d)->decode(payload, {out.data(), 300, bits, 0, {1, groups}});
      if (!st.ok()) CHECK((st.code() == StatusCode::corrupt || st.code() == StatusCode::truncated));
    }
  }
}
