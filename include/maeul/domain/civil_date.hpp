// Calendar dates as days since 1970-01-01 (proleptic Gregorian), the one implementation the
// config's date lists, the transit planner's dates and the forecaster share. Pure, header-only.
#pragma once
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace maeul::domain {

// Days since 1970-01-01 of year/month/day (month 1-12, day 1-31; not checked).
constexpr std::int64_t days_from_civil(std::int64_t year, int month, int day) {
  const std::int64_t y = year - (month <= 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t mp = (month + 9) % 12;  // March = 0
  const std::int64_t doy = (153 * mp + 2) / 5 + day - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct civil_date {
  std::int64_t year = 1970;
  int month = 1, day = 1;
};

// The date of days since 1970-01-01.
constexpr civil_date civil_from_days(std::int64_t days) {
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

// "YYYY-MM-DD" of days since 1970-01-01 (years 0-9999).
inline std::string format_civil_date(std::int64_t days) {
  const auto c = civil_from_days(days);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02d", static_cast<long long>(c.year), c.month, c.day);
  return buf;
}

// Days since 1970-01-01 of a strict "YYYY-MM-DD": a real date (2026-02-30 is not), years
// 1900-2999; nullopt otherwise.
inline std::optional<std::int64_t> parse_civil_date(std::string_view t) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return std::nullopt;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (t[i] < '0' || t[i] > '9') return std::nullopt;
  auto num = [&](std::size_t from, std::size_t n) {
    int v = 0;
    for (std::size_t i = from; i < from + n; ++i) v = v * 10 + (t[i] - '0');
    return v;
  };
  const int y = num(0, 4), m = num(5, 2), d = num(8, 2);
  if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
  const std::int64_t days = days_from_civil(y, m, d);
  const auto back = civil_from_days(days);
  if (back.year != y || back.month != m || back.day != d) return std::nullopt;
  return days;
}

}  // namespace maeul::domain
