// KPI computation (storage/kpi_store.hpp) against a real PostgreSQL: every KPI of the catalog
// (src/kpi/catalog.cpp) over a small data set written through the stores, per zone and city-wide,
// by day and by month in the Asia/Seoul calendar. Expected values are worked out by hand from the
// inputs in each test. Readings are chosen around 15:00 UTC (midnight in Seoul) so that the UTC
// calendar would give different answers.
#include <cmath>
#include <vector>

#include "maeul/kpi/catalog.hpp"
#include "maeul/rules/rules.hpp"
#include "maeul/storage/kpi_store.hpp"
#include "maeul/storage/observations.hpp"
#include "maeul/storage/operations.hpp"
#include "pg_support.hpp"

namespace {

using namespace maeul_test;
namespace rules = maeul::rules;
namespace kpi = maeul::kpi;

struct want {
  std::string zone;  // "" : city-wide
  std::int64_t start_us;
  double days;
  std::optional<double> value;
  std::optional<double> p90 = std::nullopt;
};

const std::int64_t mar1 = kst_us(2026, 3, 1), mar2 = kst_us(2026, 3, 2), mar3 = kst_us(2026, 3, 3);
const std::int64_t feb1 = kst_us(2026, 2, 1), apr1 = kst_us(2026, 4, 1);
std::int64_t at(unsigned mo, unsigned day, int h, int mi = 0) { return utc_us(2026, mo, day, h, mi); }  // UTC

void expect_values(const std::vector<storage::kpi_value>& got, const std::vector<want>& w, const std::string& what) {
  ASSERT_EQ(got.size(), w.size()) << what;
  for (std::size_t i = 0; i < w.size(); ++i) {
    std::string where = what + " #" + std::to_string(i) + " (" + (w[i].zone.empty() ? "city" : w[i].zone) + " " +
                        iso_utc(w[i].start_us) + ")";
    EXPECT_EQ(got[i].zone.value_or(""), w[i].zone) << where;
    EXPECT_EQ(got[i].zone.has_value(), !w[i].zone.empty()) << where;
    EXPECT_EQ(got[i].start_us, w[i].start_us) << where << " got " << iso_utc(got[i].start_us);
    EXPECT_EQ(got[i].days, w[i].days) << where;
    ASSERT_EQ(got[i].value.has_value(), w[i].value.has_value()) << where;
    if (w[i].value) EXPECT_NEAR(*got[i].value, *w[i].value, 1e-9 * std::max(1.0, std::abs(*w[i].value))) << where;
    ASSERT_EQ(got[i].p90.has_value(), w[i].p90.has_value()) << where;
    if (w[i].p90) EXPECT_NEAR(*got[i].p90, *w[i].p90, 1e-9 * std::max(1.0, std::abs(*w[i].p90))) << where;
  }
}

class kpis : public fresh_db {
 protected:
  void SetUp() override {
    fresh_db::SetUp();
    if (HasFatalFailure()) return;
    obs_ = std::make_unique<storage::observation_store>(*pool_, *pool_);
    ops_ = std::make_unique<storage::operations_store>(*pool_);
    kpis_ = std::make_unique<storage::kpi_store>(*pool_);
  }
  void TearDown() override {
    kpis_.reset();
    ops_.reset();
    obs_.reset();
    fresh_db::TearDown();
  }

 public:
  // Zone za (1000 residents) and zb (3000 residents); sensors go at their centres.
  void two_zones() {
    add_zone(square_zone("za", 128.50, 38.10, 0.05, 1000));
    add_zone(square_zone("zb", 128.60, 38.10, 0.05, 3000));
  }
  static constexpr double za_lon = 128.52, zb_lon = 128.62, lat = 38.12;

  void sensor(const std::string& id, const std::string& domain_, const std::string& kind, double lon,
              const std::string& metric, json extra = json::object(), json metric_extra = json::object()) {
    json m = {{"name", metric}, {"unit", "x"}};
    m.update(metric_extra);
    add_sensor(sensor_at(id, domain_, kind, lon, lat, json::array({m}), extra));
  }

  // Writes readings of a sensor's only metric through the observation store and folds the rollups.
  void readings(const std::string& sensor_id, std::vector<std::pair<std::int64_t, double>> rs) {
    auto metas = sync(obs_->sensors({sensor_id}));
    ASSERT_EQ(metas.size(), 1u);
    ASSERT_EQ(metas[0].metrics.size(), 1u);
    auto sid = metas[0].metrics[0].series_id;
    auto rows = std::make_shared<std::vector<storage::obs_row>>();
    for (auto [ts, v] : rs) rows->push_back({sid, ts, v});
    auto counts = sync(obs_->write({rows}));
    ASSERT_EQ(counts[0].accepted, std::int64_t(rs.size()));
    sync(obs_->compact_rollups());
  }

  std::vector<storage::kpi_value> values(const std::string& id, const std::string& period, std::int64_t from,
                                         std::int64_t to, const std::string& zone = "") {
    storage::kpi_query q;
    q.kpi = id;
    q.period = period;
    q.timezone = "Asia/Seoul";
    q.zone = zone;
    q.from_us = from;
    q.to_us = to;
    return sync(kpis_->values(q, kpi::walking_model{}));
  }

  std::unique_ptr<storage::observation_store> obs_;
  std::unique_ptr<storage::operations_store> ops_;
  std::unique_ptr<storage::kpi_store> kpis_;
};

rules::rule welfare_rule(const std::string& id, const std::string& domain_) {
  auto r = rules::parse_rule({{"id", id},
                              {"name", {{"en", id}}},
                              {"kind", "silence"},
                              {"selector", {{"domain", domain_}}},
                              {"severity", "warning"},
                              {"for", "6h"}});
  if (!r.ok()) throw std::invalid_argument(r.error().describe());
  return r.value();
}

}  // namespace

TEST(kpi_catalog, every_kpi_of_the_catalog_has_a_test_here) {
  // The tests below are named after these ids; a new KPI fails here until it has one.
  std::vector<std::string> ids;
  for (const auto& d : kpi::catalog()) ids.push_back(d.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"emergency_response_time", "travel_time_index", "transit_boardings_per_capita",
                                           "electricity_per_capita", "renewable_share", "pm25_bad_days", "welfare_ack_time",
                                           "sensor_availability", "living_zone_9min_coverage",
                                           "bus_excess_wait_time", "bus_headway_regularity"}));
}

TEST_F(kpis, transit_boardings_per_capita) {
  two_zones();
  sensor("bus-a", "mobility", "bus_stop_counter", za_lon, "boardings");
  sensor("bus-b", "mobility", "bus_stop_counter", zb_lon, "boardings");
  sensor("other", "mobility", "traffic_corridor", za_lon, "boardings");  // another kind: never counted
  // bus-a: Feb 28 15:30 UTC is March 1st 00:30 in Seoul; Mar 1 14:xx is 23:xx; 15:20 is March 2nd.
  readings("bus-a", {{at(2, 28, 15, 30), 100}, {at(3, 1, 14, 10), 10}, {at(3, 1, 14, 40), 20}, {at(3, 1, 15, 20), 5}});
  // bus-b: Mar 1 11:00 in Seoul; Feb 28 23:59 in Seoul.
  readings("bus-b", {{at(3, 1, 2), 30}, {at(2, 28, 14, 59), 7}});
  readings("other", {{at(3, 1, 2), 1000}});

  // Days: za Mar 1 = 100+10+20 = 130 over 1000; Mar 2 = 5; zb Mar 1 = 30 over 3000; city over 4000.
  expect_values(values("transit_boardings_per_capita", "day", mar1, mar3),
                {{"za", mar1, 1, 130.0 / 1000}, {"za", mar2, 1, 5.0 / 1000}, {"zb", mar1, 1, 30.0 / 3000},
                 {"", mar1, 1, 160.0 / 4000}, {"", mar2, 1, 5.0 / 4000}},
                "day");
  // Months (Seoul): za March = 135; zb February = 7, March = 30.
  expect_values(values("transit_boardings_per_capita", "month", feb1, apr1),
                {{"za", mar1, 31, 135.0 / 1000}, {"zb", feb1, 28, 7.0 / 3000}, {"zb", mar1, 31, 30.0 / 3000},
                 {"", feb1, 28, 7.0 / 4000}, {"", mar1, 31, 165.0 / 4000}},
                "month");
  expect_values(values("transit_boardings_per_capita", "month", feb1, apr1, "zb"),
                {{"zb", feb1, 28, 7.0 / 3000}, {"zb", mar1, 31, 30.0 / 3000}}, "month, zb only");
}

TEST_F(kpis, electricity_per_capita) {
  two_zones();
  sensor("meter-a", "energy", "smart_meter", za_lon, "power_kw");
  sensor("meter-b", "energy", "smart_meter", zb_lon, "power_kw");
  // meter-a hourly means: 3 (Seoul Mar 1 00h), 6 (Mar 1 23h), 3 (Mar 2 00h) kWh.
  readings("meter-a", {{at(2, 28, 15, 10), 2}, {at(2, 28, 15, 40), 4}, {at(3, 1, 14, 20), 6}, {at(3, 1, 15, 5), 1},
                       {at(3, 1, 15, 25), 2}, {at(3, 1, 15, 45), 6}});
  // meter-b: 8 (Seoul Feb 28 23h), 15 (Mar 1 12h).
  readings("meter-b", {{at(2, 28, 14, 30), 8}, {at(3, 1, 3), 10}, {at(3, 1, 3, 30), 20}});

  expect_values(values("electricity_per_capita", "day", mar1, mar3),
                {{"za", mar1, 1, 9.0 / 1000}, {"za", mar2, 1, 3.0 / 1000}, {"zb", mar1, 1, 15.0 / 3000},
                 {"", mar1, 1, 24.0 / 4000}, {"", mar2, 1, 3.0 / 4000}},
                "day");
  expect_values(values("electricity_per_capita", "month", feb1, apr1),
                {{"za", mar1, 31, 12.0 / 1000}, {"zb", feb1, 28, 8.0 / 3000}, {"zb", mar1, 31, 15.0 / 3000},
                 {"", feb1, 28, 8.0 / 4000}, {"", mar1, 31, 27.0 / 4000}},
                "month");
}

TEST_F(kpis, renewable_share) {
  two_zones();
  sensor("meter-a", "energy", "smart_meter", za_lon, "power_kw");
  sensor("solar-a", "energy", "solar_pv", za_lon, "power_kw");
  sensor("meter-b", "energy", "smart_meter", zb_lon, "power_kw");
  sensor("solar-b", "energy", "solar_pv", zb_lon, "power_kw");
  // Seoul Mar 1: za meter 5 + 3 = 8, solar 1.5 + 0.5 = 2; zb meter 12, no solar.
  // Seoul Mar 2: za meter 10, solar 10; zb solar 5, no meter.
  readings("meter-a", {{at(3, 1, 3), 4}, {at(3, 1, 3, 30), 6}, {at(3, 1, 4), 3}, {at(3, 1, 16), 10}});
  readings("solar-a", {{at(3, 1, 3), 1}, {at(3, 1, 3, 30), 2}, {at(3, 1, 4), 0.5}, {at(3, 1, 16), 10}});
  readings("meter-b", {{at(3, 1, 3), 12}});
  readings("solar-b", {{at(3, 1, 17), 5}});

  expect_values(values("renewable_share", "day", mar1, mar3),
                {{"za", mar1, 1, 25.0}, {"za", mar2, 1, 100.0}, {"zb", mar1, 1, 0.0}, {"zb", mar2, 1, std::nullopt},
                 {"", mar1, 1, 100.0 * 2 / 20}, {"", mar2, 1, 100.0 * 15 / 10}},
                "day");
  expect_values(values("renewable_share", "month", feb1, apr1),
                {{"za", mar1, 31, 100.0 * 12 / 18}, {"zb", mar1, 31, 100.0 * 5 / 12}, {"", mar1, 31, 100.0 * 17 / 30}},
                "month");
}

TEST_F(kpis, travel_time_index) {
  two_zones();
  sensor("road-a1", "mobility", "traffic_corridor", za_lon, "travel_time_s", {{"attributes", {{"free_flow_s", 100}}}});
  sensor("road-a2", "mobility", "traffic_corridor", za_lon, "travel_time_s");
  sensor("road-b1", "mobility", "traffic_corridor", zb_lon, "travel_time_s", {{"attributes", {{"free_flow_s", 90}}}});
  // a1: Seoul Mar 1 (00Z and 01Z): 150, 130 | 120 -> mean 400/3 over free flow 100.
  readings("road-a1", {{at(3, 1, 0), 150}, {at(3, 1, 0, 30), 130}, {at(3, 1, 1), 120}});
  // a2 (no free flow: the lowest hourly mean of the period): Mar 1 hours 200 | 300, 200 (mean 250);
  // Mar 2: 400.
  readings("road-a2", {{at(3, 1, 0), 200}, {at(3, 1, 1), 300}, {at(3, 1, 1, 30), 200}, {at(3, 1, 16), 400}});
  readings("road-b1", {{at(3, 1, 2), 180}});

  const double a1 = (400.0 / 3) / 100;       // 1.333...
  const double a2_day1 = (700.0 / 3) / 200;  // 1.1666...
  const double a2_month = (1100.0 / 4) / 200;
  const double b1 = 180.0 / 90;
  expect_values(values("travel_time_index", "day", mar1, mar3),
                {{"za", mar1, 1, (a1 + a2_day1) / 2}, {"za", mar2, 1, 1.0}, {"zb", mar1, 1, b1},
                 {"", mar1, 1, (a1 + a2_day1 + b1) / 3}, {"", mar2, 1, 1.0}},
                "day");
  expect_values(values("travel_time_index", "month", feb1, apr1),
                {{"za", mar1, 31, (a1 + a2_month) / 2}, {"zb", mar1, 31, b1}, {"", mar1, 31, (a1 + a2_month + b1) / 3}},
                "month");
}

TEST_F(kpis, pm25_bad_days) {
  two_zones();
  sensor("air-a", "environment", "air_quality", za_lon, "pm25");
  sensor("air-b", "environment", "air_quality", zb_lon, "pm25");
  // Seoul days: za Mar 1 mean 45 (bad), Mar 2 36 (bad).
  readings("air-a", {{at(3, 1, 1), 40}, {at(3, 1, 1, 30), 50}, {at(3, 1, 15, 30), 36}});
  // zb Feb 28 80 (bad); Mar 1 (10 + 70) / 2 = 40 (bad); Mar 2 20. (The UTC day March 1st would average
  // 10, 70, 20 = 33.3: not bad.)
  readings("air-b", {{at(2, 28, 14, 30), 80}, {at(3, 1, 1), 10}, {at(3, 1, 14), 70}, {at(3, 1, 16), 20}});
  // City days: Mar 1 (40 + 50 + 10 + 70) / 4 = 42.5 bad; Mar 2 (36 + 20) / 2 = 28 not bad; Feb 28 80 bad.
  expect_values(values("pm25_bad_days", "day", mar1, mar3),
                {{"za", mar1, 1, 1}, {"za", mar2, 1, 1}, {"zb", mar1, 1, 1}, {"zb", mar2, 1, 0}, {"", mar1, 1, 1},
                 {"", mar2, 1, 0}},
                "day");
  expect_values(values("pm25_bad_days", "month", feb1, apr1),
                {{"za", mar1, 31, 2}, {"zb", feb1, 28, 1}, {"zb", mar1, 31, 1}, {"", feb1, 28, 1}, {"", mar1, 31, 1}},
                "month");
}

TEST_F(kpis, sensor_availability) {
  two_zones();
  sensor("aq-a", "environment", "air_quality", za_lon, "pm25", json::object(), {{"interval_s", 600}});
  sensor("aq-b", "environment", "air_quality", zb_lon, "pm25", json::object(), {{"interval_s", 600}});
  sensor("aq-c", "environment", "air_quality", za_lon, "pm25");  // no interval_s: not counted
  // The store stamps created_at now(); set when each sensor went into service.
  query("UPDATE sensors SET created_at = '2026-03-01 00:00:00+00' WHERE id = 'aq-a'");
  query("UPDATE sensors SET created_at = '2026-02-01 00:00:00+00' WHERE id IN ('aq-b', 'aq-c')");
  std::vector<std::pair<std::int64_t, double>> a, b, c;
  for (int i = 0; i < 45; ++i) a.emplace_back(at(3, 1, 0) + i * 20 * us_per_min, 1);           // to Mar 1 14:40 UTC
  for (int i = 0; i < 108; ++i) b.emplace_back(at(2, 28, 15) + i * 10 * us_per_min, 1);       // to Mar 1 08:50 UTC
  for (int i = 0; i < 10; ++i) c.emplace_back(at(3, 1, 1) + i * us_per_min, 1);
  readings("aq-a", a);
  readings("aq-b", b);
  readings("aq-c", c);

  // Seoul Mar 1 = [Feb 28 15:00, Mar 1 15:00) UTC: aq-a expected from 00:00 (in service) = 15 h / 10 min = 90,
  // received 45; aq-b expected 24 h = 144, received 108. Seoul Mar 2: 144 expected each, none received.
  expect_values(values("sensor_availability", "day", mar1, mar3),
                {{"za", mar1, 1, 100.0 * 45 / 90}, {"za", mar2, 1, 0.0}, {"zb", mar1, 1, 100.0 * 108 / 144},
                 {"zb", mar2, 1, 0.0}, {"", mar1, 1, 100.0 * 153 / 234}, {"", mar2, 1, 0.0}},
                "day");
  // Seoul March: aq-a from Mar 1 00:00 UTC to Mar 31 15:00 UTC = 735 h -> 4410; aq-b 31 days -> 4464.
  expect_values(values("sensor_availability", "month", mar1, apr1),
                {{"za", mar1, 31, 100.0 * 45 / 4410}, {"zb", mar1, 31, 100.0 * 108 / 4464},
                 {"", mar1, 31, 100.0 * 153 / (4410 + 4464)}},
                "month");
}

TEST_F(kpis, emergency_response_time) {
  two_zones();
  struct inc {
    std::string zone;
    std::int64_t reported;
    std::optional<int> on_scene_min;
  };
  std::vector<inc> incs = {
      {"za", at(3, 1, 14, 50), 10},  // Seoul Mar 1 23:50
      {"za", at(3, 1, 15, 10), 6},   // Seoul Mar 2 00:10
      {"zb", at(3, 1, 2), 20},
      {"zb", at(3, 1, 3), 4},
      {"zb", at(3, 1, 4), std::nullopt},  // not on scene yet: not counted
      {"zb", at(2, 28, 14), 30},          // Seoul Feb 28 23:00
  };
  for (const auto& i : incs) {
    storage::incident_input in;
    in.category = "fire";
    in.zone = i.zone;
    in.reported_us = i.reported;
    auto c = sync(ops_->create_incident(in, "kim"));
    ASSERT_TRUE(c.ok()) << c.error().describe();
    storage::incident_patch p;
    p.dispatched_us = i.reported + us_per_min;
    if (i.on_scene_min) p.on_scene_us = i.reported + *i.on_scene_min * us_per_min;
    auto patched = sync(ops_->patch_incident(json::parse(c.value()).at("id").get<std::int64_t>(), p, "park"));
    ASSERT_TRUE(patched.ok()) << patched.error().describe();
  }
  // percentile_cont(0.9): zb [4, 20] -> 4 + 0.9 * 16 = 18.4; city Mar 1 [4, 10, 20] -> 10 + 0.8 * 10 = 18.
  expect_values(values("emergency_response_time", "day", mar1, mar3),
                {{"za", mar1, 1, 10, 10}, {"za", mar2, 1, 6, 6}, {"zb", mar1, 1, 12, 18.4},
                 {"", mar1, 1, 34.0 / 3, 18}, {"", mar2, 1, 6, 6}},
                "day");
  // March: za [6, 10] -> 8, p90 9.6; city [4, 6, 10, 20] -> 10, p90 10 + 0.7 * 10 = 17.
  expect_values(values("emergency_response_time", "month", feb1, apr1),
                {{"za", mar1, 31, 8, 9.6}, {"zb", feb1, 28, 30, 30}, {"zb", mar1, 31, 12, 18.4}, {"", feb1, 28, 30, 30},
                 {"", mar1, 31, 10, 17}},
                "month");
}

TEST_F(kpis, welfare_ack_time) {
  two_zones();
  auto wr = welfare_rule("r-quiet", "welfare");
  auto dr = welfare_rule("r-flood", "disaster");
  auto open = [&](const rules::rule& r, const std::string& subject, const std::string& zone, const std::string& dom) {
    rules::transition t;
    t.rule_id = r.id;
    t.subject = subject;
    t.sensor = subject;
    t.zone = zone;
    t.domain = dom;
    t.message = "silent";
    auto ev = sync(ops_->apply({t}, {r}));
    EXPECT_EQ(ev.size(), 1u);
    return json::parse(ev.at(0).alert_json).at("id").get<std::int64_t>();
  };
  struct al {
    std::int64_t id, opened;
    std::optional<int> ack_min;
  };
  std::vector<al> alerts = {
      {open(wr, "home-a1", "za", "welfare"), at(3, 1, 14), 3},      // Seoul Mar 1 23:00
      {open(wr, "home-a2", "za", "welfare"), at(3, 1, 15, 30), 5},  // Seoul Mar 2 00:30
      {open(wr, "home-b1", "zb", "welfare"), at(3, 1, 1), 10},
      {open(wr, "home-b2", "zb", "welfare"), at(3, 1, 1, 30), std::nullopt},  // never acknowledged
      {open(dr, "gauge-b", "zb", "disaster"), at(3, 1, 2), 100},              // another domain
  };
  // The store stamps opened_at and acknowledged_at with now(); move them to the times of this data set.
  for (const auto& a : alerts) {
    if (a.ack_min) ASSERT_TRUE(sync(ops_->acknowledge(a.id, "officer", "")).ok());
    query_params("UPDATE alerts SET opened_at = timestamptz 'epoch' + $2::bigint * interval '1 microsecond', "
                 "acknowledged_at = CASE WHEN acknowledged_at IS NOT NULL THEN timestamptz 'epoch' + $3::bigint * "
                 "interval '1 microsecond' END WHERE id = $1",
                 a.id, a.opened, a.opened + a.ack_min.value_or(0) * us_per_min);
  }
  expect_values(values("welfare_ack_time", "day", mar1, mar3),
                {{"za", mar1, 1, 3}, {"za", mar2, 1, 5}, {"zb", mar1, 1, 10}, {"", mar1, 1, 6.5}, {"", mar2, 1, 5}},
                "day");
  expect_values(values("welfare_ack_time", "month", feb1, apr1),
                {{"za", mar1, 31, 4}, {"zb", mar1, 31, 10}, {"", mar1, 31, 6}}, "month");
}

TEST_F(kpis, living_zone_9min_coverage) {
  // Two small zones (about 175 m x 220 m), far inside the 9-minute radius (9 * 4.8 km/h / 1.3 = 554 m) of
  // facilities at their centres: za has every essential category, zb lacks a care centre.
  add_zone(square_zone("za", 128.500, 38.100, 0.002, 1000));
  add_zone(square_zone("zb", 128.600, 38.100, 0.002, 3000));
  for (std::string cat : {"clinic", "pharmacy", "grocery", "bus_stop", "care_center"})
    add_facility(facility_at("fa-" + cat, cat, 128.501, 38.101));
  for (std::string cat : {"clinic", "pharmacy", "grocery", "bus_stop"}) add_facility(facility_at("fb-" + cat, cat, 128.601, 38.101));
  add_facility(facility_at("fb-far-care", "care_center", 128.620, 38.101));  // 1.7 km away

  auto acc = sync(kpis_->access("", 9, kpi::walking_model{}));
  ASSERT_EQ(acc.size(), 2u);
  EXPECT_EQ(acc[0].zone, "za");
  EXPECT_EQ(acc[0].all, 1.0);
  EXPECT_EQ(acc[0].population, 1000);
  EXPECT_EQ(acc[0].categories.size(), 5u);
  for (const auto& [cat, share] : acc[0].categories) EXPECT_EQ(share, 1.0) << cat;
  EXPECT_EQ(acc[1].zone, "zb");
  EXPECT_EQ(acc[1].all, 0.0);
  EXPECT_EQ(acc[1].categories.at("care_center"), 0.0);
  EXPECT_EQ(acc[1].categories.at("clinic"), 1.0);
  EXPECT_EQ(acc[1].population, 3000);

  const std::int64_t y2026 = kst_us(2026, 1, 1), y2027 = kst_us(2027, 1, 1);
  // City: residents weighted, (1000 * 100 + 3000 * 0) / 4000 = 25 %.
  expect_values(values("living_zone_9min_coverage", "year", y2026, y2027),
                {{"za", y2026, 365, 100}, {"zb", y2026, 365, 0}, {"", y2026, 365, 25}}, "year");
  expect_values(values("living_zone_9min_coverage", "month", feb1, apr1),
                {{"za", feb1, 28, 100}, {"za", mar1, 31, 100}, {"zb", feb1, 28, 0}, {"zb", mar1, 31, 0}, {"", feb1, 28, 25},
                 {"", mar1, 31, 25}},
                "month");
  expect_values(values("living_zone_9min_coverage", "year", y2026, y2027, "zb"), {{"zb", y2026, 365, 0}}, "zb only");
}
