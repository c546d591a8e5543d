// io::read_npy — the .npy reader behind `ftc encode`, `npy:X,Y` data sets and the Python module.
// Input: the file. A file that reads must write back (io::write_npy) to a file that reads to the
// same dtype, shape and bytes; the data must be exactly what the header declares.
#include <cstring>

#include "codec/io/npy.hpp"
#include "fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto t = ftc::io::read_npy(std::span<const std::uint8_t>(data, size));
  if (!t.ok()) {
    FTC_FUZZ_CHECK(t.status().code() == ftc::StatusCode::bad_file || t.status().code() == ftc::StatusCode::out_of_memory);
    return 0;
  }
  FTC_FUZZ_CHECK(t->byte_size() <= size);  // the data is in the file: no amplification
  const auto bytes = ftc::io::write_npy(t->view());
  FTC_FUZZ_CHECK(!bytes.empty());
  auto back = ftc::io::read_npy(bytes);
  FTC_FUZZ_CHECK(back.ok());
  FTC_FUZZ_CHECK(back->dtype() == t->dtype() && back->shape() == t->shape());
  FTC_FUZZ_CHECK(back->byte_size() == t->byte_size());
  FTC_FUZZ_CHECK(t->byte_size() == 0 || std::memcmp(back->data(), t->data(), t->byte_size()) == 0);
  return 0;
}
