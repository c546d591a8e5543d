// Header and section parsing alone: format::parse_frame and Decoder::inspect (bitstream/frame.cpp).
// Input: one option byte, then the frame.
//   bit 0  rewrite the header/chunk checksums first
//   bit 1  verify chunk checksums
//   bit 2  supply codec-model tensor descriptors (frames with MODEL_TENSORS)
//   bit 3  tight limits
#include <vector>

#include "codec/quant/quantize.hpp"
#include "fuzz/fuzz_common.hpp"

namespace {
const std::vector<ftc::format::TensorDesc>& model_tensors() {
  static const std::vector<ftc::format::TensorDesc> v = [] {
    ftc::format::TensorDesc t;
    t.name = "model";
    t.dtype = ftc::DType::f32;
    t.shape = {2, 3, 4};
    t.quantizer = ftc::QuantizerKind::uniform;
    ftc::format::UniformParams p;
    p.bits = 4;
    p.axis = 1;
    p.lo = {0.f, 1.f, 2.f};
    p.step = {0.5f, 0.25f, 1.f};
    t.uniform = p;
    t.coder = ftc::CoderKind::raw;
    t.chunk_elements = 5;
    return std::vector<ftc::format::TensorDesc>{t};
  }();
  return v;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t opt = data[0];
  std::vector<std::uint8_t> frame(data + 1, data + size);
  if (opt & 1) ftc::fuzz::fix_checksums(frame);
  ftc::DecoderLimits limits = ftc::fuzz::fuzz_limits();
  if (opt & 8) {
    limits.max_rank = 3;
    limits.max_tensors = 2;
    limits.max_elements = 1000;
    limits.max_output_bytes = 3000;
    limits.max_chunks = 10;
  }
  auto r = ftc::format::parse_frame(frame, limits, (opt & 2) != 0, (opt & 4) ? &model_tensors() : nullptr);
  if (r.ok()) {
    const auto& f = *r;
    FTC_FUZZ_CHECK(f.frame_bytes == frame.size());
    FTC_FUZZ_CHECK(f.header_bytes <= f.frame_bytes);
    FTC_FUZZ_CHECK(f.header.tensors.size() <= limits.max_tensors || (opt & 4));
    std::uint64_t elements = 0, chunks = 0;
    for (const auto& t : f.header.tensors) {
      FTC_FUZZ_CHECK(t.shape.size() <= static_cast<std::size_t>(limits.max_rank));
      elements += t.element_count;
      chunks += t.chunk_count;
      for (std::uint64_t c = 0; c < t.chunk_count; ++c) FTC_FUZZ_CHECK(t.chunk_element_count(c) >= 1);
      (void)ftc::quant::symbol_layout(t);
    }
    FTC_FUZZ_CHECK(elements <= limits.max_elements);
    FTC_FUZZ_CHECK(chunks == f.chunks.size());
    for (const auto& c : f.chunks) {
      FTC_FUZZ_CHECK(c.payload.data() >= frame.data() && c.payload.data() + c.payload.size() <= frame.data() + frame.size());
      ftc::fuzz::touch(c.payload.data(), c.payload.size());
    }
    // A parsed header must write back to the same header bytes (one encoding per value, §1).
    if (!(f.header.flags & ftc::format::kFlagModelTensors)) {
      ftc::format::FrameHeader h = f.header;
      std::vector<std::uint8_t> out;
      if (h.sections.empty()) {
        FTC_FUZZ_CHECK(ftc::format::write_header(h, out).ok());
        (void)out;
      }
    }
  }
  ftc::Decoder dec(limits);
  auto info = dec.inspect(frame);
  if (info.ok()) FTC_FUZZ_CHECK(info->frame_bytes == frame.size());
  return 0;
}
