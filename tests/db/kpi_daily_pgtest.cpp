// The daily rollup level (migration 0018, src/storage/rollups.cpp) against a real PostgreSQL: every
// KPI read from rollups answers the same through rollup_1d as through rollup_1h alone
// (kpi_query::hourly_only), over whole months, unaligned ranges and sub-day ranges, across a month
// boundary in Seoul's calendar (UTC+9: 15:00 UTC is local midnight), after a late reading, a
// duplicate, a day still marked for recomputation and a change of the daily level's time zone.
#include <cmath>
#include <vector>

#include "maeul/kpi/catalog.hpp"
#include "maeul/storage/kpi_store.hpp"
#include "maeul/storage/observations.hpp"
#include "pg_support.hpp"

namespace {

using namespace maeul_test;
namespace kpi = maeul::kpi;

std::int64_t at(unsigned mo, unsigned day, int h, int mi = 0) { return utc_us(2026, mo, day, h, mi); }  // UTC
const std::int64_t feb1 = kst_us(2026, 2, 1), mar1 = kst_us(2026, 3, 1), apr1 = kst_us(2026, 4, 1);

// The KPIs computed from rollups.
const std::vector<std::string> rollup_kpis = {"transit_boardings_per_capita", "electricity_per_capita", "renewable_share",
                                              "travel_time_index", "pm25_bad_days", "sensor_availability"};

class kpi_daily : public fresh_db {
 protected:
  void SetUp() override {
    fresh_db::SetUp();
    if (HasFatalFailure()) return;
    obs_ = std::make_unique<storage::observation_store>(*pool_, *pool_);
    kpis_ = std::make_unique<storage::kpi_store>(*pool_);
  }
  void TearDown() override {
    kpis_.reset();
    obs_.reset();
    fresh_db::TearDown();
  }

  void sensor(const std::string& id, const std::string& domain_, const std::string& kind, double lon,
              const std::string& metric) {
    json m = {{"name", metric}, {"unit", "x"}, {"interval_s", 1200}};
    add_sensor(sensor_at(id, domain_, kind, lon, 38.12, json::array({m}), json::object()));
    query("UPDATE sensors SET created_at = '2026-02-01 00:00:00+00' WHERE id = '" + id + "'");
  }

  // Writes readings through the store and compacts; returns how many were new.
  std::int64_t write(const std::string& sensor_id, const std::vector<std::pair<std::int64_t, double>>& rs) {
    auto metas = sync(obs_->sensors({sensor_id}));
    if (metas.size() != 1) throw std::logic_error("no sensor " + sensor_id);
    auto rows = std::make_shared<std::vector<storage::obs_row>>();
    for (auto [ts, v] : rs) rows->push_back({metas[0].metrics[0].series_id, ts, v});
    auto counts = sync(obs_->write({rows}));
    sync(obs_->compact_rollups());
    return counts[0].accepted;
  }

  // Readings every 20 minutes from Feb 20 to Mar 10 (UTC), values varying within each hour.
  void fill(const std::string& sensor_id, int seed, double scale) {
    std::vector<std::pair<std::int64_t, double>> rs;
    int i = 0;
    for (auto t = at(2, 20, 0); t < at(3, 10, 0); t += 20 * us_per_min, ++i)
      rs.push_back({t, scale * (1 + (i * 7 + seed) % 11)});
    ASSERT_EQ(write(sensor_id, rs), std::int64_t(rs.size()));
  }

  void city() {
    add_zone(square_zone("za", 128.50, 38.10, 0.05, 1000));
    add_zone(square_zone("zb", 128.60, 38.10, 0.05, 3000));
    sensor("meter-a", "energy", "smart_meter", 128.52, "power_kw");
    sensor("meter-b", "energy", "smart_meter", 128.62, "power_kw");
    sensor("pv-a", "energy", "solar_pv", 128.52, "power_kw");
    sensor("bus-a", "mobility", "bus_stop_counter", 128.52, "boardings");
    sensor("road-b", "mobility", "traffic_corridor", 128.62, "travel_time_s");
    sensor("aq-a", "environment", "air_quality", 128.52, "pm25");
    sensor("aq-b", "environment", "air_quality", 128.62, "pm25");
    fill("meter-a", 1, 1.5);
    fill("meter-b", 2, 2);
    fill("pv-a", 3, 0.5);
    fill("bus-a", 4, 3);
    fill("road-b", 5, 40);
    fill("aq-a", 6, 6);
    fill("aq-b", 7, 5);
  }

  std::vector<storage::kpi_value> values(const std::string& id, const std::string& period, std::int64_t from,
                                         std::int64_t to, bool hourly_only) {
    storage::kpi_query q;
    q.kpi = id;
    q.period = period;
    q.timezone = "Asia/Seoul";
    q.from_us = from;
    q.to_us = to;
    q.hourly_only = hourly_only;
    return sync(kpis_->values(q, kpi::walking_model{}));
  }

  // Every rollup KPI, by day, week and month, over ranges whole, unaligned and within one day:
  // the daily path equals the hourly one. Returns the number of values compared.
  int expect_same(const std::string& what) {
    const std::vector<std::pair<std::int64_t, std::int64_t>> ranges = {
        {feb1, apr1}, {at(2, 10, 3, 17), at(3, 20, 7)}, {at(2, 28, 16), at(2, 28, 20)}, {at(2, 21, 15), at(3, 7, 15)}};
    int n = 0;
    for (const auto& id : rollup_kpis)
      for (const std::string period : {"day", "week", "month"})
        for (const auto& [from, to] : ranges) {
          auto got = values(id, period, from, to, false);
          auto ref = values(id, period, from, to, true);
          std::string where = what + ": " + id + " by " + period + " " + iso_utc(from) + " .. " + iso_utc(to);
          EXPECT_EQ(got.size(), ref.size()) << where;
          if (got.size() != ref.size()) continue;
          for (std::size_t i = 0; i < got.size(); ++i, ++n) {
            auto at_ = where + " #" + std::to_string(i);
            EXPECT_EQ(got[i].zone, ref[i].zone) << at_;
            EXPECT_EQ(got[i].start_us, ref[i].start_us) << at_;
            EXPECT_EQ(got[i].days, ref[i].days) << at_;
            EXPECT_EQ(got[i].value.has_value(), ref[i].value.has_value()) << at_;
            if (got[i].value && ref[i].value)
              EXPECT_NEAR(*got[i].value, *ref[i].value, 1e-9 * std::max(1.0, std::abs(*ref[i].value))) << at_;
          }
        }
    return n;
  }

  std::int64_t count(const std::string& sql) { return query(sql)[0][0].as<std::int64_t>(); }

  std::unique_ptr<storage::observation_store> obs_;
  std::unique_ptr<storage::kpi_store> kpis_;
};

}  // namespace

TEST_F(kpi_daily, the_daily_level_is_kept_in_the_city_calendar_by_the_compactor) {
  city();
  // 7 series × 18 UTC days: Seoul days Feb 20 (from 09:00 local) to Mar 10 (until 09:00 local), 19 days each.
  EXPECT_EQ(count("SELECT count(*) FROM rollup_1d"), 7 * 19);
  EXPECT_EQ(count("SELECT count(*) FROM rollup_1d_dirty"), 0);  // past days: all recomputed
  EXPECT_EQ(query("SELECT tz FROM rollup_1d_zone")[0][0].as<std::string>(), "Asia/Seoul");
  // A Seoul day: Feb 28 15:00 UTC to Mar 1 15:00 UTC is March 1st; 24 hours of 3 readings.
  auto r = query("SELECT d.n, d.hours, d.sum = (SELECT sum(h.sum) FROM rollup_1h h WHERE h.series_id = d.series_id "
                 "AND h.bucket >= '2026-02-28 15:00+00' AND h.bucket < '2026-03-01 15:00+00') FROM rollup_1d d "
                 "JOIN series s ON s.id = d.series_id WHERE s.sensor_id = 'meter-a' AND d.day = '2026-03-01'");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0].as<std::int64_t>(), 72);
  EXPECT_EQ(r[0][1].as<int>(), 24);
  EXPECT_TRUE(r[0][2].as<bool>());
}

TEST_F(kpi_daily, every_rollup_kpi_answers_the_same_from_the_daily_level) {
  city();
  EXPECT_GT(expect_same("first"), 300);

  // The daily path really reads rollup_1d: a daily row altered by hand changes its answer only.
  query("UPDATE rollup_1d SET mean_sum = mean_sum + 1000 WHERE day = '2026-03-05' AND series_id = "
        "(SELECT id FROM series WHERE sensor_id = 'meter-a')");
  auto daily = values("electricity_per_capita", "month", feb1, apr1, false);
  auto hourly = values("electricity_per_capita", "month", feb1, apr1, true);
  ASSERT_FALSE(daily.empty());
  ASSERT_EQ(daily.size(), hourly.size());
  EXPECT_NEAR(*daily[1].value - *hourly[1].value, 1000.0 / 1000, 1e-9);  // za, March: 1000 kWh over 1000 residents
  // A day still marked for recomputation is read from the hourly rollups: the altered row is ignored.
  query("INSERT INTO rollup_1d_dirty SELECT series_id, day FROM rollup_1d WHERE day = '2026-03-05' AND series_id = "
        "(SELECT id FROM series WHERE sensor_id = 'meter-a')");
  EXPECT_GT(expect_same("a marked day"), 300);
  // The next compaction recomputes it (the day is past).
  sync(obs_->compact_rollups());
  EXPECT_EQ(count("SELECT count(*) FROM rollup_1d_dirty"), 0);
  query("DELETE FROM rollup_1d_dirty");
  EXPECT_GT(expect_same("recomputed"), 300);
}

TEST_F(kpi_daily, late_readings_duplicates_and_the_local_month_boundary) {
  city();
  auto march = [&](bool hourly_only) {
    auto v = values("electricity_per_capita", "month", feb1, apr1, hourly_only);
    for (const auto& x : v)
      if (x.zone == std::optional<std::string>("za") && x.start_us == mar1) return *x.value;
    throw std::logic_error("no March value for za");
  };
  auto february = [&]() {
    auto v = values("electricity_per_capita", "month", feb1, apr1, false);
    for (const auto& x : v)
      if (x.zone == std::optional<std::string>("za") && x.start_us == feb1) return *x.value;
    throw std::logic_error("no February value for za");
  };
  double mar_before = march(false), feb_before = february();
  EXPECT_NEAR(mar_before, march(true), 1e-9);

  // A late reading in a new hour at 15:05 UTC on Feb 28: 00:05 on March 1st in Seoul (a UTC-day
  // rollup would count it in February). Readings are every 20 minutes from :00, so 15:05 is new;
  // its hour's mean changes from m to (3m + 1000) / 4.
  auto hour_mean = [&](const std::string& hour) {
    return query("SELECT sum / n FROM rollup_1h WHERE bucket = '" + hour +
                 "' AND series_id = (SELECT id FROM series WHERE sensor_id = 'meter-a')")[0][0]
        .as<double>();
  };
  double m1 = hour_mean("2026-02-28 15:00+00");
  EXPECT_EQ(write("meter-a", {{at(2, 28, 15, 5), 1000}}), 1);
  double m2 = hour_mean("2026-02-28 15:00+00");
  EXPECT_NEAR(m2, (3 * m1 + 1000) / 4, 1e-9);
  EXPECT_NEAR(march(false) - mar_before, (m2 - m1) / 1000, 1e-9);  // kWh over za's 1000 residents
  EXPECT_NEAR(february(), feb_before, 1e-9);
  EXPECT_NEAR(march(false), march(true), 1e-9);

  // The last hour of February in Seoul (14:00 UTC on Feb 28) gets a late reading: February moves.
  double m3 = hour_mean("2026-02-28 14:00+00");
  EXPECT_EQ(write("meter-a", {{at(2, 28, 14, 50), 500}}), 1);
  double m4 = hour_mean("2026-02-28 14:00+00");
  EXPECT_NEAR(february() - feb_before, (m4 - m3) / 1000, 1e-9);

  // A duplicate (same series and instant, another value) changes nothing.
  double mar_dup = march(false);
  EXPECT_EQ(write("meter-a", {{at(2, 28, 15, 5), 7}, {at(3, 5, 10, 20), 9}}), 0);
  EXPECT_NEAR(march(false), mar_dup, 1e-12);
  EXPECT_EQ(count("SELECT count(*) FROM rollup_1d_dirty"), 0);
  EXPECT_GT(expect_same("after late readings and duplicates"), 300);
}

TEST_F(kpi_daily, a_daily_level_in_another_time_zone_is_not_used_until_rebuilt) {
  city();
  // Rebuilt in UTC days: wrong for Seoul's calendar, so queries in Seoul ignore it.
  EXPECT_EQ(sync(kpis_->ensure_daily_calendar("UTC")), 7 * 18);
  EXPECT_EQ(sync(kpis_->ensure_daily_calendar("UTC")), -1);
  EXPECT_GT(expect_same("UTC daily level"), 300);
  // Readings keep marking days in the level's own calendar.
  EXPECT_EQ(write("meter-b", {{at(3, 2, 16, 5), 3}}), 1);
  EXPECT_EQ(count("SELECT count(*) FROM rollup_1d WHERE day = '2026-03-02' AND series_id = (SELECT id FROM series "
                  "WHERE sensor_id = 'meter-b') AND n = 73"),
            1);
  EXPECT_EQ(sync(kpis_->ensure_daily_calendar("Asia/Seoul")), 7 * 19);
  EXPECT_GT(expect_same("rebuilt in Seoul"), 300);
}

TEST_F(kpi_daily, the_coverage_cache_follows_every_zone_and_facility_write) {
  // Zone za's residents are all within 9 minutes of every category but a care centre, until one comes.
  add_zone(square_zone("za", 128.500, 38.100, 0.002, 1000));
  for (std::string cat : {"clinic", "pharmacy", "grocery", "bus_stop"}) add_facility(facility_at("f-" + cat, cat, 128.501, 38.101));
  auto first = sync(kpis_->access("", 9, kpi::walking_model{}));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].all, 0.0);
  EXPECT_EQ(sync(kpis_->access("", 9, kpi::walking_model{}))[0].all, 0.0);  // from the cache
  add_facility(facility_at("f-care", "care_center", 128.501, 38.101));
  EXPECT_EQ(sync(kpis_->access("", 9, kpi::walking_model{}))[0].all, 1.0);
  // A facility moved out of reach, by SQL behind the store's back: seen too.
  query("UPDATE facilities SET location = ST_SetSRID(ST_MakePoint(128.6, 38.1), 4326) WHERE id = 'f-care'");
  EXPECT_EQ(sync(kpis_->access("", 9, kpi::walking_model{}))[0].all, 0.0);
  query("UPDATE facilities SET location = ST_SetSRID(ST_MakePoint(128.501, 38.101), 4326) WHERE id = 'f-care'");
  EXPECT_EQ(sync(kpis_->access("", 9, kpi::walking_model{}))[0].all, 1.0);
  query("UPDATE zones SET population = 2500 WHERE id = 'za'");
  EXPECT_EQ(sync(kpis_->access("", 9, kpi::walking_model{}))[0].population, 2500);
  // Another radius is another entry: 1 minute (92 m) does not reach every sample point.
  EXPECT_LT(sync(kpis_->access("", 1, kpi::walking_model{}))[0].all, 1.0);
}
