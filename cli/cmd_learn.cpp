// ftc learn — trains a learned bottleneck for a split of an ONNX classifier with the Python
// trainer (train/learn.py, run by /usr/bin/python3 or $FTC_PYTHON through posix_spawn, no shell;
// its progress goes straight to the terminal), then packs DIR/codec.ftcm from what it wrote
// (runtime::pack_learned). `ftc learn --pack DIR` only packs.
//
// The output directory appears whole or not at all: the trainer writes into a temporary sibling
// directory, the packer adds codec.ftcm there, and only then is it renamed to DIR.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/text.hpp"
#include "runtime/learned.hpp"

extern char** environ;

namespace ftc::cli {
namespace {

namespace fs = std::filesystem;

struct LearnArgs {
  std::string pack;
  std::string model, at, data = "fashion-mnist:train", out, data_dir;
  std::optional<double> rate_weight, prune, minutes, tail_lr;
  std::optional<int> latent_channels, epochs, seed;
  bool finetune_tail = false, test = false, force = false;
  // As parsed; copied into the optionals above when given.
  double rate_weight_v = 0, prune_v = 0, minutes_v = 0, tail_lr_v = 0;
  int latent_channels_v = 0, epochs_v = 0, seed_v = 0;
};

const char* kInstallHint = "install it with scripts/install-deps.sh (python3, python3-torch, python3-onnx)";

std::string hex64(std::uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

// Runs argv[0] with argv, stdout/stderr inherited (quiet: both to /dev/null); the exit status,
// or -1 when it could not be started or did not exit.
int spawn_wait(const std::vector<std::string>& args, bool quiet, std::string& error) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (quiet) {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    error = std::strerror(rc);
    return -1;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      error = std::strerror(errno);
      return -1;
    }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  error = WIFSIGNALED(status) ? std::string("killed by signal ") + std::to_string(WTERMSIG(status)) : "did not exit";
  return -1;
}

// The trainer's folder: $FTC_TRAIN_DIR, the installed share/ftc/train beside this program's
// bin/, or the source tree's train/.
std::optional<fs::path> find_trainer() {
  std::vector<fs::path> places;
  if (const char* env = std::getenv("FTC_TRAIN_DIR"); env && *env) places.emplace_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) places.push_back(exe.parent_path().parent_path() / "share" / "ftc" / "train");
#ifdef FTC_SOURCE_TRAIN_DIR
  places.emplace_back(FTC_SOURCE_TRAIN_DIR);
#endif
  for (const auto& p : places)
    if (fs::is_regular_file(p / "learn.py", ec)) return p;
  return std::nullopt;
}

int print_pack(const runtime::PackResult& r) {
  const auto& lt = r.file.learned->latent;
  std::string shape;
  for (auto d : lt.shape) shape += (shape.empty() ? "" : "x") + std::to_string(d);
  std::printf("wrote %s: %zu bytes, model id %llu; latent %s %s, %u levels (%d-bit symbols), context-rans tables %zu bytes;"
              " device graph xxh64:%s, server graph xxh64:%s\n",
              printable(r.path).c_str(), r.bytes.size(), static_cast<unsigned long long>(r.file.model_id),
              printable(lt.name).c_str(), shape.c_str(), r.alphabet, r.bits, r.table_bytes, hex64(r.device_hash).c_str(),
              hex64(r.server_hash).c_str());
  return 0;
}

int run_pack(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return fail(dir, "not a directory");
  auto r = runtime::pack_learned(dir);
  if (!r.ok()) return fail("learn --pack", r.status().message());
  return print_pack(*r);
}

Status check_args(const LearnArgs& a) {
  auto bad = [](const std::string& m) { return Status{StatusCode::invalid_argument, m}; };
  if (a.model.empty()) return bad("--model is required (or --pack DIR)");
  if (a.at.empty()) return bad("--at is required");
  if (a.out.empty()) return bad("--out is required");
  std::error_code ec;
  if (!fs::is_regular_file(a.model, ec)) return bad(a.model + ": no such file");
  if (a.rate_weight && !(std::isfinite(*a.rate_weight) && *a.rate_weight >= 0)) return bad("--rate-weight must be finite and >= 0");
  if (a.prune && !(*a.prune >= 0 && *a.prune < 1)) return bad("--prune must be in [0, 1)");
  if (a.minutes && !(std::isfinite(*a.minutes) && *a.minutes > 0)) return bad("--minutes must be > 0");
  if (a.latent_channels && (*a.latent_channels < 1 || *a.latent_channels > 4096)) return bad("--latent-channels must be 1..4096");
  if (a.epochs && *a.epochs < 1) return bad("--epochs must be >= 1");
  if (a.tail_lr && !a.finetune_tail) return bad("--tail-lr needs --finetune-tail");
  if (a.tail_lr && !(*a.tail_lr > 0 && *a.tail_lr <= 10)) return bad("--tail-lr must be in (0, 10]");
  if (a.seed && *a.seed < 0) return bad("--seed must be >= 0");
  const fs::path out = fs::absolute(a.out).lexically_normal();
  if (fs::exists(out, ec) && !a.force) return bad(a.out + ": already exists (use -f to replace it)");
  if (fs::exists(out, ec) && !fs::is_directory(out, ec)) return bad(a.out + ": exists and is not a directory");
  const fs::path parent = out.parent_path();
  if (!fs::is_directory(parent, ec)) return bad(parent.string() + ": no such directory");
  if (access(parent.c_str(), W_OK | X_OK) != 0) return bad("cannot write in " + parent.string() + ": " + std::strerror(errno));
  return {};
}

int run_learn(const LearnArgs& a) {
  if (Status s = check_args(a); !s.ok()) return fail("learn", s.message());
  const char* env = std::getenv("FTC_PYTHON");
  const std::string python = env && *env ? env : "/usr/bin/python3";
  if (access(python.c_str(), X_OK) != 0)
    return fail("learn", python + " not found (" + std::strerror(errno) + "): the trainer needs Python 3 with torch; " + kInstallHint);
  std::string error;
  if (spawn_wait({python, "-c", "import torch, onnx, numpy"}, true, error) != 0)
    return fail("learn", python + " cannot import torch, onnx and numpy; " + kInstallHint);
  const auto trainer = find_trainer();
  if (!trainer) return fail("learn", "train/learn.py not found (set FTC_TRAIN_DIR, or install ftc with its share/ftc/train)");

  const fs::path out = fs::absolute(a.out).lexically_normal();
  const fs::path tmp = out.parent_path() / ("." + out.filename().string() + ".learn-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(tmp, ec);
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code e;
      if (!p.empty()) fs::remove_all(p, e);
    }
  } cleanup{tmp};

  std::vector<std::string> args = {python, (*trainer / "learn.py").string(), "--model", fs::absolute(a.model).string(),
                                   "--at", a.at, "--data", a.data, "--out", tmp.string()};
  auto num = [](double v) {
    char b[64];
    std::snprintf(b, sizeof b, "%.17g", v);
    return std::string(b);
  };
  if (!a.data_dir.empty()) args.insert(args.end(), {"--data-dir", a.data_dir});
  if (a.rate_weight) args.insert(args.end(), {"--rate-weight", num(*a.rate_weight)});
  if (a.latent_channels) args.insert(args.end(), {"--latent-channels", std::to_string(*a.latent_channels)});
  if (a.prune) args.insert(args.end(), {"--prune", num(*a.prune)});
  if (a.minutes) args.insert(args.end(), {"--minutes", num(*a.minutes)});
  if (a.epochs) args.insert(args.end(), {"--epochs", std::to_string(*a.epochs)});
  if (a.seed) args.insert(args.end(), {"--seed", std::to_string(*a.seed)});
  if (a.finetune_tail) args.push_back("--finetune-tail");
  if (a.tail_lr) args.insert(args.end(), {"--tail-lr", num(*a.tail_lr)});
  if (a.test) args.push_back("--test");
  std::fprintf(stderr, "ftc learn: %s %s …\n", printable(python).c_str(), printable(args[1]).c_str());
  std::fflush(stderr);
  const int rc = spawn_wait(args, false, error);
  if (rc != 0)
    return fail("learn", rc < 0 ? "the trainer " + error : "the trainer failed (exit status " + std::to_string(rc) + "); " + a.out + " not written");

  auto packed = runtime::pack_learned(tmp.string());
  if (!packed.ok()) return fail("learn", packed.status().message() + "; " + a.out + " not written");
  // Replace: the old directory is moved aside first and removed only once the new one is in place.
  fs::path old;
  if (fs::exists(out, ec)) {
    old = out.parent_path() / ("." + out.filename().string() + ".old-" + std::to_string(::getpid()));
    fs::rename(out, old, ec);
    if (ec) return fail(a.out, "cannot replace: " + ec.message());
  }
  fs::rename(tmp, out, ec);
  if (ec) {
    std::error_code e2;
    if (!old.empty()) fs::rename(old, out, e2);
    return fail(a.out, "cannot rename the trained directory into place: " + ec.message());
  }
  cleanup.p.clear();
  if (!old.empty()) fs::remove_all(old, ec);
  packed->path = (out / "codec.ftcm").string();
  return print_pack(*packed);
}

}  // namespace

Command add_learn(CLI::App& root) {
  auto a = std::make_shared<LearnArgs>();
  CLI::App* sub = root.add_subcommand(
      "learn",
      "Train a learned bottleneck (train/learn.py, Python + torch) at a split of an ONNX classifier and pack\n"
      "DIR/codec.ftcm; or, with --pack DIR, only pack a trainer's output directory");
  sub->add_option("--pack", a->pack, "Only pack DIR/codec.json and its graphs into DIR/codec.ftcm");
  sub->add_option("--model", a->model, "ONNX classifier (its model card M.json beside it)");
  sub->add_option("--at", a->at, "Tensor to split at");
  sub->add_option("--data", a->data, "Training images (the trainer's data spec)")->capture_default_str();
  sub->add_option("--fashion-mnist-dir", a->data_dir, "Directory of the Fashion-MNIST idx files");
  sub->add_option("--out", a->out, "Output directory: device.onnx, server.onnx, codec.json, report.json, codec.ftcm");
  auto* rw = sub->add_option("--rate-weight", a->rate_weight_v, "lambda: loss per bit of the latent");
  auto* lc = sub->add_option("--latent-channels", a->latent_channels_v, "Channels of the latent");
  auto* pr = sub->add_option("--prune", a->prune_v, "Fraction of the head's last layers' channels to prune");
  auto* mi = sub->add_option("--minutes", a->minutes_v, "Stop training after this many minutes");
  auto* ep = sub->add_option("--epochs", a->epochs_v, "Training epochs");
  auto* se = sub->add_option("--seed", a->seed_v, "Random seed");
  sub->add_flag("--finetune-tail", a->finetune_tail, "Also fine-tune the tail (server side)");
  auto* tl = sub->add_option("--tail-lr", a->tail_lr_v, "With --finetune-tail: the tail's learning rate as a fraction of the bottleneck's (0.1)");
  sub->add_flag("--test", a->test, "Also report test-set figures in report.json");
  sub->add_flag("-f,--force", a->force, "Replace an existing output directory");
  return {sub, [a, rw, lc, pr, mi, ep, se, tl]() {
            if (rw->count()) a->rate_weight = a->rate_weight_v;
            if (lc->count()) a->latent_channels = a->latent_channels_v;
            if (pr->count()) a->prune = a->prune_v;
            if (mi->count()) a->minutes = a->minutes_v;
            if (ep->count()) a->epochs = a->epochs_v;
            if (se->count()) a->seed = a->seed_v;
            if (tl->count()) a->tail_lr = a->tail_lr_v;
            if (!a->pack.empty()) {
              if (!a->model.empty() || !a->out.empty()) return fail("learn", "--pack takes no --model or --out");
              return run_pack(a->pack);
            }
            return run_learn(*a);
          }};
}

}  // namespace ftc::cli
