// The recommended plan of one route direction for one day: a headway per period from the forecast
// boardings along the route, with the expected load and wait, and its GTFS frequencies.txt. Pure:
// no I/O, no clock.
//
// The algorithm (docs/transit.md, "Recommended headways"), per period:
//
// - On-board load per hour after each stop k (riders/h on the link k -> k+1): the sum of
//   boardings minus alightings up to k when alightings are given; otherwise riders are assumed to
//   alight with equal probability at each later stop, so a boarding at stop i is still on board
//   after stop k (i <= k < n-1) with probability (n-1-k)/(n-1-i). The period's design load D is
//   the largest link load over its hours (the busiest hour at the busiest link).
// - Capacity bound: h_cap = 60 * capacity * target_load_factor / D minutes (infinite when D = 0).
//   Wait bound: h_wait = 2 * max_wait (average wait h/2 for regular headways).
//   The policy headway h = min(h_cap, h_wait), rounded down to the grid, not below min_headway.
//   When even the smallest allowed headway is above h_cap, capacity is not met (flagged).
// - Vehicle bound (vehicles > 0 and cycle > 0): h >= cycle / vehicles, rounded up to the grid.
// - capacity_met is h <= h_cap (expected load within the target); wait_met is h <= h_wait.
// - Reported: expected load per vehicle at the busiest link D * h / 60, its load factor, the
//   average wait h / 2, and the vehicles needed ceil(cycle / h).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace maeul::transit {

// One stop of the route direction, in stop order.
struct stop_demand {
  std::string stop_id;
  std::array<double, 24> boardings{};                 // forecast riders per hour (NaN read as 0)
  std::optional<std::array<double, 24>> alightings;   // when known (all stops, or none, must have it)
};

// Hours [start_hour, end_hour) of the day, 0 <= start < end <= 24.
struct period {
  std::string name;
  int start_hour = 0;
  int end_hour = 24;
};

struct plan_params {
  double vehicle_capacity = 80;     // riders per vehicle (seated + standing), > 0
  double target_load_factor = 0.8;  // (0, 1.5]: design load per vehicle / capacity
  double max_wait_min = 10;         // policy: average wait never above this, so h <= 2 * max_wait
  double min_headway_min = 2;       // > 0: never plan vehicles closer than this
  int vehicles = 0;                 // available vehicles for the route; 0: not limited
  double cycle_min = 0;             // round-trip time incl. layover, minutes; 0: unknown
  // Headways allowed, minutes, ascending; empty: whole minutes. The result is always on the grid,
  // or min_headway / the vehicle bound itself when no grid value satisfies them.
  std::vector<double> headway_grid{2, 3, 4, 5, 6, 7.5, 8, 10, 12, 15, 20, 30, 60};
};

// Empty when valid, else what is wrong (for a 400/422 answer).
std::optional<std::string> validate(const plan_params& p);

// The service periods of a day by default: 05-07 early, 07-09 am peak, 09-17 midday, 17-19 pm peak,
// 19-24 evening (no service 00-05).
std::vector<period> default_periods();

struct period_plan {
  std::string name;
  int start_hour = 0;
  int end_hour = 0;
  double headway_min = 0;          // recommended headway
  double design_load_per_h = 0;    // D: riders/h on the busiest link in the busiest hour
  std::string busiest_stop;        // the stop after which that link starts ("" when D = 0)
  int busiest_hour = 0;            // the hour of D
  double expected_load = 0;        // riders per vehicle on that link: D * headway / 60
  double load_factor = 0;          // expected_load / capacity
  double avg_wait_min = 0;         // headway / 2
  int vehicles_needed = 0;         // ceil(cycle / headway); 0 when the cycle is unknown
  double boardings = 0;            // forecast boardings in the period, all stops
  const char* bound = "";          // what set the headway: "capacity", "wait", "vehicles", "min_headway"
  bool capacity_met = true;        // false: expected_load above capacity * target (too few vehicles)
  bool wait_met = true;            // false: the wait above max_wait (too few vehicles)
};

// The plan for one route direction and day. Stops in route order; periods as given (sorted,
// non-overlapping, each 0 <= start < end <= 24), or default_periods() when empty; with
// `hourly_merge`, each hour of each period is planned alone and adjacent hours of equal headway are
// merged into one period named "<name>" (several periods may then share a name).
// Throws std::invalid_argument when p is invalid, a period is malformed, or alightings are given
// for some stops only. 40 stops x 24 h plans in microseconds.
std::vector<period_plan> plan_route(const std::vector<stop_demand>& stops, const std::vector<period>& periods,
                                    const plan_params& p, bool hourly_merge = false);

// The on-board load per hour on each link (riders/h after stop k, k = 0..n-1; the last is 0),
// as plan_route computes it. Same contract as plan_route for the stops.
std::vector<std::array<double, 24>> link_loads(const std::vector<stop_demand>& stops);

// One row of GTFS frequencies.txt; times in seconds since the service day's noon minus 12 h, so
// past 24:00 (86400) is allowed.
struct frequency_row {
  std::string trip_id;
  std::int64_t start_s = 0;
  std::int64_t end_s = 0;
  std::int64_t headway_s = 0;
  bool exact_times = false;
};

// The rows of a plan for one template trip: one per period, headway rounded to whole seconds.
std::vector<frequency_row> frequencies_of(const std::vector<period_plan>& plan, const std::string& trip_id);

// "HH:MM:SS" with hours >= 24 allowed ("05:00:00", "25:30:00"), as GTFS wants; s >= 0.
std::string gtfs_time(std::int64_t s);

// The frequencies.txt file: the header line trip_id,start_time,end_time,headway_secs,exact_times
// and one CRLF-free line per row ("\n" ends each line); a trip_id with a comma, quote or newline
// is quoted (RFC 4180).
std::string frequencies_txt(const std::vector<frequency_row>& rows);

}  // namespace maeul::transit
