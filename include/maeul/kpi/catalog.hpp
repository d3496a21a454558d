// The city KPI catalog: what each indicator measures, its unit, direction, target and the
// standard it follows. Pure data and arithmetic; computation lives in storage (SQL over rollups
// and events) and is driven by the API.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace maeul::kpi {

// Every KPI of the catalog, typed: code that computes a KPI switches over this (no default), so a
// KPI added here and not computed somewhere is a compile error, not an empty answer.
enum class key {
  emergency_response_time,
  travel_time_index,
  transit_boardings_per_capita,
  electricity_per_capita,
  renewable_share,
  pm25_bad_days,
  welfare_ack_time,
  sensor_availability,
  living_zone_9min_coverage,
  bus_excess_wait_time,
  bus_headway_regularity,
};

struct definition {
  key k;
  std::string id;  // the key as the API names it
  std::string name_ko, name_en;
  std::string domain;
  std::string unit;
  std::string direction;  // lower_is_better | higher_is_better
  double target_per_day = 0;  // additive KPIs: the target scales with the period's days
  double target = 0;          // non-additive KPIs: the target of every period
  bool additive = false;
  std::string period = "month";  // the default period
  std::string standard;
  std::string description_ko, description_en;
};

const std::vector<definition>& catalog();
const definition* find(std::string_view id);

// The target of a KPI for one period ("day", "week", "month", "year") that has `days` days.
double target_for(const definition& d, double days);

// Walking model of the 9-minute living zone: residents spread evenly over the zone's area, a
// walking speed and a detour factor turn minutes into a straight-line radius.
struct walking_model {
  walking_model();  // defaults (out of line: no initializer lists instantiated inside coroutines)
  double speed_kmh = 4.8;
  double detour = 1.3;
  std::vector<std::string> essential;  // clinic, pharmacy, grocery, bus_stop, care_center
  double radius_m(double minutes) const { return minutes * speed_kmh * 1000.0 / 60.0 / detour; }
};

// Share of the way from `start` to `target` that `latest` has come, clamped to [0, 1]
// (1 when the target is met). nullopt when start already met the target and nothing moved.
std::optional<double> progress(const definition& d, double start, double latest, double target);

bool valid_period(std::string_view p);

}  // namespace maeul::kpi
