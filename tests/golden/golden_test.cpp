// Replays every golden vector of every format version this decoder reads (docs/format.md §9):
// valid frames decode to the recorded hash, invalid ones fail with the recorded status.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "ftc/ftc.hpp"
#include "tests/golden/golden_hash.hpp"

using namespace ftc;
namespace fs = std::filesystem;

namespace {
std::vector<std::uint8_t> slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}
}  // namespace

TEST_CASE("golden vectors of every format version") {
  const fs::path root = fs::path(FTC_SOURCE_DIR) / "tests" / "golden";
  int versions = 0, valid = 0, invalid = 0;
  std::set<std::string> seen;
  for (const auto& dir : fs::directory_iterator(root)) {
    if (!dir.is_directory() || !fs::exists(dir.path() / "MANIFEST")) continue;
    ++versions;
    seen.insert(dir.path().filename().string());
    std::ifstream m(dir.path() / "MANIFEST");
    std::string line;
    while (std::getline(m, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream ls(line);
      std::string kind, file, expect, later;
      ls >> kind >> file >> expect;
      // "1.N:S": decoders from minor version N on return status S (a later format gave the
      // bytes a meaning); the last such token at or below this decoder's version applies.
      while (ls >> later) {
        const auto colon = later.find(':');
        if (later.rfind("1.", 0) == 0 && colon != std::string::npos && std::stoi(later.substr(2, colon - 2)) <= kFormatMinor)
          expect = later.substr(colon + 1);
      }
      CAPTURE(dir.path().filename().string());
      CAPTURE(file);
      const auto bytes = slurp(dir.path() / kind / file);
      Decoder decoder;
      if (fs::exists(dir.path() / "models"))
        for (const auto& mf : fs::directory_iterator(dir.path() / "models")) {
          auto model = CodecModel::from_file(mf.path().string());
          REQUIRE_MESSAGE(model.ok(), model.status().to_string());
          REQUIRE(decoder.add_codec_model(*model).ok());
        }
      auto r = decoder.decode(bytes);
      if (kind == "valid") {
        ++valid;
        REQUIRE_MESSAGE(r.ok(), r.status().to_string());
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(golden::hash_tensors(*r)));
        CHECK(expect == hex);
        // Multi-threaded decoding gives the same tensors.
        decoder.threads = 3;
        auto r3 = decoder.decode(bytes);
        REQUIRE(r3.ok());
        CHECK(golden::hash_tensors(*r3) == golden::hash_tensors(*r));
      } else {
        ++invalid;
        REQUIRE_FALSE(r.ok());
        CHECK(static_cast<int>(r.status().code()) == std::stoi(expect));
      }
    }
  }
  // Every format version up to this library's (kFormatMinor) has its directory.
  for (const char* v : {"v1", "v1.1", "v1.2", "v1.3"}) CHECK_MESSAGE(seen.count(v) == 1, v);
  CHECK(versions >= 1 + kFormatMinor);
  CHECK(valid >= 30);
  CHECK(invalid >= 20);
}
