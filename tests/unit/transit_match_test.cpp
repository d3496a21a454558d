// Matching positions to a route's shape and deriving stop arrivals (src/transit/match.cpp), and
// the operations metrics (src/transit/metrics.cpp) against hand-computed values.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "maeul/transit/match.hpp"
#include "maeul/transit/metrics.hpp"
#include "maeul/transit/service.hpp"

#include <nlohmann/json.hpp>

namespace mt = maeul::transit;
using maeul::storage::transit_pattern;

namespace {

constexpr double lat0 = 38.2, lon0 = 128.59;
// Degrees of longitude for `m` metres east at lat0 (the matcher's own projection, centred here).
double east(double m) { return lon0 + m / mt::local_projection::around(lon0, lat0).kx; }
double north(double m) { return lat0 + m / mt::local_projection::around(lon0, lat0).ky; }
constexpr std::int64_t s = 1000000;

// Route R1: a straight line 1000 m east with stops at 0, 400 and 1000 m; and its return
// pattern (the same road west) for trips of direction 1.
mt::network line_network() {
  transit_pattern out{"R1", "east", 0, {{east(0), lat0}, {east(1000), lat0}}, {"S0", "S1", "S2"},
                      {{east(0), lat0}, {east(400), lat0}, {east(1000), lat0}}, {"T-east"}};
  transit_pattern back{"R1", "west", 1, {{east(1000), lat0}, {east(0), lat0}}, {"S2", "S1", "S0"},
                       {{east(1000), lat0}, {east(400), lat0}, {east(0), lat0}}, {"T-west"}};
  return mt::build_network({out, back});
}

}  // namespace

TEST(TransitMatch, ProjectionAlongAPolyline) {
  auto l = mt::polyline::of({{0, 0}, {100, 0}, {100, 100}});
  EXPECT_DOUBLE_EQ(l.length(), 200);
  auto r = mt::project(l, {50, 10});
  EXPECT_NEAR(r.along_m, 50, 1e-9);
  EXPECT_NEAR(r.offset_m, 10, 1e-9);
  r = mt::project(l, {120, 60});
  EXPECT_NEAR(r.along_m, 160, 1e-9);
  EXPECT_NEAR(r.offset_m, 20, 1e-9);
  r = mt::project(l, {50, 0}, 120);  // only segments past 120 m
  EXPECT_NEAR(r.along_m, 120, 1e-9);
}

TEST(TransitMatch, StopDistancesAlongTheShape) {
  auto net = line_network();
  ASSERT_EQ(net.patterns.size(), 2u);
  EXPECT_NEAR(net.patterns[0].stop_along[1], 400, 0.5);
  EXPECT_NEAR(net.patterns[0].stop_along[2], 1000, 0.5);
  EXPECT_NEAR(net.patterns[1].stop_along[1], 600, 0.5);
  EXPECT_EQ(net.by_trip.at("T-west"), 1u);
}

TEST(TransitMatch, ArrivalsInterpolatedBetweenPositions) {
  auto net = line_network();
  mt::vehicle_state st;
  // first fix at the first stop: its arrival at that time
  auto r = mt::advance(net, st, {"bus-1", "R1", "T-east", east(0), lat0, 1000 * s});
  ASSERT_EQ(r.arrivals.size(), 1u);
  EXPECT_EQ(r.arrivals[0].stop_id, "S0");
  EXPECT_EQ(r.arrivals[0].ts_us, 1000 * s);
  r = mt::advance(net, st, {"bus-1", "R1", "T-east", east(200), north(5), 1060 * s});
  EXPECT_TRUE(r.arrivals.empty());
  EXPECT_NEAR(r.progress_m, 200, 0.5);
  EXPECT_NEAR(r.offset_m, 5, 0.1);
  // 200 m -> 600 m in 60 s: S1 at 400 m passed half way, at 1090 s
  r = mt::advance(net, st, {"bus-1", "R1", "T-east", east(600), lat0, 1120 * s});
  ASSERT_EQ(r.arrivals.size(), 1u);
  EXPECT_EQ(r.arrivals[0].stop_id, "S1");
  EXPECT_NEAR(double(r.arrivals[0].ts_us) / s, 1090, 0.1);
  EXPECT_EQ(r.arrivals[0].trip_id, "T-east");
  EXPECT_EQ(r.arrivals[0].direction, 0);
  // an older position: stored as out of order, no arrival, state unchanged
  r = mt::advance(net, st, {"bus-1", "R1", "T-east", east(1000), lat0, 1100 * s});
  EXPECT_TRUE(r.out_of_order);
  EXPECT_TRUE(r.arrivals.empty());
  EXPECT_NEAR(st.along, 600, 0.5);
  // 500 m off the road: off route, nothing changes
  r = mt::advance(net, st, {"bus-1", "R1", "T-east", east(700), north(500), 1130 * s});
  EXPECT_TRUE(r.off_route);
  EXPECT_NEAR(r.offset_m, 500, 1);
  EXPECT_TRUE(r.arrivals.empty());
  // a small step back (GPS noise) is not a new run
  r = mt::advance(net, st, {"bus-1", "R1", "T-east", east(590), lat0, 1140 * s});
  EXPECT_TRUE(r.arrivals.empty());
  // 600 -> 1000 m from 1140 s to 1180 s: S2 at the end of the step, 1180 s
  r = mt::advance(net, st, {"bus-1", "R1", "T-east", east(1000), lat0, 1180 * s});
  ASSERT_EQ(r.arrivals.size(), 1u);
  EXPECT_EQ(r.arrivals[0].stop_id, "S2");
  EXPECT_NEAR(double(r.arrivals[0].ts_us) / s, 1180, 0.1);
}

TEST(TransitMatch, AVehicleWithoutTripIsMatchedToItsRoute) {
  auto net = line_network();
  mt::vehicle_state st;
  auto r = mt::advance(net, st, {"bus-2", "R1", "", east(100), lat0, 10 * s});
  EXPECT_FALSE(r.off_route);
  r = mt::advance(net, st, {"bus-2", "R1", "", east(500), lat0, 50 * s});
  ASSERT_FALSE(r.off_route);
  // whichever direction it started on, moving east it ends up on the eastbound pattern and the
  // stop at 400 m is passed
  bool s1 = false;
  for (const auto& a : r.arrivals) s1 |= a.stop_id == "S1";
  r = mt::advance(net, st, {"bus-2", "R1", "", east(900), lat0, 90 * s});
  for (const auto& a : r.arrivals) s1 |= a.stop_id == "S1";
  EXPECT_TRUE(s1);
  EXPECT_EQ(net.patterns[st.pattern].key, "east");
  // an unknown route: off route (the service refuses it before matching)
  mt::vehicle_state other;
  EXPECT_TRUE(mt::advance(net, other, {"bus-3", "R9", "", east(0), lat0, 10 * s}).off_route);
}

TEST(TransitMetrics, WaitsAndVariationByHand) {
  // arrivals at 0, 600, 720, 1500 s: headways 600, 120, 780
  auto h = mt::headways_s({0, 600 * s, 720 * s, 1500 * s});
  ASSERT_EQ(h.size(), 3u);
  EXPECT_DOUBLE_EQ(h[1], 120);
  // Σh² = 360000 + 14400 + 608400 = 982800; 2Σh = 3000; 327.6 s
  EXPECT_NEAR(*mt::average_wait_s(h), 327.6, 1e-9);
  // mean 500; deviations 100, -380, 280; variance (10000 + 144400 + 78400) / 3 = 77600
  EXPECT_NEAR(*mt::coefficient_of_variation(h), std::sqrt(77600.0) / 500, 1e-12);
  EXPECT_FALSE(mt::average_wait_s({}));
  EXPECT_FALSE(mt::coefficient_of_variation({300}));
  EXPECT_TRUE(mt::is_bunched(120, 500, 0.5));
  EXPECT_FALSE(mt::is_bunched(260, 500, 0.5));
  EXPECT_DOUBLE_EQ(mt::hold_minutes(120, 600), 8);
  EXPECT_DOUBLE_EQ(mt::hold_minutes(700, 600), 0);
}

TEST(TransitMetrics, LeaderWithinDistanceOnTheSamePattern) {
  const std::int64_t t = 1'000'000'000'000;
  std::vector<mt::vehicle_place> places = {
      {"A", 0, 1000, t},               // 250 m ahead of B on pattern 0
      {"B", 0, 750, t + 10'000'000},   // the follower
      {"C", 0, 900, t - 300'000'000},  // 150 m ahead but last seen 310 s before B: stale
      {"D", 1, 800, t},                // 50 m ahead but on the other pattern (direction)
      {"E", 0, 700, t},                // behind B
  };
  const auto& b = places[1];
  auto l = mt::leader_within(places, b, 300, 120'000'000);
  ASSERT_TRUE(l);
  EXPECT_EQ(places[l->index].vehicle, "A");
  EXPECT_DOUBLE_EQ(l->gap_m, 250);
  EXPECT_FALSE(mt::leader_within(places, b, 249, 120'000'000));  // A is farther than 249 m
  // with C fresh, C (150 m) is the nearest ahead
  places[2].ts_us = t;
  l = mt::leader_within(places, b, 300, 120'000'000);
  ASSERT_TRUE(l);
  EXPECT_EQ(places[l->index].vehicle, "C");
  EXPECT_DOUBLE_EQ(l->gap_m, 150);
  // E's leader within 60 m is B (50 m), and the front vehicle has none
  l = mt::leader_within(places, places[4], 60, 120'000'000);
  ASSERT_TRUE(l);
  EXPECT_EQ(places[l->index].vehicle, "B");
  EXPECT_FALSE(mt::leader_within(places, places[0], 10000, 120'000'000));
  // two at the very same place: only one of them is the follower
  std::vector<mt::vehicle_place> same = {{"P", 0, 500, t}, {"Q", 0, 500, t}};
  EXPECT_FALSE(mt::leader_within(same, same[0], 100, 120'000'000));
  ASSERT_TRUE(mt::leader_within(same, same[1], 100, 120'000'000));
  // the time gap: 250 m at 5 m/s is 50 s; unknown or crawling speed falls back to 5 m/s
  EXPECT_DOUBLE_EQ(mt::gap_seconds(250, 10), 25);
  EXPECT_DOUBLE_EQ(mt::gap_seconds(250, -1), 50);
  EXPECT_DOUBLE_EQ(mt::gap_seconds(250, 0.2), 50);
}

TEST(TransitMetrics, ScheduledTimesFromTimetableAndFrequencies) {
  auto t = mt::scheduled_times({100, 50}, {{1000, 1300, 100, 30}});
  EXPECT_EQ(t, (std::vector<int>{50, 100, 1030, 1130, 1230}));
  EXPECT_EQ(*mt::scheduled_headway_at(t, 1100), 100);
  EXPECT_FALSE(mt::scheduled_headway_at(t, 2000));
}

// The demo found it: a late evening bus and its follower, after the last scheduled visit, were judged
// against the night's gap (460 min) and opened a bunching alert with "hold for 438 minutes".
TEST(TransitMetrics, ScheduledHeadwayIsTheGapEndingAtTheNearestVisit) {
  // 22:30, 22:50, 23:10, 23:30, then 06:10 and 06:30 next day (seconds from the first visit).
  const int morning = 3600 + 400 * 60;
  std::vector<int> t{0, 1200, 2400, 3600, morning, morning + 1200};
  EXPECT_EQ(*mt::scheduled_headway_at(t, 3600 + 15 * 60), 1200);  // 15 min late for 23:30
  EXPECT_EQ(*mt::scheduled_headway_at(t, 3600 + 20 * 60), 1200);  // 20 min late: still that visit
  EXPECT_FALSE(mt::scheduled_headway_at(t, 3600 + 40 * 60));      // 40 min after: no visit
  EXPECT_FALSE(mt::scheduled_headway_at(t, 3600 + 200 * 60));     // in the night's gap
  EXPECT_EQ(*mt::scheduled_headway_at(t, 1100), 1200);            // nearest 22:50: the gap before it
  EXPECT_EQ(*mt::scheduled_headway_at(t, 100), 1200);             // the first known: the gap after it
  EXPECT_EQ(*mt::scheduled_headway_at(t, morning - 600), 1200);   // early for 06:10: the gap after it
  // Two patterns at one minute: the gaps are between distinct times.
  std::vector<int> d{0, 600, 600, 1200};
  EXPECT_EQ(*mt::scheduled_headway_at(d, 650), 600);
  EXPECT_EQ(*mt::scheduled_headway_at(d, 1150), 600);
  std::vector<int> hourly{0, 3600, 7200};
  EXPECT_EQ(*mt::scheduled_headway_at(hourly, 3500), 3600);  // hourly service is judged
  std::vector<int> sparse{0, 3 * 3600};
  EXPECT_FALSE(mt::scheduled_headway_at(sparse, 3 * 3600));  // 3 h: a break, as for the KPIs
}

TEST(TransitMetrics, RoutePerformanceByHand) {
  // one stop scheduled every 500 s from 0 to 2000; observed at 0, 600, 720, 1500
  mt::stop_series st;
  st.arrivals_us = {0, 600 * s, 720 * s, 1500 * s};
  st.scheduled_us = {0, 500 * s, 1000 * s, 1500 * s, 2000 * s};
  auto p = mt::route_performance({st}, 0.5);
  // observed 327.6 s, scheduled Σ4×500² / (2×2000) = 250 s: 77.6 s = 1.29333 min
  ASSERT_TRUE(p.excess_wait_min);
  EXPECT_NEAR(*p.excess_wait_min, 77.6 / 60, 1e-9);
  EXPECT_EQ(p.headways, 3);
  // 120 s < 0.5 × 500: one bunching event
  EXPECT_EQ(p.bunching_events, 1);
  // deviations from the nearest scheduled visit: 0, +100, +220, 0: all within [-60, +300]
  EXPECT_NEAR(*p.on_time_pct, 100, 1e-9);
  // headways over the scheduled 500: 1.2, 0.24, 1.56
  double m = (1.2 + 0.24 + 1.56) / 3, v = ((1.2 - m) * (1.2 - m) + (0.24 - m) * (0.24 - m) + (1.56 - m) * (1.56 - m)) / 3;
  EXPECT_NEAR(*p.headway_cv, std::sqrt(v) / m, 1e-9);
  // 400 s after a visit, 600 s before the next: late; 90 s early: early
  mt::stop_series late;
  late.arrivals_us = {0, 400 * s, 910 * s};
  late.scheduled_us = {0, 1000 * s};
  EXPECT_NEAR(*mt::route_performance({late}).on_time_pct, 100.0 / 3, 1e-9);
}

// A 10-minute service 05:00-23:00 on two days, kept exactly 10:00-11:00 on the second: no excess
// wait (the overnight gap and the hours not observed are not compared), as the KPI computes it.
TEST(TransitMetrics, ExcessWaitComparesTheObservedSpanOnly) {
  constexpr std::int64_t day = 86400 * s;
  mt::stop_series st;
  for (int d = 0; d < 2; ++d)
    for (std::int64_t t = 5 * 3600; t <= 23 * 3600; t += 600) st.scheduled_us.push_back(d * day + t * s);
  for (std::int64_t t = 10 * 3600; t <= 11 * 3600; t += 600) st.arrivals_us.push_back(day + t * s);
  auto p = mt::route_performance({st});
  ASSERT_TRUE(p.excess_wait_min);
  EXPECT_NEAR(*p.excess_wait_min, 0, 1e-9);
  EXPECT_EQ(mt::comparable_scheduled_headways_s(st.arrivals_us, st.scheduled_us).size(), 6u);
  // a gap over 2 h between arrivals is a break in service, not a headway
  EXPECT_EQ(mt::observed_headways_s({0, 600 * s, 8000 * s, 8600 * s}), (std::vector<double>{600, 600}));
}

// The headway CV is std/mean of the observed headways, each over its stop's mean (as the KPI
// bus_headway_regularity): two stops each perfectly regular, at 10 and 5 minutes, scheduled at 10.
TEST(TransitMetrics, HeadwayCvIsOverEachStopsObservedMean) {
  mt::stop_series a, b;
  a.arrivals_us = {0, 600 * s, 1200 * s};
  b.arrivals_us = {0, 300 * s, 600 * s};
  a.scheduled_us = b.scheduled_us = {0, 600 * s, 1200 * s};
  auto p = mt::route_performance({a, b});
  ASSERT_TRUE(p.headway_cv);
  EXPECT_NEAR(*p.headway_cv, 0, 1e-9);
}

TEST(TransitPositions, ValidationWithPointersKeepsTheGood) {
  auto body = nlohmann::json::parse(R"({"positions":[
    {"vehicle":"bus-1","route":"R1","lon":128.59,"lat":38.2,"ts":"2026-12-07T10:00:00+09:00","occupancy":12},
    {"vehicle":"bad id!","route":"R1","lon":128.59,"lat":38.2,"ts":"2026-12-07T10:00:00+09:00"},
    {"vehicle":"bus-2","route":"R1","lon":200,"lat":38.2,"ts":"2026-12-07T10:00:00+09:00"},
    {"vehicle":"bus-3","route":"R1","lon":128.59,"lat":38.2,"ts":"2026-12-07 10:00"},
    {"vehicle":"bus-4","route":"R1","trip":"T1","lon":128.59,"lat":38.2,"ts":"2026-12-07T10:00:00Z"}]})");
  auto p = mt::parse_positions(body, 1797000000LL * s, 100);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->positions.size(), 2u);
  EXPECT_EQ(p->positions[0].occupancy, "12");
  EXPECT_EQ(p->positions[1].trip, "T1");
  EXPECT_EQ(p->indexes, (std::vector<int>{0, 4}));
  ASSERT_EQ(p->rejected.size(), 3u);
  EXPECT_EQ(p->rejected[0].pointer, "/positions/1/vehicle");
  EXPECT_EQ(p->rejected[1].pointer, "/positions/2/lon");
  EXPECT_EQ(p->rejected[2].pointer, "/positions/3/ts");
  EXPECT_FALSE(mt::parse_positions(nlohmann::json::parse(R"({"positions":{}})"), 0, 100));
  // MQTT: the topic names the vehicle
  auto m = mt::parse_avl_message("bus-9", R"({"route":"R1","lon":128.59,"lat":38.2,"ts":"2026-12-07T10:00:00Z"})",
                                 1797000000LL * s, 100);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->positions.size(), 1u);
  EXPECT_EQ(m->positions[0].vehicle, "bus-9");
  auto other = mt::parse_avl_message("bus-9", R"({"vehicle":"bus-8","route":"R1","lon":128.59,"lat":38.2,"ts":"2026-12-07T10:00:00Z"})",
                                     1797000000LL * s, 100);
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->positions.empty());
  ASSERT_EQ(other->rejected.size(), 1u);
  EXPECT_EQ(other->rejected[0].pointer, "/vehicle");
}

TEST(TransitMatch, FollowsEveryVehicleOnALongShape) {
  // A 600-point shape, 200 vehicles going round, 60,000 positions: each vehicle keeps being matched and
  // records arrivals. The throughput is a benchmark, not a test (`MAEUL_BENCH_ONLY=transit scripts/bench`).
  std::vector<maeul::storage::gtfs_shape_point> line;
  for (int i = 0; i < 600; ++i) line.push_back({east(i * 20.0), north(std::sin(i / 10.0) * 50)});
  std::vector<maeul::storage::gtfs_shape_point> stops;
  std::vector<std::string> ids;
  for (int i = 0; i < 600; i += 20) stops.push_back(line[i]), ids.push_back("S" + std::to_string(i));
  auto net = mt::build_network({{"R", "long", 0, line, ids, stops, {"T"}}});
  std::vector<mt::vehicle_state> states(200);
  std::vector<int> arrivals(200, 0);
  for (int step = 0; step < 300; ++step)
    for (int v = 0; v < 200; ++v) {
      int i = (v * 3 + step) % 599;
      auto r = mt::advance(net, states[v], {"v", "R", "T", line[i].lon, line[i].lat, (step + 1) * 10 * s});
      arrivals[std::size_t(v)] += int(r.arrivals.size());
    }
  // 300 steps of 20 m pass 15 stops of a vehicle's way at least (some start past the end and go round).
  for (int v = 0; v < 200; ++v) EXPECT_GE(arrivals[std::size_t(v)], 10) << "vehicle " << v;
}
