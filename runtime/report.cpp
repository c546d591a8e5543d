// Rate–accuracy report: BD-rate, table, CSV, JSON, gnuplot (see report.hpp).
#include "runtime/report.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

namespace ftc::runtime {

// ---- BD-rate -----------------------------------------------------------------------------------

std::vector<RatePoint> pareto_front(std::vector<RatePoint> points) {
  std::erase_if(points, [](const RatePoint& p) {
    return !(p.bytes > 0) || !std::isfinite(p.bytes) || !std::isfinite(p.accuracy);
  });
  std::sort(points.begin(), points.end(), [](const RatePoint& a, const RatePoint& b) {
    return a.bytes < b.bytes || (a.bytes == b.bytes && a.accuracy > b.accuracy);
  });
  std::vector<RatePoint> front;
  for (const RatePoint& p : points)
    if (front.empty() || p.accuracy > front.back().accuracy) front.push_back(p);
  return front;
}

namespace {

// Fritsch–Carlson derivative estimates at the knots (the interpolant is monotone where the data is).
std::vector<double> pchip_slopes(const std::vector<double>& x, const std::vector<double>& y) {
  const std::size_t n = x.size();
  std::vector<double> d(n, 0.0);
  if (n < 2) return d;
  std::vector<double> h(n - 1), delta(n - 1);
  for (std::size_t i = 0; i + 1 < n; ++i) {
    h[i] = x[i + 1] - x[i];
    delta[i] = (y[i + 1] - y[i]) / h[i];
  }
  if (n == 2) {
    d[0] = d[1] = delta[0];
    return d;
  }
  for (std::size_t i = 1; i + 1 < n; ++i) {
    if (delta[i - 1] * delta[i] <= 0) {
      d[i] = 0;
    } else {
      const double w1 = 2 * h[i] + h[i - 1], w2 = h[i] + 2 * h[i - 1];
      d[i] = (w1 + w2) / (w1 / delta[i - 1] + w2 / delta[i]);
    }
  }
  // One-sided three-point ends, shape-preserving (as in SciPy's PchipInterpolator).
  auto end_slope = [](double h0, double h1, double m0, double m1) {
    double s = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1);
    if (s * m0 <= 0) s = 0;
    else if (m0 * m1 <= 0 && std::fabs(s) > std::fabs(3 * m0)) s = 3 * m0;
    return s;
  };
  d[0] = end_slope(h[0], h[1], delta[0], delta[1]);
  d[n - 1] = end_slope(h[n - 2], h[n - 3], delta[n - 2], delta[n - 3]);
  return d;
}

double hermite(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& d, double at) {
  const std::size_t n = x.size();
  if (n == 1) return y[0];
  at = std::clamp(at, x.front(), x.back());
  std::size_t k = static_cast<std::size_t>(std::upper_bound(x.begin(), x.end(), at) - x.begin());
  k = std::clamp<std::size_t>(k, 1, n - 1) - 1;
  const double h = x[k + 1] - x[k], t = (at - x[k]) / h;
  const double t2 = t * t, t3 = t2 * t;
  return (2 * t3 - 3 * t2 + 1) * y[k] + (t3 - 2 * t2 + t) * h * d[k] + (-2 * t3 + 3 * t2) * y[k + 1] +
         (t3 - t2) * h * d[k + 1];
}

// ∫ interpolant over [lo, hi] by composite Simpson (the interpolant is a smooth cubic per piece;
// 2000 panels make the quadrature error negligible next to the measurement noise).
double integrate(const std::vector<double>& x, const std::vector<double>& y, double lo, double hi) {
  const std::vector<double> d = pchip_slopes(x, y);
  const int panels = 2000;
  const double step = (hi - lo) / panels;
  double sum = hermite(x, y, d, lo) + hermite(x, y, d, hi);
  for (int i = 1; i < panels; ++i) sum += (i % 2 ? 4.0 : 2.0) * hermite(x, y, d, lo + i * step);
  return sum * step / 3.0;
}

}  // namespace

double pchip_eval(const std::vector<double>& x, const std::vector<double>& y, double at) {
  return hermite(x, y, pchip_slopes(x, y), at);
}

std::optional<double> bd_rate(const std::vector<RatePoint>& anchor, const std::vector<RatePoint>& test) {
  const auto a = pareto_front(anchor), t = pareto_front(test);
  if (a.size() < 2 || t.size() < 2) return std::nullopt;
  const double lo = std::max(a.front().accuracy, t.front().accuracy);
  const double hi = std::min(a.back().accuracy, t.back().accuracy);
  if (!(hi > lo)) return std::nullopt;
  auto xy = [](const std::vector<RatePoint>& f, std::vector<double>& x, std::vector<double>& y) {
    for (const auto& p : f) {
      x.push_back(p.accuracy);
      y.push_back(std::log(p.bytes));
    }
  };
  std::vector<double> ax, ay, tx, ty;
  xy(a, ax, ay);
  xy(t, tx, ty);
  const double mean_diff = (integrate(tx, ty, lo, hi) - integrate(ax, ay, lo, hi)) / (hi - lo);
  return (std::exp(mean_diff) - 1.0) * 100.0;
}

double row_accuracy(const Report& report, const Row& row) { return report.labelled ? row.top1 : row.agreement; }

std::vector<CurveSummary> summarize_curves(const Report& report, const std::string& anchor) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<RatePoint>> pts;
  for (const Row& r : report.rows) {
    if (!pts.count(r.curve)) order.push_back(r.curve);
    pts[r.curve].push_back({r.bytes_mean, row_accuracy(report, r)});
  }
  std::vector<CurveSummary> out;
  const bool have_anchor = pts.count(anchor) > 0;
  for (const std::string& c : order) {
    CurveSummary s;
    s.curve = c;
    s.points = pts[c].size();
    s.front = pareto_front(pts[c]).size();
    if (!have_anchor) {
      s.note = "no anchor curve";
    } else if (c == anchor) {
      s.bd_rate_percent = 0.0;
      s.note = "anchor";
    } else if (s.front < 2) {
      s.note = s.points < 2 ? "single point" : "fewer than 2 Pareto points";
    } else if (pareto_front(pts[anchor]).size() < 2) {
      s.note = "anchor has fewer than 2 Pareto points";
    } else {
      s.bd_rate_percent = bd_rate(pts[anchor], pts[c]);
      if (!s.bd_rate_percent) s.note = "no accuracy overlap with the anchor";
    }
    out.push_back(std::move(s));
  }
  return out;
}

// ---- Noise, units, colours ----------------------------------------------------------------------

Interval top1_interval95(double p, std::size_t n) {
  if (n == 0) return {};
  const double z = 1.96, nn = static_cast<double>(n), z2 = z * z;
  const double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
  const double half = z * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / (1 + z2 / nn);
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

const char* bits_unit(const Row& row) {
  return row.stage == "input" ? "input pixel" : row.stage == "learned" ? "latent element" : "element";
}

namespace {

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

std::string curve_colour(const std::string& curve) {
  // Baselines and ftc's coders each have their own colour; other curves (a codec model's, a
  // variant's) take one from the curve's name.
  static const std::pair<const char*, const char*> kFixed[] = {
      {"f32-raw", "#7f7f7f"},     {"f16", "#bcbd22"},        {"zstd-f32", "#8c564b"},   {"zfp", "#17becf"},
      {"mosaic-jpeg", "#e377c2"}, {"mosaic-png", "#9467bd"}, {"cloud-png", "#000000"},  {"cloud-jpeg", "#555555"},
  };
  for (const auto& [name, colour] : kFixed)
    if (curve == name) return colour;
  static const std::pair<const char*, const char*> kCoder[] = {
      {"-rans-wide", "#ff7f0e"}, {"-context-rans", "#800000"}, {"-adaptive", "#2ca02c"},
      {"-rans", "#d62728"},      {"-zstd", "#1f77b4"},         {"-raw", "#808000"},
  };
  if (curve.rfind("ftc-u-pc1-", 0) == 0 || curve.rfind("ftc-u-pt-", 0) == 0)
    for (const auto& [coder, colour] : kCoder)
      if (curve.find(coder) != std::string::npos && curve.ends_with(coder)) return colour;
  static const char* kOthers[] = {"#000080", "#008080", "#b8860b", "#4b0082", "#006400", "#c71585", "#4682b4", "#a0522d"};
  return kOthers[fnv1a(curve) % (sizeof kOthers / sizeof *kOthers)];
}

// ---- Table, CSV, JSON ---------------------------------------------------------------------------

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string pad(const std::string& s, std::size_t w, bool left = false) {
  if (s.size() >= w) return s;
  return left ? s + std::string(w - s.size(), ' ') : std::string(w - s.size(), ' ') + s;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

// A model or data set name without its folders: "/a/b/m.onnx" → "m.onnx", "npy:/t/x.npy,/t/y.npy"
// → "npy:x.npy,y.npy" (plot titles stay short and do not show where a user keeps files).
std::string without_folders(const std::string& s) {
  std::string out, token;
  auto flush = [&]() {
    const auto slash = token.find_last_of('/');
    out += slash == std::string::npos ? token : token.substr(slash + 1);
    token.clear();
  };
  for (char c : s) {
    if (c == ',' || c == ':') {
      flush();
      out += c;
    } else {
      token += c;
    }
  }
  flush();
  return out;
}

// Half the 95 % interval's width at the reference top-1, in points: top-1 differences below it are
// noise of the image count.
double noise_points(const Report& report) {
  const Interval ci = top1_interval95(report.reference_top1, report.images);
  return (ci.hi - ci.lo) * 50.0;
}

}  // namespace

std::string format_table(const Report& report, const std::vector<CurveSummary>& curves) {
  std::ostringstream os;
  os << "model " << report.model << "  split " << report.split << "  data " << report.data << "  images "
     << report.images << "\n";
  if (report.labelled)
    os << "reference top-1 (full model, f32): " << fmt("%.2f", report.reference_top1 * 100) << " %   uncompressed split: "
       << fmt("%.2f", report.split_top1 * 100) << " %, ";
  else
    os << "no labels: top-1 n/a; rates compared on agreement with the uncompressed split; split: ";
  os
     << (report.split_mismatches == 0 ? std::string("predictions identical to the full model")
                                      : std::to_string(report.split_mismatches) + " predictions DIFFER from the full model")
     << " (max |Δlogit| " << fmt("%.3g", report.max_logit_abs_diff) << ")\n\n";
  std::size_t wname = 4;
  for (const Row& r : report.rows) wname = std::max(wname, r.name.size());
  os << pad("name", wname, true) << "  " << pad("bytes", 10) << pad("p95", 10) << pad("bits/el", 11) << pad("top-1 %", 9)
     << pad("95% CI", 14) << pad("agree %", 9) << pad("drop pt", 9) << pad("enc us", 9) << pad("dec us", 9) << "\n";
  os << std::string(wname + 2 + 10 + 10 + 11 + 14 + 9 * 6, '-') << "\n";
  bool any_input = false;
  for (const Row& r : report.rows) {
    // Cloud-only rows send the input image: their rate is bits per input pixel, marked "/px".
    const bool per_pixel = r.stage == "input";
    any_input = any_input || per_pixel;
    const Interval ci = top1_interval95(r.top1, r.images);
    os << pad(r.name, wname, true) << "  " << pad(fmt("%.1f", r.bytes_mean), 10) << pad(fmt("%.0f", r.bytes_p95), 10)
       << pad(fmt("%.3f", r.bits_per_element) + (per_pixel ? "/px" : "   "), 11)
       << pad(report.labelled ? fmt("%.2f", r.top1 * 100) : "n/a", 9)
       << pad(report.labelled ? fmt("%.2f", ci.lo * 100) + "-" + fmt("%.2f", ci.hi * 100) : "n/a", 14)
       << pad(fmt("%.2f", r.agreement * 100), 9) << pad(report.labelled ? fmt("%+.2f", r.top1_drop) : "n/a", 9)
       << pad(fmt("%.1f", r.encode_us), 9) << pad(fmt("%.1f", r.decode_us), 9);
    if (r.failures) os << "  (" << r.failures << " failed: " << r.first_error << ")";
    os << "\n";
  }
  if (!curves.empty()) {
    os << "\nBD-rate against " << (report.anchor.empty() ? "(none)" : report.anchor) << " (bytes for equal "
       << (report.labelled ? "top-1" : "agreement") << "; PCHIP over the Pareto fronts; negative = fewer bytes)\n";
    std::size_t wc = 5;
    for (const auto& c : curves) wc = std::max(wc, c.curve.size());
    for (const auto& c : curves) {
      os << "  " << pad(c.curve, wc, true) << "  " << pad(std::to_string(c.points), 3) << " pt  ";
      if (c.bd_rate_percent && c.note != "anchor") os << pad(fmt("%+.1f %%", *c.bd_rate_percent), 10);
      else os << pad("n/a", 10);
      if (!c.note.empty()) os << "  (" << c.note << ")";
      os << "\n";
    }
  }
  if (any_input) os << "note: bits/el marked /px are bits per input pixel: cloud-only rows send the input image\n";
  if (std::any_of(report.rows.begin(), report.rows.end(), [](const Row& r) { return r.stage == "learned"; }))
    os << "note: learned rows (device graph -> latent -> ftc -> server graph) count bits per element of their latent\n";
  if (report.images > 0) {
    os << "note: 95% CI is the Wilson interval of top-1 over " << report.images << " images; at the reference's top-1 it is +-"
       << fmt("%.2f", noise_points(report)) << " points";
    if (noise_points(report) >= 0.25) os << ": top-1 differences smaller than that are noise of the image count, not the codec";
    os << "\n";
  }
  for (const auto& n : report.notes) os << "note: " << n << "\n";
  os << "wall time " << fmt("%.1f", report.wall_seconds) << " s\n";
  return os.str();
}

std::string to_csv(const Report& report) {
  std::ostringstream os;
  os << "name,curve,stage,params,images,elements,bytes_mean,bytes_p95,bits_per_element,top1,agreement,top1_drop,"
        "encode_us,decode_us,failures,bits_unit,top1_ci95_lo,top1_ci95_hi\n";
  for (const Row& r : report.rows) {
    const Interval ci = top1_interval95(r.top1, r.images);
    os << csv_field(r.name) << ',' << csv_field(r.curve) << ',' << r.stage << ',' << csv_field(r.params) << ','
       << r.images << ',' << r.elements << ',' << num(r.bytes_mean) << ',' << num(r.bytes_p95) << ','
       << num(r.bits_per_element) << ',' << (report.labelled ? num(r.top1) : "") << ',' << num(r.agreement) << ','
       << (report.labelled ? num(r.top1_drop) : "") << ','
       << num(r.encode_us) << ',' << num(r.decode_us) << ',' << r.failures << ',' << bits_unit(r) << ','
       << (report.labelled ? num(ci.lo) : "") << ',' << (report.labelled ? num(ci.hi) : "") << '\n';
  }
  return os.str();
}

std::string to_json(const Report& report, const std::vector<CurveSummary>& curves) {
  using nlohmann::json;
  json j;
  j["images"] = report.images;
  const auto top1 = [&](double v) { return report.labelled ? json(v) : json(nullptr); };
  j["labelled"] = report.labelled;
  j["reference_top1"] = top1(report.reference_top1);
  j["model"] = report.model;
  j["split"] = report.split;
  j["data"] = report.data;
  j["split_top1"] = top1(report.split_top1);
  j["top1_noise_points"] = report.labelled ? json(noise_points(report)) : json(nullptr);
  j["split_matches_full"] = report.split_mismatches == 0;
  j["split_mismatches"] = report.split_mismatches;
  j["max_logit_abs_diff"] = report.max_logit_abs_diff;
  j["anchor"] = report.anchor;
  j["wall_seconds"] = report.wall_seconds;
  j["command"] = report.command;
  j["notes"] = report.notes;
  j["units"] = {{"bytes", "bytes per image, whole frame including its header"},
                {"top1", "fraction"},
                {"top1_ci95", "95% Wilson score interval of top1 over the images (fractions)"},
                {"bits_per_element", "bits per element of the cut tensors, or per input pixel where bits_unit says so"},
                {"agreement", "fraction of images with the uncompressed split's prediction"},
                {"top1_drop", "percentage points below reference_top1"},
                {"top1_noise_points", "half the 95% interval at reference_top1, in points: smaller top-1 differences are noise"},
                {"encode_us", "microseconds per image"},
                {"decode_us", "microseconds per image"}};
  json rows = json::array();
  for (const Row& r : report.rows) {
    json o;
    o["name"] = r.name;
    o["curve"] = r.curve;
    o["stage"] = r.stage;
    o["params"] = r.params;
    o["images"] = r.images;
    o["elements"] = r.elements;
    o["bytes_mean"] = r.bytes_mean;
    o["bytes_p95"] = r.bytes_p95;
    o["bits_per_element"] = r.bits_per_element;
    o["bits_unit"] = bits_unit(r);
    o["top1"] = top1(r.top1);
    const Interval ci = top1_interval95(r.top1, r.images);
    o["top1_ci95"] = report.labelled ? json::array({ci.lo, ci.hi}) : json(nullptr);
    o["agreement"] = r.agreement;
    o["top1_drop"] = top1(r.top1_drop);
    o["encode_us"] = r.encode_us;
    o["decode_us"] = r.decode_us;
    o["failures"] = r.failures;
    if (r.failures) o["first_error"] = r.first_error;
    if (r.estimated_bytes) {
      o["estimated_bytes"] = *r.estimated_bytes;
      o["estimate_gap_percent"] = *r.estimated_bytes > 0 ? json(100.0 * (r.bytes_mean / *r.estimated_bytes - 1.0)) : json(nullptr);
    }
    rows.push_back(std::move(o));
  }
  j["rows"] = std::move(rows);
  json cs = json::array();
  for (const auto& c : curves) {
    json o;
    o["curve"] = c.curve;
    o["points"] = c.points;
    o["pareto_points"] = c.front;
    o["bd_rate_percent"] = c.bd_rate_percent ? json(*c.bd_rate_percent) : json(nullptr);
    o["note"] = c.note;
    cs.push_back(std::move(o));
  }
  j["curves"] = std::move(cs);
  j["bd_rate_method"] =
      "Bjontegaard delta rate on (top-1, ln bytes): Pareto front of each curve, PCHIP interpolation, mean "
      "difference over the overlapping top-1 interval; n/a with fewer than 2 Pareto points or no overlap";
  return j.dump(2, ' ', true, nlohmann::json::error_handler_t::replace) + "\n";  // ASCII, as the CLI prints JSON
}

// ---- Plot ----------------------------------------------------------------------------------------

namespace {

std::string gp_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

std::string strip_ext(const std::string& p) {
  const auto slash = p.find_last_of('/');
  const auto dot = p.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return p;
  return p.substr(0, dot);
}

// The rows of each curve sorted by bytes, curves in the order they first appear.
struct PlotCurves {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Row*>> by_curve;
};

PlotCurves plot_curves(const Report& report) {
  PlotCurves c;
  for (const Row& r : report.rows) {
    if (!c.by_curve.count(r.curve)) c.order.push_back(r.curve);
    c.by_curve[r.curve].push_back(&r);
  }
  for (auto& [name, rows] : c.by_curve)
    std::sort(rows.begin(), rows.end(), [](const Row* a, const Row* b) { return a->bytes_mean < b->bytes_mean; });
  return c;
}

}  // namespace

Status check_plotter() {
  if (std::system("gnuplot --version > /dev/null 2>&1") != 0)
    return {StatusCode::io_error, "gnuplot is not installed (Debian: apt-get install gnuplot-nox); the plot needs it"};
  return Status::Ok();
}

PlotPaths plot_paths(const std::string& png_path) {
  const std::string base = strip_ext(png_path);
  return {png_path, base + ".dat", base + ".gp"};
}

std::string plot_data(const Report& report) {
  const PlotCurves c = plot_curves(report);
  std::ostringstream d;
  for (const std::string& curve : c.order) {
    d << "# " << curve << "\n";
    for (const Row* r : c.by_curve.at(curve))
      d << num(r->bytes_mean) << ' ' << num(row_accuracy(report, *r) * 100) << " \"" << r->name << "\"\n";
    d << "\n\n";
  }
  return d.str();
}

std::string plot_script(const Report& report, const PlotPaths& paths, bool cairo) {
  const PlotCurves c = plot_curves(report);
  const auto& order = c.order;
  const double ref = (report.labelled ? report.reference_top1 : 1.0) * 100;
  double ymin = ref, ymax = ref;
  double xmin = 1e300, xmax = 0;
  for (const Row& r : report.rows) {
    const double acc = row_accuracy(report, r) * 100;
    ymin = std::min(ymin, acc);
    ymax = std::max(ymax, acc);
    if (r.bytes_mean > 0) {
      xmin = std::min(xmin, r.bytes_mean);
      xmax = std::max(xmax, r.bytes_mean);
    }
  }
  if (xmax <= 0) xmin = 1, xmax = 10;
  const std::string& dat = paths.data;
  std::ostringstream s;
  s << "# gnuplot script written by ftc eval; data: " << without_folders(dat) << " (beside this script)\n";
  s << (cairo ? "set terminal pngcairo size 1400,1100 font ',11' noenhanced\n" : "set terminal png size 1400,1100 noenhanced\n");
  s << "set output " << gp_quote(paths.png) << "\n";
  s << "set datafile commentschars '#'\n";
  s << "set logscale x 10\nset grid xtics mxtics ytics\nset format x '%g'\n";
  s << "set xrange [" << num(xmin / 1.5) << ":" << num(xmax * 1.5) << "]\n";
  s << "set xlabel 'bytes per image (mean, whole frame incl. header; log scale)'\n";
  s << (report.labelled ? "set ylabel 'top-1 accuracy (%)'\n" : "set ylabel 'agreement with the uncompressed split (%)'\n");
  s << "set key outside right top vertical Left reverse\n";
  s << "set multiplot layout 2,1 title "
    << gp_quote("ftc eval: " + without_folders(report.model) + " split at " + report.split + ", " +
                std::to_string(report.images) + " images of " + without_folders(report.data) + " (top-1 95% CI +-" +
                fmt("%.2f", noise_points(report)) + " pt)")
    << "\n";
  // Colours and point types follow the curve's name, so a curve looks the same in every run.
  const char* points[] = {"pt 7", "pt 5", "pt 9", "pt 11", "pt 13", "pt 4", "pt 6", "pt 8", "pt 10", "pt 12", "pt 1", "pt 2", "pt 3"};
  std::map<std::string, bool> input_stage;
  for (const Row& r : report.rows) input_stage[r.curve] = r.stage == "input";
  auto plot_cmd = [&]() {
    std::ostringstream p;
    p << "plot ";
    for (std::size_t i = 0; i < order.size(); ++i) {
      const bool single = c.by_curve.at(order[i]).size() == 1;
      // cloud-only curves (the input image is what is sent) are dashed
      p << gp_quote(dat) << " index " << i << " using 1:2 with " << (single ? "points" : "linespoints") << " lw 2 ps 1.4 "
        << (input_stage[order[i]] ? "dt 2 " : "") << points[fnv1a(order[i]) % (sizeof points / sizeof *points)]
        << " lc rgb '" << curve_colour(order[i]) << "' title "
        << gp_quote(order[i] + (input_stage[order[i]] ? " (cloud-only: input image)" : "")) << ", ";
    }
    p << ref << " with lines dt 2 lc rgb 'black' title " << gp_quote((report.labelled ? "reference (full model, f32) " : "reference (uncompressed split) ") + fmt("%.2f", ref) + " %")
      << "\n";
    return p.str();
  };
  s << "set title 'all configurations'\n";
  s << "set yrange [" << num(std::max(0.0, std::floor(ymin - 2))) << ":" << num(std::min(100.0, std::ceil(ymax + 1)))
    << "]\n";
  s << plot_cmd();
  const double zlo = std::max(0.0, std::floor(ref - 3)), zhi = std::min(100.0, std::ceil(ymax + 0.5));
  s << "set title 'zoom: within 3 points of the reference'\n";
  s << "set yrange [" << num(zlo) << ":" << num(zhi) << "]\n";
  s << plot_cmd();
  s << "unset multiplot\n";
  return s.str();
}

Status run_gnuplot(const std::string& script_path) {
  const std::string cmd = "gnuplot " + gp_quote(script_path) + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {StatusCode::io_error, std::string("cannot run gnuplot: ") + std::strerror(errno)};
  char buf[512];
  std::string out;
  while (std::fgets(buf, sizeof buf, p))
    if (out.size() < 4096) out += buf;
  const int rc = pclose(p);
  if (rc == 0) return Status::Ok();
  // gnuplot's last non-empty line says what went wrong; the message stays one line.
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  const auto nl = out.find_last_of('\n');
  const std::string last = nl == std::string::npos ? out : out.substr(nl + 1);
  const int code = rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return {StatusCode::io_error, "gnuplot failed (exit " + std::to_string(code) + ")" +
                                    (last.empty() ? std::string("; is gnuplot installed?") : ": " + last)};
}

}  // namespace ftc::runtime
