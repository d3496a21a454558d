// The planning service: reads the route's main patterns, the boardings history of their stops and
// the timetable, then forecasts and plans on its own small thread pool (never on an I/O or DB
// thread), bounded, with a small cache of answers per (route, date, timetable date).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "maeul/transit/planning.hpp"
#include "maeul/transit/service.hpp"

namespace maeul::transit {
namespace asio = boost::asio;

namespace {

std::int64_t steady_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool same_owner(const std::weak_ptr<const void>& a, const std::shared_ptr<const void>& b) {
  return !a.owner_before(b) && !b.owner_before(a) && !a.expired();
}

// Everything a plan is computed from, read before the job is handed to the pool.
struct plan_inputs {
  std::string route;
  std::int64_t day = 0, timetable_day = 0;
  std::vector<storage::transit_pattern> patterns;  // main pattern per direction
  std::map<std::string, std::string> names, sensors;
  std::map<std::string, std::vector<hourly_count>> counts;  // stop -> (local hour, boardings)
  std::vector<storage::scheduled_visit> visits;
  std::vector<storage::scheduled_frequency> freqs;
  std::vector<std::string> active;  // service ids running on the timetable day
};

std::shared_ptr<const route_plan> compute_plan(const plan_inputs& in, const planning_options& o) {
  auto out = std::make_shared<route_plan>();
  auto& dem = out->demand;
  dem.route = in.route;
  dem.day = in.day;
  dem.date = format_date(in.day);
  dem.timetable_date = format_date(in.timetable_day);
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
  out->cycle_min = cycle_minutes(in.visits, in.freqs, dirs, o.layover_min);
  plan_params pp = o.plan;
  pp.cycle_min = out->cycle_min;

  std::set<std::string> with_history, all_stops;
  for (const auto& p : in.patterns) {
    direction_demand dd;
    dd.direction = p.direction;
    dd.pattern = p.key;
    dd.template_trip = p.trip_ids.empty() ? "" : p.trip_ids.front();
    std::vector<stop_demand> sd;
    bool known = false;
    for (std::size_t i = 0; i < p.stop_ids.size(); ++i) {
      const auto& id = p.stop_ids[i];
      const auto& f = by_stop[id];
      stop_forecast sf;
      sf.stop_id = id;
      if (auto n = in.names.find(id); n != in.names.end()) sf.name = n->second;
      if (auto n = in.sensors.find(id); n != in.sensors.end()) sf.sensor = n->second;
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
      if (f.hours > 0) with_history.insert(id);
      sd.push_back({id, sf.counts, std::nullopt});
      dd.stops.push_back(std::move(sf));
    }
    dem.directions.push_back(dd);

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

}  // namespace

planning::planning(service& transit, storage::transit_store& store, storage::transit_demand_store& demand,
                   planning_options o)
    : transit_(transit), store_(store), demand_(demand), opts_(std::move(o)), pool_(std::size_t(std::max(1, opts_.threads))) {}

planning::~planning() { stop(); }

void planning::stop() {
  pool_.stop();
  pool_.join();
}

// Not a coroutine itself (as db_pool::run): bounded, a job past max_queue_ is answered nullopt at once.
template <class R, class F>
task<std::optional<R>> planning::submit(F f) {
  auto init = [this, f = std::move(f)](auto handler) mutable {
    using handler_t = decltype(handler);
    auto shared = std::make_shared<handler_t>(std::move(handler));
    auto ex = asio::get_associated_executor(*shared);
    if (pending_.fetch_add(1) >= opts_.max_queue) {
      pending_.fetch_sub(1);
      overflowed_.fetch_add(1);
      asio::post(ex, [shared]() mutable { (*shared)(nullptr, std::optional<R>{}); });
      return;
    }
    asio::post(pool_, [this, shared, ex, f = std::move(f)]() mutable {
      std::exception_ptr ep;
      std::optional<R> value;
      try {
        value.emplace(f());
      } catch (...) {
        ep = std::current_exception();
      }
      pending_.fetch_sub(1);
      asio::post(ex, [shared, ep, value = std::move(value)]() mutable { (*shared)(ep, std::move(value)); });
    });
  };
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr, std::optional<R>)>(
      std::move(init), asio::use_awaitable);
}

task<std::shared_ptr<const std::vector<storage::transit_pattern>>> planning::patterns() {
  std::shared_ptr<const void> net = transit_.current();
  {
    std::lock_guard lock(mutex_);
    if (patterns_ && net && same_owner(patterns_network_, net)) co_return patterns_;
  }
  auto call = store_.patterns();
  auto all = co_await std::move(call);
  auto p = std::make_shared<const std::vector<storage::transit_pattern>>(std::move(all));
  std::lock_guard lock(mutex_);
  patterns_ = p;
  patterns_network_ = net;
  co_return p;
}

task<std::int64_t> planning::today(std::int64_t now_us) {
  auto call = demand_.local_day(now_us, opts_.timezone);
  co_return co_await std::move(call);
}

task<std::pair<planning_status, std::shared_ptr<const route_plan>>> planning::plan(std::string route, std::int64_t day,
                                                                                   std::int64_t timetable_day) {
  std::shared_ptr<const void> net = transit_.current();
  const std::string key = route + '\n' + std::to_string(day) + '\n' + std::to_string(timetable_day);
  {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      const auto& c = it->second.first;
      if (net && same_owner(c.network, net) && steady_now_s() - c.at_s < opts_.cache_ttl_s)
        co_return std::pair{planning_status::ok, c.plan};
      order_.erase(it->second.second);
      cache_.erase(it);
    }
  }
  auto e_call = store_.route_exists(route);
  if (!co_await std::move(e_call)) co_return std::pair{planning_status::no_route, std::shared_ptr<const route_plan>{}};
  auto p_call = patterns();
  auto pats = co_await std::move(p_call);
  auto c_call = compute(route, day, timetable_day, pats);
  auto res = co_await std::move(c_call);
  if (res.first == planning_status::ok && net) {
    std::lock_guard lock(mutex_);
    if (!cache_.count(key)) {
      while (!order_.empty() && cache_.size() >= opts_.max_cached) {
        cache_.erase(order_.front());
        order_.pop_front();
      }
      order_.push_back(key);
      cache_.emplace(key, std::pair{cached{res.second, steady_now_s(), net}, std::prev(order_.end())});
    }
  }
  co_return res;
}

task<std::pair<planning_status, std::shared_ptr<const route_plan>>> planning::compute(
    std::string route, std::int64_t day, std::int64_t timetable_day,
    std::shared_ptr<const std::vector<storage::transit_pattern>> pats) {
  auto in = std::make_shared<plan_inputs>();
  in->route = route;
  in->day = day;
  in->timetable_day = timetable_day;
  in->patterns = main_patterns(*pats, route);
  std::set<std::string> ids;
  for (const auto& p : in->patterns) ids.insert(p.stop_ids.begin(), p.stop_ids.end());
  std::vector<std::string> stop_ids(ids.begin(), ids.end());
  if (!stop_ids.empty()) {
    auto n_call = demand_.stop_names(stop_ids);
    auto names = co_await std::move(n_call);
    for (auto& [id, name] : names) in->names[id] = name;
    auto s_call = demand_.sensors(stop_ids);
    auto sensors = co_await std::move(s_call);
    for (auto& s : sensors) in->sensors[s.stop_id] = s.sensor_id;
    auto b_call = demand_.boardings(stop_ids, day - opts_.history_days, day, opts_.timezone);
    auto rows = co_await std::move(b_call);
    for (auto& r : rows) in->counts[r.stop_id].push_back({r.local_hour, r.count});
  }
  auto v_call = store_.scheduled_visits(route);
  in->visits = co_await std::move(v_call);
  auto f_call = store_.scheduled_frequencies(route);
  in->freqs = co_await std::move(f_call);
  // The local day lies within 14 h of its UTC namesake whatever the offset.
  const std::int64_t noon_us = (timetable_day * 86400 + 43200) * 1000000LL;
  auto d_call = store_.service_days(noon_us - 3600LL * 1000000, noon_us + 3600LL * 1000000, opts_.timezone);
  auto days = co_await std::move(d_call);
  const std::string tdate = format_date(timetable_day);
  for (const auto& d : days)
    if (d.date == tdate) in->active = d.services;
  auto opts = opts_;
  auto job = [in, opts] { return compute_plan(*in, opts); };
  auto j_call = submit<std::shared_ptr<const route_plan>>(std::move(job));
  auto r = co_await std::move(j_call);
  if (!r) co_return std::pair{planning_status::busy, std::shared_ptr<const route_plan>{}};
  co_return std::pair{planning_status::ok, *r};
}

task<std::pair<planning_status, std::vector<std::shared_ptr<const route_plan>>>> planning::plan_all(
    std::int64_t day, std::int64_t timetable_day) {
  auto p_call = patterns();
  auto pats = co_await std::move(p_call);
  std::set<std::string> routes;
  for (const auto& p : *pats) routes.insert(p.route_id);
  std::vector<std::shared_ptr<const route_plan>> out;
  for (const auto& r : routes) {
    auto call = plan(r, day, timetable_day);
    auto res = co_await std::move(call);
    if (res.first == planning_status::busy) co_return std::pair{planning_status::busy, std::vector<std::shared_ptr<const route_plan>>{}};
    if (res.first == planning_status::ok) out.push_back(res.second);
  }
  co_return std::pair{planning_status::ok, std::move(out)};
}

}  // namespace maeul::transit
