// The route table: (method, path pattern) -> handler, with the roles allowed on each route.
// dispatch() is the single try/catch per request and the one place problems become HTTP.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "maeul/asio/task.hpp"
#include "maeul/api/metrics.hpp"
#include "maeul/api/rate_limit.hpp"
#include "maeul/domain/problem.hpp"
#include "maeul/net/http.hpp"
#include "maeul/storage/registry.hpp"
#include "maeul/storage/users.hpp"

namespace maeul::api {

// Role bits; a route allows a set of them. A route with no bits is public (no token needed).
enum role_bit : unsigned {
  role_admin = 1,
  role_operator = 2,
  role_analyst = 4,
  role_device = 8,
  role_welfare_officer = 16,
};
inline constexpr unsigned public_route = 0;
inline constexpr unsigned admin_only = role_admin;
inline constexpr unsigned registry_readers = role_admin | role_operator | role_analyst | role_welfare_officer;
inline constexpr unsigned operations_roles = role_admin | role_operator | role_welfare_officer;
inline constexpr unsigned welfare_roles = role_admin | role_welfare_officer;
inline constexpr unsigned any_role = role_admin | role_operator | role_analyst | role_device | role_welfare_officer;

unsigned role_bit_of(std::string_view role);  // 0 for an unknown role

// Query string parsing (application/x-www-form-urlencoded rules).
struct query_params {
  std::vector<std::pair<std::string, std::string>> items;
  static query_params parse(std::string_view raw);
  // The first value of `name`, or nullopt.
  std::optional<std::string> get(std::string_view name) const;
};

struct context {
  net::request req;
  std::vector<std::string> params;  // path captures, in order
  query_params query;
  storage::principal who;           // empty for public routes
};

using route_fn = std::function<task<net::response>(context)>;

net::response json_response(int status, std::string body);
// A 422 naming a bad query parameter: errors:[{"parameter": name, "detail": detail}].
domain::problem param_problem(std::string name, std::string detail);
// The one mapping of the domain's problems to HTTP: status code and application/problem+json body.
int http_status(domain::problem_kind kind);
std::string problem_body(const domain::problem& p);
net::response problem_response(const domain::problem& p);
net::response no_content();

// Lists (API.md §3): `?limit=` (1..1000, default 100) and `?cursor=`, an opaque token this server
// gave out: base64url of the last id of the previous page, for every list. `numeric`: the ids are
// positive integers (alerts, incidents), checked after decoding.
enum class id_kind { text, numeric };
domain::outcome<storage::page_request> page_params(const context& ctx, id_kind ids = id_kind::text);
// The one list envelope: {"items":[...],"next_cursor":"..."|null}.
net::response list_response(const storage::page& p);

// Tokens and sessions to principals: the bootstrap token, then a bounded in-memory cache keyed by
// the SHA-256 of the secret, then the database. A session secret ("ms_...", from a cookie or a
// Bearer header) resolves to a user principal; any other Bearer secret to an API token's.
class authenticator {
 public:
  authenticator(storage::token_store& store, const std::string& bootstrap_token, int cache_seconds);
  // Sessions are refused until this is called (wired by app/). idle_s: auth.session_idle_s.
  void enable_sessions(storage::user_store& users, int idle_s);
  // The principal for an "Authorization: Bearer ..." header, or nullopt when unknown/malformed.
  task<std::optional<storage::principal>> authenticate(std::string header);
  // The principal for a session secret (the maeul_session cookie's value), or nullopt when the
  // session is unknown, ended, idle for longer than idle_s, past its hard end, or its user disabled.
  // After the first request it is answered from memory; the database is asked again (and the
  // session's last use recorded there) every min(cache_seconds, idle_s / 2) seconds of use.
  task<std::optional<storage::principal>> authenticate_session(std::string secret);
  // Drops cached entries of a revoked token at once (other instances expire theirs within the TTL).
  void forget(const std::string& token_id);
  // Drops every cached session of a user (disabled, deleted, role/scope/password changed).
  void forget_user(const std::string& username);
  // Drops one cached session (signed out).
  void forget_session(const std::string& session_hash);
  // Sessions idle for longer than idle_s on this instance (no request since): dropped from the
  // cache, their hashes returned so that their open WebSockets close (API §8: an ended session's
  // live feeds close within 2 s). Called by app/ every 500 ms. A session not in the cache (cache
  // off, or evicted) is not seen here; its live feeds end at the session's hard end.
  std::vector<std::string> sweep_idle();
  // Told of every forget_* after it (outside the lock), so that open WebSockets of the credential
  // close too: ("token", id), ("user", username) or ("session", hash). Set once at start.
  std::function<void(const std::string& kind, const std::string& key)> on_forget;

  static constexpr std::size_t max_entries = 10000;

 private:
  struct entry {
    std::optional<storage::principal> who;
    std::chrono::steady_clock::time_point expires;    // ask the database again after this
    std::chrono::steady_clock::time_point last_used;  // sessions: the last request on this instance
  };
  // Stores an entry unless a forget_* ran since `gen` was read (a lookup that raced a
  // sign-out or disable must not put the old answer back).
  void put(const std::string& hash, entry e, std::uint64_t gen);
  std::uint64_t generation();
  storage::token_store& store_;
  storage::user_store* users_ = nullptr;
  std::chrono::seconds idle_{1800};
  std::string bootstrap_hash_;
  std::chrono::seconds ttl_;
  std::mutex mutex_;
  std::unordered_map<std::string, entry> cache_;
  std::uint64_t generation_ = 0;  // bumped by every forget_*
};

// The maeul_session cookie's value in a Cookie header, or "".
std::string session_cookie(std::string_view cookie_header);

class router {
 public:
  router(authenticator& auth, metrics& m) : auth_(auth), metrics_(m) {}

  // pattern: "/api/v1/zones/{id}"; roles: role bits, or public_route.
  void add(std::string method, std::string pattern, unsigned roles, route_fn fn);

  // Answers one request; never throws.
  task<net::response> dispatch(net::request req);

  // Answers GET/HEAD requests that match no route and are outside /api/ (the dashboard's files).
  // nullopt from the fallback: the usual 404.
  void set_fallback(std::function<std::optional<net::response>(const net::request&)> f) { fallback_ = std::move(f); }

  // limits.requests_per_s and limits.burst: each principal (a token, a user; anonymous requests
  // and failed sign-ins: their address) gets that many requests a second, past it 429 with
  // Retry-After. 0: no limit. GET /healthz is never limited (probes). Call before serving.
  void set_rate_limit(double per_second, double burst);

  struct route_info {
    std::string method, pattern;
    unsigned roles;
  };
  std::vector<route_info> routes() const;

 private:
  struct route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    unsigned roles;
    route_fn fn;
    int metric;
  };
  // Index of the route for (method, path), filling captures; -1 when none. `allow` gets the
  // methods of routes whose path matches, for 405.
  int match(const std::string& method, const std::string& path, std::vector<std::string>& captures,
            std::string& allow) const;

  authenticator& auth_;
  metrics& metrics_;
  std::unique_ptr<rate_limiter> limiter_;
  std::vector<route> routes_;
  int unmatched_metric_ = -1;
  std::function<std::optional<net::response>(const net::request&)> fallback_;
};

}  // namespace maeul::api
