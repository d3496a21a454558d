// Wiring of the route handlers onto a router.
#pragma once
#include <functional>
#include <string>
#include <string_view>

#include "maeul/api/router.hpp"

namespace maeul::storage {
class registry;
class token_store;
}  // namespace maeul::storage

namespace maeul::api {

struct services {
  storage::registry& registry;
  storage::token_store& tokens;
  authenticator& auth;
  metrics& request_metrics;
  std::function<std::string()> extra_metrics;  // Prometheus text of the other modules' gauges
};

// /healthz, /readyz, /metrics
void add_system_routes(router& r, services& s);
// /api/v1/zones, /sensors, /facilities, /tokens
void add_registry_routes(router& r, services& s);

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
