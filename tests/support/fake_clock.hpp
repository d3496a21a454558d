// A clock for pure tests: time is a number the test sets and advances, never the wall clock.
// Callable like the injected clocks of the code under test (`std::function<std::int64_t()>`).
#pragma once
#include <cstdint>

namespace maeul::test {

inline constexpr std::int64_t us_per_s = 1'000'000;
inline constexpr std::int64_t us_per_min = 60 * us_per_s;
inline constexpr std::int64_t us_per_h = 60 * us_per_min;
inline constexpr std::int64_t us_per_day = 24 * us_per_h;

// 2026-11-21T01:00:00Z in microseconds since the epoch (date -d 2026-11-21T01:00:00Z +%s).
inline constexpr std::int64_t t0_us = 1795222800LL * us_per_s;

struct fake_clock {
  std::int64_t now_us = t0_us;

  std::int64_t operator()() const { return now_us; }
  // Moves time forward by `d` microseconds and returns the new time.
  std::int64_t advance(std::int64_t d) { return now_us += d; }
};

}  // namespace maeul::test
