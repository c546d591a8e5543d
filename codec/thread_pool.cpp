// ThreadPool (include/ftc/ftc.hpp): a fixed set of workers and a queue of jobs.
//
// A call of run(n, …) is one job: an atomic index that the calling thread and up to
// max_threads − 1 workers take indices from until it reaches n, and a count of finished indices
// that the caller waits on. A worker that reaches the job after every index is taken returns at
// once without touching f; the job's state is shared-owned, so such a late worker never touches the
// caller's stack either.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "codec/parallel.hpp"

namespace ftc {
namespace {

struct Job {
  std::size_t n = 0;
  const std::function<void(std::size_t)>* f = nullptr;
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::mutex mutex;
  std::condition_variable finished;

  void work() {
    for (std::size_t i; (i = next.fetch_add(1)) < n;) {
      (*f)(i);
      if (done.fetch_add(1) + 1 == n) {
        std::lock_guard<std::mutex> lock(mutex);
        finished.notify_all();
      }
    }
  }
};

}  // namespace

struct ThreadPool::Impl {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::shared_ptr<Job>> queue;
  bool stopping = false;
  std::vector<std::thread> threads;
  std::atomic<std::uint64_t> started{0};

  void loop() {
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;  // stopping
        job = std::move(queue.front());
        queue.pop_front();
      }
      job->work();
    }
  }
};

ThreadPool::ThreadPool(int workers) : impl_(std::make_unique<Impl>()) {
  const int w = std::clamp(workers, 0, 256);
  impl_->threads.reserve(static_cast<std::size_t>(w));
  for (int i = 0; i < w; ++i) {
    impl_->threads.emplace_back([this] { impl_->loop(); });
    impl_->started.fetch_add(1);
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  for (auto& t : impl_->threads) t.join();
}

int ThreadPool::workers() const noexcept { return static_cast<int>(impl_->threads.size()); }
std::uint64_t ThreadPool::threads_started() const noexcept { return impl_->started.load(); }

void ThreadPool::run(std::size_t n, int max_threads, const std::function<void(std::size_t)>& f) {
  if (n == 0) return;
  auto job = std::make_shared<Job>();
  job->n = n;
  job->f = &f;
  const std::size_t helpers = std::min<std::size_t>({n - 1, impl_->threads.size(),
                                                     static_cast<std::size_t>(std::max(max_threads, 1) - 1)});
  if (helpers > 0) {
    {
      std::lock_guard<std::mutex> lock(impl_->mutex);
      for (std::size_t h = 0; h < helpers; ++h) impl_->queue.push_back(job);
    }
    if (helpers == 1) impl_->wake.notify_one();
    else impl_->wake.notify_all();
  }
  job->work();
  std::unique_lock<std::mutex> lock(job->mutex);
  job->finished.wait(lock, [&] { return job->done.load() == n; });
}

}  // namespace ftc
