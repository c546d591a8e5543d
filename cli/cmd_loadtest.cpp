// ftc loadtest --server URL --head HEAD.onnx --tail TAIL.onnx --data fashion-mnist:test[:N]
//              --clients 32 --requests 100000 [--malformed 0.2] [--duration S]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/device_flags.hpp"
#include "cli/text.hpp"
#include "runtime/dataset.hpp"
#include "runtime/executor.hpp"
#include "server/client.hpp"
#include "server/metrics.hpp"

namespace ftc::cli {
namespace {

using Clock = std::chrono::steady_clock;

enum Kind { valid = 0, truncated, bitflip, wrong_model, oversized, garbage, kinds };
const char* kind_name(int k) {
  static const char* names[] = {"valid", "truncated", "bit-flipped", "wrong-model", "oversized", "garbage"};
  return names[k];
}

double percentile(std::vector<float>& v, double p) {
  if (v.empty()) return 0;
  const std::size_t k = std::min(v.size() - 1, static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size()))) - (p > 0 ? 1 : 0));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// process_resident_memory_bytes from a /metrics text; 0 when absent.
std::uint64_t rss_from_metrics(const std::string& text) {
  const std::string key = "\nprocess_resident_memory_bytes ";
  const auto p = text.find(key);
  if (p == std::string::npos) return 0;
  return std::strtoull(text.c_str() + p + key.size(), nullptr, 10);
}

struct Tally {
  std::uint64_t sent[kinds] = {}, ok[kinds] = {};
  std::uint64_t failed_valid = 0, class_mismatch = 0, malformed_not_4xx = 0, no_reason = 0, transport = 0;
  std::map<std::string, std::uint64_t> by_error;   // server error kind (or transport error)
  std::map<int, std::uint64_t> by_status;
  std::vector<float> valid_ms, all_ms;
  std::vector<std::string> examples;                // the first few failures, for the report
  void merge(const Tally& o) {
    for (int k = 0; k < kinds; ++k) sent[k] += o.sent[k], ok[k] += o.ok[k];
    failed_valid += o.failed_valid, class_mismatch += o.class_mismatch, malformed_not_4xx += o.malformed_not_4xx;
    no_reason += o.no_reason, transport += o.transport;
    for (const auto& [k, n] : o.by_error) by_error[k] += n;
    for (const auto& [k, n] : o.by_status) by_status[k] += n;
    valid_ms.insert(valid_ms.end(), o.valid_ms.begin(), o.valid_ms.end());
    all_ms.insert(all_ms.end(), o.all_ms.begin(), o.all_ms.end());
    for (const auto& e : o.examples)
      if (examples.size() < 8) examples.push_back(e);
  }
};

}  // namespace

Command add_loadtest(CLI::App& root) {
  struct Args {
    DeviceFlags device;
    std::string server, tail, data = "fashion-mnist:test:1000";
    int clients = 32;
    std::uint64_t requests = 10000;
    double malformed = 0.2;
    double duration = 0;
    double warmup = 0.1;
    long pid = 0;
    std::uint64_t seed = 1;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* sub = root.add_subcommand("loadtest", "Load and fault test of ftc serve: concurrent clients, valid and malformed frames, checked answers");
  add_device_flags(*sub, a->device);
  sub->add_option("--server", a->server, "Server URL: http://HOST:PORT[/v1/infer[/NAME]]")->required();
  sub->add_option("--tail", a->tail, "The tail the server runs: each valid frame's expected class is computed locally with it")->required();
  sub->add_option("--data", a->data, "Images to send (an open_dataset spec)");
  sub->add_option("--clients", a->clients, "Concurrent clients (one connection each)")->check(CLI::Range(1, 1024));
  sub->add_option("--requests", a->requests, "Requests in all")->check(CLI::Range(1.0, 1e10));
  sub->add_option("--malformed", a->malformed, "Share of malformed frames: truncated, bit-flipped, wrong model, oversized, garbage in turn")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--duration", a->duration, "Stop after this many seconds (0: when --requests are sent)")->check(CLI::Range(0.0, 86400.0));
  sub->add_option("--warmup", a->warmup, "Share of the requests after which resident memory is first measured")->check(CLI::Range(0.0, 0.9));
  sub->add_option("--pid", a->pid, "Server process id: resident memory from /proc/PID/status (default: its /metrics)");
  sub->add_option("--seed", a->seed, "Seed of the choice and damage of malformed frames");
  sub->add_flag("--json", a->json, "The summary as one JSON object");
  sub->footer(
      "Every valid answer must be 200 with the class the tail gives locally on the decoded frame\n"
      "(what ftc eval computes); every malformed one a 4xx with a reason. Exit 1 otherwise, or when\n"
      "the server is not healthy afterwards.");
  return {sub, [a]() -> int {
    if (Status s = a->device.resolve(); !s.ok()) return fail("loadtest", s.message());
    auto url = server::parse_url(a->server);
    if (!url.ok()) return fail("--server", url.status().message());
    auto data = runtime::open_dataset(a->data);
    if (!data.ok()) return fail(a->data, data.status().message());
    const std::size_t n = (*data)->size();
    if (n == 0) return fail(a->data, "no images");
    auto client = server::DeviceClient::create(a->device.head, a->device.options, *url);
    if (!client.ok()) return fail(a->device.head, client.status().message());
    auto tail = runtime::make_opencv_executor(a->tail);
    if (!tail.ok()) return fail(a->tail, tail.status().message());
    Decoder decoder;
    if (a->device.options.codec_model)
      if (Status s = decoder.add_codec_model(a->device.options.codec_model); !s.ok()) return fail("loadtest", s.message());

    // Frames and their expected classes.
    std::vector<std::vector<std::uint8_t>> frames(n);
    std::vector<int> expected(n, -1), labels(n, -1);
    std::uint64_t frame_bytes = 0, label_agree = 0;
    std::string cut_name;
    for (std::size_t i = 0; i < n; ++i) {
      auto s = (*data)->get(i);
      if (!s.ok()) return fail(a->data, s.status().message());
      auto x = runtime::preprocess(s->image, a->device.normalization, a->device.input_shape);
      if (!x.ok()) return fail(a->data, x.status().message());
      auto f = (*client)->frame_of(x->view());
      if (!f.ok()) return fail(a->device.head, f.status().message());
      auto dec = decoder.decode(*f);
      if (!dec.ok()) return fail("loadtest", "a frame of image " + std::to_string(i) + " does not decode: " + dec.status().message());
      std::vector<NamedTensorView> views;
      for (const auto& t : *dec) views.push_back({t.name, t.tensor.view()});
      if (cut_name.empty()) cut_name = (*dec)[0].name;
      auto y = (*tail)->run(views);
      if (!y.ok()) return fail(a->tail, y.status().message());
      const float* p = (*y)[0].tensor.data_as<float>();
      expected[i] = static_cast<int>(std::max_element(p, p + (*y)[0].tensor.element_count()) - p);
      labels[i] = s->label;
      label_agree += expected[i] == s->label;
      frame_bytes += f->size();
      frames[i] = std::move(f).value();
    }
    // The server's limits, for the oversized frames.
    server::HttpClient probe(*url);
    const auto [hs, hbody] = probe.get("/healthz");
    if (hs != 200) return fail("loadtest", a->server + " is not healthy (GET /healthz: " + (hs ? std::to_string(hs) : "no answer") + ")");
    std::uint64_t max_body = 4u << 20;
    {
      auto j = nlohmann::json::parse(hbody, nullptr, false);
      if (j.is_object() && j.contains("max_body_bytes") && j["max_body_bytes"].is_number_unsigned())
        max_body = j["max_body_bytes"].get<std::uint64_t>();
    }
    std::vector<std::uint8_t> too_big(frames[0]);
    too_big.resize(max_body + 1, 0);
    // A frame of the right tensor name with a shape no tail takes (without a codec model).
    std::vector<std::uint8_t> wrong_shape;
    {
      auto z = Tensor::zeros(DType::f32, {1, 3, 5, 5});
      EncoderOptions o;
      auto f = Encoder(o).encode(std::vector<NamedTensorView>{{cut_name, z->view()}});
      if (!f.ok()) return fail("loadtest", f.status().message());
      wrong_shape = std::move(f).value();
    }
    const bool compact = a->device.options.codec_model != nullptr;
    const auto rss = [&]() -> std::uint64_t {
      if (a->pid > 0) return server::resident_memory_bytes(a->pid);
      return rss_from_metrics(probe.get("/metrics").second);
    };
    const std::uint64_t rss_start = rss();

    std::atomic<std::uint64_t> next{0}, done{0};
    std::atomic<std::uint64_t> rss_warm{0};
    std::mutex merge_mu;
    Tally total;
    const auto t0 = Clock::now();
    const auto stop_at = a->duration > 0 ? t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a->duration))
                                         : Clock::time_point::max();
    const std::uint64_t warm_after = static_cast<std::uint64_t>(a->warmup * static_cast<double>(a->requests));
    std::vector<std::thread> threads;
    for (int c = 0; c < a->clients; ++c)
      threads.emplace_back([&, c] {
        server::HttpClient http(*url);
        Tally t;
        for (;;) {
          const std::uint64_t i = next.fetch_add(1);
          if (i >= a->requests || Clock::now() >= stop_at) break;
          std::mt19937_64 rng(a->seed * 0x9E3779B97F4A7C15ull + i);
          const std::size_t img = static_cast<std::size_t>(i % n);
          const auto& frame = frames[img];
          int kind = valid;
          if (std::uniform_real_distribution<double>(0, 1)(rng) < a->malformed) kind = 1 + static_cast<int>(rng() % 5);
          std::vector<std::uint8_t> body;
          switch (kind) {
            case truncated:
              body.assign(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(rng() % frame.size()));
              break;
            case bitflip: {
              body = frame;
              const std::uint64_t bit = rng() % (8 * body.size());
              body[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
              break;
            }
            case wrong_model:
              if (compact) {
                body = frame;
                body[1] = static_cast<std::uint8_t>(body[1] + 1 + rng() % 255);  // another model's selector
              } else {
                body = wrong_shape;
              }
              break;
            case garbage: {
              body.resize(1 + rng() % frame.size());
              for (auto& b : body) b = static_cast<std::uint8_t>(rng());
              break;
            }
            default:
              break;
          }
          const auto& send = kind == valid ? frame : kind == oversized ? too_big : body;
          server::ServerAnswer ans = http.post(send);
          ++t.sent[kind];
          ++t.by_status[ans.status];
          t.all_ms.push_back(static_cast<float>(ans.round_trip_ms));
          if (ans.status == 0) {
            ++t.transport;
            ++t.by_error["transport: " + ans.error];
          } else if (ans.status != 200) {
            ++t.by_error[ans.error.empty() ? "(none)" : ans.error];
          }
          std::string bad;
          if (kind == valid) {
            t.valid_ms.push_back(static_cast<float>(ans.round_trip_ms));
            if (ans.status != 200) {
              ++t.failed_valid;
              bad = "valid frame of image " + std::to_string(img) + ": " + std::to_string(ans.status) + " " + ans.error + " " + ans.reason;
            } else if (ans.cls != expected[img]) {
              ++t.class_mismatch;
              bad = "image " + std::to_string(img) + ": class " + std::to_string(ans.cls) + ", expected " + std::to_string(expected[img]);
            } else {
              ++t.ok[kind];
            }
          } else if (ans.status < 400 || ans.status >= 500) {
            ++t.malformed_not_4xx;
            bad = std::string(kind_name(kind)) + " frame: " + std::to_string(ans.status) + " " + ans.error + " " + ans.reason;
          } else if (ans.reason.empty()) {
            ++t.no_reason;
            bad = std::string(kind_name(kind)) + " frame: " + std::to_string(ans.status) + " without a reason";
          } else {
            ++t.ok[kind];
          }
          if (!bad.empty() && t.examples.size() < 8) t.examples.push_back(bad);
          const std::uint64_t d = done.fetch_add(1) + 1;
          if (d == warm_after && warm_after > 0) rss_warm = rss();
          (void)c;
        }
        std::lock_guard lock(merge_mu);
        total.merge(t);
      });
    for (auto& t : threads) t.join();
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    const std::uint64_t rss_end = rss();
    const auto [hs2, hbody2] = probe.get("/healthz");
    (void)hbody2;
    const bool healthy = hs2 == 200;

    std::uint64_t sent = 0, malformed_sent = 0;
    for (int k = 0; k < kinds; ++k) sent += total.sent[k];
    for (int k = 1; k < kinds; ++k) malformed_sent += total.sent[k];
    std::uint64_t four = 0;
    for (const auto& [st, cnt] : total.by_status)
      if (st >= 400 && st < 500) four += cnt;
    const double p50 = percentile(total.valid_ms, 0.50), p99 = percentile(total.valid_ms, 0.99);
    const double all50 = percentile(total.all_ms, 0.50), all99 = percentile(total.all_ms, 0.99);
    const std::uint64_t warm = rss_warm ? rss_warm.load() : rss_start;
    const double growth = warm ? (static_cast<double>(rss_end) - static_cast<double>(warm)) / static_cast<double>(warm) : 0;
    const bool passed = healthy && total.failed_valid == 0 && total.class_mismatch == 0 && total.malformed_not_4xx == 0 &&
                        total.no_reason == 0 && total.transport == 0;
    if (a->json) {
      nlohmann::json j;
      j["requests"] = sent;
      j["seconds"] = secs;
      j["throughput_rps"] = static_cast<double>(sent) / secs;
      j["clients"] = a->clients;
      j["images"] = n;
      j["mean_frame_bytes"] = static_cast<double>(frame_bytes) / static_cast<double>(n);
      j["coding"] = a->device.codec_text;
      nlohmann::json by_kind;
      for (int k = 0; k < kinds; ++k) by_kind[kind_name(k)] = {{"sent", total.sent[k]}, {"as_expected", total.ok[k]}};
      j["by_kind"] = by_kind;
      j["failed_valid"] = total.failed_valid;
      j["class_mismatch"] = total.class_mismatch;
      j["malformed_not_4xx"] = total.malformed_not_4xx;
      j["malformed_without_reason"] = total.no_reason;
      j["transport_errors"] = total.transport;
      j["share_4xx"] = sent ? static_cast<double>(four) / static_cast<double>(sent) : 0;
      j["valid_p50_ms"] = p50;
      j["valid_p99_ms"] = p99;
      j["all_p50_ms"] = all50;
      j["all_p99_ms"] = all99;
      j["errors_by_kind"] = total.by_error;
      j["rss_start_bytes"] = rss_start;
      j["rss_after_warmup_bytes"] = warm;
      j["rss_end_bytes"] = rss_end;
      j["rss_growth"] = growth;
      j["healthy_after"] = healthy;
      j["local_agreement_with_labels"] = static_cast<double>(label_agree) / static_cast<double>(n);
      j["examples"] = total.examples;
      j["passed"] = passed;
      std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      std::printf("loadtest %s: %llu requests from %d clients in %.1f s: %.0f requests/s\n", printable(a->server).c_str(),
                  static_cast<unsigned long long>(sent), a->clients, secs, static_cast<double>(sent) / secs);
      std::printf("  frames: %zu images of %s, %s, mean %.0f bytes; local class = label on %.1f %%\n", n,
                  printable(a->data).c_str(), printable(a->device.codec_text).c_str(),
                  static_cast<double>(frame_bytes) / static_cast<double>(n),
                  100.0 * static_cast<double>(label_agree) / static_cast<double>(n));
      for (int k = 0; k < kinds; ++k)
        std::printf("  %-12s sent %9llu  as expected %9llu\n", kind_name(k), static_cast<unsigned long long>(total.sent[k]),
                    static_cast<unsigned long long>(total.ok[k]));
      std::printf("  valid: %llu failed, %llu with another class than local; malformed: %llu (%.1f %%), %llu not 4xx, %llu without a reason\n",
                  static_cast<unsigned long long>(total.failed_valid), static_cast<unsigned long long>(total.class_mismatch),
                  static_cast<unsigned long long>(malformed_sent),
                  sent ? 100.0 * static_cast<double>(malformed_sent) / static_cast<double>(sent) : 0.0,
                  static_cast<unsigned long long>(total.malformed_not_4xx), static_cast<unsigned long long>(total.no_reason));
      std::printf("  4xx share %.1f %%; transport errors %llu\n", sent ? 100.0 * static_cast<double>(four) / static_cast<double>(sent) : 0.0,
                  static_cast<unsigned long long>(total.transport));
      std::printf("  latency of valid requests: p50 %.2f ms, p99 %.2f ms (all requests: p50 %.2f, p99 %.2f)\n", p50, p99, all50, all99);
      std::string errs;
      for (const auto& [k, cnt] : total.by_error) errs += " " + k + "=" + std::to_string(cnt);
      std::printf("  errors by kind:%s\n", printable(errs.empty() ? std::string(" none") : errs).c_str());
      std::printf("  server RSS: %.1f MiB at start, %.1f MiB after warm-up, %.1f MiB at end (%+.1f %% after warm-up)\n",
                  static_cast<double>(rss_start) / 1048576.0, static_cast<double>(warm) / 1048576.0,
                  static_cast<double>(rss_end) / 1048576.0, 100.0 * growth);
      std::printf("  server healthy afterwards: %s\n", healthy ? "yes" : "NO");
      for (const auto& e : total.examples) std::printf("  failure: %s\n", printable(e).c_str());
      std::printf("%s\n", passed ? "PASS" : "FAIL");
    }
    return passed ? 0 : 1;
  }};
}

}  // namespace ftc::cli
