// Executor on OpenCV's DNN module (Debian OpenCV 4.6: cv::dnn::readNetFromONNX).
#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <mutex>
#include <optional>
#include <regex>
#include <unordered_map>

#include <onnx/onnx_pb.h>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>

#include "runtime/executor.hpp"
#include "runtime/graph.hpp"
#include "runtime/model_check.hpp"

namespace ftc::runtime {
namespace {

// OpenCV's ONNX importer logs every failure at ERROR level before throwing; we report the
// exception as a Status instead, so the log is silenced while importing.
std::mutex g_log_mutex;

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while (!(man & 0x400u));
      bits = sign | static_cast<std::uint32_t>(127 - 15 - e) << 23 | (man & 0x3ffu) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | man << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float load_as_float(const std::uint8_t* p, DType t) {
  switch (t) {
    case DType::f32: { float v; std::memcpy(&v, p, 4); return v; }
    case DType::f64: { double v; std::memcpy(&v, p, 8); return static_cast<float>(v); }
    case DType::f16: { std::uint16_t v; std::memcpy(&v, p, 2); return half_to_float(v); }
    case DType::bf16: { std::uint16_t v; std::memcpy(&v, p, 2); std::uint32_t b = std::uint32_t{v} << 16; float f; std::memcpy(&f, &b, 4); return f; }
    case DType::i8: return static_cast<float>(static_cast<std::int8_t>(*p));
    case DType::u8: return static_cast<float>(*p);
    case DType::i16: { std::int16_t v; std::memcpy(&v, p, 2); return static_cast<float>(v); }
    case DType::u16: { std::uint16_t v; std::memcpy(&v, p, 2); return static_cast<float>(v); }
    case DType::i32: { std::int32_t v; std::memcpy(&v, p, 4); return static_cast<float>(v); }
  }
  return 0.0f;
}

// Copies a (possibly strided, any dtype) view into a C-contiguous f32 buffer.
void gather_f32(const TensorView& v, float* out) {
  const std::uint64_t n = v.element_count();
  const auto* base = static_cast<const std::uint8_t*>(v.data);
  const std::size_t es = dtype_size(v.dtype);
  if (v.dtype == DType::f32 && v.is_contiguous()) {
    std::memcpy(out, base, n * 4);
    return;
  }
  std::array<std::int64_t, kMaxRank> idx{};
  for (std::uint64_t k = 0; k < n; ++k) {
    std::int64_t off = 0;
    for (int d = 0; d < v.rank; ++d) off += idx[d] * v.strides[d];
    out[k] = load_as_float(base + off * static_cast<std::int64_t>(es), v.dtype);
    for (int d = v.rank - 1; d >= 0; --d) {
      if (++idx[d] < v.shape[d]) break;
      idx[d] = 0;
    }
  }
}

struct Declared {
  std::string name;
  std::vector<std::int64_t> dims;  // -1 unknown
  bool has_shape = false;
};

std::vector<Declared> declared(const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& list,
                               const std::vector<std::string>& skip = {}) {
  std::vector<Declared> out;
  for (const auto& v : list) {
    if (std::find(skip.begin(), skip.end(), v.name()) != skip.end()) continue;
    Declared d;
    d.name = v.name();
    if (v.type().has_tensor_type() && v.type().tensor_type().has_shape()) {
      d.has_shape = true;
      for (const auto& dim : v.type().tensor_type().shape().dim())
        d.dims.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
    }
    out.push_back(std::move(d));
  }
  return out;
}

// "Node [Hardmax@ai.onnx]:(onnx_node!mystery_node) parse error: … Can't create layer … in function …"
std::string describe_import_error(const std::string& model, const cv::Exception& e) {
  const std::string text = e.err.empty() ? std::string(e.what()) : e.err;
  static const std::regex node_re(R"(Node \[([^\]@]*)@?([^\]]*)\]:\((?:onnx_node!)?([^)]*)\))");
  std::smatch m;
  // The innermost OpenCV error: after the last "error: (-N:Kind) ", without the "in function '…'"
  // parts and the "> " continuation prefixes, on one line.
  std::string reason = text;
  if (auto p = text.rfind("error: ("); p != std::string::npos)
    if (auto q = text.find(") ", p); q != std::string::npos) reason = text.substr(q + 2);
  static const std::regex in_function(R"( ?in function '[^']*')");
  static const std::regex continuation(R"(\s*\n[> ]*)");
  static const std::regex spaces(R"(\s+)");
  reason = std::regex_replace(reason, in_function, "");
  reason = std::regex_replace(reason, continuation, " ");
  reason = std::regex_replace(reason, spaces, " ");
  while (!reason.empty() && (reason.back() == ' ' || reason.back() == '>')) reason.pop_back();
  while (!reason.empty() && reason.front() == ' ') reason.erase(0, 1);
  if (std::regex_search(text, m, node_re)) {
    std::string domain = m[2].str();
    return model + ": OpenCV " CV_VERSION " DNN cannot import node '" + m[3].str() + "' (op " + m[1].str() +
           (domain.empty() || domain == "ai.onnx" ? std::string() : ", domain " + domain) + "): " + reason;
  }
  return model + ": OpenCV " CV_VERSION " DNN cannot import the model: " + reason;
}

class OpenCvExecutor final : public Executor {
 public:
  OpenCvExecutor(std::string name, cv::dnn::Net net, std::vector<Declared> ins, std::vector<Declared> outs)
      : name_(std::move(name)), net_(std::move(net)), ins_(std::move(ins)), outs_(std::move(outs)) {
    for (const auto& d : ins_) in_names_.push_back(d.name);
    for (const auto& d : outs_) out_names_.push_back(d.name);
  }
  const std::vector<std::string>& input_names() const override { return in_names_; }
  const std::vector<std::string>& output_names() const override { return out_names_; }

  Result<std::vector<NamedTensor>> run(const std::vector<NamedTensorView>& inputs) override {
    if (inputs.size() != ins_.size())
      return Status(StatusCode::invalid_argument, name_ + ": expects " + std::to_string(ins_.size()) + " inputs, got " +
                                                      std::to_string(inputs.size()));
    std::vector<cv::Mat> mats(ins_.size());
    for (std::size_t i = 0; i < ins_.size(); ++i) {
      const Declared& d = ins_[i];
      auto it = std::find_if(inputs.begin(), inputs.end(), [&](const NamedTensorView& v) { return v.name == d.name; });
      if (it == inputs.end()) return Status(StatusCode::invalid_argument, name_ + ": input '" + d.name + "' not given");
      const TensorView& v = it->view;
      FTC_RETURN_IF_ERROR(v.validate());
      if (d.has_shape) {
        bool ok = static_cast<int>(d.dims.size()) == v.rank;
        for (int k = 0; ok && k < v.rank; ++k) ok = d.dims[k] < 0 || d.dims[k] == v.shape[k];
        if (!ok) {
          std::string want = "[", got = "[";
          for (std::size_t k = 0; k < d.dims.size(); ++k) {
            if (k) want += ',';
            want += d.dims[k] < 0 ? std::string("?") : std::to_string(d.dims[k]);
          }
          for (int k = 0; k < v.rank; ++k) {
            if (k) got += ',';
            got += std::to_string(v.shape[k]);
          }
          return Status(StatusCode::invalid_argument,
                        name_ + ": input '" + d.name + "' wants shape " + want + "], got " + got + "]");
        }
      }
      std::vector<int> sizes;
      for (int k = 0; k < v.rank; ++k) {
        if (v.shape[k] > std::numeric_limits<int>::max())
          return Status(StatusCode::invalid_argument, name_ + ": input '" + d.name + "' dim too large for OpenCV");
        sizes.push_back(static_cast<int>(v.shape[k]));
      }
      if (sizes.empty()) sizes.push_back(1);
      if (sizes.size() == 1) sizes.insert(sizes.begin(), 1);  // OpenCV has no 1-D Mat
      mats[i].create(static_cast<int>(sizes.size()), sizes.data(), CV_32F);
      gather_f32(v, mats[i].ptr<float>());
    }
    std::vector<cv::Mat> outs;
    try {
      for (std::size_t i = 0; i < ins_.size(); ++i) net_.setInput(mats[i], ins_[i].name);
      std::vector<cv::String> names(out_names_.begin(), out_names_.end());
      net_.forward(outs, names);
    } catch (const cv::Exception& e) {
      return Status(StatusCode::internal, name_ + ": OpenCV DNN forward failed: " + e.msg);
    }
    if (outs.size() != outs_.size())
      return Status(StatusCode::internal, name_ + ": OpenCV returned " + std::to_string(outs.size()) + " outputs, the graph declares " +
                                              std::to_string(outs_.size()));
    std::vector<NamedTensor> result;
    for (std::size_t i = 0; i < outs.size(); ++i) {
      cv::Mat m = outs[i];
      if (m.depth() != CV_32F) m.convertTo(m, CV_32F);
      if (!m.isContinuous()) m = m.clone();
      Shape shape;
      for (int k = 0; k < m.dims; ++k) shape.push_back(m.size[k]);
      // OpenCV's rank can differ from ONNX's (it has no 1-D Mat, and drops some dims): use the
      // declared shape when it is fully known (or fixable from the batch) and the count matches.
      const Declared& d = outs_[i];
      if (d.has_shape) {
        Shape want(d.dims.begin(), d.dims.end());
        int unknown = 0;
        std::uint64_t known = 1;
        for (auto x : want) {
          if (x < 0) ++unknown;
          else known *= static_cast<std::uint64_t>(x);
        }
        if (unknown == 1 && known > 0 && m.total() % known == 0) {
          for (auto& x : want)
            if (x < 0) x = static_cast<std::int64_t>(m.total() / known);
          unknown = 0;
          known = m.total();
        }
        if (unknown == 0 && known == m.total()) shape = want;
      }
      FTC_ASSIGN_OR_RETURN(Tensor t, Tensor::zeros(DType::f32, shape));
      if (t.element_count() != m.total())
        return Status(StatusCode::internal, name_ + ": output '" + d.name + "' size mismatch");
      std::memcpy(t.data(), m.ptr<float>(), t.byte_size());
      result.push_back({d.name, std::move(t)});
    }
    return result;
  }

 private:
  std::string name_;
  cv::dnn::Net net_;
  std::vector<Declared> ins_, outs_;
  std::vector<std::string> in_names_, out_names_;
};

// OpenCV 4.6 cannot import an Identity whose input is an initializer (PyTorch exports those when
// it deduplicates equal weights, e.g. the zero biases of freshly folded BatchNorms): it asserts on
// inputs.size(). Replace each such node by a copy of the initializer under the output's name.
// Returns true when the model changed.
bool fold_constant_identities(onnx::ModelProto& model) {
  auto* g = model.mutable_graph();
  std::unordered_map<std::string, int> init_index;
  for (int i = 0; i < g->initializer_size(); ++i) init_index.emplace(g->initializer(i).name(), i);
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  bool changed = false;
  for (auto& node : *g->mutable_node()) {
    if (node.op_type() == "Identity" && (node.domain().empty() || node.domain() == "ai.onnx") && node.input_size() == 1 &&
        node.output_size() == 1 && init_index.count(node.input(0))) {
      onnx::TensorProto copy = g->initializer(init_index.at(node.input(0)));
      copy.set_name(node.output(0));
      *g->add_initializer() = std::move(copy);
      init_index.emplace(node.output(0), g->initializer_size() - 1);
      changed = true;
      continue;
    }
    *kept.Add() = std::move(node);
  }
  g->mutable_node()->Swap(&kept);  // kept holds every node (moved), changed or not
  return changed;
}

std::optional<float> scalar_of(const onnx::TensorProto& t) {
  std::int64_t n = 1;
  for (auto d : t.dims()) n *= d;
  if (n != 1) return std::nullopt;
  if (t.data_type() == onnx::TensorProto::FLOAT) {
    if (t.float_data_size() == 1) return t.float_data(0);
    if (t.raw_data().size() == 4) {
      float f;
      std::memcpy(&f, t.raw_data().data(), 4);  // ONNX raw_data is little-endian, as is every host ftc targets
      return f;
    }
  } else if (t.data_type() == onnx::TensorProto::DOUBLE) {
    if (t.double_data_size() == 1) return static_cast<float>(t.double_data(0));
    if (t.raw_data().size() == 8) {
      double d;
      std::memcpy(&d, t.raw_data().data(), 8);
      return static_cast<float>(d);
    }
  }
  return std::nullopt;
}

// OpenCV 4.6 imports only the opset < 11 Clip (min/max attributes) and rejects Clip(x, min, max)
// (what PyTorch exports for ReLU6 at opset 11+). Rewrite a Clip whose bounds are constant
// scalars into the attribute form, which OpenCV maps to its ReLU6 layer. This copy is only ever
// handed to OpenCV; the models ftc writes stay standard ONNX.
bool clip_inputs_to_attributes(onnx::ModelProto& model) {
  auto* g = model.mutable_graph();
  std::unordered_map<std::string, float> scalars;
  for (const auto& t : g->initializer())
    if (auto v = scalar_of(t)) scalars.emplace(t.name(), *v);
  bool changed = false;
  for (auto& node : *g->mutable_node()) {
    if (node.op_type() == "Constant" && node.output_size() == 1) {
      for (const auto& a : node.attribute()) {
        if (a.name() == "value" && a.has_t())
          if (auto v = scalar_of(a.t())) scalars.emplace(node.output(0), *v);
        if (a.name() == "value_float") scalars.emplace(node.output(0), a.f());
      }
    }
    if (node.op_type() != "Clip" || node.input_size() < 2) continue;
    std::optional<float> lo, hi;
    bool ok = true;
    for (int k = 1; k < node.input_size() && k < 3; ++k) {
      if (node.input(k).empty()) continue;
      auto it = scalars.find(node.input(k));
      if (it == scalars.end()) ok = false;
      else (k == 1 ? lo : hi) = it->second;
    }
    if (!ok) continue;
    std::string x = node.input(0);
    node.clear_input();
    node.add_input(x);
    for (auto [name, v] : {std::pair{"min", lo}, std::pair{"max", hi}}) {
      if (!v) continue;
      auto* a = node.add_attribute();
      a->set_name(name);
      a->set_type(onnx::AttributeProto::FLOAT);
      a->set_f(*v);
    }
    changed = true;
  }
  return changed;
}

}  // namespace

Result<std::unique_ptr<Executor>> make_opencv_executor_from_bytes(std::span<const std::uint8_t> bytes,
                                                                  const std::string& name) {
  onnx::ModelProto model;
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return Status(StatusCode::bad_file, name + ": not an ONNX model (protobuf parse failed)");
  // OpenCV trusts the attributes (a zero group divides by zero): check them first.
  FTC_RETURN_IF_ERROR(check_model_values(model, name));
  std::vector<std::string> inits;
  for (const auto& t : model.graph().initializer()) inits.push_back(t.name());
  auto ins = declared(model.graph().input(), inits);
  auto outs = declared(model.graph().output());
  std::string folded;
  const bool folded_identities = fold_constant_identities(model);
  const bool rewrote_clips = clip_inputs_to_attributes(model);
  if (folded_identities || rewrote_clips) {
    if (!model.SerializeToString(&folded)) return Status(StatusCode::internal, name + ": protobuf serialization failed");
    bytes = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(folded.data()), folded.size());
  }
  cv::dnn::Net net;
  {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    auto level = cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    try {
      net = cv::dnn::readNetFromONNX(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    } catch (const cv::Exception& e) {
      cv::utils::logging::setLogLevel(level);
      return Status(StatusCode::unsupported_feature, describe_import_error(name, e));
    } catch (const std::exception& e) {
      cv::utils::logging::setLogLevel(level);
      return Status(StatusCode::unsupported_feature, name + ": OpenCV DNN cannot import the model: " + e.what());
    }
    cv::utils::logging::setLogLevel(level);
  }
  if (net.empty()) return Status(StatusCode::unsupported_feature, name + ": OpenCV DNN imported an empty network");
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  return std::unique_ptr<Executor>(new OpenCvExecutor(name, std::move(net), std::move(ins), std::move(outs)));
}

Result<std::unique_ptr<Executor>> make_opencv_executor(const Graph& graph) {
  FTC_ASSIGN_OR_RETURN(auto bytes, graph.serialize());
  return make_opencv_executor_from_bytes(bytes, graph.name());
}

Result<CompositionReport> check_composition(const Graph& full, const Split& split, std::uint64_t seed,
                                            double tolerance) {
  FTC_ASSIGN_OR_RETURN(auto f, make_opencv_executor(full));
  FTC_ASSIGN_OR_RETURN(auto h, make_opencv_executor(split.head));
  FTC_ASSIGN_OR_RETURN(auto t, make_opencv_executor(split.tail));
  return check_composition(*f, *h, *t, full.inputs(), seed, tolerance);
}

Result<std::unique_ptr<Executor>> make_opencv_executor(const std::string& onnx_path) {
  std::ifstream f(onnx_path, std::ios::binary);
  if (!f) return Status(StatusCode::io_error, onnx_path + ": cannot open");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) return Status(StatusCode::io_error, onnx_path + ": read failed");
  return make_opencv_executor_from_bytes(bytes, onnx_path);
}

}  // namespace ftc::runtime
