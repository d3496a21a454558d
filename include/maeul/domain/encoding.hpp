// Text encodings used across modules: base64url (unpadded) and lower-case hex. Pure.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace maeul::domain {

std::string base64url_encode(std::string_view bytes);
// nullopt when `text` holds a character outside the base64url alphabet.
std::optional<std::string> base64url_decode(std::string_view text);
std::string hex(std::string_view bytes);
// Decodes %XX escapes (malformed ones are kept as they are); `plus_is_space` for form/query text.
std::string percent_decode(std::string_view text, bool plus_is_space);

}  // namespace maeul::domain
