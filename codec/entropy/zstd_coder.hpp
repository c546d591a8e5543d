// Coder 1, zstd (docs/format.md §6.2): the symbols' byte planes (one plane for widths ≤ 8,
// low then high byte plane for wider symbols) as exactly one zstd frame that declares its
// content size.
#pragma once

#include "codec/entropy/coder.hpp"

namespace ftc::entropy {

std::unique_ptr<ChunkEncoder> make_zstd_encoder(int bits, int level);
std::unique_ptr<ChunkDecoder> make_zstd_decoder(int bits);

}  // namespace ftc::entropy
