// The rate–accuracy report of `ftc eval`: a table for the terminal, CSV, JSON, a gnuplot plot
// (PNG) and the Bjøntegaard delta rate (BD-rate) of every curve against an anchor curve.
//
// Units: bytes are real bytes per image (the whole frame a device would send, header included);
// top1 and agreement are fractions in [0, 1]; top1_drop is in percentage points (reference top-1
// minus the row's top-1, × 100); times are microseconds per image.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ftc/ftc.hpp"

namespace ftc::runtime {

// One configuration measured over the data set.
struct Row {
  std::string name;        // unique, e.g. "ftc-pc1-zstd b=4", "mosaic-jpeg q=70", "f32-raw"
  std::string curve;       // the rate–accuracy curve it belongs to, e.g. "ftc-pc1-zstd", "mosaic-jpeg"
  std::string stage;       // "split": codes the cut tensors; "input": codes the input image (cloud-only)
  std::string params;      // human-readable parameters, no commas
  std::size_t images = 0;
  std::uint64_t elements = 0;       // elements coded per image (cut tensors, or input pixels)
  double bytes_mean = 0;
  double bytes_p95 = 0;             // nearest-rank 95th percentile
  double bits_per_element = 0;      // 8 · bytes_mean / elements
  double top1 = 0;
  double agreement = 0;             // same prediction as the uncompressed split
  double top1_drop = 0;             // points
  double encode_us = 0;
  double decode_us = 0;
  std::size_t failures = 0;         // images whose encode or decode failed (counted as wrong)
  std::string first_error;
  std::optional<double> estimated_bytes;  // learned rows: the trainer's estimate of bytes_mean
};

struct Report {
  std::string model;
  std::string split;                // the --at tensors, comma-separated
  std::string data;
  std::size_t images = 0;
  double reference_top1 = 0;        // full model, float32, uncompressed input
  double split_top1 = 0;            // head → tail with the float32 tensors handed over directly
  std::size_t split_mismatches = 0; // images where that prediction differs from the full model's
  double max_logit_abs_diff = 0;    // max |logit_full − logit_split| over all images
  std::vector<Row> rows;
  double wall_seconds = 0;
  std::string anchor;               // BD-rate anchor curve
  std::string command;
  std::vector<std::string> notes;   // calibration ranges, skipped configurations, …
  // false: the data has no labels. Every top-1 field is then meaningless: the table shows n/a,
  // CSV leaves it empty, JSON writes null, and BD-rate and the plot use agreement (with the
  // uncompressed split) as the accuracy instead.
  bool labelled = true;
};

// The accuracy a row's rate–accuracy point uses: top-1, or agreement without labels.
double row_accuracy(const Report& report, const Row& row);

// ---- BD-rate -----------------------------------------------------------------------------------

struct RatePoint {
  double bytes = 0;
  double accuracy = 0;
};

// The points no other point beats: sorted by bytes, each with a strictly higher accuracy than
// every point with fewer (or equal) bytes. Points with bytes ≤ 0 or non-finite values are dropped.
std::vector<RatePoint> pareto_front(std::vector<RatePoint> points);

// Bjøntegaard delta rate of `test` against `anchor`, in percent (negative: `test` needs fewer
// bytes for the same accuracy). Both curves are reduced to their Pareto front, log(bytes) is
// interpolated as a function of accuracy by a monotone piecewise-cubic Hermite interpolant
// (PCHIP, Fritsch–Carlson) through each front, and the mean difference of the interpolants over
// the overlapping accuracy interval gives BD = exp(mean Δ log bytes) − 1. nullopt when a front has
// fewer than two points or the accuracy intervals do not overlap.
std::optional<double> bd_rate(const std::vector<RatePoint>& anchor, const std::vector<RatePoint>& test);

// The PCHIP interpolant through (x[i], y[i]) (x strictly increasing) evaluated at `at`
// (clamped to [x.front(), x.back()]). Exposed for tests.
double pchip_eval(const std::vector<double>& x, const std::vector<double>& y, double at);

struct CurveSummary {
  std::string curve;
  std::size_t points = 0;           // rows on the curve
  std::size_t front = 0;            // of which on its Pareto front
  std::optional<double> bd_rate_percent;
  std::string note;                 // why BD-rate is n/a
};

// One summary per curve, in the order curves first appear in `report.rows`.
std::vector<CurveSummary> summarize_curves(const Report& report, const std::string& anchor);

// ---- Noise ---------------------------------------------------------------------------------------

// The 95 % Wilson score interval of a proportion p measured on n images (z = 1.96):
// (p + z²/2n ± z·sqrt(p(1−p)/n + z²/4n²)) / (1 + z²/n), within [0, 1]; [0, 1] when n = 0. A top-1
// difference well inside it is noise of the image count, not the codec.
struct Interval {
  double lo = 0, hi = 1;
};
Interval top1_interval95(double p, std::size_t n);

// What a row's bits per element count: "element" of the cut tensors, or "input pixel" for the
// cloud-only rows (stage "input"), which send the input image.
const char* bits_unit(const Row& row);

// A curve's colour in the plot, fixed by its name (the same in every run, whatever the other
// curves): "#rrggbb".
std::string curve_colour(const std::string& curve);

// ---- Output ------------------------------------------------------------------------------------

std::string format_table(const Report& report, const std::vector<CurveSummary>& curves);
std::string to_csv(const Report& report);
// Top level: images, reference_top1, rows (each: name, bytes_mean, bytes_p95, bits_per_element,
// top1, agreement, top1_drop, and the other Row fields), curves, and the run's context.
std::string to_json(const Report& report, const std::vector<CurveSummary>& curves);

// The rate–accuracy plot: PNG_PATH, drawn by gnuplot from the data file (.dat) and script (.gp)
// that are kept beside it. Two panels: every row, and a zoom on the top-1 range near the
// reference. The runtime only makes the text; the caller writes the files (all-or-nothing) and
// runs run_gnuplot on the script.
struct PlotPaths {
  std::string png, data, script;
};
PlotPaths plot_paths(const std::string& png_path);
// One block per curve (sorted by bytes): "bytes top1% \"row name\"".
std::string plot_data(const Report& report);
// Draws into paths.png from paths.data; `cairo`: the pngcairo terminal, else libgd's png.
std::string plot_script(const Report& report, const PlotPaths& paths, bool cairo);
// Runs `gnuplot SCRIPT`; io_error with gnuplot's last line of output when it fails.
Status run_gnuplot(const std::string& script_path);
// Whether the plot can be drawn: gnuplot is on PATH (io_error naming the package otherwise). For a
// caller to check before minutes of evaluation rather than after.
Status check_plotter();

}  // namespace ftc::runtime
