// IDX files (the MNIST / Fashion-MNIST container: http://yann.lecun.com/exdb/mnist/), optionally
// gzip-compressed. Only unsigned-byte data (type code 0x08), which is what the data sets use.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ftc/ftc.hpp"

namespace ftc::runtime {

struct IdxArray {
  std::vector<std::uint32_t> dims;  // e.g. {60000, 28, 28} or {60000}
  std::vector<std::uint8_t> data;   // product(dims) bytes, C order
};

// Reads `path` (gzip or plain; zlib detects which). bad_file names the reason, io_error when the
// file cannot be opened. `max_items` > 0 keeps only the first that many entries of dim 0.
Result<IdxArray> read_idx_file(const std::string& path, std::uint64_t max_items = 0);

}  // namespace ftc::runtime
