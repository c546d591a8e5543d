// Coder 5, decoder side (docs/format-context-rans.md §2–§3).
#include "codec/entropy/context_rans.hpp"

namespace ftc::entropy {
namespace {

constexpr std::uint32_t kLow = std::uint32_t{1} << 23;

class ContextRansDecoder final : public ChunkDecoder {
 public:
  explicit ContextRansDecoder(ContextRansModel m) : m_(std::move(m)) {
    const std::size_t tables = m_.freq.size() / m_.alphabet;
    cum_.resize(tables * (m_.alphabet + 1));
    for (std::size_t t = 0; t < tables; ++t) {
      std::uint32_t c = 0;
      for (std::uint32_t s = 0; s < m_.alphabet; ++s) {
        cum_[t * (m_.alphabet + 1) + s] = c;
        c += m_.freq[t * m_.alphabet + s];
      }
      cum_[t * (m_.alphabet + 1) + m_.alphabet] = c;
    }
  }

  Status decode(std::span<const std::uint8_t> in, const MutableSymbolSpan& out) const override {
    return out.bits <= 8 ? decode_typed(in, static_cast<std::uint8_t*>(out.data), out)
                         : decode_typed(in, static_cast<std::uint16_t*>(out.data), out);
  }

 private:
  template <class Sym>
  Status decode_typed(std::span<const std::uint8_t> in, Sym* s, const MutableSymbolSpan& out) const {
    const ContextRansModel& m = m_;
    const std::uint32_t P = static_cast<std::uint32_t>(m.precision);
    const std::uint32_t mask = (std::uint32_t{1} << P) - 1;
    if (in.size() < 4) return {StatusCode::truncated, "context rans chunk: shorter than its 4-byte state"};
    std::uint32_t x = std::uint32_t{in[0]} | std::uint32_t{in[1]} << 8 | std::uint32_t{in[2]} << 16 | std::uint32_t{in[3]} << 24;
    if (x < kLow || x >= (kLow << 8)) return {StatusCode::corrupt, "context rans chunk: initial state out of range"};
    std::size_t pos = 4;
    const std::uint32_t L = m.alphabet;
    for (std::size_t j = 0; j < out.count; ++j) {
      const std::uint32_t t = context_rans_table(m, out.ctx, out.first_index, j, s);
      const std::uint32_t* cum = cum_.data() + std::size_t{t} * (L + 1);
      const std::uint32_t slot = x & mask;
      // Largest v with cum[v] ≤ slot; cum[0] = 0 ≤ slot < cum[L] = 2^P.
      std::uint32_t lo = 0, hi = L;
      while (hi - lo > 1) {
        const std::uint32_t mid = (lo + hi) / 2;
        if (cum[mid] <= slot) lo = mid;
        else hi = mid;
      }
      s[j] = static_cast<Sym>(lo);
      x = (cum[lo + 1] - cum[lo]) * (x >> P) + slot - cum[lo];
      while (x < kLow) {
        if (pos == in.size()) return {StatusCode::truncated, "context rans chunk: ends before its symbols"};
        x = (x << 8) | in[pos++];
      }
    }
    if (pos != in.size()) return {StatusCode::corrupt, "context rans chunk: bytes after the last symbol"};
    if (x != kLow) return {StatusCode::corrupt, "context rans chunk: final state is not the initial one"};
    return {};
  }

  ContextRansModel m_;
  std::vector<std::uint32_t> cum_;
};

}  // namespace

Result<std::unique_ptr<ChunkDecoder>> make_context_rans_decoder(std::span<const std::uint8_t> params, int bits,
                                                               ContextMap ctx, TableBudget* budget) {
  FTC_ASSIGN_OR_RETURN(ContextRansModel m, ContextRansModel::parse(params, bits, ctx, budget));
  return std::unique_ptr<ChunkDecoder>(std::make_unique<ContextRansDecoder>(std::move(m)));
}

}  // namespace ftc::entropy
