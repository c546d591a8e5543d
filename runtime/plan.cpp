// The planner's cost model (plan.hpp): latency and energy per candidate, the optimum, the optimum
// under an accuracy floor and the uplinks where the optimum changes. Nothing here runs a model.
#include "runtime/plan.hpp"

#include <cmath>
#include <limits>

namespace ftc::runtime {
namespace {

// Slack for the floor: drop_points come from image counts (k/N·100) and the floor from a flag,
// so both are rounded; a drop that equals the floor up to rounding is within it.
constexpr double kFloorSlack = 1e-9;

bool within(const Candidate& c, std::optional<double> max_drop) {
  return !max_drop || c.drop_points <= *max_drop + kFloorSlack;
}

Status positive(double v, const char* name) {
  if (!(v > 0) || !std::isfinite(v)) return {StatusCode::invalid_argument, std::string(name) + " must be positive and finite"};
  return {};
}
Status non_negative(double v, const char* name) {
  if (!(v >= 0) || !std::isfinite(v)) return {StatusCode::invalid_argument, std::string(name) + " must be ≥ 0 and finite"};
  return {};
}

Status check_candidate(const Candidate& c) {
  for (double v : {c.head_ms, c.encode_ms, c.decode_ms, c.tail_ms, c.bytes})
    if (!(v >= 0) || !std::isfinite(v))
      return {StatusCode::invalid_argument, "candidate " + c.name + ": times and bytes must be ≥ 0 and finite"};
  if (!std::isfinite(c.accuracy) || !std::isfinite(c.drop_points))
    return {StatusCode::invalid_argument, "candidate " + c.name + ": accuracy must be finite"};
  return {};
}

// total_ms as a + b·x with x = 1/uplink in s/bit: a everything but the transfer, b in ms·bit/s.
struct Line {
  double a = 0, b = 0;
};
Line line_of(const Candidate& c, const CostParams& p) {
  const Cost k = cost_of(c, p);
  if (c.kind == CandidateKind::device_only) return {k.total_ms, 0};
  return {k.total_ms - k.transfer_ms, 8000.0 * (c.bytes + p.overhead_bytes)};
}

}  // namespace

const char* candidate_kind_name(CandidateKind kind) {
  switch (kind) {
    case CandidateKind::device_only: return "device";
    case CandidateKind::cloud: return "cloud";
    case CandidateKind::split: return "split";
    case CandidateKind::learned: return "learned";
  }
  return "?";
}

Status check_cost_params(const CostParams& p) {
  FTC_RETURN_IF_ERROR(positive(p.uplink_bps, "the uplink"));
  FTC_RETURN_IF_ERROR(non_negative(p.rtt_ms, "the RTT"));
  FTC_RETURN_IF_ERROR(positive(p.device_slowdown, "the device slowdown"));
  FTC_RETURN_IF_ERROR(positive(p.server_speedup, "the server speed factor"));
  FTC_RETURN_IF_ERROR(non_negative(p.overhead_bytes, "the per-request overhead"));
  FTC_RETURN_IF_ERROR(non_negative(p.energy.compute_w, "the device compute power"));
  FTC_RETURN_IF_ERROR(non_negative(p.energy.radio_mw_per_mbit, "the radio power per Mbit/s"));
  FTC_RETURN_IF_ERROR(non_negative(p.energy.radio_base_mw, "the radio base power"));
  return {};
}

Cost cost_of(const Candidate& c, const CostParams& p) {
  Cost k;
  k.head_ms = c.head_ms * p.device_slowdown;
  k.encode_ms = c.encode_ms * p.device_slowdown;
  if (c.kind != CandidateKind::device_only) {
    k.rtt_ms = p.rtt_ms;
    // bytes · 8 bit / (bit/s) = s; × 1000 = ms (in one product: whole numbers stay exact).
    k.transfer_ms = (c.bytes + p.overhead_bytes) * 8000.0 / p.uplink_bps;
    k.decode_ms = c.decode_ms / p.server_speedup;
    k.tail_ms = c.tail_ms / p.server_speedup;
  }
  k.total_ms = k.head_ms + k.encode_ms + k.rtt_ms + k.transfer_ms + k.decode_ms + k.tail_ms;
  // W · ms = mJ; mW · ms = µJ (÷ 1000 for mJ). Radio power while sending: α·rate + β.
  const EnergyParams& e = p.energy;
  const double sending_mw = e.radio_mw_per_mbit * (p.uplink_bps / 1e6) + e.radio_base_mw;
  const double waiting_ms = k.rtt_ms + k.decode_ms + k.tail_ms;
  k.energy_mj = e.compute_w * (k.head_ms + k.encode_ms);
  if (c.kind != CandidateKind::device_only)
    k.energy_mj += (sending_mw * k.transfer_ms + e.radio_base_mw * waiting_ms) / 1000.0;
  return k;
}

bool preferred(const Candidate& a, const Cost& ca, std::size_t ia, const Candidate& b, const Cost& cb, std::size_t ib) {
  if (ca.total_ms != cb.total_ms) return ca.total_ms < cb.total_ms;
  if (a.accuracy != b.accuracy) return a.accuracy > b.accuracy;
  if (a.bytes != b.bytes) return a.bytes < b.bytes;
  return ia < ib;
}

Result<Plan> make_plan(const std::vector<Candidate>& candidates, const CostParams& params, std::optional<double> max_drop) {
  FTC_RETURN_IF_ERROR(check_cost_params(params));
  if (max_drop && (!std::isfinite(*max_drop) || *max_drop < 0))
    return Status{StatusCode::invalid_argument, "the accuracy floor (max drop) must be ≥ 0 points"};
  Plan plan;
  plan.max_drop = max_drop;
  for (const auto& c : candidates) {
    FTC_RETURN_IF_ERROR(check_candidate(c));
    plan.costs.push_back(cost_of(c, params));
  }
  auto better = [&](std::size_t i, const std::optional<std::size_t>& cur) {
    return !cur || preferred(candidates[i], plan.costs[i], i, candidates[*cur], plan.costs[*cur], *cur);
  };
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (better(i, plan.best)) plan.best = i;
    if (max_drop && within(candidates[i], max_drop) && better(i, plan.best_within)) plan.best_within = i;
  }
  return plan;
}

Result<std::vector<OptimumChange>> optimum_changes(const std::vector<Candidate>& candidates, const CostParams& params,
                                                   std::optional<double> max_drop) {
  FTC_ASSIGN_OR_RETURN(Plan plan, make_plan(candidates, params, max_drop));  // checks everything
  std::vector<std::size_t> eligible;
  std::vector<Line> lines(candidates.size());
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    lines[i] = line_of(candidates[i], params);
    if (within(candidates[i], max_drop)) eligible.push_back(i);
  }
  std::vector<OptimumChange> out;
  if (eligible.empty()) return out;
  // Just after x: the lower line; at equal value the smaller slope (it stays lower after x); at
  // equal lines preferred() at any uplink (its cost order then ties, so accuracy/bytes/index).
  auto wins_after = [&](std::size_t i, std::size_t j, double x) {
    const double vi = lines[i].a + lines[i].b * x, vj = lines[j].a + lines[j].b * x;
    if (vi != vj) return vi < vj;
    if (lines[i].b != lines[j].b) return lines[i].b < lines[j].b;
    return preferred(candidates[i], plan.costs[i], i, candidates[j], plan.costs[j], j);
  };
  std::size_t cur = eligible[0];
  for (std::size_t i : eligible)
    if (i != cur && wins_after(i, cur, 0.0)) cur = i;
  double x = 0;
  for (;;) {
    // The nearest crossing beyond x with a line of smaller slope; the slope falls at every step,
    // so this ends after at most |eligible| steps.
    std::optional<std::size_t> next;
    double next_x = std::numeric_limits<double>::infinity();
    for (std::size_t i : eligible) {
      if (!(lines[i].b < lines[cur].b)) continue;
      const double xi = (lines[i].a - lines[cur].a) / (lines[cur].b - lines[i].b);
      if (!(xi > x)) continue;
      if (xi < next_x || (xi == next_x && next && wins_after(i, *next, xi))) {
        next = i;
        next_x = xi;
      }
    }
    if (!next) break;
    out.push_back({1.0 / next_x, cur, *next});
    cur = *next;
    x = next_x;
  }
  return out;
}

}  // namespace ftc::runtime
