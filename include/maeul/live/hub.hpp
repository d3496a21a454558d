// The live hub: WebSocket subscribers and their filters. Each reading or alert event is
// serialized once and handed to every matching session's bounded queue; the hub never waits for
// a client, so a slow client cannot slow ingestion.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "maeul/domain/events.hpp"
#include "maeul/net/http.hpp"

namespace maeul::live {

struct subscription {
  std::set<std::string> domains, zones, sensors;  // empty: all
  bool observations = true;
  bool alerts = false;
  bool vehicles = false;          // {"type":"vehicle"} frames (bus operations, docs/transit.md)
  std::set<std::string> routes;   // the vehicles' routes; empty: all
  domain::event_grant grant;  // what the connection's principal may see: no subscription widens it
};

// Whether a reading of `sensor` in `zone` and `domain` is for subscription `s` (every non-empty
// filter contains the value, and the grant admits the reading).
bool subscription_matches(const subscription& s, const std::string& sensor, const std::string& zone,
                          const std::string& domain);

// The observation subscribers of one moment, indexed by the sensors they asked for, so that a
// reading costs one hash lookup plus the subscribers it may be for (those naming its sensor and
// those naming no sensor), not one filter check per connected subscriber. Immutable once built:
// the hub builds a new one when subscriptions change and publishers share it without a lock.
// Targets hold their peer weakly: a closed session is freed at once, the index only skips it.
struct fanout_target {
  std::weak_ptr<net::ws_peer> peer;
  std::shared_ptr<const subscription> sub;  // observations wanted
};

class fanout_index {
 public:
  fanout_index() = default;
  explicit fanout_index(std::vector<fanout_target> targets);
  // Calls fn(target) once for each target whose subscription matches the reading, in the order
  // the targets were given (among those naming the sensor, then among those naming none).
  template <class Fn>
  void for_each_match(const std::string& sensor, const std::string& zone, const std::string& domain, Fn&& fn) const {
    auto visit = [&](const std::vector<std::uint32_t>& list) {
      for (auto i : list)
        if (subscription_matches(*targets_[i].sub, sensor, zone, domain)) fn(targets_[i]);
    };
    if (!by_sensor_.empty())
      if (auto it = by_sensor_.find(sensor); it != by_sensor_.end()) visit(it->second);
    visit(any_sensor_);
  }
  std::size_t size() const { return targets_.size(); }
  bool empty() const { return targets_.empty(); }

 private:
  std::vector<fanout_target> targets_;
  std::unordered_map<std::string, std::vector<std::uint32_t>> by_sensor_;
  std::vector<std::uint32_t> any_sensor_;
};

// Replays alert events after an id (for `since`); returns them in id order.
using replay_fn = std::function<boost::asio::awaitable<std::vector<domain::alert_event>>(std::int64_t since)>;

// Subscribes to committed events (an event_sink) and keeps the newest alert event id it has seen.
class hub final : public domain::event_sink {
 public:
  // `last_event_id`: the newest alert event id committed before this hub started.
  hub(boost::asio::any_io_executor ex, replay_fn replay, std::int64_t last_event_id = 0);

  void on_readings(domain::reading_batch readings) override { publish_readings(std::move(readings)); }
  void on_alert(const domain::alert_event& e) override { publish_alert(e); }
  // The newest alert event id seen (sent in the hello, so a client knows where it starts).
  std::int64_t last_event_id() const { return last_event_id_.load(); }
  void note_event_id(std::int64_t id);

  // The WebSocket handler for one accepted upgrade, for a principal that may see `grant`.
  std::shared_ptr<net::ws_handler> handler(domain::event_grant grant = {});

  void publish_readings(domain::reading_batch readings);
  void publish_alert(const domain::alert_event& e);
  // Vehicle positions (bus operations): each frame made once by the caller, sent to subscribers
  // with "vehicles":true (and the route among their "routes", when given) whose grant admits the
  // mobility domain outside any zone. Coalesced per vehicle for a slow client, like readings.
  struct vehicle_frame {
    std::string vehicle, route;
    std::shared_ptr<const std::string> frame;
  };
  void publish_vehicles(const std::vector<vehicle_frame>& frames);
  // How a welfare alert object reads to a connection whose grant has no welfare readings (the
  // household's pseudonym in place of its sensor: storage::operations_store::masked). Set once
  // before serving; unset, such connections get no welfare alert at all.
  void set_masker(std::function<std::string(const std::string& alert_json)> m) { masker_ = std::move(m); }

  std::size_t clients() const;

  // Closes at once every connection opened under `holder` ("token:<id>", "user:<username>"), or
  // under one session (its hash): a revoked token, a disabled or changed user, a signed-out session
  // (API §8: "its open WebSockets are closed within 2 s"). Returns how many were closed.
  std::size_t revoke_holder(const std::string& holder);
  std::size_t revoke_session(const std::string& session_hash);
  // Closes the connections whose session reached its hard end by `now_us`.
  std::size_t expire(std::int64_t now_us);
  std::int64_t frames_published() const { return published_.load(); }

  // Pure helpers, exposed for tests.
  static bool matches(const subscription& s, const std::string& sensor, const std::string& zone,
                      const std::string& domain);
  static std::string observation_frame(const domain::reading_event& r);
  // The one alert frame of the feed (API.md §6): {"type":"alert","event_id","event","alert"}.
  static std::string alert_frame(const domain::alert_event& e);

 private:
  struct client {
    std::weak_ptr<net::ws_peer> peer;
    subscription sub;
    bool subscribed = false;
    bool replaying = false;                     // one replay at a time per client
    std::optional<std::int64_t> pending_since;  // a `since` asked for while one ran: the newest wins
    subscription pending_sub;
    domain::event_grant grant;
    std::shared_ptr<const subscription> observing;  // set while subscribed with observations
  };
  void on_message(const std::shared_ptr<net::ws_peer>& peer, std::string text);
  std::size_t close_if(const std::function<bool(const domain::event_grant&)>& pred, const char* reason);
  // Replays alert events after `since` to one client, page by page, while it stays connected;
  // then any `since` it asked for meanwhile.
  boost::asio::awaitable<void> replay_loop(std::weak_ptr<net::ws_peer> peer, std::int64_t since, subscription sub);

  boost::asio::any_io_executor ex_;
  replay_fn replay_;
  std::function<std::string(const std::string&)> masker_;
  // The frame of `e` for `grant`: `plain` (made once by the caller), or its masked variant for a
  // welfare alert to a grant without welfare readings (made at most once, into `masked`).
  std::shared_ptr<const std::string> frame_for(const domain::alert_event& e, const domain::event_grant& grant,
                                               const std::shared_ptr<const std::string>& plain,
                                               std::shared_ptr<const std::string>& masked) const;
  std::atomic<std::int64_t> last_event_id_{0};
  mutable std::mutex mutex_;
  std::unordered_map<net::ws_peer*, client> clients_;
  // The readings' fan-out index, rebuilt (under mutex_) by the first publish after a change.
  bool index_stale_ = true;
  std::shared_ptr<const fanout_index> index_;
  std::atomic<std::int64_t> published_{0};
  std::atomic<int> replays_{0};  // replays running, across clients (bounded by max_replays)
};

inline constexpr int max_replays = 32;        // replays at once across all clients; more are told to retry
inline constexpr int max_replay_pages = 100;  // pages of 500 events per replay

}  // namespace maeul::live
