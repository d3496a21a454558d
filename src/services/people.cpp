// People: the password hasher's pool, accounts, sign-in with lock-out, sessions (people.hpp).
#include "maeul/services/people.hpp"

#include <sodium.h>

#include <stdexcept>

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "maeul/domain/encoding.hpp"
#include "maeul/services/services.hpp"

namespace maeul::services {
namespace asio = boost::asio;

namespace {

std::string sha256_hex(const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr);
  return domain::hex(std::string_view(reinterpret_cast<char*>(md), len));
}

std::string random_bytes(std::size_t n) {
  std::string b(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(b.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return b;
}

}  // namespace

// ---- the hasher

password_hasher::password_hasher(hash_params p, int threads, int max_queue)
    : params_(p), max_queue_(max_queue), pool_(std::size_t(threads)) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot be initialised");
  dummy_ = hash_now(domain::hex(random_bytes(16)), params_);
}

password_hasher::~password_hasher() { stop(); }

void password_hasher::stop() {
  pool_.stop();
  pool_.join();
}

std::string password_hasher::hash_now(const std::string& password, hash_params p) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot be initialised");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), p.ops, p.mem_bytes,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw std::runtime_error("password hashing ran out of memory");
  return out;
}

bool password_hasher::verify_now(const std::string& stored, const std::string& password) {
  if (stored.size() >= crypto_pwhash_STRBYTES) return false;
  return crypto_pwhash_str_verify(stored.c_str(), password.data(), password.size()) == 0;
}

// Not a coroutine itself (as db_pool::run): g++ 12 mishandles capturing lambdas passed by value
// into coroutines. Bounded: a request past max_queue_ is answered nullopt at once, never queued.
template <class R, class F>
task<std::optional<R>> password_hasher::submit(F f) {
  auto init = [this, f = std::move(f)](auto handler) mutable {
    using handler_t = decltype(handler);
    auto shared = std::make_shared<handler_t>(std::move(handler));
    auto ex = asio::get_associated_executor(*shared);
    if (pending_.fetch_add(1) >= max_queue_) {
      pending_.fetch_sub(1);
      overflowed_.fetch_add(1);
      asio::post(ex, [shared]() mutable { (*shared)(nullptr, std::optional<R>{}); });
      return;
    }
    asio::post(pool_, [this, shared, ex, f = std::move(f)]() mutable {
      std::exception_ptr ep;
      std::optional<R> value;
      try {
        value.emplace(f());
      } catch (...) {
        ep = std::current_exception();
      }
      pending_.fetch_sub(1);
      asio::post(ex, [shared, ep, value = std::move(value)]() mutable { (*shared)(ep, std::move(value)); });
    });
  };
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr, std::optional<R>)>(
      std::move(init), asio::use_awaitable);
}

task<std::optional<std::string>> password_hasher::hash(std::string password) {
  auto p = params_;
  auto job = [password, p] { return hash_now(password, p); };
  co_return co_await submit<std::string>(std::move(job));
}

task<std::optional<bool>> password_hasher::verify(std::string stored, std::string password) {
  auto job = [stored, password] { return verify_now(stored, password); };
  co_return co_await submit<bool>(std::move(job));
}

// ---- the service

people_service::people_service(storage::user_store& store, password_hasher& hasher, people_options opts,
                               std::function<void(const std::string&)> on_user_changed,
                               std::function<void(const std::string&)> on_session_ended)
    : store_(store),
      hasher_(hasher),
      opts_(opts),
      on_user_changed_(std::move(on_user_changed)),
      on_session_ended_(std::move(on_session_ended)) {}

std::string people_service::new_session_token() { return "ms_" + domain::base64url_encode(random_bytes(32)); }

people_stats people_service::stats() const {
  return {ok_.load(), refused_.load(), locked_.load(), lockouts_.load()};
}

namespace {
domain::problem busy_problem() {
  return domain::make_problem(domain::problem_kind::unavailable, "too many passwords are being hashed; retry shortly");
}
}  // namespace

task<domain::outcome<std::string>> people_service::create_user(storage::principal who, domain::user_input u) {
  auto hashed = co_await hasher_.hash(u.password);
  if (!hashed) co_return busy_problem();
  u.password.clear();
  co_return co_await store_.create(std::move(u), std::move(*hashed), actor_of(who));
}

task<domain::outcome<std::string>> people_service::patch_user(storage::principal who, std::string username,
                                                             domain::user_patch p) {
  std::string new_hash;
  if (p.password) {
    auto hashed = co_await hasher_.hash(*p.password);
    if (!hashed) co_return busy_problem();
    new_hash = std::move(*hashed);
    p.password.reset();
  }
  auto res = co_await store_.patch(username, std::move(p), std::move(new_hash), actor_of(who));
  if (!res) co_return res.error();
  // Role, scopes, disable or password: the next request of any session of the user is checked afresh.
  if (on_user_changed_) on_user_changed_(username);
  co_return std::move(res->json);
}

task<domain::outcome<bool>> people_service::delete_user(storage::principal who, std::string username) {
  auto res = co_await store_.remove(username, actor_of(who));
  if (res && on_user_changed_) on_user_changed_(username);
  co_return res;
}

task<sign_in_result> people_service::sign_in(domain::sign_in_input in, std::string remote) {
  sign_in_result out;
  auto lock = co_await store_.lockout(in.username, opts_.max_failures, opts_.failure_window_s);
  if (lock.locked()) {
    locked_.fetch_add(1);
    out.what = sign_in_result::status::locked;
    out.retry_after_s = lock.retry_after_s;
    co_return out;
  }
  auto cred = co_await store_.credentials(in.username);
  // An unknown or disabled user costs one verify too: the answer's timing tells nothing.
  bool usable = cred && !cred->disabled;
  std::string stored = usable ? cred->password_hash : hasher_.dummy_hash();
  auto match = co_await hasher_.verify(std::move(stored), in.password);
  if (!match) {
    out.what = sign_in_result::status::busy;
    out.retry_after_s = 1;
    co_return out;
  }
  if (!usable || !*match) {
    refused_.fetch_add(1);
    auto after = co_await store_.record_failure(in.username, remote, opts_.max_failures, opts_.failure_window_s);
    if (after.locked() && after.failures == opts_.max_failures) {
      lockouts_.fetch_add(1);
      // An alarm, logged once when raised; it is released by time (the window) or a good sign-in.
      spdlog::warn("alarm raised: sign-in locked for username \"{}\" after {} failures within {} s (last from {})",
                   in.username, after.failures, opts_.failure_window_s, remote);
    }
    out.what = sign_in_result::status::refused;
    co_return out;
  }
  out.token = new_session_token();
  auto created = co_await store_.create_session(in.username, sha256_hex(out.token), opts_.session_max_s);
  ok_.fetch_add(1);
  out.what = sign_in_result::status::ok;
  out.expires_at_us = created.expires_at_us;
  out.user_json = std::move(created.user_json);
  co_return out;
}

task<bool> people_service::sign_out(storage::principal who) {
  if (who.kind != "user" || who.session_hash.empty()) co_return false;
  bool ended = co_await store_.end_session(who.session_hash);
  if (on_session_ended_) on_session_ended_(who.session_hash);
  co_return ended;
}

}  // namespace maeul::services
