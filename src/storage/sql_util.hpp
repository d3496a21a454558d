// Shared SQL fragments and helpers of the storage module (private to src/storage).
#pragma once
#include <string>

namespace maeul::storage::sql {

// A timestamptz column as RFC 3339 UTC with milliseconds (the session time zone is UTC).
inline std::string ts(const char* column) {
  return std::string("to_char(") + column + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

// The timestamptz column `column` of the row aliased `alias`, as ts() gives it.
inline std::string ts_of(const std::string& alias, const char* column) { return ts((alias + "." + column).c_str()); }

}  // namespace maeul::storage::sql
