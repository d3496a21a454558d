// Bus operations routes (API §11, docs/transit.md): GTFS import, the network's routes and stops,
// vehicle positions, headways and performance. Changes go through transit::service.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "handler_list.hpp"
#include "maeul/domain/time.hpp"
#include "maeul/storage/transit.hpp"
#include "maeul/transit/metrics.hpp"
#include "maeul/transit/service.hpp"

namespace maeul::api {
namespace {

using json = nlohmann::json;
using domain::make_problem;
using domain::problem_kind;

net::response unavailable() {
  return problem_response(make_problem(problem_kind::unavailable, "bus operations are not enabled"));
}

std::string media_type(const std::string& ct) {
  std::string out;
  for (char c : ct) {
    if (c == ';') break;
    if (c != ' ') out += char(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::optional<double> number_of(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string t(s);
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

domain::outcome<std::int64_t> time_param(const context& ctx, const char* name, std::int64_t fallback) {
  auto v = ctx.query.get(name);
  if (!v || v->empty()) return fallback;
  auto t = domain::parse_rfc3339(*v);
  if (!t) return param_problem(name, "must be an RFC 3339 time with an offset, e.g. 2026-11-21T10:00:00+09:00");
  return *t;
}

json rejected_json(const std::vector<transit::rejected_position>& rs) {
  json arr = json::array();
  for (const auto& r : rs) arr.push_back({{"index", r.index}, {"pointer", r.pointer}, {"error", r.error}});
  return arr;
}

}  // namespace

// POST /api/v1/transit/gtfs (admin): the body a GTFS zip; replaces the feed.
task<net::response> post_transit_gtfs(services* sp, context ctx) {
  if (!sp->transit) co_return unavailable();
  auto mt = media_type(ctx.req.content_type);
  if (mt != "application/zip" && mt != "application/x-zip-compressed" && mt != "application/octet-stream")
    co_return problem_response(make_problem(problem_kind::unsupported_media,
                                            "expected Content-Type application/zip, got \"" + ctx.req.content_type + "\""));
  auto call = sp->transit->import_gtfs(std::move(ctx.req.body));
  auto res = co_await std::move(call);
  if (!res) co_return problem_response(res.error());
  co_return json_response(200, *res);
}

// GET /api/v1/transit/routes
task<net::response> get_transit_routes(services* sp, context ctx) {
  if (!sp->transit) co_return unavailable();
  auto call = sp->transit->routes(ctx.who);
  auto items = co_await std::move(call);
  storage::page p;
  p.items = std::move(items);
  co_return list_response(p);
}

// GET /api/v1/transit/routes/{id}: with its stops in order and its shape as GeoJSON.
task<net::response> get_transit_routes_by_id(services* sp, context ctx) {
  if (!sp->transit) co_return unavailable();
  auto call = sp->transit->route(ctx.who, ctx.params.at(0));
  auto r = co_await std::move(call);
  if (!r) co_return problem_response(make_problem(problem_kind::not_found, "no route with this id"));
  co_return json_response(200, *r);
}

// GET /api/v1/transit/stops?near=LON,LAT[,METRES]&radius=METRES (default 500, at most 10000)
task<net::response> get_transit_stops(services* sp, context ctx) {
  if (!sp->transit) co_return unavailable();
  auto near = ctx.query.get("near");
  if (!near) co_return problem_response(param_problem("near", "is required: LON,LAT (and ?radius=METRES, default 500)"));
  std::vector<double> v;
  std::string_view rest = *near;
  bool ok = true;
  while (ok) {
    auto comma = rest.find(',');
    auto n = number_of(rest.substr(0, comma));
    if (!n) ok = false; else v.push_back(*n);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  double radius = 500;
  if (ok && v.size() == 3) radius = v[2];
  if (!ok || v.size() < 2 || v.size() > 3 || std::fabs(v[0]) > 180 || std::fabs(v[1]) > 90)
    co_return problem_response(param_problem("near", "must be LON,LAT with LON in [-180,180] and LAT in [-90,90]"));
  if (auto r = ctx.query.get("radius")) {
    auto n = number_of(*r);
    if (!n) co_return problem_response(param_problem("radius", "must be metres, 0 < radius <= 10000"));
    radius = *n;
  }
  if (!(radius > 0 && radius <= 10000))
    co_return problem_response(param_problem("radius", "must be metres, 0 < radius <= 10000"));
  int limit = 100;
  if (auto l = ctx.query.get("limit")) {
    auto n = number_of(*l);
    if (!n || *n < 1 || *n > 1000 || *n != std::floor(*n))
      co_return problem_response(param_problem("limit", "must be an integer from 1 to 1000"));
    limit = int(*n);
  }
  auto call = sp->transit->stops_near(ctx.who, v[0], v[1], radius, limit);
  auto items = co_await std::move(call);
  storage::page p;
  p.items = std::move(items);
  co_return list_response(p);
}

// POST /api/v1/transit/positions (admin, device)
task<net::response> post_transit_positions(services* sp, context ctx) {
  if (!sp->transit) co_return unavailable();
  auto body = json_body(ctx.req);
  if (!body) co_return problem_response(body.error());
  auto parsed = transit::parse_positions(*body, sp->now_us(), 10000);
  if (!parsed) co_return problem_response(parsed.error());
  std::optional<std::vector<std::string>> allowed;
  if (ctx.who.role == "device") allowed = ctx.who.sensors;
  auto call = sp->transit->ingest(std::move(*parsed), std::move(allowed));
  auto res = co_await std::move(call);
  if (res.accepted == 0) {
    domain::problem p{problem_kind::invalid, "no position in the batch could be accepted", {}};
    for (const auto& r : res.rejected) p.errors.push_back({r.pointer, {}, r.error});
    if (res.rejected.empty()) p.errors.push_back({"/positions", {}, "at least one position is needed"});
    co_return problem_response(p);
  }
  json out = {{"accepted", res.accepted}, {"off_route", res.off_route}, {"out_of_order", res.out_of_order},
              {"arrivals", res.arrivals}, {"rejected", rejected_json(res.rejected)}};
  co_return json_response(200, out.dump());
}

namespace {

// The window of a metrics request: ?from= (default to minus 24 h) and ?to= (default now), at most 62 days.
domain::outcome<std::pair<std::int64_t, std::int64_t>> window_of(services* sp, const context& ctx) {
  auto now = sp->now_us();
  auto to = time_param(ctx, "to", now);
  if (!to) return to.error();
  auto from = time_param(ctx, "from", *to - 86400LL * 1000000);
  if (!from) return from.error();
  if (*from >= *to) return param_problem("from", "must be before to");
  if (*to - *from > 62LL * 86400 * 1000000) return param_problem("from", "the window may span at most 62 days");
  return std::pair{*from, *to};
}

json opt_json(const std::optional<double>& v, double scale = 1) {
  return v ? json(std::round(*v * scale * 1000) / 1000) : json(nullptr);
}

}  // namespace

// GET /api/v1/transit/routes/{id}/headways?stop=&from=&to=
task<net::response> get_transit_routes_by_id_headways(services* sp, context ctx) {
  if (!sp->transit) co_return unavailable();
  auto w = window_of(sp, ctx);
  if (!w) co_return problem_response(w.error());
  std::string route = ctx.params.at(0);
  auto call = sp->transit->route_series(ctx.who, route, std::string(ctx.query.get("stop").value_or("")), w->first, w->second);
  auto found = co_await std::move(call);
  if (!found) co_return problem_response(make_problem(problem_kind::not_found, "no route with this id"));
  auto& series = *found;
  json stops = json::array();
  for (const auto& [k, s] : series) {
    if (s.arrivals_us.empty()) continue;
    auto h = transit::headways_s(s.arrivals_us);
    auto counted = transit::observed_headways_s(s.arrivals_us);  // gaps over 2 h: breaks, not headways
    auto sh = transit::comparable_scheduled_headways_s(s.arrivals_us, s.scheduled_us);
    json hs = json::array();
    for (std::size_t i = 0; i < h.size(); ++i)
      hs.push_back({{"ts", domain::format_rfc3339_ms(s.arrivals_us[i + 1])}, {"headway_s", h[i]}});
    stops.push_back({{"stop", k.first}, {"direction", k.second}, {"arrivals", s.arrivals_us.size()}, {"headways", hs},
                     {"average_wait_s", opt_json(transit::average_wait_s(counted))},
                     {"scheduled_average_wait_s", opt_json(transit::average_wait_s(sh))},
                     {"headway_cv", opt_json(transit::coefficient_of_variation(counted))}});
  }
  json out = {{"route", route}, {"from", domain::format_rfc3339_ms(w->first)},
              {"to", domain::format_rfc3339_ms(w->second)}, {"stops", stops}};
  co_return json_response(200, out.dump());
}

// GET /api/v1/transit/routes/{id}/performance?from=&to=
task<net::response> get_transit_routes_by_id_performance(services* sp, context ctx) {
  if (!sp->transit) co_return unavailable();
  auto w = window_of(sp, ctx);
  if (!w) co_return problem_response(w.error());
  std::string route = ctx.params.at(0);
  auto call = sp->transit->route_series(ctx.who, route, "", w->first, w->second);
  auto found = co_await std::move(call);
  if (!found) co_return problem_response(make_problem(problem_kind::not_found, "no route with this id"));
  auto& series = *found;
  std::vector<transit::stop_series> all;
  int arrivals = 0;
  for (auto& [_, s] : series) {
    arrivals += int(s.arrivals_us.size());
    all.push_back(std::move(s));
  }
  auto p = transit::route_performance(all);
  json out = {{"route", route}, {"from", domain::format_rfc3339_ms(w->first)}, {"to", domain::format_rfc3339_ms(w->second)},
              {"excess_wait_min", opt_json(p.excess_wait_min)}, {"headway_cv", opt_json(p.headway_cv)},
              {"on_time_pct", opt_json(p.on_time_pct)}, {"bunching_events", p.bunching_events},
              {"headways", p.headways}, {"arrivals", arrivals}};
  co_return json_response(200, out.dump());
}

}  // namespace maeul::api
