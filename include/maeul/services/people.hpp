// People: accounts, sign-in and sessions, and the password hasher they share. The only way to
// change an account or open/end a session. Every change that can alter what a signed-in user may do
// (role, scopes, disable, password, delete, sign-out) drops that user's cached sessions at once
// through the injected callbacks, before the call completes.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "maeul/asio/task.hpp"
#include "maeul/domain/people.hpp"
#include "maeul/domain/problem.hpp"
#include "maeul/storage/users.hpp"

namespace maeul::services {

// argon2id work per hash. libsodium's units: opslimit passes over memlimit bytes.
struct hash_params {
  unsigned long long ops = 3;
  std::size_t mem_bytes = std::size_t(40) << 20;
};

// Password hashing (libsodium crypto_pwhash_str, argon2id) on its own thread pool, never on an I/O
// or DB thread. At most `threads` hashes run at once; at most `max_queue` wait or run; past that
// a request is refused (nullopt) and counted — the caller answers 503 with Retry-After.
class password_hasher {
 public:
  password_hasher(hash_params p, int threads = 2, int max_queue = 64);
  ~password_hasher();

  // The stored form of a password; nullopt when the queue is full.
  task<std::optional<std::string>> hash(std::string password);
  // Whether `password` matches `stored`; nullopt when the queue is full. A malformed `stored` is false.
  task<std::optional<bool>> verify(std::string stored, std::string password);
  // A hash of a random password with the same parameters: verifying against it costs what a real
  // verify costs (unknown users take as long as known ones).
  const std::string& dummy_hash() const { return dummy_; }

  // Synchronous, on the calling thread (the CLI). Throws std::runtime_error when out of memory.
  static std::string hash_now(const std::string& password, hash_params p);
  static bool verify_now(const std::string& stored, const std::string& password);

  std::int64_t queued() const { return pending_.load(); }
  std::int64_t overflowed() const { return overflowed_.load(); }
  void stop();

 private:
  template <class R, class F>
  task<std::optional<R>> submit(F f);

  hash_params params_;
  int max_queue_;
  boost::asio::thread_pool pool_;
  std::string dummy_;
  std::atomic<std::int64_t> pending_{0};
  std::atomic<std::int64_t> overflowed_{0};
};

struct people_options {
  int session_idle_s = 1800;
  int session_max_s = 43200;
  int max_failures = 5;        // failed sign-ins of one username within the window that lock it
  int failure_window_s = 900;
};

// The outcome of POST /api/v1/sessions, mapped to HTTP by the handler.
struct sign_in_result {
  enum class status { ok, refused, locked, busy } what = status::refused;
  std::string token;            // ok: the session secret, shown once
  std::int64_t expires_at_us = 0;
  std::string user_json;
  int retry_after_s = 0;        // locked, busy
};

struct people_stats {
  std::int64_t sign_ins_ok = 0, sign_ins_refused = 0, sign_ins_locked = 0, lockouts = 0;
};

class people_service {
 public:
  // on_user_changed(username): drop every cached session of the user. on_session_ended(hash): drop one.
  people_service(storage::user_store& store, password_hasher& hasher, people_options opts,
                 std::function<void(const std::string& username)> on_user_changed,
                 std::function<void(const std::string& session_hash)> on_session_ended);

  task<domain::outcome<std::string>> create_user(storage::principal who, domain::user_input u);
  task<domain::outcome<std::string>> patch_user(storage::principal who, std::string username, domain::user_patch p);
  task<domain::outcome<bool>> delete_user(storage::principal who, std::string username);

  // Lock-out first (a locked username is refused without looking at the password), then the
  // password (against a dummy hash for an unknown or disabled user), then a new session.
  task<sign_in_result> sign_in(domain::sign_in_input in, std::string remote);
  // Ends the caller's session; false when the principal is not a session.
  task<bool> sign_out(storage::principal who);

  // The session secret's form: "ms_" + 43 base64url characters (256 bits).
  static std::string new_session_token();

  storage::user_store& store() { return store_; }
  const people_options& options() const { return opts_; }
  people_stats stats() const;

 private:
  storage::user_store& store_;
  password_hasher& hasher_;
  people_options opts_;
  std::function<void(const std::string&)> on_user_changed_, on_session_ended_;
  std::atomic<std::int64_t> ok_{0}, refused_{0}, locked_{0}, lockouts_{0};
};

}  // namespace maeul::services
