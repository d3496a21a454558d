// Observations in PostgreSQL: group-committed batch writes (optimistic COPY, staging fallback for
// duplicates), rollup upkeep in the same transaction, the sensor index for validation, latest
// values and series queries served from rollups.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "maeul/asio/task.hpp"

namespace maeul::storage {

class db_pool;
struct obs_row {
  std::int32_t series_id = 0;
  std::int64_t ts_us = 0;
  double value = 0;
};

// A row the database refused on its own account (a value or time it cannot store, a constraint):
// its position in its request's rows and a reason fit for the client (no SQL, no internals).
struct refused_row {
  std::size_t position = 0;
  std::string reason;
};

// What one request's rows became: stored, already there (or repeated earlier in the batch), or
// refused by the database for a reason that belongs to that row alone.
struct write_counts {
  std::int64_t accepted = 0;
  std::int64_t duplicates = 0;
  std::vector<refused_row> refused;
};

using row_batch = std::shared_ptr<const std::vector<obs_row>>;

struct metric_meta {
  std::string name;
  std::int32_t series_id = 0;
  std::optional<double> min, max;
};

struct sensor_meta {
  std::string id, domain, kind, zone;  // zone "" when none
  std::vector<metric_meta> metrics;
};

struct latest_row {
  std::int32_t series_id = 0;
  std::int64_t ts_us = 0;
  double value = 0;
};

struct series_query {
  std::int32_t series_id = 0;
  std::int64_t from_us = 0, to_us = 0;  // [from, to)
  std::int64_t bucket_s = 0;            // 0: raw points
  std::string agg = "avg";              // avg|min|max|sum|count|last
  int limit = 1000;                     // raw mode only
};

struct series_point {
  std::int64_t ts_us = 0;
  double value = 0;
};

struct write_stats {
  std::int64_t batches = 0, rows = 0, fallbacks = 0, retries = 0;
  std::int64_t isolations = 0, refused_rows = 0;  // batches that needed poison isolation, rows refused
};

// A batch may open at most this many new monthly partitions (each a CREATE TABLE under a lock);
// the rows of further months are refused, so no request can make thousands of them.
inline constexpr int max_new_partitions = 24;

// The domain's code in observations.domain (migration 0013): 1..5, 0 for an unknown domain.
std::int16_t domain_code(std::string_view domain);

struct dropped_partition {
  std::string partition, domain;
  std::int64_t month_us = 0, est_rows = 0;
};

struct domain_retention {
  std::string domain;
  int days = 0;                           // 0: kept for ever
  std::int64_t horizon_us = 0;            // readings before it are refused and dropped; 0: none
  int partitions = 0;
  std::optional<std::int64_t> oldest_us;  // the oldest stored reading
};

struct retention_report {
  std::vector<domain_retention> domains;
  std::string recent_drops_json = "[]";   // the last drops, newest first
};

class observation_store {
 public:
  // `writers` runs batch writes (one connection each); `readers` runs lookups and queries.
  observation_store(db_pool& writers, db_pool& readers) : writers_(writers), readers_(readers) {}

  // Writes the requests' rows in one transaction on a writer thread; returns counts per request,
  // in order, once committed. When the database refuses the batch for a reason that belongs to
  // some rows (SQLSTATE classes 22 and 23), each request is written on its own and a failing one
  // is bisected until every refused row stands alone: those rows are reported in their request's
  // `refused` and every other row is committed, so one client's bad row never fails another's.
  // Throws unavailable when the database cannot be reached.
  task<std::vector<write_counts>> write(std::vector<row_batch> requests);

  // Sensors with their metrics and series ids (series rows are created as needed).
  task<std::vector<sensor_meta>> sensors(std::vector<std::string> ids);
  task<std::vector<sensor_meta>> all_sensors();

  // The newest value of every series (from the 1-minute rollups).
  task<std::vector<latest_row>> latest_all();

  // Buckets from the 1-hour and 1-minute rollups where they tile the range, raw rows at the edges.
  task<std::vector<series_point>> series(series_query q);

  // Folds the rollup deltas into rollup_1m and rollup_1h: every delta this store's writers
  // committed before the call (they are switched to the other delta table, which the next call
  // folds), and any another process appended to the same table. Returns how many were folded, or
  // -1 when another compactor holds the lock or a writer did not leave the table within 5 s (the
  // deltas stay pending; readers include them). Deltas in the other table (left by a previous run,
  // or by a round that returned -1) wait for the next call. Safe to run from several instances.
  task<std::int64_t> compact_rollups();

  // Creates the monthly partitions of every domain from now up to `months_ahead` months after.
  task<int> ensure_partitions(std::int64_t now_us, int months_ahead);

  // Retention (API §9): for each (domain, days > 0), the domain's monthly partitions that end at or
  // before now - days are detached (CONCURRENTLY: writers are not blocked) and dropped, after the
  // rollup deltas are folded (rollups and KPIs stay), each drop recorded in retention_drops.
  task<std::vector<dropped_partition>> drop_expired(std::vector<std::pair<std::string, int>> days, std::int64_t now_us);
  // Per domain: its policy, horizon, partitions and oldest stored reading; and the last drops.
  task<retention_report> retention(std::vector<std::pair<std::string, int>> days, std::int64_t now_us);

  write_stats stats() const;

 private:
  db_pool& writers_;
  db_pool& readers_;
  struct shared_state;
  std::shared_ptr<shared_state> state_ = make_state();
  static std::shared_ptr<shared_state> make_state();
};

// Exposed for tests: the parts of [from, to) that the 1-hour rollups, the 1-minute rollups and raw
// rows serve for a bucket width (seconds). Each part is {level_seconds (3600, 60 or 0 = raw), from, to}.
struct range_part {
  std::int64_t level_s;
  std::int64_t from_us, to_us;
};
std::vector<range_part> plan_series_ranges(std::int64_t from_us, std::int64_t to_us, std::int64_t bucket_s);

}  // namespace maeul::storage
