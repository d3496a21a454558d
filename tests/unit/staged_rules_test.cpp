// Staged threshold rules (API §12): parsing (order, duplicates, pointers), the pure stage step
// (rising, falling, stage clears, `for`), the engine's one alert per (rule, sensor) with severity
// changes, restore after a restart, and the bilingual alert words.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "maeul/rules/rules.hpp"
#include "support/fake_clock.hpp"

namespace {

namespace r = maeul::rules;
using maeul::test::t0_us;
using maeul::test::us_per_min;
using maeul::test::us_per_s;
using nlohmann::json;

json staged_body(const json& stages, const json& for_ = "0s") {
  return {{"id", "flood"}, {"name", {{"ko", "하천 수위"}, {"en", "River level"}}}, {"kind", "threshold"},
          {"metric", "level"}, {"op", ">="}, {"stages", stages}, {"for", for_}, {"clear", 1.2},
          {"incident", {{"category", "flood"}}}};
}

const json three = json::array({{{"value", 1.5}, {"severity", "info"}},
                                 {{"value", 2}, {"severity", "warning"}, {"clear", 1.8}},
                                 {{"value", 3}, {"severity", "critical"}}});

r::rule rule_of(const json& body) {
  auto o = r::parse_rule(body);
  if (!o) throw std::runtime_error("test rule does not parse: " + o.error().describe());
  return o.value();
}

std::vector<std::string> pointers(const json& body) {
  auto o = r::parse_rule(body);
  std::vector<std::string> out;
  if (o) return out;
  for (const auto& e : o.error().errors) out.push_back(e.pointer);
  return out;
}

const r::threshold_rule& spec_of(const r::rule& x) { return std::get<r::threshold_rule>(x.spec); }

TEST(StagedRuleParse, NormalizesStagesSeverityAndIncident) {
  auto x = rule_of(staged_body(three));
  EXPECT_EQ(x.severity, "critical");  // the highest stage's
  EXPECT_EQ(x.incident_category, "flood");
  ASSERT_EQ(spec_of(x).stages.size(), 3u);
  EXPECT_DOUBLE_EQ(spec_of(x).value, 1.5);
  auto j = json::parse(x.spec_json);
  EXPECT_EQ(j["stages"][1]["clear"], 1.8);
  EXPECT_FALSE(j.contains("value"));
  EXPECT_EQ(j["incident"]["category"], "flood");
  // stored and rebuilt the same
  auto again = r::rule_from_spec(x.spec_json);
  EXPECT_EQ(again.spec_json, x.spec_json);
  EXPECT_EQ(again.incident_category, "flood");
}

TEST(StagedRuleParse, OutOfOrderAndDuplicateStagesPointAtTheStage) {
  auto out_of_order = three;
  out_of_order[1]["value"] = 1.0;
  out_of_order[1].erase("clear");
  EXPECT_EQ(pointers(staged_body(out_of_order)), std::vector<std::string>{"/stages/1/value"});
  auto duplicate = three;
  duplicate[2]["value"] = 2;
  EXPECT_EQ(pointers(staged_body(duplicate)), std::vector<std::string>{"/stages/2/value"});
  auto falling_severity = three;
  falling_severity[2]["severity"] = "info";
  EXPECT_EQ(pointers(staged_body(falling_severity)), std::vector<std::string>{"/stages/2/severity"});
  auto unsafe_clear = three;
  unsafe_clear[1]["clear"] = 2.5;
  EXPECT_EQ(pointers(staged_body(unsafe_clear)), std::vector<std::string>{"/stages/1/clear"});
  auto both = staged_body(three);
  both["value"] = 2;
  EXPECT_EQ(pointers(both), std::vector<std::string>{"/value"});
  EXPECT_EQ(pointers(staged_body(json::array())), std::vector<std::string>{"/stages"});
  auto bad_incident = staged_body(three);
  bad_incident["incident"] = {{"category", 5}};
  EXPECT_EQ(pointers(bad_incident), std::vector<std::string>{"/incident/category"});
  // falling rules (op <) need decreasing values
  auto low = staged_body(json::array({{{"value", 3}, {"severity", "warning"}}, {{"value", 4}, {"severity", "critical"}}}));
  low["op"] = "<";
  low.erase("clear");
  EXPECT_EQ(pointers(low), std::vector<std::string>{"/stages/1/value"});
}

TEST(StageStep, RisesFallsAndClearsPerStage) {
  auto t = spec_of(rule_of(staged_body(three)));
  r::stage_state st;
  EXPECT_EQ(r::stage_step(t, st, 1.0, t0_us), -1);
  EXPECT_EQ(r::stage_step(t, st, 1.6, t0_us + 1), 0);
  EXPECT_EQ(r::stage_step(t, st, 2.4, t0_us + 2), 1);
  EXPECT_EQ(r::stage_step(t, st, 3.6, t0_us + 3), 2);
  // stage 2 clears at its value (3): 3.0 holds it, 2.9 steps down to stage 1
  EXPECT_EQ(r::stage_step(t, st, 3.0, t0_us + 4), 2);
  EXPECT_EQ(r::stage_step(t, st, 2.9, t0_us + 5), 1);
  // stage 1 has its own clear (1.8): 1.9 holds it though below its value
  EXPECT_EQ(r::stage_step(t, st, 1.9, t0_us + 6), 1);
  EXPECT_EQ(r::stage_step(t, st, 1.7, t0_us + 7), 0);
  // stage 0 clears at the rule's clear (1.2)
  EXPECT_EQ(r::stage_step(t, st, 1.3, t0_us + 8), 0);
  EXPECT_EQ(r::stage_step(t, st, 1.1, t0_us + 9), -1);
  // a fall through several stages at once, and a jump over a stage
  EXPECT_EQ(r::stage_step(t, st, 3.2, t0_us + 10), 2);
  EXPECT_EQ(r::stage_step(t, st, 0.5, t0_us + 11), -1);
}

TEST(StageStep, RisingWaitsForTheDurationWithoutABreak) {
  auto t = spec_of(rule_of(staged_body(three, "5m")));
  r::stage_state st;
  EXPECT_EQ(r::stage_step(t, st, 1.6, t0_us), -1);
  EXPECT_EQ(r::stage_step(t, st, 1.6, t0_us + 4 * us_per_min), -1);
  EXPECT_EQ(r::stage_step(t, st, 1.4, t0_us + 4 * us_per_min + us_per_s), -1);  // a break: starts again
  EXPECT_EQ(r::stage_step(t, st, 1.6, t0_us + 5 * us_per_min), -1);
  // 5 min beyond stage 1 (1.5), stage 2 (2) only just reached: the stage held for the whole `for`.
  EXPECT_EQ(r::stage_step(t, st, 2.5, t0_us + 10 * us_per_min), 0);
  EXPECT_EQ(r::stage_step(t, st, 3.5, t0_us + 11 * us_per_min), 0);  // rising again waits
  // Stage 2 held since minute 10: reached at 15; stage 3 (since 11) waits its own 5 minutes from there.
  EXPECT_EQ(r::stage_step(t, st, 3.5, t0_us + 15 * us_per_min), 1);
  EXPECT_EQ(r::stage_step(t, st, 3.5, t0_us + 19 * us_per_min), 1);
  EXPECT_EQ(r::stage_step(t, st, 3.5, t0_us + 20 * us_per_min), 2);
  EXPECT_EQ(r::stage_step(t, st, 2.5, t0_us + 20 * us_per_min + 1), 1);  // falling is at once
}

TEST(StageStep, ACriticalStageReachedLateInTheWindowWaitsItsOwnDuration) {
  // The review's case: `for` 10 min, beyond stage 1 at t0, beyond stage 3 at t0+9 min: at t0+10 min
  // stage 1 opens, not critical after one minute.
  auto t = spec_of(rule_of(staged_body(three, "10m")));
  r::stage_state st;
  EXPECT_EQ(r::stage_step(t, st, 1.6, t0_us), -1);
  EXPECT_EQ(r::stage_step(t, st, 3.5, t0_us + 9 * us_per_min), -1);
  EXPECT_EQ(r::stage_step(t, st, 3.5, t0_us + 10 * us_per_min), 0);
  EXPECT_EQ(r::stage_step(t, st, 3.5, t0_us + 19 * us_per_min), 0);
  EXPECT_EQ(r::stage_step(t, st, 3.5, t0_us + 20 * us_per_min), 2);
}

r::reading at(const r::sensor_info& s, double v, std::int64_t ts) { return {s, "level", ts, v}; }
const r::sensor_info wl1{"wl-1", "water_level", "disaster", "z1", 0};

TEST(StagedEngine, OneAlertWhoseSeverityFollowsTheStage) {
  r::engine e;
  std::vector<r::rule> rules;
  rules.push_back(rule_of(staged_body(three)));
  e.set_rules(std::move(rules));
  std::vector<r::transition> all;
  for (auto [v, dt] : std::vector<std::pair<double, int>>{{1.0, 0}, {1.6, 1}, {2.2, 2}, {2.3, 3}, {3.4, 4}, {2.5, 5}, {1.0, 6}}) {
    auto ts = e.on_readings({at(wl1, v, t0_us + dt * us_per_s)});
    all.insert(all.end(), ts.begin(), ts.end());
  }
  ASSERT_EQ(all.size(), 5u);
  EXPECT_TRUE(all[0].open);
  EXPECT_FALSE(all[0].severity_change);
  EXPECT_EQ(all[0].severity, "info");
  EXPECT_EQ(all[0].stage, 0);
  EXPECT_TRUE(all[1].severity_change);
  EXPECT_EQ(all[1].severity, "warning");
  EXPECT_EQ(all[2].severity, "critical");
  EXPECT_EQ(all[2].stage, 2);
  EXPECT_EQ(all[3].severity, "warning");
  EXPECT_TRUE(all[3].severity_change);
  EXPECT_FALSE(all[4].open);
  EXPECT_FALSE(e.active("flood", "wl-1"));
}

TEST(StagedEngine, RestoredStageStepsDownAfterARestart) {
  r::engine e;
  std::vector<r::rule> rules;
  rules.push_back(rule_of(staged_body(three)));
  e.set_rules(std::move(rules));
  e.restore_active("flood", "wl-1", 2);
  auto ts = e.on_readings({at(wl1, 2.5, t0_us)});
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_TRUE(ts[0].severity_change);
  EXPECT_EQ(ts[0].severity, "warning");
  ts = e.on_readings({at(wl1, 2.6, t0_us + 1)});
  EXPECT_TRUE(ts.empty());
  // a stage beyond the rule's (a rule changed while stopped) is clamped
  r::engine e2;
  std::vector<r::rule> rules2;
  rules2.push_back(rule_of(staged_body(three)));
  e2.set_rules(std::move(rules2));
  e2.restore_active("flood", "wl-1", 9);
  ts = e2.on_readings({at(wl1, 3.5, t0_us)});
  EXPECT_TRUE(ts.empty());
}

TEST(AlertWords, BilingualWithNumbersAndUnits) {
  auto x = rule_of(staged_body(three));
  auto w = r::describe_alert(x, "wl-1", "level", 3.6, "m", "critical", 2, "");
  EXPECT_EQ(w.title.en, "River level · wl-1");
  EXPECT_EQ(w.title.ko, "하천 수위 · wl-1");
  EXPECT_NE(w.text.en.find("3.6 m"), std::string::npos) << w.text.en;
  EXPECT_NE(w.text.en.find("stage 3 of 3"), std::string::npos) << w.text.en;
  EXPECT_NE(w.text.ko.find("3단계 중 3단계"), std::string::npos) << w.text.ko;
  EXPECT_NE(w.text.ko.find("위험"), std::string::npos) << w.text.ko;
  EXPECT_EQ(w.text.ko.rfind("수위 3.6 m", 0), 0u) << "the metric's Korean name: " << w.text.ko;
  auto lower = r::describe_alert(x, "wl-1", "level", 2.2, "m", "warning", 1, "");
  EXPECT_NE(lower.text.en.find("next stage at 3 m"), std::string::npos) << lower.text.en;
  auto plain = rule_of({{"id", "p"}, {"name", "High"}, {"kind", "threshold"}, {"severity", "warning"},
                        {"metric", "pm25"}, {"op", ">"}, {"value", 35}, {"for", "5m"}});
  auto p = r::describe_alert(plain, "aq-1", "pm25", 40, "µg/m³", "", -1, "");
  EXPECT_NE(p.text.en.find("pm25 40 µg/m³, above 35 µg/m³ for 5m"), std::string::npos) << p.text.en;
  EXPECT_NE(p.text.ko.find("5분 지속"), std::string::npos) << p.text.ko;
}

}  // namespace
