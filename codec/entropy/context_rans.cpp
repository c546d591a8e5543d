// Coder 5 params: parsing, validation and serialization (docs/format-context-rans.md §1),
// shared by both sides.
#include <string>

#include "bitstream/byte_io.hpp"
#include "codec/entropy/context_rans.hpp"

namespace ftc::entropy {
namespace {

Status corrupt(const std::string& msg) { return {StatusCode::corrupt, "context rans params: " + msg}; }

}  // namespace

Status ContextRansModel::validate(int bits, const ContextMap& ctx) const {
  if (precision < 1 || precision > kContextRansMaxPrecision) return corrupt("precision outside 1..15");
  if (groups != ctx.groups) return corrupt("group count differs from the tensor's");
  if (positions != 1 && positions != ctx.inner) return corrupt("positions is neither 1 nor the group run length");
  if (classes < 1 || classes > kContextRansMaxClasses) return corrupt("neighbour classes outside 1..4");
  if (row < 1 || plane < row || plane % row != 0) return corrupt("neighbour geometry");
  if (alphabet < 1 || alphabet > (std::uint32_t{1} << bits)) return corrupt("alphabet outside 1..2^bits");
  if (base_tables < 1) return corrupt("no tables");
  const std::uint64_t tables = std::uint64_t{base_tables} * classes;
  if (tables * alphabet > kContextRansMaxEntries) return {StatusCode::limit_exceeded, "context rans params: tables too large"};
  if (base_tables == 1) {
    if (!table_of.empty()) return corrupt("a context map with one table");
  } else {
    if (table_of.size() != std::uint64_t{groups} * positions) return corrupt("context map size");
    for (auto t : table_of)
      if (t >= base_tables) return corrupt("context map names a missing table");
  }
  if (freq.size() != tables * alphabet) return corrupt("frequency count");
  for (std::uint64_t t = 0; t < tables; ++t) {
    std::uint64_t sum = 0;
    for (std::uint32_t s = 0; s < alphabet; ++s) {
      const std::uint32_t f = freq[static_cast<std::size_t>(t * alphabet + s)];
      if (f == 0) return corrupt("a zero frequency");
      sum += f;
    }
    if (sum != (std::uint64_t{1} << precision)) return corrupt("frequencies do not sum to 2^precision");
  }
  return {};
}

void ContextRansModel::serialize(std::vector<std::uint8_t>& out) const {
  ByteWriter w(out);
  w.u8(static_cast<std::uint8_t>(precision));
  w.varint(groups);
  w.varint(positions);
  w.u8(static_cast<std::uint8_t>(classes));
  w.varint(row);
  w.varint(plane);
  w.varint(alphabet);
  w.varint(base_tables);
  for (auto t : table_of) w.varint(t);
  for (auto f : freq) w.varint(f);
}

Result<ContextRansModel> ContextRansModel::parse(std::span<const std::uint8_t> params, int bits, const ContextMap& ctx,
                                                 TableBudget* budget) {
  ByteReader r(params, "context rans params");
  ContextRansModel m;
  std::uint8_t p, k;
  std::uint64_t v;
  FTC_RETURN_IF_ERROR(r.u8(p));
  m.precision = p;
  FTC_RETURN_IF_ERROR(r.varint_in(v, 1, UINT32_MAX, "groups"));
  m.groups = static_cast<std::uint32_t>(v);
  FTC_RETURN_IF_ERROR(r.varint_in(m.positions, 1, UINT64_MAX, "positions"));
  FTC_RETURN_IF_ERROR(r.u8(k));
  m.classes = k;
  FTC_RETURN_IF_ERROR(r.varint_in(m.row, 1, UINT64_MAX, "row"));
  FTC_RETURN_IF_ERROR(r.varint_in(m.plane, 1, UINT64_MAX, "plane"));
  FTC_RETURN_IF_ERROR(r.varint_in(v, 1, std::uint64_t{1} << 16, "alphabet"));
  m.alphabet = static_cast<std::uint32_t>(v);
  FTC_RETURN_IF_ERROR(r.varint_in(v, 1, UINT32_MAX, "base tables"));
  m.base_tables = static_cast<std::uint32_t>(v);
  // Sizes first, against what the blob can hold (every entry takes at least one byte).
  if (m.groups != ctx.groups) return corrupt("group count differs from the tensor's");
  if (m.positions != 1 && m.positions != ctx.inner) return corrupt("positions is neither 1 nor the group run length");
  if (m.classes < 1 || m.classes > kContextRansMaxClasses) return corrupt("neighbour classes outside 1..4");
  const std::uint64_t map_entries = m.base_tables == 1 ? 0 : std::uint64_t{m.groups} * m.positions;
  const std::uint64_t freq_entries = std::uint64_t{m.base_tables} * m.classes * m.alphabet;
  if (freq_entries > kContextRansMaxEntries || map_entries > kContextRansMaxEntries)
    return Status{StatusCode::limit_exceeded, "context rans params: tables too large"};
  // The decoder's cumulative tables hold L + 1 entries a table (context_rans_dec.cpp).
  if (budget) FTC_RETURN_IF_ERROR(budget->charge(map_entries + freq_entries / m.alphabet * (std::uint64_t{m.alphabet} + 1)));
  if (map_entries + freq_entries > r.remaining())
    return Status{StatusCode::truncated, "context rans params: " + std::to_string(map_entries + freq_entries) +
                                             " entries cannot fit in " + std::to_string(r.remaining()) + " bytes"};
  m.table_of.resize(static_cast<std::size_t>(map_entries));
  for (auto& t : m.table_of) {
    FTC_RETURN_IF_ERROR(r.varint_in(v, 0, m.base_tables - 1, "table index"));
    t = static_cast<std::uint32_t>(v);
  }
  m.freq.resize(static_cast<std::size_t>(freq_entries));
  for (auto& f : m.freq) {
    FTC_RETURN_IF_ERROR(r.varint_in(v, 1, std::uint64_t{1} << kContextRansMaxPrecision, "frequency"));
    f = static_cast<std::uint32_t>(v);
  }
  if (!r.at_end()) return corrupt("bytes after the last table");
  FTC_RETURN_IF_ERROR(m.validate(bits, ctx));
  return m;
}

}  // namespace ftc::entropy
