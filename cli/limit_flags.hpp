// The decoder-limit flags of `ftc encode`, `ftc decode` and `ftc info`, in one place:
// --max-elements, --max-output-bytes, --max-chunks, --max-table-entries (SECURITY.md's limits
// table). decode and info apply them to their decoder; encode to the limits of the decoder its
// frame is for (EncoderOptions::decoder_limits), so that it refuses a frame that decoder would
// refuse. A flag not given keeps the library's default.
#pragma once

#include <cstdint>
#include <memory>

#include <CLI/CLI.hpp>

#include "ftc/ftc.hpp"

namespace ftc::cli {

class LimitFlags {
 public:
  // Copies the flags given into `limits`.
  void apply(DecoderLimits& limits) const;

 private:
  friend std::shared_ptr<LimitFlags> add_limit_flags(CLI::App& app, bool for_encoder);
  std::uint64_t max_elements_ = 0, max_output_bytes_ = 0, max_chunks_ = 0, max_table_entries_ = 0;
};

// Registers the flags on `app` (help worded for the encoder when `for_encoder`). Keep the returned
// object alive while `app` parses.
std::shared_ptr<LimitFlags> add_limit_flags(CLI::App& app, bool for_encoder);

// The largest frame a decoder with these limits can accept, as a cap on reading a frame (stdin
// included) before it is parsed: 4 bytes of payload a decoded byte (a symbol of up to 16 bits,
// escaped, costs ≤ 32 bits), 8 bytes a table entry of the coder parameters, 16 bytes a chunk's
// length and checksum, and 1 MiB of header; saturating.
std::uint64_t max_frame_bytes(const DecoderLimits& limits);

}  // namespace ftc::cli
