// Prometheus text exposition (format 0.0.4) of the server's counters: requests by status and
// error kind, latency histograms (whole request, decode, tail), the tail's batch sizes, requests in
// flight, and the process's resident memory. Thread-safe; every update is a short critical section.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace ftc::server {

// Cumulative histogram over fixed upper bounds (le), with +Inf, sum and count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  // Lines "<name>_bucket{<labels>le="…"} n", "_sum", "_count"; `labels` without braces, may be "".
  void write(std::string& out, const std::string& name, const std::string& labels) const;
  std::uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bucket, not cumulative; last = +Inf
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  // One finished request: HTTP status, error kind ("ok" for a success), seconds end to end.
  void request(const std::string& tail, int status, const std::string& kind, double seconds);
  void decode_seconds(double s);
  void tail_seconds(const std::string& tail, double s);
  void batch(const std::string& tail, std::size_t size);
  void inflight(int delta);
  // The exposition text.
  std::string text() const;
  // Requests counted so far with this status (all tails and kinds).
  std::uint64_t requests_with_status(int status) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;  // (tail, status)
  std::map<std::string, std::uint64_t> errors_;                    // kind
  std::map<std::string, Histogram> latency_, tail_, batch_;        // by tail
  Histogram decode_;
  std::int64_t inflight_ = 0;
};

// VmRSS of /proc/self/status in bytes (0 when unreadable).
std::uint64_t resident_memory_bytes();
// VmRSS of /proc/PID/status in bytes (0 when unreadable).
std::uint64_t resident_memory_bytes(long pid);

}  // namespace ftc::server
