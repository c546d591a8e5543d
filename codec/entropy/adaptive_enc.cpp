// Coder `adaptive`: encoder (docs/format-adaptive.md §4, informative). A forward pass walks the
// chunk exactly as the decoder will, recording each bin and the probability it was coded with;
// rANS then codes the bins backwards so that the decoder reads forwards.
#include <algorithm>

#include "bitstream/byte_io.hpp"
#include "codec/entropy/adaptive.hpp"

namespace ftc::entropy {
using namespace adaptive_detail;

void serialize_adaptive_params(const AdaptiveParams& p, std::vector<std::uint8_t>& out) {
  ByteWriter w(out);
  w.u8(static_cast<std::uint8_t>(p.predictor));
  w.u8(p.rate);
  w.varint(p.row);
  w.varint(p.plane);
}

namespace {

// Records (p, bin) per bin; `cost` sums −log2 of the coded probability in 1/256 bit.
struct BinRecorder {
  std::vector<std::uint16_t>* probs = nullptr;   // null: cost only
  std::vector<std::uint8_t>* bins = nullptr;
  std::uint64_t cost = 0;
  const std::uint16_t* cost_table = nullptr;     // −log2(q / 2^16)·256 for q = index << 4
  std::uint32_t bin(const BinModel& m, std::uint32_t b) {
    const std::uint32_t q = b ? kProbOne - m.p : m.p;
    cost += cost_table[q >> 4];
    if (probs) {
      probs->push_back(m.p);
      bins->push_back(static_cast<std::uint8_t>(b));
    }
    return b;
  }
};

// −log2(i·16 / 2^16) in 1/256 bit for i in [1, 4096], by integer arithmetic: the bit length
// gives the integer part, 8 squarings of the normalized mantissa the fraction. Deterministic on
// every machine, so the encoder's predictor choice is too.
const std::uint16_t* cost_table() {
  static const std::vector<std::uint16_t> t = [] {
    std::vector<std::uint16_t> v(4097, 0);
    for (std::uint32_t i = 1; i <= 4096; ++i) {
      // log2(i) in Q8 with i < 2^13.
      const std::uint32_t e = static_cast<std::uint32_t>(std::bit_width(i)) - 1;
      std::uint64_t m = (static_cast<std::uint64_t>(i) << 30) >> e;   // mantissa in [2^30, 2^31) = [1, 2)
      std::uint32_t frac = 0;
      for (int k = 0; k < 8; ++k) {
        m = (m * m) >> 30;
        frac <<= 1;
        if (m >= (std::uint64_t{1} << 31)) { m >>= 1; frac |= 1; }
      }
      const std::uint32_t log_q8 = (e << 8) | frac;          // log2(i)
      v[i] = static_cast<std::uint16_t>((12u << 8) - log_q8);  // −log2(i / 2^12)
    }
    v[0] = v[1];
    return v;
  }();
  return t.data();
}

template <class Sym>
void walk(const AdaptiveParams& prm, int bits, const SymbolSpan& chunk, BinRecorder& rec) {
  const Sym* sym = static_cast<const Sym*>(chunk.data);
  auto models = std::make_unique<Models>();
  GridCursor at(prm, chunk.first_index);
  for (std::size_t j = 0; j < chunk.count; ++j, at.step()) {
    const Prediction pr = predict(prm, bits, at, j, sym);
    std::uint32_t u = 0;
    code_value(*models, pr.k0, bits, prm.rate, to_coded(sym[j], pr.pred, prm.predictor, bits), rec, u);
  }
}

void walk_any(const AdaptiveParams& prm, const SymbolSpan& chunk, BinRecorder& rec) {
  if (chunk.bits <= 8) walk<std::uint8_t>(prm, chunk.bits, chunk, rec);
  else walk<std::uint16_t>(prm, chunk.bits, chunk, rec);
}

class AdaptiveEncoder final : public ChunkEncoder {
 public:
  AdaptiveEncoder(AdaptiveParams p, int bits) : p_(p), bits_(bits) {}

  Status encode(const SymbolSpan& chunk, std::vector<std::uint8_t>& out) const override {
    if (chunk.count == 0) return {};
    std::vector<std::uint16_t> probs;
    std::vector<std::uint8_t> bins;
    probs.reserve(chunk.count * 3);
    bins.reserve(chunk.count * 3);
    BinRecorder rec{&probs, &bins, 0, cost_table()};
    walk_any(p_, chunk, rec);

    // Reverse rANS: for each bin from last to first, with f = p (bin 0) or 2^16 − p (bin 1) and
    // start 0 or p: emit the low word while x ≥ f·2^16, then x ← (x div f)·2^16 + x mod f + start.
    std::vector<std::uint16_t> words;   // in emission order: the reverse of reading order
    words.reserve(bins.size() / 4 + 2);
    std::uint32_t x = kStateLow;
    for (std::size_t k = bins.size(); k-- > 0;) {
      const std::uint32_t p = probs[k];
      const std::uint32_t f = bins[k] ? kProbOne - p : p;
      const std::uint32_t start = bins[k] ? p : 0;
      if (x >= (f << 16)) {
        words.push_back(static_cast<std::uint16_t>(x));
        x >>= 16;
      }
      x = (x / f) * kProbOne + x % f + start;
    }
    ByteWriter bw(out);
    bw.u32le(x);
    for (std::size_t k = words.size(); k-- > 0;) bw.u16le(words[k]);
    return {};
  }

  std::size_t max_payload(std::size_t count) const override {
    return static_cast<std::size_t>(adaptive_max_payload(count, bits_));
  }

 private:
  AdaptiveParams p_;
  int bits_;
};

}  // namespace

Result<std::unique_ptr<ChunkEncoder>> make_adaptive_chunk_encoder(const AdaptiveParams& p, int bits) {
  if (bits < 1 || bits > kMaxBits) return Status{StatusCode::invalid_argument, "adaptive: symbol width must be 1..16"};
  if (p.row == 0 || p.plane == 0 || p.plane % p.row != 0 || p.rate < 4 || p.rate > 8)
    return Status{StatusCode::invalid_argument, "adaptive: bad parameters"};
  return std::unique_ptr<ChunkEncoder>(std::make_unique<AdaptiveEncoder>(p, bits));
}

Result<EncoderSetup> make_adaptive_encoder(const SymbolSpan& all, const CoderConfig& config) {
  AdaptiveParams p;
  p.row = config.row == 0 ? 1 : config.row;
  p.plane = config.plane == 0 || config.plane % p.row != 0 ? p.row : config.plane;
  // Predictor: the cheaper on a prefix of up to 256 Ki symbols, coded as one chunk.
  SymbolSpan prefix = all;
  prefix.count = std::min<std::size_t>(all.count, std::size_t{1} << 18);
  std::uint64_t best = UINT64_MAX;
  for (Predictor pred : {Predictor::none, Predictor::med}) {
    AdaptiveParams trial = p;
    trial.predictor = pred;
    BinRecorder rec{nullptr, nullptr, 0, cost_table()};
    walk_any(trial, prefix, rec);
    if (rec.cost < best) {
      best = rec.cost;
      p.predictor = pred;
    }
  }
  EncoderSetup setup;
  serialize_adaptive_params(p, setup.params);
  FTC_ASSIGN_OR_RETURN(setup.encoder, make_adaptive_chunk_encoder(p, all.bits));
  return setup;
}

}  // namespace ftc::entropy
