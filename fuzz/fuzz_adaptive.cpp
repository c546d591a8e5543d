// The adaptive coder alone (codec/entropy/adaptive_dec.cpp): params parsing and the chunk
// decoder, and on inputs that decode, a re-encode that must reproduce the payload (the format
// allows one payload per symbol string). Input:
//   byte 0: bits 0-3 → symbol width 1..16; bit 4 → params from the input, else built from bytes 1-2
//   byte 1: predictor (bit 0), rate 4 + (bits 1-2); byte 2: row 1..16 (bits 0-3), plane = row · (1 + bits 4-7)
//   bytes 3-4: symbol count (LE); byte 5: first_index
//   then, with bit 4: u8 params length + params; the rest is the chunk payload.
#include <memory>
#include <vector>

#include "codec/entropy/adaptive.hpp"
#include "fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ftc;
  using namespace ftc::entropy;
  if (size < 6) return 0;
  const int bits = 1 + (data[0] & 15);
  const std::size_t count = data[3] | (std::size_t{data[4]} << 8);
  const std::uint64_t first = data[5];
  std::size_t pos = 6;
  std::vector<std::uint8_t> params;
  if (data[0] & 16) {
    if (pos >= size) return 0;
    const std::size_t n = data[pos++];
    if (n > size - pos) return 0;
    params.assign(data + pos, data + pos + n);
    pos += n;
  } else {
    adaptive_detail::AdaptiveParams p;
    p.predictor = static_cast<adaptive_detail::Predictor>(data[1] & 1);
    p.rate = static_cast<std::uint8_t>(4 + ((data[1] >> 1) & 3));
    p.row = 1 + (data[2] & 15);
    p.plane = p.row * (1 + (data[2] >> 4));
    serialize_adaptive_params(p, params);
  }
  auto dec = make_adaptive_decoder(params, bits);
  if (!dec.ok()) return 0;
  const std::span<const std::uint8_t> payload(data + pos, size - pos);
  if (!(*dec)->check_size(payload, count).ok()) return 0;
  const std::size_t width = bits <= 8 ? 1 : 2;
  // Canaries around the output catch writes outside it.
  std::vector<std::uint8_t> out(count * width + 32, 0xA5);
  MutableSymbolSpan span{out.data() + 16, count, bits, first, {}};
  const ftc::Status st = (*dec)->decode(payload, span);
  for (std::size_t i = 0; i < 16; ++i) FTC_FUZZ_CHECK(out[i] == 0xA5 && out[out.size() - 1 - i] == 0xA5);
  if (!st.ok()) return 0;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint32_t v = width == 1 ? out[16 + i] : (out[16 + 2 * i] | (std::uint32_t{out[17 + 2 * i]} << 8));
    FTC_FUZZ_CHECK(v < (1u << bits));
  }
  auto p = parse_adaptive_params(params, bits);
  FTC_FUZZ_CHECK(p.ok());
  auto enc = make_adaptive_chunk_encoder(*p, bits);
  FTC_FUZZ_CHECK(enc.ok());
  std::vector<std::uint8_t> again;
  FTC_FUZZ_CHECK((*enc)->encode(SymbolSpan{out.data() + 16, count, bits, first, {}}, again).ok());
  FTC_FUZZ_CHECK(std::equal(again.begin(), again.end(), payload.begin(), payload.end()));
  return 0;
}
