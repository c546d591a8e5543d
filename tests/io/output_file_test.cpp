#include "codec/io/output_file.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using ftc::io::commit_together;
using ftc::io::OutputFile;
using ftc::io::Overwrite;

struct Dir {
  fs::path path = fs::temp_directory_path() / ("ftc_output_file_" + std::to_string(::getpid()));
  Dir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() { fs::remove_all(path); }
  std::string operator/(const std::string& f) const { return (path / f).string(); }
  std::set<std::string> names() const {
    std::set<std::string> n;
    for (const auto& e : fs::directory_iterator(path)) n.insert(e.path().filename().string());
    return n;
  }
};

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
std::string text(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}
void put(const std::string& p, const std::string& t) { std::ofstream(p, std::ios::binary) << t; }

}  // namespace

TEST_CASE("the target appears only at commit; a temporary file beside it until then") {
  Dir d;
  auto f = OutputFile::create(d / "a.bin", Overwrite::refuse);
  REQUIRE(f.ok());
  CHECK(fs::path(f->temp_path()).parent_path() == d.path);
  CHECK(f->write(bytes("hello")).ok());
  CHECK_FALSE(fs::exists(d / "a.bin"));
  CHECK(d.names().size() == 1);
  REQUIRE(f->commit().ok());
  CHECK(text(d / "a.bin") == "hello");
  CHECK(d.names() == std::set<std::string>{"a.bin"});
}

TEST_CASE("an output dropped before commit leaves nothing; an existing target is kept") {
  Dir d;
  put(d / "keep.bin", "old");
  {
    auto f = OutputFile::create(d / "keep.bin", Overwrite::replace);
    REQUIRE(f.ok());
    CHECK(f->write(bytes("new, never committed")).ok());
  }
  CHECK(text(d / "keep.bin") == "old");
  CHECK(d.names() == std::set<std::string>{"keep.bin"});
  auto refused = OutputFile::create(d / "keep.bin", Overwrite::refuse);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message() == d / "keep.bin" + ": already exists (use -f to overwrite)");
  CHECK_FALSE(OutputFile::create(d.path.string(), Overwrite::replace).ok());  // a directory
  // Refused at commit too, when the target appeared meanwhile.
  auto late = OutputFile::create(d / "late.bin", Overwrite::refuse);
  REQUIRE(late.ok());
  put(d / "late.bin", "first");
  CHECK(late->write(bytes("second")).ok());
  CHECK_FALSE(late->commit().ok());
  CHECK(text(d / "late.bin") == "first");
  CHECK(d.names() == std::set<std::string>{"keep.bin", "late.bin"});
}

TEST_CASE("commit_together: when one rename fails, the files already renamed are put back") {
  Dir d;
  put(d / "one.bin", "old one");
  std::vector<OutputFile> files;
  for (const char* name : {"one.bin", "two.bin", "three.bin"}) {
    auto f = OutputFile::create(d / name, Overwrite::replace);
    REQUIRE(f.ok());
    CHECK(f->write(bytes(std::string("new ") + name)).ok());
    files.push_back(std::move(f).value());
  }
  fs::create_directories(d / "three.bin");  // appears after create: its rename fails
  auto s = commit_together(files);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find(d / "three.bin") == 0);
  CHECK(text(d / "one.bin") == "old one");  // restored
  CHECK_FALSE(fs::exists(d / "two.bin"));   // removed
  CHECK(d.names() == std::set<std::string>{"one.bin", "three.bin"});

  fs::remove(d / "three.bin");
  files.clear();
  for (const char* name : {"one.bin", "two.bin"}) {
    auto f = OutputFile::create(d / name, Overwrite::replace);
    REQUIRE(f.ok());
    CHECK(f->write(bytes(std::string("new ") + name)).ok());
    files.push_back(std::move(f).value());
  }
  REQUIRE(commit_together(files).ok());
  CHECK(text(d / "one.bin") == "new one.bin");
  CHECK(text(d / "two.bin") == "new two.bin");
  CHECK(d.names() == std::set<std::string>{"one.bin", "two.bin"});
}

TEST_CASE("a device is written in place, never replaced; a failed write is reported") {
  auto null = OutputFile::create("/dev/null", Overwrite::replace);
  REQUIRE(null.ok());
  CHECK(null->temp_path() == "/dev/null");
  CHECK(null->write(bytes("x")).ok());
  CHECK(null->commit().ok());
  struct stat st;
  REQUIRE(::stat("/dev/null", &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK_FALSE(OutputFile::create("/dev/null", Overwrite::refuse).ok());
  auto full = OutputFile::create("/dev/full", Overwrite::replace);
  REQUIRE(full.ok());
  auto s = full->write(bytes("x"));
  CHECK_FALSE(s.ok());
  CHECK(s.message() == "/dev/full: write failed: No space left on device");
}
