#include "server/client.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "runtime/baselines.hpp"
#include "server/batcher.hpp"

namespace ftc::server {
namespace {

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

}  // namespace

Result<Url> parse_url(const std::string& url) {
  const auto bad = [&](const char* why) { return Status{StatusCode::invalid_argument, "server URL '" + url + "': " + why}; };
  std::string rest = url;
  if (rest.rfind("https://", 0) == 0) return bad("https is not supported (put TLS in front, e.g. nginx)");
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  const auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash);
  if (hostport.empty()) return bad("no host");
  const auto colon = hostport.rfind(':');
  if (colon == std::string::npos || colon + 1 == hostport.size()) return bad("no port (http://HOST:PORT)");
  for (std::size_t i = colon + 1; i < hostport.size(); ++i)
    if (hostport[i] < '0' || hostport[i] > '9') return bad("the port is not a number");
  if (path.empty() || path == "/") path = "/v1/infer";
  return Url{"http://" + hostport, path};
}

struct HttpClient::Impl {
  Url url;
  double uplink_bps = 0;
  httplib::Client client;
  Impl(const Url& u, double bps, double timeout_s) : url(u), uplink_bps(bps), client(u.base) {
    const auto sec = static_cast<time_t>(timeout_s);
    const auto usec = static_cast<time_t>((timeout_s - static_cast<double>(sec)) * 1e6);
    client.set_connection_timeout(sec, usec);
    client.set_read_timeout(sec, usec);
    client.set_write_timeout(sec, usec);
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);
  }
};

HttpClient::HttpClient(const Url& url, double uplink_bps, double timeout_s)
    : impl_(std::make_unique<Impl>(url, uplink_bps, timeout_s)) {}
HttpClient::~HttpClient() = default;

std::pair<int, std::string> HttpClient::get(const std::string& path) {
  auto res = impl_->client.Get(path);
  if (!res) return {0, ""};
  return {res->status, res->body};
}

ServerAnswer HttpClient::post(std::span<const std::uint8_t> body, const std::string& path) {
  ServerAnswer a;
  const double bps = impl_->uplink_bps;
  // Chunk: 4 KiB, or what the link sends in 10 ms when that is less (at least 64 bytes).
  std::size_t chunk = 4096;
  if (bps > 0) chunk = std::clamp<std::size_t>(static_cast<std::size_t>(bps / 8 * 0.010), 64, 4096);
  const auto start = Clock::now();
  Clock::time_point first{}, last{};
  httplib::Result res = [&] {
    if (bps <= 0) {
      first = Clock::now();
      auto r = impl_->client.Post(path.empty() ? impl_->url.path : path,
                                  std::string(reinterpret_cast<const char*>(body.data()), body.size()), "application/octet-stream");
      last = first;
      return r;
    }
    return impl_->client.Post(
        path.empty() ? impl_->url.path : path, body.size(),
        [&](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
          if (offset == 0) first = Clock::now();
          const std::size_t n = std::min({chunk, length, body.size() - offset});
          // Not before t0 + 8·(offset + n)/rate.
          const auto due = first + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(8.0 * static_cast<double>(offset + n) / bps));
          std::this_thread::sleep_until(due);
          const bool ok = sink.write(reinterpret_cast<const char*>(body.data()) + offset, n);
          last = Clock::now();
          return ok;
        },
        "application/octet-stream");
  }();
  a.round_trip_ms = ms_since(start);
  a.upload_ms = std::chrono::duration<double, std::milli>(last - first).count();
  if (!res) {
    switch (res.error()) {
      case httplib::Error::Connection: a.error = "cannot connect"; break;
      case httplib::Error::ConnectionTimeout: a.error = "connection timed out"; break;
      case httplib::Error::Read: a.error = "reading the answer failed"; break;
      case httplib::Error::Write: a.error = "sending the frame failed"; break;
      case httplib::Error::Canceled: a.error = "canceled"; break;
      default: a.error = "HTTP error: " + httplib::to_string(res.error()); break;
    }
    return a;
  }
  a.status = res->status;
  nlohmann::json j = nlohmann::json::parse(res->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    a.error = "bad_answer";
    a.reason = "the answer is not a JSON object";
    return a;
  }
  try {
    if (a.status == 200) {
      a.cls = j.at("class").get<int>();
      a.scores = j.at("scores").get<std::vector<float>>();
      a.decode_ms = j.value("decode_ms", 0.0);
      a.tail_ms = j.value("tail_ms", 0.0);
      a.queue_ms = j.value("queue_ms", 0.0);
      a.batch = j.value("batch", std::size_t{0});
      a.tail = j.value("tail", std::string());
    } else {
      a.error = j.value("error", std::string());
      a.reason = j.value("reason", std::string());
    }
  } catch (const nlohmann::json::exception& e) {
    a.error = "bad_answer";
    a.reason = e.what();
  }
  return a;
}

Result<std::unique_ptr<DeviceClient>> DeviceClient::create(const std::string& head, const EncoderOptions& options,
                                                           const Url& url, double uplink_bps) {
  FTC_RETURN_IF_ERROR(options.validate());
  std::unique_ptr<DeviceClient> c(new DeviceClient());
  FTC_ASSIGN_OR_RETURN(c->head_, runtime::make_opencv_executor(head));
  c->encoder_ = Encoder(options);
  c->url_ = url;
  c->http_ = std::make_unique<HttpClient>(url, uplink_bps);
  return c;
}

DeviceClient::~DeviceClient() = default;

Result<std::unique_ptr<DeviceClient>> DeviceClient::create_cloud(const Url& url, double uplink_bps) {
  std::unique_ptr<DeviceClient> c(new DeviceClient());
  c->url_ = url;
  c->http_ = std::make_unique<HttpClient>(url, uplink_bps);
  return c;
}

const std::vector<std::string>& DeviceClient::input_names() const {
  static const std::vector<std::string> none;
  return head_ ? head_->input_names() : none;
}

Result<Prediction> DeviceClient::infer_image(const Tensor& image, int jpeg_quality) {
  if (image.dtype() != DType::u8 || image.rank() != 3 || (image.shape()[0] != 1 && image.shape()[0] != 3))
    return Status{StatusCode::invalid_argument, "cloud-only: the image must be u8 (C, H, W) with 1 or 3 channels"};
  Prediction p;
  const auto t0 = Clock::now();
  // The cloud-only baselines' codec (ftc eval, ftc plan): the same PNG/JPEG bytes they measure.
  const auto codec = runtime::make_image_codec({"image", image.shape()},
                                               jpeg_quality > 0 ? runtime::tile::ImageCodec::jpeg : runtime::tile::ImageCodec::png,
                                               jpeg_quality);
  const NamedTensorView view{"image", image.view()};
  FTC_ASSIGN_OR_RETURN(auto body, codec->encode({&view, 1}));
  p.timing.encode_ms = ms_since(t0);
  send(body, t0, p);
  return p;
}

void DeviceClient::send(const std::vector<std::uint8_t>& body, std::chrono::steady_clock::time_point t0, Prediction& p) {
  p.frame_bytes = body.size();
  p.answer = http_->post(body);
  p.timing.server_ms = p.answer.decode_ms + p.answer.queue_ms + p.answer.tail_ms;
  // Transfer: the round trip less the server's own time (upload, answer, HTTP handling).
  p.timing.transfer_ms = std::max(0.0, p.answer.round_trip_ms - p.timing.server_ms);
  p.timing.total_ms = ms_since(t0);
}

Result<std::vector<std::uint8_t>> DeviceClient::frame_of(const TensorView& input, double* head_ms, double* encode_ms) {
  if (!head_) return Status{StatusCode::invalid_argument, "a cloud-only client has no head"};
  if (head_->input_names().size() != 1)
    return Status{StatusCode::invalid_argument, "the head has " + std::to_string(head_->input_names().size()) +
                                                    " inputs; one is supported"};
  auto t0 = Clock::now();
  FTC_ASSIGN_OR_RETURN(auto cut, head_->run({{head_->input_names()[0], input}}));
  if (head_ms) *head_ms = ms_since(t0);
  t0 = Clock::now();
  std::vector<NamedTensorView> views;
  for (const auto& t : cut) views.push_back({t.name, t.tensor.view()});
  FTC_ASSIGN_OR_RETURN(auto frame, encoder_.encode(views));
  if (encode_ms) *encode_ms = ms_since(t0);
  return frame;
}

Result<Prediction> DeviceClient::infer(const TensorView& input) {
  Prediction p;
  const auto t0 = Clock::now();
  FTC_ASSIGN_OR_RETURN(auto frame, frame_of(input, &p.timing.head_ms, &p.timing.encode_ms));
  send(frame, t0, p);
  return p;
}

}  // namespace ftc::server
