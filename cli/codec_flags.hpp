// The codec flags of `ftc encode` and `ftc eval`, made from the encoder's option table
// (ftc::encoder_params()): one flag --NAME per option, with the table's help and range, checked
// at parse time by set_encoder_option so that a bad value names the option and its range. Three
// flags stand for values rather than options: --lossless (quantizer lossless), --cast f16|bf16
// (quantizer f16|bf16) and --no-checksums (chunk-checksums off); --clip LO,HI sets the clip range.
#pragma once

#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "ftc/ftc.hpp"

namespace ftc::cli {

// An encoder option as set_encoder_option takes it: (table name, value as text).
using EncoderSetting = std::pair<std::string, std::string>;

// A setting as the flag that gives it: "--bits 4", "--lossless", "--cast f16", "--no-checksums".
std::string flag_text(const EncoderSetting& setting);

class CodecFlags;
// Registers the codec flags on `app`, leaving out the options in `skip` (e.g. threads, when the
// command has a --threads of its own). Keep the returned object alive while `app` parses.
std::shared_ptr<CodecFlags> add_codec_flags(CLI::App& app, std::initializer_list<EncoderParam> skip = {});

class CodecFlags {
 public:
  // The option of a table entry; nullptr for the quantizer and chunk-checksums (set by
  // --lossless/--cast and --no-checksums) and for skipped entries.
  CLI::Option* option(EncoderParam id) const;
  // The flags given on the command line, in table order (clip last). invalid_argument when
  // --lossless and --cast are both given, or when flags exclude each other
  // (check_encoder_settings_agree: --lossless --bits 4, --cast f16 --clip 0,1, --coder rans
  // --level 9, --lanes 64 with zstd, …); options named in `free` (swept) may take any value.
  Result<std::vector<EncoderSetting>> given(std::span<const std::string> free = {}) const;
  // given(), applied with set_encoder_option.
  Status apply(EncoderOptions& options) const;

 private:
  friend std::shared_ptr<CodecFlags> add_codec_flags(CLI::App&, std::initializer_list<EncoderParam>);
  struct Flag {
    const EncoderParamSpec* spec = nullptr;
    CLI::Option* option = nullptr;
    std::string value;
  };
  std::vector<Flag> flags_;  // sized once: CLI11 holds pointers to the values
  bool lossless_ = false, no_checksums_ = false;
  std::string cast_;
  std::vector<std::string> clip_;
  CLI::Option* cast_opt_ = nullptr;
};

}  // namespace ftc::cli
