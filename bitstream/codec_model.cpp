// Codec model file reader, docs/format-model.md §2–§11. Every check here is a MUST of that
// document; the section next to each function is the one it reads. Arrays are allocated only
// after their declared size has been checked, with arithmetic that cannot overflow, against the
// limits and against the bytes that remain in the enclosing structure (§9), so the memory a file
// can make the reader allocate is linear in the file's size.
#include "bitstream/codec_model.hpp"

#include <cmath>
#include <limits>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace ftc::model {
namespace {

constexpr std::uint64_t kMaxDim = std::uint64_t{1} << 48;  // §4: a larger dim is corrupt

Status limit(const std::string& what) { return {StatusCode::limit_exceeded, "codec model: " + what}; }
Status truncated(const std::string& what) { return {StatusCode::truncated, "codec model: " + what}; }
Status unsupported(const std::string& what) { return {StatusCode::unsupported_feature, "codec model: " + what}; }

// Well-formed UTF-8 (RFC 3629): shortest forms only, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::span<const std::uint8_t> s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const std::uint8_t c = s[i];
    if (c < 0x80) { ++i; continue; }
    std::size_t n;
    std::uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1Fu; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0Fu; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07u; min = 0x10000; }
    else return false;
    if (s.size() - i <= n) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const std::uint8_t b = s[i + k];
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

class Parser {
 public:
  Parser(std::span<const std::uint8_t> file, const ModelLimits& limits) : file_(file), lim_(limits) {}
  Result<CodecModelFile> run();

 private:
  // A reader over file_[begin, end): positions in its messages are offsets in the file.
  ByteReader sub(std::size_t begin, std::size_t end) const {
    ByteReader r(file_.first(end), "codec model");
    (void)r.skip(begin);
    return r;
  }
  Status read_string(ByteReader& r, std::size_t n, std::string& out, const char* what) const;
  Status read_floats(ByteReader& r, std::uint64_t n, std::vector<float>& out, const char* what) const;
  Status read_decl(ByteReader& r, TensorDecl& d) const;
  Status read_tensors(ByteReader& r);
  Status read_rate_point(ByteReader& r);
  Status read_record(ByteReader& r, const TensorDecl& decl, TensorCodec& tc) const;
  Status read_transform(ByteReader& r, const TensorDecl& decl, Transform& t) const;
  Status read_quantizer(ByteReader& r, DType dtype, const Shape& coded, Quantizer& q) const;
  Status read_entropy(ByteReader& r, EntropyModel& e) const;
  Status read_hash(ByteReader& r, GraphHash& h) const;
  Status read_learned(ByteReader& r);
  Status read_metadata(ByteReader& r);

  std::span<const std::uint8_t> file_;
  const ModelLimits& lim_;
  CodecModelFile m_;
};

Status Parser::read_string(ByteReader& r, std::size_t n, std::string& out, const char* what) const {
  std::span<const std::uint8_t> b;
  FTC_RETURN_IF_ERROR(r.bytes(n, b));
  if (!valid_utf8(b)) return r.corrupt(std::string(what) + " is not well-formed UTF-8");
  out.assign(b.begin(), b.end());
  return {};
}

// The caller has checked n · 4 ≤ r.remaining(). Every value MUST be finite.
Status Parser::read_floats(ByteReader& r, std::uint64_t n, std::vector<float>& out, const char* what) const {
  out.resize(static_cast<std::size_t>(n));
  for (auto& v : out) {
    FTC_RETURN_IF_ERROR(r.f32le(v));
    if (!std::isfinite(v)) return r.corrupt(std::string(what) + " not finite");
  }
  return {};
}

// §4 Tensor declaration.
Status Parser::read_decl(ByteReader& r, TensorDecl& d) const {
  std::uint8_t name_len, dtype, layout, rank;
  FTC_RETURN_IF_ERROR(r.u8(name_len));
  FTC_RETURN_IF_ERROR(read_string(r, name_len, d.name, "tensor name"));
  FTC_RETURN_IF_ERROR(r.u8(dtype));
  if (!dtype_is_valid(dtype)) return r.corrupt("unknown dtype code " + std::to_string(dtype));
  d.dtype = static_cast<DType>(dtype);
  FTC_RETURN_IF_ERROR(r.u8(layout));
  if (layout > 2) return r.corrupt("unknown layout code " + std::to_string(layout));
  d.layout = static_cast<Layout>(layout);
  FTC_RETURN_IF_ERROR(r.u8(rank));
  if (rank > kMaxRank) return r.corrupt("rank " + std::to_string(rank) + " over 8");
  d.shape.assign(rank, 0);
  for (auto& dim : d.shape) {
    std::uint64_t v;
    FTC_RETURN_IF_ERROR(r.varint_in(v, 0, kMaxDim, "dimension"));
    dim = static_cast<std::int64_t>(v);
  }
  if (!checked_element_count(d.shape, lim_.max_elements))
    return limit("tensor '" + d.name + "' declares more than " + std::to_string(lim_.max_elements) + " elements");
  return {};
}

// §4 TENSORS section.
Status Parser::read_tensors(ByteReader& r) {
  std::uint64_t count;
  FTC_RETURN_IF_ERROR(r.varint(count));
  if (count == 0) return r.corrupt("TENSORS declares no tensor");
  if (count > lim_.max_tensors) return limit("declares " + std::to_string(count) + " tensors, over the limit of " + std::to_string(lim_.max_tensors));
  if (count > r.remaining() / 4) return truncated("TENSORS declares " + std::to_string(count) + " tensors, more than its bytes can hold");
  m_.tensors.resize(static_cast<std::size_t>(count));
  for (auto& d : m_.tensors) FTC_RETURN_IF_ERROR(read_decl(r, d));
  if (!r.at_end()) return r.corrupt("bytes after the last tensor declaration");
  return {};
}

// §5 RATE_POINT section.
Status Parser::read_rate_point(ByteReader& r) {
  if (m_.rate_points.size() >= lim_.max_rate_points)
    return limit("more than " + std::to_string(lim_.max_rate_points) + " rate points");
  RatePoint rp;
  std::uint8_t label_len;
  FTC_RETURN_IF_ERROR(r.u8(label_len));
  FTC_RETURN_IF_ERROR(read_string(r, label_len, rp.label, "rate point label"));
  if (m_.tensors.size() > r.remaining()) return truncated("rate point " + std::to_string(m_.rate_points.size()) + " cannot hold a record for every tensor");
  rp.tensors.resize(m_.tensors.size());
  for (std::size_t t = 0; t < m_.tensors.size(); ++t) {
    std::uint64_t len;
    FTC_RETURN_IF_ERROR(r.varint(len));
    if (len > r.remaining()) return truncated("record of tensor " + std::to_string(t) + " runs past its rate point");
    const std::size_t begin = r.pos();
    FTC_RETURN_IF_ERROR(r.skip(static_cast<std::size_t>(len)));
    ByteReader rec = sub(begin, r.pos());
    FTC_RETURN_IF_ERROR(read_record(rec, m_.tensors[t], rp.tensors[t]));
    // Bytes left in the record are fields of a later minor version: skipped (§5).
  }
  if (!r.at_end()) return r.corrupt("bytes after the last record of a rate point");
  m_.rate_points.push_back(std::move(rp));
  return {};
}

// §5 Tensor record.
Status Parser::read_record(ByteReader& r, const TensorDecl& decl, TensorCodec& tc) const {
  FTC_RETURN_IF_ERROR(read_transform(r, decl, tc.transform));
  FTC_RETURN_IF_ERROR(read_quantizer(r, decl.dtype, coded_shape(decl, tc.transform), tc.quantizer));
  FTC_RETURN_IF_ERROR(read_entropy(r, tc.entropy));
  return r.varint(tc.chunk_elements);
}

// §6 Transform.
Status Parser::read_transform(ByteReader& r, const TensorDecl& decl, Transform& t) const {
  std::uint8_t kind;
  FTC_RETURN_IF_ERROR(r.u8(kind));
  if (kind > 2) return unsupported("transform id " + std::to_string(kind) + " is not known to this reader");
  t.kind = static_cast<TransformKind>(kind);
  if (t.kind == TransformKind::identity) return {};
  std::uint8_t axis;
  FTC_RETURN_IF_ERROR(r.u8(axis));
  if (axis >= decl.shape.size()) return r.corrupt("transform axis " + std::to_string(axis) + " outside the rank");
  t.axis = axis;
  const auto channels = static_cast<std::uint64_t>(decl.shape[axis]);
  if (t.kind == TransformKind::channel_subset) {
    std::uint64_t k;
    FTC_RETURN_IF_ERROR(r.varint_in(k, 1, channels, "kept channel count"));
    if (k > r.remaining()) return truncated("channel subset declares " + std::to_string(k) + " kept channels, more than its record holds");
    t.kept.resize(static_cast<std::size_t>(k));
    for (std::size_t j = 0; j < t.kept.size(); ++j) {
      FTC_RETURN_IF_ERROR(r.varint_in(t.kept[j], 0, channels - 1, "kept channel"));
      if (j > 0 && t.kept[j] <= t.kept[j - 1]) return r.corrupt("kept channels not strictly increasing");
    }
    const std::uint64_t dropped = channels - k;
    if (dropped > r.remaining() / 4) return truncated("channel subset fill values for " + std::to_string(dropped) + " channels do not fit in the record");
    return read_floats(r, dropped, t.fill, "channel fill value");
  }
  // PCA / KLT.
  if (!dtype_is_float(decl.dtype)) return r.corrupt(std::string("PCA transform on integer dtype ") + dtype_name(decl.dtype));
  FTC_RETURN_IF_ERROR(r.varint_in(t.components, 1, channels, "PCA component count"));
  std::uint64_t basis, floats;
  if (__builtin_mul_overflow(t.components, channels, &basis) || basis > lim_.max_basis_floats)
    return limit("PCA basis of " + std::to_string(t.components) + " x " + std::to_string(channels) + " over the limit of " + std::to_string(lim_.max_basis_floats) + " values");
  if (__builtin_add_overflow(basis, channels, &floats) || floats > r.remaining() / 4)
    return truncated("PCA mean and basis do not fit in the record");
  FTC_RETURN_IF_ERROR(read_floats(r, channels, t.mean, "PCA mean"));
  return read_floats(r, basis, t.basis, "PCA basis value");
}

// §7 Quantizer.
Status Parser::read_quantizer(ByteReader& r, DType dtype, const Shape& coded, Quantizer& q) const {
  std::uint8_t kind;
  FTC_RETURN_IF_ERROR(r.u8(kind));
  if (kind > 4) return unsupported("quantizer id " + std::to_string(kind) + " is not known to this reader");
  q.kind = static_cast<QuantKind>(kind);
  switch (q.kind) {
    case QuantKind::lossless: return {};
    case QuantKind::cast_f16:
    case QuantKind::cast_bf16:
      if (dtype != DType::f32 && dtype != DType::f64) return r.corrupt(std::string("cast quantizer on dtype ") + dtype_name(dtype));
      return {};
    case QuantKind::uniform:
    case QuantKind::nonuniform: break;
  }
  std::uint8_t bits;
  FTC_RETURN_IF_ERROR(r.u8(bits));
  if (bits < 1 || bits > 16) return r.corrupt("quantizer bits " + std::to_string(bits) + " outside 1..16");
  q.bits = bits;
  std::uint64_t axis1;
  FTC_RETURN_IF_ERROR(r.varint_in(axis1, 0, coded.size(), "quantizer axis"));
  if (axis1 > 0) q.axis = static_cast<int>(axis1 - 1);
  const std::uint64_t groups = quantizer_groups(q, coded);
  if (groups > lim_.max_groups) return limit(std::to_string(groups) + " quantizer groups, over the limit of " + std::to_string(lim_.max_groups));
  if (q.kind == QuantKind::uniform) {
    // docs/format.md §4.2, byte for byte.
    if (groups > r.remaining() / 8) return truncated("uniform parameters for " + std::to_string(groups) + " groups do not fit in the record");
    q.lo.resize(static_cast<std::size_t>(groups));
    q.step.resize(static_cast<std::size_t>(groups));
    for (std::size_t g = 0; g < q.lo.size(); ++g) {
      FTC_RETURN_IF_ERROR(r.f32le(q.lo[g]));
      FTC_RETURN_IF_ERROR(r.f32le(q.step[g]));
      if (!std::isfinite(q.lo[g]) || !std::isfinite(q.step[g]) || q.step[g] < 0.0f)
        return r.corrupt("uniform lo/step not finite or step negative");
    }
    return {};
  }
  std::uint64_t levels;
  FTC_RETURN_IF_ERROR(r.varint_in(levels, 1, std::uint64_t{1} << bits, "non-uniform level count"));
  if (levels > lim_.max_levels) return limit(std::to_string(levels) + " non-uniform levels, over the limit of " + std::to_string(lim_.max_levels));
  q.levels = static_cast<std::uint32_t>(levels);
  std::uint64_t floats;
  if (__builtin_mul_overflow(groups, 2 * levels - 1, &floats) || floats > r.remaining() / 4)
    return truncated("non-uniform levels and thresholds for " + std::to_string(groups) + " groups do not fit in the record");
  const auto L = static_cast<std::size_t>(levels);
  q.level.resize(static_cast<std::size_t>(groups) * L);
  q.threshold.resize(static_cast<std::size_t>(groups) * (L - 1));
  for (std::size_t g = 0; g < static_cast<std::size_t>(groups); ++g) {
    float* lv = q.level.data() + g * L;
    float* th = q.threshold.data() + g * (L - 1);
    for (std::size_t j = 0; j < L; ++j) {
      FTC_RETURN_IF_ERROR(r.f32le(lv[j]));
      if (!std::isfinite(lv[j])) return r.corrupt("non-uniform level not finite");
      if (j > 0 && !(lv[j] > lv[j - 1])) return r.corrupt("non-uniform levels not strictly increasing");
    }
    for (std::size_t j = 0; j + 1 < L; ++j) {
      FTC_RETURN_IF_ERROR(r.f32le(th[j]));
      if (!std::isfinite(th[j])) return r.corrupt("non-uniform threshold not finite");
      if (j > 0 && !(th[j] > th[j - 1])) return r.corrupt("non-uniform thresholds not strictly increasing");
      if (th[j] < lv[j] || th[j] > lv[j + 1]) return r.corrupt("non-uniform threshold outside its two levels");
    }
  }
  return {};
}

// §8 Entropy model.
Status Parser::read_entropy(ByteReader& r, EntropyModel& e) const {
  std::uint8_t coder;
  FTC_RETURN_IF_ERROR(r.u8(coder));
  if (coder > 5) return unsupported("coder id " + std::to_string(coder) + " is not known to this reader");
  e.coder = static_cast<CoderKind>(coder);
  std::uint64_t len;
  FTC_RETURN_IF_ERROR(r.varint(len));
  if (len > lim_.max_blob_bytes) return limit("coder parameters of " + std::to_string(len) + " bytes, over the limit of " + std::to_string(lim_.max_blob_bytes));
  if (len > r.remaining()) return truncated("coder parameters run past the record");
  if ((e.coder == CoderKind::raw || e.coder == CoderKind::zstd) && len != 0)
    return r.corrupt(std::string("non-empty parameters for coder ") + coder_name(e.coder));
  std::span<const std::uint8_t> params;
  FTC_RETURN_IF_ERROR(r.bytes(static_cast<std::size_t>(len), params));
  e.params.assign(params.begin(), params.end());
  std::uint64_t state_len;
  FTC_RETURN_IF_ERROR(r.varint(state_len));
  if (state_len != 0) return unsupported(std::string("initial coder state for coder ") + coder_name(e.coder) + " is not defined in model format 1.0");
  return {};
}

// §10 Graph hash.
Status Parser::read_hash(ByteReader& r, GraphHash& h) const {
  std::uint8_t kind;
  FTC_RETURN_IF_ERROR(r.u8(kind));
  std::size_t n;
  switch (kind) {
    case 0: n = 0; break;
    case 1: n = 8; break;
    case 2: n = 32; break;
    default: return unsupported("graph hash kind " + std::to_string(kind) + " is not known to this reader");
  }
  h.kind = static_cast<HashKind>(kind);
  std::span<const std::uint8_t> d;
  FTC_RETURN_IF_ERROR(r.bytes(n, d));
  h.digest.assign(d.begin(), d.end());
  return {};
}

// §10 LEARNED section.
Status Parser::read_learned(ByteReader& r) {
  Learned l;
  FTC_RETURN_IF_ERROR(read_hash(r, l.device_graph));
  FTC_RETURN_IF_ERROR(read_hash(r, l.server_graph));
  FTC_RETURN_IF_ERROR(read_decl(r, l.latent));
  if (!r.at_end()) return r.corrupt("bytes after the latent tensor declaration");
  m_.learned = std::move(l);
  return {};
}

// §11 METADATA section.
Status Parser::read_metadata(ByteReader& r) {
  std::uint64_t count;
  FTC_RETURN_IF_ERROR(r.varint(count));
  if (count > lim_.max_metadata_entries) return limit(std::to_string(count) + " metadata entries, over the limit of " + std::to_string(lim_.max_metadata_entries));
  if (count > r.remaining() / 3) return truncated("METADATA declares more entries than its bytes can hold");
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint8_t key_len;
    FTC_RETURN_IF_ERROR(r.u8(key_len));
    if (key_len == 0) return r.corrupt("empty metadata key");
    std::string key, value;
    FTC_RETURN_IF_ERROR(read_string(r, key_len, key, "metadata key"));
    std::uint64_t value_len;
    FTC_RETURN_IF_ERROR(r.varint(value_len));
    if (value_len > lim_.max_blob_bytes) return limit("metadata value of " + std::to_string(value_len) + " bytes, over the limit of " + std::to_string(lim_.max_blob_bytes));
    if (value_len > r.remaining()) return truncated("metadata value runs past the section");
    FTC_RETURN_IF_ERROR(read_string(r, static_cast<std::size_t>(value_len), value, "metadata value"));
    if (!m_.metadata.empty() && !(m_.metadata.rbegin()->first < key))
      return r.corrupt("metadata keys not strictly increasing");
    m_.metadata.emplace_hint(m_.metadata.end(), std::move(key), std::move(value));
  }
  if (!r.at_end()) return r.corrupt("bytes after the last metadata entry");
  return {};
}

// §2 File, §3 sections.
Result<CodecModelFile> Parser::run() {
  const std::size_t size = file_.size();
  if (size < 4) return truncated("shorter than the 4-byte magic");
  for (int i = 0; i < 4; ++i)
    if (file_[i] != kModelMagic[i]) return Status{StatusCode::corrupt, "codec model: not a codec model file (bad magic)"};
  if (size < 6) return truncated("ends inside the version");
  const int major = file_[4];
  m_.minor = file_[5];
  if (major != kModelMajor)
    return Status{StatusCode::unsupported_version, "codec model: format version " + std::to_string(major) + "." +
                                                       std::to_string(m_.minor) + " (this reader reads " +
                                                       std::to_string(kModelMajor) + ".x)"};
  if (size > lim_.max_file_bytes) return limit("file of " + std::to_string(size) + " bytes, over the limit of " + std::to_string(lim_.max_file_bytes));
  if (size < kModelHeaderBytes + kModelChecksumBytes) return truncated("shorter than its header and checksum");
  const std::size_t end = size - kModelChecksumBytes;
  ByteReader tail = sub(end, size);
  std::uint64_t checksum;
  FTC_RETURN_IF_ERROR(tail.u64le(checksum));
  if (checksum != XXH64(file_.data(), end, 0))
    return Status{StatusCode::checksum_mismatch, "codec model: file checksum does not match"};
  ByteReader r = sub(6, end);
  FTC_RETURN_IF_ERROR(r.u64le(m_.model_id));

  // Known sections in the order TENSORS, RATE_POINT+, [LEARNED], [METADATA] (§3).
  enum { kNone, kTensors, kRates, kLearned, kMeta } stage = kNone;
  while (!r.at_end()) {
    std::uint64_t tag, len;
    FTC_RETURN_IF_ERROR(r.varint(tag));
    FTC_RETURN_IF_ERROR(r.varint(len));
    if (len > r.remaining()) return truncated("section " + std::to_string(tag) + " runs past the end of the file");
    const std::size_t begin = r.pos();
    FTC_RETURN_IF_ERROR(r.skip(static_cast<std::size_t>(len)));
    ByteReader body = sub(begin, r.pos());
    switch (tag) {
      case kTagTensors:
        if (stage != kNone) return body.corrupt("TENSORS section repeated or after another known section");
        FTC_RETURN_IF_ERROR(read_tensors(body));
        stage = kTensors;
        break;
      case kTagRatePoint:
        if (stage != kTensors && stage != kRates) return body.corrupt("RATE_POINT section before TENSORS or after LEARNED/METADATA");
        FTC_RETURN_IF_ERROR(read_rate_point(body));
        stage = kRates;
        break;
      case kTagLearned:
        if (stage != kRates) return body.corrupt("LEARNED section before a rate point, repeated or after METADATA");
        FTC_RETURN_IF_ERROR(read_learned(body));
        stage = kLearned;
        break;
      case kTagMetadata:
        if (stage != kRates && stage != kLearned) return body.corrupt("METADATA section before a rate point or repeated");
        FTC_RETURN_IF_ERROR(read_metadata(body));
        stage = kMeta;
        break;
      default: {
        if (tag & kTagCriticalBit) return unsupported("critical section " + std::to_string(tag) + " is not known to this reader");
        std::span<const std::uint8_t> b;
        FTC_RETURN_IF_ERROR(body.bytes(body.remaining(), b));
        m_.unknown_sections.push_back({tag, std::vector<std::uint8_t>(b.begin(), b.end())});
      }
    }
  }
  if (stage == kNone) return Status{StatusCode::corrupt, "codec model: no TENSORS section"};
  if (stage == kTensors) return Status{StatusCode::corrupt, "codec model: no RATE_POINT section"};
  return std::move(m_);
}

}  // namespace

std::uint64_t model_content_hash(std::span<const std::uint8_t> file) { return XXH64(file.data(), file.size(), 0); }

Shape coded_shape(const TensorDecl& decl, const Transform& t) {
  Shape s = decl.shape;
  if (t.kind == TransformKind::channel_subset) s[static_cast<std::size_t>(t.axis)] = static_cast<std::int64_t>(t.kept.size());
  if (t.kind == TransformKind::pca) s[static_cast<std::size_t>(t.axis)] = static_cast<std::int64_t>(t.components);
  return s;
}

std::uint64_t quantizer_groups(const Quantizer& q, const Shape& coded) {
  return q.axis ? static_cast<std::uint64_t>(coded[static_cast<std::size_t>(*q.axis)]) : 1;
}

ModelLimits unlimited_model_limits() {
  ModelLimits l;
  l.max_file_bytes = UINT64_MAX;
  l.max_tensors = UINT32_MAX;
  l.max_rate_points = UINT32_MAX;
  l.max_elements = UINT64_MAX;
  l.max_groups = UINT64_MAX;
  l.max_levels = UINT64_MAX;
  l.max_basis_floats = UINT64_MAX;
  l.max_blob_bytes = UINT64_MAX;
  l.max_metadata_entries = UINT32_MAX;
  return l;
}

Result<CodecModelFile> parse_codec_model(std::span<const std::uint8_t> file, const ModelLimits& limits) {
  return Parser(file, limits).run();
}

}  // namespace ftc::model
