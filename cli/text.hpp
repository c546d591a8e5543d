// Text from files (tensor names, node names, dtype strings, messages that quote them) on its way
// to a terminal or into JSON. A name is data: it must not end a line, move the cursor, switch the
// terminal's character set or stop the JSON encoder.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ftc::cli {

// The non-empty items of a comma-separated list ("a,,b" -> {"a", "b"}).
std::vector<std::string> split_list(const std::string& s);

// `s` with everything that is not printable UTF-8 escaped, on one line: '\n' '\r' '\t' as \n \r
// \t, other C0 controls and DEL as \xNN, C1 controls (U+0080–U+009F) and the bidirectional
// overrides (U+202A–U+202E, U+2066–U+2069) as \uNNNN, and every byte that is not part of valid
// UTF-8 (overlong forms, surrogates, > U+10FFFF, truncated sequences) as \xNN. Printable UTF-8
// (backslashes included) passes unchanged.
std::string printable(std::string_view s);

// printable() for multi-line text: '\n' stays a line break.
std::string printable_text(std::string_view s);

// True when `s` is valid UTF-8 (the rules above).
bool is_utf8(std::string_view s);

// `s` made valid UTF-8: every byte that is not part of a valid sequence becomes U+FFFD; the result
// is cut at a character boundary to at most `max_bytes`.
std::string to_utf8(std::string_view s, std::size_t max_bytes);

// JSON as ftc prints and writes it: indented by 2, plain ASCII (every non-ASCII character and DEL
// as \uXXXX, so that no byte can act on a terminal), and bytes that are not UTF-8 replaced by
// U+FFFD instead of the encoder's exception.
template <class Json>
std::string json_text(const Json& j) {
  return j.dump(2, ' ', true, nlohmann::json::error_handler_t::replace);
}

}  // namespace ftc::cli
