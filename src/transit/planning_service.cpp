// The planning service: reads the route's main patterns, the boardings history of their stops and
// the timetable, then forecasts and plans on its own small thread pool (never on an I/O or DB
// thread), bounded, with a small cache of answers per (route, date, timetable date).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "maeul/services/access.hpp"
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

}  // namespace

planning::planning(service& transit, storage::transit_store& store, storage::transit_demand_store& demand,
                   planning_options o)
    : transit_(transit), store_(store), demand_(demand), opts_(std::move(o)), pool_(std::size_t(std::max(1, opts_.threads))) {}

planning::~planning() { stop(); }

void planning::stop() {
  pool_.stop();
  pool_.join();
}

// One computation of a cache key under way, and the requests waiting for its answer.
struct planning::flight {
  std::mutex m;  // guards what follows
  bool done = false;
  std::exception_ptr error;
  planning_status status = planning_status::ok;
  std::shared_ptr<const route_plan> plan;
  std::vector<std::function<void()>> waiters;  // each posts the answer to its waiter's executor
  static constexpr std::size_t max_waiters = 256;
};

bool planning::take_slot() {
  if (pending_.fetch_add(1) >= opts_.max_queue) {
    pending_.fetch_sub(1);
    overflowed_.fetch_add(1);
    return false;
  }
  return true;
}

void planning::release_slot() { pending_.fetch_sub(1); }

// Not a coroutine itself (as db_pool::run): runs f on the pool. The caller holds a pending slot,
// so at most max_queue jobs are queued here.
template <class R, class F>
task<std::optional<R>> planning::submit(F f) {
  auto init = [this, f = std::move(f)](auto handler) mutable {
    using handler_t = decltype(handler);
    auto shared = std::make_shared<handler_t>(std::move(handler));
    auto ex = asio::get_associated_executor(*shared);
    asio::post(pool_, [shared, ex, f = std::move(f)]() mutable {
      std::exception_ptr ep;
      std::optional<R> value;
      try {
        value.emplace(f());
      } catch (...) {
        ep = std::current_exception();
      }
      asio::post(ex, [shared, ep, value = std::move(value)]() mutable { (*shared)(ep, std::move(value)); });
    });
  };
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr, std::optional<R>)>(
      std::move(init), asio::use_awaitable);
}

// Not a coroutine itself: completes when the flight is done (at once when it already is).
task<std::tuple<planning_status, std::shared_ptr<const route_plan>>> planning::wait_for(std::shared_ptr<flight> f) {
  auto init = [f](auto handler) mutable {
    using handler_t = decltype(handler);
    auto shared = std::make_shared<handler_t>(std::move(handler));
    auto ex = asio::get_associated_executor(*shared);
    auto deliver = [f, shared, ex] {
      asio::post(ex, [f, shared]() mutable { (*shared)(f->error, f->status, f->plan); });
    };
    std::unique_lock lock(f->m);
    if (f->done) {
      lock.unlock();
      deliver();
      return;
    }
    f->waiters.push_back(std::move(deliver));
  };
  return asio::async_initiate<decltype(asio::use_awaitable),
                              void(std::exception_ptr, planning_status, std::shared_ptr<const route_plan>)>(
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

task<std::vector<std::string>> planning::active_services(std::int64_t day) {
  // The local day lies within 14 h of its UTC namesake whatever the offset.
  const std::int64_t noon_us = (day * 86400 + 43200) * 1000000LL;
  auto d_call = store_.service_days(noon_us - 3600LL * 1000000, noon_us + 3600LL * 1000000, opts_.timezone);
  auto days = co_await std::move(d_call);
  const std::string date = format_date(day);
  for (auto& d : days)
    if (d.date == date) co_return std::move(d.services);
  co_return std::vector<std::string>{};
}

task<std::int64_t> planning::today(std::int64_t now_us) {
  auto call = demand_.local_day(now_us, opts_.timezone);
  co_return co_await std::move(call);
}

task<std::pair<planning_status, std::shared_ptr<const route_plan>>> planning::plan(std::string route, std::int64_t day,
                                                                                   std::int64_t timetable_day,
                                                                                   storage::principal who,
                                                                                   bool with_plan) {
  if (!services::access::domain_in_scope(who, "mobility"))
    co_return plan_result{planning_status::no_route, nullptr};
  if (!with_plan) timetable_day = 0;
  auto call = plan_keyed(std::move(route), day, timetable_day, with_plan, false);
  auto res = co_await std::move(call);
  if (res.first != planning_status::ok || who.zones.empty()) co_return res;
  // The answer is shared (cached); a zone-scoped principal gets a copy without the stops whose
  // boardings sensor lies outside its zones.
  auto copy = std::make_shared<route_plan>(*res.second);
  for (auto& dd : copy->demand.directions)
    for (auto& s : dd.stops)
      if (!s.sensor.empty() && !services::access::zone_in_scope(who, s.sensor_zone)) {
        s.sensor.clear();
        s.sensor_zone.clear();
        s.counts.fill(unknown);
        s.weeks_found = 0;
        s.hours_known = 0;
        s.redacted = true;
      }
  co_return plan_result{planning_status::ok, std::move(copy)};
}

task<planning::plan_result> planning::plan_keyed(std::string route, std::int64_t day, std::int64_t timetable_day,
                                                 bool with_plan, bool slot_held) {
  std::shared_ptr<const void> net = transit_.current();
  const std::string key = route + '\n' + std::to_string(day) + '\n' + std::to_string(timetable_day) +
                          (with_plan ? "\nplan" : "\ndemand");
  std::shared_ptr<flight> joined, own;
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
    if (auto f = inflight_.find(key); f != inflight_.end()) {
      std::lock_guard flock(f->second->m);
      if (f->second->waiters.size() < flight::max_waiters) joined = f->second;
    }
    if (!joined) {
      if (!slot_held && !take_slot()) co_return std::pair{planning_status::busy, std::shared_ptr<const route_plan>{}};
      if (!inflight_.count(key)) {
        own = std::make_shared<flight>();
        inflight_.emplace(key, own);
      }
    }
  }
  if (joined) {
    auto w_call = wait_for(joined);
    auto [status, result] = co_await std::move(w_call);
    co_return std::pair{status, result};
  }
  // This request holds a pending slot (its own, or plan_all's) from here until its answer.
  plan_result res{planning_status::busy, nullptr};
  std::exception_ptr error;
  try {
    auto e_call = store_.route_exists(route);
    if (!co_await std::move(e_call)) {
      res = {planning_status::no_route, nullptr};
    } else {
      auto p_call = patterns();
      auto pats = co_await std::move(p_call);
      auto c_call = compute(route, day, timetable_day, with_plan, pats);
      res = co_await std::move(c_call);
    }
  } catch (...) {
    error = std::current_exception();
  }
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(mutex_);
    if (!error && res.first == planning_status::ok && net && !cache_.count(key)) {
      while (!order_.empty() && cache_.size() >= opts_.max_cached) {
        cache_.erase(order_.front());
        order_.pop_front();
      }
      order_.push_back(key);
      cache_.emplace(key, std::pair{cached{res.second, steady_now_s(), net}, std::prev(order_.end())});
    }
    if (own) {
      inflight_.erase(key);
      std::lock_guard flock(own->m);
      own->done = true;
      own->error = error;
      own->status = res.first;
      own->plan = res.second;
      waiters.swap(own->waiters);
    }
  }
  if (!slot_held) release_slot();
  for (auto& w : waiters) w();
  if (error) std::rethrow_exception(error);
  co_return res;
}

task<std::pair<planning_status, std::shared_ptr<const route_plan>>> planning::compute(
    std::string route, std::int64_t day, std::int64_t timetable_day, bool with_plan,
    std::shared_ptr<const std::vector<storage::transit_pattern>> pats) {
  const auto t0 = std::chrono::steady_clock::now();
  auto ms_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
  };
  auto in = std::make_shared<plan_inputs>();
  in->route = route;
  in->day = day;
  in->timetable_day = timetable_day;
  in->with_plan = with_plan;
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
    for (auto& s : sensors) {
      in->sensors[s.stop_id] = s.sensor_id;
      in->sensor_zones[s.stop_id] = s.zone_id;
    }
    auto b_call = demand_.boardings(stop_ids, day - opts_.history_days, day, opts_.timezone);
    const auto tb = std::chrono::steady_clock::now();
    auto rows = co_await std::move(b_call);
    spdlog::debug("plan {}: {} boardings rows read in {:.0f} ms", route, rows.size(), ms_since(tb));
    for (auto& r : rows) in->counts[r.stop_id].push_back({r.local_hour, r.count});
  }
  if (with_plan) {
    auto v_call = store_.scheduled_visits(route);
    in->visits = co_await std::move(v_call);
    auto f_call = store_.scheduled_frequencies(route);
    in->freqs = co_await std::move(f_call);
    auto a_call = active_services(timetable_day);
    in->active = co_await std::move(a_call);
    if (day == timetable_day) {
      in->active_on_day = in->active;
    } else {
      auto o_call = active_services(day);
      in->active_on_day = co_await std::move(o_call);
    }
  }
  auto opts = opts_;
  const double read_ms = ms_since(t0);
  auto job = [in, opts] { return compute_plan(*in, opts); };
  auto j_call = submit<std::shared_ptr<const route_plan>>(std::move(job));
  auto r = co_await std::move(j_call);
  spdlog::debug("plan {}: inputs read in {:.0f} ms, forecast and plan after {:.0f} ms", route, read_ms, ms_since(t0));
  if (!r) co_return std::pair{planning_status::busy, std::shared_ptr<const route_plan>{}};
  co_return std::pair{planning_status::ok, *r};
}

task<std::pair<planning_status, std::vector<std::shared_ptr<const route_plan>>>> planning::plan_all(
    std::int64_t day, std::int64_t timetable_day, storage::principal who) {
  using all_result = std::pair<planning_status, std::vector<std::shared_ptr<const route_plan>>>;
  if (!services::access::domain_in_scope(who, "mobility")) co_return all_result{planning_status::forbidden, {}};
  if (!take_slot()) co_return all_result{planning_status::busy, {}};
  std::shared_ptr<const std::vector<storage::transit_pattern>> pats;
  std::exception_ptr p_error;
  try {
    auto p_call = patterns();
    pats = co_await std::move(p_call);
  } catch (...) {
    p_error = std::current_exception();
  }
  if (p_error) {
    release_slot();
    std::rethrow_exception(p_error);
  }
  std::set<std::string> routes;
  for (const auto& p : *pats) routes.insert(p.route_id);
  std::vector<std::shared_ptr<const route_plan>> out;
  for (const auto& r : routes) {
    auto call = plan_keyed(r, day, timetable_day, true, true);
    plan_result res;
    std::exception_ptr error;
    try {
      res = co_await std::move(call);
    } catch (...) {
      error = std::current_exception();
    }
    if (error) {
      release_slot();
      std::rethrow_exception(error);
    }
    if (res.first == planning_status::ok) out.push_back(res.second);
  }
  release_slot();
  co_return std::pair{planning_status::ok, std::move(out)};
}

}  // namespace maeul::transit
