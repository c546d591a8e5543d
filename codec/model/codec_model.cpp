// Loading a codec model (docs/format-model.md): parse, then turn each rate point into the tensor
// descriptor the stages use, applying the coder's own rules to its tables before any frame is seen.
#include "codec/model/codec_model.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>

#include "bitstream/compact_frame.hpp"
#include "codec/entropy/coder.hpp"
#include "codec/entropy/context_rans.hpp"
#include "codec/quant/quantize.hpp"

namespace ftc {
namespace {

Status bad_model(const std::string& msg) { return {StatusCode::bad_file, "codec model: " + msg}; }

// The rate point's descriptor and its chunk decoder, built here once: frames bound to the model
// reuse it and are charged nothing for its tables (docs/format.md §7.1).
Result<CodecModel::Impl::Point> point_of(const model::TensorDecl& decl, const model::TensorCodec& tc) {
  CodecModel::Impl::Point point;
  point.transform = tc.transform;
  format::TensorDesc& d = point.desc;
  d.name = decl.name;
  d.dtype = decl.dtype;
  d.layout = decl.layout;
  d.shape = model::coded_shape(decl, tc.transform);
  const auto& q = tc.quantizer;
  d.quantizer = static_cast<QuantizerKind>(q.kind);
  if (q.kind == model::QuantKind::uniform) d.uniform = format::UniformParams{q.bits, q.axis, q.lo, q.step};
  if (q.kind == model::QuantKind::nonuniform)
    d.nonuniform = format::NonUniformParams{q.bits, q.axis, q.levels, q.level, q.threshold};
  d.coder = tc.entropy.coder;
  d.coder_params = tc.entropy.params;
  d.chunk_elements = tc.chunk_elements;
  DecoderLimits unlimited{UINT64_MAX, UINT64_MAX, kMaxRank, UINT32_MAX, UINT64_MAX, UINT64_MAX};
  FTC_RETURN_IF_ERROR(d.validate(unlimited));
  if (d.chunk_count > 1) return bad_model("a rate point codes its tensor in " + std::to_string(d.chunk_count) + " chunks; model-bound frames hold one");
  const quant::SymbolLayout layout = quant::symbol_layout(d);
  point.max_symbol = layout.bits >= 16 ? 0xFFFFu : (std::uint32_t{1} << layout.bits) - 1;
  if (d.coder == CoderKind::context_rans) {
    // Parsed once more for its alphabet; validate has already applied every rule to the blob.
    auto crm = entropy::ContextRansModel::parse(d.coder_params, layout.bits, layout.ctx);
    if (!crm.ok()) return crm.status();
    point.max_symbol = std::min(point.max_symbol, crm->alphabet - 1);
  }
#ifndef FTC_ENCODER_ONLY
  // An encoder-only core (FTC_ENCODER_ONLY) has no chunk decoders: its points keep none.
  auto dec = entropy::make_decoder(d.coder, d.coder_params, layout.bits, layout.ctx);
  if (!dec.ok()) return dec.status();
  point.decoder = std::move(dec).value();
#endif
  return point;
}

}  // namespace

CodecModel::CodecModel() : impl_(std::make_unique<Impl>()) {}
CodecModel::~CodecModel() = default;

Result<std::shared_ptr<const CodecModel>> CodecModel::from_bytes(std::span<const std::uint8_t> bytes) {
  FTC_ASSIGN_OR_RETURN(model::CodecModelFile file, model::parse_codec_model(bytes));
  if (file.tensors.size() != 1)
    return Status{StatusCode::unsupported_feature, "codec model: " + std::to_string(file.tensors.size()) +
                                                       " tensors; this library codes models of one tensor"};
  if (file.rate_points.size() > static_cast<std::size_t>(format::kCompactMaxRatePoints))
    return Status{StatusCode::unsupported_feature, "codec model: more than 16 rate points"};
  std::shared_ptr<CodecModel> m(new CodecModel());
  m->impl_->hash = model::model_content_hash(bytes);
  for (std::size_t r = 0; r < file.rate_points.size(); ++r) {
    const auto& tc = file.rate_points[r].tensors.at(0);
    if (tc.transform.kind == model::TransformKind::pca)
      return Status{StatusCode::unsupported_feature, "codec model: rate point " + std::to_string(r) + " uses a PCA transform, which this library does not run"};
    auto p = point_of(file.tensors[0], tc);
    if (!p.ok()) return Status{p.status().code(), "codec model: rate point " + std::to_string(r) + ": " + p.status().message()};
    m->impl_->points.push_back(std::move(p).value());
  }
  m->impl_->file = std::move(file);
  return std::shared_ptr<const CodecModel>(std::move(m));
}

Result<std::shared_ptr<const CodecModel>> CodecModel::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status{StatusCode::io_error, path + ": cannot open"};
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::uint64_t>(in.tellg());
  if (size > model::ModelLimits{}.max_file_bytes) return Status{StatusCode::limit_exceeded, path + ": larger than a codec model may be"};
  in.seekg(0);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  if (size && !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
    return Status{StatusCode::io_error, path + ": read failed"};
  auto m = from_bytes(bytes);
  if (!m.ok()) return Status{m.status().code(), path + ": " + m.status().message()};
  return m;
}

std::uint64_t CodecModel::id() const noexcept { return impl_->file.model_id; }
std::uint64_t CodecModel::hash() const noexcept { return impl_->hash; }
std::size_t CodecModel::rate_point_count() const noexcept { return impl_->points.size(); }
const std::string& CodecModel::rate_point_label(std::size_t r) const { return impl_->file.rate_points.at(r).label; }
const std::string& CodecModel::tensor_name() const noexcept { return impl_->file.tensors[0].name; }
DType CodecModel::tensor_dtype() const noexcept { return impl_->file.tensors[0].dtype; }
const Shape& CodecModel::tensor_shape() const noexcept { return impl_->file.tensors[0].shape; }
std::uint64_t CodecModel::coded_elements(std::size_t r) const { return impl_->points.at(r).desc.element_count; }
std::string CodecModel::metadata(const std::string& key) const {
  auto it = impl_->file.metadata.find(key);
  return it == impl_->file.metadata.end() ? std::string() : it->second;
}

}  // namespace ftc
