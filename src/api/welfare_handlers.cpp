// Welfare vault routes (API §9): residents, their export, the break-the-glass reveal of §8, and
// the access records' list, verification and monthly review. JSON <-> domain only; the welfare
// service decides who sees whom and records every access (services/welfare.hpp).
#include <nlohmann/json.hpp>

#include "maeul/api/routes.hpp"
#include "maeul/domain/encoding.hpp"
#include "maeul/domain/time.hpp"
#include "maeul/domain/welfare.hpp"
#include "maeul/services/welfare.hpp"
#include "maeul/storage/observations.hpp"

namespace maeul::api {
namespace {

using json = nlohmann::json;
using domain::make_problem;
using domain::problem_kind;

// A problem; 503 (the vault closed) says when to try again.
net::response failure(const domain::problem& p) {
  auto res = problem_response(p);
  if (res.status == 503) res.headers.emplace_back("Retry-After", "60");
  return res;
}

template <class T>
net::response answer(const domain::outcome<T>& o, int status = 200) {
  if (!o) return failure(o.error());
  if constexpr (std::is_same_v<T, bool>)
    return no_content();
  else
    return json_response(status, o.value());
}

// The stated purpose of an access (?purpose=, up to 500 bytes): recorded with it.
domain::outcome<::maeul::services::access_context> access_of(const context& ctx) {
  ::maeul::services::access_context a{ctx.req.remote, ctx.query.get("purpose").value_or("")};
  if (a.purpose.size() > 500) return param_problem("purpose", "must be at most 500 bytes");
  return a;
}

std::optional<std::int64_t> positive_id(const std::string& s) {
  auto v = domain::parse_number<std::int64_t>(s);
  if (!v || *v <= 0) return std::nullopt;
  return v;
}

// "YYYY-MM" -> [first instant of the month, of the next) in UTC.
std::optional<std::pair<std::int64_t, std::int64_t>> month_range(const std::string& m) {
  if (m.size() != 7 || m[4] != '-') return std::nullopt;
  auto y = domain::parse_number<int>(m.substr(0, 4));
  auto mo = domain::parse_number<int>(m.substr(5, 2));
  if (!y || !mo || *y < 1970 || *y > 9999 || *mo < 1 || *mo > 12) return std::nullopt;
  char a[40], b[40];
  std::snprintf(a, sizeof a, "%04d-%02d-01T00:00:00Z", *y, *mo);
  std::snprintf(b, sizeof b, "%04d-%02d-01T00:00:00Z", *mo == 12 ? *y + 1 : *y, *mo == 12 ? 1 : *mo + 1);
  auto from = domain::parse_rfc3339(a), to = domain::parse_rfc3339(b);
  if (!from || !to) return std::nullopt;
  return std::make_pair(*from, *to);
}

}  // namespace

// POST /api/v1/residents
task<net::response> post_residents(services* sp, context ctx) {
  auto a = access_of(ctx);
  if (!a) co_return problem_response(a.error());
  auto body = json_body(ctx.req);
  if (!body) co_return problem_response(body.error());
  auto in = domain::validate_resident(*body);
  if (!in) co_return problem_response(in.error());
  auto call = sp->welfare->create(ctx.who, *a, std::move(*in));
  auto res = co_await std::move(call);
  auto out = answer(res, 201);
  if (res) out.headers.emplace_back("Location", "/api/v1/residents/" + json::parse(*res)["id"].get<std::string>());
  co_return out;
}

// GET /api/v1/residents (?zone=, or ?phone= for a lookup through the blind index)
task<net::response> get_residents(services* sp, context ctx) {
  auto a = access_of(ctx);
  if (!a) co_return problem_response(a.error());
  if (auto phone = ctx.query.get("phone")) {
    auto call = sp->welfare->find_by_phone(ctx.who, *a, *phone);
    auto res = co_await std::move(call);
    if (!res) co_return answer(res);
    auto j = json::parse(*res);
    j["next_cursor"] = nullptr;
    co_return json_response(200, j.dump());
  }
  auto p = page_params(ctx);
  if (!p) co_return problem_response(p.error());
  auto call = sp->welfare->list(ctx.who, *a, ctx.query.get("zone").value_or(""), *p);
  auto res = co_await std::move(call);
  if (!res) co_return failure(res.error());
  co_return list_response(*res);
}

// GET /api/v1/residents/{id}
task<net::response> get_residents_by_id(services* sp, context ctx) {
  auto a = access_of(ctx);
  if (!a) co_return problem_response(a.error());
  auto call = sp->welfare->get(ctx.who, *a, ctx.params[0]);
  co_return answer(co_await std::move(call));
}

// PATCH /api/v1/residents/{id}
task<net::response> patch_residents_by_id(services* sp, context ctx) {
  auto a = access_of(ctx);
  if (!a) co_return problem_response(a.error());
  auto body = json_body(ctx.req);
  if (!body) co_return problem_response(body.error());
  auto p = domain::validate_resident_patch(*body);
  if (!p) co_return problem_response(p.error());
  auto call = sp->welfare->patch(ctx.who, *a, ctx.params[0], std::move(*p));
  co_return answer(co_await std::move(call));
}

// DELETE /api/v1/residents/{id}
task<net::response> delete_residents_by_id(services* sp, context ctx) {
  auto a = access_of(ctx);
  if (!a) co_return problem_response(a.error());
  auto call = sp->welfare->erase(ctx.who, *a, ctx.params[0]);
  co_return answer(co_await std::move(call));
}

// GET /api/v1/residents/{id}/export
task<net::response> get_residents_by_id_export(services* sp, context ctx) {
  auto a = access_of(ctx);
  if (!a) co_return problem_response(a.error());
  auto call = sp->welfare->export_of(ctx.who, *a, ctx.params[0]);
  auto res = co_await std::move(call);
  auto out = answer(res);
  if (res) out.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + ctx.params[0] + ".json\"");
  co_return out;
}

// POST /api/v1/alerts/{id}/reveal {"reason"}
task<net::response> post_alerts_by_id_reveal(services* sp, context ctx) {
  auto id = positive_id(ctx.params[0]);
  if (!id) co_return problem_response(make_problem(problem_kind::not_found, "no alert with this id"));
  auto body = json_body(ctx.req);
  if (!body) co_return problem_response(body.error());
  std::vector<domain::field_error> errors;
  if (!body->is_object()) co_return problem_response(domain::invalid({{"", {}, "the body must be a JSON object"}}));
  for (const auto& [k, v] : body->items())
    if (k != "reason") errors.push_back({"/" + k, {}, "is not a field of a reveal"});
  auto r = body->find("reason");
  if (r == body->end() || !r->is_string() || r->get_ref<const std::string&>().size() < 5 ||
      r->get_ref<const std::string&>().size() > 500)
    errors.push_back({"/reason", {}, "is required: why the identity is needed (5-500 bytes), recorded with the access"});
  if (!errors.empty()) co_return problem_response(domain::invalid(std::move(errors)));
  ::maeul::services::access_context a{ctx.req.remote, r->get<std::string>()};
  auto call = sp->welfare->reveal(ctx.who, a, *id);
  co_return answer(co_await std::move(call));
}

// GET /api/v1/audit/access
task<net::response> get_audit_access(services* sp, context ctx) {
  auto p = page_params(ctx, id_kind::numeric);
  if (!p) co_return problem_response(p.error());
  storage::access_filter f;
  f.resident = ctx.query.get("resident").value_or("");
  f.actor = ctx.query.get("actor").value_or("");
  for (auto [name, out] : {std::pair{"from", &f.from_us}, std::pair{"to", &f.to_us}}) {
    auto v = ctx.query.get(name);
    if (!v || v->empty()) continue;
    auto t = domain::parse_rfc3339(*v);
    if (!t) co_return problem_response(param_problem(name, "must be an RFC 3339 time with an offset"));
    *out = *t;
  }
  auto call = sp->welfare->access_records(std::move(f), *p);
  co_return list_response(co_await std::move(call));
}

// GET /api/v1/audit/verify
task<net::response> get_audit_verify(services* sp, context) {
  auto call = sp->welfare->verify();
  auto v = co_await std::move(call);
  json out = {{"ok", v.ok}, {"records", v.records}, {"first_bad", v.first_bad ? json(*v.first_bad) : json(nullptr)}};
  co_return json_response(200, out.dump());
}

// GET /api/v1/audit/review?month=YYYY-MM (default: the previous month, UTC)
task<net::response> get_audit_review(services* sp, context ctx) {
  std::string month = ctx.query.get("month").value_or("");
  if (month.empty()) {
    auto now = domain::format_rfc3339_ms(sp->now_us());
    int y = std::stoi(now.substr(0, 4)), m = std::stoi(now.substr(5, 2));
    if (--m == 0) {
      m = 12;
      --y;
    }
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d", y, m);
    month = buf;
  }
  auto range = month_range(month);
  if (!range) co_return problem_response(param_problem("month", "must be a month as YYYY-MM"));
  auto call = sp->welfare->review(range->first, range->second);
  auto actors = co_await std::move(call);
  auto vcall = sp->welfare->verify();
  auto v = co_await std::move(vcall);
  json out = {{"month", month},
              {"from", domain::format_rfc3339_ms(range->first)},
              {"to", domain::format_rfc3339_ms(range->second)},
              {"actors", json::parse(actors)},
              {"chain", {{"ok", v.ok}, {"records", v.records}, {"first_bad", v.first_bad ? json(*v.first_bad) : json(nullptr)}}}};
  co_return json_response(200, out.dump());
}

// GET /api/v1/retention
task<net::response> get_retention(services* sp, context) {
  auto call = sp->observations.retention(sp->retention_days, sp->now_us());
  auto r = co_await std::move(call);
  json domains = json::array();
  for (const auto& d : r.domains)
    domains.push_back({{"domain", d.domain},
                       {"days", d.days},
                       {"horizon", d.horizon_us ? json(domain::format_rfc3339_ms(d.horizon_us)) : json(nullptr)},
                       {"partitions", d.partitions},
                       {"oldest_reading", d.oldest_us ? json(domain::format_rfc3339_ms(*d.oldest_us)) : json(nullptr)}});
  json out = {{"domains", domains}, {"recent_drops", json::parse(r.recent_drops_json)}};
  co_return json_response(200, out.dump());
}

}  // namespace maeul::api
