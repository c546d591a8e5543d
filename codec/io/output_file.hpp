// Output files written all-or-nothing. Bytes go to a temporary file created beside the target
// (same directory, so that the final rename stays on one file system), every write, the fsync and
// the close are checked, and only then is the temporary file renamed over the target. On any
// failure the temporary file is removed: the target is either untouched (absent, or its previous
// content) or the whole new file; never a prefix of it.
//
// Rules every writer of ftc (CLI, runtime, Python) gets from here:
//  - Temporary names are ".<target name>.<pid>-<n>.tmp" in the target's directory, created with
//    O_CREAT|O_EXCL (never an existing file, never through a symlink) and mode 0666 minus umask.
//  - Overwrite::refuse fails with io_error "already exists (use -f to overwrite)" when the target
//    exists, checked before anything is written and again, race-free, by the final rename
//    (renameat2 RENAME_NOREPLACE where the file system supports it).
//  - A target that exists and is not a regular file or a symlink (a character device such as
//    /dev/null, a FIFO) is written in place, as a stream: there is nothing to rename over.
//    A directory is refused.
//  - Messages name the target: "<path>: <what failed>: <strerror>".
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ftc/ftc.hpp"

namespace ftc::io {

enum class Overwrite { refuse, replace };

class OutputFile {
 public:
  // Opens the temporary file for `path` (or `path` itself when it is a device or FIFO).
  [[nodiscard]] static Result<OutputFile> create(const std::string& path, Overwrite overwrite);

  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&& other) noexcept;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  // An output neither committed nor already failed is discarded: the temporary file is removed.
  ~OutputFile();

  [[nodiscard]] Status write(std::span<const std::uint8_t> bytes);
  // fsync and close; the file keeps its temporary name. Idempotent.
  [[nodiscard]] Status finish();
  // finish(), then rename over the target. After a failure the temporary file is gone.
  [[nodiscard]] Status commit();
  // Removes the temporary file (or, for a device, does nothing). Idempotent.
  void discard() noexcept;

  const std::string& path() const noexcept { return path_; }
  // Where the bytes are going until commit(): the temporary file, or path() for a device. A
  // program that writes the file itself (gnuplot) may be pointed here; write() is then not used.
  const std::string& temp_path() const noexcept { return temp_; }

 private:
  OutputFile() = default;
  friend Status commit_together(std::span<OutputFile> files);
  std::string path_, temp_;
  int fd_ = -1;
  bool in_place_ = false;   // a device or FIFO: temp_ == path_, nothing to rename or remove
  bool replace_ = false;
  bool pending_ = false;    // temp_ exists and is ours to remove
};

// Commits several outputs so that they appear together or not at all: every file is finished
// (fsync, close) before any is renamed; when a rename fails, the targets already renamed are put
// back as they were (an overwritten file is restored from a hard link taken before the rename;
// a new one is removed) and every temporary file is removed.
[[nodiscard]] Status commit_together(std::span<OutputFile> files);

// One file, all-or-nothing.
[[nodiscard]] Status write_file(const std::string& path, std::span<const std::uint8_t> bytes, Overwrite overwrite);

}  // namespace ftc::io
