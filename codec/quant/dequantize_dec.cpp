// Decoder side of the quantizers (docs/format.md §4). Reconstruction uses binary64 arithmetic
// with one rounding to the output dtype; the core is built with -ffp-contract=off, so
// lo + q·step is two correctly rounded IEEE operations on every machine.
#include <algorithm>
#include <cstring>

#include "codec/quant/elements.hpp"
#include "codec/quant/quantize.hpp"

namespace ftc::quant {
namespace {

template <class Sym>
void dequantize_typed(const Sym* sym, std::uint64_t n, const UniformParams& p, const ContextMap& ctx,
                      DType dtype, std::uint8_t* out) {
  if (dtype == DType::f32) {
    // Hot path: runs of one context at a time.
    float* o = reinterpret_cast<float*>(out);
    for_each_run(n, ctx, [&](std::uint64_t b, std::uint64_t e, std::uint32_t g) {
      const double lo = p.lo[g], step = p.step[g];
      for (std::uint64_t i = b; i < e; ++i) o[i] = static_cast<float>(lo + static_cast<double>(sym[i]) * step);
    });
    return;
  }
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint32_t g = ctx.at(i);
    store_element(dtype, out, i, static_cast<double>(p.lo[g]) + static_cast<double>(sym[i]) * static_cast<double>(p.step[g]));
  }
}

Status dequantize_uniform(const Symbols& s, const UniformParams& p, Tensor& out) {
  if (s.count != out.element_count()) return {StatusCode::internal, "symbol count does not match the tensor"};
  if (s.bits <= 8)
    dequantize_typed(s.storage.data(), s.count, p, s.ctx, out.dtype(), out.data());
  else
    dequantize_typed(reinterpret_cast<const std::uint16_t*>(s.storage.data()), s.count, p, s.ctx, out.dtype(), out.data());
  return {};
}

Status decast(const Symbols& s, QuantizerKind kind, Tensor& out) {
  if (s.count != out.element_count() || s.bits != 16) return {StatusCode::internal, "cast symbols do not match the tensor"};
  const auto* sym = reinterpret_cast<const std::uint16_t*>(s.storage.data());
  const bool half = kind == QuantizerKind::cast_f16;
  for (std::uint64_t i = 0; i < s.count; ++i)
    store_element(out.dtype(), out.data(), i, half ? f16_to_double(sym[i]) : bf16_to_double(sym[i]));
  return {};
}

Status unshuffle(const Symbols& s, std::uint64_t chunk_elements, Tensor& out) {
  const std::size_t es = dtype_size(out.dtype());
  const std::uint64_t n = out.element_count();
  if (s.count != n * es) return {StatusCode::internal, "lossless symbols do not match the tensor"};
  if (chunk_elements == 0) chunk_elements = n;
  for (std::uint64_t first = 0; first < n; first += chunk_elements) {
    const std::uint64_t m = std::min(chunk_elements, n - first);
    unshuffle_planes(s.storage.data() + first * es, m, es, out.data() + first * es);
  }
  return {};
}

Status dequantize_nonuniform(const Symbols& s, const format::NonUniformParams& p, Tensor& out) {
  if (s.count != out.element_count()) return {StatusCode::internal, "symbol count does not match the tensor"};
  const std::uint32_t L = p.levels;
  const auto at = [&](std::uint64_t i) -> std::uint32_t {
    return s.bits <= 8 ? s.storage[i] : reinterpret_cast<const std::uint16_t*>(s.storage.data())[i];
  };
  for (std::uint64_t i = 0; i < s.count; ++i) {
    const std::uint32_t q = at(i);
    if (q >= L) return {StatusCode::corrupt, "non-uniform symbol " + std::to_string(q) + " beyond the " + std::to_string(L) + " levels"};
    store_element(out.dtype(), out.data(), i, static_cast<double>(p.level[std::size_t{s.ctx.at(i)} * L + q]));
  }
  return {};
}

}  // namespace

Status dequantize(const Symbols& symbols, const format::TensorDesc& desc, Tensor& out) {
  switch (desc.quantizer) {
    case QuantizerKind::uniform: return dequantize_uniform(symbols, *desc.uniform, out);
    case QuantizerKind::cast_f16:
    case QuantizerKind::cast_bf16: return decast(symbols, desc.quantizer, out);
    case QuantizerKind::lossless: return unshuffle(symbols, desc.chunk_elements, out);
    case QuantizerKind::nonuniform: return dequantize_nonuniform(symbols, *desc.nonuniform, out);
  }
  return {StatusCode::internal, "unknown quantizer"};
}

}  // namespace ftc::quant
