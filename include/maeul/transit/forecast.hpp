// Demand forecast for one series of hourly counts (boardings at a stop, rentals at a dock): the
// counts of the 24 hours of a target day, from the history before it, a calendar of holidays and
// tourist peaks, and the weather where it is known. Pure: no I/O, no clock; time comes in as
// local hours (hours since 1970-01-01 00:00 in the city's local time).
//
// The model (docs/transit.md, "Demand forecast"):
//
// - Profile: for each hour of the target day, the median of the last `profile_weeks` known values
//   of the same hour of week on ordinary days (not holiday, not tourist peak), looking back at most
//   4 * profile_weeks weeks.
// - Level: sum(actual) / sum(profile x weather factors) over the known hours of the ordinary days
//   among the last `level_days` days, clamped to [min_level, max_level]: follows a trend since the
//   profile weeks, measured at equal weather when the weather is known.
// - Holiday: the profile of the last ordinary Sundays times a factor per hour of day, learned on
//   past holidays as sum(actual) / sum(Sunday profile x level), shrunk towards 1 with `prior_days`
//   pseudo-days; with fewer than `min_special_days` past holidays, the factor is 1 (a Sunday).
//   Tourist peak: the profile times a factor per hour of day, learned the same way on past
//   tourist-peak days.
// - Weather (when use_weather and a weather series is given): factors per bin of three features,
//   the most rain in an hour within 2 hours of it (rain is often reported in 3-hour sums), the
//   humidity, and the temperature minus the mean of the profile hours' temperatures; learned on
//   the ordinary days before the target day as ratios of actual to the weather-free forecast,
//   shrunk towards 1 with `prior_hours`, one feature given the others (two rounds). The target
//   day's weather is taken as a known forecast: the only input read from the target day.
// - Forecast = profile x level x special-day factor x weather factors, never below 0.
// - Unknown hours (NaN counts: no data, service off) are skipped everywhere.
#pragma once
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace maeul::transit {

inline constexpr double unknown = std::numeric_limits<double>::quiet_NaN();

// Local hours and days. A local hour is floor((epoch seconds + UTC offset seconds) / 3600); its
// day is floor(hour / 24) (days since 1970-01-01, local calendar).
std::int64_t local_hour_of(std::int64_t epoch_s, std::int64_t utc_offset_s);
inline std::int64_t day_of_hour(std::int64_t local_hour) {
  return local_hour >= 0 ? local_hour / 24 : -((-local_hour + 23) / 24);
}
// Days since 1970-01-01 of a civil date (proleptic Gregorian). Never throws; the caller checks
// that month is 1-12 and day 1-31.
std::int64_t day_of_date(int year, int month, int day);
// 0 = Monday .. 6 = Sunday.
int weekday_of_day(std::int64_t day);

// A dense series of hourly counts starting at local hour `first_hour`; NaN = unknown.
struct hourly_series {
  std::int64_t first_hour = 0;
  std::vector<double> counts;

  // The count at local hour h, NaN when outside the series or unknown.
  double at(std::int64_t h) const {
    if (h < first_hour || h >= first_hour + static_cast<std::int64_t>(counts.size())) return unknown;
    return counts[static_cast<std::size_t>(h - first_hour)];
  }
  std::int64_t end_hour() const { return first_hour + static_cast<std::int64_t>(counts.size()); }
};

struct hourly_count {
  std::int64_t local_hour = 0;
  double count = 0;
};
// Builds the dense series of hours [from_hour, to_hour) from sparse counts: counts in the same
// hour add up; hours with no count get `absent` (0 when a missing reading means nobody boarded,
// NaN when it means nothing is known). Counts outside the range are dropped.
hourly_series densify(const std::vector<hourly_count>& counts, std::int64_t from_hour, std::int64_t to_hour,
                      double absent);

// Special days of the local calendar (days since 1970-01-01), any order, duplicates allowed.
struct calendar {
  std::vector<std::int64_t> holidays;
  std::vector<std::int64_t> tourist_peaks;
};

// Weather of one hour; NaN fields are unknown.
struct hour_weather {
  double temperature_c = unknown;
  double rain_mm = unknown;
  double humidity_pct = unknown;
  double snow_cm = unknown;  // kept for callers; not used by the model
};
// A dense series of hourly weather starting at local hour `first_hour` (observed for the past,
// forecast for the target day).
struct weather_series {
  std::int64_t first_hour = 0;
  std::vector<hour_weather> hours;

  // The weather at local hour h; all fields NaN when outside the series.
  hour_weather at(std::int64_t h) const {
    if (h < first_hour || h >= first_hour + static_cast<std::int64_t>(hours.size())) return {};
    return hours[static_cast<std::size_t>(h - first_hour)];
  }
};

struct forecast_params {
  int profile_weeks = 4;       // 1..52: weeks of same-hour-of-week values for the median
  int level_days = 7;          // 0..56: recent ordinary days for the level factor (0: no level)
  double min_level = 0.5;      // clamp of the level factor
  double max_level = 2.0;
  int min_special_days = 2;    // holidays (tourist days) needed before their factor is learned
  double prior_days = 2;       // shrinkage of the holiday and tourist factors towards 1
  bool use_weather = true;     // apply the weather factor where the target hour's weather is known
  double prior_hours = 5;      // shrinkage of the weather factors towards 1
  int learn_days = 364;        // 7..3650: history looked at to learn factors (before the target day)
};

// Empty when valid, else what is wrong (for a 400/422 answer).
std::optional<const char*> validate(const forecast_params& p);

struct day_forecast {
  std::int64_t day = 0;
  std::array<double, 24> counts{};  // >= 0; NaN where no history at all is available for the hour
  bool holiday = false;             // the holiday factor (or Sunday profile) was applied
  bool tourist_peak = false;        // the tourist-peak factor was applied
  int weather_hours = 0;            // hours where a weather factor was applied
  int profile_weeks_found = 0;      // weeks with at least one ordinary known hour in the profile
};

// The forecast for `day` (local). Uses only hours of `history` (and of `weather`) before the
// day's first hour, plus the day's own weather when p.use_weather; later hours are ignored, so the
// whole series may be passed for a rolling-origin validation. `weather` may be null. The calendar
// is read for every day (holidays are known in advance). `p` must be valid (validate()).
// Never throws for valid params; with no history the counts are NaN.
day_forecast forecast_day(const hourly_series& history, std::int64_t day, const calendar& cal,
                          const weather_series* weather, const forecast_params& p);

// forecast_day for each of the n_days days from first_day (each from the data before it).
std::vector<day_forecast> forecast_days(const hourly_series& history, std::int64_t first_day, int n_days,
                                        const calendar& cal, const weather_series* weather,
                                        const forecast_params& p);

// The seasonal-naive baseline: the count of the same hour one week (168 h) before. When that is
// unknown, the same hour 2, 3 .. max_weeks weeks before (the latest known); NaN when none is.
std::array<double, 24> seasonal_naive(const hourly_series& history, std::int64_t day, int max_weeks = 1);

// Forecast accuracy over pairs (actual, forecast); pairs where either is NaN are skipped.
//   MAPE = mean over pairs with actual != 0 of |a - f| / |a|, in percent;
//   WAPE = sum |a - f| / sum |a|, in percent (NaN when sum |a| = 0).
struct accuracy {
  double mape_pct = unknown;
  double wape_pct = unknown;
  std::size_t hours = 0;          // pairs scored by WAPE
  std::size_t nonzero_hours = 0;  // pairs scored by MAPE
};
class accuracy_meter {
 public:
  void add(double actual, double forecast);
  accuracy result() const;

 private:
  double abs_err_ = 0, abs_act_ = 0, ape_sum_ = 0;
  std::size_t n_ = 0, n_nonzero_ = 0;
};

}  // namespace maeul::transit
