// Registry repositories: zones, sensors, facilities and API tokens in PostgreSQL/PostGIS.
// Reads come back as JSON text built by the database (the wire shape of docs/openapi.yaml).
// Expected outcomes (not found, duplicate id, invalid geometry) come back as domain problems;
// a lost database throws storage::unavailable; other failures throw.
#pragma once
#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "maeul/asio/task.hpp"
#include "maeul/domain/problem.hpp"
#include "maeul/domain/registry.hpp"

namespace maeul::storage {

class db_pool;
using domain::outcome;

struct page_request {
  std::string after;  // exclusive lower bound on id; empty: from the start
  int limit = 100;
};

struct page {
  std::vector<std::string> items;  // JSON objects
  std::optional<std::string> last_id;  // set when there may be more after it
};

struct near_filter {
  double lon = 0, lat = 0, metres = 0;
};

// What a principal may see of the registry, as bound into the list queries: zone and domain ids
// comma-joined ('' : no limit), and whether welfare sensors are visible at all (their places are
// households). Built by services::access::scope_of; the default sees everything.
struct scope {
  std::string zones, domains;
  bool welfare = true;
};

struct sensor_filter {
  std::string domain, zone, kind;
  std::optional<near_filter> near;
};

struct facility_filter {
  std::string category, zone;
};

class registry {
 public:
  explicit registry(db_pool& pool) : pool_(pool) {}

  task<outcome<std::string>> create_zone(domain::zone_input z);
  task<outcome<std::string>> replace_zone(domain::zone_input z);
  // A zone is read from memory for up to zone_cache_ttl after a read (this instance's writes drop
  // it at once; another instance's are seen within the ttl). At most zone_cache_max zones held.
  task<outcome<std::string>> get_zone(std::string id);
  static constexpr auto zone_cache_ttl = std::chrono::seconds(5);
  static constexpr std::size_t zone_cache_max = 10000;
  task<outcome<bool>> delete_zone(std::string id);
  task<page> list_zones(page_request req, scope sc = {});

  task<outcome<std::string>> create_sensor(domain::sensor_input s);
  task<outcome<std::string>> replace_sensor(domain::sensor_input s);
  task<outcome<std::string>> get_sensor(std::string id);
  task<outcome<bool>> delete_sensor(std::string id);
  task<page> list_sensors(sensor_filter f, page_request req, scope sc = {});

  task<outcome<std::string>> create_facility(domain::facility_input f);
  task<outcome<std::string>> replace_facility(domain::facility_input f);
  task<outcome<std::string>> get_facility(std::string id);
  task<outcome<bool>> delete_facility(std::string id);
  task<page> list_facilities(facility_filter f, page_request req, scope sc = {});

  // SELECT 1: true when the database answers.
  task<bool> ping();

 private:
  db_pool& pool_;
  struct cached_zone {
    std::string json;
    std::chrono::steady_clock::time_point at;
  };
  std::mutex zone_mutex_;
  std::unordered_map<std::string, cached_zone> zone_cache_;
  std::uint64_t zone_generation_ = 0;  // bumped by every zone write: a read across one is not kept
  void forget_zone(const std::string& id);
};

// The caller behind a token.
struct principal {
  std::string token_id;  // "bootstrap" for the configured bootstrap token
  std::string name;
  std::string role;
  std::vector<std::string> sensors;  // for device tokens bound to sensors; empty: any
  std::string kind = "token";        // "token" (API or bootstrap token) or "user" (a signed-in session)
  std::vector<std::string> zones;    // a user's or token's scope; empty: all
  std::vector<std::string> domains;  // a user's or token's scope; empty: all
  std::string session_hash;          // kind "user": hex SHA-256 of the session secret
  std::int64_t expires_at_us = 0;    // the hard end: a session's (sign-in + session_max_s) or a
                                     // token's expires_at; 0: none
  std::string display_name;          // kind "user": the account's display name ("" for tokens)
};

struct created_token {
  std::string token;  // shown once, never stored
  std::string json;   // the stored record with the token included
};

// A new random token: "mt_" + 43 base64url characters (256 bits).
std::string generate_token();
// Lower-case hex SHA-256 of the token: what the database stores.
std::string hash_token(const std::string& token);

class token_store {
 public:
  explicit token_store(db_pool& pool) : pool_(pool) {}
  task<std::optional<principal>> lookup(std::string token_hash);
  // `actor`: who, for the grant record ("name (role)", "cli").
  task<created_token> create(domain::token_input t, std::string actor = "system");
  task<page> list(page_request req);
  task<std::optional<std::string>> get(std::string id);  // an active token's record (no secret)
  // Revokes and records who did (grant_changes, subject "token"); false when not active.
  task<bool> revoke(std::string id, std::string actor = "system");
  // The token's record of grants: its creation and revocation (ids ascending, after req.after).
  task<page> changes(std::string id, page_request req);

 private:
  db_pool& pool_;
};

// For `maeuld token create`: synchronous, on its own connection.
created_token create_token_now(const std::string& url, const domain::token_input& t);

}  // namespace maeul::storage
