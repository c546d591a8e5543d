// Decoder: frame → header checks & limits → chunks → entropy decoder → symbols → dequantizer →
// transform (identity) → tensor: encoder_enc.cpp's stages backwards. Every size is checked against
// DecoderLimits (in format::parse_frame) before allocation; coder tables against the frame's
// table budget (frame_table_budget) before they are built.
#include "bitstream/compact_frame.hpp"
#include "bitstream/frame.hpp"
#include "codec/model/codec_model.hpp"
#include "codec/transform/transform.hpp"

#include <cstdio>
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

// A tensor's chunk decoder, its tables charged to the frame's budget first (docs/format.md §7.1).
// `frame_bytes` and `elements` are the budget's inputs, for the message.
Result<std::unique_ptr<entropy::ChunkDecoder>> tensor_decoder(const format::TensorDesc& d, entropy::TableBudget& budget,
                                                              const DecoderLimits& limits, std::uint64_t frame_bytes,
                                                              std::uint64_t elements) {
  const quant::SymbolLayout layout = quant::symbol_layout(d);
  auto dec = entropy::make_decoder(d.coder, d.coder_params, layout.bits, layout.ctx, &budget);
  if (!dec.ok() && budget.exceeded())
    return Status{StatusCode::limit_exceeded,
                  "tensor '" + d.name + "': coder tables declare over " + std::to_string(budget.limit) +
                      " table entries (at least " + std::to_string(budget.used) + " with the tensors before it); the frame's budget is min(max_table_entries " +
                      std::to_string(limits.max_table_entries) + ", 16 * " + std::to_string(frame_bytes) + " frame bytes + " +
                      std::to_string(elements) + " output elements + 2^20)"};
  return dec;
}

// One tensor through the stages backwards: chunk payloads → entropy decoder → symbols →
// dequantizer. `chunks` are the tensor's chunk_count payloads.
Result<Tensor> decode_tensor(const format::TensorDesc& d, const entropy::ChunkDecoder& decoder,
                             std::span<const format::ChunkRef> chunks, ThreadPool* pool, int threads) {
  const quant::SymbolLayout layout = quant::symbol_layout(d);
  for (std::uint64_t c = 0; c < d.chunk_count; ++c)
    FTC_RETURN_IF_ERROR(in_chunk(d, c, decoder.check_size(chunks[c].payload, static_cast<std::size_t>(d.chunk_element_count(c) * layout.per_element))));
  FTC_ASSIGN_OR_RETURN(Symbols symbols, Symbols::allocate(d.element_count * layout.per_element, layout.bits, layout.ctx));
  FTC_RETURN_IF_ERROR(parallel_for(pool, static_cast<std::size_t>(d.chunk_count), threads, [&](std::size_t c) {
    const MutableSymbolSpan span = symbols.mutable_span(d.chunk_first_element(c) * layout.per_element,
                                                        d.chunk_element_count(c) * layout.per_element);
    return in_chunk(d, c, decoder.decode(chunks[c].payload, span));
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

Status Decoder::add_codec_model(std::shared_ptr<const CodecModel> model) {
  if (!model) return {StatusCode::invalid_argument, "no codec model"};
  for (const auto& m : models_) {
    if (m->hash() == model->hash()) return {};
    if ((m->id() & 0xFF) == (model->id() & 0xFF))
      return {StatusCode::invalid_argument, "codec model id " + std::to_string(model->id()) + " has the selector of the registered model id " +
                                                std::to_string(m->id()) + " (id mod 256)"};
  }
  models_.push_back(std::move(model));
  return {};
}

// The registered model a compact frame names, after its check (docs/format.md §2.3).
Result<const CodecModel*> Decoder::model_of_compact(std::span<const std::uint8_t> frame) const {
  FTC_ASSIGN_OR_RETURN(format::CompactFrame f, format::parse_compact_frame(frame));
  const CodecModel* m = nullptr;
  for (const auto& c : models_)
    if ((c->id() & 0xFF) == f.model_selector) m = c.get();
  if (!m) {
    std::string have;
    for (const auto& c : models_) have += (have.empty() ? "" : ", ") + std::to_string(c->id());
    return Status{StatusCode::model_mismatch, "model-bound frame names codec model selector " + std::to_string(f.model_selector) +
                                                  " (id mod 256); registered models: " + (have.empty() ? "none" : "ids " + have)};
  }
  if (static_cast<std::size_t>(f.rate_point) >= m->rate_point_count())
    return Status{StatusCode::model_mismatch, "model-bound frame names rate point " + std::to_string(f.rate_point) +
                                                  "; codec model id " + std::to_string(m->id()) + " has " + std::to_string(m->rate_point_count())};
  if (format::compact_check(m->hash(), frame[0], frame[1], f.payload) != f.check) {
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(m->hash()));
    return Status{StatusCode::checksum_mismatch, "model-bound frame: check fails: corrupt, or encoded with another model than id " +
                                                     std::to_string(m->id()) + " (hash " + hash + ")"};
  }
  return m;
}

Result<std::vector<NamedTensor>> Decoder::decode_compact(std::span<const std::uint8_t> frame) const {
  FTC_ASSIGN_OR_RETURN(const CodecModel* m, model_of_compact(frame));
  const auto& point = m->impl().points[frame[0] & 0x0F];
  const auto& decl = m->impl().file.tensors[0];
  auto n = checked_element_count(decl.shape, limits_.max_elements);
  if (!n || *n * dtype_size(decl.dtype) > limits_.max_output_bytes)
    return Status{StatusCode::limit_exceeded, "codec model tensor '" + decl.name + "' is over the decoder's limits"};
  format::ChunkRef chunk;
  chunk.payload = frame.subspan(format::kCompactHeaderBytes);
  const std::size_t count = point.desc.chunk_count == 0 ? 0 : 1;
  // The rate point's decoder was built when the model was loaded: nothing is charged per frame.
  FTC_ASSIGN_OR_RETURN(Tensor coded, decode_tensor(point.desc, *point.decoder, std::span<const format::ChunkRef>(&chunk, count), nullptr, 1));
  FTC_ASSIGN_OR_RETURN(Tensor t, transform::inverse(std::move(coded), decl, point.transform));
  std::vector<NamedTensor> out;
  out.push_back({decl.name, std::move(t)});
  return out;
}

Result<FrameInfo> Decoder::inspect(std::span<const std::uint8_t> frame) const {
  if (format::is_compact_frame(frame)) {
    FTC_ASSIGN_OR_RETURN(const CodecModel* m, model_of_compact(frame));
    const auto& point = m->impl().points[frame[0] & 0x0F];
    FrameInfo info;
    info.format_major = 1;
    info.format_minor = 3;
    info.frame_bytes = frame.size();
    info.header_bytes = format::kCompactHeaderBytes;
    info.model_id = m->id();
    info.model_hash = m->hash();
    info.rate_point = frame[0] & 0x0F;
    TensorInfo t = info_of(point.desc, frame.size() - format::kCompactHeaderBytes);
    t.shape = m->tensor_shape();
    info.tensors.push_back(std::move(t));
    return info;
  }
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
  if (format::is_compact_frame(frame)) return decode_compact(frame);
  FTC_ASSIGN_OR_RETURN(format::ParsedFrame f, format::parse_frame(frame, limits_));
  // Every tensor's tables first, against one budget for the frame (docs/format.md §7.1), so that
  // a frame over it is refused before any table is built past the budget or any payload decoded.
  std::uint64_t elements = 0;  // ≤ max_elements (parse_frame): no overflow
  for (const auto& d : f.header.tensors) elements += d.element_count;
  entropy::TableBudget budget{frame_table_budget(limits_, f.frame_bytes, elements)};
  std::vector<std::unique_ptr<entropy::ChunkDecoder>> decoders;
  decoders.reserve(f.header.tensors.size());
  for (const auto& d : f.header.tensors) {
    FTC_ASSIGN_OR_RETURN(auto dec, tensor_decoder(d, budget, limits_, f.frame_bytes, elements));
    decoders.push_back(std::move(dec));
  }
  const std::shared_ptr<ThreadPool> pool = pool_->get(threads);
  std::vector<NamedTensor> out;
  out.reserve(f.header.tensors.size());
  std::size_t chunk_base = 0;
  for (std::size_t i = 0; i < f.header.tensors.size(); ++i) {
    const auto& d = f.header.tensors[i];
    const auto chunks = std::span<const format::ChunkRef>(f.chunks).subspan(chunk_base, static_cast<std::size_t>(d.chunk_count));
    FTC_ASSIGN_OR_RETURN(Tensor t, decode_tensor(d, *decoders[i], chunks, pool.get(), threads));
    decoders[i].reset();  // its tables are not needed any more
    chunk_base += static_cast<std::size_t>(d.chunk_count);
    out.push_back({d.name, std::move(t)});
  }
  return out;
}

}  // namespace ftc
