// Link rates and durations as people write them on a command line: "100kbit", "1mbit",
// "1.5Mbit/s", "20ms". Link rates are runtime/bit_rate.hpp's parse_bit_rate (shared with
// ftc infer); durations are here.
#pragma once

#include <string_view>

#include "ftc/ftc.hpp"
#include "runtime/bit_rate.hpp"

namespace ftc::runtime {

// Seconds, ≥ 0 and finite. Accepts NUMBER UNIT with UNIT one of us, ms, s; "0" alone is 0.
Result<double> parse_duration(std::string_view text);

}  // namespace ftc::runtime
