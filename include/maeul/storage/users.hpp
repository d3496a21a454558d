// User accounts, sessions, failed sign-ins and the grant audit in PostgreSQL (migration 0008).
// Reads come back as JSON text built by the database; no read ever returns a password hash except
// credentials(), which the sign-in path needs. Every grant, change and revocation of a right is
// appended to grant_changes in the same transaction as the change itself. Expected outcomes (not
// found, duplicate) are domain problems; a lost database throws storage::unavailable.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "maeul/domain/people.hpp"
#include "maeul/domain/problem.hpp"
#include "maeul/storage/registry.hpp"

namespace maeul::storage {

struct user_credentials {
  std::string password_hash;  // libsodium crypto_pwhash_str format
  bool disabled = false;
};

// Failed sign-ins of one username within the window, counted up to the limit.
struct lockout_state {
  int failures = 0;        // 0..max_failures
  int retry_after_s = 0;   // > 0 when locked: seconds until the oldest counted failure leaves the window
  bool locked() const { return retry_after_s > 0; }
};

struct created_session {
  std::int64_t expires_at_us = 0;  // hard end: now + max_s
  std::string user_json;
};

struct patched_user {
  std::string json;
  bool sessions_ended = false;  // disabled or password changed: every open session was ended
};

class user_store {
 public:
  explicit user_store(db_pool& pool) : pool_(pool) {}

  // 409 when the username is taken. Appends a "create" grant row by `actor`.
  task<outcome<std::string>> create(domain::user_input u, std::string password_hash, std::string actor);
  task<page> list(page_request req);
  task<outcome<std::string>> get(std::string username);
  // `new_hash`: the hash of p.password when it is set (hashing happens off the DB threads).
  // Appends one grant row per kind of change (change, disable, enable, password).
  task<outcome<patched_user>> patch(std::string username, domain::user_patch p, std::string new_hash, std::string actor);
  // Deletes the account and its sessions; appends a "delete" grant row with the account as it was.
  task<outcome<bool>> remove(std::string username, std::string actor);
  // The grant rows of one username, oldest first (ids are numeric cursors). Kept after a delete.
  task<page> changes(std::string username, page_request req);

  // ---- sign-in
  task<std::optional<user_credentials>> credentials(std::string username);
  task<lockout_state> lockout(std::string username, int max_failures, int window_s);
  // Records a failure and returns the state after it.
  task<lockout_state> record_failure(std::string username, std::string remote, int max_failures, int window_s);
  // Stores a new session (only the hash of its secret) and clears the username's failures.
  task<created_session> create_session(std::string username, std::string id_hash, int max_s);
  // The principal behind a session when it is open, not past its hard end, used within the last
  // idle_s seconds and its user is enabled; marks it used now. nullopt otherwise.
  task<std::optional<principal>> use_session(std::string id_hash, int idle_s);
  // Ends a session; false when it was not open.
  task<bool> end_session(std::string id_hash);

 private:
  db_pool& pool_;
};

// For `maeuld user create`: synchronous, on its own connection; actor "cli".
outcome<std::string> create_user_now(const std::string& url, const domain::user_input& u, const std::string& password_hash);

}  // namespace maeul::storage
