// Migrations against a real PostgreSQL (the URL comes from MAEUL_TEST_DB_URL, set by scripts/test).
#include <gtest/gtest.h>

#include <cstdlib>

#include "maeul/storage/db_pool.hpp"
#include "maeul/storage/migrations.hpp"

using namespace maeul::storage;

static std::string test_url() {
  const char* u = std::getenv("MAEUL_TEST_DB_URL");
  return u ? u : "";
}

TEST(migrations, apply_once_and_refuse_a_newer_schema) {
  auto url = test_url();
  ASSERT_FALSE(url.empty()) << "MAEUL_TEST_DB_URL is not set";
  auto first = migrate(url);
  auto second = migrate(url);
  EXPECT_EQ(second.before, first.after);
  EXPECT_TRUE(second.applied.empty());
  EXPECT_EQ(schema_version(url), embedded_migrations().back().version);

  auto all = embedded_migrations();
  all.push_back({all.back().version + 1, "9999_future", "CREATE TABLE future_thing (x int)"});
  auto ahead = migrate(url, all);
  ASSERT_EQ(ahead.applied.size(), 1u);
  EXPECT_THROW(migrate(url), schema_too_new);
}

TEST(migrations, unreachable_database_is_reported_as_unavailable) {
  EXPECT_THROW(migrate("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"), unavailable);
}
