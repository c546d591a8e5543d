// ftc eval — rate–accuracy of ftc and its baselines on a split model: parses the flags into
// runtime::StudyOptions, runs runtime::run_study with a progress bar, prints and writes the report.
#include <algorithm>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <type_traits>

#include "cli/codec_flags.hpp"
#include "cli/commands.hpp"
#include "cli/file_io.hpp"
#include "cli/text.hpp"
#include "runtime/learned.hpp"
#include "runtime/report.hpp"
#include "runtime/study.hpp"

namespace ftc::cli {
namespace {

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

// "10,30,50" → numbers; false on anything else (empty items are skipped, as in --sweep).
template <class T>
bool parse_numbers(const std::string& s, std::vector<T>& out) {
  out.clear();
  try {
    for (const auto& x : split_list(s)) {
      std::size_t used = 0;
      if constexpr (std::is_integral_v<T>) out.push_back(static_cast<T>(std::stoi(x, &used)));
      else out.push_back(static_cast<T>(std::stod(x, &used)));
      if (used != x.size()) return false;
    }
  } catch (...) {
    return false;
  }
  return !out.empty();
}

// Where the report goes besides stdout.
struct Outputs {
  std::string json, csv, plot, table;
  std::vector<std::string> paths() const { return {json, csv, plot, table}; }
};

// Before the run, so that minutes of evaluation never end in an unwritable path: `path` is not a
// directory, and its folder exists and is writable, or the nearest folder above it that exists is
// (the missing ones are made when the report is written). Nothing is created here.
Status check_output_path(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) return {StatusCode::io_error, "is a directory; give a file name"};
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  while (!fs::exists(dir, ec) && dir.has_relative_path() && dir.parent_path() != dir) dir = dir.parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec)) return {StatusCode::io_error, dir.string() + " is not a directory"};
  if (access(dir.c_str(), W_OK | X_OK) != 0)
    return {StatusCode::io_error, "cannot write in " + dir.string() + ": " + std::strerror(errno)};
  return {};
}

// The folders of the report's files, made just before they are written.
Status make_output_folder(const std::string& path) {
  const auto dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) return {StatusCode::io_error, "cannot create " + dir.string() + ": " + ec.message()};
  return {};
}

// "coder=zstd,rans,adaptive x bits=1,2,3,4,5,6,8": the study's default sweep, for --help.
std::string default_sweep_text() {
  std::string out;
  for (const auto& axis : runtime::default_sweep()) out += (out.empty() ? "" : " x ") + axis.key + "=" + join(axis.values);
  return out;
}

std::span<const std::uint8_t> bytes_of(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// Each file asked for, to a temporary file; the plot is drawn by gnuplot from the temporary data
// file into the temporary PNG (through a scratch script naming them), and the .gp kept beside it
// names the final files. Nothing is renamed here.
Status prepare_outputs(const runtime::StudyResult& result, const std::string& table, const Outputs& out,
                       std::vector<io::OutputFile>& files) {
  const runtime::Report& report = result.report;
  auto add = [&](const std::string& path, const std::string& text) -> Status {
    FTC_ASSIGN_OR_RETURN(io::OutputFile f, io::OutputFile::create(path, io::Overwrite::replace));
    FTC_RETURN_IF_ERROR(f.write(bytes_of(text)));
    files.push_back(std::move(f));
    return {};
  };
  if (!out.table.empty()) FTC_RETURN_IF_ERROR(add(out.table, table));
  if (!out.csv.empty()) FTC_RETURN_IF_ERROR(add(out.csv, runtime::to_csv(report)));
  if (!out.json.empty()) FTC_RETURN_IF_ERROR(add(out.json, runtime::to_json(report, result.curves)));
  if (out.plot.empty()) return {};
  const runtime::PlotPaths paths = runtime::plot_paths(out.plot);
  FTC_RETURN_IF_ERROR(add(paths.data, runtime::plot_data(report)));
  const std::string data_temp = files.back().temp_path();
  FTC_ASSIGN_OR_RETURN(io::OutputFile png, io::OutputFile::create(paths.png, io::Overwrite::replace));
  const runtime::PlotPaths drawn{png.temp_path(), data_temp, ""};
  Status drew;
  bool cairo = true;
  for (; ; cairo = false) {  // pngcairo, then libgd's png terminal
    FTC_ASSIGN_OR_RETURN(io::OutputFile scratch, io::OutputFile::create(paths.script, io::Overwrite::replace));
    FTC_RETURN_IF_ERROR(scratch.write(bytes_of(runtime::plot_script(report, drawn, cairo))));
    FTC_RETURN_IF_ERROR(scratch.finish());
    drew = runtime::run_gnuplot(scratch.temp_path());
    if (drew.ok() || !cairo) break;
  }
  if (!drew.ok()) return {drew.code(), paths.png + ": " + drew.message()};
  files.push_back(std::move(png));
  return add(paths.script, runtime::plot_script(report, paths, cairo));
}

// Prints the table and writes the files asked for, all of them or none; 1 when they cannot be
// written or the uncompressed split disagrees with the full model.
int write_results(const runtime::StudyResult& result, const Outputs& out) {
  const runtime::Report& report = result.report;
  const std::string table = printable_text(runtime::format_table(report, result.curves));
  std::fputs(table.c_str(), stdout);
  std::fflush(stdout);
  int rc = 0;
  std::vector<io::OutputFile> files;
  Status s;
  for (const std::string& path : {out.table, out.csv, out.json, out.plot})
    if (s.ok() && !path.empty()) s = make_output_folder(path);
  if (s.ok()) s = prepare_outputs(result, table, out, files);
  if (s.ok()) s = io::commit_together(files);
  if (!s.ok()) rc = fail("eval", s.message() + "; no file written");
  else
    for (const auto& f : files) std::fprintf(stderr, "wrote %s\n", printable(f.path()).c_str());
  if (report.split_mismatches != 0)
    rc = fail("eval", "the uncompressed split disagrees with the full model on " +
                          std::to_string(report.split_mismatches) + " images");
  return rc;
}

// The output files are distinct and none is an input (check_output_path checks where they go).
Status check_outputs(const Outputs& out, const runtime::StudyOptions& o) {
  std::vector<std::pair<const char*, std::string>> paths;
  for (const auto& [flag, path] : {std::pair{"--table", out.table}, {"--csv", out.csv}, {"--json", out.json}})
    if (!path.empty()) paths.emplace_back(flag, path);
  if (!out.plot.empty()) {
    const runtime::PlotPaths p = runtime::plot_paths(out.plot);
    paths.emplace_back("--plot", p.png);
    paths.emplace_back("--plot's data file", p.data);
    paths.emplace_back("--plot's script", p.script);
  }
  std::vector<std::string> inputs = o.codec_models;
  inputs.push_back(o.model);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    FTC_RETURN_IF_ERROR(check_not_input(paths[i].second, inputs));
    for (std::size_t j = 0; j < i; ++j)
      if (std::filesystem::path(paths[i].second).lexically_normal() == std::filesystem::path(paths[j].second).lexically_normal())
        return {StatusCode::invalid_argument,
                std::string(paths[j].first) + " and " + paths[i].first + " name the same file " + paths[i].second};
  }
  return {};
}

}  // namespace

Command add_eval(CLI::App& root) {
  struct Args {
    runtime::StudyOptions study;
    std::vector<std::string> sweep;
    std::string jpeg_quality, cloud_jpeg_quality, zfp_tolerance;
    Outputs out;
    bool no_progress = false;
  };
  auto a = std::make_shared<Args>();
  runtime::StudyOptions& so = a->study;
  auto* sub = root.add_subcommand(
      "eval",
      "Rate-accuracy of ftc and baselines: head -> encode -> decode -> tail on every image\n"
      "(default, without codec flags or --sweep: uniform quantization per channel along axis 1, " + default_sweep_text() +
          ", and every baseline)");
  sub->add_option("--model", so.model,
                  "ONNX model (its model card M.json is read from beside it); with a learned --codec-model, default: the "
                  "model it was trained from, found beside it or in a models/ folder");
  sub->add_option("--at", so.at, "Tensor(s) to split at (default: the model card's recommended_split)")->delimiter(',');
  sub->add_option("--data", so.data, "Labelled images: fashion-mnist:test[:N], images:DIR (labels.csv, PNG/JPEG), npy:X.npy,Y.npy (uint8 (N,H,W), (N,C,H,W) or (N,H,W,C), any integer labels; :nhwc or :nchw after the files when the shape fits both)")->capture_default_str();
  sub->add_option("--fashion-mnist-dir", so.fashion_mnist_dir, "Directory of the Fashion-MNIST idx files");
  sub->add_option("--input-shape", so.input_shape, "Fix dynamic input dims: 1,1,28,28 or NAME:1,3,224,224");
  // The codec flags, as for ftc encode; --threads is the evaluator's own (images in parallel).
  auto codec = add_codec_flags(*sub, {EncoderParam::threads});
  if (auto* pc = codec->option(EncoderParam::channel_axis)) pc->description(pc->get_description() + " (eval default: 1)");
  sub->add_option("--sweep", a->sweep,
                  "KEY=V1,V2,... with KEY one of " + join(runtime::sweep_keys(), ", ") +
                      " (values as for the flags; quantizer: uniform, lossless, f16, bf16); "
                      "repeat for a Cartesian product; 'none': only the --codec-model configurations");
  sub->add_option("--codec-model", so.codec_models,
                  "Fitted codec model (.ftcm, from ftc fit): each of its rate points is a configuration; repeatable");
  sub->add_option("--device-graph", so.device_graph, "A learned codec model's device graph (default: beside the .ftcm)");
  sub->add_option("--server-graph", so.server_graph, "A learned codec model's server graph (default: beside the .ftcm)");
  sub->add_option("--baselines", so.baselines,
                  "all, none, or a list of: raw,f16,zstd,zfp,mosaic-jpeg,mosaic-png,cloud-png,cloud-jpeg")->capture_default_str();
  sub->add_option("--anchor", so.anchor, "BD-rate anchor curve (default: mosaic-jpeg, the seed system, if measured)");
  sub->add_option("--json", a->out.json, "Write the results as JSON");
  sub->add_option("--csv", a->out.csv, "Write the results as CSV");
  sub->add_option("--plot", a->out.plot, "Draw the rate-accuracy plot (PNG, gnuplot); .dat and .gp beside it");
  sub->add_option("--table", a->out.table, "Also write the table to this file");
  sub->add_option("--limit", so.limit, "Evaluate the first N images only (0: all)");
  sub->add_option("--threads", so.threads, "Worker threads (default: the number of cores)")->check(CLI::Range(1, 256));
  sub->add_option("--mean", so.mean, "Normalization mean(s), overriding the model card")->delimiter(',');
  sub->add_option("--std", so.std, "Normalization std(s), overriding the model card")->delimiter(',');
  sub->add_option("--calibration", so.calibration,
                  "Images that fix the mosaic's clip range and scale zfp's tolerances "
                  "(default: fashion-mnist:train for Fashion-MNIST data, else --data)");
  sub->add_option("--calibration-images", so.calibration_images, "How many calibration images")->capture_default_str();
  sub->add_option("--jpeg-quality", a->jpeg_quality, "Mosaic JPEG qualities (default 10,30,50,70,90)");
  sub->add_option("--cloud-jpeg-quality", a->cloud_jpeg_quality, "Cloud-only JPEG qualities (default 10,30,50,70,90)");
  sub->add_option("--zfp-tolerance", a->zfp_tolerance,
                  "zfp tolerances as fractions of the calibration range (default 0.4,0.2,0.1,0.05,0.02,0.005)");
  sub->add_option("--baseline-zstd-level", so.baseline_settings.zstd_level, "zstd level of the zstd-f32 baseline")->capture_default_str();
  sub->add_flag("--no-progress", a->no_progress, "No progress bar");

  return {sub, [a, codec]() -> int {
    runtime::StudyOptions& o = a->study;
    // Learned codec models name the model they were trained from and the split they replace.
    for (const auto& path : o.codec_models) {
      auto learned = runtime::read_learned_model(path);
      if (!learned.ok()) return fail("eval", learned.status().message());
      if (!*learned) continue;
      if (o.model.empty()) {
        auto ref = runtime::find_reference_model(**learned, path);
        if (!ref.ok()) return fail("eval", ref.status().message());
        o.model = *ref;
      }
      if (o.at.empty())
        if (auto it = (*learned)->metadata.find("split_at"); it != (*learned)->metadata.end()) o.at = {it->second};
    }
    if (o.model.empty()) return fail("eval", "--model is required (or a learned --codec-model that names its model)");
    std::vector<std::string> swept;  // options a sweep sets; a bits value also selects the uniform quantizer
    if (std::find(a->sweep.begin(), a->sweep.end(), "none") != a->sweep.end()) {
      if (a->sweep.size() != 1) return fail("--sweep", "'none' cannot be combined with other axes");
      if (o.codec_models.empty()) return fail("--sweep", "'none' leaves only the --codec-model configurations, and none is given");
      o.codec_models_only = true;
      a->sweep.clear();
    }
    for (const auto& s : a->sweep) {
      auto axis = runtime::parse_sweep(s);
      if (!axis.ok()) return fail("eval", axis.status().message());
      swept.push_back(axis->key);
      if (axis->key == "bits") swept.push_back("quantizer");
      o.sweep.push_back(std::move(axis).value());
    }
    auto settings = codec->given(swept);
    if (!settings.ok()) return fail("eval", settings.status().message());
    o.codec = std::move(settings).value();
    if (o.codec_models_only && !o.codec.empty())
      return fail("--sweep", "'none' runs only the --codec-model configurations: codec flags do not apply");
    for (const auto& path : a->out.paths())
      if (!path.empty())
        if (Status s = check_output_path(path); !s.ok()) return fail(path, s.message());
    if (!a->out.plot.empty())
      if (Status s = runtime::check_plotter(); !s.ok()) return fail(a->out.plot, s.message());
    runtime::BaselineSettings& bs = o.baseline_settings;
    if (!a->jpeg_quality.empty() && !parse_numbers(a->jpeg_quality, bs.mosaic_jpeg_quality))
      return fail("--jpeg-quality", "qualities 1..100 expected");
    if (!a->cloud_jpeg_quality.empty() && !parse_numbers(a->cloud_jpeg_quality, bs.cloud_jpeg_quality))
      return fail("--cloud-jpeg-quality", "qualities 1..100 expected");
    if (!a->zfp_tolerance.empty() && !parse_numbers(a->zfp_tolerance, bs.zfp_tolerance))
      return fail("--zfp-tolerance", "numbers expected");

    if (Status s = check_outputs(a->out, o); !s.ok()) return fail("eval", s.message());
    Progress bar(!a->no_progress);
    auto result = runtime::run_study(o, [&bar](const runtime::StudyEvent& e) {
      switch (e.kind) {
        case runtime::StudyEvent::Kind::plan: std::fprintf(stderr, "ftc eval: %s\n", printable(e.text).c_str()); break;
        case runtime::StudyEvent::Kind::warning: std::fprintf(stderr, "ftc: eval: warning: %s\n", printable(e.text).c_str()); break;
        case runtime::StudyEvent::Kind::images: bar(e.done, e.total); break;
      }
    });
    if (!result.ok()) return fail("eval", result.status().message());
    std::ostringstream cmd;
    cmd << "ftc eval --model " << o.model << " --at " << join(result->at) << " --data " << o.data;
    if (o.limit) cmd << " --limit " << o.limit;
    for (const auto& s : a->sweep) cmd << " --sweep " << s;
    if (o.codec_models_only) cmd << " --sweep none";
    for (const auto& m : o.codec_models) cmd << " --codec-model " << m;
    cmd << " --baselines " << o.baselines;
    result->report.command = cmd.str();
    return write_results(*result, a->out);
  }};
}

}  // namespace ftc::cli
