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
  auto created = sync(store().create({"gauge 7", "device", {"wl-01", "wl \"2\""}}));
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
  auto a = sync(store().create({"a", "operator", {}}));
  auto b = sync(store().create({"b", "operator", {}}));
  auto aid = json::parse(a.json).at("id").get<std::string>();
  auto bid = json::parse(b.json).at("id").get<std::string>();
  ASSERT_TRUE(sync(store().revoke(aid)));
  auto stamp = query_params("SELECT revoked_at::text FROM api_tokens WHERE id = $1", aid)[0][0].as<std::string>();
  EXPECT_FALSE(sync(store().revoke(aid)));
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
