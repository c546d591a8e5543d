// The Python face of ftc (module ftc._ftc; python/ftc/__init__.py re-exports it): NumPy arrays in,
// frame bytes out, and back. Flags and conversions only: encoding, decoding and option checking
// are the core's (Encoder, Decoder, set_encoder_option), so Python, the CLI and the evaluator take
// the same option names and produce the same bytes.
//
// Invariants:
// - An input array is read in place when its strides are whole elements in native byte order (any
//   sign, any order: TensorView takes them as they are); otherwise it is copied once into C order.
// - The GIL is released while a frame is coded; the arrays and buffers coded stay referenced by the
//   call's arguments (and a buffer export pins a bytearray's size) for that time.
// - Every ftc::Status that is not ok becomes ftc.Error(code, status name, message); nothing from
//   the core crashes the interpreter, whatever the bytes.
// - A CodecModel is immutable once loaded: one Python object, shared by any number of encode and
//   decode calls on any threads, holds the core's shared model.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ftc/ftc.hpp"

#ifdef FTC_PYTHON_WITH_PIPELINE
#include "runtime/graph.hpp"
#include "runtime/study.hpp"
#endif

namespace py = pybind11;

namespace {

// Carries a Status across the binding layer; translated to ftc.Error.
struct StatusError {
  ftc::Status status;
};

[[noreturn]] void raise(ftc::Status s) { throw StatusError{std::move(s)}; }
[[noreturn]] void raise_arg(std::string message) {
  raise({ftc::StatusCode::invalid_argument, std::move(message)});
}

std::optional<ftc::DType> dtype_of(const py::dtype& d) {
  switch (d.kind()) {
    case 'f':
      if (d.itemsize() == 4) return ftc::DType::f32;
      if (d.itemsize() == 8) return ftc::DType::f64;
      if (d.itemsize() == 2) return ftc::DType::f16;
      return std::nullopt;
    case 'i':
      if (d.itemsize() == 1) return ftc::DType::i8;
      if (d.itemsize() == 2) return ftc::DType::i16;
      if (d.itemsize() == 4) return ftc::DType::i32;
      return std::nullopt;
    case 'u':
      if (d.itemsize() == 1) return ftc::DType::u8;
      if (d.itemsize() == 2) return ftc::DType::u16;
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

// The StatusCode enumerator's name, as ftc.Error.status gives it.
const char* status_identifier(ftc::StatusCode c) {
  switch (c) {
    case ftc::StatusCode::ok: return "ok";
    case ftc::StatusCode::invalid_argument: return "invalid_argument";
    case ftc::StatusCode::buffer_too_small: return "buffer_too_small";
    case ftc::StatusCode::unsupported_option: return "unsupported_option";
    case ftc::StatusCode::corrupt: return "corrupt";
    case ftc::StatusCode::truncated: return "truncated";
    case ftc::StatusCode::checksum_mismatch: return "checksum_mismatch";
    case ftc::StatusCode::unsupported_version: return "unsupported_version";
    case ftc::StatusCode::limit_exceeded: return "limit_exceeded";
    case ftc::StatusCode::model_mismatch: return "model_mismatch";
    case ftc::StatusCode::unsupported_feature: return "unsupported_feature";
    case ftc::StatusCode::bad_file: return "bad_file";
    case ftc::StatusCode::io_error: return "io_error";
    case ftc::StatusCode::out_of_memory: return "out_of_memory";
    case ftc::StatusCode::internal: return "internal";
  }
  return "internal";
}

// NumPy's name for a decoded dtype; bf16 has none and is widened to float32 (exact).
const char* numpy_name(ftc::DType t) {
  switch (t) {
    case ftc::DType::f32: return "float32";
    case ftc::DType::f64: return "float64";
    case ftc::DType::f16: return "float16";
    case ftc::DType::bf16: return "float32";
    case ftc::DType::i8: return "int8";
    case ftc::DType::u8: return "uint8";
    case ftc::DType::i16: return "int16";
    case ftc::DType::u16: return "uint16";
    case ftc::DType::i32: return "int32";
  }
  return "uint8";
}

// An input tensor: the array it reads (the caller's, or a C-order native copy) and its view.
struct Input {
  std::string name;
  py::array array;
  ftc::TensorView view;
};

Input make_input(std::string name, const py::handle& obj) {
  py::module_ np = py::module_::import("numpy");
  py::array a = py::isinstance<py::array>(obj) ? py::reinterpret_borrow<py::array>(obj)
                                               : py::array(np.attr("asarray")(obj));
  const auto dt = dtype_of(a.dtype());
  if (!dt)
    raise_arg("tensor '" + name + "': dtype " + std::string(py::str(a.dtype())) +
              " is not one of float32, float64, float16, int8, uint8, int16, uint16, int32");
  if (a.ndim() > ftc::kMaxRank)
    raise_arg("tensor '" + name + "': rank " + std::to_string(a.ndim()) + " is over " + std::to_string(ftc::kMaxRank));
  const py::ssize_t item = a.itemsize();
  bool in_place = a.dtype().attr("isnative").cast<bool>();
  for (py::ssize_t d = 0; d < a.ndim(); ++d)
    if (a.strides(d) % item != 0) in_place = false;
  if (!in_place) a = py::array(np.attr("ascontiguousarray")(a, a.dtype().attr("newbyteorder")("=")));
  Input in{std::move(name), a, {}};
  in.view.dtype = *dt;
  in.view.rank = static_cast<int>(a.ndim());
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    in.view.shape[d] = a.shape(d);
    in.view.strides[d] = a.strides(d) / item;
  }
  in.view.data = a.data();
  return in;
}

// The tensors of encode(): one array, a dict {name: array}, or a sequence of arrays or (name, array).
std::vector<Input> make_inputs(const py::handle& tensors, const std::optional<std::string>& name) {
  std::vector<Input> out;
  if (py::isinstance<py::dict>(tensors)) {
    if (name) raise_arg("name= is for a single array; a dict names its tensors by its keys");
    for (auto [k, v] : py::reinterpret_borrow<py::dict>(tensors)) {
      if (!py::isinstance<py::str>(k)) raise_arg("dict keys must be tensor names (str)");
      out.push_back(make_input(k.cast<std::string>(), v));
    }
    if (out.empty()) raise_arg("no tensors to encode");
    return out;
  }
  if (py::isinstance<py::list>(tensors) || py::isinstance<py::tuple>(tensors)) {
    if (name) raise_arg("name= is for a single array; give (name, array) pairs");
    std::size_t i = 0;
    for (auto item : tensors) {
      if (py::isinstance<py::tuple>(item) && py::len(item) == 2 && py::isinstance<py::str>(item[py::int_(0)])) {
        out.push_back(make_input(item[py::int_(0)].cast<std::string>(), item[py::int_(1)]));
      } else if (py::isinstance<py::array>(item)) {
        out.push_back(make_input("", item));
      } else {
        raise_arg("item " + std::to_string(i) + " is neither an array nor a (name, array) pair");
      }
      ++i;
    }
    if (out.empty()) raise_arg("no tensors to encode");
    return out;
  }
  out.push_back(make_input(name.value_or(""), tensors));
  return out;
}

// A keyword value as set_encoder_option takes it: None → "none", bools → "on"/"off",
// (lo, hi) → "lo,hi", numbers in Python's shortest round-trip form, strings as they are.
std::string option_text(const py::handle& v) {
  if (v.is_none()) return "none";
  if (py::isinstance<py::bool_>(v)) return v.cast<bool>() ? "on" : "off";
  if (py::isinstance<py::str>(v)) return v.cast<std::string>();
  if (py::isinstance<py::tuple>(v) || py::isinstance<py::list>(v)) {
    std::string s;
    for (auto x : v) s += (s.empty() ? "" : ",") + option_text(x);
    return s;
  }
  return py::str(v).cast<std::string>();
}

// ftc.CodecModel: a loaded codec model file (immutable; see the invariants above).
struct ModelHandle {
  std::shared_ptr<const ftc::CodecModel> model;
};

ModelHandle model_load(const std::string& path) {
  auto m = ftc::CodecModel::from_file(path);
  if (!m.ok()) raise(m.status());  // the message names the file
  return {std::move(m).value()};
}

// The codec models a decode call may use: None, one CodecModel, or a sequence of them.
std::vector<std::shared_ptr<const ftc::CodecModel>> models_of(const py::handle& obj) {
  std::vector<std::shared_ptr<const ftc::CodecModel>> out;
  if (obj.is_none()) return out;
  if (py::isinstance<ModelHandle>(obj)) {
    out.push_back(obj.cast<const ModelHandle&>().model);
    return out;
  }
  if (py::isinstance<py::list>(obj) || py::isinstance<py::tuple>(obj)) {
    for (auto item : obj) {
      if (!py::isinstance<ModelHandle>(item)) raise_arg("codec_model= takes ftc.CodecModel objects");
      out.push_back(item.cast<const ModelHandle&>().model);
    }
    return out;
  }
  raise_arg("codec_model= takes an ftc.CodecModel or a list of them");
}

ftc::EncoderOptions make_options(const py::kwargs& options) {
  ftc::EncoderOptions o;
  std::vector<std::pair<std::string, std::string>> settings;
  for (auto [k, v] : options) {
    std::string name = k.cast<std::string>();
    for (char& c : name)
      if (c == '_') c = '-';
    if (v.is_none() && name != "per-channel" && name != "clip") continue;  // None: the default
    settings.emplace_back(name, option_text(v));
    if (auto s = ftc::set_encoder_option(o, name, settings.back().second); !s.ok()) raise(s);
  }
  if (auto s = ftc::check_encoder_settings_agree(settings); !s.ok()) raise(s);
  if (auto s = o.validate(); !s.ok()) raise(s);
  return o;
}

py::bytes encode(const py::handle& tensors, const std::optional<std::string>& name, const py::object& codec_model,
                 const std::optional<int>& rate_point, const py::kwargs& options) {
  ftc::EncoderOptions o = make_options(options);
  if (!codec_model.is_none()) {
    // The model fixes the quantizer, coder and chunks, and its compact frame carries no name.
    if (!py::isinstance<ModelHandle>(codec_model)) raise_arg("codec_model= takes an ftc.CodecModel");
    for (auto [k, v] : options)
      if (!v.is_none())
        raise_arg("codec_model= and " + k.cast<std::string>() + "= exclude each other (the model fixes the coding)");
    if (name) raise_arg("codec_model= and name= exclude each other (a model-bound frame carries no name)");
    o.codec_model = codec_model.cast<const ModelHandle&>().model;
    o.rate_point = rate_point.value_or(0);
    if (auto s = o.validate(); !s.ok()) raise(s);
  } else if (rate_point) {
    raise_arg("rate_point= needs codec_model=");
  }
  const std::vector<Input> inputs = make_inputs(tensors, name);
  std::vector<ftc::NamedTensorView> views;
  for (const auto& in : inputs) views.push_back({in.name, in.view});
  ftc::Result<std::vector<std::uint8_t>> frame = ftc::Status{ftc::StatusCode::internal, "not run"};
  {
    py::gil_scoped_release nogil;
    frame = ftc::Encoder(o).encode(views);
  }
  if (!frame.ok()) raise(frame.status());
  return py::bytes(reinterpret_cast<const char*>(frame->data()), frame->size());
}

// A read-only byte view of a bytes-like object, held while it is read.
struct Bytes {
  py::buffer_info info;
  std::span<const std::uint8_t> span() const {
    return {static_cast<const std::uint8_t*>(info.ptr), static_cast<std::size_t>(info.size * info.itemsize)};
  }
};

Bytes bytes_of(const py::handle& data) {
  if (!PyObject_CheckBuffer(data.ptr())) raise_arg("expected bytes, bytearray or memoryview");
  py::buffer b = py::reinterpret_borrow<py::buffer>(data);
  py::buffer_info info = b.request();
  if (info.ndim > 1 || (info.ndim == 1 && info.strides[0] != info.itemsize))
    raise_arg("the frame's bytes must be one contiguous buffer");
  return {std::move(info)};
}

ModelHandle model_from_bytes(const py::handle& data) {
  const Bytes b = bytes_of(data);
  ftc::Result<std::shared_ptr<const ftc::CodecModel>> m = ftc::Status{ftc::StatusCode::internal, "not run"};
  {
    py::gil_scoped_release nogil;
    m = ftc::CodecModel::from_bytes(b.span());
  }
  if (!m.ok()) raise(m.status());
  return {std::move(m).value()};
}

ftc::Decoder make_decoder(int threads, std::optional<std::uint64_t> max_output_bytes, const py::handle& codec_model) {
  if (threads < 1 || threads > 256) raise_arg("threads must be 1..256, got " + std::to_string(threads));
  ftc::DecoderLimits limits;
  if (max_output_bytes) limits.max_output_bytes = *max_output_bytes;
  ftc::Decoder d(limits);
  d.threads = threads;
  for (auto& m : models_of(codec_model))
    if (auto s = d.add_codec_model(std::move(m)); !s.ok()) raise(s);
  return d;
}

// Hands a decoded tensor to NumPy without a copy: the array owns the Tensor through a capsule.
py::array to_array(ftc::Tensor&& t) {
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  if (t.dtype() == ftc::DType::bf16) {
    py::array_t<float> out(shape);
    const auto* src = t.data_as<std::uint16_t>();
    float* dst = out.mutable_data();
    for (std::uint64_t i = 0; i < t.element_count(); ++i) {
      const std::uint32_t bits = static_cast<std::uint32_t>(src[i]) << 16;
      std::memcpy(dst + i, &bits, 4);
    }
    return out;
  }
  auto* owned = new ftc::Tensor(std::move(t));
  py::capsule keep(owned, [](void* p) { delete static_cast<ftc::Tensor*>(p); });
  return py::array(py::dtype(numpy_name(owned->dtype())), shape, owned->data(), keep);
}

std::vector<ftc::NamedTensor> decode_tensors(const py::handle& data, int threads,
                                             std::optional<std::uint64_t> max_output_bytes, const py::handle& codec_model) {
  const Bytes b = bytes_of(data);
  const ftc::Decoder d = make_decoder(threads, max_output_bytes, codec_model);
  ftc::Result<std::vector<ftc::NamedTensor>> r = ftc::Status{ftc::StatusCode::internal, "not run"};
  {
    py::gil_scoped_release nogil;
    r = d.decode(b.span());
  }
  if (!r.ok()) raise(r.status());
  return std::move(r).value();
}

py::list decode_all(const py::handle& data, int threads, std::optional<std::uint64_t> max_output_bytes,
                    const py::object& codec_model) {
  py::list out;
  for (auto& t : decode_tensors(data, threads, max_output_bytes, codec_model))
    out.append(py::make_tuple(t.name, to_array(std::move(t.tensor))));
  return out;
}

py::dict info(const py::handle& data, const py::object& codec_model) {
  const Bytes b = bytes_of(data);
  auto r = make_decoder(1, std::nullopt, codec_model).inspect(b.span());
  if (!r.ok()) raise(r.status());
  const ftc::FrameInfo& f = *r;
  py::dict d;
  d["format_version"] = std::to_string(f.format_major) + "." + std::to_string(f.format_minor);
  d["bytes"] = f.frame_bytes;
  d["header_bytes"] = f.header_bytes;
  d["chunk_checksums"] = f.chunk_checksums;
  d["model_id"] = f.model_id ? py::object(py::int_(*f.model_id)) : py::object(py::none());
  d["model_hash"] = f.model_hash ? py::object(py::int_(*f.model_hash)) : py::object(py::none());
  d["rate_point"] = f.rate_point ? py::object(py::int_(*f.rate_point)) : py::object(py::none());
  py::list tensors;
  for (const auto& t : f.tensors) {
    py::dict jt;
    jt["name"] = t.name;
    jt["dtype"] = ftc::dtype_name(t.dtype);
    jt["shape"] = py::tuple(py::cast(t.shape));
    jt["layout"] = t.layout == ftc::Layout::nchw ? "nchw" : t.layout == ftc::Layout::nhwc ? "nhwc" : "unspecified";
    jt["quantizer"] = ftc::quantizer_name(t.quantizer);
    jt["bits"] = t.bits;
    jt["channel_axis"] = t.channel_axis ? py::object(py::int_(*t.channel_axis)) : py::object(py::none());
    jt["coder"] = ftc::coder_name(t.coder);
    jt["chunk_elements"] = t.chunk_elements;
    jt["chunks"] = t.chunk_count;
    jt["payload_bytes"] = t.payload_bytes;
    tensors.append(jt);
  }
  d["tensors"] = tensors;
  return d;
}

py::list encoder_options() {
  py::list out;
  for (const auto& p : ftc::encoder_params()) {
    py::dict d;
    d["name"] = p.name;
    d["min"] = p.min;
    d["max"] = p.max;
    d["values"] = p.names.empty() ? py::object(py::none())
                                  : py::object(py::cast(std::vector<std::string>(p.names.begin(), p.names.end())));
    d["only"] = p.only.empty() ? py::object(py::none())
                               : py::object(py::cast(std::vector<std::int64_t>(p.only.begin(), p.only.end())));
    d["help"] = p.help;
    out.append(d);
  }
  return out;
}

#ifdef FTC_PYTHON_WITH_PIPELINE
py::dict shape_info(const ftc::runtime::TensorShapeInfo& i) {
  py::dict d;
  d["name"] = i.name;
  d["dtype"] = i.dtype ? py::object(py::str(ftc::dtype_name(*i.dtype))) : py::object(py::none());
  if (i.shape) {
    py::list s;
    for (std::size_t k = 0; k < i.shape->size(); ++k) {
      const auto dim = (*i.shape)[k];
      if (dim >= 0) s.append(dim);
      else if (k < i.dim_names.size() && !i.dim_names[k].empty()) s.append(i.dim_names[k]);
      else s.append(py::none());
    }
    d["shape"] = py::tuple(s);
  } else {
    d["shape"] = py::none();
  }
  return d;
}

py::list layers(const std::string& model) {
  auto g = ftc::runtime::Graph::load(model);
  if (!g.ok()) raise(g.status());
  auto ls = g->layers();
  if (!ls.ok()) raise(ls.status());
  py::list out;
  for (const auto& l : *ls) {
    py::dict d = shape_info(l.info);
    d["tensor"] = l.tensor;
    d["node"] = l.node;
    d["op_type"] = l.op_type;
    d["node_index"] = l.node_index;
    d["head_macs"] = l.head_macs;
    d["head_macs_exact"] = l.head_macs_exact;
    d["cut"] = l.cut;
    d["cut_elements"] = l.cut_elements ? py::object(py::int_(*l.cut_elements)) : py::object(py::none());
    out.append(d);
  }
  return out;
}

py::dict split(const std::string& model, const std::vector<std::string>& at, const std::optional<std::string>& head,
               const std::optional<std::string>& tail) {
  auto g = ftc::runtime::Graph::load(model);
  if (!g.ok()) raise(g.status());
  auto s = g->split(at);
  if (!s.ok()) raise(s.status());
  // Both files or neither; existing files are replaced, as Graph::save does.
  if (head || tail)
    if (auto w = ftc::runtime::save_split(*s, head.value_or(""), tail.value_or(""), /*replace=*/true); !w.ok())
      raise(w.status());
  const auto& i = s->info;
  py::dict d;
  d["requested"] = i.requested;
  d["cut"] = i.cut;
  d["added"] = i.added;
  py::list ci;
  for (const auto& c : i.cut_info) ci.append(shape_info(c));
  d["cut_info"] = ci;
  d["head_nodes"] = i.head_nodes;
  d["tail_nodes"] = i.tail_nodes;
  d["head_macs"] = i.head_macs;
  d["tail_macs"] = i.tail_macs;
  return d;
}

// One rate–accuracy study (runtime::run_study), its report as to_json's text (the Python side
// parses it into dicts). `codec` maps option names to values, `sweep` option names to value lists,
// both as encode() takes them. The GIL is released while the study runs.
std::string evaluate(const std::string& model, const std::string& data, const std::vector<std::string>& at,
                     const py::dict& codec, const py::dict& sweep, const std::vector<std::string>& codec_models,
                     const std::string& baselines, std::size_t limit, int threads, const std::string& calibration,
                     std::size_t calibration_images, const std::vector<double>& mean, const std::vector<double>& std,
                     const std::string& input_shape, const std::string& fashion_mnist_dir, const std::string& anchor,
                     const std::string& command) {
  ftc::runtime::StudyOptions o;
  o.model = model;
  o.data = data;
  o.at = at;
  o.codec_models = codec_models;
  o.baselines = baselines;
  o.limit = limit;
  o.threads = threads;
  o.calibration = calibration;
  o.calibration_images = calibration_images;
  o.mean = mean;
  o.std = std;
  o.input_shape = input_shape;
  o.fashion_mnist_dir = fashion_mnist_dir;
  o.anchor = anchor;
  std::vector<std::string> swept;
  for (auto [k, v] : sweep) {
    std::string spec = k.cast<std::string>();
    for (char& c : spec)
      if (c == '_') c = '-';
    const py::object values = py::isinstance<py::str>(v) ? py::object(py::make_tuple(v)) : py::reinterpret_borrow<py::object>(v);
    spec += "=" + option_text(values);
    auto axis = ftc::runtime::parse_sweep(spec);
    if (!axis.ok()) raise(axis.status());
    swept.push_back(axis->key);
    if (axis->key == "bits") swept.push_back("quantizer");  // a bits value also selects the uniform quantizer
    o.sweep.push_back(std::move(axis).value());
  }
  for (auto [k, v] : codec) {
    std::string name = k.cast<std::string>();
    for (char& c : name)
      if (c == '_') c = '-';
    o.codec.emplace_back(name, option_text(v));
  }
  if (auto s = ftc::check_encoder_settings_agree(o.codec, swept); !s.ok()) raise(s);
  ftc::Result<ftc::runtime::StudyResult> r = ftc::Status{ftc::StatusCode::internal, "not run"};
  {
    py::gil_scoped_release nogil;
    r = ftc::runtime::run_study(o);
  }
  if (!r.ok()) raise(r.status());
  r->report.command = command;
  return ftc::runtime::to_json(r->report, r->curves);
}
#endif

}  // namespace

PYBIND11_MODULE(_ftc, m) {
  m.doc() = "ftc: feature tensor codec for split DNN inference (C++ core)";
  static py::exception<StatusError> error(m, "Error");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const StatusError& e) {
      py::object exc = py::reinterpret_borrow<py::object>(error.ptr())(e.status.to_string());
      exc.attr("code") = static_cast<int>(e.status.code());
      exc.attr("status") = status_identifier(e.status.code());
      exc.attr("message") = e.status.message();
      PyErr_SetObject(error.ptr(), exc.ptr());
    }
  });
  m.attr("__version__") = ftc::version_string();
  m.attr("format_version") = std::to_string(ftc::kFormatMajor) + "." + std::to_string(ftc::kFormatMinor);
  py::class_<ModelHandle>(m, "CodecModel",
                          "A fitted codec model (.ftcm, from `ftc fit`): immutable once loaded; share one object "
                          "among any number of encode/decode calls and threads.")
      .def_static("load", &model_load, py::arg("path"), "Reads and checks a .ftcm file")
      .def_static("from_bytes", &model_from_bytes, py::arg("data"), "Checks and loads the bytes of a .ftcm file")
      .def_property_readonly("id", [](const ModelHandle& h) { return h.model->id(); })
      .def_property_readonly("hash", [](const ModelHandle& h) { return h.model->hash(); },
                             "XXH64 of the file: what frames bind to")
      .def_property_readonly("rate_points", [](const ModelHandle& h) { return h.model->rate_point_count(); })
      .def_property_readonly("rate_point_labels",
                             [](const ModelHandle& h) {
                               std::vector<std::string> out;
                               for (std::size_t r = 0; r < h.model->rate_point_count(); ++r)
                                 out.push_back(h.model->rate_point_label(r));
                               return out;
                             })
      .def_property_readonly("tensor_name", [](const ModelHandle& h) { return h.model->tensor_name(); })
      .def_property_readonly("tensor_dtype", [](const ModelHandle& h) { return std::string(ftc::dtype_name(h.model->tensor_dtype())); })
      .def_property_readonly("tensor_shape", [](const ModelHandle& h) { return py::tuple(py::cast(h.model->tensor_shape())); })
      .def("coded_elements",
           [](const ModelHandle& h, std::size_t point) {
             if (point >= h.model->rate_point_count()) raise_arg("rate point " + std::to_string(point) + " outside the model's");
             return h.model->coded_elements(point);
           },
           py::arg("rate_point"))
      .def("metadata", [](const ModelHandle& h, const std::string& key) { return h.model->metadata(key); }, py::arg("key"))
      .def("__repr__", [](const ModelHandle& h) {
        return "<ftc.CodecModel id " + std::to_string(h.model->id()) + ", " + std::to_string(h.model->rate_point_count()) +
               " rate points, tensor '" + h.model->tensor_name() + "'>";
      });
  m.def("encode", &encode, py::arg("tensors"), py::kw_only(), py::arg("name") = py::none(),
        py::arg("codec_model") = py::none(), py::arg("rate_point") = py::none());
  m.def("decode_all", &decode_all, py::arg("data"), py::kw_only(), py::arg("threads") = 1,
        py::arg("max_output_bytes") = py::none(), py::arg("codec_model") = py::none());
  m.def("info", &info, py::arg("data"), py::kw_only(), py::arg("codec_model") = py::none());
  m.def("encoder_options", &encoder_options);
#ifdef FTC_PYTHON_WITH_PIPELINE
  m.def("layers", &layers, py::arg("model"));
  m.def("split", &split, py::arg("model"), py::arg("at"), py::kw_only(), py::arg("head") = py::none(),
        py::arg("tail") = py::none());
  m.def("evaluate", &evaluate, py::arg("model"), py::kw_only(), py::arg("data"), py::arg("at"), py::arg("codec"),
        py::arg("sweep"), py::arg("codec_models"), py::arg("baselines"), py::arg("limit"), py::arg("threads"),
        py::arg("calibration"), py::arg("calibration_images"), py::arg("mean"), py::arg("std"), py::arg("input_shape"),
        py::arg("fashion_mnist_dir"), py::arg("anchor"), py::arg("command"));
#endif
}
