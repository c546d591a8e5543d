#include "server/service.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>

#include "runtime/executor.hpp"
#include "runtime/graph.hpp"
#include "runtime/mosaic.hpp"

namespace ftc::server {

struct Service::Tail {
  std::string name;
  std::vector<std::pair<std::string, Shape>> inputs;  // declared; -1 = dynamic
  std::optional<runtime::Normalization> image;         // a full model taking input images: one input [N,]C,H,W
  bool batching = false;
  std::string note;
  std::unique_ptr<Batcher> batcher;
};

namespace {

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

Answer error(int status, std::string kind, std::string reason) {
  Answer a;
  a.status = status;
  a.kind = std::move(kind);
  a.reason = std::move(reason);
  return a;
}

// The error kind of a decoder status: its C ABI name without the prefix, e.g. "checksum_mismatch".
const char* kind_of(StatusCode c) {
  switch (c) {
    case StatusCode::invalid_argument: return "invalid_argument";
    case StatusCode::buffer_too_small: return "buffer_too_small";
    case StatusCode::unsupported_option: return "unsupported_option";
    case StatusCode::corrupt: return "corrupt";
    case StatusCode::truncated: return "truncated";
    case StatusCode::checksum_mismatch: return "checksum_mismatch";
    case StatusCode::unsupported_version: return "unsupported_version";
    case StatusCode::limit_exceeded: return "limit_exceeded";
    case StatusCode::model_mismatch: return "model_mismatch";
    case StatusCode::unsupported_feature: return "unsupported_feature";
    case StatusCode::bad_file: return "bad_file";
    case StatusCode::io_error: return "io_error";
    case StatusCode::out_of_memory: return "out_of_memory";
    default: return "internal";
  }
}

Answer error_of(const Status& s) { return error(http_status_of(s.code()), kind_of(s.code()), s.message()); }

bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

Result<std::vector<std::uint8_t>> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status{StatusCode::io_error, path + ": cannot open"};
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) return Status{StatusCode::io_error, path + ": read error"};
  return bytes;
}

std::string shape_text(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + (s[i] < 0 ? std::string("?") : std::to_string(s[i]));
  return out + "]";
}

// Why the decoded tensors cannot feed `tail`, or "" when they can.
std::string mismatch(const std::vector<NamedTensor>& ts, const std::vector<std::pair<std::string, Shape>>& inputs,
                     bool batching) {
  if (ts.size() != inputs.size())
    return "the frame holds " + std::to_string(ts.size()) + " tensors, the tail takes " + std::to_string(inputs.size());
  for (const auto& [name, shape] : inputs) {
    auto it = std::find_if(ts.begin(), ts.end(), [&](const NamedTensor& t) { return t.name == name; });
    if (it == ts.end()) return "the tail's input '" + name + "' is not in the frame";
    const Shape& got = it->tensor.shape();
    bool ok = got.size() == shape.size() && !got.empty() && got[0] >= 1;
    for (std::size_t d = 0; ok && d < got.size(); ++d)
      ok = shape[d] < 0 || got[d] == shape[d] || (d == 0 && batching);
    if (!ok) return "tensor '" + name + "' has shape " + shape_text(got) + ", the tail takes " + shape_text(shape);
  }
  return "";
}

}  // namespace

std::string Answer::json() const {
  nlohmann::json j;
  if (status == 200) {
    j["class"] = cls;
    j["scores"] = scores;
    j["decode_ms"] = decode_ms;
    j["tail_ms"] = tail_ms;
    j["queue_ms"] = queue_ms;
    j["batch"] = batch_size;
    j["tail"] = tail;
  } else {
    j["error"] = kind;
    j["reason"] = reason;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int http_status_of(StatusCode code) {
  switch (code) {
    case StatusCode::corrupt:
    case StatusCode::truncated:
    case StatusCode::checksum_mismatch:
    case StatusCode::bad_file:
      return 400;
    case StatusCode::limit_exceeded:
      return 413;
    case StatusCode::model_mismatch:
      return 409;
    case StatusCode::unsupported_version:
    case StatusCode::unsupported_feature:
    case StatusCode::invalid_argument:
    case StatusCode::unsupported_option:
      return 422;
    case StatusCode::out_of_memory:
      return 503;
    default:
      return 500;
  }
}

Result<std::unique_ptr<Service>> Service::create(const std::vector<TailSpec>& tails, const ServiceOptions& options) {
  if (tails.empty()) return Status{StatusCode::invalid_argument, "no tail model"};
  std::unique_ptr<Service> s(new Service());
  s->options_ = options;
  s->options_.runners = std::max(1, options.runners);
  if (options.opencv_threads > 0) cv::setNumThreads(options.opencv_threads);
  s->decoder_ = Decoder(options.limits);
  for (const auto& path : options.codec_models) {
    FTC_ASSIGN_OR_RETURN(auto model, CodecModel::from_file(path));
    if (Status st = s->decoder_.add_codec_model(model); !st.ok()) return Status{st.code(), path + ": " + st.message()};
    s->model_names_.push_back(path);
  }
  for (const auto& spec : tails) {
    if (!valid_name(spec.name))
      return Status{StatusCode::invalid_argument, "tail name '" + spec.name + "': use 1-64 of A-Z a-z 0-9 . _ -"};
    for (const auto& t : s->tails_)
      if (t->name == spec.name) return Status{StatusCode::invalid_argument, "tail name '" + spec.name + "' given twice"};
    auto tail = std::make_unique<Tail>();
    tail->name = spec.name;
    FTC_ASSIGN_OR_RETURN(auto bytes, read_file(spec.onnx_path));
    FTC_ASSIGN_OR_RETURN(auto graph, runtime::Graph::parse(bytes, spec.onnx_path));
    for (const auto& in : graph.inputs()) {
      if (!in.shape) return Status{StatusCode::bad_file, spec.onnx_path + ": input '" + in.name + "' has no shape"};
      tail->inputs.push_back({in.name, *in.shape});
    }
    if (spec.image) {
      // One input [N,] C, H, W with C 1 or 3 and static C, H, W: the image it takes.
      const auto bad = [&](const std::string& why) { return Status{StatusCode::invalid_argument, spec.onnx_path + ": " + why}; };
      if (tail->inputs.size() != 1) return bad("an image model must have one input");
      const Shape& sh = tail->inputs[0].second;
      if (sh.size() < 3 || sh.size() > 4) return bad("the input " + shape_text(sh) + " is not [N,]C,H,W");
      const std::int64_t C = sh[sh.size() - 3], H = sh[sh.size() - 2], W = sh[sh.size() - 1];
      if ((C != 1 && C != 3) || H < 1 || W < 1)
        return bad("the input " + shape_text(sh) + " is not an image of 1 or 3 channels and a static size");
      for (double sd : spec.image->std)
        if (sd == 0) return bad("the normalization's std must be non-zero");
      tail->image = spec.image;
    }
    // Batching needs a tail whose batch dim is dynamic and which computes rows independently:
    // checked on random input, else the tail runs one request at a time.
    std::vector<std::uint8_t> run_bytes = bytes;
    BatchOptions batch = options.batch;
    if (batch.max_batch > 1) {
      auto dyn = make_batch_dynamic(bytes);
      Status why = dyn.status();
      if (dyn.ok()) {
        auto exec = runtime::make_opencv_executor_from_bytes(*dyn, spec.onnx_path);
        why = exec.status();
        if (exec.ok()) {
          std::vector<std::pair<std::string, Shape>> shapes = tail->inputs;
          for (auto& [n, sh] : shapes)
            for (auto& d : sh) d = d < 0 ? 1 : d;
          for (auto& [n, sh] : shapes)
            if (!sh.empty()) sh[0] = 1;
          why = check_batching(**exec, shapes);
        }
      }
      if (why.ok()) {
        run_bytes = std::move(dyn).value();
        tail->batching = true;
      } else {
        tail->note = "batching off: " + why.message();
        batch.max_batch = 1;
      }
    }
    std::vector<std::unique_ptr<runtime::Executor>> execs;
    for (int r = 0; r < s->options_.runners; ++r) {
      FTC_ASSIGN_OR_RETURN(auto e, runtime::make_opencv_executor_from_bytes(run_bytes, spec.onnx_path));
      execs.push_back(std::move(e));
    }
    Metrics* m = &s->metrics_;
    const std::string name = spec.name;
    tail->batcher = std::make_unique<Batcher>(std::move(execs), batch, [m, name](std::size_t n, double secs) {
      m->batch(name, n);
      m->tail_seconds(name, secs);
    });
    s->tails_.push_back(std::move(tail));
  }
  return s;
}

Service::~Service() = default;

Answer Service::infer(std::span<const std::uint8_t> body, std::string_view tail_name, Clock::time_point received) {
  const int inflight = inflight_.fetch_add(1) + 1;
  metrics_.inflight(1);
  Answer a = [&]() -> Answer {
    if (body.size() > options_.max_body_bytes)
      return error(413, "body_too_large",
                   "the body has " + std::to_string(body.size()) + " bytes, the limit is " + std::to_string(options_.max_body_bytes));
    if (inflight > options_.max_inflight)
      return error(503, "overloaded", std::to_string(inflight - 1) + " requests in flight, the limit is " +
                                          std::to_string(options_.max_inflight));
    const auto deadline = received + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double, std::milli>(options_.time_budget_ms));
    if (Clock::now() > deadline) return error(503, "timeout", "the time budget ran out before decoding");
    // 5. the tail by name first: an unknown name needs no decoding.
    Tail* tail = nullptr;
    if (!tail_name.empty()) {
      for (auto& t : tails_)
        if (t->name == tail_name) tail = t.get();
      if (!tail) return error(404, "unknown_tail", "no tail named '" + std::string(tail_name) + "'");
    }
    const auto t0 = Clock::now();
    const bool png = runtime::tile::is_png(body), jpeg = !png && runtime::tile::is_jpeg(body);
    if ((png || jpeg) && !tail)
      for (auto& t : tails_)
        if (t->image) {
          tail = t.get();
          break;
        }
    auto decoded = png || jpeg ? decode_image(body, png, tail) : decoder_.decode(body);
    const double decode_ms = ms_since(t0);
    metrics_.decode_seconds(decode_ms / 1000.0);
    if (!decoded.ok()) {
      if ((png || jpeg) && decoded.status().code() == StatusCode::invalid_argument)
        return error(422, "input_mismatch", decoded.status().message());
      return error_of(decoded.status());
    }
    if (!tail) {
      for (auto& t : tails_)
        if (mismatch(*decoded, t->inputs, t->batching).empty()) {
          tail = t.get();
          break;
        }
      if (!tail) tail = tails_.front().get();
    }
    if (std::string why = mismatch(*decoded, tail->inputs, tail->batching); !why.empty())
      return error(422, "input_mismatch", "tail '" + tail->name + "': " + why);
    if (Clock::now() > deadline) return error(503, "timeout", "the time budget ran out after decoding");
    BatchResult r = tail->batcher->run(std::move(decoded).value(), deadline);
    switch (r.outcome) {
      case BatchResult::Outcome::ok:
        break;
      case BatchResult::Outcome::overloaded:
        return error(503, "overloaded", r.message);
      case BatchResult::Outcome::timeout:
        return error(503, "timeout", r.message);
      case BatchResult::Outcome::stopped:
        return error(503, "stopping", r.message);
      case BatchResult::Outcome::failed:
        return error(500, "tail_failed", r.message);
    }
    Answer ok;
    ok.tail = tail->name;
    ok.decode_ms = decode_ms;
    ok.tail_ms = r.tail_ms;
    ok.queue_ms = r.queue_ms;
    ok.batch_size = r.batch_size;
    if (r.outputs.empty() || r.outputs[0].tensor.element_count() == 0)
      return error(500, "tail_failed", "the tail gave no output");
    const Tensor& y = r.outputs[0].tensor;
    const std::uint64_t row = y.element_count() / static_cast<std::uint64_t>(y.shape()[0]);
    const float* p = y.data_as<float>();
    ok.scores.assign(p, p + row);
    ok.cls = static_cast<int>(std::max_element(ok.scores.begin(), ok.scores.end()) - ok.scores.begin());
    return ok;
  }();
  // Metric labels name served tails only ("-" otherwise): a client cannot grow the label set.
  if (a.tail.empty()) a.tail = "-";
  metrics_.request(a.tail, a.status, a.kind, ms_since(received) / 1000.0);
  metrics_.inflight(-1);
  inflight_.fetch_sub(1);
  return a;
}

// An image body for `tail` (null: no image model is served): decoded to the model's channels,
// its declared size checked against the model's H×W before the pixels are allocated (libpng /
// libjpeg read the header first), interleaved → planar, normalized as the card says.
Result<std::vector<NamedTensor>> Service::decode_image(std::span<const std::uint8_t> body, bool png, const Tail* tail) const {
  const char* what = png ? "png" : "jpeg";
  if (!tail) return Status{StatusCode::invalid_argument, std::string("a ") + what + " body needs a model served with --image-model"};
  if (!tail->image)
    return Status{StatusCode::invalid_argument, "tail '" + tail->name + "' takes ftc frames, not images"};
  Shape shape = tail->inputs[0].second;  // [N,]C,H,W, checked at start
  for (auto& d : shape) d = d < 0 ? 1 : d;
  const std::int64_t C = shape[shape.size() - 3], H = shape[shape.size() - 2], W = shape[shape.size() - 1];
  const auto max_pixels = static_cast<std::uint64_t>(H * W);
  auto img = png ? runtime::tile::decode_png(body, static_cast<int>(C), max_pixels)
                 : runtime::tile::decode_jpeg(body, static_cast<int>(C), max_pixels);
  if (!img.ok()) return img.status();
  if (img->height != H || img->width != W)
    return Status{StatusCode::invalid_argument, std::string(what) + ": the image is " + std::to_string(img->width) + "x" +
                                                    std::to_string(img->height) + ", model '" + tail->name + "' takes " +
                                                    std::to_string(W) + "x" + std::to_string(H)};
  FTC_ASSIGN_OR_RETURN(Tensor planar, runtime::tile::to_planar(*img));
  FTC_ASSIGN_OR_RETURN(Tensor x, runtime::preprocess(planar, *tail->image, shape));
  std::vector<NamedTensor> out;
  out.push_back({tail->inputs[0].first, std::move(x)});
  return out;
}

std::string Service::health_json() const {
  nlohmann::json j;
  j["status"] = "ok";
  j["tails"] = nlohmann::json::array();
  for (const auto& t : tails_) {
    nlohmann::json tj;
    tj["name"] = t->name;
    tj["batching"] = t->batching;
    tj["input"] = t->image ? "image" : "frame";
    if (!t->note.empty()) tj["note"] = t->note;
    j["tails"].push_back(tj);
  }
  j["codec_models"] = model_names_;
  j["max_body_bytes"] = options_.max_body_bytes;
  j["max_elements"] = options_.limits.max_elements;
  j["max_batch"] = options_.batch.max_batch;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<Service::TailState> Service::tails() const {
  std::vector<TailState> out;
  for (const auto& t : tails_) out.push_back({t->name, t->batching, t->image.has_value(), t->note});
  return out;
}

}  // namespace ftc::server
