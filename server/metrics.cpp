#include "server/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

namespace ftc::server {
namespace {

std::vector<double> latency_bounds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}
std::vector<double> batch_bounds() { return {1, 2, 4, 8, 16, 32, 64, 128}; }

std::string number(double v) {
  if (std::isinf(v)) return "+Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// A label value with \, " and newline escaped as the exposition format requires.
std::string label_value(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::uint64_t rss_of(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) {
      unsigned long long kb = 0;
      if (std::sscanf(line.c_str() + 6, "%llu", &kb) == 1) return kb * 1024;
    }
  return 0;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::write(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  std::uint64_t cum = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cum += counts_[i];
    const double le = i < bounds_.size() ? bounds_[i] : INFINITY;
    out += name + "_bucket{" + labels + sep + "le=\"" + number(le) + "\"} " + std::to_string(cum) + "\n";
  }
  out += name + "_sum" + (labels.empty() ? "" : "{" + labels + "}") + " " + number(sum_) + "\n";
  out += name + "_count" + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(count_) + "\n";
}

Metrics::Metrics() : decode_(latency_bounds()) {}

void Metrics::request(const std::string& tail, int status, const std::string& kind, double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{tail, status}];
  if (kind != "ok") ++errors_[kind];
  latency_.try_emplace(tail, latency_bounds()).first->second.observe(seconds);
}

void Metrics::decode_seconds(double s) {
  std::lock_guard lock(mu_);
  decode_.observe(s);
}

void Metrics::tail_seconds(const std::string& tail, double s) {
  std::lock_guard lock(mu_);
  tail_.try_emplace(tail, latency_bounds()).first->second.observe(s);
}

void Metrics::batch(const std::string& tail, std::size_t size) {
  std::lock_guard lock(mu_);
  batch_.try_emplace(tail, batch_bounds()).first->second.observe(static_cast<double>(size));
}

void Metrics::inflight(int delta) {
  std::lock_guard lock(mu_);
  inflight_ += delta;
}

std::uint64_t Metrics::requests_with_status(int status) const {
  std::lock_guard lock(mu_);
  std::uint64_t n = 0;
  for (const auto& [key, count] : requests_)
    if (key.second == status) n += count;
  return n;
}

std::string Metrics::text() const {
  std::string out;
  std::lock_guard lock(mu_);
  out += "# HELP ftc_requests_total Inference requests answered, by tail and HTTP status.\n";
  out += "# TYPE ftc_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out += "ftc_requests_total{tail=\"" + label_value(key.first) + "\",code=\"" + std::to_string(key.second) + "\"} " +
           std::to_string(n) + "\n";
  out += "# HELP ftc_errors_total Inference requests refused, by kind (the reason's code).\n";
  out += "# TYPE ftc_errors_total counter\n";
  for (const auto& [kind, n] : errors_)
    out += "ftc_errors_total{kind=\"" + label_value(kind) + "\"} " + std::to_string(n) + "\n";
  out += "# HELP ftc_request_duration_seconds Time from the body's arrival to the answer.\n";
  out += "# TYPE ftc_request_duration_seconds histogram\n";
  for (const auto& [tail, h] : latency_) h.write(out, "ftc_request_duration_seconds", "tail=\"" + label_value(tail) + "\"");
  out += "# HELP ftc_decode_duration_seconds Frame decoding time.\n";
  out += "# TYPE ftc_decode_duration_seconds histogram\n";
  decode_.write(out, "ftc_decode_duration_seconds", "");
  out += "# HELP ftc_tail_duration_seconds Tail run time of one batch.\n";
  out += "# TYPE ftc_tail_duration_seconds histogram\n";
  for (const auto& [tail, h] : tail_) h.write(out, "ftc_tail_duration_seconds", "tail=\"" + label_value(tail) + "\"");
  out += "# HELP ftc_batch_size Requests per tail run.\n";
  out += "# TYPE ftc_batch_size histogram\n";
  for (const auto& [tail, h] : batch_) h.write(out, "ftc_batch_size", "tail=\"" + label_value(tail) + "\"");
  out += "# HELP ftc_inflight_requests Inference requests being served.\n";
  out += "# TYPE ftc_inflight_requests gauge\n";
  out += "ftc_inflight_requests " + std::to_string(inflight_) + "\n";
  out += "# HELP process_resident_memory_bytes Resident memory size in bytes.\n";
  out += "# TYPE process_resident_memory_bytes gauge\n";
  out += "process_resident_memory_bytes " + std::to_string(resident_memory_bytes()) + "\n";
  return out;
}

std::uint64_t resident_memory_bytes() { return rss_of("/proc/self/status"); }
std::uint64_t resident_memory_bytes(long pid) { return rss_of("/proc/" + std::to_string(pid) + "/status"); }

}  // namespace ftc::server
