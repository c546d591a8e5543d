// Coder 0, raw (docs/format.md §6.1): symbols bit-packed least-significant bit first at their
// width; the payload is exactly ceil(count·bits / 8) bytes and unused high bits of the last byte
// are zero.
#pragma once

#include "codec/entropy/coder.hpp"

namespace ftc::entropy {

std::unique_ptr<ChunkEncoder> make_raw_encoder(int bits);
std::unique_ptr<ChunkDecoder> make_raw_decoder(int bits);
inline std::size_t raw_payload_size(std::uint64_t count, int bits) {
  return static_cast<std::size_t>((count * static_cast<std::uint64_t>(bits) + 7) / 8);
}

}  // namespace ftc::entropy
