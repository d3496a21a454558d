// Numbers in text (domain/encoding.hpp parse_number): the whole text or nothing.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

#include "maeul/domain/encoding.hpp"

namespace {

using maeul::domain::parse_number;

TEST(parse_number, reads_whole_integers) {
  EXPECT_EQ(parse_number<int>("0"), 0);
  EXPECT_EQ(parse_number<int>("1000"), 1000);
  EXPECT_EQ(parse_number<int>("-7"), -7);
  EXPECT_EQ(parse_number<std::int64_t>("9223372036854775807"), INT64_MAX);
}

TEST(parse_number, refuses_empty_partial_signed_spaced_or_out_of_range_text) {
  for (const char* bad : {"", "12x", "x12", "+5", " 5", "5 ", "1.5", "0x10", "99999999999"})
    EXPECT_EQ(parse_number<int>(bad), std::nullopt) << '"' << bad << '"';
  EXPECT_EQ(parse_number<unsigned>("-1"), std::nullopt);
  EXPECT_EQ(parse_number<std::int64_t>("9223372036854775808"), std::nullopt);
}

TEST(parse_number, reads_doubles_in_fixed_and_scientific_notation) {
  EXPECT_EQ(parse_number<double>("2.5"), 2.5);
  EXPECT_EQ(parse_number<double>("-0.125"), -0.125);
  EXPECT_EQ(parse_number<double>("1e3"), 1000.0);
  EXPECT_EQ(parse_number<double>("1.5e"), std::nullopt);
  EXPECT_EQ(parse_number<double>("nan?"), std::nullopt);
  EXPECT_EQ(parse_number<double>(""), std::nullopt);
}

}  // namespace

TEST(unhex, reads_back_what_hex_writes) {
  std::string bytes("\x00\x01\x7f\x80\xff sealed", 12);
  EXPECT_EQ(maeul::domain::unhex(maeul::domain::hex(bytes)), bytes);
  EXPECT_EQ(maeul::domain::unhex("DEADbeef"), std::string("\xde\xad\xbe\xef"));
  EXPECT_EQ(maeul::domain::unhex(""), std::string());
  EXPECT_EQ(maeul::domain::unhex("abc"), std::nullopt) << "odd length";
  EXPECT_EQ(maeul::domain::unhex("zz"), std::nullopt);
}
