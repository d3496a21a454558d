// The bus network, positions and arrivals (storage/transit.hpp): SQL with bound parameters only;
// bulk rows travel by COPY (trips, stop times, positions, arrivals) or as one JSON parameter each
// (json_to_recordset: the feed's small files); the feed is replaced in one transaction.
#include <pqxx/pqxx>
#include <pqxx/tablewriter>

#include <charconv>
#include <chrono>
#include <map>

#include <nlohmann/json.hpp>

#include "maeul/storage/db_pool.hpp"
#include "maeul/storage/transit.hpp"
#include "sql_util.hpp"

namespace maeul::storage {
namespace {

using json = nlohmann::json;

const char* const delete_feed_sql =
    "TRUNCATE transit_frequencies, transit_stop_times, transit_trips, transit_routes, transit_stops, "
    "transit_shapes, transit_calendar, transit_calendar_dates, transit_agencies";
const char* const insert_agencies_sql =
    "INSERT INTO transit_agencies (id, name, url, timezone) SELECT id, name, url, timezone "
    "FROM json_to_recordset($1::json) AS x(id text, name text, url text, timezone text)";
const char* const insert_stops_sql =
    "INSERT INTO transit_stops (id, name, code, location_type, parent, location) "
    "SELECT id, name, code, location_type, parent, "
    "CASE WHEN lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(lon, lat), 4326) END "
    "FROM json_to_recordset($1::json) AS x(id text, name text, code text, location_type int, parent text, "
    "lon float8, lat float8)";
const char* const insert_shapes_sql =
    "INSERT INTO transit_shapes (id, geom) SELECT id, ST_SetSRID(ST_GeomFromGeoJSON(geom), 4326) "
    "FROM json_to_recordset($1::json) AS x(id text, geom text)";
const char* const insert_routes_sql =
    "INSERT INTO transit_routes (id, agency_id, short_name, long_name, type, color, text_color) "
    "SELECT id, agency_id, short_name, long_name, type, color, text_color "
    "FROM json_to_recordset($1::json) AS x(id text, agency_id text, short_name text, long_name text, type int, "
    "color text, text_color text)";
const char* const insert_calendar_sql =
    "INSERT INTO transit_calendar (service_id, days, start_date, end_date) "
    "SELECT service_id, days, start_date::date, end_date::date "
    "FROM json_to_recordset($1::json) AS x(service_id text, days int, start_date text, end_date text)";
const char* const insert_calendar_dates_sql =
    "INSERT INTO transit_calendar_dates (service_id, date, exception_type) "
    "SELECT service_id, date::date, exception_type "
    "FROM json_to_recordset($1::json) AS x(service_id text, date text, exception_type int)";
const char* const insert_frequencies_sql =
    "INSERT INTO transit_frequencies (trip_id, start_s, end_s, headway_s, exact_times) "
    "SELECT trip_id, start_s, end_s, headway_s, exact_times "
    "FROM json_to_recordset($1::json) AS x(trip_id text, start_s int, end_s int, headway_s int, exact_times int)";
const char* const drop_stop_time_fks_sql =
    "ALTER TABLE transit_stop_times DROP CONSTRAINT transit_stop_times_trip_id_fkey, "
    "DROP CONSTRAINT transit_stop_times_stop_id_fkey";
// The index on stop_id (migration 0017) is built once after the copy, by a sort, rather than
// grown row by row in random order.
const char* const drop_stop_time_index_sql = "DROP INDEX transit_stop_times_stop";
const char* const add_stop_time_index_sql = "CREATE INDEX transit_stop_times_stop ON transit_stop_times (stop_id)";
const char* const add_stop_time_fks_sql =
    "ALTER TABLE transit_stop_times "
    "ADD CONSTRAINT transit_stop_times_trip_id_fkey FOREIGN KEY (trip_id) REFERENCES transit_trips (id) ON DELETE CASCADE, "
    "ADD CONSTRAINT transit_stop_times_stop_id_fkey FOREIGN KEY (stop_id) REFERENCES transit_stops (id) ON DELETE CASCADE";
const char* const mark_feed_sql =
    "INSERT INTO transit_feed (id, imported_at) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET imported_at = now()";

// Each trip with its stops in order (those with a location), aggregated in one pass over the stop
// times (a hash aggregate, not a subquery per trip: 40,000 trips and a million stop times load in
// seconds); the stops' coordinates come from stops_sql.
const char* const trips_sql =
    "WITH seqs AS (SELECT st.trip_id, json_agg(st.stop_id ORDER BY st.stop_sequence) AS seq "
    "FROM transit_stop_times st JOIN transit_stops s ON s.id = st.stop_id WHERE s.location IS NOT NULL "
    "GROUP BY st.trip_id) "
    "SELECT t.id, t.route_id, COALESCE(t.shape_id, ''), COALESCE(t.direction_id, 0), COALESCE(q.seq, '[]')::text "
    "FROM transit_trips t LEFT JOIN seqs q ON q.trip_id = t.id ORDER BY t.route_id, t.id";
const char* const stop_points_sql =
    "SELECT id, ST_X(location), ST_Y(location) FROM transit_stops WHERE location IS NOT NULL";
const char* const shapes_sql = "SELECT id, ST_AsGeoJSON(geom, 7) FROM transit_shapes";

const std::string route_fields =
    "'id', r.id, 'agency', NULLIF(r.agency_id, ''), 'short_name', r.short_name, 'long_name', r.long_name, "
    "'type', r.type, 'color', NULLIF(r.color, ''), 'text_color', NULLIF(r.text_color, ''), "
    "'trips', (SELECT count(*) FROM transit_trips t WHERE t.route_id = r.id)";
const std::string routes_sql =
    "SELECT r.id, json_build_object(" + route_fields + ")::text FROM transit_routes r WHERE r.id > $1 "
    "ORDER BY r.id LIMIT $2";
// The stops in order of the route's representative trip: direction 0 first, then the most stops.
const std::string route_sql =
    "WITH rep AS (SELECT t.id FROM transit_trips t WHERE t.route_id = $1 ORDER BY COALESCE(t.direction_id, 0), "
    "(SELECT count(*) FROM transit_stop_times st WHERE st.trip_id = t.id) DESC, t.id LIMIT 1), "
    "seq AS (SELECT st.stop_sequence, s.id, s.name, s.location FROM transit_stop_times st "
    "JOIN transit_stops s ON s.id = st.stop_id WHERE st.trip_id = (SELECT id FROM rep)) "
    "SELECT json_build_object(" + route_fields + ", "
    "'stops', COALESCE((SELECT json_agg(json_build_object('id', q.id, 'name', q.name, 'sequence', q.stop_sequence, "
    "'location', ST_AsGeoJSON(q.location, 7)::json) ORDER BY q.stop_sequence) FROM seq q), '[]'::json), "
    "'shape', COALESCE((SELECT ST_AsGeoJSON(ST_LineMerge(ST_Collect(sh.geom)), 7)::json FROM transit_shapes sh "
    "WHERE sh.id IN (SELECT t.shape_id FROM transit_trips t WHERE t.route_id = r.id)), "
    "(SELECT ST_AsGeoJSON(ST_MakeLine(q.location ORDER BY q.stop_sequence), 7)::json FROM seq q "
    "WHERE q.location IS NOT NULL HAVING count(*) >= 2)))::text FROM transit_routes r WHERE r.id = $1";
const char* const route_exists_sql = "SELECT 1 FROM transit_routes WHERE id = $1";
const std::string stops_near_sql =
    "SELECT json_build_object('id', s.id, 'name', s.name, 'code', NULLIF(s.code, ''), 'location_type', s.location_type, "
    "'location', ST_AsGeoJSON(s.location, 7)::json, 'distance_m', round(ST_Distance(s.location::geography, p.g)::numeric, 1), "
    "'routes', COALESCE((SELECT json_agg(DISTINCT t.route_id) FROM transit_stop_times st JOIN transit_trips t "
    "ON t.id = st.trip_id WHERE st.stop_id = s.id), '[]'::json))::text "
    "FROM transit_stops s, (SELECT ST_SetSRID(ST_MakePoint($1::float8, $2::float8), 4326)::geography AS g) p "
    "WHERE s.location IS NOT NULL AND ST_DWithin(s.location::geography, p.g, $3::float8) "
    "ORDER BY ST_Distance(s.location::geography, p.g), s.id LIMIT $4";

const char* const arrivals_sql =
    "SELECT stop_id, direction, pattern, vehicle, trip_id, "
    "(extract(epoch FROM ts) * 1000000)::int8 FROM transit_arrivals "
    "WHERE route_id = $1 AND ($2 = '' OR stop_id = $2) AND ts >= to_timestamp($3::int8 / 1e6) "
    "AND ts < to_timestamp($4::int8 / 1e6) ORDER BY stop_id, direction, ts LIMIT 200000";
// Services active on a date: calendar's weekday and range, plus added dates, minus removed ones.
const char* const services_sql =
    "SELECT c.service_id FROM transit_calendar c WHERE $1::date BETWEEN c.start_date AND c.end_date "
    "AND (c.days >> (extract(isodow FROM $1::date)::int - 1)) & 1 = 1 "
    "AND NOT EXISTS (SELECT 1 FROM transit_calendar_dates d WHERE d.service_id = c.service_id "
    "AND d.date = $1::date AND d.exception_type = 2) "
    "UNION SELECT d.service_id FROM transit_calendar_dates d WHERE d.date = $1::date AND d.exception_type = 1";
const char* const days_sql =
    "SELECT d::date::text, (extract(epoch FROM (d::date + time '12:00') AT TIME ZONE $3) * 1000000)::int8 - 43200000000 "
    "FROM generate_series((to_timestamp($1::int8 / 1e6) AT TIME ZONE $3)::date - 1, "
    "(to_timestamp($2::int8 / 1e6) AT TIME ZONE $3)::date, interval '1 day') d";
const char* const visits_sql =
    "SELECT st.trip_id, st.stop_id, t.service_id, COALESCE(t.direction_id, 0), st.arrival_s "
    "FROM transit_stop_times st JOIN transit_trips t ON t.id = st.trip_id "
    "WHERE t.route_id = $1 AND st.arrival_s IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM transit_frequencies f WHERE f.trip_id = t.id)";
const char* const frequencies_sql =
    "SELECT f.trip_id, t.service_id, COALESCE(t.direction_id, 0), f.start_s, f.end_s, f.headway_s, "
    "st.arrival_s - first.s, st.stop_id FROM transit_frequencies f JOIN transit_trips t ON t.id = f.trip_id "
    "JOIN transit_stop_times st ON st.trip_id = f.trip_id "
    "JOIN LATERAL (SELECT min(x.departure_s) AS s FROM transit_stop_times x WHERE x.trip_id = f.trip_id) first ON true "
    "WHERE t.route_id = $1 AND st.arrival_s IS NOT NULL";

json opt(const std::optional<int>& v) { return v ? json(*v) : json(nullptr); }

// COPY text: a field with backslash, tab, line feed and carriage return escaped.
void copy_field(std::string& out, const std::string& v) {
  for (char ch : v) {
    switch (ch) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += ch;
    }
  }
}
void copy_int(std::string& out, const std::optional<int>& v) {
  if (v) out += std::to_string(*v);
  else out += "\\N";
}

// A time as COPY text (UTC, microseconds).
void copy_ts(std::string& out, std::int64_t ts_us) {
  using namespace std::chrono;
  std::int64_t secs = ts_us >= 0 ? ts_us / 1000000 : -((-ts_us + 999999) / 1000000);
  std::int64_t micros = ts_us - secs * 1000000;
  std::int64_t d = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  std::int64_t rem = secs - d * 86400;
  year_month_day ymd{sys_days{days{d}}};
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d.%06d+00", int(ymd.year()), unsigned(ymd.month()),
                        unsigned(ymd.day()), int(rem / 3600), int(rem / 60 % 60), int(rem % 60), int(micros));
  out.append(buf, std::size_t(n));
}
// A finite double, shortest text that reads back exactly.
void copy_double(std::string& out, double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// COPY of pre-formatted text, as in observations.cpp: pqxx 6.4's stream_to keeps write_raw_line
// private; tablewriter is its public (deprecated) way to send ready COPY text. `line(i, out)`
// appends row i (fields separated by tabs, no line end); lines go out in chunks of about 1 MiB.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
template <class Line>
void copy_rows(pqxx::transaction_base& tx, const char* table, const std::vector<std::string>& columns, std::size_t n,
               Line line) {
  pqxx::tablewriter stream(tx, table, columns.begin(), columns.end());
  std::string chunk;
  chunk.reserve(1 << 20);
  for (std::size_t i = 0; i < n; ++i) {
    if (!chunk.empty()) chunk += '\n';
    line(i, chunk);
    if (chunk.size() > (1 << 20) - 4096) {
      stream.write_raw_line(chunk);  // many lines at once: COPY data is a plain stream
      chunk.clear();
    }
  }
  if (!chunk.empty()) stream.write_raw_line(chunk);
  stream.complete();
}
#pragma GCC diagnostic pop

}  // namespace

task<bool> transit_store::replace_feed(gtfs_feed feed) {
  return pool_.run<bool>([feed = std::move(feed)](pqxx::connection_base& c) {
    json agencies = json::array(), stops = json::array(), shapes = json::array(), routes = json::array(),
         cal = json::array(), dates = json::array(),
         freqs = json::array();
    for (const auto& a : feed.agencies) agencies.push_back({{"id", a.id}, {"name", a.name}, {"url", a.url}, {"timezone", a.timezone}});
    for (const auto& s : feed.stops)
      stops.push_back({{"id", s.id}, {"name", s.name}, {"code", s.code}, {"location_type", s.location_type},
                       {"parent", s.parent}, {"lon", s.lon ? json(*s.lon) : json(nullptr)},
                       {"lat", s.lat ? json(*s.lat) : json(nullptr)}});
    for (const auto& s : feed.shapes) {
      json coords = json::array();
      for (const auto& p : s.points) coords.push_back({p.lon, p.lat});
      shapes.push_back({{"id", s.id}, {"geom", json{{"type", "LineString"}, {"coordinates", coords}}.dump()}});
    }
    for (const auto& r : feed.routes)
      routes.push_back({{"id", r.id}, {"agency_id", r.agency_id}, {"short_name", r.short_name},
                        {"long_name", r.long_name}, {"type", r.type}, {"color", r.color}, {"text_color", r.text_color}});
    for (const auto& x : feed.calendars)
      cal.push_back({{"service_id", x.service_id}, {"days", x.days}, {"start_date", x.start_date}, {"end_date", x.end_date}});
    for (const auto& x : feed.calendar_dates)
      dates.push_back({{"service_id", x.service_id}, {"date", x.date}, {"exception_type", x.exception_type}});
    for (const auto& f : feed.frequencies)
      freqs.push_back({{"trip_id", f.trip_id}, {"start_s", f.start_s}, {"end_s", f.end_s}, {"headway_s", f.headway_s},
                       {"exact_times", f.exact_times}});
    pqxx::work tx(c);
    // A large feed (a million stop times) takes longer than a request's statement timeout: this
    // admin-only, one-at-a-time import gets up to 10 minutes for its transaction's statements.
    tx.exec("SET LOCAL statement_timeout = '600s'");
    tx.exec(delete_feed_sql);
    tx.exec_params(insert_agencies_sql, agencies.dump());
    tx.exec_params(insert_stops_sql, stops.dump());
    tx.exec_params(insert_shapes_sql, shapes.dump());
    tx.exec_params(insert_routes_sql, routes.dump());
    // Trips and stop times (a million rows in a large feed) by COPY: no JSON text, no per-row INSERT.
    copy_rows(tx, "transit_trips", {"id", "route_id", "service_id", "shape_id", "direction_id", "headsign"},
              feed.trips.size(), [&](std::size_t i, std::string& out) {
                const auto& t = feed.trips[i];
                copy_field(out, t.id);
                out += '\t';
                copy_field(out, t.route_id);
                out += '\t';
                copy_field(out, t.service_id);
                out += '\t';
                if (t.shape_id.empty()) out += "\\N";
                else copy_field(out, t.shape_id);
                out += '\t';
                copy_int(out, t.direction_id);
                out += '\t';
                copy_field(out, t.headsign);
              });
    // The stop times' foreign keys are checked once for the whole table (ALTER TABLE ADD CONSTRAINT
    // validates with one join) rather than by a trigger per copied row: dropped, the rows copied,
    // added back under the same names, all in this transaction (the tables are already locked by
    // the TRUNCATE). A bad reference still fails the whole import.
    tx.exec(drop_stop_time_fks_sql);
    tx.exec(drop_stop_time_index_sql);
    copy_rows(tx, "transit_stop_times", {"trip_id", "stop_sequence", "stop_id", "arrival_s", "departure_s"},
              feed.stop_times.size(), [&](std::size_t i, std::string& out) {
                const auto& st = feed.stop_times[i];
                copy_field(out, st.trip_id);
                out += '\t';
                out += std::to_string(st.sequence);
                out += '\t';
                copy_field(out, st.stop_id);
                out += '\t';
                copy_int(out, st.arrival_s);
                out += '\t';
                copy_int(out, st.departure_s);
              });
    tx.exec(add_stop_time_index_sql);
    tx.exec(add_stop_time_fks_sql);
    tx.exec_params(insert_calendar_sql, cal.dump());
    tx.exec_params(insert_calendar_dates_sql, dates.dump());
    tx.exec_params(insert_frequencies_sql, freqs.dump());
    tx.exec(mark_feed_sql);
    tx.commit();
    return true;
  });
}

task<std::vector<transit_pattern>> transit_store::patterns() {
  return pool_.run<std::vector<transit_pattern>>([](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::map<std::string, std::vector<gtfs_shape_point>> shapes;
    for (const auto& row : tx.exec(shapes_sql)) {
      auto g = json::parse(row[1].as<std::string>());
      auto& pts = shapes[row[0].as<std::string>()];
      for (const auto& p : g["coordinates"]) pts.push_back({p[0].get<double>(), p[1].get<double>()});
    }
    std::map<std::string, gtfs_shape_point> stop_points;
    for (const auto& row : tx.exec(stop_points_sql))
      stop_points[row[0].as<std::string>()] = {row[1].as<double>(), row[2].as<double>()};
    std::vector<transit_pattern> out;
    std::map<std::string, std::size_t> by_key;  // route + shape + stop sequence -> pattern
    for (const auto& row : tx.exec(trips_sql)) {
      auto trip = row[0].as<std::string>(), route = row[1].as<std::string>(), shape = row[2].as<std::string>();
      int dir = row[3].as<int>();
      auto stops = json::parse(row[4].as<std::string>());
      std::string seq_key;
      for (const auto& s : stops) seq_key += s.get<std::string>() + '\x1f';
      std::string key = route + '\x1e' + shape + '\x1e' + seq_key;
      auto it = by_key.find(key);
      if (it != by_key.end()) {
        out[it->second].trip_ids.push_back(trip);
        continue;
      }
      transit_pattern p;
      p.route_id = route;
      p.key = shape.empty() ? "stops:" + trip : shape;
      p.direction = dir;
      for (const auto& s : stops) {
        auto id = s.get<std::string>();
        auto sp = stop_points.find(id);  // the join kept only stops with a location
        if (sp == stop_points.end()) continue;
        p.stop_points.push_back(sp->second);
        p.stop_ids.push_back(std::move(id));
      }
      auto sh = shapes.find(shape);
      p.line = sh != shapes.end() ? sh->second : p.stop_points;
      p.trip_ids.push_back(trip);
      by_key[key] = out.size();
      out.push_back(std::move(p));
    }
    return out;
  });
}

task<std::vector<std::string>> transit_store::routes_json() {
  return pool_.run<std::vector<std::string>>([](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<std::string> out;
    for (const auto& row : tx.exec_params(routes_sql, std::string(), 100000)) out.push_back(row[1].as<std::string>());
    return out;
  });
}

task<std::optional<std::string>> transit_store::route_json(std::string id) {
  return pool_.run<std::optional<std::string>>([id](pqxx::connection_base& c) -> std::optional<std::string> {
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params(route_sql, id);
    if (r.empty()) return std::nullopt;
    return r[0][0].as<std::string>();
  });
}

task<bool> transit_store::route_exists(std::string id) {
  return pool_.run<bool>([id](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    return !tx.exec_params(route_exists_sql, id).empty();
  });
}

task<std::vector<std::string>> transit_store::stops_near_json(double lon, double lat, double radius_m, int limit) {
  return pool_.run<std::vector<std::string>>([=](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<std::string> out;
    for (const auto& row : tx.exec_params(stops_near_sql, lon, lat, radius_m, limit)) out.push_back(row[0].as<std::string>());
    return out;
  });
}

task<bool> transit_store::write(std::vector<position_row> positions, std::vector<arrival_row> arrivals) {
  // By COPY (text made here, no JSON): a batch of up to 10,000 positions is one statement per table.
  return pool_.run<bool>([positions = std::move(positions), arrivals = std::move(arrivals)](pqxx::connection_base& c) {
    pqxx::work tx(c);
    if (!positions.empty())
      copy_rows(tx, "transit_positions",
                {"vehicle", "route_id", "trip_id", "ts", "location", "occupancy", "progress_m", "offset_m", "off_route",
                 "out_of_order"},
                positions.size(), [&](std::size_t i, std::string& out) {
                  const auto& p = positions[i];
                  copy_field(out, p.vehicle);
                  out += '\t';
                  copy_field(out, p.route_id);
                  out += '\t';
                  copy_field(out, p.trip_id);
                  out += '\t';
                  copy_ts(out, p.ts_us);
                  out += "\tSRID=4326;POINT(";
                  copy_double(out, p.lon);
                  out += ' ';
                  copy_double(out, p.lat);
                  out += ")\t";
                  copy_field(out, p.occupancy);
                  out += '\t';
                  if (p.progress_m < 0) out += "\\N";
                  else copy_double(out, p.progress_m);
                  out += '\t';
                  if (p.offset_m < 0) out += "\\N";
                  else copy_double(out, p.offset_m);
                  out += p.off_route ? "\tt" : "\tf";
                  out += p.out_of_order ? "\tt" : "\tf";
                });
    if (!arrivals.empty())
      copy_rows(tx, "transit_arrivals", {"route_id", "stop_id", "direction", "pattern", "vehicle", "trip_id", "ts"},
                arrivals.size(), [&](std::size_t i, std::string& out) {
                  const auto& a = arrivals[i];
                  copy_field(out, a.route_id);
                  out += '\t';
                  copy_field(out, a.stop_id);
                  out += '\t';
                  out += std::to_string(a.direction);
                  out += '\t';
                  copy_field(out, a.pattern);
                  out += '\t';
                  copy_field(out, a.vehicle);
                  out += '\t';
                  copy_field(out, a.trip_id);
                  out += '\t';
                  copy_ts(out, a.ts_us);
                });
    tx.commit();
    return true;
  });
}

task<std::vector<arrival_row>> transit_store::arrivals(std::string route_id, std::string stop_id, std::int64_t from_us,
                                                       std::int64_t to_us) {
  return pool_.run<std::vector<arrival_row>>([=](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<arrival_row> out;
    for (const auto& row : tx.exec_params(arrivals_sql, route_id, stop_id, from_us, to_us))
      out.push_back({route_id, row[0].as<std::string>(), row[3].as<std::string>(), row[4].as<std::string>(),
                     row[2].as<std::string>(), row[1].as<int>(), row[5].as<std::int64_t>()});
    return out;
  });
}

task<std::vector<transit_store::service_day>> transit_store::service_days(std::int64_t from_us, std::int64_t to_us,
                                                                           std::string timezone) {
  return pool_.run<std::vector<service_day>>([=](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<service_day> out;
    for (const auto& row : tx.exec_params(days_sql, from_us, to_us, timezone)) {
      service_day d{row[0].as<std::string>(), row[1].as<std::int64_t>(), {}};
      for (const auto& s : tx.exec_params(services_sql, d.date)) d.services.push_back(s[0].as<std::string>());
      out.push_back(std::move(d));
    }
    return out;
  });
}

task<std::vector<scheduled_visit>> transit_store::scheduled_visits(std::string route_id) {
  return pool_.run<std::vector<scheduled_visit>>([route_id](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<scheduled_visit> out;
    for (const auto& row : tx.exec_params(visits_sql, route_id))
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<int>(),
                     row[4].as<int>()});
    return out;
  });
}

task<std::vector<std::pair<std::string, std::string>>> transit_store::open_bunching_alerts() {
  return pool_.run<std::vector<std::pair<std::string, std::string>>>([](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& row : tx.exec("SELECT rule_id, subject FROM alerts WHERE kind = 'bunching' AND state <> 'resolved' "
                                   "AND cleared_at IS NULL ORDER BY id"))
      out.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
    return out;
  });
}

task<std::vector<scheduled_frequency>> transit_store::scheduled_frequencies(std::string route_id) {
  return pool_.run<std::vector<scheduled_frequency>>([route_id](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<scheduled_frequency> out;
    for (const auto& row : tx.exec_params(frequencies_sql, route_id))
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<int>(), row[3].as<int>(),
                     row[4].as<int>(), row[5].as<int>(), row[6].is_null() ? 0 : row[6].as<int>(),
                     row[7].as<std::string>()});
    return out;
  });
}

}  // namespace maeul::storage
