// Routing, authentication and authorization, and the mapping of errors to HTTP.
#include "maeul/api/router.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "maeul/domain/encoding.hpp"
#include "maeul/storage/db_pool.hpp"

namespace maeul::api {
namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}


}  // namespace

unsigned role_bit_of(std::string_view role) {
  if (role == "admin") return role_admin;
  if (role == "operator") return role_operator;
  if (role == "analyst") return role_analyst;
  if (role == "device") return role_device;
  if (role == "welfare_officer") return role_welfare_officer;
  return 0;
}

query_params query_params::parse(std::string_view raw) {
  query_params q;
  std::size_t i = 0;
  while (i <= raw.size() && !raw.empty()) {
    auto amp = raw.find('&', i);
    if (amp == std::string_view::npos) amp = raw.size();
    auto part = raw.substr(i, amp - i);
    if (!part.empty()) {
      auto eq = part.find('=');
      if (eq == std::string_view::npos)
        q.items.emplace_back(domain::percent_decode(part, true), "");
      else
        q.items.emplace_back(domain::percent_decode(part.substr(0, eq), true), domain::percent_decode(part.substr(eq + 1), true));
    }
    if (amp == raw.size()) break;
    i = amp + 1;
  }
  return q;
}

std::optional<std::string> query_params::get(std::string_view name) const {
  for (const auto& [k, v] : items)
    if (k == name) return v;
  return std::nullopt;
}

domain::problem param_problem(std::string name, std::string detail) {
  return domain::problem{domain::problem_kind::invalid, "invalid query parameter \"" + name + "\"",
                         {{{}, std::move(name), std::move(detail)}}};
}

net::response json_response(int status, std::string body) {
  net::response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

domain::outcome<storage::page_request> page_params(const context& ctx, id_kind ids) {
  storage::page_request p;
  if (auto l = ctx.query.get("limit")) {
    auto v = domain::parse_number<int>(*l);
    if (!v || *v < 1 || *v > 1000) return param_problem("limit", "must be an integer from 1 to 1000");
    p.limit = *v;
  }
  if (auto c = ctx.query.get("cursor"); c && !c->empty()) {
    auto id = domain::base64url_decode(*c);
    bool ok = id && domain::is_valid_id(*id);
    if (ok && ids == id_kind::numeric) {
      auto n = domain::parse_number<std::int64_t>(*id);
      ok = n && *n > 0;
    }
    if (!ok) return param_problem("cursor", "is not a cursor this server gave out");
    p.after = *id;
  }
  return p;
}

net::response list_response(const storage::page& p) {
  std::string body = "{\"items\":[";
  for (std::size_t i = 0; i < p.items.size(); ++i) {
    if (i) body += ',';
    body += p.items[i];
  }
  body += "],\"next_cursor\":";
  body += p.last_id ? "\"" + domain::base64url_encode(*p.last_id) + "\"" : std::string("null");
  body += '}';
  return json_response(200, std::move(body));
}

int http_status(domain::problem_kind kind) {
  using k = domain::problem_kind;
  switch (kind) {
    case k::malformed: return 400;
    case k::unauthorized: return 401;
    case k::forbidden: return 403;
    case k::not_found: return 404;
    case k::method_not_allowed: return 405;
    case k::conflict: return 409;
    case k::too_large: return 413;
    case k::unsupported_media: return 415;
    case k::invalid: return 422;
    case k::too_many_requests: return 429;
    case k::internal: return 500;
    case k::unavailable: return 503;
  }
  return 500;
}

std::string problem_body(const domain::problem& p) {
  nlohmann::ordered_json j;
  j["type"] = std::string("https://maeul.city/problems/") + p.slug();
  j["title"] = p.title();
  j["status"] = http_status(p.kind);
  j["detail"] = p.detail;
  if (!p.errors.empty()) {
    auto& arr = j["errors"] = nlohmann::ordered_json::array();
    for (const auto& e : p.errors) {
      nlohmann::ordered_json item;
      if (!e.parameter.empty())
        item["parameter"] = e.parameter;
      else
        item["pointer"] = e.pointer;
      item["detail"] = e.detail;
      arr.push_back(std::move(item));
    }
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

net::response problem_response(const domain::problem& p) {
  net::response r;
  r.status = http_status(p.kind);
  r.content_type = "application/problem+json";
  r.body = problem_body(p);
  if (r.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"maeul\"");
  return r;
}

net::response no_content() {
  net::response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

authenticator::authenticator(storage::token_store& store, const std::string& bootstrap_token, int cache_seconds)
    : store_(store),
      bootstrap_hash_(bootstrap_token.empty() ? std::string() : storage::hash_token(bootstrap_token)),
      ttl_(cache_seconds) {}

void authenticator::enable_sessions(storage::user_store& users, int idle_s) {
  users_ = &users;
  idle_ = std::chrono::seconds(idle_s);
}

std::uint64_t authenticator::generation() {
  std::lock_guard lock(mutex_);
  return generation_;
}

void authenticator::put(const std::string& hash, entry e, std::uint64_t gen) {
  std::lock_guard lock(mutex_);
  if (gen != generation_) return;
  if (cache_.size() >= max_entries) cache_.clear();  // bounded: a flood of wrong secrets cannot grow it
  cache_[hash] = std::move(e);
}

task<std::optional<storage::principal>> authenticator::authenticate(std::string header) {
  constexpr std::string_view scheme = "bearer ";
  if (header.size() <= scheme.size()) co_return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i]) co_return std::nullopt;
  std::string token = header.substr(scheme.size());
  while (!token.empty() && token.front() == ' ') token.erase(token.begin());
  while (!token.empty() && token.back() == ' ') token.pop_back();
  if (token.empty() || token.size() > 512) co_return std::nullopt;
  std::string hash = storage::hash_token(token);
  // Both sides are fixed-length hex digests of secrets, so this comparison leaks nothing useful.
  if (!bootstrap_hash_.empty() && hash == bootstrap_hash_) {
    storage::principal boot;
    boot.token_id = boot.name = "bootstrap";
    boot.role = "admin";
    co_return boot;
  }
  if (token.rfind("ms_", 0) == 0) co_return co_await authenticate_session(std::move(token));
  auto now = std::chrono::steady_clock::now();
  auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  // A token past its expires_at is refused from memory too, not only once the cache entry ends.
  auto expired = [now_us](const std::optional<storage::principal>& p) {
    return p && p->expires_at_us != 0 && p->expires_at_us <= now_us;
  };
  if (ttl_.count() > 0) {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(hash);
    if (it != cache_.end() && it->second.expires > now) {
      if (expired(it->second.who)) co_return std::nullopt;
      co_return it->second.who;
    }
  }
  auto gen = generation();
  auto who = co_await store_.lookup(hash);
  if (ttl_.count() > 0) put(hash, entry{who, now + ttl_, now}, gen);
  if (expired(who)) co_return std::nullopt;
  co_return who;
}

task<std::optional<storage::principal>> authenticator::authenticate_session(std::string secret) {
  if (!users_ || secret.rfind("ms_", 0) != 0 || secret.size() > 512) co_return std::nullopt;
  std::string hash = storage::hash_token(secret);
  auto now = std::chrono::steady_clock::now();
  auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  // How often a session in use is checked against the database (and its use recorded there).
  auto recheck = std::min<std::chrono::seconds>(ttl_, std::max<std::chrono::seconds>(std::chrono::seconds(1), idle_ / 2));
  // idle_s for the database: from memory the idle limit was already enforced; the row's
  // last_seen_at may lag the last request by up to one recheck interval.
  int db_idle = int(idle_.count());
  std::uint64_t gen = 0;
  {
    std::lock_guard lock(mutex_);
    gen = generation_;
    auto it = cache_.find(hash);
    if (it != cache_.end()) {
      auto& e = it->second;
      if (!e.who) {
        if (e.expires > now) co_return std::nullopt;
      } else if (now - e.last_used > idle_ || now_us >= e.who->expires_at_us) {
        cache_.erase(it);  // idle or past its hard end: ended here, and the database agrees
        co_return std::nullopt;
      } else if (e.expires > now) {
        e.last_used = now;
        co_return e.who;
      } else {
        e.last_used = now;  // in use: a sweep during the database check must not take it for idle
        db_idle += int(recheck.count()) + 1;
      }
    }
  }
  auto who = co_await users_->use_session(hash, db_idle);
  if (ttl_.count() > 0) put(hash, entry{who, now + recheck, now}, gen);
  co_return who;
}

std::vector<std::string> authenticator::sweep_idle() {
  std::vector<std::string> idle;
  if (!users_) return idle;
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  for (auto it = cache_.begin(); it != cache_.end();) {
    const auto& e = it->second;
    if (e.who && e.who->kind == "user" && now - e.last_used > idle_) {
      idle.push_back(it->first);
      it = cache_.erase(it);
    } else {
      ++it;
    }
  }
  return idle;
}

void authenticator::forget(const std::string& token_id) {
  {
    std::lock_guard lock(mutex_);
    ++generation_;
    for (auto it = cache_.begin(); it != cache_.end();) {
      if (it->second.who && it->second.who->kind == "token" && it->second.who->token_id == token_id)
        it = cache_.erase(it);
      else
        ++it;
    }
  }
  if (on_forget) on_forget("token", token_id);
}

void authenticator::forget_user(const std::string& username) {
  {
    std::lock_guard lock(mutex_);
    ++generation_;
    for (auto it = cache_.begin(); it != cache_.end();) {
      if (it->second.who && it->second.who->kind == "user" && it->second.who->name == username)
        it = cache_.erase(it);
      else
        ++it;
    }
  }
  if (on_forget) on_forget("user", username);
}

void authenticator::forget_session(const std::string& session_hash) {
  {
    std::lock_guard lock(mutex_);
    ++generation_;
    cache_.erase(session_hash);
  }
  if (on_forget) on_forget("session", session_hash);
}

std::string session_cookie(std::string_view h) {
  constexpr std::string_view name = "maeul_session=";
  std::size_t i = 0;
  while (i < h.size()) {
    while (i < h.size() && (h[i] == ' ' || h[i] == ';')) ++i;
    auto end = h.find(';', i);
    if (end == std::string_view::npos) end = h.size();
    auto part = h.substr(i, end - i);
    if (part.substr(0, name.size()) == name) {
      auto v = part.substr(name.size());
      while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
      return std::string(v);
    }
    i = end + 1;
  }
  return {};
}

void router::set_rate_limit(double per_second, double burst) {
  limiter_ = per_second > 0 ? std::make_unique<rate_limiter>(per_second, burst) : nullptr;
}

void router::add(std::string method, std::string pattern, unsigned roles, route_fn fn) {
  if (unmatched_metric_ < 0) unmatched_metric_ = metrics_.add_route("unmatched");
  int metric = metrics_.add_route(pattern, method);
  route r{std::move(method), pattern, split_path(pattern), roles, std::move(fn), metric};
  routes_.push_back(std::move(r));
}

std::vector<router::route_info> router::routes() const {
  std::vector<route_info> out;
  for (const auto& r : routes_) out.push_back({r.method, r.pattern, r.roles});
  return out;
}

int router::match(const std::string& method, const std::string& path, std::vector<std::string>& captures,
                  std::string& allow) const {
  // Split without allocating: paths deeper than this match no route.
  constexpr std::size_t max_segments = 16;
  std::string_view segs[max_segments];
  std::size_t n = 0;
  std::string_view rest = path;
  while (!rest.empty()) {
    if (rest.front() == '/') {
      rest.remove_prefix(1);
      continue;
    }
    auto j = rest.find('/');
    if (n == max_segments) return -1;
    segs[n++] = rest.substr(0, j);
    rest = j == std::string_view::npos ? std::string_view() : rest.substr(j);
  }
  int found = -1;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const auto& r = routes_[i];
    if (r.segments.size() != n) continue;
    bool ok = true;
    for (std::size_t k = 0; k < n && ok; ++k) {
      const auto& p = r.segments[k];
      ok = (p.size() > 2 && p.front() == '{' && p.back() == '}') || p == segs[k];
    }
    if (!ok) continue;
    if (!allow.empty()) allow += ", ";
    allow += r.method;
    bool exact = r.method == method;
    if (exact || (method == "HEAD" && r.method == "GET" && found < 0)) {
      found = static_cast<int>(i);
      captures.clear();
      for (std::size_t k = 0; k < n; ++k) {
        const auto& p = r.segments[k];
        if (p.size() > 2 && p.front() == '{' && p.back() == '}') captures.emplace_back(segs[k]);
      }
      if (exact) {
        // keep collecting Allow only when nothing matched; an exact match ends the search
        return found;
      }
    }
  }
  return found;
}

task<net::response> router::dispatch(net::request req) {
  auto start = std::chrono::steady_clock::now();
  std::vector<std::string> captures;
  std::string allow;
  int idx = match(req.method, req.path, captures, allow);
  int metric = idx >= 0 ? routes_[idx].metric : unmatched_metric_;
  std::string method = req.method;
  net::response res;
  // 429 when `key` is past its rate (nullopt: go on).
  auto over_rate = [this](const std::string& key) -> std::optional<net::response> {
    if (!limiter_) return std::nullopt;
    int wait = limiter_->take(key);
    if (wait == 0) return std::nullopt;
    auto r = problem_response(domain::make_problem(domain::problem_kind::too_many_requests,
                                                   "too many requests; retry after " + std::to_string(wait) + " s"));
    r.headers.emplace_back("Retry-After", std::to_string(wait));
    return r;
  };
  try {
    std::optional<net::response> file;
    std::optional<net::response> limited;
    if (idx < 0 || routes_[idx].roles == public_route) {
      if (req.path != "/healthz") limited = over_rate("ip:" + req.remote);
    }
    if (!limited && idx < 0 && allow.empty() && fallback_ && (req.method == "GET" || req.method == "HEAD") &&
        req.path.rfind("/api/", 0) != 0 && req.path.rfind("/public/v1/", 0) != 0)
      file = fallback_(req);
    if (limited) {
      res = std::move(*limited);
    } else if (file) {
      res = std::move(*file);
      if (req.method == "HEAD") res.body.clear();
    } else if (idx < 0) {
      if (allow.empty()) {
        res = problem_response(domain::make_problem(domain::problem_kind::not_found, "no such resource: " + req.path));
      } else {
        res = problem_response(domain::make_problem(domain::problem_kind::method_not_allowed,
                                                    req.method + " is not allowed here; allowed: " + allow));
        res.headers.emplace_back("Allow", allow);
      }
    } else {
      const auto& r = routes_[idx];
      context ctx;
      bool allowed = true;
      if (r.roles != public_route) {
        allowed = false;
        auto who = co_await auth_.authenticate(req.authorization);
        // The dashboard's session cookie, when no Authorization header is sent.
        std::string cookie_secret = req.authorization.empty() ? session_cookie(req.cookie) : std::string();
        bool by_cookie = false;
        if (!who && !cookie_secret.empty()) {
          who = co_await auth_.authenticate_session(cookie_secret);
          by_cookie = true;
        }
        if (!who && req.authorization.empty() && req.path == "/api/v1/live") {
          // Browsers' WebSocket cannot set headers; they may pass ?access_token= instead — on the
          // live feed only (API §8), so that tokens stay out of other URLs, logs and referrers. A
          // stale session cookie sent beside it does not hide it (a kiosk after a person's session).
          auto q = query_params::parse(req.query);
          if (auto t = q.get("access_token")) {
            std::string header = "Bearer " + *t;  // (no temporaries inside co_await expressions: g++ 12)
            who = co_await auth_.authenticate(std::move(header));
            if (who) by_cookie = false;
          }
        }
        bool changes_state = method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
        // Rates per principal; requests that name none (or a wrong one) count against their address.
        limited = over_rate(who ? who->kind + ":" + (who->kind == "user" ? who->name : who->token_id)
                                : "ip:" + req.remote);
        if (limited) {
          res = std::move(*limited);
        } else if (!who) {
          res = problem_response(domain::make_problem(
              domain::problem_kind::unauthorized,
              by_cookie ? "the session has ended or is unknown; sign in again"
              : req.authorization.empty() ? "this route needs \"Authorization: Bearer TOKEN\" or a session"
                                          : "the token is unknown, malformed or revoked"));
        } else if (by_cookie && changes_state && req.origin != (req.tls ? "https://" : "http://") + req.host) {
          // A cookie is sent by the browser whatever page asks: a change must come from our own pages.
          res = problem_response(domain::make_problem(
              domain::problem_kind::forbidden,
              "a change made with the session cookie must come from this dashboard's origin (Origin header)"));
        } else if (!(role_bit_of(who->role) & r.roles)) {
          res = problem_response(domain::make_problem(domain::problem_kind::forbidden,
                                                      "the role \"" + who->role + "\" may not do this"));
        } else {
          ctx.who = std::move(*who);
          allowed = true;
        }
      }
      if (allowed) {
        ctx.params = std::move(captures);
        ctx.query = query_params::parse(req.query);
        ctx.req = std::move(req);
        res = co_await r.fn(std::move(ctx));
        if (method == "HEAD") res.body.clear();
      }
    }
  } catch (const storage::unavailable& e) {
    spdlog::warn("request failed, database unavailable: {}", e.what());
    res = problem_response(domain::make_problem(domain::problem_kind::unavailable,
                                                "the database is unavailable; retry later"));
    res.headers.emplace_back("Retry-After", "5");
  } catch (const std::exception& e) {
    spdlog::error("request failed: {} {}: {}", method, idx >= 0 ? routes_[idx].pattern : "?", e.what());
    res = problem_response(domain::make_problem(domain::problem_kind::internal, "an internal error occurred"));
  } catch (...) {
    spdlog::error("request failed: {} {}: a non-standard exception", method, idx >= 0 ? routes_[idx].pattern : "?");
    res = problem_response(domain::make_problem(domain::problem_kind::internal, "an internal error occurred"));
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_.observe(metric, method, res.status, secs);
  co_return res;
}

}  // namespace maeul::api
