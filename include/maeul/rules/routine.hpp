// A household's routine of activity, learned from its activity times: the longest gap without
// activity seen in each hour of each recent day, and the number of activities in each hour of the
// week. It says how long a gap is unusual at a given hour. Pure: no I/O, no clock; time comes in
// as arguments (microseconds since the epoch, UTC).
//
// The model (docs/welfare.md, "Routine-aware inactivity"):
//
// - Time is cut into hour slots (UTC hours; the model is learned, so the time zone only names the
//   slots). A ring keeps the last 7 * learn_weeks days of slots, 5 bytes each: a fixed array
//   allocated once, whatever the traffic.
// - When a slot ends, it records the longest gap of that hour: the largest time since the last
//   activity reached at any moment of the hour (a gap that began before the hour counts from its
//   start; a night's sleep gives 3 h at 02:00, 4 h at 03:00...), capped at `ceiling`, and the
//   number of activities in it. Slots with no activity before them (nothing seen yet) record
//   nothing.
// - The limit of hour-of-day h is factor * q, clamped to [floor, ceiling], where q is the
//   `quantile` (nearest rank: the ceil(quantile * n)-th smallest) of the n recorded gaps of the
//   slots of hour h in the ring (n <= 7 * learn_weeks). So at 03:00 a long night is usual and the
//   limit is long; at 10:00, when this household is always up and about, it is short.
// - Until min_days full days of slots are recorded since the first activity, the limit is the
//   fixed `cold_start` at every hour.
// - A gap is unusual at time t when t - last activity exceeds the limit of t's hour of day.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace maeul::rules {

struct routine_params {
  int learn_weeks = 4;  // 1..max_learn_weeks: the ring keeps 7 * learn_weeks days
  int min_days = 7;     // 1..7 * learn_weeks: days recorded before the learned limits apply
  double quantile = 0.95;
  double factor = 1.5;
  std::int64_t floor_us = 3600LL * 1000000;
  std::int64_t ceiling_us = 16 * 3600LL * 1000000;
  std::int64_t cold_start_us = 12 * 3600LL * 1000000;
};

class routine {
 public:
  static constexpr int max_learn_weeks = 12;
  static constexpr std::int64_t hour_us = 3600LL * 1000000;

  // `p` must be valid (rules::parse_rule checks it); the ring is allocated here, once.
  explicit routine(const routine_params& p);

  // Records an activity at ts_us: hours that ended before it are recorded first. Returns false,
  // and learns nothing, when ts_us is not after the last activity (a late or repeated reading).
  // An activity older than the current slot is taken as the last activity, but the slots already
  // recorded keep their (then too long) gaps.
  bool observe(std::int64_t ts_us);

  // Records every hour slot that ended by now_us (so a gap still going on is learned too).
  // Never moves backwards: an earlier now_us than seen before does nothing.
  void advance(std::int64_t now_us);

  struct verdict {
    std::int64_t gap_us = 0;    // now - last activity (0 before any activity)
    std::int64_t limit_us = 0;  // the limit at now's hour
    bool learned = false;       // false: cold start (limit = cold_start)
    bool unusual = false;       // gap_us > limit_us, and some activity was seen
  };
  // Judges the gap at now_us (call advance(now_us) first for the newest limits). Never throws.
  verdict judge(std::int64_t now_us) const;

  bool seen() const { return last_us_ != none; }
  std::int64_t last_activity_us() const { return last_us_; }
  // Full days of recorded slots, at most 7 * learn_weeks.
  int days_recorded() const;
  bool learned() const { return days_recorded() >= params_.min_days; }
  // The limit at hour of day h (0-23, UTC) as judge would use it.
  std::int64_t limit_at(int hour_of_day) const;
  // Activities recorded in hour of week h (0: Monday 00:00-01:00 UTC .. 167), summed over the
  // kept weeks; each slot counts up to 255.
  std::uint32_t activities_in_hour_of_week(int hour_of_week) const;
  // Bytes held by the ring (the whole model is this plus a fixed header).
  std::size_t ring_bytes() const { return gaps_s_.capacity() * sizeof(std::uint32_t) + counts_.capacity(); }

 private:
  static constexpr std::int64_t none = INT64_MIN;
  static constexpr std::uint32_t empty = UINT32_MAX;

  void close_slot(std::int64_t slot, std::int64_t gap_us, std::uint32_t activities);
  void refresh_limit(int hour_of_day);

  routine_params params_;
  std::vector<std::uint32_t> gaps_s_;   // per ring slot: the hour's longest gap in seconds; `empty`: none
  std::vector<std::uint8_t> counts_;    // per ring slot: activities in the hour (saturating)
  std::array<std::int64_t, 24> limit_;  // learned limit per hour of day, refreshed as slots close
  std::int64_t last_us_ = none;         // last activity
  std::int64_t slot_ = none;            // the open slot (hours since the epoch)
  std::int64_t slot_gap_us_ = 0;        // longest gap ended inside the open slot so far
  std::uint32_t slot_count_ = 0;        // activities in the open slot
  std::int64_t recorded_ = 0;           // slots recorded since the first activity
};

}  // namespace maeul::rules
