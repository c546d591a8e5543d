// Whole-file reads and writes for the command line, with "-" for stdin/stdout and zstd's
// overwrite rule: an existing output file is refused unless forced.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ftc/ftc.hpp"

namespace ftc::cli {

Result<std::vector<std::uint8_t>> read_input(const std::string& path);
Status write_output(const std::string& path, std::span<const std::uint8_t> bytes, bool force);
// A tensor as .npy to `path` (or stdout), under the same overwrite rule; to a file, a contiguous
// little-endian tensor is written from its own memory, not from a copy.
Status write_npy_output(const std::string& path, const TensorView& view, bool force);

}  // namespace ftc::cli
