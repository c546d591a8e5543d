// Link rates and durations as people write them on a command line: "100kbit", "1mbit",
// "1.5Mbit/s", "20ms". Prefixes are decimal (SI: k = 10³, M = 10⁶, G = 10⁹), as link rates are
// quoted; a unit is required (a bare "1" could mean bit/s or Mbit/s).
#pragma once

#include <string_view>

#include "ftc/ftc.hpp"

namespace ftc::runtime {

// Bits per second, > 0 and finite. Accepts NUMBER UNIT with UNIT one of bit, kbit, mbit, gbit
// (any case), optionally followed by "/s" or "ps" ("10Mbps"). invalid_argument otherwise.
Result<double> parse_bit_rate(std::string_view text);

// Seconds, ≥ 0 and finite. Accepts NUMBER UNIT with UNIT one of us, ms, s; "0" alone is 0.
Result<double> parse_duration(std::string_view text);

}  // namespace ftc::runtime
