// Shared SQL fragments and helpers of the storage module (private to src/storage).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace maeul::storage::sql {

// A timestamptz column as RFC 3339 UTC with milliseconds (the session time zone is UTC).
inline std::string ts(const char* column) {
  return std::string("to_char(") + column + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

// The timestamptz column `column` of the row aliased `alias`, as ts() gives it.
inline std::string ts_of(const std::string& alias, const char* column) { return ts((alias + "." + column).c_str()); }

// The strings of a JSON array text (as to_json(text[]) gives them).
inline std::vector<std::string> strings_of(const std::string& json_array) {
  std::vector<std::string> out;
  for (auto& v : nlohmann::json::parse(json_array)) out.push_back(v.get<std::string>());
  return out;
}

}  // namespace maeul::storage::sql
