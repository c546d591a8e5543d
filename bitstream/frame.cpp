// docs/format.md §2–§6. Every check here is a MUST of the conformance section.
#include "bitstream/frame.hpp"

#include <cmath>
#include <limits>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace ftc::format {
namespace {

constexpr std::uint64_t kMaxDim = std::uint64_t{1} << 48;  // §3: any dim above is corrupt

Status limit(const std::string& what) { return {StatusCode::limit_exceeded, what}; }

Status read_tensor_desc(ByteReader& r, const DecoderLimits& limits, TensorDesc& t) {
  std::uint64_t len;
  FTC_RETURN_IF_ERROR(r.varint(len));
  std::span<const std::uint8_t> body;
  FTC_RETURN_IF_ERROR(r.bytes(static_cast<std::size_t>(std::min<std::uint64_t>(len, r.remaining() + 1)), body));
  ByteReader b(body, "tensor descriptor");

  std::uint8_t name_len;
  FTC_RETURN_IF_ERROR(b.u8(name_len));
  std::span<const std::uint8_t> name;
  FTC_RETURN_IF_ERROR(b.bytes(name_len, name));
  t.name.assign(name.begin(), name.end());

  std::uint8_t dtype, layout, rank, quantizer, coder;
  FTC_RETURN_IF_ERROR(b.u8(dtype));
  if (!dtype_is_valid(dtype)) return b.corrupt("unknown dtype code " + std::to_string(dtype));
  t.dtype = static_cast<DType>(dtype);
  FTC_RETURN_IF_ERROR(b.u8(layout));
  if (layout > 2) return b.corrupt("unknown layout code " + std::to_string(layout));
  t.layout = static_cast<Layout>(layout);
  FTC_RETURN_IF_ERROR(b.u8(rank));
  if (rank > kMaxRank) return b.corrupt("rank " + std::to_string(rank) + " over 8");
  if (rank > limits.max_rank) return limit("rank " + std::to_string(rank) + " over the decoder's limit");
  t.shape.assign(rank, 0);
  for (auto& d : t.shape) {
    std::uint64_t v;
    FTC_RETURN_IF_ERROR(b.varint_in(v, 0, kMaxDim, "dimension"));
    d = static_cast<std::int64_t>(v);
  }

  FTC_RETURN_IF_ERROR(b.u8(quantizer));
  if (quantizer > 3) return {StatusCode::unsupported_feature, "quantizer id " + std::to_string(quantizer) + " is not known to this decoder"};
  t.quantizer = static_cast<QuantizerKind>(quantizer);
  if (t.quantizer == QuantizerKind::uniform) {
    UniformParams p;
    std::uint8_t bits;
    FTC_RETURN_IF_ERROR(b.u8(bits));
    if (bits < 1 || bits > 16) return b.corrupt("uniform bits " + std::to_string(bits) + " outside 1..16");
    p.bits = bits;
    std::uint64_t axis1;
    FTC_RETURN_IF_ERROR(b.varint_in(axis1, 0, rank, "uniform axis"));
    std::uint64_t groups = 1;
    if (axis1 > 0) {
      p.axis = static_cast<int>(axis1 - 1);
      groups = static_cast<std::uint64_t>(t.shape[*p.axis]);
    }
    if (groups > b.remaining() / 8) return {StatusCode::truncated, "tensor descriptor: uniform parameters for " + std::to_string(groups) + " groups do not fit"};
    p.lo.resize(groups);
    p.step.resize(groups);
    for (std::uint64_t g = 0; g < groups; ++g) {
      FTC_RETURN_IF_ERROR(b.f32le(p.lo[g]));
      FTC_RETURN_IF_ERROR(b.f32le(p.step[g]));
      if (!std::isfinite(p.lo[g]) || !std::isfinite(p.step[g]) || p.step[g] < 0.0f)
        return b.corrupt("uniform lo/step not finite or step negative");
    }
    t.uniform = std::move(p);
  }

  FTC_RETURN_IF_ERROR(b.u8(coder));
  if (coder > 5) return {StatusCode::unsupported_feature, "coder id " + std::to_string(coder) + " is not known to this decoder"};
  t.coder = static_cast<CoderKind>(coder);
  std::uint64_t params_len;
  FTC_RETURN_IF_ERROR(b.varint(params_len));
  if (params_len > b.remaining()) return {StatusCode::truncated, "tensor descriptor: coder parameters run past the descriptor"};
  std::span<const std::uint8_t> params;
  FTC_RETURN_IF_ERROR(b.bytes(static_cast<std::size_t>(params_len), params));
  t.coder_params.assign(params.begin(), params.end());
  FTC_RETURN_IF_ERROR(b.varint(t.chunk_elements));
  // Bytes left in the body are fields of a later minor version: skipped (§3).
  if (len > body.size()) return {StatusCode::truncated, "tensor descriptor runs past the end of the stream"};
  return t.validate(limits);
}

void write_tensor_desc(const TensorDesc& t, ByteWriter& w) {
  std::vector<std::uint8_t> body;
  ByteWriter b(body);
  b.u8(static_cast<std::uint8_t>(t.name.size()));
  b.bytes(t.name.data(), t.name.size());
  b.u8(static_cast<std::uint8_t>(t.dtype));
  b.u8(static_cast<std::uint8_t>(t.layout));
  b.u8(static_cast<std::uint8_t>(t.shape.size()));
  for (auto d : t.shape) b.varint(static_cast<std::uint64_t>(d));
  b.u8(static_cast<std::uint8_t>(t.quantizer));
  if (t.quantizer == QuantizerKind::uniform) {
    const auto& p = *t.uniform;
    b.u8(static_cast<std::uint8_t>(p.bits));
    b.varint(p.axis ? static_cast<std::uint64_t>(*p.axis) + 1 : 0);
    for (std::size_t g = 0; g < p.lo.size(); ++g) {
      b.f32le(p.lo[g]);
      b.f32le(p.step[g]);
    }
  }
  b.u8(static_cast<std::uint8_t>(t.coder));
  b.varint(t.coder_params.size());
  b.bytes(t.coder_params);
  b.varint(t.chunk_elements);
  w.varint(body.size());
  w.bytes(body);
}

}  // namespace

std::uint32_t checksum32(std::span<const std::uint8_t> bytes) {
  return static_cast<std::uint32_t>(XXH3_64bits(bytes.data(), bytes.size()));
}

Status TensorDesc::validate(const DecoderLimits& limits) {
  if (name.size() > 255) return {StatusCode::invalid_argument, "tensor name longer than 255 bytes"};
  if (shape.size() > static_cast<std::size_t>(kMaxRank)) return {StatusCode::corrupt, "rank over 8"};
  for (auto d : shape)
    if (d < 0 || static_cast<std::uint64_t>(d) > kMaxDim) return {StatusCode::corrupt, "dimension out of range"};
  auto n = checked_element_count(shape, limits.max_elements);
  if (!n) return limit("tensor '" + name + "' declares more than " + std::to_string(limits.max_elements) + " elements");
  element_count = *n;
  switch (quantizer) {
    case QuantizerKind::lossless: break;
    case QuantizerKind::uniform: {
      if (!uniform) return {StatusCode::corrupt, "uniform quantizer without parameters"};
      if (uniform->bits < 1 || uniform->bits > 16) return {StatusCode::corrupt, "uniform bits outside 1..16"};
      std::uint64_t groups = 1;
      if (uniform->axis) {
        if (*uniform->axis < 0 || *uniform->axis >= static_cast<int>(shape.size()))
          return {StatusCode::corrupt, "uniform axis outside the rank"};
        groups = static_cast<std::uint64_t>(shape[*uniform->axis]);
      }
      if (uniform->lo.size() != groups || uniform->step.size() != groups)
        return {StatusCode::corrupt, "uniform parameter count does not match the groups"};
      if (groups > std::numeric_limits<std::uint32_t>::max()) return {StatusCode::corrupt, "too many groups"};
      break;
    }
    case QuantizerKind::nonuniform: {
      if (!nonuniform) return {StatusCode::corrupt, "non-uniform quantizer without parameters"};
      const auto& q = *nonuniform;
      if (q.bits < 1 || q.bits > 16) return {StatusCode::corrupt, "non-uniform bits outside 1..16"};
      if (q.levels < 1 || q.levels > (std::uint32_t{1} << q.bits)) return {StatusCode::corrupt, "non-uniform levels outside 1..2^bits"};
      std::uint64_t groups = 1;
      if (q.axis) {
        if (*q.axis < 0 || *q.axis >= static_cast<int>(shape.size())) return {StatusCode::corrupt, "non-uniform axis outside the rank"};
        groups = static_cast<std::uint64_t>(shape[*q.axis]);
      }
      if (q.level.size() != groups * q.levels || q.threshold.size() != groups * (q.levels - 1))
        return {StatusCode::corrupt, "non-uniform parameter count does not match the groups"};
      break;
    }
    case QuantizerKind::cast_f16:
    case QuantizerKind::cast_bf16:
      if (dtype != DType::f32 && dtype != DType::f64)
        return {StatusCode::corrupt, std::string(quantizer_name(quantizer)) + " on dtype " + dtype_name(dtype)};
      break;
  }
  const std::uint64_t ce = effective_chunk_elements();
  chunk_count = element_count == 0 ? 0 : (element_count + ce - 1) / ce;
  if (chunk_count > limits.max_chunks) return limit("tensor '" + name + "' declares " + std::to_string(chunk_count) + " chunks");
  return {};
}

std::uint64_t TensorDesc::chunk_element_count(std::uint64_t c) const {
  const std::uint64_t ce = effective_chunk_elements();
  const std::uint64_t first = c * ce;
  return std::min(ce, element_count - first);
}

Status write_header(FrameHeader& h, std::vector<std::uint8_t>& out) {
  DecoderLimits unlimited;
  unlimited.max_elements = UINT64_MAX;
  unlimited.max_output_bytes = UINT64_MAX;
  unlimited.max_chunks = UINT64_MAX;
  unlimited.max_tensors = UINT32_MAX;
  if (h.flags & kFlagReservedMask) return {StatusCode::invalid_argument, "reserved frame flags set"};
  const std::size_t start = out.size();
  ByteWriter w(out);
  w.bytes(kMagic, 3);
  w.u8(static_cast<std::uint8_t>((h.major << 4) | h.minor));
  std::uint8_t flags = h.flags;
  if (!h.sections.empty()) flags |= kFlagExtensions;
  w.u8(flags);
  if (flags & kFlagModel) {
    w.varint(h.model_id);
    w.u64le(h.model_hash);
  }
  for (auto& t : h.tensors) FTC_RETURN_IF_ERROR(t.validate(unlimited));
  if (!(flags & kFlagModelTensors)) {
    w.varint(h.tensors.size());
    for (const auto& t : h.tensors) write_tensor_desc(t, w);
  }
  if (flags & kFlagExtensions) {
    w.varint(h.sections.size());
    for (const auto& s : h.sections) {
      w.varint(s.tag);
      w.varint(s.body.size());
      w.bytes(s.body);
    }
  }
  w.u32le(checksum32(std::span<const std::uint8_t>(out).subspan(start)));
  return {};
}

void write_chunk(std::span<const std::uint8_t> payload, bool with_checksum, std::vector<std::uint8_t>& out) {
  ByteWriter w(out);
  w.varint(payload.size());
  w.bytes(payload);
  if (with_checksum) w.u32le(checksum32(payload));
}

Result<ParsedFrame> parse_frame(std::span<const std::uint8_t> bytes, const DecoderLimits& limits,
                                bool verify_chunk_checksums, const std::vector<TensorDesc>* model_tensors) {
  ParsedFrame f;
  FrameHeader& h = f.header;
  ByteReader r(bytes, "frame");
  std::span<const std::uint8_t> magic;
  if (bytes.size() < 3) return Status{StatusCode::truncated, "frame: shorter than the 3-byte magic"};
  FTC_RETURN_IF_ERROR(r.bytes(3, magic));
  if (magic[0] != kMagic[0] || magic[1] != kMagic[1] || magic[2] != kMagic[2])
    return Status{StatusCode::corrupt, "frame: not an ftc frame (bad magic)"};
  std::uint8_t version, flags;
  FTC_RETURN_IF_ERROR(r.u8(version));
  h.major = version >> 4;
  h.minor = version & 0x0F;
  if (h.major != kFormatMajor)
    return Status{StatusCode::unsupported_version, "frame: format version " + std::to_string(h.major) + "." +
                                                       std::to_string(h.minor) + " (this decoder reads " +
                                                       std::to_string(kFormatMajor) + ".x)"};
  FTC_RETURN_IF_ERROR(r.u8(flags));
  if (flags & kFlagReservedMask) return Status{StatusCode::corrupt, "frame: reserved flag bits set"};
  if ((flags & kFlagModelTensors) && !(flags & kFlagModel))
    return Status{StatusCode::corrupt, "frame: model tensors without a model reference"};
  h.flags = flags;
  if (flags & kFlagModel) {
    FTC_RETURN_IF_ERROR(r.varint(h.model_id));
    FTC_RETURN_IF_ERROR(r.u64le(h.model_hash));
  }
  if (flags & kFlagModelTensors) {
    if (!model_tensors)
      return Status{StatusCode::model_mismatch, "frame: needs codec model id " + std::to_string(h.model_id) +
                                                    " to describe its tensors; none supplied"};
    h.tensors = *model_tensors;
    for (auto& t : h.tensors) FTC_RETURN_IF_ERROR(t.validate(limits));
  } else {
    std::uint64_t count;
    FTC_RETURN_IF_ERROR(r.varint(count));
    if (count == 0) return Status{StatusCode::corrupt, "frame: declares no tensors"};
    if (count > limits.max_tensors) return limit("frame declares " + std::to_string(count) + " tensors");
    if (count > r.remaining()) return Status{StatusCode::truncated, "frame: tensor count exceeds the stream"};
    h.tensors.resize(static_cast<std::size_t>(count));
    for (auto& t : h.tensors) FTC_RETURN_IF_ERROR(read_tensor_desc(r, limits, t));
  }
  // Frame-wide limits (§7), all arithmetic checked.
  std::uint64_t elements = 0, out_bytes = 0, chunks = 0;
  for (const auto& t : h.tensors) {
    if (t.element_count > limits.max_elements - elements) return limit("frame declares more than " + std::to_string(limits.max_elements) + " elements");
    elements += t.element_count;
    const std::uint64_t tb = t.element_count * dtype_size(t.dtype);
    if (tb > limits.max_output_bytes - out_bytes) return limit("frame declares more than " + std::to_string(limits.max_output_bytes) + " output bytes");
    out_bytes += tb;
    if (t.chunk_count > limits.max_chunks - chunks) return limit("frame declares too many chunks");
    chunks += t.chunk_count;
  }
  if (flags & kFlagExtensions) {
    std::uint64_t count;
    FTC_RETURN_IF_ERROR(r.varint(count));
    if (count > r.remaining() / 2) return Status{StatusCode::truncated, "frame: section count exceeds the stream"};
    for (std::uint64_t i = 0; i < count; ++i) {
      Section s;
      std::uint64_t len;
      FTC_RETURN_IF_ERROR(r.varint(s.tag));
      FTC_RETURN_IF_ERROR(r.varint(len));
      if (len > r.remaining()) return Status{StatusCode::truncated, "frame: section runs past the stream"};
      std::span<const std::uint8_t> body;
      FTC_RETURN_IF_ERROR(r.bytes(static_cast<std::size_t>(len), body));
      // v1 defines no section tags: every tag is unknown here (§5).
      if (s.tag & kSectionCriticalBit)
        return Status{StatusCode::unsupported_feature, "frame: critical extension section " + std::to_string(s.tag) + " is not known to this decoder"};
      s.body.assign(body.begin(), body.end());
      h.sections.push_back(std::move(s));
    }
  }
  const std::size_t checked = r.pos();
  std::uint32_t header_sum;
  FTC_RETURN_IF_ERROR(r.u32le(header_sum));
  if (header_sum != checksum32(bytes.first(checked)))
    return Status{StatusCode::checksum_mismatch, "frame: header checksum does not match"};
  f.header_bytes = r.pos();

  const bool has_sums = !(flags & kFlagNoChunkChecksums);
  const std::size_t min_chunk_bytes = has_sums ? 5 : 1;
  if (chunks > r.remaining() / min_chunk_bytes)
    return Status{StatusCode::truncated, "frame: " + std::to_string(chunks) + " chunks cannot fit in the " + std::to_string(r.remaining()) + " bytes left"};
  f.chunks.reserve(static_cast<std::size_t>(chunks));
  for (std::size_t ti = 0; ti < h.tensors.size(); ++ti) {
    for (std::uint64_t c = 0; c < h.tensors[ti].chunk_count; ++c) {
      ChunkRef ch;
      ch.tensor = ti;
      ch.index = c;
      std::uint64_t len;
      FTC_RETURN_IF_ERROR(r.varint(len));
      if (len > r.remaining()) return Status{StatusCode::truncated, "frame: chunk " + std::to_string(c) + " of tensor " + std::to_string(ti) + " runs past the end"};
      FTC_RETURN_IF_ERROR(r.bytes(static_cast<std::size_t>(len), ch.payload));
      if (has_sums) {
        std::uint32_t s;
        FTC_RETURN_IF_ERROR(r.u32le(s));
        ch.checksum = s;
        if (verify_chunk_checksums && s != checksum32(ch.payload))
          return Status{StatusCode::checksum_mismatch, "frame: checksum of chunk " + std::to_string(c) + " of tensor " + std::to_string(ti) + " does not match"};
      }
      f.chunks.push_back(ch);
    }
  }
  if (!r.at_end())
    return Status{StatusCode::corrupt, "frame: " + std::to_string(r.remaining()) + " bytes after the end of the frame"};
  f.frame_bytes = r.pos();
  return f;
}

}  // namespace ftc::format
