// Duration parsing (units.hpp).
#include "runtime/units.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

namespace ftc::runtime {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Splits "1.5mbit/s" into 1.5 and "mbit/s"; false when no number starts the text or the number
// is not finite.
bool split_number(std::string_view text, double& value, std::string& unit) {
  const char* first = text.data();
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc{} || end == first || !std::isfinite(value)) return false;
  unit = lower(std::string_view(end, static_cast<std::size_t>(last - end)));
  return true;
}

Status bad(std::string_view text, const char* what) {
  std::string msg = "'";  // appended piecewise: GCC 12 warns (-Wrestrict) on "'" + std::string(...)
  msg.append(text).append("': ").append(what);
  return {StatusCode::invalid_argument, msg};
}

}  // namespace

Result<double> parse_duration(std::string_view text) {
  constexpr const char* expected = "a duration like 20ms, 0.5s or 300us expected";
  double v = 0;
  std::string unit;
  if (!split_number(text, v, unit)) return bad(text, expected);
  double scale = 0;
  if (unit == "us") scale = 1e-6;
  else if (unit == "ms") scale = 1e-3;
  else if (unit == "s") scale = 1;
  else if (unit.empty() && v == 0) scale = 0;
  else return bad(text, expected);
  if (v < 0) return bad(text, "a duration cannot be negative");
  return v * scale;
}

}  // namespace ftc::runtime
