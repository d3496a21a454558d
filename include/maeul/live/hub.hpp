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

#include "maeul/ingest/ingest.hpp"
#include "maeul/net/http.hpp"
#include "maeul/storage/operations.hpp"

namespace maeul::live {

struct subscription {
  std::set<std::string> domains, zones, sensors;  // empty: all
  bool observations = true;
  bool alerts = false;
};

// Replays alert events after an id (for `since`); returns them in id order.
using replay_fn = std::function<boost::asio::awaitable<std::vector<storage::alert_event>>(std::int64_t since)>;

class hub {
 public:
  hub(boost::asio::any_io_executor ex, replay_fn replay, std::function<std::int64_t()> last_event_id);

  // The WebSocket handler for one accepted upgrade.
  std::shared_ptr<net::ws_handler> handler();

  void publish_readings(std::shared_ptr<const std::vector<ingest::committed_reading>> readings);
  void publish_alert(const storage::alert_event& e);

  std::size_t clients() const;
  std::int64_t frames_published() const { return published_.load(); }

  // Pure helpers, exposed for tests.
  static bool matches(const subscription& s, const std::string& sensor, const std::string& zone,
                      const std::string& domain);
  static std::string observation_frame(const ingest::committed_reading& r);
  static std::string alert_frame(const storage::alert_event& e);

 private:
  struct client {
    std::weak_ptr<net::ws_peer> peer;
    subscription sub;
    bool subscribed = false;
    bool replaying = false;                     // one replay at a time per client
    std::optional<std::int64_t> pending_since;  // a `since` asked for while one ran: the newest wins
    subscription pending_sub;
  };
  void on_message(const std::shared_ptr<net::ws_peer>& peer, std::string text);
  // Replays alert events after `since` to one client, page by page, while it stays connected;
  // then any `since` it asked for meanwhile.
  boost::asio::awaitable<void> replay_loop(std::weak_ptr<net::ws_peer> peer, std::int64_t since, subscription sub);

  boost::asio::any_io_executor ex_;
  replay_fn replay_;
  std::function<std::int64_t()> last_event_id_;
  mutable std::mutex mutex_;
  std::unordered_map<net::ws_peer*, client> clients_;
  std::atomic<std::int64_t> published_{0};
  std::atomic<int> replays_{0};  // replays running, across clients (bounded by max_replays)
};

inline constexpr int max_replays = 32;        // replays at once across all clients; more are told to retry
inline constexpr int max_replay_pages = 100;  // pages of 500 events per replay

}  // namespace maeul::live
