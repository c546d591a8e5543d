// Decoder: frame → header checks & limits → chunks → entropy decoder → symbols → dequantizer →
// transform (identity) → tensor: encoder_enc.cpp's stages backwards. Every size is checked against
// DecoderLimits (in format::parse_frame) before allocation.
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
  t.bits = quant::symbol_layout(d).bits;
  if (d.uniform && d.uniform->axis) t.channel_axis = *d.uniform->axis;
  t.coder = d.coder;
  t.chunk_elements = d.chunk_elements;
  t.chunk_count = d.chunk_count;
  t.payload_bytes = payload_bytes;
  return t;
}

Status in_chunk(const format::TensorDesc& d, std::uint64_t c, const Status& s) {
  return s.ok() ? s : Status{s.code(), "tensor '" + d.name + "' chunk " + std::to_string(c) + ": " + s.message()};
}

// One tensor through the stages backwards: chunk payloads → entropy decoder → symbols →
// dequantizer. `chunks` are the tensor's chunk_count payloads.
Result<Tensor> decode_tensor(const format::TensorDesc& d, std::span<const format::ChunkRef> chunks, ThreadPool* pool,
                             int threads) {
  const quant::SymbolLayout layout = quant::symbol_layout(d);
  FTC_ASSIGN_OR_RETURN(auto decoder, entropy::make_decoder(d.coder, d.coder_params, layout.bits, layout.ctx));
  for (std::uint64_t c = 0; c < d.chunk_count; ++c)
    FTC_RETURN_IF_ERROR(in_chunk(d, c, decoder->check_size(chunks[c].payload, static_cast<std::size_t>(d.chunk_element_count(c) * layout.per_element))));
  FTC_ASSIGN_OR_RETURN(Symbols symbols, Symbols::allocate(d.element_count * layout.per_element, layout.bits, layout.ctx));
  FTC_RETURN_IF_ERROR(parallel_for(pool, static_cast<std::size_t>(d.chunk_count), threads, [&](std::size_t c) {
    const MutableSymbolSpan span = symbols.mutable_span(d.chunk_first_element(c) * layout.per_element,
                                                        d.chunk_element_count(c) * layout.per_element);
    return in_chunk(d, c, decoder->decode(chunks[c].payload, span));
  }));
  FTC_ASSIGN_OR_RETURN(Tensor t, Tensor::zeros(d.dtype, d.shape));
  FTC_RETURN_IF_ERROR(quant::dequantize(symbols, d, t));
  return t;
}

}  // namespace

Decoder::Decoder(DecoderLimits limits) : limits_(limits), pool_(std::make_shared<detail::PoolSlot>()) {}

void Decoder::set_pool(std::shared_ptr<ThreadPool> pool) {
  std::lock_guard<std::mutex> lock(pool_->mutex);
  pool_->pool = std::move(pool);
}

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
  const std::shared_ptr<ThreadPool> pool = pool_->get(threads);
  std::vector<NamedTensor> out;
  out.reserve(f.header.tensors.size());
  std::size_t chunk_base = 0;
  for (const auto& d : f.header.tensors) {
    const auto chunks = std::span<const format::ChunkRef>(f.chunks).subspan(chunk_base, static_cast<std::size_t>(d.chunk_count));
    FTC_ASSIGN_OR_RETURN(Tensor t, decode_tensor(d, chunks, pool.get(), threads));
    chunk_base += static_cast<std::size_t>(d.chunk_count);
    out.push_back({d.name, std::move(t)});
  }
  return out;
}

}  // namespace ftc
