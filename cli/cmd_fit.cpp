// ftc fit — fits a codec model (.ftcm) on calibration images: parses the flags into
// runtime::FitOptions, runs runtime::fit_codec_model with progress on stderr, prints what each
// rate point chose and writes the file all-or-nothing (io::write_file).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.hpp"
#include "cli/file_io.hpp"
#include "cli/text.hpp"
#include "runtime/fit.hpp"

namespace ftc::cli {
namespace {

struct FitArgs {
  runtime::FitOptions options;
  std::string out;
  bool force = false;
  bool no_progress = false;
  std::string weights = "task";
};

int run_fit(const FitArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  if (!a.force && std::filesystem::exists(a.out, ec)) return fail(a.out, "already exists (use -f to overwrite)");
  if (Status s = check_not_input(a.out, {a.options.model}); !s.ok()) return fail(a.out, s.message());
  runtime::FitOptions options = a.options;
  options.task_weights = a.weights == "task";
  if (auto s = runtime::check_fit_options(options); !s.ok()) return fail("fit", s.message());
  const bool tty = isatty(2) != 0;
  std::size_t last_pct = 101;
  auto progress = [&](const runtime::FitEvent& e) {
    if (a.no_progress) return;
    switch (e.kind) {
      case runtime::FitEvent::Kind::plan:
        std::fprintf(stderr, "%s\n", printable(e.text).c_str());
        break;
      case runtime::FitEvent::Kind::stage:
        std::fprintf(stderr, "%s%s\n", tty && last_pct != 101 ? "\n" : "", printable(e.text).c_str());
        last_pct = 101;
        break;
      case runtime::FitEvent::Kind::images: {
        const std::size_t pct = e.total ? 100 * e.done / e.total : 100;
        if (!tty && pct / 10 == last_pct / 10 && e.done != e.total) return;
        last_pct = pct;
        std::fprintf(stderr, "%s  %zu/%zu %3zu%%%s", tty ? "\r" : "", e.done, e.total, pct, tty ? "" : "\n");
        if (tty && e.done == e.total) std::fprintf(stderr, "\n"), last_pct = 101;
        break;
      }
    }
    std::fflush(stderr);
  };
  auto r = runtime::fit_codec_model(options, progress);
  if (!r.ok()) return fail("fit", r.status().message());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::size_t elements = 1;
  for (auto d : r->shape) elements *= static_cast<std::size_t>(d);
  std::printf("split %s, %zu elements; %zu calibration + %zu held-out images; held-out top-1 uncompressed %.2f %%\n",
              printable(r->tensor).c_str(), elements, r->calibration_images, r->heldout_images, 100.0 * r->reference_top1);
  std::printf("%-4s %9s %6s %5s %8s %10s %8s %9s %9s %8s %7s %8s\n", "rate", "kept", "levels", "bits", "ctx", "bits/elem",
              "B/frame", "agree %", "top-1 %", "drop pt", "tables", "SQNR dB");
  for (std::size_t i = 0; i < r->points.size(); ++i) {
    const auto& p = r->points[i];
    char kept[32], ctx[32];
    std::snprintf(kept, sizeof kept, "%zu/%zu", p.kept_channels, p.channels);
    std::snprintf(ctx, sizeof ctx, "%s,K%u", p.positions == 1 ? "ch" : "ch+pos", p.classes);
    std::printf("%-4zu %9s %6.2f %5d %8s %10.3f %8.1f %9.2f %9.2f %8.2f %7zu %8.1f\n", i, kept, p.mean_levels, p.bits, ctx,
                p.bits_per_element, p.frame_bytes, 100.0 * p.agreement, 100.0 * p.top1,
                100.0 * (r->reference_top1 - p.top1), p.table_bytes, p.sqnr_db);
  }
  for (const auto& n : r->notes) std::printf("note: %s\n", printable(n).c_str());
  if (auto s = io::write_file(a.out, r->bytes, overwrite_if(a.force)); !s.ok()) return fail(a.out, s.message());
  std::printf("wrote %s: %zu bytes, model id %llu, %zu rate points (%.0f s)\n", printable(a.out).c_str(), r->bytes.size(),
              static_cast<unsigned long long>(r->file.model_id), r->points.size(), secs);
  return 0;
}

}  // namespace

Command add_fit(CLI::App& root) {
  auto a = std::make_shared<FitArgs>();
  CLI::App* sub = root.add_subcommand("fit", "Fit a codec model (.ftcm) on calibration images of a split model");
  runtime::FitOptions& o = a->options;
  sub->add_option("--model", o.model, "ONNX model (its model card M.json is read from beside it)")->required();
  sub->add_option("--at", o.at, "Tensor to split at (default: the model card's recommended_split)");
  sub->add_option("--data", o.data, "Calibration images: fashion-mnist:train:N, images:DIR, npy:X.npy,Y.npy")->capture_default_str();
  sub->add_option("--fashion-mnist-dir", o.fashion_mnist_dir, "Directory of the Fashion-MNIST idx files");
  sub->add_option("--input-shape", o.input_shape, "Fix dynamic input dims: 1,1,28,28 or NAME:1,3,224,224");
  sub->add_option("--mean", o.mean, "Normalization mean(s), overriding the model card")->delimiter(',');
  sub->add_option("--std", o.std, "Normalization std(s), overriding the model card")->delimiter(',');
  sub->add_option("--rate-points", o.rate_points, "Rate points, from high to low rate")->check(CLI::Range(1, 16))->capture_default_str();
  sub->add_option("--max-bits", o.max_bits, "At most 2^B quantizer levels per channel")->check(CLI::Range(1, 8))->capture_default_str();
  sub->add_option("--holdout", o.holdout, "Fraction of the images held out for the choices")->check(CLI::Range(0.01, 0.99))->capture_default_str();
  sub->add_option("--weights", a->weights, "Channel weights: task (tail sensitivity) or mse")->check(CLI::IsMember({"task", "mse"}))->capture_default_str();
  sub->add_option("--max-bpe", o.max_bits_per_element, "Zeroth-order bits per element of the first rate point")->capture_default_str();
  sub->add_option("--min-bpe", o.min_bits_per_element, "… and of the last")->capture_default_str();
  sub->add_option("-o,--output", a->out, "Output model file (.ftcm)")->required();
  sub->add_flag("-f,--force", a->force, "Overwrite the output file");
  sub->add_flag("--no-progress", a->no_progress, "No progress on stderr");
  return {sub, [a]() { return run_fit(*a); }};
}

}  // namespace ftc::cli
