// The codec-model fitter (runtime/fit.hpp). Stages, in order:
//   1. features: the head's output for every calibration image; the last `holdout` fraction is
//      held out and only measured on, never fitted on;
//   2. per-channel histograms of the calibration part;
//   3. task sensitivity w_c: mean KL divergence between the tail's softmax on the uncompressed
//      features and on features whose channel c is replaced by its mean, divided by the channel's
//      variance — the task distortion per unit of squared error in that channel;
//   4. per rate point, one multiplier λ for all channels: channel c gets the entropy-constrained
//      scalar quantizer minimizing D_c + (λ / w_c)·R_c, which both allocates bits across channels
//      (equal slopes: reverse water-filling weighted by sensitivity) and drops a channel (fill =
//      its mean) when no quantizer beats sending nothing; λ is bisected to a zeroth-order rate;
//   5. a context-rans entropy model per rate point: tables counted on the calibration symbols,
//      variants (positions 1 or per-channel border/interior tables; neighbour classes 1 or 3)
//      compared by the bits they spend on the held-out symbols;
//   6. held-out top-1 agreement with the uncompressed model, the tail run on reconstructed features.
#include "runtime/fit.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>

#include "codec/entropy/context_rans.hpp"
#include "codec/symbols.hpp"
#include "runtime/dataset.hpp"
#include "runtime/eval.hpp"
#include "runtime/executor.hpp"
#include "runtime/graph.hpp"

namespace ftc::runtime {
namespace {

constexpr std::size_t kBins = 512;
constexpr int kEcsqIterations = 24;
constexpr int kBisectSteps = 28;
constexpr int kPrecision = 15;

std::string fmt(const char* f, double a) {
  char b[64];
  std::snprintf(b, sizeof b, f, a);
  return b;
}

// Softmax of logits in binary64.
std::vector<double> softmax(const float* z, std::size_t n) {
  std::vector<double> p(n);
  double m = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, double(z[i]));
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += (p[i] = std::exp(double(z[i]) - m));
  for (auto& v : p) v /= s;
  return p;
}

std::size_t argmax(const float* z, std::size_t n) {
  std::size_t b = 0;
  for (std::size_t i = 1; i < n; ++i)
    if (z[i] > z[b]) b = i;
  return b;
}

// KL(p ‖ softmax(z)).
double kl(const std::vector<double>& p, const float* z) {
  const auto q = softmax(z, p.size());
  double d = 0;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i] > 0) d += p[i] * (std::log(p[i]) - std::log(std::max(q[i], 1e-300)));
  return std::max(d, 0.0);
}

// The tail on one feature tensor: its first output as logits.
class Tail {
 public:
  Tail(std::unique_ptr<Executor> e, std::string input, Shape shape) : e_(std::move(e)), input_(std::move(input)) {
    t_ = Tensor::zeros(DType::f32, std::move(shape)).value();
  }
  float* input() { return t_.data_as<float>(); }
  Result<std::vector<float>> run() {
    FTC_ASSIGN_OR_RETURN(auto out, e_->run({{input_, t_.view()}}));
    if (out.empty()) return Status{StatusCode::invalid_argument, "the tail has no output"};
    const float* p = out[0].tensor.data_as<float>();
    return std::vector<float>(p, p + out[0].tensor.element_count());
  }

 private:
  std::unique_ptr<Executor> e_;
  std::string input_;
  Tensor t_;
};

// Feature layout: (outer, C, inner), C along axis 1 (axis 0 for rank 1).
struct Layout3 {
  std::size_t outer = 1, C = 1, inner = 1;
  std::size_t elements() const { return outer * C * inner; }
};

// A rate point's codec over the channels, in the fitter's own terms.
struct PointCodec {
  std::vector<bool> kept;
  std::vector<ChannelQuantizer> q;  // per channel (kept ones used)
  std::vector<float> fill;          // per channel (dropped ones used)
  double zeroth_bits = 0;           // calibration, kept channels
};

// Reconstruction of one value by a channel's quantizer after f32 rounding of its parameters.
struct FloatQuantizer {
  std::vector<float> level, threshold;
  std::uint32_t symbol(float x) const {
    return static_cast<std::uint32_t>(std::upper_bound(threshold.begin(), threshold.end(), x) - threshold.begin());
  }
};

// The levels and thresholds of `q` as f32, padded to L levels with levels above the data that
// no calibration value reaches; every rule of docs/format-model.md §7.1 holds.
FloatQuantizer to_float(const ChannelQuantizer& q, std::uint32_t L, double hi) {
  FloatQuantizer f;
  for (double y : q.level) {
    float v = static_cast<float>(y);
    if (!f.level.empty() && !(v > f.level.back())) v = std::nextafter(f.level.back(), std::numeric_limits<float>::infinity());
    f.level.push_back(v);
  }
  for (std::size_t j = 0; j + 1 < q.level.size(); ++j) {
    float t = static_cast<float>(q.threshold[j]);
    t = std::clamp(t, f.level[j], f.level[j + 1]);
    if (q.zero_pinned && f.level[j] == 0.0f && !(t > 0.0f)) t = std::min(std::numeric_limits<float>::min(), f.level[j + 1]);
    if (!f.threshold.empty() && !(t > f.threshold.back())) t = f.level[j + 1];
    f.threshold.push_back(t);
  }
  // Padding: levels top + k·gap; the threshold before each is the level itself.
  const double top = std::max(double(f.level.back()), hi);
  const double gap = std::max(1.0, std::fabs(top));
  for (std::uint32_t k = 1; f.level.size() < L; ++k) {
    float v = static_cast<float>(top + gap * k);
    if (!(v > f.level.back())) v = std::nextafter(f.level.back(), std::numeric_limits<float>::infinity());
    f.level.push_back(v);
    f.threshold.push_back(v);
  }
  return f;
}

struct EntropyChoice {
  entropy::ContextRansModel model;
  double heldout_bits = 0;              // over every held-out image
  std::vector<double> image_bits;       // per held-out image
};

// Position class of spatial index s in an inner run of `inner` = rows·row: 1 on the border ring,
// 0 inside; all 0 when the run is not a plane.
std::uint32_t border_class(std::uint64_t s, std::uint64_t row, std::uint64_t plane) {
  if (row <= 1 || plane <= row) return 0;
  const std::uint64_t y = s / row, x = s % row, rows = plane / row;
  return (y == 0 || y + 1 == rows || x == 0 || x + 1 == row) ? 1u : 0u;
}

}  // namespace

// ---- histograms and the entropy-constrained quantizer -------------------------------------------

double ChannelHistogram::count() const {
  double c = zeros;
  for (double v : n) c += v;
  return c;
}
double ChannelHistogram::mean() const {
  double c = zeros, s1 = 0;
  for (std::size_t b = 0; b < n.size(); ++b) c += n[b], s1 += s[b];
  return c > 0 ? s1 / c : 0.0;
}
double ChannelHistogram::variance() const {
  double c = zeros, s1 = 0, sq = 0;
  for (std::size_t b = 0; b < n.size(); ++b) c += n[b], s1 += s[b], sq += s2[b];
  if (c <= 0) return 0;
  const double m = s1 / c;
  return std::max(0.0, sq / c - m * m);
}

std::uint32_t quantize(const ChannelQuantizer& q, double x) {
  return static_cast<std::uint32_t>(std::upper_bound(q.threshold.begin(), q.threshold.end(), x) - q.threshold.begin());
}

ChannelQuantizer fit_ecsq(const ChannelHistogram& h, double mu, std::uint32_t max_levels) {
  struct Item {
    double n, s, s2, x;
    bool zero;
  };
  std::vector<Item> items;
  for (std::size_t b = 0; b < h.n.size(); ++b)
    if (h.n[b] > 0) items.push_back({h.n[b], h.s[b], h.s2[b], h.s[b] / h.n[b], false});
  const bool pin = h.zeros > 0;
  if (pin) {
    Item z{h.zeros, 0, 0, 0, true};
    auto at = std::find_if(items.begin(), items.end(), [](const Item& it) { return it.x > 0; });
    items.insert(at, z);
  }
  ChannelQuantizer q;
  q.zero_pinned = pin;
  const double total = h.count();
  if (items.empty() || total <= 0) {
    q.level = {0.0};
    return q;
  }
  max_levels = std::max<std::uint32_t>(max_levels, 1);

  // Initial levels: centroids of equal-mass groups of the non-zero values, plus 0 when pinned.
  std::vector<double> y;
  {
    double nz = 0;
    for (const auto& it : items)
      if (!it.zero) nz += it.n;
    const std::uint32_t groups = max_levels - (pin ? 1 : 0);
    if (groups > 0 && nz > 0) {
      double acc = 0, gn = 0, gs = 0;
      std::uint32_t g = 0;
      for (const auto& it : items) {
        if (it.zero) continue;
        gn += it.n, gs += it.s, acc += it.n;
        if (acc >= nz * double(g + 1) / groups) {
          y.push_back(gs / gn);
          gn = gs = 0;
          while (g < groups && acc >= nz * double(g + 1) / groups) ++g;
        }
      }
      if (gn > 0) y.push_back(gs / gn);
    }
    if (pin) y.push_back(0.0);
    std::sort(y.begin(), y.end());
    y.erase(std::unique(y.begin(), y.end()), y.end());
  }

  std::vector<double> len(y.size(), std::log2(double(y.size())));
  std::vector<std::size_t> assign(items.size());
  auto zero_index = [&]() {
    return static_cast<std::size_t>(std::find(y.begin(), y.end(), 0.0) - y.begin());
  };
  for (int iter = 0; iter < kEcsqIterations; ++iter) {
    const std::size_t zi = pin ? zero_index() : y.size();
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (items[i].zero) {
        assign[i] = zi;
        continue;
      }
      std::size_t best = 0;
      double bc = std::numeric_limits<double>::infinity();
      for (std::size_t j = 0; j < y.size(); ++j) {
        const double d = items[i].x - y[j];
        const double c = d * d + mu * len[j];
        if (c < bc) bc = c, best = j;
      }
      assign[i] = best;
    }
    std::vector<double> m(y.size(), 0.0), s1(y.size(), 0.0);
    for (std::size_t i = 0; i < items.size(); ++i) m[assign[i]] += items[i].n, s1[assign[i]] += items[i].s;
    std::vector<double> ny, nlen;
    for (std::size_t j = 0; j < y.size(); ++j) {
      const bool pinned = pin && j == zi;
      if (m[j] <= 0 && !pinned) continue;
      ny.push_back(pinned ? 0.0 : s1[j] / m[j]);
      nlen.push_back(m[j] > 0 ? -std::log2(m[j] / total) : 64.0);
    }
    // Keep the order strict (centroids of interval regions are ordered; guard ties).
    std::vector<std::size_t> order(ny.size());
    for (std::size_t j = 0; j < order.size(); ++j) order[j] = j;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return ny[a] < ny[b]; });
    y.clear(), len.clear();
    for (auto j : order) {
      if (!y.empty() && !(ny[j] > y.back())) continue;
      y.push_back(ny[j]);
      len.push_back(nlen[j]);
    }
  }

  // Thresholds: where the costs of neighbouring levels meet, clamped between them.
  q.level = y;
  for (std::size_t j = 0; j + 1 < y.size(); ++j) {
    double t = 0.5 * (y[j] + y[j + 1]) + mu * (len[j + 1] - len[j]) / (2.0 * (y[j + 1] - y[j]));
    t = std::clamp(t, y[j], y[j + 1]);
    if (pin && y[j] == 0.0 && !(t > 0.0)) t = std::min(1e-30, y[j + 1]);
    q.threshold.push_back(t);
  }
  // Distortion and zeroth-order bits of the final mapping.
  std::vector<double> m(y.size(), 0.0);
  for (const auto& it : items) {
    const std::size_t j = it.zero ? zero_index() : quantize(q, it.x);
    m[j] += it.n;
    q.distortion += it.s2 - 2.0 * y[j] * it.s + it.n * y[j] * y[j];
  }
  for (double v : m)
    if (v > 0) q.bits += -v * std::log2(v / total);
  q.distortion = std::max(q.distortion, 0.0);
  return q;
}

// ---- the fit ------------------------------------------------------------------------------------

Status check_fit_options(const FitOptions& o) {
  if (o.model.empty()) return {StatusCode::invalid_argument, "no model given"};
  if (o.rate_points < 1 || o.rate_points > 16) return {StatusCode::invalid_argument, "rate points must be 1..16"};
  if (!(o.holdout > 0 && o.holdout < 1)) return {StatusCode::invalid_argument, "holdout must be in (0, 1)"};
  if (o.max_bits < 1 || o.max_bits > 8) return {StatusCode::invalid_argument, "max bits must be 1..8"};
  if (!(o.min_bits_per_element > 0) || !(o.max_bits_per_element >= o.min_bits_per_element) ||
      !std::isfinite(o.max_bits_per_element))
    return {StatusCode::invalid_argument, "bits per element: need 0 < min ≤ max"};
  for (double s : o.std)
    if (s == 0) return {StatusCode::invalid_argument, "the normalization's std must be non-zero"};
  return {};
}

Result<FitResult> fit_codec_model(const FitOptions& o, const FitProgress& progress) {
  FTC_RETURN_IF_ERROR(check_fit_options(o));
  auto emit = [&](FitEvent::Kind k, const std::string& text, std::size_t done = 0, std::size_t total = 0) {
    if (progress) progress({k, text, done, total});
  };
  FitResult R;

  // ---- model card, graph, split ----
  ModelCard card;
  const std::string card_path = model_card_path(o.model);
  if (std::filesystem::exists(card_path)) {
    auto c = read_model_card(card_path);
    if (!c.ok()) return located_in(card_path, c.status());
    card = std::move(c).value();
  } else if (o.mean.empty() || o.std.empty()) {
    return Status{StatusCode::invalid_argument,
                  o.model + ": no model card " + card_path + " beside it: give the normalization's mean and std"};
  }
  Normalization norm = card.normalization;
  if (!o.mean.empty()) norm.mean = o.mean;
  if (!o.std.empty()) norm.std = o.std;
  std::string at = o.at.empty() ? card.recommended_split : o.at;
  if (at.empty())
    return Status{StatusCode::invalid_argument, o.model + ": no split tensor given and no recommended_split in the model card"};

  auto graph = Graph::load(o.model);
  if (!graph.ok()) return located_in(o.model, graph.status());
  if (!o.input_shape.empty())
    if (auto s = graph->set_input_shapes(o.input_shape); !s.ok()) return located_in(o.model, s);
  const auto inputs = graph->inputs();
  if (inputs.size() != 1) return Status{StatusCode::unsupported_option, o.model + ": fitting needs a model with exactly one input"};
  auto split = graph->split({at});
  if (!split.ok()) return located_in(o.model, split.status());
  if (split->info.cut.size() != 1)
    return Status{StatusCode::unsupported_option, o.model + ": a cut at " + at + " needs " +
                                                      std::to_string(split->info.cut.size()) +
                                                      " tensors; the fitter fits one cut tensor"};
  Shape input_shape = inputs[0].shape ? *inputs[0].shape : card.input_shape;
  for (auto& d : input_shape)
    if (d < 0) d = 1;
  FTC_ASSIGN_OR_RETURN(auto head, make_opencv_executor(split->head));
  FTC_ASSIGN_OR_RETURN(auto tail_exec, make_opencv_executor(split->tail));

  // ---- data ----
  auto data = open_dataset(o.data, o.fashion_mnist_dir);
  if (!data.ok()) return located_in(o.data, data.status());
  const Dataset& ds = **data;
  const std::size_t N = ds.size();
  if (N < 2) return Status{StatusCode::invalid_argument, o.data + ": fitting needs at least 2 images"};
  std::size_t n_ho = static_cast<std::size_t>(std::llround(double(N) * o.holdout));
  n_ho = std::clamp<std::size_t>(n_ho, 1, N - 1);
  const std::size_t n_cal = N - n_ho;
  R.calibration_images = n_cal;
  R.heldout_images = n_ho;
  R.tensor = at;

  // ---- 1. features ----
  emit(FitEvent::Kind::plan, o.model + " split at " + at + ": " + std::to_string(n_cal) + " calibration + " +
                                 std::to_string(n_ho) + " held-out images of " + o.data);
  emit(FitEvent::Kind::stage, "features (head)");
  std::vector<float> feat;
  std::vector<std::int32_t> labels(N);
  Layout3 lay;
  for (std::size_t i = 0; i < N; ++i) {
    auto sample = ds.get(i);
    if (!sample.ok()) return located_in(o.data, sample.status());
    auto x = preprocess(sample->image, norm, input_shape);
    if (!x.ok()) return located_in(o.data, x.status());
    labels[i] = sample->label;
    auto out = head->run({{inputs[0].name, x->view()}});
    if (!out.ok()) return located_in(o.model, out.status());
    const Tensor& t = (*out)[0].tensor;
    if (i == 0) {
      R.shape = t.shape();
      const auto& s = R.shape;
      if (s.empty()) return Status{StatusCode::unsupported_option, at + ": a scalar cut tensor"};
      const std::size_t axis = s.size() >= 2 ? 1 : 0;
      for (std::size_t d = 0; d < axis; ++d) lay.outer *= static_cast<std::size_t>(s[d]);
      lay.C = static_cast<std::size_t>(s[axis]);
      for (std::size_t d = axis + 1; d < s.size(); ++d) lay.inner *= static_cast<std::size_t>(s[d]);
      if (lay.elements() == 0) return Status{StatusCode::unsupported_option, at + ": an empty cut tensor"};
      feat.resize(N * lay.elements());
    } else if (t.shape() != R.shape) {
      return Status{StatusCode::invalid_argument, at + ": the cut tensor's shape changes between images"};
    }
    const float* p = t.data_as<float>();
    float* dst = feat.data() + i * lay.elements();
    for (std::size_t e = 0; e < lay.elements(); ++e) dst[e] = std::isfinite(p[e]) ? p[e] : 0.0f;
    if ((i + 1) % 64 == 0 || i + 1 == N) emit(FitEvent::Kind::images, {}, i + 1, N);
  }
  const std::size_t E = lay.elements(), C = lay.C, inner = lay.inner;
  auto at_el = [&](std::size_t img, std::size_t o_, std::size_t c, std::size_t s) -> float& {
    return feat[img * E + (o_ * C + c) * inner + s];
  };

  // ---- 2. histograms ----
  std::vector<ChannelHistogram> hist(C);
  std::vector<double> lo(C, std::numeric_limits<double>::infinity()), hi(C, -std::numeric_limits<double>::infinity());
  for (std::size_t i = 0; i < n_cal; ++i)
    for (std::size_t o_ = 0; o_ < lay.outer; ++o_)
      for (std::size_t c = 0; c < C; ++c)
        for (std::size_t s = 0; s < inner; ++s) {
          const double v = at_el(i, o_, c, s);
          if (v != 0) lo[c] = std::min(lo[c], v), hi[c] = std::max(hi[c], v);
        }
  for (std::size_t c = 0; c < C; ++c) {
    auto& h = hist[c];
    if (!(lo[c] <= hi[c])) lo[c] = hi[c] = 0;
    h.lo = lo[c], h.hi = hi[c];
    h.n.assign(kBins, 0), h.s.assign(kBins, 0), h.s2.assign(kBins, 0);
  }
  for (std::size_t i = 0; i < n_cal; ++i)
    for (std::size_t o_ = 0; o_ < lay.outer; ++o_)
      for (std::size_t c = 0; c < C; ++c) {
        auto& h = hist[c];
        const double width = (h.hi - h.lo) / kBins;
        for (std::size_t s = 0; s < inner; ++s) {
          const double v = at_el(i, o_, c, s);
          if (v == 0) {
            h.zeros += 1;
            continue;
          }
          std::size_t b = width > 0 ? static_cast<std::size_t>((v - h.lo) / width) : 0;
          b = std::min(b, kBins - 1);
          h.n[b] += 1, h.s[b] += v, h.s2[b] += v * v;
        }
      }
  std::vector<double> mean(C), var(C);
  for (std::size_t c = 0; c < C; ++c) mean[c] = hist[c].mean(), var[c] = hist[c].variance();

  // ---- reference logits on the held-out part ----
  emit(FitEvent::Kind::stage, "reference (tail on uncompressed held-out features)");
  Tail tail(std::move(tail_exec), split->info.cut[0], R.shape);
  std::vector<std::vector<double>> ref_p(n_ho);
  std::vector<std::size_t> ref_top(n_ho);
  std::size_t ref_correct = 0;
  for (std::size_t k = 0; k < n_ho; ++k) {
    const std::size_t i = n_cal + k;
    std::copy_n(feat.data() + i * E, E, tail.input());
    FTC_ASSIGN_OR_RETURN(auto z, tail.run());
    ref_p[k] = softmax(z.data(), z.size());
    ref_top[k] = argmax(z.data(), z.size());
    if (labels[i] >= 0 && ref_top[k] == static_cast<std::size_t>(labels[i])) ++ref_correct;
  }
  R.reference_top1 = double(ref_correct) / double(n_ho);

  // ---- 3. sensitivity ----
  const std::size_t S = !o.task_weights ? 0 : std::clamp<std::size_t>(o.sensitivity_runs / std::max<std::size_t>(C, 1), 1, n_ho);
  emit(FitEvent::Kind::stage, "channel sensitivity (" + std::to_string(C) + " channels x " + std::to_string(S) + " held-out images)");
  std::vector<double> w(C, 0.0);
  for (std::size_t c = 0; c < C; ++c) {
    double sum = 0;
    for (std::size_t k = 0; k < S; ++k) {
      const std::size_t i = n_cal + k;
      std::copy_n(feat.data() + i * E, E, tail.input());
      for (std::size_t o_ = 0; o_ < lay.outer; ++o_)
        for (std::size_t s = 0; s < inner; ++s) tail.input()[(o_ * C + c) * inner + s] = static_cast<float>(mean[c]);
      FTC_ASSIGN_OR_RETURN(auto z, tail.run());
      sum += kl(ref_p[k], z.data());
    }
    if (S == 0) break;
    w[c] = var[c] > 0 ? (sum / double(S)) / var[c] : 0.0;
    emit(FitEvent::Kind::images, {}, (c + 1) * S, C * S);
  }
  {
    double wmax = 0;
    for (double v : w) wmax = std::max(wmax, v);
    for (auto& v : w) v = std::max(v, wmax * 1e-6);
    if (wmax <= 0 || !o.task_weights)
      for (auto& v : w) v = 1.0;
  }

  // ---- 4. quantizers per rate point ----
  const std::uint32_t max_levels = std::uint32_t{1} << o.max_bits;
  const double cal_elements = double(n_cal) * double(E);
  auto fit_point = [&](double lambda) {
    PointCodec pc;
    pc.kept.assign(C, false);
    pc.q.resize(C);
    pc.fill.assign(C, 0.0f);
    for (std::size_t c = 0; c < C; ++c) {
      pc.fill[c] = static_cast<float>(mean[c]);
      if (!(var[c] > 0)) continue;
      const double mu = lambda / w[c];
      ChannelQuantizer q = fit_ecsq(hist[c], mu, max_levels);
      const double drop_cost = var[c] * hist[c].count();
      if (q.level.size() < 2 || !(q.distortion + mu * q.bits < drop_cost)) continue;
      pc.kept[c] = true;
      pc.zeroth_bits += q.bits;
      pc.q[c] = std::move(q);
    }
    return pc;
  };
  double var_mean = 0;
  for (double v : var) var_mean += v;
  var_mean = std::max(var_mean / double(C), 1e-30);
  double wmean = 0;
  for (double v : w) wmean += v;
  wmean /= double(C);

  emit(FitEvent::Kind::stage, "quantizers and entropy models for " + std::to_string(o.rate_points) + " rate points");
  std::vector<PointCodec> codecs;
  std::vector<double> lambdas, targets;
  for (std::size_t r = 0; r < o.rate_points; ++r) {
    const double t = o.rate_points == 1 ? o.max_bits_per_element
                                        : o.max_bits_per_element * std::pow(o.min_bits_per_element / o.max_bits_per_element,
                                                                            double(r) / double(o.rate_points - 1));
    // Bisection in log λ: the zeroth-order rate falls as λ grows.
    double a = std::log(var_mean * wmean * 1e-9), b = std::log(var_mean * wmean * 1e6);
    for (int k = 0; k < kBisectSteps; ++k) {
      const double m = 0.5 * (a + b);
      const PointCodec pc = fit_point(std::exp(m));
      if (pc.zeroth_bits / cal_elements > t) a = m;
      else b = m;
    }
    const double lambda = std::exp(b);
    PointCodec pc = fit_point(lambda);
    if (std::none_of(pc.kept.begin(), pc.kept.end(), [](bool k) { return k; })) {
      // Keep the channel with the largest sensitivity-weighted variance.
      std::size_t best = 0;
      for (std::size_t c = 1; c < C; ++c)
        if (w[c] * var[c] > w[best] * var[best]) best = c;
      ChannelQuantizer q = fit_ecsq(hist[best], 0.0, 2);
      if (q.level.size() < 2) q = ChannelQuantizer{{hist[best].lo, hist[best].hi}, {0.5 * (hist[best].lo + hist[best].hi)}, false, 0, 0};
      pc.kept[best] = true;
      pc.zeroth_bits = q.bits;
      pc.q[best] = std::move(q);
    }
    codecs.push_back(std::move(pc));
    lambdas.push_back(lambda);
    targets.push_back(t);
  }

  // ---- 5. + 6. entropy model, held-out measurement, the file ----
  model::CodecModelFile file;
  model::TensorDecl decl;
  decl.name = at;
  decl.dtype = DType::f32;
  decl.layout = R.shape.size() == 4 ? Layout::nchw : Layout::unspecified;
  decl.shape = R.shape;
  file.tensors = {decl};
  const std::uint64_t row = R.shape.size() >= 4 ? static_cast<std::uint64_t>(R.shape.back()) : inner;
  const std::uint64_t plane = inner;

  std::size_t tail_runs_done = 0;
  const std::size_t tail_runs_total = n_ho * codecs.size();
  for (std::size_t r = 0; r < codecs.size(); ++r) {
    const PointCodec& pc = codecs[r];
    std::vector<std::size_t> keep;
    for (std::size_t c = 0; c < C; ++c)
      if (pc.kept[c]) keep.push_back(c);
    const std::size_t k = keep.size();
    std::uint32_t L = 2;
    double level_sum = 0;
    for (auto c : keep) L = std::max<std::uint32_t>(L, static_cast<std::uint32_t>(pc.q[c].level.size())), level_sum += double(pc.q[c].level.size());
    int bits = 1;
    while ((std::uint32_t{1} << bits) < L) ++bits;
    std::vector<FloatQuantizer> fq(k);
    for (std::size_t j = 0; j < k; ++j) fq[j] = to_float(pc.q[keep[j]], L, hist[keep[j]].hi);

    // Symbols of every image over the coded shape (outer, k, inner).
    const std::size_t Ek = lay.outer * k * inner;
    std::vector<std::uint8_t> sym(N * Ek);
    for (std::size_t i = 0; i < N; ++i)
      for (std::size_t o_ = 0; o_ < lay.outer; ++o_)
        for (std::size_t j = 0; j < k; ++j)
          for (std::size_t s = 0; s < inner; ++s)
            sym[i * Ek + (o_ * k + j) * inner + s] = static_cast<std::uint8_t>(fq[j].symbol(at_el(i, o_, keep[j], s)));

    // Entropy model variants: tables counted on the calibration images, measured on the held-out.
    ContextMap ctx;
    ctx.inner = inner;
    ctx.groups = static_cast<std::uint32_t>(k);
    EntropyChoice best;
    bool have = false;
    for (int use_pos = 0; use_pos < 2; ++use_pos) {
      if (use_pos && (row <= 1 || plane <= row)) continue;
      for (std::uint32_t classes : {1u, 3u}) {
        entropy::ContextRansModel m;
        m.precision = kPrecision;
        m.groups = static_cast<std::uint32_t>(k);
        m.positions = use_pos ? inner : 1;
        m.classes = classes;
        m.row = row;
        m.plane = plane;
        m.alphabet = L;
        m.base_tables = static_cast<std::uint32_t>(use_pos ? 2 * k : k);
        if (m.base_tables > 1) {
          m.table_of.resize(use_pos ? k * inner : k);
          for (std::size_t j = 0; j < k; ++j) {
            if (!use_pos) m.table_of[j] = static_cast<std::uint32_t>(j);
            else
              for (std::size_t s = 0; s < inner; ++s)
                m.table_of[j * inner + s] = static_cast<std::uint32_t>(2 * j + border_class(s, row, plane));
          }
        }
        const std::size_t tables = std::size_t{m.base_tables} * classes;
        std::vector<std::uint64_t> counts(tables * L, 0);
        m.freq.assign(tables * L, 1);  // placeholder so that context_rans_table can read the map
        for (std::size_t i = 0; i < n_cal; ++i) {
          const std::uint8_t* s = sym.data() + i * Ek;
          for (std::size_t e = 0; e < Ek; ++e) ++counts[std::size_t{entropy::context_rans_table(m, ctx, 0, e, s)} * L + s[e]];
        }
        m.freq.clear();
        for (std::size_t t = 0; t < tables; ++t) {
          const auto f = entropy::context_rans_frequencies(std::span<const std::uint64_t>(counts).subspan(t * L, L), kPrecision);
          m.freq.insert(m.freq.end(), f.begin(), f.end());
        }
        std::vector<double> cost(m.freq.size());
        for (std::size_t x = 0; x < cost.size(); ++x) cost[x] = double(kPrecision) - std::log2(double(m.freq[x]));
        EntropyChoice ch;
        ch.image_bits.assign(n_ho, 0.0);
        for (std::size_t h = 0; h < n_ho; ++h) {
          const std::uint8_t* s = sym.data() + (n_cal + h) * Ek;
          double b = 0;
          for (std::size_t e = 0; e < Ek; ++e) b += cost[std::size_t{entropy::context_rans_table(m, ctx, 0, e, s)} * L + s[e]];
          ch.image_bits[h] = b;
          ch.heldout_bits += b;
        }
        if (!have || ch.heldout_bits < best.heldout_bits) {
          ch.model = std::move(m);
          best = std::move(ch);
          have = true;
        }
      }
    }
    if (auto st = best.model.validate(bits, ctx); !st.ok()) return located_in("fitted entropy model", st);

    // Held-out agreement: the tail on reconstructed features.
    std::size_t agree = 0, correct = 0;
    double err2 = 0, sig2 = 0;
    for (std::size_t h = 0; h < n_ho; ++h) {
      const std::size_t i = n_cal + h;
      float* x = tail.input();
      for (std::size_t o_ = 0; o_ < lay.outer; ++o_)
        for (std::size_t c = 0; c < C; ++c)
          for (std::size_t s = 0; s < inner; ++s) x[(o_ * C + c) * inner + s] = pc.fill[c];
      for (std::size_t o_ = 0; o_ < lay.outer; ++o_)
        for (std::size_t j = 0; j < k; ++j)
          for (std::size_t s = 0; s < inner; ++s)
            x[(o_ * C + keep[j]) * inner + s] = fq[j].level[sym[i * Ek + (o_ * k + j) * inner + s]];
      const float* orig = feat.data() + i * E;
      for (std::size_t e = 0; e < E; ++e) {
        const double d = double(orig[e]) - double(x[e]);
        err2 += d * d;
        sig2 += double(orig[e]) * double(orig[e]);
      }
      FTC_ASSIGN_OR_RETURN(auto z, tail.run());
      const std::size_t top = argmax(z.data(), z.size());
      if (top == ref_top[h]) ++agree;
      if (labels[i] >= 0 && top == static_cast<std::size_t>(labels[i])) ++correct;
      ++tail_runs_done;
      if (tail_runs_done % 64 == 0 || tail_runs_done == tail_runs_total) emit(FitEvent::Kind::images, {}, tail_runs_done, tail_runs_total);
    }

    // The rate point in the file.
    model::TensorCodec tc;
    if (k < C) {
      tc.transform.kind = model::TransformKind::channel_subset;
      tc.transform.axis = R.shape.size() >= 2 ? 1 : 0;
      for (std::size_t c = 0; c < C; ++c) {
        if (pc.kept[c]) tc.transform.kept.push_back(c);
        else tc.transform.fill.push_back(pc.fill[c]);
      }
    }
    tc.quantizer.kind = model::QuantKind::nonuniform;
    tc.quantizer.bits = bits;
    tc.quantizer.axis = R.shape.size() >= 2 ? 1 : 0;
    tc.quantizer.levels = L;
    for (const auto& f : fq) tc.quantizer.level.insert(tc.quantizer.level.end(), f.level.begin(), f.level.end());
    for (const auto& f : fq) tc.quantizer.threshold.insert(tc.quantizer.threshold.end(), f.threshold.begin(), f.threshold.end());
    tc.entropy.coder = CoderKind::context_rans;
    best.model.serialize(tc.entropy.params);

    FitRatePoint fp;
    fp.kept_channels = k;
    fp.channels = C;
    fp.levels = L;
    fp.mean_levels = level_sum / double(k);
    fp.bits = bits;
    fp.positions = best.model.positions;
    fp.classes = best.model.classes;
    fp.lambda = lambdas[r];
    fp.zeroth_order_bpe = pc.zeroth_bits / cal_elements;
    fp.bits_per_element = best.heldout_bits / (double(n_ho) * double(E));
    fp.payload_bytes = best.heldout_bits / 8.0 / double(n_ho) + 4.0;
    fp.frame_bytes = fp.payload_bytes + 6.0;
    fp.agreement = double(agree) / double(n_ho);
    fp.sqnr_db = err2 > 0 ? 10.0 * std::log10(sig2 / err2) : 999.0;
    fp.top1 = double(correct) / double(n_ho);
    fp.table_bytes = tc.entropy.params.size();
    fp.label = fmt("%.3f bits/element", fp.bits_per_element);
    model::RatePoint rp;
    rp.label = fp.label;
    rp.tensors = {std::move(tc)};
    file.rate_points.push_back(std::move(rp));
    R.points.push_back(std::move(fp));
  }

  file.metadata["generator"] = "ftc fit";
  file.metadata["source_model"] = std::filesystem::path(o.model).filename().string();
  file.metadata["calibration"] = o.data;
  file.metadata["calibration_images"] = std::to_string(n_cal);
  file.metadata["heldout_images"] = std::to_string(n_ho);
  file.model_id = o.model_id;
  if (file.model_id == 0) {
    FTC_ASSIGN_OR_RETURN(auto bytes0, model::write_codec_model(file));
    file.model_id = model::model_content_hash(bytes0) & 0xFFFFFFFFu;
    if (file.model_id == 0) file.model_id = 1;
  }
  auto bytes = model::write_codec_model(file);
  if (!bytes.ok()) return located_in("fitted model", bytes.status());
  R.bytes = std::move(bytes).value();
  R.file = std::move(file);
  {
    std::size_t dropped_all = 0;
    for (double v : var)
      if (!(v > 0)) ++dropped_all;
    R.notes.push_back(std::to_string(dropped_all) + " of " + std::to_string(C) + " channels constant on the calibration images");
  }
  return R;
}

}  // namespace ftc::runtime
