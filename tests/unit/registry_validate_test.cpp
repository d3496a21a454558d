// Pure validation of registry inputs (domain/registry.hpp): accepted bodies and their normalized
// outputs, and the JSON Pointer of every rejected field.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "maeul/domain/registry.hpp"

namespace {

using nlohmann::json;
namespace d = maeul::domain;

std::vector<std::string> pointers_of(const d::problem& p) {
  std::vector<std::string> out;
  for (const auto& e : p.errors) out.push_back(e.pointer);
  return out;
}

template <class T>
std::vector<std::string> pointers(const d::outcome<T>& o) {
  if (o.ok()) return {};
  return pointers_of(o.error());
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& p : v) s += "[" + p + "] ";
  return s;
}

// Asserts that `o` is a 422 whose errors include `pointer`.
template <class T>
::testing::AssertionResult rejects_at(const d::outcome<T>& o, const std::string& pointer) {
  if (o.ok()) return ::testing::AssertionFailure() << "accepted, expected an error at " << pointer;
  if (o.error().kind != d::problem_kind::invalid)
    return ::testing::AssertionFailure() << "not a 422 problem: " << o.error().describe();
  auto ps = pointers(o);
  if (std::find(ps.begin(), ps.end(), pointer) == ps.end())
    return ::testing::AssertionFailure() << "no error at " << pointer << "; errors at: " << joined(ps);
  for (const auto& e : o.error().errors)
    if (e.detail.empty()) return ::testing::AssertionFailure() << "an error without detail at " << e.pointer;
  return ::testing::AssertionSuccess();
}

// Asserts that the only errors are at exactly `expected` (order-insensitive).
template <class T>
::testing::AssertionResult rejects_exactly(const d::outcome<T>& o, std::vector<std::string> expected) {
  if (o.ok()) return ::testing::AssertionFailure() << "accepted, expected errors at " << joined(expected);
  auto ps = pointers(o);
  std::sort(ps.begin(), ps.end());
  std::sort(expected.begin(), expected.end());
  if (ps != expected)
    return ::testing::AssertionFailure() << "errors at " << joined(ps) << "; expected " << joined(expected);
  return ::testing::AssertionSuccess();
}

json square(double lon, double lat, double size) {
  return json::array({json::array({lon, lat}), json::array({lon + size, lat}), json::array({lon + size, lat + size}),
                      json::array({lon, lat + size}), json::array({lon, lat})});
}

json polygon(double lon = 128.5, double lat = 38.1, double size = 0.1) {
  return {{"type", "Polygon"}, {"coordinates", json::array({square(lon, lat, size)})}};
}

json zone_body() {
  return {{"id", "seorak"}, {"name", {{"ko", "설악"}, {"en", "Seorak"}}}, {"boundary", polygon()}};
}

json point(double lon, double lat) { return {{"type", "Point"}, {"coordinates", json::array({lon, lat})}}; }

json sensor_body() {
  return {{"id", "wl-01"},
          {"domain", "disaster"},
          {"kind", "water_level"},
          {"location", point(128.59, 38.20)},
          {"metrics", json::array({{{"name", "level"}, {"unit", "m"}}})}};
}

json facility_body() {
  return {{"id", "clinic-1"},
          {"category", "clinic"},
          {"name", {{"ko", "보건소"}}},
          {"location", point(128.59, 38.20)}};
}

// A zone body whose boundary ring has its position `index` replaced by `pos`.
json zone_with_position(std::size_t index, json pos) {
  auto b = zone_body();
  b["boundary"]["coordinates"][0][index] = std::move(pos);
  return b;
}

}  // namespace

// ---- ids and name tokens

TEST(is_valid_id, accepts_the_documented_alphabet_and_length) {
  EXPECT_TRUE(d::is_valid_id("a"));
  EXPECT_TRUE(d::is_valid_id("Z"));
  EXPECT_TRUE(d::is_valid_id("7"));
  EXPECT_TRUE(d::is_valid_id("wl-cheongcho_01.a:b"));
  EXPECT_TRUE(d::is_valid_id(std::string(128, 'x')));
}

TEST(is_valid_id, rejects_bad_first_characters_other_characters_and_length) {
  EXPECT_FALSE(d::is_valid_id(""));
  EXPECT_FALSE(d::is_valid_id(std::string(129, 'x')));
  for (const char* s : {"-a", ".a", "_a", ":a", "a b", "a/b", "a?b", "a%20", "a#", "zone\n", "설악"})
    EXPECT_FALSE(d::is_valid_id(s)) << s;
}

TEST(is_valid_name_token, accepts_lower_case_snake_names_up_to_64) {
  EXPECT_TRUE(d::is_valid_name_token("a"));
  EXPECT_TRUE(d::is_valid_name_token("level"));
  EXPECT_TRUE(d::is_valid_name_token("pm2_5"));
  EXPECT_TRUE(d::is_valid_name_token("a" + std::string(63, '_')));
}

TEST(is_valid_name_token, rejects_capitals_digits_first_dashes_and_length) {
  EXPECT_FALSE(d::is_valid_name_token(""));
  EXPECT_FALSE(d::is_valid_name_token("a" + std::string(64, 'b')));
  for (const char* s : {"Level", "levelA", "1level", "_level", "water-level", "water.level", "water level"})
    EXPECT_FALSE(d::is_valid_name_token(s)) << s;
}

TEST(domains_and_roles, are_the_documented_sets) {
  for (const char* s : {"mobility", "energy", "welfare", "disaster", "environment"}) EXPECT_TRUE(d::is_domain(s)) << s;
  for (const char* s : {"", "Energy", "traffic", "energy "}) EXPECT_FALSE(d::is_domain(s)) << s;
  for (const char* s : {"admin", "operator", "analyst", "device", "welfare_officer"}) EXPECT_TRUE(d::is_role(s)) << s;
  for (const char* s : {"", "Admin", "root", "welfare"}) EXPECT_FALSE(d::is_role(s)) << s;
}

// ---- zones: accepted bodies

TEST(validate_zone, accepts_a_minimal_zone_with_defaults) {
  auto z = d::validate_zone(zone_body());
  ASSERT_TRUE(z.ok()) << z.error().describe();
  EXPECT_EQ(z->id, "seorak");
  EXPECT_EQ(z->name.ko, "설악");
  EXPECT_EQ(z->name.en, "Seorak");
  EXPECT_EQ(z->population, 0);
  EXPECT_EQ(z->households, 0);
  EXPECT_EQ(json::parse(z->attributes_json), json::object());
}

TEST(validate_zone, reserializes_the_boundary_with_type_and_coordinates_only) {
  auto body = zone_body();
  body["boundary"]["bbox"] = {128.5, 38.1, 128.6, 38.2};
  body["boundary"]["crs"] = {{"type", "name"}};
  auto z = d::validate_zone(body);
  ASSERT_TRUE(z.ok()) << z.error().describe();
  auto b = json::parse(z->boundary_geojson);
  EXPECT_EQ(b, polygon()) << z->boundary_geojson;
  EXPECT_FALSE(b.contains("bbox"));
  EXPECT_FALSE(b.contains("crs"));
}

TEST(validate_zone, keeps_counts_attributes_and_a_multipolygon_with_a_hole) {
  auto body = zone_body();
  body["population"] = 12000;
  body["households"] = 5400;
  body["attributes"] = {{"code", "4221052000"}, {"coastal", true}};
  auto outer = square(128.5, 38.1, 0.1);
  auto hole = json::array({json::array({128.52, 38.12}), json::array({128.52, 38.14}), json::array({128.54, 38.14}),
                           json::array({128.52, 38.12})});
  body["boundary"] = {{"type", "MultiPolygon"},
                      {"coordinates", json::array({json::array({outer, hole}), json::array({square(129, 38, 0.01)})})}};
  auto z = d::validate_zone(body);
  ASSERT_TRUE(z.ok()) << z.error().describe();
  EXPECT_EQ(z->population, 12000);
  EXPECT_EQ(z->households, 5400);
  EXPECT_EQ(json::parse(z->attributes_json), body["attributes"]);
  EXPECT_EQ(json::parse(z->boundary_geojson), body["boundary"]);
}

TEST(validate_zone, takes_the_id_from_the_path_when_the_body_has_none) {
  auto body = zone_body();
  body.erase("id");
  auto z = d::validate_zone(body, "from-path");
  ASSERT_TRUE(z.ok()) << z.error().describe();
  EXPECT_EQ(z->id, "from-path");
  auto same = d::validate_zone(zone_body(), "seorak");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->id, "seorak");
}

TEST(validate_zone, accepts_one_language_only) {
  auto body = zone_body();
  body["name"] = {{"en", "Islands"}};
  auto z = d::validate_zone(body);
  ASSERT_TRUE(z.ok()) << z.error().describe();
  EXPECT_EQ(z->name.en, "Islands");
  EXPECT_TRUE(z->name.ko.empty());
}

// The code takes a plain-string name as both languages (validate.cpp: check_name). docs/openapi.yaml's
// LocalizedName is an object; this pins the implemented leniency (see the report).
TEST(validate_zone, takes_a_plain_string_name_as_both_languages_and_rejects_an_empty_one) {
  auto body = zone_body();
  body["name"] = "Seorak";
  auto z = d::validate_zone(body);
  ASSERT_TRUE(z.ok()) << z.error().describe();
  EXPECT_EQ(z->name.ko, "Seorak");
  EXPECT_EQ(z->name.en, "Seorak");
  body["name"] = "";
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/name"}));
}

// ---- zones: rejected fields

TEST(validate_zone, rejects_a_body_that_is_not_an_object_at_the_root) {
  for (const json& body : {json::array({1}), json("zone"), json(nullptr), json(3)})
    EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {""})) << body.dump();
}

TEST(validate_zone, reports_every_bad_field_at_once) {
  json body = {{"id", "-bad"}, {"boundary", {{"type", "Point"}}}, {"population", -1}, {"attributes", "x"}};
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/id", "/name", "/boundary/type", "/population", "/attributes"}));
}

TEST(validate_zone, id_errors) {
  auto body = zone_body();
  body.erase("id");
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/id"}));  // no path id either
  for (const json& bad : {json(""), json("-x"), json("a b"), json(5), json(nullptr), json(std::string(129, 'a'))}) {
    body["id"] = bad;
    EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/id"})) << bad.dump();
  }
}

TEST(validate_zone, an_id_that_differs_from_the_path_is_rejected_at_id) {
  auto o = d::validate_zone(zone_body(), "other");
  ASSERT_TRUE(rejects_exactly(o, {"/id"}));
  EXPECT_NE(o.error().errors[0].detail.find("path"), std::string::npos) << o.error().errors[0].detail;
}

TEST(validate_zone, name_errors) {
  auto body = zone_body();
  body.erase("name");
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/name"}));
  body["name"] = nullptr;
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/name"}));
  body["name"] = json::object();
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/name"}));
  body["name"] = {{"ko", ""}, {"en", ""}};
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/name"}));
  body["name"] = 5;
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/name"}));
  body["name"] = json::array({"ko"});
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/name"}));
}

TEST(validate_zone, a_language_that_is_not_a_string_is_rejected_at_its_pointer) {
  auto body = zone_body();
  body["name"] = {{"ko", 123}, {"en", "Seorak"}};
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/name/ko"}));
  body["name"] = {{"ko", "설악"}, {"en", std::string(201, 'a')}};
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/name/en"}));
  body["name"] = {{"ko", "설악"}, {"en", std::string(200, 'a')}};
  EXPECT_TRUE(d::validate_zone(body).ok());
}

TEST(validate_zone, an_unknown_language_is_rejected_with_an_escaped_pointer) {
  auto body = zone_body();
  body["name"] = {{"ko", "설악"}, {"fr", "Seorak"}};
  auto o = d::validate_zone(body);
  EXPECT_TRUE(rejects_exactly(o, {"/name/fr"}));
  // RFC 6901: '~' is written "~0" and '/' is written "~1".
  body["name"] = {{"ko", "설악"}, {"a/b~c", "x"}};
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/name/a~1b~0c"}));
}

TEST(validate_zone, boundary_missing_or_not_an_areal_geometry) {
  auto body = zone_body();
  body.erase("boundary");
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/boundary"}));
  body["boundary"] = "POLYGON((0 0,1 0,1 1,0 0))";
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/boundary"}));
  body["boundary"] = point(1, 2);
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/boundary/type"}));
  body["boundary"] = {{"coordinates", polygon()["coordinates"]}};
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/boundary/type"}));
  body["boundary"] = {{"type", "polygon"}, {"coordinates", polygon()["coordinates"]}};
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/boundary/type"}));
  body["boundary"] = {{"type", "Polygon"}};
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/boundary/coordinates"}));
  body["boundary"] = {{"type", "Polygon"}, {"coordinates", json::array()}};
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/boundary/coordinates"}));
  body["boundary"] = {{"type", "Polygon"}, {"coordinates", "x"}};
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/boundary/coordinates"}));
}

TEST(validate_zone, a_longitude_out_of_range_points_at_that_number) {
  EXPECT_TRUE(rejects_exactly(d::validate_zone(zone_with_position(2, {200.0, 38.2})), {"/boundary/coordinates/0/2/0"}));
  EXPECT_TRUE(rejects_exactly(d::validate_zone(zone_with_position(2, {-180.5, 38.2})), {"/boundary/coordinates/0/2/0"}));
}

TEST(validate_zone, a_latitude_out_of_range_points_at_that_number) {
  EXPECT_TRUE(rejects_exactly(d::validate_zone(zone_with_position(1, {128.6, -91.0})), {"/boundary/coordinates/0/1/1"}));
  EXPECT_TRUE(rejects_exactly(d::validate_zone(zone_with_position(3, {128.5, 90.01})), {"/boundary/coordinates/0/3/1"}));
}

TEST(validate_zone, the_extremes_of_the_ranges_are_allowed) {
  auto body = zone_body();
  body["boundary"]["coordinates"][0] = json::array({json::array({-180, -90}), json::array({180, -90}),
                                                    json::array({180, 90}), json::array({-180, -90})});
  EXPECT_TRUE(d::validate_zone(body).ok());
}

TEST(validate_zone, a_position_that_is_not_two_or_three_numbers) {
  EXPECT_TRUE(rejects_exactly(d::validate_zone(zone_with_position(1, json::array({128.6}))), {"/boundary/coordinates/0/1"}));
  EXPECT_TRUE(rejects_exactly(d::validate_zone(zone_with_position(1, {128.6, 38.1, 0, 0})), {"/boundary/coordinates/0/1"}));
  EXPECT_TRUE(rejects_exactly(d::validate_zone(zone_with_position(1, "128.6,38.1")), {"/boundary/coordinates/0/1"}));
  EXPECT_TRUE(rejects_exactly(d::validate_zone(zone_with_position(1, {"128.6", 38.1})), {"/boundary/coordinates/0/1/0"}));
  EXPECT_TRUE(rejects_exactly(d::validate_zone(zone_with_position(1, {128.6, nullptr})), {"/boundary/coordinates/0/1/1"}));
  // A third number (altitude) is allowed.
  EXPECT_TRUE(d::validate_zone(zone_with_position(1, {128.6, 38.1, 12.5})).ok());
}

TEST(validate_zone, an_unclosed_ring_points_at_the_ring) {
  auto o = d::validate_zone(zone_with_position(4, {128.5, 38.15}));
  ASSERT_TRUE(rejects_exactly(o, {"/boundary/coordinates/0"}));
  EXPECT_NE(o.error().errors[0].detail.find("closed"), std::string::npos) << o.error().errors[0].detail;
}

TEST(validate_zone, a_ring_of_fewer_than_four_positions_points_at_the_ring) {
  auto body = zone_body();
  body["boundary"]["coordinates"][0] = json::array({json::array({0, 0}), json::array({1, 0}), json::array({0, 0})});
  auto o = d::validate_zone(body);
  ASSERT_TRUE(rejects_exactly(o, {"/boundary/coordinates/0"}));
  EXPECT_NE(o.error().errors[0].detail.find("4"), std::string::npos) << o.error().errors[0].detail;
  body["boundary"]["coordinates"][0] = "ring";
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/boundary/coordinates/0"}));
}

TEST(validate_zone, errors_in_a_hole_point_at_the_hole) {
  auto body = zone_body();
  auto hole = square(128.52, 38.12, 0.01);
  hole[4] = json::array({128.53, 38.12});  // not closed
  body["boundary"]["coordinates"].push_back(hole);
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/boundary/coordinates/1"}));
}

TEST(validate_zone, multipolygon_errors_carry_the_polygon_index) {
  auto body = zone_body();
  auto second = square(129, 38, 0.01);
  second[2] = json::array({229.0, 38.01});
  body["boundary"] = {{"type", "MultiPolygon"},
                      {"coordinates", json::array({json::array({square(128, 38, 0.01)}), json::array({second})})}};
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/boundary/coordinates/1/0/2/0"}));
  body["boundary"]["coordinates"] = json::array();
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/boundary/coordinates"}));
  body["boundary"]["coordinates"] = json::array({json::array()});
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/boundary/coordinates/0"}));
}

TEST(validate_zone, a_multipolygon_with_polygon_nesting_is_rejected) {
  // Polygon coordinates (one level too shallow) under type MultiPolygon: each "ring" is a position.
  auto body = zone_body();
  body["boundary"] = {{"type", "MultiPolygon"}, {"coordinates", polygon()["coordinates"]}};
  auto o = d::validate_zone(body);
  ASSERT_TRUE(rejects_at(o, "/boundary/coordinates/0/0"));
  for (const auto& p : pointers(o)) EXPECT_EQ(p.rfind("/boundary/coordinates/0/", 0), 0u) << p;
}

TEST(validate_zone, a_polygon_with_multipolygon_nesting_is_rejected) {
  auto body = zone_body();
  body["boundary"]["coordinates"] = json::array({polygon()["coordinates"]});
  auto o = d::validate_zone(body);
  ASSERT_FALSE(o.ok());
  // The single "ring" holds one element (a ring, not a position): fewer than 4 positions.
  EXPECT_TRUE(rejects_exactly(o, {"/boundary/coordinates/0"}));
}

TEST(validate_zone, counts_must_be_non_negative_integers) {
  for (const char* key : {"population", "households"}) {
    for (const json& bad : {json(-1), json(1.5), json("12"), json(true), json(100000001)}) {
      auto body = zone_body();
      body[key] = bad;
      EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {std::string("/") + key})) << key << "=" << bad.dump();
    }
    auto body = zone_body();
    body[key] = nullptr;
    auto z = d::validate_zone(body);
    ASSERT_TRUE(z.ok());
    EXPECT_EQ(z->population, 0);
    body[key] = 0;
    EXPECT_TRUE(d::validate_zone(body).ok());
    body[key] = 100000000;
    EXPECT_TRUE(d::validate_zone(body).ok());
  }
}

TEST(validate_zone, attributes_must_be_an_object_of_at_most_64_kib) {
  auto body = zone_body();
  for (const json& bad : {json::array(), json("x"), json(1)}) {
    body["attributes"] = bad;
    EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/attributes"})) << bad.dump();
  }
  body["attributes"] = {{"big", std::string(70000, 'x')}};
  EXPECT_TRUE(rejects_exactly(d::validate_zone(body), {"/attributes"}));
  body["attributes"] = nullptr;
  auto z = d::validate_zone(body);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->attributes_json, "{}");
}

// ---- check_areal_geometry directly

TEST(check_areal_geometry, prefixes_every_error_with_the_given_pointer) {
  std::vector<d::field_error> errors;
  json g = polygon();
  g["coordinates"][0][2] = json::array({500, 38.2});
  g["coordinates"][0][3] = json::array({128.5, 95});
  d::check_areal_geometry(g, "/areas/3", errors);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].pointer, "/areas/3/coordinates/0/2/0");
  EXPECT_EQ(errors[1].pointer, "/areas/3/coordinates/0/3/1");
  EXPECT_TRUE(errors[0].parameter.empty());
}

TEST(check_areal_geometry, appends_nothing_for_valid_geometry_and_keeps_earlier_errors) {
  std::vector<d::field_error> errors{{"/earlier", {}, "kept"}};
  d::check_areal_geometry(polygon(), "/g", errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].pointer, "/earlier");
  d::check_areal_geometry(json::array(), "/g", errors);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[1].pointer, "/g");
}

TEST(check_point, returns_the_point_or_the_pointer) {
  std::vector<d::field_error> errors;
  auto p = d::check_point(point(128.59, 38.2), "/location", errors);
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->lon, 128.59);
  EXPECT_DOUBLE_EQ(p->lat, 38.2);
  EXPECT_TRUE(errors.empty());
  EXPECT_FALSE(d::check_point(point(181, 0), "/location", errors));
  EXPECT_FALSE(d::check_point(polygon(), "/location", errors));
  EXPECT_FALSE(d::check_point({{"type", "Point"}}, "/location", errors));
  EXPECT_FALSE(d::check_point(json::array({1, 2}), "/location", errors));
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_EQ(errors[0].pointer, "/location/coordinates/0");
  EXPECT_EQ(errors[1].pointer, "/location/type");
  EXPECT_EQ(errors[2].pointer, "/location/coordinates");
  EXPECT_EQ(errors[3].pointer, "/location");
}

// ---- sensors

TEST(validate_sensor, accepts_a_sensor_and_normalizes_its_metrics) {
  auto body = sensor_body();
  body["name"] = "청초호 수위계";
  body["metrics"] = json::array({{{"name", "level"}, {"unit", "m"}, {"min", 0}, {"max", 5.5}, {"interval_s", 60},
                                  {"note", "dropped"}},
                                 {{"name", "battery_v"}}});
  body["attributes"] = {{"vendor", "acme"}};
  auto s = d::validate_sensor(body);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ(s->id, "wl-01");
  EXPECT_EQ(s->domain, "disaster");
  EXPECT_EQ(s->kind, "water_level");
  EXPECT_EQ(s->name, "청초호 수위계");
  EXPECT_DOUBLE_EQ(s->location.lon, 128.59);
  EXPECT_DOUBLE_EQ(s->location.lat, 38.20);
  EXPECT_FALSE(s->zone.has_value());
  ASSERT_EQ(s->metrics.size(), 2u);
  EXPECT_EQ(s->metrics[0].name, "level");
  EXPECT_EQ(s->metrics[0].unit, "m");
  EXPECT_EQ(s->metrics[0].min, 0.0);
  EXPECT_EQ(s->metrics[0].max, 5.5);
  EXPECT_EQ(s->metrics[0].interval_s, 60);
  EXPECT_EQ(s->metrics[1].name, "battery_v");
  EXPECT_FALSE(s->metrics[1].min || s->metrics[1].max || s->metrics[1].interval_s);
  json expected = json::array({{{"name", "level"}, {"unit", "m"}, {"min", 0.0}, {"max", 5.5}, {"interval_s", 60}},
                               {{"name", "battery_v"}, {"unit", ""}}});
  EXPECT_EQ(json::parse(s->metrics_json), expected) << s->metrics_json;
  EXPECT_EQ(json::parse(s->attributes_json), body["attributes"]);
}

TEST(validate_sensor, zone_is_kept_when_given_and_absent_when_null) {
  auto body = sensor_body();
  body["zone"] = "downtown";
  auto s = d::validate_sensor(body);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->zone, std::optional<std::string>("downtown"));
  body["zone"] = nullptr;
  s = d::validate_sensor(body);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->zone.has_value());
  for (const json& bad : {json(5), json("-x"), json(""), json::object()}) {
    body["zone"] = bad;
    EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/zone"})) << bad.dump();
  }
}

TEST(validate_sensor, domain_errors) {
  auto body = sensor_body();
  body.erase("domain");
  EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/domain"}));
  for (const json& bad : {json("traffic"), json("Energy"), json(1)}) {
    body["domain"] = bad;
    EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/domain"})) << bad.dump();
  }
}

TEST(validate_sensor, kind_errors) {
  auto body = sensor_body();
  body.erase("kind");
  EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/kind"}));
  for (const json& bad : {json("Water"), json("water-level"), json(""), json(3)}) {
    body["kind"] = bad;
    EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/kind"})) << bad.dump();
  }
}

TEST(validate_sensor, name_must_be_a_short_string) {
  auto body = sensor_body();
  body["name"] = 5;
  EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/name"}));
  body["name"] = {{"ko", "수위계"}};  // unlike zones and facilities, not a {ko, en} object
  EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/name"}));
  body["name"] = std::string(201, 'n');
  EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/name"}));
  body["name"] = nullptr;
  EXPECT_TRUE(d::validate_sensor(body).ok());
}

TEST(validate_sensor, location_errors) {
  auto body = sensor_body();
  body.erase("location");
  EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/location"}));
  body["location"] = polygon();
  EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/location/type"}));
  body["location"] = {{"type", "Point"}};
  EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/location/coordinates"}));
  body["location"] = point(181, 38);
  EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/location/coordinates/0"}));
  body["location"] = point(128, -90.5);
  EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/location/coordinates/1"}));
  body["location"] = {{"type", "Point"}, {"coordinates", json::array({128})}};
  EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/location/coordinates"}));
}

TEST(validate_sensor, metrics_must_be_a_non_empty_array_of_objects) {
  auto body = sensor_body();
  body.erase("metrics");
  EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/metrics"}));
  for (const json& bad : {json::array(), json::object({{"name", "level"}}), json("level")}) {
    body["metrics"] = bad;
    EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/metrics"})) << bad.dump();
  }
  body["metrics"] = json::array({{{"name", "level"}}, 5});
  EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/metrics/1"}));
}

TEST(validate_sensor, at_most_64_metrics) {
  auto body = sensor_body();
  body["metrics"] = json::array();
  for (int i = 0; i < 64; ++i) body["metrics"].push_back({{"name", "m" + std::to_string(i)}});
  EXPECT_TRUE(d::validate_sensor(body).ok());
  body["metrics"].push_back({{"name", "m64"}});
  EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/metrics"}));
}

TEST(validate_sensor, a_duplicate_metric_name_points_at_the_second) {
  auto body = sensor_body();
  body["metrics"] = json::array({{{"name", "level"}, {"unit", "m"}}, {{"name", "level"}, {"unit", "cm"}}});
  auto o = d::validate_sensor(body);
  ASSERT_TRUE(rejects_exactly(o, {"/metrics/1/name"}));
  EXPECT_NE(o.error().errors[0].detail.find("duplicate"), std::string::npos);
}

TEST(validate_sensor, metric_name_and_unit_errors) {
  auto body = sensor_body();
  body["metrics"] = json::array({{{"name", "Level"}}, {{"unit", "m"}}, {{"name", "ok"}, {"unit", 5}},
                                 {{"name", "ok2"}, {"unit", std::string(33, 'u')}}});
  EXPECT_TRUE(rejects_exactly(d::validate_sensor(body),
                              {"/metrics/0/name", "/metrics/1/name", "/metrics/2/unit", "/metrics/3/unit"}));
}

TEST(validate_sensor, min_above_max_points_at_max) {
  auto body = sensor_body();
  body["metrics"][0]["min"] = 10;
  body["metrics"][0]["max"] = 2;
  EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/metrics/0/max"}));
  body["metrics"][0]["max"] = 10;  // equal is fine
  EXPECT_TRUE(d::validate_sensor(body).ok());
  body["metrics"][0]["min"] = "low";
  body["metrics"][0]["max"] = json::array();
  EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/metrics/0/min", "/metrics/0/max"}));
}

TEST(validate_sensor, interval_s_must_be_a_positive_integer_up_to_31_days) {
  for (const json& bad : {json(0), json(-1), json(1.5), json("60"), json(31 * 86400 + 1)}) {
    auto body = sensor_body();
    body["metrics"].push_back({{"name", "flow"}, {"interval_s", bad}});
    EXPECT_TRUE(rejects_exactly(d::validate_sensor(body), {"/metrics/1/interval_s"})) << bad.dump();
  }
  for (const json& good : {json(1), json(31 * 86400), json(nullptr)}) {
    auto body = sensor_body();
    body["metrics"][0]["interval_s"] = good;
    EXPECT_TRUE(d::validate_sensor(body).ok()) << good.dump();
  }
}

TEST(validate_sensor, path_id_mismatch_points_at_id) {
  EXPECT_TRUE(rejects_exactly(d::validate_sensor(sensor_body(), "wl-02"), {"/id"}));
  auto body = sensor_body();
  body.erase("id");
  auto s = d::validate_sensor(body, "wl-02");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->id, "wl-02");
}

// ---- facilities

TEST(validate_facility, accepts_a_facility) {
  auto body = facility_body();
  body["zone"] = "downtown";
  body["attributes"] = {{"beds", 4}};
  auto f = d::validate_facility(body);
  ASSERT_TRUE(f.ok()) << f.error().describe();
  EXPECT_EQ(f->id, "clinic-1");
  EXPECT_EQ(f->category, "clinic");
  EXPECT_EQ(f->name.ko, "보건소");
  EXPECT_TRUE(f->name.en.empty());
  EXPECT_DOUBLE_EQ(f->location.lon, 128.59);
  EXPECT_EQ(f->zone, std::optional<std::string>("downtown"));
  EXPECT_EQ(json::parse(f->attributes_json), body["attributes"]);
}

TEST(validate_facility, field_errors) {
  json body = {{"id", "x y"}, {"category", "Bus-Stop"}, {"name", {{"de", "Klinik"}}}, {"location", point(0, 100)},
               {"zone", 7}};
  EXPECT_TRUE(rejects_exactly(d::validate_facility(body),
                              {"/id", "/category", "/name/de", "/name", "/location/coordinates/1", "/zone"}));
  EXPECT_TRUE(rejects_exactly(d::validate_facility(json::object()), {"/id", "/category", "/name", "/location"}));
  EXPECT_TRUE(rejects_exactly(d::validate_facility(facility_body(), "clinic-2"), {"/id"}));
}

// ---- tokens

TEST(validate_token, accepts_a_token_with_and_without_sensors) {
  auto t = d::validate_token({{"name", "gauge 7"}, {"role", "device"}, {"sensors", {"wl-01", "wl-02"}}});
  ASSERT_TRUE(t.ok()) << t.error().describe();
  EXPECT_EQ(t->name, "gauge 7");
  EXPECT_EQ(t->role, "device");
  EXPECT_EQ(t->sensors, (std::vector<std::string>{"wl-01", "wl-02"}));
  auto u = d::validate_token({{"name", "ops"}, {"role", "operator"}, {"sensors", nullptr}});
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->sensors.empty());
}

TEST(validate_token, field_errors) {
  EXPECT_TRUE(rejects_exactly(d::validate_token(json::object()), {"/name", "/role"}));
  EXPECT_TRUE(rejects_exactly(d::validate_token({{"name", ""}, {"role", "admin"}}), {"/name"}));
  EXPECT_TRUE(rejects_exactly(d::validate_token({{"name", std::string(201, 'n')}, {"role", "admin"}}), {"/name"}));
  EXPECT_TRUE(rejects_exactly(d::validate_token({{"name", 5}, {"role", "admin"}}), {"/name"}));
  EXPECT_TRUE(rejects_exactly(d::validate_token({{"name", "x"}, {"role", "root"}}), {"/role"}));
  EXPECT_TRUE(rejects_exactly(d::validate_token({{"name", "x"}, {"role", "device"}, {"sensors", "wl-01"}}),
                              {"/sensors"}));
  EXPECT_TRUE(rejects_exactly(
      d::validate_token({{"name", "x"}, {"role", "device"}, {"sensors", {"wl-01", 5, "-bad"}}}),
      {"/sensors/1", "/sensors/2"}));
  EXPECT_TRUE(rejects_exactly(d::validate_token(json::array()), {""}));
}
