// Container syntax of format v1 (docs/format.md §2–§6): one declaration per structure, with its
// reader and writer side by side. The reader checks every field and every declared size against
// DecoderLimits before anything is allocated from it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bitstream/byte_io.hpp"
#include "ftc/ftc.hpp"

namespace ftc::format {

inline constexpr std::uint8_t kMagic[3] = {0x46, 0x54, 0x43};  // "FTC"

// §2 Frame header flags.
enum : std::uint8_t {
  kFlagModel = 0x01,             // model_id and model_hash follow
  kFlagModelTensors = 0x02,      // tensor descriptors come from the codec model, not the stream
  kFlagExtensions = 0x04,        // extension sections follow the tensor descriptors
  kFlagNoChunkChecksums = 0x08,  // chunks carry no checksum
  kFlagReservedMask = 0xF0,
};

// §5 Extension section tags: bit 0 set = critical (a decoder that does not know the tag MUST fail).
inline constexpr std::uint64_t kSectionCriticalBit = 1;

// §4.2 Uniform quantizer parameters: per tensor (one group) or per channel along `axis` (one
// group per index of that axis): q = clamp(round_half_even((x − lo[g]) / step[g]), 0, 2^bits − 1),
// x̂ = lo[g] + q·step[g] evaluated in binary64 and rounded once to the output dtype.
struct UniformParams {
  int bits = 8;
  std::optional<int> axis;   // normalized to [0, rank)
  std::vector<float> lo;     // one per group
  std::vector<float> step;   // one per group; ≥ 0 and finite
};

// Non-uniform quantizer (docs/format-model.md §7.1; codec models only): per group g, L
// reconstruction levels level[g·L + q] and L − 1 thresholds; x → q = #{thresholds ≤ x}.
struct NonUniformParams {
  int bits = 8;
  std::optional<int> axis;          // normalized to [0, rank)
  std::uint32_t levels = 1;         // L
  std::vector<float> level;         // groups·L
  std::vector<float> threshold;     // groups·(L − 1)
};

// §3 Tensor descriptor.
struct TensorDesc {
  std::string name;
  DType dtype = DType::f32;
  Layout layout = Layout::unspecified;
  Shape shape;
  QuantizerKind quantizer = QuantizerKind::lossless;
  std::optional<UniformParams> uniform;  // quantizer == uniform
  std::optional<NonUniformParams> nonuniform;  // quantizer == nonuniform (from a codec model)
  CoderKind coder = CoderKind::raw;
  std::vector<std::uint8_t> coder_params;
  std::uint64_t chunk_elements = 0;  // 0: one chunk

  // Derived by validate(): elements and chunks.
  std::uint64_t element_count = 0;
  std::uint64_t chunk_count = 0;

  // Checks field ranges and cross-field rules, fills the derived fields.
  Status validate(const DecoderLimits& limits);
  std::uint64_t chunk_first_element(std::uint64_t c) const { return c * effective_chunk_elements(); }
  std::uint64_t chunk_element_count(std::uint64_t c) const;
  std::uint64_t effective_chunk_elements() const { return chunk_elements == 0 ? element_count : chunk_elements; }
};

struct Section {
  std::uint64_t tag = 0;
  std::vector<std::uint8_t> body;
};

struct FrameHeader {
  int major = kFormatMajor;
  int minor = 0;                 // raised by the encoder to the features the frame uses
  std::uint8_t flags = 0;
  std::uint64_t model_id = 0;    // valid when flags & kFlagModel
  std::uint64_t model_hash = 0;  // XXH64 of the codec model file
  std::vector<TensorDesc> tensors;
  std::vector<Section> sections;  // extension sections (as read; unknown non-critical ones kept)
};

struct ChunkRef {
  std::size_t tensor = 0;
  std::uint64_t index = 0;
  std::span<const std::uint8_t> payload;
  std::optional<std::uint32_t> checksum;
};

struct ParsedFrame {
  FrameHeader header;
  std::size_t header_bytes = 0;
  std::size_t frame_bytes = 0;
  std::vector<ChunkRef> chunks;  // tensor-major, chunk order
};

// Low 32 bits of XXH3-64 (seed 0) of `bytes` (§6).
std::uint32_t checksum32(std::span<const std::uint8_t> bytes);

// Writes magic … header checksum. Tensors are validated first.
Status write_header(FrameHeader& header, std::vector<std::uint8_t>& out);
void write_chunk(std::span<const std::uint8_t> payload, bool with_checksum, std::vector<std::uint8_t>& out);

// Parses a whole frame: header, header checksum, chunk table; verifies nothing about payload
// contents except their checksums when `verify_chunk_checksums`. `model_tensors` supplies the
// descriptors of a frame with kFlagModelTensors (from the codec model file named by the frame).
// Bytes after the frame are an error.
Result<ParsedFrame> parse_frame(std::span<const std::uint8_t> bytes, const DecoderLimits& limits,
                                bool verify_chunk_checksums = true,
                                const std::vector<TensorDesc>* model_tensors = nullptr);

}  // namespace ftc::format
