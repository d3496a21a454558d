// MQTT topics and payloads (API.md §10) into the same parsed batch an HTTP body becomes. Pure: the
// time of receipt is an argument; no broker, no database.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "maeul/domain/observation.hpp"

namespace maeul::mqtt {

// The topic filters maeuld subscribes to.
inline constexpr const char* sensor_filter = "maeul/v1/obs/+";
inline constexpr const char* metric_filter = "maeul/v1/obs/+/+";
inline constexpr const char* avl_filter = "maeul/v1/avl/+";  // vehicle positions (bus operations)
inline constexpr const char* avl_prefix = "maeul/v1/avl/";

// Readings in one message at most (the same bound as one HTTP request).
inline constexpr std::size_t max_readings = 100000;

struct parsed_message {
  std::string error;           // non-empty: the message as a whole is unusable (a dead letter)
  std::string sensor;          // from the topic
  domain::parsed_batch batch;  // every reading carries `sensor`; per-reading rejections in batch.rejected
  bool single = false;         // one reading, not a batch: pointers name its fields ("/ts", "/value")
};

// For a single-reading message: "/observations/0/ts" (as ingest words it) -> "/ts".
void strip_single(std::vector<domain::rejection>& rs);

// Parses one message.
// - `maeul/v1/obs/{sensor}`: a reading {"metric","ts","value"} or a batch {"observations":[...]};
//   an item naming a "sensor" other than the topic's is rejected (pointer /observations/I/sensor).
// - `maeul/v1/obs/{sensor}/{metric}`: a bare JSON number (ts = now_us) or {"ts","value"}.
// Time and value are checked by domain::parse_observations, exactly as for HTTP; the registry
// checks (known sensor and metric, range) come later in ingest. Never throws.
parsed_message parse_message(std::string_view topic, std::string_view payload, std::int64_t now_us);

namespace detail {
// parse_message through nlohmann's DOM alone: the reference the one-pass reading is held to in
// tests, and the baseline of bench/parse_observations.cpp.
parsed_message parse_message_dom(std::string_view topic, std::string_view payload, std::int64_t now_us);
}  // namespace detail

// Why a message's readings were all refused, or which were: "/observations/1/ts: ts must be ...; ...".
std::string describe_rejections(const domain::parsed_batch& b, std::size_t max_items = 10);

}  // namespace maeul::mqtt
