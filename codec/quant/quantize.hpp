// Tensor → symbols and back: the quantizer stage (docs/format.md §Quantizer, docs/algorithms.md).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "bitstream/frame.hpp"
#include "codec/symbols.hpp"
#include "ftc/ftc.hpp"

namespace ftc::quant {

using format::UniformParams;

// The shape of a tensor's symbol stream under its quantizer (docs/format.md §4): the symbol width,
// how many symbols each element becomes, and which context codes each symbol.
struct SymbolLayout {
  int bits = 8;
  std::uint32_t per_element = 1;
  ContextMap ctx;
};
// `desc` must have passed TensorDesc::validate.
SymbolLayout symbol_layout(const format::TensorDesc& desc);

// Encoder side: fills desc's quantizer fields (quantizer, uniform) from the options and the data,
// and returns the symbols laid out as symbol_layout(desc) says. desc.shape, dtype and
// chunk_elements must be set (lossless symbols are byte planes within each chunk, §4.1). Fails with
// invalid_argument on NaN/Inf in a lossy mode, a bad axis, or a cast of an integer dtype.
Result<Symbols> quantize(const TensorView& tensor, const EncoderOptions& options, format::TensorDesc& desc);

// Encoder side with parameters fixed in advance (a codec model's): desc's uniform lo/step or
// non-uniform thresholds, nothing fitted. Values outside the levels clamp to the end symbols.
Result<Symbols> quantize_fixed(const TensorView& tensor, const format::TensorDesc& desc);

// Fits lo/step from the data or from the caller's clip range.
Result<UniformParams> fit_uniform(const TensorView& tensor, int bits, std::optional<int> axis,
                                  std::optional<double> clip_lo, std::optional<double> clip_hi);

// Decoder side: writes `out` (shaped as desc, C-contiguous, of desc's dtype) from the symbols.
Status dequantize(const Symbols& symbols, const format::TensorDesc& desc, Tensor& out);

}  // namespace ftc::quant
