// Encode → decode round trip, and determinism: the same tensors encoded twice (and with 1 vs 2
// threads) give the same bytes. Input:
//   byte 0: dtype 1..9 (mod 9); with rANS, (byte 0 / 9) mod 3 → lanes automatic (32 at these
//           sizes: coder 2), 64 or 128 (coder 4, rans-wide)
//   byte 1: bits 0-1 quantizer (lossless/uniform/cast-f16/cast-bf16),
//           bits 2-3 coder (raw/zstd/rans/adaptive), bit 4 per-channel, bit 5 no chunk checksums,
//           bit 6 clip range, bit 7 second tensor
//   byte 2: bits 0-3 uniform bits 1..16 (1..8 with rANS; cast + rANS → zstd; see below for adaptive), bits 4-6 chunk elements (0 = auto, else 1 << 2k),
//           bit 7 also encode and decode with 2 threads and compare
//   byte 3: rank 0..4 (mod 5); then rank dims (1..8 each); the rest fills the elements (cycled).
#include <cmath>
#include <cstring>
#include <vector>

#include "fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  const auto dtype = static_cast<ftc::DType>(1 + data[0] % 9);
  const std::uint8_t m = data[1], b2 = data[2];
  const int rank = data[3] % 5;
  std::size_t pos = 4;
  ftc::Shape shape;
  for (int i = 0; i < rank; ++i) shape.push_back(pos < size ? 1 + (data[pos++] & 7) : 1);
  std::uint64_t n = 1;
  for (auto d : shape) n *= static_cast<std::uint64_t>(d);
  const std::size_t es = ftc::dtype_size(dtype);
  std::vector<std::uint8_t> buf(static_cast<std::size_t>(n) * es);
  const std::size_t avail = size - pos;
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = avail ? data[pos + i % avail] : static_cast<std::uint8_t>(i);

  ftc::EncoderOptions o;
  o.quantizer = static_cast<ftc::QuantizerKind>(m & 3);
  o.coder = static_cast<ftc::CoderKind>((m >> 2) & 3);
  if ((m & 16) && rank > 0) o.channel_axis = rank - 1;
  o.chunk_checksums = !(m & 32);
  if (m & 64) { o.clip_lo = -1.0; o.clip_hi = 3.0; }
  o.bits = 1 + (b2 & 15);
  const int ck = (b2 >> 4) & 7;
  o.chunk_elements = ck ? (std::uint64_t{1} << (2 * ck)) : 0;
  o.zstd_level = 1;
  // Building rANS tables for wide alphabets costs ~0.2 s per encode under ASan (the encoder's
  // precision search over 2^w-entry histograms): keep rANS to w ≤ 8 here so the target runs at
  // > 1000 exec/s; wide-alphabet rANS is covered by tests/entropy/rans_test.cpp.
  if (o.coder == ftc::CoderKind::rans) {
    if (o.quantizer == ftc::QuantizerKind::cast_f16 || o.quantizer == ftc::QuantizerKind::cast_bf16)
      o.coder = ftc::CoderKind::zstd;
    if (o.bits > 8) o.bits = 1 + (o.bits % 8);
    // RansHistograms::add rescans a 4×256 table per context run: per-channel along the last axis
    // (runs of 1) costs ~1000 steps a symbol (reported; rans_model_enc.cpp). Axis 0 here.
    if (o.channel_axis) o.channel_axis = 0;
    static const int kLanes[3] = {0, 64, 128};
    o.rans_lanes = kLanes[(data[0] / 9) % 3];
  }
  // The adaptive encoder walks every bin three times (two trial predictors, then the coding
  // pass) and wide or byte-plane symbols take up to 31 bins each: under trace-cmp instrumentation
  // that halves the exec rate. Wide adaptive streams stay in, on tensors of at most 256 elements;
  // fuzz_adaptive covers them at any size.
  if (o.coder == ftc::CoderKind::adaptive && n > 256 && (o.quantizer != ftc::QuantizerKind::uniform || o.bits > 8))
    o.coder = ftc::CoderKind::zstd;

  std::vector<ftc::NamedTensorView> views;
  views.push_back({"a", ftc::TensorView::contiguous(dtype, shape, buf.data())});
  const std::int64_t second_shape[1] = {3};
  if (m & 128) views.push_back({"b", ftc::TensorView::contiguous(dtype, second_shape, buf.data())});
  if (buf.size() < 3 * es) views.resize(1);

  ftc::Encoder enc(o);
  auto e1 = enc.encode(views);
  if (!e1.ok()) {
    // Only the caller's mistakes (e.g. NaN in lossy mode, cast on integers) may stop encoding.
    FTC_FUZZ_CHECK(static_cast<int>(e1.status().code()) < 20);
    return 0;
  }
  FTC_FUZZ_CHECK(e1->size() <= enc.bound(views));
  // Format 1.2 exactly when rANS runs 64 or 128 lanes (coder 4); 1.0 otherwise.
  if (o.coder == ftc::CoderKind::rans) FTC_FUZZ_CHECK((*e1)[3] == (o.rans_lanes >= 64 ? 0x12 : 0x10));
  auto e2 = enc.encode(views);
  FTC_FUZZ_CHECK(e2.ok() && *e2 == *e1);
  // Thread creation costs ~10 ms under ASan: the 2-thread passes run only when byte 2 bit 7 is set.
  const bool threaded = b2 & 0x80;
  if (threaded) {
    ftc::Encoder enc2(o);
    enc2.options().threads = 2;
    auto e3 = enc2.encode(views);
    FTC_FUZZ_CHECK(e3.ok() && *e3 == *e1);
  }

  ftc::Decoder dec;
  auto d = dec.decode(*e1);
  if (!d.ok()) std::fprintf(stderr, "decode: %s\n", d.status().to_string().c_str());
  FTC_FUZZ_CHECK(d.ok());
  FTC_FUZZ_CHECK(d->size() == views.size());
  for (std::size_t i = 0; i < views.size(); ++i) {
    const auto& t = (*d)[i].tensor;
    FTC_FUZZ_CHECK((*d)[i].name == views[i].name);
    FTC_FUZZ_CHECK(t.dtype() == dtype);
    FTC_FUZZ_CHECK(t.shape() == views[i].view.shape_vector());
    FTC_FUZZ_CHECK(t.byte_size() == views[i].view.element_count() * es);
    if (o.quantizer == ftc::QuantizerKind::lossless)
      FTC_FUZZ_CHECK(t.byte_size() == 0 || std::memcmp(t.data(), views[i].view.data, t.byte_size()) == 0);
  }
  // Decoding is deterministic too, across thread counts.
  if (!threaded) return 0;
  ftc::Decoder dec2;
  dec2.threads = 2;
  auto d2 = dec2.decode(*e1);
  FTC_FUZZ_CHECK(d2.ok());
  for (std::size_t i = 0; i < views.size(); ++i)
    FTC_FUZZ_CHECK((*d2)[i].tensor.byte_size() == (*d)[i].tensor.byte_size() &&
                   std::memcmp((*d2)[i].tensor.data(), (*d)[i].tensor.data(), (*d)[i].tensor.byte_size()) == 0);
  return 0;
}
