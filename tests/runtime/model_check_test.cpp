// runtime/model_check.cpp: attribute ranges and initializer sizes are refused, with the node and
// attribute named, before onnx shape inference or OpenCV sees the model; valid models pass.
#include "runtime/model_check.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "runtime/graph.hpp"

using namespace ftc;
using namespace ftc::runtime;

namespace {

void ints(onnx::NodeProto* n, const char* name, std::vector<std::int64_t> v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (auto x : v) a->add_ints(x);
}
void int1(onnx::NodeProto* n, const char* name, std::int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
void vi(onnx::ValueInfoProto* v, const std::string& name, std::vector<std::int64_t> dims) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) {
    if (d < 0) tt->mutable_shape()->add_dim()->set_dim_param("d");
    else tt->mutable_shape()->add_dim()->set_dim_value(d);
  }
}
onnx::TensorProto* weight(onnx::GraphProto* g, const std::string& name, std::vector<std::int64_t> dims) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  std::int64_t n = 1;
  for (auto d : dims) {
    t->add_dims(d);
    n *= d;
  }
  for (std::int64_t k = 0; k < n; ++k) t->add_float_data(0.5f);
  return t;
}

// x [1,2,8,8] → op (configured by `edit`) → Relu → y; W [4,2,3,3] is the conv weight.
onnx::ModelProto conv_model(const std::string& op, const std::function<void(onnx::GraphProto*, onnx::NodeProto*)>& edit) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  auto* os = m.add_opset_import();
  os->set_domain("");
  os->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("g");
  vi(g->add_input(), "x", {1, 2, 8, 8});
  vi(g->add_output(), "y", {-1, -1, -1, -1});
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name("node1");
  n->add_input("x");
  if (op == "Conv" || op == "ConvTranspose") {
    weight(g, "W", op == "Conv" ? std::vector<std::int64_t>{4, 2, 3, 3} : std::vector<std::int64_t>{2, 4, 3, 3});
    n->add_input("W");
  }
  n->add_output("h");
  auto* r = g->add_node();
  r->set_op_type("Relu");
  r->set_name("relu");
  r->add_input("h");
  r->add_output("y");
  edit(g, n);
  return m;
}

Status check(const onnx::ModelProto& m) { return check_model_values(m, "m.onnx"); }

// Refused, with the message naming the node and containing `what`; Graph::parse refuses too.
void refused(const onnx::ModelProto& m, const std::string& what) {
  Status s = check(m);
  CHECK(s.code() == StatusCode::bad_file);
  CHECK_MESSAGE(s.message().find("node 'node1'") != std::string::npos, s.message());
  CHECK_MESSAGE(s.message().find(what) != std::string::npos, s.message());
  CHECK(s.message().find('\n') == std::string::npos);
  const std::string bytes = m.SerializeAsString();
  auto g = Graph::parse(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), "m.onnx");
  CHECK_FALSE(g.ok());
}

}  // namespace

TEST_CASE("valid convolutions and pools pass") {
  CHECK(check(conv_model("Conv", [](auto*, auto* n) { ints(n, "strides", {2, 2}); ints(n, "pads", {1, 1, 1, 1}); })).ok());
  CHECK(check(conv_model("Conv", [](auto* g, auto* n) {
          g->clear_initializer();
          weight(g, "W", {4, 1, 3, 3});
          int1(n, "group", 2);
        })).ok());
  CHECK(check(conv_model("ConvTranspose", [](auto*, auto* n) { ints(n, "strides", {2, 2}); ints(n, "output_padding", {1, 1}); })).ok());
  CHECK(check(conv_model("MaxPool", [](auto*, auto* n) { ints(n, "kernel_shape", {2, 2}); ints(n, "strides", {2, 2}); })).ok());
  CHECK(check(conv_model("AveragePool", [](auto*, auto* n) {
          ints(n, "kernel_shape", {3, 3});
          ints(n, "pads", {1, 1, 1, 1});
        })).ok());
}

TEST_CASE("convolution attributes out of range are refused, naming the attribute") {
  refused(conv_model("Conv", [](auto*, auto* n) { ints(n, "strides", {1, 0}); }), "strides[1] = 0");
  refused(conv_model("Conv", [](auto*, auto* n) { int1(n, "group", 0); }), "group = 0");
  refused(conv_model("Conv", [](auto*, auto* n) { int1(n, "group", -2); }), "group = -2");
  refused(conv_model("Conv", [](auto*, auto* n) { int1(n, "group", 3); }), "does not divide");
  // group 2 divides the 4 output channels, but the input's 2 channels are not 2 × 2.
  refused(conv_model("Conv", [](auto*, auto* n) { int1(n, "group", 2); }), "channels");
  refused(conv_model("Conv", [](auto*, auto* n) { ints(n, "dilations", {0, 1}); }), "dilations[0] = 0");
  refused(conv_model("Conv", [](auto*, auto* n) { ints(n, "pads", {1, -1, 1, 1}); }), "pads[1] = -1");
  refused(conv_model("Conv", [](auto*, auto* n) { ints(n, "pads", {1, 1}); }), "pads has 2 values");
  refused(conv_model("Conv", [](auto*, auto* n) { ints(n, "kernel_shape", {5, 5}); }), "kernel_shape[0] = 5");
  refused(conv_model("Conv", [](auto*, auto* n) { ints(n, "strides", {1, 1, 1}); }), "strides has 3 values");
  refused(conv_model("Conv", [](auto*, auto* n) { ints(n, "strides", {1, 1 << 20}); }), "strides[1] = 1048576");
  refused(conv_model("ConvTranspose", [](auto*, auto* n) { ints(n, "output_padding", {1, 1}); }), "output_padding[0]");
  refused(conv_model("Conv", [](auto*, auto* n) {
            auto* a = n->add_attribute();
            a->set_name("auto_pad");
            a->set_type(onnx::AttributeProto::STRING);
            a->set_s("SIDEWAYS");
          }),
          "auto_pad 'SIDEWAYS'");
}

TEST_CASE("pooling windows") {
  refused(conv_model("MaxPool", [](auto*, auto*) {}), "kernel_shape is required");
  refused(conv_model("MaxPool", [](auto*, auto* n) { ints(n, "kernel_shape", {0, 2}); }), "kernel_shape[0] = 0");
  refused(conv_model("AveragePool", [](auto*, auto* n) {
            ints(n, "kernel_shape", {2, 2});
            ints(n, "pads", {2, 0, 0, 0});
          }),
          "not smaller than the window");
  refused(conv_model("MaxPool", [](auto*, auto* n) {
            ints(n, "kernel_shape", {2, 2});
            ints(n, "strides", {0, 2});
          }),
          "strides[0] = 0");
  refused(conv_model("MaxPool", [](auto*, auto* n) {
            ints(n, "kernel_shape", {2, 2, 2});
          }),
          "input rank 4, expected 5");
}

TEST_CASE("shapes and axes of other ops") {
  refused(conv_model("Flatten", [](auto*, auto* n) { int1(n, "axis", 5); }), "axis = 5");
  refused(conv_model("Softmax", [](auto*, auto* n) { int1(n, "axis", -5); }), "axis = -5");
  refused(conv_model("Concat", [](auto*, auto* n) { int1(n, "axis", 4); }), "axis = 4");
  refused(conv_model("Concat", [](auto*, auto*) {}), "axis is required");
  refused(conv_model("Transpose", [](auto*, auto* n) { ints(n, "perm", {0, 1, 1, 2}); }), "not a permutation");
  refused(conv_model("Transpose", [](auto*, auto* n) { ints(n, "perm", {0, 1}); }), "perm has 2 values");
  refused(conv_model("DepthToSpace", [](auto*, auto* n) { int1(n, "blocksize", 0); }), "blocksize = 0");
  const auto reshape = [](std::vector<std::int64_t> shape) {
    return conv_model("Reshape", [shape](auto* g, auto* n) {
      auto* t = g->add_initializer();
      t->set_name("shape");
      t->set_data_type(onnx::TensorProto::INT64);
      t->add_dims(static_cast<std::int64_t>(shape.size()));
      for (auto v : shape) t->add_int64_data(v);
      n->add_input("shape");
    });
  };
  CHECK(check(reshape({1, 128, 1, 1})).ok());
  CHECK(check(reshape({1, -1, 2, 2})).ok());
  refused(reshape({-1, -1, 1, 1}), "more than one -1");
  refused(reshape({1, -3, 1, 1}), "shape[1] = -3");
  refused(reshape({1, 100, 1, 1}), "cannot reshape 128 elements");
  const auto gemm = [](std::vector<std::int64_t> b_dims) {
    return conv_model("Gemm", [b_dims](auto* g, auto* n) {
      g->clear_input();
      vi(g->add_input(), "x", {1, 6});
      weight(g, "B", b_dims);
      n->add_input("B");
      g->clear_output();
      vi(g->add_output(), "y", {-1, -1});
    });
  };
  CHECK(check(gemm({6, 3})).ok());
  refused(gemm({5, 3}), "inner dims differ: 6 and 5");
  refused(gemm({6, 3, 1}), "B has rank 3");
}

TEST_CASE("initializers must hold what their dims declare") {
  auto short_raw = conv_model("Conv", [](auto* g, auto*) {
    auto* w = g->mutable_initializer(0);
    w->clear_float_data();
    w->set_raw_data(std::string(4 * 4 * 2 * 3 * 3 - 4, '\0'));
  });
  Status s = check(short_raw);
  CHECK(s.code() == StatusCode::bad_file);
  CHECK_MESSAGE(s.message().find("initializer 'W' declares 72 elements (288 bytes), holds 284 bytes") != std::string::npos,
                s.message());
  auto short_typed = conv_model("Conv", [](auto* g, auto*) { g->mutable_initializer(0)->mutable_float_data()->RemoveLast(); });
  CHECK(check(short_typed).message().find("declares 72 elements, holds 71") != std::string::npos);
  auto huge = conv_model("Conv", [](auto* g, auto*) {
    auto* w = g->mutable_initializer(0);
    w->set_dims(0, std::int64_t{1} << 40);
  });
  CHECK(check(huge).message().find("declares over") != std::string::npos);
  auto negative = conv_model("Conv", [](auto* g, auto*) { g->mutable_initializer(0)->set_dims(1, -2); });
  CHECK(check(negative).message().find("negative dim -2") != std::string::npos);
}

TEST_CASE("declared shapes are bounded") {
  auto m = conv_model("Relu", [](auto* g, auto*) {
    g->clear_input();
    vi(g->add_input(), "x", {1 << 20, 1 << 20, 1 << 10});
  });
  CHECK(check(m).message().find("tensor 'x' has over") != std::string::npos);
  std::vector<std::int64_t> deep(kMaxModelRank + 1, 1);
  auto rank = conv_model("Relu", [&](auto* g, auto*) {
    g->clear_input();
    vi(g->add_input(), "x", deep);
  });
  CHECK(check(rank).message().find("has rank 17") != std::string::npos);
}

TEST_CASE("the shipped models pass") {
  for (const char* f : {"/models/fmnist_resnet.onnx", "/models/fmnist_mobilenetv2.onnx", "/tests/data/onnx/skipnet.onnx",
                        "/tests/data/onnx/dynbatch.onnx", "/tests/data/onnx/compat.onnx"}) {
    auto g = Graph::load(std::string(FTC_SOURCE_DIR) + f);
    CHECK_MESSAGE(g.ok(), f << ": " << g.status().to_string());
  }
}
