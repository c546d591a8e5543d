// ftc split MODEL.onnx --at TENSOR[,TENSOR…] --head HEAD.onnx --tail TAIL.onnx
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>

#include "cli/commands.hpp"
#include "cli/file_io.hpp"
#include "cli/text.hpp"
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "runtime/graph.hpp"

namespace ftc::cli {
namespace {

std::string join(const std::vector<std::string>& v) { return fmt::format("{}", fmt::join(v, ",")); }

std::string shape_of(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(s[i]);
  }
  return out + "]";
}

}  // namespace

Command add_split(CLI::App& root) {
  struct Args {
    std::string model;
    std::vector<std::string> at;
    std::string head, tail;
    std::string input_shape;
    std::uint64_t seed = 1;
    double tolerance = 1e-4;
    bool force = false;
  };
  auto a = std::make_shared<Args>();
  auto* sub = root.add_subcommand("split", "Cut an ONNX model into a head and a tail, and check that they compose");
  sub->add_option("model", a->model, "ONNX model")->required();
  sub->add_option("--at", a->at, "Tensor(s) to cut at (see `ftc layers`); tensors the tail also needs are added")
      ->required()
      ->delimiter(',');
  sub->add_option("--head", a->head, "Output: the head (device) model")->required();
  sub->add_option("--tail", a->tail, "Output: the tail (server) model")->required();
  sub->add_option("--input-shape", a->input_shape,
                  "Fix dynamic input dims: 1,3,224,224 (the only input) or NAME:DIMS[;NAME:DIMS]");
  sub->add_option("--seed", a->seed, "Seed of the random input of the composition check");
  sub->add_option("--tolerance", a->tolerance, "Composition check: max |full - head->tail| / max(1, max|full|)")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_flag("-f,--force", a->force, "Overwrite the output files");
  sub->footer(
      "Both parts pass onnx::checker. The split is then checked: the head then the tail, run with\n"
      "OpenCV DNN on seeded random input in [-1,1], must equal the full model within the tolerance;\n"
      "otherwise nothing is written and ftc exits with status 1.");
  return {sub, [a]() -> int {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (const auto* p : {&a->head, &a->tail}) {
      if (!a->force && fs::exists(*p, ec)) return fail(*p, "already exists (use -f to overwrite)");
      if (Status s = check_not_input(*p, {a->model}); !s.ok()) return fail(*p, s.message());
    }
    std::error_code ec_head, ec_tail;
    if (a->head == a->tail || fs::equivalent(a->head, a->tail, ec) ||
        (fs::weakly_canonical(a->head, ec_head) == fs::weakly_canonical(a->tail, ec_tail) && !ec_head && !ec_tail))
      return fail(a->head, "--head and --tail are the same file");
    auto g = runtime::Graph::load(a->model);
    if (!g.ok()) return fail(a->model, g.status().message());
    if (!a->input_shape.empty())
      if (auto s = g->set_input_shapes(a->input_shape); !s.ok()) return fail(a->model, s.message());
    auto split = g->split(a->at);
    if (!split.ok()) return fail(a->model, split.status().message());
    const auto& info = split->info;

    std::printf("split %s at %s\n", printable(a->model).c_str(), printable(join(info.requested)).c_str());
    if (!info.added.empty())
      std::printf("  added %s: the tail reads %s too, so the head outputs %s\n", printable(join(info.added)).c_str(),
                  info.added.size() == 1 ? "it" : "them", info.added.size() == 1 ? "it" : "them");
    std::uint64_t elements = 0;
    bool known = true;
    for (const auto& t : info.cut_info) {
      auto n = t.element_count();
      std::printf("  sends %-40s %-5s %s\n", printable(t.name).c_str(), t.dtype ? dtype_name(*t.dtype) : "?", t.shape_string().c_str());
      if (n) elements += *n;
      else known = false;
    }
    if (known) std::printf("  %llu elements cross the cut\n", static_cast<unsigned long long>(elements));
    std::printf("  head: %zu nodes, %llu MACs   tail: %zu nodes, %llu MACs\n", info.head_nodes,
                static_cast<unsigned long long>(info.head_macs), info.tail_nodes,
                static_cast<unsigned long long>(info.tail_macs));

    auto rep = runtime::check_composition(*g, *split, a->seed, a->tolerance);
    if (!rep.ok()) return fail(a->model, "composition check could not run: " + rep.status().message());
    std::string fed;
    for (const auto& [name, s] : rep->inputs) fed += (fed.empty() ? "" : ", ") + name + " " + shape_of(s);
    std::printf("  composition check (OpenCV DNN, random input %s, seed %llu): %s\n", printable(fed).c_str(),
                static_cast<unsigned long long>(a->seed), printable(rep->to_string()).c_str());
    if (!rep->passed) {
      std::ostringstream why;
      why << "head->tail differs from the full model: max |diff| " << rep->max_abs_error << ", relative "
          << rep->rel_error << " > " << a->tolerance << " at output '" << rep->worst_output << "'; nothing written";
      return fail(a->model, why.str());
    }
    // Both parts or neither (save_split: temporary files renamed together).
    auto sizes = runtime::save_split(*split, a->head, a->tail, a->force);
    if (!sizes.ok()) return fail("split", sizes.status().message());
    std::printf("  wrote %s (%zu bytes) and %s (%zu bytes)\n", printable(a->head).c_str(), sizes->head,
                printable(a->tail).c_str(), sizes->tail);
    return 0;
  }};
}

}  // namespace ftc::cli
