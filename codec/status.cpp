#include "ftc/ftc.hpp"

namespace ftc {

const char* status_code_name(StatusCode code) noexcept {
  switch (code) {
    case StatusCode::ok: return "ok";
    case StatusCode::invalid_argument: return "invalid argument";
    case StatusCode::buffer_too_small: return "buffer too small";
    case StatusCode::unsupported_option: return "unsupported option";
    case StatusCode::corrupt: return "corrupt stream";
    case StatusCode::truncated: return "truncated stream";
    case StatusCode::checksum_mismatch: return "checksum mismatch";
    case StatusCode::unsupported_version: return "unsupported format version";
    case StatusCode::limit_exceeded: return "limit exceeded";
    case StatusCode::model_mismatch: return "codec model mismatch";
    case StatusCode::unsupported_feature: return "unsupported feature";
    case StatusCode::bad_file: return "bad file";
    case StatusCode::io_error: return "i/o error";
    case StatusCode::out_of_memory: return "out of memory";
    case StatusCode::internal: return "internal error";
  }
  return "unknown status";
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  return std::string(status_code_name(code_)) + ": " + message_;
}

const char* version_string() noexcept {
#ifdef FTC_VERSION_STRING
  return FTC_VERSION_STRING;
#else
  return "unknown";
#endif
}

const char* quantizer_name(QuantizerKind k) noexcept {
  switch (k) {
    case QuantizerKind::lossless: return "lossless";
    case QuantizerKind::uniform: return "uniform";
    case QuantizerKind::cast_f16: return "cast-f16";
    case QuantizerKind::cast_bf16: return "cast-bf16";
    case QuantizerKind::nonuniform: return "nonuniform";
  }
  return "unknown";
}

const char* coder_name(CoderKind k) noexcept {
  switch (k) {
    case CoderKind::raw: return "raw";
    case CoderKind::zstd: return "zstd";
    case CoderKind::rans: return "rans";
    case CoderKind::adaptive: return "adaptive";
    case CoderKind::rans_wide: return "rans-wide";
    case CoderKind::context_rans: return "context-rans";
  }
  return "unknown";
}

std::optional<CoderKind> coder_from_name(std::string_view s) noexcept {
  if (s == "raw") return CoderKind::raw;
  if (s == "zstd") return CoderKind::zstd;
  if (s == "rans") return CoderKind::rans;
  if (s == "adaptive") return CoderKind::adaptive;
  if (s == "rans-wide") return CoderKind::rans_wide;
  if (s == "context-rans") return CoderKind::context_rans;
  return std::nullopt;
}

}  // namespace ftc
