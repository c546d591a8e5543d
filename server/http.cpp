#include "server/http.hpp"

#include <csignal>
#include <unistd.h>
#include <ctime>
#include <mutex>
#include <pthread.h>
#include <thread>

#include <httplib.h>

namespace ftc::server {
namespace {

std::mutex g_log_mutex;

// A value safe inside key=value: no spaces, quotes or control characters.
std::string log_value(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 2);
  bool quote = s.empty();
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      quote = true;
    } else if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      if (c == ' ' || c == '=') quote = true;
      out += static_cast<char>(c);
    }
  }
  return quote ? "\"" + out + "\"" : out;
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

HttpServer::HttpServer(Service& service, HttpOptions options)
    : service_(service), options_(std::move(options)), server_(std::make_unique<httplib::Server>()) {
  auto& s = *server_;
  const int workers = std::max(1, options_.workers);
  s.new_task_queue = [workers] { return new httplib::ThreadPool(static_cast<std::size_t>(workers)); };
  s.set_payload_max_length(static_cast<std::size_t>(2 * service_.options().max_body_bytes + 1));
  s.set_read_timeout(options_.read_timeout_s, 0);
  s.set_write_timeout(options_.write_timeout_s, 0);
  s.set_keep_alive_timeout(options_.keep_alive_timeout_s);
  // A proxy reuses its upstream connections: closing one after a few requests (httplib's default
  // is 5) races with the proxy's next request on it.
  s.set_keep_alive_max_count(1000000);
  s.set_tcp_nodelay(true);

  const auto infer = [this](const httplib::Request& req, httplib::Response& res) {
    const auto received = Clock::now();
    const std::string name = req.matches.size() > 1 ? req.matches[1].str() : std::string();
    const auto* data = reinterpret_cast<const std::uint8_t*>(req.body.data());
    Answer a = service_.infer({data, req.body.size()}, name, received);
    res.status = a.status;
    res.set_content(a.json(), "application/json");
    if (a.status == 503) res.set_header("Retry-After", "1");
    if (options_.log) {
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - received).count();
      char nums[200];
      std::snprintf(nums, sizeof nums, " bytes=%zu ms=%.3f decode_ms=%.3f tail_ms=%.3f batch=%zu class=%d", req.body.size(),
                    ms, a.decode_ms, a.tail_ms, a.batch_size, a.cls);
      std::string line = "ts=" + utc_now() + " remote=" + log_value(req.remote_addr) + " method=POST path=" +
                         log_value(req.path) + " status=" + std::to_string(a.status) + " kind=" + log_value(a.kind) +
                         " tail=" + log_value(a.tail) + nums;
      if (a.status != 200) line += " reason=" + log_value(a.reason);
      line += '\n';
      std::lock_guard lock(g_log_mutex);
      std::fwrite(line.data(), 1, line.size(), options_.log);
    }
  };
  s.Post("/v1/infer", infer);
  s.Post(R"(/v1/infer/([A-Za-z0-9._-]{1,64}))", infer);
  s.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    if (stopping_) {
      res.status = 503;
      res.set_content(R"({"status":"stopping"})", "application/json");
      return;
    }
    res.set_content(service_.health_json(), "application/json");
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(service_.metrics().text(), "text/plain; version=0.0.4");
  });
  // Unknown paths and transport-level refusals (413 from the payload cap, 400 from a bad request
  // line) get a JSON body with a reason too.
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const char* kind = res.status == 404 ? "not_found" : res.status == 413 ? "body_too_large" : "bad_request";
    const std::string reason = res.status == 404 ? "no such endpoint: " + req.method + " " + req.path
                               : res.status == 413 ? std::string("the body is over the transport's limit")
                                                   : "HTTP " + std::to_string(res.status);
    res.set_content(std::string(R"({"error":")") + kind + R"(","reason":")" + (res.status == 404 ? "no such endpoint" : reason) + "\"}",
                    "application/json");
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.status = 500;
    res.set_content(R"({"error":"internal","reason":"unexpected exception"})", "application/json");
  });
}

HttpServer::~HttpServer() { stop(); }

Result<int> HttpServer::bind() {
  int port = options_.port;
  if (port == 0) {
    port = server_->bind_to_any_port(options_.host);
    if (port <= 0) return Status{StatusCode::io_error, "cannot bind " + options_.host + " (any port)"};
  } else if (!server_->bind_to_port(options_.host, port)) {
    return Status{StatusCode::io_error, "cannot bind " + options_.host + ":" + std::to_string(port)};
  }
  options_.port = port;
  return port;
}

Status HttpServer::run() {
  if (stopping_) return Status::Ok();
  if (!server_->listen_after_bind() && !stopping_)
    return Status{StatusCode::io_error, "listening on " + options_.host + ":" + std::to_string(options_.port) + " failed"};
  return Status::Ok();
}

void HttpServer::stop() {
  stopping_ = true;
  server_->stop();
}

namespace {
sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}
}  // namespace

void block_stop_signals() {
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

SignalStopper::SignalStopper(HttpServer& server)
    : thread_([this, &server] {
        const sigset_t set = stop_signals();
        int sig = 0;
        sigwait(&set, &sig);
        if (done_) return;
        signalled_ = true;
        while (!done_) {
          server.stop();
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }) {}

SignalStopper::~SignalStopper() {
  done_ = true;
  // Wakes the waiting thread (the signal is blocked everywhere, so sigwait takes it).
  if (!signalled_) kill(getpid(), SIGTERM);
  thread_.join();
}

}  // namespace ftc::server
