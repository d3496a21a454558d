// Shared support of the database tier: a fresh, migrated database per test (created on the server
// of MAEUL_TEST_DB_URL and dropped at the end), a way to run one awaitable to completion, a plain
// SQL connection (session time zone UTC) for checking what the stores wrote, and UTC time helpers
// that do not go through the code under test.
#pragma once
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "maeul/domain/registry.hpp"
#include "maeul/storage/db_pool.hpp"
#include "maeul/storage/migrations.hpp"
#include "maeul/storage/registry.hpp"

namespace maeul_test {

namespace d = maeul::domain;
namespace storage = maeul::storage;
using nlohmann::json;

inline std::string random_hex(int n) {
  static std::mt19937_64 gen{std::random_device{}()};
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < n; ++i) out += digits[gen() % 16];
  return out;
}

// The URL with its last path segment (the database name) replaced; a query string is kept.
inline std::string with_database(const std::string& url, const std::string& db) {
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

// The same for a task that returns nothing.
inline void sync(boost::asio::awaitable<void> aw) {
  boost::asio::io_context ioc;
  bool done = false;
  std::exception_ptr err;
  boost::asio::co_spawn(ioc, std::move(aw), [&](std::exception_ptr e) {
    err = e;
    done = true;
  });
  ioc.run();
  if (err) std::rethrow_exception(err);
  if (!done) throw std::logic_error("the task did not complete");
}

// ---- time, computed with <chrono> only (independent of the SQL under test)

constexpr std::int64_t us_per_s = 1000000;
constexpr std::int64_t us_per_min = 60 * us_per_s;
constexpr std::int64_t us_per_h = 3600 * us_per_s;
constexpr std::int64_t us_per_day = 86400 * us_per_s;

// Microseconds since the epoch of a UTC civil time.
inline std::int64_t utc_us(int y, unsigned mo, unsigned day, int h = 0, int mi = 0, int s = 0, int us = 0) {
  using namespace std::chrono;
  auto days_ = sys_days{year{y} / month{mo} / ::std::chrono::day{day}}.time_since_epoch().count();
  return ((std::int64_t(days_) * 24 + h) * 60 + mi) * 60 * us_per_s + std::int64_t(s) * us_per_s + us;
}

// Asia/Seoul has been UTC+9 all year since 1988: a civil time there as microseconds since the epoch.
inline std::int64_t kst_us(int y, unsigned mo, unsigned day, int h = 0, int mi = 0, int s = 0) {
  return utc_us(y, mo, day, h, mi, s) - 9 * us_per_h;
}

inline std::string iso_utc(std::int64_t t_us) {
  using namespace std::chrono;
  auto secs = t_us / us_per_s - (t_us % us_per_s < 0);
  auto dp = floor<days>(sys_seconds{seconds{secs}});
  year_month_day ymd{dp};
  auto rem = secs - dp.time_since_epoch().count() * 86400LL;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", int(ymd.year()), unsigned(ymd.month()),
                unsigned(ymd.day()), (long long)(rem / 3600), (long long)(rem / 60 % 60), (long long)(rem % 60),
                (long long)((t_us - secs * us_per_s) / 1000));
  return buf;
}

// ---- registry objects

inline json ring(double lon, double lat, double w, double h) {
  return json::array({json::array({lon, lat}), json::array({lon + w, lat}), json::array({lon + w, lat + h}),
                      json::array({lon, lat + h}), json::array({lon, lat})});
}

inline json point(double lon, double lat) { return {{"type", "Point"}, {"coordinates", json::array({lon, lat})}}; }

inline d::zone_input square_zone(const std::string& id, double lon, double lat, double size, std::int64_t population) {
  json body = {{"id", id},
               {"name", {{"ko", "구역 " + id}, {"en", "Zone " + id}}},
               {"boundary", {{"type", "Polygon"}, {"coordinates", json::array({ring(lon, lat, size, size)})}}},
               {"population", population}};
  auto z = d::validate_zone(body);
  if (!z.ok()) throw std::invalid_argument("test zone does not validate: " + z.error().describe());
  return z.value();
}

// A sensor at (lon, lat); its zone is derived from the location. `metrics`: [{"name","unit",...}].
inline d::sensor_input sensor_at(const std::string& id, const std::string& domain_, const std::string& kind, double lon,
                                 double lat, json metrics, json extra = json::object()) {
  json body = {{"id", id}, {"domain", domain_}, {"kind", kind}, {"location", point(lon, lat)}, {"metrics", metrics}};
  body.update(extra);
  auto s = d::validate_sensor(body);
  if (!s.ok()) throw std::invalid_argument("test sensor does not validate: " + s.error().describe());
  return s.value();
}

inline d::facility_input facility_at(const std::string& id, const std::string& category, double lon, double lat) {
  json body = {{"id", id}, {"category", category}, {"name", {{"ko", "시설 " + id}}}, {"location", point(lon, lat)}};
  auto f = d::validate_facility(body);
  if (!f.ok()) throw std::invalid_argument("test facility does not validate: " + f.error().describe());
  return f.value();
}

// ---- the fixture

class fresh_db : public ::testing::Test {
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
  }

  void TearDown() override {
    conn_.reset();
    registry_.reset();
    if (pool_) pool_->stop();
    pool_.reset();
    if (created_) {
      pqxx::connection c(server_url_);
      pqxx::nontransaction tx(c);
      tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(db_name_) + " WITH (FORCE)");
    }
  }


 public:
  // A plain connection to the test database (session time zone UTC) for checks and set-up.
  pqxx::connection& conn() {
    if (!conn_) {
      conn_ = std::make_unique<pqxx::connection>(url_);
      conn_->set_variable("TimeZone", "'UTC'");
    }
    return *conn_;
  }
  pqxx::result query(const std::string& sql) {
    pqxx::nontransaction tx(conn());
    return tx.exec(sql);
  }
  template <class... Args>
  pqxx::result query_params(const std::string& sql, Args&&... args) {
    pqxx::nontransaction tx(conn());
    return tx.exec_params(sql, std::forward<Args>(args)...);
  }
  std::int64_t count(const std::string& sql) { return query(sql)[0][0].as<std::int64_t>(); }

  storage::registry& reg() { return *registry_; }

  void add_zone(d::zone_input z) {
    auto r = sync(reg().create_zone(std::move(z)));
    ASSERT_TRUE(r.ok()) << r.error().describe();
  }
  void add_sensor(d::sensor_input s) {
    auto r = sync(reg().create_sensor(std::move(s)));
    ASSERT_TRUE(r.ok()) << r.error().describe();
  }
  void add_facility(d::facility_input f) {
    auto r = sync(reg().create_facility(std::move(f)));
    ASSERT_TRUE(r.ok()) << r.error().describe();
  }

  std::string server_url_, db_name_, url_;
  bool created_ = false;
  std::unique_ptr<storage::db_pool> pool_;
  std::unique_ptr<storage::registry> registry_;
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace maeul_test
