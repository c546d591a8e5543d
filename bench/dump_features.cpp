// Dumps real feature tensors for the coder benchmarks (docs/benchmarks.md §Entropy coders): runs
// the head of an ONNX model split at one tensor over the first N images of a data set and writes
// the cut tensor of all N images as one float32 .npy of shape (N, C, H, W).
//   ftc_dump_features MODEL.onnx TENSOR N OUT.npy [--mean M] [--std S] [--data SPEC]
// Normalization as in the model cards (models/*.json): x = (pixel/255 − mean)/std.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "codec/io/npy.hpp"
#include "runtime/dataset.hpp"
#include "runtime/executor.hpp"
#include "runtime/graph.hpp"

using namespace ftc;
using namespace ftc::runtime;

static int die(const std::string& where, const std::string& msg) {
  std::fprintf(stderr, "ftc_dump_features: %s: %s\n", where.c_str(), msg.c_str());
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: ftc_dump_features MODEL.onnx TENSOR N OUT.npy [--mean M] [--std S] [--data SPEC]\n");
    return 2;
  }
  const std::string model = argv[1], tensor = argv[2], out = argv[4];
  const long n = std::atol(argv[3]);
  double mean = 0.286, stdev = 0.353;
  std::string spec = "fashion-mnist:test";
  for (int i = 5; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--mean")) mean = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--std")) stdev = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--data")) spec = argv[i + 1];
    else return die(argv[i], "unknown option");
  }
  if (n <= 0) return die("N", "must be positive");
  auto graph = Graph::load(model);
  if (!graph.ok()) return die(model, graph.status().to_string());
  const auto inputs = graph->inputs();
  if (inputs.size() != 1) return die(model, "needs exactly one input");
  auto split = graph->split({tensor});
  if (!split.ok()) return die(tensor, split.status().to_string());
  auto head = make_opencv_executor(split->head);
  if (!head.ok()) return die(model, head.status().to_string());
  auto data = open_dataset(spec);
  if (!data.ok()) return die(spec, data.status().to_string());
  if (static_cast<std::size_t>(n) > (*data)->size()) return die(spec, "fewer images than N");
  std::vector<float> all;
  Shape one;
  for (long i = 0; i < n; ++i) {
    auto s = (*data)->get(static_cast<std::size_t>(i));
    if (!s.ok()) return die(spec, s.status().to_string());
    Shape ishape = {1};
    for (auto d : s->image.shape()) ishape.push_back(d);
    auto x = Tensor::zeros(DType::f32, ishape);
    if (!x.ok()) return die("input", x.status().to_string());
    const std::uint8_t* px = s->image.data();
    float* xf = x->data_as<float>();
    for (std::uint64_t k = 0; k < s->image.element_count(); ++k)
      xf[k] = static_cast<float>((static_cast<double>(px[k]) / 255.0 - mean) / stdev);
    auto res = (*head)->run({{inputs[0].name, x->view()}});
    if (!res.ok()) return die(model, res.status().to_string());
    const NamedTensor* cut = nullptr;
    for (const auto& t : *res)
      if (t.name == tensor) cut = &t;
    if (!cut) cut = &res->front();
    if (i == 0) one = cut->tensor.shape();
    else if (cut->tensor.shape() != one) return die(model, "cut shape changed between images");
    const float* f = cut->tensor.data_as<float>();
    all.insert(all.end(), f, f + cut->tensor.element_count());
  }
  Shape shape = {static_cast<std::int64_t>(n)};
  for (std::size_t d = (one.size() >= 1 && one[0] == 1 ? 1 : 0); d < one.size(); ++d) shape.push_back(one[d]);
  auto view = TensorView::contiguous(DType::f32, shape, all.data());
  Status st = io::write_npy_file(out, view);
  if (!st.ok()) return die(out, st.to_string());
  std::printf("%s  [", out.c_str());
  for (std::size_t d = 0; d < shape.size(); ++d) std::printf("%s%lld", d ? ", " : "", static_cast<long long>(shape[d]));
  std::printf("]\n");
  return 0;
}
