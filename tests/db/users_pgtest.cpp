// user_store (storage/users.hpp) against a real PostgreSQL: accounts, the append-only grant audit,
// sessions (idle and hard end, disable) and the lock-out counts, with argon2id hashes from the
// real hasher (services/people.hpp).
#include "pg_support.hpp"

#include "maeul/services/people.hpp"
#include "maeul/storage/users.hpp"

namespace {

using namespace maeul_test;
using maeul::storage::user_store;
namespace svc = maeul::services;

// Small argon2id parameters: the tests check behaviour, not cost.
const svc::hash_params test_params{1, 8192 * 1024};

d::user_input alice() {
  d::user_input u;
  u.username = "alice";
  u.display_name = "Alice Kim";
  u.role = "operator";
  u.zones = {"downtown"};
  u.domains = {"mobility", "disaster"};
  u.password = "correct horse battery";
  return u;
}

class users_db : public fresh_db {
 protected:
  void SetUp() override {
    fresh_db::SetUp();
    users_ = std::make_unique<user_store>(*pool_);
  }
  void TearDown() override {
    users_.reset();
    fresh_db::TearDown();
  }
  user_store& users() { return *users_; }
  std::unique_ptr<user_store> users_;
};

TEST_F(users_db, create_get_list_never_show_the_hash) {
  auto u = alice();
  auto hash = svc::password_hasher::hash_now(u.password, test_params);
  auto created = sync(users().create(u, hash, "root (admin)"));
  ASSERT_TRUE(created.ok()) << created.error().describe();
  auto j = json::parse(*created);
  EXPECT_EQ(j["username"], "alice");
  EXPECT_EQ(j["role"], "operator");
  EXPECT_EQ(j["zones"], json::array({"downtown"}));
  EXPECT_EQ(j["domains"], json::array({"mobility", "disaster"}));
  EXPECT_EQ(j["disabled"], false);
  EXPECT_FALSE(j.contains("password_hash"));
  EXPECT_EQ(created->find("argon2id"), std::string::npos);

  auto again = sync(users().create(u, hash, "root (admin)"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, maeul::domain::problem_kind::conflict);

  auto cred = sync(users().credentials("alice"));
  ASSERT_TRUE(cred);
  EXPECT_EQ(cred->password_hash.rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(svc::password_hasher::verify_now(cred->password_hash, "correct horse battery"));
  EXPECT_FALSE(svc::password_hasher::verify_now(cred->password_hash, "correct horse batterY"));

  auto page = sync(users().list({"", 10}));
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(json::parse(page.items[0])["username"], "alice");
  EXPECT_FALSE(page.last_id);
}

TEST_F(users_db, every_change_of_a_right_is_kept_and_cannot_be_erased) {
  auto u = alice();
  ASSERT_TRUE(sync(users().create(u, svc::password_hasher::hash_now(u.password, test_params), "root (admin)")).ok());
  d::user_patch p;
  p.role = "analyst";
  p.zones = std::vector<std::string>{};
  auto r = sync(users().patch("alice", p, "", "root (admin)"));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(json::parse(r->json)["role"], "analyst");
  EXPECT_FALSE(r->sessions_ended);
  d::user_patch off;
  off.disabled = true;
  ASSERT_TRUE(sync(users().patch("alice", off, "", "root (admin)")).ok());
  ASSERT_TRUE(sync(users().patch("alice", d::user_patch{}, "$argon2id$fake", "root (admin)")).ok());
  ASSERT_TRUE(sync(users().remove("alice", "root (admin)")).ok());
  EXPECT_EQ(sync(users().get("alice")).error().kind, maeul::domain::problem_kind::not_found);

  auto page = sync(users().changes("alice", {"", 100}));
  ASSERT_EQ(page.items.size(), 5u);
  std::vector<std::string> actions;
  for (auto& i : page.items) actions.push_back(json::parse(i)["action"]);
  EXPECT_EQ(actions, (std::vector<std::string>{"create", "change", "disable", "password", "delete"}));
  auto change = json::parse(page.items[1]);
  EXPECT_EQ(change["actor"], "root (admin)");
  EXPECT_EQ(change["before"], (json{{"role", "operator"}, {"zones", {"downtown"}}}));
  EXPECT_EQ(change["after"], (json{{"role", "analyst"}, {"zones", json::array()}}));
  EXPECT_EQ(json::parse(page.items[3])["after"], (json{{"password", "changed"}}));
  EXPECT_EQ(json::parse(page.items[3]).dump().find("fake"), std::string::npos);

  EXPECT_THROW(query("DELETE FROM grant_changes"), pqxx::sql_error);
  EXPECT_THROW(query("UPDATE grant_changes SET actor = 'x'"), pqxx::sql_error);
  EXPECT_EQ(count("SELECT count(*) FROM grant_changes WHERE username = 'alice'"), 5);
}

TEST_F(users_db, sessions_end_when_idle_signed_out_disabled_or_past_their_end) {
  auto u = alice();
  ASSERT_TRUE(sync(users().create(u, "$argon2id$x", "cli")).ok());
  auto s = sync(users().create_session("alice", "h1", 3600));
  EXPECT_EQ(json::parse(s.user_json)["username"], "alice");
  auto who = sync(users().use_session("h1", 60));
  ASSERT_TRUE(who);
  EXPECT_EQ(who->kind, "user");
  EXPECT_EQ(who->name, "alice");
  EXPECT_EQ(who->role, "operator");
  EXPECT_EQ(who->zones, std::vector<std::string>{"downtown"});
  EXPECT_EQ(who->expires_at_us, s.expires_at_us);
  EXPECT_FALSE(sync(users().use_session("nope", 60)));

  // idle: last used 10 minutes ago, idle limit 5 minutes
  query("UPDATE user_sessions SET last_seen_at = now() - interval '10 minutes' WHERE id_hash = 'h1'");
  EXPECT_FALSE(sync(users().use_session("h1", 300)));
  EXPECT_TRUE(sync(users().use_session("h1", 3600)));  // and use marks it seen now
  EXPECT_TRUE(sync(users().use_session("h1", 300)));

  // hard end
  query("UPDATE user_sessions SET expires_at = now() - interval '1 second' WHERE id_hash = 'h1'");
  EXPECT_FALSE(sync(users().use_session("h1", 3600)));

  sync(users().create_session("alice", "h2", 3600));
  EXPECT_TRUE(sync(users().end_session("h2")));
  EXPECT_FALSE(sync(users().end_session("h2")));
  EXPECT_FALSE(sync(users().use_session("h2", 3600)));

  sync(users().create_session("alice", "h3", 3600));
  d::user_patch off;
  off.disabled = true;
  auto r = sync(users().patch("alice", off, "", "cli"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->sessions_ended);
  EXPECT_FALSE(sync(users().use_session("h3", 3600)));
  EXPECT_EQ(count("SELECT count(*) FROM user_sessions WHERE ended_at IS NULL"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM user_sessions WHERE id_hash LIKE 'ms_%'"), 0);
}

TEST_F(users_db, five_failures_in_the_window_lock_until_the_oldest_leaves_it) {
  for (int i = 1; i <= 4; ++i) {
    auto s = sync(users().record_failure("bob", "127.0.0.1", 5, 900));
    EXPECT_EQ(s.failures, i);
    EXPECT_FALSE(s.locked());
  }
  auto s = sync(users().record_failure("bob", "127.0.0.1", 5, 900));
  EXPECT_EQ(s.failures, 5);
  ASSERT_TRUE(s.locked());
  EXPECT_GE(s.retry_after_s, 895);
  EXPECT_LE(s.retry_after_s, 900);
  EXPECT_TRUE(sync(users().lockout("bob", 5, 900)).locked());
  EXPECT_FALSE(sync(users().lockout("carol", 5, 900)).locked());

  // The oldest failure 14 minutes ago: locked for about one more minute.
  query("UPDATE sign_in_failures SET at = now() - interval '14 minutes' WHERE id = (SELECT min(id) FROM sign_in_failures)");
  auto l = sync(users().lockout("bob", 5, 900));
  ASSERT_TRUE(l.locked());
  EXPECT_GE(l.retry_after_s, 55);
  EXPECT_LE(l.retry_after_s, 60);
  // Out of the window: four left, not locked.
  query("UPDATE sign_in_failures SET at = now() - interval '16 minutes' WHERE id = (SELECT min(id) FROM sign_in_failures)");
  l = sync(users().lockout("bob", 5, 900));
  EXPECT_EQ(l.failures, 4);
  EXPECT_FALSE(l.locked());

  // A successful sign-in (a new session) clears the username's failures.
  auto u = alice();
  u.username = "bob";
  ASSERT_TRUE(sync(users().create(u, "$argon2id$x", "cli")).ok());
  sync(users().create_session("bob", "hb", 60));
  EXPECT_EQ(sync(users().lockout("bob", 5, 900)).failures, 0);
}

}  // namespace
