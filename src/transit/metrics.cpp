// Operations metrics (transit/metrics.hpp).
#include "maeul/transit/metrics.hpp"

#include <algorithm>
#include <cmath>

namespace maeul::transit {

std::vector<double> headways_s(const std::vector<std::int64_t>& t) {
  std::vector<double> out;
  for (std::size_t i = 1; i < t.size(); ++i) out.push_back(double(t[i] - t[i - 1]) / 1e6);
  return out;
}

namespace {
constexpr double max_headway_s = 7200;  // longer: a break in service (as the KPIs, kpi_store.cpp)
}

std::vector<double> observed_headways_s(const std::vector<std::int64_t>& t) {
  std::vector<double> out;
  for (double h : headways_s(t))
    if (h > 0 && h <= max_headway_s) out.push_back(h);
  return out;
}

std::vector<double> comparable_scheduled_headways_s(const std::vector<std::int64_t>& arrivals_us,
                                                    const std::vector<std::int64_t>& scheduled_us) {
  // the observed spans (start, end), sorted by end as the arrivals are
  std::vector<std::pair<std::int64_t, std::int64_t>> spans;
  for (std::size_t i = 1; i < arrivals_us.size(); ++i) {
    double h = double(arrivals_us[i] - arrivals_us[i - 1]) / 1e6;
    if (h > 0 && h <= max_headway_s) spans.emplace_back(arrivals_us[i - 1], arrivals_us[i]);
  }
  std::vector<double> out;
  for (std::size_t i = 1; i < scheduled_us.size(); ++i) {
    std::int64_t a = scheduled_us[i - 1], b = scheduled_us[i];
    double h = double(b - a) / 1e6;
    if (h <= 0 || h > max_headway_s) continue;
    // overlaps a span: the first span ending after a starts before b
    auto it = std::upper_bound(spans.begin(), spans.end(), a, [](std::int64_t x, const auto& sp) { return x < sp.second; });
    if (it != spans.end() && it->first < b) out.push_back(h);
  }
  return out;
}

std::optional<double> average_wait_s(const std::vector<double>& h) {
  double sum = 0, sq = 0;
  for (double x : h) {
    sum += x;
    sq += x * x;
  }
  if (sum <= 0) return std::nullopt;
  return sq / (2 * sum);
}

std::optional<double> coefficient_of_variation(const std::vector<double>& h) {
  if (h.size() < 2) return std::nullopt;
  double mean = 0;
  for (double x : h) mean += x;
  mean /= double(h.size());
  if (mean <= 0) return std::nullopt;
  double var = 0;
  for (double x : h) var += (x - mean) * (x - mean);
  var /= double(h.size());
  return std::sqrt(var) / mean;
}

bool is_bunched(double headway_s, double scheduled_s, double ratio) {
  return scheduled_s > 0 && headway_s < ratio * scheduled_s;
}

double hold_minutes(double headway_s, double scheduled_s) {
  return headway_s >= scheduled_s ? 0 : (scheduled_s - headway_s) / 60;
}

std::vector<int> scheduled_times(std::vector<int> times, const std::vector<frequency_window>& windows) {
  for (const auto& w : windows)
    if (w.headway_s > 0)
      for (int t = w.start_s; t < w.end_s; t += w.headway_s) times.push_back(t + w.offset_s);
  std::sort(times.begin(), times.end());
  return times;
}

std::optional<double> scheduled_headway_at(const std::vector<int>& times, double t) {
  if (times.size() < 2) return std::nullopt;
  // The visit the arrival stands for: the scheduled time nearest to t.
  auto it = std::lower_bound(times.begin(), times.end(), t, [](int a, double b) { return a < b; });
  if (it == times.end() || (it != times.begin() && t - *(it - 1) <= *it - t)) --it;
  // Its headway: the gap back to the previous distinct scheduled time; for the first visit after a
  // break in service (or the first one known) the gap on to the next one.
  auto first = it, last = it;
  while (first != times.begin() && *(first - 1) == *it) --first;
  while (last + 1 != times.end() && *(last + 1) == *it) ++last;
  std::optional<double> gap;
  if (first != times.begin() && *it - *(first - 1) <= max_headway_s) gap = double(*it - *(first - 1));
  else if (last + 1 != times.end() && *(last + 1) - *it <= max_headway_s) gap = double(*(last + 1) - *it);
  // An arrival further from that visit than the headway itself stands for no visit (far off the
  // timetable, or in the night's gap): nothing to judge it by.
  if (!gap || std::abs(t - *it) > *gap) return std::nullopt;
  return gap;
}

}  // namespace maeul::transit

namespace maeul::transit {

performance route_performance(const std::vector<stop_series>& stops, double ratio) {
  performance out;
  std::vector<double> all_obs, all_sched, normalized;
  int on_time = 0, judged = 0;
  for (const auto& s : stops) {
    // The excess wait compares like with like (as the KPI): headways up to 2 h, and of the schedule
    // only the headways overlapping an observed one.
    auto counted = observed_headways_s(s.arrivals_us);
    auto sched = comparable_scheduled_headways_s(s.arrivals_us, s.scheduled_us);
    all_obs.insert(all_obs.end(), counted.begin(), counted.end());
    all_sched.insert(all_sched.end(), sched.begin(), sched.end());
    // The CV: each headway over its stop's mean (stops with two headways or more), as
    // bus_headway_regularity.
    if (counted.size() >= 2) {
      double mean = 0;
      for (double h : counted) mean += h;
      mean /= double(counted.size());
      for (double h : counted) normalized.push_back(h / mean);
    }
    // Bunching: each headway against the scheduled headway in force at its end, in seconds after
    // the first scheduled visit.
    auto obs = headways_s(s.arrivals_us);
    std::vector<int> times;
    for (auto t : s.scheduled_us) times.push_back(int((t - (s.scheduled_us.empty() ? 0 : s.scheduled_us[0])) / 1000000));
    for (std::size_t i = 0; i < obs.size(); ++i) {
      double at = s.scheduled_us.empty() ? -1 : double(s.arrivals_us[i + 1] - s.scheduled_us[0]) / 1e6;
      auto h = s.scheduled_us.empty() ? std::nullopt : scheduled_headway_at(times, at);
      if (h && is_bunched(obs[i], *h, ratio)) ++out.bunching_events;
    }
    for (auto a : s.arrivals_us) {
      if (s.scheduled_us.empty()) break;
      auto it = std::lower_bound(s.scheduled_us.begin(), s.scheduled_us.end(), a);
      std::int64_t best = -1;
      double best_d = 1e300;
      for (auto j : {it, it == s.scheduled_us.begin() ? it : it - 1})
        if (j != s.scheduled_us.end() && std::fabs(double(a - *j)) < best_d) best_d = std::fabs(double(a - *j)), best = *j;
      ++judged;
      double dev = double(a - best) / 1e6;
      if (dev >= -60 && dev <= 300) ++on_time;
    }
  }
  out.headways = int(all_obs.size());
  auto awt = average_wait_s(all_obs), swt = average_wait_s(all_sched);
  if (awt && swt) out.excess_wait_min = (*awt - *swt) / 60;
  out.headway_cv = coefficient_of_variation(normalized);
  if (judged > 0) out.on_time_pct = 100.0 * on_time / judged;
  return out;
}

std::optional<leader> leader_within(const std::vector<vehicle_place>& places, const vehicle_place& follower,
                                    double distance_m, std::int64_t max_age_us) {
  std::optional<leader> best;
  for (std::size_t i = 0; i < places.size(); ++i) {
    const auto& p = places[i];
    if (p.vehicle == follower.vehicle || p.pattern != follower.pattern) continue;
    if (std::llabs(p.ts_us - follower.ts_us) > max_age_us) continue;
    double gap = p.along_m - follower.along_m;
    if (gap < 0 || gap > distance_m || (gap == 0 && !(p.vehicle < follower.vehicle))) continue;
    if (!best || gap < best->gap_m) best = leader{i, gap};
  }
  return best;
}

double gap_seconds(double gap_m, double speed_mps, double fallback_mps) {
  double v = speed_mps >= 1 ? speed_mps : fallback_mps;
  return gap_m / v;
}

}  // namespace maeul::transit
