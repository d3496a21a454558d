// The bus network store (storage/transit.hpp) and the two bus KPIs (storage/kpi_store.cpp) on a
// real PostgreSQL + PostGIS: a feed replaced as a whole, route patterns for matching, and the
// excess wait and headway regularity per zone and city, worked out by hand from the inputs.
#include <chrono>
#include <cmath>
#include <cstdio>

#include "maeul/kpi/catalog.hpp"
#include "maeul/storage/kpi_store.hpp"
#include "maeul/storage/transit.hpp"
#include "maeul/transit/service.hpp"
#include "pg_support.hpp"

namespace {

using namespace maeul_test;
namespace kpi = maeul::kpi;

namespace transit_ns = maeul::transit;
namespace rules = maeul::rules;

class transit : public fresh_db {
 protected:
  void SetUp() override {
    fresh_db::SetUp();
    if (HasFatalFailure()) return;
    store_ = std::make_unique<storage::transit_store>(*pool_);
    kpis_ = std::make_unique<storage::kpi_store>(*pool_);
  }
  void TearDown() override {
    kpis_.reset();
    store_.reset();
    fresh_db::TearDown();
  }

 public:
  // R1: S1 in zone za, S2 in zone zb; trip T1 every 600 s all day (frequencies), every day of 2026.
  storage::gtfs_feed feed() {
    storage::gtfs_feed f;
    f.agencies = {{"SK", "Sokcho Bus", "https://bus.example", "Asia/Seoul"}};
    f.stops = {{"S1", "One", "", "", 0, 128.52, 38.12}, {"S2", "Two", "", "", 0, 128.62, 38.12}};
    f.routes = {{"R1", "SK", "1", "Beach", "", "", 3}};
    f.trips = {{"T1", "R1", "ALL", "SH1", "", 0}};
    f.stop_times = {{"T1", "S1", 1, 0, 0}, {"T1", "S2", 2, 300, 300}};
    f.calendars = {{"ALL", 127, "2026-01-01", "2026-12-31"}};
    f.frequencies = {{"T1", 0, 86400, 600, 0}};
    f.shapes = {{"SH1", {{128.52, 38.12}, {128.57, 38.12}, {128.62, 38.12}}}};
    return f;
  }
  void arrive(const std::string& stop, std::vector<std::int64_t> ts) {
    std::vector<storage::arrival_row> rows;
    for (auto t : ts) rows.push_back({"R1", stop, "bus", "", "SH1", 0, t});
    sync(store_->write({}, rows));
  }
  std::vector<storage::kpi_value> values(const std::string& id, std::int64_t from, std::int64_t to) {
    storage::kpi_query q;
    q.kpi = id;
    q.period = "day";
    q.timezone = "Asia/Seoul";
    q.from_us = from;
    q.to_us = to;
    return sync(kpis_->values(q, kpi::walking_model{}));
  }
  std::unique_ptr<storage::transit_store> store_;
  std::unique_ptr<storage::kpi_store> kpis_;
};

TEST_F(transit, feed_replaced_as_a_whole_and_patterns_for_matching) {
  sync(store_->replace_feed(feed()));
  auto p = sync(store_->patterns());
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].route_id, "R1");
  EXPECT_EQ(p[0].key, "SH1");
  EXPECT_EQ(p[0].line.size(), 3u);
  EXPECT_EQ(p[0].stop_ids, (std::vector<std::string>{"S1", "S2"}));
  auto r = json::parse(*sync(store_->route_json("R1")));
  EXPECT_EQ(r["shape"]["type"], "LineString");
  EXPECT_EQ(r["stops"].size(), 2u);
  auto near = sync(store_->stops_near_json(128.52, 38.12, 100, 10));
  ASSERT_EQ(near.size(), 1u);
  EXPECT_EQ(json::parse(near[0])["id"], "S1");
  // a second feed without R1: R1 is gone, nothing of the first is left
  auto f = feed();
  f.routes[0].id = "R2";
  f.trips[0].route_id = "R2";
  sync(store_->replace_feed(f));
  EXPECT_FALSE(sync(store_->route_exists("R1")));
  EXPECT_TRUE(sync(store_->route_exists("R2")));
  // a feed the database refuses (a stop time naming a missing stop) changes nothing
  auto bad = feed();
  bad.stop_times.push_back({"T1", "S9", 3, 400, 400});
  EXPECT_ANY_THROW(sync(store_->replace_feed(bad)));
  EXPECT_TRUE(sync(store_->route_exists("R2")));
}

TEST_F(transit, service_days_follow_calendar_and_dates) {
  auto f = feed();
  f.calendars = {{"WK", 0x1f, "2026-03-01", "2026-03-31"}};  // Monday to Friday
  f.trips[0].service_id = "WK";
  f.calendar_dates = {{"WK", "2026-03-02", 2}, {"WK", "2026-03-07", 1}};
  sync(store_->replace_feed(f));
  // 2026-03-02 is a Monday (removed), 03-03 a Tuesday, 03-07 a Saturday (added), 03-08 a Sunday
  auto days = sync(store_->service_days(kst_us(2026, 3, 3), kst_us(2026, 3, 8, 12), "Asia/Seoul"));
  std::map<std::string, std::size_t> n;
  for (const auto& d : days) n[d.date] = d.services.size();
  EXPECT_EQ(n.at("2026-03-02"), 0u);
  EXPECT_EQ(n.at("2026-03-03"), 1u);
  EXPECT_EQ(n.at("2026-03-07"), 1u);
  EXPECT_EQ(n.at("2026-03-08"), 0u);
  EXPECT_EQ(days.front().midnight_us, kst_us(2026, 3, 2));
}

TEST_F(transit, bus_excess_wait_time) {
  add_zone(square_zone("za", 128.50, 38.10, 0.05, 1000));
  add_zone(square_zone("zb", 128.60, 38.10, 0.05, 3000));
  sync(store_->replace_feed(feed()));
  // S1 (za): 10:00, 10:10, 10:12, 10:25 KST: headways 600, 120, 780 s; Σh² = 982800, 2Σh = 3000: 327.6 s.
  arrive("S1", {kst_us(2026, 3, 1, 10, 0), kst_us(2026, 3, 1, 10, 10), kst_us(2026, 3, 1, 10, 12),
                kst_us(2026, 3, 1, 10, 25)});
  // S2 (zb): 10:05, 10:15: one headway of 600 s: 300 s.
  arrive("S2", {kst_us(2026, 3, 1, 10, 5), kst_us(2026, 3, 1, 10, 15)});
  // Scheduled every 600 s all day at both: 300 s. za: 27.6 s; zb: 0; city: (1342800 / 4200 − 300) s.
  auto v = values("bus_excess_wait_time", kst_us(2026, 3, 1), kst_us(2026, 3, 2));
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].zone.value_or(""), "za");
  EXPECT_NEAR(*v[0].value, 27.6 / 60, 1e-9);
  EXPECT_EQ(v[0].start_us, kst_us(2026, 3, 1));
  EXPECT_EQ(v[1].zone.value_or(""), "zb");
  EXPECT_NEAR(*v[1].value, 0, 1e-9);
  EXPECT_FALSE(v[2].zone);
  EXPECT_NEAR(*v[2].value, (1342800.0 / 4200 - 300) / 60, 1e-9);
}

TEST_F(transit, bus_headway_regularity) {
  add_zone(square_zone("za", 128.50, 38.10, 0.05, 1000));
  add_zone(square_zone("zb", 128.60, 38.10, 0.05, 3000));
  sync(store_->replace_feed(feed()));
  arrive("S1", {kst_us(2026, 3, 1, 10, 0), kst_us(2026, 3, 1, 10, 10), kst_us(2026, 3, 1, 10, 12),
                kst_us(2026, 3, 1, 10, 25)});
  arrive("S2", {kst_us(2026, 3, 1, 10, 5), kst_us(2026, 3, 1, 10, 15)});  // one headway: no variation to measure
  // za: headways over their mean 500: 1.2, 0.24, 1.56; variance (0.04 + 0.5776 + 0.3136) / 3
  auto v = values("bus_headway_regularity", kst_us(2026, 3, 1), kst_us(2026, 3, 2));
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].zone.value_or(""), "za");
  EXPECT_NEAR(*v[0].value, std::sqrt(0.9312 / 3), 1e-9);
  EXPECT_FALSE(v[1].zone);
  EXPECT_NEAR(*v[1].value, std::sqrt(0.9312 / 3), 1e-9);
}

// Arrivals of one batch are judged in time order, whatever their order in the batch: C 09:50, then one
// batch listing B 10:02 before A 10:00 (scheduled every 10 min): B runs 2 min behind A, a bunch.
TEST_F(transit, bunching_judges_a_batch_in_time_order) {
  sync(store_->replace_feed(feed()));
  transit_ns::service svc(*store_, transit_ns::options{});
  rules::rule r;
  r.id = "bunch-r1";
  r.spec = rules::bunching_rule{"R1", 0.5, std::nullopt};
  svc.set_rules({r});
  std::vector<rules::transition> seen;
  svc.on_transitions = [&](std::vector<rules::transition> t) { for (auto& x : t) seen.push_back(std::move(x)); };
  auto at = [](const std::string& v, std::int64_t ts) { return storage::arrival_row{"R1", "S1", v, "", "SH1", 0, ts}; };
  sync(svc.judge_bunching({at("C", kst_us(2026, 3, 2, 9, 50))}));
  EXPECT_TRUE(seen.empty());
  sync(svc.judge_bunching({at("B", kst_us(2026, 3, 2, 10, 2)), at("A", kst_us(2026, 3, 2, 10, 0))}));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].open);
  EXPECT_EQ(seen[0].subject, "R1/S1/0");
  EXPECT_NEAR(*seen[0].value, 120, 1e-9);
  EXPECT_NE(seen[0].message.find("B arrived 2.0 min after A"), std::string::npos) << seen[0].message;
}

// A batch whose write fails leaves the vehicles as they were: its retry (an MQTT redelivery, an HTTP
// re-post) is matched afresh and its arrival stored, not taken for positions out of order.
TEST_F(transit, failed_write_leaves_the_vehicle_state_for_the_retry) {
  sync(store_->replace_feed(feed()));
  transit_ns::service svc(*store_, transit_ns::options{});
  ASSERT_TRUE(sync(svc.load()));
  auto batch = [] {
    transit_ns::parsed_positions b;
    b.positions = {{"bus-1", "R1", "T1", "", 128.52, 38.12, kst_us(2026, 3, 2, 10, 0)}};  // at S1
    b.indexes = {0};
    b.total = 1;
    return b;
  };
  query("ALTER TABLE transit_arrivals RENAME TO transit_arrivals_away");  // the write fails once
  EXPECT_ANY_THROW(sync(svc.ingest(batch(), std::nullopt)));
  query("ALTER TABLE transit_arrivals_away RENAME TO transit_arrivals");
  auto res = sync(svc.ingest(batch(), std::nullopt));
  EXPECT_EQ(res.accepted, 1);
  EXPECT_EQ(res.out_of_order, 0);
  EXPECT_EQ(res.arrivals, 1);
  EXPECT_EQ(count("SELECT count(*) FROM transit_arrivals WHERE stop_id = 'S1' AND vehicle = 'bus-1'"), 1);
}

// A 10-minute service 05:00-23:00 observed exactly on time 10:00-11:00: no excess wait. The overnight
// gap of the schedule is not a headway (as it is not among the observed ones), and only the span
// observed is compared.
TEST_F(transit, bus_excess_wait_time_compares_the_observed_span_only) {
  add_zone(square_zone("za", 128.50, 38.10, 0.05, 1000));
  auto f = feed();
  f.frequencies = {{"T1", 5 * 3600, 23 * 3600, 600, 0}};
  sync(store_->replace_feed(f));
  std::vector<std::int64_t> ts;
  for (int m = 0; m <= 60; m += 10) ts.push_back(kst_us(2026, 3, 1, 10, m));
  arrive("S1", ts);
  auto t0 = std::chrono::steady_clock::now();
  auto v = values("bus_excess_wait_time", kst_us(2026, 3, 1), kst_us(2026, 3, 2));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_NEAR(*v[0].value, 0, 1e-9);
  EXPECT_NEAR(*v[1].value, 0, 1e-9);
  std::printf("bus_excess_wait_time: %lld ms\n", (long long)ms);
}

// A bunching alert left open by an earlier run is cleared when the headway recovers: the service
// learns the open alerts at load.
TEST_F(transit, bunching_alert_open_before_a_restart_is_cleared) {
  sync(store_->replace_feed(feed()));
  query("INSERT INTO alerts (rule_id, rule_name, kind, severity, state, subject, message) VALUES ('bunch-r1', "
        "'{}', 'bunching', 'warning', 'open', 'R1/S1/0', 'bunching on route 1')");
  transit_ns::service svc(*store_, transit_ns::options{});
  ASSERT_TRUE(sync(svc.load()));
  rules::rule r;
  r.id = "bunch-r1";
  r.spec = rules::bunching_rule{"R1", 0.5, std::nullopt};
  svc.set_rules({r});
  std::vector<rules::transition> seen;
  svc.on_transitions = [&](std::vector<rules::transition> t) { for (auto& x : t) seen.push_back(std::move(x)); };
  auto at = [](const std::string& v, std::int64_t ts) { return storage::arrival_row{"R1", "S1", v, "", "SH1", 0, ts}; };
  sync(svc.judge_bunching({at("C", kst_us(2026, 3, 2, 9, 50)), at("D", kst_us(2026, 3, 2, 10, 0))}));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_FALSE(seen[0].open);
  EXPECT_EQ(seen[0].rule_id, "bunch-r1");
  EXPECT_EQ(seen[0].subject, "R1/S1/0");
}

// At the vehicle cap the vehicle seen longest ago is forgotten (from an ordered index, not a scan):
// it then starts afresh, while the others keep their state.
TEST_F(transit, vehicle_cap_forgets_the_one_seen_longest_ago) {
  sync(store_->replace_feed(feed()));
  transit_ns::options o;
  o.max_vehicles = 2;
  transit_ns::service svc(*store_, o);
  ASSERT_TRUE(sync(svc.load()));
  auto one = [](const std::string& v, int minute) {
    transit_ns::parsed_positions b;
    b.positions = {{v, "R1", "T1", "", 128.53, 38.12, kst_us(2026, 3, 2, 10, minute)}};
    b.indexes = {0};
    b.total = 1;
    return b;
  };
  sync(svc.ingest(one("old", 0), std::nullopt));
  sync(svc.ingest(one("mid", 1), std::nullopt));
  sync(svc.ingest(one("old", 2), std::nullopt));  // old now seen at 10:02: mid is the oldest
  sync(svc.ingest(one("new", 3), std::nullopt));
  EXPECT_EQ(svc.vehicles_known(), 2u);
  // old kept its state (10:02): a position at 10:01 is out of order; mid was forgotten: accepted afresh
  EXPECT_EQ(sync(svc.ingest(one("old", 1), std::nullopt)).out_of_order, 1);
  EXPECT_EQ(sync(svc.ingest(one("mid", 0), std::nullopt)).out_of_order, 0);
}

}  // namespace
