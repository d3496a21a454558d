// Wiring of the route handlers onto a router.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <memory>

#include <nlohmann/json_fwd.hpp>

#include "maeul/api/page_cache.hpp"
#include "maeul/api/router.hpp"
#include "maeul/domain/encoding.hpp"
#include "maeul/domain/events.hpp"

namespace maeul::storage {
class registry;
class token_store;
class observation_store;
}  // namespace maeul::storage
namespace maeul::ingest {
class service;
}  // namespace maeul::ingest
namespace maeul::storage {
class operations_store;
class kpi_store;
class dead_letter_store;
}  // namespace maeul::storage
namespace maeul::services {
class registry_service;
class observation_service;
class operations_service;
class token_service;
class kpi_service;
class people_service;
class query_service;
class welfare_service;
}  // namespace maeul::services
namespace maeul::transit {
class service;
class planning;
}  // namespace maeul::transit

namespace maeul::api {

// What GET /api/v1/status reports besides the database (which the handler asks itself).
struct status_info {
  bool spool_enabled = false;
  std::uint64_t spool_bytes = 0, spool_readings = 0, spool_segments = 0;
  bool replaying = false;
  std::int64_t webhooks_in_flight = 0, webhooks_delivered = 0, webhooks_failed = 0, webhooks_dead = 0;
  bool tls = false;
  bool mqtt_enabled = false, mqtt_connected = false;
  std::int64_t mqtt_stored = 0, mqtt_dead = 0, mqtt_in_flight = 0, mqtt_reconnects = 0;
  std::string version;
  std::int64_t uptime_s = 0;
};

// What the handlers reach: application services for every change (services/services.hpp), stores
// and the ingest index for reads. No handler changes state any other way.
struct services {
  storage::registry& registry;      // reads
  storage::token_store& tokens;     // reads
  authenticator& auth;
  metrics& request_metrics;
  std::function<std::string()> extra_metrics;  // Prometheus text of the other modules' gauges
  ingest::service& ingest;          // reads: latest values, series ids
  storage::observation_store& observations;  // reads
  std::function<std::int64_t()> now_us;  // the clock (injectable)
  storage::operations_store& operations;  // reads
  // A live-feed session for an accepted upgrade, limited to what the principal may see.
  std::function<std::shared_ptr<net::ws_handler>(domain::event_grant)> live;
  storage::kpi_store& kpis;         // reads
  std::string timezone;  // the city's calendar
  std::string city_name;
  ::maeul::services::registry_service& registry_svc;
  ::maeul::services::observation_service& observation_svc;
  ::maeul::services::operations_service& operations_svc;
  ::maeul::services::token_service& token_svc;
  ::maeul::services::kpi_service& kpi_svc;
  ::maeul::services::query_service& query_svc;  // reads of the registry and readings, scoped
  std::function<status_info()> status;  // GET /api/v1/status: what the daemon reports besides the database
  storage::dead_letter_store* dead_letters = nullptr;  // the MQTT door's dead letters (reads)
  ::maeul::services::people_service* people = nullptr;  // accounts and sessions (src/services/people.cpp)
  bool metrics_public = false;  // metrics.public: /metrics needs no admin token
  page_cache public_pages;      // /public/v1/* computed at most once a minute per page
  ::maeul::services::welfare_service* welfare = nullptr;  // the welfare vault (src/services/welfare.cpp)
  std::vector<std::pair<std::string, int>> retention_days;  // retention.<domain>_days (GET /api/v1/retention)
  ::maeul::transit::service* transit = nullptr;  // bus operations (src/transit/service.cpp); none: 503
  ::maeul::transit::planning* planning = nullptr;  // demand forecast and plan (src/transit/planning_service.cpp); none: 503
};

// One row of the route table: method, path pattern ("/api/v1/zones/{id}"), the roles allowed
// (role bits, or public_route), and the named handler (src/api/*_handlers.cpp).
struct route_def {
  const char* method;
  const char* path;
  unsigned roles;
  task<net::response> (*fn)(services* s, context ctx);
};

// Every route of the API, in one table (src/api/routes.cpp).
const std::vector<route_def>& route_table();

// Adds every route of route_table() to the router, each handler bound to `s`.
void add_routes(router& r, services& s);



// Parses "5m", "30s", "1h", "1d" into seconds (1 s .. 366 d); nullopt when malformed.
std::optional<std::int64_t> parse_bucket(std::string_view text);

// The answer for errors the HTTP layer sees before routing (400, 413, 431; 503 with Retry-After
// for a connection over http.max_connections or http.max_connections_per_ip).
net::response early_error(int status, std::string detail);

// The lower-cased media type when the request declares JSON (application/json or
// application/*+json), else a 415 problem.
domain::outcome<std::string> check_json_content_type(const net::request& req);

// Deepest nesting of arrays and objects in JSON text (strings skipped), without parsing it.
// Bodies deeper than max_json_depth are refused before parsing (no deep recursion anywhere).
using ::maeul::domain::json_nesting_depth;
using ::maeul::domain::max_json_depth;

// A JSON request body, the one way handlers read one: the media type checked (415), the depth
// bounded before parsing (400), parsed (400 malformed-json), and no NUL character in any key or
// string, which PostgreSQL cannot store (422, with its pointer). `empty_is_object`: an empty body
// reads as {} (actions such as acknowledge, whose body is optional).
domain::outcome<nlohmann::json> json_body(const net::request& req, bool empty_is_object = false);

}  // namespace maeul::api
