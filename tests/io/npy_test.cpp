#include "codec/io/npy.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace {

using ftc::DType;
using ftc::StatusCode;
using ftc::Tensor;
using ftc::TensorView;
using ftc::io::read_npy;
using ftc::io::read_npy_file;
using ftc::io::write_npy;
using ftc::io::write_npy_file;
using Bytes = std::vector<std::uint8_t>;

std::string data_path(const char* name) { return std::string(FTC_SOURCE_DIR) + "/tests/io/data/" + name; }

Bytes file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A .npy file with `header` verbatim (no padding added) after the magic, version and length.
Bytes npy_file(std::string_view header, const Bytes& data = {}, std::uint8_t major = 1) {
  Bytes out = {0x93, 'N', 'U', 'M', 'P', 'Y', major, 0};
  const std::size_t length_size = major == 1 ? 2 : 4;
  for (std::size_t i = 0; i < length_size; ++i) out.push_back(static_cast<std::uint8_t>(header.size() >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::string dict(std::string_view descr, std::string_view shape, std::string_view fortran = "False") {
  return "{'descr': '" + std::string(descr) + "', 'fortran_order': " + std::string(fortran) +
         ", 'shape': " + std::string(shape) + ", }\n";
}

template <class T>
std::vector<T> values_of(const Tensor& t) {
  REQUIRE(t.byte_size() == t.element_count() * sizeof(T));
  std::vector<T> v(t.element_count());
  if (!v.empty()) std::memcpy(v.data(), t.data(), t.byte_size());
  return v;
}

// Reads `bytes` expecting bad_file with `reason` in the message.
void check_rejected(const Bytes& bytes, std::string_view reason) {
  auto result = read_npy(bytes);
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == StatusCode::bad_file);
  INFO("message: " << result.status().message());
  CHECK(result.status().message().find(reason) != std::string::npos);
}

std::size_t data_offset(const Bytes& file) {
  const std::size_t length_size = file[6] == 1 ? 2 : 4;
  std::size_t header_length = 0;
  for (std::size_t i = 0; i < length_size; ++i) header_length |= std::size_t{file[8 + i]} << (8 * i);
  return 8 + length_size + header_length;
}

constexpr DType kAllDTypes[] = {DType::f32, DType::f64, DType::f16, DType::bf16, DType::i8,
                                DType::u8,  DType::i16, DType::u16, DType::i32};

}  // namespace

TEST_CASE("round trip: every dtype x rank 0, 1, 3, 8 through permuted, strided and reversed views") {
  const std::vector<std::vector<std::int64_t>> shapes = {{}, {5}, {2, 3, 4}, {2, 1, 2, 1, 3, 1, 2, 2}};
  for (const DType dtype : kAllDTypes) {
    for (const auto& shape : shapes) {
      for (const bool reverse_axis0 : {false, true}) {
        const int rank = static_cast<int>(shape.size());
        const std::size_t element_size = ftc::dtype_size(dtype);
        // The view's axis i is the parent's axis rank-1-i (permuted); the parent's axis 0 is twice
        // as long and the view takes every other index of it (strided).
        std::vector<std::int64_t> parent_shape(shape.rbegin(), shape.rend());
        if (rank > 0) parent_shape[0] *= 2;
        std::vector<std::int64_t> parent_strides(static_cast<std::size_t>(rank));
        std::int64_t parent_count = 1;
        for (int axis = rank - 1; axis >= 0; --axis) {
          parent_strides[static_cast<std::size_t>(axis)] = parent_count;
          parent_count *= parent_shape[static_cast<std::size_t>(axis)];
        }
        Bytes parent(static_cast<std::size_t>(parent_count) * element_size);
        for (std::size_t i = 0; i < parent.size(); ++i) parent[i] = static_cast<std::uint8_t>(i * 7 + 1);

        TensorView view;
        view.dtype = dtype;
        view.rank = rank;
        std::int64_t data_offset_elements = 0;
        for (int axis = 0; axis < rank; ++axis) {
          const auto parent_axis = static_cast<std::size_t>(rank - 1 - axis);
          view.shape[axis] = shape[static_cast<std::size_t>(axis)];
          view.strides[axis] = parent_strides[parent_axis] * (parent_axis == 0 ? 2 : 1);
        }
        if (reverse_axis0 && rank > 0) {
          data_offset_elements = (view.shape[0] - 1) * view.strides[0];
          view.strides[0] = -view.strides[0];
        }
        view.data = parent.data() + data_offset_elements * static_cast<std::int64_t>(element_size);

        // Expected C-order bytes, each element located by dividing its flat index.
        const std::uint64_t count = view.element_count();
        const std::size_t file_element_size = dtype == DType::bf16 ? 4 : element_size;
        Bytes expected;
        for (std::uint64_t flat = 0; flat < count; ++flat) {
          std::int64_t offset = 0;
          std::uint64_t rest = flat;
          for (int axis = rank - 1; axis >= 0; --axis) {
            const auto extent = static_cast<std::uint64_t>(view.shape[axis]);
            offset += static_cast<std::int64_t>(rest % extent) * view.strides[axis];
            rest /= extent;
          }
          const std::uint8_t* element = static_cast<const std::uint8_t*>(view.data) + offset * static_cast<std::int64_t>(element_size);
          if (dtype == DType::bf16) expected.insert(expected.end(), {0, 0});  // f32 low mantissa bits
          expected.insert(expected.end(), element, element + element_size);
        }

        CAPTURE(ftc::dtype_name(dtype));
        CAPTURE(rank);
        CAPTURE(reverse_axis0);
        const Bytes file = write_npy(view);
        REQUIRE_FALSE(file.empty());
        CHECK(file[6] == 1);
        CHECK(data_offset(file) % 64 == 0);
        CHECK(file[data_offset(file) - 1] == '\n');
        CHECK(file.size() == data_offset(file) + count * file_element_size);

        auto read = read_npy(file);
        REQUIRE_MESSAGE(read.ok(), read.status().to_string());
        CHECK(read->dtype() == (dtype == DType::bf16 ? DType::f32 : dtype));
        CHECK(read->shape() == shape);
        REQUIRE(read->byte_size() == expected.size());
        CHECK(std::memcmp(read->data(), expected.data(), expected.size()) == 0);
      }
    }
  }
}

TEST_CASE("bf16 is written widened exactly to '<f4'") {
  const std::array<std::uint16_t, 3> bf16 = {0x3FC0 /* 1.5 */, 0xC100 /* -8 */, 0x7F80 /* +inf */};
  const std::int64_t shape[] = {3};
  const Bytes file = write_npy(TensorView::contiguous(DType::bf16, shape, bf16.data()));
  CHECK(std::string(file.begin() + 10, file.begin() + 25) == "{'descr': '<f4'");
  auto read = read_npy(file);
  REQUIRE(read.ok());
  CHECK(read->dtype() == DType::f32);
  const auto values = values_of<float>(*read);
  CHECK(values[0] == 1.5f);
  CHECK(values[1] == -8.0f);
  CHECK(values[2] == std::numeric_limits<float>::infinity());
}

TEST_CASE("files written by numpy read back with the right values") {
  SUBCASE("v1.0 '<f4' C order") {
    auto t = read_npy_file(data_path("v1_f4_c.npy"));
    REQUIRE_MESSAGE(t.ok(), t.status().to_string());
    CHECK(t->dtype() == DType::f32);
    CHECK(t->shape() == ftc::Shape{3, 4});
    const auto v = values_of<float>(*t);
    for (int n = 0; n < 12; ++n) CHECK(v[static_cast<std::size_t>(n)] == static_cast<float>((n - 5.5) * 0.25));
  }
  SUBCASE("'>f8' big-endian") {
    auto t = read_npy_file(data_path("be_f8.npy"));
    REQUIRE_MESSAGE(t.ok(), t.status().to_string());
    CHECK(t->dtype() == DType::f64);
    CHECK(t->shape() == ftc::Shape{2, 3});
    const auto v = values_of<double>(*t);
    CHECK(v == std::vector<double>{1.5, -2.25, 1024.125, -0.0, 3.0, 65536.5});
    CHECK(std::signbit(v[3]));
  }
  SUBCASE("fortran_order True int16 is converted to C order") {
    auto t = read_npy_file(data_path("fortran_i16.npy"));
    REQUIRE_MESSAGE(t.ok(), t.status().to_string());
    CHECK(t->dtype() == DType::i16);
    CHECK(t->shape() == ftc::Shape{2, 3, 4});
    const auto v = values_of<std::int16_t>(*t);
    for (int n = 0; n < 24; ++n) CHECK(v[static_cast<std::size_t>(n)] == n * 100 - 1200);
  }
  SUBCASE("v2.0 header, '|u1'") {
    auto t = read_npy_file(data_path("v2_u8.npy"));
    REQUIRE_MESSAGE(t.ok(), t.status().to_string());
    CHECK(t->dtype() == DType::u8);
    CHECK(t->shape() == ftc::Shape{4, 5});
    const auto v = values_of<std::uint8_t>(*t);
    for (int n = 0; n < 20; ++n) CHECK(v[static_cast<std::size_t>(n)] == (n * 13) % 256);
  }
  SUBCASE("v3.0 header, '<i4' rank 1") {
    auto t = read_npy_file(data_path("v3_i4.npy"));
    REQUIRE_MESSAGE(t.ok(), t.status().to_string());
    CHECK(t->dtype() == DType::i32);
    CHECK(t->shape() == ftc::Shape{5});
    CHECK(values_of<std::int32_t>(*t) == std::vector<std::int32_t>{INT32_MIN, -1, 0, 1, INT32_MAX});
  }
  SUBCASE("scalar, shape ()") {
    auto t = read_npy_file(data_path("scalar_f8.npy"));
    REQUIRE_MESSAGE(t.ok(), t.status().to_string());
    CHECK(t->dtype() == DType::f64);
    CHECK(t->rank() == 0);
    CHECK(values_of<double>(*t) == std::vector<double>{3.25});
  }
}

TEST_CASE("write_npy output is byte-identical to numpy.save for C-order little-endian files") {
  for (const char* name : {"v1_f4_c.npy", "scalar_f8.npy"}) {
    CAPTURE(name);
    const Bytes numpy_file = file_bytes(data_path(name));
    auto t = read_npy(numpy_file);
    REQUIRE(t.ok());
    CHECK(write_npy(t->view()) == numpy_file);
  }
}

TEST_CASE("header syntax numpy accepts is accepted") {
  const Bytes two_f4 = {0, 0, 0x80, 0x3F, 0, 0, 0, 0x40};  // 1.0f, 2.0f
  for (const std::string& header : {
           std::string("{'shape': (2,), 'fortran_order': False, 'descr': '<f4'}"),
           std::string("  {  \"descr\" :\t'<f4' ,\n 'fortran_order':False,'shape':( 2 , ) , }   \n"),
           std::string("{'descr': '<f4', 'fortran_order': False, 'shape': (2L,), }"),
           std::string("{'descr': '<f4', 'fortran_order': True, 'shape': (2,)}"),
       }) {
    CAPTURE(header);
    auto t = read_npy(npy_file(header, two_f4));
    REQUIRE_MESSAGE(t.ok(), t.status().to_string());
    CHECK(values_of<float>(*t) == std::vector<float>{1.0f, 2.0f});
  }
  SUBCASE("'>' and '=' byte orders, '<' on a 1-byte type") {
    auto be = read_npy(npy_file(dict(">u2", "(2,)"), {0x12, 0x34, 0xAB, 0xCD}));
    REQUIRE(be.ok());
    CHECK(values_of<std::uint16_t>(*be) == std::vector<std::uint16_t>{0x1234, 0xABCD});
    auto native = read_npy(npy_file(dict("=i2", "(1,)"), {0xFE, 0xFF}));
    REQUIRE(native.ok());
    CHECK(values_of<std::int16_t>(*native) == std::vector<std::int16_t>{-2});
    auto byte = read_npy(npy_file(dict("<i1", "(1,)"), {0xFF}));
    REQUIRE(byte.ok());
    CHECK(values_of<std::int8_t>(*byte) == std::vector<std::int8_t>{-1});
  }
  SUBCASE("big-endian and Fortran order together") {
    // shape (2, 3) '>i4', column-major: file holds a00 a10 a01 a11 a02 a12.
    Bytes data;
    for (const std::uint8_t v : std::array<std::uint8_t, 6>{0, 3, 1, 4, 2, 5}) data.insert(data.end(), {0, 0, 0, v});
    auto t = read_npy(npy_file(dict(">i4", "(2, 3)", "True"), data));
    REQUIRE(t.ok());
    CHECK(values_of<std::int32_t>(*t) == std::vector<std::int32_t>{0, 1, 2, 3, 4, 5});
  }
  SUBCASE("a zero-sized dimension next to huge ones") {
    auto t = read_npy(npy_file(dict("<f4", "(0, 1099511627776, 1099511627776)"), {}));
    REQUIRE_MESSAGE(t.ok(), t.status().to_string());
    CHECK(t->element_count() == 0);
    CHECK(t->rank() == 3);
  }
  SUBCASE("'<f2' maps to f16") {
    auto t = read_npy(npy_file(dict("<f2", "(1,)"), {0x00, 0x3C}));
    REQUIRE(t.ok());
    CHECK(t->dtype() == DType::f16);
  }
}

TEST_CASE("malformed and unsupported files are bad_file with the reason named") {
  const Bytes six_bytes(6, 0);
  SUBCASE("magic") {
    check_rejected({'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0}, "magic");
    Bytes file = npy_file(dict("<f4", "()"), {0, 0, 0, 0});
    file[5] = 'Z';
    check_rejected(file, "magic");
  }
  SUBCASE("version") {
    check_rejected(npy_file(dict("<f4", "()"), {0, 0, 0, 0}, 4), "version 4.0");
    Bytes minor = npy_file(dict("<f4", "()"), {0, 0, 0, 0});
    minor[7] = 1;
    check_rejected(minor, "version 1.1");
  }
  SUBCASE("truncated header") {
    Bytes file = npy_file(dict("<f4", "(1,)"), {0, 0, 0, 0});
    file.resize(30);
    check_rejected(file, "truncated header");
    check_rejected(Bytes{0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0xFF, 0xFF, 0xFF, 0xFF, '{'}, "truncated header");
  }
  SUBCASE("truncated data names expected and present byte counts") {
    check_rejected(npy_file(dict("<f4", "(2, 3)"), Bytes(20)), "expects 24 bytes, 20 present");
  }
  SUBCASE("trailing bytes") { check_rejected(npy_file(dict("<f4", "(2,)"), Bytes(9)), "trailing bytes after the data: shape (2,) of '<f4' expects 8 bytes, 9 present"); }
  SUBCASE("object arrays") { check_rejected(npy_file(dict("|O", "(1,)"), Bytes(8)), "object arrays ('|O')"); }
  SUBCASE("complex") {
    check_rejected(npy_file(dict("<c8", "(1,)"), Bytes(8)), "complex");
    check_rejected(npy_file(dict("<c16", "(1,)"), Bytes(16)), "complex");
  }
  SUBCASE("structured dtypes") {
    check_rejected(npy_file("{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }\n", Bytes(8)),
                   "structured");
  }
  SUBCASE("unsupported dtypes are named") {
    check_rejected(npy_file(dict("<i8", "(1,)"), Bytes(8)), "int64 ('<i8') is not supported; supported: f2 f4");
    check_rejected(npy_file(dict("|b1", "(1,)"), Bytes(1)), "bool ('|b1') is not supported");
    check_rejected(npy_file(dict("<u4", "(1,)"), Bytes(4)), "uint32 ('<u4')");
    check_rejected(npy_file(dict("<U3", "(1,)"), Bytes(12)), "dtype '<U3' is not supported");
    check_rejected(npy_file(dict("|f4", "(1,)"), Bytes(4)), "byte order '|'");
  }
  SUBCASE("rank over 8") {
    check_rejected(npy_file(dict("<f4", "(1, 1, 1, 1, 1, 1, 1, 1, 1)"), Bytes(4)), "rank 9 exceeds the maximum rank 8");
  }
  SUBCASE("element count overflow, without allocating") {
    check_rejected(npy_file(dict("<f4", "(1099511627776, 1099511627776)"), Bytes(4)), "overflows");
    check_rejected(npy_file(dict("<f8", "(9223372036854775807,)"), Bytes(8)), "overflows");
    // 2^50 elements do not overflow but would need 4 PiB: rejected by size before Tensor::zeros.
    check_rejected(npy_file(dict("<f4", "(1073741824, 1048576)"), Bytes(4)), "truncated data");
  }
  SUBCASE("header syntax") {
    check_rejected(npy_file("{'descr': '<f4', 'shape': (1,), }", Bytes(4)), "no 'fortran_order'");
    check_rejected(npy_file("{'descr': '<f4', 'fortran_order': False}", Bytes(4)), "no 'shape'");
    check_rejected(npy_file("{'fortran_order': False, 'shape': (1,)}", Bytes(4)), "no 'descr'");
    check_rejected(npy_file("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", Bytes(4)),
                   "appears twice");
    check_rejected(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", Bytes(4)),
                   "unknown header key 'x'");
    check_rejected(npy_file(dict("<f4", "(1,)", "0"), Bytes(4)), "True or False");
    check_rejected(npy_file(dict("<f4", "(1)"), Bytes(4)), "not a tuple");
    check_rejected(npy_file(dict("<f4", "[1]"), Bytes(4)), "tuple");
    check_rejected(npy_file(dict("<f4", "(-1,)"), Bytes(4)), "negative dimension");
    check_rejected(npy_file(dict("<f4", "(99999999999999999999,)"), Bytes(4)), "exceeds 2^63-1");
    check_rejected(npy_file(dict("<f4", "(1 2)"), Bytes(4)), "expected ',' or ')'");
    check_rejected(npy_file(dict("<f4", "(1,,)"), Bytes(4)), "non-negative integer");
    check_rejected(npy_file("{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", Bytes(4)), "malformed header");
    check_rejected(npy_file("{'descr': '<f\\x34', 'fortran_order': False, 'shape': (1,)}", Bytes(4)), "escape");
    check_rejected(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", Bytes(4)), "only whitespace");
    check_rejected(npy_file("{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", Bytes(4)), "',' or '}'");
    check_rejected(npy_file("", Bytes(4)), "'{'");
    check_rejected(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", Bytes(4)), "',' or '}'");
  }
  SUBCASE("v3.0 header must be UTF-8") {
    check_rejected(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}\xC3\n", Bytes(4), 3), "UTF-8");
    CHECK(read_npy(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}\n", Bytes(4), 3)).ok());
  }
}

TEST_CASE("every truncation of a valid file is an error, and so is one extra byte") {
  for (const char* name : {"v1_f4_c.npy", "be_f8.npy", "fortran_i16.npy", "v2_u8.npy", "v3_i4.npy", "scalar_f8.npy"}) {
    CAPTURE(name);
    const Bytes file = file_bytes(data_path(name));
    REQUIRE(read_npy(file).ok());
    for (std::size_t length = 0; length < file.size(); ++length) {
      CAPTURE(length);
      // A copy of exactly `length` bytes so that ASan sees any read past the end.
      const Bytes prefix(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(length));
      auto result = read_npy(prefix);
      REQUIRE_FALSE(result.ok());
      CHECK(result.status().code() == StatusCode::bad_file);
    }
    Bytes longer = file;
    longer.push_back(0);
    check_rejected(longer, "trailing");
  }
}

TEST_CASE("file functions") {
  const std::filesystem::path dir = std::filesystem::temp_directory_path();
  const std::string path = (dir / ("ftc_npy_test_" + std::to_string(::getpid()) + ".npy")).string();

  SUBCASE("write_npy_file then read_npy_file, contiguous and strided") {
    const std::array<std::int32_t, 6> values = {1, -2, 3, -4, 5, -6};
    const std::int64_t shape[] = {2, 3};
    const TensorView contiguous = TensorView::contiguous(DType::i32, shape, values.data());
    REQUIRE(write_npy_file(path, contiguous).ok());
    CHECK(file_bytes(path) == write_npy(contiguous));
    auto t = read_npy_file(path);
    REQUIRE(t.ok());
    CHECK(values_of<std::int32_t>(*t) == std::vector<std::int32_t>(values.begin(), values.end()));

    TensorView transposed = contiguous;
    transposed.shape = {3, 2};
    transposed.strides = {1, 3};
    REQUIRE(write_npy_file(path, transposed).ok());
    auto tt = read_npy_file(path);
    REQUIRE(tt.ok());
    CHECK(tt->shape() == ftc::Shape{3, 2});
    CHECK(values_of<std::int32_t>(*tt) == std::vector<std::int32_t>{1, -4, -2, 5, 3, -6});
    std::filesystem::remove(path);
  }
  SUBCASE("errors") {
    auto missing = read_npy_file((dir / "ftc_npy_test_does_not_exist.npy").string());
    CHECK(missing.status().code() == StatusCode::io_error);
    CHECK(read_npy_file(dir.string()).status().code() == StatusCode::io_error);  // a directory

    const float x = 1.0f;
    const TensorView scalar = TensorView::contiguous(DType::f32, {}, &x);
    CHECK(write_npy_file((dir / "no_such_dir_ftc" / "x.npy").string(), scalar).code() == StatusCode::io_error);

    TensorView invalid = scalar;
    invalid.data = nullptr;
    CHECK(write_npy(invalid).empty());
    CHECK(write_npy_file(path, invalid).code() == StatusCode::invalid_argument);

    const Bytes bad = npy_file(dict("<i8", "(1,)"), Bytes(8));
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bad.data()), static_cast<std::streamsize>(bad.size()));
    auto rejected = read_npy_file(path);
    CHECK(rejected.status().code() == StatusCode::bad_file);
    CHECK(rejected.status().message().find(path) != std::string::npos);
    std::filesystem::remove(path);
  }
}

TEST_CASE("an empty array whose other dims overflow writes and reads back (fuzz_npy finding)") {
  // (655366556, 2128, 8888888888888885, 0, 3): no element, but the product before the 0 overflows.
  auto t = read_npy(npy_file(dict("<f4", "(655366556, 2128, 8888888888888885, 0, 3)"), {}));
  REQUIRE_MESSAGE(t.ok(), t.status().to_string());
  CHECK(t->byte_size() == 0);
  const Bytes again = write_npy(t->view());
  REQUIRE_FALSE(again.empty());
  auto back = read_npy(again);
  REQUIRE(back.ok());
  CHECK(back->shape() == t->shape());
}

TEST_CASE("the same in Fortran order, as a tensor and as integers (fuzz_npy finding: stride overflow)") {
  // (4, 5, 1145888885883298, 2885, 0, 3) in Fortran order: the strides of the axes before the 0
  // overflow int64, though there is nothing to gather.
  auto t = read_npy(npy_file(dict("<f8", "(4, 5, 1145888885883298, 2885, 0, 3)", "True"), {}));
  REQUIRE_MESSAGE(t.ok(), t.status().to_string());
  CHECK(t->byte_size() == 0);
  CHECK(t->shape() == ftc::Shape{4, 5, 1145888885883298, 2885, 0, 3});
  const std::string path =
      (std::filesystem::temp_directory_path() / ("ftc_npy_fortran_" + std::to_string(::getpid()) + ".npy")).string();
  const Bytes file = npy_file(dict("<i2", "(4, 5, 1145888885883298, 2885, 0, 3)", "True"), {});
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  auto ints = ftc::io::read_npy_integers_file(path);
  std::filesystem::remove(path);
  REQUIRE_MESSAGE(ints.ok(), ints.status().to_string());
  CHECK(ints->values.empty());
}

TEST_CASE("read_npy_file reads no further than one block past the declared size") {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("ftc_npy_big_" + std::to_string(::getpid()) + ".npy")).string();
  // A valid 4-element header followed by 8 MiB of junk: refused as trailing bytes.
  Bytes file = npy_file(dict("<f4", "(4,)"), Bytes(16 + (8u << 20), 0));
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  auto t = read_npy_file(path);
  CHECK(t.status().code() == StatusCode::bad_file);
  CHECK(t.status().message().find("trailing bytes") != std::string::npos);
  // The message reports the data bytes read: not the file's 16 + 8 MiB, at most one 64 KiB block.
  CHECK(t.status().message().find(std::to_string(16 + (8u << 20)) + " present") == std::string::npos);
  CHECK(t.status().message().find("expects 16 bytes") != std::string::npos);
  std::filesystem::remove(path);
}

TEST_CASE("read_npy_integers_file: any integer width and byte order as int64, in C order") {
  const auto dir = std::filesystem::temp_directory_path() / ("ftc_npy_int_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto read = [&](const Bytes& file) {
    const std::string path = (dir / "a.npy").string();
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
    return ftc::io::read_npy_integers_file(path);
  };
  auto le = [](std::initializer_list<std::int64_t> vs, int size, bool big = false) {
    Bytes out;
    for (std::int64_t v : vs)
      for (int b = 0; b < size; ++b) out.push_back(static_cast<std::uint8_t>(static_cast<std::uint64_t>(v) >> (8 * (big ? size - 1 - b : b))));
    return out;
  };
  SUBCASE("'<i8', NumPy's default") {
    auto a = read(npy_file(dict("<i8", "(4,)"), le({-3, 0, 7, std::int64_t{1} << 40}, 8)));
    REQUIRE_MESSAGE(a.ok(), a.status().to_string());
    CHECK(a->shape == ftc::Shape{4});
    CHECK(a->values == std::vector<std::int64_t>{-3, 0, 7, std::int64_t{1} << 40});
  }
  SUBCASE("'>u4' big-endian and '|i1' sign-extended") {
    auto a = read(npy_file(dict(">u4", "(2,)"), le({4000000000, 9}, 4, true)));
    REQUIRE_MESSAGE(a.ok(), a.status().to_string());
    CHECK(a->values == std::vector<std::int64_t>{4000000000, 9});
    auto b = read(npy_file(dict("|i1", "(3,)"), Bytes{0xff, 0x80, 0x05}));
    REQUIRE_MESSAGE(b.ok(), b.status().to_string());
    CHECK(b->values == std::vector<std::int64_t>{-1, -128, 5});
  }
  SUBCASE("fortran_order True is read in C order") {
    // (2, 3) with element [i][j] = 10 i + j, stored column by column.
    auto a = read(npy_file(dict("<i2", "(2, 3)", "True"), le({0, 10, 1, 11, 2, 12}, 2)));
    REQUIRE_MESSAGE(a.ok(), a.status().to_string());
    CHECK(a->shape == ftc::Shape{2, 3});
    CHECK(a->values == std::vector<std::int64_t>{0, 1, 2, 10, 11, 12});
  }
  SUBCASE("refused: uint64 over INT64_MAX, floats, short data") {
    auto big = read(npy_file(dict("<u8", "(1,)"), le({std::numeric_limits<std::int64_t>::min()}, 8)));
    CHECK(big.status().code() == StatusCode::bad_file);
    CHECK(big.status().message().find("does not fit in int64") != std::string::npos);
    auto floats = read(npy_file(dict("<f4", "(1,)"), Bytes(4, 0)));
    CHECK(floats.status().code() == StatusCode::bad_file);
    CHECK(floats.status().message().find("'<f4' is not an integer type") != std::string::npos);
    auto shorter = read(npy_file(dict("<i8", "(2,)"), Bytes(15, 0)));
    CHECK(shorter.status().code() == StatusCode::bad_file);
    CHECK(shorter.status().message().find("truncated data") != std::string::npos);
  }
  std::filesystem::remove_all(dir);
}
