// The evaluation API: one rate–accuracy study of a split model — model card, split, data,
// calibration, the ftc configurations and the baselines, the run (runtime/eval.hpp), the report
// (runtime/report.hpp) — for every face that needs one (ftc eval, a planner, a server, Python).
// Plain data in, plain data out: nothing is printed, progress goes through a callback, errors are
// Status values whose message names the file, data set or option at fault.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "ftc/ftc.hpp"
#include "runtime/baselines.hpp"
#include "runtime/report.hpp"

namespace ftc::runtime {

// An encoder option as set_encoder_option takes it: (name, value as text), e.g. {"bits", "4"}.
using EncoderSetting = std::pair<std::string, std::string>;

struct StudyOptions {
  std::string model;                       // ONNX file; its model card M.json is read from beside it
  std::vector<std::string> at;             // tensors to split at; empty: the card's recommended_split
  std::string data = "fashion-mnist:test"; // an open_dataset spec
  std::string fashion_mnist_dir;           // empty: FTC_FASHION_MNIST_DIR or the default
  std::string input_shape;                 // fixes dynamic input dims: "1,1,28,28" or "NAME:1,3,224,224"
  std::vector<double> mean, std;           // normalization over the model card's (both needed without one)

  // ftc's configurations: `codec` set in order over the study's defaults (one thread a frame; per
  // channel along axis 1 when the first cut tensor has rank ≥ 2; layout nchw at rank 4), then the
  // Cartesian product of `sweep` (expand_sweep). Both empty: default_sweep(). `codec_models_only`:
  // none of these, only the codec models' configurations (`codec` and `sweep` must be empty).
  std::vector<EncoderSetting> codec;
  std::vector<SweepAxis> sweep;
  bool codec_models_only = false;
  // Fitted codec models (.ftcm): every rate point of each is a configuration of its own, beside
  // the ones above.
  std::vector<std::string> codec_models;
  // Learned codec models (with a LEARNED section, runtime/learned.hpp) run device graph → codec →
  // server graph; their graphs are found beside the .ftcm unless given here (only with one
  // learned model).
  std::string device_graph, server_graph;

  std::string baselines = "all";           // a parse_baselines list
  BaselineSettings baseline_settings;
  // Images that fix the mosaic's clip range and scale zfp's tolerances (only read when one of
  // them is measured). Empty: fashion-mnist:train:N for Fashion-MNIST data, else `data`.
  std::string calibration;
  std::size_t calibration_images = 500;

  std::string anchor;                      // BD-rate anchor curve; empty: mosaic-jpeg if measured, else the first row's
  std::size_t limit = 0;                   // the first N images only; 0: all
  int threads = 0;                         // images in parallel; 0: one per core
};

// The sweep of a study given neither codec settings nor axes: coder zstd, rans, adaptive ×
// bits 1, 2, 3, 4, 5, 6, 8.
std::vector<SweepAxis> default_sweep();

// Everything that can be checked without opening a file: codec settings and sweep axes against
// the encoder's option table, the baseline list and settings, the normalization. invalid_argument.
Status check_study_options(const StudyOptions& options);

struct StudyEvent {
  enum class Kind {
    plan,     // `text`: what is about to run (model, split, configurations × images, threads)
    warning,  // `text`: a configuration this build cannot run, skipped (also in the report's notes)
    images,   // `done` of `total` images evaluated
  };
  Kind kind = Kind::plan;
  std::string text;
  std::size_t done = 0, total = 0;
};
// Called on the thread that called run_study; `images` about 10 times a second and once at the end.
using StudyProgress = std::function<void(const StudyEvent&)>;

struct StudyResult {
  Report report;                       // every field filled but `command` (the caller's to tell)
  std::vector<CurveSummary> curves;    // summarize_curves(report, report.anchor)
  std::vector<std::string> at;         // the tensors split at: StudyOptions::at or the card's recommended_split
};

// Runs the study. Fails on bad options, unreadable files, a split that cannot be made, executor or
// data set errors. A study whose uncompressed split disagrees with the full model still succeeds:
// report.split_mismatches says on how many images.
Result<StudyResult> run_study(const StudyOptions& options, const StudyProgress& progress = {});

}  // namespace ftc::runtime
