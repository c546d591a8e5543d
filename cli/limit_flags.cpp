// The decoder-limit flags (see limit_flags.hpp).
#include "cli/limit_flags.hpp"

#include <string>

namespace ftc::cli {

std::shared_ptr<LimitFlags> add_limit_flags(CLI::App& app, bool for_encoder) {
  auto f = std::make_shared<LimitFlags>();
  const DecoderLimits d;
  const std::string whose = for_encoder ? "Refuse to write frames a decoder limited to this would refuse: " : "Refuse frames over this: ";
  const auto add = [&](const char* name, std::uint64_t& value, const std::string& what, std::uint64_t def) {
    app.add_option(name, value, whose + what + " (default " + std::to_string(def) + ")")
        ->check(CLI::Range(std::uint64_t{1}, UINT64_MAX));
  };
  add("--max-elements", f->max_elements_, "elements per frame", d.max_elements);
  add("--max-output-bytes", f->max_output_bytes_, "decoded bytes per frame", d.max_output_bytes);
  add("--max-chunks", f->max_chunks_, "chunks per frame", d.max_chunks);
  add("--max-table-entries", f->max_table_entries_,
      "coder table entries per frame, itself capped at 16 x frame bytes + elements + 2^20", d.max_table_entries);
  return f;
}

void LimitFlags::apply(DecoderLimits& limits) const {
  if (max_elements_) limits.max_elements = max_elements_;
  if (max_output_bytes_) limits.max_output_bytes = max_output_bytes_;
  if (max_chunks_) limits.max_chunks = max_chunks_;
  if (max_table_entries_) limits.max_table_entries = max_table_entries_;
}

std::uint64_t max_frame_bytes(const DecoderLimits& l) {
  const auto add = [](std::uint64_t a, std::uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; };
  const auto mul = [](std::uint64_t a, std::uint64_t k) { return a > UINT64_MAX / k ? UINT64_MAX : a * k; };
  return add(add(mul(l.max_output_bytes, 4), mul(l.max_table_entries, 8)), add(mul(l.max_chunks, 16), std::uint64_t{1} << 20));
}

}  // namespace ftc::cli
