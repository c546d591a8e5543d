// Codec model file syntax, format 1.0 (docs/format-model.md): plain data, the reader
// (codec_model.cpp, shared by encoder and decoder builds) and the writer (codec_model_enc.cpp).
// The reader checks every field, every cross-field rule and every declared size against
// ModelLimits before anything is allocated from it; it knows the fields, not the codec: coder
// parameter blobs are carried as bytes and checked by their coder when a codec is built from them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bitstream/byte_io.hpp"
#include "ftc/ftc.hpp"

namespace ftc::model {

inline constexpr std::uint8_t kModelMagic[4] = {0x46, 0x54, 0x43, 0x4D};  // "FTCM"
inline constexpr int kModelMajor = 1;
inline constexpr int kModelMinor = 0;
inline constexpr std::size_t kModelHeaderBytes = 14;   // magic, major, minor, model_id (§2)
inline constexpr std::size_t kModelChecksumBytes = 8;  // XXH64 at the end of the file (§2)

// §3 Section tags: bit 0 set = critical.
enum : std::uint64_t {
  kTagTensors = 1,
  kTagRatePoint = 3,
  kTagLearned = 4,
  kTagMetadata = 6,
};
inline constexpr std::uint64_t kTagCriticalBit = 1;

// §9 Limits. Defaults are the reference reader's; a caller may tighten or loosen them.
struct ModelLimits {
  std::uint64_t max_file_bytes = std::uint64_t{1} << 30;
  std::uint32_t max_tensors = 256;
  std::uint32_t max_rate_points = 256;
  std::uint64_t max_elements = std::uint64_t{1} << 28;   // per tensor declaration
  std::uint64_t max_groups = std::uint64_t{1} << 16;     // quantizer groups of one tensor
  std::uint64_t max_levels = std::uint64_t{1} << 16;     // non-uniform levels per group
  std::uint64_t max_basis_floats = std::uint64_t{1} << 24;  // K·C of one PCA basis
  std::uint64_t max_blob_bytes = std::uint64_t{1} << 24;    // coder params, metadata value
  std::uint32_t max_metadata_entries = 1024;
};

// §4 Tensor declaration: a cut tensor (or a learned latent) as the model was fitted on it.
struct TensorDecl {
  std::string name;  // ≤ 255 bytes, UTF-8
  DType dtype = DType::f32;
  Layout layout = Layout::unspecified;
  Shape shape;       // rank ≤ 8, dims ≤ 2^48
  bool operator==(const TensorDecl&) const = default;
};

// §6 Transforms. Fields a kind does not use stay empty / zero.
enum class TransformKind : std::uint8_t { identity = 0, channel_subset = 1, pca = 2 };
struct Transform {
  TransformKind kind = TransformKind::identity;
  int axis = 0;                      // channel_subset, pca: the channel axis, < rank
  std::vector<std::uint64_t> kept;   // channel_subset: kept channels, strictly increasing, < C
  std::vector<float> fill;           // channel_subset: C − kept.size() values, dropped channels in order
  std::uint64_t components = 0;      // pca: K, 1..C
  std::vector<float> mean;           // pca: C values
  std::vector<float> basis;          // pca: K·C values, row k = component k
  bool operator==(const Transform&) const = default;
};

// §7 Quantizers. Ids 0–3 are docs/format.md §4's; 4 exists only in model files (format 1.0).
enum class QuantKind : std::uint8_t { lossless = 0, uniform = 1, cast_f16 = 2, cast_bf16 = 3, nonuniform = 4 };
struct Quantizer {
  QuantKind kind = QuantKind::lossless;
  int bits = 0;                    // uniform, nonuniform: symbol width 1..16
  std::optional<int> axis;         // uniform, nonuniform: per channel along this axis of the coded tensor
  std::vector<float> lo, step;     // uniform: one each per group
  std::uint32_t levels = 0;        // nonuniform: L, 1..2^bits
  std::vector<float> level;        // nonuniform: groups·L, group-major, strictly increasing per group
  std::vector<float> threshold;    // nonuniform: groups·(L − 1), group-major
  bool operator==(const Quantizer&) const = default;
};

// §8 Entropy model: the coder id and its parameter blob exactly as a self-contained tensor
// descriptor (docs/format.md §3) would carry it for the coded tensor.
struct EntropyModel {
  CoderKind coder = CoderKind::raw;
  std::vector<std::uint8_t> params;
  std::vector<std::uint8_t> state;  // initial coder statistics: defined for no coder in 1.0, empty
  bool operator==(const EntropyModel&) const = default;
};

// §5 One tensor's complete codec at one rate point.
struct TensorCodec {
  Transform transform;
  Quantizer quantizer;
  EntropyModel entropy;
  std::uint64_t chunk_elements = 0;  // as docs/format.md §3: 0 = one chunk
  bool operator==(const TensorCodec&) const = default;
};

// §5 A rate point: one TensorCodec per declared tensor, in declaration order.
struct RatePoint {
  std::string label;  // ≤ 255 bytes, UTF-8, informative
  std::vector<TensorCodec> tensors;
  bool operator==(const RatePoint&) const = default;
};

// §10 Learned bottleneck: hashes of the ONNX graphs around the codec and the latent they exchange.
enum class HashKind : std::uint8_t { none = 0, xxh64 = 1, sha256 = 2 };
struct GraphHash {
  HashKind kind = HashKind::none;
  std::vector<std::uint8_t> digest;  // 0, 8 (XXH64, little-endian) or 32 bytes
  bool operator==(const GraphHash&) const = default;
};
struct Learned {
  GraphHash device_graph;
  GraphHash server_graph;
  TensorDecl latent;
  bool operator==(const Learned&) const = default;
};

// §3 A section this reader does not know (non-critical): kept so that tools can carry it along.
struct UnknownSection {
  std::uint64_t tag = 0;
  std::vector<std::uint8_t> body;
  bool operator==(const UnknownSection&) const = default;
};

struct CodecModelFile {
  int minor = kModelMinor;         // as read; written as given (major is always 1)
  std::uint64_t model_id = 0;
  std::vector<TensorDecl> tensors;             // 1..
  std::vector<RatePoint> rate_points;          // 1.., addressed by index
  std::optional<Learned> learned;
  std::map<std::string, std::string> metadata;  // UTF-8; std::string orders keys bytewise (§11)
  std::vector<UnknownSection> unknown_sections;  // written after the known sections
  bool operator==(const CodecModelFile&) const = default;
};

// XXH64 (seed 0) of a model file's bytes: what frames carry as model_hash (docs/format.md §2.2).
std::uint64_t model_content_hash(std::span<const std::uint8_t> file);

// The shape of the tensor the quantizer sees: the declaration's shape with dims[axis] replaced
// by kept.size() (channel_subset) or components (pca). Requires a transform the reader accepted.
Shape coded_shape(const TensorDecl& decl, const Transform& transform);
// Quantizer groups over a coded shape: 1, or coded dims[axis]. Requires an accepted quantizer.
std::uint64_t quantizer_groups(const Quantizer& q, const Shape& coded);

// Parses and checks a whole file (§2–§11). Errors: corrupt, truncated, checksum_mismatch,
// unsupported_version, unsupported_feature, limit_exceeded.
Result<CodecModelFile> parse_codec_model(std::span<const std::uint8_t> file, const ModelLimits& limits = {});

// Writes `model` deterministically (equal structs give equal bytes). Refuses with
// invalid_argument a struct that the reader, with no limits, would not read back as itself.
Result<std::vector<std::uint8_t>> write_codec_model(const CodecModelFile& model);

// ModelLimits with every bound at its maximum: what the writer checks against.
ModelLimits unlimited_model_limits();

}  // namespace ftc::model
