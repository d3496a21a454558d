// Budget-line writes of the KPI store (create, replace, delete) against a real PostgreSQL: the
// last write statements of kpi_store.cpp that no other database test covered.
#include <gtest/gtest.h>

#include "maeul/storage/kpi_store.hpp"
#include "pg_support.hpp"

namespace {

using namespace maeul_test;
namespace storage = maeul::storage;

class budget : public fresh_db {
 protected:
  void SetUp() override {
    fresh_db::SetUp();
    store_ = std::make_unique<storage::kpi_store>(*pool_);
  }
  void TearDown() override {
    store_.reset();
    fresh_db::TearDown();
  }
  storage::kpi_store& kpis() { return *store_; }
  std::unique_ptr<storage::kpi_store> store_;
};

json line(int year, std::int64_t amount, json kpis = json::array()) {
  return {{"program", {{"ko", "스마트 버스"}, {"en", "Smart buses"}}}, {"year", year}, {"amount_krw", amount},
          {"kpis", kpis}};
}

TEST_F(budget, create_replace_delete_and_their_rows) {
  auto created = sync(kpis().create_budget("bl-bus", line(2026, 1200000000, {"transit_boardings_per_capita"}).dump()));
  ASSERT_TRUE(created.ok()) << created.error().describe();
  auto c = json::parse(created.value());
  EXPECT_EQ(c["id"], "bl-bus");
  EXPECT_EQ(c["year"], 2026);
  EXPECT_EQ(c["amount_krw"], 1200000000);
  EXPECT_EQ(c["program"]["en"], "Smart buses");
  EXPECT_EQ(c["kpis"], json::array({"transit_boardings_per_capita"}));
  EXPECT_EQ(count("SELECT count(*) FROM budget_lines WHERE id = 'bl-bus' AND amount_krw = 1200000000"), 1);

  auto again = sync(kpis().create_budget("bl-bus", line(2026, 1).dump()));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, maeul::domain::problem_kind::conflict);

  auto generated = sync(kpis().create_budget("", line(2027, 5).dump()));
  ASSERT_TRUE(generated.ok());
  auto gid = json::parse(generated.value())["id"].get<std::string>();
  EXPECT_EQ(gid.rfind("bl_", 0), 0u) << gid;

  auto replaced = sync(kpis().replace_budget("bl-bus", line(2027, 900, {"renewable_share"}).dump()));
  ASSERT_TRUE(replaced.ok()) << replaced.error().describe();
  auto r = json::parse(replaced.value());
  EXPECT_EQ(r["year"], 2027);
  EXPECT_EQ(r["amount_krw"], 900);
  EXPECT_EQ(r["kpis"], json::array({"renewable_share"}));
  EXPECT_EQ(count("SELECT count(*) FROM budget_lines WHERE id = 'bl-bus' AND year = 2027 AND amount_krw = 900"), 1);
  EXPECT_EQ(sync(kpis().list_budget(2027)).size(), 2u);
  EXPECT_EQ(sync(kpis().list_budget(2026)).size(), 0u);

  auto missing = sync(kpis().replace_budget("bl-none", line(2026, 1).dump()));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, maeul::domain::problem_kind::not_found);

  ASSERT_TRUE(sync(kpis().delete_budget("bl-bus")).ok());
  EXPECT_EQ(count("SELECT count(*) FROM budget_lines WHERE id = 'bl-bus'"), 0);
  auto twice = sync(kpis().delete_budget("bl-bus"));
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().kind, maeul::domain::problem_kind::not_found);
  EXPECT_EQ(count("SELECT count(*) FROM budget_lines"), 1);
}

}  // namespace
