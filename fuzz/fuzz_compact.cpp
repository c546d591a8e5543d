// Compact model-bound frames (docs/format.md §2.3) and coder 5 behind them, decoded with the golden
// codec model tests/golden/v1.3/models/golden13.ftcm registered. Input: frame bytes, then one
// option byte: bit 0 re-seals the check first (reach the coder behind it), bit 1 decodes twice
// on the same decoder.
#include <fstream>
#include <iterator>
#include <vector>

#include "bitstream/compact_frame.hpp"
#include "fuzz/fuzz_common.hpp"

namespace {

const std::shared_ptr<const ftc::CodecModel>& golden_model() {
  static const std::shared_ptr<const ftc::CodecModel> model = [] {
    std::ifstream f(FTC_SOURCE_DIR "/tests/golden/v1.3/models/golden13.ftcm", std::ios::binary);
    const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(f), {}};
    auto m = ftc::CodecModel::from_bytes(bytes);
    FTC_FUZZ_CHECK(m.ok());
    return std::move(m).value();
  }();
  return model;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t opt = data[size - 1];
  std::vector<std::uint8_t> frame(data, data + size - 1);
  const auto& model = golden_model();
  if ((opt & 1) && frame.size() >= ftc::format::kCompactHeaderBytes) {
    const std::uint32_t c = ftc::format::compact_check(model->hash(), frame[0], frame[1],
                                                       std::span<const std::uint8_t>(frame).subspan(6));
    for (int b = 0; b < 4; ++b) frame[2 + static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(c >> (8 * b));
  }
  ftc::Decoder d(ftc::fuzz::fuzz_limits());
  FTC_FUZZ_CHECK(d.add_codec_model(model).ok());
  for (int round = 0; round < ((opt & 2) ? 2 : 1); ++round) {
    auto r = d.decode(frame);
    if (r.ok()) {
      FTC_FUZZ_CHECK(r->size() == 1);
      FTC_FUZZ_CHECK((*r)[0].tensor.shape() == model->tensor_shape());
    } else {
      const int code = static_cast<int>(r.status().code());
      FTC_FUZZ_CHECK(code >= 20 && code < 40);
    }
  }
  return 0;
}
