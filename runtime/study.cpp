// The evaluation API (runtime/study.hpp): each step of a study is one function below, and
// run_study calls them in order.
#include "runtime/study.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "runtime/dataset.hpp"
#include "runtime/eval.hpp"
#include "runtime/graph.hpp"
#include "runtime/learned.hpp"
#include "codec/model/codec_model.hpp"

namespace ftc::runtime {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// ---- model card -----------------------------------------------------------------------------

struct ModelSetup {
  ModelCard card;
  Normalization normalization;   // the card's, with the options' mean/std over it
  std::vector<std::string> at;   // the tensors to split at
};

Result<ModelSetup> read_model_setup(const StudyOptions& o) {
  ModelSetup m;
  const std::string card_path = model_card_path(o.model);
  if (std::filesystem::exists(card_path)) {
    auto c = read_model_card(card_path);
    if (!c.ok()) return located_in(card_path, c.status());
    m.card = std::move(c).value();
  } else if (o.mean.empty() || o.std.empty()) {
    return Status{StatusCode::invalid_argument,
                  o.model + ": no model card " + card_path + " beside it: give the normalization's mean and std"};
  }
  m.normalization = m.card.normalization;
  if (!o.mean.empty()) m.normalization.mean = o.mean;
  if (!o.std.empty()) m.normalization.std = o.std;
  for (double s : m.normalization.std)
    if (s == 0) return Status{StatusCode::invalid_argument, o.model + ": the normalization's std must be non-zero"};
  m.at = o.at;
  if (m.at.empty()) {
    if (m.card.recommended_split.empty())
      return Status{StatusCode::invalid_argument, o.model + ": no split tensors given and no recommended_split in the model card"};
    m.at = {m.card.recommended_split};
  }
  return m;
}

// ---- graph and split --------------------------------------------------------------------------

// The full model, its head and tail, and the pipeline that runs them. Held by pointer: the
// pipeline's executor factories refer to the graphs.
struct SplitModel {
  Graph full;
  Split split;
  Pipeline pipeline;
};

Result<std::unique_ptr<SplitModel>> open_split_model(const StudyOptions& o, const ModelSetup& m,
                                                     std::vector<std::string>& notes) {
  auto sm = std::make_unique<SplitModel>();
  auto graph = Graph::load(o.model);
  if (!graph.ok()) return located_in(o.model, graph.status());
  sm->full = std::move(graph).value();
  if (!o.input_shape.empty())
    if (auto s = sm->full.set_input_shapes(o.input_shape); !s.ok()) return located_in(o.model, s);
  const auto inputs = sm->full.inputs();
  if (inputs.size() != 1)
    return Status{StatusCode::unsupported_option, o.model + ": evaluation needs a model with exactly one input"};
  auto split = sm->full.split(m.at);
  if (!split.ok()) return located_in(o.model, split.status());
  sm->split = std::move(split).value();
  if (!sm->split.info.added.empty())
    notes.push_back("the cut also carries " + join(sm->split.info.added) + " (needed by the tail)");

  Pipeline& p = sm->pipeline;
  p.input_name = inputs[0].name;
  if (inputs[0].shape) p.input_shape = *inputs[0].shape;
  else if (!m.card.input_shape.empty()) p.input_shape = m.card.input_shape;
  for (auto& d : p.input_shape)
    if (d < 0) d = 1;
  p.normalization = m.normalization;
  const Graph* full = &sm->full;
  const Graph* head = &sm->split.head;
  const Graph* tail = &sm->split.tail;
  p.make_full = [full]() { return make_opencv_executor(*full); };
  p.make_head = [head]() { return make_opencv_executor(*head); };
  p.make_tail = [tail]() { return make_opencv_executor(*tail); };
  return sm;
}

// ---- calibration ------------------------------------------------------------------------------

bool needs_ranges(const std::vector<std::string>& baselines) {
  return std::any_of(baselines.begin(), baselines.end(),
                     [](const std::string& b) { return b == "zfp" || b == "mosaic-jpeg" || b == "mosaic-png"; });
}

// Per cut tensor min/max over the calibration images, with a note per tensor.
Result<std::vector<TensorRange>> calibration_ranges(const StudyOptions& o, const Pipeline& pipeline,
                                                    std::vector<std::string>& notes) {
  std::string cal = o.calibration;
  if (cal.empty())
    cal = o.data.rfind("fashion-mnist:", 0) == 0 ? "fashion-mnist:train:" + std::to_string(o.calibration_images) : o.data;
  auto cal_data = open_dataset(cal, o.fashion_mnist_dir);
  if (!cal_data.ok()) return located_in(cal, cal_data.status());
  auto ranges = calibrate(**cal_data, o.calibration_images, pipeline);
  if (!ranges.ok()) return located_in(cal, ranges.status());
  for (const auto& x : *ranges) {
    char b[256];
    std::snprintf(b, sizeof b, "mosaic/zfp range of %s: [%g, %g] (min/max over the first %zu images of %s)",
                  x.tensor.c_str(), double(x.lo) + 0.0, double(x.hi) + 0.0,
                  std::min(o.calibration_images, (*cal_data)->size()), cal.c_str());
    notes.push_back(b);
  }
  return ranges;
}

// ---- configurations ---------------------------------------------------------------------------

// The study's encoder defaults for this cut, then the options' codec settings.
Result<EncoderOptions> base_encoder_options(const StudyOptions& o, const std::vector<TensorSpec>& cut) {
  EncoderOptions base;
  base.threads = 1;
  const std::size_t rank = cut.empty() ? 0 : cut[0].shape.size();
  if (rank >= 2) base.channel_axis = 1;
  if (rank == 4) base.layout = Layout::nchw;
  for (const auto& [name, value] : o.codec) FTC_RETURN_IF_ERROR(set_encoder_option(base, name, value));
  return base;
}

// A learned codec model: one configuration running its device graph, the codec's rate point 0
// and its server graph, named after the model's folder, on the curve ftc-learned.
Result<CodecConfig> learned_config(const StudyOptions& o, const std::string& path, const model::CodecModelFile& file,
                                   EncoderOptions e) {
  const bool overrides = !o.device_graph.empty() || !o.server_graph.empty();
  auto graphs = load_learned_graphs(file, path, o.device_graph, o.server_graph);
  if (!graphs.ok()) return graphs.status();
  auto device = std::make_shared<const std::vector<std::uint8_t>>(std::move(graphs->device));
  auto server = std::make_shared<const std::vector<std::uint8_t>>(std::move(graphs->server));
  e.rate_point = 0;
  CodecConfig c = make_ftc_config(e);
  std::string folder = std::filesystem::path(path).parent_path().filename().string();
  if (folder.empty()) folder = std::filesystem::path(path).stem().string();
  c.name = "learned:" + folder;
  c.curve = "ftc-learned";
  const auto& shape = file.learned->latent.shape;
  std::string dims;
  for (auto d : shape) dims += (dims.empty() ? "" : "x") + std::to_string(d);
  c.params = "latent " + dims + " context-rans" + (overrides ? " (graphs given)" : "");
  c.stage = Stage::learned;
  const std::string dev_name = graphs->device_path, srv_name = graphs->server_path;
  c.make_device = [device, dev_name]() { return make_opencv_executor_from_bytes(*device, dev_name); };
  c.make_server = [server, srv_name]() { return make_opencv_executor_from_bytes(*server, srv_name); };
  if (auto est = learned_estimate(path)) c.estimated_bytes = est->frame_bytes;
  return c;
}

Result<std::vector<CodecConfig>> ftc_configs(const StudyOptions& o, const std::vector<TensorSpec>& cut) {
  FTC_ASSIGN_OR_RETURN(EncoderOptions base, base_encoder_options(o, cut));
  std::vector<CodecConfig> configs;
  if (o.codec_models_only) {
    if (!o.codec.empty() || !o.sweep.empty())
      return Status(StatusCode::invalid_argument, "codec settings or sweep axes given with codec models only");
    if (o.codec_models.empty()) return Status(StatusCode::invalid_argument, "codec models only, but no codec model given");
  } else {
    const auto axes = o.sweep.empty() && o.codec.empty() ? default_sweep() : o.sweep;
    FTC_ASSIGN_OR_RETURN(auto options, expand_sweep(base, axes));
    for (const auto& e : options) configs.push_back(make_ftc_config(e));
  }
  for (const auto& path : o.codec_models) {
    FTC_ASSIGN_OR_RETURN(auto model, CodecModel::from_file(path));
    EncoderOptions e = base;
    e.codec_model = model;
    if (const auto& file = model->impl().file; file.learned) {
      FTC_ASSIGN_OR_RETURN(CodecConfig c, learned_config(o, path, file, e));
      configs.push_back(std::move(c));
      continue;
    }
    for (std::size_t r = 0; r < model->rate_point_count(); ++r) {
      e.rate_point = static_cast<int>(r);
      configs.push_back(make_ftc_config(e));
    }
  }
  return configs;
}

// Drops the configurations this build cannot run (e.g. a coder not compiled in), each with a
// note and a warning.
std::vector<CodecConfig> drop_unrunnable(const Dataset& data, const Pipeline& pipeline, std::vector<CodecConfig> configs,
                                         std::vector<std::string>& notes, const StudyProgress& progress) {
  const auto probe = probe_configs(data, pipeline, configs);
  if (probe.empty()) return configs;
  std::vector<CodecConfig> kept;
  std::size_t p = 0;
  const std::size_t first_note = notes.size();
  for (std::size_t k = 0; k < configs.size(); ++k) {
    if (p < probe.size() && probe[p].index == k) {
      notes.push_back("skipped " + configs[k].name + ": " + probe[p].reason.to_string());
      ++p;
    } else {
      kept.push_back(configs[k]);
    }
  }
  // With nothing kept the caller fails with one message naming the first reason instead.
  if (progress && !kept.empty())
    for (std::size_t k = first_note; k < notes.size(); ++k) progress({StudyEvent::Kind::warning, notes[k]});
  return kept;
}

// ---- report -------------------------------------------------------------------------------------

std::string default_anchor(const Report& report) {
  for (const auto& r : report.rows)
    if (r.curve == "mosaic-jpeg") return r.curve;
  return report.rows.empty() ? "" : report.rows[0].curve;
}

}  // namespace

std::vector<SweepAxis> default_sweep() {
  return {{"coder", {"zstd", "rans", "adaptive"}}, {"bits", {"1", "2", "3", "4", "5", "6", "8"}}};
}

Status check_study_options(const StudyOptions& o) {
  if (o.model.empty()) return {StatusCode::invalid_argument, "no model given"};
  EncoderOptions scratch;
  for (const auto& [name, value] : o.codec) FTC_RETURN_IF_ERROR(set_encoder_option(scratch, name, value));
  for (const auto& axis : o.sweep) {
    if (axis.values.empty()) return {StatusCode::invalid_argument, "sweep " + axis.key + ": no values"};
    FTC_RETURN_IF_ERROR(expand_sweep(scratch, {axis}).status());
  }
  FTC_RETURN_IF_ERROR(parse_baselines(o.baselines).status());
  const BaselineSettings& b = o.baseline_settings;
  for (const auto* qs : {&b.mosaic_jpeg_quality, &b.cloud_jpeg_quality})
    for (int q : *qs)
      if (q < 1 || q > 100)
        return {StatusCode::invalid_argument, "JPEG quality must be 1..100, got " + std::to_string(q)};
  for (double t : b.zfp_tolerance)
    if (!(t > 0) || !std::isfinite(t))
      return {StatusCode::invalid_argument, "zfp tolerances must be positive and finite"};
  for (double s : o.std)
    if (s == 0) return {StatusCode::invalid_argument, "the normalization's std must be non-zero"};
  if (o.threads < 0) return {StatusCode::invalid_argument, "threads must be 0 (one per core) or more"};
  if ((!o.device_graph.empty() || !o.server_graph.empty()) && o.codec_models.size() != 1)
    return {StatusCode::invalid_argument, "a device or server graph can be given with exactly one (learned) codec model"};
  return {};
}

Result<StudyResult> run_study(const StudyOptions& o, const StudyProgress& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  FTC_RETURN_IF_ERROR(check_study_options(o));
  std::vector<std::string> notes;

  FTC_ASSIGN_OR_RETURN(ModelSetup setup, read_model_setup(o));
  FTC_ASSIGN_OR_RETURN(std::unique_ptr<SplitModel> model, open_split_model(o, setup, notes));
  const Pipeline& pipeline = model->pipeline;

  auto data = open_dataset(o.data, o.fashion_mnist_dir);
  if (!data.ok()) return located_in(o.data, data.status());
  const Dataset& dataset = **data;
  {
    // Labels against the model's classes (its output's elements, dynamic dims as 1) before any
    // image is run; evaluate() checks the real output again.
    std::uint64_t classes = 0;
    if (const auto outs = model->full.outputs(); !outs.empty() && outs[0].shape) {
      classes = 1;
      for (auto d : *outs[0].shape) classes *= d > 0 ? static_cast<std::uint64_t>(d) : 1;
    }
    const std::size_t n = o.limit && o.limit < dataset.size() ? o.limit : dataset.size();
    if (auto s = check_labels(dataset, n, classes); !s.ok()) return located_in(o.data, s);
  }
  auto cut = probe_cut(dataset, pipeline);
  if (!cut.ok()) return located_in(o.model, cut.status());
  auto first = dataset.get(0);
  if (!first.ok()) return located_in(o.data, first.status());
  const TensorSpec image_spec{"image", first->image.shape()};

  FTC_ASSIGN_OR_RETURN(auto baseline_names, parse_baselines(o.baselines));
  std::vector<TensorRange> ranges;
  if (needs_ranges(baseline_names)) {
    FTC_ASSIGN_OR_RETURN(ranges, calibration_ranges(o, pipeline, notes));
  }

  FTC_ASSIGN_OR_RETURN(auto configs, ftc_configs(o, *cut));
  auto baselines = make_baselines(baseline_names, *cut, ranges, image_spec, o.baseline_settings);
  if (!baselines.ok()) return located_in("baselines", baselines.status());
  configs.insert(configs.end(), baselines->begin(), baselines->end());
  const bool had_configs = !configs.empty();
  const std::size_t notes_before = notes.size();
  configs = drop_unrunnable(dataset, pipeline, std::move(configs), notes, progress);
  // A run that measures nothing is an error, not an empty report.
  if (configs.empty())
    return Status{StatusCode::invalid_argument,
                  had_configs && notes.size() > notes_before
                      ? "nothing to evaluate: all " + std::to_string(notes.size() - notes_before) +
                            " configurations were skipped (first: " + notes[notes_before].substr(8) + ")"
                      : "nothing to evaluate: no configuration and no baseline selected"};

  EvalOptions eo;
  eo.limit = o.limit;
  eo.threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (progress) eo.progress = [&progress](std::size_t d, std::size_t t) { progress({StudyEvent::Kind::images, {}, d, t}); };
  const std::string cut_names = join(model->split.info.cut);
  if (progress) {
    const std::size_t n = o.limit && o.limit < dataset.size() ? o.limit : dataset.size();
    progress({StudyEvent::Kind::plan, o.model + " split at " + cut_names + ": " + std::to_string(configs.size()) +
                                          " configurations x " + std::to_string(n) + " images on " +
                                          std::to_string(eo.threads) + " threads"});
  }
  auto evaluated = evaluate(dataset, pipeline, configs, eo);
  if (!evaluated.ok()) return evaluated.status();

  StudyResult result;
  Report& report = result.report;
  report = std::move(evaluated).value();
  report.model = o.model;
  report.split = cut_names;
  report.data = dataset.name();
  report.notes = std::move(notes);
  report.anchor = o.anchor.empty() ? default_anchor(report) : o.anchor;
  report.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const auto& row : report.rows)
    if (row.estimated_bytes && *row.estimated_bytes > 0 && row.failures < row.images) {
      char b[256];
      std::snprintf(b, sizeof b, "%s: %.2f real bytes/image vs the trainer's estimate %.2f (report.json, + 10 bytes of header and rANS state): %+.1f %%",
                    row.name.c_str(), row.bytes_mean, *row.estimated_bytes, 100.0 * (row.bytes_mean / *row.estimated_bytes - 1.0));
      report.notes.push_back(b);
    }
  result.curves = summarize_curves(report, report.anchor);
  result.at = setup.at;
  return result;
}

}  // namespace ftc::runtime
