// The ONNX model loader without OpenCV: runtime::Graph::parse (protobuf parse, onnx::checker,
// check_model_values — attribute ranges and initializer sizes, then onnx shape inference), the
// graph analysis behind `ftc layers` and `ftc split` (candidates, MACs, a cut at the first
// candidate: both parts must pass onnx::checker). Input: the model file. A model must fail with
// an error status or be analysed; a candidate listed by layers() must split.
#include "fuzz/fuzz_common.hpp"
#include "runtime/graph.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto g = ftc::runtime::Graph::parse(std::span<const std::uint8_t>(data, size), "fuzz.onnx");
  if (!g.ok()) {
    FTC_FUZZ_CHECK(g.status().code() != ftc::StatusCode::ok);
    return 0;
  }
  (void)g->inputs();
  (void)g->outputs();
  (void)g->total_macs();
  auto layers = g->layers();
  if (!layers.ok()) {
    FTC_FUZZ_CHECK(layers.status().code() == ftc::StatusCode::limit_exceeded);
    return 0;
  }
  for (const auto& l : *layers) FTC_FUZZ_CHECK(!l.cut.empty() && l.cut[0] == l.tensor);
  if (!layers->empty()) {
    const auto& first = layers->front();
    auto s = g->split(first.cut);
    // A listed cut separates the inputs from the outputs; the split may still refuse a cut
    // tensor that shape inference left untyped (unsupported_feature).
    if (!s.ok()) FTC_FUZZ_CHECK(s.status().code() == ftc::StatusCode::unsupported_feature);
    else FTC_FUZZ_CHECK(s->info.cut.size() == first.cut.size());
  }
  return 0;
}
