// Decodes through the public C API (include/ftc/ftc.h). Input: frame bytes, then one option byte:
//   bit 0  rewrite the header/chunk checksums first (reach the parser and coders behind them)
//   bit 1  2 decoder threads instead of 1
//   bit 2  tight limits (rank 4, 2 tensors, 64 Ki elements, 64 chunks) instead of fuzz_limits()
//   bit 3  decode a second time on the same handle (state reuse)
#include <cstring>
#include <vector>

#include "ftc/ftc.h"
#include "fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t opt = data[size - 1];
  std::vector<std::uint8_t> frame(data, data + size - 1);
  if (opt & 1) ftc::fuzz::fix_checksums(frame);

  ftc_decoder* d = ftc_decoder_create();
  FTC_FUZZ_CHECK(d != nullptr);
  const ftc::DecoderLimits l = ftc::fuzz::fuzz_limits();
  FTC_FUZZ_CHECK(ftc_decoder_set_limit(d, FTC_LIMIT_MAX_ELEMENTS, l.max_elements) == FTC_OK);
  FTC_FUZZ_CHECK(ftc_decoder_set_limit(d, FTC_LIMIT_MAX_OUTPUT_BYTES, l.max_output_bytes) == FTC_OK);
  FTC_FUZZ_CHECK(ftc_decoder_set_limit(d, FTC_LIMIT_MAX_CHUNKS, l.max_chunks) == FTC_OK);
  if (opt & 2) FTC_FUZZ_CHECK(ftc_decoder_set_limit(d, FTC_DECODER_THREADS, 2) == FTC_OK);
  if (opt & 4) {
    FTC_FUZZ_CHECK(ftc_decoder_set_limit(d, FTC_LIMIT_MAX_RANK, 4) == FTC_OK);
    FTC_FUZZ_CHECK(ftc_decoder_set_limit(d, FTC_LIMIT_MAX_TENSORS, 2) == FTC_OK);
    FTC_FUZZ_CHECK(ftc_decoder_set_limit(d, FTC_LIMIT_MAX_ELEMENTS, 1 << 16) == FTC_OK);
    FTC_FUZZ_CHECK(ftc_decoder_set_limit(d, FTC_LIMIT_MAX_CHUNKS, 64) == FTC_OK);
  }
  const int rounds = (opt & 8) ? 2 : 1;
  for (int round = 0; round < rounds; ++round) {
    const ftc_status s = ftc_decode(d, frame.data(), frame.size());
    FTC_FUZZ_CHECK(ftc_status_string(s) != nullptr);
    FTC_FUZZ_CHECK(ftc_decoder_last_error(d) != nullptr);
    if (s != FTC_OK) {
      // Errors caused by the input are input errors; nothing else is acceptable here except
      // out_of_memory (never expected under fuzz_limits()).
      FTC_FUZZ_CHECK(ftc_status_is_input_error(s));
      FTC_FUZZ_CHECK(ftc_decoder_tensor_count(d) == 0);
      continue;
    }
    const std::size_t n = ftc_decoder_tensor_count(d);
    // n may be 0: format 1.0 decoders accept tensor_count = 0 (see docs/fuzzing.md, findings).
    FTC_FUZZ_CHECK(n <= ftc::fuzz::fuzz_limits().max_tensors);
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      ftc_tensor t;
      FTC_FUZZ_CHECK(ftc_decoder_get_tensor(d, i, &t) == FTC_OK);
      FTC_FUZZ_CHECK(t.rank <= FTC_MAX_RANK && t.name != nullptr);
      std::uint64_t elems = 1;
      for (std::uint32_t k = 0; k < t.rank; ++k) {
        FTC_FUZZ_CHECK(t.shape[k] >= 0);
        elems *= static_cast<std::uint64_t>(t.shape[k]);
      }
      const std::uint64_t bytes = elems * ftc::dtype_size(static_cast<ftc::DType>(t.dtype));
      total += bytes;
      FTC_FUZZ_CHECK(total <= l.max_output_bytes);
      if (bytes) ftc::fuzz::touch(t.data, static_cast<std::size_t>(bytes));
      (void)std::strlen(t.name);
    }
    ftc_tensor none;
    FTC_FUZZ_CHECK(ftc_decoder_get_tensor(d, n, &none) == FTC_ERROR_INVALID_ARGUMENT);
  }
  ftc_decoder_free(d);
  return 0;
}
