// Observation routes: ingest in three formats, latest values, and series from rollups.

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "maeul/api/routes.hpp"
#include "maeul/domain/encoding.hpp"
#include "maeul/services/services.hpp"
#include "maeul/domain/time.hpp"
#include "maeul/ingest/ingest.hpp"
#include "maeul/spool/spool.hpp"
#include "maeul/storage/observations.hpp"

namespace maeul::api {
namespace {

using json = nlohmann::ordered_json;
using domain::make_problem;
using domain::problem_kind;

std::optional<domain::body_format> format_of(const std::string& content_type) {
  std::string ct;
  for (char c : content_type) {
    if (c == ';') break;
    if (c != ' ') ct += char(std::tolower(static_cast<unsigned char>(c)));
  }
  if (ct == "application/json") return domain::body_format::json;
  if (ct == "application/x-ndjson" || ct == "application/ndjson" || ct == "application/jsonl" ||
      ct == "application/json-seq")
    return domain::body_format::ndjson;
  if (ct == "text/csv") return domain::body_format::csv;
  return std::nullopt;
}

json rejected_json(const std::vector<domain::rejection>& rs) {
  json arr = json::array();
  for (const auto& r : rs) arr.push_back({{"index", r.index}, {"error", r.error}, {"pointer", r.pointer}});
  return arr;
}

std::string ts_text(std::int64_t us) { return domain::format_rfc3339_ms(us); }

// A time query parameter: RFC 3339 with an offset.
domain::outcome<std::int64_t> time_param(const context& ctx, const char* name, std::int64_t fallback) {
  auto v = ctx.query.get(name);
  if (!v || v->empty()) return fallback;
  auto t = domain::parse_rfc3339(*v);
  if (!t) return param_problem(name, "must be an RFC 3339 time with an offset, e.g. 2026-11-21T10:00:00+09:00");
  return *t;
}

}  // namespace

std::optional<std::int64_t> parse_bucket(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  auto n = domain::parse_number<std::int64_t>(text.substr(0, text.size() - 1));
  if (!n || *n <= 0) return std::nullopt;
  std::int64_t unit = 0;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return std::nullopt;
  }
  if (*n > 366 * 86400 / unit) return std::nullopt;
  return *n * unit;
}

// Named handlers; routes.cpp puts them in the route table.

// POST /api/v1/observations
task<net::response> post_observations([[maybe_unused]] services* sp, context ctx) {
  auto* obs = &sp->observation_svc;
  auto now = sp->now_us;

    auto format = format_of(ctx.req.content_type);
    if (!format)
      co_return problem_response(make_problem(
          problem_kind::unsupported_media,
          "expected Content-Type application/json, application/x-ndjson or text/csv, got \"" +
              ctx.req.content_type + "\""));
    // parse_observations holds JSON bodies to max_json_depth itself ("JSON nested too deeply").
    auto parsed = domain::parse_observations(ctx.req.body, *format, now());
    if (!parsed) co_return problem_response(parsed.error());
    ingest::result res;
    std::string spool_failure;
    try {
      res = co_await obs->ingest(ctx.who, std::move(*parsed));
    } catch (const spool::full&) {
      spool_failure = "the database is unreachable and the local spool is full; retry later";
    } catch (const spool::io_error& e) {
      spdlog::error("cannot write the spool: {}", e.what());
      spool_failure = "the database is unreachable and the local spool cannot be written; retry later";
    }
    if (!spool_failure.empty()) {
      auto resp = problem_response(make_problem(problem_kind::unavailable, spool_failure));
      resp.headers.emplace_back("Retry-After", "30");
      co_return resp;
    }
    if (res.spooled > 0) {
      // Durable in the local spool, not yet in the database: 202, stored once it is back.
      json body = {{"accepted", res.accepted}, {"spooled", res.spooled}, {"rejected", rejected_json(res.rejected)}};
      if (res.withheld > 0) body["withheld"] = res.withheld;
      co_return json_response(202, body.dump());
    }
    if (res.accepted + res.duplicates == 0) {
      domain::problem p{problem_kind::invalid, "no reading in the batch could be accepted", {}};
      for (const auto& rj : res.rejected) p.errors.push_back({rj.pointer, {}, rj.error});
      if (res.total == 0) {
        p.detail = "the batch holds no readings";
        p.errors.push_back({ctx.req.content_type.rfind("application/json", 0) == 0 ? "/observations" : "", {},
                            "at least one reading is needed"});
      }
      auto body = json::parse(problem_body(p));
      body["accepted"] = 0;
      body["duplicates"] = 0;
      body["rejected"] = rejected_json(res.rejected);
      auto resp = problem_response(p);
      resp.body = body.dump();
      co_return resp;
    }
    json body = {{"accepted", res.accepted}, {"duplicates", res.duplicates}, {"rejected", rejected_json(res.rejected)}};
    if (res.withheld > 0) body["withheld"] = res.withheld;  // consent lapsed: counted, not stored (API §9)
    co_return json_response(200, body.dump());
}

// GET /api/v1/sensors/{id}/latest
task<net::response> get_sensors_by_id_latest([[maybe_unused]] services* sp, context ctx) {

    auto items = co_await sp->query_svc.latest_of(ctx.who, ctx.params[0]);
    if (!items) co_return problem_response(items.error());
    json metrics = json::object();
    for (const auto& it : items.value()) metrics[it.metric] = {{"ts", ts_text(it.ts_us)}, {"value", it.value}};
    co_return json_response(200, json{{"sensor", ctx.params[0]}, {"metrics", metrics}}.dump());
}

// GET /api/v1/latest
task<net::response> get_latest([[maybe_unused]] services* sp, context ctx) {

    auto domain_ = ctx.query.get("domain").value_or("");
    if (!domain_.empty() && !domain::is_domain(domain_))
      co_return problem_response(
          param_problem("domain", "must be one of mobility, energy, welfare, disaster, environment"));
    auto items = sp->query_svc.latest(ctx.who, domain_, ctx.query.get("zone").value_or(""),
                                      ctx.query.get("kind").value_or(""));
    std::string body = "{\"items\":[";
    bool first = true;
    for (const auto& it : items) {
      json j = {{"sensor", it.sensor}, {"metric", it.metric}, {"ts", ts_text(it.ts_us)}, {"value", it.value},
                {"zone", it.zone.empty() ? json(nullptr) : json(it.zone)}, {"domain", it.domain}};
      if (!first) body += ',';
      body += j.dump();
      first = false;
    }
    body += "]}";
    co_return json_response(200, std::move(body));
}

// GET /api/v1/sensors/{id}/series
task<net::response> get_sensors_by_id_series([[maybe_unused]] services* sp, context ctx) {
  auto* store = &sp->observations;
  auto now = sp->now_us;

          auto t_now = now();
          auto to = time_param(ctx, "to", t_now);
          if (!to) co_return problem_response(to.error());
          auto from = time_param(ctx, "from", *to - 24LL * 3600 * 1000000);
          if (!from) co_return problem_response(from.error());
          if (*from >= *to) co_return problem_response(param_problem("from", "must be before \"to\""));
          storage::series_query q;
          q.from_us = *from;
          q.to_us = *to;
          auto agg = ctx.query.get("agg").value_or("avg");
          if (agg != "avg" && agg != "min" && agg != "max" && agg != "sum" && agg != "count" && agg != "last")
            co_return problem_response(param_problem("agg", "must be one of avg, min, max, sum, count, last"));
          q.agg = agg;
          auto bucket_text = ctx.query.get("bucket");
          if (bucket_text && !bucket_text->empty()) {
            auto b = parse_bucket(*bucket_text);
            if (!b) co_return problem_response(param_problem("bucket", "must look like 30s, 5m, 1h or 1d (at most 366d)"));
            if ((*to - *from) / (*b * 1000000) > 100000)
              co_return problem_response(param_problem("bucket", "more than 100000 buckets: widen the bucket or narrow the range"));
            q.bucket_s = *b;
          }
          if (auto l = ctx.query.get("limit")) {
            auto v = domain::parse_number<int>(*l);
            if (!v || *v < 1 || *v > 10000)
              co_return problem_response(param_problem("limit", "must be an integer from 1 to 10000"));
            q.limit = *v;
          }
          std::vector<std::string> metrics;
          auto metric = ctx.query.get("metric").value_or("");
          auto id = co_await sp->query_svc.series_of(ctx.who, ctx.params[0], metric, &metrics);
          if (!id) co_return problem_response(id.error());
          if (*id == 0) {
            std::string names;
            for (const auto& m : metrics) names += (names.empty() ? "" : ", ") + m;
            co_return problem_response(param_problem(
                "metric", metric.empty() ? "the sensor has several metrics; choose one of: " + names
                                         : "the sensor has no metric \"" + metric + "\"; it has: " + names));
          }
          q.series_id = *id;
          if (metric.empty()) metric = metrics.front();
          auto points = co_await store->series(q);
          std::string body = json{{"sensor", ctx.params[0]},
                                  {"metric", metric},
                                  {"from", ts_text(q.from_us)},
                                  {"to", ts_text(q.to_us)},
                                  {"bucket", q.bucket_s ? json(*bucket_text) : json(nullptr)},
                                  {"agg", q.bucket_s ? json(q.agg) : json(nullptr)}}
                                 .dump();
          body.pop_back();  // append the points without building a JSON tree for them
          body += ",\"points\":[";
          for (std::size_t i = 0; i < points.size(); ++i) {
            if (i) body += ',';
            body += "[\"" + ts_text(points[i].ts_us) + "\"," + json(points[i].value).dump() + "]";
          }
          body += "]}";
          co_return json_response(200, std::move(body));
}


}  // namespace maeul::api
