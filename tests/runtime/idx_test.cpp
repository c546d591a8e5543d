// runtime/idx.cpp: IDX files, plain and gzip'd, from memory and from files; declared sizes are
// checked with overflow-safe arithmetic against the real data before the array is trusted.
#include "runtime/idx.hpp"

#include <doctest/doctest.h>
#include <zlib.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

using namespace ftc;
using namespace ftc::runtime;

namespace {

std::vector<std::uint8_t> idx(std::vector<std::uint32_t> dims, std::vector<std::uint8_t> data) {
  std::vector<std::uint8_t> b = {0, 0, 8, static_cast<std::uint8_t>(dims.size())};
  for (auto d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(d >> s));
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

std::vector<std::uint8_t> gzip(const std::vector<std::uint8_t>& in) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::vector<std::uint8_t> out(deflateBound(&z, in.size()) + 32);
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::vector<std::uint8_t> iota(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i * 7);
  return v;
}

struct TempFile {
  std::string path;
  explicit TempFile(const std::vector<std::uint8_t>& bytes, const char* suffix) {
    path = (std::filesystem::temp_directory_path() / ("ftc_idx_test_" + std::to_string(::getpid()) + suffix)).string();
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  ~TempFile() { std::remove(path.c_str()); }
};

}  // namespace

TEST_CASE("plain and gzip'd IDX read the same array, from memory and from files") {
  const auto data = iota(3 * 5 * 4);
  const auto plain = idx({3, 5, 4}, data);
  const auto gz = gzip(plain);
  for (const auto* bytes : {&plain, &gz}) {
    auto a = read_idx(*bytes, "mem");
    REQUIRE_MESSAGE(a.ok(), a.status().to_string());
    CHECK(a->dims == std::vector<std::uint32_t>{3, 5, 4});
    CHECK(a->data == data);
    TempFile f(*bytes, bytes == &gz ? ".gz" : ".idx");
    auto b = read_idx_file(f.path);
    REQUIRE_MESSAGE(b.ok(), b.status().to_string());
    CHECK(b->data == data);
    // max_items keeps the first entries of dim 0 only.
    auto c = read_idx_file(f.path, 2);
    REQUIRE(c.ok());
    CHECK(c->dims == std::vector<std::uint32_t>{2, 5, 4});
    CHECK(c->data == std::vector<std::uint8_t>(data.begin(), data.begin() + 40));
    CHECK(read_idx(*bytes, "mem", 2)->data == c->data);
  }
  // A large gzip'd array arrives in several inflate steps and chunks.
  const auto big = iota(3 << 20);
  auto r = read_idx(gzip(idx({3, 1024, 1024}, big)), "big");
  REQUIRE(r.ok());
  CHECK(r->data == big);
}

TEST_CASE("a file shorter than its header declares is refused") {
  // 65,536 × 128 × 128 images (1 GiB) declared by a few bytes.
  const auto lie = idx({65536, 128, 128}, std::vector<std::uint8_t>(16, 0));
  for (const auto& bytes : {lie, gzip(lie)}) {
    auto a = read_idx(bytes, "lie");
    CHECK(a.status().code() == StatusCode::bad_file);
    CHECK_MESSAGE(a.status().message().find("shorter than its header declares") != std::string::npos, a.status().message());
    CHECK_MESSAGE(a.status().message().find("1073741824 bytes)") != std::string::npos, a.status().message());
    TempFile f(bytes, ".gz");
    CHECK(read_idx_file(f.path).status().code() == StatusCode::bad_file);
  }
  // A truncated gzip stream is short data, not a crash.
  auto gz = gzip(idx({4, 4}, iota(16)));
  gz.resize(gz.size() - 12);
  CHECK(read_idx(gz, "cut").status().code() == StatusCode::bad_file);
}

TEST_CASE("dims whose product wraps or exceeds the limit are refused before allocating") {
  // (2^32 − 1)^3 · 2 wraps a 64-bit product.
  auto wrap = read_idx(idx({0xffffffffu, 0xffffffffu, 0xffffffffu, 2}, {}), "wrap");
  CHECK(wrap.status().code() == StatusCode::limit_exceeded);
  auto over = read_idx(idx({0x10000u, 0x10000u, 2}, {}), "over");
  CHECK(over.status().code() == StatusCode::limit_exceeded);
  // A zero dim is an empty array.
  auto empty = read_idx(idx({0, 28, 28}, {}), "empty");
  REQUIRE(empty.ok());
  CHECK(empty->data.empty());
}

TEST_CASE("headers that are not IDX") {
  CHECK(read_idx(std::vector<std::uint8_t>{0, 0}, "x").status().message().find("truncated IDX header") != std::string::npos);
  CHECK(read_idx(std::vector<std::uint8_t>{1, 0, 8, 1, 0, 0, 0, 0}, "x").status().message().find("bad magic") != std::string::npos);
  CHECK(read_idx(std::vector<std::uint8_t>{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0}, "x").status().message().find("type code 13") !=
        std::string::npos);
  CHECK(read_idx(std::vector<std::uint8_t>{0, 0, 8, 0}, "x").status().message().find("rank 0") != std::string::npos);
  CHECK(read_idx(std::vector<std::uint8_t>{0, 0, 8, 2, 0, 0}, "x").status().code() == StatusCode::bad_file);
  CHECK(read_idx_file("/nonexistent/ftc.idx").status().code() == StatusCode::io_error);
}
