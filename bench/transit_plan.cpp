// The plan for one route and day, in process: 40 stops, each with a year of hourly boardings
// (with holidays); each stop's 24 hours forecast (forecast_day), the route planned (plan_route,
// hourly, merged) and written as frequencies.txt. The baseline, in the same run: the seasonal-naive
// forecast (same hour last week) of the same stops, the cheapest forecast there is. Five runs of
// each, alternated; every run printed. Run by scripts/bench (MAEUL_BENCH_ONLY=transit); not a test.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "maeul/transit/forecast.hpp"
#include "maeul/transit/plan.hpp"

namespace t = maeul::transit;

int main() {
  constexpr int stops = 40;
  const std::int64_t first_day = t::day_of_date(2025, 12, 1), target = first_day + 365;
  std::vector<t::hourly_series> hist(stops);
  for (int s = 0; s < stops; ++s) {
    hist[std::size_t(s)].first_hour = first_day * 24;
    for (std::int64_t h = 0; h < 365 * 24; ++h) {
      const int hod = int(h % 24);
      const double peak = (hod == 8 || hod == 18) ? 3.0 : (hod >= 6 && hod <= 22 ? 1.0 : 0.1);
      hist[std::size_t(s)].counts.push_back(peak * double(10 + (s * 7 + h * 13) % 11));
    }
  }
  t::calendar cal;
  cal.holidays = {first_day + 30, first_day + 100, first_day + 200, first_day + 300};
  t::plan_params p;
  p.vehicles = 12;
  p.cycle_min = 90;
  double checksum = 0;
  std::printf("run  baseline_ms  plan_ms\n");
  double worst = 0;
  for (int run = 0; run < 5; ++run) {
    auto b0 = std::chrono::steady_clock::now();
    for (int s = 0; s < stops; ++s)
      for (double v : t::seasonal_naive(hist[std::size_t(s)], target)) checksum += v;
    double base_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - b0).count();
    auto t0 = std::chrono::steady_clock::now();
    std::vector<t::stop_demand> demand(stops);
    for (int s = 0; s < stops; ++s) {
      demand[std::size_t(s)].stop_id = "stop" + std::to_string(s);
      demand[std::size_t(s)].boardings = t::forecast_day(hist[std::size_t(s)], target, cal, nullptr, t::forecast_params{}).counts;
    }
    auto plan = t::plan_route(demand, {}, p, true);
    auto txt = t::frequencies_txt(t::frequencies_of(plan, "trip"));
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    checksum += double(txt.size() + plan.size());
    if (ms > worst) worst = ms;
    std::printf("%d  %.3f  %.1f\n", run + 1, base_ms, ms);
  }
  std::printf("plan_worst_ms=%.1f target_ms=1000 checksum=%.0f\n", worst, checksum);
  return 0;
}
