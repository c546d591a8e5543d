// ONNX graph surgery (runtime/graph.hpp). libonnx 1.12: onnx::ModelProto, shape inference, checker.
#include "runtime/graph.hpp"

#include "runtime/model_check.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include "codec/io/output_file.hpp"

namespace ftc::runtime {
namespace {

Status bad(const std::string& what, const std::string& why) { return {StatusCode::bad_file, what + ": " + why}; }
Status arg(const std::string& why) { return {StatusCode::invalid_argument, why}; }

std::optional<DType> dtype_of_onnx(int t) {
  switch (t) {
    case onnx::TensorProto::FLOAT: return DType::f32;
    case onnx::TensorProto::DOUBLE: return DType::f64;
    case onnx::TensorProto::FLOAT16: return DType::f16;
    case onnx::TensorProto::BFLOAT16: return DType::bf16;
    case onnx::TensorProto::INT8: return DType::i8;
    case onnx::TensorProto::UINT8: return DType::u8;
    case onnx::TensorProto::INT16: return DType::i16;
    case onnx::TensorProto::UINT16: return DType::u16;
    case onnx::TensorProto::INT32: return DType::i32;
    default: return std::nullopt;
  }
}

TensorShapeInfo info_of(const onnx::ValueInfoProto& vi) {
  TensorShapeInfo out;
  out.name = vi.name();
  if (!vi.has_type() || !vi.type().has_tensor_type()) return out;
  const auto& tt = vi.type().tensor_type();
  out.onnx_elem_type = tt.elem_type();
  out.dtype = dtype_of_onnx(tt.elem_type());
  if (!tt.has_shape()) return out;
  Shape s;
  for (const auto& d : tt.shape().dim()) {
    if (d.has_dim_value() && d.dim_value() >= 0) {
      s.push_back(d.dim_value());
      out.dim_names.emplace_back();
    } else {
      s.push_back(-1);
      out.dim_names.push_back(d.has_dim_param() ? d.dim_param() : std::string());
    }
  }
  out.shape = std::move(s);
  return out;
}

TensorShapeInfo info_of(const onnx::TensorProto& t) {
  TensorShapeInfo out;
  out.name = t.name();
  out.onnx_elem_type = t.data_type();
  out.dtype = dtype_of_onnx(t.data_type());
  out.shape = Shape(t.dims().begin(), t.dims().end());
  out.dim_names.assign(t.dims_size(), "");
  return out;
}

// Names a subgraph (If/Loop/Scan body) reads from enclosing scopes.
void outer_refs(const onnx::GraphProto& g, std::set<std::string>& out) {
  std::unordered_set<std::string> local;
  for (const auto& t : g.initializer()) local.insert(t.name());
  for (const auto& v : g.input()) local.insert(v.name());
  for (const auto& n : g.node()) {
    for (const auto& in : n.input())
      if (!in.empty() && !local.count(in)) out.insert(in);
    for (const auto& a : n.attribute()) {
      std::set<std::string> sub;
      if (a.has_g()) outer_refs(a.g(), sub);
      for (const auto& sg : a.graphs()) outer_refs(sg, sub);
      for (const auto& s : sub)
        if (!local.count(s)) out.insert(s);
    }
    for (const auto& o : n.output()) local.insert(o);
  }
}

struct Bits {
  std::vector<std::uint64_t> w;
  explicit Bits(std::size_t n = 0) : w((n + 63) / 64, 0) {}
  void set(std::size_t i) { w[i / 64] |= std::uint64_t{1} << (i % 64); }
  bool test(std::size_t i) const { return (w[i / 64] >> (i % 64)) & 1u; }
  void merge(const Bits& o) {
    for (std::size_t i = 0; i < w.size(); ++i) w[i] |= o.w[i];
  }
};

std::optional<std::uint64_t> product(const Shape& s) {
  std::uint64_t p = 1;
  for (auto d : s) {
    if (d < 0) return std::nullopt;
    if (d != 0 && p > std::numeric_limits<std::uint64_t>::max() / static_cast<std::uint64_t>(d)) return std::nullopt;
    p *= static_cast<std::uint64_t>(d);
  }
  return p;
}

std::string join(const std::vector<std::string>& v, const char* sep = ",") {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TensorShapeInfo
// ---------------------------------------------------------------------------------------------

std::optional<std::uint64_t> TensorShapeInfo::element_count() const {
  if (!shape) return std::nullopt;
  return product(*shape);
}

std::string TensorShapeInfo::shape_string() const {
  if (!shape) return "[?]";
  std::string s = "[";
  for (std::size_t i = 0; i < shape->size(); ++i) {
    if (i) s += ',';
    if ((*shape)[i] >= 0) s += std::to_string((*shape)[i]);
    else s += (i < dim_names.size() && !dim_names[i].empty()) ? dim_names[i] : "?";
  }
  return s + "]";
}

// ---------------------------------------------------------------------------------------------
// Graph
// ---------------------------------------------------------------------------------------------

struct Analysis {
  // The inferred graph's input, value_info and output lists (nothing else: no nodes, no weights),
  // and each tensor's entry among them. The keys view the names inside `typed`, which is never
  // modified after analyse() fills it, so the views stay valid for the Analysis' lifetime.
  onnx::GraphProto typed;
  std::unordered_map<std::string_view, const onnx::ValueInfoProto*> vinfo;
  std::unordered_map<std::string, TensorShapeInfo> info;
  std::vector<std::vector<std::string>> node_inputs;  // explicit (non-empty) + subgraph refs
  std::unordered_map<std::string, std::size_t> producer;
  std::unordered_map<std::string, std::vector<std::size_t>> consumers;
  std::unordered_set<std::string> initializers, graph_inputs, graph_outputs;
  std::vector<bool> is_const;  // depends on no graph input
  // Producers of each node's inputs that come before it (deduplicated): the edges of the DAG
  // whose transitive closure gives a node's ancestors.
  std::vector<std::vector<std::size_t>> preds;
  std::vector<std::uint64_t> macs;
  std::vector<bool> macs_known;
};

// Adds `node` and all its ancestors to `set`. `expanded` marks the nodes whose ancestors are
// already in `set` (it may be `set` itself when `set` only ever grows by this function); each
// node is expanded once, so a series of calls sharing `expanded` costs O(nodes + edges) in all.
void add_ancestors(const Analysis& a, std::size_t node, Bits& set, Bits& expanded) {
  if (expanded.test(node)) return;
  std::vector<std::size_t> stack{node};
  expanded.set(node);
  while (!stack.empty()) {
    const std::size_t j = stack.back();
    stack.pop_back();
    set.set(j);
    for (std::size_t p : a.preds[j])
      if (!expanded.test(p)) {
        expanded.set(p);
        stack.push_back(p);
      }
  }
}

struct Graph::Impl {
  // The model lives on an arena: protobuf then allocates its tens of thousands of small messages
  // and strings densely, without a malloc header each, and frees them at once.
  google::protobuf::Arena arena;
  onnx::ModelProto& model = *google::protobuf::Arena::CreateMessage<onnx::ModelProto>(&arena);
  std::string name;
  mutable std::unique_ptr<Analysis> an;
  // The typed value lists check_model_values inferred for `model` as it is now (set by parse and
  // set_input_shape, taken by analyse); empty for a split's parts, which analyse infers itself.
  mutable std::unique_ptr<onnx::GraphProto> checked_types;

  const Analysis& analysis() const {
    if (!an) an = analyse();
    return *an;
  }
  std::unique_ptr<Analysis> analyse() const;

  struct Cut {
    Bits head, tail;
    std::vector<std::string> crossing;          // topological order
    std::vector<std::string> tail_graph_inputs;  // graph inputs the tail would need
    std::vector<std::string> head_graph_outputs; // graph outputs computed in the head
  };
  Cut cut_from(const Bits& head) const;
  onnx::ModelProto make_part(const Bits& nodes, const std::vector<std::string>& new_inputs,
                             const std::vector<std::string>& new_outputs, const char* role,
                             const std::vector<std::string>& cut) const;
};

std::unique_ptr<Analysis> Graph::Impl::analyse() const {
  auto a = std::make_unique<Analysis>();
  const auto& g = model.graph();
  const std::size_t n = static_cast<std::size_t>(g.node_size());

  // Types and shapes: declared, then inferred (once: by the value check when it ran).
  if (checked_types) {
    a->typed.Swap(checked_types.get());
    checked_types.reset();
  } else {
    infer_typed_lists(model, a->typed);  // a split's part, made from a checked model
  }
  const std::size_t typed_count = static_cast<std::size_t>(a->typed.input_size() + a->typed.value_info_size() +
                                                           a->typed.output_size());
  a->vinfo.reserve(typed_count);
  a->info.reserve(typed_count + static_cast<std::size_t>(g.initializer_size()));
  for (const auto* list : {&a->typed.input(), &a->typed.value_info(), &a->typed.output()})
    for (const auto& vi : *list) {
      a->vinfo[vi.name()] = &vi;  // a later list (value_info, output) overrides an earlier one
      a->info[vi.name()] = info_of(vi);
    }
  for (const auto& t : g.initializer()) {
    a->initializers.insert(t.name());
    a->info[t.name()] = info_of(t);
  }
  for (const auto& v : g.input())
    if (!a->initializers.count(v.name())) a->graph_inputs.insert(v.name());
  for (const auto& v : g.output()) a->graph_outputs.insert(v.name());

  a->node_inputs.resize(n);
  a->is_const.assign(n, true);
  a->preds.resize(n);
  a->macs.assign(n, 0);
  a->macs_known.assign(n, true);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& node = g.node(static_cast<int>(i));
    auto& ins = a->node_inputs[i];
    for (const auto& in : node.input())
      if (!in.empty()) ins.push_back(in);
    std::set<std::string> refs;
    for (const auto& at : node.attribute()) {
      if (at.has_g()) outer_refs(at.g(), refs);
      for (const auto& sg : at.graphs()) outer_refs(sg, refs);
    }
    for (const auto& r : refs)
      if (std::find(ins.begin(), ins.end(), r) == ins.end()) ins.push_back(r);
    for (const auto& in : ins) {
      a->consumers[in].push_back(i);
      if (auto p = a->producer.find(in); p != a->producer.end()) {
        a->preds[i].push_back(p->second);
        if (!a->is_const[p->second]) a->is_const[i] = false;
      } else if (!a->initializers.count(in)) {
        a->is_const[i] = false;  // a graph input (or an undefined name)
      }
    }
    std::sort(a->preds[i].begin(), a->preds[i].end());
    a->preds[i].erase(std::unique(a->preds[i].begin(), a->preds[i].end()), a->preds[i].end());
    for (const auto& o : node.output())
      if (!o.empty()) a->producer.emplace(o, i);

    // MACs
    auto shape_of = [&](int k, bool output) -> std::optional<Shape> {
      const auto& list = output ? node.output() : node.input();
      if (k >= list.size() || list.Get(k).empty()) return std::nullopt;
      auto it = a->info.find(list.Get(k));
      if (it == a->info.end() || !it->second.shape) return std::nullopt;
      Shape s = *it->second.shape;
      for (auto& d : s)
        if (d < 0) {
          d = 1;  // a symbolic dim (batch): count MACs per unit of it, flagged inexact
          a->macs_known[i] = false;
        }
      if (!product(s)) return std::nullopt;
      return s;
    };
    const std::string& op = node.op_type();
    if (node.domain().empty() || node.domain() == "ai.onnx") {
      std::optional<std::uint64_t> m;
      if (op == "Conv" || op == "ConvTranspose") {
        auto w = shape_of(1, false);
        auto ref = op == "Conv" ? shape_of(0, true) : shape_of(0, false);
        if (w && ref && w->size() >= 2) m = *product(*ref) * *product(Shape(w->begin() + 1, w->end()));
      } else if (op == "Gemm") {
        auto A = shape_of(0, false);
        auto y = shape_of(0, true);
        bool trans_a = false;
        for (const auto& at : node.attribute())
          if (at.name() == "transA") trans_a = at.i() != 0;
        if (A && y && A->size() == 2) m = *product(*y) * static_cast<std::uint64_t>((*A)[trans_a ? 0 : 1]);
      } else if (op == "MatMul") {
        auto A = shape_of(0, false);
        auto y = shape_of(0, true);
        if (A && y && !A->empty()) m = *product(*y) * static_cast<std::uint64_t>(A->back());
      } else {
        m = 0;
      }
      if (m) a->macs[i] = *m;
      else a->macs_known[i] = false;  // shapes unknown: counted as 0
    }
  }
  return a;
}

Graph::Impl::Cut Graph::Impl::cut_from(const Bits& head) const {
  const Analysis& a = analysis();
  const auto& g = model.graph();
  const std::size_t n = static_cast<std::size_t>(g.node_size());
  Cut c;
  c.head = head;
  c.tail = Bits(n);
  std::set<std::pair<std::size_t, std::string>> crossing;  // (producer, name): topological
  std::set<std::string> tail_inputs;
  Bits copied(n);  // constants of the head whose ancestors are already copied to the tail
  for (std::size_t j = 0; j < n; ++j) {
    if (head.test(j)) continue;
    c.tail.set(j);
    for (const auto& t : a.node_inputs[j]) {
      if (a.graph_inputs.count(t)) {
        tail_inputs.insert(t);
        continue;
      }
      auto p = a.producer.find(t);
      if (p == a.producer.end() || !head.test(p->second)) continue;
      if (a.is_const[p->second]) add_ancestors(a, p->second, c.tail, copied);  // copy constants to the tail
      else crossing.emplace(p->second, t);
    }
  }
  for (const auto& o : g.output()) {
    auto p = a.producer.find(o.name());
    if (p != a.producer.end() && head.test(p->second) && !a.is_const[p->second])
      c.head_graph_outputs.push_back(o.name());
  }
  for (const auto& [p, t] : crossing) c.crossing.push_back(t);
  c.tail_graph_inputs.assign(tail_inputs.begin(), tail_inputs.end());
  return c;
}

onnx::ModelProto Graph::Impl::make_part(const Bits& nodes, const std::vector<std::string>& new_inputs,
                                        const std::vector<std::string>& new_outputs, const char* role,
                                        const std::vector<std::string>& cut) const {
  const Analysis& a = analysis();
  const auto& g = model.graph();
  onnx::ModelProto part;
  part.set_ir_version(model.ir_version());
  *part.mutable_opset_import() = model.opset_import();
  part.set_producer_name("ftc split");
  part.set_producer_version(version_string());
  if (model.has_domain()) part.set_domain(model.domain());
  if (model.has_model_version()) part.set_model_version(model.model_version());
  *part.mutable_metadata_props() = model.metadata_props();
  *part.mutable_functions() = model.functions();
  auto add_meta = [&](const std::string& k, const std::string& v) {
    auto* p = part.add_metadata_props();
    p->set_key(k);
    p->set_value(v);
  };
  add_meta("ftc.split.role", role);
  add_meta("ftc.split.tensors", join(cut));
  add_meta("ftc.split.source_producer", model.producer_name() + " " + model.producer_version());

  auto* pg = part.mutable_graph();
  pg->set_name(g.name() + "_" + role);
  std::unordered_set<std::string> used, produced;
  for (int i = 0; i < g.node_size(); ++i) {
    if (!nodes.test(static_cast<std::size_t>(i))) continue;
    *pg->add_node() = g.node(i);
    for (const auto& t : a.node_inputs[static_cast<std::size_t>(i)]) used.insert(t);
    for (const auto& o : g.node(i).output()) produced.insert(o);
  }
  for (const auto& o : new_outputs) used.insert(o);
  for (const auto& t : g.initializer())
    if (used.count(t.name())) *pg->add_initializer() = t;
  for (const auto& t : g.sparse_initializer())
    if (used.count(t.values().name())) *pg->add_sparse_initializer() = t;
  // Inputs: the original graph inputs this part reads (with any fixed shapes), then the cut.
  for (const auto& v : g.input()) {
    bool init = a.initializers.count(v.name()) != 0;
    if (used.count(v.name()) && (!init || model.ir_version() < 4)) *pg->add_input() = v;
  }
  for (const auto& t : new_inputs) *pg->add_input() = *a.vinfo.at(t);
  for (const auto& t : new_outputs) *pg->add_output() = *a.vinfo.at(t);
  if (new_outputs.empty())
    for (const auto& v : g.output()) *pg->add_output() = v;
  for (const auto& v : g.value_info())
    if (produced.count(v.name())) *pg->add_value_info() = v;
  return part;
}

Graph::Graph() : impl_(std::make_unique<Impl>()) {}
Graph::~Graph() = default;
Graph::Graph(Graph&&) noexcept = default;
Graph& Graph::operator=(Graph&&) noexcept = default;

const std::string& Graph::name() const { return impl_->name; }
std::size_t Graph::node_count() const { return static_cast<std::size_t>(impl_->model.graph().node_size()); }

Result<Graph> Graph::parse(std::span<const std::uint8_t> bytes, const std::string& name) {
  Graph gr;
  gr.impl_->name = name;
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    return bad(name, "larger than 2 GiB (protobuf's limit; external-data models are not supported)");
  if (!gr.impl_->model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return bad(name, "not an ONNX model (protobuf parse failed)");
  if (!gr.impl_->model.has_graph() || gr.impl_->model.graph().node_size() == 0)
    return bad(name, "ONNX model has no graph nodes");
  try {
    onnx::checker::check_model(gr.impl_->model);
  } catch (const std::exception& e) {
    return bad(name, std::string("fails onnx::checker: ") + e.what());
  }
  gr.impl_->checked_types = std::make_unique<onnx::GraphProto>();
  FTC_RETURN_IF_ERROR(check_model_values(gr.impl_->model, name, gr.impl_->checked_types.get()));
  for (const auto& t : gr.impl_->model.graph().initializer())
    if (t.data_location() == onnx::TensorProto::EXTERNAL)
      return Status(StatusCode::unsupported_feature, name + ": initializer '" + t.name() + "' uses external data, which ftc does not support");
  return gr;
}

Result<Graph> Graph::load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status(StatusCode::io_error, path + ": cannot open");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) return Status(StatusCode::io_error, path + ": read failed");
  return parse(bytes, path);
}

std::vector<TensorShapeInfo> Graph::inputs() const {
  std::vector<TensorShapeInfo> out;
  const auto& g = impl_->model.graph();
  std::unordered_set<std::string> inits;
  for (const auto& t : g.initializer()) inits.insert(t.name());
  for (const auto& v : g.input())
    if (!inits.count(v.name())) out.push_back(info_of(v));
  return out;
}

std::vector<TensorShapeInfo> Graph::outputs() const {
  std::vector<TensorShapeInfo> out;
  const Analysis& a = impl_->analysis();
  for (const auto& v : impl_->model.graph().output()) {
    auto it = a.info.find(v.name());
    out.push_back(it != a.info.end() ? it->second : info_of(v));
  }
  return out;
}

Status Graph::set_input_shape(const std::string& input, const Shape& shape) {
  auto* g = impl_->model.mutable_graph();
  for (auto& v : *g->mutable_input()) {
    if (v.name() != input) continue;
    if (!v.type().has_tensor_type()) return arg("input '" + input + "' is not a tensor");
    auto* tt = v.mutable_type()->mutable_tensor_type();
    auto* sh = tt->mutable_shape();
    if (tt->has_shape() && sh->dim_size() != static_cast<int>(shape.size()))
      return arg("input '" + input + "' has rank " + std::to_string(sh->dim_size()) + ", --input-shape gives " +
                 std::to_string(shape.size()) + " dims");
    if (!tt->has_shape())
      for (std::size_t i = 0; i < shape.size(); ++i) sh->add_dim();
    for (std::size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] <= 0) return arg("input '" + input + "': dims must be positive");
      auto* d = sh->mutable_dim(static_cast<int>(i));
      if (d->has_dim_value() && d->dim_value() != shape[i])
        return arg("input '" + input + "' dim " + std::to_string(i) + " is fixed at " +
                   std::to_string(d->dim_value()) + ", --input-shape gives " + std::to_string(shape[i]));
      d->set_dim_value(shape[i]);  // clears dim_param (oneof)
    }
    // The fixed dims reach every inferred shape: check them again (a dim can make a tensor too
    // large) and keep the new types for analyse().
    impl_->an.reset();
    impl_->checked_types = std::make_unique<onnx::GraphProto>();
    return check_model_values(impl_->model, impl_->name, impl_->checked_types.get());
  }
  return arg("the model has no input named '" + input + "'");
}

Status Graph::set_input_shapes(std::string_view spec) {
  auto ins = inputs();
  std::size_t pos = 0;
  while (pos <= spec.size()) {
    std::size_t end = spec.find(';', pos);
    if (end == std::string_view::npos) end = spec.size();
    std::string_view item = spec.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty()) continue;
    std::string name;
    if (auto colon = item.rfind(':'); colon != std::string_view::npos) {
      name = std::string(item.substr(0, colon));
      item = item.substr(colon + 1);
    } else {
      if (ins.size() != 1) return arg("--input-shape: the model has " + std::to_string(ins.size()) + " inputs; write NAME:DIMS");
      name = ins[0].name;
    }
    Shape dims;
    std::size_t p = 0;
    while (p <= item.size()) {
      std::size_t e = item.find_first_of(",x", p);
      if (e == std::string_view::npos) e = item.size();
      std::int64_t v = 0;
      auto tok = item.substr(p, e - p);
      auto r = std::from_chars(tok.data(), tok.data() + tok.size(), v);
      if (tok.empty() || r.ec != std::errc() || r.ptr != tok.data() + tok.size())
        return arg("--input-shape: bad dimension '" + std::string(tok) + "'");
      dims.push_back(v);
      p = e + 1;
    }
    FTC_RETURN_IF_ERROR(set_input_shape(name, dims));
  }
  return Status::Ok();
}

Result<TensorShapeInfo> Graph::tensor_info(const std::string& tensor) const {
  const Analysis& a = impl_->analysis();
  auto it = a.info.find(tensor);
  if (it != a.info.end()) return it->second;
  if (a.producer.count(tensor)) {
    TensorShapeInfo t;
    t.name = tensor;
    return t;
  }
  return arg("no tensor named '" + tensor + "' in " + impl_->name);
}

std::uint64_t Graph::total_macs() const {
  const Analysis& a = impl_->analysis();
  std::uint64_t s = 0;
  for (auto m : a.macs) s += m;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Candidate listing in near-linear time (Graph::layers)
// ---------------------------------------------------------------------------------------------
//
// A candidate at node i cuts at head = anc(i), i's ancestors and i. Writing anc(i) as a bit set
// per node costs n²/8 bytes; instead the non-constant nodes are split into chains, each totally
// ordered by reachability (every node reaches the next one of its chain). Ancestors form a down
// set, so anc(i) meets each chain in a prefix, and anc(i) is fully described by one number per
// chain: reach[i][c] = the last position of chain c that reaches i (−1: none). Greedily, a node
// joins a chain whose every node is already its ancestor, else starts a new one; the number of
// chains W stays near the graph's width (1 for a plain chain, 2 for a ResNet with projection
// shortcuts). Then, per candidate, in O(W + pairs + output):
//  - valid cut: every consumer of a graph input is in anc(i) (per chain: the last such position
//    ≤ reach), no graph output is computed in anc(i) (the first such position > reach);
//  - head MACs: per-chain prefix sums (+ the few constant nodes with MACs, each reached through
//    the first non-constant nodes below it);
//  - crossing tensors: an edge (tensor t, producer at chain c position a → consumer at chain c'
//    position b) crosses iff a ≤ reach[c] and b > reach[c']. Edges are grouped by (c, c'),
//    sorted by a, under a max-b segment tree: a 3-sided query reports exactly the crossing edges.
// Memory is Σ_i W_i reach entries (W_i: chains existing when i is placed), bounded by
// kMaxReachEntries; the total work is bounded by kMaxLayerWork. A graph over either bound is
// refused with limit_exceeded rather than analysed in quadratic time.

namespace {

constexpr std::uint64_t kMaxReachEntries = std::uint64_t{1} << 22;  // 16 MiB of int32
constexpr std::uint64_t kMaxLayerWork = std::uint64_t{1} << 28;

struct ChainEdge {
  std::int32_t a;            // producer position in its chain
  std::int32_t b;            // consumer position in its chain
  std::size_t producer;      // node index
  const std::string* tensor;
};

// Edges from chain c to chain c', sorted by a, with max b over each segment-tree node.
struct EdgeGroup {
  std::int32_t from = 0, to = 0;
  std::vector<ChainEdge> edges;
  std::vector<std::int32_t> max_b;  // segment tree, 1-based, size 2·leaves

  void build() {
    std::sort(edges.begin(), edges.end(), [](const ChainEdge& x, const ChainEdge& y) { return x.a < y.a; });
    std::size_t leaves = 1;
    while (leaves < edges.size()) leaves *= 2;
    max_b.assign(2 * leaves, -1);
    for (std::size_t k = 0; k < edges.size(); ++k) max_b[leaves + k] = edges[k].b;
    for (std::size_t k = leaves - 1; k >= 1; --k) max_b[k] = std::max(max_b[2 * k], max_b[2 * k + 1]);
  }
  // Calls out(edge) for every edge with a ≤ a_max and b > b_min; returns the work done.
  template <class Out>
  std::uint64_t query(std::int32_t a_max, std::int32_t b_min, Out&& out) const {
    const auto end = static_cast<std::size_t>(
        std::upper_bound(edges.begin(), edges.end(), a_max, [](std::int32_t v, const ChainEdge& e) { return v < e.a; }) -
        edges.begin());
    if (end == 0) return 1;
    const std::size_t leaves = max_b.size() / 2;
    std::uint64_t work = 1;
    // Iterative descent over [0, end): (node, node_lo, node_hi).
    struct Frame { std::size_t node, lo, hi; };
    std::vector<Frame> stack{{1, 0, leaves}};
    while (!stack.empty()) {
      auto [node, lo, hi] = stack.back();
      stack.pop_back();
      ++work;
      if (lo >= end || max_b[node] <= b_min) continue;
      if (hi - lo == 1) {
        out(edges[lo]);
        continue;
      }
      const std::size_t mid = (lo + hi) / 2;
      stack.push_back({2 * node + 1, mid, hi});
      stack.push_back({2 * node, lo, mid});
    }
    return work;
  }
};

}  // namespace

Result<std::vector<Layer>> Graph::layers() const {
  const Analysis& a = impl_->analysis();
  const auto& g = impl_->model.graph();
  const std::size_t n = static_cast<std::size_t>(g.node_size());
  const auto too_big = [&](const char* what) {
    return Status(StatusCode::limit_exceeded, impl_->name + ": the graph is too " + what +
                                                  " to list its split candidates (" + std::to_string(n) + " nodes)");
  };

  // Chains and reach rows.
  std::vector<std::int32_t> chain_of(n, -1), pos_of(n, -1);
  std::vector<std::vector<std::size_t>> chains;
  std::vector<std::int32_t> reach;         // row of node i: reach[row_at[i] .. + row_width[i])
  std::vector<std::size_t> row_at(n, 0), row_width(n, 0);
  std::vector<std::int32_t> row;
  std::uint64_t work = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (a.is_const[i]) continue;
    row.assign(chains.size(), -1);
    for (std::size_t p : a.preds[i]) {
      if (a.is_const[p]) continue;
      const std::int32_t* pr = reach.data() + row_at[p];
      for (std::size_t c = 0; c < row_width[p]; ++c) row[c] = std::max(row[c], pr[c]);
      work += row_width[p] + 1;
    }
    std::size_t c = 0;
    while (c < chains.size() && row[c] != static_cast<std::int32_t>(chains[c].size()) - 1) ++c;
    if (c == chains.size()) {
      chains.emplace_back();
      row.push_back(-1);
    }
    chain_of[i] = static_cast<std::int32_t>(c);
    pos_of[i] = static_cast<std::int32_t>(chains[c].size());
    chains[c].push_back(i);
    row[c] = pos_of[i];
    if (reach.size() + row.size() > kMaxReachEntries) return too_big("wide");
    if (work > kMaxLayerWork) return too_big("branched");
    row_at[i] = reach.size();
    row_width[i] = row.size();
    reach.insert(reach.end(), row.begin(), row.end());
  }
  const std::size_t W = chains.size();

  // Per-chain prefix sums of MACs and of inexact counts; input consumers; graph outputs.
  std::vector<std::vector<std::uint64_t>> macs_prefix(W);
  std::vector<std::vector<std::uint32_t>> inexact_prefix(W);
  for (std::size_t c = 0; c < W; ++c) {
    std::uint64_t m = 0;
    std::uint32_t x = 0;
    for (std::size_t j : chains[c]) {
      m += a.macs[j];
      x += a.macs_known[j] ? 0 : 1;
      macs_prefix[c].push_back(m);
      inexact_prefix[c].push_back(x);
    }
  }
  std::vector<std::int32_t> last_input_consumer(W, -1);
  std::vector<std::int32_t> first_output_producer(W, std::numeric_limits<std::int32_t>::max());
  for (const auto& o : g.output()) {
    auto p = a.producer.find(o.name());
    if (p != a.producer.end() && !a.is_const[p->second]) {
      auto& f = first_output_producer[static_cast<std::size_t>(chain_of[p->second])];
      f = std::min(f, pos_of[p->second]);
    }
  }

  // Edges between non-constant nodes, grouped by (producer chain, consumer chain).
  std::unordered_map<std::uint64_t, std::size_t> group_of;
  std::vector<EdgeGroup> groups;
  for (std::size_t q = 0; q < n; ++q) {
    if (a.is_const[q]) continue;
    for (const auto& t : a.node_inputs[q]) {
      if (a.graph_inputs.count(t)) {
        auto& l = last_input_consumer[static_cast<std::size_t>(chain_of[q])];
        l = std::max(l, pos_of[q]);
        continue;
      }
      auto p = a.producer.find(t);
      if (p == a.producer.end() || a.is_const[p->second]) continue;
      const std::size_t pn = p->second;
      const std::uint64_t key = static_cast<std::uint64_t>(chain_of[pn]) << 32 | static_cast<std::uint32_t>(chain_of[q]);
      auto [it, fresh] = group_of.emplace(key, groups.size());
      if (fresh) {
        groups.emplace_back();
        groups.back().from = chain_of[pn];
        groups.back().to = chain_of[q];
      }
      groups[it->second].edges.push_back({pos_of[pn], pos_of[q], pn, &t});
    }
  }
  for (auto& gr : groups) gr.build();

  // Constant nodes with MACs (or unknown MACs): in anc(i) iff one of the first non-constant
  // nodes they reach is, i.e. iff some (chain, position) of theirs is ≤ reach.
  struct ConstMacs {
    std::uint64_t macs;
    bool exact;
    std::vector<std::pair<std::int32_t, std::int32_t>> entry;  // (chain, first position)
  };
  std::vector<ConstMacs> const_macs;
  for (std::size_t k = 0; k < n; ++k) {
    if (!a.is_const[k] || (a.macs[k] == 0 && a.macs_known[k])) continue;
    ConstMacs cm{a.macs[k], a.macs_known[k], {}};
    std::unordered_set<std::size_t> seen{k};
    std::vector<std::size_t> stack{k};
    while (!stack.empty()) {
      const std::size_t j = stack.back();
      stack.pop_back();
      for (const auto& o : g.node(static_cast<int>(j)).output()) {
        auto cs = a.consumers.find(o);
        if (cs == a.consumers.end()) continue;
        for (std::size_t q : cs->second) {
          if (q <= j || !seen.insert(q).second) continue;
          if (++work > kMaxLayerWork) return too_big("branched");
          if (a.is_const[q]) {
            stack.push_back(q);
            continue;
          }
          auto e = std::find_if(cm.entry.begin(), cm.entry.end(), [&](const auto& x) { return x.first == chain_of[q]; });
          if (e == cm.entry.end()) cm.entry.emplace_back(chain_of[q], pos_of[q]);
          else e->second = std::min(e->second, pos_of[q]);
        }
      }
    }
    if (!cm.entry.empty()) const_macs.push_back(std::move(cm));
  }

  std::vector<Layer> out;
  // Most non-constant nodes give one candidate: reserving avoids moving every Layer as it grows.
  out.reserve(static_cast<std::size_t>(std::count(a.is_const.begin(), a.is_const.end(), false)));
  std::vector<std::int32_t> r(W);
  std::vector<std::pair<std::size_t, const std::string*>> crossing;
  for (std::size_t i = 0; i < n; ++i) {
    if (a.is_const[i]) continue;
    const auto& node = g.node(static_cast<int>(i));
    bool any = false;
    for (const auto& t : node.output())
      any = any || (!t.empty() && !a.graph_outputs.count(t) && a.consumers.count(t));
    if (!any) continue;
    std::fill(r.begin(), r.end(), -1);
    std::copy_n(reach.begin() + static_cast<std::ptrdiff_t>(row_at[i]), row_width[i], r.begin());
    work += W + groups.size() + 1;
    bool valid = true;
    for (std::size_t c = 0; c < W && valid; ++c)
      valid = r[c] >= last_input_consumer[c] && r[c] < first_output_producer[c];
    if (!valid) continue;
    std::uint64_t head_macs = 0;
    bool exact = true;
    for (std::size_t c = 0; c < W; ++c)
      if (r[c] >= 0) {
        head_macs += macs_prefix[c][static_cast<std::size_t>(r[c])];
        exact = exact && inexact_prefix[c][static_cast<std::size_t>(r[c])] == 0;
      }
    for (const auto& cm : const_macs) {
      work += cm.entry.size();
      if (std::any_of(cm.entry.begin(), cm.entry.end(),
                      [&](const auto& e) { return r[static_cast<std::size_t>(e.first)] >= e.second; })) {
        head_macs += cm.macs;
        exact = exact && cm.exact;
      }
    }
    crossing.clear();
    for (const auto& gr : groups) {
      const std::int32_t a_max = r[static_cast<std::size_t>(gr.from)];
      if (a_max < 0) continue;
      work += gr.query(a_max, r[static_cast<std::size_t>(gr.to)],
                       [&](const ChainEdge& e) { crossing.emplace_back(e.producer, e.tensor); });
    }
    work += crossing.size();
    if (work > kMaxLayerWork) return too_big("branched");
    // Topological order: by producer, then by name (as std::set<pair<node, name>> orders them).
    std::sort(crossing.begin(), crossing.end(),
              [](const auto& x, const auto& y) { return x.first != y.first ? x.first < y.first : *x.second < *y.second; });
    crossing.erase(std::unique(crossing.begin(), crossing.end(),
                               [](const auto& x, const auto& y) { return x.first == y.first && *x.second == *y.second; }),
                   crossing.end());
    for (const auto& t : node.output()) {
      if (t.empty() || a.graph_outputs.count(t) || !a.consumers.count(t)) continue;
      Layer l;
      l.tensor = t;
      l.node = node.name();
      l.op_type = node.op_type();
      l.node_index = i;
      auto it = a.info.find(t);
      if (it != a.info.end()) l.info = it->second;
      else l.info.name = t;
      l.head_macs = head_macs;
      l.head_macs_exact = exact;
      l.cut.push_back(t);
      for (const auto& x : crossing)
        if (*x.second != t) l.cut.push_back(*x.second);
      std::uint64_t total = 0;
      bool known = true;
      for (const auto& x : l.cut) {
        auto xi = a.info.find(x);
        auto e = xi != a.info.end() ? xi->second.element_count() : std::nullopt;
        if (e) total += *e;
        else known = false;
      }
      if (known) l.cut_elements = total;
      out.push_back(std::move(l));
    }
  }
  return out;
}

Result<Split> Graph::split(const std::vector<std::string>& at) const {
  const Analysis& a = impl_->analysis();
  const auto& g = impl_->model.graph();
  const std::size_t n = static_cast<std::size_t>(g.node_size());
  if (at.empty()) return arg("no split tensor given");
  Bits head(n);
  for (const auto& t : at) {
    if (a.graph_inputs.count(t)) return arg("'" + t + "' is a graph input: there is nothing to put in the head");
    if (a.initializers.count(t)) return arg("'" + t + "' is an initializer (a weight), not an activation");
    auto p = a.producer.find(t);
    if (p == a.producer.end()) return arg("no tensor named '" + t + "' in " + impl_->name + " (see `ftc layers`)");
    if (a.graph_outputs.count(t)) return arg("'" + t + "' is a graph output: the tail would be empty");
    if (a.is_const[p->second]) return arg("'" + t + "' does not depend on any graph input (a constant)");
    add_ancestors(a, p->second, head, head);
  }
  auto c = impl_->cut_from(head);
  if (!c.head_graph_outputs.empty())
    return arg("graph output(s) " + join(c.head_graph_outputs) + " would be computed in the head; cut later");
  if (!c.tail_graph_inputs.empty())
    return arg("the tail would still read graph input(s) " + join(c.tail_graph_inputs) + ": the cut at " +
               join(at) + " does not separate the inputs from the outputs");
  SplitInfo info;
  info.requested = at;
  for (const auto& t : at) {
    if (std::find(c.crossing.begin(), c.crossing.end(), t) == c.crossing.end())
      return arg("'" + t + "' is not used after the cut (everything that reads it is already in the head)");
    if (std::find(info.cut.begin(), info.cut.end(), t) == info.cut.end()) info.cut.push_back(t);
  }
  for (const auto& t : c.crossing)
    if (std::find(info.cut.begin(), info.cut.end(), t) == info.cut.end()) {
      info.cut.push_back(t);
      info.added.push_back(t);
    }
  for (const auto& t : info.cut) {
    auto it = a.vinfo.find(t);
    if (it == a.vinfo.end() || !it->second->type().has_tensor_type() || it->second->type().tensor_type().elem_type() == 0)
      return Status(StatusCode::unsupported_feature,
                    "shape inference gives no type for '" + t + "'; fix dynamic dims with --input-shape");
    info.cut_info.push_back(a.info.at(t));
  }
  for (std::size_t j = 0; j < n; ++j) {
    if (c.head.test(j)) {
      ++info.head_nodes;
      info.head_macs += a.macs[j];
    }
    if (c.tail.test(j)) {
      ++info.tail_nodes;
      info.tail_macs += a.macs[j];
    }
  }

  Split s;
  s.info = info;
  s.head.impl_->name = impl_->name + " (head)";
  s.tail.impl_->name = impl_->name + " (tail)";
  s.head.impl_->model = impl_->make_part(c.head, {}, info.cut, "head", info.cut);
  s.tail.impl_->model = impl_->make_part(c.tail, info.cut, {}, "tail", info.cut);
  for (auto* part : {&s.head, &s.tail}) {
    try {
      onnx::checker::check_model(part->impl_->model);
    } catch (const std::exception& e) {
      return Status(StatusCode::internal, part->impl_->name + " fails onnx::checker: " + e.what());
    }
  }
  return s;
}

Result<std::vector<std::uint8_t>> Graph::serialize() const {
  const std::size_t size = impl_->model.ByteSizeLong();
  if (size > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    return Status(StatusCode::limit_exceeded, impl_->name + ": model over 2 GiB");
  std::vector<std::uint8_t> bytes(size);
  if (!impl_->model.SerializeToArray(bytes.data(), static_cast<int>(size)))
    return Status(StatusCode::internal, impl_->name + ": protobuf serialization failed");
  return bytes;
}

Status Graph::save(const std::string& path) const {
  FTC_ASSIGN_OR_RETURN(auto bytes, serialize());
  return io::write_file(path, bytes, io::Overwrite::replace);
}

Result<SplitSizes> save_split(const Split& split, const std::string& head_path, const std::string& tail_path,
                              bool replace) {
  SplitSizes sizes;
  std::vector<io::OutputFile> files;
  for (const auto& [part, path, size] : {std::tuple{&split.head, &head_path, &sizes.head},
                                         std::tuple{&split.tail, &tail_path, &sizes.tail}}) {
    if (path->empty()) continue;
    FTC_ASSIGN_OR_RETURN(auto bytes, part->serialize());
    FTC_ASSIGN_OR_RETURN(auto file, io::OutputFile::create(*path, replace ? io::Overwrite::replace : io::Overwrite::refuse));
    files.push_back(std::move(file));
    FTC_RETURN_IF_ERROR(files.back().write(bytes));
    *size = bytes.size();
  }
  FTC_RETURN_IF_ERROR(io::commit_together(files));
  return sizes;
}


// ---------------------------------------------------------------------------------------------
// Composition check
// ---------------------------------------------------------------------------------------------

std::string CompositionReport::to_string() const {
  std::ostringstream s;
  s << (passed ? "pass" : "FAIL") << ": max |full - head->tail| = " << max_abs_error << ", relative " << rel_error
    << " (tolerance " << tolerance << ")";
  if (!worst_output.empty()) s << ", worst output '" << worst_output << "'";
  return s.str();
}

Result<CompositionReport> check_composition(Executor& full, Executor& head, Executor& tail,
                                            const std::vector<TensorShapeInfo>& inputs, std::uint64_t seed,
                                            double tolerance) {
  CompositionReport rep;
  rep.tolerance = tolerance;
  // Seeded uniform [-1, 1] from the raw 64-bit stream (std distributions differ between libraries).
  std::mt19937_64 rng(seed);
  std::vector<Tensor> feed;
  std::vector<NamedTensorView> full_in;
  for (const auto& name : full.input_names()) {
    auto it = std::find_if(inputs.begin(), inputs.end(), [&](const TensorShapeInfo& t) { return t.name == name; });
    if (it == inputs.end() || !it->shape) return arg("composition check: no shape for input '" + name + "'");
    Shape s = *it->shape;
    for (auto& d : s)
      if (d < 0) d = 1;
    FTC_ASSIGN_OR_RETURN(Tensor t, Tensor::zeros(DType::f32, s));
    float* p = t.data_as<float>();
    for (std::uint64_t k = 0; k < t.element_count(); ++k)
      p[k] = static_cast<float>(static_cast<double>(rng() >> 11) * 0x1.0p-53 * 2.0 - 1.0);
    rep.inputs.emplace_back(name, s);
    feed.push_back(std::move(t));
  }
  for (std::size_t k = 0; k < feed.size(); ++k) full_in.push_back({full.input_names()[k], feed[k].view()});
  FTC_ASSIGN_OR_RETURN(auto want, full.run(full_in));

  std::vector<NamedTensorView> head_in;
  for (const auto& name : head.input_names()) {
    auto it = std::find_if(full_in.begin(), full_in.end(), [&](const NamedTensorView& v) { return v.name == name; });
    if (it == full_in.end()) return arg("composition check: head input '" + name + "' is not a model input");
    head_in.push_back(*it);
  }
  FTC_ASSIGN_OR_RETURN(auto mid, head.run(head_in));
  std::vector<NamedTensorView> tail_in;
  for (const auto& name : tail.input_names()) {
    auto it = std::find_if(mid.begin(), mid.end(), [&](const NamedTensor& v) { return v.name == name; });
    if (it == mid.end()) return arg("composition check: tail input '" + name + "' is not a head output");
    tail_in.push_back({name, it->tensor.view()});
  }
  FTC_ASSIGN_OR_RETURN(auto got, tail.run(tail_in));

  for (const auto& w : want) {
    auto it = std::find_if(got.begin(), got.end(), [&](const NamedTensor& v) { return v.name == w.name; });
    if (it == got.end()) return Status(StatusCode::internal, "composition check: the tail does not output '" + w.name + "'");
    const Tensor& a = w.tensor;
    const Tensor& b = it->tensor;
    if (a.element_count() != b.element_count())
      return Status(StatusCode::internal, "composition check: output '" + w.name + "' has " +
                                              std::to_string(a.element_count()) + " elements in the full model, " +
                                              std::to_string(b.element_count()) + " after head->tail");
    double max_a = 0, max_d = 0;
    bool nan = false;
    for (std::uint64_t k = 0; k < a.element_count(); ++k) {
      double x = a.data_as<float>()[k], y = b.data_as<float>()[k];
      if (std::isnan(x) != std::isnan(y)) nan = true;
      max_a = std::max(max_a, std::fabs(x));
      if (!std::isnan(x) && !std::isnan(y)) max_d = std::max(max_d, std::fabs(x - y));
    }
    double rel = nan ? std::numeric_limits<double>::infinity() : max_d / std::max(1.0, max_a);
    rep.max_abs_error = std::max(rep.max_abs_error, nan ? std::numeric_limits<double>::infinity() : max_d);
    if (rel >= rep.rel_error) {
      rep.rel_error = rel;
      rep.worst_output = w.name;
    }
  }
  rep.passed = rep.rel_error <= tolerance;
  return rep;
}


}  // namespace ftc::runtime
