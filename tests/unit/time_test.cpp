// RFC 3339 parsing and formatting.
#include <gtest/gtest.h>

#include "maeul/domain/time.hpp"

using maeul::domain::format_rfc3339_ms;
using maeul::domain::parse_rfc3339;

TEST(time, parses_offsets_to_the_same_instant) {
  auto utc = parse_rfc3339("2026-11-21T01:00:00Z");
  auto kst = parse_rfc3339("2026-11-21T10:00:00+09:00");
  ASSERT_TRUE(utc && kst);
  EXPECT_EQ(*utc, *kst);
  EXPECT_EQ(*utc, 1795222800LL * 1000000);  // date -d 2026-11-21T01:00:00Z +%s
}

TEST(time, keeps_fractions) {
  auto t = parse_rfc3339("1970-01-01T00:00:01.25-00:30");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, (1 + 1800) * 1000000LL + 250000);
}

TEST(time, rejects_text_without_offset_or_with_bad_fields) {
  EXPECT_FALSE(parse_rfc3339("2026-11-21T01:00:00"));
  EXPECT_FALSE(parse_rfc3339("2026-13-21T01:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-02-30T01:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-11-21T24:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-11-21T01:00:00Zjunk"));
  EXPECT_FALSE(parse_rfc3339(""));
}

TEST(time, formats_utc_with_milliseconds) {
  EXPECT_EQ(format_rfc3339_ms(1795222800LL * 1000000 + 123456), "2026-11-21T01:00:00.123Z");
  EXPECT_EQ(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(-1000), "1969-12-31T23:59:59.999Z");
}
