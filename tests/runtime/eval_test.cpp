// runtime/eval.cpp and runtime/baselines.cpp on a synthetic model and data set (no ONNX, no
// OpenCV): the evaluator's bookkeeping, every baseline codec's round trip, sweeps, model cards.
#include "runtime/eval.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

using namespace ftc;
using namespace ftc::runtime;

namespace {

constexpr std::int64_t kC = 4, kH = 6, kW = 6;  // cut tensor (1, 4, 6, 6); image (1, 6, 6); 4 classes

// Head: 4 channels = x·(k+1)/4, clipped at 0 (a ReLU). Tail: logit k = mean of channel k + bias k.
// Full: tail(head(x)) with the same float operations, so the uncompressed split matches exactly.
void head_fn(const float* x, float* f) {
  for (std::int64_t k = 0; k < kC; ++k)
    for (std::int64_t i = 0; i < kH * kW; ++i) f[k * kH * kW + i] = std::max(0.0f, x[i] * float(k + 1) / 4.0f - 0.25f);
}
void tail_fn(const float* f, float* logits) {
  const float bias[kC] = {0.3f, 0.1f, 0.0f, -0.35f};
  for (std::int64_t k = 0; k < kC; ++k) {
    float s = 0;
    for (std::int64_t i = 0; i < kH * kW; ++i) s += f[k * kH * kW + i];
    logits[k] = s / float(kH * kW) + bias[k];
  }
}

class FakeExecutor final : public Executor {
 public:
  enum Kind { full, head, tail };
  explicit FakeExecutor(Kind k) : kind_(k) {
    in_ = {k == tail ? "feat" : "input"};
    out_ = {k == head ? "feat" : "logits"};
  }
  const std::vector<std::string>& input_names() const override { return in_; }
  const std::vector<std::string>& output_names() const override { return out_; }
  Result<std::vector<NamedTensor>> run(const std::vector<NamedTensorView>& inputs) override {
    if (inputs.size() != 1 || inputs[0].name != in_[0]) return Status{StatusCode::invalid_argument, "fake: bad input"};
    auto x = Tensor::copy_of(inputs[0].view);
    if (!x.ok()) return x.status();
    std::vector<float> feat(kC * kH * kW);
    std::vector<NamedTensor> out;
    if (kind_ == head) {
      head_fn(x->data_as<float>(), feat.data());
      auto t = Tensor::zeros(DType::f32, {1, kC, kH, kW});
      std::memcpy(t->data(), feat.data(), feat.size() * 4);
      out.push_back({"feat", std::move(t).value()});
      return out;
    }
    const float* f = x->data_as<float>();
    if (kind_ == full) {
      head_fn(x->data_as<float>(), feat.data());
      f = feat.data();
    }
    auto t = Tensor::zeros(DType::f32, {1, kC});
    tail_fn(f, t->data_as<float>());
    out.push_back({"logits", std::move(t).value()});
    return out;
  }

 private:
  Kind kind_;
  std::vector<std::string> in_, out_;
};

// Image i: a flat gray level plus a little texture; labels: the full model's prediction except
// every 5th image, which is labelled 3 (so reference top-1 = 0.8 when the model never says 3).
class FakeDataset final : public Dataset {
 public:
  explicit FakeDataset(std::size_t n) : n_(n) {}
  std::size_t size() const override { return n_; }
  std::string name() const override { return "fake"; }
  Result<Sample> get(std::size_t i) const override {
    if (i >= n_) return Status{StatusCode::invalid_argument, "fake: index"};
    Sample s;
    auto t = Tensor::zeros(DType::u8, {1, kH, kW});
    for (std::int64_t p = 0; p < kH * kW; ++p)
      t->data()[p] = static_cast<std::uint8_t>((i * 37 + static_cast<std::size_t>(p) * (i % 3)) % 256);
    s.image = std::move(t).value();
    auto x = preprocess(s.image, Normalization{}, {1, 1, kH, kW});
    float logits[kC];
    std::vector<float> feat(kC * kH * kW);
    head_fn(x->data_as<float>(), feat.data());
    tail_fn(feat.data(), logits);
    s.label = static_cast<std::int32_t>(std::max_element(logits, logits + kC) - logits);
    if (i % 5 == 4) s.label = 3;
    return s;
  }

 private:
  std::size_t n_;
};

Pipeline fake_pipeline() {
  Pipeline p;
  p.input_name = "input";
  p.input_shape = {1, 1, kH, kW};
  p.make_full = [] { return Result<std::unique_ptr<Executor>>(std::make_unique<FakeExecutor>(FakeExecutor::full)); };
  p.make_head = [] { return Result<std::unique_ptr<Executor>>(std::make_unique<FakeExecutor>(FakeExecutor::head)); };
  p.make_tail = [] { return Result<std::unique_ptr<Executor>>(std::make_unique<FakeExecutor>(FakeExecutor::tail)); };
  return p;
}

// Fails on every third image's encode.
class FlakyCodec final : public TensorCodec {
 public:
  explicit FlakyCodec(std::vector<TensorSpec> cut) : inner_(make_raw_f32_codec(std::move(cut))) {}
  Result<std::vector<std::uint8_t>> encode(std::span<const NamedTensorView> t) const override {
    const float* f = static_cast<const float*>(t[0].view.data);
    double sum = 0;
    for (std::uint64_t i = 0; i < t[0].view.element_count(); ++i) sum += f[i];
    if (static_cast<long>(sum) % 3 == 0) return Status{StatusCode::unsupported_option, "flaky"};
    return inner_->encode(t);
  }
  Result<std::vector<NamedTensor>> decode(std::span<const std::uint8_t> b) const override { return inner_->decode(b); }

 private:
  std::shared_ptr<const TensorCodec> inner_;
};

const Row& row_named(const Report& r, const std::string& name) {
  for (const auto& w : r.rows)
    if (w.name == name) return w;
  FAIL("no row " << name);
  return r.rows.front();
}

}  // namespace

TEST_CASE("preprocess applies (x·scale − mean) / std per channel") {
  auto img = Tensor::zeros(DType::u8, {2, 1, 2});
  img->data()[0] = 0;
  img->data()[1] = 255;
  img->data()[2] = 51;
  img->data()[3] = 102;
  Normalization n;
  n.mean = {0.5, 0.0};
  n.std = {0.5, 2.0};
  auto x = preprocess(*img, n, {1, 2, 1, 2});
  REQUIRE(x.ok());
  const float* p = x->data_as<float>();
  CHECK(p[0] == doctest::Approx(-1.0));
  CHECK(p[1] == doctest::Approx(1.0));
  CHECK(p[2] == doctest::Approx(0.1));
  CHECK(p[3] == doctest::Approx(0.2));
  CHECK(!preprocess(*img, n, {1, 1, 28, 28}).ok());
  n.mean = {0, 0, 0};
  CHECK(!preprocess(*img, n, {1, 2, 1, 2}).ok());
}

TEST_CASE("model cards: path and fields") {
  CHECK(model_card_path("models/fmnist_resnet.onnx") == "models/fmnist_resnet.json");
  CHECK(model_card_path("a.b/model") == "a.b/model.json");
  const auto path = std::filesystem::temp_directory_path() / "ftc_eval_test_card.json";
  {
    std::ofstream f(path);
    f << R"({"model": "m", "input": {"name": "input", "shape": [1, 1, 28, 28]},
            "output": {"name": "logits", "shape": [1, 10]},
            "normalization": {"scale": 0.00392156862745098, "mean": 0.2860, "std": [0.3530]},
            "test_top1": 0.91, "splits": [{"tensor": "a", "shape": [1,64,14,14], "note": "x"}, {"tensor": "b"}],
            "recommended_split": "a"})";
  }
  auto c = read_model_card(path.string());
  REQUIRE(c.ok());
  CHECK(c->input_name == "input");
  CHECK(c->input_shape == Shape{1, 1, 28, 28});
  CHECK(c->output_shape == Shape{1, 10});
  CHECK(c->normalization.mean == std::vector<double>{0.2860});
  CHECK(c->normalization.std == std::vector<double>{0.3530});
  CHECK(*c->test_top1 == doctest::Approx(0.91));
  CHECK(c->splits == std::vector<std::string>{"a", "b"});
  CHECK(c->recommended_split == "a");
  {
    std::ofstream f(path);
    f << "{\"normalization\": {\"std\": 0}}";
  }
  CHECK(!read_model_card(path.string()).ok());
  {
    std::ofstream f(path);
    f << "not json";
  }
  CHECK(read_model_card(path.string()).status().code() == StatusCode::bad_file);
  std::filesystem::remove(path);
  CHECK(read_model_card(path.string()).status().code() == StatusCode::io_error);
}

TEST_CASE("sweeps: parsing, Cartesian product, names") {
  CHECK(!parse_sweep("bits").ok());
  CHECK(!parse_sweep("bits=0").ok());
  CHECK(!parse_sweep("bits=x").ok());
  CHECK(!parse_sweep("colour=1").ok());
  CHECK(!parse_sweep("coder=lzma").ok());
  auto bits = parse_sweep("bits=2,4, 8");
  REQUIRE(bits.ok());
  CHECK(bits->values == std::vector<std::string>{"2", "4", "8"});
  auto coder = parse_sweep("coder=zstd,raw");
  REQUIRE(coder.ok());
  EncoderOptions base;
  base.channel_axis = 1;
  auto all = expand_sweep(base, {*coder, *bits});
  REQUIRE(all.ok());
  REQUIRE(all->size() == 6);
  CHECK((*all)[0].coder == CoderKind::zstd);
  CHECK((*all)[0].bits == 2);
  CHECK((*all)[5].coder == CoderKind::raw);
  CHECK((*all)[5].bits == 8);
  const CodecConfig c = make_ftc_config((*all)[1]);
  CHECK(c.name == "ftc-u-pc1-zstd b=4");
  CHECK(c.curve == "ftc-u-pc1-zstd");
  CHECK(c.params.find(',') == std::string::npos);
  auto q = parse_sweep("quantizer=lossless,f16");
  REQUIRE(q.ok());
  auto lossy = expand_sweep(base, {*q, *bits});  // bits re-selects uniform: duplicates removed
  REQUIRE(lossy.ok());
  CHECK(lossy->size() == 3);
  EncoderOptions l;
  l.quantizer = QuantizerKind::lossless;
  l.zstd_level = 19;
  CHECK(make_ftc_config(l).name == "ftc-lossless-zstd-L19");
  auto none = parse_sweep("per-channel=none,1");
  REQUIRE(none.ok());
  auto pc = expand_sweep(base, {*none});
  REQUIRE(pc.ok());
  CHECK(make_ftc_config((*pc)[0]).curve == "ftc-u-pt-zstd");
}

TEST_CASE("sweeps take their keys, aliases, values and ranges from the encoder's option table") {
  auto bad = parse_sweep("bits=4,0");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == StatusCode::invalid_argument);
  CHECK(bad.status().message() == "sweep 'bits=4,0': bits must be 1..16, got '0'");
  CHECK(parse_sweep("level=23").status().message().find("level must be -7..22") != std::string::npos);
  CHECK(parse_sweep("lanes=48").status().message().find("lanes must be 0, 32, 64, 128") != std::string::npos);
  // threads and layout name no configuration; the error lists the keys that do.
  auto threads = parse_sweep("threads=1,2");
  REQUIRE_FALSE(threads.ok());
  CHECK(threads.status().message().find("quantizer, bits, per-channel, coder, level") != std::string::npos);
  CHECK_FALSE(parse_sweep("layout=nchw").ok());
  CHECK(sweep_keys() == std::vector<std::string>{"quantizer", "bits", "per-channel", "coder", "level",
                                                 "chunk-elements", "chunk-checksums", "lanes"});
  // Aliases resolve to the table's name.
  CHECK(parse_sweep("cast=f16,bf16")->key == "quantizer");
  CHECK(parse_sweep("zstd-level=1")->key == "level");
  CHECK(parse_sweep("channel-axis=1")->key == "per-channel");

  EncoderOptions base;
  base.channel_axis = 1;
  auto coders = expand_sweep(base, {*parse_sweep("coder=rans,rans-wide")});
  REQUIRE(coders.ok());
  REQUIRE(coders->size() == 2);
  CHECK((*coders)[1].coder == CoderKind::rans_wide);
  CHECK(make_ftc_config((*coders)[1]).name == "ftc-u-pc1-rans-wide b=8");
  // Options off their defaults are spelled in the name, so that no two rows share one.
  auto more = expand_sweep(base, {*parse_sweep("lanes=0,64"), *parse_sweep("chunk-checksums=on,off"),
                                  *parse_sweep("chunk-elements=0,4096")});
  REQUIRE(more.ok());
  REQUIRE(more->size() == 8);
  CHECK(make_ftc_config((*more)[0]).name == "ftc-u-pc1-zstd b=8");
  const CodecConfig last = make_ftc_config((*more)[7]);
  CHECK(last.name == "ftc-u-pc1-zstd-x64-c4096-nosum b=8");
  CHECK(last.params == "quantizer=uniform bits=8 per-channel=1 coder=zstd level=3 lanes=64 chunk-elements=4096 "
                       "chunk-checksums=off");
  // An axis made by hand is checked too.
  CHECK_FALSE(expand_sweep(base, {SweepAxis{"bits", {"99"}}}).ok());
  CHECK_FALSE(expand_sweep(base, {SweepAxis{"colour", {"1"}}}).ok());
}

TEST_CASE("baseline lists") {
  auto all = parse_baselines("all");
  REQUIRE(all.ok());
  CHECK(*all == baseline_names());
  auto some = parse_baselines("cloud, raw,mosaic-png");
  REQUIRE(some.ok());
  CHECK(*some == std::vector<std::string>{"raw", "mosaic-png", "cloud-png", "cloud-jpeg"});
  CHECK(parse_baselines("none")->empty());
  CHECK(!parse_baselines("raw,bogus").ok());
}

TEST_CASE("every baseline codec round-trips the cut tensor within its error bound") {
  const std::vector<TensorSpec> cut = {{"feat", {1, kC, kH, kW}}};
  std::vector<float> x(kC * kH * kW);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::max(0.0f, std::sin(float(i) * 0.37f) * 3.0f);
  const std::int64_t shape[] = {1, kC, kH, kW};
  const std::vector<NamedTensorView> in = {{"feat", TensorView::contiguous(DType::f32, shape, x.data())}};
  const std::vector<TensorRange> ranges = {{"feat", 0.0f, 3.0f}};
  const TensorSpec image{"image", {1, kH, kW}};
  BaselineSettings s;
  s.zfp_tolerance = {0.1, 0.001};
  s.mosaic_jpeg_quality = {90};
  auto configs = make_baselines({"raw", "f16", "zstd", "zfp", "mosaic-jpeg", "mosaic-png"}, cut, ranges, image, s);
  REQUIRE(configs.ok());
  REQUIRE(configs->size() == 7);
  for (const auto& c : *configs) {
    CAPTURE(c.name);
    auto bytes = c.codec->encode(in);
    REQUIRE(bytes.ok());
    auto back = c.codec->decode(*bytes);
    REQUIRE(back.ok());
    REQUIRE(back->size() == 1);
    CHECK((*back)[0].name == "feat");
    CHECK((*back)[0].tensor.shape() == cut[0].shape);
    double max_err = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
      max_err = std::max(max_err, std::fabs(double((*back)[0].tensor.data_as<float>()[i]) - x[i]));
    double bound = 0;
    if (c.name == "f16") bound = 3.0 / 2048;
    if (c.name == "zfp tol=0.1") bound = 0.3;
    if (c.name == "zfp tol=0.001") bound = 0.003;
    if (c.name == "mosaic-png") bound = 1.5 / 255 + 1e-6;
    if (c.name == "mosaic-jpeg q=90") bound = 0.3;
    CHECK(max_err <= bound);
    if (c.name == "f32-raw") CHECK(bytes->size() == x.size() * 4);
    if (c.name == "f16") CHECK(bytes->size() == x.size() * 2);
    // damaged input: an error or a tensor, never a crash
    if (bytes->size() > 2) {
      std::vector<std::uint8_t> cut_short(bytes->begin(), bytes->begin() + static_cast<std::ptrdiff_t>(bytes->size() / 2));
      auto bad = c.codec->decode(cut_short);
      if (c.name != "zfp tol=0.1" && c.name != "zfp tol=0.001") CHECK(!bad.ok());
    }
  }
  // mosaic/zfp need a range per cut tensor
  CHECK(!make_baselines({"zfp"}, cut, {}, image, s).ok());
  CHECK(!make_baselines({"mosaic-png"}, cut, {{"feat", 1.0f, 1.0f}}, image, s).ok());
}

TEST_CASE("cloud-only codecs round-trip the input image") {
  const TensorSpec image{"image", {1, kH, kW}};
  auto png = make_image_codec(image, tile::ImageCodec::png, 0);
  auto jpg = make_image_codec(image, tile::ImageCodec::jpeg, 95);
  auto img = Tensor::zeros(DType::u8, {1, kH, kW});
  for (int i = 0; i < kH * kW; ++i) img->data()[i] = static_cast<std::uint8_t>(i * 7);
  const std::vector<NamedTensorView> in = {{"image", img->view()}};
  auto b = png->encode(in);
  REQUIRE(b.ok());
  auto back = png->decode(*b);
  REQUIRE(back.ok());
  CHECK(std::memcmp((*back)[0].tensor.data(), img->data(), kH * kW) == 0);
  auto j = jpg->encode(in);
  REQUIRE(j.ok());
  CHECK(jpg->decode(*j).ok());
}

TEST_CASE("evaluate: reference, uncompressed split, per-row metrics, failures, threads") {
  const FakeDataset data(40);
  const Pipeline p = fake_pipeline();
  auto cut = probe_cut(data, p);
  REQUIRE(cut.ok());
  REQUIRE(cut->size() == 1);
  CHECK((*cut)[0].name == "feat");
  CHECK((*cut)[0].shape == Shape{1, kC, kH, kW});
  auto ranges = calibrate(data, 10, p);
  REQUIRE(ranges.ok());
  REQUIRE(ranges->size() == 1);
  CHECK((*ranges)[0].lo == 0.0f);
  CHECK((*ranges)[0].hi > 0.0f);

  BaselineSettings s;
  s.mosaic_jpeg_quality = {50};
  s.cloud_jpeg_quality = {50};
  s.zfp_tolerance = {0.01};
  auto configs = make_baselines(baseline_names(), *cut, *ranges, {"image", {1, kH, kW}}, s);
  REQUIRE(configs.ok());
  configs->push_back({"flaky", "flaky", "", Stage::split, std::make_shared<FlakyCodec>(*cut)});
  CHECK(probe_configs(data, p, *configs).size() <= 1);

  EvalOptions o;
  std::size_t last_done = 0, calls = 0;
  o.progress = [&](std::size_t d, std::size_t t) {
    CHECK(t == (o.limit ? o.limit : 40));
    last_done = d;
    ++calls;
  };
  auto r = evaluate(data, p, *configs, o);
  REQUIRE(r.ok());
  CHECK(calls >= 1);
  CHECK(last_done == 40);
  CHECK(r->images == 40);
  CHECK(r->reference_top1 <= 0.8 + 1e-9);
  CHECK(r->split_mismatches == 0);
  CHECK(r->max_logit_abs_diff == 0.0);
  CHECK(r->split_top1 == r->reference_top1);
  REQUIRE(r->rows.size() == configs->size());

  const Row& raw = row_named(*r, "f32-raw");
  CHECK(raw.top1 == r->reference_top1);
  CHECK(raw.agreement == 1.0);
  CHECK(raw.top1_drop == 0.0);
  CHECK(raw.bytes_mean == kC * kH * kW * 4);
  CHECK(raw.bytes_p95 == kC * kH * kW * 4);
  CHECK(raw.bits_per_element == doctest::Approx(32.0));
  CHECK(raw.elements == kC * kH * kW);
  CHECK(raw.failures == 0);

  const Row& png = row_named(*r, "cloud-png");
  CHECK(png.stage == "input");
  CHECK(png.elements == kH * kW);
  CHECK(png.agreement == 1.0);  // lossless input
  CHECK(png.top1 == r->reference_top1);

  const Row& flaky = row_named(*r, "flaky");
  CHECK(flaky.failures > 0);
  CHECK(flaky.failures < 40);
  CHECK(flaky.first_error.find("flaky") != std::string::npos);
  CHECK(flaky.bytes_mean == raw.bytes_mean);  // failed images are left out of the byte statistics

  for (const Row& w : r->rows) {
    CAPTURE(w.name);
    CHECK(w.images == 40);
    CHECK(w.bytes_mean > 0);
    CHECK(w.bytes_p95 >= 0);
    CHECK(w.top1 >= 0);
    CHECK(w.top1 <= 1);
    CHECK(w.top1_drop == doctest::Approx((r->reference_top1 - w.top1) * 100));
  }

  // The same numbers on several threads (times aside).
  o.threads = 3;
  o.limit = 25;
  auto r3 = evaluate(data, p, *configs, o);
  o.threads = 1;
  auto r1 = evaluate(data, p, *configs, o);
  REQUIRE(r3.ok());
  REQUIRE(r1.ok());
  CHECK(r3->images == 25);
  CHECK(r3->reference_top1 == r1->reference_top1);
  for (std::size_t k = 0; k < r1->rows.size(); ++k) {
    CHECK(r3->rows[k].bytes_mean == r1->rows[k].bytes_mean);
    CHECK(r3->rows[k].top1 == r1->rows[k].top1);
    CHECK(r3->rows[k].agreement == r1->rows[k].agreement);
  }
}

TEST_CASE("evaluate with ftc's own codec: 8-bit per-channel keeps the predictions") {
  const FakeDataset data(20);
  const Pipeline p = fake_pipeline();
  EncoderOptions o;
  o.bits = 8;
  o.channel_axis = 1;
  std::vector<CodecConfig> configs = {make_ftc_config(o)};
  auto r = evaluate(data, p, configs, {});
  REQUIRE(r.ok());
  CHECK(r->rows[0].failures == 0);
  CHECK(r->rows[0].agreement >= 0.95);
  CHECK(r->rows[0].bytes_mean > 0);
  CHECK(r->rows[0].bytes_mean < kC * kH * kW * 4);
}

TEST_CASE("evaluate reports executor errors") {
  const FakeDataset data(5);
  Pipeline p = fake_pipeline();
  p.make_tail = [] { return Result<std::unique_ptr<Executor>>(Status{StatusCode::bad_file, "no tail"}); };
  auto r = evaluate(data, p, {}, {});
  CHECK(!r.ok());
  CHECK(r.status().message().find("no tail") != std::string::npos);
  const FakeDataset empty(0);
  CHECK(!evaluate(empty, fake_pipeline(), {}, {}).ok());
}
