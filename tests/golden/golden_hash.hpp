// Hash of decoded tensors recorded in tests/golden/*/MANIFEST: XXH64 (seed 0) over, for each
// tensor in order, its name bytes, a 0 byte, the dtype code, the rank, each dim as 8 bytes
// little-endian, then its C-order elements, each as its bytes in little-endian order (the host's
// memory order on a little-endian machine), so that every machine computes the same hash.
#pragma once

#include <bit>
#include <cstdint>
#include <vector>

#include <xxhash.h>

#include "ftc/ftc.hpp"

namespace ftc::golden {

inline std::uint64_t hash_tensors(const std::vector<NamedTensor>& tensors) {
  XXH64_state_t* st = XXH64_createState();
  XXH64_reset(st, 0);
  for (const auto& t : tensors) {
    XXH64_update(st, t.name.data(), t.name.size());
    const std::uint8_t head[3] = {0, static_cast<std::uint8_t>(t.tensor.dtype()), static_cast<std::uint8_t>(t.tensor.rank())};
    XXH64_update(st, head, 3);
    for (auto d : t.tensor.shape()) {
      std::uint8_t le[8];
      for (int i = 0; i < 8; ++i) le[i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(d) >> (8 * i));
      XXH64_update(st, le, 8);
    }
    if constexpr (std::endian::native == std::endian::little) {
      XXH64_update(st, t.tensor.data(), t.tensor.byte_size());
    } else {
      const std::size_t es = dtype_size(t.tensor.dtype());
      const auto* p = static_cast<const std::uint8_t*>(t.tensor.data());
      std::vector<std::uint8_t> le(t.tensor.byte_size());
      for (std::size_t i = 0; i < le.size(); i += es)
        for (std::size_t b = 0; b < es; ++b) le[i + b] = p[i + es - 1 - b];
      XXH64_update(st, le.data(), le.size());
    }
  }
  const std::uint64_t h = XXH64_digest(st);
  XXH64_freeState(st);
  return h;
}

}  // namespace ftc::golden
