// Real feature tensors: the head of a model split at one tensor, run over the first N images of a
// data set, the cut tensor of every image stacked into one float32 tensor (`ftc features`, the
// Python module, the coder benchmarks' inputs).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ftc/ftc.hpp"

namespace ftc::runtime {

struct FeatureOptions {
  std::string model;                  // ONNX file; its model card M.json is read from beside it
  std::string at;                     // the tensor; empty: the card's recommended_split
  std::string data = "fashion-mnist:test";  // an open_dataset spec
  std::size_t images = 0;             // the first N images; 0: all of them
  std::vector<double> mean, std;      // normalization over the card's (both needed without a card)
};

struct Features {
  std::string at;                     // the tensor taken
  Tensor tensor;                      // f32 (N, dims…): the cut's shape with its leading 1 replaced by N
  std::vector<std::int32_t> labels;   // the N images' labels
};

// Fails with the file, data set or tensor at fault: no card and no mean/std, an unknown tensor or
// one whose cut needs other tensors too, fewer images than asked, a cut whose shape changes.
Result<Features> extract_features(const FeatureOptions& options);

}  // namespace ftc::runtime
