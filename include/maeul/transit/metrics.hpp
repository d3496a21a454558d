// Operations metrics from stop arrivals (pure): headways, the average wait of a passenger arriving
// at random, Σh²/(2Σh) over headways h (API §11), its excess over the scheduled one, the headway's
// coefficient of variation, bunching and the holding time that restores the scheduled headway.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace maeul::transit {

// Differences between successive times (the input sorted ascending), in seconds.
std::vector<double> headways_s(const std::vector<std::int64_t>& times_us);
// The headways of observed arrivals (sorted) that count: a gap over 2 h is a break in service.
std::vector<double> observed_headways_s(const std::vector<std::int64_t>& arrivals_us);
// The scheduled headways comparable with the observed ones: at most 2 h, and overlapping the span of
// an observed headway (a stop observed 10:00-11:00 is compared with its schedule 10:00-11:00).
std::vector<double> comparable_scheduled_headways_s(const std::vector<std::int64_t>& arrivals_us,
                                                    const std::vector<std::int64_t>& scheduled_us);
// Σh²/(2Σh) in seconds; nullopt without a positive headway.
std::optional<double> average_wait_s(const std::vector<double>& headways);
// Population standard deviation over the mean; nullopt for fewer than two headways or a zero mean.
std::optional<double> coefficient_of_variation(const std::vector<double>& headways);
// A headway below ratio x scheduled is bunched.
bool is_bunched(double headway_s, double scheduled_s, double ratio);
// Minutes to hold the follower so that its headway becomes the scheduled one (0 when not short).
double hold_minutes(double headway_s, double scheduled_s);

// Bunching by distance: a vehicle's last matched place on a pattern (its route and direction's
// shape), for the `distance_m` of a bunching rule.
struct vehicle_place {
  std::string vehicle;
  std::size_t pattern = 0;
  double along_m = 0;
  std::int64_t ts_us = 0;
};
struct leader {
  std::size_t index = 0;  // in `places`
  double gap_m = 0;       // along the pattern, >= 0
};
// The nearest vehicle ahead of `follower` on the same pattern, at most `distance_m` along the line
// in front (a vehicle at the very same place counts as ahead when its id sorts first, so that of
// two only one is the follower), whose last place is at most `max_age_us` older or newer than the
// follower's (a vehicle that stopped reporting long ago bunches with no one). The follower itself
// (same id) is skipped. nullopt: none.
std::optional<leader> leader_within(const std::vector<vehicle_place>& places, const vehicle_place& follower,
                                    double distance_m, std::int64_t max_age_us);
// The time gap behind the leader, in seconds, estimated from the distance gap and the follower's
// speed (below 1 m/s or unknown: `fallback_mps`, a city bus's average speed).
double gap_seconds(double gap_m, double speed_mps, double fallback_mps = 5.0);

// The scheduled visits of one stop on one day as times (seconds after midnight) from timetabled
// trips and frequency windows (a trip every headway from start to end, offset by the stop's time
// after the trip's first stop), sorted.
struct frequency_window {
  int start_s = 0, end_s = 0, headway_s = 0, offset_s = 0;
};
std::vector<int> scheduled_times(std::vector<int> timetabled, const std::vector<frequency_window>& windows);

// The scheduled headway in force at time t (seconds) among sorted scheduled times: the gap that
// ends at the visit nearest to t (the visit an arrival at t stands for), or, when that visit is the
// first known or the first after a break in service (a gap over 2 h, such as the night), the gap
// that starts at it. nullopt when there is no such gap, or when t is further from the visit than
// the gap itself (an arrival far off the timetable). So a late evening bus is never judged against
// the gap between the evening's last bus and the morning's first.
std::optional<double> scheduled_headway_at(const std::vector<int>& times, double t);

}  // namespace maeul::transit

namespace maeul::transit {

// One stop (and direction) of a route over a window: observed arrivals and scheduled visits,
// each sorted ascending, in microseconds since the epoch.
struct stop_series {
  std::vector<std::int64_t> arrivals_us, scheduled_us;
};
struct performance {
  std::optional<double> excess_wait_min;  // (Σh²/2Σh observed − the same scheduled) / 60, pooled over stops
  std::optional<double> headway_cv;       // std/mean of the observed headways, each over its stop's mean
  std::optional<double> on_time_pct;      // arrivals within [−1, +5] min of the nearest scheduled visit
  int bunching_events = 0;                // headways below ratio × the scheduled one
  int headways = 0;
};
performance route_performance(const std::vector<stop_series>& stops, double bunching_ratio = 0.5);

}  // namespace maeul::transit
