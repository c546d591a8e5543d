// Tensor → symbols and back: the quantizer stage (docs/format.md §Quantizer, docs/algorithms.md).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "codec/entropy/coder.hpp"
#include "ftc/ftc.hpp"

namespace ftc::quant {

// All of a tensor's symbols in C order. bits ≤ 8: one byte a symbol; else a native uint16_t
// array. ctx names the context of each symbol (per-channel: the channel).
struct Symbols {
  std::vector<std::uint8_t> storage;
  std::uint64_t count = 0;
  int bits = 8;
  entropy::ContextMap ctx;

  std::size_t symbol_bytes() const { return bits <= 8 ? 1 : 2; }
  entropy::SymbolSpan span(std::uint64_t first, std::uint64_t n) const {
    return {storage.data() + first * symbol_bytes(), static_cast<std::size_t>(n), bits, first, ctx};
  }
  entropy::SymbolSpan all() const { return span(0, count); }
};

// Affine n-bit quantizer, per tensor (one group) or per channel along `axis` (one group per
// index of that axis): q = clamp(round_half_even((x − lo[g]) / step[g]), 0, 2^bits − 1),
// x̂ = lo[g] + q·step[g] evaluated in binary64 and rounded once to the output dtype.
struct UniformParams {
  int bits = 8;
  std::optional<int> axis;   // normalized to [0, rank)
  std::vector<float> lo;     // one per group
  std::vector<float> step;   // one per group; ≥ 0 and finite
};

struct QuantizedTensor {
  Symbols symbols;
  QuantizerKind kind = QuantizerKind::uniform;
  std::optional<UniformParams> uniform;   // when kind == uniform
  DType element_dtype = DType::f32;       // lossless/casts: dtype whose bytes the symbols carry
};

// Encoder side. `chunk_elements` is the resolved chunk size (lossless symbols are byte planes
// within each chunk, §4.1). Fails with invalid_argument on NaN/Inf in a lossy mode, a bad axis, bits out of
// range, an integer dtype with a cast mode, or a clip range with lo > hi.
Result<QuantizedTensor> quantize(const TensorView& tensor, const EncoderOptions& options,
                                 std::uint64_t chunk_elements);

// Fits lo/step from the data or from the caller's clip range.
Result<UniformParams> fit_uniform(const TensorView& tensor, int bits, std::optional<int> axis,
                                  std::optional<double> clip_lo, std::optional<double> clip_hi);

// Lossless byte planes (§4.1): plane b holds byte b (little-endian significance) of every element.
void shuffle_planes(const std::uint8_t* elements, std::uint64_t n, std::size_t elem_size, std::uint8_t* planes);
void unshuffle_planes(const std::uint8_t* planes, std::uint64_t n, std::size_t elem_size, std::uint8_t* elements);

// Decoder side: writes `out` (already shaped, C-contiguous, of the tensor's dtype) from symbols.
Status dequantize_uniform(const Symbols& symbols, const UniformParams& params, Tensor& out);
// Casts: 16-bit symbols (binary16 or bfloat16 bits) widened exactly to out's dtype (f32/f64).
Status decast(const Symbols& symbols, QuantizerKind kind, Tensor& out);
// Lossless: per-chunk planes back to element bytes.
Status unshuffle(const Symbols& symbols, std::uint64_t chunk_elements, Tensor& out);

// Calls f(begin, end, group) for the runs of equal context that tile [0, n) (one run when
// there is one group): the quantizer's and dequantizer's per-context loops.
template <class F>
void for_each_run(std::uint64_t n, const entropy::ContextMap& ctx, F&& f) {
  const std::uint64_t run = ctx.groups <= 1 ? n : ctx.inner;
  std::uint32_t g = 0;
  for (std::uint64_t i = 0; i < n;) {
    const std::uint64_t end = std::min(n, i + std::max<std::uint64_t>(run, 1));
    f(i, end, g);
    i = end;
    if (++g == ctx.groups) g = 0;
  }
}

}  // namespace ftc::quant
