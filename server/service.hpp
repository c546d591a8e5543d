// The server's transport-free core: frame bytes in, {class, scores} or an error with its HTTP
// status and reason out. Per request, in this order, each check before the work it guards:
//   1. body size ≤ max_body_bytes                                   (413 body_too_large)
//   2. requests in flight < max_inflight                            (503 overloaded)
//   3. the time budget has not run out                              (503 timeout)
//   4. decode under DecoderLimits (elements, bytes, rank, tensors); model-bound frames pick their
//      codec model by the frame's model id                          (400/409/413/422, the decoder's reason)
//      A body that starts with the PNG or JPEG signature is an input image for a full model
//      (cloud-only inference): its declared size is checked against the model's input before
//      the pixels are allocated, then it is normalized as the model's card says
//                                                                   (400/413/422, the image decoder's reason)
//   5. the tail: named in the path, else the first whose inputs the frame's tensors match by
//      name (for an image: the first image model), else the default (first) tail
//                                                                   (404 unknown_tail)
//   6. the decoded tensors match that tail's inputs (names, dims after the batch dim)
//                                                                   (422 input_mismatch)
//   7. the tail runs in a dynamic batch (server/batcher.hpp)        (503 overloaded / timeout)
// Nothing a client sends can make it throw or abort: every failure is an Answer.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ftc/ftc.hpp"
#include "runtime/eval.hpp"
#include "server/batcher.hpp"
#include "server/metrics.hpp"

namespace ftc::server {

struct TailSpec {
  std::string name;        // what /v1/infer/<name> selects; [A-Za-z0-9._-]+
  std::string onnx_path;
  // Set for a full model served for cloud-only inference: its one input takes the image (C, H, W
  // from its declared shape) normalized so, and bodies may be PNG or JPEG images of that size.
  std::optional<runtime::Normalization> image;
};

struct ServiceOptions {
  std::vector<std::string> codec_models;         // .ftcm files model-bound frames may name
  std::uint64_t max_body_bytes = 4u << 20;
  DecoderLimits limits = {std::uint64_t{1} << 24, std::uint64_t{1} << 26, kMaxRank, 16, 4096};
  double time_budget_ms = 10000;                 // per request, from the body's arrival
  int max_inflight = 1024;
  BatchOptions batch;
  int runners = 1;                               // tail executors (threads) per tail
  int opencv_threads = 0;                        // cv::setNumThreads for the tails (process-wide); 0: OpenCV's default
};

struct Answer {
  int status = 200;
  std::string kind = "ok";   // error kind: a StatusCode name, or body_too_large, overloaded, timeout, …
  std::string reason;        // one line, for the client
  std::string tail;
  int cls = -1;
  std::vector<float> scores; // the tail's first output (logits), row 0
  double decode_ms = 0, tail_ms = 0, queue_ms = 0;
  std::size_t batch_size = 0;
  // {"class":…,"scores":[…],"decode_ms":…,"tail_ms":…} or {"error":kind,"reason":…}
  std::string json() const;
};

// The HTTP status of a decoder error: 400 corrupt/truncated/checksum_mismatch/bad_file,
// 413 limit_exceeded, 409 model_mismatch, 422 unsupported_version/unsupported_feature/
// invalid_argument, 503 out_of_memory, 500 otherwise.
int http_status_of(StatusCode code);

class Service {
 public:
  static Result<std::unique_ptr<Service>> create(const std::vector<TailSpec>& tails, const ServiceOptions& options);
  ~Service();

  // `tail` is the name from the path ("" for /v1/infer); `received` is when the body arrived.
  Answer infer(std::span<const std::uint8_t> body, std::string_view tail, Clock::time_point received);

  Metrics& metrics() { return metrics_; }
  const ServiceOptions& options() const { return options_; }
  // {"status":"ok","tails":[…],"codec_models":[…],"max_body_bytes":…,"max_batch":…}
  std::string health_json() const;
  // Tail names and whether batching is on for each (off when the tail failed check_batching).
  struct TailState {
    std::string name;
    bool batching = false;
    bool image = false;      // a full model taking input images
    std::string note;        // why batching is off
  };
  std::vector<TailState> tails() const;

 private:
  struct Tail;
  Service() = default;
  Result<std::vector<NamedTensor>> decode_image(std::span<const std::uint8_t> body, bool png, const Tail* tail) const;
  ServiceOptions options_;
  Metrics metrics_;
  Decoder decoder_;
  std::vector<std::string> model_names_;
  std::vector<std::unique_ptr<Tail>> tails_;
  std::atomic<int> inflight_{0};
};

}  // namespace ftc::server
