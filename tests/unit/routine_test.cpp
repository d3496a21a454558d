// The routine model (rules/routine.hpp): what each hour slot records, limits per hour of day from
// the quantile, factor, floor and ceiling, cold start, forgetting after learn_weeks, late
// activity, bounded memory. Time is numbers from a fixed Monday; no clock.
#include <gtest/gtest.h>

#include <cstdint>

#include "maeul/rules/routine.hpp"
#include "support/fake_clock.hpp"

namespace {

namespace r = maeul::rules;
using maeul::test::t0_us;
using maeul::test::us_per_day;
using maeul::test::us_per_h;
using maeul::test::us_per_min;
using maeul::test::us_per_s;

// Monday 2026-11-23 00:00 UTC (t0 is Saturday 01:00).
constexpr std::int64_t monday = t0_us + 47 * us_per_h;

r::routine_params params(int learn_weeks = 1, int min_days = 7) {
  r::routine_params p;
  p.learn_weeks = learn_weeks;
  p.min_days = min_days;
  p.quantile = 0.95;
  p.factor = 1.5;
  p.floor_us = us_per_h;
  p.ceiling_us = 16 * us_per_h;
  p.cold_start_us = 12 * us_per_h;
  return p;
}

// One day of the household: activity every `every` from `wake` to `sleep` o'clock (both included).
void day(r::routine& m, std::int64_t day_start, int wake = 7, int sleep = 22, std::int64_t every = 20 * us_per_min) {
  for (std::int64_t t = day_start + wake * us_per_h; t <= day_start + sleep * us_per_h; t += every) m.observe(t);
}

TEST(routine, cold_start_uses_the_fixed_limit_at_every_hour_until_min_days_are_recorded) {
  r::routine m(params(1, 7));
  EXPECT_FALSE(m.seen());
  EXPECT_FALSE(m.judge(monday).unusual) << "nothing seen: nothing is unusual";
  for (int d = 0; d < 6; ++d) day(m, monday + d * us_per_day);
  m.advance(monday + 6 * us_per_day);
  EXPECT_FALSE(m.learned()) << m.days_recorded() << " days recorded";
  for (int h = 0; h < 24; ++h) EXPECT_EQ(m.limit_at(h), 12 * us_per_h) << "hour " << h;
  // cold start: 10 h of silence in the morning is not yet unusual; 12 h and 1 s is
  const auto last = m.last_activity_us();
  EXPECT_FALSE(m.judge(last + 12 * us_per_h).unusual);
  auto v = m.judge(last + 12 * us_per_h + us_per_s);
  EXPECT_TRUE(v.unusual);
  EXPECT_FALSE(v.learned);
  EXPECT_EQ(v.limit_us, 12 * us_per_h);
}

// Eight days (the first starts at its first activity, 07:00, so seven full days are recorded by
// the eighth midnight); the ring of one week then holds days 1-7.
void learn_eight_days(r::routine& m) {
  for (int d = 0; d < 8; ++d) day(m, monday + d * us_per_day);
  m.advance(monday + 8 * us_per_day);
}

TEST(routine, a_long_night_is_usual_and_a_quiet_morning_is_not) {
  r::routine m(params(1, 7));
  learn_eight_days(m);
  const std::int64_t d8 = monday + 8 * us_per_day;
  ASSERT_TRUE(m.learned()) << m.days_recorded() << " days recorded";
  // The slot of 05:00 records the night up to 06:00 (22:00 -> 06:00 = 8 h): limit 1.5 * 8 h.
  EXPECT_EQ(m.limit_at(5), 12 * us_per_h);
  // 07:00 records the whole night (it ends there): 9 h * 1.5.
  EXPECT_EQ(m.limit_at(7), 13 * us_per_h + 30 * us_per_min);
  // 10:00: gaps of 20 min, * 1.5 = 30 min, raised to the floor.
  EXPECT_EQ(m.limit_at(10), us_per_h);
  // 22:00: the last activity at 22:00, the gap 1 h at the slot's end (no activity ends it): 1.5 h.
  EXPECT_EQ(m.limit_at(22), 90 * us_per_min);
  // 23:00: the evening's gap reaches 2 h by midnight: 3 h.
  EXPECT_EQ(m.limit_at(23), 3 * us_per_h);

  // The next night, judged every 10 minutes, is never unusual.
  for (std::int64_t t = d8 - 2 * us_per_h + us_per_min; t < d8 + 7 * us_per_h; t += 10 * us_per_min) {
    m.advance(t);
    EXPECT_FALSE(m.judge(t).unusual) << "at " << (t - d8) / us_per_min << " min after midnight";
  }
  // Up at 07:00, active until 08:00, then nothing: at 09:00 the gap is 1 h (the limit), just
  // after it is unusual.
  day(m, d8, 7, 8);
  m.advance(d8 + 9 * us_per_h);
  EXPECT_FALSE(m.judge(d8 + 9 * us_per_h).unusual);
  auto v = m.judge(d8 + 9 * us_per_h + us_per_s);
  EXPECT_TRUE(v.unusual);
  EXPECT_TRUE(v.learned);
  EXPECT_EQ(v.gap_us, us_per_h + us_per_s);
  EXPECT_EQ(v.limit_us, us_per_h);
}

TEST(routine, the_quantile_is_the_nearest_rank_of_the_hours_gaps) {
  // Seven days with 20-minute gaps at 14:00, except one day with a 5-hour afternoon nap (12:00-17:00).
  auto learn = [](double quantile) {
    auto p = params(1, 7);
    p.quantile = quantile;
    p.factor = 1;
    p.floor_us = us_per_min;
    r::routine m(p);
    for (int d = 0; d < 8; ++d) {
      const std::int64_t s = monday + d * us_per_day;
      if (d == 3) {
        day(m, s, 7, 12);
        day(m, s, 17, 22);
      } else {
        day(m, s);
      }
    }
    m.advance(monday + 8 * us_per_day);
    return m.limit_at(14);
  };
  // n = 7: quantile 0.95 -> rank 7 (the nap: 3 h by 15:00); 0.85 -> rank 6 (20 min); 0.5 -> rank 4.
  EXPECT_EQ(learn(0.95), 3 * us_per_h);
  EXPECT_EQ(learn(0.85), 20 * us_per_min);
  EXPECT_EQ(learn(0.5), 20 * us_per_min);
}

TEST(routine, the_ceiling_caps_the_limit_and_the_factor_scales_it) {
  auto p = params(1, 7);
  p.ceiling_us = 10 * us_per_h;
  r::routine m(p);
  learn_eight_days(m);
  EXPECT_EQ(m.limit_at(5), 10 * us_per_h) << "1.5 * 8 h capped at 10 h";
  EXPECT_EQ(m.limit_at(2), 7 * us_per_h + 30 * us_per_min) << "1.5 * 5 h (22:00 -> 03:00)";
}

TEST(routine, days_older_than_learn_weeks_are_forgotten) {
  r::routine m(params(1, 7));
  // A week of late nights (up 11:00-03:00 the next day, i.e. asleep 03:00-11:00), then a week of
  // the early routine.
  for (int d = 0; d < 7; ++d) {
    const std::int64_t s = monday + d * us_per_day;
    day(m, s, 0, 3);
    day(m, s, 11, 23);
  }
  m.advance(monday + 7 * us_per_day);
  EXPECT_EQ(m.limit_at(10), 12 * us_per_h) << "10:00 is asleep since 03:00: 8 h by 11:00, * 1.5";
  for (int d = 7; d < 14; ++d) day(m, monday + d * us_per_day);
  m.advance(monday + 14 * us_per_day);
  EXPECT_EQ(m.limit_at(10), us_per_h) << "only the early week is kept";
  EXPECT_EQ(m.days_recorded(), 7);
}

TEST(routine, late_and_repeated_activity_teaches_nothing) {
  r::routine m(params());
  EXPECT_TRUE(m.observe(monday + 8 * us_per_h));
  EXPECT_FALSE(m.observe(monday + 8 * us_per_h));
  EXPECT_FALSE(m.observe(monday + 7 * us_per_h));
  EXPECT_EQ(m.last_activity_us(), monday + 8 * us_per_h);
  // Older than the open slot (the clock moved on) but newer than the last activity: it is the last
  // activity now, and the gap is judged from it.
  m.advance(monday + 11 * us_per_h);
  EXPECT_TRUE(m.observe(monday + 9 * us_per_h + 30 * us_per_min));
  EXPECT_EQ(m.judge(monday + 11 * us_per_h).gap_us, 90 * us_per_min);
}

TEST(routine, activity_is_counted_per_hour_of_week_from_monday) {
  r::routine m(params(2, 7));
  // Two Mondays and a Tuesday, three activities each at 09:xx; Saturday once at 01:xx.
  for (std::int64_t d : {0, 1, 7})
    for (int k = 0; k < 3; ++k) m.observe(monday + d * us_per_day + 9 * us_per_h + k * 10 * us_per_min);
  m.observe(monday + 12 * us_per_day + us_per_h + 5 * us_per_min);
  m.advance(monday + 13 * us_per_day);
  EXPECT_EQ(m.activities_in_hour_of_week(9), 6u) << "Monday 09:00, two weeks";
  EXPECT_EQ(m.activities_in_hour_of_week(24 + 9), 3u) << "Tuesday 09:00";
  EXPECT_EQ(m.activities_in_hour_of_week(5 * 24 + 1), 1u) << "Saturday 01:00";
  EXPECT_EQ(m.activities_in_hour_of_week(10), 0u);
}

TEST(routine, memory_is_the_ring_allocated_at_construction_whatever_the_traffic) {
  r::routine m(params(4, 7));
  const auto bytes = m.ring_bytes();
  EXPECT_EQ(bytes, std::size_t(4 * 168 * 5));
  // 100 days of activity every minute, then a month of silence with no call in between.
  for (std::int64_t t = monday; t < monday + 100 * us_per_day; t += us_per_min) m.observe(t);
  m.advance(monday + 130 * us_per_day);
  EXPECT_EQ(m.ring_bytes(), bytes);
  EXPECT_EQ(m.days_recorded(), 28);
  // The month of silence filled the ring: every hour's gap is past the ceiling.
  for (int h = 0; h < 24; ++h) EXPECT_EQ(m.limit_at(h), 16 * us_per_h) << "hour " << h;
}

}  // namespace
