// NumPy .npz archives written from ftc tensors: a ZIP file (PKWARE APPNOTE 6.3) of one
// NAME.npy member per tensor, stored uncompressed, as numpy.savez writes them; numpy.load reads
// them back as a dict. No ZIP64: the archive and every member stay under 4 GiB - 1.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ftc/ftc.hpp"

namespace ftc::io {

// Members in order; names are the archive keys (".npy" is appended), unique, 1..255 bytes,
// without '/' or '\'. invalid_argument for a bad name or view, limit_exceeded past 4 GiB.
[[nodiscard]] Result<std::vector<std::uint8_t>> write_npz(const std::vector<std::pair<std::string, TensorView>>& members);

}  // namespace ftc::io
