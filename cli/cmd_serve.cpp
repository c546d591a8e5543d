// ftc serve --tail TAIL.onnx [--name NAME] [--codec-model C.ftcm …] [--image-model M.onnx [--image-card M.json]]
//           --port P [--host 127.0.0.1] …
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/text.hpp"
#include "runtime/eval.hpp"
#include "server/http.hpp"
#include "server/service.hpp"

namespace ftc::cli {

Command add_serve(CLI::App& root) {
  struct Args {
    std::vector<std::string> tails, names, codec_models;
    std::vector<std::string> image_models, image_cards, image_names;
    std::string host = "127.0.0.1";
    int port = 8080;
    int workers = 64;
    int runners = 1;
    int opencv_threads = 0;
    int max_batch = 16;
    double batch_wait_ms = 2.0;
    std::size_t max_queue = 1024;
    std::uint64_t max_body_bytes = 4u << 20;
    std::uint64_t max_elements = std::uint64_t{1} << 24;
    double time_budget_ms = 10000;
    int max_inflight = 1024;
    int read_timeout = 10, write_timeout = 10;
    bool quiet = false;
  };
  auto a = std::make_shared<Args>();
  auto* sub = root.add_subcommand("serve", "Serve split inference over HTTP: decode ftc frames, run the tail, answer the class");
  sub->add_option("--tail", a->tails, "Tail model (ONNX, from ftc split); repeatable, the first is the default");
  sub->add_option("--name", a->names, "Name of each --tail, in order, for POST /v1/infer/NAME (default: the file's stem)");
  sub->add_option("--codec-model", a->codec_models, "Codec models (.ftcm) that model-bound frames may name; repeatable");
  sub->add_option("--image-model", a->image_models,
                  "Full model (ONNX) served for cloud-only inference: PNG/JPEG bodies of its input image; repeatable");
  sub->add_option("--image-card", a->image_cards,
                  "Model card (JSON) with each --image-model's normalization, in order (default: M.json beside M.onnx)");
  sub->add_option("--image-name", a->image_names, "Name of each --image-model, in order (default: the file's stem)");
  sub->add_option("--host", a->host, "Address to bind (default 127.0.0.1: loopback only)");
  sub->add_option("--port", a->port, "Port; 0 picks a free one (printed on the first line)")->check(CLI::Range(0, 65535));
  sub->add_option("--workers", a->workers, "HTTP worker threads (a kept-alive connection holds one)")->check(CLI::Range(1, 4096));
  sub->add_option("--runners", a->runners, "Tail executors (threads) per tail")->check(CLI::Range(1, 64));
  sub->add_option("--opencv-threads", a->opencv_threads, "Threads OpenCV DNN uses inside one tail run (0: its default, one per core)")
      ->check(CLI::Range(0, 256));
  sub->add_option("--max-batch", a->max_batch, "Most requests in one tail run (1: no batching)")->check(CLI::Range(1, 1024));
  sub->add_option("--batch-wait-ms", a->batch_wait_ms, "Longest wait for a batch to fill")->check(CLI::Range(0.0, 60000.0));
  sub->add_option("--max-queue", a->max_queue, "Requests waiting for the tail before 503 overloaded")->check(CLI::Range(1, 1 << 20));
  sub->add_option("--max-body-bytes", a->max_body_bytes, "Largest frame accepted (413 above)")->check(CLI::Range(16, 1 << 30));
  sub->add_option("--max-elements", a->max_elements, "Most decoded elements a frame may declare (413 above)")
      ->check(CLI::Range(1.0, 4294967296.0));
  sub->add_option("--time-budget-ms", a->time_budget_ms, "Per-request time budget, checked before decoding and before the tail (503)")
      ->check(CLI::Range(1.0, 3600000.0));
  sub->add_option("--max-inflight", a->max_inflight, "Requests served at once before 503 overloaded")->check(CLI::Range(1, 1 << 20));
  sub->add_option("--read-timeout", a->read_timeout, "Seconds to wait for a request's bytes")->check(CLI::Range(1, 3600));
  sub->add_option("--write-timeout", a->write_timeout, "Seconds to wait for the answer to leave")->check(CLI::Range(1, 3600));
  sub->add_flag("-q,--quiet", a->quiet, "No request log (one key=value line per request on stderr)");
  sub->footer(
      "POST /v1/infer (body: one ftc frame, or a PNG/JPEG input image for an --image-model) answers {\"class\",\"scores\",\"decode_ms\",\"tail_ms\",…};\n"
      "errors answer {\"error\",\"reason\"} with 400/404/409/413/422/503. GET /healthz, GET /metrics\n"
      "(Prometheus). SIGTERM or SIGINT: stop accepting, finish in-flight requests, exit 0.\n"
      "docs/serving.md has the API, the limits, the metrics and the nginx/Kubernetes deployment.");
  return {sub, [a]() -> int {
    // Before any thread exists: SIGTERM/SIGINT are taken by the SignalStopper below only.
    server::block_stop_signals();
    if (!a->names.empty() && a->names.size() != a->tails.size())
      return fail("serve", "give one --name per --tail (" + std::to_string(a->tails.size()) + " tails, " +
                               std::to_string(a->names.size()) + " names)");
    if (a->tails.empty() && a->image_models.empty()) return fail("serve", "give a --tail, an --image-model, or both");
    if (!a->image_cards.empty() && a->image_cards.size() != a->image_models.size())
      return fail("serve", "give one --image-card per --image-model, or none");
    if (!a->image_names.empty() && a->image_names.size() != a->image_models.size())
      return fail("serve", "give one --image-name per --image-model, or none");
    std::vector<server::TailSpec> tails;
    for (std::size_t i = 0; i < a->tails.size(); ++i)
      tails.push_back({a->names.empty() ? std::filesystem::path(a->tails[i]).stem().string() : a->names[i], a->tails[i], {}});
    for (std::size_t i = 0; i < a->image_models.size(); ++i) {
      const std::string card = a->image_cards.empty() ? runtime::model_card_path(a->image_models[i]) : a->image_cards[i];
      auto c = runtime::read_model_card(card);
      if (!c.ok()) return fail("serve", a->image_models[i] + ": its model card: " + c.status().message());
      tails.push_back({a->image_names.empty() ? std::filesystem::path(a->image_models[i]).stem().string() : a->image_names[i],
                       a->image_models[i], c->normalization});
    }
    server::ServiceOptions o;
    o.codec_models = a->codec_models;
    o.max_body_bytes = a->max_body_bytes;
    o.limits.max_elements = a->max_elements;
    o.limits.max_output_bytes = a->max_elements * 8;
    o.time_budget_ms = a->time_budget_ms;
    o.max_inflight = a->max_inflight;
    o.batch.max_batch = a->max_batch;
    o.batch.wait_ms = a->batch_wait_ms;
    o.batch.max_queue = a->max_queue;
    o.runners = a->runners;
    o.opencv_threads = a->opencv_threads;
    auto service = server::Service::create(tails, o);
    if (!service.ok()) return fail("serve", service.status().message());
    server::HttpOptions h;
    h.host = a->host;
    h.port = a->port;
    h.workers = a->workers;
    h.read_timeout_s = a->read_timeout;
    h.write_timeout_s = a->write_timeout;
    h.log = a->quiet ? nullptr : stderr;
    server::HttpServer http(**service, h);
    auto port = http.bind();
    if (!port.ok()) return fail("serve", port.status().message());
    std::printf("listening on %s:%d\n", printable(a->host).c_str(), *port);
    for (const auto& t : (*service)->tails())
      std::printf("  %s %s: batching %s%s\n", t.image ? "image model" : "tail", printable(t.name).c_str(), t.batching ? "on" : "off",
                  t.note.empty() ? "" : (" (" + printable(t.note) + ")").c_str());
    std::fflush(stdout);
    Status st;
    {
      server::SignalStopper stopper(http);
      st = http.run();
    }
    if (!st.ok()) return fail("serve", st.message());
    std::fprintf(stderr, "ftc serve: stopped; %llu requests answered 200\n",
                 static_cast<unsigned long long>((*service)->metrics().requests_with_status(200)));
    return 0;
  }};
}

}  // namespace ftc::cli
