// IDX files (the MNIST / Fashion-MNIST container: http://yann.lecun.com/exdb/mnist/), optionally
// gzip-compressed. Only unsigned-byte data (type code 0x08), which is what the data sets use.
//
// Files are untrusted: the declared dims are multiplied with overflow checks and bounded by
// kMaxIdxBytes; a plain file must hold the declared bytes before anything is allocated; a gzip'd
// file (whose real size is unknown until it is inflated) fills its array as it inflates, so a
// short file costs at most about twice the bytes it really holds.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ftc/ftc.hpp"

namespace ftc::runtime {

inline constexpr std::uint64_t kMaxIdxBytes = std::uint64_t{1} << 32;

struct IdxArray {
  std::vector<std::uint32_t> dims;  // e.g. {60000, 28, 28} or {60000}
  std::vector<std::uint8_t> data;   // product(dims) bytes, C order
};

// Reads `path` (gzip or plain; zlib detects which). bad_file names the reason, io_error when the
// file cannot be opened, limit_exceeded over kMaxIdxBytes. `max_items` > 0 keeps only the first
// that many entries of dim 0.
Result<IdxArray> read_idx_file(const std::string& path, std::uint64_t max_items = 0);
// The same for a file held in memory (gzip or plain); `name` prefixes the messages.
Result<IdxArray> read_idx(std::span<const std::uint8_t> bytes, const std::string& name, std::uint64_t max_items = 0);

}  // namespace ftc::runtime
