// The codec flags, registered from the encoder's option table (see codec_flags.hpp).
#include "cli/codec_flags.hpp"

#include <algorithm>

namespace ftc::cli {
namespace {

// 2^62 reads better as "2^62" than as 19 digits.
std::string number_text(std::int64_t v) {
  if (v >= (std::int64_t{1} << 32) && (v & (v - 1)) == 0) {
    int k = 0;
    while ((std::int64_t{1} << k) != v) ++k;
    return "2^" + std::to_string(k);
  }
  return std::to_string(v);
}

// The table's help and range: "uniform quantizer: bits per element (1..16)", "symbol coder …;
// one of raw, zstd, …".
std::string help_text(const EncoderParamSpec& p) {
  const std::string h = p.help;
  std::string values;
  for (std::size_t i = 0; i < p.names.size(); ++i) values += (i ? ", " : "") + std::string(p.names[i]);
  for (std::size_t i = 0; i < p.only.size(); ++i) values += (i ? ", " : "") + std::to_string(p.only[i]);
  if (!values.empty()) return h + "; one of " + values;
  return h + " (" + number_text(p.min) + ".." + number_text(p.max) + ")";
}

}  // namespace

std::shared_ptr<CodecFlags> add_codec_flags(CLI::App& app, std::initializer_list<EncoderParam> skip) {
  auto f = std::make_shared<CodecFlags>();
  const auto params = encoder_params();
  f->flags_.resize(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const EncoderParamSpec& p = params[i];
    CodecFlags::Flag& flag = f->flags_[i];
    flag.spec = &p;
    if (std::find(skip.begin(), skip.end(), p.id) != skip.end()) continue;
    if (p.id == EncoderParam::quantizer) {
      app.add_flag("--lossless", f->lossless_, "Keep every bit (byte planes + coder)");
      f->cast_opt_ = app.add_option("--cast", f->cast_, "Cast to 16-bit floats instead of quantizing")
                         ->check(CLI::IsMember({"f16", "bf16"}));
      continue;
    }
    if (p.id == EncoderParam::chunk_checksums) {
      app.add_flag("--no-checksums", f->no_checksums_, "Omit chunk checksums");
      continue;
    }
    const std::string name = p.name;
    flag.option = app.add_option("--" + name, flag.value, help_text(p));
    flag.option->type_name(!p.names.empty() ? "NAME" : p.id == EncoderParam::channel_axis ? "AXIS|none" : "INT");
    flag.option->check(CLI::Validator(
        [name](std::string& v) {
          EncoderOptions scratch;
          const Status s = set_encoder_option(scratch, name, v);
          return s.ok() ? std::string() : s.message();
        },
        ""));
  }
  app.add_option("--clip", f->clip_, "Uniform quantizer clip range LO,HI (default: the data's min,max)")
      ->delimiter(',')
      ->expected(2)
      ->type_name("LO,HI");
  return f;
}

std::string flag_text(const EncoderSetting& setting) {
  const auto& [name, value] = setting;
  if (name == "quantizer") return value == "lossless" ? "--lossless" : "--cast " + value;
  if (name == "chunk-checksums") return "--no-checksums";
  return "--" + name + " " + value;
}

CLI::Option* CodecFlags::option(EncoderParam id) const {
  for (const auto& f : flags_)
    if (f.spec->id == id) return f.option;
  return nullptr;
}

Result<std::vector<EncoderSetting>> CodecFlags::given(std::span<const std::string> free) const {
  const bool cast = cast_opt_ && cast_opt_->count() > 0;
  if (lossless_ && cast) return Status{StatusCode::invalid_argument, "--lossless and --cast exclude each other"};
  std::vector<EncoderSetting> out;
  for (const auto& f : flags_) {
    if (f.spec->id == EncoderParam::quantizer) {
      if (lossless_) out.emplace_back(f.spec->name, "lossless");
      if (cast) out.emplace_back(f.spec->name, cast_);
    } else if (f.spec->id == EncoderParam::chunk_checksums) {
      if (no_checksums_) out.emplace_back(f.spec->name, "off");
    } else if (f.option && f.option->count() > 0) {
      out.emplace_back(f.spec->name, f.value);
    }
  }
  if (clip_.size() == 2) out.emplace_back("clip", clip_[0] + "," + clip_[1]);
  FTC_RETURN_IF_ERROR(check_encoder_settings_agree(out, free));
  return out;
}

Status CodecFlags::apply(EncoderOptions& options) const {
  FTC_ASSIGN_OR_RETURN(auto settings, given());
  for (const auto& [name, value] : settings) FTC_RETURN_IF_ERROR(set_encoder_option(options, name, value));
  return {};
}

}  // namespace ftc::cli
