// Reads for the bus demand forecast: boardings per stop and local hour, the boardings sensors and
// names of stops, the city's local day. Every input is a bound parameter; stop id lists travel as
// one JSON array.
#include "maeul/storage/transit_demand.hpp"

#include <pqxx/pqxx>
#include <nlohmann/json.hpp>

#include "maeul/storage/db_pool.hpp"

namespace maeul::storage {
namespace {

// $1 stop ids (JSON array), $2 first local day, $3 end local day (exclusive), $4 time zone.
const char* const boardings_sql =
    "WITH st AS (SELECT jsonb_array_elements_text($1::jsonb) AS stop_id), "
    "s AS (SELECT se.id AS series_id, sn.attributes->>'gtfs_stop_id' AS stop_id FROM sensors sn "
    "JOIN series se ON se.sensor_id = sn.id AND se.metric = 'boardings' "
    "WHERE sn.kind = 'bus_boardings' AND sn.attributes->>'gtfs_stop_id' IN (SELECT stop_id FROM st)) "
    "SELECT s.stop_id, floor(extract(epoch FROM ((o.ts - interval '1 microsecond') AT TIME ZONE $4)) / 3600)::bigint, "
    "sum(o.value) FROM s JOIN observations o ON o.series_id = s.series_id "
    "WHERE o.ts > ((date '1970-01-01' + $2::int) AT TIME ZONE $4) "
    "AND o.ts <= ((date '1970-01-01' + $3::int) AT TIME ZONE $4) "
    "GROUP BY 1, 2 ORDER BY 1, 2";
const char* const sensors_sql =
    "SELECT DISTINCT ON (sn.attributes->>'gtfs_stop_id') sn.attributes->>'gtfs_stop_id', sn.id, "
    "coalesce(sn.zone_id, '') FROM sensors sn "
    "WHERE sn.kind = 'bus_boardings' AND sn.attributes->>'gtfs_stop_id' IN "
    "(SELECT jsonb_array_elements_text($1::jsonb)) ORDER BY sn.attributes->>'gtfs_stop_id', sn.id";
const char* const names_sql =
    "SELECT id, name FROM transit_stops WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb))";
const char* const local_day_sql =
    "SELECT ((to_timestamp($1::bigint / 1000000.0) AT TIME ZONE $2)::date - date '1970-01-01')::bigint";

std::string json_list(const std::vector<std::string>& ids) { return nlohmann::json(ids).dump(); }

}  // namespace

task<std::vector<stop_hour_boardings>> transit_demand_store::boardings(std::vector<std::string> stop_ids,
                                                                       std::int64_t first_day, std::int64_t end_day,
                                                                       std::string timezone) {
  auto ids = json_list(stop_ids);
  return pool_.run<std::vector<stop_hour_boardings>>([ids, first_day, end_day, timezone](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<stop_hour_boardings> out;
    for (const auto& row : tx.exec_params(boardings_sql, ids, first_day, end_day, timezone))
      out.push_back({row[0].as<std::string>(), row[1].as<std::int64_t>(), row[2].as<double>()});
    return out;
  });
}

task<std::vector<stop_sensor>> transit_demand_store::sensors(std::vector<std::string> stop_ids) {
  auto ids = json_list(stop_ids);
  return pool_.run<std::vector<stop_sensor>>([ids](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<stop_sensor> out;
    for (const auto& row : tx.exec_params(sensors_sql, ids))
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>()});
    return out;
  });
}

task<std::vector<std::pair<std::string, std::string>>> transit_demand_store::stop_names(
    std::vector<std::string> stop_ids) {
  auto ids = json_list(stop_ids);
  return pool_.run<std::vector<std::pair<std::string, std::string>>>([ids](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& row : tx.exec_params(names_sql, ids))
      out.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
    return out;
  });
}

task<std::int64_t> transit_demand_store::local_day(std::int64_t epoch_us, std::string timezone) {
  return pool_.run<std::int64_t>([epoch_us, timezone](pqxx::connection_base& c) {
    pqxx::read_transaction tx(c);
    return tx.exec_params(local_day_sql, epoch_us, timezone)[0][0].as<std::int64_t>();
  });
}

}  // namespace maeul::storage
