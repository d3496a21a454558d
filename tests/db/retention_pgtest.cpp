// The retention job (observation_store::drop_expired) against a real PostgreSQL: a month past the
// horizon is detached and dropped with its indexes; its rollup deltas (not in the partition)
// survive the drop and are folded by the periodic fold, so the rollups keep the dropped month.
#include <chrono>

#include "maeul/storage/observations.hpp"
#include "pg_support.hpp"

namespace {

using namespace maeul_test;
using storage::obs_row;

class retention : public fresh_db {
 protected:
  void SetUp() override {
    fresh_db::SetUp();
    if (HasFatalFailure()) return;
    store_ = std::make_unique<storage::observation_store>(*pool_, *pool_);
    add_sensor(sensor_at("wl-01", "disaster", "water_level", 128.59, 38.20, json::array({{{"name", "level"}, {"unit", "m"}}})));
    auto metas = sync(store_->sensors({"wl-01"}));
    ASSERT_EQ(metas.size(), 1u);
    series_ = metas[0].metrics.at(0).series_id;
  }
  void TearDown() override {
    store_.reset();
    fresh_db::TearDown();
  }
  void write(std::vector<obs_row> rows) {
    std::vector<storage::row_batch> b{std::make_shared<const std::vector<obs_row>>(std::move(rows))};
    sync(store_->write(std::move(b)));
  }
  std::unique_ptr<storage::observation_store> store_;
  std::int32_t series_ = 0;
};

TEST_F(retention, a_month_past_the_horizon_is_dropped_with_its_indexes_and_its_rollups_kept) {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
  const std::int64_t old_minute = utc_us(2025, 1, 15, 10, 0, 0);
  const std::int64_t recent_minute = (now / us_per_min - 5) * us_per_min;
  write({{series_, old_minute + 5 * us_per_s, 2}, {series_, old_minute + 25 * us_per_s, 4},
         {series_, recent_minute + us_per_s, 7}});
  ASSERT_EQ(count("SELECT count(*) FROM pg_class WHERE relname = 'observations_disaster_2025m01'"), 1);
  ASSERT_EQ(count("SELECT count(*) FROM rollup_delta"), 2);

  auto dropped = sync(store_->drop_expired({{"disaster", 365}, {"energy", 0}}, now));
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].partition, "observations_disaster_2025m01");
  EXPECT_EQ(dropped[0].domain, "disaster");
  EXPECT_EQ(dropped[0].month_us, utc_us(2025, 1, 1));
  EXPECT_EQ(count("SELECT count(*) FROM pg_class WHERE relname LIKE 'observations_disaster_2025m01%'"), 0)
      << "the table and its primary key's index are gone";
  EXPECT_EQ(count("SELECT count(*) FROM observations"), 1) << "the kept month's reading stays";
  EXPECT_EQ(count("SELECT count(*) FROM retention_drops WHERE partition = 'observations_disaster_2025m01'"), 1);

  // The dropped month's deltas survive the drop (the job takes no writer and folds nothing); the
  // periodic fold then puts them into the rollups.
  EXPECT_EQ(count("SELECT count(*) FROM rollup_delta"), 2);
  EXPECT_EQ(sync(store_->compact_rollups()), 2);
  auto r = query("SELECT n, sum FROM rollup_1m WHERE bucket = 'epoch'::timestamptz + " + std::to_string(old_minute) +
                 " * interval '1 microsecond'");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0].as<int>(), 2);
  EXPECT_EQ(r[0][1].as<double>(), 6.0);

  EXPECT_TRUE(sync(store_->drop_expired({{"disaster", 365}}, now)).empty()) << "nothing left to drop";
}

}  // namespace
