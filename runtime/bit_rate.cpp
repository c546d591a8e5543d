#include "runtime/bit_rate.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

namespace ftc::runtime {

Result<double> parse_bit_rate(std::string_view text) {
  const auto bad = [&](const char* why) {
    return Status{StatusCode::invalid_argument,
                  "bit rate '" + std::string(text) + "': " + why + " (e.g. 1mbit, 250kbit, 0.1mbit, 56000)"};
  };
  std::string s;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s.empty()) return bad("empty");
  std::size_t n = 0;
  while (n < s.size() && (std::isdigit(static_cast<unsigned char>(s[n])) || s[n] == '.' || s[n] == 'e' ||
                          ((s[n] == '+' || s[n] == '-') && n > 0 && s[n - 1] == 'e')))
    ++n;
  // An 'e' directly before the unit's end is not an exponent ("1e" is not a number).
  double value = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + n, value);
  if (ec != std::errc{} || ptr != s.data() + n || n == 0) return bad("not a number");
  std::string_view unit(s.data() + n, s.size() - n);
  double scale = 1;
  if (!unit.empty() && (unit[0] == 'k' || unit[0] == 'm' || unit[0] == 'g')) {
    scale = unit[0] == 'k' ? 1e3 : unit[0] == 'm' ? 1e6 : 1e9;
    unit.remove_prefix(1);
  }
  if (!(unit.empty() || unit == "bit" || unit == "bps" || unit == "bit/s" || unit == "bits"))
    return bad("unknown unit");
  if (unit.empty() && scale != 1) return bad("say kbit, mbit or gbit");
  const double bps = value * scale;
  if (!std::isfinite(bps) || !(bps > 0)) return bad("must be a positive rate");
  return bps;
}

}  // namespace ftc::runtime
