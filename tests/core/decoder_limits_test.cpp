// The per-frame table budget (docs/format.md §7.1) and the encoder's agreement with the decoder's
// limits (EncoderOptions::decoder_limits, ftc_encoder_set_decoder_limit).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "bitstream/compact_frame.hpp"
#include "bitstream/frame.hpp"
#include "codec/entropy/coder.hpp"
#include "codec/entropy/rans.hpp"
#include "codec/quant/quantize.hpp"
#include "ftc/ftc.h"
#include "ftc/ftc.hpp"

using namespace ftc;
namespace fs = std::filesystem;

namespace {

// The repro: one 1,024-element u16 tensor, per-channel 16-bit uniform quantizer (1,024
// contexts), rANS with 1,024 in-stream tables of 65,536 symbols each (precision 16: the last
// symbol holds all the mass, the others are a zero run — a few bytes a table).
std::vector<std::uint8_t> table_bomb_params() {
  entropy::RansTables t;
  t.bits = 16;
  t.precision = 16;
  t.tables.resize(1024);
  t.context_table.resize(1024);
  for (std::uint32_t i = 0; i < 1024; ++i) {
    t.tables[i].freq.assign(65536, 0);
    t.tables[i].freq.back() = 1u << 16;
    t.context_table[i] = i;
  }
  REQUIRE(t.validate(1024).ok());
  return t.serialized();
}

std::vector<std::uint8_t> table_bomb_frame() {
  format::FrameHeader h;
  format::TensorDesc d;
  d.name = "bomb";
  d.dtype = DType::u16;
  d.shape = {1024};
  d.quantizer = QuantizerKind::uniform;
  d.uniform = format::UniformParams{16, 0, std::vector<float>(1024, 0.0f), std::vector<float>(1024, 1.0f)};
  d.coder = CoderKind::rans;
  d.coder_params = table_bomb_params();
  h.tensors.push_back(d);
  std::vector<std::uint8_t> out;
  REQUIRE(format::write_header(h, out).ok());
  const std::vector<std::uint8_t> payload(64, 0);
  format::write_chunk(payload, true, out);
  return out;
}

Tensor random_tensor(Shape shape, std::uint32_t seed) {
  Tensor t = Tensor::zeros(DType::f32, std::move(shape)).value();
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  float* p = t.data_as<float>();
  for (std::uint64_t i = 0; i < t.element_count(); ++i) p[i] = std::max(0.0f, nd(rng)) * static_cast<float>(1 + i % 7);
  return t;
}

// Σ table_entries over the frame's tensors, as the encoder and decoder count them.
std::uint64_t frame_table_entries(std::span<const std::uint8_t> frame) {
  auto f = format::parse_frame(frame, DecoderLimits{}, false);
  REQUIRE(f.ok());
  std::uint64_t n = 0;
  for (const auto& d : f->header.tensors) {
    const auto layout = quant::symbol_layout(d);
    auto e = entropy::table_entries(d.coder, d.coder_params, layout.bits, layout.ctx);
    REQUIRE(e.ok());
    n += *e;
  }
  return n;
}

std::uint64_t frame_elements(std::span<const std::uint8_t> frame) {
  auto f = format::parse_frame(frame, DecoderLimits{}, false);
  REQUIRE(f.ok());
  std::uint64_t n = 0;
  for (const auto& d : f->header.tensors) n += d.element_count;
  return n;
}

std::vector<std::uint8_t> slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

}  // namespace

TEST_CASE("frame_table_budget is min(cap, 16 frame bytes + elements + 2^20), saturating") {
  DecoderLimits l;
  CHECK(frame_table_budget(l, 0, 0) == (std::uint64_t{1} << 20));
  CHECK(frame_table_budget(l, 22694, 1024) == 16 * 22694 + 1024 + (std::uint64_t{1} << 20));
  CHECK(frame_table_budget(l, std::uint64_t{1} << 30, 0) == l.max_table_entries);
  l.max_table_entries = UINT64_MAX;
  CHECK(frame_table_budget(l, UINT64_MAX / 8, UINT64_MAX) == UINT64_MAX);
  l.max_table_entries = 5;
  CHECK(frame_table_budget(l, 1000, 1000) == 5);
}

TEST_CASE("the issue's table bomb is refused before its tables are built") {
  const auto frame = table_bomb_frame();
  CHECK(frame.size() < 32768);
  const std::uint64_t budget = frame_table_budget(DecoderLimits{}, frame.size(), 1024);
  // What the frame declares: 2^26 slots + 1,024 map entries + 1,024 · 65,537 symbols.
  CHECK(frame_table_entries(frame) == (std::uint64_t{1} << 26) + 1024 + 1024 * std::uint64_t{65537});

  SUBCASE("Decoder: limit_exceeded naming the tensor and the numbers") {
    auto r = Decoder().decode(frame);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::limit_exceeded);
    CHECK(r.status().message().find("tensor 'bomb'") != std::string::npos);
    CHECK(r.status().message().find(std::to_string(budget)) != std::string::npos);
    CHECK(r.status().message().find(std::to_string(frame.size()) + " frame bytes") != std::string::npos);
  }
  SUBCASE("a larger cap does not lift the budget: it follows the frame's size") {
    DecoderLimits l;
    l.max_table_entries = UINT64_MAX;
    CHECK(Decoder(l).decode(frame).status().code() == StatusCode::limit_exceeded);
  }
  SUBCASE("the parser stops at the first charge over the budget") {
    // The first charge, 2^26 slots, is already over: nothing of the tables is allocated.
    entropy::TableBudget b{budget};
    auto params = table_bomb_params();
    auto t = entropy::RansTables::parse(params, 16, 1024, &b);
    CHECK(t.status().code() == StatusCode::limit_exceeded);
    CHECK(b.used == (std::uint64_t{1} << 26));
    // With room for the slots and the map, it stops within one table of the limit.
    entropy::TableBudget b2{(std::uint64_t{1} << 26) + 1024 + 10 * 65537};
    CHECK(entropy::RansTables::parse(params, 16, 1024, &b2).status().code() == StatusCode::limit_exceeded);
    CHECK(b2.used == (std::uint64_t{1} << 26) + 1024 + 11 * std::uint64_t{65537});
  }
  SUBCASE("C ABI") {
    ftc_decoder* d = ftc_decoder_create();
    CHECK(ftc_decode(d, frame.data(), frame.size()) == FTC_ERROR_LIMIT_EXCEEDED);
    CHECK(std::string(ftc_decoder_last_error(d)).find("bomb") != std::string::npos);
    CHECK(ftc_decoder_tensor_count(d) == 0);
    ftc_decoder_free(d);
  }
}

TEST_CASE("every golden vector decodes under the budget as before") {
  const fs::path root = fs::path(FTC_SOURCE_DIR) / "tests" / "golden";
  int checked = 0;
  for (const auto& dir : fs::directory_iterator(root)) {
    if (!fs::exists(dir.path() / "valid")) continue;
    for (const auto& f : fs::directory_iterator(dir.path() / "valid")) {
      if (f.path().extension() != ".ftc") continue;
      const auto bytes = slurp(f.path());
      if (format::is_compact_frame(bytes)) continue;  // model-bound: tables come from the model
      CAPTURE(f.path().string());
      auto parsed = format::parse_frame(bytes, DecoderLimits{});
      if (!parsed.ok()) continue;  // needs a codec model for its descriptors
      CHECK(frame_table_entries(bytes) <= frame_table_budget(DecoderLimits{}, bytes.size(), frame_elements(bytes)));
      CHECK(Decoder().decode(bytes).ok());
      ++checked;
    }
  }
  CHECK(checked >= 10);
}

TEST_CASE("normal frames of every coder fit the budget") {
  const std::vector<Shape> shapes = {{1, 64, 28, 28}, {1, 512, 7, 7}, {1, 1024, 1, 1}, {3, 5}, {1, 256, 14, 14}};
  int n = 0;
  for (const auto& shape : shapes)
    for (CoderKind coder : {CoderKind::raw, CoderKind::zstd, CoderKind::rans, CoderKind::rans_wide, CoderKind::adaptive,
                            CoderKind::context_rans})
      for (int bits : {3, 12})
        for (bool per_channel : {false, true}) {
          CAPTURE(shape.size());
          CAPTURE(coder_name(coder));
          CAPTURE(bits);
          EncoderOptions o;
          o.coder = coder;
          o.bits = bits;
          if (per_channel && shape.size() > 1) o.channel_axis = 1;
          const Tensor t = random_tensor(shape, static_cast<std::uint32_t>(n));
          auto frame = Encoder(o).encode(t.view());
          REQUIRE(frame.ok());
          CHECK(frame_table_entries(*frame) <= frame_table_budget(DecoderLimits{}, frame->size(), t.element_count()));
          CHECK(Decoder().decode(*frame).ok());
          ++n;
        }
}

TEST_CASE("C ABI: FTC_LIMIT_MAX_TABLE_ENTRIES") {
  const Tensor t = random_tensor({1, 16, 8, 8}, 7);
  EncoderOptions o;
  o.coder = CoderKind::rans;
  o.channel_axis = 1;
  auto frame = Encoder(o).encode(t.view());
  REQUIRE(frame.ok());
  const std::uint64_t entries = frame_table_entries(*frame);
  REQUIRE(entries > 1);
  ftc_decoder* d = ftc_decoder_create();
  CHECK(ftc_decoder_set_limit(d, FTC_LIMIT_MAX_TABLE_ENTRIES, 0) == FTC_ERROR_INVALID_ARGUMENT);
  CHECK(ftc_decoder_set_limit(d, FTC_LIMIT_MAX_TABLE_ENTRIES, entries - 1) == FTC_OK);
  CHECK(ftc_decode(d, frame->data(), frame->size()) == FTC_ERROR_LIMIT_EXCEEDED);
  CHECK(ftc_decoder_set_limit(d, FTC_LIMIT_MAX_TABLE_ENTRIES, entries) == FTC_OK);
  CHECK(ftc_decode(d, frame->data(), frame->size()) == FTC_OK);
  CHECK(ftc_decoder_tensor_count(d) == 1);
  ftc_decoder_free(d);
}

TEST_CASE("the encoder refuses exactly the frames its decoder_limits would refuse") {
  const Tensor big = random_tensor({1, 32, 64, 64}, 1);   // 131,072 elements, 512 KiB
  const Tensor small = random_tensor({1, 8, 4, 4}, 2);
  struct Case {
    const char* what;
    DecoderLimits limits;
    std::uint64_t chunk_elements;
    bool two_tensors;
  };
  std::vector<Case> cases;
  const auto with = [](auto set) {
    DecoderLimits l;
    set(l);
    return l;
  };
  cases.push_back({"defaults", {}, 0, true});
  cases.push_back({"small chunks on a big tensor", {}, 16, false});  // 8,192 chunks < 2^20: fine
  cases.push_back({"max_chunks under the chunk count", with([](DecoderLimits& l) { l.max_chunks = 1000; }), 64, false});
  cases.push_back({"max_chunks at the chunk count", with([](DecoderLimits& l) { l.max_chunks = 2048; }), 64, false});
  cases.push_back({"max_elements", with([](DecoderLimits& l) { l.max_elements = 100000; }), 0, false});
  cases.push_back({"max_elements, two tensors", with([](DecoderLimits& l) { l.max_elements = 131072 + 127; }), 0, true});
  cases.push_back({"max_elements exact", with([](DecoderLimits& l) { l.max_elements = 131072 + 128; }), 0, true});
  cases.push_back({"max_output_bytes", with([](DecoderLimits& l) { l.max_output_bytes = 4096; }), 0, false});
  cases.push_back({"max_tensors", with([](DecoderLimits& l) { l.max_tensors = 1; }), 0, true});
  cases.push_back({"max_rank", with([](DecoderLimits& l) { l.max_rank = 3; }), 0, false});
  cases.push_back({"max_table_entries", with([](DecoderLimits& l) { l.max_table_entries = 1000; }), 0, false});
  cases.push_back({"max_table_entries roomy", with([](DecoderLimits& l) { l.max_table_entries = 1 << 22; }), 0, false});
  int refused = 0, accepted = 0;
  for (const auto& c : cases)
    for (CoderKind coder : {CoderKind::zstd, CoderKind::rans, CoderKind::adaptive}) {
      CAPTURE(c.what);
      CAPTURE(coder_name(coder));
      EncoderOptions o;
      o.coder = coder;
      o.channel_axis = 1;
      o.chunk_elements = c.chunk_elements;
      std::vector<NamedTensorView> views = {{"big", big.view()}};
      if (c.two_tensors) views.push_back({"small", small.view()});
      // The frame as an unlimited encoder writes it, and the decoder with the limits.
      EncoderOptions unlimited = o;
      unlimited.decoder_limits = DecoderLimits{UINT64_MAX, UINT64_MAX, kMaxRank, UINT32_MAX, UINT64_MAX, UINT64_MAX};
      auto frame = Encoder(unlimited).encode(views);
      REQUIRE(frame.ok());
      const bool decoder_ok = Decoder(c.limits).decode(*frame).ok();
      o.decoder_limits = c.limits;
      auto limited = Encoder(o).encode(views);
      CHECK(limited.ok() == decoder_ok);
      if (limited.ok()) {
        CHECK(*limited == *frame);
        ++accepted;
      } else {
        CHECK(limited.status().code() == StatusCode::invalid_argument);
        CHECK(limited.status().message().find("would refuse") != std::string::npos);
        ++refused;
      }
    }
  // Six limit cases refuse with every coder; max_table_entries 1000 refuses rans and adaptive
  // (1,288 bin models), not zstd (no tables).
  CHECK(refused == 6 * 3 + 2);
  CHECK(accepted == static_cast<int>(cases.size()) * 3 - refused);
}

TEST_CASE("the encoder's default refuses what a default decoder refuses: 2^20 + 1 chunks") {
  const Tensor t = Tensor::zeros(DType::u8, {(std::int64_t{1} << 20) + 1}).value();
  EncoderOptions o;
  o.quantizer = QuantizerKind::lossless;
  o.coder = CoderKind::raw;
  o.chunk_elements = 1;
  auto r = Encoder(o).encode(t.view());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::invalid_argument);
  CHECK(r.status().message().find("max_chunks") != std::string::npos);
  o.decoder_limits.max_chunks = (std::uint64_t{1} << 20) + 1;
  auto ok = Encoder(o).encode(t.view());
  REQUIRE(ok.ok());
  DecoderLimits l;
  CHECK(Decoder(l).decode(*ok).status().code() == StatusCode::limit_exceeded);
  l.max_chunks = o.decoder_limits.max_chunks;
  CHECK(Decoder(l).decode(*ok).ok());
}

TEST_CASE("C ABI: ftc_encoder_set_decoder_limit") {
  const Tensor t = random_tensor({1, 4, 32, 32}, 3);
  const std::int64_t shape[] = {1, 4, 32, 32};
  ftc_tensor ct{FTC_F32, 4, shape, nullptr, t.data(), "x"};
  ftc_encoder* e = ftc_encoder_create();
  CHECK(ftc_encoder_set_decoder_limit(e, FTC_DECODER_THREADS, 2) == FTC_ERROR_INVALID_ARGUMENT);
  CHECK(ftc_encoder_set_decoder_limit(e, FTC_LIMIT_MAX_CHUNKS, 0) == FTC_ERROR_INVALID_ARGUMENT);
  CHECK(ftc_encoder_set(e, FTC_PARAM_CHUNK_ELEMENTS, 16) == FTC_OK);  // 256 chunks
  CHECK(ftc_encoder_set_decoder_limit(e, FTC_LIMIT_MAX_CHUNKS, 255) == FTC_OK);
  std::vector<std::uint8_t> out(ftc_encode_bound(e, &ct, 1));
  size_t size = 0;
  CHECK(ftc_encode(e, &ct, 1, out.data(), out.size(), &size) == FTC_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(ftc_encoder_last_error(e)).find("max_chunks 255") != std::string::npos);
  CHECK(ftc_encoder_set_decoder_limit(e, FTC_LIMIT_MAX_CHUNKS, 256) == FTC_OK);
  CHECK(ftc_encode(e, &ct, 1, out.data(), out.size(), &size) == FTC_OK);
  ftc_encoder_reset(e);  // back to the default limits
  CHECK(ftc_encoder_set_decoder_limit(e, FTC_LIMIT_MAX_OUTPUT_BYTES, 4095) == FTC_OK);
  CHECK(ftc_encode(e, &ct, 1, out.data(), out.size(), &size) == FTC_ERROR_INVALID_ARGUMENT);
  ftc_encoder_free(e);
}
