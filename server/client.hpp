// The device side of split inference: head (ONNX, OpenCV DNN) → encode (ftc::Encoder, codec
// options or a codec model) → POST /v1/infer, with the upload optionally throttled to a link
// rate → the server's answer; or cloud-only: the input image as PNG/JPEG → POST. Times every stage.
//
// The throttle is a token bucket with no burst on the sending side: chunk k of the body (4 KiB
// at most, smaller when 4 KiB would take over 10 ms) is written no earlier than
// t0 + 8 · (bytes up to and including chunk k) / rate, so the upload of n bytes takes at least
// 8n / rate seconds whatever the socket buffers absorb.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ftc/ftc.hpp"
#include "runtime/executor.hpp"

namespace ftc::server {

// "http://host:port[/path]" → base "http://host:port" and path ("/v1/infer" when none).
struct Url {
  std::string base;
  std::string path;
};
Result<Url> parse_url(const std::string& url);

struct ServerAnswer {
  int status = 0;              // HTTP status; 0 when the request did not complete
  std::string error;           // transport error, or the server's error kind
  std::string reason;          // the server's reason
  int cls = -1;
  std::vector<float> scores;
  double decode_ms = 0, tail_ms = 0, queue_ms = 0;
  std::size_t batch = 0;
  std::string tail;            // the tail that answered
  double round_trip_ms = 0;    // POST start to answer parsed
  double upload_ms = 0;        // first to last body byte handed to the socket
};

class HttpClient {
 public:
  // `uplink_bps` 0: no throttle.
  HttpClient(const Url& url, double uplink_bps = 0, double timeout_s = 30);
  ~HttpClient();
  ServerAnswer post(std::span<const std::uint8_t> body, const std::string& path = "");
  // GET; status 0 and empty body on a transport error.
  std::pair<int, std::string> get(const std::string& path);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct Timing {
  double head_ms = 0, encode_ms = 0, transfer_ms = 0, server_ms = 0, total_ms = 0;
};

struct Prediction {
  ServerAnswer answer;
  Timing timing;
  std::size_t frame_bytes = 0;
};

class DeviceClient {
 public:
  // `head`: the head ONNX file. The encoder's options (with or without a codec model) as given.
  static Result<std::unique_ptr<DeviceClient>> create(const std::string& head, const EncoderOptions& options,
                                                      const Url& url, double uplink_bps = 0);
  ~DeviceClient();
  const std::vector<std::string>& input_names() const;
  // The head on one preprocessed input (f32, the head's input shape), encode, send. Fails on a
  // head or encoder error; a server error or transport failure is in answer.status / error.
  Result<Prediction> infer(const TensorView& input);
  // Cloud-only (no head): the input image, u8 planar (C, H, W) with C 1 or 3, coded as PNG
  // (`jpeg_quality` 0) or as JPEG at that quality, sent for an --image-model of ftc serve.
  // encode_ms is the image coding; head_ms is 0.
  static Result<std::unique_ptr<DeviceClient>> create_cloud(const Url& url, double uplink_bps = 0);
  Result<Prediction> infer_image(const Tensor& image, int jpeg_quality = 0);
  // The head then encode only (what infer sends).
  Result<std::vector<std::uint8_t>> frame_of(const TensorView& input, double* head_ms = nullptr,
                                             double* encode_ms = nullptr);

 private:
  DeviceClient() = default;
  // POST `body`; fills the answer, frame_bytes, and the server, transfer and total (since t0) times.
  void send(const std::vector<std::uint8_t>& body, std::chrono::steady_clock::time_point t0, Prediction& p);
  std::unique_ptr<runtime::Executor> head_;
  Encoder encoder_;
  std::unique_ptr<HttpClient> http_;
  Url url_;
};

}  // namespace ftc::server
