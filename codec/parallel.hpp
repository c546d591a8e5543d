// Chunk-level parallelism on a ThreadPool (include/ftc/ftc.hpp). The outcome never depends on
// scheduling: the first failing Status in index order is returned.
#pragma once

#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "ftc/ftc.hpp"

namespace ftc {
namespace detail {

// The pool an encoder or decoder codes on: the caller's, or one it makes once at first use with
// `threads − 1` workers (the calling thread is the other one) and keeps for its lifetime.
struct PoolSlot {
  std::mutex mutex;
  std::shared_ptr<ThreadPool> pool;

  // The pool for a call that may use `threads` threads; nullptr when threads ≤ 1.
  std::shared_ptr<ThreadPool> get(int threads) {
    if (threads <= 1) return nullptr;
    std::lock_guard<std::mutex> lock(mutex);
    if (!pool) pool = std::make_shared<ThreadPool>(threads - 1);
    return pool;
  }
};

}  // namespace detail

// Runs f(i) → Status for i in [0, n) on `pool` (nullptr: the calling thread only) with at most
// `threads` threads; returns the first failure in index order.
template <class F>
Status parallel_for(ThreadPool* pool, std::size_t n, int threads, F&& f) {
  if (!pool || threads <= 1 || n <= 1) {
    for (std::size_t i = 0; i < n; ++i) {
      Status s = f(i);
      if (!s.ok()) return s;
    }
    return {};
  }
  std::vector<Status> results(n);
  pool->run(n, threads, [&](std::size_t i) {
    try {
      results[i] = f(i);
    } catch (const std::bad_alloc&) {
      results[i] = Status{StatusCode::out_of_memory, "out of memory"};
    }
  });
  for (auto& s : results)
    if (!s.ok()) return s;
  return {};
}

}  // namespace ftc
