// CodecModel's internals (include/ftc/ftc.hpp): the parsed file and, per rate point, the tensor
// descriptor its codec stands for, built and checked once at load.
#pragma once

#include <vector>

#include "bitstream/codec_model.hpp"
#include "bitstream/frame.hpp"
#include "codec/entropy/coder.hpp"
#include "ftc/ftc.hpp"

namespace ftc {

struct CodecModel::Impl {
  model::CodecModelFile file;
  std::uint64_t hash = 0;
  struct Point {
    model::Transform transform;
    format::TensorDesc desc;  // over the coded shape: quantizer, coder, params, one chunk
    // desc's chunk decoder, its tables built once at load and shared by every frame and thread
    // (ChunkDecoder::decode is const); null in an encoder-only build.
    std::shared_ptr<const entropy::ChunkDecoder> decoder;
    // The largest symbol the coder's tables can code (context-rans: alphabet − 1; otherwise
    // 2^bits − 1). The encoder clamps the quantizer's symbols to it, so that a value beyond the
    // fitted range codes as the nearest representable symbol instead of failing.
    std::uint32_t max_symbol = 0xFFFFu;
  };
  std::vector<Point> points;
};

}  // namespace ftc
