// Live-operations storage (storage/operations.hpp) against a real PostgreSQL: rules CRUD, the alert
// state machine and its audit events with snapshots, incidents and their timelines, and the
// webhook outbox (enqueue in the same statement, claim, back-off, dead).
#include <map>
#include <set>
#include <vector>

#include "maeul/rules/rules.hpp"
#include "maeul/storage/operations.hpp"
#include "pg_support.hpp"

namespace {

using namespace maeul_test;
namespace rules = maeul::rules;

rules::rule make_rule(json body) {
  auto r = rules::parse_rule(body);
  if (!r.ok()) throw std::invalid_argument("test rule does not validate: " + r.error().describe());
  return r.value();
}

rules::rule threshold_rule(const std::string& id, const std::string& severity, double value = 3) {
  return make_rule({{"id", id},
                    {"name", {{"ko", "수위 " + id}, {"en", "Level " + id}}},
                    {"kind", "threshold"},
                    {"selector", {{"kind", "water_level"}}},
                    {"severity", severity},
                    {"metric", "level"},
                    {"op", ">"},
                    {"value", value}});
}

rules::transition opening(const std::string& rule, const std::string& subject, double value,
                          const std::string& domain_ = "disaster", const std::string& zone = "cheongho") {
  rules::transition t;
  t.rule_id = rule;
  t.subject = subject;
  t.open = true;
  t.sensor = subject;
  t.zone = zone;
  t.domain = domain_;
  t.metric = "level";
  t.value = value;
  t.message = "level " + std::to_string(value) + " > 3";
  return t;
}

rules::transition clearing(const std::string& rule, const std::string& subject, const std::string& message) {
  rules::transition t;
  t.rule_id = rule;
  t.subject = subject;
  t.open = false;
  t.message = message;
  return t;
}

class operations : public fresh_db {
 protected:
  void SetUp() override {
    fresh_db::SetUp();
    if (HasFatalFailure()) return;
    ops_ = std::make_unique<storage::operations_store>(*pool_);
  }
  void TearDown() override {
    ops_.reset();
    fresh_db::TearDown();
  }

 public:
  storage::operations_store& ops() { return *ops_; }

  std::vector<storage::alert_event> apply(std::vector<rules::transition> ts, std::vector<rules::rule> rs) {
    return sync(ops().apply(std::move(ts), std::move(rs)));
  }

  json alert(std::int64_t id) {
    auto a = sync(ops().get_alert(id));
    EXPECT_TRUE(a.ok());
    return a.ok() ? json::parse(a.value()) : json();
  }

  // alert_events rows of one alert, in id order: {event, actor, note, snapshot}.
  std::vector<json> events_of(std::int64_t alert_id) {
    std::vector<json> out;
    for (const auto& r : query_params("SELECT id, event, actor, note, alert::text FROM alert_events WHERE alert_id = $1 "
                                      "ORDER BY id",
                                      alert_id))
      out.push_back({{"id", r[0].as<std::int64_t>()},
                     {"event", r[1].as<std::string>()},
                     {"actor", r[2].is_null() ? json() : json(r[2].as<std::string>())},
                     {"note", r[3].is_null() ? json() : json(r[3].as<std::string>())},
                     {"alert", r[4].is_null() ? json() : json::parse(r[4].as<std::string>())}});
    return out;
  }

  // Microseconds since the epoch, as the database clock reads now.
  std::int64_t db_now_us() { return count("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint"); }

  std::unique_ptr<storage::operations_store> ops_;
};

}  // namespace

// ---- rules

TEST_F(operations, rules_create_get_replace_list_delete) {
  auto r1 = threshold_rule("r-high", "critical");
  auto created = sync(ops().create_rule(r1));
  ASSERT_TRUE(created.ok()) << created.error().describe();
  auto j = json::parse(created.value());
  EXPECT_EQ(j.at("id"), "r-high");
  EXPECT_EQ(j.at("kind"), "threshold");
  EXPECT_EQ(j.at("severity"), "critical");
  EXPECT_EQ(j.at("value"), 3);
  EXPECT_EQ(j.at("name"), json({{"ko", "수위 r-high"}, {"en", "Level r-high"}}));
  EXPECT_EQ(j.at("created_at"), j.at("updated_at"));
  auto row = query("SELECT name::text, kind, selector::text, severity, enabled, spec->>'id' FROM rules WHERE id = 'r-high'");
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(json::parse(row[0][0].as<std::string>()), json({{"ko", "수위 r-high"}, {"en", "Level r-high"}}));
  EXPECT_EQ(row[0][1].as<std::string>(), "threshold");
  EXPECT_EQ(json::parse(row[0][2].as<std::string>()), json({{"kind", "water_level"}}));
  EXPECT_EQ(row[0][3].as<std::string>(), "critical");
  EXPECT_TRUE(row[0][4].as<bool>());
  EXPECT_EQ(row[0][5].as<std::string>(), "r-high");

  auto dup = sync(ops().create_rule(r1));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().kind, maeul::domain::problem_kind::conflict);

  auto anon = make_rule({{"name", {{"en", "No id"}}}, {"kind", "threshold"}, {"severity", "info"}, {"metric", "level"},
                         {"op", "<"}, {"value", 0.5}});
  ASSERT_TRUE(anon.id.empty());
  auto gen = sync(ops().create_rule(anon));
  ASSERT_TRUE(gen.ok()) << gen.error().describe();
  auto gen_id = json::parse(gen.value()).at("id").get<std::string>();
  EXPECT_EQ(gen_id.rfind("rule_", 0), 0u) << gen_id;
  EXPECT_EQ(gen_id.size(), 5u + 12u);
  EXPECT_EQ(count("SELECT count(*) FROM rules WHERE id = '" + gen_id + "' AND spec->>'id' = id"), 1)
      << "the generated id is written into the spec too";

  auto r1b = make_rule({{"id", "r-high"}, {"name", {{"ko", "수위 높음"}}}, {"kind", "threshold"}, {"severity", "warning"},
                        {"enabled", false}, {"metric", "level"}, {"op", ">="}, {"value", 4.5}});
  auto replaced = sync(ops().replace_rule(r1b));
  ASSERT_TRUE(replaced.ok()) << replaced.error().describe();
  auto rj = json::parse(replaced.value());
  EXPECT_EQ(rj.at("severity"), "warning");
  EXPECT_EQ(rj.at("value"), 4.5);
  EXPECT_EQ(rj.at("enabled"), false);
  EXPECT_EQ(rj.at("created_at"), j.at("created_at"));
  auto row2 = query("SELECT severity, enabled, selector::text, name->>'ko' FROM rules WHERE id = 'r-high'");
  EXPECT_EQ(row2[0][0].as<std::string>(), "warning");
  EXPECT_FALSE(row2[0][1].as<bool>());
  EXPECT_EQ(json::parse(row2[0][2].as<std::string>()), json::object());
  EXPECT_EQ(row2[0][3].as<std::string>(), "수위 높음");
  auto got = sync(ops().get_rule("r-high"));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(json::parse(got.value()), rj);

  auto ghost = threshold_rule("r-ghost", "info");
  auto missing = sync(ops().replace_rule(ghost));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, maeul::domain::problem_kind::not_found);
  EXPECT_EQ(count("SELECT count(*) FROM rules"), 2);

  ASSERT_TRUE(sync(ops().create_rule(threshold_rule("r-a", "info"))).ok());
  storage::page_request req;
  req.limit = 2;
  std::vector<std::string> seen;
  for (int guard = 0; guard < 5; ++guard) {
    auto p = sync(ops().list_rules(req));
    for (const auto& it : p.items) seen.push_back(json::parse(it).at("id").get<std::string>());
    if (!p.last_id) break;
    req.after = *p.last_id;
  }
  std::vector<std::string> want{"r-a", "r-high", gen_id};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(seen, want);
  auto all = sync(ops().all_rules());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1].id, "r-high");
  EXPECT_EQ(std::get<maeul::rules::threshold_rule>(all[1].spec).value, 4.5);
  EXPECT_FALSE(all[1].enabled);

  auto del = sync(ops().delete_rule("r-high"));
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(count("SELECT count(*) FROM rules WHERE id = 'r-high'"), 0);
  auto again = sync(ops().delete_rule("r-high"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, maeul::domain::problem_kind::not_found);
  EXPECT_EQ(sync(ops().get_rule("r-high")).error().kind, maeul::domain::problem_kind::not_found);
}

// ---- alerts

TEST_F(operations, one_open_alert_per_rule_and_subject) {
  auto r = threshold_rule("r-high", "warning");
  auto ev = apply({opening("r-high", "wl-01", 3.5), opening("r-high", "wl-01", 3.7), opening("r-high", "wl-02", 4.25),
                   opening("r-unknown", "wl-01", 9)},
                  {r});
  ASSERT_EQ(ev.size(), 2u) << "the repeat in the same batch and the unknown rule open nothing";
  EXPECT_EQ(ev[0].event, "opened");
  EXPECT_LT(ev[0].event_id, ev[1].event_id);
  EXPECT_EQ(ev[0].zone, "cheongho");
  EXPECT_EQ(ev[0].domain, "disaster");
  auto a1 = json::parse(ev[0].alert_json);
  EXPECT_EQ(a1.at("rule"), "r-high");
  EXPECT_EQ(a1.at("rule_name"), json({{"ko", "수위 r-high"}, {"en", "Level r-high"}}));
  EXPECT_EQ(a1.at("kind"), "threshold");
  EXPECT_EQ(a1.at("severity"), "warning");
  EXPECT_EQ(a1.at("state"), "open");
  EXPECT_EQ(a1.at("sensor"), "wl-01");
  EXPECT_EQ(a1.at("zone"), "cheongho");
  EXPECT_EQ(a1.at("metric"), "level");
  EXPECT_EQ(a1.at("value"), 3.5);
  EXPECT_EQ(a1.at("message"), opening("r-high", "wl-01", 3.5).message);
  EXPECT_TRUE(a1.at("acknowledged_at").is_null());
  EXPECT_EQ(json::parse(ev[1].alert_json).at("value"), 4.25);
  EXPECT_EQ(json::parse(ev[1].alert_json).at("sensor"), "wl-02");

  // The same pair again, in a later batch: still one alert, no new event.
  EXPECT_TRUE(apply({opening("r-high", "wl-01", 5)}, {r}).empty());
  EXPECT_EQ(count("SELECT count(*) FROM alerts"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM alert_events"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM alerts WHERE subject = 'wl-01' AND value = 3.5"), 1) << "the first value stays";

  // An open transition without a value or zone stores NULLs.
  auto bare = opening("r-high", "wl-03", 0, "", "");
  bare.value.reset();
  auto ev3 = apply({bare}, {r});
  ASSERT_EQ(ev3.size(), 1u);
  auto a3 = json::parse(ev3[0].alert_json);
  EXPECT_TRUE(a3.at("value").is_null());
  EXPECT_TRUE(a3.at("zone").is_null());
  EXPECT_TRUE(a3.at("domain").is_null());
  EXPECT_EQ(ev3[0].zone, "");
}

TEST_F(operations, clear_acknowledge_resolve_write_events_in_order_with_snapshots) {
  auto r = threshold_rule("r-high", "warning");
  auto opened = apply({opening("r-high", "wl-01", 3.5)}, {r});
  ASSERT_EQ(opened.size(), 1u);
  auto id = json::parse(opened[0].alert_json).at("id").get<std::int64_t>();

  auto cleared = apply({clearing("r-high", "wl-01", "level back to 2.1"), clearing("r-high", "wl-09", "no such alert")}, {r});
  ASSERT_EQ(cleared.size(), 1u);
  EXPECT_EQ(cleared[0].event, "cleared");
  auto cj = json::parse(cleared[0].alert_json);
  EXPECT_EQ(cj.at("state"), "open") << "clearing keeps the alert open for an operator";
  EXPECT_TRUE(cj.at("cleared_at").is_string());
  EXPECT_TRUE(apply({clearing("r-high", "wl-01", "again")}, {r}).empty()) << "a cleared alert clears once";

  auto ack = sync(ops().acknowledge(id, "kim", "on it"));
  ASSERT_TRUE(ack.ok()) << ack.error().describe();
  EXPECT_EQ(ack->event, "acknowledged");
  auto aj = json::parse(ack->alert_json);
  EXPECT_EQ(aj.at("state"), "acknowledged");
  EXPECT_EQ(aj.at("acknowledged_by"), "kim");
  EXPECT_EQ(aj.at("note"), "on it");
  EXPECT_TRUE(aj.at("acknowledged_at").is_string());

  auto ack2 = sync(ops().acknowledge(id, "park", ""));
  ASSERT_FALSE(ack2.ok()) << "an acknowledged alert is not acknowledged again";
  EXPECT_EQ(ack2.error().kind, maeul::domain::problem_kind::conflict);

  auto res = sync(ops().resolve(id, "lee", ""));
  ASSERT_TRUE(res.ok()) << res.error().describe();
  EXPECT_EQ(res->event, "resolved");
  auto rj = json::parse(res->alert_json);
  EXPECT_EQ(rj.at("state"), "resolved");
  EXPECT_EQ(rj.at("resolved_by"), "lee");
  EXPECT_EQ(rj.at("note"), "on it") << "an empty note keeps the earlier one";
  EXPECT_EQ(rj.at("acknowledged_by"), "kim");

  // Acknowledging or resolving a resolved alert is refused and writes nothing.
  auto late_ack = sync(ops().acknowledge(id, "park", "late"));
  ASSERT_FALSE(late_ack.ok());
  EXPECT_EQ(late_ack.error().kind, maeul::domain::problem_kind::conflict);
  auto late_res = sync(ops().resolve(id, "park", "late"));
  ASSERT_FALSE(late_res.ok());
  EXPECT_EQ(late_res.error().kind, maeul::domain::problem_kind::conflict);
  EXPECT_EQ(sync(ops().acknowledge(987654, "park", "")).error().kind, maeul::domain::problem_kind::not_found);
  EXPECT_EQ(sync(ops().resolve(987654, "park", "")).error().kind, maeul::domain::problem_kind::not_found);
  auto now = alert(id);
  EXPECT_EQ(now.at("state"), "resolved");
  EXPECT_EQ(now.at("acknowledged_by"), "kim");
  EXPECT_EQ(now.at("note"), "on it");

  auto evs = events_of(id);
  ASSERT_EQ(evs.size(), 4u);
  std::vector<std::string> names, states, actors;
  for (const auto& e : evs) {
    names.push_back(e.at("event"));
    states.push_back(e.at("alert").at("state"));
    actors.push_back(e.at("actor"));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"opened", "cleared", "acknowledged", "resolved"}));
  EXPECT_EQ(states, (std::vector<std::string>{"open", "open", "acknowledged", "resolved"}));
  EXPECT_EQ(actors, (std::vector<std::string>{"system", "system", "kim", "lee"}));
  EXPECT_TRUE(evs[0].at("note").is_null());
  EXPECT_EQ(evs[1].at("note"), "level back to 2.1");
  EXPECT_EQ(evs[2].at("note"), "on it");
  EXPECT_TRUE(evs[3].at("note").is_null());
  EXPECT_TRUE(evs[0].at("alert").at("cleared_at").is_null());
  EXPECT_TRUE(evs[1].at("alert").at("acknowledged_at").is_null());
  EXPECT_EQ(evs[0].at("id"), opened[0].event_id);
  EXPECT_EQ(evs[1].at("id"), cleared[0].event_id);
  EXPECT_EQ(evs[2].at("id"), ack->event_id);
  EXPECT_EQ(evs[3].at("id"), res->event_id);
  // The snapshot is what the change returned.
  EXPECT_EQ(evs[2].at("alert"), aj);
  EXPECT_EQ(evs[3].at("alert"), rj);

  // Replays show each event with the alert as it was then.
  auto since = sync(ops().events_since(0, 100));
  ASSERT_EQ(since.size(), 4u);
  EXPECT_EQ(json::parse(since[0].alert_json).at("state"), "open");
  EXPECT_EQ(json::parse(since[2].alert_json).at("state"), "acknowledged");
  EXPECT_EQ(since[3].event, "resolved");
  EXPECT_EQ(sync(ops().events_since(ack->event_id, 100)).size(), 1u);
  EXPECT_EQ(sync(ops().last_event_id()), res->event_id);
  auto listed = json::parse(sync(ops().alert_events_of(id)).value());
  ASSERT_EQ(listed.at("items").size(), 4u);
  EXPECT_EQ(listed.at("items")[2].at("actor"), "kim");

  // Once resolved, the same rule and subject open a new alert.
  auto reopened = apply({opening("r-high", "wl-01", 4)}, {r});
  ASSERT_EQ(reopened.size(), 1u);
  EXPECT_GT(json::parse(reopened[0].alert_json).at("id").get<std::int64_t>(), id);
  EXPECT_EQ(count("SELECT count(*) FROM alerts WHERE rule_id = 'r-high' AND subject = 'wl-01'"), 2);
}

TEST_F(operations, resolving_an_open_alert_directly_and_clearing_an_acknowledged_one) {
  auto r = threshold_rule("r-high", "warning");
  auto a = json::parse(apply({opening("r-high", "wl-01", 3.5)}, {r})[0].alert_json).at("id").get<std::int64_t>();
  auto b = json::parse(apply({opening("r-high", "wl-02", 3.5)}, {r})[0].alert_json).at("id").get<std::int64_t>();
  auto res = sync(ops().resolve(a, "lee", "false alarm"));
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(json::parse(res->alert_json).at("note"), "false alarm");
  EXPECT_TRUE(json::parse(res->alert_json).at("acknowledged_at").is_null());
  ASSERT_TRUE(sync(ops().acknowledge(b, "kim", "")).ok());
  EXPECT_TRUE(alert(b).at("note").is_null());
  auto cl = apply({clearing("r-high", "wl-02", "ok now"), clearing("r-high", "wl-01", "ok now")}, {r});
  ASSERT_EQ(cl.size(), 1u) << "a resolved alert does not clear";
  EXPECT_EQ(json::parse(cl[0].alert_json).at("id"), b);
  EXPECT_EQ(json::parse(cl[0].alert_json).at("state"), "acknowledged");
}

TEST_F(operations, escalation_marks_critical_alerts_open_too_long_once) {
  auto crit = threshold_rule("r-crit", "critical");
  auto warn = threshold_rule("r-warn", "warning");
  auto ev = apply({opening("r-crit", "wl-01", 5), opening("r-crit", "wl-02", 5), opening("r-crit", "wl-03", 5),
                   opening("r-warn", "wl-01", 5)},
                  {crit, warn});
  ASSERT_EQ(ev.size(), 4u);
  std::vector<std::int64_t> ids;
  for (const auto& e : ev) ids.push_back(json::parse(e.alert_json).at("id").get<std::int64_t>());
  // wl-01 (critical) and the warning one opened 10 minutes ago; wl-03 too, but it is acknowledged.
  query_params("UPDATE alerts SET opened_at = now() - interval '10 minutes' WHERE id IN ($1, $2, $3)", ids[0], ids[2],
               ids[3]);
  ASSERT_TRUE(sync(ops().acknowledge(ids[2], "kim", "")).ok());

  auto esc = sync(ops().escalate(300));
  ASSERT_EQ(esc.size(), 1u);
  EXPECT_EQ(esc[0].event, "escalated");
  auto ej = json::parse(esc[0].alert_json);
  EXPECT_EQ(ej.at("id"), ids[0]);
  EXPECT_TRUE(ej.at("escalated_at").is_string());
  EXPECT_EQ(ej.at("state"), "open");
  auto evs = events_of(ids[0]);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[1].at("event"), "escalated");
  EXPECT_EQ(evs[1].at("actor"), "system");
  EXPECT_EQ(evs[1].at("note"), "not acknowledged in time");
  EXPECT_EQ(evs[1].at("alert"), ej);

  EXPECT_TRUE(sync(ops().escalate(300)).empty()) << "escalated once";
  EXPECT_EQ(count("SELECT count(*) FROM alerts WHERE escalated_at IS NOT NULL"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM alert_events WHERE event = 'escalated'"), 1);
}

// ---- incidents

TEST_F(operations, incidents_keep_an_ordered_timeline_and_refuse_steps_out_of_order) {
  add_zone(square_zone("cheongho", 128.58, 38.19, 0.05, 1000));
  auto r = threshold_rule("r-high", "warning");
  auto ev = apply({opening("r-high", "wl-01", 4), opening("r-high", "wl-02", 4)}, {r});
  auto a1 = json::parse(ev[0].alert_json).at("id").get<std::int64_t>();
  auto a2 = json::parse(ev[1].alert_json).at("id").get<std::int64_t>();

  const std::int64_t reported = kst_us(2026, 3, 1, 23, 50);
  storage::incident_input in;
  in.category = "flood";
  in.location = d::point{128.60, 38.20};
  in.reported_us = reported;
  in.alerts = {a2, a1};
  in.note = "water on the road";
  auto created = sync(ops().create_incident(in, "kim"));
  ASSERT_TRUE(created.ok()) << created.error().describe();
  auto inc = json::parse(created.value());
  auto id = inc.at("id").get<std::int64_t>();
  EXPECT_EQ(inc.at("category"), "flood");
  EXPECT_EQ(inc.at("zone"), "cheongho") << "the zone comes from the location";
  EXPECT_EQ(inc.at("state"), "open");
  EXPECT_EQ(inc.at("reported_at"), "2026-03-01T14:50:00.000Z");
  EXPECT_EQ(inc.at("alerts"), json::array({std::min(a1, a2), std::max(a1, a2)}));
  EXPECT_EQ(inc.at("created_by"), "kim");
  EXPECT_TRUE(inc.at("response_minutes").is_null());
  EXPECT_EQ(inc.at("timeline"),
            json::array({{{"at", "2026-03-01T14:50:00.000Z"}, {"what", "reported"}, {"by", "kim"}, {"note", "water on the road"}}}));
  EXPECT_EQ(count("SELECT count(*) FROM incident_alerts WHERE incident_id = " + std::to_string(id)), 2);

  storage::incident_patch p1;
  p1.dispatched_us = reported + 3 * us_per_min;
  auto s1 = sync(ops().patch_incident(id, p1, "park"));
  ASSERT_TRUE(s1.ok()) << s1.error().describe();
  storage::incident_patch p2;
  p2.on_scene_us = reported + 10 * us_per_min + 30 * us_per_s;
  p2.note = "crew on site";
  auto s2 = sync(ops().patch_incident(id, p2, "park"));
  ASSERT_TRUE(s2.ok()) << s2.error().describe();
  EXPECT_EQ(json::parse(s2.value()).at("response_minutes"), 10.5);
  EXPECT_EQ(json::parse(s2.value()).at("note"), "crew on site");

  // A refused patch changes nothing, even the parts of it that were in order.
  storage::incident_patch bad;
  bad.dispatched_us = reported + 4 * us_per_min;  // recorded already
  bad.resolved_us = reported + 20 * us_per_min;
  auto refused = sync(ops().patch_incident(id, bad, "park"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, maeul::domain::problem_kind::conflict);
  ASSERT_EQ(refused.error().errors.size(), 1u);
  EXPECT_EQ(refused.error().errors[0].pointer, "/dispatched_at");
  EXPECT_EQ(count("SELECT count(*) FROM incidents WHERE resolved_at IS NOT NULL"), 0);

  storage::incident_patch early;
  early.resolved_us = reported + 5 * us_per_min;  // before on scene
  auto e = sync(ops().patch_incident(id, early, "park"));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().errors.at(0).pointer, "/resolved_at");

  storage::incident_patch p3;
  p3.resolved_us = reported + 70 * us_per_min;
  auto s3 = sync(ops().patch_incident(id, p3, "lee"));
  ASSERT_TRUE(s3.ok()) << s3.error().describe();
  auto fin = json::parse(s3.value());
  EXPECT_EQ(fin.at("state"), "resolved");
  EXPECT_EQ(fin.at("dispatched_at"), "2026-03-01T14:53:00.000Z");
  EXPECT_EQ(fin.at("on_scene_at"), "2026-03-01T15:00:30.000Z");
  EXPECT_EQ(fin.at("resolved_at"), "2026-03-01T16:00:00.000Z");
  std::vector<std::string> what, by;
  for (const auto& t : fin.at("timeline")) {
    what.push_back(t.at("what"));
    by.push_back(t.at("by"));
  }
  EXPECT_EQ(what, (std::vector<std::string>{"reported", "dispatched", "on_scene", "note", "resolved"}));
  EXPECT_EQ(by, (std::vector<std::string>{"kim", "park", "park", "park", "lee"}));
  EXPECT_EQ(fin.at("timeline")[1].at("at"), "2026-03-01T14:53:00.000Z");
  EXPECT_EQ(fin.at("timeline")[2].at("at"), "2026-03-01T15:00:30.000Z");
  EXPECT_EQ(fin.at("timeline")[3].at("note"), "crew on site");
  EXPECT_EQ(fin.at("timeline")[4].at("at"), "2026-03-01T16:00:00.000Z");

  storage::incident_patch after;
  after.note = "late note";
  auto s4 = sync(ops().patch_incident(id, after, "lee"));
  ASSERT_TRUE(s4.ok()) << "a note may follow the resolution";
  EXPECT_EQ(json::parse(s4.value()).at("timeline").size(), 6u);
  EXPECT_EQ(json::parse(sync(ops().get_incident(id)).value()), json::parse(s4.value()));

  EXPECT_EQ(sync(ops().patch_incident(id + 1000, p1, "x")).error().kind, maeul::domain::problem_kind::not_found);
  EXPECT_EQ(sync(ops().get_incident(id + 1000)).error().kind, maeul::domain::problem_kind::not_found);
}

TEST_F(operations, incident_steps_need_their_predecessors_and_references_must_exist) {
  add_zone(square_zone("cheongho", 128.58, 38.19, 0.05, 1000));
  const std::int64_t reported = utc_us(2026, 3, 1, 2);
  storage::incident_input in;
  in.category = "fire";
  in.zone = "cheongho";
  in.reported_us = reported;
  auto created = sync(ops().create_incident(in, "kim"));
  ASSERT_TRUE(created.ok()) << created.error().describe();
  auto id = json::parse(created.value()).at("id").get<std::int64_t>();
  EXPECT_TRUE(json::parse(created.value()).at("location").is_null());
  EXPECT_TRUE(json::parse(created.value()).at("note").is_null());

  storage::incident_patch on_scene_first;
  on_scene_first.on_scene_us = reported + us_per_min;
  auto r1 = sync(ops().patch_incident(id, on_scene_first, "park"));
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error().errors.at(0).pointer, "/on_scene_at");

  storage::incident_patch before_report;
  before_report.dispatched_us = reported - us_per_s;
  auto r2 = sync(ops().patch_incident(id, before_report, "park"));
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().errors.at(0).pointer, "/dispatched_at");

  storage::incident_patch mixed;  // dispatched in order, on scene before it: all refused
  mixed.dispatched_us = reported + 5 * us_per_min;
  mixed.on_scene_us = reported + 2 * us_per_min;
  auto r3 = sync(ops().patch_incident(id, mixed, "park"));
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(count("SELECT count(*) FROM incidents WHERE dispatched_at IS NOT NULL"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM incident_events"), 1);

  storage::incident_patch both;  // both in one patch, in order
  both.dispatched_us = reported + 5 * us_per_min;
  both.on_scene_us = reported + 12 * us_per_min;
  auto r4 = sync(ops().patch_incident(id, both, "park"));
  ASSERT_TRUE(r4.ok()) << r4.error().describe();
  EXPECT_EQ(json::parse(r4.value()).at("response_minutes"), 12);

  storage::incident_input bad_alert = in;
  bad_alert.alerts = {424242};
  auto r5 = sync(ops().create_incident(bad_alert, "kim"));
  ASSERT_FALSE(r5.ok());
  EXPECT_EQ(r5.error().kind, maeul::domain::problem_kind::invalid);
  EXPECT_EQ(r5.error().errors.at(0).pointer, "/alerts");
  storage::incident_input bad_zone = in;
  bad_zone.zone = "atlantis";
  auto r6 = sync(ops().create_incident(bad_zone, "kim"));
  ASSERT_FALSE(r6.ok());
  EXPECT_EQ(r6.error().errors.at(0).pointer, "/zone");
  EXPECT_EQ(count("SELECT count(*) FROM incidents"), 1) << "refused incidents leave no row";

  storage::incident_input second = in;
  auto id2 = json::parse(sync(ops().create_incident(second, "kim")).value()).at("id").get<std::int64_t>();
  storage::incident_patch res;
  res.resolved_us = reported + us_per_h;
  ASSERT_TRUE(sync(ops().patch_incident(id2, res, "lee")).ok()) << "resolving needs no dispatch";
  auto open = sync(ops().list_incidents("open", "", {}));
  ASSERT_EQ(open.items.size(), 1u);
  EXPECT_EQ(json::parse(open.items[0]).at("id"), id);
  auto resolved = sync(ops().list_incidents("resolved", "cheongho", {}));
  ASSERT_EQ(resolved.items.size(), 1u);
  EXPECT_EQ(json::parse(resolved.items[0]).at("id"), id2);
}

// ---- webhooks and the outbox

TEST_F(operations, alert_and_incident_changes_enqueue_webhook_deliveries_in_the_same_transaction) {
  auto h1 = json::parse(sync(ops().create_webhook("wh_000000000001", "http://127.0.0.1:9/a", {"alert.opened", "alert.resolved", "incident.opened"},
                                                  "s3cret")));
  auto h2 = json::parse(sync(ops().create_webhook("wh_000000000002", "http://127.0.0.1:9/b", {"alert.acknowledged", "incident.updated"}, "other")));
  EXPECT_EQ(h1.at("events"), json::array({"alert.opened", "alert.resolved", "incident.opened"}));
  EXPECT_FALSE(h1.contains("secret"));
  auto hid1 = h1.at("id").get<std::string>(), hid2 = h2.at("id").get<std::string>();
  EXPECT_EQ(hid1.rfind("wh_", 0), 0u);
  EXPECT_EQ(hid1, "wh_000000000001") << "the caller's id (bound into the sealed secret)";
  // Only the sealed form is stored (storage takes it as opaque bytes); nothing in clear.
  auto stored = query_params("SELECT secret IS NULL, encode(secret_sealed, 'escape') FROM webhooks WHERE id = $1", hid1);
  EXPECT_TRUE(stored[0][0].as<bool>());
  EXPECT_EQ(stored[0][1].as<std::string>(), "s3cret");

  auto r = threshold_rule("r-high", "warning");
  auto ev = apply({opening("r-high", "wl-01", 4)}, {r});
  auto id = json::parse(ev[0].alert_json).at("id").get<std::int64_t>();
  apply({clearing("r-high", "wl-01", "fine")}, {r});  // nobody listens to alert.cleared
  ASSERT_TRUE(sync(ops().acknowledge(id, "kim", "")).ok());
  ASSERT_TRUE(sync(ops().resolve(id, "kim", "")).ok());
  storage::incident_input in;
  in.category = "flood";
  in.reported_us = utc_us(2026, 3, 1);
  auto inc = json::parse(sync(ops().create_incident(in, "kim")).value());
  storage::incident_patch p;
  p.note = "x";
  ASSERT_TRUE(sync(ops().patch_incident(inc.at("id"), p, "kim")).ok());

  auto rows = query("SELECT id, webhook_id, event, body, state, attempts FROM webhook_deliveries ORDER BY id");
  ASSERT_EQ(rows.size(), 5u);
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& row : rows) got.emplace_back(row[1].as<std::string>(), row[2].as<std::string>());
  EXPECT_EQ(got, (std::vector<std::pair<std::string, std::string>>{{hid1, "alert.opened"},
                                                                    {hid2, "alert.acknowledged"},
                                                                    {hid1, "alert.resolved"},
                                                                    {hid1, "incident.opened"},
                                                                    {hid2, "incident.updated"}}));
  std::vector<std::string> states{"open", "acknowledged", "resolved"};
  for (int i = 0; i < 5; ++i) {
    auto body = json::parse(rows[i][3].as<std::string>());
    EXPECT_EQ(body.at("id"), rows[i][0].as<std::string>()) << "the body names its delivery";
    EXPECT_EQ(body.at("event"), rows[i][2].as<std::string>());
    EXPECT_EQ(rows[i][4].as<std::string>(), "pending");
    EXPECT_EQ(rows[i][5].as<int>(), 0);
    if (i < 3) {
      EXPECT_EQ(body.at("data").at("id"), id);
      EXPECT_EQ(body.at("data").at("state"), states[i]);
    } else {
      EXPECT_EQ(body.at("data").at("id"), inc.at("id"));
    }
  }
  EXPECT_EQ(json::parse(rows[4][3].as<std::string>()).at("data").at("note"), "x");

  auto listed = json::parse(sync(ops().deliveries_of(hid1, 10)).value()).at("items");
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].at("event"), "incident.opened") << "newest first";
  EXPECT_TRUE(listed[0].at("next_at").is_string());
  EXPECT_EQ(sync(ops().deliveries_of("wh_nope", 10)).error().kind, maeul::domain::problem_kind::not_found);

  EXPECT_TRUE(sync(ops().delete_webhook(hid1)));
  EXPECT_FALSE(sync(ops().delete_webhook(hid1)));
  EXPECT_EQ(count("SELECT count(*) FROM webhook_deliveries"), 2) << "a webhook's deliveries go with it";
  auto hooks = sync(ops().list_webhooks({}));
  ASSERT_EQ(hooks.items.size(), 1u);
  EXPECT_EQ(json::parse(hooks.items[0]).at("id"), hid2);
}

TEST_F(operations, deliveries_are_claimed_leased_retried_with_back_off_and_die) {
  auto hid = json::parse(sync(ops().create_webhook("wh_000000000003", "http://127.0.0.1:9/a", {"alert.opened"}, "k"))).at("id").get<std::string>();
  auto r = threshold_rule("r-high", "warning");
  apply({opening("r-high", "wl-01", 4), opening("r-high", "wl-02", 4), opening("r-high", "wl-03", 4)}, {r});
  ASSERT_EQ(count("SELECT count(*) FROM webhook_deliveries"), 3);

  auto claimed = sync(ops().claim_deliveries(2, 30));
  ASSERT_EQ(claimed.size(), 2u) << "at most `limit`";
  auto rest = sync(ops().claim_deliveries(10, 30));
  ASSERT_EQ(rest.size(), 1u) << "leased deliveries are not claimed again";
  EXPECT_TRUE(sync(ops().claim_deliveries(10, 30)).empty());
  std::set<std::int64_t> ids{claimed[0].id, claimed[1].id, rest[0].id};
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(claimed[0].url, "http://127.0.0.1:9/a");
  EXPECT_EQ(claimed[0].secret, "") << "nothing in clear";
  EXPECT_EQ(claimed[0].sealed_secret, "k");
  EXPECT_EQ(claimed[0].webhook_id, hid);
  EXPECT_EQ(claimed[0].event, "alert.opened");
  EXPECT_EQ(claimed[0].attempts, 0);
  EXPECT_EQ(json::parse(claimed[0].body).at("id"), std::to_string(claimed[0].id));
  // The lease: next_at moved 30 s ahead.
  EXPECT_EQ(count("SELECT count(*) FROM webhook_deliveries WHERE next_at BETWEEN now() + interval '25 s' AND now() + "
                  "interval '31 s'"),
            3);

  // next_at minus the finish's now(), bounded by the clock read just before and after the call.
  auto next_at_us = [&](std::int64_t id) {
    return query_params("SELECT (extract(epoch FROM next_at) * 1000000)::bigint FROM webhook_deliveries WHERE id = $1",
                        id)[0][0]
        .as<std::int64_t>();
  };
  auto finish_and_check = [&](std::int64_t id, int status, const std::string& error, int max, std::int64_t backoff_s) {
    auto before = db_now_us();
    bool dead = sync(ops().finish_delivery(id, status, error, max));
    auto after = db_now_us();
    if (!dead) {
      auto next = next_at_us(id);
      EXPECT_GE(next - before, backoff_s * us_per_s - 1000) << "delivery " << id;  // now() may precede `before` by < 1 ms
      EXPECT_LE(next - after, backoff_s * us_per_s) << "delivery " << id;
    }
    return dead;
  };
  auto make_due = [&](std::int64_t id) {
    query_params("UPDATE webhook_deliveries SET next_at = now() - interval '1 s' WHERE id = $1", id);
  };
  auto row = [&](std::int64_t id) {
    return query_params("SELECT state, attempts, last_status, last_error, delivered_at IS NOT NULL FROM webhook_deliveries "
                        "WHERE id = $1",
                        id)[0];
  };

  // D fails three times (max 3): back-off 1 s, then 2 s, then dead.
  auto D = claimed[0].id;
  EXPECT_FALSE(finish_and_check(D, 500, "HTTP 500", 3, 1));
  auto d1 = row(D);
  EXPECT_EQ(d1[0].as<std::string>(), "pending");
  EXPECT_EQ(d1[1].as<int>(), 1);
  EXPECT_EQ(d1[2].as<int>(), 500);
  EXPECT_EQ(d1[3].as<std::string>(), "HTTP 500");
  EXPECT_FALSE(d1[4].as<bool>());
  make_due(D);
  auto again = sync(ops().claim_deliveries(10, 30));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, D);
  EXPECT_EQ(again[0].attempts, 1);
  EXPECT_FALSE(finish_and_check(D, 0, "connection refused", 3, 2));
  auto d2 = row(D);
  EXPECT_EQ(d2[1].as<int>(), 2);
  EXPECT_TRUE(d2[2].is_null()) << "no HTTP status";
  EXPECT_EQ(d2[3].as<std::string>(), "connection refused");
  make_due(D);
  ASSERT_EQ(sync(ops().claim_deliveries(10, 30)).size(), 1u);
  EXPECT_TRUE(sync(ops().finish_delivery(D, 503, "HTTP 503", 3))) << "the third failure kills it";
  EXPECT_EQ(row(D)[0].as<std::string>(), "dead");
  EXPECT_EQ(row(D)[1].as<int>(), 3);
  make_due(D);
  EXPECT_TRUE(sync(ops().claim_deliveries(10, 30)).empty()) << "dead deliveries are never claimed";

  // E is delivered.
  auto E = claimed[1].id;
  EXPECT_FALSE(sync(ops().finish_delivery(E, 204, "", 3)));
  auto e = row(E);
  EXPECT_EQ(e[0].as<std::string>(), "delivered");
  EXPECT_EQ(e[1].as<int>(), 1);
  EXPECT_EQ(e[2].as<int>(), 204);
  EXPECT_TRUE(e[3].is_null());
  EXPECT_TRUE(e[4].as<bool>());
  make_due(E);
  EXPECT_TRUE(sync(ops().claim_deliveries(10, 30)).empty());

  // F has failed often: the back-off stops growing at 600 s.
  auto F = rest[0].id;
  query_params("UPDATE webhook_deliveries SET attempts = 11 WHERE id = $1", F);
  EXPECT_FALSE(finish_and_check(F, 500, "HTTP 500", 100, 600));
  EXPECT_EQ(row(F)[1].as<int>(), 12);

  auto items = json::parse(sync(ops().deliveries_of(hid, 10)).value()).at("items");
  ASSERT_EQ(items.size(), 3u);
  for (const auto& it : items) {
    if (it.at("id") == D) {
      EXPECT_EQ(it.at("state"), "dead");
      EXPECT_TRUE(it.at("next_at").is_null());
    }
    if (it.at("id") == E) {
      EXPECT_EQ(it.at("state"), "delivered");
      EXPECT_TRUE(it.at("delivered_at").is_string());
    }
    if (it.at("id") == F) EXPECT_EQ(it.at("attempts"), 12);
  }
  EXPECT_FALSE(sync(ops().finish_delivery(999999, 500, "x", 3))) << "an unknown delivery is no death";
}

// Regression (FINDINGS): finish_delivery once had no `state = 'pending'` guard, so a late failure turned
// 'delivered' back into 'pending' (sent twice); it now changes pending deliveries only.
TEST_F(operations, a_late_failure_report_does_not_reopen_a_delivered_delivery) {
  // Two dispatchers: A's lease runs out while its request hangs, B claims the delivery again and
  // delivers it; then A reports its failure. The delivery must stay delivered (else it is sent twice).
  json::parse(sync(ops().create_webhook("wh_000000000004", "http://127.0.0.1:9/a", {"alert.opened"}, "k")));
  apply({opening("r-high", "wl-01", 4)}, {threshold_rule("r-high", "warning")});
  auto first = sync(ops().claim_deliveries(1, 30));
  ASSERT_EQ(first.size(), 1u);
  query_params("UPDATE webhook_deliveries SET next_at = now() - interval '1 s' WHERE id = $1", first[0].id);  // lease over
  auto second = sync(ops().claim_deliveries(1, 30));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_FALSE(sync(ops().finish_delivery(second[0].id, 200, "", 5)));
  EXPECT_FALSE(sync(ops().finish_delivery(first[0].id, 0, "timeout", 5)));
  auto r = query_params("SELECT state, delivered_at IS NOT NULL FROM webhook_deliveries WHERE id = $1", first[0].id)[0];
  EXPECT_EQ(r[0].as<std::string>(), "delivered");
  EXPECT_TRUE(r[1].as<bool>());
}

TEST_F(operations, every_webhook_subscribed_to_an_event_gets_its_own_delivery) {
  auto h1 = json::parse(sync(ops().create_webhook("wh_000000000005", "http://127.0.0.1:9/a", {"alert.opened"}, "k1"))).at("id");
  auto h2 = json::parse(sync(ops().create_webhook("wh_000000000006", "http://127.0.0.1:9/b", {"alert.opened"}, "k2"))).at("id");
  apply({opening("r-high", "wl-01", 4), opening("r-high", "wl-02", 4)}, {threshold_rule("r-high", "warning")});
  auto rows = query("SELECT id, webhook_id, body FROM webhook_deliveries ORDER BY id");
  ASSERT_EQ(rows.size(), 4u) << "two alerts times two webhooks";
  std::set<std::pair<std::string, std::string>> pairs;
  for (const auto& row : rows) {
    auto body = json::parse(row[2].as<std::string>());
    EXPECT_EQ(body.at("id"), row[0].as<std::string>());
    pairs.emplace(row[1].as<std::string>(), body.at("data").at("sensor").get<std::string>());
  }
  EXPECT_EQ(pairs, (std::set<std::pair<std::string, std::string>>{
                       {h1, "wl-01"}, {h1, "wl-02"}, {h2, "wl-01"}, {h2, "wl-02"}}));
}

TEST_F(operations, the_pseudonym_key_is_made_once_and_shared_and_masks_welfare_alerts_only) {
  sync(ops().load_pseudonym_key());
  EXPECT_EQ(count("SELECT count(*) FROM instance_keys WHERE name = 'household_pseudonym' AND length(key) = 64"), 1);
  auto first = ops().pseudonym("hh-kim-door");
  // A second instance on the same database gets the same key, hence the same pseudonyms.
  maeul::storage::operations_store other(*pool_);
  sync(other.load_pseudonym_key());
  EXPECT_EQ(other.pseudonym("hh-kim-door"), first);
  EXPECT_EQ(count("SELECT count(*) FROM instance_keys"), 1);
  EXPECT_NE(ops().pseudonym("hh-lee-door"), first);
  EXPECT_EQ(first.size(), 3u + 16u);
  auto masked = json::parse(ops().masked(R"({"id":1,"sensor":"hh-kim-door","domain":"welfare","value":3,"message":"x"})"));
  EXPECT_EQ(masked["household"], first);
  EXPECT_TRUE(masked["sensor"].is_null());
  EXPECT_EQ(ops().masked(R"({"id":2,"sensor":"wl-1","domain":"disaster","value":3})"), "");
}

// ---- per-webhook bounds on the outbox, and sealed secrets

TEST_F(operations, claims_take_at_most_per_webhook_less_what_is_in_flight_and_never_hide_other_webhooks) {
  sync(ops().create_webhook("wh_slow00000000", "http://127.0.0.1:9/slow", {"alert.opened"}, "k1"));
  auto r = threshold_rule("r-high", "warning");
  std::vector<rules::transition> many;
  for (int i = 0; i < 20; ++i) many.push_back(opening("r-high", "wl-" + std::to_string(i), 4));
  apply(many, {r});  // 20 deliveries due to the slow webhook, older than the other's
  sync(ops().create_webhook("wh_fast00000000", "http://127.0.0.1:9/fast", {"alert.opened"}, "k2"));
  apply({opening("r-high", "wl-x", 4)}, {r});

  auto claimed = sync(ops().claim_deliveries(50, 30, 4));
  std::map<std::string, int> per;
  for (const auto& d : claimed) ++per[d.webhook_id];
  EXPECT_EQ(per["wh_slow00000000"], 4) << "at most 4 of one webhook";
  EXPECT_EQ(per["wh_fast00000000"], 1) << "the other webhook's delivery is not hidden behind the backlog";
  // The slow one has 3 in flight: one more may be claimed, none for a webhook already at its bound.
  query("UPDATE webhook_deliveries SET next_at = now() - interval '1 s' WHERE state = 'pending'");
  auto more = sync(ops().claim_deliveries(50, 30, 4, {{"wh_slow00000000", 3}, {"wh_fast00000000", 4}}));
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].webhook_id, "wh_slow00000000");
}

TEST_F(operations, past_max_pending_the_oldest_deliveries_of_that_webhook_are_dropped_dead) {
  auto pending_of = [this](const std::string& hook) {
    return query_params("SELECT count(*) FROM webhook_deliveries WHERE state = 'pending' AND webhook_id = $1", hook)[0][0]
        .as<std::int64_t>();
  };
  sync(ops().create_webhook("wh_down00000000", "http://127.0.0.1:9/down", {"alert.opened"}, "k1"));
  sync(ops().create_webhook("wh_fine00000000", "http://127.0.0.1:9/fine", {"alert.acknowledged"}, "k2"));
  auto r = threshold_rule("r-high", "warning");
  std::vector<rules::transition> many;
  for (int i = 0; i < 7; ++i) many.push_back(opening("r-high", "wl-" + std::to_string(i), 4));
  auto ev = apply(many, {r});
  auto ids = query("SELECT id FROM webhook_deliveries WHERE webhook_id = 'wh_down00000000' ORDER BY id");
  ASSERT_EQ(ids.size(), 7u);
  ASSERT_TRUE(sync(ops().acknowledge(json::parse(ev[0].alert_json).at("id").get<std::int64_t>(), "kim", "")).ok());
  auto fine_before = pending_of("wh_fine00000000");
  ASSERT_EQ(fine_before, 1);

  auto dropped = sync(ops().drop_excess_deliveries(3));
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0], (std::pair<std::string, std::int64_t>{"wh_down00000000", 4}));
  EXPECT_EQ(pending_of("wh_down00000000"), 3);
  EXPECT_EQ(pending_of("wh_fine00000000"), fine_before) << "another webhook keeps its deliveries";
  // The oldest four are dead with the reason; the newest three are pending.
  for (std::size_t i = 0; i < 7; ++i) {
    auto row = query_params("SELECT state, last_error FROM webhook_deliveries WHERE id = $1", ids[i][0].as<std::int64_t>())[0];
    if (i < 4) {
      EXPECT_EQ(row[0].as<std::string>(), "dead") << i;
      EXPECT_NE(row[1].as<std::string>().find("dropped"), std::string::npos) << row[1].as<std::string>();
    } else {
      EXPECT_EQ(row[0].as<std::string>(), "pending") << i;
    }
  }
  EXPECT_TRUE(sync(ops().drop_excess_deliveries(3)).empty()) << "nothing more to drop";
}

TEST_F(operations, reseal_rewrites_clear_secrets_and_empties_the_clear_column_in_one_transaction) {
  // Two rows as migration 0011 finds them (written in clear before it), one sealed already.
  query("INSERT INTO webhooks (id, url, events, secret) VALUES ('wh_old000000001', 'http://127.0.0.1:9/a', "
        "'{alert.opened}', 'plain-secret-one'), ('wh_old000000002', 'http://127.0.0.1:9/b', '{alert.opened}', "
        "'plain-secret-two')");
  sync(ops().create_webhook("wh_new000000001", "http://127.0.0.1:9/c", {"alert.opened"}, std::string("S\0x", 3)));
  std::vector<std::string> seen;
  auto n = sync(ops().reseal_webhook_secrets([&seen](const storage::webhook_secret& w) -> std::optional<std::string> {
    seen.push_back(w.id + "=" + (w.plain ? *w.plain : "-") + "/" + w.sealed);
    if (!w.plain) return std::nullopt;
    return "sealed(" + *w.plain + ")";
  }));
  EXPECT_EQ(n, 2);
  EXPECT_EQ(seen, (std::vector<std::string>{"wh_new000000001=-/" + std::string("S\0x", 3),
                                            "wh_old000000001=plain-secret-one/", "wh_old000000002=plain-secret-two/"}));
  EXPECT_EQ(count("SELECT count(*) FROM webhooks WHERE secret IS NOT NULL"), 0) << "nothing left in clear";
  EXPECT_EQ(query("SELECT encode(secret_sealed, 'escape') FROM webhooks WHERE id = 'wh_old000000002'")[0][0].as<std::string>(),
            "sealed(plain-secret-two)");
  // A failing reseal leaves every row as it was.
  EXPECT_THROW(sync(ops().reseal_webhook_secrets([](const storage::webhook_secret& w) -> std::optional<std::string> {
                 if (w.id == "wh_old000000002") throw std::runtime_error("boom");
                 return "again";
               })),
               std::exception);
  EXPECT_EQ(count("SELECT count(*) FROM webhooks WHERE encode(secret_sealed, 'escape') = 'again'"), 0);
  // The database refuses a webhook with no secret at all.
  EXPECT_THROW(query("UPDATE webhooks SET secret_sealed = NULL WHERE id = 'wh_old000000001'"), std::exception);
}
