// Writes synthetic feature tensors for the coder benchmarks (docs/benchmarks.md):
//   relu_<size>.npy     f32 NCHW, per-channel scale, ReLU of a Gaussian (≈ half exact zeros)
//   laplace_<size>.npy  f32 NCHW, per-channel scale and offset, Laplacian
// Sizes 64 KiB … 64 MiB of f32 data. Deterministic (fixed seeds).
//   ftc_make_tensors OUT_DIR [SIZE_KIB…]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "codec/io/npy.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: ftc_make_tensors OUT_DIR [SIZE_KIB...]\n");
    return 1;
  }
  const std::string dir = argv[1];
  std::vector<long> sizes_kib;
  for (int i = 2; i < argc; ++i) sizes_kib.push_back(std::atol(argv[i]));
  if (sizes_kib.empty()) sizes_kib = {64, 1024, 16384, 65536};
  for (long kib : sizes_kib) {
    const std::int64_t elems = kib * 1024 / 4;
    // N=1, C=64 (256 for ≥ 16 MiB), H=W chosen to fill the size.
    const std::int64_t c = kib >= 16384 ? 256 : 64;
    const std::int64_t hw = elems / c;
    std::int64_t h = static_cast<std::int64_t>(std::sqrt(static_cast<double>(hw)));
    while (hw % h) --h;
    const std::vector<std::int64_t> shape = {1, c, h, hw / h};
    for (int kind = 0; kind < 2; ++kind) {
      std::mt19937_64 rng(static_cast<std::uint64_t>(kib) * 2 + static_cast<std::uint64_t>(kind));
      std::vector<float> v(static_cast<std::size_t>(c * hw));
      for (std::int64_t ch = 0; ch < c; ++ch) {
        const double scale = 0.2 + 3.0 * std::uniform_real_distribution<double>(0, 1)(rng);
        const double offset = std::normal_distribution<double>(0, 1)(rng);
        std::normal_distribution<double> g(offset * 0.5, scale);
        std::exponential_distribution<double> e(1.0 / scale);
        for (std::int64_t i = 0; i < hw; ++i) {
          double x;
          if (kind == 0) x = std::max(0.0, g(rng));
          else x = offset + ((rng() & 1) ? e(rng) : -e(rng));
          v[static_cast<std::size_t>(ch * hw + i)] = static_cast<float>(x);
        }
      }
      const std::string name = dir + "/" + (kind == 0 ? "relu_" : "laplace_") + std::to_string(kib) + "k.npy";
      auto view = ftc::TensorView::contiguous(ftc::DType::f32, shape, v.data());
      ftc::Status st = ftc::io::write_npy_file(name, view);
      if (!st.ok()) {
        std::fprintf(stderr, "%s: %s\n", name.c_str(), st.to_string().c_str());
        return 1;
      }
      std::printf("%s  [1, %lld, %lld, %lld]\n", name.c_str(), static_cast<long long>(c), static_cast<long long>(h),
                  static_cast<long long>(hw / h));
    }
  }
  return 0;
}
