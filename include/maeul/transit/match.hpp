// Matching vehicle positions to a route's geometry (pure): positions projected onto each pattern's
// polyline in local equirectangular metres (fine at city scale), progress along it, and stop
// arrivals detected when progress passes a stop's distance between two positions (the time
// interpolated). No I/O, no clock: time comes in with the positions.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "maeul/storage/transit.hpp"

namespace maeul::transit {

struct xy {
  double x = 0, y = 0;
};

// Degrees to metres around (lon0, lat0).
struct local_projection {
  double lon0 = 0, lat0 = 0, kx = 1, ky = 1;
  static local_projection around(double lon0, double lat0);
  xy to_xy(double lon, double lat) const { return {(lon - lon0) * kx, (lat - lat0) * ky}; }
};

struct polyline {
  std::vector<xy> pts;
  std::vector<double> cum;  // distance from the start to each point
  static polyline of(std::vector<xy> pts);
  double length() const { return cum.empty() ? 0 : cum.back(); }
};

struct projection_result {
  double along_m = 0;   // distance along the line to the nearest point
  double offset_m = std::numeric_limits<double>::infinity();  // distance from the line
};

// The nearest point of `line` to `p` among the segments ending after `from_m`. An empty line, or
// one point: offset is the distance to that point, along 0.
projection_result project(const polyline& line, xy p, double from_m = 0);

struct pattern_geometry {
  std::string route_id, key;
  int direction = 0;
  polyline line;
  std::vector<std::string> stop_ids;
  std::vector<double> stop_along;  // non-decreasing: each stop projected after the one before
};

// Every route's patterns in memory, indexed by route and by trip. Bounded by what the feed holds
// (the caller refuses feeds past its caps before building).
struct network {
  local_projection proj;
  std::vector<pattern_geometry> patterns;
  std::unordered_map<std::string, std::vector<std::size_t>> by_route;
  std::unordered_map<std::string, std::size_t> by_trip;
  bool has_route(const std::string& id) const { return by_route.count(id) > 0; }
};
network build_network(const std::vector<storage::transit_pattern>& patterns);

struct match_options {
  double max_offset_m = 100;   // farther from every pattern of its route: off route
  double jitter_m = 30;        // a backward move up to this is noise (ignored for arrivals)
  double restart_m = 300;      // a backward move past this starts a new run (a new trip)
  double first_fix_m = 30;     // a first fix up to this past a stop counts as its arrival
};

// What the matcher remembers of one vehicle.
struct vehicle_state {
  std::string route;
  std::size_t pattern = std::numeric_limits<std::size_t>::max();
  double along = -1;
  std::int64_t ts_us = 0;  // the newest position used
  double speed_mps = -1;   // along the pattern between the last two positions that moved it; -1: unknown
};

struct position_input {
  std::string vehicle, route, trip;
  double lon = 0, lat = 0;
  std::int64_t ts_us = 0;
};

struct match_result {
  double progress_m = -1, offset_m = -1;
  bool off_route = false, out_of_order = false;
  std::size_t pattern = std::numeric_limits<std::size_t>::max();
  std::vector<storage::arrival_row> arrivals;
};

// Advances `state` by one position. A position not newer than the vehicle's last used one is
// out of order: matched for display, never used for arrivals, the state unchanged. An off-route
// position changes nothing but the result. Arrivals: each stop whose distance lies in
// (previous progress, new progress], its time interpolated between the two positions.
match_result advance(const network& net, vehicle_state& state, const position_input& p, const match_options& o = {});

}  // namespace maeul::transit
