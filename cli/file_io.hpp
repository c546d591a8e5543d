// Whole-file reads and writes for the command line, with "-" for stdin/stdout and zstd's
// overwrite rule: an existing output file is refused unless forced. Files are written
// all-or-nothing (io::OutputFile: a temporary file beside the target, renamed into place only
// when every byte is on disk); stdout is a stream.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "codec/io/output_file.hpp"
#include "ftc/ftc.hpp"

namespace ftc::cli {

Result<std::vector<std::uint8_t>> read_input(const std::string& path);

// Looks at the bytes read so far: ok or truncated to read on, any other status to stop there
// (e.g. a frame whose header is already corrupt).
using InputProbe = std::function<Status(std::span<const std::uint8_t>)>;

// A frame input: a regular file is mapped read-only (only the pages a parser touches are read:
// `ftc info` reads the header and the chunk lengths, not the payloads); stdin or another stream
// is read in pieces, each checked against `max_bytes` before the buffer grows and, at doubling
// sizes from 64 KiB, shown to `probe`. limit_exceeded when the input is over `max_bytes`.
class FrameInput {
 public:
  static Result<FrameInput> open(const std::string& path, std::uint64_t max_bytes, const InputProbe& probe);
  FrameInput(FrameInput&& o) noexcept;
  FrameInput& operator=(FrameInput&&) = delete;
  ~FrameInput();
  std::span<const std::uint8_t> bytes() const { return map_ ? std::span<const std::uint8_t>(map_, map_size_) : std::span<const std::uint8_t>(read_); }

 private:
  FrameInput() = default;
  const std::uint8_t* map_ = nullptr;
  std::size_t map_size_ = 0;
  std::vector<std::uint8_t> read_;
};
Status write_output(const std::string& path, std::span<const std::uint8_t> bytes, bool force);
// A tensor as .npy to `path` (or stdout), under the same overwrite rule; to a file, a contiguous
// little-endian tensor is written from its own memory, not from a copy.
Status write_npy_output(const std::string& path, const TensorView& view, bool force);

inline io::Overwrite overwrite_if(bool force) { return force ? io::Overwrite::replace : io::Overwrite::refuse; }

// An output must not be one of the command's inputs: with -f, writing it would replace the input
// (also through another spelling of its path or a hard link: the files are compared by device and
// inode). io_error "<output>: is the input <input>; write to another file". "-" is never a file.
Status check_not_input(const std::string& output, const std::vector<std::string>& inputs);

}  // namespace ftc::cli
