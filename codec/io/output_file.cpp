#include "codec/io/output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

namespace ftc::io {
namespace {

Status fail(const std::string& path, const std::string& what, int error_number) {
  return {StatusCode::io_error, path + ": " + what + ": " + std::strerror(error_number)};
}

// "<dir>/.<name>.<pid>-<n><suffix>" beside `path`; the name part is cut so that the whole stays
// under NAME_MAX (255) for any target name.
std::string sibling_name(const std::string& path, const char* suffix) {
  static std::atomic<unsigned> counter{0};
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.size() > 200) name.resize(200);
  return dir + "." + name + "." + std::to_string(::getpid()) + "-" + std::to_string(counter++) + suffix;
}

// rename(2) of `from` over `to`, or with RENAME_NOREPLACE when `replace` is false (on file systems
// without it: a check for `to` first, racy only against other writers of the same name).
// 0 or an errno.
int rename_into_place(const std::string& from, const std::string& to, bool replace) {
  if (!replace) {
#ifdef RENAME_NOREPLACE
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return errno;
#endif
    struct stat st;
    if (::lstat(to.c_str(), &st) == 0) return EEXIST;
  }
  return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : errno;
}

Status rename_error(const std::string& path, int error_number) {
  if (error_number == EEXIST) return {StatusCode::io_error, path + ": already exists (use -f to overwrite)"};
  return fail(path, "cannot rename into place", error_number);
}

}  // namespace

Result<OutputFile> OutputFile::create(const std::string& path, Overwrite overwrite) {
  if (path.empty()) return Status{StatusCode::invalid_argument, "empty output path"};
  OutputFile f;
  f.path_ = path;
  f.replace_ = overwrite == Overwrite::replace;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 || ::lstat(path.c_str(), &st) == 0) {  // a dangling symlink: lstat
    if (S_ISDIR(st.st_mode)) return Status{StatusCode::io_error, path + ": is a directory"};
    if (!f.replace_) return Status{StatusCode::io_error, path + ": already exists (use -f to overwrite)"};
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISBLK(st.st_mode)) {
      f.fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (f.fd_ < 0) return fail(path, "cannot open", errno);
      f.temp_ = path;
      f.in_place_ = true;
      return f;
    }
  }
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string temp = sibling_name(path, ".tmp");
    f.fd_ = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (f.fd_ >= 0) {
      f.temp_ = std::move(temp);
      f.pending_ = true;
      return f;
    }
    if (errno != EEXIST) return fail(path, "cannot create a temporary file beside it", errno);
  }
  return fail(path, "cannot create a temporary file beside it", EEXIST);
}

OutputFile::OutputFile(OutputFile&& o) noexcept
    : path_(std::move(o.path_)), temp_(std::move(o.temp_)), fd_(std::exchange(o.fd_, -1)), in_place_(o.in_place_),
      replace_(o.replace_), pending_(std::exchange(o.pending_, false)) {}

OutputFile& OutputFile::operator=(OutputFile&& o) noexcept {
  if (this != &o) {
    discard();
    path_ = std::move(o.path_);
    temp_ = std::move(o.temp_);
    fd_ = std::exchange(o.fd_, -1);
    in_place_ = o.in_place_;
    replace_ = o.replace_;
    pending_ = std::exchange(o.pending_, false);
  }
  return *this;
}

OutputFile::~OutputFile() { discard(); }

void OutputFile::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (pending_ && !in_place_) ::unlink(temp_.c_str());
  pending_ = false;
}

Status OutputFile::write(std::span<const std::uint8_t> bytes) {
  if (fd_ < 0) return {StatusCode::invalid_argument, path_ + ": write after finish"};
  const std::uint8_t* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = n < 0 ? errno : EIO;
      discard();
      return fail(path_, "write failed", e);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return {};
}

Status OutputFile::finish() {
  if (fd_ < 0) return pending_ || in_place_ ? Status{} : Status{StatusCode::io_error, path_ + ": output already discarded"};
  // fsync before the rename: after a crash the target is the old file or the whole new one, never
  // an empty or short file under the final name. Devices and FIFOs have nothing to sync.
  if (!in_place_ && ::fsync(fd_) != 0) {
    const int e = errno;
    discard();
    return fail(path_, "write failed", e);
  }
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) {
    const int e = errno;
    discard();
    return fail(path_, "write failed", e);
  }
  return {};
}

Status OutputFile::commit() {
  FTC_RETURN_IF_ERROR(finish());
  if (in_place_) return {};
  if (const int e = rename_into_place(temp_, path_, replace_); e != 0) {
    discard();
    return rename_error(path_, e);
  }
  pending_ = false;
  return {};
}

Status commit_together(std::span<OutputFile> files) {
  auto discard_all = [&] {
    for (auto& f : files) f.discard();
  };
  for (auto& f : files) {
    if (Status s = f.finish(); !s.ok()) {
      discard_all();
      return s;
    }
  }
  std::vector<std::string> backups(files.size());
  std::vector<bool> renamed(files.size(), false);
  for (std::size_t i = 0; i < files.size(); ++i) {
    OutputFile& f = files[i];
    if (f.in_place_) continue;
    struct stat st;
    if (f.replace_ && ::lstat(f.path_.c_str(), &st) == 0) {
      // A hard link keeps the old file reachable until every rename has succeeded. Where links are
      // not supported the old file cannot be restored; the renames still go ahead.
      for (int attempt = 0; attempt < 100; ++attempt) {
        std::string b = sibling_name(f.path_, ".old");
        if (::link(f.path_.c_str(), b.c_str()) == 0) {
          backups[i] = std::move(b);
          break;
        }
        if (errno != EEXIST) break;
      }
    }
    if (const int e = rename_into_place(f.temp_, f.path_, f.replace_); e != 0) {
      for (std::size_t j = 0; j < i; ++j) {
        if (!renamed[j]) continue;
        if (!backups[j].empty()) ::rename(backups[j].c_str(), files[j].path_.c_str());
        else ::unlink(files[j].path_.c_str());
        backups[j].clear();
      }
      for (const auto& b : backups)
        if (!b.empty()) ::unlink(b.c_str());
      discard_all();
      return rename_error(f.path_, e);
    }
    renamed[i] = true;
    f.pending_ = false;
  }
  for (const auto& b : backups)
    if (!b.empty()) ::unlink(b.c_str());
  return {};
}

Status write_file(const std::string& path, std::span<const std::uint8_t> bytes, Overwrite overwrite) {
  FTC_ASSIGN_OR_RETURN(OutputFile f, OutputFile::create(path, overwrite));
  FTC_RETURN_IF_ERROR(f.write(bytes));
  return f.commit();
}

}  // namespace ftc::io
