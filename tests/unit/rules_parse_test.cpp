// Rule validation (rules::parse_rule, parse_duration_us, rule_from_spec): every invalid field is
// reported with its JSON Pointer, valid rules are normalized, and the stored spec parses back
// to the same rule.
#include <gtest/gtest.h>

#include <sstream>
#include <variant>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "maeul/rules/rules.hpp"
#include "support/fake_clock.hpp"

namespace {

namespace r = maeul::rules;
namespace d = maeul::domain;
using maeul::test::us_per_day;
using maeul::test::us_per_h;
using maeul::test::us_per_min;
using maeul::test::us_per_s;
using nlohmann::json;

json threshold() {
  return {{"id", "t1"},  {"name", "high"}, {"kind", "threshold"}, {"severity", "warning"}, {"metric", "level"},
          {"op", ">"},   {"value", 10},     {"for", "5m"}};
}
json rate() {
  return {{"id", "r1"}, {"name", "rise"}, {"kind", "rate"}, {"severity", "info"},
          {"metric", "level"}, {"delta", 0.5}, {"window", "10m"}};
}
json silence() {
  return {{"id", "s1"}, {"name", "quiet"}, {"kind", "silence"}, {"severity", "critical"}, {"for", "6h"}};
}
json composite() {
  return {{"id", "c1"},
          {"name", "flood"},
          {"kind", "composite"},
          {"severity", "critical"},
          {"window", "15m"},
          {"conditions", {{{"metric", "level"}, {"op", ">"}, {"value", 2}}, {{"metric", "rain_mm"}, {"op", ">="}, {"value", 30}}}}};
}

json with(json body, const std::string& key, json value) {
  body[key] = std::move(value);
  return body;
}
json without(json body, const std::string& key) {
  body.erase(key);
  return body;
}

std::set<std::string> pointers(const d::problem& p) {
  std::set<std::string> out;
  for (const auto& e : p.errors) out.insert(e.pointer);
  return out;
}

// ---- invalid bodies

struct invalid_case {
  const char* name;
  json body;
  std::set<std::string> pointers;
};

class parse_rule_invalid : public testing::TestWithParam<invalid_case> {};

TEST_P(parse_rule_invalid, reports_each_bad_field_with_its_pointer) {
  const auto& c = GetParam();
  auto o = r::parse_rule(c.body);
  ASSERT_FALSE(o) << "accepted: " << o.value().spec_json;
  EXPECT_EQ(o.error().kind, d::problem_kind::invalid);
  EXPECT_EQ(o.error().kind, maeul::domain::problem_kind::invalid);
  EXPECT_EQ(pointers(o.error()), c.pointers) << o.error().describe();
  for (const auto& e : o.error().errors) EXPECT_FALSE(e.detail.empty()) << e.pointer;
}

std::vector<invalid_case> invalid_cases() {
  json seventeen = json::array();
  for (int i = 0; i < 17; ++i) seventeen.push_back({{"metric", "level"}, {"op", ">"}, {"value", i}});
  return {
      {"not_an_object", json::array({threshold()}), {""}},
      {"id_not_a_string", with(threshold(), "id", 5), {"/id"}},
      {"id_bad_characters", with(threshold(), "id", "-t1"), {"/id"}},
      {"name_missing", without(threshold(), "name"), {"/name"}},
      {"name_empty_object", with(threshold(), "name", json::object()), {"/name"}},
      {"name_a_number", with(threshold(), "name", 5), {"/name"}},
      {"kind_missing", without(threshold(), "kind"), {"/kind"}},
      {"kind_unknown", with(threshold(), "kind", "trend"), {"/kind"}},
      {"severity_missing", without(threshold(), "severity"), {"/severity"}},
      {"severity_unknown", with(threshold(), "severity", "urgent"), {"/severity"}},
      {"enabled_not_boolean", with(threshold(), "enabled", "yes"), {"/enabled"}},
      {"selector_not_an_object", with(threshold(), "selector", "z1"), {"/selector"}},
      {"selector_unknown_field", with(threshold(), "selector", {{"floor", "1"}}), {"/selector/floor"}},
      {"selector_unknown_domain", with(threshold(), "selector", {{"domain", "space"}}), {"/selector/domain"}},
      {"selector_zone_not_a_string", with(threshold(), "selector", {{"zone", 5}}), {"/selector/zone"}},
      {"selector_two_bad_fields", with(threshold(), "selector", {{"sensor", 1}, {"kind", true}}),
       {"/selector/sensor", "/selector/kind"}},
      {"threshold_metric_missing", without(threshold(), "metric"), {"/metric"}},
      {"threshold_metric_not_a_token", with(threshold(), "metric", "Level"), {"/metric"}},
      {"threshold_op_missing", without(threshold(), "op"), {"/op"}},
      {"threshold_op_unknown", with(threshold(), "op", "!="), {"/op"}},
      {"threshold_value_missing", without(threshold(), "value"), {"/value"}},
      {"threshold_value_a_string", with(threshold(), "value", "10"), {"/value"}},
      {"threshold_for_unknown_unit", with(threshold(), "for", "5x"), {"/for"}},
      {"threshold_for_negative", with(threshold(), "for", "-5s"), {"/for"}},
      {"threshold_for_negative_number", with(threshold(), "for", -5), {"/for"}},
      {"threshold_for_a_boolean", with(threshold(), "for", true), {"/for"}},
      {"threshold_for_over_366_days", with(threshold(), "for", "367d"), {"/for"}},
      {"threshold_clear_above_value_for_gt", with(threshold(), "clear", 12), {"/clear"}},
      {"threshold_clear_below_value_for_lt", with(with(threshold(), "op", "<"), "clear", 8), {"/clear"}},
      {"threshold_clear_a_string", with(threshold(), "clear", "8"), {"/clear"}},
      {"threshold_several_fields", with(with(without(threshold(), "metric"), "op", "=="), "severity", "high"),
       {"/metric", "/op", "/severity"}},
      {"rate_delta_zero", with(rate(), "delta", 0), {"/delta"}},
      {"rate_delta_missing", without(rate(), "delta"), {"/delta"}},
      {"rate_window_missing", without(rate(), "window"), {"/window"}},
      {"rate_window_zero", with(rate(), "window", "0s"), {"/window"}},
      {"rate_metric_missing", without(rate(), "metric"), {"/metric"}},
      {"silence_for_missing", without(silence(), "for"), {"/for"}},
      {"silence_for_zero", with(silence(), "for", "0m"), {"/for"}},
      {"composite_window_missing", without(composite(), "window"), {"/window"}},
      {"composite_conditions_missing", without(composite(), "conditions"), {"/conditions"}},
      {"composite_conditions_empty", with(composite(), "conditions", json::array()), {"/conditions"}},
      {"composite_conditions_not_an_array", with(composite(), "conditions", json::object()), {"/conditions"}},
      {"composite_seventeen_conditions", with(composite(), "conditions", seventeen), {"/conditions"}},
      {"composite_condition_not_an_object", with(composite(), "conditions", {5}), {"/conditions/0"}},
      {"composite_second_condition_metric",
       with(composite(), "conditions",
            {{{"metric", "level"}, {"op", ">"}, {"value", 2}}, {{"metric", "Rain"}, {"op", ">"}, {"value", 2}}}),
       {"/conditions/1/metric"}},
      {"composite_condition_op_and_value",
       with(composite(), "conditions", {{{"metric", "level"}, {"op", "=="}, {"value", "2"}}}),
       {"/conditions/0/op", "/conditions/0/value"}},
  };
}

INSTANTIATE_TEST_SUITE_P(cases, parse_rule_invalid, testing::ValuesIn(invalid_cases()),
                         [](const testing::TestParamInfo<invalid_case>& i) { return std::string(i.param.name); });

TEST(parse_rule, the_body_id_must_match_the_path_id) {
  auto o = r::parse_rule(threshold(), "t2");
  ASSERT_FALSE(o);
  EXPECT_EQ(pointers(o.error()), std::set<std::string>{"/id"});
  auto same = r::parse_rule(threshold(), "t1");
  ASSERT_TRUE(same);
  EXPECT_EQ(same->id, "t1");
  auto from_path = r::parse_rule(without(threshold(), "id"), "t9");
  ASSERT_TRUE(from_path);
  EXPECT_EQ(from_path->id, "t9");
  auto none = r::parse_rule(without(threshold(), "id"));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->id, "");
}

// ---- valid bodies

TEST(parse_rule, a_threshold_rule_is_normalized) {
  json body = threshold();
  body["name"] = {{"ko", "수위 높음"}, {"en", "High water"}};
  body["op"] = "ge";
  body["clear"] = 9.5;
  body["for"] = "300s";
  body["selector"] = {{"zone", "z1"}, {"domain", "disaster"}, {"kind", "water_level"}, {"sensor", "wl-1"}};
  auto o = r::parse_rule(body);
  ASSERT_TRUE(o) << o.error().describe();
  const auto& rl = *o;
  EXPECT_EQ(rl.id, "t1");
  EXPECT_EQ(rl.name.ko, "수위 높음");
  EXPECT_EQ(rl.name.en, "High water");
  EXPECT_EQ(rl.kind, "threshold");
  ASSERT_TRUE(std::holds_alternative<r::threshold_rule>(rl.spec));
  const auto& t = std::get<r::threshold_rule>(rl.spec);
  EXPECT_EQ(t.o, r::op::ge);
  EXPECT_EQ(t.value, 10);
  EXPECT_EQ(t.for_us, 300 * us_per_s);
  ASSERT_TRUE(t.clear);
  EXPECT_EQ(*t.clear, 9.5);
  EXPECT_TRUE(rl.enabled);
  EXPECT_EQ(rl.sel.zone, "z1");
  EXPECT_EQ(rl.sel.domain, "disaster");
  EXPECT_EQ(rl.sel.kind, "water_level");
  EXPECT_EQ(rl.sel.sensor, "wl-1");
  json spec = json::parse(rl.spec_json);
  EXPECT_EQ(spec, json({{"id", "t1"},
                        {"name", {{"ko", "수위 높음"}, {"en", "High water"}}},
                        {"kind", "threshold"},
                        {"selector", {{"sensor", "wl-1"}, {"kind", "water_level"}, {"domain", "disaster"}, {"zone", "z1"}}},
                        {"severity", "warning"},
                        {"enabled", true},
                        {"metric", "level"},
                        {"op", ">="},
                        {"value", 10.0},
                        {"for", "5m"},
                        {"clear", 9.5}}));
}

TEST(parse_rule, a_string_name_is_both_languages_and_clear_may_equal_value) {
  auto o = r::parse_rule(with(with(threshold(), "clear", 10), "enabled", false));
  ASSERT_TRUE(o) << o.error().describe();
  EXPECT_EQ(o->name.ko, "high");
  EXPECT_EQ(o->name.en, "high");
  EXPECT_FALSE(o->enabled);
  EXPECT_EQ(json::parse(o->spec_json)["enabled"], false);
}

TEST(parse_rule, composite_conditions_keep_their_kind_and_order) {
  json body = composite();
  body["conditions"][1]["kind"] = "rain_gauge";
  auto o = r::parse_rule(body);
  ASSERT_TRUE(o) << o.error().describe();
  ASSERT_TRUE(std::holds_alternative<r::composite_rule>(o->spec));
  const auto& c = std::get<r::composite_rule>(o->spec);
  ASSERT_EQ(c.conditions.size(), 2u);
  EXPECT_EQ(c.conditions[0].metric, "level");
  EXPECT_EQ(c.conditions[0].o, r::op::gt);
  EXPECT_EQ(c.conditions[0].value, 2);
  EXPECT_EQ(c.conditions[0].kind, "");
  EXPECT_EQ(c.conditions[1].metric, "rain_mm");
  EXPECT_EQ(c.conditions[1].o, r::op::ge);
  EXPECT_EQ(c.conditions[1].kind, "rain_gauge");
  EXPECT_EQ(c.window_us, 15 * us_per_min);
  auto spec = json::parse(o->spec_json);
  EXPECT_EQ(spec["conditions"][1], json({{"metric", "rain_mm"}, {"op", ">="}, {"value", 30.0}, {"kind", "rain_gauge"}}));
  EXPECT_EQ(spec["window"], "15m");
}

struct duration_case {
  json input;
  std::int64_t us;
  const char* normalized;
};

class durations : public testing::TestWithParam<duration_case> {};

TEST_P(durations, parse_to_microseconds_and_normalize_to_the_largest_whole_unit) {
  const auto& c = GetParam();
  auto o = r::parse_rule(with(threshold(), "for", c.input));
  ASSERT_TRUE(o) << o.error().describe();
  EXPECT_EQ(std::get<r::threshold_rule>(o->spec).for_us, c.us);
  EXPECT_EQ(json::parse(o->spec_json)["for"], c.normalized);
}

INSTANTIATE_TEST_SUITE_P(
    units, durations,
    testing::Values(duration_case{"90s", 90 * us_per_s, "90s"}, duration_case{"120s", 2 * us_per_min, "2m"},
                    duration_case{"3600s", us_per_h, "1h"}, duration_case{"90m", 90 * us_per_min, "90m"},
                    duration_case{"48h", 2 * us_per_day, "2d"}, duration_case{"1d", us_per_day, "1d"},
                    duration_case{"366d", 366 * us_per_day, "366d"}, duration_case{"0s", 0, "0s"},
                    duration_case{90, 90 * us_per_s, "90s"}, duration_case{json(nullptr), 0, "0s"}));

struct parse_duration_case {
  json input;
  std::optional<std::int64_t> us;
};

class parse_duration : public testing::TestWithParam<parse_duration_case> {};

TEST_P(parse_duration, accepts_a_number_and_a_unit_or_seconds) {
  EXPECT_EQ(r::parse_duration_us(GetParam().input), GetParam().us) << GetParam().input.dump();
}

INSTANTIATE_TEST_SUITE_P(
    inputs, parse_duration,
    testing::Values(parse_duration_case{"90s", 90 * us_per_s}, parse_duration_case{"5m", 5 * us_per_min},
                    parse_duration_case{"6h", 6 * us_per_h}, parse_duration_case{"1d", us_per_day},
                    parse_duration_case{30, 30 * us_per_s}, parse_duration_case{1.5, std::nullopt},
                    parse_duration_case{30.0, 30 * us_per_s},
                    parse_duration_case{"0s", 0}, parse_duration_case{"5", std::nullopt},
                    parse_duration_case{"10", std::nullopt}, parse_duration_case{"s", std::nullopt},
                    parse_duration_case{"", std::nullopt}, parse_duration_case{"5 s", std::nullopt},
                    parse_duration_case{"-5s", std::nullopt}, parse_duration_case{"5w", std::nullopt},
                    parse_duration_case{"1.5h", std::nullopt}, parse_duration_case{"5S", std::nullopt},
                    parse_duration_case{true, std::nullopt}, parse_duration_case{json::array(), std::nullopt}));

// ---- the stored spec

// Every field of a rule's kind, as text: two specs are the same rule when these are equal.
std::string describe(const r::rule_spec& spec) {
  std::ostringstream out;
  std::visit(
      [&](const auto& k) {
        using K = std::decay_t<decltype(k)>;
        out << r::kind_name(spec);
        if constexpr (std::is_same_v<K, r::threshold_rule>)
          out << " " << k.metric << " " << r::op_text(k.o) << " " << k.value << " for " << k.for_us << " clear "
              << (k.clear ? std::to_string(*k.clear) : "-");
        else if constexpr (std::is_same_v<K, r::rate_rule>)
          out << " " << k.metric << " delta " << k.delta << " window " << k.window_us;
        else if constexpr (std::is_same_v<K, r::silence_rule>)
          out << " for " << k.for_us;
        else if constexpr (std::is_same_v<K, r::inactivity_rule>)
          out << " " << k.metric << " weeks " << k.model.learn_weeks << " days " << k.model.min_days << " q "
              << k.model.quantile << " x " << k.model.factor << " [" << k.model.floor_us << ", " << k.model.ceiling_us
              << "] cold " << k.model.cold_start_us;
        else if constexpr (std::is_same_v<K, r::bunching_rule>)
          out << " route " << k.route << " ratio " << k.ratio << " distance " << (k.distance_m ? *k.distance_m : -1.0);
        else {
          out << " window " << k.window_us;
          for (const auto& c : k.conditions) out << " [" << c.metric << r::op_text(c.o) << c.value << " " << c.kind << "]";
        }
      },
      spec);
  return out.str();
}

class spec_round_trip : public testing::TestWithParam<json> {};

TEST_P(spec_round_trip, rule_from_spec_gives_back_the_same_rule) {
  auto o = r::parse_rule(GetParam());
  ASSERT_TRUE(o) << o.error().describe();
  auto back = r::rule_from_spec(o->spec_json);
  EXPECT_EQ(back.spec_json, o->spec_json);
  EXPECT_EQ(back.id, o->id);
  EXPECT_EQ(back.kind, o->kind);
  EXPECT_EQ(describe(back.spec), describe(o->spec));
}

INSTANTIATE_TEST_SUITE_P(kinds, spec_round_trip,
                         testing::Values(threshold(), with(threshold(), "clear", 9), rate(), silence(), composite(),
                                         with(silence(), "selector", {{"domain", "welfare"}}),
                                         json{{"id", "i1"}, {"name", "quiet"}, {"kind", "inactivity"},
                                              {"severity", "warning"}, {"metric", "motion"}, {"factor", 2.5},
                                              {"floor", 1800}, {"cold_start", "1d"}},
                                         json{{"id", "b1"}, {"name", "bunching"}, {"kind", "bunching"},
                                              {"severity", "warning"}, {"route", "R1"}, {"ratio", 0.4},
                                              {"distance_m", 150}}));

TEST(spec_round_trip, a_stored_spec_that_no_longer_parses_throws) {
  EXPECT_THROW(r::rule_from_spec(without(threshold(), "metric").dump()), std::runtime_error);
}

// A duration with a fraction of a second is accepted (1.5 -> 1500000 us) but stored as whole
// seconds ("1s"), so the rule changes at the next start; a silence `for` of 0.5 is stored as "0s",
// which rule_from_spec then refuses ("must be positive") and throws while loading the rules.
// Enable when fractional-second durations are either refused by parse_rule or stored exactly.
TEST(spec_round_trip, fractional_second_durations_survive_or_are_refused) {
  for (const json& body : {with(threshold(), "for", 1.5), with(silence(), "for", 0.5)}) {
    SCOPED_TRACE(body.dump());
    auto o = r::parse_rule(body);
    if (!o) continue;  // refusing is a fix too
    r::rule back;
    ASSERT_NO_THROW(back = r::rule_from_spec(o->spec_json)) << o->spec_json;
    EXPECT_EQ(describe(back.spec), describe(o->spec)) << o->spec_json;
  }
}

// ---- FINDINGS 3: durations bounded, rate windows at most a day

struct bound_case {
  json body;
  const char* pointer;
};

std::vector<bound_case> huge_durations_refused_today() {
  return {{with(threshold(), "for", "367d"), "/for"},
          {with(threshold(), "for", 367 * 86400), "/for"},
          {with(silence(), "for", "9000h"), "/for"},
          {with(composite(), "window", "527041m"), "/window"},
          {with(threshold(), "for", "9999999999999d"), "/for"},
          {with(silence(), "for", 1e300), "/for"},
          {with(rate(), "window", 1e300), "/window"}};
}

TEST(duration_bounds, durations_over_366_days_are_refused_with_the_field_pointer) {
  for (const auto& c : huge_durations_refused_today()) {
    SCOPED_TRACE(c.body.dump());
    auto o = r::parse_rule(c.body);
    ASSERT_FALSE(o) << o->spec_json;
    EXPECT_TRUE(pointers(o.error()).count(c.pointer)) << o.error().describe();
  }
}

// Each of these overflows int64 microseconds and wraps into the accepted range today:
// "213503983d" -> 57490448384 us (57 s), 18446744073710 (seconds) -> 448384 us,
// "5124095577h" -> 3490448384 us, "307445734562m" -> 10448384 us.
// FINDINGS 3
TEST(duration_bounds, durations_that_overflow_int64_microseconds_are_refused) {
  const std::vector<bound_case> cases = {
      {with(threshold(), "for", "213503983d"), "/for"},
      {with(silence(), "for", 18446744073710LL), "/for"},
      {with(silence(), "for", "5124095577h"), "/for"},
      {with(threshold(), "for", "307445734562m"), "/for"},
      {with(rate(), "window", "213503983d"), "/window"},
      {with(composite(), "window", "18446744073710s"), "/window"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body.dump());
    auto o = r::parse_rule(c.body);
    EXPECT_FALSE(o) << "accepted as " << o->spec_json;
    if (o) continue;
    EXPECT_TRUE(pointers(o.error()).count(c.pointer)) << o.error().describe();
  }
}

TEST(duration_bounds, a_rate_window_of_one_day_is_accepted) {
  for (const json& w : {json("86400s"), json("1440m"), json("24h"), json("1d"), json(86400)}) {
    auto o = r::parse_rule(with(rate(), "window", w));
    ASSERT_TRUE(o) << w.dump() << ": " << o.error().describe();
    EXPECT_EQ(std::get<r::rate_rule>(o->spec).window_us, us_per_day);
  }
}

// FINDINGS 3
TEST(duration_bounds, a_rate_window_over_one_day_is_refused) {
  for (const json& w : {json("86401s"), json("1441m"), json("25h"), json("2d"), json(86401), json("366d")}) {
    SCOPED_TRACE(w.dump());
    auto o = r::parse_rule(with(rate(), "window", w));
    EXPECT_FALSE(o) << "accepted as " << o->spec_json;
    if (o) continue;
    EXPECT_EQ(pointers(o.error()), std::set<std::string>{"/window"}) << o.error().describe();
  }
}

}  // namespace
