// ftc::entropy::RansTables::parse — what a codec model file will carry (docs/format-rans.md
// §Tables). Input: byte 0 → bits 1..16, byte 1 → contexts 1..256 (byte 2 bit 0 multiplies by
// 256), rest → the serialized tables. Accepted tables must validate, re-serialize to the same
// bytes, and build a decoder.
#include <cstring>

#include "codec/entropy/rans.hpp"
#include "fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const int bits = 1 + (data[0] & 15);
  std::uint32_t groups = 1u + data[1];
  if (data[2] & 1) groups *= 256;
  std::span<const std::uint8_t> in(data + 3, size - 3);
  auto r = ftc::entropy::RansTables::parse(in, bits, groups);
  if (!r.ok()) {
    FTC_FUZZ_CHECK(r.status().code() != ftc::StatusCode::ok);
    return 0;
  }
  const auto& t = *r;
  FTC_FUZZ_CHECK(t.validate(groups).ok());
  // The serialization is not canonical (e.g. any Rice parameter k is accepted, the writer picks
  // the best): require that the writer's bytes parse back to the same tables, and are no longer.
  const auto again = t.serialized();
  FTC_FUZZ_CHECK(t.serialized_size() == again.size());  // bytes (rans.hpp's comment says bits)
  auto back = ftc::entropy::RansTables::parse(again, bits, groups);
  FTC_FUZZ_CHECK(back.ok());
  FTC_FUZZ_CHECK(back->precision == t.precision && back->context_table == t.context_table &&
                 back->tables.size() == t.tables.size());
  for (std::size_t i = 0; i < t.tables.size(); ++i)
    FTC_FUZZ_CHECK(back->tables[i].freq == t.tables[i].freq && back->tables[i].escape == t.tables[i].escape);
  ftc::ContextMap ctx;
  ctx.groups = groups;
  auto dec = ftc::entropy::make_rans_decoder(in, bits, ctx);
  FTC_FUZZ_CHECK(dec.ok());
  // Decode a few symbols from a fixed short payload: must fail or produce in-range symbols.
  static const std::uint8_t payload[16] = {0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0};
  std::uint16_t out16[4] = {};
  std::uint8_t out8[4] = {};
  ftc::MutableSymbolSpan span{bits > 8 ? static_cast<void*>(out16) : static_cast<void*>(out8), 4, bits, 0, ctx};
  if ((*dec)->decode(payload, span).ok())
    for (int i = 0; i < 4; ++i) FTC_FUZZ_CHECK((bits > 8 ? out16[i] : out8[i]) < (1u << bits));
  return 0;
}
