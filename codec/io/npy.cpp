#include "codec/io/npy.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <string_view>

namespace ftc::io {
namespace {

// \x93NUMPY, then major and minor version bytes, then the header length (u16le in 1.0, u32le in
// 2.0 and 3.0), then the header text, then the data.
constexpr std::array<std::uint8_t, 6> kMagic = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr std::size_t kVersionOffset = kMagic.size();
constexpr std::size_t kHeaderLengthOffset = kVersionOffset + 2;
constexpr std::size_t kDataAlignment = 64;  // numpy.lib.format.ARRAY_ALIGN
constexpr bool kHostIsLittleEndian = std::endian::native == std::endian::little;
static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big);

constexpr const char* kSupportedTypes =
    "supported: f2 f4 f8 i1 u1 i2 u2 i4 (float16, float32, float64, int8, uint8, int16, uint16, int32)";

Status bad_file(std::string message) { return {StatusCode::bad_file, std::move(message)}; }

// Python's repr of the shape tuple: "()", "(5,)", "(2, 3)".
std::string format_shape(std::span<const std::int64_t> shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s.append(", ");
    s.append(std::to_string(shape[i]));
  }
  s.append(shape.size() == 1 ? ",)" : ")");
  return s;
}

// At most 48 characters of `text` from `pos` in double quotes, non-printable bytes as \xNN.
std::string excerpt(std::string_view text, std::size_t pos) {
  if (pos >= text.size()) return "end of header";
  constexpr std::size_t kMaxChars = 48;
  std::string s = "\"";
  for (std::size_t i = pos; i < text.size() && i < pos + kMaxChars; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      s += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      s += hex;
    }
  }
  if (text.size() > pos + kMaxChars) s += "...";
  return s + "\"";
}

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t continuation_count;
    std::uint32_t code_point;
    if (lead < 0x80) { ++i; continue; }
    if (lead >= 0xC2 && lead <= 0xDF) { continuation_count = 1; code_point = lead & 0x1Fu; }
    else if (lead >= 0xE0 && lead <= 0xEF) { continuation_count = 2; code_point = lead & 0x0Fu; }
    else if (lead >= 0xF0 && lead <= 0xF4) { continuation_count = 3; code_point = lead & 0x07u; }
    else return false;
    if (text.size() - i <= continuation_count) return false;
    for (std::size_t k = 1; k <= continuation_count; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (c & 0x3Fu);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are invalid.
    constexpr std::uint32_t kMinForLength[4] = {0, 0x80, 0x800, 0x10000};
    if (code_point < kMinForLength[continuation_count] || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF))
      return false;
    i += continuation_count + 1;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Header dict literal
// ---------------------------------------------------------------------------------------------

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  Shape shape;  // at most kMaxRank dims
};

// Parses exactly the literal numpy writes:
//   header := ws '{' ws [ entry ( ws ',' ws entry )* ws [','] ] ws '}' ws
//   entry  := string ws ':' ws value
// with 'descr' a string, 'fortran_order' True or False, 'shape' a tuple of non-negative decimal
// integers (a 1-element tuple needs its comma; a Python 2 'L' suffix is accepted). Strings use
// ' or " without escapes. Every key appears exactly once; no other keys are allowed.
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : text_(text) {}

  Result<NpyHeader> parse() {
    NpyHeader header;
    bool seen_descr = false, seen_fortran_order = false, seen_shape = false;
    skip_whitespace();
    FTC_RETURN_IF_ERROR(expect('{', "'{' opening the header dict"));
    while (true) {
      skip_whitespace();
      if (consume('}')) break;
      const std::size_t key_pos = pos_;
      FTC_ASSIGN_OR_RETURN(std::string key, string_literal());
      skip_whitespace();
      FTC_RETURN_IF_ERROR(expect(':', "':' after a dict key"));
      skip_whitespace();
      if (key == "descr") {
        if (seen_descr) return duplicate_key(key);
        seen_descr = true;
        if (peek() == '[')
          return bad_file("structured dtypes (descr is a list of fields) are not supported; " +
                          std::string(kSupportedTypes));
        FTC_ASSIGN_OR_RETURN(header.descr, string_literal());
      } else if (key == "fortran_order") {
        if (seen_fortran_order) return duplicate_key(key);
        seen_fortran_order = true;
        FTC_ASSIGN_OR_RETURN(header.fortran_order, boolean_literal());
      } else if (key == "shape") {
        if (seen_shape) return duplicate_key(key);
        seen_shape = true;
        FTC_ASSIGN_OR_RETURN(header.shape, shape_tuple());
      } else {
        return syntax_error_at(key_pos, "unknown header key '" + key +
                                            "' (expected only 'descr', 'fortran_order', 'shape')");
      }
      skip_whitespace();
      if (consume(',')) continue;
      skip_whitespace();
      FTC_RETURN_IF_ERROR(expect('}', "',' or '}' after a dict value"));
      break;
    }
    skip_whitespace();
    if (pos_ != text_.size()) return syntax_error("only whitespace may follow the header dict");
    if (!seen_descr) return bad_file("header has no 'descr' key");
    if (!seen_fortran_order) return bad_file("header has no 'fortran_order' key");
    if (!seen_shape) return bad_file("header has no 'shape' key");
    return header;
  }

 private:
  static bool is_whitespace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  }
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  static bool is_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_whitespace() {
    while (pos_ < text_.size() && is_whitespace(text_[pos_])) ++pos_;
  }
  bool consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) { ++pos_; return true; }
    return false;
  }
  Status expect(char c, const char* what) {
    if (consume(c)) return {};
    return syntax_error(std::string("expected ") + what);
  }
  Status syntax_error_at(std::size_t pos, const std::string& what) const {
    return bad_file("malformed header: " + what + " at offset " + std::to_string(pos) + ", near " +
                    excerpt(text_, pos));
  }
  Status syntax_error(const std::string& what) const { return syntax_error_at(pos_, what); }
  Status duplicate_key(const std::string& key) const {
    return bad_file("malformed header: key '" + key + "' appears twice");
  }

  Result<std::string> string_literal() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') return syntax_error("expected a quoted string");
    const std::size_t start = ++pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\') return syntax_error("escape sequences in header strings are not supported");
      if (text_[pos_] == '\n') return syntax_error_at(start - 1, "unterminated string");
      ++pos_;
    }
    if (pos_ == text_.size()) return syntax_error_at(start - 1, "unterminated string");
    std::string value(text_.substr(start, pos_ - start));
    ++pos_;  // closing quote
    return value;
  }

  Result<bool> boolean_literal() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && is_letter(text_[pos_])) ++pos_;
    const std::string_view word = text_.substr(start, pos_ - start);
    if (word == "True") return true;
    if (word == "False") return false;
    return syntax_error_at(start, "'fortran_order' must be True or False");
  }

  Result<std::int64_t> dimension() {
    if (peek() == '-') return syntax_error("negative dimension in 'shape'");
    if (!is_digit(peek())) return syntax_error("expected a non-negative integer in 'shape'");
    std::int64_t value = 0;
    const std::size_t start = pos_;
    while (pos_ < text_.size() && is_digit(text_[pos_])) {
      const int digit = text_[pos_] - '0';
      if (value > (std::numeric_limits<std::int64_t>::max() - digit) / 10)
        return syntax_error_at(start, "dimension in 'shape' exceeds 2^63-1");
      value = value * 10 + digit;
      ++pos_;
    }
    if (peek() == 'L' || peek() == 'l') ++pos_;  // Python 2 long literal
    return value;
  }

  // Counts every dimension so the error can name the rank, but stores at most kMaxRank.
  Result<Shape> shape_tuple() {
    const std::size_t start = pos_;
    FTC_RETURN_IF_ERROR(expect('(', "a tuple '(…)' for 'shape'"));
    Shape shape;
    std::size_t rank = 0;
    bool trailing_comma = false;
    skip_whitespace();
    while (!consume(')')) {
      FTC_ASSIGN_OR_RETURN(const std::int64_t dim, dimension());
      if (rank < static_cast<std::size_t>(kMaxRank)) shape.push_back(dim);
      ++rank;
      skip_whitespace();
      trailing_comma = consume(',');
      skip_whitespace();
      if (!trailing_comma && peek() != ')') return syntax_error("expected ',' or ')' in 'shape'");
    }
    if (rank == 1 && !trailing_comma)
      return syntax_error_at(start, "'shape' is a parenthesized integer, not a tuple (a 1-element tuple needs a trailing comma)");
    if (rank > static_cast<std::size_t>(kMaxRank))
      return bad_file("rank " + std::to_string(rank) + " exceeds the maximum rank " + std::to_string(kMaxRank));
    return shape;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------
// descr → DType
// ---------------------------------------------------------------------------------------------

struct ElementType {
  DType dtype;
  std::size_t size;   // bytes
  bool byte_swapped;  // the file's byte order is not the host's
};

struct KnownType {
  std::string_view code;  // descr without its byte-order character
  const char* numpy_name;
  std::optional<DType> dtype;
};

constexpr KnownType kKnownTypes[] = {
    {"f2", "float16", DType::f16},   {"f4", "float32", DType::f32}, {"f8", "float64", DType::f64},
    {"i1", "int8", DType::i8},       {"u1", "uint8", DType::u8},    {"i2", "int16", DType::i16},
    {"u2", "uint16", DType::u16},    {"i4", "int32", DType::i32},
    {"b1", "bool", std::nullopt},    {"i8", "int64", std::nullopt}, {"u4", "uint32", std::nullopt},
    {"u8", "uint64", std::nullopt},  {"f12", "float96 (long double)", std::nullopt},
    {"f16", "float128 (long double)", std::nullopt},
};

Result<ElementType> element_type_from_descr(std::string_view descr) {
  char byte_order = '=';
  std::string_view code = descr;
  if (!code.empty() && (code[0] == '<' || code[0] == '>' || code[0] == '=' || code[0] == '|')) {
    byte_order = code[0];
    code.remove_prefix(1);
  }
  const std::string quoted = "('" + std::string(descr) + "')";
  if (!code.empty() && code[0] == 'O')
    return bad_file("object arrays " + quoted + " are not supported (they hold pickled Python objects)");
  if (!code.empty() && code[0] == 'c')
    return bad_file("complex dtypes " + quoted + " are not supported; " + kSupportedTypes);
  for (const KnownType& known : kKnownTypes) {
    if (known.code != code) continue;
    if (!known.dtype)
      return bad_file(std::string(known.numpy_name) + " " + quoted + " is not supported; " + kSupportedTypes);
    const DType dtype = *known.dtype;
    const std::size_t size = dtype_size(dtype);
    if (byte_order == '|' && size > 1)
      return bad_file("byte order '|' (not applicable) on the multi-byte dtype " + quoted);
    const bool file_is_little = byte_order == '<' || (byte_order != '>' && kHostIsLittleEndian);
    return ElementType{dtype, size, size > 1 && file_is_little != kHostIsLittleEndian};
  }
  return bad_file("dtype '" + std::string(descr) + "' is not supported; " + kSupportedTypes);
}

// ---------------------------------------------------------------------------------------------
// Strided element traversal
// ---------------------------------------------------------------------------------------------

// Calls visit(pointer to element) for every element in C order. `strides` are in elements of
// `element_size` bytes and may be negative; every visited element lies inside the caller's buffer.
template <class Visit>
void for_each_in_c_order(const std::uint8_t* base, std::size_t element_size, std::span<const std::int64_t> shape,
                         std::span<const std::int64_t> strides, Visit&& visit) {
  const std::size_t rank = shape.size();
  if (rank == 0) { visit(base); return; }
  for (const std::int64_t dim : shape)
    if (dim == 0) return;
  const auto byte_stride = [&](std::size_t axis) {
    return static_cast<std::ptrdiff_t>(strides[axis]) * static_cast<std::ptrdiff_t>(element_size);
  };
  const std::ptrdiff_t inner_stride = byte_stride(rank - 1);
  const std::int64_t inner_count = shape[rank - 1];
  std::array<std::int64_t, kMaxRank> index{};  // over the outer rank-1 axes
  const std::uint8_t* row = base;
  while (true) {
    const std::uint8_t* element = row;
    for (std::int64_t i = 0; i < inner_count; ++i, element += inner_stride) visit(element);
    // Advance the outer odometer; `row` always points at element (index…, 0).
    std::size_t axis = rank - 1;
    while (axis > 0) {
      --axis;
      if (++index[axis] < shape[axis]) { row += byte_stride(axis); break; }
      row -= byte_stride(axis) * static_cast<std::ptrdiff_t>(shape[axis] - 1);
      index[axis] = 0;
      if (axis == 0) return;
    }
    if (rank == 1) return;
  }
}

template <std::size_t kSize>
void copy_element(const std::uint8_t* src, std::uint8_t*& dst, bool swap_bytes) {
  std::array<std::uint8_t, kSize> element;
  std::memcpy(element.data(), src, kSize);
  if (swap_bytes) std::reverse(element.begin(), element.end());
  std::memcpy(dst, element.data(), kSize);
  dst += kSize;
}

// Copies a strided source to C order at `dst`, reversing each element's bytes if `swap_bytes`.
void gather_c_order(const std::uint8_t* base, std::size_t element_size, std::span<const std::int64_t> shape,
                    std::span<const std::int64_t> strides, bool swap_bytes, std::uint8_t* dst) {
  switch (element_size) {
    case 1: for_each_in_c_order(base, 1, shape, strides, [&](const std::uint8_t* e) { copy_element<1>(e, dst, false); }); break;
    case 2: for_each_in_c_order(base, 2, shape, strides, [&](const std::uint8_t* e) { copy_element<2>(e, dst, swap_bytes); }); break;
    case 4: for_each_in_c_order(base, 4, shape, strides, [&](const std::uint8_t* e) { copy_element<4>(e, dst, swap_bytes); }); break;
    case 8: for_each_in_c_order(base, 8, shape, strides, [&](const std::uint8_t* e) { copy_element<8>(e, dst, swap_bytes); }); break;
    default: break;  // every DType is 1, 2, 4 or 8 bytes
  }
}

void reverse_each_element(std::uint8_t* data, std::size_t element_size, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i, data += element_size) std::reverse(data, data + element_size);
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

std::uint32_t read_le(const std::uint8_t* p, std::size_t n) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
  return v;
}

// Everything before the data: the parsed header and where the data starts and ends.
struct NpyPreamble {
  NpyHeader header;
  std::size_t element_size = 0;
  std::uint64_t element_count = 0;
  std::size_t data_offset = 0;
  std::size_t data_bytes = 0;  // element_count · element_size; fits in size_t
};

// The integer dtypes read_npy_integers_file takes ('i1'..'i8', 'u1'..'u8' with a byte-order
// character): signedness, width and whether the file's bytes are little-endian.
struct IntegerType {
  bool is_signed = false;
  std::size_t size = 0;
  bool little = true;
};
Result<IntegerType> integer_type_from_descr(const std::string& descr) {
  std::string_view code = descr;
  char byte_order = '=';
  if (!code.empty() && (code[0] == '<' || code[0] == '>' || code[0] == '=' || code[0] == '|')) {
    byte_order = code[0];
    code.remove_prefix(1);
  }
  const bool known = code.size() == 2 && (code[0] == 'i' || code[0] == 'u') &&
                     (code[1] == '1' || code[1] == '2' || code[1] == '4' || code[1] == '8');
  if (!known) return bad_file("dtype '" + descr + "' is not an integer type (expected int8..int64 or uint8..uint64)");
  const std::size_t size = static_cast<std::size_t>(code[1] - '0');
  if (byte_order == '|' && size > 1) return bad_file("byte order '|' (not applicable) on the multi-byte dtype '" + descr + "'");
  return IntegerType{code[0] == 'i', size, byte_order == '<' || (byte_order != '>' && kHostIsLittleEndian)};
}

// What the data of `descr` costs per element: the tensor dtypes read_npy takes, or (when
// `integers`) every NumPy integer width.
Result<std::size_t> element_size_of(const std::string& descr, bool integers) {
  if (integers) {
    FTC_ASSIGN_OR_RETURN(const IntegerType t, integer_type_from_descr(descr));
    return t.size;
  }
  FTC_ASSIGN_OR_RETURN(const ElementType element, element_type_from_descr(descr));
  return element.size;
}

// Parses the preamble from the first bytes of a file (all of it, or a prefix that holds at least
// the header). Error messages here carry no prefix; the public functions add "npy: " or the path.
Result<NpyPreamble> parse_preamble(std::span<const std::uint8_t> bytes, bool integers = false) {
  const std::size_t magic_bytes_present = std::min(bytes.size(), kMagic.size());
  if (!std::equal(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(magic_bytes_present), kMagic.begin()))
    return bad_file("bad magic: not a .npy file (it must start with \\x93NUMPY)");
  if (bytes.size() < kHeaderLengthOffset)
    return bad_file("truncated: " + std::to_string(bytes.size()) + " bytes, too short for the magic and version");

  const int major = bytes[kVersionOffset], minor = bytes[kVersionOffset + 1];
  if (major < 1 || major > 3 || minor != 0)
    return bad_file("unsupported format version " + std::to_string(major) + "." + std::to_string(minor) +
                    " (supported: 1.0, 2.0, 3.0)");
  const std::size_t header_length_size = major == 1 ? 2 : 4;
  const std::size_t header_offset = kHeaderLengthOffset + header_length_size;
  if (bytes.size() < header_offset)
    return bad_file("truncated: " + std::to_string(bytes.size()) + " bytes, too short for the header length field");
  const std::size_t header_length = read_le(bytes.data() + kHeaderLengthOffset, header_length_size);
  const std::size_t header_bytes_present = bytes.size() - header_offset;
  if (header_length > header_bytes_present)
    return bad_file("truncated header: expected " + std::to_string(header_length) + " bytes, " +
                    std::to_string(header_bytes_present) + " present");

  const std::string_view header_text(reinterpret_cast<const char*>(bytes.data() + header_offset), header_length);
  if (major == 3 && !is_valid_utf8(header_text)) return bad_file("version 3.0 header is not valid UTF-8");
  FTC_ASSIGN_OR_RETURN(const NpyHeader header, HeaderParser(header_text).parse());
  FTC_ASSIGN_OR_RETURN(const std::size_t element_size, element_size_of(header.descr, integers));

  // Invariant after this block: element_count * element_size fits in size_t.
  std::uint64_t element_count = 1;
  const bool has_zero_dim = std::find(header.shape.begin(), header.shape.end(), 0) != header.shape.end();
  if (has_zero_dim) {
    element_count = 0;
  } else {
    const std::uint64_t max_elements = std::numeric_limits<std::size_t>::max() / element_size;
    for (const std::int64_t dim : header.shape) {
      const auto extent = static_cast<std::uint64_t>(dim);
      if (element_count > max_elements / extent)
        return bad_file("element count of shape " + format_shape(header.shape) + " overflows");
      element_count *= extent;
    }
  }
  const std::size_t data_offset = header_offset + header_length;
  if (data_offset > std::numeric_limits<std::size_t>::max() - static_cast<std::size_t>(element_count) * element_size)
    return bad_file("element count of shape " + format_shape(header.shape) + " overflows");
  return NpyPreamble{header, element_size, element_count, data_offset, static_cast<std::size_t>(element_count) * element_size};
}

// The whole file's size, once `prefix` holds the header; nullopt while it is too short to tell.
Result<std::optional<std::size_t>> npy_file_size(std::span<const std::uint8_t> prefix, bool integers) {
  if (prefix.size() >= kHeaderLengthOffset) {
    const int major = prefix[kVersionOffset];
    const std::size_t header_offset = kHeaderLengthOffset + (major == 1 ? 2 : 4);
    if (prefix.size() < header_offset ||
        prefix.size() - header_offset < read_le(prefix.data() + kHeaderLengthOffset, header_offset - kHeaderLengthOffset))
      return std::optional<std::size_t>();
  }
  auto pre = parse_preamble(prefix, integers);
  if (!pre.ok()) {
    if (prefix.size() < kHeaderLengthOffset) return std::optional<std::size_t>();  // too short to judge
    return pre.status();
  }
  return std::optional<std::size_t>(pre->data_offset + pre->data_bytes);
}

// The data after the preamble is exactly what the header declares.
Status check_data_bytes(std::span<const std::uint8_t> bytes, const NpyPreamble& pre) {
  const NpyHeader& header = pre.header;
  const std::size_t present = bytes.size() - pre.data_offset, expected = pre.data_bytes;
  if (present < expected)
    return bad_file("truncated data: shape " + format_shape(header.shape) + " of '" + header.descr + "' expects " +
                    std::to_string(expected) + " bytes, " + std::to_string(present) + " present");
  if (present > expected)
    return bad_file("trailing bytes after the data: shape " + format_shape(header.shape) + " of '" + header.descr +
                    "' expects " + std::to_string(expected) + " bytes, " + std::to_string(present) + " present");
  return {};
}

// Fortran order: axis 0 varies fastest. Strides fit in int64 because the data is in memory —
// only when there is data: with a zero extent the other extents are unbounded (the element count
// is 0 whatever they are), so callers take the contiguous path for empty arrays.
std::array<std::int64_t, kMaxRank> fortran_strides(const Shape& shape) {
  std::array<std::int64_t, kMaxRank> strides{};
  std::int64_t stride = 1;
  for (std::size_t axis = 0; axis < shape.size(); ++axis) {
    strides[axis] = stride;
    stride *= shape[axis];
  }
  return strides;
}

Result<Tensor> decode_npy(std::span<const std::uint8_t> bytes) {
  FTC_ASSIGN_OR_RETURN(const NpyPreamble pre, parse_preamble(bytes));
  FTC_RETURN_IF_ERROR(check_data_bytes(bytes, pre));
  const NpyHeader& header = pre.header;
  FTC_ASSIGN_OR_RETURN(const ElementType element, element_type_from_descr(header.descr));
  const std::uint8_t* data = bytes.data() + pre.data_offset;
  if (!header.fortran_order || header.shape.size() <= 1 || pre.element_count == 0) {
    FTC_ASSIGN_OR_RETURN(Tensor tensor, Tensor::copy_of(TensorView::contiguous(element.dtype, header.shape, data)));
    if (element.byte_swapped) reverse_each_element(tensor.data(), element.size, static_cast<std::size_t>(pre.element_count));
    return tensor;
  }
  FTC_ASSIGN_OR_RETURN(Tensor tensor, Tensor::zeros(element.dtype, header.shape));
  const auto strides = fortran_strides(header.shape);
  gather_c_order(data, element.size, header.shape, std::span(strides.data(), header.shape.size()), element.byte_swapped,
                 tensor.data());
  return tensor;
}

// An integer array of any width and byte order, as int64 values in C order.
Result<IntegerArray> decode_npy_integers(std::span<const std::uint8_t> bytes) {
  FTC_ASSIGN_OR_RETURN(const NpyPreamble pre, parse_preamble(bytes, /*integers=*/true));
  FTC_RETURN_IF_ERROR(check_data_bytes(bytes, pre));
  const NpyHeader& header = pre.header;
  FTC_ASSIGN_OR_RETURN(const IntegerType type, integer_type_from_descr(header.descr));
  const std::size_t size = type.size;
  IntegerArray out;
  out.shape = header.shape;
  out.values.reserve(static_cast<std::size_t>(pre.element_count));
  Status range_error;
  const auto visit = [&](const std::uint8_t* e) {
    std::uint64_t u = 0;  // the element's bits, from its bytes in the file's order
    for (std::size_t b = 0; b < size; ++b) u |= std::uint64_t{e[type.little ? b : size - 1 - b]} << (8 * b);
    if (type.is_signed && size < 8 && (u >> (8 * size - 1)) != 0) u |= ~std::uint64_t{0} << (8 * size);  // sign-extend
    if (!type.is_signed && size == 8 && u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) &&
        range_error.ok())
      range_error = bad_file("uint64 value " + std::to_string(u) + " does not fit in int64");
    out.values.push_back(static_cast<std::int64_t>(u));
  };
  const std::uint8_t* data = bytes.data() + pre.data_offset;
  if (!header.fortran_order || header.shape.size() <= 1 || pre.element_count == 0) {
    for (std::uint64_t i = 0; i < pre.element_count; ++i) visit(data + i * size);
  } else {
    const auto strides = fortran_strides(header.shape);
    for_each_in_c_order(data, size, header.shape, std::span(strides.data(), header.shape.size()), visit);
  }
  FTC_RETURN_IF_ERROR(range_error);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

struct OutputType {
  const char* descr;
  std::size_t size;  // bytes per element in the file
};

OutputType output_type(DType dtype) {
  switch (dtype) {
    case DType::f32: return {"<f4", 4};
    case DType::f64: return {"<f8", 8};
    case DType::f16: return {"<f2", 2};
    case DType::bf16: return {"<f4", 4};  // widened: bf16 is the top half of an f32
    case DType::i8: return {"|i1", 1};
    case DType::u8: return {"|u1", 1};
    case DType::i16: return {"<i2", 2};
    case DType::u16: return {"<u2", 2};
    case DType::i32: return {"<i4", 4};
  }
  return {"<f4", 4};
}

// Magic, version, header length and the padded header, exactly as numpy 1.24's _wrap_header:
// 1..64 spaces and a '\n' so the data starts at a multiple of kDataAlignment.
std::vector<std::uint8_t> npy_preamble(const char* descr, std::span<const std::int64_t> shape) {
  const std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " +
                           format_shape(shape) + ", }";
  const auto padding_for = [&](std::size_t header_length_size) {
    return kDataAlignment - (kHeaderLengthOffset + header_length_size + dict.size() + 1) % kDataAlignment;
  };
  std::size_t header_length_size = 2;
  std::size_t header_length = dict.size() + padding_for(2) + 1;
  if (header_length > 0xFFFF) {
    header_length_size = 4;
    header_length = dict.size() + padding_for(4) + 1;
  }
  std::vector<std::uint8_t> out(kMagic.begin(), kMagic.end());
  out.push_back(header_length_size == 2 ? 1 : 2);
  out.push_back(0);
  for (std::size_t i = 0; i < header_length_size; ++i) out.push_back(static_cast<std::uint8_t>(header_length >> (8 * i)));
  out.insert(out.end(), dict.begin(), dict.end());
  out.resize(out.size() + header_length - dict.size() - 1, ' ');
  out.push_back('\n');
  return out;
}

// Bytes of the data section, or nullopt if they overflow size_t. Requires a validated view.
std::optional<std::size_t> data_size(const TensorView& view) {
  // A zero extent anywhere empties the array, however large the others (which may overflow).
  for (int axis = 0; axis < view.rank; ++axis)
    if (view.shape[axis] == 0) return 0;
  std::size_t count = 1;
  for (int axis = 0; axis < view.rank; ++axis) {
    const auto extent = static_cast<std::uint64_t>(view.shape[axis]);
    if (count > std::numeric_limits<std::size_t>::max() / extent) return std::nullopt;
    count *= static_cast<std::size_t>(extent);
  }
  const std::size_t element_size = output_type(view.dtype).size;
  if (count > std::numeric_limits<std::size_t>::max() / element_size) return std::nullopt;
  return count * element_size;
}

// The file is little-endian; bf16 is widened to f32 by appending 16 zero bits of mantissa.
void append_data(const TensorView& view, std::vector<std::uint8_t>& out) {
  const std::size_t start = out.size();
  out.resize(start + *data_size(view));
  std::uint8_t* dst = out.data() + start;
  const auto* base = static_cast<const std::uint8_t*>(view.data);
  const std::span<const std::int64_t> shape(view.shape.data(), static_cast<std::size_t>(view.rank));
  const std::span<const std::int64_t> strides(view.strides.data(), static_cast<std::size_t>(view.rank));
  if (view.dtype == DType::bf16) {
    for_each_in_c_order(base, 2, shape, strides, [&](const std::uint8_t* element) {
      std::uint16_t bf16_bits;
      std::memcpy(&bf16_bits, element, 2);
      const std::uint32_t f32_bits = static_cast<std::uint32_t>(bf16_bits) << 16;
      for (int i = 0; i < 4; ++i) *dst++ = static_cast<std::uint8_t>(f32_bits >> (8 * i));
    });
    return;
  }
  gather_c_order(base, dtype_size(view.dtype), shape, strides, !kHostIsLittleEndian, dst);
}

// The view's own bytes can be written as the data section unchanged.
bool data_is_file_ready(const TensorView& view) {
  return kHostIsLittleEndian && view.dtype != DType::bf16 && view.is_contiguous();
}

Status check_writable(const TensorView& view) {
  FTC_RETURN_IF_ERROR(view.validate());
  if (!data_size(view)) return {StatusCode::invalid_argument, "npy: the view's byte size overflows"};
  return {};
}

Status prefix_message(const Status& status, const std::string& prefix) {
  return {status.code(), prefix + status.message()};
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

Status io_error(const std::string& path, const char* action, int error_number) {
  return {StatusCode::io_error, "cannot " + std::string(action) + " '" + path + "': " + std::strerror(error_number)};
}

}  // namespace

Result<Tensor> read_npy(std::span<const std::uint8_t> bytes) {
  Result<Tensor> tensor = decode_npy(bytes);
  if (!tensor.ok()) return prefix_message(tensor.status(), "npy: ");
  return tensor;
}

void reserve_file_size(const std::string& path, std::vector<std::uint8_t>& bytes) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size < bytes.max_size()) bytes.reserve(static_cast<std::size_t>(size));
}

namespace {
// A .npy file's bytes, read no further than one block past the size the header declares (a
// trailing byte is enough to refuse the file), so a device or a huge file costs what the array
// needs.
Result<std::vector<std::uint8_t>> read_npy_bytes(const std::string& path, bool integers) {
  std::vector<std::uint8_t> bytes;
  {
    errno = 0;
    FilePtr file(std::fopen(path.c_str(), "rb"));
    if (!file) return io_error(path, "open", errno);
    std::array<std::uint8_t, 1 << 16> block;
    // Reads no further than one block past the size the header declares (a trailing byte is
    // enough to refuse the file), so a device or a huge file costs what the array needs.
    std::optional<std::size_t> expected;
    try {
      while (!expected || bytes.size() <= *expected) {
        const std::size_t n = std::fread(block.data(), 1, block.size(), file.get());
        bytes.insert(bytes.end(), block.begin(), block.begin() + static_cast<std::ptrdiff_t>(n));
        if (n < block.size()) break;
        if (!expected) {
          auto size = npy_file_size(bytes, integers);
          if (!size.ok()) break;  // the decoder names the problem
          expected = *size;
          if (expected) {
            std::error_code ec;
            const std::uintmax_t on_disk = std::filesystem::is_regular_file(path, ec) ? std::filesystem::file_size(path, ec) : 0;
            if (!ec && on_disk > 0) bytes.reserve(static_cast<std::size_t>(std::min<std::uintmax_t>(on_disk, *expected + 1)));
          }
        }
      }
    } catch (const std::bad_alloc&) {
      return Status{StatusCode::out_of_memory, "npy: out of memory reading '" + path + "'"};
    }
    if (std::ferror(file.get())) return io_error(path, "read", errno);
  }
  return bytes;
}
}  // namespace

Result<Tensor> read_npy_file(const std::string& path) {
  FTC_ASSIGN_OR_RETURN(const std::vector<std::uint8_t> bytes, read_npy_bytes(path, false));
  Result<Tensor> tensor = decode_npy(bytes);
  if (!tensor.ok()) return prefix_message(tensor.status(), path + ": ");
  return tensor;
}

Result<IntegerArray> read_npy_integers_file(const std::string& path) {
  FTC_ASSIGN_OR_RETURN(const std::vector<std::uint8_t> bytes, read_npy_bytes(path, true));
  Result<IntegerArray> a = decode_npy_integers(bytes);
  if (!a.ok()) return prefix_message(a.status(), path + ": ");
  return a;
}

std::vector<std::uint8_t> write_npy(const TensorView& view) {
  if (!check_writable(view).ok()) return {};
  try {
    std::vector<std::uint8_t> out = npy_preamble(output_type(view.dtype).descr, view.shape_vector());
    append_data(view, out);
    return out;
  } catch (const std::bad_alloc&) {
    return {};
  }
}

Status write_npy(OutputFile& out, const TensorView& view) {
  FTC_RETURN_IF_ERROR(check_writable(view));
  std::vector<std::uint8_t> preamble, data;
  try {
    preamble = npy_preamble(output_type(view.dtype).descr, view.shape_vector());
    if (!data_is_file_ready(view)) append_data(view, data);
  } catch (const std::bad_alloc&) {
    return {StatusCode::out_of_memory, "npy: out of memory encoding '" + out.path() + "'"};
  }
  const bool ready = data_is_file_ready(view);
  const std::span<const std::uint8_t> body =
      ready ? std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(view.data), *data_size(view))
            : std::span<const std::uint8_t>(data);
  FTC_RETURN_IF_ERROR(out.write(preamble));
  return out.write(body);
}

Status write_npy_file(const std::string& path, const TensorView& view) {
  FTC_RETURN_IF_ERROR(check_writable(view));
  FTC_ASSIGN_OR_RETURN(OutputFile out, OutputFile::create(path, Overwrite::replace));
  FTC_RETURN_IF_ERROR(write_npy(out, view));
  return out.commit();
}

}  // namespace ftc::io
