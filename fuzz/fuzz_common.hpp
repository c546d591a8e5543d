// Helpers shared by the fuzz targets (fuzz/*.cpp). Not part of the library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "bitstream/frame.hpp"
#include "ftc/ftc.hpp"

namespace ftc::fuzz {

// A fuzz-only invariant violation: abort so that libFuzzer (and the replay driver) report it.
#define FTC_FUZZ_CHECK(cond)                                                        \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

// Limits used while fuzzing: tight enough that a legitimate frame cannot push the process past
// the fuzzer's -malloc_limit_mb / -rss_limit_mb, so any allocation over the cap is a real bug
// (an allocation not bounded by DecoderLimits). docs/fuzzing.md explains the figures.
inline DecoderLimits fuzz_limits() {
  DecoderLimits l;
  l.max_elements = std::uint64_t{1} << 22;
  l.max_output_bytes = std::uint64_t{1} << 24;
  l.max_chunks = std::uint64_t{1} << 16;
  return l;
}

// Lenient LEB128 read for the checksum fix-up walk below (not the decoder's reader).
inline bool walk_varint(std::span<const std::uint8_t> b, std::size_t& pos, std::uint64_t& v) {
  v = 0;
  for (int i = 0; i < 10; ++i) {
    if (pos >= b.size()) return false;
    const std::uint8_t x = b[pos++];
    v |= static_cast<std::uint64_t>(x & 0x7F) << (7 * i);
    if (!(x & 0x80)) return true;
  }
  return false;
}

// Rewrites the header checksum and every chunk checksum of `frame` so that a mutated frame gets
// past the checksum checks and exercises the parser and coders behind them. The header walk is an
// independent, minimal reading of docs/format.md §2 (magic, version, flags, model, descriptors
// skipped by their length, sections); the chunk table comes from parse_frame itself.
inline void fix_checksums(std::vector<std::uint8_t>& frame) {
  std::span<const std::uint8_t> b(frame);
  if (b.size() < 5) return;
  const std::uint8_t flags = b[4];
  std::size_t pos = 5;
  std::uint64_t v = 0;
  if (flags & format::kFlagModel) {
    if (!walk_varint(b, pos, v)) return;
    pos += 8;
  }
  if (!(flags & format::kFlagModelTensors)) {
    std::uint64_t count;
    if (!walk_varint(b, pos, count) || count > b.size()) return;
    for (std::uint64_t i = 0; i < count; ++i) {
      if (!walk_varint(b, pos, v) || v > b.size()) return;
      pos += static_cast<std::size_t>(v);
      if (pos > b.size()) return;
    }
  }
  if (flags & format::kFlagExtensions) {
    std::uint64_t count;
    if (!walk_varint(b, pos, count) || count > b.size()) return;
    for (std::uint64_t i = 0; i < count; ++i) {
      if (!walk_varint(b, pos, v) || !walk_varint(b, pos, v) || v > b.size()) return;
      pos += static_cast<std::size_t>(v);
      if (pos > b.size()) return;
    }
  }
  if (pos + 4 > b.size()) return;
  const std::uint32_t h = format::checksum32(b.first(pos));
  for (int i = 0; i < 4; ++i) frame[pos + i] = static_cast<std::uint8_t>(h >> (8 * i));
  if (flags & format::kFlagNoChunkChecksums) return;
  auto parsed = format::parse_frame(b, fuzz_limits(), /*verify_chunk_checksums=*/false);
  if (!parsed.ok()) return;
  for (const auto& c : parsed->chunks) {
    const std::size_t at = static_cast<std::size_t>(c.payload.data() - b.data()) + c.payload.size();
    if (at + 4 > frame.size()) return;
    const std::uint32_t s = format::checksum32(c.payload);
    for (int i = 0; i < 4; ++i) frame[at + i] = static_cast<std::uint8_t>(s >> (8 * i));
  }
}

// Reads every byte of a decoded buffer so that ASan sees any bad extent.
inline std::uint8_t touch(const void* p, std::size_t n) {
  const auto* b = static_cast<const volatile std::uint8_t*>(p);
  std::uint8_t x = 0;
  for (std::size_t i = 0; i < n; ++i) x = static_cast<std::uint8_t>(x ^ b[i]);
  return x;
}

}  // namespace ftc::fuzz
