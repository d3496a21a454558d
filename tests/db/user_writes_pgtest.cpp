// What user_store (storage/users.hpp) writes, read back with plain SQL: the account row, the
// append-only grant rows, sessions and failed sign-ins, and what a refused or empty change leaves
// untouched. See the table in write_coverage_pgtest.cpp.
#include "maeul/storage/users.hpp"
#include "pg_support.hpp"

namespace {

using namespace maeul_test;
using maeul::storage::user_store;

d::user_input person(const std::string& username) {
  d::user_input u;
  u.username = username;
  u.display_name = "Alice Kim";
  u.role = "operator";
  u.zones = {"downtown"};
  u.domains = {"mobility", "disaster"};
  return u;
}

const std::string hash1 = "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
const std::string hash2 = "$argon2id$v=19$m=8192,t=1,p=1$b3RoZXJzYWx0$bmV3aGFzaG5ld2hhc2g";

class user_writes : public fresh_db {
 protected:
  void SetUp() override {
    fresh_db::SetUp();
    if (HasFatalFailure()) return;
    users_ = std::make_unique<user_store>(*pool_);
  }
  void TearDown() override {
    users_.reset();
    fresh_db::TearDown();
  }

 public:
  user_store& users() { return *users_; }

  std::int64_t db_clock_us() { return count("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint"); }

  // A timestamptz expression of one row as microseconds since the epoch; -1 when NULL.
  std::int64_t us(const std::string& expr, const std::string& from_where, const std::string& key) {
    auto r = query_params("SELECT (extract(epoch FROM " + expr + ") * 1000000)::bigint " + from_where, key);
    if (r.empty()) throw std::runtime_error("no row: " + from_where + " with " + key);
    return r[0][0].is_null() ? -1 : r[0][0].as<std::int64_t>();
  }

  // The grant rows of one username in order: {at_us, actor, action, before, after}; a JSON null
  // and an SQL NULL both read as null.
  std::vector<json> grants(const std::string& username) {
    std::vector<json> out;
    for (const auto& r : query_params("SELECT (extract(epoch FROM at) * 1000000)::bigint, actor, action, before::text, "
                                      "after::text FROM grant_changes WHERE username = $1 ORDER BY id",
                                      username))
      out.push_back({{"at", r[0].as<std::int64_t>()},
                     {"actor", r[1].as<std::string>()},
                     {"action", r[2].as<std::string>()},
                     {"before", r[3].is_null() ? json() : json::parse(r[3].as<std::string>())},
                     {"after", r[4].is_null() ? json() : json::parse(r[4].as<std::string>())}});
    return out;
  }

  void create(const d::user_input& u, const std::string& hash = hash1) {
    auto r = sync(users().create(u, hash, "root (admin)"));
    ASSERT_TRUE(r.ok()) << r.error().describe();
  }

  // Moves an account's created_at and updated_at an hour back (a later write is then distinguishable).
  void age(const std::string& username) {
    query_params(
        "UPDATE users SET created_at = created_at - interval '1 hour', updated_at = updated_at - "
        "interval '1 hour' WHERE username = $1",
        username);
  }

  std::string row_text(const std::string& username) {
    auto r = query_params("SELECT u::text FROM users u WHERE username = $1", username);
    return r.empty() ? "" : r[0][0].as<std::string>();
  }

  std::unique_ptr<user_store> users_;
};

const json alice_rights = {{"display_name", "Alice Kim"},
                           {"role", "operator"},
                           {"zones", {"downtown"}},
                           {"domains", {"mobility", "disaster"}},
                           {"disabled", false}};

}  // namespace

// ---- accounts and their grant rows

TEST_F(user_writes, create_writes_the_account_row_and_a_create_grant_row) {
  auto before = db_clock_us();
  create(person("alice"));
  auto after = db_clock_us();

  auto r = query(
      "SELECT display_name, role, zones::text, domains::text, password_hash, disabled, created_at = updated_at "
      "FROM users WHERE username = 'alice'");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0].as<std::string>(), "Alice Kim");
  EXPECT_EQ(r[0][1].as<std::string>(), "operator");
  EXPECT_EQ(r[0][2].as<std::string>(), "{downtown}");
  EXPECT_EQ(r[0][3].as<std::string>(), "{mobility,disaster}");
  EXPECT_EQ(r[0][4].as<std::string>(), hash1) << "the hash as given";
  EXPECT_FALSE(r[0][5].as<bool>());
  EXPECT_TRUE(r[0][6].as<bool>());
  auto created_at = us("created_at", "FROM users WHERE username = $1", "alice");
  EXPECT_GE(created_at, before);
  EXPECT_LE(created_at, after);

  auto g = grants("alice");
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0]["actor"], "root (admin)");
  EXPECT_EQ(g[0]["action"], "create");
  EXPECT_TRUE(g[0]["before"].is_null());
  EXPECT_EQ(g[0]["after"], alice_rights);
  EXPECT_EQ(g[0]["at"], created_at) << "the account and its grant row are one transaction";

  // The same username again: a conflict that changes neither the account nor the audit.
  auto stored = row_text("alice");
  auto other = person("alice");
  other.role = "admin";
  auto dup = sync(users().create(other, hash2, "mallory (admin)"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().kind, maeul::domain::problem_kind::conflict);
  EXPECT_EQ(row_text("alice"), stored);
  EXPECT_EQ(grants("alice").size(), 1u);
  EXPECT_EQ(count("SELECT count(*) FROM users"), 1);
}

TEST_F(user_writes, create_user_now_writes_the_account_and_a_grant_row_by_cli) {
  auto created = storage::create_user_now(url_, person("root"), hash1);
  ASSERT_TRUE(created.ok()) << created.error().describe();
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE username = 'root' AND role = 'operator' AND password_hash = '" +
                  hash1 + "' AND NOT disabled"),
            1);
  auto g = grants("root");
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0]["actor"], "cli");
  EXPECT_EQ(g[0]["action"], "create");
  EXPECT_EQ(g[0]["after"], alice_rights);

  auto dup = storage::create_user_now(url_, person("root"), hash2);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().kind, maeul::domain::problem_kind::conflict);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE password_hash = '" + hash2 + "'"), 0);
  EXPECT_EQ(grants("root").size(), 1u);
  EXPECT_THROW(storage::create_user_now("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", person("x"), hash1),
               storage::unavailable);
}

TEST_F(user_writes, patch_rewrites_the_row_and_appends_one_grant_row_per_kind_of_change) {
  create(person("alice"));
  age("alice");
  auto created_at = us("created_at", "FROM users WHERE username = $1", "alice");

  d::user_patch p;
  p.display_name = "Alice Park";
  p.role = "analyst";
  p.zones = std::vector<std::string>{};
  p.domains = std::vector<std::string>{"mobility", "disaster"};  // as it is: not a change
  p.disabled = true;
  auto before = db_clock_us();
  auto patched = sync(users().patch("alice", p, hash2, "root (admin)"));
  auto after = db_clock_us();
  ASSERT_TRUE(patched.ok()) << patched.error().describe();
  EXPECT_TRUE(patched->sessions_ended);

  auto r = query(
      "SELECT display_name, role, zones::text, domains::text, password_hash, disabled FROM users "
      "WHERE username = 'alice'");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0].as<std::string>(), "Alice Park");
  EXPECT_EQ(r[0][1].as<std::string>(), "analyst");
  EXPECT_EQ(r[0][2].as<std::string>(), "{}");
  EXPECT_EQ(r[0][3].as<std::string>(), "{mobility,disaster}");
  EXPECT_EQ(r[0][4].as<std::string>(), hash2);
  EXPECT_TRUE(r[0][5].as<bool>());
  EXPECT_EQ(us("created_at", "FROM users WHERE username = $1", "alice"), created_at);
  auto updated_at = us("updated_at", "FROM users WHERE username = $1", "alice");
  EXPECT_GE(updated_at, before);
  EXPECT_LE(updated_at, after);

  auto g = grants("alice");
  ASSERT_EQ(g.size(), 4u);
  std::vector<std::string> actions;
  for (std::size_t i = 0; i < g.size(); ++i) {
    actions.push_back(g[i]["action"]);
    EXPECT_EQ(g[i]["actor"], "root (admin)");
    if (i == 0) continue;  // the create row
    EXPECT_GE(g[i]["at"].get<std::int64_t>(), before) << "the patch's rows are stamped by its transaction";
    EXPECT_LE(g[i]["at"].get<std::int64_t>(), after);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"create", "change", "disable", "password"}));
  EXPECT_EQ(g[1]["before"], (json{{"display_name", "Alice Kim"}, {"role", "operator"}, {"zones", {"downtown"}}}));
  EXPECT_EQ(g[1]["after"], (json{{"display_name", "Alice Park"}, {"role", "analyst"}, {"zones", json::array()}}));
  EXPECT_EQ(g[2]["before"], (json{{"disabled", false}}));
  EXPECT_EQ(g[2]["after"], (json{{"disabled", true}}));
  EXPECT_TRUE(g[3]["before"].is_null());
  EXPECT_EQ(g[3]["after"], (json{{"password", "changed"}}));
  EXPECT_EQ(count("SELECT count(*) FROM grant_changes WHERE before::text LIKE '%argon2id%' OR after::text LIKE "
                  "'%argon2id%'"),
            0)
      << "no hash in the audit";

  // An unknown username: 404, and neither an account nor a grant row appears.
  auto missing = sync(users().patch("nobody", p, "", "root (admin)"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, maeul::domain::problem_kind::not_found);
  EXPECT_EQ(count("SELECT count(*) FROM users"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM grant_changes WHERE username = 'nobody'"), 0);
}

TEST_F(user_writes, enabling_again_appends_an_enable_row_and_a_no_op_patch_appends_none) {
  create(person("alice"));
  d::user_patch off;
  off.disabled = true;
  ASSERT_TRUE(sync(users().patch("alice", off, "", "kim")).ok());
  d::user_patch on;
  on.disabled = false;
  auto enabled = sync(users().patch("alice", on, "", "lee"));
  ASSERT_TRUE(enabled.ok()) << enabled.error().describe();
  EXPECT_FALSE(enabled->sessions_ended) << "enabling ends nothing";
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE username = 'alice' AND NOT disabled"), 1);
  auto g = grants("alice");
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[1]["action"], "disable");
  EXPECT_EQ(g[1]["actor"], "kim");
  EXPECT_EQ(g[2]["action"], "enable");
  EXPECT_EQ(g[2]["actor"], "lee");
  EXPECT_EQ(g[2]["before"], (json{{"disabled", true}}));
  EXPECT_EQ(g[2]["after"], (json{{"disabled", false}}));

  // Values equal to the stored ones, and enabling an enabled account: no grant row, hash kept.
  d::user_patch same;
  same.role = "operator";
  same.zones = std::vector<std::string>{"downtown"};
  same.disabled = false;
  auto r = sync(users().patch("alice", same, "", "park"));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_FALSE(r->sessions_ended);
  EXPECT_EQ(grants("alice").size(), 3u);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE username = 'alice' AND password_hash = '" + hash1 + "'"), 1);
}

TEST_F(user_writes, a_password_change_ends_every_open_session_of_that_user_only) {
  create(person("alice"));
  create(person("bob"));
  sync(users().create_session("alice", "a1", 3600));
  sync(users().create_session("alice", "a2", 3600));
  sync(users().create_session("bob", "b1", 3600));
  ASSERT_TRUE(sync(users().end_session("a2")));
  query("UPDATE user_sessions SET ended_at = ended_at - interval '1 hour' WHERE id_hash = 'a2'");
  auto a2_ended = us("ended_at", "FROM user_sessions WHERE id_hash = $1", "a2");

  auto before = db_clock_us();
  auto r = sync(users().patch("alice", d::user_patch{}, hash2, "alice"));
  auto after = db_clock_us();
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_TRUE(r->sessions_ended);
  auto a1_ended = us("ended_at", "FROM user_sessions WHERE id_hash = $1", "a1");
  EXPECT_GE(a1_ended, before);
  EXPECT_LE(a1_ended, after);
  EXPECT_EQ(us("ended_at", "FROM user_sessions WHERE id_hash = $1", "a2"), a2_ended)
      << "an ended session keeps its end";
  EXPECT_EQ(us("ended_at", "FROM user_sessions WHERE id_hash = $1", "b1"), -1) << "another user's session stays open";
  EXPECT_EQ(count("SELECT count(*) FROM user_sessions"), 3) << "ended, not deleted";
}

TEST_F(user_writes, remove_deletes_the_account_and_its_sessions_and_appends_a_delete_row) {
  create(person("alice"));
  create(person("bob"));
  sync(users().create_session("alice", "a1", 3600));
  sync(users().create_session("alice", "a2", 3600));
  sync(users().create_session("bob", "b1", 3600));
  auto as_stored = json::parse(sync(users().get("alice")).value());

  auto before = db_clock_us();
  auto removed = sync(users().remove("alice", "root (admin)"));
  auto after = db_clock_us();
  ASSERT_TRUE(removed.ok()) << removed.error().describe();
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE username = 'alice'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM user_sessions WHERE username = 'alice'"), 0) << "its sessions go with it";
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE username = 'bob'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM user_sessions WHERE username = 'bob' AND ended_at IS NULL"), 1);

  auto g = grants("alice");
  ASSERT_EQ(g.size(), 2u) << "the grant rows outlive the account";
  EXPECT_EQ(g[1]["action"], "delete");
  EXPECT_EQ(g[1]["actor"], "root (admin)");
  EXPECT_EQ(g[1]["before"], as_stored) << "the account as it was";
  EXPECT_TRUE(g[1]["after"].is_null());
  EXPECT_GE(g[1]["at"].get<std::int64_t>(), before);
  EXPECT_LE(g[1]["at"].get<std::int64_t>(), after);

  auto again = sync(users().remove("alice", "root (admin)"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, maeul::domain::problem_kind::not_found);
  EXPECT_EQ(grants("alice").size(), 2u) << "a refused delete is not audited";
}

// ---- sign-in: failures and sessions

TEST_F(user_writes, record_failure_writes_a_row_and_prunes_rows_older_than_a_day) {
  query(
      "INSERT INTO sign_in_failures (username, at, remote) VALUES ('carol', now() - interval '25 hours', 'x'), "
      "('carol', now() - interval '23 hours', 'y'), ('bob', now() - interval '2 days', 'z')");
  auto before = db_clock_us();
  auto s = sync(users().record_failure("bob", "10.0.0.7", 5, 900));
  auto after = db_clock_us();
  EXPECT_EQ(s.failures, 1);
  EXPECT_FALSE(s.locked());

  auto r =
      query("SELECT username, remote, (extract(epoch FROM at) * 1000000)::bigint FROM sign_in_failures ORDER BY id");
  ASSERT_EQ(r.size(), 2u) << "the rows older than a day are pruned, whoever they belong to";
  EXPECT_EQ(r[0][0].as<std::string>(), "carol");
  EXPECT_EQ(r[0][1].as<std::string>(), "y");
  EXPECT_EQ(r[1][0].as<std::string>(), "bob");
  EXPECT_EQ(r[1][1].as<std::string>(), "10.0.0.7");
  EXPECT_GE(r[1][2].as<std::int64_t>(), before);
  EXPECT_LE(r[1][2].as<std::int64_t>(), after);

  // A username with no account is recorded too (the lock-out must not tell which names exist).
  sync(users().record_failure("nobody", "", 5, 900));
  EXPECT_EQ(count("SELECT count(*) FROM sign_in_failures WHERE username = 'nobody' AND remote = ''"), 1);
}

TEST_F(user_writes, create_session_writes_the_session_and_clears_that_users_failures) {
  create(person("alice"));
  sync(users().record_failure("alice", "a", 5, 900));
  sync(users().record_failure("alice", "a", 5, 900));
  sync(users().record_failure("carol", "c", 5, 900));

  auto before = db_clock_us();
  auto s = sync(users().create_session("alice", "hash-a", 3600));
  auto after = db_clock_us();
  auto r = query(
      "SELECT username, (extract(epoch FROM created_at) * 1000000)::bigint, last_seen_at = created_at, "
      "(extract(epoch FROM expires_at) * 1000000)::bigint, expires_at - created_at = interval '3600 s', "
      "ended_at IS NULL FROM user_sessions WHERE id_hash = 'hash-a'");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0].as<std::string>(), "alice");
  EXPECT_GE(r[0][1].as<std::int64_t>(), before);
  EXPECT_LE(r[0][1].as<std::int64_t>(), after);
  EXPECT_TRUE(r[0][2].as<bool>());
  EXPECT_EQ(r[0][3].as<std::int64_t>(), s.expires_at_us) << "the hard end returned is the one stored";
  EXPECT_TRUE(r[0][4].as<bool>()) << "the hard end is max_s after the start";
  EXPECT_TRUE(r[0][5].as<bool>());
  EXPECT_EQ(count("SELECT count(*) FROM sign_in_failures WHERE username = 'alice'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM sign_in_failures WHERE username = 'carol'"), 1) << "only that user's";

  // A username with no account: refused by the database, and its failures are not cleared.
  sync(users().record_failure("ghost", "g", 5, 900));
  EXPECT_ANY_THROW(sync(users().create_session("ghost", "hash-g", 3600)));
  EXPECT_EQ(count("SELECT count(*) FROM user_sessions WHERE id_hash = 'hash-g'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM sign_in_failures WHERE username = 'ghost'"), 1);
  // The same session hash again: refused, the first session unchanged.
  EXPECT_ANY_THROW(sync(users().create_session("alice", "hash-a", 60)));
  EXPECT_EQ(us("expires_at", "FROM user_sessions WHERE id_hash = $1", "hash-a"), s.expires_at_us);
  EXPECT_EQ(count("SELECT count(*) FROM user_sessions"), 1);
}

TEST_F(user_writes, use_session_moves_last_seen_at_only_when_the_session_is_usable) {
  create(person("alice"));
  sync(users().create_session("alice", "h1", 3600));
  query("UPDATE user_sessions SET last_seen_at = now() - interval '10 minutes' WHERE id_hash = 'h1'");
  auto stale = us("last_seen_at", "FROM user_sessions WHERE id_hash = $1", "h1");

  EXPECT_FALSE(sync(users().use_session("h1", 300))) << "idle for longer than 5 minutes";
  EXPECT_EQ(us("last_seen_at", "FROM user_sessions WHERE id_hash = $1", "h1"), stale);

  auto before = db_clock_us();
  EXPECT_TRUE(sync(users().use_session("h1", 3600)));
  auto after = db_clock_us();
  auto seen = us("last_seen_at", "FROM user_sessions WHERE id_hash = $1", "h1");
  EXPECT_GE(seen, before);
  EXPECT_LE(seen, after);

  // A disabled user's session (disabled behind the store's back, so it is still open) is not used.
  query("UPDATE users SET disabled = true WHERE username = 'alice'");
  query("UPDATE user_sessions SET last_seen_at = now() - interval '1 minute' WHERE id_hash = 'h1'");
  stale = us("last_seen_at", "FROM user_sessions WHERE id_hash = $1", "h1");
  EXPECT_FALSE(sync(users().use_session("h1", 3600)));
  EXPECT_EQ(us("last_seen_at", "FROM user_sessions WHERE id_hash = $1", "h1"), stale);
  query("UPDATE users SET disabled = false WHERE username = 'alice'");

  // Past its hard end, or ended: not used either.
  query("UPDATE user_sessions SET expires_at = now() - interval '1 second' WHERE id_hash = 'h1'");
  EXPECT_FALSE(sync(users().use_session("h1", 3600)));
  EXPECT_EQ(us("last_seen_at", "FROM user_sessions WHERE id_hash = $1", "h1"), stale);
  sync(users().create_session("alice", "h2", 3600));
  ASSERT_TRUE(sync(users().end_session("h2")));
  query("UPDATE user_sessions SET last_seen_at = now() - interval '1 minute' WHERE id_hash = 'h2'");
  auto h2_seen = us("last_seen_at", "FROM user_sessions WHERE id_hash = $1", "h2");
  EXPECT_FALSE(sync(users().use_session("h2", 3600)));
  EXPECT_EQ(us("last_seen_at", "FROM user_sessions WHERE id_hash = $1", "h2"), h2_seen);
}

TEST_F(user_writes, end_session_stamps_ended_at_once) {
  create(person("alice"));
  sync(users().create_session("alice", "h1", 3600));
  sync(users().create_session("alice", "h2", 3600));
  auto before = db_clock_us();
  EXPECT_TRUE(sync(users().end_session("h1")));
  auto after = db_clock_us();
  auto ended = us("ended_at", "FROM user_sessions WHERE id_hash = $1", "h1");
  EXPECT_GE(ended, before);
  EXPECT_LE(ended, after);
  EXPECT_EQ(us("ended_at", "FROM user_sessions WHERE id_hash = $1", "h2"), -1) << "only the session named";

  EXPECT_FALSE(sync(users().end_session("h1")));
  EXPECT_EQ(us("ended_at", "FROM user_sessions WHERE id_hash = $1", "h1"), ended) << "a second end does not move it";
  EXPECT_FALSE(sync(users().end_session("unknown")));
  EXPECT_EQ(count("SELECT count(*) FROM user_sessions WHERE ended_at IS NOT NULL"), 1);
}
