// Value checks of ONNX models before libonnx shape inference or OpenCV sees them
// (runtime/model_check.hpp).
#include "runtime/model_check.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

namespace ftc::runtime {
namespace {

// A rank and dims, −1 for an unknown dim.
using Dims = std::vector<std::int64_t>;

class Checker {
 public:
  explicit Checker(std::string name) : name_(std::move(name)) {}

  // Declared shapes (graph inputs, value_info, outputs, initializers) of `g` and its subgraphs.
  Status collect(const onnx::GraphProto& g) {
    for (const auto* list : {&g.input(), &g.value_info(), &g.output()})
      for (const auto& vi : *list) FTC_RETURN_IF_ERROR(add_value_info(vi));
    for (const auto& t : g.initializer()) {
      FTC_RETURN_IF_ERROR(check_tensor_data(t, "initializer '" + t.name() + "'"));
      Dims d(t.dims().begin(), t.dims().end());
      shapes_[t.name()] = d;
      constants_[t.name()] = &t;
    }
    for (const auto& n : g.node())
      for (const auto& a : n.attribute()) {
        if (a.has_g()) FTC_RETURN_IF_ERROR(collect(a.g()));
        for (const auto& sg : a.graphs()) FTC_RETURN_IF_ERROR(collect(sg));
      }
    return {};
  }

  Status check_nodes(const onnx::GraphProto& g) {
    for (const auto& n : g.node()) {
      FTC_RETURN_IF_ERROR(check_node(n));
      for (const auto& a : n.attribute()) {
        if (a.has_g()) FTC_RETURN_IF_ERROR(check_nodes(a.g()));
        for (const auto& sg : a.graphs()) FTC_RETURN_IF_ERROR(check_nodes(sg));
      }
    }
    return {};
  }

 private:
  // ---- errors -----------------------------------------------------------------------------------
  Status bad(const std::string& what) const { return {StatusCode::bad_file, name_ + ": " + what}; }
  Status bad_node(const onnx::NodeProto& n, const std::string& what) const {
    return bad("node '" + n.name() + "' (" + n.op_type() + "): " + what);
  }

  // ---- shapes -----------------------------------------------------------------------------------
  Status check_dims(const Dims& d, const std::string& what) const {
    if (d.size() > static_cast<std::size_t>(kMaxModelRank))
      return bad(what + " has rank " + std::to_string(d.size()) + ", over " + std::to_string(kMaxModelRank));
    std::int64_t count = 1;
    for (auto v : d) {
      if (v < -1) return bad(what + " has a negative dim " + std::to_string(v));
      if (v > kMaxModelTensorElements)
        return bad(what + " has a dim of " + std::to_string(v) + ", over " + std::to_string(kMaxModelTensorElements));
      if (v >= 0 && (count *= std::max<std::int64_t>(v, 0)) > kMaxModelTensorElements) count = kMaxModelTensorElements + 1;
    }
    if (count > kMaxModelTensorElements && std::find(d.begin(), d.end(), 0) == d.end())
      return bad(what + " has over " + std::to_string(kMaxModelTensorElements) + " elements");
    return {};
  }

  Status add_value_info(const onnx::ValueInfoProto& vi) {
    if (!vi.has_type() || !vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape()) return {};
    Dims d;
    for (const auto& dim : vi.type().tensor_type().shape().dim()) {
      if (dim.has_dim_value()) {
        if (dim.dim_value() < 0) return bad("tensor '" + vi.name() + "' declares a negative dim");
        d.push_back(dim.dim_value());
      } else {
        d.push_back(-1);
      }
    }
    FTC_RETURN_IF_ERROR(check_dims(d, "tensor '" + vi.name() + "'"));
    shapes_[vi.name()] = std::move(d);
    return {};
  }

  const Dims* shape(const onnx::NodeProto& n, int input) const {
    if (input >= n.input_size() || n.input(input).empty()) return nullptr;
    auto it = shapes_.find(n.input(input));
    return it == shapes_.end() ? nullptr : &it->second;
  }
  std::optional<std::int64_t> rank(const onnx::NodeProto& n, int input) const {
    const Dims* d = shape(n, input);
    if (!d) return std::nullopt;
    return static_cast<std::int64_t>(d->size());
  }
  // The values of an integer initializer or Constant (int64 or int32), or nullopt.
  std::optional<std::vector<std::int64_t>> int_values(const onnx::NodeProto& n, int input) const {
    if (input >= n.input_size()) return std::nullopt;
    auto it = constants_.find(n.input(input));
    if (it == constants_.end()) return std::nullopt;
    const onnx::TensorProto& t = *it->second;
    std::vector<std::int64_t> v;
    if (t.data_type() == onnx::TensorProto::INT64) {
      if (t.has_raw_data()) {
        const std::string& raw = t.raw_data();
        for (std::size_t k = 0; k + 8 <= raw.size(); k += 8) {
          std::uint64_t u = 0;
          for (int b = 7; b >= 0; --b) u = u << 8 | static_cast<std::uint8_t>(raw[k + static_cast<std::size_t>(b)]);
          v.push_back(static_cast<std::int64_t>(u));
        }
      } else {
        v.assign(t.int64_data().begin(), t.int64_data().end());
      }
    } else if (t.data_type() == onnx::TensorProto::INT32) {
      if (t.has_raw_data()) {
        const std::string& raw = t.raw_data();
        for (std::size_t k = 0; k + 4 <= raw.size(); k += 4) {
          std::uint32_t u = 0;
          for (int b = 3; b >= 0; --b) u = u << 8 | static_cast<std::uint8_t>(raw[k + static_cast<std::size_t>(b)]);
          v.push_back(static_cast<std::int32_t>(u));
        }
      } else {
        v.assign(t.int32_data().begin(), t.int32_data().end());
      }
    } else {
      return std::nullopt;
    }
    return v;
  }

  // ---- tensor data ------------------------------------------------------------------------------
  Status check_tensor_data(const onnx::TensorProto& t, const std::string& what) {
    if (t.dims_size() > kMaxModelRank)
      return bad(what + " has rank " + std::to_string(t.dims_size()) + ", over " + std::to_string(kMaxModelRank));
    std::int64_t count = 1;
    for (auto d : t.dims()) {
      if (d < 0) return bad(what + " has a negative dim " + std::to_string(d));
      if (d != 0 && count > kMaxModelTensorElements / d)
        return bad(what + " declares over " + std::to_string(kMaxModelTensorElements) + " elements");
      count *= d;
    }
    if (t.data_location() == onnx::TensorProto::EXTERNAL) return {};  // refused by Graph::parse
    std::size_t element_size = 0;
    std::int64_t typed = -1;
    std::int64_t per_element = 1;  // typed values per element (2 for complex)
    switch (t.data_type()) {
      case onnx::TensorProto::FLOAT: element_size = 4; typed = t.float_data_size(); break;
      case onnx::TensorProto::COMPLEX64: element_size = 8; typed = t.float_data_size(); per_element = 2; break;
      case onnx::TensorProto::DOUBLE: element_size = 8; typed = t.double_data_size(); break;
      case onnx::TensorProto::COMPLEX128: element_size = 16; typed = t.double_data_size(); per_element = 2; break;
      case onnx::TensorProto::INT64: element_size = 8; typed = t.int64_data_size(); break;
      case onnx::TensorProto::UINT64: element_size = 8; typed = t.uint64_data_size(); break;
      case onnx::TensorProto::UINT32: element_size = 4; typed = t.uint64_data_size(); break;
      case onnx::TensorProto::INT32: element_size = 4; typed = t.int32_data_size(); break;
      case onnx::TensorProto::INT16:
      case onnx::TensorProto::UINT16:
      case onnx::TensorProto::FLOAT16:
      case onnx::TensorProto::BFLOAT16: element_size = 2; typed = t.int32_data_size(); break;
      case onnx::TensorProto::INT8:
      case onnx::TensorProto::UINT8:
      case onnx::TensorProto::BOOL: element_size = 1; typed = t.int32_data_size(); break;
      case onnx::TensorProto::STRING:
        if (t.string_data_size() != count)
          return bad(what + " declares " + std::to_string(count) + " strings, holds " + std::to_string(t.string_data_size()));
        return {};
      default: return bad(what + " has unsupported element type " + std::to_string(t.data_type()));
    }
    if (t.has_raw_data()) {
      const auto want = static_cast<std::uint64_t>(count) * element_size;
      if (t.raw_data().size() != want)
        return bad(what + " declares " + std::to_string(count) + " elements (" + std::to_string(want) + " bytes), holds " +
                   std::to_string(t.raw_data().size()) + " bytes");
    } else if (typed != count * per_element) {
      return bad(what + " declares " + std::to_string(count) + " elements, holds " + std::to_string(typed / per_element));
    }
    return {};
  }

  // ---- nodes ------------------------------------------------------------------------------------
  static const onnx::AttributeProto* attr(const onnx::NodeProto& n, std::string_view key) {
    for (const auto& a : n.attribute())
      if (a.name() == key) return &a;
    return nullptr;
  }
  static std::optional<std::int64_t> int_attr(const onnx::NodeProto& n, std::string_view key) {
    const auto* a = attr(n, key);
    if (!a) return std::nullopt;
    return a->i();
  }
  static std::optional<std::vector<std::int64_t>> ints_attr(const onnx::NodeProto& n, std::string_view key) {
    const auto* a = attr(n, key);
    if (!a) return std::nullopt;
    return std::vector<std::int64_t>(a->ints().begin(), a->ints().end());
  }

  Status in_range(const onnx::NodeProto& n, std::string_view key, std::int64_t v, std::int64_t lo, std::int64_t hi) const {
    if (v < lo || v > hi)
      return bad_node(n, std::string(key) + " = " + std::to_string(v) + ", must be " + std::to_string(lo) + ".." +
                             std::to_string(hi));
    return {};
  }
  // Every value of the ints attribute `key` in lo..hi, and `count` of them (when count ≥ 0).
  Status ints_in_range(const onnx::NodeProto& n, std::string_view key, std::int64_t lo, std::int64_t hi,
                       std::int64_t count) const {
    auto v = ints_attr(n, key);
    if (!v) return {};
    if (count >= 0 && static_cast<std::int64_t>(v->size()) != count)
      return bad_node(n, std::string(key) + " has " + std::to_string(v->size()) + " values, expected " + std::to_string(count));
    for (std::size_t k = 0; k < v->size(); ++k)
      if ((*v)[k] < lo || (*v)[k] > hi)
        return bad_node(n, std::string(key) + "[" + std::to_string(k) + "] = " + std::to_string((*v)[k]) + ", must be " +
                               std::to_string(lo) + ".." + std::to_string(hi));
    return {};
  }
  // An axis attribute in [−r, r) (or [−r, r] when `inclusive`), when the input rank r is known.
  Status axis_in_rank(const onnx::NodeProto& n, std::string_view key, std::optional<std::int64_t> r, bool inclusive,
                      std::int64_t fallback_lo = -kMaxModelRank, std::int64_t fallback_hi = kMaxModelRank) const {
    auto v = int_attr(n, key);
    if (!v) return {};
    if (!r) return in_range(n, key, *v, fallback_lo, fallback_hi);
    return in_range(n, key, *v, -*r, inclusive ? *r : *r - 1);
  }
  Status axes_in_rank(const onnx::NodeProto& n, std::optional<std::int64_t> r, std::optional<std::vector<std::int64_t>> axes) const {
    if (!axes) return {};
    const std::int64_t lo = r ? -*r : -kMaxModelRank, hi = r ? *r - 1 : kMaxModelRank;
    for (std::size_t k = 0; k < axes->size(); ++k)
      if ((*axes)[k] < lo || (*axes)[k] > hi)
        return bad_node(n, "axes[" + std::to_string(k) + "] = " + std::to_string((*axes)[k]) + ", must be " +
                               std::to_string(lo) + ".." + std::to_string(hi));
    return {};
  }

  // Conv, ConvTranspose and the pooling ops: the sliding-window attributes.
  Status check_window(const onnx::NodeProto& n, bool conv) {
    const std::string& op = n.op_type();
    std::int64_t spatial = -1;
    const Dims* w = conv ? shape(n, 1) : nullptr;
    const Dims* x = shape(n, 0);
    auto kernel = ints_attr(n, "kernel_shape");
    if (w) {
      if (w->size() < 3) return bad_node(n, "weight rank " + std::to_string(w->size()) + ", expected 3 or more");
      spatial = static_cast<std::int64_t>(w->size()) - 2;
    } else if (kernel) {
      spatial = static_cast<std::int64_t>(kernel->size());
    } else if (x && x->size() >= 3) {
      spatial = static_cast<std::int64_t>(x->size()) - 2;
    }
    if (!conv && !kernel) return bad_node(n, "kernel_shape is required");
    if (spatial == 0) return bad_node(n, "no spatial dims");
    FTC_RETURN_IF_ERROR(ints_in_range(n, "kernel_shape", 1, kMaxModelWindow, spatial));
    FTC_RETURN_IF_ERROR(ints_in_range(n, "strides", 1, kMaxModelWindow, spatial));
    FTC_RETURN_IF_ERROR(ints_in_range(n, "dilations", 1, kMaxModelWindow, spatial));
    FTC_RETURN_IF_ERROR(ints_in_range(n, "pads", 0, kMaxModelWindow, spatial >= 0 ? 2 * spatial : -1));
    if (auto p = ints_attr(n, "pads"); p && p->size() % 2 != 0) return bad_node(n, "pads has an odd count");
    if (const auto* ap = attr(n, "auto_pad")) {
      const std::string& s = ap->s();
      if (s != "NOTSET" && s != "SAME_UPPER" && s != "SAME_LOWER" && s != "VALID")
        return bad_node(n, "auto_pad '" + s + "' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID");
    }
    if (x && spatial >= 0 && x->size() != static_cast<std::size_t>(spatial + 2))
      return bad_node(n, "input rank " + std::to_string(x->size()) + ", expected " + std::to_string(spatial + 2));
    if (conv) {
      const std::int64_t group = int_attr(n, "group").value_or(1);
      FTC_RETURN_IF_ERROR(in_range(n, "group", group, 1, kMaxModelWindow));
      if (kernel && w)
        for (std::int64_t k = 0; k < spatial; ++k)
          if ((*w)[static_cast<std::size_t>(k + 2)] >= 0 && (*kernel)[static_cast<std::size_t>(k)] != (*w)[static_cast<std::size_t>(k + 2)])
            return bad_node(n, "kernel_shape[" + std::to_string(k) + "] = " + std::to_string((*kernel)[static_cast<std::size_t>(k)]) +
                                   " but the weight's dim is " + std::to_string((*w)[static_cast<std::size_t>(k + 2)]));
      if (w) {
        for (std::size_t k = 0; k < w->size(); ++k)
          if ((*w)[k] == 0) return bad_node(n, "weight dim " + std::to_string(k) + " is 0");
        const bool transpose = op == "ConvTranspose";
        // Conv: W is (M, C/group, k…); ConvTranspose: W is (C, M/group, k…).
        const std::int64_t w0 = (*w)[0], w1 = (*w)[1];
        if (w0 > 0 && w0 % group != 0)
          return bad_node(n, "group = " + std::to_string(group) + " does not divide the weight's " +
                                 std::to_string(w0) + (transpose ? " input" : " output") + " channels");
        const std::int64_t in_channels = transpose ? w0 : (w1 > 0 ? w1 * group : -1);
        if (x && x->size() >= 2 && (*x)[1] >= 0 && in_channels >= 0 && (*x)[1] != in_channels)
          return bad_node(n, "input has " + std::to_string((*x)[1]) + " channels, the weight and group = " +
                                 std::to_string(group) + " expect " + std::to_string(in_channels));
        const std::int64_t out_channels = transpose ? (w1 > 0 ? w1 * group : -1) : w0;
        if (const Dims* b = shape(n, 2); b && out_channels > 0 && (b->size() != 1 || ((*b)[0] >= 0 && (*b)[0] != out_channels)))
          return bad_node(n, "bias must have " + std::to_string(out_channels) + " elements");
      }
      if (op == "ConvTranspose") {
        FTC_RETURN_IF_ERROR(ints_in_range(n, "output_padding", 0, kMaxModelWindow - 1, spatial));
        FTC_RETURN_IF_ERROR(ints_in_range(n, "output_shape", 1, kMaxModelTensorElements, spatial));
        auto op_pad = ints_attr(n, "output_padding");
        auto strides = ints_attr(n, "strides");
        auto dil = ints_attr(n, "dilations");
        if (op_pad)
          for (std::size_t k = 0; k < op_pad->size(); ++k) {
            const std::int64_t s = strides && k < strides->size() ? (*strides)[k] : 1;
            const std::int64_t d = dil && k < dil->size() ? (*dil)[k] : 1;
            if ((*op_pad)[k] >= std::max(s, d))
              return bad_node(n, "output_padding[" + std::to_string(k) + "] must be smaller than the stride or dilation");
          }
      }
    } else {
      FTC_RETURN_IF_ERROR(in_range(n, "ceil_mode", int_attr(n, "ceil_mode").value_or(0), 0, 1));
      FTC_RETURN_IF_ERROR(in_range(n, "count_include_pad", int_attr(n, "count_include_pad").value_or(0), 0, 1));
      FTC_RETURN_IF_ERROR(in_range(n, "storage_order", int_attr(n, "storage_order").value_or(0), 0, 1));
      if (op == "LpPool") FTC_RETURN_IF_ERROR(in_range(n, "p", int_attr(n, "p").value_or(2), 1, 64));
      // A window entirely in the padding averages over nothing.
      auto pads = ints_attr(n, "pads");
      auto dil = ints_attr(n, "dilations");
      if (pads && kernel)
        for (std::size_t k = 0; k < pads->size(); ++k) {
          const std::size_t axis = k % kernel->size();
          const std::int64_t d = dil && axis < dil->size() ? (*dil)[axis] : 1;
          if ((*pads)[k] >= ((*kernel)[axis] - 1) * d + 1)
            return bad_node(n, "pads[" + std::to_string(k) + "] = " + std::to_string((*pads)[k]) +
                                   " is not smaller than the window");
        }
    }
    return {};
  }

  Status check_node(const onnx::NodeProto& n) {
    if (!n.domain().empty() && n.domain() != "ai.onnx") return {};
    const std::string& op = n.op_type();
    if (op == "Constant") {
      if (const auto* v = attr(n, "value"); v && v->has_t()) {
        FTC_RETURN_IF_ERROR(check_tensor_data(v->t(), "node '" + n.name() + "' (Constant) value"));
        if (n.output_size() > 0) constants_.emplace(n.output(0), &v->t());
      }
      return {};
    }
    if (op == "Conv" || op == "ConvTranspose") return check_window(n, true);
    if (op == "MaxPool" || op == "AveragePool" || op == "LpPool") return check_window(n, false);
    const auto r0 = rank(n, 0);
    if (op == "Gemm") {
      FTC_RETURN_IF_ERROR(in_range(n, "transA", int_attr(n, "transA").value_or(0), 0, 1));
      FTC_RETURN_IF_ERROR(in_range(n, "transB", int_attr(n, "transB").value_or(0), 0, 1));
      const Dims* A = shape(n, 0);
      const Dims* B = shape(n, 1);
      if (A && A->size() != 2) return bad_node(n, "A has rank " + std::to_string(A->size()) + ", expected 2");
      if (B && B->size() != 2) return bad_node(n, "B has rank " + std::to_string(B->size()) + ", expected 2");
      if (A && B) {
        const std::int64_t ka = (*A)[int_attr(n, "transA").value_or(0) ? 0 : 1];
        const std::int64_t kb = (*B)[int_attr(n, "transB").value_or(0) ? 1 : 0];
        if (ka >= 0 && kb >= 0 && ka != kb)
          return bad_node(n, "inner dims differ: " + std::to_string(ka) + " and " + std::to_string(kb));
      }
      return {};
    }
    if (op == "MatMul") {
      const Dims* A = shape(n, 0);
      const Dims* B = shape(n, 1);
      if ((A && A->empty()) || (B && B->empty())) return bad_node(n, "a scalar operand");
      if (A && B) {
        const std::int64_t ka = A->back(), kb = B->size() == 1 ? (*B)[0] : (*B)[B->size() - 2];
        if (ka >= 0 && kb >= 0 && ka != kb)
          return bad_node(n, "inner dims differ: " + std::to_string(ka) + " and " + std::to_string(kb));
      }
      return {};
    }
    if (op == "Reshape") {
      FTC_RETURN_IF_ERROR(in_range(n, "allowzero", int_attr(n, "allowzero").value_or(0), 0, 1));
      auto target = int_values(n, 1);
      if (!target) return {};
      if (target->size() > static_cast<std::size_t>(kMaxModelRank))
        return bad_node(n, "shape has " + std::to_string(target->size()) + " dims, over " + std::to_string(kMaxModelRank));
      int inferred = 0;
      std::int64_t known = 1;
      const Dims* x = shape(n, 0);
      for (std::size_t k = 0; k < target->size(); ++k) {
        std::int64_t v = (*target)[k];
        if (v < -1 || v > kMaxModelTensorElements)
          return bad_node(n, "shape[" + std::to_string(k) + "] = " + std::to_string(v) + " is out of range");
        if (v == -1 && ++inferred > 1) return bad_node(n, "shape has more than one -1");
        if (v == 0 && !int_attr(n, "allowzero").value_or(0)) {
          if (x && k >= x->size()) return bad_node(n, "shape[" + std::to_string(k) + "] = 0 copies a dim the input does not have");
          v = x ? (*x)[k] : -1;
        }
        if (v == 0) known = 0;
        else if (v > 0) known = std::min(known * v, kMaxModelTensorElements + 1);  // ≤ 2^62: no overflow
      }
      if (x && known > 0) {
        std::int64_t total = 1;
        for (auto d : *x) {
          if (d < 0) return {};
          total = std::min<std::int64_t>(total * std::max<std::int64_t>(d, 0), kMaxModelTensorElements + 1);
        }
        if (known > total || (inferred == 0 ? known != total : total % known != 0))
          return bad_node(n, "cannot reshape " + std::to_string(total) + " elements to the given shape");
      }
      return {};
    }
    if (op == "Concat") {
      if (!attr(n, "axis")) return bad_node(n, "axis is required");
      for (int k = 1; k < n.input_size(); ++k)
        if (auto rk = rank(n, k); rk && r0 && *rk != *r0) return bad_node(n, "inputs of different ranks");
      return axis_in_rank(n, "axis", r0, false);
    }
    if (op == "Flatten") return axis_in_rank(n, "axis", r0, true);
    if (op == "Softmax" || op == "LogSoftmax" || op == "Hardmax" || op == "Gather" || op == "GatherElements" ||
        op == "Split" || op == "CumSum" || op == "ArgMax" || op == "ArgMin" || op == "LRN" || op == "LayerNormalization")
      FTC_RETURN_IF_ERROR(axis_in_rank(n, "axis", r0, false));
    if (op == "Squeeze" || op == "Unsqueeze" || op.rfind("Reduce", 0) == 0) {
      // Unsqueeze's axes index the output rank (input rank + number of axes).
      auto axes = ints_attr(n, "axes");
      if (!axes) axes = int_values(n, 1);
      std::optional<std::int64_t> r = r0;
      if (r && op == "Unsqueeze" && axes) *r += static_cast<std::int64_t>(axes->size());
      return axes_in_rank(n, r, axes);
    }
    if (op == "Transpose") {
      auto perm = ints_attr(n, "perm");
      if (!perm) return {};
      if (r0 && static_cast<std::int64_t>(perm->size()) != *r0)
        return bad_node(n, "perm has " + std::to_string(perm->size()) + " values for rank " + std::to_string(*r0));
      std::vector<bool> seen(perm->size(), false);
      for (auto p : *perm) {
        if (p < 0 || p >= static_cast<std::int64_t>(perm->size()) || seen[static_cast<std::size_t>(p)])
          return bad_node(n, "perm is not a permutation");
        seen[static_cast<std::size_t>(p)] = true;
      }
      return {};
    }
    if (op == "Slice") {
      if (auto steps = int_values(n, 4))
        for (auto s : *steps)
          if (s == 0) return bad_node(n, "a step of 0");
      return axes_in_rank(n, r0, int_values(n, 3));
    }
    if (op == "DepthToSpace" || op == "SpaceToDepth")
      return in_range(n, "blocksize", int_attr(n, "blocksize").value_or(0), 1, kMaxModelWindow);
    if (op == "LRN") return in_range(n, "size", int_attr(n, "size").value_or(0), 1, kMaxModelWindow);
    if (op == "BatchNormalization") {
      const Dims* x = shape(n, 0);
      const std::int64_t channels = x && x->size() >= 2 ? (*x)[1] : -1;
      for (int k = 1; k <= 4 && k < n.input_size(); ++k)
        if (const Dims* p = shape(n, k))
          if (p->size() != 1 || (channels >= 0 && (*p)[0] >= 0 && (*p)[0] != channels))
            return bad_node(n, "input " + std::to_string(k) + " must have one value per channel");
      if (const auto* e = attr(n, "epsilon"); e && !(std::isfinite(e->f()) && e->f() >= 0))
        return bad_node(n, "epsilon must be finite and non-negative");
      return {};
    }
    if (op == "Pad") {
      auto pads = ints_attr(n, "pads");
      if (!pads) pads = int_values(n, 1);
      if (pads && r0 && static_cast<std::int64_t>(pads->size()) != 2 * *r0)
        return bad_node(n, "pads has " + std::to_string(pads->size()) + " values for rank " + std::to_string(*r0));
      if (pads)
        for (auto p : *pads)
          if (p < -kMaxModelTensorElements || p > kMaxModelWindow) return bad_node(n, "a pad of " + std::to_string(p));
      return {};
    }
    if (op == "Resize" || op == "Upsample") {
      if (const auto* s = attr(n, "scales"))
        for (float v : s->floats())
          if (!(std::isfinite(v) && v > 0 && v <= 65536)) return bad_node(n, "scales must be finite, > 0 and ≤ 65536");
      return {};
    }
    return {};
  }

  std::string name_;
  std::unordered_map<std::string, Dims> shapes_;
  std::unordered_map<std::string, const onnx::TensorProto*> constants_;
};

}  // namespace

namespace {

// onnx shape inference on `inferred` (a copy of `model`); false when it fails even without the
// declared value_info.
bool infer_shapes(const onnx::ModelProto& model, onnx::ModelProto& inferred) {
  inferred = model;
  try {
    onnx::shape_inference::InferShapes(inferred);
    return true;
  } catch (const std::exception&) {
  }
  inferred = model;
  inferred.mutable_graph()->clear_value_info();
  try {
    onnx::shape_inference::InferShapes(inferred);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// Moves the typed value lists of `from` (left without them) into `typed`.
void take_typed_lists(onnx::GraphProto& from, onnx::GraphProto& typed) {
  typed.Clear();
  typed.mutable_input()->Swap(from.mutable_input());
  typed.mutable_value_info()->Swap(from.mutable_value_info());
  typed.mutable_output()->Swap(from.mutable_output());
}

}  // namespace

Status check_model_values(const onnx::ModelProto& model, const std::string& name, onnx::GraphProto* typed) {
  if (!model.has_graph()) return {};
  {
    // Attributes and declared shapes only: shape inference divides by strides.
    Checker c(name);
    FTC_RETURN_IF_ERROR(c.collect(model.graph()));
    FTC_RETURN_IF_ERROR(c.check_nodes(model.graph()));
  }
  // Again with the shapes inference derives (channels against group, ranks against axes); when
  // inference fails, nothing more is known than what was checked.
  onnx::ModelProto inferred;
  const bool inferred_ok = infer_shapes(model, inferred);
  if (inferred_ok) {
    Checker c(name);
    FTC_RETURN_IF_ERROR(c.collect(inferred.graph()));
    FTC_RETURN_IF_ERROR(c.check_nodes(inferred.graph()));
  }
  if (typed) {
    if (!inferred_ok) inferred = model;  // the declared lists
    take_typed_lists(*inferred.mutable_graph(), *typed);
  }
  return {};
}

void infer_typed_lists(const onnx::ModelProto& model, onnx::GraphProto& typed) {
  onnx::ModelProto inferred;
  if (!infer_shapes(model, inferred)) inferred = model;
  take_typed_lists(*inferred.mutable_graph(), typed);
}

}  // namespace ftc::runtime
