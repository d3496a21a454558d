// The live demand forecast and recommended plan of the bus network (API §11, docs/transit.md,
// "Demand forecast" and "Recommended headways"): the pure pieces that join the forecaster and the
// planner to the imported feed and the boardings readings (dates, main patterns, timetable
// headways, cycle times), and the service that reads them and runs the forecast off the I/O
// threads, bounded and cached.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "maeul/asio/task.hpp"
#include "maeul/storage/registry.hpp"
#include "maeul/storage/transit.hpp"
#include "maeul/storage/transit_demand.hpp"
#include "maeul/transit/forecast.hpp"
#include "maeul/transit/plan.hpp"

namespace maeul::transit {

class service;

// ---- pure

// Days since 1970-01-01 of a strict "YYYY-MM-DD" (a real date, years 1900-2999); nullopt otherwise.
std::optional<std::int64_t> parse_date(const std::string& text);
// "YYYY-MM-DD" of days since 1970-01-01.
std::string format_date(std::int64_t day);

// The main pattern of each direction of a route: the one with the most trips (ties: the most
// stops, then the smaller key), by direction ascending. Patterns of other routes are ignored.
std::vector<storage::transit_pattern> main_patterns(const std::vector<storage::transit_pattern>& all,
                                                    const std::string& route);

// The mean gap in minutes between consecutive departures (seconds after the service day's
// midnight, any order) that fall in [start_hour, end_hour); nullopt with fewer than two.
std::optional<double> mean_headway_min(std::vector<int> departures_s, int start_hour, int end_hour);

// The departures of a direction's first stop on a service day: each trip's earliest timetabled
// time at `first_stop` and the frequency windows expanded there at the trip's smallest offset,
// sorted. A loop trip, whose last stop is its first, departs once per trip. `active`: the service
// ids running that day.
std::vector<int> departures_at(const std::vector<storage::scheduled_visit>& visits,
                               const std::vector<storage::scheduled_frequency>& freqs,
                               const std::vector<std::string>& active, int direction,
                               const std::string& first_stop);

// The round-trip time in minutes from the timetable: for each of the given directions, the median
// running time of its trips (last minus first scheduled time of a trip; for frequency-based trips the
// largest stop offset), plus `layover_min` per direction. 0 when no direction has a trip.
double cycle_minutes(const std::vector<storage::scheduled_visit>& visits,
                     const std::vector<storage::scheduled_frequency>& freqs, const std::vector<int>& directions,
                     double layover_min);

// A special-day calendar holds `day` (any order).
bool holds(const std::vector<std::int64_t>& days, std::int64_t day);

// ---- the service

struct planning_options {
  std::string timezone = "Asia/Seoul";
  calendar cal;                   // holidays and tourist peaks of the city ([city])
  forecast_params forecast;       // use_weather false: the live service has no weather yet
  plan_params plan;               // capacity, load factor, waits, vehicles ([transit])
  std::vector<period> periods;    // empty: default_periods()
  double layover_min = 5;         // added per direction to the timetable's running times
  int history_days = 364;         // boardings read before the date (at most a year)
  int threads = 2;                // forecasts at once
  int max_queue = 8;              // requests reading inputs, waiting or planning; past it: busy (503)
  std::size_t max_cached = 64;    // answers kept (route, date, timetable date); the oldest forgotten
  std::int64_t cache_ttl_s = 300; // an answer is recomputed after this (new readings)
};

// The forecast of one stop for the day.
struct stop_forecast {
  std::string stop_id, name, sensor;  // sensor: "" when no boardings sensor names the stop
  std::string sensor_zone;            // the sensor's zone ("" when none)
  bool redacted = false;              // hidden from a zone-scoped principal: sensor and counts unknown
  std::array<double, 24> counts{};    // NaN where unknown
  int weeks_found = 0;                // profile weeks with a known ordinary hour
  int hours_known = 0;                // hours of history read
};
struct direction_demand {
  int direction = 0;
  std::string pattern, template_trip;  // template_trip: "" when no trip of the pattern runs on the day
  std::vector<stop_forecast> stops;   // in stop order
};
struct route_demand {
  std::string route, date, timetable_date;
  std::int64_t day = 0;
  bool holiday = false, tourist_peak = false;
  std::vector<direction_demand> directions;
  int stops_with_history = 0, stops_total = 0;
};
struct direction_plan {
  int direction = 0;
  std::string template_trip;               // "" when no trip of the main pattern runs on the day
  bool demand_known = false;               // some stop of the direction has history
  std::vector<period_plan> periods;
  std::vector<std::optional<double>> scheduled_headway_min;  // per period, from the timetable
  std::vector<int> scheduled_departures;                     // per period
};
struct route_plan {
  route_demand demand;
  double cycle_min = 0;
  std::vector<direction_plan> directions;
};

// Everything a route's forecast and plan are computed from (the service reads them).
struct plan_inputs {
  std::string route;
  std::int64_t day = 0, timetable_day = 0;
  bool with_plan = true;  // false: the forecast only (no timetable, no plan; directions of the plan empty)
  std::vector<storage::transit_pattern> patterns;           // the main pattern per direction
  std::map<std::string, std::string> names, sensors, sensor_zones;  // per stop
  std::map<std::string, std::vector<hourly_count>> counts;  // stop -> (local hour, boardings)
  std::vector<storage::scheduled_visit> visits;              // the route's timetable
  std::vector<storage::scheduled_frequency> freqs;
  std::vector<std::string> active;         // service ids running on the timetable day
  std::vector<std::string> active_on_day;  // service ids running on `day` (for the template trip)
};

// The forecast and plan of a route (pure). Per stop, the forecast of `day` from its hourly counts
// over the history_days before it (forecast_day); a stop's boardings are shared equally among the
// directions that leave from it, and nobody boards at a direction's last stop. A stop counts
// towards stops_with_history when its forecast knows some hour. With with_plan: the cycle from the
// timetable, per direction the plan of its periods beside the scheduled headways of the timetable
// day (departures_at its first stop), and its template trip: the first trip of the main pattern
// whose service runs on `day` ("" when none: the export skips the direction).
std::shared_ptr<const route_plan> compute_plan(const plan_inputs& in, const planning_options& o);

// What a request can end in besides an answer.
// forbidden: the principal may not read the bus forecast at all (plan_all; plan answers no_route).
enum class planning_status { ok, no_route, busy, forbidden };

class planning {
 public:
  planning(service& transit, storage::transit_store& store, storage::transit_demand_store& demand,
           planning_options o);
  ~planning();

  // The forecast for `day` (local) of a route; the timetable of `timetable_day` (for the plan).
  // Without with_plan, the forecast only: the timetable is not read and timetable_day is ignored.
  // Access (services/access.hpp): boardings are mobility readings, so a principal whose domains
  // leave out mobility gets no_route (as for a missing route) before anything is read; for a
  // zone-scoped principal the stops whose boardings sensor lies outside its zones (or in no zone)
  // are answered with sensor "" and every count unknown (redacted).
  // no_route when the feed has no such route; busy when max_queue requests are pending (a pending
  // slot is taken before any database read and held until the plan is made). Concurrent identical
  // misses share one computation (single flight): the later ones wait for the first and get its
  // answer (or its error). Throws storage::unavailable and database errors.
  task<std::pair<planning_status, std::shared_ptr<const route_plan>>> plan(std::string route, std::int64_t day,
                                                                           std::int64_t timetable_day,
                                                                           storage::principal who,
                                                                           bool with_plan = true);
  // Every route of the feed with a plan for the day (for plan.zip), in route id order. Takes one
  // pending slot for the whole run (busy when none is free) and plans the routes one by one in it.
  // forbidden (nothing read) when the principal's domains leave out mobility.
  task<std::pair<planning_status, std::vector<std::shared_ptr<const route_plan>>>> plan_all(
      std::int64_t day, std::int64_t timetable_day, storage::principal who);
  // The local date today (the city's time zone) at `now_us`.
  task<std::int64_t> today(std::int64_t now_us);

  const planning_options& options() const { return opts_; }
  std::int64_t overflowed() const { return overflowed_.load(); }  // requests refused as busy
  int pending() const { return pending_.load(); }                 // pending slots taken (<= max_queue)
  void stop();

 private:
  struct flight;  // one in-flight computation of a cache key and the requests waiting for it
  using plan_result = std::pair<planning_status, std::shared_ptr<const route_plan>>;
  template <class R, class F>
  task<std::optional<R>> submit(F f);
  bool take_slot();      // false (and counted as overflowed) when max_queue slots are taken
  void release_slot();
  task<plan_result> plan_keyed(std::string route, std::int64_t day, std::int64_t timetable_day, bool with_plan,
                               bool slot_held);
  // The answer of another request's computation; rethrows its error.
  static task<std::tuple<planning_status, std::shared_ptr<const route_plan>>> wait_for(std::shared_ptr<flight> f);
  task<std::pair<planning_status, std::shared_ptr<const route_plan>>> compute(
      std::string route, std::int64_t day, std::int64_t timetable_day, bool with_plan,
      std::shared_ptr<const std::vector<storage::transit_pattern>> patterns);
  task<std::shared_ptr<const std::vector<storage::transit_pattern>>> patterns();
  task<std::vector<std::string>> active_services(std::int64_t day);  // service ids running on the local day

  service& transit_;
  storage::transit_store& store_;
  storage::transit_demand_store& demand_;
  planning_options opts_;
  boost::asio::thread_pool pool_;
  std::atomic<int> pending_{0};
  std::atomic<std::int64_t> overflowed_{0};

  struct cached {
    std::shared_ptr<const route_plan> plan;
    std::int64_t at_s = 0;
    std::weak_ptr<const void> network;  // the feed it was computed on
  };
  std::mutex mutex_;  // guards what follows
  std::list<std::string> order_;  // keys, oldest first
  std::unordered_map<std::string, std::pair<cached, std::list<std::string>::iterator>> cache_;
  std::shared_ptr<const std::vector<storage::transit_pattern>> patterns_;
  std::weak_ptr<const void> patterns_network_;
  // In-flight computations by cache key: each owner holds a pending slot, so at most max_queue.
  std::unordered_map<std::string, std::shared_ptr<flight>> inflight_;
};

}  // namespace maeul::transit
