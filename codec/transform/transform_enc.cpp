#include <cstring>

#include "codec/transform/transform.hpp"

namespace ftc::transform {

Result<Tensor> forward(const TensorView& view, const model::Transform& t) {
  FTC_ASSIGN_OR_RETURN(Tensor x, Tensor::copy_of(view));
  if (t.kind == model::TransformKind::identity) return x;
  if (t.kind != model::TransformKind::channel_subset)
    return Status{StatusCode::unsupported_feature, "transform kind " + std::to_string(static_cast<int>(t.kind))};
  const Shape& s = x.shape();
  const auto a = static_cast<std::size_t>(t.axis);
  std::uint64_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < a; ++d) outer *= static_cast<std::uint64_t>(s[d]);
  for (std::size_t d = a + 1; d < s.size(); ++d) inner *= static_cast<std::uint64_t>(s[d]);
  const auto C = static_cast<std::uint64_t>(s[a]);
  Shape cs = s;
  cs[a] = static_cast<std::int64_t>(t.kept.size());
  FTC_ASSIGN_OR_RETURN(Tensor y, Tensor::zeros(x.dtype(), cs));
  const std::size_t run = static_cast<std::size_t>(inner) * dtype_size(x.dtype());
  for (std::uint64_t o = 0; o < outer; ++o)
    for (std::size_t j = 0; j < t.kept.size(); ++j)
      if (run) std::memcpy(y.data() + (o * t.kept.size() + j) * run, x.data() + (o * C + t.kept[j]) * run, run);
  return y;
}

}  // namespace ftc::transform
