// The split-point planner behind `ftc plan` (docs/planning.md): where to cut a model between a
// device and a server for the lowest end-to-end latency, from measurements on this machine and a
// link model.
//
// Two halves, kept apart so that the model can be tested without running anything:
//  - the cost model (plan.cpp): Candidate (what was measured) + CostParams
//    (the link, the machines, the energy constants) → Cost per candidate, the optimum, the optimum
//    under an accuracy floor, and where the optimum moves as the uplink varies;
//  - the measurement (plan_measure.cpp): runs the model, its heads and tails and the codecs on
//    calibration images and fills one Candidate per way to run it (device-only, cloud-only with
//    the input as PNG and as JPEG, every split candidate, learned bottlenecks).
//
// Latency of one image, in milliseconds (device time is this machine's × device_slowdown, server
// time this machine's ÷ server_speedup):
//   device-only: head·s                      (head = the full model; nothing is sent)
//   otherwise:   (head + encode)·s + RTT + 8·(bytes + overhead)/uplink + (decode + tail)/v
// Device energy, in millijoules (docs/planning.md states the constants and their sources):
//   compute_w·(head + encode)·s  +  (radio_mw_per_mbit·uplink_Mbit/s + radio_base_mw)·transfer
//   + radio_base_mw·(RTT + server time)
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ftc/ftc.hpp"

namespace ftc::runtime {

enum class CandidateKind { device_only, cloud, split, learned };
const char* candidate_kind_name(CandidateKind kind);  // "device", "cloud", "split", "learned"

// One way to run the model, measured on this machine. Times are medians over the calibration
// images, in milliseconds; bytes the mean over them.
struct Candidate {
  std::string name;          // unique: "device-only", "cloud-png", "cloud-jpeg q=90", "split 12", …
  CandidateKind kind = CandidateKind::split;
  std::string at;            // the cut tensors (comma-separated); "" for device-only and cloud-only
  std::string codec;         // what crosses the network: "ftc-u-pc1-rans b=4", "png", "jpeg q=90", …
  double head_ms = 0;        // device: the head (device-only: the full model; cloud-only: 0)
  double encode_ms = 0;      // device: coding what is sent (cloud-only: the input image)
  double decode_ms = 0;      // server
  double tail_ms = 0;        // server: the tail (cloud-only: the full model)
  double bytes = 0;          // sent per image
  double accuracy = 0;       // top-1 (or agreement with the full model without labels), in [0, 1]
  double drop_points = 0;    // reference accuracy − accuracy, × 100
  std::size_t images = 0;    // the images measured (0: taken from a report, not measured)
  std::string note;          // where a figure came from when not measured here
};

// Device energy constants (defaults: docs/planning.md, "Energy").
struct EnergyParams {
  double compute_w = 2.0;              // device SoC power while running the head and the encoder
  double radio_mw_per_mbit = 438.39;   // LTE uplink: power grows by this per Mbit/s sent
  double radio_base_mw = 1288.04;      // LTE radio on (connected), sending or waiting
};

struct CostParams {
  double uplink_bps = 1e6;       // > 0
  double rtt_ms = 20;            // ≥ 0, one request/response round trip
  double device_slowdown = 1;    // ≥ 1 is a slower device than this machine; > 0
  double server_speedup = 1;     // > 0; 2 = the server runs twice as fast as this machine
  double overhead_bytes = 0;     // ≥ 0, sent besides the payload per request (HTTP headers, …)
  EnergyParams energy;
};
// invalid_argument naming the parameter when one is out of range or not finite.
Status check_cost_params(const CostParams& params);

struct Cost {
  double head_ms = 0;      // scaled: device time
  double encode_ms = 0;    // scaled
  double rtt_ms = 0;       // 0 for device-only
  double transfer_ms = 0;
  double decode_ms = 0;    // scaled: server time
  double tail_ms = 0;
  double total_ms = 0;     // the sum of the six above
  double energy_mj = 0;
};
Cost cost_of(const Candidate& candidate, const CostParams& params);

struct Plan {
  std::vector<Cost> costs;                 // one per candidate, in the candidates' order
  std::optional<std::size_t> best;         // lowest total_ms (none only without candidates)
  std::optional<double> max_drop;          // the accuracy floor asked for, in points
  std::optional<std::size_t> best_within;  // lowest total_ms among drop_points ≤ max_drop
};
// The order that picks an optimum: lower total_ms; on equal totals higher accuracy, then fewer
// bytes, then the earlier candidate. True when `a` is strictly preferred to `b`.
bool preferred(const Candidate& a, const Cost& ca, std::size_t ia, const Candidate& b, const Cost& cb, std::size_t ib);
Result<Plan> make_plan(const std::vector<Candidate>& candidates, const CostParams& params,
                       std::optional<double> max_drop = std::nullopt);

// Where the optimum changes as the uplink varies with everything else fixed. Every candidate's
// latency is a + b/uplink (a: everything but the transfer, b: 8000·(bytes + overhead) ms·bit/s),
// so the optimum over (0, ∞) follows the lower envelope of these curves in 1/uplink: above
// `uplink_bps` the optimum is `above`, just below it `below`. Sorted by falling uplink; candidates
// over the floor are left out when `max_drop` is given. Ties at a crossing follow preferred().
struct OptimumChange {
  double uplink_bps = 0;
  std::size_t above = 0;
  std::size_t below = 0;
};
Result<std::vector<OptimumChange>> optimum_changes(const std::vector<Candidate>& candidates, const CostParams& params,
                                                   std::optional<double> max_drop = std::nullopt);

// ---- measurement (plan_measure.cpp) -------------------------------------------------------------

// A setting as set_encoder_option takes it: {"bits", "4"}.
using PlanEncoderSetting = std::pair<std::string, std::string>;

struct MeasureOptions {
  std::string model;                     // ONNX file; its model card M.json beside it gives the normalization
  std::string data = "fashion-mnist:test";
  std::string fashion_mnist_dir;
  std::string input_shape;               // fixes dynamic input dims, as for ftc eval
  std::size_t calibration = 64;          // the first N images of `data`: times, bytes and accuracy
  // Codec of every split: the study's defaults (per channel along axis 1 at rank ≥ 2, layout nchw
  // at rank 4, one thread), then these settings (none: bits 4, coder rans).
  std::vector<PlanEncoderSetting> codec;
  // A fitted codec model: each of its rate points is a candidate of its own at the model's
  // tensor (besides the codec above at every split).
  std::string codec_model;
  int cloud_jpeg_quality = 90;
  std::vector<std::string> at;           // split candidates to measure (first tensor of each cut); empty: all
  // Learned-bottleneck directories (train/learn.py, packed by ftc learn): report.json ({"at",
  // "estimated_bits_per_image", "heldout_top1", "reference_top1", "head_macs", "encoder_macs"}),
  // and beside it codec.ftcm, device.onnx, server.onnx. With all three files the candidate is
  // measured like a split (device.onnx → codec.ftcm → server.onnx); without them its bytes and
  // accuracy come from the report (all six fields then required) and its device time is
  // estimated from its MACs at this machine's measured MAC rate.
  std::vector<std::string> learned;
};

struct MeasureEvent {
  std::string text;  // "measuring split 12 (/stage2/...)" and the like
};

struct Measurement {
  std::vector<Candidate> candidates;     // device-only, cloud-png, cloud-jpeg, splits in graph order, learned
  double reference_accuracy = 0;         // of the full model on the same images
  bool labelled = true;                  // false: accuracy is agreement with the full model
  std::size_t images = 0;
  std::vector<std::string> notes;
};
Result<Measurement> measure_candidates(const MeasureOptions& options,
                                       const std::function<void(const MeasureEvent&)>& progress = {});

// One learned bottleneck's report.json (train/learn.py), read and checked: "at" and
// "estimated_bits_per_image" are required, the rest optional (absent: nullopt); every number
// finite, ≥ 0, top-1 values in [0, 1]. When a "test" block (learn.py's test-set figures) holds
// "estimated_bits_per_image", "top1" and "reference_top1", those are used instead of the
// held-out ones.
struct LearnedReport {
  std::string at;
  double estimated_bits_per_image = 0;
  std::optional<double> heldout_top1;
  std::optional<double> reference_top1;
  std::optional<double> head_macs;
  std::optional<double> encoder_macs;
  std::string accuracy_source;   // "held-out" or "test"
};
Result<LearnedReport> read_learned_report(const std::string& path);

}  // namespace ftc::runtime
