// The routine model of rules/routine.hpp: the ring of hour slots and the limits per hour of day.
#include "maeul/rules/routine.hpp"

#include <algorithm>
#include <cmath>

namespace maeul::rules {
namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
std::int64_t floor_mod(std::int64_t a, std::int64_t b) { return a - floor_div(a, b) * b; }

// Hour 0 of the epoch was a Thursday 00:00 UTC; + 72 h puts Monday 00:00 at ring index 0 mod 168.
constexpr std::int64_t monday_shift = 72;

}  // namespace

routine::routine(const routine_params& p)
    : params_(p),
      gaps_s_(std::size_t(168) * std::clamp(p.learn_weeks, 1, max_learn_weeks), empty),
      counts_(gaps_s_.size(), 0) {
  limit_.fill(params_.cold_start_us);
}

int routine::days_recorded() const {
  return int(std::min<std::int64_t>(recorded_, std::int64_t(gaps_s_.size())) / 24);
}

std::int64_t routine::limit_at(int hour_of_day) const {
  return learned() ? limit_[std::size_t(floor_mod(hour_of_day, 24))] : params_.cold_start_us;
}

std::uint32_t routine::activities_in_hour_of_week(int hour_of_week) const {
  std::uint32_t n = 0;
  for (std::size_t i = std::size_t(floor_mod(hour_of_week, 168)); i < counts_.size(); i += 168) n += counts_[i];
  return n;
}

void routine::close_slot(std::int64_t slot, std::int64_t gap_us, std::uint32_t activities) {
  const auto i = std::size_t(floor_mod(slot + monday_shift, std::int64_t(gaps_s_.size())));
  // Capping at the ceiling changes no limit (a quantile at or past it gives the ceiling either
  // way) and keeps a gap of any length in 32 bits.
  const std::int64_t cap_s = params_.ceiling_us / 1000000;
  const std::int64_t s = (std::max<std::int64_t>(gap_us, 0) + 999999) / 1000000;
  gaps_s_[i] = std::uint32_t(std::min(s, cap_s));
  counts_[i] = std::uint8_t(std::min<std::uint32_t>(activities, 255));
  ++recorded_;
}

void routine::refresh_limit(int hour_of_day) {
  std::array<std::uint32_t, 7 * max_learn_weeks> v;
  std::size_t n = 0;
  for (std::size_t i = std::size_t(hour_of_day); i < gaps_s_.size(); i += 24)
    if (gaps_s_[i] != empty) v[n++] = gaps_s_[i];
  if (n == 0) {
    limit_[std::size_t(hour_of_day)] = params_.cold_start_us;
    return;
  }
  // Nearest rank: the ceil(quantile * n)-th smallest.
  auto rank = std::size_t(std::ceil(params_.quantile * double(n) - 1e-9));
  rank = std::clamp<std::size_t>(rank, 1, n) - 1;
  std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(rank), v.begin() + std::ptrdiff_t(n));
  const double limit = params_.factor * double(v[rank]) * 1e6;
  limit_[std::size_t(hour_of_day)] =
      std::clamp(std::int64_t(std::llround(std::min(limit, 9e18))), params_.floor_us, params_.ceiling_us);
}

void routine::advance(std::int64_t now_us) {
  if (slot_ == none) return;  // nothing seen yet: nothing to record
  const std::int64_t now_slot = floor_div(now_us, hour_us);
  if (now_slot <= slot_) return;
  std::uint32_t dirty = 0;  // hours of day whose limit needs refreshing, one bit each
  auto close = [&](std::int64_t slot, std::int64_t gap_us, std::uint32_t activities) {
    close_slot(slot, gap_us, activities);
    dirty |= 1u << floor_mod(slot, 24);
  };
  // The open slot: its longest ended gap, or the gap still going on at its end.
  close(slot_, std::max(slot_gap_us_, (slot_ + 1) * hour_us - last_us_), slot_count_);
  // Slots with no activity at all: the gap at each one's end. Past a whole ring, only the newest
  // ring's worth matter (older ones would be overwritten).
  const auto ring = std::int64_t(gaps_s_.size());
  std::int64_t from = slot_ + 1;
  if (now_slot - from > ring) {
    recorded_ += now_slot - from - ring;
    from = now_slot - ring;
  }
  for (std::int64_t s = from; s < now_slot; ++s) close(s, (s + 1) * hour_us - last_us_, 0);
  for (int h = 0; h < 24; ++h)
    if (dirty & (1u << h)) refresh_limit(h);
  slot_ = now_slot;
  slot_gap_us_ = 0;
  slot_count_ = 0;
}

bool routine::observe(std::int64_t ts_us) {
  if (last_us_ != none && ts_us <= last_us_) return false;
  if (slot_ == none) {
    slot_ = floor_div(ts_us, hour_us);
  } else {
    advance(ts_us);
  }
  if (floor_div(ts_us, hour_us) >= slot_) {
    if (last_us_ != none) slot_gap_us_ = std::max(slot_gap_us_, ts_us - last_us_);
    ++slot_count_;
  }
  last_us_ = ts_us;
  return true;
}

routine::verdict routine::judge(std::int64_t now_us) const {
  verdict v;
  v.learned = learned();
  v.limit_us = limit_at(int(floor_mod(floor_div(now_us, hour_us), 24)));
  if (last_us_ == none) return v;
  v.gap_us = std::max<std::int64_t>(now_us - last_us_, 0);
  v.unusual = v.gap_us > v.limit_us;
  return v;
}

}  // namespace maeul::rules
