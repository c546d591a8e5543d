#include "cli/file_io.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace ftc::cli {

Result<std::vector<std::uint8_t>> read_input(const std::string& path) {
  std::FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (!f) return Status{StatusCode::io_error, std::strerror(errno)};
  std::vector<std::uint8_t> bytes;
  std::uint8_t buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.insert(bytes.end(), buf, buf + n);
  const bool failed = std::ferror(f) != 0;
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

}  // namespace ftc::cli
