// The benchmark tool: measurements that compare ftc with other libraries. Built with the
// project (FTC_BUILD_BENCH) but never installed, so the installed `ftc` links none of them.
//
// ftc_bench coders IN.npy [--bits N] [--per-channel AXIS] [--threads T] [--coders A,B] [--json]
//
// Quantizes the tensor as `ftc encode` would, then codes the same symbols with every coder in
// one run (bench/coders_bench.hpp) and prints MB/s and bits/symbol side by side. Exit status is 0
// on success and 1 otherwise, with one line on stderr naming the file and the reason.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/coders_bench.hpp"
#include "codec/io/npy.hpp"
#include "codec/quant/quantize.hpp"

namespace ftc::bench {
namespace {

// Prints "ftc_bench: <what>: <reason>" to stderr and returns 1.
int fail(const std::string& what, const std::string& reason) {
  std::fprintf(stderr, "ftc_bench: %s: %s\n", what.c_str(), reason.c_str());
  return 1;
}

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_coders(CLI::App& root) {
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
  auto* coders = root.add_subcommand("coders", "Code one tensor's quantized symbols with every coder, side by side");
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
      ->check(CLI::IsMember(coder_row_names()));
  coders->add_flag("--json", a->json, "Print JSON");
  Command cmd;
  cmd.app = coders;
  cmd.run = [a]() -> int {
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
    CodersOptions bo;
    bo.threads = a->threads;
    bo.repetitions = a->repetitions;
    bo.chunk_elements = a->chunk;
    bo.scalar_kernels = a->scalar;
    bo.simd_target = a->simd_target;
    bo.only = a->only;
    bo.rans_lanes = a->rans_lanes;
    bo.coder_config.set_grid(tensor->view().shape_vector());
    auto rep = bench_coders(symbols->all(), bo);
    if (!rep.ok()) return fail(a->input, rep.status().to_string());
    const std::string out = a->json ? to_json(*rep) : to_text(*rep);
    std::fwrite(out.data(), 1, out.size(), stdout);
    for (const auto& row : rep->rows)
      if (!row.roundtrip_ok) return fail(a->input, row.name + " did not round-trip");
    return 0;
  };
  return cmd;
}

}  // namespace
}  // namespace ftc::bench

int main(int argc, char** argv) {
  using namespace ftc::bench;
  CLI::App app{"ftc_bench — ftc measured beside other libraries (not installed)"};
  app.require_subcommand(1);
  std::vector<Command> commands = {add_coders(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 1;
  }
  for (auto& c : commands)
    if (c.app && c.app->parsed()) return c.run();
  return fail("usage", "no benchmark named (try ftc_bench --help)");
}
