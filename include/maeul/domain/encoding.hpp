// Text encodings used across modules: base64url (unpadded), lower-case hex, percent-decoding and
// numbers in text. Pure.
#pragma once
#include <charconv>
#include <optional>
#include <string>
#include <string_view>

namespace maeul::domain {

std::string base64url_encode(std::string_view bytes);
// nullopt when `text` holds a character outside the base64url alphabet.
std::optional<std::string> base64url_decode(std::string_view text);
std::string hex(std::string_view bytes);
// The bytes of hex text (either case); nullopt for an odd length or a non-hex character.
std::optional<std::string> unhex(std::string_view text);
// Decodes %XX escapes (malformed ones are kept as they are); `plus_is_space` for form/query text.
std::string percent_decode(std::string_view text, bool plus_is_space);

// How deeply arrays and objects nest in JSON text, found without parsing it (strings skipped):
// one linear pass, so that text nested too deeply is refused before any parser recurses into it.
int json_nesting_depth(std::string_view text);
// The deepest nesting accepted anywhere JSON comes in (HTTP bodies, NDJSON lines, MQTT payloads).
inline constexpr int max_json_depth = 64;

// `text`, all of it, as a number of type T (integers in decimal; doubles in fixed or scientific
// notation); nullopt when empty, out of range, or anything (a sign '+', a space) is left over.
template <class T>
std::optional<T> parse_number(std::string_view text) {
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace maeul::domain
