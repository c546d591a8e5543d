// runtime/graph.cpp: candidate listing, MACs, splitting, composition check.
#include "runtime/graph.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

namespace fs = std::filesystem;
using namespace ftc;
using namespace ftc::runtime;

namespace {

std::string fixture(const std::string& name) { return std::string(FTC_SOURCE_DIR) + "/tests/data/onnx/" + name; }

Graph load(const std::string& path) {
  auto g = Graph::load(path);
  REQUIRE_MESSAGE(g.ok(), g.status().to_string());
  return std::move(g).value();
}

const Layer* find(const std::vector<Layer>& ls, const std::string& t) {
  for (const auto& l : ls)
    if (l.tensor == t) return &l;
  return nullptr;
}

void check_split(const Graph& g, const std::vector<std::string>& at) {
  auto s = g.split(at);
  REQUIRE_MESSAGE(s.ok(), s.status().to_string());
  auto rep = check_composition(g, *s, 7);
  REQUIRE_MESSAGE(rep.ok(), rep.status().to_string());
  CHECK_MESSAGE(rep->passed, rep->to_string());
  CHECK(rep->rel_error <= 1e-4);
}

// x [1,4] → Add(x, c) → Relu → Mul(·, c) → y, with c a Constant node both sides need.
std::vector<std::uint8_t> constant_model(std::vector<float> c_values = {0.5f, -1.0f, 2.0f, 0.25f}) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(11);
  auto* g = m.mutable_graph();
  g->set_name("const");
  auto vi = [](onnx::ValueInfoProto* v, const char* name) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_value(1);
    tt->mutable_shape()->add_dim()->set_dim_value(4);
  };
  vi(g->add_input(), "x");
  vi(g->add_output(), "y");
  auto* c = g->add_node();
  c->set_op_type("Constant");
  c->set_name("const");
  c->add_output("c");
  auto* a = c->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  auto* t = a->mutable_t();
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(1);
  t->add_dims(4);
  for (float v : c_values) t->add_float_data(v);
  auto node = [&](const char* type, const char* name, std::vector<const char*> ins, const char* out) {
    auto* n = g->add_node();
    n->set_op_type(type);
    n->set_name(name);
    for (auto* i : ins) n->add_input(i);
    n->add_output(out);
  };
  node("Add", "add", {"x", "c"}, "s");
  node("Relu", "relu", {"s"}, "r");
  node("Mul", "mul", {"r", "c"}, "y");
  std::string bytes = m.SerializeAsString();
  return {bytes.begin(), bytes.end()};
}

}  // namespace

TEST_CASE("skipnet: candidates, shapes and MACs") {
  Graph g = load(fixture("skipnet.onnx"));
  CHECK(g.node_count() == 12);
  auto ls = g.layers();
  REQUIRE(ls.ok());
  std::vector<std::string> names;
  for (const auto& l : *ls) names.push_back(l.tensor);
  CHECK(names == std::vector<std::string>{"stem", "stem_relu", "block_c1", "block_r1", "block_c2", "block_add",
                                          "block_out", "down", "down_relu", "pool", "flat"});
  // Inside the residual block a cut also carries the skip.
  for (const char* t : {"block_c1", "block_r1", "block_c2"}) {
    const Layer* l = find(*ls, t);
    REQUIRE(l);
    CHECK_FALSE(l->single());
    CHECK(l->cut == std::vector<std::string>{t, "stem_relu"});
    CHECK(l->cut_elements == 512u);
  }
  for (const char* t : {"stem", "stem_relu", "block_add", "block_out", "down", "flat"}) CHECK(find(*ls, t)->single());
  const Layer* out = find(*ls, "block_out");
  CHECK(out->op_type == "Relu");
  CHECK(out->node == "block_relu2");
  CHECK(out->info.shape_string() == "[1,4,8,8]");
  CHECK(out->info.element_count() == 256u);
  CHECK(out->info.dtype == DType::f32);
  // stem 256·9, two block convs 256·36 each, strided conv 128·36, fc 3·8.
  CHECK(out->head_macs == 2304u + 9216u + 9216u);
  CHECK(out->head_macs_exact);
  CHECK(find(*ls, "stem")->head_macs == 2304u);
  CHECK(find(*ls, "flat")->info.shape_string() == "[1,8]");
  CHECK(g.total_macs() == 2304u + 9216u + 9216u + 4608u + 24u);
}

TEST_CASE("skipnet: split at every candidate composes to the full model") {
  Graph g = load(fixture("skipnet.onnx"));
  auto ls = g.layers();
  REQUIRE(ls.ok());
  for (const auto& l : *ls) {
    CAPTURE(l.tensor);
    check_split(g, {l.tensor});
    check_split(g, l.cut);
  }
}

TEST_CASE("skipnet: a cut inside the residual block adds the skip and says so") {
  Graph g = load(fixture("skipnet.onnx"));
  auto s = g.split({"block_c2"});
  REQUIRE(s.ok());
  CHECK(s->info.cut == std::vector<std::string>{"block_c2", "stem_relu"});
  CHECK(s->info.added == std::vector<std::string>{"stem_relu"});
  CHECK(s->info.head_nodes == 5);
  CHECK(s->info.tail_nodes == 7);
  CHECK(s->info.head_macs + s->info.tail_macs == g.total_macs());
  CHECK(s->head.outputs().size() == 2);
  CHECK(s->tail.inputs().size() == 2);
  CHECK(s->tail.inputs()[0].shape_string() == "[1,4,8,8]");

  // Written files reload and pass the checker; weights go only where they are used.
  auto dir = fs::temp_directory_path() / ("ftc_graph_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  REQUIRE(s->head.save((dir / "h.onnx").string()).ok());
  REQUIRE(s->tail.save((dir / "t.onnx").string()).ok());
  Graph h = load((dir / "h.onnx").string()), t = load((dir / "t.onnx").string());
  CHECK(h.node_count() == 5);
  CHECK(t.node_count() == 7);
  CHECK(fs::file_size(dir / "h.onnx") + fs::file_size(dir / "t.onnx") < fs::file_size(fixture("skipnet.onnx")) + 1024);
  auto full = make_opencv_executor(fixture("skipnet.onnx"));
  auto he = make_opencv_executor((dir / "h.onnx").string());
  auto te = make_opencv_executor((dir / "t.onnx").string());
  REQUIRE(full.ok());
  REQUIRE(he.ok());
  REQUIRE(te.ok());
  auto rep = check_composition(**full, **he, **te, g.inputs(), 3);
  REQUIRE(rep.ok());
  CHECK(rep->passed);
  fs::remove_all(dir);
}

TEST_CASE("skipnet: bad cuts fail with the tensor named") {
  Graph g = load(fixture("skipnet.onnx"));
  auto expect = [&](std::vector<std::string> at, const std::string& needle) {
    auto s = g.split(at);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::invalid_argument);
    CHECK_MESSAGE(s.status().message().find(needle) != std::string::npos, s.status().message());
  };
  expect({"nope"}, "no tensor named 'nope'");
  expect({"input"}, "graph input");
  expect({"logits"}, "graph output");
  expect({"stem.w"}, "initializer");
  expect({"block_r1", "block_c2"}, "'block_r1' is not used after the cut");
  expect({}, "no split tensor");
}

TEST_CASE("dynamic batch: symbolic dims, --input-shape, split") {
  Graph g = load(fixture("dynbatch.onnx"));
  REQUIRE(g.inputs().size() == 1);
  CHECK(g.inputs()[0].shape_string() == "[N,1,8,8]");
  auto ls = g.layers();
  REQUIRE(ls.ok());
  REQUIRE(find(*ls, "r1"));
  CHECK_FALSE(find(*ls, "r1")->info.element_count().has_value());
  REQUIRE(find(*ls, "mm"));  // the MatMul output feeds the bias Add
  CHECK(find(*ls, "mm")->head_macs == (3456u + 1728u + 320u) / 2);  // per unit of N
  CHECK_FALSE(find(*ls, "mm")->head_macs_exact);
  check_split(g, {"r2"});  // symbolic batch: the check runs batch 1

  CHECK_FALSE(g.set_input_shapes("1,1,8").ok());             // rank
  CHECK_FALSE(g.set_input_shapes("2,3,8,8").ok());           // dim 1 is fixed at 1
  CHECK_FALSE(g.set_input_shapes("y:2,1,8,8").ok());         // no such input
  CHECK_FALSE(g.set_input_shapes("2,1,a,8").ok());
  REQUIRE(g.set_input_shapes("x:2,1,8,8").ok());
  CHECK(g.inputs()[0].shape_string() == "[2,1,8,8]");
  ls = g.layers();
  REQUIRE(ls.ok());
  CHECK(find(*ls, "r1")->info.shape_string() == "[2,3,8,8]");
  CHECK(find(*ls, "flat")->info.shape_string() == "[2,32]");
  // c1: 384·9, c2: 2·2·4·4·27, matmul: 2·5·32
  CHECK(find(*ls, "mm")->head_macs == 3456u + 1728u + 320u);
  CHECK(find(*ls, "mm")->head_macs_exact);
  for (const auto& l : *ls) {
    CAPTURE(l.tensor);
    check_split(g, {l.tensor});
  }
  auto s = g.split({"flat"});
  REQUIRE(s.ok());
  auto rep = check_composition(g, *s);
  REQUIRE(rep.ok());
  CHECK(rep->inputs[0].second == Shape{2, 1, 8, 8});
}

TEST_CASE("constants are copied to both sides, never sent") {
  auto bytes = constant_model();
  auto g = Graph::parse(bytes, "const");
  REQUIRE_MESSAGE(g.ok(), g.status().to_string());
  auto ls = g->layers();
  REQUIRE(ls.ok());
  REQUIRE(ls->size() == 2);  // s, r — not the constant c
  auto s = g->split({"r"});
  REQUIRE(s.ok());
  CHECK(s->info.cut == std::vector<std::string>{"r"});
  CHECK(s->info.head_nodes == 3);
  CHECK(s->tail.node_count() == 2);  // Constant + Mul
  auto rep = check_composition(*g, *s, 5);
  REQUIRE_MESSAGE(rep.ok(), rep.status().to_string());
  CHECK(rep->passed);
}

TEST_CASE("a head and tail that do not compose fail the check with the error") {
  auto g = Graph::parse(constant_model(), "const");
  auto other = Graph::parse(constant_model({0.5f, -1.0f, 2.0f, 0.5f}), "other");
  REQUIRE(g.ok());
  REQUIRE(other.ok());
  auto s = other->split({"r"});
  REQUIRE(s.ok());
  auto rep = check_composition(*g, *s, 5);
  REQUIRE(rep.ok());
  CHECK_FALSE(rep->passed);
  CHECK(rep->rel_error > 1e-3);
  CHECK(rep->worst_output == "y");
  CHECK(rep->to_string().find("FAIL") == 0);
  auto same = check_composition(*g, *g->split({"r"}), 5);
  REQUIRE(same.ok());
  CHECK(same->passed);
  CHECK(same->max_abs_error == 0.0);
}

TEST_CASE("not an ONNX model") {
  std::vector<std::uint8_t> junk = {1, 2, 3, 4, 5, 6, 7};
  auto g = Graph::parse(junk, "junk");
  REQUIRE_FALSE(g.ok());
  CHECK(g.status().code() == StatusCode::bad_file);
  auto missing = Graph::load("/nonexistent/model.onnx");
  CHECK(missing.status().code() == StatusCode::io_error);
}

// The reference models (trained by train/train.py) when they exist: split at every candidate.
TEST_CASE("reference models: every candidate splits and composes") {
  int found = 0;
  for (const char* name : {"fmnist_resnet.onnx", "fmnist_mobilenetv2.onnx"}) {
    const std::string path = std::string(FTC_SOURCE_DIR) + "/models/" + name;
    if (!fs::exists(path)) continue;
    ++found;
    CAPTURE(path);
    Graph g = load(path);
    auto ls = g.layers();
    REQUIRE(ls.ok());
    CHECK(ls->size() > 5);
    std::size_t singles = 0;
    for (const auto& l : *ls) {
      CAPTURE(l.tensor);
      singles += l.single();
      check_split(g, {l.tensor});
    }
    CHECK(singles > 3);
  }
  if (!found) MESSAGE("models/fmnist_*.onnx not present: skipped");
}

// ---- candidate listing against its definition, on random DAGs and a long chain ----------------

namespace {

// A model builder over [1,4] f32 tensors: graph inputs, Relu/Add/MatMul nodes, initializers.
struct ModelBuilder {
  onnx::ModelProto m;
  onnx::GraphProto* g;
  ModelBuilder() {
    m.set_ir_version(7);
    auto* op = m.add_opset_import();
    op->set_domain("");
    op->set_version(13);
    g = m.mutable_graph();
    g->set_name("random");
  }
  static void vi(onnx::ValueInfoProto* v, const std::string& name, std::vector<std::int64_t> dims = {1, 4}) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    for (auto d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }
  void input(const std::string& name) { vi(g->add_input(), name); }
  void output(const std::string& name) { vi(g->add_output(), name); }
  void weight(const std::string& name) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(4);
    t->add_dims(4);
    for (int k = 0; k < 16; ++k) t->add_float_data(0.25f);
  }
  void node(const std::string& op, const std::string& name, std::vector<std::string> ins, const std::string& out) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (auto& i : ins) n->add_input(i);
    n->add_output(out);
  }
  Graph parse() const {
    std::string bytes = m.SerializeAsString();
    auto gr = Graph::parse(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), "random");
    REQUIRE_MESSAGE(gr.ok(), gr.status().to_string());
    return std::move(gr).value();
  }
};

// The definition of a candidate (graph.hpp), computed directly with explicit ancestor sets:
// head = anc(i); valid when no node outside the head reads a graph input and no graph output is
// computed (from graph inputs) in the head; the cut is the tensor, then every other tensor a
// non-constant head node produces for a node outside the head, by producer then name; head MACs
// sum over the head (a [1,4]×[4,4] MatMul is 16, a constant [4,4]×[4,4] one 64).
std::vector<Layer> reference_layers(const onnx::GraphProto& g) {
  const int n = g.node_size();
  std::map<std::string, int> producer;
  std::set<std::string> inputs, outputs;
  for (const auto& v : g.input()) inputs.insert(v.name());
  for (const auto& v : g.output()) outputs.insert(v.name());
  std::vector<std::set<int>> anc(static_cast<std::size_t>(n));
  std::vector<bool> is_const(static_cast<std::size_t>(n), true);
  for (int i = 0; i < n; ++i) {
    anc[static_cast<std::size_t>(i)].insert(i);
    for (const auto& in : g.node(i).input()) {
      if (inputs.count(in)) is_const[static_cast<std::size_t>(i)] = false;
      if (auto p = producer.find(in); p != producer.end()) {
        anc[static_cast<std::size_t>(i)].insert(anc[static_cast<std::size_t>(p->second)].begin(), anc[static_cast<std::size_t>(p->second)].end());
        if (!is_const[static_cast<std::size_t>(p->second)]) is_const[static_cast<std::size_t>(i)] = false;
      }
    }
    producer[g.node(i).output(0)] = i;
  }
  std::map<std::string, int> consumers;
  for (int i = 0; i < n; ++i)
    for (const auto& in : g.node(i).input()) ++consumers[in];
  std::vector<Layer> out;
  for (int i = 0; i < n; ++i) {
    const auto& t = g.node(i).output(0);
    if (is_const[static_cast<std::size_t>(i)] || outputs.count(t) || !consumers.count(t)) continue;
    const auto& head = anc[static_cast<std::size_t>(i)];
    bool valid = true;
    std::set<std::pair<int, std::string>> crossing;
    for (int j = 0; j < n; ++j) {
      if (head.count(j)) continue;
      for (const auto& in : g.node(j).input()) {
        if (inputs.count(in)) valid = false;
        auto p = producer.find(in);
        if (p != producer.end() && head.count(p->second) && !is_const[static_cast<std::size_t>(p->second)])
          crossing.emplace(p->second, in);
      }
    }
    for (const auto& o : outputs)
      if (auto p = producer.find(o); p != producer.end() && head.count(p->second) && !is_const[static_cast<std::size_t>(p->second)])
        valid = false;
    if (!valid) continue;
    Layer l;
    l.tensor = t;
    l.node_index = static_cast<std::size_t>(i);
    for (int j : head)
      if (g.node(j).op_type() == "MatMul") l.head_macs += is_const[static_cast<std::size_t>(j)] ? 64 : 16;
    l.cut.push_back(t);
    for (const auto& [p, name] : crossing)
      if (name != t) l.cut.push_back(name);
    out.push_back(l);
  }
  return out;
}

}  // namespace

TEST_CASE("layers: random DAGs list the candidates their definition gives") {
  std::mt19937 rng(12345);
  std::size_t multi_tensor_cuts = 0, refused_candidates = 0;
  for (int round = 0; round < 60; ++round) {
    ModelBuilder b;
    b.input("x");
    const bool second_input = round % 3 == 0;
    if (second_input) b.input("x2");
    b.weight("W");
    const int n = 4 + static_cast<int>(rng() % 40);
    std::vector<std::string> live = {"x"};  // non-constant tensors so far
    std::vector<std::string> consts = {"W"};
    for (int k = 0; k < n; ++k) {
      const std::string out = "t" + std::to_string(k);
      const auto pick = [&]() -> std::string {
        // Mostly the latest tensor (long chains), sometimes any earlier one (skips, branches).
        return rng() % 3 ? live.back() : live[rng() % live.size()];
      };
      const unsigned kind = rng() % 10;
      if (kind == 0) {
        // A constant subgraph: MatMul of weights (MACs outside any input's reach).
        b.node("MatMul", "n" + std::to_string(k), {consts[rng() % consts.size()], "W"}, out);
        consts.push_back(out);
        continue;
      }
      if (kind <= 3) b.node("Relu", "n" + std::to_string(k), {pick()}, out);
      else if (kind <= 6) b.node("Add", "n" + std::to_string(k), {pick(), pick()}, out);
      else b.node("MatMul", "n" + std::to_string(k), {pick(), consts[rng() % consts.size()]}, out);
      live.push_back(out);
      if (second_input && k == n / 2) {
        b.node("Add", "m" + std::to_string(k), {live.back(), "x2"}, out + "_x2");
        live.push_back(out + "_x2");
      }
    }
    // y is an output; sometimes an earlier tensor too (no candidate may compute it in the head).
    b.node("Relu", "last", {live.back()}, "y");
    b.output("y");
    if (round % 4 == 1 && live.size() > 3) b.output(live[live.size() / 2]);
    Graph g = b.parse();
    auto got = g.layers();
    REQUIRE_MESSAGE(got.ok(), got.status().to_string());
    const auto want = reference_layers(b.m.graph());
    INFO("round " << round << ", " << n << " nodes");
    REQUIRE(got->size() == want.size());
    refused_candidates += static_cast<std::size_t>(n) + 1 - want.size();
    for (std::size_t k = 0; k < want.size(); ++k) {
      multi_tensor_cuts += want[k].cut.size() > 1;
      CHECK((*got)[k].tensor == want[k].tensor);
      CHECK((*got)[k].cut == want[k].cut);
      CHECK((*got)[k].head_macs == want[k].head_macs);
    }
  }
  // The rounds cover skips (multi-tensor cuts) and candidates the definition refuses.
  CHECK(multi_tensor_cuts > 20);
  CHECK(refused_candidates > 20);
}

TEST_CASE("layers: a 50,000-node chain is listed (near-linear analysis)") {
  constexpr int kNodes = 50000;
  ModelBuilder b;
  b.input("x");
  for (int k = 0; k < kNodes; ++k)
    b.node("Relu", "n" + std::to_string(k), {k == 0 ? std::string("x") : "t" + std::to_string(k - 1)},
           k == kNodes - 1 ? std::string("y") : "t" + std::to_string(k));
  b.output("y");
  Graph g = b.parse();
  auto ls = g.layers();
  REQUIRE(ls.ok());
  REQUIRE(ls->size() == kNodes - 1);
  CHECK(std::all_of(ls->begin(), ls->end(), [](const Layer& l) { return l.single(); }));
  CHECK((*ls)[12345].tensor == "t12345");
  CHECK((*ls)[12345].node_index == 12345u);
  auto s = g.split({"t24999"});
  REQUIRE(s.ok());
  CHECK(s->info.head_nodes == 25000u);
  CHECK(s->info.tail_nodes == 25000u);
}
