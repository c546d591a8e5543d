// ftc bench coders IN.npy [--bits N] [--per-channel AXIS] [--threads T] [--coders A,B] [--json]
//
// Quantizes the tensor as `ftc encode` would, then codes the same symbols with every coder in
// one run (bench/coders_bench.hpp) and prints MB/s and bits/symbol side by side.
#include <algorithm>
#include <cstdio>

#include "bench/coders_bench.hpp"
#include "cli/commands.hpp"
#include "codec/io/npy.hpp"
#include "codec/quant/quantize.hpp"

namespace ftc::cli {

Command add_bench(CLI::App& root) {
  struct Args {
    std::string input;
    int bits = 8;
    std::optional<int> axis;
    int threads = 1;
    int repetitions = 7;
    std::uint64_t chunk = 0;
    bool json = false;
    bool scalar = false;
    std::string simd_target;
    int rans_lanes = 0;
    std::vector<std::string> only;
  };
  auto a = std::make_shared<Args>();
  auto* bench = root.add_subcommand("bench", "Benchmarks");
  bench->require_subcommand(1);
  auto* coders = bench->add_subcommand("coders", "Code one tensor's quantized symbols with every coder, side by side");
  coders->add_option("input", a->input, "Input .npy file")->required();
  coders->add_option("--bits", a->bits, "Uniform quantizer: bits per element (1..16)")->check(CLI::Range(1, 16));
  coders->add_option("--per-channel", a->axis, "Uniform quantizer and rANS contexts: one per index of this axis");
  coders->add_option("--threads", a->threads, "ftc-rans: chunks coded on this many threads")->check(CLI::Range(1, 256));
  coders->add_option("--repetitions", a->repetitions, "Timing runs; the median is reported")->check(CLI::Range(1, 1000));
  coders->add_option("--chunk", a->chunk, "ftc-rans: symbols per chunk (default: ftc encode's)");
  coders->add_option("--rans-lanes", a->rans_lanes, "ftc-rans: interleaved states 32, 64 or 128 (default: as ftc encode)")
      ->check(CLI::IsMember({32, 64, 128}));
  coders->add_flag("--scalar", a->scalar, "ftc-rans: use the portable scalar kernels instead of SIMD");
  coders->add_option("--simd-target", a->simd_target,
                     "ftc-rans: run the kernels of this Highway target (AVX3_ZEN4, AVX3, AVX2, SSE4, NEON, ...; default: the best the CPU has)");
  coders->add_option("--coders", a->only, "Rows to run, comma-separated (default: all)")
      ->delimiter(',')
      ->check(CLI::IsMember(bench::coder_row_names()));
  coders->add_flag("--json", a->json, "Print JSON");
  Command cmd;
  cmd.app = bench;
  cmd.run = [a, coders]() -> int {
    if (!coders->parsed()) return fail("bench", "no benchmark named (try ftc bench coders --help)");
    auto tensor = io::read_npy_file(a->input);
    if (!tensor.ok()) return fail(a->input, tensor.status().to_string());
    EncoderOptions opt;
    opt.quantizer = QuantizerKind::uniform;
    opt.bits = a->bits;
    opt.channel_axis = a->axis;
    opt.coder = CoderKind::rans;
    const std::uint64_t n = tensor->element_count();
    const std::uint64_t chunk = a->chunk ? a->chunk : (n <= (std::uint64_t{1} << 20) ? std::max<std::uint64_t>(n, 1) : std::uint64_t{1} << 20);
    format::TensorDesc desc;
    desc.dtype = tensor->dtype();
    desc.shape = tensor->shape();
    desc.chunk_elements = chunk;
    auto symbols = quant::quantize(tensor->view(), opt, desc);
    if (!symbols.ok()) return fail(a->input, symbols.status().to_string());
    bench::CodersOptions bo;
    bo.threads = a->threads;
    bo.repetitions = a->repetitions;
    bo.chunk_elements = a->chunk;
    bo.scalar_kernels = a->scalar;
    bo.simd_target = a->simd_target;
    bo.only = a->only;
    bo.rans_lanes = a->rans_lanes;
    bo.coder_config.set_grid(tensor->view().shape_vector());
    auto rep = bench::bench_coders(symbols->all(), bo);
    if (!rep.ok()) return fail(a->input, rep.status().to_string());
    const std::string out = a->json ? bench::to_json(*rep) : bench::to_text(*rep);
    std::fwrite(out.data(), 1, out.size(), stdout);
    for (const auto& row : rep->rows)
      if (!row.roundtrip_ok) return fail(a->input, row.name + " did not round-trip");
    return 0;
  };
  return cmd;
}

}  // namespace ftc::cli
