// server/: the service, the batcher, the metrics and the HTTP face on loopback (port 0), with
// models/fmnist_resnet.onnx split at its recommended tensor. A valid frame is answered with the
// class the tail gives locally on the decoded frame; every kind of malformed frame gets a 4xx with
// a reason; /healthz and /metrics; a request in flight finishes across stop(); the default bind is
// loopback only.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/eval.hpp"
#include "runtime/executor.hpp"
#include "runtime/mosaic.hpp"
#include "runtime/graph.hpp"
#include "server/batcher.hpp"
#include "server/client.hpp"
#include "server/http.hpp"
#include "server/service.hpp"

namespace fs = std::filesystem;
using namespace ftc;

namespace {

const std::string kModel = std::string(FTC_SOURCE_DIR) + "/models/fmnist_resnet.onnx";
const std::string kCodecModel = std::string(FTC_SOURCE_DIR) + "/models/fmnist_resnet.ftcm";
const std::string kCut = "/stage2/block1/relu_2/Relu_output_0";

// The head and tail, made once per process in a temporary directory.
struct Parts {
  fs::path dir = fs::temp_directory_path() / ("ftc_server_test_" + std::to_string(::getpid()));
  std::string head, tail;
  Parts() {
    fs::create_directories(dir);
    head = (dir / "head.onnx").string();
    tail = (dir / "tail.onnx").string();
    auto g = runtime::Graph::load(kModel);
    REQUIRE(g.ok());
    auto split = g->split({kCut});
    REQUIRE(split.ok());
    REQUIRE(split->head.save(head).ok());
    REQUIRE(split->tail.save(tail).ok());
  }
  ~Parts() { fs::remove_all(dir); }
};
const Parts& parts() {
  static Parts p;
  return p;
}

// Seeded input in the normalized range of the model.
Tensor input(std::uint32_t seed) {
  Tensor x = Tensor::zeros(DType::f32, {1, 1, 28, 28}).value();
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-0.8f, 2.0f);
  for (std::uint64_t i = 0; i < x.element_count(); ++i) x.data_as<float>()[i] = u(rng);
  return x;
}

std::vector<std::uint8_t> frame_of(std::uint32_t seed, const EncoderOptions& o) {
  auto head = runtime::make_opencv_executor(parts().head);
  REQUIRE(head.ok());
  Tensor x = input(seed);
  auto cut = (*head)->run({{(*head)->input_names()[0], x.view()}});
  REQUIRE(cut.ok());
  std::vector<NamedTensorView> views;
  for (const auto& t : *cut) views.push_back({t.name, t.tensor.view()});
  auto f = Encoder(o).encode(views);
  REQUIRE(f.ok());
  return std::move(f).value();
}

EncoderOptions four_bit_rans() {
  EncoderOptions o;
  o.bits = 4;
  o.coder = CoderKind::rans;
  o.channel_axis = 1;
  return o;
}

EncoderOptions with_model() {
  EncoderOptions o;
  auto m = CodecModel::from_file(kCodecModel);
  REQUIRE(m.ok());
  o.codec_model = *m;
  return o;
}

// What `ftc eval` computes for a frame: decode, run the tail, the scores.
std::vector<float> local_scores(const std::vector<std::uint8_t>& frame) {
  Decoder d;
  auto m = CodecModel::from_file(kCodecModel);
  REQUIRE(m.ok());
  REQUIRE(d.add_codec_model(*m).ok());
  auto dec = d.decode(frame);
  REQUIRE(dec.ok());
  auto tail = runtime::make_opencv_executor(parts().tail);
  REQUIRE(tail.ok());
  std::vector<NamedTensorView> views;
  for (const auto& t : *dec) views.push_back({t.name, t.tensor.view()});
  auto y = (*tail)->run(views);
  REQUIRE(y.ok());
  const float* p = (*y)[0].tensor.data_as<float>();
  return {p, p + (*y)[0].tensor.element_count()};
}

int argmax(const std::vector<float>& v) { return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin()); }

// A service and its HTTP server on a free loopback port, served from a thread.
struct Running {
  std::unique_ptr<server::Service> service;
  std::unique_ptr<server::HttpServer> http;
  std::thread thread;
  int port = 0;
  Status run_status;
  explicit Running(server::ServiceOptions o = {}, server::HttpOptions h = {}) {
    if (o.codec_models.empty()) o.codec_models = {kCodecModel};
    auto s = server::Service::create({{"resnet", parts().tail}}, o);
    REQUIRE_MESSAGE(s.ok(), s.status().to_string());
    service = std::move(s).value();
    h.log = nullptr;
    http = std::make_unique<server::HttpServer>(*service, h);
    auto p = http->bind();
    REQUIRE(p.ok());
    port = *p;
    thread = std::thread([this] { run_status = http->run(); });
  }
  ~Running() {
    http->stop();
    if (thread.joinable()) thread.join();
  }
  server::Url url(const std::string& path = "/v1/infer") const {
    return {"http://127.0.0.1:" + std::to_string(port), path};
  }
};

}  // namespace

TEST_CASE("a valid frame gets the class and scores the tail gives locally on the decoded frame") {
  Running r;
  server::HttpClient c(r.url());
  for (const auto& o : {four_bit_rans(), with_model()}) {
    for (std::uint32_t seed : {1u, 2u, 3u}) {
      const auto frame = frame_of(seed, o);
      const auto want = local_scores(frame);
      const auto a = c.post(frame);
      REQUIRE_MESSAGE(a.status == 200, (a.error + ": " + a.reason));
      CHECK(a.cls == argmax(want));
      REQUIRE(a.scores.size() == want.size());
      for (std::size_t i = 0; i < want.size(); ++i) CHECK(a.scores[i] == doctest::Approx(want[i]).epsilon(1e-4));
      CHECK(a.tail == "resnet");
      CHECK(a.decode_ms >= 0);
      CHECK(a.tail_ms > 0);
    }
  }
  // By name in the path, too.
  server::HttpClient named(r.url("/v1/infer/resnet"));
  const auto frame = frame_of(4, four_bit_rans());
  const auto a = named.post(frame);
  CHECK(a.status == 200);
  CHECK(a.cls == argmax(local_scores(frame)));
}

TEST_CASE("several tails: a name in the path picks one, else the first whose inputs the frame matches") {
  auto s = server::Service::create({{"first", parts().tail}, {"second", parts().tail}}, {.codec_models = {kCodecModel}});
  REQUIRE(s.ok());
  const auto frame = frame_of(21, with_model());
  const auto now = server::Clock::now();
  const auto by_default = (*s)->infer(frame, "", now);
  CHECK(by_default.status == 200);
  CHECK(by_default.tail == "first");
  const auto named = (*s)->infer(frame, "second", now);
  CHECK(named.status == 200);
  CHECK(named.tail == "second");
  CHECK(named.cls == by_default.cls);
  CHECK((*s)->infer(frame, "third", now).status == 404);
  // Names are checked at start.
  CHECK(!server::Service::create({{"a b", parts().tail}}, {}).ok());
  CHECK(!server::Service::create({{"x", parts().tail}, {"x", parts().tail}}, {}).ok());
  CHECK(!server::Service::create({}, {}).ok());
}

TEST_CASE("every kind of malformed frame is answered 4xx with the decoder's reason") {
  server::ServiceOptions o;
  o.max_body_bytes = 64 * 1024;
  Running r(o);
  server::HttpClient c(r.url());
  const auto frame = frame_of(5, four_bit_rans());
  const auto compact = frame_of(5, with_model());
  std::mt19937 rng(7);

  const auto expect = [&](const std::vector<std::uint8_t>& body, int status, const std::string& kind, server::HttpClient& cl) {
    const auto a = cl.post(body);
    CHECK_MESSAGE(a.status == status, (kind + " → " + std::to_string(a.status) + " " + a.error + ": " + a.reason));
    CHECK(a.error == kind);
    CHECK(!a.reason.empty());
  };
  // Truncated: every tenth cut point of both frame kinds.
  for (std::size_t n = 0; n < frame.size(); n += std::max<std::size_t>(1, frame.size() / 10)) {
    const auto a = c.post({frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(n)});
    CHECK(a.status == 400);
    CHECK(!a.reason.empty());
  }
  expect({compact.begin(), compact.begin() + 3}, 400, "truncated", c);
  // Bit flips anywhere: caught by the checksums.
  for (int k = 0; k < 40; ++k) {
    auto bad = (k % 2 ? frame : compact);
    const auto bit = rng() % (8 * bad.size());
    bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    const auto a = c.post(bad);
    CHECK_MESSAGE(a.status == 400, ("bit " + std::to_string(bit) + ": " + std::to_string(a.status) + " " + a.reason));
    CHECK(!a.reason.empty());
  }
  // Wrong model: a compact frame naming a model the server does not hold.
  auto other = compact;
  other[1] = static_cast<std::uint8_t>(other[1] + 1);
  expect(other, 409, "model_mismatch", c);
  // A tensor the tail does not take.
  {
    Tensor z = Tensor::zeros(DType::f32, {1, 3, 5, 5}).value();
    auto f = Encoder().encode(std::vector<NamedTensorView>{{kCut, z.view()}});
    REQUIRE(f.ok());
    expect(*f, 422, "input_mismatch", c);
    auto g = Encoder().encode(std::vector<NamedTensorView>{{"elsewhere", z.view()}});
    REQUIRE(g.ok());
    expect(*g, 422, "input_mismatch", c);
  }
  // Oversized body; and a frame declaring more elements than the limit.
  std::vector<std::uint8_t> big(frame);
  big.resize(o.max_body_bytes + 1);
  expect(big, 413, "body_too_large", c);
  {
    server::ServiceOptions small;
    small.limits.max_elements = 1000;
    Running r2(small);
    server::HttpClient c2(r2.url());
    expect(frame, 413, "limit_exceeded", c2);
  }
  // Garbage.
  for (int k = 0; k < 20; ++k) {
    std::vector<std::uint8_t> g(1 + rng() % 2000);
    for (auto& b : g) b = static_cast<std::uint8_t>(rng());
    const auto a = c.post(g);
    // 400, or 409 when the first byte happens to say "compact frame" with a selector not held.
    CHECK((a.status == 400 || (a.status == 409 && (g[0] & 0xF0) == 0xA0)));
    CHECK(!a.reason.empty());
  }
  expect({}, 400, "truncated", c);
  // An unknown tail.
  server::HttpClient unknown(r.url("/v1/infer/nope"));
  expect(frame, 404, "unknown_tail", unknown);
  // Still serving.
  CHECK(c.post(frame).status == 200);
}

TEST_CASE("cloud-only: a PNG or JPEG of the input image runs the full model as the model card normalizes it") {
  auto card = runtime::read_model_card(runtime::model_card_path(kModel));
  REQUIRE(card.ok());
  auto s = server::Service::create({{"resnet", parts().tail, {}}, {"full", kModel, card->normalization}},
                                   {.codec_models = {kCodecModel}});
  REQUIRE_MESSAGE(s.ok(), s.status().to_string());
  auto full = runtime::make_opencv_executor(kModel);
  REQUIRE(full.ok());
  // A seeded 28×28 gray image (smooth, so that JPEG keeps it close).
  runtime::tile::Image img;
  img.width = img.height = 28;
  img.channels = 1;
  std::mt19937 rng(11);
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x)
      img.pixels.push_back(static_cast<std::uint8_t>(std::clamp(120 + 90 * std::sin(x * 0.3) * std::cos(y * 0.2) +
                                                                    static_cast<double>(rng() % 20), 0.0, 255.0)));
  // What a local run gives on the pixels the body carries (decoded again for JPEG).
  const auto local = [&](const std::vector<std::uint8_t>& body, bool png) {
    auto d = png ? runtime::tile::decode_png(body, 1) : runtime::tile::decode_jpeg(body, 1);
    REQUIRE(d.ok());
    Tensor planar = Tensor::zeros(DType::u8, {1, 28, 28}).value();
    std::copy(d->pixels.begin(), d->pixels.end(), planar.data());
    auto x = runtime::preprocess(planar, card->normalization, {1, 1, 28, 28});
    REQUIRE(x.ok());
    auto y = (*full)->run({{(*full)->input_names()[0], x->view()}});
    REQUIRE(y.ok());
    const float* p = (*y)[0].tensor.data_as<float>();
    return std::vector<float>(p, p + (*y)[0].tensor.element_count());
  };
  const auto now = server::Clock::now();
  auto png = runtime::tile::encode_png(img);
  auto jpeg = runtime::tile::encode_jpeg(img, 80);
  REQUIRE(png.ok());
  REQUIRE(jpeg.ok());
  for (const auto& [body, is_png] : {std::pair{*png, true}, std::pair{*jpeg, false}}) {
    const auto want = local(body, is_png);
    for (const char* name : {"", "full"}) {  // an image goes to the first image model by default
      const auto a = (*s)->infer(body, name, now);
      REQUIRE_MESSAGE(a.status == 200, (a.kind + ": " + a.reason));
      CHECK(a.tail == "full");
      CHECK(a.cls == argmax(want));
      REQUIRE(a.scores.size() == want.size());
      for (std::size_t i = 0; i < want.size(); ++i) CHECK(a.scores[i] == doctest::Approx(want[i]).epsilon(1e-4));
    }
  }
  // Frames still go to the split tail.
  const auto frame = frame_of(31, with_model());
  const auto f = (*s)->infer(frame, "", now);
  CHECK(f.status == 200);
  CHECK(f.tail == "resnet");
  CHECK(f.cls == argmax(local_scores(frame)));
  // Malformed images: each a 4xx with a reason, before the model runs.
  const auto expect = [&](const std::vector<std::uint8_t>& body, const std::string& tail, int status, const std::string& kind) {
    const auto a = (*s)->infer(body, tail, now);
    CHECK_MESSAGE(a.status == status, (kind + " → " + std::to_string(a.status) + " " + a.kind + ": " + a.reason));
    CHECK(a.kind == kind);
    CHECK(!a.reason.empty());
  };
  expect({png->begin(), png->begin() + 40}, "", 400, "corrupt");     // truncated inside IHDR/IDAT
  expect({jpeg->begin(), jpeg->begin() + 3}, "", 400, "truncated");
  {
    auto bad = *png;
    bad[bad.size() / 2] ^= 0x40;  // a flipped bit in the compressed data: the CRC or zlib catches it
    expect(bad, "", 400, "corrupt");
  }
  runtime::tile::Image big = img;
  big.width = big.height = 64;
  big.pixels.assign(64 * 64, 7);
  expect(runtime::tile::encode_png(big).value(), "", 413, "limit_exceeded");  // more pixels than the model takes
  runtime::tile::Image narrow = img;
  narrow.width = 14;
  narrow.height = 28;
  narrow.pixels.assign(14 * 28, 7);
  expect(runtime::tile::encode_png(narrow).value(), "", 422, "input_mismatch");  // fewer pixels, wrong shape
  expect(*png, "resnet", 422, "input_mismatch");                                  // a frame-only tail
  auto frames_only = server::Service::create({{"resnet", parts().tail, {}}}, {.codec_models = {kCodecModel}});
  REQUIRE(frames_only.ok());
  const auto a = (*frames_only)->infer(*png, "", now);
  CHECK(a.status == 422);
  CHECK(a.kind == "input_mismatch");
  // A model whose input is not an image is refused at start.
  CHECK(!server::Service::create({{"tail_as_image", parts().tail, card->normalization}}, {}).ok());
}

TEST_CASE("healthz and metrics") {
  Running r;
  server::HttpClient c(r.url());
  const auto [hs, hb] = c.get("/healthz");
  CHECK(hs == 200);
  auto j = nlohmann::json::parse(hb);
  CHECK(j["status"] == "ok");
  CHECK(j["tails"][0]["name"] == "resnet");
  CHECK(j["tails"][0]["batching"] == true);
  const auto frame = frame_of(9, four_bit_rans());
  for (int k = 0; k < 3; ++k) REQUIRE(c.post(frame).status == 200);
  auto bad = frame;
  bad.resize(bad.size() / 2);
  CHECK(c.post(bad).status == 400);
  const auto [ms, text] = c.get("/metrics");
  CHECK(ms == 200);
  CHECK(text.find("ftc_requests_total{tail=\"resnet\",code=\"200\"} 3\n") != std::string::npos);
  CHECK(text.find("ftc_requests_total{tail=\"-\",code=\"400\"} 1\n") != std::string::npos);
  CHECK(text.find("ftc_errors_total{kind=\"") != std::string::npos);
  CHECK(text.find("ftc_request_duration_seconds_count{tail=\"resnet\"} 3\n") != std::string::npos);
  CHECK(text.find("ftc_batch_size_count{tail=\"resnet\"} 3\n") != std::string::npos);
  CHECK(text.find("ftc_batch_size_bucket{tail=\"resnet\",le=\"+Inf\"} 3\n") != std::string::npos);
  const auto p = text.find("\nprocess_resident_memory_bytes ");
  REQUIRE(p != std::string::npos);
  CHECK(std::stoull(text.substr(p + 31)) > 1000000);
  CHECK(c.get("/nothing").first == 404);
}

TEST_CASE("concurrent requests are batched, and each gets its own answer") {
  server::ServiceOptions o;
  o.batch.max_batch = 8;
  o.batch.wait_ms = 200;  // long enough that 8 requests sent together share one run
  Running r(o, {.workers = 16});
  std::vector<std::vector<std::uint8_t>> frames;
  std::vector<int> want;
  for (std::uint32_t s = 0; s < 8; ++s) {
    frames.push_back(frame_of(100 + s, four_bit_rans()));
    want.push_back(argmax(local_scores(frames.back())));
  }
  std::vector<std::future<server::ServerAnswer>> fs;
  for (std::size_t i = 0; i < frames.size(); ++i)
    fs.push_back(std::async(std::launch::async, [&, i] { return server::HttpClient(r.url()).post(frames[i]); }));
  std::size_t largest = 0;
  for (std::size_t i = 0; i < fs.size(); ++i) {
    const auto a = fs[i].get();
    REQUIRE(a.status == 200);
    CHECK(a.cls == want[i]);
    largest = std::max(largest, a.batch);
  }
  CHECK(largest > 1);
}

TEST_CASE("a full batcher queue answers overloaded; a request past its budget answers timeout") {
  server::ServiceOptions o;
  o.batch.max_batch = 64;
  o.batch.wait_ms = 300;
  o.batch.max_queue = 1;
  o.time_budget_ms = 100;  // shorter than the batch wait: the queued request times out
  Running r(o, {.workers = 8});
  const auto frame = frame_of(11, four_bit_rans());
  auto first = std::async(std::launch::async, [&] { return server::HttpClient(r.url()).post(frame); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto second = server::HttpClient(r.url()).post(frame);
  CHECK(second.status == 503);
  CHECK(second.error == "overloaded");
  const auto a = first.get();
  CHECK(a.status == 503);
  CHECK(a.error == "timeout");
}

TEST_CASE("stop() lets a request in flight finish") {
  server::ServiceOptions o;
  o.batch.max_batch = 64;
  o.batch.wait_ms = 600;  // the request waits in the batcher while the server stops
  auto r = std::make_unique<Running>(o);
  const auto frame = frame_of(12, four_bit_rans());
  const int want = argmax(local_scores(frame));
  auto pending = std::async(std::launch::async, [&] { return server::HttpClient(r->url()).post(frame); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto t0 = std::chrono::steady_clock::now();
  r->http->stop();
  r->thread.join();
  CHECK(r->run_status.ok());
  const auto a = pending.get();
  CHECK(a.status == 200);
  CHECK(a.cls == want);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30));
  // Nothing listens any more.
  server::HttpClient late(r->url(), 0, 2);
  CHECK(late.post(frame).status == 0);
}

TEST_CASE("the default bind is loopback only") {
  CHECK(server::HttpOptions{}.host == "127.0.0.1");
  Running r;
  CHECK(server::HttpClient(r.url()).get("/healthz").first == 200);
  // Every non-loopback IPv4 address of this machine refuses the port.
  ifaddrs* list = nullptr;
  REQUIRE(getifaddrs(&list) == 0);
  int checked = 0;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    sockaddr_in addr = *reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if ((ntohl(addr.sin_addr.s_addr) >> 24) == 127) continue;
    addr.sin_port = htons(static_cast<std::uint16_t>(r.port));
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(s >= 0);
    CHECK(::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0);
    ::close(s);
    ++checked;
  }
  freeifaddrs(list);
  MESSAGE("non-loopback addresses checked: " << checked);
}

TEST_CASE("a tail whose batch dim cannot grow runs unbatched; make_batch_dynamic keeps the graph") {
  auto bytes = runtime::Graph::load(parts().tail)->serialize();
  REQUIRE(bytes.ok());
  auto dyn = server::make_batch_dynamic(*bytes);
  REQUIRE(dyn.ok());
  auto g = runtime::Graph::parse(*dyn, "dyn");
  REQUIRE(g.ok());
  REQUIRE(g->inputs().size() == 1);
  CHECK((*g->inputs()[0].shape)[0] == -1);
  CHECK(g->node_count() == runtime::Graph::load(parts().tail)->node_count());
  auto exec = runtime::make_opencv_executor_from_bytes(*dyn, "dyn");
  REQUIRE(exec.ok());
  CHECK(server::check_batching(**exec, {{g->inputs()[0].name, {1, 64, 14, 14}}}).ok());
  // The original (batch fixed at 1) refuses a batch of two.
  auto fixed = runtime::make_opencv_executor(parts().tail);
  REQUIRE(fixed.ok());
  CHECK(!server::check_batching(**fixed, {{g->inputs()[0].name, {1, 64, 14, 14}}}).ok());
  CHECK(!server::make_batch_dynamic(std::vector<std::uint8_t>{1, 2, 3}).ok());
}

TEST_CASE("parse_url") {
  auto u = server::parse_url("http://127.0.0.1:8080");
  REQUIRE(u.ok());
  CHECK(u->base == "http://127.0.0.1:8080");
  CHECK(u->path == "/v1/infer");
  CHECK(server::parse_url("127.0.0.1:9/v1/infer/x")->path == "/v1/infer/x");
  CHECK(!server::parse_url("https://a:1").ok());
  CHECK(!server::parse_url("http://host").ok());
  CHECK(!server::parse_url("http://host:8x").ok());
}
