// The transform stage (docs/format-model.md §6): between the caller's tensor and the quantizer.
// Identity and channel subset; the encoder's forward in transform_enc.cpp, the decoder's inverse
// in transform_dec.cpp.
#pragma once

#include "bitstream/codec_model.hpp"
#include "ftc/ftc.hpp"

namespace ftc::transform {

// Encoder: the coded tensor (C order, coded shape) of `view`, which has the declared shape.
Result<Tensor> forward(const TensorView& view, const model::Transform& t);
// Decoder: the declared tensor from the coded one; dropped channels take their fill values,
// rounded once to the dtype.
Result<Tensor> inverse(Tensor coded, const model::TensorDecl& decl, const model::Transform& t);

}  // namespace ftc::transform
