#include "cli/file_io.hpp"

#include "codec/io/npy.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
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

Status write_output(const std::string& path, std::span<const std::uint8_t> bytes, bool force) {
  if (path == "-") {
    if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() || std::fflush(stdout) != 0)
      return {StatusCode::io_error, "write to stdout failed"};
    return {};
  }
  std::error_code ec;
  if (!force && std::filesystem::exists(path, ec))
    return {StatusCode::io_error, "already exists (use -f to overwrite)"};
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return {StatusCode::io_error, std::strerror(errno)};
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  if (std::fclose(f) != 0 || !ok) return {StatusCode::io_error, "write failed"};
  return {};
}

Status write_npy_output(const std::string& path, const TensorView& view, bool force) {
  if (path == "-") {
    const std::vector<std::uint8_t> bytes = io::write_npy(view);
    if (bytes.empty()) return {StatusCode::out_of_memory, "cannot encode the tensor as .npy"};
    return write_output(path, bytes, force);
  }
  std::error_code ec;
  if (!force && std::filesystem::exists(path, ec))
    return {StatusCode::io_error, "already exists (use -f to overwrite)"};
  return io::write_npy_file(path, view);
}

}  // namespace ftc::cli
