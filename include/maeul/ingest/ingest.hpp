// The transport-free ingest service: validate readings against the sensor index, hand them to the
// group-commit batcher, and only after the commit update the latest values and publish them.
// HTTP (and later MQTT) adapters feed it. No pqxx here: storage does the database work.
#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "maeul/asio/task.hpp"
#include "maeul/domain/events.hpp"
#include "maeul/domain/observation.hpp"
#include "maeul/domain/welfare.hpp"
#include "maeul/storage/db_pool.hpp"
#include "maeul/storage/observations.hpp"

namespace maeul::spool {
class spool;
}

namespace maeul::ingest {

// The writer's queue is full (back-pressure, 503): the database is there, so this never spools.
struct queue_full : storage::unavailable {
  using storage::unavailable::unavailable;
};

// Microseconds since the epoch; injectable for tests.
using clock_fn = std::function<std::int64_t()>;
std::int64_t system_now_us();

struct options {
  std::size_t max_batch_rows = 50000;     // rows in one transaction at most
  std::size_t max_pending_rows = 1000000; // queued rows beyond which requests get 503
  int writers = 2;                        // transactions in flight at once
  std::chrono::seconds sensor_ttl{60};    // how long a sensor's metadata is trusted
  // Days of raw readings each domain keeps, by storage::domain_code (index 0 unused); 0: for ever.
  // A reading older than its domain's horizon is refused (its partition is, or will be, dropped).
  std::array<int, 6> retention_days{};
};

struct result {
  std::int64_t accepted = 0;  // committed, or (with spooled > 0) durable in the spool
  std::int64_t spooled = 0;   // of accepted: in the local spool, to be committed by the replayer
  std::int64_t withheld = 0;  // of accepted: of a household whose consent has lapsed, kept as a count only
  std::int64_t duplicates = 0;
  std::vector<domain::rejection> rejected;
  std::size_t total = 0;
};

// A latest value is a committed reading: the same type (domain/events.hpp).
using latest_item = domain::reading_event;

// A sensor as the rule engine's clock-driven rules see it: newest reading of any metric.
struct sensor_seen {
  std::string id, kind, domain, zone;
  std::int64_t last_ts_us = 0;  // 0: no reading yet
};

struct ingest_stats {
  std::int64_t requests = 0, accepted = 0, duplicates = 0, rejected = 0;
  std::int64_t overflowed = 0;  // rows refused with 503 because the writer's queue was full
  std::size_t pending_rows = 0;
  int in_flight = 0;
  std::int64_t spooled = 0;           // readings sent to the spool
  std::int64_t replayed = 0;          // readings the replayer wrote (stored or duplicate)
  std::int64_t replay_published = 0;  // of those, published after their commit
  std::int64_t replay_refused = 0;    // refused by the database at replay (logged, dropped)
  bool database_up = true;            // the last write or replay attempt reached the database
  bool replaying = false;
};

// Gathers rows from concurrent requests into batches: a batch leaves as soon as a writer is free,
// so batches grow with the load (group commit) and latency stays low when it is light.
class batcher {
 public:
  // Batches are started and completed on `ex`; each request resumes on its own executor.
  batcher(storage::observation_store& store, options opts, boost::asio::any_io_executor ex);
  // Completes with this request's counts once its batch is committed. Throws queue_full when the
  // queue is full, storage::unavailable when the database cannot be reached.
  task<storage::write_counts> submit(storage::row_batch rows);
  // Completes when nothing is queued or in flight (for shutdown).
  task<void> drain();
  std::size_t pending_rows() const;
  int in_flight() const;
  std::int64_t overflowed_rows() const { return overflowed_.load(); }

 private:
  struct waiter {
    storage::row_batch rows;
    std::function<void(std::exception_ptr, storage::write_counts)> done;
  };
  void flush_locked();

  storage::observation_store& store_;
  options opts_;
  boost::asio::any_io_executor ex_;
  mutable std::mutex mutex_;
  std::vector<waiter> pending_;
  std::size_t pending_rows_ = 0;
  int in_flight_ = 0;
  std::atomic<std::int64_t> overflowed_{0};
};

class service {
 public:
  service(storage::observation_store& store, clock_fn clock, boost::asio::any_io_executor ex, options opts = {});

  // Loads every sensor and the latest values. Call once before serving.
  task<void> warm();

  // Validates parsed readings (sensor, metric, declared range; `allowed` non-empty restricts the
  // sensors), stores the good ones and answers once they are committed. With a spool set: when the
  // database cannot be reached, or while the spool holds anything (so nothing overtakes a spooled
  // reading), the good readings are appended to the spool instead and the answer (spooled > 0)
  // waits for their fsync; nothing is published until the replayer commits them. Sensors are then
  // checked against the in-memory index as it stands (stale entries included): a sensor the
  // index does not hold is rejected as unknown. Throws spool::full (nothing written) when the
  // spool is full, queue_full on back-pressure, storage::unavailable without a spool.
  // `allowed`: the only sensors the caller may write (a device token's list; empty: none), or
  // nullopt for any. A sensor outside it is rejected exactly as an unknown one is, so that a
  // device cannot learn which sensors exist.
  task<result> ingest(domain::parsed_batch batch, std::optional<std::vector<std::string>> allowed);

  // Latest values of one sensor (nullopt: unknown sensor) and of all sensors matching the filters.
  task<std::optional<std::vector<latest_item>>> latest_of(std::string sensor);
  std::vector<latest_item> latest(const std::string& domain, const std::string& zone, const std::string& kind) const;

  // Series id of (sensor, metric); nullopt: unknown sensor; 0: unknown metric. `metric` empty picks
  // the only metric. `metrics_out` receives the sensor's metric names.
  task<std::optional<std::int32_t>> series_id(std::string sensor, std::string metric,
                                              std::vector<std::string>* metrics_out);

  // The registry facts of one sensor (from the index, loaded on a miss); null: no such sensor.
  task<std::shared_ptr<const storage::sensor_meta>> meta_of(std::string sensor);

  // Every known sensor with the time of its newest reading.
  std::vector<sensor_seen> seen() const;

  // Forget cached metadata of a sensor (after a registry change).
  void invalidate(const std::string& sensor);

  // Where committed readings go (after their commit, never before). Set once before serving.
  void set_sink(domain::event_sink& sink) { sink_ = &sink; }

  // The households welfare sensors name (attributes.household): a reading of a sensor whose
  // household is not registered (or was erased) is rejected; one of a household whose consent has
  // lapsed is counted in the book and not stored. Set once before serving (none: not checked).
  void set_households(domain::household_book& book) { households_ = &book; }

  // Where readings go while the database is away. Set once before serving (none: 503 instead).
  void set_spool(spool::spool& s) { spool_ = &s; }

  // The replayer: forever, while the spool holds anything, takes its oldest segment, writes its
  // records in order through observation_store::write (ON CONFLICT: idempotent), publishes each
  // record's newly stored rows after their commit, and deletes the segment once all of it is
  // committed. While the database cannot be reached it retries with back-off (`min_backoff_ms`
  // doubling up to `max_backoff_ms`). A segment interrupted by a crash or an outage is written
  // again from its start: rows already stored come back as duplicates and are not published again.
  // Run it as one coroutine on one executor; it returns only when its executor stops.
  task<void> run_replay(int idle_ms, int min_backoff_ms, int max_backoff_ms);
  batcher& writer() { return batcher_; }
  ingest_stats stats() const;

 private:
  struct entry {
    std::shared_ptr<const storage::sensor_meta> meta;  // null: no such sensor
    std::chrono::steady_clock::time_point expires;
  };
  task<void> resolve(std::vector<std::string> ids);
  std::shared_ptr<const storage::sensor_meta> cached(const std::string& id, bool& fresh) const;
  void remember(const std::vector<storage::sensor_meta>& metas, const std::vector<std::string>& asked);
  // Updates the latest values with the committed `rows` of one request and publishes them (all
  // when none was a duplicate or refused, else those that moved the latest value), resolving
  // sensors through the series index (a series no longer in the index is stored, not published).
  void publish_committed(const std::vector<storage::obs_row>& rows, const storage::write_counts& counts);

  storage::observation_store& store_;
  clock_fn clock_;
  options opts_;
  batcher batcher_;
  domain::event_sink* sink_ = nullptr;
  spool::spool* spool_ = nullptr;
  domain::household_book* households_ = nullptr;
  std::atomic<bool> database_up_{true}, replaying_{false};
  std::atomic<std::int64_t> spooled_{0}, replayed_{0}, replay_published_{0}, replay_refused_{0};

  mutable std::shared_mutex index_mutex_;
  std::unordered_map<std::string, entry> sensors_;
  std::unordered_map<std::int32_t, std::pair<std::shared_ptr<const storage::sensor_meta>, std::size_t>> by_series_;

  struct latest_value {
    std::int64_t ts_us;
    double value;
  };
  mutable std::shared_mutex latest_mutex_;
  std::unordered_map<std::int32_t, latest_value> latest_;

  std::atomic<std::int64_t> requests_{0}, accepted_{0}, duplicates_{0}, rejected_{0};
};

}  // namespace maeul::ingest
