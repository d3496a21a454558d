// The recommended plan (transit/plan.hpp): link loads with and without alightings, headways bound
// by capacity, wait, vehicles and the minimum headway (hand-computed), hourly merging, the GTFS
// frequencies.txt text, and the time to plan one route and day.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <stdexcept>

#include "maeul/transit/forecast.hpp"
#include "maeul/transit/plan.hpp"

namespace {

namespace t = maeul::transit;

// n stops with the given boardings per hour at stop 0 in hours [from, to), nothing elsewhere.
std::vector<t::stop_demand> first_stop_only(int n, double per_h, int from = 0, int to = 24) {
  std::vector<t::stop_demand> s(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) s[static_cast<std::size_t>(i)].stop_id = "s" + std::to_string(i);
  for (int h = from; h < to; ++h) s[0].boardings[static_cast<std::size_t>(h)] = per_h;
  return s;
}

t::plan_params params() {
  t::plan_params p;
  p.vehicle_capacity = 80;
  p.target_load_factor = 0.75;  // design load 60 riders per vehicle
  p.max_wait_min = 10;          // h <= 20
  p.min_headway_min = 2;
  p.vehicles = 0;
  p.cycle_min = 60;
  return p;
}

const std::vector<t::period> am_peak = {{"am_peak", 7, 9}};

TEST(TransitPlan, link_loads_assume_uniform_alighting_at_later_stops) {
  std::vector<t::stop_demand> s(5);
  s[0].boardings[8] = 100;
  s[1].boardings[8] = 60;
  s[4].boardings[8] = 999;  // boarding at the terminal goes nowhere
  const auto l = t::link_loads(s);
  ASSERT_EQ(l.size(), 5u);
  EXPECT_DOUBLE_EQ(l[0][8], 100);                   // 100
  EXPECT_DOUBLE_EQ(l[1][8], 100 * 3.0 / 4 + 60);    // 135: a quarter of stop 0's riders left at stop 1
  EXPECT_DOUBLE_EQ(l[2][8], 100 * 2.0 / 4 + 60 * 2.0 / 3);  // 90
  EXPECT_DOUBLE_EQ(l[3][8], 100 * 1.0 / 4 + 60 * 1.0 / 3);  // 45
  EXPECT_DOUBLE_EQ(l[4][8], 0);
  EXPECT_DOUBLE_EQ(l[1][7], 0);
}

TEST(TransitPlan, link_loads_follow_alightings_when_given_and_refuse_a_partial_set) {
  std::vector<t::stop_demand> s(3);
  s[0].boardings[8] = 50;
  s[1].boardings[8] = 30;
  s[2].boardings[8] = std::nan("");  // read as 0
  for (auto& x : s) x.alightings = std::array<double, 24>{};
  (*s[1].alightings)[8] = 20;
  (*s[2].alightings)[8] = 60;
  const auto l = t::link_loads(s);
  EXPECT_DOUBLE_EQ(l[0][8], 50);
  EXPECT_DOUBLE_EQ(l[1][8], 60);
  EXPECT_DOUBLE_EQ(l[2][8], 0);
  s[2].alightings.reset();
  EXPECT_THROW(t::link_loads(s), std::invalid_argument);
}

TEST(TransitPlan, capacity_bound_headway_carries_the_busiest_link_at_the_target_load) {
  // 600 riders/h on the first link: 60 * 80 * 0.75 / 600 = 6 min, on the grid
  const auto r = t::plan_route(first_stop_only(3, 600), am_peak, params());
  ASSERT_EQ(r.size(), 1u);
  const auto& pp = r[0];
  EXPECT_EQ(pp.name, "am_peak");
  EXPECT_DOUBLE_EQ(pp.headway_min, 6);
  EXPECT_STREQ(pp.bound, "capacity");
  EXPECT_DOUBLE_EQ(pp.design_load_per_h, 600);
  EXPECT_EQ(pp.busiest_stop, "s0");
  EXPECT_EQ(pp.busiest_hour, 7);
  EXPECT_DOUBLE_EQ(pp.expected_load, 60);
  EXPECT_DOUBLE_EQ(pp.load_factor, 0.75);
  EXPECT_DOUBLE_EQ(pp.avg_wait_min, 3);
  EXPECT_EQ(pp.vehicles_needed, 10);  // 60 min cycle / 6
  EXPECT_DOUBLE_EQ(pp.boardings, 1200);
  EXPECT_TRUE(pp.capacity_met);
  EXPECT_TRUE(pp.wait_met);

  // 500 riders/h: h_cap = 7.2 min, rounded down to the grid: 7 is not on it, 6 is
  const auto r2 = t::plan_route(first_stop_only(3, 500), am_peak, params());
  EXPECT_DOUBLE_EQ(r2[0].headway_min, 6);
  EXPECT_DOUBLE_EQ(r2[0].expected_load, 50);
  // without a grid: whole minutes, 7
  auto p = params();
  p.headway_grid.clear();
  EXPECT_DOUBLE_EQ(t::plan_route(first_stop_only(3, 500), am_peak, p)[0].headway_min, 7);
}

TEST(TransitPlan, wait_bound_headway_never_exceeds_twice_the_policy_wait) {
  // 60 riders/h: capacity would allow 60 min; the policy wait of 10 min caps it at 20
  auto r = t::plan_route(first_stop_only(3, 60), am_peak, params());
  EXPECT_DOUBLE_EQ(r[0].headway_min, 20);
  EXPECT_STREQ(r[0].bound, "wait");
  EXPECT_DOUBLE_EQ(r[0].avg_wait_min, 10);
  EXPECT_DOUBLE_EQ(r[0].expected_load, 20);
  EXPECT_DOUBLE_EQ(r[0].load_factor, 0.25);
  EXPECT_EQ(r[0].vehicles_needed, 3);
  // max wait 7 min: h <= 14, rounded down to the grid: 12
  auto p = params();
  p.max_wait_min = 7;
  r = t::plan_route(first_stop_only(3, 60), am_peak, p);
  EXPECT_DOUBLE_EQ(r[0].headway_min, 12);
  EXPECT_DOUBLE_EQ(r[0].avg_wait_min, 6);
  EXPECT_TRUE(r[0].wait_met);
  // no demand at all: still the wait bound, no busiest stop
  r = t::plan_route(first_stop_only(3, 0), am_peak, params());
  EXPECT_DOUBLE_EQ(r[0].headway_min, 20);
  EXPECT_EQ(r[0].busiest_stop, "");
  EXPECT_DOUBLE_EQ(r[0].expected_load, 0);
}

TEST(TransitPlan, vehicle_bound_headway_is_flagged_when_capacity_or_wait_cannot_be_met) {
  // 1200 riders/h wants 3 min, but 10 vehicles on a 60 min cycle give at best 6 min
  auto p = params();
  p.vehicles = 10;
  auto r = t::plan_route(first_stop_only(3, 1200), am_peak, p);
  EXPECT_DOUBLE_EQ(r[0].headway_min, 6);
  EXPECT_STREQ(r[0].bound, "vehicles");
  EXPECT_DOUBLE_EQ(r[0].expected_load, 120);
  EXPECT_DOUBLE_EQ(r[0].load_factor, 1.5);
  EXPECT_FALSE(r[0].capacity_met);
  EXPECT_TRUE(r[0].wait_met);
  EXPECT_EQ(r[0].vehicles_needed, 10);
  // a 65 min cycle: 6.5 min rounds up to the grid, 7.5
  p.cycle_min = 65;
  r = t::plan_route(first_stop_only(3, 1200), am_peak, p);
  EXPECT_DOUBLE_EQ(r[0].headway_min, 7.5);
  EXPECT_EQ(r[0].vehicles_needed, 9);  // ceil(65 / 7.5)
  // 2 vehicles on 60 min: 30 min, above the wait bound too
  p.cycle_min = 60;
  p.vehicles = 2;
  r = t::plan_route(first_stop_only(3, 60), am_peak, p);
  EXPECT_DOUBLE_EQ(r[0].headway_min, 30);
  EXPECT_FALSE(r[0].wait_met);
  EXPECT_TRUE(r[0].capacity_met);  // 30 riders per vehicle
  // enough vehicles: the capacity headway stands
  p.vehicles = 12;
  EXPECT_STREQ(t::plan_route(first_stop_only(3, 600), am_peak, p)[0].bound, "capacity");
}

TEST(TransitPlan, minimum_headway_holds_even_when_capacity_is_short) {
  // 3000 riders/h wants 1.2 min; never below the 2 min minimum
  const auto r = t::plan_route(first_stop_only(3, 3000), am_peak, params());
  EXPECT_DOUBLE_EQ(r[0].headway_min, 2);
  EXPECT_STREQ(r[0].bound, "min_headway");
  EXPECT_DOUBLE_EQ(r[0].expected_load, 100);
  EXPECT_FALSE(r[0].capacity_met);
}

TEST(TransitPlan, the_busiest_hour_of_a_period_sets_its_headway_and_hourly_merge_splits_it) {
  auto s = first_stop_only(3, 0);
  s[0].boardings[7] = 200;  // 18 min -> 15
  s[0].boardings[8] = 600;  // 6 min
  s[0].boardings[9] = 600;  // 6 min
  s[0].boardings[10] = 60;  // 20 min (wait)
  const std::vector<t::period> day = {{"morning", 7, 11}};
  auto r = t::plan_route(s, day, params());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_DOUBLE_EQ(r[0].headway_min, 6);
  EXPECT_EQ(r[0].busiest_hour, 8);
  r = t::plan_route(s, day, params(), true);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].start_hour, 7);
  EXPECT_EQ(r[0].end_hour, 8);
  EXPECT_DOUBLE_EQ(r[0].headway_min, 15);
  EXPECT_EQ(r[1].start_hour, 8);
  EXPECT_EQ(r[1].end_hour, 10);
  EXPECT_DOUBLE_EQ(r[1].headway_min, 6);
  EXPECT_DOUBLE_EQ(r[1].boardings, 1200);
  EXPECT_EQ(r[2].start_hour, 10);
  EXPECT_EQ(r[2].end_hour, 11);
  EXPECT_DOUBLE_EQ(r[2].headway_min, 20);
  for (const auto& pp : r) EXPECT_EQ(pp.name, "morning");
}

TEST(TransitPlan, default_periods_and_invalid_input) {
  const auto r = t::plan_route(first_stop_only(3, 60), {}, params());
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r.front().start_hour, 5);
  EXPECT_EQ(r.back().end_hour, 24);
  auto p = params();
  p.vehicle_capacity = 0;
  EXPECT_TRUE(t::validate(p).has_value());
  EXPECT_THROW(t::plan_route(first_stop_only(3, 60), am_peak, p), std::invalid_argument);
  p = params();
  p.headway_grid = {5, 3};
  EXPECT_TRUE(t::validate(p).has_value());
  EXPECT_FALSE(t::validate(params()).has_value());
  EXPECT_THROW(t::plan_route(first_stop_only(3, 60), {{"bad", 9, 7}}, params()), std::invalid_argument);
  EXPECT_THROW(t::plan_route(first_stop_only(3, 60), {{"a", 7, 10}, {"b", 9, 12}}, params()), std::invalid_argument);
  EXPECT_THROW(t::plan_route(first_stop_only(3, 60), {{"late", 20, 25}}, params()), std::invalid_argument);
}

TEST(TransitPlan, frequencies_txt_is_gtfs_with_times_past_midnight) {
  EXPECT_EQ(t::gtfs_time(0), "00:00:00");
  EXPECT_EQ(t::gtfs_time(5 * 3600 + 30 * 60), "05:30:00");
  EXPECT_EQ(t::gtfs_time(25 * 3600 + 61), "25:01:01");
  const auto r = t::plan_route(first_stop_only(3, 600), {{"am", 7, 9}, {"night", 22, 24}}, params());
  auto rows = t::frequencies_of(r, "R1_template");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].headway_s, 360);
  rows.push_back({"a,\"b\"", 24 * 3600, 26 * 3600, 1800, true});
  EXPECT_EQ(t::frequencies_txt(rows),
            "trip_id,start_time,end_time,headway_secs,exact_times\n"
            "R1_template,07:00:00,09:00:00,360,0\n"
            "R1_template,22:00:00,24:00:00,360,0\n"
            "\"a,\"\"b\"\"\",24:00:00,26:00:00,1800,1\n");
}

TEST(TransitPlan, one_route_and_day_forecast_and_planned_well_under_a_second) {
  // 40 stops, each with a year of hourly boardings: forecast the day at every stop, then plan it
  constexpr int stops = 40;
  const std::int64_t first_day = t::day_of_date(2025, 12, 1), target = first_day + 365;
  std::vector<t::hourly_series> hist(stops);
  for (int s = 0; s < stops; ++s) {
    hist[static_cast<std::size_t>(s)].first_hour = first_day * 24;
    for (std::int64_t h = 0; h < 365 * 24; ++h) {
      const int hod = static_cast<int>(h % 24);
      const double peak = (hod == 8 || hod == 18) ? 3.0 : (hod >= 6 && hod <= 22 ? 1.0 : 0.1);
      hist[static_cast<std::size_t>(s)].counts.push_back(peak * (10 + (s * 7 + h * 13) % 11));
    }
  }
  t::calendar cal;
  cal.holidays = {first_day + 30, first_day + 100, first_day + 200};
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<t::stop_demand> demand(stops);
  for (int s = 0; s < stops; ++s) {
    auto& d = demand[static_cast<std::size_t>(s)];
    d.stop_id = "stop" + std::to_string(s);
    d.boardings = t::forecast_day(hist[static_cast<std::size_t>(s)], target, cal, nullptr, t::forecast_params{}).counts;
  }
  const auto plan = t::plan_route(demand, {}, params(), true);
  const auto txt = t::frequencies_txt(t::frequencies_of(plan, "trip"));
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(ms, 1000.0);
  EXPECT_FALSE(plan.empty());
  EXPECT_FALSE(txt.empty());
  RecordProperty("elapsed_ms", std::to_string(ms));
  std::printf("forecast 40 stops x 24 h from a year each, plan and frequencies.txt: %.1f ms\n", ms);
}

}  // namespace
