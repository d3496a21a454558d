// Registry and token routes: JSON <-> domain mapping over the storage repositories.
#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "maeul/api/routes.hpp"
#include "maeul/services/services.hpp"
#include "maeul/domain/encoding.hpp"
#include "maeul/domain/registry.hpp"
#include "maeul/ingest/ingest.hpp"

namespace maeul::api {
namespace {

using json = nlohmann::json;
using domain::make_problem;
using domain::outcome;
using domain::problem_kind;

net::response created(const std::string& collection, const std::string& id, std::string body) {
  auto res = json_response(201, std::move(body));
  res.headers.emplace_back("Location", "/api/v1/" + collection + "/" + id);
  return res;
}

template <class T>
net::response answer(const outcome<T>& o, int status = 200) {
  if (!o) return problem_response(o.error());
  if constexpr (std::is_same_v<T, bool>)
    return no_content();
  else
    return json_response(status, o.value());
}

// Reads the stored object, applies an RFC 7386 merge patch, and returns the whole new body.
// A patch that moves the location without naming a zone asks for the zone to be derived again.
outcome<json> merged(const outcome<std::string>& stored, const json& patch) {
  if (!stored) return stored.error();
  if (!patch.is_object()) return domain::invalid({{"", {}, "a merge patch must be a JSON object"}});
  json current = json::parse(stored.value());
  current.erase("created_at");
  current.erase("updated_at");
  if (patch.contains("location") && !patch.contains("zone")) current["zone"] = nullptr;
  current.merge_patch(patch);
  return current;
}

}  // namespace

// Named handlers; routes.cpp puts them in the route table.

// GET /api/v1/zones
task<net::response> get_zones([[maybe_unused]] services* sp, context ctx) {

    auto p = page_params(ctx);
    if (!p) co_return problem_response(p.error());
    co_return list_response(co_await sp->query_svc.zones(ctx.who, *p));
}

// POST /api/v1/zones
task<net::response> post_zones([[maybe_unused]] services* sp, context ctx) {
  auto* svc = &sp->registry_svc;

    auto body = json_body(ctx.req);
    if (!body) co_return problem_response(body.error());
    auto z = domain::validate_zone(*body);
    if (!z) co_return problem_response(z.error());
    auto id = z->id;
    auto res = co_await svc->create_zone(ctx.who, std::move(*z));
    if (!res) co_return problem_response(res.error());
    co_return created("zones", id, std::move(res.value()));
}

// GET /api/v1/zones/{id}
task<net::response> get_zones_by_id([[maybe_unused]] services* sp, context ctx) {

    co_return answer(co_await sp->query_svc.zone(ctx.who, ctx.params[0]));
}

// PUT /api/v1/zones/{id}
task<net::response> put_zones_by_id([[maybe_unused]] services* sp, context ctx) {
  auto* svc = &sp->registry_svc;

    auto body = json_body(ctx.req);
    if (!body) co_return problem_response(body.error());
    auto z = domain::validate_zone(*body, ctx.params[0]);
    if (!z) co_return problem_response(z.error());
    co_return answer(co_await svc->replace_zone(ctx.who, std::move(*z)));
}

// DELETE /api/v1/zones/{id}
task<net::response> delete_zones_by_id([[maybe_unused]] services* sp, context ctx) {
  auto* svc = &sp->registry_svc;

    co_return answer(co_await svc->delete_zone(ctx.who, ctx.params[0]));
}

// GET /api/v1/sensors
task<net::response> get_sensors([[maybe_unused]] services* sp, context ctx) {

    auto p = page_params(ctx);
    if (!p) co_return problem_response(p.error());
    storage::sensor_filter f;
    f.domain = ctx.query.get("domain").value_or("");
    f.zone = ctx.query.get("zone").value_or("");
    f.kind = ctx.query.get("kind").value_or("");
    if (!f.domain.empty() && !domain::is_domain(f.domain))
      co_return problem_response(
          param_problem("domain", "must be one of mobility, energy, welfare, disaster, environment"));
    if (auto near = ctx.query.get("near")) {
      double v[3];
      int n = 0;
      std::string_view rest = *near;
      bool ok = true;
      while (ok && n < 3) {
        auto comma = rest.find(',');
        auto part = rest.substr(0, comma);
        auto x = domain::parse_number<double>(part);
        ok = x && std::isfinite(*x);
        if (ok) v[n] = *x;
        ++n;
        if (comma == std::string_view::npos) break;
        rest = rest.substr(comma + 1);
      }
      if (!ok || n != 3 || rest.find(',') != std::string_view::npos || v[0] < -180 || v[0] > 180 || v[1] < -90 ||
          v[1] > 90 || v[2] <= 0 || v[2] > 1e6)
        co_return problem_response(param_problem(
            "near", "must be LON,LAT,METRES with LON in [-180,180], LAT in [-90,90] and 0 < METRES <= 1000000"));
      f.near = storage::near_filter{v[0], v[1], v[2]};
    }
    co_return list_response(co_await sp->query_svc.sensors(ctx.who, std::move(f), *p));
}

// POST /api/v1/sensors
task<net::response> post_sensors([[maybe_unused]] services* sp, context ctx) {
  auto* svc = &sp->registry_svc;

    auto body = json_body(ctx.req);
    if (!body) co_return problem_response(body.error());
    auto v = domain::validate_sensor(*body);
    if (!v) co_return problem_response(v.error());
    auto id = v->id;
    auto res = co_await svc->create_sensor(ctx.who, std::move(*v));
    if (!res) co_return problem_response(res.error());
    co_return created("sensors", id, std::move(res.value()));
}

// GET /api/v1/sensors/{id}
task<net::response> get_sensors_by_id([[maybe_unused]] services* sp, context ctx) {

    co_return answer(co_await sp->query_svc.sensor(ctx.who, ctx.params[0]));
}

// PATCH /api/v1/sensors/{id}
task<net::response> patch_sensors_by_id([[maybe_unused]] services* sp, context ctx) {
  auto& reg = sp->registry;
  auto* svc = &sp->registry_svc;

    auto body = json_body(ctx.req);
    if (!body) co_return problem_response(body.error());
    auto m = merged(co_await reg.get_sensor(ctx.params[0]), *body);
    if (!m) co_return problem_response(m.error());
    auto v = domain::validate_sensor(*m, ctx.params[0]);
    if (!v) co_return problem_response(v.error());
    co_return answer(co_await svc->replace_sensor(ctx.who, std::move(*v)));
}

// DELETE /api/v1/sensors/{id}
task<net::response> delete_sensors_by_id([[maybe_unused]] services* sp, context ctx) {
  auto* svc = &sp->registry_svc;

    co_return answer(co_await svc->delete_sensor(ctx.who, ctx.params[0]));
}

// GET /api/v1/facilities
task<net::response> get_facilities([[maybe_unused]] services* sp, context ctx) {

    auto p = page_params(ctx);
    if (!p) co_return problem_response(p.error());
    storage::facility_filter f;
    f.category = ctx.query.get("category").value_or("");
    f.zone = ctx.query.get("zone").value_or("");
    co_return list_response(co_await sp->query_svc.facilities(ctx.who, std::move(f), *p));
}

// POST /api/v1/facilities
task<net::response> post_facilities([[maybe_unused]] services* sp, context ctx) {
  auto* svc = &sp->registry_svc;

    auto body = json_body(ctx.req);
    if (!body) co_return problem_response(body.error());
    auto v = domain::validate_facility(*body);
    if (!v) co_return problem_response(v.error());
    auto id = v->id;
    auto res = co_await svc->create_facility(ctx.who, std::move(*v));
    if (!res) co_return problem_response(res.error());
    co_return created("facilities", id, std::move(res.value()));
}

// GET /api/v1/facilities/{id}
task<net::response> get_facilities_by_id([[maybe_unused]] services* sp, context ctx) {

    co_return answer(co_await sp->query_svc.facility(ctx.who, ctx.params[0]));
}

// PUT /api/v1/facilities/{id}
task<net::response> put_facilities_by_id([[maybe_unused]] services* sp, context ctx) {
  auto* svc = &sp->registry_svc;

    auto body = json_body(ctx.req);
    if (!body) co_return problem_response(body.error());
    auto v = domain::validate_facility(*body, ctx.params[0]);
    if (!v) co_return problem_response(v.error());
    co_return answer(co_await svc->replace_facility(ctx.who, std::move(*v)));
}

// PATCH /api/v1/facilities/{id}
task<net::response> patch_facilities_by_id([[maybe_unused]] services* sp, context ctx) {
  auto& reg = sp->registry;
  auto* svc = &sp->registry_svc;

    auto body = json_body(ctx.req);
    if (!body) co_return problem_response(body.error());
    auto m = merged(co_await reg.get_facility(ctx.params[0]), *body);
    if (!m) co_return problem_response(m.error());
    auto v = domain::validate_facility(*m, ctx.params[0]);
    if (!v) co_return problem_response(v.error());
    co_return answer(co_await svc->replace_facility(ctx.who, std::move(*v)));
}

// DELETE /api/v1/facilities/{id}
task<net::response> delete_facilities_by_id([[maybe_unused]] services* sp, context ctx) {
  auto* svc = &sp->registry_svc;

    co_return answer(co_await svc->delete_facility(ctx.who, ctx.params[0]));
}

// GET /api/v1/tokens
task<net::response> get_tokens([[maybe_unused]] services* sp, context ctx) {
  auto& tokens = sp->tokens;

    auto p = page_params(ctx);
    if (!p) co_return problem_response(p.error());
    co_return list_response(co_await tokens.list(*p));
}

// POST /api/v1/tokens
task<net::response> post_tokens([[maybe_unused]] services* sp, context ctx) {
  auto* token_svc = &sp->token_svc;

    auto body = json_body(ctx.req);
    if (!body) co_return problem_response(body.error());
    auto v = domain::validate_token(*body);
    if (!v) co_return problem_response(v.error());
    auto t = co_await token_svc->create(ctx.who, std::move(*v));
    auto id = json::parse(t.json).at("id").get<std::string>();
    co_return created("tokens", id, std::move(t.json));
}

// GET /api/v1/tokens/{id}
task<net::response> get_tokens_by_id([[maybe_unused]] services* sp, context ctx) {
  auto& tokens = sp->tokens;

    auto t = co_await tokens.get(ctx.params[0]);
    if (!t) co_return problem_response(make_problem(problem_kind::not_found, "no active token with this id"));
    co_return json_response(200, std::move(*t));
}

// GET /api/v1/tokens/{id}/changes
task<net::response> get_tokens_by_id_changes([[maybe_unused]] services* sp, context ctx) {
  auto& tokens = sp->tokens;
  auto p = page_params(ctx, id_kind::numeric);
  if (!p) co_return problem_response(p.error());
  co_return list_response(co_await tokens.changes(ctx.params[0], *p));
}

// DELETE /api/v1/tokens/{id}
task<net::response> delete_tokens_by_id([[maybe_unused]] services* sp, context ctx) {
  auto* token_svc = &sp->token_svc;

    if (!co_await token_svc->revoke(ctx.who, ctx.params[0]))
      co_return problem_response(make_problem(problem_kind::not_found, "no active token with this id"));
    co_return no_content();
}


}  // namespace maeul::api
