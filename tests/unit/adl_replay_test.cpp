// The ADL replay of the welfare validation (tools/welfare/adl.hpp): the files' quirks (runs of
// tabs, CRLF, headers, trailing blanks), the real files in ../shared/data/ordonez-adl (skipped
// with a message where that folder is absent), and replays through the engine with and without an
// injected stop.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "maeul/rules/rules.hpp"
#include "welfare/adl.hpp"

namespace {

namespace adl = maeul::adl;
namespace r = maeul::rules;

constexpr std::int64_t us_min = 60LL * 1000000, us_h = 60 * us_min;

TEST(adl_read, times_are_wall_clock_read_as_utc) {
  EXPECT_EQ(adl::parse_time("1970-01-01", "00:00:00"), 0);
  // date -u -d '2011-11-28 02:27:59' +%s
  EXPECT_EQ(adl::parse_time("2011-11-28", "02:27:59"), 1322447279LL * 1000000);
  EXPECT_EQ(adl::parse_time("2012-02-29", "23:59:59"), 1330559999LL * 1000000);
  EXPECT_FALSE(adl::parse_time("Start", "time"));
  EXPECT_FALSE(adl::parse_time("2011-13-01", "00:00:00"));
  EXPECT_FALSE(adl::parse_time("2011-11-28", "24:00:00"));
  EXPECT_FALSE(adl::parse_time("2011-11-2x", "00:00:00"));
}

TEST(adl_read, runs_of_tabs_crlf_headers_and_trailing_blanks) {
  std::istringstream in(
      "Start time          \tEnd time            \tLocation\tType\t\tPlace\r\n"
      "--------------------\t--------------------\t--------\t--------\t-----\r\n"
      "2011-11-28 02:27:59\t2011-11-28 10:18:11\t\tBed\t\tPressure\tBedroom\r\n"
      "2011-12-09 11:01:26\t\t2011-12-09 11:01:29\t\tCooktop\t\tPIR\t\tKitchen\t\r\n"
      "\r\n"
      "2011-12-09 12:00:00\t2011-12-09 11:00:00\tSeat\tPressure\tLiving\r\n"
      "2011-12-10 09:00:00\t2011-12-10 09:00:05\tDoor\tPIR");
  adl::read_report rep;
  auto rows = adl::read_sensors(in, rep);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].location, "Bed");
  EXPECT_EQ(rows[0].type, "Pressure");
  EXPECT_EQ(rows[0].place, "Bedroom");
  EXPECT_EQ(rows[0].end_us - rows[0].start_us, (7 * 60 + 50) * us_min + 12 * 1000000);
  EXPECT_EQ(rows[1].place, "Kitchen");
  EXPECT_EQ(rows[2].place, "") << "a row without a place is kept";
  EXPECT_EQ(rep.rows, 3u);
  ASSERT_EQ(rep.skipped.size(), 3u) << "two headers and an end before its start";
  EXPECT_EQ(rep.skipped[0], "line 1: no start and end time (a header?)");
  EXPECT_EQ(rep.skipped[2], "line 6: ends before it starts");
}

std::string data_dir() { return std::string(MAEUL_SOURCE_DIR) + "/../shared/data/ordonez-adl"; }

TEST(adl_read, the_real_files_of_both_homes) {
  if (!std::filesystem::exists(data_dir() + "/OrdonezA_Sensors.txt"))
    GTEST_SKIP() << data_dir() << " is absent: the shared data folder is not beside the repository";
  auto a = adl::load_home(data_dir(), "A");
  auto b = adl::load_home(data_dir(), "B");
  // README.txt of the data set: A has 409 sensor events and 248 labels, B 2,334 and 493.
  // Three of A's labels end before they start (a day off: "2011-12-02 12:20:41 .. 2011-12-01
  // 10:20:59"): skipped, and said so.
  EXPECT_EQ(a.sensors.size(), 409u);
  EXPECT_EQ(a.labels.size(), 245u);
  EXPECT_EQ(b.sensors.size(), 2334u);
  EXPECT_EQ(b.labels.size(), 493u);
  for (const auto* rep : {&a.sensors_report, &b.sensors_report, &b.labels_report})
    EXPECT_EQ(rep->skipped.size(), 2u) << "only the two header lines: " << testing::PrintToString(rep->skipped);
  EXPECT_EQ(a.labels_report.skipped,
            (std::vector<std::string>{"line 1: no start and end time (a header?)", "line 2: only 3 fields",
                                      "line 72: ends before it starts", "line 81: ends before it starts",
                                      "line 83: ends before it starts"}));
  EXPECT_EQ(a.sensors.front().start_us, *adl::parse_time("2011-11-28", "02:27:59"));
  EXPECT_EQ(a.sensors.front().location, "Bed");
  EXPECT_EQ(a.labels.front().activity, "Sleeping");
  EXPECT_EQ(adl::label_at(a, *adl::parse_time("2011-11-28", "05:00:00")), "Sleeping");
  EXPECT_EQ(adl::label_at(a, *adl::parse_time("2011-11-28", "13:20:00")), "Leaving");
  auto times = adl::activity_times(b);
  EXPECT_TRUE(std::is_sorted(times.begin(), times.end()));
  EXPECT_GT(times.size(), b.sensors.size());
  EXPECT_LE(times.size(), 2 * b.sensors.size());
  EXPECT_THROW(adl::load_home(data_dir(), "C"), std::runtime_error);
}

r::rule silence_1h() {
  auto o = r::parse_rule({{"id", "s"}, {"name", "s"}, {"kind", "silence"}, {"severity", "info"}, {"for", "1h"}});
  if (!o) throw std::runtime_error(o.error().describe());
  return o.value();
}

TEST(adl_replay, a_silence_rule_opens_after_the_last_activity_and_clears_at_the_next) {
  const std::int64_t t = 1322447279LL * 1000000;
  std::vector<std::int64_t> times{t, t + 10 * us_min, t + 20 * us_min, t + 3 * us_h};
  auto res = adl::replay(silence_1h(), times, {t, t + 3 * us_h + 30 * us_min});
  ASSERT_EQ(res.opened.size(), 1u);
  EXPECT_EQ(res.opened[0], t + 80 * us_min);
  ASSERT_EQ(res.cleared.size(), 1u);
  EXPECT_EQ(res.cleared[0], t + 3 * us_h);
  EXPECT_EQ(res.readings, 4);
  EXPECT_EQ(res.ticks, 3 * 60 + 30 + 1);
}

TEST(adl_replay, an_injected_stop_drops_the_activity_after_it) {
  const std::int64_t t = 1322447279LL * 1000000;
  std::vector<std::int64_t> times;
  for (std::int64_t k = 0; k <= 30; ++k) times.push_back(t + k * 10 * us_min);  // every 10 min for 5 h
  adl::replay_options o{t, t + 5 * us_h};
  o.stop_us = t + us_h;
  o.stop_for_us = 2 * us_h;
  auto res = adl::replay(silence_1h(), times, o);
  ASSERT_EQ(res.opened.size(), 1u);
  EXPECT_EQ(res.opened[0], t + 2 * us_h);
  ASSERT_EQ(res.cleared.size(), 1u);
  EXPECT_EQ(res.cleared[0], t + 3 * us_h + 10 * us_min) << "the first activity after the stop";
  // Without ticks before the stop, the same alert.
  o.ticks_from_us = o.stop_us;
  auto late = adl::replay(silence_1h(), times, o);
  EXPECT_EQ(late.opened, res.opened);
  EXPECT_LT(late.ticks, res.ticks);
}

}  // namespace
