// Codec model files (docs/format-model.md): model::parse_codec_model, then the writer.
// Input: one option byte, then the file.
//   bit 0  re-seal the file checksum (its last 8 bytes) first, so mutations reach the sections
//   bit 1  tight limits
//   bit 2  no limits (every allocation must still be paid for by bytes of the input)
// A model that parses must be consistent with its own counts, must write (the writer accepts
// everything the reader does), and its bytes must read back as the same model, within the same
// limits, and write again to the same bytes.
#include <xxhash.h>

#include "bitstream/codec_model.hpp"
#include "fuzz/fuzz_common.hpp"

namespace {

using namespace ftc::model;

void check_consistent(const CodecModelFile& m, const ModelLimits& l) {
  FTC_FUZZ_CHECK(!m.tensors.empty() && m.tensors.size() <= l.max_tensors);
  FTC_FUZZ_CHECK(!m.rate_points.empty() && m.rate_points.size() <= l.max_rate_points);
  FTC_FUZZ_CHECK(m.metadata.size() <= l.max_metadata_entries);
  for (const auto& d : m.tensors) FTC_FUZZ_CHECK(d.shape.size() <= 8 && d.name.size() <= 255);
  for (const auto& rp : m.rate_points) {
    FTC_FUZZ_CHECK(rp.tensors.size() == m.tensors.size());
    for (std::size_t t = 0; t < rp.tensors.size(); ++t) {
      const TensorCodec& tc = rp.tensors[t];
      const ftc::Shape coded = coded_shape(m.tensors[t], tc.transform);
      FTC_FUZZ_CHECK(coded.size() == m.tensors[t].shape.size());
      const Transform& tr = tc.transform;
      if (tr.kind == TransformKind::channel_subset) {
        const auto c = static_cast<std::uint64_t>(m.tensors[t].shape[static_cast<std::size_t>(tr.axis)]);
        FTC_FUZZ_CHECK(!tr.kept.empty() && tr.kept.size() + tr.fill.size() == c && tr.kept.back() < c);
      }
      if (tr.kind == TransformKind::pca) {
        const auto c = static_cast<std::uint64_t>(m.tensors[t].shape[static_cast<std::size_t>(tr.axis)]);
        FTC_FUZZ_CHECK(tr.mean.size() == c && tr.basis.size() == tr.components * c && tr.components <= l.max_basis_floats);
      }
      const Quantizer& q = tc.quantizer;
      const std::uint64_t groups = quantizer_groups(q, coded);
      if (q.kind == QuantKind::uniform) FTC_FUZZ_CHECK(q.lo.size() == groups && q.step.size() == groups && groups <= l.max_groups);
      if (q.kind == QuantKind::nonuniform) {
        FTC_FUZZ_CHECK(q.levels >= 1 && q.levels <= (1u << q.bits) && q.levels <= l.max_levels);
        FTC_FUZZ_CHECK(q.level.size() == groups * q.levels && q.threshold.size() == groups * (q.levels - 1));
      }
      FTC_FUZZ_CHECK(tc.entropy.params.size() <= l.max_blob_bytes && tc.entropy.state.empty());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t opt = data[0];
  std::vector<std::uint8_t> file(data + 1, data + size);
  if ((opt & 1) && file.size() >= kModelHeaderBytes + kModelChecksumBytes) {
    const std::size_t end = file.size() - kModelChecksumBytes;
    const std::uint64_t h = XXH64(file.data(), end, 0);
    for (int i = 0; i < 8; ++i) file[end + i] = static_cast<std::uint8_t>(h >> (8 * i));
  }
  ModelLimits limits;
  if (opt & 2) {
    limits.max_tensors = 3;
    limits.max_rate_points = 4;
    limits.max_elements = 4096;
    limits.max_groups = 64;
    limits.max_levels = 16;
    limits.max_basis_floats = 256;
    limits.max_blob_bytes = 512;
    limits.max_metadata_entries = 4;
  } else if (opt & 4) {
    limits = unlimited_model_limits();
  }
  auto r = parse_codec_model(file, limits);
  if (!r.ok()) {
    const int code = static_cast<int>(r.status().code());
    FTC_FUZZ_CHECK(code >= 20 && code < 40);
    FTC_FUZZ_CHECK(!r.status().message().empty());
    return 0;
  }
  check_consistent(*r, limits);
  auto w = write_codec_model(*r);
  FTC_FUZZ_CHECK(w.ok());
  // Re-writing drops only skipped record fields, and moves unknown sections last.
  FTC_FUZZ_CHECK(*w == file || w->size() < file.size() || !r->unknown_sections.empty());
  FTC_FUZZ_CHECK(w->size() <= file.size());
  auto back = parse_codec_model(*w, limits);
  FTC_FUZZ_CHECK(back.ok());
  FTC_FUZZ_CHECK(*back == *r);
  auto again = write_codec_model(*back);
  FTC_FUZZ_CHECK(again.ok() && *again == *w);
  FTC_FUZZ_CHECK(model_content_hash(*w) == XXH64(w->data(), w->size(), 0));
  return 0;
}
