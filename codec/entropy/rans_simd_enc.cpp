// rANS encode kernel entry for SIMD dispatch. Not vectorized yet: it runs the portable scalar
// kernel (the payload bytes are fixed by the format either way; docs/benchmarks.md lists the
// encoder speed this leaves).
#include <cstddef>

#include "codec/entropy/rans_internal.hpp"

namespace ftc::entropy::rans_detail {
std::size_t encode_rounds_simd(const EncKernelArgs& a) { return encode_rounds_scalar(a); }
}  // namespace ftc::entropy::rans_detail
