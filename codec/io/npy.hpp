// NumPy .npy files (format versions 1.0, 2.0 and 3.0) read into and written from ftc tensors.
// Format reference: numpy/lib/format.py, "NEP 1 — A simple file format for NumPy arrays".
//
// Reading accepts exactly these element types, with byte order '<' (little), '>' (big), '='
// (native), or '|' for the 1-byte types:
//   f2→f16  f4→f32  f8→f64  i1→i8  u1→u8  i2→i16  u2→u16  i4→i32
// Everything else (bool, int64, complex, object, strings, structured dtypes, …) is rejected
// with StatusCode::bad_file and a message naming the type (read_npy_integers_file reads integer
// arrays of every width, int64 included, as int64 values). The header must be the Python dict
// literal NumPy writes: keys 'descr', 'fortran_order', 'shape' exactly once each, in any order,
// with any whitespace and optional trailing commas; it is parsed, never evaluated. The data must
// be exactly shape × itemsize bytes: a short file or trailing bytes are both bad_file.
//
// Writing produces format 1.0 (2.0 only if the header exceeded 65535 bytes, which rank ≤ 8
// cannot reach), little-endian, C order, with the header padded by spaces and ending in '\n'
// so that the data starts at a multiple of 64 bytes — byte for byte what numpy.save writes.
// bf16 has no NumPy dtype: it is written widened to '<f4' (exact: every bf16 is an f32), so
// reading the file back yields an f32 tensor with the same values.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "codec/io/output_file.hpp"
#include "ftc/ftc.hpp"

namespace ftc::io {

// Decodes a complete .npy file held in memory. The result is C-contiguous, native byte order.
// Errors: StatusCode::bad_file, the message naming the reason.
[[nodiscard]] Result<Tensor> read_npy(std::span<const std::uint8_t> bytes);

// read_npy() on the contents of `path`; StatusCode::io_error if the file cannot be read.
[[nodiscard]] Result<Tensor> read_npy_file(const std::string& path);

// An integer array of any NumPy integer dtype (int8..int64, uint8..uint64, either byte order, C or
// Fortran order), as int64 values in C order: labels as NumPy makes them (int64 by default). A
// uint64 value above INT64_MAX is bad_file; every other dtype is bad_file naming it.
struct IntegerArray {
  Shape shape;
  std::vector<std::int64_t> values;
};
[[nodiscard]] Result<IntegerArray> read_npy_integers_file(const std::string& path);

// Reserves `bytes` for the size of `path` when it is a regular file, so that reading it to the
// end does not grow the vector (a copy and fresh pages for about twice the size). A hint only:
// no error, and readers still stop at EOF. May throw std::bad_alloc.
void reserve_file_size(const std::string& path, std::vector<std::uint8_t>& bytes);

// The .npy encoding of `view` (any strides; written in C order). A view that fails
// view.validate() yields an empty vector, which is never a valid .npy file.
[[nodiscard]] std::vector<std::uint8_t> write_npy(const TensorView& view);

// write_npy() into `out` (not committed): a contiguous little-endian view is written from its own
// memory, not from a copy.
[[nodiscard]] Status write_npy(OutputFile& out, const TensorView& view);

// write_npy() to `path`, all-or-nothing (io::write_file's rules; an existing file is replaced).
// StatusCode::invalid_argument for an invalid view, io_error if the file cannot be written.
[[nodiscard]] Status write_npy_file(const std::string& path, const TensorView& view);

}  // namespace ftc::io
