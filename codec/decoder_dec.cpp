// Decoder: frame → header checks & limits → chunks → coder → symbols → reconstruction.
// Every size is checked against DecoderLimits (in format::parse_frame) before allocation.
#include <new>

#include "bitstream/frame.hpp"
#include "codec/entropy/coder.hpp"
#include "codec/parallel.hpp"
#include "codec/quant/quantize.hpp"

namespace ftc {
namespace {

TensorInfo info_of(const format::TensorDesc& d, std::uint64_t payload_bytes) {
  TensorInfo t;
  t.name = d.name;
  t.dtype = d.dtype;
  t.shape = d.shape;
  t.layout = d.layout;
  t.quantizer = d.quantizer;
  t.bits = d.symbol_bits;
  if (d.uniform && d.uniform->axis) t.channel_axis = *d.uniform->axis;
  t.coder = d.coder;
  t.chunk_elements = d.chunk_elements;
  t.chunk_count = d.chunk_count;
  t.payload_bytes = payload_bytes;
  return t;
}

Result<quant::Symbols> alloc_symbols(const format::TensorDesc& d) {
  quant::Symbols s;
  s.count = d.element_count * d.symbols_per_element;
  s.bits = d.symbol_bits;
  s.ctx = d.context_map();
  try {
    s.storage.resize(static_cast<std::size_t>(s.count) * s.symbol_bytes());
  } catch (const std::bad_alloc&) {
    return Status{StatusCode::out_of_memory, "symbol buffer of " + std::to_string(s.count) + " symbols"};
  }
  return s;
}

}  // namespace

Result<FrameInfo> Decoder::inspect(std::span<const std::uint8_t> frame) const {
  FTC_ASSIGN_OR_RETURN(format::ParsedFrame f, format::parse_frame(frame, limits_, /*verify_chunk_checksums=*/false));
  FrameInfo info;
  info.format_major = f.header.major;
  info.format_minor = f.header.minor;
  info.frame_bytes = f.frame_bytes;
  info.header_bytes = f.header_bytes;
  info.chunk_checksums = !(f.header.flags & format::kFlagNoChunkChecksums);
  if (f.header.flags & format::kFlagModel) {
    info.model_id = f.header.model_id;
    info.model_hash = f.header.model_hash;
  }
  std::vector<std::uint64_t> payload(f.header.tensors.size(), 0);
  for (const auto& c : f.chunks) payload[c.tensor] += c.payload.size();
  for (std::size_t i = 0; i < f.header.tensors.size(); ++i) info.tensors.push_back(info_of(f.header.tensors[i], payload[i]));
  return info;
}

Result<std::vector<NamedTensor>> Decoder::decode(std::span<const std::uint8_t> frame) const {
  FTC_ASSIGN_OR_RETURN(format::ParsedFrame f, format::parse_frame(frame, limits_));
  std::vector<NamedTensor> out;
  out.reserve(f.header.tensors.size());
  std::size_t chunk_base = 0;
  for (const auto& d : f.header.tensors) {
    FTC_ASSIGN_OR_RETURN(auto decoder, entropy::make_decoder(d.coder, d.coder_params, d.symbol_bits, d.context_map()));
    for (std::uint64_t c = 0; c < d.chunk_count; ++c) {
      Status s = decoder->check_size(f.chunks[chunk_base + static_cast<std::size_t>(c)].payload,
                                     static_cast<std::size_t>(d.chunk_element_count(c) * d.symbols_per_element));
      if (!s.ok()) return Status{s.code(), "tensor '" + d.name + "' chunk " + std::to_string(c) + ": " + s.message()};
    }
    FTC_ASSIGN_OR_RETURN(quant::Symbols symbols, alloc_symbols(d));
    const std::size_t sb = symbols.symbol_bytes();
    FTC_RETURN_IF_ERROR(parallel_for(static_cast<std::size_t>(d.chunk_count), threads, [&](std::size_t c) {
      const std::uint64_t first = d.chunk_first_element(c) * d.symbols_per_element;
      entropy::MutableSymbolSpan span;
      span.data = symbols.storage.data() + first * sb;
      span.count = static_cast<std::size_t>(d.chunk_element_count(c) * d.symbols_per_element);
      span.bits = d.symbol_bits;
      span.first_index = first;
      span.ctx = symbols.ctx;
      Status s = decoder->decode(f.chunks[chunk_base + c].payload, span);
      if (!s.ok())
        return Status{s.code(), "tensor '" + d.name + "' chunk " + std::to_string(c) + ": " + s.message()};
      return s;
    }));
    chunk_base += static_cast<std::size_t>(d.chunk_count);

    FTC_ASSIGN_OR_RETURN(Tensor t, Tensor::zeros(d.dtype, d.shape));
    switch (d.quantizer) {
      case QuantizerKind::uniform: FTC_RETURN_IF_ERROR(quant::dequantize_uniform(symbols, *d.uniform, t)); break;
      case QuantizerKind::cast_f16:
      case QuantizerKind::cast_bf16: FTC_RETURN_IF_ERROR(quant::decast(symbols, d.quantizer, t)); break;
      case QuantizerKind::lossless: FTC_RETURN_IF_ERROR(quant::unshuffle(symbols, d.chunk_elements, t)); break;
    }
    out.push_back({d.name, std::move(t)});
  }
  return out;
}

}  // namespace ftc
