// The evaluator behind `ftc eval` (see eval.hpp).
#include "runtime/eval.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

namespace ftc::runtime {
namespace {

using Clock = std::chrono::steady_clock;

double micros(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

std::uint64_t elements_of(const Shape& s) {
  std::uint64_t n = 1;
  for (auto d : s) n *= static_cast<std::uint64_t>(std::max<std::int64_t>(d, 0));
  return n;
}

Result<Shape> shape_from_json(const nlohmann::json& j, const std::string& what) {
  if (!j.is_array()) return Status{StatusCode::bad_file, what + ": shape must be an array"};
  Shape s;
  for (const auto& d : j) {
    if (!d.is_number_integer()) return Status{StatusCode::bad_file, what + ": dims must be integers"};
    s.push_back(d.get<std::int64_t>());
  }
  return s;
}

Result<std::vector<double>> numbers(const nlohmann::json& j, const std::string& what) {
  std::vector<double> out;
  if (j.is_number()) {
    out.push_back(j.get<double>());
  } else if (j.is_array()) {
    for (const auto& v : j) {
      if (!v.is_number()) return Status{StatusCode::bad_file, what + ": numbers expected"};
      out.push_back(v.get<double>());
    }
  } else {
    return Status{StatusCode::bad_file, what + ": a number or an array of numbers expected"};
  }
  if (out.empty()) return Status{StatusCode::bad_file, what + ": empty"};
  return out;
}

// Per-worker executors; device[k], server[k] for the learned configuration k (null otherwise).
struct Worker {
  std::unique_ptr<Executor> full, head, tail;
  std::vector<std::unique_ptr<Executor>> device, server;
};

// The device and server executors of every learned configuration.
Status add_learned_executors(Worker& w, const std::vector<CodecConfig>& configs, bool need_server) {
  w.device.resize(configs.size());
  w.server.resize(configs.size());
  for (std::size_t k = 0; k < configs.size(); ++k) {
    if (configs[k].stage != Stage::learned) continue;
    if (!configs[k].make_device || !configs[k].make_server)
      return Status{StatusCode::invalid_argument, "eval: " + configs[k].name + ": no device/server graph"};
    FTC_ASSIGN_OR_RETURN(w.device[k], configs[k].make_device());
    if (need_server) { FTC_ASSIGN_OR_RETURN(w.server[k], configs[k].make_server()); }
  }
  return {};
}

// A learned configuration's device graph on the model input: its one output, the latent.
Result<std::vector<NamedTensor>> run_device(Executor& device, const Tensor& in) {
  if (device.input_names().size() != 1)
    return Status{StatusCode::invalid_argument, "the device graph must have exactly one input"};
  FTC_ASSIGN_OR_RETURN(auto out, device.run({{device.input_names()[0], in.view()}}));
  if (out.size() != 1) return Status{StatusCode::invalid_argument, "the device graph must have exactly one output (the latent)"};
  return out;
}

Result<Worker> make_worker(const Pipeline& p, bool need_full, bool need_head_tail) {
  Worker w;
  if (need_full) {
    if (!p.make_full) return Status{StatusCode::invalid_argument, "eval: no full model"};
    FTC_ASSIGN_OR_RETURN(w.full, p.make_full());
  }
  if (need_head_tail) {
    if (!p.make_head || !p.make_tail) return Status{StatusCode::invalid_argument, "eval: no head/tail model"};
    FTC_ASSIGN_OR_RETURN(w.head, p.make_head());
    FTC_ASSIGN_OR_RETURN(w.tail, p.make_tail());
  }
  return w;
}

Result<Tensor> input_of(const Dataset& data, std::size_t i, const Pipeline& p, Sample* sample_out = nullptr) {
  FTC_ASSIGN_OR_RETURN(Sample s, data.get(i));
  FTC_ASSIGN_OR_RETURN(Tensor in, preprocess(s.image, p.normalization, p.input_shape));
  if (sample_out) *sample_out = std::move(s);
  return in;
}

}  // namespace

int argmax(const Tensor& t) {
  if (t.dtype() != DType::f32 || t.element_count() == 0) return -1;
  const float* p = t.data_as<float>();
  std::size_t best = 0;
  for (std::size_t i = 1; i < t.element_count(); ++i)
    if (p[i] > p[best]) best = i;
  return static_cast<int>(best);
}

std::vector<NamedTensorView> views_of(const std::vector<NamedTensor>& ts) {
  std::vector<NamedTensorView> v;
  v.reserve(ts.size());
  for (const auto& t : ts) v.push_back({t.name, t.tensor.view()});
  return v;
}

Status located_in(const std::string& what, const Status& s) {
  if (s.message().starts_with(what + ": ")) return s;
  return {s.code(), what + ": " + s.message()};
}

// ---- model card, preprocessing ------------------------------------------------------------------

std::string model_card_path(const std::string& onnx_path) {
  const auto slash = onnx_path.find_last_of('/');
  const auto dot = onnx_path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return onnx_path + ".json";
  return onnx_path.substr(0, dot) + ".json";
}

Result<ModelCard> read_model_card(const std::string& path) {
  std::ifstream f(path);
  if (!f) return Status{StatusCode::io_error, path + ": cannot open"};
  nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status{StatusCode::bad_file, path + ": not a JSON object"};
  ModelCard c;
  try {
    if (j.contains("model") && j["model"].is_string()) c.model = j["model"].get<std::string>();
    if (j.contains("input")) {
      const auto& in = j["input"];
      if (in.contains("name")) c.input_name = in["name"].get<std::string>();
      if (in.contains("shape")) { FTC_ASSIGN_OR_RETURN(c.input_shape, shape_from_json(in["shape"], path + ": input.shape")); }
    }
    if (j.contains("output")) {
      const auto& out = j["output"];
      if (out.contains("name")) c.output_name = out["name"].get<std::string>();
      if (out.contains("shape")) { FTC_ASSIGN_OR_RETURN(c.output_shape, shape_from_json(out["shape"], path + ": output.shape")); }
    }
    if (j.contains("normalization")) {
      const auto& n = j["normalization"];
      if (n.contains("scale")) c.normalization.scale = n["scale"].get<double>();
      if (n.contains("mean")) { FTC_ASSIGN_OR_RETURN(c.normalization.mean, numbers(n["mean"], path + ": normalization.mean")); }
      if (n.contains("std")) { FTC_ASSIGN_OR_RETURN(c.normalization.std, numbers(n["std"], path + ": normalization.std")); }
    }
    if (j.contains("test_top1") && j["test_top1"].is_number()) c.test_top1 = j["test_top1"].get<double>();
    if (j.contains("splits") && j["splits"].is_array())
      for (const auto& s : j["splits"])
        if (s.contains("tensor")) c.splits.push_back(s["tensor"].get<std::string>());
    if (j.contains("recommended_split") && j["recommended_split"].is_string())
      c.recommended_split = j["recommended_split"].get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    return Status{StatusCode::bad_file, path + ": " + e.what()};
  }
  for (double s : c.normalization.std)
    if (!(s != 0) || !std::isfinite(s)) return Status{StatusCode::bad_file, path + ": normalization.std must be non-zero"};
  return c;
}

Result<Tensor> preprocess(const Tensor& image, const Normalization& norm, const Shape& input_shape) {
  if (image.dtype() != DType::u8 || image.rank() != 3)
    return Status{StatusCode::invalid_argument, "preprocess: image must be u8 (C, H, W)"};
  const std::int64_t C = image.shape()[0], HW = image.shape()[1] * image.shape()[2];
  Shape shape = input_shape.empty() ? Shape{1, C, image.shape()[1], image.shape()[2]} : input_shape;
  if (elements_of(shape) != image.element_count())
    return Status{StatusCode::invalid_argument, "preprocess: an image of " + std::to_string(image.element_count()) +
                                                    " values does not fit the model input"};
  const auto pick = [&](const std::vector<double>& v, std::int64_t c, const char* what) -> Result<double> {
    if (v.size() == 1) return v[0];
    if (static_cast<std::int64_t>(v.size()) == C) return v[static_cast<std::size_t>(c)];
    return Status{StatusCode::invalid_argument, std::string("preprocess: ") + what + " has " + std::to_string(v.size()) +
                                                    " values for " + std::to_string(C) + " channels"};
  };
  FTC_ASSIGN_OR_RETURN(Tensor out, Tensor::zeros(DType::f32, shape));
  float* dst = out.data_as<float>();
  const std::uint8_t* src = image.data();
  for (std::int64_t c = 0; c < C; ++c) {
    FTC_ASSIGN_OR_RETURN(double mean, pick(norm.mean, c, "mean"));
    FTC_ASSIGN_OR_RETURN(double sd, pick(norm.std, c, "std"));
    float lut[256];
    for (int v = 0; v < 256; ++v) lut[v] = static_cast<float>((v * norm.scale - mean) / sd);
    for (std::int64_t i = 0; i < HW; ++i) dst[c * HW + i] = lut[src[c * HW + i]];
  }
  return out;
}

// ---- probing, calibration -------------------------------------------------------------------------

Result<std::vector<TensorSpec>> probe_cut(const Dataset& data, const Pipeline& pipeline) {
  if (data.size() == 0) return Status{StatusCode::invalid_argument, "eval: the data set is empty"};
  FTC_ASSIGN_OR_RETURN(Worker w, make_worker(pipeline, false, true));
  FTC_ASSIGN_OR_RETURN(Tensor in, input_of(data, 0, pipeline));
  FTC_ASSIGN_OR_RETURN(auto cut, w.head->run({{pipeline.input_name, in.view()}}));
  std::vector<TensorSpec> specs;
  for (const auto& t : cut) specs.push_back({t.name, t.tensor.shape()});
  return specs;
}

Result<std::vector<TensorRange>> calibrate(const Dataset& data, std::size_t images, const Pipeline& pipeline) {
  FTC_ASSIGN_OR_RETURN(Worker w, make_worker(pipeline, false, true));
  const std::size_t n = std::min(images, data.size());
  if (n == 0) return Status{StatusCode::invalid_argument, "calibration: no images"};
  std::vector<TensorRange> ranges;
  for (std::size_t i = 0; i < n; ++i) {
    FTC_ASSIGN_OR_RETURN(Tensor in, input_of(data, i, pipeline));
    FTC_ASSIGN_OR_RETURN(auto cut, w.head->run({{pipeline.input_name, in.view()}}));
    if (ranges.empty())
      for (const auto& t : cut)
        ranges.push_back({t.name, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()});
    for (std::size_t k = 0; k < cut.size() && k < ranges.size(); ++k) {
      const float* p = cut[k].tensor.data_as<float>();
      for (std::size_t e = 0; e < cut[k].tensor.element_count(); ++e) {
        if (!std::isfinite(p[e])) continue;
        ranges[k].lo = std::min(ranges[k].lo, p[e]);
        ranges[k].hi = std::max(ranges[k].hi, p[e]);
      }
    }
  }
  for (auto& r : ranges)
    if (!(r.lo < r.hi)) {  // constant tensor: give the mosaic a non-empty range
      if (!std::isfinite(r.lo)) r.lo = r.hi = 0;
      r.hi = r.lo + 1;
    }
  return ranges;
}

std::vector<ProbeFailure> probe_configs(const Dataset& data, const Pipeline& pipeline,
                                        const std::vector<CodecConfig>& configs) {
  std::vector<ProbeFailure> fails;
  auto fail_all = [&](const Status& st) {
    for (std::size_t k = 0; k < configs.size(); ++k) fails.push_back({k, st});
    return fails;
  };
  auto w = make_worker(pipeline, false, true);
  if (!w.ok()) return fail_all(w.status());
  Sample sample;
  auto in = input_of(data, 0, pipeline, &sample);
  if (!in.ok()) return fail_all(in.status());
  auto cut = w->head->run({{pipeline.input_name, in->view()}});
  if (!cut.ok()) return fail_all(cut.status());
  const auto cut_views = views_of(*cut);
  const std::vector<NamedTensorView> image_views = {{"image", sample.image.view()}};
  for (std::size_t k = 0; k < configs.size(); ++k) {
    std::vector<NamedTensor> latent;
    std::vector<NamedTensorView> latent_views;
    if (configs[k].stage == Stage::learned) {
      if (!configs[k].make_device) {
        fails.push_back({k, Status{StatusCode::invalid_argument, "no device graph"}});
        continue;
      }
      auto dev = configs[k].make_device();
      auto lat = dev.ok() ? run_device(**dev, *in) : Result<std::vector<NamedTensor>>(dev.status());
      if (!lat.ok()) {
        fails.push_back({k, Status{lat.status().code(), "device graph: " + lat.status().message()}});
        continue;
      }
      latent = std::move(lat).value();
      latent_views = views_of(latent);
    }
    const auto& views = configs[k].stage == Stage::split ? cut_views : configs[k].stage == Stage::learned ? latent_views : image_views;
    auto bytes = configs[k].codec->encode(views);
    if (!bytes.ok()) {
      fails.push_back({k, bytes.status()});
      continue;
    }
    auto back = configs[k].codec->decode(*bytes);
    if (!back.ok()) fails.push_back({k, back.status()});
  }
  return fails;
}

// ---- the run --------------------------------------------------------------------------------------

Status check_labels(const Dataset& data, std::size_t images, std::uint64_t classes) {
  images = std::min(images, data.size());
  if (images == 0) return {};
  const bool labelled = data.label(0) != -1;
  for (std::size_t i = 0; i < images; ++i) {
    const std::int32_t l = data.label(i);
    if ((l == -1) == labelled)
      return Status{StatusCode::bad_file, "image " + std::to_string(i) +
                                              (labelled ? " has no label" : " has a label, image 0 has none")};
    if (labelled && (l < 0 || (classes > 0 && static_cast<std::uint64_t>(l) >= classes)))
      return Status{StatusCode::bad_file, "image " + std::to_string(i) + ": label " + std::to_string(l) +
                                              " is outside the model's " + std::to_string(classes) + " classes (0.." +
                                              std::to_string(classes - 1) + ")"};
  }
  return {};
}

Result<Report> evaluate(const Dataset& data, const Pipeline& pipeline, const std::vector<CodecConfig>& configs,
                        const EvalOptions& options) {
  const auto t_start = Clock::now();
  std::size_t n = data.size();
  if (options.limit && options.limit < n) n = options.limit;
  if (n == 0) return Status{StatusCode::invalid_argument, "eval: no images"};
  const std::size_t K = configs.size();
  const int T = static_cast<int>(std::clamp<std::size_t>(static_cast<std::size_t>(std::max(1, options.threads)), 1, n));

  std::vector<Worker> workers;
  for (int t = 0; t < T; ++t) {
    FTC_ASSIGN_OR_RETURN(Worker w, make_worker(pipeline, true, true));
    FTC_RETURN_IF_ERROR(add_learned_executors(w, configs, true));
    workers.push_back(std::move(w));
  }

  std::vector<std::int32_t> label(n, -1), ref_pred(n, -1), split_pred(n, -1);
  std::vector<std::uint32_t> bytes(K * n, 0);
  std::vector<std::int16_t> pred(K * n, -1);
  std::vector<float> enc_us(K * n, 0), dec_us(K * n, 0);
  std::vector<std::uint8_t> failed(K * n, 0);
  std::vector<std::uint64_t> elements(K, 0);
  std::vector<std::string> first_error(K);
  std::vector<double> max_diff(static_cast<std::size_t>(T), 0.0);

  std::atomic<std::size_t> next{0}, done{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  Status run_error;

  auto process = [&](Worker& w, std::size_t i, double& worst) -> Status {
    Sample sample;
    FTC_ASSIGN_OR_RETURN(Tensor in, input_of(data, i, pipeline, &sample));
    label[i] = sample.label;
    const std::vector<NamedTensorView> in_views = {{pipeline.input_name, in.view()}};
    FTC_ASSIGN_OR_RETURN(auto full_out, w.full->run(in_views));
    if (full_out.empty()) return Status{StatusCode::internal, "eval: the full model has no output"};
    ref_pred[i] = argmax(full_out[0].tensor);
    // A label names one of the model's classes; -1 (the data set has none) is the only other value.
    const auto classes = static_cast<std::int64_t>(full_out[0].tensor.element_count());
    if (sample.label < -1 || sample.label >= classes)
      return Status{StatusCode::bad_file, "label " + std::to_string(sample.label) + " is outside the model's " +
                                              std::to_string(classes) + " classes (0.." + std::to_string(classes - 1) + ")"};
    FTC_ASSIGN_OR_RETURN(auto cut, w.head->run(in_views));
    const auto cut_views = views_of(cut);
    FTC_ASSIGN_OR_RETURN(auto split_out, w.tail->run(cut_views));
    if (split_out.empty()) return Status{StatusCode::internal, "eval: the tail has no output"};
    split_pred[i] = argmax(split_out[0].tensor);
    {
      const Tensor& a = full_out[0].tensor;
      const Tensor& b = split_out[0].tensor;
      if (a.element_count() != b.element_count()) return Status{StatusCode::internal, "eval: tail and full outputs differ in size"};
      for (std::size_t e = 0; e < a.element_count(); ++e)
        worst = std::max(worst, std::fabs(double(a.data_as<float>()[e]) - double(b.data_as<float>()[e])));
    }
    const std::vector<NamedTensorView> image_views = {{"image", sample.image.view()}};
    for (std::size_t k = 0; k < K; ++k) {
      const CodecConfig& c = configs[k];
      const std::size_t at = k * n + i;
      const bool split = c.stage == Stage::split;
      const bool learned = c.stage == Stage::learned;
      std::vector<NamedTensor> latent;
      if (learned) {
        auto lat = run_device(*w.device[k], in);
        if (!lat.ok()) return Status{lat.status().code(), c.name + ": device graph: " + lat.status().message()};
        latent = std::move(lat).value();
      }
      const std::vector<NamedTensorView> latent_views = views_of(latent);
      const auto& views = split ? cut_views : learned ? latent_views : image_views;
      if (i == 0) {
        std::uint64_t e = 0;
        for (const auto& v : views) e += v.view.element_count();
        elements[k] = e;  // the same for every image; written by the one worker that has image 0
      }
      const auto t0 = Clock::now();
      auto enc = c.codec->encode(views);
      const auto t1 = Clock::now();
      Status st = enc.status();
      if (enc.ok()) {
        bytes[at] = static_cast<std::uint32_t>(enc->size());
        enc_us[at] = static_cast<float>(micros(t0, t1));
        auto dec = c.codec->decode(*enc);
        const auto t2 = Clock::now();
        st = dec.status();
        if (dec.ok()) {
          dec_us[at] = static_cast<float>(micros(t1, t2));
          if (split) {
            FTC_ASSIGN_OR_RETURN(auto out, w.tail->run(views_of(*dec)));
            pred[at] = static_cast<std::int16_t>(out.empty() ? -1 : argmax(out[0].tensor));
          } else if (learned) {
            Executor& server = *w.server[k];
            if (dec->size() != 1 || server.input_names().size() != 1)
              return Status{StatusCode::invalid_argument, c.name + ": the server graph must take exactly the one latent"};
            auto out = server.run({{server.input_names()[0], (*dec)[0].tensor.view()}});
            if (!out.ok()) return Status{out.status().code(), c.name + ": server graph: " + out.status().message()};
            pred[at] = static_cast<std::int16_t>(out->empty() ? -1 : argmax((*out)[0].tensor));
          } else {
            FTC_ASSIGN_OR_RETURN(Tensor x, preprocess((*dec)[0].tensor, pipeline.normalization, pipeline.input_shape));
            FTC_ASSIGN_OR_RETURN(auto out, w.full->run({{pipeline.input_name, x.view()}}));
            pred[at] = static_cast<std::int16_t>(out.empty() ? -1 : argmax(out[0].tensor));
          }
        }
      }
      if (!st.ok()) {
        failed[at] = 1;
        pred[at] = -1;
        std::lock_guard<std::mutex> lock(mu);
        if (first_error[k].empty()) first_error[k] = "image " + std::to_string(i) + ": " + st.to_string();
      }
    }
    return Status::Ok();
  };

  auto work = [&](int t) {
    double worst = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      const std::size_t i = next.fetch_add(1);
      if (i >= n) break;
      Status st = process(workers[static_cast<std::size_t>(t)], i, worst);
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (run_error.ok()) run_error = Status{st.code(), "image " + std::to_string(i) + ": " + st.message()};
        stop = true;
      }
      done.fetch_add(1);
    }
    max_diff[static_cast<std::size_t>(t)] = worst;
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < T; ++t) threads.emplace_back(work, t);
  while (done.load() < n && !stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (options.progress) options.progress(std::min(done.load(), n), n);
  }
  for (auto& th : threads) th.join();
  if (!run_error.ok()) return run_error;
  if (options.progress) options.progress(n, n);

  Report r;
  r.images = n;
  // Labels are all present or all absent (-1): a data set either has them or not.
  const auto unlabelled = static_cast<std::size_t>(std::count(label.begin(), label.end(), -1));
  if (unlabelled != 0 && unlabelled != n)
    return Status{StatusCode::bad_file, "eval: " + std::to_string(unlabelled) + " of " + std::to_string(n) +
                                            " images have no label"};
  r.labelled = unlabelled == 0;
  std::size_t ref_ok = 0, split_ok = 0, mism = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ref_ok += ref_pred[i] == label[i];
    split_ok += split_pred[i] == label[i];
    mism += split_pred[i] != ref_pred[i];
  }
  r.reference_top1 = double(ref_ok) / double(n);
  r.split_top1 = double(split_ok) / double(n);
  r.split_mismatches = mism;
  r.max_logit_abs_diff = *std::max_element(max_diff.begin(), max_diff.end());
  for (std::size_t k = 0; k < K; ++k) {
    Row row;
    row.name = configs[k].name;
    row.curve = configs[k].curve;
    row.stage = configs[k].stage == Stage::split ? "split" : configs[k].stage == Stage::learned ? "learned" : "input";
    row.estimated_bytes = configs[k].estimated_bytes;
    row.params = configs[k].params;
    row.images = n;
    row.elements = elements[k];
    std::vector<std::uint32_t> b;
    b.reserve(n);
    double enc = 0, dec = 0;
    std::size_t correct = 0, agree = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t at = k * n + i;
      if (failed[at]) {
        ++row.failures;
        continue;
      }
      b.push_back(bytes[at]);
      enc += enc_us[at];
      dec += dec_us[at];
      correct += pred[at] == label[i];
      agree += pred[at] == split_pred[i];
    }
    if (!b.empty()) {
      double sum = 0;
      for (auto v : b) sum += v;
      row.bytes_mean = sum / double(b.size());
      std::sort(b.begin(), b.end());
      const std::size_t rank = static_cast<std::size_t>(std::ceil(0.95 * double(b.size())));
      row.bytes_p95 = b[std::max<std::size_t>(rank, 1) - 1];
      row.encode_us = enc / double(b.size());
      row.decode_us = dec / double(b.size());
    }
    row.bits_per_element = row.elements ? 8.0 * row.bytes_mean / double(row.elements) : 0.0;
    row.top1 = double(correct) / double(n);
    row.agreement = double(agree) / double(n);
    row.top1_drop = (r.reference_top1 - row.top1) * 100.0;
    row.first_error = first_error[k];
    r.rows.push_back(std::move(row));
  }
  r.wall_seconds = std::chrono::duration<double>(Clock::now() - t_start).count();
  return r;
}

}  // namespace ftc::runtime
