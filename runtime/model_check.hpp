// Checks of an ONNX model's values that the libraries ftc hands models to do not make: libonnx's
// checker validates the structure, but its shape inference divides by a zero stride, and OpenCV
// DNN divides by a zero group, indexes with unchecked axes and allocates what dims declare. A
// model file is untrusted input, so Graph::parse and the OpenCV executor run check_model_values
// first. It needs libonnx only (no OpenCV), so fuzz/fuzz_onnx.cpp can run it.
//
// What is checked, for the default domain ("" / "ai.onnx"), in the graph and its subgraphs:
//  - every initializer and Constant value: dims ≥ 0, element count without overflow and at most
//    kMaxModelTensorElements, and data of exactly that many elements (raw or typed);
//  - every declared or inferred tensor shape: rank ≤ kMaxModelRank, dims ≤ kMaxModelTensorElements
//    and element count ≤ kMaxModelTensorElements;
//  - Conv, ConvTranspose, MaxPool, AveragePool, LpPool: kernel_shape, strides, dilations in
//    1..kMaxModelWindow, pads in 0..kMaxModelWindow, as many as the spatial rank; group ≥ 1 and
//    dividing the weight's channels, input channels = weight channels × group; pooling pads
//    smaller than the window;
//  - Gemm, MatMul: ranks and inner dims, when known; Reshape: the shape's values; Concat,
//    Flatten, Softmax, LogSoftmax, Hardmax, Gather, Split, Squeeze, Unsqueeze, Transpose, Reduce*:
//    axes within the rank, when known; Slice steps ≠ 0; DepthToSpace/SpaceToDepth blocksize ≥ 1;
//    BatchNormalization parameter sizes; Pad pads count; Resize/Upsample scales finite, > 0.
// Unknown ops are not refused here: OpenCV's importer rejects them with its own (caught) error.
#pragma once

#include <cstdint>
#include <string>

#include "ftc/ftc.hpp"

namespace onnx {
class GraphProto;
class ModelProto;
}

namespace ftc::runtime {

inline constexpr int kMaxModelRank = 16;
inline constexpr std::int64_t kMaxModelTensorElements = std::int64_t{1} << 31;  // OpenCV sizes are int
inline constexpr std::int64_t kMaxModelWindow = 65535;  // kernel, stride, dilation, pad, group, blocksize

// bad_file "NAME: node 'N' (Op): what is wrong" (one line) or Ok. Runs onnx shape inference on
// a copy of `model` once the attributes it divides by are known to be valid, to check shapes.
// When `typed` is given and the result is Ok, it receives the input, value_info and output lists
// of the main graph as inferred (as declared when inference fails), and nothing else: what
// Graph needs of types and shapes, so that a model is not inferred twice.
Status check_model_values(const onnx::ModelProto& model, const std::string& name,
                          onnx::GraphProto* typed = nullptr);

// `typed` ← the main graph's input, value_info and output lists after onnx shape inference on a
// copy of `model` (retried without the declared value_info, which may contradict fixed input
// dims), or as declared when inference fails. For models whose values check_model_values has
// already accepted (it calls this too); onnx's inference divides by unchecked attributes.
void infer_typed_lists(const onnx::ModelProto& model, onnx::GraphProto& typed);

}  // namespace ftc::runtime
