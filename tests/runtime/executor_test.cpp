// runtime/opencv_executor.cpp: running graphs, input checks, import errors naming node and op.
#include "runtime/executor.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "codec/io/npy.hpp"
#include "runtime/graph.hpp"

using namespace ftc;
using namespace ftc::runtime;

namespace {

std::string fixture(const std::string& name) { return std::string(FTC_SOURCE_DIR) + "/tests/data/onnx/" + name; }

// x [2,3] → Relu → y
std::vector<std::uint8_t> relu_model() {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(11);
  auto* g = m.mutable_graph();
  g->set_name("relu");
  for (auto* v : {g->add_input(), g->add_output()}) {
    v->set_name(v == &g->input(0) ? "x" : "y");
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_value(2);
    tt->mutable_shape()->add_dim()->set_dim_value(3);
  }
  auto* n = g->add_node();
  n->set_op_type("Relu");
  n->set_name("relu");
  n->add_input("x");
  n->add_output("y");
  std::string s = m.SerializeAsString();
  return {s.begin(), s.end()};
}

}  // namespace

TEST_CASE("an op OpenCV cannot import: the error names the node and the op") {
  auto e = make_opencv_executor(fixture("unsupported.onnx"));
  REQUIRE_FALSE(e.ok());
  CHECK(e.status().code() == StatusCode::unsupported_feature);
  const std::string& msg = e.status().message();
  CHECK_MESSAGE(msg.find("'mystery_node'") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("op Hardmax") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("unsupported.onnx") != std::string::npos, msg);
}

TEST_CASE("missing and malformed files") {
  CHECK(make_opencv_executor("/nonexistent.onnx").status().code() == StatusCode::io_error);
  std::vector<std::uint8_t> junk(40, 0xff);
  CHECK(make_opencv_executor_from_bytes(junk, "junk").status().code() == StatusCode::bad_file);
}

TEST_CASE("relu: values, any input dtype and strides") {
  auto bytes = relu_model();
  auto e = make_opencv_executor_from_bytes(bytes, "relu");
  REQUIRE_MESSAGE(e.ok(), e.status().to_string());
  Executor& ex = **e;
  CHECK(ex.input_names() == std::vector<std::string>{"x"});
  CHECK(ex.output_names() == std::vector<std::string>{"y"});
  const float x[6] = {-1.5f, 0.0f, 2.0f, 3.25f, -0.1f, 7.0f};
  const std::int64_t shape[2] = {2, 3};
  auto out = ex.run({{"x", TensorView::contiguous(DType::f32, shape, x)}});
  REQUIRE_MESSAGE(out.ok(), out.status().to_string());
  REQUIRE(out->size() == 1);
  CHECK((*out)[0].name == "y");
  CHECK((*out)[0].tensor.shape() == Shape{2, 3});
  const float want[6] = {0, 0, 2, 3.25f, 0, 7};
  for (int i = 0; i < 6; ++i) CHECK((*out)[0].tensor.data_as<float>()[i] == want[i]);

  // The transpose of a 3x2 i32 buffer, by strides.
  const std::int32_t xt[6] = {-1, 4, 2, -5, 3, 6};  // [[-1,4],[2,-5],[3,6]]
  TensorView v;
  v.dtype = DType::i32;
  v.rank = 2;
  v.shape = {2, 3};
  v.strides = {1, 2};
  v.data = xt;
  out = ex.run({{"x", v}});
  REQUIRE(out.ok());
  const float want_t[6] = {0, 2, 3, 4, 0, 6};
  for (int i = 0; i < 6; ++i) CHECK((*out)[0].tensor.data_as<float>()[i] == want_t[i]);

  // Wrong shape, wrong name, wrong count.
  const std::int64_t bad_shape[2] = {3, 2};
  CHECK(ex.run({{"x", TensorView::contiguous(DType::f32, bad_shape, x)}}).status().code() == StatusCode::invalid_argument);
  CHECK(ex.run({{"z", TensorView::contiguous(DType::f32, shape, x)}}).status().code() == StatusCode::invalid_argument);
  CHECK(ex.run({}).status().code() == StatusCode::invalid_argument);
}

TEST_CASE("skipnet and a dynamic batch") {
  auto e = make_opencv_executor(fixture("skipnet.onnx"));
  REQUIRE_MESSAGE(e.ok(), e.status().to_string());
  std::vector<float> x(64, 0.25f);
  const std::int64_t shape[4] = {1, 1, 8, 8};
  auto out = (*e)->run({{"input", TensorView::contiguous(DType::f32, shape, x.data())}});
  REQUIRE_MESSAGE(out.ok(), out.status().to_string());
  CHECK((*out)[0].name == "logits");
  CHECK((*out)[0].tensor.shape() == Shape{1, 3});

  auto d = make_opencv_executor(fixture("dynbatch.onnx"));
  REQUIRE_MESSAGE(d.ok(), d.status().to_string());
  std::vector<float> xb(3 * 64);
  for (std::size_t i = 0; i < xb.size(); ++i) xb[i] = static_cast<float>(i % 7) / 7.0f - 0.5f;
  const std::int64_t bshape[4] = {3, 1, 8, 8};
  auto ob = (*d)->run({{"x", TensorView::contiguous(DType::f32, bshape, xb.data())}});
  REQUIRE_MESSAGE(ob.ok(), ob.status().to_string());
  CHECK((*ob)[0].tensor.shape() == Shape{3, 5});
  // Each batch row equals running that image alone.
  const std::int64_t one[4] = {1, 1, 8, 8};
  for (int b = 0; b < 3; ++b) {
    auto o1 = (*d)->run({{"x", TensorView::contiguous(DType::f32, one, xb.data() + 64 * b)}});
    REQUIRE(o1.ok());
    for (int k = 0; k < 5; ++k)
      CHECK((*o1)[0].tensor.data_as<float>()[k] == doctest::Approx((*ob)[0].tensor.data_as<float>()[5 * b + k]).epsilon(1e-5));
  }
}

TEST_CASE("PyTorch constructs OpenCV 4.6 rejects as such: Identity of a weight, opset-11 Clip") {
  auto e = make_opencv_executor(fixture("compat.onnx"));
  REQUIRE_MESSAGE(e.ok(), e.status().to_string());
  auto x = io::read_npy_file(fixture("compat_x.npy"));
  auto y = io::read_npy_file(fixture("compat_y.npy"));
  REQUIRE(x.ok());
  REQUIRE(y.ok());
  auto out = (*e)->run({{"x", x->view()}});
  REQUIRE_MESSAGE(out.ok(), out.status().to_string());
  REQUIRE((*out)[0].tensor.shape() == y->shape());
  for (std::uint64_t i = 0; i < y->element_count(); ++i)
    CHECK((*out)[0].tensor.data_as<float>()[i] == doctest::Approx(y->data_as<float>()[i]).epsilon(1e-5));

  // Every cut of it composes, the Constant/Identity nodes being copied to the side that needs them.
  auto g = Graph::load(fixture("compat.onnx"));
  REQUIRE(g.ok());
  auto ls = g->layers();
  REQUIRE(ls.ok());
  CHECK(ls->size() == 3);  // c1_out, relu6, c2_out
  for (const auto& l : *ls) {
    CAPTURE(l.tensor);
    auto s = g->split({l.tensor});
    REQUIRE(s.ok());
    CHECK(s->info.cut.size() == 1);
    auto rep = check_composition(*g, *s);
    REQUIRE_MESSAGE(rep.ok(), rep.status().to_string());
    CHECK(rep->passed);
  }
}
