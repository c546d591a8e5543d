// ftc layers MODEL.onnx [--json] [--input-shape DIMS]
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/text.hpp"
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "runtime/eval.hpp"
#include "runtime/graph.hpp"

namespace ftc::cli {
namespace {

std::string with_commas(std::uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

std::string join(const std::vector<std::string>& v) { return fmt::format("{}", fmt::join(v, ",")); }

nlohmann::ordered_json shape_json(const runtime::TensorShapeInfo& t) {
  nlohmann::ordered_json j;
  j["name"] = t.name;
  j["dtype"] = t.dtype ? nlohmann::ordered_json(dtype_name(*t.dtype)) : nlohmann::ordered_json(nullptr);
  if (t.shape) {
    nlohmann::ordered_json dims = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < t.shape->size(); ++i) {
      if ((*t.shape)[i] >= 0) dims.push_back((*t.shape)[i]);
      else if (i < t.dim_names.size() && !t.dim_names[i].empty()) dims.push_back(t.dim_names[i]);
      else dims.push_back(nullptr);
    }
    j["shape"] = dims;
  } else {
    j["shape"] = nullptr;
  }
  auto n = t.element_count();
  j["elements"] = n ? nlohmann::ordered_json(*n) : nlohmann::ordered_json(nullptr);
  return j;
}

}  // namespace

Command add_layers(CLI::App& root) {
  struct Args {
    std::string model;
    bool json = false;
    std::string input_shape;
  };
  auto a = std::make_shared<Args>();
  auto* sub = root.add_subcommand("layers", "List the tensors where an ONNX model can be split");
  sub->add_option("model", a->model, "ONNX model")->required();
  sub->add_flag("--json", a->json, "Print JSON instead of a table");
  sub->add_option("--input-shape", a->input_shape,
                  "Fix dynamic input dims: 1,3,224,224 (the only input) or NAME:DIMS[;NAME:DIMS]");
  sub->footer(
      "A tensor marked 'single' disconnects the inputs from the outputs on its own. Inside a residual\n"
      "block (or beside any other branch) a cut also has to carry the tensors that bypass it: the\n"
      "'cut' column lists them, and `ftc split --at TENSOR` adds them to the head's outputs.");
  return {sub, [a]() -> int {
    auto g = runtime::Graph::load(a->model);
    if (!g.ok()) return fail(a->model, g.status().message());
    if (!a->input_shape.empty())
      if (auto s = g->set_input_shapes(a->input_shape); !s.ok()) return fail(a->model, s.message());
    auto layers = g->layers();
    if (!layers.ok()) return fail(a->model, layers.status().message());
    const std::uint64_t total = g->total_macs();
    // The model card's recommended split, when a card sits beside the model.
    std::string recommended;
    if (auto card = runtime::read_model_card(runtime::model_card_path(a->model)); card.ok())
      recommended = card->recommended_split;

    if (a->json) {
      nlohmann::ordered_json j;
      j["model"] = a->model;
      j["nodes"] = g->node_count();
      j["total_macs"] = total;
      j["inputs"] = nlohmann::ordered_json::array();
      for (const auto& t : g->inputs()) j["inputs"].push_back(shape_json(t));
      j["outputs"] = nlohmann::ordered_json::array();
      for (const auto& t : g->outputs()) j["outputs"].push_back(shape_json(t));
      j["candidates"] = nlohmann::ordered_json::array();
      for (const auto& l : *layers) {
        nlohmann::ordered_json c = shape_json(l.info);
        c["tensor"] = l.tensor;
        c.erase("name");
        c["node"] = l.node;
        c["op_type"] = l.op_type;
        c["node_index"] = l.node_index;
        c["head_macs"] = l.head_macs;
        c["head_macs_exact"] = l.head_macs_exact;
        c["single"] = l.single();
        c["cut"] = l.cut;
        c["cut_elements"] = l.cut_elements ? nlohmann::ordered_json(*l.cut_elements) : nlohmann::ordered_json(nullptr);
        c["recommended"] = !recommended.empty() && l.tensor == recommended;
        j["candidates"].push_back(std::move(c));
      }
      std::printf("%s\n", json_text(j).c_str());
      return 0;
    }

    std::printf("%s: %zu nodes, %s MACs\n", printable(a->model).c_str(), g->node_count(), with_commas(total).c_str());
    for (const auto& t : g->inputs())
      std::printf("  input  %s %s\n", printable(t.name).c_str(), printable(t.shape_string()).c_str());
    for (const auto& t : g->outputs())
      std::printf("  output %s %s\n", printable(t.name).c_str(), printable(t.shape_string()).c_str());
    std::size_t w = 6;
    for (const auto& l : *layers) w = std::max(w, printable(l.tensor).size());
    std::printf("\n%4s  %-*s  %-18s %-16s %10s %15s %6s  %s\n", "#", static_cast<int>(w), "tensor", "op", "shape",
                "elements", "head MACs", "%", "cut");
    std::size_t singles = 0;
    for (std::size_t i = 0; i < layers->size(); ++i) {
      const auto& l = (*layers)[i];
      auto n = l.info.element_count();
      double pct = total ? 100.0 * static_cast<double>(l.head_macs) / static_cast<double>(total) : 0.0;
      std::string cut = l.single() ? "single"
                                   : "needs --at " + join(l.cut) +
                                         (l.cut_elements ? " (" + with_commas(*l.cut_elements) + " elements)" : "");
      singles += l.single();
      if (!recommended.empty() && l.tensor == recommended) cut += "  <- recommended (model card)";
      std::printf("%4zu  %-*s  %-18s %-16s %10s %15s%s %5.1f%%  %s\n", i, static_cast<int>(w), printable(l.tensor).c_str(),
                  printable(l.op_type).c_str(), printable(l.info.shape_string()).c_str(), n ? with_commas(*n).c_str() : "?",
                  with_commas(l.head_macs).c_str(), l.head_macs_exact ? " " : "+", pct, printable(cut).c_str());
    }
    std::printf("\n%zu candidates: %zu single-tensor cuts, %zu that carry a skip connection%s\n", layers->size(),
                singles, layers->size() - singles,
                std::any_of(layers->begin(), layers->end(), [](const runtime::Layer& l) { return !l.head_macs_exact; })
                    ? " ('+': symbolic or unknown dims counted as 1 or 0; fix them with --input-shape)"
                    : "");
    return 0;
  }};
}

}  // namespace ftc::cli
