// API tokens (storage/registry.hpp, src/storage/tokens.cpp): what create, lookup, get and revoke
// write and read in api_tokens. Complements the token tests in registry_pgtest.cpp.
#include "pg_support.hpp"

namespace {

using namespace maeul_test;

class tokens : public fresh_db {
 protected:
  void SetUp() override {
    fresh_db::SetUp();
    if (HasFatalFailure()) return;
    store_ = std::make_unique<storage::token_store>(*pool_);
  }
  void TearDown() override {
    store_.reset();
    fresh_db::TearDown();
  }

 public:
  storage::token_store& store() { return *store_; }
  std::unique_ptr<storage::token_store> store_;
};

}  // namespace

TEST_F(tokens, create_writes_one_row_with_the_hash_of_the_secret_only) {
  auto created = sync(store().create({"gauge 7", "device", {"wl-01", "wl \"2\""}}, "test"));
  auto id = json::parse(created.json).at("id").get<std::string>();
  EXPECT_EQ(id.rfind("tok_", 0), 0u);
  EXPECT_EQ(id.size(), 4u + 12u);
  // 32 random bytes in base64url without padding: 43 characters after "mt_".
  EXPECT_EQ(created.token.size(), 3u + 43u);
  auto r = query_params("SELECT name, role, sensors::text, token_hash, revoked_at IS NULL, created_at <= now() "
                        "FROM api_tokens WHERE id = $1",
                        id);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0].as<std::string>(), "gauge 7");
  EXPECT_EQ(r[0][1].as<std::string>(), "device");
  EXPECT_EQ(r[0][2].as<std::string>(), R"({wl-01,"wl \"2\""})");
  EXPECT_EQ(r[0][3].as<std::string>(), storage::hash_token(created.token));
  EXPECT_EQ(r[0][3].as<std::string>().size(), 64u);
  EXPECT_TRUE(r[0][4].as<bool>());
  EXPECT_TRUE(r[0][5].as<bool>());
  EXPECT_EQ(count("SELECT count(*) FROM api_tokens"), 1);

  auto who = sync(store().lookup(storage::hash_token(created.token)));
  ASSERT_TRUE(who);
  EXPECT_EQ(who->sensors, (std::vector<std::string>{"wl-01", "wl \"2\""}));
  auto got = sync(store().get(id));
  ASSERT_TRUE(got);
  auto gj = json::parse(*got);
  EXPECT_EQ(gj.at("name"), "gauge 7");
  EXPECT_FALSE(gj.contains("token"));
}

TEST_F(tokens, revoke_stamps_revoked_at_once_and_hides_the_token) {
  auto a = sync(store().create({"a", "operator", {}}, "test"));
  auto b = sync(store().create({"b", "operator", {}}, "test"));
  auto aid = json::parse(a.json).at("id").get<std::string>();
  auto bid = json::parse(b.json).at("id").get<std::string>();
  ASSERT_TRUE(sync(store().revoke(aid, "test")));
  auto stamp = query_params("SELECT revoked_at::text FROM api_tokens WHERE id = $1", aid)[0][0].as<std::string>();
  EXPECT_FALSE(sync(store().revoke(aid, "test")));
  EXPECT_EQ(query_params("SELECT revoked_at::text FROM api_tokens WHERE id = $1", aid)[0][0].as<std::string>(), stamp)
      << "a second revoke does not move the stamp";
  EXPECT_EQ(count("SELECT count(*) FROM api_tokens"), 2) << "revoked rows stay for the audit trail";
  EXPECT_EQ(count("SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL"), 1);
  EXPECT_FALSE(sync(store().lookup(storage::hash_token(a.token))));
  EXPECT_FALSE(sync(store().get(aid)));
  EXPECT_TRUE(sync(store().lookup(storage::hash_token(b.token))));
  EXPECT_TRUE(sync(store().get(bid)));
}

TEST(tokens_now, an_unreachable_database_is_unavailable) {
  EXPECT_THROW(storage::create_token_now("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", {"x", "admin", {}}),
               storage::unavailable);
}

TEST_F(tokens, scopes_and_an_end_are_written_and_read_back_and_an_ended_token_is_not_found) {
  maeul::domain::token_input t{"scoped", "analyst", {}};
  t.zones = {"downtown", "seorak"};
  t.domains = {"energy"};
  t.expires_at_us = 4102444800000000;  // 2100-01-01
  auto created = sync(store().create(t, "Kim (admin)"));
  auto id = json::parse(created.json).at("id").get<std::string>();
  auto r = query_params("SELECT zones::text, domains::text, expires_at = '2100-01-01T00:00:00Z', created_by "
                        "FROM api_tokens WHERE id = $1", id);
  EXPECT_EQ(r[0][0].as<std::string>(), "{downtown,seorak}");
  EXPECT_EQ(r[0][1].as<std::string>(), "{energy}");
  EXPECT_TRUE(r[0][2].as<bool>());
  EXPECT_EQ(r[0][3].as<std::string>(), "Kim (admin)");
  auto who = sync(store().lookup(storage::hash_token(created.token)));
  ASSERT_TRUE(who);
  EXPECT_EQ(who->zones, t.zones);
  EXPECT_EQ(who->domains, t.domains);
  EXPECT_EQ(who->expires_at_us, *t.expires_at_us);
  // Past its end the row stays, but the lookup finds nothing.
  query_params("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1", id);
  EXPECT_FALSE(sync(store().lookup(storage::hash_token(created.token))));
}

TEST_F(tokens, creation_and_revocation_write_grant_rows_in_the_same_transaction_without_the_secret) {
  auto created = sync(store().create({"gw", "device", {"wl-01"}}, "Lee (admin)"));
  auto id = json::parse(created.json).at("id").get<std::string>();
  ASSERT_TRUE(sync(store().revoke(id, "Park (admin)")));
  auto rows = query_params("SELECT action, actor, subject, username, before IS NULL, after IS NULL, "
                           "coalesce(before::text, '') || coalesce(after::text, '') FROM grant_changes "
                           "WHERE username = $1 ORDER BY id", id);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0].as<std::string>(), "create");
  EXPECT_EQ(rows[0][1].as<std::string>(), "Lee (admin)");
  EXPECT_EQ(rows[0][2].as<std::string>(), "token");
  EXPECT_TRUE(rows[0][4].as<bool>());
  EXPECT_FALSE(rows[0][5].as<bool>());
  EXPECT_EQ(rows[1][0].as<std::string>(), "revoke");
  EXPECT_EQ(rows[1][1].as<std::string>(), "Park (admin)");
  EXPECT_FALSE(rows[1][4].as<bool>());
  EXPECT_TRUE(rows[1][5].as<bool>());
  for (const auto& row : rows) {
    EXPECT_EQ(row[6].as<std::string>().find(created.token), std::string::npos) << "no secret in the record";
    EXPECT_EQ(row[6].as<std::string>().find(storage::hash_token(created.token)), std::string::npos) << "no hash either";
  }
  // A failed revoke writes nothing.
  EXPECT_FALSE(sync(store().revoke(id, "Park (admin)")));
  EXPECT_EQ(count("SELECT count(*) FROM grant_changes"), 2);
  auto page = sync(store().changes(id, {"", 10}));
  EXPECT_EQ(page.items.size(), 2u);
}
