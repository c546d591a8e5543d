// PortableU128 / PortableI128 (codec/entropy/int128.hpp), the encoder's 128-bit integers on
// targets without __int128, against the compiler's __int128 where it has one.
#include <doctest/doctest.h>

#include <random>

#include "codec/entropy/int128.hpp"

using namespace ftc::entropy;

#if defined(__SIZEOF_INT128__)
namespace {
using N = unsigned __int128;
N native(PortableU128 v) { return (static_cast<N>(v.hi()) << 64) | v.lo(); }
PortableU128 portable(N v) { return PortableU128::from_parts(static_cast<std::uint64_t>(v >> 64), static_cast<std::uint64_t>(v)); }

// Operands of every magnitude: 0, 1, around 2^32 and 2^64, up to all ones.
N operand(std::mt19937_64& rng) {
  const int bits = static_cast<int>(rng() % 129);
  if (bits == 0) return 0;
  const N v = (static_cast<N>(rng()) << 64) | rng();
  return bits == 128 ? v : v & ((static_cast<N>(1) << bits) - 1);
}
}  // namespace

TEST_CASE("PortableU128 matches unsigned __int128") {
  std::mt19937_64 rng(128);
  for (int i = 0; i < 200000; ++i) {
    const N a = operand(rng), b = operand(rng);
    const PortableU128 pa = portable(a), pb = portable(b);
    const int s = static_cast<int>(rng() % 128);
    CAPTURE(i);
    REQUIRE(native(pa + pb) == a + b);
    REQUIRE(native(pa - pb) == a - b);
    REQUIRE(native(pa * pb) == a * b);
    REQUIRE(native(pa << s) == a << s);
    REQUIRE(native(pa >> s) == a >> s);
    if (b != 0) REQUIRE(native(pa / pb) == a / b);
    REQUIRE((pa < pb) == (a < b));
    REQUIRE((pa == pb) == (a == b));
    REQUIRE((pa >= pb) == (a >= b));
    REQUIRE(static_cast<std::uint64_t>(pa) == static_cast<std::uint64_t>(a));
    const auto small = static_cast<std::uint64_t>(b);
    REQUIRE(native(pa * small) == a * small);
    REQUIRE(native(PortableU128(small)) == small);
  }
  REQUIRE(native(PortableU128(-1)) == ~static_cast<N>(0));
  REQUIRE(native(PortableU128(std::uint64_t{1}) << 127) == static_cast<N>(1) << 127);
}

TEST_CASE("PortableI128 matches __int128") {
  std::mt19937_64 rng(129);
  for (int i = 0; i < 200000; ++i) {
    const auto u = static_cast<std::uint64_t>(operand(rng));
    const auto d = static_cast<std::int32_t>(rng());
    const auto w = static_cast<std::uint64_t>(operand(rng));
    const __int128 x = static_cast<__int128>(u) * d - static_cast<__int128>(w);
    const PortableI128 px = PortableI128(u) * d - PortableI128(w);
    const auto e = static_cast<std::int32_t>(rng());
    const __int128 y = static_cast<__int128>(w) * e - static_cast<__int128>(u);
    const PortableI128 py = PortableI128(w) * e - PortableI128(u);
    CAPTURE(i);
    REQUIRE(native(px.bits()) == static_cast<N>(x));
    REQUIRE(native(py.bits()) == static_cast<N>(y));
    REQUIRE((px < py) == (x < y));
    REQUIRE((px > py) == (x > y));
    REQUIRE((px <= py) == (x <= y));
    REQUIRE((px == py) == (x == y));
  }
  REQUIRE(PortableI128(-1) < PortableI128(0));
  REQUIRE(PortableI128(std::int64_t{-5}) * 3 == PortableI128(-15));
}
#else
TEST_CASE("int128: no native 128-bit type to compare with on this target") {
  REQUIRE((PortableU128(std::uint64_t{1}) << 100 >> 100) == PortableU128(1));
}
#endif
