// The recommended plan (transit/plan.hpp): link loads from forecast boardings, a headway per period
// from the capacity, wait and vehicle bounds, and GTFS frequencies.txt.
#include "maeul/transit/plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>

namespace maeul::transit {

namespace {

constexpr double eps = 1e-9;

double value(double v) { return std::isnan(v) ? 0.0 : v; }

// The largest allowed headway <= limit; nullopt when none is.
std::optional<double> grid_floor(const std::vector<double>& grid, double limit) {
  if (grid.empty()) {
    const double m = std::floor(limit + eps);
    return m >= 1 ? std::optional<double>(m) : std::nullopt;
  }
  std::optional<double> best;
  for (double g : grid)
    if (g <= limit + eps) best = g;
  return best;
}

// The smallest allowed headway >= limit; the limit itself when none is.
double grid_ceil(const std::vector<double>& grid, double limit) {
  if (grid.empty()) return std::max(1.0, std::ceil(limit - eps));
  for (double g : grid)
    if (g + eps >= limit) return g;
  return limit;
}

struct headway_choice {
  double minutes;
  const char* bound;
};

headway_choice choose(double design_load, const plan_params& p) {
  const double inf = std::numeric_limits<double>::infinity();
  const double h_cap = design_load > 0 ? 60.0 * p.vehicle_capacity * p.target_load_factor / design_load : inf;
  const double h_wait = 2.0 * p.max_wait_min;
  headway_choice c{0, h_cap < h_wait ? "capacity" : "wait"};
  const auto f = grid_floor(p.headway_grid, std::min(h_cap, h_wait));
  if (!f || *f + eps < p.min_headway_min) {
    c.minutes = grid_ceil(p.headway_grid, p.min_headway_min);
    c.bound = "min_headway";
  } else {
    c.minutes = *f;
  }
  if (p.vehicles > 0 && p.cycle_min > 0) {
    const double h_veh = p.cycle_min / p.vehicles;
    if (c.minutes + eps < h_veh) {
      c.minutes = grid_ceil(p.headway_grid, h_veh);
      c.bound = "vehicles";
    }
  }
  return c;
}

void check_periods(const std::vector<period>& periods) {
  int last_end = 0;
  for (const auto& pr : periods) {
    if (pr.start_hour < 0 || pr.end_hour > 24 || pr.start_hour >= pr.end_hour)
      throw std::invalid_argument("period '" + pr.name + "' must have 0 <= start < end <= 24");
    if (pr.start_hour < last_end) throw std::invalid_argument("periods must be sorted and must not overlap");
    last_end = pr.end_hour;
  }
}

period_plan plan_hours(const std::vector<stop_demand>& stops, const std::vector<std::array<double, 24>>& loads,
                       const std::string& name, int from, int to, const plan_params& p) {
  period_plan r;
  r.name = name;
  r.start_hour = from;
  r.end_hour = to;
  r.busiest_hour = from;
  for (int h = from; h < to; ++h) {
    const auto hi = static_cast<std::size_t>(h);
    for (std::size_t k = 0; k < stops.size(); ++k) {
      r.boardings += value(stops[k].boardings[hi]);
      if (loads[k][hi] > r.design_load_per_h) {
        r.design_load_per_h = loads[k][hi];
        r.busiest_stop = stops[k].stop_id;
        r.busiest_hour = h;
      }
    }
  }
  const auto c = choose(r.design_load_per_h, p);
  r.headway_min = c.minutes;
  r.bound = c.bound;
  r.expected_load = r.design_load_per_h * r.headway_min / 60.0;
  r.load_factor = r.expected_load / p.vehicle_capacity;
  r.avg_wait_min = r.headway_min / 2.0;
  r.vehicles_needed = p.cycle_min > 0 ? static_cast<int>(std::ceil(p.cycle_min / r.headway_min - eps)) : 0;
  r.capacity_met = r.expected_load <= p.vehicle_capacity * p.target_load_factor * (1 + eps) + eps;
  r.wait_met = r.avg_wait_min <= p.max_wait_min + eps;
  return r;
}

}  // namespace

std::optional<std::string> validate(const plan_params& p) {
  if (!(p.vehicle_capacity > 0)) return "vehicle_capacity must be > 0";
  if (!(p.target_load_factor > 0 && p.target_load_factor <= 1.5)) return "target_load_factor must be in (0, 1.5]";
  if (!(p.max_wait_min > 0)) return "max_wait_min must be > 0";
  if (!(p.min_headway_min > 0)) return "min_headway_min must be > 0";
  if (!(p.min_headway_min <= 2 * p.max_wait_min)) return "min_headway_min must be <= 2 * max_wait_min";
  if (p.vehicles < 0) return "vehicles must be >= 0";
  if (!(p.cycle_min >= 0) || std::isinf(p.cycle_min)) return "cycle_min must be >= 0";
  for (std::size_t i = 0; i < p.headway_grid.size(); ++i) {
    if (!(p.headway_grid[i] > 0) || std::isinf(p.headway_grid[i])) return "headway_grid values must be > 0";
    if (i > 0 && !(p.headway_grid[i] > p.headway_grid[i - 1])) return "headway_grid must be ascending";
  }
  return std::nullopt;
}

std::vector<period> default_periods() {
  return {{"early", 5, 7}, {"am_peak", 7, 9}, {"midday", 9, 17}, {"pm_peak", 17, 19}, {"evening", 19, 24}};
}

std::vector<std::array<double, 24>> link_loads(const std::vector<stop_demand>& stops) {
  const std::size_t n = stops.size();
  std::vector<std::array<double, 24>> loads(n);
  for (auto& l : loads) l.fill(0.0);
  if (n == 0) return loads;
  const std::size_t with_alight = static_cast<std::size_t>(
      std::count_if(stops.begin(), stops.end(), [](const stop_demand& s) { return s.alightings.has_value(); }));
  if (with_alight != 0 && with_alight != n)
    throw std::invalid_argument("alightings must be given for every stop or for none");
  for (std::size_t h = 0; h < 24; ++h) {
    if (with_alight == n) {
      double on = 0;
      for (std::size_t k = 0; k + 1 < n; ++k) {
        on = std::max(0.0, on + value(stops[k].boardings[h]) - value((*stops[k].alightings)[h]));
        loads[k][h] = on;
      }
    } else {
      // load after stop k = (n-1-k) * sum over i <= k of b_i / (n-1-i): uniform alighting at later stops
      double acc = 0;
      for (std::size_t k = 0; k + 1 < n; ++k) {
        acc += value(stops[k].boardings[h]) / static_cast<double>(n - 1 - k);
        loads[k][h] = acc * static_cast<double>(n - 1 - k);
      }
    }
  }
  return loads;
}

std::vector<period_plan> plan_route(const std::vector<stop_demand>& stops, const std::vector<period>& periods_in,
                                    const plan_params& p, bool hourly_merge) {
  if (auto e = validate(p)) throw std::invalid_argument(*e);
  const std::vector<period> periods = periods_in.empty() ? default_periods() : periods_in;
  check_periods(periods);
  const auto loads = link_loads(stops);
  std::vector<period_plan> out;
  for (const auto& pr : periods) {
    if (!hourly_merge) {
      out.push_back(plan_hours(stops, loads, pr.name, pr.start_hour, pr.end_hour, p));
      continue;
    }
    // hours of equal headway merge; the merged run's headway is the same (it is set by the
    // run's largest load, and the headway is monotone in the load)
    int run_from = pr.start_hour;
    double run_h = plan_hours(stops, loads, pr.name, run_from, run_from + 1, p).headway_min;
    for (int h = pr.start_hour + 1; h <= pr.end_hour; ++h) {
      const double hh = h < pr.end_hour ? plan_hours(stops, loads, pr.name, h, h + 1, p).headway_min : -1;
      if (hh != run_h) {
        out.push_back(plan_hours(stops, loads, pr.name, run_from, h, p));
        run_from = h;
        run_h = hh;
      }
    }
  }
  return out;
}

std::vector<frequency_row> frequencies_of(const std::vector<period_plan>& plan, const std::string& trip_id) {
  std::vector<frequency_row> rows;
  rows.reserve(plan.size());
  for (const auto& pp : plan)
    rows.push_back({trip_id, pp.start_hour * 3600LL, pp.end_hour * 3600LL, std::llround(pp.headway_min * 60.0), false});
  return rows;
}

std::string gtfs_time(std::int64_t s) {
  if (s < 0) s = 0;
  char b[32];
  std::snprintf(b, sizeof b, "%02lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return b;
}

std::string frequencies_txt(const std::vector<frequency_row>& rows) {
  std::string out = "trip_id,start_time,end_time,headway_secs,exact_times\n";
  for (const auto& r : rows) {
    if (r.trip_id.find_first_of(",\"\r\n") != std::string::npos) {
      out += '"';
      for (char c : r.trip_id) {
        if (c == '"') out += '"';
        out += c;
      }
      out += '"';
    } else {
      out += r.trip_id;
    }
    out += ',' + gtfs_time(r.start_s) + ',' + gtfs_time(r.end_s) + ',' + std::to_string(r.headway_s) + ',' +
           (r.exact_times ? "1" : "0") + '\n';
  }
  return out;
}

}  // namespace maeul::transit
