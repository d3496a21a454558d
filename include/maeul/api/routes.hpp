// Wiring of the route handlers onto a router.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "maeul/api/router.hpp"

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
}  // namespace maeul::storage
namespace maeul::ops {
class service;
}  // namespace maeul::ops
namespace maeul::live {
class hub;
}  // namespace maeul::live

namespace maeul::api {

struct services {
  storage::registry& registry;
  storage::token_store& tokens;
  authenticator& auth;
  metrics& request_metrics;
  std::function<std::string()> extra_metrics;  // Prometheus text of the other modules' gauges
  ingest::service& ingest;
  storage::observation_store& observations;
  std::function<std::int64_t()> now_us;  // the clock (injectable)
  storage::operations_store& operations;
  ops::service& ops;
  live::hub& hub;
  storage::kpi_store& kpis;
  std::string timezone;  // the city's calendar
  std::string city_name;
};

// /healthz, /readyz, /metrics
void add_system_routes(router& r, services& s);
// /api/v1/zones, /sensors, /facilities, /tokens
void add_registry_routes(router& r, services& s);
// /api/v1/observations, /latest, /sensors/{id}/latest, /sensors/{id}/series
void add_observation_routes(router& r, services& s);

// /api/v1/live, /rules, /alerts, /events, /incidents, /webhooks
void add_operations_routes(router& r, services& s);

// /api/v1/kpis, /api/v1/zones/{id}/accessibility, /api/v1/budget, /public/v1/kpis, /public/v1/report
void add_kpi_routes(router& r, services& s);

// Parses "5m", "30s", "1h", "1d" into seconds (1 s .. 366 d); nullopt when malformed.
std::optional<std::int64_t> parse_bucket(std::string_view text);

// The answer for errors the HTTP layer sees before routing (400, 413, 431).
net::response early_error(int status, std::string detail);

// The lower-cased media type when the request declares JSON (application/json or
// application/*+json), else a 415 problem.
domain::outcome<std::string> check_json_content_type(const net::request& req);

// Deepest nesting of arrays and objects in JSON text (strings skipped), without parsing it.
// Bodies deeper than max_json_depth are refused before parsing (no deep recursion anywhere).
int json_nesting_depth(std::string_view text);
inline constexpr int max_json_depth = 64;

}  // namespace maeul::api
