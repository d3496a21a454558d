// The demand forecaster (transit/forecast.hpp): calendar arithmetic, the hour-of-week median, the
// recent level, holiday and rain factors (hand-computed on synthetic series), no leakage from the
// target day on, the seasonal-naive baseline and MAPE / WAPE.
#include <gtest/gtest.h>

#include <cmath>

#include "maeul/transit/forecast.hpp"

namespace {

namespace t = maeul::transit;

// Monday 2026-01-05.
const std::int64_t monday = t::day_of_date(2026, 1, 5);

// `weeks` weeks of history from `monday - 7 * weeks`, value f(day, hour of day).
template <class F>
t::hourly_series weeks_of(int weeks, F f) {
  t::hourly_series s;
  s.first_hour = (monday - 7 * weeks) * 24;
  for (std::int64_t h = s.first_hour; h < monday * 24; ++h) s.counts.push_back(f(t::day_of_hour(h), static_cast<int>(h % 24)));
  return s;
}

// A weekly pattern: weekdays 10 * (hour + 1), Saturday 5 * (hour + 1), Sunday 40.
double weekly(std::int64_t day, int hod) {
  const int wd = t::weekday_of_day(day);
  return wd == 6 ? 40.0 : wd == 5 ? 5.0 * (hod + 1) : 10.0 * (hod + 1);
}

t::forecast_params plain() {
  t::forecast_params p;
  p.profile_weeks = 4;
  p.level_days = 7;
  p.prior_days = 0;
  p.prior_hours = 0;
  return p;
}

TEST(TransitForecast, calendar_arithmetic) {
  EXPECT_EQ(t::day_of_date(1970, 1, 1), 0);
  EXPECT_EQ(t::day_of_date(2000, 3, 1), 11017);
  EXPECT_EQ(t::day_of_date(1969, 12, 31), -1);
  EXPECT_EQ(t::weekday_of_day(0), 3);  // Thursday
  EXPECT_EQ(t::weekday_of_day(monday), 0);
  EXPECT_EQ(t::weekday_of_day(t::day_of_date(2018, 12, 1)), 5);  // a Saturday
  EXPECT_EQ(t::weekday_of_day(-1), 2);
  EXPECT_EQ(t::local_hour_of(0, 9 * 3600), 9);
  EXPECT_EQ(t::local_hour_of(-1, 0), -1);
  EXPECT_EQ(t::day_of_hour(-1), -1);
  EXPECT_EQ(t::day_of_hour(23), 0);
  EXPECT_EQ(t::day_of_hour(24), 1);
}

TEST(TransitForecast, densify_sums_counts_per_hour_and_fills_the_rest) {
  const auto s = t::densify({{10, 2}, {10, 3}, {12, 1}, {9, 7}, {14, 1}}, 10, 14, 0);
  ASSERT_EQ(s.counts.size(), 4u);
  EXPECT_DOUBLE_EQ(s.at(10), 5);
  EXPECT_DOUBLE_EQ(s.at(11), 0);
  EXPECT_DOUBLE_EQ(s.at(12), 1);
  EXPECT_TRUE(std::isnan(s.at(9)));
  EXPECT_TRUE(std::isnan(t::densify({}, 0, 2, t::unknown).at(0)));
}

TEST(TransitForecast, a_steady_week_is_forecast_exactly_from_its_hour_of_week) {
  const auto h = weeks_of(6, weekly);
  for (int k = 0; k < 7; ++k) {
    const auto f = t::forecast_day(h, monday + k, {}, nullptr, plain());
    for (int hod = 0; hod < 24; ++hod) EXPECT_DOUBLE_EQ(f.counts[hod], weekly(monday + k, hod)) << "day " << k << " hour " << hod;
  }
  const auto f = t::forecast_day(h, monday, {}, nullptr, plain());
  EXPECT_EQ(f.profile_weeks_found, 4);
  EXPECT_FALSE(f.holiday);
  EXPECT_EQ(f.weather_hours, 0);
}

TEST(TransitForecast, the_median_ignores_one_odd_week_and_unknown_hours) {
  auto h = weeks_of(6, weekly);
  h.counts[h.counts.size() - 7 * 24 + 8] = 1000;       // last Monday 08:00
  h.counts[h.counts.size() - 14 * 24 + 9] = t::unknown;  // Monday two weeks ago 09:00
  auto p = plain();
  p.level_days = 0;
  const auto f = t::forecast_day(h, monday, {}, nullptr, p);
  EXPECT_DOUBLE_EQ(f.counts[8], 90);   // median of {1000, 90, 90, 90}
  EXPECT_DOUBLE_EQ(f.counts[9], 100);  // median of the 4 known: one from 5 weeks ago
  // no history: unknown
  EXPECT_TRUE(std::isnan(t::forecast_day(t::hourly_series{}, monday, {}, nullptr, p).counts[0]));
}

TEST(TransitForecast, the_recent_level_scales_the_profile_within_its_clamp) {
  // 100 every hour, 150 in the last 7 days: the profile (median of 150, 100, 100, 100) is 100, the
  // last 7 days ran at 1.5 times their own profile (100), so the forecast is 150
  const auto h = weeks_of(8, [](std::int64_t d, int) { return d >= monday - 7 ? 150.0 : 100.0; });
  auto p = plain();
  EXPECT_DOUBLE_EQ(t::forecast_day(h, monday, {}, nullptr, p).counts[12], 150);
  p.max_level = 1.2;
  EXPECT_DOUBLE_EQ(t::forecast_day(h, monday, {}, nullptr, p).counts[12], 120);
  p.level_days = 0;
  EXPECT_DOUBLE_EQ(t::forecast_day(h, monday, {}, nullptr, p).counts[12], 100);
}

TEST(TransitForecast, uses_nothing_from_the_target_day_on) {
  auto h = weeks_of(6, weekly);
  const auto before = t::forecast_day(h, monday - 7, {}, nullptr, plain());
  for (std::size_t i = h.counts.size() - 7 * 24; i < h.counts.size(); ++i) h.counts[i] *= 5;
  const auto after = t::forecast_day(h, monday - 7, {}, nullptr, plain());
  for (int hod = 0; hod < 24; ++hod) EXPECT_DOUBLE_EQ(before.counts[hod], after.counts[hod]);
  // forecast_days gives each day the forecast made from the data before it
  const auto days = t::forecast_days(h, monday - 7, 2, {}, nullptr, plain());
  ASSERT_EQ(days.size(), 2u);
  EXPECT_DOUBLE_EQ(days[0].counts[3], before.counts[3]);
  EXPECT_EQ(days[1].day, monday - 6);
}

TEST(TransitForecast, a_holiday_is_a_sunday_times_the_learned_holiday_ratio) {
  // Sundays 40 every hour; three past weekday holidays ran at 50 (1.25 x Sunday)
  t::calendar cal;
  cal.holidays = {monday - 26, monday - 19, monday - 12};  // Wednesdays
  const auto h = weeks_of(10, [&](std::int64_t d, int hod) {
    for (auto x : cal.holidays)
      if (x == d) return 50.0;
    return weekly(d, hod);
  });
  cal.holidays.push_back(monday + 2);  // the target Wednesday
  auto p = plain();
  const auto f = t::forecast_day(h, monday + 2, cal, nullptr, p);
  EXPECT_TRUE(f.holiday);
  for (int hod = 0; hod < 24; ++hod) EXPECT_DOUBLE_EQ(f.counts[hod], 50) << hod;
  // too few past holidays to learn from: the Sunday profile
  p.min_special_days = 4;
  EXPECT_DOUBLE_EQ(t::forecast_day(h, monday + 2, cal, nullptr, p).counts[7], 40);
  // shrinkage towards 1: 3 holidays and 3 pseudo-days give (150 + 120) / (120 + 120) = 1.125
  p.min_special_days = 2;
  p.prior_days = 3;
  EXPECT_DOUBLE_EQ(t::forecast_day(h, monday + 2, cal, nullptr, p).counts[7], 45);
  // the ordinary Wednesday after is not affected by the holidays (they are left out of its profile)
  EXPECT_DOUBLE_EQ(t::forecast_day(h, monday + 9, cal, nullptr, plain()).counts[7], 80);
}

TEST(TransitForecast, a_tourist_peak_is_the_profile_times_the_learned_tourist_ratio) {
  // three past tourist-peak Saturdays ran at 1.5 times a Saturday
  t::calendar cal;
  cal.tourist_peaks = {monday - 16, monday - 9, monday - 2};
  const auto h = weeks_of(10, [&](std::int64_t d, int hod) {
    for (auto x : cal.tourist_peaks)
      if (x == d) return 1.5 * weekly(d, hod);
    return weekly(d, hod);
  });
  cal.tourist_peaks.push_back(monday + 5);
  const auto f = t::forecast_day(h, monday + 5, cal, nullptr, plain());
  EXPECT_TRUE(f.tourist_peak);
  EXPECT_FALSE(f.holiday);
  for (int hod = 0; hod < 24; ++hod) EXPECT_DOUBLE_EQ(f.counts[hod], 7.5 * (hod + 1)) << hod;
  // an ordinary Saturday: the tourist days are left out of its profile
  cal.tourist_peaks.pop_back();
  EXPECT_DOUBLE_EQ(t::forecast_day(h, monday + 5, cal, nullptr, plain()).counts[3], 20);
}

TEST(TransitForecast, rain_hours_get_the_learned_rain_factor_when_the_weather_is_known) {
  // 100 every hour, 40 within 2 hours of an hour with 3 mm of rain (the rain feature's window);
  // rain falls on a few days after the first four weeks, each on another weekday, so the medians
  // stay 100
  const int weeks = 8;
  t::weather_series w;
  w.first_hour = (monday - 7 * weeks) * 24;
  for (std::int64_t hr = w.first_hour; hr < (monday + 1) * 24; ++hr) {
    t::hour_weather x;
    x.temperature_c = 10;
    x.rain_mm = 0;
    const std::int64_t day = t::day_of_hour(hr) - (monday - 7 * weeks);
    if ((day == 30 || day == 38 || day == 46 || day == 52) && hr % 24 >= 9 && hr % 24 <= 12) x.rain_mm = 3;
    w.hours.push_back(x);
  }
  const auto wet = [&](std::int64_t hr) {
    for (std::int64_t u = hr - 2; u <= hr + 2; ++u)
      if (w.at(u).rain_mm > 0) return true;
    return false;
  };
  const auto h = weeks_of(weeks, [&](std::int64_t d, int hod) { return wet(d * 24 + hod) ? 40.0 : 100.0; });
  w.hours[static_cast<std::size_t>(monday * 24 + 8 - w.first_hour)].rain_mm = 3;  // the forecast: rain at 08:00
  auto p = plain();
  p.level_days = 0;
  auto f = t::forecast_day(h, monday, {}, &w, p);
  EXPECT_NEAR(f.counts[5], 100, 1e-9);
  for (int hod = 6; hod <= 10; ++hod) EXPECT_NEAR(f.counts[hod], 40, 1e-9) << hod;  // 08:00 +- 2 h
  EXPECT_NEAR(f.counts[11], 100, 1e-9);
  EXPECT_EQ(f.weather_hours, 24);
  // the level is measured at equal weather: a wet last week does not lower it
  p.level_days = 7;
  EXPECT_NEAR(t::forecast_day(h, monday, {}, &w, p).counts[12], 100, 1e-9);
  p.use_weather = false;
  f = t::forecast_day(h, monday, {}, &w, p);
  EXPECT_LT(f.counts[8], 100);  // without weather, the wet hours of last week lower the level
  p.level_days = 0;
  f = t::forecast_day(h, monday, {}, &w, p);
  EXPECT_DOUBLE_EQ(f.counts[8], 100);
  EXPECT_EQ(f.weather_hours, 0);
}

TEST(TransitForecast, seasonal_naive_is_last_weeks_hour_with_an_optional_fallback) {
  auto h = weeks_of(3, weekly);
  h.counts[h.counts.size() - 7 * 24 + 8] = t::unknown;
  const auto strict = t::seasonal_naive(h, monday, 1);
  EXPECT_TRUE(std::isnan(strict[8]));
  EXPECT_DOUBLE_EQ(strict[9], 100);
  EXPECT_DOUBLE_EQ(t::seasonal_naive(h, monday, 2)[8], 90);
}

TEST(TransitForecast, mape_over_nonzero_actuals_and_wape_over_all) {
  t::accuracy_meter m;
  m.add(100, 90);
  m.add(0, 5);
  m.add(50, 60);
  m.add(t::unknown, 3);
  m.add(10, t::unknown);
  const auto a = m.result();
  EXPECT_EQ(a.hours, 3u);
  EXPECT_EQ(a.nonzero_hours, 2u);
  EXPECT_NEAR(a.mape_pct, 15.0, 1e-9);         // (10 % + 20 %) / 2
  EXPECT_NEAR(a.wape_pct, 100.0 * 25 / 150, 1e-9);
  EXPECT_TRUE(std::isnan(t::accuracy_meter{}.result().wape_pct));
}

TEST(TransitForecast, invalid_params_are_named) {
  auto p = plain();
  EXPECT_FALSE(t::validate(p).has_value());
  p.profile_weeks = 0;
  EXPECT_TRUE(t::validate(p).has_value());
  p = plain();
  p.min_level = 2;
  p.max_level = 1;
  EXPECT_TRUE(t::validate(p).has_value());
}

}  // namespace
