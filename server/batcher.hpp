// Dynamic batching of tail runs across concurrent requests. Requests wait in one bounded queue;
// each runner thread (one executor each: an OpenCV net is not thread-safe) takes the oldest
// request, waits at most `wait` for more with the same input shapes, up to `max_batch`, stacks
// them along axis 0, runs the tail once and hands every request its rows of each output.
//
// Invariants: a request is answered exactly once; the queue never holds more than `max_queue`
// requests (a full queue refuses at once: overloaded); a request whose deadline has passed when a
// runner takes it is answered `timeout` without running; the stacked input of a batch of k
// requests with batch dims b_i has batch dim Σ b_i, and request i gets output rows
// [Σ_{j<i} b_j, Σ_{j≤i} b_j).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "ftc/ftc.hpp"
#include "runtime/executor.hpp"

namespace ftc::server {

using Clock = std::chrono::steady_clock;

struct BatchOptions {
  int max_batch = 16;            // 1: no batching
  double wait_ms = 2.0;          // longest wait for a batch to fill, from its first request's arrival
  std::size_t max_queue = 1024;  // requests waiting
};

struct BatchResult {
  enum class Outcome { ok, overloaded, timeout, failed, stopped };
  Outcome outcome = Outcome::ok;
  std::string message;              // for failed
  std::vector<NamedTensor> outputs; // this request's rows
  double tail_ms = 0;               // the batch's run time
  double queue_ms = 0;              // from submit to the batch's start
  std::size_t batch_size = 0;       // requests in the batch
};

class Batcher {
 public:
  // One runner thread per executor. `on_batch(size, seconds)` is called after every run.
  Batcher(std::vector<std::unique_ptr<runtime::Executor>> executors, BatchOptions options,
          std::function<void(std::size_t, double)> on_batch = {});
  ~Batcher();  // answers queued requests `stopped`, then joins the runners
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Blocks until the request is answered. `inputs` in any order; rank ≥ 1 each.
  BatchResult run(std::vector<NamedTensor> inputs, Clock::time_point deadline);

  const BatchOptions& options() const { return options_; }

 private:
  struct Job;
  void runner(runtime::Executor& exec);
  void execute(runtime::Executor& exec, std::vector<std::shared_ptr<Job>>& jobs);

  BatchOptions options_;
  std::function<void(std::size_t, double)> on_batch_;
  std::vector<std::unique_ptr<runtime::Executor>> executors_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// Rewrites an ONNX model so that dim 0 of every graph input and output is symbolic ("batch"),
// and drops intermediate value_info shapes (they pin batch 1). Fails on unparsable bytes.
Result<std::vector<std::uint8_t>> make_batch_dynamic(std::span<const std::uint8_t> onnx);

// Checks that `exec` (a dynamic-batch tail) on a batch of two random inputs of `shapes` (batch 1
// each) gives what it gives on each alone, within `tolerance` relative to max(1, max|y|).
Status check_batching(runtime::Executor& exec, const std::vector<std::pair<std::string, Shape>>& shapes,
                      double tolerance = 1e-4);

}  // namespace ftc::server
