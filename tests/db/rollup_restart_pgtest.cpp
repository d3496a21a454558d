// A restart after sustained ingest (docs/architecture.md, Flow 6): write and compact in many short
// cycles, as the daemon does every second under load, while an open snapshot (a report, a backup)
// keeps vacuum from reclaiming anything; then a fresh pool does what start-up does (the sensor index
// and the latest value of every series) with the production statement timeout. Before migration
// 0019 the compactor DELETEd its table empty every cycle, the dead rows stayed, and start-up read
// that heap once per series: it timed out and the daemon could not start.
#include <chrono>
#include <map>

#include "maeul/storage/observations.hpp"
#include "pg_support.hpp"

namespace {

using namespace maeul_test;
using storage::obs_row;

constexpr int n_series = 2000;
constexpr int n_cycles = 40;  // one batch of a reading per series (a minute apart), then a compaction

// The relations holding rollup deltas, heap and indexes, in bytes (whatever tables they are).
constexpr const char* delta_bytes_sql =
    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c "
    "WHERE c.relname LIKE 'rollup\\_delta%' AND c.relkind = 'r'";

class rollup_restart : public fresh_db {
 protected:
  void SetUp() override {
    fresh_db::SetUp();
    if (HasFatalFailure()) return;
    store_ = std::make_unique<storage::observation_store>(*pool_, *pool_);
  }
  void TearDown() override {
    store_.reset();
    fresh_db::TearDown();
  }

 public:
  std::unique_ptr<storage::observation_store> store_;
};

storage::row_batch batch(std::vector<obs_row> rows) {
  return std::make_shared<const std::vector<obs_row>>(std::move(rows));
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_F(rollup_restart, start_up_reads_stay_fast_and_exact_after_many_write_and_compact_cycles) {
  // Set-up by SQL: the subject is the rollups, not the registry.
  query("INSERT INTO sensors (id, domain, kind, location, metrics) SELECT 'm-' || lpad(i::text, 5, '0'), 'energy', "
        "'meter', ST_SetSRID(ST_MakePoint(128.59, 38.2), 4326), '[{\"name\": \"kw\", \"unit\": \"kW\"}]' "
        "FROM generate_series(1, " + std::to_string(n_series) + ") i");
  auto metas = sync(store_->all_sensors());
  ASSERT_EQ(metas.size(), std::size_t(n_series));
  std::vector<std::int32_t> ids;
  for (const auto& s : metas) ids.push_back(s.metrics.at(0).series_id);

  // The snapshot that holds vacuum back. It reads no delta table, so it takes no lock on one.
  pqxx::connection holder_conn(url_);
  pqxx::transaction<pqxx::repeatable_read> holder(holder_conn);
  holder.exec("SELECT count(*) FROM series");

  const std::int64_t t0 = utc_us(2026, 11, 2, 8, 0, 0);
  // The value of series k in cycle c: distinct per series and cycle.
  auto value = [](int k, int c) { return double(k) * 1000 + c; };
  std::int64_t folded = 0;
  for (int c = 0; c < n_cycles; ++c) {
    std::vector<obs_row> rows;
    rows.reserve(ids.size());
    for (int k = 0; k < n_series; ++k) rows.push_back({ids[std::size_t(k)], t0 + c * us_per_min, value(k, c)});
    auto counts = sync(store_->write({batch(std::move(rows))}));
    ASSERT_EQ(counts.at(0).accepted, n_series) << "cycle " << c;
    auto n = sync(store_->compact_rollups());
    ASSERT_GE(n, 0) << "cycle " << c << ": no other compactor runs";
    folded += n;
  }
  EXPECT_EQ(folded, std::int64_t(n_series) * n_cycles) << "each cycle's deltas are folded by its compaction";
  // Newer readings of the even series, not folded yet: the latest value comes from the deltas.
  {
    std::vector<obs_row> rows;
    for (int k = 0; k < n_series; k += 2) rows.push_back({ids[std::size_t(k)], t0 + n_cycles * us_per_min, -value(k, 0)});
    ASSERT_EQ(sync(store_->write({batch(std::move(rows))})).at(0).accepted, n_series / 2);
  }

  const auto delta_bytes = count(delta_bytes_sql);
  EXPECT_LT(delta_bytes, 2 << 20) << "the delta tables hold " << n_series / 2
                                  << " live rows; the rest is space the compactions left behind";

  // The restart: a new pool with the production statement timeout, as `maeuld serve` starts.
  storage::db_pool restart_pool(storage::pool_options{url_, 2});
  ASSERT_EQ(restart_pool.stats().size, 2);
  storage::observation_store restarted(restart_pool, restart_pool);
  auto start = std::chrono::steady_clock::now();
  auto index = sync(restarted.all_sensors());
  auto latest = sync(restarted.latest_all());
  const double warm_ms = ms_since(start);
  EXPECT_LT(warm_ms, 3000) << "the sensor index and latest values (warm) took " << warm_ms << " ms";
  ASSERT_EQ(index.size(), std::size_t(n_series));
  ASSERT_EQ(latest.size(), std::size_t(n_series));
  std::map<std::int32_t, std::size_t> k_of;
  for (int k = 0; k < n_series; ++k) k_of[ids[std::size_t(k)]] = std::size_t(k);
  int wrong = 0;
  for (const auto& l : latest) {
    const int k = int(k_of.at(l.series_id));
    const bool pending = k % 2 == 0;
    const std::int64_t want_ts = t0 + (pending ? n_cycles : n_cycles - 1) * us_per_min;
    const double want = pending ? -value(k, 0) : value(k, n_cycles - 1);
    if (l.ts_us != want_ts || l.value != want) ++wrong;
  }
  EXPECT_EQ(wrong, 0) << "series whose latest value is not the newest written";

  // A bucketed series query (rollups plus pending deltas) of one series, as the dashboard asks.
  storage::series_query q;
  q.series_id = ids[0];
  q.from_us = t0;
  q.to_us = t0 + (n_cycles + 1) * us_per_min;
  q.bucket_s = 60;
  q.agg = "count";
  q.limit = 10000;
  start = std::chrono::steady_clock::now();
  auto points = sync(restarted.series(q));
  const double series_ms = ms_since(start);
  // Generous bounds for a loaded machine: before the pair, the per-series scans of the bloated table
  // made them seconds to tens of seconds (and the delta bytes above are the deterministic check).
  EXPECT_LT(series_ms, 2000) << "one series query took " << series_ms << " ms";
  double total = 0;
  for (const auto& p : points) total += p.value;
  EXPECT_EQ(total, n_cycles + 1) << "every reading of the series counted once";
  std::printf("[ measured ] delta relations %lld bytes; start-up reads %.0f ms; series query %.0f ms\n",
              static_cast<long long>(delta_bytes), warm_ms, series_ms);

  holder.abort();
  restart_pool.stop();
}

// A long reader of the deltas (pg_dump holds ACCESS SHARE on every table it dumps) would make the
// compactor's TRUNCATE wait and every new reader queue behind it: the compactor gives up after its
// lock timeout and DELETEs the folded rows instead; once the reader is gone, the space comes back.
TEST_F(rollup_restart, a_long_reader_of_the_deltas_gets_a_delete_instead_of_a_truncate_and_the_space_comes_back) {
  query("INSERT INTO sensors (id, domain, kind, location, metrics) SELECT 'r-' || i, 'energy', 'meter', "
        "ST_SetSRID(ST_MakePoint(128.59, 38.2), 4326), '[{\"name\": \"kw\", \"unit\": \"kW\"}]' "
        "FROM generate_series(1, 10) i");
  std::vector<std::int32_t> ids;
  for (const auto& s : sync(store_->all_sensors())) ids.push_back(s.metrics.at(0).series_id);
  ASSERT_EQ(ids.size(), 10u);

  pqxx::connection reader_conn(url_);
  pqxx::transaction<pqxx::repeatable_read> reader(reader_conn);
  reader.exec("SELECT count(*) FROM rollup_delta");  // both delta tables locked until it ends

  const std::int64_t t0 = utc_us(2026, 11, 2, 8, 0, 0);
  for (int c = 0; c < 4; ++c) {
    std::vector<obs_row> rows;
    for (std::size_t k = 0; k < ids.size(); ++k) rows.push_back({ids[k], t0 + c * us_per_min, double(c)});
    ASSERT_EQ(sync(store_->write({batch(std::move(rows))})).at(0).accepted, 10);
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(sync(store_->compact_rollups()), 10) << "cycle " << c;
    EXPECT_LT(ms_since(start), 5000) << "cycle " << c << ": the compaction waited for the reader";
    EXPECT_EQ(count("SELECT count(*) FROM rollup_delta"), 0) << "cycle " << c << ": folded rows are gone";
  }
  EXPECT_EQ(count("SELECT sum(n)::bigint FROM rollup_1m"), 40);
  EXPECT_GT(count(delta_bytes_sql), 0) << "DELETE leaves the folded rows' space until the next TRUNCATE";

  reader.abort();
  EXPECT_EQ(sync(store_->compact_rollups()), 0);
  EXPECT_EQ(sync(store_->compact_rollups()), 0);
  EXPECT_EQ(count(delta_bytes_sql), 0) << "both tables TRUNCATEd once nothing reads them";
  EXPECT_EQ(count("SELECT sum(n)::bigint FROM rollup_1m"), 40) << "every reading counted once";
}
