// Pure validation of registry inputs: every bad field is reported with its JSON Pointer.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "maeul/domain/people.hpp"
#include "maeul/domain/registry.hpp"
#include "maeul/domain/time.hpp"

namespace maeul::domain {
namespace {

using json = nlohmann::json;

std::string ptr(const std::string& base, std::string_view key) {
  std::string out = base + "/";
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}
std::string ptr(const std::string& base, std::size_t index) { return base + "/" + std::to_string(index); }

void add(std::vector<field_error>& errors, std::string pointer, std::string detail) {
  errors.push_back({std::move(pointer), {}, std::move(detail)});
}

// Checks that `body` is an object; reports the whole body (pointer "") otherwise.
bool require_object(const json& body, std::vector<field_error>& errors) {
  if (!body.is_object()) {
    add(errors, "", "the body must be a JSON object");
    return false;
  }
  return true;
}

void check_id(const json& body, std::string_view path_id, std::string& out, std::vector<field_error>& errors) {
  auto it = body.find("id");
  if (it == body.end()) {
    if (path_id.empty()) add(errors, "/id", "is required");
    else out = std::string(path_id);
    return;
  }
  if (!it->is_string() || !is_valid_id(it->get_ref<const std::string&>())) {
    add(errors, "/id", "must be a string of 1-128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit");
    return;
  }
  out = it->get<std::string>();
  if (!path_id.empty() && out != path_id) add(errors, "/id", "must match the id in the path");
}

void check_name(const json& body, bool required, localized_name& out, std::vector<field_error>& errors) {
  auto it = body.find("name");
  if (it == body.end() || it->is_null()) {
    if (required) add(errors, "/name", "is required: {\"ko\": \"...\", \"en\": \"...\"}");
    return;
  }
  if (it->is_string()) {  // a plain string is taken as both languages
    out.ko = out.en = it->get<std::string>();
    if (out.ko.empty() || out.ko.size() > 200) add(errors, "/name", "must be a string of 1-200 bytes");
    return;
  }
  if (!it->is_object()) {
    add(errors, "/name", "must be an object {\"ko\", \"en\"}");
    return;
  }
  for (auto& [k, v] : it->items()) {
    if (k != "ko" && k != "en") {
      add(errors, ptr("/name", k), "unknown language: only \"ko\" and \"en\"");
    } else if (!v.is_string() || v.get_ref<const std::string&>().size() > 200) {
      add(errors, ptr("/name", k), "must be a string of at most 200 bytes");
    } else {
      (k == "ko" ? out.ko : out.en) = v.get<std::string>();
    }
  }
  if (out.ko.empty() && out.en.empty()) add(errors, "/name", "needs a non-empty \"ko\" or \"en\"");
}

void check_count(const json& body, const char* key, std::int64_t& out, std::vector<field_error>& errors) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return;
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > 100000000)
    add(errors, ptr("", key), "must be a non-negative integer");
  else
    out = it->get<std::int64_t>();
}

void check_attributes(const json& body, std::string& out, std::vector<field_error>& errors) {
  auto it = body.find("attributes");
  if (it == body.end() || it->is_null()) return;
  if (!it->is_object()) {
    add(errors, "/attributes", "must be an object");
    return;
  }
  out = it->dump();
  if (out.size() > 65536) add(errors, "/attributes", "must be at most 64 KiB");
}

bool check_position(const json& p, const std::string& pointer, std::vector<field_error>& errors) {
  if (!p.is_array() || p.size() < 2 || p.size() > 3) {
    add(errors, pointer, "a position is an array [longitude, latitude]");
    return false;
  }
  bool ok = true;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (!p[i].is_number() || !std::isfinite(p[i].get<double>())) {
      add(errors, ptr(pointer, i), "must be a finite number");
      ok = false;
    }
  }
  if (!ok) return false;
  double lon = p[0].get<double>(), lat = p[1].get<double>();
  if (lon < -180 || lon > 180) {
    add(errors, ptr(pointer, 0), "longitude must be within [-180, 180]");
    ok = false;
  }
  if (lat < -90 || lat > 90) {
    add(errors, ptr(pointer, 1), "latitude must be within [-90, 90]");
    ok = false;
  }
  return ok;
}

void check_ring(const json& ring, const std::string& pointer, std::vector<field_error>& errors) {
  if (!ring.is_array()) {
    add(errors, pointer, "a linear ring is an array of positions");
    return;
  }
  if (ring.size() < 4) {
    add(errors, pointer, "a linear ring needs at least 4 positions");
    return;
  }
  bool ok = true;
  for (std::size_t i = 0; i < ring.size(); ++i) ok = check_position(ring[i], ptr(pointer, i), errors) && ok;
  if (!ok) return;
  const auto& first = ring.front();
  const auto& last = ring.back();
  if (first[0].get<double>() != last[0].get<double>() || first[1].get<double>() != last[1].get<double>())
    add(errors, pointer, "a linear ring must be closed: its last position must equal its first");
}

void check_polygon_coords(const json& rings, const std::string& pointer, std::vector<field_error>& errors) {
  if (!rings.is_array() || rings.empty()) {
    add(errors, pointer, "a polygon is a non-empty array of linear rings");
    return;
  }
  for (std::size_t i = 0; i < rings.size(); ++i) check_ring(rings[i], ptr(pointer, i), errors);
}

std::optional<double> opt_number(const json& m, const char* key, const std::string& pointer,
                                 std::vector<field_error>& errors) {
  auto it = m.find(key);
  if (it == m.end() || it->is_null()) return std::nullopt;
  if (!it->is_number() || !std::isfinite(it->get<double>())) {
    add(errors, ptr(pointer, key), "must be a finite number");
    return std::nullopt;
  }
  return it->get<double>();
}

void check_metrics(const json& body, sensor_input& out, std::vector<field_error>& errors) {
  auto it = body.find("metrics");
  if (it == body.end() || !it->is_array() || it->empty()) {
    add(errors, "/metrics", "is required: a non-empty array of {\"name\", \"unit\"}");
    return;
  }
  if (it->size() > 64) add(errors, "/metrics", "at most 64 metrics");
  std::set<std::string> seen;
  json normalized = json::array();
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& m = (*it)[i];
    std::string p = ptr("/metrics", i);
    if (!m.is_object()) {
      add(errors, p, "must be an object {\"name\", \"unit\"}");
      continue;
    }
    metric_def def;
    auto n = m.find("name");
    if (n == m.end() || !n->is_string() || !is_valid_name_token(n->get_ref<const std::string&>())) {
      add(errors, p + "/name", "must match ^[a-z][a-z0-9_]{0,63}$");
    } else {
      def.name = n->get<std::string>();
      if (!seen.insert(def.name).second) add(errors, p + "/name", "duplicate metric name");
    }
    auto u = m.find("unit");
    if (u != m.end() && !u->is_null()) {
      if (!u->is_string() || u->get_ref<const std::string&>().size() > 32)
        add(errors, p + "/unit", "must be a string of at most 32 bytes");
      else
        def.unit = u->get<std::string>();
    }
    def.min = opt_number(m, "min", p, errors);
    def.max = opt_number(m, "max", p, errors);
    if (def.min && def.max && *def.min > *def.max) add(errors, p + "/max", "must not be below min");
    auto iv = m.find("interval_s");
    if (iv != m.end() && !iv->is_null()) {
      if (!iv->is_number_integer() || iv->get<std::int64_t>() <= 0 || iv->get<std::int64_t>() > 31 * 86400)
        add(errors, p + "/interval_s", "must be a positive integer number of seconds");
      else
        def.interval_s = iv->get<std::int64_t>();
    }
    json nm = {{"name", def.name}, {"unit", def.unit}};
    if (def.min) nm["min"] = *def.min;
    if (def.max) nm["max"] = *def.max;
    if (def.interval_s) nm["interval_s"] = *def.interval_s;
    normalized.push_back(std::move(nm));
    out.metrics.push_back(std::move(def));
  }
  out.metrics_json = normalized.dump();
}

void check_zone_ref(const json& body, std::optional<std::string>& out, std::vector<field_error>& errors) {
  auto it = body.find("zone");
  if (it == body.end() || it->is_null()) return;
  if (!it->is_string() || !is_valid_id(it->get_ref<const std::string&>()))
    add(errors, "/zone", "must be a zone id");
  else
    out = it->get<std::string>();
}

void check_location(const json& body, point& out, std::vector<field_error>& errors) {
  auto it = body.find("location");
  if (it == body.end()) {
    add(errors, "/location", "is required: a GeoJSON Point");
    return;
  }
  if (auto p = check_point(*it, "/location", errors)) out = *p;
}

void check_token_string(const json& body, const char* key, std::string& out, std::vector<field_error>& errors,
                        bool required) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) {
    if (required) add(errors, ptr("", key), "is required");
    return;
  }
  if (!it->is_string() || !is_valid_name_token(it->get_ref<const std::string&>()))
    add(errors, ptr("", key), "must match ^[a-z][a-z0-9_]{0,63}$");
  else
    out = it->get<std::string>();
}

}  // namespace

bool is_valid_id(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (!alnum(s[0])) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alnum(c) || c == '.' || c == '_' || c == ':' || c == '-'; });
}

bool is_valid_name_token(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] < 'a' || s[0] > 'z') return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

bool is_domain(std::string_view s) { return std::find(std::begin(domains), std::end(domains), s) != std::end(domains); }
bool is_role(std::string_view s) { return std::find(std::begin(roles), std::end(roles), s) != std::end(roles); }

void check_areal_geometry(const json& g, const std::string& pointer, std::vector<field_error>& errors) {
  if (!g.is_object()) {
    add(errors, pointer, "must be a GeoJSON Polygon or MultiPolygon object");
    return;
  }
  auto t = g.find("type");
  auto c = g.find("coordinates");
  if (t == g.end() || !t->is_string() || (*t != "Polygon" && *t != "MultiPolygon")) {
    add(errors, pointer + "/type", "must be \"Polygon\" or \"MultiPolygon\"");
    return;
  }
  if (c == g.end()) {
    add(errors, pointer + "/coordinates", "is required");
    return;
  }
  std::string cp = pointer + "/coordinates";
  if (*t == "Polygon") {
    check_polygon_coords(*c, cp, errors);
  } else if (!c->is_array() || c->empty()) {
    add(errors, cp, "a MultiPolygon is a non-empty array of polygons");
  } else {
    for (std::size_t i = 0; i < c->size(); ++i) check_polygon_coords((*c)[i], ptr(cp, i), errors);
  }
}

std::optional<point> check_point(const json& g, const std::string& pointer, std::vector<field_error>& errors) {
  if (!g.is_object()) {
    add(errors, pointer, "must be a GeoJSON Point object");
    return std::nullopt;
  }
  auto t = g.find("type");
  if (t == g.end() || *t != "Point") {
    add(errors, pointer + "/type", "must be \"Point\"");
    return std::nullopt;
  }
  auto c = g.find("coordinates");
  if (c == g.end()) {
    add(errors, pointer + "/coordinates", "is required");
    return std::nullopt;
  }
  if (!check_position(*c, pointer + "/coordinates", errors)) return std::nullopt;
  return point{(*c)[0].get<double>(), (*c)[1].get<double>()};
}

outcome<zone_input> validate_zone(const json& body, std::string_view path_id) {
  std::vector<field_error> errors;
  zone_input z;
  if (!require_object(body, errors)) return invalid(std::move(errors));
  check_id(body, path_id, z.id, errors);
  check_name(body, true, z.name, errors);
  auto b = body.find("boundary");
  if (b == body.end()) {
    add(errors, "/boundary", "is required: a GeoJSON Polygon or MultiPolygon");
  } else {
    std::size_t before = errors.size();
    check_areal_geometry(*b, "/boundary", errors);
    if (errors.size() == before) z.boundary_geojson = json{{"type", (*b)["type"]}, {"coordinates", (*b)["coordinates"]}}.dump();
  }
  check_count(body, "population", z.population, errors);
  check_count(body, "households", z.households, errors);
  check_attributes(body, z.attributes_json, errors);
  if (!errors.empty()) return invalid(std::move(errors));
  return z;
}

outcome<sensor_input> validate_sensor(const json& body, std::string_view path_id) {
  std::vector<field_error> errors;
  sensor_input s;
  if (!require_object(body, errors)) return invalid(std::move(errors));
  check_id(body, path_id, s.id, errors);
  auto d = body.find("domain");
  if (d == body.end() || !d->is_string() || !is_domain(d->get_ref<const std::string&>()))
    add(errors, "/domain", "must be one of mobility, energy, welfare, disaster, environment");
  else
    s.domain = d->get<std::string>();
  check_token_string(body, "kind", s.kind, errors, true);
  if (auto n = body.find("name"); n != body.end() && !n->is_null()) {
    if (!n->is_string() || n->get_ref<const std::string&>().size() > 200)
      add(errors, "/name", "must be a string of at most 200 bytes");
    else
      s.name = n->get<std::string>();
  }
  check_location(body, s.location, errors);
  check_zone_ref(body, s.zone, errors);
  check_metrics(body, s, errors);
  check_attributes(body, s.attributes_json, errors);
  if (!errors.empty()) return invalid(std::move(errors));
  return s;
}

outcome<facility_input> validate_facility(const json& body, std::string_view path_id) {
  std::vector<field_error> errors;
  facility_input f;
  if (!require_object(body, errors)) return invalid(std::move(errors));
  check_id(body, path_id, f.id, errors);
  check_token_string(body, "category", f.category, errors, true);
  check_name(body, true, f.name, errors);
  check_location(body, f.location, errors);
  check_zone_ref(body, f.zone, errors);
  check_attributes(body, f.attributes_json, errors);
  if (!errors.empty()) return invalid(std::move(errors));
  return f;
}

outcome<token_input> validate_token(const json& body) {
  std::vector<field_error> errors;
  token_input t;
  if (!require_object(body, errors)) return invalid(std::move(errors));
  auto n = body.find("name");
  if (n == body.end() || !n->is_string() || n->get_ref<const std::string&>().empty() ||
      n->get_ref<const std::string&>().size() > 200)
    add(errors, "/name", "is required: a string of 1-200 bytes");
  else
    t.name = n->get<std::string>();
  auto r = body.find("role");
  if (r == body.end() || !r->is_string() || !is_role(r->get_ref<const std::string&>()))
    add(errors, "/role", "must be one of admin, operator, analyst, device, welfare_officer");
  else
    t.role = r->get<std::string>();
  if (auto s = body.find("sensors"); s != body.end() && !s->is_null()) {
    if (!s->is_array()) {
      add(errors, "/sensors", "must be an array of sensor ids");
    } else {
      for (std::size_t i = 0; i < s->size(); ++i) {
        const auto& v = (*s)[i];
        if (!v.is_string() || !is_valid_id(v.get_ref<const std::string&>()))
          add(errors, ptr("/sensors", i), "must be a sensor id");
        else
          t.sensors.push_back(v.get<std::string>());
      }
    }
  }
  if (auto z = body.find("zones"); z != body.end() && !z->is_null()) check_zones(*z, errors, t.zones);
  if (auto d = body.find("domains"); d != body.end() && !d->is_null()) check_domains(*d, errors, t.domains);
  if (auto e = body.find("expires_at"); e != body.end() && !e->is_null()) {
    auto at = e->is_string() ? parse_rfc3339(e->get_ref<const std::string&>()) : std::nullopt;
    if (!at)
      add(errors, "/expires_at", "must be an RFC 3339 time with a zone, or null");
    else if (*at <= std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count())
      add(errors, "/expires_at", "must be in the future");
    else
      t.expires_at_us = *at;
  }
  if (!errors.empty()) return invalid(std::move(errors));
  return t;
}

}  // namespace maeul::domain
