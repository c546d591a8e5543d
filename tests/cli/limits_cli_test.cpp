// The decoder-limit flags of ftc encode/decode/info (--max-elements, --max-output-bytes,
// --max-chunks, --max-table-entries), info and decode on endless or hostile input, and errors
// that name their file once.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "bitstream/frame.hpp"
#include "codec/entropy/rans.hpp"
#include "codec/io/npy.hpp"
#include "ftc/ftc.hpp"
#include "tests/cli/cli_harness.hpp"

namespace fs = std::filesystem;
using namespace ftc;
using test::Run;
using test::one_clean_line;
using test::TempDir;

namespace {

Run run(const std::string& args) { return test::run_program(FTC_CLI, args); }

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

void write_bytes(const std::string& path, std::span<const std::uint8_t> b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// 1×64×28×28 f32: 50,176 elements, 200,704 bytes.
std::string features_npy(const TempDir& tmp) {
  const std::string p = tmp / "x.npy";
  const Tensor t = test::features();
  write_bytes(p, io::write_npy(t.view()));
  return p;
}

// The repro: a 1,024-element u16 tensor whose rANS params declare 1,024 tables of 65,536
// symbols (a few bytes each).
std::vector<std::uint8_t> table_bomb_frame() {
  entropy::RansTables t;
  t.bits = 16;
  t.precision = 16;
  t.tables.resize(1024);
  t.context_table.resize(1024);
  for (std::uint32_t i = 0; i < 1024; ++i) {
    t.tables[i].freq.assign(65536, 0);
    t.tables[i].freq.back() = 1u << 16;
    t.context_table[i] = i;
  }
  format::FrameHeader h;
  format::TensorDesc d;
  d.name = "bomb";
  d.dtype = DType::u16;
  d.shape = {1024};
  d.quantizer = QuantizerKind::uniform;
  d.uniform = format::UniformParams{16, 0, std::vector<float>(1024, 0.0f), std::vector<float>(1024, 1.0f)};
  d.coder = CoderKind::rans;
  d.coder_params = t.serialized();
  h.tensors.push_back(d);
  std::vector<std::uint8_t> out;
  REQUIRE(format::write_header(h, out).ok());
  format::write_chunk(std::vector<std::uint8_t>(64, 0), true, out);
  return out;
}

}  // namespace

TEST_CASE("encode --max-chunks refuses what decode --max-chunks refuses; both say so in one line") {
  TempDir tmp;
  const std::string x = features_npy(tmp);
  // 50,176 elements in chunks of 16: 3,136 chunks.
  Run refused = run("encode " + x + " -o " + tmp / "a.ftc --chunk-elements 16 --max-chunks 3135");
  CHECK(refused.status == 1);
  CHECK_MESSAGE(one_clean_line(refused.err), refused.err);
  CHECK_MESSAGE(has(refused.err, "max_chunks 3135"), refused.err);
  CHECK_FALSE(fs::exists(tmp / "a.ftc"));
  REQUIRE(run("encode " + x + " -o " + tmp / "a.ftc --chunk-elements 16 --max-chunks 3136 -q").status == 0);
  Run d = run("decode " + tmp / "a.ftc -o " + tmp / "a.npy --max-chunks 3135");
  CHECK(d.status == 1);
  CHECK_MESSAGE(one_clean_line(d.err), d.err);
  CHECK_MESSAGE(has(d.err, "chunks"), d.err);
  CHECK_FALSE(fs::exists(tmp / "a.npy"));
  CHECK(run("decode " + tmp / "a.ftc -o " + tmp / "a.npy --max-chunks 3136").status == 0);
  Run i = run("info " + tmp / "a.ftc --max-chunks 3135");
  CHECK(i.status == 1);
  CHECK_MESSAGE(one_clean_line(i.err), i.err);
  CHECK(run("info " + tmp / "a.ftc --max-chunks 3136").status == 0);
  // Flags take values ≥ 1.
  Run zero = run("decode " + tmp / "a.ftc -o " + tmp / "b.npy --max-chunks 0");
  CHECK(zero.status == 1);
  CHECK_MESSAGE(one_clean_line(zero.err), zero.err);
}

TEST_CASE("--max-elements and --max-output-bytes on encode, decode and info") {
  TempDir tmp;
  const std::string x = features_npy(tmp);
  REQUIRE(run("encode " + x + " -o " + tmp / "f.ftc -q").status == 0);
  for (const std::string flag : std::vector<std::string>{"--max-elements 50175", "--max-output-bytes 200703"}) {
    CAPTURE(flag);
    Run e = run("encode " + x + " -o " + tmp / "g.ftc " + flag);
    CHECK(e.status == 1);
    CHECK_MESSAGE(one_clean_line(e.err), e.err);
    CHECK_MESSAGE(has(e.err, "would refuse"), e.err);
    CHECK_FALSE(fs::exists(tmp / "g.ftc"));
    for (const std::string& cmd : std::vector<std::string>{"decode " + tmp / "f.ftc -o " + tmp / "g.npy ", "info " + tmp / "f.ftc "}) {
      Run r = run(cmd + flag);
      CHECK(r.status == 1);
      CHECK_MESSAGE(one_clean_line(r.err), r.err);
    }
  }
  for (const std::string flag : std::vector<std::string>{"--max-elements 50176", "--max-output-bytes 200704"}) {
    CAPTURE(flag);
    CHECK(run("encode " + x + " -o " + tmp / "h.ftc -f -q " + flag).status == 0);
    CHECK(run("decode " + tmp / "f.ftc -o " + tmp / "h.npy -f " + flag).status == 0);
    CHECK(run("info " + tmp / "f.ftc " + flag).status == 0);
  }
}

TEST_CASE("--max-table-entries, and the issue's table bomb refused by decode") {
  TempDir tmp;
  const std::string x = features_npy(tmp);
  // Per-channel rANS: 64 contexts, tables of 2^P slots each.
  REQUIRE(run("encode " + x + " -o " + tmp / "r.ftc --coder rans --per-channel 1 -q").status == 0);
  Run e = run("encode " + x + " -o " + tmp / "s.ftc --coder rans --per-channel 1 --max-table-entries 100");
  CHECK(e.status == 1);
  CHECK_MESSAGE(one_clean_line(e.err), e.err);
  CHECK_MESSAGE(has(e.err, "table budget"), e.err);
  Run d = run("decode " + tmp / "r.ftc -o " + tmp / "r.npy --max-table-entries 100");
  CHECK(d.status == 1);
  CHECK_MESSAGE(one_clean_line(d.err), d.err);
  CHECK_MESSAGE(has(d.err, "max_table_entries 100"), d.err);
  CHECK(run("decode " + tmp / "r.ftc -o " + tmp / "r.npy").status == 0);

  write_bytes(tmp / "bomb.ftc", table_bomb_frame());
  Run b = run("decode " + tmp / "bomb.ftc -o " + tmp / "bomb.npy --max-output-bytes 4096");
  CHECK(b.status == 1);
  CHECK_MESSAGE(one_clean_line(b.err), b.err);
  CHECK_MESSAGE(has(b.err, "tensor 'bomb'"), b.err);
  CHECK_FALSE(fs::exists(tmp / "bomb.npy"));
  // info reads descriptors, not tables: it describes the frame.
  Run i = run("info " + tmp / "bomb.ftc");
  CHECK(i.status == 0);
  CHECK(has(i.out, "'bomb'"));
}

TEST_CASE("info and decode on endless input end with one line") {
  TempDir tmp;
  // A shell timeout well above the expected milliseconds turns a hang into a failure (124), and a
  // 1 GiB memory cap an unbounded buffer into one; neither is a timing assertion. AddressSanitizer
  // reserves terabytes of shadow address space at start, so under it the cap is ASan's own
  // resident-memory limit instead of a virtual-memory rlimit.
#if defined(__SANITIZE_ADDRESS__)
  const std::string cap = "ASAN_OPTIONS=${ASAN_OPTIONS:-}:hard_rss_limit_mb=1024 timeout 60 ";
#else
  const std::string cap = "ulimit -v 1048576; timeout 60 ";
#endif
  for (const std::string& cmd : std::vector<std::string>{"info /dev/zero", "info - < /dev/zero", "decode - -o " + tmp / "z.npy < /dev/zero",
                                                         "info - --max-output-bytes 4096 < /dev/zero"}) {
    CAPTURE(cmd);
    Run r = test::run_program("sh -c '" + cap + FTC_CLI + " " + cmd + "'", "");
    CHECK(r.status == 1);
    CHECK_MESSAGE(one_clean_line(r.err), r.err);
  }
  // A valid frame followed by endless zeros: the bytes after the frame end it.
  const std::string x = features_npy(tmp);
  REQUIRE(run("encode " + x + " -o " + tmp / "f.ftc -q").status == 0);
  Run r = test::run_program("sh -c '(cat " + tmp / "f.ftc" + "; cat /dev/zero) | (" + cap + FTC_CLI + " info -)'", "");
  CHECK(r.status == 1);
  CHECK_MESSAGE(one_clean_line(r.err), r.err);
  CHECK_MESSAGE(has(r.err, "after the end of the frame"), r.err);
  // A stream over the cap the limits give is refused before it is held.
  Run big = test::run_program("sh -c 'head -c 2000000 " + x + " /dev/zero | " + FTC_CLI + " decode - -o " + tmp / "y.npy --max-output-bytes 1000 --max-table-entries 1000 --max-chunks 10'", "");
  CHECK(big.status == 1);
  CHECK_MESSAGE(one_clean_line(big.err), big.err);
  // From stdin, a frame decodes as from a file.
  CHECK(run("info - < " + tmp / "f.ftc").status == 0);
  CHECK(run("decode - -o " + tmp / "f.npy < " + tmp / "f.ftc").status == 0);
}

#ifdef FTC_WITH_PIPELINE
TEST_CASE("fit and eval name a bad model file once") {
  TempDir tmp;
  {
    std::ofstream f(tmp / "m.onnx");
    f << "not an onnx model";
  }
  for (const std::string& cmd : std::vector<std::string>{"eval --model " + tmp / "m.onnx --mean 0 --std 1 --at x",
                                "fit --model " + tmp / "m.onnx --mean 0 --std 1 --at x -o " + tmp / "m.ftcm",
                                "features --model " + tmp / "m.onnx --mean 0 --std 1 --at x -o " + tmp / "f.npy"}) {
    CAPTURE(cmd);
    Run r = run(cmd);
    CHECK(r.status == 1);
    CHECK_MESSAGE(one_clean_line(r.err), r.err);
    const auto first = r.err.find(tmp / "m.onnx");
    CHECK_MESSAGE(first != std::string::npos, r.err);
    CHECK_MESSAGE(r.err.find(tmp / "m.onnx", first + 1) == std::string::npos, r.err);
  }
}
#endif
