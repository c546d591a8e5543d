// What the ftc command writes and says when its input is hostile or its disk is full (issue 14):
// outputs appear whole or not at all, an input is never overwritten, tensor names become distinct
// safe file names, names reach the terminal and JSON escaped, every error is one line. The
// full-disk case mounts a 1 MiB tmpfs in a private mount namespace (root only; skipped, visibly,
// elsewhere: ctest entry outputs_cli_full_disk).
#include <doctest/doctest.h>

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "codec/io/npy.hpp"
#include "ftc/ftc.hpp"
#include "tests/cli/cli_harness.hpp"

namespace fs = std::filesystem;
using namespace ftc;
using test::read_bytes;
using test::Run;
using test::one_clean_line;
using test::TempDir;

namespace {

Run run(const std::string& args) { return test::run_program(FTC_CLI, args); }

// Shell-quoted: any bytes but NUL.
std::string q(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::size_t lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

// Only '\n' among the C0 controls and DEL; no C1 control (UTF-8 C2 80..C2 9F).
bool no_raw_controls(const std::string& s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if ((u < 0x20 && u != '\n') || u == 0x7F) return false;
    if (u == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
        static_cast<unsigned char>(s[i + 1]) <= 0x9F)
      return false;
  }
  return true;
}

std::set<std::string> listing(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }
std::string text_of(const std::string& path) { return test::slurp(path); }

// A frame of 1-element i32 tensors, tensor i holding i, named `names[i]`.
std::vector<std::uint8_t> frame_named(const std::vector<std::string>& names) {
  std::vector<Tensor> tensors;
  std::vector<NamedTensorView> views;
  for (std::size_t i = 0; i < names.size(); ++i) {
    tensors.push_back(Tensor::zeros(DType::i32, {1}).value());
    tensors.back().data_as<std::int32_t>()[0] = static_cast<std::int32_t>(i);
  }
  for (std::size_t i = 0; i < names.size(); ++i) views.push_back({names[i], tensors[i].view()});
  return Encoder().encode(views).value();
}

void write_frame(const std::string& path, const std::vector<std::uint8_t>& frame) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(frame.data()), static_cast<std::streamsize>(frame.size()));
}

std::int32_t value_in(const std::string& npy_path) {
  Tensor t = io::read_npy_file(npy_path).value();
  return t.data_as<std::int32_t>()[0];
}

// Members of a stored .npz (local file headers in order): name → the member's bytes.
std::vector<std::pair<std::string, std::vector<std::uint8_t>>> npz_members(const std::vector<std::uint8_t>& z) {
  std::vector<std::pair<std::string, std::vector<std::uint8_t>>> out;
  auto u16 = [&](std::size_t at) { return static_cast<std::size_t>(z[at] | z[at + 1] << 8); };
  auto u32 = [&](std::size_t at) { return static_cast<std::size_t>(z[at] | z[at + 1] << 8 | z[at + 2] << 16 | std::uint32_t(z[at + 3]) << 24); };
  for (std::size_t at = 0; at + 30 <= z.size() && u32(at) == 0x04034b50;) {
    const std::size_t size = u32(at + 18), name_len = u16(at + 26), extra = u16(at + 28);
    const std::size_t data = at + 30 + name_len + extra;
    out.emplace_back(std::string(z.begin() + static_cast<std::ptrdiff_t>(at + 30), z.begin() + static_cast<std::ptrdiff_t>(at + 30 + name_len)),
                     std::vector<std::uint8_t>(z.begin() + static_cast<std::ptrdiff_t>(data), z.begin() + static_cast<std::ptrdiff_t>(data + size)));
    at = data + size;
  }
  return out;
}

// Seeded uniform floats: lossless coding cannot shrink them much.
Tensor noise(std::int64_t elements, unsigned seed) {
  Tensor t = Tensor::zeros(DType::f32, {elements}).value();
  std::mt19937 rng(seed);
  float* p = t.data_as<float>();
  for (std::int64_t i = 0; i < elements; ++i) p[i] = static_cast<float>(rng()) / 4294967296.0f;
  return t;
}

}  // namespace

TEST_CASE("an output is never one of the inputs: same path, another spelling, a hard link") {
  TempDir tmp;
  REQUIRE(io::write_npy_file(tmp / "x.npy", test::features().view()).ok());
  const auto npy = read_bytes(tmp / "x.npy");
  fs::create_directories(tmp.path / "sub");
  fs::create_hard_link(tmp / "x.npy", tmp / "link.npy");
  for (const std::string out : {tmp / "x.npy", tmp / "sub/../x.npy", tmp / "link.npy"}) {
    Run r = run("encode " + tmp / "x.npy -o " + out + " -f --lossless");
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.err.find("is the input") != std::string::npos, r.err);
    CHECK(one_clean_line(r.err));
    CHECK(read_bytes(tmp / "x.npy") == npy);
  }
  REQUIRE(run("encode -q " + tmp / "x.npy -o " + tmp / "x.ftc --lossless").status == 0);
  const auto frame = read_bytes(tmp / "x.ftc");
  fs::create_hard_link(tmp / "x.ftc", tmp / "frame.npz");
  for (const std::string out : {tmp / "x.ftc", tmp / "sub/../x.ftc", tmp / "frame.npz"}) {
    Run r = run("decode " + tmp / "x.ftc -o " + out + " -f");
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.err.find("is the input") != std::string::npos, r.err);
    CHECK(one_clean_line(r.err));
    CHECK(read_bytes(tmp / "x.ftc") == frame);
  }
  CHECK(listing(tmp.path.string()) == std::set<std::string>{"frame.npz", "link.npy", "sub", "x.ftc", "x.npy"});
}

TEST_CASE("duplicate and unsafe tensor names become distinct, safe file names by the documented rule") {
  TempDir tmp;
  const std::vector<std::string> names = {"x",       "x",          "",        "../up", "a/b",       "tensor0",
                                          ".hidden", "ok-name.v2", std::string(129, 'n'), "\xff", "line\nbreak", "tensor4"};
  write_frame(tmp / "f.ftc", frame_named(names));
  // Kept: the plain names no other tensor has; the rest tensor<I>, or tensor<I>_<N> when taken.
  const std::vector<std::pair<std::string, int>> expected = {
      {"tensor0_1", 0}, {"tensor1", 1}, {"tensor2", 2},     {"tensor3", 3},  {"tensor4_1", 4},  {"tensor0", 5},
      {"tensor6", 6},   {"ok-name.v2", 7}, {"tensor8", 8}, {"tensor9", 9}, {"tensor10", 10}, {"tensor4", 11}};
  Run dir = run("decode " + tmp / "f.ftc -o " + tmp / "out");
  REQUIRE_MESSAGE(dir.status == 0, dir.err);
  std::set<std::string> files;
  for (const auto& [name, index] : expected) {
    files.insert(name + ".npy");
    CHECK_MESSAGE(value_in(tmp / ("out/" + name + ".npy")) == index, name);
  }
  CHECK(listing(tmp / "out") == files);
  CHECK(lines(dir.err) == 8);  // a note for every renamed tensor that had a name
  CHECK(no_raw_controls(dir.err));
  CHECK(dir.err.find("'line\\nbreak' written as tensor10.npy") != std::string::npos);

  // The same names in an .npz, and the same again on a second run (deterministic).
  for (int pass = 0; pass < 2; ++pass) {
    REQUIRE(run("decode " + tmp / "f.ftc -o " + tmp / "f.npz -f").status == 0);
    const auto members = npz_members(read_bytes(tmp / "f.npz"));
    REQUIRE(members.size() == expected.size());
    for (std::size_t i = 0; i < members.size(); ++i) {
      const auto it = std::find_if(expected.begin(), expected.end(), [&](const auto& e) { return e.first + ".npy" == members[i].first; });
      REQUIRE_MESSAGE(it != expected.end(), members[i].first);
      CHECK(io::read_npy(members[i].second).value().data_as<std::int32_t>()[0] == it->second);
    }
  }
}

TEST_CASE("names from frames reach the terminal and JSON escaped") {
  TempDir tmp;
  const std::vector<std::string> names = {"evil\nftc: forged line", "\x1b[31mred", "csi\xc2\x9b" "2J", "bad\xff\xfe", "bidi\xe2\x80\xae"};
  write_frame(tmp / "f.ftc", frame_named(names));
  Run text = run("info " + tmp / "f.ftc");
  REQUIRE(text.status == 0);
  CHECK(lines(text.out) == 1 + names.size());
  CHECK(no_raw_controls(text.out));
  CHECK(text.out.find("'evil\\nftc: forged line'") != std::string::npos);
  CHECK(text.out.find("'\\x1B[31mred'") != std::string::npos);
  CHECK(text.out.find("'csi\\u009B2J'") != std::string::npos);
  CHECK(text.out.find("'bad\\xFF\\xFE'") != std::string::npos);
  CHECK(text.out.find("'bidi\\u202E'") != std::string::npos);

  Run json = run("info --json " + tmp / "f.ftc");
  REQUIRE(json.status == 0);
  CHECK(std::all_of(json.out.begin(), json.out.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
  CHECK(no_raw_controls(json.out));
  const auto j = nlohmann::json::parse(json.out);
  REQUIRE(j["tensors"].size() == names.size());
  CHECK(j["tensors"][0]["name"] == names[0]);  // valid UTF-8 comes back as it was
  CHECK(j["tensors"][2]["name"] == names[2]);
  CHECK(j["tensors"][3]["name"] == "bad\xEF\xBF\xBD\xEF\xBF\xBD");  // not UTF-8: U+FFFD

  // A path with a newline and an escape in an error message.
  Run missing = run("decode " + q(tmp / "no\nsuch\x1b[2J.ftc") + " -o " + tmp / "y.npy");
  CHECK(missing.status == 1);
  CHECK_MESSAGE(one_clean_line(missing.err), missing.err);
  CHECK(missing.err.find("no\\nsuch\\x1B[2J.ftc") != std::string::npos);
}

TEST_CASE("encode names tensors by file stems made UTF-8; a --name that is not UTF-8 is refused") {
  TempDir tmp;
  const std::string odd = tmp / "st\xff\xfem.npy";
  REQUIRE(io::write_npy_file(odd, test::features().view()).ok());
  REQUIRE(run("encode -q " + q(odd) + " -o " + tmp / "s.ftc").status == 0);
  const auto j = nlohmann::json::parse(run("info --json " + tmp / "s.ftc").out);
  CHECK(j["tensors"][0]["name"] == "st\xEF\xBF\xBD\xEF\xBF\xBDm");
  Run bad = run("encode " + q(odd) + " -o " + tmp / "n.ftc --name " + q("n\xff"));
  CHECK(bad.status == 1);
  CHECK_MESSAGE(bad.err == "ftc: --name: 'n\\xFF' is not valid UTF-8\n", bad.err);
  CHECK_FALSE(fs::exists(tmp / "n.ftc"));
}

TEST_CASE("every error is one line and names its file once") {
  TempDir tmp;
  Run usage = run("encode");
  CHECK(usage.status == 1);
  CHECK_MESSAGE(one_clean_line(usage.err), usage.err);
  Run unknown = run("decode --no-such-flag x");
  CHECK(unknown.status == 1);
  CHECK_MESSAGE(one_clean_line(unknown.err), unknown.err);
  write_text(tmp / "junk.npy", "not a numpy file\n\x1b[2J");
  Run junk = run("encode " + tmp / "junk.npy -o " + tmp / "j.ftc");
  CHECK(junk.status == 1);
  CHECK_MESSAGE(one_clean_line(junk.err), junk.err);
  write_frame(tmp / "f.ftc", frame_named({"a"}));
  write_text(tmp / "junk.ftcm", "junk");
  Run model = run("decode " + tmp / "f.ftc -o " + tmp / "f.npy --codec-model " + tmp / "junk.ftcm");
  CHECK(model.status == 1);
  CHECK_MESSAGE(model.err == "ftc: " + tmp / "junk.ftcm" + ": corrupt stream: codec model: not a codec model file (bad magic)\n",
                model.err);
#ifdef FTC_WITH_PIPELINE
  for (const std::string cmd : {"layers " + tmp / "nope.onnx", "layers " + tmp / "junk.npy",
                                "split " + tmp / "nope.onnx --at t --head " + tmp / "h.onnx --tail " + tmp / "t.onnx"}) {
    Run r = run(cmd);
    CHECK(r.status == 1);
    CHECK_MESSAGE(one_clean_line(r.err), r.err);
    const std::string model = cmd.find("junk") != std::string::npos ? tmp / "junk.npy" : tmp / "nope.onnx";
    const auto first = r.err.find(model);
    CHECK_MESSAGE(first != std::string::npos, r.err);
    CHECK_MESSAGE(r.err.find(model, first + 1) == std::string::npos, r.err);
  }
#endif
}

TEST_CASE("a multi-file output appears whole or not at all") {
  TempDir tmp;
  write_frame(tmp / "ab.ftc", frame_named({"a", "b"}));
  fs::create_directories(tmp.path / "out");
  write_text(tmp / "out/b.npy", "old");
  Run r = run("decode " + tmp / "ab.ftc -o " + tmp / "out");  // b.npy exists, no -f: nothing written
  CHECK(r.status == 1);
  CHECK_MESSAGE(one_clean_line(r.err), r.err);
  CHECK(r.err.find("already exists (use -f to overwrite)") != std::string::npos);
  CHECK(listing(tmp / "out") == std::set<std::string>{"b.npy"});
  CHECK(text_of(tmp / "out/b.npy") == "old");
  REQUIRE(run("decode " + tmp / "ab.ftc -o " + tmp / "out -f").status == 0);
  CHECK(listing(tmp / "out") == std::set<std::string>{"a.npy", "b.npy"});
  CHECK(value_in(tmp / "out/b.npy") == 1);
  // A path that is a file, not a directory: refused, and no directory appears.
  Run file = run("decode " + tmp / "ab.ftc -o " + tmp / "ab.ftc.d/x/y");
  write_text(tmp / "plain", "x");
  Run not_dir = run("decode " + tmp / "ab.ftc -o " + tmp / "plain");
  CHECK(not_dir.status == 1);
  CHECK(text_of(tmp / "plain") == "x");
  CHECK(file.status == 0);  // a new directory (with parents) is made

#ifdef FTC_WITH_PIPELINE
  const std::string model = std::string(FTC_SOURCE_DIR) + "/tests/data/onnx/skipnet.onnx";
  const std::string split = "split " + model + " --at block_out --head " + tmp / "h.onnx";
  Run tail_fails = run(split + " --tail " + tmp / "missing/t.onnx");
  CHECK(tail_fails.status == 1);
  CHECK_MESSAGE(one_clean_line(tail_fails.err), tail_fails.err);
  CHECK_FALSE(fs::exists(tmp / "h.onnx"));
  write_text(tmp / "h.onnx", "old head");
  Run exists = run(split + " --tail " + tmp / "t.onnx");
  CHECK(exists.status == 1);
  CHECK(text_of(tmp / "h.onnx") == "old head");
  CHECK_FALSE(fs::exists(tmp / "t.onnx"));
  Run onto_model = run(split + " --tail " + model + " -f");
  CHECK(onto_model.status == 1);
  CHECK(onto_model.err.find("is the input") != std::string::npos);

  // eval: --csv and --json are not written when the plot cannot be (its folder is a file; a missing
  // folder would be made).
  Tensor images = Tensor::zeros(DType::u8, {2, 28, 28}).value();
  Tensor labels = Tensor::zeros(DType::i32, {2}).value();
  REQUIRE(io::write_npy_file(tmp / "ix.npy", images.view()).ok());
  REQUIRE(io::write_npy_file(tmp / "iy.npy", labels.view()).ok());
  Run eval = run("eval --model " + std::string(FTC_SOURCE_DIR) + "/models/fmnist_resnet.onnx --data npy:" + tmp / "ix.npy," +
                 tmp / "iy.npy --baselines none --no-progress --bits 4 --csv " + tmp / "r.csv --json " + tmp / "r.json --plot " +
                 tmp / "plain/p.png");
  CHECK(eval.status == 1);
  CHECK_MESSAGE(one_clean_line(eval.err), eval.err);
  CHECK_FALSE(fs::exists(tmp / "r.csv"));
  CHECK_FALSE(fs::exists(tmp / "r.json"));
  Run same = run("eval --model " + std::string(FTC_SOURCE_DIR) + "/models/fmnist_resnet.onnx --data npy:" + tmp / "ix.npy," +
                 tmp / "iy.npy --csv " + tmp / "r.csv --json " + tmp / "r.csv");
  CHECK(same.status == 1);
  CHECK(same.err.find("--csv and --json name the same file") != std::string::npos);
#endif
}

TEST_CASE("/dev/full: a failed write is one line and exit 1; a device is written, never replaced") {
  TempDir tmp;
  REQUIRE(io::write_npy_file(tmp / "x.npy", test::features().view()).ok());
  REQUIRE(run("encode -q " + tmp / "x.npy -o " + tmp / "x.ftc").status == 0);
  for (const std::string cmd : {"encode -q " + tmp / "x.npy -o /dev/full -f", "decode " + tmp / "x.ftc -o /dev/full -f"}) {
    Run r = run(cmd);
    CHECK(r.status == 1);
    CHECK_MESSAGE(one_clean_line(r.err), r.err);
    CHECK(r.err.find("No space left on device") != std::string::npos);
  }
  // stdout on /dev/full (the harness's own redirection is the shell's here).
  for (const std::string cmd : {"decode " + tmp / "x.ftc -o -", "encode -q " + tmp / "x.npy -o -"}) {
    Run r = test::run_program("sh -c " + q(std::string(FTC_CLI) + " " + cmd + " > /dev/full"), "");
    CHECK(r.status == 1);
    CHECK_MESSAGE(one_clean_line(r.err), r.err);
    CHECK(r.err.find("stdout") != std::string::npos);
  }
  Run refused = run("decode " + tmp / "x.ftc -o /dev/null");
  CHECK(refused.status == 1);
  CHECK(refused.err.find("already exists") != std::string::npos);
  CHECK(run("decode " + tmp / "x.ftc -o /dev/null -f").status == 0);
  struct stat st;
  REQUIRE(::stat("/dev/null", &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK(listing(tmp.path.string()) == std::set<std::string>{"x.ftc", "x.npy"});
}

TEST_CASE("full disk: encode, decode and split fail in one line, keep the old file, leave nothing behind" * doctest::skip()) {
  TempDir tmp;
  const std::string mnt = tmp / "mnt";
  fs::create_directories(mnt);
  std::string why;
  if (::unshare(CLONE_NEWNS) != 0) why = std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
  else if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) why = std::string("mount --make-rprivate /: ") + std::strerror(errno);
  else if (::mount("tmpfs", mnt.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") != 0) why = std::string("mount tmpfs: ") + std::strerror(errno);
  if (!why.empty()) {
    std::printf("SKIPPED: needs a private 1 MiB tmpfs (root): %s\n", why.c_str());
    std::fflush(stdout);
    std::_Exit(77);  // ctest's SKIP_RETURN_CODE for outputs_cli_full_disk
  }
  struct Unmount {
    std::string dir;
    ~Unmount() { ::umount2(dir.c_str(), MNT_DETACH); }
  } unmount{mnt};

  // 2 MiB of noise: its lossless frame and its .npy are both over the 1 MiB disk.
  REQUIRE(io::write_npy_file(tmp / "big.npy", noise(512 * 1024, 1).view()).ok());
  REQUIRE(run("encode -q --lossless " + tmp / "big.npy -o " + tmp / "big.ftc").status == 0);
  REQUIRE(fs::file_size(tmp / "big.ftc") > 1100000);
  write_text(mnt + "/good.ftc", "old frame");
  write_text(mnt + "/good.npy", "old tensor");
  const std::set<std::string> before = {"good.ftc", "good.npy"};
  Run enc = run("encode -q --lossless " + tmp / "big.npy -o " + mnt + "/good.ftc -f");
  CHECK(enc.status == 1);
  CHECK_MESSAGE(one_clean_line(enc.err), enc.err);
  CHECK(enc.err.find("No space left on device") != std::string::npos);
  Run dec = run("decode " + tmp / "big.ftc -o " + mnt + "/good.npy -f");
  CHECK(dec.status == 1);
  CHECK_MESSAGE(one_clean_line(dec.err), dec.err);
  CHECK(text_of(mnt + "/good.ftc") == "old frame");
  CHECK(text_of(mnt + "/good.npy") == "old tensor");
  CHECK(listing(mnt) == before);

  // Two 600 KB tensors into a directory: the first fits, the second does not; neither stays, and
  // neither does the directory decode made, nor anything in a directory that held old files.
  Tensor a = noise(150 * 1024, 2), b = noise(150 * 1024, 3);
  auto two = Encoder().encode(std::vector<NamedTensorView>{{"a", a.view()}, {"b", b.view()}}).value();
  write_frame(tmp / "two.ftc", two);
  Run fresh = run("decode " + tmp / "two.ftc -o " + mnt + "/out");
  CHECK(fresh.status == 1);
  CHECK_MESSAGE(one_clean_line(fresh.err), fresh.err);
  CHECK(listing(mnt) == before);
  fs::create_directories(mnt + "/keep");
  write_text(mnt + "/keep/a.npy", "old a");
  write_text(mnt + "/keep/b.npy", "old b");
  Run kept = run("decode " + tmp / "two.ftc -o " + mnt + "/keep -f");
  CHECK(kept.status == 1);
  CHECK(listing(mnt + "/keep") == std::set<std::string>{"a.npy", "b.npy"});
  CHECK(text_of(mnt + "/keep/a.npy") == "old a");
  CHECK(text_of(mnt + "/keep/b.npy") == "old b");

#ifdef FTC_WITH_PIPELINE
  // split: one free page left, so the head (one page) fits and the tail does not.
  fs::remove_all(mnt + "/keep");
  write_text(mnt + "/h.onnx", "old head");
  write_text(mnt + "/t.onnx", "old tail");
  struct statvfs vfs;
  REQUIRE(::statvfs(mnt.c_str(), &vfs) == 0);
  const std::size_t free_bytes = static_cast<std::size_t>(vfs.f_bavail) * vfs.f_bsize;
  REQUIRE(free_bytes > 4096);
  write_text(mnt + "/filler", std::string(free_bytes - 4096, 'f'));
  const std::string model = std::string(FTC_SOURCE_DIR) + "/tests/data/onnx/skipnet.onnx";
  Run split = run("split " + model + " --at block_out --head " + mnt + "/h.onnx --tail " + mnt + "/t.onnx -f");
  CHECK(split.status == 1);
  CHECK_MESSAGE(one_clean_line(split.err), split.err);
  CHECK(split.err.find("No space left on device") != std::string::npos);
  CHECK(text_of(mnt + "/h.onnx") == "old head");
  CHECK(text_of(mnt + "/t.onnx") == "old tail");
  CHECK(listing(mnt) == std::set<std::string>{"filler", "good.ftc", "good.npy", "h.onnx", "t.onnx"});
#endif
}
