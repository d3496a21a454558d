// Time text: RFC 3339 in (with an offset), RFC 3339 UTC with milliseconds out. Pure functions.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace maeul::domain {

// Microseconds since the Unix epoch of an RFC 3339 timestamp that carries an offset ("Z" or +hh:mm).
// Returns nullopt for anything else (no offset, out-of-range fields, trailing text).
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

// "2026-11-21T01:00:00.000Z" for the given microseconds since the epoch (truncated to ms).
std::string format_rfc3339_ms(std::int64_t epoch_us);

}  // namespace maeul::domain
