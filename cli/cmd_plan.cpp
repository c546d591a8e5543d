// ftc plan — where to split a model between a device and a server: parses the flags, measures
// every candidate with runtime::measure_candidates, prices them with runtime::make_plan (and
// runtime::optimum_changes for --sweep-uplink), prints the table and writes the JSON.
#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/codec_flags.hpp"
#include "cli/commands.hpp"
#include "cli/file_io.hpp"
#include "cli/text.hpp"
#include "runtime/plan.hpp"
#include "runtime/units.hpp"

namespace ftc::cli {
namespace {

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// 100000 → "100 kbit/s", 1e6 → "1 Mbit/s".
std::string rate_text(double bps) {
  if (bps >= 1e9) return fmt("%g Gbit/s", bps / 1e9);
  if (bps >= 1e6) return fmt("%g Mbit/s", bps / 1e6);
  if (bps >= 1e3) return fmt("%g kbit/s", bps / 1e3);
  return fmt("%g bit/s", bps);
}

std::string pad(std::string s, std::size_t w, bool right = false) {
  // Width in characters (UTF-8 continuation bytes take no column).
  std::size_t cols = 0;
  for (unsigned char c : s) cols += (c & 0xC0) != 0x80;
  if (cols >= w) return s;
  const std::string fill(w - cols, ' ');
  return right ? fill + s : s + fill;
}

std::string table(const runtime::Measurement& m, const runtime::Plan& plan, const runtime::CostParams& p) {
  const auto& cs = m.candidates;
  std::size_t wn = 9, wc = 5;
  for (const auto& c : cs) {
    wn = std::max(wn, printable(c.name).size());
    wc = std::max(wc, printable(c.codec).size());
  }
  const char* acc = m.labelled ? "top-1" : "agree";
  std::string out = "  " + pad("candidate", wn) + "  " + pad("codec", wc) +
                    "     bytes   " + acc + "   drop   head ms  enc ms  rtt+xfer ms  dec ms  tail ms  total ms  energy mJ\n";
  for (std::size_t i = 0; i < cs.size(); ++i) {
    const auto& c = cs[i];
    const auto& k = plan.costs[i];
    std::string mark = "  ";
    if (plan.best && *plan.best == i) mark = "* ";
    if (plan.best_within && *plan.best_within == i) mark = plan.best && *plan.best == i ? "*F" : " F";
    out += mark + pad(printable(c.name), wn) + "  " + pad(printable(c.codec), wc) + pad(fmt("%.0f", c.bytes), 10, true) +
           pad(fmt("%.2f%%", 100 * c.accuracy), 8, true) + pad(fmt("%.2f", c.drop_points), 7, true) +
           pad(fmt("%.2f", k.head_ms), 10, true) + pad(fmt("%.2f", k.encode_ms), 8, true) +
           pad(fmt("%.2f", k.rtt_ms + k.transfer_ms), 13, true) + pad(fmt("%.2f", k.decode_ms), 8, true) +
           pad(fmt("%.2f", k.tail_ms), 9, true) + pad(fmt("%.2f", k.total_ms), 10, true) +
           pad(fmt("%.1f", k.energy_mj), 11, true) + (c.at.empty() ? "" : "  at " + printable(c.at)) + "\n";
  }
  out += "  (* optimum";
  if (plan.max_drop) out += ", F optimum within " + fmt("%g", *plan.max_drop) + " points of the full model";
  out += "; device times are this machine's x " + fmt("%g", p.device_slowdown) + ", server times ÷ " +
         fmt("%g", p.server_speedup) + ")\n";
  return out;
}

std::string choice(const runtime::Measurement& m, const runtime::Plan& plan) {
  std::string out;
  if (plan.best) {
    const auto& c = m.candidates[*plan.best];
    out += "optimum: " + printable(c.name) + (c.at.empty() ? "" : " (at " + printable(c.at) + ")") + ", " +
           fmt("%.2f ms", plan.costs[*plan.best].total_ms) + ", " + fmt("%.2f%%", 100 * c.accuracy) + "\n";
  }
  if (plan.max_drop) {
    if (plan.best_within) {
      const auto& c = m.candidates[*plan.best_within];
      out += "optimum within " + fmt("%g", *plan.max_drop) + " points: " + printable(c.name) + ", " +
             fmt("%.2f ms", plan.costs[*plan.best_within].total_ms) + ", " + fmt("%.2f%%", 100 * c.accuracy) + "\n";
    } else {
      out += "optimum within " + fmt("%g", *plan.max_drop) + " points: none (every candidate drops more)\n";
    }
  }
  return out;
}

nlohmann::ordered_json optional_name(const runtime::Measurement& m, const std::optional<std::size_t>& i) {
  return i ? nlohmann::ordered_json(m.candidates[*i].name) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json plan_json(const runtime::MeasureOptions& o, const runtime::Measurement& m,
                                 const runtime::CostParams& p, const runtime::Plan& plan,
                                 const std::vector<std::pair<double, runtime::Plan>>& sweep,
                                 const std::vector<runtime::OptimumChange>& changes) {
  nlohmann::ordered_json j;
  j["model"] = o.model;
  j["data"] = o.data;
  j["images"] = m.images;
  j["labelled"] = m.labelled;
  j["reference_accuracy"] = m.reference_accuracy;
  j["params"] = {{"uplink_bps", p.uplink_bps},
                 {"rtt_ms", p.rtt_ms},
                 {"device_slowdown", p.device_slowdown},
                 {"server_speedup", p.server_speedup},
                 {"overhead_bytes", p.overhead_bytes},
                 {"compute_w", p.energy.compute_w},
                 {"radio_mw_per_mbit", p.energy.radio_mw_per_mbit},
                 {"radio_base_mw", p.energy.radio_base_mw}};
  j["max_drop"] = plan.max_drop ? nlohmann::ordered_json(*plan.max_drop) : nlohmann::ordered_json(nullptr);
  auto& arr = j["candidates"] = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < m.candidates.size(); ++i) {
    const auto& c = m.candidates[i];
    const auto& k = plan.costs[i];
    arr.push_back({{"name", c.name},
                   {"kind", runtime::candidate_kind_name(c.kind)},
                   {"at", c.at},
                   {"codec", c.codec},
                   {"images", c.images},
                   {"bytes", c.bytes},
                   {"accuracy", c.accuracy},
                   {"drop_points", c.drop_points},
                   {"measured_ms", {{"head", c.head_ms}, {"encode", c.encode_ms}, {"decode", c.decode_ms}, {"tail", c.tail_ms}}},
                   {"predicted_ms",
                    {{"head", k.head_ms},
                     {"encode", k.encode_ms},
                     {"rtt", k.rtt_ms},
                     {"transfer", k.transfer_ms},
                     {"decode", k.decode_ms},
                     {"tail", k.tail_ms},
                     {"total", k.total_ms}}},
                   {"energy_mj", k.energy_mj},
                   {"note", c.note}});
  }
  j["optimum"] = optional_name(m, plan.best);
  j["floor_optimum"] = optional_name(m, plan.best_within);
  auto& sw = j["sweep"] = nlohmann::ordered_json::array();
  for (const auto& [u, sp] : sweep) {
    nlohmann::ordered_json totals = nlohmann::ordered_json::array();
    for (const auto& k : sp.costs) totals.push_back(k.total_ms);
    sw.push_back({{"uplink_bps", u},
                  {"optimum", optional_name(m, sp.best)},
                  {"floor_optimum", optional_name(m, sp.best_within)},
                  {"total_ms", totals}});
  }
  auto& ch = j["optimum_changes"] = nlohmann::ordered_json::array();
  for (const auto& c : changes)
    ch.push_back({{"uplink_bps", c.uplink_bps}, {"above", m.candidates[c.above].name}, {"below", m.candidates[c.below].name}});
  j["notes"] = m.notes;
  return j;
}

}  // namespace

Command add_plan(CLI::App& root) {
  struct Args {
    runtime::MeasureOptions measure;
    std::string uplink = "1mbit", rtt = "20ms", sweep;
    double slowdown = 1, server_speedup = 1, overhead = 0;
    std::optional<double> max_drop;
    runtime::EnergyParams energy;
    std::string json;
    bool force = false, quiet = false;
  };
  auto a = std::make_shared<Args>();
  runtime::MeasureOptions& mo = a->measure;
  auto* sub = root.add_subcommand(
      "plan",
      "Pick the split point: device-only, cloud-only (PNG/JPEG input) and every split candidate, measured on\n"
      "this machine (times, real encoded bytes, accuracy) and priced for a link and a device (docs/planning.md)");
  sub->add_option("--model", mo.model, "ONNX model (its model card M.json is read from beside it)")->required();
  sub->add_option("--data", mo.data, "Labelled images, as for ftc eval")->capture_default_str();
  sub->add_option("--fashion-mnist-dir", mo.fashion_mnist_dir, "Directory of the Fashion-MNIST idx files");
  sub->add_option("--input-shape", mo.input_shape, "Fix dynamic input dims: 1,1,28,28 or NAME:1,3,224,224");
  sub->add_option("--calibration", mo.calibration, "Images measured (the first N of --data)")->capture_default_str()->check(CLI::Range(1, 100000));
  auto codec = add_codec_flags(*sub, {EncoderParam::threads});
  sub->add_option("--codec-model", mo.codec_model,
                  "Fitted codec model (.ftcm): each rate point is a candidate at its tensor");
  sub->add_option("--at", mo.at, "Measure only these split candidates (tensors as ftc layers lists them)")->delimiter(',');
  sub->add_option("--learned", mo.learned, "Learned-bottleneck directories (report.json, codec.ftcm, device.onnx, server.onnx)");
  sub->add_option("--cloud-jpeg-quality", mo.cloud_jpeg_quality, "JPEG quality of the cloud-only JPEG candidate")->capture_default_str();
  sub->add_option("--uplink", a->uplink, "Uplink bit rate: 100kbit, 1mbit, 1.5Mbit/s, 10Mbps")->capture_default_str();
  sub->add_option("--rtt", a->rtt, "Round-trip time: 20ms, 0.1s, 0")->capture_default_str();
  sub->add_option("--device-slowdown", a->slowdown, "The device runs this many times slower than this machine")->capture_default_str();
  sub->add_option("--server-speedup", a->server_speedup, "The server runs this many times faster than this machine")->capture_default_str();
  sub->add_option("--overhead-bytes", a->overhead, "Bytes sent per request besides the payload (headers)")->capture_default_str();
  sub->add_option("--max-drop", a->max_drop, "Accuracy floor: also the optimum among candidates within this many points of the full model");
  sub->add_option("--sweep-uplink", a->sweep, "Uplinks to re-plan at, e.g. 0.1mbit,1mbit,10mbit");
  sub->add_option("--compute-watts", a->energy.compute_w, "Device power while computing (W)")->capture_default_str();
  sub->add_option("--radio-mw-per-mbit", a->energy.radio_mw_per_mbit, "Radio power per Mbit/s of uplink (mW)")->capture_default_str();
  sub->add_option("--radio-base-mw", a->energy.radio_base_mw, "Radio power while connected (mW)")->capture_default_str();
  sub->add_option("--json", a->json, "Write the measurements, the plan and the sweep as JSON");
  sub->add_flag("-f,--force", a->force, "Overwrite the --json file");
  sub->add_flag("-q,--quiet", a->quiet, "No progress lines on stderr");

  return {sub, [a, codec]() -> int {
    runtime::MeasureOptions& o = a->measure;
    runtime::CostParams p;
    auto uplink = runtime::parse_bit_rate(a->uplink);
    if (!uplink.ok()) return fail("--uplink", uplink.status().message());
    p.uplink_bps = *uplink;
    auto rtt = runtime::parse_duration(a->rtt);
    if (!rtt.ok()) return fail("--rtt", rtt.status().message());
    p.rtt_ms = *rtt * 1000;
    p.device_slowdown = a->slowdown;
    p.server_speedup = a->server_speedup;
    p.overhead_bytes = a->overhead;
    p.energy = a->energy;
    if (Status s = runtime::check_cost_params(p); !s.ok()) return fail("plan", s.message());
    if (a->max_drop && (!std::isfinite(*a->max_drop) || *a->max_drop < 0))
      return fail("--max-drop", "points must be ≥ 0");
    std::vector<double> sweep;
    for (const auto& s : split_list(a->sweep)) {
      auto r = runtime::parse_bit_rate(s);
      if (!r.ok()) return fail("--sweep-uplink", r.status().message());
      sweep.push_back(*r);
    }
    if (!a->sweep.empty() && sweep.empty()) return fail("--sweep-uplink", "no bit rates given");
    auto settings = codec->given();
    if (!settings.ok()) return fail("plan", settings.status().message());
    o.codec = std::move(settings).value();
    std::optional<io::OutputFile> json_file;
    if (!a->json.empty()) {
      std::vector<std::string> inputs = {o.model};
      if (!o.codec_model.empty()) inputs.push_back(o.codec_model);
      if (Status s = check_not_input(a->json, inputs); !s.ok()) return fail(a->json, s.message());
      // Opened before minutes of measuring, so that an unwritable path fails first.
      auto f = io::OutputFile::create(a->json, overwrite_if(a->force));
      if (!f.ok()) return fail(a->json, f.status().message());
      json_file.emplace(std::move(f).value());
    }

    const bool quiet = a->quiet;
    auto m = runtime::measure_candidates(o, [quiet](const runtime::MeasureEvent& e) {
      if (!quiet) std::fprintf(stderr, "ftc plan: %s\n", printable(e.text).c_str());
    });
    if (!m.ok()) return fail("plan", m.status().message());
    auto plan = runtime::make_plan(m->candidates, p, a->max_drop);
    if (!plan.ok()) return fail("plan", plan.status().message());

    std::string out = "ftc plan: " + printable(o.model) + " on " + std::to_string(m->images) + " images of " +
                      printable(o.data) + "; full model " + (m->labelled ? "top-1 " : "agreement ") +
                      fmt("%.2f%%", 100 * m->reference_accuracy) + "\n";
    out += "uplink " + rate_text(p.uplink_bps) + ", RTT " + fmt("%g ms", p.rtt_ms) + ", device " +
           fmt("%gx slower", p.device_slowdown) + ", server " + fmt("%gx faster", p.server_speedup) + "\n\n";
    out += table(*m, *plan, p) + "\n" + choice(*m, *plan);

    std::vector<std::pair<double, runtime::Plan>> swept;
    std::vector<runtime::OptimumChange> changes;
    if (!sweep.empty()) {
      out += "\nsweep of the uplink (total ms; * optimum, F floor optimum):\n  " + pad("candidate", 24);
      for (double u : sweep) out += pad(rate_text(u), 14, true);
      out += "\n";
      for (double u : sweep) {
        runtime::CostParams q = p;
        q.uplink_bps = u;
        auto sp = runtime::make_plan(m->candidates, q, a->max_drop);
        if (!sp.ok()) return fail("plan", sp.status().message());
        swept.emplace_back(u, std::move(sp).value());
      }
      for (std::size_t i = 0; i < m->candidates.size(); ++i) {
        out += "  " + pad(printable(m->candidates[i].name), 24);
        for (const auto& [u, sp] : swept) {
          std::string mk = sp.best == i ? "*" : " ";
          mk += sp.best_within == i ? "F" : " ";
          out += pad(fmt("%.2f", sp.costs[i].total_ms) + mk, 14, true);
        }
        out += "\n";
      }
      for (const auto& [u, sp] : swept) {
        out += "  at " + rate_text(u) + ": optimum " + printable(m->candidates[*sp.best].name) + " " +
               fmt("%.2f ms", sp.costs[*sp.best].total_ms);
        if (sp.max_drop)
          out += sp.best_within ? ", within the floor " + printable(m->candidates[*sp.best_within].name) + " " +
                                      fmt("%.2f ms", sp.costs[*sp.best_within].total_ms)
                                : ", none within the floor";
        out += "\n";
      }
      auto ch = runtime::optimum_changes(m->candidates, p, a->max_drop);
      if (!ch.ok()) return fail("plan", ch.status().message());
      changes = std::move(ch).value();
      out += "  the optimum" + std::string(a->max_drop ? " within the floor" : "") + " changes at:";
      if (changes.empty()) out += " no uplink (the same at every rate)";
      out += "\n";
      for (const auto& c : changes)
        out += "    " + rate_text(c.uplink_bps) + ": " + printable(m->candidates[c.above].name) + " above, " +
               printable(m->candidates[c.below].name) + " below\n";
    }
    for (const auto& n : m->notes) out += "note: " + printable(n) + "\n";
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);

    if (json_file) {
      const std::string text = json_text(plan_json(o, *m, p, *plan, swept, changes)) + "\n";
      Status s = json_file->write({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
      if (s.ok()) s = json_file->commit();
      if (!s.ok()) return fail(a->json, s.message());
      std::fprintf(stderr, "wrote %s\n", printable(a->json).c_str());
    }
    return 0;
  }};
}

}  // namespace ftc::cli
