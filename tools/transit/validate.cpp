// maeul_forecast_validate: the demand forecaster (transit/forecast.hpp) on the Seoul bike-sharing
// hourly rentals (docs/transit.md, "Demand forecast"). Holds out the last 8 weeks, forecasts each
// held-out day from the data strictly before it (rolling origin, daily), and prints a Markdown
// table of MAPE and WAPE for the model with and without weather and for the seasonal-naive
// baseline. Run by scripts/transit-validate; a validation, not a test.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "maeul/transit/forecast.hpp"

namespace {

namespace t = maeul::transit;

struct options {
  std::string data = "../shared/data/seoul-bike/SeoulBikeData.csv";
  int holdout_days = 56;
  int skip_last = 0;  // end the evaluated window this many days before the data's end (for tuning)
  t::forecast_params params;
  bool per_week = false;
  bool dump = false;  // every scored hour as CSV instead of the tables
  bool no_holidays = false;  // forecast as if the calendar had no holidays (an ablation)
};

struct dataset {
  t::hourly_series rentals;  // NaN where Functioning Day = No
  t::weather_series weather;
  t::calendar cal;
  std::int64_t first_day = 0, days = 0;
  int off_hours = 0;  // Functioning Day = No
};

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> f;
  std::string cur;
  for (char c : line) {
    if (c == ',') {
      f.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  f.push_back(cur);
  return f;
}

// Reads SeoulBikeData.csv: Date (d/m/yyyy), Rented Bike Count, Hour, Temperature(C), Humidity,
// Wind, Visibility, Dew point, Solar, Rainfall(mm), Snowfall (cm), Seasons, Holiday, Functioning Day.
// Throws std::runtime_error on a malformed row or a gap in the hours.
dataset load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::string line;
  std::getline(in, line);  // header
  dataset ds;
  std::int64_t expect = -1;
  int row = 1;
  while (std::getline(in, line)) {
    ++row;
    if (line.empty() || line == "\r") continue;
    const auto f = split(line);
    if (f.size() < 14) throw std::runtime_error("row " + std::to_string(row) + ": " + std::to_string(f.size()) + " fields");
    int d = 0, m = 0, y = 0;
    if (std::sscanf(f[0].c_str(), "%d/%d/%d", &d, &m, &y) != 3) throw std::runtime_error("row " + std::to_string(row) + ": date " + f[0]);
    const std::int64_t day = t::day_of_date(y, m, d);
    const std::int64_t hour = day * 24 + std::stoi(f[2]);
    if (expect < 0) {
      ds.rentals.first_hour = ds.weather.first_hour = hour;
      ds.first_day = day;
    } else if (hour != expect) {
      throw std::runtime_error("row " + std::to_string(row) + ": hour out of sequence");
    }
    expect = hour + 1;
    const bool functioning = f[13] == "Yes";
    ds.rentals.counts.push_back(functioning ? std::stod(f[1]) : t::unknown);
    if (!functioning) ++ds.off_hours;
    t::hour_weather w;
    w.temperature_c = std::stod(f[3]);
    w.humidity_pct = std::stod(f[4]);
    w.rain_mm = std::stod(f[9]);
    w.snow_cm = std::stod(f[10]);
    ds.weather.hours.push_back(w);
    if (f[12] == "Holiday" && (ds.cal.holidays.empty() || ds.cal.holidays.back() != day)) ds.cal.holidays.push_back(day);
  }
  ds.days = static_cast<std::int64_t>(ds.rentals.counts.size()) / 24;
  if (ds.days * 24 != static_cast<std::int64_t>(ds.rentals.counts.size())) throw std::runtime_error("not whole days");
  return ds;
}

std::string date_of(std::int64_t day) {
  // inverse of day_of_date by search from 1970 (small ranges only)
  int y = 1970 + static_cast<int>(day / 366);
  while (t::day_of_date(y + 1, 1, 1) <= day) ++y;
  int m = 1;
  while (m < 12 && t::day_of_date(y, m + 1, 1) <= day) ++m;
  const int d = static_cast<int>(day - t::day_of_date(y, m, 1)) + 1;
  char b[40];
  std::snprintf(b, sizeof b, "%04d-%02d-%02d", y, m, d);
  return b;
}

std::string pct(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f %%", v);
  return b;
}

void usage() {
  std::fprintf(stderr,
               "usage: maeul_forecast_validate [--data FILE] [--holdout-days N] [--skip-last N] [--weeks N] [--level-days N]\n"
               "                               [--prior-hours X] [--per-week] [--dump] [--no-holidays]\n");
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--data") o.data = next();
    else if (a == "--holdout-days") o.holdout_days = std::stoi(next());
    else if (a == "--skip-last") o.skip_last = std::stoi(next());
    else if (a == "--weeks") o.params.profile_weeks = std::stoi(next());
    else if (a == "--level-days") o.params.level_days = std::stoi(next());
    else if (a == "--prior-hours") o.params.prior_hours = std::stod(next());
    else if (a == "--per-week") o.per_week = true;
    else if (a == "--dump") o.dump = true;
    else if (a == "--no-holidays") o.no_holidays = true;
    else {
      usage();
      return 2;
    }
  }
  if (auto e = t::validate(o.params)) {
    std::fprintf(stderr, "error: %s\n", *e);
    return 2;
  }
  dataset ds;
  try {
    ds = load(o.data);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  if (o.no_holidays) ds.cal.holidays.clear();
  const std::int64_t first = ds.first_day + ds.days - o.skip_last - o.holdout_days;
  if (o.holdout_days < 1 || o.skip_last < 0 || first <= ds.first_day + 28) {
    std::fprintf(stderr, "error: holdout too long for %lld days of data\n", static_cast<long long>(ds.days));
    return 2;
  }

  t::forecast_params with_w = o.params, without_w = o.params;
  with_w.use_weather = true;
  without_w.use_weather = false;
  const auto fw = t::forecast_days(ds.rentals, first, o.holdout_days, ds.cal, &ds.weather, with_w);
  const auto fn = t::forecast_days(ds.rentals, first, o.holdout_days, ds.cal, nullptr, without_w);
  t::forecast_params median_only = without_w;
  median_only.level_days = 0;
  const auto fm = t::forecast_days(ds.rentals, first, o.holdout_days, ds.cal, nullptr, median_only);

  // Scored: every held-out hour with service (Functioning Day = Yes) where all forecasts exist.
  t::accuracy_meter m_w, m_n, m_m, m_naive, m_naive_strict;
  std::vector<t::accuracy_meter> wk_w(static_cast<std::size_t>((o.holdout_days + 6) / 7)),
      wk_naive(wk_w.size());
  int off_in_holdout = 0, naive_fallback = 0, holiday_days = 0;
  if (o.dump) std::printf("date,hour,actual,model_weather,model_no_weather,seasonal_naive,temperature_c,rain_mm\n");
  for (int i = 0; i < o.holdout_days; ++i) {
    const std::int64_t day = first + i;
    const auto naive = t::seasonal_naive(ds.rentals, day, 4);
    const auto strict = t::seasonal_naive(ds.rentals, day, 1);
    bool scored_today = false;
    for (int h = 0; h < 24; ++h) {
      const double a = ds.rentals.at(day * 24 + h);
      const auto hi = static_cast<std::size_t>(h);
      if (std::isnan(a)) {
        ++off_in_holdout;
        continue;
      }
      const double w = fw[static_cast<std::size_t>(i)].counts[hi], n = fn[static_cast<std::size_t>(i)].counts[hi],
                   md = fm[static_cast<std::size_t>(i)].counts[hi];
      if (std::isnan(w) || std::isnan(n) || std::isnan(md) || std::isnan(naive[hi])) continue;
      if (!scored_today && fw[static_cast<std::size_t>(i)].holiday) ++holiday_days;
      scored_today = true;
      if (std::isnan(strict[hi])) ++naive_fallback;
      if (o.dump) {
        const auto wx = ds.weather.at(day * 24 + h);
        std::printf("%s,%d,%.0f,%.1f,%.1f,%.0f,%.1f,%.1f\n", date_of(day).c_str(), h, a, w, n, naive[hi], wx.temperature_c,
                    wx.rain_mm);
      }
      m_w.add(a, w);
      m_n.add(a, n);
      m_m.add(a, md);
      m_naive.add(a, naive[hi]);
      m_naive_strict.add(a, strict[hi]);
      wk_w[static_cast<std::size_t>(i / 7)].add(a, w);
      wk_naive[static_cast<std::size_t>(i / 7)].add(a, naive[hi]);
    }
  }

  if (o.dump) return 0;
  const auto rw = m_w.result(), rn = m_n.result(), rm = m_m.result(), rb = m_naive.result(), rs = m_naive_strict.result();
  std::printf("Seoul bike rentals, %s .. %s evaluated (%d days), forecast daily from the data before each day.\n\n",
              date_of(first).c_str(), date_of(first + o.holdout_days - 1).c_str(), o.holdout_days);
  std::printf("| forecast | MAPE | WAPE | hours scored |\n|---|---:|---:|---:|\n");
  std::printf("| model, with weather (the day's observed weather as its forecast) | %s | %s | %zu |\n",
              pct(rw.mape_pct).c_str(), pct(rw.wape_pct).c_str(), rw.hours);
  std::printf("| model, without weather | %s | %s | %zu |\n", pct(rn.mape_pct).c_str(), pct(rn.wape_pct).c_str(), rn.hours);
  std::printf("| hour-of-week median alone (no level, no weather) | %s | %s | %zu |\n", pct(rm.mape_pct).c_str(),
              pct(rm.wape_pct).c_str(), rm.hours);
  std::printf("| seasonal naive (same hour last week) | %s | %s | %zu |\n", pct(rb.mape_pct).c_str(),
              pct(rb.wape_pct).c_str(), rb.hours);
  std::printf("\nMAPE over the %zu scored hours with nonzero rentals; WAPE over all %zu. Not scored: %d held-out hours "
              "without service (Functioning Day = No; also unknown in the history). Where last week's hour had no service "
              "(%d scored hours), the baseline takes the same hour 2-4 weeks back; scored on its own hours without that "
              "fallback it has MAPE %s, WAPE %s over %zu hours. Scored holidays: %d. Model: %d profile "
              "weeks, %d level days, weather prior %.0f hours.\n",
              rw.nonzero_hours, rw.hours, off_in_holdout, naive_fallback, pct(rs.mape_pct).c_str(),
              pct(rs.wape_pct).c_str(), rs.hours, holiday_days, o.params.profile_weeks, o.params.level_days,
              o.params.prior_hours);
  if (o.per_week) {
    std::printf("\n| week from | model with weather WAPE | naive WAPE |\n|---|---:|---:|\n");
    for (std::size_t k = 0; k < wk_w.size(); ++k)
      std::printf("| %s | %s | %s |\n", date_of(first + 7 * static_cast<std::int64_t>(k)).c_str(),
                  pct(wk_w[k].result().wape_pct).c_str(), pct(wk_naive[k].result().wape_pct).c_str());
  }
  return 0;
}
