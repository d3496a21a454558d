// Registry value types (zones, sensors, facilities, tokens) and their pure validation.
// Validation takes parsed JSON and returns either a typed input or a 422 problem whose
// errors point at each bad field. No I/O, no clock.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "maeul/domain/problem.hpp"

namespace maeul::domain {

inline constexpr std::string_view domains[] = {"mobility", "energy", "welfare", "disaster", "environment"};
inline constexpr std::string_view roles[] = {"admin", "operator", "analyst", "device", "welfare_officer"};

bool is_valid_id(std::string_view s);        // ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$
bool is_valid_name_token(std::string_view s); // ^[a-z][a-z0-9_]{0,63}$ (metric names, categories, kinds)
bool is_domain(std::string_view s);
bool is_role(std::string_view s);

struct localized_name {
  std::string ko;
  std::string en;
};

struct zone_input {
  std::string id;
  localized_name name;
  std::string boundary_geojson;  // a validated Polygon or MultiPolygon, re-serialized
  std::int64_t population = 0;
  std::int64_t households = 0;
  std::string attributes_json = "{}";
};

struct metric_def {
  std::string name;
  std::string unit;
  std::optional<double> min;
  std::optional<double> max;
  std::optional<std::int64_t> interval_s;
};

struct point {
  double lon = 0;
  double lat = 0;
};

struct sensor_input {
  std::string id;
  std::string domain;
  std::string kind;
  std::string name;
  point location;
  std::optional<std::string> zone;  // nullopt: derive from location
  std::vector<metric_def> metrics;
  std::string metrics_json;          // normalized metrics array
  std::string attributes_json = "{}";
};

struct facility_input {
  std::string id;
  std::string category;
  localized_name name;
  point location;
  std::optional<std::string> zone;
  std::string attributes_json = "{}";
};

struct token_input {
  std::string name;
  std::string role;
  std::vector<std::string> sensors;     // device tokens: the sensors it may write (none: nothing)
  std::vector<std::string> zones;       // scope; empty: all
  std::vector<std::string> domains;     // scope; empty: all
  std::optional<std::int64_t> expires_at_us;  // refused from then on; nullopt: until revoked
};

// Each returns the typed input, or a problem (422) listing every bad field with its JSON Pointer.
// `path_id`, when not empty, is the id from the URL: the body's id may be omitted or must equal it.
outcome<zone_input> validate_zone(const nlohmann::json& body, std::string_view path_id = {});
outcome<sensor_input> validate_sensor(const nlohmann::json& body, std::string_view path_id = {});
outcome<facility_input> validate_facility(const nlohmann::json& body, std::string_view path_id = {});
outcome<token_input> validate_token(const nlohmann::json& body);

// Validates a GeoJSON Polygon/MultiPolygon at `pointer`; appends errors. Exposed for tests.
void check_areal_geometry(const nlohmann::json& g, const std::string& pointer, std::vector<field_error>& errors);
// Validates a GeoJSON Point at `pointer`; appends errors, returns the point when valid.
std::optional<point> check_point(const nlohmann::json& g, const std::string& pointer,
                                 std::vector<field_error>& errors);

}  // namespace maeul::domain
