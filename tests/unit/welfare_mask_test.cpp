// What of a welfare alert reaches those who may not read welfare data (API §8).
#include "maeul/domain/events.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using nlohmann::json;

TEST(welfare_mask, the_pseudonym_replaces_the_sensor_and_no_reading_or_text_remains) {
  json a = {{"id", 7},          {"rule", "r-1"},          {"severity", "critical"}, {"state", "open"},
            {"sensor", "hh-kim-door"}, {"zone", "yeongnang"}, {"domain", "welfare"},  {"metric", "inactive_h"},
            {"value", 14.5},    {"message", "inactive_h 14.5 > 12"}, {"note", "called her daughter"}};
  auto m = json::parse(maeul::domain::masked_welfare_alert(a.dump(), "hh-0a1b2c3d4e5f6071"));
  EXPECT_EQ(m["household"], "hh-0a1b2c3d4e5f6071");
  for (const char* k : {"sensor", "value", "note"}) EXPECT_TRUE(m[k].is_null()) << k;
  EXPECT_EQ(m["message"], "");
  for (const char* k : {"id", "rule", "severity", "state", "zone", "domain", "metric"}) EXPECT_EQ(m[k], a[k]) << k;
  EXPECT_EQ(m.dump().find("14.5"), std::string::npos);
  EXPECT_EQ(m.dump().find("kim"), std::string::npos);
}

TEST(welfare_mask, no_household_is_null_and_bad_json_is_left_alone) {
  auto m = json::parse(maeul::domain::masked_welfare_alert(R"({"id":1,"sensor":null,"domain":"welfare"})", ""));
  EXPECT_TRUE(m["household"].is_null());
  EXPECT_EQ(maeul::domain::masked_welfare_alert("not json", "hh-1"), "not json");
}

// API §12: the words and values an alert now carries leak neither the sensor nor a reading.
TEST(welfare_mask, title_text_and_values_of_a_welfare_alert_are_withheld) {
  json a = {{"id", 9},
            {"rule", "r-2"},
            {"rule_name", {{"ko", "무활동"}, {"en", "No activity"}}},
            {"domain", "welfare"},
            {"sensor", "home-kim-01"},
            {"value", 14.5},
            {"value_at_open", 14.5},
            {"current_value", 15.25},
            {"title", {{"ko", "무활동 · home-kim-01"}, {"en", "No activity · home-kim-01"}}},
            {"text", {{"ko", "motion 14.5"}, {"en", "motion 14.5, above 12"}}}};
  auto m = json::parse(maeul::domain::masked_welfare_alert(a.dump(), "hh-0a1b2c3d4e5f6071"));
  EXPECT_TRUE(m["value_at_open"].is_null());
  EXPECT_TRUE(m["current_value"].is_null());
  EXPECT_EQ(m["title"], json({{"ko", "무활동"}, {"en", "No activity"}}));
  EXPECT_TRUE(m["text"]["ko"].is_string() && m["text"]["en"].is_string());
  EXPECT_EQ(m.dump().find("kim"), std::string::npos);
  EXPECT_EQ(m.dump().find("14.5"), std::string::npos);
  EXPECT_EQ(m.dump().find("15.25"), std::string::npos);
}
