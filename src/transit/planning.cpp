// The pure pieces of the live forecast and plan: dates, the main pattern of each direction, the
// timetable's headways per period and its cycle time (include/maeul/transit/planning.hpp).
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "maeul/transit/metrics.hpp"
#include "maeul/transit/planning.hpp"

namespace maeul::transit {

std::string format_date(std::int64_t day) {
  // civil date of days since 1970-01-01 (proleptic Gregorian)
  const std::int64_t z = day + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  const std::int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02d", static_cast<long long>(y), m, d);
  return buf;
}

std::optional<std::int64_t> parse_date(const std::string& text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  const int y = std::stoi(text.substr(0, 4)), m = std::stoi(text.substr(5, 2)), d = std::stoi(text.substr(8, 2));
  if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
  const std::int64_t day = day_of_date(y, m, d);
  if (format_date(day) != text) return std::nullopt;  // 2026-02-30 and the like
  return day;
}

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

}  // namespace maeul::transit
