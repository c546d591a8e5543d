#include "server/batcher.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include <onnx/onnx_pb.h>

namespace ftc::server {

struct Batcher::Job {
  std::vector<NamedTensor> inputs;
  Clock::time_point submitted;
  Clock::time_point deadline;
  std::int64_t rows = 0;  // batch dim of the inputs (equal across them)
  bool done = false;
  BatchResult result;
  std::mutex mu;
  std::condition_variable cv;

  void answer(BatchResult r) {
    std::lock_guard lock(mu);
    result = std::move(r);
    done = true;
    cv.notify_all();
  }
};

namespace {

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Same names and same dims after dim 0 (the batch dim).
bool stackable(const std::vector<NamedTensor>& a, const std::vector<NamedTensor>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto& x = a[i].tensor;
    const auto& y = b[i].tensor;
    if (a[i].name != b[i].name || x.dtype() != y.dtype() || x.rank() != y.rank() || x.rank() < 1) return false;
    for (int d = 1; d < x.rank(); ++d)
      if (x.shape()[d] != y.shape()[d]) return false;
  }
  return true;
}

}  // namespace

Batcher::Batcher(std::vector<std::unique_ptr<runtime::Executor>> executors, BatchOptions options,
                 std::function<void(std::size_t, double)> on_batch)
    : options_(options), on_batch_(std::move(on_batch)), executors_(std::move(executors)) {
  options_.max_batch = std::max(1, options_.max_batch);
  options_.max_queue = std::max<std::size_t>(1, options_.max_queue);
  for (auto& e : executors_) threads_.emplace_back([this, ex = e.get()] { runner(*ex); });
}

Batcher::~Batcher() {
  std::deque<std::shared_ptr<Job>> left;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    left.swap(queue_);
  }
  cv_.notify_all();
  for (auto& j : left) j->answer({BatchResult::Outcome::stopped, "the server is stopping", {}, 0, 0, 0});
  for (auto& t : threads_) t.join();
}

BatchResult Batcher::run(std::vector<NamedTensor> inputs, Clock::time_point deadline) {
  auto job = std::make_shared<Job>();
  if (inputs.empty() || inputs[0].tensor.rank() < 1)
    return {BatchResult::Outcome::failed, "no input tensor of rank >= 1", {}, 0, 0, 0};
  job->rows = inputs[0].tensor.shape()[0];
  for (const auto& t : inputs)
    if (t.tensor.rank() < 1 || t.tensor.shape()[0] != job->rows)
      return {BatchResult::Outcome::failed, "the inputs' batch dims differ", {}, 0, 0, 0};
  // A consistent order for stacking: by name.
  std::sort(inputs.begin(), inputs.end(), [](const NamedTensor& a, const NamedTensor& b) { return a.name < b.name; });
  job->inputs = std::move(inputs);
  job->submitted = Clock::now();
  job->deadline = deadline;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return {BatchResult::Outcome::stopped, "the server is stopping", {}, 0, 0, 0};
    if (queue_.size() >= options_.max_queue)
      return {BatchResult::Outcome::overloaded, "the tail's queue is full", {}, 0, 0, 0};
    queue_.push_back(job);
  }
  cv_.notify_one();
  std::unique_lock lock(job->mu);
  job->cv.wait(lock, [&] { return job->done; });
  return std::move(job->result);
}

void Batcher::runner(runtime::Executor& exec) {
  for (;;) {
    std::vector<std::shared_ptr<Job>> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      // Wait until the oldest request has waited `wait_ms` or enough requests are queued.
      const auto until = queue_.front()->submitted +
                         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(options_.wait_ms));
      while (!stopping_ && queue_.size() < static_cast<std::size_t>(options_.max_batch) && Clock::now() < until)
        cv_.wait_until(lock, until);
      if (stopping_) return;
      if (queue_.empty()) continue;  // another runner took them
      auto first = queue_.front();
      queue_.pop_front();
      batch.push_back(first);
      std::int64_t rows = first->rows;
      for (auto it = queue_.begin(); it != queue_.end() && batch.size() < static_cast<std::size_t>(options_.max_batch);) {
        if (stackable(first->inputs, (*it)->inputs)) {
          rows += (*it)->rows;
          batch.push_back(*it);
          it = queue_.erase(it);
        } else {
          ++it;
        }
      }
      (void)rows;
    }
    // More requests may have arrived for the other runners.
    cv_.notify_one();
    execute(exec, batch);
  }
}

void Batcher::execute(runtime::Executor& exec, std::vector<std::shared_ptr<Job>>& jobs) {
  const auto start = Clock::now();
  // Requests past their deadline are answered without running.
  std::vector<std::shared_ptr<Job>> live;
  for (auto& j : jobs) {
    if (start > j->deadline)
      j->answer({BatchResult::Outcome::timeout, "the time budget ran out in the queue", {}, 0, ms_between(j->submitted, start), 0});
    else
      live.push_back(j);
  }
  if (live.empty()) return;
  const auto fail_all = [&](const std::string& why) {
    for (auto& j : live) j->answer({BatchResult::Outcome::failed, why, {}, 0, ms_between(j->submitted, start), live.size()});
  };
  // Stack along axis 0 (a single request is passed as it is).
  std::vector<Tensor> stacked;
  std::vector<NamedTensorView> views;
  std::int64_t rows = 0;
  for (auto& j : live) rows += j->rows;
  if (live.size() == 1) {
    for (const auto& t : live[0]->inputs) views.push_back({t.name, t.tensor.view()});
  } else {
    for (std::size_t i = 0; i < live[0]->inputs.size(); ++i) {
      Shape shape = live[0]->inputs[i].tensor.shape();
      shape[0] = rows;
      auto t = Tensor::zeros(live[0]->inputs[i].tensor.dtype(), shape);
      if (!t.ok()) return fail_all(t.status().message());
      std::size_t offset = 0;
      for (auto& j : live) {
        const Tensor& part = j->inputs[i].tensor;
        std::memcpy(t->data() + offset, part.data(), part.byte_size());
        offset += part.byte_size();
      }
      stacked.push_back(std::move(t).value());
    }
    for (std::size_t i = 0; i < stacked.size(); ++i) views.push_back({live[0]->inputs[i].name, stacked[i].view()});
  }
  auto out = exec.run(views);
  const auto end = Clock::now();
  const double tail_ms = ms_between(start, end);
  if (on_batch_) on_batch_(live.size(), tail_ms / 1000.0);
  if (!out.ok()) return fail_all(out.status().message());
  // Split every output's rows among the requests.
  std::vector<BatchResult> results(live.size());
  for (std::size_t k = 0; k < live.size(); ++k) {
    results[k].tail_ms = tail_ms;
    results[k].queue_ms = ms_between(live[k]->submitted, start);
    results[k].batch_size = live.size();
  }
  for (const auto& o : *out) {
    const Tensor& t = o.tensor;
    if (t.rank() < 1 || t.shape()[0] != rows)
      return fail_all("tail output '" + o.name + "' has no batch dim of " + std::to_string(rows));
    const std::size_t row_bytes = rows ? t.byte_size() / static_cast<std::size_t>(rows) : 0;
    std::size_t offset = 0;
    for (std::size_t k = 0; k < live.size(); ++k) {
      Shape shape = t.shape();
      shape[0] = live[k]->rows;
      auto part = Tensor::zeros(t.dtype(), shape);
      if (!part.ok()) return fail_all(part.status().message());
      std::memcpy(part->data(), t.data() + offset, part->byte_size());
      offset += static_cast<std::size_t>(live[k]->rows) * row_bytes;
      results[k].outputs.push_back({o.name, std::move(part).value()});
    }
  }
  for (std::size_t k = 0; k < live.size(); ++k) live[k]->answer(std::move(results[k]));
}

Result<std::vector<std::uint8_t>> make_batch_dynamic(std::span<const std::uint8_t> bytes) {
  onnx::ModelProto model;
  if (bytes.size() > static_cast<std::size_t>(INT32_MAX) || !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return Status{StatusCode::bad_file, "not an ONNX model"};
  auto* g = model.mutable_graph();
  std::vector<std::string> initializers;
  for (const auto& t : g->initializer()) initializers.push_back(t.name());
  const auto dynamic = [](onnx::ValueInfoProto& v) {
    if (!v.type().has_tensor_type() || !v.type().tensor_type().has_shape()) return;
    auto* shape = v.mutable_type()->mutable_tensor_type()->mutable_shape();
    if (shape->dim_size() < 1) return;
    shape->mutable_dim(0)->set_dim_param("batch");
  };
  for (auto& v : *g->mutable_input())
    if (std::find(initializers.begin(), initializers.end(), v.name()) == initializers.end()) dynamic(v);
  for (auto& v : *g->mutable_output()) dynamic(v);
  g->clear_value_info();
  std::vector<std::uint8_t> out(model.ByteSizeLong());
  if (!model.SerializeToArray(out.data(), static_cast<int>(out.size())))
    return Status{StatusCode::internal, "cannot serialize the ONNX model"};
  return out;
}

Status check_batching(runtime::Executor& exec, const std::vector<std::pair<std::string, Shape>>& shapes,
                      double tolerance) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<Tensor> one[2], both;
  for (const auto& [name, shape] : shapes) {
    if (shape.empty() || shape[0] != 1) return Status{StatusCode::invalid_argument, "input '" + name + "' has no batch dim of 1"};
    for (auto& side : one) {
      FTC_ASSIGN_OR_RETURN(Tensor t, Tensor::zeros(DType::f32, shape));
      for (std::uint64_t i = 0; i < t.element_count(); ++i) t.data_as<float>()[i] = u(rng);
      side.push_back(std::move(t));
    }
    Shape two = shape;
    two[0] = 2;
    FTC_ASSIGN_OR_RETURN(Tensor t, Tensor::zeros(DType::f32, two));
    const std::size_t half = one[0].back().byte_size();
    std::memcpy(t.data(), one[0].back().data(), half);
    std::memcpy(t.data() + half, one[1].back().data(), half);
    both.push_back(std::move(t));
  }
  const auto views = [&](const std::vector<Tensor>& ts) {
    std::vector<NamedTensorView> v;
    for (std::size_t i = 0; i < ts.size(); ++i) v.push_back({shapes[i].first, ts[i].view()});
    return v;
  };
  FTC_ASSIGN_OR_RETURN(auto y0, exec.run(views(one[0])));
  FTC_ASSIGN_OR_RETURN(auto y1, exec.run(views(one[1])));
  FTC_ASSIGN_OR_RETURN(auto y, exec.run(views(both)));
  for (std::size_t k = 0; k < y.size(); ++k) {
    const Tensor& t = y[k].tensor;
    const std::uint64_t n = y0[k].tensor.element_count();
    if (t.element_count() != 2 * n || y1[k].tensor.element_count() != n)
      return Status{StatusCode::unsupported_feature, "output '" + y[k].name + "' does not grow with the batch"};
    double worst = 0, scale = 1;
    for (std::uint64_t i = 0; i < n; ++i) {
      const float a = y0[k].tensor.data_as<float>()[i], b = y1[k].tensor.data_as<float>()[i];
      scale = std::max({scale, double(std::fabs(a)), double(std::fabs(b))});
      worst = std::max({worst, double(std::fabs(t.data_as<float>()[i] - a)), double(std::fabs(t.data_as<float>()[n + i] - b))});
    }
    if (!(worst <= tolerance * scale))
      return Status{StatusCode::unsupported_feature, "output '" + y[k].name + "' of a batch of 2 differs from single runs by " +
                                                         std::to_string(worst)};
  }
  return Status::Ok();
}

}  // namespace ftc::server
