// Symbol layout of each quantizer (docs/format.md §4): shared by the encoder and the decoder.
#include "codec/quant/quantize.hpp"

namespace ftc::quant {

SymbolLayout symbol_layout(const format::TensorDesc& d) {
  SymbolLayout l;
  switch (d.quantizer) {
    case QuantizerKind::lossless:
      l.bits = 8;
      l.per_element = static_cast<std::uint32_t>(dtype_size(d.dtype));
      break;
    case QuantizerKind::uniform:
      l.bits = d.uniform ? d.uniform->bits : 8;
      if (d.uniform && d.uniform->axis) l.ctx = ContextMap::along(d.shape, *d.uniform->axis);
      break;
    case QuantizerKind::nonuniform:
      l.bits = d.nonuniform ? d.nonuniform->bits : 8;
      if (d.nonuniform && d.nonuniform->axis) l.ctx = ContextMap::along(d.shape, *d.nonuniform->axis);
      break;
    case QuantizerKind::cast_f16:
    case QuantizerKind::cast_bf16:
      l.bits = 16;
      break;
  }
  return l;
}

}  // namespace ftc::quant
