// Encoder side of the quantizers (docs/algorithms.md §Quantizers).
#include <algorithm>
#include <cmath>
#include <limits>
#include <new>

#include "codec/quant/elements.hpp"
#include "codec/quant/quantize.hpp"

namespace ftc::quant {
namespace {

Result<int> normalize_axis(std::optional<int> axis, int rank) {
  if (!axis) return -1;
  int a = *axis < 0 ? *axis + rank : *axis;
  if (a < 0 || a >= rank)
    return Status{StatusCode::invalid_argument, "channel axis " + std::to_string(*axis) + " is outside the tensor's rank " + std::to_string(rank)};
  return a;
}

// lo and step as binary32 such that lo_f ≤ lo and lo_f + L·step_f ≥ hi (exactly, in binary64),
// so every value in [lo, hi] lies within step_f/2 of a reconstruction level.
void choose_levels(double lo, double hi, int bits, float& lo_f, float& step_f) {
  const double levels = std::ldexp(1.0, bits) - 1.0;
  lo_f = static_cast<float>(lo);
  if (static_cast<double>(lo_f) > lo) lo_f = std::nextafter(lo_f, -INFINITY);
  if (!(hi > lo)) { step_f = 0.0f; return; }
  step_f = static_cast<float>((hi - static_cast<double>(lo_f)) / levels);
  while (static_cast<double>(lo_f) + levels * static_cast<double>(step_f) < hi)
    step_f = std::nextafter(step_f, INFINITY);
}

// A tensor's elements in C order: the caller's memory when its view is C-contiguous, else a
// gathered copy held in `copy`.
struct Elements {
  DType dtype = DType::f32;
  const std::uint8_t* data = nullptr;
  std::uint64_t n = 0;
};

Result<Elements> c_order(const TensorView& view, Tensor& copy) {
  FTC_RETURN_IF_ERROR(view.validate());
  if (view.is_contiguous()) return Elements{view.dtype, static_cast<const std::uint8_t*>(view.data), view.element_count()};
  FTC_ASSIGN_OR_RETURN(copy, Tensor::copy_of(view));
  return Elements{copy.dtype(), copy.data(), copy.element_count()};
}

Status check_finite(const Elements& t) {
  const std::uint64_t n = t.n;
  if (!dtype_is_float(t.dtype)) return {};
  if (t.dtype == DType::f32) {  // one vectorized pass for whether any is; the loop below finds which
    std::uint32_t non_finite = 0;  // an all-ones exponent marks ±inf and NaN
    for (std::uint64_t i = 0; i < n; ++i)
      non_finite |= static_cast<std::uint32_t>((load_as<std::uint32_t>(t.data + 4 * i) & 0x7f800000u) == 0x7f800000u);
    if (!non_finite) return {};
  }
  for (std::uint64_t i = 0; i < n; ++i) {
    const double v = load_element(t.dtype, t.data, i);
    if (!std::isfinite(v))
      return {StatusCode::invalid_argument, "element " + std::to_string(i) + " is " + (std::isnan(v) ? "NaN" : "infinite") +
                                               "; lossy quantizers need finite values (use lossless or a cast mode)"};
  }
  return {};
}

// q = clamp(nearbyint((v − lo) / step), 0, qmax) in the default rounding mode. Clamping first
// gives the same integer (rounding is monotone and 0, qmax are integers), and for
// 0 ≤ x ≤ 2^16, (x + 2^52) − 2^52 is x rounded to nearest, ties to even: the sum lies in
// [2^52, 2^53) where the spacing is 1, and 2^52 is even. No library call, so the loop vectorizes.
inline double round_clamped(double x, double qmax) {
  x = x > 0.0 ? x : 0.0;
  x = x < qmax ? x : qmax;
  constexpr double kShift = 4503599627370496.0;  // 2^52
  return (x + kShift) - kShift;
}

template <class Sym>
void quantize_typed(const Elements& t, const UniformParams& p, const ContextMap& ctx, Sym* out) {
  const double qmax = std::ldexp(1.0, p.bits) - 1.0;
  for_each_run(t.n, ctx, [&](std::uint64_t b, std::uint64_t e, std::uint32_t g) {
    const double step = p.step[g], lo = static_cast<double>(p.lo[g]);
    if (!(step > 0.0)) {
      std::fill(out + b, out + e, Sym{0});
      return;
    }
    if (t.dtype == DType::f32) {
      for (std::uint64_t i = b; i < e; ++i)
        out[i] = static_cast<Sym>(round_clamped((static_cast<double>(load_as<float>(t.data + 4 * i)) - lo) / step, qmax));
      return;
    }
    for (std::uint64_t i = b; i < e; ++i)
      out[i] = static_cast<Sym>(round_clamped((load_element(t.dtype, t.data, i) - lo) / step, qmax));
  });
}

// fit_uniform over a tensor's elements in C order.
Result<UniformParams> fit_uniform_c_order(const Elements& t, const TensorView& view, int bits, std::optional<int> axis_opt,
                                          std::optional<double> clip_lo, std::optional<double> clip_hi) {
  FTC_RETURN_IF_ERROR(check_encoder_param(EncoderParam::bits, bits));
  if (clip_lo.has_value() != clip_hi.has_value()) return Status{StatusCode::invalid_argument, "give both ends of the clip range or neither"};
  if (clip_lo && !(std::isfinite(*clip_lo) && std::isfinite(*clip_hi) && *clip_lo <= *clip_hi))
    return Status{StatusCode::invalid_argument, "clip range must be finite with lo <= hi"};
  FTC_ASSIGN_OR_RETURN(int axis, normalize_axis(axis_opt, view.rank));
  const auto ctx = ContextMap::along(std::span<const std::int64_t>(view.shape.data(), static_cast<std::size_t>(view.rank)), axis);
  const std::uint32_t groups = axis < 0 ? 1 : static_cast<std::uint32_t>(view.shape[axis]);
  std::vector<double> lo(groups, INFINITY), hi(groups, -INFINITY);
  if (clip_lo) {
    std::fill(lo.begin(), lo.end(), *clip_lo);
    std::fill(hi.begin(), hi.end(), *clip_hi);
  } else {
    FTC_RETURN_IF_ERROR(check_finite(t));
    // Finite values: min and max of a run in float equal those of its values widened to double.
    for_each_run(t.n, ctx, [&](std::uint64_t b, std::uint64_t e, std::uint32_t g) {
      if (t.dtype == DType::f32) {
        if (b == e) return;
        float mn = load_as<float>(t.data + 4 * b), mx = mn;
        for (std::uint64_t i = b; i < e; ++i) {
          const float v = load_as<float>(t.data + 4 * i);
          mn = v < mn ? v : mn;
          mx = v > mx ? v : mx;
        }
        lo[g] = std::min(lo[g], static_cast<double>(mn));
        hi[g] = std::max(hi[g], static_cast<double>(mx));
        return;
      }
      for (std::uint64_t i = b; i < e; ++i) {
        const double v = load_element(t.dtype, t.data, i);
        lo[g] = std::min(lo[g], v);
        hi[g] = std::max(hi[g], v);
      }
    });
  }
  UniformParams p;
  p.bits = bits;
  if (axis >= 0) p.axis = axis;
  p.lo.resize(groups);
  p.step.resize(groups);
  for (std::uint32_t g = 0; g < groups; ++g) {
    if (lo[g] > hi[g]) { lo[g] = 0.0; hi[g] = 0.0; }  // empty group
    if (std::fabs(lo[g]) > std::numeric_limits<float>::max() / 2 || std::fabs(hi[g]) > std::numeric_limits<float>::max() / 2)
      return Status{StatusCode::invalid_argument, "values beyond ±1.7e38 cannot be quantized (use lossless)"};
    choose_levels(lo[g], hi[g], bits, p.lo[g], p.step[g]);
  }
  return p;
}

}  // namespace

Result<UniformParams> fit_uniform(const TensorView& view, int bits, std::optional<int> axis,
                                  std::optional<double> clip_lo, std::optional<double> clip_hi) {
  Tensor copy;
  FTC_ASSIGN_OR_RETURN(const Elements t, c_order(view, copy));
  return fit_uniform_c_order(t, view, bits, axis, clip_lo, clip_hi);
}

Result<Symbols> quantize_fixed(const TensorView& view, const format::TensorDesc& desc) {
  Tensor copy;
  FTC_ASSIGN_OR_RETURN(const Elements t, c_order(view, copy));
  const SymbolLayout layout = symbol_layout(desc);
  FTC_ASSIGN_OR_RETURN(Symbols s, Symbols::allocate(t.n, layout.bits, layout.ctx));
  if (desc.quantizer == QuantizerKind::uniform && desc.uniform) {
    FTC_RETURN_IF_ERROR(check_finite(t));
    if (layout.bits <= 8) quantize_typed(t, *desc.uniform, layout.ctx, s.storage.data());
    else quantize_typed(t, *desc.uniform, layout.ctx, reinterpret_cast<std::uint16_t*>(s.storage.data()));
    return s;
  }
  if (desc.quantizer != QuantizerKind::nonuniform || !desc.nonuniform)
    return Status{StatusCode::unsupported_option, std::string("fixed parameters for quantizer ") + quantizer_name(desc.quantizer)};
  FTC_RETURN_IF_ERROR(check_finite(t));
  const auto& p = *desc.nonuniform;
  const std::size_t T = p.levels - 1;
  for_each_run(t.n, layout.ctx, [&](std::uint64_t b, std::uint64_t e, std::uint32_t g) {
    const float* th = p.threshold.data() + std::size_t{g} * T;
    for (std::uint64_t i = b; i < e; ++i) {
      const double x = load_element(t.dtype, t.data, i);
      // q = #{thresholds ≤ x}: thresholds increase, so the first one above x.
      const std::size_t q = static_cast<std::size_t>(std::upper_bound(th, th + T, x, [](double v, float h) { return v < static_cast<double>(h); }) - th);
      if (layout.bits <= 8) s.storage[i] = static_cast<std::uint8_t>(q);
      else reinterpret_cast<std::uint16_t*>(s.storage.data())[i] = static_cast<std::uint16_t>(q);
    }
  });
  return s;
}

Result<Symbols> quantize(const TensorView& view, const EncoderOptions& o, format::TensorDesc& desc) {
  FTC_RETURN_IF_ERROR(view.validate());
  desc.quantizer = o.quantizer;
  desc.uniform.reset();
  switch (o.quantizer) {
    case QuantizerKind::uniform: {
      Tensor copy;
      FTC_ASSIGN_OR_RETURN(const Elements t, c_order(view, copy));
      FTC_ASSIGN_OR_RETURN(UniformParams p, fit_uniform_c_order(t, view, o.bits, o.channel_axis, o.clip_lo, o.clip_hi));
      if (o.clip_lo) FTC_RETURN_IF_ERROR(check_finite(t));
      desc.uniform = std::move(p);
      const SymbolLayout layout = symbol_layout(desc);
      FTC_ASSIGN_OR_RETURN(Symbols s, Symbols::allocate(t.n, layout.bits, layout.ctx));
      if (layout.bits <= 8) quantize_typed(t, *desc.uniform, layout.ctx, s.storage.data());
      else quantize_typed(t, *desc.uniform, layout.ctx, reinterpret_cast<std::uint16_t*>(s.storage.data()));
      return s;
    }
    case QuantizerKind::cast_f16:
    case QuantizerKind::cast_bf16: {
      if (view.dtype != DType::f32 && view.dtype != DType::f64)
        return Status{StatusCode::invalid_argument, std::string(quantizer_name(o.quantizer)) + " needs an f32 or f64 tensor, got " + dtype_name(view.dtype)};
      FTC_ASSIGN_OR_RETURN(Tensor t, Tensor::copy_of(view));
      const SymbolLayout layout = symbol_layout(desc);
      FTC_ASSIGN_OR_RETURN(Symbols s, Symbols::allocate(t.element_count(), layout.bits, layout.ctx));
      auto* out = reinterpret_cast<std::uint16_t*>(s.storage.data());
      const bool half = o.quantizer == QuantizerKind::cast_f16;
      for (std::uint64_t i = 0; i < t.element_count(); ++i) {
        const double v = load_element(t.dtype(), t.data(), i);
        out[i] = half ? f16_from_double(v) : bf16_from_double(v);
      }
      return s;
    }
    case QuantizerKind::lossless: {
      FTC_ASSIGN_OR_RETURN(Tensor t, Tensor::copy_of(view));
      const std::size_t es = dtype_size(view.dtype);
      const std::uint64_t n = t.element_count();
      const SymbolLayout layout = symbol_layout(desc);
      FTC_ASSIGN_OR_RETURN(Symbols s, Symbols::allocate(n * es, layout.bits, layout.ctx));
      const std::uint64_t ce = desc.chunk_elements == 0 ? n : desc.chunk_elements;
      for (std::uint64_t first = 0; first < n; first += ce) {
        const std::uint64_t m = std::min(ce, n - first);
        shuffle_planes(t.data() + first * es, m, es, s.storage.data() + first * es);
      }
      return s;
    }
    case QuantizerKind::nonuniform:
      return Status{StatusCode::unsupported_option, "the non-uniform quantizer takes its levels from a codec model"};
  }
  return Status{StatusCode::invalid_argument, "unknown quantizer"};
}

}  // namespace ftc::quant
