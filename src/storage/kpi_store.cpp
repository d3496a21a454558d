// KPI SQL. Every query groups by GROUPING SETS ((zone, period), (period)): zone rows and the city
// row in one pass. Periods are date_trunc in the city's time zone. Readings come as one row per
// series and local calendar day (day_rows): whole days from the daily rollups (rollup_1d, migration
// 0018) when they are kept in the same time zone, the partial days at the range's edges and the
// days the compactor has not recomputed yet from the hourly rollups; rollup_1h buckets are whole
// UTC hours, exact for zones with whole-hour offsets such as Asia/Seoul.
#include "maeul/storage/kpi_store.hpp"

#include <mutex>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "maeul/storage/db_pool.hpp"
#include "wire_sql.hpp"

namespace maeul::storage {
namespace {

using domain::make_problem;
using domain::problem_kind;

// $1 unit, $2 time zone, $3 from (epoch us), $4 to (epoch us); for day_rows, the whole local days
// [$6, $7) of the range that the daily level serves (dates; 'infinity' for none) and their bounds
// $8, $9 as instants (epoch us; both $4 for none), found by whole_days_sql first so that the planner
// sees them as values (as subquery results it would guess, and scan the hourly rollups whole).
const std::string F = "(timestamptz 'epoch' + $3::bigint * interval '1 microsecond')";
const std::string T = "(timestamptz 'epoch' + $4::bigint * interval '1 microsecond')";
const std::string LO_TS = "(timestamptz 'epoch' + $8::bigint * interval '1 microsecond')";
const std::string HI_TS = "(timestamptz 'epoch' + $9::bigint * interval '1 microsecond')";
std::string period_of(const std::string& col) { return "date_trunc($1, " + col + " AT TIME ZONE $2)"; }

// $1 time zone, $2 from, $3 to (epoch us), $4 true: hourly rollups only. One row: lo, hi (text
// dates) and lo_ts, hi_ts (epoch us). The whole local days are those from the first local midnight
// at or after from to the last at or before to, when rollup_1d is kept in this time zone;
// otherwise none.
const std::string whole_days_sql =
    "SELECT CASE WHEN ok THEN lo::text ELSE 'infinity' END, CASE WHEN ok THEN hi::text ELSE 'infinity' END, "
    "CASE WHEN ok THEN (extract(epoch FROM lo::timestamp AT TIME ZONE $1) * 1000000)::bigint ELSE $3 END, "
    "CASE WHEN ok THEN (extract(epoch FROM hi::timestamp AT TIME ZONE $1) * 1000000)::bigint ELSE $3 END "
    "FROM (SELECT lo, hi, NOT $4::bool AND lo < hi AND EXISTS (SELECT 1 FROM rollup_1d_zone z WHERE z.tz = $1) AS ok "
    "FROM (SELECT (date_trunc('day', ((timestamptz 'epoch' + $2::bigint * interval '1 microsecond') AT TIME ZONE $1) "
    "- interval '1 microsecond') + interval '1 day')::date AS lo, date_trunc('day', (timestamptz 'epoch' + $3::bigint "
    "* interval '1 microsecond') AT TIME ZONE $1)::date AS hi) a) b";

// One row per series of `sel` (a query with a series_id column, series_id first) and local
// calendar day in [F, T): sel's columns, then day (local midnight), p (its period), n, sum, msum
// (the sum of its hourly means) and mmin (its lowest hourly mean). Equal, up to the order of
// floating-point sums, to grouping the hourly rollups of the range by local day.
//   hr: hourly buckets of the edges [F, LO_TS) and [HI_TS, T), and of the whole days still marked
//       in rollup_1d_dirty (their daily row is stale or missing);
//   then the daily rows of the whole days not marked (NOT IN: one hashed pass over the few marks;
//   NOT EXISTS became a nested loop rescanning them for every daily row).
std::string day_rows(const std::string& sel) {
  return "WITH sel AS (" + sel + "), "
         "hr AS (SELECT r.series_id, r.bucket, r.n, r.sum FROM rollup_1h r WHERE r.series_id IN (SELECT series_id FROM sel) "
         "AND r.bucket >= " + F + " AND r.bucket < " + LO_TS + " "
         "UNION ALL SELECT r.series_id, r.bucket, r.n, r.sum FROM rollup_1h r WHERE r.series_id IN (SELECT series_id FROM sel) "
         "AND r.bucket >= greatest(" + HI_TS + ", " + F + ") AND r.bucket < " + T + " "
         "UNION ALL SELECT r.series_id, r.bucket, r.n, r.sum FROM rollup_1d_dirty x JOIN rollup_1h r ON r.series_id = "
         "x.series_id AND r.bucket >= (x.day::timestamp AT TIME ZONE $2) AND r.bucket < ((x.day + 1)::timestamp AT TIME "
         "ZONE $2) WHERE x.series_id IN (SELECT series_id FROM sel) AND x.day >= $6::date AND x.day < $7::date), "
         "dy AS (SELECT series_id, date_trunc('day', bucket AT TIME ZONE $2) AS day, sum(n) AS n, sum(sum) AS sum, "
         "sum(sum / n) AS msum, min(sum / n) AS mmin FROM hr GROUP BY 1, 2 "
         "UNION ALL SELECT d.series_id, d.day::timestamp, d.n, d.sum, d.mean_sum, d.mean_min FROM rollup_1d d "
         "WHERE d.series_id IN (SELECT series_id FROM sel) AND d.day >= $6::date AND d.day < $7::date "
         "AND (d.series_id, d.day) NOT IN (SELECT x.series_id, x.day FROM rollup_1d_dirty x)) "
         "SELECT sel.*, dy.day, date_trunc($1, dy.day) AS p, dy.n, dy.sum, dy.msum, dy.mmin FROM dy JOIN sel USING (series_id)";
}

// Day rows of one sensor kind and metric inside zones: zone_id, sid, kind, attributes, then as day_rows.
std::string daily(const std::string& kinds, const std::string& metric) {
  return day_rows("SELECT se.id AS series_id, s.zone_id, s.id AS sid, s.kind, s.attributes FROM series se JOIN sensors "
                  "s ON s.id = se.sensor_id WHERE s.kind IN (" + kinds + ") AND se.metric = '" + metric +
                  "' AND s.zone_id IS NOT NULL");
}

const std::string per_capita_tail =
    "SELECT a.zone_id, a.g, a.p, a.v / NULLIF(CASE WHEN a.g = 1 THEN (SELECT sum(population) FROM zones) "
    "ELSE (SELECT population FROM zones z WHERE z.id = a.zone_id) END, 0), NULL::float8 FROM a";

// Bus operations (docs/transit.md "Operations metrics"): observed headways at each (route, stop,
// direction) from transit_arrivals (a gap over 2 h is a service break, not a headway), with the
// period of the arrival ending each, and the zone of the stop.
const std::string bus_observed =
    "arr AS (SELECT a.route_id, a.stop_id, a.direction, a.ts, " + period_of("a.ts") + " AS p, "
    "extract(epoch FROM a.ts - lag(a.ts) OVER (PARTITION BY a.route_id, a.stop_id, a.direction ORDER BY a.ts)) AS h "
    "FROM transit_arrivals a WHERE a.ts >= " + F + " - interval '2 hours' AND a.ts < " + T + "), "
    "obs AS (SELECT * FROM arr WHERE h > 0 AND h <= 7200 AND ts >= " + F + "), "
    "stop_zone AS (SELECT s.id AS stop_id, (SELECT z.id FROM zones z WHERE ST_Covers(z.boundary, s.location) "
    "ORDER BY z.id LIMIT 1) AS zone_id FROM transit_stops s)";
// The scheduled visits of each service day around the range (calendar and calendar_dates in the
// city's time zone; timetabled trips and frequency windows), as headways per (route, stop, direction).
const std::string bus_scheduled =
    "days AS (SELECT d::date AS day FROM generate_series((" + F + " AT TIME ZONE $2)::date - 1, (" + T +
    " AT TIME ZONE $2)::date, interval '1 day') d), "
    "act AS (SELECT days.day, c.service_id FROM days JOIN transit_calendar c ON days.day BETWEEN c.start_date AND "
    "c.end_date AND (c.days >> (extract(isodow FROM days.day)::int - 1)) & 1 = 1 WHERE NOT EXISTS (SELECT 1 FROM "
    "transit_calendar_dates x WHERE x.service_id = c.service_id AND x.date = days.day AND x.exception_type = 2) "
    "UNION SELECT x.date, x.service_id FROM transit_calendar_dates x JOIN days ON days.day = x.date WHERE x.exception_type = 1), "
    "vis AS (SELECT t.route_id, st.stop_id, coalesce(t.direction_id, 0) AS direction, ((act.day + time '12:00') "
    "AT TIME ZONE $2) - interval '12 hours' + st.arrival_s * interval '1 second' AS ts FROM act JOIN transit_trips t "
    "ON t.service_id = act.service_id JOIN transit_stop_times st ON st.trip_id = t.id WHERE st.arrival_s IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM transit_frequencies f WHERE f.trip_id = t.id) "
    "UNION ALL SELECT t.route_id, st.stop_id, coalesce(t.direction_id, 0), ((act.day + time '12:00') AT TIME ZONE $2) "
    "- interval '12 hours' + (g + st.arrival_s - fs.s) * interval '1 second' FROM act JOIN transit_trips t ON "
    "t.service_id = act.service_id JOIN transit_frequencies f ON f.trip_id = t.id JOIN transit_stop_times st ON "
    "st.trip_id = t.id JOIN LATERAL (SELECT min(x.departure_s) AS s FROM transit_stop_times x WHERE x.trip_id = t.id) "
    "fs ON true CROSS JOIN LATERAL generate_series(f.start_s, f.end_s - 1, f.headway_s) g WHERE st.arrival_s IS NOT NULL), "
    "keys AS (SELECT DISTINCT route_id, stop_id, direction FROM obs), "
    "sv AS (SELECT route_id, stop_id, direction, ts, extract(epoch FROM ts - lag(ts) OVER (PARTITION BY route_id, "
    "stop_id, direction ORDER BY ts)) AS h FROM vis JOIN keys USING (route_id, stop_id, direction)), "
    // Like the observed ones: a gap over 2 h (overnight) is a service break, not a headway; and only
    // the scheduled headways overlapping an observed one count (the same stops and spans).
    "sched AS (SELECT sv.route_id, sv.stop_id, sv.direction, " + period_of("sv.ts") + " AS p, sum(sv.h * sv.h) AS sq, "
    "sum(sv.h) AS s FROM sv WHERE sv.h > 0 AND sv.h <= 7200 AND sv.ts >= " + F + " AND sv.ts < " + T +
    " AND EXISTS (SELECT 1 FROM obs o WHERE o.route_id = sv.route_id AND o.stop_id = sv.stop_id AND "
    "o.direction = sv.direction AND o.ts - o.h * interval '1 second' < sv.ts AND o.ts > sv.ts - sv.h * interval "
    "'1 second') GROUP BY 1, 2, 3, 4)";

// The query of each KPI but the coverage one (computed with PostGIS in read_access). The switch has
// no default: a KPI added to the catalog and not here does not compile (-Werror=switch).
std::string sql_for(kpi::key k) {
  switch (k) {
    case kpi::key::living_zone_9min_coverage:
      break;  // not SQL over readings: see values()
    case kpi::key::emergency_response_time:
    return "SELECT zone_id, GROUPING(zone_id), p, avg(mins), percentile_cont(0.9) WITHIN GROUP (ORDER BY mins) "
           "FROM (SELECT zone_id, " + period_of("reported_at") + " AS p, extract(epoch FROM on_scene_at - reported_at) "
           "/ 60 AS mins FROM incidents WHERE on_scene_at IS NOT NULL AND reported_at >= " + F +
           " AND reported_at < " + T + ") x GROUP BY GROUPING SETS ((zone_id, p), (p))";
    case kpi::key::welfare_ack_time:
    // The extra column: the distinct households behind each value (a sensor naming none counts as one).
    return "SELECT zone_id, GROUPING(zone_id), p, avg(mins), count(DISTINCT hh)::float8 FROM (SELECT a.zone_id, " +
           period_of("a.opened_at") + " AS p, extract(epoch FROM a.acknowledged_at - a.opened_at) / 60 AS mins, "
           "coalesce(s.attributes->>'household', a.sensor_id, a.subject) AS hh FROM alerts a LEFT JOIN sensors s ON "
           "s.id = a.sensor_id WHERE a.domain = 'welfare' AND a.kind <> 'consent' AND a.acknowledged_at IS NOT NULL "
           "AND a.opened_at >= " + F +
           " AND a.opened_at < " + T + ") x GROUP BY GROUPING SETS ((zone_id, p), (p))";
    case kpi::key::transit_boardings_per_capita:
    return "WITH h AS (" + daily("'bus_stop_counter'", "boardings") + "), a AS (SELECT zone_id, GROUPING(zone_id) g, p, "
           "sum(sum) v FROM h GROUP BY GROUPING SETS ((zone_id, p), (p))) " + per_capita_tail;
    case kpi::key::electricity_per_capita:
    return "WITH h AS (" + daily("'smart_meter'", "power_kw") + "), a AS (SELECT zone_id, GROUPING(zone_id) g, p, "
           "sum(msum) v FROM h GROUP BY GROUPING SETS ((zone_id, p), (p))) " + per_capita_tail;
    case kpi::key::renewable_share:
    return "WITH h AS (" + daily("'smart_meter', 'solar_pv'", "power_kw") + ") SELECT zone_id, GROUPING(zone_id), p, "
           "100 * coalesce(sum(msum) FILTER (WHERE kind = 'solar_pv'), 0) / NULLIF(sum(msum) FILTER (WHERE kind = "
           "'smart_meter'), 0), NULL::float8 FROM h GROUP BY GROUPING SETS ((zone_id, p), (p))";
    case kpi::key::travel_time_index:
    return "WITH h AS (" + daily("'traffic_corridor'", "travel_time_s") + "), "
           "ff AS (SELECT sid, p, coalesce(max(CASE WHEN attributes->>'free_flow_s' ~ '^[0-9]+(\\.[0-9]+)?$' THEN "
           "(attributes->>'free_flow_s')::float8 END), min(mmin)) f FROM h GROUP BY sid, p), "
           "per AS (SELECT h.zone_id, h.sid, h.p, (sum(h.sum) / sum(h.n)) / NULLIF(max(ff.f), 0) tti FROM h JOIN ff "
           "USING (sid, p) GROUP BY h.zone_id, h.sid, h.p) "
           "SELECT zone_id, GROUPING(zone_id), p, avg(tti), NULL::float8 FROM per GROUP BY GROUPING SETS ((zone_id, p), (p))";
    case kpi::key::pm25_bad_days:
    return "WITH h AS (" + daily("'air_quality'", "pm25") + "), d AS (SELECT zone_id, GROUPING(zone_id) g, "
           "day, sum(sum) / sum(n) AS mean FROM h GROUP BY GROUPING SETS ((zone_id, day), (day))) "
           "SELECT zone_id, g, date_trunc($1, day), count(*) FILTER (WHERE mean > 35)::float8, NULL::float8 FROM d "
           "GROUP BY zone_id, g, date_trunc($1, day)";
    case kpi::key::bus_excess_wait_time:
    // Only the (route, stop, direction) with observed headways in the period count, against their own schedule.
    return "WITH " + bus_observed + ", " + bus_scheduled + ", "
           "o AS (SELECT route_id, stop_id, direction, p, sum(h * h) AS sq, sum(h) AS s FROM obs GROUP BY 1, 2, 3, 4), "
           "j AS (SELECT sz.zone_id, o.p, o.sq, o.s, sc.sq AS ssq, sc.s AS ss FROM o JOIN sched sc USING (route_id, "
           "stop_id, direction, p) JOIN stop_zone sz ON sz.stop_id = o.stop_id) "
           "SELECT zone_id, GROUPING(zone_id), p, (sum(sq) / (2 * sum(s)) - sum(ssq) / (2 * sum(ss))) / 60, "
           "NULL::float8 FROM j GROUP BY GROUPING SETS ((zone_id, p), (p))";
    case kpi::key::bus_headway_regularity:
    return "WITH " + bus_observed + ", "
           "n AS (SELECT o.route_id, o.stop_id, o.direction, o.p, o.h / avg(o.h) OVER (PARTITION BY o.route_id, "
           "o.stop_id, o.direction, o.p) AS r, count(*) OVER (PARTITION BY o.route_id, o.stop_id, o.direction, o.p) "
           "AS k FROM obs o) "
           "SELECT sz.zone_id, GROUPING(sz.zone_id), n.p, stddev_pop(n.r), NULL::float8 FROM n JOIN stop_zone sz ON "
           "sz.stop_id = n.stop_id WHERE n.k >= 2 GROUP BY GROUPING SETS ((sz.zone_id, n.p), (n.p))";
    case kpi::key::sensor_availability:
    return "WITH m AS (SELECT s.zone_id, s.created_at, se.id AS series_id, (mm->>'interval_s')::float8 AS iv "
           "FROM sensors s CROSS JOIN jsonb_array_elements(s.metrics) mm LEFT JOIN series se ON se.sensor_id = s.id AND "
           "se.metric = mm->>'name' WHERE mm ? 'interval_s' AND s.zone_id IS NOT NULL), "
           "periods AS (SELECT gs AS p FROM generate_series(date_trunc($1, " + F + " AT TIME ZONE $2), " + T +
           " AT TIME ZONE $2 - interval '1 microsecond', ('1 ' || $1)::interval) gs), "
           "ex AS (SELECT m.zone_id, m.series_id, periods.p, greatest(0, extract(epoch FROM least(" + T +
           ", now(), (periods.p + ('1 ' || $1)::interval) AT TIME ZONE $2) - greatest(" + F +
           ", m.created_at, periods.p AT TIME ZONE $2))) / m.iv AS expected FROM m, periods), "
           "dr AS (" + day_rows("SELECT DISTINCT series_id FROM m WHERE series_id IS NOT NULL") + "), "
           "got AS (SELECT series_id, p, sum(n) AS received FROM dr GROUP BY 1, 2) "
           "SELECT ex.zone_id, GROUPING(ex.zone_id), ex.p, least(100, 100 * sum(coalesce(got.received, 0)) / "
           "NULLIF(sum(ex.expected), 0)), NULL::float8 FROM ex LEFT JOIN got USING (series_id, p) "
           "GROUP BY GROUPING SETS ((ex.zone_id, ex.p), (ex.p)) HAVING sum(ex.expected) > 0";
  }
  return {};
}

std::string text_array(const std::vector<std::string>& v) {
  std::string out = "{";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ",\"" : "\"") + v[i] + "\"";
  return out + "}";
}

std::vector<accessibility> read_access(pqxx::transaction_base& tx, const std::string& zone, double minutes,
                                       const kpi::walking_model& walk) {
  auto r = tx.exec_params(
      "WITH pts AS (SELECT z.id AS zone_id, (ST_Dump(ST_GeneratePoints(z.boundary, 300, 42))).geom AS g FROM zones z "
      "WHERE $1 = '' OR z.id = $1), "
      "cov AS (SELECT p.zone_id, p.g, c.cat, EXISTS (SELECT 1 FROM facilities f WHERE f.category = c.cat AND "
      "ST_DWithin(f.location::geography, p.g::geography, $2::float8)) AS ok FROM pts p CROSS JOIN "
      "unnest($3::text[]) AS c(cat)) "
      "SELECT zone_id, cat, avg(ok::int)::float8 FROM cov GROUP BY zone_id, cat "
      "UNION ALL SELECT zone_id, '*', avg(all_ok::int)::float8 FROM (SELECT zone_id, g, bool_and(ok) AS all_ok "
      "FROM cov GROUP BY zone_id, g) x GROUP BY zone_id ORDER BY 1, 2",
      zone, walk.radius_m(minutes), text_array(walk.essential));
  std::vector<accessibility> out;
  for (const auto& row : r) {
    auto z = row[0].as<std::string>();
    if (out.empty() || out.back().zone != z) out.push_back({z, {}, 0, 0});
    auto cat = row[1].as<std::string>();
    if (cat == "*") out.back().all = row[2].as<double>();
    else out.back().categories[cat] = row[2].as<double>();
  }
  for (auto& a : out) {
    auto p = tx.exec_params("SELECT population FROM zones WHERE id = $1", a.zone);
    if (!p.empty()) a.population = p[0][0].as<std::int64_t>();
  }
  return out;
}

// Everything the accessibility analysis reads besides its arguments: every zone's id, population
// and boundary and every facility's id, category and location, as one md5. Read in the same
// transaction as the analysis would be, so a cached result is used only for the very same data.
const std::string access_fingerprint_sql =
    "SELECT md5(coalesce((SELECT string_agg(format('%s:%s:%s', id, population, md5(ST_AsEWKB(boundary))), ';' "
    "ORDER BY id) FROM zones), '') || '|' || coalesce((SELECT string_agg(format('%s:%s:%s', id, category, "
    "md5(ST_AsEWKB(location))), ';' ORDER BY id) FROM facilities), ''))";

}  // namespace

// The accessibility analysis (PostGIS over 300 sample points a zone) depends only on zones,
// facilities and the walking model: results are kept by (fingerprint, zone, radius, categories).
// Bounded: at most max_entries; when full, cleared. Never stale: the key holds the data's md5.
struct kpi_access_cache {
  static constexpr std::size_t max_entries = 32;
  std::mutex mutex;
  std::map<std::string, std::vector<accessibility>> entries;
};

namespace {

std::vector<accessibility> cached_access(pqxx::transaction_base& tx, kpi_access_cache& cache, const std::string& zone,
                                         double minutes, const kpi::walking_model& walk) {
  auto key = tx.exec(access_fingerprint_sql)[0][0].as<std::string>() + "|" + zone + "|" +
             std::to_string(walk.radius_m(minutes)) + "|" + text_array(walk.essential);
  {
    std::lock_guard lock(cache.mutex);
    if (auto it = cache.entries.find(key); it != cache.entries.end()) return it->second;
  }
  auto out = read_access(tx, zone, minutes, walk);
  std::lock_guard lock(cache.mutex);
  if (cache.entries.size() >= kpi_access_cache::max_entries) cache.entries.clear();
  cache.entries.emplace(std::move(key), out);
  return out;
}

const std::string budget_json = "(" + wire::budget_line_object() + ")::text";

}  // namespace

kpi_store::kpi_store(db_pool& pool) : pool_(pool), access_cache_(std::make_shared<kpi_access_cache>()) {}

task<std::vector<kpi_value>> kpi_store::values(kpi_query q, kpi::walking_model walk) {
  auto cache = access_cache_;
  return pool_.run<std::vector<kpi_value>>([q, walk, cache](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<kpi_value> out;
    // The periods of the range, with their length in days (local calendar).
    auto periods = tx.exec_params(
        "SELECT (extract(epoch FROM gs AT TIME ZONE $2) * 1000000)::bigint, extract(epoch FROM (gs + ('1 ' || $1)::interval) "
        "- gs) / 86400, gs FROM generate_series(date_trunc($1, " + F + " AT TIME ZONE $2), " + T +
            " AT TIME ZONE $2 - interval '1 microsecond', ('1 ' || $1)::interval) gs",
        q.period, q.timezone, q.from_us, q.to_us);
    const auto* def = kpi::find(q.kpi);
    if (!def) throw std::invalid_argument("no KPI \"" + q.kpi + "\" in the catalog");
    if (def->k == kpi::key::living_zone_9min_coverage) {
      auto acc = cached_access(tx, *cache, q.zone, 9, walk);
      double pop = 0, covered = 0;
      for (const auto& a : acc) {
        pop += double(a.population);
        covered += a.all * double(a.population);
        for (const auto& p : periods)
          out.push_back({a.zone, p[0].as<std::int64_t>(), p[1].as<double>(), 100 * a.all, std::nullopt});
      }
      if (q.zone.empty())
        for (const auto& p : periods)
          out.push_back({std::nullopt, p[0].as<std::int64_t>(), p[1].as<double>(),
                         pop > 0 ? std::optional<double>(100 * covered / pop) : std::nullopt, std::nullopt});
      return out;
    }
    auto sql = sql_for(def->k);
    auto days = tx.exec_params1(whole_days_sql, q.timezone, q.from_us, q.to_us, q.hourly_only);
    auto r = tx.exec_params("SELECT x.zone_id, x.g, (extract(epoch FROM x.p AT TIME ZONE $2) * 1000000)::bigint, "
                            "extract(epoch FROM (x.p + ('1 ' || $1)::interval) - x.p) / 86400, x.v, x.extra FROM (" +
                                sql + ") AS x(zone_id, g, p, v, extra) WHERE num_nulls($5::bool, $6::date, $7::date, $8::bigint, $9::bigint) "
                            ">= 0 ORDER BY x.g, x.zone_id, x.p",  // every parameter typed, used or not
                            q.period, q.timezone, q.from_us, q.to_us, q.hourly_only, days[0].as<std::string>(),
                            days[1].as<std::string>(), days[2].as<std::int64_t>(), days[3].as<std::int64_t>());
    for (const auto& row : r) {
      bool city = row[1].as<int>() == 1;
      if (!city && row[0].is_null()) continue;
      if (!q.zone.empty() && (city || row[0].as<std::string>() != q.zone)) continue;
      kpi_value v;
      if (!city) v.zone = row[0].as<std::string>();
      v.start_us = row[2].as<std::int64_t>();
      v.days = row[3].as<double>();
      if (!row[4].is_null()) v.value = row[4].as<double>();
      if (!row[5].is_null()) {
        if (def->k == kpi::key::welfare_ack_time) v.subjects = std::int64_t(row[5].as<double>());
        else v.p90 = row[5].as<double>();
      }
      out.push_back(std::move(v));
    }
    return out;
  });
}

void suppress_small(std::vector<kpi_value>& values) {
  for (auto& v : values)
    if (v.subjects && *v.subjects < min_public_subjects) {
      v.value.reset();
      v.p90.reset();
      v.suppressed = true;
    }
}

task<std::int64_t> kpi_store::ensure_daily_calendar(std::string timezone) {
  return pool_.run<std::int64_t>([timezone](pqxx::connection_base& c) {
    pqxx::work tx(c, "daily-calendar");
    auto cur = tx.exec("SELECT tz FROM rollup_1d_zone");
    if (!cur.empty() && cur[0][0].as<std::string>() == timezone) return std::int64_t(-1);
    auto n = tx.exec_params1("SELECT maeul_rollup_1d_rebuild($1)", timezone)[0].as<std::int64_t>();
    tx.commit();
    return n;
  });
}

task<std::vector<accessibility>> kpi_store::access(std::string zone, double minutes, kpi::walking_model walk) {
  auto cache = access_cache_;
  return pool_.run<std::vector<accessibility>>([zone, minutes, walk, cache](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    return cached_access(tx, *cache, zone, minutes, walk);
  });
}

task<outcome<std::string>> kpi_store::create_budget(std::string id, std::string body) {
  return pool_.run<outcome<std::string>>([id, body](pqxx::connection_base& c) -> outcome<std::string> {
    try {
      pqxx::work tx(c);
      auto r = tx.exec_params1(
          "INSERT INTO budget_lines (id, program, year, amount_krw, kpis) SELECT coalesce(NULLIF($1, ''), 'bl_' || "
          "substr(md5(random()::text || clock_timestamp()::text), 1, 10)), b->'program', (b->>'year')::int, "
          "(b->>'amount_krw')::bigint, coalesce(b->'kpis', '[]') FROM (SELECT $2::jsonb AS b) x RETURNING " + budget_json,
          id, body);
      tx.commit();
      return r[0].as<std::string>();
    } catch (const pqxx::unique_violation&) {
      return make_problem(problem_kind::conflict, "a budget line with id \"" + id + "\" exists already");
    }
  });
}

task<outcome<std::string>> kpi_store::replace_budget(std::string id, std::string body) {
  return pool_.run<outcome<std::string>>([id, body](pqxx::connection_base& c) -> outcome<std::string> {
    pqxx::work tx(c);
    auto r = tx.exec_params(
        "UPDATE budget_lines SET program = b->'program', year = (b->>'year')::int, amount_krw = (b->>'amount_krw')::bigint, "
        "kpis = coalesce(b->'kpis', '[]'), updated_at = now() FROM (SELECT $2::jsonb AS b) x WHERE id = $1 RETURNING " +
            budget_json,
        id, body);
    tx.commit();
    if (r.empty()) return make_problem(problem_kind::not_found, "no budget line with this id");
    return r[0][0].as<std::string>();
  });
}

task<outcome<std::string>> kpi_store::get_budget(std::string id) {
  return pool_.run<outcome<std::string>>([id](pqxx::connection_base& c) -> outcome<std::string> {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params("SELECT " + budget_json + " FROM budget_lines WHERE id = $1", id);
    if (r.empty()) return make_problem(problem_kind::not_found, "no budget line with this id");
    return r[0][0].as<std::string>();
  });
}

task<outcome<bool>> kpi_store::delete_budget(std::string id) {
  return pool_.run<outcome<bool>>([id](pqxx::connection_base& c) -> outcome<bool> {
    pqxx::work tx(c);
    auto r = tx.exec_params("DELETE FROM budget_lines WHERE id = $1 RETURNING id", id);
    tx.commit();
    if (r.empty()) return make_problem(problem_kind::not_found, "no budget line with this id");
    return true;
  });
}

task<std::vector<std::string>> kpi_store::list_budget(int year) {
  return pool_.run<std::vector<std::string>>([year](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<std::string> out;
    for (const auto& row : tx.exec_params("SELECT " + budget_json + " FROM budget_lines WHERE $1 = 0 OR year = $1 "
                                          "ORDER BY year, id", year))
      out.push_back(row[0].as<std::string>());
    return out;
  });
}

task<std::pair<std::int64_t, int>> kpi_store::year_start(int year, std::string timezone, std::int64_t at_us) {
  return pool_.run<std::pair<std::int64_t, int>>([year, timezone, at_us](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params1(
        "SELECT (extract(epoch FROM make_timestamptz($1, 1, 1, 0, 0, 0, $2)) * 1000000)::bigint, "
        "extract(year FROM (timestamptz 'epoch' + $3::bigint * interval '1 microsecond') AT TIME ZONE $2)::int",
        year, timezone, at_us);
    return std::pair{r[0].as<std::int64_t>(), r[1].as<int>()};
  });
}

task<std::map<std::string, std::string>> kpi_store::zone_names() {
  return pool_.run<std::map<std::string, std::string>>([](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::map<std::string, std::string> out;
    for (const auto& row : tx.exec("SELECT id, name::text FROM zones ORDER BY id"))
      out[row[0].as<std::string>()] = row[1].as<std::string>();
    return out;
  });
}

}  // namespace maeul::storage
