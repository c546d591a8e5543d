#include "cli/file_io.hpp"

#include "codec/io/npy.hpp"

#include <sys/stat.h>

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
