// Replays the golden codec model files (docs/format-model.md §13): every valid file parses with
// the default limits to the recorded model id, tensor and rate point counts, and (encoder builds)
// re-writes to its own bytes when marked canonical; every invalid file fails with the recorded
// status. The XXH64 of each file pins its bytes: golden files of a released version never change.
// Every entropy model of a valid file builds the library's chunk decoder from its params blob,
// as a self-contained tensor descriptor's would (§8).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "bitstream/codec_model.hpp"
#include "codec/entropy/coder.hpp"
#include "ftc/ftc.hpp"

using namespace ftc;
namespace fs = std::filesystem;

namespace {
std::vector<std::uint8_t> slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

// Symbol width of a quantizer (docs/format.md §4; non-uniform: its bits).
int symbol_bits(const model::Quantizer& q) {
  switch (q.kind) {
    case model::QuantKind::lossless: return 8;
    case model::QuantKind::cast_f16:
    case model::QuantKind::cast_bf16: return 16;
    default: return q.bits;
  }
}

// Builds each record's chunk decoder; returns how many were built.
int build_decoders(const model::CodecModelFile& m) {
  int built = 0;
  for (const auto& rp : m.rate_points)
    for (std::size_t t = 0; t < m.tensors.size(); ++t) {
      const auto& tc = rp.tensors[t];
      const Shape coded = model::coded_shape(m.tensors[t], tc.transform);
      ContextMap ctx;
      if (tc.quantizer.axis) {
        const auto a = static_cast<std::size_t>(*tc.quantizer.axis);
        ctx.groups = static_cast<std::uint32_t>(model::quantizer_groups(tc.quantizer, coded));
        for (std::size_t d = a + 1; d < coded.size(); ++d) ctx.inner *= static_cast<std::uint64_t>(coded[d]);
      }
      auto dec = entropy::make_decoder(tc.entropy.coder, tc.entropy.params, symbol_bits(tc.quantizer), ctx);
      CHECK_MESSAGE(dec.ok(), dec.status().to_string());
      built += dec.ok();
    }
  return built;
}
}  // namespace

TEST_CASE("golden codec model files") {
  const fs::path dir = fs::path(FTC_SOURCE_DIR) / "tests" / "golden" / "models";
  std::ifstream m(dir / "MODEL_MANIFEST");
  REQUIRE(m.good());
  int valid = 0, invalid = 0, canonical = 0, decoders = 0, records = 0;
  std::string line;
  while (std::getline(m, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string kind, file;
    ls >> kind >> file;
    CAPTURE(file);
    const auto bytes = slurp(dir / kind / file);
    REQUIRE_FALSE(bytes.empty());
    auto r = model::parse_codec_model(bytes);
    if (kind == "valid") {
      ++valid;
      std::string hash, id;
      std::size_t tensors = 0, rates = 0;
      int canon = -1;
      ls >> hash >> id >> tensors >> rates >> canon;
      REQUIRE_MESSAGE(r.ok(), r.status().to_string());
      char hex[17];
      std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(model::model_content_hash(bytes)));
      CHECK(hash == hex);
      std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(r->model_id));
      CHECK(id == hex);
      CHECK(r->tensors.size() == tensors);
      CHECK(r->rate_points.size() == rates);
      REQUIRE((canon == 0 || canon == 1));
      canonical += canon;
      decoders += build_decoders(*r);
      records += static_cast<int>(r->tensors.size() * r->rate_points.size());
#ifndef FTC_DECODER_ONLY
      auto again = model::write_codec_model(*r);
      REQUIRE_MESSAGE(again.ok(), again.status().to_string());
      CHECK((*again == bytes) == (canon == 1));
      CHECK(*model::parse_codec_model(*again) == *r);
#endif
    } else {
      REQUIRE(kind == "invalid");
      ++invalid;
      std::string expect;
      ls >> expect;
      REQUIRE_FALSE(r.ok());
      CHECK(static_cast<int>(r.status().code()) == std::stoi(expect));
    }
  }
  CHECK(valid >= 6);
  CHECK(canonical >= 5);
  CHECK(invalid >= 30);
  CHECK(records >= 13);
  CHECK(decoders == records);
}
