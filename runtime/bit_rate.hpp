// Link rates as the command line gives them: "1mbit", "250kbit", "0.1Mbit", "10mbps", "56000",
// "2gbit". The unit is bits per second with an optional SI prefix (k = 10^3, m = 10^6,
// g = 10^9), case-insensitive; "bit", "bps" and "bit/s" are the same unit, and a bare number is
// bits per second. Shared by `ftc infer --uplink` and the planner's `--uplink`.
#pragma once

#include <string_view>

#include "ftc/ftc.hpp"

namespace ftc::runtime {

// Bits per second, finite and > 0; invalid_argument naming the text otherwise.
Result<double> parse_bit_rate(std::string_view text);

}  // namespace ftc::runtime
