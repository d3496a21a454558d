// People routes: accounts (/api/v1/users), their grant audit, sign-in and sign-out
// (/api/v1/sessions) and the caller (/api/v1/me). JSON <-> domain only; the people service does
// the rest (services/people.hpp).
#include <nlohmann/json.hpp>

#include "maeul/api/routes.hpp"
#include "maeul/domain/encoding.hpp"
#include "maeul/domain/people.hpp"
#include "maeul/domain/time.hpp"
#include "maeul/services/people.hpp"

namespace maeul::api {
namespace {

using json = nlohmann::json;
using domain::make_problem;
using domain::outcome;
using domain::problem_kind;

// (any_role: include/maeul/api/router.hpp)

std::string iso_ms(std::int64_t us) { return domain::format_rfc3339_ms(us); }

// The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends
// it), Path=/; Secure when the request came over TLS (net::request::tls, set by a TLS listener).
std::string session_cookie_header(const std::string& value, int max_age_s, bool tls) {
  std::string c = "maeul_session=" + value + "; HttpOnly; SameSite=Strict; Path=/; Max-Age=" + std::to_string(max_age_s);
  if (tls) c += "; Secure";
  return c;
}

net::response busy(const domain::problem& p) {
  auto res = problem_response(p);
  if (res.status == 503) res.headers.emplace_back("Retry-After", "1");
  return res;
}

}  // namespace

// Named handlers; routes.cpp puts them in the route table.

// POST /api/v1/users
task<net::response> post_users([[maybe_unused]] services* sp, context ctx) {
  auto* svc = sp->people;

    auto body = json_body(ctx.req);
    if (!body) co_return problem_response(body.error());
    auto v = domain::validate_user(*body);
    if (!v) co_return problem_response(v.error());
    auto name = v->username;
    auto res = co_await svc->create_user(ctx.who, std::move(*v));
    if (!res) co_return busy(res.error());
    auto out = json_response(201, std::move(*res));
    out.headers.emplace_back("Location", "/api/v1/users/" + name);
    co_return out;
}

// GET /api/v1/users
task<net::response> get_users([[maybe_unused]] services* sp, context ctx) {
  auto* svc = sp->people;

    auto p = page_params(ctx);
    if (!p) co_return problem_response(p.error());
    co_return list_response(co_await svc->store().list(*p));
}

// GET /api/v1/users/{username}
task<net::response> get_users_by_id([[maybe_unused]] services* sp, context ctx) {
  auto* svc = sp->people;

    auto res = co_await svc->store().get(ctx.params[0]);
    if (!res) co_return problem_response(res.error());
    co_return json_response(200, std::move(*res));
}

// PATCH /api/v1/users/{username}
task<net::response> patch_users_by_id([[maybe_unused]] services* sp, context ctx) {
  auto* svc = sp->people;

    auto body = json_body(ctx.req);
    if (!body) co_return problem_response(body.error());
    auto v = domain::validate_user_patch(*body);
    if (!v) co_return problem_response(v.error());
    auto res = co_await svc->patch_user(ctx.who, ctx.params[0], std::move(*v));
    if (!res) co_return busy(res.error());
    co_return json_response(200, std::move(*res));
}

// DELETE /api/v1/users/{username}
task<net::response> delete_users_by_id([[maybe_unused]] services* sp, context ctx) {
  auto* svc = sp->people;

    auto res = co_await svc->delete_user(ctx.who, ctx.params[0]);
    if (!res) co_return problem_response(res.error());
    co_return no_content();
}

// GET /api/v1/users/{username}/changes
task<net::response> get_users_by_id_changes([[maybe_unused]] services* sp, context ctx) {
  auto* svc = sp->people;

    auto p = page_params(ctx, id_kind::numeric);
    if (!p) co_return problem_response(p.error());
    co_return list_response(co_await svc->store().changes(ctx.params[0], *p));
}

// POST /api/v1/sessions
task<net::response> post_sessions([[maybe_unused]] services* sp, context ctx) {
  auto* svc = sp->people;

    auto body = json_body(ctx.req);
    if (!body) co_return problem_response(body.error());
    auto v = domain::validate_sign_in(*body);
    if (!v) co_return problem_response(v.error());
    auto res = co_await svc->sign_in(std::move(*v), ctx.req.remote);
    using st = ::maeul::services::sign_in_result::status;
    if (res.what == st::ok) {
      json out = {{"token", res.token},
                  {"expires_at", iso_ms(res.expires_at_us)},
                  {"user", json::parse(res.user_json)}};
      auto ok = json_response(201, out.dump());
      ok.headers.emplace_back("Set-Cookie",
                              session_cookie_header(res.token, svc->options().session_max_s, ctx.req.tls));
      ok.headers.emplace_back("Cache-Control", "no-store");
      co_return ok;
    }
    if (res.what == st::locked) {
      auto locked = problem_response(make_problem(
          problem_kind::too_many_requests, "too many failed sign-ins for this username; retry after the delay"));
      locked.headers.emplace_back("Retry-After", std::to_string(res.retry_after_s));
      co_return locked;
    }
    if (res.what == st::busy)
      co_return busy(make_problem(problem_kind::unavailable, "too many sign-ins at once; retry shortly"));
    // The same answer for an unknown user, a disabled one and a wrong password.
    co_return problem_response(make_problem(problem_kind::unauthorized, "the username or the password is wrong"));
}

// DELETE /api/v1/sessions/current
task<net::response> delete_sessions_current([[maybe_unused]] services* sp, context ctx) {
  auto* svc = sp->people;

    if (ctx.who.kind != "user")
      co_return problem_response(make_problem(problem_kind::not_found,
                                              "this request was not made with a session (an API token has none)"));
    co_await svc->sign_out(ctx.who);
    auto res = no_content();
    res.headers.emplace_back("Set-Cookie", session_cookie_header("", 0, ctx.req.tls));
    co_return res;
}

// GET /api/v1/me
task<net::response> get_me([[maybe_unused]] services* sp, context ctx) {

    const auto& w = ctx.who;
    json out = {{"kind", w.kind == "user" ? "user" : "token"},
                {"name", w.name},
                {"display_name", w.display_name.empty() ? w.name : w.display_name},
                {"role", w.role},
                {"zones", w.zones},
                {"domains", w.domains},
                {"expires_at", w.expires_at_us != 0 ? json(iso_ms(w.expires_at_us)) : json(nullptr)}};
    co_return json_response(200, out.dump());
}


}  // namespace maeul::api
