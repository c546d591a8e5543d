// The planner's measurements (plan.hpp): every way to run the model, timed and coded on the
// calibration images on this machine. One image at a time on the calling thread, so that a time
// is one image's latency; every executor runs once before it is timed (OpenCV allocates on its
// first run).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "runtime/baselines.hpp"
#include "runtime/dataset.hpp"
#include "runtime/eval.hpp"
#include "runtime/graph.hpp"
#include "runtime/plan.hpp"

namespace ftc::runtime {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// The median (mean of the middle two for an even count); 0 for none.
double median(std::vector<double> v) {
  if (v.empty()) return 0;
  const std::size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m), v.end());
  const double hi = v[m];
  if (v.size() % 2) return hi;
  return (*std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m)) + hi) / 2;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}


// The images, their model inputs, labels and the full model's predictions.
struct Calibration {
  std::vector<Tensor> images;   // u8 (C, H, W)
  std::vector<Tensor> inputs;   // preprocessed
  std::vector<int> labels;      // −1 without labels
  std::vector<int> reference;   // the full model's prediction
  std::string input_name;
  Shape input_shape;
  Normalization normalization;
  bool labelled = true;
  double full_ms = 0;           // median full-model time
  std::uint64_t total_macs = 0;
};

// Correct predictions' share: against the labels, or against the full model without them.
double accuracy_of(const Calibration& cal, const std::vector<int>& predicted) {
  std::size_t right = 0;
  for (std::size_t i = 0; i < predicted.size(); ++i)
    right += predicted[i] == (cal.labelled ? cal.labels[i] : cal.reference[i]);
  return predicted.empty() ? 0 : double(right) / double(predicted.size());
}

// What one codec at one cut measured.
struct Coded {
  std::vector<double> encode, decode, tail;
  double bytes = 0;
  std::vector<int> predicted;
};

// A candidate run: `head` (device side) → codec → `tail` (server side), every codec on the same
// head outputs. Times per image; the head's also returned.
Result<std::vector<Coded>> run_cut(const Calibration& cal, Executor& head, Executor& tail,
                                   const std::vector<std::shared_ptr<const TensorCodec>>& codecs,
                                   std::vector<double>& head_times) {
  std::vector<Coded> out(codecs.size());
  const std::size_t n = cal.inputs.size();
  for (std::size_t i = 0; i <= n; ++i) {
    const bool warmup = i == 0;  // image 0 twice: once untimed
    const std::size_t k = warmup ? 0 : i - 1;
    const std::vector<NamedTensorView> in{{cal.input_name, cal.inputs[k].view()}};
    auto t0 = Clock::now();
    FTC_ASSIGN_OR_RETURN(auto cut, head.run(in));
    const double head_ms = ms_since(t0);
    if (!warmup) head_times.push_back(head_ms);
    const auto views = views_of(cut);
    for (std::size_t c = 0; c < codecs.size(); ++c) {
      t0 = Clock::now();
      FTC_ASSIGN_OR_RETURN(auto bytes, codecs[c]->encode(views));
      const double enc = ms_since(t0);
      t0 = Clock::now();
      FTC_ASSIGN_OR_RETURN(auto decoded, codecs[c]->decode(bytes));
      const double dec = ms_since(t0);
      t0 = Clock::now();
      FTC_ASSIGN_OR_RETURN(auto logits, tail.run(views_of(decoded)));
      const double tail_ms = ms_since(t0);
      if (logits.empty()) return Status{StatusCode::invalid_argument, "the tail has no output"};
      if (warmup) continue;
      out[c].encode.push_back(enc);
      out[c].decode.push_back(dec);
      out[c].tail.push_back(tail_ms);
      out[c].bytes += double(bytes.size()) / double(n);
      out[c].predicted.push_back(argmax(logits[0].tensor));
    }
  }
  return out;
}

Candidate candidate_from(const Calibration& cal, double reference_accuracy, const std::string& name, CandidateKind kind,
                         const std::string& at, const std::string& codec, double head_ms, const Coded& m) {
  Candidate c;
  c.name = name;
  c.kind = kind;
  c.at = at;
  c.codec = codec;
  c.head_ms = head_ms;
  c.encode_ms = median(m.encode);
  c.decode_ms = median(m.decode);
  c.tail_ms = median(m.tail);
  c.bytes = m.bytes;
  c.accuracy = accuracy_of(cal, m.predicted);
  c.drop_points = (reference_accuracy - c.accuracy) * 100.0;
  c.images = m.predicted.size();
  return c;
}

// The study's encoder defaults for a cut of this rank, then the settings (none: bits 4, rans).
Result<EncoderOptions> split_encoder_options(const std::vector<PlanEncoderSetting>& settings, std::size_t rank) {
  EncoderOptions e;
  e.threads = 1;
  if (rank >= 2) e.channel_axis = 1;
  if (rank == 4) e.layout = Layout::nchw;
  const std::vector<PlanEncoderSetting> defaults = {{"bits", "4"}, {"coder", "rans"}};
  for (const auto& [k, v] : settings.empty() ? defaults : settings) FTC_RETURN_IF_ERROR(set_encoder_option(e, k, v));
  return e;
}

Result<Calibration> calibrate_full(const MeasureOptions& o, const Graph& full, Executor& exec) {
  Calibration cal;
  const std::string card_path = model_card_path(o.model);
  auto card = read_model_card(card_path);
  if (!card.ok()) return located_in(card_path, card.status());
  cal.normalization = card->normalization;
  const auto inputs = full.inputs();
  if (inputs.size() != 1) return Status{StatusCode::unsupported_option, o.model + ": planning needs a model with one input"};
  cal.input_name = inputs[0].name;
  if (inputs[0].shape) cal.input_shape = *inputs[0].shape;
  else cal.input_shape = card->input_shape;
  for (auto& d : cal.input_shape)
    if (d < 0) d = 1;
  cal.total_macs = full.total_macs();

  auto data = open_dataset(o.data, o.fashion_mnist_dir);
  if (!data.ok()) return located_in(o.data, data.status());
  const Dataset& ds = **data;
  const std::size_t n = std::min(o.calibration, ds.size());
  if (n == 0) return Status{StatusCode::invalid_argument, o.data + ": no images"};
  for (std::size_t i = 0; i < n; ++i) {
    auto s = ds.get(i);
    if (!s.ok()) return located_in(o.data, s.status());
    auto x = preprocess(s->image, cal.normalization, cal.input_shape);
    if (!x.ok()) return located_in(o.data, x.status());
    cal.images.push_back(std::move(s->image));
    cal.inputs.push_back(std::move(x).value());
    cal.labels.push_back(s->label);
  }
  const bool any = std::any_of(cal.labels.begin(), cal.labels.end(), [](int l) { return l >= 0; });
  const bool all = std::all_of(cal.labels.begin(), cal.labels.end(), [](int l) { return l >= 0; });
  if (any && !all) return Status{StatusCode::bad_file, o.data + ": some images have labels and some do not"};
  cal.labelled = all;

  std::vector<double> times;
  for (std::size_t i = 0; i <= n; ++i) {
    const std::size_t k = i == 0 ? 0 : i - 1;
    const auto t0 = Clock::now();
    auto out = exec.run({{cal.input_name, cal.inputs[k].view()}});
    const double t = ms_since(t0);
    if (!out.ok()) return located_in(o.model, out.status());
    if (out->empty()) return Status{StatusCode::invalid_argument, o.model + ": the model has no output"};
    if (i == 0) continue;
    times.push_back(t);
    cal.reference.push_back(argmax((*out)[0].tensor));
  }
  cal.full_ms = median(times);
  return cal;
}

// Cloud-only: the input image coded on the device, decoded and preprocessed on the server, the
// full model there.
Result<Coded> run_cloud(const Calibration& cal, Executor& full, const TensorCodec& codec) {
  Coded m;
  const std::size_t n = cal.images.size();
  for (std::size_t i = 0; i <= n; ++i) {
    const std::size_t k = i == 0 ? 0 : i - 1;
    const std::vector<NamedTensorView> img{{"image", cal.images[k].view()}};
    auto t0 = Clock::now();
    FTC_ASSIGN_OR_RETURN(auto bytes, codec.encode(img));
    const double enc = ms_since(t0);
    t0 = Clock::now();
    FTC_ASSIGN_OR_RETURN(auto decoded, codec.decode(bytes));
    if (decoded.size() != 1) return Status{StatusCode::corrupt, "cloud-only: one image expected"};
    FTC_ASSIGN_OR_RETURN(Tensor x, preprocess(decoded[0].tensor, cal.normalization, cal.input_shape));
    const double dec = ms_since(t0);
    t0 = Clock::now();
    FTC_ASSIGN_OR_RETURN(auto logits, full.run({{cal.input_name, x.view()}}));
    const double tail = ms_since(t0);
    if (logits.empty()) return Status{StatusCode::invalid_argument, "the model has no output"};
    if (i == 0) continue;
    m.encode.push_back(enc);
    m.decode.push_back(dec);
    m.tail.push_back(tail);
    m.bytes += double(bytes.size()) / double(n);
    m.predicted.push_back(argmax(logits[0].tensor));
  }
  return m;
}

// A non-negative finite number at j[key]; nullopt when absent; throws (caught by the reader,
// which names the file) when present but not such a number.
std::optional<double> number(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return std::nullopt;
  if (!j[key].is_number()) throw std::runtime_error(std::string("\"") + key + "\" must be a number");
  const double v = j[key].get<double>();
  if (!std::isfinite(v) || v < 0) throw std::runtime_error(std::string("\"") + key + "\" must be ≥ 0 and finite");
  return v;
}

std::optional<double> fraction(const nlohmann::json& j, const char* key) {
  auto v = number(j, key);
  if (v && *v > 1) throw std::runtime_error(std::string("\"") + key + "\" is a top-1 fraction in [0, 1]");
  return v;
}

Result<std::vector<Candidate>> measure_learned(const std::string& dir, const Calibration& cal, double reference_accuracy,
                                               std::vector<std::string>& notes) {
  namespace fs = std::filesystem;
  FTC_ASSIGN_OR_RETURN(LearnedReport r, read_learned_report((fs::path(dir) / "report.json").string()));
  const std::string device = (fs::path(dir) / "device.onnx").string();
  const std::string server = (fs::path(dir) / "server.onnx").string();
  const std::string model = (fs::path(dir) / "codec.ftcm").string();
  const std::string base = "learned " + fs::path(dir).filename().string();
  std::vector<Candidate> out;
  if (fs::exists(device) && fs::exists(server) && fs::exists(model)) {
    auto head = make_opencv_executor(device);
    if (!head.ok()) return located_in(device, head.status());
    auto tail = make_opencv_executor(server);
    if (!tail.ok()) return located_in(server, tail.status());
    auto cm = CodecModel::from_file(model);
    if (!cm.ok()) return located_in(model, cm.status());
    std::vector<std::shared_ptr<const TensorCodec>> codecs;
    std::vector<std::string> names;
    for (std::size_t p = 0; p < (*cm)->rate_point_count(); ++p) {
      EncoderOptions e;
      e.codec_model = *cm;
      e.rate_point = static_cast<int>(p);
      codecs.push_back(make_ftc_codec(e));
      names.push_back("model rp" + std::to_string(p) + " (" + (*cm)->rate_point_label(p) + ")");
    }
    std::vector<double> head_times;
    auto coded = run_cut(cal, **head, **tail, codecs, head_times);
    if (!coded.ok()) return located_in(dir, coded.status());
    for (std::size_t c = 0; c < codecs.size(); ++c)
      out.push_back(candidate_from(cal, reference_accuracy, base + (codecs.size() > 1 ? " rp" + std::to_string(c) : ""),
                                   CandidateKind::learned, r.at, names[c], median(head_times), (*coded)[c]));
    return out;
  }
  // From the report: bytes and accuracy as trained; device time from the MACs at this machine's
  // rate (the full model's MACs in its measured time); no coding time is known.
  if (!r.heldout_top1 || !r.reference_top1 || !r.head_macs || !r.encoder_macs)
    return Status{StatusCode::bad_file, dir + "/report.json: without device.onnx, server.onnx and codec.ftcm beside it, "
                                              "heldout_top1, reference_top1, head_macs and encoder_macs are needed"};
  Candidate c;
  c.name = base;
  c.kind = CandidateKind::learned;
  c.at = r.at;
  c.codec = "learned (report)";
  const double ms_per_mac = cal.total_macs ? cal.full_ms / double(cal.total_macs) : 0;
  c.head_ms = (*r.head_macs + *r.encoder_macs) * ms_per_mac;
  c.tail_ms = std::max(0.0, double(cal.total_macs) - *r.head_macs) * ms_per_mac;
  c.bytes = r.estimated_bits_per_image / 8.0;
  c.accuracy = *r.heldout_top1;
  c.drop_points = (*r.reference_top1 - *r.heldout_top1) * 100.0;
  c.note = "from " + dir + "/report.json: bytes estimated, times from MACs, accuracy on its " + r.accuracy_source + " set";
  notes.push_back(c.name + ": " + c.note + " (device.onnx, server.onnx or codec.ftcm missing)");
  (void)reference_accuracy;
  out.push_back(c);
  return out;
}

}  // namespace

Result<LearnedReport> read_learned_report(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return Status{StatusCode::io_error, path + ": " + ec.message()};
  if (size > (1u << 20)) return Status{StatusCode::bad_file, path + ": larger than 1 MiB"};
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status{StatusCode::io_error, path + ": cannot open"};
  LearnedReport r;
  try {
    const auto j = nlohmann::json::parse(f);
    if (!j.is_object()) throw std::runtime_error("a JSON object expected");
    if (!j.contains("at") || !j["at"].is_string()) throw std::runtime_error("\"at\" must be a string");
    r.at = j["at"].get<std::string>();
    auto bits = number(j, "estimated_bits_per_image");
    if (!bits) throw std::runtime_error("\"estimated_bits_per_image\" is missing");
    r.estimated_bits_per_image = *bits;
    r.heldout_top1 = fraction(j, "heldout_top1");
    r.reference_top1 = fraction(j, "reference_top1");
    r.head_macs = number(j, "head_macs");
    r.encoder_macs = number(j, "encoder_macs");
    r.accuracy_source = "held-out";
    if (j.contains("test")) {
      const auto& t = j["test"];
      if (!t.is_object()) throw std::runtime_error("\"test\" must be an object");
      auto tb = number(t, "estimated_bits_per_image");
      auto tt = fraction(t, "top1");
      auto tr = fraction(t, "reference_top1");
      if (tb && tt && tr) {
        r.estimated_bits_per_image = *tb;
        r.heldout_top1 = tt;
        r.reference_top1 = tr;
        r.accuracy_source = "test";
      }
    }
  } catch (const std::exception& e) {
    return Status{StatusCode::bad_file, path + ": " + e.what()};
  }
  return r;
}

Result<Measurement> measure_candidates(const MeasureOptions& o, const std::function<void(const MeasureEvent&)>& progress) {
  auto say = [&](const std::string& text) {
    if (progress) progress({text});
  };
  if (o.calibration == 0) return Status{StatusCode::invalid_argument, "calibration needs at least one image"};
  if (o.cloud_jpeg_quality < 1 || o.cloud_jpeg_quality > 100)
    return Status{StatusCode::invalid_argument, "the cloud JPEG quality must be 1..100"};
  // Codec settings before any model runs.
  FTC_RETURN_IF_ERROR(split_encoder_options(o.codec, 4).status());
  std::shared_ptr<const CodecModel> codec_model;
  if (!o.codec_model.empty()) {
    auto cm = CodecModel::from_file(o.codec_model);
    if (!cm.ok()) return located_in(o.codec_model, cm.status());
    codec_model = *cm;
  }

  auto graph = Graph::load(o.model);
  if (!graph.ok()) return located_in(o.model, graph.status());
  Graph& full = *graph;
  if (!o.input_shape.empty())
    if (auto s = full.set_input_shapes(o.input_shape); !s.ok()) return located_in(o.model, s);
  auto layers = full.layers();
  if (!layers.ok()) return located_in(o.model, layers.status());
  for (const auto& t : o.at)
    if (std::none_of(layers->begin(), layers->end(), [&](const Layer& l) { return l.tensor == t; }))
      return Status{StatusCode::invalid_argument, o.model + ": " + t + " is not a split candidate (see ftc layers)"};
  auto full_exec = make_opencv_executor(full);
  if (!full_exec.ok()) return located_in(o.model, full_exec.status());

  say("measuring the full model on " + std::to_string(o.calibration) + " images of " + o.data);
  FTC_ASSIGN_OR_RETURN(Calibration cal, calibrate_full(o, full, **full_exec));
  Measurement out;
  out.images = cal.inputs.size();
  out.labelled = cal.labelled;
  out.reference_accuracy = accuracy_of(cal, cal.reference);
  const double ref = out.reference_accuracy;
  if (!cal.labelled) out.notes.push_back(o.data + " has no labels: accuracy is agreement with the full model");

  {  // device-only: the full model on the device, nothing sent
    Candidate c;
    c.name = "device-only";
    c.kind = CandidateKind::device_only;
    c.codec = "-";
    c.head_ms = cal.full_ms;
    c.accuracy = ref;
    c.images = out.images;
    out.candidates.push_back(c);
  }
  const TensorSpec image{"image", cal.images[0].shape()};
  for (const auto& [name, kind, quality] : {std::tuple{std::string("cloud-png"), tile::ImageCodec::png, 0},
                                            std::tuple{"cloud-jpeg q=" + std::to_string(o.cloud_jpeg_quality),
                                                       tile::ImageCodec::jpeg, o.cloud_jpeg_quality}}) {
    say("measuring " + name);
    auto m = run_cloud(cal, **full_exec, *make_image_codec(image, kind, quality));
    if (!m.ok()) return located_in(name, m.status());
    out.candidates.push_back(candidate_from(cal, ref, name, CandidateKind::cloud, "",
                                            kind == tile::ImageCodec::png ? "png" : "jpeg q=" + std::to_string(quality), 0, *m));
  }

  for (std::size_t li = 0; li < layers->size(); ++li) {
    const Layer& layer = (*layers)[li];
    if (!o.at.empty() && std::find(o.at.begin(), o.at.end(), layer.tensor) == o.at.end()) continue;
    const std::string at = join(layer.cut);
    say("measuring split " + std::to_string(li) + " (" + at + ")");
    auto split = full.split(layer.cut);
    if (!split.ok()) return located_in(o.model, split.status());
    auto head = make_opencv_executor(split->head);
    if (!head.ok()) return located_in(o.model + " head at " + at, head.status());
    auto tail = make_opencv_executor(split->tail);
    if (!tail.ok()) return located_in(o.model + " tail at " + at, tail.status());
    std::size_t rank = 0;
    if (!split->info.cut_info.empty() && split->info.cut_info[0].shape) rank = split->info.cut_info[0].shape->size();
    FTC_ASSIGN_OR_RETURN(EncoderOptions e, split_encoder_options(o.codec, rank));
    std::vector<std::shared_ptr<const TensorCodec>> codecs{make_ftc_codec(e)};
    std::vector<std::string> names{"split " + std::to_string(li)};
    std::vector<std::string> codec_names{make_ftc_config(e).name};
    if (codec_model && layer.cut.size() == 1 && layer.cut[0] == codec_model->tensor_name()) {
      for (std::size_t p = 0; p < codec_model->rate_point_count(); ++p) {
        EncoderOptions m = e;
        m.codec_model = codec_model;
        m.rate_point = static_cast<int>(p);
        codecs.push_back(make_ftc_codec(m));
        names.push_back("split " + std::to_string(li) + " model rp" + std::to_string(p));
        codec_names.push_back("model rp" + std::to_string(p) + " (" + codec_model->rate_point_label(p) + ")");
      }
    }
    std::vector<double> head_times;
    auto coded = run_cut(cal, **head, **tail, codecs, head_times);
    if (!coded.ok()) return located_in("split at " + at, coded.status());
    for (std::size_t c = 0; c < codecs.size(); ++c)
      out.candidates.push_back(candidate_from(cal, ref, names[c], CandidateKind::split, at, codec_names[c],
                                              median(head_times), (*coded)[c]));
  }
  if (codec_model &&
      std::none_of(layers->begin(), layers->end(), [&](const Layer& l) { return l.single() && l.tensor == codec_model->tensor_name(); }))
    out.notes.push_back(o.codec_model + ": its tensor " + codec_model->tensor_name() + " is not a single-tensor split of " + o.model);

  for (const auto& dir : o.learned) {
    say("measuring " + dir);
    FTC_ASSIGN_OR_RETURN(auto learned, measure_learned(dir, cal, ref, out.notes));
    for (auto& c : learned) out.candidates.push_back(std::move(c));
  }
  return out;
}

}  // namespace ftc::runtime
