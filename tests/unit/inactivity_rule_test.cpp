// The `inactivity` rule kind (rules/rules.hpp, rules/routine.hpp) in the engine: its validation
// and normalized spec, learning from readings, opening on ticks when the gap is unusual for the
// hour (a quiet morning) and not at night, cold start, clearing at the next activity, the
// `metric` filter, the routine memory bound. Time is numbers; no clock.
#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "maeul/rules/rules.hpp"
#include "support/fake_clock.hpp"

namespace {

namespace r = maeul::rules;
namespace d = maeul::domain;
using maeul::test::t0_us;
using maeul::test::us_per_day;
using maeul::test::us_per_h;
using maeul::test::us_per_min;
using maeul::test::us_per_s;
using nlohmann::json;

constexpr std::int64_t monday = t0_us + 47 * us_per_h;  // 2026-11-23 00:00 UTC

json inactivity(json extra = json::object()) {
  json b = {{"id", "in1"},       {"name", "unusual quiet"}, {"kind", "inactivity"}, {"severity", "warning"},
            {"selector", {{"kind", "home_activity"}}}};
  for (auto& [k, v] : extra.items()) b[k] = v;
  return b;
}

r::rule rule_of(const json& body) {
  auto o = r::parse_rule(body);
  if (!o) throw std::runtime_error("test rule does not parse: " + o.error().describe());
  return o.value();
}

std::set<std::string> pointers(const d::problem& p) {
  std::set<std::string> out;
  for (const auto& e : p.errors) out.insert(e.pointer);
  return out;
}

// ---- validation

TEST(inactivity_parse, defaults_are_filled_in_and_normalized) {
  auto o = r::parse_rule(inactivity());
  ASSERT_TRUE(o) << o.error().describe();
  EXPECT_EQ(o->kind, "inactivity");
  EXPECT_STREQ(r::kind_name(o->spec), "inactivity");
  auto spec = json::parse(o->spec_json);
  EXPECT_EQ(spec["learn_weeks"], 4);
  EXPECT_EQ(spec["min_days"], 7);
  EXPECT_EQ(spec["quantile"], 0.95);
  EXPECT_EQ(spec["factor"], 1.5);
  EXPECT_EQ(spec["floor"], "1h");
  EXPECT_EQ(spec["ceiling"], "16h");
  EXPECT_EQ(spec["cold_start"], "12h");
  EXPECT_FALSE(spec.contains("metric"));
  const auto& in = std::get<r::inactivity_rule>(o->spec);
  EXPECT_EQ(in.model.floor_us, us_per_h);
  EXPECT_EQ(in.model.ceiling_us, 16 * us_per_h);
}

TEST(inactivity_parse, given_fields_are_kept_and_the_spec_parses_back_to_the_same_rule) {
  auto o = r::parse_rule(inactivity({{"metric", "motion"}, {"learn_weeks", 2}, {"min_days", 10}, {"quantile", 0.9},
                                     {"factor", 2}, {"floor", "30m"}, {"ceiling", 36000}, {"cold_start", "8h"}}));
  ASSERT_TRUE(o) << o.error().describe();
  auto spec = json::parse(o->spec_json);
  EXPECT_EQ(spec["metric"], "motion");
  EXPECT_EQ(spec["min_days"], 10);
  EXPECT_EQ(spec["ceiling"], "10h");
  auto back = r::rule_from_spec(o->spec_json);
  EXPECT_EQ(back.spec_json, o->spec_json);
  const auto& a = std::get<r::inactivity_rule>(o->spec);
  const auto& b = std::get<r::inactivity_rule>(back.spec);
  EXPECT_EQ(a.metric, b.metric);
  EXPECT_EQ(a.model.learn_weeks, b.model.learn_weeks);
  EXPECT_EQ(a.model.min_days, b.model.min_days);
  EXPECT_EQ(a.model.quantile, b.model.quantile);
  EXPECT_EQ(a.model.factor, b.model.factor);
  EXPECT_EQ(a.model.floor_us, b.model.floor_us);
  EXPECT_EQ(a.model.ceiling_us, b.model.ceiling_us);
  EXPECT_EQ(a.model.cold_start_us, b.model.cold_start_us);
}

struct invalid_case {
  const char* name;
  json extra;
  std::set<std::string> pointers;
};

class inactivity_invalid : public testing::TestWithParam<invalid_case> {};

TEST_P(inactivity_invalid, reports_each_bad_field_with_its_pointer) {
  auto o = r::parse_rule(inactivity(GetParam().extra));
  ASSERT_FALSE(o) << "accepted: " << o.value().spec_json;
  EXPECT_EQ(pointers(o.error()), GetParam().pointers) << o.error().describe();
  for (const auto& e : o.error().errors) EXPECT_FALSE(e.detail.empty()) << e.pointer;
}

INSTANTIATE_TEST_SUITE_P(
    cases, inactivity_invalid,
    testing::Values(invalid_case{"learn_weeks_zero", {{"learn_weeks", 0}}, {"/learn_weeks"}},
                    invalid_case{"learn_weeks_thirteen", {{"learn_weeks", 13}}, {"/learn_weeks"}},
                    invalid_case{"learn_weeks_a_string", {{"learn_weeks", "4"}}, {"/learn_weeks"}},
                    invalid_case{"learn_weeks_a_fraction", {{"learn_weeks", 1.5}}, {"/learn_weeks"}},
                    invalid_case{"min_days_zero", {{"min_days", 0}}, {"/min_days"}},
                    invalid_case{"min_days_past_the_ring", {{"learn_weeks", 1}, {"min_days", 8}}, {"/min_days"}},
                    invalid_case{"quantile_below_half", {{"quantile", 0.4}}, {"/quantile"}},
                    invalid_case{"quantile_above_one", {{"quantile", 1.01}}, {"/quantile"}},
                    invalid_case{"quantile_a_string", {{"quantile", "high"}}, {"/quantile"}},
                    invalid_case{"factor_below_one", {{"factor", 0.5}}, {"/factor"}},
                    invalid_case{"factor_above_ten", {{"factor", 11}}, {"/factor"}},
                    invalid_case{"floor_zero", {{"floor", "0s"}}, {"/floor"}},
                    invalid_case{"floor_malformed", {{"floor", "1 hour"}}, {"/floor"}},
                    invalid_case{"ceiling_below_floor", {{"floor", "2h"}, {"ceiling", "1h"}}, {"/ceiling"}},
                    invalid_case{"ceiling_over_366_days", {{"ceiling", "367d"}}, {"/ceiling"}},
                    invalid_case{"cold_start_zero", {{"cold_start", "0s"}}, {"/cold_start"}},
                    invalid_case{"cold_start_negative", {{"cold_start", -5}}, {"/cold_start"}},
                    invalid_case{"metric_not_a_token", {{"metric", "Motion"}}, {"/metric"}},
                    invalid_case{"several_fields", {{"learn_weeks", 0}, {"factor", 0}, {"cold_start", true}},
                                 {"/learn_weeks", "/factor", "/cold_start"}}),
    [](const testing::TestParamInfo<invalid_case>& i) { return std::string(i.param.name); });

// ---- evaluation

const r::sensor_info home1{"home-1", "home_activity", "welfare", "z1", 0};

// Drives an engine minute by minute: the household is active every 20 minutes from `wake` to
// `sleep` o'clock (both included), and the clock ticks every `tick` minutes. Returns every
// transition, in order.
struct household {
  r::engine& e;
  r::sensor_info info = home1;
  std::int64_t started = monday;

  std::vector<r::transition> tick(std::int64_t now) { return e.on_tick(now, {info}, started); }
  std::vector<r::transition> act(std::int64_t at, const char* metric = "motion", double value = 1) {
    info.last_ts_us = at;
    return e.on_readings({{info, metric, at, value}});
  }
  std::vector<r::transition> run(std::int64_t from, std::int64_t to, int wake, int sleep, int tick_min = 10) {
    std::vector<r::transition> out;
    for (std::int64_t t = from; t < to; t += us_per_min) {
      const std::int64_t of_day = ((t - monday) % us_per_day) / us_per_min;
      if (of_day >= wake * 60 && of_day <= sleep * 60 && of_day % 20 == 0)
        for (auto& x : act(t)) out.push_back(std::move(x));
      if (of_day % tick_min == 0)
        for (auto& x : tick(t)) out.push_back(std::move(x));
    }
    return out;
  }
};

std::size_t count(const std::vector<r::transition>& ts, const std::string& rule, bool open) {
  std::size_t n = 0;
  for (const auto& t : ts) n += t.rule_id == rule && t.open == open;
  return n;
}

TEST(inactivity_engine, learns_the_routine_then_opens_on_a_quiet_morning_but_never_at_night) {
  r::engine e;
  e.set_rules({rule_of(inactivity({{"learn_weeks", 1}, {"min_days", 7}})),
               rule_of({{"id", "s2"}, {"name", "silent 2h"}, {"kind", "silence"}, {"severity", "warning"},
                        {"for", "2h"}, {"selector", {{"kind", "home_activity"}}}})});
  household h{e};
  // Eight days up 07:00-22:00: a 9-hour night each time.
  auto learning = h.run(monday, monday + 8 * us_per_day, 7, 22);
  EXPECT_EQ(count(learning, "in1", true), 0u) << "nights of 9 h are under the cold start limit of 12 h";
  EXPECT_GE(count(learning, "s2", true), 8u) << "the plain silence rule of 2 h opens every night";
  const auto* m = e.routine_of("in1", "home-1");
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(m->learned());
  EXPECT_EQ(m->limit_at(3), 9 * us_per_h) << "03:00: 6 h of night by 04:00, * 1.5";

  // The ninth night passes quietly; the household gets up at 07:00, then nothing after 08:00.
  const std::int64_t d8 = monday + 8 * us_per_day;
  auto night = h.run(d8, d8 + 8 * us_per_h + us_per_min, 7, 8);
  EXPECT_EQ(count(night, "in1", true), 0u);
  auto morning = h.run(d8 + 8 * us_per_h + us_per_min, d8 + 9 * us_per_h + us_per_min, 99, 99, 1);
  EXPECT_EQ(count(morning, "in1", true), 0u) << "a gap of 1 h at 09:00 is at the limit, not past it";
  auto late = h.tick(d8 + 9 * us_per_h + us_per_min);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].rule_id, "in1");
  EXPECT_TRUE(late[0].open);
  EXPECT_EQ(late[0].subject, "home-1");
  EXPECT_EQ(late[0].sensor, "home-1");
  EXPECT_EQ(late[0].domain, "welfare");
  EXPECT_EQ(late[0].at_us, d8 + 9 * us_per_h + us_per_min);
  EXPECT_EQ(late[0].message, "no activity for 1h1m; unusual at this hour (limit 1h, learned from 7 days)");
  EXPECT_TRUE(e.active("in1", "home-1"));
  EXPECT_TRUE(h.tick(d8 + 9 * us_per_h + 30 * us_per_min).empty()) << "opens once";

  // The next activity clears it.
  auto back = h.act(d8 + 10 * us_per_h + 30 * us_per_min);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_FALSE(back[0].open);
  EXPECT_EQ(back[0].message, "activity again after 2h30m");
  EXPECT_FALSE(e.active("in1", "home-1"));
}

TEST(inactivity_engine, cold_start_is_a_fixed_limit_from_the_newest_reading_or_the_start) {
  r::engine e;
  e.set_rules({rule_of(inactivity({{"cold_start", "12h"}}))});
  r::sensor_info never = home1, known = home1;
  never.id = "home-never";
  known.id = "home-known";
  known.last_ts_us = monday + us_per_h;  // a reading from before this engine (a restart)
  auto tick = [&](std::int64_t now) { return e.on_tick(now, {never, known}, monday); };
  EXPECT_TRUE(tick(monday + 12 * us_per_h).empty());
  auto a = tick(monday + 12 * us_per_h + us_per_s);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].subject, "home-never");
  EXPECT_EQ(a[0].message, "no activity for 12h since monitoring began (cold start limit 12h; nothing learned yet)");
  EXPECT_TRUE(tick(monday + 13 * us_per_h).empty());
  auto b = tick(monday + 13 * us_per_h + us_per_s);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].subject, "home-known");
  EXPECT_EQ(b[0].message, "no activity for 12h (cold start limit 12h; nothing learned yet)");
  // A reading clears it; with 1 day learned of 7 the limit is still cold_start.
  auto c = e.on_readings({{known, "motion", monday + 14 * us_per_h, 1}});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_FALSE(c[0].open);
  EXPECT_EQ(c[0].message, "activity again");
  EXPECT_TRUE(tick(monday + 26 * us_per_h).empty());
  auto d = tick(monday + 26 * us_per_h + us_per_s);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].message, "no activity for 12h (cold start limit 12h; 0 of 7 days learned)");
}

TEST(inactivity_engine, with_a_metric_only_its_readings_above_zero_are_activity) {
  r::engine e;
  e.set_rules({rule_of(inactivity({{"metric", "motion"}}))});
  household h{e};
  h.act(monday, "motion", 0);
  h.act(monday + us_per_min, "door", 1);
  h.act(monday + 2 * us_per_min, "power_use", 120);
  const auto* m = e.routine_of("in1", "home-1");
  EXPECT_TRUE(m == nullptr || !m->seen()) << "zero motion, a door and power use are not motion";
  h.act(monday + 3 * us_per_min, "motion", 2);
  m = e.routine_of("in1", "home-1");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->last_activity_us(), monday + 3 * us_per_min);
  // With a metric, the newest reading of any metric is no anchor: the gap counts from the start.
  r::engine e2;
  e2.set_rules({rule_of(inactivity({{"metric", "motion"}}))});
  r::sensor_info busy = home1;
  busy.last_ts_us = monday + 6 * us_per_h;
  auto a = e2.on_tick(monday + 12 * us_per_h + us_per_s, {busy}, monday);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_NE(a[0].message.find("since monitoring began"), std::string::npos) << a[0].message;
}

TEST(inactivity_engine, an_alert_restored_at_start_clears_at_the_first_activity) {
  r::engine e;
  e.set_rules({rule_of(inactivity())});
  e.restore_active("in1", "home-1");
  EXPECT_TRUE(e.on_tick(monday + 20 * us_per_h, {home1}, monday).empty()) << "already open: not again";
  auto c = e.on_readings({{home1, "motion", monday + 21 * us_per_h, 1}});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_FALSE(c[0].open);
  EXPECT_FALSE(e.active("in1", "home-1"));
}

TEST(inactivity_engine, an_unchanged_rule_keeps_its_routines_and_a_changed_one_starts_over) {
  r::engine e;
  e.set_rules({rule_of(inactivity())});
  e.on_readings({{home1, "motion", monday, 1}});
  ASSERT_NE(e.routine_of("in1", "home-1"), nullptr);
  e.set_rules({rule_of(inactivity())});
  ASSERT_NE(e.routine_of("in1", "home-1"), nullptr);
  EXPECT_EQ(e.routine_of("in1", "home-1")->last_activity_us(), monday);
  e.set_rules({rule_of(inactivity({{"factor", 2}}))});
  EXPECT_EQ(e.routine_of("in1", "home-1"), nullptr);
}

TEST(inactivity_engine, routines_are_bounded_per_rule_and_refusals_are_counted) {
  r::engine e(4);  // 4 subject-weeks: 2 subjects at learn_weeks 2
  e.set_rules({rule_of(inactivity({{"learn_weeks", 2}}))});
  std::vector<r::sensor_info> homes;
  for (const char* id : {"h-a", "h-b", "h-c"}) {
    r::sensor_info s = home1;
    s.id = id;
    homes.push_back(s);
  }
  for (const auto& s : homes) e.on_readings({{s, "motion", monday, 1}});
  EXPECT_NE(e.routine_of("in1", "h-a"), nullptr);
  EXPECT_NE(e.routine_of("in1", "h-b"), nullptr);
  EXPECT_EQ(e.routine_of("in1", "h-c"), nullptr);
  EXPECT_EQ(e.routines_refused(), 1);
  // Nor does the third get a cold-start alert state past the bound (and ticks count nothing).
  EXPECT_EQ(e.on_tick(monday + 13 * us_per_h, homes, monday).size(), 2u);
  EXPECT_EQ(e.on_tick(monday + 14 * us_per_h, homes, monday).size(), 0u);
  EXPECT_EQ(e.routines_refused(), 1);
  e.on_readings({{homes[2], "motion", monday + 15 * us_per_h, 1}});
  EXPECT_EQ(e.routines_refused(), 2);
}

}  // namespace
