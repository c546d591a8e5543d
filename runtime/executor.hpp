// Runs an ONNX graph on named inputs and returns named outputs. One implementation ships
// (OpenCV DNN: opencv_executor.cpp); docs/runtimes.md shows how to plug in another.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ftc/ftc.hpp"

namespace ftc::runtime {

class Executor {
 public:
  virtual ~Executor() = default;
  virtual const std::vector<std::string>& input_names() const = 0;
  virtual const std::vector<std::string>& output_names() const = 0;
  // Inputs by name (every input_names() entry once); returns outputs in output_names() order,
  // as f32 C-contiguous tensors named after the graph's outputs.
  virtual Result<std::vector<NamedTensor>> run(const std::vector<NamedTensorView>& inputs) = 0;
};

// Loads an ONNX file with OpenCV's DNN module. A graph OpenCV cannot import fails with a
// message naming the node and the op.
Result<std::unique_ptr<Executor>> make_opencv_executor(const std::string& onnx_path);

}  // namespace ftc::runtime
