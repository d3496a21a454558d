// What observation_store writes besides the readings themselves (those are in observations_pgtest.cpp):
// the series rows a sensor lookup creates, a reading whose month the database cannot make, and a
// compaction that finds the lock taken. See the table in write_coverage_pgtest.cpp.
#include <map>
#include <set>

#include "maeul/storage/observations.hpp"
#include "pg_support.hpp"

namespace {

using namespace maeul_test;
using storage::obs_row;

const std::int64_t T0 = utc_us(2026, 3, 10, 10, 0, 0);

class observation_writes : public fresh_db {
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
  storage::observation_store& obs() { return *store_; }

  // series rows as "sensor/metric" -> id.
  std::map<std::string, std::int32_t> series_rows() {
    std::map<std::string, std::int32_t> out;
    for (const auto& r : query("SELECT sensor_id, metric, id FROM series"))
      out[r[0].as<std::string>() + "/" + r[1].as<std::string>()] = r[2].as<std::int32_t>();
    return out;
  }

  static std::map<std::string, std::int32_t> ids_of(const std::vector<storage::sensor_meta>& metas) {
    std::map<std::string, std::int32_t> out;
    for (const auto& s : metas)
      for (const auto& m : s.metrics) out[s.id + "/" + m.name] = m.series_id;
    return out;
  }

  std::set<std::string> partitions() {
    std::set<std::string> out;
    // The monthly partitions: the leaves under observations -> observations_<domain> (migration 0013).
    for (const auto& r : query("SELECT relid::regclass::text FROM pg_partition_tree('observations') WHERE isleaf"))
      out.insert(r[0].as<std::string>());
    return out;
  }

  std::int32_t level_series(const std::string& sensor) {
    add_sensor(
        sensor_at(sensor, "disaster", "water_level", 128.59, 38.20, json::array({{{"name", "level"}, {"unit", "m"}}})));
    auto metas = sync(obs().sensors({sensor}));
    if (metas.size() != 1 || metas[0].metrics.size() != 1) throw std::logic_error("no series for " + sensor);
    return metas[0].metrics[0].series_id;
  }

  std::unique_ptr<storage::observation_store> store_;
};

storage::row_batch batch(std::vector<obs_row> rows) {
  return std::make_shared<const std::vector<obs_row>>(std::move(rows));
}

}  // namespace

TEST_F(observation_writes, looking_up_sensors_creates_one_series_row_per_metric_of_only_those_sensors) {
  json level = json::array({{{"name", "level"}, {"unit", "m"}}});
  add_sensor(sensor_at("a", "disaster", "water_level", 128.59, 38.20,
                       json::array({{{"name", "level"}, {"unit", "m"}}, {{"name", "temp"}, {"unit", "C"}}})));
  add_sensor(sensor_at("b", "disaster", "water_level", 128.60, 38.20, level));
  add_sensor(sensor_at("c", "mobility", "traffic_corridor", 128.61, 38.20,
                       json::array({{{"name", "travel_time_s"}, {"unit", "s"}}})));
  ASSERT_TRUE(series_rows().empty()) << "registering a sensor makes no series";

  auto a = sync(obs().sensors({"a"}));
  using M = std::map<std::string, std::int32_t>;
  auto rows = series_rows();
  EXPECT_EQ(rows.size(), 2u);
  EXPECT_EQ(ids_of(a), rows) << "the ids answered are the rows written";
  EXPECT_TRUE(rows.count("a/level") && rows.count("a/temp"));

  // Asked again (with an unknown id among them): nothing new, the same ids.
  auto again = sync(obs().sensors({"nope", "a"}));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(ids_of(again), rows);
  EXPECT_EQ(series_rows(), rows);
  EXPECT_TRUE(sync(obs().sensors({"nope"})).empty());
  EXPECT_EQ(series_rows(), rows);

  // Every sensor: the rest are created, the first ones keep their ids.
  auto all = sync(obs().all_sensors());
  EXPECT_EQ(all.size(), 3u);
  auto everything = series_rows();
  EXPECT_EQ(everything.size(), 4u);
  EXPECT_EQ(ids_of(all), everything);
  EXPECT_EQ(everything.at("a/level"), rows.at("a/level"));
  EXPECT_EQ(everything.at("a/temp"), rows.at("a/temp"));
  EXPECT_TRUE(everything.count("b/level") && everything.count("c/travel_time_s"));

  // A metric added by a replace gets its series at the next lookup; the old one keeps its id.
  ASSERT_TRUE(sync(reg().replace_sensor(sensor_at(
                       "b", "disaster", "water_level", 128.60, 38.20,
                       json::array({{{"name", "level"}, {"unit", "m"}}, {{"name", "rain"}, {"unit", "mm"}}}))))
                  .ok());
  auto b = sync(obs().sensors({"b"}));
  auto after = series_rows();
  EXPECT_EQ(after.size(), 5u);
  EXPECT_EQ(after.at("b/level"), everything.at("b/level"));
  EXPECT_EQ(ids_of(b), (M{{"b/level", after.at("b/level")}, {"b/rain", after.at("b/rain")}}));
}

TEST_F(observation_writes, a_reading_at_a_time_the_database_cannot_store_is_refused_alone_and_makes_no_partition) {
  auto s = level_series("wl-01");
  auto before = partitions();
  // 5001 BC: before PostgreSQL's earliest timestamp (4713 BC), so no partition can hold it.
  const std::int64_t ancient = utc_us(-5000, 1, 1);
  auto counts = sync(
      obs().write({batch({{s, T0, 1}, {s, ancient, 2}, {s, T0 + us_per_s, 3}}), batch({{s, T0 + 2 * us_per_s, 4}})}));
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0].accepted, 2);
  EXPECT_EQ(counts[0].duplicates, 0);
  ASSERT_EQ(counts[0].refused.size(), 1u);
  EXPECT_EQ(counts[0].refused[0].position, 1u);
  EXPECT_NE(counts[0].refused[0].reason.find("out of range"), std::string::npos) << counts[0].refused[0].reason;
  EXPECT_EQ(counts[1].accepted, 1);
  EXPECT_TRUE(counts[1].refused.empty());
  EXPECT_EQ(obs().stats().refused_rows, 1);

  std::vector<std::pair<std::int64_t, double>> stored;
  for (const auto& r : query("SELECT (extract(epoch FROM ts) * 1000000)::bigint, value FROM observations ORDER BY ts"))
    stored.emplace_back(r[0].as<std::int64_t>(), r[1].as<double>());
  EXPECT_EQ(stored,
            (std::vector<std::pair<std::int64_t, double>>{{T0, 1}, {T0 + us_per_s, 3}, {T0 + 2 * us_per_s, 4}}));
  auto r = query("SELECT sum(n)::bigint, sum(sum), min(min), max(max) FROM rollup_delta");
  EXPECT_EQ(r[0][0].as<std::int64_t>(), 3) << "deltas of the stored readings only";
  EXPECT_EQ(r[0][1].as<double>(), 8);
  EXPECT_EQ(r[0][2].as<double>(), 1);
  EXPECT_EQ(r[0][3].as<double>(), 4);
  std::set<std::string> made;
  for (const auto& p : partitions())
    if (!before.count(p)) made.insert(p);
  for (const auto& p : made)
    EXPECT_TRUE(p.size() > 8 && p.compare(p.size() - 8, 8, "_2026m03") == 0) << p << ": only the month of T0";

  // A batch of nothing but such readings: all refused, nothing written.
  auto none = sync(obs().write({batch({{s, ancient, 5}, {s, ancient - us_per_day * 40, 6}})}));
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0].accepted, 0);
  EXPECT_EQ(none[0].refused.size(), 2u);
  EXPECT_EQ(count("SELECT count(*) FROM observations"), 3);
  EXPECT_EQ(count("SELECT sum(n)::bigint FROM rollup_delta"), 3);
}

TEST_F(observation_writes, compaction_folds_nothing_while_another_compactor_holds_the_lock) {
  auto s = level_series("wl-01");
  sync(obs().write({batch({{s, T0 + 5 * us_per_s, 1}, {s, T0 + 50 * us_per_s, 2}, {s, T0 + us_per_min, 4}})}));
  ASSERT_EQ(count("SELECT count(*) FROM rollup_delta"), 2);

  pqxx::connection other(url_);
  pqxx::work holder(other);
  holder.exec("SELECT pg_advisory_xact_lock(7301)");  // the compactor's lock, as another instance holds it
  EXPECT_EQ(sync(obs().compact_rollups()), -1);
  EXPECT_EQ(count("SELECT count(*) FROM rollup_delta"), 2) << "the deltas stay for the compactor that holds the lock";
  EXPECT_EQ(count("SELECT count(*) FROM rollup_1m") + count("SELECT count(*) FROM rollup_1h"), 0);
  holder.abort();

  EXPECT_EQ(sync(obs().compact_rollups()), 2);
  EXPECT_EQ(count("SELECT count(*) FROM rollup_delta"), 0);
  auto m = query("SELECT n, sum, min, max, last FROM rollup_1m ORDER BY bucket");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0][0].as<std::int64_t>(), 2);
  EXPECT_EQ(m[0][1].as<double>(), 3);
  EXPECT_EQ(m[0][4].as<double>(), 2);
  EXPECT_EQ(m[1][0].as<std::int64_t>(), 1);
  EXPECT_EQ(m[1][1].as<double>(), 4);
  auto h = query("SELECT n, sum, min, max, last, (extract(epoch FROM bucket) * 1000000)::bigint FROM rollup_1h");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0][0].as<std::int64_t>(), 3);
  EXPECT_EQ(h[0][1].as<double>(), 7);
  EXPECT_EQ(h[0][2].as<double>(), 1);
  EXPECT_EQ(h[0][3].as<double>(), 4);
  EXPECT_EQ(h[0][4].as<double>(), 4);
  EXPECT_EQ(h[0][5].as<std::int64_t>(), T0);
}
