// The encoder's option table (include/ftc/ftc.hpp EncoderParamSpec): the one place that knows each
// option's name, range and value names.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "ftc/ftc.hpp"

namespace ftc {
namespace {

constexpr std::int64_t kLanes[] = {0, 32, 64, 128};
constexpr const char* kQuantizerNames[] = {"lossless", "uniform", "f16", "bf16"};
constexpr const char* kCoderNames[] = {"raw", "zstd", "rans", "adaptive", "rans-wide", "context-rans"};
constexpr const char* kLayoutNames[] = {"unspecified", "nchw", "nhwc"};
constexpr const char* kOffOn[] = {"off", "on"};

// Chunk sizes above 2^62 elements cannot be declared by any frame (docs/format.md §3 dims ≤ 2^48).
constexpr std::int64_t kMaxChunkElements = std::int64_t{1} << 62;

const EncoderParamSpec kParams[] = {
    {EncoderParam::quantizer, "quantizer", 0, 3, {}, kQuantizerNames,
     "lossless: every bit; uniform: n-bit affine; f16/bf16: 16-bit float cast"},
    {EncoderParam::bits, "bits", 1, 16, {}, {}, "uniform quantizer: bits per element"},
    {EncoderParam::channel_axis, "per-channel", -kMaxRank, kMaxRank - 1, {}, {},
     "uniform quantizer: one range per index of this axis (negative counts from the end), or none"},
    {EncoderParam::coder, "coder", 0, 5, {}, kCoderNames,
     "symbol coder (rans-wide: rans with 64 or 128 states, format 1.2; context-rans: one state, format 1.3)"},
    {EncoderParam::zstd_level, "level", -7, 22, {}, {}, "zstd level"},
    {EncoderParam::chunk_elements, "chunk-elements", 0, kMaxChunkElements, {}, {},
     "elements per chunk (0: automatic)"},
    {EncoderParam::chunk_checksums, "chunk-checksums", 0, 1, {}, kOffOn, "a checksum after every chunk"},
    {EncoderParam::threads, "threads", 1, 256, {}, {}, "threads coding chunks"},
    {EncoderParam::layout, "layout", 0, 2, {}, kLayoutNames, "informative dims layout"},
    {EncoderParam::rans_lanes, "lanes", 0, 128, kLanes, {},
     "rans interleaved states: 0 automatic, 32 (format 1.0), 64 or 128 (format 1.2)"},
};

struct Alias {
  std::string_view name;
  EncoderParam id;
};
constexpr Alias kAliases[] = {{"channel-axis", EncoderParam::channel_axis},
                              {"zstd-level", EncoderParam::zstd_level},
                              {"rans-lanes", EncoderParam::rans_lanes},
                              {"cast", EncoderParam::quantizer}};

std::string range_text(const EncoderParamSpec& p) {
  std::string s;
  if (!p.names.empty()) {
    for (std::size_t i = 0; i < p.names.size(); ++i) s += (i ? ", " : "") + std::string(p.names[i]);
    return s;
  }
  if (!p.only.empty()) {
    for (std::size_t i = 0; i < p.only.size(); ++i) s += (i ? ", " : "") + std::to_string(p.only[i]);
    return s;
  }
  return std::to_string(p.min) + ".." + std::to_string(p.max);
}

Status bad_value(const EncoderParamSpec& p, std::string_view value) {
  return {StatusCode::invalid_argument,
          std::string(p.name) + " must be " + range_text(p) + ", got '" + std::string(value) + "'"};
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(std::string_view s) {
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

std::span<const EncoderParamSpec> encoder_params() noexcept { return kParams; }

const EncoderParamSpec& encoder_param(EncoderParam id) noexcept {
  return kParams[static_cast<int>(id) - 1];
}

const EncoderParamSpec* find_encoder_param(std::string_view name) noexcept {
  for (const auto& p : kParams)
    if (name == p.name) return &p;
  for (const auto& a : kAliases)
    if (name == a.name) return &encoder_param(a.id);
  return nullptr;
}

Status check_encoder_param(EncoderParam id, std::int64_t value) {
  const EncoderParamSpec& p = encoder_param(id);
  if (id == EncoderParam::channel_axis && value == kNoChannelAxis) return {};
  bool ok = value >= p.min && value <= p.max;
  if (ok && !p.only.empty()) {
    ok = false;
    for (auto v : p.only) ok = ok || v == value;
  }
  if (ok) return {};
  return bad_value(p, std::to_string(value));
}

Status set_encoder_param(EncoderOptions& o, EncoderParam id, std::int64_t v) {
  FTC_RETURN_IF_ERROR(check_encoder_param(id, v));
  switch (id) {
    case EncoderParam::quantizer: o.quantizer = static_cast<QuantizerKind>(v); break;
    case EncoderParam::bits: o.bits = static_cast<int>(v); break;
    case EncoderParam::channel_axis:
      if (v == kNoChannelAxis) o.channel_axis.reset();
      else o.channel_axis = static_cast<int>(v);
      break;
    case EncoderParam::coder: o.coder = static_cast<CoderKind>(v); break;
    case EncoderParam::zstd_level: o.zstd_level = static_cast<int>(v); break;
    case EncoderParam::chunk_elements: o.chunk_elements = static_cast<std::uint64_t>(v); break;
    case EncoderParam::chunk_checksums: o.chunk_checksums = v == 1; break;
    case EncoderParam::threads: o.threads = static_cast<int>(v); break;
    case EncoderParam::layout: o.layout = static_cast<Layout>(v); break;
    case EncoderParam::rans_lanes: o.rans_lanes = static_cast<int>(v); break;
  }
  return {};
}

std::int64_t get_encoder_param(const EncoderOptions& o, EncoderParam id) noexcept {
  switch (id) {
    case EncoderParam::quantizer: return static_cast<std::int64_t>(o.quantizer);
    case EncoderParam::bits: return o.bits;
    case EncoderParam::channel_axis: return o.channel_axis ? *o.channel_axis : kNoChannelAxis;
    case EncoderParam::coder: return static_cast<std::int64_t>(o.coder);
    case EncoderParam::zstd_level: return o.zstd_level;
    case EncoderParam::chunk_elements:
      return o.chunk_elements > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                 ? std::numeric_limits<std::int64_t>::max()
                 : static_cast<std::int64_t>(o.chunk_elements);
    case EncoderParam::chunk_checksums: return o.chunk_checksums ? 1 : 0;
    case EncoderParam::threads: return o.threads;
    case EncoderParam::layout: return static_cast<std::int64_t>(o.layout);
    case EncoderParam::rans_lanes: return o.rans_lanes;
  }
  return 0;
}

Status set_encoder_option(EncoderOptions& o, std::string_view name, std::string_view value) {
  if (name == "clip") {
    if (value == "none") {
      o.clip_lo.reset();
      o.clip_hi.reset();
      return {};
    }
    const auto comma = value.find(',');
    const auto lo = comma == std::string_view::npos ? std::nullopt : parse_double(value.substr(0, comma));
    const auto hi = comma == std::string_view::npos ? std::nullopt : parse_double(value.substr(comma + 1));
    if (!lo || !hi || !(*lo <= *hi))
      return {StatusCode::invalid_argument, "clip must be LO,HI with LO <= HI, or none; got '" + std::string(value) + "'"};
    o.clip_lo = *lo;
    o.clip_hi = *hi;
    return {};
  }
  const EncoderParamSpec* p = find_encoder_param(name);
  if (!p) {
    std::string known = "clip";
    for (const auto& q : kParams) known += std::string(", ") + q.name;
    return {StatusCode::invalid_argument, "unknown encoder option '" + std::string(name) + "' (" + known + ")"};
  }
  for (std::size_t i = 0; i < p->names.size(); ++i)
    if (value == p->names[i]) return set_encoder_param(o, p->id, static_cast<std::int64_t>(i));
  if (p->id == EncoderParam::quantizer) {
    // The stream's own names (quantizer_name) are accepted too: "cast-f16", "cast-bf16".
    for (int k = 0; k <= 3; ++k)
      if (value == quantizer_name(static_cast<QuantizerKind>(k))) return set_encoder_param(o, p->id, k);
  }
  if (p->id == EncoderParam::channel_axis && value == "none") return set_encoder_param(o, p->id, kNoChannelAxis);
  const auto v = parse_int(value);
  if (!v) return bad_value(*p, value);
  if (!p->names.empty() && p->id != EncoderParam::chunk_checksums) return bad_value(*p, value);
  return set_encoder_param(o, p->id, *v);
}

Status EncoderOptions::validate() const {
  for (const auto& p : kParams) {
    if (p.id == EncoderParam::bits && quantizer != QuantizerKind::uniform) continue;
    FTC_RETURN_IF_ERROR(check_encoder_param(p.id, get_encoder_param(*this, p.id)));
  }
  if (clip_lo.has_value() != clip_hi.has_value())
    return {StatusCode::invalid_argument, "give both ends of the clip range or neither"};
  if (clip_lo && !(std::isfinite(*clip_lo) && std::isfinite(*clip_hi) && *clip_lo <= *clip_hi))
    return {StatusCode::invalid_argument, "clip range must be finite with lo <= hi"};
  if (codec_model && (rate_point < 0 || rate_point >= 16))
    return {StatusCode::invalid_argument, "rate point must be 0..15, got " + std::to_string(rate_point)};
  if (coder == CoderKind::rans_wide && rans_lanes == 32)
    return {StatusCode::invalid_argument, "rans-wide runs 64 or 128 lanes (32 lanes is coder rans)"};
  return {};
}

Status check_encoder_settings_agree(std::span<const std::pair<std::string, std::string>> settings,
                                    std::span<const std::string> free) {
  // The last value named for each option, by its table name ("clip" for the clip range).
  std::vector<std::pair<std::string, std::string>> named;
  for (const auto& [name, value] : settings) {
    const EncoderParamSpec* p = find_encoder_param(name);
    const std::string key = p ? p->name : name;
    std::erase_if(named, [&](const auto& n) { return n.first == key; });
    named.emplace_back(key, value);
  }
  const auto value_of = [&](const std::string& key) -> const std::string* {
    for (const auto& n : named)
      if (n.first == key) return &n.second;
    return nullptr;
  };
  const auto is_free = [&](const std::string& key) { return std::find(free.begin(), free.end(), key) != free.end(); };
  // "a=x and b=y exclude each other (why)"; an option not named shows its default.
  const auto conflict = [&](const std::string& a, const std::string& a_default, const std::string& b, const char* why) {
    const std::string* va = value_of(a);
    return Status{StatusCode::invalid_argument, a + "=" + (va ? *va : a_default + " (the default)") + " and " + b + "=" +
                                                    *value_of(b) + " exclude each other (" + why + ")"};
  };
  // The quantizer and coder in force: named, or the defaults; unknown when free or unreadable.
  EncoderOptions o;
  bool quantizer_known = !is_free("quantizer"), coder_known = !is_free("coder");
  if (const std::string* q = value_of("quantizer"))
    quantizer_known = quantizer_known && set_encoder_option(o, "quantizer", *q).ok();
  if (const std::string* c = value_of("coder")) coder_known = coder_known && set_encoder_option(o, "coder", *c).ok();

  if (quantizer_known && o.quantizer != QuantizerKind::uniform) {
    for (const char* key : {"bits", "per-channel", "clip"}) {
      const std::string* v = value_of(key);
      if (v && *v != "none") return conflict("quantizer", "uniform", key, "bits, per-channel and clip are the uniform quantizer's");
    }
  }
  if (coder_known && o.coder != CoderKind::zstd && value_of("level"))
    return conflict("coder", "zstd", "level", "the level is zstd's");
  if (coder_known && o.coder != CoderKind::rans && o.coder != CoderKind::rans_wide && value_of("lanes"))
    return conflict("coder", "zstd", "lanes", "lanes are the interleaved states of rans and rans-wide");
  return {};
}

}  // namespace ftc
