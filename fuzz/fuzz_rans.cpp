// The rANS chunk decoder alone (codec/entropy/rans_dec.cpp, rans_simd_dec.cpp), coder 2 (rans)
// and coder 4 (rans-wide, 32/64/128 lanes). Input:
//   byte 0: bits 0-3 → symbol width 1..16; bit 4 → built-in skewed tables, contexts 1..8 from
//           byte 1 bits 0-2 (fuzz the payload only) instead of from the input; bit 5 → scalar
//           kernel (else the dispatched SIMD kernel, then a second decode on another target the
//           CPU runs, which must agree); bits 6-7 = 3 → coder 4 (rans-wide), else coder 2
//   byte 1: contexts 1..256; byte 2: ContextMap::inner 1..256
//   bytes 3-5: symbol count (LE, at most 2^20); byte 6: first_index
//   then, unless bit 4: u16 LE params length + params (coder 4: the lane byte first); the rest is
//   the chunk payload. With bit 4 and coder 4, the lane byte is byte 1 bits 3-4 (3: invalid).
// Coder 4 is bits 6-7 = 3 rather than a new leading byte so that the seed corpus written before it
// keeps its meaning (only its inputs with both bits set now reach coder 4).
#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include "codec/entropy/rans.hpp"
#include "fuzz/fuzz_common.hpp"

namespace {
// Serialized tables for (bits, groups): one skewed table per context (identity context map),
// rotated per context, with an escape whenever the alphabet does not cover every value. Built by
// hand (not by the encoder, which is slow under ASan) and parsed back by make_rans_decoder.
const std::vector<std::uint8_t>& builtin_params(int bits, std::uint32_t groups) {
  static std::map<std::pair<int, std::uint32_t>, std::vector<std::uint8_t>> cache;
  auto key = std::make_pair(bits, groups);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  ftc::entropy::RansTables t;
  t.bits = bits;
  t.precision = 12;
  const std::uint32_t values = 1u << bits;
  const std::uint32_t n = values < 40 ? values : 40;
  for (std::uint32_t g = 0; g < groups; ++g) {
    ftc::entropy::RansTable tab;
    tab.escape = n < values ? 64 : 0;
    const std::uint32_t target = 4096 - tab.escape;
    std::uint32_t wsum = 0;
    for (std::uint32_t i = 0; i < n; ++i) wsum += 1 + (n - 1 - (i + g) % n);
    tab.freq.resize(n);
    std::uint32_t sum = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
      tab.freq[i] = std::max<std::uint32_t>(1, (1 + (n - 1 - (i + g) % n)) * target / wsum);
      sum += tab.freq[i];
    }
    tab.freq[g % n] += target - sum;
    t.tables.push_back(std::move(tab));
    t.context_table.push_back(g);
  }
  std::vector<std::uint8_t> params;
  if (t.validate(groups).ok()) t.serialize(params);
  return cache.emplace(key, std::move(params)).first->second;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 7) return 0;
  const int bits = 1 + (data[0] & 15);
  const bool builtin = data[0] & 16;
  const bool wide = (data[0] & 0xC0) == 0xC0;
  ftc::entropy::rans_set_kernel((data[0] & 32) ? ftc::entropy::RansKernel::scalar : ftc::entropy::RansKernel::automatic);
  ftc::ContextMap ctx;
  ctx.groups = 1u + data[1];
  ctx.inner = 1u + data[2];
  const std::size_t count = (data[3] | (std::size_t{data[4]} << 8) | (std::size_t{data[5]} << 16)) & 0xFFFFF;
  const std::uint64_t first = data[6];
  std::size_t pos = 7;
  std::span<const std::uint8_t> params;
  std::vector<std::uint8_t> wide_params;
  if (builtin) {
    ctx.groups = 1u + (data[1] & 7);
    params = builtin_params(bits, ctx.groups);
    if (wide) {
      wide_params.push_back(static_cast<std::uint8_t>((data[1] >> 3) & 3));
      wide_params.insert(wide_params.end(), params.begin(), params.end());
      params = wide_params;
    }
  } else {
    if (size < pos + 2) return 0;
    std::size_t plen = data[pos] | (std::size_t{data[pos + 1]} << 8);
    pos += 2;
    if (plen > size - pos) plen = size - pos;
    params = {data + pos, plen};
    pos += plen;
  }
  std::span<const std::uint8_t> payload(data + pos, size - pos);

  auto dec = wide ? ftc::entropy::make_rans_wide_decoder(params, bits, ctx) : ftc::entropy::make_rans_decoder(params, bits, ctx);
  if (!dec.ok()) {
    // Lane byte outside 0..2: corrupt, before the tables are read.
    if (wide && !params.empty() && params[0] > 2) FTC_FUZZ_CHECK(dec.status().code() == ftc::StatusCode::corrupt);
    return 0;
  }
  const std::size_t sb = bits > 8 ? 2 : 1;
  // Exact-size heap buffer: ASan reports any write past the span.
  std::unique_ptr<std::uint8_t[]> out(new std::uint8_t[count > 0 ? count * sb : 1]);
  ftc::MutableSymbolSpan span{out.get(), count, bits, first, ctx};
  const ftc::Status s = (*dec)->decode(payload, span);
  if (s.ok()) {
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint32_t v = sb == 2 ? (out[2 * i] | (std::uint32_t{out[2 * i + 1]} << 8)) : out[i];
      FTC_FUZZ_CHECK(v < (1u << bits));
    }
  } else {
    FTC_FUZZ_CHECK(s.code() == ftc::StatusCode::corrupt || s.code() == ftc::StatusCode::truncated);
  }
  // Differential: the same bytes decoded again on another Highway target this CPU runs (picked by
  // the input's size, so that the portable kernels — AVX2, SSE4, … — meet hostile payloads too)
  // give the same outcome and, when it decodes, the same symbols.
  if (!(data[0] & 32)) {
    static const std::vector<std::int64_t> targets = ftc::entropy::rans_simd_targets();
    if (targets.size() > 1) {
      ftc::entropy::rans_force_simd_target(targets[1 + size % (targets.size() - 1)]);
      std::unique_ptr<std::uint8_t[]> again(new std::uint8_t[count > 0 ? count * sb : 1]);
      ftc::MutableSymbolSpan span2{again.get(), count, bits, first, ctx};
      const ftc::Status s2 = (*dec)->decode(payload, span2);
      ftc::entropy::rans_force_simd_target(0);
      FTC_FUZZ_CHECK(s2.ok() == s.ok());
      if (s.ok()) FTC_FUZZ_CHECK(std::equal(out.get(), out.get() + count * sb, again.get()));
    }
  }
  return 0;
}
