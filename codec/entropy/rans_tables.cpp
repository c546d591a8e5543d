// rANS tables: validation, serialization (docs/format-rans.md §Tables) and the decoder's
// expanded tables. Shared by encoder and decoder builds (model files are written by tools that
// may be decoder-only as well).
#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

#include "bitstream/byte_io.hpp"
#include "codec/entropy/rans.hpp"
#include "codec/entropy/rans_internal.hpp"

namespace ftc::entropy {
namespace {

Status corrupt(const std::string& msg) { return {StatusCode::corrupt, "rans tables: " + msg}; }

// LSB-first bit packing (docs/format-rans.md §Bit packing). Invariant: fill_ < 32 between calls.
class BitWriter {
 public:
  explicit BitWriter(std::vector<std::uint8_t>& out) : out_(out) {}
  void put(std::uint64_t v, int n) {  // n ≤ 32, v < 2^n
    acc_ |= v << fill_;
    fill_ += n;
    if (fill_ >= 32) {
      const std::uint8_t b[4] = {static_cast<std::uint8_t>(acc_), static_cast<std::uint8_t>(acc_ >> 8),
                                 static_cast<std::uint8_t>(acc_ >> 16), static_cast<std::uint8_t>(acc_ >> 24)};
      out_.insert(out_.end(), b, b + 4);
      acc_ >>= 32;
      fill_ -= 32;
    }
  }
  void unary(std::uint32_t q) {  // q one bits, then a zero
    while (q >= 16) { put(0xFFFF, 16); q -= 16; }
    put((1u << q) - 1, static_cast<int>(q) + 1);
  }
  void flush() {
    for (; fill_ > 0; fill_ -= 8) { out_.push_back(static_cast<std::uint8_t>(acc_)); acc_ >>= 8; }
    acc_ = 0;
    fill_ = 0;
  }
 private:
  std::vector<std::uint8_t>& out_;
  std::uint64_t acc_ = 0;
  int fill_ = 0;
};

class BitReader {
 public:
  explicit BitReader(std::span<const std::uint8_t> in) : in_(in) {}
  // n ≤ 24 bits, low bit first.
  Status get(int n, std::uint32_t& v) {
    v = 0;
    if (n == 0) return {};
    if (pos_ + static_cast<std::size_t>(n) > in_.size() * 8)
      return {StatusCode::truncated, "rans tables: bit-packed table body ends early"};
    v = static_cast<std::uint32_t>(peek() & ((std::uint64_t{1} << n) - 1));
    pos_ += static_cast<std::size_t>(n);
    return {};
  }
  Status bit(std::uint32_t& b) { return get(1, b); }
  // Counts one bits up to the terminating zero; fails beyond `limit`.
  Status unary(std::uint32_t limit, std::uint32_t& q) { return run_of<true>(limit, q, "frequency out of range"); }
  // Counts zero bits up to the terminating one; fails beyond `limit`.
  Status zeros(std::uint32_t limit, std::uint32_t& z) { return run_of<false>(limit, z, "zero run too long"); }
  // One Rice-coded value (unary q, then k low bits) from a single 64-bit read, when all of it lies
  // within the 56 bits a read guarantees and q ≤ qmax. Returns false without consuming anything
  // otherwise; the caller then takes the checked path (unary + get), which reports errors.
  bool rice_fast(int k, std::uint32_t qmax, std::uint32_t& f) {
    if (in_.size() * 8 - pos_ < 64) return false;
    const std::uint64_t w = peek();
    const std::uint64_t zero_bits = ~w;
    if (zero_bits == 0) return false;
    const int q = __builtin_ctzll(zero_bits);
    if (q + 1 + k > 56 || static_cast<std::uint32_t>(q) > qmax) return false;
    const std::uint32_t low = static_cast<std::uint32_t>((w >> (q + 1)) & ((std::uint64_t{1} << k) - 1));
    f = (static_cast<std::uint32_t>(q) << k) | low;
    pos_ += static_cast<std::size_t>(q + 1 + k);
    return true;
  }
  // A table body's values (docs/format-rans.md §1.3) into out[0..max) — which must be zero —
  // while each value, and the zero run after a zero value, lies within one 64-bit read and is in
  // range; stops where it cannot go on that way (then the checked path reads on). Returns the
  // entries covered; `run_pending`: the last one is a zero whose run is still to be read. Values
  // are added to `sum`.
  std::size_t rice_block(int k, std::uint32_t qmax, std::uint32_t* out, std::size_t max, std::uint64_t& sum,
                         bool& run_pending) {
    run_pending = false;
    if (in_.size() < 8) return 0;
    const std::uint8_t* data = in_.data();
    const std::size_t last = (in_.size() - 8) * 8;  // a load at bit position p ≤ last is in range
    const std::uint64_t kmask = (std::uint64_t{1} << k) - 1;
    std::size_t pos = pos_, i = 0;
    std::uint64_t acc = 0;
    // buf holds the `avail` bits from pos on (zeros above them); refilled below 32 so that a
    // value of up to 32 bits never straddles a refill.
    std::uint64_t buf = 0;
    int avail = 0;
    while (i < max) {
      if (avail < 32) {
        if (pos > last) break;
        std::memcpy(&buf, data + (pos >> 3), 8);
        if constexpr (std::endian::native == std::endian::big) buf = __builtin_bswap64(buf);  // little-endian bytes
        buf >>= (pos & 7);
        avail = 64 - static_cast<int>(pos & 7);
      }
      if (~buf == 0) break;  // 64 one bits: longer than any value the fast path takes
      const int q = __builtin_ctzll(~buf);
      const int len = q + 1 + k;
      if (len > avail || len >= 64 || static_cast<std::uint32_t>(q) > qmax) break;  // len < 64: shifts stay defined
      const std::uint32_t f = (static_cast<std::uint32_t>(q) << k) | static_cast<std::uint32_t>((buf >> (q + 1)) & kmask);
      buf >>= len;
      avail -= len;
      pos += static_cast<std::size_t>(len);
      out[i++] = f;
      acc += f;
      if (f == 0) {
        // Elias gamma of run + 1: z zero bits, a one, z low bits.
        const int z = __builtin_ctzll(buf | (std::uint64_t{1} << 63));
        const int glen = 2 * z + 1;
        if (z > 17 || glen > avail) { run_pending = true; break; }
        const std::uint64_t run =
            ((std::uint64_t{1} << z) | ((buf >> (z + 1)) & ((std::uint64_t{1} << z) - 1))) - 1;
        if (run > max - i) { run_pending = true; break; }
        buf = buf >> glen;  // glen ≤ 35
        avail -= glen;
        pos += static_cast<std::size_t>(glen);
        i += static_cast<std::size_t>(run);
      }
    }
    pos_ = pos;
    sum += acc;
    return i;
  }
  std::size_t bytes_used() const { return (pos_ + 7) / 8; }
  // Padding bits of the last byte must be zero.
  Status check_padding() const {
    for (std::size_t p = pos_; p < bytes_used() * 8; ++p)
      if ((in_[p >> 3] >> (p & 7)) & 1u) return corrupt("non-zero padding bits");
    return {};
  }
 private:
  // Length of the run of `Ones`-valued bits before the next opposite bit, which is consumed too;
  // fails beyond `limit` or at the end of the input.
  template <bool Ones>
  Status run_of(std::uint32_t limit, std::uint32_t& n, const char* too_long) {
    n = 0;
    for (;;) {
      const std::size_t avail = in_.size() * 8 - pos_;
      if (avail == 0) return {StatusCode::truncated, "rans tables: bit-packed table body ends early"};
      const int take = avail < 56 ? static_cast<int>(avail) : 56;
      const std::uint64_t bits = Ones ? ~peek() : peek();   // the terminating bit as a one
      const std::uint64_t w = bits & ((std::uint64_t{1} << take) - 1);
      if (w) {
        const std::uint32_t len = static_cast<std::uint32_t>(__builtin_ctzll(w));
        if (n + len > limit) return corrupt(too_long);
        n += len;
        pos_ += len + 1;
        return {};
      }
      n += static_cast<std::uint32_t>(take);
      pos_ += static_cast<std::size_t>(take);
      if (n > limit) return corrupt(too_long);
    }
  }
  // Up to 64 bits from pos_ (bits past the end read as zero); at least 56 are valid when present.
  std::uint64_t peek() const {
    const std::size_t byte = pos_ >> 3;
    std::uint64_t w = 0;
    if constexpr (std::endian::native == std::endian::little) {
      if (in_.size() - byte >= 8) {  // one unaligned load (bytes copied, not reinterpreted)
        std::memcpy(&w, in_.data() + byte, 8);
        return w >> (pos_ & 7);
      }
    }
    const std::size_t have = in_.size() - byte < 8 ? in_.size() - byte : 8;
    for (std::size_t i = 0; i < have; ++i) w |= static_cast<std::uint64_t>(in_[byte + i]) << (8 * i);
    return w >> (pos_ & 7);
  }
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

int ceil_log2(std::uint64_t v) {
  int b = 0;
  while ((std::uint64_t{1} << b) < v) ++b;
  return b;
}

// The body's size with Rice parameter k (write_body) is S(k) + coded·(1 + k) + run_bits, with
// S(k) = Σ over the non-zero f of f >> k, `coded` the entries written as a Rice code (the
// non-zero ones and the first zero of each run) and `run_bits` the runs' Elias-gamma lengths.
struct BodyShape {
  std::uint64_t sum = 0, nonzero = 0, coded = 0, run_bits = 0;
  explicit BodyShape(const RansTable& t) {
    const std::size_t n = t.freq.size();
    for (std::size_t i = 0; i < n;) {
      const std::uint32_t f = t.freq[i++];
      ++coded;
      if (f) { sum += f; ++nonzero; continue; }
      std::size_t run = 0;
      while (i + run < n && t.freq[i + run] == 0) ++run;
      run_bits += 2 * static_cast<std::uint64_t>(63 - __builtin_clzll(run + 1)) + 1;
      i += run;
    }
  }
};

// The Rice parameter with the fewest body bits among a window around log2 of the mean non-zero
// frequency (ties: the smallest k), and those bits.
std::pair<int, std::uint64_t> best_k(const RansTable& t, int precision) {
  const BodyShape b(t);
  int center = 0;
  if (b.nonzero) while ((std::uint64_t{2} << center) * b.nonzero <= b.sum) ++center;
  const int lo = std::max(0, center - 3), hi = std::min({precision, 15, center + 2});
  if (hi < lo) return {0, b.sum + b.coded + b.run_bits};
  std::uint64_t shifted[6] = {};  // S(lo + j), j ≤ hi − lo ≤ 5; constant shifts vectorize
  for (std::uint32_t f : t.freq) {
    const std::uint32_t g = f >> lo;
    shifted[0] += g;
    shifted[1] += g >> 1;
    shifted[2] += g >> 2;
    shifted[3] += g >> 3;
    shifted[4] += g >> 4;
    shifted[5] += g >> 5;
  }
  int best = lo;
  std::uint64_t best_bits = UINT64_MAX;
  for (int k = lo; k <= hi; ++k) {
    const std::uint64_t bits = shifted[k - lo] + b.coded * (1 + static_cast<std::uint64_t>(k)) + b.run_bits;
    if (bits < best_bits) { best_bits = bits; best = k; }
  }
  return {best, best_bits};
}

void write_body(BitWriter& w, const RansTable& t, int k) {
  const std::size_t n = t.freq.size();
  const std::uint32_t low_mask = (1u << k) - 1;
  for (std::size_t i = 0; i < n;) {
    const std::uint32_t f = t.freq[i];
    const std::uint32_t q = f >> k;
    if (q + 1 + static_cast<std::uint32_t>(k) <= 32) {  // q ones, a zero, the k low bits: one put
      w.put(((std::uint64_t{1} << q) - 1) | static_cast<std::uint64_t>(f & low_mask) << (q + 1), static_cast<int>(q) + 1 + k);
    } else {
      w.unary(q);
      if (k > 0) w.put(f & low_mask, k);
    }
    ++i;
    if (f == 0) {
      std::size_t run = 0;
      while (i + run < n && t.freq[i + run] == 0) ++run;
      // Elias gamma of run + 1: z zero bits, a one bit, then the z low bits.
      const std::uint64_t v = run + 1;
      const int z = 63 - __builtin_clzll(v);
      w.put(std::uint64_t{1} << z, z + 1);
      if (z > 0) w.put(v & ((std::uint64_t{1} << z) - 1), z);
      i += run;
    }
  }
  w.flush();
}

}  // namespace

Status RansTables::validate(std::uint32_t groups) const {
  if (bits < 1 || bits > 16) return {StatusCode::invalid_argument, "rans tables: bits out of range"};
  if (precision < 1 || precision > kRansMaxPrecision) return corrupt("precision out of range");
  if (tables.empty() || tables.size() > kRansMaxTables) return corrupt("table count out of range");
  if (context_table.empty()) {
    if (tables.size() != 1) return corrupt("several tables but no context map");
  } else {
    if (groups != 0 && context_table.size() != groups) return corrupt("context map size differs from the context count");
    for (std::uint32_t t : context_table)
      if (t >= tables.size()) return corrupt("context map names a missing table");
  }
  const std::uint64_t total = std::uint64_t{1} << precision;
  if (tables.size() * total > kRansMaxTableSlots)
    return {StatusCode::limit_exceeded, "rans tables: tables · 2^precision over the limit"};
  std::uint64_t work = 0;
  for (const RansTable& t : tables) {
    const std::uint64_t n = t.freq.size();
    if (n + (t.escape ? 1 : 0) > (std::uint64_t{1} << bits)) return corrupt("table has more entries than values");
    if (!t.freq.empty() && t.freq.back() == 0) return corrupt("table ends with a zero frequency");
    std::uint64_t sum = t.escape;
    for (std::uint32_t f : t.freq) sum += f;
    if (sum != total) return corrupt("frequencies do not sum to 2^precision");
    work += n;
  }
  if (work > kRansMaxTableSlots) return {StatusCode::limit_exceeded, "rans tables: alphabets too large"};
  return {};
}

void RansTables::serialize(std::vector<std::uint8_t>& out) const {
  ByteWriter w(out);
  w.u8(static_cast<std::uint8_t>(precision));
  w.varint(tables.size());
  bool identity = context_table.size() == tables.size() && !context_table.empty();
  for (std::size_t c = 0; identity && c < context_table.size(); ++c) identity = context_table[c] == c;
  if (context_table.empty()) {
    w.u8(1);
  } else if (identity) {
    w.u8(0);
  } else {
    w.u8(2);
    const int width = ceil_log2(tables.size());
    BitWriter bw(out);
    for (std::uint32_t t : context_table) if (width > 0) bw.put(t, width);
    bw.flush();
  }
  for (const RansTable& t : tables) {
    w.varint(t.freq.size());
    w.varint(t.escape);
    const auto [k, body] = best_k(t, precision);
    w.u8(static_cast<std::uint8_t>(k));
    out.reserve(out.size() + (body + 7) / 8 + 4);
    BitWriter bw(out);
    write_body(bw, t, k);
  }
}

std::size_t RansTables::serialized_size() const {
  std::size_t size = 1 + varint_size(tables.size()) + 1;
  bool identity = context_table.size() == tables.size() && !context_table.empty();
  for (std::size_t c = 0; identity && c < context_table.size(); ++c) identity = context_table[c] == c;
  if (!context_table.empty() && !identity)
    size += (context_table.size() * static_cast<std::size_t>(ceil_log2(tables.size())) + 7) / 8;
  for (const RansTable& t : tables) {
    size += varint_size(t.freq.size()) + varint_size(t.escape) + 1;
    size += static_cast<std::size_t>((best_k(t, precision).second + 7) / 8);
  }
  return size;
}

Result<RansTables> RansTables::parse(std::span<const std::uint8_t> in, int bits, std::uint32_t groups,
                                     TableBudget* budget) {
  if (bits < 1 || bits > 16) return Status{StatusCode::invalid_argument, "rans: bits out of range"};
  if (groups == 0) return Status{StatusCode::invalid_argument, "rans: no contexts"};
  ByteReader r(in, "rans tables");
  RansTables t;
  t.bits = bits;
  std::uint8_t p;
  FTC_RETURN_IF_ERROR(r.u8(p));
  if (p < 1 || p > kRansMaxPrecision) return r.corrupt("precision out of range");
  t.precision = p;
  const std::uint64_t total = std::uint64_t{1} << p;
  std::uint64_t count;
  FTC_RETURN_IF_ERROR(r.varint_in(count, 1, std::min<std::uint64_t>(groups, kRansMaxTables), "table count"));
  if (count * total > kRansMaxTableSlots) return Status{StatusCode::limit_exceeded, "rans tables: tables · 2^precision over the limit"};
  if (budget) FTC_RETURN_IF_ERROR(budget->charge(count * total));  // the decoder's slots
  std::uint8_t mode;
  FTC_RETURN_IF_ERROR(r.u8(mode));
  if (budget && mode != 1) FTC_RETURN_IF_ERROR(budget->charge(groups));  // context map entries
  if (mode == 0) {
    if (count != groups) return r.corrupt("identity context map needs one table per context");
    t.context_table.resize(groups);
    for (std::uint32_t c = 0; c < groups; ++c) t.context_table[c] = c;
  } else if (mode == 1) {
    if (count != 1) return r.corrupt("shared context map needs exactly one table");
  } else if (mode == 2) {
    if (count < 2) return r.corrupt("explicit context map with one table");
    const int width = ceil_log2(count);
    const std::uint64_t nbytes = (static_cast<std::uint64_t>(groups) * static_cast<std::uint64_t>(width) + 7) / 8;
    if (nbytes > r.remaining()) return Status{StatusCode::truncated, "rans tables: context map ends early"};
    std::span<const std::uint8_t> mb;
    FTC_RETURN_IF_ERROR(r.bytes(static_cast<std::size_t>(nbytes), mb));
    BitReader br(mb);
    t.context_table.resize(groups);
    for (std::uint32_t c = 0; c < groups; ++c) {
      std::uint32_t v;
      FTC_RETURN_IF_ERROR(br.get(width, v));
      if (v >= count) return r.corrupt("context map names a missing table");
      t.context_table[c] = v;
    }
    FTC_RETURN_IF_ERROR(br.check_padding());
  } else {
    return r.corrupt("unknown context map mode");
  }
  std::uint64_t work = 0;
  t.tables.resize(static_cast<std::size_t>(count));
  for (RansTable& tab : t.tables) {
    std::uint64_t n, esc;
    FTC_RETURN_IF_ERROR(r.varint_in(n, 0, std::uint64_t{1} << bits, "alphabet size"));
    FTC_RETURN_IF_ERROR(r.varint_in(esc, 0, total, "escape frequency"));
    if (n + (esc ? 1 : 0) > (std::uint64_t{1} << bits)) return r.corrupt("table has more entries than values");
    work += n;
    if (work > kRansMaxTableSlots) return Status{StatusCode::limit_exceeded, "rans tables: alphabets too large"};
    if (budget) FTC_RETURN_IF_ERROR(budget->charge(n + 1));  // frequencies and the escape
    std::uint8_t k;
    FTC_RETURN_IF_ERROR(r.u8(k));
    if (k > 15 || k > p) return r.corrupt("Rice parameter out of range");
    tab.escape = static_cast<std::uint32_t>(esc);
    tab.freq.assign(static_cast<std::size_t>(n), 0);
    BitReader br(r.data().subspan(r.pos()));
    std::uint64_t sum = esc;
    const std::uint32_t qmax = static_cast<std::uint32_t>(total >> k);
    for (std::size_t i = 0; i < n;) {
      // A block of values at a time (each ≤ 2^P, at most 2^16 of them: sum cannot overflow),
      // then, where the block stopped, one value through the checked readers.
      bool run_pending = false;
      i += br.rice_block(k, qmax, tab.freq.data() + i, static_cast<std::size_t>(n) - i, sum, run_pending);
      if (sum > total) return r.corrupt("frequencies exceed 2^precision");
      if (!run_pending && i < n) {
        std::uint32_t fast = 0;
        std::uint64_t f;
        if (br.rice_fast(k, qmax, fast)) {
          f = fast;
        } else {
          std::uint32_t q, low = 0;
          FTC_RETURN_IF_ERROR(br.unary(qmax, q));
          if (k > 0) FTC_RETURN_IF_ERROR(br.get(k, low));
          f = (static_cast<std::uint64_t>(q) << k) | low;
        }
        sum += f;
        if (sum > total) return r.corrupt("frequencies exceed 2^precision");
        tab.freq[i++] = static_cast<std::uint32_t>(f);
        run_pending = f == 0;
      }
      if (run_pending) {  // the zero run after a zero value
        std::uint32_t z = 0;
        FTC_RETURN_IF_ERROR(br.zeros(17, z));
        std::uint32_t lowbits = 0;
        if (z > 0) FTC_RETURN_IF_ERROR(br.get(static_cast<int>(z), lowbits));
        const std::uint64_t run = ((std::uint64_t{1} << z) | lowbits) - 1;
        if (run > n - i) return r.corrupt("zero run past the end of the table");
        i += static_cast<std::size_t>(run);  // already zero
      }
    }
    FTC_RETURN_IF_ERROR(br.check_padding());
    FTC_RETURN_IF_ERROR(r.skip(br.bytes_used()));
    if (sum != total) return r.corrupt("frequencies do not sum to 2^precision");
    if (n > 0 && tab.freq.back() == 0) return r.corrupt("table ends with a zero frequency");
  }
  if (!r.at_end()) return r.corrupt("bytes after the last table");
  return t;
}

#ifndef FTC_ENCODER_ONLY  // the decoder's expanded tables (expand_fused: rans_simd_dec.cpp)
namespace rans_detail {

Result<DecModel> build_dec_model(const RansTables& t, bool lazy_ok) {
  DecModel m;
  m.bits = t.bits;
  m.precision = t.precision;
  m.wide = t.bits > 8;
  const std::size_t slots = std::size_t{1} << t.precision;
  m.tables.resize(t.tables.size());
  if (!m.wide && t.precision <= kFusedMaxPrecision && t.tables.size() * slots <= kFusedMaxSlots) {
    for (std::size_t i = 0; i < t.tables.size(); ++i)
      m.tables[i].esc = t.tables[i].escape ? static_cast<std::uint32_t>(t.tables[i].freq.size()) : 0xFFFFFFFFu;
    m.context_table = t.context_table;
    if (lazy_ok && t.tables.size() > 1) {
      m.lazy = true;
      m.source = t.tables.data();
      return m;
    }
    // Fused form, all tables (+16 padding entries: SIMD kernels may read a full vector).
    m.fused_storage.resize(t.tables.size() * slots + 16);
    for (std::size_t i = 0; i < t.tables.size(); ++i) {
      m.tables[i].fused = m.fused_storage.data() + i * slots;
      expand_fused(t.tables[i], m.fused_storage.data() + i * slots);
    }
    return m;
  }
  const std::size_t esize = m.wide ? 2 : 1;
  std::size_t info_total = 0;
  for (const RansTable& tab : t.tables) info_total += tab.freq.size() + 1;
  // 8 bytes of padding: SIMD kernels gather 4 bytes at any slot.
  m.slot_storage.assign(t.tables.size() * slots * esize + 8, 0);
  m.info_storage.assign(info_total + 4, 0);
  std::vector<std::size_t> info_off(t.tables.size());
  std::size_t io = 0;
  for (std::size_t i = 0; i < t.tables.size(); ++i) {
    const RansTable& tab = t.tables[i];
    info_off[i] = io;
    std::uint8_t* s = m.slot_storage.data() + i * slots * esize;
    std::uint32_t* info = m.info_storage.data() + io;
    std::uint32_t start = 0;
    const std::size_t n = tab.freq.size();
    for (std::size_t v = 0; v <= n; ++v) {
      const std::uint32_t f = v < n ? tab.freq[v] : tab.escape;
      if (f == 0) continue;
      info[v] = start | ((f - 1) << 16);
      if (m.wide) {
        const auto v16 = static_cast<std::uint16_t>(v);
        for (std::uint32_t j = start; j < start + f; ++j) std::memcpy(s + 2 * j, &v16, 2);
      } else {
        std::memset(s + start, static_cast<int>(v), f);
      }
      start += f;
    }
    io += n + 1;
  }
  for (std::size_t i = 0; i < t.tables.size(); ++i) {
    m.tables[i].slots = m.slot_storage.data() + i * slots * esize;
    m.tables[i].info = m.info_storage.data() + info_off[i];
    m.tables[i].esc = t.tables[i].escape ? static_cast<std::uint32_t>(t.tables[i].freq.size()) : 0xFFFFFFFFu;
  }
  m.context_table = t.context_table;
  return m;
}

}  // namespace rans_detail
#endif  // FTC_ENCODER_ONLY

std::size_t rans_max_params_size(int bits, std::uint32_t groups) {
  if (bits < 1 || bits > 16) return 0;
  const std::uint64_t tables = std::min<std::uint64_t>(groups == 0 ? 1 : groups, kRansMaxTables);
  const std::uint64_t map = (static_cast<std::uint64_t>(groups) * 16 + 7) / 8;
  // Per table: varints, k, and a body with the best Rice parameter: at most 2 + k + (f >> k)
  // bits a value with k = precision, i.e. 19 bits, plus gamma codes of zero runs (≤ 35 bits
  // after a zero): 8 bytes a value is a safe bound.
  const std::uint64_t per_table = 3 + 3 + 1 + 8 * (std::uint64_t{1} << bits);
  return static_cast<std::size_t>(16 + map + tables * per_table);
}

}  // namespace ftc::entropy
