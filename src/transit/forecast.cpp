// The demand forecaster (transit/forecast.hpp): hour-of-week medians scaled by a recent level, with
// learned holiday, tourist-peak and weather factors.
#include "maeul/transit/forecast.hpp"
#include "maeul/domain/civil_date.hpp"

#include <algorithm>

namespace maeul::transit {

namespace {

constexpr std::int64_t week_h = 168;

bool known(double v) { return !std::isnan(v); }

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// The weather features, each cut into bins; a factor per bin is learned.
//   0 rain: the most rain in an hour from t - 2 to t + 2 (rain is often reported in 3-hour sums),
//     bins dry, (0, 0.5], (0.5, 2], (2, 5], > 5 mm;
//   1 humidity: < 50, 50-70, 70-80, 80-90, 90-95, >= 95 %;
//   2 temperature anomaly: the hour's temperature minus the mean of the profile hours', 3 degree
//     bins from < -9 to >= 9.
constexpr int n_features = 3;
constexpr std::array<int, n_features> feature_bins = {5, 6, 8};
constexpr int max_bins = 8;

int rain_bin(double mm) {
  if (mm <= 0) return 0;
  if (mm <= 0.5) return 1;
  if (mm <= 2) return 2;
  if (mm <= 5) return 3;
  return 4;
}
int humidity_bin(double pct) {
  if (pct < 50) return 0;
  if (pct < 70) return 1;
  if (pct < 80) return 2;
  if (pct < 90) return 3;
  if (pct < 95) return 4;
  return 5;
}
int anomaly_bin(double delta_c) {
  const int b = static_cast<int>(std::floor(delta_c / 3.0)) + 4;
  return std::clamp(b, 0, 7);
}

// A ratio sum(actual) / sum(expected) shrunk towards 1 with `prior` pseudo-observations of the
// mean expected value: 1 when nothing was seen.
struct ratio_sum {
  double actual = 0, expected = 0;
  int n = 0;
  void add(double a, double e) {
    actual += a;
    expected += e;
    ++n;
  }
  double factor(double prior) const {
    if (n == 0 || expected <= 0) return 1.0;
    const double pseudo = prior * expected / n;
    return (actual + pseudo) / (expected + pseudo);
  }
};

class special_days {
 public:
  explicit special_days(const calendar& c) : holidays_(c.holidays), tourist_(c.tourist_peaks) {
    std::sort(holidays_.begin(), holidays_.end());
    std::sort(tourist_.begin(), tourist_.end());
  }
  bool holiday(std::int64_t d) const { return std::binary_search(holidays_.begin(), holidays_.end(), d); }
  bool tourist(std::int64_t d) const { return std::binary_search(tourist_.begin(), tourist_.end(), d); }
  bool ordinary(std::int64_t d) const { return !holiday(d) && !tourist(d); }

 private:
  std::vector<std::int64_t> holidays_, tourist_;
};

// One forecast origin: everything it computes sees only hours before limit_ (the target day's
// first hour), except the target day's own weather.
class origin {
 public:
  origin(const hourly_series& h, std::int64_t target_day, const special_days& s, const weather_series* w,
         const forecast_params& p)
      : h_(h), s_(s), w_(w), p_(p), day_(target_day), limit_(target_day * 24) {
    learn_from_day_ = day_ - p_.learn_days;
    // profiles of every hour from the first learning day's level window to the target day's end
    base_from_ = (learn_from_day_ - p_.level_days) * 24;
    const std::size_t n = static_cast<std::size_t>(limit_ + 24 - base_from_);
    base_.assign(n, unknown);
    base_temp_.assign(n, unknown);
    for (std::int64_t t = base_from_; t < limit_ + 24; ++t) {
      const auto i = static_cast<std::size_t>(t - base_from_);
      // nothing to learn from hours that are unknown (skipped anyway), except the target day
      if (t < limit_ && !known(at(t))) continue;
      base_[i] = profile(t - week_h, &base_temp_[i]);
    }
    level_.assign(static_cast<std::size_t>(day_ - learn_from_day_ + 1), 1.0);
    // the weather factors first with no level, so that the level measures demand at equal weather;
    // then the level, the special-day factors and the weather factors again
    const bool weather_on = p_.use_weather && w_ != nullptr;
    if (weather_on) learn_weather();
    for (std::int64_t d = learn_from_day_; d <= day_; ++d) level_[static_cast<std::size_t>(d - learn_from_day_)] = level(d);
    learn_special();
    if (weather_on) learn_weather();
  }

  day_forecast run() const {
    day_forecast f;
    f.day = day_;
    const bool hol = s_.holiday(day_), tour = s_.tourist(day_);
    const double lvl = level_.back();
    int weeks_found = 0;
    for (int hod = 0; hod < 24; ++hod) {
      const std::int64_t t = limit_ + hod;
      double temp_mean = unknown;
      double b;
      if (hol) {
        b = profile(sunday_before(day_) * 24 + hod, &temp_mean) * holiday_factor_[hod];
        f.holiday = true;
      } else {
        b = base(t);
        temp_mean = base_temp_[static_cast<std::size_t>(t - base_from_)];
      }
      if (tour) {
        b *= tourist_factor_[hod];
        f.tourist_peak = true;
      }
      b *= lvl;
      if (known(b) && weather_learned_) {
        const auto bins = weather_bins(t, temp_mean);
        bool applied = false;
        for (int k = 0; k < n_features; ++k) {
          if (bins[static_cast<std::size_t>(k)] < 0) continue;
          b *= weather_factor_[static_cast<std::size_t>(k)][static_cast<std::size_t>(bins[static_cast<std::size_t>(k)])];
          applied = true;
        }
        if (applied) ++f.weather_hours;
      }
      f.counts[static_cast<std::size_t>(hod)] = known(b) ? std::max(0.0, b) : unknown;
    }
    // weeks with an ordinary known hour among the profile weeks before the target day
    for (int k = 1; k <= p_.profile_weeks; ++k) {
      const std::int64_t d = day_ - 7 * k;
      if (!s_.ordinary(d)) continue;
      for (int hod = 0; hod < 24; ++hod)
        if (known(at(d * 24 + hod))) {
          ++weeks_found;
          break;
        }
    }
    f.profile_weeks_found = weeks_found;
    return f;
  }

 private:
  double at(std::int64_t t) const { return t < limit_ ? h_.at(t) : unknown; }
  double weather_temp(std::int64_t t) const { return weather(t).temperature_c; }
  double base(std::int64_t t) const {
    if (t < base_from_ || t >= limit_ + 24) return unknown;
    return base_[static_cast<std::size_t>(t - base_from_)];
  }

  // The median of the last profile_weeks known values of ordinary days at ref, ref - 1 week, ...
  // (looking back at most 4 * profile_weeks weeks); *temp_mean gets the mean temperature of the
  // hours used where known. NaN when none is found.
  double profile(std::int64_t ref, double* temp_mean) const {
    double v[52];
    int n = 0;
    double temp_sum = 0;
    int temp_n = 0;
    const int max_back = 4 * p_.profile_weeks;
    for (int k = 0; k < max_back && n < p_.profile_weeks; ++k) {
      const std::int64_t r = ref - k * week_h;
      const double a = at(r);
      if (!known(a) || !s_.ordinary(day_of_hour(r))) continue;
      v[n++] = a;
      const double tc = weather_temp(r);
      if (known(tc)) {
        temp_sum += tc;
        ++temp_n;
      }
    }
    if (temp_mean != nullptr) *temp_mean = temp_n > 0 ? temp_sum / temp_n : unknown;
    if (n == 0) return unknown;
    std::sort(v, v + n);
    return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  }

  static std::int64_t sunday_before(std::int64_t d) {
    const int wd = weekday_of_day(d);
    return d - (wd == 6 ? 7 : wd + 1);
  }

  // sum(actual) / sum(profile) over the known hours of the ordinary days among the level_days days
  // before d, clamped; 1 when level_days is 0 or nothing is known.
  double level(std::int64_t d) const {
    if (p_.level_days == 0) return 1.0;
    double a_sum = 0, b_sum = 0;
    for (std::int64_t e = d - p_.level_days; e < d; ++e) {
      if (!s_.ordinary(e)) continue;
      for (int hod = 0; hod < 24; ++hod) {
        const std::int64_t t = e * 24 + hod;
        const double a = at(t), b = base(t) * weather_multiplier(t);
        if (!known(a) || !known(b)) continue;
        a_sum += a;
        b_sum += b;
      }
    }
    if (b_sum <= 0) return 1.0;
    return std::clamp(a_sum / b_sum, p_.min_level, p_.max_level);
  }
  double level_of(std::int64_t d) const {
    if (d < learn_from_day_ || d > day_) return 1.0;
    return level_[static_cast<std::size_t>(d - learn_from_day_)];
  }

  void learn_special() {
    std::array<ratio_sum, 24> hol{}, tour{};
    int hol_days = 0, tour_days = 0;
    for (std::int64_t d = learn_from_day_; d < day_; ++d) {
      const bool is_hol = s_.holiday(d), is_tour = s_.tourist(d);
      if (!is_hol && !is_tour) continue;
      bool any_h = false, any_t = false;
      for (int hod = 0; hod < 24; ++hod) {
        const std::int64_t t = d * 24 + hod;
        const double a = at(t);
        if (!known(a)) continue;
        if (is_hol) {
          const double b = profile(sunday_before(d) * 24 + hod, nullptr) * level_of(d);
          if (known(b)) {
            hol[static_cast<std::size_t>(hod)].add(a, b);
            any_h = true;
          }
        } else {
          const double b = base(t) * level_of(d);
          if (known(b)) {
            tour[static_cast<std::size_t>(hod)].add(a, b);
            any_t = true;
          }
        }
      }
      hol_days += any_h;
      tour_days += any_t;
    }
    for (std::size_t i = 0; i < 24; ++i) {
      holiday_factor_[i] = hol_days >= p_.min_special_days ? hol[i].factor(p_.prior_days) : 1.0;
      tourist_factor_[i] = tour_days >= p_.min_special_days ? tour[i].factor(p_.prior_days) : 1.0;
    }
  }

  // The bin of each weather feature at hour t (-1 where unknown); temp_mean is the mean
  // temperature of t's profile hours. Weather from after the target day is never read.
  std::array<int, n_features> weather_bins(std::int64_t t, double temp_mean) const {
    std::array<int, n_features> bins{-1, -1, -1};
    const hour_weather hw = weather(t);
    if (known(hw.rain_mm)) {
      double most = hw.rain_mm;
      for (std::int64_t u = t - 2; u <= t + 2; ++u) {
        const double r = weather(u).rain_mm;
        if (known(r)) most = std::max(most, r);
      }
      bins[0] = rain_bin(most);
    }
    if (known(hw.humidity_pct)) bins[1] = humidity_bin(hw.humidity_pct);
    if (known(hw.temperature_c) && known(temp_mean)) bins[2] = anomaly_bin(hw.temperature_c - temp_mean);
    return bins;
  }
  // The product of the learned weather factors at hour t (1 before they are learned).
  double weather_multiplier(std::int64_t t) const {
    if (!weather_learned_ || t < base_from_ || t >= limit_ + 24) return 1.0;
    const auto bins = weather_bins(t, base_temp_[static_cast<std::size_t>(t - base_from_)]);
    double m = 1.0;
    for (std::size_t k = 0; k < n_features; ++k)
      if (bins[k] >= 0) m *= weather_factor_[k][static_cast<std::size_t>(bins[k])];
    return m;
  }
  hour_weather weather(std::int64_t t) const { return w_ != nullptr && t < limit_ + 24 ? w_->at(t) : hour_weather{}; }

  // The weather factors, learned on the known hours of ordinary days before the target day as
  // shrunk ratios of actual to the weather-free forecast, one feature at a time given the others'
  // factors (two rounds of backfitting).
  void learn_weather() {
    struct sample {
      double a, b;
      std::array<int, n_features> bins;
    };
    std::vector<sample> samples;
    samples.reserve(static_cast<std::size_t>(day_ - learn_from_day_) * 24);
    for (std::int64_t d = learn_from_day_; d < day_; ++d) {
      if (!s_.ordinary(d)) continue;
      for (int hod = 0; hod < 24; ++hod) {
        const std::int64_t t = d * 24 + hod;
        const double a = at(t);
        const double b = base(t) * level_of(d);
        if (!known(a) || !known(b)) continue;
        const auto bins = weather_bins(t, base_temp_[static_cast<std::size_t>(t - base_from_)]);
        if (bins == std::array<int, n_features>{-1, -1, -1}) continue;
        samples.push_back({a, b, bins});
      }
    }
    for (auto& f : weather_factor_) f.fill(1.0);
    for (int round = 0; round < 2; ++round) {
      for (int k = 0; k < n_features; ++k) {
        std::array<ratio_sum, max_bins> sums{};
        const auto ku = static_cast<std::size_t>(k);
        for (const auto& sm : samples) {
          if (sm.bins[ku] < 0) continue;
          double e = sm.b;
          for (int j = 0; j < n_features; ++j) {
            const auto ju = static_cast<std::size_t>(j);
            if (j != k && sm.bins[ju] >= 0) e *= weather_factor_[ju][static_cast<std::size_t>(sm.bins[ju])];
          }
          sums[static_cast<std::size_t>(sm.bins[ku])].add(sm.a, e);
        }
        for (int i = 0; i < feature_bins[ku]; ++i)
          weather_factor_[ku][static_cast<std::size_t>(i)] = sums[static_cast<std::size_t>(i)].factor(p_.prior_hours);
      }
    }
    weather_learned_ = !samples.empty();
  }

  const hourly_series& h_;
  const special_days& s_;
  const weather_series* w_;
  const forecast_params& p_;
  std::int64_t day_, limit_;
  std::int64_t learn_from_day_ = 0, base_from_ = 0;
  std::vector<double> base_, base_temp_;  // profile (and its mean temperature) per hour from base_from_
  std::vector<double> level_;             // level per day from learn_from_day_ to day_
  std::array<double, 24> holiday_factor_{}, tourist_factor_{};
  std::array<std::array<double, max_bins>, n_features> weather_factor_{};
  bool weather_learned_ = false;
};

}  // namespace

std::int64_t local_hour_of(std::int64_t epoch_s, std::int64_t utc_offset_s) {
  return floor_div(epoch_s + utc_offset_s, 3600);
}

std::int64_t day_of_date(int year, int month, int day) { return domain::days_from_civil(year, month, day); }

int weekday_of_day(std::int64_t day) {
  // 1970-01-01 was a Thursday (3 with Monday = 0)
  return static_cast<int>(((day + 3) % 7 + 7) % 7);
}

hourly_series densify(const std::vector<hourly_count>& counts, std::int64_t from_hour, std::int64_t to_hour,
                      double absent) {
  hourly_series s;
  s.first_hour = from_hour;
  if (to_hour <= from_hour) return s;
  s.counts.assign(static_cast<std::size_t>(to_hour - from_hour), unknown);
  std::vector<bool> seen(s.counts.size(), false);
  for (const auto& c : counts) {
    if (c.local_hour < from_hour || c.local_hour >= to_hour) continue;
    const auto i = static_cast<std::size_t>(c.local_hour - from_hour);
    s.counts[i] = seen[i] ? s.counts[i] + c.count : c.count;
    seen[i] = true;
  }
  for (std::size_t i = 0; i < s.counts.size(); ++i)
    if (!seen[i]) s.counts[i] = absent;
  return s;
}

std::optional<const char*> validate(const forecast_params& p) {
  if (p.profile_weeks < 1 || p.profile_weeks > 52) return "profile_weeks must be 1-52";
  if (p.level_days < 0 || p.level_days > 56) return "level_days must be 0-56";
  if (!(p.min_level > 0) || !(p.max_level >= p.min_level)) return "need 0 < min_level <= max_level";
  if (p.min_special_days < 1) return "min_special_days must be >= 1";
  if (!(p.prior_days >= 0) || !(p.prior_hours >= 0)) return "priors must be >= 0";
  if (p.learn_days < 7 || p.learn_days > 3650) return "learn_days must be 7-3650";
  return std::nullopt;
}

day_forecast forecast_day(const hourly_series& history, std::int64_t day, const calendar& cal,
                          const weather_series* weather, const forecast_params& p) {
  const special_days s(cal);
  return origin(history, day, s, weather, p).run();
}

std::vector<day_forecast> forecast_days(const hourly_series& history, std::int64_t first_day, int n_days,
                                        const calendar& cal, const weather_series* weather,
                                        const forecast_params& p) {
  const special_days s(cal);
  std::vector<day_forecast> out;
  out.reserve(static_cast<std::size_t>(std::max(0, n_days)));
  for (int i = 0; i < n_days; ++i) out.push_back(origin(history, first_day + i, s, weather, p).run());
  return out;
}

std::array<double, 24> seasonal_naive(const hourly_series& history, std::int64_t day, int max_weeks) {
  std::array<double, 24> out;
  for (int hod = 0; hod < 24; ++hod) {
    double v = unknown;
    for (int k = 1; k <= std::max(1, max_weeks) && !known(v); ++k) v = history.at(day * 24 + hod - k * week_h);
    out[static_cast<std::size_t>(hod)] = v;
  }
  return out;
}

void accuracy_meter::add(double actual, double forecast) {
  if (!known(actual) || !known(forecast)) return;
  const double err = std::abs(actual - forecast);
  abs_err_ += err;
  abs_act_ += std::abs(actual);
  ++n_;
  if (actual != 0) {
    ape_sum_ += err / std::abs(actual);
    ++n_nonzero_;
  }
}

accuracy accuracy_meter::result() const {
  accuracy a;
  a.hours = n_;
  a.nonzero_hours = n_nonzero_;
  if (n_nonzero_ > 0) a.mape_pct = 100.0 * ape_sum_ / static_cast<double>(n_nonzero_);
  if (abs_act_ > 0) a.wape_pct = 100.0 * abs_err_ / abs_act_;
  return a;
}

}  // namespace maeul::transit
