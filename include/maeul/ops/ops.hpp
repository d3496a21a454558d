// Live operations: drives the rule engine from committed readings and the clock on a thread of its
// own (never an I/O thread), persists alert transitions in order, escalates unacknowledged critical
// alerts, emits every committed alert event to the event sink, and delivers the webhook outbox.
// Every queue here is bounded, with its overflow policy counted in ops_stats.
#pragma once
#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "maeul/asio/task.hpp"
#include "maeul/domain/events.hpp"
#include "maeul/net/client.hpp"
#include "maeul/ops/secret_box.hpp"
#include "maeul/rules/rules.hpp"
#include "maeul/storage/operations.hpp"

namespace maeul::ops {

// Microseconds since the epoch; injectable for tests.
using clock_fn = std::function<std::int64_t()>;
// Every known sensor with the time of its newest reading (for silence rules).
using sensors_fn = std::function<std::vector<rules::sensor_info>()>;

struct options {
  int tick_ms = 1000;              // silence/composite evaluation and escalation checks
  int escalate_after_s = 600;      // critical alerts not acknowledged within this escalate
  storage::welfare_ladder_options welfare;  // the welfare care loop's rungs (docs/welfare.md)
  int webhook_timeout_ms = 10000;  // per delivery attempt
  int webhook_max_attempts = 12;   // then the delivery is dead
  bool webhook_allow_private = false;  // false: no delivery to a reserved address (ops/webhook_policy.hpp)
  std::shared_ptr<const net::client_tls> webhook_tls;  // https:// receivers are verified with it; null: refused
  std::size_t max_pending_readings = 1000000;  // readings waiting for rule evaluation; beyond: dropped, counted
  std::size_t max_pending_transitions = 100000;  // transitions waiting to be recorded; beyond: coalesced, counted
  int max_deliveries_in_flight = 64;             // webhook deliveries at once
  int webhook_in_flight_per_receiver = 4;        // of those, to one webhook at once
  std::int64_t webhook_max_pending = 10000;      // pending per webhook; past it the oldest are dropped (dead)
  int webhook_trim_every_ms = 5000;              // how often the pending deliveries are held to that bound
  std::shared_ptr<const secret_box> secrets;     // seals webhook secrets; null: none can be registered
};

struct ops_stats {
  std::int64_t transitions = 0, events = 0, deliveries_ok = 0, deliveries_failed = 0, deliveries_dead = 0;
  std::int64_t readings_evaluated = 0, rule_evaluations = 0;
  std::int64_t routines_refused = 0;         // inactivity activity not learned: the rule had its most subjects
  std::int64_t readings_dropped = 0;         // rule evaluation queue full
  std::int64_t transitions_coalesced = 0;    // transition queue full: kept only the newest per (rule, subject)
  std::int64_t pending_readings = 0, pending_transitions = 0, deliveries_in_flight = 0;
  std::int64_t deliveries_dropped = 0;       // pending past webhooks.max_pending_per_webhook: marked dead unsent
  std::int64_t deliveries_refused = 0;       // attempts not made: a reserved address, or a secret that does not open
};

// HMAC-SHA256 of `body` with `secret`, lower-case hex: the X-Maeul-Signature value after "sha256=".
std::string sign(const std::string& secret, const std::string& body);

// Subscribes to committed readings (as an event_sink) and emits alert events to `sink`.
class service final : public domain::event_sink {
 public:
  // `ex`: where database work and timers run; `rules_ex`: the rule engine's own thread.
  service(storage::operations_store& store, sensors_fn sensors, domain::event_sink& sink,
          boost::asio::any_io_executor ex, boost::asio::any_io_executor rules_ex, options o, clock_fn clock);

  // Loads the rules from the database (at start, and after every change). Completes once the
  // engine evaluates the new rules: the next reading sees them.
  task<void> load_rules();
  // Rebuilds the engine's active conditions from the open alerts in the database (at start, after
  // load_rules), so an alert whose condition ends after a restart is cleared.
  task<void> restore_open_alerts();

  // event_sink: committed readings are queued for the rule engine (bounded); alerts are ignored.
  void on_readings(domain::reading_batch readings) override;
  void on_alert(const domain::alert_event&) override {}

  // Emits committed alert events (from the engine, or from an operator's change) to the sink.
  void publish(const std::vector<domain::alert_event>& events);

  // Transitions judged outside the engine (bunching, by the transit module): recorded in order
  // with the engine's own, through the same bounded queue. Their rule must be loaded.
  void submit(std::vector<rules::transition> ts) { enqueue(std::move(ts)); }
  // Told of every rule set applied (at start and after each change; not a stale one that a later
  // reload overtook), on the rules executor under the engine lock, before load_rules completes.
  // Set once before serving.
  std::function<void(const std::vector<rules::rule>&)> on_rules;

  // Loops, until the executor stops: the clock tick, and the webhook dispatcher.
  task<void> run_ticks();
  task<void> run_webhooks();

  ops_stats stats() const;

  // Whether webhooks may point at private and reserved addresses (webhooks.allow_private).
  bool allow_private() const { return opts_.webhook_allow_private; }
  // `secret` sealed for the webhook `webhook_id` (ops/secret_box.hpp), or nullopt when no key is set.
  std::optional<std::string> seal_secret(std::string_view secret, std::string_view webhook_id) const;

 private:
  void evaluate(domain::reading_batch readings);
  void enqueue(std::vector<rules::transition> ts);
  task<void> drain();
  task<void> deliver(storage::delivery d);
  task<void> trim_outbox();
  // Why `url` must not be delivered to now (a host that resolves to a reserved address), or "".
  task<std::string> refused_destination(std::string url);

  storage::operations_store& store_;
  sensors_fn sensors_;
  domain::event_sink& sink_;
  boost::asio::any_io_executor ex_, rules_ex_;
  options opts_;
  clock_fn clock_;
  std::int64_t started_us_;

  mutable std::mutex engine_mutex_;
  rules::engine engine_;

  mutable std::mutex queue_mutex_;
  std::deque<rules::transition> queue_;
  bool draining_ = false;

  std::atomic<std::int64_t> transitions_{0}, events_{0}, ok_{0}, failed_{0}, dead_{0};
  std::atomic<std::int64_t> evaluated_{0}, dropped_{0}, coalesced_{0}, pending_readings_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<std::int64_t> dropped_deliveries_{0}, refused_{0};
  mutable std::mutex hooks_mutex_;
  std::unordered_map<std::string, int> in_flight_by_hook_;  // only webhooks with a delivery in flight (≤ 64)
  std::unordered_set<std::string> overflowing_;             // webhooks whose oldest deliveries are being dropped
  std::atomic<bool> overflow_{false};  // the evaluation queue overflowed (alarm raised)
  std::atomic<bool> timed_rules_{false};  // a rule the clock drives exists: ticks list the sensors
  std::atomic<std::int64_t> reload_started_{0};  // a reload applies only if no later one applied first
  std::int64_t reload_applied_ = 0;              // guarded by engine_mutex_
};

}  // namespace maeul::ops
