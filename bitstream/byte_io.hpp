// Little-endian byte reader and writer, LEB128 varints. Every read is bounds-checked and
// returns a Status; nothing here trusts the bytes it reads (docs/format.md §Conventions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "ftc/ftc.hpp"

namespace ftc {

class ByteWriter {
 public:
  explicit ByteWriter(std::vector<std::uint8_t>& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16le(std::uint16_t v) { le(v, 2); }
  void u32le(std::uint32_t v) { le(v, 4); }
  void u64le(std::uint64_t v) { le(v, 8); }
  void f32le(float v) { std::uint32_t b; std::memcpy(&b, &v, 4); u32le(b); }
  // Unsigned LEB128: 7 bits a byte, low group first, high bit = more. At most 10 bytes.
  void varint(std::uint64_t v) {
    while (v >= 0x80) { out_.push_back(static_cast<std::uint8_t>(v | 0x80)); v >>= 7; }
    out_.push_back(static_cast<std::uint8_t>(v));
  }
  void bytes(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void bytes(const void* p, std::size_t n) {
    auto* b = static_cast<const std::uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  std::size_t size() const { return out_.size(); }
  std::vector<std::uint8_t>& buffer() { return out_; }

 private:
  void le(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  std::vector<std::uint8_t>& out_;
};

inline std::size_t varint_size(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80) { v >>= 7; ++n; }
  return n;
}

class ByteReader {
 public:
  ByteReader(std::span<const std::uint8_t> in, const char* what = "stream") : in_(in), what_(what) {}
  std::size_t pos() const { return pos_; }
  std::size_t remaining() const { return in_.size() - pos_; }
  bool at_end() const { return pos_ == in_.size(); }
  std::span<const std::uint8_t> data() const { return in_; }

  Status u8(std::uint8_t& v) {
    FTC_RETURN_IF_ERROR(need(1));
    v = in_[pos_++];
    return {};
  }
  Status u16le(std::uint16_t& v) { std::uint64_t t; FTC_RETURN_IF_ERROR(le(t, 2)); v = static_cast<std::uint16_t>(t); return {}; }
  Status u32le(std::uint32_t& v) { std::uint64_t t; FTC_RETURN_IF_ERROR(le(t, 4)); v = static_cast<std::uint32_t>(t); return {}; }
  Status u64le(std::uint64_t& v) { return le(v, 8); }
  Status f32le(float& v) {
    std::uint32_t b;
    FTC_RETURN_IF_ERROR(u32le(b));
    std::memcpy(&v, &b, 4);
    return {};
  }
  // Rejects encodings longer than 10 bytes, values over 64 bits, and non-minimal encodings
  // (a trailing 0x00 group), so that every value has exactly one encoding.
  Status varint(std::uint64_t& v) {
    v = 0;
    for (int i = 0; i < 10; ++i) {
      std::uint8_t b;
      FTC_RETURN_IF_ERROR(u8(b));
      if (i == 9 && b > 1) return corrupt("varint overflows 64 bits");
      v |= static_cast<std::uint64_t>(b & 0x7F) << (7 * i);
      if (!(b & 0x80)) {
        if (b == 0 && i > 0) return corrupt("non-minimal varint");
        return {};
      }
    }
    return corrupt("varint longer than 10 bytes");
  }
  // A varint that must lie in [lo, hi].
  Status varint_in(std::uint64_t& v, std::uint64_t lo, std::uint64_t hi, const char* field) {
    FTC_RETURN_IF_ERROR(varint(v));
    if (v < lo || v > hi) return corrupt(std::string(field) + " out of range");
    return {};
  }
  Status bytes(std::size_t n, std::span<const std::uint8_t>& out) {
    FTC_RETURN_IF_ERROR(need(n));
    out = in_.subspan(pos_, n);
    pos_ += n;
    return {};
  }
  Status skip(std::size_t n) { FTC_RETURN_IF_ERROR(need(n)); pos_ += n; return {}; }

  Status corrupt(const std::string& msg) const {
    return {StatusCode::corrupt, std::string(what_) + ": " + msg + " at byte " + std::to_string(pos_)};
  }

 private:
  Status need(std::size_t n) const {
    if (n > remaining())
      return {StatusCode::truncated, std::string(what_) + ": ends at byte " + std::to_string(in_.size()) +
                                         ", needs " + std::to_string(n) + " more at byte " + std::to_string(pos_)};
    return {};
  }
  Status le(std::uint64_t& v, int n) {
    FTC_RETURN_IF_ERROR(need(static_cast<std::size_t>(n)));
    v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(in_[pos_ + i]) << (8 * i);
    pos_ += static_cast<std::size_t>(n);
    return {};
  }
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  const char* what_;
};

}  // namespace ftc
