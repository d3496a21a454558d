// Readings as they arrive: parsing of the three body formats (JSON, NDJSON, CSV) into candidates,
// each checked on its own (time, value). Registry checks (sensor, metric, range) come later, in
// ingest, against the sensor index. Pure: the current time is an argument.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "maeul/domain/problem.hpp"

namespace maeul::domain {

// The longest NDJSON line taken (a reading is well under 1 KiB).
inline constexpr std::size_t max_ndjson_line_bytes = 65536;

inline constexpr std::int64_t max_future_us = 5LL * 60 * 1000000;  // readings may be 5 minutes ahead
// The earliest time a reading may carry (1970-01-01T00:00:00Z): older times are refused at
// validation, so no reading reaches the database with a year it cannot store (year 0000) and no
// request can make the writer create partitions back to year 1.
inline constexpr std::int64_t earliest_reading_us = 0;

struct candidate {
  std::string sensor;
  std::string metric;
  std::int64_t ts_us = 0;  // microseconds since the epoch
  double value = 0;
  std::size_t index = 0;   // position in the body
};

struct rejection {
  std::size_t index = 0;
  std::string error;
  std::string pointer;
};

struct parsed_batch {
  std::vector<candidate> readings;  // acceptable so far, in body order
  std::vector<rejection> rejected;  // in body order
  std::size_t total = 0;            // readings seen in the body
  std::string pointer_prefix = "/";  // "/observations/" for JSON bodies: pointers are prefix + index
};

// ndjson also reads application/json-seq (RFC 7464): records start with 0x1E and end with a line feed.
enum class body_format { json, ndjson, csv };

// Parses a body. Returns a problem only when the body as a whole is unusable (not JSON, no
// "observations" array, a CSV without the needed header, more than max_readings readings, a JSON
// body or an NDJSON line nested deeper than max_json_depth, an NDJSON line longer than
// max_ndjson_line_bytes). JSON bodies and NDJSON lines are read in one pass without a DOM; what
// that pass does not take (malformed text, numbers out of range...) is decided by nlohmann's DOM
// parse, so results and problem texts are those of parse_json_body_dom.
outcome<parsed_batch> parse_observations(std::string_view body, body_format format, std::int64_t now_us,
                                         std::size_t max_readings = 100000);

namespace detail {
// The DOM reading of a JSON body (nlohmann::json::parse, then the per-reading checks), without the
// depth limit: the reference parse_observations is held to in tests, and the baseline of
// bench/parse_observations.cpp.
outcome<parsed_batch> parse_json_body_dom(std::string_view body, std::int64_t now_us, std::size_t max_readings = 100000);
}  // namespace detail

// The items of an already-parsed JSON array checked exactly as parse_observations checks the
// items of a JSON body, with `sensor` (and `metric`, when not empty) standing in for each item's
// own field. For a door that parsed its payload already (MQTT): no second parse. Pointers are
// "/observations/{index}[/field]". The caller bounds the array's size.
parsed_batch check_json_readings(const nlohmann::json& items, std::int64_t now_us, const std::string& sensor,
                                 const std::string& metric);

// An MQTT payload (API.md §10) read in one pass, for the topic's `sensor` and, on a metric topic,
// `metric` (else empty): on a sensor topic a reading {"metric","ts","value"} (single) or a batch
// {"observations":[...]} whose items naming another sensor are rejected (pointer
// /observations/I/sensor); on a metric topic a bare number (ts: now_us to the millisecond) or
// {"ts","value"}. Per-reading results are those of check_json_readings (pointers
// "/observations/{index}[/field]"). nullopt: the payload is not one the pass takes (malformed, too
// deep, more than max_readings readings, a banned or foreign field on the message as a whole...):
// the caller decides it with its DOM path and words the refusal.
struct topic_payload {
  parsed_batch batch;
  bool single = false;  // a reading, not a batch
};
std::optional<topic_payload> scan_topic_payload(std::string_view payload, std::int64_t now_us, const std::string& sensor,
                                               const std::string& metric, std::size_t max_readings);

// Splits one CSV record (RFC 4180: quotes, doubled quotes, commas inside quotes) starting at
// `pos`; advances `pos` past the record's line end. Exposed for tests.
std::vector<std::string> csv_record(std::string_view text, std::size_t& pos);

}  // namespace maeul::domain
