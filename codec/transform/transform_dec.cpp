#include <cstring>

#include "codec/quant/elements.hpp"
#include "codec/transform/transform.hpp"

namespace ftc::transform {

Result<Tensor> inverse(Tensor coded, const model::TensorDecl& decl, const model::Transform& t) {
  if (t.kind == model::TransformKind::identity) return coded;
  if (t.kind != model::TransformKind::channel_subset)
    return Status{StatusCode::unsupported_feature, "transform kind " + std::to_string(static_cast<int>(t.kind))};
  const Shape& s = decl.shape;
  const auto a = static_cast<std::size_t>(t.axis);
  std::uint64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < a; ++d) outer *= static_cast<std::uint64_t>(s[d]);
  for (std::size_t d = a + 1; d < s.size(); ++d) inner *= static_cast<std::uint64_t>(s[d]);
  const auto C = static_cast<std::uint64_t>(s[a]);
  FTC_ASSIGN_OR_RETURN(Tensor x, Tensor::zeros(decl.dtype, s));
  const std::size_t es = dtype_size(decl.dtype);
  const std::size_t run = static_cast<std::size_t>(inner) * es;
  // Fill values once, rounded to the dtype; then each outer slice: kept channels copied, the
  // others filled, in channel order.
  std::vector<std::uint8_t> fill(t.fill.size() * es);
  for (std::size_t f = 0; f < t.fill.size(); ++f) quant::store_element(decl.dtype, fill.data(), f, static_cast<double>(t.fill[f]));
  for (std::uint64_t o = 0; o < outer; ++o) {
    std::size_t k = 0, f = 0;
    for (std::uint64_t c = 0; c < C; ++c) {
      std::uint8_t* dst = x.data() + (o * C + c) * run;
      if (k < t.kept.size() && t.kept[k] == c) {
        if (run) std::memcpy(dst, coded.data() + (o * t.kept.size() + k) * run, run);
        ++k;
      } else {
        for (std::uint64_t i = 0; i < inner; ++i) std::memcpy(dst + i * es, fill.data() + f * es, es);
        ++f;
      }
    }
  }
  return x;
}

}  // namespace ftc::transform
