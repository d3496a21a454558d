// Observation writes and reads. A batch is written in one transaction: binary COPY straight into the
// partitioned table (the fast path), or, when the batch holds a reading already stored, COPY into
// a staging table and INSERT ... ON CONFLICT DO NOTHING. Rollups are upserted in the same
// transaction, so a committed reading is always reflected in them.
#include "maeul/storage/observations.hpp"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <map>
#include <unordered_map>

#include <libpq-fe.h>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "maeul/domain/time.hpp"
#include "maeul/storage/db_pool.hpp"
#include "copy_binary.hpp"
#include "rollups.hpp"

namespace maeul::storage {
namespace {

// The pair of rollup delta tables (migration 0019): writers append to the active one; a compaction
// switches them to the other, waits until no writer is still in a transaction on the one they left,
// folds it and TRUNCATEs it. So the table being folded has no writer, and writers never wait on the
// compactor's locks.
struct delta_tables {
  std::mutex mutex;
  std::condition_variable idle;
  int active = 0;             // the table (0 or 1) new writer transactions append to
  int writers[2] = {0, 0};    // writer transactions open on each table
  std::mutex compacting;      // one compaction at a time in this process

  // The table now active, counted as written until release(table).
  int lease() {
    std::lock_guard lock(mutex);
    ++writers[active];
    return active;
  }
  void release(int table) {
    {
      std::lock_guard lock(mutex);
      --writers[table];
    }
    idle.notify_all();
  }
  // Switches the writers to the other table; returns the one they left.
  int switch_writers() {
    std::lock_guard lock(mutex);
    int left = active;
    active = 1 - active;
    return left;
  }
  // Waits until no writer transaction is open on `table`; false when `limit` passed first.
  bool wait_idle(int table, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex);
    return idle.wait_for(lock, limit, [&] { return writers[table] == 0; });
  }
};

// A writer transaction's hold on the active delta table (RAII).
class delta_lease {
 public:
  explicit delta_lease(delta_tables& d) : d_(d), table_(d.lease()) {}
  delta_lease(const delta_lease&) = delete;
  delta_lease& operator=(const delta_lease&) = delete;
  ~delta_lease() { d_.release(table_); }
  int table() const { return table_; }

 private:
  delta_tables& d_;
  int table_;
};

}  // namespace

struct observation_store::shared_state {
  std::mutex mutex;
  delta_tables deltas;
  // Partitions known to exist: (domain code, month start in epoch seconds).
  std::set<std::pair<std::int16_t, std::int64_t>> months;
  // The domain code of every series written so far (its partition); bounded by the registry.
  std::unordered_map<std::int32_t, std::int16_t> series_domain;
  int fast_path_skip = 0;         // batches to send straight to the staging path after a fallback
  write_stats stats;
};

std::shared_ptr<observation_store::shared_state> observation_store::make_state() {
  return std::make_shared<shared_state>();
}

namespace {

constexpr std::int64_t us_per_s = 1000000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Start of the UTC month holding t, in epoch seconds.
std::int64_t month_start(std::int64_t ts_us) {
  using namespace std::chrono;
  sys_days d{days{floor_div(ts_us, 86400 * us_per_s)}};
  year_month_day ymd{d};
  return sys_days{ymd.year() / ymd.month() / 1}.time_since_epoch().count() * 86400LL;
}

struct item {
  obs_row row;
  std::int32_t req;
  std::int32_t pos;     // position in its request's rows
  std::int16_t domain;  // the series' domain code (its partition)
};

const std::string staging_create_sql =
    "CREATE TEMP TABLE IF NOT EXISTS ingest_staging "
    "(series_id integer, domain smallint, ts timestamptz, value double precision, req integer) ON COMMIT DELETE ROWS";
std::string staging_merge_sql_for(const std::string& delta_table) {
  return "WITH d AS (SELECT DISTINCT ON (series_id, ts) series_id, domain, ts, value, req FROM ingest_staging "
    "ORDER BY series_id, ts, req), "
    "ins AS (INSERT INTO observations (series_id, domain, ts, value) SELECT series_id, domain, ts, value FROM d "
    "ORDER BY series_id, ts ON CONFLICT DO NOTHING RETURNING series_id, ts, value), "
    "m AS (INSERT INTO " + delta_table + " (series_id, bucket, n, sum, min, max, last_ts, last) "
    "  SELECT series_id, date_trunc('minute', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', count(*), sum(value), "
    "  min(value), max(value), max(ts), (array_agg(value ORDER BY ts DESC))[1] FROM ins GROUP BY 1, 2) "
    "SELECT d.req, count(*) FROM d JOIN ins USING (series_id, ts) GROUP BY d.req";
}
// Indexed by delta table (0, 1).
const std::string delta_table_names[2] = {"rollup_delta_0", "rollup_delta_1"};
const std::string staging_merge_sql[2] = {staging_merge_sql_for(delta_table_names[0]),
                                          staging_merge_sql_for(delta_table_names[1])};

// pqxx 6.4 sends COPY data only as text lines (tablewriter appends '\n' to every write) and keeps
// connection_base::raw_connection() private; its gates befriend pqxx's own classes only. Binary
// COPY needs libpq's PQputCopyData on the very connection of the transaction, so the member is
// reached the one standard way around access control: an explicit instantiation may name a
// private member ([temp.spec.general]/6), and the friend function it defines hands it out.
pqxx::internal::pq::PGconn* raw_conn_of(const pqxx::connection_base& c);
template <pqxx::internal::pq::PGconn* (pqxx::connection_base::*Member)() const>
struct raw_conn_access {
  friend pqxx::internal::pq::PGconn* raw_conn_of(const pqxx::connection_base& c) { return (c.*Member)(); }
};
template struct raw_conn_access<&pqxx::connection_base::raw_connection>;

// One COPY ... FROM STDIN (FORMAT binary) inside `tx`: rows are appended to buf() with the
// copy_binary encoders; send_if_full() passes every full megabyte to libpq; finish() sends the
// rest and the trailer and waits for the server's verdict. A refusal throws pqxx::sql_error with
// its SQLSTATE (as pqxx's own statements do), a lost connection pqxx::broken_connection.
class binary_copy {
 public:
  binary_copy(pqxx::transaction_base& tx, std::string sql) : sql_(std::move(sql)) {
    tx.exec(sql_);  // the server answers CopyInResponse; pqxx accepts that status
    pg_ = raw_conn_of(tx.conn());
    buf_.reserve(chunk_bytes + 4096);
    copy_binary::append_header(buf_);
  }
  binary_copy(const binary_copy&) = delete;
  binary_copy& operator=(const binary_copy&) = delete;
  ~binary_copy() {
    if (!done_ && PQstatus(pg_) == CONNECTION_OK) {  // an exception left the COPY open: end it
      PQputCopyEnd(pg_, "aborted by the client");
      while (PGresult* r = PQgetResult(pg_)) PQclear(r);
    }
  }

  std::string& buf() { return buf_; }
  void send_if_full() {
    if (buf_.size() >= chunk_bytes) send();
  }
  void finish() {
    copy_binary::append_trailer(buf_);
    send();
    done_ = true;
    if (PQputCopyEnd(pg_, nullptr) != 1) fail_connection();
    std::string error, state;
    while (PGresult* r = PQgetResult(pg_)) {
      if (PQresultStatus(r) != PGRES_COMMAND_OK && error.empty()) {
        error = PQresultErrorMessage(r);
        const char* st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        state = st ? st : "";
      }
      PQclear(r);
    }
    if (PQstatus(pg_) != CONNECTION_OK) fail_connection();
    if (!error.empty()) throw pqxx::sql_error(error, sql_, state.empty() ? nullptr : state.c_str());
  }

 private:
  static constexpr std::size_t chunk_bytes = 1 << 20;
  void send() {
    if (!buf_.empty() && PQputCopyData(pg_, buf_.data(), int(buf_.size())) != 1) fail_connection();
    buf_.clear();
  }
  [[noreturn]] void fail_connection() {
    done_ = true;
    throw pqxx::broken_connection(std::string("COPY failed: ") + PQerrorMessage(pg_));
  }

  std::string sql_;
  pqxx::internal::pq::PGconn* pg_ = nullptr;
  std::string buf_;
  bool done_ = false;
};

// The items into `table` (series_id, domain, ts, value[, req]) by binary COPY.
void copy_rows(pqxx::transaction_base& tx, const std::string& copy_sql, const std::vector<item>& items, bool with_req) {
  binary_copy copy(tx, copy_sql);
  auto& b = copy.buf();
  for (const auto& it : items) {
    copy_binary::append_row_start(b, with_req ? 5 : 4);
    copy_binary::append_int4(b, it.row.series_id);
    copy_binary::append_int2(b, it.domain);
    copy_binary::append_timestamptz(b, it.row.ts_us);
    copy_binary::append_float8(b, it.row.value);
    if (with_req) copy_binary::append_int4(b, it.req);
    copy.send_if_full();
  }
  copy.finish();
}

const std::string copy_observations_sql =
    "COPY observations (series_id, domain, ts, value) FROM STDIN (FORMAT binary)";
const std::string copy_staging_sql =
    "COPY ingest_staging (series_id, domain, ts, value, req) FROM STDIN (FORMAT binary)";
const std::string copy_deltas_sql[2] = {
    "COPY rollup_delta_0 (series_id, bucket, n, sum, min, max, last_ts, last) FROM STDIN (FORMAT binary)",
    "COPY rollup_delta_1 (series_id, bucket, n, sum, min, max, last_ts, last) FROM STDIN (FORMAT binary)"};

// One partial aggregate per (series, minute) of the sorted items, appended to delta table `table`.
void copy_deltas(pqxx::transaction_base& tx, const std::vector<item>& items, int table) {
  binary_copy copy(tx, copy_deltas_sql[table]);
  auto& b = copy.buf();
  std::size_t i = 0;
  while (i < items.size()) {
    const auto s = items[i].row.series_id;
    const auto bucket = floor_div(items[i].row.ts_us, 60 * us_per_s) * 60 * us_per_s;
    std::int64_t n = 0;
    double sum = 0, mn = items[i].row.value, mx = items[i].row.value, last = items[i].row.value;
    std::int64_t last_ts = items[i].row.ts_us;
    for (; i < items.size() && items[i].row.series_id == s &&
           floor_div(items[i].row.ts_us, 60 * us_per_s) * 60 * us_per_s == bucket;
         ++i) {
      const auto& r = items[i].row;
      ++n;
      sum += r.value;
      mn = std::min(mn, r.value);
      mx = std::max(mx, r.value);
      if (r.ts_us >= last_ts) {
        last_ts = r.ts_us;
        last = r.value;
      }
    }
    copy_binary::append_row_start(b, 8);
    copy_binary::append_int4(b, s);
    copy_binary::append_timestamptz(b, bucket);
    copy_binary::append_int8(b, n);
    copy_binary::append_float8(b, sum);
    copy_binary::append_float8(b, mn);
    copy_binary::append_float8(b, mx);
    copy_binary::append_timestamptz(b, last_ts);
    copy_binary::append_float8(b, last);
    copy.send_if_full();
  }
  copy.finish();
}

std::vector<write_counts> write_fast(pqxx::connection_base& c, const std::vector<item>& items,
                                     const std::vector<row_batch>& reqs, delta_tables& deltas) {
  delta_lease lease(deltas);  // outlives the transaction
  pqxx::work tx(c, "ingest");
  copy_rows(tx, copy_observations_sql, items, false);
  copy_deltas(tx, items, lease.table());
  tx.commit();
  std::vector<write_counts> out(reqs.size());
  for (std::size_t i = 0; i < reqs.size(); ++i) out[i].accepted = std::int64_t(reqs[i]->size());
  return out;
}

// Writes `items` (tagged with request numbers below `nreq`) through the staging table; returns
// per request how many were stored (the rest of each request's items were duplicates).
std::vector<write_counts> write_staged(pqxx::connection_base& c, const std::vector<item>& items, std::size_t nreq,
                                       delta_tables& deltas) {
  delta_lease lease(deltas);  // outlives the transaction
  pqxx::work tx(c, "ingest-staged");
  tx.exec(staging_create_sql);
  copy_rows(tx, copy_staging_sql, items, true);
  auto r = tx.exec(staging_merge_sql[lease.table()]);
  tx.commit();
  std::vector<write_counts> out(nreq);
  for (const auto& row : r) {
    auto req = row[0].as<int>();
    out[std::size_t(req)].accepted = row[1].as<std::int64_t>();
  }
  std::vector<std::int64_t> sizes(nreq);
  for (const auto& it : items) ++sizes[std::size_t(it.req)];
  for (std::size_t i = 0; i < nreq; ++i) out[i].duplicates = sizes[i] - out[i].accepted;
  return out;
}

// A refusal that belongs to the data (SQLSTATE class 22 data exception, 23 integrity constraint),
// not to the connection or the server: isolating the rows that cause it is worth the effort.
bool is_data_error(const pqxx::sql_error& e) {
  const auto& s = e.sqlstate();
  return s.size() == 5 && (s.compare(0, 2, "22") == 0 || s.compare(0, 2, "23") == 0);
}

std::string refusal_reason(const pqxx::sql_error& e) {
  return e.sqlstate().compare(0, 2, "22") == 0 ? "the database cannot store this reading (its time or value is out of range)"
                                               : "the database refused this reading (it conflicts with stored data)";
}

// Writes one request's items alone (req tagged 0); on a data error, halves the items and writes
// each half, until every refused row stands alone. Adds to `out`.
void write_bisecting(pqxx::connection_base& c, const std::vector<item>& items, write_counts& out, std::int64_t& attempts,
                     delta_tables& deltas) {
  if (items.empty()) return;
  try {
    ++attempts;
    auto counts = write_staged(c, items, 1, deltas);
    out.accepted += counts[0].accepted;
    out.duplicates += counts[0].duplicates;
  } catch (const pqxx::sql_error& e) {
    if (!is_data_error(e)) throw;
    if (items.size() == 1) {
      out.refused.push_back({std::size_t(items[0].pos), refusal_reason(e)});
      return;
    }
    auto mid = items.begin() + std::ptrdiff_t(items.size() / 2);
    write_bisecting(c, std::vector<item>(items.begin(), mid), out, attempts, deltas);
    write_bisecting(c, std::vector<item>(mid, items.end()), out, attempts, deltas);
  }
}

// The slow path after a batch-wide data error: each request on its own, bisected when it fails.
std::vector<write_counts> write_isolating(pqxx::connection_base& c, const std::vector<item>& items, std::size_t nreq,
                                          std::int64_t& attempts, delta_tables& deltas) {
  std::vector<std::vector<item>> per(nreq);
  for (const auto& it : items) {
    auto copy = it;
    copy.req = 0;
    per[std::size_t(it.req)].push_back(copy);
  }
  std::vector<write_counts> out(nreq);
  for (std::size_t r = 0; r < nreq; ++r) write_bisecting(c, per[r], out[r], attempts, deltas);
  return out;
}

std::string upsert_tail() {
  return " ON CONFLICT (series_id, bucket) DO UPDATE SET n = r.n + EXCLUDED.n, sum = r.sum + EXCLUDED.sum, "
         "min = least(r.min, EXCLUDED.min), max = greatest(r.max, EXCLUDED.max), "
         "last = CASE WHEN EXCLUDED.last_ts >= r.last_ts THEN EXCLUDED.last ELSE r.last END, "
         "last_ts = greatest(r.last_ts, EXCLUDED.last_ts)";
}
// Folds every delta of one delta table into the rollups (the caller then empties the table).
std::string compact_sql_for(const std::string& delta_table) {
  return "WITH d AS (SELECT * FROM " + delta_table + "), "
    "m AS (SELECT series_id, bucket, sum(n)::bigint AS n, sum(sum) AS sum, min(min) AS min, max(max) AS max, "
    "  max(last_ts) AS last_ts, (array_agg(last ORDER BY last_ts DESC))[1] AS last FROM d GROUP BY 1, 2), "
    "u AS (INSERT INTO rollup_1m AS r (series_id, bucket, n, sum, min, max, last_ts, last) "
    "  SELECT * FROM m ORDER BY 1, 2" + upsert_tail() + "), "
    "h AS (INSERT INTO rollup_1h AS r (series_id, bucket, n, sum, min, max, last_ts, last) "
    "  SELECT series_id, date_trunc('hour', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum(n), sum(sum), "
    "  min(min), max(max), max(last_ts), (array_agg(last ORDER BY last_ts DESC))[1] FROM m GROUP BY 1, 2 "
    "  ORDER BY 1, 2" + upsert_tail() + ")" + rollups::mark_dirty_cte() +  // the daily level (rollups.cpp)
    " SELECT count(*) FROM d";
}
const std::string compact_sql[2] = {compact_sql_for(delta_table_names[0]), compact_sql_for(delta_table_names[1])};
// Writers of other processes (which append to either table) wait while a table is folded.
const std::string lock_delta_sql[2] = {"LOCK TABLE rollup_delta_0 IN SHARE MODE",
                                       "LOCK TABLE rollup_delta_1 IN SHARE MODE"};
const std::string truncate_delta_sql[2] = {"TRUNCATE rollup_delta_0", "TRUNCATE rollup_delta_1"};
const std::string delete_delta_sql[2] = {"DELETE FROM rollup_delta_0", "DELETE FROM rollup_delta_1"};
// Whether the table's file holds pages (dead rows left by a DELETE instead of a TRUNCATE).
const std::string delta_has_pages_sql[2] = {"SELECT pg_relation_size('rollup_delta_0') > 0",
                                            "SELECT pg_relation_size('rollup_delta_1') > 0"};

// The longest a compaction waits for the writer transactions still open on the table it folds
// (each is one COPY batch: milliseconds).
constexpr std::chrono::milliseconds writers_leave_within{5000};
// The longest the TRUNCATE waits for readers of the table (a long transaction such as pg_dump holds
// a lock it conflicts with, and every new reader would queue behind it); then the folded rows are
// DELETEd instead, and the next TRUNCATE of the table reclaims them.
const std::string truncate_lock_timeout_sql = "SET LOCAL lock_timeout = '200ms'";

// The most days one compaction recomputes for the daily level (each reads up to 25 hourly rows).
constexpr std::int64_t rollup_days_per_pass = 20000;

// One compaction (docs/architecture.md, Flow 6): switches the writers to the other delta table,
// waits until none is still in a transaction on the one they left, folds that one into the rollups
// and the daily marks, recomputes due days and empties it, all in one transaction. Every delta that
// this process's writers committed before the call is folded, or is still pending in a delta table
// (which readers include) when this returns -1: another compactor holds the lock (only when
// `wait_for_lock` is false), or a writer did not leave the table in time. Returns the deltas folded.
// Throws what the database throws; the transaction is then rolled back and the deltas stay.
std::int64_t compact_once(pqxx::connection_base& c, delta_tables& deltas, bool wait_for_lock) {
  std::lock_guard one(deltas.compacting);
  pqxx::work tx(c, "compact");
  // The plan's cost comes from the table's size; compiling it cost more CPU than it saved.
  tx.exec("SET LOCAL jit = off");
  if (wait_for_lock) tx.exec("SELECT pg_advisory_xact_lock(7301)");
  else if (!tx.exec("SELECT pg_try_advisory_xact_lock(7301)")[0][0].as<bool>()) return -1;
  const int t = deltas.switch_writers();
  if (!deltas.wait_idle(t, writers_leave_within)) return -1;  // the next compaction folds it
  tx.exec(lock_delta_sql[t]);
  auto n = tx.exec(compact_sql[t])[0][0].as<std::int64_t>();
  rollups::roll_days_forward(tx, rollup_days_per_pass);  // the daily level (rollups.cpp)
  if (n > 0 || tx.exec(delta_has_pages_sql[t])[0][0].as<bool>()) {
    bool truncated = false;
    try {
      pqxx::subtransaction sub(tx, "empty-delta");
      sub.exec(truncate_lock_timeout_sql);
      sub.exec(truncate_delta_sql[t]);
      sub.commit();
      truncated = true;
    } catch (const pqxx::sql_error& e) {
      if (e.sqlstate() != "55P03") throw;  // lock_not_available: a long reader holds the table
    }
    if (!truncated) tx.exec(delete_delta_sql[t]);
  }
  tx.commit();
  return n;
}

bool is_unique_violation(const pqxx::sql_error& e) { return e.sqlstate() == "23505"; }
bool is_retryable(const pqxx::sql_error& e) { return e.sqlstate() == "40P01" || e.sqlstate() == "40001"; }

// Two statements on purpose: under READ COMMITTED the SELECT takes a new snapshot, so it also
// sees series rows that a concurrent transaction inserted (our INSERT then did nothing).
const std::string ensure_series_sql =
    "INSERT INTO series (sensor_id, metric) SELECT s.id, m->>'name' FROM sensors s, jsonb_array_elements(s.metrics) m "
    "WHERE ($1 OR s.id = ANY($2::text[])) "
    // Only the missing ones: at start-up (every sensor) an INSERT of each existing pair would be
    // a speculative insertion and a sequence value burnt per series (about 5 s at 100,000 sensors).
    "AND NOT EXISTS (SELECT 1 FROM series x WHERE x.sensor_id = s.id AND x.metric = m->>'name') "
    "ORDER BY 1, 2 ON CONFLICT DO NOTHING";
const std::string sensors_sql =
    "SELECT s.id, s.domain, s.kind, coalesce(s.zone_id, ''), m->>'name', x.id, (m->>'min')::float8, "
    "(m->>'max')::float8 FROM sensors s CROSS JOIN jsonb_array_elements(s.metrics) m "
    "JOIN series x ON x.sensor_id = s.id AND x.metric = m->>'name' "
    "WHERE ($1 OR s.id = ANY($2::text[])) ORDER BY s.id";

std::string text_array(const std::vector<std::string>& v) {
  std::string out = "{";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char ch : v[i]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  return out + "}";
}

std::vector<sensor_meta> read_sensors(pqxx::connection_base& c, bool all, const std::vector<std::string>& ids) {
  pqxx::work tx(c);
  auto names = text_array(ids);
  tx.exec_params(ensure_series_sql, all, names);
  auto r = tx.exec_params(sensors_sql, all, names);
  tx.commit();
  std::vector<sensor_meta> out;
  for (const auto& row : r) {
    auto id = row[0].as<std::string>();
    if (out.empty() || out.back().id != id) out.push_back({id, row[1].as<std::string>(), row[2].as<std::string>(),
                                                           row[3].as<std::string>(), {}});
    metric_meta m;
    m.name = row[4].as<std::string>();
    m.series_id = row[5].as<std::int32_t>();
    if (!row[6].is_null()) m.min = row[6].as<double>();
    if (!row[7].is_null()) m.max = row[7].as<double>();
    out.back().metrics.push_back(std::move(m));
  }
  return out;
}

// The newest (last_ts, last) of every series: its newest 1-minute rollup (one index probe per
// series) or its newest pending delta, whichever is newer. The delta tables are read once, never
// per series (they have no index).
const std::string latest_sql =
    "WITH d AS MATERIALIZED (SELECT DISTINCT ON (series_id) series_id, last_ts, last FROM rollup_delta "
    "  ORDER BY series_id, last_ts DESC) "
    "SELECT s.id, (extract(epoch FROM CASE WHEN d.last_ts IS NULL OR a.last_ts > d.last_ts THEN a.last_ts "
    "  ELSE d.last_ts END) * 1000000)::bigint, CASE WHEN d.last_ts IS NULL OR a.last_ts > d.last_ts THEN a.last "
    "  ELSE d.last END FROM series s LEFT JOIN d ON d.series_id = s.id "
    "LEFT JOIN LATERAL (SELECT last_ts, last FROM rollup_1m r WHERE r.series_id = s.id ORDER BY bucket DESC LIMIT 1) a "
    "  ON true WHERE a.last_ts IS NOT NULL OR d.last_ts IS NOT NULL";

std::string ts_param(int k) { return "(timestamptz 'epoch' + $" + std::to_string(k) + "::bigint * interval '1 microsecond')"; }

const char* agg_expr(const std::string& agg) {
  if (agg == "min") return "min(min)";
  if (agg == "max") return "max(max)";
  if (agg == "sum") return "sum(sum)";
  if (agg == "count") return "sum(n)::float8";
  if (agg == "last") return "(array_agg(last ORDER BY last_ts DESC))[1]";
  return "sum(sum) / sum(n)";
}

}  // namespace

std::vector<range_part> plan_series_ranges(std::int64_t from_us, std::int64_t to_us, std::int64_t bucket_s) {
  std::vector<range_part> parts;
  std::vector<std::int64_t> levels;
  if (bucket_s > 0 && bucket_s % 3600 == 0) levels.push_back(3600);
  if (bucket_s > 0 && bucket_s % 60 == 0) levels.push_back(60);
  // Split [f, t) at the widest level that tiles some of it; recurse on the edges with finer ones.
  auto split = [&](auto&& self, std::int64_t f, std::int64_t t, std::size_t level) -> void {
    if (f >= t) return;
    if (level >= levels.size()) {
      parts.push_back({0, f, t});
      return;
    }
    std::int64_t g = levels[level] * us_per_s;
    std::int64_t a1 = floor_div(f + g - 1, g) * g;
    std::int64_t a2 = floor_div(t, g) * g;
    if (a1 >= a2) return self(self, f, t, level + 1);
    self(self, f, a1, level + 1);
    parts.push_back({levels[level], a1, a2});
    self(self, a2, t, level + 1);
  };
  split(split, from_us, to_us, 0);
  return parts;
}

task<std::vector<write_counts>> observation_store::write(std::vector<row_batch> requests) {
  auto state = state_;
  return writers_.run<std::vector<write_counts>>([requests = std::move(requests), state](pqxx::connection_base& c) {
    std::vector<item> items;
    std::size_t total = 0;
    for (const auto& r : requests) total += r->size();
    items.reserve(total);
    for (std::size_t i = 0; i < requests.size(); ++i)
      for (std::size_t k = 0; k < requests[i]->size(); ++k)
        items.push_back({(*requests[i])[k], std::int32_t(i), std::int32_t(k), 0});
    // One lock order for every writer: no deadlocks between concurrent batches.
    std::sort(items.begin(), items.end(), [](const item& a, const item& b) {
      return a.row.series_id != b.row.series_id ? a.row.series_id < b.row.series_id
             : a.row.ts_us != b.row.ts_us       ? a.row.ts_us < b.row.ts_us
                                                : a.req < b.req;
    });
    std::vector<write_counts> refused(requests.size());  // rows refused before the write
    // The domain of every series (its partition): from the cache, else from the registry in one
    // query. A series whose sensor is gone refuses its rows.
    {
      std::vector<std::int32_t> unknown;
      {
        std::lock_guard lock(state->mutex);
        for (auto& it : items) {
          auto f = state->series_domain.find(it.row.series_id);
          if (f != state->series_domain.end()) it.domain = f->second;
          else if (unknown.empty() || unknown.back() != it.row.series_id) unknown.push_back(it.row.series_id);
        }
      }
      if (!unknown.empty()) {
        std::string ids = "{";
        for (std::size_t i = 0; i < unknown.size(); ++i) ids += (i ? "," : "") + std::to_string(unknown[i]);
        ids += "}";
        pqxx::read_transaction tx(c);
        auto r = tx.exec_params("SELECT x.id, maeul_domain_code(s.domain) FROM series x JOIN sensors s ON s.id = x.sensor_id "
                                "WHERE x.id = ANY($1::int[])", ids);
        std::lock_guard lock(state->mutex);
        for (const auto& row : r) state->series_domain[row[0].as<std::int32_t>()] = row[1].as<std::int16_t>();
        for (auto& it : items) {
          auto f = state->series_domain.find(it.row.series_id);
          it.domain = f == state->series_domain.end() ? 0 : f->second;
        }
      }
    }
    // Partitions for every (domain, month) the batch touches, at most max_new_partitions new ones
    // (each is a CREATE TABLE under a lock): the rows of further months are refused, as are those
    // of a month the database cannot make (a time it cannot store).
    std::set<std::pair<std::int16_t, std::int64_t>> needed, failed, too_many;
    for (const auto& it : items)
      if (it.domain > 0) needed.insert({it.domain, month_start(it.row.ts_us)});
    {
      std::vector<std::pair<std::int16_t, std::int64_t>> missing;
      {
        std::lock_guard lock(state->mutex);
        for (const auto& m : needed)
          if (!state->months.count(m)) missing.push_back(m);
      }
      // The newest months first: a batch of recent readings with a long tail of old ones keeps the recent ones.
      std::sort(missing.begin(), missing.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
      for (std::size_t i = 0; i < missing.size(); ++i) {
        const auto& m = missing[i];
        if (i >= std::size_t(max_new_partitions)) {
          too_many.insert(m);
          continue;
        }
        try {
          pqxx::work tx(c);
          tx.exec_params("SELECT maeul_ensure_partition(to_timestamp($1), $2::smallint)", m.second, m.first);
          tx.commit();
        } catch (const pqxx::sql_error& e) {
          if (!is_data_error(e)) throw;
          failed.insert(m);
          continue;
        }
        std::lock_guard lock(state->mutex);
        state->months.insert(m);
      }
    }
    bool gone = std::any_of(items.begin(), items.end(), [](const item& it) { return it.domain == 0; });
    if (!failed.empty() || !too_many.empty() || gone) {
      std::vector<item> kept;
      kept.reserve(items.size());
      for (const auto& it : items) {
        std::pair<std::int16_t, std::int64_t> key{it.domain, month_start(it.row.ts_us)};
        const char* why = it.domain == 0       ? "the sensor of this reading no longer exists"
                          : failed.count(key)   ? "the database cannot store this reading (its time is out of range)"
                          : too_many.count(key) ? "this batch reaches back over more months than one request may open "
                                                  "(send older readings in smaller time ranges)"
                                                : nullptr;
        if (why) refused[std::size_t(it.req)].refused.push_back({std::size_t(it.pos), why});
        else kept.push_back(it);
      }
      items.swap(kept);
    }
    bool fast;
    {
      std::lock_guard lock(state->mutex);
      fast = state->fast_path_skip == 0 && failed.empty() && too_many.empty();
      if (!fast && state->fast_path_skip > 0) --state->fast_path_skip;
      ++state->stats.batches;
      state->stats.rows += std::int64_t(items.size());
    }
    auto merge = [&](std::vector<write_counts> out) {
      std::int64_t n = 0;
      for (std::size_t i = 0; i < out.size(); ++i) {
        for (auto& r : refused[i].refused) out[i].refused.push_back(std::move(r));
        std::sort(out[i].refused.begin(), out[i].refused.end(),
                  [](const refused_row& a, const refused_row& b) { return a.position < b.position; });
        n += std::int64_t(out[i].refused.size());
      }
      if (n) {
        std::lock_guard lock(state->mutex);
        state->stats.refused_rows += n;
      }
      return out;
    };
    if (items.empty()) return merge(std::vector<write_counts>(requests.size()));
    for (int attempt = 0;; ++attempt) {
      try {
        try {
          if (fast) {
            try {
              return merge(write_fast(c, items, requests, state->deltas));
            } catch (const pqxx::sql_error& e) {
              if (!is_unique_violation(e)) throw;
              std::lock_guard lock(state->mutex);
              state->fast_path_skip = 8;  // duplicates come in runs (re-sent batches, imports)
              ++state->stats.fallbacks;
            }
          }
          return merge(write_staged(c, items, requests.size(), state->deltas));
        } catch (const pqxx::sql_error& e) {
          if (!is_data_error(e)) throw;
          std::int64_t attempts = 0;
          auto out = write_isolating(c, items, requests.size(), attempts, state->deltas);
          spdlog::warn("ingest: a batch of {} rows was refused by the database ({}); isolated in {} writes",
                       items.size(), e.sqlstate(), attempts);
          {
            std::lock_guard lock(state->mutex);
            ++state->stats.isolations;
          }
          return merge(std::move(out));
        }
      } catch (const pqxx::sql_error& e) {
        if (!is_retryable(e) || attempt >= 3) throw;
        std::lock_guard lock(state->mutex);
        ++state->stats.retries;
      }
    }
  });
}

write_stats observation_store::stats() const {
  std::lock_guard lock(state_->mutex);
  return state_->stats;
}

task<std::vector<sensor_meta>> observation_store::sensors(std::vector<std::string> ids) {
  return readers_.run<std::vector<sensor_meta>>(
      [ids = std::move(ids)](pqxx::connection_base& c) { return read_sensors(c, false, ids); });
}

task<std::vector<sensor_meta>> observation_store::all_sensors() {
  return readers_.run<std::vector<sensor_meta>>([](pqxx::connection_base& c) { return read_sensors(c, true, {}); });
}

task<std::vector<latest_row>> observation_store::latest_all() {
  return readers_.run<std::vector<latest_row>>([](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<latest_row> out;
    for (const auto& row : tx.exec(latest_sql))
      out.push_back({row[0].as<std::int32_t>(), row[1].as<std::int64_t>(), row[2].as<double>()});
    return out;
  });
}

task<std::vector<series_point>> observation_store::series(series_query q) {
  return readers_.run<std::vector<series_point>>([q](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<series_point> out;
    if (q.bucket_s == 0) {
      auto r = tx.exec_params(
          "SELECT (extract(epoch FROM ts) * 1000000)::bigint, value FROM observations WHERE series_id = $1 "
          "AND ts >= " + ts_param(2) + " AND ts < " + ts_param(3) + " ORDER BY ts LIMIT $4",
          q.series_id, q.from_us, q.to_us, q.limit);
      for (const auto& row : r) out.push_back({row[0].as<std::int64_t>(), row[1].as<double>()});
      return out;
    }
    // Partial aggregates (n, sum, min, max, last_ts, last) from each source, then per bucket.
    auto parts = plan_series_ranges(q.from_us, q.to_us, q.bucket_s);
    std::string sql = "WITH parts AS (";
    std::vector<std::int64_t> bounds;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const auto& p = parts[i];
      int a = 3 + int(bounds.size()), b = a + 1;
      bounds.push_back(p.from_us);
      bounds.push_back(p.to_us);
      if (i) sql += " UNION ALL ";
      if (p.level_s == 0)
        sql += "SELECT ts AS t, 1::bigint AS n, value AS sum, value AS min, value AS max, ts AS last_ts, value AS last "
               "FROM observations WHERE series_id = $1 AND ts >= " + ts_param(a) + " AND ts < " + ts_param(b);
      else
        sql += std::string("SELECT bucket AS t, n, sum, min, max, last_ts, last FROM ") +
               (p.level_s == 3600 ? "rollup_1h" : "rollup_1m") + " WHERE series_id = $1 AND bucket >= " +
               ts_param(a) + " AND bucket < " + ts_param(b) +
               " UNION ALL SELECT bucket, n, sum, min, max, last_ts, last FROM rollup_delta WHERE series_id = $1 "
               "AND bucket >= " + ts_param(a) + " AND bucket < " + ts_param(b);
    }
    if (parts.empty()) return out;
    sql += ") SELECT floor(extract(epoch FROM t) / $2)::bigint * $2, " + std::string(agg_expr(q.agg)) +
           " FROM parts GROUP BY 1 ORDER BY 1";
    // At most five parts (raw, 1 m, 1 h, 1 m, raw): ten bounds.
    const auto& v = bounds;
    const auto id = q.series_id;
    const auto w = q.bucket_s;
    pqxx::result r;
    switch (v.size()) {
      case 2: r = tx.exec_params(sql, id, w, v[0], v[1]); break;
      case 4: r = tx.exec_params(sql, id, w, v[0], v[1], v[2], v[3]); break;
      case 6: r = tx.exec_params(sql, id, w, v[0], v[1], v[2], v[3], v[4], v[5]); break;
      case 8: r = tx.exec_params(sql, id, w, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]); break;
      case 10: r = tx.exec_params(sql, id, w, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]); break;
      default: throw std::logic_error("series plan with an unexpected number of parts");
    }
    for (const auto& row : r) out.push_back({row[0].as<std::int64_t>() * us_per_s, row[1].as<double>()});
    return out;
  });
}

task<std::int64_t> observation_store::compact_rollups() {
  auto state = state_;
  return readers_.run<std::int64_t>(
      [state](pqxx::connection_base& c) { return compact_once(c, state->deltas, false); });
}

task<int> observation_store::ensure_partitions(std::int64_t now_us, int months_ahead) {
  auto state = state_;
  return writers_.run<int>([now_us, months_ahead, state](pqxx::connection_base& c) {
    int made = 0;
    std::int64_t m = month_start(now_us);
    for (int i = 0; i <= months_ahead; ++i) {
      for (std::int16_t d = 1; d <= 5; ++d) {
        pqxx::work tx(c);
        tx.exec_params("SELECT maeul_ensure_partition(to_timestamp($1), $2::smallint)", m, d);
        tx.commit();
        std::lock_guard lock(state->mutex);
        state->months.insert({d, m});
      }
      ++made;
      m = month_start((m + 32 * 86400) * us_per_s);
    }
    return made;
  });
}

std::int16_t domain_code(std::string_view d) {
  static constexpr std::string_view names[] = {"mobility", "energy", "welfare", "disaster", "environment"};
  for (std::size_t i = 0; i < std::size(names); ++i)
    if (names[i] == d) return std::int16_t(i + 1);
  return 0;
}

namespace {

struct partition_info {
  std::string name;
  std::int64_t month_us = 0, end_us = 0, est_rows = 0;
};

// The monthly partitions of one domain, oldest first (their names end in _YYYYmMM: ours).
std::vector<partition_info> partitions_of(pqxx::transaction_base& tx, const std::string& domain) {
  auto r = tx.exec_params(
      "SELECT c.relname, greatest(c.reltuples, 0)::bigint FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
      "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = $1 ORDER BY c.relname",
      "observations_" + domain);
  std::vector<partition_info> out;
  for (const auto& row : r) {
    partition_info p;
    p.name = row[0].as<std::string>();
    p.est_rows = row[1].as<std::int64_t>();
    auto tail = p.name.size() >= 7 ? p.name.substr(p.name.size() - 7) : std::string();
    int y = 0, m = 0;
    if (tail.size() != 7 || tail[4] != 'm' || std::sscanf(tail.c_str(), "%4dm%2d", &y, &m) != 2 || m < 1 || m > 12) continue;
    using namespace std::chrono;
    auto start = sys_days{year{y} / month{unsigned(m)} / 1};
    auto end = sys_days{(year_month{year{y} / month{unsigned(m)}} + months{1}) / 1};
    p.month_us = std::int64_t(start.time_since_epoch().count()) * 86400 * us_per_s;
    p.end_us = std::int64_t(end.time_since_epoch().count()) * 86400 * us_per_s;
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

namespace {

// The detached table's indexes (its primary key among them), dropped before the table so that the
// kernel frees their files and the heap's in two steps instead of one long one (docs/benchmarks.md).
void drop_indexes_of(pqxx::nontransaction& nt, const std::string& table) {
  auto r = nt.exec_params(
      "SELECT coalesce(k.conname, ''), i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
      "LEFT JOIN pg_constraint k ON k.conindid = x.indexrelid AND k.conrelid = x.indrelid "
      "WHERE x.indrelid = $1::regclass",
      nt.quote_name(table));
  const auto quoted = nt.quote_name(table);
  for (const auto& row : r) {
    const auto constraint = row[0].as<std::string>();
    if (!constraint.empty())
      nt.exec("ALTER TABLE " + quoted + " DROP CONSTRAINT " + nt.quote_name(constraint));
    else
      nt.exec("DROP INDEX " + nt.quote_name(row[1].as<std::string>()));
  }
}

}  // namespace

task<std::vector<dropped_partition>> observation_store::drop_expired(std::vector<std::pair<std::string, int>> days,
                                                                      std::int64_t now_us) {
  auto state = state_;
  // On a reader connection, never a writer's: ingestion keeps all its writers during a drop.
  return readers_.run<std::vector<dropped_partition>>([days, now_us, state](pqxx::connection_base& c) {
    std::vector<dropped_partition> out;
    std::vector<std::pair<std::string, partition_info>> expired;
    {
      pqxx::read_transaction tx(c);
      for (const auto& [domain, d] : days) {
        if (d <= 0 || domain_code(domain) == 0) continue;
        auto horizon = now_us - std::int64_t(d) * 86400 * us_per_s;
        for (auto& p : partitions_of(tx, domain))
          if (p.end_us <= horizon) expired.emplace_back(domain, std::move(p));
      }
    }
    if (expired.empty()) return out;
    // Rollups stay without a fold here: the rollup deltas live in the delta tables, not in
    // the partition, so the drop leaves them to the periodic fold (every second) and queries read
    // rollups plus deltas meanwhile. (A fold first cost 0.5-0.7 s, and even checking rollup_delta
    // for the dropped months' deltas is a scan of that unindexed table: 0.2 s under load.)
    for (const auto& [domain, p] : expired) {
      pqxx::nontransaction nt(c);
      auto parent = nt.quote_name("observations_" + domain);
      auto child = nt.quote_name(p.name);
      // CONCURRENTLY: writers into the domain's other months are not blocked while it waits.
      try {
        nt.exec("ALTER TABLE " + parent + " DETACH PARTITION " + child + " CONCURRENTLY");
      } catch (const pqxx::sql_error& e) {
        // A detach interrupted earlier is pending: finish it.
        if (std::string(e.what()).find("pending") == std::string::npos) throw;
        nt.exec("ALTER TABLE " + parent + " DETACH PARTITION " + child + " FINALIZE");
      }
      drop_indexes_of(nt, p.name);
      nt.exec("DROP TABLE " + child);
      nt.exec_params("INSERT INTO retention_drops (partition, domain, month, est_rows) VALUES "
                     "($1, $2, ('epoch'::timestamptz + $3 * interval '1 microsecond')::date, $4)",
                     p.name, domain, p.month_us, p.est_rows);
      {
        std::lock_guard lock(state->mutex);
        state->months.erase({domain_code(domain), p.month_us / us_per_s});
      }
      out.push_back({p.name, domain, p.month_us, p.est_rows});
    }
    return out;
  });
}

task<retention_report> observation_store::retention(std::vector<std::pair<std::string, int>> days, std::int64_t now_us) {
  return readers_.run<retention_report>([days, now_us](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    retention_report out;
    for (const auto& [domain, d] : days) {
      domain_retention r;
      r.domain = domain;
      r.days = d;
      if (d > 0) r.horizon_us = now_us - std::int64_t(d) * 86400 * us_per_s;
      r.partitions = int(partitions_of(tx, domain).size());
      // One index probe per series (the primary key leads with series_id), never a scan.
      auto oldest = tx.exec_params1(
          "SELECT (extract(epoch FROM min(m)) * 1000000)::bigint FROM (SELECT (SELECT min(o.ts) FROM observations o "
          "WHERE o.series_id = x.id AND o.domain = $2) m FROM series x JOIN sensors s ON s.id = x.sensor_id "
          "WHERE s.domain = $1) q",
          domain, domain_code(domain));
      if (!oldest[0].is_null()) r.oldest_us = oldest[0].as<std::int64_t>();
      out.domains.push_back(std::move(r));
    }
    auto drops = tx.exec1(
        "SELECT coalesce(json_agg(json_build_object('partition', partition, 'domain', domain, 'month', "
        "to_char(month, 'YYYY-MM'), 'rows', est_rows, 'dropped_at', to_char(dropped_at AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')) ORDER BY id DESC), '[]')::text FROM (SELECT * FROM retention_drops "
        "ORDER BY id DESC LIMIT 20) d");
    out.recent_drops_json = drops[0].as<std::string>();
    return out;
  });
}

}  // namespace maeul::storage
