// 128-bit integers for the rANS encoder's exact cost sums: the compiler's __int128 where it has
// one (64-bit targets), else PortableU128 / PortableI128 (32-bit targets such as armhf). Both give
// the same values: every operation is exact modulo 2^128 (two's complement for the signed one),
// so tables and streams do not depend on which is used.
#pragma once

#include <cstdint>
#include <type_traits>

namespace ftc::entropy {

class PortableU128 {
 public:
  constexpr PortableU128() = default;
  // From any integer, as a conversion to unsigned __int128 would (negatives sign-extend).
  template <class T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
  constexpr PortableU128(T v)  // NOLINT: implicit, like the built-in type
      : lo_(static_cast<std::uint64_t>(v)), hi_(std::is_signed_v<T> && v < 0 ? ~std::uint64_t{0} : 0) {}
  static constexpr PortableU128 from_parts(std::uint64_t hi, std::uint64_t lo) {
    PortableU128 r;
    r.hi_ = hi;
    r.lo_ = lo;
    return r;
  }
  constexpr std::uint64_t lo() const { return lo_; }
  constexpr std::uint64_t hi() const { return hi_; }
  template <class T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
  explicit constexpr operator T() const { return static_cast<T>(lo_); }

  friend constexpr PortableU128 operator+(PortableU128 a, PortableU128 b) {
    const std::uint64_t lo = a.lo_ + b.lo_;
    return from_parts(a.hi_ + b.hi_ + (lo < a.lo_ ? 1 : 0), lo);
  }
  friend constexpr PortableU128 operator-(PortableU128 a, PortableU128 b) {
    return from_parts(a.hi_ - b.hi_ - (a.lo_ < b.lo_ ? 1 : 0), a.lo_ - b.lo_);
  }
  friend constexpr PortableU128 operator*(PortableU128 a, PortableU128 b) {
    PortableU128 r = mul64(a.lo_, b.lo_);
    r.hi_ += a.hi_ * b.lo_ + a.lo_ * b.hi_;
    return r;
  }
  friend constexpr PortableU128 operator/(PortableU128 n, PortableU128 d) { return divmod(n, d, nullptr); }
  friend constexpr PortableU128 operator<<(PortableU128 a, int s) {
    if (s == 0) return a;
    if (s >= 64) return from_parts(a.lo_ << (s - 64), 0);
    return from_parts((a.hi_ << s) | (a.lo_ >> (64 - s)), a.lo_ << s);
  }
  friend constexpr PortableU128 operator>>(PortableU128 a, int s) {
    if (s == 0) return a;
    if (s >= 64) return from_parts(0, a.hi_ >> (s - 64));
    return from_parts(a.hi_ >> s, (a.lo_ >> s) | (a.hi_ << (64 - s)));
  }
  PortableU128& operator+=(PortableU128 b) { return *this = *this + b; }
  PortableU128& operator-=(PortableU128 b) { return *this = *this - b; }
  friend constexpr bool operator==(PortableU128 a, PortableU128 b) { return a.hi_ == b.hi_ && a.lo_ == b.lo_; }
  friend constexpr bool operator<(PortableU128 a, PortableU128 b) { return a.hi_ != b.hi_ ? a.hi_ < b.hi_ : a.lo_ < b.lo_; }
  friend constexpr bool operator!=(PortableU128 a, PortableU128 b) { return !(a == b); }
  friend constexpr bool operator>(PortableU128 a, PortableU128 b) { return b < a; }
  friend constexpr bool operator<=(PortableU128 a, PortableU128 b) { return !(b < a); }
  friend constexpr bool operator>=(PortableU128 a, PortableU128 b) { return !(a < b); }
  constexpr explicit operator bool() const { return (hi_ | lo_) != 0; }

 private:
  // a·b as 128 bits from four 32×32 → 64 products.
  static constexpr PortableU128 mul64(std::uint64_t a, std::uint64_t b) {
    const std::uint64_t a0 = a & 0xFFFFFFFFu, a1 = a >> 32, b0 = b & 0xFFFFFFFFu, b1 = b >> 32;
    const std::uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    const std::uint64_t mid = (p00 >> 32) + (p01 & 0xFFFFFFFFu) + (p10 & 0xFFFFFFFFu);
    return from_parts(p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32), (mid << 32) | (p00 & 0xFFFFFFFFu));
  }
  // n / d by restoring shift-subtract division (d ≠ 0); one 64-bit division when both fit.
  static constexpr PortableU128 divmod(PortableU128 n, PortableU128 d, PortableU128* rem) {
    if (n.hi_ == 0 && d.hi_ == 0) {
      if (rem) *rem = PortableU128(n.lo_ % d.lo_);
      return PortableU128(n.lo_ / d.lo_);
    }
    PortableU128 q, r;
    for (int i = 127; i >= 0; --i) {
      r = (r << 1) | ((n >> i).lo_ & 1);
      if (r >= d) {
        r -= d;
        q = q | (PortableU128(1) << i);
      }
    }
    if (rem) *rem = r;
    return q;
  }
  friend constexpr PortableU128 operator|(PortableU128 a, PortableU128 b) { return from_parts(a.hi_ | b.hi_, a.lo_ | b.lo_); }

  std::uint64_t lo_ = 0;
  std::uint64_t hi_ = 0;
};

// Two's complement over PortableU128: +, −, × are the unsigned ones; comparisons are signed.
class PortableI128 {
 public:
  constexpr PortableI128() = default;
  template <class T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
  constexpr PortableI128(T v) : v_(v) {}  // NOLINT: implicit, like the built-in type
  friend constexpr PortableI128 operator+(PortableI128 a, PortableI128 b) { return PortableI128(a.v_ + b.v_, 0); }
  friend constexpr PortableI128 operator-(PortableI128 a, PortableI128 b) { return PortableI128(a.v_ - b.v_, 0); }
  friend constexpr PortableI128 operator*(PortableI128 a, PortableI128 b) { return PortableI128(a.v_ * b.v_, 0); }
  friend constexpr bool operator==(PortableI128 a, PortableI128 b) { return a.v_ == b.v_; }
  friend constexpr bool operator<(PortableI128 a, PortableI128 b) { return a.biased() < b.biased(); }
  friend constexpr bool operator>(PortableI128 a, PortableI128 b) { return b < a; }
  friend constexpr bool operator<=(PortableI128 a, PortableI128 b) { return !(b < a); }
  friend constexpr bool operator>=(PortableI128 a, PortableI128 b) { return !(a < b); }
  constexpr PortableU128 bits() const { return v_; }

 private:
  constexpr PortableI128(PortableU128 v, int) : v_(v) {}
  // Order-preserving map to unsigned: the sign bit flipped.
  constexpr PortableU128 biased() const { return PortableU128::from_parts(v_.hi() ^ (std::uint64_t{1} << 63), v_.lo()); }
  PortableU128 v_;
};

#if defined(__SIZEOF_INT128__)
using u128 = unsigned __int128;
using i128 = __int128;
#else
using u128 = PortableU128;
using i128 = PortableI128;
#endif

}  // namespace ftc::entropy
