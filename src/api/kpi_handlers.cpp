// KPI routes: the catalog, values per zone and period (JSON or CSV), accessibility, budget lines
// and the public transparency endpoints (no token, aggregated data only, ETag).
#include <cmath>

#include <nlohmann/json.hpp>

#include "maeul/api/routes.hpp"
#include "maeul/api/static_files.hpp"
#include "maeul/domain/encoding.hpp"
#include "maeul/services/access.hpp"
#include "maeul/services/services.hpp"
#include "maeul/domain/time.hpp"
#include "maeul/kpi/catalog.hpp"
#include "maeul/storage/kpi_store.hpp"

namespace maeul::api {
namespace {

using json = nlohmann::ordered_json;
using domain::make_problem;
using domain::problem_kind;

json definition_json(const kpi::definition& d) {
  return {{"id", d.id},
          {"name", {{"ko", d.name_ko}, {"en", d.name_en}}},
          {"domain", d.domain},
          {"unit", d.unit},
          {"direction", d.direction},
          {"target", d.additive ? kpi::target_for(d, 1) : d.target},
          {"target_basis", d.additive ? "per day (scaled by the period's days)" : "per period"},
          {"period", d.period},
          {"standard", d.standard},
          {"description", {{"ko", d.description_ko}, {"en", d.description_en}}}};
}

json number_or_null(const std::optional<double>& v) {
  if (!v || !std::isfinite(*v)) return nullptr;
  return std::round(*v * 10000) / 10000;
}

std::int64_t default_span_us(const std::string& period) {
  const std::int64_t day = 86400LL * 1000000;
  if (period == "day") return 30 * day;
  if (period == "week") return 12 * 7 * day;
  if (period == "month") return 365 * day;
  return 5 * 365 * day;
}

// If-None-Match (RFC 9110 13.1.2): "*", or a list of tags compared weakly (W/ ignored).
bool etag_matches(const std::string& header, const std::string& tag) {
  if (header.empty()) return false;
  std::size_t i = 0;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ',')) ++i;
    auto j = header.find(',', i);
    if (j == std::string::npos) j = header.size();
    std::string one = header.substr(i, j - i);
    while (!one.empty() && one.back() == ' ') one.pop_back();
    if (one == "*") return true;
    if (one.rfind("W/", 0) == 0) one = one.substr(2);
    if (one == tag) return true;
    i = j + 1;
  }
  return false;
}

net::response cacheable(const context& ctx, std::string body) {
  auto tag = etag_of(body);
  net::response r;
  r.headers.emplace_back("ETag", tag);
  r.headers.emplace_back("Cache-Control", "public, max-age=60");
  r.headers.emplace_back("Access-Control-Allow-Origin", "*");
  if (etag_matches(ctx.req.if_none_match, tag)) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// The budget body: {"id"?, "program":{"ko","en"}|string, "year", "amount_krw", "kpis":[{"kpi","target"?}]}
domain::outcome<std::pair<std::string, std::string>> budget_body(const nlohmann::json& b, std::string_view path_id) {
  std::vector<domain::field_error> errors;
  if (!b.is_object()) return domain::invalid({{"", {}, "the body must be a JSON object"}});
  std::string id(path_id);
  if (auto it = b.find("id"); it != b.end() && !it->is_null()) {
    if (!it->is_string() || !domain::is_valid_id(it->get_ref<const std::string&>())) errors.push_back({"/id", {}, "must be an id"});
    else if (!path_id.empty() && it->get<std::string>() != path_id) errors.push_back({"/id", {}, "must match the id in the path"});
    else id = it->get<std::string>();
  }
  nlohmann::json out;
  auto p = b.find("program");
  if (p != b.end() && p->is_string() && !p->get_ref<const std::string&>().empty()) out["program"] = {{"ko", *p}, {"en", *p}};
  else if (p != b.end() && p->is_object() && (p->contains("ko") || p->contains("en"))) out["program"] = *p;
  else errors.push_back({"/program", {}, "is required: {\"ko\", \"en\"} or a string"});
  auto y = b.find("year");
  if (y == b.end() || !y->is_number_integer() || y->get<int>() < 2000 || y->get<int>() > 2100)
    errors.push_back({"/year", {}, "must be a year from 2000 to 2100"});
  else
    out["year"] = *y;
  auto a = b.find("amount_krw");
  if (a == b.end() || !a->is_number_integer() || a->get<std::int64_t>() < 0)
    errors.push_back({"/amount_krw", {}, "must be a non-negative whole number of won"});
  else
    out["amount_krw"] = *a;
  out["kpis"] = nlohmann::json::array();
  if (auto k = b.find("kpis"); k != b.end() && !k->is_null()) {
    if (!k->is_array()) errors.push_back({"/kpis", {}, "must be an array of {kpi, target}"});
    else
      for (std::size_t i = 0; i < k->size(); ++i) {
        const auto& e = (*k)[i];
        std::string base = "/kpis/" + std::to_string(i);
        if (!e.is_object() || !e.contains("kpi") || !e["kpi"].is_string() || !kpi::find(e["kpi"].get<std::string>())) {
          errors.push_back({base + "/kpi", {}, "must name a KPI of GET /api/v1/kpis"});
          continue;
        }
        nlohmann::json one = {{"kpi", e["kpi"]}};
        if (e.contains("target") && !e["target"].is_null()) {
          if (!e["target"].is_number()) errors.push_back({base + "/target", {}, "must be a number"});
          else one["target"] = e["target"];
        }
        out["kpis"].push_back(one);
      }
  }
  if (!errors.empty()) return domain::invalid(std::move(errors));
  return std::pair{id, out.dump()};
}

// (Rendering stays out of the coroutines: g++ 12 miscompiles braced initializer lists in them.)
net::response values_response(const kpi::definition& def, const storage::kpi_query& q,
                              const std::vector<storage::kpi_value>& values, bool csv) {
  if (csv) {
    std::string body = "kpi,zone,start,value,target\n";
    for (const auto& v : values) {
      auto val = number_or_null(v.value);
      body += def.id + "," + csv_field(v.zone.value_or("")) + "," + domain::format_rfc3339_ms(v.start_us) + "," +
              (val.is_null() ? std::string() : val.dump()) + "," +
              json(std::round(kpi::target_for(def, v.days) * 10000) / 10000).dump() + "\n";
    }
    net::response res;
    res.content_type = "text/csv; charset=utf-8";
    res.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + def.id + "-" + q.period + ".csv\"");
    res.body = std::move(body);
    return res;
  }
  json items = json::array();
  for (const auto& v : values) {
    json item = {{"zone", v.zone ? json(*v.zone) : json(nullptr)},
                 {"start", domain::format_rfc3339_ms(v.start_us)},
                 {"value", number_or_null(v.value)},
                 {"target", std::round(kpi::target_for(def, v.days) * 10000) / 10000}};
    if (v.p90) item["p90"] = number_or_null(v.p90);
    items.push_back(item);
  }
  return json_response(200, json{{"kpi", def.id},
                                  {"period", q.period},
                                  {"timezone", q.timezone},
                                  {"unit", def.unit},
                                  {"direction", def.direction},
                                  {"from", domain::format_rfc3339_ms(q.from_us)},
                                  {"to", domain::format_rfc3339_ms(q.to_us)},
                                  {"values", items}}
                                 .dump());
}

net::response access_response(const storage::accessibility& a, double minutes, const kpi::walking_model& walk) {
  json cats = json::object();
  for (const auto& [k, v] : a.categories) cats[k] = std::round(v * 10000) / 10000;
  return json_response(200, json{{"zone", a.zone},
                                 {"minutes", minutes},
                                 {"walking_speed_kmh", walk.speed_kmh},
                                 {"detour_factor", walk.detour},
                                 {"radius_m", std::round(walk.radius_m(minutes))},
                                 {"population", a.population},
                                 {"population_model", "residents spread evenly over the zone (300 sample points)"},
                                 {"categories", cats},
                                 {"all", std::round(a.all * 10000) / 10000}}
                                .dump());
}

json public_kpi_item(const kpi::definition& d, const std::vector<storage::kpi_value>& values,
                     std::map<std::string, std::string>& names) {
  std::optional<std::int64_t> latest;
  for (const auto& v : values)
    if (!v.zone && (v.value || v.suppressed) && (!latest || v.start_us > *latest)) latest = v.start_us;
  json city_v = nullptr, zones = json::array();
  for (const auto& v : values) {
    if (!latest || v.start_us != *latest) continue;
    if (!v.zone) {
      city_v = {{"value", number_or_null(v.value)}, {"start", domain::format_rfc3339_ms(v.start_us)},
                {"target", std::round(kpi::target_for(d, v.days) * 10000) / 10000}};
      if (v.suppressed) city_v["suppressed"] = true;  // from fewer than 5 households (API §9)
    } else {
      auto n = names.count(*v.zone) ? json::parse(names[*v.zone]) : json(nullptr);
      json z = {{"zone", *v.zone}, {"name", n}, {"value", number_or_null(v.value)}};
      if (v.suppressed) z["suppressed"] = true;
      zones.push_back(std::move(z));
    }
  }
  return {{"kpi", d.id},
          {"name", {{"ko", d.name_ko}, {"en", d.name_en}}},
          {"domain", d.domain},
          {"unit", d.unit},
          {"direction", d.direction},
          {"period", d.period},
          {"standard", d.standard},
          {"target", d.additive ? kpi::target_for(d, 1) : d.target},
          {"city", city_v},
          {"zones", zones}};
}

std::string public_kpis_body(const std::string& city, const std::string& tz,
                             const std::vector<std::vector<storage::kpi_value>>& all,
                             std::map<std::string, std::string>& names, std::int64_t generated_us) {
  json items = json::array();
  for (std::size_t i = 0; i < kpi::catalog().size(); ++i) items.push_back(public_kpi_item(kpi::catalog()[i], all[i], names));
  return json{{"city", city}, {"generated_at", domain::format_rfc3339_ms(generated_us)}, {"timezone", tz}, {"items", items}}
      .dump();
}

json report_kpi(const kpi::definition& d, const nlohmann::json& k, const std::vector<storage::kpi_value>& values) {
  std::optional<double> first, last;
  double days = 30;
  for (const auto& v : values)
    if (!v.zone && v.value) {
      if (!first) first = v.value;
      last = v.value;
      days = v.days;
    }
  double target = k.contains("target") ? k["target"].get<double>() : kpi::target_for(d, days);
  json pr = nullptr;
  if (first && last)
    if (auto p = kpi::progress(d, *first, *last, target)) pr = std::round(*p * 1000) / 1000 + 0.0;  // no -0.0
  return {{"kpi", d.id},
          {"name", {{"ko", d.name_ko}, {"en", d.name_en}}},
          {"unit", d.unit},
          {"direction", d.direction},
          {"target", target},
          {"start_value", number_or_null(first)},
          {"latest_value", number_or_null(last)},
          {"progress", pr}};
}

std::string report_body(const std::string& city, int year, const std::vector<std::string>& lines,
                        const std::vector<std::vector<std::vector<storage::kpi_value>>>& per_line) {
  json programs = json::array();
  std::int64_t total = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto line = nlohmann::json::parse(lines[i]);
    total += line["amount_krw"].get<std::int64_t>();
    json kpis = json::array();
    std::size_t j = 0;
    for (const auto& k : line["kpis"]) {
      const auto* d = kpi::find(k["kpi"].get<std::string>());
      if (d) kpis.push_back(report_kpi(*d, k, per_line[i][j]));
      ++j;
    }
    programs.push_back({{"id", line["id"]}, {"program", line["program"]}, {"amount_krw", line["amount_krw"]}, {"kpis", kpis}});
  }
  return json{{"city", city},
              {"year", year},
              {"total_krw", total},
              {"basis", "KPI values by month in the city's calendar; progress is the share of the way from the "
                        "year's first month to the target"},
              {"programs", programs}}
      .dump();
}

}  // namespace

// Named handlers; routes.cpp puts them in the route table.

// GET /api/v1/kpis
task<net::response> get_kpis([[maybe_unused]] services* sp, context ctx) {

    json items = json::array();
    for (const auto& d : kpi::catalog())
      if (::maeul::services::access::domain_in_scope(ctx.who, d.domain)) items.push_back(definition_json(d));
    co_return json_response(200, json{{"items", items}}.dump());
}

// GET /api/v1/kpis/{id}/values
task<net::response> get_kpis_by_id_values([[maybe_unused]] services* sp, context ctx) {
  auto now = sp->now_us;
  auto tz = sp->timezone;

    const auto* def = kpi::find(ctx.params[0]);
    if (!def) co_return problem_response(make_problem(problem_kind::not_found, "no KPI with this id"));
    storage::kpi_query q;
    q.kpi = def->id;
    q.timezone = tz;
    q.period = ctx.query.get("period").value_or(def->period);
    if (!kpi::valid_period(q.period)) co_return problem_response(param_problem("period", "must be day, week, month or year"));
    q.zone = ctx.query.get("zone").value_or("");
    q.to_us = now();
    if (auto t = ctx.query.get("to"); t && !t->empty()) {
      auto v = domain::parse_rfc3339(*t);
      if (!v) co_return problem_response(param_problem("to", "must be an RFC 3339 time with an offset"));
      q.to_us = *v;
    }
    q.from_us = q.to_us - default_span_us(q.period);
    if (auto f = ctx.query.get("from"); f && !f->empty()) {
      auto v = domain::parse_rfc3339(*f);
      if (!v) co_return problem_response(param_problem("from", "must be an RFC 3339 time with an offset"));
      q.from_us = *v;
    }
    if (q.from_us >= q.to_us) co_return problem_response(param_problem("from", "must be before \"to\""));
    if ((q.to_us - q.from_us) / (86400LL * 1000000) > 3660)
      co_return problem_response(param_problem("from", "the range may span at most ten years"));
    auto kpi_svc = &sp->kpi_svc;
    auto got = co_await kpi_svc->values(ctx.who, def->domain, q);
    if (!got) co_return problem_response(got.error());
    auto& values = got.value();
    bool csv = ctx.query.get("format").value_or("") == "csv" ||
               (ctx.req.accept.find("text/csv") != std::string::npos && ctx.query.get("format").value_or("") != "json");
    co_return values_response(*def, q, values, csv);
}

// GET /api/v1/zones/{id}/accessibility
task<net::response> get_zones_by_id_accessibility([[maybe_unused]] services* sp, context ctx) {

    double minutes = 9;
    if (auto m = ctx.query.get("minutes")) {
      auto v = domain::parse_number<double>(*m);
      if (!v || !(*v > 0 && *v <= 60))
        co_return problem_response(param_problem("minutes", "must be a number of minutes from 0 to 60"));
      minutes = *v;
    }
    kpi::walking_model walk;
    auto acc = co_await sp->kpi_svc.access(ctx.who, ctx.params[0], minutes, walk);
    if (!acc) co_return problem_response(acc.error());
    co_return access_response(acc.value(), minutes, walk);
}

// GET /api/v1/budget
task<net::response> get_budget([[maybe_unused]] services* sp, context ctx) {
  auto* store = &sp->kpis;

    int year = 0;
    if (auto y = ctx.query.get("year"); y && !y->empty()) {
      auto v = domain::parse_number<int>(*y);
      if (!v) co_return problem_response(param_problem("year", "must be a year"));
      year = *v;
    }
    storage::page all;
    all.items = co_await store->list_budget(year);
    co_return list_response(all);
}

// POST /api/v1/budget
task<net::response> post_budget([[maybe_unused]] services* sp, context ctx) {
  auto* kpi_svc = &sp->kpi_svc;

    auto body = json_body(ctx.req);
    if (!body) co_return problem_response(body.error());
    auto b = budget_body(*body, {});
    if (!b) co_return problem_response(b.error());
    auto res = co_await kpi_svc->create_budget(ctx.who, b->first, b->second);
    if (res) sp->public_pages.clear();  // the public report shows the budget
    if (!res) co_return problem_response(res.error());
    auto resp = json_response(201, res.value());
    resp.headers.emplace_back("Location", "/api/v1/budget/" + nlohmann::json::parse(res.value())["id"].get<std::string>());
    co_return resp;
}

// GET /api/v1/budget/{id}
task<net::response> get_budget_by_id([[maybe_unused]] services* sp, context ctx) {
  auto* store = &sp->kpis;

    auto res = co_await store->get_budget(ctx.params[0]);
    if (!res) co_return problem_response(res.error());
    co_return json_response(200, res.value());
}

// PUT /api/v1/budget/{id}
task<net::response> put_budget_by_id([[maybe_unused]] services* sp, context ctx) {
  auto* kpi_svc = &sp->kpi_svc;

    auto body = json_body(ctx.req);
    if (!body) co_return problem_response(body.error());
    auto b = budget_body(*body, ctx.params[0]);
    if (!b) co_return problem_response(b.error());
    auto res = co_await kpi_svc->replace_budget(ctx.who, ctx.params[0], b->second);
    if (res) sp->public_pages.clear();  // the public report shows the budget
    if (!res) co_return problem_response(res.error());
    co_return json_response(200, res.value());
}

// DELETE /api/v1/budget/{id}
task<net::response> delete_budget_by_id([[maybe_unused]] services* sp, context ctx) {
  auto* kpi_svc = &sp->kpi_svc;

    auto res = co_await kpi_svc->delete_budget(ctx.who, ctx.params[0]);
    if (res) sp->public_pages.clear();  // the public report shows the budget
    if (!res) co_return problem_response(res.error());
    co_return no_content();
}

namespace {

task<std::string> public_kpis_page(storage::kpi_store* store, std::function<std::int64_t()> now, std::string tz,
                                   std::string city) {
  auto names = co_await store->zone_names();
  std::vector<std::vector<storage::kpi_value>> all;
  for (const auto& d : kpi::catalog()) {
    storage::kpi_query q;
    q.kpi = d.id;
    q.timezone = tz;
    q.period = d.period;
    q.to_us = now();
    q.from_us = q.to_us - default_span_us(d.period);
    auto values = co_await store->values(q, kpi::walking_model{});
    storage::suppress_small(values);  // public: no value from fewer than 5 households
    all.push_back(std::move(values));
  }
  auto generated = now() / 60000000 * 60000000;  // to the minute: the ETag stays stable within it
  co_return public_kpis_body(city, tz, all, names, generated);
}

task<std::string> public_report_page(storage::kpi_store* store, std::function<std::int64_t()> now, std::string tz,
                                     std::string city, int year) {
  auto t_now = now();
  if (year == 0) year = (co_await store->year_start(2000, tz, t_now)).second;  // the city's current year
  auto lines = co_await store->list_budget(year);
  auto year_start = (co_await store->year_start(year, tz, t_now)).first;
  auto year_end = (co_await store->year_start(year + 1, tz, t_now)).first;
  std::vector<std::vector<std::vector<storage::kpi_value>>> per_line;
  for (const auto& text : lines) {
    auto line = nlohmann::json::parse(text);
    std::vector<std::vector<storage::kpi_value>> per_kpi;
    for (const auto& k : line["kpis"]) {
      storage::kpi_query q;
      q.kpi = k["kpi"].get<std::string>();
      q.timezone = tz;
      q.period = "month";
      q.from_us = year_start;
      q.to_us = std::min(year_end, t_now);
      std::vector<storage::kpi_value> values;
      if (q.from_us < q.to_us) values = co_await store->values(q, kpi::walking_model{});
      storage::suppress_small(values);  // public: no value from fewer than 5 households
      per_kpi.push_back(std::move(values));
    }
    per_line.push_back(std::move(per_kpi));
  }
  co_return report_body(city, year, lines, per_line);
}

}  // namespace

// GET /public/v1/kpis: anonymous; computed at most once a minute (services::public_pages).
task<net::response> get_public_kpis([[maybe_unused]] services* sp, context ctx) {
  auto* store = &sp->kpis;
  auto now = sp->now_us;
  auto tz = sp->timezone;
  auto city = sp->city_name;
  // (Named, not temporaries inside the co_await: g++ 12 destroys those wrongly.)
  std::string key = "kpis";
  std::function<task<std::string>()> compute = [=] { return public_kpis_page(store, now, tz, city); };
  auto call = sp->public_pages.get(std::move(key), std::move(compute));
  auto body = co_await std::move(call);
  co_return cacheable(ctx, std::move(body));
}

// GET /public/v1/report
task<net::response> get_public_report([[maybe_unused]] services* sp, context ctx) {
  auto* store = &sp->kpis;
  auto now = sp->now_us;
  auto tz = sp->timezone;
  auto city = sp->city_name;
  int year = 0;
  if (auto y = ctx.query.get("year"); y && !y->empty()) {
    auto v = domain::parse_number<int>(*y);
    if (!v || *v < 2000 || *v > 2100) co_return problem_response(param_problem("year", "must be a year from 2000 to 2100"));
    year = *v;
  }
  std::string key = "report:" + std::to_string(year);
  std::function<task<std::string>()> compute = [=] { return public_report_page(store, now, tz, city, year); };
  auto call = sp->public_pages.get(std::move(key), std::move(compute));
  auto body = co_await std::move(call);
  co_return cacheable(ctx, std::move(body));
}

}  // namespace maeul::api
