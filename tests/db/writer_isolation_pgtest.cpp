// The observations writer's poison isolation (FINDINGS 1) and the migration lock's timeout
// (FINDINGS 5), against a real PostgreSQL. Each test gets a database of its own.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "maeul/domain/registry.hpp"
#include "maeul/storage/db_pool.hpp"
#include "maeul/storage/migrations.hpp"
#include "maeul/storage/observations.hpp"
#include "maeul/storage/operations.hpp"
#include "maeul/storage/registry.hpp"
#include "pg_support.hpp"

namespace {

namespace storage = maeul::storage;
using nlohmann::json;
using maeul_test::sync;

std::int64_t epoch_us(int y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return std::int64_t(sys_days{year{y} / month{m} / day{d}}.time_since_epoch().count()) * 86400 * 1000000;
}

class writer : public maeul_test::fresh_db {
 protected:
  void SetUp() override {
    fresh_db::SetUp();
    store_ = std::make_unique<storage::observation_store>(*pool_, *pool_);
  }

  void TearDown() override {
    store_.reset();
    fresh_db::TearDown();
  }

  // A water-level sensor; returns the series id of its metric.
  std::int32_t series_of(const std::string& id) {
    json body = {{"id", id},
                 {"domain", "disaster"},
                 {"kind", "water_level"},
                 {"location", {{"type", "Point"}, {"coordinates", {128.59, 38.20}}}},
                 {"metrics", json::array({{{"name", "level"}, {"unit", "m"}}})}};
    auto s = maeul::domain::validate_sensor(body);
    EXPECT_TRUE(s.ok());
    auto created = sync(registry_->create_sensor(s.value()));
    EXPECT_TRUE(created.ok());
    auto metas = sync(store_->sensors({id}));
    EXPECT_EQ(metas.size(), 1u);
    return metas.at(0).metrics.at(0).series_id;
  }

  std::int64_t stored_rows() { return count("SELECT count(*) FROM observations"); }

  // Makes the database refuse every reading of this value (a data error of class 23).
  void refuse_value(double v) {
    query("ALTER TABLE observations ADD CONSTRAINT test_refuses CHECK (value <> " + std::to_string(v) + ")");
  }

  std::unique_ptr<storage::observation_store> store_;
};

storage::row_batch rows_from(std::int32_t series, std::int64_t start_us, int n) {
  auto v = std::make_shared<std::vector<storage::obs_row>>();
  for (int i = 0; i < n; ++i) v->push_back({series, start_us + std::int64_t(i) * 1000000, 1.0 + i * 0.01});
  return v;
}

// A row the database refuses (here a CHECK constraint the test adds, SQLSTATE 23514: the writer's
// binary COPY stores every time PostgreSQL can hold, and times it cannot hold never get a partition)
// in one request of a group commit: only that row is refused, in its own request's answer; every
// other row of every request is stored.
TEST_F(writer, a_row_the_database_refuses_fails_only_itself) {
  auto a = series_of("wl-a");
  auto b = series_of("wl-b");
  refuse_value(-777);
  const auto now = epoch_us(2026, 11, 21);
  auto good1 = rows_from(a, now, 300);
  auto mixed = std::make_shared<std::vector<storage::obs_row>>();
  mixed->push_back({b, now, 1.5});
  mixed->push_back({b, now + 500000, -777});  // refused by the CHECK
  mixed->push_back({b, now + 1000000, 3.5});
  auto good2 = rows_from(b, now + 3600LL * 1000000, 300);

  auto counts = sync(store_->write({good1, mixed, good2}));
  ASSERT_EQ(counts.size(), 3u);
  EXPECT_EQ(counts[0].accepted, 300);
  EXPECT_TRUE(counts[0].refused.empty());
  EXPECT_EQ(counts[1].accepted, 2);
  ASSERT_EQ(counts[1].refused.size(), 1u);
  EXPECT_EQ(counts[1].refused[0].position, 1u);
  EXPECT_EQ(counts[1].refused[0].reason.find("SQL"), std::string::npos);
  EXPECT_EQ(counts[2].accepted, 300);
  EXPECT_EQ(stored_rows(), 602);
  EXPECT_GE(store_->stats().refused_rows, 1);
}

// The same after a request of duplicates has sent the writer down the staging path.
TEST_F(writer, isolation_also_counts_duplicates_right) {
  auto a = series_of("wl-a");
  refuse_value(-777);
  const auto now = epoch_us(2026, 11, 21);
  auto first = rows_from(a, now, 10);
  ASSERT_EQ(sync(store_->write({first}))[0].accepted, 10);
  auto again = rows_from(a, now, 20);  // 10 stored already, 10 new
  auto bad = std::make_shared<std::vector<storage::obs_row>>();
  bad->push_back({a, now + 3600LL * 1000000, -777});
  auto counts = sync(store_->write({again, bad}));
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0].accepted, 10);
  EXPECT_EQ(counts[0].duplicates, 10);
  EXPECT_EQ(counts[1].accepted, 0);
  ASSERT_EQ(counts[1].refused.size(), 1u);
  EXPECT_EQ(counts[1].refused[0].position, 0u);
  EXPECT_EQ(stored_rows(), 20);
}

// A second migrator gives up after the timeout, naming the backend that holds the lock.
TEST_F(writer, migration_lock_times_out_and_names_the_holder) {
  pqxx::connection holder(url_);
  pqxx::nontransaction tx(holder);
  auto pid = tx.exec("SELECT pg_backend_pid()")[0][0].as<std::string>();
  tx.exec("SELECT pg_advisory_lock(" + std::to_string(0x6d6165756cLL) + ")");
  auto start = std::chrono::steady_clock::now();
  try {
    storage::migrate(url_, storage::embedded_migrations(), 1);
    FAIL() << "migrate returned while another session held the lock";
  } catch (const storage::migration_lock_timeout& e) {
    std::string what = e.what();
    EXPECT_NE(what.find(pid), std::string::npos) << what;
  }
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(900));
  EXPECT_LT(waited, std::chrono::seconds(10));
  tx.exec("SELECT pg_advisory_unlock_all()");
  EXPECT_NO_THROW(storage::migrate(url_, storage::embedded_migrations(), 1));
}

// Open alerts are the engine's state to rebuild at start (FINDINGS 4); an alert whose condition
// has cleared does not escalate, one that still holds does.
TEST_F(writer, active_subjects_and_escalation_of_cleared_alerts) {
  storage::operations_store ops(*pool_);
  auto rule = maeul::rules::parse_rule(json::parse(
      R"({"id":"river","name":{"en":"river"},"kind":"threshold","selector":{"kind":"water_level"},"metric":"level","op":">","value":2,"severity":"critical"})"));
  ASSERT_TRUE(rule.ok());
  ASSERT_TRUE(sync(ops.create_rule(rule.value())).ok());
  auto rules = sync(ops.all_rules());
  auto open = [&](const std::string& sensor, bool is_open) {
    maeul::rules::transition t;
    t.rule_id = "river";
    t.subject = sensor;
    t.open = is_open;
    t.sensor = sensor;
    t.metric = "level";
    t.value = is_open ? 3.0 : 1.0;
    t.message = "level";
    t.at_us = epoch_us(2026, 11, 21);
    return t;
  };
  auto opened = sync(ops.apply({open("wl-1", true), open("wl-2", true)}, rules));
  ASSERT_EQ(opened.size(), 2u);
  auto active = sync(ops.active_subjects());
  ASSERT_EQ(active.size(), 2u);
  EXPECT_EQ(active[0], (std::pair<std::string, std::string>{"river", "wl-1"}));
  EXPECT_EQ(active[1], (std::pair<std::string, std::string>{"river", "wl-2"}));

  auto cleared = sync(ops.apply({open("wl-1", false)}, rules));
  ASSERT_EQ(cleared.size(), 1u);
  EXPECT_EQ(cleared[0].event, "cleared");
  active = sync(ops.active_subjects());
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].second, "wl-2");

  auto escalated = sync(ops.escalate(0));
  ASSERT_EQ(escalated.size(), 1u);
  EXPECT_EQ(json::parse(escalated[0].alert_json)["sensor"], "wl-2");
}

}  // namespace
