// The welfare vault in PostgreSQL (migration 0012): residents with their identity sealed
// (privacy/vault.hpp: this store never sees a key or a plain identity), and the chained access
// records. Every method that changes a resident appends its access record in the same transaction
// as the write; a read (read, read_household) reads in one read-only statement and then has its
// record appended and committed by the access_appender before it returns, so no read is answered
// unrecorded and no record is kept of a read that found nothing. A lost database throws
// storage::unavailable.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "maeul/asio/task.hpp"
#include "maeul/domain/problem.hpp"
#include "maeul/privacy/vault.hpp"
#include "maeul/storage/registry.hpp"

namespace pqxx {
class transaction_base;
}

namespace maeul::storage {

class db_pool;

struct resident_row {
  std::string id, household, zone, care_worker, risk_level = "medium";
  std::string consent_purpose, consent_basis;
  std::int64_t consent_granted_us = 0;
  std::optional<std::int64_t> consent_expires_us;
  privacy::sealed_record sealed;  // wrapped_key empty once erased
  std::string phone_index;        // raw HMAC bytes; empty: no phone
  std::int64_t withheld = 0, created_us = 0, updated_us = 0;
  std::int64_t open_alert = 0;    // an open welfare alert of the household (reads only); 0: none
};

// Who asks, from where, why: the access record's fields besides the time, the action's subject
// and the chain (privacy::access_fields).
struct access_entry {
  std::string actor, role, ip, action, purpose;
};

struct access_filter {
  std::string resident, actor;
  std::int64_t from_us = 0, to_us = 0;  // 0: open
};

struct verify_result {
  bool ok = true;
  std::int64_t records = 0;
  std::optional<std::int64_t> first_bad;
};

struct household_fact {
  std::string household, zone;
  std::int64_t consent_expires_us = 0;  // 0: none
};

// The chain's step, in the caller's transaction: locks the head row (so appends are serial and seq
// has no gaps), appends one record after it and moves the head.
void append_access(pqxx::transaction_base& tx, const access_entry& a, const std::string& resident,
                   std::int64_t alert_id);

struct appender_options {
  std::size_t max_waiting = 4096;  // records queued beyond this are refused (unavailable), never dropped
  std::size_t max_batch = 512;     // records chained and committed together at most
};

struct appender_stats {
  std::int64_t appended = 0, batches = 0, refused = 0, failed = 0;
  std::size_t waiting = 0;
};

// The group commit of access records: one thread with its own connection (the pool's url and
// statement timeout) takes every record waiting, chains them in the order they were queued after
// the current head, and inserts them and moves the head in one statement, one commit. Each
// append() resumes only after the commit that holds its record has returned (durable, as
// synchronous_commit says), with the record's seq. Appends made in other transactions
// (append_access) interleave safely: the batch's statement checks the head it chained from and,
// when the head moved, the batch is chained again from the new head.
class access_appender {
 public:
  access_appender(const db_pool& pool, appender_options o = {});
  ~access_appender();  // stop()
  access_appender(const access_appender&) = delete;
  access_appender& operator=(const access_appender&) = delete;

  // Throws unavailable when max_waiting records are already queued, when stopped, or when the
  // database cannot be reached; rethrows an SQL error of this record (it is then not in the chain).
  task<std::int64_t> append(access_entry a, std::string resident, std::int64_t alert_id);
  // Commits what is queued, then joins the thread. Idempotent.
  void stop();
  appender_stats stats() const;

 private:
  struct item {
    access_entry entry;
    std::string resident;
    std::int64_t alert_id = 0;
    std::function<void(std::exception_ptr, std::int64_t)> done;
  };
  void enqueue(item it);
  void loop();

  std::string url_;
  int statement_timeout_ms_;
  appender_options opts_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<item> queue_;
  bool stopping_ = false;
  appender_stats stats_;
  std::thread thread_;
};

class resident_store {
 public:
  explicit resident_store(db_pool& pool, appender_options o = {}) : pool_(pool), appender_(pool, o) {}

  // 422 (pointer /zone) when the zone does not exist.
  // Throws retired_key when r.sealed.key_id was retired by `maeuld keys rotate` (checked under a
  // share lock on its vault_keys row, so a rotation waits for this registration or it sees the
  // retirement); the caller reloads its keys and tries again.
  task<domain::outcome<resident_row>> create(resident_row r, access_entry a);
  // Not erased, in `zones` (empty: any) and `zone` ('' any), by id after req.after; one 'list' record.
  task<std::vector<resident_row>> list(std::vector<std::string> zones, std::string zone, page_request req,
                                       access_entry a);
  // One resident (a.action says why: read, export, reveal...) or nullopt (unknown, erased or out
  // of `zones`: no record appended). `open_alert` is filled and recorded.
  task<std::optional<resident_row>> read(std::string id, std::vector<std::string> zones, access_entry a);
  task<std::optional<resident_row>> read_household(std::string household, std::int64_t alert_id, access_entry a);
  // Residents whose phone index is one of `indexes` (a lookup by phone), in `zones`; one record each.
  task<std::vector<resident_row>> by_phone(std::vector<std::string> indexes, std::vector<std::string> zones,
                                           access_entry a);
  // Locks the row, maps it with `change` (crypto happens in it) and stores the result; 'change' record.
  using change_fn = std::function<domain::outcome<resident_row>(const resident_row&)>;
  task<domain::outcome<resident_row>> update(std::string id, std::vector<std::string> zones, change_fn change,
                                             access_entry a);
  // Crypto-shredding: the wrapped data key and the phone index are destroyed, the row stays as a
  // tombstone (household kept: pseudonymous readings stay for KPIs); then VACUUM removes the old
  // row versions that still held the key. 'erase' record. nullopt: unknown, erased or out of scope.
  task<std::optional<resident_row>> erase(std::string id, std::vector<std::string> zones, access_entry a);
  // What else is held about a resident (for the export): the household's sensors, their alerts,
  // the access records about the resident — one JSON object text.
  task<std::string> held_about(std::string id, std::string household);

  // For the household book.
  task<std::vector<household_fact>> households();
  task<std::vector<std::pair<std::string, std::string>>> welfare_sensors();  // (sensor, household)
  task<bool> add_withheld(std::unordered_map<std::string, std::int64_t> counts);
  // Residents whose data key is still wrapped (the daemon refuses to start with these and no key).
  task<std::int64_t> sealed_count();
  // Key ids in use (a daemon whose key file lacks one of them warns at start).
  task<std::vector<std::string>> key_ids();
  // The key id's state in vault_keys: "" unknown, "active" or "retired". register_key records it
  // as active when unknown.
  task<std::string> key_state(std::string key_id);
  task<bool> register_key(std::string key_id);

  // ---- access records
  task<page> access(access_filter f, page_request req);
  task<verify_result> verify();
  // The monthly review [from, to): per actor, residents read, reads, reveals, exports, changes,
  // erasures, identity reads with no open alert of the household; one JSON object text.
  task<std::string> review(std::int64_t from_us, std::int64_t to_us);
  appender_stats appender_state() const { return appender_.stats(); }

 private:
  db_pool& pool_;
  access_appender appender_;
};

// `maeuld keys rotate`: re-wraps every data key not under `ring`'s current key, and recomputes the
// phone index, in batches of `batch` rows on `url`'s own connection (online: each row locked only
// while it changes). Returns the rows moved; throws std::runtime_error naming a row that no key of
// the ring opens.
std::int64_t rotate_keys_now(const std::string& url, const privacy::keyring& ring, int batch = 200);
// A resident sealed under a retired key id (see resident_store::create).
struct retired_key : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// `keys rotate`: records `current` as the active key id and retires every other one, waiting for
// registrations under them to finish.
void retire_keys_now(const std::string& url, const std::string& current);
// Sealed records whose key id is not `current` (moved with a plain FOR UPDATE: none is skipped).
std::int64_t rotate_remaining_now(const std::string& url, const privacy::keyring& ring);
std::int64_t not_under_now(const std::string& url, const std::string& current);

}  // namespace maeul::storage
