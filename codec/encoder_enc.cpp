// Encoder: view → transform (identity) → quantizer → symbols → entropy coder → chunks → frame
// (docs/format.md; docs/architecture.md names the stages). decoder_dec.cpp runs the same stages
// backwards.
#include <algorithm>

#include <zstd.h>

#include "bitstream/compact_frame.hpp"
#include "bitstream/frame.hpp"
#include "codec/model/codec_model.hpp"
#include "codec/transform/transform.hpp"
#include "codec/entropy/adaptive.hpp"
#include "codec/entropy/context_rans.hpp"
#include "codec/entropy/rans.hpp"
#include "codec/parallel.hpp"
#include "codec/quant/quantize.hpp"

namespace ftc {
namespace {

constexpr std::uint64_t kDefaultChunkElements = std::uint64_t{1} << 20;

std::uint64_t resolve_chunk_elements(const EncoderOptions& o, std::uint64_t n) {
  if (o.chunk_elements != 0) return o.chunk_elements >= n ? 0 : o.chunk_elements;
  return n <= kDefaultChunkElements ? 0 : kDefaultChunkElements;
}

// rANS worst case: each symbol costs at most `precision` ≤ 16 bits for its slot plus `bits` raw
// bits when escaped; up to 128 flushed 32-bit states; a few bytes of lane header.
std::uint64_t rans_worst_payload(std::uint64_t count, int bits) {
  return (count * static_cast<std::uint64_t>(16 + bits) + 7) / 8 + entropy::kRansMaxLanes * 4 + 64;
}

// The coder id and state count a rans tensor is written with (EncoderOptions::rans_lanes).
CoderKind resolve_rans(const EncoderOptions& o, std::uint64_t chunk_symbols, std::uint32_t& lanes) {
  lanes = o.rans_lanes != 0 ? static_cast<std::uint32_t>(o.rans_lanes) : entropy::rans_auto_lanes(chunk_symbols);
  if (o.coder == CoderKind::rans_wide && lanes < 64) lanes = 64;
  return lanes == static_cast<std::uint32_t>(entropy::kRansLanes) ? CoderKind::rans : CoderKind::rans_wide;
}

}  // namespace

Encoder::Encoder(EncoderOptions options)
    : options_(std::move(options)), pool_(std::make_shared<detail::PoolSlot>()) {}

void Encoder::set_pool(std::shared_ptr<ThreadPool> pool) {
  std::lock_guard<std::mutex> lock(pool_->mutex);
  pool_->pool = std::move(pool);
}

std::size_t Encoder::bound(std::span<const NamedTensorView> tensors) const noexcept {
  // Header: magic, version, flags, count, checksum; per tensor its largest descriptor (name,
  // dims, uniform parameters, coder parameters); per chunk a length varint, a checksum and the
  // largest payload its coder writes. rANS: every symbol escaped costs at most 16 + bits bits,
  // plus the flushed states.
  if (options_.codec_model) {
    // Compact frame: 6 header bytes and one payload of the coded elements; every coder's payload
    // is at most 16 + bits bits a symbol plus its final states.
    const CodecModel& m = *options_.codec_model;
    if (tensors.size() != 1 || options_.rate_point < 0 || static_cast<std::size_t>(options_.rate_point) >= m.rate_point_count())
      return 0;
    const std::uint64_t n = m.coded_elements(static_cast<std::size_t>(options_.rate_point));
    return static_cast<std::size_t>(format::kCompactHeaderBytes + rans_worst_payload(n, 16) + 64);
  }
  std::size_t total = 3 + 1 + 1 + 10 + 4;
  for (const auto& nt : tensors) {
    const auto& v = nt.view;
    if (!v.validate().ok()) return 0;
    const std::uint64_t n = v.element_count();
    std::uint64_t max_dim = 1;
    for (int d = 0; d < v.rank; ++d) max_dim = std::max<std::uint64_t>(max_dim, static_cast<std::uint64_t>(v.shape[d]));
    const int bits = options_.quantizer == QuantizerKind::uniform ? options_.bits
                   : options_.quantizer == QuantizerKind::lossless ? 8 : 16;
    const std::uint64_t spe = options_.quantizer == QuantizerKind::lossless ? dtype_size(v.dtype) : 1;
    total += 10 + 1 + 255 + 3 + 10 * kMaxRank + 2 + 10 + 8 * max_dim + 1 + 10 + 10;
    total += 1 + entropy::max_params_size(options_.coder, bits, static_cast<std::uint32_t>(std::min<std::uint64_t>(max_dim, UINT32_MAX)));
    const std::uint64_t ce = resolve_chunk_elements(options_, n) == 0 ? std::max<std::uint64_t>(n, 1) : resolve_chunk_elements(options_, n);
    for (std::uint64_t first = 0; first < n; first += ce) {
      const std::uint64_t count = std::min(ce, n - first) * spe;
      std::uint64_t payload = 0;
      switch (options_.coder) {
        case CoderKind::raw: payload = (count * static_cast<std::uint64_t>(bits) + 7) / 8; break;
        case CoderKind::zstd: payload = ZSTD_compressBound(static_cast<std::size_t>(count * (bits <= 8 ? 1 : 2))); break;
        case CoderKind::rans:
        case CoderKind::rans_wide: payload = rans_worst_payload(count, bits); break;
        case CoderKind::adaptive: payload = entropy::adaptive_max_payload(count, bits); break;
        case CoderKind::context_rans: payload = entropy::context_rans_max_payload(count); break;
      }
      total += static_cast<std::size_t>(payload) + 10 + 4;
    }
  }
  return total;
}

Result<std::vector<std::uint8_t>> Encoder::encode(const TensorView& tensor) const {
  NamedTensorView nt{"", tensor};
  return encode(std::span<const NamedTensorView>(&nt, 1));
}

namespace {

Status refused(const std::string& why) {
  return {StatusCode::invalid_argument, "the decoder this frame is for would refuse it: " + why};
}

// One tensor through the stages: quantizer → entropy coder → chunk payloads. Fills `d` (the
// tensor's descriptor) and `chunks`; raises `minor` to the format version the coder needs.
Status encode_tensor(const NamedTensorView& nt, const EncoderOptions& o, ThreadPool* pool,
                     format::TensorDesc& d, std::vector<std::vector<std::uint8_t>>& chunks, int& minor) {
  if (nt.name.size() > 255) return Status{StatusCode::invalid_argument, "tensor name longer than 255 bytes"};
  FTC_RETURN_IF_ERROR(nt.view.validate());
  const std::uint64_t n = nt.view.element_count();
  d.name = nt.name;
  d.dtype = nt.view.dtype;
  d.layout = o.layout;
  d.shape = nt.view.shape_vector();
  d.coder = o.coder;
  d.chunk_elements = resolve_chunk_elements(o, n);
  FTC_ASSIGN_OR_RETURN(Symbols symbols, quant::quantize(nt.view, o, d));
  FTC_RETURN_IF_ERROR(d.validate(DecoderLimits{UINT64_MAX, UINT64_MAX, kMaxRank, UINT32_MAX, UINT64_MAX, UINT64_MAX}));
  const quant::SymbolLayout layout = quant::symbol_layout(d);

  entropy::CoderConfig config;
  config.zstd_level = o.zstd_level;
  config.set_grid(d.shape);
  if (d.coder == CoderKind::rans || d.coder == CoderKind::rans_wide)
    d.coder = resolve_rans(o, d.effective_chunk_elements() * layout.per_element, config.rans_lanes);
  if (d.coder == CoderKind::adaptive) minor = std::max(minor, 1);
  if (d.coder == CoderKind::rans_wide) minor = std::max(minor, 2);
  if (d.coder == CoderKind::context_rans) minor = std::max(minor, 3);
  FTC_ASSIGN_OR_RETURN(entropy::EncoderSetup setup, entropy::make_encoder(d.coder, symbols.all(), config));
  d.coder_params = std::move(setup.params);

  chunks.resize(static_cast<std::size_t>(d.chunk_count));
  const entropy::ChunkEncoder& enc = *setup.encoder;
  return parallel_for(pool, chunks.size(), o.threads, [&](std::size_t c) {
    const std::uint64_t first = d.chunk_first_element(c) * layout.per_element;
    const std::uint64_t count = d.chunk_element_count(c) * layout.per_element;
    return enc.encode(symbols.span(first, count), chunks[c]);
  });
}

// A model-bound frame (docs/format.md §2.3): the model's transform, quantizer and tables at the
// options' rate point; one tensor, one chunk.
Result<std::vector<std::uint8_t>> encode_with_model(std::span<const NamedTensorView> tensors, const EncoderOptions& o) {
  const CodecModel& m = *o.codec_model;
  if (o.rate_point < 0 || static_cast<std::size_t>(o.rate_point) >= m.rate_point_count())
    return Status{StatusCode::invalid_argument, "rate point " + std::to_string(o.rate_point) + " outside the model's 0.." +
                                                    std::to_string(m.rate_point_count() - 1)};
  if (tensors.size() != 1) return Status{StatusCode::invalid_argument, "a codec model codes exactly one tensor a frame"};
  const TensorView& v = tensors[0].view;
  FTC_RETURN_IF_ERROR(v.validate());
  if (v.dtype != m.tensor_dtype() || v.shape_vector() != m.tensor_shape())
    return Status{StatusCode::invalid_argument, "tensor does not match the codec model's '" + m.tensor_name() + "' (dtype and shape)"};
  // As Decoder::decode_compact checks the model's tensor (its tables were built at model load).
  const std::uint64_t n = v.element_count();
  if (n > o.decoder_limits.max_elements || n * dtype_size(v.dtype) > o.decoder_limits.max_output_bytes)
    return refused("codec model tensor '" + m.tensor_name() + "' is over its max_elements " + std::to_string(o.decoder_limits.max_elements) +
                   " or max_output_bytes " + std::to_string(o.decoder_limits.max_output_bytes));
  const auto& point = m.impl().points[static_cast<std::size_t>(o.rate_point)];
  FTC_ASSIGN_OR_RETURN(Tensor coded, transform::forward(v, point.transform));
  FTC_ASSIGN_OR_RETURN(Symbols symbols, quant::quantize_fixed(coded.view(), point.desc));
  // Symbols the tables cannot code (a value beyond the fitted range, e.g. a learned latent's
  // table narrower than 2^bits) clamp to the largest one they can.
  if (symbols.bits <= 8) {
    const auto top = static_cast<std::uint8_t>(std::min<std::uint32_t>(point.max_symbol, 0xFFu));
    for (auto& s : symbols.storage) s = std::min(s, top);
  } else {
    auto* p = reinterpret_cast<std::uint16_t*>(symbols.storage.data());
    const auto top = static_cast<std::uint16_t>(point.max_symbol);
    for (std::uint64_t i = 0; i < symbols.count; ++i) p[i] = std::min(p[i], top);
  }
  entropy::CoderConfig config;
  config.set_grid(point.desc.shape);
  config.fixed_params = point.desc.coder_params;
  FTC_ASSIGN_OR_RETURN(entropy::EncoderSetup setup, entropy::make_encoder(point.desc.coder, symbols.all(), config));
  std::vector<std::uint8_t> payload;
  FTC_RETURN_IF_ERROR(setup.encoder->encode(symbols.all(), payload));
  std::vector<std::uint8_t> out;
  out.reserve(payload.size() + format::kCompactHeaderBytes);
  format::write_compact_frame(o.rate_point, m.id(), m.hash(), payload, out);
  return out;
}

// The frame-wide limits a decoder checks in format::parse_frame (docs/format.md §7), checked here
// on the views and the chunking before anything is coded. Views are valid.
Status check_decoder_limits(std::span<const NamedTensorView> tensors, const EncoderOptions& o) {
  const DecoderLimits& l = o.decoder_limits;
  if (tensors.size() > l.max_tensors)
    return refused(std::to_string(tensors.size()) + " tensors, over its max_tensors " + std::to_string(l.max_tensors));
  // Invariant: elements ≤ max_elements, bytes ≤ max_output_bytes, chunks ≤ max_chunks.
  std::uint64_t elements = 0, bytes = 0, chunks = 0;
  for (const auto& nt : tensors) {
    const TensorView& v = nt.view;
    const std::string what = "tensor '" + nt.name + "': ";
    if (v.rank > l.max_rank)
      return refused(what + "rank " + std::to_string(v.rank) + ", over its max_rank " + std::to_string(l.max_rank));
    const std::uint64_t n = v.element_count();
    if (n > l.max_elements - elements)
      return refused(what + std::to_string(n) + " elements bring the frame past its max_elements " + std::to_string(l.max_elements));
    elements += n;
    if (n > (l.max_output_bytes - bytes) / dtype_size(v.dtype))
      return refused(what + std::to_string(n) + " elements of " + std::to_string(dtype_size(v.dtype)) +
                     " bytes bring the frame past its max_output_bytes " + std::to_string(l.max_output_bytes));
    bytes += n * dtype_size(v.dtype);
    const std::uint64_t ce = resolve_chunk_elements(o, n);
    const std::uint64_t c = n == 0 ? 0 : ce == 0 ? 1 : (n + ce - 1) / ce;  // as TensorDesc::validate
    if (c > l.max_chunks - chunks)
      return refused(what + std::to_string(c) + " chunks of " + std::to_string(ce == 0 ? n : ce) +
                     " elements bring the frame past its max_chunks " + std::to_string(l.max_chunks));
    chunks += c;
  }
  return {};
}

// The written frame against the decoder's limits as the decoder applies them: its header and
// chunk table (format::parse_frame), then the tables of every tensor against the frame's table
// budget (docs/format.md §7.1).
Status check_frame_for_decoder(std::span<const std::uint8_t> frame, const EncoderOptions& o) {
  const DecoderLimits& l = o.decoder_limits;
  auto parsed = format::parse_frame(frame, l, /*verify_chunk_checksums=*/false);
  if (!parsed.ok()) return refused(parsed.status().message());
  std::uint64_t elements = 0, entries = 0;
  for (const auto& d : parsed->header.tensors) elements += d.element_count;
  const std::uint64_t budget = frame_table_budget(l, frame.size(), elements);
  for (const auto& d : parsed->header.tensors) {
    const quant::SymbolLayout layout = quant::symbol_layout(d);
    FTC_ASSIGN_OR_RETURN(std::uint64_t n, entropy::table_entries(d.coder, d.coder_params, layout.bits, layout.ctx));
    entries += n;
    if (entries > budget)
      return refused("tensor '" + d.name + "': coder tables of " + std::to_string(n) + " entries bring the frame to " +
                     std::to_string(entries) + ", over its table budget " + std::to_string(budget) +
                     " = min(max_table_entries " + std::to_string(l.max_table_entries) + ", 16 * " +
                     std::to_string(frame.size()) + " frame bytes + " + std::to_string(elements) + " elements + 2^20)");
  }
  return {};
}

}  // namespace

Result<std::vector<std::uint8_t>> Encoder::encode(std::span<const NamedTensorView> tensors) const {
  FTC_RETURN_IF_ERROR(options_.validate());
  if (options_.codec_model) return encode_with_model(tensors, options_);
  if (tensors.empty()) return Status{StatusCode::invalid_argument, "no tensors to encode"};
  format::FrameHeader header;
  if (!options_.chunk_checksums) header.flags |= format::kFlagNoChunkChecksums;
  for (const auto& nt : tensors) FTC_RETURN_IF_ERROR(nt.view.validate());
  FTC_RETURN_IF_ERROR(check_decoder_limits(tensors, options_));
  header.tensors.resize(tensors.size());
  std::vector<std::vector<std::vector<std::uint8_t>>> payloads(tensors.size());
  const std::shared_ptr<ThreadPool> pool = pool_->get(options_.threads);
  for (std::size_t ti = 0; ti < tensors.size(); ++ti)
    FTC_RETURN_IF_ERROR(encode_tensor(tensors[ti], options_, pool.get(), header.tensors[ti], payloads[ti], header.minor));

  std::vector<std::uint8_t> out;
  FTC_RETURN_IF_ERROR(format::write_header(header, out));
  for (const auto& chunks : payloads)
    for (const auto& p : chunks) format::write_chunk(p, options_.chunk_checksums, out);
  FTC_RETURN_IF_ERROR(check_frame_for_decoder(out, options_));
  return out;
}

}  // namespace ftc
