// See coders_bench.hpp. Timings are medians of repeated runs (the machine is shared).
#include "bench/coders_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <thread>
#include <utility>

#include <htscodecs/rANS_static4x16.h>
#include <zstd.h>

#include "codec/entropy/rans.hpp"

namespace ftc::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Median over `reps` runs of the time of one call, each run repeating the call for at least
// `min_s` seconds.
double median_seconds(const std::function<void()>& op, int reps, double min_s) {
  std::vector<double> t;
  for (int r = 0; r < std::max(reps, 1); ++r) {
    int n = 0;
    const auto start = Clock::now();
    double el = 0;
    do {
      op();
      ++n;
      el = std::chrono::duration<double>(Clock::now() - start).count();
    } while (el < min_s);
    t.push_back(el / n);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Symbols as bytes: uint8 as is; uint16 as two byte planes (low bytes, then high bytes), the
// layout ftc's zstd coder uses.
std::vector<std::uint8_t> planes_of(const SymbolSpan& s) {
  if (s.bits <= 8) {
    const auto* p = static_cast<const std::uint8_t*>(s.data);
    return {p, p + s.count};
  }
  std::vector<std::uint8_t> out(2 * s.count);
  const auto* p = static_cast<const std::uint16_t*>(s.data);
  for (std::size_t i = 0; i < s.count; ++i) {
    out[i] = static_cast<std::uint8_t>(p[i]);
    out[s.count + i] = static_cast<std::uint8_t>(p[i] >> 8);
  }
  return out;
}

void unplane(const std::vector<std::uint8_t>& planes, int bits, std::size_t count, std::vector<std::uint8_t>& out) {
  if (bits <= 8) { out = planes; return; }
  out.resize(2 * count);
  for (std::size_t i = 0; i < count; ++i) {
    out[2 * i] = planes[i];
    out[2 * i + 1] = planes[count + i];
  }
}

void run_parallel(std::size_t jobs, int threads, const std::function<void(std::size_t)>& job) {
  if (threads <= 1 || jobs <= 1) {
    for (std::size_t j = 0; j < jobs; ++j) job(j);
    return;
  }
  std::vector<std::thread> pool;
  const std::size_t t = std::min<std::size_t>(static_cast<std::size_t>(threads), jobs);
  for (std::size_t w = 0; w < t; ++w)
    pool.emplace_back([&, w] { for (std::size_t j = w; j < jobs; j += t) job(j); });
  for (auto& th : pool) th.join();
}

// CodersReport::rans_model_bytes and rans_per_context_bytes for the ftc-rans stream whose params
// are `params` (coder 4: a lane byte first).
template <class SpanOf>
Status rans_model_figures(const SymbolSpan& all, const entropy::RansHistograms& h,
                          std::span<const std::uint8_t> params, bool lane_byte, std::uint32_t lanes, std::size_t nchunks,
                          const SpanOf& span_of, CodersReport& rep) {
  const auto groups = static_cast<std::uint32_t>(h.counts.size());
  FTC_ASSIGN_OR_RETURN(entropy::RansTables own, entropy::RansTables::parse(params.subspan(lane_byte ? 1 : 0), all.bits, groups));
  double fixed = 0;  // 1/2^24 bit
  for (std::uint32_t c = 0; c < groups; ++c)
    fixed += static_cast<double>(entropy::rans_cost_fixed(h.counts[c], own.tables[own.table_of(c)], own.precision, own.bits));
  rep.rans_model_bytes = fixed / (8.0 * (1 << 24));
  entropy::RansModelOptions per_context;
  per_context.allow_sharing = false;
  FTC_ASSIGN_OR_RETURN(entropy::RansTables forced, entropy::build_rans_tables(h, per_context));
  auto tables = std::make_shared<const entropy::RansTables>(std::move(forced));
  rep.rans_per_context_table_bytes = tables->serialized().size() + (lane_byte ? 1 : 0);
  rep.rans_per_context_bytes = rep.rans_per_context_table_bytes;
  FTC_ASSIGN_OR_RETURN(entropy::EncoderSetup setup, entropy::make_rans_encoder_with_tables(tables, lanes));
  for (std::size_t c = 0; c < nchunks; ++c) {
    std::vector<std::uint8_t> payload;
    FTC_RETURN_IF_ERROR(setup.encoder->encode(span_of(c), payload));
    rep.rans_per_context_bytes += payload.size();
  }
  return {};
}

}  // namespace

const std::vector<std::string>& coder_row_names() {
  static const std::vector<std::string> names{"ftc-rans",          "ftc-adaptive",     "zstd-1", "zstd-3", "zstd-19",
                                              "htscodecs-rans-o0", "htscodecs-rans-o1"};
  return names;
}

bool CodersOptions::wants(const std::string& row) const {
  return only.empty() || std::find(only.begin(), only.end(), row) != only.end();
}

Result<CodersReport> bench_coders(const SymbolSpan& all, const CodersOptions& o) {
  CodersReport rep;
  rep.symbols = all.count;
  rep.bits = all.bits;
  rep.contexts = all.ctx.groups;
  rep.symbol_bytes = all.count * all.symbol_bytes();
  rep.threads = o.threads;
  const double mb = static_cast<double>(rep.symbol_bytes) / 1e6;
  const std::vector<std::uint8_t> original(static_cast<const std::uint8_t*>(all.data),
                                           static_cast<const std::uint8_t*>(all.data) + rep.symbol_bytes);
  const entropy::RansHistograms hist = entropy::RansHistograms::of(all);  // the entropy row, ftc-rans' model figures

  // --- ftc-rans, ftc-adaptive: the codec's own chunked coders, as `ftc encode` runs them ----------
  struct KernelsReset {  // on every way out: the kernels ftc encode would pick
    ~KernelsReset() {
      entropy::rans_set_kernel(entropy::RansKernel::automatic);
      entropy::rans_force_simd_target(0);
    }
  };
  std::optional<KernelsReset> kernels_reset;
  kernels_reset.emplace();
  entropy::rans_set_kernel(o.scalar_kernels ? entropy::RansKernel::scalar : entropy::RansKernel::automatic);
  {
    const std::vector<std::int64_t> targets = entropy::rans_simd_targets();  // best first
    rep.rans_kernels = o.scalar_kernels ? "scalar" : targets.empty() ? "?" : entropy::rans_target_name(targets.front());
    if (!o.simd_target.empty() && !o.scalar_kernels) {
      std::string names;
      std::int64_t found = 0;
      for (std::int64_t t : targets) {
        names += std::string(names.empty() ? "" : ", ") + entropy::rans_target_name(t);
        if (o.simd_target == entropy::rans_target_name(t)) found = t;
      }
      if (!found)
        return Status{StatusCode::invalid_argument, "SIMD target " + o.simd_target + " is not one this CPU runs (" + names + ")"};
      entropy::rans_force_simd_target(found);
      rep.rans_kernels = o.simd_target;
    }
  }
  for (CoderKind kind : {CoderKind::rans, CoderKind::adaptive}) {
    const std::string name = std::string("ftc-") + coder_name(kind);
    if (!o.wants(name)) continue;
    entropy::CoderConfig config = o.coder_config;
    const std::uint64_t chunk = o.chunk_elements ? o.chunk_elements : (all.count <= (1u << 20) ? std::max<std::uint64_t>(all.count, 1) : (1u << 20));
    // As ftc encode: 32 states (coder 2) or, for large chunks, 64/128 (coder 4, rans-wide).
    CoderKind coder = kind;
    if (kind == CoderKind::rans) {
      config.rans_lanes = o.rans_lanes ? static_cast<std::uint32_t>(o.rans_lanes) : entropy::rans_auto_lanes(std::min<std::uint64_t>(chunk, all.count));
      if (config.rans_lanes != static_cast<std::uint32_t>(entropy::kRansLanes)) coder = CoderKind::rans_wide;
    }
    const std::size_t nchunks = static_cast<std::size_t>((all.count + chunk - 1) / chunk);
    const std::size_t sb = all.symbol_bytes();
    auto span_of = [&](std::size_t c) {
      SymbolSpan s = all;
      s.first_index = c * chunk;
      s.count = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, all.count - c * chunk));
      s.data = static_cast<const std::uint8_t*>(all.data) + s.first_index * sb;
      return s;
    };
    std::vector<std::vector<std::uint8_t>> payloads(nchunks);
    std::vector<std::uint8_t> params;
    Status err;
    auto encode = [&] {
      auto setup = entropy::make_encoder(coder, all, config);
      if (!setup.ok()) { err = setup.status(); return; }
      params = setup->params;
      run_parallel(nchunks, o.threads, [&](std::size_t c) {
        payloads[c].clear();
        Status st = setup->encoder->encode(span_of(c), payloads[c]);
        if (!st.ok()) err = st;
      });
    };
    encode();
    FTC_RETURN_IF_ERROR(err);
    std::vector<std::uint8_t> decoded(rep.symbol_bytes);
    auto decode = [&] {
      auto dec = entropy::make_decoder(coder, params, all.bits, all.ctx);
      if (!dec.ok()) { err = dec.status(); return; }
      run_parallel(nchunks, o.threads, [&](std::size_t c) {
        SymbolSpan s = span_of(c);
        MutableSymbolSpan out{decoded.data() + s.first_index * sb, s.count, s.bits, s.first_index, s.ctx};
        Status st = (*dec)->decode(payloads[c], out);
        if (!st.ok()) err = st;
      });
    };
    decode();
    FTC_RETURN_IF_ERROR(err);
    CoderRow row;
    row.name = name;
    row.roundtrip_ok = decoded == original;
    row.encode_MBps = mb / median_seconds(encode, o.repetitions, o.min_seconds);
    row.decode_MBps = mb / median_seconds(decode, o.repetitions, o.min_seconds);
    row.table_bytes = params.size();
    row.bytes = params.size();
    for (auto& p : payloads) row.bytes += p.size();
    row.note = std::to_string(nchunks) + " chunk(s)";
    if (kind == CoderKind::rans) row.note += ", " + std::to_string(config.rans_lanes) + " lanes";
    if (kind == CoderKind::rans) {
      rep.entropy_table_bytes = params.size();
      FTC_RETURN_IF_ERROR(rans_model_figures(all, hist, params, coder == CoderKind::rans_wide, config.rans_lanes, nchunks,
                                             span_of, rep));
    }
    rep.rows.push_back(row);
  }
  kernels_reset.reset();

  const std::vector<std::uint8_t> planes = planes_of(all);
  std::vector<std::uint8_t> back;

  // --- zstd ----------------------------------------------------------------------------------
  for (int level : {1, 3, 19}) {
    if (!o.wants("zstd-" + std::to_string(level))) continue;
    std::vector<std::uint8_t> comp(ZSTD_compressBound(planes.size()));
    std::size_t csize = 0;
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_DCtx* dctx = ZSTD_createDCtx();
    auto encode = [&] { csize = ZSTD_compressCCtx(cctx, comp.data(), comp.size(), planes.data(), planes.size(), level); };
    std::vector<std::uint8_t> dplanes(planes.size());
    auto decode = [&] {
      ZSTD_decompressDCtx(dctx, dplanes.data(), dplanes.size(), comp.data(), csize);
      unplane(dplanes, all.bits, all.count, back);
    };
    encode();
    CoderRow row;
    row.name = "zstd-" + std::to_string(level);
    if (ZSTD_isError(csize)) return Status{StatusCode::internal, "zstd failed"};
    decode();
    row.roundtrip_ok = back == original;
    const double level_reps = level >= 19 ? std::min(o.repetitions, 3) : o.repetitions;
    row.encode_MBps = mb / median_seconds(encode, static_cast<int>(level_reps), level >= 19 ? 0.0 : o.min_seconds);
    row.decode_MBps = mb / median_seconds(decode, o.repetitions, o.min_seconds);
    row.bytes = csize;
    row.note = "single-threaded";
    rep.rows.push_back(row);
    ZSTD_freeCCtx(cctx);
    ZSTD_freeDCtx(dctx);
  }

  // --- htscodecs rANS 4x16, 32-way (SIMD as the CPU allows) ---------------------------------
  // With --scalar or --simd-target, htscodecs is held to the same instruction set (its
  // rans_set_cpu test interface: SSE4, AVX2, AVX-512 or NEON kernels), so the rows compare like
  // with like; otherwise it picks its best, as ftc-rans does.
  const auto hts_cpu = [&]() -> std::pair<int, const char*> {
    if (!o.scalar_kernels && o.simd_target.empty()) return {0xFFFF, "its best SIMD"};
    const std::string& k = rep.rans_kernels;
    if (k == "SSE4") return {RANS_CPU_ENC_SSE4 | RANS_CPU_DEC_SSE4, "SSE4"};
    if (k == "AVX2") return {RANS_CPU_ENC_SSE4 | RANS_CPU_DEC_SSE4 | RANS_CPU_ENC_AVX2 | RANS_CPU_DEC_AVX2, "up to AVX2"};
    if (k.rfind("AVX3", 0) == 0) return {0xFFFF, "up to AVX-512"};
    if (k == "NEON" || k.rfind("SVE", 0) == 0) return {RANS_CPU_ENC_NEON | RANS_CPU_DEC_NEON, "NEON"};
    return {0, "scalar"};  // scalar, SSSE3, EMU128, SCALAR
  }();
  rans_set_cpu(hts_cpu.first);
  struct HtsCpuReset {
    ~HtsCpuReset() { rans_set_cpu(0xFFFF); }
  } hts_cpu_reset;
  for (int order : {0, 1}) {
    if (!o.wants("htscodecs-rans-o" + std::to_string(order))) continue;
    CoderRow row;
    row.name = "htscodecs-rans-o" + std::to_string(order);
    if (planes.size() > 0xFFFFFFF0u) { row.note = "input too large"; rep.rows.push_back(row); continue; }
    const unsigned in_size = static_cast<unsigned>(planes.size());
    const int flags = order | RANS_ORDER_X32;
    std::vector<std::uint8_t> comp(rans_compress_bound_4x16(in_size, flags));
    unsigned csize = 0;
    auto* in = const_cast<unsigned char*>(planes.data());
    auto encode = [&] {
      csize = static_cast<unsigned>(comp.size());
      rans_compress_to_4x16(in, in_size, comp.data(), &csize, flags);
    };
    std::vector<std::uint8_t> dplanes(planes.size());
    auto decode = [&] {
      unsigned osize = in_size;
      rans_uncompress_to_4x16(comp.data(), csize, dplanes.data(), &osize);
      unplane(dplanes, all.bits, all.count, back);
    };
    encode();
    if (csize == 0) return Status{StatusCode::internal, "htscodecs rans failed"};
    decode();
    row.roundtrip_ok = back == original;
    row.encode_MBps = mb / median_seconds(encode, o.repetitions, o.min_seconds);
    row.decode_MBps = mb / median_seconds(decode, o.repetitions, o.min_seconds);
    row.bytes = csize;
    row.note = std::string("X32, single-threaded, ") + hts_cpu.second;
    rep.rows.push_back(row);
  }

  // --- ideal per-context static entropy -----------------------------------------------------
  {
    double bits = 0;
    for (const auto& row : hist.counts) {
      double n = 0;
      for (auto c : row) n += static_cast<double>(c);
      for (auto c : row)
        if (c) bits += static_cast<double>(c) * std::log2(n / static_cast<double>(c));
    }
    rep.entropy_bits_per_symbol = all.count ? bits / static_cast<double>(all.count) : 0;
    CoderRow row;
    row.name = "entropy";
    row.bits_per_symbol = rep.entropy_bits_per_symbol;
    row.bytes = static_cast<std::uint64_t>(std::ceil(bits / 8));
    row.table_bytes = rep.entropy_table_bytes;
    row.note = "payload lower bound; table_bytes = ftc-rans in-stream tables, not included";
    rep.rows.push_back(row);
  }
  for (auto& r : rep.rows)
    if (r.name != "entropy") r.bits_per_symbol = all.count ? 8.0 * static_cast<double>(r.bytes) / static_cast<double>(all.count) : 0;
  return rep;
}

std::string to_json(const CodersReport& r) {
  std::string s;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"symbols\": %llu, \"bits\": %d, \"contexts\": %u, \"symbol_bytes\": %llu, \"threads\": %d, "
                "\"entropy_bits_per_symbol\": %.6f, \"entropy_table_bytes\": %llu, \"rans_model_bytes\": %.1f, "
                "\"rans_per_context_bytes\": %llu, \"rans_per_context_table_bytes\": %llu, \"rans_kernels\": \"%s\", "
                "\"coders\": [",
                static_cast<unsigned long long>(r.symbols), r.bits, r.contexts,
                static_cast<unsigned long long>(r.symbol_bytes), r.threads, r.entropy_bits_per_symbol,
                static_cast<unsigned long long>(r.entropy_table_bytes), r.rans_model_bytes,
                static_cast<unsigned long long>(r.rans_per_context_bytes),
                static_cast<unsigned long long>(r.rans_per_context_table_bytes), r.rans_kernels.c_str());
  s += buf;
  for (std::size_t i = 0; i < r.rows.size(); ++i) {
    const CoderRow& c = r.rows[i];
    std::snprintf(buf, sizeof buf,
                  "%s\n  {\"name\": \"%s\", \"encode_MBps\": %.1f, \"decode_MBps\": %.1f, \"bits_per_symbol\": %.5f, "
                  "\"bytes\": %llu, \"table_bytes\": %llu, \"roundtrip_ok\": %s, \"note\": \"%s\"}",
                  i ? "," : "", c.name.c_str(), c.encode_MBps, c.decode_MBps, c.bits_per_symbol,
                  static_cast<unsigned long long>(c.bytes), static_cast<unsigned long long>(c.table_bytes),
                  c.roundtrip_ok ? "true" : "false", c.note.c_str());
    s += buf;
  }
  s += "\n]}\n";
  return s;
}

std::string to_text(const CodersReport& r) {
  std::string s;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%llu symbols, %d bits, %u context(s), %d thread(s)\n",
                static_cast<unsigned long long>(r.symbols), r.bits, r.contexts, r.threads);
  s += buf;
  std::snprintf(buf, sizeof buf, "%-20s %12s %12s %10s %12s %8s\n", "coder", "enc MB/s", "dec MB/s", "bits/sym", "bytes", "tables");
  s += buf;
  for (const CoderRow& c : r.rows) {
    std::snprintf(buf, sizeof buf, "%-20s %12.1f %12.1f %10.4f %12llu %8llu%s\n", c.name.c_str(), c.encode_MBps,
                  c.decode_MBps, c.bits_per_symbol, static_cast<unsigned long long>(c.bytes),
                  static_cast<unsigned long long>(c.table_bytes), c.roundtrip_ok ? "" : "  ROUNDTRIP FAILED");
    s += buf;
  }
  if (r.rans_per_context_bytes) {
    std::snprintf(buf, sizeof buf,
                  "ftc-rans apart from its model: ideal payload under its own tables %.0f bytes; "
                  "one table per context forced: %llu bytes (%llu of them tables)\n",
                  r.rans_model_bytes, static_cast<unsigned long long>(r.rans_per_context_bytes),
                  static_cast<unsigned long long>(r.rans_per_context_table_bytes));
    s += buf;
  }
  if (!r.rans_kernels.empty()) s += "ftc-rans kernels: " + r.rans_kernels + "\n";
  return s;
}

}  // namespace ftc::bench
