// Coder `adaptive`: params parsing and the chunk decoder (docs/format-adaptive.md §1, §3).
// Hostile input: every word read is bounds-checked, model indices are bounded by construction
// (k0 < kContextClasses, t ≤ bits), and the chunk must end with every word read and the state
// back at 2^16.
#include "bitstream/byte_io.hpp"
#include "codec/entropy/adaptive.hpp"

namespace ftc::entropy {
using namespace adaptive_detail;

Result<AdaptiveParams> parse_adaptive_params(std::span<const std::uint8_t> params, int bits) {
  if (bits < 1 || bits > kMaxBits) return Status{StatusCode::corrupt, "adaptive: symbol width " + std::to_string(bits)};
  ByteReader r(params, "adaptive params");
  AdaptiveParams p;
  std::uint8_t pred, rate;
  FTC_RETURN_IF_ERROR(r.u8(pred));
  FTC_RETURN_IF_ERROR(r.u8(rate));
  FTC_RETURN_IF_ERROR(r.varint(p.row));
  FTC_RETURN_IF_ERROR(r.varint(p.plane));
  if (pred > 1) return Status{StatusCode::corrupt, "adaptive: predictor " + std::to_string(pred)};
  if (rate < 4 || rate > 8) return Status{StatusCode::corrupt, "adaptive: rate " + std::to_string(rate) + " outside 4..8"};
  if (p.row == 0 || p.plane == 0 || p.plane % p.row != 0)
    return Status{StatusCode::corrupt, "adaptive: plane " + std::to_string(p.plane) + " is not a positive multiple of row " + std::to_string(p.row)};
  if (!r.at_end()) return Status{StatusCode::corrupt, "adaptive: trailing bytes after the params"};
  p.predictor = static_cast<Predictor>(pred);
  p.rate = rate;
  return p;
}

namespace {

// docs/format-adaptive.md §3: slot = x mod 2^16; bin = [slot ≥ p]; x ← f·(x >> 16) + slot − start;
// one word when x < 2^16.
struct BinDecoder {
  std::uint32_t x;
  const std::uint8_t* in;
  const std::uint8_t* end;
  std::uint32_t bin(const BinModel& model, std::uint32_t) {
    const std::uint32_t p = model.p;
    const std::uint32_t slot = x & (kProbOne - 1);
    const std::uint32_t b = slot >= p ? 1u : 0u;
    // Branch-free select: the bin is unpredictable by design.
    const std::uint32_t m = 0u - b;
    const std::uint32_t f = (p ^ m) + b * (kProbOne + 1);   // b ? 2^16 − p : p (two's complement)
    const std::uint32_t start = p & m;
    x = f * (x >> kProbBits) + slot - start;
    if (x < kStateLow) {
      if (end - in < 2) return 2;   // truncated
      x = (x << 16) | static_cast<std::uint32_t>(in[0]) | (static_cast<std::uint32_t>(in[1]) << 8);
      in += 2;
    }
    return b;
  }
};

class AdaptiveDecoder final : public ChunkDecoder {
 public:
  AdaptiveDecoder(AdaptiveParams p, int bits) : p_(p), bits_(bits) {}

  Status check_size(std::span<const std::uint8_t> payload, std::size_t count) const override {
    if (count == 0) {
      if (!payload.empty()) return {StatusCode::corrupt, "adaptive: payload of an empty chunk is not empty"};
      return {};
    }
    if (payload.size() < 4) return {StatusCode::truncated, "adaptive: payload shorter than its state"};
    if ((payload.size() - 4) % 2 != 0) return {StatusCode::corrupt, "adaptive: odd number of word bytes"};
    const std::uint64_t words = (payload.size() - 4) / 2;
    if (count > (words + 1) * kMaxBinsPerWord)
      return {StatusCode::corrupt, "adaptive: " + std::to_string(payload.size()) + "-byte payload cannot hold " + std::to_string(count) + " symbols"};
    return {};
  }

  Status decode(std::span<const std::uint8_t> payload, const MutableSymbolSpan& out) const override {
    FTC_RETURN_IF_ERROR(check_size(payload, out.count));
    if (out.count == 0) return {};
    if (bits_ <= 8) return run(payload, out, static_cast<std::uint8_t*>(out.data));
    return run(payload, out, static_cast<std::uint16_t*>(out.data));
  }

 private:
  template <class Sym>
  Status run(std::span<const std::uint8_t> payload, const MutableSymbolSpan& out, Sym* sym) const {
    BinDecoder d{0, payload.data() + 4, payload.data() + payload.size()};
    d.x = static_cast<std::uint32_t>(payload[0]) | (static_cast<std::uint32_t>(payload[1]) << 8) |
          (static_cast<std::uint32_t>(payload[2]) << 16) | (static_cast<std::uint32_t>(payload[3]) << 24);
    if (d.x < kStateLow) return {StatusCode::corrupt, "adaptive: initial state below 2^16"};
    auto models = std::make_unique<Models>();
    GridCursor at(p_, out.first_index);
    for (std::size_t j = 0; j < out.count; ++j, at.step()) {
      const Prediction pr = predict(p_, bits_, at, j, sym);
      std::uint32_t u = 0;
      if (!code_value(*models, pr.k0, bits_, p_.rate, 0, d, u))
        return {StatusCode::truncated, "adaptive: payload ends at symbol " + std::to_string(j) + " of " + std::to_string(out.count)};
      sym[j] = static_cast<Sym>(from_coded(u, pr.pred, p_.predictor, bits_));
    }
    if (d.in != d.end) return {StatusCode::corrupt, "adaptive: bytes left over after the last symbol"};
    if (d.x != kStateLow) return {StatusCode::corrupt, "adaptive: final state is not 2^16"};
    return {};
  }

  AdaptiveParams p_;
  int bits_;
};

}  // namespace

Result<std::unique_ptr<ChunkDecoder>> make_adaptive_decoder(std::span<const std::uint8_t> params, int bits) {
  FTC_ASSIGN_OR_RETURN(AdaptiveParams p, parse_adaptive_params(params, bits));
  return std::unique_ptr<ChunkDecoder>(std::make_unique<AdaptiveDecoder>(p, bits));
}

}  // namespace ftc::entropy
