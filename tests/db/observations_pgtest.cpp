// The observations writer (storage/observations.hpp) against a real PostgreSQL: the optimistic
// COPY path, the staging + ON CONFLICT fallback, monthly partitions made on demand, rollup deltas
// and their compaction into rollup_1m / rollup_1h, latest values and series reads.
#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <vector>

#include "maeul/storage/observations.hpp"
#include "pg_support.hpp"

namespace {

using namespace maeul_test;
using storage::obs_row;
using storage::write_counts;

const std::int64_t T0 = utc_us(2026, 3, 10, 10, 0, 0);  // a minute (and hour) boundary

storage::row_batch batch(std::vector<obs_row> rows) {
  return std::make_shared<const std::vector<obs_row>>(std::move(rows));
}

struct stored {
  std::int32_t series;
  std::int64_t ts;
  double value;
  bool operator==(const stored&) const = default;
};
std::ostream& operator<<(std::ostream& os, const stored& s) {
  return os << "{" << s.series << ", " << iso_utc(s.ts) << ", " << s.value << "}";
}

struct agg {
  std::int32_t series;
  std::int64_t bucket;
  std::int64_t n;
  double sum, min, max;
  std::int64_t last_ts;
  double last;
  bool operator==(const agg&) const = default;
};
std::ostream& operator<<(std::ostream& os, const agg& a) {
  return os << "{series " << a.series << ", " << iso_utc(a.bucket) << ", n " << a.n << ", sum " << a.sum << ", min "
            << a.min << ", max " << a.max << ", last_ts " << iso_utc(a.last_ts) << ", last " << a.last << "}";
}

class observations : public fresh_db {
 protected:
  void SetUp() override {
    fresh_db::SetUp();
    if (HasFatalFailure()) return;
    store_ = std::make_unique<storage::observation_store>(*pool_, *pool_);
    add_sensor(sensor_at("wl-01", "disaster", "water_level", 128.59, 38.20,
                         json::array({{{"name", "level"}, {"unit", "m"}}, {{"name", "temp"}, {"unit", "C"}}})));
    add_sensor(sensor_at("wl-02", "disaster", "water_level", 128.60, 38.21, json::array({{{"name", "level"}, {"unit", "m"}}})));
    auto metas = sync(obs().sensors({"wl-01", "wl-02"}));
    for (const auto& s : metas)
      for (const auto& m : s.metrics) series_[s.id + "/" + m.name] = m.series_id;
    ASSERT_EQ(series_.size(), 3u);
    s_ = series_.at("wl-01/level");
    t_ = series_.at("wl-01/temp");
    u_ = series_.at("wl-02/level");
  }
  void TearDown() override {
    store_.reset();
    fresh_db::TearDown();
  }

 public:
  storage::observation_store& obs() { return *store_; }

  std::vector<write_counts> write(std::vector<std::vector<obs_row>> reqs) {
    std::vector<storage::row_batch> b;
    for (auto& r : reqs) b.push_back(batch(std::move(r)));
    return sync(obs().write(std::move(b)));
  }

  std::vector<stored> stored_rows() {
    std::vector<stored> out;
    for (const auto& r : query("SELECT series_id, (extract(epoch FROM ts) * 1000000)::bigint, value FROM observations "
                               "ORDER BY 1, 2"))
      out.push_back({r[0].as<std::int32_t>(), r[1].as<std::int64_t>(), r[2].as<double>()});
    return out;
  }

  std::vector<agg> aggs(const std::string& table) {
    std::vector<agg> out;
    for (const auto& r : query("SELECT series_id, (extract(epoch FROM bucket) * 1000000)::bigint, n, sum, min, max, "
                               "(extract(epoch FROM last_ts) * 1000000)::bigint, last FROM " + table +
                               " ORDER BY 1, 2, 7"))
      out.push_back({r[0].as<std::int32_t>(), r[1].as<std::int64_t>(), r[2].as<std::int64_t>(), r[3].as<double>(),
                     r[4].as<double>(), r[5].as<double>(), r[6].as<std::int64_t>(), r[7].as<double>()});
    return out;
  }

  std::unique_ptr<storage::observation_store> store_;
  std::map<std::string, std::int32_t> series_;
  std::int32_t s_ = 0, t_ = 0, u_ = 0;
};

void expect_counts(const std::vector<write_counts>& got, const std::vector<std::pair<int, int>>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].accepted, want[i].first) << "request " << i;
    EXPECT_EQ(got[i].duplicates, want[i].second) << "request " << i;
  }
}

}  // namespace

TEST(pg_support, utc_and_kst_helpers) {
  EXPECT_EQ(utc_us(1970, 1, 1), 0);
  EXPECT_EQ(utc_us(2026, 3, 1) - utc_us(2026, 2, 1), 28 * us_per_day);
  EXPECT_EQ(kst_us(2026, 3, 1), utc_us(2026, 2, 28, 15));
  EXPECT_EQ(iso_utc(utc_us(2026, 3, 10, 10, 0, 5, 250000)), "2026-03-10T10:00:05.250Z");
}

TEST_F(observations, the_fast_path_copies_every_row_counts_it_accepted_and_appends_one_delta_per_minute) {
  auto counts = write({{{s_, T0 + 5 * us_per_s, 1.5}, {s_, T0 + 65 * us_per_s, 2.5}, {t_, T0 + 10 * us_per_s, -3}},
                       {{s_, T0 + 20 * us_per_s, 4}, {t_, T0 + 70 * us_per_s + 123456, 8}}});
  expect_counts(counts, {{3, 0}, {2, 0}});
  auto st = obs().stats();
  EXPECT_EQ(st.batches, 1);
  EXPECT_EQ(st.rows, 5);
  EXPECT_EQ(st.fallbacks, 0);

  EXPECT_EQ(stored_rows(), (std::vector<stored>{{s_, T0 + 5 * us_per_s, 1.5},
                                                {s_, T0 + 20 * us_per_s, 4},
                                                {s_, T0 + 65 * us_per_s, 2.5},
                                                {t_, T0 + 10 * us_per_s, -3},
                                                {t_, T0 + 70 * us_per_s + 123456, 8}}));
  // One partial aggregate per (series, minute): (1.5 at :05, 4 at :20) folded, the rest single.
  EXPECT_EQ(aggs("rollup_delta"), (std::vector<agg>{{s_, T0, 2, 5.5, 1.5, 4, T0 + 20 * us_per_s, 4},
                                                    {s_, T0 + us_per_min, 1, 2.5, 2.5, 2.5, T0 + 65 * us_per_s, 2.5},
                                                    {t_, T0, 1, -3, -3, -3, T0 + 10 * us_per_s, -3},
                                                    {t_, T0 + us_per_min, 1, 8, 8, 8, T0 + 70 * us_per_s + 123456, 8}}));
  EXPECT_EQ(count("SELECT count(*) FROM rollup_1m") + count("SELECT count(*) FROM rollup_1h"), 0)
      << "rollups change only when the compactor folds the deltas";
}

TEST_F(observations, a_batch_holding_stored_readings_falls_back_to_staging_and_counts_per_request) {
  expect_counts(write({{{s_, T0, 1}, {s_, T0 + 30 * us_per_s, 2}}}), {{2, 0}});

  auto counts = write({
      {{s_, T0, 100}, {s_, T0 + 40 * us_per_s, 3}},                                         // 1 stored, 1 new
      {{s_, T0 + 40 * us_per_s, 300}, {s_, T0 + 50 * us_per_s, 5}, {s_, T0 + 30 * us_per_s, 200}},  // repeats req 0; new; stored
      {{t_, T0, 7}},                                                                         // new
  });
  expect_counts(counts, {{1, 1}, {1, 2}, {1, 0}});
  EXPECT_EQ(obs().stats().fallbacks, 1);

  // Stored values are the first ones: a duplicate never overwrites, and inside a batch the earlier request wins.
  EXPECT_EQ(stored_rows(), (std::vector<stored>{{s_, T0, 1},
                                                {s_, T0 + 30 * us_per_s, 2},
                                                {s_, T0 + 40 * us_per_s, 3},
                                                {s_, T0 + 50 * us_per_s, 5},
                                                {t_, T0, 7}}));
  // The staged merge appends deltas of the inserted rows only (3 at :40 and 5 at :50; 7 for temp).
  EXPECT_EQ(aggs("rollup_delta"), (std::vector<agg>{{s_, T0, 2, 3, 1, 2, T0 + 30 * us_per_s, 2},
                                                    {s_, T0, 2, 8, 3, 5, T0 + 50 * us_per_s, 5},
                                                    {t_, T0, 1, 7, 7, 7, T0, 7}}));
  EXPECT_EQ(sync(obs().compact_rollups()), 3);
  EXPECT_EQ(aggs("rollup_1m"), (std::vector<agg>{{s_, T0, 4, 11, 1, 5, T0 + 50 * us_per_s, 5}, {t_, T0, 1, 7, 7, 7, T0, 7}}));
  EXPECT_EQ(aggs("rollup_1h"), (std::vector<agg>{{s_, T0, 4, 11, 1, 5, T0 + 50 * us_per_s, 5}, {t_, T0, 1, 7, 7, 7, T0, 7}}));

  // After a fallback the next batches go straight to staging: counts stay exact there too.
  expect_counts(write({{{s_, T0 + 2 * us_per_min, 9}, {s_, T0 + 2 * us_per_min, 10}}, {{s_, T0, 0}}}), {{1, 1}, {0, 1}});
  EXPECT_EQ(obs().stats().fallbacks, 1);
  EXPECT_EQ(count("SELECT count(*) FROM observations"), 6);
  EXPECT_EQ(query_params("SELECT value FROM observations WHERE series_id = $1 AND ts = to_timestamp($2)", s_,
                         (T0 + 2 * us_per_min) / us_per_s)[0][0].as<double>(), 9);
}

TEST_F(observations, a_reading_repeated_inside_one_batch_is_stored_once) {
  auto counts = write({{{s_, T0, 1}, {s_, T0 + us_per_s, 2}, {s_, T0 + us_per_s, 22}}, {{s_, T0, 11}, {u_, T0, 5}}});
  expect_counts(counts, {{2, 1}, {1, 1}});
  EXPECT_EQ(obs().stats().fallbacks, 1) << "the COPY met its own duplicate and the batch was staged";
  EXPECT_EQ(stored_rows(), (std::vector<stored>{{s_, T0, 1}, {s_, T0 + us_per_s, 2}, {u_, T0, 5}}));
  EXPECT_EQ(aggs("rollup_delta"), (std::vector<agg>{{s_, T0, 2, 3, 1, 2, T0 + us_per_s, 2}, {u_, T0, 1, 5, 5, 5, T0, 5}}));
}

TEST_F(observations, monthly_partitions_are_created_on_demand_with_utc_month_bounds) {
  // The sensors are of the disaster domain: their months are partitions of observations_disaster.
  auto partitions = [&] {
    std::map<std::string, std::string> out;
    for (const auto& r : query("SELECT c.relname::text, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
                               "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'observations_disaster'::regclass"))
      out[r[0].as<std::string>()] = r[1].as<std::string>();
    return out;
  };
  auto before = partitions();
  EXPECT_FALSE(before.count("observations_disaster_2031m03"));
  EXPECT_FALSE(before.count("observations_disaster_2031m04"));

  // The last microsecond of March (UTC), 08:59:59 on April 1st in Seoul (still March in UTC), and April.
  const std::int64_t last_march = utc_us(2031, 4, 1) - 1;
  const std::int64_t seoul_april_1 = kst_us(2031, 4, 1, 8, 59, 59);
  const std::int64_t first_april = utc_us(2031, 4, 1);
  expect_counts(write({{{s_, last_march, 1}, {s_, seoul_april_1, 2}, {s_, first_april, 3}, {s_, first_april + us_per_h, 4}}}),
                {{4, 0}});

  auto after = partitions();
  EXPECT_EQ(after.size(), before.size() + 2);
  EXPECT_EQ(after["observations_disaster_2031m03"], "FOR VALUES FROM ('2031-03-01 00:00:00+00') TO ('2031-04-01 00:00:00+00')");
  EXPECT_EQ(after["observations_disaster_2031m04"], "FOR VALUES FROM ('2031-04-01 00:00:00+00') TO ('2031-05-01 00:00:00+00')");
  std::vector<std::pair<std::int64_t, std::string>> where;
  for (const auto& r : query("SELECT (extract(epoch FROM ts) * 1000000)::bigint, tableoid::regclass::text FROM observations "
                             "ORDER BY ts"))
    where.emplace_back(r[0].as<std::int64_t>(), r[1].as<std::string>());
  EXPECT_EQ(where, (std::vector<std::pair<std::int64_t, std::string>>{{seoul_april_1, "observations_disaster_2031m03"},
                                                                      {last_march, "observations_disaster_2031m03"},
                                                                      {first_april, "observations_disaster_2031m04"},
                                                                      {first_april + us_per_h, "observations_disaster_2031m04"}}));

  // Rollups across the boundary: hours 23:00 of March 31st and 00:00, 01:00 of April 1st.
  EXPECT_EQ(sync(obs().compact_rollups()), 3);  // minutes 23:59 (both March readings), 00:00 and 01:00
  EXPECT_EQ(aggs("rollup_1h"),
            (std::vector<agg>{{s_, utc_us(2031, 3, 31, 23), 2, 3, 1, 2, last_march, 1},
                              {s_, first_april, 1, 3, 3, 3, first_april, 3},
                              {s_, first_april + us_per_h, 1, 4, 4, 4, first_april + us_per_h, 4}}));
  storage::series_query q;
  q.series_id = s_;
  q.from_us = utc_us(2031, 3, 31, 22);
  q.to_us = utc_us(2031, 4, 1, 2);
  q.bucket_s = 3600;
  q.agg = "sum";
  auto pts = sync(obs().series(q));
  ASSERT_EQ(pts.size(), 3u);
  EXPECT_EQ(pts[0].ts_us, utc_us(2031, 3, 31, 23));
  EXPECT_EQ(pts[0].value, 3);
  EXPECT_EQ(pts[1].ts_us, first_april);
  EXPECT_EQ(pts[1].value, 3);
  EXPECT_EQ(pts[2].ts_us, first_april + us_per_h);
  EXPECT_EQ(pts[2].value, 4);
  q.bucket_s = 0;
  auto raw = sync(obs().series(q));
  ASSERT_EQ(raw.size(), 4u);
  EXPECT_EQ(raw[0].ts_us, seoul_april_1);
  EXPECT_EQ(raw[1].ts_us, last_march);
  EXPECT_EQ(raw[1].value, 1);
  EXPECT_EQ(raw[2].ts_us, first_april);

  // ensure_partitions: this month and the next two, across a year end.
  EXPECT_EQ(sync(obs().ensure_partitions(utc_us(2032, 11, 15, 12), 2)), 3);
  auto later = partitions();
  EXPECT_EQ(later["observations_disaster_2032m11"], "FOR VALUES FROM ('2032-11-01 00:00:00+00') TO ('2032-12-01 00:00:00+00')");
  EXPECT_EQ(later["observations_disaster_2032m12"], "FOR VALUES FROM ('2032-12-01 00:00:00+00') TO ('2033-01-01 00:00:00+00')");
  EXPECT_EQ(later["observations_disaster_2033m01"], "FOR VALUES FROM ('2033-01-01 00:00:00+00') TO ('2033-02-01 00:00:00+00')");
  EXPECT_EQ(later.size(), after.size() + 3);
  EXPECT_EQ(sync(obs().ensure_partitions(utc_us(2032, 11, 15, 12), 2)), 3) << "idempotent";
  EXPECT_EQ(partitions().size(), later.size());
}

namespace {
// Two batches into the same minutes; the compactor runs between them or only after both.
void same_minute_in_two_batches(observations& t, bool compact_between, std::int32_t s, std::int32_t u) {
  const auto sec = us_per_s;
  auto c1 = t.write({{{s, T0 + 5 * sec, 4}, {s, T0 + 40 * sec, 10}, {s, T0 + 2 * us_per_min + 10 * sec, 5},
                      {u, T0 + 59 * sec, 1}}});
  expect_counts(c1, {{4, 0}});
  if (compact_between) EXPECT_EQ(sync(t.obs().compact_rollups()), 3);  // (s, 10:00), (s, 10:02), (u, 10:00)
  // Minute 10:00 gets readings before the stored last one; minute 10:02 a later one; u an earlier one.
  auto c2 = t.write({{{s, T0 + 20 * sec, 1}, {s, T0 + 30 * sec, -2}, {s, T0 + 2 * us_per_min + 50 * sec, 6},
                      {s, T0 + us_per_h + 90 * sec, 3}, {u, T0 + 1 * sec, 2}}});
  expect_counts(c2, {{5, 0}});
  EXPECT_EQ(sync(t.obs().compact_rollups()), compact_between ? 4 : 7);
  EXPECT_EQ(t.count("SELECT count(*) FROM rollup_delta"), 0);
  EXPECT_EQ(t.aggs("rollup_1m"),
            (std::vector<agg>{
                {s, T0, 4, 4 + 10 + 1 - 2, -2, 10, T0 + 40 * sec, 10},
                {s, T0 + 2 * us_per_min, 2, 11, 5, 6, T0 + 2 * us_per_min + 50 * sec, 6},
                {s, T0 + us_per_h + us_per_min, 1, 3, 3, 3, T0 + us_per_h + 90 * sec, 3},
                {u, T0, 2, 3, 1, 2, T0 + 59 * sec, 1},
            }));
  EXPECT_EQ(t.aggs("rollup_1h"), (std::vector<agg>{
                                     {s, T0, 6, 4 + 10 + 1 - 2 + 5 + 6, -2, 10, T0 + 2 * us_per_min + 50 * sec, 6},
                                     {s, T0 + us_per_h, 1, 3, 3, 3, T0 + us_per_h + 90 * sec, 3},
                                     {u, T0, 2, 3, 1, 2, T0 + 59 * sec, 1},
                                 }));
  // Nothing left to fold: a second run folds none and changes nothing.
  EXPECT_EQ(sync(t.obs().compact_rollups()), 0);
  EXPECT_EQ(t.aggs("rollup_1h").size(), 3u);
}
}  // namespace

TEST_F(observations, rollups_fold_a_minute_that_two_batches_fill_with_the_compactor_between) {
  same_minute_in_two_batches(*this, true, s_, u_);
}

TEST_F(observations, rollups_fold_a_minute_that_two_batches_fill_with_one_compaction) {
  same_minute_in_two_batches(*this, false, s_, u_);
}

TEST_F(observations, latest_values_come_from_deltas_and_rollups_by_reading_time) {
  auto latest = [&] {
    std::map<std::int32_t, std::pair<std::int64_t, double>> out;
    for (const auto& l : sync(obs().latest_all())) {
      EXPECT_FALSE(out.count(l.series_id)) << "one row per series";
      out[l.series_id] = {l.ts_us, l.value};
    }
    return out;
  };
  EXPECT_TRUE(latest().empty());
  write({{{s_, T0 + 10 * us_per_s, 5}, {s_, T0 + 70 * us_per_s + 7, 6}, {t_, T0 + 5 * us_per_s, 1}}});
  using L = std::map<std::int32_t, std::pair<std::int64_t, double>>;
  EXPECT_EQ(latest(), (L{{s_, {T0 + 70 * us_per_s + 7, 6}}, {t_, {T0 + 5 * us_per_s, 1}}})) << "from the deltas";
  sync(obs().compact_rollups());
  EXPECT_EQ(latest(), (L{{s_, {T0 + 70 * us_per_s + 7, 6}}, {t_, {T0 + 5 * us_per_s, 1}}})) << "from rollup_1m";
  // An older reading arriving late does not replace the newest; a newer one does (before and after compaction).
  write({{{s_, T0 - us_per_h, 99}, {t_, T0 + 200 * us_per_s, 2}, {u_, T0 - us_per_day, -1}}});
  L want{{s_, {T0 + 70 * us_per_s + 7, 6}}, {t_, {T0 + 200 * us_per_s, 2}}, {u_, {T0 - us_per_day, -1}}};
  EXPECT_EQ(latest(), want);
  sync(obs().compact_rollups());
  EXPECT_EQ(latest(), want);
}

namespace {
struct reading {
  std::int64_t ts;
  double v;
};

// The expected bucketed series, computed from the readings themselves.
std::vector<std::pair<std::int64_t, double>> expected_series(const std::vector<reading>& rs, std::int64_t from,
                                                             std::int64_t to, std::int64_t bucket_s,
                                                             const std::string& agg_name) {
  struct acc {
    std::int64_t n = 0;
    double sum = 0, mn = INFINITY, mx = -INFINITY;
    std::int64_t last_ts = INT64_MIN;
    double last = 0;
  };
  std::map<std::int64_t, acc> b;
  for (const auto& r : rs) {
    if (r.ts < from || r.ts >= to) continue;
    std::int64_t w = bucket_s * us_per_s;
    auto k = (r.ts / w - (r.ts % w < 0)) * w;
    auto& a = b[k];
    ++a.n;
    a.sum += r.v;
    a.mn = std::min(a.mn, r.v);
    a.mx = std::max(a.mx, r.v);
    if (r.ts > a.last_ts) a.last_ts = r.ts, a.last = r.v;
  }
  std::vector<std::pair<std::int64_t, double>> out;
  for (const auto& [k, a] : b) {
    double v = agg_name == "min"     ? a.mn
               : agg_name == "max"   ? a.mx
               : agg_name == "sum"   ? a.sum
               : agg_name == "count" ? double(a.n)
               : agg_name == "last"  ? a.last
                                     : a.sum / double(a.n);
    out.emplace_back(k, v);
  }
  return out;
}
}  // namespace

TEST_F(observations, series_reads_match_the_readings_in_raw_and_bucketed_form) {
  // Every 20 s from 10:00:00 to 11:59:40, integer values; the first half compacted, the second half not.
  std::vector<reading> rs;
  std::vector<obs_row> first, second;
  for (int i = 0; i < 360; ++i) {
    reading r{T0 + std::int64_t(i) * 20 * us_per_s, double((i * 7) % 17 - 5)};
    rs.push_back(r);
    (i < 200 ? first : second).push_back({s_, r.ts, r.v});
  }
  write({first});
  sync(obs().compact_rollups());
  write({second});
  write({{{t_, T0 + 30 * us_per_s, 1000}}});  // another series: never mixed in

  struct range {
    std::int64_t from, to;
  };
  for (auto rg : {range{T0, T0 + 2 * us_per_h}, range{T0 + 30 * us_per_s, T0 + us_per_h + 30 * us_per_min + 30 * us_per_s},
                  range{T0 + 50 * us_per_min + 10 * us_per_s, T0 + 70 * us_per_min}}) {
    for (std::int64_t bucket : {60, 300, 3600, 90, 7200}) {
      for (std::string a : {"avg", "min", "max", "sum", "count", "last"}) {
        storage::series_query q;
        q.series_id = s_;
        q.from_us = rg.from;
        q.to_us = rg.to;
        q.bucket_s = bucket;
        q.agg = a;
        auto got = sync(obs().series(q));
        auto want = expected_series(rs, rg.from, rg.to, bucket, a);
        ASSERT_EQ(got.size(), want.size()) << iso_utc(rg.from) << " bucket " << bucket << " " << a;
        for (std::size_t i = 0; i < want.size(); ++i) {
          EXPECT_EQ(got[i].ts_us, want[i].first) << iso_utc(rg.from) << " bucket " << bucket << " " << a << " #" << i;
          EXPECT_NEAR(got[i].value, want[i].second, 1e-9) << iso_utc(rg.from) << " bucket " << bucket << " " << a << " #" << i;
        }
      }
    }
  }
  // Raw points: [from, to), in time order, at most `limit`.
  storage::series_query q;
  q.series_id = s_;
  q.from_us = T0 + 20 * us_per_s;
  q.to_us = T0 + 100 * us_per_s;
  auto raw = sync(obs().series(q));
  ASSERT_EQ(raw.size(), 4u);  // :20, :40, 1:00, 1:20 (1:40 is the excluded end)
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(raw[i].ts_us, rs[i + 1].ts);
    EXPECT_EQ(raw[i].value, rs[i + 1].v);
  }
  q.limit = 2;
  EXPECT_EQ(sync(obs().series(q)).size(), 2u);
}
