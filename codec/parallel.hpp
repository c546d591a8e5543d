// Runs f(i) for i in [0, n) on up to `threads` threads (the caller's included) and returns the
// first failing Status in index order, so the outcome does not depend on scheduling.
#pragma once

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "ftc/ftc.hpp"

namespace ftc {

template <class F>
Status parallel_for(std::size_t n, int threads, F&& f) {
  std::vector<Status> results(n);
  const std::size_t workers = std::min<std::size_t>(n, threads < 1 ? 1 : static_cast<std::size_t>(threads));
  if (workers <= 1) {
    for (std::size_t i = 0; i < n; ++i) {
      Status s = f(i);
      if (!s.ok()) return s;
    }
    return {};
  }
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < n;) results[i] = f(i);
  };
  std::vector<std::jthread> pool;
  for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  pool.clear();  // joins
  for (auto& s : results)
    if (!s.ok()) return s;
  return {};
}

}  // namespace ftc
