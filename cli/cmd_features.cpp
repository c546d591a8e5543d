// ftc features --model M.onnx [--at TENSOR] --data SPEC[:N] -o feats.npy
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "cli/file_io.hpp"
#include "cli/text.hpp"
#include "runtime/features.hpp"

namespace ftc::cli {

Command add_features(CLI::App& root) {
  struct Args {
    runtime::FeatureOptions o;
    std::string output;
    bool force = false;
  };
  auto a = std::make_shared<Args>();
  auto* sub = root.add_subcommand("features", "Run a model's head over a data set and save the cut tensor as .npy");
  sub->add_option("--model", a->o.model, "ONNX model (its card M.json beside it gives the normalization)")->required();
  sub->add_option("--at", a->o.at, "Tensor to cut at (default: the model card's recommended split)");
  sub->add_option("--data", a->o.data, "Data set: fashion-mnist:test[:N], fashion-mnist:train[:N], images:DIR, npy:X,Y")
      ->capture_default_str();
  sub->add_option("-n,--images", a->o.images, "The first N images only (default: all)");
  sub->add_option("--mean", a->o.mean, "Normalization mean(s), over the model card's")->delimiter(',');
  sub->add_option("--std", a->o.std, "Normalization std(s), over the model card's")->delimiter(',');
  sub->add_option("-o,--output", a->output, "Output .npy: float32 (N, C, H, W) ('-' for stdout)")->required();
  sub->add_flag("-f,--force", a->force, "Overwrite the output file");
  return {sub, [a]() -> int {
    if (Status s = check_not_input(a->output, {a->o.model}); !s.ok()) return fail(a->output, s.message());
    std::error_code ec;  // an early answer: the run can take minutes; the write checks again
    if (a->output != "-" && !a->force && std::filesystem::exists(a->output, ec))
      return fail(a->output, "already exists (use -f to overwrite)");
    auto f = runtime::extract_features(a->o);
    if (!f.ok()) return fail("features", f.status().message());
    Status s = write_npy_output(a->output, f->tensor.view(), a->force);
    if (!s.ok()) return fail(a->output, s.message());
    std::string shape;
    for (auto d : f->tensor.shape()) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    std::fprintf(stderr, "%s: '%s' of %zu images, f32 [%s]\n", printable(a->output).c_str(), printable(f->at).c_str(), f->labels.size(),
                 shape.c_str());
    return 0;
  }};
}

}  // namespace ftc::cli
