// runtime::read_idx — IDX data sets (Fashion-MNIST), plain or gzip'd. Input: 1 option byte
// (bits 0-1: keep at most 0 = all, 1, 3 or 1000 items of dim 0), then the file. A file that reads
// holds exactly product(dims) bytes; a file that does not costs no allocation beyond about twice
// what it really holds (libFuzzer's -malloc_limit_mb catches the rest).
#include "fuzz/fuzz_common.hpp"
#include "runtime/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static constexpr std::uint64_t kKeep[4] = {0, 1, 3, 1000};
  const std::uint64_t keep = kKeep[data[0] & 3];
  auto a = ftc::runtime::read_idx(std::span<const std::uint8_t>(data + 1, size - 1), "fuzz.idx", keep);
  if (!a.ok()) {
    const auto c = a.status().code();
    FTC_FUZZ_CHECK(c == ftc::StatusCode::bad_file || c == ftc::StatusCode::limit_exceeded ||
                   c == ftc::StatusCode::out_of_memory);
    return 0;
  }
  std::uint64_t n = 1;
  for (auto d : a->dims) n *= d;
  FTC_FUZZ_CHECK(n == a->data.size());
  FTC_FUZZ_CHECK(!a->dims.empty() && (keep == 0 || a->dims[0] <= keep));
  return 0;
}
