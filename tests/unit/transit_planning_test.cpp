// The live plan's pure pieces (transit/planning.hpp) and the city calendar and planner settings
// (config/settings.hpp): dates, main patterns, timetable headways per period, cycle time, the
// stored ZIP writer read back by the project's ZIP reader, and the config lists.
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "maeul/config/settings.hpp"
#include "maeul/transit/planning.hpp"
#include "maeul/transit/zip.hpp"
#include "maeul/transit/zip_writer.hpp"

namespace {

namespace t = maeul::transit;
namespace cfg = maeul::config;
using maeul::storage::scheduled_frequency;
using maeul::storage::scheduled_visit;
using maeul::storage::transit_pattern;

cfg::env_lookup no_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };

TEST(TransitPlanning, dates_parse_strictly_and_round_trip) {
  auto d = t::parse_date("2026-12-08");
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, t::day_of_date(2026, 12, 8));
  EXPECT_EQ(t::format_date(*d), "2026-12-08");
  EXPECT_EQ(t::format_date(0), "1970-01-01");
  EXPECT_EQ(t::format_date(t::day_of_date(2028, 2, 29)), "2028-02-29");
  for (const char* bad : {"2026-02-30", "2026-13-01", "2026-1-01", "20261208", "2026-12-08T00", "", "abcd-ef-gh",
                          "2027-02-29", "0000-01-01"})
    EXPECT_FALSE(t::parse_date(bad)) << bad;
}

TEST(TransitPlanning, the_main_pattern_of_a_direction_has_the_most_trips) {
  std::vector<transit_pattern> all(4);
  all[0] = {"r1", "short", 0, {}, {"a", "b"}, {}, {"t1"}};
  all[1] = {"r1", "main0", 0, {}, {"a", "b", "c"}, {}, {"t2", "t3"}};
  all[2] = {"r1", "main1", 1, {}, {"c", "b", "a"}, {}, {"t4"}};
  all[3] = {"r2", "other", 0, {}, {"x", "y"}, {}, {"t5", "t6", "t7"}};
  auto m = t::main_patterns(all, "r1");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].key, "main0");
  EXPECT_EQ(m[0].direction, 0);
  EXPECT_EQ(m[1].key, "main1");
  EXPECT_TRUE(t::main_patterns(all, "nope").empty());
}

TEST(TransitPlanning, the_scheduled_headway_is_the_mean_gap_in_the_period) {
  // every 20 min from 06:00 to 07:00, every 10 min from 07:00 to 09:00
  std::vector<int> deps;
  for (int t0 = 6 * 3600; t0 < 7 * 3600; t0 += 1200) deps.push_back(t0);
  for (int t0 = 7 * 3600; t0 < 9 * 3600; t0 += 600) deps.push_back(t0);
  auto early = t::mean_headway_min(deps, 5, 7);
  ASSERT_TRUE(early);
  EXPECT_DOUBLE_EQ(*early, 20);
  auto peak = t::mean_headway_min(deps, 7, 9);
  ASSERT_TRUE(peak);
  EXPECT_DOUBLE_EQ(*peak, 10);
  EXPECT_FALSE(t::mean_headway_min(deps, 9, 17));       // no departure
  EXPECT_FALSE(t::mean_headway_min({8 * 3600}, 7, 9));  // one departure: no gap
}

TEST(TransitPlanning, departures_come_from_active_services_trips_and_frequencies) {
  std::vector<scheduled_visit> visits = {
      {"t1", "a", "weekday", 0, 6 * 3600}, {"t1", "b", "weekday", 0, 6 * 3600 + 600},
      {"t2", "a", "weekday", 0, 7 * 3600}, {"t3", "a", "sunday", 0, 6 * 3600 + 300},
      {"t4", "b", "weekday", 1, 6 * 3600}};
  std::vector<scheduled_frequency> freqs = {{"f1", "weekday", 0, 8 * 3600, 9 * 3600, 900, 0, "a"}};
  auto d = t::departures_at(visits, freqs, {"weekday"}, 0, "a");
  std::vector<int> want = {6 * 3600, 7 * 3600, 8 * 3600, 8 * 3600 + 900, 8 * 3600 + 1800, 8 * 3600 + 2700};
  EXPECT_EQ(d, want);
  EXPECT_TRUE(t::departures_at(visits, freqs, {"holiday"}, 0, "a").empty());
}

TEST(TransitPlanning, a_loop_trip_departs_its_first_stop_once) {
  // Loop a -> b -> a every 20 min from 06:00, 40 min round: the arrival back at a is no departure.
  std::vector<scheduled_visit> visits;
  for (int k = 0; k < 4; ++k) {
    const std::string trip = "loop" + std::to_string(k);
    const int t0 = 6 * 3600 + k * 1200;
    visits.push_back({trip, "a", "wk", 0, t0});
    visits.push_back({trip, "b", "wk", 0, t0 + 1200});
    visits.push_back({trip, "a", "wk", 0, t0 + 2400});
  }
  auto d = t::departures_at(visits, {}, {"wk"}, 0, "a");
  std::vector<int> want = {6 * 3600, 6 * 3600 + 1200, 6 * 3600 + 2400, 6 * 3600 + 3600};
  EXPECT_EQ(d, want);
  EXPECT_DOUBLE_EQ(*t::mean_headway_min(d, 6, 8), 20);
  // The same loop by frequencies: the window expanded at offset 0 only, not at the end's 2400 s.
  std::vector<scheduled_frequency> freqs = {{"f", "wk", 0, 6 * 3600, 7 * 3600, 1200, 0, "a"},
                                            {"f", "wk", 0, 6 * 3600, 7 * 3600, 1200, 1200, "b"},
                                            {"f", "wk", 0, 6 * 3600, 7 * 3600, 1200, 2400, "a"}};
  auto f = t::departures_at({}, freqs, {"wk"}, 0, "a");
  std::vector<int> fwant = {6 * 3600, 6 * 3600 + 1200, 6 * 3600 + 2400};
  EXPECT_EQ(f, fwant);
  EXPECT_DOUBLE_EQ(*t::mean_headway_min(f, 6, 8), 20);
}

TEST(TransitPlanning, the_cycle_is_the_median_running_time_of_each_direction_plus_layovers) {
  std::vector<scheduled_visit> visits;
  // direction 0: runs of 30, 40, 50 min; direction 1: 35 min
  int k = 0;
  for (int run : {30, 40, 50}) {
    std::string trip = "d0-" + std::to_string(k++);
    visits.push_back({trip, "a", "s", 0, 6 * 3600});
    visits.push_back({trip, "m", "s", 0, 6 * 3600 + run * 30});
    visits.push_back({trip, "b", "s", 0, 6 * 3600 + run * 60});
  }
  visits.push_back({"d1", "b", "s", 1, 8 * 3600});
  visits.push_back({"d1", "a", "s", 1, 8 * 3600 + 35 * 60});
  EXPECT_DOUBLE_EQ(t::cycle_minutes(visits, {}, {0, 1}, 5), 40 + 5 + 35 + 5);
  EXPECT_DOUBLE_EQ(t::cycle_minutes(visits, {}, {0}, 0), 40);
  EXPECT_DOUBLE_EQ(t::cycle_minutes({}, {}, {0, 1}, 5), 0);
  std::vector<scheduled_frequency> freqs = {{"f", "s", 2, 0, 3600, 600, 0, "a"}, {"f", "s", 2, 0, 3600, 600, 1500, "b"}};
  EXPECT_DOUBLE_EQ(t::cycle_minutes({}, freqs, {2}, 5), 25 + 5);
}

// A route R of two directions: 0 runs a -> b -> c (trips t0x on Sundays, t0 on weekdays), 1 runs
// c -> b -> a (t1 on Sundays). Five weeks of hourly boardings before the day: 100 at a, 40 at b,
// none at c.
t::plan_inputs route_inputs(std::int64_t day) {
  t::plan_inputs in;
  in.route = "R";
  in.day = in.timetable_day = day;
  transit_pattern p0, p1;
  p0.route_id = p1.route_id = "R";
  p0.key = "k0";
  p1.key = "k1";
  p1.direction = 1;
  p0.stop_ids = {"a", "b", "c"};
  p1.stop_ids = {"c", "b", "a"};
  p0.trip_ids = {"t0x", "t0"};
  p1.trip_ids = {"t1"};
  in.patterns = {p0, p1};
  for (const auto& [trip, service, dir, stops] :
       std::vector<std::tuple<std::string, std::string, int, std::vector<std::string>>>{
           {"t0x", "sun", 0, {"a", "b", "c"}}, {"t0", "wk", 0, {"a", "b", "c"}}, {"t1", "sun", 1, {"c", "b", "a"}}}) {
    int at = 6 * 3600;
    for (const auto& st : stops) in.visits.push_back({trip, st, service, dir, at += 600});
  }
  for (std::int64_t h = (day - 35) * 24; h < day * 24; ++h) {
    in.counts["a"].push_back({h, 100});
    in.counts["b"].push_back({h, 40});
  }
  in.sensors = {{"a", "sa"}, {"b", "sb"}};
  in.active = in.active_on_day = {"wk"};
  return in;
}

TEST(TransitPlanning, compute_plan_shares_boardings_between_directions_and_none_at_the_last_stop) {
  const std::int64_t day = t::day_of_date(2026, 12, 8);
  t::planning_options o;
  auto r = t::compute_plan(route_inputs(day), o);
  ASSERT_EQ(r->demand.directions.size(), 2u);
  const auto& d0 = r->demand.directions[0].stops;
  const auto& d1 = r->demand.directions[1].stops;
  ASSERT_EQ(d0.size(), 3u);
  ASSERT_EQ(d1.size(), 3u);
  for (int h = 0; h < 24; ++h) {
    EXPECT_NEAR(d0[0].counts[h], 100, 1e-6) << "a: only direction 0 leaves from it, hour " << h;
    EXPECT_NEAR(d0[1].counts[h], 20, 1e-6) << "b: shared by both directions";
    EXPECT_NEAR(d1[1].counts[h], 20, 1e-6);
    EXPECT_TRUE(std::isnan(d0[2].counts[h])) << "c: no history";
    EXPECT_EQ(d1[2].counts[h], 0) << "a is direction 1's last stop: nobody boards there";
  }
  EXPECT_EQ(d0[0].sensor, "sa");
  EXPECT_EQ(d0[2].sensor, "");
  EXPECT_EQ(r->demand.stops_total, 3);
  EXPECT_EQ(r->demand.stops_with_history, 2);
  ASSERT_EQ(r->directions.size(), 2u);
  EXPECT_TRUE(r->directions[0].demand_known);
  EXPECT_GT(r->cycle_min, 0);
  EXPECT_EQ(r->demand.timetable_date, "2026-12-08");
}

TEST(TransitPlanning, compute_plan_template_trip_is_the_first_running_on_the_day) {
  const std::int64_t day = t::day_of_date(2026, 12, 8);
  t::planning_options o;
  auto r = t::compute_plan(route_inputs(day), o);
  ASSERT_EQ(r->directions.size(), 2u);
  EXPECT_EQ(r->directions[0].template_trip, "t0") << "t0x runs on Sundays only";
  EXPECT_EQ(r->directions[1].template_trip, "") << "no trip of direction 1 runs on the day";
  auto in = route_inputs(day);
  in.active_on_day = {"sun", "wk"};
  auto s = t::compute_plan(in, o);
  EXPECT_EQ(s->directions[0].template_trip, "t0x");
  EXPECT_EQ(s->directions[1].template_trip, "t1");
  auto rows = t::frequencies_of(r->directions[0].periods, r->directions[0].template_trip);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.front().trip_id, "t0");
}

TEST(TransitPlanning, readings_on_the_target_day_do_not_change_its_forecast) {
  const std::int64_t day = t::day_of_date(2026, 12, 8);
  t::planning_options o;
  auto base = t::compute_plan(route_inputs(day), o);
  auto in = route_inputs(day);
  for (int h = 0; h < 24; ++h) in.counts["a"].push_back({day * 24 + h, 100000});  // an outlier on the day itself
  auto with = t::compute_plan(in, o);
  for (int h = 0; h < 24; ++h)
    EXPECT_EQ(with->demand.directions[0].stops[0].counts[h], base->demand.directions[0].stops[0].counts[h]) << h;
  EXPECT_EQ(with->directions[0].periods.size(), base->directions[0].periods.size());
  for (std::size_t i = 0; i < base->directions[0].periods.size(); ++i)
    EXPECT_EQ(with->directions[0].periods[i].headway_min, base->directions[0].periods[i].headway_min);
}

TEST(TransitPlanning, compute_plan_without_plan_forecasts_only) {
  const std::int64_t day = t::day_of_date(2026, 12, 8);
  auto in = route_inputs(day);
  in.with_plan = false;
  auto r = t::compute_plan(in, t::planning_options{});
  EXPECT_TRUE(r->directions.empty());
  ASSERT_EQ(r->demand.directions.size(), 2u);
  EXPECT_NEAR(r->demand.directions[0].stops[0].counts[8], 100, 1e-6);
  EXPECT_EQ(r->demand.timetable_date, "");
  EXPECT_EQ(r->cycle_min, 0);
}

TEST(TransitPlanning, the_stored_zip_reads_back_with_the_zip_reader) {
  std::string body = "trip_id,start_time,end_time,headway_secs,exact_times\nt1,05:00:00,07:00:00,1200,0\n";
  auto zip = t::zip_store({{"frequencies.txt", body}, {"empty.txt", ""}});
  auto entries = t::zip_entries(zip);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].name, "frequencies.txt");
  EXPECT_EQ(t::zip_read(zip, entries[0]), body);
  EXPECT_EQ(t::zip_read(zip, entries[1]), "");
}

TEST(TransitPlanning, the_zip_holds_65535_entries_and_refuses_one_more) {
  std::vector<t::zip_file> files;
  for (int i = 0; i < 65535; ++i) files.push_back({std::to_string(i), ""});
  auto zip = t::zip_store(files);
  ASSERT_GE(zip.size(), 22u);
  const auto count = std::uint32_t(std::uint8_t(zip[zip.size() - 12])) | (std::uint32_t(std::uint8_t(zip[zip.size() - 11])) << 8);
  EXPECT_EQ(count, 65535u);
  files.push_back({"one-more", ""});
  EXPECT_THROW(t::zip_store(files), std::length_error);
}

TEST(TransitPlanning, the_zip_carries_its_comment_at_the_end) {
  const std::string comment = "no trip of the main pattern runs on 2026-12-08, skipped: R1/1";
  auto zip = t::zip_store({{"frequencies.txt", "x\n"}}, comment);
  ASSERT_GT(zip.size(), comment.size() + 22);
  EXPECT_EQ(zip.substr(zip.size() - comment.size()), comment);
  const std::size_t eocd = zip.size() - comment.size() - 22;
  EXPECT_EQ(zip.substr(eocd, 4), std::string("PK\x05\x06", 4));
  EXPECT_EQ(std::size_t(std::uint8_t(zip[eocd + 20])) | (std::size_t(std::uint8_t(zip[eocd + 21])) << 8), comment.size());
  auto entries = t::zip_entries(zip);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(t::zip_read(zip, entries[0]), "x\n");
  EXPECT_THROW(t::zip_store({}, std::string(70000, 'c')), std::length_error);
}

TEST(TransitPlanning, the_city_calendar_loads_dates_and_ranges) {
  auto s = cfg::load_from_string(
      "[city]\nholidays = [\"2026-01-01\", \"2026-02-16..2026-02-18\", \"2026-01-01\"]\n"
      "tourist_peaks = [\"2026-07-30..2026-08-02\"]\n",
      "test", no_env);
  std::vector<std::int64_t> want = {t::day_of_date(2026, 1, 1), t::day_of_date(2026, 2, 16),
                                    t::day_of_date(2026, 2, 17), t::day_of_date(2026, 2, 18)};
  EXPECT_EQ(s.city.holidays, want);
  ASSERT_EQ(s.city.tourist_peaks.size(), 4u);
  EXPECT_EQ(s.city.tourist_peaks.front(), t::day_of_date(2026, 7, 30));
  EXPECT_EQ(s.city.tourist_peaks.back(), t::day_of_date(2026, 8, 2));
  auto env = [](const std::string& n) -> std::optional<std::string> {
    if (n == "MAEUL_CITY_HOLIDAYS") return std::string("2027-05-05, 2027-05-13");
    return std::nullopt;
  };
  auto e = cfg::load_from_string("", "test", env);
  EXPECT_EQ(e.city.holidays, (std::vector<std::int64_t>{t::day_of_date(2027, 5, 5), t::day_of_date(2027, 5, 13)}));
  EXPECT_TRUE(cfg::load_from_string("", "test", no_env).city.holidays.empty());
}

TEST(TransitPlanning, a_bad_calendar_or_planner_setting_is_one_clear_line) {
  auto fails = [](const std::string& toml, const std::string& needle) {
    try {
      cfg::load_from_string(toml, "test", no_env);
      ADD_FAILURE() << "loaded: " << toml;
    } catch (const cfg::config_error& e) {
      std::string w = e.what();
      EXPECT_NE(w.find(needle), std::string::npos) << w;
      EXPECT_EQ(w.find('\n'), std::string::npos) << w;
    }
  };
  fails("[city]\nholidays = [\"2026-02-30\"]\n", "city.holidays: \"2026-02-30\"");
  fails("[city]\nholidays = \"2026-01-01\"\n", "city.holidays must be an array");
  fails("[city]\ntourist_peaks = [\"2026-08-02..2026-07-30\"]\n", "city.tourist_peaks: the range");
  fails("[city]\ntourist_peaks = [\"2026-01-01..2027-06-01\"]\n", "at most 366 days");
  fails("[transit]\ntarget_load_factor = 0\n", "transit.target_load_factor");
  fails("[transit]\nmax_wait_min = \"ten\"\n", "transit.max_wait_min must be a number");
  fails("[transit]\nperiods = [\"peak 9-7\"]\n", "transit.periods: \"peak 9-7\"");
  fails("[transit]\nperiods = [\"a 5-9\", \"b 8-10\"]\n", "overlaps");
  fails("[transit]\nvehicle_capacity = 0\n", "transit.vehicle_capacity");
}

TEST(TransitPlanning, planner_settings_load_with_their_defaults) {
  auto d = cfg::load_from_string("", "test", no_env);
  EXPECT_EQ(d.transit.vehicle_capacity, 80);
  EXPECT_DOUBLE_EQ(d.transit.target_load_factor, 0.8);
  EXPECT_DOUBLE_EQ(d.transit.max_wait_min, 10);
  EXPECT_DOUBLE_EQ(d.transit.min_headway_min, 2);
  EXPECT_EQ(d.transit.vehicles, 0);
  EXPECT_TRUE(d.transit.periods.empty());
  auto s = cfg::load_from_string(
      "[transit]\ntarget_load_factor = 1\nmax_wait_min = 7.5\nperiods = [\"am peak 7-9\", \"day 9-17\"]\n", "test",
      no_env);
  EXPECT_DOUBLE_EQ(s.transit.target_load_factor, 1.0);
  EXPECT_DOUBLE_EQ(s.transit.max_wait_min, 7.5);
  ASSERT_EQ(s.transit.periods.size(), 2u);
  EXPECT_EQ(s.transit.periods[0].name, "am peak");
  EXPECT_EQ(s.transit.periods[0].start_hour, 7);
  EXPECT_EQ(s.transit.periods[1].end_hour, 17);
}

}  // namespace
