// Zones, sensors and facilities: SQL with bound parameters only; JSON built by PostgreSQL with the
// fragments of wire_sql.hpp.
#include "maeul/storage/registry.hpp"

#include <pqxx/pqxx>

#include "maeul/storage/db_pool.hpp"
#include "wire_sql.hpp"

namespace maeul::storage {
namespace {

using domain::make_problem;
using domain::problem_kind;

std::string str(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// ---- zones
const std::string zone_json = wire::zone_object() + "::text";
const std::string zone_validity_sql = "SELECT ST_IsValidReason(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326))";
const std::string zone_insert_sql =
    "INSERT INTO zones (id, name, boundary, area_km2, population, households, attributes) "
    "SELECT $1, $2::jsonb, g.geom, ST_Area(g.geom::geography) / 1e6, $4, $5, $6::jsonb "
    "FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON($3), 4326) AS geom) g RETURNING " + zone_json;
const std::string zone_update_sql =
    "UPDATE zones SET name = $2::jsonb, boundary = g.geom, area_km2 = ST_Area(g.geom::geography) / 1e6, "
    "population = $4, households = $5, attributes = $6::jsonb, updated_at = now() "
    "FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON($3), 4326) AS geom) g WHERE id = $1 RETURNING " + zone_json;
const std::string zone_get_sql = "SELECT " + zone_json + " FROM zones WHERE id = $1";
// A principal's scope (storage::scope) over `zone_col`/`domain_col`, with its zones, domains and
// welfare flag bound at $z, $z+1, $z+2 (domain_col empty: the table has no domain).
std::string scope_sql(const std::string& zone_col, const std::string& domain_col, int z) {
  auto p = [](int n) { return "$" + std::to_string(n); };
  std::string out = " AND (" + p(z) + " = '' OR " + zone_col + " = ANY(string_to_array(" + p(z) + ", ',')))";
  if (!domain_col.empty())
    out += " AND (" + p(z + 1) + " = '' OR " + domain_col + " = ANY(string_to_array(" + p(z + 1) + ", ',')))" +
           " AND (" + p(z + 2) + "::boolean OR " + domain_col + " <> 'welfare')";
  return out;
}

const std::string zone_list_sql =
    "SELECT id, " + zone_json + " FROM zones WHERE id > $1" + scope_sql("id", "", 3) + " ORDER BY id LIMIT $2";
const std::string zone_delete_sql = "DELETE FROM zones WHERE id = $1 RETURNING id";

// ---- sensors and facilities: the zone is given ($7) or derived from the point
const std::string derive_zone =
    "CASE WHEN $7 = '' THEN (SELECT z.id FROM zones z WHERE ST_Covers(z.boundary, p.g) ORDER BY z.id LIMIT 1) "
    "ELSE $7 END";
const std::string point_from = " FROM (SELECT ST_SetSRID(ST_MakePoint($5::float8, $6::float8), 4326) AS g) p ";
const std::string near_point = "ST_SetSRID(ST_MakePoint($6::float8, $7::float8), 4326)::geography";

const std::string sensor_json = wire::sensor_object() + "::text";
const std::string sensor_insert_sql =
    "INSERT INTO sensors (id, domain, kind, name, location, zone_id, metrics, attributes) "
    "SELECT $1, $2, $3, NULLIF($4, ''), p.g, " + derive_zone + ", $8::jsonb, $9::jsonb" + point_from +
    "RETURNING " + sensor_json;
const std::string sensor_update_sql =
    "UPDATE sensors SET domain = $2, kind = $3, name = NULLIF($4, ''), location = p.g, zone_id = " + derive_zone +
    ", metrics = $8::jsonb, attributes = $9::jsonb, updated_at = now()" + point_from + "WHERE id = $1 RETURNING " +
    sensor_json;
const std::string sensor_get_sql = "SELECT " + sensor_json + " FROM sensors WHERE id = $1";
const std::string sensor_where =
    " WHERE ($1 = '' OR domain = $1) AND ($2 = '' OR zone_id = $2) AND ($3 = '' OR kind = $3) AND id > $4";
const std::string sensor_list_sql =
    "SELECT id, " + sensor_json + " FROM sensors" + sensor_where + scope_sql("zone_id", "domain", 6) +
    " ORDER BY id LIMIT $5";
const std::string sensor_near_sql =
    "SELECT id, " + wire::sensor_object_near(near_point) + "::text FROM sensors" + sensor_where +
    scope_sql("zone_id", "domain", 9) + " AND ST_DWithin(location::geography, " + near_point +
    ", $8::float8) ORDER BY id LIMIT $5";
const std::string sensor_delete_sql = "DELETE FROM sensors WHERE id = $1 RETURNING id";

const std::string facility_json = wire::facility_object() + "::text";
// parameters: $1 id, $2 category, $3 name, $4 unused ('' kept for the shared derive_zone numbering), $5 lon, $6 lat, $7 zone, $8 attributes
const std::string facility_insert_sql =
    "INSERT INTO facilities (id, category, name, location, zone_id, attributes) "
    "SELECT $1, $2, $3::jsonb, p.g, " + derive_zone + ", $8::jsonb" + point_from + "WHERE $4 = '' RETURNING " +
    facility_json;
const std::string facility_update_sql =
    "UPDATE facilities SET category = $2, name = $3::jsonb, location = p.g, zone_id = " + derive_zone +
    ", attributes = $8::jsonb, updated_at = now()" + point_from + "WHERE id = $1 AND $4 = '' RETURNING " +
    facility_json;
const std::string facility_get_sql = "SELECT " + facility_json + " FROM facilities WHERE id = $1";
const std::string facility_list_sql =
    "SELECT id, " + facility_json +
    " FROM facilities WHERE ($1 = '' OR category = $1) AND ($2 = '' OR zone_id = $2) AND id > $3" +
    scope_sql("zone_id", "", 5) + " ORDER BY id LIMIT $4";
const std::string facility_delete_sql = "DELETE FROM facilities WHERE id = $1 RETURNING id";

std::string name_json(const domain::localized_name& n) {
  std::string out = "{";
  auto esc = [](const std::string& s) {
    std::string o = "\"";
    for (unsigned char c : s) {
      if (c == '"' || c == '\\') { o += '\\'; o += char(c); }
      else if (c < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", c); o += b; }
      else o += char(c);
    }
    return o + "\"";
  };
  bool first = true;
  if (!n.ko.empty()) { out += "\"ko\":" + esc(n.ko); first = false; }
  if (!n.en.empty()) { out += std::string(first ? "" : ",") + "\"en\":" + esc(n.en); }
  return out + "}";
}

page to_page(const pqxx::result& r, int limit) {
  page p;
  for (int i = 0; i < int(r.size()) && i < limit; ++i) p.items.push_back(r[i][1].as<std::string>());
  if (int(r.size()) > limit) p.last_id = r[limit - 1][0].as<std::string>();
  return p;
}

outcome<std::string> one_or_not_found(const pqxx::result& r, const char* what) {
  if (r.empty()) return make_problem(problem_kind::not_found, std::string("no ") + what + " with this id");
  return r[0][0].as<std::string>();
}

outcome<std::string> zone_problem(pqxx::connection_base& c, const domain::zone_input& z) {
  pqxx::read_transaction tx(c);
  std::string reason = tx.exec_params1(zone_validity_sql, z.boundary_geojson)[0].as<std::string>();
  if (reason != "Valid Geometry")
    return domain::invalid({{"/boundary", {}, "is not a valid polygon: " + reason}});
  return std::string();
}

outcome<std::string> write_zone(pqxx::connection_base& c, const domain::zone_input& z, bool create) {
  auto check = zone_problem(c, z);
  if (!check) return check;
  try {
    pqxx::work tx(c);
    auto r = tx.exec_params(create ? zone_insert_sql : zone_update_sql, z.id, name_json(z.name),
                            z.boundary_geojson, z.population, z.households, z.attributes_json);
    tx.commit();
    return one_or_not_found(r, "zone");
  } catch (const pqxx::unique_violation&) {
    return make_problem(problem_kind::conflict, "a zone with id \"" + z.id + "\" exists already");
  }
}

outcome<std::string> write_point_thing(pqxx::connection_base& c, const std::string& sql_text, const char* what,
                                       const std::string& id, const std::string& a, const std::string& b,
                                       const std::string& cc, const domain::point& loc,
                                       const std::optional<std::string>& zone, const std::string& more,
                                       const std::string& attributes, bool has_more) {
  try {
    pqxx::work tx(c);
    pqxx::result r = has_more ? tx.exec_params(sql_text, id, a, b, cc, str(loc.lon), str(loc.lat), zone.value_or(""),
                                               more, attributes)
                              : tx.exec_params(sql_text, id, a, b, cc, str(loc.lon), str(loc.lat), zone.value_or(""),
                                               attributes);
    tx.commit();
    return one_or_not_found(r, what);
  } catch (const pqxx::unique_violation&) {
    return make_problem(problem_kind::conflict, std::string("a ") + what + " with id \"" + id + "\" exists already");
  } catch (const pqxx::foreign_key_violation&) {
    return domain::invalid({{"/zone", {}, "no zone with id \"" + zone.value_or("") + "\""}});
  }
}

outcome<bool> remove(pqxx::connection_base& c, const std::string& sql_text, const std::string& id,
                     const char* what) {
  try {
    pqxx::work tx(c);
    auto r = tx.exec_params(sql_text, id);
    tx.commit();
    if (r.empty()) return make_problem(problem_kind::not_found, std::string("no ") + what + " with this id");
    return true;
  } catch (const pqxx::foreign_key_violation&) {
    return make_problem(problem_kind::conflict,
                        std::string("the ") + what + " is still referenced by sensors or facilities");
  }
}

outcome<std::string> get_one(pqxx::connection_base& c, const std::string& sql_text, const std::string& id,
                             const char* what) {
  pqxx::read_transaction tx(c);
  return one_or_not_found(tx.exec_params(sql_text, id), what);
}

}  // namespace

void registry::forget_zone(const std::string& id) {
  std::lock_guard lock(zone_mutex_);
  zone_cache_.erase(id);
  ++zone_generation_;
}
// Zone writes and reads stay plain functions returning the pool's awaitable (no coroutine frames of
// their own); the cache is kept by the database job itself, after its statement ran.
task<outcome<std::string>> registry::create_zone(domain::zone_input z) {
  return pool_.run<outcome<std::string>>([this, z](pqxx::connection_base& c) {
    auto res = write_zone(c, z, true);
    forget_zone(z.id);
    return res;
  });
}
task<outcome<std::string>> registry::replace_zone(domain::zone_input z) {
  return pool_.run<outcome<std::string>>([this, z](pqxx::connection_base& c) {
    auto res = write_zone(c, z, false);
    forget_zone(z.id);
    return res;
  });
}
namespace {
task<outcome<std::string>> ready(std::string json) { co_return outcome<std::string>(std::move(json)); }
}  // namespace
task<outcome<std::string>> registry::get_zone(std::string id) {
  auto now = std::chrono::steady_clock::now();
  std::uint64_t gen = 0;
  {
    std::lock_guard lock(zone_mutex_);
    if (auto it = zone_cache_.find(id); it != zone_cache_.end() && now - it->second.at < zone_cache_ttl)
      return ready(it->second.json);
    gen = zone_generation_;
  }
  return pool_.run<outcome<std::string>>([this, id, now, gen](pqxx::connection_base& c) {
    auto res = get_one(c, zone_get_sql, id, "zone");
    if (res) {
      std::lock_guard lock(zone_mutex_);
      if (gen == zone_generation_) {  // no zone write since the read began
        if (zone_cache_.size() >= zone_cache_max) zone_cache_.clear();
        zone_cache_[id] = cached_zone{res.value(), now};
      }
    }
    return res;
  });
}
task<outcome<bool>> registry::delete_zone(std::string id) {
  return pool_.run<outcome<bool>>([this, id](pqxx::connection_base& c) {
    auto res = remove(c, zone_delete_sql, id, "zone");
    forget_zone(id);
    return res;
  });
}
task<page> registry::list_zones(page_request req, scope sc) {
  return pool_.run<page>([req, sc](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    return to_page(tx.exec_params(zone_list_sql, req.after, req.limit + 1, sc.zones), req.limit);
  });
}

task<outcome<std::string>> registry::create_sensor(domain::sensor_input s) {
  return pool_.run<outcome<std::string>>([s](pqxx::connection_base& c) {
    return write_point_thing(c, sensor_insert_sql, "sensor", s.id, s.domain, s.kind, s.name, s.location, s.zone,
                             s.metrics_json, s.attributes_json, true);
  });
}
task<outcome<std::string>> registry::replace_sensor(domain::sensor_input s) {
  return pool_.run<outcome<std::string>>([s](pqxx::connection_base& c) {
    return write_point_thing(c, sensor_update_sql, "sensor", s.id, s.domain, s.kind, s.name, s.location, s.zone,
                             s.metrics_json, s.attributes_json, true);
  });
}
task<outcome<std::string>> registry::get_sensor(std::string id) {
  return pool_.run<outcome<std::string>>(
      [id](pqxx::connection_base& c) { return get_one(c, sensor_get_sql, id, "sensor"); });
}
task<outcome<bool>> registry::delete_sensor(std::string id) {
  return pool_.run<outcome<bool>>(
      [id](pqxx::connection_base& c) { return remove(c, sensor_delete_sql, id, "sensor"); });
}
task<page> registry::list_sensors(sensor_filter f, page_request req, scope sc) {
  return pool_.run<page>([f, req, sc](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    if (f.near)
      return to_page(tx.exec_params(sensor_near_sql, f.domain, f.zone, f.kind, req.after, req.limit + 1,
                                    str(f.near->lon), str(f.near->lat), str(f.near->metres), sc.zones, sc.domains,
                                    sc.welfare),
                     req.limit);
    return to_page(tx.exec_params(sensor_list_sql, f.domain, f.zone, f.kind, req.after, req.limit + 1, sc.zones,
                                  sc.domains, sc.welfare),
                   req.limit);
  });
}

task<outcome<std::string>> registry::create_facility(domain::facility_input f) {
  return pool_.run<outcome<std::string>>([f](pqxx::connection_base& c) {
    return write_point_thing(c, facility_insert_sql, "facility", f.id, f.category, name_json(f.name), "", f.location,
                             f.zone, "", f.attributes_json, false);
  });
}
task<outcome<std::string>> registry::replace_facility(domain::facility_input f) {
  return pool_.run<outcome<std::string>>([f](pqxx::connection_base& c) {
    return write_point_thing(c, facility_update_sql, "facility", f.id, f.category, name_json(f.name), "", f.location,
                             f.zone, "", f.attributes_json, false);
  });
}
task<outcome<std::string>> registry::get_facility(std::string id) {
  return pool_.run<outcome<std::string>>(
      [id](pqxx::connection_base& c) { return get_one(c, facility_get_sql, id, "facility"); });
}
task<outcome<bool>> registry::delete_facility(std::string id) {
  return pool_.run<outcome<bool>>(
      [id](pqxx::connection_base& c) { return remove(c, facility_delete_sql, id, "facility"); });
}
task<page> registry::list_facilities(facility_filter f, page_request req, scope sc) {
  return pool_.run<page>([f, req, sc](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    return to_page(tx.exec_params(facility_list_sql, f.category, f.zone, req.after, req.limit + 1, sc.zones),
                   req.limit);
  });
}

task<bool> registry::ping() {
  return pool_.run<bool>([](pqxx::connection_base& c) {
    pqxx::nontransaction tx(c);
    return tx.exec("SELECT 1")[0][0].as<int>() == 1;
  });
}

}  // namespace maeul::storage
