// ftc eval — rate–accuracy of ftc and its baselines on a split model (runtime/eval.hpp).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <thread>

#include "cli/commands.hpp"
#include "runtime/baselines.hpp"
#include "runtime/dataset.hpp"
#include "runtime/eval.hpp"
#include "runtime/graph.hpp"
#include "runtime/report.hpp"

namespace ftc::cli {
namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string join(const std::vector<std::string>& v, const char* sep = ",") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string hms(double s) {
  char b[32];
  if (s >= 3600) std::snprintf(b, sizeof b, "%dh%02dm", int(s / 3600), int(std::fmod(s, 3600) / 60));
  else if (s >= 60) std::snprintf(b, sizeof b, "%dm%02ds", int(s / 60), int(std::fmod(s, 60)));
  else std::snprintf(b, sizeof b, "%.0fs", s);
  return b;
}

// A progress bar on stderr: redrawn in place on a terminal, a line every 10 % otherwise.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled), tty_(isatty(2) != 0), start_(std::chrono::steady_clock::now()) {}
  void operator()(std::size_t done, std::size_t total) {
    if (!enabled_ || total == 0 || finished_) return;
    finished_ = done == total;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = secs > 0 ? double(done) / secs : 0;
    const double eta = rate > 0 ? double(total - done) / rate : 0;
    const int pct = static_cast<int>(100.0 * double(done) / double(total));
    if (!tty_) {
      if (pct / 10 == last_decile_ && done != total) return;
      last_decile_ = pct / 10;
    }
    const int width = 30, fill = static_cast<int>(width * double(done) / double(total));
    std::fprintf(stderr, "%s[%s%s] %zu/%zu images %3d%%  %.0f img/s  %s %s%s", tty_ ? "\r" : "",
                 std::string(static_cast<std::size_t>(fill), '#').c_str(),
                 std::string(static_cast<std::size_t>(width - fill), '.').c_str(), done, total, pct, rate,
                 done == total ? "elapsed" : "ETA", hms(done == total ? secs : eta).c_str(),
                 tty_ ? (done == total ? "\n" : "   ") : "\n");
    std::fflush(stderr);
  }

 private:
  bool enabled_, tty_;
  bool finished_ = false;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

Command add_eval(CLI::App& root) {
  struct Args {
    std::string model, data = "fashion-mnist:test", fashion_mnist_dir, input_shape;
    std::vector<std::string> at;
    // codec flags, as for ftc encode
    int bits = 8;
    std::string per_channel;
    bool lossless = false;
    std::string cast, coder = "zstd";
    int level = 3;
    std::vector<std::string> sweep;
    std::string baselines = "all", anchor;
    std::string json, csv, plot, table;
    std::size_t limit = 0;
    int threads = 0;
    std::vector<double> mean, std;
    std::string calibration;
    std::size_t calibration_images = 500;
    std::string jpeg_quality, cloud_jpeg_quality, zfp_tolerance;
    int baseline_zstd_level = 3;
    bool no_progress = false;
  };
  auto a = std::make_shared<Args>();
  auto* sub = root.add_subcommand(
      "eval",
      "Rate-accuracy of ftc and baselines: head -> encode -> decode -> tail on every image\n"
      "(default: uniform per-channel quantization at 1,2,3,4,5,6,8 bits with zstd and rans, and every baseline)");
  sub->add_option("--model", a->model, "ONNX model (its model card M.json is read from beside it)")->required();
  sub->add_option("--at", a->at, "Tensor(s) to split at (default: the model card's recommended_split)")->delimiter(',');
  sub->add_option("--data", a->data, "Labelled images: fashion-mnist:test[:N], images:DIR (labels.csv, PNG/JPEG), npy:X.npy,Y.npy")->capture_default_str();
  sub->add_option("--fashion-mnist-dir", a->fashion_mnist_dir, "Directory of the Fashion-MNIST idx files");
  sub->add_option("--input-shape", a->input_shape, "Fix dynamic input dims: 1,1,28,28 or NAME:1,3,224,224");
  auto* o_bits = sub->add_option("--bits", a->bits, "Uniform quantizer: bits per element (1..16)")->check(CLI::Range(1, 16));
  auto* o_pc = sub->add_option("--per-channel", a->per_channel,
                               "Uniform quantizer: one range per index of this axis, or 'none' (eval default: 1)");
  auto* o_ll = sub->add_flag("--lossless", a->lossless, "Keep every bit (byte planes + coder)");
  auto* o_cast = sub->add_option("--cast", a->cast, "Cast to 16-bit floats")->check(CLI::IsMember({"f16", "bf16"}));
  auto* o_coder = sub->add_option("--coder", a->coder, "Symbol coder")->check(CLI::IsMember({"raw", "zstd", "rans", "adaptive"}));
  auto* o_level = sub->add_option("--level", a->level, "zstd level (-7..22)")->check(CLI::Range(-7, 22));
  sub->add_option("--sweep", a->sweep,
                  "KEY=V1,V2,... over bits, coder, level, per-channel, quantizer (uniform|lossless|f16|bf16); "
                  "repeat for a Cartesian product");
  sub->add_option("--baselines", a->baselines,
                  "all, none, or a list of: raw,f16,zstd,zfp,mosaic-jpeg,mosaic-png,cloud-png,cloud-jpeg")->capture_default_str();
  sub->add_option("--anchor", a->anchor, "BD-rate anchor curve (default: mosaic-jpeg, the seed system, if measured)");
  sub->add_option("--json", a->json, "Write the results as JSON");
  sub->add_option("--csv", a->csv, "Write the results as CSV");
  sub->add_option("--plot", a->plot, "Draw the rate-accuracy plot (PNG, gnuplot); .dat and .gp beside it");
  sub->add_option("--table", a->table, "Also write the table to this file");
  sub->add_option("--limit", a->limit, "Evaluate the first N images only (0: all)");
  sub->add_option("--threads", a->threads, "Worker threads (default: the number of cores)")->check(CLI::Range(1, 256));
  sub->add_option("--mean", a->mean, "Normalization mean(s), overriding the model card")->delimiter(',');
  sub->add_option("--std", a->std, "Normalization std(s), overriding the model card")->delimiter(',');
  sub->add_option("--calibration", a->calibration,
                  "Images that fix the mosaic's clip range and scale zfp's tolerances "
                  "(default: fashion-mnist:train for Fashion-MNIST data, else --data)");
  sub->add_option("--calibration-images", a->calibration_images, "How many calibration images")->capture_default_str();
  sub->add_option("--jpeg-quality", a->jpeg_quality, "Mosaic JPEG qualities (default 10,30,50,70,90)");
  sub->add_option("--cloud-jpeg-quality", a->cloud_jpeg_quality, "Cloud-only JPEG qualities (default 10,30,50,70,90)");
  sub->add_option("--zfp-tolerance", a->zfp_tolerance,
                  "zfp tolerances as fractions of the calibration range (default 0.4,0.2,0.1,0.05,0.02,0.005)");
  sub->add_option("--baseline-zstd-level", a->baseline_zstd_level, "zstd level of the zstd-f32 baseline")->capture_default_str();
  sub->add_flag("--no-progress", a->no_progress, "No progress bar");

  return {sub, [a, o_bits, o_pc, o_ll, o_cast, o_coder, o_level]() -> int {
    using namespace ftc::runtime;
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> notes;

    // ---- model card, graph, split ------------------------------------------------------------
    ModelCard card;
    const std::string card_path = model_card_path(a->model);
    if (std::filesystem::exists(card_path)) {
      auto c = read_model_card(card_path);
      if (!c.ok()) return fail(card_path, c.status().message());
      card = std::move(c).value();
    } else if (a->mean.empty() || a->std.empty()) {
      return fail(a->model, "no model card " + card_path + " beside it: give --mean and --std");
    }
    Normalization norm = card.normalization;
    if (!a->mean.empty()) norm.mean = a->mean;
    if (!a->std.empty()) norm.std = a->std;
    for (double s : norm.std)
      if (s == 0) return fail("eval", "--std must be non-zero");
    if (a->at.empty()) {
      if (card.recommended_split.empty()) return fail(a->model, "no --at and no recommended_split in the model card");
      a->at = {card.recommended_split};
    }

    auto graph = Graph::load(a->model);
    if (!graph.ok()) return fail(a->model, graph.status().message());
    if (!a->input_shape.empty())
      if (auto s = graph->set_input_shapes(a->input_shape); !s.ok()) return fail(a->model, s.message());
    const auto inputs = graph->inputs();
    if (inputs.size() != 1) return fail(a->model, "eval needs a model with exactly one input");
    auto split = graph->split(a->at);
    if (!split.ok()) return fail(a->model, split.status().message());
    if (!split->info.added.empty())
      notes.push_back("the cut also carries " + join(split->info.added) + " (needed by the tail)");

    Pipeline pipeline;
    pipeline.input_name = inputs[0].name;
    if (inputs[0].shape) pipeline.input_shape = *inputs[0].shape;
    else if (!card.input_shape.empty()) pipeline.input_shape = card.input_shape;
    for (auto& d : pipeline.input_shape)
      if (d < 0) d = 1;
    pipeline.normalization = norm;
    const Graph& full_g = *graph;
    const Graph& head_g = split->head;
    const Graph& tail_g = split->tail;
    pipeline.make_full = [&full_g]() { return make_opencv_executor(full_g); };
    pipeline.make_head = [&head_g]() { return make_opencv_executor(head_g); };
    pipeline.make_tail = [&tail_g]() { return make_opencv_executor(tail_g); };

    // ---- data, cut, calibration ---------------------------------------------------------------
    auto data = open_dataset(a->data, a->fashion_mnist_dir);
    if (!data.ok()) return fail(a->data, data.status().message());
    auto cut = probe_cut(**data, pipeline);
    if (!cut.ok()) return fail(a->model, cut.status().message());
    auto first = (*data)->get(0);
    if (!first.ok()) return fail(a->data, first.status().message());
    const TensorSpec image_spec{"image", first->image.shape()};

    auto baseline_list = parse_baselines(a->baselines);
    if (!baseline_list.ok()) return fail("--baselines", baseline_list.status().message());
    std::vector<TensorRange> ranges;
    const bool need_ranges = std::any_of(baseline_list->begin(), baseline_list->end(), [](const std::string& b) {
      return b == "zfp" || b == "mosaic-jpeg" || b == "mosaic-png";
    });
    if (need_ranges) {
      std::string cal = a->calibration;
      if (cal.empty())
        cal = a->data.rfind("fashion-mnist:", 0) == 0 ? "fashion-mnist:train:" + std::to_string(a->calibration_images) : a->data;
      auto cal_data = open_dataset(cal, a->fashion_mnist_dir);
      if (!cal_data.ok()) return fail(cal, cal_data.status().message());
      auto r = calibrate(**cal_data, a->calibration_images, pipeline);
      if (!r.ok()) return fail(cal, r.status().message());
      ranges = std::move(r).value();
      for (const auto& x : ranges) {
        char b[256];
        std::snprintf(b, sizeof b, "mosaic/zfp range of %s: [%g, %g] (min/max over the first %zu images of %s)",
                      x.tensor.c_str(), double(x.lo) + 0.0, double(x.hi) + 0.0,
                      std::min(a->calibration_images, (*cal_data)->size()), cal.c_str());
        notes.push_back(b);
      }
    }

    // ---- configurations ----------------------------------------------------------------------
    const bool codec_flags = o_bits->count() || o_pc->count() || o_ll->count() || o_cast->count() ||
                             o_coder->count() || o_level->count();
    EncoderOptions base;
    base.quantizer = a->lossless ? QuantizerKind::lossless
                     : a->cast == "f16" ? QuantizerKind::cast_f16
                     : a->cast == "bf16" ? QuantizerKind::cast_bf16 : QuantizerKind::uniform;
    if (a->lossless && !a->cast.empty()) return fail("eval", "--lossless and --cast exclude each other");
    base.bits = a->bits;
    base.coder = *coder_from_name(a->coder);
    base.zstd_level = a->level;
    base.threads = 1;
    if (a->per_channel.empty()) {
      if (cut->at(0).shape.size() >= 2) base.channel_axis = 1;
    } else if (a->per_channel != "none") {
      try {
        base.channel_axis = std::stoi(a->per_channel);
      } catch (...) {
        return fail("--per-channel", "an axis or 'none' expected, got '" + a->per_channel + "'");
      }
    }
    if (cut->at(0).shape.size() == 4) base.layout = Layout::nchw;
    std::vector<SweepAxis> axes;
    for (const auto& s : a->sweep) {
      auto ax = parse_sweep(s);
      if (!ax.ok()) return fail("--sweep", ax.status().message());
      axes.push_back(std::move(ax).value());
    }
    if (axes.empty() && !codec_flags) {  // the default sweep
      axes.push_back(parse_sweep("coder=zstd,rans,adaptive").value());
      axes.push_back(parse_sweep("bits=1,2,3,4,5,6,8").value());
    }
    auto options = expand_sweep(base, axes);
    if (!options.ok()) return fail("--sweep", options.status().message());
    std::vector<CodecConfig> configs;
    for (const auto& o : *options) configs.push_back(make_ftc_config(o));

    BaselineSettings bs;
    bs.zstd_level = a->baseline_zstd_level;
    auto ints = [](const std::string& s, std::vector<int>& out) -> bool {
      if (s.empty()) return true;
      out.clear();
      try {
        for (const auto& x : split_list(s)) out.push_back(std::stoi(x));
      } catch (...) {
        return false;
      }
      for (int q : out)
        if (q < 1 || q > 100) return false;
      return !out.empty();
    };
    if (!ints(a->jpeg_quality, bs.mosaic_jpeg_quality)) return fail("--jpeg-quality", "qualities 1..100 expected");
    if (!ints(a->cloud_jpeg_quality, bs.cloud_jpeg_quality)) return fail("--cloud-jpeg-quality", "qualities 1..100 expected");
    if (!a->zfp_tolerance.empty()) {
      bs.zfp_tolerance.clear();
      try {
        for (const auto& x : split_list(a->zfp_tolerance)) bs.zfp_tolerance.push_back(std::stod(x));
      } catch (...) {
        return fail("--zfp-tolerance", "numbers expected");
      }
      for (double t : bs.zfp_tolerance)
        if (!(t > 0)) return fail("--zfp-tolerance", "tolerances must be positive");
    }
    auto baselines = make_baselines(*baseline_list, *cut, ranges, image_spec, bs);
    if (!baselines.ok()) return fail("--baselines", baselines.status().message());
    configs.insert(configs.end(), baselines->begin(), baselines->end());

    // Configurations this build cannot run (e.g. a coder not compiled in) are skipped with a note.
    const auto probe = probe_configs(**data, pipeline, configs);
    if (!probe.empty()) {
      std::vector<CodecConfig> kept;
      std::size_t p = 0;
      for (std::size_t k = 0; k < configs.size(); ++k) {
        if (p < probe.size() && probe[p].index == k) {
          const std::string msg = "skipped " + configs[k].name + ": " + probe[p].reason.to_string();
          std::fprintf(stderr, "ftc: eval: warning: %s\n", msg.c_str());
          notes.push_back(msg);
          ++p;
        } else {
          kept.push_back(configs[k]);
        }
      }
      configs = std::move(kept);
    }

    // ---- run ---------------------------------------------------------------------------------
    EvalOptions eo;
    eo.limit = a->limit;
    eo.threads = a->threads > 0 ? a->threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    Progress progress(!a->no_progress);
    eo.progress = [&progress](std::size_t d, std::size_t t) { progress(d, t); };
    std::size_t n = (*data)->size();
    if (a->limit && a->limit < n) n = a->limit;
    std::fprintf(stderr, "ftc eval: %s split at %s: %zu configurations x %zu images on %d threads\n",
                 a->model.c_str(), join(split->info.cut).c_str(), configs.size(), n, eo.threads);
    auto result = evaluate(**data, pipeline, configs, eo);
    if (!result.ok()) return fail("eval", result.status().to_string());
    Report report = std::move(result).value();
    report.model = a->model;
    report.split = join(split->info.cut);
    report.data = (*data)->name();
    report.notes = notes;
    {
      std::ostringstream cmd;
      cmd << "ftc eval --model " << a->model << " --at " << join(a->at) << " --data " << a->data;
      if (a->limit) cmd << " --limit " << a->limit;
      for (const auto& s : a->sweep) cmd << " --sweep " << s;
      cmd << " --baselines " << a->baselines;
      report.command = cmd.str();
    }
    if (a->anchor.empty()) {
      bool has_mosaic = false;
      for (const auto& r : report.rows) has_mosaic |= r.curve == "mosaic-jpeg";
      a->anchor = has_mosaic ? "mosaic-jpeg" : (report.rows.empty() ? "" : report.rows[0].curve);
    }
    report.anchor = a->anchor;
    report.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto curves = summarize_curves(report, report.anchor);

    // ---- output --------------------------------------------------------------------------------
    const std::string table = format_table(report, curves);
    std::fputs(table.c_str(), stdout);
    std::fflush(stdout);
    int rc = 0;
    auto write = [&](const std::string& path, const std::string& text) {
      if (path.empty()) return;
      if (auto s = write_text_file(path, text); !s.ok()) rc = fail(path, s.message());
      else std::fprintf(stderr, "wrote %s\n", path.c_str());
    };
    write(a->table, table);
    write(a->csv, to_csv(report));
    write(a->json, to_json(report, curves));
    if (!a->plot.empty()) {
      if (auto s = write_plot(report, a->plot); !s.ok()) rc = fail(a->plot, s.message());
      else std::fprintf(stderr, "wrote %s\n", a->plot.c_str());
    }
    if (report.split_mismatches != 0)
      rc = fail("eval", "the uncompressed split disagrees with the full model on " +
                            std::to_string(report.split_mismatches) + " images");
    return rc;
  }};
}

}  // namespace ftc::cli
