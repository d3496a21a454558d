// Shared SQL fragments and helpers of the storage module (private to src/storage).
#pragma once
#include <string>

namespace maeul::storage::sql {

// A timestamptz column as RFC 3339 UTC with milliseconds (the session time zone is UTC).
inline std::string ts(const char* column) {
  return std::string("to_char(") + column + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

}  // namespace maeul::storage::sql
