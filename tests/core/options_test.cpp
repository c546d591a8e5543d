// codec/options_enc.cpp: settings that exclude each other (check_encoder_settings_agree), which
// the command line, the Python module and the evaluator refuse rather than ignore one of.
#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "ftc/ftc.hpp"

using namespace ftc;

namespace {
using Settings = std::vector<std::pair<std::string, std::string>>;

Status agree(const Settings& s, const std::vector<std::string>& free = {}) { return check_encoder_settings_agree(s, free); }
}  // namespace

TEST_CASE("uniform-only settings beside another quantizer, level without zstd, lanes without rans") {
  const std::pair<Settings, const char*> refused[] = {
      {{{"quantizer", "lossless"}, {"bits", "4"}}, "quantizer=lossless and bits=4 exclude each other"},
      {{{"cast", "f16"}, {"bits", "4"}}, "quantizer=f16 and bits=4"},
      {{{"quantizer", "bf16"}, {"clip", "0,1"}}, "quantizer=bf16 and clip=0,1"},
      {{{"quantizer", "cast-f16"}, {"channel-axis", "1"}}, "quantizer=cast-f16 and per-channel=1"},
      {{{"coder", "rans"}, {"zstd-level", "9"}}, "coder=rans and level=9"},
      {{{"rans-lanes", "64"}}, "coder=zstd (the default) and lanes=64"},
      {{{"coder", "adaptive"}, {"lanes", "32"}}, "coder=adaptive and lanes=32"},
  };
  for (const auto& [settings, message] : refused) {
    CAPTURE(message);
    const Status s = agree(settings);
    CHECK(s.code() == StatusCode::invalid_argument);
    CHECK(s.message().find(message) != std::string::npos);
  }
  const Settings taken[] = {
      {},
      {{"bits", "4"}, {"per-channel", "1"}, {"clip", "0,2"}},
      {{"quantizer", "uniform"}, {"bits", "4"}},
      {{"quantizer", "lossless"}, {"level", "19"}},
      {{"quantizer", "lossless"}, {"per-channel", "none"}, {"clip", "none"}},
      {{"coder", "rans"}, {"lanes", "64"}},
      {{"coder", "rans-wide"}, {"lanes", "128"}},
      {{"quantizer", "lossless"}, {"quantizer", "uniform"}, {"bits", "4"}},  // the last value counts
  };
  for (const auto& settings : taken) CHECK(agree(settings).ok());
}

TEST_CASE("an option that a sweep varies is free") {
  CHECK(agree({{"lanes", "64"}}, {"coder"}).ok());
  CHECK(agree({{"quantizer", "lossless"}, {"bits", "4"}}, {"quantizer"}).ok());
  CHECK_FALSE(agree({{"quantizer", "lossless"}, {"bits", "4"}}, {"coder"}).ok());
  // A value the table does not know is left to set_encoder_option.
  CHECK(agree({{"coder", "brotli"}, {"level", "3"}}).ok());
}
