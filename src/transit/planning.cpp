// The pure pieces of the live forecast and plan: dates, the main pattern of each direction, the
// timetable's headways per period, its cycle time, and the forecast and plan of a route from its
// inputs (include/maeul/transit/planning.hpp).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "maeul/domain/civil_date.hpp"
#include "maeul/transit/metrics.hpp"
#include "maeul/transit/planning.hpp"

namespace maeul::transit {

std::string format_date(std::int64_t day) { return domain::format_civil_date(day); }

std::optional<std::int64_t> parse_date(const std::string& text) { return domain::parse_civil_date(text); }

std::vector<storage::transit_pattern> main_patterns(const std::vector<storage::transit_pattern>& all,
                                                    const std::string& route) {
  std::map<int, const storage::transit_pattern*> best;
  for (const auto& p : all) {
    if (p.route_id != route) continue;
    auto& b = best[p.direction];
    if (!b || p.trip_ids.size() > b->trip_ids.size() ||
        (p.trip_ids.size() == b->trip_ids.size() &&
         (p.stop_ids.size() > b->stop_ids.size() || (p.stop_ids.size() == b->stop_ids.size() && p.key < b->key))))
      b = &p;
  }
  std::vector<storage::transit_pattern> out;
  for (const auto& [_, p] : best) out.push_back(*p);
  return out;
}

std::optional<double> mean_headway_min(std::vector<int> departures_s, int start_hour, int end_hour) {
  std::vector<int> in;
  for (int t : departures_s)
    if (t >= start_hour * 3600 && t < end_hour * 3600) in.push_back(t);
  if (in.size() < 2) return std::nullopt;
  std::sort(in.begin(), in.end());
  return (in.back() - in.front()) / 60.0 / double(in.size() - 1);
}

std::vector<int> departures_at(const std::vector<storage::scheduled_visit>& visits,
                               const std::vector<storage::scheduled_frequency>& freqs,
                               const std::vector<std::string>& active, int direction,
                               const std::string& first_stop) {
  std::set<std::string> on(active.begin(), active.end());
  // On a loop the first stop is also the last: a trip's arrival at its end is no departure. So only
  // each trip's earliest time at the stop counts (for frequency-based trips, its smallest offset).
  std::map<std::string, int> first_time, first_offset;
  for (const auto& v : visits)
    if (v.direction == direction && v.stop_id == first_stop && on.count(v.service_id)) {
      auto [it, fresh] = first_time.try_emplace(v.trip_id, v.time_s);
      if (!fresh) it->second = std::min(it->second, v.time_s);
    }
  for (const auto& f : freqs)
    if (f.direction == direction && f.stop_id == first_stop && on.count(f.service_id)) {
      auto [it, fresh] = first_offset.try_emplace(f.trip_id, f.offset_s);
      if (!fresh) it->second = std::min(it->second, f.offset_s);
    }
  std::vector<int> timetabled;
  for (const auto& [_, t] : first_time) timetabled.push_back(t);
  std::vector<frequency_window> windows;
  std::set<std::tuple<std::string, int, int>> seen;  // (trip, start, end): one window per frequency row
  for (const auto& f : freqs)
    if (f.direction == direction && f.stop_id == first_stop && on.count(f.service_id) &&
        f.offset_s == first_offset[f.trip_id] && seen.insert({f.trip_id, f.start_s, f.end_s}).second)
      windows.push_back({f.start_s, f.end_s, f.headway_s, f.offset_s});
  return scheduled_times(std::move(timetabled), windows);
}

double cycle_minutes(const std::vector<storage::scheduled_visit>& visits,
                     const std::vector<storage::scheduled_frequency>& freqs, const std::vector<int>& directions,
                     double layover_min) {
  std::map<std::string, std::pair<int, int>> span;  // trip -> (first, last) time
  std::map<std::string, int> dir_of;
  for (const auto& v : visits) {
    auto [it, fresh] = span.try_emplace(v.trip_id, v.time_s, v.time_s);
    if (!fresh) {
      it->second.first = std::min(it->second.first, v.time_s);
      it->second.second = std::max(it->second.second, v.time_s);
    }
    dir_of[v.trip_id] = v.direction;
  }
  std::map<std::string, int> freq_run;
  for (const auto& f : freqs) {
    freq_run[f.trip_id] = std::max(freq_run[f.trip_id], f.offset_s);
    dir_of[f.trip_id] = f.direction;
  }
  std::map<int, std::vector<int>> runs;
  for (const auto& [trip, s] : span) runs[dir_of[trip]].push_back(s.second - s.first);
  for (const auto& [trip, r] : freq_run) runs[dir_of[trip]].push_back(r);
  double total = 0;
  bool any = false;
  for (int d : directions) {
    auto& r = runs[d];
    if (r.empty()) continue;
    std::sort(r.begin(), r.end());
    total += r[r.size() / 2] / 60.0 + layover_min;
    any = true;
  }
  return any ? total : 0;
}

bool holds(const std::vector<std::int64_t>& days, std::int64_t day) {
  return std::find(days.begin(), days.end(), day) != days.end();
}

std::shared_ptr<const route_plan> compute_plan(const plan_inputs& in, const planning_options& o) {
  auto out = std::make_shared<route_plan>();
  auto& dem = out->demand;
  dem.route = in.route;
  dem.day = in.day;
  dem.date = format_date(in.day);
  if (in.with_plan) dem.timetable_date = format_date(in.timetable_day);
  dem.holiday = holds(o.cal.holidays, in.day);
  dem.tourist_peak = holds(o.cal.tourist_peaks, in.day);

  // One forecast per stop, whatever directions serve it.
  struct one {
    std::array<double, 24> counts{};
    int weeks = 0, hours = 0;
  };
  std::map<std::string, one> by_stop;
  const std::int64_t first_hour = (in.day - o.history_days) * 24, end_hour = in.day * 24;
  std::map<std::string, int> served_by;  // stop -> directions in which riders can board there
  for (const auto& p : in.patterns)
    for (std::size_t i = 0; i + 1 < p.stop_ids.size(); ++i) served_by[p.stop_ids[i]]++;
  for (const auto& p : in.patterns) {
    for (const auto& s : p.stop_ids) {
      if (by_stop.count(s)) continue;
      one f;
      auto it = in.counts.find(s);
      if (it == in.counts.end() || it->second.empty()) {
        f.counts.fill(unknown);
      } else {
        // A missing hour is unknown, not zero: a counter that did not report says nothing.
        auto series = densify(it->second, first_hour, end_hour, unknown);
        auto fc = forecast_day(series, in.day, o.cal, nullptr, o.forecast);
        f.counts = fc.counts;
        f.weeks = fc.profile_weeks_found;
        f.hours = int(it->second.size());
      }
      by_stop[s] = f;
    }
  }

  std::vector<int> dirs;
  for (const auto& p : in.patterns) dirs.push_back(p.direction);
  if (in.with_plan) out->cycle_min = cycle_minutes(in.visits, in.freqs, dirs, o.layover_min);
  plan_params pp = o.plan;
  pp.cycle_min = out->cycle_min;

  // The service of each trip of the route (timetabled or frequency-based), for the template trip.
  std::map<std::string, std::string> service_of;
  for (const auto& v : in.visits) service_of.emplace(v.trip_id, v.service_id);
  for (const auto& f : in.freqs) service_of.emplace(f.trip_id, f.service_id);
  const std::set<std::string> on_day(in.active_on_day.begin(), in.active_on_day.end());

  std::set<std::string> with_history, all_stops;
  for (const auto& p : in.patterns) {
    direction_demand dd;
    dd.direction = p.direction;
    dd.pattern = p.key;
    // The template trip: the pattern's first trip whose service runs on the day; none: "".
    if (in.with_plan)
      for (const auto& t : p.trip_ids)
        if (auto it = service_of.find(t); it != service_of.end() && on_day.count(it->second)) {
          dd.template_trip = t;
          break;
        }
    std::vector<stop_demand> sd;
    bool known = false;
    for (std::size_t i = 0; i < p.stop_ids.size(); ++i) {
      const auto& id = p.stop_ids[i];
      const auto& f = by_stop[id];
      stop_forecast sf;
      sf.stop_id = id;
      if (auto n = in.names.find(id); n != in.names.end()) sf.name = n->second;
      if (auto n = in.sensors.find(id); n != in.sensors.end()) sf.sensor = n->second;
      if (auto n = in.sensor_zones.find(id); n != in.sensor_zones.end()) sf.sensor_zone = n->second;
      sf.weeks_found = f.weeks;
      sf.hours_known = f.hours;
      // The stop's boardings are shared equally among the directions that leave from it; at a
      // direction's last stop nobody boards it.
      const bool last = i + 1 == p.stop_ids.size();
      const int share = served_by[id];
      for (int h = 0; h < 24; ++h) {
        double c = f.counts[std::size_t(h)];
        if (std::isnan(c)) sf.counts[std::size_t(h)] = unknown;
        else sf.counts[std::size_t(h)] = last || share == 0 ? 0 : c / share;
        if (!std::isnan(c)) known = true;
      }
      all_stops.insert(id);
      // A stop counts as known when its forecast is: readings less than a week old forecast nothing.
      for (double c : f.counts)
        if (!std::isnan(c)) with_history.insert(id);
      sd.push_back({id, sf.counts, std::nullopt});
      dd.stops.push_back(std::move(sf));
    }
    dem.directions.push_back(dd);
    if (!in.with_plan) continue;

    direction_plan dp;
    dp.direction = p.direction;
    dp.template_trip = dd.template_trip;
    dp.demand_known = known;
    dp.periods = plan_route(sd, o.periods, pp);
    auto deps = p.stop_ids.empty() ? std::vector<int>{}
                                   : departures_at(in.visits, in.freqs, in.active, p.direction, p.stop_ids.front());
    for (const auto& per : dp.periods) {
      dp.scheduled_headway_min.push_back(mean_headway_min(deps, per.start_hour, per.end_hour));
      int n = 0;
      for (int t : deps) n += t >= per.start_hour * 3600 && t < per.end_hour * 3600;
      dp.scheduled_departures.push_back(n);
    }
    out->directions.push_back(std::move(dp));
  }
  dem.stops_total = int(all_stops.size());
  dem.stops_with_history = int(with_history.size());
  return out;
}


}  // namespace maeul::transit
