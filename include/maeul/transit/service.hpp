// The bus operations service: the network of the imported feed held in memory for matching (loaded
// at start and after each import), GTFS import, and the live path of vehicle positions (validated,
// matched, arrivals derived, written in one transaction per batch). The only way to change the
// transit tables.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json_fwd.hpp>

#include "maeul/asio/task.hpp"
#include "maeul/domain/problem.hpp"
#include "maeul/rules/rules.hpp"
#include "maeul/storage/registry.hpp"
#include "maeul/storage/transit.hpp"
#include "maeul/transit/match.hpp"
#include "maeul/transit/metrics.hpp"
#include "maeul/transit/zip.hpp"

namespace maeul::transit {

struct options {
  zip_limits zip;
  std::string timezone = "Asia/Seoul";  // the city's calendar: service days of the schedule
  std::size_t max_vehicles = 20000;   // vehicles remembered; past it the one seen longest ago is forgotten
  std::size_t max_patterns = 20000;   // a feed with more route patterns is refused
  std::size_t max_positions = 10000;  // positions in one batch
  match_options match;
};

// One position as posted (API §11), validated.
struct position {
  std::string vehicle, route, trip, occupancy;
  double lon = 0, lat = 0;
  std::int64_t ts_us = 0;
};
struct rejected_position {
  int index = 0;
  std::string pointer, error;
};
struct parsed_positions {
  std::vector<position> positions;
  std::vector<int> indexes;  // each accepted position's index in the batch
  std::vector<rejected_position> rejected;
  int total = 0;
};
// {"positions":[...]} to positions; each bad one rejected with a pointer, the rest kept. A body that
// is not such an object: a problem. `now_us`: positions more than 5 minutes ahead are refused.
domain::outcome<parsed_positions> parse_positions(const nlohmann::json& body, std::int64_t now_us,
                                                  std::size_t max_positions);

// An MQTT message on maeul/v1/avl/{vehicle}: one position {"route","trip"?,"lon","lat","ts",
// "occupancy"?} or a batch {"positions":[...]}; "vehicle" may be omitted and, when given, must be
// the topic's. Validated as parse_positions does (pointers relative to the payload).
domain::outcome<parsed_positions> parse_avl_message(const std::string& vehicle, std::string_view payload,
                                                    std::int64_t now_us, std::size_t max_positions);

// A matched position, for the live feed.
struct vehicle_event {
  std::string vehicle, route, trip, occupancy;
  double lon = 0, lat = 0;
  std::int64_t ts_us = 0;
  double progress_m = -1;
  bool off_route = false;
  std::string next_stop;
};

// The live feed's frame: {"type":"vehicle","vehicle","route","trip","lon","lat","ts","occupancy",
// "progress_m","off_route","next_stop"}.
std::string vehicle_frame(const vehicle_event& e);

struct positions_result {
  int accepted = 0, off_route = 0, out_of_order = 0, arrivals = 0;
  std::vector<rejected_position> rejected;
};

class service {
 public:
  service(storage::transit_store& store, options o);
  // Loads the network from the database (at start; after each import), and the open bunching alerts
  // (so that those opened before a restart are cleared). Throws on a database error.
  task<bool> load();
  // Imports a GTFS zip, replacing the feed: the answer's JSON (counts per file, row errors), or a
  // problem (422: an unreadable archive, a missing required file, a limit exceeded; 503: another
  // import is running). The unzip and parse run on the service's own thread, never on the calling
  // (I/O) thread; the write on a database thread. One import at a time.
  task<domain::outcome<std::string>> import_gtfs(std::string zip);
  // Stores positions: only routes of the feed; `allowed` (device tokens) the vehicles it may write
  // (nullopt: any). Bad positions are rejected beside good ones. Throws on a database error, the
  // vehicles' matching state then put back as before the batch (its retry is matched afresh).
  task<positions_result> ingest(parsed_positions batch, std::optional<std::vector<std::string>> allowed);
  // The MQTT door: "" when the message's positions were stored, else why (some) were refused. The
  // principal is a device token for exactly the topic's vehicle. Throws storage::unavailable.
  task<std::string> ingest_message(std::string vehicle, std::string payload, std::int64_t now_us);
  // Told of each stored batch of matched positions and of its arrivals (the live feed, bunching).
  std::function<void(std::vector<vehicle_event>)> on_vehicles;
  std::function<void(const std::vector<storage::arrival_row>&)> on_arrivals;

  // The bunching rules among a loaded rule set (ops::service::on_rules).
  void set_rules(const std::vector<rules::rule>& all);
  // Alert transitions of bunching rules (open, clear), for the operations service.
  std::function<void(std::vector<rules::transition>)> on_transitions;
  // Judges each arrival against the bunching rules of its route (the headway behind the previous
  // vehicle at the stop against the scheduled one) and hands the transitions to on_transitions.
  task<bool> judge_bunching(std::vector<storage::arrival_row> arrivals);
  // How far apart (data time) two vehicles' last positions may be for their distance to count.
  static constexpr std::int64_t distance_max_age_us = 120'000'000;
  // Scheduled visits of (route, stop, direction) around `at_us` (the day before to the day after),
  // sorted; cached per day (bounded), forgotten at each import.
  task<std::vector<std::int64_t>> scheduled_visits(std::string route, std::string stop, int direction,
                                                   std::int64_t at_us);

  // Reading the network and its metrics (API §11), the access check here as in every service
  // (services/access.hpp): the network is city-wide mobility data with no zone, so a principal
  // sees it when its domains include mobility (or are unlimited) and it is not limited to zones,
  // as for the live feed's vehicle frames. Out of scope: lists are empty, single items absent.
  static bool in_scope(const storage::principal& who);
  task<std::vector<std::string>> routes(storage::principal who);                          // JSON texts
  task<std::optional<std::string>> route(storage::principal who, std::string id);         // with stops, shape
  task<std::vector<std::string>> stops_near(storage::principal who, double lon, double lat, double radius_m,
                                            int limit);
  // Observed arrivals and scheduled visits per (stop, direction) of a route in [from, to) ("" stop:
  // every stop); nullopt when there is no such route or it is out of the principal's scope.
  using series_map = std::map<std::pair<std::string, int>, stop_series>;
  task<std::optional<series_map>> route_series(storage::principal who, std::string route, std::string stop,
                                               std::int64_t from_us, std::int64_t to_us);

  std::shared_ptr<const network> current() const;
  std::size_t vehicles_known() const;  // vehicles whose matching state is kept (at most max_vehicles)
  storage::transit_store& store() { return store_; }

 private:
  storage::transit_store& store_;
  options opts_;
  mutable std::mutex mutex_;  // guards net_ and vehicles_
  std::shared_ptr<const network> net_;
  std::unordered_map<std::string, vehicle_state> vehicles_;
  std::set<std::pair<std::int64_t, std::string>> by_seen_;  // (state's ts, vehicle) of vehicles_: eviction in O(log n)
  void set_vehicle(const std::string& vehicle, std::optional<vehicle_state> state);  // mutex_ held; nullopt: forget
  struct bunching {
    std::string rule_id, route;
    double ratio = 0.5;
    std::optional<double> distance_m;
  };
  // Judges the vehicles that a batch moved (vehicle, route) against the bunching rules of their
  // route that have a distance_m: the nearest vehicle ahead on the same pattern within that many
  // metres opens an alert (subject ROUTE/vehicle/VEHICLE), none clears it.
  task<bool> judge_distance(std::vector<std::pair<std::string, std::string>> moved);
  std::mutex judge_mutex_;  // guards what follows
  std::vector<bunching> bunching_;
  std::unordered_map<std::string, std::pair<std::int64_t, std::string>> last_arrival_;  // route/stop/dir -> (ts, vehicle)
  // rule + '\n' + subject of the open bunching alerts (those in the database at load, and those
  // opened since), oldest first in opened_order_; past max_cached the oldest is forgotten.
  std::list<std::string> opened_order_;
  std::unordered_map<std::string, std::list<std::string>::iterator> opened_;
  void remember_opened(const std::string& key);  // judge_mutex_ held
  std::unordered_map<std::string, std::vector<std::int64_t>> schedule_cache_;
  static constexpr std::size_t max_cached = 20000;  // each of the three maps; past it, cleared
  std::atomic<bool> importing_{false};  // an import is running (a second one is refused)
  boost::asio::thread_pool parse_pool_{1};  // unzips and parses GTFS imports, off the I/O threads
};

}  // namespace maeul::transit
