// The welfare vault's service (API §9): residents and consent, their identity sealed under the
// key file's keys (privacy/vault.hpp), every read, list, lookup, export, reveal, change and
// erasure of personal data recorded in the chained access records (storage/residents.hpp), and
// the household book that ingest and the live feed consult. Who may call which route is the route
// table's; which residents a caller sees is decided here (a welfare officer's zones; a principal
// whose domains leave out welfare sees none).
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "maeul/asio/task.hpp"
#include "maeul/domain/problem.hpp"
#include "maeul/domain/welfare.hpp"
#include "maeul/privacy/vault.hpp"
#include "maeul/storage/registry.hpp"
#include "maeul/storage/residents.hpp"

namespace maeul::storage {
class operations_store;
}

namespace maeul::services {

// The key file's keys, re-read when a record names a key the ring does not hold (a rotation by
// `maeuld keys rotate` ran meanwhile), at most once a second.
class key_source {
 public:
  // Reads the file; throws std::runtime_error. With `create`, a missing file is made with one new
  // key (mode 0600) and `created()` says so: only when nothing is sealed yet, so that a lost key
  // file is never replaced by a new one in silence.
  explicit key_source(std::string path, bool create = false);
  bool created() const { return created_; }
  // The keys; the file is checked for a change (a rotation) at most once a second.
  std::shared_ptr<const privacy::keyring> ring();
  std::shared_ptr<const privacy::keyring> ring_with(const std::string& key_id);
  // Re-reads the file now (after a registration was refused under a retired key).
  std::shared_ptr<const privacy::keyring> reload();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  mutable std::mutex mutex_;
  std::shared_ptr<const privacy::keyring> ring_;
  std::chrono::steady_clock::time_point last_reload_{};
  std::chrono::steady_clock::time_point last_check_{};
  std::pair<std::int64_t, std::int64_t> stamp_{-1, -1};
  bool created_ = false;
  bool failing_ = false;
  void reload_locked();
};

// Who asks from where and why: what every access record holds besides the subject.
struct access_context {
  std::string ip, purpose;
};

struct welfare_stats {
  std::int64_t reads = 0, reveals = 0, refused_reveals = 0, erasures = 0;
};

class welfare_service {
 public:
  // `keys` null: no privacy.key_file; every resident route answers 503 (the vault is closed).
  welfare_service(storage::resident_store& store, storage::operations_store& ops, domain::household_book& book,
                  std::shared_ptr<key_source> keys, std::function<std::int64_t()> now_us);

  task<domain::outcome<std::string>> create(storage::principal who, access_context ctx, domain::resident_input in);
  // Items without identity: {id, household, zone, care_worker, risk_level, consent, ...}.
  task<domain::outcome<storage::page>> list(storage::principal who, access_context ctx, std::string zone,
                                            storage::page_request req);
  // The resident's card, identity included.
  task<domain::outcome<std::string>> get(storage::principal who, access_context ctx, std::string id);
  task<domain::outcome<std::string>> patch(storage::principal who, access_context ctx, std::string id,
                                           domain::resident_patch p);
  task<domain::outcome<bool>> erase(storage::principal who, access_context ctx, std::string id);
  // Everything held about the resident (their right of access).
  task<domain::outcome<std::string>> export_of(storage::principal who, access_context ctx, std::string id);
  // Residents with this phone number, through the blind index: {"items":[card...]}.
  task<domain::outcome<std::string>> find_by_phone(storage::principal who, access_context ctx, std::string phone);
  // Break the glass (API §8): the household's address and contacts, only on an open (not
  // resolved) critical welfare alert of a registered household; 403 otherwise.
  task<domain::outcome<std::string>> reveal(storage::principal who, access_context ctx, std::int64_t alert_id);

  task<storage::page> access_records(storage::access_filter f, storage::page_request req);
  task<storage::verify_result> verify();
  task<std::string> review(std::int64_t from_us, std::int64_t to_us);

  // The household book from the database (households and the sensors naming them). Call before
  // serving, and again whenever wanted (idempotent).
  task<void> load_book();
  // Moves the withheld-reading counts of lapsed households into the database.
  task<void> flush_withheld();
  // For a sensor write: why a welfare sensor's attributes.household is refused (an unknown
  // pseudonym), or nullopt. Non-welfare sensors and welfare sensors naming no household pass.
  std::optional<domain::problem> check_sensor(const std::string& domain, const nlohmann::json& attributes) const;
  // After a sensor write or delete: the book follows.
  void sensor_changed(const std::string& id, const std::string& domain, const nlohmann::json& attributes);

  bool open() const { return keys_ != nullptr; }
  domain::household_book& book() { return book_; }
  welfare_stats stats() const;

 private:
  std::optional<domain::problem> closed() const;
  storage::access_entry entry(const storage::principal& who, const access_context& ctx, const char* action) const;
  std::vector<std::string> zones_of(const storage::principal& who) const;
  bool sees_welfare(const storage::principal& who) const;
  std::string card(const storage::resident_row& r, bool identity);

  storage::resident_store& store_;
  storage::operations_store& ops_;
  domain::household_book& book_;
  std::shared_ptr<key_source> keys_;
  std::function<std::int64_t()> now_us_;
  std::atomic<std::int64_t> reads_{0}, reveals_{0}, refused_reveals_{0}, erasures_{0};
};

}  // namespace maeul::services
