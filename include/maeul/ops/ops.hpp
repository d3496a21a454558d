// Live operations: drives the rule engine from committed readings and the clock, persists alert
// transitions in order, escalates unacknowledged critical alerts, pushes every committed alert
// event to the live hub, and delivers the webhook outbox.
#pragma once
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "maeul/ingest/ingest.hpp"
#include "maeul/live/hub.hpp"
#include "maeul/rules/rules.hpp"
#include "maeul/storage/operations.hpp"

namespace maeul::ops {

template <class T>
using task = boost::asio::awaitable<T>;

struct options {
  int tick_ms = 1000;              // silence/composite evaluation and escalation checks
  int escalate_after_s = 600;      // critical alerts not acknowledged within this escalate
  int webhook_timeout_ms = 10000;  // per delivery attempt
  int webhook_max_attempts = 12;   // then the delivery is dead
  bool webhook_allow_private = true;
};

struct ops_stats {
  std::int64_t transitions = 0, events = 0, deliveries_ok = 0, deliveries_failed = 0, deliveries_dead = 0;
};

// HMAC-SHA256 of `body` with `secret`, lower-case hex: the X-Maeul-Signature value after "sha256=".
std::string sign(const std::string& secret, const std::string& body);

class service {
 public:
  service(storage::operations_store& store, ingest::service& ingest, live::hub& hub, boost::asio::any_io_executor ex,
          options o, ingest::clock_fn clock);

  // Loads the rules from the database (at start, and after every change through the API).
  task<void> load_rules();
  // Rebuilds the engine's active conditions from the open alerts in the database (at start, after
  // load_rules), so an alert whose condition ends after a restart is cleared.
  task<void> restore_open_alerts();
  void rules_changed();

  // The ingest publisher: evaluates rules on committed readings.
  void on_readings(std::shared_ptr<const std::vector<ingest::committed_reading>> readings);

  // Pushes committed alert events to the live hub (and counts them).
  void publish(const std::vector<storage::alert_event>& events);

  // Loops, until the executor stops: the clock tick, and the webhook dispatcher.
  task<void> run_ticks();
  task<void> run_webhooks();

  ops_stats stats() const;

  // The newest committed alert event id this instance has seen (for the live feed's hello).
  std::int64_t last_event_id() const { return last_event_id_.load(); }
  void note_event_id(std::int64_t id);

 private:
  void enqueue(std::vector<rules::transition> ts);
  task<void> drain();
  task<void> deliver(storage::delivery d);

  storage::operations_store& store_;
  ingest::service& ingest_;
  live::hub& hub_;
  boost::asio::any_io_executor ex_;
  options opts_;
  ingest::clock_fn clock_;
  std::int64_t started_us_;

  std::mutex engine_mutex_;
  rules::engine engine_;

  std::mutex queue_mutex_;
  std::deque<std::vector<rules::transition>> queue_;
  bool draining_ = false;

  std::atomic<std::int64_t> transitions_{0}, events_{0}, ok_{0}, failed_{0}, dead_{0};
  std::atomic<std::int64_t> last_event_id_{0};
  std::atomic<std::int64_t> reload_started_{0};  // a reload applies only if no later one applied first
  std::int64_t reload_applied_ = 0;              // guarded by engine_mutex_
};

}  // namespace maeul::ops
