// The bus network (a GTFS feed), vehicle positions and stop arrivals in PostgreSQL + PostGIS
// (migration 0017). The plain types here are what the transit module parses and matches.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "maeul/asio/task.hpp"
#include "maeul/domain/problem.hpp"

namespace maeul::storage {

class db_pool;

struct gtfs_agency { std::string id, name, url, timezone; };
struct gtfs_stop {
  std::string id, name, code, parent;
  int location_type = 0;
  std::optional<double> lon, lat;
};
struct gtfs_route {
  std::string id, agency_id, short_name, long_name, color, text_color;
  int type = 3;
};
struct gtfs_trip {
  std::string id, route_id, service_id, shape_id, headsign;
  std::optional<int> direction_id;
};
struct gtfs_stop_time {
  std::string trip_id, stop_id;
  int sequence = 0;
  std::optional<int> arrival_s, departure_s;  // seconds after the service day's noon minus 12 h; may pass 24 h
};
struct gtfs_calendar {
  std::string service_id;
  int days = 0;  // bit 0 Monday .. bit 6 Sunday
  std::string start_date, end_date;  // YYYY-MM-DD
};
struct gtfs_calendar_date { std::string service_id, date; int exception_type = 1; };
struct gtfs_frequency { std::string trip_id; int start_s = 0, end_s = 0, headway_s = 0, exact_times = 0; };
struct gtfs_shape_point { double lon = 0, lat = 0; };
struct gtfs_shape { std::string id; std::vector<gtfs_shape_point> points; };

struct gtfs_feed {
  std::vector<gtfs_agency> agencies;
  std::vector<gtfs_stop> stops;
  std::vector<gtfs_route> routes;
  std::vector<gtfs_trip> trips;
  std::vector<gtfs_stop_time> stop_times;
  std::vector<gtfs_calendar> calendars;
  std::vector<gtfs_calendar_date> calendar_dates;
  std::vector<gtfs_frequency> frequencies;
  std::vector<gtfs_shape> shapes;
};

// One route's geometry for matching: the shape (or the line through its stops) and its stops in
// order, for each distinct pattern (shape or stop sequence) of its trips.
struct transit_pattern {
  std::string route_id, key;  // key: the shape id, or "stops:<first trip id>"
  int direction = 0;
  std::vector<gtfs_shape_point> line;
  std::vector<std::string> stop_ids;
  std::vector<gtfs_shape_point> stop_points;
  std::vector<std::string> trip_ids;
};

struct position_row {
  std::string vehicle, route_id, trip_id, occupancy;
  double lon = 0, lat = 0;
  std::int64_t ts_us = 0;
  double progress_m = -1;  // along the matched pattern; -1 when off route
  double offset_m = -1;    // distance from the pattern's line
  bool off_route = false;
  bool out_of_order = false;
};
struct arrival_row {
  std::string route_id, stop_id, vehicle, trip_id, pattern;
  int direction = 0;
  std::int64_t ts_us = 0;
};

// A scheduled visit: for the metrics (times in seconds after the service day's midnight).
struct scheduled_visit {
  std::string trip_id, stop_id, service_id;
  int direction = 0;
  int time_s = 0;
};
struct scheduled_frequency {
  std::string trip_id, service_id;
  int direction = 0;
  int start_s = 0, end_s = 0, headway_s = 0;
  int offset_s = 0;  // the stop's time after the trip's first stop
  std::string stop_id;
};

class transit_store {
 public:
  explicit transit_store(db_pool& pool) : pool_(pool) {}
  // Replaces the whole feed in one transaction; throws on a database error (nothing changed).
  task<bool> replace_feed(gtfs_feed feed);
  // Every pattern of every route (one per distinct shape, or stop sequence, of its trips).
  task<std::vector<transit_pattern>> patterns();
  // JSON texts for the API.
  task<std::vector<std::string>> routes_json();
  task<std::optional<std::string>> route_json(std::string id);  // with stops in order and shape
  task<std::vector<std::string>> stops_near_json(double lon, double lat, double radius_m, int limit);
  task<bool> route_exists(std::string id);
  // Writes a batch of positions and arrivals in one transaction.
  task<bool> write(std::vector<position_row> positions, std::vector<arrival_row> arrivals);
  // Arrivals of a route in [from, to), ordered by (stop, direction, time).
  task<std::vector<arrival_row>> arrivals(std::string route_id, std::string stop_id, std::int64_t from_us,
                                          std::int64_t to_us);
  // The service days (in `timezone`) overlapping [from, to], from the day before (times past 24:00):
  // each with its midnight (noon minus 12 h) and the service ids active then (calendar, calendar_dates).
  struct service_day {
    std::string date;
    std::int64_t midnight_us = 0;
    std::vector<std::string> services;
  };
  task<std::vector<service_day>> service_days(std::int64_t from_us, std::int64_t to_us, std::string timezone);
  task<std::vector<scheduled_visit>> scheduled_visits(std::string route_id);
  task<std::vector<scheduled_frequency>> scheduled_frequencies(std::string route_id);
  // The open (not resolved, not cleared) bunching alerts as (rule id, subject), oldest first.
  task<std::vector<std::pair<std::string, std::string>>> open_bunching_alerts();

 private:
  db_pool& pool_;
};

}  // namespace maeul::storage
