// KPI computation in SQL over rollups, incidents and alerts, grouped by the city's calendar
// periods (day, week, month, year in the city's time zone) per zone and city-wide; the
// accessibility analysis with PostGIS; budget lines.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "maeul/domain/problem.hpp"
#include "maeul/kpi/catalog.hpp"
#include "maeul/storage/registry.hpp"

namespace maeul::storage {

class db_pool;
struct kpi_access_cache;

struct kpi_value {
  std::optional<std::string> zone;  // nullopt: city-wide
  std::int64_t start_us = 0;        // period start (local midnight etc.), as an instant
  double days = 0;                  // length of the period in days
  std::optional<double> value;      // nullopt: no data
  std::optional<double> p90;        // emergency_response_time only
  // People-based KPIs (welfare_ack_time): the distinct households behind the value. Public pages
  // withhold a value from fewer than min_public_subjects (API §9).
  std::optional<std::int64_t> subjects;
  bool suppressed = false;          // set by suppress_small(): value withheld
};

inline constexpr std::int64_t min_public_subjects = 5;
// Withholds (value null, suppressed) every value computed from fewer than min_public_subjects
// people or households. For public answers only; officials see the values.
void suppress_small(std::vector<kpi_value>& values);

struct kpi_query {
  std::string kpi, period = "month", timezone = "Asia/Seoul", zone;  // zone "": all zones and the city
  std::int64_t from_us = 0, to_us = 0;
  // true: read the hourly rollups only, never the daily level (the reference the daily path is
  // tested against; the answer is the same up to the order of floating-point sums).
  bool hourly_only = false;
};

struct accessibility {
  std::string zone;
  std::map<std::string, double> categories;  // share of residents 0..1
  double all = 0;
  std::int64_t population = 0;
};

class kpi_store {
 public:
  explicit kpi_store(db_pool& pool);

  // Values ordered by zone (city last) then period start.
  task<std::vector<kpi_value>> values(kpi_query q, kpi::walking_model walk);
  // Keeps the daily rollup level in the calendar of `timezone`: when rollup_1d holds another time
  // zone's days (or none), rebuilds it from rollup_1h (maeul_rollup_1d_rebuild, migration 0018).
  // Returns the daily rows rebuilt, or -1 when it was already in that time zone.
  task<std::int64_t> ensure_daily_calendar(std::string timezone);
  // One zone ("" : every zone).
  task<std::vector<accessibility>> access(std::string zone, double minutes, kpi::walking_model walk);

  task<outcome<std::string>> create_budget(std::string id, std::string body_json);
  task<outcome<std::string>> replace_budget(std::string id, std::string body_json);
  task<outcome<std::string>> get_budget(std::string id);
  task<outcome<bool>> delete_budget(std::string id);
  task<std::vector<std::string>> list_budget(int year);  // year 0: all
  task<std::map<std::string, std::string>> zone_names();  // id -> name JSON
  // The instant local midnight of January 1st of `year` in `timezone`; and the local year of `at_us`.
  task<std::pair<std::int64_t, int>> year_start(int year, std::string timezone, std::int64_t at_us);

 private:
  db_pool& pool_;
  // The accessibility analysis by a fingerprint of zones and facilities (kpi_store.cpp).
  std::shared_ptr<kpi_access_cache> access_cache_;
};

}  // namespace maeul::storage
