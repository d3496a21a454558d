// From alert to action (API §12) in storage, against a real PostgreSQL: a staged alert's severity
// changes (event, stage, words, escalation clock, an acknowledged alert reopened by a rise), the
// incident a rule's critical alerts open — one per zone even when two transactions race — and
// assignment's checks on the user.
#include <thread>
#include <vector>

#include "maeul/rules/rules.hpp"
#include "maeul/storage/operations.hpp"
#include "pg_support.hpp"

namespace {

using namespace maeul_test;
namespace rules = maeul::rules;

rules::rule staged_rule() {
  auto r = rules::parse_rule(json{{"id", "flood"},
                                  {"name", {{"ko", "하천 수위"}, {"en", "River level"}}},
                                  {"kind", "threshold"},
                                  {"selector", {{"kind", "water_level"}}},
                                  {"metric", "level"},
                                  {"op", ">="},
                                  {"stages", json::array({{{"value", 1.5}, {"severity", "info"}},
                                                          {{"value", 2}, {"severity", "warning"}},
                                                          {{"value", 3}, {"severity", "critical"}}})},
                                  {"incident", {{"category", "flood"}}}});
  if (!r.ok()) throw std::invalid_argument(r.error().describe());
  return r.value();
}

rules::transition stage(const std::string& sensor, const std::string& zone, int k, double value, bool change) {
  static const char* sev[] = {"info", "warning", "critical"};
  rules::transition t;
  t.rule_id = "flood";
  t.subject = t.sensor = sensor;
  t.zone = zone;
  t.domain = "disaster";
  t.metric = "level";
  t.value = value;
  t.open = true;
  t.severity_change = change;
  t.severity = sev[k];
  t.stage = k;
  t.message = "level " + std::to_string(value);
  return t;
}

class alert_actions : public fresh_db {
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
  std::vector<storage::alert_event> apply(std::vector<rules::transition> ts) {
    return sync(ops_->apply(std::move(ts), {staged_rule()}));
  }
  std::unique_ptr<storage::operations_store> ops_;
};

}  // namespace

TEST_F(alert_actions, a_staged_alert_changes_severity_in_place) {
  auto opened = apply({stage("wl-1", "", 0, 1.6, false)});
  ASSERT_EQ(opened.size(), 1u);
  auto a = json::parse(opened[0].alert_json);
  EXPECT_EQ(a["severity"], "info");
  EXPECT_EQ(a["stage"], 0);
  EXPECT_EQ(a["title"]["ko"], "하천 수위 · wl-1");
  const auto id = a["id"].get<std::int64_t>();
  ASSERT_TRUE(sync(ops_->acknowledge(id, "kim (operator)", "watching")).ok());

  auto up = apply({stage("wl-1", "", 2, 3.4, true)});
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0].event, "severity_changed");
  auto b = json::parse(up[0].alert_json);
  EXPECT_EQ(b["id"], id);
  EXPECT_EQ(b["severity"], "critical");
  EXPECT_EQ(b["state"], "open") << "a rise asks for attention again";
  EXPECT_TRUE(b["acknowledged_by"].is_null());
  EXPECT_EQ(b["value_at_open"], 1.6);
  EXPECT_EQ(b["current_value"], 3.4);
  // escalation counts from the rise, not from the opening
  query("UPDATE alerts SET opened_at = now() - interval '1 hour' WHERE id = " + std::to_string(id));
  EXPECT_TRUE(sync(ops_->escalate(600)).empty());
  query("UPDATE alerts SET severity_at = now() - interval '11 minutes' WHERE id = " + std::to_string(id));
  EXPECT_EQ(sync(ops_->escalate(600)).size(), 1u);
  // stepping down takes the escalation back; the same severity again changes nothing
  auto down = apply({stage("wl-1", "", 1, 2.5, true), stage("wl-1", "", 1, 2.4, true)});
  ASSERT_EQ(down.size(), 1u);
  EXPECT_TRUE(json::parse(down[0].alert_json)["escalated_at"].is_null());
  EXPECT_EQ(count("SELECT count(*) FROM alerts"), 1);
  auto stages = sync(ops_->active_subject_stages());
  ASSERT_EQ(stages.size(), 1u);
  EXPECT_EQ(stages[0].stage, 1);
}

TEST_F(alert_actions, a_cleared_staged_alert_that_rises_again_returns_at_its_stage) {
  auto opened = apply({stage("wl-2", "z-re", 0, 1.6, false)});
  ASSERT_EQ(opened.size(), 1u);
  const auto id = json::parse(opened[0].alert_json)["id"].get<std::int64_t>();
  ASSERT_TRUE(sync(ops_->acknowledge(id, "kim (operator)", "watching")).ok());
  auto clear = stage("wl-2", "z-re", 0, 1.0, false);
  clear.open = false;
  clear.message = "level back to 1";
  ASSERT_EQ(apply({clear}).size(), 1u);
  // The river rises again before anyone resolved the cleared alert: the engine opens at stage 3.
  auto again = apply({stage("wl-2", "z-re", 2, 3.4, false)});
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].event, "severity_changed");
  auto a = json::parse(again[0].alert_json);
  EXPECT_EQ(a["id"], id);
  EXPECT_EQ(a["severity"], "critical");
  EXPECT_EQ(a["stage"], 2);
  EXPECT_TRUE(a["cleared_at"].is_null()) << a.dump();
  EXPECT_EQ(a["state"], "open") << "it asks for attention again";
  EXPECT_EQ(count("SELECT count(*) FROM alerts"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM incidents WHERE zone_id = 'z-re' AND category = 'flood'"), 1);
  // escalation counts from the return
  query("UPDATE alerts SET severity_at = now() - interval '11 minutes' WHERE id = " + std::to_string(id));
  EXPECT_EQ(sync(ops_->escalate(600)).size(), 1u);
}

TEST_F(alert_actions, critical_alerts_of_one_zone_racing_make_one_incident) {
  // Each round: two gauges of a zone turn critical in two transactions at once.
  for (int round = 0; round < 8; ++round) {
    const std::string zone = "z" + std::to_string(round);
    std::thread a([&] { apply({stage("a-" + zone, zone, 2, 3.5, false)}); });
    std::thread b([&] { apply({stage("b-" + zone, zone, 2, 3.6, false)}); });
    a.join();
    b.join();
    EXPECT_EQ(query_params("SELECT count(*) FROM incidents WHERE zone_id = $1 AND category = 'flood'", zone)[0][0]
                  .as<std::int64_t>(),
              1)
        << zone;
  }
  EXPECT_EQ(count("SELECT count(*) FROM incidents WHERE category = 'flood'"), 8);
  EXPECT_EQ(count("SELECT count(*) FROM incident_alerts"), 16);
  EXPECT_EQ(count("SELECT count(*) FROM (SELECT incident_id FROM incident_alerts GROUP BY incident_id "
                  "HAVING count(*) = 2) x"),
            8);
  // The incident's words name the alert and the rule, never the sensor: incidents are read by roles
  // that see welfare alerts only by household pseudonym.
  EXPECT_EQ(count("SELECT count(*) FROM incidents WHERE note ~ '[ab]-z[0-9]'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM incident_events WHERE note ~ '[ab]-z[0-9]'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM incident_events WHERE what = 'alert_attached' AND note ~ '^alert [0-9]+ of rule flood'"),
            8);
}

TEST_F(alert_actions, assign_checks_the_user) {
  auto opened = apply({stage("wl-1", "", 0, 1.6, false)});
  const auto id = json::parse(opened[0].alert_json)["id"].get<std::int64_t>();
  query("INSERT INTO users (username, display_name, role, password_hash) VALUES "
        "('mina', 'Mina', 'operator', 'x'), ('off', 'Off', 'operator', 'x'), ('ana', 'Ana', 'analyst', 'x')");
  query("UPDATE users SET disabled = true WHERE username = 'off'");
  for (const char* who : {"nobody", "off", "ana"}) {
    auto r = sync(ops_->assign(id, who, "admin (admin)"));
    ASSERT_FALSE(r.ok()) << who;
    EXPECT_EQ(r.error().errors.at(0).pointer, "/to") << who;
  }
  auto ok = sync(ops_->assign(id, "mina", "admin (admin)"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value().event, "assigned");
  EXPECT_EQ(json::parse(ok.value().alert_json)["assignee"], "mina");
  EXPECT_FALSE(sync(ops_->assign(999999, "mina", "admin (admin)")).ok());
}
