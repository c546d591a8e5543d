// The codecs `ftc eval` measures: ftc itself and the baselines it is compared with in the same
// run — float32 raw, float16, zstd on float32, zfp (fixed-accuracy mode), the seed system's 8-bit
// feature mosaic as JPEG and PNG (runtime/mosaic), and cloud-only (the input image as PNG / JPEG,
// through the whole model). zfp is linked here, by ftc_runtime, never by the core library.
//
// Every codec turns what crosses the network into the exact bytes a device would send and back;
// the bytes counted are all of them (ftc: the whole frame with its header; zstd, zfp, PNG, JPEG:
// their complete streams with their own headers; raw and f16: the bare payload — the receiver
// knows the shape). When a cut has several tensors, per-tensor streams are concatenated, each
// behind a 4-byte little-endian length.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/executor.hpp"
#include "runtime/mosaic.hpp"
#include "ftc/ftc.hpp"

namespace ftc::runtime {

// What a codec codes: the cut tensors (head → codec → tail), the input image (cloud-only:
// codec → preprocessing → full model), or a learned latent (device graph → codec → server graph).
enum class Stage { split, input, learned };

// Thread-safe: encode and decode may run concurrently on several threads.
class TensorCodec {
 public:
  virtual ~TensorCodec() = default;
  virtual Result<std::vector<std::uint8_t>> encode(std::span<const NamedTensorView> tensors) const = 0;
  // Returns the tensors with the names, shapes and dtypes that were encoded.
  virtual Result<std::vector<NamedTensor>> decode(std::span<const std::uint8_t> bytes) const = 0;
};

// A tensor the receiver expects: the cut tensors (f32) or the input image (u8, (C, H, W)).
struct TensorSpec {
  std::string name;
  Shape shape;
};

struct CodecConfig {
  std::string name;    // unique row name
  std::string curve;   // rate–accuracy curve
  std::string params;  // human-readable, no commas
  Stage stage = Stage::split;
  std::shared_ptr<const TensorCodec> codec;
  // Stage::learned: the device graph (model input → latent) and the server graph (latent →
  // logits) around the codec, one executor of each per worker thread; the trainer's estimate of
  // the frame bytes, when it gave one.
  std::function<Result<std::unique_ptr<Executor>>()> make_device, make_server;
  std::optional<double> estimated_bytes;
};

// Per-tensor value range seen on calibration images (head outputs), used by the mosaic's fixed
// clip range and to scale zfp's tolerances.
struct TensorRange {
  std::string tensor;
  float lo = 0;
  float hi = 0;
};

// ---- ftc ----------------------------------------------------------------------------------------

std::shared_ptr<const TensorCodec> make_ftc_codec(const EncoderOptions& options);

// A sweep axis of `ftc eval --sweep KEY=V1,V2,…`: KEY names an option of the encoder's option
// table (encoder_params(), aliases included: "cast" is the quantizer, "zstd-level" the level), each
// value is set with set_encoder_option. Every option but threads and layout can be swept: quantizer,
// bits, per-channel (an axis, or "none"), coder, level, chunk-elements, chunk-checksums, lanes.
struct SweepAxis {
  std::string key;   // the table's name (parse_sweep resolves aliases)
  std::vector<std::string> values;
};
// The table names a sweep may vary, in table order.
const std::vector<std::string>& sweep_keys();
// Checks the key and every value against the table; errors name the option and its range.
Result<SweepAxis> parse_sweep(std::string_view spec);
// The Cartesian product of the axes applied to `base` (first axis varies slowest); no axes: `base`.
// A bits value also selects the uniform quantizer. Configurations that make_ftc_config names
// alike are kept once.
Result<std::vector<EncoderOptions>> expand_sweep(const EncoderOptions& base, const std::vector<SweepAxis>& axes);
// "ftc-u-pc1-zstd b=4" / curve "ftc-u-pc1-zstd"; "ftc-f16-zstd"; "ftc-lossless-zstd-L19"; options
// off their defaults add to the coder part: "-x64" (lanes), "-c4096" (chunk-elements), "-nosum"
// (no chunk checksums).
CodecConfig make_ftc_config(const EncoderOptions& options);

// ---- Baselines ----------------------------------------------------------------------------------

std::shared_ptr<const TensorCodec> make_raw_f32_codec(std::vector<TensorSpec> cut);
std::shared_ptr<const TensorCodec> make_f16_codec(std::vector<TensorSpec> cut);
std::shared_ptr<const TensorCodec> make_zstd_f32_codec(std::vector<TensorSpec> cut, int level);
// zfp fixed-accuracy mode: |x − x̂| ≤ tolerance[i] for the i-th tensor; ZFP_HEADER_FULL streams.
// A (N, C, H, W) tensor is coded as a 3-D field (W, H, N·C).
std::shared_ptr<const TensorCodec> make_zfp_codec(std::vector<TensorSpec> cut, std::vector<double> tolerance);
// One mosaic per tensor (shape (1, C, H, W) or (C, H, W)) with a fixed range per tensor.
std::shared_ptr<const TensorCodec> make_mosaic_codec(std::vector<TensorSpec> cut, std::vector<tile::Range> ranges,
                                                     tile::ImageCodec codec, int quality);
// Cloud-only: a u8 (C, H, W) image, C = 1 or 3, as PNG or JPEG.
std::shared_ptr<const TensorCodec> make_image_codec(TensorSpec image, tile::ImageCodec codec, int quality);

struct BaselineSettings {
  std::vector<int> mosaic_jpeg_quality = {10, 30, 50, 70, 90};
  std::vector<int> cloud_jpeg_quality = {10, 30, 50, 70, 90};
  // zfp tolerance as a fraction of each tensor's calibration range (hi − lo).
  std::vector<double> zfp_tolerance = {0.4, 0.2, 0.1, 0.05, 0.02, 0.005};
  int zstd_level = 3;
};

// Baseline names for --baselines: raw f16 zstd zfp mosaic-jpeg mosaic-png cloud-png cloud-jpeg.
const std::vector<std::string>& baseline_names();
// "all", "none", or a comma list of baseline_names() ("mosaic" and "cloud" name both of theirs).
Result<std::vector<std::string>> parse_baselines(std::string_view list);
// Configurations for the named baselines, in the order of baseline_names(). `ranges` (one per cut
// tensor) is needed by mosaic and zfp.
Result<std::vector<CodecConfig>> make_baselines(const std::vector<std::string>& names, const std::vector<TensorSpec>& cut,
                                                const std::vector<TensorRange>& ranges, const TensorSpec& image,
                                                const BaselineSettings& settings);

}  // namespace ftc::runtime
