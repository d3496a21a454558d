// resident_store (storage/residents.hpp) against a real PostgreSQL: every access appends a chained
// record, and verify() finds a record edited, deleted from the middle or cut off the end; the
// stored row holds no identity in clear; erasure leaves a tombstone no key opens.
#include "pg_support.hpp"

#include <boost/asio/detached.hpp>

#include "maeul/domain/encoding.hpp"
#include "maeul/privacy/vault.hpp"
#include "maeul/storage/residents.hpp"

namespace {

using namespace maeul_test;
namespace st = maeul::storage;
namespace pv = maeul::privacy;

class residents_db : public fresh_db {
 protected:
  void SetUp() override {
    fresh_db::SetUp();
    add_zone(square_zone("rz", 128.5, 38.2, 0.02, 100));
    store_ = std::make_unique<st::resident_store>(*pool_);
  }
  void TearDown() override {
    store_.reset();
    fresh_db::TearDown();
  }
  st::resident_row row(const std::string& id, const std::string& identity) {
    st::resident_row r;
    r.id = id;
    r.household = pv::random_id("hh-");
    r.zone = "rz";
    r.consent_purpose = "care";
    r.consent_basis = "consent";
    r.consent_granted_us = 1700000000000000;
    r.sealed = ring_.seal_new(identity, id);
    r.phone_index = ring_.blind_index("01012345678");
    return r;
  }
  st::access_entry who(const char* action) { return {"kim (welfare_officer)", "welfare_officer", "10.0.0.1", action, "test"}; }
  pv::keyring ring_{{pv::random_key()}};
  std::unique_ptr<st::resident_store> store_;
};

TEST_F(residents_db, every_access_is_chained_and_verify_finds_an_edit_a_gap_and_a_cut_tail) {
  auto created = sync(store_->create(row("r-1", R"({"name":"Fictional-Name-1"})"), who("create")));
  ASSERT_TRUE(created);
  ASSERT_TRUE(sync(store_->read("r-1", {}, who("read"))));
  EXPECT_FALSE(sync(store_->read("r-1", {"elsewhere"}, who("read")))) << "out of the zones: not found, not recorded";
  ASSERT_EQ(sync(store_->by_phone({ring_.blind_index("01012345678")}, {}, who("lookup"))).size(), 1u);
  sync(store_->list({}, "", {}, who("list")));
  EXPECT_EQ(count("SELECT count(*) FROM access_records"), 4);
  EXPECT_EQ(count("SELECT count(*) FROM residents WHERE sealed::text LIKE '%Fictional%'"), 0);

  auto v = sync(store_->verify());
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.records, 4);
  EXPECT_FALSE(v.first_bad);

  query("UPDATE access_records SET ip = '10.9.9.9' WHERE seq = 3");
  v = sync(store_->verify());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad.value_or(0), 3);
  query("UPDATE access_records SET ip = '10.0.0.1' WHERE seq = 3");
  EXPECT_TRUE(sync(store_->verify()).ok) << "put back as it was, it verifies again";

  query("DELETE FROM access_records WHERE seq = 2");
  v = sync(store_->verify());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad.value_or(0), 2);
}

TEST_F(residents_db, records_cut_off_the_end_are_found_by_the_head) {
  ASSERT_TRUE(sync(store_->create(row("r-1", "{}"), who("create"))));
  ASSERT_TRUE(sync(store_->read("r-1", {}, who("read"))));
  query("DELETE FROM access_records WHERE seq = 2");
  auto v = sync(store_->verify());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.records, 1);
  EXPECT_EQ(v.first_bad.value_or(0), 2);
}

TEST_F(residents_db, erasure_leaves_a_tombstone_that_no_key_opens) {
  ASSERT_TRUE(sync(store_->create(row("r-1", R"({"name":"x"})"), who("create"))));
  auto gone = sync(store_->erase("r-1", {}, who("erase")));
  ASSERT_TRUE(gone);
  EXPECT_FALSE(sync(store_->read("r-1", {}, who("read"))));
  EXPECT_FALSE(sync(store_->erase("r-1", {}, who("erase")))) << "erased once";
  auto r = query("SELECT data_key IS NULL, phone_index IS NULL, erased_at IS NOT NULL, key_id, encode(sealed, 'hex') "
                 "FROM residents WHERE id = 'r-1'");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0][0].as<bool>());
  EXPECT_TRUE(r[0][1].as<bool>());
  EXPECT_TRUE(r[0][2].as<bool>());
  pv::sealed_record tomb{r[0][3].as<std::string>(), "", *maeul::domain::unhex(r[0][4].as<std::string>())};
  EXPECT_FALSE(ring_.open(tomb, "r-1"));
  EXPECT_EQ(count("SELECT count(*) FROM access_records WHERE action = 'erase' AND resident = 'r-1'"), 1);
}

}  // namespace

namespace {

// The rotation's fence: once `keys rotate` retired a key id, no record is sealed under it (the
// registration is refused, for the service to re-read its key file and seal again); the rotation
// passes then leave no record under the old key.
TEST_F(residents_db, a_retired_key_seals_nothing_and_the_rotation_leaves_nothing_under_it) {
  const pv::key old_key = pv::random_key(), new_key = pv::random_key();
  pv::keyring old_ring({old_key}), rotation({new_key, old_key});
  auto sealed_row = [&](const pv::keyring& ring, const std::string& id) {
    auto r = row(id, R"({"name":"Fictional-Rotated"})");
    r.sealed = ring.seal_new(R"({"name":"Fictional-Rotated"})", id);
    return r;
  };
  ASSERT_TRUE(sync(store_->create(sealed_row(old_ring, "r-1"), who("create"))));
  EXPECT_EQ(sync(store_->key_state(old_ring.current_id())), "active") << "the first registration records its key id";
  st::retire_keys_now(url_, rotation.current_id());
  EXPECT_EQ(sync(store_->key_state(old_ring.current_id())), "retired");
  EXPECT_EQ(sync(store_->key_state(rotation.current_id())), "active");
  EXPECT_THROW(sync(store_->create(sealed_row(old_ring, "r-2"), who("create"))), st::retired_key);
  EXPECT_EQ(count("SELECT count(*) FROM residents WHERE id = 'r-2'"), 0) << "refused whole";
  ASSERT_TRUE(sync(store_->create(sealed_row(rotation, "r-3"), who("create"))));
  EXPECT_EQ(st::not_under_now(url_, rotation.current_id()), 1);
  EXPECT_EQ(st::rotate_keys_now(url_, rotation) + st::rotate_remaining_now(url_, rotation), 1);
  EXPECT_EQ(st::not_under_now(url_, rotation.current_id()), 0);
  auto back = sync(store_->read("r-1", {}, who("read")));
  ASSERT_TRUE(back);
  pv::keyring only_new({new_key});
  EXPECT_EQ(only_new.open(back->sealed, "r-1").value_or(""), R"({"name":"Fictional-Rotated"})") << "opens with the new key alone";
}

}  // namespace

// The access appender (storage/residents.hpp): card reads have their records grouped into shared
// commits; every answered read's record is committed before the answer, in the order queued, and
// the chain stays verifiable beside appends made in other transactions.
namespace {

struct read_outcome {
  bool found = false;
  bool recorded_when_answered = false;
  std::string error;
};

// One card read; when it is answered, looks on a connection of its own for its record (by its
// unique purpose): a read answered before its commit would find nothing.
boost::asio::awaitable<void> read_and_check(st::resident_store* store, std::string id, std::string purpose,
                                            std::string url, read_outcome* out) {
  try {
    auto call = store->read(id, {}, {"kim (welfare_officer)", "welfare_officer", "10.0.0.1", "read", purpose});
    auto row = co_await std::move(call);
    out->found = bool(row);
    pqxx::connection c(url);
    pqxx::nontransaction tx(c);
    out->recorded_when_answered =
        tx.exec_params1("SELECT count(*) FROM access_records WHERE purpose = $1 AND resident = $2", purpose, id)[0]
            .as<int>() == 1;
  } catch (const std::exception& e) {
    out->error = e.what();
  }
}

boost::asio::awaitable<void> list_once(st::resident_store* store, bool* ok) {
  auto call = store->list({}, "", {}, {"lee (welfare_officer)", "welfare_officer", "10.0.0.2", "list", "list"});
  co_await std::move(call);
  *ok = true;
}

struct append_outcome {
  std::int64_t seq = 0;
  bool refused = false;
  std::string error;
};

boost::asio::awaitable<void> append_one(st::access_appender* app, std::string purpose, append_outcome* out) {
  try {
    auto call = app->append({"park (admin)", "admin", "10.0.0.3", "read", purpose}, "r-1", 0);
    out->seq = co_await std::move(call);
  } catch (const st::unavailable&) {
    out->refused = true;
  } catch (const std::exception& e) {
    out->error = e.what();
  }
}

TEST_F(residents_db, concurrent_card_reads_are_all_recorded_before_they_are_answered_and_the_chain_verifies) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(sync(store_->create(row("r-" + std::to_string(i), "{}"), who("create"))));
  const int reads = 120, lists = 12;
  std::vector<read_outcome> outs(reads);
  std::vector<char> listed(lists, 0);
  boost::asio::io_context ioc;
  for (int i = 0; i < reads; ++i) {
    boost::asio::co_spawn(ioc, read_and_check(store_.get(), "r-" + std::to_string(i % 5), "card-" + std::to_string(i), url_, &outs[i]),
                          boost::asio::detached);
    // Appends in other transactions (append_access, the head locked) interleave with the batches.
    if (i % 10 == 0)
      boost::asio::co_spawn(ioc, list_once(store_.get(), reinterpret_cast<bool*>(&listed[i / 10])), boost::asio::detached);
  }
  ioc.run();
  for (int i = 0; i < reads; ++i) {
    EXPECT_EQ(outs[i].error, "") << i;
    EXPECT_TRUE(outs[i].found) << i;
    EXPECT_TRUE(outs[i].recorded_when_answered) << "read " << i << " was answered before its record was committed";
  }
  for (int i = 0; i < lists; ++i) EXPECT_TRUE(listed[i]) << i;
  EXPECT_EQ(count("SELECT count(*) FROM access_records WHERE action = 'read'"), reads);
  EXPECT_EQ(count("SELECT count(*) FROM access_records WHERE action = 'list'"), lists);
  auto v = sync(store_->verify());
  EXPECT_TRUE(v.ok) << v.first_bad.value_or(-1);
  EXPECT_EQ(v.records, 5 + reads + lists);
  auto s = store_->appender_state();
  EXPECT_EQ(s.appended, reads);
  EXPECT_LT(s.batches, s.appended) << "the records of waiting reads share commits";
}

TEST_F(residents_db, the_appender_keeps_the_order_records_were_queued_in) {
  ASSERT_TRUE(sync(store_->create(row("r-1", "{}"), who("create"))));
  st::access_appender app(*pool_);
  const int n = 300;
  std::vector<append_outcome> outs(n);
  boost::asio::io_context ioc;
  for (int i = 0; i < n; ++i)
    boost::asio::co_spawn(ioc, append_one(&app, "p-" + std::to_string(i), &outs[i]), boost::asio::detached);
  ioc.run();
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(outs[i].error, "") << i;
    ASSERT_FALSE(outs[i].refused) << i;
    if (i > 0) {
      EXPECT_EQ(outs[i].seq, outs[i - 1].seq + 1) << "queued in order, chained in order";
    }
  }
  auto r = query("SELECT purpose FROM access_records WHERE action = 'read' ORDER BY seq");
  ASSERT_EQ(int(r.size()), n);
  for (int i = 0; i < n; ++i) EXPECT_EQ(r[i][0].as<std::string>(), "p-" + std::to_string(i));
  EXPECT_EQ(count("SELECT seq FROM access_head"), n + 1);
  EXPECT_TRUE(sync(store_->verify()).ok);
  EXPECT_LT(app.stats().batches, n);
}

TEST_F(residents_db, a_full_appender_refuses_and_loses_nothing_it_answered) {
  st::access_appender app(*pool_, {5, 512});
  const int n = 60;
  std::vector<append_outcome> outs(n);
  boost::asio::io_context ioc;
  for (int i = 0; i < n; ++i)
    boost::asio::co_spawn(ioc, append_one(&app, "q-" + std::to_string(i), &outs[i]), boost::asio::detached);
  ioc.run();
  int answered = 0, refused = 0;
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(outs[i].error, "") << i;
    if (outs[i].refused) {
      ++refused;
      EXPECT_EQ(count("SELECT count(*) FROM access_records WHERE purpose = 'q-" + std::to_string(i) + "'"), 0)
          << "a refused record is not stored";
    } else {
      ++answered;
      EXPECT_EQ(count("SELECT count(*) FROM access_records WHERE purpose = 'q-" + std::to_string(i) + "'"), 1) << i;
    }
  }
  EXPECT_GT(refused, 0) << "60 at once into a queue of 5";
  EXPECT_GE(answered, 5);
  EXPECT_EQ(app.stats().refused, refused);
  EXPECT_EQ(count("SELECT count(*) FROM access_records"), answered);
  EXPECT_TRUE(sync(store_->verify()).ok);
}

TEST_F(residents_db, a_record_that_cannot_be_stored_fails_alone) {
  st::access_appender app(*pool_);
  std::vector<append_outcome> outs(9);
  boost::asio::io_context ioc;
  for (int i = 0; i < 9; ++i)
    boost::asio::co_spawn(ioc, append_one(&app, i == 4 ? std::string("bad \xff purpose") : "ok-" + std::to_string(i), &outs[i]),
                          boost::asio::detached);
  ioc.run();
  for (int i = 0; i < 9; ++i) {
    if (i == 4) {
      EXPECT_NE(outs[i].error, "") << "not UTF-8: refused";
      EXPECT_EQ(outs[i].seq, 0);
    } else {
      EXPECT_EQ(outs[i].error, "") << i;
      EXPECT_GT(outs[i].seq, 0) << i;
    }
  }
  EXPECT_EQ(count("SELECT count(*) FROM access_records"), 8);
  EXPECT_TRUE(sync(store_->verify()).ok);
}

}  // namespace
