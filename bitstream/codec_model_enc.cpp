// Codec model file writer, docs/format-model.md §2–§11, the mirror of codec_model.cpp. Output
// depends on the struct alone (fixed field order, minimal varints, metadata in key order), so
// equal models are equal bytes. The writer does not restate the reader's rules: it checks the
// array sizes its syntax leaves implicit, writes, and then reads its own bytes back; a struct
// that does not read back as itself is refused, so every file it returns satisfies every MUST.
#include "bitstream/codec_model.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace ftc::model {
namespace {

Status bad(const std::string& what) { return {StatusCode::invalid_argument, "codec model: " + what}; }

Status check_u8_length(const std::string& s, const char* what) {
  if (s.size() > 255) return bad(std::string(what) + " longer than 255 bytes");
  return {};
}

void write_floats(ByteWriter& w, const std::vector<float>& v) {
  for (float x : v) w.f32le(x);
}

// §4
Status write_decl(ByteWriter& w, const TensorDecl& d) {
  FTC_RETURN_IF_ERROR(check_u8_length(d.name, "tensor name"));
  if (d.shape.size() > static_cast<std::size_t>(kMaxRank)) return bad("rank over 8");
  w.u8(static_cast<std::uint8_t>(d.name.size()));
  w.bytes(d.name.data(), d.name.size());
  w.u8(static_cast<std::uint8_t>(d.dtype));
  w.u8(static_cast<std::uint8_t>(d.layout));
  w.u8(static_cast<std::uint8_t>(d.shape.size()));
  for (auto dim : d.shape) {
    if (dim < 0) return bad("negative dimension");
    w.varint(static_cast<std::uint64_t>(dim));
  }
  return {};
}

// §6
Status write_transform(ByteWriter& w, const TensorDecl& decl, const Transform& t) {
  w.u8(static_cast<std::uint8_t>(t.kind));
  if (t.kind == TransformKind::identity) return {};
  if (t.axis < 0 || static_cast<std::size_t>(t.axis) >= decl.shape.size()) return bad("transform axis outside the rank");
  const auto channels = static_cast<std::uint64_t>(decl.shape[static_cast<std::size_t>(t.axis)]);
  w.u8(static_cast<std::uint8_t>(t.axis));
  if (t.kind == TransformKind::channel_subset) {
    if (t.kept.size() > channels || t.fill.size() != channels - t.kept.size())
      return bad("channel subset needs one fill value per dropped channel");
    w.varint(t.kept.size());
    for (auto c : t.kept) w.varint(c);
    write_floats(w, t.fill);
    return {};
  }
  if (t.kind != TransformKind::pca) return bad("unknown transform kind");
  if (channels == 0 || t.components > channels || t.mean.size() != channels ||
      t.basis.size() / channels != t.components || t.basis.size() % channels != 0)
    return bad("PCA needs C mean values and K x C basis values");
  w.varint(t.components);
  write_floats(w, t.mean);
  write_floats(w, t.basis);
  return {};
}

// §7
Status write_quantizer(ByteWriter& w, const Shape& coded, const Quantizer& q) {
  w.u8(static_cast<std::uint8_t>(q.kind));
  if (q.kind != QuantKind::uniform && q.kind != QuantKind::nonuniform) return {};
  if (q.bits < 1 || q.bits > 16) return bad("quantizer bits outside 1..16");
  if (q.axis && (*q.axis < 0 || static_cast<std::size_t>(*q.axis) >= coded.size())) return bad("quantizer axis outside the rank");
  const std::uint64_t groups = quantizer_groups(q, coded);
  w.u8(static_cast<std::uint8_t>(q.bits));
  w.varint(q.axis ? static_cast<std::uint64_t>(*q.axis) + 1 : 0);
  if (q.kind == QuantKind::uniform) {
    if (q.lo.size() != groups || q.step.size() != groups) return bad("uniform quantizer needs one lo and one step per group");
    for (std::size_t g = 0; g < q.lo.size(); ++g) {
      w.f32le(q.lo[g]);
      w.f32le(q.step[g]);
    }
    return {};
  }
  const std::uint64_t L = q.levels;
  std::uint64_t thresholds = 0;
  if (L == 0 || q.level.size() / L != groups || q.level.size() % L != 0 ||
      __builtin_mul_overflow(groups, L - 1, &thresholds) || q.threshold.size() != thresholds)
    return bad("non-uniform quantizer needs L levels and L - 1 thresholds per group");
  w.varint(L);
  for (std::uint64_t g = 0; g < groups; ++g) {
    for (std::uint64_t j = 0; j < L; ++j) w.f32le(q.level[g * L + j]);
    for (std::uint64_t j = 0; j + 1 < L; ++j) w.f32le(q.threshold[g * (L - 1) + j]);
  }
  return {};
}

// §8
void write_entropy(ByteWriter& w, const EntropyModel& e) {
  w.u8(static_cast<std::uint8_t>(e.coder));
  w.varint(e.params.size());
  w.bytes(e.params);
  w.varint(e.state.size());
  w.bytes(e.state);
}

// §5
Status write_rate_point(ByteWriter& w, const std::vector<TensorDecl>& decls, const RatePoint& rp) {
  FTC_RETURN_IF_ERROR(check_u8_length(rp.label, "rate point label"));
  if (rp.tensors.size() != decls.size()) return bad("a rate point needs one record per declared tensor");
  w.u8(static_cast<std::uint8_t>(rp.label.size()));
  w.bytes(rp.label.data(), rp.label.size());
  std::vector<std::uint8_t> rec;
  for (std::size_t t = 0; t < decls.size(); ++t) {
    const TensorCodec& tc = rp.tensors[t];
    rec.clear();
    ByteWriter rw(rec);
    FTC_RETURN_IF_ERROR(write_transform(rw, decls[t], tc.transform));
    FTC_RETURN_IF_ERROR(write_quantizer(rw, coded_shape(decls[t], tc.transform), tc.quantizer));
    write_entropy(rw, tc.entropy);
    rw.varint(tc.chunk_elements);
    w.varint(rec.size());
    w.bytes(rec);
  }
  return {};
}

Status write_hash(ByteWriter& w, const GraphHash& h) {
  w.u8(static_cast<std::uint8_t>(h.kind));
  w.bytes(h.digest);
  return {};
}

void section(ByteWriter& w, std::uint64_t tag, const std::vector<std::uint8_t>& body) {
  w.varint(tag);
  w.varint(body.size());
  w.bytes(body);
}

}  // namespace

Result<std::vector<std::uint8_t>> write_codec_model(const CodecModelFile& m) {
  if (m.minor < 0 || m.minor > 255) return bad("minor version outside 0..255");
  if (m.tensors.empty()) return bad("no tensor declared");
  if (m.rate_points.empty()) return bad("no rate point");
  std::vector<std::uint8_t> out;
  ByteWriter w(out);
  for (std::uint8_t c : kModelMagic) w.u8(c);
  w.u8(static_cast<std::uint8_t>(kModelMajor));
  w.u8(static_cast<std::uint8_t>(m.minor));
  w.u64le(m.model_id);

  std::vector<std::uint8_t> body;
  ByteWriter b(body);
  b.varint(m.tensors.size());
  for (const auto& d : m.tensors) FTC_RETURN_IF_ERROR(write_decl(b, d));
  section(w, kTagTensors, body);
  for (const auto& rp : m.rate_points) {
    body.clear();
    FTC_RETURN_IF_ERROR(write_rate_point(b, m.tensors, rp));
    section(w, kTagRatePoint, body);
  }
  if (m.learned) {
    body.clear();
    FTC_RETURN_IF_ERROR(write_hash(b, m.learned->device_graph));
    FTC_RETURN_IF_ERROR(write_hash(b, m.learned->server_graph));
    FTC_RETURN_IF_ERROR(write_decl(b, m.learned->latent));
    section(w, kTagLearned, body);
  }
  if (!m.metadata.empty()) {
    body.clear();
    b.varint(m.metadata.size());
    for (const auto& [key, value] : m.metadata) {
      FTC_RETURN_IF_ERROR(check_u8_length(key, "metadata key"));
      b.u8(static_cast<std::uint8_t>(key.size()));
      b.bytes(key.data(), key.size());
      b.varint(value.size());
      b.bytes(value.data(), value.size());
    }
    section(w, kTagMetadata, body);
  }
  for (const auto& s : m.unknown_sections) section(w, s.tag, s.body);
  w.u64le(XXH64(out.data(), out.size(), 0));

  // Every other rule (ranges, finiteness, ordering, UTF-8, section tags) is the reader's.
  auto back = parse_codec_model(out, unlimited_model_limits());
  if (!back.ok()) return bad("not a valid model: " + back.status().message());
  if (!(*back == m)) return bad("does not read back as itself (a field its kind does not use is set, or a digest has the wrong size)");
  return out;
}

}  // namespace ftc::model
