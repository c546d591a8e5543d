// Coder 5, encoder side (docs/format-context-rans.md §3, informative).
#include <algorithm>
#include <numeric>

#include "codec/entropy/context_rans.hpp"
#include "codec/entropy/int128.hpp"

namespace ftc::entropy {
namespace {

constexpr std::uint32_t kLow = std::uint32_t{1} << 23;  // state interval [2^23, 2^31)

class ContextRansEncoder final : public ChunkEncoder {
 public:
  explicit ContextRansEncoder(std::shared_ptr<const ContextRansModel> m) : m_(std::move(m)) {
    const std::size_t tables = m_->freq.size() / m_->alphabet;
    cum_.resize(tables * (m_->alphabet + 1));
    for (std::size_t t = 0; t < tables; ++t) {
      std::uint32_t c = 0;
      for (std::uint32_t s = 0; s < m_->alphabet; ++s) {
        cum_[t * (m_->alphabet + 1) + s] = c;
        c += m_->freq[t * m_->alphabet + s];
      }
      cum_[t * (m_->alphabet + 1) + m_->alphabet] = c;
    }
  }

  Status encode(const SymbolSpan& chunk, std::vector<std::uint8_t>& out) const override {
    return chunk.bits <= 8 ? encode_typed(static_cast<const std::uint8_t*>(chunk.data), chunk, out)
                           : encode_typed(static_cast<const std::uint16_t*>(chunk.data), chunk, out);
  }
  std::size_t max_payload(std::size_t count) const override { return context_rans_max_payload(count, m_->precision); }

 private:
  template <class Sym>
  Status encode_typed(const Sym* s, const SymbolSpan& chunk, std::vector<std::uint8_t>& out) const {
    const ContextRansModel& m = *m_;
    const int P = m.precision;
    std::vector<std::uint8_t> rev;  // bytes in emission order; the decoder reads them backwards
    rev.reserve(chunk.count / 2 + 8);
    std::uint32_t x = kLow;
    for (std::size_t j = chunk.count; j-- > 0;) {
      const std::uint32_t v = s[j];
      if (v >= m.alphabet)
        return {StatusCode::invalid_argument, "context rans: symbol " + std::to_string(v) + " outside the model's alphabet"};
      const std::uint32_t t = context_rans_table(m, chunk.ctx, chunk.first_index, j, s);
      const std::uint32_t f = m.freq[std::size_t{t} * m.alphabet + v];
      const std::uint32_t c = cum_[std::size_t{t} * (m.alphabet + 1) + v];
      const std::uint32_t x_max = ((kLow >> P) << 8) * f;
      while (x >= x_max) {
        rev.push_back(static_cast<std::uint8_t>(x));
        x >>= 8;
      }
      x = ((x / f) << P) + (x % f) + c;
    }
    const std::size_t start = out.size();
    out.resize(start + 4 + rev.size());
    for (int b = 0; b < 4; ++b) out[start + static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(x >> (8 * b));
    std::reverse_copy(rev.begin(), rev.end(), out.begin() + static_cast<std::ptrdiff_t>(start + 4));
    return {};
  }

  std::shared_ptr<const ContextRansModel> m_;
  std::vector<std::uint32_t> cum_;  // per table: L + 1 cumulative frequencies
};

}  // namespace

std::vector<std::uint32_t> context_rans_frequencies(std::span<const std::uint64_t> counts, int precision) {
  const std::size_t n = counts.size();
  const std::uint64_t total = std::uint64_t{1} << precision;
  std::vector<std::uint32_t> f(n, 1);
  if (n == 0 || n > total) return f;
  const std::uint64_t spare = total - n;
  const std::uint64_t sum = std::accumulate(counts.begin(), counts.end(), std::uint64_t{0});
  if (sum == 0) {
    for (std::size_t i = 0; i < n; ++i) f[i] += static_cast<std::uint32_t>(spare / n + (i < spare % n ? 1 : 0));
    return f;
  }
  // Largest remainders: floor shares first, then one more to the largest fractional parts
  // (ties: the smaller index). Exact in integers: share_i = spare·c_i / sum.
  std::vector<std::uint64_t> rem(n);
  std::uint64_t given = 0;
  for (std::size_t i = 0; i < n; ++i) {
    // u128 (int128.hpp): the compiler's type on 64-bit targets, exact portable arithmetic on
    // 32-bit ones (armhf has no __int128); the same values on both.
    const u128 prod = u128(spare) * u128(counts[i]);
    const u128 share = prod / u128(sum);  // ≤ spare < 2^32
    f[i] += static_cast<std::uint32_t>(share);
    rem[i] = static_cast<std::uint64_t>(prod - share * u128(sum));
    given += static_cast<std::uint64_t>(share);
  }
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return rem[a] > rem[b]; });
  for (std::uint64_t k = 0; k < spare - given; ++k) ++f[order[static_cast<std::size_t>(k)]];
  return f;
}

Result<EncoderSetup> make_context_rans_encoder(const SymbolSpan& all, std::shared_ptr<const ContextRansModel> model) {
  EncoderSetup setup;
  if (!model) {
    // Tables of this tensor's own symbols: one per group, no positions, no neighbour classes.
    auto m = std::make_shared<ContextRansModel>();
    m->precision = 12;
    m->groups = all.ctx.groups;
    std::uint32_t top = 0;
    const auto at = [&](std::size_t i) -> std::uint32_t {
      return all.bits <= 8 ? static_cast<const std::uint8_t*>(all.data)[i] : static_cast<const std::uint16_t*>(all.data)[i];
    };
    for (std::size_t i = 0; i < all.count; ++i) top = std::max(top, at(i));
    m->alphabet = top + 1;
    if (m->alphabet > (std::uint32_t{1} << m->precision)) m->precision = kContextRansMaxPrecision;
    if (m->alphabet > (std::uint32_t{1} << m->precision))
      return Status{StatusCode::invalid_argument, "context rans: more than 2^15 distinct symbol values"};
    m->base_tables = m->groups;
    if (m->groups > 1) {
      m->table_of.resize(m->groups);
      std::iota(m->table_of.begin(), m->table_of.end(), 0u);
    }
    std::vector<std::uint64_t> counts(std::size_t{m->groups} * m->alphabet, 0);
    for (std::size_t i = 0; i < all.count; ++i) ++counts[std::size_t{all.ctx.at(all.first_index + i)} * m->alphabet + at(i)];
    if (std::uint64_t{m->groups} * m->alphabet > kContextRansMaxEntries)
      return Status{StatusCode::invalid_argument, "context rans: tables too large for this tensor"};
    m->freq.reserve(counts.size());
    for (std::uint32_t g = 0; g < m->groups; ++g) {
      const auto f = context_rans_frequencies(std::span<const std::uint64_t>(counts).subspan(std::size_t{g} * m->alphabet, m->alphabet), m->precision);
      m->freq.insert(m->freq.end(), f.begin(), f.end());
    }
    FTC_RETURN_IF_ERROR(m->validate(all.bits, all.ctx));
    m->serialize(setup.params);
    model = std::move(m);
  } else {
    FTC_RETURN_IF_ERROR(model->validate(all.bits, all.ctx));
  }
  setup.encoder = std::make_unique<ContextRansEncoder>(std::move(model));
  return setup;
}

}  // namespace ftc::entropy
