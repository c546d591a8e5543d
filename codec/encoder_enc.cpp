// Encoder: tensor → quantizer → symbols → coder → chunks → frame (docs/format.md).
#include <zstd.h>

#include "bitstream/frame.hpp"
#include "codec/entropy/adaptive.hpp"
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

Status EncoderOptions::validate() const {
  if (quantizer == QuantizerKind::uniform && (bits < 1 || bits > 16))
    return {StatusCode::invalid_argument, "bits must be 1..16, got " + std::to_string(bits)};
  if (clip_lo.has_value() != clip_hi.has_value())
    return {StatusCode::invalid_argument, "give both ends of the clip range or neither"};
  if (coder == CoderKind::zstd && (zstd_level < -7 || zstd_level > ZSTD_maxCLevel()))
    return {StatusCode::invalid_argument, "zstd level must be -7..22, got " + std::to_string(zstd_level)};
  if (static_cast<int>(coder) > 4) return {StatusCode::invalid_argument, "unknown coder"};
  if (rans_lanes != 0 && rans_lanes != 32 && rans_lanes != 64 && rans_lanes != 128)
    return {StatusCode::invalid_argument, "rans lanes must be 0, 32, 64 or 128, got " + std::to_string(rans_lanes)};
  if (coder == CoderKind::rans_wide && rans_lanes == 32)
    return {StatusCode::invalid_argument, "rans-wide runs 64 or 128 lanes (32 lanes is coder rans)"};
  if (threads < 1 || threads > 256) return {StatusCode::invalid_argument, "threads must be 1..256"};
  return {};
}

std::size_t Encoder::bound(std::span<const NamedTensorView> tensors) const noexcept {
  // Header: magic, version, flags, count, checksum; per tensor its largest descriptor (name,
  // dims, uniform parameters, coder parameters); per chunk a length varint, a checksum and the
  // largest payload its coder writes. rANS: every symbol escaped costs at most 16 + bits bits,
  // plus the flushed states.
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

Result<std::vector<std::uint8_t>> Encoder::encode(std::span<const NamedTensorView> tensors) const {
  FTC_RETURN_IF_ERROR(options_.validate());
  if (tensors.empty()) return Status{StatusCode::invalid_argument, "no tensors to encode"};
  format::FrameHeader header;
  if (!options_.chunk_checksums) header.flags |= format::kFlagNoChunkChecksums;
  std::vector<std::vector<std::vector<std::uint8_t>>> payloads(tensors.size());
  entropy::CoderConfig config;
  config.zstd_level = options_.zstd_level;

  for (std::size_t ti = 0; ti < tensors.size(); ++ti) {
    const auto& nt = tensors[ti];
    if (nt.name.size() > 255) return Status{StatusCode::invalid_argument, "tensor name longer than 255 bytes"};
    FTC_RETURN_IF_ERROR(nt.view.validate());
    const std::uint64_t n = nt.view.element_count();
    const std::uint64_t chunk_elements = resolve_chunk_elements(options_, n);
    FTC_ASSIGN_OR_RETURN(quant::QuantizedTensor q, quant::quantize(nt.view, options_, chunk_elements));

    format::TensorDesc d;
    d.name = nt.name;
    d.dtype = nt.view.dtype;
    d.layout = options_.layout;
    d.shape = nt.view.shape_vector();
    d.quantizer = q.kind;
    d.uniform = q.uniform;
    d.coder = options_.coder;
    d.chunk_elements = chunk_elements;
    FTC_RETURN_IF_ERROR(d.validate(DecoderLimits{UINT64_MAX, UINT64_MAX, kMaxRank, UINT32_MAX, UINT64_MAX}));

    config.set_grid(std::span<const std::int64_t>(nt.view.shape.data(), static_cast<std::size_t>(nt.view.rank)));
    if (d.coder == CoderKind::rans || d.coder == CoderKind::rans_wide) {
      const std::uint64_t chunk_symbols = (chunk_elements == 0 ? n : chunk_elements) * d.symbols_per_element;
      d.coder = resolve_rans(options_, chunk_symbols, config.rans_lanes);
    }
    if (d.coder == CoderKind::adaptive) header.minor = std::max(header.minor, 1);
    if (d.coder == CoderKind::rans_wide) header.minor = std::max(header.minor, 2);
    FTC_ASSIGN_OR_RETURN(entropy::EncoderSetup setup, entropy::make_encoder(d.coder, q.symbols.all(), config));
    d.coder_params = std::move(setup.params);
    auto& chunks = payloads[ti];
    chunks.resize(static_cast<std::size_t>(d.chunk_count));
    const entropy::ChunkEncoder& enc = *setup.encoder;
    FTC_RETURN_IF_ERROR(parallel_for(chunks.size(), options_.threads, [&](std::size_t c) {
      const std::uint64_t first = d.chunk_first_element(c) * d.symbols_per_element;
      const std::uint64_t count = d.chunk_element_count(c) * d.symbols_per_element;
      return enc.encode(q.symbols.span(first, count), chunks[c]);
    }));
    header.tensors.push_back(std::move(d));
  }

  std::vector<std::uint8_t> out;
  FTC_RETURN_IF_ERROR(format::write_header(header, out));
  for (const auto& chunks : payloads)
    for (const auto& p : chunks) format::write_chunk(p, options_.chunk_checksums, out);
  return out;
}

}  // namespace ftc
