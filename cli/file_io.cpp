#include "cli/file_io.hpp"

#include "codec/io/npy.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

namespace ftc::cli {

Result<std::vector<std::uint8_t>> read_input(const std::string& path) {
  std::FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (!f) return Status{StatusCode::io_error, std::strerror(errno)};
  std::vector<std::uint8_t> bytes;
  std::uint8_t buf[1 << 16];
  std::size_t n;
  bool failed = false;
  try {
    if (path != "-") io::reserve_file_size(path, bytes);
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.insert(bytes.end(), buf, buf + n);
  } catch (const std::bad_alloc&) {
    if (f != stdin) std::fclose(f);
    return Status{StatusCode::out_of_memory, "input too large for memory"};
  }
  failed = std::ferror(f) != 0;
  if (f != stdin) std::fclose(f);
  if (failed) return Status{StatusCode::io_error, "read failed"};
  return bytes;
}

FrameInput::FrameInput(FrameInput&& o) noexcept : map_(o.map_), map_size_(o.map_size_), read_(std::move(o.read_)) {
  o.map_ = nullptr;
  o.map_size_ = 0;
}

FrameInput::~FrameInput() {
  if (map_) ::munmap(const_cast<std::uint8_t*>(map_), map_size_);
}

Result<FrameInput> FrameInput::open(const std::string& path, std::uint64_t max_bytes, const InputProbe& probe) {
  const auto too_large = [&] {
    return Status{StatusCode::limit_exceeded, "input larger than " + std::to_string(max_bytes) +
                                                  " bytes, the largest frame the decoder's limits allow (--max-output-bytes, --max-table-entries, --max-chunks)"};
  };
  FrameInput in;
  const int fd = path == "-" ? 0 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status{StatusCode::io_error, std::strerror(errno)};
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && path != "-") {
    const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
    Status s;
    if (size > max_bytes) s = too_large();
    else if (size > 0) {
      void* p = ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) s = Status{StatusCode::io_error, std::strerror(errno)};
      else {
        in.map_ = static_cast<const std::uint8_t*>(p);
        in.map_size_ = static_cast<std::size_t>(size);
      }
    }
    ::close(fd);
    if (!s.ok()) return s;
    return in;
  }
  // A stream: pieces of 64 KiB, the probe at 64 KiB, 128 KiB, 256 KiB, … and never more than
  // max_bytes held.
  std::uint8_t buf[1 << 16];
  std::uint64_t next_probe = sizeof buf;
  Status s;
  try {
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) { s = Status{StatusCode::io_error, std::string("read failed: ") + std::strerror(errno)}; break; }
      if (n == 0) break;
      if (static_cast<std::uint64_t>(n) > max_bytes - in.read_.size()) { s = too_large(); break; }
      in.read_.insert(in.read_.end(), buf, buf + n);
      if (in.read_.size() >= next_probe) {
        next_probe = in.read_.size() * 2;
        if (probe) {
          const Status p = probe(in.read_);
          if (!p.ok() && p.code() != StatusCode::truncated) { s = p; break; }
        }
      }
    }
  } catch (const std::bad_alloc&) {
    s = Status{StatusCode::out_of_memory, "input too large for memory"};
  }
  if (fd != 0) ::close(fd);
  if (!s.ok()) return s;
  return in;
}

Status write_output(const std::string& path, std::span<const std::uint8_t> bytes, bool force) {
  if (path == "-") {
    if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() || std::fflush(stdout) != 0)
      return {StatusCode::io_error, "write to stdout failed"};
    return {};
  }
  return io::write_file(path, bytes, overwrite_if(force));
}

Status write_npy_output(const std::string& path, const TensorView& view, bool force) {
  if (path == "-") {
    const std::vector<std::uint8_t> bytes = io::write_npy(view);
    if (bytes.empty()) return {StatusCode::out_of_memory, "cannot encode the tensor as .npy"};
    return write_output(path, bytes, force);
  }
  FTC_ASSIGN_OR_RETURN(io::OutputFile out, io::OutputFile::create(path, overwrite_if(force)));
  FTC_RETURN_IF_ERROR(io::write_npy(out, view));
  return out.commit();
}

Status check_not_input(const std::string& output, const std::vector<std::string>& inputs) {
  struct stat out;
  if (output == "-" || ::stat(output.c_str(), &out) != 0) return {};
  for (const auto& in : inputs) {
    struct stat st;
    if (in != "-" && ::stat(in.c_str(), &st) == 0 && st.st_dev == out.st_dev && st.st_ino == out.st_ino)
      return {StatusCode::io_error, output + ": is the input " + in + "; write to another file"};
  }
  return {};
}

}  // namespace ftc::cli
