// Context-adaptive binary rANS (coder `adaptive`, docs/format-adaptive.md): the parts the encoder
// and the decoder must compute identically — parameters, neighbour contexts, binarization and
// probability adaptation. Everything is integer arithmetic on values of the chunk itself.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ftc/ftc.hpp"

namespace ftc::entropy::adaptive_detail {

// Probabilities: p = P(bin = 0) in units of 2^-16, kept in [kProbMin, 2^16 − kProbMin].
inline constexpr std::uint32_t kProbBits = 16;
inline constexpr std::uint32_t kProbOne = 1u << kProbBits;
inline constexpr std::uint32_t kProbMin = 32;
inline constexpr std::uint32_t kStateLow = 1u << 16;  // normalized state: [2^16, 2^32)
inline constexpr int kMaxBits = 16;

enum class Predictor : std::uint8_t { none = 0, med = 1 };

// The params blob (docs/format-adaptive.md §1).
struct AdaptiveParams {
  Predictor predictor = Predictor::none;
  std::uint8_t rate = 6;      // adaptation shift cap, 4..8
  std::uint64_t row = 1;      // distance to the "up" neighbour, ≥ 1
  std::uint64_t plane = 1;    // neighbours never cross a multiple of `plane`; a multiple of row
};

// Bins of one value: unary token (≤ bits bins) + mantissa (≤ bits − 1 bins).
inline constexpr int max_bins_per_symbol(int bits) { return 2 * bits - 1; }

// One adaptive binary model. n counts the bins coded with it, saturated at 255.
struct BinModel {
  std::uint16_t p = kProbOne / 2;
  std::uint8_t n = 0;
};

// p ← p + (2^16 − p) >> s after a 0, p − p >> s after a 1, s = min(1 + bitlen(n), rate); then p
// is clamped to [kProbMin, 2^16 − kProbMin]. Fast at first (s = 1, 2, 3, …), then a sliding
// window of about 2^rate bins.
inline void adapt(BinModel& m, std::uint32_t bin, std::uint32_t rate) {
  const std::uint32_t s = std::min<std::uint32_t>(1 + static_cast<std::uint32_t>(std::bit_width(static_cast<unsigned>(m.n))), rate);
  std::uint32_t p = m.p;
  const std::uint32_t up = p + ((kProbOne - p) >> s), down = p - (p >> s);
  p = bin ? down : up;
  p = std::clamp(p, kProbMin, kProbOne - kProbMin);
  m.p = static_cast<std::uint16_t>(p);
  if (m.n != 255) ++m.n;
}

// Context classes (§2): predictor none uses k0 in [0, 2·bits + 1], med uses k0 = 2·g + z with
// g in [0, bits + 2].
inline constexpr int kContextClasses = 2 * (kMaxBits + 3);

inline std::uint32_t token(std::uint32_t v) { return static_cast<std::uint32_t>(std::bit_width(v)); }

// All models of one chunk: unary[k0][k], first mantissa bit per (t, k0), second per t, rest per t.
struct Models {
  std::array<std::array<BinModel, kMaxBits>, kContextClasses> unary{};
  std::array<std::array<BinModel, kContextClasses>, kMaxBits + 1> mant_first{};
  std::array<BinModel, kMaxBits + 1> mant_second{};
  std::array<BinModel, kMaxBits + 1> mant_rest{};
};

// Prediction and context class (§2) of the symbol at offset j of a chunk whose symbols are
// `chunk` (those before j already coded); `at` is its position in its row and plane. Neighbours
// outside the chunk do not exist.
struct Prediction {
  std::uint32_t pred = 0;
  std::uint32_t k0 = 0;
};

// Row and plane position of consecutive flat indices, without a division per symbol.
struct GridCursor {
  std::uint64_t row, plane, col, pos;
  GridCursor(const AdaptiveParams& p, std::uint64_t index) : row(p.row), plane(p.plane), col(index % p.row), pos(index % p.plane) {}
  void step() {
    if (++col == row) col = 0;
    if (++pos == plane) pos = 0;
  }
};

template <class Sym>
inline Prediction predict(const AdaptiveParams& prm, int bits, const GridCursor& at, std::size_t j, const Sym* chunk) {
  const bool has_a = at.col > 0 && j >= 1;
  const bool has_b = at.pos >= prm.row && j >= prm.row;
  const std::uint32_t a = has_a ? chunk[j - 1] : 0;
  const std::uint32_t b = has_b ? chunk[j - prm.row] : 0;
  const std::uint32_t kmax = 2 * static_cast<std::uint32_t>(bits) + 1;
  Prediction r;
  if (prm.predictor == Predictor::none) {
    if (has_a && has_b) r.k0 = std::min(1 + token(a) + token(b), kmax);
    else if (has_a) r.k0 = std::min(1 + 2 * token(a), kmax);
    else if (has_b) r.k0 = std::min(1 + 2 * token(b), kmax);
    return r;
  }
  std::uint32_t g = 0;
  if (has_a && has_b) {
    const bool has_c = j >= prm.row + 1;   // col > 0 and pos ≥ row hold already
    const std::uint32_t c = has_c ? chunk[j - prm.row - 1] : b;
    const std::uint32_t lo = std::min(a, b), hi = std::max(a, b);
    r.pred = c >= hi ? lo : c <= lo ? hi : a + b - c;
    const std::uint32_t d = (a > c ? a - c : c - a) + (b > c ? b - c : c - b) + (hi - lo);
    g = 1 + std::min(token(d), static_cast<std::uint32_t>(bits) + 1);
  } else if (has_a) {
    r.pred = a;
  } else if (has_b) {
    r.pred = b;
  }
  r.k0 = 2 * g + (r.pred == 0 ? 1 : 0);
  return r;
}

// Value ↔ coded number u (§2): predictor none codes v itself; med codes the zigzag of the
// residual v − pred taken mod 2^bits into [−2^(bits−1), 2^(bits−1)).
inline std::uint32_t to_coded(std::uint32_t v, std::uint32_t pred, Predictor p, int bits) {
  if (p == Predictor::none) return v;
  const std::uint32_t mask = (1u << bits) - 1;
  const std::uint32_t r = (v - pred) & mask;
  const std::uint32_t half = 1u << (bits - 1);
  return r < half ? 2 * r : 2 * ((1u << bits) - r) - 1;
}
inline std::uint32_t from_coded(std::uint32_t u, std::uint32_t pred, Predictor p, int bits) {
  if (p == Predictor::none) return u;
  const std::uint32_t mask = (1u << bits) - 1;
  const std::uint32_t r = (u & 1) ? (0u - ((u + 1) >> 1)) : (u >> 1);
  return (pred + r) & mask;
}

// Binarization (§2): token t = bitlen(u) as unary bins (bin k = [t > k], k < bits, stopping after
// the first 0), then for t ≥ 2 the t − 1 bits of u below its leading one, high to low.
// `Bins::bin(model, value)` codes one bin: the encoder passes the value and gets it back, the
// decoder ignores it and returns the decoded bin (or stops the walk by returning > 1).
template <class Bins>
inline bool code_value(Models& m, std::uint32_t k0, int bits, std::uint32_t rate, std::uint32_t u_in, Bins& io,
                       std::uint32_t& u_out) {
  const std::uint32_t t_in = token(u_in);
  std::uint32_t t = 0;
  for (std::uint32_t k = 0; k < static_cast<std::uint32_t>(bits); ++k) {
    BinModel& bm = m.unary[k0][k];
    const std::uint32_t b = io.bin(bm, t_in > k ? 1u : 0u);
    if (b > 1) return false;
    adapt(bm, b, rate);
    if (b == 0) break;
    t = k + 1;
  }
  std::uint32_t u = t;
  if (t >= 2) {
    u = 1;
    for (std::uint32_t j = t - 1; j-- > 0;) {
      BinModel& bm = j == t - 2 ? m.mant_first[t][k0] : j + 3 == t ? m.mant_second[t] : m.mant_rest[t];
      const std::uint32_t b = io.bin(bm, (u_in >> j) & 1u);
      if (b > 1) return false;
      adapt(bm, b, rate);
      u = (u << 1) | b;
    }
  }
  u_out = u;
  return true;
}

// The largest number of bins one 16-bit word can pay for: a decode step lowers x by at least
// 32·floor(x / 2^16) (frequencies ≥ kProbMin), and 23,890 such steps take any x < 2^32 below 2^16.
inline constexpr std::uint64_t kMaxBinsPerWord = 24576;

}  // namespace ftc::entropy::adaptive_detail
