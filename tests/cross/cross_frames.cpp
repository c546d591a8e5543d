// Cross-machine identity driver (docs/devices.md). Encodes a fixed set of deterministic tensors
// under a fixed set of options and prints, a line per case, the frame's XXH64 and size and the
// hash of the tensors it decodes to (golden::hash_tensors: element bytes in little-endian order,
// the same on every machine). Every rANS kernel choice this process can run — the portable scalar
// kernels, then each Highway target the CPU supports, each with table lookups by gathers and by
// loads — must print the same lines; the lines of every machine must equal the x86-64 ones.
//
//   cross_frames encode DIR   writes DIR/<case>.ftc, prints "<case> <frame hash> <bytes> <decoded hash>"
//   cross_frames decode DIR   decodes DIR/<case>.ftc (another machine's frames), prints
//                             "<case> <decoded hash>"
// Exit 0: every kernel choice agreed (the lines are printed once); 1: they differ (each choice's
// differing lines go to stderr) or a frame failed to encode or decode. stderr also names the
// kernel choices run.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <xxhash.h>

#include "codec/entropy/rans.hpp"
#include "codec/quant/float_cast.hpp"
#include "ftc/ftc.hpp"
#include "tests/golden/golden_hash.hpp"

using namespace ftc;
namespace fs = std::filesystem;

namespace {

// splitmix64: the same numbers on every machine.
struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // In [-range, range], roughly bell-shaped (a sum of four uniforms).
  std::int64_t bell(std::int64_t range) {
    std::int64_t sum = 0;
    for (int i = 0; i < 4; ++i) sum += static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(range / 2 + 1));
    return sum - 2 * (range / 2);
  }
};

// Every value is a small integer over a power of two: exact in every float type, so that the
// input tensors hold the same bits on every machine.
Tensor make_tensor(DType dtype, Shape shape, std::uint64_t seed, bool relu) {
  Tensor t = std::move(Tensor::zeros(dtype, std::move(shape)).value());
  Rng rng{seed};
  const std::uint64_t n = t.element_count();
  for (std::uint64_t i = 0; i < n; ++i) {
    std::int64_t v = rng.bell(2000);
    if (relu && v < 0) v = 0;
    const double x = static_cast<double>(v) / 64.0;
    std::uint8_t* p = t.data() + i * dtype_size(dtype);
    auto put = [&](auto value) { std::memcpy(p, &value, sizeof value); };
    switch (dtype) {
      case DType::f32: put(static_cast<float>(x)); break;
      case DType::f64: put(x); break;
      case DType::f16: put(quant::f16_from_double(x / 16.0)); break;
      case DType::bf16: put(quant::bf16_from_double(x)); break;
      case DType::i8: put(static_cast<std::int8_t>(v / 16)); break;
      case DType::u8: put(static_cast<std::uint8_t>(v / 8 + 128)); break;
      case DType::i16: put(static_cast<std::int16_t>(v * 8)); break;
      case DType::u16: put(static_cast<std::uint16_t>(v * 16 + 32768)); break;
      case DType::i32: put(static_cast<std::int32_t>(v * 100003)); break;
    }
  }
  return t;
}

struct Case {
  std::string name;
  std::vector<NamedTensor> tensors;
  EncoderOptions options;
};

EncoderOptions opts(QuantizerKind q, int bits, CoderKind coder) {
  EncoderOptions o;
  o.quantizer = q;
  o.bits = bits;
  o.coder = coder;
  return o;
}

std::vector<Case> make_cases() {
  // A ReLU map (many zeros) and a bell-shaped one, both NCHW; small enough for an emulator.
  const Tensor relu = make_tensor(DType::f32, {1, 24, 32, 32}, 1, true);
  const Tensor bell = make_tensor(DType::f32, {4, 64, 160}, 2, false);
  std::vector<Case> cs;
  auto add = [&](std::string name, const Tensor& t, EncoderOptions o) {
    cs.push_back({std::move(name), {{"x", std::move(Tensor::copy_of(t.view()).value())}}, o});
  };
  using Q = QuantizerKind;
  using C = CoderKind;
  for (C c : {C::raw, C::zstd, C::rans, C::adaptive}) add(std::string("relu-u8-") + coder_name(c), relu, opts(Q::uniform, 8, c));
  for (int lanes : {64, 128}) {
    EncoderOptions o = opts(Q::uniform, 8, C::rans_wide);
    o.rans_lanes = lanes;
    add("bell-u8-rans" + std::to_string(lanes), bell, o);
    o.channel_axis = 1;
    add("bell-u8-rans" + std::to_string(lanes) + "-perchannel", bell, o);
  }
  for (int bits : {1, 4, 12, 16}) {
    add("bell-u" + std::to_string(bits) + "-rans", bell, opts(Q::uniform, bits, C::rans));
    add("bell-u" + std::to_string(bits) + "-raw", bell, opts(Q::uniform, bits, C::raw));
  }
  add("bell-u12-zstd", bell, opts(Q::uniform, 12, C::zstd));
  add("bell-u10-adaptive", bell, opts(Q::uniform, 10, C::adaptive));
  for (C c : {C::rans, C::adaptive, C::zstd}) {
    EncoderOptions o = opts(Q::uniform, 6, c);
    o.channel_axis = 1;
    add(std::string("relu-u6-perchannel-") + coder_name(c), relu, o);
  }
  {
    EncoderOptions o = opts(Q::uniform, 8, C::rans);
    o.clip_lo = -4.0;
    o.clip_hi = 12.5;
    o.chunk_elements = 4096;
    o.threads = 2;
    add("bell-u8-clip-chunks-rans", bell, o);
  }
  for (C c : {C::zstd, C::rans, C::raw}) {
    add(std::string("bell-lossless-f32-") + coder_name(c), bell, opts(Q::lossless, 8, c));
  }
  add("bell-cast-f16-rans", bell, opts(Q::cast_f16, 16, C::rans));
  add("bell-cast-bf16-zstd", bell, opts(Q::cast_bf16, 16, C::zstd));
  // Every dtype: lossless (byte planes) and 8-bit uniform.
  const DType dtypes[] = {DType::f64, DType::f16, DType::bf16, DType::i8, DType::u8, DType::i16, DType::u16, DType::i32};
  std::uint64_t seed = 10;
  for (DType d : dtypes) {
    const Tensor t = make_tensor(d, {3, 7, 129}, seed++, false);
    add(std::string("lossless-") + dtype_name(d) + "-zstd", t, opts(Q::lossless, 8, C::zstd));
    add(std::string("lossless-") + dtype_name(d) + "-rans", t, opts(Q::lossless, 8, C::rans));
    add(std::string("uniform8-") + dtype_name(d) + "-rans", t, opts(Q::uniform, 8, C::rans));
  }
  {  // Two tensors in one frame.
    Case c{"two-tensors-u8-rans", {}, opts(Q::uniform, 8, C::rans)};
    c.tensors.push_back({"relu", std::move(Tensor::copy_of(relu.view()).value())});
    c.tensors.push_back({"f16", make_tensor(DType::f16, {2, 5, 300}, 99, true)});
    cs.push_back(std::move(c));
  }
  return cs;
}

std::string hex(std::uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

std::vector<std::uint8_t> slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

// One line per case; an error line (which then differs from every other machine's) on failure.
std::vector<std::string> run_cases(const std::vector<Case>& cases, bool encode, const fs::path& dir, bool write) {
  std::vector<std::string> lines;
  for (const Case& c : cases) {
    std::vector<std::uint8_t> frame;
    std::string line = c.name;
    if (encode) {
      std::vector<NamedTensorView> views;
      for (const auto& t : c.tensors) views.push_back({t.name, t.tensor.view()});
      auto r = Encoder(c.options).encode(views);
      if (!r.ok()) {
        lines.push_back(line + " encode-error " + r.status().to_string());
        continue;
      }
      frame = std::move(*r);
      line += " " + hex(XXH64(frame.data(), frame.size(), 0)) + " " + std::to_string(frame.size());
      if (write) {
        std::ofstream f(dir / (c.name + ".ftc"), std::ios::binary);
        f.write(reinterpret_cast<const char*>(frame.data()), static_cast<std::streamsize>(frame.size()));
        if (!f) line += " write-error";
      }
    } else {
      frame = slurp(dir / (c.name + ".ftc"));
    }
    Decoder d;
    auto t = d.decode(frame);
    line += t.ok() ? " " + hex(golden::hash_tensors(*t)) : " decode-error " + t.status().to_string();
    lines.push_back(line);
  }
  return lines;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::string(argv[1]) != "encode" && std::string(argv[1]) != "decode")) {
    std::fprintf(stderr, "usage: cross_frames encode|decode DIR\n");
    return 2;
  }
  const bool encode = std::string(argv[1]) == "encode";
  const fs::path dir = argv[2];
  if (encode) fs::create_directories(dir);
  const std::vector<Case> cases = make_cases();

  using entropy::RansKernel;
  using entropy::RansLookup;
  // The portable scalar kernels first: the reference the vector kernels must match.
  entropy::rans_set_kernel(RansKernel::scalar);
  const std::vector<std::string> ref = run_cases(cases, encode, dir, encode);
  entropy::rans_set_kernel(RansKernel::automatic);
  std::string ran = "scalar";
  bool same = true;
  for (std::int64_t target : entropy::rans_simd_targets()) {
    entropy::rans_force_simd_target(target);
    for (RansLookup lookup : {RansLookup::gather, RansLookup::loads}) {
      entropy::rans_set_lookup(lookup);
      const std::string name = std::string(entropy::rans_target_name(target)) + (lookup == RansLookup::loads ? "/loads" : "");
      ran += " " + name;
      const std::vector<std::string> got = run_cases(cases, encode, dir, false);
      for (std::size_t i = 0; i < ref.size(); ++i) {
        if (got[i] == ref[i]) continue;
        same = false;
        std::fprintf(stderr, "cross_frames: %s differs from scalar:\n  scalar: %s\n  %s: %s\n", name.c_str(), ref[i].c_str(),
                     name.c_str(), got[i].c_str());
      }
    }
  }
  entropy::rans_force_simd_target(0);
  entropy::rans_set_lookup(RansLookup::automatic);
  std::fprintf(stderr, "cross_frames: %zu cases, kernels: %s\n", cases.size(), ran.c_str());
  bool errors = false;
  for (const std::string& l : ref) {
    std::printf("%s\n", l.c_str());
    errors |= l.find("-error") != std::string::npos;
  }
  return same && !errors ? 0 : 1;
}
