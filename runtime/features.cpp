// extract_features (runtime/features.hpp).
#include "runtime/features.hpp"

#include <cstring>
#include <filesystem>

#include "runtime/dataset.hpp"
#include "runtime/eval.hpp"
#include "runtime/executor.hpp"
#include "runtime/graph.hpp"

namespace ftc::runtime {
namespace {

}  // namespace

Result<Features> extract_features(const FeatureOptions& o) {
  ModelCard card;
  const std::string card_path = model_card_path(o.model);
  if (std::filesystem::exists(card_path)) {
    auto c = read_model_card(card_path);
    if (!c.ok()) return located_in(card_path, c.status());
    card = std::move(c).value();
  } else if (o.mean.empty() || o.std.empty()) {
    return Status{StatusCode::invalid_argument,
                  o.model + ": no model card " + card_path + " beside it: give the normalization's mean and std"};
  }
  Normalization norm = card.normalization;
  if (!o.mean.empty()) norm.mean = o.mean;
  if (!o.std.empty()) norm.std = o.std;
  for (double s : norm.std)
    if (s == 0) return Status{StatusCode::invalid_argument, o.model + ": the normalization's std must be non-zero"};
  Features f;
  f.at = o.at.empty() ? card.recommended_split : o.at;
  if (f.at.empty())
    return Status{StatusCode::invalid_argument, o.model + ": no tensor given and no recommended_split in the model card"};

  auto graph = Graph::load(o.model);
  if (!graph.ok()) return graph.status();
  const auto inputs = graph->inputs();
  if (inputs.size() != 1)
    return Status{StatusCode::invalid_argument, o.model + ": features need a model with one input, it has " +
                                                    std::to_string(inputs.size())};
  auto split = graph->split({f.at});
  if (!split.ok()) return split.status();
  if (split->info.cut.size() != 1)
    return Status{StatusCode::invalid_argument, f.at + ": a cut here also carries " +
                                                    std::to_string(split->info.cut.size() - 1) +
                                                    " other tensor(s) (a skip connection); pick a single-tensor cut (ftc layers)"};
  auto head = make_opencv_executor(split->head);
  if (!head.ok()) return head.status();
  auto data = open_dataset(o.data);
  if (!data.ok()) return located_in(o.data, data.status());
  const std::size_t n = o.images ? o.images : (*data)->size();
  if (n == 0 || n > (*data)->size())
    return Status{StatusCode::invalid_argument, o.data + ": holds " + std::to_string((*data)->size()) +
                                                    " images, asked for " + std::to_string(n)};

  std::vector<float> all;
  Shape one;
  for (std::size_t i = 0; i < n; ++i) {
    auto s = (*data)->get(i);
    if (!s.ok()) return located_in(o.data, s.status());
    auto x = preprocess(s->image, norm, card.input_shape);
    if (!x.ok()) return located_in(o.model, x.status());
    auto res = (*head)->run({{inputs[0].name, x->view()}});
    if (!res.ok()) return res.status();
    const NamedTensor* cut = nullptr;
    for (const auto& t : *res)
      if (t.name == f.at) cut = &t;
    if (!cut || cut->tensor.dtype() != DType::f32)
      return Status{StatusCode::internal, f.at + ": the head did not output it as float32"};
    if (i == 0) {
      one = cut->tensor.shape();
      all.reserve(n * cut->tensor.element_count());
    } else if (cut->tensor.shape() != one) {
      return Status{StatusCode::invalid_argument, f.at + ": its shape changes between images"};
    }
    const float* p = cut->tensor.data_as<float>();
    all.insert(all.end(), p, p + cut->tensor.element_count());
    f.labels.push_back(s->label);
  }
  // (1, C, H, W) per image → (N, C, H, W); a cut without a leading 1 gets one more axis.
  Shape shape = {static_cast<std::int64_t>(n)};
  for (std::size_t d = (!one.empty() && one[0] == 1 ? 1 : 0); d < one.size(); ++d) shape.push_back(one[d]);
  auto t = Tensor::zeros(DType::f32, shape);
  if (!t.ok()) return t.status();
  std::memcpy(t->data(), all.data(), all.size() * sizeof(float));
  f.tensor = std::move(t).value();
  return f;
}

}  // namespace ftc::runtime
