// The planning service (transit/planning.hpp) on a real PostgreSQL: the pending bound covers the
// database reads (a slot is taken before any read), concurrent identical misses share one
// computation, and plan_all (plan.zip) holds a slot for its whole run.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "maeul/storage/transit.hpp"
#include "maeul/storage/transit_demand.hpp"
#include "maeul/transit/planning.hpp"
#include "maeul/transit/service.hpp"
#include "pg_support.hpp"

namespace {

using namespace maeul_test;
namespace tr = maeul::transit;
namespace asio = boost::asio;
using plan_result = std::pair<tr::planning_status, std::shared_ptr<const tr::route_plan>>;

class planning_service : public fresh_db {
 protected:
  void SetUp() override {
    fresh_db::SetUp();
    if (HasFatalFailure()) return;
    store_ = std::make_unique<storage::transit_store>(*pool_);
    demand_ = std::make_unique<storage::transit_demand_store>(*pool_);
    service_ = std::make_unique<tr::service>(*store_, tr::options{});
    storage::gtfs_feed f;
    f.agencies = {{"SK", "Sokcho Bus", "https://bus.example", "Asia/Seoul"}};
    f.stops = {{"S1", "One", "", "", 0, 128.52, 38.12}, {"S2", "Two", "", "", 0, 128.62, 38.12}};
    f.routes = {{"R1", "SK", "1", "Beach", "", "", 3}, {"R2", "SK", "2", "Hill", "", "", 3}};
    f.trips = {{"T1", "R1", "ALL", "", "", 0}, {"T2", "R2", "ALL", "", "", 0}};
    f.stop_times = {{"T1", "S1", 1, 0, 0}, {"T1", "S2", 2, 300, 300}, {"T2", "S2", 1, 0, 0}, {"T2", "S1", 2, 300, 300}};
    f.calendars = {{"ALL", 127, "2026-01-01", "2027-12-31"}};
    f.frequencies = {{"T1", 0, 86400, 600, 0}, {"T2", 0, 86400, 1200, 0}};
    ASSERT_TRUE(sync(store_->replace_feed(f)));
    ASSERT_TRUE(sync(service_->load()));
  }
  void TearDown() override {
    planning_.reset();
    service_.reset();
    demand_.reset();
    store_.reset();
    fresh_db::TearDown();
  }
  tr::planning& planning(int max_queue) {
    tr::planning_options o;
    o.max_queue = max_queue;
    planning_ = std::make_unique<tr::planning>(*service_, *store_, *demand_, o);
    return *planning_;
  }
  std::unique_ptr<storage::transit_store> store_;
  std::unique_ptr<storage::transit_demand_store> demand_;
  std::unique_ptr<tr::service> service_;
  std::unique_ptr<tr::planning> planning_;
};

const std::int64_t day = *tr::parse_date("2026-12-08");

TEST_F(planning_service, identical_misses_share_one_computation_and_others_wait_for_no_slot) {
  auto& p = planning(1);
  asio::io_context ioc;
  std::vector<std::optional<plan_result>> same(4);
  std::optional<plan_result> other;
  int errors = 0;
  // All five start before any database answer: the first takes the only slot, the three identical
  // ones join it, the different one finds no slot before reading anything.
  for (auto& s : same)
    asio::co_spawn(ioc, p.plan("R1", day, day, {}), [&](std::exception_ptr e, plan_result r) {
      if (e) ++errors;
      else s = r;
    });
  asio::co_spawn(ioc, p.plan("R2", day, day, {}), [&](std::exception_ptr e, plan_result r) {
    if (e) ++errors;
    else other = r;
  });
  ioc.run();
  ASSERT_EQ(errors, 0);
  for (auto& s : same) {
    ASSERT_TRUE(s);
    EXPECT_EQ(s->first, tr::planning_status::ok);
    EXPECT_EQ(s->second.get(), same[0]->second.get()) << "one computation, one answer";
  }
  ASSERT_TRUE(same[0]->second);
  EXPECT_EQ(same[0]->second->demand.route, "R1");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->first, tr::planning_status::busy);
  EXPECT_EQ(p.overflowed(), 1);
  EXPECT_EQ(p.pending(), 0);
  // Afterwards the slot is free again (and R1's answer cached).
  auto again = sync(p.plan("R2", day, day, {}));
  EXPECT_EQ(again.first, tr::planning_status::ok);
  EXPECT_EQ(sync(p.plan("R1", day, day, {})).second.get(), same[0]->second.get());
}

TEST_F(planning_service, plan_all_holds_a_slot_for_its_whole_run) {
  auto& p = planning(1);
  asio::io_context ioc;
  using all_result = std::pair<tr::planning_status, std::vector<std::shared_ptr<const tr::route_plan>>>;
  std::optional<all_result> all;
  std::optional<plan_result> one;
  asio::co_spawn(ioc, p.plan_all(day, day, {}), [&](std::exception_ptr e, all_result r) {
    if (!e) all = std::move(r);
  });
  asio::co_spawn(ioc, p.plan("R2", day + 1, day, {}), [&](std::exception_ptr e, plan_result r) {
    if (!e) one = r;
  });
  ioc.run();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->first, tr::planning_status::ok);
  ASSERT_EQ(all->second.size(), 2u);
  EXPECT_EQ(all->second[0]->demand.route, "R1");
  EXPECT_EQ(all->second[1]->demand.route, "R2");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->first, tr::planning_status::busy);
  EXPECT_EQ(p.pending(), 0);
  // and plan_all is refused while a plan holds the only slot
  asio::io_context ioc2;
  std::optional<all_result> all2;
  asio::co_spawn(ioc2, p.plan("R1", day + 2, day, {}), [&](std::exception_ptr, plan_result) {});
  asio::co_spawn(ioc2, p.plan_all(day + 3, day, {}), [&](std::exception_ptr e, all_result r) {
    if (!e) all2 = std::move(r);
  });
  ioc2.run();
  ASSERT_TRUE(all2);
  EXPECT_EQ(all2->first, tr::planning_status::busy);
  EXPECT_EQ(p.pending(), 0);
}

}  // namespace
