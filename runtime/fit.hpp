// The codec-model fitter behind `ftc fit`: runs the head of a split model over calibration
// images, fits per rate point a channel subset, per-channel non-uniform quantizers and a
// context-rans entropy model (coder 5) on the features, and measures each rate point on a
// held-out part of the same images by running the tail on reconstructed features.
// Plain data in, plain data out: nothing is printed, progress goes through a callback. The fit is
// deterministic: the same options and files give the same model file, byte for byte (sequential
// sums in a fixed order, no random numbers, no threads that change results).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bitstream/codec_model.hpp"
#include "ftc/ftc.hpp"

namespace ftc::runtime {

struct FitOptions {
  std::string model;                         // ONNX file; its model card M.json is read from beside it
  std::string at;                            // the tensor to split at; empty: the card's recommended_split
  std::string data = "fashion-mnist:train:12000";  // an open_dataset spec: the calibration images
  std::string fashion_mnist_dir;             // empty: FTC_FASHION_MNIST_DIR or the default
  std::string input_shape;                   // fixes dynamic input dims, as StudyOptions::input_shape
  std::vector<double> mean, std;             // normalization over the model card's (both needed without one)
  std::size_t rate_points = 8;               // 1..16, from the highest rate to the lowest
  double holdout = 0.25;                     // fraction of the images (the last ones) held out for choices
  int max_bits = 4;                          // quantizer levels per channel ≤ 2^max_bits, 1..8
  double max_bits_per_element = 1.2;         // zeroth-order rate of the first rate point
  double min_bits_per_element = 0.4;         // … and of the last (geometric in between)
  std::size_t sensitivity_runs = 8000;       // bound on the tail runs of the channel-sensitivity probe
  bool task_weights = true;                  // false: every channel's squared error weighs the same (MSE)
  std::uint64_t model_id = 0;                // 0: the low 32 bits of the content hash of the model with id 0
};

struct FitEvent {
  enum class Kind {
    plan,    // `text`: what is about to run
    stage,   // `text`: a stage starts
    images,  // `done` of `total` head (or tail) runs of the current stage
  };
  Kind kind = Kind::plan;
  std::string text;
  std::size_t done = 0, total = 0;
};
using FitProgress = std::function<void(const FitEvent&)>;

// What one rate point chose and what it is estimated to cost, measured on the held-out images.
struct FitRatePoint {
  std::string label;
  std::size_t kept_channels = 0, channels = 0;
  std::uint32_t levels = 0;            // L of the quantizer (the largest of any kept channel)
  double mean_levels = 0;              // mean levels actually used per kept channel
  int bits = 0;                        // symbol width
  std::uint64_t positions = 1;         // context-rans positions: 1 or the channel run length
  std::uint32_t classes = 1;           // context-rans neighbour classes
  double lambda = 0;                   // the rate–distortion multiplier it was fitted at
  double zeroth_order_bpe = 0;         // calibration estimate the multiplier was chosen for
  double bits_per_element = 0;         // held-out, with the fitted tables, per element of the cut tensor
  double payload_bytes = 0;            // held-out mean per tensor: bits / 8 + 4 bytes of rANS state
  double frame_bytes = 0;              // payload_bytes + 6 bytes of compact frame header
  double sqnr_db = 0;                  // held-out 10·log10(Σ x² / Σ (x − x̂)²) over the cut tensor
  double agreement = 0;                // held-out top-1 agreement with the uncompressed model
  double top1 = 0;                     // held-out top-1 against the labels
  std::size_t table_bytes = 0;         // size of the entropy model's params blob
};

struct FitResult {
  model::CodecModelFile file;
  std::vector<std::uint8_t> bytes;     // write_codec_model(file)
  std::string tensor;                  // the cut tensor
  Shape shape;
  std::size_t calibration_images = 0, heldout_images = 0;
  double reference_top1 = 0;           // held-out top-1 of the uncompressed model
  std::vector<FitRatePoint> points;    // one per rate point of `file`, in order
  std::vector<std::string> notes;      // informative lines: sensitivity summary, channel kinds
};

// Everything that can be checked without opening a file. invalid_argument.
Status check_fit_options(const FitOptions& options);

// Fits a codec model. Fails on bad options, unreadable files, a split that needs more than one
// cut tensor, fewer than 2 images, executor or data set errors.
Result<FitResult> fit_codec_model(const FitOptions& options, const FitProgress& progress = {});

// ---- pieces, exposed for tests -----------------------------------------------------------------

// A fitted scalar quantizer of one channel: strictly increasing levels, thresholds between them
// (threshold[j] in [level[j], level[j+1]]); x maps to the number of thresholds ≤ x.
struct ChannelQuantizer {
  std::vector<double> level;
  std::vector<double> threshold;
  bool zero_pinned = false;            // one level is exactly 0.0 and every x = 0 maps to it
  double distortion = 0;               // Σ (x − x̂)² over the histogram's values
  double bits = 0;                     // Σ −log2 p(symbol) over them (zeroth order)
};

// Per-channel value histogram of the calibration features: exact zeros counted apart, the rest
// in equal bins over [lo, hi] with count, sum and sum of squares per bin.
struct ChannelHistogram {
  double lo = 0, hi = 0;
  double zeros = 0;
  std::vector<double> n, s, s2;
  double count() const;
  double mean() const;
  double variance() const;             // population variance over every value, zeros included
};

// Entropy-constrained scalar quantizer of one channel: minimizes D + mu·R (squared error plus mu
// times the zeroth-order bits) with at most `max_levels` levels; when the channel has exact zeros
// one level is pinned at 0.0 and every zero maps to it. Deterministic.
ChannelQuantizer fit_ecsq(const ChannelHistogram& h, double mu, std::uint32_t max_levels);
// The symbol of x: the number of thresholds ≤ x.
std::uint32_t quantize(const ChannelQuantizer& q, double x);

}  // namespace ftc::runtime
