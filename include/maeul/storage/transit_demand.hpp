// Reads for the bus demand forecast (docs/transit.md, "Demand forecast"): the hourly boardings of
// the stops from the `bus_boardings` sensors' readings, the stops' names, and local dates of the
// city's time zone. Read only; bound parameters only.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "maeul/asio/task.hpp"

namespace maeul::storage {

class db_pool;

// Boardings of one stop in one local hour (hours since 1970-01-01 00:00 local time).
struct stop_hour_boardings {
  std::string stop_id;
  std::int64_t local_hour = 0;
  double count = 0;
};
struct stop_sensor {
  std::string stop_id, sensor_id;
  std::string zone_id;  // the sensor's zone; "" when it has none
};

class transit_demand_store {
 public:
  explicit transit_demand_store(db_pool& pool) : pool_(pool) {}

  // The readings of metric `boardings` of the sensors of kind `bus_boardings` whose
  // attributes.gtfs_stop_id is one of `stop_ids`, summed per stop and local hour, over the local
  // days [first_day, end_day) (days since 1970-01-01 in `timezone`). A reading counts the
  // boardings of the hour before it (sensors.json): a reading at ts counts towards the local hour
  // holding ts minus 1 microsecond, so the reading at 08:00 is the 07-08 hour.
  task<std::vector<stop_hour_boardings>> boardings(std::vector<std::string> stop_ids, std::int64_t first_day,
                                                   std::int64_t end_day, std::string timezone);
  // The boardings sensor of each stop that has one (the smallest id when several do), with its zone.
  task<std::vector<stop_sensor>> sensors(std::vector<std::string> stop_ids);
  // (stop id, name) of the given stops that exist.
  task<std::vector<std::pair<std::string, std::string>>> stop_names(std::vector<std::string> stop_ids);
  // The local day (days since 1970-01-01) holding `epoch_us` in `timezone`.
  task<std::int64_t> local_day(std::int64_t epoch_us, std::string timezone);

 private:
  db_pool& pool_;
};

}  // namespace maeul::storage
