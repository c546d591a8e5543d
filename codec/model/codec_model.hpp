// CodecModel's internals (include/ftc/ftc.hpp): the parsed file and, per rate point, the tensor
// descriptor its codec stands for, built and checked once at load.
#pragma once

#include <vector>

#include "bitstream/codec_model.hpp"
#include "bitstream/frame.hpp"
#include "ftc/ftc.hpp"

namespace ftc {

struct CodecModel::Impl {
  model::CodecModelFile file;
  std::uint64_t hash = 0;
  struct Point {
    model::Transform transform;
    format::TensorDesc desc;  // over the coded shape: quantizer, coder, params, one chunk
  };
  std::vector<Point> points;
};

}  // namespace ftc
