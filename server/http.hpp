// The HTTP/1.1 face of the service (Debian's cpp-httplib):
//   POST /v1/infer          body = one ftc frame → Answer::json(), status as the Answer says
//   POST /v1/infer/<name>   the same, with the tail named
//   GET  /healthz           200 Service::health_json() (503 {"status":"stopping"} once stopping)
//   GET  /metrics           Prometheus text (server/metrics.hpp)
// A fixed pool of `workers` threads serves connections (a connection holds its worker while it
// is kept alive); bodies over 2 × max_body_bytes are cut off by the transport (413), smaller
// ones reach the service, which answers 413 with a reason above max_body_bytes. One log line per
// request on stderr, key=value. stop() stops accepting, lets in-flight requests finish, then
// returns from run().
#pragma once

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "ftc/ftc.hpp"
#include "server/service.hpp"

namespace httplib {
class Server;
}

namespace ftc::server {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 0;                  // 0: any free port (bind() returns it)
  int workers = 64;
  int read_timeout_s = 10;
  int write_timeout_s = 10;
  int keep_alive_timeout_s = 2;  // an idle kept-alive connection delays stop() by up to this
  std::FILE* log = stderr;       // nullptr: no request log
};

class HttpServer {
 public:
  HttpServer(Service& service, HttpOptions options);
  ~HttpServer();
  // Binds; returns the port. io_error naming the address when it cannot.
  Result<int> bind();
  // Serves until stop(); returns after in-flight requests finished.
  Status run();
  // Thread-safe; may be called before run() or from a signal-watching thread.
  void stop();
  bool stopping() const { return stopping_; }

 private:
  Service& service_;
  HttpOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::atomic<bool> stopping_{false};
};

// Blocks SIGTERM and SIGINT in the calling thread and so in every thread it starts afterwards:
// call first, before any thread exists, so that no thread is killed by them.
void block_stop_signals();
// While alive, a thread waits for SIGTERM or SIGINT (blocked by block_stop_signals) and then
// calls `server.stop()` until the object is destroyed (a stop that lands before the listener
// runs is not lost): the server stops accepting and run() returns once in-flight requests
// finished. Destroy it after run() returned and before the server.
class SignalStopper {
 public:
  explicit SignalStopper(HttpServer& server);
  ~SignalStopper();
  SignalStopper(const SignalStopper&) = delete;
  SignalStopper& operator=(const SignalStopper&) = delete;
  bool signalled() const { return signalled_; }

 private:
  std::atomic<bool> done_{false}, signalled_{false};
  std::thread thread_;
};

}  // namespace ftc::server
