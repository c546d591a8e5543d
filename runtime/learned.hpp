// Learned bottleneck codecs (issue 16, C++ side): the packer that turns a trainer's output
// directory (train/learn.py: device.onnx, server.onnx, codec.json, report.json) into a codec model
// file DIR/codec.ftcm written by the codec's own writer, and the loader that finds and checks the
// two ONNX graphs a learned codec model names (docs/format-model.md §10).
//
// The packed model has one tensor (the latent, f32), one rate point: identity transform, a uniform
// quantizer per latent channel (axis 1, lo = the channel's lo, step 1, so symbol s reconstructs to
// the integer lo + s exactly), and a context-rans entropy model (coder 5) with one table per
// channel built from the trainer's pmfs. Frames are compact model-bound frames: payload + 6 bytes.
// codec.json is hostile input: every field is checked before anything is allocated from it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bitstream/codec_model.hpp"
#include "ftc/ftc.hpp"

namespace ftc::runtime {

inline constexpr std::string_view kLearnedCodecFormat = "ftc-learned-codec/1";
inline constexpr int kLearnedPrecision = 15;              // frequencies of a table sum to 2^15
inline constexpr std::uint32_t kLearnedMaxAlphabet = 256; // hi − lo + 1 of a channel
inline constexpr std::uint64_t kLearnedMaxChannels = 1u << 16;
inline constexpr std::uint64_t kLearnedMaxElements = 1u << 24;  // of the latent
inline constexpr std::int64_t kLearnedMaxAbsLo = (std::int64_t{1} << 24) - 256;  // lo..hi exact in f32
inline constexpr std::uint64_t kLearnedMaxJsonBytes = std::uint64_t{64} << 20;

// codec.json, checked.
struct LearnedChannel {
  std::int64_t lo = 0;
  std::vector<double> pmf;  // over lo .. lo + pmf.size() − 1; each finite and > 0
};
struct LearnedSpec {
  std::string model;                 // the reference ONNX file's name (informative)
  std::string at;                    // the tensor the bottleneck replaces in it
  std::string latent_name;
  Shape latent_shape;                // (1, C, …), rank 2..8
  std::string device_graph = "device.onnx";  // plain file names in the same directory
  std::string server_graph = "server.onnx";
  std::vector<LearnedChannel> channels;  // one per latent channel (shape[1])
  std::map<std::string, std::string> metadata;
};

// Parses and checks codec.json. bad_file naming the field at fault.
Result<LearnedSpec> parse_learned_spec(std::string_view json_text);

// Integer frequencies of one table: `alphabet` (≥ pmf.size()) values, each ≥ 1, summing to
// 2^precision; entries past the pmf get the minimum 1. Deterministic, see learned.cpp.
std::vector<std::uint32_t> pmf_frequencies(std::span<const double> pmf, std::uint32_t alphabet, int precision);

// The codec model of a spec whose graphs hash (XXH64 of their bytes) to the given values.
// Deterministic: equal inputs give equal bytes.
Result<model::CodecModelFile> learned_codec_model(const LearnedSpec& spec, std::uint64_t device_xxh64,
                                                  std::uint64_t server_xxh64);

struct PackResult {
  std::string path;                  // DIR/codec.ftcm
  model::CodecModelFile file;
  std::vector<std::uint8_t> bytes;
  std::uint64_t device_hash = 0, server_hash = 0;
  std::uint32_t alphabet = 0;        // L
  int bits = 0;                      // symbol width
  std::size_t table_bytes = 0;       // the context-rans params blob
};

// Reads DIR/codec.json and the two graphs it names, builds the model; with `write`, writes
// DIR/codec.ftcm all-or-nothing (replacing an older one).
Result<PackResult> pack_learned(const std::string& dir, bool write = true);

// ---- deployment ---------------------------------------------------------------------------------

// "xxh64:0123456789abcdef", "sha256:…", "none".
std::string graph_hash_text(const model::GraphHash& h);

struct LearnedGraphs {
  model::Learned learned;
  std::string device_path, server_path;
  std::vector<std::uint8_t> device, server;  // the ONNX bytes whose hashes were checked
};

// The graphs of a model with a LEARNED section: `device_path`/`server_path` when given, else the
// file names in its metadata (device_graph, server_graph; default device.onnx, server.onnx) beside
// `ftcm_path`. Each graph's XXH64 must equal the model's hash (model_mismatch naming both
// otherwise). invalid_argument for a model without LEARNED; unsupported_feature for SHA-256.
Result<LearnedGraphs> load_learned_graphs(const model::CodecModelFile& file, const std::string& ftcm_path,
                                          const std::string& device_path = {}, const std::string& server_path = {});

// The codec model file at `path` when it has a LEARNED section; nullopt for other models.
Result<std::optional<model::CodecModelFile>> read_learned_model(const std::string& path);

// The reference model a learned codec model was trained from (metadata source_model): beside the
// .ftcm, in its parent directories' models/ folders, or in ./models/. not_found-style
// invalid_argument naming the places looked at.
Result<std::string> find_reference_model(const model::CodecModelFile& file, const std::string& ftcm_path);

// The trainer's rate estimate in bytes per frame: report.json's estimated_bits_per_image (its
// "test" block's when present) / 8 + 4 bytes of rANS final state + 6 bytes of compact header.
// nullopt when report.json is missing or has no estimate.
struct LearnedEstimate {
  double frame_bytes = 0;
  std::string source;                // "report.json test" or "report.json held-out"
};
std::optional<LearnedEstimate> learned_estimate(const std::string& ftcm_path);

}  // namespace ftc::runtime
