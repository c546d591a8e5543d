// ftc_decode_into with an output buffer that is usually too small. Input: frame bytes, then two
// option bytes: [size-2] bit 0 rewrites checksums; [size-1] picks the capacity: 0 → none (NULL),
// 255 → 1 MiB, else the exact need minus (value − 1) bytes when the frame decodes, found by a
// first sizing call. The buffer is followed by a canary that must survive, and under ASan the
// allocation is exact so a single byte over is reported.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "ftc/ftc.h"
#include "fuzz/fuzz_common.hpp"

namespace {
constexpr std::size_t kCanary = 32;
constexpr std::uint8_t kCanaryByte = 0xA5;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t opt = data[size - 2];
  const std::uint8_t capsel = data[size - 1];
  std::vector<std::uint8_t> frame(data, data + size - 2);
  if (opt & 1) ftc::fuzz::fix_checksums(frame);

  ftc_decoder* d = ftc_decoder_create();
  const ftc::DecoderLimits l = ftc::fuzz::fuzz_limits();
  FTC_FUZZ_CHECK(ftc_decoder_set_limit(d, FTC_LIMIT_MAX_ELEMENTS, l.max_elements) == FTC_OK);
  FTC_FUZZ_CHECK(ftc_decoder_set_limit(d, FTC_LIMIT_MAX_OUTPUT_BYTES, l.max_output_bytes) == FTC_OK);
  FTC_FUZZ_CHECK(ftc_decoder_set_limit(d, FTC_LIMIT_MAX_CHUNKS, l.max_chunks) == FTC_OK);

  // Sizing call: no buffer at all.
  std::size_t need = 0;
  ftc_status s = ftc_decode_into(d, frame.data(), frame.size(), nullptr, 0, &need);
  if (s != FTC_OK && s != FTC_ERROR_BUFFER_TOO_SMALL) {
    FTC_FUZZ_CHECK(ftc_status_is_input_error(s));
    ftc_decoder_free(d);
    return 0;
  }
  if (s == FTC_OK) FTC_FUZZ_CHECK(need == 0);
  else FTC_FUZZ_CHECK(need > 0 && ftc_decoder_tensor_count(d) == 0);

  std::size_t cap = 0;
  if (capsel == 255) cap = std::size_t{1} << 20;
  else if (capsel != 0) cap = need >= capsel - 1u ? need - (capsel - 1u) : 0;
  auto* buf = static_cast<std::uint8_t*>(std::malloc(cap + kCanary));
  FTC_FUZZ_CHECK(buf != nullptr);
  std::memset(buf + cap, kCanaryByte, kCanary);
  std::size_t got = 0;
  s = ftc_decode_into(d, frame.data(), frame.size(), cap ? buf : nullptr, cap, &got);
  for (std::size_t i = 0; i < kCanary; ++i) FTC_FUZZ_CHECK(buf[cap + i] == kCanaryByte);
  FTC_FUZZ_CHECK(got == need);
  if (need <= cap) {
    FTC_FUZZ_CHECK(s == FTC_OK);
    if (need) ftc::fuzz::touch(buf, need);
  } else {
    FTC_FUZZ_CHECK(s == FTC_ERROR_BUFFER_TOO_SMALL);
    FTC_FUZZ_CHECK(ftc_decoder_tensor_count(d) == 0);
  }
  std::free(buf);
  ftc_decoder_free(d);
  return 0;
}
