// The evaluator behind `ftc eval`: runs every image of a data set through the full model (the
// reference), through head → tail with the cut tensors handed over untouched (the uncompressed
// split, which must reproduce the reference exactly), and through head → encode → decode → tail
// for every configuration (or encode → decode → full model for cloud-only ones), and measures
// real bytes, top-1, agreement and coding time. The head runs once per image; all
// configurations then reuse its output. Images are shared among threads, each with its own
// executors.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ftc/ftc.hpp"
#include "runtime/baselines.hpp"
#include "runtime/dataset.hpp"
#include "runtime/executor.hpp"
#include "runtime/report.hpp"

namespace ftc::runtime {

// u8 pixel → model input: x = (pixel · scale − mean[c]) / std[c]; one mean/std for all channels
// or one per channel.
struct Normalization {
  double scale = 1.0 / 255.0;
  std::vector<double> mean = {0.0};
  std::vector<double> std = {1.0};
};

// The model card written next to a model by train/train.py (M.json beside M.onnx).
struct ModelCard {
  std::string model;
  std::string input_name;
  Shape input_shape;
  std::string output_name;
  Shape output_shape;
  Normalization normalization;
  std::optional<double> test_top1;
  std::vector<std::string> splits;
  std::string recommended_split;
};
// "dir/m.onnx" → "dir/m.json".
std::string model_card_path(const std::string& onnx_path);
Result<ModelCard> read_model_card(const std::string& json_path);

// `image`: u8 (C, H, W); `out` gets shape `input_shape` (whose element count must be C·H·W).
Result<Tensor> preprocess(const Tensor& image, const Normalization& norm, const Shape& input_shape);

// How to build the three executors; called once per worker thread, on the calling thread.
struct Pipeline {
  std::string input_name;   // of the full model and the head
  Shape input_shape;
  Normalization normalization;
  std::function<Result<std::unique_ptr<Executor>>()> make_full, make_head, make_tail;
};

// Runs the head on one image: the cut tensors' names and shapes, in the head's output order.
Result<std::vector<TensorSpec>> probe_cut(const Dataset& data, const Pipeline& pipeline);

// min/max of every cut tensor over the first `images` images of `data` (head outputs).
Result<std::vector<TensorRange>> calibrate(const Dataset& data, std::size_t images, const Pipeline& pipeline);

// Encodes and decodes the cut tensors of image 0 with every configuration; returns the indices
// of those that fail with `reason` set (e.g. a coder this build does not support).
struct ProbeFailure {
  std::size_t index;
  Status reason;
};
std::vector<ProbeFailure> probe_configs(const Dataset& data, const Pipeline& pipeline,
                                        const std::vector<CodecConfig>& configs);

// The first `images` labels of `data` are all −1 (no labels) or all in 0..classes−1; bad_file
// naming the first image that is not. `classes` 0: unknown, only the all-or-none rule is checked.
Status check_labels(const Dataset& data, std::size_t images, std::uint64_t classes);

struct EvalOptions {
  std::size_t limit = 0;  // 0: every image
  int threads = 1;
  // Called from the calling thread about 10 times a second and once at the end.
  std::function<void(std::size_t done, std::size_t total)> progress;
};

// Fills everything in the Report but model/split/data/anchor/command (the caller's context).
// Fails on the first executor or data set error; a codec failure on an image is counted in the
// row's `failures` (the image counts as misclassified) and does not stop the run.
Result<Report> evaluate(const Dataset& data, const Pipeline& pipeline, const std::vector<CodecConfig>& configs,
                        const EvalOptions& options);

// Index of the largest f32 element (the predicted class); -1 for an empty or non-f32 tensor.
int argmax(const Tensor& t);

// Views of named tensors, as Executor::run and Encoder::encode take them.
std::vector<NamedTensorView> views_of(const std::vector<NamedTensor>& ts);

// `s` located in `what` (a file, usually): named once, also when `s` names it already (Graph::load
// does: "m.onnx: not an ONNX model").
Status located_in(const std::string& what, const Status& s);

}  // namespace ftc::runtime
