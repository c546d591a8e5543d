#include <cstring>
#include <limits>
#include <new>

#include "ftc/ftc.hpp"

namespace ftc {

std::size_t dtype_size(DType t) noexcept {
  switch (t) {
    case DType::f64: return 8;
    case DType::f32: case DType::i32: return 4;
    case DType::f16: case DType::bf16: case DType::i16: case DType::u16: return 2;
    case DType::i8: case DType::u8: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) noexcept {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
    case DType::i8: return "i8";
    case DType::u8: return "u8";
    case DType::i16: return "i16";
    case DType::u16: return "u16";
    case DType::i32: return "i32";
  }
  return "unknown";
}

std::optional<DType> dtype_from_name(std::string_view s) noexcept {
  for (std::uint8_t c = 1; c <= 9; ++c) {
    auto t = static_cast<DType>(c);
    if (s == dtype_name(t)) return t;
  }
  return std::nullopt;
}

bool dtype_is_float(DType t) noexcept {
  return t == DType::f32 || t == DType::f64 || t == DType::f16 || t == DType::bf16;
}

bool dtype_is_valid(std::uint8_t code) noexcept { return code >= 1 && code <= 9; }

std::optional<std::uint64_t> checked_element_count(std::span<const std::int64_t> shape,
                                                   std::uint64_t limit) noexcept {
  std::uint64_t n = 1;
  bool zero = false;
  for (std::int64_t d : shape) {
    if (d < 0) return std::nullopt;
    if (d == 0) zero = true;
  }
  if (zero) return 0;
  for (std::int64_t d : shape) {
    auto ud = static_cast<std::uint64_t>(d);
    if (n > limit / ud) return std::nullopt;
    n *= ud;
  }
  return n;
}

TensorView TensorView::contiguous(DType dtype, std::span<const std::int64_t> shape, const void* data) {
  TensorView v;
  v.dtype = dtype;
  v.rank = static_cast<int>(shape.size() > kMaxRank ? kMaxRank : shape.size());
  // A stride past int64 only arises next to a zero extent (no element to address): saturated.
  std::int64_t stride = 1;
  for (int i = v.rank - 1; i >= 0; --i) {
    v.shape[i] = shape[i];
    v.strides[i] = stride;
    if (__builtin_mul_overflow(stride, shape[i] > 0 ? shape[i] : 1, &stride)) stride = std::numeric_limits<std::int64_t>::max();
  }
  v.data = data;
  return v;
}

std::uint64_t TensorView::element_count() const noexcept {
  auto n = checked_element_count(std::span<const std::int64_t>(shape.data(), rank < 0 ? 0 : rank));
  return n.value_or(0);
}

bool TensorView::is_contiguous() const noexcept {
  for (int i = 0; i < rank; ++i)
    if (shape[i] == 0) return true;  // no element: any strides address them all in C order
  std::int64_t expect = 1;
  for (int i = rank - 1; i >= 0; --i) {
    if (shape[i] != 1 && strides[i] != expect) return false;
    if (__builtin_mul_overflow(expect, shape[i], &expect)) return false;
  }
  return true;
}

Status TensorView::validate() const {
  if (rank < 0 || rank > kMaxRank)
    return {StatusCode::invalid_argument, "rank " + std::to_string(rank) + " is outside 0..8"};
  if (dtype_size(dtype) == 0) return {StatusCode::invalid_argument, "unknown dtype"};
  for (int i = 0; i < rank; ++i)
    if (shape[i] < 0) return {StatusCode::invalid_argument, "negative dimension " + std::to_string(i)};
  auto n = checked_element_count(std::span<const std::int64_t>(shape.data(), rank),
                                 std::numeric_limits<std::uint64_t>::max() / 8);
  if (!n) return {StatusCode::invalid_argument, "element count overflows"};
  if (*n > 0 && data == nullptr) return {StatusCode::invalid_argument, "null data pointer"};
  return {};
}

std::uint64_t Tensor::element_count() const noexcept {
  return checked_element_count(shape_).value_or(0);
}

Result<Tensor> Tensor::zeros(DType dtype, Shape shape) {
  if (shape.size() > static_cast<std::size_t>(kMaxRank))
    return Status{StatusCode::invalid_argument, "rank over 8"};
  auto n = checked_element_count(shape, std::numeric_limits<std::uint64_t>::max() / 8);
  if (!n || dtype_size(dtype) == 0) return Status{StatusCode::invalid_argument, "bad shape or dtype"};
  std::uint64_t bytes = *n * dtype_size(dtype);
  if (bytes > std::numeric_limits<std::size_t>::max() / 2)
    return Status{StatusCode::out_of_memory, "tensor of " + std::to_string(bytes) + " bytes"};
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  try {
    t.bytes_.assign(static_cast<std::size_t>(bytes), 0);
  } catch (const std::bad_alloc&) {
    return Status{StatusCode::out_of_memory, "cannot allocate " + std::to_string(bytes) + " bytes"};
  }
  return t;
}

Result<Tensor> Tensor::copy_of(const TensorView& view) {
  FTC_RETURN_IF_ERROR(view.validate());
  const std::size_t es = dtype_size(view.dtype);
  if (view.is_contiguous()) {  // one pass over fresh memory: no zero fill first
    const std::uint64_t n = view.element_count();
    Tensor t;
    t.dtype_ = view.dtype;
    t.shape_ = view.shape_vector();
    const auto* src = static_cast<const std::uint8_t*>(view.data);
    try {
      t.bytes_.assign(src, src + static_cast<std::size_t>(n) * es);
    } catch (const std::bad_alloc&) {
      return Status{StatusCode::out_of_memory, "cannot allocate " + std::to_string(n * es) + " bytes"};
    }
    return t;
  }
  FTC_ASSIGN_OR_RETURN(Tensor t, zeros(view.dtype, view.shape_vector()));
  const std::uint64_t n = t.element_count();
  if (n == 0) return t;
  // Walk the index space in C order with an odometer over the strided source.
  std::array<std::int64_t, kMaxRank> idx{};
  const auto* src = static_cast<const std::uint8_t*>(view.data);
  std::uint8_t* dst = t.bytes_.data();
  const int r = view.rank;
  std::int64_t off = 0;
  for (std::uint64_t k = 0; k < n; ++k) {
    std::memcpy(dst + k * es, src + off * static_cast<std::int64_t>(es), es);
    for (int d = r - 1; d >= 0; --d) {
      if (++idx[d] < view.shape[d]) { off += view.strides[d]; break; }
      off -= view.strides[d] * (view.shape[d] - 1);
      idx[d] = 0;
    }
  }
  return t;
}

TensorView Tensor::view() const noexcept {
  return TensorView::contiguous(dtype_, shape_, bytes_.data());
}

}  // namespace ftc
