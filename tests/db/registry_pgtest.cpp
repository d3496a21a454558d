// Registry and token repositories (storage/registry.hpp) against a real PostgreSQL/PostGIS.
// Every test gets a database of its own (created from MAEUL_TEST_DB_URL's server, migrated, and
// dropped at the end), so tests neither see nor depend on each other's rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "maeul/domain/registry.hpp"
#include "maeul/storage/db_pool.hpp"
#include "maeul/storage/migrations.hpp"
#include "maeul/storage/registry.hpp"

namespace {

namespace d = maeul::domain;
namespace storage = maeul::storage;
using nlohmann::json;

constexpr double pi = 3.14159265358979323846;
constexpr double earth_radius_m = 6371008.8;  // IUGG mean radius

double rad(double deg) { return deg * pi / 180; }

// Great-circle distance on the mean sphere.
double haversine_m(double lon1, double lat1, double lon2, double lat2) {
  double dlat = rad(lat2 - lat1), dlon = rad(lon2 - lon1);
  double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
             std::cos(rad(lat1)) * std::cos(rad(lat2)) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * earth_radius_m * std::asin(std::sqrt(a));
}

// Area of the lon/lat rectangle [lon, lon+w] x [lat, lat+h] on the mean sphere, in km².
double sphere_rect_km2(double lon, double lat, double w, double h) {
  (void)lon;
  double r_km = earth_radius_m / 1000;
  return r_km * r_km * rad(w) * (std::sin(rad(lat + h)) - std::sin(rad(lat)));
}

std::string random_hex(int n) {
  static std::mt19937_64 gen{std::random_device{}()};
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < n; ++i) out += digits[gen() % 16];
  return out;
}

// The URL with its last path segment (the database name) replaced; a query string is kept.
std::string with_database(const std::string& url, const std::string& db) {
  auto q = url.find('?');
  std::string base = url.substr(0, q);
  std::string query = q == std::string::npos ? "" : url.substr(q);
  auto slash = base.rfind('/');
  if (slash == std::string::npos || slash < base.find("://") + 3) return base + "/" + db + query;
  return base.substr(0, slash + 1) + db + query;
}

// Runs one awaitable to completion on a fresh io_context; rethrows what it throws.
template <class T>
T sync(boost::asio::awaitable<T> aw) {
  boost::asio::io_context ioc;
  std::optional<T> out;
  std::exception_ptr err;
  boost::asio::co_spawn(ioc, std::move(aw), [&](std::exception_ptr e, T v) {
    err = e;
    if (!e) out = std::move(v);
  });
  ioc.run();
  if (err) std::rethrow_exception(err);
  if (!out) throw std::logic_error("the task did not complete");
  return std::move(*out);
}

json ring(double lon, double lat, double w, double h) {
  return json::array({json::array({lon, lat}), json::array({lon + w, lat}), json::array({lon + w, lat + h}),
                      json::array({lon, lat + h}), json::array({lon, lat})});
}

json point(double lon, double lat) { return {{"type", "Point"}, {"coordinates", json::array({lon, lat})}}; }

d::zone_input zone_from(const json& body) {
  auto z = d::validate_zone(body);
  if (!z.ok()) throw std::invalid_argument("test zone does not validate: " + z.error().describe());
  return z.value();
}

d::zone_input square_zone(const std::string& id, double lon, double lat, double size) {
  return zone_from({{"id", id},
                    {"name", {{"ko", "구역 " + id}, {"en", "Zone " + id}}},
                    {"boundary", {{"type", "Polygon"}, {"coordinates", json::array({ring(lon, lat, size, size)})}}}});
}

d::sensor_input sensor_at(const std::string& id, double lon, double lat, json extra = json::object()) {
  json body = {{"id", id},
               {"domain", "disaster"},
               {"kind", "water_level"},
               {"location", point(lon, lat)},
               {"metrics", json::array({{{"name", "level"}, {"unit", "m"}}})}};
  body.update(extra);
  auto s = d::validate_sensor(body);
  if (!s.ok()) throw std::invalid_argument("test sensor does not validate: " + s.error().describe());
  return s.value();
}

d::facility_input facility_at(const std::string& id, const std::string& category, double lon, double lat,
                              json extra = json::object()) {
  json body = {{"id", id}, {"category", category}, {"name", {{"ko", "시설 " + id}}}, {"location", point(lon, lat)}};
  body.update(extra);
  auto f = d::validate_facility(body);
  if (!f.ok()) throw std::invalid_argument("test facility does not validate: " + f.error().describe());
  return f.value();
}

std::vector<std::string> pointers(const d::problem& p) {
  std::vector<std::string> out;
  for (const auto& e : p.errors) out.push_back(e.pointer);
  return out;
}

// Nested coordinate arrays equal within `tol` (PostGIS writes 7 decimals; doubles may differ in the last bit).
::testing::AssertionResult same_coordinates(const json& got, const json& want, double tol = 1e-9) {
  if (want.is_number()) {
    if (got.is_number() && std::abs(got.get<double>() - want.get<double>()) <= tol) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << got.dump() << " != " << want.dump();
  }
  if (!got.is_array() || !want.is_array() || got.size() != want.size())
    return ::testing::AssertionFailure() << "shape differs: " << got.dump() << " vs " << want.dump();
  for (std::size_t i = 0; i < want.size(); ++i)
    if (auto r = same_coordinates(got[i], want[i], tol); !r) return r;
  return ::testing::AssertionSuccess();
}

bool is_rfc3339_ms_utc(const json& v) {
  static const std::regex re(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$)");
  return v.is_string() && std::regex_match(v.get<std::string>(), re);
}

class pg : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* u = std::getenv("MAEUL_TEST_DB_URL");
    ASSERT_TRUE(u && *u) << "MAEUL_TEST_DB_URL is not set (run through scripts/test)";
    server_url_ = u;
    db_name_ = "maeul_pgtest_" + random_hex(12);
    {
      pqxx::connection c(server_url_);
      pqxx::nontransaction tx(c);
      tx.exec("CREATE DATABASE " + tx.quote_name(db_name_));
    }
    created_ = true;
    url_ = with_database(server_url_, db_name_);
    storage::migrate(url_);
    pool_ = std::make_unique<storage::db_pool>(storage::pool_options{url_, 2});
    registry_ = std::make_unique<storage::registry>(*pool_);
    tokens_ = std::make_unique<storage::token_store>(*pool_);
  }

  void TearDown() override {
    tokens_.reset();
    registry_.reset();
    if (pool_) pool_->stop();
    pool_.reset();
    if (created_) {
      pqxx::connection c(server_url_);
      pqxx::nontransaction tx(c);
      tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(db_name_) + " WITH (FORCE)");
    }
  }

  storage::registry& reg() { return *registry_; }
  storage::token_store& tokens() { return *tokens_; }

  // The stored object as JSON; fails the test on a problem.
  static json ok_json(const d::outcome<std::string>& o) {
    EXPECT_TRUE(o.ok()) << (o.ok() ? "" : o.error().describe());
    if (!o.ok()) return json();
    return json::parse(o.value());
  }

  json create_zone(d::zone_input z) { return ok_json(sync(reg().create_zone(std::move(z)))); }
  json create_sensor(d::sensor_input s) { return ok_json(sync(reg().create_sensor(std::move(s)))); }

  std::string server_url_, db_name_, url_;
  bool created_ = false;
  std::unique_ptr<storage::db_pool> pool_;
  std::unique_ptr<storage::registry> registry_;
  std::unique_ptr<storage::token_store> tokens_;
};

}  // namespace

TEST(pg_helpers, with_database_replaces_the_last_path_segment) {
  EXPECT_EQ(with_database("postgresql://postgres@127.0.0.1:5432/maeul_pgtest", "x"), "postgresql://postgres@127.0.0.1:5432/x");
  EXPECT_EQ(with_database("postgresql://h/db?sslmode=disable", "x"), "postgresql://h/x?sslmode=disable");
  EXPECT_EQ(with_database("postgresql://h:1", "x"), "postgresql://h:1/x");
  EXPECT_NEAR(haversine_m(0, 0, 1, 0), 111195.08, 0.1);  // one degree on the equator
}

// ---- zones

TEST_F(pg, zone_create_get_replace_delete) {
  auto input = square_zone("seorak", 128.50, 38.10, 0.1);
  input.population = 12000;
  input.households = 5400;
  input.attributes_json = R"({"code":"4221052000"})";
  auto created = create_zone(input);
  ASSERT_TRUE(created.is_object());
  EXPECT_EQ(created.at("id"), "seorak");
  EXPECT_EQ(created.at("name"), json({{"ko", "구역 seorak"}, {"en", "Zone seorak"}}));
  EXPECT_EQ(created.at("boundary").at("type"), "Polygon");
  EXPECT_TRUE(same_coordinates(created.at("boundary").at("coordinates"), json::array({ring(128.50, 38.10, 0.1, 0.1)})));
  EXPECT_EQ(created.at("population"), 12000);
  EXPECT_EQ(created.at("households"), 5400);
  EXPECT_EQ(created.at("attributes"), json({{"code", "4221052000"}}));
  EXPECT_TRUE(created.at("area_km2").is_number());
  EXPECT_TRUE(is_rfc3339_ms_utc(created.at("created_at"))) << created.at("created_at");
  EXPECT_TRUE(is_rfc3339_ms_utc(created.at("updated_at"))) << created.at("updated_at");

  auto got = ok_json(sync(reg().get_zone("seorak")));
  EXPECT_EQ(got, created);

  auto replacement = square_zone("seorak", 128.50, 38.10, 0.2);
  replacement.population = 13000;
  replacement.name.en = "Seorak-dong";
  auto replaced = ok_json(sync(reg().replace_zone(replacement)));
  EXPECT_EQ(replaced.at("population"), 13000);
  EXPECT_EQ(replaced.at("households"), 0);  // a replace sets every field
  EXPECT_EQ(replaced.at("attributes"), json::object());
  EXPECT_EQ(replaced.at("name").at("en"), "Seorak-dong");
  EXPECT_NEAR(replaced.at("area_km2").get<double>(), 4 * created.at("area_km2").get<double>(),
              0.02 * created.at("area_km2").get<double>());
  EXPECT_EQ(replaced.at("created_at"), created.at("created_at"));
  EXPECT_GE(replaced.at("updated_at").get<std::string>(), created.at("updated_at").get<std::string>());
  EXPECT_EQ(ok_json(sync(reg().get_zone("seorak"))), replaced);

  auto deleted = sync(reg().delete_zone("seorak"));
  ASSERT_TRUE(deleted.ok()) << deleted.error().describe();
  auto gone = sync(reg().get_zone("seorak"));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().kind, maeul::domain::problem_kind::not_found);
  auto again = sync(reg().delete_zone("seorak"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, maeul::domain::problem_kind::not_found);
}

TEST_F(pg, zone_unknown_ids_are_not_found) {
  auto get = sync(reg().get_zone("nowhere"));
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.error().kind, d::problem_kind::not_found);
  auto replace = sync(reg().replace_zone(square_zone("nowhere", 128.5, 38.1, 0.1)));
  ASSERT_FALSE(replace.ok());
  EXPECT_EQ(replace.error().kind, d::problem_kind::not_found);
  EXPECT_FALSE(sync(reg().get_zone("nowhere")).ok()) << "a replace of an unknown id must not create it";
}

TEST_F(pg, zone_duplicate_id_is_a_conflict) {
  create_zone(square_zone("dup", 128.5, 38.1, 0.1));
  auto second = sync(reg().create_zone(square_zone("dup", 129.0, 37.0, 0.05)));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind, d::problem_kind::conflict);
  EXPECT_EQ(second.error().kind, maeul::domain::problem_kind::conflict);
  // The first zone is unchanged.
  auto got = ok_json(sync(reg().get_zone("dup")));
  EXPECT_TRUE(same_coordinates(got.at("boundary").at("coordinates"), json::array({ring(128.5, 38.1, 0.1, 0.1)})));
}

TEST_F(pg, a_self_intersecting_polygon_is_invalid_at_boundary) {
  // A bow-tie: closed and with enough positions, so validation passes; PostGIS finds it invalid.
  json bowtie = json::array({json::array({128.0, 38.0}), json::array({128.1, 38.1}), json::array({128.1, 38.0}),
                             json::array({128.0, 38.1}), json::array({128.0, 38.0})});
  auto input = zone_from({{"id", "bowtie"},
                          {"name", {{"en", "Bow tie"}}},
                          {"boundary", {{"type", "Polygon"}, {"coordinates", json::array({bowtie})}}}});
  auto r = sync(reg().create_zone(input));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, d::problem_kind::invalid);
  EXPECT_EQ(pointers(r.error()), std::vector<std::string>{"/boundary"});
  EXPECT_FALSE(sync(reg().get_zone("bowtie")).ok()) << "an invalid zone must not be stored";

  // The same check guards a replace.
  create_zone(square_zone("fine", 128.5, 38.1, 0.1));
  input.id = "fine";
  auto rr = sync(reg().replace_zone(input));
  ASSERT_FALSE(rr.ok());
  EXPECT_EQ(pointers(rr.error()), std::vector<std::string>{"/boundary"});
}

TEST_F(pg, area_km2_matches_an_independent_spherical_computation) {
  auto z = create_zone(square_zone("sq", 128.50, 38.10, 0.1));
  double expected = sphere_rect_km2(128.50, 38.10, 0.1, 0.1);  // about 97 km²
  ASSERT_GT(expected, 90);
  EXPECT_NEAR(z.at("area_km2").get<double>(), expected, 0.01 * expected);

  // A hole is subtracted, and a MultiPolygon adds its parts.
  json inner = json::array({json::array({128.52, 37.12}), json::array({128.52, 37.14}), json::array({128.54, 37.14}),
                            json::array({128.54, 37.12}), json::array({128.52, 37.12})});
  auto holed = create_zone(zone_from(
      {{"id", "holed"},
       {"name", {{"ko", "구멍"}}},
       {"boundary",
        {{"type", "MultiPolygon"},
         {"coordinates", json::array({json::array({ring(128.50, 37.10, 0.1, 0.1), inner}),
                                      json::array({ring(127.00, 36.00, 0.05, 0.05)})})}}}}));
  double expected_holed = sphere_rect_km2(128.50, 37.10, 0.1, 0.1) - sphere_rect_km2(128.52, 37.12, 0.02, 0.02) +
                          sphere_rect_km2(127.00, 36.00, 0.05, 0.05);
  EXPECT_NEAR(holed.at("area_km2").get<double>(), expected_holed, 0.01 * expected_holed);
}

// ---- sensors: zone derivation

TEST_F(pg, a_sensor_zone_is_derived_from_its_location) {
  create_zone(square_zone("A", 128.50, 38.10, 0.1));
  create_zone(square_zone("B", 128.60, 38.10, 0.1));
  EXPECT_EQ(create_sensor(sensor_at("in-a", 128.55, 38.15)).at("zone"), "A");
  EXPECT_EQ(create_sensor(sensor_at("in-b", 128.65, 38.15)).at("zone"), "B");
  auto outside = create_sensor(sensor_at("outside", 127.00, 37.00));
  ASSERT_TRUE(outside.contains("zone"));
  EXPECT_TRUE(outside.at("zone").is_null());
  EXPECT_EQ(ok_json(sync(reg().get_sensor("in-a"))).at("zone"), "A");
}

TEST_F(pg, an_explicit_zone_wins_over_the_location) {
  create_zone(square_zone("A", 128.50, 38.10, 0.1));
  create_zone(square_zone("B", 128.60, 38.10, 0.1));
  EXPECT_EQ(create_sensor(sensor_at("in-a-said-b", 128.55, 38.15, {{"zone", "B"}})).at("zone"), "B");
  EXPECT_EQ(create_sensor(sensor_at("far-said-a", 127.00, 37.00, {{"zone", "A"}})).at("zone"), "A");
}

TEST_F(pg, an_explicit_nonexistent_zone_is_invalid_at_zone) {
  create_zone(square_zone("A", 128.50, 38.10, 0.1));
  auto r = sync(reg().create_sensor(sensor_at("s1", 128.55, 38.15, {{"zone", "ghost"}})));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, d::problem_kind::invalid);
  EXPECT_EQ(pointers(r.error()), std::vector<std::string>{"/zone"});
  EXPECT_FALSE(sync(reg().get_sensor("s1")).ok());
}

TEST_F(pg, replacing_a_sensor_location_without_a_zone_rederives_it) {
  create_zone(square_zone("A", 128.50, 38.10, 0.1));
  create_zone(square_zone("B", 128.60, 38.10, 0.1));
  auto first = create_sensor(sensor_at("mover", 128.55, 38.15));
  EXPECT_EQ(first.at("zone"), "A");
  auto moved = ok_json(sync(reg().replace_sensor(sensor_at("mover", 128.65, 38.15))));
  EXPECT_EQ(moved.at("zone"), "B");
  EXPECT_TRUE(same_coordinates(moved.at("location").at("coordinates"), json::array({128.65, 38.15})));
  auto away = ok_json(sync(reg().replace_sensor(sensor_at("mover", 120.0, 30.0))));
  EXPECT_TRUE(away.at("zone").is_null());
  auto unknown = sync(reg().replace_sensor(sensor_at("never-made", 128.55, 38.15)));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind, d::problem_kind::not_found);
}

TEST_F(pg, a_sensor_round_trips_its_fields) {
  auto input = sensor_at("wl-full", 128.5912345, 38.2012345,
                         {{"name", "청초호 수위계"},
                          {"domain", "environment"},
                          {"kind", "air_quality"},
                          {"metrics", json::array({{{"name", "pm10"}, {"unit", "ug/m3"}, {"min", 0}, {"max", 500}},
                                                   {{"name", "pm2_5"}, {"interval_s", 60}}})},
                          {"attributes", {{"vendor", "acme"}, {"depth", 3.2}}}});
  auto s = create_sensor(input);
  EXPECT_EQ(s.at("id"), "wl-full");
  EXPECT_EQ(s.at("domain"), "environment");
  EXPECT_EQ(s.at("kind"), "air_quality");
  EXPECT_EQ(s.at("name"), "청초호 수위계");
  EXPECT_EQ(s.at("location"), point(128.5912345, 38.2012345));
  EXPECT_EQ(s.at("metrics"), json::parse(input.metrics_json));
  EXPECT_EQ(s.at("attributes"), json({{"vendor", "acme"}, {"depth", 3.2}}));
  EXPECT_TRUE(is_rfc3339_ms_utc(s.at("created_at")));
  EXPECT_EQ(ok_json(sync(reg().get_sensor("wl-full"))), s);
  // No name: stored as null.
  EXPECT_TRUE(create_sensor(sensor_at("nameless", 128.5, 38.2)).at("name").is_null());
}

TEST_F(pg, a_duplicate_sensor_id_is_a_conflict) {
  create_sensor(sensor_at("twin", 128.5, 38.2));
  auto r = sync(reg().create_sensor(sensor_at("twin", 128.6, 38.3)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, d::problem_kind::conflict);
}

// ---- sensors: listing

TEST_F(pg, near_includes_a_sensor_at_100_m_and_excludes_one_at_5_km) {
  const double lon = 128.59, lat = 38.20;
  const double north_100m = lat + 100.0 / (earth_radius_m * pi / 180);
  const double east_5km = lon + 5000.0 / (earth_radius_m * pi / 180 * std::cos(rad(lat)));
  const double ne_lon = lon + 0.005, ne_lat = lat + 0.004;  // about 600 m north-east
  create_sensor(sensor_at("a-100m", lon, north_100m));
  create_sensor(sensor_at("b-5km", east_5km, lat));
  create_sensor(sensor_at("c-ne", ne_lon, ne_lat, {{"domain", "energy"}, {"kind", "meter"}}));

  storage::sensor_filter f;
  f.near = storage::near_filter{lon, lat, 1000};
  auto page = sync(reg().list_sensors(f, {}));
  EXPECT_FALSE(page.last_id);
  ASSERT_EQ(page.items.size(), 2u);
  auto a = json::parse(page.items[0]);
  auto c = json::parse(page.items[1]);
  EXPECT_EQ(a.at("id"), "a-100m");  // ordered by id
  EXPECT_EQ(c.at("id"), "c-ne");
  double ha = haversine_m(lon, lat, lon, north_100m);
  double hc = haversine_m(lon, lat, ne_lon, ne_lat);
  EXPECT_NEAR(ha, 100.0, 0.01);
  EXPECT_NEAR(a.at("distance_m").get<double>(), ha, 0.01 * ha);
  EXPECT_NEAR(c.at("distance_m").get<double>(), hc, 0.01 * hc);

  // Wider: the 5 km sensor too, at about 5 km.
  f.near->metres = 6000;
  page = sync(reg().list_sensors(f, {}));
  ASSERT_EQ(page.items.size(), 3u);
  auto b = json::parse(page.items[1]);
  EXPECT_EQ(b.at("id"), "b-5km");
  double hb = haversine_m(lon, lat, east_5km, lat);
  EXPECT_NEAR(hb, 5000.0, 1.0);
  EXPECT_NEAR(b.at("distance_m").get<double>(), hb, 0.01 * hb);

  // Narrower than 100 m: none. Combined with another filter: only what matches both.
  f.near->metres = 50;
  EXPECT_TRUE(sync(reg().list_sensors(f, {})).items.empty());
  f.near->metres = 6000;
  f.domain = "energy";
  page = sync(reg().list_sensors(f, {}));
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(json::parse(page.items[0]).at("id"), "c-ne");

  // Without `near`, items have no distance.
  auto plain = sync(reg().list_sensors({}, {}));
  ASSERT_EQ(plain.items.size(), 3u);
  EXPECT_FALSE(json::parse(plain.items[0]).contains("distance_m"));
}

TEST_F(pg, pagination_returns_each_of_25_sensors_exactly_once_in_id_order) {
  std::vector<std::string> ids;
  for (int i = 0; i < 25; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "p-%02d", (i * 7) % 25);  // created out of order
    ids.push_back(id);
    create_sensor(sensor_at(id, 128.5 + i * 0.001, 38.2));
  }
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> seen;
  std::vector<std::size_t> sizes;
  storage::page_request req;
  req.limit = 10;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = sync(reg().list_sensors({}, req));
    sizes.push_back(page.items.size());
    for (const auto& item : page.items) seen.push_back(json::parse(item).at("id").get<std::string>());
    if (!page.last_id) break;
    EXPECT_EQ(*page.last_id, seen.back());
    req.after = *page.last_id;
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{10, 10, 5}));
  EXPECT_EQ(seen, ids);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 25u);

  // A page that ends exactly at the last row says there is no more.
  req = {};
  req.limit = 25;
  auto all = sync(reg().list_sensors({}, req));
  EXPECT_EQ(all.items.size(), 25u);
  EXPECT_FALSE(all.last_id);
}

TEST_F(pg, sensor_filters_by_domain_kind_and_zone) {
  create_zone(square_zone("A", 128.50, 38.10, 0.1));
  create_sensor(sensor_at("s1", 128.55, 38.15));
  create_sensor(sensor_at("s2", 128.55, 38.16, {{"domain", "energy"}, {"kind", "meter"}}));
  create_sensor(sensor_at("s3", 127.0, 37.0, {{"domain", "energy"}, {"kind", "meter"}}));
  auto ids = [&](storage::sensor_filter f) {
    std::vector<std::string> out;
    for (const auto& item : sync(reg().list_sensors(std::move(f), {})).items)
      out.push_back(json::parse(item).at("id").get<std::string>());
    return out;
  };
  storage::sensor_filter f;
  f.domain = "energy";
  EXPECT_EQ(ids(f), (std::vector<std::string>{"s2", "s3"}));
  f = {};
  f.zone = "A";
  EXPECT_EQ(ids(f), (std::vector<std::string>{"s1", "s2"}));
  f.kind = "meter";
  EXPECT_EQ(ids(f), (std::vector<std::string>{"s2"}));
  f = {};
  f.kind = "nothing";
  EXPECT_TRUE(ids(f).empty());
}

// ---- deleting referenced zones

TEST_F(pg, deleting_a_zone_that_sensors_reference_is_a_conflict) {
  create_zone(square_zone("A", 128.50, 38.10, 0.1));
  EXPECT_EQ(create_sensor(sensor_at("s1", 128.55, 38.15)).at("zone"), "A");
  auto r = sync(reg().delete_zone("A"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, d::problem_kind::conflict);
  EXPECT_EQ(r.error().kind, maeul::domain::problem_kind::conflict);
  EXPECT_TRUE(sync(reg().get_zone("A")).ok()) << "the zone is still there";

  ASSERT_TRUE(sync(reg().delete_sensor("s1")).ok());
  EXPECT_EQ(sync(reg().get_sensor("s1")).error().kind, d::problem_kind::not_found);
  EXPECT_EQ(sync(reg().delete_sensor("s1")).error().kind, d::problem_kind::not_found);
  EXPECT_TRUE(sync(reg().delete_zone("A")).ok());
}

TEST_F(pg, deleting_a_zone_that_a_facility_references_is_a_conflict) {
  create_zone(square_zone("A", 128.50, 38.10, 0.1));
  ASSERT_TRUE(sync(reg().create_facility(facility_at("f1", "clinic", 128.55, 38.15))).ok());
  auto r = sync(reg().delete_zone("A"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, d::problem_kind::conflict);
}

// ---- facilities

TEST_F(pg, facility_create_get_list_replace_delete) {
  create_zone(square_zone("A", 128.50, 38.10, 0.1));
  auto f = ok_json(sync(reg().create_facility(facility_at("clinic-1", "clinic", 128.55, 38.15,
                                                          {{"name", {{"ko", "보건소"}, {"en", "Clinic"}}},
                                                           {"attributes", {{"beds", 4}}}}))));
  EXPECT_EQ(f.at("id"), "clinic-1");
  EXPECT_EQ(f.at("category"), "clinic");
  EXPECT_EQ(f.at("name"), json({{"ko", "보건소"}, {"en", "Clinic"}}));
  EXPECT_EQ(f.at("location"), point(128.55, 38.15));
  EXPECT_EQ(f.at("zone"), "A");
  EXPECT_EQ(f.at("attributes"), json({{"beds", 4}}));
  EXPECT_TRUE(is_rfc3339_ms_utc(f.at("updated_at")));
  EXPECT_EQ(ok_json(sync(reg().get_facility("clinic-1"))), f);

  ASSERT_TRUE(sync(reg().create_facility(facility_at("stop-1", "bus_stop", 127.0, 37.0))).ok());
  auto dup = sync(reg().create_facility(facility_at("stop-1", "bus_stop", 127.0, 37.0)));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().kind, d::problem_kind::conflict);
  auto ghost = sync(reg().create_facility(facility_at("stop-2", "bus_stop", 127.0, 37.0, {{"zone", "ghost"}})));
  ASSERT_FALSE(ghost.ok());
  EXPECT_EQ(pointers(ghost.error()), std::vector<std::string>{"/zone"});

  storage::facility_filter by_category;
  by_category.category = "bus_stop";
  auto stops = sync(reg().list_facilities(by_category, {}));
  ASSERT_EQ(stops.items.size(), 1u);
  EXPECT_EQ(json::parse(stops.items[0]).at("id"), "stop-1");
  EXPECT_TRUE(json::parse(stops.items[0]).at("zone").is_null());
  storage::facility_filter by_zone;
  by_zone.zone = "A";
  auto in_a = sync(reg().list_facilities(by_zone, {}));
  ASSERT_EQ(in_a.items.size(), 1u);
  EXPECT_EQ(json::parse(in_a.items[0]).at("id"), "clinic-1");

  auto moved = ok_json(sync(reg().replace_facility(facility_at("stop-1", "bus_stop", 128.51, 38.11))));
  EXPECT_EQ(moved.at("zone"), "A");
  EXPECT_EQ(sync(reg().replace_facility(facility_at("nope", "bus_stop", 1, 1))).error().kind,
            d::problem_kind::not_found);
  ASSERT_TRUE(sync(reg().delete_facility("stop-1")).ok());
  EXPECT_EQ(sync(reg().get_facility("stop-1")).error().kind, d::problem_kind::not_found);
}

TEST_F(pg, list_zones_pages_in_id_order) {
  for (const char* id : {"z3", "z1", "z4", "z2", "z5"}) create_zone(square_zone(id, 128.5, 38.1, 0.01));
  storage::page_request req;
  req.limit = 2;
  std::vector<std::string> seen;
  for (int guard = 0; guard < 5; ++guard) {
    auto page = sync(reg().list_zones(req));
    for (const auto& item : page.items) seen.push_back(json::parse(item).at("id").get<std::string>());
    if (!page.last_id) break;
    req.after = *page.last_id;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"z1", "z2", "z3", "z4", "z5"}));
}

TEST_F(pg, ping_answers) { EXPECT_TRUE(sync(reg().ping())); }

// ---- tokens

TEST_F(pg, a_created_token_is_found_by_its_hash_with_role_and_sensors) {
  d::token_input t{"gauge 7", "device", {"wl-01", "wl-02"}};
  auto created = sync(tokens().create(t, "test"));
  EXPECT_EQ(created.token.rfind("mt_", 0), 0u);
  auto rec = json::parse(created.json);
  EXPECT_EQ(rec.at("token"), created.token);
  EXPECT_EQ(rec.at("name"), "gauge 7");
  EXPECT_EQ(rec.at("role"), "device");
  EXPECT_EQ(rec.at("sensors"), json::array({"wl-01", "wl-02"}));
  EXPECT_TRUE(is_rfc3339_ms_utc(rec.at("created_at")));
  ASSERT_TRUE(rec.at("id").is_string());

  auto who = sync(tokens().lookup(storage::hash_token(created.token)));
  ASSERT_TRUE(who);
  EXPECT_EQ(who->token_id, rec.at("id").get<std::string>());
  EXPECT_EQ(who->name, "gauge 7");
  EXPECT_EQ(who->role, "device");
  EXPECT_EQ(who->sensors, (std::vector<std::string>{"wl-01", "wl-02"}));

  // The secret is not stored: neither the token nor anything but its hash finds it.
  EXPECT_FALSE(sync(tokens().lookup(created.token)));
  EXPECT_FALSE(sync(tokens().lookup(storage::hash_token(created.token + "x"))));
  pqxx::connection c(url_);
  pqxx::nontransaction tx(c);
  auto leaked = tx.exec_params("SELECT count(*) FROM api_tokens WHERE token_hash = $1 OR id = $1 OR name = $1",
                               created.token);
  EXPECT_EQ(leaked[0][0].as<int>(), 0);
}

TEST_F(pg, a_token_without_sensors_has_an_empty_list) {
  auto created = sync(tokens().create({"ops", "operator", {}}, "test"));
  EXPECT_EQ(json::parse(created.json).at("sensors"), json::array());
  auto who = sync(tokens().lookup(storage::hash_token(created.token)));
  ASSERT_TRUE(who);
  EXPECT_EQ(who->role, "operator");
  EXPECT_TRUE(who->sensors.empty());
}

TEST_F(pg, a_revoked_token_is_not_found_and_not_listed) {
  auto keep = sync(tokens().create({"keep", "analyst", {}}, "test"));
  auto drop = sync(tokens().create({"drop", "admin", {}}, "test"));
  auto drop_id = json::parse(drop.json).at("id").get<std::string>();
  ASSERT_TRUE(sync(tokens().lookup(storage::hash_token(drop.token))));

  EXPECT_TRUE(sync(tokens().revoke(drop_id, "test")));
  EXPECT_FALSE(sync(tokens().lookup(storage::hash_token(drop.token))));
  EXPECT_FALSE(sync(tokens().revoke(drop_id, "test"))) << "revoking twice reports nothing revoked";
  EXPECT_FALSE(sync(tokens().revoke("tok_unknown", "test")));
  EXPECT_TRUE(sync(tokens().lookup(storage::hash_token(keep.token)))) << "other tokens are untouched";

  auto listed = sync(tokens().list({}));
  ASSERT_EQ(listed.items.size(), 1u);
  auto item = json::parse(listed.items[0]);
  EXPECT_EQ(item.at("name"), "keep");
  EXPECT_FALSE(item.contains("token")) << "a list never shows secrets";
  EXPECT_FALSE(item.contains("token_hash"));
}

TEST_F(pg, token_ids_and_secrets_are_unique_and_list_pages) {
  std::set<std::string> ids, secrets;
  for (int i = 0; i < 5; ++i) {
    auto t = sync(tokens().create({"t" + std::to_string(i), "analyst", {}}, "test"));
    ids.insert(json::parse(t.json).at("id").get<std::string>());
    secrets.insert(t.token);
  }
  EXPECT_EQ(ids.size(), 5u);
  EXPECT_EQ(secrets.size(), 5u);
  storage::page_request req;
  req.limit = 2;
  std::vector<std::string> seen;
  for (int guard = 0; guard < 5; ++guard) {
    auto page = sync(tokens().list(req));
    for (const auto& item : page.items) seen.push_back(json::parse(item).at("id").get<std::string>());
    if (!page.last_id) break;
    req.after = *page.last_id;
  }
  EXPECT_EQ(seen, std::vector<std::string>(ids.begin(), ids.end()));  // each once, in id order
}

TEST_F(pg, create_token_now_writes_a_token_the_store_finds) {
  auto created = storage::create_token_now(url_, {"cli", "admin", {}});
  auto who = sync(tokens().lookup(storage::hash_token(created.token)));
  ASSERT_TRUE(who);
  EXPECT_EQ(who->name, "cli");
  EXPECT_EQ(who->role, "admin");
}
