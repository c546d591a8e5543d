// Labelled image data sets for evaluation, named like "fashion-mnist:test",
// "fashion-mnist:train:5000", "images:DIR" (DIR/labels.csv: file,label; PNG or JPEG files, gray
// or colour, as 8 bits), "npy:X.npy,Y.npy": uint8 images (N, H, W), (N, C, H, W) or (N, H, W, C)
// with C = 1 or 3 — the shape tells which when only one of its axes 1 and 3 is 1 or 3, else
// ":nchw" or ":nhwc" after the files says — and labels (N,) of any integer dtype (int64 included).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ftc/ftc.hpp"

namespace ftc::runtime {

struct Sample {
  Tensor image;          // u8, shape (C, H, W); C = 1 or 3
  std::int32_t label = -1;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual std::size_t size() const = 0;
  virtual Result<Sample> get(std::size_t index) const = 0;
  // The label of `index` (−1: the data set has no labels), without decoding the image where the
  // data set can; the default reads the sample.
  virtual std::int32_t label(std::size_t index) const {
    auto s = get(index);
    return s.ok() ? s->label : -1;
  }
  virtual std::string name() const = 0;
};

// `spec` as above; FTC_FASHION_MNIST_DIR or `fashion_mnist_dir` overrides the default
// /usr/share/datasets/fashion-mnist.
Result<std::unique_ptr<Dataset>> open_dataset(const std::string& spec, const std::string& fashion_mnist_dir = "");

}  // namespace ftc::runtime
