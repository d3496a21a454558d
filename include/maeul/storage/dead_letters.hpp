// Storage for the MQTT door: dead letters (messages that could not become readings, bounded to the
// newest N) and, for `maeuld mqtt acl`, which sensors each device token may write.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "maeul/storage/registry.hpp"

namespace maeul::storage {

class db_pool;

// Payloads are kept up to this many bytes (the rest is cut; payload_bytes keeps the full size).
inline constexpr std::size_t dead_letter_max_payload = 64 * 1024;

struct dead_letter {
  std::string topic, payload, error;
  std::int64_t received_us = 0;
};

class dead_letter_store {
 public:
  // keep: rows kept (the newest); older ones are deleted by each insert.
  dead_letter_store(db_pool& pool, std::int64_t keep) : pool_(pool), keep_(keep) {}
  // Stores one dead letter (payload truncated to dead_letter_max_payload) and prunes to `keep`.
  // Throws unavailable when the database cannot be reached.
  task<bool> add(dead_letter d);  // true once committed
  // Newest first; the cursor is the last id of the previous page (numeric). Items:
  // {"id","topic","payload","payload_bytes","truncated","error","received_at"}, `payload` as UTF-8
  // text with invalid bytes replaced by U+FFFD.
  task<page> list(page_request req);

 private:
  db_pool& pool_;
  std::int64_t keep_;
};

struct device_grant {
  std::string token_name;
  std::vector<std::string> sensors;
};

// Every active device token with its sensors, by name then id. Synchronous, on its own connection
// (for the `maeuld mqtt acl` command). Throws unavailable when the database cannot be reached.
std::vector<device_grant> device_grants_now(const std::string& url);

}  // namespace maeul::storage
