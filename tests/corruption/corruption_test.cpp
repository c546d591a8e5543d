// Corruption suite (SECURITY.md, docs/fuzzing.md): damaged versions of every golden vector of every
// format version must give an error status or an in-bounds result, never a crash.
//
//  - every truncation length of every vector: an input-error status for the valid ones, an error
//    or an in-bounds result for the invalid ones;
//  - every single-bit flip in the header of every valid vector, with the header checksum left as
//    is and with it re-sealed (so the flip reaches the field parsers);
//  - random payload bit flips per valid vector, half of them with re-sealed chunk checksums so they
//    reach the coders: 10,000 per vector for every valid vector in an unsanitized build (about 40
//    vectors); FTC_CORRUPTION_FLIPS overrides, and sanitized builds default to 1,000 per vector
//    except the rANS, zstd and raw per-channel vectors, which keep 10,000;
//  - ftc_decode_into with a too-small output buffer leaves a canary after the buffer intact;
//  - headers that declare huge sizes are refused, and the process's peak resident memory grows by
//    less than 16 MiB (skipped under ASan/TSan/MSan, whose shadow memory distorts RSS).
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bitstream/frame.hpp"
#include "ftc/ftc.h"
#include "ftc/ftc.hpp"

using namespace ftc;
namespace fs = std::filesystem;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FTC_SANITIZED_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define FTC_SANITIZED_BUILD 1
#endif
#endif
#ifndef FTC_SANITIZED_BUILD
#define FTC_SANITIZED_BUILD 0
#endif

namespace {

struct Vector {
  std::string name;  // v1/valid/x.ftc
  bool valid = false;
  std::vector<std::uint8_t> bytes;
};

std::vector<std::uint8_t> slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

const std::vector<Vector>& vectors() {
  static const std::vector<Vector> all = [] {
    std::vector<Vector> v;
    const fs::path root = fs::path(FTC_SOURCE_DIR) / "tests" / "golden";
    std::vector<fs::path> dirs;
    for (const auto& d : fs::directory_iterator(root))
      if (d.is_directory() && fs::exists(d.path() / "MANIFEST")) dirs.push_back(d.path());
    std::sort(dirs.begin(), dirs.end());
    for (const auto& dir : dirs) {
      std::ifstream m(dir / "MANIFEST");
      std::string line;
      while (std::getline(m, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream ls(line);
        std::string kind, file;
        ls >> kind >> file;
        // Compact model-bound frames need their codec model; their every bit flip and
        // truncation is checked by tests/model/codec_model_roundtrip_test.cpp.
        if (file.rfind("compact_", 0) == 0) continue;
        v.push_back({dir.filename().string() + "/" + kind + "/" + file, kind == "valid", slurp(dir / kind / file)});
      }
    }
    return v;
  }();
  return all;
}

bool is_input_error(StatusCode c) { return static_cast<int>(c) >= 20 && static_cast<int>(c) < 40; }

// Decodes `bytes`: an input-error status, or tensors whose extents are consistent (and readable:
// every byte is read, so a sanitizer sees a bad extent).
void decode_checked(std::span<const std::uint8_t> bytes, int* ok_count = nullptr) {
  Decoder d;
  auto r = d.decode(bytes);
  if (!r.ok()) {
    CHECK_MESSAGE(is_input_error(r.status().code()), r.status().to_string());
    return;
  }
  if (ok_count) ++*ok_count;
  REQUIRE(r->size() <= d.limits().max_tensors);
  std::uint64_t total = 0;
  for (const auto& t : *r) {
    const auto n = checked_element_count(t.tensor.shape());
    REQUIRE(n.has_value());
    REQUIRE(t.tensor.byte_size() == *n * dtype_size(t.tensor.dtype()));
    total += t.tensor.byte_size();
    std::uint8_t x = 0;
    for (std::size_t i = 0; i < t.tensor.byte_size(); ++i) x ^= t.tensor.data()[i];
    (void)x;
  }
  REQUIRE(total <= d.limits().max_output_bytes);
}

// Header size of a valid frame.
std::size_t header_bytes(std::span<const std::uint8_t> frame) {
  auto info = Decoder().inspect(frame);
  REQUIRE(info.ok());
  return static_cast<std::size_t>(info->header_bytes);
}

void put32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Recomputes every chunk checksum of a frame whose header is intact.
void reseal_chunks(std::vector<std::uint8_t>& f) {
  auto p = format::parse_frame(f, DecoderLimits{}, /*verify_chunk_checksums=*/false);
  if (!p.ok() || (p->header.flags & format::kFlagNoChunkChecksums)) return;
  for (const auto& c : p->chunks)
    put32(f, static_cast<std::size_t>(c.payload.data() - f.data()) + c.payload.size(), format::checksum32(c.payload));
}

long peak_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// A frame with one tensor `desc` and `chunk_bytes` after the header (not a real chunk table).
std::vector<std::uint8_t> frame_with(const format::TensorDesc& desc, std::vector<std::uint8_t> chunk_bytes) {
  format::FrameHeader h;
  h.tensors.push_back(desc);
  std::vector<std::uint8_t> out;
  REQUIRE(format::write_header(h, out).ok());
  out.insert(out.end(), chunk_bytes.begin(), chunk_bytes.end());
  return out;
}

format::TensorDesc desc_of(DType t, Shape shape, std::uint64_t chunk_elements = 0) {
  format::TensorDesc d;
  d.name = "huge";
  d.dtype = t;
  d.shape = std::move(shape);
  d.quantizer = QuantizerKind::lossless;
  d.coder = CoderKind::zstd;
  d.chunk_elements = chunk_elements;
  return d;
}

}  // namespace

// First in the file so that the peak-RSS baseline is not raised by the other cases.
TEST_CASE("headers declaring huge sizes are refused before allocating") {
  struct Case {
    const char* what;
    std::vector<std::uint8_t> frame;
    StatusCode expect;
  };
  std::vector<Case> cases;
  cases.push_back({"2^40 elements", frame_with(desc_of(DType::f32, {1 << 20, 1 << 20}), {1, 0}), StatusCode::limit_exceeded});
  cases.push_back({"2^29 f32 = 2 GiB output", frame_with(desc_of(DType::f32, {1 << 29}), {1, 0}), StatusCode::limit_exceeded});
  cases.push_back({"2^27 chunks of 1 element", frame_with(desc_of(DType::u8, {1 << 27}, 1), {1, 0}), StatusCode::limit_exceeded});
  cases.push_back({"2^20 chunks, 2 bytes left", frame_with(desc_of(DType::u8, {1 << 20}, 1), {1, 0}), StatusCode::truncated});
  {
    // Per-channel uniform over a 2^40 axis of an empty tensor: 2^40 (lo, step) pairs declared.
    std::vector<std::uint8_t> out{0x46, 0x54, 0x43, 0x10, 0x00, 0x01};
    std::vector<std::uint8_t> body{0, 1, 0, 2, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 1, 8, 2, 0, 0, 0};
    out.push_back(static_cast<std::uint8_t>(body.size()));
    out.insert(out.end(), body.begin(), body.end());
    const std::uint32_t s = format::checksum32(out);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(s >> (8 * i)));
    cases.push_back({"2^40 uniform groups", out, StatusCode::truncated});
  }
  {
    // 2^48 x 2^48 u8 elements (the product overflows 64 bits; the writer refuses it, so by hand).
    std::vector<std::uint8_t> out{0x46, 0x54, 0x43, 0x10, 0x00, 0x01};
    std::vector<std::uint8_t> body{0, 6, 0, 2, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40,
                                   0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0, 1, 0, 0};
    out.push_back(static_cast<std::uint8_t>(body.size()));
    out.insert(out.end(), body.begin(), body.end());
    const std::uint32_t s = format::checksum32(out);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(s >> (8 * i)));
    cases.push_back({"2^48 x 2^48 elements", out, StatusCode::limit_exceeded});
  }
  {
    // tensor_count = 2^63.
    std::vector<std::uint8_t> out{0x46, 0x54, 0x43, 0x10, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    cases.push_back({"2^63 tensors", out, StatusCode::limit_exceeded});
  }
  const long before = peak_rss_kib();
  for (const auto& c : cases) {
    CAPTURE(c.what);
    auto r = Decoder().decode(c.frame);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == c.expect);
    ftc_decoder* d = ftc_decoder_create();
    CHECK(ftc_decode(d, c.frame.data(), c.frame.size()) == static_cast<ftc_status>(c.expect));
    ftc_decoder_free(d);
  }
  const long grew = peak_rss_kib() - before;
  MESSAGE("peak RSS grew by " << grew << " KiB over " << cases.size() << " huge-declaring frames");
#if FTC_SANITIZED_BUILD
  MESSAGE("sanitized build: the resident-memory bound is not checked (shadow memory distorts RSS)");
#else
  CHECK(grew < 16 * 1024);
#endif
}

// A frame within the default limits that declares 2^28 one-byte elements in one chunk with a
// 1-byte payload: the decoder zero-fills a 256 MiB symbol buffer (codec/decoder_dec.cpp
// alloc_symbols) before the payload is found short. Recorded as a known gap (docs/fuzzing.md);
// may_fail until the decoder checks payload sizes (or allocates per chunk) first.
TEST_CASE("a short payload does not buy the declared output's memory") {
#if FTC_SANITIZED_BUILD
  MESSAGE("sanitized build: skipped (shadow memory distorts RSS)");
#else
  auto d = desc_of(DType::u8, {1 << 28});
  d.coder = CoderKind::raw;
  const auto frame = frame_with(d, {1, 0, 0, 0, 0, 0});
  auto parsed = format::parse_frame(frame, DecoderLimits{}, false);
  REQUIRE(parsed.ok());  // header and chunk table are fine; the checksum of the payload is not
  std::vector<std::uint8_t> f = frame;
  reseal_chunks(f);
  const long before = peak_rss_kib();
  auto r = Decoder().decode(f);
  CHECK_FALSE(r.ok());
  const long grew = peak_rss_kib() - before;
  MESSAGE("peak RSS grew by " << grew << " KiB decoding a 32-byte frame that declares 256 MiB");
  CHECK(grew < 16 * 1024);
#endif
}

// Valid vectors: every strict prefix is an input error. Invalid vectors: error or an in-bounds
// result (a prefix of trailing_byte.ftc is a valid frame).
TEST_CASE("every truncation of every golden vector: input error (valid vectors) or in-bounds result") {
  const auto& vs = vectors();
  REQUIRE(vs.size() >= 50);
  std::size_t runs = 0;
  for (const auto& v : vs) {
    CAPTURE(v.name);
    for (std::size_t len = 0; len < v.bytes.size(); ++len) {
      CAPTURE(len);
      const auto prefix = std::span<const std::uint8_t>(v.bytes).first(len);
      if (v.valid) {
        auto r = Decoder().decode(prefix);
        REQUIRE_FALSE(r.ok());
        CHECK(is_input_error(r.status().code()));
      } else {
        decode_checked(prefix);
      }
      ++runs;
    }
  }
  MESSAGE(runs << " truncations");
}

TEST_CASE("every single-bit flip in a header: error or in-bounds result") {
  std::size_t runs = 0;
  int ok = 0;
  for (const auto& v : vectors()) {
    if (!v.valid) continue;
    CAPTURE(v.name);
    const std::size_t hb = header_bytes(v.bytes);
    for (std::size_t bit = 0; bit < hb * 8; ++bit) {
      CAPTURE(bit);
      std::vector<std::uint8_t> f = v.bytes;
      f[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      // As is: the header checksum (or the magic/version checks) must catch it.
      {
        Decoder d;
        auto r = d.decode(f);
        if (bit / 8 < hb - 4) CHECK_FALSE(r.ok());
        if (!r.ok()) CHECK(is_input_error(r.status().code()));
      }
      // Re-sealed: the flip reaches the field parsers and the coders.
      if (bit / 8 < hb - 4) {
        put32(f, hb - 4, format::checksum32(std::span<const std::uint8_t>(f).first(hb - 4)));
        decode_checked(f, &ok);
      }
      runs += 2;
    }
  }
  MESSAGE(runs << " header flips, " << ok << " re-sealed flips still decoded");
}

TEST_CASE("random payload bit flips: error or in-bounds result") {
  int default_flips = FTC_SANITIZED_BUILD ? 1000 : 10000;
  if (const char* e = std::getenv("FTC_CORRUPTION_FLIPS")) default_flips = std::max(1, std::atoi(e));
  std::mt19937_64 rng(0x5eed);
  std::size_t runs = 0;
  int ok = 0;
  for (const auto& v : vectors()) {
    if (!v.valid) continue;
    CAPTURE(v.name);
    const std::size_t hb = header_bytes(v.bytes);
    if (hb >= v.bytes.size()) continue;  // no chunks
    const bool representative = v.name.find("_rans") != std::string::npos ||
                                v.name.find("uniform8_perchannel") != std::string::npos ||
                                v.name.find("chunked") != std::string::npos;
    const int flips = representative ? std::max(default_flips, 10000) : default_flips;
    const std::size_t payload_bits = (v.bytes.size() - hb) * 8;
    for (int i = 0; i < flips; ++i) {
      std::vector<std::uint8_t> f = v.bytes;
      const int nflips = 1 + static_cast<int>(rng() % 3);
      for (int k = 0; k < nflips; ++k) {
        const std::size_t bit = hb * 8 + rng() % payload_bits;
        f[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      }
      if (i & 1) reseal_chunks(f);
      decode_checked(f, &ok);
      ++runs;
    }
  }
  MESSAGE(runs << " payload corruptions, " << ok << " still decoded");
}

TEST_CASE("ftc_decode_into with a too-small buffer leaves the canary intact") {
  constexpr std::size_t kCanary = 64;
  for (const auto& v : vectors()) {
    if (!v.valid) continue;
    CAPTURE(v.name);
    ftc_decoder* d = ftc_decoder_create();
    std::size_t need = 0;
    const ftc_status s0 = ftc_decode_into(d, v.bytes.data(), v.bytes.size(), nullptr, 0, &need);
    CHECK((s0 == FTC_OK ? need == 0 : s0 == FTC_ERROR_BUFFER_TOO_SMALL));
    for (std::size_t cap : {std::size_t{0}, std::size_t{1}, need / 2, need ? need - 1 : 0, need}) {
      CAPTURE(cap);
      std::vector<std::uint8_t> buf(cap + kCanary, 0xA5);
      std::size_t got = 0;
      const ftc_status s = ftc_decode_into(d, v.bytes.data(), v.bytes.size(), buf.data(), cap, &got);
      CHECK(got == need);
      CHECK(s == (cap >= need ? FTC_OK : FTC_ERROR_BUFFER_TOO_SMALL));
      for (std::size_t i = 0; i < kCanary; ++i) REQUIRE(buf[cap + i] == 0xA5);
      if (s != FTC_OK) CHECK(ftc_decoder_tensor_count(d) == 0);
    }
    ftc_decoder_free(d);
  }
}
