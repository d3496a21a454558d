// Bus demand forecast and recommended plan routes (API §11, docs/transit.md): the forecast per stop
// and hour, the plan per direction and period beside the timetable, and the plan as GTFS
// frequencies.txt. The work is done by transit::planning (off the I/O threads, bounded).
#include <cmath>

#include <nlohmann/json.hpp>

#include "handler_list.hpp"
#include "maeul/transit/planning.hpp"
#include "maeul/transit/zip_writer.hpp"

namespace maeul::api {
namespace {

using json = nlohmann::json;
using domain::make_problem;
using domain::problem_kind;

net::response unavailable() {
  return problem_response(make_problem(problem_kind::unavailable, "bus demand planning is not enabled"));
}

net::response busy() {
  auto r = problem_response(make_problem(problem_kind::unavailable, "too many forecasts are running; retry shortly"));
  r.headers.emplace_back("Retry-After", "2");
  return r;
}

net::response no_route() { return problem_response(make_problem(problem_kind::not_found, "no route with this id")); }

// ?date= and ?timetable_date=. `date` is required, except for the plan (date_default_tomorrow),
// where it defaults to tomorrow in the city's time zone. `timetable_date` (with_timetable only;
// default: today in the city's time zone) is read only where the timetable is used.
struct dates {
  std::int64_t day = 0, timetable_day = 0;
};
task<domain::outcome<dates>> dates_of(services* sp, context ctx, bool with_timetable, bool date_default_tomorrow) {
  dates out;
  std::optional<std::int64_t> today;
  auto d = ctx.query.get("date");
  if (!d || d->empty()) {
    if (!date_default_tomorrow)
      co_return domain::outcome<dates>(param_problem("date", "is required: a local date YYYY-MM-DD"));
    auto call = sp->planning->today(sp->now_us());
    today = co_await std::move(call);
    out.day = *today + 1;
  } else {
    auto day = transit::parse_date(std::string(*d));
    if (!day) co_return domain::outcome<dates>(param_problem("date", "must be a real date YYYY-MM-DD, e.g. 2026-12-08"));
    out.day = *day;
  }
  if (!with_timetable) co_return out;
  if (auto t = ctx.query.get("timetable_date"); t && !t->empty()) {
    auto td = transit::parse_date(std::string(*t));
    if (!td) co_return domain::outcome<dates>(param_problem("timetable_date", "must be a real date YYYY-MM-DD"));
    out.timetable_day = *td;
  } else if (today) {
    out.timetable_day = *today;
  } else {
    auto call = sp->planning->today(sp->now_us());
    out.timetable_day = co_await std::move(call);
  }
  co_return out;
}

json number_or_null(double v, double scale = 10) {
  return std::isnan(v) ? json(nullptr) : json(std::round(v * scale) / scale);
}
json opt_or_null(const std::optional<double>& v) { return v ? json(std::round(*v * 100) / 100) : json(nullptr); }

json flags_json(const transit::route_demand& d) {
  return {{"holiday", d.holiday}, {"tourist_peak", d.tourist_peak}};
}

json demand_json(const transit::route_demand& d, const transit::planning_options& o) {
  json dirs = json::array();
  int max_weeks = 0;
  for (const auto& dd : d.directions) {
    json stops = json::array();
    for (const auto& s : dd.stops) {
      json counts = json::array();
      double total = 0;
      bool any = false;
      for (double c : s.counts) {
        counts.push_back(number_or_null(c));
        if (!std::isnan(c)) total += c, any = true;
      }
      max_weeks = std::max(max_weeks, s.weeks_found);
      stops.push_back({{"stop", s.stop_id}, {"name", s.name}, {"sensor", s.sensor.empty() ? json(nullptr) : json(s.sensor)},
                       {"counts", counts}, {"total", any ? number_or_null(total) : json(nullptr)},
                       {"weeks_found", s.weeks_found}, {"hours_known", s.hours_known}});
    }
    dirs.push_back({{"direction", dd.direction}, {"pattern", dd.pattern}, {"stops", stops}});
  }
  return {{"route", d.route}, {"date", d.date}, {"timezone", o.timezone}, {"flags", flags_json(d)},
          {"weather_used", false},
          {"history", {{"days", o.history_days}, {"stops", d.stops_total}, {"stops_with_history", d.stops_with_history},
                       {"weeks_found", max_weeks}}},
          {"directions", dirs}};
}

json plan_json(const transit::route_plan& p, const transit::planning_options& o) {
  const auto& d = p.demand;
  json dirs = json::array();
  for (const auto& dp : p.directions) {
    json periods = json::array();
    for (std::size_t i = 0; i < dp.periods.size(); ++i) {
      const auto& x = dp.periods[i];
      periods.push_back({{"name", x.name}, {"start_hour", x.start_hour}, {"end_hour", x.end_hour},
                         {"headway_min", number_or_null(x.headway_min, 100)}, {"bound", x.bound},
                         {"design_load_per_h", number_or_null(x.design_load_per_h)},
                         {"busiest_stop", x.busiest_stop.empty() ? json(nullptr) : json(x.busiest_stop)},
                         {"busiest_hour", x.busiest_stop.empty() ? json(nullptr) : json(x.busiest_hour)},
                         {"expected_load", number_or_null(x.expected_load)},
                         {"load_factor", number_or_null(x.load_factor, 100)},
                         {"avg_wait_min", number_or_null(x.avg_wait_min, 100)},
                         {"vehicles_needed", x.vehicles_needed}, {"boardings", number_or_null(x.boardings)},
                         {"capacity_met", x.capacity_met}, {"wait_met", x.wait_met},
                         {"scheduled_headway_min", opt_or_null(dp.scheduled_headway_min[i])},
                         {"scheduled_departures", dp.scheduled_departures[i]}});
    }
    dirs.push_back({{"direction", dp.direction}, {"template_trip", dp.template_trip}, {"demand_known", dp.demand_known},
                    {"periods", periods}});
  }
  return {{"route", d.route}, {"date", d.date}, {"timetable_date", d.timetable_date}, {"timezone", o.timezone},
          {"flags", flags_json(d)}, {"basis", d.stops_with_history > 0 ? "forecast" : "no_history"},
          {"history", {{"days", o.history_days}, {"stops", d.stops_total}, {"stops_with_history", d.stops_with_history}}},
          {"params", {{"vehicle_capacity", o.plan.vehicle_capacity}, {"target_load_factor", o.plan.target_load_factor},
                      {"max_wait_min", o.plan.max_wait_min}, {"min_headway_min", o.plan.min_headway_min},
                      {"vehicles", o.plan.vehicles}, {"cycle_min", number_or_null(p.cycle_min)}}},
          {"directions", dirs}};
}

}  // namespace

// GET /api/v1/transit/routes/{id}/demand?date=YYYY-MM-DD
task<net::response> get_transit_routes_by_id_demand(services* sp, context ctx) {
  if (!sp->transit || !sp->planning) co_return unavailable();
  auto d_call = dates_of(sp, ctx, false, false);
  auto ds = co_await std::move(d_call);
  if (!ds) co_return problem_response(ds.error());
  auto call = sp->planning->plan(ctx.params.at(0), ds->day, 0, ctx.who, false);
  auto res = co_await std::move(call);
  if (res.first == transit::planning_status::no_route) co_return no_route();
  if (res.first == transit::planning_status::busy) co_return busy();
  co_return json_response(200, demand_json(res.second->demand, sp->planning->options()).dump());
}

// GET /api/v1/transit/routes/{id}/plan[?date=YYYY-MM-DD][&timetable_date=YYYY-MM-DD]
task<net::response> get_transit_routes_by_id_plan(services* sp, context ctx) {
  if (!sp->transit || !sp->planning) co_return unavailable();
  auto d_call = dates_of(sp, ctx, true, true);
  auto ds = co_await std::move(d_call);
  if (!ds) co_return problem_response(ds.error());
  auto call = sp->planning->plan(ctx.params.at(0), ds->day, ds->timetable_day, ctx.who);
  auto res = co_await std::move(call);
  if (res.first == transit::planning_status::no_route) co_return no_route();
  if (res.first == transit::planning_status::busy) co_return busy();
  co_return json_response(200, plan_json(*res.second, sp->planning->options()).dump());
}

// GET /api/v1/transit/plan.zip?date=YYYY-MM-DD: frequencies.txt of every route's template trips.
task<net::response> get_transit_plan_zip(services* sp, context ctx) {
  if (!sp->transit || !sp->planning) co_return unavailable();
  auto d_call = dates_of(sp, ctx, true, false);
  auto ds = co_await std::move(d_call);
  if (!ds) co_return problem_response(ds.error());
  auto call = sp->planning->plan_all(ds->day, ds->timetable_day, ctx.who);
  auto res = co_await std::move(call);
  if (res.first == transit::planning_status::forbidden)
    co_return problem_response(make_problem(problem_kind::forbidden, "the bus plan is mobility data, outside this token's domains"));
  if (res.first == transit::planning_status::busy) co_return busy();
  std::vector<transit::frequency_row> rows;
  std::string skipped;  // route/direction without a trip of its main pattern running on the date
  for (const auto& p : res.second)
    for (const auto& dp : p->directions) {
      if (dp.template_trip.empty()) {
        if (skipped.size() < 60000) skipped += (skipped.empty() ? "" : " ") + p->demand.route + '/' + std::to_string(dp.direction);
        continue;
      }
      auto r = transit::frequencies_of(dp.periods, dp.template_trip);
      rows.insert(rows.end(), r.begin(), r.end());
    }
  net::response r;
  r.status = 200;
  r.content_type = "application/zip";
  const std::string comment =
      skipped.empty() ? "" : "no trip of the main pattern runs on " + transit::format_date(ds->day) + ", skipped: " + skipped;
  r.body = transit::zip_store({{"frequencies.txt", transit::frequencies_txt(rows)}}, comment);
  r.headers.emplace_back("Content-Disposition",
                         "attachment; filename=\"plan-" + transit::format_date(ds->day) + ".zip\"");
  co_return r;
}

}  // namespace maeul::api
